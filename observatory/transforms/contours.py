"""Commune contours (IGN ADMIN EXPRESS, simplified): staging, point-in-polygon, map geometry.

The bundled file (`assets/ign_contours_communes/`) has one row per ring: `code_insee`,
`partie` (polygon of the commune), `anneau` (0 = outer ring, 1… = holes) and the ring's
vertices as integer lists `lon_e5`, `lat_e5` (WGS84 degrees × 100 000, about 1 m), rings open
(the last vertex is not the first repeated). A border shared by two communes is the same
vertices in both, so the edges between communes can be matched exactly: that is how the map
draws EPCI and département outlines without a dissolve.

Point-in-polygon uses the even-odd rule over every ring of the commune (holes and islands
included) and the distance to the nearest edge on a local plane (cos(latitude)), so a point
just outside a simplified border can be accepted within a tolerance.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from observatory.geo import RAYON_TERRE_KM
from observatory.transforms.territories import normalise_codes_communes
from observatory.validation.quarantine import Check, run_checks, split_rejected

ECHELLE = 100_000  # the bundled coordinates are degrees × ECHELLE
TOLERANCE_KM = 1.0  # simplification moves borders by up to a few hundred metres
KM_PAR_DEGRE = math.pi * RAYON_TERRE_KM / 180.0
CELLULE_DEGRES = 0.2  # grid of the candidate search of `commune_du_point`
# The layout of staged contours (and of groups dissolved from them).
SCHEMA = {
    "code_commune": pl.String,
    "partie": pl.Int16,
    "anneau": pl.Int16,
    "lon_e5": pl.List(pl.Int32),
    "lat_e5": pl.List(pl.Int32),
}


# ---------------------------------------------------------------------------------------------
# Staging
# ---------------------------------------------------------------------------------------------


def stage_contours(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The rings, typed; a ring with an invalid commune code, fewer than 3 vertices or
    coordinate lists of different lengths is quarantined with a reason.

    `raw`: the bundled Parquet prefixed by `IDENTITE_LIGNE` (`number_rows`).
    """
    code, raison = normalise_codes_communes(pl.col("code_insee"))
    frame = raw.with_columns(
        code.alias("code_commune"),
        raison.alias("_raison_code"),
        pl.col("lon_e5").list.len().alias("_n_lon"),
        pl.col("lat_e5").list.len().alias("_n_lat"),
    )
    checks = [
        Check("code_insee", "code_commune_invalide", pl.col("_raison_code").is_not_null()),
        Check(
            "lon_e5",
            "anneau_degenere",
            (pl.col("_n_lon") != pl.col("_n_lat")) | (pl.col("_n_lon") < 3),
            valeur=pl.format("{} sommets", pl.col("_n_lon")),
        ),
    ]
    quarantine = run_checks(frame, checks)
    kept = split_rejected(frame, quarantine).select(
        pl.col(nom).cast(type_) for nom, type_ in SCHEMA.items()
    )
    return kept.sort("code_commune", "partie", "anneau"), quarantine


def contours_du_cog(
    contours: pl.DataFrame, communes: pl.DataFrame
) -> tuple[pl.DataFrame, list[str], list[str]]:
    """The rings of the communes of the COG (`communes.code_commune`), the communes without
    any ring and the codes of rings that are not communes of the COG (a vintage mismatch)."""
    codes = communes.select("code_commune")
    gardes = contours.join(codes, on="code_commune", how="semi")
    sans = codes.join(contours.select("code_commune").unique(), on="code_commune", how="anti")
    hors = contours.select("code_commune").unique().join(codes, on="code_commune", how="anti")
    return gardes, sorted(sans["code_commune"]), sorted(hors["code_commune"])


# ---------------------------------------------------------------------------------------------
# Edges
# ---------------------------------------------------------------------------------------------


def _suivant(colonne: str) -> pl.Expr:
    """The list of each vertex's successor on its ring (the ring closes on its first vertex)."""
    return pl.concat_list(pl.col(colonne).list.slice(1), pl.col(colonne).list.first())


def aretes(contours: pl.DataFrame) -> pl.DataFrame:
    """One row per edge of every ring: `code_commune`, integer ends `x1, y1, x2, y2`
    (degrees × ECHELLE: lon, lat)."""
    return contours.select(
        "code_commune",
        pl.col("lon_e5").alias("x1"),
        pl.col("lat_e5").alias("y1"),
        _suivant("lon_e5").alias("x2"),
        _suivant("lat_e5").alias("y2"),
    ).explode(["x1", "y1", "x2", "y2"], empty_as_null=False)


