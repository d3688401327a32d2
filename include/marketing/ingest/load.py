"""Load landing files into the warehouse: exactly once per file version, one transaction each.

A file's valid lines go to `raw` with COPY and are merged into `core`; its bad lines go to
`ops.quarantine`; its manifest row records what happened. All of it commits together, so a
task killed half way leaves nothing behind and the next run loads the file again.

Core holds what the live files say (the newest version of each path), whatever order they came
in: a key that several live files carry takes the line of the best-ranked file (README, The
landing zone), so any sequence of deliveries and restatements ends as a clean load of the final
files would.
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
# Feeds whose ids are kept once (the first loaded wins): their repeated ids are counted as skipped.
SKIPPED_IDS = ("touchpoints", "conversions")
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
    etag: str | None = None  # the store's content tag (S3 ETag, GCS md5Hash), when it has one


@dataclass
class FileResult:
    """What loading one file did (JSON-friendly for XCom)."""

    feed: str
    url: str
    status: str  # loaded | restated | unchanged | unreadable | missing (listed, gone before read)
    file_id: int | None = None
    rows_total: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_skipped: int = 0  # valid lines whose id core held already (first loaded wins)
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


# Listing keys under which object stores give a tag that changes whenever the content does.
CONTENT_TAGS = ("ETag", "etag", "md5Hash", "crc32c", "content_md5")


def _content_tag(info: dict) -> str | None:
    for key in CONTENT_TAGS:
        value = info.get(key)
        if value:
            return f"{key}:{value}"
    return None


def landing_path(url: str) -> ObjectStoragePath:
    """The ObjectStoragePath of a listed file's URL, whatever characters its name holds.

    A URL parser drops tabs and newlines, so a name with one cannot go through the parser:
    the part of the URL before the first such segment does, the rest is joined segment by segment.
    """
    if not any(c in url for c in "\t\n\r"):
        return ObjectStoragePath(url)
    scheme, _, rest = url.partition("://")
    segments = rest.split("/")
    plain = next(i for i, segment in enumerate(segments) if any(c in segment for c in "\t\n\r"))
    path = ObjectStoragePath(f"{scheme}://" + "/".join(segments[:plain]))
    for segment in segments[plain:]:
        path = path / segment
    return path


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
            info = dict(path.stat())
            found.append(LandingFile(feed, str(path), int(info["size"]), _modified(info), _content_tag(info)))
    order = {feed: i for i, feed in enumerate(FEEDS)}
    return sorted(found, key=lambda f: (order[f.feed], f.url))


def pending_files(conn, landing_url: str) -> list[LandingFile]:
    """Landing files not loaded yet, or whose content changed since.

    Size and modification time are not enough (`cp -p` and `rsync -a` keep the old time): a
    file of a known path is compared by the store's content tag when it gives one, and by its
    sha256 otherwise. `load_file` compares the checksum again and skips what is unchanged.
    """
    with conn.cursor() as cur:
        cur.execute(
            "select distinct on (path) path, size, checksum, etag"
            " from ops.load_manifest order by path, file_id desc"
        )
        loaded = {path: (size, checksum, etag) for path, size, checksum, etag in cur.fetchall()}
    conn.commit()
    pending = []
    for f in list_landing(landing_url):
        seen = loaded.get(f.url)
        if seen is None or seen[0] != f.size:
            pending.append(f)
        elif f.etag is not None and seen[2] is not None:
            if f.etag != seen[2]:
                pending.append(f)
        elif file_checksum(f) != seen[1]:
            pending.append(f)
    return pending


def file_checksum(landing: LandingFile) -> str | None:
    """The sha256 of a landing file's bytes (None when it vanished meanwhile)."""
    try:
        with landing_path(landing.url).open("rb") as handle:
            digest = hashlib.sha256()
            while chunk := handle.read(1 << 22):
                digest.update(chunk)
    except FileNotFoundError:
        return None
    return digest.hexdigest()


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
    missing: bool = False  # gone between listing and reading: nothing to load, nothing to record


