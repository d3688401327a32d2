"""How an attribution run goes fast: slices of the paths table, computed side by side.

This module is plumbing; what a run computes is in `run.py` and the SQL files. It offers:

- `path_slices`: the slices of marts.attribution_paths (one list partition each, by person);
- `each_slice`: a piece of work for every slice, here one after the other, or side by side in
  sessions of their own that read this transaction's snapshot (a full rebuild); `SessionSums`
  names temp tables the work also fills, which a slice session hands back to the run's own;
- `new_slice_table`, `index_slice_table`, `swap_slices`: a slice rebuilt in a new table, which
  then takes the place of its partition without a scan (a full rebuild);
- `other_slices`: slices 1… of a set of conversions computed in sessions of their own while the
  run computes slice 0; their rows come back in COPY's binary format and `copy_paths` writes them
  in the run's transaction (incremental and range runs).

Every session reads what the run's transaction sees (an exported snapshot), with the same
settings, so the slices add up to what one session would have computed.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, TypeVar

from psycopg2 import sql
from psycopg2.extensions import ISOLATION_LEVEL_REPEATABLE_READ

Connect = Callable[[], object]  # opens another connection to the same warehouse
T = TypeVar("T")

PATHS = sql.Identifier("marts", "attribution_paths")
WORK_MEM = "256MB"  # sorting the paths of a full rebuild is its biggest step; it should stay in memory
MAINTENANCE_WORK_MEM = "512MB"  # index builds after a full rebuild
SPOOL_BYTES = 64 * 1024 * 1024  # a slice session's rows stay in memory up to this, then go to a temp file
LOCK_TIMEOUT = "5min"  # a slice session waiting on a lock longer than this is stuck: fail


def path_slices(cur) -> list[int]:
    """The slices of marts.attribution_paths: partitions attribution_paths_s0 … s(n-1)."""
    cur.execute(
        "select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid"
        " where i.inhparent = 'marts.attribution_paths'::regclass order by c.relname"
    )
    names = sorted(name for (name,) in cur.fetchall())
    slices = list(range(len(names)))
    if names != sorted(f"attribution_paths_s{k}" for k in slices):
        raise RuntimeError(f"marts.attribution_paths should have partitions attribution_paths_s0..n, has {names}")
    return slices


def run_settings(cur) -> None:
    """This transaction's settings, the same in the run and in every slice session.

    With the session time zone fixed, nothing the SQL computes depends on the connection it runs
    on. A commit lost in a crash is safe to lose: the queue rows the run consumed come back with
    it, and a slice session's tables are the run's to swap in or drop.
    """
    cur.execute(
        "select set_config('work_mem', %s, true), set_config('timezone', 'UTC', true),"
        " set_config('synchronous_commit', 'off', true)",
        (WORK_MEM,),
    )


@contextmanager
def slice_session(connect: Connect, snapshot: str) -> Iterator:
    """A cursor in a new session that reads what the run's snapshot sees, with the run's settings.

    The session's transaction commits when the block ends (a slice session only creates tables of
    its own), and the connection is closed whatever happens. The session has an empty temp table
    `attribution_affected`, as the run has, so the paths SQL reads the same names in both.
    """
    conn = connect()
    try:
        conn.set_session(isolation_level=ISOLATION_LEVEL_REPEATABLE_READ)
        with conn, conn.cursor() as cur:
            cur.execute("set transaction snapshot %s", (snapshot,))
            run_settings(cur)
            cur.execute("select set_config('lock_timeout', %s, true)", (LOCK_TIMEOUT,))
            cur.execute("create temp table attribution_affected (conversion_id text) on commit drop")
            yield cur
    finally:
        conn.close()


def _export_snapshot(cur) -> str:
    cur.execute("select pg_export_snapshot()")
    return cur.fetchone()[0]


@dataclass(frozen=True)
class SessionSums:
    """Temp tables that a slice's work fills besides what it returns (sums to add up later).

    The run has them already; a slice session creates them with `create` (SQL text), and its rows
    come back in COPY's binary format into the run's tables of the same names.
    """

    create: str
    tables: tuple[str, ...]


def _copy_out(session, table: str) -> IO[bytes]:
    """A session's temp table in COPY's binary format, in memory up to `SPOOL_BYTES`, then on disk."""
    rows = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    try:
        session.copy_expert(sql.SQL("copy {} to stdout with (format binary)").format(
            sql.Identifier(table)).as_string(session.connection), rows)
        rows.seek(0)
    except BaseException:
        rows.close()
        raise
    return rows


def _copy_in(cur, table: str, rows: IO[bytes]) -> None:
    with rows:
        cur.copy_expert(sql.SQL("copy {} from stdin with (format binary)").format(
            sql.Identifier(table)).as_string(cur.connection), rows)


def each_slice(cur, connect: Connect | None, slices: list[int], work: Callable[[object, int], T],
               sums: SessionSums | None = None) -> list[T]:
    """`work(cursor, slice)` for every slice, in slice order; returns what each returned.

    Without `connect`, one after the other in this transaction. With it, side by side, one session
    per slice, each reading this transaction's snapshot and committing its own work; with `sums`,
    each session has those temp tables for `work` to fill, and their rows are added to this
    transaction's tables of the same names before `each_slice` returns.
    """
    if connect is None:
        return [work(cur, slice_) for slice_ in slices]
    snapshot = _export_snapshot(cur)
    tables = sums.tables if sums else ()

    def in_session(slice_: int) -> tuple[T, list[IO[bytes]]]:
        with slice_session(connect, snapshot) as session:
            if sums:
                session.execute(sums.create)
            result = work(session, slice_)
            handed: list[IO[bytes]] = []
            try:
                for table in tables:
                    handed.append(_copy_out(session, table))
            except BaseException:
                for rows in handed:
                    rows.close()
                raise
            return result, handed

    with ThreadPoolExecutor(max_workers=len(slices), thread_name_prefix="attribution-slice") as pool:
        futures = [pool.submit(in_session, slice_) for slice_ in slices]
        done = [future.result() for future in futures]
    for _, handed in done:
        for table, rows in zip(tables, handed):
            _copy_in(cur, table, rows)
    return [result for result, _ in done]


# ---- a full rebuild: a new table per slice, swapped in ------------------------------------------

def new_slice_table(cur, slice_: int) -> sql.Identifier:
    """A new, empty marts.attribution_paths_next_s<slice> shaped like the paths, checked to its slice.

    Created in this transaction, its rows skip the WAL (wal_level minimal), and the check on its
    slice lets it become a partition without a scan. A leftover of a failed rebuild is dropped.
    """
    table = f"attribution_paths_next_s{slice_}"
    target = sql.Identifier("marts", table)
    cur.execute(sql.SQL("drop table if exists {}").format(target))
    cur.execute(sql.SQL("create table {} (like {} including defaults including constraints)").format(target, PATHS))
    cur.execute(sql.SQL("alter table {} add constraint {} check (slice = {})").format(
        target, sql.Identifier(f"{table}_slice"), sql.Literal(slice_)))
    return target


def index_slice_table(cur, target: sql.Identifier) -> None:
    """Build the indexes of marts.attribution_paths on a filled slice table (once, after the rows), and analyse it."""
    table = target.strings[-1]
    cur.execute("select set_config('maintenance_work_mem', %s, true)", (MAINTENANCE_WORK_MEM,))
    cur.execute(
        "select c.relname, pg_get_indexdef(c.oid) from pg_index x join pg_class c on c.oid = x.indexrelid"
        " where x.indrelid = 'marts.attribution_paths'::regclass"
    )
    for name, definition in cur.fetchall():
        # "CREATE INDEX attribution_paths_conversion ON ONLY marts.attribution_paths USING btree (…)":
        # the same method, columns and options on the slice table.
        using = definition[definition.index(" USING "):]
        suffix = name.removeprefix("attribution_paths_")
        cur.execute(sql.SQL("create index {} on {}").format(sql.Identifier(f"{table}_{suffix}"), target)
                    + sql.SQL(using))
    cur.execute(sql.SQL("analyze {}").format(target))


def swap_slices(cur, slices: list[int]) -> None:
    """Put each slice's new table in place of its partition (no scan: the check proves the bound)."""
    for slice_ in slices:
        live, built = f"attribution_paths_s{slice_}", f"attribution_paths_next_s{slice_}"
        cur.execute(sql.SQL("alter table {} detach partition {}").format(PATHS, sql.Identifier("marts", live)))
        cur.execute(sql.SQL("drop table {}").format(sql.Identifier("marts", live)))
        cur.execute(sql.SQL("alter table {} rename to {}").format(sql.Identifier("marts", built), sql.Identifier(live)))
        cur.execute(sql.SQL("alter table {} attach partition {} for values in ({})").format(
            PATHS, sql.Identifier("marts", live), sql.Literal(slice_)))
        cur.execute(sql.SQL("alter table {} drop constraint {}").format(
            sql.Identifier("marts", live), sql.Identifier(f"{built}_slice")))
        cur.execute(
            "select c.relname from pg_index x join pg_class c on c.oid = x.indexrelid"
            " where x.indrelid = %s::regclass",
            (f"marts.{live}",),
        )
        for (index,) in cur.fetchall():
            if index.startswith(built):
                cur.execute(sql.SQL("alter index {} rename to {}").format(
                    sql.Identifier("marts", index), sql.Identifier(live + index.removeprefix(built))))


