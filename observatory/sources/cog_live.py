"""The live COG: geo.api.gouv.fr JSON reshaped as the bundled flat files.

The offline profile lands `assets/cog_2026/*.csv` (the `@etalab/decoupage-administratif` data
flattened to CSV) and the La Poste points of `assets/laposte_2023/`; the live profile downloads
the same references from geo.api.gouv.fr (API Découpage administratif), which is built from that
package (datagouv/api-geo `build/*.js`). Rather than a second staging path, each parser gives
the JSON the bundled file's columns, in its order, as strings encoded as the raw layer reads the
bundled file (`pl.read_csv(..., infer_schema=False)`, or a parquet cast to strings), so the
same staging functions stage both, with the same checks and quarantine. Columns the API does
not serve are null (listed in each parser's docstring and in `LIVE_ABSENT_COLUMNS`).

`LIVE_PARSERS` maps each source key to its parser (`observatory.sources.readers` applies it
to a landed `.json` file).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
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
    rows = [_row(item) for item in _items(payload, "communes")]
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


def _items(payload: bytes, what: str) -> list[dict[str, Any]]:
    """The JSON array of objects geo.api.gouv.fr answers; `ValueError` for anything else."""
    try:
        items = json.loads(payload)
    except ValueError as exc:
        raise ValueError(f"geo.api.gouv.fr {what}: not valid JSON ({exc})") from exc
    if not isinstance(items, list):
        raise ValueError(
            f"geo.api.gouv.fr {what}: expected a JSON array of {what}, got "
            f"{type(items).__name__} (a GeoJSON FeatureCollection? request format=json)"
        )
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValueError(
                f"geo.api.gouv.fr {what}: item {index} is {type(item).__name__}, not an object"
            )
    return items


def _flat(
    payload: bytes, what: str, columns: tuple[str, ...], fields: Mapping[str, tuple[str, ...]]
) -> pl.DataFrame:
    """Scalar fields → the flat file's columns; a column takes the first of its fields present
    (non-empty) in an item; a column without fields is null."""
    rows = []
    for item in _items(payload, what):
        values = dict.fromkeys(columns)
        for column, keys in fields.items():
            values[column] = next(
                (t for key in keys if (t := _text(item.get(key))) is not None), None
            )
        rows.append(tuple(values[c] for c in columns))
    return pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.String), orient="row")


def _absent(columns: tuple[str, ...], fields: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    return tuple(c for c in columns if c not in fields)


# ---- EPCI -------------------------------------------------------------------------------------

# The header of assets/cog_2026/epci.csv, in order (tests check it against the file).
EPCI_CSV_COLUMNS: tuple[str, ...] = (
    "code_epci",
    "nom",
    "type",
    "mode_financement",
    "population_totale",
    "population_municipale",
    "nb_communes",
)
# CSV column ← field of an EPCI in datagouv/api-geo build/epcis.js (`financement` is the
# package's modeFinancement, `population` its populationMunicipale).
_EPCI = {
    "code_epci": ("code",),
    "nom": ("nom",),
    "type": ("type",),
    "mode_financement": ("financement",),
    "population_municipale": ("population",),
}
EPCI_FIELDS: tuple[str, ...] = tuple(k for keys in _EPCI.values() for k in keys)


def parse_geo_api_epci(payload: bytes) -> pl.DataFrame:
    """geo.api.gouv.fr `/epcis` JSON → a frame shaped like the bundled `epci.csv`.

    Filled: `code_epci` (code), `nom`, `type` (CC, CA, CU, METRO, MET69), `mode_financement`
    (financement: FPU, FA), `population_municipale` (population, the integer as text).
    Always null, the API has no such field: `population_totale`, `nb_communes` (staging and
    the territories read only `code_epci` and `nom`; populations of higher levels are sums
    over communes). A missing or empty value is null, as `pl.read_csv` reads the CSV.
    """
    return _flat(payload, "epcis", EPCI_CSV_COLUMNS, _EPCI)


# ---- Départements and régions -----------------------------------------------------------------

DEPARTEMENTS_CSV_COLUMNS: tuple[str, ...] = (
    "code",
    "nom",
    "code_region",
    "chef_lieu",
    "zone",
    "type_liaison",
)
_DEPARTEMENTS = {
    "code": ("code",),
    "nom": ("nom",),
    "code_region": ("codeRegion",),
    "chef_lieu": ("chefLieu",),
    "zone": ("zone",),
}
DEPARTEMENTS_FIELDS: tuple[str, ...] = tuple(k for keys in _DEPARTEMENTS.values() for k in keys)


def parse_geo_api_departements(payload: bytes) -> pl.DataFrame:
    """geo.api.gouv.fr `/departements` JSON → a frame shaped like the bundled `departements.csv`.

    Filled: `code`, `nom`, `code_region` (codeRegion), `chef_lieu` (chefLieu), `zone`.
    Always null, the API has no such field (datagouv/api-geo build/departements.js):
    `type_liaison` (the article of the name; nothing reads it).
    """
    return _flat(payload, "departements", DEPARTEMENTS_CSV_COLUMNS, _DEPARTEMENTS)


REGIONS_CSV_COLUMNS: tuple[str, ...] = ("code", "nom", "chef_lieu", "zone", "type_liaison")
_REGIONS = {
    "code": ("code",),
    "nom": ("nom",),
    "chef_lieu": ("chefLieu",),
    "zone": ("zone",),
}
REGIONS_FIELDS: tuple[str, ...] = tuple(k for keys in _REGIONS.values() for k in keys)


def parse_geo_api_regions(payload: bytes) -> pl.DataFrame:
    """geo.api.gouv.fr `/regions` JSON → a frame shaped like the bundled `regions.csv`.

    Filled: `code`, `nom`, `chef_lieu` (chefLieu), `zone`. Always null, the API has no such
    field (datagouv/api-geo build/regions.js): `type_liaison` (nothing reads it).
    """
    return _flat(payload, "regions", REGIONS_CSV_COLUMNS, _REGIONS)


# ---- Communes déléguées, associées and arrondissements municipaux ----------------------------

COMMUNES_DELEGUEES_CSV_COLUMNS: tuple[str, ...] = (
    "code_insee",
    "nom",
    "type",
    "commune_rattachement",
    "code_departement",
    "code_region",
    "code_arrondissement",
)
# The commune a row belongs to: `chefLieu` on /communes_associees_deleguees,
# `codeParent` on /communes?type=arrondissement-municipal (datagouv/api-geo
# build/communes-associees-deleguees.js and build/communes.js).
_COMMUNES_DELEGUEES = {
    "code_insee": ("code",),
    "nom": ("nom",),
    "type": ("type",),
    "commune_rattachement": ("chefLieu", "codeParent"),
    "code_departement": ("codeDepartement",),
    "code_region": ("codeRegion",),
}
# What each of the two URLs must request.
COMMUNES_DELEGUEES_FIELDS: tuple[str, ...] = (
    "code",
    "nom",
    "type",
    "chefLieu",
    "codeDepartement",
    "codeRegion",
)
ARRONDISSEMENTS_FIELDS: tuple[str, ...] = (
    "code",
    "nom",
    "type",
    "codeParent",
    "codeDepartement",
    "codeRegion",
)


def parse_geo_api_communes_deleguees(payload: bytes) -> pl.DataFrame:
    """geo.api.gouv.fr communes déléguées/associées or arrondissements municipaux JSON → a
    frame shaped like the bundled `communes_deleguees_associees_arrondissements.csv`.

    The source has two files, parsed alike: `/communes_associees_deleguees` (types
    commune-deleguee and commune-associee; the commune they belong to is `chefLieu`) and
    `/communes?type=arrondissement-municipal` (the commune is `codeParent`: 13055, 69123,
    75056). `/communes` itself holds no communes déléguées or associées.

    Filled: `code_insee` (code), `nom`, `type`, `commune_rattachement` (chefLieu, else
    codeParent), `code_departement` (codeDepartement), `code_region` (codeRegion). Always
    null, the API has no such field: `code_arrondissement` (the arrondissement
    départemental; staging does not read it).
    """
    return _flat(
        payload,
        "communes deleguees/associees",
        COMMUNES_DELEGUEES_CSV_COLUMNS,
        _COMMUNES_DELEGUEES,
    )


# ---- The point of each commune ----------------------------------------------------------------

# The columns of assets/laposte_2023/communes_coordonnees_cog2026_national.parquet, in order.
CENTRES_COLUMNS: tuple[str, ...] = (
    "code_insee",
    "nom",
    "code_departement",
    "zone",
    "latitude",
    "longitude",
    "coord_source",
    "code_insee_source",
)
CENTRES_FIELDS: tuple[str, ...] = ("code", "nom", "codeDepartement", "zone", "centre")
CENTRE_SOURCE = "geo_api_centre"
NO_POINT_SOURCE = "absent"  # as in the bundled file, for a commune without a point


def parse_geo_api_centres(payload: bytes) -> pl.DataFrame:
    """geo.api.gouv.fr `/communes` JSON with `centre` → a frame shaped like the bundled La Poste
    points (`communes_coordonnees_cog2026_national.parquet`, read as strings).

    `centre` is a GeoJSON Point `{"type": "Point", "coordinates": [lon, lat]}`: `longitude`
    is `coordinates[0]`, `latitude` `coordinates[1]`; both are strings spelt as the raw layer
    spells a parquet Float64 cast to string (`46.1537`, `2.0`). `code_insee` (code), `nom`,
    `code_departement` (codeDepartement), `zone` come from the JSON; `coord_source` is
    `geo_api_centre` and `code_insee_source` the commune's own code. A commune without
    `centre` (no contour in the API) gets null coordinates, `coord_source` `absent` and a
    null `code_insee_source`, as in the bundled file. Nothing is always null.

    Not La Poste's point: the API's centre is a point on the surface of the commune's contour,
    rounded to 4 decimals. A `centre` that is not a Point of two numbers raises `ValueError`
    (the API changed its shape: better to stop than to land wrong points).
    """
    rows = []
    for index, item in enumerate(_items(payload, "communes")):
        point = _lon_lat(item.get("centre"), index)
        code = _text(item.get("code"))
        rows.append(
            (
                code,
                _text(item.get("nom")),
                _text(item.get("codeDepartement")),
                _text(item.get("zone")),
                None if point is None else point[1],
                None if point is None else point[0],
                NO_POINT_SOURCE if point is None else CENTRE_SOURCE,
                None if point is None else code,
            )
        )
    schema = dict.fromkeys(CENTRES_COLUMNS, pl.String)
    schema["latitude"] = schema["longitude"] = pl.Float64
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    return frame.with_columns(pl.col("latitude", "longitude").cast(pl.String))


def _lon_lat(centre: Any, index: int) -> tuple[float, float] | None:
    if centre is None:
        return None
    coordinates = centre.get("coordinates") if isinstance(centre, dict) else None
    if (
        not isinstance(centre, dict)
        or centre.get("type") != "Point"
        or not isinstance(coordinates, list)
        or len(coordinates) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in coordinates)
    ):
        raise ValueError(
            f"geo.api.gouv.fr communes: item {index} has a centre that is not a GeoJSON Point "
            f"[lon, lat]: {str(centre)[:80]}"
        )
    return float(coordinates[0]), float(coordinates[1])


# ---- By source ----------------------------------------------------------------------------------

LIVE_PARSERS: dict[str, Callable[[bytes], pl.DataFrame]] = {
    "cog__communes": parse_geo_api_communes,
    "cog__epci": parse_geo_api_epci,
    "cog__departements": parse_geo_api_departements,
    "cog__regions": parse_geo_api_regions,
    "cog__communes_deleguees": parse_geo_api_communes_deleguees,
    "laposte__communes_coordonnees": parse_geo_api_centres,
}

# Columns of each bundled file that the live JSON cannot fill: always null.
LIVE_ABSENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "cog__communes": COLUMNS_ABSENT_FROM_GEO_API,
    "cog__epci": _absent(EPCI_CSV_COLUMNS, _EPCI),
    "cog__departements": _absent(DEPARTEMENTS_CSV_COLUMNS, _DEPARTEMENTS),
    "cog__regions": _absent(REGIONS_CSV_COLUMNS, _REGIONS),
    "cog__communes_deleguees": _absent(COMMUNES_DELEGUEES_CSV_COLUMNS, _COMMUNES_DELEGUEES),
    "laposte__communes_coordonnees": (),
}
