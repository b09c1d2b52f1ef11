"""Rules generated from the Table Schemas: polars row rules and great-expectations suites agree."""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import date
from typing import Any

import polars as pl
import pytest

from observatory.publish.schemas import load_table_schema
from observatory.settings import PROJECT_ROOT
from observatory.sources.mednum import SCHEMA_FILE, load_standard
from observatory.transforms.lieux import stage_lieux
from observatory.validation.expectations import (
    COLONNE_POINT,
    Regle,
    ValidationInterrompue,
    checks_lignes,
    en_processus_fils,
    lignes_en_echec,
    regles,
    valider_table,
)
from observatory.validation.quarantine import run_checks
from tests.conftest import report

SCHEMAS = PROJECT_ROOT / "schemas"

SCHEMA = {
    "name": "essai",
    "primaryKey": ["niveau", "code"],
    "x-lignes": {"min": 1, "max": 3},
    "x-point-en-france": {"latitude": "lat", "longitude": "lon"},
    "x-contraintes-conditionnelles": [
        {
            "si": {"champ": "niveau", "egal": "commune"},
            "champs": ["code"],
            "constraints": {"pattern": "(?:\\d{2}|2[AB])\\d{3}"},
        },
        {
            "si": {"champ": "indicateur", "pattern": "part_.+"},
            "champs": ["valeur"],
            "constraints": {"minimum": 0, "maximum": 1},
        },
    ],
    "fields": [
        {"name": "niveau", "type": "string", "constraints": {"enum": ["commune", "region"]}},
        {"name": "code", "type": "string"},
        {"name": "indicateur", "type": "string"},
        {"name": "valeur", "type": "number"},
        {"name": "nom", "type": "string", "constraints": {"maxLength": 10}},
        {"name": "lat", "type": "number"},
        {"name": "lon", "type": "number"},
    ],
}
OK = pl.DataFrame(
    {
        "niveau": ["commune", "commune", "region"],
        "code": ["16015", "2A004", "75"],
        "indicateur": ["part_65_plus", "nb_lieux", "part_65_plus"],
        "valeur": [0.25, 12.0, 0.2],
        "nom": ["Angoulême", "Ajaccio", None],
        "lat": [45.65, 41.93, None],
        "lon": [0.16, 8.74, None],
    }
)


def test_rules_are_read_from_the_schema() -> None:
    got = [(r.sorte, r.colonne, r.condition is not None) for r in regles(SCHEMA)]
    assert got == [
        ("colonnes", "niveau,code,indicateur,valeur,nom,lat,lon", False),
        ("lignes", "", False),
        ("primaryKey", "niveau,code", False),
        ("required", "niveau", False),
        ("enum", "niveau", False),
        ("required", "code", False),
        ("minLength", "nom", False),
        ("pattern", "code", True),
        ("minimum", "valeur", True),
        ("point", "lat,lon", False),
    ]
    assert Regle("minLength", ("nom",), (None, 10)) in regles(SCHEMA)


def _with(**columns: Any) -> pl.DataFrame:
    return OK.with_columns(pl.Series(name, values) for name, values in columns.items())


# (frame, failing column, quarantine reason, great-expectations expectation)
CASES = [
    (
        _with(niveau=[None, "commune", "region"]),
        "niveau",
        "obligatoire_manquant",
        "expect_column_values_to_not_be_null",
    ),
    (
        _with(niveau=["commune", "commune", "canton"]),
        "niveau",
        "hors_vocabulaire",
        "expect_column_values_to_be_in_set",
    ),
    (
        _with(code=["16015", "16015", "75"]),
        "niveau,code",
        "cle_dupliquee",
        "expect_compound_columns_to_be_unique",
    ),
    (
        _with(code=["1015", "2A004", "75"]),
        "code",
        "format_invalide",
        "expect_column_values_to_match_regex",
    ),
    (
        _with(valeur=[1.5, 12.0, 0.2]),
        "valeur",
        "hors_intervalle",
        "expect_column_values_to_be_between",
    ),
    (
        _with(nom=["Angoulême", "Ajaccio", "Un nom bien trop long"]),
        "nom",
        "texte_trop_long",
        "expect_column_value_lengths_to_be_between",
    ),
    (
        _with(lat=[43.3, 41.93, None], lon=[-30.0, 8.74, None]),
        "lat,lon",
        "hors_france",
        "expect_column_values_to_be_in_set",
    ),
]


def test_valid_frame_passes_both() -> None:
    assert lignes_en_echec(OK, SCHEMA).is_empty()
    resultat = valider_table(OK, SCHEMA)
    assert resultat.succes, resultat.textes()
    assert resultat.nb_attentes == len(regles(SCHEMA))


@pytest.mark.parametrize(("frame", "colonne", "raison", "attente"), CASES)
def test_polars_rules_and_suite_find_the_same_defect(
    frame: pl.DataFrame, colonne: str, raison: str, attente: str
) -> None:
    echecs = lignes_en_echec(frame, SCHEMA)
    assert echecs.select("colonne", "code_raison").unique().rows() == [(colonne, raison)]
    resultat = valider_table(frame, SCHEMA)
    assert not resultat.succes
    got = [(e.attente, e.colonne) for e in resultat.echecs]
    expected_column = COLONNE_POINT if raison == "hors_france" else colonne
    assert got == [(attente, expected_column)]
    assert resultat.echecs[0].nb_inattendus >= 1 and resultat.echecs[0].exemples
    json.dumps(resultat.metadata())  # Dagster metadata must be JSON


