"""Need, broader: people aged 15+ en difficulté avec le numérique, by age only.

INSEE publishes this measure (no internet use in three months, or lacking basic skills in at
least one of five domains) by age band, not by diploma: the estimate is an indirect
standardisation by age (the illectronisme estimate's machinery, `need.py` and
`need_interval.py`), calibrated on the published national rate. See
`docs/methodologie_besoin.md`.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from observatory.transforms.need import (
    EFFECTIFS_RP2018,
    PARTS_RP2017,
    StructureNationale,
    TauxReference,
    _effectifs,
    structure_nationale,
)
from observatory.transforms.need_interval import (
    DIFFICULTE,
    ILLECTRONISME,
    _intervalles,
    _somme,
    _var_echantillonnage,
    _var_modele,
    erreur_type_retenue,
    indicateurs_besoin,
)
from observatory.transforms.territories import population_communes


@dataclass(frozen=True)
class TauxAge:
    """National rates by age band (`bandes`: name → (first age, last age or None)), their
    standard errors, and the published rate of all 15+ that the estimate is calibrated on."""

    bandes: dict[str, tuple[int, int | None]]
    taux: dict[str, float]
    erreur_type: dict[str, float]
    ensemble: float
    millesime: int


def taux_age_reference(table: pl.DataFrame, millesime: int) -> TauxAge:
    """Read the age rates (`usage` = `standardisation_age`) and the overall rate of a vintage;
    raises if either is missing or the bands do not tile 15+ without gap."""
    table = table.filter(pl.col("millesime").cast(pl.Int64) == millesime).with_columns(
        erreur_type_retenue()
    )
    ages = table.filter(pl.col("usage") == "standardisation_age").sort(
        pl.col("age_min").cast(pl.Int64)
    )
    ensemble = table.filter(pl.col("dimension") == "ensemble", pl.col("groupe") == "15_ans_et_plus")
    if ages.is_empty() or ensemble.height != 1:
        raise ValueError(
            f"taux par âge {millesime} : bandes ou ensemble des 15 ans et plus absents"
        )
    bandes = {
        r["groupe"]: (int(r["age_min"]), None if r["age_max"] is None else int(r["age_max"]))
        for r in ages.iter_rows(named=True)
    }
    suite = 15
    for nom, (debut, fin) in bandes.items():
        if debut != suite:
            raise ValueError(
                f"taux par âge {millesime} : la bande {nom} commence à {debut}, pas à {suite}"
            )
        suite = (fin or 200) + 1
    if suite != 201:
        raise ValueError(
            f"taux par âge {millesime} : la dernière bande doit être ouverte (75 ans ou plus)"
        )
    return TauxAge(
        bandes=bandes,
        taux={r["groupe"]: float(r["taux"]) for r in ages.iter_rows(named=True)},
        erreur_type={r["groupe"]: float(r["_se"]) for r in ages.iter_rows(named=True)},
        ensemble=float(ensemble["taux"][0]),
        millesime=millesime,
    )


def part_nationale_age(s: StructureNationale, debut: int, fin: int | None) -> float:
    """National share of the 15+ aged `debut`–`fin`, the census bands split uniformly by year
    of age inside themselves (30–64 is one band in the bundled census)."""
    connues = (
        (15, 24, s.a_15_24),
        (25, 29, s.a_25_29),
        (30, 64, s.a_30_44 + s.a_45_59 + s.a_60_64),
        (65, 74, s.a_65_74),
    )
    fin_ = 200 if fin is None else fin
    part = sum(p * max(0, min(fin_, b) - max(debut, a) + 1) / (b - a + 1) for a, b, p in connues)
    return part + (s.a_75_plus if fin_ >= 75 and debut <= 75 else 0.0)


BANDES_COMMUNES = {
    EFFECTIFS_RP2018: {"15_29": (15, 29), "30_74": (30, 74), "75_plus": (75, None)},
    PARTS_RP2017: {"15_24": (15, 24), "25_64": (25, 64), "65_plus": (65, None)},
}


def poids_age(taux: TauxAge, s: StructureNationale) -> dict[str, dict[str, dict[str, float]]]:
    """Weight of each rate band in each commune band: the national share of their overlap in
    the commune band (a commune band's rate is the national mean over its ages)."""

    def chevauchement(
        a: tuple[int, int | None], b: tuple[int, int | None]
    ) -> tuple[int, int | None] | None:
        debut = max(a[0], b[0])
        fins = [f for f in (a[1], b[1]) if f is not None]
        fin = min(fins) if fins else None
        return None if fin is not None and fin < debut else (debut, fin)

    poids: dict[str, dict[str, dict[str, float]]] = {}
    for structure, bandes in BANDES_COMMUNES.items():
        poids[structure] = {}
        for nom, bande in bandes.items():
            total = part_nationale_age(s, *bande)
            poids[structure][nom] = {
                g: part_nationale_age(s, *c) / total
                for g, intervalle in taux.bandes.items()
                if (c := chevauchement(bande, intervalle)) is not None
                and part_nationale_age(s, *c) > 0
            }
    return poids


def estime_par_age(
    statistiques: pl.DataFrame,
    population: pl.DataFrame,
    taux: TauxAge,
    structure: StructureNationale,
    tau: float,
    biais: float = 0.0,
    mesure: str = DIFFICULTE,
) -> pl.DataFrame:
    """The same standardisation with age rates only, per commune, with its 95 % interval.

    Two estimates, as for illectronisme: the age-standardised count, and the same calibrated
    on INSEE's national rate (× published / predicted on the national structure); the point
    estimate is their mean, the model error half their gap plus `tau`. Sensitivities to each
    national rate give the sampling variance of any sum of communes (`agrege_estimation`).
    """
    poids = poids_age(taux, structure)
    fines = {g: part_nationale_age(structure, *b) for g, b in taux.bandes.items()}
    predit = sum(taux.taux[g] * fines[g] for g in taux.bandes)
    c = taux.ensemble / predit
    frame = statistiques.join(
        population.select("code_commune", pl.col("population").alias("_population")),
        on="code_commune",
        how="left",
    )
    parties = []
    for nom in (EFFECTIFS_RP2018, PARTS_RP2017):
        eff = _effectifs(nom, "_population", structure)
        bandes = poids[nom]
        n_age = _somme(
            eff["age"][b] * sum(w * taux.taux[g] for g, w in bandes[b].items()) for b in bandes
        )
        sens = {
            g: 0.5
            * (
                _somme(eff["age"][b] * bandes[b].get(g, 0.0) for b in bandes) * (1 + c)
                - n_age * c * fines[g] / predit
            )
            for g in taux.bandes
        }
        parties.append(
            frame.filter(pl.col("statut_structure_age") == nom).select(
                "code_commune",
                eff["p15"].alias("nb_15_ans_et_plus"),
                n_age.alias(f"nb_{mesure}_age"),
                (n_age * c).alias(f"nb_{mesure}_calee"),
                (n_age * (1 + c) / 2).alias(f"nb_{mesure}"),
                *(e.alias(f"sensibilite_{g}") for g, e in sens.items()),
            )
        )
    nulle = frame.filter(
        ~pl.col("statut_structure_age").is_in([EFFECTIFS_RP2018, PARTS_RP2017]),
        pl.col("_population") == 0,
    ).select(
        "code_commune",
        *(
            pl.lit(0.0).alias(c)
            for c in ("nb_15_ans_et_plus", f"nb_{mesure}_age", f"nb_{mesure}_calee", f"nb_{mesure}")
        ),
        *(pl.lit(0.0).alias(f"sensibilite_{g}") for g in taux.bandes),
    )
    estimees = pl.concat([*parties, nulle]).with_columns(
        _var_echantillonnage(taux.erreur_type).alias("var_echantillonnage"),
        _var_modele(pl.lit(tau), mesure).alias("var_modele"),
    )
    poids_15 = frame.select(
        "code_commune",
        (pl.col("_population").cast(pl.Float64) * (1 - structure.part_0_14)).alias("_poids"),
    )
    return (
        frame.select("code_commune")
        .join(_intervalles(estimees, mesure), on="code_commune", how="left")
        .join(poids_15, on="code_commune", how="left")
        .with_columns(
            pl.lit(tau).alias("tau_modele"),
            pl.lit(biais).alias("biais_structure"),
            pl.coalesce("nb_15_ans_et_plus", "_poids").alias("poids_15_ans_et_plus"),
        )
        .drop("_poids")
        .sort("code_commune")
    )


def indicateurs_besoin_mesures(
    besoin: pl.DataFrame,
    difficulte: pl.DataFrame,
    appartenances: pl.DataFrame,
    illectronisme: TauxReference,
    taux_difficulte: TauxAge,
) -> pl.DataFrame:
    """Need at every level with its interval, for both measures: illectronisme and, broader,
    people en difficulté avec le numérique."""
    return pl.concat(
        [
            indicateurs_besoin(
                besoin,
                appartenances,
                illectronisme.erreur_type_age,
                illectronisme.millesime_age,
                ILLECTRONISME,
            ),
            indicateurs_besoin(
                difficulte,
                appartenances,
                taux_difficulte.erreur_type,
                taux_difficulte.millesime,
                DIFFICULTE,
            ),
        ]
    )


def difficulte_communes(
    statistiques: pl.DataFrame,
    territoires: pl.DataFrame,
    besoin: pl.DataFrame,
    table_taux: pl.DataFrame,
    millesime: int,
) -> pl.DataFrame:
    """People aged 15+ en difficulté avec le numérique per commune (age standardisation), with
    the model error measured for illectronisme (`besoin`: `besoin_communes`)."""
    return estime_par_age(
        statistiques,
        population_communes(territoires),
        taux_age_reference(table_taux, millesime),
        structure_nationale(statistiques),
        besoin["tau_modele"].drop_nulls().first(),
        besoin["biais_structure"].drop_nulls().first(),
    )
