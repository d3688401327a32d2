"""The Airflow Assets between the DAGs: ingest publishes the core tables, attribution waits on them;
attribution publishes its marts when a run changed them, and customers waits on that."""

from airflow.sdk import Asset

from marketing.pipeline import CORE_TABLES

CORE_ASSETS: dict[str, Asset] = {
    table: Asset(name=f"core.{table}", uri=f"marketing://warehouse/core/{table}", group="warehouse")
    for table in CORE_TABLES
}

# marts.attribution_credits, marts.channel_attribution_daily, marts.roas_daily
ATTRIBUTION_MARTS = Asset(name="marts.attribution", uri="marketing://warehouse/marts/attribution", group="warehouse")
