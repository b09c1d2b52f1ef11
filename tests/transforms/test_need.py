"""Illectronisme estimate: reference table, derived band rates, two real communes computed by
hand, additivity of the uncertainty components, and the national figures on the real census."""

from __future__ import annotations

import math

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from observatory.publish.schemas import load_dictionary
from observatory.settings import PROJECT_ROOT
from observatory.transforms import need
from observatory.transforms import statistics as st
from observatory.transforms.need_interval import INDICATEURS_BESOIN, Z_95
from observatory.transforms.rebasing import ARRONDISSEMENTS_PLM
from tests.conftest import ASSETS, report
from tests.transforms.test_statistics import RP2017, RP2018, staged

TAUX_CSV = ASSETS / "insee_illectronisme" / "taux_illectronisme.csv"

# A national structure with round shares (they sum to 1), close to the real one.
S = need.StructureNationale(
    part_0_14=0.18,
    a_15_24=0.154,
    a_25_29=0.075,
    a_30_44=0.231,
    a_45_59=0.231,
    a_60_64=0.077,
    a_65_74=0.119,
    a_75_plus=0.113,
    d_scolarises=0.118,
    d_aucun_cep=0.194,
    d_bepc=0.049,
    d_cap_bep=0.203,
    d_bac=0.149,
    d_bac_2=0.096,
    d_bac_3_plus=0.191,
)


@pytest.fixture(scope="module")
def taux() -> need.TauxReference:
    return need.taux_reference(pl.read_csv(TAUX_CSV))


def test_reference_table_rates_and_assumed_standard_errors(taux: need.TauxReference) -> None:
    assert taux.age == {"15_44": 0.03, "45_59": 0.09, "60_74": 0.27, "75_plus": 0.67}
    assert (taux.diplome_aucun_cep, taux.diplome_bac_3_plus) == (0.42, 0.03)
    assert (taux.scolarises, taux.ensemble_diplome) == (0.02, 0.154)
    # 75+: deff 1.5, n 1 100, rounded to the point (±0.005).
    attendu = math.sqrt(1.5 * 0.67 * 0.33 / 1100 + 0.005**2 / 3)
    assert taux.erreur_type_age["75_plus"] == pytest.approx(attendu, rel=1e-12)


@pytest.mark.parametrize(
    ("publiee", "attendu"),
    [
        (None, math.sqrt(1.5 * 0.27 * 0.73 / 2000 + 0.005**2 / 3)),
        (0.011, 0.011),  # a published standard error wins over the assumption
    ],
)
def test_published_standard_error_wins(publiee: float | None, attendu: float) -> None:
    table = pl.read_csv(TAUX_CSV).with_columns(
        pl.when((pl.col("groupe") == "60_74") & (pl.col("millesime") == 2019))
        .then(pl.lit(publiee, pl.Float64))
        .otherwise(pl.col("erreur_type_publiee").cast(pl.Float64))
        .alias("erreur_type_publiee")
    )
    se = need.taux_reference(table).erreur_type_age["60_74"]
    assert se == pytest.approx(attendu, rel=1e-12)


def test_a_missing_rate_is_an_error() -> None:
    table = pl.read_csv(TAUX_CSV).filter(pl.col("groupe") != "45_59")
    with pytest.raises(ValueError, match="45_59"):
        need.taux_reference(table)


def test_coarser_band_rates_are_national_weighted_means(taux: need.TauxReference) -> None:
    poids = need.poids_bandes(taux, S)
    r_30_74 = (0.03 * 0.231 + 0.09 * 0.231 + 0.27 * (0.077 + 0.119)) / (0.231 + 0.231 + 0.196)
    r_25_64 = (0.03 * (0.075 + 0.231) + 0.09 * 0.231 + 0.27 * 0.077) / (0.075 + 0.462 + 0.077)
    r_65 = (0.27 * 0.119 + 0.67 * 0.113) / (0.119 + 0.113)
    cases = [
        (poids.age_2018["15_29"], 0.03),
        (poids.age_2018["30_74"], r_30_74),
        (poids.age_2018["75_plus"], 0.67),
        (poids.age_2017["15_24"], 0.03),
        (poids.age_2017["25_64"], r_25_64),
        (poids.age_2017["65_plus"], r_65),
    ]
    for bande, attendu in cases:
        assert poids.taux(bande, taux) == pytest.approx(attendu, rel=1e-12)
    r_mid = (0.154 - 0.42 * 0.194 - 0.03 * 0.191 - 0.02 * 0.118) / (0.049 + 0.203 + 0.149 + 0.096)
    assert poids.taux_diplome_intermediaire == pytest.approx(r_mid, rel=1e-12)
    taux_age_national = 0.03 * 0.46 + 0.09 * 0.231 + 0.27 * 0.196 + 0.67 * 0.113
    assert poids.k == pytest.approx(taux_age_national / 0.154, rel=1e-12)


