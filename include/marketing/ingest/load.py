"""Load landing files into the warehouse: exactly once per file version, one transaction each.

A file's valid lines go to `raw` with COPY and are merged into `core`; its bad lines go to
`ops.quarantine`; its manifest row records what happened. All of it commits together, so a
task killed half way leaves nothing behind and the next run loads the file again.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime

from airflow.sdk import ObjectStoragePath
from psycopg2 import sql

from marketing.config import Settings
from marketing.sqlfiles import SqlFiles
from marketing.warehouse import INGEST_LOCK
from marketing.ingest.channels import ChannelClassifier
from marketing.ingest.parse import (
    FEED_RULES,
    FEEDS,
    FeedContext,
    Reject,
    UnreadableFile,
    copy_field,
    copy_line,
    read_text,
    records,
)

log = logging.getLogger(__name__)

SQL = SqlFiles(__file__)
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
    """A file-like object that feeds COPY from an iterator of text chunks.

    Large reads keep the number of Python calls (and GIL hand-overs to the parsing thread)
    small while Postgres ingests.
    """

    def __init__(self, chunks: Iterable[str]):
        self._chunks = iter(chunks)
        self._buffer = ""

    def read(self, size: int = -1) -> str:
        parts, length = [self._buffer], len(self._buffer)
        for chunk in self._chunks:
            parts.append(chunk)
            length += len(chunk)
            if 0 < size <= length:
                break
        data = "".join(parts)
        if size is None or size < 0:
            self._buffer = ""
            return data
        self._buffer = data[size:]
        return data[:size]

    readline = read


COPY_CHUNK = 1 << 23  # characters per read: few calls, bounded extra memory


def _copy(cur, table: str, columns: Iterable[str], chunks: Iterable[str]) -> None:
    statement = sql.SQL("copy {} ({}) from stdin").format(
        sql.Identifier(*table.split(".")), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    cur.copy_expert(statement.as_string(cur), _CopyStream(chunks), size=COPY_CHUNK)


def feed_context(conn, settings: Settings, classifier: ChannelClassifier, feed: str) -> FeedContext:
    """What a feed's line rules need from the warehouse: the fx rates known so far.

    Read once per feed: rates are never deleted, so a rate that arrives meanwhile can only
    cause a line to be quarantined (and reloaded on re-delivery), never a missing rate.
    """
    fx_known: frozenset = frozenset()
    if feed in ("conversions", "ad_spend"):
        with conn.cursor() as cur:
            cur.execute("select date, currency from core.fx_rates")
            fx_known = frozenset(cur.fetchall())
        conn.commit()
    return FeedContext(classifier, settings.reporting_currency, settings.tz, fx_known)


@dataclass
class ParsedFile:
    """A landing file read and checked, ready to commit: no database needed to make one."""

    landing: LandingFile
    size: int
    checksum: str
    rows: list[str]  # "line_number\tcolumns…\n" per valid line (file_id is prefixed at COPY)
    quarantined: list[tuple[int | None, str | None, str]]
    rows_total: int
    unreadable: bool


def parse_file(landing: LandingFile, ctx: FeedContext) -> ParsedFile:
    """Read a landing file and apply its feed's line rules to every line."""
    with ObjectStoragePath(landing.url).open("rb") as handle:
        data = handle.read()
    feed = FEED_RULES[landing.feed]
    parsed = ParsedFile(landing, len(data), hashlib.sha256(data).hexdigest(), [], [], 0, False)
    try:
        lines = records(feed, read_text(data, gzipped=landing.url.endswith(".gz")))
    except UnreadableFile as exc:
        parsed.unreadable = True
        parsed.quarantined.append((None, None, str(exc)))
        return parsed
    rows, quarantined, row = parsed.rows, parsed.quarantined, feed.row
    for number, raw_text, payload in lines:
        parsed.rows_total += 1
        try:
            if isinstance(payload, Reject):
                raise payload
            rows.append(f"{number}\t{copy_line(row(payload, ctx))}\n")
        except Reject as exc:
            quarantined.append((number, raw_text, str(exc)))
    return parsed


def _with_file_id(file_id: int, rows: list[str]) -> Iterator[str]:
    prefix = f"{file_id}\t"
    batch = 20_000
    for start in range(0, len(rows), batch):
        yield prefix + prefix.join(rows[start:start + batch])


