"""The data-driven `markov` model (docs/data_driven.md) on hand-computed journeys (real Postgres)."""

from __future__ import annotations

import csv
import gzip
import io
import random
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from marketing.attribution import run_attribution
from marketing.config import AttributionParams

from .attribution_fixtures import T0, add_conversion, add_touch, conversion_record, query, touch_record, weights
from .landing import Landing

pytestmark = pytest.mark.integration
UTC = timezone.utc
HOUR = timedelta(hours=1)


def journeys(db, *paths, converting=True, conversion_type="purchase", at=T0, revenue=100, prefix=None):
    """One person per path (channels in order, an hour apart, ending an hour before `at`); with
    `converting`, the person converts at `at`. Returns the persons' conversion ids."""
    ids = []
    prefix = prefix or ("c" if converting else "n") + conversion_type[:2]
    with db, db.cursor() as cur:
        for i, channels in enumerate(paths):
            person = f"u:{prefix}{i}"
            for k, channel in enumerate(channels):
                add_touch(cur, f"{prefix}{i}-t{k}", at - (len(channels) - k) * HOUR, person, channel)
            if converting:
                add_conversion(cur, f"{prefix}{i}", at, person, revenue, conversion_type)
                ids.append(f"{prefix}{i}")
    return ids


def effects(db, conversion_type="purchase"):
    """{period_start: {channel: (removal_effect, share, converting, null, P)}} of one type."""
    out = defaultdict(dict)
    for start, channel, effect, share, converting, nulls, p in query(
        db, "select period_start, channel, removal_effect, share, converting_journeys, null_journeys,"
            " conversion_probability from marts.markov_removal_effects where conversion_type = %s", (conversion_type,)):
        out[start][channel] = (effect, share, converting, nulls, p)
    return dict(out)


def only(fits):
    assert len(fits) == 1, fits
    return next(iter(fits.values()))


def test_the_three_journeys_of_the_spec_give_removal_effects_one_and_a_half(db):
    # A>B>A>B>B>A, A>B>B>A>A, A>A, all converting; merged: A>B>A>B>A, A>B>A, A.
    # (start)→A 3; A→B 3, A→(conversion) 3; B→A 3. From A: x_A = ½ + ½ x_B, x_B = x_A, so P = 1.
    # Without A nothing converts: RE(A) = 1. Without B: x_A = ½, RE(B) = ½.
    ids = journeys(db, "ABABBA", "ABBAA", "AA")
    run_attribution(db, AttributionParams())
    fit = only(effects(db))
    assert fit["A"][0] == pytest.approx(1, abs=1e-9)
    assert fit["B"][0] == pytest.approx(0.5, abs=1e-9)
    assert fit["A"][1] == pytest.approx(2 / 3) and fit["B"][1] == pytest.approx(1 / 3)
    assert fit["A"][2:] == (3, 0, pytest.approx(1.0))
    # Repeats count (rule 9): A>B>A>B>B>A holds three A and three B: Σ RE = 3·1 + 3·½ = 4.5.
    first = weights(db, ids[0])["markov"]
    for k, channel in enumerate("ABABBA"):
        assert first[f"{ids[0]}-t{k}"] == pytest.approx((1 if channel == "A" else 0.5) / 4.5, abs=1e-12)
    # A>B>B>A>A: three A, two B: Σ RE = 4; A>A: ½ each.
    second = weights(db, ids[1])["markov"]
    assert [second[f"{ids[1]}-t{k}"] for k in range(5)] == pytest.approx([0.25, 0.125, 0.125, 0.25, 0.25])
    assert list(weights(db, ids[2])["markov"].values()) == pytest.approx([0.5, 0.5])


def test_null_journeys_count_in_the_chain(db):
    # Converting: A>B. Not converting: B; A>B (persons without a conversion).
    # (start)→A 2, (start)→B 1; A→B 2; B→(conversion) 1, B→(null) 2.
    # x_B = 1/3, x_A = x_B = 1/3; P = 2/3·1/3 + 1/3·1/3 = 1/3.
    # Without A: (start)→A goes to (null): P = 1/3·1/3 = 1/9, RE(A) = 1 − (1/9)/(1/3) = 2/3.
    # Without B: nothing converts, RE(B) = 1. The touches: A gets (2/3)/(5/3) = 0.4, B 0.6.
    [converted] = journeys(db, "AB")
    journeys(db, "B", "AB", converting=False)
    run_attribution(db, AttributionParams())
    fit = only(effects(db))
    assert {c: e[0] for c, e in fit.items()} == pytest.approx({"A": 2 / 3, "B": 1.0}, abs=1e-9)
    assert fit["A"][2:] == (1, 2, pytest.approx(1 / 3, abs=1e-12))
    assert weights(db, converted)["markov"] == pytest.approx({f"{converted}-t0": 0.4, f"{converted}-t1": 0.6})