# Real rows of int__statistiques_communes (offline run on the bundled snapshot):
# Angoulême (16015, RP 2018 counts) and Abzac (16001, < 2 000 inhabitants: RP 2017 shares),
# and the COG 2026 population municipale of Abzac (518).
ANGOULEME = {
    "nb_population": 41711.0,
    "nb_0_14_ans": 6403.79000982957,
    "nb_15_29_ans": 9822.91959606032,
    "nb_75_ans_et_plus": 4182.728673126771,
    "nb_non_scolarises_15_ans_et_plus": 30813.2943676167,
    "nb_diplome_aucun_cep": 6658.37649100849,
    "nb_diplome_bepc": 1696.36467081082,
    "nb_diplome_cap_bep": 6844.4673703697,
    "nb_diplome_bac": 5225.17264632792,
    "nb_diplome_bac_2": 3253.44493707672,
    "nb_diplome_bac_3_4": 3555.74860968462,
    "nb_diplome_bac_5_plus": 3579.71964233841,
}
ABZAC = {
    "part_65_ans_et_plus": 0.3632745248730445,
    "part_25_ans_et_moins": 0.07370298651229251,
    "part_non_diplomes_15_ans_et_plus": 0.6605195772767133,
}


def _deux_communes() -> tuple[pl.DataFrame, pl.DataFrame]:
    statistiques = pl.DataFrame(
        [
            {"code_commune": "16015", "statut_structure_age": "effectifs_rp2018", **ANGOULEME},
            {"code_commune": "16001", "statut_structure_age": "parts_rp2017", **ABZAC},
        ]
    )
    population = pl.DataFrame({"code_commune": ["16001", "16015"], "population": [518, 41908]})
    return statistiques, population


