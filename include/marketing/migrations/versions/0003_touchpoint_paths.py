"""Touchpoint index that covers a conversion's path (person, time, event, channel, campaign).

Revision ID: 0003
Revises: 0002
"""

from pathlib import Path

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(Path(__file__).with_suffix(".sql").read_text())


def downgrade() -> None:
    op.execute("create index touchpoints_person on core.touchpoints (person_key, occurred_at)")
    op.execute("drop index core.touchpoints_person_path")
