"""The published Indice de Fragilité Numérique (IFN): La Mednum's scores (`fragility_scores`)
of every territory, against France, the région and the département.

**What the observatory adds**, so that every commune has a score that ranks like La Mednum's:
a commune's missing variable takes its EPCI's value (then its département's), flagged
(`nb_variables_imputees`), never a neutral 100; each score is capped at the national P1/P99 of
the communes' scores of that variable against the same kind of reference, so that a commune
of ten inhabitants cannot dominate. References are ratios of counts over the reference
territory's communes (Σ numerator / Σ denominator), or, for the median income, INSEE's own
figure for the territory (a median cannot be summed).

The steps: commune inputs (`entrees_ifn_communes`), their gaps filled
(`entrees_communes_imputees`), inputs at every level (`entrees_par_niveau`), scores against
each kind of reference with their caps (`indicateurs_fragilite`), in the `indicateurs` layout
under the codes `CODES_PUBLIES` lists.
"""

from __future__ import annotations

import polars as pl

from observatory.transforms import territories
from observatory.transforms.couverture import poids_couverture
from observatory.transforms.fragility_scores import (
    ENTREES_SCHEMA,
    REVENU_MEDIAN,
    VARIABLES_IFN,
    agrege_entrees,
    borne_scores,
    bornes_nationales,
    entrees_depuis_comptes,
    impute_depuis_parents,
    indice_fragilite,
    scores_variables,
)

# Vintage of the index: that of its census inputs (RP 2017 shares and counts).
ANNEE_IFN = 2017
NIVEAUX_FILOSOFI_INSEE = ("epci", "departement", "region", "france")
COLONNES_FILOSOFI = ("nb_personnes_menages_fiscaux", "revenu_median_uc", "taux_pauvrete_60")
# INSEE's figure is the territory's own median where its perimeter is that of COG 2026 (EPCI
# figures are on 2019 perimeters: they only fill a commune's gap).
NIVEAUX_MEDIANE_INSEE = ("departement", "region", "france")
# Reference territories of the published variants (suffix → level of the reference).
REFERENCES = {"fr": "france", "reg": "region", "dep": "departement"}
# Levels where a variant exists: against itself a territory scores 100 by definition.
NIVEAUX_SANS_OBJET = {
    "fr": ("france",),
    "reg": ("region", "france"),
    "dep": ("departement", "region", "france"),
}


def entrees_ifn_communes(statistiques: pl.DataFrame, population: pl.DataFrame) -> pl.DataFrame:
    """The six inputs of every commune, as counts over its population municipale.

    Census shares covering every commune (RP 2017, computed by Data For Good for La Mednum):
    single-parent families, one-person households, 65+, little-qualified. The share of 15–29
    is the RP 2018 count where INSEE publishes it (communes over 2 000 inhabitants); elsewhere
    the commune's RP 2017 share of 15–24 among the 15+, scaled by the national ratio of the two
    on the communes that have both (no all-commune 15–29 count is bundled). Median income:
    Filosofi 2016. Each share × population municipale makes a count, so that a reference is a
    ratio of counts over its communes (`population`: `code_commune`, `population`).
    """
    frame = statistiques.join(
        population.select("code_commune", pl.col("population").cast(pl.Float64).alias("_pop")),
        on="code_commune",
        how="left",
    )
    pop = pl.col("_pop")
    deux = frame.filter(
        pl.col("nb_15_29_ans").is_not_null(),
        pl.col("nb_population") > 0,
        pl.col("part_25_ans_et_moins").is_not_null(),
    )
    rapport = (deux["nb_15_29_ans"].sum() / deux["nb_population"].sum()) / (
        (deux["part_25_ans_et_moins"] * deux["_pop"]).sum() / deux["_pop"].sum()
    )
    part_15_29 = pl.coalesce(
        pl.col("nb_15_29_ans") / pl.col("nb_population"),
        pl.col("part_25_ans_et_moins") * rapport,
    )
    parts = {
        "part_familles_monoparentales": pl.col("part_familles_monoparentales"),
        "part_menages_une_personne": pl.col("part_menages_une_personne"),
        "part_15_29_ans": part_15_29,
        "part_65_ans_et_plus": pl.col("part_65_ans_et_plus"),
        "part_peu_diplomes": pl.col("part_non_diplomes_15_ans_et_plus"),
    }
    comptes = frame.select(
        "code_commune",
        REVENU_MEDIAN,
        *(
            e
            for variable, part in parts.items()
            for e in ((part * pop).alias(f"_n_{variable}"), pop.alias(f"_d_{variable}"))
        ),
    )
    return entrees_depuis_comptes(
        comptes,
        {variable: (f"_n_{variable}", f"_d_{variable}") for variable in parts},
        medianes={REVENU_MEDIAN: REVENU_MEDIAN},
        code="code_commune",
    )


