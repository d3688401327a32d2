"""Line rules of the four landing feeds (docs/contract.md, sections 1.1 to 1.5).

Each parser turns one line into the tuple of its `raw` table's columns, or raises `Reject`
with the reason in words. Values leave here as Postgres COPY text fields.

The limits below (README, Bad input) refuse here what Postgres or the marts would refuse later:
an index row too large, a time zone conversion past year 9999, a ROAS that overflows. One bad
line must never stop its file, its feed or the attribution.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone, tzinfo
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

# Characters per text field. Ids, utm values, campaigns and types go into index rows (the person
# path index holds person key, event id and campaign together), which Postgres caps at 2704 bytes:
# at 4 bytes a character, 200 of each still fit. URLs are stored, never indexed.
TEXT_LIMIT = 200
URL_LIMIT = 8192
TEXT_LIMITS = {
    **dict.fromkeys(("event_id", "conversion_id", "anonymous_id", "user_id", "conversion_type"), TEXT_LIMIT),
    **dict.fromkeys((*UTM_FIELDS, "source", "medium", "campaign"), TEXT_LIMIT),
    **dict.fromkeys(("referrer", "page_url"), URL_LIMIT),
}
# Timestamps and dates: from EARLIEST up to, not including, LATEST (UTC).
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2200, 1, 1, tzinfo=timezone.utc)
# Amounts (revenue, spend): |amount| < AMOUNT_LIMIT with at most AMOUNT_DECIMALS decimal places,
# exact (never through a float). Rates: 0 < rate < RATE_LIMIT, at most RATE_DECIMALS places.
# With these, converted amounts, sums, ROAS and CPA stay far inside a double precision.
AMOUNT_LIMIT = Decimal(10) ** 15
AMOUNT_DECIMALS = 8
RATE_LIMIT = Decimal(10) ** 9
RATE_DECIMALS = 18
COUNT_LIMIT = 2**63  # impressions, clicks: bigint

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

def _too_long(name: str, value: str) -> Reject:
    return Reject(f"{name} longer than {TEXT_LIMITS[name]} characters ({len(value)})")


def _text(obj: dict, name: str, required: bool = False, limit: int = TEXT_LIMIT) -> str | None:
    value = obj.get(name)
    if type(value) is str and value:  # the common case, checked first: this runs ~10 times a line
        if len(value) > limit:
            raise _too_long(name, value)
        return value
    if value is None or value == "":
        if required:
            raise Reject(f"missing required field {name}")
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _limited(name, str(value))
    raise Reject(f"{name} must be a string, got {type(value).__name__}")


def _limited(name: str, value: str) -> str:
    if len(value) > TEXT_LIMITS[name]:
        raise _too_long(name, value)
    return value


_RANGE = f"{EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d}, UTC, end excluded"
_SAFE_YEARS = (EARLIEST.year + 1, LATEST.year - 2)  # inside the range whatever the UTC offset


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
    if not _SAFE_YEARS[0] <= moment.year <= _SAFE_YEARS[1]:  # near an end: compare exactly, in UTC
        try:
            inside = EARLIEST <= moment.astimezone(timezone.utc) < LATEST
        except OverflowError:  # past year 9999 or before year 1 in UTC
            inside = False
        if not inside:
            raise Reject(f"{name} out of range ({_RANGE}): {value!r}")
    return moment


def _decimal(value: object, name: str) -> Decimal:
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, (str, int)) and not isinstance(value, bool):
        try:
            amount = Decimal(value.strip() if isinstance(value, str) else value)
        except InvalidOperation:
            raise Reject(f"{name} is not a number: {value!r}") from None
    else:  # a float was parsed from JSON text elsewhere, exactly (see _exact_number)
        raise Reject(f"{name} is not a number: {value!r}")
    if not amount.is_finite():
        raise Reject(f"{name} is not a finite number: {value!r}")
    return amount


def _places(amount: Decimal) -> int:
    exponent = amount.as_tuple().exponent
    if exponent >= 0:
        return 0
    return -amount.normalize().as_tuple().exponent if amount else 0


def _amount(value: object, name: str) -> str:
    """An amount as exact decimal text, inside the documented range and precision."""
    amount = _decimal(value, name)
    if abs(amount) >= AMOUNT_LIMIT:
        raise Reject(f"{name} out of range (|{name}| must be below 10^15): {value!r}")
    if _places(amount) > AMOUNT_DECIMALS:
        raise Reject(f"{name} has more than {AMOUNT_DECIMALS} decimal places: {value!r}")
    return format(amount, "f")


def _rate(value: object) -> str:
    rate = _decimal(value, "rate")
    if not 0 < rate < RATE_LIMIT:
        raise Reject(f"rate out of range (0 < rate < 10^9): {value!r}")
    if _places(rate) > RATE_DECIMALS:
        raise Reject(f"rate has more than {RATE_DECIMALS} decimal places: {value!r}")
    return format(rate, "f")


def _currency(value: object, name: str = "currency") -> str:
    code = value.strip().upper() if isinstance(value, str) else value
    if not isinstance(code, str) or not CURRENCY.match(code):
        raise Reject(f"{name} is not an ISO 4217 code: {value!r}")
    return code


def _day(value: str, name: str = "date") -> date:
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise Reject(f"{name} is not a YYYY-MM-DD date: {value!r}") from None
    if not EARLIEST.date() <= day < LATEST.date():
        raise Reject(f"{name} out of range ({_RANGE}): {value!r}")
    return day


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number")


def _json_object(line: str) -> dict:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        reason = exc.args[0].split(":")[0]
        if "number" not in reason:
            raise Reject(f"not valid JSON ({reason})") from None
        obj = _exact_json(line, reason)  # a number beyond a double (1e400): parsed exactly, judged later
    if not isinstance(obj, dict):
        raise Reject(f"not a JSON object (a {type(obj).__name__})")
    return obj


def _exact_json(line: str, reason: str) -> object:
    """The line parsed with exact decimal numbers (slow: only for lines that need it)."""
    try:
        obj = json.loads(line, parse_float=Decimal, parse_constant=_reject_constant)
        orjson.dumps(obj, default=str)  # what orjson refuses besides numbers (lone surrogates) stays refused
    except (ValueError, orjson.JSONEncodeError):
        raise Reject(f"not valid JSON ({reason})") from None
    return obj


def _exact_number(line: str, obj: dict, name: str) -> object:
    """The JSON number `obj[name]` as exact text: a float from orjson may have lost digits."""
    value = obj[name]
    if type(value) is not float:
        return value
    found = _number_pattern(name).findall(line)
    if len(found) == 1 and float(found[0]) == value:  # the one place the field's text can be
        return found[0]
    return _exact_json(line, "number")[name]


_NUMBER_PATTERNS: dict[str, re.Pattern] = {}


def _number_pattern(name: str) -> re.Pattern:
    if name not in _NUMBER_PATTERNS:
        _NUMBER_PATTERNS[name] = re.compile(rf'"{name}"[ \t\r]*:[ \t\r]*(-?[0-9][0-9.eE+-]*)')
    return _NUMBER_PATTERNS[name]


def _extra(obj: dict, known: set[str]) -> str | None:
    if obj.keys() <= known:
        return None
    text = orjson.dumps({k: v for k, v in obj.items() if k not in known}, default=str).decode()
    if "\\u0000" in text:  # jsonb cannot hold it
        raise Reject("an extra field contains a NUL character (\\u0000), which jsonb cannot hold")
    return text


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
    referrer, page_url = _text(obj, "referrer", limit=URL_LIMIT), _text(obj, "page_url", limit=URL_LIMIT)
    utm = [obj.get(name) for name in UTM_FIELDS]
    if not all(value is None or type(value) is str for value in utm) or "" in utm:
        utm = [_text(obj, name) for name in UTM_FIELDS]
    if None in utm and page_url and "utm_" in page_url:
        from_url = _utm_from_page_url(page_url)
        utm = [value if value is not None else from_url.get(name) for name, value in zip(UTM_FIELDS, utm)]
    if len(line) > TEXT_LIMIT:  # a shorter line cannot hold a longer value: most lines skip this
        for name, value in zip(UTM_FIELDS, utm):
            if value is not None and len(value) > TEXT_LIMIT:
                raise _too_long(name, value)
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
    revenue = "0" if obj.get("revenue") is None else _amount(_exact_number(line, obj, "revenue"), "revenue")
    currency = None if obj.get("currency") in (None, "") else _currency(obj["currency"])
    if Decimal(revenue) != 0:
        if currency is None:
            raise Reject("currency is required when revenue is not 0")
        ctx.require_rate(occurred_at.astimezone(ctx.tz).date(), currency)
    return (
        conversion_id, occurred_at.isoformat(), anonymous_id, user_id, conversion_type,
        revenue, currency, _extra(obj, CONVERSION_FIELDS),
    )


class _PhysicalLines:
    """The lines of a text as csv.reader reads them, remembering how far it has read."""

    def __init__(self, text: str):
        self.lines = text.split("\n")
        if self.lines[-1] == "":
            self.lines.pop()
        self.read = 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self.read == len(self.lines):
            raise StopIteration
        self.read += 1
        return self.lines[self.read - 1] + "\n"

    def raw(self, start: int) -> str:
        """The text of the lines read since line index `start`, without line ends."""
        return "\n".join(line.removesuffix("\r") for line in self.lines[start:self.read])


def _csv_rows(text: str, required: tuple[str, ...]) -> Iterator[tuple[int, str, dict[str, str] | Reject]]:
    """CSV records as (line number, raw text, fields by header name or the Reject).

    Parsed as CSV, so a quoted field may hold newlines (the record's line number is its first
    line's). The header is checked before the first record is asked for, so an unusable file is
    rejected whole before any of it is loaded.
    """
    source = _PhysicalLines(text)
    reader = csv.reader(source, strict=True)  # a broken quote is a bad record, not a field that runs on
    try:
        header_values = next(reader, None)
    except csv.Error as exc:
        raise UnreadableFile(f"header row is not CSV ({exc})") from None
    header_text = source.raw(0)
    if header_values is None:
        raise UnreadableFile("empty file: no header row")
    if _UNDECODABLE.search(header_text):
        raise UnreadableFile(f"header row is not UTF-8 text: {_visible(header_text)!r}")
    header = [h.strip().lower() for h in header_values]
    missing = [c for c in required if c not in header]
    if missing:
        raise UnreadableFile(f"header lacks column(s) {', '.join(missing)} (header: {header_text!r})")
    checked = isinstance(text, _Undecodable)

    def rows() -> Iterator[tuple[int, str, dict[str, str] | Reject]]:
        while True:
            start = source.read
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                values = Reject(f"not a CSV record ({exc})")
            raw = source.raw(start)
            if values == [] or (isinstance(values, list) and not "".join(values).strip() and len(values) == 1):
                continue  # a blank line
            if checked and _UNDECODABLE.search(raw):
                yield start + 1, _visible(raw), _not_utf8(raw)
            elif isinstance(values, Reject):
                yield start + 1, raw, values
            elif len(values) != len(header):
                yield start + 1, raw, Reject(f"expected {len(header)} fields, got {len(values)}")
            else:
                yield start + 1, raw, dict(zip(header, values))

    return rows()


def _optional_int(fields: dict[str, str], name: str) -> str | None:
    value = (fields.get(name) or "").strip()
    if not value:
        return None
    try:
        count = int(value)
    except ValueError:
        raise Reject(f"{name} is not a whole number: {value!r}") from None
    if not 0 <= count < COUNT_LIMIT:
        raise Reject(f"{name} out of range (0 to 2^63 - 1): {value!r}")
    return str(count)


def ad_spend_row(fields: dict[str, str], ctx: FeedContext) -> tuple:
    """One ad_spend record → raw.ad_spend columns (after file_id, line_number)."""
    day = _day(fields["date"])
    source, medium = _limited("source", fields["source"].strip()), _limited("medium", fields["medium"].strip())
    if not source or not medium:
        raise Reject("source and medium are required")
    spend = _amount(fields["spend"], "spend")
    if spend.startswith("-") and Decimal(spend) != 0:
        raise Reject(f"spend is negative: {fields['spend']!r} (a refund of spend is a restatement of the day)")
    currency = _currency(fields["currency"])
    ctx.require_rate(day, currency)
    campaign = _limited("campaign", fields["campaign"].strip())
    touch = ctx.classifier.classify(source, medium, campaign, None)
    return (
        day.isoformat(), touch.source, touch.medium, campaign, spend, currency,
        _optional_int(fields, "impressions"), _optional_int(fields, "clicks"), touch.channel,
    )


def fx_rate_row(fields: dict[str, str], ctx: FeedContext) -> tuple:
    """One fx_rates record → raw.fx_rates columns (after file_id, line_number)."""
    day = _day(fields["date"])
    currency = _currency(fields["currency"])
    return day.isoformat(), currency, _rate(fields["rate"])


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

    JSON lines end at "\\n" only (a trailing "\\r" is dropped): U+2028, U+0085 or \\x1e inside a
    JSON string are part of the line. Raises UnreadableFile at once (not while iterating) for a
    file with no usable header.
    """
    if feed.csv_header is not None:
        return _csv_rows(text, feed.csv_header)
    if isinstance(text, _Undecodable):
        return _json_lines_checked(text)
    return _json_lines(text)


def _json_lines(text: str) -> Iterator[tuple[int, str, str]]:
    if "\r" not in text:  # the usual file: no line end to trim, so a plain generator expression
        return ((n, line, line) for n, line in enumerate(text.split("\n"), start=1) if line and not line.isspace())
    return _json_lines_crlf(text)


def _json_lines_crlf(text: str) -> Iterator[tuple[int, str, str]]:
    number = 0
    for line in text.split("\n"):
        number += 1
        if line and line[-1] == "\r":
            line = line[:-1]
        if line and not line.isspace():
            yield number, line, line


def _json_lines_checked(text: str) -> Iterator[tuple[int, str, object]]:
    for number, line, payload in _json_lines(text):
        if _UNDECODABLE.search(line):
            yield number, _visible(line), _not_utf8(line)
        else:
            yield number, line, payload


class _Undecodable(str):
    """Text decoded with some bytes that are not UTF-8 kept as lone surrogates (surrogateescape)."""


_UNDECODABLE = re.compile("[\udc80-\udcff]")


def _visible(text: str) -> str:
    """Text with undecodable bytes shown as \\xNN, so that it can be stored."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _not_utf8(text: str) -> Reject:
    where = _UNDECODABLE.search(text)
    byte = ord(where.group()) - 0xDC00
    return Reject(f"not UTF-8 text (byte 0x{byte:02X} at character {where.start() + 1} of the line)")


def read_text(data: bytes, gzipped: bool) -> str:
    """Decode a landing file's bytes, or raise UnreadableFile saying why.

    Bytes that are not UTF-8 do not make the file unreadable: `records` rejects the lines that
    hold them, and the other lines load.
    """
    if gzipped:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise UnreadableFile(f"not a readable gzip file ({exc})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _Undecodable(data.decode("utf-8-sig", "surrogateescape"))


__all__ = [
    "AMOUNT_DECIMALS",
    "AMOUNT_LIMIT",
    "EARLIEST",
    "LATEST",
    "TEXT_LIMITS",
    "FEEDS",
    "FEED_RULES",
    "Feed",
    "FeedContext",
    "Reject",
    "UnreadableFile",
    "copy_field",
    "copy_line",
    "read_text",
    "records",
]
