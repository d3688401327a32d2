"""The Marketing dashboard's FastAPI app, mounted by Airflow's API server under /marketing.

Every route, the page and its static files included, needs a valid Airflow token (the UI's
`_token` cookie or an `Authorization: Bearer` header) of a user allowed to use the Airflow
UI: Airflow's own `requires_access_view` dependency checks both (401/403 otherwise).
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import psycopg2
from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
from airflow.api_fastapi.core_api.security import requires_access_view
from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import FileResponse, JSONResponse

from marketing.attribution.models import LABELS, MODELS
from marketing.config import Settings, describe_params
from marketing.reporting.report import customer_params, realised_age
from marketing_dashboard import params
from marketing_dashboard.params import Months, Period
from marketing_dashboard.queries import REPORTING_SQL, SQL, LoginCanWrite, reader

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static").resolve()
DAG_IDS = ("marketing_ingest", "marketing_attribution", "marketing_customers")
DEFAULT_DAYS = 28  # the period the page opens with, ending on the last day with results

app = FastAPI(
    title="Marketing dashboard",
    description="ROAS, attributed revenue, spend and freshness from the warehouse marts.",
    dependencies=[Depends(requires_access_view(AccessView.WEBSITE))],
    # FastAPI serves its docs outside the dependencies above, so they would be open: none.
    docs_url=None,
    redoc_url=None,
    openapi_url=None,
)

# Sent with every answer, refusals included. The page loads only its own files (no inline script
# or style, no CDN), is framed only by Airflow's UI on the same origin (the "Marketing" entry),
# and no file is ever taken for another type than the one it is served as.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
    ),
    "X-Frame-Options": "SAMEORIGIN",  # frame-ancestors for browsers that predate CSP 2
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@app.middleware("http")
async def security_headers(request: Request, call_next):
    response = await call_next(request)
    response.headers.update(SECURITY_HEADERS)
    return response


PeriodDep = Annotated[Period, Depends(params.period)]
MonthsDep = Annotated[Months, Depends(params.months)]
ModelDep = Annotated[str, Depends(params.model)]
ModelsDep = Annotated[tuple[str, ...], Depends(params.models)]
ConversionTypesDep = Annotated[tuple[str, ...], Depends(params.conversion_types)]
PathLimitDep = Annotated[int, Depends(params.path_limit)]


@app.exception_handler(psycopg2.Error)
def warehouse_error(request: Request, exc: psycopg2.Error) -> JSONResponse:
    """The warehouse is down, not migrated, or refuses the reader: 503 with the reason."""
    log.exception("marketing dashboard: warehouse query failed")
    message = (exc.pgerror or str(exc)).strip()
    reason = message.splitlines()[0] if message else type(exc).__name__
    return JSONResponse(
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        content={"detail": f"the warehouse could not be read: {reason}"},
    )


@app.exception_handler(LoginCanWrite)
def login_can_write(request: Request, exc: LoginCanWrite) -> JSONResponse:
    """The configured login could write: nothing is read with it (503, and what to change)."""
    log.error("marketing dashboard: %s", exc)
    return JSONResponse(status_code=status.HTTP_503_SERVICE_UNAVAILABLE, content={"detail": str(exc)})


@app.get("/", include_in_schema=False)
def index() -> FileResponse:
    """The dashboard page."""
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})


@app.get("/customers", include_in_schema=False)
def customers_page() -> FileResponse:
    """The Customers view: LTV : CAC, cohort curves and churn risk by acquisition channel."""
    return FileResponse(STATIC / "customers.html", headers={"Cache-Control": "no-store"})


@app.get("/static/{path:path}", include_in_schema=False)
def static(path: str) -> FileResponse:
    """The page's scripts, styles and the vendored chart library (no CDN)."""
    file = (STATIC / path).resolve()
    if not file.is_relative_to(STATIC) or not file.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no static file {path!r}")
    return FileResponse(file)


