"""The sample as the collectors and the orders database deliver it (docs/sources.md, rule 12).

The sample generator renders its visits and conversions as native landing lines; this module
turns those same lines into GA4 export rows (several events per session), Segment calls
(several page calls per visit) or rows of an `orders` table, so that every source carries the
same sample and gives the same channel totals. A line that breaks the native rules is passed
on as it is: in a GA4 or Segment folder it is a line of another shape, quarantined there too.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import orjson

SOURCES = ("native", "ga4", "segment", "orders")
# The sample's conversion types as each collector names them; the demo and the tests set these.
GA4_EVENTS = {"purchase": "purchase", "signup": "sign_up", "app_install": "first_open", "refund": "refund",
              "view_item": "view_item", "add_to_cart": "add_to_cart", "begin_checkout": "begin_checkout"}
SEGMENT_EVENTS = {"purchase": "Order Completed", "signup": "Signed Up", "app_install": "Application Installed",
                  "refund": "Order Refunded", "view_item": "Product Viewed", "add_to_cart": "Product Added",
                  "begin_checkout": "Checkout Started"}
GA4_CONVERSION_EVENTS = ",".join(f"{event}={kind}" for kind, event in GA4_EVENTS.items())
SEGMENT_CONVERSION_EVENTS = ",".join(f"{event}={kind}" for kind, event in SEGMENT_EVENTS.items())
PAGE_STEP = 40  # seconds between the page views of a visit
UTM = ("source", "medium", "campaign", "term", "content")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

def _record(line: str, id_field: str, type_field: str | None = None) -> tuple[dict, datetime] | None:
    """The native line as a dict with its instant, or None when it breaks a native rule of shape."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get(id_field), str) or not obj[id_field]:
        return None
    if not (obj.get("anonymous_id") or obj.get("user_id")):
        return None
    if type_field is not None and not obj.get(type_field):
        return None
    try:
        moment = datetime.fromisoformat(obj.get("occurred_at") or "")
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return obj, moment


def _micros(moment: datetime) -> int:
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _session_id(event_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(event_id.encode(), digest_size=4).digest(), "big")


def _pages(obj: dict) -> list[str]:
    """The further pages of a visit: one to two, on the site the visit landed on."""
    page_url = obj.get("page_url") or "https://shop.example.com/"
    parts = urlsplit(page_url)
    site = f"{parts.scheme}://{parts.netloc}"
    return [f"{site}/p/{1000 + k}" for k in range(1 + len(obj["event_id"]) % 2 + _session_id(obj["event_id"]) % 2)]


def _param(key: str, value) -> dict:
    if isinstance(value, int) and not isinstance(value, bool):
        return {"key": key, "value": {"int_value": str(value)}}  # INT64 as the export writes it
    if isinstance(value, float):
        return {"key": key, "value": {"double_value": value}}
    return {"key": key, "value": {"string_value": value}}


