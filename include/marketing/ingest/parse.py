"""Line rules of the four landing feeds (docs/contract.md, sections 1.1 to 1.5).

Each parser turns one line into the tuple of its `raw` table's columns, or raises `Reject`
with the reason in words. Values leave here as Postgres COPY text fields.
"""

from __future__ import annotations

import csv
import gzip
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qs, urlsplit

import orjson

from marketing.ingest.channels import ChannelClassifier

FEEDS = ("fx_rates", "ad_spend", "conversions", "touchpoints")  # load order: rates before amounts
CURRENCY = re.compile(r"^[A-Z]{3}$")
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
TOUCHPOINT_FIELDS = {"event_id", "occurred_at", "anonymous_id", "user_id", "referrer", "page_url", *UTM_FIELDS}
CONVERSION_FIELDS = {"conversion_id", "occurred_at", "anonymous_id", "user_id", "conversion_type", "revenue", "currency"}
SPEND_COLUMNS = ("date", "source", "medium", "campaign", "spend", "currency")
FX_COLUMNS = ("date", "currency", "rate")

NULL = "\\N"
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


class Reject(ValueError):
    """A line that breaks its feed's rules; the message is the reason shown in quarantine."""


class UnreadableFile(ValueError):
    """A file that cannot be read at all (bad gzip, not UTF-8, no usable header)."""


def copy_field(value: object) -> str:
    """One value in COPY text format (NULL for None, special characters escaped)."""
    if value is None:
        return NULL
    # Postgres text cannot hold NUL; a quarantined raw line may, so it is made visible instead
    return str(value).replace("\x00", "\ufffd").translate(_COPY_ESCAPES)


def copy_line(values: tuple) -> str:
    """A row of str/None values as one COPY text line (without the newline).

    Escapes the joined line once instead of each field: fields are joined with NUL (which
    Postgres text can never hold, so a value with one is rejected) and NULLs marked with
    \\x01, then the markers become tabs and \\N after escaping.
    """
    line = "\x00".join([v if v is not None else "\x01" for v in values])
    if line.count("\x00") != len(values) - 1:
        raise Reject("contains a NUL character (\\u0000), which text columns cannot hold")
    if line.count("\x01") != values.count(None):
        return "\t".join(map(copy_field, values))  # a value holds \x01 itself: escape field by field
    if "\\" in line:
        line = line.replace("\\", "\\\\")
    if "\t" in line:
        line = line.replace("\t", "\\t")
    if "\n" in line:
        line = line.replace("\n", "\\n")
    if "\r" in line:
        line = line.replace("\r", "\\r")
    return line.replace("\x00", "\t").replace("\x01", NULL)


@dataclass(frozen=True)
class FeedContext:
    """What the line rules need besides the line: classifier, rates known, reporting currency."""

    classifier: ChannelClassifier
    reporting_currency: str
    tz: tzinfo
    fx_known: frozenset[tuple[date, str]] = frozenset()

    def require_rate(self, day: date, currency: str) -> None:
        if currency != self.reporting_currency and (day, currency) not in self.fx_known:
            raise Reject(f"no fx rate for {currency} on {day.isoformat()} (add it to fx_rates)")


# ---- field rules ---------------------------------------------------------------------------

def _text(obj: dict, name: str, required: bool = False) -> str | None:
    value = obj.get(name)
    if type(value) is str and value:  # the common case, checked first: this runs ~10 times a line
        return value
    if value is None or value == "":
        if required:
            raise Reject(f"missing required field {name}")
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise Reject(f"{name} must be a string, got {type(value).__name__}")


