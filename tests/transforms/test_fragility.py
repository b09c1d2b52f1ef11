"""Indice de Fragilité Numérique: the 36 real Sicoval communes against scores computed by hand
(tests/fixtures/ifn_sicoval/calcul_attendu.py), then the rules on small tables."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from observatory.transforms import fragility as fr

SICOVAL = Path(__file__).parents[1] / "fixtures" / "ifn_sicoval"


def _calcul_attendu():
    """The independent hand calculation, loaded from its file (fixtures are not a package)."""
    spec = importlib.util.spec_from_file_location("calcul_attendu", SICOVAL / "calcul_attendu.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Workbook column → IFN variable, as the hand calculation maps them.
COLONNES = {
    "part_locaux_sans_thd_30": 1 - pl.col("taux_de_couverture_hd_thd"),
    "taux_pauvrete_60": pl.col("taux_de_pauvrete"),
    "part_menages_une_personne": pl.col("part_des_menages_d_une_personne"),
    "part_familles_monoparentales": pl.col("part_des_familles_monoparentales"),
    "part_15_29_ans": pl.col("part_des_personnes_agees_de_15_29_ans"),
    "part_chomeurs": pl.col("part_des_chomeurs"),
    "part_65_ans_et_plus": pl.col("part_des_personnes_agees_de_65_ans_plus"),
    "part_peu_diplomes": pl.col("part_des_non_ou_peu_diplomes_dans_la_population_non_scolarisee_"),
}


def _entrees_sicoval() -> pl.DataFrame:
    brut = pl.read_csv(SICOVAL / "ifn_exemple_indicateurs_bruts_sicoval.csv", infer_schema=False)
    brut = brut.with_columns(
        pl.all().exclude("nom_com", "insee_com", "insee_dep", "nom_dep").cast(pl.Float64)
    )
    pop = pl.col("population_legale")
    parts = [
        brut.select(
            pl.col("insee_com").alias("code"),
            pl.lit(code).alias("variable"),
            valeur.alias("valeur"),
            (valeur * pop).alias("numerateur"),
            pop.alias("denominateur"),
        )
        for code, valeur in COLONNES.items()
    ]
    parts.append(
        brut.select(
            pl.col("insee_com").alias("code"),
            pl.lit("revenu_median_uc").alias("variable"),
            pl.col("revenus_median_disponible").alias("valeur"),
            pl.lit(None, pl.Float64).alias("numerateur"),
            pl.lit(None, pl.Float64).alias("denominateur"),
        )
    )
    return pl.concat([p.cast(fr.ENTREES_SCHEMA) for p in parts])


@pytest.mark.real_data
def test_sicoval_scores_match_the_hand_calculation(tmp_path: Path) -> None:
    entrees = _entrees_sicoval()
    appartenance = entrees.select("code").unique().with_columns(code_reference=pl.lit("sicoval"))
    imposees = pl.read_csv(SICOVAL / "reference_imposee.csv")
    references = fr.valeurs_reference(entrees, appartenance, imposees)
    assert references.height == 9
    assert set(references["origine_reference"]) == {"comptes", "imposee"}
    indice = fr.indice_fragilite(fr.scores_variables(entrees, appartenance, references))

    attendu = pl.read_csv(SICOVAL / "attendu.csv", schema_overrides={"code": pl.String})
    assert indice.height == attendu.height == 36
    assert_frame_equal(
        indice.select(attendu.columns),
        attendu,
        check_dtypes=False,
        check_exact=False,
        rel_tol=1e-12,
        abs_tol=1e-9,
    )
    # The committed CSV is what the hand calculation produces.
    _calcul_attendu().main(tmp_path / "attendu.csv")
    assert (tmp_path / "attendu.csv").read_text() == (SICOVAL / "attendu.csv").read_text()


def _entrees(rows: list[tuple[str, str, float | None, float | None, float | None]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=list(fr.ENTREES_SCHEMA), orient="row").cast(fr.ENTREES_SCHEMA)


VARIABLES = (
    fr.VariableIfn("a", "acces_interfaces", fr.DIRECT, "a", "test", 2020),
    fr.VariableIfn("b", "acces_interfaces", fr.INVERSE, "b", "test", 2020),
    fr.VariableIfn("c", "competences_numeriques", fr.DIRECT, "c", "test", 2020),
)


@pytest.mark.parametrize(
    ("cas", "lignes", "reference", "attendu"),
    [
        (
            "all present: axes are means of their variables, global the mean of variables",
            [("x", "a", 0.2), ("x", "b", 10.0), ("x", "c", 0.3)],
            {"a": 0.1, "b": 20.0, "c": 0.3},
            # a: 200, b (inverse): 200, c: 100
            {
                "score_acces_interfaces": 200.0,
                "score_competences_numeriques": 100.0,
                "score_global": 500 / 3,
                "nb_variables_utilisees": 3,
                "nb_variables_manquantes": 0,
            },
        ),
        (
            "a missing variable is skipped and counted",
            [("x", "a", 0.2), ("x", "b", None), ("x", "c", 0.3)],
            {"a": 0.1, "b": 20.0, "c": 0.3},
            {
                "score_acces_interfaces": 200.0,
                "score_competences_numeriques": 100.0,
                "score_global": 150.0,
                "nb_variables_utilisees": 2,
                "nb_variables_manquantes": 1,
            },
        ),
        (
            "a reference of 0 gives no score (skipped), an axis without score is null",
            [("x", "a", 0.2), ("x", "b", 10.0), ("x", "c", 0.0)],
            {"a": 0.1, "b": 20.0, "c": 0.0},
            {
                "score_acces_interfaces": 200.0,
                "score_competences_numeriques": None,
                "score_global": 200.0,
                "nb_variables_utilisees": 2,
                "nb_variables_manquantes": 1,
            },
        ),
        (
            "an income of 0 cannot be inverted: skipped",
            [("x", "a", 0.1), ("x", "b", 0.0), ("x", "c", 0.6)],
            {"a": 0.1, "b": 20.0, "c": 0.3},
            {
                "score_acces_interfaces": 100.0,
                "score_competences_numeriques": 200.0,
                "score_global": 150.0,
                "nb_variables_utilisees": 2,
                "nb_variables_manquantes": 1,
            },
        ),
    ],
)
def test_scores_axes_and_missing_variables(
    cas: str, lignes: list, reference: dict, attendu: dict
) -> None:
    entrees = _entrees([(code, var, v, None, None) for code, var, v in lignes])
    appartenance = pl.DataFrame({"code": ["x"], "code_reference": ["R"]})
    references = pl.DataFrame(
        {
            "code_reference": "R",
            "variable": list(reference),
            "valeur_reference": list(reference.values()),
        }
    )
    indice = fr.indice_fragilite(
        fr.scores_variables(entrees, appartenance, references, VARIABLES), VARIABLES
    )
    ligne = indice.row(0, named=True)
    for colonne, valeur in attendu.items():
        if valeur is None:
            assert ligne[colonne] is None, cas
        else:
            assert ligne[colonne] == pytest.approx(valeur, rel=1e-12), cas


def test_reference_is_a_ratio_of_counts_not_a_mean_of_rates() -> None:
    # Two communes: 1/10 and 90/100. Mean of rates 0.5; ratio of counts 91/110.
    entrees = _entrees(
        [("c1", "a", 0.1, 1.0, 10.0), ("c2", "a", 0.9, 90.0, 100.0), ("c3", "a", 0.5, 5.0, 10.0)]
    )
    appartenance = pl.DataFrame({"code": ["c1", "c2", "c3"], "code_reference": ["16", "16", "17"]})
    references = fr.valeurs_reference(entrees, appartenance)
    attendu = pl.DataFrame(
        {
            "code_reference": ["16", "17"],
            "variable": ["a", "a"],
            "valeur_reference": [91 / 110, 0.5],
            "origine_reference": ["comptes", "comptes"],
        }
    )
    assert_frame_equal(references, attendu)
    # Each commune is scored against its own département.
    scores = fr.scores_variables(entrees, appartenance, references, VARIABLES[:1])
    assert scores["score"].to_list() == pytest.approx(
        [100 * 0.1 * 110 / 91, 100 * 0.9 * 110 / 91, 100]
    )


def test_imposed_reference_overrides_counts() -> None:
    entrees = _entrees([("c1", "a", 0.1, 1.0, 10.0), ("c1", "b", 20_000.0, None, None)])
    appartenance = pl.DataFrame({"code": ["c1"], "code_reference": ["FR"]})
    imposees = pl.DataFrame(
        {"code_reference": ["FR", "FR"], "variable": ["a", "b"], "valeur_reference": [0.2, 21_000]}
    )
    references = fr.valeurs_reference(entrees, appartenance, imposees)
    assert references.select("variable", "valeur_reference", "origine_reference").rows() == [
        ("a", 0.2, "imposee"),
        ("b", 21_000.0, "imposee"),
    ]
    sans = fr.valeurs_reference(entrees, appartenance)
    assert sans.rows() == [("FR", "a", 0.1, "comptes")]


def test_the_reference_territory_itself_scores_100() -> None:
    entrees = _entrees(
        [("c1", "a", 0.1, 1.0, 10.0), ("c2", "a", 0.9, 90.0, 100.0), ("c1", "c", 0.5, 5.0, 10.0)]
    )
    communes = pl.DataFrame({"code": ["c1", "c2"], "code_parent": ["16", "16"]})
    departement = fr.agrege_entrees(entrees, communes)
    assert departement.select("variable", "valeur", "numerateur", "denominateur").rows() == [
        ("a", 91 / 110, 91.0, 110.0),
        ("c", 0.5, 5.0, 10.0),
    ]
    appartenance = pl.DataFrame({"code": ["c1", "c2"], "code_reference": ["16", "16"]})
    references = fr.valeurs_reference(entrees, appartenance)
    soi = fr.scores_variables(
        departement, pl.DataFrame({"code": ["16"], "code_reference": ["16"]}), references, VARIABLES
    )
    assert soi.drop_nulls("score")["score"].to_list() == pytest.approx([100.0, 100.0])


def test_commune_inputs_from_the_statistics_table() -> None:
    statistiques = pl.DataFrame(
        {
            "code_commune": ["16015", "16001"],
            "nb_locaux": [100, 0],
            "nb_locaux_thd_30": [90, 0],
            "taux_pauvrete_60": [0.2, None],  # 16001: statistical secrecy
            "nb_personnes_menages_fiscaux": [1000.0, 500.0],
            "revenu_median_uc": [20_000.0, 21_000.0],
            "part_menages_une_personne": [0.5, 0.3],
            "part_familles_monoparentales": [0.1, 0.05],
            "nb_population": [1000.0, None],
            "nb_0_14_ans": [150.0, None],
            "nb_15_29_ans": [200.0, None],
            "nb_75_ans_et_plus": [100.0, None],
            "nb_demandeurs_emploi_abc": [75, None],
            "part_65_ans_et_plus": [0.25, 0.4],
            "part_non_diplomes_15_ans_et_plus": [0.4, 0.6],
        }
    )
    population = pl.DataFrame({"code_commune": ["16015", "16001"], "population": [1000, 400]})
    entrees = fr.entrees_ifn_communes(statistiques, population)
    valeurs = {(c, v): x for c, v, x, _, _ in entrees.iter_rows()}
    attendu = {
        ("16015", "part_locaux_sans_thd_30"): 0.1,
        ("16001", "part_locaux_sans_thd_30"): None,  # no premises: unknown, not 0
        ("16015", "taux_pauvrete_60"): 0.2,
        ("16001", "taux_pauvrete_60"): None,
        ("16015", "part_chomeurs"): 75 / 750,  # job seekers / people aged 15-74
        ("16001", "part_chomeurs"): None,
        ("16015", "part_15_29_ans"): 0.2,
        ("16001", "part_65_ans_et_plus"): 0.4,
        ("16001", "revenu_median_uc"): 21_000.0,
    }
    for cle, valeur in attendu.items():
        assert valeurs[cle] == (pytest.approx(valeur) if valeur is not None else None), cle
    assert entrees.height == 2 * len(fr.VARIABLES_IFN)
    poids = entrees.filter(pl.col("variable") == "part_65_ans_et_plus").sort("code")
    assert poids["numerateur"].to_list() == pytest.approx([0.4 * 400, 0.25 * 1000])
    # Every input variable is an IFN variable, and every IFN variable has an input.
    assert set(entrees["variable"]) == {v.code for v in fr.VARIABLES_IFN}
