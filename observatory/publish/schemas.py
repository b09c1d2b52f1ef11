"""Table Schemas of published tables (`schemas/tables/`) and the indicator dictionary.

The schemas are the contract: published columns come from them, and every table is checked
against its schema before a release is written.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from observatory.publish.numbers import load_precisions
from observatory.validation.expectations import ancre

DICTIONARY_FILE = "indicateurs.yaml"
# Table-level properties of our Table Schemas (Frictionless allows custom `x-` properties):
STANDARD = "x-standard"  # a source schema whose field constraints the table inherits
CONDITIONNELLES = "x-contraintes-conditionnelles"  # constraints on rows matching a condition
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
    return read_yaml(schemas_dir / DICTIONARY_FILE)


def read_yaml(path: Path) -> Any:
    """A YAML file, parsed by libyaml when PyYAML has it (10× faster than pure Python: the
    dictionary is read each time the definitions are built)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)


def load_table_schema(schemas_dir: Path, table: str) -> dict[str, Any]:
    """A published table's Table Schema, with the constraints it inherits resolved.

    - `x-standard`: fields named as in that source schema (La Mednum's standard for `lieux`)
      take its constraints (pattern, required, maxLength…), the table's own ones winning: the
      standard's rules are written once, in the standard.
    - `indicateurs_large` gets one field per indicator of the dictionary, constrained like the
      `valeur` of that indicator in `indicateurs` (its `x-contraintes-conditionnelles`); a
      count of things (its unit's `entier` in `unites.yaml`) is an integer column.
    """
    schema = _read(schemas_dir / "tables" / f"{table}.json")
    if STANDARD in schema:
        standard = {f["name"]: f for f in _read(schemas_dir / schema[STANDARD])["fields"]}
        for field in schema["fields"]:
            inherited = standard.get(field["name"], {}).get("constraints", {})
            own = field.get("constraints", {})
            merged = {k: v for k, v in inherited.items() if v is not False} | own
            if merged:
                field["constraints"] = merged
    if table == "indicateurs_large":
        long_form = _read(schemas_dir / "tables" / "indicateurs.json")
        precisions = load_precisions(schemas_dir)
        schema["fields"] += [
            {
                "name": code,
                "type": "integer" if precisions.of(code).entier else "number",
                "title": entry["libelle"],
                "unit": entry["unite"],
                "description": entry["definition"],
                **_indicator_constraints(long_form, code),
            }
            for code, entry in load_dictionary(schemas_dir).items()
        ]
    return schema


def _read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _indicator_constraints(indicateurs: dict[str, Any], code: str) -> dict[str, Any]:
    """Constraints on `valeur` that `indicateurs` declares for rows of indicator `code`."""
    constraints: dict[str, Any] = {}
    for rule in indicateurs.get(CONDITIONNELLES, []):
        condition = rule["si"]
        if condition["champ"] != "indicateur" or "valeur" not in rule["champs"]:
            continue
        if condition.get("egal") == code or (
            "pattern" in condition and re.fullmatch(condition["pattern"], code)
        ):
            constraints |= rule["constraints"]
    return {"constraints": constraints} if constraints else {}


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
        if "pattern" in constraints and dtype == pl.String:
            pattern = ancre(constraints["pattern"])  # Table Schema patterns match whole values
            values = frame[column].drop_nulls().unique()
            bad = values.filter(~values.str.contains(pattern)).head(5).to_list()
            if bad:
                errors.append(f"{name}.{column}: values not matching {pattern}: {bad}")
    return errors
