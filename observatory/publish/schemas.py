"""Table Schemas of published tables (`schemas/tables/`) and the indicator dictionary.

The schemas are the contract: published columns come from them, and every table is checked
against its schema before a release is written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import yaml

DICTIONARY_FILE = "indicateurs.yaml"
# Frictionless type → polars types that satisfy it.
TYPES: dict[str, tuple[type[pl.DataType], ...]] = {
    "string": (pl.String,),
    "integer": (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64),
    "number": (pl.Float32, pl.Float64),
    "boolean": (pl.Boolean,),
    "date": (pl.Date,),
}


def load_dictionary(schemas_dir: Path) -> dict[str, dict[str, Any]]:
    """Indicator code → libelle, definition, unite, sens, modele, sources."""
    return yaml.safe_load((schemas_dir / DICTIONARY_FILE).read_text(encoding="utf-8"))


def load_table_schema(schemas_dir: Path, table: str) -> dict[str, Any]:
    """A published table's Table Schema; `indicateurs_large` gets one field per indicator."""
    schema = json.loads((schemas_dir / "tables" / f"{table}.json").read_text(encoding="utf-8"))
    if table == "indicateurs_large":
        schema["fields"] += [
            {
                "name": code,
                "type": "number",
                "title": entry["libelle"],
                "unit": entry["unite"],
                "description": entry["definition"],
            }
            for code, entry in load_dictionary(schemas_dir).items()
        ]
    return schema


def field_names(schema: dict[str, Any]) -> list[str]:
    return [field["name"] for field in schema["fields"]]


def check_schema(frame: pl.DataFrame, schema: dict[str, Any]) -> list[str]:
    """Columns, order, types and required fields of `frame` against its Table Schema."""
    name = schema["name"]
    expected = field_names(schema)
    if frame.columns != expected:
        missing = [c for c in expected if c not in frame.columns]
        extra = [c for c in frame.columns if c not in expected]
        return [
            f"{name}: columns differ from schemas/tables/{name}.json "
            f"(missing {missing}, unexpected {extra})"
        ]
    errors = []
    for field in schema["fields"]:
        column = field["name"]
        dtype = frame.schema[column]
        if not isinstance(dtype, TYPES[field["type"]]) and dtype != pl.Null:
            errors.append(f"{name}.{column}: type {dtype} is not a {field['type']}")
        constraints = field.get("constraints", {})
        if constraints.get("required") and (n := frame[column].null_count()):
            errors.append(f"{name}.{column}: {n} null values in a required field")
        if "enum" in constraints:
            bad = set(frame[column].drop_nulls().unique()) - set(constraints["enum"])
            if bad:
                errors.append(f"{name}.{column}: values outside {constraints['enum']}: {bad}")
    return errors
