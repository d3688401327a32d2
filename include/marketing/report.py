"""The demo's closing tables: per model, each channel's spend, conversions, revenue, ROAS and CPA;
then the assisted conversions per channel and the funnel per channel (docs/assists.md)."""

from __future__ import annotations

from itertools import groupby
from pathlib import Path

from marketing.config import Settings
from marketing.warehouse import connection

SQL_DIR = Path(__file__).resolve().parent / "sql" / "report"
SQL = SQL_DIR / "roas_by_channel.sql"
MODELS = ("first_touch", "last_touch", "last_non_direct", "linear", "time_decay", "position_based")
FUNNEL_MODEL = "last_non_direct"


def query_text(name: str) -> str:
    """The report query `sql/report/<name>.sql` (the dashboard reads the same files)."""
    return (SQL_DIR / f"{name}.sql").read_text()


def _money(value) -> str:
    return "" if value is None else f"{value:,.2f}"


def _ratio(value) -> str:
    return "" if value is None else f"{value:.2f}"


def roas_by_model(url: str, settings: Settings) -> str:
    """A plain-text table per model, channels by attributed revenue; then assists and the funnel."""
    with connection(url) as conn, conn.cursor() as cur:
        cur.execute(SQL.read_text())
        rows = cur.fetchall()
        if not rows:
            return "No attribution results yet: load data with `make run` first."
        out = roas_tables(rows, settings)
        out += ["", *assisted_table(cur, settings), "", *funnel_table(cur, settings)]
    return "\n".join(out)


def roas_tables(rows: list[tuple], settings: Settings) -> list[str]:
    first, last = min(r[7] for r in rows), max(r[8] for r in rows)
    final = ", ".join(settings.attribution.final_conversion_types)
    out = [f"ROAS by channel, {first} to {last}, amounts in {settings.reporting_currency};"
           f" conversions and revenue of {final} (FINAL_CONVERSION_TYPES)"]
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
    return out


def assisted_table(cur, settings: Settings) -> list[str]:
    """Per channel: last-touch and assisted conversions and value of the final types, and the ratio."""
    final = list(settings.attribution.final_conversion_types)
    cur.execute(query_text("assisted_by_channel"), {"start": None, "end": None, "conversion_types": final})
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
    cur.execute(query_text("funnel_by_channel"),
                {"start": None, "end": None, "model": FUNNEL_MODEL, "funnel_steps": steps})
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
