"""Shared fixtures: a real Postgres for every test that needs one, each test in its own database.

`TEST_WAREHOUSE_URL` names a server to use (any database on it; the tests create their own);
otherwise an embedded Postgres 18 starts in a temporary directory for the session. Each test
gets a fresh database cloned from a migrated template, which takes a few tens of milliseconds.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Airflow reads its config when first imported: give the test session its own home (metadata
# SQLite, logs) before anything imports it, so tests never touch ~/airflow.
os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="mkt-test-airflow-")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(REPO / "plugins")

import psycopg2  # noqa: E402
import pytest  # noqa: E402

from marketing import migrate  # noqa: E402
from marketing.warehouse import connect, embedded_server, embedded_url, libpq_dsn, with_database  # noqa: E402


def _admin(url: str):
    conn = connect(url)
    conn.autocommit = True
    return conn


@pytest.fixture(scope="session")
def pg_server_url():
    """URL of a Postgres server the tests may create databases on."""
    url = os.environ.get("TEST_WAREHOUSE_URL")
    if url:
        yield libpq_dsn(url)
        return
    data_dir = Path(tempfile.mkdtemp(prefix="mkt-test-pg-"))
    server = embedded_server(data_dir)  # tuned like the project's embedded warehouse
    yield embedded_url(server)
    server.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def template_database(pg_server_url):
    """A database migrated to head, cloned by each test."""
    name = f"mkt_template_{os.getpid()}"
    admin = _admin(pg_server_url)
    with admin.cursor() as cur:
        cur.execute(f'drop database if exists "{name}"')
        cur.execute(f'create database "{name}"')
    migrate.upgrade(with_database(pg_server_url, name))
    yield name
    with admin.cursor() as cur:
        cur.execute(f'drop database if exists "{name}" with (force)')
    admin.close()


@contextlib.contextmanager
def _fresh_database(pg_server_url: str, template: str | None):
    """A new database (cloned from `template` if given), dropped afterwards; yields its URL."""
    name = f"mkt_test_{uuid.uuid4().hex[:12]}"
    admin = _admin(pg_server_url)
    try:
        with admin.cursor() as cur:
            cur.execute(f'create database "{name}"' + (f' template "{template}"' if template else ""))
        yield with_database(pg_server_url, name)
    finally:
        with admin.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')
        admin.close()


@pytest.fixture
def warehouse_url(pg_server_url, template_database):
    """URL of a new, migrated database that only this test uses."""
    with _fresh_database(pg_server_url, template_database) as url:
        yield url


@pytest.fixture
def second_warehouse_url(pg_server_url, template_database):
    """URL of another new, migrated database (e.g. a clean load to compare a sequence of loads with)."""
    with _fresh_database(pg_server_url, template_database) as url:
        yield url


@pytest.fixture
def empty_database_url(pg_server_url):
    """URL of a new, empty database (for migration tests)."""
    with _fresh_database(pg_server_url, None) as url:
        yield url


@pytest.fixture
def db(warehouse_url):
    """An open connection to this test's database."""
    conn = psycopg2.connect(warehouse_url)
    yield conn
    conn.close()
