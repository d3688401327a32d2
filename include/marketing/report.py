"""The demo's closing table: per model, each channel's spend, conversions, revenue, ROAS and CPA."""

from __future__ import annotations

from itertools import groupby
from pathlib import Path

from marketing.config import Settings
from marketing.warehouse import connection

SQL = Path(__file__).resolve().parent / "sql" / "report" / "roas_by_channel.sql"
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
