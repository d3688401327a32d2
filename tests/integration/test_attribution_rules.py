"""Every rule of docs/attribution.md on small, hand-computed paths (real Postgres)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from marketing.attribution import run_attribution
from marketing.config import AttributionParams

from .attribution_fixtures import (
    DAY,
    MODELS,
    T0,
    add_conversion,
    add_touch,
    conversion_record,
    credits,
    query,
    touch_record,
    weights,
)
from .landing import Landing

pytestmark = pytest.mark.integration
US = timedelta(microseconds=1)


def attribute(db, **params):
    return run_attribution(db, AttributionParams(**params))


def insert(db, *, touches=(), conversions=()):
    """Core rows in one transaction: touches as (event_id, at, channel[, person]), conversions as dicts."""
    with db, db.cursor() as cur:
        for event_id, at, channel, *person in touches:
            add_touch(cur, event_id, at, person[0] if person else "u:alice", channel)
        for c in conversions:
            add_conversion(cur, **c)


def assert_credits(actual: dict, expected: dict) -> None:
    """Same touches credited, credits equal within 1e-12."""
    assert actual.keys() == expected.keys()
    for event_id, credit in expected.items():
        assert actual[event_id] == pytest.approx(credit, abs=1e-12), event_id


# ---- the hand-computed four-touch path -------------------------------------------------------

FOUR_TOUCHES = [
    ("t1", T0 - 10 * DAY, "Email"),           # age 10 days
    ("t2", T0 - 7 * DAY, "Paid Search"),      # age  7 days
    ("t3", T0 - 3 * DAY, "Organic Search"),   # age  3 days: the last touch that is not direct
    ("t4", T0 - 1 * DAY, "Direct"),           # age  1 day
]


@pytest.fixture
def four_touch_path(db):
    insert(db, touches=FOUR_TOUCHES, conversions=[dict(conversion_id="c1", occurred_at=T0, revenue=100)])
    attribute(db)
    return weights(db, "c1")


def test_first_touch_gives_all_credit_to_the_first_touch(four_touch_path):
    assert four_touch_path["first_touch"] == {"t1": 1.0}


def test_last_touch_gives_all_credit_to_the_last_touch(four_touch_path):
    assert four_touch_path["last_touch"] == {"t4": 1.0}


def test_last_non_direct_gives_all_credit_to_the_last_touch_that_is_not_direct(four_touch_path):
    assert four_touch_path["last_non_direct"] == {"t3": 1.0}


def test_linear_splits_credit_equally(four_touch_path):
    # n = 4: 1/4 each
    assert_credits(four_touch_path["linear"], {"t1": 0.25, "t2": 0.25, "t3": 0.25, "t4": 0.25})


def test_position_based_gives_first_and_last_their_weights_and_splits_the_middle(four_touch_path):
    # (0.4, 0.2, 0.4), n = 4: first 0.4, last 0.4, each of the 2 middle touches 0.2 / 2 = 0.1
    assert_credits(four_touch_path["position_based"], {"t1": 0.4, "t2": 0.1, "t3": 0.1, "t4": 0.4})


def test_time_decay_halves_the_weight_every_half_life(four_touch_path):
    # H = 7 days; r_i = 2^(-age/7):
    #   t1: 2^(-10/7) = 0.371498572   t2: 2^(-7/7) = 0.5
    #   t3: 2^(-3/7)  = 0.742997145   t4: 2^(-1/7) = 0.905723664
    #   Σr = 2.520219381 → w = 0.147407236, 0.198395427, 0.294814471, 0.359382866
    # (t1 is exactly one half-life older than t3, so w1 = w3 / 2.)
    r = {"t1": 2 ** (-10 / 7), "t2": 2 ** (-7 / 7), "t3": 2 ** (-3 / 7), "t4": 2 ** (-1 / 7)}
    total = sum(r.values())
    assert_credits(four_touch_path["time_decay"], {k: v / total for k, v in r.items()})
    assert four_touch_path["time_decay"]["t1"] == pytest.approx(four_touch_path["time_decay"]["t3"] / 2, abs=1e-12)
    assert four_touch_path["time_decay"]["t4"] == pytest.approx(0.359382866, abs=1e-9)


def test_revenue_credit_is_credit_times_revenue_and_rows_carry_the_touch(db, four_touch_path):
    rows = query(
        db,
        "select touchpoint_event_id, channel, touch_position, credit, revenue_credit, revenue, conversion_date,"
        " touch_occurred_at, conversion_occurred_at, conversion_type"
        " from marts.attribution_credits where model = 'position_based' order by touch_position",
    )
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("t1", "Email", 1), ("t2", "Paid Search", 2), ("t3", "Organic Search", 3), ("t4", "Direct", 4)
    ]
    # 100 × (0.4, 0.1, 0.1, 0.4)
    assert [round(r[4], 9) for r in rows] == [Decimal("40"), Decimal("10"), Decimal("10"), Decimal("40")]
    assert {(r[5], r[6], r[8], r[9]) for r in rows} == {(Decimal("100"), date(2025, 3, 10), T0, "purchase")}
    assert [r[7] for r in rows] == [T0 - 10 * DAY, T0 - 7 * DAY, T0 - 3 * DAY, T0 - DAY]


def test_time_decay_uses_continuous_time(db):
    # H = 1 day; ages 2 days, 1 day, 12 hours and 0: r = 1/4, 1/2, 2^(-1/2) = 0.707106781, 1
    # Σr = 2.457106781 → w = 0.101745680, 0.203491360, 0.287780241, 0.406982720
    insert(db, touches=[("a", T0 - 2 * DAY, "Email"), ("b", T0 - DAY, "Email"),
                        ("c", T0 - DAY / 2, "Email"), ("d", T0, "Email")],
           conversions=[dict(conversion_id="c1", occurred_at=T0)])
    attribute(db, half_life_days=1)
    r = {"a": 0.25, "b": 0.5, "c": 2 ** -0.5, "d": 1.0}
    assert_credits(weights(db, "c1")["time_decay"], {k: v / sum(r.values()) for k, v in r.items()})
    assert weights(db, "c1")["time_decay"]["c"] == pytest.approx(0.287780241, abs=1e-9)


def test_time_decay_with_a_tiny_half_life_gives_the_last_touch_everything_without_dividing_by_zero(db):
    # H = 1 second: 2^(-86400 * 30) underflows to 0 for the old touch, the last one keeps 1.
    insert(db, touches=[("old", T0 - 30 * DAY, "Email"), ("new", T0 - DAY, "Paid Search")],
           conversions=[dict(conversion_id="c1", occurred_at=T0)])
    attribute(db, half_life_days=1 / 86400)
    assert weights(db, "c1")["time_decay"] == {"new": 1.0}


# ---- special paths ---------------------------------------------------------------------------

def test_conversion_without_eligible_touch_gets_one_unattributed_row_per_model(db):
    insert(db, conversions=[dict(conversion_id="c1", occurred_at=T0, revenue=80)])
    attribute(db)
    rows = query(
        db,
        "select model, touchpoint_event_id, channel, campaign, touch_occurred_at, touch_position, credit,"
        " revenue_credit from marts.attribution_credits where conversion_id = 'c1' order by model",
    )
    assert rows == [(m, None, "Unattributed", None, None, None, 1.0, Decimal("80")) for m in sorted(MODELS)]


def test_unattributed_label_is_configurable(db):
    insert(db, conversions=[dict(conversion_id="c1", occurred_at=T0)])
    attribute(db, unattributed_label="Direct")
    assert {row[1] for rows in credits(db, "c1").values() for row in rows} == {"Direct"}


def test_single_touch_gets_the_same_row_in_every_model(db):
    insert(db, touches=[("t1", T0 - DAY, "Email")], conversions=[dict(conversion_id="c1", occurred_at=T0, revenue=30)])
    attribute(db)
    assert credits(db, "c1") == {m: [("t1", "Email", 1.0)] for m in MODELS}


def test_two_touches_split_half_and_half_in_position_based(db):
    # n = 2 with (0.4, 0.2, 0.4): first 0.4 + 0.2/2 = 0.5, last 0.4 + 0.2/2 = 0.5
    insert(db, touches=[("t1", T0 - 2 * DAY, "Email"), ("t2", T0 - DAY, "Paid Search")],
           conversions=[dict(conversion_id="c1", occurred_at=T0)])
    attribute(db)
    got = weights(db, "c1")
    assert_credits(got["position_based"], {"t1": 0.5, "t2": 0.5})
    assert_credits(got["linear"], {"t1": 0.5, "t2": 0.5})


def test_two_touches_with_uneven_position_weights(db):
    # n = 2 with (0.6, 0.3, 0.1): first 0.6 + 0.15 = 0.75, last 0.1 + 0.15 = 0.25
    insert(db, touches=[("t1", T0 - 2 * DAY, "Email"), ("t2", T0 - DAY, "Paid Search")],
           conversions=[dict(conversion_id="c1", occurred_at=T0)])
    attribute(db, position_weights=(0.6, 0.3, 0.1))
    assert_credits(weights(db, "c1")["position_based"], {"t1": 0.75, "t2": 0.25})


def test_all_direct_path_gives_last_non_direct_to_the_last_touch(db):
    insert(db, touches=[("t1", T0 - 2 * DAY, "Direct"), ("t2", T0 - DAY, "Direct")],
           conversions=[dict(conversion_id="c1", occurred_at=T0)])
    attribute(db)
    assert weights(db, "c1")["last_non_direct"] == {"t2": 1.0}


def test_direct_channels_are_configurable(db):
    insert(db, touches=[("t1", T0 - 2 * DAY, "Email"), ("t2", T0 - DAY, "Referral"), ("t3", T0 - DAY / 2, "Direct")],
           conversions=[dict(conversion_id="c1", occurred_at=T0)])
    attribute(db, direct_channels=("Direct", "Referral"))
    assert weights(db, "c1")["last_non_direct"] == {"t1": 1.0}


def test_tied_timestamps_are_ordered_by_event_id_and_split_time_decay_equally(db):
    # Inserted in reverse order: "e-a" < "e-b" decides, not the load order.
    insert(db, touches=[("e-b", T0 - DAY, "Paid Search"), ("e-a", T0 - DAY, "Email")],
           conversions=[dict(conversion_id="c1", occurred_at=T0)])
    attribute(db)
    got = weights(db, "c1")
    assert got["first_touch"] == {"e-a": 1.0}
    assert got["last_touch"] == {"e-b": 1.0}
    assert_credits(got["time_decay"], {"e-a": 0.5, "e-b": 0.5})
    rows = query(db, "select touchpoint_event_id, touch_position from marts.attribution_credits"
                     " where model = 'linear' order by touch_position")
    assert rows == [("e-a", 1), ("e-b", 2)]


# ---- the lookback window ---------------------------------------------------------------------

def test_touches_exactly_at_the_conversion_and_exactly_at_the_lookback_edge_count(db):
    insert(db, touches=[("edge", T0 - 30 * DAY, "Email"), ("same", T0, "Paid Search")],
           conversions=[dict(conversion_id="c1", occurred_at=T0)])
    attribute(db)
    assert weights(db, "c1")["first_touch"] == {"edge": 1.0}
    assert weights(db, "c1")["last_touch"] == {"same": 1.0}


def test_touch_one_microsecond_before_the_lookback_window_does_not_count(db):
    insert(db, touches=[("early", T0 - 30 * DAY - US, "Email"), ("t1", T0 - DAY, "Paid Search")],
           conversions=[dict(conversion_id="c1", occurred_at=T0)])
    attribute(db)
    assert weights(db, "c1")["first_touch"] == {"t1": 1.0}


def test_touch_after_the_conversion_never_counts(db):
    insert(db, touches=[("after", T0 + US, "Email")], conversions=[dict(conversion_id="c1", occurred_at=T0)])
    attribute(db)
    assert weights(db, "c1")["linear"] == {None: 1.0}


def test_lookback_is_configurable(db):
    insert(db, touches=[("t1", T0 - 8 * DAY, "Email"), ("t2", T0 - 6 * DAY, "Paid Search")],
           conversions=[dict(conversion_id="c1", occurred_at=T0)])
    attribute(db, lookback_days=7)
    assert weights(db, "c1")["linear"] == {"t2": 1.0}


def test_touches_of_other_persons_never_count(db):
    insert(db, touches=[("mine", T0 - 2 * DAY, "Email", "u:alice"), ("theirs", T0 - DAY, "Paid Search", "u:bob")],
           conversions=[dict(conversion_id="c1", occurred_at=T0, person="u:alice")])
    attribute(db)
    assert weights(db, "c1")["linear"] == {"mine": 1.0}


def test_each_conversion_of_a_person_looks_back_on_its_own_and_a_touch_serves_several(db):
    insert(db, touches=[("t1", T0 - 2 * DAY, "Email"), ("t2", T0 + DAY, "Paid Search")],
           conversions=[dict(conversion_id="c1", occurred_at=T0), dict(conversion_id="c2", occurred_at=T0 + 5 * DAY)])
    attribute(db)
    assert weights(db, "c1")["linear"] == {"t1": 1.0}
    assert_credits(weights(db, "c2")["linear"], {"t1": 0.5, "t2": 0.5})


# ---- revenue ---------------------------------------------------------------------------------

def test_refund_gets_negative_revenue_credit_and_credits_still_sum_to_one(db):
    insert(db, touches=[("t1", T0 - 2 * DAY, "Email"), ("t2", T0 - DAY, "Paid Search"), ("t3", T0 - DAY / 2, "Email")],
           conversions=[dict(conversion_id="r1", occurred_at=T0, revenue=-45, conversion_type="refund")])
    attribute(db)
    rows = query(db, "select model, sum(credit), sum(revenue_credit), min(revenue_credit)"
                     " from marts.attribution_credits group by model")
    for model, credit, revenue, smallest in rows:
        assert credit == pytest.approx(1, abs=1e-9), model
        assert abs(revenue - Decimal("-45")) < Decimal("0.000001"), model
        assert smallest < 0
    # linear: -45 / 3 = -15 each
    linear = query(db, "select revenue_credit from marts.attribution_credits where model = 'linear'")
    assert all(abs(r[0] - Decimal("-15")) < Decimal("1e-9") for r in linear)


def test_zero_revenue_conversion_is_credited_with_zero_revenue(db):
    insert(db, touches=[("t1", T0 - DAY, "Email"), ("t2", T0 - DAY / 2, "Paid Search")],
           conversions=[dict(conversion_id="s1", occurred_at=T0, revenue=0, conversion_type="signup")])
    attribute(db)
    rows = query(db, "select model, sum(credit), sum(revenue_credit), count(*) from marts.attribution_credits"
                     " group by model order by model")
    assert [(m, round(c, 9), r) for m, c, r, _ in rows] == [(m, 1.0, Decimal("0")) for m in sorted(MODELS)]


# ---- configuration ---------------------------------------------------------------------------

def test_only_the_configured_conversion_types_are_attributed(db):
    insert(db, touches=[("t1", T0 - DAY, "Email")],
           conversions=[dict(conversion_id="p1", occurred_at=T0, conversion_type="purchase"),
                        dict(conversion_id="s1", occurred_at=T0, conversion_type="signup")])
    attribute(db, conversion_types=("purchase",))
    assert query(db, "select distinct conversion_id from marts.attribution_credits") == [("p1",)]
    assert query(db, "select distinct conversion_type from marts.channel_attribution_daily") == [("purchase",)]


def test_daily_marts_use_the_conversion_day_in_the_reporting_timezone(db):
    # 02:00 UTC on 10 March is 22:00 on 9 March in New York.
    at = T0.replace(hour=2)
    insert(db, touches=[("t1", at - DAY, "Email")], conversions=[dict(conversion_id="c1", occurred_at=at, revenue=10)])
    attribute(db, reporting_timezone="America/New_York")
    assert query(db, "select distinct conversion_date from marts.attribution_credits") == [(date(2025, 3, 9),)]
    assert query(db, "select distinct date from marts.channel_attribution_daily") == [(date(2025, 3, 9),)]


def test_a_channel_on_a_path_several_times_gets_the_sum_of_its_weights(db):
    # linear over Email, Paid Search, Email: Email 2/3, Paid Search 1/3 (revenue 90 → 60 and 30)
    insert(db, touches=[("t1", T0 - 3 * DAY, "Email"), ("t2", T0 - 2 * DAY, "Paid Search"), ("t3", T0 - DAY, "Email")],
           conversions=[dict(conversion_id="c1", occurred_at=T0, revenue=90)])
    attribute(db)
    rows = query(db, "select channel, conversions, revenue, credit_rows from marts.channel_attribution_daily"
                     " where model = 'linear' order by channel")
    assert [(c, round(n, 9), round(r, 6), k) for c, n, r, k in rows] == [
        ("Email", round(2 / 3, 9), Decimal("60.000000"), 2),
        ("Paid Search", round(1 / 3, 9), Decimal("30.000000"), 1),
    ]


# ---- people: identity stitching through the real ingest --------------------------------------

def test_visits_on_two_devices_before_login_are_credited_to_the_purchase_after_it(db, tmp_path):
    """Device A browses, then logs in; device B browses and buys logged in: one path across both."""
    landing = Landing(tmp_path)
    day = T0.date()
    landing.write("touchpoints", day, "visits", [
        touch_record("a-visit", T0 - 5 * DAY, "Email", anonymous_id="dev-a"),
        touch_record("b-visit", T0 - 2 * DAY, "Paid Search", anonymous_id="dev-b"),
    ])
    landing.load(db)
    attribute(db)  # nothing converted yet

    landing.write("conversions", day, "orders", [
        conversion_record("order-1", T0, anonymous_id="dev-b", user_id="alice", revenue=50),
    ])
    landing.load(db)
    attribute(db)  # dev-b is alice now: her purchase sees the Paid Search visit
    assert weights(db, "order-1")["linear"] == {"b-visit": 1.0}

    landing.write("touchpoints", day, "login", [
        touch_record("a-login", T0 - 4 * DAY, "Direct", anonymous_id="dev-a", user_id="alice"),
    ])
    landing.load(db)
    summary = attribute(db)  # dev-a is alice too: its earlier visit joins the path
    assert summary.mode == "incremental" and summary.conversions_recomputed == 1

    got = weights(db, "order-1")
    assert got["first_touch"] == {"a-visit": 1.0}
    assert got["last_touch"] == {"b-visit": 1.0}
    assert_credits(got["linear"], {"a-visit": 1 / 3, "a-login": 1 / 3, "b-visit": 1 / 3})
    assert query(db, "select distinct person_key from core.conversions") == [("u:alice",)]
