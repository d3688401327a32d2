"""The demo's closing table: per model, each channel's spend, conversions, revenue, ROAS and CPA.

The total row is blended (every channel's revenue, organic and unattributed included, over paid
spend) and says so; the paid-only row beside it counts the channels that have spend. The header
names the model parameters the marts were computed with.
"""

from __future__ import annotations

from datetime import date

from marketing.attribution.models import MODELS
from marketing.config import Settings, describe_params
from marketing.reporting import SQL
from marketing.warehouse import connection

NOTE = ("blended ROAS = the attributed revenue of every channel (organic, direct and unattributed too) over paid "
        "spend; paid-only ROAS and CPA count only the channels that have spend.")


def _money(value) -> str:
    return "" if value is None else f"{value:,.2f}"


def _ratio(value) -> str:
    return "" if value is None else f"{value:.2f}"


def parameters_lines(cur, settings: Settings) -> list[str]:
    """What the marts were computed with, and a warning when the settings now say otherwise."""
    cur.execute(SQL("attribution_state"))
    state = cur.fetchone()
    if state is None:
        return []
    params, built_at, run_id, _ = state
    lines = [f"Computed with: {describe_params(params)} (run #{run_id}, {built_at:%Y-%m-%d %H:%M} UTC)."]
    if describe_params(params) != settings.attribution.describe():
        lines.append(f"Your settings now say: {settings.attribution.describe()}; "
                     "the next attribution run rebuilds the marts with them.")
    return lines


def roas_by_model(url: str, settings: Settings, *, start: date | None = None, end: date | None = None,
                  model: str | None = None) -> str:
    """A plain-text table per model (or the one `model`), channels by attributed revenue, over
    [start, end] (each end defaults to the first or last day the marts hold)."""
    if model is not None and model not in MODELS:
        raise ValueError(f"unknown model {model!r}; expected one of: {', '.join(MODELS)}")
    if start and end and start > end:
        raise ValueError(f"--start {start} is after --end {end}")
    models = [model] if model else list(MODELS)
    with connection(url) as conn, conn.cursor() as cur:
        cur.execute(SQL("data_dates"))
        first, last = cur.fetchone()
        if first is None:
            return "No attribution results yet: load data with `make run` first."
        start, end = start or first, end or last
        cur.execute(SQL("roas_by_channel"), {"start": start, "end": end, "models": models})
        names = [column.name for column in cur.description]
        rows = [dict(zip(names, row)) for row in cur.fetchall()]
        parameters = parameters_lines(cur, settings)
    if not rows:
        return f"No attribution results between {start} and {end}: the marts hold {first} to {last}."
    out = [f"ROAS by channel, {start} to {end}, amounts in {settings.reporting_currency}", *parameters]
    header = f"{'channel':<30}{'spend':>14}{'conversions':>13}{'revenue':>15}{'ROAS':>8}{'CPA':>10}"
    for name in models:
        channels = [r for r in rows if r["model"] == name and r["channel"] is not None]
        total = next((r for r in rows if r["model"] == name and r["channel"] is None), None)
        if total is None:
            continue
        out += ["", f"== {name}", header, "-" * len(header)]
        for r in sorted(channels, key=lambda r: (-r["attributed_revenue"], r["channel"])):
            out.append(
                f"{r['channel']:<30}{_money(r['spend']):>14}{r['attributed_conversions']:>13,.1f}"
                f"{_money(r['attributed_revenue']):>15}{_ratio(r['roas']):>8}{_money(r['cpa']):>10}"
            )
        paid = [r for r in channels if r["spend"]]
        paid_spend = sum(r["spend"] for r in paid)
        paid_conversions = sum(r["attributed_conversions"] for r in paid)
        paid_revenue = sum(r["attributed_revenue"] for r in paid)
        out.append("-" * len(header))
        out.append(
            f"{'total, all channels (blended)':<30}{_money(total['spend']):>14}"
            f"{total['attributed_conversions']:>13,.1f}{_money(total['attributed_revenue']):>15}{_ratio(total['roas']):>8}"
        )
        out.append(
            f"{'paid channels only':<30}{_money(paid_spend):>14}{paid_conversions:>13,.1f}{_money(paid_revenue):>15}"
            f"{_ratio(paid_revenue / paid_spend if paid_spend else None):>8}"
            f"{_money(float(paid_spend) / float(paid_conversions) if paid_conversions else None):>10}"
        )
    out += ["", NOTE]
    return "\n".join(out)
