"""Customer value speed, part of `make bench` (`python -m marketing.dev.bench --only customers`).

1M customers with 3M purchases over a year are synthesised in SQL (core.conversions, one
first-touch path row per purchase in marts.attribution_paths, a year of spend per channel), then
one customers run is timed: inputs (customers, first purchases, acquisition), the fit of both
models (pymc-marketing, imported beforehand as a DAG task would at its first fit), and all the
tables. Peak memory is the benchmark process's (the fit runs in it), from getrusage; Postgres
works in its own processes. Target (docs/customers.md rule 14): 60 s and 4 GB on 2 cores.
"""

from __future__ import annotations

import resource
import time

from marketing.config import CustomerParams
from marketing.customers import run_customers
from marketing.dev.databases import drop_database, scratch_database
from marketing.migrate import upgrade
from marketing.sqlfiles import SqlFiles
from marketing.warehouse import connect

CHANNELS = ("Paid Search", "Paid Social", "Email", "Organic Search", "Direct", "Display", "Affiliates", "Referral")

SQL = SqlFiles(__file__)


def synthesise(conn, customers: int, purchases: int) -> None:
    with conn.cursor() as cur:
        cur.execute("select setseed(0.42)")
        cur.execute(SQL("customers_synthetic"), {"customers": customers, "repeats": purchases - customers,
                                "channels": list(CHANNELS), "n_channels": len(CHANNELS)})
    conn.commit()
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("vacuum (analyze) core.conversions, core.ad_spend, marts.attribution_paths")
    conn.autocommit = False


CALIBRATION = "select count(*) from generate_series(1, 10000000)"  # one core, about 1 s on a quiet machine


def calibrate(conn) -> float:
    """Seconds of a fixed one-core query: how busy the machine is while the run is timed."""
    started = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute(CALIBRATION)
    conn.rollback()
    return time.perf_counter() - started


def bench_customers(server_url: str, customers: int = 1_000_000, purchases: int = 3_000_000) -> dict:
    url = scratch_database(server_url, "mkt_bench_customers")
    try:
        upgrade(url)
        conn = connect(url)
        started = time.perf_counter()
        synthesise(conn, customers, purchases)
        synth_seconds = time.perf_counter() - started
        started = time.perf_counter()
        import pymc_marketing.clv  # noqa: F401 - a DAG task pays this once per process

        import_seconds = time.perf_counter() - started
        before = calibrate(conn)
        started = time.perf_counter()
        summary = run_customers(conn, CustomerParams())
        seconds = time.perf_counter() - started
        after = calibrate(conn)
        with conn.cursor() as cur:
            cur.execute("select (select count(*) from marts.cohort_value), (select count(*) from"
                        " marts.channel_acquisition_monthly), (select count(*) from core.conversions)")
            cohort_rows, monthly_rows, conversions = cur.fetchone()
        conn.close()
        return {
            "customers": summary.customers, "purchases": conversions, "synth_seconds": synth_seconds,
            "import_seconds": import_seconds, "seconds": seconds, "steps": summary.seconds,
            "fitted": summary.fitted, "fit": summary.fit, "cohort_rows": cohort_rows, "monthly_rows": monthly_rows,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "calibration": (before, after),
        }
    finally:
        drop_database(server_url, "mkt_bench_customers")


def report(result: dict) -> str:
    steps = result["steps"]
    fit = result["fit"]
    params = ", ".join(f"{k} {v:.3g}" for k, v in {**fit["bg_nbd"], **fit["gamma_gamma"]}.items())
    return (
        f"customers: {result['customers']:,} customers, {result['purchases']:,} purchases"
        f" (synthesised in {result['synth_seconds']:.0f} s)\n"
        f"  inputs (customers, first purchases, acquisition)  {steps['inputs']:7.2f} s\n"
        f"  fit BG/NBD + Gamma-Gamma, predictions             {steps['fit']:7.2f} s"
        f"  ({'fitted: ' + params if result['fitted'] else 'not fitted: ' + str(fit['reason'])})\n"
        f"  tables (customer_value, acquisition, cohort_value {result['cohort_rows']:,} rows,"
        f" channel_acquisition_monthly {result['monthly_rows']:,} rows)  {steps['tables']:7.2f} s\n"
        f"  whole run {result['seconds']:7.2f} s  (target <= 60 s; importing pymc-marketing once"
        f" before it: {result['import_seconds']:.1f} s)\n"
        f"  peak memory of the process {result['peak_mb']:,.0f} MB  (target <= 4,096 MB)\n"
        f"  machine: `{CALIBRATION}` took {result['calibration'][0]:.1f} s before the run and"
        f" {result['calibration'][1]:.1f} s after it (about 1 s on a quiet core)"
    )


def main(server_url: str, customers: int = 1_000_000, purchases: int = 3_000_000) -> None:
    print(report(bench_customers(server_url, customers, purchases)), flush=True)
