"""Line rules of the GA4 and Segment sources, and the helpers sessions are formed with."""

from __future__ import annotations

import json
from datetime import date, timezone

import pytest

from marketing.config import Settings
from marketing.ingest.channels import ChannelClassifier
from marketing.ingest.parse import FeedContext, Reject
from marketing.ingest.sources import FEEDS, feed_rules
from marketing.ingest.sources.events import is_external, utm_of
from marketing.ingest.sources.ga4 import ga4_row, ga4_session
from marketing.ingest.sources.segment import segment_row

SETTINGS = Settings.from_env({"OWN_DOMAINS": "mybrand.example"})


@pytest.fixture(scope="module")
def ctx():
    base = FeedContext(ChannelClassifier.load(), "USD", timezone.utc, frozenset({(date(2026, 3, 1), "EUR")}))
    return feed_rules("ga4").context(base, SETTINGS), feed_rules("segment").context(base, SETTINGS)


def test_the_event_sources_load_after_the_native_feeds():
    assert FEEDS == ("fx_rates", "ad_spend", "conversions", "touchpoints", "ga4", "segment")


@pytest.mark.parametrize("referrer, page, external", [
    ("https://www.google.com/", "https://shop.example.com/", True),
    ("https://shop.example.com/cart", "https://www.shop.example.com/", False),
    ("https://help.mybrand.example/", "https://shop.example.com/", False),
    (None, "https://shop.example.com/", False),
    ("android-app://com.google.android.gm", "https://shop.example.com/", True),
])
def test_external_referrers(referrer, page, external):
    assert is_external(referrer, page, SETTINGS.own_domains) is external


def test_utm_parameters_of_a_url():
    assert utm_of("https://x.example/?utm_source=a&utm_medium=b&utm_content=") == ("a", "b", None, None, None)
    assert utm_of("https://x.example/") == (None,) * 5


def ga4_line(**fields) -> str:
    row = {"event_name": "purchase", "event_timestamp": "1772359200000000", "user_pseudo_id": "p1",
           "event_params": [{"key": "ga_session_id", "value": {"int_value": 77}},
                            {"key": "currency", "value": {"string_value": "EUR"}},
                            {"key": "value", "value": {"double_value": 3.5}}],
           "ecommerce": {"transaction_id": "T1", "purchase_revenue": 12.5}}
    row.update(fields)
    return json.dumps(row)


def test_ga4_purchase_is_a_conversion_in_its_currency(ctx):
    row = dict(zip(feed_rules("ga4").columns, ga4_row(ga4_line(), ctx[0])))
    assert row["occurred_at"] == "2026-03-01T10:00:00+00:00" and row["ga_session_id"] == "77"
    assert (row["conversion_id"], row["conversion_type"], row["revenue"], row["currency"]) == ("T1", "purchase", "12.5", "EUR")


def test_ga4_purchase_without_a_transaction_id_gets_the_event_key(ctx):
    row = dict(zip(feed_rules("ga4").columns, ga4_row(ga4_line(ecommerce={"transaction_id": "(not set)"}), ctx[0])))
    assert row["conversion_id"] == "ga4:p1:1772359200000000:purchase" and row["revenue"] == "3.5"


@pytest.mark.parametrize("fields, reason", [
    ({"event_timestamp": "-5"}, "out of range"),
    ({"event_timestamp": True}, "not an integer"),
    ({"event_params": [{"key": "ga_session_id", "value": "x"}]}, "value must be an object"),
    ({"collected_traffic_source": "google"}, "must be an object"),
    ({"ecommerce": {"transaction_id": "T1", "purchase_revenue": "lots"}}, "revenue is not a number"),
])
def test_ga4_bad_rows_say_why(ctx, fields, reason):
    with pytest.raises(Reject, match=reason):
        ga4_row(ga4_line(**fields), ctx[0])


def test_ga4_session_traffic_rules():
    base = ("p1", "77", None, "https://shop.example.com/?utm_source=news&utm_medium=email", "https://shop.example.com/",
            1, 1)
    assert ga4_session(base + (None,) * 6 + (None, 3)).utm[:2] == ("news", "email")
    gclid = ga4_session(base + (None, None, "brand", None, None, "Cj0") + ("u1", 3))
    assert gclid.utm[:3] == ("google", "cpc", "brand") and gclid.user_id == "u1"
    assert gclid.referrer is None  # the page's own host: internal


