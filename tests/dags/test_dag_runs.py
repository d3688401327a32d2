"""Real Airflow DAG runs (`dag.test()`) of marketing_ingest, marketing_attribution and marketing_customers."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest
from integration.landing import Landing, conversion, touch

from marketing.attribution.models import MODELS
from marketing.warehouse import airflow_conn_uri

pytestmark = [pytest.mark.integration, pytest.mark.airflow]

REPO_DAGS = os.environ["AIRFLOW__CORE__DAGS_FOLDER"]


@pytest.fixture(scope="session")
def airflow_db():
    """Airflow's own metadata database (SQLite in the session's AIRFLOW_HOME)."""
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)


def load_dag(name: str):
    """Import a DAG file afresh, so it reads the settings of this test's environment."""
    spec = importlib.util.spec_from_file_location(f"{name}_{os.urandom(4).hex()}", f"{REPO_DAGS}/{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, f"{name}_dag")


@pytest.fixture
def airflow_env(airflow_db, warehouse_url, tmp_path, monkeypatch):
    landing = Landing(tmp_path / "landing")
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", airflow_conn_uri(warehouse_url))
    monkeypatch.setenv("LANDING_URL", landing.url)
    return landing


def states(run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def write_day(landing: Landing) -> None:
    landing.write("touchpoints", "2026-01-01", "t.jsonl", [
        touch("e1", "2026-01-01T08:00:00Z", utm_source="google", utm_medium="cpc", utm_campaign="brand"),
        touch("e2", "2026-01-01T09:00:00Z", referrer="https://www.google.com/"),
    ])
    landing.write("conversions", "2026-01-01", "c.jsonl", [conversion("c1", "2026-01-01T10:00:00Z", 50, "USD")])
    landing.write("ad_spend", "2026-01-01", "s.csv",
                  ["date,source,medium,campaign,spend,currency", "2026-01-01,google,cpc,brand,20,USD"])


def test_ingest_dag_run_loads_files_and_publishes_only_changed_tables(airflow_env, db):
    write_day(airflow_env)
    run = load_dag("marketing_ingest").test()
    assert str(run.state) == "success", states(run)
    got = states(run)
    assert got["publish_touchpoints"] == got["publish_conversions"] == got["publish_ad_spend"] == "success"
    assert got["publish_identities"] == "success"  # touchpoint and conversion loads can link identities
    assert got["publish_fx_rates"] == "skipped"  # no fx file was delivered
    with db.cursor() as cur:
        cur.execute("select count(*) from core.touchpoints")
        assert cur.fetchone()[0] == 2

    # once attribution has consumed the changes, a run with nothing new publishes nothing
    assert str(load_dag("marketing_attribution").test().state) == "success"
    again = load_dag("marketing_ingest").test()
    assert str(again.state) == "success"
    assert {k: v for k, v in states(again).items() if k.startswith("publish_")} == {
        f"publish_{t}": "skipped" for t in ("touchpoints", "conversions", "ad_spend", "identities", "fx_rates")}


def test_ingest_dag_fails_its_quality_task_but_keeps_the_good_rows(airflow_env, db):
    airflow_env.write("touchpoints", "2026-01-01", "bad.jsonl", [touch("e1", "2026-01-01T08:00:00Z"), "x", "y"])
    run = load_dag("marketing_ingest").test()
    got = states(run)
    assert got["check_quality"] == "failed" and got["load_touchpoints"] == "success"
    assert got["publish_touchpoints"] == "success"
    with db.cursor() as cur:
        cur.execute("select event_id from core.touchpoints")
        assert cur.fetchall() == [("e1",)]


def test_attribution_dag_run_builds_the_marts_and_a_second_run_does_no_work(airflow_env, db):
    write_day(airflow_env)
    assert str(load_dag("marketing_ingest").test().state) == "success"
    run = load_dag("marketing_attribution").test()
    assert str(run.state) == "success", states(run)
    with db.cursor() as cur:
        # Conservation holds to the cent (docs/attribution.md); fractional credits leave ~1e-17 residue.
        cur.execute("select model, round(sum(revenue_credit), 2) from marts.attribution_credits group by model")
        assert {model: float(total) for model, total in cur.fetchall()} == {
            m: 50.0 for m in MODELS}
        cur.execute("select count(*) from ops.attribution_runs")
        runs_before = cur.fetchone()[0]
    db.commit()
    assert str(load_dag("marketing_attribution").test().state) == "success"
    with db.cursor() as cur:
        cur.execute("select conversions_recomputed from ops.attribution_runs order by run_id desc limit 1")
        assert cur.fetchone()[0] == 0
        cur.execute("select count(*) from ops.attribution_runs")
        assert cur.fetchone()[0] == runs_before + 1


PUBLISH = [f"publish_{t}" for t in ("touchpoints", "conversions", "ad_spend", "identities", "fx_rates")]


def published(run) -> set[str]:
    return {task.removeprefix("publish_") for task, state in states(run).items()
            if task in PUBLISH and state == "success"}


def test_changes_attribution_has_not_consumed_are_announced_again(airflow_env):
    write_day(airflow_env)
    first = load_dag("marketing_ingest").test()
    assert published(first) == {"touchpoints", "conversions", "ad_spend", "identities"}
    # marketing_attribution was paused: Airflow dropped those events. The next ingest run, with
    # nothing new to load, announces the waiting changes again ...
    again = load_dag("marketing_ingest").test()
    assert str(again.state) == "success"
    assert published(again) == {"touchpoints", "conversions", "ad_spend", "identities"}
    # ... until attribution has consumed them.
    assert str(load_dag("marketing_attribution").test().state) == "success"
    assert published(load_dag("marketing_ingest").test()) == set()


def test_ingest_task_return_values_stay_small_however_many_files(airflow_env):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    for i in range(60):
        airflow_env.write("touchpoints", "2026-01-01", f"part-{i:03d}.jsonl", [touch(f"e{i}", "2026-01-01T08:00:00Z")])
    run = load_dag("marketing_ingest").test()
    assert str(run.state) == "success", states(run)
    with create_session() as session:
        values = {x.task_id: x.value for x in session.scalars(
            select(XComModel).where(XComModel.dag_id == "marketing_ingest", XComModel.run_id == run.run_id))}
    assert {"discover", "load_touchpoints", "check_quality"} <= set(values)
    sizes = {task: len(json.dumps(value)) for task, value in values.items()}
    assert max(sizes.values()) < 1000, sizes
    assert values["check_quality"] in ('"loaded 60 files, 60 rows, 0 quarantined"',
                                       "loaded 60 files, 60 rows, 0 quarantined")
def test_attribution_publishes_the_marts_asset_only_when_it_changed_them(airflow_env, db):
    write_day(airflow_env)
    assert str(load_dag("marketing_ingest").test().state) == "success"
    first = load_dag("marketing_attribution").test()
    assert states(first)["publish"] == "success"  # a success with an outlet emits the Asset event
    second = load_dag("marketing_attribution").test()
    assert str(second.state) == "success"
    assert states(second)["publish"] == "skipped"  # nothing queued: no event, customers not triggered


def test_customers_dag_run_builds_the_customer_tables_in_one_run(airflow_env, db):
    write_day(airflow_env)
    airflow_env.write("conversions", "2026-01-02", "c.jsonl", [conversion("c2", "2026-01-02T10:00:00Z", 30, "USD")])
    assert str(load_dag("marketing_ingest").test().state) == "success"
    assert str(load_dag("marketing_attribution").test().state) == "success"
    run = load_dag("marketing_customers").test()
    assert str(run.state) == "success", states(run)
    with db.cursor() as cur:
        cur.execute("select person_key, first_conversion_id, frequency, value_to_date from marts.customer_value")
        assert cur.fetchall() == [("a:a1", "c1", 1, 80)]
        cur.execute("select channel, credit from marts.customer_acquisition")
        assert cur.fetchall() == [("Paid Search", 1.0)]  # first touch e1: google / cpc
        cur.execute("select month::text, channel, new_customers, spend, cac from marts.channel_acquisition_monthly")
        assert cur.fetchall() == [("2026-01-01", "Paid Search", 1.0, 20, 20.0)]
        cur.execute("select count(*) from ops.customer_runs")
        assert cur.fetchone()[0] == 1
