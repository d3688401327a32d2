"""The sample-data generator writes a landing zone that follows docs/contract.md section 1 exactly.

Lines are checked with an independent reading of the contract (below), not with the loader, so
the generator and the ingest code cannot share a mistake unnoticed.
"""

from __future__ import annotations

import bisect
import csv
import functools
import gzip
import json
import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from marketing.dev.sample import (
    AD_SPEND_BAD_KINDS,
    CONVERSION_BAD_KINDS,
    TOUCHPOINT_BAD_KINDS,
    TRAFFIC,
    UNKNOWN_CURRENCY,
    VISIT_GAP,
    SampleSummary,
    generate,
)
from marketing.ingest.channels import ChannelClassifier

END = date(2026, 3, 10)
ARGS = dict(days=8, end_date=END, touchpoints_per_day=1500, seed=7)
FEEDS = ("touchpoints", "conversions", "ad_spend", "fx_rates")
PATH = re.compile(
    r"^(?P<feed>touchpoints|conversions|ad_spend|fx_rates)/date=(?P<day>\d{4}-\d{2}-\d{2})/"
    r"(?P<name>[a-z]+-\d{3})(?P<ext>\.jsonl|\.jsonl\.gz|\.csv|\.csv\.gz)$"
)
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
PAID_MEDIUM = re.compile(r"^(.*cp.*|ppc|retargeting|paid.*)$")
SPEND_HEADER = "date,source,medium,campaign,spend,currency,impressions,clicks"


# ---- reading the landing zone ---------------------------------------------------------------

class Landing:
    """Every file of a generated landing zone, read and split into lines."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, bytes] = {
            p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
        }
        self.unreadable: list[str] = []
        # feed → [(path, folder day, file name, [lines])]
        self.feeds: dict[str, list[tuple[str, date, str, list[str]]]] = defaultdict(list)
        for path, data in self.files.items():
            m = PATH.match(path)
            assert m, f"unexpected path {path}"
            if m["ext"].endswith(".gz"):
                try:
                    data = gzip.decompress(data)
                except OSError:
                    self.unreadable.append(path)
                    continue
            lines = data.decode("utf-8").splitlines()
            self.feeds[m["feed"]].append((path, date.fromisoformat(m["day"]), m["name"], lines))

    def lines(self, feed: str):
        for path, day, name, lines in self.feeds[feed]:
            body = lines[1:] if feed in ("ad_spend", "fx_rates") else lines
            for line in body:
                yield path, day, name, line

    @functools.cached_property
    def currencies(self) -> set[str]:
        """Currencies with an fx rate, plus the reporting currency."""
        return {"USD"} | {line.split(",")[1] for *_, line in self.lines("fx_rates")}

    @functools.cached_property
    def touches(self) -> list[dict]:
        """The good touchpoint lines, parsed (re-sent duplicates included)."""
        return [json.loads(line) for *_, line in self.lines("touchpoints") if touch_problem(line) is None]

    @functools.cached_property
    def conversions(self) -> list[dict]:
        """The good conversion lines, parsed."""
        return [json.loads(line) for *_, line in self.lines("conversions")
                if conversion_problem(line, self.currencies) is None]


def touch_problem(line: str) -> str | None:
    """Contract 1.1 / 1.5 for one touchpoint line; the reason, or None when the line is good."""
    try:
        obj = json.loads(line)
    except ValueError:
        return "not_json"
    if not obj.get("event_id"):
        return "missing_event_id"
    return _timestamp_problem(obj) or _identity_problem(obj)


def conversion_problem(line: str, currencies: set[str]) -> str | None:
    """Contract 1.2 / 1.5 for one conversion line."""
    try:
        obj = json.loads(line)
    except ValueError:
        return "not_json"
    if not obj.get("conversion_id"):
        return "missing_conversion_id"
    if problem := _timestamp_problem(obj) or _identity_problem(obj):
        return problem
    if not obj.get("conversion_type"):
        return "missing_conversion_type"
    revenue = obj.get("revenue", 0)
    if isinstance(revenue, bool) or not isinstance(revenue, (int, float)):
        return "non_numeric_revenue"
    if revenue != 0 and not obj.get("currency"):
        return "revenue_without_currency"
    if obj.get("currency") and obj["currency"] not in currencies:
        return "unknown_currency"
    return None


def spend_problem(line: str) -> str | None:
    """Contract 1.3 for one ad_spend CSV row."""
    fields = next(csv.reader([line]))
    if len(fields) != len(SPEND_HEADER.split(",")):
        return "missing_column"
    try:
        date.fromisoformat(fields[0])
    except ValueError:
        return "bad_date"
    try:
        float(fields[4])
    except ValueError:
        return "non_numeric_spend"
    return None


def _timestamp_problem(obj: dict) -> str | None:
    value = obj.get("occurred_at")
    if not value:
        return "missing_occurred_at"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return "unparseable_timestamp"
    if moment.tzinfo is None:
        return "timestamp_without_offset"
    assert RFC3339.match(value), value  # a good timestamp is strict RFC 3339
    return None


def _identity_problem(obj: dict) -> str | None:
    return None if obj.get("anonymous_id") or obj.get("user_id") else "no_identity"


def utm(obj: dict) -> tuple[str | None, str | None, str | None]:
    """utm source, medium, campaign: the fields, else page_url's query string (docs/contract.md, 1.1)."""
    query = parse_qs(urlsplit(obj.get("page_url", "")).query)
    return tuple(obj.get(f"utm_{k}") or query.get(f"utm_{k}", [None])[0] for k in ("source", "medium", "campaign"))


