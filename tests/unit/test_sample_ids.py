"""Sample ids are unique per (seed, day): drawing more days adds data instead of repeating ids
the warehouse already holds (which the ingest keeps once, dropping the new day's events)."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
from datetime import date
from pathlib import Path

from marketing.dev.sample import generate

REPO = Path(__file__).resolve().parents[2]


def ids(root: Path, feed: str, field: str) -> set[str]:
    found = set()
    for path in (root / feed).glob("date=*/*.jsonl*"):
        data = path.read_bytes()
        if path.name.endswith(".gz"):
            try:
                data = gzip.decompress(data)
            except OSError:
                continue  # the deliberately unreadable file
        for line in data.decode().splitlines():
            try:
                found.add(json.loads(line)[field])
            except (ValueError, KeyError):
                continue  # the deliberately bad lines
    return found


def test_a_next_day_drawn_with_the_same_seed_brings_new_ids(tmp_path):
    generate(str(tmp_path / "first"), days=3, end_date=date(2026, 3, 3), touchpoints_per_day=400, seed=7)
    generate(str(tmp_path / "next"), days=1, end_date=date(2026, 3, 4), touchpoints_per_day=400, seed=7)
    for feed, field in (("touchpoints", "event_id"), ("conversions", "conversion_id")):
        first, following = ids(tmp_path / "first", feed, field), ids(tmp_path / "next", feed, field)
        assert first and following
        assert not first & following, f"{feed}: the next day repeats {len(first & following)} ids"


def test_another_seed_draws_other_ids_for_the_same_days(tmp_path):
    generate(str(tmp_path / "a"), days=2, end_date=date(2026, 3, 3), touchpoints_per_day=300, seed=7)
    generate(str(tmp_path / "b"), days=2, end_date=date(2026, 3, 3), touchpoints_per_day=300, seed=8)
    assert not ids(tmp_path / "a", "touchpoints", "event_id") & ids(tmp_path / "b", "touchpoints", "event_id")


def test_make_sample_and_make_demo_draw_the_same_volume():
    def sample_args(target: str) -> list[str]:
        out = subprocess.run(["make", "-n", "--no-print-directory", target], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout
        line = next(line for line in out.splitlines() if "marketing sample" in line)
        return re.findall(r"--(?:days|touchpoints-per-day) \S+", line)

    assert sample_args("sample") == sample_args("demo")
    assert any(arg.startswith("--touchpoints-per-day") for arg in sample_args("sample"))
