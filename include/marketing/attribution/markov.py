"""The data-driven `markov` model: journeys, the first-order chain of each fit, removal effects
and the credits they give (docs/data_driven.md).

A fit is one (conversion type, period). What it is made of lives in the warehouse and is kept by
every attribution run, in the run's transaction:

- the converting journeys are the stored path rows (`marts.attribution_paths`): the path pass
  gives each row the channel before it, its conversion's fit and its path's key (the path's
  channels as a multiset), so a fit's transitions are a sum over rows;
- the non-converting journeys are stored per (person, type, period) in `marts.markov_journeys`;
  a run recomputes only those of the persons its changes reach;
- `marts.markov_transitions` and `marts.markov_paths` count them per fit; a run adds the
  changes of the journeys it removed (negated) and added, and redoes the fits they touch;
- `marts.markov_day_paths` sums the path rows by day, fit, path key, channel and campaign; a
  run adds the sums of the rows it removed (negated) and added, beside the fits' counts.

Redoing a fit solves its absorbing chain exactly (numpy: a fit has a dozen states), writes its
removal effects and, for every path key of the fit, the sum of the removal effects over such a
path's touches (`marts.markov_path_weights`); the view `marts.markov_credits` divides the one by
the other, and the model's rule (`sql/models/markov.sql`) joins it beside a path row.
The `markov` rows of the daily marts of the days of redone fits are then restated in one pass
over those days' sums of marts.markov_day_paths (not their path rows).
"""

from __future__ import annotations

import datetime
import io
from collections import defaultdict
from decimal import Decimal

import numpy as np
from psycopg2 import sql
from psycopg2.extras import execute_values

from marketing.attribution import models
from marketing.attribution import parallel
from marketing.attribution.parallel import Connect
from marketing.config import AttributionParams
from marketing.sqlfiles import SqlFiles

SQL = SqlFiles(__file__)
MODEL = "markov"
START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"
DIGIT = 10 ** 12  # a channel's place in a path key: marts.markov_channels.weight = DIGIT ** digit
# A removal effect off [0, 1] by no more than this is rounding noise, clipped (rule 8).
CLIP = 1e-9
# What a full rebuild's slice computes for the fits (`build_slice`), handed back to the run.
SLICE_SUMS = parallel.SessionSums(
    create=SQL("markov_work_tables"),
    tables=("markov_changes", "markov_path_changes", "markov_day_changes", "markov_journeys_new"))
_TYPES = ("select distinct conversion_type from core.conversions where cardinality(%(conversion_types)s::text[]) = 0"
          " or conversion_type = any(%(conversion_types)s::text[])")


def enabled() -> bool:
    """True when the registry has the model (the bench measures runs without it)."""
    return models.fitted(MODEL) is not None


# ---- the chain ---------------------------------------------------------------------------------

def conversion_probability(counts: dict[tuple[str, str], int], removed: str | None = None) -> float:
    """P: the probability that a walk from (start) ends in (conversion), solved exactly (rule 7).

    `counts`: journeys per (from_state, to_state). With `removed`, every transition into that
    channel goes to (null) instead (rule 8).
    """
    states = sorted({s for pair in counts for s in pair} - {START, CONVERSION, NULL})
    index = {state: i for i, state in enumerate([START, *states])}
    size = len(index)
    q = np.zeros((size, size))
    to_conversion = np.zeros(size)
    out = np.zeros(size)
    for (source, target), n in counts.items():
        out[index[source]] += n
        if target == CONVERSION:
            to_conversion[index[source]] += n
        elif target != NULL and target != removed:
            q[index[source], index[target]] += n
    out[out == 0] = 1  # a state nothing leaves is never reached
    q /= out[:, None]
    to_conversion /= out
    # x = Q x + r: x[s] is the probability of conversion from state s.
    x = np.linalg.solve(np.eye(size) - q, to_conversion)
    return float(x[index[START]])


def removal_effects(counts: dict[tuple[str, str], int]) -> tuple[float, dict[str, float]]:
    """(P, {channel: RE(channel)}) of one fit; ({}: no converting journey, nothing to credit)."""
    p = conversion_probability(counts)
    if p <= 0:
        return p, {}
    channels = sorted({s for pair in counts for s in pair} - {START, CONVERSION, NULL})
    effects = {}
    for channel in channels:
        effect = 1 - conversion_probability(counts, removed=channel) / p
        effects[channel] = min(1.0, max(0.0, effect)) if -CLIP <= effect <= 1 + CLIP else effect
    return p, effects


