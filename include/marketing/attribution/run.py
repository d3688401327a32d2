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
from typing import IO

from psycopg2 import sql
from psycopg2.extensions import ISOLATION_LEVEL_REPEATABLE_READ
from psycopg2.extras import execute_values

from marketing.attribution import models
from marketing.attribution.models import MODELS
from marketing.config import AttributionParams
from marketing.sqlfiles import SqlFiles
from marketing.warehouse import INGEST_LOCK

log = logging.getLogger(__name__)

SQL = SqlFiles(__file__)
DAILY_MARTS = sql.SQL(", ").join(
    [sql.Identifier("marts", "channel_attribution_daily"), sql.Identifier("marts", "roas_daily")])
# Assisted conversions, conversion paths and the funnel (docs/assists.md): kept by every run too.
ASSIST_MARTS = sql.SQL(", ").join(
    [sql.Identifier("marts", name) for name in ("assisted_conversions_daily", "conversion_paths_daily", "funnel_daily")])
# False only to measure what the three assist marts cost (the bench): they are then left stale.
MAINTAIN_ASSISTS = True
# The temp tables of a run's (or a slice session's) assist and path sums, which sql/assist_changes.sql
# fills and the assist marts add up.
ASSIST_CHANGE_TABLES = """
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
    create temp table attribution_path_changes (
        date               date             not null,
        conversion_type    text collate "C" not null,
        path               text collate "C" not null,
        path_length        integer          not null,
        conversions        bigint           not null,
        revenue            numeric          not null,
        days_to_conversion bigint           not null
    ) on commit drop;
"""
PATH_COLUMNS = (
    "slice", "conversion_id", "conversion_occurred_at", "conversion_date", "conversion_type", "revenue",
    "touchpoint_event_id", "touch_occurred_at", "channel", "campaign", "touch_position", "path_length",
    "last_non_direct", "time_decay_credit", "position_credit",
)
PATH_COLUMN_LIST = sql.SQL(", ").join(map(sql.Identifier, PATH_COLUMNS))
INSERT_CHANGES = sql.SQL(
    "insert into attribution_changes (date, model, channel, campaign, conversion_type, conversions, revenue, credit_rows) "
)
# A time-decay weight relative to the conversion, 2^-(lookback / half-life), stays a normal
# double up to this many half-lives; beyond it the shares are taken relative to the last touch.
MAX_HALF_LIVES = 1000
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


