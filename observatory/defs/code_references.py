"""Where each asset's code is: Dagster's `dagster/code_references`, read off the code itself.

The UI links every asset to its files ("Open source") and `observatory explain` prints them:
both read this one metadata entry, so the lineage that is shown cannot drift from the code.
An asset's references are the file of its body, and the modules of the pure functions the body
calls (`observatory.operations.references`); a SQL model's reference is its `.sql` file.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Iterable

import dagster as dg

from observatory.operations.references import pure_modules, relative

CODE_REFERENCES = "dagster/code_references"


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
        return [dg.LocalFileCodeReference(file_path=relative(path), line_number=1, label="SQL")]
    node = getattr(assets_def, "node_def", None)
    compute = getattr(node, "compute_fn", None)
    function = getattr(compute, "decorated_fn", None)
    if function is None:
        return []
    body = dg.LocalFileCodeReference(
        file_path=relative(inspect.getsourcefile(function) or ""),
        line_number=inspect.getsourcelines(function)[1],
        label="asset",
    )
    pure = [
        dg.LocalFileCodeReference(
            file_path=relative(m.__file__ or ""), line_number=1, label=m.__name__
        )
        for m in pure_modules(function)
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
