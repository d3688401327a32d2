"""A real `airflow standalone`: a triggered ingest publishes Assets, which run attribution, which fills the marts.

As a new user meets it: `make run` first (in-process), then `make airflow` on the same AIRFLOW_HOME,
with the project's DAGs active from the start (nobody unpauses them by hand)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg2
import pytest
from integration.landing import Landing, conversion, touch

from marketing.attribution.models import MODELS as REGISTERED_MODELS
from marketing.dev.local_airflow import AirflowInstance, free_port, running_airflow, session_processes

pytestmark = pytest.mark.airflow

BUDGET_SECONDS = 330  # the whole test (a make run, then Airflow start to stop); typically well under half of it
MODELS = set(REGISTERED_MODELS)
# Feb 29: the last slot is before the DAG's start_date and the next in 2028, so the scheduler
# starts no ingest run of its own and the one this test triggers is the only one.
NO_SCHEDULED_RUN = "0 0 29 2 *"
SPEND = 60  # the ad_spend lines below
REVENUE = 150  # the conversions below


def write_two_days(landing: Landing) -> None:
    landing.write("touchpoints", "2026-01-05", "part-000.jsonl", [
        touch("e1", "2026-01-05T10:00:00Z", "a1", utm_source="google", utm_medium="cpc", utm_campaign="brand"),
        touch("e2", "2026-01-05T12:00:00Z", "a1", utm_source="facebook", utm_medium="paid_social",
              utm_campaign="prospecting"),
        touch("e3", "2026-01-05T09:00:00Z", "a2"),
    ])
    landing.write("touchpoints", "2026-01-06", "part-000.jsonl", [
        touch("e4", "2026-01-06T08:00:00Z", "a2", utm_source="google", utm_medium="cpc", utm_campaign="brand"),
    ])
    landing.write("conversions", "2026-01-05", "part-000.jsonl",
                  [conversion("c1", "2026-01-05T13:00:00Z", 100, "USD", anonymous_id="a1")])
    landing.write("conversions", "2026-01-06", "part-000.jsonl",
                  [conversion("c2", "2026-01-06T10:00:00Z", 50, "USD", anonymous_id="a2")])
    header = "date,source,medium,campaign,spend,currency"
    landing.write("ad_spend", "2026-01-05", "spend.csv",
                  [header, "2026-01-05,google,cpc,brand,20,USD", "2026-01-05,facebook,paid_social,prospecting,15,USD"])
    landing.write("ad_spend", "2026-01-06", "spend.csv", [header, "2026-01-06,google,cpc,brand,25,USD"])


class Deadline:
    def __init__(self, seconds: float):
        self.at = time.monotonic() + seconds

    def left(self) -> float:
        return max(0.0, self.at - time.monotonic())


def _readable(line: str) -> str:
    """A task log line (JSON in Airflow 3) as `level: event`, with any exception's type and message."""
    try:
        record = json.loads(line)
    except ValueError:
        return line
    text = f"{record.get('level', '')}: {record.get('event', '')}"
    for error in record.get("error_detail") or []:
        text += f"\n    {error.get('exc_type')}: {error.get('exc_value')}"
    return text


