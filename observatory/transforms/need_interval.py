"""What both need estimates share: a published rate's standard error, the 95 % interval from
the two variance components, and the sums of commune estimates to any level.

Illectronisme (`need`) and, broader, people en difficulté avec le numérique (`need_age`) are
both standardised estimates per commune whose rows carry their sum components: the counts, the
two estimates a point estimate averages, and `sensibilite_<band>` = ∂estimate/∂national rate.
A level is summed from those components (`agrege_estimation`, `indicateurs_besoin`), never
averaged from rates, and its interval is rebuilt from its own totals: the sampling variance is
Σ_band (Σ sensibilite)² × se² (the delta method on the national rates, the same for every
commune: their errors do not average out), the model error comes from the territory's own two
estimates and the structure's errors. See `docs/methodologie_besoin.md`.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from functools import reduce

import polars as pl

ILLECTRONISME = "illectronisme"
DIFFICULTE = "difficulte_numerique"
# The published codes of each measure, written out: the count `nb_<mesure>` and the rate
# `taux_<mesure>` (the columns of its estimate that hold them).
INDICATEURS_BESOIN = {
    ILLECTRONISME: ("nb_illectronisme", "taux_illectronisme"),
    DIFFICULTE: ("nb_difficulte_numerique", "taux_difficulte_numerique"),
}
Z_95 = 1.959963984540054

# The second estimate each point estimate averages with the age-standardised one: diploma-
# standardised for illectronisme; for the broader measure (INSEE publishes it by age only) the
# age-standardised one calibrated on INSEE's national rate.
SECONDE = {ILLECTRONISME: "diplome", DIFFICULTE: "calee"}


def erreur_type(taux: pl.Expr, arrondi: pl.Expr, effectif: pl.Expr, effet_plan: pl.Expr) -> pl.Expr:
    """Standard error of a published rate: binomial with design effect, plus rounding.

    A rate published rounded to ±`arrondi` carries a uniform rounding error of variance
    `arrondi² / 3`, on top of the survey's sampling variance `deff × p(1 − p) / n`.
    """
    return (effet_plan * taux * (1 - taux) / effectif + arrondi**2 / 3).sqrt()


def erreur_type_retenue() -> pl.Expr:
    """`_se`: the published standard error of a row of a rate table, else the assumed one."""
    return pl.coalesce(
        pl.col("erreur_type_publiee").cast(pl.Float64),
        erreur_type(
            pl.col("taux").cast(pl.Float64),
            pl.col("arrondi").cast(pl.Float64),
            pl.col("effectif_suppose").cast(pl.Float64),
            pl.col("effet_plan_suppose").cast(pl.Float64),
        ),
    ).alias("_se")


def _somme(termes: Iterable[pl.Expr]) -> pl.Expr:
    """Sum that stays null when a term is null (`sum_horizontal` would count it as 0)."""
    return reduce(operator.add, termes)


def _intervalles(frame: pl.DataFrame, mesure: str = ILLECTRONISME) -> pl.DataFrame:
    """95 % normal interval from the two variance components, within [0, population 15+]."""
    et = (pl.col("var_echantillonnage") + pl.col("var_modele")).sqrt()
    n, p15 = pl.col(f"nb_{mesure}"), pl.col("nb_15_ans_et_plus")
    return frame.with_columns(
        (n - Z_95 * et).clip(lower_bound=0).alias(f"nb_{mesure}_ic_bas"),
        pl.min_horizontal(n + Z_95 * et, p15).alias(f"nb_{mesure}_ic_haut"),
    ).with_columns(
        (n / p15).alias(f"taux_{mesure}"),
        (pl.col(f"nb_{mesure}_ic_bas") / p15).alias(f"taux_{mesure}_ic_bas"),
        (pl.col(f"nb_{mesure}_ic_haut") / p15).alias(f"taux_{mesure}_ic_haut"),
    )


def _var_echantillonnage(erreurs_types: dict[str, float]) -> pl.Expr:
    """Σ_band (∂estimate/∂rate)² × se²: the delta method on the national rates."""
    return _somme(pl.col(f"sensibilite_{g}") ** 2 * se**2 for g, se in erreurs_types.items())


def _var_modele(tau: pl.Expr, mesure: str = ILLECTRONISME) -> pl.Expr:
    """Model error of an estimate from its own totals: half the gap between its two estimates,
    and the structure's relative error `tau`."""
    age, seconde = pl.col(f"nb_{mesure}_age"), pl.col(f"nb_{mesure}_{SECONDE[mesure]}")
    return ((age - seconde) / 2) ** 2 + (tau * pl.col(f"nb_{mesure}")) ** 2