def aretes_non_orientees(bords: pl.DataFrame) -> pl.DataFrame:
    """`bords` (from `aretes`) with each edge's ends in a fixed order `ax, ay, bx, by`, so
    the two rings sharing an edge give the same row; degenerate edges dropped."""
    a_avant = (pl.col("x1") < pl.col("x2")) | (
        (pl.col("x1") == pl.col("x2")) & (pl.col("y1") <= pl.col("y2"))
    )
    return bords.select(
        pl.when(a_avant).then(pl.col("x1")).otherwise(pl.col("x2")).alias("ax"),
        pl.when(a_avant).then(pl.col("y1")).otherwise(pl.col("y2")).alias("ay"),
        pl.when(a_avant).then(pl.col("x2")).otherwise(pl.col("x1")).alias("bx"),
        pl.when(a_avant).then(pl.col("y2")).otherwise(pl.col("y1")).alias("by"),
        pl.exclude("x1", "y1", "x2", "y2"),
    ).filter((pl.col("ax") != pl.col("bx")) | (pl.col("ay") != pl.col("by")))


# ---------------------------------------------------------------------------------------------
# Point in polygon
# ---------------------------------------------------------------------------------------------


def _mesures(points: pl.DataFrame, bords: pl.DataFrame, cle: list[str]) -> pl.DataFrame:
    """Per (point, commune): whether the point is inside (even-odd crossings) and its
    distance in km to the nearest edge. `points` has `_i`, `latitude`, `longitude` and the
    join key; `bords` the edges with the same key."""
    px, py = pl.col("longitude"), pl.col("latitude")
    x1, y1 = pl.col("x1") / ECHELLE, pl.col("y1") / ECHELLE
    x2, y2 = pl.col("x2") / ECHELLE, pl.col("y2") / ECHELLE
    traverse = ((y1 > py) != (y2 > py)) & (px < (x2 - x1) * (py - y1) / (y2 - y1) + x1)
    kx = py.radians().cos() * KM_PAR_DEGRE
    ax, ay = (x1 - px) * kx, (y1 - py) * KM_PAR_DEGRE
    dx, dy = (x2 - x1) * kx, (y2 - y1) * KM_PAR_DEGRE
    longueur2 = dx * dx + dy * dy
    t = pl.when(longueur2 > 0).then(-(ax * dx + ay * dy) / longueur2).otherwise(0.0).clip(0.0, 1.0)
    distance = ((ax + t * dx).pow(2) + (ay + t * dy).pow(2)).sqrt()
    return (
        points.join(bords, on=cle, how="inner")
        .with_columns(traverse.alias("_traverse"), distance.alias("_distance"))
        .group_by("_i", "code_commune")
        .agg(
            (pl.col("_traverse").sum() % 2 == 1).alias("dans_contour"),
            pl.col("_distance").min().alias("distance_bord_km"),
        )
    )


def dans_sa_commune(
    points: pl.DataFrame, contours: pl.DataFrame, tolerance_km: float = TOLERANCE_KM
) -> pl.DataFrame:
    """`points` (`code_commune`, `latitude`, `longitude`, any other column), in order, with:
    `dans_contour` (the point lies inside its commune's polygon), `distance_contour_km` (0
    inside, else to the nearest border of its commune) and `pres_du_contour` (inside or within
    `tolerance_km`). All three are null when the commune has no contour or the point no
    coordinates: unknown, not false."""
    numerotes = points.with_row_index("_i")
    connus = numerotes.filter(
        pl.col("latitude").is_not_null(), pl.col("longitude").is_not_null()
    ).select("_i", "code_commune", pl.col("latitude", "longitude").cast(pl.Float64))
    mesures = _mesures(connus, aretes(contours), ["code_commune"]).select(
        "_i",
        "dans_contour",
        pl.when(pl.col("dans_contour"))
        .then(0.0)
        .otherwise(pl.col("distance_bord_km"))
        .alias("distance_contour_km"),
    )
    return (
        numerotes.join(mesures, on="_i", how="left")
        .sort("_i")
        .with_columns(
            (pl.col("distance_contour_km") <= tolerance_km).alias("pres_du_contour"),
        )
        .drop("_i")
    )


