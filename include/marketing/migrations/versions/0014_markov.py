"""The data-driven `markov` model (docs/data_driven.md): what its fits keep between runs.

The path rows get the three columns the model reads (the previous channel, the fit, the path's
channels as a key); the fits keep their non-converting journeys, transition counts, path keys,
credits and removal effects. The attribution state goes, so the next run is a full rebuild.

Revision ID: 0014
Revises: 0013
"""

from pathlib import Path

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(Path(__file__).with_suffix(".sql").read_text())


def downgrade() -> None:
    op.execute(Path(__file__).with_name("0014_markov_downgrade.sql").read_text())
