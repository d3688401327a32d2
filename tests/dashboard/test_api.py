"""The Marketing dashboard's API, served by Airflow's own API app with the plugin loaded from
plugins/ and Airflow's auth manager checking every request, as in the API server."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from datetime import date, datetime, timezone

import airflow  # noqa: F401 - puts the plugins folder on sys.path, as in the API server
import jwt
import psycopg2
import pytest
from fastapi.testclient import TestClient

from marketing import readonly
from marketing.attribution.models import MODELS
from marketing.config import Settings
from marketing.readonly import READER_ROLE
from marketing_dashboard import queries

pytestmark = [
    pytest.mark.integration,
    # Airflow generates a short JWT secret when none is configured, as in a test session.
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]

DAY1, DAY2, DAY3 = "2026-03-01", "2026-03-02", "2026-03-03"
DATA_PATHS = (
    f"/marketing/api/channels?start={DAY1}&end={DAY3}&model=all",
    f"/marketing/api/daily?start={DAY1}&end={DAY3}&model=linear",
    f"/marketing/api/campaigns?start={DAY1}&end={DAY3}&model=linear",
    f"/marketing/api/assists?start={DAY1}&end={DAY3}",
    f"/marketing/api/paths?start={DAY1}&end={DAY3}&conversion_type=purchase&limit=5",
    f"/marketing/api/funnel?start={DAY1}&end={DAY3}&model=linear",
    "/marketing/api/options",
    "/marketing/api/freshness",
    "/marketing/api/customers?start=2026-01&end=2026-03",
)
UNREACHABLE = "postgresql://nobody@127.0.0.1:1/nothing?connect_timeout=2"
EVERY_PATH = ("/marketing/", "/marketing/customers", "/marketing/static/app.js", "/marketing/static/customers.js",
              "/marketing/static/vendor/chart.umd.min.js", *DATA_PATHS)


# ---- Airflow: its metadata database, its API app, its tokens ----------------------------

@pytest.fixture(scope="session")
def airflow_db():
    """Airflow's metadata database (token revocation is checked there on every request)."""
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)


@pytest.fixture(scope="module")
def airflow_app(airflow_db):
    """Airflow's API app, which loads the plugins folder and mounts the dashboard at /marketing."""
    from airflow.api_fastapi.app import create_app

    return create_app(apps="core")


def token(role: str | None = "viewer", **kwargs) -> str:
    """A JWT issued by Airflow's auth manager, as its login endpoint issues them."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="marketer", role=role), **kwargs)


@pytest.fixture
def anonymous(airflow_app, monkeypatch):
    """A client without credentials. No warehouse unless the test takes `warehouse`: a request
    that should have been refused before reading it fails loudly instead."""
    monkeypatch.setenv("DASHBOARD_WAREHOUSE_URL", UNREACHABLE)
    queries.reset_reader()
    yield TestClient(airflow_app)
    queries.reset_reader()


@pytest.fixture
def warehouse(anonymous, warehouse_url, monkeypatch):
    """The dashboard reads this test's warehouse, as the reader role (no DASHBOARD_WAREHOUSE_URL)."""
    monkeypatch.setenv("WAREHOUSE_URL", warehouse_url)
    monkeypatch.delenv("DASHBOARD_WAREHOUSE_URL")
    queries.reset_reader()
    return warehouse_url


@pytest.fixture
def client(anonymous):
    """A client logged in as an Airflow viewer (Bearer token)."""
    anonymous.headers["Authorization"] = f"Bearer {token()}"
    return anonymous


# ---- marts rows, written directly ------------------------------------------------------

def roas_row(day, model, channel, campaign, spend, conversions, revenue):
    return (day, model, channel, campaign, spend, conversions, revenue, 1 if spend else 0, 1 if revenue else 0)


# Paid Search/brand earns 4.0 on day 1 and 1.0 on day 2: the mean of the daily ROAS is 2.5,
# the period's ROAS is 700 / 400 = 1.75.
ROWS = [
    roas_row(DAY1, "linear", "Paid Search", "brand", 100, 4, 400),
    roas_row(DAY2, "linear", "Paid Search", "brand", 300, 3, 300),
    roas_row(DAY1, "linear", "Paid Search", "generic", 50, 0, 0),
    roas_row(DAY2, "linear", "Paid Social", "spring", 200, 2.5, 100),
    roas_row(DAY2, "linear", "Unattributed", None, 0, 1.5, 90),
    roas_row(DAY1, "first_touch", "Paid Search", "brand", 100, 2, 200),
    roas_row(DAY2, "first_touch", "Paid Search", "brand", 300, 5, 500),
    roas_row(DAY1, "first_touch", "Paid Search", "generic", 50, 1, 30),
    roas_row(DAY2, "first_touch", "Paid Social", "spring", 200, 1, 70),
    roas_row(DAY2, "first_touch", "Unattributed", None, 0, 2, 90),
    roas_row("2026-02-01", "linear", "Paid Search", "brand", 999, 9, 999),  # outside the period
]


@pytest.fixture
def marts(warehouse, db):
    with db, db.cursor() as cur:
        cur.executemany(
            "insert into marts.roas_daily (date, model, channel, campaign, spend, attributed_conversions,"
            " attributed_revenue, spend_rows, credit_rows) values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            ROWS,
        )
    return db


