"""Need: people aged 15+ in illectronisme per commune, by indirect standardisation.

INSEE publishes national rates of illectronisme by age band and by diploma, never by commune.
Applying them to each commune's population structure gives the number of people the commune
would have in illectronisme if its people behaved like the nation's of the same age (or
diploma): an estimate of need, not a measure. See `docs/methodologie_besoin.md`.

**Method** (« standardisation indirecte double âge × diplôme, intervalle delta + écart de
modèle »):

1. *Rates.* Age rates: Insee Analyses n° 85 (2019, France métropolitaine: 15–44, 45–59, 60–74,
   75+). Diploma: Insee Première n° 1953 (2021: at most a CEP 42 %, bac+3 or more 3 %, 15.4 %
   overall; students get the 15–24 rate, 2 %); the rate of the middle diplomas (BEPC to bac+2),
   not published, is the one that makes the national diploma structure give 15.4 %.
2. *Coarser bands.* A commune band that spans several published bands gets their rates
   weighted by the national structure (`StructureNationale`, from the bundled census). Within
   30–64 the split 30–44 / 45–59 / 60–64 is not in the bundled census: it is taken uniform by
   year of age (the French pyramid is nearly flat there; documented).
3. *Structure per commune* (`structure_utilisee`): `effectifs_rp2018` (communes > 2 000
   inhabitants: 15–29, 30–74, 75+ and 7 diplomas among the out-of-school 15+), else
   `parts_rp2017` (shares of the 15+ aged 15–24 and 65+, and of the 15+ out of school with
   at most a CAP-BEP; the 15+ are the commune's population less the national share of 0–14).
4. *Estimate* = mean of the age-standardised count and the diploma-standardised count, the
   latter scaled so that both give the same national total (`k` = national age rate / 15.4 %).
5. *Interval*, 95 %, normal: variance = sampling (delta method on the 4 national age rates,
   each with its standard error: published, else binomial on an assumed sample size with a
   design effect, plus rounding) + model (squared half-difference between the age and diploma
   estimates, plus `(tau × estimate)²` where `tau` is the relative spread between the 2018 and
   2017 structures measured on the communes that have both, `tau_modele`).

Every commune row carries what is needed to sum upward: the age- and diploma-standardised
counts and `sensibilite_<band>` = ∂estimate/∂national rate, so that the sampling variance of
any group of communes is Σ_band (Σ sensibilite)² × se² and its model error is computed from
its own totals (the national rates, and the structure's bias, are the same for every commune:
their errors do not average out). `agrege_illectronisme` does exactly that, with the interval
and the sums both measures of need share (`need_interval`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from observatory.transforms.need_interval import (
    ILLECTRONISME,
    _intervalles,
    _somme,
    _var_echantillonnage,
    _var_modele,
    agrege_estimation,
    erreur_type_retenue,
)
from observatory.transforms.territories import population_communes

EFFECTIFS_RP2018 = "effectifs_rp2018"
PARTS_RP2017 = "parts_rp2017"
# No census structure, but nobody lives there (the Meuse villages "morts pour la France"):
# 0 people in illectronisme is then known, not assumed.
POPULATION_NULLE = "population_nulle"
ABSENTE = "absente"

# The national age bands the estimate is linear in (Insee Analyses n° 85).
BANDES_AGE = ("15_44", "45_59", "60_74", "75_plus")

COLONNES_SORTIE = (
    "code_commune",
    "structure_utilisee",
    "structure_prorata",
    "nb_15_ans_et_plus",
    "nb_illectronisme_age",
    "nb_illectronisme_diplome",
    "nb_illectronisme",
    "nb_illectronisme_ic_bas",
    "nb_illectronisme_ic_haut",
    "taux_illectronisme",
    "taux_illectronisme_ic_bas",
    "taux_illectronisme_ic_haut",
    "var_echantillonnage",
    "var_modele",
    "tau_modele",
    "biais_structure",
    "poids_15_ans_et_plus",
    *(f"sensibilite_{b}" for b in BANDES_AGE),
)


@dataclass(frozen=True)
class TauxReference:
    """National rates used by the estimate, with the standard errors of the age rates."""

    age: dict[str, float]
    erreur_type_age: dict[str, float]
    diplome_aucun_cep: float
    diplome_bac_3_plus: float
    scolarises: float
    ensemble_diplome: float
    millesime_age: int
    millesime_diplome: int


def taux_reference(
    table: pl.DataFrame, millesime_age: int = 2019, millesime_diplome: int = 2021
) -> TauxReference:
    """Read the reference table (`assets/insee_illectronisme/taux_illectronisme.csv`).

    A published standard error (`erreur_type_publiee`) wins over the assumed one. Raises if a
    rate the method needs is missing, so a replacement table cannot silently drop one.
    """
    table = table.with_columns(erreur_type_retenue())

    def ligne(millesime: int, dimension: str, groupe: str) -> dict:
        rows = table.filter(
            pl.col("millesime").cast(pl.Int64) == millesime,
            pl.col("dimension") == dimension,
            pl.col("groupe") == groupe,
        )
        if rows.height != 1:
            raise ValueError(
                f"taux {dimension}/{groupe} {millesime}: {rows.height} lignes, 1 attendue"
            )
        return rows.row(0, named=True)

    age = {b: ligne(millesime_age, "age", b) for b in BANDES_AGE}
    return TauxReference(
        age={b: float(r["taux"]) for b, r in age.items()},
        erreur_type_age={b: float(r["_se"]) for b, r in age.items()},
        diplome_aucun_cep=float(ligne(millesime_diplome, "diplome", "aucun_cep")["taux"]),
        diplome_bac_3_plus=float(ligne(millesime_diplome, "diplome", "bac_3_plus")["taux"]),
        scolarises=float(ligne(millesime_diplome, "age", "15_24")["taux"]),
        ensemble_diplome=float(ligne(millesime_diplome, "ensemble", "15_ans_et_plus")["taux"]),
        millesime_age=millesime_age,
        millesime_diplome=millesime_diplome,
    )


@dataclass(frozen=True)
class StructureNationale:
    """Shares of the population aged 15+ by fine age band and by diploma; 0–14 among all.

    Age: `a_15_24 … a_75_plus` sum to 1. Diploma (`d_*`, sum to 1): students, then the
    out-of-school by highest diploma.
    """

    part_0_14: float
    a_15_24: float
    a_25_29: float
    a_30_44: float
    a_45_59: float
    a_60_64: float
    a_65_74: float
    a_75_plus: float
    d_scolarises: float
    d_aucun_cep: float
    d_bepc: float
    d_cap_bep: float
    d_bac: float
    d_bac_2: float
    d_bac_3_plus: float

    def bandes_fines(self) -> dict[str, float]:
        """Shares of the 15+ in the bands of the national age rates."""
        return {
            "15_44": self.a_15_24 + self.a_25_29 + self.a_30_44,
            "45_59": self.a_45_59,
            "60_74": self.a_60_64 + self.a_65_74,
            "75_plus": self.a_75_plus,
        }


def structure_nationale(statistiques: pl.DataFrame) -> StructureNationale:
    """National structure from the bundled census, on the communes that have both structures.

    RP 2018 counts give 0–14, 15–29, 75+ and diplomas; RP 2017 shares (of the 15+, weighted by
    the RP 2018 15+) give 15–24 and 65+. Using the same communes keeps the bands consistent;
    they hold ~75 % of the population (communes > 2 000 inhabitants, a little younger than
    the rest). 30–64 is split uniformly by year of age (15/35, 15/35, 5/35): no bundled source
    has 45–59 or 60–74.
    """
    deux = statistiques.filter(
        pl.col("nb_population").is_not_null(),
        pl.col("part_65_ans_et_plus").is_not_null(),
        pl.col("part_25_ans_et_moins").is_not_null(),
    )
    p15 = pl.col("nb_population") - pl.col("nb_0_14_ans")
    sums = deux.select(
        pl.col("nb_population").sum().alias("pop"),
        pl.col("nb_0_14_ans").sum().alias("p0_14"),
        p15.sum().alias("p15"),
        pl.col("nb_15_29_ans").sum().alias("p15_29"),
        pl.col("nb_75_ans_et_plus").sum().alias("p75"),
        (pl.col("part_25_ans_et_moins") * p15).sum().alias("p15_24"),
        (pl.col("part_65_ans_et_plus") * p15).sum().alias("p65"),
        pl.col("nb_non_scolarises_15_ans_et_plus").sum().alias("nonscol"),
        pl.col("nb_diplome_aucun_cep").sum().alias("cep"),
        pl.col("nb_diplome_bepc").sum().alias("bepc"),
        pl.col("nb_diplome_cap_bep").sum().alias("capbep"),
        pl.col("nb_diplome_bac").sum().alias("bac"),
        pl.col("nb_diplome_bac_2").sum().alias("bac2"),
        (pl.col("nb_diplome_bac_3_4") + pl.col("nb_diplome_bac_5_plus")).sum().alias("bac3"),
    ).row(0, named=True)
    p15_total = sums["p15"]
    a_15_29 = sums["p15_29"] / p15_total
    a_15_24 = sums["p15_24"] / p15_total
    a_65 = sums["p65"] / p15_total
    a_75 = sums["p75"] / p15_total
    a_30_64 = 1 - a_15_29 - a_65
    return StructureNationale(
        part_0_14=sums["p0_14"] / sums["pop"],
        a_15_24=a_15_24,
        a_25_29=a_15_29 - a_15_24,
        a_30_44=a_30_64 * 15 / 35,
        a_45_59=a_30_64 * 15 / 35,
        a_60_64=a_30_64 * 5 / 35,
        a_65_74=a_65 - a_75,
        a_75_plus=a_75,
        d_scolarises=(p15_total - sums["nonscol"]) / p15_total,
        d_aucun_cep=sums["cep"] / p15_total,
        d_bepc=sums["bepc"] / p15_total,
        d_cap_bep=sums["capbep"] / p15_total,
        d_bac=sums["bac"] / p15_total,
        d_bac_2=sums["bac2"] / p15_total,
        d_bac_3_plus=sums["bac3"] / p15_total,
    )


@dataclass(frozen=True)
class Poids:
    """Rates of the commune bands: age bands as weights on the national age rates, diploma
    bands as rates, and the scale `k` putting the diploma model on the age model's level."""

    age_2018: dict[str, dict[str, float]]
    age_2017: dict[str, dict[str, float]]
    diplome_2018: dict[str, float]
    diplome_2017: dict[str, float]
    taux_diplome_intermediaire: float
    k: float

    def taux(self, bande: dict[str, float], taux: TauxReference) -> float:
        return sum(w * taux.age[g] for g, w in bande.items())


