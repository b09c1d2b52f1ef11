"""La Mednum's Indice de Fragilité Numérique (IFN 2019): 4 axes, 9 variables, 100 = reference.

Each variable is oriented so that higher = more fragile and scored against a reference
territory (France, or the commune's département as La Mednum does):
`score = 100 × valeur / valeur_reference`, or `100 × valeur_reference / valeur` for a variable
where higher is *less* fragile (median income). An axis is the mean of its variables' scores,
the global score the mean of all the variables' scores (not of the axes). A variable missing
for a territory (or whose reference is 0 or missing) is skipped: the scores use the others and
`nb_variables_manquantes` says how many were skipped. See `docs/methodologie_fragilite.md`.

Reference values come from counts: Σ numerator / Σ denominator over the reference territory's
communes (`valeurs_reference`), never a mean of commune rates; a value that has no count form
(a median) or that sources suppress for small communes (poverty rate) is passed in from the
producer's own figure for the territory (`imposees`).
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


@dataclass(frozen=True)
class VariableIfn:
    """One IFN variable: its axis, direction, and where its value comes from."""

    code: str
    axe: str
    sens: str
    libelle: str
    source: str
    millesime: int


VARIABLES_IFN: tuple[VariableIfn, ...] = (
    VariableIfn(
        "part_locaux_sans_thd_30",
        "acces_interfaces",
        DIRECT,
        "Part des locaux non éligibles à un débit d'au moins 30 Mbit/s",
        "ARCEP, Ma connexion internet (bêta)",
        2019,
    ),
    VariableIfn(
        "taux_pauvrete_60",
        "acces_interfaces",
        DIRECT,
        "Taux de pauvreté au seuil de 60 %",
        "INSEE, Filosofi",
        2016,
    ),
    VariableIfn(
        "revenu_median_uc",
        "acces_interfaces",
        INVERSE,
        "Revenu disponible médian par unité de consommation (inversé)",
        "INSEE, Filosofi",
        2016,
    ),
    VariableIfn(
        "part_menages_une_personne",
        "acces_information",
        DIRECT,
        "Part des ménages d'une personne",
        "INSEE, RP (Data For Good)",
        2017,
    ),
    VariableIfn(
        "part_familles_monoparentales",
        "acces_information",
        DIRECT,
        "Part des familles monoparentales",
        "INSEE, RP (Data For Good)",
        2017,
    ),
    VariableIfn(
        "part_15_29_ans",
        "competences_administratives",
        DIRECT,
        "Part des 15-29 ans dans la population",
        "INSEE, RP",
        2018,
    ),
    VariableIfn(
        "part_chomeurs",
        "competences_administratives",
        DIRECT,
        "Demandeurs d'emploi (cat. ABC) rapportés aux 15-74 ans",
        "Pôle emploi DEFM 2019 ; INSEE, RP 2018",
        2019,
    ),
    VariableIfn(
        "part_65_ans_et_plus",
        "competences_numeriques",
        DIRECT,
        "Part des 65 ans et plus parmi les 15 ans et plus",
        "INSEE, RP (Data For Good)",
        2017,
    ),
    VariableIfn(
        "part_peu_diplomes",
        "competences_numeriques",
        DIRECT,
        "Part des non-scolarisés pas ou peu diplômés (au plus CAP-BEP) parmi les 15 ans et plus",
        "INSEE, RP (Data For Good)",
        2017,
    ),
)

ENTREES_SCHEMA: dict[str, pl.DataType] = {
    "code": pl.String(),
    "variable": pl.String(),
    "valeur": pl.Float64(),
    "numerateur": pl.Float64(),
    "denominateur": pl.Float64(),
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
    """num / den, null when the denominator is null or 0 (no premises, nobody)."""
    return pl.when(denominateur > 0).then(numerateur / denominateur)


def entrees_ifn_communes(statistiques: pl.DataFrame, population: pl.DataFrame) -> pl.DataFrame:
    """The IFN inputs of every commune, long: `code`, `variable`, `valeur`, counts.

    Counts make reference values sums of counts. Where a source publishes only a share (RP 2017
    shares by Data For Good), its count is share × population municipale (`population`:
    `code_commune`, `population`): the reference is then a population-weighted mean of shares,
    exact for the 15+ shares up to the commune's 0–14 share, approximate for household shares.
    A commune the source does not publish gets a null value (skipped, counted as missing).
    """
    frame = statistiques.join(
        population.select("code_commune", pl.col("population").cast(pl.Float64).alias("_pop")),
        on="code_commune",
        how="left",
    )
    pop = pl.col("_pop")
    p15_74 = pl.col("nb_population") - pl.col("nb_0_14_ans") - pl.col("nb_75_ans_et_plus")
    comptes: dict[str, tuple[pl.Expr, pl.Expr]] = {
        "part_locaux_sans_thd_30": (
            (pl.col("nb_locaux") - pl.col("nb_locaux_thd_30")).cast(pl.Float64),
            pl.col("nb_locaux").cast(pl.Float64),
        ),
        "taux_pauvrete_60": (
            pl.col("taux_pauvrete_60") * pl.col("nb_personnes_menages_fiscaux"),
            pl.when(pl.col("taux_pauvrete_60").is_not_null()).then(
                pl.col("nb_personnes_menages_fiscaux")
            ),
        ),
        "part_menages_une_personne": (pl.col("part_menages_une_personne") * pop, pop),
        "part_familles_monoparentales": (pl.col("part_familles_monoparentales") * pop, pop),
        "part_15_29_ans": (pl.col("nb_15_29_ans"), pl.col("nb_population")),
        "part_chomeurs": (
            pl.col("nb_demandeurs_emploi_abc").cast(pl.Float64),
            pl.when(pl.col("nb_demandeurs_emploi_abc").is_not_null()).then(p15_74),
        ),
        "part_65_ans_et_plus": (pl.col("part_65_ans_et_plus") * pop, pop),
        "part_peu_diplomes": (pl.col("part_non_diplomes_15_ans_et_plus") * pop, pop),
    }
    parties = [
        frame.select(
            pl.col("code_commune").alias("code"),
            pl.lit(code).alias("variable"),
            _ratio(num, den).alias("valeur"),
            pl.when(_ratio(num, den).is_not_null()).then(num).alias("numerateur"),
            pl.when(_ratio(num, den).is_not_null()).then(den).alias("denominateur"),
        )
        for code, (num, den) in comptes.items()
    ]
    parties.append(
        frame.select(
            pl.col("code_commune").alias("code"),
            pl.lit("revenu_median_uc").alias("variable"),
            pl.col("revenu_median_uc").alias("valeur"),
            pl.lit(None, pl.Float64).alias("numerateur"),
            pl.lit(None, pl.Float64).alias("denominateur"),
        )
    )
    return pl.concat([p.cast(ENTREES_SCHEMA) for p in parties]).sort("code", "variable")


def agrege_entrees(entrees: pl.DataFrame, appartenance: pl.DataFrame) -> pl.DataFrame:
    """IFN inputs of higher territories: counts summed, value = Σ num / Σ den.

    `appartenance`: `code` (commune) → `code_parent`. A variable without counts (median) gets
    null here: give the producer's figure for the level instead. A territory where some
    commune lacks a count gets the sum of the others (the value is a ratio of what is known).
    """
    return (
        entrees.join(appartenance.select("code", "code_parent"), on="code")
        .group_by("code_parent", "variable")
        .agg(
            pl.col("numerateur").sum().alias("numerateur"),
            pl.col("denominateur").sum().alias("denominateur"),
        )
        .select(
            pl.col("code_parent").alias("code"),
            "variable",
            _ratio(pl.col("numerateur"), pl.col("denominateur")).alias("valeur"),
            "numerateur",
            "denominateur",
        )
        .cast(ENTREES_SCHEMA)
        .sort("code", "variable")
    )


def valeurs_reference(
    entrees: pl.DataFrame,
    appartenance: pl.DataFrame,
    imposees: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Reference value of each variable for each reference territory, from counts.

    `appartenance`: `code` → `code_reference` (`FR` for all, or the département). `imposees`
    (`code_reference`, `variable`, `valeur_reference`) overrides the computed value: the
    producer's figure where counts cannot rebuild it. `origine_reference` says which was used.
    """
    calculees = (
        entrees.filter(pl.col("numerateur").is_not_null(), pl.col("denominateur").is_not_null())
        .join(appartenance.select("code", "code_reference"), on="code")
        .group_by("code_reference", "variable")
        .agg(_ratio(pl.col("numerateur").sum(), pl.col("denominateur").sum()).alias("_calculee"))
    )
    if imposees is None:
        imposees = pl.DataFrame(
            schema={
                "code_reference": pl.String,
                "variable": pl.String,
                "valeur_reference": pl.Float64,
            }
        )
    imposees = imposees.select(
        "code_reference", "variable", pl.col("valeur_reference").cast(pl.Float64).alias("_imp")
    )
    return (
        calculees.join(imposees, on=["code_reference", "variable"], how="full", coalesce=True)
        .select(
            "code_reference",
            "variable",
            pl.coalesce("_imp", "_calculee").alias("valeur_reference"),
            pl.when(pl.col("_imp").is_not_null())
            .then(pl.lit("imposee"))
            .when(pl.col("_calculee").is_not_null())
            .then(pl.lit("comptes"))
            .alias("origine_reference"),
        )
        .sort("code_reference", "variable")
    )


