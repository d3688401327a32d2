"""The registry of models: a model added to it (with a join of its own, as a data-driven model
has) appears in the credits view and the daily marts after the next run, and goes when removed."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from marketing.attribution import models, run_attribution
from marketing.config import AttributionParams

from .attribution_fixtures import DAY, T0, add_conversion, add_spend, add_touch, query

pytestmark = pytest.mark.integration
PARAMS = AttributionParams()


@dataclass(frozen=True)
class InlineModel(models.Model):
    """A model whose rule is given here rather than in a file (for this test only)."""

    credit_sql: str = ""
    join_sql: str = ""

    @property
    def credit(self) -> str:
        return self.credit_sql

    @property
    def joins(self) -> str:
        return self.join_sql


# Linear again, computed from a relation joined beside the path row, as a removal-effects table would be.
EVEN = InlineModel(
    "even_split", "Even split", join=True,
    credit_sql="even_split.share",
    join_sql="left join lateral (select 1.0::double precision / p.path_length as share) as even_split on true",
)


def registry_with(monkeypatch, *extra: models.Model) -> None:
    registry = (*models.REGISTRY, *extra)
    monkeypatch.setattr(models, "REGISTRY", registry)
    monkeypatch.setattr(models, "MODELS", tuple(m.name for m in registry))


def by_model(db, table: str, columns: str) -> dict:
    rows = query(db, f"select model, {columns} from {table} order by 2, 3")
    out: dict = {}
    for model, *rest in rows:
        out.setdefault(model, []).append(tuple(rest))
    return out


def test_a_model_added_to_the_registry_is_computed_by_the_next_run_and_removed_with_it(db, monkeypatch):
    with db, db.cursor() as cur:
        add_touch(cur, "t1", T0 - 2 * DAY, channel="Email", campaign="spring")
        add_touch(cur, "t2", T0 - DAY, channel="Paid Search", campaign="brand")
        add_touch(cur, "t3", T0 - DAY, person="u:bob", channel="Paid Search", campaign="brand")
        add_conversion(cur, "c1", T0, revenue=90)
        add_conversion(cur, "c2", T0, person="u:bob", revenue=30)
        add_spend(cur, T0.date(), "Paid Search", "brand", 60)
    assert run_attribution(db, PARAMS).reason == "first run"
    assert run_attribution(db, PARAMS).mode == "incremental"

    registry_with(monkeypatch, EVEN)
    summary = run_attribution(db, PARAMS)
    assert (summary.mode, summary.reason.split(" (")[0]) == ("full", "models changed")
    credits = by_model(db, "marts.attribution_credits", "conversion_id, touchpoint_event_id, credit, revenue_credit")
    assert credits["even_split"] == credits["linear"] and len(credits["even_split"]) == 3
    daily = by_model(db, "marts.channel_attribution_daily", "date, channel, conversions, revenue, credit_rows")
    assert daily["even_split"] == daily["linear"]
    roas = by_model(db, "marts.roas_daily", "date, channel, spend, attributed_conversions, attributed_revenue, roas, cpa")
    assert roas["even_split"] == roas["linear"]
    # An incremental run keeps the new model up to date like the others.
    with db, db.cursor() as cur:
        add_touch(cur, "t4", T0 - DAY, person="u:bob", channel="Email", campaign="spring")
    assert run_attribution(db, PARAMS).mode == "incremental"
    daily = by_model(db, "marts.channel_attribution_daily", "date, channel, conversions, revenue, credit_rows")
    assert daily["even_split"] == daily["linear"]

    monkeypatch.undo()
    assert run_attribution(db, PARAMS).reason.startswith("models changed")
    for table in ("marts.attribution_credits", "marts.channel_attribution_daily", "marts.roas_daily"):
        assert query(db, f"select count(*) from {table} where model = 'even_split'") == [(0,)]