def test_segment_page_call_takes_the_url_campaign_when_context_has_none(ctx):
    line = json.dumps({"type": "page", "messageId": "m1", "timestamp": "2026-03-01T10:00:00+01:00", "userId": 42,
                       "properties": {"url": "https://shop.example.com/?utm_source=a&utm_medium=b",
                                      "referrer": "https://www.bing.com/"}})
    row = dict(zip(feed_rules("segment").columns, segment_row(line, ctx[1])))
    assert row["device_id"] == "userId:42" and row["anonymous_id"] is None
    assert (row["utm_source"], row["utm_medium"], row["external_referrer"]) == ("a", "b", "t")


@pytest.mark.parametrize("call, reason", [
    ({"type": "track", "messageId": "m", "timestamp": "2026-03-01T10:00:00Z", "anonymousId": "d"}, "event name"),
    ({"type": "page", "messageId": "m", "timestamp": "2026-03-01T10:00:00", "anonymousId": "d"}, "no UTC offset"),
    ({"type": "page", "messageId": "m", "timestamp": "2026-03-01T10:00:00Z"}, "anonymousId or userId"),
    ({"type": "page", "messageId": "m", "timestamp": "2026-03-01T10:00:00Z", "anonymousId": "d", "context": []},
     "context must be an object"),
    ({"type": "track", "event": "Order Completed", "messageId": "m", "timestamp": "2026-03-01T10:00:00Z",
      "anonymousId": "d", "properties": {"order_id": "o", "revenue": 5}}, "currency is required"),
])
def test_segment_bad_calls_say_why(ctx, call, reason):
    with pytest.raises(Reject, match=reason):
        segment_row(json.dumps(call), ctx[1])