def _normalise(poids: dict[str, float]) -> dict[str, float]:
    total = sum(poids.values())
    return {k: v / total for k, v in poids.items()}


def poids_bandes(taux: TauxReference, s: StructureNationale) -> Poids:
    """Derive every commune band's rate from the finer national rates and structure.

    Example: 30–74 (RP 2018) = 15–44 rate × share of 30–44 in 30–74 + 45–59 rate × … The middle
    diploma rate solves ensemble = Σ rate × share over the national diploma structure.
    """
    age_2018 = {
        "15_29": {"15_44": 1.0},
        "30_74": _normalise(
            {"15_44": s.a_30_44, "45_59": s.a_45_59, "60_74": s.a_60_64 + s.a_65_74}
        ),
        "75_plus": {"75_plus": 1.0},
    }
    age_2017 = {
        "15_24": {"15_44": 1.0},
        "25_64": _normalise(
            {"15_44": s.a_25_29 + s.a_30_44, "45_59": s.a_45_59, "60_74": s.a_60_64}
        ),
        "65_plus": _normalise({"60_74": s.a_65_74, "75_plus": s.a_75_plus}),
    }
    milieu = s.d_bepc + s.d_cap_bep + s.d_bac + s.d_bac_2
    r_mid = (
        taux.ensemble_diplome
        - taux.diplome_aucun_cep * s.d_aucun_cep
        - taux.diplome_bac_3_plus * s.d_bac_3_plus
        - taux.scolarises * s.d_scolarises
    ) / milieu
    peu = s.d_aucun_cep + s.d_bepc + s.d_cap_bep
    autres = s.d_scolarises + s.d_bac + s.d_bac_2 + s.d_bac_3_plus
    diplome_2017 = {
        "peu_diplomes": (taux.diplome_aucun_cep * s.d_aucun_cep + r_mid * (s.d_bepc + s.d_cap_bep))
        / peu,
        "autres": (
            taux.scolarises * s.d_scolarises
            + r_mid * (s.d_bac + s.d_bac_2)
            + taux.diplome_bac_3_plus * s.d_bac_3_plus
        )
        / autres,
    }
    fines = s.bandes_fines()
    taux_age_national = sum(taux.age[g] * fines[g] for g in BANDES_AGE)
    return Poids(
        age_2018=age_2018,
        age_2017=age_2017,
        diplome_2018={
            "scolarises": taux.scolarises,
            "aucun_cep": taux.diplome_aucun_cep,
            "intermediaire": r_mid,
            "bac_3_plus": taux.diplome_bac_3_plus,
        },
        diplome_2017=diplome_2017,
        taux_diplome_intermediaire=r_mid,
        k=taux_age_national / taux.ensemble_diplome,
    )


