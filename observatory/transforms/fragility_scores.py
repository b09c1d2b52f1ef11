"""La Mednum's Indice de Fragilité Numérique (IFN): its variables, and its scores computed as its
2020 scores are.

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

The building blocks of what the observatory adds are here too, whatever territories they are
applied to: inputs as counts (`entrees_depuis_comptes`), a missing input taken from a parent
territory, flagged (`impute_depuis_parents`), counts summed over a territory's communes
(`agrege_entrees`), scores capped (`bornes_nationales`). How the published index uses them:
`fragility`.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

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
    frame = frame.select(
        "code",
        "code_reference",
        "variable",
        "axe",
        "sens",
        "valeur",
        pl.col("imputee").fill_null(False),
        "valeur_reference",
        "score_brut",
        pl.col("score_brut").alias("score"),
        pl.lit(False).alias("bornee"),
    ).sort("code", "variable")
    return frame if bornes is None else borne_scores(frame, bornes)


def borne_scores(scores: pl.DataFrame, bornes: pl.DataFrame) -> pl.DataFrame:
    """`scores` (from `scores_variables`) with each score capped by its variable's `bornes`:
    the caps applied to scores already computed, rows and order kept."""
    plafonds = bornes.select("variable", "borne_basse", "borne_haute")
    score = pl.col("score_brut").clip(pl.col("borne_basse"), pl.col("borne_haute"))
    return (
        scores.join(plafonds, on="variable", how="left", maintain_order="left")
        .with_columns(score.alias("score"))
        .with_columns((pl.col("score") != pl.col("score_brut")).fill_null(False).alias("bornee"))
        .drop("borne_basse", "borne_haute")
    )


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
