"""The demo's closing tables: per model, each channel's spend, conversions, revenue, ROAS and CPA;
then the assisted conversions per channel and the funnel per channel (docs/assists.md);
then per acquisition channel, new customers, CAC, realised value, predicted LTV and LTV : CAC.

The total row is blended (every channel's revenue, organic and unattributed included, over paid
spend) and says so; the paid-only row beside it counts the channels that have spend. The header
names the model parameters the marts were computed with.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from itertools import groupby

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


FUNNEL_MODEL = "last_non_direct"


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
    [start, end] (each end defaults to the first or last day the marts hold); then the assisted
    conversions per channel and the funnel per channel over the same days."""
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
        assists = assisted_table(cur, settings, start, end)
        funnel = funnel_table(cur, settings, start, end)
        effects = removal_effects_table(cur, settings, end)
    if not rows:
        return f"No attribution results between {start} and {end}: the marts hold {first} to {last}."
    out = [f"ROAS by channel, {start} to {end}, amounts in {settings.reporting_currency}", *parameters,
           f"Conversions and revenue of {', '.join(settings.attribution.final_conversion_types)}"
           " (FINAL_CONVERSION_TYPES)"]
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
    out += ["", NOTE, "", *assists, "", *funnel, "", *effects]
    return "\n".join(out)


def removal_effects_table(cur, settings: Settings, end: date) -> list[str]:
    """The removal effects of the `markov` fits of the final types for the period that holds `end`."""
    final = list(settings.attribution.final_conversion_types)
    cur.execute(SQL("markov_removal_effects"), {"end": end, "conversion_types": final})
    rows = cur.fetchall()
    if not rows:
        return [f"Markov removal effects: no fit of {', '.join(final)} up to {end}"]
    _, period_start, *_ = rows[0]
    header = f"{'channel':<26}{'removal effect':>16}{'share':>9}"
    out = [f"Markov removal effects ({', '.join(final)}), fit from {period_start}"
           f" (ATTRIBUTION_MARKOV_PERIOD = {settings.attribution.markov_period}): the share of conversions lost"
           " without the channel", header, "-" * len(header)]
    for conversion_type, _, channel, effect, share, converting, nulls, p in rows:
        out.append(f"{channel:<26}{effect:>16.3f}{share:>9.1%}")
    out.append(f"{converting:,} converting and {nulls:,} non-converting journeys, conversion probability {p:.3f}")
    return out


def assisted_table(cur, settings: Settings, start: date | None = None, end: date | None = None) -> list[str]:
    """Per channel: last-touch and assisted conversions and value of the final types, and the ratio."""
    final = list(settings.attribution.final_conversion_types)
    cur.execute(SQL("assisted_by_channel"), {"start": start, "end": end, "conversion_types": final})
    rows = cur.fetchall()
    header = (f"{'channel':<26}{'last-touch':>12}{'value':>15}{'assisted':>12}{'value':>15}"
              f"{'assisted/last':>15}")
    out = [f"Assisted conversions by channel ({', '.join(final)}): a ratio near 0 closes, above 1 mostly assists",
           header, "-" * len(header)]
    for channel, last, last_value, _, _, assisted, assisted_value, ratio in rows:
        out.append(f"{channel:<26}{last:>12,}{_money(last_value):>15}{assisted:>12,}{_money(assisted_value):>15}"
                   f"{_ratio(ratio):>15}")
    return out


def funnel_table(cur, settings: Settings, start: date | None = None, end: date | None = None) -> list[str]:
    """Per channel under last_non_direct: each FUNNEL_STEPS step's conversions and the rate from the step before."""
    steps = list(settings.attribution.funnel_steps)
    cur.execute(SQL("funnel_by_channel"), {"start": start, "end": end, "model": FUNNEL_MODEL, "funnel_steps": steps})
    rows = cur.fetchall()
    width = max(14, *(len(step) + 2 for step in steps))
    header = f"{'channel':<26}" + "".join(f"{step:>{width}}{'rate':>7}" if i else f"{step:>{width}}"
                                          for i, step in enumerate(steps))
    out = [f"Funnel by channel under {FUNNEL_MODEL} (rate: conversions of a step / the step before)",
           header, "-" * len(header)]
    for channel, group in groupby(rows, key=lambda r: r[0]):
        line = f"{channel:<26}"
        for _, _, index, conversions, rate in group:
            line += f"{conversions:>{width},.1f}"
            if index > 1:
                line += f"{'' if rate is None else f'{rate:.0%}':>7}"
        out.append(line)
    return out


def realised_age(ages) -> int:
    """The age the demo shows realised value at: 30 days when among `ages` (COHORT_AGES_DAYS), else the first."""
    return 30 if 30 in ages else min(ages)


def describe_customer_params(params: dict) -> str:
    """Customer value's settings (as stored with each run in ops.customer_runs) in words."""
    return (f"acquisition model {params.get('acquisition_model')}, "
            f"purchases {', '.join(params.get('conversion_types') or ())}, "
            f"cohort ages {', '.join(str(a) for a in params.get('cohort_ages_days') or ())} days, "
            f"CLV horizon {params.get('clv_horizon_days')} days")


def customer_params(run_params: dict | None, settings: Settings) -> tuple[dict, str | None]:
    """The settings the customers tables were computed with (the last run's), and a warning when the
    settings now say otherwise: the tables follow them only from the next customers run."""
    now = asdict(settings.customers)
    now = {key: list(value) if isinstance(value, tuple) else value for key, value in now.items()}
    params = {**now, **(run_params or {})}
    if describe_customer_params(params) == describe_customer_params(now):
        return params, None
    return params, (f"Your settings now say: {describe_customer_params(now)}; "
                    "the next customers run recomputes the tables with them.")


def customers_by_channel(url: str, settings: Settings) -> str:
    """A plain-text table: per acquisition channel, new customers, CAC, value, LTV and LTV : CAC,
    under the settings of the last customers run (which it names when the settings now differ)."""
    with connection(url) as conn, conn.cursor() as cur:
        cur.execute("select as_of, customers, fit, params from ops.customer_runs order by run_id desc limit 1")
        run = cur.fetchone()
        if run is None:
            return "No customer value yet: run the pipeline with `make run` first."
        as_of, customers, fit, run_params = run
        params, pending = customer_params(run_params, settings)
        age = realised_age(params["cohort_ages_days"])
        cur.execute(SQL("customers_by_channel"), {"start": None, "end": None, "age_days": age})
        rows = cur.fetchall()
    if not rows:
        return "No customer value yet: run the pipeline with `make run` first."
    out = [f"Customers by acquisition channel ({params['acquisition_model']}), {customers:,} customers"
           f" as of {as_of:%Y-%m-%d}, amounts in {settings.reporting_currency}",
           pending or "",
           "" if fit.get("reason") is None else f"(models not fitted: {fit['reason']}; predicted LTV is empty)"]
    header = (f"{'channel':<26}{'new customers':>14}{'CAC':>10}{f'value {age}d/cust':>16}"
              f"{'pred. LTV/cust':>16}{'LTV:CAC':>9}")
    out += [header, "-" * len(header)]
    for channel, new, _spend, cac, _mature, value, ltv, ltv_to_cac, _risk in rows:
        out.append(f"{channel:<26}{new:>14,.1f}{_money(cac):>10}{_money(value):>16}{_money(ltv):>16}"
                   f"{_ratio(ltv_to_cac):>9}")
    return "\n".join(line for line in out if line)
