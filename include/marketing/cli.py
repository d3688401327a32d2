"""Command line: `python -m marketing <command>` (the Makefile's targets call these)."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from marketing.config import PROJECT_ROOT, Settings

DAG_FILES = ("marketing_ingest.py", "marketing_attribution.py")  # the order `run` runs them in


def airflow_env(settings: Settings, url: str) -> dict[str, str]:
    """Environment for an in-process or local Airflow: project DAGs, plugins, warehouse connection."""
    from marketing.warehouse import airflow_conn_uri

    home = Path(os.environ.get("AIRFLOW_HOME") or PROJECT_ROOT / ".airflow")
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_WAREHOUSE": os.environ.get("AIRFLOW_CONN_WAREHOUSE") or airflow_conn_uri(url),
        "WAREHOUSE_URL": url,  # the dashboard, inside the api-server, reads the marts through it
        "LANDING_URL": settings.landing_url,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT / "include"), os.environ.get("PYTHONPATH")])),
    }


def ensure_airflow_db(env: dict[str, str]) -> None:
    """Create Airflow's own metadata database (SQLite under AIRFLOW_HOME) once."""
    home = Path(env["AIRFLOW_HOME"])
    marker = home / ".db-migrated"
    if marker.exists():
        return
    home.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env={**os.environ, **env}, check=True,
                   stdout=subprocess.DEVNULL)
    marker.touch()


def _load_dag(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from airflow.sdk import DAG

    return next(v for v in vars(module).values() if isinstance(v, DAG))


def run_dags(settings: Settings, url: str) -> int:
    """Run every DAG once, in-process with `dag.test()`, ingest first; 1 when any fails.

    Attribution runs even when ingest's quality check failed: the good rows are loaded and,
    under the scheduler, their Assets would trigger it just the same.
    """
    env = airflow_env(settings, url)
    os.environ.update(env)
    ensure_airflow_db(env)
    status = 0
    for name in DAG_FILES:
        dag = _load_dag(PROJECT_ROOT / "dags" / name)
        started = time.monotonic()
        run = dag.test()
        state = str(getattr(run, "state", "failed"))
        print(f"{dag.dag_id}: {state} in {time.monotonic() - started:.1f}s", flush=True)
        if state != "success":
            status = 1
    return status


def _report(url: str, settings: Settings) -> None:
    from marketing.report import roas_by_model

    print(roas_by_model(url, settings))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="marketing", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply warehouse schema migrations")
    sample = sub.add_parser("sample", help="write sample landing files")
    sample.add_argument("--days", type=int, default=60)
    sample.add_argument("--touchpoints-per-day", type=int, default=20_000)
    sample.add_argument("--seed", type=int, default=7)
    sample.add_argument("--end-date", type=date.fromisoformat, default=None)
    sub.add_parser("run", help="run the DAGs once, in-process (ingest, then attribution)")
    sub.add_parser("report", help="print ROAS by channel for every model")
    sub.add_parser("warehouse-url", help="print the warehouse URL (starts the embedded one)")
    sub.add_parser("warehouse-stop", help="stop the embedded warehouse")
    sub.add_parser("airflow-env", help="print the environment `make airflow` uses, as shell exports")
    sub.add_parser("airflow", help="run Airflow locally (airflow standalone) with the project's DAGs; Ctrl-C stops it")
    args = parser.parse_args(argv)

    settings = Settings.from_env()
    from marketing import warehouse

    if args.command == "warehouse-stop":
        print("embedded warehouse stopped" if warehouse.stop_embedded(settings) else "embedded warehouse not running")
        return 0
    if args.command == "sample":
        from marketing.sample import generate

        summary = generate(settings.landing_url, days=args.days, touchpoints_per_day=args.touchpoints_per_day,
                           seed=args.seed, end_date=args.end_date)
        print(summary)
        return 0
    url = warehouse.resolve_url(settings)
    if args.command == "warehouse-url":
        print(url)
    elif args.command == "airflow-env":
        for key, value in airflow_env(settings, url).items():
            print(f"export {key}={json.dumps(value)}")
    elif args.command == "migrate":
        from marketing.migrate import upgrade

        print(f"warehouse at revision {upgrade(url)}")
    elif args.command == "run":
        return run_dags(settings, url)
    elif args.command == "airflow":
        from marketing.local_airflow import serve_forever

        return serve_forever(settings, url)
    elif args.command == "report":
        _report(url, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
