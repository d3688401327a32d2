"""Records of the collector sources, written the way their exports deliver them."""

from __future__ import annotations

from datetime import datetime


def micros(at: str) -> int:
    """An RFC 3339 timestamp as GA4's event_timestamp (microseconds since the epoch)."""
    moment = datetime.fromisoformat(at)
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def ga4_event(name: str, at: str, pseudo: str = "p1", session: int | str | None = 1001, *, user_id=None,
              page: str | None = "https://shop.example.com/", referrer: str | None = None, manual: dict | None = None,
              gclid: str | None = None, params: dict | None = None, ecommerce: dict | None = None,
              int64_as_string: bool = True) -> dict:
    """One row of the GA4 BigQuery export (`events_YYYYMMDD`) as its JSON export writes it."""
    def value(v):
        if isinstance(v, bool) or v is None:
            raise ValueError(v)
        if isinstance(v, int):
            return {"int_value": str(v) if int64_as_string else v}
        if isinstance(v, float):
            return {"double_value": v}
        return {"string_value": v}

    event_params = {"page_location": page, "page_referrer": referrer, "ga_session_id": session,
                    "engagement_time_msec": 100, **(params or {})}
    row = {
        "event_date": at[:10].replace("-", ""),
        "event_timestamp": str(micros(at)) if int64_as_string else micros(at),
        "event_name": name,
        "event_params": [{"key": k, "value": value(v)} for k, v in event_params.items() if v is not None],
        "user_pseudo_id": pseudo,
        "user_id": user_id,
        "traffic_source": {"name": "(direct)", "medium": "(none)", "source": "(direct)"},
        "session_traffic_source_last_click": {"manual_campaign": {"source": "bing", "medium": "cpc"}},
        "platform": "WEB",
    }
    if manual is not None or gclid is not None:
        row["collected_traffic_source"] = {**{f"manual_{k}": v for k, v in (manual or {}).items()}, "gclid": gclid}
    if ecommerce is not None:
        row["ecommerce"] = ecommerce
    return row


def segment_call(kind: str, message_id: str, at: str, anonymous_id: str | None = "d1", *, user_id=None,
                 url: str | None = "https://shop.example.com/", referrer: str | None = None,
                 campaign: dict | None = None, event: str | None = None, properties: dict | None = None) -> dict:
    """One Segment/RudderStack call as its object-storage destination writes it."""
    call = {"type": kind, "messageId": message_id, "timestamp": at, "anonymousId": anonymous_id, "userId": user_id,
            "context": {"library": {"name": "analytics.js"}}}
    if kind in ("page", "screen"):
        call["context"]["page"] = {"url": url, "referrer": referrer}
        if campaign:
            call["context"]["campaign"] = campaign
    if event is not None:
        call["event"] = event
    if properties is not None:
        call["properties"] = properties
    return call


CORE_QUERIES = {
    "touchpoints": "select event_id, occurred_at, person_key, anonymous_id, user_id, source, medium, campaign, channel"
                   " from core.touchpoints order by event_id",
    "conversions": "select conversion_id, occurred_at, person_key, anonymous_id, user_id, conversion_type, revenue,"
                   " revenue_original, currency from core.conversions order by conversion_id",
    "identities": "select anonymous_id, user_id, linked_at from core.identities order by anonymous_id",
    "sessions": "select source, device_id, event_id, started_at, events from core.sessions order by event_id",
}


def core(db) -> dict[str, list[tuple]]:
    """What core holds, without the load bookkeeping (file ids differ between load orders)."""
    out = {}
    with db.cursor() as cur:
        for name, query in CORE_QUERIES.items():
            cur.execute(query)
            out[name] = cur.fetchall()
    db.commit()
    return out
