"""`make report`: the closing table reads the same query files as the dashboard (real Postgres)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import psycopg2
import pytest

from marketing import cli
from marketing.attribution import run_attribution
from marketing.attribution.models import MODELS
from marketing.config import AttributionParams, CustomerParams, Settings
from marketing.customers import run_customers
from marketing.reporting.report import customers_by_channel, roas_by_model

from .attribution_fixtures import DAY, T0, add_conversion, add_spend, add_touch

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def test_report_before_the_first_run_says_there_is_nothing_yet(warehouse_url):
    assert roas_by_model(warehouse_url, Settings()) == "No attribution results yet: load data with `make run` first."


def test_report_has_a_table_per_model_with_period_ratios_and_no_cpa_without_spend(warehouse_url, db):
    with db, db.cursor() as cur:
        add_touch(cur, "t1", T0 - DAY, channel="Paid Search", campaign="brand")
        add_conversion(cur, "c1", T0, revenue=150)
        add_touch(cur, "t2", T0 - DAY, person="u:bob", channel="Email", campaign="spring")
        add_conversion(cur, "c2", T0, person="u:bob", revenue=40)
        add_spend(cur, T0.date(), "Paid Search", "brand", 50)
    run_attribution(db, AttributionParams())
    lines = roas_by_model(warehouse_url, Settings()).splitlines()
    assert lines[0] == f"ROAS by channel, {T0.date()} to {T0.date()}, amounts in USD"
    assert [line.removeprefix("== ") for line in lines if line.startswith("== ")] == list(MODELS)
    table = lines[lines.index("== linear"):]
    paid, email, total = (next(line for line in table if line.startswith(name)) for name in ("Paid Search", "Email", "total"))
    # channels by attributed revenue; ROAS 150 / 50 = 3, CPA 50 / 1; no spend: neither ROAS nor CPA
    assert table.index(paid) < table.index(email)
    assert paid.split() == ["Paid", "Search", "50.00", "1.0", "150.00", "3.00", "50.00"]
    assert email.split() == ["Email", "0.00", "1.0", "40.00"]
    # the blended total (every channel's revenue over paid spend), then the paid channels alone
    assert total.split() == ["total,", "all", "channels", "(blended)", "50.00", "2.0", "190.00", "3.80"]
    paid_only = next(line for line in table if line.startswith("paid channels only"))
    assert paid_only.split() == ["paid", "channels", "only", "50.00", "1.0", "150.00", "3.00", "50.00"]


def test_customers_table_names_the_settings_it_was_computed_with_and_says_when_they_changed(warehouse_url, db):
    with db, db.cursor() as cur:
        add_touch(cur, "t1", T0 - 3 * DAY, channel="Email", campaign="spring")
        add_touch(cur, "t2", T0 - DAY, channel="Paid Search", campaign="brand")
        add_conversion(cur, "c1", T0, revenue=150)
        add_spend(cur, T0.date(), "Paid Search", "brand", 50)
    run_attribution(db, AttributionParams())
    run_customers(db, CustomerParams())  # first touch: Email acquired u:alice
    table = customers_by_channel(warehouse_url, Settings()).splitlines()
    assert table[0].startswith("Customers by acquisition channel (first_touch), 1 customers")
    assert table[1].startswith("(models not fitted")  # one customer
    assert "value 30d/cust" in table[2]
    rows = {line.split()[0]: line.split()[1:] for line in table[4:]}
    assert rows["Email"] == ["1.0"]  # no spend: no CAC (and a customer too young for 30 days, nothing fitted)
    assert rows["Paid"] == ["Search", "0.0"]

    # ACQUISITION_MODEL and COHORT_AGES_DAYS changed since: the table is still the first-touch one, says so
    changed = Settings(customers=CustomerParams(acquisition_model="last_touch", cohort_ages_days=(60, 120)))
    table = customers_by_channel(warehouse_url, changed).splitlines()
    assert table[0].startswith("Customers by acquisition channel (first_touch), 1 customers")
    assert table[1] == ("Your settings now say: acquisition model last_touch, purchases purchase, cohort ages 60, 120"
                        " days, CLV horizon 365 days; the next customers run recomputes the tables with them.")
    assert "value 30d/cust" in table[3] and table[5].split()[:2] == ["Email", "1.0"]


def test_a_report_on_a_warehouse_no_run_has_migrated_says_what_to_run(empty_database_url, monkeypatch, capsys):
    monkeypatch.setenv("WAREHOUSE_URL", empty_database_url)
    monkeypatch.setenv("ENV_FILE", "/nonexistent/.env")
    assert cli.main(["report"]) == 0
    assert capsys.readouterr().out == ("No attribution results yet: the warehouse has no marts. Run `make demo`"
                                       " (sample data) or `make run` (your landing zone) first.\n")


def test_make_report_with_a_source_reads_that_source_demos_database(warehouse_url, pg_server_url):
    """`make demo SOURCE=segment` loads a database of its own: `make report SOURCE=segment` reads it."""
    env = {**os.environ, "WAREHOUSE_URL": warehouse_url, "ENV_FILE": "/nonexistent/.env"}

    def make_report(*args: str) -> str:
        done = subprocess.run(["make", "--no-print-directory", "report", *args], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    try:
        assert make_report().startswith("No attribution results yet: load data with `make run` first.")  # migrated
        assert make_report("SOURCE=segment").startswith("No attribution results yet: the warehouse has no marts.")
    finally:
        admin = psycopg2.connect(pg_server_url)
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute('drop database if exists "marketing_demo_segment" with (force)')
        admin.close()
