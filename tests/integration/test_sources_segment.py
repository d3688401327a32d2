"""Segment / RudderStack calls in the landing zone: page calls become sessions by timeout,
campaign and referrer; a late call re-forms its device's sessions; identify links devices;
Order Completed is a purchase (real Postgres)."""

from __future__ import annotations

from decimal import Decimal

import psycopg2
import pytest

from marketing.config import Settings
from marketing.pipeline import attribute

from .attribution_fixtures import assert_same_marts, marts
from .landing import rows
from .sources import core, segment_call

pytestmark = pytest.mark.integration
SITE = "https://shop.example.com"
GOOGLE_ADS = {"source": "google", "medium": "cpc", "name": "brand"}


def touches(db) -> list[tuple]:
    return rows(db, "select event_id, occurred_at::text, channel, campaign from core.touchpoints"
                    " order by occurred_at, event_id")


def page(message_id: str, at: str, **kwargs) -> dict:
    return segment_call("page", message_id, at, **kwargs)


def test_a_visit_ends_after_the_timeout_without_a_call(landing, warehouse_url, db):
    landing.write("segment", "2026-03-01", "a", [
        page("m1", "2026-03-01T10:00:00Z", campaign=GOOGLE_ADS),
        page("m2", "2026-03-01T10:29:00Z", url=f"{SITE}/p/1", referrer=f"{SITE}/"),   # 29 minutes: same visit
        page("m3", "2026-03-01T11:00:00.000+00:00", url=f"{SITE}/p/2", referrer=f"{SITE}/p/1"),  # 31 minutes
        page("m4", "2026-03-01T12:10:00+01:00", url=f"{SITE}/p/3", referrer=f"{SITE}/p/2"),  # 11:10Z: 10 minutes
    ])
    landing.ingest(warehouse_url)
    assert touches(db) == [("seg:m1", "2026-03-01 10:00:00+00", "Paid Search", "brand"),
                           ("seg:m3", "2026-03-01 11:00:00+00", "Direct", None)]
    assert rows(db, "select event_id, events from core.sessions order by 1") == [("seg:m1", 2), ("seg:m3", 2)]


def test_the_timeout_is_a_setting(landing, warehouse_url, db):
    landing.write("segment", "2026-03-01", "a", [
        page("m1", "2026-03-01T10:00:00Z"), page("m2", "2026-03-01T10:29:00Z", referrer=f"{SITE}/")])
    landing.ingest(warehouse_url, session_timeout_minutes=20)
    assert [t[0] for t in touches(db)] == ["seg:m1", "seg:m2"]


def test_a_new_campaign_or_an_external_referrer_starts_a_visit_and_an_internal_referrer_does_not(
        landing, warehouse_url, db):
    landing.write("segment", "2026-03-01", "a", [
        page("m1", "2026-03-01T10:00:00Z", campaign=GOOGLE_ADS),
        page("m2", "2026-03-01T10:01:00Z", referrer=f"{SITE}/", campaign=GOOGLE_ADS),  # same campaign: same visit
        page("m3", "2026-03-01T10:02:00Z", url=f"{SITE}/?utm_source=newsletter&utm_medium=email&utm_campaign=weekly",
             referrer=f"{SITE}/"),                                                   # new campaign
        page("m4", "2026-03-01T10:03:00Z", url=f"{SITE}/p/1", referrer=f"{SITE}/"),     # internal: same visit
        page("m5", "2026-03-01T10:04:00Z", url=f"{SITE}/p/2", referrer="https://www.shop.example.com/cart"),
        page("m6", "2026-03-01T10:05:00Z", url=f"{SITE}/p/3", referrer="https://blog.example.org/post"),  # external
        page("m7", "2026-03-01T10:06:00Z", url=f"{SITE}/p/4", referrer="https://help.mybrand.example/faq"),
        page("m8", "2026-03-01T10:07:00Z", campaign=GOOGLE_ADS, referrer=f"{SITE}/p/4"),  # campaign again
    ])
    landing.ingest(warehouse_url, own_domains="mybrand.example")
    assert [(t[0], t[2]) for t in touches(db)] == [
        ("seg:m1", "Paid Search"), ("seg:m3", "Email"), ("seg:m6", "Referral"), ("seg:m8", "Paid Search")]


