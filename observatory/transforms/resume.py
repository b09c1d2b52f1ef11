"""Counts that describe a frame, for the metadata an asset shows in the Dagster UI."""

from __future__ import annotations

import polars as pl


def effectifs(frame: pl.DataFrame, *colonnes: str, prefixe: str = "") -> dict[str, int]:
    """Rows by value of `colonnes` (`"<v1>:<v2>"`, a null shown as `None`), prefixed."""
    return {
        prefixe + ":".join(str(v) for v in valeurs[:-1]): int(valeurs[-1])
        for valeurs in frame.group_by(*colonnes).len().sort(*colonnes).iter_rows()
    }
