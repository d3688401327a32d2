"""What one bad line or one odd file can do to a feed: at worst, go to quarantine with its reason.

Every input a fault drill found to stop a feed or the attribution is here, among good files;
the good rows load, the bad ones are quarantined, and the next run (ingest and attribution) is
clean. Limits are in README (Bad input) and `marketing.ingest.parse`.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from marketing.attribution.models import MODELS
from marketing.ingest.parse import AMOUNT_DECIMALS, AMOUNT_LIMIT, EARLIEST, LATEST, TEXT_LIMITS
from marketing.pipeline import attribute

from .landing import conversion, rows, touch

pytestmark = pytest.mark.integration
SPEND_HEADER = "date,source,medium,campaign,spend,currency"


def test_every_bad_input_of_the_drill_in_one_landing_zone_quarantines_only_itself(landing, warehouse_url, db):
    good = [touch(f"g{i}", "2026-01-01T08:00:00Z", f"d{i}", utm_source="google", utm_medium="cpc",
                  utm_campaign="brand") for i in range(3)]
    landing.write("touchpoints", "2026-01-01", "a-good", good[:1])
    landing.write("touchpoints", "2026-01-01", "b-bad", [
        good[1],
        touch("e" * 10_000, "2026-01-01T09:00:00Z"),                      # index row too large on the key
        touch("big-campaign", "2026-01-01T09:00:00Z", utm_campaign="c" * 4_000),  # on the person-path index
        touch("far-future", "9999-12-31T23:30:00-05:00"),
        json.dumps(touch("line\u2028sep", "2026-01-01T09:30:00Z"), ensure_ascii=False),  # one line, loads
    ])
    landing.write("touchpoints", "2026-01-01", "c-odd\nname", [good[2]])  # a newline in the file name
    landing.write("conversions", "2026-01-01", "orders", [
        conversion("ok1", "2026-01-01T10:00:00Z", 25, "USD", anonymous_id="d0"),
        conversion("overflow", "9999-12-31T23:30:00-05:00", 10, "USD"),  # OverflowError for the fx day
        conversion("string-1e400", "2026-01-01T10:00:00Z", "1e400", "USD"),
        '{"conversion_id": "number-1e400", "occurred_at": "2026-01-01T10:00:00Z", "anonymous_id": "a1",'
        ' "conversion_type": "purchase", "revenue": 1e400, "currency": "USD"}',
        '{"conversion_id": "thirty-digits", "occurred_at": "2026-01-01T10:00:00Z", "anonymous_id": "a1",'
        ' "conversion_type": "purchase", "revenue": 123456789012345678901234567890, "currency": "USD"}',
        conversion("c" * 10_000, "2026-01-01T10:00:00Z", 5, "USD"),
        conversion("ok2", "2026-01-01T11:00:00Z", 30, "USD", anonymous_id="d1"),
    ])
    landing.write("ad_spend", "2026-01-01", "spend", [
        SPEND_HEADER,
        "2026-01-01,google,cpc,brand,40.00,USD",
        "2026-01-01,google,cpc,huge,1e400,USD",
        "2026-01-01,google,cpc,refund,-3.00,USD",
        f"2026-01-01,google,cpc,{'x' * 4_000},1,USD",
        '2026-01-01,google,cpc,"quoted\nnewline",2.50,USD',
    ])
    landing.write("touchpoints", "2026-01-02", "d-good", [touch("g3", "2026-01-02T08:00:00Z", "d3")])
    latin1 = landing.write("touchpoints", "2026-01-02", "e-latin1", ["x"])
    latin1.write_bytes(
        (json.dumps(touch("u1", "2026-01-02T09:00:00Z")) + "\n").encode()
        + b'{"event_id": "caf\xe9", "occurred_at": "2026-01-02T09:00:00Z", "anonymous_id": "a1"}\n'
        + (json.dumps(touch("u2", "2026-01-02T09:00:00Z")) + "\n").encode()
    )

    results = landing.ingest(warehouse_url)  # nothing raises
    assert sorted(r["status"] for r in results) == ["loaded"] * len(results)
    assert rows(db, "select event_id from core.touchpoints order by 1") == [
        ("g0",), ("g1",), ("g2",), ("g3",), ("line\u2028sep",), ("u1",), ("u2",)]
    assert rows(db, "select conversion_id, revenue from core.conversions order by 1") == [
        ("ok1", Decimal("25")), ("ok2", Decimal("30"))]
    assert rows(db, "select campaign, spend from core.ad_spend order by 1") == [
        ("brand", Decimal("40.00")), ("quoted\nnewline", Decimal("2.50"))]
    reasons = [reason for (reason,) in rows(db, "select reason from ops.quarantine order by quarantine_id")]
    expected = [
        f"event_id longer than {TEXT_LIMITS['event_id']} characters",
        f"utm_campaign longer than {TEXT_LIMITS['utm_campaign']} characters",
        "occurred_at out of range",
        "occurred_at out of range",
        "revenue out of range",
        "revenue out of range",
        "revenue out of range",
        f"conversion_id longer than {TEXT_LIMITS['conversion_id']} characters",
        "spend out of range",
        "spend is negative",
        "campaign longer than",
        "not UTF-8",
    ]
    assert len(reasons) == len(expected), reasons
    for reason in expected:
        assert any(reason in r for r in reasons), (reason, reasons)

    attribute(warehouse_url, landing.settings())  # attribution runs over what loaded
    # 2 campaigns, every model
    assert rows(db, "select count(*) from marts.roas_daily where spend > 0") == [(2 * len(MODELS),)]
    assert landing.ingest(warehouse_url) == []  # the next run is clean: nothing pending, nothing fails
    assert attribute(warehouse_url, landing.settings())["mode"] == "incremental"


def test_values_at_every_limit_load_and_are_attributed(landing, warehouse_url, db):
    """The limits are low enough for every index and for ROAS/CPA: values right at them go through."""
    wide = "\U0001f600"  # four bytes in UTF-8: the widest a character gets in an index row
    ids = {name: wide * TEXT_LIMITS[name] for name in ("event_id", "anonymous_id", "user_id", "conversion_id")}
    utm = {name: wide * TEXT_LIMITS[name] for name in ("utm_source", "utm_medium", "utm_campaign")}
    assert LATEST.isoformat() == "2200-01-01T00:00:00+00:00"
    largest = AMOUNT_LIMIT - Decimal(1).scaleb(-AMOUNT_DECIMALS)
    smallest = Decimal(1).scaleb(-AMOUNT_DECIMALS)
    landing.write("touchpoints", "2026-01-01", "t", [
        {"event_id": ids["event_id"], "occurred_at": "2026-01-01T08:00:00Z", "anonymous_id": ids["anonymous_id"],
         "user_id": ids["user_id"], **utm},
        touch("early", EARLIEST.isoformat(), "d1"),
        touch("late", "2199-12-31T23:59:59.999999Z", "d1"),
    ])
    landing.write("conversions", "2026-01-01", "c", [
        conversion(ids["conversion_id"], "2026-01-01T09:00:00Z", str(largest), "USD", user_id=ids["user_id"],
                   conversion_type=wide * TEXT_LIMITS["conversion_type"]),
        conversion("first", EARLIEST.isoformat(), str(-largest), "USD", anonymous_id="d1"),
        conversion("last", "2199-12-31T23:59:59.999999-00:00", str(smallest), "USD", anonymous_id="d1"),
    ])
    landing.write("ad_spend", "2026-01-01", "s", [
        SPEND_HEADER, f"2026-01-01,{utm['utm_source']},{utm['utm_medium']},{utm['utm_campaign']},{smallest},USD"])
    results = landing.ingest(warehouse_url)
    assert [r["rows_quarantined"] for r in results] == [0, 0, 0], rows(db, "select reason from ops.quarantine")
    attribute(warehouse_url, landing.settings())
    assert rows(db, "select count(*) from marts.roas_daily where roas is not null") == [(len(MODELS),)]
    assert rows(db, "select count(distinct conversion_id) from marts.attribution_credits") == [(3,)]
