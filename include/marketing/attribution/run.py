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

Credits are stored one row per (conversion, eligible touch) in `marts.attribution_paths`, with
what each of the six models gives the touch; `marts.attribution_credits` is a view with the
contract's grain over it. The paths table is partitioned into slices by person: a full rebuild
computes each slice in a session of its own, side by side (one per core), from one snapshot,
and swaps the new slices in when all are done. An incremental or range run computes slice 0
itself while the other slices are computed in sessions of their own on its snapshot; their
rows come back to the run, which writes everything in its one transaction.

How a run recomputes a set of conversions: their path rows are deleted and inserted anew,
and the sums of both (by date, model, channel, campaign and conversion type) are collected in
a temp table, `attribution_changes`. The daily marts then add those changes to the rows they
touch and nothing else, so a run costs what it recomputes, not the size of the history.
In every mode, the marts afterwards equal a full rebuild from scratch, row for row (floats
within rounding). The SQL is in `attribution/sql/`, one file per table.
"""

from __future__ import annotations

import datetime
import io
import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import IO

from psycopg2 import sql
from psycopg2.extensions import ISOLATION_LEVEL_REPEATABLE_READ
from psycopg2.extras import execute_values

from marketing.config import AttributionParams

log = logging.getLogger(__name__)

SQL_DIR = Path(__file__).with_name("sql")
MODELS = ("first_touch", "last_touch", "last_non_direct", "linear", "time_decay", "position_based")
DAILY_MARTS = ("marts.channel_attribution_daily", "marts.roas_daily")
# Assisted conversions, conversion paths and the funnel (docs/assists.md): kept by every run too.
ASSIST_MARTS = ("marts.assisted_conversions_daily", "marts.conversion_paths_daily", "marts.funnel_daily")
# False only to measure what the three assist marts cost (the bench): they are then left stale.
MAINTAIN_ASSISTS = True
PATH_COLUMNS = (
    "slice", "conversion_id", "conversion_occurred_at", "conversion_date", "conversion_type", "revenue",
    "touchpoint_event_id", "touch_occurred_at", "channel", "campaign", "touch_position", "path_length",
    "last_non_direct", "time_decay_credit", "position_credit",
)
PATH_COLUMN_LIST = sql.SQL(", ").join(map(sql.Identifier, PATH_COLUMNS))
CHANGE_COLUMNS = "(date, model, channel, campaign, conversion_type, conversions, revenue, credit_rows)"
# What attribution/sql/assisted_changes.sql and path_changes.sql read of a path row.
ASSIST_SOURCE_COLUMNS = (
    "conversion_id, conversion_occurred_at, conversion_date, conversion_type, revenue, touchpoint_event_id,"
    " touch_occurred_at, channel, touch_position, path_length"
)
ASSIST_CHANGE_COLUMNS = (
    "(date, channel, conversion_type, last_touch_conversions, last_touch_value,"
    " first_touch_conversions, first_touch_value, assisted_conversions, assisted_value)"
)
# The columns of attribution_path_changes, and of a full rebuild's conversion_paths_next_s<slice>.
PATH_CHANGE_TABLE = """(
    date               date             not null,
    conversion_type    text collate "C" not null,
    path               text collate "C" not null,
    path_length        integer          not null,
    conversions        bigint           not null,
    revenue            numeric          not null,
    days_to_conversion bigint           not null
)"""
# What attribution/sql/attribution_changes.sql reads of a path row.
CHANGE_SOURCE_COLUMNS = (
    "conversion_date, channel, campaign, conversion_type, revenue, touch_position, path_length,"
    " last_non_direct, time_decay_credit, position_credit"
)
# A time-decay weight relative to the conversion, 2^-(lookback / half-life), stays a normal
# double up to this many half-lives; beyond it the shares are taken relative to the last touch.
MAX_HALF_LIVES = 1000
# The same advisory lock as `marketing.ingest.load.INGEST_LOCK` (not imported: that module needs Airflow).
INGEST_LOCK = "marketing.ingest"
# Sorting the paths of a full rebuild is its biggest step; it should stay in memory.
WORK_MEM = "256MB"
MAINTENANCE_WORK_MEM = "512MB"  # index builds after a full rebuild
SPOOL_BYTES = 64 * 1024 * 1024  # a slice session's rows stay in memory up to this, then go to a temp file
LOCK_TIMEOUT = "5min"  # a slice session waiting on a lock longer than this is stuck: fail


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
    """The text of `attribution/sql/<name>.sql`."""
    return (SQL_DIR / f"{name}.sql").read_text()


def query_params(params: AttributionParams, slices: int = 1) -> dict:
    """The bind parameters the attribution SQL files use."""
    first, middle, last = (float(w) for w in params.position_weights)
    return {
        "slices": slices,
        "decay_from_conversion": params.lookback_days <= MAX_HALF_LIVES * params.half_life_days,
        "lookback_days": int(params.lookback_days),
        "half_life_days": float(params.half_life_days),
        "first_weight": first,
        "middle_weight": middle,
        "last_weight": last,
        "direct_channels": list(params.direct_channels),
        "unattributed_label": params.unattributed_label,
        "conversion_types": list(params.conversion_types),
        "reporting_timezone": params.reporting_timezone,
        "final_conversion_types": list(params.final_conversion_types),
        "funnel_steps": list(params.funnel_steps),
    }


def run_attribution(
    conn,
    params: AttributionParams,
    *,
    full_rebuild: bool = False,
    start_date: datetime.date | None = None,
    end_date: datetime.date | None = None,
    connect: Callable[[], object] | None = None,
) -> RunSummary:
    """Bring the attribution marts up to date with core, in one transaction; returns what it did.

    Incremental by default; `full_rebuild=True` recomputes everything; `start_date`/`end_date`
    (inclusive; either may be left open) recompute the conversions and days of that range.
    `connect` opens another connection to the same warehouse: a run then computes its slices
    side by side, one session each. Without it, they are computed one after the other.
    """
    clock = time.monotonic()
    if start_date and end_date and start_date > end_date:
        raise ValueError(f"start_date {start_date} is after end_date {end_date}")
    if conn.autocommit:
        raise ValueError("run_attribution needs a connection with autocommit off: a run is one transaction")
    with conn, conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(hashtext(%s))", (INGEST_LOCK,))
        # Settings for this transaction only. With the session time zone fixed, nothing the SQL
        # computes depends on the connection it runs on. A commit lost in a crash is safe to
        # lose: the queue rows it consumed come back with it, so the next run does the work again.
        cur.execute(
            "select set_config('work_mem', %s, true), set_config('timezone', 'UTC', true),"
            " set_config('synchronous_commit', 'off', true)",
            (WORK_MEM,),
        )
        reason = "forced" if full_rebuild else full_rebuild_reason(cur, params)
        if reason:
            summary = rebuild_all(cur, params, reason, connect)
        elif start_date is not None or end_date is not None:
            summary = recompute_range(cur, params, start_date, end_date, connect)
        else:
            summary = recompute_queued(cur, params, connect)
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
            (not exists (select from marts.attribution_paths)
             and exists (select from core.conversions
                         where cardinality(%(conversion_types)s::text[]) = 0
                            or conversion_type = any(%(conversion_types)s::text[])))
            or (not exists (select from marts.roas_daily) and exists (select from core.ad_spend))
        """,
        query_params(params),
    )
    return "marts empty" if cur.fetchone()[0] else None


