"""ops.load_manifest.rows_skipped: lines whose id was loaded before, counted per file.

Revision ID: 0008
Revises: 0007
"""

from pathlib import Path

from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(Path(__file__).with_suffix(".sql").read_text())


def downgrade() -> None:
    op.execute("alter table ops.load_manifest drop column if exists rows_skipped")
