"""Ingest against a real Postgres: exactly once, restatements, fx, quarantine, late files, atomicity."""

from __future__ import annotations

from decimal import Decimal

import pytest

from marketing.ingest import load
from marketing.ingest.quality import QualityCheckFailed, assert_quality

from .landing import conversion, rows, touch

pytestmark = pytest.mark.integration


def counts(db) -> dict[str, int]:
    tables = ["core.touchpoints", "core.conversions", "core.ad_spend", "core.fx_rates", "core.identities",
              "raw.touchpoints", "raw.conversions", "ops.load_manifest", "ops.quarantine"]
    return {t: rows(db, f"select count(*) from {t}")[0][0] for t in tables}


def test_rerunning_ingest_loads_each_file_exactly_once(landing, warehouse_url, db):
    landing.write("touchpoints", "2026-01-01", "part-000.jsonl", [touch("e1", "2026-01-01T10:00:00Z")])
    landing.write("conversions", "2026-01-01", "part-000.jsonl", [conversion("c1", "2026-01-01T11:00:00Z", 10, "USD")])
    landing.write("ad_spend", "2026-01-01", "part-000.csv",
                  ["date,source,medium,campaign,spend,currency", "2026-01-01,google,cpc,brand,5,USD"])
    first = landing.ingest(warehouse_url)
    assert [r["status"] for r in first] == ["loaded"] * 3
    before = counts(db)
    assert landing.ingest(warehouse_url) == []  # nothing pending: unchanged files are not even read
    # a forced second look at the same bytes (e.g. a retried task) is recognised by checksum
    settings = landing.settings()
    for f in load.list_landing(landing.url):
        assert load.load_file(db, f, settings, load.classifier_for(settings)).status == "unchanged"
    assert counts(db) == before
    assert before["ops.load_manifest"] == 3


def test_duplicate_event_ids_across_files_keep_the_first_loaded(landing, warehouse_url, db):
    landing.write("touchpoints", "2026-01-01", "a.jsonl",
                  [touch("e1", "2026-01-01T10:00:00Z", utm_source="google", utm_medium="cpc")])
    landing.write("touchpoints", "2026-01-02", "b.jsonl",
                  [touch("e1", "2026-01-02T10:00:00Z", utm_source="facebook", utm_medium="paid_social"),
                   touch("e2", "2026-01-02T11:00:00Z"), touch("e2", "2026-01-02T12:00:00Z")])
    landing.ingest(warehouse_url)
    assert rows(db, "select event_id, channel, occurred_at::text from core.touchpoints order by 1") == [
        ("e1", "Paid Search", "2026-01-01 10:00:00+00"),
        ("e2", "Direct", "2026-01-02 11:00:00+00"),  # within a file, the first line wins
    ]


def test_restated_spend_file_replaces_the_earlier_values(landing, warehouse_url, db):
    header = "date,source,medium,campaign,spend,currency"
    path = landing.write("ad_spend", "2026-01-02", "google.csv",
                         [header, "2026-01-01,google,cpc,brand,100.00,USD", "2026-01-01,google,cpc,generic,50,USD"])
    landing.ingest(warehouse_url)
    # the platform revises the day: brand changes, generic disappears, a new campaign appears
    path.write_text("\n".join([header, "2026-01-01,google,cpc,brand,120.50,USD", "2026-01-01,bing,cpc,x,7,USD"]) + "\n")
    results = landing.ingest(warehouse_url)
    assert [r["status"] for r in results] == ["restated"]
    assert rows(db, "select source, campaign, spend from core.ad_spend order by 1, 2") == [
        ("bing", "x", Decimal("7")), ("google", "brand", Decimal("120.50"))]
    assert rows(db, "select count(*) from ops.load_manifest where path = %s", ("file://" + str(path),)) == [(2,)]


def test_a_later_spend_file_restates_the_same_grain_key(landing, warehouse_url, db):
    header = "date,source,medium,campaign,spend,currency"
    landing.write("ad_spend", "2026-01-01", "a.csv", [header, "2026-01-01,google,cpc,brand,100,USD"])
    landing.ingest(warehouse_url)
    landing.write("ad_spend", "2026-01-03", "b.csv", [header, "2026-01-01,Google,CPC,brand,90,USD"])
    landing.ingest(warehouse_url)
    assert rows(db, "select source, medium, spend, channel from core.ad_spend") == [
        ("google", "cpc", Decimal("90"), "Paid Search")]


