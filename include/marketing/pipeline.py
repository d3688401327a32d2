"""The steps the DAGs run, as plain functions of a warehouse URL and the settings.

Airflow tasks call these; so do the CLI and the tests. Nothing here needs a scheduler.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from urllib.parse import quote

from psycopg2 import sql

from marketing import migrate
from marketing.config import Settings
from marketing.ingest import quality
from marketing.ingest.channels import ChannelClassifier
from marketing.ingest.load import CHANGES, LandingFile, classifier_for, load_feed, pending_files
from marketing.ingest.parse import FEEDS
from marketing.warehouse import connect, connection

WAREHOUSE_CONN_ID = "warehouse"
CORE_TABLES = ("touchpoints", "conversions", "ad_spend", "identities", "fx_rates")


def airflow_warehouse_url(conn_id: str = WAREHOUSE_CONN_ID) -> str:
    """The warehouse URL from Airflow's connection `conn_id` (a socket-directory host is kept)."""
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    auth = quote(conn.login or "", safe="")
    if conn.password:
        auth += ":" + quote(conn.password, safe="")
    host = quote(conn.host or "", safe="")
    port = f":{conn.port}" if conn.port else ""
    query = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in (conn.extra_dejson or {}).items() if k == "sslmode")
    return f"postgresql://{auth}{'@' if auth else ''}{host}{port}/{conn.schema or 'postgres'}" + (
        f"?{query}" if query else ""
    )


@cache
def _classifier(settings: Settings) -> ChannelClassifier:
    return classifier_for(settings)


def migrate_warehouse(url: str, settings: Settings | None = None) -> str:
    """Apply pending schema migrations (and the dashboard login's password); returns the revision reached."""
    settings = settings or Settings.from_env()
    return migrate.upgrade(url, reader_password=settings.dashboard_warehouse_password)


def discover(url: str, settings: Settings) -> list[dict]:
    """Landing files that are new or changed, in load order (JSON-friendly for XCom)."""
    with connection(url) as conn:
        return [vars(f) for f in pending_files(conn, settings.landing_url)]


def ingest_feed(url: str, settings: Settings, feed: str, files: Iterable[dict]) -> list[dict]:
    """Load the pending files of one feed, each in its own transaction, then vacuum what changed."""
    with connection(url) as conn:
        results = [r.as_dict() for r in
                   load_feed(conn, feed, [LandingFile(**f) for f in files], settings, _classifier(settings))]
    vacuum_core(url, changed_tables(results))
    return results


def vacuum_core(url: str, tables: Iterable[str]) -> None:
    """VACUUM (ANALYZE) core tables a load changed.

    Attribution reads paths from the covering person index alone, which works only for pages
    the visibility map marks all-visible; otherwise every new touch costs a heap visit. The
    plans of the next run also need the new row counts. Autovacuum gets there too, but later
    than the attribution run that the load triggers. VACUUM skips pages it already marked, so
    this costs what the load added.
    """
    tables = sorted(set(tables))
    if not tables:
        return
    with connection(url) as conn:
        conn.autocommit = True  # VACUUM cannot run in a transaction
        with conn.cursor() as cur:
            for table in tables:
                cur.execute(sql.SQL("vacuum (analyze) {}").format(sql.Identifier("core", table)))


def changed_tables(results: Iterable[dict]) -> set[str]:
    """Core tables that the load results changed."""
    return {table for result in results for table in result.get("changed", ())}


def check_quality(url: str, settings: Settings, results: Iterable[dict]) -> list[dict]:
    """Run the quality checks on the files loaded; raises QualityCheckFailed naming the files."""
    file_ids = [r["file_id"] for r in results if r.get("file_id") is not None]
    if not file_ids:
        return []
    with connection(url) as conn:
        return [vars(r) for r in quality.assert_quality(conn, settings, file_ids)]


def ingest_all(url: str, settings: Settings) -> list[dict]:
    """The whole ingest without Airflow: migrate, discover, load every feed in order."""
    migrate_warehouse(url)
    files = discover(url, settings)
    results: list[dict] = []
    for feed in FEEDS:
        results += ingest_feed(url, settings, feed, files)
    return results


assert set(t for tables in CHANGES.values() for t in tables) == set(CORE_TABLES)


def attribute(
    url: str, settings: Settings, *, full_rebuild: bool = False, start_date=None, end_date=None
) -> dict:
    """Recompute attribution and ROAS for what changed (or a date range, or everything).

    The slices of a run are computed side by side, in sessions of their own opened on the same URL.
    """
    from marketing.attribution import run_attribution

    with connection(url) as conn:
        summary = run_attribution(
            conn, settings.attribution, full_rebuild=full_rebuild, start_date=start_date, end_date=end_date,
            connect=lambda: connect(url),
        )
    return summary.as_dict()


def run_all(url: str, settings: Settings) -> tuple[list[dict], dict]:
    """Ingest then attribution, in-process (what `make run` does without Airflow's scheduler)."""
    results = ingest_all(url, settings)
    return results, attribute(url, settings)
