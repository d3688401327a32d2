"""Assisted conversions, conversion paths and the funnel of micro-conversions (docs/assists.md).

Three daily marts that every attribution run maintains with the others. The attribution state
goes, so the next run is a full rebuild: it fills them, and restates `marts.roas_daily` with
the final conversion types only.

Revision ID: 0010
Revises: 0011
"""

from pathlib import Path

from alembic import op

revision = "0010"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(Path(__file__).with_suffix(".sql").read_text())


def downgrade() -> None:
    op.execute("drop table marts.assisted_conversions_daily, marts.conversion_paths_daily, marts.funnel_daily")
    op.execute("delete from ops.attribution_state")
