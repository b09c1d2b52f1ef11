"""La Mednum's Indice de Fragilité Numérique (IFN), computed as its 2020 scores are.

**What La Mednum's published scores do** (read off its own 2020 data for the 16 IRIS of Arras,
`tests/fixtures/ifn_arras/`, where every input, reference value, intermediate ratio and score
is given; `docs/methodologie_fragilite.md`):

- each variable is scored against a reference territory: `score = 100 × valeur / reference`
  (`CM …` columns); median income too, *not* inverted although the documentation says a low
  income is a fragility (the published ratio is 17 868 / 18 982 = 94.13 for Arras);
- an axis is the mean of its variables' scores (`… 1` columns = the sum of its `CM` divided
  by their number), a family (accès, compétences) the mean of its variables' scores, and the
  global score the **mean of all the variables' scores** (`SCORE GLOBAL region` is the sum of
  the six `CM`, `SCORE GLOBAL region 1` that sum / 6): not the mean of the four axes;
- the 2020 scores use six variables; the five other documented ones (poverty rate, HD/THD and
  2G coverage, public services per inhabitant, unemployment) are empty in La Mednum's data and
  left out of every mean.

**What the observatory adds**, so that every commune has a score that ranks like La Mednum's:
a commune's missing variable takes its EPCI's value (then its département's), flagged
(`nb_variables_imputees`), never a neutral 100; each score is capped at the national P1/P99 of
the communes' scores of that variable against the same kind of reference, so that a commune
of ten inhabitants cannot dominate. References are ratios of counts over the reference
territory's communes (Σ numerator / Σ denominator), or, for the median income, INSEE's own
figure for the territory (a median cannot be summed).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from observatory.transforms import territories
from observatory.transforms.couverture import poids_couverture

DIRECT = "direct"
INVERSE = "inverse"

AXES = (
    "acces_interfaces",
    "acces_information",
    "competences_administratives",
    "competences_numeriques",
)
# La Mednum's two families of axes (GLOBAL ACCES, GLOBAL COMPETENCES).
FAMILLES = {
    "acces": ("acces_interfaces", "acces_information"),
    "competences": ("competences_administratives", "competences_numeriques"),
}


@dataclass(frozen=True)
class VariableIfn:
    """One IFN variable: its axis, direction, and where its value comes from."""

    code: str
    axe: str
    sens: str
    libelle: str
    source: str
    millesime: int


REVENU_MEDIAN = "revenu_median_uc"

# The six variables of La Mednum's 2020 scores, with the direction its scores use.
VARIABLES_IFN: tuple[VariableIfn, ...] = (
    VariableIfn(
        REVENU_MEDIAN,
        "acces_interfaces",
        DIRECT,
        "Revenu disponible médian par unité de consommation (sens des scores de La Mednum)",
        "INSEE, Filosofi",
        2016,
    ),
    VariableIfn(
        "part_familles_monoparentales",
        "acces_information",
        DIRECT,
        "Part des familles monoparentales parmi les familles",
        "INSEE, RP",
        2017,
    ),
    VariableIfn(
        "part_menages_une_personne",
        "acces_information",
        DIRECT,
        "Part des ménages d'une personne",
        "INSEE, RP",
        2017,
    ),
    VariableIfn(
        "part_15_29_ans",
        "competences_administratives",
        DIRECT,
        "Part des 15-29 ans dans la population",
        "INSEE, RP",
        2017,
    ),
    VariableIfn(
        "part_65_ans_et_plus",
        "competences_numeriques",
        DIRECT,
        "Part des 65 ans et plus dans la population",
        "INSEE, RP",
        2017,
    ),
    VariableIfn(
        "part_peu_diplomes",
        "competences_numeriques",
        DIRECT,
        "Part des pas ou peu diplômés parmi les 15 ans et plus non scolarisés",
        "INSEE, RP",
        2017,
    ),
)

ENTREES_SCHEMA: dict[str, pl.DataType] = {
    "code": pl.String(),
    "variable": pl.String(),
    "valeur": pl.Float64(),
    "numerateur": pl.Float64(),
    "denominateur": pl.Float64(),
    "imputee": pl.Boolean(),
}


def _variables_frame(variables: tuple[VariableIfn, ...]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "variable": [v.code for v in variables],
            "axe": [v.axe for v in variables],
            "sens": [v.sens for v in variables],
        }
    )


def _ratio(numerateur: pl.Expr, denominateur: pl.Expr) -> pl.Expr:
    """num / den, null when the denominator is null or 0 (nobody)."""
    return pl.when(denominateur > 0).then(numerateur / denominateur)


def entrees_depuis_comptes(
    frame: pl.DataFrame,
    comptes: dict[str, tuple[str, str]],
    medianes: dict[str, str] | None = None,
    code: str = "code",
) -> pl.DataFrame:
    """Long IFN inputs (`code`, `variable`, `valeur`, `numerateur`, `denominateur`) from a
    table of counts: `comptes` maps each variable to its (numerator, denominator) columns,
    `medianes` a variable to the column of a value that has no count form (median income).
    """
    parties = [
        frame.select(
            pl.col(code).alias("code"),
            pl.lit(variable).alias("variable"),
            _ratio(pl.col(num), pl.col(den)).alias("valeur"),
            pl.when(_ratio(pl.col(num), pl.col(den)).is_not_null())
            .then(pl.col(num))
            .alias("numerateur"),
            pl.when(_ratio(pl.col(num), pl.col(den)).is_not_null())
            .then(pl.col(den))
            .alias("denominateur"),
        )
        for variable, (num, den) in comptes.items()
    ]
    parties += [
        frame.select(
            pl.col(code).alias("code"),
            pl.lit(variable).alias("variable"),
            pl.col(colonne).alias("valeur"),
            pl.lit(None, pl.Float64).alias("numerateur"),
            pl.lit(None, pl.Float64).alias("denominateur"),
        )
        for variable, colonne in (medianes or {}).items()
    ]
    return pl.concat(
        [p.with_columns(pl.lit(False).alias("imputee")).cast(ENTREES_SCHEMA) for p in parties]
    ).sort("code", "variable")


def impute_depuis_parents(
    entrees: pl.DataFrame, parents: list[tuple[pl.DataFrame, pl.DataFrame]]
) -> pl.DataFrame:
    """A commune's missing input takes the value of its EPCI, else of its département, flagged.

    `parents`: in order of preference, (`appartenance`: `code` → `code_parent`, `valeurs`:
    `code_parent`, `variable`, `valeur`) — the parent's own value (Σ of counts of its communes,
    or INSEE's median). The imputed count is the parent's rate × the commune's own
    denominator where it has one, so that sums over communes stay sums of people.
    """
    resultat = entrees
    for appartenance, valeurs in parents:
        candidats = resultat.join(
            appartenance.select("code", "code_parent"), on="code", how="left"
        ).join(
            valeurs.select("code_parent", "variable", pl.col("valeur").alias("_parent")),
            on=["code_parent", "variable"],
            how="left",
        )
        manque = pl.col("valeur").is_null() & pl.col("_parent").is_not_null()
        resultat = candidats.select(
            "code",
            "variable",
            pl.when(manque).then(pl.col("_parent")).otherwise(pl.col("valeur")).alias("valeur"),
            pl.when(manque)
            .then(pl.col("_parent") * pl.col("denominateur"))
            .otherwise(pl.col("numerateur"))
            .alias("numerateur"),
            "denominateur",
            (pl.col("imputee") | manque).alias("imputee"),
        )
    return resultat.cast(ENTREES_SCHEMA).sort("code", "variable")


def agrege_entrees(entrees: pl.DataFrame, appartenance: pl.DataFrame) -> pl.DataFrame:
    """IFN inputs of higher territories: counts summed, value = Σ num / Σ den.

    `appartenance`: `code` (commune) → `code_parent`. Only the communes that have both counts
    are summed; a variable without counts (median) gets no row here: give the producer's
    figure for the territory instead.
    """
    connues = pl.col("numerateur").is_not_null() & pl.col("denominateur").is_not_null()
    return (
        entrees.filter(connues)
        .join(appartenance.select("code", "code_parent"), on="code")
        .group_by("code_parent", "variable")
        .agg(
            pl.col("numerateur").sum().alias("numerateur"),
            pl.col("denominateur").sum().alias("denominateur"),
            pl.col("imputee").any().alias("imputee"),
        )
        .select(
            pl.col("code_parent").alias("code"),
            "variable",
            _ratio(pl.col("numerateur"), pl.col("denominateur")).alias("valeur"),
            "numerateur",
            "denominateur",
            "imputee",
        )
        .cast(ENTREES_SCHEMA)
        .sort("code", "variable")
    )


def scores_variables(
    entrees: pl.DataFrame,
    appartenance: pl.DataFrame,
    references: pl.DataFrame,
    variables: tuple[VariableIfn, ...] = VARIABLES_IFN,
    bornes: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Score of every (territory, variable): 100 × value / the reference territory's value.

    `appartenance`: `code` → `code_reference`; `references`: `code_reference`, `variable`,
    `valeur_reference`. `bornes` (`variable`, `borne_basse`, `borne_haute`) caps each score
    (`bornee` says which were). One row per territory and variable, the score null when the
    input is missing, so that a missing variable is visible.
    """
    grille = appartenance.select("code", "code_reference").join(
        _variables_frame(variables), how="cross"
    )
    v, r = pl.col("valeur"), pl.col("valeur_reference")
    brut = (
        pl.when(pl.col("sens") == DIRECT)
        .then(pl.when(r > 0).then(100 * v / r))
        .otherwise(pl.when(v > 0).then(100 * r / v))
    )
    frame = (
        grille.join(
            entrees.select("code", "variable", "valeur", "imputee"),
            on=["code", "variable"],
            how="left",
        )
        .join(
            references.select("code_reference", "variable", "valeur_reference"),
            on=["code_reference", "variable"],
            how="left",
        )
        .with_columns(brut.alias("score_brut"))
    )
    if bornes is None:
        frame = frame.with_columns(
            pl.col("score_brut").alias("score"), pl.lit(False).alias("bornee")
        )
    else:
        frame = (
            frame.join(
                bornes.select("variable", "borne_basse", "borne_haute"), on="variable", how="left"
            )
            .with_columns(
                pl.col("score_brut")
                .clip(pl.col("borne_basse"), pl.col("borne_haute"))
                .alias("score")
            )
            .with_columns(
                (pl.col("score") != pl.col("score_brut")).fill_null(False).alias("bornee")
            )
        )
    return frame.select(
        "code",
        "code_reference",
        "variable",
        "axe",
        "sens",
        "valeur",
        pl.col("imputee").fill_null(False),
        "valeur_reference",
        "score_brut",
        "score",
        "bornee",
    ).sort("code", "variable")


