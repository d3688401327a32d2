"""What a run reports about its lines: the quarantine rate over all of the run's lines, and the
lines skipped because their ids were loaded before (per file, in the manifest, in the log)."""

from __future__ import annotations

import logging

import pytest

from marketing.ingest.quality import assert_quality, run_checks

from .landing import conversion, rows, touch

pytestmark = pytest.mark.integration


def test_quarantine_rate_is_a_share_of_all_the_runs_lines(landing, warehouse_url, db):
    # 2 bad lines in a file of 100, and a clean file of 900: 0.2% of the run, not 2% of one file.
    dirty = [touch(f"d{i}", "2026-01-01T10:00:00Z") for i in range(98)] + ["not json", "{}"]
    landing.write("touchpoints", "2026-01-01", "dirty.jsonl", dirty)
    landing.write("touchpoints", "2026-01-01", "clean.jsonl",
                  [touch(f"c{i}", "2026-01-01T11:00:00Z") for i in range(900)])
    results = landing.ingest(warehouse_url)
    file_ids = [r["file_id"] for r in results]
    settings = landing.settings()

    rate = next(r for r in run_checks(db, settings, file_ids) if r.name == "quarantine_rate")
    assert rate.passed, rate.detail
    assert rate.detail.startswith("0.20% of lines quarantined"), rate.detail
    assert "dirty.jsonl (2 of 100 lines)" in rate.detail
    assert_quality(db, settings, file_ids)  # does not raise
    # the same run under a limit of 0.1% fails, naming the file
    strict = landing.settings(quarantine_max_rate=0.001)
    assert not next(r for r in run_checks(db, strict, file_ids) if r.name == "quarantine_rate").passed


def test_lines_whose_ids_were_loaded_before_are_counted_and_reported_per_file(landing, warehouse_url, db, caplog):
    landing.write("touchpoints", "2026-01-01", "a.jsonl",
                  [touch("e1", "2026-01-01T10:00:00Z"), touch("e2", "2026-01-01T11:00:00Z")])
    landing.write("conversions", "2026-01-01", "a.jsonl", [conversion("c1", "2026-01-01T12:00:00Z", 10, "USD")])
    landing.ingest(warehouse_url)
    # A second delivery repeats e1 and c1 (a re-sent event, or sample data drawn again) and
    # repeats e3 within the file: three lines add nothing, and the run says so.
    landing.write("touchpoints", "2026-01-02", "b.jsonl",
                  [touch("e1", "2026-01-02T10:00:00Z"), touch("e3", "2026-01-02T11:00:00Z"),
                   touch("e3", "2026-01-02T12:00:00Z"), touch("e4", "2026-01-02T13:00:00Z")])
    landing.write("conversions", "2026-01-02", "b.jsonl",
                  [conversion("c1", "2026-01-02T12:00:00Z", 10, "USD"), conversion("c2", "2026-01-02T12:00:00Z", 5, "USD")])
    with caplog.at_level(logging.INFO, logger="marketing.ingest.load"):
        results = {r["url"].split("/", 2)[-1].split("landing/")[-1]: r for r in landing.ingest(warehouse_url)}

    assert results["touchpoints/date=2026-01-02/b.jsonl"]["rows_skipped"] == 2
    assert results["conversions/date=2026-01-02/b.jsonl"]["rows_skipped"] == 1
    assert rows(db, "select feed, rows_total, rows_loaded, rows_skipped, rows_quarantined from ops.load_manifest"
                    " order by file_id") == [
        ("conversions", 1, 1, 0, 0), ("touchpoints", 2, 2, 0, 0),
        ("conversions", 2, 2, 1, 0), ("touchpoints", 4, 4, 2, 0),
    ]
    lines = [r.getMessage() for r in caplog.records if "b.jsonl" in r.getMessage()]
    assert any("2 skipped (ids already loaded)" in line for line in lines), lines
    assert any("1 skipped (ids already loaded)" in line for line in lines), lines
