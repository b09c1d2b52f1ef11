"""The live profile of the raw layer, on RECORDED responses (tests/fixtures/http; no network)."""

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
import responses

from observatory.settings import PROJECT_ROOT, Settings
from observatory.sources import catalogue
from observatory.sources.catalogue import COG_COMMUNES, MEDNUM_LIEUX
from observatory.sources.http import DownloadError, FetchedFile
from observatory.sources.live import live_source
from observatory.sources.raw import RawFile, land_live, land_source, landed
from observatory.sources.readers import read_landed
from observatory.transforms.cog import stage_communes
from tests.sources import live_bodies

RECORDED = PROJECT_ROOT / "tests/fixtures/http/geo_api_communes_excerpt.json"
CHARENTE = PROJECT_ROOT / "assets/mednum_lieux/charente_16_partially_migrated_v1_commit20250206.csv"


@pytest.fixture
def live(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", profile="live")


def url(key: str) -> str:
    return live_source(key).files[0].url.url


@responses.activate
def test_live_cog_lands_and_stages(live: Settings) -> None:
    responses.get(url("cog__communes"), body=RECORDED.read_bytes(), content_type="application/json")
    (raw,) = land_source(live, COG_COMMUNES)
    assert raw.profil == "live" and raw.url == url("cog__communes")
    assert raw.path.parent.parent == live.raw_dir / "cog"
    assert raw.path.read_bytes() == RECORDED.read_bytes()
    kept, quarantine = stage_communes(read_landed(live, COG_COMMUNES))
    assert kept["code_commune"].to_list() == ["01001", "2A004", "97411"]
    assert quarantine.height == 0
    # the same bytes again: nothing new is landed, the current file stays the same
    assert land_source(live, COG_COMMUNES) == [raw]
    assert len(list((live.raw_dir / "cog").glob("*/communes.json"))) == 1


def test_live_changed_bytes_land_as_a_new_vintage(live: Settings) -> None:
    times = iter([datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 8, tzinfo=UTC)])
    bodies = iter([RECORDED.read_bytes(), RECORDED.read_bytes().replace(b"860", b"861")])

    def fetch(file):
        return FetchedFile(
            file.url.url, file.url.url, next(bodies), "application/json", 200, next(times), 1
        )

    first = land_live(live, COG_COMMUNES, fetch)
    second = land_live(live, COG_COMMUNES, fetch)
    assert [f.vintage for f in first + second] == ["20261101T000000Z", "20261108T000000Z"]
    assert first[0].path.exists()  # the older download is kept, immutable
    assert landed(live, COG_COMMUNES) == second


@responses.activate
def test_live_lieux_export_is_read_like_the_bundled_file(live: Settings) -> None:
    responses.get(url("mednum__lieux"), body=CHARENTE.read_bytes(), content_type="text/csv")
    land_source(live, MEDNUM_LIEUX)
    assert read_landed(live, MEDNUM_LIEUX).height == 188
    assert MEDNUM_LIEUX.couverture_pour("live").codes is None  # the export is national
    assert MEDNUM_LIEUX.couverture_pour("offline").codes == ("16",)


@responses.activate
def test_live_html_error_page_fails_naming_the_url(live: Settings) -> None:
    page = (PROJECT_ROOT / "tests/fixtures/http/insee_500_error.html").read_bytes()
    responses.get(url("mednum__lieux"), body=page, status=200, content_type="text/html")
    with pytest.raises(DownloadError, match=r"cartographie\.societenumerique\.gouv\.fr"):
        land_source(live, MEDNUM_LIEUX)


def test_sources_without_live_format_land_from_the_snapshot_and_say_so(live: Settings) -> None:
    (raw,) = land_source(live, catalogue.DFG_MOBILE)
    assert raw.profil == "live:instantane" and raw.origine.startswith("assets/")
    offline = replace(live, profile="offline")
    assert landed(offline, catalogue.DFG_MOBILE) == [raw]
    # the reader stamps the catalogue's vintage on each row of a statistic from the snapshot
    assert read_landed(live, catalogue.DFG_MOBILE)["annee_donnees"].unique().to_list() == ["2020"]


RECORDED_BY_FILE = {
    "epci.json": "geo_api_epci_excerpt.json",
    "departements.json": "geo_api_departements_excerpt.json",
    "regions.json": "geo_api_regions_excerpt.json",
    "communes_associees_deleguees.json": "geo_api_communes_associees_deleguees_excerpt.json",
    "arrondissements_municipaux.json": "geo_api_arrondissements_excerpt.json",
    "communes_centres.json": "geo_api_communes_centres_excerpt.json",
}


