"""Live files and their rank: restatements give what a clean load of the final files gives.

Revision ID: 0006
Revises: 0007
"""

from pathlib import Path

from alembic import op

revision = "0006"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(Path(__file__).with_suffix(".sql").read_text())


def downgrade() -> None:
    op.execute(
        "drop view ops.live_files;"
        " drop index ops.load_manifest_live;"
        " alter table ops.load_manifest drop column live, drop column etag"
    )
