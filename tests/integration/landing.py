"""A landing zone in a temporary directory, written the way exporters deliver files, and loaded
with the real ingest: the whole of it (`ingest`, what `make run` does) or file by file (`load`)."""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import date
from pathlib import Path

from marketing.config import Settings
from marketing.pipeline import ingest_all

JSON_FEEDS = ("touchpoints", "conversions", "ga4", "segment")


class Landing:
    def __init__(self, root: Path, **settings):
        """`settings` (e.g. reporting_timezone="Asia/Tokyo") apply to every load; see `settings()`."""
        self.root = root
        self.overrides = settings
        self._classifier = None

    @property
    def url(self) -> str:
        return self.root.as_uri()

    def write(self, feed: str, day: date | str, name: str, records, *, gz: bool = False) -> Path:
        """Write one file into `<feed>/date=<day>/`; returns its path.

        A `name` without an extension gets the feed's (.jsonl or .csv, then .gz when `gz`).
        Dict records become JSON lines (touchpoints, conversions) or CSV rows under a header of
        the first record's keys (ad_spend, fx_rates); string records are written as they are.
        """
        folder = self.root / feed / f"date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        if "." not in name:
            name += (".jsonl" if feed in JSON_FEEDS else ".csv") + (".gz" if gz else "")
        records = list(records)
        if records and isinstance(records[0], dict) and feed not in JSON_FEEDS:
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=list(records[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(records)
            text = out.getvalue()
        else:
            text = "".join((json.dumps(r) if isinstance(r, dict) else r) + "\n" for r in records)
        path = folder / name
        if gz:
            path.write_bytes(gzip.compress(text.encode()))
        else:
            path.write_text(text)
        return path

    def settings(self, **overrides) -> Settings:
        """Settings of this landing zone, from environment-style names (reporting_timezone=…)."""
        values = {**self.overrides, **overrides}
        return Settings.from_env({"LANDING_URL": self.url, **{k.upper(): str(v) for k, v in values.items()}})

    def ingest(self, warehouse_url: str, **overrides) -> list[dict]:
        """The whole ingest, as `make run` does it: migrate, discover, load every feed."""
        return ingest_all(warehouse_url, self.settings(**overrides))

    def load(self, conn):
        """Load every pending file on an open connection, each in its own transaction; returns the results."""
        from marketing.ingest.load import classifier_for, load_file, pending_files

        settings = self.settings()
        if self._classifier is None:
            self._classifier = classifier_for(settings)
        return [load_file(conn, f, settings, self._classifier) for f in pending_files(conn, settings.landing_url)]


def touch(event_id: str, at: str, anonymous_id: str | None = "a1", **fields) -> dict:
    return {"event_id": event_id, "occurred_at": at, "anonymous_id": anonymous_id, **fields}


def conversion(conversion_id: str, at: str, revenue=0, currency=None, **fields) -> dict:
    line = {"conversion_id": conversion_id, "occurred_at": at, "conversion_type": "purchase", "revenue": revenue, **fields}
    if currency:
        line["currency"] = currency
    if "user_id" not in fields and "anonymous_id" not in fields:
        line["anonymous_id"] = "a1"
    return line


def rows(db, query: str, params=None) -> list[tuple]:
    """Every row of `query` on the connection `db`, which is left with no transaction open."""
    with db.cursor() as cur:
        cur.execute(query, params)
        result = cur.fetchall()
    db.commit()
    return result
