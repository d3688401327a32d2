"""Every rule of docs/customers.md on small, hand-computed customers (real Postgres).

Too few repeat customers here for the models to be fitted: the predicted columns are NULL and
the rules of realised value, acquisition and cost are checked alone. The fit has its own tests
(test_customers_fit.py).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from marketing.attribution import run_attribution
from marketing.config import AttributionParams, CustomerParams
from marketing.customers import run_customers

from .attribution_fixtures import DAY, add_conversion, add_spend, add_touch

pytestmark = pytest.mark.integration
UTC = timezone.utc
T = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
US = timedelta(microseconds=1)


def insert(db, *, touches=(), conversions=(), spend=()):
    """Core rows: touches (event_id, at, channel, person), conversions (id, at, person, revenue[, type]),
    spend (day, channel, amount)."""
    with db, db.cursor() as cur:
        for event_id, at, channel, person in touches:
            add_touch(cur, event_id, at, person, channel)
        for conversion_id, at, person, revenue, *kind in conversions:
            add_conversion(cur, conversion_id, at, person, revenue, kind[0] if kind else "purchase")
        for day, channel, amount in spend:
            add_spend(cur, day, channel, "c1", amount)


def run(db, *, tz="UTC", **params):
    run_attribution(db, AttributionParams(reporting_timezone=tz))
    return run_customers(db, CustomerParams(**params), reporting_timezone=tz)


def rows(db, statement, params=None):
    with db.cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchall()


def customer(db, person):
    cols = ("first_conversion_id", "first_purchase_at", "cohort_month", "frequency", "recency_days", "t_days",
            "monetary_value", "value_to_date", "p_alive", "predicted_ltv")
    found = rows(db, f"select {', '.join(cols)} from marts.customer_value where person_key = %s", (person,))
    return dict(zip(cols, found[0])) if found else None


def acquisition(db, person):
    return {channel: credit for channel, credit in
            rows(db, "select channel, credit from marts.customer_acquisition where person_key = %s", (person,))}


def cohort(db, channel, age):
    found = rows(db, "select customers, mature_customers, value from marts.cohort_value"
                     " where channel = %s and age_days = %s", (channel, age))
    return found[0] if found else None


# ---- rules 1-2: purchases, customers, first purchase ------------------------------------------

def test_first_purchase_ties_break_on_conversion_id_and_other_types_are_not_purchases(db):
    insert(db, touches=[("t1", T - DAY, "Email", "u:ann")], conversions=[
        ("signup", T - 2 * DAY, "u:ann", 500, "signup"),  # not a purchase type: no customer yet
        ("c2", T, "u:ann", 40),
        ("c1", T, "u:ann", 10),  # same instant: c1 < c2
    ])
    run(db)
    ann = customer(db, "u:ann")
    assert ann["first_conversion_id"] == "c1"
    assert ann["first_purchase_at"] == T
    assert ann["cohort_month"] == date(2025, 3, 1)
    assert ann["value_to_date"] == Decimal("50")
    assert ann["frequency"] == 0  # both on the first day


def test_a_refund_alone_makes_no_customer_and_a_refund_before_the_first_purchase_is_not_it(db):
    insert(db, conversions=[
        ("r1", T, "u:bob", -20),            # bob: only a refund
        ("r2", T, "u:cy", -20),             # cy: a refund, then a purchase two days later
        ("p2", T + 2 * DAY, "u:cy", 50),
        ("z0", T + 2 * DAY, "u:zed", 0),    # zero revenue is no customer either
    ])
    run(db)
    assert customer(db, "u:bob") is None and customer(db, "u:zed") is None
    cy = customer(db, "u:cy")
    assert cy["first_conversion_id"] == "p2" and cy["first_purchase_at"] == T + 2 * DAY
    assert cy["value_to_date"] == Decimal("30")  # every purchase counts, the refund too
    assert rows(db, "select count(*) from marts.customer_value")[0][0] == 1


def test_custom_purchase_types(db):
    insert(db, conversions=[("s1", T, "u:ann", 9, "subscription"), ("p1", T, "u:bob", 5)])
    run(db, conversion_types=("subscription",))
    assert customer(db, "u:ann")["value_to_date"] == Decimal("9")
    assert customer(db, "u:bob") is None


# ---- rule 5: realised value and maturity ------------------------------------------------------

def test_a_later_refund_lowers_the_value_and_maturity_is_exactly_at_d_days(db):
    insert(db, touches=[("t1", T - DAY, "Email", "u:ann")], conversions=[
        ("c1", T, "u:ann", 100),
        ("c2", T + 10 * DAY, "u:ann", -30),       # refund within 30 days
        ("c3", T + 30 * DAY, "u:ann", 25),        # exactly first + 30 days: not in value_30
        ("x", T + 30 * DAY, "u:other", 0, "signup"),  # as_of = T + 30 days exactly
    ])
    run(db, cohort_ages_days=(30, 90))
    assert cohort(db, "Email", 30) == (1.0, 1.0, Decimal("70"))  # mature: first + 30 days <= as_of
    assert cohort(db, "Email", 90) == (1.0, 0.0, Decimal("0"))   # not mature: no value counted
    assert customer(db, "u:ann")["value_to_date"] == Decimal("95")


def test_one_microsecond_short_of_d_days_is_not_mature(db):
    insert(db, touches=[("t1", T - DAY, "Email", "u:ann")], conversions=[
        ("c1", T, "u:ann", 100),
        ("x", T + 30 * DAY - US, "u:other", 0, "signup"),
    ])
    run(db, cohort_ages_days=(30,))
    assert cohort(db, "Email", 30) == (1.0, 0.0, Decimal("0"))


# ---- rule 3: acquisition under any model ------------------------------------------------------

def test_linear_acquisition_splits_a_customer_between_channels(db):
    insert(
        db,
        touches=[("t1", T - 3 * DAY, "Email", "u:ann"), ("t2", T - DAY, "Paid Search", "u:ann"),
                 ("t3", T - DAY, "Paid Search", "u:bob")],
        conversions=[("c1", T, "u:ann", 60), ("c2", T + 5 * DAY, "u:ann", 20),  # later purchase: not acquisition
                     ("c3", T, "u:bob", 40), ("x", T + 40 * DAY, "u:z", 0, "signup")],
        spend=[(date(2025, 3, 1), "Paid Search", 90), (date(2025, 3, 31), "Paid Search", 30)],
    )
    run(db, acquisition_model="linear", cohort_ages_days=(30,))
    assert acquisition(db, "u:ann") == {"Email": 0.5, "Paid Search": 0.5}
    assert acquisition(db, "u:bob") == {"Paid Search": 1.0}
    # cohort March 2025, age 30: ann counts half in each channel, with half her 80.
    assert cohort(db, "Email", 30) == (0.5, 0.5, Decimal("40"))
    assert cohort(db, "Paid Search", 30) == (1.5, 1.5, Decimal("80"))  # 0.5 × 80 + 1 × 40
    monthly = {r[0]: r[1:] for r in rows(
        db, "select channel, new_customers, spend, cac from marts.channel_acquisition_monthly"
            " where month = '2025-03-01'")}
    assert monthly["Paid Search"] == (1.5, Decimal("120"), pytest.approx(80.0))
    assert monthly["Email"] == (0.5, Decimal("0"), 0.0)  # no spend: CAC 0, LTV:CAC NULL


def test_first_touch_default_and_unattributed_first_purchase(db):
    insert(db, touches=[("t1", T - 3 * DAY, "Email", "u:ann"), ("t2", T - DAY, "Paid Search", "u:ann")],
           conversions=[("c1", T, "u:ann", 60), ("c2", T, "u:bob", 10)])
    run(db)
    assert acquisition(db, "u:ann") == {"Email": 1.0}
    assert acquisition(db, "u:bob") == {"Unattributed": 1.0}


def test_an_unknown_acquisition_model_is_a_clear_error(db):
    with pytest.raises(ValueError, match="ACQUISITION_MODEL 'nope'"):
        run_customers(db, CustomerParams(acquisition_model="nope"))


# ---- rule 7: acquisition cost -----------------------------------------------------------------

def test_cac_is_null_without_new_customers_and_spend_of_every_campaign_counts(db):
    insert(db, touches=[("t1", T - DAY, "Paid Search", "u:ann")],
           conversions=[("c1", T, "u:ann", 60)],
           spend=[(date(2025, 3, 2), "Paid Search", 40), (date(2025, 4, 2), "Paid Search", 70)])
    with db, db.cursor() as cur:  # a second campaign the same month
        add_spend(cur, date(2025, 3, 3), "Paid Search", "c2", 20)
    run(db)
    got = {r[0]: r[1:] for r in rows(
        db, "select month, new_customers, spend, cac, ltv_to_cac from marts.channel_acquisition_monthly"
            " where channel = 'Paid Search'")}
    assert got[date(2025, 3, 1)][:3] == (1.0, Decimal("60"), 60.0)
    assert got[date(2025, 4, 1)] == (0.0, Decimal("70"), None, None)


# ---- rule 8: the model inputs -----------------------------------------------------------------

def test_rfm_inputs_sum_revenue_per_day(db):
    day0 = datetime(2025, 3, 1, 10, tzinfo=UTC)
    insert(db, conversions=[
        ("a1", day0, "u:ann", 20), ("a2", day0 + timedelta(hours=5), "u:ann", 30),   # day 0: 50
        ("a3", day0 + 3 * DAY, "u:ann", 40),                                          # day 3: 40
        ("a4", day0 + 7 * DAY, "u:ann", 10), ("a5", day0 + 7 * DAY + US, "u:ann", -5),  # day 7: 5
        ("a6", day0 + 8 * DAY, "u:ann", -7),                                          # day 8: refund only
        ("b1", day0 + 2 * DAY, "u:bob", 15), ("b2", day0 + 2 * DAY + US, "u:bob", 15),  # one day only
        ("x", day0 + 10 * DAY + timedelta(hours=3), "u:z", 0, "signup"),              # as_of: day 10
    ])
    run(db)
    ann = customer(db, "u:ann")
    assert (ann["frequency"], ann["recency_days"], ann["t_days"]) == (2, 7, 10)
    assert ann["monetary_value"] == Decimal("22.5")  # (40 + 5) / 2: the refund-only day is no purchase day
    assert ann["value_to_date"] == Decimal("88")
    bob = customer(db, "u:bob")
    assert (bob["frequency"], bob["recency_days"], bob["t_days"], bob["monetary_value"]) == (0, 0, 8, 0)
    assert bob["p_alive"] is None  # too few repeat customers to fit: predictions are NULL


def test_days_and_months_are_in_the_reporting_timezone(db):
    at = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)  # 28 February, 21:00 in New York
    insert(db, conversions=[("a1", at, "u:ann", 20), ("a2", at + timedelta(hours=23), "u:ann", 5),
                            ("x", at + 2 * DAY, "u:z", 0, "signup")])
    run(db, tz="America/New_York")
    ann = customer(db, "u:ann")
    assert ann["cohort_month"] == date(2025, 2, 1)
    assert (ann["frequency"], ann["recency_days"], ann["t_days"]) == (1, 1, 2)  # 28 Feb, 1 Mar; as_of 2 Mar


def test_no_conversions_gives_empty_tables_and_a_recorded_run(db):
    summary = run(db)
    assert summary.customers == 0 and not summary.fitted
    assert rows(db, "select count(*) from marts.customer_value")[0][0] == 0
    assert rows(db, "select count(*) from ops.customer_runs")[0][0] == 1
