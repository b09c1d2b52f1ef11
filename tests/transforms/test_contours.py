"""Commune contours: the bundled file against the COG and La Poste's points, then the pure
functions on small squares whose answers can be worked out by hand."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from observatory.transforms import contours as ct
from observatory.validation.quarantine import account, number_rows
from tests.conftest import ASSETS

FICHIER = ASSETS / "ign_contours_communes/contours_communes_2025.parquet"
# Communes of the COG with no contour (PROVENANCE.md): none.
SANS_CONTOUR: list[str] = []
# La Poste points farther than 1 km from their commune's polygon (PROVENANCE.md).
LOIN_DU_CONTOUR = {"15141", "80785"}


@pytest.fixture(scope="module")
def contours_reels(communes: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Staged, then kept for the communes of the COG (as `int__contours_communes` does)."""
    raw = number_rows(pl.read_parquet(FICHIER), "ign__contours_communes", FICHIER.name, "sha")
    kept, quarantine = ct.stage_contours(raw)
    du_cog, sans, hors = ct.contours_du_cog(kept, communes)
    assert sans == SANS_CONTOUR and hors == [] and du_cog.height == kept.height
    return du_cog, quarantine, raw.height


# ---------------------------------------------------------------------------------------------
# The bundled file, on real data
# ---------------------------------------------------------------------------------------------


@pytest.mark.real_data
def test_every_commune_of_the_cog_has_one_contour(contours_reels, communes) -> None:
    kept, quarantine, lignes = contours_reels
    assert account(lignes, kept, quarantine)["lignes_rejetees"] == 0
    assert quarantine.is_empty()
    assert set(kept["code_commune"]) == set(communes["code_commune"])
    # one entry per commune: one outer ring of a first polygon, no (partie, anneau) twice
    premiers = kept.filter(pl.col("partie") == 0, pl.col("anneau") == 0)
    assert premiers.height == communes.height == 34875
    assert not kept.select("code_commune", "partie", "anneau").is_duplicated().any()
    drom = kept.filter(pl.col("code_commune").str.starts_with("97"))["code_commune"].n_unique()
    assert drom == 129  # Mayotte included
    charente = kept.filter(pl.col("code_commune").str.starts_with("16"))
    assert charente["code_commune"].n_unique() == 359


@pytest.mark.real_data
def test_shared_borders_are_the_same_edges(contours_reels) -> None:
    """mapshaper's simplification keeps neighbours' borders identical: no edge is used by
    more than two rings, and most are used by exactly two."""
    kept, _, _ = contours_reels
    bords = ct.aretes_non_orientees(ct.aretes(kept))
    usages = Counter(bords.group_by("ax", "ay", "bx", "by").len()["len"].to_list())
    assert set(usages) == {1, 2}
    assert usages[2] == 207_595 and usages[1] == 6_934


@pytest.mark.real_data
def test_la_poste_point_of_each_commune_lies_in_its_polygon(contours_reels, coordonnees) -> None:
    kept, _, _ = contours_reels
    points = coordonnees.join(kept.select("code_commune").unique(), on="code_commune")
    resultat = ct.dans_sa_commune(points, kept)
    assert resultat.height == points.height
    assert resultat["code_commune"].to_list() == points["code_commune"].to_list()  # order kept
    avec_point = resultat.filter(pl.col("latitude").is_not_null())
    assert avec_point.height == 34_868
    assert avec_point["dans_contour"].mean() >= 0.998
    assert avec_point["pres_du_contour"].mean() >= 0.99
    loin = avec_point.filter(~pl.col("pres_du_contour"))
    assert set(loin["code_commune"]) == LOIN_DU_CONTOUR
    assert loin["distance_contour_km"].max() < 1.5
    # a commune without a point is unknown, never "outside"
    sans_point = resultat.filter(pl.col("latitude").is_null())
    assert sans_point["dans_contour"].null_count() == sans_point.height == 7
    # the search over all of France finds the same commune for the points inside
    trouve = ct.commune_du_point(avec_point.select("code_commune", "latitude", "longitude"), kept)
    dedans = trouve.filter(pl.Series(avec_point["dans_contour"]))
    assert (dedans["code_commune_contour"] == dedans["code_commune"]).all()


# ---------------------------------------------------------------------------------------------
# Pure functions, on squares
# ---------------------------------------------------------------------------------------------