def _timestamp(obj: dict, name: str = "occurred_at") -> datetime:
    value = obj.get(name)
    if value is None or value == "":
        raise Reject(f"missing required field {name}")
    if not isinstance(value, str):
        raise Reject(f"{name} must be an RFC 3339 string, got {type(value).__name__}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Reject(f"{name} is not an RFC 3339 timestamp: {value!r}") from None
    if moment.tzinfo is None:
        raise Reject(f"{name} has no UTC offset (add Z or +HH:MM): {value!r}")
    return moment


def _amount(value: object, name: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise Reject(f"{name} is not a number: {value!r}")
    try:
        # str() of a float is its shortest round-trip form, so 19.99 stays 19.99 to the cent
        amount = Decimal(value.strip() if isinstance(value, str) else str(value))
    except (InvalidOperation, TypeError):
        raise Reject(f"{name} is not a number: {value!r}") from None
    if not amount.is_finite():
        raise Reject(f"{name} is not a finite number: {value!r}")
    return amount


def _currency(value: object, name: str = "currency") -> str:
    code = value.strip().upper() if isinstance(value, str) else value
    if not isinstance(code, str) or not CURRENCY.match(code):
        raise Reject(f"{name} is not an ISO 4217 code: {value!r}")
    return code


def _day(value: str, name: str = "date") -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise Reject(f"{name} is not a YYYY-MM-DD date: {value!r}") from None


def _json_object(line: str) -> dict:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise Reject(f"not valid JSON ({exc.args[0].split(':')[0]})") from None
    if not isinstance(obj, dict):
        raise Reject(f"not a JSON object (a {type(obj).__name__})")
    return obj


def _extra(obj: dict, known: set[str]) -> str | None:
    if obj.keys() <= known:
        return None
    return orjson.dumps({k: v for k, v in obj.items() if k not in known}).decode()


def _ids(obj: dict) -> tuple[str | None, str | None]:
    anonymous_id, user_id = _text(obj, "anonymous_id"), _text(obj, "user_id")
    if anonymous_id is None and user_id is None:
        raise Reject("needs anonymous_id or user_id (both missing)")
    return anonymous_id, user_id


def _utm_from_page_url(page_url: str | None) -> dict[str, str]:
    if not page_url or "utm_" not in page_url:
        return {}
    query = parse_qs(urlsplit(page_url).query)
    return {k: v[0] for k, v in query.items() if k in UTM_FIELDS and v and v[0]}


# ---- line parsers --------------------------------------------------------------------------

def touchpoint_row(line: str, ctx: FeedContext) -> tuple:
    """One touchpoint line → raw.touchpoints columns (after file_id, line_number)."""
    obj = _json_object(line)
    event_id = _text(obj, "event_id", required=True)
    occurred_at = _timestamp(obj)
    anonymous_id, user_id = _ids(obj)
    referrer, page_url = _text(obj, "referrer"), _text(obj, "page_url")
    utm = [obj.get(name) for name in UTM_FIELDS]
    if not all(value is None or type(value) is str for value in utm) or "" in utm:
        utm = [_text(obj, name) for name in UTM_FIELDS]
    if None in utm and page_url and "utm_" in page_url:
        from_url = _utm_from_page_url(page_url)
        utm = [value if value is not None else from_url.get(name) for name, value in zip(UTM_FIELDS, utm)]
    touch = ctx.classifier.classify(utm[0], utm[1], utm[2], referrer)
    return (
        event_id, occurred_at.isoformat(), anonymous_id, user_id, *utm,
        referrer, page_url, _extra(obj, TOUCHPOINT_FIELDS),
        touch.source, touch.medium, touch.campaign, touch.channel,
    )


def conversion_row(line: str, ctx: FeedContext) -> tuple:
    """One conversion line → raw.conversions columns (after file_id, line_number)."""
    obj = _json_object(line)
    conversion_id = _text(obj, "conversion_id", required=True)
    occurred_at = _timestamp(obj)
    anonymous_id, user_id = _ids(obj)
    conversion_type = _text(obj, "conversion_type", required=True)
    raw_revenue = obj.get("revenue")
    revenue = Decimal(0) if raw_revenue is None else _amount(raw_revenue, "revenue")
    currency = None if obj.get("currency") in (None, "") else _currency(obj["currency"])
    if revenue != 0:
        if currency is None:
            raise Reject("currency is required when revenue is not 0")
        ctx.require_rate(occurred_at.astimezone(ctx.tz).date(), currency)
    return (
        conversion_id, occurred_at.isoformat(), anonymous_id, user_id, conversion_type,
        str(revenue), currency, _extra(obj, CONVERSION_FIELDS),
    )


def _csv_rows(text: str, required: tuple[str, ...]) -> Iterator[tuple[int, str, dict[str, str] | Reject]]:
    """CSV records as (line number, raw text, fields by header name or the Reject).

    The header is checked before the first record is asked for, so an unusable file is
    rejected whole before any of it is loaded.
    """
    lines = text.splitlines()
    if not lines:
        raise UnreadableFile("empty file: no header row")
    header = [h.strip().lower() for h in next(csv.reader([lines[0]]))]
    missing = [c for c in required if c not in header]
    if missing:
        raise UnreadableFile(f"header lacks column(s) {', '.join(missing)} (header: {lines[0]!r})")

    def rows() -> Iterator[tuple[int, str, dict[str, str] | Reject]]:
        for number, line in enumerate(lines[1:], start=2):
            if not line.strip():
                continue
            values = next(csv.reader([line]))
            if len(values) != len(header):
                yield number, line, Reject(f"expected {len(header)} fields, got {len(values)}")
            else:
                yield number, line, dict(zip(header, values))

    return rows()


def _optional_int(fields: dict[str, str], name: str) -> str | None:
    value = (fields.get(name) or "").strip()
    if not value:
        return None
    try:
        return str(int(value))
    except ValueError:
        raise Reject(f"{name} is not a whole number: {value!r}") from None


def ad_spend_row(fields: dict[str, str], ctx: FeedContext) -> tuple:
    """One ad_spend record → raw.ad_spend columns (after file_id, line_number)."""
    day = _day(fields["date"])
    source, medium = fields["source"].strip(), fields["medium"].strip()
    if not source or not medium:
        raise Reject("source and medium are required")
    spend = _amount(fields["spend"], "spend")
    currency = _currency(fields["currency"])
    ctx.require_rate(day, currency)
    campaign = fields["campaign"].strip()
    touch = ctx.classifier.classify(source, medium, campaign, None)
    return (
        day.isoformat(), touch.source, touch.medium, campaign, str(spend), currency,
        _optional_int(fields, "impressions"), _optional_int(fields, "clicks"), touch.channel,
    )


def fx_rate_row(fields: dict[str, str], ctx: FeedContext) -> tuple:
    """One fx_rates record → raw.fx_rates columns (after file_id, line_number)."""
    day = _day(fields["date"])
    currency = _currency(fields["currency"])
    rate = _amount(fields["rate"], "rate")
    if rate <= 0:
        raise Reject(f"rate must be positive: {fields['rate']!r}")
    return day.isoformat(), currency, str(rate)


@dataclass(frozen=True)
class Feed:
    """How one feed's lines are split and checked."""

    name: str
    columns: tuple[str, ...]  # raw table columns after file_id, line_number
    csv_header: tuple[str, ...] | None
    row: Callable[..., tuple]


RAW_TOUCHPOINT_COLUMNS = (
    "event_id", "occurred_at", "anonymous_id", "user_id", *UTM_FIELDS, "referrer", "page_url", "extra",
    "source", "medium", "campaign", "channel",
)
FEED_RULES: dict[str, Feed] = {
    "touchpoints": Feed("touchpoints", RAW_TOUCHPOINT_COLUMNS, None, touchpoint_row),
    "conversions": Feed(
        "conversions",
        ("conversion_id", "occurred_at", "anonymous_id", "user_id", "conversion_type", "revenue", "currency", "extra"),
        None, conversion_row,
    ),
    "ad_spend": Feed(
        "ad_spend",
        ("date", "source", "medium", "campaign", "spend", "currency", "impressions", "clicks", "channel"),
        SPEND_COLUMNS, ad_spend_row,
    ),
    "fx_rates": Feed("fx_rates", ("date", "currency", "rate"), FX_COLUMNS, fx_rate_row),
}


def records(feed: Feed, text: str) -> Iterator[tuple[int, str, object]]:
    """(line number, raw text, payload) per non-blank line; payload is a line, CSV fields or a Reject.

    Raises UnreadableFile at once (not while iterating) for a file with no usable header.
    """
    if feed.csv_header is not None:
        return _csv_rows(text, feed.csv_header)
    return (
        (number, line, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()
    )


def read_text(data: bytes, gzipped: bool) -> str:
    """Decode a landing file's bytes, or raise UnreadableFile saying why."""
    if gzipped:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise UnreadableFile(f"not a readable gzip file ({exc})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"not UTF-8 text (byte {exc.start}: {exc.reason})") from None


__all__ = ["FEEDS", "FEED_RULES", "Feed", "FeedContext", "Reject", "UnreadableFile", "copy_field", "copy_line", "read_text", "records"]
