"""Segment / RudderStack: event objects one per line, as their object-storage destinations write them, `segment/` in the landing zone.

Sessions are formed per device (`anonymousId`, or `userId` when there is none) from page and
screen calls: a new one after more than SESSION_TIMEOUT_MINUTES without a call, at a new
campaign, or at a referrer from another site. Mapped track events (SEGMENT_CONVERSION_EVENTS)
are conversions; any call with both ids links them. Rules: docs/sources.md.
"""

from __future__ import annotations

from marketing.ingest.parse import Reject, _exact_json, _json_object, _timestamp
from marketing.ingest.sources.events import (
    EventContext,
    EventFeed,
    URL_LIMIT,
    Session,
    checked_utm,
    conversion,
    is_external,
    mapping,
    text_or_none,
)

TYPES = frozenset({"page", "screen", "track", "identify", "group", "alias"})  # group, alias: kept, not used
CAMPAIGN = ("source", "medium", "name", "term", "content")
ORDER_COMPLETED = "Order Completed"
COLUMNS = (
    "message_id", "type", "event", "occurred_at", "device_id", "anonymous_id", "user_id",
    "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "page_url", "referrer",
    "external_referrer", "conversion_id", "conversion_type", "revenue", "currency",
)
USER_DEVICE = "userId:"  # device key of calls that carry only a userId


def segment_row(line: str, ctx: EventContext) -> tuple:
    """One call → raw.segment columns (after file_id, line_number)."""
    obj = _json_object(line)
    kind = obj.get("type")
    if kind not in TYPES:
        raise Reject(f"not a Segment call: type must be page, screen, track or identify, got {kind!r}")
    message_id = text_or_none(obj.get("messageId"), "messageId")
    if message_id is None:
        raise Reject("missing required field messageId")
    occurred_at = _timestamp(obj, "timestamp")
    anonymous_id = text_or_none(obj.get("anonymousId"), "anonymousId")
    user_id = text_or_none(obj.get("userId"), "userId")
    if anonymous_id is None and user_id is None:
        raise Reject("needs anonymousId or userId (both missing)")
    device_id = anonymous_id if anonymous_id is not None else USER_DEVICE + user_id
    context = mapping(obj.get("context"), "context")
    properties = mapping(obj.get("properties"), "properties")

    utm, page_url, referrer, external = (None,) * 5, None, None, False
    if kind in ("page", "screen"):
        page = mapping(context.get("page"), "context.page")
        page_url = text_or_none(page.get("url") or properties.get("url"), "url", URL_LIMIT)
        referrer = text_or_none(page.get("referrer") or properties.get("referrer"), "referrer", URL_LIMIT)
        campaign = mapping(context.get("campaign"), "context.campaign")
        utm = tuple(text_or_none(campaign.get(name), f"context.campaign.{name}") for name in CAMPAIGN)
        if utm == (None,) * 5:
            utm = checked_utm(page_url)
        external = is_external(referrer, page_url, ctx.own_domains)

    event, converted = None, (None, None, None, None)
    if kind == "track":
        event = text_or_none(obj.get("event"), "event")
        if event is None:
            raise Reject("a track call needs its event name")
        conversion_type = ctx.conversion_events.get(event)
        if conversion_type is not None:
            # amounts exact from the JSON text, never through a float (README, "Bad input")
            properties = mapping(_exact_json(line, "number").get("properties"), "properties")
            if event == ORDER_COMPLETED:
                conversion_id = text_or_none(properties.get("order_id"), "properties.order_id") or message_id
                revenue = properties.get("revenue")
                if revenue is None or revenue == "":
                    revenue = properties.get("total")
            else:
                conversion_id, revenue = message_id, properties.get("value")
            converted = conversion(conversion_id, conversion_type, revenue, properties.get("currency"),
                                   occurred_at, ctx)
    return (
        message_id, kind, event, occurred_at.isoformat(), device_id, anonymous_id, user_id, *utm,
        page_url, referrer, "t" if external else "f", *converted,
    )


def segment_session(record: tuple) -> Session:
    """A formed session (a row of segment_sessions.sql) → what its touch is made from."""
    (message_id, device_id, occurred_at, anonymous_id, user_id, source, medium, campaign, term, content,
     referrer, external, file_id, line_number, events) = record
    return Session(f"seg:{message_id}", device_id, occurred_at, anonymous_id, user_id,
                   (source, medium, campaign, term, content), referrer if external else None,
                   file_id, line_number, events)


FEED = EventFeed(
    name="segment",
    columns=COLUMNS,
    row=segment_row,
    conversion_setting="segment_conversion_events",
    units_sql="segment_units",
    sessions_sql="segment_sessions",
    session=segment_session,
)
