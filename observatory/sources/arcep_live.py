"""ARCEP "Ma connexion internet" live CSV → the layout of the bundled 2019 beta file."""

from __future__ import annotations

import polars as pl

from observatory.sources.live_formats import (
    ANNEE_DONNEES,
    as_text,
    numbers,
    read_csv_text,
    require,
    to_layout,
    year_of,
)

# The columns of assets/arcep_2019/commune_debit_beta_20190930_national.parquet, in order.
ARCEP_COLUMNS: tuple[str, ...] = (
    "code_insee",
    "nom_com",
    "code_dep",
    "code_reg",
    "nbr",
    "type",
    "inel_hd",
    "elig_hd05",
    "elig_hd3",
    "elig_hd8",
    "elig_thd30",
    "elig_thd100",
    "elig_thd1g",
    "date",
)
# Cumulative thresholds of the current files (SOURCES.md §8a): premises eligible to at least
# 3, 8, 30, 100 Mbit/s and 1 Gbit/s.
CUMULES = ("elig_hd3", "elig_bhd8", "elig_thd30", "elig_thd100", "elig_thd1g")


def parse_commune_debit(payload: bytes) -> pl.DataFrame:
    """`commune_debit_filaire.csv` (`;`, one row per commune) → the bundled beta layout.

    The live file gives **cumulative** thresholds (`elig_thd30` = premises at ≥ 30 Mbit/s,
    including those at ≥ 100 Mbit/s); the beta file gave **speed classes** that add up to
    `nbr`. The parser turns thresholds into classes (`elig_thd30` = ≥ 30 − ≥ 100, `elig_thd100`
    = ≥ 100 − ≥ 1 Gbit/s, `elig_thd1g` = ≥ 1 Gbit/s; `elig_hd3` = ≥ 3 − ≥ 8, `elig_hd8` = ≥ 8
    − ≥ 30), so staging's `nb_locaux_thd_30` (sum of the three THD classes) is the live
    ≥ 30 Mbit/s count. A class that comes out negative (thresholds not cumulative after all)
    is kept negative: staging sets it aside as `nombre_negatif` rather than hide it.

    Copied: `code_insee, nom_com, code_dep, code_reg, nbr, type, inel_hd, date`; `annee_donnees`
    is the year of `date` (the edition, e.g. 2026-03-31). Null: `elig_hd05` (the 512 kbit/s
    class no longer exists). Differences: `inel_hd` counts premises below 3 Mbit/s in the live
    file (below 512 kbit/s in the beta); the live file is wired access only (`_filaire`), the
    beta counted every technology; names have damaged accents (take them from the COG).
    """
    what = "ARCEP commune_debit_filaire"
    frame = read_csv_text(payload, what)
    require(frame, ("code_insee", "nbr", "inel_hd", "date", *CUMULES), what)
    n = {c: numbers(pl.col(c)) for c in CUMULES}
    classes = {
        "elig_hd3": n["elig_hd3"] - n["elig_bhd8"],
        "elig_hd8": n["elig_bhd8"] - n["elig_thd30"],
        "elig_thd30": n["elig_thd30"] - n["elig_thd100"],
        "elig_thd100": n["elig_thd100"] - n["elig_thd1g"],
        "elig_thd1g": n["elig_thd1g"],
    }
    frame = frame.with_columns(
        *(as_text(value).alias(c) for c, value in classes.items()),
        year_of(pl.col("date")).alias(ANNEE_DONNEES),
    )
    return to_layout(frame, ARCEP_COLUMNS, extra=(ANNEE_DONNEES,))
