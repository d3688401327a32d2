"""The Marketing dashboard: an Airflow plugin with a FastAPI app and a "Marketing" entry in the UI.

The app (api.py) is mounted by the API server at /marketing; the nav entry shows its page in
the Airflow UI. Airflow's plugin loader imports `plugins/marketing_dashboard_plugin.py`, which
imports this package (the loader runs every .py file as a top-level module, so this folder
is kept out of its scan by `.airflowignore`).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from marketing_dashboard.api import app

URL_PREFIX = "/marketing"


class MarketingDashboardPlugin(AirflowPlugin):
    """Registers the dashboard's FastAPI app and its navigation entry."""

    name = "marketing_dashboard"
    fastapi_apps = [{"name": "marketing_dashboard", "app": app, "url_prefix": URL_PREFIX}]
    external_views = [
        {
            "name": "Marketing",
            # Relative to the UI's <base href>, so it holds when Airflow runs under a path prefix.
            "href": URL_PREFIX.lstrip("/") + "/",
            "icon": URL_PREFIX.lstrip("/") + "/static/icon.svg",
            "url_route": "marketing",
            "destination": "nav",
            "nav_top_level": True,
        }
    ]