# ---- the three modes -------------------------------------------------------------------------

def rebuild_all(cur, params: AttributionParams, reason: str, connect: Callable[[], object] | None = None) -> RunSummary:
    """Recompute every conversion and every day from scratch; the queue is then empty."""
    slices = path_slices(cur)
    if connect is None:
        changes = [build_slice(cur, params, slice_, len(slices)) for slice_ in slices]
    else:
        # The slice sessions read core as this transaction sees it: the loads wait on the lock.
        cur.execute("select pg_export_snapshot()")
        snapshot = cur.fetchone()[0]
        with ThreadPoolExecutor(max_workers=len(slices), thread_name_prefix="attribution-slice") as pool:
            futures = [pool.submit(build_slice_in_session, connect, snapshot, params, s, len(slices)) for s in slices]
            changes = [future.result() for future in futures]
    swap_slices(cur, slices)
    create_scope(cur)
    # TRUNCATE rather than DELETE: no dead rows to vacuum. Readers wait for the commit, then
    # see the new marts whole.
    cur.execute("truncate " + ", ".join(DAILY_MARTS + (ASSIST_MARTS if MAINTAIN_ASSISTS else ())))
    queue_items = consume_queue(cur)
    cur.execute("insert into attribution_spend_dates (date) select distinct date from core.ad_spend")
    cur.execute("analyze attribution_spend_dates")
    for rows, assist_rows in changes:
        execute_values(cur, f"insert into attribution_changes {CHANGE_COLUMNS} values %s", rows, page_size=5000)
        execute_values(cur, f"insert into attribution_assist_changes {ASSIST_CHANGE_COLUMNS} values %s",
                       assist_rows, page_size=5000)
    # The slices' path sums stay in their own tables (one row per path and day: many), read once here.
    path_tables = [sql.Identifier("marts", f"conversion_paths_next_s{slice_}") for slice_ in slices]
    path_changes = sql.SQL("({}) as slice_path_changes").format(
        sql.SQL(" union all ").join(sql.SQL("select * from {}").format(table) for table in path_tables))
    dates = update_daily(cur, params, path_changes if MAINTAIN_ASSISTS else None)
    if MAINTAIN_ASSISTS:
        cur.execute(sql.SQL("drop table {}").format(sql.SQL(", ").join(path_tables)))
    # Every conversion attributed has exactly one first_touch row.
    cur.execute("select coalesce(sum(credit_rows), 0) from attribution_changes where model = 'first_touch'")
    conversions = int(cur.fetchone()[0])
    # The runs that follow plan their lookups with these statistics (the slices have theirs).
    cur.execute("analyze " + ", ".join(DAILY_MARTS + ASSIST_MARTS))
    return RunSummary("full", conversions, dates, queue_items, 0.0, reason=reason)