def utc_day(value: str) -> date:
    """The UTC date of an RFC 3339 timestamp."""
    return (datetime.fromisoformat(value) - datetime.fromisoformat(value).utcoffset()).date()


# ---- fixtures -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[SampleSummary, Landing]:
    root = tmp_path_factory.mktemp("landing")
    summary = generate(root.as_uri(), **ARGS)
    return summary, Landing(root)


# ---- tests ---------------------------------------------------------------------------------------

def test_same_arguments_give_identical_bytes_and_a_plain_path_works(sample, tmp_path):
    summary, landing = sample
    again = generate(str(tmp_path / "plain"), **ARGS)  # a plain path, not a URL
    assert Landing(tmp_path / "plain").files == landing.files
    assert again.touchpoints == summary.touchpoints and again.conversions == summary.conversions
    other = generate((tmp_path / "other").as_uri(), **{**ARGS, "seed": 8})
    assert Landing(tmp_path / "other").files != landing.files
    assert other.end_date == summary.end_date == END


def test_layout_follows_the_contract(sample):
    summary, landing = sample
    assert summary.root.startswith("file://") and summary.start_date == END - timedelta(days=7)
    days = {summary.start_date + timedelta(days=i) for i in range(8)}
    for feed in FEEDS:
        folders = {day for _, day, _, _ in landing.feeds[feed]}
        assert folders == days, feed  # every day has files of every feed
    for path, _, _, lines in landing.feeds["ad_spend"]:
        assert lines[0] == SPEND_HEADER, path
    for path, _, _, lines in landing.feeds["fx_rates"]:
        assert lines[0] == "date,currency,rate", path
    names = {Path(p).name for p in landing.files}
    assert any(n.endswith(".jsonl.gz") for n in names) and any(n.startswith("part-001") for n in names)


def test_bad_lines_of_every_kind_and_nothing_else_is_bad(sample):
    summary, landing = sample
    found = {
        "touchpoints": Counter(touch_problem(line) for *_, line in landing.lines("touchpoints")),
        "conversions": Counter(conversion_problem(line, landing.currencies) for *_, line in landing.lines("conversions")),
        "ad_spend": Counter(spend_problem(line) for *_, line in landing.lines("ad_spend")),
    }
    kinds = {"touchpoints": TOUCHPOINT_BAD_KINDS, "conversions": CONVERSION_BAD_KINDS, "ad_spend": AD_SPEND_BAD_KINDS}
    for feed, counter in found.items():
        counter.pop(None)
        assert set(counter) == set(kinds[feed]), feed
        assert dict(counter) == dict(getattr(summary, feed).bad_by_reason), feed
        assert sum(counter.values()) == getattr(summary, feed).bad_lines
    # bad lines are spread, not bunched in one file
    files_with_bad = {p for p, _, _, line in landing.lines("touchpoints") if touch_problem(line)}
    assert len(files_with_bad) >= 3
    rate = summary.touchpoints.bad_lines / summary.touchpoints.lines
    assert 0.001 < rate < 0.004


def test_exactly_one_unreadable_gzip_file(sample):
    summary, landing = sample
    assert len(landing.unreadable) == 1 and landing.unreadable[0].startswith("touchpoints/")
    assert summary.touchpoints.unreadable_files == 1


