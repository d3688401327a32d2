"""What the event sources (GA4, Segment) share: their feed shape, and turning events into sessions.

An event source's file goes through the same loader as the native feeds (exactly once per
file version, one transaction, bad lines quarantined). Its merge differs: the events form
sessions, one touchpoint each, and the sessions a file can change are formed again from every
loaded event of their unit (a GA4 session id, a Segment device). Touchpoints that changed are
replaced and their persons queued for attribution, so any sequence of loads ends where a clean
load of the same files would (docs/sources.md).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from urllib.parse import parse_qs, urlsplit

from marketing.config import Settings
from marketing.sqlfiles import SqlFiles
from marketing.ingest.channels import ChannelClassifier
from marketing.ingest.parse import TEXT_LIMIT, URL_LIMIT, UTM_FIELDS, FeedContext, Reject, _amount, _currency, copy_line

SQL = SqlFiles(__file__)                 # ingest/sources/sql
NATIVE_SQL = SqlFiles(__file__, "../sql")  # ingest/sql: the native merge rules, reused


@dataclass(frozen=True)
class EventContext(FeedContext):
    """The line rules' context plus what an event source maps: conversion events, own domains."""

    conversion_events: Mapping[str, str] = field(default_factory=dict)
    own_domains: tuple[str, ...] = ()


@cache
def _classifier(settings: Settings) -> ChannelClassifier:
    return ChannelClassifier.load(settings.channel_rules_file, settings.own_domains)


@dataclass(frozen=True)
class Session:
    """One formed session before classification: what its touch is made from."""

    event_id: str
    device_id: str
    occurred_at: object
    anonymous_id: str | None
    user_id: str | None
    utm: tuple[str | None, ...]   # source, medium, campaign, term, content
    referrer: str | None          # None when internal (the page's own host)
    file_id: int
    line_number: int
    events: int


@dataclass(frozen=True)
class EventFeed:
    """A landing feed of collector events (the loader's Feed, plus how its events are merged)."""

    name: str                      # folder under LANDING_URL and raw table (`raw.<name>`)
    columns: tuple[str, ...]       # raw table columns after file_id, line_number
    row: Callable[[str, EventContext], tuple]
    conversion_setting: str        # Settings field with the event → conversion type map
    units_sql: str                 # creates temp tables `affected` and `previous_sessions`
    sessions_sql: str              # selects the sessions of `affected`, see `form_sessions`
    session: Callable[[tuple], Session]
    csv_header: None = None

    def context(self, base: FeedContext, settings: Settings) -> EventContext:
        return EventContext(
            base.classifier, base.reporting_currency, base.tz, base.fx_known,
            conversion_events=dict(getattr(settings, self.conversion_setting)),
            own_domains=settings.own_domains,
        )

    def merge(self, cur, params: dict, settings: Settings, *, restated: bool, loaded: bool) -> None:
        """Merge one committed file version by the native rules (README, "Which value wins"):
        identity links, conversions, then its sessions.

        A new path: its conversions beat those of files ranked after it, its links are compared
        with the known ones. A restated path (`params` holds previous_file_id, whose version is
        no longer live): the conversions and links of both versions are taken again from the live
        files. Either way identities_rekey.sql then moves the events of relinked devices.
        """
        if not (restated or loaded):
            return
        if loaded:  # the file's conversion events as raw.conversions rows (same file and line)
            cur.execute(SQL("event_conversions"), {**params, "feed": self.name})
        if restated:
            cur.execute(NATIVE_SQL("identities_restate"), params)
            cur.execute(NATIVE_SQL("identities_rekey"), params)
            cur.execute(NATIVE_SQL("conversions_restate"), params)
        else:
            cur.execute("select rank from ops.live_files where file_id = %(file_id)s", params)
            params = {**params, "rank": cur.fetchone()[0]}
            cur.execute(NATIVE_SQL("identities"), {**params, "feed": self.name})
            cur.execute(NATIVE_SQL("identities_rekey"), params)
            cur.execute(NATIVE_SQL("conversions_beaten"), params)
            cur.execute(NATIVE_SQL("conversions"), params)
        reform_sessions(cur, self, params, settings)


