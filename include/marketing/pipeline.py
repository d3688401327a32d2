"""The steps the DAGs run, as plain functions of a warehouse URL and the settings.

Airflow tasks call these; so do the CLI and the tests. Nothing here needs a scheduler.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import cache
from urllib.parse import quote

from psycopg2 import sql

from marketing import migrate
from marketing.config import Settings
from marketing.ingest import quality
from marketing.ingest.channels import ChannelClassifier
from marketing.ingest.load import CHANGES, SQL as INGEST_SQL, LandingFile, classifier_for, load_feed, pending_files
from marketing.ingest.parse import FEEDS
from marketing.warehouse import connect, connection

log = logging.getLogger(__name__)

WAREHOUSE_CONN_ID = "warehouse"
CORE_TABLES = ("touchpoints", "conversions", "ad_spend", "identities", "fx_rates")


def airflow_warehouse_url(conn_id: str = WAREHOUSE_CONN_ID) -> str:
    """The warehouse URL of Airflow's connection `conn_id`, as the Postgres provider's hook reads it.

    The hook parses the connection (login, password, host, port, database, `sqlalchemy_query`);
    `sslmode` from its extra is kept too. A host that is a unix-socket directory stays
    percent-encoded in the URL: SQLAlchemy writes a host as it is, and a `?host=` query would be
    lost by the hook's own engine.
    """
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    hook = PostgresHook(postgres_conn_id=conn_id)
    url = hook.sqlalchemy_url
    query = dict(url.query)
    if "sslmode" in hook.connection.extra_dejson:
        query["sslmode"] = str(hook.connection.extra_dejson["sslmode"])
    host = url.host
    if host and host.startswith("/"):
        host = quote(host, safe="")
    return url.set(drivername="postgresql", host=host, database=url.database or "postgres", query=query) \
        .render_as_string(hide_password=False)


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


def ingest_feed(url: str, settings: Settings, feed: str, files: Iterable[dict] | None = None) -> list[dict]:
    """Load the pending files of one feed (found now when `files` is None), each in its own
    transaction, then vacuum what changed."""
    with connection(url) as conn:
        found = [LandingFile(**f) for f in files] if files is not None else pending_files(conn, settings.landing_url)
        results = [r.as_dict() for r in load_feed(conn, feed, found, settings, _classifier(settings))]
    vacuum_core(url, changed_tables(results))
    return results


# ---- the ingest DAG's steps: small return values (XCom), one readable log line each ----------

def discover_counts(url: str, settings: Settings) -> dict[str, int]:
    """How many files of each feed are new or changed; logs one line."""
    with connection(url) as conn:
        found = pending_files(conn, settings.landing_url)
    counts = {feed: sum(f.feed == feed for f in found) for feed in FEEDS}
    if found:
        log.info("found %s new or changed files: %s", f"{len(found):,}",
                 ", ".join(f"{feed} {n:,}" for feed, n in counts.items() if n))
    else:
        log.debug("no new or changed files")
    return counts


def load_step(url: str, settings: Settings, feed: str, found: dict[str, int]) -> dict:
    """Load one feed's pending files; returns a summary (file ids, counts, tables changed), not the files."""
    results = ingest_feed(url, settings, feed) if found.get(feed) else []
    summary = summarize(results)
    if results:
        log.info("%s: %s", feed, describe_loads([summary]))
    return {"feed": feed, **summary}


def summarize(results: Iterable[dict]) -> dict:
    """What a list of file results adds up to (JSON-friendly, a few numbers and ids)."""
    results = list(results)
    return {
        "files": sum(r["status"] != "unchanged" for r in results),
        "rows": sum(r["rows_total"] for r in results),
        "loaded": sum(r["rows_loaded"] for r in results),
        "skipped": sum(r.get("rows_skipped", 0) for r in results),
        "quarantined": sum(r["rows_quarantined"] for r in results),
        "file_ids": [r["file_id"] for r in results if r.get("file_id") is not None],
        "changed": sorted(changed_tables(results)),
    }


def describe_loads(summaries: Iterable[dict]) -> str:
    """One line for a run's loads: "loaded 17 files, 1,000,242 rows, 1,012 quarantined", or "nothing new"."""
    summaries = list(summaries)
    files = sum(s["files"] for s in summaries)
    if not files:
        return "nothing new"
    skipped = sum(s["skipped"] for s in summaries)
    return (f"loaded {files:,} file{'s' if files != 1 else ''}, {sum(s['rows'] for s in summaries):,} rows, "
            f"{sum(s['quarantined'] for s in summaries):,} quarantined"
            + (f", {skipped:,} skipped (ids already loaded)" if skipped else ""))


def pending_tables(url: str) -> set[str]:
    """Core tables whose changes wait in ops.attribution_queue: no attribution run has consumed them.

    The ingest publishes their Assets again, so an event that a paused attribution DAG missed
    (Airflow queues asset events only for unpaused DAGs) is announced until the work is done.
    """
    with connection(url) as conn, conn.cursor() as cur:
        cur.execute(INGEST_SQL("pending_attribution"))
        return {table for (table,) in cur.fetchall()}


def tables_to_publish(url: str, loads: Iterable[dict]) -> set[str]:
    """Core tables this run changed, plus those whose earlier changes attribution has not consumed."""
    return changed_tables(loads) | pending_tables(url)


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
    """Run the quality checks on the files loaded (file results, or load summaries with their
    `file_ids`); raises QualityCheckFailed naming the files."""
    file_ids = [i for r in results for i in ([r["file_id"]] if "file_id" in r else r.get("file_ids", ()))
                if i is not None]
    if not file_ids:
        return []
    with connection(url) as conn:
        return [vars(r) for r in quality.assert_quality(conn, settings, file_ids)]


def check_run(url: str, settings: Settings, loads: Iterable[dict]) -> str:
    """The quality checks of one ingest run; logs and returns the run's one-line summary.

    Raises QualityCheckFailed with the summary first, then the failed checks and their files.
    """
    loads = list(loads)
    summary = describe_loads(loads)
    try:
        check_quality(url, settings, loads)
    except quality.QualityCheckFailed as exc:
        raise quality.QualityCheckFailed(f"{summary}\n{exc}") from exc
    log.info("%s", summary)
    return summary


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
    log.info("%s", describe_attribution(summary.as_dict()))
    return summary.as_dict()


def describe_attribution(summary: dict) -> str:
    """One line for an attribution run: its mode, why, and what it recomputed."""
    if not summary.get("did_work", True):
        return "attribution: nothing new"
    why = f" ({summary['reason']})" if summary.get("reason") else ""
    return (f"attribution: {summary['mode']} run{why}, {summary['conversions_recomputed']:,} conversions and "
            f"{summary['dates_recomputed']:,} days recomputed in {summary['seconds']:.1f} s")


def customers(url: str, settings: Settings) -> dict:
    """Recompute customer value, acquisition cost and churn (docs/customers.md) in one transaction."""
    from marketing.customers import run_customers

    with connection(url) as conn:
        summary = run_customers(
            conn, settings.customers, reporting_timezone=settings.reporting_timezone,
            unattributed_label=settings.attribution.unattributed_label,
        )
    return summary.as_dict()


def run_all(url: str, settings: Settings) -> tuple[list[dict], dict, dict]:
    """Ingest, attribution, then customers, in-process (what `make run` does without Airflow's scheduler)."""
    results = ingest_all(url, settings)
    return results, attribute(url, settings), customers(url, settings)
