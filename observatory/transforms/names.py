"""Place-name normalisation for matching commune names typed by people against the COG."""

from __future__ import annotations

import re
import unicodedata

import polars as pl


def normalise_nom_colonne(nom: str) -> str:
    """A column name compared loosely: accents, case, spaces and punctuation ignored."""
    mots = re.sub(r"[\W_]+", " ", nom.casefold()).replace("œ", "oe").replace("æ", "ae")
    sans_accents = unicodedata.normalize("NFKD", mots).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", " ", sans_accents).strip()


def sans_accents(textes: pl.Expr) -> pl.Expr:
    """`Émilion` → `Emilion`, `ç` → `c`: the letters without their diacritics (NFKD, marks
    removed), as people type them in a name or an address."""
    return textes.str.normalize("NFKD").str.replace_all(r"\p{M}", "")


def normalise_nom(names: pl.Expr) -> pl.Expr:
    """`Saint-Émilion`, `ST EMILION`, `St-Émilion Cedex` → `SAINT EMILION`; `Marseille 11e` →
    `MARSEILLE` (an arrondissement municipal names its commune)."""
    return (
        sans_accents(names.str.to_uppercase().str.replace_all("Œ", "OE").str.replace_all("Æ", "AE"))
        .str.replace(r"\bCEDEX\b.*$", "")
        .str.replace_all(r"[^A-Z0-9]+", " ")
        .str.strip_chars()
        .str.replace(r"^STE ", "SAINTE ")
        .str.replace_all(r" STE ", " SAINTE ")
        .str.replace(r"^ST ", "SAINT ")
        .str.replace_all(r" ST ", " SAINT ")
        .str.replace(r"^(PARIS|MARSEILLE|LYON) \d{1,2}(E|ER|EME)?( ARRONDISSEMENT)?$", "$1")
    )
