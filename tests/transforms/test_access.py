"""Distance from each commune to the nearest help: kd-tree search against a brute-force
haversine written here, host communes at 0, overseas zones, sums → indicators; then the real
national registries (France Services, conseillers numériques, Charente) for one département."""

from __future__ import annotations

import functools
import math
import time
from datetime import date

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from observatory.publish.schemas import field_names, load_table_schema
from observatory.publish.tables import build_lieux
from observatory.settings import PROJECT_ROOT
from observatory.sources.mednum import load_standard
from observatory.sources.readers import prenoms
from observatory.sqlmodels.loader import parse_model
from observatory.sqlmodels.runner import run_model
from observatory.transforms import access, dedup
from observatory.transforms.couverture import COUVERTURE_MODELE, applique_regle_couverture
from observatory.transforms.lieux import resolve_communes, stage_registre
from observatory.transforms.registries import (
    map_v0_to_v1,
    parse_conseillers_numeriques,
    parse_france_services,
)
from observatory.validation.quarantine import empty_quarantine, number_rows
from tests.conftest import (
    ASSETS,
    CHARENTE,
    communes_cog,
    communes_deleguees_cog,
    coordonnees_cog,
    read_numbered,
    report,
    territoires_communes,
)

R = 6371.0088


def haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Written again here, independently of observatory.geo."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * R * math.asin(math.sqrt(a))


def _communes(*rows: tuple[str, float | None, float | None]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"code_commune": pl.String, "latitude": pl.Float64, "longitude": pl.Float64},
        orient="row",
    )


def _lieux(*rows: tuple[str, str, float | None, float | None, str | None, str | None]):
    return pl.DataFrame(
        rows,
        schema={
            "id": pl.String,
            "code_commune": pl.String,
            "latitude": pl.Float64,
            "longitude": pl.Float64,
            "services": pl.String,
            "dispositif_programmes_nationaux": pl.String,
        },
        orient="row",
    )


# --- Geometry --------------------------------------------------------------------------------

ZONES = [
    ("16015", "metropole"),
    ("75056", "metropole"),
    ("2A004", "corse"),
    ("2B033", "corse"),
    ("97101", "971"),
    ("97209", "972"),
    ("97302", "973"),
    ("97411", "974"),
    ("97608", "976"),
]


def test_zone_recherche_table() -> None:
    frame = pl.DataFrame({"code_commune": [z[0] for z in ZONES]})
    assert frame.select(access.zone_recherche(pl.col("code_commune")))[
        "code_commune"
    ].to_list() == [z[1] for z in ZONES]


# (point A, point B): Angoulême–Cognac, Paris–Marseille, Brest–Strasbourg, Pointe-à-Pitre–Paris
PAIRES = [
    ((45.6484, 0.1562), (45.6958, -0.3287)),
    ((48.8566, 2.3522), (43.2965, 5.3698)),
    ((48.3904, -4.4861), (48.5734, 7.7521)),
    ((16.2411, -61.5331), (48.8566, 2.3522)),
    ((45.0, 1.0), (45.0, 1.0)),
]


@pytest.mark.parametrize(("a", "b"), PAIRES)
def test_chord_to_arc_is_the_haversine_distance(a, b) -> None:
    xyz = access.sphere_unite(np.array([a[0], b[0]]), np.array([a[1], b[1]]))
    corde = np.linalg.norm(xyz[0] - xyz[1])
    km = float(access.corde_vers_km(np.array([corde]))[0])
    assert km == pytest.approx(haversine(*a, *b), abs=1e-6)
    assert access.km_vers_corde(km) == pytest.approx(corde, abs=1e-12)


# --- Nearest places on small frames ------------------------------------------------------------

