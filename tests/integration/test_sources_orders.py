"""The orders database as a source: a second real Postgres database holds table `orders`;
extracts are incremental by watermark with overlap, restated rows restate their conversion,
a failed run leaves the watermark, bad rows are quarantined with their key."""

from __future__ import annotations

from decimal import Decimal

import psycopg2
import pytest
from conftest import _fresh_database

from marketing.config import Settings
from marketing.pipeline import attribute, ingest_all, ingest_orders

from .attribution_fixtures import assert_same_marts, marts
from .landing import rows

pytestmark = pytest.mark.integration

ORDERS_TABLE = """
create table orders (
    conversion_id   text primary key,
    occurred_at     timestamptz,
    user_id         text,
    anonymous_id    text,
    conversion_type text not null default 'purchase',
    revenue         numeric,
    currency        text,
    updated_at      timestamptz not null
)"""


@pytest.fixture
def source_url(pg_server_url):
    """The production database: a second, real Postgres database with an orders table."""
    with _fresh_database(pg_server_url, None) as url:
        conn = psycopg2.connect(url)
        with conn, conn.cursor() as cur:
            cur.execute(ORDERS_TABLE)
        conn.close()
        yield url


def source(url: str, statement: str, params=None) -> None:
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        cur.execute(statement, params)
    conn.close()


def order(url, conversion_id, occurred_at, revenue, currency="USD", updated_at=None, user_id="u1", **extra):
    source(url, "insert into orders (conversion_id, occurred_at, user_id, revenue, currency, updated_at)"
                " values (%s, %s, %s, %s, %s, %s)"
                " on conflict (conversion_id) do update set revenue = excluded.revenue, updated_at = excluded.updated_at",
           (conversion_id, occurred_at, user_id, revenue, currency, updated_at or occurred_at))


def settings_for(source_url: str, tmp_path, **env) -> Settings:
    return Settings.from_env({"ORDERS_SOURCE_URL": source_url, "LANDING_URL": (tmp_path / "landing").as_uri(),
                              **{k.upper(): str(v) for k, v in env.items()}})


def watermark(db):
    found = rows(db, "select watermark::text from ops.source_watermarks where source = 'orders'")
    return found[0][0] if found else None


def test_extracts_are_incremental_restate_changed_rows_and_equal_a_clean_load(
        source_url, warehouse_url, db, second_warehouse_url, tmp_path):
    settings = settings_for(source_url, tmp_path)
    order(source_url, "A-1", "2026-03-01T10:00:00Z", 50)
    order(source_url, "A-2", "2026-03-01T11:00:00Z", 20, updated_at="2026-03-01T11:00:00Z")
    first = ingest_all(warehouse_url, settings)
    assert [(r["feed"], r["rows_loaded"]) for r in first] == [("orders", 2)]
    assert watermark(db) == "2026-03-01 11:00:00+00"
    attribute(warehouse_url, settings)

    # a refund of A-1, a new order, and A-2 committed late inside the overlap (unchanged)
    order(source_url, "A-1", "2026-03-01T10:00:00Z", -50, updated_at="2026-03-02T09:00:00Z")
    order(source_url, "A-3", "2026-03-02T08:00:00Z", 30, updated_at="2026-03-02T08:00:00Z")
    source(url := source_url, "update orders set updated_at = '2026-03-01T10:55:00Z' where conversion_id = 'A-2'")
    second = ingest_orders(warehouse_url, settings, url)
    assert second[0]["rows_total"] == 3  # A-2 is read again inside the overlap, and changes nothing
    assert rows(db, "select conversion_id, revenue from core.conversions order by 1") == [
        ("A-1", Decimal("-50")), ("A-2", Decimal("20")), ("A-3", Decimal("30"))]
    assert rows(db, "select distinct kind, key from ops.attribution_queue order by key") == [
        ("conversion", "A-1"), ("conversion", "A-3")]
    assert watermark(db) == "2026-03-02 09:00:00+00"
    attribute(warehouse_url, settings)

    # rows re-read inside the overlap window are not loaded twice and queue nothing
    order(source_url, "A-4", "2026-03-02T09:05:00Z", 5, updated_at="2026-03-02T09:05:00Z")
    third = ingest_orders(warehouse_url, settings, source_url)
    assert third[0]["rows_total"] == 2 and third[0]["rows_loaded"] == 2  # A-1 (in the overlap) and A-4
    assert rows(db, "select count(*) from core.conversions") == [(4,)]
    assert rows(db, "select key from ops.attribution_queue") == [("A-4",)]
    attribute(warehouse_url, settings)
    # nothing new: the overlap is read again and changes nothing
    ingest_orders(warehouse_url, settings, source_url)
    assert rows(db, "select count(*) from ops.attribution_queue") == [(0,)]
    assert watermark(db) == "2026-03-02 09:05:00+00"

    clean = psycopg2.connect(second_warehouse_url)
    try:
        ingest_all(second_warehouse_url, settings)
        attribute(second_warehouse_url, settings)
        query = "select conversion_id, occurred_at, person_key, revenue, currency from core.conversions order by 1"
        assert rows(db, query) == rows(clean, query)
        assert_same_marts(marts(db), marts(clean))
    finally:
        clean.close()