def test_revenue_and_spend_are_converted_with_the_rate_of_their_own_day(landing, warehouse_url, db):
    landing.write("fx_rates", "2026-01-02", "rates.csv",
                  ["date,currency,rate", "2026-01-01,EUR,1.10", "2026-01-02,EUR,1.20", "2026-01-02,JPY,0.0065"])
    landing.write("conversions", "2026-01-02", "a.jsonl", [
        conversion("c1", "2026-01-01T23:30:00Z", 19.99, "EUR"),
        conversion("c2", "2026-01-02T00:30:00+01:00", 10, "EUR"),  # 23:30 UTC on Jan 1
        conversion("c3", "2026-01-02T08:00:00Z", 1500, "JPY"),
        conversion("c4", "2026-01-02T08:00:00Z", 12.5, "USD"),
    ])
    landing.write("ad_spend", "2026-01-02", "s.csv",
                  ["date,source,medium,campaign,spend,currency", "2026-01-02,google,cpc,brand,100,EUR"])
    landing.ingest(warehouse_url)
    assert rows(db, "select conversion_id, revenue, revenue_original, currency from core.conversions order by 1") == [
        ("c1", Decimal("21.9890"), Decimal("19.99"), "EUR"),
        ("c2", Decimal("11.00"), Decimal("10"), "EUR"),
        ("c3", Decimal("9.7500"), Decimal("1500"), "JPY"),
        ("c4", Decimal("12.5"), Decimal("12.5"), "USD"),
    ]
    assert rows(db, "select spend, spend_original from core.ad_spend") == [(Decimal("120.00"), Decimal("100"))]


def test_a_restated_fx_rate_reconverts_revenue_and_spend_of_its_day(landing, warehouse_url, db):
    rates = landing.write("fx_rates", "2026-01-01", "rates.csv", ["date,currency,rate", "2026-01-01,EUR,1.10"])
    landing.write("conversions", "2026-01-01", "a.jsonl", [conversion("c1", "2026-01-01T12:00:00Z", 10, "EUR")])
    landing.write("ad_spend", "2026-01-01", "s.csv",
                  ["date,source,medium,campaign,spend,currency", "2026-01-01,google,cpc,brand,100,EUR"])
    landing.ingest(warehouse_url)
    rates.write_text("date,currency,rate\n2026-01-01,EUR,1.25\n")
    landing.ingest(warehouse_url)
    assert rows(db, "select revenue, fx_rate from core.conversions") == [(Decimal("12.50"), Decimal("1.25"))]
    assert rows(db, "select spend from core.ad_spend") == [(Decimal("125.00"),)]
    assert ("conversion", "c1") in rows(db, "select kind, key from ops.attribution_queue")