def path_weight(key: Decimal, channels: dict[int, str], effects: dict[str, float]) -> tuple[float, int]:
    """(Σ RE over the touches of a path of this key, how many touches it has): a touch of channel
    c on it gets RE(c) / Σ, or 1 / n when Σ is 0 (rule 9; the view marts.markov_credits)."""
    total = 0.0
    touches = 0
    number = int(key)
    digit = 0
    while number:
        number, count = divmod(number, DIGIT)
        if count:
            total += count * effects[channels[digit]]
            touches += count
        digit += 1
    return total, touches


# ---- a run's steps ---------------------------------------------------------------------------

def create_work_tables(cur) -> None:
    """The run's temp tables for the fits (sql/markov_work_tables.sql)."""
    cur.execute(SQL("markov_work_tables"))


def persons_from_queue(cur) -> None:
    """Note the persons whose touches the queued loads changed (before the run empties the queue)."""
    cur.execute(SQL("markov_persons_from_queue"))


def before_paths(cur, params: AttributionParams, binds: dict, paths: sql.Identifier) -> None:
    """An incremental or range run, before it replaces the affected conversions' path rows (the
    run's copy of them: the table `paths`): note their persons and take away their converting
    journeys."""
    cur.execute(SQL("markov_persons_from_affected"), binds)
    cur.execute("analyze markov_persons")
    converting_changes(cur, paths, -1, binds)


def register_channels(cur, binds: dict, connect: Connect | None, *, all_persons: bool) -> None:
    """Give the channels the path pass will meet their digit in the path keys, before it runs
    (a full rebuild; an incremental run keys the few paths of a new channel afterwards).

    With `connect`, the path pass runs in slice sessions, which see only what is committed (an
    exported snapshot never shows the run's own writes): the new channels are then added and
    committed in a session of their own. A digit given to a channel that no run keeps in the end
    is harmless: keys only need each channel to have one, and the same one, while it is in use.
    """
    cur.execute(SQL("markov_channels"), {**binds, "all_persons": all_persons})
    channels = [channel for (channel,) in cur.fetchall()]
    if not channels:
        return
    if connect is None:
        cur.execute(SQL("markov_channels_add"), {"channels": channels})
        return
    other = connect()
    try:
        with other, other.cursor() as other_cur:
            other_cur.execute(SQL("markov_channels_add"), {"channels": channels})
    finally:
        other.close()


def after_paths(cur, params: AttributionParams, binds: dict, paths: sql.Identifier, select: sql.Composable) -> None:
    """An incremental or range run, after the new path rows are in (the run's copy of them: the
    table `paths`, filled by `select`): add their converting journeys, recompute the persons'
    non-converting journeys, and redo the fits that changed."""
    _key_new_channels(cur, paths, select)
    converting_changes(cur, paths, 1, binds)
    cur.execute(SQL("markov_types_vanished"))
    # The persons' journeys of the types that had fits, then every person's of a new type.
    cur.execute("insert into markov_journey_types select conversion_type from marts.markov_types")
    cur.execute("analyze markov_journey_types")
    cur.execute(SQL("markov_journeys_splice"), {**binds, "range_from": _range_from(cur)})
    cur.execute("truncate markov_journey_types")
    cur.execute(SQL("markov_types_new"), binds)
    if cur.rowcount:
        _journeys(cur, sql.Identifier("marts", "attribution_paths"), binds)  # every slice
    _store_journeys(cur)
    refit(cur, params, binds, all_dates=False)


def _range_from(cur) -> datetime.datetime | str:
    """From when the splice reads the run's persons' touches and conversions by time rather than
    person by person (sql/markov_journeys_splice.sql): the earliest `since` within a day before
    the persons' median one. On the usual day most persons' `since` is a touch of the day's loads,
    so the range is the day's rows; the rest (a conversion's lookback) are looked up. 'infinity'
    (every person looked up) when the median reaches back to the beginning."""
    cur.execute(
        "select min(p.since) from markov_persons p,"
        " (select percentile_disc(0.5) within group (order by since) as median from markov_persons) as m"
        " where m.median > '-infinity' and p.since >= m.median - interval '1 day'"
    )
    since = cur.fetchone()[0]
    return "infinity" if since is None else since


def build_slice(cur, binds: dict, table: sql.Identifier, slice_: int, slice_count: int) -> None:
    """A full rebuild's slice, after its path rows are in `table`: their converting journeys and
    the non-converting journeys of the slice's persons (a person's touches and conversions are
    all in the person's slice), into the run's (or the slice session's) work tables."""
    cur.execute("insert into markov_journey_types " + _TYPES + " on conflict do nothing", binds)
    converting_changes(cur, table, 1, {**binds, "all_dates": True})
    _journeys(cur, table, {**binds, "slice": slice_, "slice_count": slice_count})


def _journeys(cur, paths: sql.Identifier, binds: dict) -> None:
    """The non-converting journeys of the persons of `binds`' slice (every slice: None), for the
    types of markov_journey_types, from their touches that the path rows in the table `paths`
    do not name (sql/markov_journeys.sql)."""
    cur.execute(sql.SQL("create temp view markov_slice_paths as select * from {}").format(paths))
    cur.execute(SQL("markov_journeys"), binds)
    cur.execute("drop view markov_slice_paths")


