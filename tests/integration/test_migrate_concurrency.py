"""`python -m marketing migrate` started several times at once on a new database (the first task of
both DAGs, an init job, a deploy step): every one succeeds and the schema is built once."""

import os
import subprocess
import sys

import psycopg2
import pytest

from marketing import migrate

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("processes", [2, 4, 8])
def test_concurrent_migrate_commands_on_a_new_database_all_succeed(empty_database_url, processes):
    env = {**os.environ, "WAREHOUSE_URL": empty_database_url}
    runs = [subprocess.Popen([sys.executable, "-m", "marketing", "migrate"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(processes)]
    results = [(run.wait(timeout=300), *run.communicate()) for run in runs]
    failed = [[line for line in err.splitlines() if "Error" in line][:1] for status, _, err in results if status]
    assert not failed, f"{len(failed)} of {processes} migrate commands failed: {failed}"
    assert all(f"warehouse at revision {migrate.head()}" in out for _, out, _ in results)
    with psycopg2.connect(empty_database_url) as conn, conn.cursor() as cur:
        cur.execute("select version_num from ops.alembic_version")
        assert cur.fetchall() == [(migrate.head(),)]
    conn.close()
