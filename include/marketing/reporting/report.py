"""The demo's closing tables: per model, each channel's spend, conversions, revenue, ROAS and CPA;
then per acquisition channel, new customers, CAC, realised value, predicted LTV and LTV : CAC."""

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


def realised_age(settings: Settings) -> int:
    """The age the demo shows realised value at: 30 days when configured, else the first age."""
    ages = settings.customers.cohort_ages_days
    return 30 if 30 in ages else ages[0]


def customers_by_channel(url: str, settings: Settings) -> str:
    """A plain-text table: per acquisition channel, new customers, CAC, value, LTV and LTV : CAC."""
    age = realised_age(settings)
    with connection(url) as conn, conn.cursor() as cur:
        cur.execute(SQL("customers_by_channel"), {"start": None, "end": None, "age_days": age})
        rows = cur.fetchall()
        cur.execute("select as_of, customers, fit from ops.customer_runs order by run_id desc limit 1")
        run = cur.fetchone()
    if not rows or run is None:
        return "No customer value yet: run the pipeline with `make run` first."
    as_of, customers, fit = run
    out = [f"Customers by acquisition channel ({settings.customers.acquisition_model}), {customers:,} customers"
           f" as of {as_of:%Y-%m-%d}, amounts in {settings.reporting_currency}",
           "" if fit.get("reason") is None else f"(models not fitted: {fit['reason']}; predicted LTV is empty)"]
    header = (f"{'channel':<26}{'new customers':>14}{'CAC':>10}{f'value {age}d/cust':>16}"
              f"{'pred. LTV/cust':>16}{'LTV:CAC':>9}")
    out += [header, "-" * len(header)]
    for channel, new, spend, cac, _mature, value, ltv, ltv_to_cac, _risk in rows:
        # no spend: no acquisition cost to speak of (the mart says 0)
        out.append(f"{channel:<26}{new:>14,.1f}{_money(cac if spend else None):>10}{_money(value):>16}{_money(ltv):>16}"
                   f"{_ratio(ltv_to_cac):>9}")
    return "\n".join(line for line in out if line)
