"""The live COG (geo.api.gouv.fr JSON) stages exactly like the bundled Etalab CSV.

Uses the RECORDED geo.api.gouv.fr response tests/fixtures/http/geo_api_communes_excerpt.json
(01001, 2A004, 97411, built from the real rows of assets/cog_2026/communes.csv in the API's
shape — see the fixtures README), and the real bundled CSV; no network. Also checks the table
of live URLs (observatory/sources/live.py) for what the code relies on.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from observatory.settings import PROJECT_ROOT
from observatory.sources.cog_live import (
    COLUMNS_ABSENT_FROM_GEO_API,
    COMMUNES_CSV_COLUMNS,
    GEO_API_FIELDS,
    parse_geo_api_communes,
)
from observatory.sources.http import EXPECTS
from observatory.sources.live import (
    EVIDENCE_LABELS,
    LIVE_URLS,
    cartographie_export_url,
    live_source,
)
from observatory.transforms.cog import stage_communes
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
    assert set(LIVE_URLS) == {
        "cog__communes",
        "mednum__lieux",
        "france_services__lieux",
        "aidants_connect__structures",
        "insee__rp",
        "insee__filosofi",
        "arcep__thd",
        "caf__allocataires",
        "dares__defm",
        "insee__bassins_de_vie",
        "insee__grille_densite",
    }
    for key, source in LIVE_URLS.items():
        assert source.key == key and source.files
        for file in source.files:
            for url in (file.url, *file.alternatives):
                assert url.url.startswith("https://"), url.url
                assert url.evidence in EVIDENCE_LABELS and url.expect in EXPECTS
                assert url.seen_in
            assert file.url.evidence != "INFERRED", f"{key}: an unseen URL is never primary"
    assert LIVE_URLS["aidants_connect__structures"].files[0].url.paginated
    assert LIVE_URLS["insee__rp"].evidence == "CODE"
    with pytest.raises(KeyError, match="no live URL is known"):
        live_source("laposte__communes_coordonnees")


def test_cartographie_export_by_departement() -> None:
    assert cartographie_export_url(["16", "2A"]) == (
        "https://cartographie.societenumerique.gouv.fr/api/lieux/exporter"
        "?territoire_type=departements&territoires=16,2A"
    )
    assert cartographie_export_url() == LIVE_URLS["mednum__lieux"].files[0].url.url
    with pytest.raises(ValueError):
        cartographie_export_url([])
