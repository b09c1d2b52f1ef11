"""La Mednum's "standard de données de médiation numérique": columns and vocabularies.

Read from the schema and enumerations in `schemas/sources/`, so the standard, not the code,
says which columns exist and which are required.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

SCHEMA_FILE = "sources/schema_standard_mediation_num_v1.0.2.json"
ENUMERATIONS_FILE = "sources/mednum_enumerations_v1.json"


@dataclass(frozen=True)
class Standard:
    version: str
    columns: tuple[str, ...]
    required: frozenset[str]
    enumerations: dict[str, tuple[str, ...]]


def load_standard_schema(schemas_dir: Path) -> dict:
    """La Mednum's standard v1.0.2 as its Table Schema (the staged registries are checked on it)."""
    return json.loads((schemas_dir / SCHEMA_FILE).read_text(encoding="utf-8"))


def load_standard(schemas_dir: Path) -> Standard:
    schema = load_standard_schema(schemas_dir)
    enums = json.loads((schemas_dir / ENUMERATIONS_FILE).read_text(encoding="utf-8"))
    fields = schema["fields"]
    return Standard(
        version=schema.get("version", "?"),
        columns=tuple(f["name"] for f in fields),
        required=frozenset(f["name"] for f in fields if f.get("constraints", {}).get("required")),
        enumerations={k: tuple(v) for k, v in enums["enumerations"].items()},
    )
