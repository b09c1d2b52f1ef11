"""What a failed blocking check found, in French, from its metadata: a CLI user has no UI to
open, so `observatory run` prints the table, the columns, the masked values and their counts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

NB_CONSTATS = 5  # findings printed per failed check; the check's metadata holds the rest


def plain(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Metadata as plain values: Dagster's metadata values (`.value`) unwrapped."""
    return {k: getattr(v, "value", v) for k, v in metadata.items()}


def _json_value(metadata: Mapping[str, Any], key: str) -> object:
    value = metadata.get(key)
    return getattr(value, "value", value) if value is not None else None


def constat(table: str, metadata: Mapping[str, Any]) -> str:
    """What a failed check found, from its metadata (plain values or Dagster metadata values)."""
    summary = _json_value(metadata, "resume")
    if summary:
        return " ".join(str(summary).split())[:800]
    examples = _json_value(metadata, "exemples_masques")
    if isinstance(examples, list):  # personal data: masked values, counted per column
        counts = _json_value(metadata, "par_colonne") or []
        per_column = "; ".join(
            f"colonne {c.get('colonne')} : {c.get('len')} × {c.get('code_raison')}"
            for c in counts
            if isinstance(c, dict)
        )
        shown = ", ".join(
            f"ligne {int(e.get('ligne', 0)) + 1} colonne {e.get('colonne')} « {e.get('valeur')} »"
            for e in examples[:NB_CONSTATS]
            if isinstance(e, dict)
        )
        total = _json_value(metadata, "nb_valeurs")
        return (
            f"table {table} : {total} donnée(s) personnelle(s) trouvée(s) ({per_column}) ; "
            f"exemples masqués : {shown}"
        )
    if isinstance(examples := _json_value(metadata, "exemples"), list):
        keys = ("niveau", "code", "indicateur", "annee", "colonne", "code_raison")
        shown = ", ".join(
            " ".join(f"{k}={e[k]}" for k in keys if k in e)
            for e in examples[:NB_CONSTATS]
            if isinstance(e, dict)
        )
        total = _json_value(metadata, "nb_lignes")
        return f"table {table} : {total} ligne(s) en cause ; exemples : {shown}"
    scalars = {
        k: _json_value(metadata, k)
        for k in metadata
        if isinstance(_json_value(metadata, k), str | int | float | bool)
    }
    return f"table {table} : " + (
        ", ".join(f"{k} = {v}" for k, v in scalars.items()) or "aucun détail fourni par le contrôle"
    )


def failed_check_line(asset: str, check: str, metadata: Mapping[str, Any]) -> str:
    """`pub_lieux/sans_donnees_personnelles: contrôle bloquant en échec, rien n'est publié :
    table lieux : 2 donnée(s) personnelle(s)…` (what the check found, never a UI pointer)."""
    detail = constat(asset.removeprefix("pub_"), metadata)
    return f"{asset}/{check}: contrôle bloquant en échec, rien n'est publié : {detail}"
