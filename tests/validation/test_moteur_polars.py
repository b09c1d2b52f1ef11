"""The polars engine reports exactly what great-expectations reports, on real tables.

The pipeline's blocking checks run the Table Schemas' suites with `valider_table_polars`;
great-expectations (`expectations.valider_table`) is the reference. Each published table of a
national run, and each staged registry against La Mednum's standard, is validated by both:
as published, then with one violation of each rule its schema declares injected on a row of
its own, then with its columns out of order and with too few rows. The results must be equal:
same expectations, order, parameters, counts, examples and observed values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import polars as pl
import pytest

from observatory.defs.publish import TABLES
from observatory.publish.schemas import load_table_schema
from observatory.settings import PROJECT_ROOT
from observatory.sources.mednum import SCHEMA_FILE
from observatory.validation.expectations import COLONNE_POINT, Regle, regles, valider_table
from observatory.validation.moteur_polars import valider_table_polars
from tests.validation.test_expectations import CASES, OK, SCHEMA

SCHEMAS = PROJECT_ROOT / "schemas"


def _vaut(frame: pl.DataFrame, ligne: int, colonne: str, valeur: Any) -> pl.DataFrame:
    """`frame` with `valeur` in one cell (the column keeps its type)."""
    dtype = frame.schema[colonne]
    nouvelle = pl.Series([valeur], dtype=dtype) if valeur is not None else None
    return frame.with_columns(
        pl.when(pl.int_range(pl.len()) == ligne)
        .then(pl.lit(nouvelle.item() if nouvelle is not None else None, dtype=dtype))
        .otherwise(pl.col(colonne))
        .alias(colonne)
    )


def _hors_regle(regle: Regle, frame: pl.DataFrame) -> tuple[str, Any] | None:
    """A value of the rule's column that breaks it, or None when the column's type cannot."""
    colonne = regle.colonnes[0]
    dtype = frame.schema[colonne]
    match regle.sorte:
        case "required":
            return colonne, None
        case "pattern" if dtype == pl.String:
            return colonne, "§ hors format"
        case "enum" if dtype == pl.String:
            return colonne, "hors_vocabulaire"
        case "enum" if dtype.is_numeric():
            return colonne, max(v for v in regle.valeur) + 1
        case "minimum" if dtype.is_numeric():
            bas, haut = regle.valeur
            return colonne, (haut + 1) if haut is not None else (bas - 1)
        case "minLength" if dtype == pl.String:
            bas, haut = regle.valeur
            return colonne, "x" * (haut + 1) if haut is not None else ""
    return None


def avec_violations(
    frame: pl.DataFrame, schema: Mapping[str, Any]
) -> tuple[pl.DataFrame, list[str]]:
    """One violation of each rule of `schema`, each on its own row (rows 0, 7, 14…), and the
    columns (as results name them) of the rules broken."""
    cassees = []
    for i, regle in enumerate(regles(schema, colonnes_exactes=False)):
        ligne = 7 * i
        if regle.sorte == "unique":
            (colonne,) = regle.colonnes
            frame = _vaut(frame, ligne, colonne, frame[colonne][ligne + 1])
        elif regle.sorte == "primaryKey":
            frame = pl.concat([frame, frame.slice(ligne, 1)])
        elif regle.sorte == "point":
            latitude, longitude = regle.colonnes
            frame = _vaut(_vaut(frame, ligne, latitude, 10.0), ligne, longitude, -150.0)
            regle = Regle("point", (COLONNE_POINT,))
        elif regle.par_ligne and not regle.condition and _hors_regle(regle, frame):
            frame = _vaut(frame, ligne, *_hors_regle(regle, frame))
        else:
            continue
        cassees.append(regle.colonne)
    return frame, cassees


def _variantes(frame: pl.DataFrame, schema: Mapping[str, Any]) -> dict[str, pl.DataFrame]:
    return {
        "telle_quelle": frame,
        "une_violation_par_regle": avec_violations(frame, schema)[0],
        "colonnes_desordonnees": frame.select(reversed(frame.columns)),
        "colonne_absente": frame.drop(frame.columns[1]),
        "trop_peu_de_lignes": frame.head(3),
    }


def _compare(frame: pl.DataFrame, schema: Mapping[str, Any], **kwargs: Any) -> list[str]:
    """The columns of the expectations great-expectations reports failed (after asserting
    polars reports exactly the same)."""
    reference = valider_table(frame, schema, **kwargs)
    polars = valider_table_polars(frame, schema, **kwargs)
    assert polars == reference
    json.dumps(polars.metadata())
    return [e.colonne or e.attente for e in reference.echecs]


@pytest.mark.parametrize(("frame", "colonne", "raison", "attente"), CASES)
def test_each_defect_of_the_small_table_is_reported_alike(
    frame: pl.DataFrame, colonne: str, raison: str, attente: str
) -> None:
    expected_column = COLONNE_POINT if raison == "hors_france" else colonne
    assert expected_column in _compare(frame, SCHEMA)
    assert _compare(OK, SCHEMA) == []


@pytest.mark.real_data
@pytest.mark.parametrize("table", TABLES)
def test_published_tables_are_reported_alike(pipeline_run, table: str) -> None:
    settings, _ = pipeline_run
    frame = pl.read_parquet(settings.warehouse_dir / f"pub_{table}.parquet")
    schema = load_table_schema(SCHEMAS, table)
    echecs = {nom: _compare(v, schema) for nom, v in _variantes(frame, schema).items()}
    assert echecs["telle_quelle"] == []  # the release passes its suite
    _, cassees = avec_violations(frame, schema)
    assert len(cassees) >= 5
    assert set(cassees) <= set(echecs["une_violation_par_regle"])  # each broken rule is reported
    assert "expect_table_columns_to_match_ordered_list" in echecs["colonnes_desordonnees"]


@pytest.mark.real_data
def test_staged_registries_are_reported_alike(pipeline_run) -> None:
    """Real registries break La Mednum's standard here and there: both report the same."""
    settings, _ = pipeline_run
    standard = json.loads((SCHEMAS / SCHEMA_FILE).read_text(encoding="utf-8"))
    registres = sorted(settings.warehouse_dir.glob("stg_*__lieux*.parquet"))
    assert len(registres) >= 3
    for chemin in registres:
        frame = pl.read_parquet(chemin)
        for variante in _variantes(frame, standard).values():
            _compare(variante, standard, colonnes_exactes=False, nom="stg")