def test_touches_on_a_conversions_path_are_no_null_journey_but_the_rest_of_the_period_is(db):
    # One person: A, then (31 days later, beyond the lookback) B>C and a conversion: the A touch
    # is on no path, so the person has a null journey A; the path B>C converts.
    with db, db.cursor() as cur:
        add_touch(cur, "a", datetime(2025, 3, 1, 9, tzinfo=UTC), "u:p", "A")
        add_touch(cur, "b", datetime(2025, 4, 2, 9, tzinfo=UTC), "u:p", "B")
        add_touch(cur, "c", datetime(2025, 4, 2, 10, tzinfo=UTC), "u:p", "C")
        add_conversion(cur, "x", datetime(2025, 4, 2, 11, tzinfo=UTC), "u:p", 10)
    run_attribution(db, AttributionParams(markov_period="all"))
    assert query(db, "select channels from marts.markov_journeys") == [(["A"],)]
    fit = only(effects(db))
    assert fit["B"][2:4] == (1, 1)
    assert query(db, "select period_start from marts.markov_removal_effects limit 1") == [(date(2025, 3, 1),)]


def test_a_fit_with_no_converting_journey_has_no_effects_and_its_conversion_no_touch(db):
    # signups: one without any touch, and persons with touches but no signup.
    with db, db.cursor() as cur:
        add_conversion(cur, "s1", T0, "u:nobody", 0, "signup")
    journeys(db, "AB", converting=False, prefix="z")
    journeys(db, "AB")
    run_attribution(db, AttributionParams())
    assert effects(db, "signup") == {}
    assert query(db, "select count(*) from marts.markov_journeys where conversion_type = 'signup'") == [(2,)]
    assert query(db, "select channel, credit, touchpoint_event_id from marts.attribution_credits"
                     " where model = 'markov' and conversion_id = 's1'") == [("Unattributed", 1.0, None)]
    assert effects(db, "purchase")


def test_two_conversion_types_are_fitted_apart(db):
    # purchases: A converts, B does not; signups: B converts, A does not (other persons).
    journeys(db, "A", conversion_type="purchase")
    journeys(db, "B", converting=False, prefix="q")
    journeys(db, "B", conversion_type="signup")
    run_attribution(db, AttributionParams())
    purchase, signup = only(effects(db, "purchase")), only(effects(db, "signup"))
    # purchase: (start)→A 1 (converts); B appears in null journeys of purchase (the signup person's
    # B and the q person's B): (start)→B 2 → (null). P = 1/3; RE(A) = 1, RE(B) = 0.
    assert {c: e[0] for c, e in purchase.items()} == pytest.approx({"A": 1.0, "B": 0.0}, abs=1e-12)
    assert purchase["A"][2:4] == (1, 2)
    # signup: B converts once; null journeys: A (the purchase person's), B (q). P = 1/3;
    # RE(B) = 1, RE(A) = 0.
    assert {c: e[0] for c, e in signup.items()} == pytest.approx({"A": 0.0, "B": 1.0}, abs=1e-12)
    assert signup["B"][2:4] == (1, 2)


@pytest.mark.parametrize("period, before, after, starts", [
    # The last instant of a month and the first of the next: two fits.
    ("month", datetime(2025, 3, 31, 23, 59, 59, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC),
     [date(2025, 3, 1), date(2025, 4, 1)]),
    # A Sunday and the Monday after it: two weeks.
    ("week", datetime(2025, 3, 16, 23, 59, tzinfo=UTC), datetime(2025, 3, 17, 0, 1, tzinfo=UTC),
     [date(2025, 3, 10), date(2025, 3, 17)]),
    # One fit over all history, shown from the first day of the data (the first touch).
    ("all", datetime(2025, 3, 31, 23, 59, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC), [date(2025, 3, 31)]),
])
def test_periods_split_the_fits_at_their_boundaries(db, period, before, after, starts):
    journeys(db, "A", at=before, prefix="b")
    journeys(db, "B", at=after, prefix="f")
    # The touches are an hour before each conversion: for `all` the first is on Mar 31.
    run_attribution(db, AttributionParams(markov_period=period))
    fits = effects(db)
    assert sorted(fits) == starts
    if period != "all":
        assert set(fits[starts[0]]) == {"A"} and set(fits[starts[1]]) == {"B"}
    else:
        assert set(fits[starts[0]]) == {"A", "B"}


def test_a_null_journey_belongs_to_the_period_of_its_touches_in_the_reporting_time_zone(db):
    # 2025-03-31 23:30 UTC is April 1 in Berlin (UTC+2): the null journey is April's.
    journeys(db, "A", converting=False, at=datetime(2025, 4, 1, 0, 30, tzinfo=UTC), prefix="n")
    journeys(db, "A", at=datetime(2025, 4, 10, tzinfo=UTC))
    run_attribution(db, AttributionParams(reporting_timezone="Europe/Berlin"))
    assert query(db, "select period_start from marts.markov_journeys") == [(date(2025, 4, 1),)]