def scores_variables(
    entrees: pl.DataFrame,
    appartenance: pl.DataFrame,
    references: pl.DataFrame,
    variables: tuple[VariableIfn, ...] = VARIABLES_IFN,
) -> pl.DataFrame:
    """Score of every (territory, IFN variable): 100 = the reference territory's value.

    One row per territory of `appartenance` and variable, even when the input is missing
    (`score` null then), so that missing variables are visible and counted.
    """
    grille = appartenance.select("code", "code_reference").join(
        _variables_frame(variables), how="cross"
    )
    v, r = pl.col("valeur"), pl.col("valeur_reference")
    return (
        grille.join(
            entrees.select("code", "variable", "valeur"), on=["code", "variable"], how="left"
        )
        .join(
            references.select("code_reference", "variable", "valeur_reference"),
            on=["code_reference", "variable"],
            how="left",
        )
        .with_columns(
            pl.when(pl.col("sens") == DIRECT)
            .then(pl.when(r > 0).then(100 * v / r))
            .otherwise(pl.when(v > 0).then(100 * r / v))
            .alias("score")
        )
        .select(
            "code",
            "code_reference",
            "variable",
            "axe",
            "sens",
            "valeur",
            "valeur_reference",
            "score",
        )
        .sort("code", "variable")
    )


