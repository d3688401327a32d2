"""The demo's closing table: per model, each channel's spend, conversions, revenue, ROAS and CPA.

The total row is blended (every channel's revenue, organic and unattributed included, over paid
spend) and says so; the paid-only row beside it counts the channels that have spend. The header
names the model parameters the marts were computed with.
"""

from __future__ import annotations

from datetime import date
from itertools import groupby
from pathlib import Path

from marketing.config import Settings, describe_params
from marketing.warehouse import connection

SQL_DIR = Path(__file__).resolve().parent / "sql" / "report"
SQL = SQL_DIR / "roas_by_channel.sql"
MODELS = ("first_touch", "last_touch", "last_non_direct", "linear", "time_decay", "position_based")
NOTE = ("blended ROAS = the attributed revenue of every channel (organic, direct and unattributed too) over paid "
        "spend; paid-only ROAS and CPA count only the channels that have spend.")


def _money(value) -> str:
    return "" if value is None else f"{value:,.2f}"


def _ratio(value) -> str:
    return "" if value is None else f"{value:.2f}"


def parameters_line(cur, settings: Settings) -> list[str]:
    """What the marts were computed with, and a warning when the settings now say otherwise."""
    cur.execute((SQL_DIR / "attribution_state.sql").read_text())
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
    """A plain-text table per model (or the one `model`), channels by attributed revenue, over [start, end]."""
    if model is not None and model not in MODELS:
        raise ValueError(f"unknown model {model!r}; expected one of: {', '.join(MODELS)}")
    if start and end and start > end:
        raise ValueError(f"--start {start} is after --end {end}")
    with connection(url) as conn, conn.cursor() as cur:
        cur.execute(SQL.read_text(), {"start": start, "end": end, "model": model})
        rows = cur.fetchall()
        parameters = parameters_line(cur, settings)
    if not rows:
        if start or end:
            return f"No attribution results between {start or 'the first day'} and {end or 'the last day'}."
        return "No attribution results yet: load data with `make run` first."
    first, last = min(r[7] for r in rows), max(r[8] for r in rows)
    out = [f"ROAS by channel, {first} to {last}, amounts in {settings.reporting_currency}", *parameters]
    header = f"{'channel':<30}{'spend':>14}{'conversions':>13}{'revenue':>15}{'ROAS':>8}{'CPA':>10}"
    by_model = {m: list(group) for m, group in groupby(rows, key=lambda r: r[0])}
    for name in [m for m in MODELS if m in by_model]:
        out += ["", f"== {name}", header, "-" * len(header)]
        totals, paid = [0, 0, 0], [0, 0, 0]
        for _, channel, spend, conversions, revenue, roas, cpa, _, _ in by_model[name]:
            totals = [totals[0] + spend, totals[1] + conversions, totals[2] + revenue]
            if spend:
                paid = [paid[0] + spend, paid[1] + conversions, paid[2] + revenue]
            out.append(
                f"{channel:<30}{_money(spend):>14}{conversions:>13,.1f}{_money(revenue):>15}"
                # no spend: no cost per acquisition to speak of (the marts say 0, which misleads)
                f"{_ratio(roas):>8}{_money(cpa if spend else None):>10}"
            )
        out.append("-" * len(header))
        blended = totals[2] / totals[0] if totals[0] else None
        out.append(f"{'total, all channels (blended)':<30}{_money(totals[0]):>14}{totals[1]:>13,.1f}"
                   f"{_money(totals[2]):>15}{_ratio(blended):>8}")
        paid_roas = paid[2] / paid[0] if paid[0] else None
        paid_cpa = float(paid[0]) / float(paid[1]) if paid[1] else None
        out.append(f"{'paid channels only':<30}{_money(paid[0]):>14}{paid[1]:>13,.1f}{_money(paid[2]):>15}"
                   f"{_ratio(paid_roas):>8}{_money(paid_cpa):>10}")
    out += ["", NOTE]
    return "\n".join(out)
