"""Every rule of docs/assists.md on small, hand-computed paths (real Postgres): final and micro
conversion types, assisted conversions, conversion paths and the funnel."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from marketing.attribution import run_attribution
from marketing.config import AttributionParams, Settings
from marketing.reporting import SQL as REPORTING_SQL
from marketing.reporting.report import FUNNEL_MODEL, funnel_table

from .attribution_fixtures import (
    DAY,
    MODELS,
    T0,
    add_conversion,
    add_spend,
    add_touch,
    assert_same_marts,
    marts,
    query,
)

pytestmark = pytest.mark.integration
DAY0 = T0.date()
HOUR = timedelta(hours=1)


def attribute(db, **params):
    return run_attribution(db, AttributionParams(**params))


def insert(db, *, touches=(), conversions=(), spend=()):
    """Core rows in one transaction: touches as (event_id, at, channel[, person]), conversions and spend as dicts."""
    with db, db.cursor() as cur:
        for event_id, at, channel, *person in touches:
            add_touch(cur, event_id, at, person[0] if person else "u:alice", channel)
        for c in conversions:
            add_conversion(cur, **c)
        for s in spend:
            add_spend(cur, **s)


def assisted(db, conversion_type="purchase"):
    """{channel: (last, last value, first, first value, assisted, assisted value)} over every day."""
    rows = query(db, "select channel, sum(last_touch_conversions), sum(last_touch_value), sum(first_touch_conversions),"
                     " sum(first_touch_value), sum(assisted_conversions), sum(assisted_value)"
                     " from marts.assisted_conversions_daily where conversion_type = %s group by channel",
                 (conversion_type,))
    return {channel: tuple(int(v) if i % 2 == 0 else v for i, v in enumerate(rest)) for channel, *rest in rows}


def paths(db):
    """[(date, conversion_type, path, path_length, conversions, revenue, days_to_conversion)], sorted."""
    return query(db, "select date, conversion_type, path, path_length, conversions, revenue, days_to_conversion"
                     " from marts.conversion_paths_daily order by date, conversion_type, path")


# ---- 1. conversion types: final and micro ----------------------------------------------------

def test_roas_counts_only_final_conversion_types_so_a_page_view_never_counts_in_cpa(db):
    # Paid Search / brand: spend 100; a purchase of 80 and two page views (revenue 0, and a
    # micro-conversion of revenue 5), each after one Paid Search touch: CPA = 100 / 1, not 100 / 3.
    insert(db, touches=[("t1", T0 - DAY, "Paid Search", "u:a"), ("t2", T0 - DAY, "Paid Search", "u:b"),
                        ("t3", T0 - DAY, "Paid Search", "u:c")],
           conversions=[dict(conversion_id="buy", occurred_at=T0, person="u:a", revenue=80),
                        dict(conversion_id="view1", occurred_at=T0, person="u:b", conversion_type="page_view"),
                        dict(conversion_id="view2", occurred_at=T0, person="u:c", revenue=5,
                             conversion_type="page_view")],
           spend=[dict(day=DAY0, channel="Paid Search", campaign="", amount=100)])
    attribute(db)
    for model in MODELS:
        assert query(db, "select spend, attributed_conversions, attributed_revenue, roas, cpa from marts.roas_daily"
                         " where model = %s", (model,)) == [(Decimal("100"), 1.0, Decimal("80"), 0.8, 100.0)], model
    # Every type is still attributed (rule 2): the page views are in the channel mart.
    assert query(db, "select conversion_type, conversions, revenue from marts.channel_attribution_daily"
                     " where model = 'linear' order by 1") == [("page_view", 2.0, Decimal("5")),
                                                               ("purchase", 1.0, Decimal("80"))]


def test_final_conversion_types_may_name_several_types(db):
    insert(db, touches=[("t1", T0 - DAY, "Email", "u:a"), ("t2", T0 - DAY, "Email", "u:b")],
           conversions=[dict(conversion_id="buy", occurred_at=T0, person="u:a", revenue=80),
                        dict(conversion_id="join", occurred_at=T0, person="u:b", revenue=0, conversion_type="signup")])
    attribute(db, final_conversion_types=("purchase", "signup"))
    assert query(db, "select attributed_conversions, attributed_revenue from marts.roas_daily where model = 'linear'") \
        == [(2.0, Decimal("80"))]


def test_a_change_of_final_types_rebuilds_roas(db):
    insert(db, touches=[("t1", T0 - DAY, "Email")],
           conversions=[dict(conversion_id="join", occurred_at=T0, conversion_type="signup")])
    attribute(db)
    assert query(db, "select count(*) from marts.roas_daily") == [(0,)]  # no final conversion, no spend
    summary = attribute(db, final_conversion_types=("signup",))
    assert summary.mode == "full" and summary.reason.startswith("params changed")
    assert query(db, "select model, attributed_conversions from marts.roas_daily where model = 'first_touch'") == [
        ("first_touch", 1.0)]


def test_micro_conversions_are_attributed_per_channel_and_model(db):
    insert(db, touches=[("t1", T0 - DAY, "Email"), ("t2", T0 - HOUR, "Paid Search")],
           conversions=[dict(conversion_id="v1", occurred_at=T0, conversion_type="view_item")])
    attribute(db)
    rows = query(db, "select model, channel, conversions from marts.channel_attribution_daily"
                     " where conversion_type = 'view_item' and model in ('first_touch', 'linear') order by 1, 2")
    assert rows == [("first_touch", "Email", 1.0), ("linear", "Email", 0.5), ("linear", "Paid Search", 0.5)]


# ---- 2. assisted conversions -----------------------------------------------------------------

def test_a_channel_that_assists_and_closes_counts_both(db):
    # A > B > A (Email > Paid Search > Email), revenue 90: Email closes and opens, and assists
    # (its first touch is before the last); Paid Search assists.
    insert(db, touches=[("t1", T0 - 3 * DAY, "Email"), ("t2", T0 - 2 * DAY, "Paid Search"),
                        ("t3", T0 - DAY, "Email")],
           conversions=[dict(conversion_id="c1", occurred_at=T0, revenue=90)])
    attribute(db)
    assert assisted(db) == {
        "Email": (1, Decimal("90"), 1, Decimal("90"), 1, Decimal("90")),
        "Paid Search": (0, Decimal("0"), 0, Decimal("0"), 1, Decimal("90")),
    }


def test_a_channel_repeated_three_times_assists_once(db):
    # Email ×3 > Paid Search, revenue 40: Email assists one conversion (40), not three.
    insert(db, touches=[("t1", T0 - 3 * DAY, "Email"), ("t2", T0 - 2 * DAY, "Email"), ("t3", T0 - DAY, "Email"),
                        ("t4", T0 - HOUR, "Paid Search")],
           conversions=[dict(conversion_id="c1", occurred_at=T0, revenue=40)])
    attribute(db)
    assert assisted(db) == {
        "Email": (0, Decimal("0"), 1, Decimal("40"), 1, Decimal("40")),
        "Paid Search": (1, Decimal("40"), 0, Decimal("0"), 0, Decimal("0")),
    }
    assert paths(db) == [(DAY0, "purchase", "Email ×3 > Paid Search", 4, 1, Decimal("40"), 3)]


def test_a_conversion_with_no_touch_is_closed_and_opened_by_the_unattributed_label(db):
    insert(db, conversions=[dict(conversion_id="c1", occurred_at=T0, revenue=25)])
    attribute(db)
    assert assisted(db) == {"Unattributed": (1, Decimal("25"), 1, Decimal("25"), 0, Decimal("0"))}
    # Its path is the label, with no touch and no day before it.
    assert paths(db) == [(DAY0, "purchase", "Unattributed", 0, 1, Decimal("25"), 0)]


def test_the_unattributed_label_is_configurable_for_assists_and_paths(db):
    insert(db, conversions=[dict(conversion_id="c1", occurred_at=T0, revenue=25)])
    attribute(db, unattributed_label="Direct")
    assert assisted(db) == {"Direct": (1, Decimal("25"), 1, Decimal("25"), 0, Decimal("0"))}
    assert [p[2:4] for p in paths(db)] == [("Direct", 0)]


def test_a_single_touch_path_has_no_assist(db):
    insert(db, touches=[("t1", T0 - 2 * DAY, "Referral")], conversions=[dict(conversion_id="c1", occurred_at=T0,
                                                                               revenue=10)])
    attribute(db)
    assert assisted(db) == {"Referral": (1, Decimal("10"), 1, Decimal("10"), 0, Decimal("0"))}
    assert paths(db) == [(DAY0, "purchase", "Referral", 1, 1, Decimal("10"), 2)]


def test_assisted_conversions_are_by_conversion_day_and_type(db):
    # Two conversions on two days, a purchase and a micro-conversion, each Email > Paid Search.
    insert(db, touches=[("t1", T0 - 2 * DAY, "Email"), ("t2", T0 - DAY, "Paid Search")],
           conversions=[dict(conversion_id="c1", occurred_at=T0, revenue=10),
                        dict(conversion_id="c2", occurred_at=T0 + DAY, conversion_type="add_to_cart")])
    attribute(db)
    assert query(db, "select date, channel, conversion_type, last_touch_conversions, assisted_conversions"
                     " from marts.assisted_conversions_daily order by 1, 2") == [
        (DAY0, "Email", "purchase", 0, 1), (DAY0, "Paid Search", "purchase", 1, 0),
        (DAY0 + DAY, "Email", "add_to_cart", 0, 1), (DAY0 + DAY, "Paid Search", "add_to_cart", 1, 0),
    ]


def test_the_assisted_ratio_of_a_period_is_the_ratio_of_sums(db):
    # Email > Paid Search conversions (Email assists, Paid Search closes) and Email-only ones
    # (Email closes). Day 1: Email assists 3 and closes 1 (ratio 3); day 2: assists 1, closes 3
    # (1/3). Period: 4 / 4 = 1, where the mean of the daily ratios would say 1.67. Paid Search
    # closes 4 and assists none: ratio 0.
    touches, conversions = [], []
    for day, assists, closes in ((0, 3, 1), (1, 1, 3)):
        for n in range(assists):
            person = f"u:a{day}{n}"
            touches += [(f"a{day}{n}e", T0 + day * DAY - 2 * HOUR, "Email", person),
                        (f"a{day}{n}p", T0 + day * DAY - HOUR, "Paid Search", person)]
            conversions.append(dict(conversion_id=f"a{day}{n}", occurred_at=T0 + day * DAY, person=person, revenue=10))
        for n in range(closes):
            person = f"u:c{day}{n}"
            touches.append((f"c{day}{n}e", T0 + day * DAY - HOUR, "Email", person))
            conversions.append(dict(conversion_id=f"c{day}{n}", occurred_at=T0 + day * DAY, person=person, revenue=10))
    insert(db, touches=touches, conversions=conversions)
    attribute(db)
    rows = {r[0]: r for r in query(db, REPORTING_SQL("assisted_by_channel"),
                                   {"start": DAY0, "end": DAY0 + DAY, "conversion_types": ["purchase"]})}
    _, last, _, _, _, assists, assisted_value, ratio = rows["Email"]
    assert (last, assists, assisted_value, ratio) == (4, 4, Decimal("40"), 1)
    assert (rows["Paid Search"][1], rows["Paid Search"][5], rows["Paid Search"][7]) == (4, 0, 0)
    daily = query(db, "select date, assisted_conversions, last_touch_conversions from marts.assisted_conversions_daily"
                      " where channel = 'Email' order by 1")
    assert daily == [(DAY0, 3, 1), (DAY0 + DAY, 1, 3)]


# ---- 3. conversion paths ---------------------------------------------------------------------

def test_path_labels_merge_consecutive_repeats_with_a_count(db):
    # Paid Search, Paid Search, Email, Direct → "Paid Search ×2 > Email > Direct"; and a second
    # conversion with the same path adds to the same row. Email, Paid Search, Email stays apart.
    touches = [("s1", T0 - 5 * DAY, "Paid Search"), ("s2", T0 - 4 * DAY, "Paid Search"), ("s3", T0 - 2 * DAY, "Email"),
               ("s4", T0 - HOUR, "Direct"),
               ("b1", T0 - 3 * DAY, "Paid Search", "u:bob"), ("b2", T0 - 3 * DAY + HOUR, "Paid Search", "u:bob"),
               ("b3", T0 - 2 * DAY, "Email", "u:bob"), ("b4", T0 - DAY, "Direct", "u:bob"),
               ("x1", T0 - 3 * DAY, "Email", "u:cy"), ("x2", T0 - 2 * DAY, "Paid Search", "u:cy"),
               ("x3", T0 - DAY, "Email", "u:cy")]
    insert(db, touches=touches, conversions=[
        dict(conversion_id="c1", occurred_at=T0, revenue=100),
        dict(conversion_id="c2", occurred_at=T0, person="u:bob", revenue=50),
        dict(conversion_id="c3", occurred_at=T0, person="u:cy", revenue=20),
    ])
    attribute(db)
    # days: c1 5 days after its first touch, c2 3 days: 8 in all (mean 4); c3 3.
    assert paths(db) == [
        (DAY0, "purchase", "Email > Paid Search > Email", 3, 1, Decimal("20"), 3),
        (DAY0, "purchase", "Paid Search ×2 > Email > Direct", 4, 2, Decimal("150"), 8),
    ]
    top = query(db, REPORTING_SQL("conversion_paths"), {"start": DAY0, "end": DAY0, "conversion_types": ["purchase"],
                                                     "limit": 10})
    assert top[0] == ("Paid Search ×2 > Email > Direct", 2, Decimal("150"), 4, 4)


def test_paths_keep_touches_of_equal_time_in_event_id_order(db):
    # Same instant: event ids decide (attribution.md), so the path is Email > Referral.
    insert(db, touches=[("e2", T0 - DAY, "Referral"), ("e1", T0 - DAY, "Email")],
           conversions=[dict(conversion_id="c1", occurred_at=T0)])
    attribute(db)
    assert [p[2] for p in paths(db)] == ["Email > Referral"]


def test_days_to_conversion_are_whole_days_of_elapsed_time_across_a_time_zone_boundary(db):
    # Reporting in Tokyo (UTC+9). c1: first touch 23:30 UTC on 9 March, conversion 22:00 UTC on
    # 10 March: two calendar days in UTC, 22.5 hours elapsed → 0 days; its date is 11 March in
    # Tokyo (07:00). c2: 47 h 59 min → 1 day. c3: exactly 48 h → 2 days.
    c1_at = datetime(2025, 3, 10, 22, 0, tzinfo=T0.tzinfo)
    insert(db, touches=[("a", c1_at - timedelta(hours=22, minutes=30), "Email", "u:a"),
                        ("b", T0 - timedelta(hours=47, minutes=59), "Email", "u:b"),
                        ("c", T0 - 2 * DAY, "Email", "u:c")],
           conversions=[dict(conversion_id="c1", occurred_at=c1_at, person="u:a"),
                        dict(conversion_id="c2", occurred_at=T0, person="u:b"),
                        dict(conversion_id="c3", occurred_at=T0, person="u:c")])
    attribute(db, reporting_timezone="Asia/Tokyo")
    assert query(db, "select date, sum(conversions), sum(days_to_conversion) from marts.conversion_paths_daily"
                     " group by 1 order by 1") == [(date(2025, 3, 10), 2, 3), (date(2025, 3, 11), 1, 0)]


def test_a_touch_on_the_lookback_edge_and_a_touch_after_the_conversion(db):
    # Lookback 30 days, both ends inclusive: the touch exactly 30 days before counts (30 days);
    # the touch after the conversion never does.
    insert(db, touches=[("old", T0 - 30 * DAY, "Email"), ("after", T0 + HOUR, "Paid Search")],
           conversions=[dict(conversion_id="c1", occurred_at=T0, revenue=5)])
    attribute(db)
    assert paths(db) == [(DAY0, "purchase", "Email", 1, 1, Decimal("5"), 30)]


# ---- 4. the funnel ---------------------------------------------------------------------------

def funnel_rows(db, model="last_non_direct", steps=("view_item", "add_to_cart", "begin_checkout", "purchase")):
    return query(db, REPORTING_SQL("funnel_by_channel"),
                 {"start": None, "end": None, "model": model, "funnel_steps": list(steps)})


def test_funnel_steps_hold_the_credit_of_each_steps_conversions(db):
    # Paid Search: 4 views, 2 carts, 1 checkout, 1 purchase. Email (first touch of one person):
    # under linear it shares that person's conversions.
    touches = [("p1", T0 - DAY, "Paid Search", "u:a"), ("p2", T0 - DAY, "Paid Search", "u:b"),
               ("e1", T0 - 2 * DAY, "Email", "u:c"), ("p3", T0 - DAY, "Paid Search", "u:c")]
    conversions = []
    for person, kinds in (("u:a", ("view_item", "add_to_cart", "begin_checkout", "purchase")),
                          ("u:b", ("view_item", "view_item")), ("u:c", ("view_item", "add_to_cart"))):
        for n, kind in enumerate(kinds):
            conversions.append(dict(conversion_id=f"{person}-{n}", occurred_at=T0 + n * HOUR, person=person,
                                    conversion_type=kind, revenue=30 if kind == "purchase" else 0))
    insert(db, touches=touches, conversions=conversions)
    attribute(db)
    assert query(db, "select model, channel, step, step_index, conversions from marts.funnel_daily"
                     " where model in ('last_touch', 'linear') order by 1, 2, 4") == [
        ("last_touch", "Paid Search", "view_item", 1, 4.0),
        ("last_touch", "Paid Search", "add_to_cart", 2, 2.0),
        ("last_touch", "Paid Search", "begin_checkout", 3, 1.0),
        ("last_touch", "Paid Search", "purchase", 4, 1.0),
        ("linear", "Email", "view_item", 1, 0.5),
        ("linear", "Email", "add_to_cart", 2, 0.5),
        ("linear", "Paid Search", "view_item", 1, 3.5),
        ("linear", "Paid Search", "add_to_cart", 2, 1.5),
        ("linear", "Paid Search", "begin_checkout", 3, 1.0),
        ("linear", "Paid Search", "purchase", 4, 1.0),
    ]
    # Rates over the period, ratio of sums: 2/4, 1/2, 1/1; the first step has none.
    assert [(c, s, n, r) for c, s, _, n, r in funnel_rows(db, "last_touch")] == [
        ("Paid Search", "view_item", 4.0, None), ("Paid Search", "add_to_cart", 2.0, 0.5),
        ("Paid Search", "begin_checkout", 1.0, 0.5), ("Paid Search", "purchase", 1.0, 1.0)]
    # Conversion types outside FUNNEL_STEPS are not in the funnel.
    assert query(db, "select count(*) from marts.funnel_daily where step not in"
                     " ('view_item', 'add_to_cart', 'begin_checkout', 'purchase')") == [(0,)]


def test_a_funnel_step_with_no_previous_step_has_no_rate(db):
    # Email: two carts and a purchase, no view and no checkout: the cart's rate and the
    # purchase's have nothing to divide by (null), the views show as 0.
    insert(db, touches=[("e1", T0 - DAY, "Email")], conversions=[
        dict(conversion_id="k1", occurred_at=T0, conversion_type="add_to_cart"),
        dict(conversion_id="k2", occurred_at=T0 + HOUR, conversion_type="add_to_cart"),
        dict(conversion_id="b1", occurred_at=T0 + 2 * HOUR, revenue=10)])
    attribute(db)
    assert [(s, i, n, r) for _, s, i, n, r in funnel_rows(db)] == [
        ("view_item", 1, 0, None), ("add_to_cart", 2, 2.0, None), ("begin_checkout", 3, 0, 0.0),
        ("purchase", 4, 1.0, None)]


def test_the_funnel_rate_of_a_period_is_the_ratio_of_sums_not_the_mean_of_daily_rates(db):
    # Day 1: 1 view, 1 cart (rate 1); day 2: 9 views, 1 cart (rate 1/9). Period: 2 / 10 = 0.2,
    # where the mean of the daily rates would say 0.56.
    conversions = [dict(conversion_id="d1-cart", occurred_at=T0 + HOUR, conversion_type="add_to_cart"),
                   dict(conversion_id="d1-view", occurred_at=T0, conversion_type="view_item"),
                   dict(conversion_id="d2-cart", occurred_at=T0 + DAY + HOUR, conversion_type="add_to_cart")]
    conversions += [dict(conversion_id=f"d2-view{n}", occurred_at=T0 + DAY + n * 60 * timedelta(seconds=1),
                         conversion_type="view_item") for n in range(9)]
    insert(db, touches=[("e1", T0 - DAY, "Email")], conversions=conversions)
    attribute(db)
    rows = funnel_rows(db, steps=("view_item", "add_to_cart"))
    assert [(s, n, r) for _, s, _, n, r in rows] == [("view_item", 10.0, None), ("add_to_cart", 2.0, 0.2)]


def test_funnel_steps_are_configurable_and_a_change_rebuilds(db):
    insert(db, touches=[("e1", T0 - DAY, "Email")], conversions=[
        dict(conversion_id="s1", occurred_at=T0, conversion_type="signup"),
        dict(conversion_id="b1", occurred_at=T0 + HOUR, revenue=10)])
    attribute(db)
    assert query(db, "select step from marts.funnel_daily where model = 'linear'") == [("purchase",)]
    assert attribute(db, funnel_steps=("signup", "purchase")).mode == "full"
    assert query(db, "select step, step_index from marts.funnel_daily where model = 'linear' order by 2") == [
        ("signup", 1), ("purchase", 2)]


def test_the_report_prints_the_funnel_per_channel_under_last_non_direct(db):
    insert(db, touches=[("e1", T0 - DAY, "Email")], conversions=[
        dict(conversion_id="v1", occurred_at=T0, conversion_type="view_item"),
        dict(conversion_id="v2", occurred_at=T0 + HOUR, conversion_type="view_item"),
        dict(conversion_id="k1", occurred_at=T0 + 2 * HOUR, conversion_type="add_to_cart")])
    attribute(db)
    with db.cursor() as cur:
        lines = funnel_table(cur, Settings.from_env({}))
    db.rollback()
    assert FUNNEL_MODEL in lines[0]
    assert lines[3].split() == ["Email", "2.0", "1.0", "50%", "0.0", "0%", "0.0"]


# ---- 5. incremental and exact ----------------------------------------------------------------

def test_a_late_touch_moves_assists_and_paths_as_a_full_rebuild_would(db):
    # c1 starts as a single Email touch; a late Paid Search touch before it makes the path
    # Paid Search > Email: Paid Search now opens and assists, the old path row goes.
    insert(db, touches=[("t1", T0 - DAY, "Email")], conversions=[dict(conversion_id="c1", occurred_at=T0, revenue=10),
                                                                  dict(conversion_id="v1", occurred_at=T0,
                                                                       conversion_type="view_item")])
    attribute(db)
    assert [p[2] for p in paths(db)] == ["Email", "Email"]
    insert(db, touches=[("late", T0 - 3 * DAY, "Paid Search")])
    assert attribute(db).mode == "incremental"
    assert paths(db) == [(DAY0, "purchase", "Paid Search > Email", 2, 1, Decimal("10"), 3),
                         (DAY0, "view_item", "Paid Search > Email", 2, 1, Decimal("0"), 3)]
    assert assisted(db) == {"Email": (1, Decimal("10"), 0, Decimal("0"), 0, Decimal("0")),
                            "Paid Search": (0, Decimal("0"), 1, Decimal("10"), 1, Decimal("10"))}
    incremental = marts(db)
    attribute(db)  # nothing queued
    run_attribution(db, AttributionParams(), full_rebuild=True)
    assert_same_marts(incremental, marts(db))


def test_a_range_run_recomputes_assists_paths_and_funnel_of_its_days(db):
    insert(db, touches=[("t1", T0 - DAY, "Email")], conversions=[dict(conversion_id="c1", occurred_at=T0, revenue=10)])
    attribute(db)
    with db, db.cursor() as cur:  # a touch that no load queued: only a range run sees it
        add_touch(cur, "unqueued", T0 - 3 * DAY, channel="Paid Search", queue=False)
    assert [p[2] for p in paths(db)] == ["Email"]
    assert run_attribution(db, AttributionParams(), start_date=DAY0, end_date=DAY0).mode == "range"
    assert [p[2] for p in paths(db)] == ["Paid Search > Email"]
    assert query(db, "select channel, step, conversions from marts.funnel_daily where model = 'first_touch'") == [
        ("Paid Search", "purchase", 1.0)]
    ranged = marts(db)
    run_attribution(db, AttributionParams(), full_rebuild=True)
    assert_same_marts(ranged, marts(db))


# ---- invariants on random data (the dataset of test_attribution_invariants) ------------------

@pytest.fixture
def random_db(db, tmp_path):
    """The seeded random dataset (purchases, signups, refunds and funnel micro-conversions), attributed."""
    from .test_attribution_invariants import load_in_one_go, random_dataset

    load_in_one_go(db, tmp_path, random_dataset(31))
    return db


def expected_from_credits(db):
    """The assists and paths of every conversion, derived here in Python from the credits view."""
    rows = query(db, "select conversion_id, conversion_date, conversion_type, revenue, channel, touch_position,"
                     " touch_occurred_at, conversion_occurred_at from marts.attribution_credits"
                     " where model = 'linear' order by conversion_id, touch_position nulls first")
    conversions = {}
    for cid, day, ctype, revenue, channel, position, touch_at, at in rows:
        c = conversions.setdefault(cid, dict(key=(day, ctype), revenue=revenue, at=at, touches=[]))
        if position is not None:
            c["touches"].append((channel, touch_at))
    assisted, path_rows = {}, {}
    for c in conversions.values():
        channels = [channel for channel, _ in c["touches"]] or ["Unattributed"]
        day, ctype = c["key"]
        roles = [(channels[-1], 0), (channels[0], 1)] + [(ch, 2) for ch in set(channels[:-1])]
        for channel, role in roles:
            counts = assisted.setdefault((day, channel, ctype), [0, Decimal(0)] * 3)
            counts[2 * role] += 1
            counts[2 * role + 1] += c["revenue"]
        merged = []
        for channel in channels:
            if merged and merged[-1][0] == channel:
                merged[-1][1] += 1
            else:
                merged.append([channel, 1])
        label = " > ".join(ch if n == 1 else f"{ch} ×{n}" for ch, n in merged)
        days = (c["at"] - c["touches"][0][1]) // timedelta(days=1) if c["touches"] else 0
        p = path_rows.setdefault((day, ctype, label, len(c["touches"])), [0, Decimal(0), 0])
        p[0] += 1
        p[1] += c["revenue"]
        p[2] += days
    return conversions, assisted, path_rows


def test_last_touch_and_first_touch_conversions_each_count_every_conversion_once(random_db):
    rows = query(random_db, """
        select a.date, a.conversion_type, a.last, a.first, c.conversions
        from (select date, conversion_type, sum(last_touch_conversions) as last, sum(first_touch_conversions) as first
              from marts.assisted_conversions_daily group by 1, 2) a
        full join (select (occurred_at at time zone 'UTC')::date as date, conversion_type, count(*) as conversions
                   from core.conversions group by 1, 2) c using (date, conversion_type)""")
    assert len(rows) > 20 and {r[1] for r in rows} >= {"purchase", "view_item", "refund"}
    assert all(last == first == conversions for _, _, last, first, conversions in rows)


def test_assisted_conversions_of_a_conversion_are_its_distinct_channels_before_its_last_touch(random_db):
    _, expected, _ = expected_from_credits(random_db)
    rows = query(random_db, "select date, channel, conversion_type, last_touch_conversions, last_touch_value,"
                            " first_touch_conversions, first_touch_value, assisted_conversions, assisted_value"
                            " from marts.assisted_conversions_daily")
    assert {(d, ch, t): list(rest) for d, ch, t, *rest in rows} == expected
    assert sum(v[4] for v in expected.values()) > 50  # the data has assists to check


def test_conversion_paths_hold_every_conversion_with_its_merged_label_length_and_days(random_db):
    conversions, _, expected = expected_from_credits(random_db)
    rows = query(random_db, "select date, conversion_type, path, path_length, conversions, revenue, days_to_conversion"
                            " from marts.conversion_paths_daily")
    assert {(d, t, p, n): list(rest) for d, t, p, n, *rest in rows} == expected
    assert sum(r[4] for r in rows) == len(conversions)
    assert any("×" in r[2] for r in rows) and any(r[3] >= 4 for r in rows)


def test_the_funnel_is_the_channel_credit_of_the_funnel_steps(random_db):
    funnel = query(random_db, "select date, model, channel, step, step_index, conversions, revenue, credit_rows"
                              " from marts.funnel_daily order by 1, 2, 3, 4")
    steps = ("view_item", "add_to_cart", "begin_checkout", "purchase")
    credited = query(random_db, "select date, model, channel, conversion_type, conversions, revenue, credit_rows"
                                " from marts.channel_attribution_daily where conversion_type = any(%s)"
                                " order by 1, 2, 3, 4", (list(steps),))
    assert len(funnel) > 100
    assert funnel == [(d, m, ch, t, steps.index(t) + 1, *rest) for d, m, ch, t, *rest in credited]


# ---- 6. what the sample data shows -----------------------------------------------------------

def test_sample_data_shows_a_narrowing_funnel_and_upper_funnel_channels_that_assist_more_than_they_close(
        warehouse_url, db, tmp_path):
    from marketing.dev.sample import generate
    from marketing.pipeline import run_all

    settings = Settings(warehouse_url=warehouse_url, landing_url=(tmp_path / "landing").as_uri())
    generate(settings.landing_url, days=10, touchpoints_per_day=1500, end_date=date(2026, 3, 14))
    run_all(warehouse_url, settings)
    ratio = {channel: float(r) for channel, *_, r in query(db, REPORTING_SQL("assisted_by_channel"), {
        "start": None, "end": None, "conversion_types": ["purchase"]}) if r is not None}
    for upper in ("Display", "Paid Social", "Paid Video"):
        assert ratio[upper] > 1 and ratio[upper] > ratio["Paid Search"], (upper, ratio)
    steps = dict(query(db, "select step, sum(conversions) from marts.funnel_daily where model = 'last_non_direct'"
                           " group by step"))
    assert steps["view_item"] > steps["add_to_cart"] > steps["begin_checkout"] > steps["purchase"] > 0
    assert query(db, "select count(*) from core.conversions where conversion_type in"
                     " ('view_item', 'add_to_cart', 'begin_checkout') and revenue <> 0") == [(0,)]


def test_the_report_prints_roas_of_final_types_then_assists_and_the_funnel(db, warehouse_url):
    from marketing.reporting.report import roas_by_model

    insert(db, touches=[("e1", T0 - 2 * DAY, "Email"), ("p1", T0 - DAY, "Paid Search")], conversions=[
        dict(conversion_id="v1", occurred_at=T0, conversion_type="view_item"),
        dict(conversion_id="b1", occurred_at=T0 + HOUR, revenue=50)],
        spend=[dict(day=DAY0, channel="Paid Search", campaign="brand", amount=25)])
    attribute(db)
    text = roas_by_model(warehouse_url, Settings.from_env({}))
    assert "Conversions and revenue of purchase (FINAL_CONVERSION_TYPES)" in text
    lines = text.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("Assisted conversions by channel")))
    # Paid Search closed the purchase (ratio 0); Email assisted it (no last touch: no ratio).
    assert sorted(line.split() for line in lines[start + 3:start + 5]) == [
        ["Email", "0", "0.00", "1", "50.00"], ["Paid", "Search", "1", "50.00", "0", "0.00", "0.00"]]
    assert any(line.startswith("Funnel by channel under last_non_direct") for line in lines)
