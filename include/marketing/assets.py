"""The Airflow Assets that stand for the core tables: ingest publishes them, attribution waits on them."""

from airflow.sdk import Asset

from marketing.pipeline import CORE_TABLES

CORE_ASSETS: dict[str, Asset] = {
    table: Asset(name=f"core.{table}", uri=f"marketing://warehouse/core/{table}", group="warehouse")
    for table in CORE_TABLES
}
