"""Geographic helpers as polars expressions: great-circle distance and the France test."""

from __future__ import annotations

import polars as pl

RAYON_TERRE_KM = 6371.0088

# (lat_min, lat_max, lon_min, lon_max) of metropolitan France (Corsica included) and the five DROM.
EMPRISES_FRANCE: dict[str, tuple[float, float, float, float]] = {
    "metropole": (41.3, 51.2, -5.3, 9.7),
    "guadeloupe": (15.8, 16.6, -61.9, -60.9),
    "martinique": (14.3, 14.95, -61.3, -60.7),
    "guyane": (2.0, 5.9, -54.7, -51.5),
    "la_reunion": (-21.5, -20.8, 55.1, 55.9),
    "mayotte": (-13.1, -12.5, 44.9, 45.4),
}


def haversine_km(lat1: pl.Expr, lon1: pl.Expr, lat2: pl.Expr, lon2: pl.Expr) -> pl.Expr:
    """Great-circle distance in km between two WGS84 points."""
    phi1, phi2 = lat1.radians(), lat2.radians()
    dphi = (lat2 - lat1).radians()
    dlambda = (lon2 - lon1).radians()
    a = (dphi / 2).sin().pow(2) + phi1.cos() * phi2.cos() * (dlambda / 2).sin().pow(2)
    return 2 * RAYON_TERRE_KM * a.sqrt().arcsin()


def in_france(lat: pl.Expr, lon: pl.Expr) -> pl.Expr:
    """True when the point lies in metropolitan France or a DROM (bounding boxes)."""
    inside = pl.lit(False)
    for lat_min, lat_max, lon_min, lon_max in EMPRISES_FRANCE.values():
        inside = inside | (lat.is_between(lat_min, lat_max) & lon.is_between(lon_min, lon_max))
    return inside
