"""The orientation table: nearest places per criterion, host first at 0, the published
fields carried over, the Table Schema; then the real national registries on Charente."""

from __future__ import annotations

import math
from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from observatory.publish.schemas import check_schema, field_names, load_table_schema
from observatory.settings import PROJECT_ROOT
from observatory.sources.mednum import Standard
from observatory.transforms import orientation
from observatory.transforms.access import (
    CONSEILLERS_NUMERIQUES,
    DEMARCHES,
    FRANCE_SERVICES,
    SERVICE_DEMARCHES,
    Critere,
)
from tests.conftest import report
from tests.transforms.test_access import donnees_nationales, haversine

SCHEMA = load_table_schema(PROJECT_ROOT / "schemas", "orientation")
DEM = SERVICE_DEMARCHES
MAITRISE = "Maîtrise des outils numériques du quotidien"

COMMUNES = pl.DataFrame(
    [
        ("16015", 45.6484, 0.1562),  # Angoulême
        ("16102", 45.6958, -0.3287),  # Cognac
        ("16999", None, None),
    ],
    schema={"code_commune": pl.String, "latitude": pl.Float64, "longitude": pl.Float64},
    orient="row",
)


def _lieu(id_: str, commune: str, lat: float | None, lon: float | None, **champs) -> dict:
    base = {
        "id": id_,
        "code_insee": commune,
        "nom": f"Lieu {id_}",
        "adresse": "1 place de la Mairie",
        "complement_adresse": None,
        "code_postal": "16000",
        "commune": "Angoulême" if commune == "16015" else "Cognac",
        "latitude": lat,
        "longitude": lon,
        "horaires": "Mo-Fr 09:00-12:00",
        "frais_a_charge": "Gratuit",
        "modalites_acces": "Se présenter",
        "modalites_accompagnement": "Accompagnement individuel",
        "prise_en_charge_specifique": "Surdité",
        "publics_specifiquement_adresses": None,
        "fiche_acces_libre": "https://acceslibre.beta.gouv.fr/x/",
        "prise_rdv": None,
        "site_web": None,
        "services": DEM,
        "dispositif_programmes_nationaux": None,
        "itinerance": None,
        "date_maj": date(2024, 1, 1),
    }
    return base | champs


FS, CN = FRANCE_SERVICES.valeur, CONSEILLERS_NUMERIQUES.valeur
LIEUX = pl.DataFrame(
    [
        # Angoulême hosts two places: the one 1 km from its point comes before the one 3 km.
        _lieu("m:far", "16015", 45.6754, 0.1562),
        _lieu("m:near", "16015", 45.6574, 0.1562, dispositif_programmes_nationaux=FS),
        # Cognac: a bus stop 0.5 km from its point, a conseiller numérique's place 0.47 km.
        _lieu("b:stop", "16102", 45.6958, -0.3222, itinerance="Itinérant",
              services=f"{DEM}|{MAITRISE}"),
        _lieu("c:cn", "16102", 45.70, -0.33, services=MAITRISE, dispositif_programmes_nationaux=CN),
    ]
)  # fmt: skip
RECHERCHES = [
    orientation.Recherche(DEMARCHES, 3),
    orientation.Recherche(Critere("services", MAITRISE), 1),
    orientation.Recherche(FRANCE_SERVICES, 1),
    orientation.Recherche(CONSEILLERS_NUMERIQUES, 1),
]


def test_orientation_rows_ranks_and_distances() -> None:
    got = orientation.build_orientation(COMMUNES, LIEUX, RECHERCHES)
    ang, cog = (45.6484, 0.1562), (45.6958, -0.3287)
    stop, cn, near = (45.6958, -0.3222), (45.70, -0.33), (45.6574, 0.1562)
    dn = "dispositif_programmes_nationaux"
    expected = pl.DataFrame(
        [
            ("16015", dn, "Conseillers numériques", 1, haversine(*ang, *cn), "c:cn"),
            ("16015", dn, "France Services", 1, 0.0, "m:near"),
            ("16015", "services", DEM, 1, 0.0, "m:near"),
            ("16015", "services", DEM, 2, 0.0, "m:far"),
            ("16015", "services", DEM, 3, haversine(*ang, *stop), "b:stop"),
            ("16015", "services", MAITRISE, 1, haversine(*ang, *stop), "b:stop"),
            ("16102", dn, "Conseillers numériques", 1, 0.0, "c:cn"),
            ("16102", dn, "France Services", 1, haversine(*cog, *near), "m:near"),
            ("16102", "services", DEM, 1, 0.0, "b:stop"),
            ("16102", "services", DEM, 2, haversine(*cog, 45.6754, 0.1562), "m:far"),
            ("16102", "services", DEM, 3, haversine(*cog, *near), "m:near"),
            ("16102", "services", MAITRISE, 1, 0.0, "c:cn"),  # both hosted: cn nearer the point
        ],
        schema={
            "code_commune": pl.String,
            "champ": pl.String,
            "critere": pl.String,
            "rang": pl.Int32,
            "distance_km": pl.Float64,
            "id_lieu": pl.String,
        },
        orient="row",
    )
    assert_frame_equal(got.select(expected.columns), expected, abs_tol=1e-9)
    assert check_schema(got, SCHEMA) == []


