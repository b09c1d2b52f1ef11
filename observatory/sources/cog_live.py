"""The live COG: geo.api.gouv.fr communes JSON reshaped as the bundled Etalab flat file.

The offline profile lands `assets/cog_2026/communes.csv` (the `@etalab/decoupage-administratif`
data flattened to CSV); the live profile downloads the same data from geo.api.gouv.fr, which
is built from that package (datagouv/api-geo `build/communes.js`). Rather than a second staging
path, `parse_geo_api_communes` gives the JSON the CSV's columns and string encoding, so
`observatory.transforms.cog.stage_communes` stages both, with the same checks and quarantine.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl

# The header of assets/cog_2026/communes.csv, in order (tests check it against the file).
COMMUNES_CSV_COLUMNS: tuple[str, ...] = (
    "code_insee",
    "nom",
    "zone",
    "code_departement",
    "nom_departement",
    "code_region",
    "nom_region",
    "code_arrondissement",
    "siren_commune",
    "code_epci",
    "nom_epci",
    "type_epci",
    "mode_financement_epci",
    "code_ept",
    "nom_ept",
    "population",
    "codes_postaux",
    "rang_chef_lieu",
    "type_liaison",
    "anciens_codes",
)

# CSV column ← geo.api.gouv.fr field. `departement`, `region` and `epci` are objects
# `{code, nom}` that the API adds when asked for them in `fields`.
_SCALARS = {
    "code_insee": "code",
    "nom": "nom",
    "zone": "zone",
    "code_departement": "codeDepartement",
    "code_region": "codeRegion",
    "siren_commune": "siren",
    "code_epci": "codeEpci",
    "population": "population",
}
_NAMES = {"nom_departement": "departement", "nom_region": "region", "nom_epci": "epci"}
_LISTS = {"codes_postaux": "codesPostaux", "anciens_codes": "anciensCodes"}

# Every field the parser reads: the live URL must request all of them in `fields=`.
GEO_API_FIELDS: tuple[str, ...] = (*_SCALARS.values(), *_NAMES.values(), *_LISTS.values())

# Columns of the flat file that geo.api.gouv.fr does not serve for a commune: always null.
COLUMNS_ABSENT_FROM_GEO_API: tuple[str, ...] = tuple(
    c for c in COMMUNES_CSV_COLUMNS if c not in {*_SCALARS, *_NAMES, *_LISTS}
)


def parse_geo_api_communes(payload: bytes) -> pl.DataFrame:
    """geo.api.gouv.fr `/communes` JSON → a frame shaped like the bundled `communes.csv`.

    Same 20 columns in the same order, every value a string, encoded as `pl.read_csv(...,
    infer_schema=False)` reads the CSV: a missing value, an empty string or an empty list is
    null; `population` is the integer as text; `codes_postaux` and `anciens_codes` are
    `;`-joined in the API's order.

    Filled from the JSON: `code_insee` (code), `nom`, `zone`, `code_departement`,
    `nom_departement` (departement.nom), `code_region`, `nom_region` (region.nom),
    `siren_commune` (siren), `code_epci` (codeEpci), `nom_epci` (epci.nom), `population`,
    `codes_postaux` (codesPostaux), `anciens_codes` (anciensCodes) — each only if requested in
    the URL's `fields`. Always null, because the API has no such field for a commune:
    `code_arrondissement`, `type_epci`, `mode_financement_epci`, `code_ept`, `nom_ept`,
    `rang_chef_lieu`, `type_liaison` (staging reads none of them).

    Known difference with the flat file: the API sorts `codesPostaux` (the flat file keeps the
    source order; one commune of 2026 differs, the staged list then has another order).
    Rows are not checked here: a bad row reaches staging and is quarantined with a reason, as
    from the CSV. Only a payload that is not a JSON array of objects raises `ValueError`.
    """
    try:
        items = json.loads(payload)
    except ValueError as exc:
        raise ValueError(f"geo.api.gouv.fr communes: not valid JSON ({exc})") from exc
    if not isinstance(items, list):
        raise ValueError(
            f"geo.api.gouv.fr communes: expected a JSON array of communes, got "
            f"{type(items).__name__} (a GeoJSON FeatureCollection? request format=json)"
        )
    rows = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValueError(
                f"geo.api.gouv.fr communes: item {index} is {type(item).__name__}, not an object"
            )
        rows.append(_row(item))
    schema = dict.fromkeys(COMMUNES_CSV_COLUMNS, pl.String)
    return pl.DataFrame(rows, schema=schema, orient="row")


def _row(item: dict[str, Any]) -> tuple[str | None, ...]:
    values: dict[str, str | None] = dict.fromkeys(COMMUNES_CSV_COLUMNS)
    for column, key in _SCALARS.items():
        values[column] = _text(item.get(key))
    for column, key in _NAMES.items():
        ref = item.get(key)
        values[column] = _text(ref.get("nom")) if isinstance(ref, dict) else None
    for column, key in _LISTS.items():
        listed = item.get(key)
        if isinstance(listed, list):
            values[column] = _text(";".join(t for v in listed if (t := _text(v)) is not None))
        else:
            values[column] = _text(listed)
    return tuple(values[c] for c in COMMUNES_CSV_COLUMNS)


def _text(value: Any) -> str | None:
    """A JSON value as the CSV spells it; empty means null, as `pl.read_csv` reads it."""
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return str(value).lower()
    text = str(value)
    return text or None