def _ga4_row(name: str, moment_micros: int, pseudo: str, user_id, params: dict, **more) -> bytes:
    row = {
        "event_date": datetime.fromtimestamp(moment_micros // 1_000_000, timezone.utc).strftime("%Y%m%d"),
        "event_timestamp": str(moment_micros),
        "event_name": name,
        "event_params": [_param(k, v) for k, v in params.items() if v is not None],
        "user_pseudo_id": pseudo,
        "user_id": user_id,
        "platform": "WEB",
        **more,
    }
    return orjson.dumps(row)


def ga4_visit(line: str) -> list[str]:
    """A native touchpoint line → the GA4 export rows of its session."""
    found = _record(line, "event_id")
    if found is None:
        return [line]
    obj, moment = found
    pseudo = obj.get("anonymous_id") or f"srv_{obj['user_id']}"  # server-side hits get a stream id
    user_id, start = obj.get("user_id"), _micros(moment)
    session = _session_id(obj["event_id"])
    landing = {"page_location": obj.get("page_url"), "page_referrer": obj.get("referrer"), "ga_session_id": session,
               "ga_session_number": 1 + session % 7}
    manual = {f"manual_{'campaign_name' if k == 'campaign' else k}": obj[f"utm_{k}"] for k in UTM
              if obj.get(f"utm_{k}")}
    traffic = {"collected_traffic_source": manual} if manual else {}
    rows = [_ga4_row("session_start", start, pseudo, user_id, landing, **traffic),
            _ga4_row("page_view", start, pseudo, user_id, landing, **traffic)]
    previous = obj.get("page_url")
    for k, page in enumerate(_pages(obj), start=1):
        rows.append(_ga4_row("page_view", start + k * PAGE_STEP * 1_000_000, pseudo, user_id,
                             {"page_location": page, "page_referrer": previous, "ga_session_id": session}))
        previous = page
    return [row.decode() for row in rows]


def ga4_conversion(line: str) -> list[str]:
    """A native conversion line → its GA4 conversion event."""
    found = _record(line, "conversion_id", "conversion_type")
    if found is None:
        return [line]
    obj, moment = found
    kind = obj["conversion_type"]
    pseudo = obj.get("anonymous_id") or f"srv_{obj['user_id']}"
    params = {"currency": obj.get("currency")}
    more = {}
    if kind == "purchase":
        more["ecommerce"] = {"transaction_id": obj["conversion_id"], "purchase_revenue": obj.get("revenue")}
    else:
        params["value"] = obj.get("revenue")
    return [_ga4_row(GA4_EVENTS.get(kind, kind), _micros(moment), pseudo, obj.get("user_id"), params, **more).decode()]


def _segment_call(kind: str, message_id: str, timestamp: str, obj: dict, **more) -> str:
    call = {"type": kind, "messageId": message_id, "timestamp": timestamp}
    if obj.get("anonymous_id"):
        call["anonymousId"] = obj["anonymous_id"]
    if obj.get("user_id"):
        call["userId"] = obj["user_id"]
    call.update(more)
    return orjson.dumps(call).decode()


def segment_visit(line: str) -> list[str]:
    """A native touchpoint line → the Segment page calls of its visit."""
    found = _record(line, "event_id")
    if found is None:
        return [line]
    obj, moment = found
    campaign = {("name" if k == "campaign" else k): obj[f"utm_{k}"] for k in UTM if obj.get(f"utm_{k}")}
    context = {"page": {"url": obj.get("page_url"), "referrer": obj.get("referrer")},
               "library": {"name": "analytics.js", "version": "2.11.1"}}
    if campaign:
        context["campaign"] = campaign
    calls = [_segment_call("page", obj["event_id"], obj["occurred_at"], obj, context=context)]
    previous = obj.get("page_url")
    for k, page in enumerate(_pages(obj), start=1):
        at = (moment + timedelta(seconds=k * PAGE_STEP)).astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
        calls.append(_segment_call("page", f"{obj['event_id']}.{k}", at, obj,
                                   context={"page": {"url": page, "referrer": previous}}))
        previous = page
    return calls


def segment_conversion(line: str) -> list[str]:
    """A native conversion line → its Segment track call."""
    found = _record(line, "conversion_id", "conversion_type")
    if found is None:
        return [line]
    obj, _ = found
    kind = obj["conversion_type"]
    if kind == "purchase":
        properties = {"order_id": obj["conversion_id"], "revenue": obj.get("revenue"), "currency": obj.get("currency")}
    else:
        properties = {"value": obj.get("revenue"), "currency": obj.get("currency")}
    return [_segment_call("track", obj["conversion_id"], obj["occurred_at"], obj,
                          event=SEGMENT_EVENTS.get(kind, kind), properties=properties)]


def order_row(line: str) -> tuple | None:
    """A native conversion line → a row of the orders table (None when no table could hold it)."""
    found = _record(line, "conversion_id", "conversion_type")
    if found is None:
        return None
    obj, moment = found
    revenue = obj.get("revenue")
    if revenue is not None and not isinstance(revenue, (int, float)):
        return None
    return (obj["conversion_id"], moment.isoformat(), obj.get("user_id"), obj.get("anonymous_id"),
            obj["conversion_type"], revenue, obj.get("currency"), moment.isoformat())


CONVERT = {("ga4", "touchpoints"): ga4_visit, ("ga4", "conversions"): ga4_conversion,
           ("segment", "touchpoints"): segment_visit, ("segment", "conversions"): segment_conversion}


class SourceOutput:
    """Writes the sample's visits and conversions the way a source delivers them; the rest as is."""

    def __init__(self, out, source: str) -> None:
        if source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
        self.out, self.source = out, source
        self.orders: list[tuple] = []

    def _target(self, feed: str) -> str | None:
        if self.source == "orders" and feed == "conversions":
            return None
        return self.source if (self.source, feed) in CONVERT else feed

    def write(self, feed: str, folder: int, name: str, text: str) -> None:
        target = self._target(feed)
        if target is None:
            self.orders += [row for row in map(order_row, text.splitlines()) if row is not None]
        elif target == feed:
            self.out.write(feed, folder, name, text)
        else:
            convert = CONVERT[(self.source, feed)]
            lines = [converted for line in text.splitlines() if line for converted in convert(line)]
            self.out.write(target, folder, f"{feed}-{name}", "\n".join(lines) + "\n")

    def write_raw(self, feed: str, folder: int, name: str, data: bytes, compress: bool = False) -> None:
        target = self._target(feed)
        if target is not None:  # the unreadable file stays unreadable wherever it lands
            self.out.write_raw(target, folder, name if target == feed else f"{feed}-{name}", data, compress)


def load_orders(source_url: str, rows: list[tuple]) -> int:
    """Put the sample's conversions into table `orders` of the source database (created if needed)."""
    import psycopg2
    from psycopg2.extras import execute_values

    from marketing.sqlfiles import SqlFiles

    conn = psycopg2.connect(source_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(SqlFiles(__file__)("orders_table"))
            execute_values(cur, "insert into orders (conversion_id, occurred_at, user_id, anonymous_id,"
                                " conversion_type, revenue, currency, updated_at) values %s"
                                " on conflict (conversion_id) do nothing", rows, page_size=5000)
            inserted = cur.rowcount
    finally:
        conn.close()
    return inserted


def demo_env(source: str, server_url: str) -> dict[str, str]:
    """What `make demo SOURCE=<source>` runs with: a landing zone and a warehouse database of its own
    (so the totals can be set beside the native demo's), the sample's conversion event names,
    and for `orders` a source database on the same server."""
    if source == "native":
        return {}
    from marketing.config import PROJECT_ROOT
    from marketing.warehouse import connect, with_database

    def database(name: str) -> str:
        admin = connect(server_url)
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("select 1 from pg_database where datname = %s", (name,))
            if cur.fetchone() is None:
                cur.execute(f'create database "{name}"')
        admin.close()
        return with_database(server_url, name)

    env = {
        "LANDING_URL": (PROJECT_ROOT / "data" / f"landing-{source}").as_uri(),
        "WAREHOUSE_URL": database(f"marketing_demo_{source}"),
        "GA4_CONVERSION_EVENTS": GA4_CONVERSION_EVENTS,
        "SEGMENT_CONVERSION_EVENTS": SEGMENT_CONVERSION_EVENTS,
    }
    if source == "orders":
        env["ORDERS_SOURCE_URL"] = database("orders_demo")
    return env