def test_summary_counts_match_the_files(sample):
    summary, landing = sample
    for feed in FEEDS:
        counts = getattr(summary, feed)
        files = [p for p in landing.files if p.startswith(feed + "/")]
        assert counts.files == len(files), feed
        assert counts.lines == sum(1 for _ in landing.lines(feed)), feed
        assert counts.late_files == sum(1 for _, _, n, _ in landing.feeds[feed] if n.startswith(("late", "restated")))
    assert summary.feeds["fx_rates"].bad_lines == 0


def test_good_lines_carry_the_realistic_variety(sample):
    _, landing = sample
    touches, conversions, fx_currencies = landing.touches, landing.conversions, landing.currencies
    suffixes = Counter(t["occurred_at"][19:] for t in touches)
    assert suffixes.most_common(1)[0][0] == "Z" and {"+09:00", "-05:00"} <= set(suffixes)
    assert any("utm_source" not in t and "utm_source=" in t.get("page_url", "") for t in touches)
    assert any("utm_term" in t for t in touches) and any("utm_content" in t for t in touches)
    known = {"event_id", "occurred_at", "anonymous_id", "user_id", "utm_source", "utm_medium",
             "utm_campaign", "utm_term", "utm_content", "referrer", "page_url"}
    assert any(set(t) - known for t in touches)  # unknown extra fields
    assert any("referrer" not in t and utm(t) == (None, None, None) for t in touches)  # direct visits

    types = Counter(c["conversion_type"] for c in conversions)
    assert {"signup", "refund"} <= set(types) and types["purchase"] > types["signup"] > types["refund"]
    for c in conversions:
        if c["conversion_type"] == "refund":
            assert c["revenue"] < 0
        if c["conversion_type"] in ("signup", "view_item", "add_to_cart", "begin_checkout"):
            assert c.get("revenue", 0) == 0 and "currency" not in c
        if c.get("revenue"):
            assert c["currency"] in fx_currencies
    by_currency = defaultdict(list)
    for c in conversions:
        if c["conversion_type"] == "purchase":
            by_currency[c["currency"]].append(c["revenue"])
    assert set(by_currency) == {"USD", "EUR", "GBP", "JPY"}
    median = {k: sorted(v)[len(v) // 2] for k, v in by_currency.items()}
    assert median["JPY"] > 50 * median["USD"]  # yen amounts are realistically large
    assert all(RFC3339.match(c["occurred_at"]) and "." in c["occurred_at"] for c in conversions)


def test_fx_rates_cover_every_day_and_currency(sample):
    summary, landing = sample
    rows = [line.split(",") for *_, line in landing.lines("fx_rates")]
    assert Counter((d, c) for d, c, _ in rows) == {
        ((summary.start_date + timedelta(days=i)).isoformat(), c): 1 for i in range(8) for c in ("EUR", "GBP", "JPY")
    }
    rates = defaultdict(list)
    for _, c, r in rows:
        rates[c].append(float(r))
    assert 0.95 < min(rates["EUR"]) <= max(rates["EUR"]) < 1.25
    assert 0.004 < min(rates["JPY"]) <= max(rates["JPY"]) < 0.01
    assert len(set(rates["EUR"])) == 8  # small daily drift
    assert UNKNOWN_CURRENCY not in rates


def test_spend_and_touches_meet_on_the_same_keys_and_channels(sample):
    _, landing = sample
    touches = landing.touches
    spend = [next(csv.reader([line])) for *_, line in landing.lines("ad_spend") if spend_problem(line) is None]
    touch_keys = {utm(t) for t in touches}
    # paid media by GA4's pattern, plus display and affiliate traffic, which is bought too
    paid_touch_keys = {k for k in touch_keys if k[1] and (PAID_MEDIUM.match(k[1]) or k[1] in ("display", "affiliate"))}
    spend_keys = {tuple(row[1:4]) for row in spend}
    assert spend_keys == paid_touch_keys  # the same strings, so spend and revenue meet
    days_of = defaultdict(set)
    for row in spend:
        days_of[tuple(row[1:4])].add(row[0])
    assert all(len(d) == 8 for d in days_of.values())  # a row every day
    assert {row[5] for row in spend} <= landing.currencies and {"USD", "EUR", "GBP"} <= {row[5] for row in spend}

    classifier = ChannelClassifier.load()
    touch_channels = Counter(classifier.classify(*utm(t), t.get("referrer")).channel for t in touches)
    assert set(touch_channels) == {t.channel for t in TRAFFIC}
    assert touch_channels["Paid Search"] > touch_channels["Paid Video"]  # channels differ in volume
    spend_channels = {classifier.classify(*k).channel for k in spend_keys}
    assert spend_channels == {t.channel for t in TRAFFIC if t.paid}


def test_identities_link_devices_to_users(sample):
    _, landing = sample
    touches, conversions = landing.touches, landing.conversions
    users_of = defaultdict(set)
    for e in touches + conversions:
        if e.get("anonymous_id") and e.get("user_id"):
            users_of[e["anonymous_id"]].add(e["user_id"])
    assert users_of and all(len(u) == 1 for u in users_of.values())  # a device belongs to one user
    devices_of = Counter(next(iter(u)) for u in users_of.values())
    assert max(devices_of.values()) >= 2  # users with several devices
    shapes = Counter((bool(c.get("anonymous_id")), bool(c.get("user_id"))) for c in conversions)
    assert shapes[(True, True)] and shapes[(False, True)] and shapes[(True, False)]
    visits = Counter(t["anonymous_id"] for t in touches if "anonymous_id" in t)
    assert sum(n >= 3 for n in visits.values()) > 50  # returning visitors


def test_conversions_follow_touches_of_the_same_person(sample):
    summary, landing = sample
    touches = {t["event_id"]: t for t in landing.touches}.values()  # re-sent events once
    conversions = landing.conversions
    link = {}
    for e in sorted(list(touches) + conversions, key=lambda e: datetime.fromisoformat(e["occurred_at"])):
        if e.get("anonymous_id") and e.get("user_id"):
            link.setdefault(e["anonymous_id"], e["user_id"])

    def person(e):
        return e.get("user_id") or link.get(e.get("anonymous_id")) or e["anonymous_id"]

    times = defaultdict(list)
    for t in touches:
        times[person(t)].append(datetime.fromisoformat(t["occurred_at"]))
    for v in times.values():
        v.sort()
    path_lengths = []
    for c in conversions:
        at = datetime.fromisoformat(c["occurred_at"])
        assert utc_day(c["occurred_at"]) <= summary.end_date
        ts = times.get(person(c), [])
        path_lengths.append(bisect.bisect_right(ts, at) - bisect.bisect_left(ts, at - timedelta(days=30)))
    attributed = sum(n > 0 for n in path_lengths) / len(path_lengths)
    assert attributed > 0.85
    assert sum(n >= 2 for n in path_lengths) / len(path_lengths) > 0.3  # multi-touch paths


def test_late_files_and_resent_events(sample):
    summary, landing = sample
    late_kinds = set()
    for path, folder, name, lines in landing.feeds["touchpoints"]:
        if name.startswith("late"):
            days = {utc_day(json.loads(line)["occurred_at"]) for line in lines if touch_problem(line) is None}
            late_kinds |= {"old folder" if d == folder else "past events" for d in days if d <= folder}
    assert late_kinds == {"old folder", "past events"}
    for feed, id_field, problem in (("touchpoints", "event_id", touch_problem),
                                    ("conversions", "conversion_id", lambda l: None)):
        seen, resent = {}, 0
        for path, folder, _, line in sorted(landing.lines(feed), key=lambda r: r[0]):
            if problem(line) is not None:
                continue
            try:
                key = json.loads(line).get(id_field)
            except ValueError:
                continue
            if key is None:
                continue
            if key in seen:
                resent += 1
                assert seen[key] < folder  # re-sent in a later file
            else:
                seen[key] = folder
        assert resent == getattr(summary, feed).resent_lines > 0, feed
    assert summary.conversions.late_files >= 1 and summary.ad_spend.late_files >= 1


def test_clean_data_when_bad_line_rate_is_zero(tmp_path):
    summary = generate(str(tmp_path), days=3, end_date=END, touchpoints_per_day=300, bad_line_rate=0)
    landing = Landing(tmp_path)
    assert not landing.unreadable
    assert all(touch_problem(line) is None for *_, line in landing.lines("touchpoints"))
    assert sum(c.bad_lines for c in summary.feeds.values()) == 0


@pytest.mark.parametrize("bad", [dict(days=0), dict(touchpoints_per_day=0), dict(bad_line_rate=0.9),
                                 dict(currencies=("usd",)), dict(currencies=("USD", UNKNOWN_CURRENCY))])
def test_bad_arguments_are_refused(tmp_path, bad):
    with pytest.raises(ValueError):
        generate(str(tmp_path), **{**ARGS, **bad})


def test_funnel_micro_conversions_narrow_towards_the_purchase_and_come_before_it(sample):
    _, landing = sample
    conversions = landing.conversions
    types = Counter(c["conversion_type"] for c in conversions)
    # many views, fewer carts, fewer checkouts, then the purchases (docs/assists.md, rule 8)
    assert types["view_item"] > types["add_to_cart"] > types["begin_checkout"] > types["purchase"] > 0
    # every purchase's visitor viewed, carted and checked out before it (same person's ids)
    at = lambda c: datetime.fromisoformat(c["occurred_at"].replace("Z", "+00:00"))  # noqa: E731
    steps = defaultdict(list)
    for c in conversions:
        who = c.get("user_id") or c.get("anonymous_id")
        steps[who].append((at(c), c["conversion_type"]))
    checked = 0
    for c in conversions:
        if c["conversion_type"] != "purchase":
            continue
        who = c.get("user_id") or c.get("anonymous_id")
        before = {kind for when, kind in steps[who] if when <= at(c)}
        checked += {"view_item", "add_to_cart", "begin_checkout"} <= before
    assert checked > 0.8 * types["purchase"]


# ---- repeat buyers (docs/customers.md) -------------------------------------------------------

def test_customers_come_back_over_the_days_and_cohorts_mature(tmp_path):
    generate(tmp_path.as_uri(), days=75, end_date=END, touchpoints_per_day=300, seed=3, bad_line_rate=0)
    purchases = defaultdict(set)
    for path in sorted(tmp_path.glob("conversions/*/*.jsonl")):
        for line in path.read_text().splitlines():
            c = json.loads(line)
            if c["conversion_type"] == "purchase" and c.get("user_id"):
                purchases[c["user_id"]].add(datetime.fromisoformat(c["occurred_at"]))
    customers = len(purchases)
    repeat = [sorted(days) for days in purchases.values() if len({d.date() for d in days}) > 1]
    assert customers > 100
    assert len(repeat) / customers > 0.15
    assert any(days[-1] - days[0] > timedelta(days=30) for days in repeat)  # value keeps coming after 30 days


def test_repeat_rate_churn_and_value_depend_on_the_acquisition_channel():
    import numpy as np

    from marketing.dev.sample import _PURCHASE, _Combos, _People, _RepeatBuyers

    rng = np.random.default_rng(5)
    people = _People.draw(rng, 40_000, ("USD",))
    names = [t.channel for t in TRAFFIC]
    email, display = names.index("Email"), names.index("Display")
    n = 20_000
    person = np.arange(2 * n)
    traffic = np.repeat([email, display], n)
    repeats = _RepeatBuyers(np.random.default_rng(6), _Combos.build())
    t_ms, who, _, kind, _, usd = repeats.add(np.zeros(2 * n, dtype=np.int64), person, people.any_device(rng, person),
                                             np.full(2 * n, _PURCHASE), np.zeros(2 * n, dtype=np.int64),
                                             np.full(2 * n, 50.0), traffic, people, 90)
    extra = who[2 * n:]
    per_email, per_display = (extra < n).sum() / n, (extra >= n).sum() / n
    assert per_email > 2 * per_display  # Email customers buy again more often and churn less
    assert len(repeats.touch_t) == len(extra)  # each repeat purchase follows a return visit
    assert np.all(repeats.touch_t * 1000 <= t_ms[2 * n:])
    value = usd[2 * n:]
    assert value[extra < n].mean() > value[extra >= n].mean()


def test_no_device_has_two_visits_closer_than_a_session_apart_return_visits_included(tmp_path):
    """Rule 12 of docs/sources.md: rendered as Segment calls, each visit stays a session of its own, so
    the Segment demo credits the channels the native one does. The repeat buyers' return visits too."""
    generate(tmp_path.as_uri(), days=45, end_date=END, touchpoints_per_day=2000, seed=7, bad_line_rate=0)
    visits = {}
    for path in sorted(tmp_path.glob("touchpoints/*/*")):
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        for line in data.decode().splitlines():
            t = json.loads(line)  # a re-sent copy keeps its first line's device and time
            visits.setdefault(t["event_id"], (t.get("anonymous_id") or f"user {t['user_id']}",
                                              datetime.fromisoformat(t["occurred_at"]).timestamp()))
    by_device = defaultdict(list)
    for device, at in visits.values():
        by_device[device].append(at)
    close = [(device, b - a) for device, times in by_device.items()
             for a, b in zip(sorted(times), sorted(times)[1:]) if b - a < VISIT_GAP]
    assert not close, f"{len(close)} visits closer than VISIT_GAP to the device's previous one: {close[:5]}"
