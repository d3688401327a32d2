"""Customer value: who the customers are, which channel acquired them, what they are worth.

`run_customers` is the one entry point (the DAG, the CLI and the tests call it). A run
recomputes every customers table from core and the attribution marts, in one transaction on one
snapshot (REPEATABLE READ): readers see the previous run's tables or the new ones, never a mix,
and a run killed half way leaves nothing behind. Realised value and acquisition are exact, so
any sequence of loads and runs ends in the tables a full recompute gives; the models are fitted
anew on each run. The rules are in docs/customers.md; the SQL in `customers/sql/`, one file per
table:

1. `customers.sql`: the purchases, and one row per customer with the first purchase and the
   BG/NBD inputs (temp tables).
2. `customer_acquisition.sql`: the first purchase's credits under `ACQUISITION_MODEL`.
3. the fit (`clv.py`, pymc-marketing) on the inputs copied out; its predictions copied back.
4. the marts replaced: `customer_value`, `customer_acquisition`, `cohort_value`,
   `channel_acquisition_monthly`; one row in `ops.customer_runs`.
"""

from __future__ import annotations

import datetime
import io
import json
import logging
import time
from dataclasses import asdict, dataclass

import numpy as np

from marketing.config import CustomerParams
from marketing.sqlfiles import SqlFiles

log = logging.getLogger(__name__)

SQL = SqlFiles(__file__)
MARTS = ("marts.customer_value", "marts.customer_acquisition", "marts.cohort_value",
         "marts.channel_acquisition_monthly")
WORK_MEM = "256MB"


@dataclass
class CustomerRunSummary:
    """What one customers run did (JSON-friendly for XCom and the CLI)."""

    as_of: str | None
    customers: int
    fitted: bool
    fit: dict
    seconds: dict  # per step

    def as_dict(self) -> dict:
        return asdict(self)


def _copy_out(cur, query: str) -> io.StringIO:
    buf = io.StringIO()
    cur.copy_expert(f"copy ({query}) to stdout with (format csv)", buf)
    buf.seek(0)
    return buf


def _inputs(cur) -> dict[str, np.ndarray]:
    """The model inputs of every customer, ordered by customer_id (1…n)."""
    buf = _copy_out(
        cur, "select frequency, recency_days, t_days, monetary_value from customers_next order by customer_id"
    )
    if not buf.getvalue():
        empty = np.empty(0)
        return {"frequency": empty, "recency": empty, "t": empty, "monetary_value": empty}
    table = np.loadtxt(buf, delimiter=",", dtype=np.float64, ndmin=2)
    return {"frequency": table[:, 0], "recency": table[:, 1], "t": table[:, 2], "monetary_value": table[:, 3]}


def _write_predictions(cur, predictions) -> None:
    """customer_predictions (customer_id 1…n in input order) from the fit."""
    cur.execute(
        "create temp table customer_predictions (customer_id bigint primary key, p_alive double precision,"
        " expected_purchases double precision, expected_order_value double precision) on commit drop"
    )
    if predictions is None:
        return
    n = len(predictions.p_alive)
    table = np.column_stack([np.arange(1, n + 1), predictions.p_alive, predictions.expected_purchases,
                             predictions.expected_order_value])
    buf = io.StringIO()
    np.savetxt(buf, table, delimiter=",", fmt=["%d", "%.17g", "%.17g", "%.17g"])
    buf.seek(0)
    cur.copy_expert("copy customer_predictions from stdin with (format csv)", buf)


def check_model(model: str, models) -> None:
    if model not in models:
        raise ValueError(f"ACQUISITION_MODEL {model!r} is not an attribution model; choose one of {', '.join(models)}")


def run_customers(
    conn, params: CustomerParams, *, reporting_timezone: str = "UTC", unattributed_label: str = "Unattributed",
    models=None,
) -> CustomerRunSummary:
    """Recompute every customers table in one transaction; returns what the run did.

    `models` are the attribution models the acquisition model may be (default: the registry's).
    """
    from marketing.attribution.models import MODELS

    check_model(params.acquisition_model, models or MODELS)
    started = datetime.datetime.now(datetime.timezone.utc)
    seconds: dict[str, float] = {}
    clock = time.monotonic()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.monotonic()
        seconds[step] = round(now - clock, 3)
        clock = now

    with conn, conn.cursor() as cur:
        cur.execute("set transaction isolation level repeatable read")
        # One run at a time; readers (ACCESS SHARE) are not blocked until the tables are replaced.
        cur.execute("lock table marts.customer_value in exclusive mode")
        cur.execute("select set_config('TimeZone', %s, true), set_config('work_mem', %s, true)",
                    (reporting_timezone, WORK_MEM))
        cur.execute("select max(occurred_at) from core.conversions")
        as_of = cur.fetchone()[0]
        bind = {"conversion_types": list(params.conversion_types), "as_of": as_of,
                "ages": list(params.cohort_ages_days), "model": params.acquisition_model,
                "unattributed_label": unattributed_label}
        cur.execute(SQL("customers"), bind)
        cur.execute(SQL("customer_acquisition"), bind)
        lap("inputs")

        inputs = _inputs(cur)
        customers = len(inputs["frequency"])
        from marketing.customers.clv import fit_and_predict

        fit, predictions = fit_and_predict(
            inputs["frequency"], inputs["recency"], inputs["t"], inputs["monetary_value"], params.clv_horizon_days
        )
        if not fit.fitted:
            log.warning("customer value models not fitted: %s", fit.reason)
        lap("fit")
        _write_predictions(cur, predictions)

        cur.execute("truncate " + ", ".join(MARTS))
        cur.execute(SQL("customer_value"), bind)
        cur.execute(
            "insert into marts.customer_acquisition (person_key, channel, credit, cohort_month)"
            " select person_key, channel, credit, cohort_month from acquisition_next"
        )
        cur.execute(SQL("cohort_value"), bind)
        cur.execute(SQL("channel_acquisition_monthly"), bind)
        for table in MARTS:  # fresh statistics for the dashboard's queries
            cur.execute(f"analyze {table}")
        lap("tables")
        cur.execute(
            "insert into ops.customer_runs (started_at, finished_at, as_of, customers, params, fit)"
            " values (%s, clock_timestamp(), %s, %s, %s, %s)",
            (started, as_of, customers, params.as_json(), json.dumps(fit.as_dict())),
        )
    return CustomerRunSummary(as_of.isoformat() if as_of else None, customers, fit.fitted, fit.as_dict(), seconds)
