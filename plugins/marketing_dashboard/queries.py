"""The dashboard's reads of the warehouse: one SQL file per query, run by a login that can only read.

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
from marketing.readonly import HOW_TO, reader_options, reader_url
from marketing.reporting import SQL as REPORTING_SQL
from marketing.sqlfiles import SqlFiles

SQL = SqlFiles(__file__)
__all__ = ["REPORTING_SQL", "SQL", "LoginCanWrite", "Reader", "reader", "reset_reader"]


def _json_value(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


class LoginCanWrite(RuntimeError):
    """The dashboard's warehouse login could change the warehouse; it is not used."""


@dataclass(frozen=True)
class Reader:
    """Runs the dashboard's queries on `dsn`, whose login may only read."""

    dsn: str

    def connect(self) -> psycopg2.extensions.connection:
        """A session as the dashboard opens it: the reader's login, read-only by default."""
        return psycopg2.connect(self.dsn, options=reader_options(), application_name="marketing_dashboard")

    def check_read_only(self) -> None:
        """Raise LoginCanWrite when the login, or a role it may SET ROLE to, can write."""
        if writers := self.rows(SQL("login_can_write")):
            reasons = "; ".join(f"{r['role']} {r['reason']}" for r in writers)
            raise LoginCanWrite(f"the dashboard's warehouse login can write ({reasons}), so it is not used: "
                                f"set DASHBOARD_WAREHOUSE_URL to a login that can only read ({HOW_TO})")

    def rows(self, query: str, binds: dict | None = None) -> list[dict]:
        """The rows of `query` (the text of a SQL file) with `binds` bound, as JSON-ready dicts."""
        # A connection per request: a dashboard makes a few requests a minute, and nothing
        # can leak from one session into the next.
        conn = self.connect()
        with closing(conn), conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute(query, binds or {})
            rows = cur.fetchall()
            conn.rollback()  # read-only: nothing to commit
        return [{key: _json_value(value) for key, value in row.items()} for row in rows]

    def one(self, query: str, binds: dict | None = None) -> dict | None:
        rows = self.rows(query, binds)
        return rows[0] if rows else None


_lock = threading.Lock()
_reader: Reader | None = None


def reader(settings: Settings | None = None) -> Reader:
    """The process's Reader: `DASHBOARD_WAREHOUSE_URL`, else the warehouse as `marketing_reader`.

    The login is checked once per process before it is used: one that can write is refused
    (LoginCanWrite) on every request until the settings change.
    """
    global _reader
    with _lock:
        if _reader is None:
            candidate = Reader(reader_url(settings or Settings.from_env()))
            candidate.check_read_only()
            _reader = candidate
        return _reader


def reset_reader() -> None:
    """Forget the process's Reader (the settings changed; tests)."""
    global _reader
    with _lock:
        _reader = None