@pytest.mark.real_data
def test_two_real_communes_against_a_hand_calculation(taux: need.TauxReference) -> None:
    statistiques, population = _deux_communes()
    resultat = need.estime_illectronisme(statistiques, population, taux, S, tau=0.05)
    lignes = {r["code_commune"]: r for r in resultat.iter_rows(named=True)}

    # National rates, and the rates of the commune bands (national structure S).
    r_30_74 = (0.03 * 0.231 + 0.09 * 0.231 + 0.27 * 0.196) / 0.658
    r_25_64 = (0.03 * 0.306 + 0.09 * 0.231 + 0.27 * 0.077) / 0.614
    r_65 = (0.27 * 0.119 + 0.67 * 0.113) / 0.232
    r_mid = (0.154 - 0.42 * 0.194 - 0.03 * 0.191 - 0.02 * 0.118) / 0.497
    k = (0.03 * 0.46 + 0.09 * 0.231 + 0.27 * 0.196 + 0.67 * 0.113) / 0.154

    # Angoulême: ages 15-29 / 30-74 / 75+, diplomas from the counts.
    p15 = 41711.0 - 6403.79000982957
    p30_74 = p15 - 9822.91959606032 - 4182.728673126771
    n_age = 0.03 * 9822.91959606032 + r_30_74 * p30_74 + 0.67 * 4182.728673126771
    scolarises = p15 - 30813.2943676167
    intermediaire = 1696.36467081082 + 6844.4673703697 + 5225.17264632792 + 3253.44493707672
    bac_3 = 3555.74860968462 + 3579.71964233841
    d = 0.02 * scolarises + 0.42 * 6658.37649100849 + r_mid * intermediaire + 0.03 * bac_3
    n = (n_age + k * d) / 2
    a = lignes["16015"]
    assert a["structure_utilisee"] == "effectifs_rp2018"
    assert a["nb_15_ans_et_plus"] == pytest.approx(p15, rel=1e-12)
    assert a["nb_illectronisme_age"] == pytest.approx(n_age, rel=1e-12)
    assert a["nb_illectronisme_diplome"] == pytest.approx(k * d, rel=1e-12)
    assert a["nb_illectronisme"] == pytest.approx(n, rel=1e-12)
    assert a["taux_illectronisme"] == pytest.approx(n / p15, rel=1e-12)
    # ∂n/∂(75+ rate): half the 75+ of the age model, half the diploma model's national share.
    sens_75 = 0.5 * (4182.728673126771 + d / 0.154 * 0.113)
    assert a["sensibilite_75_plus"] == pytest.approx(sens_75, rel=1e-12)
    var_modele = ((n_age - k * d) / 2) ** 2 + (0.05 * n) ** 2
    assert a["var_modele"] == pytest.approx(var_modele, rel=1e-12)

    # Abzac: shares of the 15+ (15-24, 65+, at most CAP-BEP); 15+ = population x (1 - 0.18).
    p15 = 518 * (1 - 0.18)
    jeunes, ages = 0.07370298651229251 * p15, 0.3632745248730445 * p15
    n_age = 0.03 * jeunes + r_25_64 * (p15 - jeunes - ages) + r_65 * ages
    r_peu = (0.42 * 0.194 + r_mid * (0.049 + 0.203)) / (0.194 + 0.049 + 0.203)
    r_autres = (0.02 * 0.118 + r_mid * (0.149 + 0.096) + 0.03 * 0.191) / (0.118 + 0.245 + 0.191)
    peu = 0.6605195772767133 * p15
    d = r_peu * peu + r_autres * (p15 - peu)
    b = lignes["16001"]
    assert b["structure_utilisee"] == "parts_rp2017"
    assert b["nb_15_ans_et_plus"] == pytest.approx(p15, rel=1e-12)
    assert b["nb_illectronisme_age"] == pytest.approx(n_age, rel=1e-12)
    assert b["nb_illectronisme"] == pytest.approx((n_age + k * d) / 2, rel=1e-12)


def test_estimate_is_linear_in_the_national_rates(taux: need.TauxReference) -> None:
    """Σ sensibilite × rate gives back the estimate: the components can be summed upward."""
    statistiques, population = _deux_communes()
    resultat = need.estime_illectronisme(statistiques, population, taux, S, tau=0.05)
    recompose = resultat.select(
        pl.sum_horizontal(pl.col(f"sensibilite_{g}") * taux.age[g] for g in need.BANDES_AGE)
    ).to_series()
    assert recompose.to_list() == pytest.approx(resultat["nb_illectronisme"].to_list(), rel=1e-12)


def test_interval_and_structure_flags(taux: need.TauxReference) -> None:
    statistiques, population = _deux_communes()
    statistiques = pl.concat(
        [
            statistiques,
            pl.DataFrame(
                {
                    "code_commune": ["55039", "97611"],
                    "statut_structure_age": ["absent", "absent"],
                }
            ),
        ],
        how="diagonal",
    )
    population = pl.concat(
        [population, pl.DataFrame({"code_commune": ["55039", "97611"], "population": [0, 71437]})]
    )
    resultat = need.estime_illectronisme(statistiques, population, taux, S, tau=0.05)
    assert dict(resultat.select("code_commune", "structure_utilisee").iter_rows()) == {
        "16001": "parts_rp2017",
        "16015": "effectifs_rp2018",
        "55039": "population_nulle",  # nobody lives there: 0 is known
        "97611": "absente",  # Mayotte: no census structure, unknown stays null
    }
    nulle = resultat.filter(pl.col("code_commune") == "55039").row(0, named=True)
    assert nulle["nb_illectronisme"] == 0.0
    assert resultat.filter(pl.col("code_commune") == "97611")["nb_illectronisme"].is_null().all()
    a = resultat.filter(pl.col("code_commune") == "16015").row(0, named=True)
    et = math.sqrt(a["var_echantillonnage"] + a["var_modele"])
    assert a["nb_illectronisme_ic_bas"] == pytest.approx(a["nb_illectronisme"] - Z_95 * et)
    assert a["nb_illectronisme_ic_haut"] == pytest.approx(a["nb_illectronisme"] + Z_95 * et)
    assert (
        a["taux_illectronisme_ic_bas"] < a["taux_illectronisme"] < a["taux_illectronisme_ic_haut"]
    )


