"""Query parameters of the dashboard API, checked before any query runs (400 with a message)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from fastapi import HTTPException, Query, status

from marketing.attribution import MODELS
from marketing.config import Settings

ALL_MODELS = "all"
MAX_PERIOD_DAYS = 3 * 366  # bounds the work one request can ask for
DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)  # fromisoformat alone also takes 20240331, 2024-W13-7
# A conversion type as the loads keep it is free text; one asked for by name is a plain word.
CONVERSION_TYPE = re.compile(r"[\w.:-]{1,64}")
MAX_PATHS = 100  # top conversion paths one request may ask for


def bad_request(message: str) -> HTTPException:
    return HTTPException(status.HTTP_400_BAD_REQUEST, detail=message)


@dataclass(frozen=True)
class Period:
    """A closed range of days (in the reporting time zone, like the marts' `date`)."""

    start: date
    end: date

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


def parse_day(name: str, value: str | None) -> date:
    """A YYYY-MM-DD query parameter."""
    if not value:
        raise bad_request(f"{name} is required, as a date YYYY-MM-DD")
    try:
        if not DAY.fullmatch(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise bad_request(f"{name}={value[:40]!r} is not a date; expected YYYY-MM-DD, e.g. 2024-03-31") from None


def period(
    start: str | None = Query(None, description="First day, YYYY-MM-DD (inclusive)"),
    end: str | None = Query(None, description="Last day, YYYY-MM-DD (inclusive)"),
) -> Period:
    """The `start`/`end` parameters as a Period (FastAPI dependency)."""
    first, last = parse_day("start", start), parse_day("end", end)
    if first > last:
        raise bad_request(f"start ({first}) is after end ({last})")
    if (last - first).days + 1 > MAX_PERIOD_DAYS:
        raise bad_request(f"the period may span at most {MAX_PERIOD_DAYS} days, got {(last - first).days + 1}")
    return Period(first, last)


def _check_model(value: str | None, allowed: tuple[str, ...]) -> str:
    if not value:
        raise bad_request(f"model is required, one of: {', '.join(allowed)}")
    if value not in allowed:
        raise bad_request(f"unknown model {value[:40]!r}; expected one of: {', '.join(allowed)}")
    return value


def model(value: str | None = Query(None, alias="model", description="One attribution model")) -> str:
    """One attribution model (FastAPI dependency)."""
    return _check_model(value, MODELS)


def models(
    value: str | None = Query(None, alias="model", description="One attribution model, or `all` to compare them"),
) -> tuple[str, ...]:
    """One model, or every model for `model=all` (FastAPI dependency)."""
    chosen = _check_model(value, (*MODELS, ALL_MODELS))
    return MODELS if chosen == ALL_MODELS else (chosen,)


def conversion_types(
    value: str | None = Query(None, alias="conversion_type",
                              description="One conversion type; absent: the final types (FINAL_CONVERSION_TYPES)"),
) -> tuple[str, ...]:
    """The conversion types a view of assists or paths counts (FastAPI dependency)."""
    if not value:
        return Settings.from_env().attribution.final_conversion_types
    if not CONVERSION_TYPE.fullmatch(value):
        raise bad_request(f"conversion_type={value[:40]!r} is not a conversion type: letters, digits and _ . : - only,"
                          " at most 64")
    return (value,)


def path_limit(value: str | None = Query(None, alias="limit", description=f"Top paths to show, 1 to {MAX_PATHS}")) -> int:
    """How many of the top conversion paths to return (default 20)."""
    if not value:
        return 20
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_PATHS:
        raise bad_request(f"limit={value[:40]!r} must be a whole number from 1 to {MAX_PATHS}")
    return int(value)


MONTH = re.compile(r"\d{4}-\d{2}", re.ASCII)
MAX_MONTHS = 120


@dataclass(frozen=True)
class Months:
    """A closed range of cohort months (first days of months); either end may be open (None)."""

    start: date | None
    end: date | None


def parse_month(name: str, value: str | None) -> date | None:
    """An optional YYYY-MM query parameter, as the first day of the month."""
    if not value:
        return None
    try:
        if not MONTH.fullmatch(value):
            raise ValueError
        return date.fromisoformat(f"{value}-01")
    except ValueError:
        raise bad_request(f"{name}={value[:40]!r} is not a month; expected YYYY-MM, e.g. 2024-03") from None


def months(
    start: str | None = Query(None, description="First cohort month, YYYY-MM (inclusive; empty: the first)"),
    end: str | None = Query(None, description="Last cohort month, YYYY-MM (inclusive; empty: the last)"),
) -> Months:
    """The `start`/`end` month parameters (FastAPI dependency)."""
    first, last = parse_month("start", start), parse_month("end", end)
    if first and last:
        if first > last:
            raise bad_request(f"start ({first:%Y-%m}) is after end ({last:%Y-%m})")
        if (last.year - first.year) * 12 + last.month - first.month + 1 > MAX_MONTHS:
            raise bad_request(f"the period may span at most {MAX_MONTHS} months")
    return Months(first, last)
