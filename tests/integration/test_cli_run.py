"""`python -m marketing run` and `report` as a user runs them (the Makefile's `make run`, `make report`):
settings from the `.env` file that stick, a metadata database of the run's own, readable output."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid

import psycopg2
import pytest

from marketing.dev.in_process import DAG_FILES
from marketing.warehouse import with_database

from .landing import Landing, conversion, touch

pytestmark = [pytest.mark.integration, pytest.mark.airflow]


@pytest.fixture(scope="module")
def cli_runs(pg_server_url, template_database, tmp_path_factory):
    """Two `run`s and a `report`, with ATTRIBUTION_LOOKBACK_DAYS=7 in the .env file only."""
    tmp = tmp_path_factory.mktemp("cli")
    name = f"mkt_cli_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(pg_server_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'create database "{name}" template "{template_database}"')
    url = with_database(pg_server_url, name)
    landing = Landing(tmp / "landing")
    for i in range(3):
        landing.write("touchpoints", "2026-01-01", f"part-{i:03d}.jsonl",
                      [touch(f"e{i}", "2026-01-01T08:00:00Z", utm_source="google", utm_medium="cpc", utm_campaign="b")])
    landing.write("conversions", "2026-01-01", "part-000.jsonl", [conversion("c1", "2026-01-01T10:00:00Z", 50, "USD")])
    landing.write("ad_spend", "2026-01-01", "spend.csv",
                  ["date,source,medium,campaign,spend,currency", "2026-01-01,google,cpc,b,20,USD"])
    (tmp / "settings.env").write_text("# the user's settings\nATTRIBUTION_LOOKBACK_DAYS=7\nAIRFLOW__CORE__EXECUTOR=Nope\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATTRIBUTION_")}
    env.update({"WAREHOUSE_URL": url, "LANDING_URL": landing.url, "AIRFLOW_HOME": str(tmp / "airflow"),
                "ENV_FILE": str(tmp / "settings.env")})
    env.pop("AIRFLOW_CONN_WAREHOUSE", None)

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "marketing", *args], env=env, capture_output=True, text=True,
                              timeout=600)

    runs = {"first": cli("run"), "second": cli("run"), "report": cli("report", "--model", "linear"),
            "empty_report": cli("report", "--start", "2027-01-01", "--end", "2027-01-31")}
    yield {"runs": runs, "url": url, "home": tmp / "airflow"}
    with admin.cursor() as cur:
        cur.execute(f'drop database if exists "{name}" with (force)')
    admin.close()


def output(run: subprocess.CompletedProcess) -> str:
    return run.stdout + run.stderr


def test_settings_in_the_env_file_are_read_by_every_run_and_stick(cli_runs):
    first, second = cli_runs["runs"]["first"], cli_runs["runs"]["second"]
    assert first.returncode == 0 and second.returncode == 0, output(first) + output(second)
    with psycopg2.connect(cli_runs["url"]) as conn, conn.cursor() as cur:
        cur.execute("select mode, (params->>'lookback_days')::int from ops.attribution_runs order by run_id")
        # the second run keeps the file's 7 days: no rebuild back to the default 30
        assert cur.fetchall() == [("full", 7), ("incremental", 7)]
    conn.close()


def test_report_shows_the_model_parameters_and_takes_a_model_and_a_period(cli_runs):
    report = cli_runs["runs"]["report"]
    assert report.returncode == 0, output(report)
    assert "Computed with: lookback 7 days" in report.stdout
    assert "== linear" in report.stdout and "== first_touch" not in report.stdout
    assert "total, all channels (blended)" in report.stdout and "paid channels only" in report.stdout
    empty = cli_runs["runs"]["empty_report"]
    assert empty.returncode == 0 and "No attribution results between 2027-01-01 and 2027-01-31" in empty.stdout


def test_the_in_process_run_keeps_its_own_airflow_metadata_database(cli_runs):
    home = cli_runs["home"]
    # `make airflow` keeps its metadata in AIRFLOW_HOME/airflow.db: the in-process runs are not there,
    # so a running scheduler never picks up their tasks or their Asset events
    if (home / "airflow.db").exists():
        with sqlite3.connect(home / "airflow.db") as db:
            assert db.execute("select count(*) from dag_run").fetchone()[0] == 0
    with sqlite3.connect(home / "in-process" / "airflow.db") as db:
        # two `make run`s, each one run of every project DAG
        assert db.execute("select count(*) from dag_run").fetchone()[0] == 2 * len(DAG_FILES)


def test_a_run_prints_a_line_per_file_and_a_summary_per_dag_run(cli_runs):
    first, second = output(cli_runs["runs"]["first"]), output(cli_runs["runs"]["second"])
    lines = first.splitlines()
    assert len(lines) < 20 and max(map(len, lines)) < 300, first
    assert sum(line.startswith("loaded file://") for line in lines) == 5  # one per file
    assert "loaded 5 files, 5 rows, 0 quarantined" in first
    assert "marketing_ingest: success" in first and "marketing_attribution: success" in first
    again = second.splitlines()
    assert len(again) < 10, second
    assert "nothing new" in second