def bornes_nationales(
    scores_communes: pl.DataFrame, bas: float = 0.01, haut: float = 0.99
) -> pl.DataFrame:
    """P1 and P99 of the communes' scores of each variable (the caps of `scores_variables`)."""
    return (
        scores_communes.filter(pl.col("score_brut").is_not_null())
        .group_by("variable")
        .agg(
            pl.col("score_brut").quantile(bas, "linear").alias("borne_basse"),
            pl.col("score_brut").quantile(haut, "linear").alias("borne_haute"),
        )
        .sort("variable")
    )


def indice_fragilite(
    scores: pl.DataFrame, variables: tuple[VariableIfn, ...] = VARIABLES_IFN
) -> pl.DataFrame:
    """One row per territory: axes, families and global score, as La Mednum computes them.

    Axis = mean of its variables' scores; family = mean of the variables' scores of its axes;
    global = mean of all the variables' scores (La Mednum's `SCORE GLOBAL … 1`). A territory
    that lacks a variable gets null scores for what it enters (a missing input is unknown).
    """
    score = pl.col("score")
    attendues = {axe: sum(v.axe == axe for v in variables) for axe in AXES}
    par_axe = [
        pl.when(score.filter(pl.col("axe") == axe).count() == n)
        .then(score.filter(pl.col("axe") == axe).mean())
        .alias(f"score_{axe}")
        for axe, n in attendues.items()
        if n
    ]
    par_famille = [
        pl.when(score.filter(pl.col("axe").is_in(axes)).count() == sum(attendues[a] for a in axes))
        .then(score.filter(pl.col("axe").is_in(axes)).mean())
        .alias(f"score_{famille}")
        for famille, axes in FAMILLES.items()
    ]
    return (
        scores.group_by("code")
        .agg(
            pl.col("code_reference").first(),
            *par_axe,
            *par_famille,
            pl.when(score.count() == len(variables)).then(score.mean()).alias("score_global"),
            score.count().cast(pl.Int64).alias("nb_variables"),
            pl.col("imputee").sum().cast(pl.Int64).alias("nb_variables_imputees"),
            pl.col("bornee").sum().cast(pl.Int64).alias("nb_variables_bornees"),
        )
        .sort("code")
    )