def test_changing_the_period_recomputes_all_history(db):
    journeys(db, "AB")
    run_attribution(db, AttributionParams())
    summary = run_attribution(db, AttributionParams(markov_period="week"))
    assert summary.mode == "full" and "params changed" in summary.reason
    assert sorted(effects(db)) == [date(2025, 3, 10)]  # the Monday of T0's week


def test_a_late_touch_without_conversion_refits_and_moves_the_credits_of_the_period(db):
    [converted] = journeys(db, "AB")
    run_attribution(db, AttributionParams())
    before = weights(db, converted)["markov"]
    assert before == pytest.approx({f"{converted}-t0": 0.5, f"{converted}-t1": 0.5})
    journeys(db, "B", converting=False)  # a person who saw B and did not convert
    summary = run_attribution(db, AttributionParams())
    assert summary.mode == "incremental" and summary.conversions_recomputed == 0
    # (start)→A 1, (start)→B 1; A→B 1; B→(conversion) 1, B→(null) 1. P = ½·½ + ½·½ = ½.
    # Without A: ¼, RE(A) = ½; without B: 0, RE(B) = 1. A: ½/1.5 = 1/3, B: 2/3.
    assert weights(db, converted)["markov"] == pytest.approx({f"{converted}-t0": 1 / 3, f"{converted}-t1": 2 / 3})
    [(conversions,)] = query(db, "select conversions from marts.channel_attribution_daily"
                                 " where model = 'markov' and channel = 'B'")
    assert conversions == pytest.approx(2 / 3)


def test_late_touches_splice_into_a_stored_journey_and_equal_a_full_rebuild(db):
    from .attribution_fixtures import assert_same_marts, marts

    journeys(db, "AB")
    with db, db.cursor() as cur:  # a person without conversion: A at T-5h, B at T-1h
        add_touch(cur, "n-a", T0 - 5 * HOUR, "u:n", "A")
        add_touch(cur, "n-b", T0 - HOUR, "u:n", "B")
    run_attribution(db, AttributionParams())
    assert query(db, "select channels from marts.markov_journeys") == [(["A", "B"],)]
    with db, db.cursor() as cur:  # late: C between them, A after them, B at B's instant (event id after)
        add_touch(cur, "n-c", T0 - 3 * HOUR, "u:n", "C")
        add_touch(cur, "n-d", T0 + HOUR, "u:n", "A")
        add_touch(cur, "n-bb", T0 - HOUR, "u:n", "B")
    assert run_attribution(db, AttributionParams()).mode == "incremental"
    [(channels, touched_at)] = query(db, "select channels, touched_at from marts.markov_journeys")
    assert channels == ["A", "C", "B", "B", "A"]
    assert touched_at == sorted(touched_at) and touched_at[0] == T0 - 5 * HOUR
    # (start)→A 2; A→B 1, A→C 1, C→B 1, B→A 1; B→(conversion) 1, A→(null) 1 (B, B merged).
    assert dict(((a, b), n) for a, b, n in query(
        db, "select from_state, to_state, journeys from marts.markov_transitions")) == {
        ("(start)", "A"): 2, ("A", "B"): 1, ("A", "C"): 1, ("C", "B"): 1, ("B", "A"): 1,
        ("B", "(conversion)"): 1, ("A", "(null)"): 1}
    incremental = marts(db)
    run_attribution(db, AttributionParams(), full_rebuild=True)
    assert_same_marts(incremental, marts(db))


@pytest.mark.parametrize("late", ["a conversion with no touch", "a touch repeating its journey's channel",
                                  "the first rows restated away"])
def test_period_all_shows_the_first_day_of_the_data_after_late_rows_that_change_no_journey(db, late):
    """Rule 12 (`all`: the first day of the data) after incremental loads (rule 13): a late row
    earlier than everything moves the first day without a refit, and so does losing the first rows."""
    from .attribution_fixtures import assert_same_marts, marts

    params = AttributionParams(markov_period="all")
    journeys(db, "AB")
    with db, db.cursor() as cur:
        add_touch(cur, "n-a", T0 - 2 * HOUR, "u:n", "A")  # a null journey: A
        if late == "the first rows restated away":
            add_conversion(cur, "early", T0 - timedelta(days=40), "u:z", 5)  # no touch: changes no fit
    run_attribution(db, params)
    first = T0.date() - timedelta(days=40) if late == "the first rows restated away" else T0.date()
    assert {start for (start,) in query(db, "select period_start from marts.markov_removal_effects")} == {first}
    with db, db.cursor() as cur:
        if late == "a conversion with no touch":
            add_conversion(cur, "early", T0 - timedelta(days=40), "u:z", 5)
        elif late == "a touch repeating its journey's channel":
            add_touch(cur, "n-a0", T0 - timedelta(days=40), "u:n", "A")  # A, A: the same transitions
        else:
            cur.execute("delete from core.conversions where conversion_id = 'early'")
            cur.execute("insert into ops.attribution_queue (kind, key, file_id) values ('conversion', 'early', 1)")
    summary = run_attribution(db, params)
    assert summary.mode == "incremental"
    moved = T0.date() if late == "the first rows restated away" else T0.date() - timedelta(days=40)
    assert {start for (start,) in query(db, "select period_start from marts.markov_removal_effects")} == {moved}
    incremental = marts(db)
    run_attribution(db, params, full_rebuild=True)
    assert_same_marts(incremental, marts(db))


