"""GA4 export rows in the landing zone: sessions become touchpoints, mapped events conversions,
user ids identities; incremental across files equals a clean load (real Postgres)."""

from __future__ import annotations

from decimal import Decimal

import psycopg2
import pytest

from marketing.config import Settings
from marketing.pipeline import attribute

from .attribution_fixtures import assert_same_marts, marts
from .landing import rows, touch
from .sources import core, ga4_event, micros

pytestmark = pytest.mark.integration


def touches(db) -> list[tuple]:
    return rows(db, "select event_id, occurred_at::text, anonymous_id, user_id, source, medium, campaign, channel"
                    " from core.touchpoints order by occurred_at, event_id")


def test_a_session_is_one_touch_whose_campaign_comes_from_its_first_event_that_carries_one(landing, warehouse_url, db):
    landing.write("ga4", "2026-03-01", "events_20260301", [
        ga4_event("session_start", "2026-03-01T10:00:00Z", referrer="https://www.facebook.com/"),
        ga4_event("page_view", "2026-03-01T10:00:01Z", page="https://shop.example.com/p/1",
                  manual={"source": "facebook", "medium": "paid_social", "campaign_name": "spring"}),
        ga4_event("page_view", "2026-03-01T10:05:00Z", page="https://shop.example.com/p/2",
                  referrer="https://shop.example.com/p/1"),
        ga4_event("page_view", "2026-03-01T10:06:00Z", manual={"source": "google", "medium": "cpc"}),
    ])
    landing.ingest(warehouse_url)
    # one visit, at its first event; later page views are not touches of their own (no Direct)
    assert touches(db) == [("ga4:p1:1001", "2026-03-01 10:00:00+00", "p1", None, "facebook", "paid_social",
                            "spring", "Paid Social")]
    assert rows(db, "select count(*), min(event_name) from raw.ga4") == [(4, "page_view")]
    assert rows(db, "select events from core.sessions") == [(4,)]


def test_gclid_without_manual_source_is_google_cpc(landing, warehouse_url, db):
    landing.write("ga4", "2026-03-01", "a", [
        ga4_event("page_view", "2026-03-01T10:00:00Z", gclid="EAIaIQobChMI", referrer="https://www.google.com/"),
    ])
    landing.ingest(warehouse_url)
    assert [t[4:] for t in touches(db)] == [("google", "cpc", None, "Paid Search")]


def test_utm_only_in_page_location(landing, warehouse_url, db):
    landing.write("ga4", "2026-03-01", "a", [
        ga4_event("session_start", "2026-03-01T10:00:00Z",
                  page="https://shop.example.com/?utm_source=newsletter&utm_medium=email&utm_campaign=weekly"),
        ga4_event("page_view", "2026-03-01T10:00:03Z", page="https://shop.example.com/?utm_source=x&utm_medium=cpc"),
    ])
    landing.ingest(warehouse_url)
    assert [t[4:] for t in touches(db)] == [("newsletter", "email", "weekly", "Email")]


def test_ga_attribution_fields_are_never_the_touch_source(landing, warehouse_url, db):
    landing.write("ga4", "2026-03-01", "a", [ga4_event("page_view", "2026-03-01T10:00:00Z")])
    landing.ingest(warehouse_url)
    assert [t[4:] for t in touches(db)] == [("(direct)", "(none)", None, "Direct")]


def test_int64_values_as_strings_and_as_numbers_are_the_same(landing, warehouse_url, db):
    landing.write("ga4", "2026-03-01", "a", [
        ga4_event("session_start", "2026-03-01T10:00:00Z", session=1740819600, int64_as_string=True,
                  manual={"source": "google", "medium": "cpc", "campaign_name": "brand"}),
        ga4_event("page_view", "2026-03-01T10:01:00Z", session=1740819600, int64_as_string=False),
        ga4_event("page_view", "2026-03-01T10:02:00.250000Z", session="1740819600", int64_as_string=False),
    ])
    landing.ingest(warehouse_url)
    assert [t[:2] for t in touches(db)] == [("ga4:p1:1740819600", "2026-03-01 10:00:00+00")]
    assert rows(db, "select max(occurred_at)::text from raw.ga4") == [("2026-03-01 10:02:00.25+00",)]
    assert rows(db, "select events from core.sessions") == [(3,)]


def test_two_sessions_of_one_device_on_two_days_are_two_touches(landing, warehouse_url, db):
    landing.write("ga4", "2026-03-01", "a", [
        ga4_event("page_view", "2026-03-01T23:50:00Z", session=1, manual={"source": "newsletter", "medium": "email"}),
    ])
    landing.write("ga4", "2026-03-02", "a", [
        ga4_event("page_view", "2026-03-02T09:00:00Z", session=2, referrer="https://www.google.com/"),
        ga4_event("page_view", "2026-03-02T09:01:00Z", session=2),
    ])
    landing.ingest(warehouse_url)
    assert [(t[0], t[7]) for t in touches(db)] == [("ga4:p1:1", "Email"), ("ga4:p1:2", "Organic Search")]


