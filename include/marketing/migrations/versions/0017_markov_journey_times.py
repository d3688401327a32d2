"""The non-converting journeys keep their touches' times (docs/data_driven.md, "What it costs").

With `touched_at` beside `channels`, an incremental run keeps the part of a person's journey
before the earliest change as it is and reads only the person's touches and conversions from
then on (sql/markov_journeys_splice.sql), instead of the whole period's. The stored journeys
have no times to fill in: they go with the attribution state, so the next run is a full
rebuild (which computes them).

Revision ID: 0017
Revises: 0015
"""

from pathlib import Path

from alembic import op

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(Path(__file__).with_suffix(".sql").read_text())


def downgrade() -> None:
    op.execute(Path(__file__).with_name("0017_markov_journey_times_downgrade.sql").read_text())
