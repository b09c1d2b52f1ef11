"""Feedback for producers: their column names and spreadsheet rows, HTML escaped, CSV cells
a spreadsheet would run as formulas neutralised."""

from __future__ import annotations

import io

import polars as pl
from polars.testing import assert_frame_equal

from observatory.partners.feedback import (
    feedback_csv,
    feedback_error_html,
    feedback_html,
    feedback_table,
    neutralise,
    write_feedback,
)
from observatory.validation.quarantine import QUARANTINE_SCHEMA

QUARANTINE = pl.DataFrame(
    [
        ("p", "f.csv", "abc", 4, "nb_autonomes", "formule_non_evaluee", "=SUM(A1:A3)", "rejet"),
        (
            "p",
            "f.csv",
            "abc",
            2,
            "nb_diagnostics",
            "nombre_invalide",
            "<b>n/a</b>",
            "valeur_ecartee",
        ),
        ("p", "f.csv", "abc", 1, "latitude", "code_inconnu", "-0,5,44,8", "valeur_corrigee"),
    ],
    schema=QUARANTINE_SCHEMA,
    orient="row",
)


def test_feedback_table_speaks_the_producers_terms() -> None:
    table = feedback_table(
        QUARANTINE, ligne_entete=2, colonnes_fichier={"nb_autonomes": "Autonomes"}
    )
    expected = pl.DataFrame(
        {
            "fichier": ["f.csv"] * 3,
            "ligne_tableur": [7, 4, 5],  # header on spreadsheet row 3: record 4 is row 7
            "enregistrement": [4, 1, 2],
            "colonne": ["Autonomes", "latitude", "nb_diagnostics"],
            "valeur": ["=SUM(A1:A3)", "-0,5,44,8", "<b>n/a</b>"],
            "probleme": [
                "la cellule contient une formule de tableur, pas sa valeur : copiez-collez les "
                "valeurs",
                "code_inconnu",
                "ce n'est pas un nombre",
            ],
            "code_raison": ["formule_non_evaluee", "code_inconnu", "nombre_invalide"],
            "consequence": [
                "ligne écartée",
                "valeur corrigée, ligne gardée",
                "valeur ignorée, ligne gardée",
            ],
        },
        schema_overrides={"ligne_tableur": pl.Int64, "enregistrement": pl.Int64},
    )
    assert_frame_equal(table, expected)


def test_csv_neutralises_formulas_and_keeps_everything_else() -> None:
    content = feedback_csv(feedback_table(QUARANTINE))
    assert content.startswith("\ufeff".encode())
    back = pl.read_csv(io.BytesIO(content), separator=";", infer_schema=False)
    assert back["valeur"].to_list() == ["'=SUM(A1:A3)", "'-0,5,44,8", "<b>n/a</b>"]
    assert back["fichier"].to_list() == ["f.csv"] * 3


def test_neutralise() -> None:
    cases = {"=1+1": "'=1+1", "+33": "'+33", "-2": "'-2", "@x": "'@x", "ok": "ok", None: None}
    assert {k: neutralise(k) for k in cases} == cases


def test_html_is_escaped_and_french(tmp_path) -> None:
    table = feedback_table(QUARANTINE)
    page = feedback_html(
        table, "<script>.csv", {"lignes_entree": 4, "lignes_gardees": 3, "lignes_rejetees": 1}
    )
    assert "<script>" not in page and "&lt;script&gt;.csv" in page
    assert "&lt;b&gt;n/a&lt;/b&gt;" in page and "<b>n/a</b>" not in page
    assert '<html lang="fr">' in page and "4 lignes lues : 3 reprises, 1 écartées" in page
    assert "&lt;" in feedback_error_html("x.csv", "<oops>")
    csv_path, html_path = write_feedback(tmp_path, "f.csv", table, {})
    assert csv_path.name == "f.csv.retour.csv" and html_path.read_text().startswith("<!DOCTYPE")
