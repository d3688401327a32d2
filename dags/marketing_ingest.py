"""
### marketing_ingest

Loads new landing files (`touchpoints`, `conversions`, `ad_spend`, `fx_rates`, and the
collector exports `ga4`, `segment` under `LANDING_URL`) into the warehouse, exactly once per
file version, and extracts the orders database when one is configured:

1. **migrate** the warehouse schema;
2. **discover** files not loaded yet (or changed since: a restatement);
3. **load** each feed, rates first: valid lines to `raw` with COPY and merged into `core`,
   bad lines to `ops.quarantine`, one transaction per file; GA4 and Segment events form
   sessions, one touchpoint each; **load_orders** reads the orders database past its
   watermark (nothing when no connection `orders_source` / `ORDERS_SOURCE_URL` is set);
4. **publish** an Asset for each core table that changed, which schedules `marketing_attribution`;
5. **check quality** of what this run loaded; a failure names the files and keeps the good rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from marketing import pipeline
from marketing.assets import CORE_ASSETS
from marketing.config import Settings
from marketing.ingest.sources import FEEDS
from marketing.ingest.quality import QualityCheckFailed

SETTINGS = Settings.from_env()


@dag(
    dag_id="marketing_ingest",
    schedule=SETTINGS.ingest_schedule,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["marketing", "ingest"],
    default_args={"owner": "marketing-data", "retries": 2, "retry_delay": timedelta(minutes=2)},
    doc_md=__doc__,
)
def marketing_ingest():
    @task
    def migrate() -> str:
        return pipeline.migrate_warehouse(pipeline.airflow_warehouse_url())

    @task
    def discover() -> list[dict]:
        return pipeline.discover(pipeline.airflow_warehouse_url(), SETTINGS)

    @task
    def load(feed: str, files: list[dict]) -> list[dict]:
        return pipeline.ingest_feed(pipeline.airflow_warehouse_url(), SETTINGS, feed, files)

    @task
    def load_orders() -> list[dict]:
        source_url = pipeline.airflow_orders_source_url(SETTINGS)
        if not source_url:  # not configured: nothing to extract (an empty result, so downstream reads no gap)
            return []
        return pipeline.ingest_orders(pipeline.airflow_warehouse_url(), SETTINGS, source_url)

    @task(trigger_rule="none_failed")
    def publish(table: str, *loads: list[dict]) -> None:
        if table not in pipeline.changed_tables(r for results in loads for r in results):
            raise AirflowSkipException(f"core.{table} did not change")

    @task(trigger_rule="none_failed", retries=0)
    def check_quality(*loads: list[dict]) -> list[dict]:
        try:
            return pipeline.check_quality(
                pipeline.airflow_warehouse_url(), SETTINGS, [r for results in loads for r in results]
            )
        except QualityCheckFailed as exc:
            raise AirflowFailException(str(exc)) from exc

    files = discover()
    migrate() >> files
    loads, previous = [], None
    for feed in FEEDS:
        loaded = load.override(task_id=f"load_{feed}")(feed, files)
        if previous is not None:
            previous >> loaded  # rates before amounts, amounts before the events that use them
        loads.append(previous := loaded)
    orders = load_orders()
    previous >> orders  # after the rates its amounts are converted with
    loads.append(orders)
    for table, asset in CORE_ASSETS.items():
        publish.override(task_id=f"publish_{table}", outlets=[asset])(table, *loads)
    check_quality(*loads)


marketing_ingest_dag = marketing_ingest()