def agrege_estimation(
    communes: pl.DataFrame,
    appartenance: pl.DataFrame,
    erreurs_types: dict[str, float],
    mesure: str = ILLECTRONISME,
) -> pl.DataFrame:
    """Sum commune estimates to any level, with the interval rebuilt from the aggregate.

    `appartenance`: `code_commune` → `code`. Only the communes with an estimate are summed
    (counts and sensitivities); the sampling variance is Σ_band (Σ sensibilite)² × se², and
    the model error is recomputed from the territory's own totals — half the gap of its two
    estimates, and the structure's national bias × its total: the national rates and that bias
    are the same for every commune, so they do not average out — plus the structure's error
    commune by commune (`tau_modele`), which does. `poids_couvert` / `poids_total` (people
    aged 15+ of the communes with an estimate / of all) feed the coverage rule;
    `nb_communes_sans_estimation` counts the others (Mayotte).
    """
    sommes = (
        "nb_15_ans_et_plus",
        f"nb_{mesure}_age",
        f"nb_{mesure}_{SECONDE[mesure]}",
        f"nb_{mesure}",
        *(f"sensibilite_{g}" for g in erreurs_types),
    )
    estimee = pl.col(f"nb_{mesure}").is_not_null()
    agreges = (
        communes.join(appartenance.select("code_commune", "code"), on="code_commune")
        .group_by("code")
        .agg(
            pl.len().alias("nb_communes"),
            estimee.sum().alias("nb_communes_couvertes"),
            pl.col(f"nb_{mesure}").null_count().alias("nb_communes_sans_estimation"),
            *(pl.col(c).filter(estimee).sum() for c in sommes),
            # the structure's error commune by commune: independent between communes
            ((pl.col("tau_modele") * pl.col(f"nb_{mesure}")) ** 2)
            .filter(estimee)
            .sum()
            .alias("_var_structure"),
            pl.col("biais_structure").drop_nulls().first().fill_null(0.0).alias("_biais"),
            pl.col("poids_15_ans_et_plus").filter(estimee).sum().alias("poids_couvert"),
            pl.col("poids_15_ans_et_plus").sum().alias("poids_total"),
        )
        .with_columns(
            _var_echantillonnage(erreurs_types).alias("var_echantillonnage"),
            (
                _var_modele(pl.lit(0.0), mesure)
                + pl.col("_var_structure")
                + (pl.col("_biais") * pl.col(f"nb_{mesure}")) ** 2
            ).alias("var_modele"),
        )
        .drop("_var_structure", "_biais")
    )
    return _intervalles(agreges, mesure).sort("code")


def indicateurs_besoin(
    communes: pl.DataFrame,
    appartenances: pl.DataFrame,
    erreurs_types: dict[str, float],
    annee: int,
    mesure: str = ILLECTRONISME,
) -> pl.DataFrame:
    """`nb_<mesure>` and `taux_<mesure>` with their interval, at every level.

    Each level is summed from the commune components (`agrege_estimation`), so a higher level
    is never an average of rates; the coverage weights are people aged 15+ (the rule itself is
    `transforms.couverture.applique_regle_couverture`).
    """
    parties = []
    for niveau in sorted(appartenances["niveau"].unique()):
        appartenance = appartenances.filter(pl.col("niveau") == niveau)
        agreges = agrege_estimation(communes, appartenance, erreurs_types, mesure)
        for indicateur in INDICATEURS_BESOIN[mesure]:
            parties.append(
                agreges.select(
                    pl.lit(niveau).alias("niveau"),
                    "code",
                    pl.lit(indicateur).alias("indicateur"),
                    pl.lit(annee, pl.Int32).alias("annee"),
                    # a territory with nobody aged 15+ has no rate (0/0): null, not NaN
                    pl.col(indicateur).cast(pl.Float64).fill_nan(None).alias("valeur"),
                    pl.col(f"{indicateur}_ic_bas").cast(pl.Float64).fill_nan(None).alias("ic_bas"),
                    pl.col(f"{indicateur}_ic_haut")
                    .cast(pl.Float64)
                    .fill_nan(None)
                    .alias("ic_haut"),
                    pl.lit(False).alias("secret"),
                    "poids_couvert",
                    "poids_total",
                    "nb_communes_couvertes",
                    "nb_communes",
                )
            )
    return pl.concat(parties).sort("niveau", "code", "indicateur")
