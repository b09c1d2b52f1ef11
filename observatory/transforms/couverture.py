"""The coverage rule: one function for every indicator (need, supply, access, fragility, gap,
partners).

Every indicator model computes its value over the communes covered by all of the indicator's
sources and gives, beside it, the weight of those communes and of all the communes of the
territory. The rule turns them into `part_population_couverte` and decides, the same way for
every indicator, what is published: unknown is never 0.
"""

from __future__ import annotations

from typing import TypeVar

import polars as pl

Trame = TypeVar("Trame", pl.DataFrame, pl.LazyFrame)

# What every indicator model gives for the coverage rule: the weight (population; aged 15+ for
# need) of the communes covered by all of the indicator's sources and of all the communes, and
# the same in communes (the weight of a territory without inhabitants).
COUVERTURE_MODELE: dict[str, pl.DataType] = {
    "poids_couvert": pl.Float64(),
    "poids_total": pl.Float64(),
    "nb_communes_couvertes": pl.Int64(),
    "nb_communes": pl.Int64(),
}
# What every indicator model gives before its coverage weights (the bench's pandas copy too).
COLONNES_MODELE: tuple[str, ...] = (
    "niveau",
    "code",
    "indicateur",
    "annee",
    "valeur",
    "ic_bas",
    "ic_haut",
    "secret",
    "couverture",
)
# One coverage rule for every indicator: published from 99 % of the population covered.
PART_COUVERTE_MIN = 0.99


def part_population_couverte() -> pl.Expr:
    """Share of the territory's population (of its communes, if nobody lives there) living in
    communes covered by all of the indicator's sources."""
    return (
        pl.when(pl.col("poids_total") > 0)
        .then(pl.col("poids_couvert") / pl.col("poids_total"))
        .when(pl.col("nb_communes") > 0)
        .then(pl.col("nb_communes_couvertes") / pl.col("nb_communes"))
        .clip(0.0, 1.0)
        .alias("part_population_couverte")
    )


def applique_regle_couverture(frame: Trame) -> Trame:
    """The coverage rule, the same for every indicator (counts, rates, distances, scores).

    A model computes its value over the communes its sources cover and gives the covered and
    total weights (`COUVERTURE_MODELE`). Where the covered share reaches `PART_COUVERTE_MIN`
    the value is published (`couverture` true, the share shown); below, value and interval
    are null and `couverture` false: unknown, never 0.
    """
    colonnes = frame.collect_schema().names()  # a scan's without reading it
    manquantes = [c for c in COUVERTURE_MODELE if c not in colonnes]
    if manquantes:
        raise ValueError(f"indicator model rows without their coverage weights: {manquantes}")
    couvert = pl.col("part_population_couverte") >= PART_COUVERTE_MIN
    return (
        frame.cast(COUVERTURE_MODELE)
        .with_columns(part_population_couverte().fill_null(0.0))
        .with_columns(
            *(
                pl.when(couvert).then(pl.col(c)).alias(c)
                for c in ("valeur", "ic_bas", "ic_haut")
                if c in colonnes
            ),
            couvert.alias("couverture"),
        )
        .drop(*COUVERTURE_MODELE)
    )


def poids_couverture(
    couverte: pl.DataFrame, appartenances: pl.DataFrame, population: pl.DataFrame
) -> pl.DataFrame:
    """The coverage weights of every territory (`COUVERTURE_MODELE`) from each commune's flag
    `couverte` (`code_commune`, `couverte`; a commune not listed is not covered)."""
    return (
        appartenances.join(
            population.select("code_commune", "population"), on="code_commune", how="left"
        )
        .join(couverte.rename({"couverte": "_couverte"}), on="code_commune", how="left")
        .with_columns(
            pl.col("_couverte").fill_null(False),
            pl.col("population").cast(pl.Float64).fill_null(0.0),
        )
        .group_by("niveau", "code")
        .agg(
            pl.col("population").filter(pl.col("_couverte")).sum().alias("poids_couvert"),
            pl.col("population").sum().alias("poids_total"),
            pl.col("_couverte").sum().cast(pl.Int64).alias("nb_communes_couvertes"),
            pl.len().cast(pl.Int64).alias("nb_communes"),
        )
    )
