"""Siblings stay apart: ``edge``, ``worker`` and ``supervisor`` import ``schemas`` and themselves only,
``schemas`` imports none of them. Checked on the source (every import statement at any depth, lazy ones
in functions and ``TYPE_CHECKING`` blocks included, and ``importlib.import_module("…")`` with a literal
name), so a violation fails here before it shows up as an import cycle or a process that drags in
another's dependencies."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

OURS = ("edge", "worker", "supervisor", "schemas")
ALLOWED = {"edge": {"edge", "schemas"}, "worker": {"worker", "schemas"},
           "supervisor": {"supervisor", "schemas"}, "schemas": {"schemas"}}


def imported_modules(source: str, module: str) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``source``, the file of dotted ``module``."""
    found: list[tuple[int, str]] = []
    package = module.split(".")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against the importing module's package
                base = package[: len(package) - node.level]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.append((node.lineno, name))
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func) and node.args \
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            found.append((node.lineno, node.args[0].value))
    return found


def _is_dynamic_import(func: ast.expr) -> bool:
    if isinstance(func, ast.Attribute):
        return func.attr == "import_module"
    return isinstance(func, ast.Name) and func.id in ("import_module", "__import__")


def violations(root: Path) -> list[str]:
    """Every import of a sibling package, as ``path:line imports name``."""
    out: list[str] = []
    for top in OURS:
        for path in sorted((root / top).rglob("*.py")):
            relative = path.relative_to(root).with_suffix("")
            module = ".".join(relative.parts)  # pkg/__init__ → pkg.__init__: `from . import x` stays in pkg
            for line, name in imported_modules(path.read_text(), module):
                first = name.split(".")[0]
                if first in OURS and first not in ALLOWED[top]:
                    out.append(f"{path.relative_to(root)}:{line} imports {name}")
    return out


def test_siblings_import_only_schemas_and_themselves() -> None:
    assert violations(ROOT) == []


def test_every_package_is_scanned() -> None:
    counted = {top: len(list((ROOT / top).rglob("*.py"))) for top in OURS}
    assert all(count > 5 for count in counted.values()), counted


@pytest.mark.parametrize("source, module, expected", [
    ("from supervisor.cli import main", "worker.__main__", ["supervisor.cli"]),
    ("import edge.certificates", "supervisor.up_command", ["edge.certificates"]),
    ("def f():\n    from worker import serve_command\n", "supervisor.cli", ["worker"]),
    ("import importlib\nimportlib.import_module('edge.server')", "supervisor.x", ["importlib", "edge.server"]),
    ("from . import settings", "supervisor.up_command", ["supervisor"]),
    ("from .settings import Settings", "supervisor.up_command", ["supervisor.settings"]),
    ("from ..templating import engine", "worker.templating.x", ["worker.templating"]),
])
def test_imports_are_resolved(source: str, module: str, expected: list[str]) -> None:
    assert [name for _, name in imported_modules(source, module)] == expected


def test_a_violation_is_reported(tmp_path: Path) -> None:
    for top in OURS:
        (tmp_path / top).mkdir()
        for n in range(6):
            (tmp_path / top / f"m{n}.py").write_text("import json\n")
    (tmp_path / "worker" / "bad.py").write_text("def main():\n    from supervisor.cli import main\n")
    (tmp_path / "schemas" / "bad.py").write_text("from edge import certificates\nimport worker\n")
    assert violations(tmp_path) == ["worker/bad.py:2 imports supervisor.cli", "schemas/bad.py:1 imports edge",
                                    "schemas/bad.py:2 imports worker"]
