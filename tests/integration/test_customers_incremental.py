"""Late data through the real ingest: a late purchase and a late login re-keying a customer change
the customer tables exactly as a full recompute does (docs/customers.md rule 13; real Postgres)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from marketing.attribution import run_attribution
from marketing.customers import run_customers

from .landing import Landing, conversion, touch

pytestmark = pytest.mark.integration

TABLES = {
    "marts.customer_value": "person_key",
    "marts.customer_acquisition": "person_key, channel",
    "marts.cohort_value": "cohort_month, channel, age_days",
    "marts.channel_acquisition_monthly": "month, channel",
}


def tables(db) -> dict[str, list[tuple]]:
    out = {}
    with db.cursor() as cur:
        for table, key in TABLES.items():
            cur.execute(f"select * from {table} order by {key}")
            out[table] = cur.fetchall()
    db.rollback()
    return out


def pipeline(landing: Landing, url: str, db, *, full: bool = False) -> None:
    settings = landing.settings()
    landing.ingest(url)
    run_attribution(db, settings.attribution, full_rebuild=full)
    run_customers(db, settings.customers, reporting_timezone=settings.reporting_timezone)


def value(db, person):
    with db.cursor() as cur:
        cur.execute("select first_conversion_id, cohort_month, frequency, value_to_date from marts.customer_value"
                    " where person_key = %s", (person,))
        found = cur.fetchone()
    db.rollback()
    return found


def acquisition(db, person):
    with db.cursor() as cur:
        cur.execute("select channel, credit from marts.customer_acquisition where person_key = %s", (person,))
        found = dict(cur.fetchall())
    db.rollback()
    return found


def test_late_purchase_and_late_login_equal_a_full_recompute(tmp_path, warehouse_url, db):
    landing = Landing(tmp_path / "landing")
    email = {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "weekly"}
    search = {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "brand"}
    landing.write("touchpoints", "2025-03-25", "t1", [
        touch("t1", "2025-03-01T09:00:00Z", "dev1", **email),                      # a guest's device
        touch("t2", "2025-03-03T09:00:00Z", None, user_id="kim", **search),
        touch("t4", "2025-03-05T09:00:00Z", None, user_id="bob", **search),
    ])
    landing.write("conversions", "2025-03-25", "c1", [
        conversion("c1", "2025-03-02T10:00:00Z", 50, "USD", anonymous_id="dev1"),  # guest: customer a:dev1
        conversion("c2", "2025-03-04T10:00:00Z", 80, "USD", user_id="kim"),
        conversion("c3", "2025-03-20T10:00:00Z", 20, "USD", user_id="kim"),
        conversion("c4", "2025-03-06T10:00:00Z", 40, "USD", user_id="bob"),
    ])
    landing.write("ad_spend", "2025-03-25", "s1", [
        "date,source,medium,campaign,spend,currency", "2025-03-03,google,cpc,brand,60,USD"])
    pipeline(landing, warehouse_url, db)
    assert value(db, "a:dev1") == ("c1", date(2025, 3, 1), 0, Decimal("50"))
    assert value(db, "u:kim") == ("c2", date(2025, 3, 1), 1, Decimal("100"))
    assert acquisition(db, "u:kim") == {"Paid Search": 1.0}

    # Late data, delivered weeks later: kim logs in on dev1 (re-keys the guest purchase c1 to kim,
    # whose first purchase it becomes), and bob's February purchase arrives.
    landing.write("touchpoints", "2025-04-20", "t2", [
        touch("t3", "2025-03-02T08:00:00Z", "dev1", user_id="kim"),
        touch("t5", "2025-02-18T09:00:00Z", None, user_id="bob", **email),
    ])
    landing.write("conversions", "2025-04-20", "c2", [
        conversion("c0", "2025-02-20T10:00:00Z", 30, "USD", user_id="bob"),
    ])
    pipeline(landing, warehouse_url, db)
    after_incremental = tables(db)
    assert value(db, "a:dev1") is None
    assert value(db, "u:kim") == ("c1", date(2025, 3, 1), 2, Decimal("150"))
    assert acquisition(db, "u:kim") == {"Email": 1.0}  # c1's first touch, t1 on dev1
    assert value(db, "u:bob") == ("c0", date(2025, 2, 1), 1, Decimal("70"))
    assert acquisition(db, "u:bob") == {"Email": 1.0}

    pipeline(landing, warehouse_url, db, full=True)  # attribution rebuilt from scratch, customers again
    assert tables(db) == after_incremental
