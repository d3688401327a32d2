"""Attribution marts (credits, channel by day, ROAS by day) and the attribution run history.

Revision ID: 0002
Revises: 0001
"""

from pathlib import Path

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(Path(__file__).with_suffix(".sql").read_text())


def downgrade() -> None:
    op.execute("drop table if exists marts.attribution_credits, marts.channel_attribution_daily, marts.roas_daily cascade")
    op.execute("drop table if exists ops.attribution_runs, ops.attribution_state cascade")