COMMUNES = _communes(
    ("16015", 45.6484, 0.1562),  # Angoulême
    ("16102", 45.6958, -0.3287),  # Cognac
    ("16001", 45.9000, 0.1000),
    ("16999", None, None),  # no point
    ("97101", 16.2700, -61.5000),  # Guadeloupe
    ("97102", 16.2000, -61.6000),
    ("97209", 14.6000, -61.0700),  # Martinique, no place there
)
DEM, FS = access.SERVICE_DEMARCHES, access.PROGRAMME_FRANCE_SERVICES
LIEUX = _lieux(
    # Angoulême's place is 3 km from its point; Cognac's place is 0.5 km from Cognac's.
    ("a", "16015", 45.6754, 0.1562, DEM, None),
    ("c", "16102", 45.6958, -0.3222, DEM, FS),
    # a place of 16001 with no coordinates: its commune's point stands in
    ("n", "16001", None, None, DEM, None),
    ("x", "16999", 45.80, 0.20, DEM, FS),  # in the commune without a point
    ("g", "97101", 16.2650, -61.5100, DEM, FS),  # Guadeloupe
)


def test_host_first_at_zero_then_haversine_order() -> None:
    got = access.plus_proches_lieux(COMMUNES, LIEUX.select(access.COLONNES_POSITION), k=2)
    points = {c: (la, lo) for c, la, lo in COMMUNES.iter_rows()}
    position = {
        i: (la, lo) if la is not None else points[c] for i, c, la, lo, *_ in LIEUX.iter_rows()
    }

    def d(commune: str, lieu: str) -> float:
        return haversine(*points[commune], *position[lieu])

    expected = pl.DataFrame(
        [
            ("16001", 1, 0.0, True, "n"),
            ("16001", 2, d("16001", "x"), False, "x"),
            ("16015", 1, 0.0, True, "a"),
            ("16015", 2, d("16015", "x"), False, "x"),
            ("16102", 1, 0.0, True, "c"),
            ("16102", 2, d("16102", "a"), False, "a"),
            ("16999", 1, 0.0, True, "x"),  # no point: its own place only
            ("97101", 1, 0.0, True, "g"),
            ("97102", 1, d("97102", "g"), False, "g"),  # never a place of the mainland
        ],
        schema={
            "code_commune": pl.String,
            "rang": pl.Int32,
            "distance_km": pl.Float64,
            "dans_la_commune": pl.Boolean,
            "id": pl.String,
        },
        orient="row",
    )
    assert_frame_equal(
        got.select(expected.columns).sort("code_commune", "rang"), expected, abs_tol=1e-9
    )
    positions = dict(got.select("id", "position_lieu").unique().iter_rows())
    assert positions == {"a": "lieu", "c": "lieu", "n": "point_commune", "x": "lieu", "g": "lieu"}


def test_hosted_place_wins_over_a_nearer_one_elsewhere() -> None:
    """Angoulême's own place is 3 km from its point; a neighbour's is 1 km away: 0 and first."""
    lieux = _lieux(
        ("own", "16015", 45.6754, 0.1562, DEM, None),
        ("near", "16113", 45.6484, 0.1690, DEM, None),
    )
    got = access.plus_proches_lieux(COMMUNES.head(1), lieux.select(access.COLONNES_POSITION), k=2)
    assert got.select("rang", "id", "dans_la_commune").rows() == [
        (1, "own", True),
        (2, "near", False),
    ]
    assert got["distance_km"].to_list() == pytest.approx(
        [0.0, haversine(45.6484, 0.1562, 45.6484, 0.1690)]
    )


def test_ties_are_broken_by_id_whatever_the_row_order() -> None:
    """Five places geocoded to one point (more than the index is first asked for)."""
    rows = [(f"p{i}", "16102", 45.70, 0.0, DEM, None) for i in (4, 2, 5, 1, 3)]
    lieux = _lieux(*rows, ("far", "16102", 45.80, 0.0, DEM, None)).select(access.COLONNES_POSITION)
    communes = COMMUNES.filter(pl.col("code_commune") == "16015")
    for seed in range(3):
        shuffled = lieux.sample(fraction=1.0, shuffle=True, seed=seed)
        got = access.plus_proches_lieux(communes, shuffled, k=3)
        assert got["id"].to_list() == ["p1", "p2", "p3"]
    host = access.plus_proches_lieux(
        _communes(("16102", 45.70, 0.01)), lieux.reverse(), k=2
    )  # hosted ties at 0: nearest to the commune's point first, then id
    assert host.select("id", "distance_km").rows() == [("p1", 0.0), ("p2", 0.0)]


