"""Command line: `python -m marketing <command>` (the Makefile's targets call these)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from marketing.config import Settings, load_env_file


def _report(url: str, settings: Settings, args: argparse.Namespace) -> None:
    from psycopg2.errors import UndefinedTable

    from marketing.reporting.report import customers_by_channel, roas_by_model

    try:
        print(roas_by_model(url, settings, start=args.start, end=args.end, model=args.model))
    except UndefinedTable:  # a warehouse no run has migrated yet (a first `make report`, a new source demo)
        print("No attribution results yet: the warehouse has no marts. Run `make demo` (sample data) or"
              " `make run` (your landing zone) first.")
        return
    print()
    print(customers_by_channel(url, settings))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="marketing", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply warehouse schema migrations")
    sample = sub.add_parser("sample", help="write sample landing files")
    sample.add_argument("--days", type=int, default=60)
    sample.add_argument("--touchpoints-per-day", type=int, default=10_000)
    sample.add_argument("--seed", type=int, default=7)
    sample.add_argument("--end-date", type=date.fromisoformat, default=None)
    sample.add_argument("--source", choices=("native", "ga4", "segment", "orders"), default="native",
                        help="write visits and conversions as GA4 export rows, Segment calls, or into table orders"
                             " of ORDERS_SOURCE_URL (docs/sources.md)")
    demo_env = sub.add_parser("demo-env", help="print the environment `make demo SOURCE=…` uses, as shell exports")
    demo_env.add_argument("source", choices=("native", "ga4", "segment", "orders"))
    sub.add_parser("run", help="run the DAGs once, in-process (ingest, attribution, then customers)")
    report = sub.add_parser("report", help="print ROAS by channel for every model (or one), then customer value")
    report.add_argument("--start", type=date.fromisoformat, default=None, help="first day, YYYY-MM-DD")
    report.add_argument("--end", type=date.fromisoformat, default=None, help="last day, YYYY-MM-DD")
    report.add_argument("--model", default=None, help="one attribution model (default: every model)")
    sub.add_parser("warehouse-url", help="print the warehouse URL (starts the embedded one)")
    sub.add_parser("warehouse-stop", help="stop the embedded warehouse")
    sub.add_parser("airflow-env", help="print the environment `make airflow` uses, as shell exports")
    sub.add_parser("airflow", help="run Airflow locally (airflow standalone) with the project's DAGs; Ctrl-C stops it")
    args = parser.parse_args(argv)

    load_env_file()  # the .env file's settings, for this process and the ones it starts
    settings = Settings.from_env()
    from marketing import warehouse

    if args.command == "warehouse-stop":
        print("embedded warehouse stopped" if warehouse.stop_embedded(settings) else "embedded warehouse not running")
        return 0
    if args.command == "sample":
        from marketing.dev.sample import generate

        summary = generate(settings.landing_url, days=args.days, touchpoints_per_day=args.touchpoints_per_day,
                           seed=args.seed, end_date=args.end_date, source=args.source,
                           orders_url=settings.orders_source_url)
        print(summary.describe())
        return 0
    url = warehouse.resolve_url(settings)
    if args.command == "demo-env":
        from marketing.dev.sample_sources import demo_env

        for key, value in demo_env(args.source, url).items():
            print(f"export {key}={json.dumps(value)}")
        return 0
    if args.command == "warehouse-url":
        print(url)
    elif args.command == "airflow-env":
        from marketing.dev.local_airflow import airflow_env

        for key, value in airflow_env(settings, url).items():
            print(f"export {key}={json.dumps(value)}")
    elif args.command == "migrate":
        from marketing.pipeline import migrate_warehouse

        print(f"warehouse at revision {migrate_warehouse(url, settings)}")
    elif args.command == "run":
        from marketing.dev.in_process import run_dags

        return run_dags(settings, url)
    elif args.command == "airflow":
        from marketing.dev.local_airflow import serve_forever

        return serve_forever(settings, url)
    elif args.command == "report":
        try:
            _report(url, settings, args)
        except ValueError as exc:
            parser.error(str(exc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
