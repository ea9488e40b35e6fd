"""The dependency rules of ARCHITECTURE.md, checked by import-linter and by a direct scan."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(package: str) -> set[str]:
    found: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found


def test_store_imports_no_edge_or_framework() -> None:
    forbidden = {"falcon", "waitress", "textual", "apscheduler", "api", "worker", "tui", "cli"}
    assert _imports("store") & forbidden == set()


def test_edges_do_not_import_each_other_or_pony() -> None:
    for edge in ("api", "worker", "tui"):
        others = {"api", "worker", "tui", "cli"} - {edge}
        assert _imports(edge) & (others | {"pony"}) == set(), edge


def test_pure_scim_core_has_no_io_dependencies() -> None:
    assert _imports("api/scim") & {"pony", "falcon", "waitress", "psycopg2", "sqlite3"} == set()


def test_import_linter_contracts_hold() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
