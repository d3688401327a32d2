"""The registry of attribution models, and the rule that SQL files run as they are."""

import re
from pathlib import Path

from psycopg2 import sql

from marketing.attribution import models
from marketing.attribution.models import LABELS, MODELS, REGISTRY

ROOT = Path(__file__).resolve().parents[2]


def test_the_registry_holds_the_seven_models_of_the_contract_in_order():
    assert MODELS == ("first_touch", "last_touch", "last_non_direct", "linear", "time_decay", "position_based",
                      "markov")
    assert set(LABELS) == set(MODELS) and all(LABELS.values())
    assert [m.name for m in REGISTRY if m.fitted] == ["markov"]


def test_every_model_has_its_rule_file_and_only_registered_models_have_one():
    rule_files = {p.name.removesuffix(".sql") for p in (ROOT / "include/marketing/attribution/sql/models").glob("*.sql")}
    expected = {m.name for m in REGISTRY} | {f"{m.name}.join" for m in REGISTRY if m.join}
    assert rule_files == expected
    assert all(model.credit and not model.credit.startswith("--") for model in REGISTRY)


def test_the_credit_sums_take_every_summed_model_in_one_pass_over_the_paths():
    text = repr(models.credit_sums(sql.Identifier("paths")))
    assert text.count("Identifier('paths')") == 1
    for model in REGISTRY:
        assert (model.credit in text) != model.fitted  # a fitted model's rows are restated after its fit


def test_the_models_digest_changes_with_a_rule(monkeypatch):
    before = models.models_digest()
    changed = (*REGISTRY[:-2], models.Model("position_based", "Position based", whole=True), REGISTRY[-1])
    monkeypatch.setattr(models, "REGISTRY", changed)
    assert models.models_digest() != before


def test_sql_files_run_as_they_are_without_holes_or_doubled_percent_signs():
    files = [*ROOT.joinpath("include").rglob("*.sql"), *ROOT.joinpath("plugins").rglob("*.sql")]
    assert files
    hole = re.compile(r"\{[a-z_]+\}")
    offenders = [str(f.relative_to(ROOT)) for f in files if "%%" in f.read_text() or hole.search(f.read_text())]
    assert offenders == []
