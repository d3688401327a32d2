"""Attribution speed, part of `make bench`: core rows are synthesised in SQL, then timed runs.

- full: ~1M conversions over ~5M touchpoints, all seven models, daily tables and ROAS, with the
  temp-file spill of the run (pg_stat_database.temp_bytes); side by side, the same full run
  without the three assist marts (assisted conversions, conversion paths, funnel), and the same
  run without the data-driven `markov` model (the six rule-based models), twice each,
  alternating, best of two: what those cost;
- incremental: a steady day (~35k conversions, ~170k touchpoints) added on top of 30, 60 and
  120 days of history, timed as the ingest's queue would trigger it; then the same day's queue
  run again without and with the assist marts, twice each, alternating, best of two (a rerun
  also replaces the day's own path rows, so it does a little more than the first run), and
  last twice without the `markov` model (the six models' marts do not depend on it: the run is
  told the marts were built without it).
"""

from __future__ import annotations

import time
from contextlib import contextmanager

import marketing.attribution.run as attribution_run
from marketing.attribution import models
from marketing.attribution import run_attribution
from marketing.config import AttributionParams
from marketing.dev.databases import drop_database, scratch_database
from marketing.migrate import upgrade
from marketing.sqlfiles import SqlFiles
from marketing.warehouse import connect

SQL = SqlFiles(__file__)
FIRST_DAY = "2026-01-01"


def add_days(conn, first: int, count: int, *, touchpoints: int, conversions: int, persons: int,
             queue: bool) -> None:
    """Insert `count` synthetic days (day numbers from `first`) into core; optionally queue them."""
    with conn.cursor() as cur:
        for day in range(first, first + count):
            cur.execute(SQL("synthetic_day"), {"first_day": FIRST_DAY, "day": day, "touchpoints": touchpoints,
                              "conversions": conversions, "persons": persons, "queue": queue})
    conn.commit()
    # As the ingest does after its loads (marketing.pipeline.vacuum_core).
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("vacuum (analyze) core.touchpoints, core.conversions, core.ad_spend")
    conn.autocommit = False


@contextmanager
def without_markov():
    """The registry without the data-driven model, as if it had never been added."""
    saved = models.REGISTRY, models.MODELS, models.LABELS
    models.REGISTRY = tuple(m for m in saved[0] if m.name != "markov")
    models.MODELS = tuple(m.name for m in models.REGISTRY)
    models.LABELS = {m.name: m.label for m in models.REGISTRY}
    try:
        yield
    finally:
        models.REGISTRY, models.MODELS, models.LABELS = saved


def _db_stats(conn) -> tuple[int, int]:
    """The database's temp bytes written and blocks read from outside shared buffers, so far.

    pg_stat_database counts every session of the database, autovacuum workers included.
    """
    with conn.cursor() as cur:
        cur.execute("select temp_bytes, blks_read from pg_stat_database where datname = current_database()")
        temp_bytes, blocks_read = cur.fetchone()
    conn.commit()
    return temp_bytes, blocks_read


def timed_run(conn, url: str, **kwargs) -> tuple[float, int, int, object]:
    """Seconds, temp bytes spilled and blocks read (not found in shared buffers) by one attribution run.

    The run gets `connect`, as the DAG gives it: a session per slice, side by side.
    """
    temp_before, read_before = _db_stats(conn)
    started = time.perf_counter()
    summary = run_attribution(conn, AttributionParams(), connect=lambda: connect(url), **kwargs)
    seconds = time.perf_counter() - started
    time.sleep(0.6)  # the statistics collector reports temp files with a short delay
    temp_after, read_after = _db_stats(conn)
    return seconds, temp_after - temp_before, read_after - read_before, summary


def bench_full(server_url: str, days: int = 30, touchpoints: int = 170_000, conversions: int = 33_500) -> dict:
    url = scratch_database(server_url, "mkt_bench_full")
    upgrade(url)
    conn = connect(url)
    add_days(conn, 0, days, touchpoints=touchpoints, conversions=conversions, persons=1_000_000, queue=False)
    with conn.cursor() as cur:
        cur.execute("select (select count(*) from core.conversions), (select count(*) from core.touchpoints)")
        n_conversions, n_touchpoints = cur.fetchone()
    conn.commit()
    # Alternating, so neither side has the warmer cache: six models, without assists, all; twice.
    timings = {"six": [], "no_assists": [], "all": []}
    try:
        for variant in ("six", "no_assists", "all", "six", "no_assists", "all"):
            attribution_run.MAINTAIN_ASSISTS = variant != "no_assists"
            if variant == "six":
                with without_markov():
                    timings[variant].append(timed_run(conn, url, full_rebuild=True))
            else:
                timings[variant].append(timed_run(conn, url, full_rebuild=True))
    finally:
        attribution_run.MAINTAIN_ASSISTS = True
    seconds, spilled, _, _ = min(timings["all"], key=lambda t: t[0])
    without_seconds, without_spilled, _, _ = min(timings["no_assists"], key=lambda t: t[0])
    six_seconds, six_spilled, _, _ = min(timings["six"], key=lambda t: t[0])
    with conn.cursor() as cur:
        cur.execute("select count(*) from marts.attribution_credits")
        credits = cur.fetchone()[0]
        cur.execute("select count(*) from marts.attribution_paths")
        paths = cur.fetchone()[0]
        cur.execute("select count(*) from marts.conversion_paths_daily")
        path_rows = cur.fetchone()[0]
    conn.close()
    drop_database(server_url, "mkt_bench_full")
    return {"conversions": n_conversions, "touchpoints": n_touchpoints, "credits": credits,
            "paths": paths, "seconds": seconds, "temp_mb": spilled / 1e6, "path_rows": path_rows,
            "without_seconds": without_seconds, "without_temp_mb": without_spilled / 1e6,
            "six_seconds": six_seconds, "six_temp_mb": six_spilled / 1e6}


