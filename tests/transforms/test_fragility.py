"""Indice de Fragilité Numérique: La Mednum's own 2020 scores for the 16 IRIS of Arras, fed
through the observatory's code, then the rules the observatory adds (imputation, caps,
references), on small tables."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from observatory.publish.schemas import load_dictionary
from observatory.transforms import fragility
from observatory.transforms import fragility_scores as fr
from observatory.transforms.territories import reference_majoritaire

ARRAS = (
    Path(__file__).parents[1]
    / "fixtures"
    / "ifn_arras"
    / "ifn_2020_arras_iris_entrees_et_scores.csv"
)

# La Mednum's column names: (numerator, denominator) of each variable, as the IRIS shares of
# the file are built (e.g. `Part des personnes âgées de 65 ans / +` = P16 Pop65P / P16 Pop).
COMPTES_ARRAS = {
    "part_familles_monoparentales": ("C16 Fammono", "C16 Fam"),
    "part_menages_une_personne": ("C16 Menpseul", "C16 Men"),
    "part_15_29_ans": ("P16 Pop1529", "P16 Pop"),
    "part_65_ans_et_plus": ("P16 Pop65P", "P16 Pop"),
    "part_peu_diplomes": ("P16 Nscol15P Diplmin", "P16 Nscol15P"),
}
# The variable's reference (`SEUILS …`) and ratio (`CM …`) columns, with `{ref}` the level.
COLONNES_ARRAS = {
    "part_familles_monoparentales": "Part des familles {ref}",
    "part_menages_une_personne": "Part des ménages {ref}",
    "part_15_29_ans": "Part des personnes âgées de 15 – 29 ans {ref}",
    "part_65_ans_et_plus": "Part des personnes âgées de 65 {ref}",
    "part_peu_diplomes": "Part des non ou peu diplômés {ref}",
    "revenu_median_uc": "revenue median {ref}",
}
# Axis, family and global score columns (`… 1`: the sum divided by the number of variables).
SCORES_ARRAS = {
    "score_acces_interfaces": "ACCÈS AUX INTERFACES NUMERIQUES {ref} 1",
    "score_acces_information": "ACCES A L'INFORMATION {ref} 1",
    "score_competences_administratives": "COMPETENCES ADMINISTATIVES {ref} 1",
    "score_competences_numeriques": "COMPÉTENCES NUMÉRIQUES / SCOLAIRES {ref} 1",
    "score_acces": "GLOBAL ACCES {ref} 1",
    "score_competences": "GLOBAL COMPETENCES {ref} 1",
    "score_global": "SCORE GLOBAL {ref} 1",
}
# Levels as the file spells them: (in SEUILS/CM columns, in score columns).
NIVEAUX_ARRAS = {
    "region": ("region", "region"),
    "departement": ("departement", "departement"),
    "epci": ("EPCI", "epci"),
}
# The file publishes 9 decimals, its reference shares too (0.162532919: a relative precision of
# 3e-9), and La Mednum computed its ratios from the unrounded references: the ratios agree to a
# relative 1e-8, i.e. 2e-6 on a score of 200, far below the 1e-2 of any published rounding.
PRECISION = 1e-8


def _arras() -> pl.DataFrame:
    """The file, column names with single spaces (it spells `GLOBAL COMPETENCES  departement`)."""
    frame = pl.read_csv(ARRAS, separator=";", decimal_comma=True, infer_schema_length=None)
    return frame.rename({c: " ".join(c.split()) for c in frame.columns})


def _entrees_arras(arras: pl.DataFrame) -> pl.DataFrame:
    # The median is the commune's (`MED15 données communales`): the published ratio is
    # 17 868 / 18 982 for every IRIS, not the IRIS medians.
    frame = arras.with_columns(pl.col("Code Iris").cast(pl.String).alias("code"))
    return fr.entrees_depuis_comptes(
        frame,
        COMPTES_ARRAS,
        medianes={"revenu_median_uc": "MED15 données communales"},
    )


def _references_arras(arras: pl.DataFrame, seuil: str) -> pl.DataFrame:
    ligne = arras.row(0, named=True)
    return pl.DataFrame(
        {
            "code_reference": "R",
            "variable": list(COLONNES_ARRAS),
            "valeur_reference": [
                float(ligne["SEUILS " + col.format(ref=seuil)]) for col in COLONNES_ARRAS.values()
            ],
        }
    )


@pytest.mark.real_data
@pytest.mark.parametrize("niveau", list(NIVEAUX_ARRAS))
def test_arras_scores_reproduce_la_mednum(niveau: str) -> None:
    """Inputs and references from La Mednum's file in; its ratios, axes, families and global
    score out, to the 9 decimals it publishes, against each of its three references."""
    seuil, score = NIVEAUX_ARRAS[niveau]
    arras = _arras()
    assert arras.height == 16
    entrees = _entrees_arras(arras)
    appartenance = entrees.select("code").unique().with_columns(pl.lit("R").alias("code_reference"))
    scores = fr.scores_variables(entrees, appartenance, _references_arras(arras, seuil))
    attendu_ratios = arras.select(
        pl.col("Code Iris").cast(pl.String).alias("code"),
        *(pl.col("CM " + col.format(ref=seuil)).alias(v) for v, col in COLONNES_ARRAS.items()),
    ).unpivot(index="code", variable_name="variable", value_name="score")
    assert_frame_equal(
        scores.select("code", "variable", "score").sort("code", "variable"),
        attendu_ratios.sort("code", "variable"),
        abs_tol=0,
        rel_tol=PRECISION,
    )
    indice = fr.indice_fragilite(scores)
    attendu = arras.select(
        pl.col("Code Iris").cast(pl.String).alias("code"),
        *(pl.col(col.format(ref=score)).alias(nom) for nom, col in SCORES_ARRAS.items()),
    ).sort("code")
    assert_frame_equal(
        indice.select(attendu.columns), attendu, abs_tol=0, rel_tol=PRECISION, check_dtypes=False
    )
    assert (indice["nb_variables"] == 6).all()


@pytest.mark.real_data
def test_arras_global_is_the_mean_of_variables_not_of_axes() -> None:
    """Why `indice_fragilite` averages variables: the mean of the four axes would miss La
    Mednum's global score on every IRIS, by up to 8 points (the axes have 1 to 2 variables)."""
    arras = _arras()
    entrees = _entrees_arras(arras)
    appartenance = entrees.select("code").unique().with_columns(pl.lit("R").alias("code_reference"))
    indice = fr.indice_fragilite(
        fr.scores_variables(entrees, appartenance, _references_arras(arras, "region"))
    )
    moyenne_axes = indice.select(
        pl.mean_horizontal(*(f"score_{axe}" for axe in fr.AXES)).alias("m"), "score_global"
    )
    ecart = (moyenne_axes["m"] - moyenne_axes["score_global"]).abs()
    assert (ecart > 1e-3).all() and ecart.max() > 5


