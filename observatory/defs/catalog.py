"""The Dagster catalog documents itself, in French: what each asset is, who owns it, its layer.

Applied to the definitions last (`with_catalog`), so the asset code keeps its docstrings for
developers while the UI shows users:

- a French description: the Table Schema's title and description for a published table
  (`schemas/tables/`), the source catalogue's title for raw and staged sources (already set
  by their factories), the SQL model's header for SQL indicators, else
  `observatory.operations.catalogue.DESCRIPTIONS`;
- the column schema of each published table (`dagster/column_schema`): every column with its
  type, French title and description, and whether it is required, from the same Table Schema;
- an owner, the layer as a tag, and kinds (polars, parquet, sql, file).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import dagster as dg

from observatory.defs.code_references import CODE_REFERENCES, metadata_value
from observatory.defs.publish import published_schemas
from observatory.operations.catalogue import (
    DESCRIPTIONS,
    LAYER_TAG,
    OWNER,
    columns,
    table_description,
)
from observatory.settings import Settings


def column_schema(schema: Mapping[str, Any]) -> dg.TableSchema:
    """A Table Schema as Dagster's column schema: name, type, French title and description."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=c.name,
                type=c.type,
                description=c.description,
                constraints=dg.TableColumnConstraints(nullable=not c.required),
            )
            for c in columns(schema)
        ]
    )


def _kinds(spec: dg.AssetSpec, table: bool) -> set[str]:
    if spec.kinds:
        return set()  # already said (file, sql, parquet)
    return {"polars", "parquet"} if table else {"polars"}


def with_catalog(
    defs: dg.Definitions,
    settings: Settings,
    references: Mapping[str, list[dg.LocalFileCodeReference]] | None = None,
) -> dg.Definitions:
    """`defs` with French descriptions, column schemas, owner, layer tag, kinds and the code
    references of each asset (`observatory.defs.code_references`)."""
    schemas = published_schemas(settings.schemas_dir)

    def apply(spec: dg.AssetSpec) -> dg.AssetSpec:
        name = spec.key.to_user_string()
        schema = schemas.get(name)
        metadata: dict[str, Any] = {}
        description = DESCRIPTIONS.get(name, spec.description)
        if schema is not None:
            description = table_description(schema)
            metadata["dagster/column_schema"] = column_schema(schema)
        if references and name in references:
            metadata[CODE_REFERENCES] = metadata_value(references[name])
        tags = {LAYER_TAG: spec.group_name or "default"}
        return spec.replace_attributes(description=description).merge_attributes(
            owners=[OWNER], tags=tags, metadata=metadata, kinds=_kinds(spec, schema is not None)
        )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=dg.PreviewWarning)
        warnings.simplefilter("ignore", category=dg.BetaWarning)
        return defs.map_asset_specs(func=apply)