_DIPLOMES_INTERMEDIAIRES = (
    "nb_diplome_bepc",
    "nb_diplome_cap_bep",
    "nb_diplome_bac",
    "nb_diplome_bac_2",
)


def _effectifs(structure: str, colonne_population: str, s: StructureNationale) -> dict:
    """Population of each commune band (expressions), for one structure."""
    if structure == EFFECTIFS_RP2018:
        p15 = pl.col("nb_population") - pl.col("nb_0_14_ans")
        return {
            "p15": p15,
            "age": {
                "15_29": pl.col("nb_15_29_ans"),
                "30_74": p15 - pl.col("nb_15_29_ans") - pl.col("nb_75_ans_et_plus"),
                "75_plus": pl.col("nb_75_ans_et_plus"),
            },
            "diplome": {
                "scolarises": p15 - pl.col("nb_non_scolarises_15_ans_et_plus"),
                "aucun_cep": pl.col("nb_diplome_aucun_cep"),
                "intermediaire": _somme(pl.col(c) for c in _DIPLOMES_INTERMEDIAIRES),
                "bac_3_plus": pl.col("nb_diplome_bac_3_4") + pl.col("nb_diplome_bac_5_plus"),
            },
        }
    p15 = pl.col(colonne_population).cast(pl.Float64) * (1 - s.part_0_14)
    jeunes = pl.col("part_25_ans_et_moins") * p15
    ages = pl.col("part_65_ans_et_plus") * p15
    peu = pl.col("part_non_diplomes_15_ans_et_plus") * p15
    return {
        "p15": p15,
        "age": {"15_24": jeunes, "25_64": p15 - jeunes - ages, "65_plus": ages},
        "diplome": {"peu_diplomes": peu, "autres": p15 - peu},
    }


