"""Attribution: the credits of every conversion under every model, and the daily marts built on them.

`run_attribution` is the one entry point (the DAG, the CLI and the tests call it). One run is one
transaction, under the same advisory lock as the loads, so a load and a run never interleave and a
run killed half way leaves nothing behind. It works in one of three modes:

- **full**: every conversion and every day, from scratch. Forced by `full_rebuild=True`, and
  chosen by itself when the parameters or the models differ from those the marts were built
  with (so old and new results never mix) or when the marts are empty but core is not.
- **incremental** (the default): consumes `ops.attribution_queue`, which the loads fill, and
  recomputes exactly the conversions the queued changes can move, and the spend side of ROAS
  for every day whose spend changed.
- **range** (`start_date`/`end_date`): every conversion whose day is in the range, and the
  spend of every day of the range. The queue is left alone; the next incremental run still
  consumes it (a conversion recomputed twice gives the same rows: only repeated work).

Credits are stored one row per (conversion, eligible touch) in `marts.attribution_paths`
(`sql/attribution_paths.sql`), with what the path-wide rules give the touch; each model's credit
of a row is its rule in `sql/models/` (the registry is `models.py`), and `marts.attribution_credits`
is a view with the contract's grain over the rows.

How a run recomputes a set of conversions (the *affected* ones): their path rows are deleted and
inserted anew, and the sums of both (by date, model, channel, campaign and conversion type) are
collected in a temp table, `attribution_changes`. The daily marts then add those changes to the
rows they touch and nothing else, so a run costs what it recomputes, not the size of the history.
In every mode, the marts afterwards equal a full rebuild from scratch, row for row (floats within
rounding). How the work is split into slices computed side by side is `parallel.py`'s business.

The same runs keep the assisted conversions, conversion paths and funnel marts (docs/assists.md):
`sql/assist_changes.sql` sums the assists and paths of a set of path rows into the temp tables
`attribution_assist_changes` / `attribution_path_changes` (`sql/attribution_assist_tables.sql`),
from what the path pass flags on each row (`assists`, `run_starts`: no second sort of the paths);
a full rebuild sums each slice where it is computed (a slice session hands its sums back through
`parallel.each_slice`), the other modes sum the affected conversions' rows before (-1) and after (+1).
"""

from __future__ import annotations

import datetime
import logging
import time
from dataclasses import asdict, dataclass

from psycopg2 import sql
from psycopg2.extras import execute_values

from marketing.attribution import markov, models, parallel
from marketing.attribution.parallel import Connect
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
# What a full rebuild's slice sessions sum beside their path rows, handed back to the run.
ASSIST_SUMS = parallel.SessionSums(
    create=SQL("attribution_assist_tables"), tables=("attribution_assist_changes", "attribution_path_changes"))
# The columns of a path row, in the order sql/attribution_paths.sql selects them.
PATH_COLUMNS = sql.SQL(", ").join(map(sql.Identifier, (
    "slice", "conversion_id", "conversion_occurred_at", "conversion_date", "conversion_type", "revenue",
    "touchpoint_event_id", "touch_occurred_at", "channel", "campaign", "touch_position", "path_length",
    "last_non_direct", "time_decay_credit", "position_credit", "assists", "run_starts",
    "previous_channel", "markov_period", "markov_key",
)))
INSERT_CHANGES = sql.SQL(
    "insert into attribution_changes (date, model, channel, campaign, conversion_type, conversions, revenue, credit_rows) "
)
# A time-decay weight relative to the conversion, 2^-(lookback / half-life), stays a normal
# double up to this many half-lives; beyond it the shares are taken relative to the last touch.
MAX_HALF_LIVES = 1000


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


def bind_values(params: AttributionParams, slice_count: int = 1, **statement) -> dict:
    """The bind values of the attribution SQL files for these model parameters (`statement`: one statement's own)."""
    first, middle, last = (float(w) for w in params.position_weights)
    return {
        "models": list(models.MODELS),
        "summed_models": [m.name for m in models.summed()],
        "with_markov": models.fitted("markov") is not None,
        "markov_period": params.markov_period,
        "maintain_assists": MAINTAIN_ASSISTS,
        "slice_count": slice_count,
        "slice": None,  # every slice
        "all_conversions": False,  # only those in attribution_affected
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
        **statement,
    }


