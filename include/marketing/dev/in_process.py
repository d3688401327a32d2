"""`make run`: every DAG once, in-process with `dag.test()`, on a metadata database of its own.

`make airflow` keeps its metadata database in AIRFLOW_HOME; this run keeps its own under
`<AIRFLOW_HOME>/in-process`. A running local Airflow therefore never sees these runs: its
scheduler cannot pick up their tasks and run them a second time, nor start runs from their
Asset events (the warehouse's attribution queue carries the work, not the events).

Airflow's own bookkeeping is logged at WARNING; the project's lines (one per file, one summary
per DAG run) at INFO, or everything at DEBUG with `MARKETING_LOG_LEVEL=DEBUG`.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import time
import warnings
from pathlib import Path

from marketing.config import PROJECT_ROOT, Settings
from marketing.dev.local_airflow import airflow_env, ensure_airflow_db

DAG_FILES = ("marketing_ingest.py", "marketing_attribution.py", "marketing_customers.py")  # the order `run` runs them in
HOME_DIR = "in-process"  # under AIRFLOW_HOME: the in-process run's own metadata database and logs


def in_process_env(settings: Settings, url: str) -> dict[str, str]:
    """The environment of the in-process run: the local Airflow's, with a metadata database of its own."""
    env = airflow_env(settings, url)
    env["AIRFLOW_HOME"] = str(Path(env["AIRFLOW_HOME"]) / HOME_DIR)
    level = os.environ.get("MARKETING_LOG_LEVEL", "INFO").upper()
    env.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "DEBUG" if level == "DEBUG" else "WARNING")
    return env


def _load_dag(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from airflow.sdk import DAG

    return next(v for v in vars(module).values() if isinstance(v, DAG))


def _project_log_lines() -> None:
    """The project's log records as plain lines on stdout, whatever Airflow does with its own."""
    logger = logging.getLogger("marketing")
    logger.setLevel(os.environ.get("MARKETING_LOG_LEVEL", "INFO").upper())
    if not any(getattr(h, "_marketing_plain", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._marketing_plain = True
        logger.addHandler(handler)
    logger.propagate = False


def _quiet_deprecations() -> None:
    """Airflow's and its libraries' deprecation notices say nothing about this project's run."""
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette\.testclient` is deprecated")


def run_dags(settings: Settings, url: str) -> int:
    """Run every DAG once, in-process with `dag.test()`, ingest first; 1 when any fails.

    Attribution runs even when ingest's quality check failed: the good rows are loaded and,
    under the scheduler, their Assets would trigger it just the same.
    """
    if "airflow" in sys.modules:
        # Airflow reads AIRFLOW_HOME when first imported: too late to give this run its own database
        raise RuntimeError("run_dags must be called before Airflow is imported (use `python -m marketing run`)")
    env = in_process_env(settings, url)
    os.environ.update(env)
    ensure_airflow_db(env)
    _quiet_deprecations()
    import airflow.settings  # noqa: F401 - configures Airflow (and its warning filters) with the env above

    _quiet_deprecations()
    _project_log_lines()
    status = 0
    for name in DAG_FILES:
        dag = _load_dag(PROJECT_ROOT / "dags" / name)
        started = time.monotonic()
        run = dag.test()
        _project_log_lines()  # a task run may have reset the logging configuration
        state = str(getattr(run, "state", "failed"))
        print(f"{dag.dag_id}: {state} in {time.monotonic() - started:.1f}s", flush=True)
        if state != "success":
            status = 1
    return status