def _estimations(
    frame: pl.DataFrame,
    structure: str,
    colonne_population: str,
    taux: TauxReference,
    s: StructureNationale,
    poids: Poids,
) -> pl.DataFrame:
    """Point estimates and sensitivities of every row, with one given structure."""
    eff = _effectifs(structure, colonne_population, s)
    bandes_age = poids.age_2018 if structure == EFFECTIFS_RP2018 else poids.age_2017
    taux_dip = poids.diplome_2018 if structure == EFFECTIFS_RP2018 else poids.diplome_2017
    fines = s.bandes_fines()
    n_age = _somme(eff["age"][b] * poids.taux(w, taux) for b, w in bandes_age.items())
    d = _somme(eff["diplome"][g] * r for g, r in taux_dip.items())
    sens = {
        g: 0.5
        * (
            _somme(eff["age"][b] * w.get(g, 0.0) for b, w in bandes_age.items())
            + d / taux.ensemble_diplome * fines[g]
        )
        for g in BANDES_AGE
    }
    return frame.with_columns(
        eff["p15"].alias("nb_15_ans_et_plus"),
        n_age.alias("nb_illectronisme_age"),
        (poids.k * d).alias("nb_illectronisme_diplome"),
        *(e.alias(f"sensibilite_{g}") for g, e in sens.items()),
    ).with_columns(
        ((pl.col("nb_illectronisme_age") + pl.col("nb_illectronisme_diplome")) / 2).alias(
            "nb_illectronisme"
        )
    )


