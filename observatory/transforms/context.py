"""Territorial context of communes: study zonings (INSEE), density grid, coordinates."""

from __future__ import annotations

import polars as pl

from observatory.transforms.territories import normalise_codes_communes

CONTEXTE_COLONNES = (
    "code_bassin_de_vie",
    "nom_bassin_de_vie",
    "code_aav",
    "categorie_aav",
    "grille_densite_7",
    "grille_densite_4",
    "latitude",
    "longitude",
)
# The context carried by the commune rows of `territoires` (the bassin de vie's name is on its
# own row).
CONTEXTE_TERRITOIRES = tuple(c for c in CONTEXTE_COLONNES if c != "nom_bassin_de_vie")


def _code(column: str) -> pl.Expr:
    return normalise_codes_communes(pl.col(column))[0].alias("code_commune")


def stage_zonages(raw: pl.DataFrame) -> pl.DataFrame:
    """Bassin de vie 2022 and aire d'attraction des villes 2020 of each commune."""
    return raw.select(
        _code("DEPCOM"),
        pl.col("BV2022").alias("code_bassin_de_vie"),
        pl.col("LIB_BV2022").alias("nom_bassin_de_vie"),
        pl.col("AAV2020").alias("code_aav"),
        pl.col("CATEAAV2020").alias("categorie_aav"),
    )


def stage_grilles(raw: pl.DataFrame) -> pl.DataFrame:
    """INSEE density grid, 7 and 4 levels (1 = densest)."""
    return raw.select(
        _code("insee_com"),
        pl.col("densite_7_code").cast(pl.Int8).alias("grille_densite_7"),
        pl.col("densite_4_code").cast(pl.Int8).alias("grille_densite_4"),
    )


def build_contexte_communes(
    communes: pl.DataFrame,
    zonages: pl.DataFrame,
    grilles: pl.DataFrame,
    coordonnees: pl.DataFrame,
) -> pl.DataFrame:
    """One row per COG commune with its context; gaps stay null (and are counted by the caller)."""
    return (
        communes.select("code_commune")
        .join(zonages, on="code_commune", how="left")
        .join(grilles, on="code_commune", how="left")
        .join(
            coordonnees.select("code_commune", "latitude", "longitude"),
            on="code_commune",
            how="left",
        )
        .select("code_commune", *CONTEXTE_COLONNES)
    )
