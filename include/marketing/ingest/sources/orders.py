"""The orders database: conversions extracted from production, incrementally by watermark.

Each run reads the rows whose `updated_at` is past the watermark minus ORDERS_OVERLAP_MINUTES
(commits land late), through a server-side cursor in batches, in a read-only transaction on
the source that ends with the read. In the warehouse the whole run is one transaction: its
rows (`raw.orders`, one manifest row per run), the conversions they add or restate, the
quarantined rows (with their key and reason) and the moved watermark commit together, so a
failed run leaves the watermark where it was. Rules: docs/sources.md.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import orjson
import psycopg2

from marketing.config import Settings
from marketing.ingest.parse import EARLIEST, LATEST, TEXT_LIMIT, Reject, _currency, copy_field, copy_line
from marketing.ingest.sources.events import NATIVE_SQL, SQL
from marketing.warehouse import INGEST_LOCK

log = logging.getLogger(__name__)

SOURCE = "orders"
CONN_ID = "orders_source"  # the Airflow connection; ORDERS_SOURCE_URL outside Airflow
DEFAULT_QUERY_FILE = Path(__file__).resolve().parent / "sql" / "orders.sql"
BATCH_ROWS = 10_000
BEGINNING = datetime(1900, 1, 1, tzinfo=timezone.utc)
COLUMNS = ("conversion_id", "occurred_at", "user_id", "anonymous_id", "conversion_type", "revenue", "currency",
           "updated_at")
RAW_COLUMNS = ("file_id", "line_number", "conversion_id", "occurred_at", "anonymous_id", "user_id",
               "conversion_type", "revenue", "currency", "updated_at")


def query_text(settings: Settings) -> str:
    """The extract's SQL: ORDERS_QUERY_FILE, or the packaged default (table `orders`)."""
    return (settings.orders_query_file or DEFAULT_QUERY_FILE).read_text()


