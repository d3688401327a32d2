"""Alembic environment: runs the warehouse migrations on the connection it is given."""

from alembic import context
from sqlalchemy import create_engine, text

config = context.config
VERSION_SCHEMA = "ops"


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection") or create_engine(config.get_main_option("sqlalchemy.url"))
    if hasattr(connectable, "connect") and not hasattr(connectable, "execute"):
        with connectable.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _run(connection) -> None:
    # One migration run at a time, even from two Airflow workers. The lock comes before anything
    # else: even `create schema if not exists` fails with a unique violation when two sessions
    # create the same schema at once. It is held until the caller's transaction ends.
    connection.execute(text("select pg_advisory_xact_lock(hashtext('marketing.migrations'))"))
    # The version table lives in `ops`, which must exist before Alembic creates it.
    connection.execute(text(f"create schema if not exists {VERSION_SCHEMA}"))
    context.configure(connection=connection, version_table_schema=VERSION_SCHEMA, transaction_per_migration=False)
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