def estime_illectronisme(
    statistiques: pl.DataFrame,
    population: pl.DataFrame,
    taux: TauxReference,
    structure: StructureNationale,
    tau: float,
    biais: float = 0.0,
) -> pl.DataFrame:
    """Estimated people aged 15+ in illectronisme per commune, with a 95 % interval.

    `statistiques`: `int__statistiques_communes` (RP 2018 counts, RP 2017 shares, and
    `statut_structure_age`). `population`: `code_commune`, `population` (population
    municipale of the territories table), the base of the RP 2017 shares. `tau`: relative
    model error of the structure (`tau_modele`), `biais` the relative gap of its national totals
    (`biais_modele`, what remains of it in a sum of communes). One row per commune; a
    commune with no structure gets nulls (`absente`), or zeros if its population is 0
    (`population_nulle`).
    """
    poids = poids_bandes(taux, structure)
    frame = statistiques.join(
        population.select("code_commune", pl.col("population").alias("_population")),
        on="code_commune",
        how="left",
    )
    parties = [
        _estimations(
            frame.filter(pl.col("statut_structure_age") == nom),
            nom,
            "_population",
            taux,
            structure,
            poids,
        ).select("code_commune", pl.lit(nom).alias("structure_utilisee"), *_COLONNES_POINT)
        for nom in (EFFECTIFS_RP2018, PARTS_RP2017)
    ]
    sans = frame.filter(~pl.col("statut_structure_age").is_in([EFFECTIFS_RP2018, PARTS_RP2017]))
    nulle = pl.col("_population") == 0
    parties.append(
        sans.filter(nulle).select(
            "code_commune",
            pl.lit(POPULATION_NULLE).alias("structure_utilisee"),
            *(pl.lit(0.0).alias(c) for c in _COLONNES_POINT),
        )
    )
    estimees = pl.concat(parties).with_columns(
        _var_echantillonnage(taux.erreur_type_age).alias("var_echantillonnage"),
        (_var_modele(pl.lit(tau))).alias("var_modele"),
    )
    absentes = sans.filter(~nulle.fill_null(False)).select(
        "code_commune", pl.lit(ABSENTE).alias("structure_utilisee")
    )
    # The weight of every commune in the coverage rule: its people aged 15+, estimated from
    # its population and the national 0–14 share where it has no structure (Mayotte).
    poids = frame.select(
        "code_commune",
        (pl.col("_population").cast(pl.Float64) * (1 - structure.part_0_14)).alias("_poids"),
    )
    prorata = statistiques.select(
        "code_commune",
        (
            pl.col("structure_prorata")
            if "structure_prorata" in statistiques.columns
            else pl.lit(False)
        )
        .fill_null(False)
        .alias("structure_prorata"),
    )
    return (
        pl.concat([_intervalles(estimees), absentes], how="diagonal")
        .join(prorata, on="code_commune", how="left")
        .join(poids, on="code_commune", how="left")
        .with_columns(
            pl.lit(tau).alias("tau_modele"),
            pl.lit(biais).alias("biais_structure"),
            pl.coalesce("nb_15_ans_et_plus", "_poids").alias("poids_15_ans_et_plus"),
        )
        .select(COLONNES_SORTIE)
        .sort("code_commune")
    )


_COLONNES_POINT = (
    "nb_15_ans_et_plus",
    "nb_illectronisme_age",
    "nb_illectronisme_diplome",
    "nb_illectronisme",
    *(f"sensibilite_{g}" for g in BANDES_AGE),
)


