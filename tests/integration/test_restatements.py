"""Restatements equal a clean load of the final files (README, The landing zone).

Each test plays a sequence of deliveries into one warehouse, running attribution after each
load as the scheduler would, then loads only the files the landing zone ends with into a fresh
warehouse and runs attribution once. Both must hold the same core rows (row counts and
checksums; file ids aside, they number deliveries) and the same marts.
"""

from __future__ import annotations

import os
import shutil
from decimal import Decimal

import psycopg2
import pytest

from marketing.pipeline import attribute

from .attribution_fixtures import assert_same_marts, marts
from .landing import Landing, conversion, touch

pytestmark = pytest.mark.integration
SPEND_HEADER = "date,source,medium,campaign,spend,currency"
CORE_COLUMNS = {  # every column but file_id
    "touchpoints": "event_id, occurred_at, person_key, anonymous_id, user_id, source, medium, campaign, channel,"
                   " line_number",
    "conversions": "conversion_id, occurred_at, person_key, anonymous_id, user_id, conversion_type, revenue,"
                   " revenue_original, currency, fx_rate, line_number",
    "ad_spend": "date, source, medium, campaign, channel, spend, spend_original, currency, fx_rate, impressions,"
                " clicks",
    "identities": "anonymous_id, user_id, linked_at, link_event",
    "fx_rates": "date, currency, rate",
}


def core_checksums(url: str) -> dict[str, tuple[int, str]]:
    """(row count, md5 of the sorted rows) of each core table."""
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        out = {}
        for table, columns in CORE_COLUMNS.items():
            cur.execute(f"select count(*), md5(coalesce(string_agg(r::text, E'\\n' order by r::text), ''))"
                        f" from (select {columns} from core.{table}) r")
            out[table] = cur.fetchone()
    conn.close()
    return out


def core_rows(url: str, table: str, columns: str) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(f"select {columns} from core.{table} order by 1, 2")
        result = cur.fetchall()
    conn.close()
    return result


class Sequence:
    """One warehouse that gets the deliveries one by one, each followed by an attribution run."""

    def __init__(self, landing: Landing, url: str):
        self.landing, self.url = landing, url

    def deliver(self) -> list[dict]:
        results = self.landing.ingest(self.url)
        attribute(self.url, self.landing.settings())
        return results

    def assert_equals_clean_load(self, clean_url: str) -> None:
        """A fresh warehouse loaded with only the final files holds the same core and marts."""
        self.landing.ingest(clean_url)
        attribute(clean_url, self.landing.settings())
        assert core_checksums(self.url) == core_checksums(clean_url)
        with psycopg2.connect(self.url) as seq, psycopg2.connect(clean_url) as clean:
            assert_same_marts(marts(seq), marts(clean))
        seq.close()
        clean.close()


@pytest.fixture
def sequence(landing, warehouse_url) -> Sequence:
    return Sequence(landing, warehouse_url)


@pytest.mark.parametrize("copy_to", [("2026-01-05", "a.csv"), ("2026-01-01", "a-resent.csv")])
def test_a_resent_copy_of_an_old_spend_file_changes_nothing(landing, sequence, second_warehouse_url, copy_to):
    old = landing.write("ad_spend", "2026-01-01", "a", [SPEND_HEADER, "2026-01-01,google,cpc,brand,16.04,USD"])
    sequence.deliver()
    landing.write("ad_spend", "2026-01-03", "b", [SPEND_HEADER, "2026-01-01,google,cpc,brand,16.11,USD"])
    sequence.deliver()
    day, name = copy_to
    (landing.root / "ad_spend" / f"date={day}").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(old, landing.root / "ad_spend" / f"date={day}" / name)  # the same bytes, re-sent
    sequence.deliver()
    assert core_rows(sequence.url, "ad_spend", "campaign, spend") == [("brand", Decimal("16.11"))]
    sequence.assert_equals_clean_load(second_warehouse_url)