def _cellules(minimum: pl.Expr, maximum: pl.Expr) -> pl.Expr:
    """The grid cells (integer indices) a [minimum, maximum] interval of degrees covers."""
    debut = (minimum / CELLULE_DEGRES).floor().cast(pl.Int32)
    fin = (maximum / CELLULE_DEGRES).floor().cast(pl.Int32)
    return pl.int_ranges(debut, fin + 1, dtype=pl.Int32)


def commune_du_point(points: pl.DataFrame, contours: pl.DataFrame) -> pl.DataFrame:
    """`points` (`latitude`, `longitude`, any other column), in order, with
    `code_commune_contour`: the commune whose polygon contains the point (null when none
    does: sea, abroad, or a gap of the simplification). Candidates are the communes whose
    bounding box meets the point's grid cell, so the whole of France can be searched."""
    numerotes = points.with_row_index("_i")
    connus = numerotes.filter(
        pl.col("latitude").is_not_null(), pl.col("longitude").is_not_null()
    ).select(
        "_i",
        pl.col("latitude", "longitude").cast(pl.Float64),
        (pl.col("longitude") / CELLULE_DEGRES).floor().cast(pl.Int32).alias("_cx"),
        (pl.col("latitude") / CELLULE_DEGRES).floor().cast(pl.Int32).alias("_cy"),
    )
    boites = contours.group_by("code_commune").agg(
        (pl.col("lon_e5").list.min().min() / ECHELLE).alias("_xmin"),
        (pl.col("lon_e5").list.max().max() / ECHELLE).alias("_xmax"),
        (pl.col("lat_e5").list.min().min() / ECHELLE).alias("_ymin"),
        (pl.col("lat_e5").list.max().max() / ECHELLE).alias("_ymax"),
    )
    grille = (
        boites.select(
            "code_commune",
            _cellules(pl.col("_xmin"), pl.col("_xmax")).alias("_cx"),
            _cellules(pl.col("_ymin"), pl.col("_ymax")).alias("_cy"),
        )
        .explode("_cx", empty_as_null=False)
        .explode("_cy", empty_as_null=False)
    )
    candidats = (
        connus.join(grille, on=["_cx", "_cy"], how="inner")
        .join(boites, on="code_commune", how="inner")
        .filter(
            pl.col("longitude").is_between(pl.col("_xmin"), pl.col("_xmax")),
            pl.col("latitude").is_between(pl.col("_ymin"), pl.col("_ymax")),
        )
        .select("_i", "latitude", "longitude", "code_commune")
    )
    trouves = (
        _mesures(candidats, aretes(contours), ["code_commune"])
        .filter(pl.col("dans_contour"))
        .sort("_i", "code_commune")
        .group_by("_i", maintain_order=True)
        .agg(pl.col("code_commune").first().alias("code_commune_contour"))
    )
    return numerotes.join(trouves, on="_i", how="left").sort("_i").drop("_i")


# ---------------------------------------------------------------------------------------------
# Map geometry (SVG)
# ---------------------------------------------------------------------------------------------


def _sommets(contours: pl.DataFrame) -> pl.DataFrame:
    return contours.select(
        "code_commune", "partie", "anneau", pl.col("lon_e5"), pl.col("lat_e5")
    ).with_row_index("_anneau")


@dataclass(frozen=True)
class Cadre:
    """A plane projection of degrees into a drawing: equirectangular around `lat0`
    (x = lon · cos(lat0), y = −lat), shifted by (x0, y0) and scaled by `echelle`."""

    x0: float
    y0: float
    echelle: float
    cos0: float
    largeur: float
    hauteur: float
    decimales: int = 1  # of the drawing coordinates written

    def x(self, lon: pl.Expr) -> pl.Expr:
        return ((lon * self.cos0 - self.x0) * self.echelle).round(self.decimales)

    def y(self, lat: pl.Expr) -> pl.Expr:
        return ((self.y0 - lat) * self.echelle).round(self.decimales)


