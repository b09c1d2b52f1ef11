"""ANCT's current France services list (data.gouv.fr, `;` CSV) → the bundled 2022 list layout."""

from __future__ import annotations

import polars as pl

from observatory.sources.live_formats import (
    numbers,
    read_csv_text,
    rename_present,
    require,
    to_layout,
)

# The header of assets/france_services/liste_france_services_20221201.csv, in order.
FRANCE_SERVICES_COLUMNS: tuple[str, ...] = (
    "id_fs",
    "insee_dep",
    "lib_fs",
    "adresse",
    "complement_adresse",
    "insee_com",
    "code_postal",
    "lib_com",
    "latitude",
    "longitude",
    "mail",
    "telephone",
    "h_lundi",
    "h_mardi",
    "h_mercredi",
    "h_jeudi",
    "h_vendredi",
    "h_samedi",
    "commentaire",
    "itinerance",
    "format_fs",
    "groupe",
    "labellisation",
)
# Columns of the live list that the 2022 list did not have, kept after the bundled ones
# (parse_france_services maps site_web and prise_rdv to the standard).
EXTRA_COLUMNS: tuple[str, ...] = ("type_fs", "site_web", "prise_rdv")
RENAMED = {"groupe_fs": "groupe", "labellisation_fs": "labellisation"}
REQUIRED = ("id_fs", "lib_fs", "insee_com", "code_postal", "lib_com", "adresse")


def parse_liste_france_services(payload: bytes) -> pl.DataFrame:
    """Resource 31576dff-… (`;`, UTF-8, or cp1252 if it is not) → the bundled columns.

    Renamed: `groupe_fs` → `groupe`, `labellisation_fs` → `labellisation`. Kept after them:
    `type_fs`, `site_web`, `prise_rdv`. Null: `itinerance` (the live list has no such column;
    a bus is not told apart). A `latitude`/`longitude` pair at 0 (ANCT's "unknown", filtered
    by ANCT's own map) becomes null, so the place is located by its commune instead of being
    rejected as outside France.
    """
    what = "France services (data.gouv 31576dff)"
    frame = rename_present(read_csv_text(payload, what), RENAMED)
    require(frame, REQUIRED, what)
    zero = (numbers(pl.col("latitude")) == 0) & (numbers(pl.col("longitude")) == 0)
    if {"latitude", "longitude"} <= set(frame.columns):
        frame = frame.with_columns(
            pl.when(~zero.fill_null(False)).then(pl.col(c)).alias(c)
            for c in ("latitude", "longitude")
        )
    return to_layout(frame, FRANCE_SERVICES_COLUMNS, extra=EXTRA_COLUMNS)
