"""Fixtures shared by the integration tests (the warehouse fixtures are in tests/conftest.py)."""

from __future__ import annotations

import pytest

from .landing import Landing


@pytest.fixture
def landing(tmp_path) -> Landing:
    """An empty landing zone of the contract's layout, in the test's own folder."""
    return Landing(tmp_path / "landing")
