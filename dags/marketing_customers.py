"""
### marketing_customers

Scheduled on the Asset `marts.attribution`, which `marketing_attribution` publishes when a run
changed the attribution marts: recomputes customer value, acquisition cost and churn
(docs/customers.md) in one transaction, so readers see the previous tables or the new ones.
The BG/NBD and Gamma-Gamma models are fitted anew on each run.

Tables: `marts.customer_value`, `marts.customer_acquisition`, `marts.cohort_value`,
`marts.channel_acquisition_monthly`; each run is recorded in `ops.customer_runs`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, task

from marketing import pipeline
from marketing.assets import ATTRIBUTION_MARTS
from marketing.config import Settings

SETTINGS = Settings.from_env()


@dag(
    dag_id="marketing_customers",
    schedule=[ATTRIBUTION_MARTS],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["marketing", "customers"],
    default_args={"owner": "marketing-data", "retries": 2, "retry_delay": timedelta(minutes=2)},
    doc_md=__doc__,
)
def marketing_customers():
    @task
    def migrate() -> str:
        return pipeline.migrate_warehouse(pipeline.airflow_warehouse_url())

    @task
    def customer_value() -> dict:
        return pipeline.customers(pipeline.airflow_warehouse_url(), SETTINGS)

    migrate() >> customer_value()


marketing_customers_dag = marketing_customers()