def test_a_late_call_between_two_visits_joins_them_and_equals_a_clean_load(landing, warehouse_url, db, second_warehouse_url):
    settings = Settings.from_env({"LANDING_URL": landing.url})
    landing.write("segment", "2026-03-01", "a", [
        page("m1", "2026-03-01T10:00:00Z", campaign=GOOGLE_ADS),
        page("m3", "2026-03-01T10:50:00Z", url=f"{SITE}/p/9", referrer=f"{SITE}/"),
        segment_call("track", "o1", "2026-03-01T10:55:00Z", event="Order Completed",
                     properties={"order_id": "A-1", "revenue": 80, "currency": "USD"}),
    ])
    landing.ingest(warehouse_url)
    attribute(warehouse_url, settings)
    assert [t[2] for t in touches(db)] == ["Paid Search", "Direct"]
    assert rows(db, "select channel from marts.attribution_credits where model = 'last_touch'") == [("Direct",)]
    # a page call exported late falls between them: one visit from 10:00 to 10:50
    landing.write("segment", "2026-03-02", "late", [page("m2", "2026-03-01T10:25:00Z", referrer=f"{SITE}/")])
    results = landing.ingest(warehouse_url)
    assert results[0]["changed"] == ["touchpoints", "conversions", "identities"]
    assert touches(db) == [("seg:m1", "2026-03-01 10:00:00+00", "Paid Search", "brand")]
    assert attribute(warehouse_url, settings)["mode"] == "incremental"
    assert rows(db, "select channel from marts.attribution_credits where model = 'last_touch'") == [("Paid Search",)]
    clean = psycopg2.connect(second_warehouse_url)
    try:
        landing.ingest(second_warehouse_url)
        attribute(second_warehouse_url, settings)
        assert core(db) == core(clean)
        assert_same_marts(marts(db), marts(clean))
    finally:
        clean.close()


def test_identify_calls_link_devices_and_user_only_calls_form_their_own_sessions(landing, warehouse_url, db):
    landing.write("segment", "2026-03-01", "a", [
        page("m1", "2026-03-01T09:00:00Z", anonymous_id="phone"),
        page("m2", "2026-03-01T10:00:00Z", anonymous_id="laptop"),
        segment_call("identify", "i1", "2026-03-01T10:01:00Z", anonymous_id="phone", user_id="u1"),
        segment_call("identify", "i2", "2026-03-01T10:02:00Z", anonymous_id="laptop", user_id="u1"),
        page("m3", "2026-03-01T12:00:00Z", anonymous_id=None, user_id="u1"),
    ])
    landing.ingest(warehouse_url)
    assert rows(db, "select anonymous_id, user_id from core.identities order by 1") == [("laptop", "u1"), ("phone", "u1")]
    assert rows(db, "select event_id, anonymous_id, user_id, person_key from core.touchpoints order by 1") == [
        ("seg:m1", "phone", None, "u:u1"), ("seg:m2", "laptop", None, "u:u1"), ("seg:m3", None, "u1", "u:u1")]
    assert rows(db, "select device_id from core.sessions order by 1") == [("laptop",), ("phone",), ("userId:u1",)]


def test_order_completed_with_revenue_with_only_total_and_in_another_currency(landing, warehouse_url, db):
    landing.write("fx_rates", "2026-03-01", "rates", ["date,currency,rate", "2026-03-01,EUR,1.10"])
    order = lambda message_id, props: segment_call("track", message_id, "2026-03-01T10:00:00Z",  # noqa: E731
                                                   event="Order Completed", properties=props)
    landing.write("segment", "2026-03-01", "a", [
        order("o1", {"order_id": "A-1", "revenue": 25.5, "total": 30, "currency": "USD"}),
        order("o2", {"order_id": "A-2", "total": "30.10", "currency": "usd"}),
        order("o3", {"order_id": "A-3", "revenue": 10, "currency": "EUR"}),
        order("o4", {"order_id": "A-1", "revenue": 99, "currency": "USD"}),      # re-sent order: first wins
        order("o5", {"order_id": "A-5", "revenue": 10, "currency": "JPY"}),      # no rate: quarantined
        segment_call("track", "s1", "2026-03-01T10:00:00Z", event="Signed Up", user_id="u1"),
        segment_call("track", "x1", "2026-03-01T10:00:00Z", event="Newsletter Opened"),
        {"type": "page", "timestamp": "2026-03-01T10:00:00Z", "anonymousId": "d1"},
        {"type": "flush", "messageId": "z", "timestamp": "2026-03-01T10:00:00Z", "anonymousId": "d1"},
    ])
    landing.ingest(warehouse_url)
    assert rows(db, "select conversion_id, conversion_type, revenue, revenue_original, currency from core.conversions"
                    " order by 1") == [
        ("A-1", "purchase", Decimal("25.5"), Decimal("25.5"), "USD"),
        ("A-2", "purchase", Decimal("30.10"), Decimal("30.10"), "USD"),
        ("A-3", "purchase", Decimal("11.00"), Decimal("10"), "EUR"),
        ("s1", "signup", Decimal("0"), Decimal("0"), None),
    ]
    assert rows(db, "select line_number, reason from ops.quarantine order by 1") == [
        (5, "no fx rate for JPY on 2026-03-01 (add it to fx_rates)"),
        (8, "missing required field messageId"),
        (9, "not a Segment call: type must be page, screen, track or identify, got 'flush'"),
    ]
    assert rows(db, "select count(*) from raw.segment") == [(6,)]
