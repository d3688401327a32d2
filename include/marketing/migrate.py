"""Versioned warehouse schema migrations (Alembic), recorded in `ops.alembic_version`."""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from marketing import readonly
from marketing.warehouse import sqlalchemy_url

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head() -> str:
    """The newest revision this code knows."""
    return ScriptDirectory.from_config(_config()).get_current_head()


def current(url: str) -> str | None:
    """The revision the warehouse at `url` is at (None: never migrated)."""
    engine = sa.create_engine(sqlalchemy_url(url), poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        return MigrationContext.configure(conn, opts={"version_table_schema": "ops"}).get_current_revision()


def upgrade(url: str, revision: str = "head", *, reader_password: str | None = None) -> str:
    """Bring the warehouse at `url` up to `revision`; returns the revision reached.

    Then, in the same transaction (so under the migrations' lock), gives the dashboard's login
    `reader_password` when one is given, on every run: a changed password takes effect with the
    next migration run. A server where that login cannot exist is a warning, not a failure.
    """
    cfg = _config()
    engine = sa.create_engine(sqlalchemy_url(url), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        if revision == "head":
            dbapi = conn.connection.dbapi_connection
            if reader_password:
                readonly.set_reader_password(dbapi, reader_password)
            if problem := readonly.reader_login_problem(dbapi):
                log.warning("the dashboard's read-only login is not ready: %s", problem)
    return current(url)