BAD_TOUCHPOINTS = [
    ("not json at all", "not valid JSON"),
    ('["a", "list"]', "not a JSON object"),
    ('{"occurred_at": "2026-01-01T10:00:00Z", "anonymous_id": "a"}', "missing required field event_id"),
    ('{"event_id": "x1", "anonymous_id": "a"}', "missing required field occurred_at"),
    ('{"event_id": "x2", "occurred_at": "2026-01-01T10:00:00", "anonymous_id": "a"}', "has no UTC offset"),
    ('{"event_id": "x3", "occurred_at": "yesterday", "anonymous_id": "a"}', "not an RFC 3339 timestamp"),
    ('{"event_id": "x4", "occurred_at": "2026-01-01T10:00:00Z"}', "needs anonymous_id or user_id"),
]
BAD_CONVERSIONS = [
    ('{"occurred_at": "2026-01-01T10:00:00Z", "user_id": "u", "conversion_type": "purchase"}',
     "missing required field conversion_id"),
    ('{"conversion_id": "y1", "occurred_at": "2026-01-01T10:00:00Z", "user_id": "u"}',
     "missing required field conversion_type"),
    ('{"conversion_id": "y2", "occurred_at": "2026-01-01T10:00:00Z", "user_id": "u", "conversion_type": "purchase",'
     ' "revenue": "ten", "currency": "USD"}', "revenue is not a number"),
    ('{"conversion_id": "y3", "occurred_at": "2026-01-01T10:00:00Z", "user_id": "u", "conversion_type": "purchase",'
     ' "revenue": 5}', "currency is required when revenue is not 0"),
    ('{"conversion_id": "y4", "occurred_at": "2026-01-01T10:00:00Z", "user_id": "u", "conversion_type": "purchase",'
     ' "revenue": 5, "currency": "XYZ"}', "no fx rate for XYZ on 2026-01-01"),
    ('{"conversion_id": "y5", "occurred_at": "2026-01-01T10:00:00Z", "user_id": "u", "conversion_type": "purchase",'
     ' "revenue": 5, "currency": "dollars"}', "not an ISO 4217 code"),
]
BAD_SPEND = [
    ("2026-01-01,google,cpc,brand,lots,USD", "spend is not a number"),
    ("2026-02-30,google,cpc,brand,5,USD", "date is not a YYYY-MM-DD date"),
    ("2026-01-01,google,cpc,brand,5", "expected 6 fields, got 5"),
    ("2026-01-01,google,cpc,brand,5,EUR", "no fx rate for EUR on 2026-01-01"),
]


def test_each_kind_of_bad_line_is_quarantined_with_its_reason_and_the_good_lines_load(landing, warehouse_url, db):
    good_touch = touch("ok1", "2026-01-01T09:00:00Z")
    good_conv = conversion("okc", "2026-01-01T09:30:00Z", 3, "USD")
    landing.write("touchpoints", "2026-01-01", "t.jsonl", [good_touch] + [line for line, _ in BAD_TOUCHPOINTS])
    landing.write("conversions", "2026-01-01", "c.jsonl", [good_conv] + [line for line, _ in BAD_CONVERSIONS])
    landing.write("ad_spend", "2026-01-01", "s.csv",
                  ["date,source,medium,campaign,spend,currency", "2026-01-01,google,cpc,brand,5,USD"]
                  + [line for line, _ in BAD_SPEND])
    landing.ingest(warehouse_url)
    quarantined = rows(db, "select feed, line_number, raw_text, reason from ops.quarantine order by feed, line_number")
    expected = (
        [("ad_spend", n + 3, line, reason) for n, (line, reason) in enumerate(BAD_SPEND)]
        + [("conversions", n + 2, line, reason) for n, (line, reason) in enumerate(BAD_CONVERSIONS)]
        + [("touchpoints", n + 2, line, reason) for n, (line, reason) in enumerate(BAD_TOUCHPOINTS)]
    )
    assert [(f, n, t) for f, n, t, _ in quarantined] == [(f, n, t) for f, n, t, _ in expected]
    for (_, _, _, reason), (_, _, _, expected_reason) in zip(quarantined, expected):
        assert expected_reason in reason
    assert rows(db, "select event_id from core.touchpoints") == [("ok1",)]
    assert rows(db, "select conversion_id from core.conversions") == [("okc",)]
    assert rows(db, "select campaign from core.ad_spend") == [("brand",)]
    assert rows(db, "select feed, rows_total, rows_loaded, rows_quarantined from ops.load_manifest order by feed") == [
        ("ad_spend", 5, 1, 4), ("conversions", 7, 1, 6), ("touchpoints", 8, 1, 7)]