# ---- a full rebuild's slices -----------------------------------------------------------------

def path_slices(cur) -> list[int]:
    """The slices of marts.attribution_paths: partitions attribution_paths_s0 … s(n-1)."""
    cur.execute(
        "select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid"
        " where i.inhparent = 'marts.attribution_paths'::regclass order by c.relname"
    )
    names = sorted(name for (name,) in cur.fetchall())
    slices = list(range(len(names)))
    if names != sorted(f"attribution_paths_s{k}" for k in slices):
        raise RuntimeError(f"marts.attribution_paths should have partitions attribution_paths_s0..n, has {names}")
    return slices


def build_slice(cur, params: AttributionParams, slice_: int, slices: int) -> tuple[list[tuple], list[tuple]]:
    """Fill marts.attribution_paths_next_s<slice> with the slice's paths; returns their changes.

    The table is created in this transaction, so its rows skip the WAL (wal_level minimal) and
    its indexes are built once at the end. It carries a check on its slice, so attaching it
    as a partition needs no scan. Returns the credit changes and the assisted-conversion
    changes; the slice's path sums go to marts.conversion_paths_next_s<slice>.
    """
    table = f"attribution_paths_next_s{slice_}"
    target = sql.Identifier("marts", table)
    cur.execute(sql.SQL("drop table if exists {}").format(target))
    cur.execute(
        sql.SQL("create table {} (like marts.attribution_paths including defaults including constraints)").format(target)
    )
    cur.execute(sql.SQL("alter table {} add constraint {} check (slice = {})").format(
        target, sql.Identifier(f"{table}_slice"), sql.Literal(slice_)))
    in_slice = sql.SQL("(select * from {} where {})")
    cur.execute(
        sql.SQL("insert into {} ({}) ").format(target, PATH_COLUMN_LIST)
        + paths_select(
            in_slice.format(sql.Identifier("core", "conversions"), in_slice_condition("person_key", slice_, slices)),
            in_slice.format(sql.Identifier("core", "touchpoints"), in_slice_condition("person_key", slice_, slices)),
        ),
        query_params(params, slices),
    )
    cur.execute("select set_config('maintenance_work_mem', %s, true)", (MAINTENANCE_WORK_MEM,))
    cur.execute(
        "select c.relname, pg_get_indexdef(c.oid) from pg_index x join pg_class c on c.oid = x.indexrelid"
        " where x.indrelid = 'marts.attribution_paths'::regclass"
    )
    for name, definition in cur.fetchall():
        # "CREATE INDEX attribution_paths_conversion ON ONLY marts.attribution_paths USING …"
        using = definition[definition.index(" USING "):]
        suffix = name.removeprefix("attribution_paths_")
        cur.execute(sql.SQL("create index {} on {}").format(sql.Identifier(f"{table}_{suffix}"), target)
                    + sql.SQL(using))
    cur.execute(sql.SQL("analyze {}").format(target))
    cur.execute(sql.SQL(sql_text("attribution_changes")).format(paths=target), {"sign": 1})
    changes = cur.fetchall()
    if not MAINTAIN_ASSISTS:
        return changes, []
    path_table = sql.Identifier("marts", f"conversion_paths_next_s{slice_}")
    cur.execute(sql.SQL("drop table if exists {}").format(path_table))
    cur.execute(sql.SQL("create table {} " + PATH_CHANGE_TABLE).format(path_table))
    assist_table = sql.Identifier(f"slice_assist_changes_s{slice_}")
    cur.execute(sql.SQL("create temp table {} (like marts.assisted_conversions_daily)").format(assist_table))
    assist_changes(cur, target, 1, path_table, assist_table)
    cur.execute(sql.SQL("select * from {}").format(assist_table))
    assist_rows = cur.fetchall()
    cur.execute(sql.SQL("drop table {}").format(assist_table))
    return changes, assist_rows