@app.get("/api/options")
def options() -> dict:
    """Models, reporting currency, the days the marts hold, and the period the page opens with."""
    dates = reader().one(REPORTING_SQL("data_dates")) or {}
    first, last = dates.get("first_date"), dates.get("last_date")
    default_start = None
    if first and last:  # ISO days compare as strings
        default_start = max(first, (date.fromisoformat(last) - timedelta(days=DEFAULT_DAYS - 1)).isoformat())
    settings = Settings.from_env()
    return {
        "models": list(MODELS),
        "model_labels": LABELS,
        "currency": settings.reporting_currency,
        "final_conversion_types": list(settings.attribution.final_conversion_types),
        "funnel_steps": list(settings.attribution.funnel_steps),
        "conversion_types": [r["conversion_type"] for r in reader().rows(SQL("conversion_types"))],
        "first_date": first,
        "last_date": last,
        "default_start": default_start,
        "default_end": last,
    }


@app.get("/api/channels")
def channels(period: PeriodDep, models: ModelsDep) -> dict:
    """Spend, attributed revenue, ROAS and CPA by channel for one model or all (`model=all`).

    ROAS is Σ attributed_revenue / Σ spend over the period. `totals` has each model's
    all-channel figures.
    """
    rows = reader().rows(REPORTING_SQL("roas_by_channel"), {"start": period.start, "end": period.end, "models": list(models)})
    return {
        **_period(period),
        "models": list(models),
        "rows": [r for r in rows if r["channel"] is not None],
        "totals": [{k: v for k, v in r.items() if k != "channel"} for r in rows if r["channel"] is None],
    }


@app.get("/api/daily")
def daily(period: PeriodDep, model: ModelDep) -> dict:
    """Spend and attributed revenue per day and channel under one model, days without rows as 0."""
    rows = reader().rows(SQL("daily_by_channel"), {"start": period.start, "end": period.end, "model": model})
    days = [d.isoformat() for d in period.days]
    position = {day: i for i, day in enumerate(days)}
    series: dict[str, dict] = {}
    for row in rows:
        s = series.setdefault(row["channel"], {
            "channel": row["channel"], "spend": [0.0] * len(days), "attributed_revenue": [0.0] * len(days)})
        s["spend"][position[row["date"]]] = row["spend"]
        s["attributed_revenue"][position[row["date"]]] = row["attributed_revenue"]
    return {**_period(period), "model": model, "dates": days, "series": list(series.values())}


@app.get("/api/removal_effects")
def removal_effects(period: PeriodDep) -> dict:
    """The `markov` removal effects per channel of the fit of the period's last day (docs/data_driven.md),
    for the final conversion types."""
    final = list(Settings.from_env().attribution.final_conversion_types)
    rows = reader().rows(REPORTING_SQL("markov_removal_effects"), {"end": period.end, "conversion_types": final})
    return {**_period(period), "conversion_types": final, "rows": rows}


@app.get("/api/campaigns")
def campaigns(period: PeriodDep, model: ModelDep) -> dict:
    """One row per (channel, campaign): spend, attributed conversions and revenue, ROAS, CPA."""
    rows = reader().rows(SQL("campaigns"), {"start": period.start, "end": period.end, "model": model})
    return {**_period(period), "model": model, "rows": rows}


@app.get("/api/assists")
def assists(period: PeriodDep, conversion_types: ConversionTypesDep) -> dict:
    """Per channel: last-touch, first-touch and assisted conversions and value, and the assisted /
    last-touch ratio of the period's sums (docs/assists.md); the final conversion types unless one is asked for."""
    rows = reader().rows(REPORTING_SQL("assisted_by_channel"), {"start": period.start, "end": period.end,
                                                 "conversion_types": list(conversion_types)})
    return {**_period(period), "conversion_types": list(conversion_types), "rows": rows}


@app.get("/api/paths")
def paths(period: PeriodDep, conversion_types: ConversionTypesDep, limit: PathLimitDep) -> dict:
    """The top conversion paths of the period: conversions, revenue, average path length and days to conversion."""
    rows = reader().rows(REPORTING_SQL("conversion_paths"), {"start": period.start, "end": period.end,
                                              "conversion_types": list(conversion_types), "limit": limit})
    return {**_period(period), "conversion_types": list(conversion_types), "rows": rows}


