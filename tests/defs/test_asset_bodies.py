"""Thin Dagster: an asset body loads its inputs, calls pure functions and returns with metadata.

Read with `ast` from `observatory/defs/`: no polars expression, frame transformation or file
read inside the body of an asset (schedules, sensors, checks and resources are Dagster code and
are not assets). The logic lives in pure functions that tests and the bench call too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DEFS = Path(__file__).resolve().parents[2] / "observatory" / "defs"
ASSET_DECORATORS = {"asset", "multi_asset", "staging_asset"}
# frame transformations and reads: the pure functions' work
METHODES_INTERDITES = {
    "filter", "with_columns", "select", "join", "group_by", "agg", "pivot", "unpivot", "sort",
    "unique", "explode", "drop", "rename", "cast", "over", "concat", "read_csv", "read_parquet",
    "read_json", "read_excel", "read_text", "read_bytes", "write_text", "write_bytes", "open",
    "scan_parquet", "scan_csv",
}  # fmt: skip


def _decorator_name(node: ast.expr) -> str | None:
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Attribute):
        return target.attr
    if isinstance(target, ast.Name):
        return target.id
    return None


def findings(source: str) -> list[tuple[str, int, str]]:
    """(asset function, line, what) for every forbidden expression in an asset body."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef):
            continue
        if not {_decorator_name(d) for d in node.decorator_list} & ASSET_DECORATORS:
            continue
        for statement in node.body:
            for sub in ast.walk(statement):
                if (
                    isinstance(sub, ast.Attribute)
                    and isinstance(sub.value, ast.Name)
                    and sub.value.id == "pl"
                    and (sub.attr[:1].islower() or sub.attr == "DataFrame")
                    and not isinstance(statement, ast.AnnAssign)
                ):
                    found.append((node.name, sub.lineno, f"pl.{sub.attr}"))
                elif (
                    isinstance(sub, ast.Call)
                    and isinstance(sub.func, ast.Attribute)
                    and sub.func.attr in METHODES_INTERDITES
                    and not isinstance(sub.func.value, ast.Constant)  # ", ".join(…): a string
                ):
                    found.append((node.name, sub.lineno, f".{sub.func.attr}()"))
                elif (
                    isinstance(sub, ast.Call)
                    and isinstance(sub.func, ast.Name)
                    and sub.func.id == "open"
                ):
                    found.append((node.name, sub.lineno, "open()"))
    return found


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "@dg.asset\ndef a(x):\n    return dg.Output(f(x), metadata={'n': x.height})\n",
            [],
        ),
        (
            "@dg.asset()\ndef a(x: pl.DataFrame) -> pl.DataFrame:\n"
            "    return x.filter(pl.col('v') > 0)\n",
            [("a", 3, ".filter()"), ("a", 3, "pl.col")],
        ),
        (
            "@staging_asset(s)\ndef a(p):\n    return json.loads(p.read_text())\n",
            [("a", 3, ".read_text()")],
        ),
        ("@dg.sensor()\ndef s(ctx):\n    return open('x').read()\n", []),  # not an asset
        ("@dg.asset\ndef a(x):\n    return ', '.join(x)\n", []),
    ],
)
def test_findings(source: str, expected: list) -> None:
    assert sorted(findings(source)) == sorted(expected)


@pytest.mark.parametrize("module", sorted(p.name for p in DEFS.glob("*.py")))
def test_asset_bodies_call_pure_functions(module: str) -> None:
    assert findings((DEFS / module).read_text(encoding="utf-8")) == []
