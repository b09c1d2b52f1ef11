"""One French number format, with each indicator's precision from the dictionary."""

from __future__ import annotations

import polars as pl
import pytest
import yaml
from polars.testing import assert_frame_equal

from observatory.publish.numbers import (
    NNBSP,
    Precision,
    describe,
    format_indicator,
    load_precisions,
    number,
)
from observatory.settings import PROJECT_ROOT

SCHEMAS = PROJECT_ROOT / "schemas"


@pytest.mark.parametrize(
    ("code", "valeur", "attendu"),
    [
        ("nb_illectronisme", 54166.581141, f"54{NNBSP}167"),  # people: an estimate, no decimals
        ("taux_illectronisme", 0.185835, f"18,6{NNBSP}%"),
        ("part_pop_france_services_plus_10km", 0.0, f"0,0{NNBSP}%"),
        ("distance_france_services_km", 2.161252, f"2,2{NNBSP}km"),
        ("lieux_demarches_pour_10k_hab", 4.536652, "4,5"),
        ("nb_lieux_demarches", 3695.0, f"3{NNBSP}695"),
        ("ifn_nb_variables_imputees", 1.0, "1"),  # a count: never "1,00"
        ("ifn_score_global_fr", 108.822614, "109"),
        ("illectronisme_par_conseiller_numerique", 7738.08302, f"7{NNBSP}738"),
        ("rang_priorite", 887.0, "887"),
        ("conseillers_numeriques_pour_10k_hab", 0.198479, "0,2"),
        ("nb_lieux", None, "inconnu"),
        ("nb_lieux", float("nan"), "inconnu"),
        ("nb_lieux", 0.0, "0"),  # a known zero stays zero
        ("code_sans_entree", 1234.5678, f"1{NNBSP}234,57"),
    ],
)
def test_indicators_read_as_a_french_reader_expects(
    code: str, valeur: float | None, attendu: str
) -> None:
    assert format_indicator(code, valeur) == attendu


@pytest.mark.parametrize(
    ("valeur", "decimales", "attendu"),
    [
        (1234567.891, 2, f"1{NNBSP}234{NNBSP}567,89"),
        (-0.5, 1, "-0,5"),
        (-0.04, 1, "0,0"),  # no "-0,0"
        (999.96, 1, f"1{NNBSP}000,0"),
        (12, 0, "12"),
    ],
)
def test_number(valeur: float, decimales: int, attendu: str) -> None:
    assert number(valeur, decimales) == attendu


def test_every_unit_of_the_dictionary_declares_its_precision() -> None:
    """A unit added to indicateurs.yaml without a line in unites.yaml would fall back to a
    naming convention: every unit in use must be declared."""
    dictionary = yaml.safe_load((SCHEMAS / "indicateurs.yaml").read_text(encoding="utf-8"))
    units = yaml.safe_load((SCHEMAS / "unites.yaml").read_text(encoding="utf-8"))
    assert {entry["unite"] for entry in dictionary.values()} <= set(units)
    for unit, rule in units.items():
        assert set(rule) <= {"decimales", "entier", "signe"}, unit
        assert not rule.get("entier") or rule["decimales"] == 0, unit


def test_precision_in_words_and_counts_as_integers() -> None:
    precisions = load_precisions(SCHEMAS)
    assert describe(precisions.of("nb_lieux")) == "entier"
    assert describe(precisions.of("taux_illectronisme")) == f"0,1{NNBSP}%"
    assert describe(precisions.of("distance_france_services_km")) == "1 décimale"
    assert describe(precisions.of("nb_illectronisme")) == "arrondi à l'unité"
    assert describe(Precision(2)) == "2 décimales"
    integers = set(precisions.integers())
    assert {"nb_lieux_demarches", "ifn_nb_variables_imputees", "rang_priorite"} <= integers
    assert "nb_illectronisme" not in integers and "taux_illectronisme" not in integers


def test_exports_are_rounded_to_the_declared_precision() -> None:
    frame = pl.DataFrame(
        {
            "code": ["16015", "16999"],
            "latitude": [45.647372, None],  # not an indicator: untouched
            "nb_illectronisme": [89.85912703638478, None],
            "taux_illectronisme": [0.160455, 0.2],
            "nb_lieux_demarches": [13.0, None],
            "distance_france_services_km": [7.0105, 0.0],
        }
    )
    expected = pl.DataFrame(
        {
            "code": ["16015", "16999"],
            "latitude": [45.647372, None],
            "nb_illectronisme": [90.0, None],  # unknown stays unknown
            "taux_illectronisme": [0.16, 0.2],
            "nb_lieux_demarches": pl.Series([13, None], dtype=pl.Int64),
            "distance_france_services_km": [7.0, 0.0],
        }
    )
    assert_frame_equal(load_precisions(SCHEMAS).round(frame), expected)
