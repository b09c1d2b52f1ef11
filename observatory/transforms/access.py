"""Access to help: straight-line distance from each commune to the nearest place of a kind.

Nearest places are found with a kept spatial index (scipy `cKDTree`, one per search zone) on
3-D unit-sphere coordinates, for every commune at once: the chord between two points of the
sphere grows with the great-circle angle, so the nearest by chord is the nearest on the
sphere; the chord converts exactly to an arc, and the distance of each returned neighbour is
then recomputed with the haversine formula (`geo.haversine_km`, as everywhere else).

A commune that hosts a place of the kind (the place's `code_commune` is the commune's) is at
distance 0 from it, whatever the distance between the place and the commune's point.

The indicators of every level are sums over these commune rows (population × distance,
population beyond 10 and 20 km) in one SQL model, `dbt_like_sql/indicators/ind_acces.sql`:
any level — EPCI, département, bassin de vie, a user's zoning — is one group-by over the
membership table (`int__appartenances`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.spatial import cKDTree

from observatory.geo import RAYON_TERRE_KM, haversine_km
from observatory.transforms.territories import population_communes

SERVICE_DEMARCHES = "Aide aux démarches administratives"
PROGRAMME_FRANCE_SERVICES = "France Services"
PROGRAMME_CONSEILLERS_NUMERIQUES = "Conseillers numériques"
# Extra neighbours first asked to the index, so that places at the same distance as the k-th
# (several places geocoded to one point) are all seen and ordered by id, not by the tree.
MARGE_EGALITES = 2
TOLERANCE_EGALITE_KM = 1e-6

# `statut` of a commune's distance to the nearest place of a kind.
STATUT_DANS_LA_COMMUNE = "dans_la_commune"  # it hosts one: 0 km
STATUT_CALCULEE = "calculee"  # nearest place in its search zone
STATUT_SANS_COORDONNEES = "commune_sans_coordonnees"  # no point for the commune: unknown
STATUT_AUCUN_LIEU = "aucun_lieu_dans_la_zone"  # none in its DROM / Corsica / mainland: null
STATUTS = (STATUT_DANS_LA_COMMUNE, STATUT_CALCULEE, STATUT_SANS_COORDONNEES, STATUT_AUCUN_LIEU)
# Columns of a place the nearest-place search needs.
COLONNES_POSITION = ("id", "code_commune", "latitude", "longitude")


@dataclass(frozen=True)
class Critere:
    """The places that count: those whose multi-valued (`|`) column `champ` holds `valeur`."""

    champ: str
    valeur: str
    ou: Critere | None = None  # places meeting this other criterion count too

    def filtre(self) -> pl.Expr:
        tokens = pl.col(self.champ).str.split("|").list.eval(pl.element().str.strip_chars())
        retenu = tokens.list.contains(self.valeur).fill_null(False)
        return retenu | self.ou.filtre() if self.ou is not None else retenu


FRANCE_SERVICES = Critere("dispositif_programmes_nationaux", PROGRAMME_FRANCE_SERVICES)
# Every France Services helps with administrative procedures by its charter (décret
# 2019-1165 / accord-cadre France Services): a labelled place whose record lacks the service
# (990 conseillers-numériques records) is a gap in the record, not in the help.
DEMARCHES = Critere("services", SERVICE_DEMARCHES, ou=FRANCE_SERVICES)
CONSEILLERS_NUMERIQUES = Critere(
    "dispositif_programmes_nationaux", PROGRAMME_CONSEILLERS_NUMERIQUES
)
# Access targets of the indicators: code used in indicator names → places that count.
CIBLES_ACCES: dict[str, Critere] = {
    "lieu_demarches": DEMARCHES,
    "france_services": FRANCE_SERVICES,
}


def zone_recherche(code_commune: pl.Expr) -> pl.Expr:
    """Where a commune's nearest place is looked for: its DROM, Corsica, or mainland France.

    A straight line across the sea is no access: a commune of Guadeloupe is only matched to a
    place in Guadeloupe, and gets no distance (not a 7 000 km one) when there is none. Coastal
    islands (Belle-Île, Ouessant…) stay with the mainland: their distance crosses the sea.
    """
    return (
        pl.when(code_commune.str.starts_with("97"))
        .then(code_commune.str.slice(0, 3))
        .when(code_commune.str.starts_with("2A") | code_commune.str.starts_with("2B"))
        .then(pl.lit("corse"))
        .otherwise(pl.lit("metropole"))
    )


def sphere_unite(latitude: np.ndarray, longitude: np.ndarray) -> np.ndarray:
    """(n, 3) coordinates on the unit sphere of WGS84 points (degrees)."""
    phi, lam = np.radians(latitude), np.radians(longitude)
    return np.column_stack((np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)))


def corde_vers_km(corde: np.ndarray) -> np.ndarray:
    """Great-circle distance (km) of a chord of the unit sphere: R · 2 arcsin(c / 2)."""
    return 2 * RAYON_TERRE_KM * np.arcsin(np.clip(corde / 2, 0.0, 1.0))


def km_vers_corde(km: float) -> float:
    """Chord of the unit sphere for a great-circle distance (km); inverse of corde_vers_km."""
    return float(2 * np.sin(min(km / RAYON_TERRE_KM, np.pi) / 2))


class ArbresParZone:
    """One cKDTree per search zone on unit-sphere coordinates of points.

    `lieux` has `zone`, `latitude`, `longitude` (no nulls); answers are row positions in it.
    """

    def __init__(self, lieux: pl.DataFrame) -> None:
        self.taille = lieux.height
        self._arbres: dict[str, tuple[cKDTree, np.ndarray]] = {}
        positions = lieux.select("zone", "latitude", "longitude").with_row_index("_position")
        for (zone,), groupe in positions.group_by("zone"):
            xyz = sphere_unite(groupe["latitude"].to_numpy(), groupe["longitude"].to_numpy())
            self._arbres[str(zone)] = (cKDTree(xyz), groupe["_position"].to_numpy())

    def plus_proches(
        self, points: pl.DataFrame, k: int, rayon_max_km: float | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The `k` nearest places of each point (`zone`, `latitude`, `longitude`) in its zone.

        Returns (positions, km), both (n, k): row positions in `lieux` (-1 where the zone has
        fewer places, or none within `rayon_max_km`) and great-circle distances (NaN there).
        """
        n = points.height
        positions = np.full((n, k), -1, dtype=np.int64)
        km = np.full((n, k), np.nan)
        borne = np.inf if rayon_max_km is None else km_vers_corde(rayon_max_km)
        requete = points.select("zone", "latitude", "longitude").with_row_index("_point")
        for (zone,), groupe in requete.group_by("zone"):
            if zone not in self._arbres:
                continue
            arbre, origine = self._arbres[str(zone)]
            xyz = sphere_unite(groupe["latitude"].to_numpy(), groupe["longitude"].to_numpy())
            cordes, voisins = arbre.query(xyz, k=[*range(1, k + 1)], distance_upper_bound=borne)
            trouve = np.isfinite(cordes)
            lignes = groupe["_point"].to_numpy()
            positions[lignes] = np.where(trouve, origine[np.minimum(voisins, arbre.n - 1)], -1)
            km[lignes] = np.where(trouve, corde_vers_km(np.where(trouve, cordes, 0.0)), np.nan)
        return positions, km