def test_unreadable_files_are_quarantined_whole(landing, warehouse_url, db):
    bad_gzip = landing.write("touchpoints", "2026-01-01", "broken.jsonl.gz", ["x"])
    bad_gzip.write_bytes(b"\x1f\x8b\x08\x00 this is not gzip")
    latin1 = landing.write("conversions", "2026-01-01", "latin1.jsonl", ["x"])
    latin1.write_bytes('{"conversion_id": "caf\xe9"}\n'.encode("latin-1"))
    landing.write("ad_spend", "2026-01-01", "noheader.csv", ["2026-01-01,google,cpc,brand,5,USD"])
    landing.write("touchpoints", "2026-01-01", "ok.jsonl.gz", [touch("e1", "2026-01-01T10:00:00Z")], gz=True)
    results = {r["url"].rsplit("/", 1)[1]: r["status"] for r in landing.ingest(warehouse_url)}
    assert results == {"broken.jsonl.gz": "unreadable", "latin1.jsonl": "loaded",
                       "noheader.csv": "unreadable", "ok.jsonl.gz": "loaded"}
    reasons = dict(rows(db, "select split_part(path, '/', -1), reason from ops.quarantine where line_number is null"))
    assert "not a readable gzip file" in reasons["broken.jsonl.gz"]
    assert "header lacks column(s)" in reasons["noheader.csv"]
    # bytes that are not UTF-8 make only their line bad (test_bad_input has a file with good lines around one)
    assert rows(db, "select line_number, raw_text, reason from ops.quarantine where path like '%%latin1.jsonl'") == [
        (1, '{"conversion_id": "caf\\xe9"}', "not UTF-8 text (byte 0xE9 at character 23 of the line)")]
    assert rows(db, "select event_id from core.touchpoints") == [("e1",)]


def test_a_fixed_file_redelivered_loads_its_quarantined_lines(landing, warehouse_url, db):
    path = landing.write("conversions", "2026-01-01", "c.jsonl",
                         [conversion("c1", "2026-01-01T10:00:00Z", 5, "USD"), '{"conversion_id": "c2"'])
    landing.ingest(warehouse_url)
    path.write_text("\n".join(map(str, [
        '{"conversion_id": "c1", "occurred_at": "2026-01-01T10:00:00Z", "anonymous_id": "a1", '
        '"conversion_type": "purchase", "revenue": 5, "currency": "USD"}',
        '{"conversion_id": "c2", "occurred_at": "2026-01-01T11:00:00Z", "anonymous_id": "a1", '
        '"conversion_type": "purchase", "revenue": 7, "currency": "USD"}',
    ])) + "\n")
    landing.ingest(warehouse_url)
    assert rows(db, "select conversion_id, revenue from core.conversions order by 1") == [
        ("c1", Decimal("5")), ("c2", Decimal("7"))]


def test_a_late_file_for_an_old_date_is_loaded_and_queues_its_persons(landing, warehouse_url, db):
    landing.write("touchpoints", "2026-03-01", "today.jsonl", [touch("e2", "2026-03-01T10:00:00Z")])
    landing.ingest(warehouse_url)
    # weeks later a file appears in an old folder, holding old events
    landing.write("touchpoints", "2026-01-15", "late.jsonl", [touch("e1", "2026-01-15T10:00:00Z", "a9")])
    results = landing.ingest(warehouse_url)
    assert [r["status"] for r in results] == ["loaded"]
    assert rows(db, "select event_id from core.touchpoints order by 1") == [("e1",), ("e2",)]
    assert ("person", "a:a9", "2026-01-15 10:00:00+00") in rows(
        db, "select kind, key, since::text from ops.attribution_queue")


def test_logins_link_devices_and_rekey_earlier_events(landing, warehouse_url, db):
    landing.write("touchpoints", "2026-01-01", "a.jsonl", [
        touch("e1", "2026-01-01T08:00:00Z", "phone", utm_source="google", utm_medium="cpc"),
        touch("e2", "2026-01-01T09:00:00Z", "laptop"),
    ])
    landing.ingest(warehouse_url)
    landing.write("touchpoints", "2026-01-02", "b.jsonl", [
        touch("e3", "2026-01-01T10:00:00Z", "phone", user_id="u1"),
        touch("e4", "2026-01-01T11:00:00Z", "laptop", user_id="u1"),
        touch("e5", "2026-01-01T12:00:00Z", "laptop", user_id="u2"),  # a later link loses
    ])
    landing.write("conversions", "2026-01-02", "c.jsonl", [conversion("c1", "2026-01-01T13:00:00Z", anonymous_id="laptop")])
    landing.ingest(warehouse_url)
    assert rows(db, "select event_id, person_key from core.touchpoints order by 1") == [
        ("e1", "u:u1"), ("e2", "u:u1"), ("e3", "u:u1"), ("e4", "u:u1"), ("e5", "u:u2")]
    assert rows(db, "select person_key from core.conversions") == [("u:u1",)]
    assert rows(db, "select anonymous_id, user_id from core.identities order by 1") == [("laptop", "u1"), ("phone", "u1")]