@pytest.mark.real_data
def test_arras_median_income_is_not_inverted() -> None:
    """La Mednum's published ratio is 100 × 17 868 / 18 982 = 94.13 (documentation: inverted)."""
    arras = _arras()
    assert arras["CM revenue median region"].unique().to_list() == pytest.approx(
        [100 * 17868 / 18982]
    )
    sens = {v.code: v.sens for v in fr.VARIABLES_IFN}
    assert sens["revenu_median_uc"] == fr.DIRECT


def _entrees(lignes: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        [(*ligne, False) for ligne in lignes], schema=fr.ENTREES_SCHEMA, orient="row"
    )


def test_missing_input_takes_the_epci_value_then_the_departement_flagged() -> None:
    entrees = _entrees(
        [
            ("c1", "part_65_ans_et_plus", None, None, 100.0),  # → EPCI e1 value
            ("c2", "part_65_ans_et_plus", 0.3, 30.0, 100.0),
            ("c3", "part_65_ans_et_plus", None, None, 50.0),  # EPCI e2 unknown → département
            ("c4", "part_65_ans_et_plus", 0.1, 10.0, 100.0),
        ]
    )
    epci = pl.DataFrame({"code": ["c1", "c2", "c3", "c4"], "code_parent": ["e1", "e1", "e2", "e3"]})
    dep = pl.DataFrame({"code": ["c1", "c2", "c3", "c4"], "code_parent": ["d"] * 4})
    valeurs = lambda app: fr.agrege_entrees(entrees, app).select(  # noqa: E731
        pl.col("code").alias("code_parent"), "variable", "valeur"
    )
    imputees = fr.impute_depuis_parents(entrees, [(epci, valeurs(epci)), (dep, valeurs(dep))])
    attendu = _entrees(
        [
            ("c1", "part_65_ans_et_plus", 0.3, 30.0, 100.0),
            ("c2", "part_65_ans_et_plus", 0.3, 30.0, 100.0),
            ("c3", "part_65_ans_et_plus", 0.2, 10.0, 50.0),
            ("c4", "part_65_ans_et_plus", 0.1, 10.0, 100.0),
        ]
    ).with_columns(pl.Series("imputee", [True, False, True, False]))
    assert_frame_equal(imputees, attendu)


