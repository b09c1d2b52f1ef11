"""DARES / France Travail communal job seekers (Opendatasoft export) → the bundled DEFM layout."""

from __future__ import annotations

import polars as pl

from observatory.sources.live_formats import (
    ANNEE_DONNEES,
    read_csv_text,
    rename_present,
    require,
    to_layout,
    year_of,
)

# The columns of assets/pole_emploi_2019/defm_2019_communes.csv that staging reads.
DEFM_COLUMNS: tuple[str, ...] = ("CODGEO", "ABC", "ABCDE", "ABC_RSA")
# Labelled export (`use_labels=true`) → technical names (SOURCES.md §10).
LABELS: dict[str, str] = {
    "Date": "date",
    "Code commune": "code_commune",
    "Type de données": "type_de_donnees",
    "Catégorie": "categorie",
    "Sexe": "sexe",
    "Tranche d'âge": "tranche_d_age",
    "Nombre de demandeurs d'emploi": "nombre_de_demandeurs_d_emploi",
}
TECHNICAL = ("date", "code_commune", "categorie", "sexe", "tranche_d_age")


def parse_defm_communales(payload: bytes) -> pl.DataFrame:
    """`dares_defm_communales-brutes` CSV (long: commune × sexe × âge × quarter) → bundled layout.

    Keeps `Catégorie` ABC, `Sexe` Total, `Tranche d'âge` Total and the latest fourth quarter
    (`YYYY-T4`, the bundled file is a 31 December count; the latest quarter if no T4 exists);
    `annee_donnees` is its year. Filled: `CODGEO` (code commune), `ABC` (nombre de demandeurs
    d'emploi). Null: `ABCDE` (categories D, E) and `ABC_RSA` (RSA recipients), not in this
    dataset. Masked small values stay null. Accepts the labelled and the technical headers.
    Series break from 2025 (automatic registration of RSA recipients): not comparable.
    """
    what = "DARES dares_defm_communales-brutes"
    frame = rename_present(read_csv_text(payload, what), LABELS)
    require(frame, (*TECHNICAL, "nombre_de_demandeurs_d_emploi"), what)
    frame = frame.with_columns(pl.col(c).str.strip_chars() for c in TECHNICAL).filter(
        pl.col("categorie") == "ABC", pl.col("sexe") == "Total", pl.col("tranche_d_age") == "Total"
    )
    t4 = frame.filter(pl.col("date").str.ends_with("T4"))
    pool = t4 if t4.height else frame
    latest = pool.filter(pl.col("date") == pl.col("date").max()).select(
        pl.col("code_commune").alias("CODGEO"),
        pl.col("nombre_de_demandeurs_d_emploi").alias("ABC"),
        year_of(pl.col("date")).alias(ANNEE_DONNEES),
    )
    return to_layout(latest, DEFM_COLUMNS, extra=(ANNEE_DONNEES,))