def indice_fragilite(
    scores: pl.DataFrame, variables: tuple[VariableIfn, ...] = VARIABLES_IFN
) -> pl.DataFrame:
    """One row per territory: axis scores, global score, variables used and skipped.

    Axis = mean of its available variable scores (null if none); global = mean of all the
    available variable scores; `score_<variable>` keeps each variable's score.
    """
    score = pl.col("score")
    par_axe = [score.filter(pl.col("axe") == axe).mean().alias(f"score_{axe}") for axe in AXES]
    par_variable = [
        score.filter(pl.col("variable") == v.code).first().alias(f"score_{v.code}")
        for v in variables
    ]
    return (
        scores.group_by("code")
        .agg(
            pl.col("code_reference").first(),
            *par_axe,
            score.mean().alias("score_global"),
            score.count().cast(pl.Int64).alias("nb_variables_utilisees"),
            score.null_count().cast(pl.Int64).alias("nb_variables_manquantes"),
            *par_variable,
        )
        .sort("code")
    )


VARIABLES_FILOSOFI = ("taux_pauvrete_60", "revenu_median_uc")
COLONNES_FILOSOFI = ("nb_personnes_menages_fiscaux", "revenu_median_uc", "taux_pauvrete_60")
# Vintage of the index: that of its main inputs (ARCEP 2019, DEFM 2019, RP 2018).
ANNEE_IFN = 2019
NIVEAUX_FILOSOFI_INSEE = ("departement", "region")


def entrees_par_niveau(
    entrees_communes: pl.DataFrame,
    appartenances: pl.DataFrame,
    filosofi_territoires: pl.DataFrame,
) -> pl.DataFrame:
    """IFN inputs at every level (`niveau`, `code`, …): counts summed from communes.

    Filosofi's median and poverty rate cannot be summed (and most communes are secret): at the
    département and région they are INSEE's own figures (`filosofi_territoires`), at France the
    poverty rate is rebuilt exactly from the régions' rates × persons; elsewhere (EPCI, bassin
    de vie) they are left out, so the score says it used fewer variables.
    """
    niveaux = [pl.lit("commune").alias("niveau")]
    parties = [entrees_communes.with_columns(*niveaux)]
    for niveau in sorted(set(appartenances["niveau"].unique()) - {"commune"}):
        appartenance = appartenances.filter(pl.col("niveau") == niveau).select(
            pl.col("code_commune").alias("code"), pl.col("code").alias("code_parent")
        )
        agregees = agrege_entrees(entrees_communes, appartenance).filter(
            ~pl.col("variable").is_in(VARIABLES_FILOSOFI)
        )
        parties.append(agregees.with_columns(pl.lit(niveau).alias("niveau")))
    insee = filosofi_territoires.filter(pl.col("niveau").is_in(NIVEAUX_FILOSOFI_INSEE))
    personnes = pl.col("nb_personnes_menages_fiscaux").cast(pl.Float64)
    pauvrete = insee.select(
        "niveau",
        "code",
        pl.lit("taux_pauvrete_60").alias("variable"),
        pl.col("taux_pauvrete_60").alias("valeur"),
        (pl.col("taux_pauvrete_60") * personnes).alias("numerateur"),
        pl.when(pl.col("taux_pauvrete_60").is_not_null()).then(personnes).alias("denominateur"),
    )
    mediane = insee.select(
        "niveau",
        "code",
        pl.lit("revenu_median_uc").alias("variable"),
        pl.col("revenu_median_uc").alias("valeur"),
        pl.lit(None, pl.Float64).alias("numerateur"),
        pl.lit(None, pl.Float64).alias("denominateur"),
    )
    regions = pauvrete.filter(pl.col("niveau") == "region")
    france = regions.select(
        pl.lit("france").alias("niveau"),
        pl.lit("FR").alias("code"),
        pl.lit("taux_pauvrete_60").alias("variable"),
        _ratio(pl.col("numerateur").sum(), pl.col("denominateur").sum()).alias("valeur"),
        pl.col("numerateur").sum(),
        pl.col("denominateur").sum(),
    )
    colonnes = ["niveau", *ENTREES_SCHEMA]
    return pl.concat(
        [p.select(colonnes).cast(ENTREES_SCHEMA) for p in (*parties, pauvrete, mediane, france)]
    ).sort("niveau", "code", "variable")


