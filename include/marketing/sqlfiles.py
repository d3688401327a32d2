"""The one way SQL files are read: `SqlFiles(__file__)("name")` is the text of `sql/name.sql`
beside the calling module.

The files run as they are: values are psycopg2 bind parameters (`%(name)s`), never `{holes}`
and never `%%`, so a file can be pasted into psql to debug (with the parameters filled in).
Where a statement needs an identifier that varies, the caller composes it with psycopg2.sql.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def read_sql(path: Path) -> str:
    """The text of one SQL file (read once per process)."""
    return path.read_text()


class SqlFiles:
    """The SQL files of one folder: `files("roas_daily")` reads `<folder>/roas_daily.sql`.

    `anchor` is a module's `__file__` (the folder is `sql/` beside it) or a folder itself.
    """

    def __init__(self, anchor: str | Path, folder: str = "sql") -> None:
        anchor = Path(anchor).resolve()
        self.root = (anchor.parent if anchor.is_file() else anchor) / folder

    def path(self, name: str) -> Path:
        """The file of query `name` (`name` may hold a sub-folder: "quality/null_keys")."""
        return self.root / f"{name}.sql"

    def __call__(self, name: str) -> str:
        return read_sql(self.path(name))

    def names(self, subfolder: str = "") -> list[str]:
        """The queries of a sub-folder, by name (sorted), as `__call__` takes them."""
        folder = self.root / subfolder
        return sorted(f"{subfolder}/{p.stem}" if subfolder else p.stem for p in folder.glob("*.sql"))
