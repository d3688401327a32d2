"""Customer value: customers and their acquisition, cohort value, acquisition cost, predicted LTV.

docs/customers.md has the rules; marketing.customers fills the tables, all in one transaction.

Revision ID: 0011
Revises: 0007
"""

from pathlib import Path

from alembic import op

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(Path(__file__).with_suffix(".sql").read_text())


def downgrade() -> None:
    op.execute(
        "drop table marts.channel_acquisition_monthly, marts.cohort_value, marts.customer_acquisition,"
        " marts.customer_value, ops.customer_runs"
    )
