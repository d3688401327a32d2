"""The read-only warehouse role the dashboard reads the marts with.

`ensure_reader_role` creates (or refreshes) a role that may only read `marts` and `ops`; the
dashboard connects with `DASHBOARD_WAREHOUSE_URL` when it is set, else with the warehouse URL
and `reader_options(role)`, so every statement it runs is run as that role, read-only.
"""

from __future__ import annotations

import re

from psycopg2 import sql

READER_ROLE = "marketing_reader"
READ_SCHEMAS = ("marts", "ops")
ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")  # goes into libpq options unquoted
STATEMENT_TIMEOUT_MS = 30_000  # a dashboard query that runs longer is a bug, not a report


def ensure_reader_role(conn, role: str = READER_ROLE) -> None:
    """Create `role` (NOLOGIN) if missing and grant it read access to marts and ops; idempotent.

    The grants are re-applied each time, so tables added by later migrations are covered too;
    default privileges cover tables the same owner creates afterwards. The connecting user is
    made a member so it can `set role` to it. Commits.
    """
    name = sql.Identifier(role)
    with conn.cursor() as cur:
        # Roles are server-wide: another session (an API worker, a test on another database)
        # may create it at the same moment, so a duplicate is expected, not an error.
        cur.execute(sql.SQL(
            "do $$ begin create role {} nologin; "
            "exception when duplicate_object or unique_violation then null; end $$"
        ).format(name))
        cur.execute("select pg_has_role(current_user, %s, 'member')", (role,))
        if not cur.fetchone()[0]:
            cur.execute(sql.SQL("grant {} to current_user").format(name))
        for schema in map(sql.Identifier, READ_SCHEMAS):
            cur.execute(sql.SQL("grant usage on schema {} to {}").format(schema, name))
            cur.execute(sql.SQL("grant select on all tables in schema {} to {}").format(schema, name))
            cur.execute(
                sql.SQL("alter default privileges in schema {} grant select on tables to {}").format(schema, name)
            )
    conn.commit()


def reader_options(role: str | None = READER_ROLE) -> str:
    """libpq `options` for a dashboard session: read-only, a time limit, UTC timestamps, the role."""
    if role and not ROLE_NAME.fullmatch(role):
        raise ValueError(f"reader role must be a plain lower-case name, got {role!r}")
    options = [f"-c default_transaction_read_only=on -c statement_timeout={STATEMENT_TIMEOUT_MS} -c timezone=UTC"]
    if role:
        # Set at connection start, so no statement of the session ever runs as the owner.
        options.append(f"-c role={role}")
    return " ".join(options)
