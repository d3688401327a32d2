"""Schema migrations: from an empty database, and as an upgrade that keeps data."""

import psycopg2
import pytest

from marketing import migrate

pytestmark = pytest.mark.integration


def test_migrations_build_every_schema_from_an_empty_database(empty_database_url):
    assert migrate.current(empty_database_url) is None
    assert migrate.upgrade(empty_database_url) == migrate.head()
    with psycopg2.connect(empty_database_url) as conn, conn.cursor() as cur:
        cur.execute("select nspname from pg_namespace where nspname in ('raw', 'core', 'marts', 'ops') order by 1")
        assert [r[0] for r in cur.fetchall()] == ["core", "marts", "ops", "raw"]
        cur.execute("select version_num from ops.alembic_version")
        assert cur.fetchone()[0] == migrate.head()
    conn.close()
    assert migrate.upgrade(empty_database_url) == migrate.head()  # idempotent


def test_upgrade_from_the_first_revision_keeps_loaded_data(empty_database_url):
    migrate.upgrade(empty_database_url, "0001")
    with psycopg2.connect(empty_database_url) as conn, conn.cursor() as cur:
        cur.execute("insert into ops.load_manifest (feed, path, size, checksum) values ('touchpoints', 'p', 1, 'x')")
        cur.execute(
            "insert into core.touchpoints (event_id, occurred_at, person_key, channel, file_id, line_number)"
            " values ('e1', now(), 'a:x', 'Direct', 1, 1)"
        )
    conn.close()
    assert migrate.upgrade(empty_database_url) == migrate.head()
    with psycopg2.connect(empty_database_url) as conn, conn.cursor() as cur:
        cur.execute("select event_id from core.touchpoints")
        assert cur.fetchall() == [("e1",)]
    conn.close()