def cadrage(
    contours: pl.DataFrame,
    largeur: float,
    hauteur_max: float,
    marge: float = 4.0,
    decimales: int = 1,
) -> Cadre:
    """The projection that fits the contours in `largeur` × at most `hauteur_max` (drawing
    units), centred on their mean latitude, `marge` units around; coordinates written with
    `decimales` decimals (0 for a small-scale map: fewer, shorter vertices)."""
    bornes = contours.select(
        pl.col("lon_e5").list.min().min().alias("xmin"),
        pl.col("lon_e5").list.max().max().alias("xmax"),
        pl.col("lat_e5").list.min().min().alias("ymin"),
        pl.col("lat_e5").list.max().max().alias("ymax"),
    ).row(0, named=True)
    xmin, xmax = bornes["xmin"] / ECHELLE, bornes["xmax"] / ECHELLE
    ymin, ymax = bornes["ymin"] / ECHELLE, bornes["ymax"] / ECHELLE
    cos0 = math.cos(math.radians((ymin + ymax) / 2))
    etendue_x = max((xmax - xmin) * cos0, 1e-9)
    etendue_y = max(ymax - ymin, 1e-9)
    echelle = min((largeur - 2 * marge) / etendue_x, (hauteur_max - 2 * marge) / etendue_y)
    hauteur = etendue_y * echelle + 2 * marge
    largeur_utile = etendue_x * echelle + 2 * marge
    # centred horizontally when the height is what limits the scale
    x0 = xmin * cos0 - (marge + (largeur - largeur_utile) / 2) / echelle
    return Cadre(x0, ymax + marge / echelle, echelle, cos0, largeur, hauteur, decimales)


def _projection(cadre: Cadre) -> tuple[pl.Expr, pl.Expr]:
    """The expressions of a vertex's drawing coordinates (from `lon_e5`, `lat_e5`)."""
    return cadre.x(pl.col("lon_e5") / ECHELLE), cadre.y(pl.col("lat_e5") / ECHELLE)


def _texte_coordonnees(x: pl.Expr, y: pl.Expr) -> pl.Expr:
    return pl.format("{} {}", x, y).str.replace_all(r"\.0\b", "")


def chemins_svg(contours: pl.DataFrame, cadre: Cadre) -> pl.DataFrame:
    """Per commune, the `d` of its SVG path (every ring, `M … Z`; draw with
    `fill-rule="evenodd"` so holes stay holes): `code_commune`, `d`. A vertex written at the
    same place as the one before it is left out."""
    x, y = _projection(cadre)
    return (
        _sommets(contours)
        .explode(["lon_e5", "lat_e5"], empty_as_null=False)
        .with_columns(_texte_coordonnees(x, y).alias("_xy"))
        .filter(pl.col("_xy") != pl.col("_xy").shift(1).over("_anneau").fill_null(""))
        .group_by("_anneau", maintain_order=True)
        .agg(
            pl.col("code_commune").first(),
            pl.format("M{}Z", pl.col("_xy").str.join(" ")).alias("_d"),
        )
        .group_by("code_commune", maintain_order=True)
        .agg(pl.col("_d").str.join("").alias("d"))
    )


def limites(contours: pl.DataFrame, groupes: pl.DataFrame) -> list[list[tuple[int, int]]]:
    """The borders between groups of communes, as polylines of integer vertices.

    `groupes`: `code_commune`, `groupe` (e.g. its EPCI). An edge is a border when the two
    communes on its sides are in different groups, or when only one side is among
    `contours` (the outline of the whole drawing). A commune without a group is its own.
    """
    bords = aretes(contours).join(groupes, on="code_commune", how="left")
    bords = bords.with_columns(pl.col("groupe").fill_null(pl.col("code_commune")))
    non_orientees = aretes_non_orientees(bords)
    frontieres = (
        non_orientees.group_by("ax", "ay", "bx", "by")
        .agg(pl.col("groupe").n_unique().alias("_groupes"), pl.len().alias("_cotes"))
        .filter((pl.col("_groupes") > 1) | (pl.col("_cotes") == 1))
        .sort("ax", "ay", "bx", "by")
    )
    return chainer(((ax, ay), (bx, by)) for ax, ay, bx, by, _, _ in frontieres.iter_rows())


