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


def test_a_migrations_user_without_createrole_migrates_and_the_dbas_reader_role_gets_read_access(
        pg_server_url, template_database, caplog):
    """Managed servers: the role exists (a DBA made it; here the template's migration did), the
    migrations user may not create or alter roles. Migrations succeed, grant read access, and
    say that the password was left alone."""
    import uuid

    from marketing.readonly import READER_ROLE, reader_options, with_login
    from marketing.warehouse import connect, with_database

    owner, database = f"mkt_owner_{uuid.uuid4().hex[:8]}", f"mkt_nocreaterole_{uuid.uuid4().hex[:8]}"
    admin = connect(pg_server_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"create role {owner} login nocreaterole nosuperuser")
        cur.execute(f"create database {database} owner {owner}")
    try:
        url = with_login(with_database(pg_server_url, database), owner)
        assert migrate.upgrade(url, reader_password="not-allowed-to-set") == migrate.head()
        assert "the password of marketing_reader was not changed" in caplog.text
        reader = psycopg2.connect(with_login(url, READER_ROLE), options=reader_options())
        with reader.cursor() as cur:
            cur.execute("select current_user, (select count(*) from marts.roas_daily)")
            assert cur.fetchone() == (READER_ROLE, 0)
        reader.rollback()
        with reader.cursor() as cur, pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("set transaction read write; delete from marts.roas_daily")
        reader.close()
    finally:
        with admin.cursor() as cur:
            cur.execute(f"drop database if exists {database} with (force)")
            cur.execute(f"drop role if exists {owner}")
        admin.close()