def test_caps_bound_every_score_and_are_counted() -> None:
    entrees = _entrees(
        [(f"c{i}", "part_65_ans_et_plus", v, v, 1.0) for i, v in enumerate([0.001, 0.1, 0.2, 9.0])]
    )
    appartenance = pl.DataFrame({"code": [f"c{i}" for i in range(4)], "code_reference": "R"})
    references = pl.DataFrame(
        {"code_reference": ["R"], "variable": ["part_65_ans_et_plus"], "valeur_reference": [0.1]}
    )
    variables = tuple(v for v in fr.VARIABLES_IFN if v.code == "part_65_ans_et_plus")
    brut = fr.scores_variables(entrees, appartenance, references, variables)
    bornes = fr.bornes_nationales(brut, 0.25, 0.75)
    bornees = fr.scores_variables(entrees, appartenance, references, variables, bornes=bornes)
    basse, haute = bornes.row(0)[1:]
    assert bornees["score"].min() == pytest.approx(basse)
    assert bornees["score"].max() == pytest.approx(haute)
    assert bornees["bornee"].to_list() == [True, False, False, True]
    assert bornees["score_brut"].to_list() == brut["score_brut"].to_list()


def test_a_territory_missing_a_variable_has_no_global_score() -> None:
    lignes = [("x", v.code, 1.0, None, None) for v in fr.VARIABLES_IFN[1:]]
    entrees = _entrees(lignes)
    appartenance = pl.DataFrame({"code": ["x"], "code_reference": ["R"]})
    references = pl.DataFrame(
        {
            "code_reference": "R",
            "variable": [v.code for v in fr.VARIABLES_IFN],
            "valeur_reference": 1.0,
        }
    )
    ligne = fr.indice_fragilite(fr.scores_variables(entrees, appartenance, references)).row(
        0, named=True
    )
    assert ligne["score_global"] is None and ligne["score_acces_interfaces"] is None
    assert ligne["score_acces_information"] == pytest.approx(100.0)
    assert ligne["nb_variables"] == 5


def test_reference_of_a_territory_across_two_is_its_main_one() -> None:
    appartenances = pl.DataFrame(
        {
            "code_commune": ["a", "b", "c", "a", "b", "c"],
            "niveau": ["epci"] * 3 + ["departement"] * 3,
            "code": ["e", "e", "e", "16", "17", "17"],
        }
    )
    population = pl.DataFrame({"code_commune": ["a", "b", "c"], "population": [500, 100, 100]})
    out = reference_majoritaire(appartenances, population, "departement")
    assert out.filter(pl.col("niveau") == "epci").rows() == [("epci", "e", "16")]


def test_published_codes_are_written_out_for_every_part_and_reference() -> None:
    """Every code literally (a search finds it): global and each axis, against each reference,
    in the order of the rows, and each one an indicator of the dictionary."""
    parties = ("global", *fr.AXES)
    assert list(fragility.CODES_PUBLIES) == list(fragility.REFERENCES)
    for suffixe, codes in fragility.CODES_PUBLIES.items():
        assert codes == tuple((f"ifn_score_{p}_{suffixe}", f"score_{p}") for p in parties)
    dictionnaire = load_dictionary(Path(__file__).parents[2] / "schemas")
    publies = {code for codes in fragility.CODES_PUBLIES.values() for code, _ in codes}
    assert publies <= set(dictionnaire)