def test_a_user_id_that_appears_mid_session_links_the_device(landing, warehouse_url, db):
    landing.write("ga4", "2026-03-01", "a", [
        ga4_event("page_view", "2026-03-01T10:00:00Z"),
        ga4_event("login", "2026-03-01T10:03:00Z", user_id="u1"),
        ga4_event("page_view", "2026-03-01T10:04:00Z", user_id="u1"),
        ga4_event("page_view", "2026-03-02T08:00:00Z", session=2002),
    ])
    landing.ingest(warehouse_url)
    assert rows(db, "select anonymous_id, user_id, linked_at::text from core.identities") == [
        ("p1", "u1", "2026-03-01 10:03:00+00")]
    assert rows(db, "select event_id, user_id, person_key from core.touchpoints order by 1") == [
        ("ga4:p1:1001", "u1", "u:u1"), ("ga4:p1:2002", None, "u:u1")]


def test_a_purchase_repeated_with_its_transaction_id_is_one_conversion(landing, warehouse_url, db):
    purchase = dict(params={"currency": "USD", "value": 10.0}, user_id="u1")
    landing.write("ga4", "2026-03-01", "a", [
        ga4_event("purchase", "2026-03-01T10:00:00Z", ecommerce={"transaction_id": "T1", "purchase_revenue": 49.9},
                  **purchase),
        ga4_event("purchase", "2026-03-01T10:00:05Z", ecommerce={"transaction_id": "T1", "purchase_revenue": 99},
                  **purchase),
    ])
    landing.write("ga4", "2026-03-02", "a", [
        ga4_event("purchase", "2026-03-02T10:00:00Z", ecommerce={"transaction_id": "T1", "purchase_revenue": 5},
                  **purchase),
        ga4_event("sign_up", "2026-03-02T11:00:00Z", params={"value": 0}),
    ])
    landing.ingest(warehouse_url)
    assert rows(db, "select conversion_id, occurred_at::text, conversion_type, revenue, currency, person_key"
                    " from core.conversions order by 1") == [
        ("T1", "2026-03-01 10:00:00+00", "purchase", Decimal("49.9"), "USD", "u:u1"),
        (f"ga4:p1:{micros('2026-03-02T11:00:00Z')}:sign_up", "2026-03-02 11:00:00+00", "signup", Decimal("0"), None, "u:u1"),
    ]


def test_an_unmapped_event_is_no_conversion(landing, warehouse_url, db):
    landing.write("ga4", "2026-03-01", "a", [
        ga4_event("scroll", "2026-03-01T10:00:00Z", params={"value": 3.0, "currency": "USD"}),
        ga4_event("view_item", "2026-03-01T10:01:00Z", params={"value": 30.0, "currency": "USD"}),
    ])
    landing.ingest(warehouse_url, ga4_conversion_events="purchase=purchase")
    assert rows(db, "select count(*) from core.conversions") == [(0,)]
    landing.write("ga4", "2026-03-02", "a", [
        ga4_event("view_item", "2026-03-02T10:01:00Z", params={"value": 30.0, "currency": "USD"})])
    landing.ingest(warehouse_url)  # default map: view_item is a conversion, scroll never
    assert rows(db, "select conversion_type, revenue from core.conversions") == [("view_item", Decimal("30.0"))]


def test_a_line_of_another_shape_is_quarantined_with_its_reason(landing, warehouse_url, db):
    landing.write("ga4", "2026-03-01", "a", [
        ga4_event("page_view", "2026-03-01T10:00:00Z"),
        touch("e1", "2026-03-01T10:00:00Z"),
        "[1, 2]",
        '{"event_name": "page_view", "event_timestamp": "soon", "user_pseudo_id": "p2"}',
        '{"event_name": "page_view", "event_timestamp": "1", "event_params": {"k": 1}, "user_pseudo_id": "p2"}',
        ga4_event("purchase", "2026-03-01T10:00:00Z", ecommerce={"transaction_id": "T9", "purchase_revenue": 5}),
        ga4_event("page_view", "2026-03-01T10:00:00Z", pseudo=None),
    ])
    results = landing.ingest(warehouse_url)
    assert [(r["rows_total"], r["rows_loaded"], r["rows_quarantined"]) for r in results] == [(7, 1, 6)]
    assert rows(db, "select line_number, reason from ops.quarantine order by 1") == [
        (2, "not a GA4 export row: missing event_name"),
        (3, "not a JSON object (a list)"),
        (4, "event_timestamp is not an integer: 'soon'"),
        (5, "event_params must be an array, got dict"),
        (6, "currency is required when revenue is not 0"),
        (7, "missing required field user_pseudo_id"),
    ]


