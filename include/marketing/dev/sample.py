"""Seeded, deterministic sample data for the landing zone (docs/contract.md, section 1).

`generate` writes touchpoints, conversions, ad_spend and fx_rates files under a landing root in
the exact layout of the contract, with the messiness real feeds have: late files, re-sent
events, gzip files, mixed UTC offsets, utm values only inside page_url, unknown extra fields,
and bad lines of every kind of docs/contract.md section 1.5 (plus one unreadable gzip file).

Everything is drawn from `numpy.random.default_rng(seed)` streams in a fixed order and no value
depends on the clock (except the default `end_date`) or on dict/set order, so the same
arguments give byte-identical files. Events are drawn as numpy arrays; only the final step of
turning rows into text works line by line (one f-string per line, the fastest way in Python).
"""

from __future__ import annotations

import gzip
import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import orjson

__all__ = ["FeedCounts", "SampleSummary", "TRAFFIC", "Traffic", "UNKNOWN_CURRENCY", "TOUCHPOINT_BAD_KINDS", "CONVERSION_BAD_KINDS",
           "AD_SPEND_BAD_KINDS", "generate"]

DAY = 86_400  # seconds
SITE = "https://shop.example.com"
_ID_MASK = (1 << 40) - 1  # ids are 10 hex digits


# ---- the catalogue: who comes from where, how well they convert, what they cost ----------

@dataclass(frozen=True)
class Traffic:
    """One way visitors arrive. `source`/`medium` empty = the touch carries no utm at all."""

    channel: str                  # GA4 channel these touches classify into (docs and tests)
    source: str
    medium: str
    campaigns: tuple[str, ...]    # the first campaign gets the most volume
    share: float                  # share of all touches
    cvr: float                    # chance that one touch of this kind leads to a conversion
    aov_usd: float                # mean order value in USD
    cpc_usd: float = 0.0          # cost per touch; > 0 makes it paid: ad_spend rows per day
    ctr: float = 0.0              # clicks per impression, for the ad_spend impressions column
    referrers: tuple[str, ...] = ()  # organic kinds: the referrer; paid kinds: platform referrer
    utm_extra: str = ""           # utm_term / utm_content fragment some touches carry
    spend_currency: str = "USD"   # currency of the ad account (USD when not generated)

    @property
    def paid(self) -> bool:
        return self.cpc_usd > 0


TRAFFIC: tuple[Traffic, ...] = (
    Traffic("Paid Search", "google", "cpc", ("brand", "generic_running", "competitor"), 0.150, 0.030,
            85.0, 0.95, 0.060, ("https://www.google.com/",), '"utm_term":"running shoes",'),
    Traffic("Cross-network", "google", "cpc", ("pmax_cross-network",), 0.020, 0.020, 80.0, 0.60, 0.020),
    Traffic("Paid Search", "bing", "cpc", ("brand", "generic_running"), 0.040, 0.028, 90.0, 0.70, 0.050,
            ("https://www.bing.com/",), '"utm_term":"trail shoes",'),
    Traffic("Paid Social", "facebook", "paid_social", ("spring_sale", "retargeting", "lookalike_buyers"),
            0.120, 0.012, 65.0, 0.55, 0.012, ("https://m.facebook.com/", "https://l.facebook.com/"),
            '"utm_content":"carousel_a",', "EUR"),
    Traffic("Paid Social", "instagram", "paid_social", ("reels_creators", "stories_spring"), 0.070, 0.009,
            60.0, 0.48, 0.010, ("https://l.instagram.com/",), '"utm_content":"reel_15s",', "GBP"),
    Traffic("Paid Video", "youtube", "cpv", ("launch_video", "howto_series"), 0.040, 0.004, 95.0, 0.25,
            0.020, ("https://www.youtube.com/",), '"utm_content":"bumper_6s",'),
    Traffic("Display", "criteo", "display", ("retarget_cart", "prospecting"), 0.060, 0.006, 70.0, 0.35,
            0.004, (), '"utm_content":"banner_300x250",', "EUR"),
    Traffic("Paid Shopping", "amazon", "cpc", ("shoes_shopping", "bags_shopping"), 0.040, 0.035, 110.0,
            0.80, 0.030, ("https://www.amazon.com/",)),
    Traffic("Email", "newsletter", "email", ("weekly", "winback"), 0.060, 0.025, 75.0),
    Traffic("Affiliates", "partner", "affiliate", ("coupons", "reviews"), 0.030, 0.020, 70.0, 0.40, 0.020,
            ("https://coupons.example.net/",)),
    Traffic("Organic Search", "", "", ("",), 0.140, 0.020, 80.0,
            referrers=("https://www.google.com/", "https://www.bing.com/", "https://duckduckgo.com/")),
    Traffic("Organic Social", "", "", ("",), 0.050, 0.006, 60.0,
            referrers=("https://m.facebook.com/", "https://l.instagram.com/", "https://t.co/")),
    Traffic("Referral", "", "", ("",), 0.040, 0.012, 75.0,
            referrers=("https://blog.example.org/post", "https://news.example.net/best-running-shoes-2026",
                       "https://forum.runners.example/t/123")),
    Traffic("Direct", "", "", ("",), 0.140, 0.025, 85.0),
)

# USD per unit around 2025/26; other codes get a seeded rate.
_FX_BASE = {"EUR": 1.085, "GBP": 1.27, "JPY": 0.0067, "CAD": 0.73, "AUD": 0.66, "CHF": 1.13,
            "SEK": 0.095, "NOK": 0.093, "DKK": 0.145, "CNY": 0.138, "INR": 0.012, "BRL": 0.19,
            "MXN": 0.058, "KRW": 0.00073}
_ZERO_DECIMAL = frozenset({"JPY", "KRW", "VND", "CLP", "ISK"})
_CURRENCY_POPULARITY = {"USD": 1.0, "EUR": 0.35, "GBP": 0.2, "JPY": 0.1}  # others: 0.08

# Person time zones: (offset minutes, RFC 3339 suffix, share). Mostly Z; "+00:00" is the same
# instant written the other legal way.
_ZONES = ((0, "Z", 0.82), (0, "+00:00", 0.03), (540, "+09:00", 0.07), (-300, "-05:00", 0.06),
          (330, "+05:30", 0.02))
_JST = 2  # index of +09:00 in _ZONES: these people mostly pay in JPY

# Share of visits per local hour: quiet nights, lunch bump, evening peak.
_HOURS = np.array([1.0, 0.6, 0.4, 0.3, 0.3, 0.5, 1.0, 2.0, 3.0, 4.0, 4.5, 5.0,
                   5.5, 5.0, 4.5, 4.5, 4.8, 5.0, 5.5, 6.5, 7.0, 6.5, 4.5, 2.5])

_PAGES = ("/", "/p/1042", "/p/2210", "/p/3187", "/p/4415", "/c/running-shoes", "/c/bags", "/sale",
          "/blog/how-to-choose-running-shoes", "/cart")
_PAGE_P = (0.30, 0.12, 0.10, 0.08, 0.06, 0.12, 0.07, 0.07, 0.05, 0.03)

# Unknown extra fields some producers add (kept by the loader, never an error). The last entry
# marks a re-sent line: same event, delivered a second time by a retrying exporter.
_TOUCH_EXTRAS = ("", ',"screen":"1440x900"', ',"consent":{"ads":true,"analytics":true}',
                 ',"app_version":"4.12.0","platform":"ios"', ',"delivery_attempt":2')
_TOUCH_EXTRA_P = (0.97, 0.012, 0.010, 0.008)
_CONVERSION_EXTRAS = ("", ',"coupon":"SPRING10"', ',"items":2', ',"payment":{"method":"card"}',
                      ',"delivery_attempt":2')
_CONVERSION_EXTRA_P = (0.94, 0.03, 0.02, 0.01)

# How a utm-tagged touch presents its utm values.
_MODES = ("fields", "fields+referrer", "page_url only", "fields+term/content")
_MODE_P = (0.60, 0.20, 0.12, 0.08)

# Bad line kinds per feed (docs/contract.md, 1.5 Bad input); these names are the keys of `bad_by_reason`.
TOUCHPOINT_BAD_KINDS = ("not_json", "missing_event_id", "missing_occurred_at", "timestamp_without_offset",
                        "unparseable_timestamp", "no_identity")
