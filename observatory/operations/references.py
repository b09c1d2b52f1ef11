"""Which files an asset's code is in, read off the code itself (no Dagster).

The file of a function, and the modules of the pure functions its body calls
(`observatory.transforms`, `observatory.publish`…: found by reading the body with `ast`).
`observatory.defs.code_references` turns them into Dagster's `dagster/code_references`.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import types
from collections.abc import Callable
from functools import cache
from pathlib import Path

# Modules an asset body calls to describe its output (metadata) or to keep its set-aside rows
# (the quarantine file), not to compute it.
DESCRIPTIFS = ("observatory.transforms.resume", "observatory.validation.store")
_PROJECT = Path(__file__).resolve().parents[2]  # the checkout


def relative(path: str | Path) -> str:
    resolved = Path(path).resolve()
    try:
        return str(resolved.relative_to(_PROJECT))
    except ValueError:  # installed as a wheel: the package's own path
        return str(resolved)


def _called(node: ast.Call) -> tuple[str, str | None] | None:
    """(name, attribute) of a call `name(...)` or `name.attribute(...)`."""
    func = node.func
    if isinstance(func, ast.Name):
        return func.id, None
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return func.value.id, func.attr
    return None


@cache
def _arbre(code: types.CodeType) -> ast.Module | None:
    """The parsed body of a function: asset factories make many functions of one code, parsed
    once (reading and parsing the source is most of a definitions build's references)."""
    try:
        return ast.parse(textwrap.dedent(inspect.getsource(code)))
    except (OSError, TypeError, SyntaxError):
        return None


def pure_modules(function: Callable) -> list[types.ModuleType]:
    """The observatory modules outside `defs` whose functions `function`'s body calls.

    Only calls count: a module read for a constant (a vintage, a column list) computes nothing.
    """
    tree = _arbre(function.__code__)
    if tree is None:
        return []
    closure = inspect.getclosurevars(function)
    scope = {**function.__globals__, **closure.globals, **closure.nonlocals}
    modules: dict[str, types.ModuleType] = {}
    for node in ast.walk(tree):
        called = _called(node) if isinstance(node, ast.Call) else None
        if called is None or called[0] not in scope:
            continue
        value = scope[called[0]]
        if called[1] is not None:
            value = getattr(value, called[1], None)
        if not inspect.isfunction(value):
            continue
        module = inspect.getmodule(value)
        name = getattr(module, "__name__", "")
        if name.startswith("observatory.") and not name.startswith(
            ("observatory.defs", *DESCRIPTIFS)
        ):
            modules[name] = module  # type: ignore[assignment]
    return [modules[name] for name in sorted(modules)]
