"""Incremental, full and range runs: what each recomputes, and that the marts always equal a
full rebuild from scratch (real Postgres)."""

from __future__ import annotations

import json
import threading
import time
from datetime import date
from decimal import Decimal

import psycopg2
import pytest

import marketing.attribution.run as attribution
from marketing.attribution import run_attribution
from marketing.config import AttributionParams

from .attribution_fixtures import (
    DAY,
    T0,
    add_conversion,
    add_spend,
    add_touch,
    assert_same_marts,
    conversion_record,
    marts,
    query,
    touch_record,
    weights,
)
from .landing import Landing

pytestmark = pytest.mark.integration
PARAMS = AttributionParams()


def assert_equals_full_rebuild(db, params=PARAMS):
    """The marts as the runs so far left them equal a full rebuild from scratch, row for row."""
    incremental = marts(db)
    summary = run_attribution(db, params, full_rebuild=True)
    assert summary.mode == "full"
    assert_same_marts(incremental, marts(db))


@pytest.fixture
def history(db):
    """Two conversions a week apart, each with its touches; attributed once (a full run)."""
    with db, db.cursor() as cur:
        add_touch(cur, "t1", T0 - 3 * DAY, channel="Email")
        add_conversion(cur, "c1", T0, revenue=100)
        add_touch(cur, "t2", T0 + 5 * DAY, channel="Paid Search")
        add_conversion(cur, "c2", T0 + 7 * DAY, revenue=60)
        add_conversion(cur, "other", T0, person="u:bob", revenue=10)
        add_spend(cur, T0.date(), "Paid Search", "brand", 50)
    assert run_attribution(db, PARAMS).mode == "full"
    return db


# ---- choosing the mode -----------------------------------------------------------------------

def test_first_run_is_a_full_rebuild_that_consumes_the_queue_and_records_its_params(history):
    runs = query(history, "select mode, reason, params, params_digest, queue_items from ops.attribution_runs")
    assert len(runs) == 1
    mode, reason, params, digest, queue_items = runs[0]
    assert (mode, reason, digest, queue_items) == ("full", "first run", PARAMS.digest, 6)
    assert params == json.loads(PARAMS.as_json())
    assert query(history, "select params_digest from ops.attribution_state") == [(PARAMS.digest,)]
    assert query(history, "select count(*) from ops.attribution_queue") == [(0,)]


def test_run_with_nothing_queued_does_no_work_but_is_recorded(history):
    before = marts(history)
    summary = run_attribution(history, PARAMS)
    assert not summary.did_work
    assert (summary.mode, summary.conversions_recomputed, summary.dates_recomputed, summary.queue_items) == (
        "incremental", 0, 0, 0)
    assert summary.seconds < 1
    assert marts(history) == before
    last = query(history, "select mode, queue_items, conversions_recomputed from ops.attribution_runs"
                          " order by run_id desc limit 1")
    assert last == [("incremental", 0, 0)]


def test_summary_is_json_friendly(history):
    summary = run_attribution(history, PARAMS)
    data = json.loads(json.dumps(summary.as_dict()))
    assert data["mode"] == "incremental" and data["did_work"] is False and data["run_id"] > 1


def test_changed_params_recompute_everything_and_store_the_new_params(history):
    changed = AttributionParams(lookback_days=1)
    summary = run_attribution(history, changed)
    assert summary.mode == "full" and summary.reason.startswith("params changed")
    assert summary.conversions_recomputed == 3
    assert query(history, "select params_digest, params->>'lookback_days' from ops.attribution_state") == [
        (changed.digest, "1")
    ]
    # t1 is 3 days before c1: outside a 1-day lookback now.
    assert weights(history, "c1")["linear"] == {None: 1.0}
    assert run_attribution(history, changed).mode == "incremental"


def test_full_rebuild_can_be_forced(history):
    before = marts(history)
    summary = run_attribution(history, PARAMS, full_rebuild=True)
    assert (summary.mode, summary.reason, summary.conversions_recomputed) == ("full", "forced", 3)
    assert_same_marts(marts(history), before)