def _scores_long(
    entrees: pl.DataFrame, appartenance: pl.DataFrame, references: pl.DataFrame, suffixe: str
) -> pl.DataFrame:
    indice = indice_fragilite(scores_variables(entrees, appartenance, references))
    colonnes = {"score_global": "global", **{f"score_{axe}": axe for axe in AXES}}
    return (
        indice.unpivot(
            index="code", on=list(colonnes), variable_name="_colonne", value_name="valeur"
        )
        .select(
            "code",
            pl.format(
                "ifn_score_{}_{}", pl.col("_colonne").replace_strict(colonnes), pl.lit(suffixe)
            ).alias("indicateur"),
            "valeur",
        )
        .vstack(
            indice.select(
                "code",
                pl.lit(f"ifn_nb_variables_{suffixe}").alias("indicateur"),
                pl.col("nb_variables_utilisees").cast(pl.Float64).alias("valeur"),
            )
        )
    )


def indicateurs_fragilite(
    entrees: pl.DataFrame, appartenances: pl.DataFrame, annee: int
) -> pl.DataFrame:
    """The IFN in the `indicateurs` layout: France as reference at every level, and the
    département as reference (La Mednum's practice) for communes.

    `entrees` from `entrees_par_niveau`. Codes: `ifn_score_global_fr`, `ifn_<axe>_fr`,
    `ifn_nb_variables_fr`, and the same with `_dep`. A territory with no variable at all gets
    null scores with `couverture` false.
    """
    reference_fr = entrees.filter(pl.col("niveau") == "france").select(
        pl.col("code").alias("code_reference"),
        "variable",
        pl.col("valeur").alias("valeur_reference"),
    )
    parties = []
    for niveau in entrees["niveau"].unique().sort():
        du_niveau = entrees.filter(pl.col("niveau") == niveau).drop("niveau")
        appartenance = (
            du_niveau.select("code").unique().with_columns(pl.lit("FR").alias("code_reference"))
        )
        parties.append(
            _scores_long(du_niveau, appartenance, reference_fr, "fr").with_columns(
                pl.lit(niveau).alias("niveau")
            )
        )
    communes = entrees.filter(pl.col("niveau") == "commune").drop("niveau")
    appartenance_dep = appartenances.filter(pl.col("niveau") == "departement").select(
        pl.col("code_commune").alias("code"), pl.col("code").alias("code_reference")
    )
    reference_dep = entrees.filter(pl.col("niveau") == "departement").select(
        pl.col("code").alias("code_reference"),
        "variable",
        pl.col("valeur").alias("valeur_reference"),
    )
    parties.append(
        _scores_long(communes, appartenance_dep, reference_dep, "dep").with_columns(
            pl.lit("commune").alias("niveau")
        )
    )
    return (
        pl.concat(parties)
        .select(
            "niveau",
            "code",
            "indicateur",
            pl.lit(annee, pl.Int32).alias("annee"),
            "valeur",
            pl.lit(None, pl.Float64).alias("ic_bas"),
            pl.lit(None, pl.Float64).alias("ic_haut"),
            pl.lit(False).alias("secret"),
            pl.col("valeur").is_not_null().alias("couverture"),
        )
        .sort("niveau", "code", "indicateur")
    )