def test_radius_and_k_arguments() -> None:
    lieux = LIEUX.select(access.COLONNES_POSITION)
    communes = COMMUNES.filter(pl.col("code_commune") == "16102")
    got = access.plus_proches_lieux(communes, lieux, k=5, rayon_max_km=40.0)
    assert got["id"].to_list() == ["c", "a"]  # x and n are more than 40 km from Cognac
    assert (got["distance_km"] <= 40).all()
    with pytest.raises(ValueError, match="at least 1"):
        access.plus_proches_lieux(communes, lieux, k=0)


def test_distances_acces_statuses() -> None:
    got = access.distances_acces(COMMUNES, LIEUX)
    rows = {(c, t): (s, d, i) for c, t, s, d, i, _ in got.iter_rows()}
    assert got.height == COMMUNES.height * 2
    assert rows["16015", "lieu_demarches"] == ("dans_la_commune", 0.0, "a")
    assert rows["16999", "france_services"] == ("dans_la_commune", 0.0, "x")
    assert rows["16015", "france_services"][0] == "calculee"
    assert rows["16015", "france_services"][1] == pytest.approx(
        haversine(45.6484, 0.1562, 45.80, 0.20), abs=1e-9
    )
    # Guadeloupe has its own France Services; Martinique has none here: null, not 7 000 km.
    assert rows["97102", "france_services"][2] == "g"
    assert rows["97209", "france_services"] == ("aucun_lieu_dans_la_zone", None, None)
    no_point = _communes(("16998", None, None))
    assert (
        access.distances_acces(no_point, LIEUX)["statut"].to_list()
        == ["commune_sans_coordonnees"] * 2
    )


def test_brute_force_agreement_on_random_points() -> None:
    """3 nearest of 400 communes among 250 places: same places and distances as a full scan."""
    rng = np.random.default_rng(16)
    communes = pl.DataFrame(
        {
            "code_commune": [f"{16000 + i:05d}" for i in range(400)],
            "latitude": rng.uniform(42.5, 50.5, 400),
            "longitude": rng.uniform(-4.5, 7.5, 400),
        }
    )
    lieux = pl.DataFrame(
        {
            "id": [f"l{i:03d}" for i in range(250)],
            "code_commune": [f"{20000 + i:05d}" for i in range(250)],  # hosted by no commune
            "latitude": rng.uniform(42.5, 50.5, 250),
            "longitude": rng.uniform(-4.5, 7.5, 250),
        }
    )
    got = access.plus_proches_lieux(communes, lieux, k=3).sort("code_commune", "rang")
    expected = []
    for code, la, lo in communes.iter_rows():
        d = sorted((haversine(la, lo, pla, plo), i) for i, _, pla, plo in lieux.iter_rows())
        expected += [(code, r + 1, i, km) for r, (km, i) in enumerate(d[:3])]
    assert got.select("code_commune", "rang", "id").rows() == [e[:3] for e in expected]
    assert got["distance_km"].to_numpy() == pytest.approx([e[3] for e in expected], abs=1e-9)


# --- Indicators: the SQL model `ind_acces` and the coverage rule ---------------------------

MODELE_ACCES = parse_model(PROJECT_ROOT / "dbt_like_sql/indicators/ind_acces.sql")


def indicateurs_acces(
    acces: pl.DataFrame, population: pl.DataFrame, appartenances: pl.DataFrame, annee: int
) -> pl.DataFrame:
    """`ind_acces` as the pipeline runs it, then the coverage rule applied at publication."""
    inputs = {
        "int__acces_communes": acces.with_columns(pl.lit(annee, pl.Int32).alias("annee")),
        "int__territoires": population.select(
            pl.lit("commune").alias("niveau"), pl.col("code_commune").alias("code"), "population"
        ),
        "int__appartenances": appartenances,
    }
    frame = applique_regle_couverture(run_model(MODELE_ACCES, inputs))
    return frame.select(
        "niveau", "code", "indicateur", "annee", "valeur", "ic_bas", "ic_haut", "secret",
        "couverture",
    ).sort("niveau", "code", "indicateur")  # fmt: skip