def direct_sums(db, start, end, model) -> dict[str, tuple[float, float, float]]:
    """channel -> (Σ spend, Σ attributed_conversions, Σ attributed_revenue), straight from the mart."""
    with db.cursor() as cur:
        cur.execute(
            "select channel, sum(spend)::float, sum(attributed_conversions), sum(attributed_revenue)::float"
            " from marts.roas_daily where date between %s and %s and model = %s group by channel",
            (start, end, model),
        )
        return {channel: tuple(values) for channel, *values in cur.fetchall()}


# ---- authentication --------------------------------------------------------------------

@pytest.mark.parametrize("path", EVERY_PATH)
def test_every_endpoint_refuses_a_request_without_a_token(anonymous, path):
    response = anonymous.get(path)
    assert response.status_code == 401, response.text
    assert response.json()["detail"] == "Not authenticated"


@pytest.mark.parametrize("path", EVERY_PATH)
def test_every_endpoint_refuses_a_forged_token(anonymous, path):
    forged = jwt.encode({"sub": "admin", "role": "admin", "aud": "apache-airflow", "exp": time.time() + 600},
                        "not-airflows-secret-not-airflows-secret-not-airflows-secret-0123", algorithm="HS512")
    response = anonymous.get(path, headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 403, response.text


def test_garbage_and_expired_tokens_are_refused(anonymous):
    garbage = anonymous.get("/marketing/api/options", headers={"Authorization": "Bearer not-a-jwt"})
    assert garbage.status_code == 403
    expired = anonymous.get("/marketing/api/options",
                            headers={"Authorization": f"Bearer {token(expiration_time_in_seconds=-3600)}"})
    assert expired.status_code == 401
    assert expired.json()["detail"] == "Token Expired"


def test_authentication_comes_before_parameter_checks(anonymous):
    response = anonymous.get("/marketing/api/channels?start=nonsense&model=nonsense")
    assert response.status_code == 401


def test_an_authenticated_user_without_a_role_is_forbidden(anonymous):
    response = anonymous.get("/marketing/api/options", headers={"Authorization": f"Bearer {token(role=None)}"})
    assert response.status_code == 403
    assert response.json()["detail"] == "Forbidden"


@pytest.mark.parametrize("path", EVERY_PATH)
def test_every_endpoint_serves_a_viewer_with_a_token(client, marts, path):
    assert client.get(path).status_code == 200


def test_the_ui_session_cookie_is_accepted(anonymous, marts):
    # The page runs in Airflow's UI, whose login sets the `_token` cookie; its fetches carry it.
    anonymous.cookies.set("_token", token())
    response = anonymous.get(DATA_PATHS[0])
    assert response.status_code == 200, response.text


# ---- the plugin in Airflow -------------------------------------------------------------

def test_airflow_loads_the_plugin_with_a_marketing_nav_entry_and_no_import_errors(client):
    admin = {"Authorization": f"Bearer {token('admin')}"}
    plugins = client.get("/api/v2/plugins", headers=admin).json()["plugins"]
    (plugin,) = [p for p in plugins if p["name"] == "marketing_dashboard"]
    assert plugin["fastapi_apps"] == [{"name": "marketing_dashboard", "app": "fastapi.applications.FastAPI",
                                       "url_prefix": "/marketing"}]
    (view,) = plugin["external_views"]
    assert (view["name"], view["destination"], view["url_route"], view["href"]) == ("Marketing", "nav", "marketing",
                                                                                    "marketing/")
    errors = client.get("/api/v2/plugins/importErrors", headers=admin).json()["import_errors"]
    assert errors == []


def test_the_page_loads_only_its_own_scripts_and_the_vendored_chart_library(client):
    page = client.get("/marketing/").text
    assert "static/vendor/chart.umd.min.js" in page and "static/app.js" in page
    assert "http://" not in page and "https://" not in page  # no CDN: works without internet
    library = client.get("/marketing/static/vendor/chart.umd.min.js")
    assert library.status_code == 200, "run `python plugins/marketing_dashboard/build.py` first"
    assert "Chart.js v4" in library.text[:300]
    assert library.headers["content-type"].startswith(("application/javascript", "text/javascript"))


@pytest.mark.parametrize("path", ["/marketing/docs", "/marketing/redoc", "/marketing/openapi.json"])
def test_no_unauthenticated_api_docs(anonymous, path):
    assert anonymous.get(path).status_code == 404


@pytest.mark.parametrize("path", ["/marketing/static/%2e%2e/api.py", "/marketing/static/..%2fapi.py",
                                  "/marketing/static/nothing.js"])
def test_static_files_stay_inside_the_static_folder(client, path):
    assert client.get(path).status_code == 404


# ---- browser security headers -----------------------------------------------------------

@pytest.mark.parametrize("path", EVERY_PATH)
def test_every_answer_forbids_foreign_framing_sniffing_and_foreign_content(client, marts, anonymous, path):
    served, refused = client.get(path), TestClient(anonymous.app).get(path)
    assert (served.status_code, refused.status_code) == (200, 401)
    for response in (served, refused):
        headers = response.headers
        policy = dict(part.strip().split(" ", 1) for part in headers["content-security-policy"].split(";"))
        assert policy["frame-ancestors"] == "'self'"
        assert policy["default-src"] == "'none'"
        for directive in ("script-src", "style-src", "connect-src", "img-src"):
            assert policy[directive] == "'self'", directive  # no inline code, no other origin
        assert headers["x-frame-options"] == "SAMEORIGIN"
        assert headers["x-content-type-options"] == "nosniff"


# ---- parameters ------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "message"), [
    ("end=2026-03-03&model=linear", "start is required"),
    ("start=2026-03-01&model=linear", "end is required"),
    ("start=2026-02-30&end=2026-03-03&model=linear", "start='2026-02-30' is not a date; expected YYYY-MM-DD"),
    ("start=yesterday&end=2026-03-03&model=linear", "start='yesterday' is not a date"),
    ("start=20260301&end=2026-03-03&model=linear", "start='20260301' is not a date"),
    ("start=2026-03-01&end=2026-W09-1&model=linear", "end='2026-W09-1' is not a date"),
    ("start=2026-03-03&end=2026-03-01&model=linear", "start (2026-03-03) is after end (2026-03-01)"),
    ("start=2020-01-01&end=2026-03-01&model=linear", "the period may span at most 1098 days"),
    ("start=2026-03-01&end=2026-03-03", "model is required"),
    ("start=2026-03-01&end=2026-03-03&model=u_shaped", "unknown model 'u_shaped'; expected one of: first_touch"),
    ("start=2026-03-01&end=2026-03-03&model=linear'%20or%201=1--", "unknown model \"linear' or 1=1--\""),
])
@pytest.mark.parametrize("endpoint", ["channels", "daily", "campaigns", "funnel"])
def test_bad_parameters_get_400_with_a_message(client, endpoint, query, message):
    response = client.get(f"/marketing/api/{endpoint}?{query}")
    assert response.status_code == 400, response.text
    assert message in response.json()["detail"]