@pytest.mark.parametrize("source, row", [("ga4", ga4_row), ("segment", segment_row)])
def test_the_sample_writes_valid_rows_of_each_source(tmp_path, ctx, source, row):
    from marketing.dev.sample import generate

    generate(tmp_path.as_uri(), days=3, touchpoints_per_day=200, seed=3, bad_line_rate=0, source=source,
             end_date=date(2026, 3, 3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ad_spend", "fx_rates", source]
    context = ctx[0] if source == "ga4" else ctx[1]
    context = type(context)(context.classifier, "USD", timezone.utc, frozenset(
        (date(2026, 3, d), c) for d in (1, 2, 3) for c in ("EUR", "GBP", "JPY")), context.conversion_events,
        context.own_domains)
    lines = [line for path in (tmp_path / source).rglob("*.jsonl") for line in path.read_text().splitlines()]
    assert len(lines) > 600
    rows = [row(line, context) for line in lines]
    pages = [r for r in rows if (r[0] == "page_view" if source == "ga4" else r[1] == "page")]
    assert len(pages) > len(lines) // 2  # several page views per visit


def test_visits_of_a_device_are_more_than_a_session_timeout_apart():
    import numpy as np

    from marketing.dev.sample import VISIT_GAP, _spread_visits

    t = np.array([0, 100, 200, 5000, 86_399, 10, 20])
    key = np.array([1, 1, 1, 1, 1, 2, 3])
    spread = _spread_visits(t, key, 86_400)
    device = np.sort(spread[key == 1])
    assert np.diff(device).min() >= VISIT_GAP and device.max() < 86_400
    assert list(spread[key != 1]) == [10, 20]


# ---- the native limits of README, "Bad input", in the source line rules -------------------------

LONG = "é" * 201
LONG_URL = "https://shop.example.com/?q=" + "x" * 8192


@pytest.mark.parametrize("fields, reason", [
    ({"user_pseudo_id": LONG}, r"user_pseudo_id longer than 200 characters \(201\)"),
    ({"user_id": LONG}, "user_id longer than 200 characters"),
    ({"event_name": LONG}, "event_name longer than 200 characters"),
    ({"collected_traffic_source": {"manual_campaign_name": LONG}}, "manual_campaign_name longer than 200"),
    ({"event_timestamp": "7258118400000000"}, "out of range"),  # 2200-01-01T00:00:00Z, excluded
    ({"ecommerce": {"transaction_id": LONG, "purchase_revenue": 1}}, "transaction_id longer than 200"),
    ({"ecommerce": {"transaction_id": "T1", "purchase_revenue": 0.30000000000000004}}, "more than 8 decimal places"),
    ({"ecommerce": {"transaction_id": "T1", "purchase_revenue": 1e15}}, "out of range"),
])
def test_ga4_rows_keep_the_native_limits(ctx, fields, reason):
    with pytest.raises(Reject, match=reason):
        ga4_row(ga4_line(**fields), ctx[0])


def test_ga4_limits_reach_the_page_location_and_its_utm_values(ctx):
    params = lambda url: [{"key": "ga_session_id", "value": {"int_value": 77}},  # noqa: E731
                          {"key": "page_location", "value": {"string_value": url}}]
    with pytest.raises(Reject, match="page_location longer than 8192"):
        ga4_row(ga4_line(event_name="page_view", event_params=params(LONG_URL)), ctx[0])
    with pytest.raises(Reject, match="utm_campaign longer than 200"):
        ga4_row(ga4_line(event_name="page_view", event_params=params("https://s.example/?utm_campaign=" + "c" * 201)), ctx[0])
    edge = ga4_row(ga4_line(event_name="page_view", user_pseudo_id="é" * 200,
                            event_params=params("https://s.example/?utm_campaign=" + "c" * 200)), ctx[0])
    assert edge[3] == "é" * 200
    line = ga4_line(ecommerce={"transaction_id": "T1", "purchase_revenue": 12.5}).replace("12.5", "999999999999999.99999999")
    exact = dict(zip(feed_rules("ga4").columns, ga4_row(line, ctx[0])))
    assert exact["revenue"] == "999999999999999.99999999"  # from the text, never through a float


def segment_page(**more) -> dict:
    return {"type": "page", "messageId": "m", "timestamp": "2026-03-01T10:00:00Z", "anonymousId": "d", **more}


@pytest.mark.parametrize("call, reason", [
    (segment_page(messageId=LONG), "messageId longer than 200"),
    (segment_page(anonymousId=LONG), "anonymousId longer than 200"),
    (segment_page(context={"page": {"url": LONG_URL}}), "url longer than 8192"),
    (segment_page(context={"page": {"url": "https://s.example/", "referrer": LONG_URL}}), "referrer longer than 8192"),
    (segment_page(context={"campaign": {"name": LONG}}), "context.campaign.name longer than 200"),
    (segment_page(context={"page": {"url": "https://s.example/?utm_source=" + "s" * 201}}), "utm_source longer than 200"),
    (segment_page(timestamp="9999-12-31T23:30:00-05:00"), "occurred_at|timestamp"),
    ({"type": "track", "event": "Order Completed", "messageId": "m", "timestamp": "2026-03-01T10:00:00Z",
      "anonymousId": "d", "properties": {"order_id": "o", "revenue": 0.30000000000000004, "currency": "USD"}},
     "more than 8 decimal places"),
])
def test_segment_calls_keep_the_native_limits(ctx, call, reason):
    with pytest.raises(Reject, match=reason):
        segment_row(json.dumps(call), ctx[1])


def test_orders_rows_keep_the_native_limits():
    from datetime import datetime, timedelta

    from marketing.ingest.sources.orders import order_row

    good = {"conversion_id": "o1", "occurred_at": datetime(2026, 3, 1, tzinfo=timezone.utc), "user_id": "u1",
            "anonymous_id": None, "conversion_type": "purchase", "revenue": 0, "currency": None,
            "updated_at": datetime(2026, 3, 1, tzinfo=timezone.utc)}
    assert order_row(good, frozenset(), SETTINGS)[0] == "o1"
    for field, value, reason in [
        ("conversion_id", LONG, "conversion_id longer than 200"),
        ("user_id", LONG, "user_id longer than 200"),
        ("conversion_type", LONG, "conversion_type longer than 200"),
        ("occurred_at", datetime(9999, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-5))), "out of range"),
        ("occurred_at", datetime(1969, 12, 31, 23, 59, tzinfo=timezone.utc), "out of range"),
    ]:
        with pytest.raises(Reject, match=reason):
            order_row({**good, field: value}, frozenset(), SETTINGS)
