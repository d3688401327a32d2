"""Attribution models in a registry: the marts remember which models (and rules) they were built with.

`ops.attribution_state.models_digest` is the digest of `marketing.attribution.models.REGISTRY` and
its rule files when the marts were last rebuilt; a run that finds another digest rebuilds the marts
(and the credits view) with the models it knows. The re-creatable objects now live in files of
their own, which the migrations load: `marts.revenue_credit` from `attribution/sql/revenue_credit.sql`,
and the period ROAS and CPA that the report and the dashboard share (`marts.period_roas`,
`marts.period_cpa`) from `reporting/sql/period_ratios.sql`.

Revision ID: 0005
Revises: 0004
"""

from pathlib import Path

from alembic import op

import marketing.attribution
import marketing.reporting
from marketing.sqlfiles import SqlFiles

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ATTRIBUTION_SQL = SqlFiles(marketing.attribution.__file__)
REPORTING_SQL = SqlFiles(marketing.reporting.__file__)


def upgrade() -> None:
    op.execute(Path(__file__).with_suffix(".sql").read_text())
    op.execute(ATTRIBUTION_SQL("revenue_credit"))
    op.execute(REPORTING_SQL("period_ratios"))


def downgrade() -> None:
    op.execute("drop function marts.period_roas(numeric, numeric)")
    op.execute("drop function marts.period_cpa(numeric, double precision)")
    op.execute("alter table ops.attribution_state drop column models_digest")