@app.get("/api/funnel")
def funnel(period: PeriodDep, model: ModelDep) -> dict:
    """The funnel per channel under one model: each FUNNEL_STEPS step's conversions and the rate from the
    step before over the whole period (ratio of sums; null for the first step or a step after none)."""
    steps = list(Settings.from_env().attribution.funnel_steps)
    rows = reader().rows(REPORTING_SQL("funnel_by_channel"), {"start": period.start, "end": period.end, "model": model,
                                               "funnel_steps": steps})
    channels: dict[str, dict] = {}
    for row in rows:
        channel = channels.setdefault(row["channel"], {"channel": row["channel"], "steps": []})
        channel["steps"].append({"step": row["step"], "conversions": row["conversions"], "rate": row["rate"]})
    return {**_period(period), "model": model, "steps": steps, "rows": list(channels.values())}


@app.get("/api/freshness")
def freshness() -> dict:
    """Newest file per feed, the last attribution run, rows in quarantine, links to the DAG runs."""
    db = reader()
    loads = db.rows(SQL("last_loads"))
    last_file = max(loads, key=lambda r: r["loaded_at"], default=None)
    quarantined = db.one(SQL("last_quarantined_file"))
    return {
        "last_file": last_file,
        # a newer file that loaded nothing (every line quarantined): named beside the last file loaded
        "last_quarantined_file": quarantined if quarantined and (
            last_file is None or quarantined["loaded_at"] > last_file["loaded_at"]) else None,
        "last_loads": loads,
        "last_attribution_run": db.one(SQL("last_attribution_run")),
        "marts": _marts_state(db.one(SQL("marts_state")) or {}),
        "quarantine": db.one(SQL("quarantine")),
        # Relative to this page (<base>/marketing/), so they hold behind a path prefix too.
        "dag_runs": {dag_id: f"../dags/{dag_id}/runs" for dag_id in DAG_IDS},
    }


def _marts_state(state: dict) -> dict:
    """Whether the marts lag the loads, and the model parameters they were computed with."""
    load, run = state.get("last_load_at"), state.get("last_run_started_at")
    return {
        "stale": bool(state.get("changes_queued")) or bool(load and (run is None or load > run)),
        "last_load_at": load,
        "last_run_started_at": run,
        "parameters": describe_params(state["params"]) if state.get("params") else None,
    }


@app.get("/api/customers")
def customers(months: MonthsDep) -> dict:
    """Per acquisition channel over the cohorts of `start`..`end` (YYYY-MM, both optional): new
    customers, spend, CAC, realised value per customer at the first cohort age (30 days when
    configured), predicted LTV per customer, LTV : CAC and the share at risk (p_alive < 0.5);
    the cohort curves (realised value per customer by age and channel); the last run."""
    settings = Settings.from_env()
    db = reader()
    last_run = db.one(SQL("last_customer_run"))
    # the tables hold what the last run computed: its settings name them, not the ones set now
    computed, pending = customer_params((last_run or {}).get("params"), settings)
    age = realised_age(computed["cohort_ages_days"])
    bounds = {"start": months.start, "end": months.end}
    span = db.one(SQL("cohort_months")) or {}
    return {
        "start": months.start.isoformat()[:7] if months.start else None,
        "end": months.end.isoformat()[:7] if months.end else None,
        "first_month": (span.get("first_month") or "")[:7] or None,
        "last_month": (span.get("last_month") or "")[:7] or None,
        "currency": settings.reporting_currency,
        "acquisition_model": computed["acquisition_model"],
        "pending_parameters": pending,
        "realised_age_days": age,
        "channels": db.rows(REPORTING_SQL("customers_by_channel"), {**bounds, "age_days": age}),
        "cohort_curves": db.rows(SQL("cohort_curves"), bounds),
        "last_run": last_run,
    }


def _period(period: Period) -> dict:
    return {"start": period.start.isoformat(), "end": period.end.isoformat(),
            "currency": Settings.from_env().reporting_currency}