def test_a_condition_limits_the_rule_to_matching_rows() -> None:
    # 12.0 is fine for nb_lieux, "75" is a région code: neither rule applies to those rows.
    frame = _with(valeur=[0.25, 12.0, 0.2])
    assert lignes_en_echec(frame, SCHEMA).is_empty()


def test_table_rules_row_count_and_columns() -> None:
    resultat = valider_table(
        pl.concat([OK, OK.with_columns(pl.lit("region").alias("niveau"))]), SCHEMA
    )
    (count,) = [e for e in resultat.echecs if e.attente == "expect_table_row_count_to_be_between"]
    assert count.valeur_observee == 6
    missing = valider_table(OK.drop("nom"), SCHEMA)
    assert "expect_table_columns_to_match_ordered_list" in [e.attente for e in missing.echecs]


def test_checks_feed_the_quarantine() -> None:
    frame = _with(code=["1015", "2A004", "75"]).with_columns(
        pl.lit("essai").alias("jeu_de_donnees"),
        pl.lit("essai.csv").alias("fichier_origine"),
        pl.lit("sha").alias("sha256_origine"),
        pl.Series("ligne", [1, 2, 3]),
    )
    entries = run_checks(frame, checks_lignes(SCHEMA, colonnes_exactes=False))
    assert entries.select("ligne", "colonne", "code_raison", "valeur_brute", "action").rows() == [
        (1, "code", "format_invalide", "1015", "valeur_ecartee")
    ]


@pytest.mark.parametrize(
    ("code", "niveau", "valid"),
    [
        ("16015", "commune", True),
        ("2A004", "commune", True),
        ("2B033", "commune", True),
        ("97611", "commune", True),
        ("20004", "commune", False),
        ("97701", "commune", False),  # Saint-Barthélemy: outside the published scope
        ("1015", "commune", False),
        ("2A", "departement", True),
        ("976", "departement", True),
        ("20", "departement", False),
        ("200071827", "epci", True),
        ("75", "region", True),
        ("FR", "france", True),
        ("FRA", "france", False),
    ],
)
def test_territory_code_patterns(code: str, niveau: str, valid: bool) -> None:
    schema = load_table_schema(SCHEMAS, "territoires")
    frame = pl.DataFrame({"niveau": [niveau], "code": [code]})
    failing = [
        c
        for c in checks_lignes(schema)
        if c.colonne == "code" and c.code_raison in {"format_invalide", "hors_vocabulaire"}
    ]
    assert frame.select(pl.any_horizontal(c.failed for c in failing).fill_null(False)).item() == (
        not valid
    )


@pytest.mark.real_data
def test_staged_charente_against_the_standard(charente_raw: pl.DataFrame) -> None:
    """Staged real places checked with the rules of La Mednum's standard (warning level)."""
    standard_schema = json.loads((SCHEMAS / SCHEMA_FILE).read_text(encoding="utf-8"))
    kept, _ = stage_lieux(charente_raw, load_standard(SCHEMAS), date(2025, 2, 6))
    entries = run_checks(kept, checks_lignes(standard_schema, colonnes_exactes=False))
    counts = dict(entries.group_by("colonne").len().iter_rows())
    resultat = valider_table(kept, standard_schema, colonnes_exactes=False, nom="stg_mednum__lieux")
    failed = {e.colonne for e in resultat.echecs}
    assert failed == set(counts)  # both ways find the same columns
    assert kept.height == 188
    report(
        "standard v1.0.2 rules on the 188 staged Charente places:",
        ", ".join(f"{c} {n}" for c, n in sorted(counts.items())) or "none broken",
    )


# The suite runs in a forked child (where the system forks): its memory goes back to the system
# when the child exits, and whatever goes wrong there is reported here, never lost.
fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this system")


@fork
@pytest.mark.parametrize(("frame", "colonne", "raison", "attente"), CASES)
def test_suite_in_a_child_process_finds_what_it_finds_in_process(
    frame: pl.DataFrame,
    colonne: str,
    raison: str,
    attente: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A large table's suite runs in a forked child: the same failures, the same details."""
    en_place = valider_table(frame, SCHEMA)
    monkeypatch.setattr("observatory.validation.expectations.LIGNES_FILS", 0)
    dans_un_fils = valider_table(frame, SCHEMA)
    assert dans_un_fils == en_place
    assert not dans_un_fils.succes


@fork
def test_child_process_runs_the_work_and_returns_its_result() -> None:
    parent = os.getpid()
    pid, lignes = en_processus_fils(lambda: (os.getpid(), len(["a", "b"])), "t")
    assert pid != parent
    assert lignes == 2


@fork
def test_child_process_error_is_raised_with_the_table_name() -> None:
    def echoue() -> None:
        raise KeyError("colonne_absente")

    with pytest.raises(ValidationInterrompue, match=r"^indicateurs: KeyError: 'colonne_absente'"):
        en_processus_fils(echoue, "indicateurs")


@fork
def test_child_process_killed_is_reported_not_hung() -> None:
    def tue() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    with pytest.raises(ValidationInterrompue, match="lieux: the validation process ended"):
        en_processus_fils(tue, "lieux")


@fork
def test_child_process_without_answer_is_killed_and_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An unattended run never hangs on a validation: past the delay, the child is killed."""
    monkeypatch.setattr("observatory.validation.expectations.DELAI_FILS_S", 0.5)
    debut = time.monotonic()
    with pytest.raises(ValidationInterrompue, match=r"orientation: no result .* after 0\.5 s"):
        en_processus_fils(lambda: time.sleep(30), "orientation")
    assert time.monotonic() - debut < 10
