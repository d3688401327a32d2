"""The invariants of docs/attribution.md on seeded random data, loaded through the real ingest."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import psycopg2
import pytest

from marketing.attribution import markov, run_attribution
from marketing.config import AttributionParams
from marketing.warehouse import with_database

from .attribution_fixtures import (
    MODELS,
    UTM,
    assert_same_marts,
    conversion_record,
    marts,
    query,
    touch_record,
)
from .landing import Landing

pytestmark = pytest.mark.integration
# marts tables of the customers capability (docs/customers.md), not attribution's
CUSTOMER_TABLES = ("channel_acquisition_monthly", "cohort_value", "customer_acquisition", "customer_value")
PARAMS = AttributionParams()
START = datetime(2025, 2, 1, tzinfo=timezone.utc)
DAYS = 45
CAMPAIGNS = {"Paid Search": ("brand", "generic", None), "Email": ("spring", None)}
SPEND_COMBOS = [("google", "cpc", "brand"), ("google", "cpc", "generic"), ("google", "cpc", ""),
                ("newsletter", "email", "spring")]


@dataclass
class Dataset:
    """Landing records of every feed: lists of dicts."""

    touchpoints: list[dict]
    conversions: list[dict]
    ad_spend: list[dict]


def random_dataset(seed: int, persons: int = 200, touches: int = 2000, conversions: int = 300) -> Dataset:
    """People with one or two devices who sometimes log in; ties, refunds, zero revenue, spend."""
    rng = random.Random(seed)
    people = [
        (f"user{i}" if rng.random() < 0.7 else None, [f"dev{i}-{k}" for k in range(rng.randint(1, 2))])
        for i in range(persons)
    ]

    def ids():
        user, devices = rng.choice(people)
        device = rng.choice(devices)
        if user is None:
            return {"anonymous_id": device}
        kind = rng.random()
        if kind < 0.3:
            return {"anonymous_id": device, "user_id": user}  # a login links the device
        if kind < 0.5:
            return {"user_id": user}
        return {"anonymous_id": device}

    def moment(previous):
        if previous is not None and rng.random() < 0.05:
            return previous  # a tie: event_id decides the order
        return START + timedelta(seconds=rng.randrange(DAYS * 86400))

    touch_records, at = [], None
    for n in range(touches):
        at = moment(at)
        channel = rng.choice(list(UTM))
        campaign = rng.choice(CAMPAIGNS.get(channel, (None,)))
        touch_records.append(touch_record(f"tp{n:05d}", at, channel, campaign=campaign, **ids()))

    conversion_records = []
    for n in range(conversions):
        kind = rng.random()
        if kind < 0.6:
            revenue, conversion_type = round(rng.uniform(1, 300), 2), "purchase"
        elif kind < 0.7:
            revenue, conversion_type = 0, "signup"
        elif kind < 0.85:  # micro-conversions of the funnel
            revenue, conversion_type = 0, ("view_item", "add_to_cart", "begin_checkout")[int((kind - 0.7) / 0.05)]
        else:
            revenue, conversion_type = -round(rng.uniform(1, 50), 2), "refund"
        at = START + timedelta(days=5, seconds=rng.randrange((DAYS - 5) * 86400))
        conversion_records.append(conversion_record(f"cv{n:04d}", at, revenue=revenue,
                                                    conversion_type=conversion_type, **ids()))

    spend_records = [
        {"date": (START.date() + timedelta(days=d)).isoformat(), "source": s, "medium": m, "campaign": c,
         "spend": f"{rng.uniform(0, 200):.2f}", "currency": "USD"}
        for d in range(DAYS) for s, m, c in SPEND_COMBOS if rng.random() < 0.8
    ]
    return Dataset(touch_records, conversion_records, spend_records)


def load_in_one_go(db, root, data: Dataset, params=PARAMS):
    """Every feed in one file, loaded, then one run."""
    landing = Landing(root)
    day = START.date()
    landing.write("ad_spend", day, "all", data.ad_spend)
    landing.write("conversions", day, "all", data.conversions)
    landing.write("touchpoints", day, "all", data.touchpoints)
    landing.load(db)
    return run_attribution(db, params)


def load_shuffled_in_pieces(db, root, data: Dataset, seed: int, pieces: int = 6, params=PARAMS, connect=None):
    """The same records shuffled and cut into `pieces` loads, with an incremental run after each."""
    rng = random.Random(seed)
    landing = Landing(root)
    feeds = {"touchpoints": list(data.touchpoints), "conversions": list(data.conversions),
             "ad_spend": list(data.ad_spend)}
    for records in feeds.values():
        rng.shuffle(records)
    for piece in range(pieces):
        for feed, records in feeds.items():
            chunk = records[len(records) * piece // pieces: len(records) * (piece + 1) // pieces]
            if chunk:
                landing.write(feed, date(2025, 1, 1) + timedelta(days=rng.randrange(60)), f"piece-{piece}", chunk)
        landing.load(db)
        run_attribution(db, params, connect=connect)
    return landing


@pytest.fixture
def other_db(pg_server_url, template_database):
    """A second migrated database, to load the same data another way."""
    name = f"mkt_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(pg_server_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'create database "{name}" template "{template_database}"')
    conn = psycopg2.connect(with_database(pg_server_url, name))
    yield conn
    conn.close()
    with admin.cursor() as cur:
        cur.execute(f'drop database if exists "{name}" with (force)')
    admin.close()


@pytest.fixture
def random_db(db, tmp_path):
    """The random dataset (seed 11), loaded in one go and attributed."""
    load_in_one_go(db, tmp_path, random_dataset(11))
    return db


# ---- sums ------------------------------------------------------------------------------------

def test_credits_sum_to_one_per_conversion_and_model(random_db):
    rows = query(random_db, "select conversion_id, model, sum(credit) from marts.attribution_credits group by 1, 2")
    [(conversions,)] = query(random_db, "select count(*) from core.conversions")
    assert len(rows) == conversions * len(MODELS)
    assert max(abs(total - 1) for _, _, total in rows) < 1e-9


def test_revenue_credit_sums_to_total_revenue_in_every_model_and_mart(random_db):
    [(total, final)] = query(random_db, "select sum(revenue), sum(revenue) filter (where conversion_type = 'purchase')"
                                        " from core.conversions")
    assert total != 0 and final != total
    per_model = {
        "attribution_credits": ("select model, sum(revenue_credit) from marts.attribution_credits group by 1", total),
        "channel_attribution_daily": ("select model, sum(revenue) from marts.channel_attribution_daily group by 1",
                                      total),
        # ROAS counts the final conversion types only (FINAL_CONVERSION_TYPES, default purchase)
        "roas_daily": ("select model, sum(attributed_revenue) from marts.roas_daily group by 1", final),
    }
    for table, (statement, expected) in per_model.items():
        sums = dict(query(random_db, statement))
        assert sums.keys() == set(MODELS), table
        for model, revenue in sums.items():
            assert abs(revenue - expected) < Decimal("0.005"), (table, model)


def test_daily_conversions_add_up_to_the_number_of_conversions(random_db):
    [(conversions,)] = query(random_db, "select count(*) from core.conversions")
    for model, attributed in query(random_db, "select model, sum(conversions) from marts.channel_attribution_daily"
                                              " group by 1"):
        assert attributed == pytest.approx(conversions, abs=1e-9), model


def test_single_touch_paths_give_the_same_row_in_every_model(random_db):
    rows = query(random_db, """
        select conversion_id, count(distinct (touchpoint_event_id, credit)), count(*)
        from marts.attribution_credits
        where conversion_id in (
            select conversion_id from marts.attribution_credits
            where model = 'linear' group by 1 having count(*) = 1)
        group by 1""")
    assert len(rows) > 10
    assert all(distinct == 1 and total == len(MODELS) for _, distinct, total in rows)


# ---- the models against each other -----------------------------------------------------------

def credited(db, model):
    return query(db, "select conversion_id, touchpoint_event_id, channel, credit from marts.attribution_credits"
                     " where model = %s order by 1, 2", (model,))


def test_position_weights_0_0_1_equal_last_touch_and_1_0_0_first_touch(db, tmp_path):
    data = random_dataset(12)
    load_in_one_go(db, tmp_path, data, AttributionParams(position_weights=(0, 0, 1)))
    assert credited(db, "position_based") == credited(db, "last_touch")
    run_attribution(db, AttributionParams(position_weights=(1, 0, 0)))
    assert credited(db, "position_based") == credited(db, "first_touch")


def test_time_decay_with_a_huge_half_life_equals_linear(db, tmp_path):
    # How huge: a touch 30 days old weighs 2^(-30/H) = 1 - 30·ln2/H against a fresh one, so
    # its weight differs from 1/n by up to about 21/H. H = 1e9 days would still differ by
    # ~2e-8; H = 1e12 days brings it to ~2e-11, well inside 1e-9.
    load_in_one_go(db, tmp_path, random_dataset(13), AttributionParams(half_life_days=1e12))
    decay, linear = credited(db, "time_decay"), credited(db, "linear")
    assert [row[:3] for row in decay] == [row[:3] for row in linear]
    assert max(abs(a[3] - b[3]) for a, b in zip(decay, linear)) < 1e-9


# ---- order, splits and late data -------------------------------------------------------------

def test_results_do_not_depend_on_row_order_or_how_the_rows_are_split_into_loads(db, other_db, tmp_path):
    data = random_dataset(14)
    load_in_one_go(db, tmp_path / "one-go", data)
    load_shuffled_in_pieces(other_db, tmp_path / "pieces", data, seed=15)
    assert_same_marts(marts(other_db), marts(db))


def test_incremental_runs_after_each_load_equal_a_full_rebuild(db, tmp_path):
    load_shuffled_in_pieces(db, tmp_path, random_dataset(16), seed=17, pieces=8)
    runs = query(db, "select mode from ops.attribution_runs order by run_id")
    assert runs[0] == ("full",) and set(runs[1:]) == {("incremental",)}
    incremental = marts(db)
    run_attribution(db, PARAMS, full_rebuild=True)
    assert_same_marts(incremental, marts(db))


@pytest.mark.parametrize("reads", ["by person", "by time"])
def test_the_journeys_splice_reads_each_persons_rows_by_person_or_by_time_alike(db, tmp_path, monkeypatch, reads):
    """An incremental run reads its persons' touches and conversions by time from a point on
    (markov._range_from) and looks up the others one by one: everyone either way gives the same marts."""
    monkeypatch.setattr(markov, "_range_from", lambda cur: "infinity" if reads == "by person" else "-infinity")
    load_shuffled_in_pieces(db, tmp_path, random_dataset(16), seed=17, pieces=8)
    incremental = marts(db)
    run_attribution(db, PARAMS, full_rebuild=True)
    assert_same_marts(incremental, marts(db))


def test_the_splice_reads_by_time_from_the_days_persons_and_looks_up_those_a_lookback_reaches(db):
    day = datetime(2025, 3, 20, tzinfo=timezone.utc)
    today = [day + timedelta(minutes=7 * n) for n in range(80)]
    lookback = [day - timedelta(days=30, hours=n) for n in range(20)]
    with db, db.cursor() as cur:
        cur.execute(markov.SQL("markov_work_tables"))
        cur.executemany("insert into markov_persons values (%s, %s)",
                        [(f"u:{n}", since) for n, since in enumerate(today + lookback)])
        assert markov._range_from(cur) == min(today)
        # Most persons with every touch (an identity stitched): all looked up.
        cur.executemany("insert into markov_persons values (%s, '-infinity')", [(f"v:{n}",) for n in range(101)])
        assert markov._range_from(cur) == "infinity"


def test_late_touchpoints_for_old_days_then_an_incremental_run_equal_a_full_rebuild(db, tmp_path):
    data = random_dataset(18)
    landing = load_shuffled_in_pieces(db, tmp_path, data, seed=19, pieces=2)
    rng = random.Random(20)
    # Late touches of people who converted: a few days before one of their conversions.
    late = []
    for n, conversion in enumerate(rng.sample(data.conversions, 25)):
        at = datetime.fromisoformat(conversion["occurred_at"]) - timedelta(hours=rng.randrange(1, 24 * 20))
        ids = {k: conversion[k] for k in ("anonymous_id", "user_id") if k in conversion}
        late.append(touch_record(f"late{n:03d}", at, rng.choice(list(UTM)), **ids))
    landing.write("touchpoints", date(2025, 3, 30), "late", late)
    landing.load(db)
    summary = run_attribution(db, PARAMS)
    assert summary.mode == "incremental" and summary.conversions_recomputed >= 25
    incremental = marts(db)
    run_attribution(db, PARAMS, full_rebuild=True)
    assert_same_marts(incremental, marts(db))


def test_a_full_rebuild_in_one_session_per_slice_equals_the_incremental_runs(db, warehouse_url, tmp_path):
    load_shuffled_in_pieces(db, tmp_path, random_dataset(21), seed=22, pieces=3)
    incremental = marts(db)
    summary = run_attribution(db, PARAMS, full_rebuild=True, connect=lambda: psycopg2.connect(warehouse_url))
    assert summary.mode == "full"
    assert_same_marts(incremental, marts(db))
    # Each slice holds its persons' paths, and no table of the rebuild is left behind.
    assert query(db, "select count(distinct tableoid) from marts.attribution_paths") == [(2,)]
    assert query(db, "select count(*) from marts.attribution_paths p join core.conversions c using (conversion_id)"
                     " where p.slice <> abs(hashtext(c.person_key) % 2)") == [(0,)]
    assert query(db, "select tablename from pg_tables where schemaname = 'marts' and tablename not in"
                     " (select unnest(%s::text[])) order by 1", (list(CUSTOMER_TABLES),)) == [
        ("assisted_conversions_daily",), ("attribution_paths",), ("attribution_paths_s0",), ("attribution_paths_s1",),
        ("channel_attribution_daily",), ("conversion_paths_daily",), ("funnel_daily",),
        ("markov_channels",), ("markov_day_paths",), ("markov_journeys",), ("markov_path_weights",), ("markov_paths",),
        ("markov_removal_effects",), ("markov_transitions",), ("markov_types",), ("roas_daily",)]


def test_a_full_rebuild_whose_slice_session_fails_leaves_the_marts_as_they_were(db, warehouse_url, tmp_path):
    load_in_one_go(db, tmp_path, random_dataset(23))
    before = marts(db)
    sessions = []

    def connect_then_fail_the_second():
        sessions.append(1)
        if len(sessions) == 2:
            raise psycopg2.OperationalError("connection refused (on purpose)")
        return psycopg2.connect(warehouse_url)

    with pytest.raises(psycopg2.OperationalError, match="on purpose"):
        run_attribution(db, PARAMS, full_rebuild=True, connect=connect_then_fail_the_second)
    assert_same_marts(before, marts(db))
    # The next rebuild clears what the failed one left and gives the same marts.
    run_attribution(db, PARAMS, full_rebuild=True, connect=lambda: psycopg2.connect(warehouse_url))
    assert_same_marts(before, marts(db))
    assert query(db, r"select count(*) from pg_tables where tablename like '%\_next\_s%'") == [(0,)]


def test_incremental_runs_with_a_session_per_slice_equal_a_full_rebuild(db, warehouse_url, tmp_path):
    sessions = []

    def connect():
        sessions.append(1)
        return psycopg2.connect(warehouse_url)

    load_shuffled_in_pieces(db, tmp_path, random_dataset(24), seed=25, pieces=4, connect=connect)
    # A range run recomputes through the same slice sessions.
    summary = run_attribution(db, PARAMS, start_date=date(2025, 2, 10), end_date=date(2025, 2, 20), connect=connect)
    assert summary.mode == "range" and summary.conversions_recomputed > 0
    runs = query(db, "select mode, conversions_recomputed from ops.attribution_runs order by run_id")
    assert runs[0][0] == "full" and {mode for mode, _ in runs[1:]} == {"incremental", "range"}
    # The full rebuild opens a session per slice, and one that gives the channels their digit in
    # the markov path keys (committed before the slices read them); a later run one for slice 1,
    # when it recomputes any (this data brings no new channel later).
    assert len(sessions) == 3 + sum(1 for _, recomputed in runs[1:] if recomputed) > 4
    sliced = marts(db)
    assert query(db, "select count(*) from marts.attribution_paths p join core.conversions c using (conversion_id)"
                     " where p.slice <> abs(hashtext(c.person_key) % 2)") == [(0,)]
    run_attribution(db, PARAMS, full_rebuild=True)
    assert_same_marts(sliced, marts(db))


def test_an_incremental_run_whose_slice_session_fails_leaves_marts_and_queue_as_they_were(db, warehouse_url, tmp_path):
    data = random_dataset(26)
    landing = load_shuffled_in_pieces(db, tmp_path, data, seed=27, pieces=1)
    landing.write("touchpoints", date(2025, 3, 30), "late",
                  [touch_record(f"late-{n}", datetime.fromisoformat(c["occurred_at"]) - timedelta(hours=1), "Email",
                                **{k: c[k] for k in ("anonymous_id", "user_id") if k in c})
                   for n, c in enumerate(data.conversions[:20])])
    landing.load(db)
    before, queued = marts(db), query(db, "select count(*) from ops.attribution_queue")

    def refuse():
        raise psycopg2.OperationalError("connection refused (on purpose)")

    with pytest.raises(psycopg2.OperationalError, match="on purpose"):
        run_attribution(db, PARAMS, connect=refuse)
    assert_same_marts(before, marts(db))
    assert query(db, "select count(*) from ops.attribution_queue") == queued != [(0,)]
    summary = run_attribution(db, PARAMS, connect=lambda: psycopg2.connect(warehouse_url))
    assert summary.conversions_recomputed >= 1
    incremental = marts(db)
    run_attribution(db, PARAMS, full_rebuild=True)
    assert_same_marts(incremental, marts(db))
