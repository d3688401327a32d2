"""Bench of the GA4 source: ~1M GA4 export rows (~250k sessions) through the whole ingest
(parse, raw, identities, sessions formed into touchpoints) next to the native ingest of the
same visits as touchpoint lines, in the same run and on the same server. Target: GA4 events/s
at least half the native rows/s. Prints what it measured; asserts nothing."""

from __future__ import annotations

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
from marketing.warehouse import connect


def _ingest(server_url: str, name: str, landing: Path) -> tuple[float, list[dict], dict]:
    url = scratch_database(server_url, name)
    upgrade(url)
    settings = Settings.from_env({**os.environ, "LANDING_URL": landing.as_uri()})
    started = time.perf_counter()
    results = ingest_all(url, settings)
    seconds = time.perf_counter() - started
    conn = connect(url)
    with conn.cursor() as cur:
        cur.execute("select count(*) from core.touchpoints")
        touchpoints = cur.fetchone()[0]
        cur.execute("select count(*) from core.sessions")
        sessions = cur.fetchone()[0]
    conn.close()
    drop_database(server_url, name)
    return seconds, results, {"touchpoints": touchpoints, "sessions": sessions}


def bench_sources(server_url: str, sessions: int = 250_000, days: int = 6) -> dict:
    """GA4 rows/s and native rows/s of the same visits, each loaded into an empty database."""
    work = Path(tempfile.mkdtemp(prefix="mkt-bench-sources-"))
    try:
        sample = dict(days=days, touchpoints_per_day=sessions // days, seed=13, bad_line_rate=0.001,
                      end_date=date.today() - timedelta(days=1))
        native, ga4 = work / "native", work / "ga4"
        generate(native.as_uri(), **sample)
        generate(ga4.as_uri(), source="ga4", **sample)
        for landing in (native, ga4):  # the visits only: conversions, spend and rates are not compared
            for folder in ("conversions", "ad_spend", "fx_rates"):
                shutil.rmtree(landing / folder, ignore_errors=True)
        for path in (ga4 / "ga4").rglob("conversions-*"):
            path.unlink()
        native_seconds, native_results, native_core = _ingest(server_url, "mkt_bench_native", native)
        ga4_seconds, ga4_results, ga4_core = _ingest(server_url, "mkt_bench_ga4", ga4)
        native_rows = sum(r["rows_loaded"] for r in native_results)
        ga4_rows = sum(r["rows_loaded"] for r in ga4_results)
        return {
            "native_rows": native_rows, "native_seconds": native_seconds, "native_rows_per_s": native_rows / native_seconds,
            "native_touchpoints": native_core["touchpoints"],
            "ga4_rows": ga4_rows, "ga4_seconds": ga4_seconds, "ga4_rows_per_s": ga4_rows / ga4_seconds,
            "ga4_sessions": ga4_core["sessions"], "ga4_files": len(ga4_results),
            "ratio": (ga4_rows / ga4_seconds) / (native_rows / native_seconds),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(figures: dict) -> str:
    return (
        f"sources: GA4 export rows vs native touchpoint lines of the same visits\n"
        f"  GA4 ingest     {figures['ga4_seconds']:7.2f} s  {figures['ga4_rows_per_s']:>10,.0f} rows/s"
        f"  ({figures['ga4_rows']:,} events in {figures['ga4_files']} files -> {figures['ga4_sessions']:,} sessions)\n"
        f"  native ingest  {figures['native_seconds']:7.2f} s  {figures['native_rows_per_s']:>10,.0f} rows/s"
        f"  ({figures['native_rows']:,} touchpoints -> {figures['native_touchpoints']:,} in core)\n"
        f"  GA4 rows/s / native rows/s = {figures['ratio']:.2f}  (target >= 0.50)"
    )


def main(server_url: str, sessions: int = 250_000) -> None:
    print(report(bench_sources(server_url, sessions)), flush=True)
