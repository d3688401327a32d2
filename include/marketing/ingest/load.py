"""Load landing files into the warehouse: exactly once per file version, one transaction each.

A file's valid lines go to `raw` with COPY and are merged into `core`; its bad lines go to
`ops.quarantine`; its manifest row records what happened. All of it commits together, so a
task killed half way leaves nothing behind and the next run loads the file again.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

from airflow.sdk import ObjectStoragePath
from psycopg2 import sql

from marketing.channels import ChannelClassifier
from marketing.config import Settings
from marketing.ingest.parse import FEED_RULES, FEEDS, FeedContext, Reject, UnreadableFile, copy_field, read_text, records

log = logging.getLogger(__name__)

SQL_DIR = Path(__file__).resolve().parents[1] / "sql" / "ingest"
INGEST_LOCK = "marketing.ingest"  # advisory lock: one writer of core at a time
EXTENSIONS = {
    "touchpoints": (".jsonl", ".jsonl.gz"),
    "conversions": (".jsonl", ".jsonl.gz"),
    "ad_spend": (".csv", ".csv.gz"),
    "fx_rates": (".csv", ".csv.gz"),
}
# Which core tables a feed's load can change (each becomes an Airflow Asset).
CHANGES = {
    "touchpoints": ("touchpoints", "identities"),
    "conversions": ("conversions", "identities"),
    "ad_spend": ("ad_spend",),
    "fx_rates": ("fx_rates", "conversions", "ad_spend"),
}


@cache
def sql_text(name: str) -> str:
    """The text of `sql/ingest/<name>.sql`."""
    return (SQL_DIR / f"{name}.sql").read_text()


@dataclass(frozen=True)
class LandingFile:
    """One file found in the landing zone."""

    feed: str
    url: str
    size: int
    modified: float | None = None


@dataclass
class FileResult:
    """What loading one file did (JSON-friendly for XCom)."""

    feed: str
    url: str
    status: str  # loaded | restated | unchanged | unreadable
    file_id: int | None = None
    rows_total: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    changed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def _modified(info: dict) -> float | None:
    """A listing's modification time as epoch seconds, whatever the filesystem calls it."""
    for key in ("mtime", "LastModified", "updated", "last_modified"):
        value = info.get(key)
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                continue
    return None


def list_landing(landing_url: str) -> list[LandingFile]:
    """Every landing file under `landing_url`, in load order (feed, then folder date, then name)."""
    root = ObjectStoragePath(landing_url)
    found: list[LandingFile] = []
    for feed in FEEDS:
        base = root / feed
        if not base.exists():
            continue
        for path in base.glob("date=*/*"):
            if not path.name.endswith(EXTENSIONS[feed]) or not path.is_file():
                continue
            info = path.stat()
            found.append(LandingFile(feed, str(path), int(info["size"]), _modified(dict(info))))
    order = {feed: i for i, feed in enumerate(FEEDS)}
    return sorted(found, key=lambda f: (order[f.feed], f.url))


def pending_files(conn, landing_url: str) -> list[LandingFile]:
    """Landing files not loaded yet, or changed since (same path, other size or newer mtime).

    A cheap pre-filter; the checksum comparison inside `load_file` has the last word.
    """
    with conn.cursor() as cur:
        cur.execute(
            "select distinct on (path) path, size, extract(epoch from loaded_at)"
            " from ops.load_manifest order by path, file_id desc"
        )
        loaded = {path: (size, loaded_at) for path, size, loaded_at in cur.fetchall()}
    conn.commit()
    pending = []
    for f in list_landing(landing_url):
        seen = loaded.get(f.url)
        if seen is None or seen[0] != f.size or f.modified is None or f.modified > float(seen[1]):
            pending.append(f)
    return pending


class _CopyStream:
    """A file-like object that feeds COPY from an iterator of text lines, in large chunks.

    Parsing runs in this process while Postgres ingests the previous chunk in its own,
    so the two overlap on a 2-core machine.
    """

    def __init__(self, lines: Iterable[str], chunk: int = 1 << 16):
        self._lines = iter(lines)
        self._chunk = chunk
        self._buffer = ""

    def read(self, size: int = -1) -> str:
        parts, length = [self._buffer], len(self._buffer)
        want = self._chunk if size is None or size < 0 else max(size, 1)
        for line in self._lines:
            parts.append(line)
            length += len(line)
            if length >= want:
                break
        data = "".join(parts)
        self._buffer = data[want:] if size and size > 0 else ""
        return data[:want] if size and size > 0 else data

    readline = read


