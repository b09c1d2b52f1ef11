from pathlib import Path

import frictionless
import polars as pl
import pytest

from observatory.publish.datapackage import build_datapackage
from observatory.publish.documentation import render_dictionary, render_methodology, to_html
from observatory.publish.release import TableLayout, write_release
from observatory.sqlmodels.loader import header_text as model_header

SCHEMA = {
    "name": "territoires",
    "title": "Territoires",
    "description": "Une ligne par territoire.",
    "primaryKey": ["niveau", "code"],
    "fields": [
        {"name": "niveau", "type": "string", "title": "Niveau", "constraints": {"required": True}},
        {
            "name": "code",
            "type": "string",
            "title": "Code",
            "constraints": {"pattern": "^[0-9AB]+$|^FR$"},
        },
        {"name": "population", "type": "integer", "title": "Population"},
    ],
}
SOURCES = [
    {
        "source": "cog__communes",
        "titre": "COG",
        "producteur": "INSEE",
        "millesime": "2026",
        "licence": "Licence Ouverte 2.0",
        "url": "https://geo.api.gouv.fr",
        "sha256": "ab" * 32,
        "chemin": "raw/cog/2026/communes.csv",
    },
]


def release(tmp_path: Path, frame: pl.DataFrame) -> tuple[Path, dict]:
    folder = write_release(
        {"territoires": frame},
        tmp_path,
        SOURCES,
        extra={"millesime_cog": 2026},
        layouts={"territoires": TableLayout("niveau", ("niveau", "code"))},
        lineage={"territoires": ["cog__communes"]},
    ).folder
    import json

    return folder, json.loads((folder / "manifest.json").read_text())


GOOD = pl.DataFrame(
    {
        "niveau": ["commune", "commune", "france"],
        "code": ["01001", "2A004", "FR"],
        "population": [800, None, 800],
    },
    schema_overrides={"population": pl.Int64},
)


def validate(folder: Path, descriptor: dict) -> frictionless.Report:
    return frictionless.Package(descriptor, basepath=str(folder)).validate()


def test_datapackage_validates_multipart_release_with_nulls(tmp_path: Path) -> None:
    folder, manifest = release(tmp_path, GOOD)
    descriptor = build_datapackage(manifest, {"territoires": SCHEMA})
    (resource,) = descriptor["resources"]
    assert resource["path"] == [
        "territoires/niveau=commune/part-0.parquet",
        "territoires/niveau=france/part-0.parquet",
    ]
    assert descriptor["licenses"][0]["name"] == "etalab-2.0"
    assert descriptor["sources"][0]["title"] == "INSEE — COG (2026)"
    assert resource["sources"] == [
        {"title": "cog__communes (2026)", "path": "https://geo.api.gouv.fr"}
    ]
    report = validate(folder, descriptor)
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type"])


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        (GOOD.with_columns(code=pl.Series(["01001", "2a004", "FR"])), "constraint-error"),
        (pl.concat([GOOD, GOOD.head(1)]), "primary-key"),
    ],
)
def test_datapackage_catches_bad_release(tmp_path: Path, frame: pl.DataFrame, error: str) -> None:
    folder, manifest = release(tmp_path, frame)
    report = validate(folder, build_datapackage(manifest, {"territoires": SCHEMA}))
    assert not report.valid
    assert error in {e[0] for e in report.flatten(["type"])}


def test_missing_schema_is_refused(tmp_path: Path) -> None:
    _, manifest = release(tmp_path, GOOD)
    with pytest.raises(ValueError, match="no Table Schema"):
        build_datapackage(manifest, {})


def test_dictionary_and_methodology_are_generated_from_schemas_and_models(tmp_path: Path) -> None:
    _, manifest = release(tmp_path, GOOD)
    dictionary = {
        "nb_lieux": {
            "libelle": "Nombre de lieux",
            "definition": "Compte | des lieux",
            "unite": "lieux",
            "sens": "hausse_favorable",
            "modele": "ind_offre",
            "sources": ["cog__communes"],
        },
    }
    text = render_dictionary(manifest, {"territoires": SCHEMA}, dictionary)
    assert "## Table `territoires` — Territoires" in text and "3 lignes." in text
    assert "| `population` | integer | Population |  |" in text
    assert "Compte \\| des lieux" in text and "cog__communes (2026)" in text
    sql = "-- Offre : nombre de lieux.\n-- Sommés depuis les communes.\nWITH a AS (SELECT 1)\n"
    assert model_header(sql) == "Offre : nombre de lieux. Sommés depuis les communes."
    method = render_methodology(manifest, dictionary, {"ind_offre": sql}, {"n.md": "## Note\nx"})
    assert "### `ind_offre`" in method and "Indicateurs : `nb_lieux`." in method
    page = to_html(method, "Note <méthodo>")
    assert page.startswith("<!DOCTYPE html>") and "<title>Note &lt;méthodo&gt;</title>" in page
    assert "<h3><code>ind_offre</code></h3>" in page and "<table>" in page