def assist_changes(cur, paths: sql.Composable, sign: int, path_target: sql.Composable,
                   assist_target: sql.Composable) -> None:
    """Sum the conversions whose path rows are in `paths` for the assist marts, times `sign`.

    The path sums go into the table `path_target`, the assisted-conversion sums into `assist_target`.
    """
    cur.execute(sql.SQL(sql_text("assist_changes")).format(
        paths=paths, path_changes=path_target, assist_changes=assist_target), {"sign": sign})


def build_slice_in_session(connect: Callable[[], object], snapshot: str, params: AttributionParams,
                           slice_: int, slices: int) -> tuple[list[tuple], list[tuple]]:
    """`build_slice` in a session of its own, on the coordinating run's snapshot; commits."""
    with slice_session(connect, snapshot) as cur:
        return build_slice(cur, params, slice_, slices)


@contextmanager
def slice_session(connect: Callable[[], object], snapshot: str) -> Iterator:
    """A cursor in a new session that reads what the run's snapshot sees, with the run's settings.

    Its transaction commits when the block ends (a slice session only creates tables of its
    own), and the connection is closed whatever happens.
    """
    conn = connect()
    try:
        conn.set_session(isolation_level=ISOLATION_LEVEL_REPEATABLE_READ)
        with conn, conn.cursor() as cur:
            cur.execute("set transaction snapshot %s", (snapshot,))
            cur.execute(
                "select set_config('work_mem', %s, true), set_config('timezone', 'UTC', true),"
                " set_config('lock_timeout', %s, true), set_config('synchronous_commit', 'off', true)",
                (WORK_MEM, LOCK_TIMEOUT),
            )
            yield cur
    finally:
        conn.close()


