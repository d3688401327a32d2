"""Where marketing data comes from, one module per source (docs/sources.md).

- the native landing feeds (`marketing.ingest.parse`): touchpoints, conversions, ad_spend, fx_rates;
- `ga4`: GA4's BigQuery export rows, under `ga4/` in the landing zone;
- `segment`: Segment / RudderStack calls, under `segment/`;
- `orders`: conversions extracted from the production orders database.

The landing feeds load in the order of `FEEDS`: rates before the amounts that use them, and
the event sources last.
"""

from __future__ import annotations

from marketing.ingest.parse import FEED_RULES
from marketing.ingest.parse import FEEDS as NATIVE_FEEDS
from marketing.ingest.sources import ga4, segment

EVENT_FEEDS = {feed.name: feed for feed in (ga4.FEED, segment.FEED)}
FEEDS: tuple[str, ...] = (*NATIVE_FEEDS, *EVENT_FEEDS)
EXTENSIONS = {
    "touchpoints": (".jsonl", ".jsonl.gz"),
    "conversions": (".jsonl", ".jsonl.gz"),
    "ad_spend": (".csv", ".csv.gz"),
    "fx_rates": (".csv", ".csv.gz"),
    "ga4": (".jsonl", ".jsonl.gz"),
    "segment": (".jsonl", ".jsonl.gz"),
}


def feed_rules(name: str):
    """The line rules of a landing feed: a native `parse.Feed` or an `events.EventFeed`."""
    return EVENT_FEEDS.get(name) or FEED_RULES[name]


__all__ = ["EVENT_FEEDS", "EXTENSIONS", "FEEDS", "NATIVE_FEEDS", "feed_rules"]