@pytest.mark.parametrize(("query", "message"), [
    ("end=2026-03-03", "start is required"),
    ("start=2026-03-03&end=2026-03-01", "start (2026-03-03) is after end (2026-03-01)"),
    ("start=2026-03-01&end=2026-03-03&conversion_type=purchase'%20or%201=1--",
     "conversion_type=\"purchase' or 1=1--\" is not a conversion type"),
    ("start=2026-03-01&end=2026-03-03&conversion_type=" + "x" * 65, "at most 64"),
])
@pytest.mark.parametrize("endpoint", ["assists", "paths"])
def test_bad_assist_parameters_get_400_with_a_message(client, endpoint, query, message):
    response = client.get(f"/marketing/api/{endpoint}?{query}")
    assert response.status_code == 400, response.text
    assert message in response.json()["detail"]


@pytest.mark.parametrize("limit", ["0", "101", "ten", "5.5", "-1"])
def test_the_number_of_top_paths_is_checked(client, limit):
    response = client.get(f"/marketing/api/paths?start={DAY1}&end={DAY3}&limit={limit}")
    assert response.status_code == 400
    assert "must be a whole number from 1 to 100" in response.json()["detail"]


def test_all_models_is_for_the_channel_comparison_only(client, marts):
    assert client.get(f"/marketing/api/channels?start={DAY1}&end={DAY3}&model=all").status_code == 200
    response = client.get(f"/marketing/api/daily?start={DAY1}&end={DAY3}&model=all")
    assert response.status_code == 400
    assert "unknown model 'all'" in response.json()["detail"]


# ---- numbers ---------------------------------------------------------------------------

def test_period_roas_is_the_ratio_of_sums_not_the_mean_of_daily_roas(client, marts):
    body = client.get(f"/marketing/api/campaigns?start={DAY1}&end={DAY3}&model=linear").json()
    brand = next(r for r in body["rows"] if r["campaign"] == "brand")
    assert brand["spend"] == 400 and brand["attributed_revenue"] == 700
    assert brand["roas"] == pytest.approx(1.75)  # not (4.0 + 1.0) / 2
    assert brand["cpa"] == pytest.approx(400 / 7)


def test_channels_under_every_model_equal_the_sums_in_the_mart(client, marts):
    body = client.get(f"/marketing/api/channels?start={DAY1}&end={DAY3}&model=all").json()
    assert body["models"] == list(MODELS)
    assert (body["start"], body["end"], body["currency"]) == (DAY1, DAY3, "USD")
    for model in ("linear", "first_touch"):
        expected = direct_sums(marts, DAY1, DAY3, model)
        got = {r["channel"]: r for r in body["rows"] if r["model"] == model}
        assert set(got) == set(expected)
        for channel, (spend, conversions, revenue) in expected.items():
            row = got[channel]
            assert (row["spend"], row["attributed_revenue"]) == pytest.approx((spend, revenue))
            assert row["attributed_conversions"] == pytest.approx(conversions)
            assert row["roas"] == (pytest.approx(revenue / spend) if spend else None)
        (total,) = [t for t in body["totals"] if t["model"] == model]
        spend, revenue = (sum(v[i] for v in expected.values()) for i in (0, 2))
        assert (total["spend"], total["attributed_revenue"]) == pytest.approx((spend, revenue))
        assert total["roas"] == pytest.approx(revenue / spend)
    assert not [r for r in body["rows"] if r["model"] not in ("linear", "first_touch")]  # no rows, no invention