CONVERSION_BAD_KINDS = ("not_json", "missing_conversion_id", "missing_occurred_at",
                        "missing_conversion_type", "timestamp_without_offset", "unparseable_timestamp",
                        "non_numeric_revenue", "revenue_without_currency", "unknown_currency",
                        "no_identity")
AD_SPEND_BAD_KINDS = ("non_numeric_spend", "bad_date", "missing_column")

UNKNOWN_CURRENCY = "XYZ"  # the code of the "currency with no fx rate" bad lines; reserved

_ROWS_PER_TOUCH_FILE = 100_000
_ROWS_PER_CONVERSION_FILE = 50_000
_SPEND_HEADER = "date,source,medium,campaign,spend,currency,impressions,clicks\n"
_FX_HEADER = "date,currency,rate\n"


# ---- results ------------------------------------------------------------------------------

@dataclass(frozen=True)
class FeedCounts:
    """What was written for one feed.

    `lines` counts data lines of the readable files (CSV header rows excluded), bad lines
    included; the good lines are `lines - bad_lines`. The unreadable file is counted in
    `files` and `unreadable_files` but its lines are not in `lines`.
    """

    files: int = 0
    lines: int = 0
    bad_lines: int = 0
    unreadable_files: int = 0
    late_files: int = 0           # files whose rows belong to an earlier day, or that arrive late
    resent_lines: int = 0         # lines repeating an event id delivered in an earlier file
    bad_by_reason: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SampleSummary:
    """Counts written per feed and where."""

    root: str
    start_date: date
    end_date: date
    touchpoints: FeedCounts
    conversions: FeedCounts
    ad_spend: FeedCounts
    fx_rates: FeedCounts

    @property
    def feeds(self) -> dict[str, FeedCounts]:
        return {"touchpoints": self.touchpoints, "conversions": self.conversions,
                "ad_spend": self.ad_spend, "fx_rates": self.fx_rates}

    def describe(self) -> str:
        """A few readable lines: the days written, then one line per feed."""
        days = (self.end_date - self.start_date).days + 1
        out = [f"sample data: {days} days, {self.start_date} to {self.end_date}, under {self.root}"]
        for name, c in self.feeds.items():
            line = f"  {name:<12} {c.files:>5,} files {c.lines:>11,} lines"
            if c.bad_lines or c.unreadable_files:
                line += f"  ({c.bad_lines:,} bad lines, {c.unreadable_files} unreadable file(s): quarantined on load)"
            out.append(line)
        return "\n".join(out)


# ---- public entry point ---------------------------------------------------------------------

