"""Data-quality checks on what one ingest run loaded; a failure names the files.

The checks run after the loads have committed, so a failing check fails its task while the
good rows stay loaded (docs/contract.md, 1.5 Bad input).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from marketing.config import Settings
from marketing.sqlfiles import SqlFiles

SQL = SqlFiles(__file__, "sql/quality")


class QualityCheckFailed(Exception):
    """One or more checks failed; the message lists each with the files concerned."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str


def _files(rows: Sequence[tuple], describe) -> str:
    return "; ".join(describe(row) for row in rows)


def run_checks(conn, settings: Settings, file_ids: Sequence[int]) -> list[CheckResult]:
    """Run every check on the files `file_ids` (the manifest rows of one run)."""
    binds = {"file_ids": list(file_ids), "max_future_seconds": settings.max_future_hours * 3600}
    results = []
    with conn.cursor() as cur:
        cur.execute(SQL("null_keys"), binds)
        rows = cur.fetchall()
        results.append(CheckResult("no_null_keys", not rows, _files(rows, lambda r: f"{r[0]} ({r[1]} rows)")))

        cur.execute(SQL("duplicate_ids"), binds)
        rows = cur.fetchall()
        results.append(CheckResult("no_duplicate_ids", not rows, _files(rows, lambda r: f"{r[0]} ({r[1]} ids)")))

        cur.execute(SQL("quarantine_rate"), binds)
        rows = cur.fetchall()
        run_rate = rows[0][3] if rows else 0.0
        results.append(
            CheckResult(
                "quarantine_rate",
                run_rate <= settings.quarantine_max_rate,
                f"{run_rate:.2%} of lines quarantined (limit {settings.quarantine_max_rate:.2%}) in: "
                + _files(rows, lambda r: f"{r[0]} ({r[2]} of {r[1]} lines)"),
            )
        )

        cur.execute(SQL("future_timestamps"), binds)
        rows = cur.fetchall()
        results.append(
            CheckResult(
                "no_future_timestamps",
                not rows,
                f"events more than {settings.max_future_hours:g} h ahead in: "
                + _files(rows, lambda r: f"{r[0]} ({r[1]} rows, latest {r[2].isoformat()})"),
            )
        )
    conn.commit()
    return results


def assert_quality(conn, settings: Settings, file_ids: Sequence[int]) -> list[CheckResult]:
    """Run the checks and raise QualityCheckFailed naming every failed check and its files."""
    results = run_checks(conn, settings, file_ids)
    failed = [r for r in results if not r.passed]
    if failed:
        raise QualityCheckFailed(
            "data-quality checks failed (the valid rows are loaded; see ops.quarantine):\n"
            + "\n".join(f"- {r.name}: {r.detail}" for r in failed)
        )
    return results
