"""The demo's closing table: per model, each channel's spend, conversions, revenue, ROAS and CPA."""

from __future__ import annotations

from itertools import groupby
from pathlib import Path

from marketing.config import Settings
from marketing.warehouse import connection

SQL = Path(__file__).resolve().parent / "sql" / "report" / "roas_by_channel.sql"
CUSTOMERS_SQL = SQL.with_name("customers_by_channel.sql")
MODELS = ("first_touch", "last_touch", "last_non_direct", "linear", "time_decay", "position_based")


def _money(value) -> str:
    return "" if value is None else f"{value:,.2f}"


def roas_by_model(url: str, settings: Settings) -> str:
    """A plain-text table per model, channels by attributed revenue."""
    with connection(url) as conn, conn.cursor() as cur:
        cur.execute(SQL.read_text())
        rows = cur.fetchall()
    if not rows:
        return "No attribution results yet: load data with `make run` first."
    first, last = min(r[7] for r in rows), max(r[8] for r in rows)
    out = [f"ROAS by channel, {first} to {last}, amounts in {settings.reporting_currency}"]
    header = f"{'channel':<26}{'spend':>14}{'conversions':>13}{'revenue':>15}{'ROAS':>8}{'CPA':>10}"
    by_model = {model: list(group) for model, group in groupby(rows, key=lambda r: r[0])}
    for model in [m for m in MODELS if m in by_model]:
        out += ["", f"== {model}", header, "-" * len(header)]
        totals = [0, 0, 0]
        for _, channel, spend, conversions, revenue, roas, cpa, _, _ in by_model[model]:
            totals = [totals[0] + spend, totals[1] + conversions, totals[2] + revenue]
            out.append(
                f"{channel:<26}{_money(spend):>14}{conversions:>13,.1f}{_money(revenue):>15}"
                # no spend: no cost per acquisition to speak of (the marts say 0, which misleads)
                f"{'' if roas is None else f'{roas:.2f}':>8}{_money(cpa if spend else None):>10}"
            )
        roas = totals[2] / totals[0] if totals[0] else None
        out.append(
            f"{'total':<26}{_money(totals[0]):>14}{totals[1]:>13,.1f}{_money(totals[2]):>15}"
            f"{'' if roas is None else f'{roas:.2f}':>8}"
        )
    return "\n".join(out)


def _ratio(value, digits=2) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def realised_age(settings: Settings) -> int:
    """The age the demo shows realised value at: 30 days when configured, else the first age."""
    ages = settings.customers.cohort_ages_days
    return 30 if 30 in ages else ages[0]


def customers_by_channel(url: str, settings: Settings) -> str:
    """A plain-text table: per acquisition channel, new customers, CAC, value, LTV and LTV : CAC."""
    age = realised_age(settings)
    with connection(url) as conn, conn.cursor() as cur:
        cur.execute(CUSTOMERS_SQL.read_text(), {"start": None, "end": None, "age_days": age})
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