def bench_incremental(server_url: str, histories=(30, 60, 120), touchpoints: int = 170_000,
                      conversions: int = 35_000) -> list[dict]:
    url = scratch_database(server_url, "mkt_bench_incremental")
    upgrade(url)
    conn = connect(url)
    rows, loaded = [], 0
    for history in histories:
        add_days(conn, loaded, history - loaded, touchpoints=touchpoints, conversions=conversions,
                 persons=1_000_000, queue=False)
        run_attribution(conn, AttributionParams(), full_rebuild=True, connect=lambda: connect(url))
        add_days(conn, history, 1, touchpoints=touchpoints, conversions=conversions, persons=1_000_000, queue=True)
        with conn.cursor() as cur:
            cur.execute("create table public.bench_queue as select * from ops.attribution_queue")
        conn.commit()
        seconds, spilled, blocks_read, summary = timed_run(conn, url)
        reruns = {False: [], True: []}
        try:
            for assists in (False, True, False, True):
                with conn.cursor() as cur:
                    cur.execute("insert into ops.attribution_queue select * from public.bench_queue")
                conn.commit()
                attribution_run.MAINTAIN_ASSISTS = assists
                reruns[assists].append(timed_run(conn, url)[0])
        finally:
            attribution_run.MAINTAIN_ASSISTS = True
        # The same day's queue without the markov model, last (a run without it leaves the path
        # rows without its columns, so it cannot alternate): the six models' marts are the same
        # either way, so the run is told they were built without it (no full rebuild).
        six_reruns = []
        with without_markov():
            for _ in range(2):
                with conn.cursor() as cur:
                    cur.execute("insert into ops.attribution_queue select * from public.bench_queue")
                    cur.execute("update ops.attribution_state set models_digest = %s", (models.models_digest(),))
                conn.commit()
                six_reruns.append(timed_run(conn, url)[0])
        with conn.cursor() as cur:
            cur.execute("drop table public.bench_queue")
        conn.commit()
        rows.append({"history_days": history, "seconds": seconds, "temp_mb": spilled / 1e6,
                     "read_mb": blocks_read * 8192 / 1e6,
                     "conversions_recomputed": summary.conversions_recomputed,
                     "rerun_seconds": min(reruns[True]), "rerun_without_seconds": min(reruns[False]),
                     "rerun_six_seconds": min(six_reruns)})
        loaded = history + 1
    conn.close()
    drop_database(server_url, "mkt_bench_incremental")
    return rows


def main(server_url: str, *, full: bool = True, incremental: bool = True) -> None:
    if full:
        _print_full(bench_full(server_url))
    if incremental:
        _print_incremental(bench_incremental(server_url))


def _print_full(full: dict) -> None:
    print(
        f"attribution, full run: {full['conversions']:,} conversions, {full['touchpoints']:,} touchpoints"
        f" -> {full['credits']:,} credit rows ({full['paths']:,} path rows stored); load average {_load()}\n"
        f"  seven models + daily + ROAS + assists {full['seconds']:7.2f} s   temp spill {full['temp_mb']:.0f} MB"
        "   (target <= 15 s)\n"
        f"  without the assist marts             {full['without_seconds']:7.2f} s   temp spill {full['without_temp_mb']:.0f} MB\n"
        f"  without markov (six models)          {full['six_seconds']:7.2f} s   temp spill {full['six_temp_mb']:.0f} MB\n"
        f"  assisted conversions, {full['path_rows']:,} conversion path rows and the funnel add"
        f" {full['seconds'] - full['without_seconds']:.2f} s"
        f" = {100 * (full['seconds'] / full['without_seconds'] - 1):+.0f}%   (target <= +25%; best of two runs each)\n"
        f"  the markov model adds {full['seconds'] - full['six_seconds']:.2f} s"
        f" = {100 * (full['seconds'] / full['six_seconds'] - 1):+.0f}%   (target <= +30%; best of two runs each)",
        flush=True,
    )


def _print_incremental(rows: list[dict]) -> None:
    print(f"attribution, one more day (~35k conversions, ~170k touchpoints) on top of:  (load average {_load()})")
    for row in rows:
        print(f"  {row['history_days']:4d} days of history  {row['seconds']:6.2f} s with markov,"
              f" {row['rerun_six_seconds']:6.2f} s without (the same day again, below)"
              f"   ({row['conversions_recomputed']:,} conversions recomputed, temp spill {row['temp_mb']:.0f} MB,"
              f" {row['read_mb']:.0f} MB read outside shared buffers by the database, autovacuum included)")
    print("  the same day again, without vs with the assist marts (best of two each, alternating):")
    for row in rows:
        print(f"  {row['history_days']:4d} days of history  without {row['rerun_without_seconds']:6.2f} s"
              f"   with {row['rerun_seconds']:6.2f} s"
              f"   = {100 * (row['rerun_seconds'] / row['rerun_without_seconds'] - 1):+.0f}%")
    print("  the same day again, seven models vs six (without markov; best of two each, six last):")
    for row in rows:
        print(f"  {row['history_days']:4d} days of history  six {row['rerun_six_seconds']:6.2f} s"
              f"   seven {row['rerun_seconds']:6.2f} s"
              f"   = {100 * (row['rerun_seconds'] / row['rerun_six_seconds'] - 1):+.0f}%")
    print(f"  120 days / 30 days = {rows[-1]['seconds'] / rows[0]['seconds']:.2f}"
          "  (target: each <= 3 s with markov, ratio <= 1.5)", flush=True)


def _load() -> str:
    """The machine's load average (1, 5, 15 minutes): the figures are only as quiet as the machine."""
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "unknown"
