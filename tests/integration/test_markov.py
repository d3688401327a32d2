"""The data-driven `markov` model (docs/data_driven.md) on hand-computed journeys (real Postgres)."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone

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