# ---- the cross-check: an independent exact solve in numpy ------------------------------------

CHANNELS = ["Paid Search", "Email", "Organic Search", "Referral", "Direct"]


def generated_journeys(seed: int, persons: int = 300):
    """Persons with a few touches (an hour apart) and, for some, a purchase after the last."""
    rng = random.Random(seed)
    out = []
    for i in range(persons):
        start = datetime(2025, 3, 1, tzinfo=UTC) + timedelta(hours=rng.randrange(24 * 20))
        channels = [rng.choice(CHANNELS) for _ in range(rng.randint(1, 6))]
        converts = rng.random() < 0.4
        out.append((f"user{i}", start, channels, converts))
    return out


def numpy_removal_effects(data):
    """Removal effects of the first-order chain of `data`, solved through the fundamental matrix."""
    counts = Counter()
    for _, _, channels, converts in data:
        merged = [c for k, c in enumerate(channels) if k == 0 or channels[k - 1] != c]
        states = ["(start)", *merged, "(conversion)" if converts else "(null)"]
        counts.update(zip(states, states[1:]))
    transient = ["(start)", *sorted({c for _, _, channels, _ in data for c in channels})]
    where = {s: i for i, s in enumerate(transient)}

    def p(removed=None):
        q = np.zeros((len(transient), len(transient)))
        r = np.zeros(len(transient))
        for (a, b), n in counts.items():
            if b == "(conversion)":
                r[where[a]] += n
            elif b != "(null)" and b != removed:
                q[where[a], where[b]] += n
        totals = np.array([sum(n for (a, _), n in counts.items() if a == s) for s in transient], dtype=float)
        q, r = q / totals[:, None], r / totals
        fundamental = np.linalg.inv(np.eye(len(transient)) - q)
        return (fundamental @ r)[0]

    base = p()
    return {c: min(1.0, max(0.0, 1 - p(c) / base)) for c in transient[1:]}, base


