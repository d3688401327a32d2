"""Ingest layers: raw, core and ops tables for the four landing feeds.

Revision ID: 0001
Revises:
"""

from pathlib import Path

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(Path(__file__).with_suffix(".sql").read_text())


def downgrade() -> None:
    op.execute("drop schema if exists raw, core, marts cascade")
    op.execute("drop table if exists ops.load_manifest, ops.quarantine, ops.attribution_queue cascade")