def test_aggregation_sums_counts_but_not_sampling_variances(taux: need.TauxReference) -> None:
    statistiques, population = _deux_communes()
    communes = need.estime_illectronisme(statistiques, population, taux, S, tau=0.05)
    appartenance = pl.DataFrame({"code_commune": ["16001", "16015"], "code": ["16", "16"]})
    dep = need.agrege_illectronisme(communes, appartenance, taux).row(0, named=True)
    for colonne in ("nb_15_ans_et_plus", "nb_illectronisme"):
        assert dep[colonne] == pytest.approx(communes[colonne].sum(), rel=1e-12)
    # The model error is the aggregate's own (its two estimates' gap and the structure's
    # relative error apply to its total): larger than the communes' errors taken independent.
    age, dip = communes["nb_illectronisme_age"].sum(), communes["nb_illectronisme_diplome"].sum()
    attendu_modele = ((age - dip) / 2) ** 2 + ((0.05 * communes["nb_illectronisme"]) ** 2).sum()
    assert dep["var_modele"] == pytest.approx(attendu_modele, rel=1e-12)
    assert dep["var_modele"] != pytest.approx(communes["var_modele"].sum(), rel=1e-6)
    # The national rates are common to both communes: their errors add up, not in quadrature.
    attendu = sum(
        communes[f"sensibilite_{g}"].sum() ** 2 * taux.erreur_type_age[g] ** 2
        for g in need.BANDES_AGE
    )
    assert dep["var_echantillonnage"] == pytest.approx(attendu, rel=1e-12)
    assert dep["var_echantillonnage"] > communes["var_echantillonnage"].sum()


def test_aggregation_with_an_unknown_commune(taux: need.TauxReference) -> None:
    """A commune without structure (Mayotte) is left out of the sums and counted against the
    territory's coverage (people aged 15+ estimated from its population)."""
    statistiques, population = _deux_communes()
    communes = pl.concat(
        [
            need.estime_illectronisme(statistiques, population, taux, S, tau=0.05),
            pl.DataFrame(
                {
                    "code_commune": ["97611"],
                    "structure_utilisee": ["absente"],
                    "poids_15_ans_et_plus": [50_000.0],
                }
            ),
        ],
        how="diagonal",
    )
    appartenance = pl.DataFrame(
        {"code_commune": ["16001", "16015", "97611"], "code": ["FR", "FR", "FR"]}
    )
    france = need.agrege_illectronisme(communes, appartenance, taux).row(0, named=True)
    connues = communes.filter(pl.col("nb_illectronisme").is_not_null())
    assert france["nb_communes_sans_estimation"] == 1
    assert france["nb_illectronisme"] == pytest.approx(connues["nb_illectronisme"].sum())
    assert france["poids_couvert"] == pytest.approx(connues["nb_15_ans_et_plus"].sum())
    assert france["poids_total"] == pytest.approx(connues["nb_15_ans_et_plus"].sum() + 50_000)


def test_gap_between_structures_uses_the_same_population() -> None:
    taux = need.taux_reference(pl.read_csv(TAUX_CSV))
    statistiques, _ = _deux_communes()
    angouleme = statistiques.filter(pl.col("code_commune") == "16015").with_columns(
        pl.lit(0.2319935636806466).alias("part_65_ans_et_plus"),
        pl.lit(0.18673719375592396).alias("part_25_ans_et_moins"),
        pl.lit(0.4444512638018286).alias("part_non_diplomes_15_ans_et_plus"),
    )
    ecarts = need.ecart_structures(angouleme, taux, S)
    ligne = ecarts.row(0, named=True)
    assert ligne["nb_15_ans_et_plus_rp2017"] == pytest.approx(41711.0 * 0.82, rel=1e-12)
    assert ligne["ecart"] == pytest.approx(
        ligne["nb_illectronisme_rp2017"] - ligne["nb_illectronisme_rp2018"], rel=1e-12
    )
    assert need.tau_modele(ecarts) == pytest.approx(abs(ligne["ecart_relatif"]), rel=1e-12)
    with pytest.raises(ValueError, match="tau"):
        need.tau_modele(ecarts.clear())