def anneau(code: str, coins: list[tuple[float, float]], partie: int = 0, trou: int = 0) -> dict:
    return {
        "code_commune": code,
        "partie": partie,
        "anneau": trou,
        "lon_e5": [round(x * ct.ECHELLE) for x, _ in coins],
        "lat_e5": [round(y * ct.ECHELLE) for _, y in coins],
    }


def carre(x0: float, y0: float, cote: float) -> list[tuple[float, float]]:
    return [(x0, y0), (x0 + cote, y0), (x0 + cote, y0 + cote), (x0, y0 + cote)]


SCHEMA = ct.SCHEMA
# Two communes side by side at latitude 45 (0.1 degree ≈ 7.9 km east-west, 11.1 km north-south):
# A = [0, 0.1] × [45, 45.1] with a hole [0.04, 0.06]², B = [0.1, 0.2] × [45, 45.1], plus an
# island of B further east.
CONTOURS = pl.DataFrame(
    [
        anneau("A", carre(0.0, 45.0, 0.1)),
        anneau("A", carre(0.04, 45.04, 0.02), trou=1),
        anneau("B", carre(0.1, 45.0, 0.1)),
        anneau("B", carre(0.3, 45.0, 0.02), partie=1),
    ],
    schema=SCHEMA,
)


@pytest.mark.parametrize(
    ("code", "lon", "lat", "dedans", "distance_km", "pres"),
    [
        ("A", 0.02, 45.05, True, 0.0, True),  # inside
        ("A", 0.05, 45.05, False, 0.786, True),  # in the hole: 0.01° east-west from its edge
        ("A", 0.15, 45.05, False, 3.928, False),  # in B, 0.05° east of A's edge
        ("A", 0.05, 45.105, False, 0.556, True),  # 0.005° north of A
        ("B", 0.31, 45.01, True, 0.0, True),  # on B's island
        ("B", 0.105, 45.05, True, 0.0, True),
        ("C", 0.05, 45.05, None, None, None),  # no contour: unknown
        ("A", None, None, None, None, None),  # no point: unknown
    ],
)
def test_dans_sa_commune(code, lon, lat, dedans, distance_km, pres) -> None:
    points = pl.DataFrame(
        {"id": [1], "code_commune": [code], "latitude": [lat], "longitude": [lon]},
        schema={
            "id": pl.Int64,
            "code_commune": pl.String,
            "latitude": pl.Float64,
            "longitude": pl.Float64,
        },
    )
    resultat = ct.dans_sa_commune(points, CONTOURS).row(0, named=True)
    assert resultat["id"] == 1
    assert resultat["dans_contour"] is dedans
    assert resultat["pres_du_contour"] is pres
    if distance_km is None:
        assert resultat["distance_contour_km"] is None
    else:
        assert resultat["distance_contour_km"] == pytest.approx(distance_km, abs=0.002)


def test_commune_du_point_finds_the_polygon_holding_each_point() -> None:
    points = pl.DataFrame(
        {
            "latitude": [45.05, 45.05, 45.05, 45.01, 46.0, None],
            "longitude": [0.02, 0.15, 0.05, 0.31, 0.0, 0.02],
        }
    )
    resultat = ct.commune_du_point(points, CONTOURS)
    assert resultat["code_commune_contour"].to_list() == ["A", "B", None, "B", None, None]


def test_stage_contours_quarantines_bad_codes_and_degenerate_rings() -> None:
    raw = CONTOURS.rename({"code_commune": "code_insee"}).with_columns(
        pl.Series("code_insee", ["16015", "16015", "16O15", "2a004"])
    )
    degenere = pl.DataFrame(
        [{**anneau("16089", [(0.0, 0.0), (1.0, 1.0)]), "code_insee": "16089"}],
        schema={
            "code_insee": pl.String,
            **{k: v for k, v in SCHEMA.items() if k != "code_commune"},
        },
    ).select(raw.columns)
    raw = number_rows(pl.concat([raw, degenere]), "ign__contours_communes", "f.parquet", "s")
    kept, quarantine = ct.stage_contours(raw)
    assert quarantine.select("ligne", "code_raison", "valeur_brute").rows() == [
        (3, "code_commune_invalide", "16O15"),
        (5, "anneau_degenere", "2 sommets"),
    ]
    assert account(raw.height, kept, quarantine)["lignes_gardees"] == 3
    assert kept.columns == list(SCHEMA)
    assert kept["code_commune"].unique().sort().to_list() == ["16015", "2A004"]
    du_cog, sans, hors = ct.contours_du_cog(
        kept, pl.DataFrame({"code_commune": ["16015", "16089"]})
    )
    assert du_cog["code_commune"].unique().to_list() == ["16015"]
    assert (sans, hors) == (["16089"], ["2A004"])


