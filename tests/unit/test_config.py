"""The config object: defaults, parsing, validation, and the README table kept in step."""

from pathlib import Path

import pytest

from marketing.config import SETTINGS_DOC, AttributionParams, Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_defaults_match_the_contract():
    settings = Settings.from_env({})
    assert settings.warehouse_url is None
    assert settings.landing_url.startswith("file://") and settings.landing_url.endswith("/data/landing")
    assert settings.reporting_currency == "USD" and settings.reporting_timezone == "UTC"
    assert settings.quarantine_max_rate == 0.01
    assert settings.attribution == AttributionParams()


def test_settings_are_read_from_the_environment():
    settings = Settings.from_env({
        "WAREHOUSE_URL": "postgresql://x@h/db", "REPORTING_CURRENCY": "eur", "OWN_DOMAINS": "Shop.com, blog.shop.com",
        "ATTRIBUTION_POSITION_WEIGHTS": "0.3,0.4,0.3", "ATTRIBUTION_CONVERSION_TYPES": "purchase",
        "ATTRIBUTION_LOOKBACK_DAYS": "7",
    })
    assert settings.warehouse_url == "postgresql://x@h/db"
    assert settings.reporting_currency == "EUR"
    assert settings.own_domains == ("shop.com", "blog.shop.com")
    assert settings.attribution.position_weights == (0.3, 0.4, 0.3)
    assert settings.attribution.conversion_types == ("purchase",)
    assert settings.attribution.lookback_days == 7


@pytest.mark.parametrize("env, message", [
    ({"ATTRIBUTION_POSITION_WEIGHTS": "0.5,0.5,0.5"}, "POSITION_WEIGHTS"),
    ({"ATTRIBUTION_HALF_LIFE_DAYS": "0"}, "HALF_LIFE"),
    ({"ATTRIBUTION_LOOKBACK_DAYS": "many"}, "invalid setting"),
])
def test_invalid_settings_fail_with_the_setting_named(env, message):
    with pytest.raises(ValueError, match=message):
        Settings.from_env(env)


def test_params_digest_changes_with_any_model_parameter():
    assert AttributionParams().digest == AttributionParams().digest
    assert AttributionParams(half_life_days=3).digest != AttributionParams().digest


def test_every_setting_is_in_the_readme_config_table():
    readme = README.read_text()
    for name, _, _ in SETTINGS_DOC:
        assert f"| `{name}` |" in readme, f"{name} is missing from the README's config table"


def test_the_env_file_holds_settings_and_the_environment_wins(tmp_path, monkeypatch):
    env_file = tmp_path / "settings.env"
    env_file.write_text("ATTRIBUTION_LOOKBACK_DAYS=7\nREPORTING_CURRENCY=eur\nAIRFLOW__CORE__EXECUTOR=CeleryExecutor\n")
    monkeypatch.setenv("ENV_FILE", str(env_file))
    for name in ("ATTRIBUTION_LOOKBACK_DAYS", "REPORTING_CURRENCY", "AIRFLOW__CORE__EXECUTOR"):
        monkeypatch.setenv(name, "")  # recorded, so the teardown also removes what load_env_file adds
        monkeypatch.delenv(name)
    settings = Settings.from_env()
    assert settings.attribution.lookback_days == 7 and settings.reporting_currency == "EUR"
    monkeypatch.setenv("ATTRIBUTION_LOOKBACK_DAYS", "14")  # a one-off on the command line wins
    assert Settings.from_env().attribution.lookback_days == 14
    # the CLI puts the file's project settings into its environment, and nothing else from it
    from marketing.config import load_env_file

    assert load_env_file() == {"REPORTING_CURRENCY": "eur"}
    assert "AIRFLOW__CORE__EXECUTOR" not in __import__("os").environ


def test_env_example_lists_every_setting():
    example = (README.parent / ".env.example").read_text()
    for name, _, _ in SETTINGS_DOC:
        assert f"{name}=" in example, f"{name} is missing from .env.example"


def test_markov_period_is_month_week_or_all_and_changes_the_digest():
    assert AttributionParams().markov_period == "month"
    assert AttributionParams(markov_period="week").digest != AttributionParams().digest
    assert Settings.from_env({"ATTRIBUTION_MARKOV_PERIOD": "all"}).attribution.markov_period == "all"
    with pytest.raises(ValueError, match="ATTRIBUTION_MARKOV_PERIOD"):
        AttributionParams(markov_period="quarter")
