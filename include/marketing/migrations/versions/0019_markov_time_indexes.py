"""A BRIN index on the touches' time, and the conversion type in the conversions' person index,
for the `markov` journeys an incremental run recomputes.

An incremental attribution run recomputes the non-converting journeys (`markov`) of every person
a load touched, from the person's first new touch on. Looked up person by person in the person
index (2 GB at 20M touches), a day's 180k persons cost most of the run; read by time, they are
the last pages of the table (touches are loaded in about time order). BRIN: a few pages, and
next to nothing added to the loads' writes. The persons a changed conversion reaches (a month
back) are still looked up, and their conversions' type now comes from the person index itself
rather than a heap page each (1.9 s of 35k persons on the bench).

Revision ID: 0019
Revises: 0018
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("create index touchpoints_occurred on core.touchpoints using brin (occurred_at)"
               " with (pages_per_range = 32, autosummarize = on)")
    op.execute("drop index core.conversions_person")
    op.execute("create index conversions_person on core.conversions (person_key, occurred_at) include (conversion_type)")


def downgrade() -> None:
    op.execute("drop index core.conversions_person")
    op.execute("create index conversions_person on core.conversions (person_key, occurred_at)")
    op.execute("drop index core.touchpoints_occurred")