def rebuild(cur, params: AttributionParams, binds: dict) -> None:
    """A full rebuild, after every slice's path rows and journeys are in (`build_slice`): every
    fit and every day's rows."""
    cur.execute("truncate marts.markov_types, marts.markov_journeys, marts.markov_transitions, marts.markov_paths,"
                " marts.markov_path_weights, marts.markov_removal_effects, marts.markov_day_paths")
    cur.execute("insert into marts.markov_types " + _TYPES, binds)
    _store_journeys(cur)
    refit(cur, params, binds, all_dates=True)
    # The next incremental runs plan their lookups and joins on these with fresh statistics.
    cur.execute("analyze marts.markov_journeys, marts.markov_paths")


def _store_journeys(cur) -> None:
    """The journeys the run computed (markov_journeys_new) into marts.markov_journeys."""
    cur.execute("insert into marts.markov_journeys select * from markov_journeys_new")
    cur.execute("truncate markov_journeys_new")


def _key_new_channels(cur, paths: sql.Identifier, select: sql.Composable) -> None:
    """A new path row with a channel that had no digit yet got no key from the path pass: the
    channel gets its digit and the path its key here (sql/markov_keys.sql), and the run's copy
    `paths` is read again by `select`. Costs nothing when no new channel came (the usual day)."""
    cur.execute(sql.SQL("select distinct channel from {} where touchpoint_event_id is not null"
                        " and markov_period is not null and markov_key is null").format(paths))
    channels = [channel for (channel,) in cur.fetchall()]
    if not channels:
        return
    cur.execute(SQL("markov_channels_add"), {"channels": channels})
    cur.execute(sql.SQL("create temp view markov_changed_paths as select * from {}").format(paths))
    cur.execute(SQL("markov_keys"))
    cur.execute("drop view markov_changed_paths")
    cur.execute(sql.SQL("truncate {}").format(paths))
    cur.execute(sql.SQL("insert into {} ").format(paths) + select)


def converting_changes(cur, paths: sql.Identifier, sign: int, binds: dict) -> None:
    """Add the converting journeys of the path rows in the table `paths`, times `sign`, and their
    sums by day, fit, path key, channel and campaign to the run's changes (sql/markov_converting.sql)."""
    cur.execute(sql.SQL("create temp view markov_changed_paths as select * from {}").format(paths))
    cur.execute(SQL("markov_converting"), {"all_dates": False, **binds, "sign": sign})
    cur.execute("drop view markov_changed_paths")


def refit(cur, params: AttributionParams, binds: dict, *, all_dates: bool) -> None:
    """Apply the run's changes to the fits' counts, redo every fit they touch, and restate the
    `markov` rows of the daily marts for those fits' days and the recomputed conversions' days
    (every day: `all_dates`, a full rebuild, whose tables start empty)."""
    cur.execute(SQL("markov_apply"))
    cur.execute(SQL("markov_day_rebuild" if all_dates else "markov_day_apply"))
    cur.execute("select distinct conversion_type, period_start from markov_changes"
                " union select distinct conversion_type, period_start from markov_path_changes")
    fits = cur.fetchall()
    # Period `all`: the removal effects show the first day of the data as their period_start
    # (rule 12). A late row can move that day without changing any journey (a conversion with no
    # touch, a touch that repeats its journey's channel), and so without a refit: every run
    # checks it, and moves the rows it does not refit to it.
    first_day = _first_day(cur, params, shown=not all_dates) if params.markov_period == "all" else None
    if fits:
        execute_values(cur, "create temp table markov_refit on commit drop as"
                            " select * from (values %s) as f (conversion_type, period_start)", fits)
        _write_fits(cur, fits, first_day)
        cur.execute("drop table markov_refit")
    if first_day is not None and not all_dates:
        cur.execute("update marts.markov_removal_effects set period_start = %s where period_start <> %s",
                    (first_day, first_day))
    all_dates = all_dates or (params.markov_period == "all" and bool(fits))
    if not all_dates:
        if fits:
            cur.execute(
                "insert into markov_dates (date) select generate_series(f.start, marts.markov_period_end(f.start, %s) - 1,"
                " interval '1 day')::date from unnest(%s::date[]) as f (start) on conflict do nothing",
                (params.markov_period, sorted({start for _, start in fits})),
            )
    if not all_dates:
        cur.execute("select exists (select from markov_dates)")
        if not cur.fetchone()[0]:
            return
    else:
        # Every day is restated from tables the run has just filled (a full rebuild): on their
        # statistics, the planner joins them; without, it looked up a million groups one by one.
        cur.execute("analyze marts.markov_day_paths, marts.markov_path_weights, marts.markov_removal_effects")
    restate(cur, binds, all_dates=all_dates)


