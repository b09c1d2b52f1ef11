"""Where each asset's code is: Dagster's `dagster/code_references`, read off the code itself.

The UI links every asset to its files ("Open source") and `observatory explain` prints them:
both read this one metadata entry, so the lineage that is shown cannot drift from the code.
An asset's references are the file of its body, and the modules of the pure functions the body
calls (`observatory.transforms`, `observatory.publish`…: found by reading the body with `ast`);
a SQL model's reference is its `.sql` file.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import types
import warnings
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

import dagster as dg

CODE_REFERENCES = "dagster/code_references"
# Modules an asset body calls to describe its output (metadata), not to compute it.
DESCRIPTIFS = ("observatory.transforms.resume",)
_PROJECT = Path(__file__).resolve().parents[2]


def _relative(path: str | Path) -> str:
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


def _pure_modules(function: Callable) -> list[types.ModuleType]:
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


def references_of(assets_def: dg.AssetsDefinition) -> list[dg.LocalFileCodeReference]:
    """The files of one asset definition: its SQL file, or its body and the pure modules."""
    with warnings.catch_warnings():  # LocalFileCodeReference is "beta" in Dagster 1.13
        warnings.simplefilter("ignore", category=dg.BetaWarning)
        return _references_of(assets_def)


def _references_of(assets_def: dg.AssetsDefinition) -> list[dg.LocalFileCodeReference]:
    sql = next(
        (spec.metadata.get("fichier_sql") for spec in assets_def.specs if spec.metadata), None
    )
    if sql is not None:
        path = str(sql.value if hasattr(sql, "value") else sql)
        return [dg.LocalFileCodeReference(file_path=_relative(path), line_number=1, label="SQL")]
    node = getattr(assets_def, "node_def", None)
    compute = getattr(node, "compute_fn", None)
    function = getattr(compute, "decorated_fn", None)
    if function is None:
        return []
    body = dg.LocalFileCodeReference(
        file_path=_relative(inspect.getsourcefile(function) or ""),
        line_number=inspect.getsourcelines(function)[1],
        label="asset",
    )
    pure = [
        dg.LocalFileCodeReference(
            file_path=_relative(m.__file__ or ""), line_number=1, label=m.__name__
        )
        for m in _pure_modules(function)
    ]
    return [body, *pure]


def code_references(
    assets: Iterable[dg.AssetsDefinition],
) -> dict[str, list[dg.LocalFileCodeReference]]:
    """Asset name → its code references, for every key of every definition."""
    return {
        key.to_user_string(): references
        for assets_def in assets
        if isinstance(assets_def, dg.AssetsDefinition)
        for references in [references_of(assets_def)]
        for key in assets_def.keys
        if references
    }


def metadata_value(references: list[dg.LocalFileCodeReference]) -> dg.CodeReferencesMetadataValue:
    return dg.CodeReferencesMetadataValue(code_references=references)