def _medianes_insee(filosofi: pl.DataFrame, niveau: str) -> pl.DataFrame:
    return filosofi.filter(pl.col("niveau") == niveau).select(
        pl.col("code").alias("code_parent"),
        pl.lit(REVENU_MEDIAN).alias("variable"),
        pl.col("revenu_median_uc").alias("valeur"),
    )


def entrees_communes_imputees(
    communes: pl.DataFrame, appartenances: pl.DataFrame, filosofi: pl.DataFrame
) -> pl.DataFrame:
    """Commune inputs with each gap filled by the EPCI's value, else the département's.

    A parent's value is its communes' counts summed, or INSEE's own median for it
    (`filosofi`: `niveau`, `code`, `revenu_median_uc`).
    """
    parents = []
    for niveau in ("epci", "departement"):
        appartenance = appartenances.filter(pl.col("niveau") == niveau).select(
            pl.col("code_commune").alias("code"), pl.col("code").alias("code_parent")
        )
        sommes = agrege_entrees(communes, appartenance).select(
            pl.col("code").alias("code_parent"), "variable", "valeur"
        )
        valeurs = pl.concat(
            [sommes.filter(pl.col("variable") != REVENU_MEDIAN), _medianes_insee(filosofi, niveau)]
        )
        parents.append((appartenance, valeurs))
    return impute_depuis_parents(communes, parents)


def entrees_par_niveau(
    communes: pl.DataFrame, appartenances: pl.DataFrame, filosofi: pl.DataFrame
) -> pl.DataFrame:
    """IFN inputs at every level (`niveau`, `code`, …), summed over the covered communes.

    A commune is covered when it has every variable (after imputation). The median income
    of a higher territory is INSEE's own figure where INSEE publishes it for that perimeter
    (département, région, France); elsewhere (EPCI, bassins de vie, users' zonings) it is the
    mean of its communes' medians weighted by their population, flagged as imputed.
    """
    couvertes = communes.filter(
        pl.col("valeur").is_not_null().all().over("code")
        & (pl.col("variable").n_unique().over("code") == len(VARIABLES_IFN))
    )
    parties = [communes.with_columns(pl.lit("commune").alias("niveau"))]
    for niveau in sorted(set(appartenances["niveau"].unique()) - {"commune"}):
        appartenance = appartenances.filter(pl.col("niveau") == niveau).select(
            pl.col("code_commune").alias("code"), pl.col("code").alias("code_parent")
        )
        agregees = agrege_entrees(couvertes, appartenance)
        insee = _medianes_insee(
            filosofi.filter(pl.col("niveau").is_in(NIVEAUX_MEDIANE_INSEE)), niveau
        ).rename({"code_parent": "code"})
        medianes_communes = couvertes.filter(pl.col("variable") == REVENU_MEDIAN).join(
            appartenance, on="code"
        )
        # fiscal population weights are not carried with a median: the communes' population
        # (the other variables' denominator) weighs the approximate median
        poids = couvertes.filter(pl.col("variable") == "part_15_29_ans").select(
            "code", pl.col("denominateur").alias("_poids")
        )
        approchee = (
            medianes_communes.join(poids, on="code", how="left")
            .group_by("code_parent")
            .agg(
                ((pl.col("valeur") * pl.col("_poids")).sum() / pl.col("_poids").sum()).alias(
                    "_approchee"
                ),
                pl.col("imputee").any().alias("_imputee"),
            )
            .rename({"code_parent": "code"})
        )
        mediane = (
            appartenance.select(pl.col("code_parent").alias("code"))
            .unique()
            .join(insee.select("code", pl.col("valeur").alias("_insee")), on="code", how="left")
            .join(approchee, on="code", how="left")
            .select(
                "code",
                pl.lit(REVENU_MEDIAN).alias("variable"),
                pl.coalesce("_insee", "_approchee").alias("valeur"),
                pl.lit(None, pl.Float64).alias("numerateur"),
                pl.lit(None, pl.Float64).alias("denominateur"),
                (pl.col("_insee").is_null() | pl.col("_imputee").fill_null(False)).alias("imputee"),
            )
        )
        parties.append(
            pl.concat([agregees, mediane.cast(ENTREES_SCHEMA)])
            .cast(ENTREES_SCHEMA)
            .with_columns(pl.lit(niveau).alias("niveau"))
        )
    colonnes = ["niveau", *ENTREES_SCHEMA]
    return pl.concat([p.select(colonnes) for p in parties]).sort("niveau", "code", "variable")


