"""CNAF open data (data.caf.fr, Opendatasoft export) → the layout of the bundled CNAF file."""

from __future__ import annotations

import polars as pl

from observatory.sources.live_formats import (
    ANNEE_DONNEES,
    read_csv_text,
    require,
    to_layout,
    year_of,
)

# The columns of assets/cnaf_2020/cnaf_demo_2020_v1_communes.csv that staging reads.
CAF_COLUMNS: tuple[str, ...] = ("CODGEO", "A", "PERCOU")
S_BEN_COM_F = ("dtreffre", "numcomdo", "indfoy_ndur", "indnbp_ndur")


def parse_s_ben_com_f(payload: bytes) -> pl.DataFrame:
    """`s_ben_com_f` CSV (`;`, every reference date since 2020) → the bundled communes layout.

    Keeps the latest `dtreffre` (December of the latest year; → `annee_donnees`). Filled:
    `CODGEO` (numcomdo: Paris, Lyon and Marseille by arrondissement, which rebasing sums into
    their commune), `A` (indfoy_ndur, foyers allocataires), `PERCOU` (indnbp_ndur, personnes
    couvertes). Counts are rounded to 5 by CNAF. Unlike the bundled 2020 file, every commune
    with allocataires is there, and no groups of communes.
    """
    what = "CAF s_ben_com_f"
    frame = read_csv_text(payload, what)
    require(frame, S_BEN_COM_F, what)
    frame = frame.with_columns(pl.col("dtreffre").str.strip_chars())
    latest = frame.filter(pl.col("dtreffre") == pl.col("dtreffre").max()).select(
        pl.col("numcomdo").str.strip_chars().alias("CODGEO"),
        pl.col("indfoy_ndur").alias("A"),
        pl.col("indnbp_ndur").alias("PERCOU"),
        year_of(pl.col("dtreffre")).alias(ANNEE_DONNEES),
    )
    return to_layout(latest, CAF_COLUMNS, extra=(ANNEE_DONNEES,))


# The live RSA layout: by commune, not by IRIS like the bundled file (`stage_caf_rsa_communes`).
RSA_COLUMNS: tuple[str, ...] = ("CODE_COMMUNE", "ARSAS")


def parse_s_ben_com_f_rsa(payload: bytes) -> pl.DataFrame:
    """The same `s_ben_com_f` export → RSA foyers by commune (`indfoy_rsa` → `ARSAS`).

    No IRIS-level RSA file is published live (SOURCES.md §9): the live layout is by commune,
    `CODE_COMMUNE` (numcomdo, PLM by arrondissement) instead of the bundled `CODE_IRIS`, and
    the staging reads it without the IRIS table. Latest `dtreffre` only (→ `annee_donnees`);
    an empty `indfoy_rsa` (secret, or no foyer) stays null. Counts rounded to 5 by CNAF.
    """
    what = "CAF s_ben_com_f (RSA)"
    frame = read_csv_text(payload, what)
    require(frame, ("dtreffre", "numcomdo", "indfoy_rsa"), what)
    frame = frame.with_columns(pl.col("dtreffre").str.strip_chars())
    latest = frame.filter(pl.col("dtreffre") == pl.col("dtreffre").max()).select(
        pl.col("numcomdo").str.strip_chars().alias("CODE_COMMUNE"),
        pl.col("indfoy_rsa").str.strip_chars().replace("", None).alias("ARSAS"),
        year_of(pl.col("dtreffre")).alias(ANNEE_DONNEES),
    )
    return to_layout(latest, RSA_COLUMNS, extra=(ANNEE_DONNEES,))
