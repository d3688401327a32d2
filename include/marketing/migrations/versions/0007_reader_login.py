"""The dashboard's own login role, `marketing_reader`, which can only read marts and ops.

Until now the dashboard logged in as the warehouse owner and switched to a NOLOGIN reader role
with SET ROLE, which `set role none` undid inside the session. The role now logs in itself and is
a member of no other role. Its password comes from the environment (DASHBOARD_WAREHOUSE_PASSWORD),
set by `marketing.migrate.upgrade` on every run, never by a revision.

Revision ID: 0007
Revises: 0005
"""

from pathlib import Path

from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(Path(__file__).with_suffix(".sql").read_text())


def downgrade() -> None:
    # The role belongs to the server (other databases may use it): only this database's grants go.
    op.execute("""
        do $$ begin
            if exists (select from pg_roles where rolname = 'marketing_reader') then
                alter default privileges in schema marts, ops revoke select on tables from marketing_reader;
                revoke select on all tables in schema marts, ops from marketing_reader;
                revoke usage on schema marts, ops from marketing_reader;
            end if;
        end $$""")
