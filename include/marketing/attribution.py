"""Attribution: the credits of every conversion under six models, and the daily marts built on them.

`run_attribution` is the one entry point (the DAG, the CLI and the tests call it). One run is one
transaction, under the same advisory lock as the loads, so a load and a run never interleave and a
run killed half way leaves nothing behind. It works in one of three modes:

- **full**: every conversion and every day, from scratch. Forced by `full_rebuild=True`, and
  chosen by itself when the parameters differ from those the marts were built with (so rows of
  old and new parameters never mix) or when the marts are empty but core is not.
- **incremental** (the default): consumes `ops.attribution_queue`, which the loads fill, and
  recomputes exactly the conversions the queued changes can move, and the spend side of ROAS
  for every day whose spend changed.
- **range** (`start_date`/`end_date`): every conversion whose day is in the range, and the
  spend of every day of the range. The queue is left alone; the next incremental run still
  consumes it (a conversion recomputed twice gives the same rows: only repeated work).

How a run recomputes a set of conversions: their credit rows are deleted and inserted anew,
and the sums of both (by date, model, channel, campaign and conversion type) are collected in
a temp table, `attribution_changes`. The daily marts then add those changes to the rows they
touch and nothing else, so a run costs what it recomputes, not the size of the history.
In every mode, the marts afterwards equal a full rebuild from scratch, row for row (floats
within rounding). The SQL is in `sql/attribution/`, one file per table.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

from psycopg2 import sql

from marketing.config import AttributionParams

log = logging.getLogger(__name__)

SQL_DIR = Path(__file__).with_name("sql") / "attribution"
MODELS = ("first_touch", "last_touch", "last_non_direct", "linear", "time_decay", "position_based")
MARTS = ("marts.attribution_credits", "marts.channel_attribution_daily", "marts.roas_daily")
# The same advisory lock as `marketing.ingest.load.INGEST_LOCK` (not imported: that module needs Airflow).
INGEST_LOCK = "marketing.ingest"
# Sorting the paths of a full rebuild is its biggest step; it should stay in memory.
WORK_MEM = "256MB"
MAINTENANCE_WORK_MEM = "512MB"  # index builds after a full rebuild


@dataclass
class RunSummary:
    """What one attribution run did (JSON-friendly for XCom and the CLI)."""

    mode: str  # full | incremental | range
    conversions_recomputed: int
    dates_recomputed: int
    queue_items: int
    seconds: float
    reason: str | None = None  # why a run was full
    run_id: int | None = None

    @property
    def did_work(self) -> bool:
        """False only for an incremental run that found nothing queued."""
        return self.mode != "incremental" or self.queue_items > 0

    def as_dict(self) -> dict:
        return {**asdict(self), "did_work": self.did_work}


@cache
def sql_text(name: str) -> str:
    """The text of `sql/attribution/<name>.sql`."""
    return (SQL_DIR / f"{name}.sql").read_text()


def query_params(params: AttributionParams) -> dict:
    """The bind parameters the attribution SQL files use."""
    first, middle, last = (float(w) for w in params.position_weights)
    return {
        "lookback_days": int(params.lookback_days),
        "half_life_days": float(params.half_life_days),
        "first_weight": first,
        "middle_weight": middle,
        "last_weight": last,
        "direct_channels": list(params.direct_channels),
        "unattributed_label": params.unattributed_label,
        "conversion_types": list(params.conversion_types),
        "reporting_timezone": params.reporting_timezone,
    }


def run_attribution(
    conn,
    params: AttributionParams,
    *,
    full_rebuild: bool = False,
    start_date: datetime.date | None = None,
    end_date: datetime.date | None = None,
) -> RunSummary:
    """Bring the attribution marts up to date with core, in one transaction; returns what it did.

    Incremental by default; `full_rebuild=True` recomputes everything; `start_date`/`end_date`
    (inclusive; either may be left open) recompute the conversions and days of that range.
    """
    clock = time.monotonic()
    if start_date and end_date and start_date > end_date:
        raise ValueError(f"start_date {start_date} is after end_date {end_date}")
    if conn.autocommit:
        raise ValueError("run_attribution needs a connection with autocommit off: a run is one transaction")
    with conn, conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(hashtext(%s))", (INGEST_LOCK,))
        # Settings for this transaction only. With the session time zone fixed, nothing the SQL
        # computes depends on the connection it runs on.
        cur.execute(
            "select set_config('work_mem', %s, true), set_config('timezone', 'UTC', true)", (WORK_MEM,)
        )
        reason = "forced" if full_rebuild else full_rebuild_reason(cur, params)
        if reason:
            summary = rebuild_all(cur, params, reason)
        elif start_date is not None or end_date is not None:
            summary = recompute_range(cur, params, start_date, end_date)
        else:
            summary = recompute_queued(cur, params)
        summary.seconds = round(time.monotonic() - clock, 3)
        summary.run_id = record_run(cur, params, summary)
        if summary.mode == "full":
            save_state(cur, params, summary.run_id)
    log.info("attribution %s", summary.as_dict())
    return summary


# ---- deciding the mode -----------------------------------------------------------------------

def full_rebuild_reason(cur, params: AttributionParams) -> str | None:
    """Why this run must recompute everything, or None when an incremental run is enough."""
    cur.execute("select params_digest from ops.attribution_state")
    state = cur.fetchone()
    if state is None:
        return "first run"
    if state[0] != params.digest:
        return f"params changed ({state[0]} -> {params.digest})"
    cur.execute(
        """
        select
            (not exists (select from marts.attribution_credits)
             and exists (select from core.conversions
                         where cardinality(%(conversion_types)s::text[]) = 0
                            or conversion_type = any(%(conversion_types)s::text[])))
            or (not exists (select from marts.roas_daily) and exists (select from core.ad_spend))
        """,
        query_params(params),
    )
    return "marts empty" if cur.fetchone()[0] else None


# ---- the three modes -------------------------------------------------------------------------

def rebuild_all(cur, params: AttributionParams, reason: str) -> RunSummary:
    """Recompute every conversion and every day from scratch; the queue is then empty."""
    # TRUNCATE rather than DELETE: no dead rows to vacuum. Readers wait for the commit, then
    # see the new marts whole.
    cur.execute("truncate " + ", ".join(MARTS))
    cur.execute("delete from ops.attribution_queue")
    queue_items = cur.rowcount
    create_scope(cur)
    cur.execute("insert into attribution_spend_dates (date) select distinct date from core.ad_spend")
    cur.execute("analyze attribution_spend_dates")
    with indexes_built_after(cur, "marts", "attribution_credits"):
        insert_credits(cur, params, sql.Identifier("core", "conversions"))
    dates = update_daily(cur, params)
    # Every conversion attributed has exactly one first_touch row.
    cur.execute("select coalesce(sum(credit_rows), 0) from attribution_changes where model = 'first_touch'")
    conversions = int(cur.fetchone()[0])
    # The runs that follow plan their index lookups with these statistics.
    cur.execute("analyze " + ", ".join(MARTS))
    return RunSummary("full", conversions, dates, queue_items, 0.0, reason=reason)


def recompute_queued(cur, params: AttributionParams) -> RunSummary:
    """Consume the queue and recompute what it names; nothing queued means no work."""
    cur.execute("select exists (select from ops.attribution_queue)")
    if not cur.fetchone()[0]:
        return RunSummary("incremental", 0, 0, 0, 0.0)
    create_scope(cur)
    # The loads fill the queue faster than autovacuum analyses it: with stale statistics the
    # planner takes a day's 150k changed persons for a few hundred and probes them one by one.
    cur.execute("analyze ops.attribution_queue")
    cur.execute(sql_text("attribution_scope_from_queue"))
    queue_items, conversions = cur.fetchone()
    dates = recompute_affected(cur, params)
    return RunSummary("incremental", conversions, dates, queue_items, 0.0)


def recompute_range(
    cur, params: AttributionParams, start_date: datetime.date | None, end_date: datetime.date | None
) -> RunSummary:
    """Recompute the conversions and spend of [start_date, end_date] (an open end: as far as data goes)."""
    if start_date is None or end_date is None:
        first, last = data_days(cur, params)
        start_date = start_date or first
        end_date = end_date or last
    create_scope(cur)
    conversions = 0
    if start_date is not None and end_date is not None and start_date <= end_date:
        cur.execute(
            sql_text("attribution_scope_from_range"),
            {"start_date": start_date, "end_date": end_date, "reporting_timezone": params.reporting_timezone},
        )
        _, conversions = cur.fetchone()
    dates = recompute_affected(cur, params)
    return RunSummary("range", conversions, dates, 0, 0.0)


def data_days(cur, params: AttributionParams) -> tuple[datetime.date | None, datetime.date | None]:
    """The first and last day (reporting time zone) with a conversion, credits or spend (index lookups)."""
    cur.execute(
        """
        select min(first_day), max(last_day)
        from (
            select (min(occurred_at) at time zone %(tz)s)::date, (max(occurred_at) at time zone %(tz)s)::date
            from core.conversions
            union all
            select min(date), max(date) from marts.channel_attribution_daily  -- the days of the credits
            union all
            select min(date), max(date) from core.ad_spend
        ) as bounds (first_day, last_day)
        """,
        {"tz": params.reporting_timezone},
    )
    return cur.fetchone()


# ---- the steps -------------------------------------------------------------------------------

def create_scope(cur) -> None:
    """Temp tables of what this run recomputes, and of the changes it makes to the credits.

    attribution_affected: conversions whose credits are replaced; attribution_spend_dates: days
    whose spend is restated in roas_daily; attribution_changes: sums of the credit rows removed
    (negated) and inserted, by grain, which the daily marts add up.
    """
    cur.execute(
        """
        create temp table attribution_affected (conversion_id text primary key) on commit drop;
        create temp table attribution_spend_dates (date date primary key) on commit drop;
        create temp table attribution_changes (
            date            date             not null,
            model           text collate "C" not null,
            channel         text collate "C" not null,
            campaign        text collate "C",
            conversion_type text collate "C" not null,
            conversions     double precision not null,
            revenue         numeric          not null,
            credit_rows     bigint           not null
        ) on commit drop;
        """
    )


def recompute_affected(cur, params: AttributionParams) -> int:
    """Replace the credits of the affected conversions and update the daily marts; returns days changed."""
    # Temp tables are never analysed by autovacuum; without statistics the planner would not
    # see that a few thousand ids or days call for index lookups.
    cur.execute("analyze attribution_affected, attribution_spend_dates")
    cur.execute(sql_text("attribution_credits_delete"))
    # One index lookup per affected conversion, whatever the planner would guess for a join.
    cur.execute(
        "create temp view attribution_scope_conversions as"
        " select c.* from core.conversions c"
        " where c.conversion_id = any(array(select conversion_id from attribution_affected))"
    )
    insert_credits(cur, params, sql.Identifier("attribution_scope_conversions"))
    cur.execute("drop view attribution_scope_conversions")
    return update_daily(cur, params)


@contextmanager
def indexes_built_after(cur, schema: str, table: str) -> Iterator[None]:
    """Drop the table's indexes for the block and build them again after it.

    Building an index over millions of rows at once is several times faster than keeping it
    up to date row by row. The definitions are read from the catalog, so the migration stays
    the one place that declares them (indexes behind a constraint stay). Only for a table
    truncated in this transaction: no one else can see it without its indexes.
    """
    cur.execute(
        """
        select i.relname, pg_get_indexdef(i.oid)
        from pg_index x
        join pg_class i on i.oid = x.indexrelid
        where x.indrelid = %s::regclass
          and not exists (select from pg_constraint c where c.conindid = x.indexrelid)
        """,
        (f"{schema}.{table}",),
    )
    indexes = cur.fetchall()
    for name, _ in indexes:
        cur.execute(sql.SQL("drop index {}").format(sql.Identifier(schema, name)))
    yield
    cur.execute("select set_config('maintenance_work_mem', %s, true)", (MAINTENANCE_WORK_MEM,))
    for _, definition in indexes:
        cur.execute(definition)


def insert_credits(cur, params: AttributionParams, conversions: sql.Composable) -> None:
    """Insert the credit rows of the conversions in relation `conversions` (and record their sums)."""
    cur.execute(sql.SQL(sql_text("attribution_credits")).format(conversions=conversions), query_params(params))


def update_daily(cur, params: AttributionParams) -> int:
    """Apply the recorded changes and spend days to the daily marts; returns the number of days."""
    cur.execute("analyze attribution_changes")
    cur.execute(sql_text("channel_attribution_daily"), query_params(params))
    cur.execute(sql_text("roas_daily"), query_params(params))
    cur.execute(
        "select count(*) from (select date from attribution_changes union select date from attribution_spend_dates) d"
    )
    return cur.fetchone()[0]


# ---- what the marts were built with ---------------------------------------------------------

def record_run(cur, params: AttributionParams, summary: RunSummary) -> int:
    """Add the run to `ops.attribution_runs`; returns its run_id."""
    cur.execute(
        """
        insert into ops.attribution_runs (
            started_at, finished_at, mode, reason, params, params_digest,
            conversions_recomputed, dates_recomputed, queue_items
        )
        values (now(), clock_timestamp(), %s, %s, %s, %s, %s, %s, %s)
        returning run_id
        """,
        (
            summary.mode, summary.reason, params.as_json(), params.digest,
            summary.conversions_recomputed, summary.dates_recomputed, summary.queue_items,
        ),
    )
    return cur.fetchone()[0]


def save_state(cur, params: AttributionParams, run_id: int) -> None:
    """Record the parameters the marts now hold results for."""
    cur.execute(
        """
        insert into ops.attribution_state (singleton, params, params_digest, run_id, built_at)
        values (true, %s, %s, %s, now())
        on conflict (singleton) do update
            set params = excluded.params, params_digest = excluded.params_digest,
                run_id = excluded.run_id, built_at = excluded.built_at
        """,
        (params.as_json(), params.digest, run_id),
    )