def reform_sessions(cur, feed: EventFeed, params: dict, settings: Settings) -> None:
    """Form again the sessions the file version can change and replace the touchpoints that moved."""
    params = {**params, "timeout_minutes": settings.session_timeout_minutes, "source": feed.name}
    cur.execute(SQL(feed.units_sql), params)
    cur.execute(SQL(feed.sessions_sql), params)
    classifier = _classifier(settings)
    lines = []
    for record in cur:
        session = feed.session(record)
        touch = classifier.classify(session.utm[0], session.utm[1], session.utm[2], session.referrer)
        lines.append(copy_line((
            session.event_id, session.device_id, session.occurred_at.isoformat(), session.anonymous_id,
            session.user_id, touch.source, touch.medium, touch.campaign, touch.channel,
            str(session.file_id), str(session.line_number), str(session.events),
        )) + "\n")
    cur.execute(SQL("sessions_formed"))
    cur.copy_expert("copy formed from stdin", io.StringIO("".join(lines)), size=1 << 20)
    cur.execute(SQL("sessions_merge"), params)


# ---- shared line rules ----------------------------------------------------------------------

def host(url: str | None) -> str | None:
    """A URL's host without `www.`, lowercased (None when there is none)."""
    if not url:
        return None
    try:
        name = urlsplit(url if "://" in url else "//" + url).hostname
    except ValueError:
        return None
    return name.removeprefix("www.") if name else None


def is_external(referrer: str | None, page_url: str | None, own_domains: Iterable[str]) -> bool:
    """A referrer on another site than the page's own host and the site's own domains."""
    ref = host(referrer)
    if ref is None:
        return False
    page = host(page_url)
    if page is not None and (ref == page or ref.endswith("." + page) or page.endswith("." + ref)):
        return False
    return not any(ref == d.removeprefix("www.") or ref.endswith("." + d.removeprefix("www.")) for d in own_domains)


def utm_of(url: str | None) -> tuple[str | None, ...]:
    """The five UTM parameters of a URL's query string (None where absent)."""
    if not url or "utm_" not in url:
        return (None,) * 5
    try:
        query = parse_qs(urlsplit(url).query)
    except ValueError:
        return (None,) * 5
    return tuple((query.get(name) or [None])[0] or None for name in UTM_FIELDS)


def checked_utm(url: str | None) -> tuple[str | None, ...]:
    """utm_of for a line rule: a UTM value longer than the native limit (README, "Bad input")
    rejects the line, as it does for a native touchpoint's page_url."""
    utm = utm_of(url)
    if url is not None and len(url) > TEXT_LIMIT:  # a shorter URL cannot hold a longer value
        for name, value in zip(UTM_FIELDS, utm):
            if value is not None and len(value) > TEXT_LIMIT:
                raise Reject(f"{name} longer than {TEXT_LIMIT} characters ({len(value)})")
    return utm


def text_or_none(value: object, name: str, limit: int = TEXT_LIMIT) -> str | None:
    """A string field (numbers become text); None when absent or empty. Past `limit` characters
    (the native limits of README, "Bad input": 200, URLs 8,192) the line is rejected."""
    if value is None or value == "":
        return None
    if type(value) is str:
        text = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        text = str(value)
    else:
        raise Reject(f"{name} must be a string, got {type(value).__name__}")
    if len(text) > limit:
        raise Reject(f"{name} longer than {limit} characters ({len(text)})")
    return text


def conversion(conversion_id: str, kind: str, revenue: object, currency: object, occurred_at, ctx: FeedContext) -> tuple:
    """The conversion columns of a mapped event, by the rules of contract 1.2 (revenue needs a currency and a rate)."""
    amount = "0" if revenue is None or revenue == "" else _amount(revenue, "revenue")  # exact decimal text
    code = None if currency is None or currency == "" else _currency(currency)
    if Decimal(amount) != 0:
        if code is None:
            raise Reject("currency is required when revenue is not 0")
        ctx.require_rate(occurred_at.astimezone(ctx.tz).date(), code)
    return conversion_id, kind, amount, code


def mapping(value: object, name: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Reject(f"{name} must be an object, got {type(value).__name__}")
    return value


__all__ = ["URL_LIMIT", "EventContext", "EventFeed", "Session", "checked_utm", "conversion", "host", "is_external", "reform_sessions", "utm_of"]
