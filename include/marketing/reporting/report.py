"""The demo's closing tables: per model, each channel's spend, conversions, revenue, ROAS and CPA;
then the assisted conversions per channel and the funnel per channel (docs/assists.md)."""

from __future__ import annotations

from itertools import groupby

from marketing.attribution.models import MODELS
from marketing.config import Settings
from marketing.reporting import SQL
from marketing.warehouse import connection


def _money(value) -> str:
    return "" if value is None else f"{value:,.2f}"


def _ratio(value) -> str:
    return "" if value is None else f"{value:.2f}"


FUNNEL_MODEL = "last_non_direct"


def roas_by_model(url: str, settings: Settings) -> str:
    """A plain-text table per model, channels by attributed revenue, over every day the marts hold;
    then the assisted conversions per channel and the funnel per channel."""
    with connection(url) as conn, conn.cursor() as cur:
        cur.execute(SQL("data_dates"))
        first, last = cur.fetchone()
        if first is None:
            return "No attribution results yet: load data with `make run` first."
        cur.execute(SQL("roas_by_channel"), {"start": first, "end": last, "models": list(MODELS)})
        names = [column.name for column in cur.description]
        rows = [dict(zip(names, row)) for row in cur.fetchall()]
        assists = assisted_table(cur, settings)
        funnel = funnel_table(cur, settings)
    final = ", ".join(settings.attribution.final_conversion_types)
    out = [f"ROAS by channel, {first} to {last}, amounts in {settings.reporting_currency};"
           f" conversions and revenue of {final} (FINAL_CONVERSION_TYPES)"]
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
    return "\n".join([*out, "", *assists, "", *funnel])


def assisted_table(cur, settings: Settings) -> list[str]:
    """Per channel: last-touch and assisted conversions and value of the final types, and the ratio."""
    final = list(settings.attribution.final_conversion_types)
    cur.execute(SQL("assisted_by_channel"), {"start": None, "end": None, "conversion_types": final})
    rows = cur.fetchall()
    header = (f"{'channel':<26}{'last-touch':>12}{'value':>15}{'assisted':>12}{'value':>15}"
              f"{'assisted/last':>15}")
    out = [f"Assisted conversions by channel ({', '.join(final)}): a ratio near 0 closes, above 1 mostly assists",
           header, "-" * len(header)]
    for channel, last, last_value, _, _, assisted, assisted_value, ratio in rows:
        out.append(f"{channel:<26}{last:>12,}{_money(last_value):>15}{assisted:>12,}{_money(assisted_value):>15}"
                   f"{_ratio(ratio):>15}")
    return out


def funnel_table(cur, settings: Settings) -> list[str]:
    """Per channel under last_non_direct: each FUNNEL_STEPS step's conversions and the rate from the step before."""
    steps = list(settings.attribution.funnel_steps)
    cur.execute(SQL("funnel_by_channel"), {"start": None, "end": None, "model": FUNNEL_MODEL, "funnel_steps": steps})
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