def test_removal_effects_equal_an_independent_numpy_solve_of_generated_journeys(db, tmp_path):
    data = generated_journeys(31)
    touches, conversions = [], []
    for user, start, channels, converts in data:
        for k, channel in enumerate(channels):
            touches.append(touch_record(f"{user}-t{k}", start + k * HOUR, channel, user_id=user))
        if converts:
            conversions.append(conversion_record(f"{user}-c", start + len(channels) * HOUR, user_id=user, revenue=10))
    landing = Landing(tmp_path)
    # In two files each, shuffled: the order of the rows changes nothing.
    random.Random(32).shuffle(touches)
    landing.write("touchpoints", date(2025, 3, 1), "a", touches[: len(touches) // 2])
    landing.write("touchpoints", date(2025, 3, 2), "b", touches[len(touches) // 2:])
    landing.write("conversions", date(2025, 3, 1), "a", conversions)
    landing.load(db)
    run_attribution(db, AttributionParams(markov_period="all"))
    expected, p = numpy_removal_effects(data)
    rows = query(db, "select channel, removal_effect, conversion_probability, converting_journeys, null_journeys"
                     " from marts.markov_removal_effects")
    assert {c: e for c, e, *_ in rows} == pytest.approx(expected, abs=1e-9)
    assert {round(pr, 12) for _, _, pr, _, _ in rows} == {round(p, 12)}
    assert {(n, m) for *_, n, m in rows} == {(sum(1 for d in data if d[3]), sum(1 for d in data if not d[3]))}
    # Each conversion's markov credits sum to 1, and the channel totals to the conversions.
    [(bad,)] = query(db, "select count(*) from (select conversion_id from marts.attribution_credits"
                         " where model = 'markov' group by 1 having abs(sum(credit) - 1) > 1e-9) x")
    assert bad == 0


def test_a_channel_first_seen_in_an_incremental_run_gets_its_key_and_equals_a_full_rebuild(db):
    from .attribution_fixtures import assert_same_marts, marts

    journeys(db, "AB", "B")
    run_attribution(db, AttributionParams())
    journeys(db, "CAC", "C", prefix="new")  # channel C appears for the first time
    journeys(db, "C", converting=False, prefix="z")
    assert run_attribution(db, AttributionParams()).mode == "incremental"
    assert query(db, "select count(*) from marts.attribution_paths where touchpoint_event_id is not null"
                     " and markov_key is null") == [(0,)]
    incremental = marts(db)
    assert {c for c, in query(db, "select channel from marts.markov_removal_effects")} == {"A", "B", "C"}
    run_attribution(db, AttributionParams(), full_rebuild=True)
    assert_same_marts(incremental, marts(db))


def test_a_conversion_type_that_comes_and_goes_in_incremental_runs_equals_a_full_rebuild(db):
    from .attribution_fixtures import assert_same_marts, marts

    journeys(db, "AB", "BA")
    journeys(db, "A", "B", converting=False)
    run_attribution(db, AttributionParams())
    # The first signup: every person's touches make the signup fit's null journeys.
    [signup] = journeys(db, "BB", conversion_type="signup")
    assert run_attribution(db, AttributionParams()).mode == "incremental"
    came = marts(db)
    assert only(effects(db, "signup"))["B"][2:4] == (1, 4)  # the four other persons: null journeys
    run_attribution(db, AttributionParams(), full_rebuild=True)
    assert_same_marts(came, marts(db))
    # The signup leaves core (a restated file without it): its fits go.
    with db, db.cursor() as cur:
        cur.execute("delete from core.conversions where conversion_id = %s", (signup,))
        cur.execute("insert into ops.attribution_queue (kind, key, file_id) values ('conversion', %s, 1)", (signup,))
    assert run_attribution(db, AttributionParams()).mode == "incremental"
    went = marts(db)
    assert effects(db, "signup") == {}
    assert query(db, "select count(*) from marts.markov_journeys where conversion_type = 'signup'") == [(0,)]
    run_attribution(db, AttributionParams(), full_rebuild=True)
    assert_same_marts(went, marts(db))


# ---- the path rows' sums the `markov` rows of the daily marts are restated from --------------

DAY_PATHS = ("select conversion_date, conversion_type, period_start, path_key, channel, campaign, path_rows, revenue"
             " from marts.markov_day_paths order by 1, 2, 3, 4 nulls first, 5, 6 nulls first")
FRESH_DAY_PATHS = (
    "select conversion_date, conversion_type, markov_period, markov_key, channel, campaign, count(*), sum(revenue)"
    " from marts.attribution_paths where touchpoint_event_id is null or markov_key is not null"
    " group by 1, 2, 3, 4, 5, 6 order by 1, 2, 3, 4 nulls first, 5, 6 nulls first"
)
# The `markov` credit of each path row (sql/models/markov.sql), summed as the marts sum it.
ROW_CREDITS = (
    "with rows as (select p.*, case when p.touchpoint_event_id is null then 1.0::double precision"
    "  else nullif(c.credit, 0) end as credit"
    " from marts.attribution_paths p left join marts.markov_credits c on c.conversion_type = p.conversion_type"
    "  and c.period_start = p.markov_period and c.path_key = p.markov_key and c.channel = p.channel) "
)
DIRECT_CHANNEL_DAILY = ROW_CREDITS + (
    "select conversion_date, channel, conversion_type, sum(credit), sum(marts.revenue_credit(revenue, credit)),"
    " count(credit) from rows group by 1, 2, 3 having count(credit) > 0 order by 1, 2, 3"
)
DIRECT_ROAS_DAILY = ROW_CREDITS + (
    "select conversion_date, channel, nullif(campaign, ''), sum(credit), sum(marts.revenue_credit(revenue, credit)),"
    " count(credit) from rows where conversion_type = 'purchase'"
    " group by 1, 2, 3 having count(credit) > 0 order by 1, 2, 3 nulls first"
)
MARKOV_CHANNEL_DAILY = ("select date, channel, conversion_type, conversions, revenue, credit_rows"
                        " from marts.channel_attribution_daily where model = 'markov' order by 1, 2, 3")
MARKOV_ROAS_DAILY = ("select date, channel, campaign, attributed_conversions, attributed_revenue, credit_rows"
                     " from marts.roas_daily where model = 'markov' and credit_rows > 0 order by 1, 2, 3 nulls first")


def assert_day_paths_and_markov_marts_are_fresh(db):
    """marts.markov_day_paths equals a fresh aggregation of the path rows, and the `markov` rows
    of the daily marts equal the path rows × their credits: revenue to the last digit, every
    credit_rows, conversions to rounding."""
    assert query(db, DAY_PATHS) == query(db, FRESH_DAY_PATHS)
    for got, want in ((MARKOV_CHANNEL_DAILY, DIRECT_CHANNEL_DAILY), (MARKOV_ROAS_DAILY, DIRECT_ROAS_DAILY)):
        got, want = query(db, got), query(db, want)
        assert [(*r[:3], r[4], r[5]) for r in got] == [(*r[:3], r[4], r[5]) for r in want]
        assert [r[3] for r in got] == pytest.approx([r[3] for r in want], abs=1e-9)


def test_the_day_paths_follow_incremental_loads_and_the_markov_marts_equal_path_rows_times_credits(db, tmp_path):
    from .attribution_fixtures import assert_same_marts, marts

    rng = random.Random(7)
    landing = Landing(tmp_path)
    day = date(2025, 3, 10)
    touches, orders = [], []
    for i in range(60):
        start = datetime(2025, 3, 3, tzinfo=UTC) + timedelta(hours=rng.randrange(24 * 6))
        channels = [rng.choice(CHANNELS[:4]) for _ in range(rng.randint(1, 3))]
        for k, channel in enumerate(channels):
            touches.append(touch_record(f"u{i}-t{k}", start + k * HOUR, channel, user_id=f"u{i}",
                                        campaign=rng.choice([None, "spring", "brand"])))
        if rng.random() < 0.6:  # the same day for many: groups of several path rows
            orders.append(conversion_record(f"o{i}", datetime(2025, 3, 9 + i % 2, 20, tzinfo=UTC), user_id=f"u{i}",
                                            revenue=round(rng.uniform(5, 90), 2)))
    orders.append(conversion_record("walk-in", T0, user_id="nobody", revenue=12.34))  # no touch: credit 1
    landing.write("touchpoints", day, "visits", touches)
    landing.write("conversions", day, "orders", orders)
    landing.write("touchpoints", day, "anon", [touch_record("dev-visit", T0 - 30 * HOUR, "Email", anonymous_id="dev")])
    landing.load(db)
    assert run_attribution(db, AttributionParams()).mode == "full"
    assert query(db, "select count(*) from marts.markov_day_paths where path_rows > 1") != [(0,)]
    assert_day_paths_and_markov_marts_are_fresh(db)

    # A late touch on a converted person's path, and a person who only browsed.
    landing.write("touchpoints", day, "late", [
        touch_record("late", datetime(2025, 3, 8, tzinfo=UTC), "Referral", user_id="u0", campaign="spring"),
        touch_record("browser", datetime(2025, 3, 8, tzinfo=UTC), "Direct", user_id="browser"),
    ])
    landing.load(db)
    assert run_attribution(db, AttributionParams()).mode == "incremental"
    assert_day_paths_and_markov_marts_are_fresh(db)

    # The orders file restated: a revenue changed, an order gone.
    kept = [dict(o, revenue=o["revenue"] + 1.01) if o["conversion_id"] == orders[0]["conversion_id"] else o
            for o in orders[2:]] + [orders[0]]
    landing.write("conversions", day, "orders", kept)
    landing.load(db)
    assert run_attribution(db, AttributionParams()).mode == "incremental"
    assert_day_paths_and_markov_marts_are_fresh(db)

    # A login re-keys the device: its earlier visit joins the person's paths, and it converts.
    landing.write("touchpoints", day, "login", [
        touch_record("dev-login", T0 - 20 * HOUR, "Direct", anonymous_id="dev", user_id="u1"),
    ])
    landing.write("conversions", day, "more", [conversion_record("dev-order", T0, user_id="u1", revenue=7.5)])
    landing.load(db)
    assert run_attribution(db, AttributionParams()).mode == "incremental"
    assert_day_paths_and_markov_marts_are_fresh(db)

    incremental, day_paths = marts(db), query(db, DAY_PATHS)
    run_attribution(db, AttributionParams(), full_rebuild=True)
    assert query(db, DAY_PATHS) == day_paths
    assert_same_marts(incremental, marts(db))


# ---- ChannelAttribution's sample journeys against DP6 MAM's exact solution ---------------------
#
# tests/data/channelattribution_data.csv.gz is ChannelAttribution's Data.csv (GPL-3, verbatim,
# gzip-compressed; tests/data/LICENSE.ChannelAttribution): 10,000 rows `path;total_conversions;
# total_conversion_value;total_null`, 12 channels, 19,785 conversions and 68,602 null paths.
# The expected figures are computed here as DP6's Marketing Attribution Models computes them
# (package marketing_attribution_models, Apache-2.0; not a dependency, the formulas are written
# out below with the lines they follow):
# - MAM 2.1.1, mam/models/markov.py: the transition counts with (inicio) first and (null),
#   (conversion) last, transitions to the same state dropped (l. 15-83, l. 46-49); rows
#   normalised, N = (I - Q)^-1, P = (N R)[0, conversion] (l. 85-97); removal: the column of the
#   channel is added to (null) and zeroed, RE = 1 - P_-c / P (l. 99-126); attribution: each
#   journey's touches (repeats count) weigh RE/ΣRE normalised over the journey, times the
#   journey's conversions (l. 140-174; get_aggregated_results sums them per channel).
# - MAM 1.0.10, marketing_attribution_models/MAM.py, attribution_markov: the same solve
#   (l. 1250-1279, l. 1326-1327) and the same per-journey weights (l. 1354-1357); its per-channel
#   table (`group_by_channels_models`, l. 1366-1378) is instead share × total conversions, the
#   figure ChannelAttribution reports.
# Rule 9 spreads each conversion over its touches by RE, as MAM's per-journey weights do, so the
# `markov` conversions per channel are compared with MAM's per-journey attribution summed per
# channel; share × conversions (the other figure) is compared with the `share` column (rule 12).

CA_DATA = Path(__file__).resolve().parents[1] / "data" / "channelattribution_data.csv.gz"


# ChannelAttribution simulates the chain. It publishes no figures for Data.csv (its README only
# plots a run without the null paths), so these are from running ChannelAttribution 2.2.5 (Python):
# markov_model(Data, "path", "total_conversions", var_value="total_conversion_value",
# var_null="total_null", order=1, out_more=True, seed=0), other options at their defaults
# (nsim_start 1e5): {channel: (removal_effects_conversion, its standard deviation over seeds 0-29,
# total_conversions, its standard deviation over seeds 0-29)}.
CHANNELATTRIBUTION_SEED_0 = {
    "alpha": (0.558723, 0.007304, 5357.33, 46.30),
    "beta": (0.265957, 0.006134, 2550.14, 38.26),
    "delta": (0.000851, 0.000360, 8.16, 3.47),
    "epsilon": (0.065106, 0.002862, 624.27, 24.21),
    "eta": (0.348936, 0.003302, 3345.78, 38.43),
    "gamma": (0.017021, 0.001512, 163.21, 13.99),
    "iota": (0.395745, 0.005156, 3794.61, 60.47),
    "kappa": (0.032340, 0.002588, 310.10, 23.58),
    "lambda": (0.136170, 0.004647, 1305.67, 41.21),
    "mi": (0.000426, 0.000215, 4.08, 2.07),
    "theta": (0.205957, 0.003747, 1974.83, 32.32),
    "zeta": (0.036170, 0.002164, 346.82, 20.62),
}


def channelattribution_journeys():
    """[(channels, conversions, value, nulls)] of Data.csv, in file order."""
    with gzip.open(CA_DATA, "rt") as f:
        reader = csv.reader(f, delimiter=";")
        assert next(reader) == ["path", "total_conversions", "total_conversion_value", "total_null"]
        return [(path.split(" > "), int(conv), Decimal(value), int(nulls)) for path, conv, value, nulls in reader]


def load_journeys_into_core(db, data, first_day=date(2025, 3, 1)):
    """Each row's `conversions` converting persons and `nulls` non-converting persons, each with the
    path's touches an hour apart; a converting person converts an hour after the last touch (the
    conversions spread over 28 days). Written straight into core (COPY): the first run is full.
    Each conversion's revenue is the row's value over its conversions, to the cent.
    Returns each row's revenue (the sum over its conversions), in file order."""
    touches, conversions, revenues = io.StringIO(), io.StringIO(), []
    person = 0
    for row, (channels, converting, value, nulls) in enumerate(data):
        revenue = (value / converting).quantize(Decimal("0.01")) if converting else Decimal(0)
        revenues.append(revenue * converting)
        for j in range(converting + nulls):
            person += 1
            end = datetime.combine(first_day + timedelta(days=person % 28), datetime.min.time(), UTC) + 12 * HOUR
            for k, channel in enumerate(channels):
                at = end - (len(channels) - k) * HOUR
                touches.write(f"t{person}-{k}\t{at.isoformat()}\tu:ca{person}\t{channel}\t{row + 1}\t{k + 1}\n")
            if j < converting:
                conversions.write(f"c{person}\t{end.isoformat()}\tu:ca{person}\tpurchase\t{revenue}\t{revenue}\tUSD\t1"
                                  f"\t{row + 1}\t1\n")
    touches.seek(0)
    conversions.seek(0)
    with db, db.cursor() as cur:
        cur.copy_expert("copy core.touchpoints (event_id, occurred_at, person_key, channel, file_id, line_number)"
                        " from stdin", touches)
        cur.copy_expert("copy core.conversions (conversion_id, occurred_at, person_key, conversion_type, revenue,"
                        " revenue_original, currency, fx_rate, file_id, line_number) from stdin", conversions)
    return revenues


def mam_removal_effects(data):
    """(P, {channel: RE}) as DP6 MAM solves the first-order chain (see above)."""
    counts = Counter()
    for channels, converting, _, nulls in data:
        states = ["(inicio)", *channels]
        for end, n in (("(conversion)", converting), ("(null)", nulls)):
            if n:
                for pair in zip(states, [*states[1:], end]):
                    if pair[0] != pair[1]:
                        counts[pair] += n
    names = ["(inicio)", *sorted({s for pair in counts for s in pair} - {"(inicio)", "(null)", "(conversion)"}),
             "(null)", "(conversion)"]
    index = {name: i for i, name in enumerate(names)}
    matrix = np.zeros((len(names), len(names)))
    for (a, b), n in counts.items():
        matrix[index[a], index[b]] += n
    matrix[-2, -2] = matrix[-1, -1] = 1.0

    def total_conversion(m):
        sums = m.sum(axis=1, keepdims=True)
        m = m / np.where(sums == 0, 1.0, sums)
        q, r = m[:-2, :-2], m[:-2, -2:]
        return (np.linalg.inv(np.identity(len(q)) - q) @ r)[0, 1]

    p = total_conversion(matrix)
    effects = {}
    for column in range(1, len(names) - 2):
        removed = matrix.copy()
        removed[:, -2] += removed[:, column]
        removed[:, column] = 0.0
        effects[names[column]] = 1.0 - total_conversion(removed) / p
    return p, effects


def mam_attribution(data, effects, revenues):
    """MAM's per-journey Markov attribution summed per channel: ({channel: conversions},
    {channel: conversion value}). A journey's touches weigh RE/ΣRE (repeats count), normalised
    over the journey; `revenues[i]` is the revenue of row i's conversions."""
    total = sum(effects.values())
    weight = {c: e / total for c, e in effects.items()}
    conversions, value = defaultdict(float), defaultdict(float)
    for i, (channels, converting, _, _) in enumerate(data):
        if not converting:
            continue
        journey = sum(weight[c] for c in channels)
        for c in channels:
            conversions[c] += converting * weight[c] / journey
            value[c] += float(revenues[i]) * weight[c] / journey
    return dict(conversions), dict(value)


def test_channelattribution_sample_journeys_give_mams_exact_removal_effects_and_attribution(db):
    data = channelattribution_journeys()
    assert len(data) == 10_000
    conversions = sum(d[1] for d in data)
    nulls = sum(d[3] for d in data)
    assert (conversions, nulls) == (19_785, 68_602)
    revenues = load_journeys_into_core(db, data)
    summary = run_attribution(db, AttributionParams(markov_period="all"))
    assert summary.mode == "full"

    p, expected = mam_removal_effects(data)
    rows = query(db, "select period_start, channel, removal_effect, share, converting_journeys, null_journeys,"
                     " conversion_probability from marts.markov_removal_effects")
    # One fit over all history, shown from the first day of the data (the first touch, in UTC).
    [(first_day,)] = query(db, "select min((occurred_at at time zone 'UTC')::date) from core.touchpoints")
    assert {r[0] for r in rows} == {first_day}
    got = {channel: effect for _, channel, effect, *_ in rows}
    assert sorted(got) == sorted(expected) and len(got) == 12
    for channel in expected:
        assert got[channel] == pytest.approx(expected[channel], abs=1e-9), channel
    assert {(n, m) for *_, n, m, _ in rows} == {(conversions, nulls)}
    assert all(r[6] == pytest.approx(p, abs=1e-12) for r in rows)

    # share × conversions: MAM 1.0.10's per-channel table (and ChannelAttribution's figure).
    total_effect = sum(expected.values())
    for _, channel, _, share, *_ in rows:
        assert share * conversions == pytest.approx(expected[channel] / total_effect * conversions, abs=1e-6)

    # ChannelAttribution's simulation: each removal effect and each share × conversions lies within
    # three of its run-to-run standard deviations (seed 0 is off by at most two of them: iota).
    assert sorted(CHANNELATTRIBUTION_SEED_0) == sorted(got)
    for _, channel, effect, share, *_ in rows:
        ca_effect, effect_sd, ca_conversions, conversions_sd = CHANNELATTRIBUTION_SEED_0[channel]
        assert abs(effect - ca_effect) <= 3 * effect_sd, channel
        assert abs(share * conversions - ca_conversions) <= 3 * conversions_sd, channel

    # The `markov` conversions (and revenue) per channel: MAM's per-journey attribution summed
    # per channel.
    want_conversions, want_revenue = mam_attribution(data, expected, revenues)
    daily = {channel: (n, r) for channel, n, r in query(
        db, "select channel, sum(conversions), sum(revenue) from marts.channel_attribution_daily"
            " where model = 'markov' group by channel")}
    assert sorted(daily) == sorted(want_conversions)
    for channel, (n, r) in daily.items():
        assert n == pytest.approx(want_conversions[channel], abs=1e-6), channel
        assert float(r) == pytest.approx(want_revenue[channel], abs=1e-4), channel
    assert sum(n for n, _ in daily.values()) == pytest.approx(conversions, abs=1e-6)
    # The two figures differ on these journeys (so the comparison above is the one rule 9 makes):
    # spread per journey, alpha gets ~8,285 conversions; by share, ~5,345.
    assert want_conversions["alpha"] == pytest.approx(8285.48, abs=0.01)
    assert expected["alpha"] / total_effect * conversions == pytest.approx(5344.95, abs=0.01)
