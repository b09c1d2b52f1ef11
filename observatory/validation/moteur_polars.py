"""The Table Schemas' suites evaluated by polars, reporting what great-expectations reports.

`expectations.valider_table` runs the suite generated from a Table Schema in great-expectations:
it imports great-expectations, copies the table to pandas and builds a metric graph: most of a
national run's checks, for tables that almost always pass (issue 18's profile).
`valider_table_polars` takes the same rules (`expectations.regles_suite`, so nothing is declared
twice), counts every rule's failing rows in one polars pass, and builds the same
`ResultatValidation`: the same expectations, in the same order, with the same parameters,
counts, examples and observed values. The test
`tests/validation/test_moteur_polars.py` runs both on tables holding one violation of each
expectation type (the published tables, the staged registries) and asserts they are equal.

great-expectations reads the table through pandas, so its semantics are pandas': a float NaN is a
missing value, an integer column with a missing value holds floats, dates read as timestamps,
and every column rule passes over missing values except `required`. The helpers below reproduce
those: `_comme_pandas` for the values, `_exemples` for how they print.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

import polars as pl

from observatory.validation.expectations import (
    COLONNE_POINT,
    NB_EXEMPLES,
    TYPES_ATTENTES,
    AttenteEchouee,
    Regle,
    ResultatValidation,
    _colonnes_calculees,
    _echecs_conditionnels,
    _json,
    ancre,
    expression_echec,
    motif_par_valeur,
    regles_suite,
)


def _type_attente(regle: Regle) -> str:
    if regle.sorte == "colonnes":
        if regle.valeur:
            return "expect_table_columns_to_match_ordered_list"
        return "expect_table_columns_to_match_set"
    return TYPES_ATTENTES[regle.sorte]


def _bornes(bas: Any, haut: Any, conversion: type) -> dict[str, Any]:
    """`min_value`/`max_value` as great-expectations keeps them (an absent bound is left out)."""
    bornes = {"min_value": bas, "max_value": haut}
    return {k: conversion(v) for k, v in bornes.items() if v is not None}


def _parametres(regle: Regle) -> dict[str, Any]:
    """The expectation's keyword arguments, as `expectations._echec` reports them."""
    match regle.sorte:
        case "colonnes" if regle.valeur:
            return {"column_list": list(regle.colonnes)}
        case "colonnes":
            return {"column_set": list(regle.colonnes), "exact_match": False}
        case "lignes":
            return _bornes(*regle.valeur, int)
        case "pattern":
            return {"regex": ancre(regle.valeur)}
        case "enum":
            return {"value_set": _json(list(regle.valeur))}
        case "minimum":  # great-expectations stores a value range's bounds as floats
            return _bornes(*regle.valeur, float)
        case "minLength":
            return _bornes(*regle.valeur, int)
        case "point":
            return {"value_set": [True]}
    return {}


def _colonne(regle: Regle) -> str | None:
    """The column the result names (the computed box test for `point`, all keys joined)."""
    if regle.sorte in {"colonnes", "lignes"}:
        return None
    if regle.sorte == "point":
        return COLONNE_POINT
    return regle.colonne


def _colonnes_lues(regle: Regle) -> tuple[str, ...]:
    return (COLONNE_POINT,) if regle.sorte == "point" else regle.colonnes


def _comme_pandas(frame: pl.DataFrame) -> pl.DataFrame:
    """A float NaN is missing in pandas, as a null is."""
    floats = [n for n, t in frame.schema.items() if t.is_float()]
    return frame.with_columns(pl.col(floats).fill_nan(None)) if floats else frame


def _echec_lignes(regle: Regle, table: pl.DataFrame) -> pl.Expr:
    """True on the rows great-expectations counts as unexpected for the rule.

    The quarantine's row rule (`expectations.expression_echec`) where both count alike; on
    its own where great-expectations counts otherwise: every copy of a duplicated value (not
    the copies after the first), keys whose parts are all missing passed over, and a pattern
    tested once per distinct value (`motif_par_valeur`).
    """
    col = pl.col(regle.colonnes[0])
    match regle.sorte:
        case "unique":
            return col.is_not_null() & col.is_duplicated()
        case "primaryKey":
            return _cles_dupliquees(table, regle.colonnes)
        case "pattern":
            return col.is_not_null() & ~motif_par_valeur(table, regle.colonnes[0], regle.valeur)
    return expression_echec(regle)


