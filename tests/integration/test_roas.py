"""marts.roas_daily: spend and attributed revenue side by side (real Postgres)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from marketing.attribution import run_attribution
from marketing.config import AttributionParams

from .attribution_fixtures import (
    DAY,
    MODELS,
    T0,
    add_conversion,
    add_spend,
    add_touch,
    assert_same_marts,
    conversion_record,
    marts,
    query,
    touch_record,
)
from .landing import Landing

pytestmark = pytest.mark.integration
PARAMS = AttributionParams()
DAY0 = T0.date()


def roas_rows(db, model="linear"):
    """{(date, channel, campaign): (spend, attributed_conversions, attributed_revenue, roas, cpa)} of a model."""
    rows = query(db, "select date, channel, campaign, spend, attributed_conversions, attributed_revenue, roas, cpa"
                     " from marts.roas_daily where model = %s", (model,))
    return {(d, ch, ca): tuple(rest) for d, ch, ca, *rest in rows}


def test_spend_without_attributed_revenue_has_roas_zero_in_every_model(db):
    with db, db.cursor() as cur:
        add_spend(cur, DAY0, "Paid Search", "brand", 80)
    run_attribution(db, PARAMS)
    rows = query(db, "select model, spend, attributed_conversions, attributed_revenue, roas, cpa from marts.roas_daily"
                     " order by model")
    assert rows == [(m, Decimal("80"), 0.0, Decimal("0"), 0.0, None) for m in sorted(MODELS)]


def test_revenue_without_spend_has_null_roas_and_cpa(db):
    with db, db.cursor() as cur:
        add_touch(cur, "t1", T0 - DAY, channel="Email", campaign="spring")
        add_conversion(cur, "c1", T0, revenue=30)
    run_attribution(db, PARAMS)
    assert roas_rows(db) == {(DAY0, "Email", "spring"): (Decimal("0"), 1.0, Decimal("30"), None, None)}


def test_roas_and_cpa_of_a_day_where_spend_and_revenue_meet(db):
    # Paid Search / brand: spend 50; two conversions of 60 and 90, each with one Paid Search touch.
    # roas = 150 / 50 = 3; cpa = 50 / 2 = 25
    with db, db.cursor() as cur:
        add_touch(cur, "t1", T0 - DAY, person="u:a", channel="Paid Search", campaign="brand")
        add_touch(cur, "t2", T0 - DAY, person="u:b", channel="Paid Search", campaign="brand")
        add_conversion(cur, "c1", T0, person="u:a", revenue=60)
        add_conversion(cur, "c2", T0, person="u:b", revenue=90)
        add_spend(cur, DAY0, "Paid Search", "brand", 50)
    run_attribution(db, PARAMS)
    for model in MODELS:
        assert roas_rows(db, model) == {(DAY0, "Paid Search", "brand"): (Decimal("50"), 2.0, Decimal("150"), 3.0, 25.0)}


def test_period_roas_is_the_ratio_of_sums_not_the_average_of_daily_ratios(db):
    # Day 1: spend 100, revenue 300 (roas 3). Day 2: spend 300, revenue 300 (roas 1).
    # Period: 600 / 400 = 1.5, where the average of the daily ratios would say 2.
    with db, db.cursor() as cur:
        for n, (day, revenue, spend) in enumerate([(DAY0, 300, 100), (DAY0 + DAY, 300, 300)]):
            add_touch(cur, f"t{n}", T0 + n * DAY - DAY / 2, person=f"u:{n}", channel="Paid Search", campaign="brand")
            add_conversion(cur, f"c{n}", T0 + n * DAY, person=f"u:{n}", revenue=revenue)
            add_spend(cur, day, "Paid Search", "brand", spend)
    run_attribution(db, PARAMS)
    [(period_roas, mean_of_daily)] = query(
        db, "select sum(attributed_revenue) / sum(spend), avg(roas) from marts.roas_daily where model = 'linear'")
    assert period_roas == Decimal("1.5")
    assert mean_of_daily == pytest.approx(2.0)


def test_zero_spend_gives_null_roas_and_zero_cpa(db):
    with db, db.cursor() as cur:
        add_touch(cur, "t1", T0 - DAY, channel="Paid Search", campaign="brand")
        add_conversion(cur, "c1", T0, revenue=40)
        add_spend(cur, DAY0, "Paid Search", "brand", 0)
    run_attribution(db, PARAMS)
    assert roas_rows(db) == {(DAY0, "Paid Search", "brand"): (Decimal("0"), 1.0, Decimal("40"), None, 0.0)}


def test_touch_without_campaign_meets_spend_with_an_empty_campaign(db):
    with db, db.cursor() as cur:
        add_touch(cur, "t1", T0 - DAY, channel="Paid Search", campaign=None)
        add_conversion(cur, "c1", T0, revenue=40)
        add_spend(cur, DAY0, "Paid Search", "", 20)
    run_attribution(db, PARAMS)
    assert roas_rows(db) == {(DAY0, "Paid Search", None): (Decimal("20"), 1.0, Decimal("40"), 2.0, 20.0)}


def test_unattributed_revenue_is_kept_so_attributed_revenue_adds_up_to_all_revenue(db):
    with db, db.cursor() as cur:
        add_conversion(cur, "c1", T0, revenue=70)
        add_touch(cur, "t1", T0 - DAY, person="u:b", channel="Email")
        add_conversion(cur, "c2", T0, person="u:b", revenue=5)
    run_attribution(db, PARAMS)
    for model in MODELS:
        [(total,)] = query(db, "select sum(attributed_revenue) from marts.roas_daily where model = %s", (model,))
        assert total == Decimal("75")
    assert roas_rows(db)[(DAY0, "Unattributed", None)] == (Decimal("0"), 1.0, Decimal("70"), None, None)


def test_restated_spend_replaces_the_first_value_after_an_incremental_run(db, tmp_path):
    landing = Landing(tmp_path)
    header = "date,source,medium,campaign,spend,currency"
    landing.write("touchpoints", DAY0, "visits", [touch_record("v1", T0 - DAY, "Paid Search", user_id="u1", campaign="brand")])
    landing.write("conversions", DAY0, "orders", [conversion_record("o1", T0, user_id="u1", revenue=120)])
    spend_file = landing.write("ad_spend", DAY0, "google", [
        {"date": DAY0.isoformat(), "source": "google", "medium": "cpc", "campaign": "brand", "spend": "40", "currency": "USD"},
        {"date": DAY0.isoformat(), "source": "google", "medium": "cpc", "campaign": "generic", "spend": "10", "currency": "USD"},
    ])
    landing.load(db)
    run_attribution(db, PARAMS)
    assert roas_rows(db)[(DAY0, "Paid Search", "brand")][3] == 3.0  # 120 / 40

    # The platform revises the day: brand cost 60, and the generic campaign is gone.
    spend_file.write_text(f"{header}\n{DAY0.isoformat()},google,cpc,brand,60,USD\n")
    landing.load(db)
    summary = run_attribution(db, PARAMS)
    assert (summary.mode, summary.conversions_recomputed, summary.dates_recomputed) == ("incremental", 0, 1)
    assert roas_rows(db) == {(DAY0, "Paid Search", "brand"): (Decimal("60"), 1.0, Decimal("120"), 2.0, 60.0)}
    incremental = marts(db)
    run_attribution(db, PARAMS, full_rebuild=True)
    assert_same_marts(incremental, marts(db))


def test_revenue_and_spend_in_another_currency_are_converted_with_the_rate_of_their_day(db, tmp_path):
    landing = Landing(tmp_path)
    landing.write("fx_rates", DAY0, "rates", [
        {"date": DAY0.isoformat(), "currency": "EUR", "rate": "1.10"},
        {"date": (DAY0 - DAY).isoformat(), "currency": "EUR", "rate": "2.00"},  # another day's rate: unused
    ])
    landing.write("touchpoints", DAY0, "visits", [touch_record("v1", T0 - DAY, "Paid Search", user_id="u1", campaign="brand")])
    landing.write("conversions", DAY0, "orders", [conversion_record("o1", T0, user_id="u1", revenue=100, currency="EUR")])
    landing.write("ad_spend", DAY0, "google", [
        {"date": DAY0.isoformat(), "source": "google", "medium": "cpc", "campaign": "brand", "spend": "50", "currency": "EUR"},
    ])
    landing.load(db)
    run_attribution(db, PARAMS)
    # revenue 100 EUR × 1.10 = 110 USD; spend 50 EUR × 1.10 = 55 USD; roas = 110 / 55 = 2
    spend, conversions, revenue, roas, cpa = roas_rows(db)[(DAY0, "Paid Search", "brand")]
    assert (spend, revenue) == (Decimal("55.00"), Decimal("110.00"))
    assert (conversions, roas, cpa) == (1.0, 2.0, 55.0)
    [(revenue_credit,)] = query(db, "select revenue_credit from marts.attribution_credits where model = 'last_touch'")
    assert revenue_credit == Decimal("110.00")