def test_limites_between_groups_and_around_the_drawing() -> None:
    """A and B in one group: only the outline; in two groups: the outline and the shared
    side once."""
    sans_trou = CONTOURS.filter(pl.col("anneau") == 0, pl.col("partie") == 0)
    e = ct.ECHELLE

    def longueur(lignes: list[list[tuple[int, int]]]) -> float:
        return (
            sum(abs(a[0] - b[0]) + abs(a[1] - b[1]) for ligne in lignes for a, b in pairwise(ligne))
            / e
        )

    un_groupe = ct.limites(sans_trou, pl.DataFrame({"code_commune": ["A", "B"], "groupe": "g"}))
    assert longueur(un_groupe) == pytest.approx(0.6)  # 0.2 × 0.1 rectangle
    assert len(un_groupe) == 1 and un_groupe[0][0] == un_groupe[0][-1]  # one closed loop
    deux = ct.limites(sans_trou, pl.DataFrame({"code_commune": ["A", "B"], "groupe": ["1", "2"]}))
    assert longueur(deux) == pytest.approx(0.7)


def test_chainer_uses_every_segment_once() -> None:
    segments = [((0, 0), (1, 0)), ((1, 0), (1, 1)), ((1, 1), (0, 0)), ((1, 0), (2, 0))]
    lignes = ct.chainer(segments)
    utilises = sorted(tuple(sorted((a, b))) for ligne in lignes for a, b in pairwise(ligne))
    assert utilises == sorted(tuple(sorted(s)) for s in segments)


def test_chemins_svg_one_path_per_commune_with_every_ring() -> None:
    cadre = ct.cadrage(CONTOURS, largeur=320, hauteur_max=400, marge=0)
    assert cadre.largeur == 320
    chemins = ct.chemins_svg(CONTOURS, cadre)
    assert chemins["code_commune"].to_list() == ["A", "B"]
    d_a, d_b = chemins["d"].to_list()
    assert d_a.count("M") == 2 and d_a.count("Z") == 2  # outer ring and hole
    assert d_b.count("M") == 2  # square and island
    # west edge of A at x = 0, north edge at y = 0; 0.32° of longitude fill the width
    assert d_a.startswith("M0 ")
    xs = [float(v) for v in d_b.replace("M", " ").replace("Z", " ").split()[0::2]]
    assert max(xs) == pytest.approx(320, abs=0.1)
    points = ct.projeter_points(pl.DataFrame({"latitude": [45.1], "longitude": [0.0]}), cadre)
    assert_frame_equal(
        points.select("x", "y"), pl.DataFrame({"x": [0.0], "y": [0.0]}), check_exact=False
    )


def test_dissoudre_joins_communes_into_their_group() -> None:
    """A and B (with A's hole and B's island) in one group: the outline of the 0.2 × 0.1
    rectangle, the hole and the island, as three closed rings."""
    groupes = pl.DataFrame({"code_commune": ["A", "B"], "groupe": ["g", "g"]})
    dissous = ct.dissoudre(CONTOURS, groupes)
    assert dissous["code_commune"].unique().to_list() == ["g"]
    assert dissous.height == 3
    e = ct.ECHELLE
    boites = sorted(
        (min(x) / e, min(y) / e, max(x) / e, max(y) / e)
        for x, y in zip(dissous["lon_e5"], dissous["lat_e5"], strict=True)
    )
    assert boites == [(0.0, 45.0, 0.2, 45.1), (0.04, 45.04, 0.06, 45.06), (0.3, 45.0, 0.32, 45.02)]
    # the shared side x = 0.1 is gone: the outline's vertices at x = 0.1 are on its edges only
    contour = dissous.filter(pl.col("lon_e5").list.max() == round(0.2 * e))
    assert sorted(contour["lat_e5"].item().to_list()) == [4_500_000] * 3 + [4_510_000] * 3
    codes = pl.DataFrame({"c": ["97411", "2A004", "16015"]}).select(ct.departement_de(pl.col("c")))
    assert codes["c"].to_list() == ["974", "2A", "16"]
