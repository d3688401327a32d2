"""Sources: raw tables of the GA4 and Segment feeds, sessions, the orders watermark.

Revision ID: 0012
Revises: 0007
"""

from pathlib import Path

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(Path(__file__).with_suffix(".sql").read_text())


def downgrade() -> None:
    op.execute(Path(__file__).with_name("0012_sources_downgrade.sql").read_text())