def _write_fits(cur, fits: list[tuple], first_day: datetime.date | None) -> None:
    """Solve each fit of markov_refit; write its removal effects and its path keys' weights.
    `first_day`: the period_start they show (period `all`); None: their period's first day."""
    cur.execute("select r.conversion_type, r.period_start, t.from_state, t.to_state, t.journeys"
                " from markov_refit r join marts.markov_transitions t using (conversion_type, period_start)")
    counts: dict[tuple, dict] = defaultdict(dict)
    for kind, start, source, target, n in cur.fetchall():
        counts[(kind, start)][(source, target)] = n
    cur.execute("select digit, channel from marts.markov_channels")
    channels = dict(cur.fetchall())
    cur.execute("select r.conversion_type, r.period_start, p.path_key"
                " from markov_refit r join marts.markov_paths p using (conversion_type, period_start)")
    keys: dict[tuple, list] = defaultdict(list)
    for kind, start, key in cur.fetchall():
        keys[(kind, start)].append(key)
    cur.execute("delete from marts.markov_path_weights w using markov_refit r"
                " where w.conversion_type = r.conversion_type and w.period_start = r.period_start")
    cur.execute("delete from marts.markov_removal_effects e using markov_refit r"
                " where e.conversion_type = r.conversion_type and e.fit_start = r.period_start")
    effect_rows, weight_rows = [], []
    for fit in fits:
        fit_counts = counts.get(fit, {})
        if not fit_counts:
            continue
        p, effects = removal_effects(fit_counts)
        if not effects:
            continue
        kind, start = fit
        converting = sum(n for (_, target), n in fit_counts.items() if target == CONVERSION)
        nulls = sum(n for (_, target), n in fit_counts.items() if target == NULL)
        total = sum(effects.values())
        shown = start if first_day is None else first_day
        for channel, effect in sorted(effects.items()):
            effect_rows.append((shown, kind, channel, effect, effect / total if total > 0 else 0.0,
                                converting, nulls, p, start))
        for key in keys.get(fit, ()):
            weight_rows.append((kind, start, key, *path_weight(key, channels, effects)))
    if effect_rows:
        execute_values(cur, "insert into marts.markov_removal_effects (period_start, conversion_type, channel,"
                            " removal_effect, share, converting_journeys, null_journeys, conversion_probability,"
                            " fit_start) values %s", effect_rows, page_size=5000)
    if weight_rows:
        # COPY: a month's fit of a million conversions has some 4·10^4 path keys.
        text = io.StringIO()
        for row in weight_rows:
            text.write("\t".join(_copy_text(value) for value in row) + "\n")
        text.seek(0)
        cur.copy_expert("copy marts.markov_path_weights (conversion_type, period_start, path_key, weight, touches)"
                        " from stdin", text)


def _copy_text(value) -> str:
    """A value in COPY's text format (floats exactly: repr round-trips)."""
    text = repr(value) if isinstance(value, float) else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _first_day(cur, params: AttributionParams, *, shown: bool) -> datetime.date | None:
    """The first day of the data (period `all`): of the first touch or conversion.

    With `shown`, the rows up to the end of the first day the removal effects show now are
    searched first: on the touches' time index (BRIN) those are a few ranges of the table, where
    the minimum over all 5M touches is a scan of them. Only when no row is left there (the first
    ones restated away) is everything searched."""
    minimum = ("select (least((select min(occurred_at) from core.touchpoints {where}),"
               " (select min(occurred_at) from core.conversions {where})) at time zone %(zone)s)::date")
    before = None
    if shown:
        cur.execute("select min(period_start) from marts.markov_removal_effects")
        before = cur.fetchone()[0]
    values = {"zone": params.reporting_timezone, "before": before}
    if before is not None:
        # The end of that day in the reporting time zone: the start of the next.
        cur.execute(minimum.format(where="where occurred_at < ((%(before)s::date + 1)::timestamp at time zone %(zone)s)"),
                    values)
        day = cur.fetchone()[0]
        if day is not None:
            return day
    cur.execute(minimum.format(where=""), values)
    return cur.fetchone()[0]


def restate(cur, binds: dict, *, all_dates: bool) -> None:
    """The `markov` rows of the daily marts for markov_dates (or every day), from the path rows'
    sums (marts.markov_day_paths) and the fits as they are now, in one pass
    (sql/markov_daily_sums.sql, sql/markov_daily.sql)."""
    cur.execute("analyze markov_dates")
    values = {**binds, "all_dates": all_dates, "model": MODEL}
    cur.execute(SQL("markov_daily_sums"), values)
    cur.execute(SQL("markov_daily"), values)
