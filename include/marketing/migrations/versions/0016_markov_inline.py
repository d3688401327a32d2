"""The `markov` helper functions become inlinable SQL (docs/data_driven.md, "What it costs").

`marts.markov_period`, `marts.markov_period_end` and `marts.markov_steps` were declared STRICT
with CASE or UNION bodies, which PostgreSQL never inlines: every row of a full rebuild paid a
function call (a third of the non-converting journeys' time). Not strict, with each argument
used once, the planner folds them into the query and the run's constant period into a plain
`date_trunc`. Same results for every non-null input; nothing is recomputed.

Revision ID: 0016
Revises: 0014
"""

from pathlib import Path

from alembic import op

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(Path(__file__).with_suffix(".sql").read_text())


def downgrade() -> None:
    op.execute(Path(__file__).with_name("0016_markov_inline_downgrade.sql").read_text())