def _land_live_and_bundled(
    live: Settings, source: catalogue.Source
) -> tuple[list[RawFile], pl.DataFrame, pl.DataFrame]:
    """The source landed from its (replayed) live files, those read, and its bundled files read
    the same way in an offline data dir beside it."""
    landed_files = land_source(live, source)
    frame = read_landed(live, source)
    offline = replace(live, data_dir=live.data_dir / "offline", profile="offline")
    land_source(offline, source)
    return landed_files, frame, read_landed(offline, source)


@pytest.mark.parametrize(
    "source",
    [
        catalogue.COG_EPCI,
        catalogue.COG_DEPARTEMENTS,
        catalogue.COG_REGIONS,
        catalogue.COG_COMMUNES_DELEGUEES,
        catalogue.LAPOSTE_COORDONNEES,
    ],
    ids=lambda s: s.key,
)
@responses.activate
def test_live_references_land_and_read_like_the_bundled_files(
    live: Settings, source: catalogue.Source
) -> None:
    """Every live file of the source is downloaded (recorded response), landed and parsed into
    the columns of the bundled file, so the same staging reads both."""
    for file in live_source(source.key).files:
        body = (PROJECT_ROOT / "tests/fixtures/http" / RECORDED_BY_FILE[file.name]).read_bytes()
        responses.get(file.url.url, body=body, content_type="application/json")
    landed_files, frame, bundled = _land_live_and_bundled(live, source)
    assert {f.profil for f in landed_files} == {"live"}
    assert frame.columns == bundled.columns
    assert frame.height > 0


# Live bodies built from the real bundled data (tests/sources/live_bodies.py), per live file.
EXCERPT = ["01001", "01004", "16015", "2A004", "75056", "97411"]
LIVE_BODIES = {
    "commune_debit_filaire.csv": lambda: live_bodies.arcep_filaire(EXCERPT),
    "FILOSOFI_CC_csv.zip": lambda: live_bodies.filosofi_zip(EXCERPT),
    **{
        name.replace("2018", "2022"): (lambda body=body: body)
        for name, body in live_bodies.rp_iris_zips(EXCERPT).items()
    },
    "s_ben_com_f.csv": lambda: live_bodies.caf_s_ben_com_f(EXCERPT),
    "dares_defm_communales-brutes.csv": lambda: live_bodies.dares_defm(EXCERPT),
    "table-appartenance-geo-communes-2026.zip": lambda: live_bodies.table_appartenance(
        tuple(EXCERPT)
    ),
    "fichier_diffusion_2026.xlsx": lambda: live_bodies.grille_densite(tuple(EXCERPT)),
    "france_services.csv": lambda: live_bodies.france_services(["1", "2", "3"]),
    "table_passage_geo2003_geo2026.zip": live_bodies.table_passage,
    "v_mvt_commune_2026.csv": live_bodies.mouvements_communes,
}


@pytest.mark.real_data
@pytest.mark.parametrize(
    "source",
    [
        catalogue.ARCEP_THD,
        catalogue.FILOSOFI_COMMUNES,
        catalogue.INSEE_RP2018,
        catalogue.INSEE_RP2017,
        catalogue.FILOSOFI_TERRITOIRES,
        catalogue.INSEE_PASSAGE,
        catalogue.INSEE_MOUVEMENTS,
        catalogue.CAF_COMMUNES,
        catalogue.CAF_RSA,
        catalogue.POLE_EMPLOI_DEFM,
        catalogue.INSEE_ZONAGES,
        catalogue.ANCT_GRILLES,
        catalogue.FRANCE_SERVICES,
    ],
    ids=lambda s: s.key,
)
@responses.activate
def test_live_sources_land_and_read_in_the_bundled_layout(
    live: Settings, source: catalogue.Source
) -> None:
    """Downloaded (replayed), landed as received, parsed into the columns the staging reads."""
    for file in live_source(source.key).files:
        responses.get(file.url.url, body=LIVE_BODIES[file.name](), content_type="text/csv")
    landed_files, frame, bundled = _land_live_and_bundled(live, source)
    assert {f.profil for f in landed_files} == {"live"}
    # France Services' extra fields, Filosofi's level, RSA by commune (no IRIS live)
    live_only = {"type_fs", "site_web", "prise_rdv", "niveau_filosofi", "CODE_COMMUNE"}
    assert set(frame.columns) <= set(bundled.columns) | live_only
    assert frame.height > 0
    if source in catalogue.STATISTIQUES:
        assert frame["annee_donnees"].null_count() == 0