def run_attribution(
    conn,
    params: AttributionParams,
    *,
    full_rebuild: bool = False,
    start_date: datetime.date | None = None,
    end_date: datetime.date | None = None,
    connect: Connect | None = None,
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
        parallel.run_settings(cur)
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
    log.debug("attribution %s", summary.as_dict())
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
    cur.execute(SQL("attribution_marts_empty"), bind_values(params))
    return "marts empty" if cur.fetchone()[0] else None


# ---- the three modes -------------------------------------------------------------------------

def rebuild_all(cur, params: AttributionParams, reason: str, connect: Connect | None = None) -> RunSummary:
    """Recompute every conversion and every day from scratch; the queue is then empty."""
    slices = parallel.path_slices(cur)
    create_work_tables(cur)
    if markov.enabled():
        markov.register_channels(cur, bind_values(params), connect, all_persons=True)
    # The slice sessions read core as this transaction sees it: the loads wait on the lock.
    # Each slice's assist and path sums land in this transaction's temp tables (a slice session
    # hands its own back: `ASSIST_SUMS`).
    changes = parallel.each_slice(cur, connect, slices, lambda c, slice_: build_slice(c, params, slice_, len(slices)),
                                  sums=slice_sums())
    parallel.swap_slices(cur, slices)
    # The view shows the models the registry has now (the marts are rebuilt for them).
    cur.execute(sql.SQL("create or replace view marts.attribution_credits as with path_credits as ({}) ").format(
        models.path_credits(sql.Identifier("marts", "attribution_paths"))) + sql.SQL(SQL("attribution_credits")))
    # TRUNCATE rather than DELETE: no dead rows to vacuum. Readers wait for the commit, then
    # see the new marts whole.
    cur.execute(sql.SQL("truncate {}").format(DAILY_MARTS))
    if MAINTAIN_ASSISTS:
        cur.execute(sql.SQL("truncate {}").format(ASSIST_MARTS))
    queue_items = consume_queue(cur)
    cur.execute("insert into attribution_spend_dates (date) select distinct date from core.ad_spend")
    cur.execute("analyze attribution_spend_dates")
    for rows in changes:
        execute_values(cur, INSERT_CHANGES + sql.SQL("values %s"), rows, page_size=5000)
    dates = update_daily(cur, params)
    if markov.enabled():
        # The fits need every slice's journeys, so the `markov` rows come after the slices.
        markov.rebuild(cur, params, bind_values(params))
    # Every conversion attributed has exactly one first_touch row.
    cur.execute("select coalesce(sum(credit_rows), 0) from attribution_changes where model = 'first_touch'")
    conversions = int(cur.fetchone()[0])
    # The runs that follow plan their lookups with these statistics (the slices have theirs).
    cur.execute(sql.SQL("analyze {}, {}").format(DAILY_MARTS, ASSIST_MARTS))
    return RunSummary("full", conversions, dates, queue_items, 0.0, reason=reason)


def build_slice(cur, params: AttributionParams, slice_: int, slice_count: int) -> list[tuple]:
    """Every path row of one slice, in a new table for `parallel.swap_slices`; returns their changes."""
    table = parallel.new_slice_table(cur, slice_)
    cur.execute(
        sql.SQL("insert into {} ({}) ").format(table, PATH_COLUMNS) + sql.SQL(SQL("attribution_paths")),
        bind_values(params, slice_count, all_conversions=True, slice=slice_),
    )
    parallel.index_slice_table(cur, table)
    cur.execute(credit_changes(table), bind_values(params, sign=1))
    changes = cur.fetchall()
    if MAINTAIN_ASSISTS:
        assist_changes(cur, sql.SQL("select * from {}").format(table), 1)
    if markov.enabled():
        markov.build_slice(cur, bind_values(params), table, slice_, slice_count)
    return changes


def slice_sums() -> parallel.SessionSums | None:
    """The work tables a full rebuild's slice fills besides its path rows: the assist and path
    sums, and the `markov` fits' journeys and counts."""
    parts = [sums for sums, on in ((ASSIST_SUMS, MAINTAIN_ASSISTS), (markov.SLICE_SUMS, markov.enabled())) if on]
    if not parts:
        return None
    return parallel.SessionSums(create="\n".join(p.create for p in parts), tables=tuple(t for p in parts for t in p.tables))


def recompute_queued(cur, params: AttributionParams, connect: Connect | None = None) -> RunSummary:
    """Consume the queue and recompute what it names; nothing queued means no work."""
    cur.execute("select exists (select from ops.attribution_queue)")
    if not cur.fetchone()[0]:
        return RunSummary("incremental", 0, 0, 0, 0.0)
    create_work_tables(cur)
    # The loads fill the queue faster than autovacuum analyses it: with stale statistics the
    # planner takes a day's 150k changed persons for a few hundred and probes them one by one.
    cur.execute("analyze ops.attribution_queue")
    cur.execute(SQL("attribution_affected_from_queue"))
    conversions = cur.fetchone()[0]
    if markov.enabled():
        markov.persons_from_queue(cur)
    queue_items = consume_queue(cur)
    dates = recompute_affected(cur, params, connect)
    return RunSummary("incremental", conversions, dates, queue_items, 0.0)


def recompute_range(
    cur, params: AttributionParams, start_date: datetime.date | None, end_date: datetime.date | None,
    connect: Connect | None = None,
) -> RunSummary:
    """Recompute the conversions and spend of [start_date, end_date] (an open end: as far as data goes)."""
    if start_date is None or end_date is None:
        cur.execute(SQL("attribution_data_days"), bind_values(params))
        first, last = cur.fetchone()
        start_date = start_date or first
        end_date = end_date or last
    create_work_tables(cur)
    conversions = 0
    if start_date is not None and end_date is not None and start_date <= end_date:
        cur.execute(SQL("attribution_affected_from_range"),
                    bind_values(params, start_date=start_date, end_date=end_date))
        conversions = cur.fetchone()[0]
    dates = recompute_affected(cur, params, connect)
    return RunSummary("range", conversions, dates, 0, 0.0)


# ---- the steps -------------------------------------------------------------------------------

def consume_queue(cur) -> int:
    """Empty ops.attribution_queue in this run's transaction; returns how many items it held.

    The run holds the loads' advisory lock, so the queue cannot grow until it commits. TRUNCATE
    rather than DELETE: a day's load queues a row per person it touched, and deleting them all
    costs more than the rest of the run's work (and leaves dead rows for vacuum). It is rolled
    back with the run, so a failed run leaves the queue as it found it.
    """
    cur.execute("select count(*) from ops.attribution_queue")
    items = cur.fetchone()[0]
    cur.execute("truncate ops.attribution_queue")
    return items


def create_work_tables(cur) -> None:
    """The run's temp tables: affected conversions, spend days, changes (sql/attribution_work_tables.sql),
    and the assist and path sums (sql/attribution_assist_tables.sql)."""
    cur.execute(SQL("attribution_work_tables"))
    cur.execute(ASSIST_SUMS.create)
    if markov.enabled():
        markov.create_work_tables(cur)


def assist_changes(cur, paths: sql.Composable, sign: int) -> None:
    """Add the assist and path sums of the path rows that the select `paths` gives, times `sign`,
    to the session's attribution_assist_changes and attribution_path_changes (sql/assist_changes.sql),
    which reads them as `assist_paths`, a temp view over `paths`."""
    cur.execute(sql.SQL("create temp view assist_paths as ") + paths)
    cur.execute(SQL("assist_changes"), {"sign": sign})
    cur.execute("drop view assist_paths")


def recompute_affected(cur, params: AttributionParams, connect: Connect | None = None) -> int:
    """Replace the path rows of the affected conversions and update the daily marts; returns days changed.

    With `connect`, the new path rows of slices 1… are computed side by side in sessions of their
    own while this one computes slice 0, and then copied in here: the writes all happen in this
    transaction.
    """
    # Temp tables are never analysed by autovacuum; without statistics the planner would not
    # see that a few thousand ids or days call for index lookups.
    cur.execute("analyze attribution_affected, attribution_spend_dates")
    # This session's statements read and write a day's rows, mostly by index, but the planner
    # prices some as scans of the history: JIT compiled for 0.2-0.5 s each (0.6 s a run).
    cur.execute("set local jit = off")
    # The affected conversions' path rows as they were, then as they are: read once each into a
    # temp table, which the assist sums and the `markov` fits' changes both read.
    # `= any(array(...))`: one index lookup per conversion. With a join the planner may expect
    # many rows (it cannot know new conversions have none yet) and scan the whole table.
    affected_paths = sql.SQL(
        "select * from marts.attribution_paths where conversion_id = any(array(select conversion_id from attribution_affected))"
    )
    cur.execute(sql.SQL("create temp table affected_paths_old on commit drop as ") + affected_paths)
    if markov.enabled():
        # Before the path rows change (and before the slice sessions take their snapshot).
        markov.before_paths(cur, params, bind_values(params), sql.Identifier("affected_paths_old"))
    slices = parallel.path_slices(cur)
    compute = lambda c, slice_: compute_slice(c, params, slice_, len(slices))  # noqa: E731
    with parallel.other_slices(cur, connect, slices, compute) as others:
        if MAINTAIN_ASSISTS:
            # The assists and paths of the affected conversions as they were, taken away when
            # those of their new paths are added below.
            assist_changes(cur, sql.SQL("select * from affected_paths_old"), -1)
        removed = sql.SQL(
            "removed as (delete from marts.attribution_paths"
            " where conversion_id = any(array(select conversion_id from attribution_affected)) returning *), "
        )
        cur.execute(credit_changes(sql.Identifier("removed"), before=removed), bind_values(params, sign=-1))
        inserted = sql.SQL("inserted as (insert into marts.attribution_paths ({}) {} returning *), ").format(
            PATH_COLUMNS, sql.SQL(SQL("attribution_paths")))
        cur.execute(
            credit_changes(sql.Identifier("inserted"), before=inserted),
            bind_values(params, len(slices), slice=0 if others else None, sign=1),
        )
        for other in others:
            rows, changes = other.result()
            parallel.copy_paths(cur, rows)
            execute_values(cur, INSERT_CHANGES + sql.SQL("values %s"), changes, page_size=5000)
    cur.execute(sql.SQL("create temp table affected_paths_new on commit drop as ") + affected_paths)
    if MAINTAIN_ASSISTS:
        assist_changes(cur, sql.SQL("select * from affected_paths_new"), 1)
    if markov.enabled():
        # The new journeys, the fits they change, and those fits' `markov` rows of the daily marts.
        markov.after_paths(cur, params, bind_values(params), sql.Identifier("affected_paths_new"), affected_paths)
    return update_daily(cur, params)


def compute_slice(cur, params: AttributionParams, slice_: int, slice_count: int) -> list[tuple]:
    """The new path rows of one slice of the affected conversions, into the temp table slice_paths; returns their changes."""
    cur.execute(
        sql.SQL("insert into slice_paths ({}) ").format(PATH_COLUMNS) + sql.SQL(SQL("attribution_paths")),
        bind_values(params, slice_count, slice=slice_),
    )
    cur.execute(credit_changes(sql.Identifier("slice_paths")), bind_values(params, sign=1))
    return cur.fetchall()


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
    cur.execute(SQL("channel_attribution_daily"), bind_values(params))
    cur.execute(SQL("roas_daily"), bind_values(params))
    if MAINTAIN_ASSISTS:
        cur.execute(SQL("funnel_daily"), bind_values(params))
        cur.execute(SQL("assisted_conversions_daily"))
        cur.execute(SQL("conversion_paths_daily"))
    cur.execute(
        "select count(*) from (select date from attribution_changes union select date from attribution_spend_dates) d"
    )
    return cur.fetchone()[0]


# ---- what the marts were built with ---------------------------------------------------------

def record_run(cur, params: AttributionParams, summary: RunSummary) -> int:
    """Add the run to `ops.attribution_runs`; returns its run_id."""
    cur.execute(SQL("attribution_runs"), {
        "mode": summary.mode, "reason": summary.reason, "params": params.as_json(), "params_digest": params.digest,
        "conversions_recomputed": summary.conversions_recomputed, "dates_recomputed": summary.dates_recomputed,
        "queue_items": summary.queue_items,
    })
    return cur.fetchone()[0]


def save_state(cur, params: AttributionParams, run_id: int) -> None:
    """Record the parameters and models the marts now hold results for."""
    cur.execute(SQL("attribution_state"), {
        "params": params.as_json(), "params_digest": params.digest, "models_digest": models.models_digest(),
        "run_id": run_id,
    })
