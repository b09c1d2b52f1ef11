"""Staging of the COG (Etalab flat files): typed columns, normalised codes, scope filter."""

from __future__ import annotations

import polars as pl

from observatory.transforms.territories import ZONES_EN_PERIMETRE, normalise_codes_communes
from observatory.validation.quarantine import Check, run_checks, split_rejected


def stage_communes(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Communes of metropolitan France and the DROM; other rows quarantined with a reason.

    `raw`: the Etalab flat file as strings, prefixed by `IDENTITE_LIGNE` (`number_rows`).
    """
    code, raison = normalise_codes_communes(pl.col("code_insee"))
    frame = raw.with_columns(
        code.alias("code_commune"),
        raison.alias("_raison_code"),
        pl.col("population").cast(pl.Int64, strict=False).alias("_population"),
    )
    checks = [
        Check("code_insee", "code_commune_invalide", pl.col("_raison_code").is_not_null()),
        Check("zone", "hors_perimetre", ~pl.col("zone").is_in(ZONES_EN_PERIMETRE)),
        Check(
            "population",
            "population_invalide",
            pl.col("zone").is_in(ZONES_EN_PERIMETRE) & pl.col("_population").is_null(),
        ),
        Check(
            "code_insee",
            "code_duplique",
            pl.col("code_commune").is_not_null() & ~pl.col("code_commune").is_first_distinct(),
        ),
    ]
    quarantine = run_checks(frame, checks)
    kept = split_rejected(frame, quarantine).select(
        "code_commune",
        "nom",
        "zone",
        "code_departement",
        "code_region",
        pl.col("code_epci").replace("", None),
        pl.col("_population").alias("population"),
        pl.col("codes_postaux").str.split(";").alias("codes_postaux"),
        pl.col("anciens_codes").str.split(";").alias("anciens_codes"),
    )
    return kept, quarantine


def stage_reference(raw: pl.DataFrame, code_column: str = "code") -> pl.DataFrame:
    """A small COG reference table (EPCI, départements, régions) keyed by `code`."""
    frame = raw.rename({code_column: "code"}) if code_column != "code" else raw
    if frame["code"].is_duplicated().any():
        dupes = frame.filter(pl.col("code").is_duplicated())["code"].unique().to_list()
        raise ValueError(f"duplicate codes in COG reference: {dupes[:10]}")
    return frame


def stage_communes_deleguees(raw: pl.DataFrame) -> pl.DataFrame:
    """Communes déléguées/associées and arrondissements: a name that resolves to a commune."""
    return raw.select(
        pl.col("code_insee").alias("code"),
        "nom",
        "type",
        pl.col("commune_rattachement").alias("code_commune"),
        "code_departement",
    )


def stage_coordonnees(raw: pl.DataFrame) -> pl.DataFrame:
    """One WGS84 point per commune (La Poste's file rebased on the COG), typed: the points of
    the distance checks and of the access search."""
    return raw.select(
        pl.col("code_insee").alias("code_commune"),
        pl.col("latitude").cast(pl.Float64),
        pl.col("longitude").cast(pl.Float64),
        "coord_source",
    )
