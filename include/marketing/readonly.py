"""The dashboard's read-only login to the warehouse.

The migrations create the role `marketing_reader` (LOGIN, a member of no other role, SELECT on
marts and ops only; `migrations/versions/0007_reader_login.sql`), and `set_reader_password` gives
it the password from `DASHBOARD_WAREHOUSE_PASSWORD` on every migration run. The dashboard logs in
as it (`reader_url`), so no statement inside its session can do more than read: there is no
other role to switch back to.
"""

from __future__ import annotations

import logging
from urllib.parse import quote, urlsplit

import psycopg2
from psycopg2 import sql
from psycopg2.extensions import encrypt_password

from marketing.config import Settings
from marketing.warehouse import libpq_dsn, resolve_url

log = logging.getLogger(__name__)

READER_ROLE = "marketing_reader"
STATEMENT_TIMEOUT_MS = 30_000  # a dashboard query that runs longer is a bug, not a report
HOW_TO = "docs/operations.md, \"The dashboard's read-only login\""


def reader_options() -> str:
    """libpq `options` for a dashboard session: read-only by default, a time limit, UTC timestamps.

    Read-only here is a convenience, not the protection (the session can turn it off): the
    login's privileges are.
    """
    return f"-c default_transaction_read_only=on -c statement_timeout={STATEMENT_TIMEOUT_MS} -c timezone=UTC"


def with_login(url: str, user: str, password: str | None = None) -> str:
    """The same server and database as `url`, logged in as `user` (with `password`, if given)."""
    parts = urlsplit(libpq_dsn(url))
    auth = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
    return parts._replace(netloc=f"{auth}@{parts.netloc.rpartition('@')[2]}").geturl()


def reader_url(settings: Settings) -> str:
    """Where the dashboard reads: `DASHBOARD_WAREHOUSE_URL`, else the warehouse as `marketing_reader`."""
    if settings.dashboard_warehouse_url:
        return libpq_dsn(settings.dashboard_warehouse_url)
    return with_login(resolve_url(settings), READER_ROLE, settings.dashboard_warehouse_password)


def set_reader_password(conn, password: str) -> bool:
    """Give `marketing_reader` this password (sent as a SCRAM verifier, never in clear text).

    Runs inside the caller's transaction, under a savepoint: a user that may not alter the
    role gets a warning, not a failed migration. True when the password was set.
    """
    with conn.cursor() as cur:
        cur.execute("select exists (select from pg_roles where rolname = %s)", (READER_ROLE,))
        if not cur.fetchone()[0]:
            return False  # reader_login_problem says why
        verifier = encrypt_password(password, READER_ROLE, conn)
        cur.execute("savepoint reader_password")
        try:
            cur.execute(sql.SQL("alter role {} password %s").format(sql.Identifier(READER_ROLE)), (verifier,))
        except psycopg2.errors.InsufficientPrivilege as exc:
            cur.execute("rollback to savepoint reader_password")
            log.warning("the password of %s was not changed: %s (%s)", READER_ROLE, exc.pgerror.strip(), HOW_TO)
            return False
        cur.execute("release savepoint reader_password")
    return True


def reader_login_problem(conn) -> str | None:
    """Why the dashboard cannot log in as `marketing_reader` on this server, or None when it can."""
    with conn.cursor() as cur:
        cur.execute("select rolcanlogin from pg_roles where rolname = %s", (READER_ROLE,))
        row = cur.fetchone()
        cur.execute("select current_user")
        user = cur.fetchone()[0]
    if row is None:
        return (f"role {READER_ROLE} does not exist and {user} may not create roles: the dashboard cannot read "
                f"until a DBA creates it, or DASHBOARD_WAREHOUSE_URL names another read-only login ({HOW_TO})")
    if not row[0]:
        return (f"role {READER_ROLE} cannot log in and {user} may not change that: "
                f"ALTER ROLE {READER_ROLE} LOGIN as a DBA, or set DASHBOARD_WAREHOUSE_URL ({HOW_TO})")
    return None