# ---- incremental and range runs: the other slices' rows, handed back ----------------------------

@contextmanager
def other_slices(
    cur, connect: Connect | None, slices: list[int], compute: Callable[[object, int], list[tuple]],
) -> Iterator[list[Future]]:
    """Start slices 1… of the conversions in attribution_affected, each in a session of its own.

    `compute(cursor, slice)` fills the temp table `slice_paths` (shaped like the paths) with the
    slice's new rows and returns their changes. Yields one future per other slice, of (rows,
    changes): rows in COPY's binary format for `copy_paths`, in a file that stays in memory up to
    `SPOOL_BYTES` and goes to disk beyond, so a range run over years needs no more memory than a
    daily one. Yields [] (the run computes every slice itself) without `connect`, with one slice,
    or when nothing is affected. Leaving the block waits for the sessions.
    """
    if connect is None or len(slices) < 2:
        yield []
        return
    cur.execute("select pg_export_snapshot(), exists (select from attribution_affected)")
    snapshot, any_affected = cur.fetchone()
    if not any_affected:
        yield []
        return
    ids = io.BytesIO()
    cur.copy_expert("copy attribution_affected (conversion_id) to stdout", ids)

    def in_session(slice_: int) -> tuple[IO[bytes], list[tuple]]:
        with slice_session(connect, snapshot) as session:
            session.execute("create temp table slice_paths (like marts.attribution_paths) on commit drop")
            session.copy_expert("copy attribution_affected (conversion_id) from stdin", io.BytesIO(ids.getvalue()))
            changes = compute(session, slice_)
            rows = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
            try:
                session.copy_expert("copy slice_paths to stdout with (format binary)", rows)
                rows.seek(0)
            except BaseException:
                rows.close()
                raise
            return rows, changes

    pool = ThreadPoolExecutor(max_workers=len(slices) - 1, thread_name_prefix="attribution-slice")
    try:
        yield [pool.submit(in_session, slice_) for slice_ in slices[1:]]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def copy_paths(cur, rows: IO[bytes]) -> None:
    """Write path rows handed back by `other_slices` into marts.attribution_paths (and close them)."""
    with rows:
        cur.copy_expert(sql.SQL("copy {} from stdin with (format binary)").format(PATHS).as_string(cur.connection), rows)