def _references(entrees: pl.DataFrame, niveau: str) -> pl.DataFrame:
    return entrees.filter(pl.col("niveau") == niveau).select(
        pl.col("code").alias("code_reference"),
        "variable",
        pl.col("valeur").alias("valeur_reference"),
    )


def indicateurs_fragilite(
    entrees: pl.DataFrame,
    appartenances: pl.DataFrame,
    population: pl.DataFrame,
    annee: int = ANNEE_IFN,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The IFN in the `indicateurs` layout, against France (`_fr`), the région (`_reg`, La
    Mednum's reference) and the département (`_dep`), and the caps used.

    `entrees` from `entrees_par_niveau`; `population`: `code_commune`, `population` (the
    coverage weights; the reference of a territory across several is its main one). Each
    variable's score is capped at the national P1/P99 of the communes' scores against the same
    kind of reference. Returns (indicator rows, caps with the number of communes capped).
    """
    poids = _poids_couverture(entrees, appartenances, population)
    parties, bornes_publiees = [], []
    for suffixe, niveau_reference in REFERENCES.items():
        references = _references(entrees, niveau_reference)
        rattachement = (
            territories.reference_majoritaire(appartenances, population, niveau_reference)
            if niveau_reference != "france"
            else appartenances.select("niveau", "code")
            .unique()
            .with_columns(pl.lit("FR").alias("code_reference"))
        )
        sans_objet = NIVEAUX_SANS_OBJET.get(suffixe, ())
        rattachement = rattachement.filter(~pl.col("niveau").is_in(sans_objet))
        communes = entrees.filter(pl.col("niveau") == "commune")
        scores_communes = scores_variables(
            communes,
            rattachement.filter(pl.col("niveau") == "commune").drop("niveau"),
            references,
        )
        bornes = bornes_nationales(scores_communes)
        # the communes' scores computed once, capped here (the caps come from them)
        communes_bornees = borne_scores(scores_communes, bornes)
        nb_bornees = communes_bornees.group_by("variable").agg(
            pl.col("bornee").sum().alias("nb_communes_bornees")
        )
        bornes_publiees.append(
            bornes.join(nb_bornees, on="variable").with_columns(pl.lit(suffixe).alias("reference"))
        )
        for niveau, du_niveau in entrees.group_by("niveau"):
            appartenance = rattachement.filter(pl.col("niveau") == niveau[0]).drop("niveau")
            if appartenance.is_empty():
                continue
            scores = (
                communes_bornees
                if niveau[0] == "commune"
                else scores_variables(
                    du_niveau.drop("niveau"), appartenance, references, bornes=bornes
                )
            )
            indice = indice_fragilite(scores)
            parties.append(_lignes(indice, suffixe).with_columns(pl.lit(niveau[0]).alias("niveau")))
    imputees = (
        entrees.filter(pl.col("niveau") == "commune")
        .group_by("niveau", "code")
        .agg(pl.col("imputee").sum().cast(pl.Float64).alias("valeur"))
        .with_columns(pl.lit("ifn_nb_variables_imputees").alias("indicateur"))
    )
    lignes = (
        pl.concat([*parties, imputees.select("code", "indicateur", "valeur", "niveau")])
        .join(poids, on=["niveau", "code"], how="left")
        .select(
            "niveau",
            "code",
            "indicateur",
            pl.lit(annee, pl.Int32).alias("annee"),
            "valeur",
            pl.lit(None, pl.Float64).alias("ic_bas"),
            pl.lit(None, pl.Float64).alias("ic_haut"),
            pl.lit(False).alias("secret"),
            "poids_couvert",
            "poids_total",
            "nb_communes_couvertes",
            "nb_communes",
        )
        .sort("niveau", "code", "indicateur")
    )
    return lignes, pl.concat(bornes_publiees).select(
        "reference", "variable", "borne_basse", "borne_haute", "nb_communes_bornees"
    )


# The published codes, each written out so that a search finds it: reference → (code, column of
# `indice_fragilite` it publishes), in the order of the rows: global, then the axes (`AXES`).
CODES_PUBLIES: dict[str, tuple[tuple[str, str], ...]] = {
    "fr": (
        ("ifn_score_global_fr", "score_global"),
        ("ifn_score_acces_interfaces_fr", "score_acces_interfaces"),
        ("ifn_score_acces_information_fr", "score_acces_information"),
        ("ifn_score_competences_administratives_fr", "score_competences_administratives"),
        ("ifn_score_competences_numeriques_fr", "score_competences_numeriques"),
    ),
    "reg": (
        ("ifn_score_global_reg", "score_global"),
        ("ifn_score_acces_interfaces_reg", "score_acces_interfaces"),
        ("ifn_score_acces_information_reg", "score_acces_information"),
        ("ifn_score_competences_administratives_reg", "score_competences_administratives"),
        ("ifn_score_competences_numeriques_reg", "score_competences_numeriques"),
    ),
    "dep": (
        ("ifn_score_global_dep", "score_global"),
        ("ifn_score_acces_interfaces_dep", "score_acces_interfaces"),
        ("ifn_score_acces_information_dep", "score_acces_information"),
        ("ifn_score_competences_administratives_dep", "score_competences_administratives"),
        ("ifn_score_competences_numeriques_dep", "score_competences_numeriques"),
    ),
}


def _lignes(indice: pl.DataFrame, suffixe: str) -> pl.DataFrame:
    return pl.concat(
        [
            indice.select(
                "code",
                pl.lit(code).alias("indicateur"),
                pl.col(colonne).alias("valeur"),
            )
            for code, colonne in CODES_PUBLIES[suffixe]
        ]
    )


def _poids_couverture(
    entrees: pl.DataFrame, appartenances: pl.DataFrame, population: pl.DataFrame
) -> pl.DataFrame:
    """Coverage weights: population of the communes with every variable, and of all."""
    couverte = (
        entrees.filter(pl.col("niveau") == "commune")
        .group_by("code")
        .agg(
            (
                pl.col("valeur").is_not_null().all()
                & (pl.col("variable").n_unique() == len(VARIABLES_IFN))
            ).alias("couverte")
        )
        .select(pl.col("code").alias("code_commune"), "couverte")
    )
    return poids_couverture(couverte, appartenances, population)


LIBELLES_REFERENCES = {"fr": "France", "reg": "région", "dep": "département"}


def tableau_bornes(bornes: pl.DataFrame) -> str:
    """The caps of this computation and the communes they bound, for the methodology note."""
    lignes = [
        "## Indice de fragilité : bornes des scores de ce calcul",
        "",
        "Score de chaque variable borné aux 1er et 99e centiles nationaux des communes, pour "
        "chaque sorte de référence ; communes dont le score a été ramené à la borne.",
        "",
        "| référence | variable | borne basse | borne haute | communes bornées |",
        "|---|---|---|---|---|",
    ]
    for ligne in bornes.sort("reference", "variable").iter_rows(named=True):
        basse, haute = (f"{ligne[b]:.1f}".replace(".", ",") for b in ("borne_basse", "borne_haute"))
        lignes.append(
            f"| {LIBELLES_REFERENCES.get(ligne['reference'], ligne['reference'])} "
            f"| `{ligne['variable']}` | {basse} | {haute} | {ligne['nb_communes_bornees']} |"
        )
    return "\n".join(lignes) + "\n"


def filosofi_territoires(filosofi: pl.DataFrame) -> pl.DataFrame:
    """INSEE's own Filosofi figures for EPCI, départements, régions and France."""
    return filosofi.filter(pl.col("niveau").is_in(NIVEAUX_FILOSOFI_INSEE)).select(
        "niveau", "code", "annee", *COLONNES_FILOSOFI
    )


def calcule_ifn(
    statistiques: pl.DataFrame,
    territoires: pl.DataFrame,
    appartenances: pl.DataFrame,
    filosofi: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """The IFN of every territory from the communes' statistics: (indicator rows, caps,
    number of communes with an imputed variable)."""
    population = territories.population_communes(territoires)
    communes = entrees_communes_imputees(
        entrees_ifn_communes(statistiques, population), appartenances, filosofi
    )
    entrees = entrees_par_niveau(communes, appartenances, filosofi)
    frame, bornes = indicateurs_fragilite(entrees, appartenances, population)
    imputees = communes.filter(pl.col("imputee")).select("code").n_unique()
    return frame, bornes, imputees
