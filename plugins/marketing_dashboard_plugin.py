"""Hands the Marketing dashboard plugin (package `marketing_dashboard`) to Airflow's plugin loader.

The loader imports each .py file of the plugins folder as a top-level module, so the package
is imported from here; a shim named like the package would shadow it in `sys.modules`.
"""

import sys
from pathlib import Path

if str(Path(__file__).parent) not in sys.path:  # Airflow adds the plugins folder; this covers other loaders
    sys.path.append(str(Path(__file__).parent))

from marketing_dashboard import MarketingDashboardPlugin  # noqa: E402,F401
