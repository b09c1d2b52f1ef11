"""The package's layers, read from its imports with `ast`: no cycle between its packages."""

from __future__ import annotations

import ast
import itertools
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "observatory"


def _unit(path: Path) -> str:
    """The package (or top-level module) of `observatory` a file belongs to."""
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def imports_between_units(package: Path = PACKAGE) -> dict[str, dict[str, list[str]]]:
    """unit → imported unit → the files that import it (imports inside functions included)."""
    graph: dict[str, dict[str, list[str]]] = {}
    for path in sorted(package.rglob("*.py")):
        unit = _unit(path)
        graph.setdefault(unit, {})
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] if node.level == 0 else []
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[0] == "observatory" and len(parts) > 1 and parts[1] != unit:
                    graph[unit].setdefault(parts[1], []).append(str(path.relative_to(package)))
    return graph


def cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """Every elementary cycle's units, found by depth-first search (the graph is small)."""
    found: list[list[str]] = []

    def visit(start: str, node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, {})):
            if nxt == start:
                found.append([*path, start])
            elif nxt not in path and nxt > start:  # each cycle once, from its smallest unit
                visit(start, nxt, [*path, nxt])

    for start in sorted(graph):
        visit(start, start, [start])
    return found


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b": ["a.py"]}, "b": {}}, []),
        ({"a": {"b": ["a.py"]}, "b": {"a": ["b.py"]}}, [["a", "b", "a"]]),
        (
            {"a": {"b": ["x"]}, "b": {"c": ["y"]}, "c": {"a": ["z"]}},
            [["a", "b", "c", "a"]],
        ),
    ],
)
def test_cycle_finder(graph, expected) -> None:
    assert cycles(graph) == expected


def test_no_import_cycle_between_packages() -> None:
    graph = imports_between_units()
    assert {"transforms", "partners", "validation", "publish", "defs"} <= set(graph)
    found = cycles(graph)
    details = [
        " → ".join(c)
        + ": "
        + "; ".join(f"{a}→{b} in {sorted(set(graph[a][b]))}" for a, b in itertools.pairwise(c))
        for c in found
    ]
    assert found == [], details


def test_pure_layers_never_import_dagster() -> None:
    """Pure functions are tested without Dagster: only `defs`, the CLI and its helpers use it."""
    dagster_users = {
        _unit(path)
        for path in PACKAGE.rglob("*.py")
        if any(
            (isinstance(n, ast.Import) and any(a.name.split(".")[0] == "dagster" for a in n.names))
            or (isinstance(n, ast.ImportFrom) and (n.module or "").split(".")[0] == "dagster")
            for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        )
    }
    pure = {"transforms", "partners", "validation", "sources", "publish", "operations", "settings"}
    assert dagster_users.isdisjoint(pure)


IO_CALLS = re.compile(
    r"^(read_\w+|scan_\w+|write_\w+|sink_\w+|open|getenv|read_text|read_bytes|iterdir|glob|rglob)$"
)


def io_calls(source: str) -> list[tuple[int, str]]:
    """(line, name) of every call that reads or writes a file or the environment."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if IO_CALLS.match(name):
                found.append((node.lineno, name))
        elif isinstance(node, ast.Attribute) and node.attr == "environ":
            found.append((node.lineno, "environ"))
    return found


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import polars as pl\npl.read_csv(path)", [(2, "read_csv")]),
        ("frame.lazy().sink_parquet(p)", [(1, "sink_parquet")]),
        ("import os\nos.environ.get('X')", [(2, "environ")]),
        ("Path(p).read_text()", [(1, "read_text")]),
        ("frame.join(other, on='code').group_by('x').agg(pl.len())", []),
    ],
)
def test_io_call_finder(source: str, expected: list[tuple[int, str]]) -> None:
    assert io_calls(source) == expected


def test_transforms_do_no_io() -> None:
    """Transforms take frames and return frames: reference lists are passed in (loaded by a
    source or read from an asset), never read by the transform itself."""
    found = {
        str(path.relative_to(PACKAGE)): calls
        for path in sorted((PACKAGE / "transforms").rglob("*.py"))
        if (calls := io_calls(path.read_text(encoding="utf-8")))
    }
    assert found == {}