def test_one_model_gives_that_models_channels_only(client, marts):
    body = client.get(f"/marketing/api/channels?start={DAY1}&end={DAY3}&model=first_touch").json()
    assert body["models"] == ["first_touch"]
    paid_search = next(r for r in body["rows"] if r["channel"] == "Paid Search")
    assert (paid_search["spend"], paid_search["attributed_revenue"]) == (450, 730)
    assert paid_search["roas"] == pytest.approx(730 / 450)


def test_daily_series_cover_every_day_with_zero_where_there_are_no_rows(client, marts):
    body = client.get(f"/marketing/api/daily?start={DAY1}&end={DAY3}&model=linear").json()
    assert body["dates"] == [DAY1, DAY2, DAY3]
    series = {s["channel"]: s for s in body["series"]}
    assert series["Paid Search"]["spend"] == [150, 300, 0]
    assert series["Paid Search"]["attributed_revenue"] == [400, 300, 0]
    assert series["Unattributed"]["spend"] == [0, 0, 0]
    assert series["Unattributed"]["attributed_revenue"] == [0, 90, 0]


def test_campaigns_match_the_mart_and_keep_a_missing_campaign_as_null(client, marts):
    rows = client.get(f"/marketing/api/campaigns?start={DAY1}&end={DAY2}&model=linear").json()["rows"]
    assert [(r["channel"], r["campaign"], r["spend"], r["attributed_revenue"]) for r in rows] == [
        ("Paid Search", "brand", 400, 700),
        ("Paid Social", "spring", 200, 100),
        ("Paid Search", "generic", 50, 0),
        ("Unattributed", None, 0, 90),
    ]
    generic, unattributed = rows[2], rows[3]
    assert (generic["roas"], generic["cpa"]) == (0, None)  # spend without conversions: no CPA
    assert (unattributed["roas"], unattributed["cpa"]) == (None, None)  # conversions without spend: neither


def test_options_open_on_the_last_four_weeks_with_results(client, marts):
    body = client.get("/marketing/api/options").json()
    assert body["models"] == list(MODELS)
    assert (body["first_date"], body["last_date"]) == ("2026-02-01", DAY2)
    assert (body["default_start"], body["default_end"]) == ("2026-02-03", DAY2)


def test_options_before_the_first_run_have_no_dates(client, warehouse):
    body = client.get("/marketing/api/options").json()
    assert body["last_date"] is None and body["default_start"] is None


def test_freshness_shows_newest_file_last_run_quarantine_and_dag_run_links(client, warehouse, db):
    with db, db.cursor() as cur:
        cur.execute("""
            insert into ops.load_manifest (file_id, feed, path, size, checksum, rows_total, rows_loaded, loaded_at)
            values (1, 'touchpoints', 'touchpoints/2026-03-01/a.jsonl', 10, 'x', 5, 4, '2026-03-02 08:00+00'),
                   (2, 'touchpoints', 'touchpoints/2026-03-02/b.jsonl', 10, 'y', 5, 5, '2026-03-03 08:00+00'),
                   (3, 'ad_spend', 'ad_spend/2026-03-02/s.csv', 10, 'z', 2, 2, '2026-03-03 09:30+00')""")
        cur.execute("""
            insert into ops.quarantine (file_id, feed, path, line_number, raw_text, reason, quarantined_at)
            values (1, 'touchpoints', 'touchpoints/2026-03-01/a.jsonl', 3, '{', 'bad json', '2026-03-02 08:00+00')""")
        cur.execute("""
            insert into ops.attribution_runs (started_at, finished_at, mode, params, params_digest)
            values ('2026-03-03 09:00+00', '2026-03-03 09:01+00', 'full', '{}', 'a'),
                   ('2026-03-03 10:00+00', '2026-03-03 10:02+00', 'incremental', '{}', 'a')""")
    body = client.get("/marketing/api/freshness").json()
    assert body["last_file"]["path"] == "ad_spend/2026-03-02/s.csv"
    assert {f["feed"]: f["path"] for f in body["last_loads"]} == {
        "touchpoints": "touchpoints/2026-03-02/b.jsonl", "ad_spend": "ad_spend/2026-03-02/s.csv"}
    assert body["last_attribution_run"]["mode"] == "incremental"
    assert datetime.fromisoformat(body["last_attribution_run"]["finished_at"]) == datetime(2026, 3, 3, 10, 2,
                                                                                           tzinfo=timezone.utc)
    assert body["quarantine"]["rows"] == 1
    assert body["dag_runs"] == {"marketing_ingest": "../dags/marketing_ingest/runs",
                                "marketing_customers": "../dags/marketing_customers/runs",
                                "marketing_attribution": "../dags/marketing_attribution/runs"}


