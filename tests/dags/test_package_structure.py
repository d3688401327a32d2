"""The house rules of the code's structure: no import circles in the package, and the product
(DAGs, plugins, every module outside `marketing.dev` and the CLI) never imports the development tools.

Imports are read from the source (module level and inside functions alike), not executed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "include" / "marketing"
DEV = "marketing.dev"
# The command line is where development tools are offered (`make sample`, `make airflow`, …).
MAY_IMPORT_DEV = {"marketing.cli", "marketing.__main__"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts}


def _package_of(name: str, path: Path) -> str:
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def imported(path: Path, name: str | None = None) -> set[str]:
    """The `marketing` modules that the file imports (a `from package import submodule` counts as the submodule)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level and name:
                package = _package_of(name, path).split(".")
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in MODULES else base)
    return {module for module in found if module == "marketing" or module.startswith("marketing.")}


def graph() -> dict[str, set[str]]:
    return {name: imported(path, name) - {name} for name, path in MODULES.items()}


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_package_has_no_import_circles():
    assert circles(graph()) == []


def test_the_circle_finder_finds_a_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_import_reader_sees_imports_inside_functions_and_submodules(tmp_path):
    source = tmp_path / "x.py"
    source.write_text("from marketing.attribution import models\n\ndef f():\n    import marketing.dev.sample\n")
    assert imported(source) == {"marketing.attribution.models", "marketing.dev.sample"}


PRODUCT = sorted(
    [(name, path) for name, path in MODULES.items() if not (name == DEV or name.startswith(DEV + "."))
     and name not in MAY_IMPORT_DEV]
    + [(f"dags/{p.name}", p) for p in sorted((ROOT / "dags").glob("*.py"))]
    + [(str(p.relative_to(ROOT)), p) for p in sorted((ROOT / "plugins").rglob("*.py"))]
    + [(str(p.relative_to(ROOT)), p) for p in sorted((PACKAGE / "migrations").rglob("*.py"))]
)


@pytest.mark.parametrize("name,path", PRODUCT, ids=[name for name, _ in PRODUCT])
def test_the_product_never_imports_the_development_tools(name, path):
    dev = {module for module in imported(path, name if name in MODULES else None)
           if module == DEV or module.startswith(DEV + ".")}
    assert not dev, f"{name} imports {sorted(dev)}: development tools stay apart from the product"