def ecart_structures(
    statistiques: pl.DataFrame, taux: TauxReference, structure: StructureNationale
) -> pl.DataFrame:
    """Both estimates on the communes that have RP 2018 counts and RP 2017 shares.

    The RP 2017 estimate uses the RP 2018 population as its base, so the difference is the
    structure's alone (age bands, diploma groups, and the national 0–14 share replacing the
    commune's). `ecart_relatif` = (2017 − 2018) / 2018.
    """
    poids = poids_bandes(taux, structure)
    deux = statistiques.filter(
        pl.col("statut_structure_age") == EFFECTIFS_RP2018,
        pl.col("part_65_ans_et_plus").is_not_null(),
        pl.col("part_25_ans_et_moins").is_not_null(),
        pl.col("part_non_diplomes_15_ans_et_plus").is_not_null(),
    )
    a = _estimations(deux, EFFECTIFS_RP2018, "nb_population", taux, structure, poids)
    b = _estimations(deux, PARTS_RP2017, "nb_population", taux, structure, poids)
    return (
        a.select(
            "code_commune",
            pl.col("nb_illectronisme").alias("nb_illectronisme_rp2018"),
            pl.col("nb_15_ans_et_plus").alias("nb_15_ans_et_plus_rp2018"),
        )
        .with_columns(
            b["nb_illectronisme"].alias("nb_illectronisme_rp2017"),
            b["nb_15_ans_et_plus"].alias("nb_15_ans_et_plus_rp2017"),
        )
        .with_columns(
            (pl.col("nb_illectronisme_rp2017") - pl.col("nb_illectronisme_rp2018")).alias("ecart"),
        )
        .with_columns((pl.col("ecart") / pl.col("nb_illectronisme_rp2018")).alias("ecart_relatif"))
        .sort("code_commune")
    )


def tau_modele(ecarts: pl.DataFrame) -> float:
    """Relative model error of the structure: root mean square of `ecart_relatif`."""
    valeur = ecarts.select((pl.col("ecart_relatif") ** 2).mean().sqrt()).item()
    if valeur is None or not math.isfinite(valeur):
        raise ValueError("no commune with both structures: tau cannot be measured")
    return float(valeur)


def biais_modele(ecarts: pl.DataFrame) -> float:
    """Relative gap of the two structures' totals: the part of the structure's error that does
    not average out over communes (`tau_modele` is the gap commune by commune)."""
    sommes = ecarts.select(
        pl.col("nb_illectronisme_rp2017").sum(), pl.col("nb_illectronisme_rp2018").sum()
    ).row(0)
    if not sommes[1]:
        raise ValueError("no commune with both structures: the bias cannot be measured")
    return float(sommes[0] / sommes[1] - 1)


def resume_ecarts(ecarts: pl.DataFrame) -> dict[str, float]:
    """Summary of `ecart_structures` for the report: counts, mean and spread of the gap."""
    return ecarts.select(
        pl.len().cast(pl.Float64).alias("nb_communes"),
        pl.col("nb_illectronisme_rp2018").sum().alias("total_rp2018"),
        pl.col("nb_illectronisme_rp2017").sum().alias("total_rp2017"),
        pl.col("ecart_relatif").mean().alias("ecart_relatif_moyen"),
        pl.col("ecart_relatif").median().alias("ecart_relatif_median"),
        (pl.col("ecart_relatif") ** 2).mean().sqrt().alias("ecart_relatif_quadratique"),
        pl.col("ecart_relatif").abs().quantile(0.9).alias("ecart_relatif_abs_p90"),
    ).row(0, named=True)


def agrege_illectronisme(
    communes: pl.DataFrame, appartenance: pl.DataFrame, taux: TauxReference
) -> pl.DataFrame:
    """`agrege_estimation` of the illectronisme estimate."""
    return agrege_estimation(communes, appartenance, taux.erreur_type_age, ILLECTRONISME)


def besoin_communes(
    statistiques: pl.DataFrame, territoires: pl.DataFrame, table_taux: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """People aged 15+ in illectronisme per commune from the national rates' table and the
    communes' statistics: (estimates, the 2018/2017 structure gaps the model error uses)."""
    taux = taux_reference(table_taux)
    structure = structure_nationale(statistiques)
    ecarts = ecart_structures(statistiques, taux, structure)
    frame = estime_illectronisme(
        statistiques,
        population_communes(territoires),
        taux,
        structure,
        tau_modele(ecarts),
        biais_modele(ecarts),
    )
    return frame, ecarts