def dissoudre(contours: pl.DataFrame, groupes: pl.DataFrame) -> pl.DataFrame:
    """The polygons of groups of communes (e.g. départements), as rings of the same layout
    as the contours (`code_commune` is the group's code).

    An edge is kept when it bounds its group (no other ring of the group has it); the kept
    edges are joined into closed rings. Holes and islands come out as rings too: draw with
    `fill-rule="evenodd"`. Communes without a group are left out.
    """
    bords = aretes_non_orientees(aretes(contours).join(groupes, on="code_commune", how="inner"))
    bords = (
        bords.group_by("groupe", "ax", "ay", "bx", "by")
        .len()
        .filter(pl.col("len") % 2 == 1)
        .sort("groupe", "ax", "ay", "bx", "by")
    )
    lignes: list[dict] = []
    for (groupe,), partie in bords.group_by(["groupe"], maintain_order=True):
        segments = [((ax, ay), (bx, by)) for _, ax, ay, bx, by, _ in partie.iter_rows()]
        for i, boucle in enumerate(chainer(segments)):
            sommets = boucle[:-1] if boucle[0] == boucle[-1] else boucle
            lignes.append(
                {
                    "code_commune": groupe,
                    "partie": i,
                    "anneau": 0,
                    "lon_e5": [p[0] for p in sommets],
                    "lat_e5": [p[1] for p in sommets],
                }
            )
    return pl.DataFrame(lignes, schema=SCHEMA)


def departement_de(code_commune: pl.Expr) -> pl.Expr:
    """The département of a commune code: its first three characters in the DROM (97x),
    its first two elsewhere (2A, 2B in Corsica)."""
    return (
        pl.when(code_commune.str.starts_with("97"))
        .then(code_commune.str.slice(0, 3))
        .otherwise(code_commune.str.slice(0, 2))
    )


def departements(contours: pl.DataFrame) -> pl.DataFrame:
    """The départements' polygons, dissolved from their communes' contours."""
    groupes = contours.select(
        "code_commune", departement_de(pl.col("code_commune")).alias("groupe")
    ).unique()
    return dissoudre(contours, groupes)


def chainer(
    segments: Iterable[tuple[tuple[int, int], tuple[int, int]]],
) -> list[list[tuple[int, int]]]:
    """Join segments into as few polylines as a greedy walk finds (a closed loop ends on its
    first vertex). Every segment is used once."""
    voisins: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for a, b in segments:
        voisins[a].append(b)
        voisins[b].append(a)
    restants = {s: len(v) for s, v in voisins.items()}
    utilises: set[tuple[tuple[int, int], tuple[int, int]]] = set()

    def marcher(depart: tuple[int, int]) -> list[tuple[int, int]]:
        ligne, courant = [depart], depart
        while True:
            suivant = next(
                (v for v in voisins[courant] if (min(courant, v), max(courant, v)) not in utilises),
                None,
            )
            if suivant is None:
                return ligne
            utilises.add((min(courant, suivant), max(courant, suivant)))
            restants[courant] -= 1
            restants[suivant] -= 1
            ligne.append(suivant)
            courant = suivant

    lignes = []
    # open polylines start at a vertex of odd degree; then what is left is closed loops
    for depart in [s for s, v in voisins.items() if len(v) % 2 == 1] + list(voisins):
        while restants[depart] > 0:
            lignes.append(marcher(depart))
    return lignes


def polylignes_svg(lignes: list[list[tuple[int, int]]], cadre: Cadre) -> str:
    """The `d` of a path drawing integer-vertex polylines in the drawing's coordinates."""
    if not lignes:
        return ""
    x, y = _projection(cadre)
    sommets = pl.DataFrame(
        {
            "_ligne": [i for i, ligne in enumerate(lignes) for _ in ligne],
            "lon_e5": [p[0] for ligne in lignes for p in ligne],
            "lat_e5": [p[1] for ligne in lignes for p in ligne],
        },
        schema={"_ligne": pl.Int64, "lon_e5": pl.Int64, "lat_e5": pl.Int64},
    )
    chemins = (
        sommets.with_columns(_texte_coordonnees(x, y).alias("_xy"))
        .group_by("_ligne", maintain_order=True)
        .agg(pl.format("M{}", pl.col("_xy").str.join(" ")).alias("d"))
    )
    return "".join(chemins["d"].to_list())


def projeter_points(points: pl.DataFrame, cadre: Cadre) -> pl.DataFrame:
    """`points` (`latitude`, `longitude` in degrees) with their drawing coordinates `x`, `y`."""
    return points.with_columns(
        cadre.x(pl.col("longitude")).alias("x"), cadre.y(pl.col("latitude")).alias("y")
    )