def test_a_failed_run_leaves_the_watermark_and_loads_nothing(source_url, warehouse_url, db, tmp_path):
    order(source_url, "A-1", "2026-03-01T10:00:00Z", 50)
    ingest_orders(warehouse_url, settings_for(source_url, tmp_path), source_url)
    before = rows(db, "select count(*) from ops.load_manifest"), watermark(db)
    order(source_url, "A-2", "2026-03-01T12:00:00Z", 10)
    order(source_url, "BOOM", "2026-03-01T13:00:00Z", 10)
    failing = tmp_path / "orders.sql"  # the query fails on a row in the middle of the read
    failing.write_text("select conversion_id, occurred_at, user_id, anonymous_id, conversion_type,"
                       " revenue / (case when conversion_id = 'BOOM' then 0 else 1 end) as revenue,"
                       " currency, updated_at from orders where updated_at > %(since)s order by updated_at")
    with pytest.raises(psycopg2.errors.DivisionByZero):
        ingest_orders(warehouse_url, settings_for(source_url, tmp_path, orders_query_file=failing), source_url)
    assert (rows(db, "select count(*) from ops.load_manifest"), watermark(db)) == before
    assert rows(db, "select conversion_id from core.conversions") == [("A-1",)]
    # fixed, the next run reads from the same watermark
    ingest_orders(warehouse_url, settings_for(source_url, tmp_path), source_url)
    assert rows(db, "select conversion_id from core.conversions order by 1") == [("A-1",), ("A-2",), ("BOOM",)]


def test_a_bad_row_is_quarantined_with_its_key_and_reason(source_url, warehouse_url, db, tmp_path):
    order(source_url, "A-1", "2026-03-01T10:00:00Z", 50)
    order(source_url, "A-2", "2026-03-01T10:01:00Z", 10, currency=None)
    order(source_url, "A-3", "2026-03-01T10:02:00Z", 10, currency="EUR")
    order(source_url, "A-4", None, 10, updated_at="2026-03-01T10:03:00Z")
    order(source_url, "A-5", "2026-03-01T10:04:00Z", 0, currency=None, user_id=None)
    result = ingest_orders(warehouse_url, settings_for(source_url, tmp_path), source_url)[0]
    assert (result["rows_total"], result["rows_loaded"], result["rows_quarantined"]) == (5, 1, 4)
    assert rows(db, "select line_number, reason from ops.quarantine where feed = 'orders' order by 1") == [
        (2, "conversion_id 'A-2': currency is required when revenue is not 0"),
        (3, "conversion_id 'A-3': no fx rate for EUR on 2026-03-01 (add it to fx_rates)"),
        (4, "conversion_id 'A-4': missing required field occurred_at"),
        (5, "conversion_id 'A-5': needs anonymous_id or user_id (both missing)"),
    ]
    assert '"conversion_id":"A-2"' in rows(db, "select raw_text from ops.quarantine where line_number = 2")[0][0]
    assert watermark(db) == "2026-03-01 10:04:00+00"  # past the bad rows: fixed rows come back with a new updated_at