def test_emptied_marts_are_rebuilt_in_full(history):
    before = marts(history)
    with history, history.cursor() as cur:
        cur.execute("truncate marts.attribution_paths, marts.channel_attribution_daily, marts.roas_daily")
    summary = run_attribution(history, PARAMS)
    assert (summary.mode, summary.reason) == ("full", "marts empty")
    assert_same_marts(marts(history), before)


# ---- incremental runs ------------------------------------------------------------------------

def test_late_touchpoint_changes_credit_of_next_weeks_conversion(history):
    with history, history.cursor() as cur:
        add_touch(cur, "late", T0 + 2 * DAY, channel="Referral")  # after c1, before c2
    summary = run_attribution(history, PARAMS)
    assert (summary.mode, summary.queue_items, summary.conversions_recomputed) == ("incremental", 1, 1)
    assert summary.dates_recomputed == 1  # c2's day
    assert weights(history, "c1")["linear"] == {"t1": 1.0}
    assert weights(history, "c2")["first_touch"] == {"t1": 1.0}
    assert weights(history, "c2")["linear"] == pytest.approx({"t1": 1 / 3, "late": 1 / 3, "t2": 1 / 3})
    assert query(history, "select conversions from marts.channel_attribution_daily"
                          " where model = 'linear' and channel = 'Referral'") == [(pytest.approx(1 / 3),)]
    assert_equals_full_rebuild(history)


def test_new_conversion_is_attributed_and_counted_in_its_day(history):
    with history, history.cursor() as cur:
        add_conversion(cur, "c3", T0 + 8 * DAY, revenue=20)
    summary = run_attribution(history, PARAMS)
    assert (summary.conversions_recomputed, summary.dates_recomputed) == (1, 1)
    assert weights(history, "c3")["last_touch"] == {"t2": 1.0}
    assert query(history, "select revenue from marts.channel_attribution_daily"
                          " where date = %s and model = 'last_touch'", (T0.date() + 8 * DAY,)) == [(Decimal("20"),)]
    assert_equals_full_rebuild(history)


def test_conversion_that_left_core_loses_its_rows_and_its_day_is_recomputed(history):
    with history, history.cursor() as cur:
        cur.execute("delete from core.conversions where conversion_id = 'c2'")
        cur.execute("insert into ops.attribution_queue (kind, key, file_id) values ('conversion', 'c2', 1)")
    summary = run_attribution(history, PARAMS)
    assert (summary.conversions_recomputed, summary.dates_recomputed) == (1, 1)
    assert query(history, "select count(*) from marts.attribution_credits where conversion_id = 'c2'") == [(0,)]
    assert query(history, "select count(*) from marts.channel_attribution_daily where date = %s",
                 (T0.date() + 7 * DAY,)) == [(0,)]
    assert_equals_full_rebuild(history)


def test_conversion_moved_to_another_day_leaves_its_old_day(history):
    with history, history.cursor() as cur:
        cur.execute("update core.conversions set occurred_at = %s where conversion_id = 'c1'", (T0 + DAY,))
        cur.execute("insert into ops.attribution_queue (kind, key, file_id) values ('conversion', 'c1', 1)")
    summary = run_attribution(history, PARAMS)
    assert summary.dates_recomputed == 2  # the old day and the new one
    channels = "select distinct channel from marts.channel_attribution_daily where date = %s order by 1"
    assert query(history, channels, (T0.date(),)) == [("Unattributed",)]  # only bob's conversion is left
    assert query(history, channels, (T0.date() + DAY,)) == [("Email",)]
    assert_equals_full_rebuild(history)


def test_queue_rows_of_a_person_recompute_only_conversions_from_the_changed_touch_on(history):
    with history, history.cursor() as cur:
        cur.execute("insert into ops.attribution_queue (kind, key, since, file_id) values ('person', 'u:alice', %s, 1)",
                    (T0 + DAY,))
    assert run_attribution(history, PARAMS).conversions_recomputed == 1  # c2, not c1


