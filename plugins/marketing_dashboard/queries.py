"""The dashboard's reads of the warehouse: one SQL file per query, run read-only as the reader role.

The queries the text report shows too are `marketing.reporting.SQL` (`REPORTING_SQL`); those of the
page alone are in `sql/` here (`SQL`).
"""

from __future__ import annotations

import threading
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import psycopg2
import psycopg2.extras

from marketing.config import Settings
from marketing.readonly import READER_ROLE, ensure_reader_role, reader_options
from marketing.reporting import SQL as REPORTING_SQL
from marketing.sqlfiles import SqlFiles
from marketing.warehouse import connection, libpq_dsn, resolve_url

SQL = SqlFiles(__file__)
__all__ = ["REPORTING_SQL", "SQL", "Reader", "reader", "reset_reader"]


def _json_value(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class Reader:
    """Runs the dashboard's queries on `dsn` in read-only sessions (as `role`, when given)."""

    dsn: str
    role: str | None = None

    def rows(self, query: str, params: dict | None = None) -> list[dict]:
        """The rows of `query` (the text of a SQL file) with `params` bound, as JSON-ready dicts."""
        # A connection per request: a dashboard makes a few requests a minute, and nothing
        # can leak from one session into the next.
        conn = psycopg2.connect(self.dsn, options=reader_options(self.role), application_name="marketing_dashboard")
        with closing(conn), conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute(query, params or {})
            rows = cur.fetchall()
            conn.rollback()  # read-only: nothing to commit
        return [{key: _json_value(value) for key, value in row.items()} for row in rows]

    def one(self, query: str, params: dict | None = None) -> dict | None:
        rows = self.rows(query, params)
        return rows[0] if rows else None


_lock = threading.Lock()
_reader: Reader | None = None


def reader(settings: Settings | None = None) -> Reader:
    """The process's Reader: `DASHBOARD_WAREHOUSE_URL` as given, else the warehouse as the reader role.

    Without `DASHBOARD_WAREHOUSE_URL` the role is created or refreshed once per process with
    the warehouse's own URL, which is then only used with `-c role=marketing_reader`.
    """
    global _reader
    with _lock:
        if _reader is None:
            settings = settings or Settings.from_env()
            if settings.dashboard_warehouse_url:
                _reader = Reader(libpq_dsn(settings.dashboard_warehouse_url))
            else:
                url = resolve_url(settings)
                with connection(url) as conn:
                    ensure_reader_role(conn, READER_ROLE)
                _reader = Reader(libpq_dsn(url), READER_ROLE)
        return _reader


def reset_reader() -> None:
    """Forget the process's Reader (the settings changed; tests)."""
    global _reader
    with _lock:
        _reader = None
