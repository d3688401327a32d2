"""Scratch databases for the benchmarks."""

from __future__ import annotations

from marketing.warehouse import connect, with_database


def scratch_database(server_url: str, name: str) -> str:
    """Create (or recreate) an empty database for a benchmark and return its URL."""
    admin = connect(server_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'drop database if exists "{name}" with (force)')
        cur.execute(f'create database "{name}"')
    admin.close()
    return with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    admin = connect(server_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'drop database if exists "{name}" with (force)')
    admin.close()
