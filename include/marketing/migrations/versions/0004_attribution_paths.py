"""Attribution credits stored as one row per (conversion, eligible touch), in slices.

marts.attribution_credits becomes a view with the contract's grain (conversion, model, credited
touch) over marts.attribution_paths, which holds each path touch once with all six models'
credits: a quarter of the rows to write. The paths table is partitioned into slices by person so
that a full rebuild computes the slices side by side, one session per core.

Revision ID: 0004
Revises: 0003
"""

from pathlib import Path

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(Path(__file__).with_suffix(".sql").read_text())


def downgrade() -> None:
    downgrade_sql = Path(__file__).with_name("0004_attribution_paths_downgrade.sql")
    op.execute(downgrade_sql.read_text())