def swap_slices(cur, slices: list[int]) -> None:
    """Put each slice's new table in place of its partition (no scan: the check proves the bound)."""
    for slice_ in slices:
        live, built = f"attribution_paths_s{slice_}", f"attribution_paths_next_s{slice_}"
        cur.execute(sql.SQL("alter table marts.attribution_paths detach partition {}").format(
            sql.Identifier("marts", live)))
        cur.execute(sql.SQL("drop table {}").format(sql.Identifier("marts", live)))
        cur.execute(sql.SQL("alter table {} rename to {}").format(sql.Identifier("marts", built), sql.Identifier(live)))
        cur.execute(sql.SQL("alter table marts.attribution_paths attach partition {} for values in ({})").format(
            sql.Identifier("marts", live), sql.Literal(slice_)))
        cur.execute(sql.SQL("alter table {} drop constraint {}").format(
            sql.Identifier("marts", live), sql.Identifier(f"{built}_slice")))
        cur.execute(
            "select c.relname from pg_index x join pg_class c on c.oid = x.indexrelid"
            " where x.indrelid = %s::regclass",
            (f"marts.{live}",),
        )
        for (index,) in cur.fetchall():
            if index.startswith(built):
                cur.execute(sql.SQL("alter index {} rename to {}").format(
                    sql.Identifier("marts", index), sql.Identifier(live + index.removeprefix(built))))


def recompute_queued(cur, params: AttributionParams, connect: Callable[[], object] | None = None) -> RunSummary:
    """Consume the queue and recompute what it names; nothing queued means no work."""
    cur.execute("select exists (select from ops.attribution_queue)")
    if not cur.fetchone()[0]:
        return RunSummary("incremental", 0, 0, 0, 0.0)
    create_scope(cur)
    # The loads fill the queue faster than autovacuum analyses it: with stale statistics the
    # planner takes a day's 150k changed persons for a few hundred and probes them one by one.
    cur.execute("analyze ops.attribution_queue")
    cur.execute(sql_text("attribution_scope_from_queue"))
    conversions = cur.fetchone()[0]
    queue_items = consume_queue(cur)
    dates = recompute_affected(cur, params, connect)
    return RunSummary("incremental", conversions, dates, queue_items, 0.0)


def recompute_range(
    cur, params: AttributionParams, start_date: datetime.date | None, end_date: datetime.date | None,
    connect: Callable[[], object] | None = None,
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
        conversions = cur.fetchone()[0]
    dates = recompute_affected(cur, params, connect)
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

def consume_queue(cur) -> int:
    """Empty ops.attribution_queue in this run's transaction; returns how many items it held.

    The run holds the loads' advisory lock, so the queue cannot grow until it commits. TRUNCATE
    rather than DELETE: a day's load queues a row per person it touched, and deleting them all
    costs more than the rest of the scope (and leaves dead rows for vacuum). It is rolled back
    with the run, so a failed run leaves the queue as it found it.
    """
    cur.execute("select count(*) from ops.attribution_queue")
    items = cur.fetchone()[0]
    cur.execute("truncate ops.attribution_queue")
    return items


def create_scope(cur) -> None:
    """Temp tables of what this run recomputes, and of the changes it makes to the credits.

    attribution_affected: conversions whose credits are replaced; attribution_spend_dates: days
    whose spend is restated in roas_daily; attribution_changes: sums of the credit rows removed
    (negated) and inserted, by grain, which the daily marts add up; attribution_assist_changes
    and attribution_path_changes: the same for the conversions' assists and paths.
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
        create temp table attribution_assist_changes (
            date                    date             not null,
            channel                 text collate "C" not null,
            conversion_type         text collate "C" not null,
            last_touch_conversions  bigint           not null,
            last_touch_value        numeric          not null,
            first_touch_conversions bigint           not null,
            first_touch_value       numeric          not null,
            assisted_conversions    bigint           not null,
            assisted_value          numeric          not null
        ) on commit drop;
        """
        + "create temp table attribution_path_changes " + PATH_CHANGE_TABLE + " on commit drop;"
    )


