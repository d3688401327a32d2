"""The demo's closing table: per model, each channel's spend, conversions, revenue, ROAS and CPA."""

from __future__ import annotations

from marketing.attribution.models import MODELS
from marketing.config import Settings
from marketing.reporting import SQL
from marketing.warehouse import connection


def _money(value) -> str:
    return "" if value is None else f"{value:,.2f}"


def _ratio(value) -> str:
    return "" if value is None else f"{value:.2f}"


def roas_by_model(url: str, settings: Settings) -> str:
    """A plain-text table per model, channels by attributed revenue, over every day the marts hold."""
    with connection(url) as conn, conn.cursor() as cur:
        cur.execute(SQL("data_dates"))
        first, last = cur.fetchone()
        if first is None:
            return "No attribution results yet: load data with `make run` first."
        cur.execute(SQL("roas_by_channel"), {"start": first, "end": last, "models": list(MODELS)})
        names = [column.name for column in cur.description]
        rows = [dict(zip(names, row)) for row in cur.fetchall()]
    out = [f"ROAS by channel, {first} to {last}, amounts in {settings.reporting_currency}"]
    header = f"{'channel':<26}{'spend':>14}{'conversions':>13}{'revenue':>15}{'ROAS':>8}{'CPA':>10}"
    for model in MODELS:
        channels = [r for r in rows if r["model"] == model and r["channel"] is not None]
        total = next((r for r in rows if r["model"] == model and r["channel"] is None), None)
        if total is None:
            continue
        out += ["", f"== {model}", header, "-" * len(header)]
        for r in sorted(channels, key=lambda r: (-r["attributed_revenue"], r["channel"])):
            out.append(
                f"{r['channel']:<26}{_money(r['spend']):>14}{r['attributed_conversions']:>13,.1f}"
                f"{_money(r['attributed_revenue']):>15}{_ratio(r['roas']):>8}{_money(r['cpa']):>10}"
            )
        out.append(
            f"{'total':<26}{_money(total['spend']):>14}{total['attributed_conversions']:>13,.1f}"
            f"{_money(total['attributed_revenue']):>15}{_ratio(total['roas']):>8}"
        )
    return "\n".join(out)