def test_each_file_version_loads_once_and_a_restated_file_replaces_its_sessions(landing, warehouse_url, db):
    path = landing.write("ga4", "2026-03-01", "a", [
        ga4_event("page_view", "2026-03-01T10:00:00Z", manual={"source": "google", "medium": "cpc"}),
        ga4_event("page_view", "2026-03-01T11:00:00Z", session=2),
    ])
    landing.ingest(warehouse_url)
    before = core(db)
    assert landing.ingest(warehouse_url) == []
    assert core(db) == before
    landing.write("ga4", "2026-03-01", "a", [
        ga4_event("page_view", "2026-03-01T10:00:00Z", manual={"source": "bing", "medium": "cpc"}),
    ])
    assert [r["status"] for r in landing.ingest(warehouse_url)] == ["restated"]
    assert [(t[0], t[4]) for t in touches(db)] == [("ga4:p1:1001", "bing")]
    assert path.exists()


def test_a_late_event_reforms_its_session_and_equals_a_clean_load(landing, warehouse_url, db, second_warehouse_url):
    settings = Settings.from_env({"LANDING_URL": landing.url})
    landing.write("ga4", "2026-03-01", "a", [
        ga4_event("page_view", "2026-03-01T10:05:00Z", referrer="https://shop.example.com/"),
        ga4_event("purchase", "2026-03-01T10:20:00Z", params={"currency": "USD"},
                  ecommerce={"transaction_id": "T1", "purchase_revenue": 20}),
        ga4_event("page_view", "2026-02-27T09:00:00Z", session=900, manual={"source": "newsletter", "medium": "email"}),
    ])
    landing.ingest(warehouse_url)
    attribute(warehouse_url, settings)
    assert [t[7] for t in touches(db)] == ["Email", "Direct"]
    # the session's first event arrives a day later, with the campaign that brought the visit
    landing.write("ga4", "2026-03-02", "late", [
        ga4_event("session_start", "2026-03-01T10:00:00Z", referrer="https://www.google.com/",
                  manual={"source": "google", "medium": "cpc", "campaign_name": "brand"}),
    ])
    landing.ingest(warehouse_url)
    assert rows(db, "select count(*) from ops.attribution_queue where kind = 'person'") == [(1,)]
    assert attribute(warehouse_url, settings)["mode"] == "incremental"
    assert [t[1:] for t in touches(db)][1] == ("2026-03-01 10:00:00+00", "p1", None, "google", "cpc", "brand",
                                               "Paid Search")
    # a clean load of the same files gives the same core and marts
    clean = psycopg2.connect(second_warehouse_url)
    try:
        landing.ingest(second_warehouse_url)
        attribute(second_warehouse_url, settings)
        assert core(db) == core(clean)
        assert_same_marts(marts(db), marts(clean))
    finally:
        clean.close()


def test_restating_a_login_relinks_the_device_from_the_live_files_as_a_clean_load_does(landing, warehouse_url, db, second_warehouse_url):
    """fix15a's rules (README, "Which value wins") hold for the sources: a restated GA4 file takes
    its devices' links again from every live file, and a purchase in an older folder wins its id."""
    settings = Settings.from_env({"LANDING_URL": landing.url})
    landing.write("ga4", "2026-03-02", "b", [
        ga4_event("page_view", "2026-03-02T08:00:00Z", session=2002),
        ga4_event("purchase", "2026-03-02T08:05:00Z", session=2002, params={"currency": "USD"},
                  ecommerce={"transaction_id": "T9", "purchase_revenue": 30}),
    ])
    landing.write("ga4", "2026-03-01", "a", [
        ga4_event("page_view", "2026-03-01T10:00:00Z"),
        ga4_event("login", "2026-03-01T10:03:00Z", user_id="wrong"),
    ])
    landing.write("segment", "2026-03-01", "s", [{
        "type": "identify", "messageId": "i1", "timestamp": "2026-03-01T12:00:00Z", "anonymousId": "p1", "userId": "u7"}])
    landing.ingest(warehouse_url)
    attribute(warehouse_url, settings)
    assert rows(db, "select user_id from core.identities where anonymous_id = 'p1'") == [("wrong",)]
    # the login is corrected: the Segment identify is now the earliest live link of the device
    landing.write("ga4", "2026-03-01", "a", [ga4_event("page_view", "2026-03-01T10:00:00Z")])
    assert [r["status"] for r in landing.ingest(warehouse_url)] == ["restated"]
    assert rows(db, "select user_id from core.identities where anonymous_id = 'p1'") == [("u7",)]
    assert {r[0] for r in rows(db, "select person_key from core.touchpoints")} == {"u:u7"}
    # a late file in an older folder carries the same transaction: it takes the id over
    landing.write("ga4", "2026-02-28", "late", [
        ga4_event("purchase", "2026-03-02T08:05:00Z", session=2002, params={"currency": "USD"},
                  ecommerce={"transaction_id": "T9", "purchase_revenue": 31}),
    ])
    landing.ingest(warehouse_url)
    assert rows(db, "select revenue_original from core.conversions") == [(Decimal("31"),)]
    assert attribute(warehouse_url, settings)["mode"] == "incremental"
    clean = psycopg2.connect(second_warehouse_url)
    try:
        landing.ingest(second_warehouse_url)
        attribute(second_warehouse_url, settings)
        assert core(db) == core(clean)
        assert_same_marts(marts(db), marts(clean))
    finally:
        clean.close()