def test_numbers_from_a_real_pipeline_run_equal_the_marts(client, warehouse, db, tmp_path):
    from marketing.dev.sample import generate
    from marketing.pipeline import run_all

    settings = Settings(warehouse_url=warehouse, landing_url=(tmp_path / "landing").as_uri())
    generate(settings.landing_url, days=4, touchpoints_per_day=300, end_date=date(2026, 3, 4))
    run_all(warehouse, settings)
    options = client.get("/marketing/api/options").json()
    start, end = options["first_date"], options["last_date"]
    body = client.get(f"/marketing/api/channels?start={start}&end={end}&model=all").json()
    for model in MODELS:
        expected = direct_sums(db, start, end, model)
        got = {r["channel"]: r for r in body["rows"] if r["model"] == model}
        assert set(got) == set(expected) and expected
        for channel, (spend, _, revenue) in expected.items():
            assert (got[channel]["spend"], got[channel]["attributed_revenue"]) == pytest.approx((spend, revenue))
    revenue = [sum(r["attributed_revenue"] for r in body["rows"] if r["model"] == m) for m in MODELS]
    assert revenue == pytest.approx([revenue[0]] * len(MODELS))  # every model shares out the same revenue


# ---- assists and paths -----------------------------------------------------------------

@pytest.fixture
def assist_marts(warehouse, db):
    """Email assists 3 and closes 1 on day 1, assists 1 and closes 3 on day 2: period ratio 4 / 4 = 1
    (the mean of the daily ratios would be 1.67). Funnel under linear: Email views 1 then 9, carts 1
    and 1: period rate 2 / 10 (the mean of the daily rates would be 0.56)."""
    with db, db.cursor() as cur:
        cur.executemany(
            "insert into marts.assisted_conversions_daily values (%s, %s, %s, %s, %s, %s, %s, %s, %s)", [
                (DAY1, "Email", "purchase", 1, 10, 2, 20, 3, 30),
                (DAY2, "Email", "purchase", 3, 30, 1, 10, 1, 10),
                (DAY2, "Paid Search", "purchase", 4, 40, 2, 20, 0, 0),
                (DAY2, "Email", "view_item", 5, 0, 5, 0, 7, 0),
                ("2026-02-01", "Email", "purchase", 9, 90, 9, 90, 0, 0),  # outside the period
            ])
        cur.executemany("insert into marts.conversion_paths_daily values (%s, %s, %s, %s, %s, %s, %s)", [
            (DAY1, "purchase", "Paid Search ×2 > Email", 3, 2, 100, 5),
            (DAY2, "purchase", "Paid Search ×2 > Email", 3, 1, 50, 4),
            (DAY2, "purchase", "Email", 1, 2, 30, 0),
            (DAY2, "view_item", "Email", 1, 9, 0, 0),
        ])
        cur.executemany("insert into marts.funnel_daily values (%s, %s, %s, %s, %s, %s, 0, 1)", [
            (DAY1, "linear", "Email", "view_item", 1, 1.0),
            (DAY1, "linear", "Email", "add_to_cart", 2, 1.0),
            (DAY2, "linear", "Email", "view_item", 1, 9.0),
            (DAY2, "linear", "Email", "add_to_cart", 2, 1.0),
            (DAY2, "linear", "Email", "purchase", 4, 0.5),
            (DAY2, "first_touch", "Email", "view_item", 1, 3.0),
        ])
    return db


def test_assists_are_per_channel_with_the_ratio_of_the_periods_sums(client, assist_marts):
    body = client.get(f"/marketing/api/assists?start={DAY1}&end={DAY3}").json()
    assert body["conversion_types"] == ["purchase"]  # the final types by default
    email, search = body["rows"]
    assert (email["channel"], email["last_touch_conversions"], email["last_touch_value"],
            email["assisted_conversions"], email["assisted_value"], email["assisted_ratio"]) == (
        "Email", 4, 40, 4, 40, 1.0)
    assert (search["channel"], search["assisted_ratio"]) == ("Paid Search", 0)
    micro = client.get(f"/marketing/api/assists?start={DAY1}&end={DAY3}&conversion_type=view_item").json()
    assert [(r["channel"], r["assisted_conversions"], r["assisted_ratio"]) for r in micro["rows"]] == [
        ("Email", 7, 1.4)]


def test_top_paths_with_average_length_and_days_to_conversion(client, assist_marts):
    rows = client.get(f"/marketing/api/paths?start={DAY1}&end={DAY3}").json()["rows"]
    assert rows == [
        {"path": "Paid Search ×2 > Email", "conversions": 3, "revenue": 150, "average_path_length": 3,
         "average_days_to_conversion": 3},
        {"path": "Email", "conversions": 2, "revenue": 30, "average_path_length": 1, "average_days_to_conversion": 0},
    ]
    assert len(client.get(f"/marketing/api/paths?start={DAY1}&end={DAY3}&limit=1").json()["rows"]) == 1


def test_funnel_rates_are_ratios_of_the_periods_sums_with_every_step(client, assist_marts):
    body = client.get(f"/marketing/api/funnel?start={DAY1}&end={DAY3}&model=linear").json()
    assert body["steps"] == ["view_item", "add_to_cart", "begin_checkout", "purchase"]
    (email,) = body["rows"]
    assert email["steps"] == [
        {"step": "view_item", "conversions": 10, "rate": None},
        {"step": "add_to_cart", "conversions": 2, "rate": 0.2},
        {"step": "begin_checkout", "conversions": 0, "rate": 0},
        {"step": "purchase", "conversions": 0.5, "rate": None},  # nothing before it to divide by
    ]


