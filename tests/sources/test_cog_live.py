"""The live COG (geo.api.gouv.fr JSON) stages exactly like the bundled Etalab CSV.

Uses the RECORDED geo.api.gouv.fr responses tests/fixtures/http/geo_api_*_excerpt.json (built
from real rows of assets/cog_2026/*.csv and assets/laposte_2023/*.parquet in the API's shape —
see the fixtures README), and the real bundled files; no network. Also checks the table of
live URLs (observatory/sources/live.py) for what the code relies on.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import polars as pl
import pytest
import responses
from polars.testing import assert_frame_equal

from observatory.settings import PROJECT_ROOT
from observatory.sources.catalogue import AIDANTS_CONNECT, SOURCES
from observatory.sources.cog_live import (
    ARRONDISSEMENTS_FIELDS,
    CENTRES_COLUMNS,
    CENTRES_FIELDS,
    COLUMNS_ABSENT_FROM_GEO_API,
    COMMUNES_CSV_COLUMNS,
    COMMUNES_DELEGUEES_CSV_COLUMNS,
    COMMUNES_DELEGUEES_FIELDS,
    DEPARTEMENTS_CSV_COLUMNS,
    DEPARTEMENTS_FIELDS,
    EPCI_CSV_COLUMNS,
    EPCI_FIELDS,
    GEO_API_FIELDS,
    LIVE_ABSENT_COLUMNS,
    LIVE_PARSERS,
    REGIONS_CSV_COLUMNS,
    REGIONS_FIELDS,
    parse_geo_api_centres,
    parse_geo_api_communes,
    parse_geo_api_communes_deleguees,
    parse_geo_api_epci,
)
from observatory.sources.http import EXPECTS
from observatory.sources.live import (
    EVIDENCE_LABELS,
    LIVE_URLS,
    SANS_FICHIER_LIVE,
    cartographie_export_url,
    fetch_live_file,
    live_source,
)
from observatory.transforms.cog import stage_communes, stage_communes_deleguees, stage_reference
from observatory.validation.quarantine import number_rows

COMMUNES_CSV = PROJECT_ROOT / "assets/cog_2026/communes.csv"
RECORDED = PROJECT_ROOT / "tests/fixtures/http/geo_api_communes_excerpt.json"
EXCERPT = ["01001", "2A004", "97411"]


def bundled_csv() -> pl.DataFrame:
    """The flat file as the raw layer reads it: every value a string."""
    return pl.read_csv(COMMUNES_CSV, infer_schema=False, encoding="utf8")


def staged(raw: pl.DataFrame, fichier: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    return stage_communes(number_rows(raw, "cog__communes", fichier, "sha-test"))


def as_geo_api(row: dict[str, str | None]) -> dict[str, object]:
    """A flat-file row as geo.api.gouv.fr serves it (datagouv/api-geo build/communes.js):
    absent values are absent keys, lists are lists (`codesPostaux` sorted), population an int.
    """
    item: dict[str, object] = {"code": row["code_insee"], "nom": row["nom"], "zone": row["zone"]}
    item["codeDepartement"] = row["code_departement"]
    item["codeRegion"] = row["code_region"]
    if row["siren_commune"]:
        item["siren"] = row["siren_commune"]
    if row["code_epci"]:
        item["codeEpci"] = row["code_epci"]
        item["epci"] = {"code": row["code_epci"], "nom": row["nom_epci"]}
    if row["population"]:
        item["population"] = int(row["population"])
    item["codesPostaux"] = sorted(row["codes_postaux"].split(";")) if row["codes_postaux"] else []
    item["anciensCodes"] = row["anciens_codes"].split(";") if row["anciens_codes"] else []
    item["departement"] = {"code": row["code_departement"], "nom": row["nom_departement"]}
    item["region"] = {"code": row["code_region"], "nom": row["nom_region"]}
    return item


def test_columns_are_those_of_the_bundled_csv() -> None:
    header = COMMUNES_CSV.read_text(encoding="utf-8").partition("\n")[0].split(",")
    assert tuple(header) == COMMUNES_CSV_COLUMNS
    assert set(COLUMNS_ABSENT_FROM_GEO_API) == {
        "code_arrondissement",
        "type_epci",
        "mode_financement_epci",
        "code_ept",
        "nom_ept",
        "rang_chef_lieu",
        "type_liaison",
    }


@pytest.mark.real_data
def test_recorded_response_parses_to_the_csv_rows() -> None:
    parsed = parse_geo_api_communes(RECORDED.read_bytes())
    assert parsed.columns == list(COMMUNES_CSV_COLUMNS)
    assert set(parsed.dtypes) == {pl.String}
    expected = bundled_csv().filter(pl.col("code_insee").is_in(EXCERPT)).sort("code_insee")
    filled = [c for c in COMMUNES_CSV_COLUMNS if c not in COLUMNS_ABSENT_FROM_GEO_API]
    assert_frame_equal(parsed.select(filled), expected.select(filled))
    absent = parsed.select(COLUMNS_ABSENT_FROM_GEO_API).null_count().row(0)
    assert absent == (3,) * len(COLUMNS_ABSENT_FROM_GEO_API)
    assert parsed.filter(pl.col("code_insee") == "2A004")["anciens_codes"].item() == "20004"
    assert parsed.filter(pl.col("code_insee") == "01001")["anciens_codes"].item() is None


@pytest.mark.real_data
def test_recorded_response_stages_like_the_bundled_csv() -> None:
    live_kept, live_quarantine = staged(
        parse_geo_api_communes(RECORDED.read_bytes()), "communes.json"
    )
    csv_rows = bundled_csv().filter(pl.col("code_insee").is_in(EXCERPT)).sort("code_insee")
    csv_kept, csv_quarantine = staged(csv_rows, "communes.csv")
    assert live_kept.height == 3
    assert live_quarantine.is_empty() and csv_quarantine.is_empty()
    assert_frame_equal(live_kept, csv_kept)
    ajaccio = live_kept.filter(pl.col("code_commune") == "2A004").row(0, named=True)
    assert ajaccio["codes_postaux"] == ["20000", "20090", "20167"]
    assert ajaccio["population"] == 76320
    assert ajaccio["code_epci"] == "242010056"


@pytest.mark.real_data
def test_every_bundled_commune_survives_the_api_shape() -> None:
    """All 34 969 real rows in the API's JSON shape (missing keys, empty lists, COM communes)
    stage and quarantine as the CSV does; the one known difference is the order of Paris'
    postal codes, which the API sorts."""
    csv = bundled_csv()
    payload = json.dumps([as_geo_api(row) for row in csv.iter_rows(named=True)]).encode()
    live_kept, live_quarantine = staged(parse_geo_api_communes(payload), "communes.json")
    csv_kept, csv_quarantine = staged(csv, "communes.csv")
    assert live_kept.height == csv_kept.height == 34875
    assert_frame_equal(
        live_quarantine.drop("fichier"), csv_quarantine.drop("fichier")
    )  # the 94 overseas collectivities, hors_perimetre
    differs = live_kept.join(csv_kept, on="code_commune", suffix="_csv").filter(
        pl.col("codes_postaux") != pl.col("codes_postaux_csv")
    )
    assert differs["code_commune"].to_list() == ["75056"]
    assert differs["codes_postaux"].list.sort().equals(differs["codes_postaux_csv"].list.sort())
    assert_frame_equal(live_kept.drop("codes_postaux"), csv_kept.drop("codes_postaux"))


def test_missing_values_are_null_as_in_the_csv() -> None:
    """L'Île-d'Yeu has no EPCI (and here no anciensCodes key); the TAAF district has no
    population nor postal code."""
    payload = json.dumps(
        [
            {"code": "85113", "nom": "L'Île-d'Yeu", "zone": "metro", "codeDepartement": "85",
             "codeRegion": "52", "siren": "218501138", "population": 4883,
             "codesPostaux": ["85350"]},
            {"code": "98411", "nom": "Îles Saint-Paul et Nouvelle-Amsterdam", "zone": "com",
             "codeDepartement": "984", "codeRegion": "984", "codesPostaux": [],
             "anciensCodes": [], "codeEpci": ""},
        ]
    ).encode()  # fmt: skip
    parsed = parse_geo_api_communes(payload)
    yeu, taaf = parsed.iter_rows(named=True)
    assert (yeu["code_epci"], yeu["nom_epci"], yeu["population"]) == (None, None, "4883")
    assert yeu["anciens_codes"] is None
    assert (taaf["population"], taaf["codes_postaux"], taaf["code_epci"]) == (None, None, None)
    kept, quarantine = staged(parsed, "communes.json")
    assert kept["code_commune"].to_list() == ["85113"]
    assert quarantine.select("ligne", "code_raison").rows() == [(2, "hors_perimetre")]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b'{"type":"FeatureCollection","features":[]}', "request format=json"),
        (b"[1, 2]", "item 0 is int"),
        (b"<!DOCTYPE html>", "not valid JSON"),
    ],
)
def test_a_payload_that_is_not_a_commune_list_is_refused(payload: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_geo_api_communes(payload)


def test_live_cog_url_asks_for_every_field_the_parser_reads() -> None:
    (file,) = live_source("cog__communes").files
    query = parse_qs(urlsplit(file.url.url).query)
    assert set(GEO_API_FIELDS) <= set(query["fields"][0].split(","))
    # All zones, as in the flat file: the overseas collectivities are quarantined by staging.
    assert set(query["zone"][0].split(",")) == {"metro", "drom", "com"}
    assert file.url.expect == "json" and file.url.evidence == "PROD"


def test_live_urls_cover_the_sources_and_carry_evidence() -> None:
    keys = {source.key for source in SOURCES}
    # Every source of the catalogue has live URLs or a stated reason why not, never both.
    assert keys <= set(LIVE_URLS) | set(SANS_FICHIER_LIVE)
    assert not set(LIVE_URLS) & set(SANS_FICHIER_LIVE)
    assert set(LIVE_URLS) <= keys  # Aidants Connect (live only, no bundled file) included
    assert AIDANTS_CONNECT in SOURCES and not AIDANTS_CONNECT.files
    for source in SOURCES:
        if source.live:
            assert source.key in LIVE_URLS, source.key
    for key, source in LIVE_URLS.items():
        assert source.key == key and source.files
        for file in source.files:
            for url in (file.url, *file.alternatives):
                assert url.url.startswith("https://"), url.url
                assert url.evidence in EVIDENCE_LABELS and url.expect in EXPECTS
                assert url.seen_in
            assert file.url.evidence != "INFERRED", f"{key}: an unseen URL is never primary"
    assert LIVE_URLS["aidants_connect__structures"].files[0].url.paginated
    assert LIVE_URLS["insee__rp2018_effectifs"].evidence == "CODE"
    with pytest.raises(KeyError, match="no live URL is known"):
        live_source("dfg__couverture_mobile")


def test_cartographie_export_by_departement() -> None:
    assert cartographie_export_url(["16", "2A"]) == (
        "https://cartographie.societenumerique.gouv.fr/api/lieux/exporter"
        "?territoire_type=departements&territoires=16,2A"
    )
    assert cartographie_export_url() == LIVE_URLS["mednum__lieux"].files[0].url.url
    with pytest.raises(ValueError):
        cartographie_export_url([])


# ---- The other geo.api.gouv.fr references: EPCI, départements, régions, communes déléguées,
# ---- and the commune points (centre) that stand in for La Poste's in the live profile.

HTTP = PROJECT_ROOT / "tests/fixtures/http"
COG = PROJECT_ROOT / "assets/cog_2026"
POINTS = PROJECT_ROOT / "assets/laposte_2023/communes_coordonnees_cog2026_national.parquet"

# The recorded response of each live file of the geo.api.gouv.fr sources.
RECORDED_BY_FILE = {
    ("cog__communes", "communes.json"): "geo_api_communes_excerpt.json",
    ("cog__epci", "epci.json"): "geo_api_epci_excerpt.json",
    ("cog__departements", "departements.json"): "geo_api_departements_excerpt.json",
    ("cog__regions", "regions.json"): "geo_api_regions_excerpt.json",
    (
        "cog__communes_deleguees",
        "communes_associees_deleguees.json",
    ): "geo_api_communes_associees_deleguees_excerpt.json",
    (
        "cog__communes_deleguees",
        "arrondissements_municipaux.json",
    ): "geo_api_arrondissements_excerpt.json",
    (
        "laposte__communes_coordonnees",
        "communes_centres.json",
    ): "geo_api_communes_centres_excerpt.json",
}
# The fields each live file's parser reads: its URL must request them all.
FIELDS_BY_FILE = {
    "communes.json": GEO_API_FIELDS,
    "epci.json": EPCI_FIELDS,
    "departements.json": DEPARTEMENTS_FIELDS,
    "regions.json": REGIONS_FIELDS,
    "communes_associees_deleguees.json": COMMUNES_DELEGUEES_FIELDS,
    "arrondissements_municipaux.json": ARRONDISSEMENTS_FIELDS,
    "communes_centres.json": CENTRES_FIELDS,
}
BUNDLED = {
    "cog__communes": COMMUNES_CSV,
    "cog__epci": COG / "epci.csv",
    "cog__departements": COG / "departements.csv",
    "cog__regions": COG / "regions.csv",
    "cog__communes_deleguees": COG / "communes_deleguees_associees_arrondissements.csv",
    "laposte__communes_coordonnees": POINTS,
}
KEY_COLUMN = {
    "cog__epci": "code_epci",
    "cog__departements": "code",
    "cog__regions": "code",
    "cog__communes_deleguees": "code_insee",
    "laposte__communes_coordonnees": "code_insee",
}


def bundled(key: str) -> pl.DataFrame:
    """A bundled file as the raw layer reads it (observatory.sources.readers): strings."""
    path = BUNDLED[key]
    if path.suffix == ".parquet":
        frame = pl.read_parquet(path)
        return frame.with_columns(pl.col(c).cast(pl.String) for c in frame.columns)
    return pl.read_csv(path, infer_schema=False, encoding="utf8")


def recorded(key: str) -> pl.DataFrame:
    """Every live file of a source parsed from its recorded response, sorted by code."""
    frames = [
        LIVE_PARSERS[key]((HTTP / RECORDED_BY_FILE[(key, file.name)]).read_bytes())
        for file in live_source(key).files
    ]
    return pl.concat(frames).sort(KEY_COLUMN[key])


def same_records(key: str, parsed: pl.DataFrame) -> pl.DataFrame:
    """The bundled rows of the codes in `parsed`, sorted by code."""
    column = KEY_COLUMN[key]
    expected = bundled(key).filter(pl.col(column).is_in(parsed[column].to_list()))
    assert expected.height == parsed.height > 0
    return expected.sort(column)


@pytest.mark.parametrize(
    ("key", "columns"),
    [
        ("cog__epci", EPCI_CSV_COLUMNS),
        ("cog__departements", DEPARTEMENTS_CSV_COLUMNS),
        ("cog__regions", REGIONS_CSV_COLUMNS),
        ("cog__communes_deleguees", COMMUNES_DELEGUEES_CSV_COLUMNS),
        ("laposte__communes_coordonnees", CENTRES_COLUMNS),
    ],
)
def test_parsed_columns_are_those_of_the_bundled_file(key: str, columns: tuple[str, ...]) -> None:
    path = BUNDLED[key]
    if path.suffix == ".parquet":
        header = tuple(pl.read_parquet_schema(path))
    else:
        header = tuple(path.read_text(encoding="utf-8").partition("\n")[0].split(","))
    assert header == columns
    parsed = LIVE_PARSERS[key](b"[]")
    assert parsed.columns == list(columns) and set(parsed.dtypes) <= {pl.String}


def test_columns_the_api_lacks_are_named() -> None:
    assert LIVE_ABSENT_COLUMNS == {
        "cog__communes": COLUMNS_ABSENT_FROM_GEO_API,
        "cog__epci": ("population_totale", "nb_communes"),
        "cog__departements": ("type_liaison",),
        "cog__regions": ("type_liaison",),
        "cog__communes_deleguees": ("code_arrondissement",),
        "laposte__communes_coordonnees": (),
    }


@pytest.mark.real_data
@pytest.mark.parametrize("key", ["cog__epci", "cog__departements", "cog__regions"])
def test_recorded_reference_stages_like_the_bundled_csv(key: str) -> None:
    parsed = recorded(key)
    expected = same_records(key, parsed)
    assert parsed.columns == expected.columns and set(parsed.dtypes) == {pl.String}
    absent = list(LIVE_ABSENT_COLUMNS[key])
    assert parsed.select(absent).null_count().row(0) == (parsed.height,) * len(absent)
    column = KEY_COLUMN[key]
    assert_frame_equal(
        stage_reference(parsed, column).drop(absent),
        stage_reference(expected, column).drop(absent),
    )


@pytest.mark.real_data
def test_recorded_epci_types_and_populations() -> None:
    epci = recorded("cog__epci")
    assert set(epci["type"]) == {"CC", "CA", "CU", "METRO", "MET69"}
    assert set(epci["mode_financement"]) == {"FPU", "FA"}
    lyon = epci.filter(pl.col("code_epci") == "200046977").row(0, named=True)
    assert (lyon["population_municipale"], lyon["population_totale"]) == ("1433613", None)


@pytest.mark.real_data
def test_recorded_communes_deleguees_stage_like_the_bundled_csv() -> None:
    """Both live files (communes associées/déléguées with `chefLieu`, arrondissements with
    `codeParent`) give the bundled rows."""
    parsed = recorded("cog__communes_deleguees")
    expected = same_records("cog__communes_deleguees", parsed)
    assert parsed.columns == expected.columns
    assert parsed["code_arrondissement"].null_count() == parsed.height
    assert_frame_equal(parsed.drop("code_arrondissement"), expected.drop("code_arrondissement"))
    staged_live = stage_communes_deleguees(parsed)
    assert_frame_equal(staged_live, stage_communes_deleguees(expected))
    belongs = dict(staged_live.select("code", "code_commune").iter_rows())
    assert (belongs["02285"], belongs["01015"], belongs["75120"]) == ("59545", "01015", "75056")
    assert set(staged_live["type"]) == {
        "commune-deleguee",
        "commune-associee",
        "arrondissement-municipal",
    }


@pytest.mark.real_data
def test_recorded_centres_give_the_bundled_points() -> None:
    """The points come out as the raw layer reads the bundled parquet (strings of Float64),
    latitude from coordinates[1]; the staged float values are the bundled ones."""
    parsed = recorded("laposte__communes_coordonnees")
    expected = same_records("laposte__communes_coordonnees", parsed)
    assert parsed.columns == expected.columns and set(parsed.dtypes) == {pl.String}
    read = ["code_insee", "nom", "code_departement", "zone", "latitude", "longitude"]
    assert_frame_equal(parsed.select(read), expected.select(read))
    floats = pl.read_parquet(POINTS).filter(
        pl.col("code_insee").is_in(parsed["code_insee"].to_list())
    )
    assert_frame_equal(
        parsed.select("code_insee", pl.col("latitude", "longitude").cast(pl.Float64)),
        floats.sort("code_insee").select("code_insee", "latitude", "longitude"),
    )
    rows = {r["code_insee"]: r for r in parsed.iter_rows(named=True)}
    assert rows["2A004"]["latitude"] == "41.934723456"
    assert rows["2A004"]["longitude"] == "8.700937555"
    assert rows["01001"]["coord_source"] == "geo_api_centre"
    assert rows["01001"]["code_insee_source"] == "01001"
    assert rows["13055"]["code_insee_source"] == "13055"  # its own centre, not a mean
    # no centre: as the bundled file says of the same commune
    taaf = expected.filter(pl.col("code_insee") == "98411").row(0, named=True)
    assert taaf["coord_source"] == rows["98411"]["coord_source"] == "absent"
    assert rows["98411"]["latitude"] is rows["98411"]["code_insee_source"] is None


def test_centre_is_lon_lat_spelt_like_a_parquet_float() -> None:
    payload = json.dumps(
        [
            {"code": "75056", "centre": {"type": "Point", "coordinates": [2, 48.8566]}},
            {"code": "97502", "centre": None},
        ]
    ).encode()
    paris, miquelon = parse_geo_api_centres(payload).iter_rows(named=True)
    assert (paris["latitude"], paris["longitude"]) == ("48.8566", "2.0")
    assert paris["nom"] is None and paris["coord_source"] == "geo_api_centre"
    assert (miquelon["latitude"], miquelon["coord_source"]) == (None, "absent")


@pytest.mark.parametrize(
    "centre",
    [
        {"type": "Polygon", "coordinates": [[[2.0, 48.0]]]},
        {"type": "Point", "coordinates": [2.0, 48.0, 35.0]},
        {"type": "Point", "coordinates": ["2.0", "48.0"]},
        {"type": "Point", "coordinates": [True, 48.0]},
        [2.0, 48.0],
    ],
)
def test_a_centre_that_is_not_a_point_is_refused(centre: object) -> None:
    payload = json.dumps([{"code": "75056", "centre": centre}]).encode()
    with pytest.raises(ValueError, match="item 0 has a centre that is not a GeoJSON Point"):
        parse_geo_api_centres(payload)


def test_missing_reference_values_are_null_as_in_the_csv() -> None:
    epci = parse_geo_api_epci(b'[{"code": "200000172", "nom": "CC", "type": ""}]')
    assert epci.row(0) == ("200000172", "CC", None, None, None, None, None)
    deleguee = parse_geo_api_communes_deleguees(
        b'[{"code": "01015", "nom": "Arbignieu", "chefLieu": null, "codeParent": "01015"},'
        b' {"code": "01039", "nom": "B\\u00e9on"}]'
    )
    assert deleguee["commune_rattachement"].to_list() == ["01015", None]
    assert deleguee["nom"].to_list() == ["Arbignieu", "Béon"]


@pytest.mark.parametrize("key", sorted(LIVE_PARSERS))
@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b'{"type":"FeatureCollection","features":[]}', "request format=json"),
        (b'[{"code": "01"}, "02"]', "item 1 is str"),
        (b"<!DOCTYPE html>", "not valid JSON"),
    ],
)
def test_every_parser_refuses_what_is_not_a_list_of_objects(
    key: str, payload: bytes, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        LIVE_PARSERS[key](payload)


def test_live_parsers_are_the_geo_api_sources() -> None:
    geo_api = {
        key
        for key, source in LIVE_URLS.items()
        if all(f.url.url.startswith("https://geo.api.gouv.fr/") for f in source.files)
    }
    assert set(LIVE_PARSERS) == geo_api == set(BUNDLED)
    assert LIVE_PARSERS["cog__communes"] is parse_geo_api_communes
    assert {(key, f.name) for key in geo_api for f in live_source(key).files} == set(
        RECORDED_BY_FILE
    )
    for key in geo_api:
        for file in live_source(key).files:
            assert file.name.endswith(".json") and file.url.expect == "json"
            assert file.url.evidence == "PROD" and "INFERRED" in file.url.note


@pytest.mark.parametrize(("key", "name"), sorted(RECORDED_BY_FILE))
def test_geo_api_urls_ask_for_every_field_the_parsers_read(key: str, name: str) -> None:
    """The URL requests the parser's fields, and every field of the recorded response (which
    parses to the bundled rows above) is requested: none comes by default only."""
    (file,) = [f for f in live_source(key).files if f.name == name]
    query = parse_qs(urlsplit(file.url.url).query)
    requested = set(query["fields"][0].split(","))
    assert set(FIELDS_BY_FILE[name]) <= requested
    for item in json.loads((HTTP / RECORDED_BY_FILE[(key, name)]).read_bytes()):
        assert set(item) <= requested, item["code"]


def test_geo_api_urls_filter_what_the_bundled_files_hold() -> None:
    def query(key: str, index: int = 0) -> tuple[str, dict[str, list[str]]]:
        parts = urlsplit(live_source(key).files[index].url.url)
        return parts.path, parse_qs(parts.query)

    for key in ("cog__departements", "cog__regions", "laposte__communes_coordonnees"):
        assert set(query(key)[1]["zone"][0].split(",")) == {"metro", "drom", "com"}, key
    assert query("cog__epci")[0] == "/epcis"
    assert query("laposte__communes_coordonnees")[1]["type"] == ["commune-actuelle"]
    # /communes holds no commune déléguée or associée: they have their own route
    assert query("cog__communes_deleguees", 0)[0] == "/communes_associees_deleguees"
    path, arrondissements = query("cog__communes_deleguees", 1)
    assert (path, arrondissements["type"]) == ("/communes", ["arrondissement-municipal"])


@responses.activate
@pytest.mark.parametrize(("key", "name"), sorted(RECORDED_BY_FILE))
def test_recorded_responses_download_at_the_live_urls(key: str, name: str) -> None:
    body = (HTTP / RECORDED_BY_FILE[(key, name)]).read_bytes()
    for other_key, other_name in RECORDED_BY_FILE:  # same path, other queries: must not match
        if (other_key, other_name) != (key, name):
            (other,) = [f for f in live_source(other_key).files if f.name == other_name]
            responses.get(other.url.url, body=b"[]", content_type="application/json")
    (file,) = [f for f in live_source(key).files if f.name == name]
    responses.get(file.url.url, body=body, content_type="application/json; charset=utf-8")
    fetched = fetch_live_file(file, max_attempts=1)
    assert fetched.content == body
    assert LIVE_PARSERS[key](fetched.content).height == len(json.loads(body))