ACCES = pl.DataFrame(
    [
        ("c1", "france_services", "calculee", 4.0),
        ("c2", "france_services", "calculee", 15.0),
        ("c3", "france_services", "dans_la_commune", 0.0),
        ("c4", "france_services", "calculee", 30.0),
        ("c5", "france_services", "aucun_lieu_dans_la_zone", None),
        ("c6", "france_services", "commune_sans_coordonnees", None),
        ("c7", "france_services", "calculee", 12.0),  # no inhabitant
    ],
    schema=["code_commune", "cible", "statut", "distance_km"],
    orient="row",
)
POPULATION = pl.DataFrame(
    {
        "code_commune": ["c1", "c2", "c3", "c4", "c5", "c6", "c7"],
        "population": [100, 300, 600, 1000, 50, 10, 0],
    }
)
APPARTENANCES = pl.DataFrame(
    [
        *[(c, "commune", c) for c in POPULATION["code_commune"]],
        *[(c, "epci", "e1") for c in ("c1", "c2", "c3")],
        *[(c, "epci", "e2") for c in ("c4", "c5", "c6")],
        ("c7", "epci", "e3"),
        *[(c, "zonage:test", z) for c, z in [("c1", "z"), ("c4", "z"), ("c6", "w")]],
    ],
    schema=["code_commune", "niveau", "code"],
    orient="row",
)


def _direct(codes: list[str], seuil: float | None) -> float | None:
    """The indicator recomputed from the commune rows, the way a reader would."""
    rows = [
        (p, s, d)
        for c, _, s, d in ACCES.iter_rows()
        for c2, p in POPULATION.iter_rows()
        if c == c2 and c in codes
    ]
    poids = [(p if sum(r[0] for r in rows) > 0 else 1, s, d) for p, s, d in rows]
    total = sum(w for w, _, _ in poids)
    if seuil is None:
        known = [(w, d) for w, _, d in poids if d is not None]
        den = sum(w for w, _ in known)
        return sum(w * d for w, d in known) / den if den >= 0.99 * total and den > 0 else None
    known = [(w, s, d) for w, s, d in poids if d is not None or s == "aucun_lieu_dans_la_zone"]
    den = sum(w for w, _, _ in known)
    beyond = sum(w for w, s, d in known if s == "aucun_lieu_dans_la_zone" or d > seuil)
    return beyond / den if den >= 0.99 * total and den > 0 else None


def test_indicators_from_sums_equal_a_direct_recomputation() -> None:
    got = indicateurs_acces(ACCES, POPULATION, APPARTENANCES, 2022)
    assert got.columns == [
        "niveau", "code", "indicateur", "annee", "valeur", "ic_bas", "ic_haut", "secret",
        "couverture",
    ]  # fmt: skip
    membres = APPARTENANCES.group_by("niveau", "code").agg("code_commune")
    expected = []
    for niveau, code, codes in membres.iter_rows():
        for indicateur, seuil in (
            ("distance_france_services_km", None),
            ("part_pop_france_services_plus_10km", 10),
            ("part_pop_france_services_plus_20km", 20),
        ):
            valeur = _direct(codes, seuil)
            expected.append((niveau, code, indicateur, valeur, valeur is not None))
    expected_frame = pl.DataFrame(
        expected,
        schema=["niveau", "code", "indicateur", "valeur", "couverture"],
        orient="row",
    ).sort("niveau", "code", "indicateur")
    assert_frame_equal(
        got.select(expected_frame.columns), expected_frame, abs_tol=1e-12, check_dtypes=False
    )
    by_key = {(n, c, i): v for n, c, i, v, _ in expected}
    # e1: (100×4 + 300×15 + 600×0) / 1000; c5 (no place in its zone) is beyond 20 km.
    assert by_key["epci", "e1", "distance_france_services_km"] == pytest.approx(4.9)
    assert by_key["commune", "c5", "part_pop_france_services_plus_20km"] == 1.0
    assert by_key["commune", "c6", "distance_france_services_km"] is None  # unknown, never 0
    # no inhabitant: its communes' mean
    assert by_key["epci", "e3", "distance_france_services_km"] == 12.0
    assert by_key["zonage:test", "w", "distance_france_services_km"] is None