def test_utm_values_are_read_from_page_url_and_extra_fields_are_kept(landing, warehouse_url, db):
    landing.write("touchpoints", "2026-01-01", "a.jsonl", [
        touch("e1", "2026-01-01T08:00:00Z", page_url="https://shop.example.com/p?utm_source=newsletter&utm_medium=email"
              "&utm_campaign=weekly", experiment={"arm": "b"}),
        touch("e2", "2026-01-01T09:00:00Z", utm_source="facebook",
              page_url="https://shop.example.com/?utm_source=google&utm_medium=paid_social"),
    ])
    landing.ingest(warehouse_url)
    assert rows(db, "select event_id, source, medium, campaign, channel from core.touchpoints order by 1") == [
        ("e1", "newsletter", "email", "weekly", "Email"), ("e2", "facebook", "paid_social", None, "Paid Social")]
    assert rows(db, "select extra from raw.touchpoints where event_id = 'e1'") == [({"experiment": {"arm": "b"}},)]


def test_a_restated_touchpoint_file_replaces_its_earlier_rows(landing, warehouse_url, db):
    path = landing.write("touchpoints", "2026-01-01", "a.jsonl",
                         [touch("e1", "2026-01-01T08:00:00Z"), touch("e2", "2026-01-01T09:00:00Z")])
    landing.ingest(warehouse_url)
    path.write_text('{"event_id": "e1", "occurred_at": "2026-01-01T07:00:00Z", "anonymous_id": "a1"}\n')
    landing.ingest(warehouse_url)
    assert rows(db, "select event_id, occurred_at::text from core.touchpoints") == [("e1", "2026-01-01 07:00:00+00")]


def test_a_failure_after_copy_leaves_no_partial_data(landing, warehouse_url, db, monkeypatch):
    landing.write("touchpoints", "2026-01-01", "a.jsonl", [touch("e1", "2026-01-01T08:00:00Z"), "bad line"])
    real = load.SQL

    def failing(name: str) -> str:
        if name == "touchpoints":
            raise RuntimeError("killed after COPY")
        return real(name)

    monkeypatch.setattr(load, "SQL", failing)
    with pytest.raises(RuntimeError, match="killed after COPY"):
        landing.ingest(warehouse_url)
    empty = counts(db)
    assert all(n == 0 for n in empty.values()), empty
    monkeypatch.setattr(load, "SQL", real)
    landing.ingest(warehouse_url)  # the retry loads it whole
    assert counts(db)["core.touchpoints"] == 1 and counts(db)["ops.quarantine"] == 1


def test_quality_check_names_the_files_and_keeps_the_good_rows(landing, warehouse_url, db):
    landing.write("touchpoints", "2026-01-01", "mostly-bad.jsonl", [touch("e1", "2026-01-01T08:00:00Z"), "x", "y"])
    landing.write("touchpoints", "2026-01-01", "future.jsonl", [touch("e2", "2099-01-01T08:00:00Z")])
    results = landing.ingest(warehouse_url)
    with pytest.raises(QualityCheckFailed) as failure:
        assert_quality(db, landing.settings(), [r["file_id"] for r in results])
    message = str(failure.value)
    assert "quarantine_rate" in message and "mostly-bad.jsonl (2 of 3 lines)" in message
    assert "no_future_timestamps" in message and "future.jsonl" in message
    assert counts(db)["core.touchpoints"] == 2


def test_quality_checks_pass_on_clean_loads(landing, warehouse_url, db):
    landing.write("touchpoints", "2026-01-01", "a.jsonl", [touch("e1", "2026-01-01T08:00:00Z")])
    results = landing.ingest(warehouse_url)
    assert all(r.passed for r in assert_quality(db, landing.settings(), [r["file_id"] for r in results]))