def recompute_affected(cur, params: AttributionParams, connect: Callable[[], object] | None = None) -> int:
    """Replace the path rows of the affected conversions and update the daily marts; returns days changed.

    With `connect`, the new path rows of slices 1… are computed side by side in sessions of their
    own (`compute_slice_in_session`) while this one computes slice 0, and then copied in here:
    the writes all happen in this transaction.
    """
    # Temp tables are never analysed by autovacuum; without statistics the planner would not
    # see that a few thousand ids or days call for index lookups.
    cur.execute("analyze attribution_affected, attribution_spend_dates")
    slices = path_slices(cur)
    helpers = []
    pool = None
    if connect is not None and len(slices) > 1:
        cur.execute("select pg_export_snapshot(), exists (select from attribution_affected)")
        snapshot, any_affected = cur.fetchone()
        if any_affected:
            ids = io.BytesIO()
            cur.copy_expert("copy attribution_affected (conversion_id) to stdout", ids)
            ids = ids.getvalue()
            pool = ThreadPoolExecutor(max_workers=len(slices) - 1, thread_name_prefix="attribution-slice")
            helpers = [pool.submit(compute_slice_in_session, connect, snapshot, params, ids, s, len(slices))
                       for s in slices[1:]]
    try:
        if MAINTAIN_ASSISTS:
            # The assists and paths of the affected conversions as they were, taken away below
            # when those of their new paths are added.
            stored_assist_changes(cur, "attribution_paths_removed", -1)
        changes = sql.SQL(sql_text("attribution_changes"))
        # `= any(array(...))`: one index lookup per conversion. With a join the planner may expect
        # many rows (it cannot know new conversions have none yet) and scan the whole table.
        cur.execute(
            sql.SQL(
                "with removed as (delete from marts.attribution_paths"
                " where conversion_id = any(array(select conversion_id from attribution_affected))"
                " returning " + CHANGE_SOURCE_COLUMNS + ")"
                " insert into attribution_changes " + CHANGE_COLUMNS + " "
            ) + changes.format(paths=sql.Identifier("removed")),
            {"sign": -1},
        )
        scope = affected_conversions("attribution_affected", *((0, len(slices)) if helpers else ()))
        cur.execute(
            sql.SQL("with inserted as (insert into marts.attribution_paths ({}) ").format(PATH_COLUMN_LIST)
            + paths_select(scope, sql.Identifier("core", "touchpoints"))
            + sql.SQL(" returning " + CHANGE_SOURCE_COLUMNS + ") insert into attribution_changes " + CHANGE_COLUMNS + " ")
            + changes.format(paths=sql.Identifier("inserted")),
            {**query_params(params, len(slices)), "sign": 1},
        )
        for helper in helpers:
            rows, change_rows = helper.result()
            with rows:
                cur.copy_expert(
                    sql.SQL("copy marts.attribution_paths ({}) from stdin with (format binary)")
                    .format(PATH_COLUMN_LIST).as_string(cur.connection),
                    rows,
                )
            execute_values(cur, f"insert into attribution_changes {CHANGE_COLUMNS} values %s", change_rows,
                           page_size=5000)
        if MAINTAIN_ASSISTS:
            stored_assist_changes(cur, "attribution_paths_added", 1)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return update_daily(cur, params, sql.Identifier("attribution_path_changes") if MAINTAIN_ASSISTS else None)


def stored_assist_changes(cur, table: str, sign: int) -> None:
    """Record the assist and path sums of the affected conversions' stored path rows, times `sign`.

    The rows are read once into the temp table `table`, and summed twice from there.
    """
    cur.execute(
        sql.SQL(
            "create temp table {} on commit drop as select " + ASSIST_SOURCE_COLUMNS + " from marts.attribution_paths"
            # `= any(array(...))`: one index lookup per conversion (see recompute_affected)
            " where conversion_id = any(array(select conversion_id from attribution_affected))"
        ).format(sql.Identifier(table))
    )
    assist_changes(cur, sql.Identifier(table), sign, sql.Identifier("attribution_path_changes"),
                   sql.Identifier("attribution_assist_changes"))


