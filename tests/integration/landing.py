"""A landing zone in a temporary directory, written the way exporters deliver files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from marketing.config import Settings
from marketing.pipeline import ingest_all


class Landing:
    def __init__(self, root: Path):
        self.root = root

    @property
    def url(self) -> str:
        return self.root.as_uri()

    def write(self, feed: str, day: str, name: str, lines: list, *, gz: bool = False) -> Path:
        """Write one file; dict lines become JSON, strings are written as they are."""
        folder = self.root / feed / f"date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        text = "".join((json.dumps(line) if isinstance(line, dict) else line) + "\n" for line in lines)
        path = folder / name
        if gz:
            path.write_bytes(gzip.compress(text.encode()))
        else:
            path.write_text(text)
        return path

    def settings(self, **overrides) -> Settings:
        env = {"LANDING_URL": self.url, **{k.upper(): str(v) for k, v in overrides.items()}}
        return Settings.from_env(env)

    def ingest(self, warehouse_url: str, **overrides) -> list[dict]:
        return ingest_all(warehouse_url, self.settings(**overrides))


def touch(event_id: str, at: str, anonymous_id: str | None = "a1", **fields) -> dict:
    return {"event_id": event_id, "occurred_at": at, "anonymous_id": anonymous_id, **fields}


def conversion(conversion_id: str, at: str, revenue=0, currency=None, **fields) -> dict:
    line = {"conversion_id": conversion_id, "occurred_at": at, "conversion_type": "purchase", "revenue": revenue, **fields}
    if currency:
        line["currency"] = currency
    if "user_id" not in fields and "anonymous_id" not in fields:
        line["anonymous_id"] = "a1"
    return line
