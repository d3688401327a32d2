"""The `markov` rows of the daily marts from a pre-aggregated table (docs/data_driven.md).

marts.markov_day_paths holds the path rows summed by what their markov credit depends on and
what the daily marts group by; every run keeps it beside the fits, and restating a fit's days
reads it instead of every path row. The attribution state goes, so the next run is a full
rebuild (which fills the table).

Revision ID: 0015
Revises: 0016 (numbered 0015; 0016 reached main first, on 0014: this one comes after it)
"""

from pathlib import Path

from alembic import op

revision = "0015"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(Path(__file__).with_suffix(".sql").read_text())


def downgrade() -> None:
    op.execute(Path(__file__).with_name("0015_markov_day_paths_downgrade.sql").read_text())