def _copy(cur, table: str, columns: Iterable[str], lines: Iterable[str]) -> None:
    statement = sql.SQL("copy {} ({}) from stdin").format(
        sql.Identifier(*table.split(".")), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    cur.copy_expert(statement.as_string(cur), _CopyStream(lines), size=1 << 16)


def _context(cur, settings: Settings, classifier: ChannelClassifier, feed: str) -> FeedContext:
    fx_known: frozenset = frozenset()
    if feed in ("conversions", "ad_spend"):
        cur.execute("select date, currency from core.fx_rates")
        fx_known = frozenset(cur.fetchall())
    return FeedContext(classifier, settings.reporting_currency, settings.tz, fx_known)


def _read(url: str) -> bytes:
    with ObjectStoragePath(url).open("rb") as handle:
        return handle.read()


def load_file(conn, landing: LandingFile, settings: Settings, classifier: ChannelClassifier) -> FileResult:
    """Load one landing file (or skip it when these exact bytes are loaded already)."""
    data = _read(landing.url)
    checksum = hashlib.sha256(data).hexdigest()
    feed = FEED_RULES[landing.feed]
    result = FileResult(landing.feed, landing.url, "loaded")
    with conn, conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(hashtext(%s))", (INGEST_LOCK,))
        cur.execute(
            "select checksum from ops.load_manifest where path = %s order by file_id desc limit 1", (landing.url,)
        )
        previous = cur.fetchone()
        if previous and previous[0] == checksum:
            result.status = "unchanged"
            return result
        restated = previous is not None
        cur.execute(
            "insert into ops.load_manifest (feed, path, size, checksum) values (%s, %s, %s, %s) returning file_id",
            (landing.feed, landing.url, len(data), checksum),
        )
        file_id = result.file_id = cur.fetchone()[0]
        quarantined: list[tuple] = []
        try:
            text = read_text(data, gzipped=landing.url.endswith(".gz"))
            ctx = _context(cur, settings, classifier, landing.feed)
            counts = {"total": 0, "loaded": 0}
            lines = records(feed, text)  # raises UnreadableFile before COPY starts

            def valid_lines() -> Iterator[str]:
                for number, raw_text, payload in lines:
                    counts["total"] += 1
                    try:
                        if isinstance(payload, Reject):
                            raise payload
                        row = feed.row(payload, ctx)
                    except Reject as exc:
                        quarantined.append((number, raw_text, str(exc)))
                        continue
                    counts["loaded"] += 1
                    yield f"{file_id}\t{number}\t" + "\t".join(map(copy_field, row)) + "\n"

            _copy(cur, f"raw.{feed.name}", ("file_id", "line_number", *feed.columns), valid_lines())
            result.rows_total, result.rows_loaded = counts["total"], counts["loaded"]
        except UnreadableFile as exc:
            result.status = "unreadable"
            quarantined = [(None, None, str(exc))]
            result.rows_total = 0
        if quarantined:
            _copy(
                cur,
                "ops.quarantine",
                ("file_id", "feed", "path", "line_number", "raw_text", "reason"),
                (
                    "\t".join(map(copy_field, (file_id, landing.feed, landing.url, n, t, why))) + "\n"
                    for n, t, why in quarantined
                ),
            )
        result.rows_quarantined = len(quarantined)
        params = {
            "file_id": file_id,
            "path": landing.url,
            "tz": settings.reporting_timezone,
            "reporting_currency": settings.reporting_currency,
        }
        if restated:
            result.status = "restated" if result.status == "loaded" else result.status
            cur.execute(sql_text(f"{feed.name}_restate"), params)
        if result.rows_loaded:
            if feed.name in ("touchpoints", "conversions"):
                id_column = "event_id" if feed.name == "touchpoints" else "conversion_id"
                cur.execute(
                    sql.SQL(sql_text("identities")).format(
                        raw_table=sql.Identifier("raw", feed.name), id_column=sql.Identifier(id_column)
                    ),
                    params,
                )
            cur.execute(sql_text(feed.name), params)
        if result.rows_loaded or restated:
            result.changed = list(CHANGES[feed.name])
        cur.execute(
            "update ops.load_manifest set rows_total = %s, rows_loaded = %s, rows_quarantined = %s where file_id = %s",
            (result.rows_total, result.rows_loaded, result.rows_quarantined, file_id),
        )
    log.info(
        "%s %s: %d lines, %d loaded, %d quarantined",
        result.status, landing.url, result.rows_total, result.rows_loaded, result.rows_quarantined,
    )
    return result


def load_feed(conn, feed: str, files: Iterable[LandingFile], settings: Settings, classifier: ChannelClassifier) -> list[FileResult]:
    """Load the pending files of one feed, oldest folder first; each file commits on its own."""
    return [load_file(conn, f, settings, classifier) for f in files if f.feed == feed]


def classifier_for(settings: Settings) -> ChannelClassifier:
    """The channel classifier the settings ask for."""
    return ChannelClassifier.load(settings.channel_rules_file, settings.own_domains)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
