"""One end-to-end materialisation of the live profile, every download served by `responses`.

No network and no real capture: the responses are BUILT HERE from the real bundled data
(assets/cog_2026/*.csv and the points of assets/laposte_2023/*.parquet, whole country, in the
JSON shapes of geo.api.gouv.fr that observatory/sources/cog_live.py parses; the lieux export is
the bundled Charente CSV; the statistics, zonages, density grid and France Services list are the
bundled files reshaped into their documented live formats by tests/sources/live_bodies.py).
Sources without a live URL land from the snapshot.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import responses
from dagster import DagsterInstance

from observatory.defs.jobs import materialize_all
from observatory.publish import release as release_module
from observatory.publish.release import verify_release
from observatory.settings import PROJECT_ROOT, Settings
from observatory.sources.catalogue import FRANCE_SERVICES, SOURCES
from observatory.sources.live import live_source
from observatory.sources.raw import landed
from tests.sources import live_bodies as lb

pytestmark = pytest.mark.real_data

ASSETS = PROJECT_ROOT / "assets"
COG = ASSETS / "cog_2026"
CHARENTE = ASSETS / "mednum_lieux/charente_16_partially_migrated_v1_commit20250206.csv"
POINTS = ASSETS / "laposte_2023/communes_coordonnees_cog2026_national.parquet"
HTTP_FIXTURES = PROJECT_ROOT / "tests/fixtures/http"


def rows(name: str) -> list[dict[str, str | None]]:
    return pl.read_csv(COG / name, infer_schema=False, encoding="utf8").to_dicts()


def present(item: dict[str, object]) -> dict[str, object]:
    """The API leaves out a missing value's key."""
    return {k: v for k, v in item.items() if v is not None}


def commune(row: dict[str, str | None]) -> dict[str, object]:
    """A row of communes.csv as /communes serves it (cf. tests/sources/test_cog_live.py)."""
    item: dict[str, object] = {
        "code": row["code_insee"],
        "nom": row["nom"],
        "zone": row["zone"],
        "codeDepartement": row["code_departement"],
        "codeRegion": row["code_region"],
        "siren": row["siren_commune"],
        "population": int(row["population"]) if row["population"] else None,
        "codesPostaux": sorted(row["codes_postaux"].split(";")) if row["codes_postaux"] else [],
        "anciensCodes": row["anciens_codes"].split(";") if row["anciens_codes"] else [],
        "departement": {"code": row["code_departement"], "nom": row["nom_departement"]},
        "region": {"code": row["code_region"], "nom": row["nom_region"]},
    }
    if row["code_epci"]:
        item["codeEpci"] = row["code_epci"]
        item["epci"] = {"code": row["code_epci"], "nom": row["nom_epci"]}
    return present(item)


def deleguee(row: dict[str, str | None]) -> dict[str, object]:
    parent = "codeParent" if row["type"] == "arrondissement-municipal" else "chefLieu"
    return present(
        {
            "code": row["code_insee"],
            "nom": row["nom"],
            "type": row["type"],
            parent: row["commune_rattachement"],
            "codeDepartement": row["code_departement"],
            "codeRegion": row["code_region"],
        }
    )


def centre(row: dict[str, object]) -> dict[str, object]:
    point = None
    if row["latitude"] is not None and row["longitude"] is not None:
        point = {"type": "Point", "coordinates": [row["longitude"], row["latitude"]]}
    item = {
        "code": row["code_insee"],
        "nom": row["nom"],
        "codeDepartement": row["code_departement"],
        "zone": row["zone"],
        "centre": point,
    }
    return present(item)


def aidants_connect_pages(first: str) -> list[tuple[str, bytes]]:
    """(URL, body) of the three recorded Aidants Connect API pages (tests/fixtures/http/)."""
    pages = []
    url: str | None = first
    for n in (1, 2, 3):
        body = (HTTP_FIXTURES / f"aidants_connect_organisations_page{n}.json").read_bytes()
        assert url is not None
        pages.append((url, body))
        url = json.loads(body)["next"]
    assert url is None
    return pages