def test_a_later_folder_restates_spend_whatever_the_delivery_order(landing, sequence, second_warehouse_url):
    landing.write("ad_spend", "2026-01-03", "b", [SPEND_HEADER, "2026-01-01,google,cpc,brand,16.11,USD"])
    sequence.deliver()
    landing.write("ad_spend", "2026-01-01", "a", [SPEND_HEADER, "2026-01-01,google,cpc,brand,16.04,USD"])
    sequence.deliver()  # delivered last, exported first: the later folder's value stands
    assert core_rows(sequence.url, "ad_spend", "campaign, spend") == [("brand", Decimal("16.11"))]
    sequence.assert_equals_clean_load(second_warehouse_url)


def test_a_row_stays_while_any_live_file_carries_it(landing, sequence, second_warehouse_url):
    touches = [touch(f"t{i:03}", f"2026-01-01T{8 + i % 10:02}:{i % 60:02}:00Z", f"d{i % 5}",
                     utm_source="google", utm_medium="cpc") for i in range(100)]
    orders = [conversion(f"o{i}", "2026-01-01T20:00:00Z", 10 + i, "USD", anonymous_id=f"d{i}") for i in range(2)]
    original_t = landing.write("touchpoints", "2026-01-01", "visits", touches)
    original_c = landing.write("conversions", "2026-01-01", "orders", orders)
    landing.write("touchpoints", "2026-01-02", "visits", touches)  # the same lines under another path
    landing.write("conversions", "2026-01-02", "orders", orders)
    sequence.deliver()
    original_t.write_text("")  # the original withdraws every line; the copies still carry them
    original_c.write_text("")
    results = sequence.deliver()
    assert sorted(r["status"] for r in results) == ["restated", "restated"]
    assert len(core_rows(sequence.url, "touchpoints", "event_id, person_key")) == 100
    assert len(core_rows(sequence.url, "conversions", "conversion_id, person_key")) == 2
    sequence.assert_equals_clean_load(second_warehouse_url)


def test_a_restated_login_with_a_corrected_user_id_rekeys_like_a_clean_load(landing, sequence, second_warehouse_url):
    landing.write("touchpoints", "2026-01-01", "visits", [
        touch(f"v{i:02}", f"2026-01-01T0{i % 9}:{i:02}:00Z", "phone", utm_source="google", utm_medium="cpc")
        for i in range(33)])
    login = landing.write("touchpoints", "2026-01-01", "logins",
                          [touch("login", "2026-01-01T09:30:00Z", "phone", user_id="wrong-user")])
    landing.write("conversions", "2026-01-01", "orders",
                  [conversion("o1", "2026-01-01T12:00:00Z", 50, "USD", user_id="right-user")])
    sequence.deliver()
    login.write_text(login.read_text().replace("wrong-user", "right-user"))
    sequence.deliver()
    assert core_rows(sequence.url, "identities", "anonymous_id, user_id") == [("phone", "right-user")]
    keys = {key for key, _ in core_rows(sequence.url, "touchpoints", "person_key, event_id")}
    assert keys == {"u:right-user"}
    sequence.assert_equals_clean_load(second_warehouse_url)


def test_a_withdrawn_login_unlinks_the_device(landing, sequence, second_warehouse_url):
    landing.write("touchpoints", "2026-01-01", "visits", [touch("v1", "2026-01-01T08:00:00Z", "phone")])
    login = landing.write("touchpoints", "2026-01-02", "logins",
                          [touch("login", "2026-01-02T09:30:00Z", "phone", user_id="someone")])
    sequence.deliver()
    login.write_text(touch("login", "2026-01-02T09:30:00Z", "phone").__repr__().replace("'", '"').replace(
        "None", "null") + "\n")
    sequence.deliver()
    assert core_rows(sequence.url, "identities", "anonymous_id, user_id") == []
    sequence.assert_equals_clean_load(second_warehouse_url)