def compute_slice_in_session(connect: Callable[[], object], snapshot: str, params: AttributionParams,
                             ids: bytes, slice_: int, slices: int) -> tuple[IO[bytes], list[tuple]]:
    """The new path rows of one slice of the conversions `ids`, and their changes, from a session of its own.

    `ids` is the run's attribution_affected in COPY text format. The session reads core on the
    run's snapshot and writes nothing but temp tables. The rows come back in COPY's binary
    format, in a file that stays in memory up to `SPOOL_BYTES` and goes to disk beyond, so a
    range run over years of history needs no more memory than a daily one.
    """
    with slice_session(connect, snapshot) as cur:
        cur.execute(
            "create temp table slice_affected (conversion_id text) on commit drop;"
            " create temp table slice_paths (like marts.attribution_paths) on commit drop;"
        )
        cur.copy_expert("copy slice_affected (conversion_id) from stdin", io.BytesIO(ids))
        cur.execute(
            sql.SQL("insert into slice_paths ({}) ").format(PATH_COLUMN_LIST)
            + paths_select(affected_conversions("slice_affected", slice_, slices), sql.Identifier("core", "touchpoints")),
            query_params(params, slices),
        )
        cur.execute(sql.SQL(sql_text("attribution_changes")).format(paths=sql.Identifier("slice_paths")), {"sign": 1})
        change_rows = cur.fetchall()
        rows = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
        try:
            cur.copy_expert(
                sql.SQL("copy slice_paths ({}) to stdout with (format binary)").format(PATH_COLUMN_LIST)
                .as_string(cur.connection),
                rows,
            )
            rows.seek(0)
        except BaseException:
            rows.close()
            raise
        return rows, change_rows


def paths_select(conversions: sql.Composable, touchpoints: sql.Composable) -> sql.Composed:
    """attribution/sql/attribution_paths.sql over these conversions and touchpoints (subqueries or tables)."""
    return sql.SQL(sql_text("attribution_paths")).format(conversions=conversions, touchpoints=touchpoints)


def in_slice_condition(person_key: str, slice_: int, slices: int) -> sql.Composed:
    """`person_key` (a column reference) is in slice `slice_` of `slices`: as the paths SQL computes it."""
    return sql.SQL("abs(hashtext({}) %% {}) = {}").format(
        sql.SQL(person_key), sql.Literal(slices), sql.Literal(slice_))


def affected_conversions(table: str, slice_: int | None = None, slices: int | None = None) -> sql.Composed:
    """The core.conversions rows named in the temp table `table`, or only those of one slice.

    `= any(array(...))`: one index lookup per conversion. With a join the planner may expect
    many rows (it cannot know how few are named) and scan the whole table.
    """
    in_slice = sql.SQL("")
    if slice_ is not None:
        in_slice = sql.SQL(" and ") + in_slice_condition("c.person_key", slice_, slices)
    return sql.SQL(
        "(select c.* from core.conversions c where c.conversion_id = any(array(select conversion_id from {})){})"
    ).format(sql.Identifier(table), in_slice)


def update_daily(cur, params: AttributionParams, path_changes: sql.Composable | None = None) -> int:
    """Apply the recorded changes and spend days to the daily marts; returns the number of days.

    `path_changes` holds the run's path sums (attribution_path_changes, or a full rebuild's
    slice tables); without it the assist marts are left alone (MAINTAIN_ASSISTS off).
    """
    cur.execute("analyze attribution_changes")
    cur.execute(sql_text("channel_attribution_daily"), query_params(params))
    cur.execute(sql_text("roas_daily"), query_params(params))
    if path_changes is not None:
        cur.execute(sql_text("funnel_daily"), query_params(params))
        cur.execute(sql_text("assisted_conversions_daily"))
        cur.execute(sql.SQL(sql_text("conversion_paths_daily")).format(changes=path_changes))
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