def query_params(params: AttributionParams, slice_count: int = 1, **more) -> dict:
    """The bind parameters the attribution SQL files use (`more`: those of one statement)."""
    first, middle, last = (float(w) for w in params.position_weights)
    return {
        "models": list(MODELS),
        "slice_count": slice_count,
        "slice": None,
        "all_conversions": False,
        "max_half_lives": MAX_HALF_LIVES,
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
        **more,
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
    cur.execute("select params_digest, models_digest from ops.attribution_state")
    state = cur.fetchone()
    if state is None:
        return "first run"
    if state[0] != params.digest:
        return f"params changed ({state[0]} -> {params.digest})"
    if state[1] != models.models_digest():
        return f"models changed ({state[1]} -> {models.models_digest()})"
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
    create_scope(cur)
    assist_sums = []
    if connect is None:
        # Each slice's assist and path sums go straight into this session's temp tables.
        changes = [build_slice(cur, params, slice_, len(slices)) for slice_ in slices]
    else:
        # The slice sessions read core as this transaction sees it: the loads wait on the lock.
        cur.execute("select pg_export_snapshot()")
        snapshot = cur.fetchone()[0]
        with ThreadPoolExecutor(max_workers=len(slices), thread_name_prefix="attribution-slice") as pool:
            futures = [pool.submit(build_slice_in_session, connect, snapshot, params, s, len(slices)) for s in slices]
            changes, assist_sums = zip(*(future.result() for future in futures))
    swap_slices(cur, slices)
    # The view shows the models the registry has now (the marts are rebuilt for them).
    cur.execute(sql.SQL("create or replace view marts.attribution_credits as with path_credits as ({}) ").format(
        models.path_credits(sql.Identifier("marts", "attribution_paths"))) + sql.SQL(SQL("attribution_credits")))
    # TRUNCATE rather than DELETE: no dead rows to vacuum. Readers wait for the commit, then
    # see the new marts whole.
    cur.execute(sql.SQL("truncate {}").format(DAILY_MARTS))
    if MAINTAIN_ASSISTS:
        cur.execute(sql.SQL("truncate {}").format(ASSIST_MARTS))
    for sums in assist_sums:
        copy_assist_sums_in(cur, sums)
    queue_items = consume_queue(cur)
    cur.execute("insert into attribution_spend_dates (date) select distinct date from core.ad_spend")
    cur.execute("analyze attribution_spend_dates")
    for rows in changes:
        execute_values(cur, INSERT_CHANGES + sql.SQL("values %s"), rows, page_size=5000)
    dates = update_daily(cur, params)
    # Every conversion attributed has exactly one first_touch row.
    cur.execute("select coalesce(sum(credit_rows), 0) from attribution_changes where model = 'first_touch'")
    conversions = int(cur.fetchone()[0])
    # The runs that follow plan their lookups with these statistics (the slices have theirs).
    cur.execute(sql.SQL("analyze {}, {}").format(DAILY_MARTS, ASSIST_MARTS))
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


def build_slice(cur, params: AttributionParams, slice_: int, slices: int) -> list[tuple]:
    """Fill marts.attribution_paths_next_s<slice> with the slice's paths; returns their changes.

    The table is created in this transaction, so its rows skip the WAL (wal_level minimal) and
    its indexes are built once at the end. It carries a check on its slice, so attaching it
    as a partition needs no scan.
    """
    table = f"attribution_paths_next_s{slice_}"
    target = sql.Identifier("marts", table)
    cur.execute(sql.SQL("drop table if exists {}").format(target))
    cur.execute(
        sql.SQL("create table {} (like marts.attribution_paths including defaults including constraints)").format(target)
    )
    cur.execute(sql.SQL("alter table {} add constraint {} check (slice = {})").format(
        target, sql.Identifier(f"{table}_slice"), sql.Literal(slice_)))
    cur.execute(
        sql.SQL("insert into {} ({}) ").format(target, PATH_COLUMN_LIST) + sql.SQL(SQL("attribution_paths")),
        query_params(params, slices, all_conversions=True, slice=slice_),
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
    cur.execute(credit_changes(target), query_params(params, sign=1))
    changes = cur.fetchall()
    if MAINTAIN_ASSISTS:
        assist_changes(cur, sql.SQL("select * from {}").format(target), 1)
    return changes


def build_slice_in_session(connect: Callable[[], object], snapshot: str, params: AttributionParams,
                           slice_: int, slices: int) -> tuple[list[tuple], tuple[list[tuple], IO[bytes]]]:
    """`build_slice` in a session of its own, on the coordinating run's snapshot; commits.

    Returns the credit changes, and the slice's assist and path sums for `copy_assist_sums_in`.
    """
    with slice_session(connect, snapshot) as cur:
        changes = build_slice(cur, params, slice_, slices)
        return changes, copy_assist_sums_out(cur)


def assist_changes(cur, paths: sql.Composable, sign: int, *, materialize: bool = False) -> None:
    """Add the assist and path sums of the path rows that the select `paths` gives, times `sign`,
    to the session's attribution_assist_changes and attribution_path_changes (sql/assist_changes.sql).

    The SQL reads the rows as `assist_paths`: a temp view over `paths`, or with `materialize` a
    temp table of them (a select of index lookups is then run once rather than twice).
    """
    kind = "table" if materialize else "view"
    cur.execute(sql.SQL("create temp {} assist_paths as ").format(sql.SQL(kind)) + paths)
    cur.execute(SQL("assist_changes"), {"sign": sign})
    cur.execute(sql.SQL("drop {} assist_paths").format(sql.SQL(kind)))


def copy_assist_sums_out(cur) -> tuple[list[tuple], IO[bytes]]:
    """A slice session's assist sums (a few rows) and path sums (one per path and day: in COPY's
    binary format, in a file that goes to disk past `SPOOL_BYTES`)."""
    cur.execute("select * from attribution_assist_changes")
    assist_rows = cur.fetchall()
    path_rows = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    try:
        cur.copy_expert("copy attribution_path_changes to stdout with (format binary)", path_rows)
        path_rows.seek(0)
    except BaseException:
        path_rows.close()
        raise
    return assist_rows, path_rows


def copy_assist_sums_in(cur, sums: tuple[list[tuple], IO[bytes]]) -> None:
    """Add a slice session's assist and path sums (`copy_assist_sums_out`) to this run's."""
    assist_rows, path_rows = sums
    with path_rows:
        cur.copy_expert("copy attribution_path_changes from stdin with (format binary)", path_rows)
    execute_values(cur, "insert into attribution_assist_changes values %s", assist_rows, page_size=5000)


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
            # The conversions a run recomputes, as the paths SQL reads them (empty in a full rebuild).
            cur.execute("create temp table attribution_affected (conversion_id text) on commit drop")
            cur.execute(ASSIST_CHANGE_TABLES)
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
    cur.execute(SQL("attribution_scope_from_queue"))
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
            SQL("attribution_scope_from_range"),
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
        """
        + ASSIST_CHANGE_TABLES
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
    # `= any(array(...))`: one index lookup per conversion. With a join the planner may expect
    # many rows (it cannot know new conversions have none yet) and scan the whole table.
    affected_paths = sql.SQL(
        "select * from marts.attribution_paths where conversion_id = any(array(select conversion_id from attribution_affected))"
    )
    try:
        if MAINTAIN_ASSISTS:
            # The assists and paths of the affected conversions as they were, taken away when
            # those of their new paths are added below.
            assist_changes(cur, affected_paths, -1, materialize=True)
        removed = sql.SQL(
            "removed as (delete from marts.attribution_paths"
            " where conversion_id = any(array(select conversion_id from attribution_affected)) returning *), "
        )
        cur.execute(credit_changes(sql.Identifier("removed"), before=removed), query_params(params, sign=-1))
        inserted = sql.SQL("inserted as (insert into marts.attribution_paths ({}) {} returning *), ").format(
            PATH_COLUMN_LIST, sql.SQL(SQL("attribution_paths")))
        cur.execute(
            credit_changes(sql.Identifier("inserted"), before=inserted),
            query_params(params, len(slices), slice=0 if helpers else None, sign=1),
        )
        for helper in helpers:
            rows, change_rows = helper.result()
            with rows:
                cur.copy_expert(
                    sql.SQL("copy marts.attribution_paths ({}) from stdin with (format binary)")
                    .format(PATH_COLUMN_LIST).as_string(cur.connection),
                    rows,
                )
            execute_values(cur, INSERT_CHANGES + sql.SQL("values %s"), change_rows, page_size=5000)
        if MAINTAIN_ASSISTS:
            assist_changes(cur, affected_paths, 1, materialize=True)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return update_daily(cur, params)


def compute_slice_in_session(connect: Callable[[], object], snapshot: str, params: AttributionParams,
                             ids: bytes, slice_: int, slices: int) -> tuple[IO[bytes], list[tuple]]:
    """The new path rows of one slice of the conversions `ids`, and their changes, from a session of its own.

    `ids` is the run's attribution_affected in COPY text format. The session reads core on the
    run's snapshot and writes nothing but temp tables. The rows come back in COPY's binary
    format, in a file that stays in memory up to `SPOOL_BYTES` and goes to disk beyond, so a
    range run over years of history needs no more memory than a daily one.
    """
    with slice_session(connect, snapshot) as cur:
        cur.execute("create temp table slice_paths (like marts.attribution_paths) on commit drop")
        cur.copy_expert("copy attribution_affected (conversion_id) from stdin", io.BytesIO(ids))
        cur.execute(
            sql.SQL("insert into slice_paths ({}) ").format(PATH_COLUMN_LIST) + sql.SQL(SQL("attribution_paths")),
            query_params(params, slices, slice=slice_),
        )
        cur.execute(credit_changes(sql.Identifier("slice_paths")), query_params(params, sign=1))
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


def credit_changes(paths: sql.Composable, before: sql.Composable | None = None) -> sql.Composed:
    """The changes that the path rows `paths` make to the credits: sql/attribution_changes.sql
    over every model's sums of the rows, taken in one pass.

    With `before` (CTEs that define `paths`, each ending in a comma) the statement inserts them
    into attribution_changes; without, `paths` is a table and the statement selects them.
    """
    if before is None:
        return sql.SQL("with credit_sums as ({}) ").format(models.credit_sums(paths)) + sql.SQL(SQL("attribution_changes"))
    return (sql.SQL("with {}credit_sums as ({}) ").format(before, models.credit_sums(paths))
            + INSERT_CHANGES + sql.SQL(SQL("attribution_changes")))


def update_daily(cur, params: AttributionParams) -> int:
    """Apply the recorded changes and spend days to the daily marts; returns the number of days."""
    cur.execute("analyze attribution_changes")
    cur.execute(SQL("channel_attribution_daily"), query_params(params))
    cur.execute(SQL("roas_daily"), query_params(params))
    if MAINTAIN_ASSISTS:
        cur.execute(SQL("funnel_daily"), query_params(params))
        cur.execute(SQL("assisted_conversions_daily"))
        cur.execute(SQL("conversion_paths_daily"))
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
        insert into ops.attribution_state (singleton, params, params_digest, models_digest, run_id, built_at)
        values (true, %s, %s, %s, %s, now())
        on conflict (singleton) do update
            set params = excluded.params, params_digest = excluded.params_digest,
                models_digest = excluded.models_digest, run_id = excluded.run_id, built_at = excluded.built_at
        """,
        (params.as_json(), params.digest, models.models_digest(), run_id),
    )