def live_bodies() -> dict[str, tuple[bytes, str]]:
    """Live file name → (body, content type), the whole country."""
    deleguees = rows("communes_deleguees_associees_arrondissements.csv")
    arrondissements = [r for r in deleguees if r["type"] == "arrondissement-municipal"]
    associees = [r for r in deleguees if r["type"] != "arrondissement-municipal"]
    by_file: dict[str, list[dict[str, object]]] = {
        "communes.json": [commune(r) for r in rows("communes.csv")],
        "epci.json": [
            present(
                {
                    "code": r["code_epci"],
                    "nom": r["nom"],
                    "type": r["type"],
                    "financement": r["mode_financement"],
                    "population": int(p) if (p := r["population_municipale"]) else None,
                }
            )
            for r in rows("epci.csv")
        ],
        "departements.json": [
            present(
                {
                    "code": r["code"],
                    "nom": r["nom"],
                    "codeRegion": r["code_region"],
                    "chefLieu": r["chef_lieu"],
                    "zone": r["zone"],
                }
            )
            for r in rows("departements.csv")
        ],
        "regions.json": [
            present(
                {"code": r["code"], "nom": r["nom"], "chefLieu": r["chef_lieu"], "zone": r["zone"]}
            )
            for r in rows("regions.csv")
        ],
        "communes_associees_deleguees.json": [deleguee(r) for r in associees],
        "arrondissements_municipaux.json": [deleguee(r) for r in arrondissements],
        "communes_centres.json": [centre(r) for r in pl.read_parquet(POINTS).to_dicts()],
    }
    bodies = {
        name: (json.dumps(items).encode(), "application/json") for name, items in by_file.items()
    }
    bodies["lieux-inclusion-numerique.csv"] = (CHARENTE.read_bytes(), "text/csv")
    reshaped = {
        "commune_debit_filaire.csv": (lb.arcep_filaire(), "text/csv"),
        "FILOSOFI_CC_csv.zip": (lb.filosofi_zip(), "application/zip"),
        **{
            name.replace("2018", "2022"): (body, "application/zip")
            for name, body in lb.rp_iris_zips().items()
        },
        "s_ben_com_f.csv": (lb.caf_s_ben_com_f(), "text/csv"),
        "dares_defm_communales-brutes.csv": (lb.dares_defm(), "text/csv"),
        "table-appartenance-geo-communes-2026.zip": (lb.table_appartenance(), "application/zip"),
        "fichier_diffusion_2026.xlsx": (
            lb.grille_densite(),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        "france_services.csv": (lb.france_services(), "text/csv"),
        "table_passage_geo2003_geo2026.zip": (lb.table_passage(), "application/zip"),
        "v_mvt_commune_2026.csv": (lb.mouvements_communes(), "text/csv"),
    }
    return {**bodies, **reshaped}


def test_live_profile_end_to_end(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", profile="live")
    live_sources = [s for s in SOURCES if s.live]
    bodies = live_bodies()
    urls: dict[str, str] = {}
    with responses.RequestsMock(assert_all_requests_are_fired=True) as served:
        for source in live_sources:
            for file in live_source(source.key).files:
                urls[f"{source.key}/{file.name}"] = file.url.url
                if file.url.paginated:  # Aidants Connect: the recorded API pages, in turn
                    for url, page in aidants_connect_pages(file.url.url):
                        served.get(url, body=page, content_type="application/json")
                    continue
                body, content_type = bodies[file.name]
                served.get(file.url.url, body=body, content_type=content_type)
        outcome = materialize_all(settings, instance=DagsterInstance.ephemeral())
    assert outcome.success, outcome.errors
    assert outcome.release is not None and outcome.release.is_dir()
    assert (settings.published_dir / "latest").resolve() == outcome.release.resolve()

    live_files = set()
    for source in SOURCES:
        for raw in landed(settings, source):
            if source.live:
                assert raw.profil == "live", raw
                assert raw.url == urls[f"{source.key}/{raw.fichier}"]
                live_files.add(f"{source.key}/{raw.fichier}")
            else:
                assert raw.profil == "live:instantane", raw
    assert live_files == set(urls)  # every live file has its sidecar

    def read(table: str) -> pl.DataFrame:
        if hasattr(release_module, "read_table"):  # partitioned releases (publish issue)
            return release_module.read_table(outcome.release, table)
        return pl.read_parquet(outcome.release / f"{table}.parquet")

    territoires = read("territoires")
    assert territoires.filter(pl.col("niveau") == "commune").height == 34875

    couverture = read("couverture_sources").filter(pl.col("source") == "mednum__lieux")
    assert couverture.filter(pl.col("code") == "FR")["couvert"].to_list() == [True]
    nb_lieux_fr = read("indicateurs").filter(
        pl.col("indicateur") == "nb_lieux", pl.col("code") == "FR", pl.col("niveau") == "france"
    )
    assert nb_lieux_fr.height >= 1
    assert nb_lieux_fr["valeur"].null_count() == 0
    assert nb_lieux_fr["couverture"].all()

    # statistics downloaded live are staged with the vintage their files state
    annees = read("couverture_sources").group_by("source").agg(pl.col("annee").unique())
    par_source = {row[0]: row[1] for row in annees.iter_rows()}
    assert par_source.get("arcep__thd") == [2019], par_source
    assert par_source.get("insee__rp2018_effectifs") == [2018], par_source
    # the RP shares are recomputed from the same census files: their year, not the snapshot's
    assert par_source.get("insee__rp2017_parts") == [2018], par_source
    # INSEE's own EPCI / département / région figures, from the long file's other rows
    filo = pl.read_parquet(settings.warehouse_dir / "stg_insee__filosofi_territoires.parquet")
    assert sorted(filo["niveau"].unique()) == ["departement", "epci", "region"]
    assert filo["annee"].unique().to_list() == [2016]

    # Aidants Connect (live only): its recorded API pages reach the published places, and it
    # covers France in the live profile (offline, with no file, it covers nothing)
    aidants = read("lieux").filter(pl.col("sources").str.contains("aidants_connect__structures"))
    assert 1 <= aidants.height <= 5
    ac = read("couverture_sources").filter(pl.col("source") == "aidants_connect__structures")
    assert ac.filter(pl.col("niveau") == "france")["couvert"].to_list() == [True]

    # a live list without update dates is dated by its download, not by the snapshot's vintage
    (telechargement,) = landed(settings, FRANCE_SERVICES)
    staged = pl.read_parquet(settings.warehouse_dir / "stg_france_services__lieux.parquet")
    assert staged["date_maj_estimee"].all()
    assert staged["date_maj"].cast(pl.String).unique().to_list() == [
        telechargement.recupere_le[:10]
    ]

    verify_release(outcome.release)