def test_a_restated_file_with_the_same_size_and_the_old_mtime_is_loaded(landing, sequence, second_warehouse_url):
    path = landing.write("ad_spend", "2026-01-01", "s", [SPEND_HEADER, "2026-01-01,google,cpc,brand,90.59,USD"])
    sequence.deliver()
    before = path.stat()
    path.write_text(path.read_text().replace("90.59", "10.59"))  # cp -p, rsync -a: same size, old mtime
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size
    results = sequence.deliver()
    assert [r["status"] for r in results] == ["restated"]
    assert core_rows(sequence.url, "ad_spend", "campaign, spend") == [("brand", Decimal("10.59"))]
    sequence.assert_equals_clean_load(second_warehouse_url)


def test_an_event_first_delivered_in_a_later_folder_is_taken_from_the_earlier_one(landing, sequence,
                                                                                  second_warehouse_url):
    landing.write("touchpoints", "2026-01-03", "b",
                  [touch("e1", "2026-01-01T08:00:00Z", "d1", utm_source="facebook", utm_medium="paid_social")])
    sequence.deliver()
    landing.write("touchpoints", "2026-01-01", "a",  # arrives late in its own, older folder
                  [touch("e1", "2026-01-01T08:00:00Z", "d1", utm_source="google", utm_medium="cpc")])
    sequence.deliver()
    assert core_rows(sequence.url, "touchpoints", "event_id, channel") == [("e1", "Paid Search")]
    sequence.assert_equals_clean_load(second_warehouse_url)


@pytest.mark.parametrize("seed", [1, 2])
def test_any_sequence_of_deliveries_restatements_and_copies_ends_as_a_clean_load(
    landing, sequence, second_warehouse_url, seed
):
    """The general rule: random files, restatements (old modification time kept), byte-identical
    copies and withdrawals, with shared event ids, devices that log in and spend keys."""
    import json
    import random

    rng = random.Random(seed)
    channels = [{"utm_source": "google", "utm_medium": "cpc"}, {"utm_source": "news", "utm_medium": "email"}, {}]

    def touch_line():
        line = touch(f"e{rng.randrange(12)}", f"2026-01-01T{rng.randrange(8, 12):02}:00:00Z", f"d{rng.randrange(4)}",
                     **rng.choice(channels), utm_campaign=rng.choice(["brand", "promo", None]))
        if rng.random() < 0.3:
            line["user_id"] = f"u{rng.randrange(3)}"
        return json.dumps({k: v for k, v in line.items() if v is not None})

    def conversion_line():
        ids = {"user_id": f"u{rng.randrange(3)}"} if rng.random() < 0.4 else {"anonymous_id": f"d{rng.randrange(4)}"}
        return json.dumps(conversion(f"c{rng.randrange(5)}", f"2026-01-01T{rng.randrange(12, 15):02}:00:00Z",
                                     rng.randrange(1, 90), "USD", **ids))

    def spend_line():
        return (f"2026-01-0{rng.randrange(1, 3)},google,cpc,{rng.choice(['brand', 'promo'])},"
                f"{rng.randrange(100, 9999) / 100},USD")

    makers = {"touchpoints": touch_line, "conversions": conversion_line, "ad_spend": spend_line}

    def content(feed):
        lines = [makers[feed]() for _ in range(rng.randrange(0, 7))]
        return "\n".join(([SPEND_HEADER] if feed == "ad_spend" else []) + lines) + "\n"

    def new_path(feed):
        extension = ".csv" if feed == "ad_spend" else ".jsonl"
        return landing.root / feed / f"date=2026-01-0{rng.randrange(1, 6)}" / f"{rng.choice('abcde')}{extension}"

    files: list = []
    for _ in range(8):
        action = rng.choice(["new", "new", "restate", "copy", "withdraw"]) if files else "new"
        if action == "new":
            feed = rng.choice(list(makers))
            path = new_path(feed)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content(feed))
            files.append((feed, path))
        else:
            feed, path = rng.choice(files)
            before = path.stat()
            if action == "copy":
                target = new_path(feed)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
                files.append((feed, target))
            else:
                path.write_text(content(feed) if action == "restate" else "")
                os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # as cp -p leaves it
        sequence.deliver()
    sequence.assert_equals_clean_load(second_warehouse_url)