def positionner_lieux(lieux: pl.DataFrame, communes: pl.DataFrame) -> pl.DataFrame:
    """Each place's search zone and point: its own coordinates, else its commune's point.

    `position_lieu` says which (`lieu`, `point_commune`); null when neither is known, and such
    a place is then only found by the commune that hosts it. Itinerant places are rows per
    stop in the registries: each counts at its stop.
    """
    points = communes.select(
        "code_commune", pl.col("latitude").alias("_lat_c"), pl.col("longitude").alias("_lon_c")
    )
    propre = pl.col("latitude").is_not_null() & pl.col("longitude").is_not_null()
    commune = pl.col("_lat_c").is_not_null() & pl.col("_lon_c").is_not_null()
    return (
        lieux.join(points, on="code_commune", how="left")
        .with_columns(
            zone_recherche(pl.col("code_commune")).alias("zone"),
            pl.when(propre)
            .then(pl.lit("lieu"))
            .when(commune)
            .then(pl.lit("point_commune"))
            .alias("position_lieu"),
            pl.when(propre).then("latitude").otherwise("_lat_c").alias("_lat"),
            pl.when(propre).then("longitude").otherwise("_lon_c").alias("_lon"),
        )
        .drop("_lat_c", "_lon_c")
    )


def _k_plus_proches_et_egalites(
    index: ArbresParZone, points: pl.DataFrame, k: int, rayon_max_km: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest places of each point and every place tied with the k-th.

    Returns (positions, garde): positions as `ArbresParZone.plus_proches`, and the mask of those
    kept. Points whose last neighbour still ties the k-th are asked again with twice as many.
    """
    largeur = min(k + MARGE_EGALITES, max(index.taille, 1))
    positions, km = index.plus_proches(points, largeur, rayon_max_km)
    lignes = np.arange(points.height)
    while largeur < index.taille:
        kieme = np.nan_to_num(km[lignes, min(k, largeur) - 1], nan=np.inf)
        lignes = lignes[km[lignes, -1] <= kieme + TOLERANCE_EGALITE_KM]
        if lignes.size == 0:
            break
        largeur = min(2 * largeur, index.taille)
        encore, km_encore = index.plus_proches(points[lignes], largeur, rayon_max_km)
        positions = np.pad(
            positions, ((0, 0), (0, largeur - positions.shape[1])), constant_values=-1
        )
        km = np.pad(km, ((0, 0), (0, largeur - km.shape[1])), constant_values=np.nan)
        positions[lignes], km[lignes] = encore, km_encore
    kieme = np.nan_to_num(km[:, min(k, km.shape[1]) - 1 : min(k, km.shape[1])], nan=np.inf)
    return positions, (positions >= 0) & (km <= kieme + TOLERANCE_EGALITE_KM)


class IndexLieux:
    """Kept spatial index of a set of places: built once, asked for any communes and any k.

    `lieux`: the places that count (already filtered), with `id`, `code_commune`, `latitude`,
    `longitude`; `communes`: `code_commune`, `latitude`, `longitude` (null when unknown), whose
    points stand in for places without coordinates.
    """

    def __init__(self, lieux: pl.DataFrame, communes: pl.DataFrame) -> None:
        self.colonnes = lieux.columns
        self.lieux = positionner_lieux(lieux.with_row_index("_ligne"), communes)
        localises = self.lieux.filter(pl.col("_lat").is_not_null()).sort("id", "_ligne")
        self._lignes = localises["_ligne"].to_numpy()
        self.arbres = ArbresParZone(
            localises.select(
                "zone", pl.col("_lat").alias("latitude"), pl.col("_lon").alias("longitude")
            )
        )

    def plus_proches(
        self, communes: pl.DataFrame, k: int = 1, rayon_max_km: float | None = None
    ) -> pl.DataFrame:
        """The `k` nearest places of every commune, the places it hosts first, at distance 0.

        Returns one row per (commune, rang): `code_commune`, `rang` (1…k), `distance_km`,
        `dans_la_commune`, `position_lieu`, then the place's columns, its `code_commune`
        renamed `code_commune_lieu`. The commune's own places come first (ordered by their
        distance to the commune's point, then id), then the others by haversine distance,
        then id. A commune with no point gets its own places only; a commune with no place
        found has no row.
        """
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        requete = communes.filter(
            pl.col("latitude").is_not_null() & pl.col("longitude").is_not_null()
        ).with_columns(zone_recherche(pl.col("code_commune")).alias("zone"))
        positions, garde = _k_plus_proches_et_egalites(self.arbres, requete, k, rayon_max_km)
        geometriques = pl.DataFrame(
            {
                "_commune": np.repeat(requete["code_commune"].to_numpy(), garde.sum(axis=1)),
                "_ligne": self._lignes[positions[garde]],
            },
            schema={"_commune": pl.String, "_ligne": pl.UInt32},
        )
        cles = self.lieux.select("_ligne", "code_commune", "id", "_lat", "_lon")
        heberges = cles.join(communes.select("code_commune"), on="code_commune", how="semi").select(
            pl.col("code_commune").alias("_commune"),
            "_ligne",
            pl.lit(True).alias("dans_la_commune"),
        )
        autres = (
            geometriques.join(cles.select("_ligne", "code_commune"), on="_ligne")
            .filter(pl.col("code_commune") != pl.col("_commune"))
            .select("_commune", "_ligne", pl.lit(False).alias("dans_la_commune"))
        )
        point = communes.select(
            pl.col("code_commune").alias("_commune"),
            pl.col("latitude").alias("_lat_c"),
            pl.col("longitude").alias("_lon_c"),
        )
        distance = haversine_km(pl.col("_lat_c"), pl.col("_lon_c"), pl.col("_lat"), pl.col("_lon"))
        retenus = (
            pl.concat([heberges, autres])
            .join(cles, on="_ligne")
            .join(point, on="_commune", how="left")
            .with_columns(distance.alias("_distance_point"))
            .sort(
                ["_commune", "dans_la_commune", "_distance_point", "id", "_ligne"],
                descending=[False, True, False, False, False],
                nulls_last=True,
            )
            .with_columns(
                pl.int_range(1, pl.len() + 1, dtype=pl.Int32).over("_commune").alias("rang")
            )
            .filter(pl.col("rang") <= k)
            .select(
                pl.col("_commune").alias("code_commune"),
                "rang",
                pl.when(pl.col("dans_la_commune"))
                .then(0.0)
                .otherwise(pl.col("_distance_point"))
                .alias("distance_km"),
                "dans_la_commune",
                "_ligne",
            )
        )
        details = self.lieux.select(
            "_ligne",
            "position_lieu",
            *[c for c in self.colonnes if c != "code_commune"],
            pl.col("code_commune").alias("code_commune_lieu"),
        )
        return retenus.join(details, on="_ligne").drop("_ligne").sort("code_commune", "rang")


def plus_proches_lieux(
    communes: pl.DataFrame, lieux: pl.DataFrame, k: int = 1, rayon_max_km: float | None = None
) -> pl.DataFrame:
    """`IndexLieux(lieux, communes).plus_proches(communes, k)`: one index, one question."""
    return IndexLieux(lieux, communes).plus_proches(communes, k, rayon_max_km)


def distances_acces(
    communes: pl.DataFrame,
    lieux: pl.DataFrame,
    cibles: dict[str, Critere] | None = None,
) -> pl.DataFrame:
    """For every commune and target, the distance to the nearest place, with its status.

    `communes`: every commune (`code_commune`, `latitude`, `longitude`); `lieux`: the merged
    places (`int__lieux`: `id`, `code_commune`, `latitude`, `longitude`, `services`,
    `dispositif_programmes_nationaux`). One row per (commune, `cible`): `statut` (see
    `STATUTS`), `distance_km` (0 when hosted, null when unknown or no place in the zone),
    the nearest place's `id_lieu` and `code_commune_lieu`.
    """
    frames = []
    zones = communes.select(
        "code_commune",
        (pl.col("latitude").is_not_null() & pl.col("longitude").is_not_null()).alias("_point"),
    )
    for cible, critere in (cibles or CIBLES_ACCES).items():
        retenus = lieux.filter(critere.filtre())
        proches = plus_proches_lieux(communes, retenus.select(*COLONNES_POSITION), k=1)
        frames.append(
            zones.join(proches, on="code_commune", how="left").select(
                "code_commune",
                pl.lit(cible).alias("cible"),
                pl.when(pl.col("dans_la_commune"))
                .then(pl.lit(STATUT_DANS_LA_COMMUNE))
                .when(pl.col("distance_km").is_not_null())
                .then(pl.lit(STATUT_CALCULEE))
                .when(~pl.col("_point"))
                .then(pl.lit(STATUT_SANS_COORDONNEES))
                .otherwise(pl.lit(STATUT_AUCUN_LIEU))
                .alias("statut"),
                "distance_km",
                pl.col("id").alias("id_lieu"),
                "code_commune_lieu",
            )
        )
    return pl.concat(frames).sort("code_commune", "cible")


def acces_communes(territoires: pl.DataFrame, lieux: pl.DataFrame, annee: int) -> pl.DataFrame:
    """`distances_acces` of every commune of the territory reference (its point), stamped
    with the year of the places' list."""
    points = population_communes(territoires).select("code_commune", "latitude", "longitude")
    return distances_acces(points, lieux).with_columns(pl.lit(annee, pl.Int32).alias("annee"))