def test_published_fields_and_itinerant_stop_are_carried() -> None:
    got = orientation.build_orientation(COMMUNES, LIEUX, RECHERCHES)
    bus = got.filter(pl.col("id_lieu") == "b:stop").row(0, named=True)
    assert bus["itinerant"] is True and bus["code_commune_arret"] == "16102"
    assert bus["commune_lieu"] == "Cognac" and bus["code_commune_lieu"] == "16102"
    fixe = got.filter(pl.col("id_lieu") == "m:near").row(0, named=True)
    assert fixe["itinerant"] is False and fixe["code_commune_arret"] is None
    source = LIEUX.filter(pl.col("id") == "m:near").row(0, named=True)
    for colonne, nom in orientation.COLONNES_LIEU.items():
        assert fixe[nom] == source[colonne], colonne
    assert fixe["position_lieu"] == "lieu"


def test_no_place_in_the_zone_gives_no_row() -> None:
    communes = pl.DataFrame({"code_commune": ["97101"], "latitude": [16.27], "longitude": [-61.5]})
    got = orientation.build_orientation(communes, LIEUX, RECHERCHES)
    assert got.is_empty() and got.columns == list(orientation.COLONNES)
    with pytest.raises(ValueError, match="no criterion"):
        orientation.build_orientation(communes, LIEUX, [])


def test_recherches_cover_the_standard(standard: Standard) -> None:
    recherches = orientation.recherches_orientation(standard.enumerations["services"])
    assert [(r.critere.champ, r.critere.valeur, r.nombre) for r in recherches] == [
        *(("services", s, 3 if s == DEM else 1) for s in standard.enumerations["services"]),
        ("dispositif_programmes_nationaux", "France Services", 1),
        ("dispositif_programmes_nationaux", "Conseillers numériques", 1),
    ]


def test_schema_is_the_column_list() -> None:
    assert tuple(field_names(SCHEMA)) == orientation.COLONNES
    assert tuple(SCHEMA["primaryKey"]) == orientation.CLE
    for field in SCHEMA["fields"]:
        assert field.get("title"), field["name"]


# --- Real national registries ----------------------------------------------------------------


@pytest.fixture(scope="module")
def orientation_charente(standard: Standard) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    communes, lieux = donnees_nationales()
    charente = communes.filter(pl.col("code_departement") == "16")
    recherches = orientation.recherches_orientation(standard.enumerations["services"])
    return orientation.build_orientation(charente, lieux, recherches), charente, lieux


@pytest.mark.real_data
def test_real_charente_orientation(orientation_charente) -> None:
    table, charente, lieux = orientation_charente
    assert check_schema(table, SCHEMA) == []
    assert table.select(orientation.CLE).is_duplicated().sum() == 0
    demarches = table.filter(pl.col("critere") == DEM)
    # Every commune of Charente gets its 3 nearest places for help with online procedures.
    assert demarches.group_by("code_commune").len()["len"].unique().to_list() == [3]
    assert demarches["code_commune"].n_unique() == charente.height == 359
    # Distances agree with a haversine computed here, ranks follow them.
    points = {c: (la, lo) for c, _, _, la, lo in charente.iter_rows()}
    colonnes = ("id", "code_insee", "latitude", "longitude")
    places = {i: (la, lo, c) for i, c, la, lo in lieux.select(colonnes).iter_rows()}
    for code, km, hote, id_lieu in table.select(
        "code_commune", "distance_km", "dans_la_commune", "id_lieu"
    ).iter_rows():
        la, lo, commune_lieu = places[id_lieu]
        assert hote == (commune_lieu == code)
        if hote:
            assert km == 0.0
        elif la is not None:
            assert km == pytest.approx(haversine(*points[code], la, lo), abs=1e-9)
    ordre = table.with_columns(
        (pl.col("distance_km").diff().over("code_commune", "champ", "critere") >= 0)
        .fill_null(True)
        .alias("croissant")
    )
    assert ordre["croissant"].all()
    # A commune hosting a place that helps with procedures gets it first, at 0.
    hotes = set(lieux.filter(DEMARCHES.filtre())["code_insee"]) & set(charente["code_commune"])
    premiers = demarches.filter(pl.col("rang") == 1)
    assert set(premiers.filter(pl.col("distance_km") == 0)["code_commune"]) == hotes
    angouleme = premiers.filter(pl.col("code_commune") == "16015").row(0, named=True)
    assert angouleme["dans_la_commune"] and angouleme["code_commune_lieu"] == "16015"
    # The Charente bus counts at each of its stops, listed with the stop's commune.
    arrets = lieux.filter(pl.col("id").str.starts_with("mednum__bus_france_services_16:"))
    assert arrets.height == 11
    bus = demarches.filter(pl.col("itinerant") & pl.col("dans_la_commune"))
    for id_lieu, code in arrets.select("id", "code_insee").iter_rows():
        nb_hotes = lieux.filter(DEMARCHES.filtre() & (pl.col("code_insee") == code)).height
        if nb_hotes <= 3:
            row = bus.filter(pl.col("id_lieu") == id_lieu).row(0, named=True)
            assert row["code_commune"] == row["code_commune_arret"] == code
    lointains = demarches.filter(pl.col("rang") == 1)["distance_km"].max()
    report(
        f"orientation (Charente, 359 communes): {table.height} rows; nearest help with online"
        f" procedures at most {lointains:.1f} km; {len(hotes)} communes host one (first, at 0);"
        f" {math.fsum(demarches['dans_la_commune']) / demarches.height:.1%} of the 3-nearest"
        " rows are in the commune itself"
    )
