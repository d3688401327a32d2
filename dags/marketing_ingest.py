"""
### marketing_ingest

Loads new landing files (`touchpoints`, `conversions`, `ad_spend`, `fx_rates` under
`LANDING_URL`) into the warehouse, exactly once per file version:

1. **migrate** the warehouse schema;
2. **discover** files not loaded yet (or changed since: a restatement);
3. **load** each feed, rates first: valid lines to `raw` with COPY and merged into `core`,
   bad lines to `ops.quarantine`, one transaction per file;
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
from marketing.ingest.parse import FEEDS
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
    def discover() -> dict[str, int]:
        return pipeline.discover_counts(pipeline.airflow_warehouse_url(), SETTINGS)

    @task
    def load(feed: str, found: dict[str, int]) -> dict:
        return pipeline.load_step(pipeline.airflow_warehouse_url(), SETTINGS, feed, found)

    @task(trigger_rule="none_failed")
    def publish(table: str, *loads: dict) -> None:
        # also when earlier changes still wait for attribution: an event a paused DAG missed
        if table not in pipeline.tables_to_publish(pipeline.airflow_warehouse_url(), loads):
            raise AirflowSkipException(f"core.{table} did not change")

    @task(trigger_rule="none_failed", retries=0)
    def check_quality(*loads: dict) -> str:
        try:
            return pipeline.check_run(pipeline.airflow_warehouse_url(), SETTINGS, loads)
        except QualityCheckFailed as exc:
            raise AirflowFailException(str(exc)) from None  # the message says it all

    found = discover()
    migrate() >> found
    loads, previous = [], None
    for feed in FEEDS:
        loaded = load.override(task_id=f"load_{feed}")(feed, found)
        if previous is not None:
            previous >> loaded  # rates before amounts, amounts before the events that use them
        loads.append(previous := loaded)
    for table, asset in CORE_ASSETS.items():
        publish.override(task_id=f"publish_{table}", outlets=[asset])(table, *loads)
    check_quality(*loads)


marketing_ingest_dag = marketing_ingest()
