"""Every DAG file parses quickly, without touching a database or the network, and follows the house rules."""

from __future__ import annotations

import ast
import socket
import sqlite3
import time
from pathlib import Path

import psycopg2
import pytest
from airflow.dag_processing.dagbag import DagBag  # in the session's AIRFLOW_HOME (tests/conftest.py)

from marketing.assets import ATTRIBUTION_MARTS, CORE_ASSETS

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(DAGS_FOLDER.glob("*.py"))
PARSE_SECONDS = 5.0  # the DAG processor re-parses every file every 30 s; a slow import stalls it


@pytest.fixture
def io_attempts(monkeypatch) -> list[str]:
    """Make database connections and network calls raise, and record each attempt."""
    attempts: list[str] = []

    def refuse(what: str):
        def fake(*args, **kwargs):
            attempts.append(f"{what}{args[1:] if what.startswith('socket') else args}")
            raise OSError(f"{what} during DAG parsing")

        return fake

    monkeypatch.setattr(psycopg2, "connect", refuse("psycopg2.connect"))
    monkeypatch.setattr(sqlite3, "connect", refuse("sqlite3.connect"))
    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("socket.getaddrinfo"))
    return attempts


def parse(path: Path) -> DagBag:
    return DagBag(dag_folder=path, safe_mode=False)


def parsed_dag(dag_id: str):
    bag = parse(DAGS_FOLDER / f"{dag_id}.py")
    assert not bag.import_errors, bag.import_errors
    return bag.dags[dag_id]


@pytest.fixture(scope="module")
def dags() -> dict:
    bags = [parse(path) for path in DAG_FILES]
    return {dag_id: dag for bag in bags for dag_id, dag in bag.dags.items()}


def test_the_dags_folder_holds_the_project_dags():
    assert {p.stem for p in DAG_FILES} >= {"marketing_ingest", "marketing_attribution", "marketing_customers"}


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_parses_fast_without_touching_a_database_or_the_network(path, io_attempts):
    started = time.monotonic()
    bag = parse(path)
    seconds = time.monotonic() - started
    assert not bag.import_errors, f"{path.name} failed to import: {bag.import_errors}"
    assert bag.dags, f"{path.name} defines no DAG"
    assert not io_attempts, f"parsing {path.name} tried to reach out: {io_attempts}"
    assert seconds < PARSE_SECONDS, f"parsing {path.name} took {seconds:.1f}s (limit {PARSE_SECONDS}s)"


def test_the_io_guard_refuses_connections(io_attempts):
    with pytest.raises(OSError):
        psycopg2.connect("postgresql://nobody@localhost/none")
    with pytest.raises(OSError), socket.socket() as sock:
        sock.connect(("127.0.0.1", 9))
    assert len(io_attempts) == 2


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_sets_catchup_explicitly(path):
    calls = [node for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Call)
             and getattr(node.func, "id", getattr(node.func, "attr", None)) in {"dag", "DAG"}]
    assert calls, f"{path.name} has no @dag(...) or DAG(...) call"
    for call in calls:
        assert "catchup" in {k.arg for k in call.keywords}, f"{path.name}: catchup must be set explicitly"


def test_every_dag_has_owner_tags_retries_no_catchup_and_one_active_run(dags):
    assert dags
    for dag_id, dag in dags.items():
        assert dag.default_args.get("owner") not in (None, "", "airflow"), f"{dag_id}: no owner"
        assert dag.tags, f"{dag_id}: no tags"
        assert dag.default_args.get("retries", 0) >= 1, f"{dag_id}: retries must be >= 1"
        assert dag.catchup is False, f"{dag_id}: catchup must be False"
        assert dag.max_active_runs == 1, f"{dag_id}: max_active_runs must be 1"
        assert dag.doc_md, f"{dag_id}: no doc_md"


def test_ingest_runs_hourly_by_default(monkeypatch):
    monkeypatch.delenv("INGEST_SCHEDULE", raising=False)
    assert parsed_dag("marketing_ingest").schedule == "@hourly"


def test_ingest_schedule_comes_from_the_settings(monkeypatch):
    monkeypatch.setenv("INGEST_SCHEDULE", "15 3 * * *")
    assert parsed_dag("marketing_ingest").schedule == "15 3 * * *"


def test_ingest_publishes_each_core_asset_from_its_own_task(dags):
    ingest = dags["marketing_ingest"]
    for table, asset in CORE_ASSETS.items():
        assert ingest.get_task(f"publish_{table}").outlets == [asset], f"publish_{table} must emit {asset.name}"
    published = [outlet for task in ingest.tasks for outlet in task.outlets]
    assert sorted(a.name for a in published) == sorted(a.name for a in CORE_ASSETS.values())


def test_attribution_is_scheduled_on_any_core_asset(dags):
    condition = dags["marketing_attribution"].timetable.asset_condition
    assert type(condition).__name__ == "AssetAny"
    assert sorted(a.name for a in condition.objects) == sorted(a.name for a in CORE_ASSETS.values())


def test_attribution_publishes_the_marts_asset_from_one_task_and_customers_waits_on_it(dags):
    attribution = dags["marketing_attribution"]
    publishers = [task.task_id for task in attribution.tasks if task.outlets]
    assert publishers == ["publish"] and attribution.get_task("publish").outlets == [ATTRIBUTION_MARTS]
    condition = dags["marketing_customers"].timetable.asset_condition
    assert [a.name for a in condition.objects] == [ATTRIBUTION_MARTS.name]