# --- The published index: commune inputs, imputation, levels, references, caps --------------

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
        nb_bornees = (
            scores_variables(
                communes,
                rattachement.filter(pl.col("niveau") == "commune").drop("niveau"),
                references,
                bornes=bornes,
            )
            .group_by("variable")
            .agg(pl.col("bornee").sum().alias("nb_communes_bornees"))
        )
        bornes_publiees.append(
            bornes.join(nb_bornees, on="variable").with_columns(pl.lit(suffixe).alias("reference"))
        )
        for niveau, du_niveau in entrees.group_by("niveau"):
            appartenance = rattachement.filter(pl.col("niveau") == niveau[0]).drop("niveau")
            if appartenance.is_empty():
                continue
            indice = indice_fragilite(
                scores_variables(du_niveau.drop("niveau"), appartenance, references, bornes=bornes)
            )
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


# Published codes, written out: `ifn_score_<part>_<reference>`.
CODES_PUBLIES = {
    (partie, suffixe): f"ifn_score_{partie}_{suffixe}"
    for partie in ("global", *AXES)
    for suffixe in REFERENCES
}


def _lignes(indice: pl.DataFrame, suffixe: str) -> pl.DataFrame:
    colonnes = {"global": "score_global", **{axe: f"score_{axe}" for axe in AXES}}
    return pl.concat(
        [
            indice.select(
                "code",
                pl.lit(CODES_PUBLIES[(partie, suffixe)]).alias("indicateur"),
                pl.col(colonne).alias("valeur"),
            )
            for partie, colonne in colonnes.items()
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