def parse_file(landing: LandingFile, ctx: FeedContext) -> ParsedFile:
    """Read a landing file and apply its feed's line rules to every line."""
    try:
        with landing_path(landing.url).open("rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return ParsedFile(landing, 0, "", [], [], 0, False, missing=True)
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
    if parsed.missing:
        result.status = "missing"
        log.warning("missing %s: listed, then gone before it was read; not loaded", landing.url)
        return result
    with conn, conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(hashtext(%s))", (INGEST_LOCK,))
        # Sorting a file's rows for the merge should not spill. And a commit lost in a crash is
        # safe to lose: data and manifest row go together, so the file is simply loaded again.
        cur.execute("set local work_mem = '128MB'; set local synchronous_commit = off")
        cur.execute(
            "select file_id, checksum from ops.load_manifest where path = %s order by file_id desc limit 1",
            (landing.url,),
        )
        previous = cur.fetchone()
        if previous and previous[1] == parsed.checksum:
            result.status = "unchanged"
            cur.execute("update ops.load_manifest set etag = %s where file_id = %s", (landing.etag, previous[0]))
            return result
        cur.execute(
            "insert into ops.load_manifest"
            " (feed, path, size, checksum, etag, rows_total, rows_loaded, rows_quarantined)"
            " values (%s, %s, %s, %s, %s, %s, %s, %s) returning file_id",
            (landing.feed, landing.url, parsed.size, parsed.checksum, landing.etag, parsed.rows_total,
             len(parsed.rows), len(parsed.quarantined)),
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
        binds = {
            "file_id": file_id,
            "path": landing.url,
            "tz": settings.reporting_timezone,
            "reporting_currency": settings.reporting_currency,
        }
        if previous:
            result.status = "restated" if result.status == "loaded" else result.status
            cur.execute("update ops.load_manifest set live = false where file_id = %s", (previous[0],))
            binds["previous_file_id"] = previous[0]
            _restate(cur, feed.name, binds)
            result.changed = list(CHANGES[feed.name])
        elif parsed.rows:
            _merge_new(cur, feed.name, binds)
            result.changed = list(CHANGES[feed.name])
        if parsed.rows:
            result.rows_skipped = count_skipped(cur, feed.name, file_id)
    log.info("%s", describe(result))
    return result


IDENTITY_FEEDS = ("touchpoints", "conversions")  # their lines carry identity links
FIRST_WINS = ("touchpoints", "conversions")  # the earliest file keeps a key; in the others the latest restates it


def _merge_new(cur, feed: str, binds: dict) -> None:
    """Merge a file of a new path: its lines win the keys where it ranks better than the holder."""
    cur.execute("select rank from ops.live_files where file_id = %(file_id)s", binds)
    binds["rank"] = cur.fetchone()[0]
    if feed in IDENTITY_FEEDS:
        cur.execute(SQL("identities"), {**binds, "feed": feed})
        cur.execute(SQL("identities_rekey"), binds)
    if feed in FIRST_WINS:
        # Only a file that some live file ranks after can take a key from it: files that arrive
        # in path order (the usual case) skip this look-up of every key.
        cur.execute(
            "select exists (select from ops.live_files"
            " where feed = %(feed)s and rank collate \"C\" > %(rank)s collate \"C\")",
            {**binds, "feed": feed},
        )
        if cur.fetchone()[0]:
            cur.execute(SQL(f"{feed}_beaten"), binds)
    else:
        cur.execute(SQL(f"{feed}_beaten"), binds)
    cur.execute(SQL(feed), binds)


def _restate(cur, feed: str, binds: dict) -> None:
    """A new version of a loaded path: the keys of its old and new versions are taken again from
    the live files, and so are the identity links of the devices they link."""
    if feed in IDENTITY_FEEDS:
        cur.execute(SQL("identities_restate"), binds)
        cur.execute(SQL("identities_rekey"), binds)
    cur.execute(SQL(f"{feed}_restate"), binds)
    if feed == "fx_rates":
        cur.execute(SQL("fx_rates"), binds)  # applies the rates the restatement chose


def count_skipped(cur, feed: str, file_id: int) -> int:
    """Record and return how many valid lines of the file its merge skipped as already-loaded ids."""
    if feed not in SKIPPED_IDS:
        return 0  # spend and rates restate their keys: nothing is skipped
    cur.execute(SQL(f"{feed}_skipped"), {"file_id": file_id})
    skipped = cur.fetchone()[0]
    cur.execute("update ops.load_manifest set rows_skipped = %s where file_id = %s", (skipped, file_id))
    return skipped


def describe(result: FileResult) -> str:
    """One readable line for a file: what it held and what became of its lines."""
    text = f"{result.status} {result.url}: {result.rows_total:,} lines, {result.rows_loaded:,} loaded"
    if result.rows_skipped:
        text += f", {result.rows_skipped:,} skipped (ids already loaded)"
    return text + f", {result.rows_quarantined:,} quarantined"


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
