"""`make bench`: speed figures as ratios measured side by side in one run (this machine is noisy).

- ingest: rows/s of the whole ingest of >= 1M touchpoints (parse, validate, classify, COPY to
  raw, merge into core, quarantine, manifest, vacuum) next to a bare COPY of the same rows into
  an empty table, in the same database; target ratio >= 0.6. For scale it also times a plain
  INSERT of the loaded rows into an empty core.touchpoints: COPY to raw plus that alone bounds
  what any COPY-then-merge design can reach.
- sources: ~1M GA4 export rows (~250k sessions) through ingest and sessionisation next to the
  native ingest of the same visits (`marketing.dev.sources_bench`); target ratio >= 0.5.
- attribution: see `marketing.dev.attribution_bench` (full run at 1M conversions, incremental days
  at 30/60/120 days of history).
- customers: see `marketing.dev.customers_bench` (1M customers, 3M purchases: inputs, fit, tables,
  peak memory).

`--only sources|ingest|attribution|customers` runs one part (`attribution-full`,
`attribution-incremental`: half of the attribution part).
Nothing here asserts a time; it prints what it measured.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from marketing.config import Settings
from marketing.dev.databases import drop_database, scratch_database
from marketing.dev.sample import generate
from marketing.migrate import upgrade
from marketing.pipeline import ingest_all
from marketing.warehouse import connect, resolve_url


def bench_ingest(server_url: str, touchpoints: int = 1_000_000, days: int = 6) -> dict:
    """Whole-ingest rate vs bare COPY rate of the same touchpoint rows, in one database."""
    work = Path(tempfile.mkdtemp(prefix="mkt-bench-"))
    try:
        generated = work / "generated"
        generate(generated.as_uri(), days=days, touchpoints_per_day=touchpoints // days, seed=11,
                 bad_line_rate=0.001, end_date=date.today() - timedelta(days=1))
        landing = work / "landing"
        landing.mkdir()
        shutil.move(str(generated / "touchpoints"), str(landing / "touchpoints"))
        size = sum(p.stat().st_size for p in (landing / "touchpoints").rglob("*") if p.is_file())
        url = scratch_database(server_url, "mkt_bench_ingest")
        upgrade(url)
        settings = Settings.from_env({**os.environ, "LANDING_URL": landing.as_uri()})

        started = time.perf_counter()
        results = ingest_all(url, settings)
        ingest_seconds = time.perf_counter() - started
        rows = sum(r["rows_loaded"] for r in results)

        conn = connect(url)
        with conn.cursor() as cur:
            buffer = io.StringIO()
            cur.copy_expert("copy raw.touchpoints to stdout", buffer)
            buffer.seek(0)
            cur.execute("create table public.bare_copy (like raw.touchpoints)")
            conn.commit()
            started = time.perf_counter()
            cur.copy_expert("copy public.bare_copy from stdin", buffer, size=1 << 16)
            conn.commit()
            copy_seconds = time.perf_counter() - started
            # The floor of any design that COPYs into raw and then writes core: the plain INSERT
            # of the same rows into an empty core.touchpoints with its indexes, no parsing, no
            # conflicts, no identities.
            cur.execute("create table public.core_floor (like core.touchpoints including all)")
            conn.commit()
            started = time.perf_counter()
            cur.execute("insert into public.core_floor select * from core.touchpoints")
            conn.commit()
            core_seconds = time.perf_counter() - started
        conn.close()
        drop_database(server_url, "mkt_bench_ingest")
        return {
            "rows": rows,
            "files": len(results),
            "megabytes": size / 1e6,
            "ingest_seconds": ingest_seconds,
            "ingest_rows_per_s": rows / ingest_seconds,
            "copy_seconds": copy_seconds,
            "copy_rows_per_s": rows / copy_seconds,
            "ratio": copy_seconds / ingest_seconds,
            "core_insert_seconds": core_seconds,
            "ratio_ceiling": copy_seconds / (copy_seconds + core_seconds),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="marketing.dev.bench", description=__doc__)
    parser.add_argument("--touchpoints", type=int, default=1_000_000)
    parser.add_argument("--skip-attribution", action="store_true")
    parser.add_argument("--sessions", type=int, default=250_000, help="GA4 sessions of the sources bench")
    parser.add_argument("--only", choices=("ingest", "sources", "attribution", "attribution-full",
                                           "attribution-incremental", "customers"), default=None,
                        help="run one part of the bench (attribution-full, attribution-incremental: half of it)")
    parser.add_argument("--customers", type=int, default=1_000_000, help="customers of the customers part")
    args = parser.parse_args(argv)
    server_url = resolve_url(Settings.from_env())
    with connect(server_url) as conn, conn.cursor() as cur:
        cur.execute("show server_version")
        version = cur.fetchone()[0]
    print(f"warehouse: PostgreSQL {version}; {os.cpu_count()} cores")

    parts = {args.only} if args.only else {"sources", "ingest", "attribution", "customers"} - (
        {"attribution"} if args.skip_attribution else set())
    if "sources" in parts:
        from marketing.dev.sources_bench import main as sources_main

        sources_main(server_url, args.sessions)
    if "ingest" in parts:
        _print_ingest(bench_ingest(server_url, args.touchpoints))
    if parts & {"attribution", "attribution-full", "attribution-incremental"}:
        from marketing.dev.attribution_bench import main as attribution_main

        attribution_main(server_url, full="attribution-incremental" not in parts,
                         incremental="attribution-full" not in parts)
    if "customers" in parts:
        from marketing.dev.customers_bench import main as customers_main

        customers_main(server_url, args.customers, 3 * args.customers)
    return 0


def _print_ingest(ingest: dict) -> None:
    print(
        f"ingest: {ingest['rows']:,} touchpoints in {ingest['files']} files ({ingest['megabytes']:.0f} MB)\n"
        f"  whole ingest   {ingest['ingest_seconds']:7.2f} s  {ingest['ingest_rows_per_s']:>10,.0f} rows/s\n"
        f"  bare COPY      {ingest['copy_seconds']:7.2f} s  {ingest['copy_rows_per_s']:>10,.0f} rows/s\n"
        f"  ingest / bare COPY = {ingest['ratio']:.2f}  (target >= 0.60)\n"
        f"  for scale: a plain INSERT of the loaded rows into an empty core.touchpoints (its two\n"
        f"  indexes, nothing else) takes {ingest['core_insert_seconds']:.2f} s; COPY to raw plus that alone would be"
        f" {ingest['ratio_ceiling']:.2f} of bare COPY",
        flush=True,
    )


if __name__ == "__main__":
    raise SystemExit(main())
