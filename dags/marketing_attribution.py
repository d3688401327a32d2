"""
### marketing_attribution

Scheduled on the core-table Assets that `marketing_ingest` publishes: each new load
recomputes the attribution (every model) and ROAS of exactly the conversions and days the new
data can change, in one transaction, so the marts always equal a full rebuild. When a run
changed the marts, it publishes the Asset `marts.attribution`, on which `marketing_customers`
is scheduled.

Trigger it by hand to reprocess: `{"start_date": "2026-01-01", "end_date": "2026-01-31"}`
recomputes those conversion dates; `{"full_rebuild": true}` recomputes everything.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from airflow.sdk import AssetAny, Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException

from marketing import pipeline
from marketing.assets import ATTRIBUTION_MARTS, CORE_ASSETS
from marketing.config import Settings

SETTINGS = Settings.from_env()


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


@dag(
    dag_id="marketing_attribution",
    schedule=AssetAny(*CORE_ASSETS.values()),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["marketing", "attribution"],
    default_args={"owner": "marketing-data", "retries": 2, "retry_delay": timedelta(minutes=2)},
    params={
        "start_date": Param(None, type=["null", "string"], format="date", description="First conversion date to recompute"),
        "end_date": Param(None, type=["null", "string"], format="date", description="Last conversion date to recompute"),
        "full_rebuild": Param(False, type="boolean", description="Recompute every conversion"),
    },
    doc_md=__doc__,
)
def marketing_attribution():
    @task
    def migrate() -> str:
        return pipeline.migrate_warehouse(pipeline.airflow_warehouse_url())

    @task
    def attribute() -> dict:
        trigger = get_current_context()["params"]  # what the run was triggered with
        return pipeline.attribute(
            pipeline.airflow_warehouse_url(),
            SETTINGS,
            full_rebuild=bool(trigger.get("full_rebuild")),
            start_date=_day(trigger.get("start_date")),
            end_date=_day(trigger.get("end_date")),
        )

    @task(outlets=[ATTRIBUTION_MARTS])
    def publish(summary: dict) -> None:
        """Emit the marts Asset only when the run changed the marts (a skipped task emits nothing)."""
        if not summary.get("did_work"):
            raise AirflowSkipException("the marts did not change")

    summary = attribute()
    migrate() >> summary
    publish(summary)


marketing_attribution_dag = marketing_attribution()
