"""GA4: rows of the BigQuery export (`events_YYYYMMDD`) as newline-delimited JSON, `ga4/` in the landing zone.

One touchpoint per (user_pseudo_id, ga_session_id), at the session's first event; its traffic
source from the first event that carries `collected_traffic_source.manual_*` (a gclid alone
means google / cpc), failing that the UTM parameters of the first event's page_location.
GA's own attribution (`traffic_source`, `session_traffic_source_last_click`) is never used.
Mapped events (GA4_CONVERSION_EVENTS) are conversions. Rules: docs/sources.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from marketing.ingest.parse import EARLIEST, LATEST, TEXT_LIMIT, URL_LIMIT, Reject, _exact_json, _json_object
from marketing.ingest.sources.events import (
    EventContext,
    EventFeed,
    Session,
    checked_utm,
    conversion,
    is_external,
    text_or_none,
    utm_of,
)

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MANUAL = ("manual_source", "manual_medium", "manual_campaign_name", "manual_term", "manual_content")
COLUMNS = (
    "event_name", "occurred_at", "event_key", "anonymous_id", "user_id", "ga_session_id",
    "manual_source", "manual_medium", "manual_campaign", "manual_term", "manual_content", "gclid",
    "page_location", "page_referrer", "conversion_id", "conversion_type", "revenue", "currency",
)
_PARAMS_WANTED = frozenset({"ga_session_id", "page_location", "page_referrer", "currency", "value", "transaction_id"})


def _int64(value: object, name: str) -> int:
    """An INT64 of the export: a JSON number or a string of digits."""
    if isinstance(value, bool):
        raise Reject(f"{name} is not an integer: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    elif isinstance(value, float) and value.is_integer():
        return int(value)
    raise Reject(f"{name} is not an integer: {value!r}")


def _string(value: object, name: str, limit: int = TEXT_LIMIT) -> str | None:
    return text_or_none(value, name, limit)


def _params(items: object) -> dict[str, object]:
    """The event_params this platform reads, as key → the one value that is set."""
    if items is None:
        return {}
    if not isinstance(items, list):
        raise Reject(f"event_params must be an array, got {type(items).__name__}")
    found: dict[str, object] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise Reject("event_params holds an entry that is not {key, value}")
        key = item["key"]
        if key not in _PARAMS_WANTED:
            continue
        value = item.get("value")
        if not isinstance(value, dict):
            raise Reject(f"event_params {key}: value must be an object")
        for kind in ("string_value", "int_value", "double_value", "float_value"):
            if value.get(kind) is not None:
                found[key] = value[kind]
                break
    return found


def ga4_row(line: str, ctx: EventContext) -> tuple:
    """One export row → raw.ga4 columns (after file_id, line_number)."""
    obj = _json_object(line)
    name = obj.get("event_name")
    if not isinstance(name, str) or not name:
        raise Reject("not a GA4 export row: missing event_name")
    if len(name) > TEXT_LIMIT:
        raise Reject(f"event_name longer than {TEXT_LIMIT} characters ({len(name)})")
    if obj.get("event_timestamp") in (None, ""):
        raise Reject("not a GA4 export row: missing event_timestamp")
    micros = _int64(obj["event_timestamp"], "event_timestamp")
    try:
        occurred_at = EPOCH + timedelta(microseconds=micros)
    except OverflowError:
        raise Reject(f"event_timestamp is out of range: {micros}") from None
    if not EARLIEST <= occurred_at < LATEST:  # the native range (README, "Bad input")
        raise Reject(f"event_timestamp is out of range: {micros} (from {EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d}, UTC, end excluded)")
    pseudo = _string(obj.get("user_pseudo_id"), "user_pseudo_id")
    if pseudo is None:
        raise Reject("missing required field user_pseudo_id")
    user_id = _string(obj.get("user_id"), "user_id")
    params = _params(obj.get("event_params"))
    session = params.get("ga_session_id")
    session_id = None if session in (None, "") else str(_int64(session, "ga_session_id"))
    page_location = _string(params.get("page_location"), "page_location", URL_LIMIT)
    page_referrer = _string(params.get("page_referrer"), "page_referrer", URL_LIMIT)
    checked_utm(page_location)  # the session reads them from here: too long a value rejects the line

    traffic = obj.get("collected_traffic_source")
    if traffic is None:
        manual = (None,) * 5
        gclid = None
    elif isinstance(traffic, dict):
        manual = tuple(_string(traffic.get(field), f"collected_traffic_source.{field}") for field in MANUAL)
        gclid = _string(traffic.get("gclid"), "collected_traffic_source.gclid")
    else:
        raise Reject(f"collected_traffic_source must be an object, got {type(traffic).__name__}")

    event_key = f"{pseudo}:{micros}:{name}"
    converted = (None, None, None, None)
    kind = ctx.conversion_events.get(name)
    if kind is not None:
        # amounts exact from the JSON text, never through a float (README, "Bad input")
        obj = _exact_json(line, "number")
        params = _params(obj.get("event_params"))
        ecommerce = obj.get("ecommerce")
        if ecommerce is not None and not isinstance(ecommerce, dict):
            raise Reject(f"ecommerce must be an object, got {type(ecommerce).__name__}")
        ecommerce = ecommerce or {}
        conversion_id, revenue = f"ga4:{event_key}", params.get("value")
        if name == "purchase":
            # a repeated transaction id is the same purchase (the earliest-ranked live file wins); "(not set)" is none
            transaction = _string(ecommerce.get("transaction_id") or params.get("transaction_id"), "transaction_id")
            if transaction and transaction != "(not set)":
                conversion_id = transaction
            if ecommerce.get("purchase_revenue") is not None:
                revenue = ecommerce["purchase_revenue"]
        converted = conversion(conversion_id, kind, revenue, params.get("currency"), occurred_at, ctx)
    return (
        name, occurred_at.isoformat(), event_key, pseudo, user_id, session_id, *manual, gclid,
        page_location, page_referrer, *converted,
    )


def ga4_session(record: tuple) -> Session:
    """A formed session (a row of ga4_sessions.sql) → what its touch is made from."""
    (pseudo, session_id, occurred_at, page_location, page_referrer, file_id, line_number,
     source, medium, campaign, term, content, gclid, user_id, events) = record
    if source is not None:
        utm = (source, medium, campaign, term, content)
    elif gclid is not None:
        utm = ("google", "cpc", campaign, term, content)
    elif medium is not None or campaign is not None or term is not None or content is not None:
        utm = (None, medium, campaign, term, content)
    else:
        utm = utm_of(page_location)
    referrer = page_referrer if is_external(page_referrer, page_location, ()) else None
    return Session(f"ga4:{pseudo}:{session_id}", pseudo, occurred_at, pseudo, user_id, utm, referrer,
                   file_id, line_number, events)


FEED = EventFeed(
    name="ga4",
    columns=COLUMNS,
    row=ga4_row,
    conversion_setting="ga4_conversion_events",
    units_sql="ga4_units",
    sessions_sql="ga4_sessions",
    session=ga4_session,
)
