"""Rebuild `contours_communes_2025.parquet` from COGiter's R data files (run once, by hand).

Not part of the pipeline, and not imported by it: it documents, as code, how the bundled
file was made (PROVENANCE.md). It needs two packages the project does not depend on:

    python3.11 -m venv /tmp/outils && /tmp/outils/bin/pip install rdata pyproj polars pyarrow
    for f in communes_geo communes_971_geo communes_972_geo communes_973_geo \
             communes_974_geo communes_976_geo; do
        git -C COGiter show 8fc7d2af627ede0b2143f6d4b343e081c2ebd46b:data/$f.rda > rda/$f.rda
    done
    /tmp/outils/bin/python construire.py rda

Metropolitan communes come from `communes_geo.rda` (Lambert-93, EPSG:2154); the DROM from
`communes_97x_geo.rda` in their own projections (COGiter's `communes_geo` moves and scales
the DROM next to the mainland for maps, so its DROM coordinates are not real places). Every
vertex is projected to WGS84 and rounded to 1e-5 degree (about 1 m): a vertex shared by two
communes is the same number before, hence after, so shared borders stay shared. Rings are
stored open (the closing vertex, equal to the first, is dropped).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import rdata
from pyproj import Transformer

SORTIE = Path(__file__).with_name("contours_communes_2025.parquet")
ECHELLE = 100_000  # 1e-5 degree
DROM = {"971": "EPSG:5490", "972": "EPSG:5490", "973": "EPSG:2972", "974": "EPSG:2975",
        "976": "EPSG:4471"}  # fmt: skip


def _lire(dossier: Path, nom: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rdata has no constructor for sf's classes
        return rdata.read_rda(dossier / f"{nom}.rda", default_encoding="utf8")[nom]


def _polygones(geometrie) -> list[list[np.ndarray]]:
    """An sf POLYGON (list of rings) or MULTIPOLYGON (list of polygons) as polygons."""
    if geometrie and isinstance(geometrie[0], np.ndarray):
        return [geometrie]
    return geometrie


def _anneaux(frame, crs: str) -> list[dict]:
    vers_wgs84 = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lignes = []
    for code, geometrie in zip(frame["DEPCOM"], frame["geometry"], strict=True):
        for partie, polygone in enumerate(_polygones(geometrie)):
            for anneau, xy in enumerate(polygone):
                xy = np.asarray(xy, dtype=float)
                if len(xy) > 1 and (xy[0] == xy[-1]).all():
                    xy = xy[:-1]
                lon, lat = vers_wgs84.transform(xy[:, 0], xy[:, 1])
                lignes.append(
                    {
                        "code_insee": str(code),
                        "partie": partie,
                        "anneau": anneau,
                        "lon_e5": np.round(np.asarray(lon) * ECHELLE).astype(np.int32),
                        "lat_e5": np.round(np.asarray(lat) * ECHELLE).astype(np.int32),
                    }
                )
    return lignes


def construire(dossier: Path) -> pl.DataFrame:
    metropole = _lire(dossier, "communes_geo")
    metropole = metropole[~metropole["DEPCOM"].str.startswith("97")]
    lignes = _anneaux(metropole, "EPSG:2154")
    for dep, crs in DROM.items():
        lignes += _anneaux(_lire(dossier, f"communes_{dep}_geo"), crs)
    return pl.DataFrame(
        lignes,
        schema={
            "code_insee": pl.String,
            "partie": pl.Int16,
            "anneau": pl.Int16,
            "lon_e5": pl.List(pl.Int32),
            "lat_e5": pl.List(pl.Int32),
        },
    ).sort("code_insee", "partie", "anneau")


def ecrire(frame: pl.DataFrame, chemin: Path = SORTIE) -> None:
    """Zstd Parquet, coordinates delta-encoded (neighbouring vertices differ by little)."""
    pq.write_table(
        frame.to_arrow(),
        chemin,
        compression="zstd",
        compression_level=19,
        use_dictionary=["code_insee"],
        column_encoding={
            "lon_e5.list.element": "DELTA_BINARY_PACKED",
            "lat_e5.list.element": "DELTA_BINARY_PACKED",
            "partie": "DELTA_BINARY_PACKED",
            "anneau": "DELTA_BINARY_PACKED",
        },
        write_statistics=False,
    )


if __name__ == "__main__":
    contours = construire(Path(sys.argv[1]))
    ecrire(contours)
    print(contours.height, "anneaux,", contours["code_insee"].n_unique(), "communes")