def _text(value: object, name: str, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise Reject(f"missing required field {name}")
        return None
    text = str(value)
    if len(text) > TEXT_LIMIT:  # the native limit (README, "Bad input")
        raise Reject(f"{name} longer than {TEXT_LIMIT} characters ({len(text)})")
    return text


def _moment(value: object, name: str) -> datetime:
    if value is None:
        raise Reject(f"missing required field {name}")
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise Reject(f"{name} is not an RFC 3339 timestamp: {value!r}") from None
    if not isinstance(value, datetime):
        raise Reject(f"{name} is not a timestamp: {value!r}")
    if value.tzinfo is None:
        raise Reject(f"{name} has no time zone (use timestamptz in the source)")
    try:
        inside = EARLIEST <= value < LATEST  # the native range (README, "Bad input")
    except OverflowError:
        inside = False
    if not inside:
        raise Reject(f"{name} is out of range: {value.isoformat()} (from {EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d}, UTC, end excluded)")
    return value


def order_row(record: dict, fx_known: frozenset, settings: Settings) -> tuple:
    """One source row → raw.orders columns after file_id and line_number (contract 1.2's rules)."""
    conversion_id = _text(record.get("conversion_id"), "conversion_id", required=True)
    occurred_at = _moment(record.get("occurred_at"), "occurred_at")
    user_id, anonymous_id = _text(record.get("user_id"), "user_id"), _text(record.get("anonymous_id"), "anonymous_id")
    if user_id is None and anonymous_id is None:
        raise Reject("needs anonymous_id or user_id (both missing)")
    conversion_type = _text(record.get("conversion_type"), "conversion_type", required=True)
    revenue = record.get("revenue")
    try:
        amount = Decimal(0) if revenue is None else Decimal(str(revenue))
    except ArithmeticError:
        raise Reject(f"revenue is not a number: {revenue!r}") from None
    if not amount.is_finite():
        raise Reject(f"revenue is not a finite number: {revenue!r}")
    currency = None if record.get("currency") in (None, "") else _currency(record["currency"])
    if amount != 0:
        if currency is None:
            raise Reject("currency is required when revenue is not 0")
        day = occurred_at.astimezone(settings.tz).date()
        if currency != settings.reporting_currency and (day, currency) not in fx_known:
            raise Reject(f"no fx rate for {currency} on {day.isoformat()} (add it to fx_rates)")
    updated_at = _moment(record.get("updated_at"), "updated_at")
    return (conversion_id, occurred_at.isoformat(), anonymous_id, user_id, conversion_type, str(amount), currency,
            updated_at.isoformat())


def _json(record: dict) -> str:
    return orjson.dumps(record, default=str).decode()


def _source_rows(source_url: str, query: str, since: datetime) -> Iterable[list[dict]]:
    """Batches of the extract's rows, read through a server-side cursor in a read-only transaction."""
    source = psycopg2.connect(source_url)
    try:
        source.set_session(readonly=True)
        with source.cursor(name="marketing_orders_extract") as cur:
            cur.itersize = BATCH_ROWS
            cur.execute(query, {"since": since})
            while batch := cur.fetchmany(BATCH_ROWS):
                names = [column.name for column in cur.description]
                yield [dict(zip(names, row)) for row in batch]
        source.commit()  # ends the read and its snapshot: no lock outlives it
    finally:
        source.close()


def extract_orders(conn, source_url: str, settings: Settings) -> dict:
    """One incremental extract of the orders database into core, in one warehouse transaction."""
    from marketing.ingest.load import _copy

    query = query_text(settings)
    path = f"orders:{(settings.orders_query_file or DEFAULT_QUERY_FILE).name}"
    result = {"feed": SOURCE, "url": path, "status": "loaded", "file_id": None, "rows_total": 0, "rows_loaded": 0,
              "rows_quarantined": 0, "changed": [], "watermark": None}
    with conn, conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(hashtext(%s))", (INGEST_LOCK,))
        cur.execute("select watermark from ops.source_watermarks where source = %s for update", (SOURCE,))
        found = cur.fetchone()
        watermark = found[0] if found else None
        since = watermark - timedelta(minutes=settings.orders_overlap_minutes) if watermark else BEGINNING
        cur.execute("select date, currency from core.fx_rates")
        fx_known = frozenset(cur.fetchall())
        cur.execute(
            "insert into ops.load_manifest (feed, path, size, checksum) values (%s, %s, 0, '') returning file_id",
            (SOURCE, path),
        )
        file_id = result["file_id"] = cur.fetchone()[0]
        digest, line, newest, quarantined = hashlib.sha256(), 0, watermark, []
        for batch in _source_rows(source_url, query, since):
            good = []
            for record in batch:
                line += 1
                digest.update(_json(record).encode())
                try:
                    good.append(f"{file_id}\t{line}\t{copy_line(order_row(record, fx_known, settings))}\n")
                except Reject as exc:
                    quarantined.append((line, _json(record), f"conversion_id {record.get('conversion_id')!r}: {exc}"))
                updated = record.get("updated_at")
                if isinstance(updated, datetime) and updated.tzinfo is not None and (newest is None or updated > newest):
                    newest = updated
            if good:
                _copy(cur, "raw.orders", RAW_COLUMNS, ["".join(good)])
        if line == 0:  # nothing changed in the source: no manifest row, the watermark stays
            cur.execute("delete from ops.load_manifest where file_id = %s", (file_id,))
            result.update(status="unchanged", file_id=None)
            return result
        if quarantined:
            _copy(cur, "ops.quarantine", ("file_id", "feed", "path", "line_number", "raw_text", "reason"),
                  ["".join("\t".join(map(copy_field, (file_id, SOURCE, path, n, text, why))) + "\n"
                           for n, text, why in quarantined)])
        loaded = line - len(quarantined)
        cur.execute(
            "update ops.load_manifest set size = %s, checksum = %s, rows_total = %s, rows_loaded = %s,"
            " rows_quarantined = %s where file_id = %s",
            (line, digest.hexdigest(), line, loaded, len(quarantined), file_id),
        )
        params = {"file_id": file_id, "path": path, "tz": settings.reporting_timezone,
                  "reporting_currency": settings.reporting_currency}
        if loaded:
            cur.execute(SQL("orders_restate"), params)
            cur.execute(NATIVE_SQL("identities"), {**params, "feed": SOURCE})
            cur.execute(NATIVE_SQL("identities_rekey"), params)
            cur.execute(NATIVE_SQL("conversions"), params)
            result["changed"] = ["conversions", "identities"]
        if newest is not None:
            cur.execute(SQL("source_watermark"), {"source": SOURCE, "watermark": newest, "file_id": file_id})
            result["watermark"] = newest.isoformat()
        result.update(rows_total=line, rows_loaded=loaded, rows_quarantined=len(quarantined))
    log.info("orders extract since %s: %d rows, %d loaded, %d quarantined", since, line, loaded, len(quarantined))
    return result


__all__ = ["CONN_ID", "extract_orders", "order_row", "query_text"]