def test_options_name_the_final_types_funnel_steps_and_types_in_the_marts(client, assist_marts):
    body = client.get("/marketing/api/options").json()
    assert body["final_conversion_types"] == ["purchase"]
    assert body["funnel_steps"] == ["view_item", "add_to_cart", "begin_checkout", "purchase"]
    assert body["conversion_types"] == ["purchase", "view_item"]


# ---- the read-only login ---------------------------------------------------------------

# What a session may try in order to get more than it logged in with.
ESCALATIONS = (
    "set role none",
    "reset role",
    "set session authorization default",
    "reset session authorization",
    "set session characteristics as transaction read write",
    "set default_transaction_read_only = off",
    "set transaction read write",
)
WRITES = (
    ("insert into marts.roas_daily (date, model, channel, spend, attributed_conversions, attributed_revenue,"
     " spend_rows, credit_rows) values ('2026-01-01', 'linear', 'planted', 1, 1, 1, 1, 1)"),
    "update marts.roas_daily set spend = 0",
    "delete from ops.quarantine",
    "truncate marts.roas_daily",
    "update core.conversions set revenue = 0",
    "create table marts.planted (x int)",
    "create table public.planted (x int)",
    "create schema planted",
    "create role planted",
    "alter role marketing_reader superuser",
    "grant postgres to marketing_reader",
)


def test_the_dashboard_logs_in_as_the_reader_role_with_read_access_only(warehouse, marts):
    conn = queries.reader().connect()
    try:
        with conn.cursor() as cur:
            cur.execute("select session_user, current_user, current_setting('transaction_read_only')")
            assert cur.fetchone() == (READER_ROLE, READER_ROLE, "on")
            cur.execute("select count(*) from marts.roas_daily")
            assert cur.fetchone()[0] == len(ROWS)
            cur.execute("select count(*) from ops.load_manifest")  # freshness reads ops
        conn.rollback()
        with conn.cursor() as cur, pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("select count(*) from core.conversions")  # only marts and ops are granted
    finally:
        conn.close()


@pytest.mark.parametrize("write", WRITES, ids=lambda w: " ".join(w.split()[:3]))
def test_nothing_inside_the_dashboards_session_can_write(warehouse, marts, write):
    conn = queries.reader().connect()
    conn.autocommit = True  # every statement on its own, as a hostile session would send them
    try:
        with conn.cursor() as cur:
            for statement in ESCALATIONS:
                try:
                    cur.execute(statement)
                except psycopg2.Error:
                    pass  # refused is fine; what matters is what the session can do afterwards
            cur.execute("select session_user, current_user, current_setting('default_transaction_read_only')")
            assert cur.fetchone() == (READER_ROLE, READER_ROLE, "off")  # read-write: only privileges hold
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute(write)
            cur.execute("begin; set transaction read write")
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute(write)
            cur.execute("rollback")
    finally:
        conn.close()
    with marts.cursor() as cur:
        cur.execute("select count(*), sum(spend) from marts.roas_daily")
        assert cur.fetchone() == (len(ROWS), sum(row[4] for row in ROWS))
    marts.rollback()


def test_a_dashboard_login_that_can_write_is_refused_with_what_to_change(client, warehouse, monkeypatch):
    monkeypatch.setenv("DASHBOARD_WAREHOUSE_URL", warehouse)  # the owner's own login
    queries.reset_reader()
    response = client.get("/marketing/api/options")
    assert response.status_code == 503
    detail = response.json()["detail"]
    assert "the dashboard's warehouse login can write" in detail and "DASHBOARD_WAREHOUSE_URL" in detail


def test_dashboard_warehouse_url_is_used_as_given(warehouse, monkeypatch):
    url = readonly.with_login(warehouse, READER_ROLE)
    monkeypatch.setenv("DASHBOARD_WAREHOUSE_URL", url)
    queries.reset_reader()
    assert queries.reader() == queries.Reader(url)


def test_migrate_sets_the_readers_password_from_the_environment_and_the_reader_logs_in_with_it(warehouse, db):
    from marketing.pipeline import migrate_warehouse

    password = "s3cret-" + uuid.uuid4().hex
    migrate_warehouse(warehouse, Settings(warehouse_url=warehouse, dashboard_warehouse_password=password))
    with db.cursor() as cur:
        cur.execute("select rolpassword from pg_authid where rolname = %s", (READER_ROLE,))
        stored = cur.fetchone()[0]
    db.rollback()
    assert stored.startswith("SCRAM-SHA-256$") and password not in stored
    url = readonly.reader_url(Settings(warehouse_url=warehouse, dashboard_warehouse_password=password))
    assert url == readonly.with_login(warehouse, READER_ROLE, password)
    assert queries.Reader(url).rows(queries.REPORTING_SQL("data_dates")) == [{"first_date": None, "last_date": None}]


def test_an_unreachable_warehouse_is_a_503_with_the_reason(client):
    response = client.get("/marketing/api/freshness")
    assert response.status_code == 503
    assert response.json()["detail"].startswith("the warehouse could not be read: ")


# ---- freshness as a new user reads it (issue 14) --------------------------------------------