def test_failed_run_leaves_marts_and_queue_as_they_were(history, monkeypatch):
    with history, history.cursor() as cur:
        add_touch(cur, "late", T0 + 2 * DAY, channel="Referral")
    before = marts(history)

    def fail(*args, **kwargs):
        raise RuntimeError("killed half way")

    monkeypatch.setattr(attribution, "update_daily", fail)
    with pytest.raises(RuntimeError):
        run_attribution(history, PARAMS)
    assert marts(history) == before
    assert query(history, "select count(*) from ops.attribution_queue") == [(1,)]
    monkeypatch.undo()
    assert run_attribution(history, PARAMS).conversions_recomputed == 1


def test_run_waits_for_a_load_that_holds_the_ingest_lock(history, warehouse_url):
    loader = psycopg2.connect(warehouse_url)
    with loader.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(hashtext('marketing.ingest'))")
        add_touch(cur, "late", T0 + 2 * DAY, channel="Referral")
    results, conn = [], psycopg2.connect(warehouse_url)
    runner = threading.Thread(target=lambda: results.append(run_attribution(conn, PARAMS)))
    runner.start()
    time.sleep(0.5)
    assert runner.is_alive()  # waiting for the load's transaction
    loader.commit()
    runner.join(timeout=30)
    loader.close()
    conn.close()
    assert results and results[0].conversions_recomputed == 1  # and it saw the load's rows


# ---- range runs ------------------------------------------------------------------------------

def test_range_run_recomputes_the_range_and_leaves_the_queue(history):
    with history, history.cursor() as cur:
        cur.execute("update core.conversions set revenue = 200 where conversion_id = 'c1'")  # not queued
        add_touch(cur, "late", T0 + 2 * DAY, channel="Referral")  # queued
    summary = run_attribution(history, PARAMS, start_date=T0.date(), end_date=T0.date())
    assert (summary.mode, summary.conversions_recomputed, summary.dates_recomputed) == ("range", 2, 1)  # c1, other
    assert query(history, "select sum(revenue_credit) from marts.attribution_credits"
                          " where conversion_id = 'c1' and model = 'linear'") == [(Decimal("200"),)]
    assert "late" not in weights(history, "c2")["linear"]
    assert query(history, "select count(*) from ops.attribution_queue") == [(1,)]
    assert run_attribution(history, PARAMS).conversions_recomputed == 1  # the queue still works
    assert_equals_full_rebuild(history)


def test_range_run_with_an_open_end_runs_to_the_last_day(history):
    summary = run_attribution(history, PARAMS, start_date=T0.date() + DAY)
    assert (summary.mode, summary.conversions_recomputed) == ("range", 1)  # c2
    assert_equals_full_rebuild(history)


def test_range_run_with_changed_params_is_a_full_rebuild(history):
    summary = run_attribution(history, AttributionParams(half_life_days=3), start_date=T0.date(), end_date=T0.date())
    assert summary.mode == "full"


def test_range_run_rejects_a_reversed_range(history):
    with pytest.raises(ValueError):
        run_attribution(history, PARAMS, start_date=date(2025, 3, 2), end_date=date(2025, 3, 1))


# ---- through the real ingest -----------------------------------------------------------------

def test_restated_conversion_file_replaces_revenue_and_drops_missing_conversions(db, tmp_path):
    landing = Landing(tmp_path)
    landing.write("touchpoints", T0.date(), "visits", [
        touch_record("v1", T0 - DAY, "Email", user_id="alice"),
        touch_record("v2", T0 - DAY, "Paid Search", user_id="bob"),
    ])
    landing.write("conversions", T0.date(), "orders", [
        conversion_record("o1", T0, user_id="alice", revenue=40),
        conversion_record("o2", T0, user_id="bob", revenue=15),
    ])
    landing.load(db)
    run_attribution(db, PARAMS)
    landing.write("conversions", T0.date(), "orders", [conversion_record("o1", T0, user_id="alice", revenue=45)])
    landing.load(db)
    summary = run_attribution(db, PARAMS)
    assert (summary.mode, summary.conversions_recomputed) == ("incremental", 2)
    assert query(db, "select channel, revenue from marts.channel_attribution_daily where model = 'linear'") == [
        ("Email", Decimal("45"))
    ]
    assert_equals_full_rebuild(db)