def test_coverage_weights_add_up_across_levels() -> None:
    """Any level is a group-by of the same additive sums: EPCI weights add up to the
    communes'."""
    rows = run_model(
        MODELE_ACCES,
        {
            "int__acces_communes": ACCES.with_columns(pl.lit(2022, pl.Int32).alias("annee")),
            "int__territoires": POPULATION.select(
                pl.lit("commune").alias("niveau"),
                pl.col("code_commune").alias("code"),
                "population",
            ),
            "int__appartenances": APPARTENANCES,
        },
    )
    totals = (
        rows.group_by("niveau", "indicateur")
        .agg(pl.col(list(COUVERTURE_MODELE)).sum())
        .sort("indicateur")
    )
    communes = totals.filter(pl.col("niveau") == "commune").drop("niveau")
    epci = totals.filter(pl.col("niveau") == "epci").drop("niveau")
    assert_frame_equal(communes, epci)


# --- Real national registries ----------------------------------------------------------------


@functools.cache
def donnees_nationales() -> tuple[pl.DataFrame, pl.DataFrame]:
    """(communes with their La Poste point and population, published-like `lieux`) built from
    the bundled national registries by the pipeline's own functions (no pipeline run)."""
    standard = load_standard(PROJECT_ROOT / "schemas")
    communes, deleguees, coordonnees = communes_cog(), communes_deleguees_cog(), coordonnees_cog()
    cnfs = ASSETS / "conseillers_numeriques/lieux_cnfs_20221202_national.parquet"
    bus = ASSETS / "mednum_lieux/bus_france_services_charente_16_standard_v0_20231003.csv"
    registres = [
        (
            parse_france_services(
                read_numbered(
                    ASSETS / "france_services/liste_france_services_20221201.csv",
                    "france_services__lieux",
                )
            )[0],
            date(2022, 12, 1),
        ),
        (
            parse_conseillers_numeriques(
                number_rows(
                    pl.read_parquet(cnfs).cast(pl.String),
                    "conseillers_numeriques__lieux",
                    cnfs.name,
                    "sha",
                )
            )[0],
            date(2022, 12, 2),
        ),
        (read_numbered(ASSETS / "mednum_lieux" / CHARENTE, "mednum__lieux"), None),
        (
            map_v0_to_v1(read_numbered(bus, "mednum__bus_france_services_16"), "Itinérant")[0],
            date(2023, 10, 3),
        ),
    ]
    deja_v1 = lambda v1: (v1, empty_quarantine())  # noqa: E731  (parsed above)
    frames = [
        stage_registre(v1, deja_v1, standard, export, prenoms())[0] for v1, export in registres
    ]
    resolus, _ = resolve_communes(
        pl.concat(frames, how="diagonal_relaxed"), communes, deleguees, coordonnees
    )
    lieux = dedup.merge_duplicates(resolus, dedup.find_duplicate_pairs(resolus))
    territoires = territoires_communes(communes, "code_epci", "code_departement", "code_region")
    columns = field_names(load_table_schema(PROJECT_ROOT / "schemas", "lieux"))
    publies = build_lieux(lieux, territoires, columns)
    points = communes.select("code_commune", "code_departement", "population").join(
        coordonnees, on="code_commune", how="left"
    )
    return points, publies


@pytest.fixture(scope="module")
def nationales() -> tuple[pl.DataFrame, pl.DataFrame]:
    return donnees_nationales()


@pytest.fixture(scope="module")
def acces_national(nationales) -> pl.DataFrame:
    communes, lieux = nationales
    return access.distances_acces(communes, lieux.rename({"code_insee": "code_commune"}))