def manifest(cur, *files) -> None:
    """(file_id, feed, path, rows_total, rows_loaded, rows_quarantined, loaded_at) rows of ops.load_manifest."""
    cur.executemany(
        "insert into ops.load_manifest (file_id, feed, path, size, checksum, rows_total, rows_loaded,"
        " rows_quarantined, loaded_at) values (%s, %s, %s, 1, 'x', %s, %s, %s, %s)", files)


def attribution_run(cur, started_at: str, finished_at: str, params: str = '{"lookback_days": 30}') -> int:
    cur.execute("insert into ops.attribution_runs (started_at, finished_at, mode, params, params_digest)"
                " values (%s, %s, 'full', %s, 'a') returning run_id", (started_at, finished_at, params))
    return cur.fetchone()[0]


def test_last_file_loaded_skips_a_wholly_quarantined_file_and_names_it(client, warehouse, db):
    with db, db.cursor() as cur:
        manifest(cur, (1, "touchpoints", "touchpoints/2026-03-01/a.jsonl", 5, 5, 0, "2026-03-02 08:00+00"),
                 (2, "touchpoints", "touchpoints/2026-03-02/bad.jsonl.gz", 1, 0, 1, "2026-03-02 09:00+00"))
    body = client.get("/marketing/api/freshness").json()
    assert body["last_file"]["path"] == "touchpoints/2026-03-01/a.jsonl"
    assert body["last_quarantined_file"]["path"] == "touchpoints/2026-03-02/bad.jsonl.gz"


def test_freshness_says_when_the_marts_are_older_than_the_last_load(client, warehouse, db):
    with db, db.cursor() as cur:
        attribution_run(cur, "2026-03-02 07:00+00", "2026-03-02 07:05+00")
        manifest(cur, (1, "touchpoints", "touchpoints/2026-03-01/a.jsonl", 5, 5, 0, "2026-03-02 08:00+00"))
        cur.execute("insert into ops.attribution_queue (kind, key, file_id) values ('person', 'a:1', 1)")
    marts = client.get("/marketing/api/freshness").json()["marts"]
    assert marts["stale"] is True
    assert marts["last_load_at"].startswith("2026-03-02T08:00")
    with db, db.cursor() as cur:  # attribution consumes the queue
        cur.execute("delete from ops.attribution_queue")
        attribution_run(cur, "2026-03-02 08:30+00", "2026-03-02 08:31+00")
    assert client.get("/marketing/api/freshness").json()["marts"]["stale"] is False


def test_freshness_names_the_model_parameters_the_marts_were_computed_with(client, warehouse, db):
    params = ('{"lookback_days": 7, "half_life_days": 3.0, "position_weights": [0.4, 0.2, 0.4],'
              ' "direct_channels": ["Direct"], "unattributed_label": "Unattributed", "conversion_types": [],'
              ' "reporting_timezone": "UTC"}')
    with db, db.cursor() as cur:
        run_id = attribution_run(cur, "2026-03-02 07:00+00", "2026-03-02 07:05+00", params)
        cur.execute("insert into ops.attribution_state (params, params_digest, run_id, built_at)"
                    " values (%s, 'a', %s, '2026-03-02 07:05+00')", (params, run_id))
    marts = client.get("/marketing/api/freshness").json()["marts"]
    assert marts["parameters"].startswith("lookback 7 days, time-decay half-life 3 days")


# ---- the Customers view ----------------------------------------------------------------------

@pytest.fixture
def customer_marts(warehouse, db):
    """Two January cohorts and one February cohort, hand-sized (docs/customers.md)."""
    with db, db.cursor() as cur:
        cur.executemany(
            "insert into marts.channel_acquisition_monthly (month, channel, new_customers, spend,"
            " predicted_ltv_per_customer) values (%s, %s, %s, %s, %s)", [
                ("2026-01-01", "Paid Search", 2, 100, 150),   # CAC 50, LTV 150
                ("2026-02-01", "Paid Search", 1, 50, 60),     # CAC 50, LTV 60
                ("2026-01-01", "Email", 1.5, 0, 90),          # no spend: no CAC, no LTV : CAC
                ("2026-01-01", "Referral", 1, 0, 80),         # nobody at risk
                ("2026-03-01", "Display", 0, 40, None),       # spend, no customers
            ])
        cur.executemany(
            "insert into marts.cohort_value (cohort_month, channel, age_days, customers, mature_customers, value)"
            " values (%s, %s, %s, %s, %s, %s)", [
                ("2026-01-01", "Paid Search", 30, 2, 2, 80), ("2026-01-01", "Paid Search", 90, 2, 2, 200),
                ("2026-02-01", "Paid Search", 30, 1, 1, 20), ("2026-02-01", "Paid Search", 90, 1, 0, 0),
                ("2026-01-01", "Email", 30, 1.5, 1.5, 45), ("2026-01-01", "Email", 90, 1.5, 0, 0),
            ])
        for person, channel, credit, month, p_alive in [
            ("u:a", "Paid Search", 1, "2026-01-01", 0.9), ("u:b", "Paid Search", 1, "2026-01-01", 0.2),
            ("u:c", "Paid Search", 1, "2026-02-01", 0.3), ("u:d", "Email", 1, "2026-01-01", 0.8),
            ("u:e", "Email", 0.5, "2026-01-01", 0.1), ("u:f", "Referral", 1, "2026-01-01", 0.7),
        ]:
            cur.execute("insert into marts.customer_acquisition values (%s, %s, %s, %s)",
                        (person, channel, credit, month))
            cur.execute(
                "insert into marts.customer_value (person_key, first_conversion_id, first_purchase_at, cohort_month,"
                " frequency, recency_days, t_days, monetary_value, value_to_date, p_alive) values"
                " (%s, 'c', %s, %s, 1, 1, 9, 10, 10, %s) on conflict do nothing", (person, month, month, p_alive))
        cur.execute("insert into ops.customer_runs (started_at, finished_at, as_of, customers, params, fit)"
                    " values (now(), now(), '2026-03-15', 5, '{}', '{\"reason\": null}')")