def task_log_tails(home: Path, dag_id: str, run_id: str, task_ids, lines: int = 15) -> str:
    """The end of every attempt's log of the given tasks."""
    out = []
    for task_id in task_ids:
        for path in sorted((home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}").glob("**/*.log")):
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {path.relative_to(home)}\n" + "\n".join(map(_readable, tail)))
    return "\n".join(out) or "(no task logs found)"


def failure(airflow: AirflowInstance, message: str, details: str = "") -> str:
    return f"{message}\n{details}\n--- last lines of {airflow.log_path}:\n{airflow.log_tail(40)}"


def wait_for_run(api: httpx.Client, airflow: AirflowInstance, dag_id: str, deadline: Deadline, *,
                 run_id: str | None = None, run_type: str | None = None) -> dict:
    """Poll until the run (by id, or the first of `run_type`) is done; fail fast on a failed or retrying task."""
    run = None
    while deadline.left() > 0:
        runs = api.get(f"/api/v2/dags/{dag_id}/dagRuns").raise_for_status()
        candidates = [r for r in runs.json()["dag_runs"]
                      if (run_id is None or r["dag_run_id"] == run_id) and (run_type is None or r["run_type"] == run_type)]
        if candidates:
            run = candidates[0]
            tis = api.get(f"/api/v2/dags/{dag_id}/dagRuns/{run['dag_run_id']}/taskInstances").raise_for_status()
            states = {ti["task_id"]: ti["state"] for ti in tis.json()["task_instances"]}
            broken = [task for task, state in states.items() if state in ("failed", "up_for_retry", "upstream_failed")]
            if broken or run["state"] == "failed":
                pytest.fail(failure(airflow, f"{dag_id} run {run['dag_run_id']} failed: {states}",
                                    task_log_tails(airflow.home, dag_id, run["dag_run_id"], broken or states)))
            if run["state"] == "success":
                return run
        time.sleep(2)
    seen = f"last seen: {run}" if run else f"no {run_type or run_id} run of {dag_id} appeared"
    pytest.fail(failure(airflow, f"timed out after {BUDGET_SECONDS}s waiting for {dag_id}; {seen}"))


def rows(url: str, query: str) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(query)
        result = cur.fetchall()
    conn.close()
    return result


def test_triggered_ingest_runs_asset_triggered_attribution_and_fills_the_marts(tmp_path, warehouse_url, monkeypatch):
    deadline = Deadline(BUDGET_SECONDS)
    landing = Landing(tmp_path / "landing")
    write_two_days(landing)
    monkeypatch.setenv("INGEST_SCHEDULE", NO_SCHEDULED_RUN)  # the Airflow processes inherit it
    home = tmp_path / "airflow-home"
    # `make run` before `make airflow`, on an empty landing zone: it must not leave the DAGs paused
    # (nor its runs in the metadata database the scheduler reads)
    empty = Landing(tmp_path / "empty")
    env = {**os.environ, "AIRFLOW_HOME": str(home), "WAREHOUSE_URL": warehouse_url, "LANDING_URL": empty.url}
    env.pop("AIRFLOW_CONN_WAREHOUSE", None)
    made = subprocess.run([sys.executable, "-m", "marketing", "run"], env=env, capture_output=True, text=True,
                          timeout=deadline.left())
    assert made.returncode == 0, made.stdout + made.stderr

    with running_airflow(landing.settings(), warehouse_url, home=home, port=free_port(),
                         start_timeout=deadline.left() - 60) as airflow:
        pid = airflow.pid
        unauthenticated = httpx.get(f"{airflow.base_url}/api/v2/dags", timeout=30)
        assert unauthenticated.status_code in (401, 403), unauthenticated.text

        with airflow.client() as api:
            for dag_id in ("marketing_ingest", "marketing_attribution"):
                while (found := api.get(f"/api/v2/dags/{dag_id}")).status_code == 404 and deadline.left() > 0:
                    time.sleep(1)  # the DAG processor has not parsed the file yet
                assert found.status_code == 200, failure(airflow, f"{dag_id} never appeared: {found.text}")
                assert found.json()["is_paused"] is False, f"{dag_id} is paused"

            trigger = api.post("/api/v2/dags/marketing_ingest/dagRuns", json={"logical_date": None})
            assert trigger.status_code == 200, failure(airflow, f"trigger failed: {trigger.status_code} {trigger.text}")
            wait_for_run(api, airflow, "marketing_ingest", deadline, run_id=trigger.json()["dag_run_id"])
            wait_for_run(api, airflow, "marketing_attribution", deadline, run_type="asset_triggered")

    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # the group standalone led is gone ...
    assert not session_processes(pid), "processes of the Airflow session outlived it"  # ... and the task groups

    credits = rows(warehouse_url, """select model, count(distinct conversion_id), sum(credit)
                                     from marts.attribution_credits group by model""")
    assert {model for model, *_ in credits} == MODELS
    for model, conversions, credit in credits:
        assert conversions == 2 and credit == pytest.approx(2), f"{model}: each conversion is credited in full"
    # To the cent: a fractional credit (markov's removal-effect shares) leaves ~1e-14 of rounding.
    roas = rows(warehouse_url,
                "select model, sum(spend), round(sum(attributed_revenue), 2) from marts.roas_daily group by model")
    assert {model for model, *_ in roas} == MODELS
    for model, spend, revenue in roas:
        assert (spend, revenue) == (SPEND, REVENUE), f"{model}: ROAS rows hold all spend and revenue"
