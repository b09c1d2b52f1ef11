"""Quarantine: rows (or values) set aside with a reason code, and the accounting that proves it.

`action` says what happened to the row: `rejet` (the row is not kept), `valeur_ecartee` (the
row is kept, that value was set to null) or `valeur_corrigee` (the row is kept, that value was
replaced by a documented fallback). Rows in = rows kept + rows with a `rejet`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "fichier": pl.String(),
    "sha256": pl.String(),
    "ligne": pl.Int64(),
    "colonne": pl.String(),
    "code_raison": pl.String(),
    "valeur_brute": pl.String(),
    "action": pl.String(),
}
REJET = "rejet"
VALEUR_ECARTEE = "valeur_ecartee"
VALEUR_CORRIGEE = "valeur_corrigee"
ROW = "ligne"
# Every staged row carries where it came from, so a quarantine entry names file and row.
IDENTITE_LIGNE = ("jeu_de_donnees", "fichier_origine", "sha256_origine", ROW)
_ROW_KEY = ["fichier_origine", ROW]


class AccountingError(RuntimeError):
    """Rows in != rows kept + rows rejected: a row was lost or duplicated."""


@dataclass(frozen=True)
class Check:
    """A row-level rule: rows where `failed` is true get `code_raison` on `colonne`."""

    colonne: str
    code_raison: str
    failed: pl.Expr
    action: str = REJET
    valeur: pl.Expr | None = None


def empty_quarantine() -> pl.DataFrame:
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)


def number_rows(raw: pl.DataFrame, jeu_de_donnees: str, fichier: str, sha256: str) -> pl.DataFrame:
    """Prefix a raw frame with its identity columns (`ligne` = 1-based record number)."""
    return (
        raw.with_row_index(ROW, offset=1)
        .with_columns(
            pl.col(ROW).cast(pl.Int64),
            pl.lit(jeu_de_donnees).alias("jeu_de_donnees"),
            pl.lit(fichier).alias("fichier_origine"),
            pl.lit(sha256).alias("sha256_origine"),
        )
        .select(*IDENTITE_LIGNE, pl.exclude(IDENTITE_LIGNE))
    )


def run_checks(frame: pl.DataFrame, checks: Iterable[Check]) -> pl.DataFrame:
    """Quarantine entries of every failing (row, check); `frame` carries `IDENTITE_LIGNE`."""
    parts = [
        frame.filter(check.failed.fill_null(False)).select(
            pl.col("jeu_de_donnees").alias("source"),
            pl.col("fichier_origine").alias("fichier"),
            pl.col("sha256_origine").alias("sha256"),
            pl.col(ROW).cast(pl.Int64),
            pl.lit(check.colonne).alias("colonne"),
            pl.lit(check.code_raison).alias("code_raison"),
            (check.valeur if check.valeur is not None else pl.col(check.colonne))
            .cast(pl.String)
            .alias("valeur_brute"),
            pl.lit(check.action).alias("action"),
        )
        for check in checks
    ]
    return pl.concat([empty_quarantine(), *parts], how="vertical_relaxed")


def _rejected(quarantine: pl.DataFrame) -> pl.DataFrame:
    return (
        quarantine.filter(pl.col("action") == REJET)
        .select(pl.col("fichier").alias("fichier_origine"), ROW)
        .unique()
    )


def split_rejected(frame: pl.DataFrame, quarantine: pl.DataFrame) -> pl.DataFrame:
    """The rows of `frame` with no `rejet` entry."""
    return frame.join(_rejected(quarantine), on=_ROW_KEY, how="anti", nulls_equal=True)


def account(rows_in: int, kept: pl.DataFrame | int, quarantine: pl.DataFrame) -> dict[str, int]:
    """Prove rows in = kept + rejected, and count entries by reason for the run's metadata.

    `kept` is the kept frame, or the number of input rows it holds when it aggregates them.
    """
    rejected = _rejected(quarantine).height
    n_kept = kept if isinstance(kept, int) else kept.height
    if rows_in != n_kept + rejected:
        raise AccountingError(f"rows in {rows_in} != kept {n_kept} + rejected {rejected}")
    by_reason = quarantine.group_by("action", "code_raison").len().sort("action", "code_raison")
    counts = {"lignes_entree": rows_in, "lignes_gardees": n_kept, "lignes_rejetees": rejected}
    for action, raison, n in by_reason.iter_rows():
        counts[f"{action}:{raison}"] = n
    return counts
