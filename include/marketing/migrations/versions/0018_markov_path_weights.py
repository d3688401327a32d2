"""The `markov` credits from one weight per path key instead of a row per (path key, channel).

A touch's credit is RE(channel) / Σ RE over its path's touches (rule 9): the fit writes the sum
per path key (`marts.markov_path_weights`) beside its removal effects, and `marts.markov_credits`
becomes a view that divides one by the other. Redoing a month's fit wrote some 2·10^5 credit rows
(1.3 s of every incremental day on the bench); it now writes a fifth as many. The attribution
state goes: the next run is a full rebuild (which writes the weights).

Revision ID: 0018
Revises: 0017
"""

from pathlib import Path

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(Path(__file__).with_suffix(".sql").read_text())


def downgrade() -> None:
    op.execute(Path(__file__).with_name("0018_markov_path_weights_downgrade.sql").read_text())
