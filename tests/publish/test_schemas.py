import re

import polars as pl
import pytest

from observatory.defs.activity import build_activity_assets
from observatory.defs.indicators import python_indicators
from observatory.partners.mappings import load_mappings
from observatory.publish.schemas import (
    check_schema,
    field_names,
    load_dictionary,
    load_table_schema,
)
from observatory.settings import PROJECT_ROOT

SCHEMAS = PROJECT_ROOT / "schemas"
TABLES = ("territoires", "indicateurs", "indicateurs_large", "lieux", "couverture_sources")


@pytest.mark.parametrize("table", TABLES)
def test_every_field_has_a_french_title(table: str) -> None:
    schema = load_table_schema(SCHEMAS, table)
    assert schema["name"] == table and schema["description"]
    for field in schema["fields"]:
        assert field["title"], field["name"]
        assert field["type"] in {"string", "integer", "number", "boolean", "date"}
    assert set(schema["primaryKey"]) <= set(field_names(schema))


PYTHON_INDICATORS = {
    key.to_user_string()
    for a in (*python_indicators, *build_activity_assets(load_mappings(SCHEMAS / "partners")))
    for key in a.keys
}


def test_dictionary_entries_are_complete() -> None:
    dictionary = load_dictionary(SCHEMAS)
    assert {"nb_lieux", "lieux_pour_10k_hab"} <= set(dictionary)
    for code, entry in dictionary.items():
        assert {"libelle", "definition", "unite", "sens", "modele", "sources"} <= set(entry), code
        assert entry["sens"] in {"hausse_favorable", "baisse_favorable", "neutre"}
        sql = PROJECT_ROOT / "dbt_like_sql/indicators" / f"{entry['modele']}.sql"
        assert sql.exists() or entry["modele"] in PYTHON_INDICATORS, (code, entry["modele"])
    large = field_names(load_table_schema(SCHEMAS, "indicateurs_large"))
    assert large[4:] == list(dictionary)


TERRITOIRES_OK = pl.DataFrame(
    {
        "niveau": ["commune"],
        "code": ["16015"],
        "nom": ["Angoulême"],
        "population": [41711],
        "millesime_cog": pl.Series([2026], dtype=pl.Int32),
        "code_epci": ["200071827"],
        "code_departement": ["16"],
        "code_region": ["75"],
        "code_bassin_de_vie": ["16015"],
        "code_aav": ["061"],
        "categorie_aav": ["11"],
        "grille_densite_7": pl.Series([2], dtype=pl.Int8),
        "grille_densite_4": pl.Series([2], dtype=pl.Int8),
        "latitude": [45.65],
        "longitude": [0.16],
    }
)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (TERRITOIRES_OK.drop("nom"), "missing ['nom']"),
        (TERRITOIRES_OK.with_columns(pl.lit(1).alias("extra")), "unexpected ['extra']"),
        (TERRITOIRES_OK.with_columns(pl.col("code").cast(pl.Categorical)), "code: type"),
        (TERRITOIRES_OK.with_columns(pl.col("population").cast(pl.String)), "not a integer"),
        (TERRITOIRES_OK.with_columns(pl.lit(None, pl.String).alias("nom")), "required"),
        (TERRITOIRES_OK.with_columns(pl.lit("canton").alias("niveau")), "values not matching"),
    ],
)
def test_check_schema_finds(frame: pl.DataFrame, message: str) -> None:
    schema = load_table_schema(SCHEMAS, "territoires")
    assert check_schema(TERRITOIRES_OK, schema) == []
    errors = check_schema(frame, schema)
    assert any(message in e for e in errors), errors


@pytest.mark.parametrize("table", TABLES)
def test_every_table_declares_row_bounds_and_valid_patterns(table: str) -> None:
    schema = load_table_schema(SCHEMAS, table)
    bounds = schema["x-lignes"]
    assert 0 < bounds["min"] < bounds["max"]
    patterns = [
        f["constraints"]["pattern"]
        for f in schema["fields"]
        if "pattern" in f.get("constraints", {})
    ]
    patterns += [
        r["constraints"]["pattern"]
        for r in schema.get("x-contraintes-conditionnelles", [])
        if "pattern" in r["constraints"]
    ]
    for pattern in patterns:  # the same pattern must compile for polars and for Python
        re.compile(pattern)
        pl.select(pl.lit("x").str.contains(pattern))


def test_lieux_inherits_the_standard_s_constraints() -> None:
    fields = {
        f["name"]: f.get("constraints", {}) for f in load_table_schema(SCHEMAS, "lieux")["fields"]
    }
    assert fields["pivot"] == {"required": True, "pattern": "^[a-zA-Z0-9]{9,14}$"}
    assert fields["presentation_resume"] == {"maxLength": 280}
    assert fields["services"]["pattern"].startswith("(?:(?:^|\\|)(Aide aux démarches")
    # The table's own constraint wins over the standard's (COG 2026 codes in scope only).
    assert fields["code_insee"]["required"] is True
    assert "97[1-6]" in fields["code_insee"]["pattern"]


def test_indicateurs_large_columns_take_the_indicator_s_range() -> None:
    fields = {f["name"]: f for f in load_table_schema(SCHEMAS, "indicateurs_large")["fields"]}
    assert fields["nb_lieux"]["constraints"] == {"minimum": 0}
    assert fields["lieux_pour_10k_hab"]["constraints"] == {"minimum": 0}