def test_customers_figures_are_ratios_of_sums_over_the_cohorts(client, customer_marts):
    body = client.get("/marketing/api/customers").json()
    rows = {r["channel"]: r for r in body["channels"]}
    search = rows["Paid Search"]
    assert search["new_customers"] == 3 and search["spend"] == 150 and search["cac"] == 50
    assert search["predicted_ltv_per_customer"] == pytest.approx((2 * 150 + 60) / 3)  # 120
    assert search["ltv_to_cac"] == pytest.approx(120 / 50)
    assert search["value_per_customer"] == pytest.approx((80 + 20) / 3)  # at 30 days
    assert search["share_at_risk"] == pytest.approx(2 / 3)  # u:b and u:c
    email = rows["Email"]
    assert email["cac"] is None and email["ltv_to_cac"] is None  # the mart's CAC is 0: the page says none
    assert email["share_at_risk"] == pytest.approx(0.5 / 1.5)
    assert rows["Referral"]["share_at_risk"] == 0  # none at risk is 0 %, not "no figure"
    assert rows["Display"]["cac"] is None and rows["Display"]["new_customers"] == 0
    curves = {(c["channel"], c["age_days"]): c["value_per_customer"] for c in body["cohort_curves"]}
    assert curves[("Paid Search", 90)] == pytest.approx(100.0)  # 200 / 2 mature: February is too young
    assert curves[("Email", 90)] is None
    assert body["realised_age_days"] == 30 and body["acquisition_model"] == "first_touch"
    assert (body["first_month"], body["last_month"]) == ("2026-01", "2026-02")
    assert body["last_run"]["customers"] == 5


def test_customers_months_narrow_the_cohorts(client, customer_marts):
    body = client.get("/marketing/api/customers?start=2026-02&end=2026-02").json()
    rows = {r["channel"]: r for r in body["channels"]}
    assert set(rows) == {"Paid Search"}
    assert rows["Paid Search"]["new_customers"] == 1 and rows["Paid Search"]["ltv_to_cac"] == pytest.approx(60 / 50)
    assert (body["start"], body["end"]) == ("2026-02", "2026-02")


def test_customers_name_the_settings_of_the_last_run_not_the_ones_set_since(client, customer_marts, db, monkeypatch):
    with db, db.cursor() as cur:
        cur.execute("insert into ops.customer_runs (started_at, finished_at, as_of, customers, params, fit)"
                    " values (now(), now(), '2026-03-16', 5, %s, '{\"reason\": null}')",
                    ('{"acquisition_model": "first_touch", "conversion_types": ["purchase"],'
                     ' "cohort_ages_days": [30, 90], "clv_horizon_days": 365}',))
    monkeypatch.setenv("ACQUISITION_MODEL", "linear")
    monkeypatch.setenv("COHORT_AGES_DAYS", "60")
    body = client.get("/marketing/api/customers").json()
    assert body["acquisition_model"] == "first_touch" and body["realised_age_days"] == 30
    assert body["pending_parameters"].startswith("Your settings now say: acquisition model linear,")
    monkeypatch.delenv("ACQUISITION_MODEL")
    monkeypatch.setenv("COHORT_AGES_DAYS", "90,30")  # the run's settings again
    monkeypatch.setenv("ENV_FILE", "/nonexistent/.env")  # whatever a developer's .env says
    body = client.get("/marketing/api/customers").json()
    assert body["pending_parameters"] is None and body["last_run"]["params"]["cohort_ages_days"] == [30, 90]


@pytest.mark.parametrize(("query", "message"), [
    ("start=2026-13", "start='2026-13' is not a month; expected YYYY-MM"),
    ("end=2026-03-01", "end='2026-03-01' is not a month"),
    ("start=march", "start='march' is not a month"),
    ("start=2026-03&end=2026-01", "start (2026-03) is after end (2026-01)"),
    ("start=2000-01&end=2026-01", "the period may span at most 120 months"),
])
def test_customers_bad_months_get_400_with_a_message(client, query, message):
    response = client.get(f"/marketing/api/customers?{query}")
    assert response.status_code == 400, response.text
    assert message in response.json()["detail"]


def test_customers_before_the_first_run_is_empty_not_an_error(client, warehouse):
    body = client.get("/marketing/api/customers").json()
    assert body["channels"] == [] and body["last_run"] is None and body["first_month"] is None


def test_the_customers_page_loads_only_its_own_scripts(client):
    page = client.get("/marketing/customers").text
    assert all(s in page for s in ("static/vendor/chart.umd.min.js", "static/common.js", "static/customers.js"))
    assert "http://" not in page and "https://" not in page
