"""The same seeded sample through the native feeds, GA4 export rows, Segment calls and the orders
database gives the same channel totals under every model (docs/sources.md, rule 12)."""

from __future__ import annotations

from datetime import date

import psycopg2
import pytest
from conftest import _fresh_database

from marketing.config import Settings
from marketing.dev.sample import generate
from marketing.dev.sample_sources import GA4_CONVERSION_EVENTS, SEGMENT_CONVERSION_EVENTS
from marketing.pipeline import attribute, ingest_all

pytestmark = pytest.mark.integration
SAMPLE = dict(days=12, touchpoints_per_day=500, seed=5, end_date=date(2026, 3, 12))
TOTALS = """
select model, channel, conversion_type, round(sum(conversions)::numeric, 9), round(sum(revenue)::numeric, 6)
from marts.channel_attribution_daily
group by model, channel, conversion_type
order by model, channel, conversion_type"""


def totals(url: str) -> list[tuple]:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(TOTALS)
            return cur.fetchall()
    finally:
        conn.close()


def run(url: str, landing, **env) -> list[dict]:
    settings = Settings.from_env({"LANDING_URL": landing.as_uri(), "GA4_CONVERSION_EVENTS": GA4_CONVERSION_EVENTS,
                                  "SEGMENT_CONVERSION_EVENTS": SEGMENT_CONVERSION_EVENTS, **env})
    results = ingest_all(url, settings)
    attribute(url, settings)
    return results


def test_the_same_seed_gives_equal_channel_totals_through_every_source(
        tmp_path, pg_server_url, template_database, warehouse_url):
    generate((tmp_path / "native").as_uri(), **SAMPLE)
    run(warehouse_url, tmp_path / "native")
    native = totals(warehouse_url)
    assert {row[0] for row in native} >= {"first_touch", "last_touch", "linear"}
    assert len({row[1] for row in native}) >= 10

    for source in ("ga4", "segment"):
        landing = tmp_path / source
        generate(landing.as_uri(), source=source, **SAMPLE)
        assert not (landing / "touchpoints").exists() and (landing / source).is_dir()
        with _fresh_database(pg_server_url, template_database) as url:
            results = run(url, landing)
            assert {r["feed"] for r in results} == {source, "ad_spend", "fx_rates"}
            assert totals(url) == native, source

    with _fresh_database(pg_server_url, None) as orders_url, \
            _fresh_database(pg_server_url, template_database) as url:
        landing = tmp_path / "orders"
        generate(landing.as_uri(), source="orders", orders_url=orders_url, **SAMPLE)
        assert not (landing / "conversions").exists()
        results = run(url, landing, ORDERS_SOURCE_URL=orders_url)
        assert results[-1]["feed"] == "orders" and results[-1]["rows_loaded"] > 100
        assert totals(url) == native