def commit_file(conn, parsed: ParsedFile, settings: Settings) -> FileResult:
    """Load a parsed file in one transaction, or skip it when these exact bytes are loaded."""
    landing, feed = parsed.landing, FEED_RULES[parsed.landing.feed]
    result = FileResult(landing.feed, landing.url, "unreadable" if parsed.unreadable else "loaded")
    with conn, conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(hashtext(%s))", (INGEST_LOCK,))
        # Sorting a file's rows for the merge should not spill. And a commit lost in a crash is
        # safe to lose: data and manifest row go together, so the file is simply loaded again.
        cur.execute("set local work_mem = '128MB'; set local synchronous_commit = off")
        cur.execute(
            "select checksum from ops.load_manifest where path = %s order by file_id desc limit 1", (landing.url,)
        )
        previous = cur.fetchone()
        if previous and previous[0] == parsed.checksum:
            result.status = "unchanged"
            return result
        restated = previous is not None
        cur.execute(
            "insert into ops.load_manifest (feed, path, size, checksum, rows_total, rows_loaded, rows_quarantined)"
            " values (%s, %s, %s, %s, %s, %s, %s) returning file_id",
            (landing.feed, landing.url, parsed.size, parsed.checksum, parsed.rows_total, len(parsed.rows),
             len(parsed.quarantined)),
        )
        file_id = result.file_id = cur.fetchone()[0]
        result.rows_total, result.rows_loaded = parsed.rows_total, len(parsed.rows)
        result.rows_quarantined = len(parsed.quarantined)
        if parsed.rows:
            _copy(cur, f"raw.{feed.name}", ("file_id", "line_number", *feed.columns), _with_file_id(file_id, parsed.rows))
        if parsed.quarantined:
            _copy(
                cur,
                "ops.quarantine",
                ("file_id", "feed", "path", "line_number", "raw_text", "reason"),
                (
                    "\t".join(map(copy_field, (file_id, landing.feed, landing.url, n, t, why))) + "\n"
                    for n, t, why in parsed.quarantined
                ),
            )
        params = {
            "file_id": file_id,
            "path": landing.url,
            "tz": settings.reporting_timezone,
            "reporting_currency": settings.reporting_currency,
        }
        if restated:
            result.status = "restated" if result.status == "loaded" else result.status
            cur.execute(SQL(f"{feed.name}_restate"), params)
        if parsed.rows:
            if feed.name in ("touchpoints", "conversions"):
                cur.execute(SQL("identities"), {**params, "feed": feed.name})
            cur.execute(SQL(feed.name), params)
        if parsed.rows or restated:
            result.changed = list(CHANGES[feed.name])
    log.info(
        "%s %s: %d lines, %d loaded, %d quarantined",
        result.status, landing.url, result.rows_total, result.rows_loaded, result.rows_quarantined,
    )
    return result


def load_file(conn, landing: LandingFile, settings: Settings, classifier: ChannelClassifier) -> FileResult:
    """Load one landing file (or skip it when these exact bytes are loaded already)."""
    ctx = feed_context(conn, settings, classifier, landing.feed)
    return commit_file(conn, parse_file(landing, ctx), settings)


def load_feed(conn, feed: str, files: Iterable[LandingFile], settings: Settings, classifier: ChannelClassifier) -> list[FileResult]:
    """Load the pending files of one feed in order, each in its own transaction.

    The next file is parsed in a second thread while Postgres merges the current one (the
    driver releases the GIL while it waits), so both cores work.
    """
    files = [f for f in files if f.feed == feed]
    if not files:
        return []
    ctx = feed_context(conn, settings, classifier, feed)
    results = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"parse-{feed}") as pool:
        upcoming = pool.submit(parse_file, files[0], ctx)
        for following in [*files[1:], None]:
            parsed = upcoming.result()
            if following is not None:
                upcoming = pool.submit(parse_file, following, ctx)
            results.append(commit_file(conn, parsed, settings))
    return results


def classifier_for(settings: Settings) -> ChannelClassifier:
    """The channel classifier the settings ask for."""
    return ChannelClassifier.load(settings.channel_rules_file, settings.own_domains)
