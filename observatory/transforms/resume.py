"""Counts that describe a frame, for the metadata an asset shows in the Dagster UI."""

from __future__ import annotations

import polars as pl


def effectifs(frame: pl.DataFrame, *colonnes: str, prefixe: str = "") -> dict[str, int]:
    """Rows by value of `colonnes` (`"<v1>:<v2>"`, a null shown as `None`), prefixed."""
    return {
        prefixe + ":".join(str(v) for v in valeurs[:-1]): int(valeurs[-1])
        for valeurs in frame.group_by(*colonnes).len().sort(*colonnes).iter_rows()
    }


def lacunes(frame: pl.DataFrame, cle: str = "code_commune") -> dict[str, int]:
    """Null values of every column but the key: `sans_<colonne>`."""
    return {f"sans_{c}": frame[c].null_count() for c in frame.columns if c != cle}


def statuts(frame: pl.DataFrame, *colonnes: str) -> dict[str, int]:
    """Rows by value of each status column, as `<colonne>:<valeur>`."""
    return {k: n for c in colonnes for k, n in effectifs(frame, c, prefixe=f"{c}:").items()}


def contours(frame: pl.DataFrame, sans: list[str], hors: list[str]) -> dict[str, object]:
    """Rings and communes of the contours; the communes without a contour and the contours of
    no commune, counted and listed (cut to 50: a benchmark's synthetic communes have none)."""
    return {
        "anneaux": frame.height,
        "communes": frame["code_commune"].n_unique(),
        "nb_communes_sans_contour": len(sans),
        "communes_sans_contour": sans[:50],
        "nb_contours_hors_cog": len(hors),
        "contours_hors_cog": hors[:50],
    }


def fusion(avant: pl.DataFrame, paires: pl.DataFrame, lieux: pl.DataFrame) -> dict[str, int]:
    """Places before and after merging duplicates, pairs found, places of several sources."""
    return {
        "lieux_avant_fusion": avant.height,
        "lieux": lieux.height,
        "paires_doublons": int(paires["doublon"].sum()),
        "lieux_multi_sources": int((lieux["nb_sources"] > 1).sum()),
    }
