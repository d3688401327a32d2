"""Build the dashboard's browser assets: `npm ci` (versions from package-lock.json), then copy
the chart library into static/vendor/ (git-ignored), which the plugin serves itself (no CDN).

    python plugins/marketing_dashboard/build.py           # build
    python plugins/marketing_dashboard/build.py --check   # exit 1 when static/vendor/ is missing
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENDOR = HERE / "static" / "vendor"
# node_modules path -> name under static/vendor/ (the licence travels with the code)
FILES = {
    "chart.js/dist/chart.umd.min.js": "chart.umd.min.js",
    "chart.js/LICENSE.md": "chart.js.LICENSE.md",
}


def missing() -> list[str]:
    """Vendor files the page needs that are not built yet."""
    return [name for name in FILES.values() if not (VENDOR / name).is_file()]


def build() -> None:
    """Install the locked npm packages and copy the files the page loads into static/vendor/."""
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("npm is required to build the dashboard's assets (Node.js 18+)")
    subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=HERE, check=True)
    VENDOR.mkdir(parents=True, exist_ok=True)
    for source, name in FILES.items():
        shutil.copyfile(HERE / "node_modules" / source, VENDOR / name)
        print(f"static/vendor/{name}")


if __name__ == "__main__":
    if "--check" in sys.argv[1:]:
        if absent := missing():
            sys.exit(f"dashboard assets not built ({', '.join(absent)}): run python {__file__}")
        sys.exit(0)
    build()