def generate(
    landing_url: str,
    *,
    days: int = 60,
    end_date: date | None = None,
    touchpoints_per_day: int = 20_000,
    seed: int = 7,
    bad_line_rate: float = 0.002,
    currencies: Sequence[str] = ("USD", "EUR", "GBP", "JPY"),
    source: str = "native",
    orders_url: str | None = None,
) -> SampleSummary:
    """Write a landing zone of sample data under `landing_url` and return what was written.

    `landing_url` is any URL `ObjectStoragePath` understands (`file:///…`, `s3://…`) or a
    plain local path. The days run up to `end_date` inclusive (default: yesterday in UTC);
    about `touchpoints_per_day` touches are drawn per day (`days * touchpoints_per_day` in
    all, before re-sent duplicates and bad lines). `bad_line_rate` is the share of lines that
    break a rule of docs/contract.md section 1.5 (at least one of each kind when > 0); 0 writes clean data
    and no unreadable file. Same arguments → byte-identical files.

    `source` writes the same visits and conversions as a collector delivers them
    (`marketing.dev.sample_sources`): `ga4` export rows or `segment` calls (in those folders),
    or `orders`: the conversions go into table `orders` of the database at `orders_url`.
    """
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")
    if touchpoints_per_day < 1:
        raise ValueError(f"touchpoints_per_day must be >= 1, got {touchpoints_per_day}")
    if not 0 <= bad_line_rate <= 0.5:
        raise ValueError(f"bad_line_rate must be within [0, 0.5], got {bad_line_rate}")
    currencies = _check_currencies(currencies)
    end = end_date if end_date is not None else datetime.now(timezone.utc).date() - timedelta(days=1)
    cal = _Calendar(end - timedelta(days=days - 1), days)

    # Independent streams per part, so a change in one part does not reshuffle the others.
    r_fx, r_people, r_touch, r_conv, r_spend, r_files, r_bad, r_repeat = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8))
    combos = _Combos.build()
    fx = _fx_rates(r_fx, currencies, days)
    total = days * touchpoints_per_day
    people = _People.draw(r_people, max(10, total // 3), currencies)
    touches = _Touches.draw(r_touch, people, combos, total, days)
    repeats = _RepeatBuyers(r_repeat, combos)
    conversions = _Conversions.draw(r_conv, people, touches, combos, fx, currencies, days, repeats)
    touches = repeats.touches(touches)
    spend = _Spend.draw(r_spend, touches, combos, fx, currencies, days)

    from marketing.dev.sample_sources import SourceOutput, load_orders

    if source == "orders" and not orders_url:
        raise ValueError("the orders source needs the URL of the database to write table orders into")
    with _Output(_root(landing_url), cal) as native:
        out = native if source == "native" else SourceOutput(native, source)
        feeds = {
            "touchpoints": _write_touchpoints(out, r_files, r_bad, cal, people, touches, combos, bad_line_rate,
                                              seed),
            "conversions": _write_conversions(out, r_files, r_bad, cal, people, conversions, bad_line_rate, seed),
            "ad_spend": _write_ad_spend(out, r_bad, cal, spend, combos, currencies, bad_line_rate),
            "fx_rates": _write_fx_rates(out, cal, fx, currencies),
        }
    if source == "orders":
        load_orders(orders_url, out.orders)
    out = native
    return SampleSummary(root=str(out.root), start_date=cal.start, end_date=end, **feeds)


# ---- calendar and text tables ---------------------------------------------------------------

class _Calendar:
    """Day index ↔ date, and lookup tables that turn seconds into timestamp text fast."""

    def __init__(self, start: date, days: int) -> None:
        self.start, self.days = start, days
        # Local days run from -1 to `days` (offsets push a UTC instant over either edge).
        self.day_text = np.array([(start + timedelta(days=d)).isoformat() for d in range(-1, days + 1)],
                                 dtype=object)
        self.hms_text = np.array([f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(DAY)],
                                 dtype=object)

    def iso(self, d: int) -> str:
        return (self.start + timedelta(days=d)).isoformat()

    def timestamp_parts(self, utc_seconds: np.ndarray, zone: np.ndarray) -> tuple[list, list, list]:
        """Date text, time text and offset suffix of each instant in its person's local time."""
        offsets = np.array([z[0] * 60 for z in _ZONES], dtype=np.int64)
        suffixes = np.array([z[1] for z in _ZONES], dtype=object)
        local = utc_seconds + offsets[zone]
        return (self.day_text[local // DAY + 1].tolist(), self.hms_text[local % DAY].tolist(),
                suffixes[zone].tolist())


def _check_currencies(currencies: Iterable[str]) -> tuple[str, ...]:
    seen: list[str] = []
    for code in currencies:
        if not (isinstance(code, str) and len(code) == 3 and code.isalpha() and code.isupper()):
            raise ValueError(f"currency codes must be 3 upper-case letters, got {code!r}")
        if code == UNKNOWN_CURRENCY:
            raise ValueError(f"{UNKNOWN_CURRENCY} is reserved for the bad lines with an unknown currency")
        if code not in seen:
            seen.append(code)
    if not seen:
        raise ValueError("currencies must not be empty")
    return tuple(seen)


def _scrambled_hex(index: np.ndarray, multiplier: int) -> np.ndarray:
    """Unique, random-looking ids: odd multiplier then xor is a bijection modulo 2**40."""
    mixed = (index.astype(np.uint64) * np.uint64(multiplier)) ^ np.uint64(multiplier >> 3)
    return mixed & np.uint64(_ID_MASK)


# Odd multipliers, one per id space, so touch, conversion, device and user ids look unrelated.
_TOUCH_ID, _CONVERSION_ID, _DEVICE_ID, _USER_ID = 0x9E3779B97F, 0xC2B2AE3D27, 0x85EBCA6B1D, 0x27D4EB2F17
_RANK_BITS = 28  # events per day and feed: up to 2**27, then 2**27 ids for that day's bad lines
_BAD_RANK = 1 << (_RANK_BITS - 1)


def _event_ids(seed: int, cal: _Calendar, day: np.ndarray, rank: np.ndarray, multiplier: int) -> list[int]:
    """Event ids unique per (seed, day): the event's date and rank within its day, mixed with the seed.

    Another day or another seed gives other ids, so drawing more days adds events instead of
    repeating ids the warehouse holds already (it keeps the first, dropping the new ones).
    Odd multiply and xor-shift are bijections modulo 2**64, and the seed's mask is xor-ed on,
    so within one seed no two (day, rank) share an id.
    """
    ordinal = (np.asarray(day, np.int64) + cal.start.toordinal()).astype(np.uint64)
    key = (ordinal << np.uint64(_RANK_BITS)) | np.asarray(rank, np.int64).astype(np.uint64)
    mixed = key * np.uint64((multiplier * 0x9E3779B1 | 1) & 0xFFFFFFFFFFFFFFFF)
    mixed ^= mixed >> np.uint64(29)
    mask = np.random.SeedSequence([seed, multiplier & 0xFFFFFFFF]).generate_state(1, np.uint64)[0]
    return (mixed ^ mask).tolist()


def _ranks(day: np.ndarray) -> np.ndarray:
    """Each record's place within its day (records sorted by time, so days ascend)."""
    return np.arange(len(day)) - np.searchsorted(day, day, side="left")


# Visits of one device are at least this far apart: more than the default session timeout
# (30 minutes) plus the page views of a visit (under two minutes) when rendered as GA4 or Segment.
VISIT_GAP = 35 * 60


def _spread_visits(t: np.ndarray, key: np.ndarray, end: int) -> np.ndarray:
    """Move each visit that follows its device's previous one by less than VISIT_GAP to just past it.

    Without randomness, so the draw's streams are unchanged. A forward pass pushes close visits
    later; visits pushed past the last second come back in a backward pass from the end.
    """
    order = np.lexsort((np.arange(len(t)), t, key))
    times, keys = t[order].tolist(), key[order].tolist()
    step = VISIT_GAP + 60
    for i in range(1, len(times)):
        if keys[i] == keys[i - 1] and times[i] - times[i - 1] < VISIT_GAP:
            times[i] = times[i - 1] + step
    for i in range(len(times) - 1, -1, -1):
        if times[i] >= end:
            times[i] = end - 1
        if i + 1 < len(times) and keys[i] == keys[i + 1] and times[i + 1] - times[i] < VISIT_GAP:
            times[i] = times[i + 1] - step
    out = np.empty_like(t)
    out[order] = times
    if out.min() < 0:
        raise RuntimeError("a device has more visits than fit VISIT_GAP apart in the sample's days")
    return out


def _weighted(rng: np.random.Generator, weights: Sequence[float] | np.ndarray, n: int) -> np.ndarray:
    p = np.asarray(weights, dtype=np.float64)
    return rng.choice(len(p), size=n, p=p / p.sum())


# ---- where touches come from: one combo per (traffic, campaign or referrer) ----------------

@dataclass(frozen=True)
class _Combos:
    """Flat table of touch origins; touches store a combo index and a presentation mode."""

    traffic: np.ndarray        # index into TRAFFIC
    campaign: tuple[str, ...]
    weight: np.ndarray         # share of all touches
    utm_text: np.ndarray       # [combo * len(_MODES) + mode] → utm/referrer JSON fragment
    query_text: np.ndarray     # [combo * len(_MODES) + mode] → page_url query string
    paid: np.ndarray           # combo indices with spend, in table order

    @classmethod
    def build(cls) -> _Combos:
        traffic, campaigns, weights, utm, query = [], [], [], [], []
        for k, t in enumerate(TRAFFIC):
            # Geometric split: the first campaign (or referrer) of a kind is the biggest.
            names = t.campaigns if t.source else (t.referrers or ("",))
            split = np.array([0.6 ** i for i in range(len(names))])
            for i, name in enumerate(names):
                traffic.append(k)
                weights.append(t.share * split[i] / split.sum())
                if t.source:
                    campaigns.append(name)
                    referrer = t.referrers[i % len(t.referrers)] if t.referrers else ""
                    u, q = _utm_fragments(t, name, referrer)
                else:
                    campaigns.append("")
                    fragment = f'"referrer":"{name}",' if name else ""
                    u, q = [fragment] * len(_MODES), [""] * len(_MODES)
                utm += u
                query += q
        paid = [c for c, k in enumerate(traffic) if TRAFFIC[k].paid]
        return cls(np.array(traffic), tuple(campaigns), np.array(weights),
                   np.array(utm, dtype=object), np.array(query, dtype=object), np.array(paid))

    def key(self, combo: int) -> tuple[str, str, str]:
        t = TRAFFIC[self.traffic[combo]]
        return t.source, t.medium, self.campaign[combo]


def _utm_fragments(t: Traffic, campaign: str, referrer: str) -> tuple[list[str], list[str]]:
    """Per mode: the JSON fields and the page_url query a touch of this campaign carries."""
    fields = f'"utm_source":"{t.source}","utm_medium":"{t.medium}","utm_campaign":"{campaign}",'
    ref = f'"referrer":"{referrer}",' if referrer else ""
    query = f"?utm_source={t.source}&utm_medium={t.medium}&utm_campaign={campaign}"
    utm = [fields, fields + ref, ref, fields + t.utm_extra]
    return utm, ["", "", query, ""]


# ---- people ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _People:
    """Visitors: devices (anonymous ids), maybe a user id, a zone, a currency, an active window."""

    weight_cum: np.ndarray     # cumulative visit propensity (heavy tail: some return often)
    registered: np.ndarray     # has a user_id
    device_start: np.ndarray   # devices of person p: device_start[p] .. device_start[p+1]-1
    zone: np.ndarray           # index into _ZONES
    currency: np.ndarray       # index into currencies
    anchor: np.ndarray         # first active day (float)
    span: np.ndarray           # active window in days
    anon_text: np.ndarray      # per device '"anonymous_id":"…",'; last entry '' (none)
    user_text: np.ndarray      # per person '"user_id":"…",' ('' when not registered); last ''

    @classmethod
    def draw(cls, rng: np.random.Generator, n: int, currencies: tuple[str, ...]) -> _People:
        weight = rng.lognormal(0.0, 0.7, n)
        registered = rng.random(n) < 0.45
        # Only people who log in can be seen on several devices, so only they get 2-3.
        devices = np.where(registered, _weighted(rng, (0.65, 0.25, 0.10), n) + 1, 1)
        device_start = np.concatenate([[0], np.cumsum(devices)])
        zone = _weighted(rng, [z[2] for z in _ZONES], n)
        currency = _weighted(rng, [_CURRENCY_POPULARITY.get(c, 0.08) for c in currencies], n)
        if "JPY" in currencies:
            currency[(zone == _JST) & (rng.random(n) < 0.8)] = currencies.index("JPY")
        anchor = rng.random(n)  # scaled to days by the touch draw
        span = np.minimum(rng.exponential(6.0, n), 40.0)
        device_hex = _scrambled_hex(np.arange(device_start[-1]), _DEVICE_ID).tolist()
        anon_text = np.array([f'"anonymous_id":"a_{h:010x}",' for h in device_hex] + [""], dtype=object)
        user_hex = _scrambled_hex(np.arange(n), _USER_ID).tolist()
        user_text = np.array([f'"user_id":"u_{h:010x}",' if r else "" for h, r in
                              zip(user_hex, registered.tolist())] + [""], dtype=object)
        return cls(np.cumsum(weight), registered, device_start, zone, currency, anchor, span,
                   anon_text, user_text)

    @property
    def count(self) -> int:
        return len(self.registered)

    def pick(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n people, each with chance proportional to their visit propensity (sorted by person).

        Sorted needles make searchsorted and every later per-person lookup walk memory in
        order, several times faster than random access; the touches are re-sorted by time
        anyway.
        """
        return np.searchsorted(self.weight_cum, np.sort(rng.random(n)) * self.weight_cum[-1], side="right")

    def any_device(self, rng: np.random.Generator, person: np.ndarray) -> np.ndarray:
        first, last = self.device_start[person], self.device_start[person + 1]
        return first + (rng.random(len(person)) * (last - first)).astype(np.int64)


# ---- touches ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Touches:
    """All touches, sorted by time; index = position in time order."""

    t: np.ndarray          # UTC seconds since the first day's midnight
    person: np.ndarray
    device: np.ndarray     # index into people.anon_text; device_start[-1] = no anonymous_id
    user: np.ndarray       # index into people.user_text; people.count = no user_id
    combo: np.ndarray
    mode: np.ndarray
    page: np.ndarray
    extra: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator, people: _People, combos: _Combos, n: int, days: int) -> _Touches:
        # A quarter of touches are follow-ups minutes after another touch of the same person on
        # the same device (a second ad click, an email opened later in the session).
        n_follow = n // 4
        n_base = n - n_follow
        person = people.pick(rng, n_base)
        # Each person is active in a window of days; wrapping keeps every day equally busy.
        day = (people.anchor[person] * days + rng.random(n_base) * people.span[person]).astype(np.int64) % days
        hour = _weighted(rng, _HOURS, n_base)
        local = day * DAY + hour * 3600 + rng.integers(0, 3600, n_base)
        offset = np.array([z[0] * 60 for z in _ZONES])[people.zone[person]]
        t = (local - offset) % (days * DAY)
        device = people.any_device(rng, person)

        base = rng.integers(0, n_base, n_follow)
        # Later the same day: more than a session timeout after the visit before, so that
        # collectors that form sessions (Segment) see the same visits (docs/sources.md).
        gap = VISIT_GAP + rng.exponential(900.0, n_follow).astype(np.int64)
        t = np.concatenate([t, np.minimum(t[base] + gap, days * DAY - 1)])
        person = np.concatenate([person, person[base]])
        device = np.concatenate([device, device[base]])

        # Logged-in touches carry the user_id too (that is the login that links the device);
        # a few server-side ones carry only the user_id.
        logged = people.registered[person] & (rng.random(n) < 0.30)
        user = np.where(logged, person, people.count)
        device = np.where(logged & (rng.random(n) < 0.05), people.device_start[-1], device)

        combo = _weighted(rng, combos.weight, n)
        mode = _weighted(rng, _MODE_P, n)
        page = _weighted(rng, _PAGE_P, n)
        extra = _weighted(rng, _TOUCH_EXTRA_P, n)
        # a device (or, without one, the user) seen server side) never has two visits closer than VISIT_GAP
        t = _spread_visits(t, np.where(device == people.device_start[-1], people.device_start[-1] + 1 + user, device),
                           days * DAY)
        order = np.argsort(t, kind="stable")
        return cls(t[order], person[order], device[order], user[order], combo[order], mode[order],
                   page[order], extra[order])

    def __len__(self) -> int:
        return len(self.t)


class _TouchLines:
    """Renders touches as JSON lines (field order fixed; fragments pre-rendered per value)."""

    def __init__(self, cal: _Calendar, people: _People, touches: _Touches, combos: _Combos, seed: int) -> None:
        self.cal, self.people, self.touches, self.combos = cal, people, touches, combos
        day = touches.t // DAY
        self.ids = np.array(_event_ids(seed, cal, day, _ranks(day), _TOUCH_ID), dtype=np.uint64)
        self.pages = np.array(_PAGES, dtype=object)
        self.extras = np.array(_TOUCH_EXTRAS, dtype=object)

    def __call__(self, rec: np.ndarray, resent: np.ndarray) -> list[str]:
        tp, people = self.touches, self.people
        day, hms, zone = self.cal.timestamp_parts(tp.t[rec], people.zone[tp.person[rec]])
        fragment = tp.combo[rec] * len(_MODES) + tp.mode[rec]
        extra = np.where(resent, len(_TOUCH_EXTRAS) - 1, tp.extra[rec])
        return [
            f'{{"event_id":"tp_{i:016x}","occurred_at":"{d}T{h}{z}",{a}{u}{m}"page_url":"{SITE}{p}{q}"{x}}}'
            for i, d, h, z, a, u, m, p, q, x in zip(
                self.ids[rec].tolist(), day, hms, zone,
                people.anon_text[tp.device[rec]].tolist(), people.user_text[tp.user[rec]].tolist(),
                self.combos.utm_text[fragment].tolist(), self.pages[tp.page[rec]].tolist(),
                self.combos.query_text[fragment].tolist(), self.extras[extra].tolist())
        ]


# ---- conversions -----------------------------------------------------------------------------

# Customers come back (docs/customers.md): after their first purchase a customer buys again at a
# rate and stops buying (churns) after each purchase with a chance that depend on the channel
# that brought them, each customer drawn around those means (gamma rates, beta churn: the
# BG/NBD story). Per channel: (repeat purchases per 30 days while active, churn per purchase,
# order value of a repeat relative to the channel's aov).
_LOYALTY = {
    "Paid Search": (0.9, 0.30, 1.0), "Cross-network": (0.6, 0.45, 0.9), "Paid Social": (0.5, 0.55, 0.8),
    "Paid Video": (0.5, 0.50, 0.9), "Display": (0.4, 0.60, 0.8), "Paid Shopping": (0.8, 0.35, 1.0),
    "Email": (1.3, 0.15, 1.1), "Affiliates": (0.5, 0.60, 0.7), "Organic Search": (1.0, 0.25, 1.0),
    "Organic Social": (0.6, 0.45, 0.9), "Referral": (0.9, 0.30, 1.0), "Direct": (1.1, 0.20, 1.1),
}
_RETURN_CHANNELS = ("Direct", "Email", "Organic Search")  # how a customer comes back to buy again
_MAX_REPEATS = 40


class _RepeatBuyers:
    """Repeat purchases of customers, each right after a return visit (a touch of their own)."""

    def __init__(self, rng: np.random.Generator, combos: _Combos) -> None:
        self.rng, self.combos = rng, combos
        names = [t.channel for t in TRAFFIC]
        self.rate = np.array([_LOYALTY[n][0] for n in names]) / (30 * DAY * 1000)  # per ms
        self.churn = np.array([_LOYALTY[n][1] for n in names])
        self.value = np.array([_LOYALTY[n][2] * t.aov_usd for n, t in zip(names, TRAFFIC)])
        self.return_combos = np.array([c for c, k in enumerate(combos.traffic)
                                       if TRAFFIC[k].channel in _RETURN_CHANNELS])
        self.touch_t = self.touch_person = self.touch_device = self.touch_user = np.empty(0, np.int64)

    def add(self, t_ms, person, device, kind, ident, usd, traffic, people: _People, days: int):
        """The conversions with repeat purchases appended; the return visits are kept for `touches`."""
        rng = self.rng
        buys = np.flatnonzero(kind == _PURCHASE)
        order = buys[np.lexsort((t_ms[buys], person[buys]))]
        first = order[np.r_[True, person[order][1:] != person[order][:-1]]]  # each buyer's first purchase
        k = traffic[first]
        n = len(first)
        rate = rng.gamma(2.0, 0.5, n) * self.rate[k]      # mean rate of the channel
        churn = rng.beta(2.0, 2.0 * (1 - self.churn[k]) / self.churn[k])
        at = t_ms[first].astype(np.float64)
        alive = np.ones(n, dtype=bool)
        end = days * DAY * 1000
        new_t, new_who = [], []
        for _ in range(_MAX_REPEATS):
            alive &= rng.random(n) >= churn                # after each purchase: stop buying?
            at = at + rng.exponential(1.0, n) / np.maximum(rate, 1e-300)
            alive &= at < end
            if not alive.any():
                break
            new_t.append(at[alive].astype(np.int64))
            new_who.append(np.flatnonzero(alive))
        if not new_t:
            return t_ms, person, device, kind, ident, usd
        when = np.concatenate(new_t)
        who = np.concatenate(new_who)
        buyer = person[first][who]
        registered = people.registered[buyer]
        # A registered customer logs in (both ids); a guest buys again from the same device.
        rep_device = people.any_device(rng, buyer)
        rep_ident = np.where(registered, 0, 2)
        rep_usd = self.value[k[who]] * rng.lognormal(-0.18, 0.5, len(who))
        # The visit that brings them back, minutes before the purchase, on the same device.
        visit_ms = np.maximum(when - (60 + rng.exponential(600.0, len(who))) * 1000, 0)
        self.touch_t = (visit_ms // 1000).astype(np.int64)
        self.touch_person, self.touch_device = buyer, rep_device
        self.touch_user = np.where(registered, buyer, people.count)
        return (np.concatenate([t_ms, when]), np.concatenate([person, buyer]),
                np.concatenate([device, rep_device]), np.concatenate([kind, np.full(len(who), _PURCHASE)]),
                np.concatenate([ident, rep_ident]), np.concatenate([usd, rep_usd]))

    def touches(self, touches: _Touches) -> _Touches:
        """`touches` with the return visits added, in time order."""
        n = len(self.touch_t)
        if not n:
            return touches
        rng = self.rng
        combo = self.return_combos[rng.integers(0, len(self.return_combos), n)]
        parts = (
            (touches.t, self.touch_t), (touches.person, self.touch_person), (touches.device, self.touch_device),
            (touches.user, self.touch_user), (touches.combo, combo),
            (touches.mode, _weighted(rng, _MODE_P, n)), (touches.page, _weighted(rng, _PAGE_P, n)),
            (touches.extra, _weighted(rng, _TOUCH_EXTRA_P, n)),
        )
        # A return visit within VISIT_GAP of another visit of its device is the same session to a
        # collector (Segment joins them): that customer was already on the site, so no visit is added.
        keep = _clear_of_visits(touches.t, touches.device, self.touch_t, self.touch_device)
        merged = [np.concatenate([a, b[keep].astype(a.dtype)]) for a, b in parts]
        order = np.argsort(merged[0], kind="stable")
        return _Touches(*(m[order] for m in merged))


def _clear_of_visits(t: np.ndarray, device: np.ndarray, new_t: np.ndarray, new_device: np.ndarray) -> np.ndarray:
    """Which of the new visits lie at least VISIT_GAP from every visit of their device, the kept new ones included."""
    key = device.astype(np.int64) * (1 << 32) + t  # (device, second) in one sortable number
    key.sort()
    keep = np.zeros(len(new_t), dtype=bool)
    last: dict[int, int] = {}  # device -> time of its latest kept new visit
    for i in np.lexsort((new_t, new_device)):
        d, at = int(new_device[i]), int(new_t[i])
        j = np.searchsorted(key, d * (1 << 32) + at)
        before = j > 0 and key[j - 1] >> 32 == d and at - (key[j - 1] & 0xFFFFFFFF) < VISIT_GAP
        after = j < len(key) and key[j] >> 32 == d and (key[j] & 0xFFFFFFFF) - at < VISIT_GAP
        if not (before or after or (d in last and at - last[d] < VISIT_GAP)):
            keep[i] = True
            last[d] = at
    return keep


_CONVERSION_TYPES = ("purchase", "signup", "app_install", "refund", "view_item", "add_to_cart", "begin_checkout")
_PURCHASE, _SIGNUP, _APP_INSTALL, _REFUND, _VIEW_ITEM, _ADD_TO_CART, _BEGIN_CHECKOUT = range(len(_CONVERSION_TYPES))
_FUNNEL = (_VIEW_ITEM, _ADD_TO_CART, _BEGIN_CHECKOUT)  # the micro-conversions before a purchase, in order
_NO_REVENUE = (_SIGNUP, _APP_INSTALL, *_FUNNEL)


def _funnel_rates(cvr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per kind of traffic: the chance a touch views an item, a view adds to cart, a cart checks out.

    They rise with the kind's conversion rate: a shopping or search click means to buy more
    often than a display impression or a social scroll (docs/assists.md, "sample data").
    """
    return np.minimum(0.6, 0.08 + 4 * cvr), 0.2 + 3 * cvr, 0.4 + 4 * cvr


@dataclass(frozen=True)
class _Conversions:
    """Conversions sorted by time; each follows a touch of the same person."""

    t_ms: np.ndarray       # UTC milliseconds since the first day's midnight
    person: np.ndarray
    device: np.ndarray     # index into people.anon_text; device_start[-1] = no anonymous_id
    user: np.ndarray       # people.count = no user_id
    kind: np.ndarray       # index into _CONVERSION_TYPES
    revenue: list[str]     # ',"revenue":…,"currency":"…"' fragment per conversion
    extra: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator, people: _People, touches: _Touches, combos: _Combos,
             fx: np.ndarray, currencies: tuple[str, ...], days: int,
             repeats: _RepeatBuyers | None = None) -> _Conversions:
        traffic = combos.traffic[touches.combo]
        cvr = np.array([t.cvr for t in TRAFFIC])
        src = np.flatnonzero(rng.random(len(touches)) < cvr[traffic])
        m = len(src)
        # Minutes later in the same session, or days later (coming back to buy): multi-touch
        # paths inside a 30-day lookback.
        soon = rng.random(m) < 0.55
        delay = np.where(soon, 60 + rng.exponential(20 * 60, m), 3600 + rng.exponential(2.5 * DAY, m))
        t_ms = touches.t[src] * 1000 + (np.minimum(delay, 28 * DAY) * 1000).astype(np.int64)
        person = touches.person[src]
        device = np.where(soon, touches.device[src], people.any_device(rng, person))
        device = np.where(device == people.device_start[-1], people.any_device(rng, person), device)
        registered = people.registered[person]

        r = rng.random(m)
        kind = np.where(registered & (r < 0.12), _SIGNUP, np.where(r > 0.985, _APP_INSTALL, _PURCHASE))
        # Who the conversion names: both ids (a login), only the user (server side), only the
        # device (guest checkout). A signup always names both: that is the account being made.
        ident = np.where(registered, _weighted(rng, (0.5, 0.3, 0.2), m), 2)
        ident[kind == _SIGNUP] = 0

        usd = np.array([t.aov_usd for t in TRAFFIC])[traffic[src]] * rng.lognormal(-0.18, 0.6, m)
        start_ms = touches.t[src] * 1000  # the touch each conversion follows (its funnel starts there)
        if repeats is not None:  # customers come back: repeat purchases after a return visit
            t_ms, person, device, kind, ident, usd = repeats.add(
                t_ms, person, device, kind, ident, usd, traffic[src], people, days)
            m, registered = len(t_ms), people.registered[person]
            start_ms = np.concatenate([start_ms, repeats.touch_t * 1000])
        currency = people.currency[person]
        day = np.minimum(t_ms // (DAY * 1000), days - 1)
        amount = usd / fx[currency, day]

        # Refunds: some purchases come back days later as negative revenue of the same order.
        refund = np.flatnonzero((kind == _PURCHASE) & (rng.random(m) < 0.03))
        refund_t = t_ms[refund] + ((1 + rng.exponential(4.0, len(refund))) * DAY * 1000).astype(np.int64)
        refund_amount = -amount[refund] * np.where(rng.random(len(refund)) < 0.7, 1.0, 0.5)
        refund_ident = np.where(registered[refund], 1, 2)

        # Funnel micro-conversions, revenue 0: a purchase's visitor views the item, adds it to the
        # cart and checks out between the touch and the purchase; other touches start funnels
        # that stop at some step, at the rates of their kind of traffic.
        bought = np.flatnonzero(kind == _PURCHASE)
        way = np.sort(rng.random((len(bought), len(_FUNNEL))), axis=1)  # share of the way to the purchase
        bought_t = start_ms[bought, None] + (way * (t_ms[bought] - start_ms[bought])[:, None]).astype(np.int64)
        view_p, cart_p, checkout_p = (rate[traffic] for rate in _funnel_rates(cvr))
        viewed = np.flatnonzero(rng.random(len(touches)) < view_p)
        depth = 1 + (rng.random(len(viewed)) < cart_p[viewed]) * (1 + (rng.random(len(viewed)) < checkout_p[viewed]))
        step_gaps = np.cumsum(30 + rng.exponential(240.0, (len(viewed), len(_FUNNEL))), axis=1).astype(np.int64)
        browse_t = touches.t[viewed, None] * 1000 + step_gaps * 1000
        browse_step = np.flatnonzero((np.arange(len(_FUNNEL)) < depth[:, None]).ravel())
        browse_visit = viewed[browse_step // len(_FUNNEL)]
        browse_person = touches.person[browse_visit]
        browse_device = touches.device[browse_visit]
        browse_device = np.where(browse_device == people.device_start[-1],
                                 people.any_device(rng, browse_person), browse_device)
        browse_ident = np.where(people.registered[browse_person], _weighted(rng, (0.5, 0.3, 0.2), len(browse_step)), 2)
        n_micro = len(bought) * len(_FUNNEL) + len(browse_step)
        micro_t = np.concatenate([bought_t.ravel(), browse_t.ravel()[browse_step]])
        micro_kind = np.concatenate([np.tile(np.array(_FUNNEL), len(bought)),
                                     np.array(_FUNNEL)[browse_step % len(_FUNNEL)]])
        micro_person = np.concatenate([np.repeat(person[bought], len(_FUNNEL)), browse_person])

        t_ms = np.concatenate([t_ms, refund_t, micro_t])
        person = np.concatenate([person, person[refund], micro_person])
        device = np.concatenate([device, device[refund], np.repeat(device[bought], len(_FUNNEL)), browse_device])
        kind = np.concatenate([kind, np.full(len(refund), _REFUND), micro_kind])
        ident = np.concatenate([ident, refund_ident, np.repeat(ident[bought], len(_FUNNEL)), browse_ident])
        amount = np.concatenate([amount, refund_amount, np.zeros(n_micro)])
        currency = np.concatenate([currency, currency[refund], people.currency[micro_person]])
        extra = _weighted(rng, _CONVERSION_EXTRA_P, len(t_ms))
        bare = rng.random(len(t_ms)) < 0.5  # zero-revenue events: half omit revenue, half say 0

        keep = np.flatnonzero(t_ms < days * DAY * 1000)  # nothing after the last day
        keep = keep[np.argsort(t_ms[keep], kind="stable")]
        device = np.where(ident[keep] == 1, len(people.anon_text) - 1, device[keep])
        user = np.where((ident[keep] == 2) | ~people.registered[person[keep]], people.count, person[keep])
        revenue = _revenue_text(kind[keep], amount[keep], currency[keep], bare[keep], currencies)
        return cls(t_ms[keep], person[keep], device, user, kind[keep], revenue, extra[keep])

    def __len__(self) -> int:
        return len(self.t_ms)


def _revenue_text(kind: np.ndarray, amount: np.ndarray, currency: np.ndarray, bare: np.ndarray,
                  currencies: tuple[str, ...]) -> list[str]:
    """The revenue/currency part of each line (Python formatting keeps cents exact)."""
    whole = np.array([c in _ZERO_DECIMAL for c in currencies])[currency]
    out = []
    for k, a, c, w, b in zip(kind.tolist(), amount.tolist(), currency.tolist(), whole.tolist(), bare.tolist()):
        if k in _NO_REVENUE:
            out.append("" if b else ',"revenue":0')
        else:
            value = f"{round(a)}" if w else f"{a:.2f}"
            out.append(f',"revenue":{value},"currency":"{currencies[c]}"')
    return out


class _ConversionLines:
    """Renders conversions as JSON lines."""

    def __init__(self, cal: _Calendar, people: _People, conversions: _Conversions, seed: int) -> None:
        self.cal, self.people, self.conv = cal, people, conversions
        day = conversions.t_ms // (DAY * 1000)
        self.ids = np.array(_event_ids(seed, cal, day, _ranks(day), _CONVERSION_ID), dtype=np.uint64)
        self.types = np.array(_CONVERSION_TYPES, dtype=object)
        self.extras = np.array(_CONVERSION_EXTRAS, dtype=object)

    def __call__(self, rec: np.ndarray, resent: np.ndarray) -> list[str]:
        cv, people = self.conv, self.people
        t_ms = cv.t_ms[rec]
        day, hms, zone = self.cal.timestamp_parts(t_ms // 1000, people.zone[cv.person[rec]])
        extra = np.where(resent, len(_CONVERSION_EXTRAS) - 1, cv.extra[rec])
        revenue = [cv.revenue[i] for i in rec.tolist()]
        return [
            f'{{"conversion_id":"cv_{i:016x}","occurred_at":"{d}T{h}.{ms:03d}{z}",{a}{u}'
            f'"conversion_type":"{k}"{r}{x}}}'
            for i, d, h, ms, z, a, u, k, r, x in zip(
                self.ids[rec].tolist(), day, hms, (t_ms % 1000).tolist(), zone,
                people.anon_text[cv.device[rec]].tolist(), people.user_text[cv.user[rec]].tolist(),
                self.types[cv.kind[rec]].tolist(), revenue, self.extras[extra].tolist())
        ]


# ---- ad spend and fx ---------------------------------------------------------------------------

def _fx_rates(rng: np.random.Generator, currencies: tuple[str, ...], days: int) -> np.ndarray:
    """USD per unit, shape (currency, day): a base rate with a small daily random walk."""
    base = np.array([1.0 if c == "USD" else _FX_BASE.get(c, 0.0) for c in currencies])
    unknown = base == 0.0
    base[unknown] = rng.uniform(0.05, 1.5, int(unknown.sum()))
    walk = np.exp(np.cumsum(rng.normal(0.0, 0.004, (len(currencies), days)), axis=1))
    rates = base[:, None] * walk
    rates[[c == "USD" for c in currencies]] = 1.0
    return rates


def _rate_text(rate: float) -> str:
    """About 6 significant digits without exponent notation (JPY is 0.00667…)."""
    return f"{rate:.{6 + max(0, -math.floor(math.log10(rate)))}f}"


@dataclass(frozen=True)
class _Spend:
    """One row per (day, paid campaign), plus restated rows ad platforms send days later."""

    day: np.ndarray
    combo: np.ndarray
    spend: np.ndarray      # in the row's currency
    currency: np.ndarray
    impressions: np.ndarray
    clicks: np.ndarray
    restated_in: np.ndarray  # folder day of a restatement row; -1 for the original rows

    @classmethod
    def draw(cls, rng: np.random.Generator, touches: _Touches, combos: _Combos, fx: np.ndarray,
             currencies: tuple[str, ...], days: int) -> _Spend:
        paid = combos.paid
        slot = np.full(len(combos.traffic), -1)
        slot[paid] = np.arange(len(paid))
        touch_slot = slot[touches.combo]
        is_paid = touch_slot >= 0
        # Clicks = the paid touches of that campaign on that day, so spend follows traffic.
        clicks = np.bincount((touches.t[is_paid] // DAY) * len(paid) + touch_slot[is_paid],
                             minlength=days * len(paid))
        day = np.repeat(np.arange(days), len(paid))
        combo = np.tile(paid, days)
        traffic = [TRAFFIC[k] for k in combos.traffic[combo]]
        cpc = np.array([t.cpc_usd for t in traffic])
        ctr = np.array([t.ctr for t in traffic])
        currency = np.array([currencies.index(t.spend_currency) if t.spend_currency in currencies
                             else 0 for t in traffic])
        usd = clicks * cpc * rng.lognormal(0.0, 0.12, len(day))
        impressions = np.round(clicks / ctr * rng.lognormal(0.0, 0.15, len(day))).astype(np.int64)
        spend = usd / fx[currency, day]

        # Ad platforms revise spend for days: in every 7th folder, half of the rows of two days
        # earlier come again with revised numbers (a later file restates the key).
        folder = day + 2
        restated = np.flatnonzero((folder < days) & (folder % 7 == 2) & (rng.random(len(day)) < 0.5))
        factor = 1 + rng.normal(0.0, 0.04, len(restated))
        return cls(np.concatenate([day, day[restated]]), np.concatenate([combo, combo[restated]]),
                   np.concatenate([spend, spend[restated] * factor]),
                   np.concatenate([currency, currency[restated]]),
                   np.concatenate([impressions, impressions[restated]]),
                   np.concatenate([clicks, clicks[restated]]),
                   np.concatenate([np.full(len(day), -1), folder[restated]]))


# ---- files --------------------------------------------------------------------------------------

@dataclass
class _FilePlan:
    """One file to write: which records, in which order, and where bad lines go."""

    folder: int            # day index of the date= folder
    name: str              # file name with extension
    rec: np.ndarray        # record index per good line, in line order
    resent: np.ndarray     # True where the line re-sends an event of an earlier file
    late: bool
    bad_at: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))   # insert before
    bad_kind: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    bad_serial: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


def _pick(rng: np.random.Generator, lo: int, hi: int, share: float) -> np.ndarray:
    size = hi - lo
    if size <= 0:
        return np.zeros(0, np.int64)
    return lo + np.sort(rng.choice(size, max(1, round(size * share)), replace=False))


def _plan_json_files(rng: np.random.Generator, day: np.ndarray, days: int, *, rows_per_file: int,
                     gz_day: Callable[[int], bool], late_old: int, late_new: int,
                     resend_share: float) -> list[_FilePlan]:
    """Split time-sorted records into files: parts per day, late files, re-sent duplicates.

    Late files come in both kinds: `late_old` old folders get a late file holding a share of
    that day's own events (the folder appears weeks after its date), and `late_new` days have
    a share of their events exported one to three days later in that later folder.
    """
    n = len(day)
    folder = day.copy()
    late = np.zeros(n, bool)
    if days >= 3:
        for d in np.sort(rng.choice(days - 2, min(late_old, days - 2), replace=False)):
            idx = _pick(rng, *np.searchsorted(day, [d, d + 1]), 0.04)
            late[idx] = True
        for d in np.sort(rng.choice(days - 1, min(late_new, days - 1), replace=False)):
            idx = _pick(rng, *np.searchsorted(day, [d, d + 1]), 0.03)
            late[idx] = True
            folder[idx] = min(days - 1, d + int(rng.integers(1, 4)))
    # Re-sent events: a retrying exporter delivers the same event again one or two folders later.
    src = _pick(rng, 0, int(np.searchsorted(day, days - 1)), resend_share)
    resend_folder = np.minimum(folder[src] + rng.integers(1, 3, len(src)), days - 1)
    later = resend_folder > folder[src]  # a late event already in the last folder stays single
    src, resend_folder = src[later], resend_folder[later]

    rec = np.concatenate([np.arange(n), src])
    folder = np.concatenate([folder, resend_folder])
    late = np.concatenate([late, np.zeros(len(src), bool)])
    resent = np.concatenate([np.zeros(n, bool), np.ones(len(src), bool)])
    if len(rec) == 0:
        return []
    order = np.lexsort((rec, late, folder))  # by folder, regular before late, then time
    key = folder[order] * 2 + late[order]
    edges = np.concatenate([[0], np.flatnonzero(np.diff(key)) + 1, [len(key)]])
    plans = []
    for lo, hi in zip(edges[:-1].tolist(), edges[1:].tolist()):
        idx = order[lo:hi]
        f, is_late = int(folder[idx[0]]), bool(late[idx[0]])
        if is_late:
            plans.append(_FilePlan(f, "late-000.jsonl", rec[idx], resent[idx], True))
            continue
        ext = ".jsonl.gz" if gz_day(f) else ".jsonl"
        # One or a few parts per day; every fourth day is split even when small.
        parts = min(len(idx), math.ceil(len(idx) / rows_per_file) + (f % 4 == 1))
        for k, chunk in enumerate(np.array_split(idx, parts)):
            plans.append(_FilePlan(f, f"part-{k:03d}{ext}", rec[chunk], resent[chunk], False))
    return plans


def _assign_bad(rng: np.random.Generator, plans: list[_FilePlan], kinds: int, rate: float) -> None:
    """Spread bad lines over all files at random positions; each kind at least once."""
    sizes = np.array([len(p.rec) for p in plans], dtype=np.int64)
    good = int(sizes.sum())
    if rate <= 0 or good == 0:
        return
    n_bad = max(kinds, round(rate * good))
    at = np.sort(rng.integers(0, good, n_bad))
    kind = rng.permutation(np.concatenate([np.arange(kinds), rng.integers(0, kinds, n_bad - kinds)]))
    starts = np.concatenate([[0], np.cumsum(sizes)])
    owner = np.searchsorted(starts, at, side="right") - 1
    for i in np.unique(owner).tolist():
        sel = np.flatnonzero(owner == i)
        plans[i].bad_at, plans[i].bad_kind, plans[i].bad_serial = at[sel] - starts[i], kind[sel], sel


def _with_bad_lines(lines: list[str], plan: _FilePlan, make_bad: Callable[[str, int, int], str]) -> list[str]:
    """The good lines with the plan's bad lines inserted, each made from the line it precedes."""
    if not len(plan.bad_at):
        return lines
    out, prev = [], 0
    for at, kind, serial in zip(plan.bad_at.tolist(), plan.bad_kind.tolist(), plan.bad_serial.tolist()):
        out.extend(lines[prev:at])
        out.append(make_bad(lines[at], kind, serial))
        prev = at
    out.extend(lines[prev:])
    return out


def _bad_json(line: str, reason: str, id_field: str, new_id: str, serial: int) -> str:
    """A broken variant of a good JSON line; gets a fresh id so it never shadows a real event."""
    if reason == "not_json":
        # A line cut off mid-write: a prefix of an object is never valid JSON.
        return line[: max(10, len(line) * 3 // 5)]
    obj = orjson.loads(line)
    obj.pop("delivery_attempt", None)
    obj[id_field] = new_id
    ts = obj["occurred_at"]
    if reason.startswith("missing_"):
        del obj[reason.removeprefix("missing_")]
    elif reason == "timestamp_without_offset":
        # Drop the offset; half the time also the "T" (a SQL-style local time).
        bare = ts[:-1] if ts.endswith("Z") else ts[:-6]
        obj["occurred_at"] = bare if serial % 2 else bare.replace("T", " ")
    elif reason == "unparseable_timestamp":
        obj["occurred_at"] = ts[:11] + "25" + ts[13:] if serial % 2 else f"{ts[:10]} at noon"
    elif reason == "no_identity":
        obj.pop("anonymous_id", None)
        obj.pop("user_id", None)
    elif reason == "non_numeric_revenue":
        obj["revenue"] = "49,90" if serial % 2 else "free"
        obj.setdefault("currency", "EUR")
    elif reason == "revenue_without_currency":
        obj["revenue"] = obj.get("revenue") or 19.99
        obj.pop("currency", None)
    elif reason == "unknown_currency":
        obj["revenue"] = obj.get("revenue") or 19.99
        obj["currency"] = UNKNOWN_CURRENCY
    return orjson.dumps(obj).decode()


def _bad_spend_row(line: str, reason: str, serial: int) -> str:
    fields = line.split(",")
    if reason == "non_numeric_spend":
        fields[4] = '"1.234,56"' if serial % 2 else "N/A"
    elif reason == "bad_date":
        d = date.fromisoformat(fields[0])
        fields[0] = f"{d.month:02d}/{d.day:02d}/{d.year}" if serial % 2 else f"{d.year}-02-30"
    else:  # missing_column: the exporter stopped after spend
        fields = fields[:5]
    return ",".join(fields)


class _Tally:
    """Counts for one feed while writing."""

    def __init__(self, kinds: Sequence[str] = ()) -> None:
        self.files = self.lines = self.bad = self.unreadable = self.late = self.resent = 0
        self.by_reason = dict.fromkeys(kinds, 0)

    def add(self, plan: _FilePlan, lines: int, kinds: Sequence[str]) -> None:
        self.files += 1
        self.lines += lines
        self.bad += len(plan.bad_at)
        self.late += plan.late
        self.resent += int(plan.resent.sum())
        for k in plan.bad_kind.tolist():
            self.by_reason[kinds[k]] += 1

    def counts(self) -> FeedCounts:
        return FeedCounts(self.files, self.lines, self.bad, self.unreadable, self.late, self.resent,
                          {k: v for k, v in self.by_reason.items() if v})


class _Output:
    """Writes whole files under the landing root through ObjectStoragePath (any fsspec scheme).

    Compression and storage run on one background thread (zlib and file/network I/O release
    the GIL) while the main thread renders the next file; at most two files wait, which
    bounds memory. File bytes never depend on this timing.
    """

    def __init__(self, root, cal: _Calendar) -> None:
        self.root, self.cal = root, cal
        self._made: set[str] = set()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sample-writer")
        self._pending: deque[Future] = deque()

    def __enter__(self) -> _Output:
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            while self._pending:
                self._pending.popleft().result()  # re-raises a failed write
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def write(self, feed: str, folder: int, name: str, text: str) -> None:
        self.write_raw(feed, folder, name, text.encode(), compress=name.endswith(".gz"))

    def write_raw(self, feed: str, folder: int, name: str, data: bytes, compress: bool = False) -> None:
        while len(self._pending) >= 2:
            self._pending.popleft().result()
        self._pending.append(self._pool.submit(self._store, feed, folder, name, data, compress))

    def _store(self, feed: str, folder: int, name: str, data: bytes, compress: bool) -> None:
        if compress:
            # mtime=0: the gzip header would otherwise carry the clock and break determinism.
            data = gzip.compress(data, compresslevel=1, mtime=0)
        directory = self.root / feed / f"date={self.cal.iso(folder)}"
        if str(directory) not in self._made:
            directory.mkdir(parents=True, exist_ok=True)
            self._made.add(str(directory))
        with (directory / name).open("wb") as fh:
            fh.write(data)


def _root(landing_url: str):
    # Imported here: the Airflow SDK takes seconds to import and only writing needs it.
    from airflow.sdk import ObjectStoragePath

    url = str(landing_url)
    if "://" not in url:
        url = Path(url).expanduser().resolve().as_uri()
    return ObjectStoragePath(url)


def _write_json_feed(out: _Output, feed: str, plans: list[_FilePlan], render: Callable,
                     kinds: Sequence[str], make_bad: Callable[[str, int, int], str]) -> _Tally:
    tally = _Tally(kinds)
    for plan in plans:
        lines = _with_bad_lines(render(plan.rec, plan.resent), plan, make_bad)
        out.write(feed, plan.folder, plan.name, "\n".join(lines) + "\n")
        tally.add(plan, len(lines), kinds)
    return tally


def _write_touchpoints(out: _Output, r_files: np.random.Generator, r_bad: np.random.Generator,
                       cal: _Calendar, people: _People, touches: _Touches, combos: _Combos,
                       bad_rate: float, seed: int) -> FeedCounts:
    plans = _plan_json_files(r_files, touches.t // DAY, cal.days, rows_per_file=_ROWS_PER_TOUCH_FILE,
                             gz_day=lambda d: d % 7 == 3, late_old=max(1, cal.days // 20),
                             late_new=max(1, cal.days // 15), resend_share=0.0003)
    _assign_bad(r_bad, plans, len(TOUCHPOINT_BAD_KINDS), bad_rate)
    render = _TouchLines(cal, people, touches, combos, seed)

    def make_bad(line: str, kind: int, serial: int) -> str:
        new_id = f"tp_{_event_ids(seed, cal, [0], [_BAD_RANK + serial], _TOUCH_ID)[0]:016x}"
        return _bad_json(line, TOUCHPOINT_BAD_KINDS[kind], "event_id", new_id, serial)

    tally = _write_json_feed(out, "touchpoints", plans, render, TOUCHPOINT_BAD_KINDS, make_bad)
    if bad_rate > 0 and plans:
        # Exactly one unreadable file: plain JSON lines under a .gz name (not gzip at all).
        middle = plans[len(plans) // 2]
        text = "\n".join(render(middle.rec[:5], middle.resent[:5])) + "\n"
        out.write_raw("touchpoints", middle.folder, "part-099.jsonl.gz", text.encode())
        tally.files += 1
        tally.unreadable += 1
    return tally.counts()


def _write_conversions(out: _Output, r_files: np.random.Generator, r_bad: np.random.Generator,
                       cal: _Calendar, people: _People, conversions: _Conversions,
                       bad_rate: float, seed: int) -> FeedCounts:
    plans = _plan_json_files(r_files, conversions.t_ms // (DAY * 1000), cal.days,
                             rows_per_file=_ROWS_PER_CONVERSION_FILE, gz_day=lambda d: d % 9 == 4,
                             late_old=1, late_new=max(1, cal.days // 30), resend_share=0.002)
    _assign_bad(r_bad, plans, len(CONVERSION_BAD_KINDS), bad_rate)
    render = _ConversionLines(cal, people, conversions, seed)

    def make_bad(line: str, kind: int, serial: int) -> str:
        new_id = f"cv_{_event_ids(seed, cal, [0], [_BAD_RANK + serial], _CONVERSION_ID)[0]:016x}"
        return _bad_json(line, CONVERSION_BAD_KINDS[kind], "conversion_id", new_id, serial)

    return _write_json_feed(out, "conversions", plans, render, CONVERSION_BAD_KINDS, make_bad).counts()


def _write_ad_spend(out: _Output, r_bad: np.random.Generator, cal: _Calendar, spend: _Spend, combos: _Combos, currencies: tuple[str, ...],
                    bad_rate: float) -> FeedCounts:
    # One file per day, plus a restatement file in the folders that restate an earlier day.
    folder = np.where(spend.restated_in >= 0, spend.restated_in, spend.day)
    restated = spend.restated_in >= 0
    order = np.lexsort((np.arange(len(folder)), restated, folder))
    key = folder[order] * 2 + restated[order]
    edges = np.concatenate([[0], np.flatnonzero(np.diff(key)) + 1, [len(key)]])
    plans = []
    for lo, hi in zip(edges[:-1].tolist(), edges[1:].tolist()):
        idx = order[lo:hi]
        f, late = int(folder[idx[0]]), bool(restated[idx[0]])
        name = "restated-000.csv" if late else ("part-000.csv.gz" if f % 11 == 5 else "part-000.csv")
        plans.append(_FilePlan(f, name, idx, np.zeros(len(idx), bool), late))
    _assign_bad(r_bad, plans, len(AD_SPEND_BAD_KINDS), bad_rate)

    day_text = [cal.iso(d) for d in range(cal.days)]
    keys = [",".join(combos.key(c)) for c in range(len(combos.traffic))]

    def render(rec: np.ndarray) -> list[str]:
        return [f"{day_text[d]},{keys[c]},{s:.2f},{currencies[cur]},{i},{k}"
                for d, c, s, cur, i, k in zip(spend.day[rec].tolist(), spend.combo[rec].tolist(),
                                              spend.spend[rec].tolist(), spend.currency[rec].tolist(),
                                              spend.impressions[rec].tolist(), spend.clicks[rec].tolist())]

    tally = _Tally(AD_SPEND_BAD_KINDS)
    for plan in plans:
        lines = _with_bad_lines(render(plan.rec), plan,
                                lambda line, kind, serial: _bad_spend_row(line, AD_SPEND_BAD_KINDS[kind], serial))
        out.write("ad_spend", plan.folder, plan.name, _SPEND_HEADER + "\n".join(lines) + "\n")
        tally.add(plan, len(lines), AD_SPEND_BAD_KINDS)
    return tally.counts()


def _write_fx_rates(out: _Output, cal: _Calendar, fx: np.ndarray, currencies: tuple[str, ...]) -> FeedCounts:
    tally = _Tally()
    foreign = [i for i, c in enumerate(currencies) if c != "USD"]
    if not foreign:
        return tally.counts()
    for d in range(cal.days):
        rows = [f"{cal.iso(d)},{currencies[i]},{_rate_text(float(fx[i, d]))}" for i in foreign]
        out.write("fx_rates", d, "part-000.csv", _FX_HEADER + "\n".join(rows) + "\n")
        tally.files += 1
        tally.lines += len(rows)
    return tally.counts()