@pytest.mark.real_data
def test_real_charente_distances_agree_with_a_full_haversine_scan(
    nationales, acces_national
) -> None:
    communes, lieux = nationales
    lieux = lieux.rename({"code_insee": "code_commune"})
    charente = communes.filter(pl.col("code_departement") == "16")
    assert charente.height == 359 and charente["latitude"].null_count() == 0
    points = {
        c: (la, lo)
        for c, la, lo in communes.select("code_commune", "latitude", "longitude").iter_rows()
    }
    for cible, critere in access.CIBLES_ACCES.items():
        # Mainland places; one without coordinates stands at its commune's point.
        places = [
            (c, (la, lo) if la is not None else points[c])
            for c, la, lo in lieux.filter(critere.filtre())
            .select("code_commune", "latitude", "longitude")
            .iter_rows()
            if not c.startswith(("97", "2A", "2B")) and (la is not None or points[c][0])
        ]
        got = acces_national.filter(pl.col("cible") == cible).join(
            charente.select("code_commune"), on="code_commune"
        )
        hotes = {c for c, _ in places}
        for code, la, lo in charente.select("code_commune", "latitude", "longitude").iter_rows():
            row = got.row(by_predicate=pl.col("code_commune") == code, named=True)
            if code in hotes:
                assert (row["statut"], row["distance_km"]) == ("dans_la_commune", 0.0), code
            else:
                best = min(haversine(la, lo, *point) for _, point in places)
                assert row["statut"] == "calculee"
                assert row["distance_km"] == pytest.approx(best, abs=1e-9), code
    angouleme = acces_national.filter(pl.col("code_commune") == "16015")
    assert angouleme["distance_km"].to_list() == [0.0, 0.0]


@pytest.mark.real_data
def test_real_overseas_stay_in_their_zone(acces_national) -> None:
    drom = acces_national.filter(pl.col("code_commune").str.starts_with("97"))
    assert drom.height == 2 * 129 and drom["statut"].is_in(["calculee", "dans_la_commune"]).all()
    assert (drom["code_commune"].str.slice(0, 3) == drom["code_commune_lieu"].str.slice(0, 3)).all()
    assert drom["distance_km"].max() < 300  # Guyane's interior, not an ocean crossing


@pytest.mark.real_data
def test_real_national_figures(nationales, acces_national) -> None:
    communes, lieux = nationales
    appartenances = communes.select(
        "code_commune",
        pl.lit("departement").alias("niveau"),
        pl.col("code_departement").alias("code"),
    )
    indicateurs = indicateurs_acces(acces_national, communes, appartenances, 2022)
    charente = dict(
        indicateurs.filter(pl.col("code") == "16").select("indicateur", "valeur").iter_rows()
    )
    # Population-weighted mean recomputed from the commune rows of Charente.
    rows = acces_national.filter(pl.col("cible") == "france_services").join(
        communes.filter(pl.col("code_departement") == "16"), on="code_commune"
    )
    direct = (rows["population"] * rows["distance_km"]).sum() / rows["population"].sum()
    assert charente["distance_france_services_km"] == pytest.approx(direct, rel=1e-12)
    assert 0 < charente["part_pop_france_services_plus_10km"] < 0.2
    statuts = dict(
        acces_national.filter(pl.col("cible") == "lieu_demarches")
        .group_by("statut")
        .len()
        .iter_rows()
    )
    assert statuts["commune_sans_coordonnees"] == 7
    debut = time.perf_counter()
    for critere in access.CIBLES_ACCES.values():
        access.plus_proches_lieux(
            communes, lieux.rename({"code_insee": "code_commune"}).filter(critere.filtre())
        )
    duree = (time.perf_counter() - debut) / len(access.CIBLES_ACCES)
    report(
        f"access: {communes.height} communes, nearest place per target in {duree:.2f} s;"
        f" Charente, population-weighted distance to a France Services"
        f" {charente['distance_france_services_km']:.2f} km, beyond 10 km"
        f" {charente['part_pop_france_services_plus_10km']:.1%}; help with procedures"
        f" {charente['distance_lieu_demarches_km']:.2f} km"
    )
