"""The warehouse URL that the DAGs build from Airflow's connection, through the Postgres provider's hook."""

import pytest

from marketing.pipeline import airflow_warehouse_url
from marketing.warehouse import libpq_dsn, sqlalchemy_url


@pytest.mark.parametrize(
    "conn_uri,expected",
    [
        ("postgresql://u:p@db.example.com:5433/wh", "postgresql://u:p@db.example.com:5433/wh"),
        # A unix-socket directory stays percent-encoded in the host, and sslmode from the extra is kept.
        ("postgresql://postgres@%2Ftmp%2Fpg%20sock/postgres?sslmode=disable",
         "postgresql://postgres@%2Ftmp%2Fpg%20sock/postgres?sslmode=disable"),
        # Special characters of login and password survive; no database means `postgres`.
        ("postgresql://a%40b:p%3Aw%2Fd@host", "postgresql://a%40b:p%3Aw%2Fd@host/postgres"),
    ],
)
def test_the_warehouse_url_comes_from_the_airflow_connection(monkeypatch, conn_uri, expected):
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", conn_uri)
    url = airflow_warehouse_url()
    assert url == expected
    assert libpq_dsn(url) and sqlalchemy_url(url)  # both readers of a URL take it
