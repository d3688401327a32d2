"""Path rows flag what the assists and path labels need (docs/assists.md): `assists`, `run_starts`.

The attribution state goes, so the next run is a full rebuild that writes the flags.

Revision ID: 0013
Revises: 0010
"""

from pathlib import Path

from alembic import op

revision = "0013"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(Path(__file__).with_suffix(".sql").read_text())


def downgrade() -> None:
    op.execute("alter table marts.attribution_paths drop column assists, drop column run_starts")
    op.execute("delete from ops.attribution_state")
