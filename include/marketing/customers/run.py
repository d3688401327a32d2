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


# COPY's binary format for rows of fixed-width, non-null columns: a 19-byte header, per row a
# 16-bit field count and per field a 32-bit length and the big-endian value, a 16-bit trailer.
# numpy reads and writes it as a structured array: no text formatting or parsing of a million rows.
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
_COPY_TRAILER = b"\xff\xff"


def _row_dtype(columns: dict[str, str]) -> np.dtype:
    fields = [("fields", ">i2")]
    for name, kind in columns.items():
        fields += [(f"{name}_len", ">i4"), (name, kind)]
    return np.dtype(fields)


def _copy_out_binary(cur, query: str, columns: dict[str, str]) -> np.ndarray:
    """The rows of `query` (non-null columns of the numpy kinds given, e.g. ">i8", ">f8")."""
    buf = io.BytesIO()
    cur.copy_expert(f"copy ({query}) to stdout with (format binary)", buf)
    data = buf.getbuffer()
    dtype = _row_dtype(columns)
    count = (len(data) - len(_COPY_HEADER) - len(_COPY_TRAILER)) // dtype.itemsize
    return np.frombuffer(data, dtype=dtype, count=count, offset=len(_COPY_HEADER))


def _copy_in_binary(cur, table: str, columns: dict[str, np.ndarray]) -> None:
    """COPY the arrays (one per column, equal lengths) into `table`."""
    dtype = _row_dtype({name: values.dtype.newbyteorder(">").str for name, values in columns.items()})
    rows = np.empty(len(next(iter(columns.values()))), dtype=dtype)
    rows["fields"] = len(columns)
    for name, values in columns.items():
        rows[f"{name}_len"] = values.dtype.itemsize
        rows[name] = values
    buf = io.BytesIO(_COPY_HEADER + rows.tobytes() + _COPY_TRAILER)
    cur.copy_expert(f"copy {table} ({', '.join(columns)}) from stdin with (format binary)", buf)


def _inputs(cur) -> dict[str, np.ndarray]:
    """The model inputs of every customer, with their customer_id."""
    rows = _copy_out_binary(
        cur, "select customer_id, frequency, recency_days, t_days, monetary_value::double precision from customers_next",
        {"customer_id": ">i8", "frequency": ">i4", "recency": ">i4", "t": ">i4", "monetary_value": ">f8"},
    )
    return {name: rows[name].astype(np.int64 if name == "customer_id" else np.float64)
            for name in ("customer_id", "frequency", "recency", "t", "monetary_value")}


def _write_predictions(cur, customer_id: np.ndarray, predictions) -> None:
    """customer_predictions from the fit (rows in the order of `customer_id`)."""
    cur.execute(
        "create temp table customer_predictions (customer_id bigint, p_alive double precision,"
        " expected_purchases double precision, expected_order_value double precision) on commit drop"
    )
    if predictions is None:
        return
    _copy_in_binary(cur, "customer_predictions", {
        "customer_id": customer_id, "p_alive": predictions.p_alive,
        "expected_purchases": predictions.expected_purchases,
        "expected_order_value": predictions.expected_order_value,
    })
    cur.execute("analyze customer_predictions")


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
        _write_predictions(cur, inputs["customer_id"], predictions)

        cur.execute("truncate " + ", ".join(MARTS))
        cur.execute(SQL("customer_value"), bind)
        cur.execute(
            "insert into marts.customer_acquisition (person_key, channel, credit, cohort_month)"
            " select person_key, channel, credit, cohort_month from acquisition_next order by person_key, channel"
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