def _statistiques_reelles() -> pl.DataFrame:
    """RP 2017 shares and RP 2018 counts as staged (source codes, arrondissements left out)."""
    parts = staged(RP2017, st.stage_rp2017_parts)[0]
    effectifs = staged(RP2018, st.stage_rp2018_effectifs)[0]
    return (
        parts.select(
            pl.col("code_commune_source").alias("code_commune"),
            *st.MESURES_COMMUNES["insee__rp2017_parts"],
        )
        .join(
            effectifs.select(
                pl.col("code_commune_source").alias("code_commune"),
                *st.MESURES_COMMUNES["insee__rp2018_effectifs"],
            ),
            on="code_commune",
            how="full",
            coalesce=True,
        )
        .filter(~pl.col("code_commune").str.contains(ARRONDISSEMENTS_PLM))
        .with_columns(
            pl.when(pl.col("nb_population").is_not_null())
            .then(pl.lit("effectifs_rp2018"))
            .when(pl.col("part_65_ans_et_plus").is_not_null())
            .then(pl.lit("parts_rp2017"))
            .otherwise(pl.lit("absent"))
            .alias("statut_structure_age")
        )
    )


@pytest.mark.real_data
def test_national_estimate_on_the_real_census(communes: pl.DataFrame) -> None:
    """On the real census: national structure, 2018 vs 2017 gap, national rate vs INSEE's."""
    taux = need.taux_reference(pl.read_csv(TAUX_CSV))
    statistiques = _statistiques_reelles()
    structure = need.structure_nationale(statistiques)
    assert sum(structure.bandes_fines().values()) == pytest.approx(1.0)
    ecarts = need.ecart_structures(statistiques, taux, structure)
    resume = need.resume_ecarts(ecarts)
    tau = need.tau_modele(ecarts)
    report(
        f"illectronisme, RP 2018 vs RP 2017 structure on {resume['nb_communes']:.0f} communes:"
        f" totals {resume['total_rp2018']:,.0f} vs {resume['total_rp2017']:,.0f},"
        f" mean relative gap {resume['ecart_relatif_moyen']:+.1%},"
        f" RMS {tau:.1%}, P90 |gap| {resume['ecart_relatif_abs_p90']:.1%}"
    )
    assert 0.0 < tau < 0.15

    population = communes.select("code_commune", "population")
    estimees = need.estime_illectronisme(statistiques, population, taux, structure, tau)
    estimees = estimees.join(population, on="code_commune", how="left")
    sans_population = estimees.filter(pl.col("population").is_null()).height
    metro = pl.DataFrame({"code_commune": estimees["code_commune"], "code": "METRO"}).filter(
        ~pl.col("code_commune").str.starts_with("97")
    )
    fr = need.agrege_illectronisme(estimees, metro, taux).row(0, named=True)
    report(
        f"illectronisme 2019, metropolitan France (staged census, {sans_population} source codes"
        f" not in COG 2026 left out): {fr['taux_illectronisme']:.2%}"
        f" [{fr['taux_illectronisme_ic_bas']:.2%}, {fr['taux_illectronisme_ic_haut']:.2%}]"
        f" of {fr['nb_15_ans_et_plus']:,.0f} people 15+ (Insee Analyses 85: 16 %)"
    )
    assert fr["taux_illectronisme_ic_bas"] <= 0.16 <= fr["taux_illectronisme_ic_haut"]
    assert abs(fr["taux_illectronisme"] - 0.16) < 0.01


def test_output_columns_are_stable(taux: need.TauxReference) -> None:
    statistiques, population = _deux_communes()
    resultat = need.estime_illectronisme(statistiques, population, taux, S, tau=0.0)
    assert tuple(resultat.columns) == need.COLONNES_SORTIE
    assert_frame_equal(
        resultat.select("code_commune"), pl.DataFrame({"code_commune": ["16001", "16015"]})
    )


def test_published_codes_are_written_out_for_each_measure() -> None:
    """Each measure's codes literally (a search finds them): its count and its rate, the
    columns of its estimate, each an indicator of the dictionary."""
    for mesure, codes in INDICATEURS_BESOIN.items():
        assert codes == (f"nb_{mesure}", f"taux_{mesure}")
        assert set(codes) <= set(load_dictionary(PROJECT_ROOT / "schemas"))