def _cles_dupliquees(table: pl.DataFrame, colonnes: tuple[str, ...]) -> pl.Expr:
    """Rows whose key is duplicated, keys with every part missing passed over.

    The keys' 64-bit hashes find the candidates, an exact comparison settles them: the whole
    key hashed in a table costs a third of the memory (1.8 M keys of `indicateurs`: 130 MB
    instead of 380 MB), and the copies of a duplicated key always share their hash.
    """
    parts = [pl.col(c) for c in colonnes]
    candidates = table.select(pl.struct(parts).hash(0).is_duplicated()).to_series()
    if not candidates.any():
        return pl.lit(False)
    dupliquees = (
        table.select(*colonnes)
        .with_row_index("__ligne")
        .filter(candidates)
        .filter(~pl.all_horizontal(p.is_null() for p in parts) & pl.struct(parts).is_duplicated())
    )
    return pl.int_range(pl.len(), dtype=pl.UInt32).is_in(dupliquees["__ligne"].implode())


def _valeur_pandas(valeur: Any, dtype: pl.DataType, avec_manquant: bool) -> Any:
    """How great-expectations prints one value of a pandas copy of the column."""
    if dtype == pl.Date or dtype == pl.Datetime:
        if valeur is None:
            return "NaT"
        if isinstance(valeur, date) and not isinstance(valeur, datetime):
            valeur = datetime.combine(valeur, time())
        return str(valeur)
    if valeur is None:
        return None
    if dtype.is_integer() and avec_manquant:  # pandas holds it in a float column
        return float(valeur)
    return _json(valeur)


def _exemples(table: pl.DataFrame, regle: Regle, echec: pl.Expr) -> list[Any]:
    colonnes = _colonnes_lues(regle)
    manquants = {c: table[c].null_count() > 0 for c in colonnes}
    lignes = table.filter(echec).head(NB_EXEMPLES).select(colonnes)
    if regle.sorte == "primaryKey":
        return [
            {c: _valeur_pandas(v, table.schema[c], manquants[c]) for c, v in ligne.items()}
            for ligne in lignes.iter_rows(named=True)
        ]
    (nom,) = colonnes
    return [_valeur_pandas(v, table.schema[nom], manquants[nom]) for v in lignes[nom]]


def _echec_table(regle: Regle, table: pl.DataFrame) -> AttenteEchouee | None:
    """The table-level expectations: columns and row count."""
    if regle.sorte == "lignes":
        bas, haut = regle.valeur
        if (bas is None or table.height >= bas) and (haut is None or table.height <= haut):
            return None
        observe: Any = table.height
    elif regle.valeur:  # the exact ordered list
        if table.columns == list(regle.colonnes):
            return None
        observe = table.columns
    else:
        if set(regle.colonnes) <= set(table.columns):
            return None
        observe = sorted(table.columns)
    return AttenteEchouee(_type_attente(regle), None, _parametres(regle), None, [], observe)


def echecs_suite(table: pl.DataFrame, suite: list[Regle]) -> tuple[AttenteEchouee, ...]:
    """The failed expectations of the suite's rules on `table` (computed columns included).

    great-expectations lists first the expectations on a column the table lacks (they fail
    without a count), then the others in the suite's order.
    """
    table = _comme_pandas(table)
    lues = [set(_colonnes_lues(r)) <= set(table.columns) for r in suite]
    # each rule's expression built once (a pattern's distinct values, a key's hashes): counted
    # for every rule in one pass, then read again for the examples of those that fail
    lignes_en_echec = {
        i: _echec_lignes(r, table).fill_null(False)
        for i, r in enumerate(suite)
        if r.par_ligne and lues[i]
    }
    comptes = (
        table.select(e.sum().alias(str(i)) for i, e in lignes_en_echec.items()).row(0)
        if lignes_en_echec
        else ()
    )
    nb_echecs = dict(zip(lignes_en_echec, comptes, strict=True))
    echecs = [
        AttenteEchouee(_type_attente(r), _colonne(r), _parametres(r), None, [])
        for i, r in enumerate(suite)
        if r.par_ligne and not lues[i]
    ]
    for i, regle in enumerate(suite):
        if not regle.par_ligne:
            echec = _echec_table(regle, table)
            if echec:
                echecs.append(echec)
        elif nb_echecs.get(i):
            echecs.append(
                AttenteEchouee(
                    _type_attente(regle),
                    _colonne(regle),
                    _parametres(regle),
                    nb_echecs[i],
                    _exemples(table, regle, lignes_en_echec[i]),
                )
            )
    return tuple(echecs)


def valider_table_polars(
    frame: pl.DataFrame,
    schema: Mapping[str, Any],
    colonnes_exactes: bool = True,
    nom: str | None = None,
) -> ResultatValidation:
    """`expectations.valider_table` (same arguments, same result) without great-expectations."""
    table = nom or schema["name"]
    suite = regles_suite(schema, colonnes_exactes, conditionnelles=False)
    nb_conditionnelles, conditionnelles = _echecs_conditionnels(frame, schema, colonnes_exactes)
    echecs = (*echecs_suite(_colonnes_calculees(frame, schema), suite), *conditionnelles)
    return ResultatValidation(
        table, not echecs, len(suite) + nb_conditionnelles, frame.height, echecs
    )
