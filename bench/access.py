"""Benchmark: nearest place for all ~35,000 communes on the real national data (target ≤ 1 s).

    python bench/access.py [--data-dir DIR] [--repetitions N]

With `--data-dir`, reads the places and communes of a pipeline run (`DIR/warehouse/
int__lieux.parquet`, `int__territoires.parquet`); without, builds them from the bundled
national registries (France Services, conseillers numériques, Charente files) with the
pipeline's own functions. Prints the median of N runs of each step.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import polars as pl

from observatory.settings import PROJECT_ROOT
from observatory.sources.mednum import load_standard
from observatory.sources.readers import prenoms
from observatory.transforms import access, dedup, orientation
from observatory.transforms.cog import stage_communes, stage_communes_deleguees, stage_coordonnees
from observatory.transforms.lieux import resolve_communes, stage_registre
from observatory.transforms.registries import (
    map_v0_to_v1,
    parse_conseillers_numeriques,
    parse_france_services,
)
from observatory.validation.quarantine import empty_quarantine, number_rows

ASSETS = PROJECT_ROOT / "assets"
OBJECTIF_S = 1.0


def _csv(path: Path, jeu: str) -> pl.DataFrame:
    return number_rows(pl.read_csv(path, infer_schema=False), jeu, path.name, "bench")


def depuis_les_assets() -> tuple[pl.DataFrame, pl.DataFrame]:
    """(communes with their point, merged places) from the bundled national registries."""
    standard = load_standard(PROJECT_ROOT / "schemas")
    communes, _ = stage_communes(_csv(ASSETS / "cog_2026/communes.csv", "cog__communes"))
    deleguees = stage_communes_deleguees(
        pl.read_csv(
            ASSETS / "cog_2026/communes_deleguees_associees_arrondissements.csv",
            infer_schema=False,
        )
    )
    points = stage_coordonnees(
        pl.read_parquet(ASSETS / "laposte_2023/communes_coordonnees_cog2026_national.parquet")
    ).drop("coord_source")
    cnfs = ASSETS / "conseillers_numeriques/lieux_cnfs_20221202_national.parquet"
    mednum = ASSETS / "mednum_lieux"
    # (raw rows, the pipeline's parser into standard v1, export date): staged as the pipeline
    # stages a registry (`stage_registre`: personal data out first)
    registres = [
        (
            _csv(
                ASSETS / "france_services/liste_france_services_20221201.csv",
                "france_services__lieux",
            ),
            parse_france_services,
            date(2022, 12, 1),
        ),
        (
            number_rows(
                pl.read_parquet(cnfs).cast(pl.String),
                "conseillers_numeriques__lieux",
                cnfs.name,
                "bench",
            ),
            parse_conseillers_numeriques,
            date(2022, 12, 2),
        ),
        (
            _csv(mednum / "charente_16_partially_migrated_v1_commit20250206.csv", "mednum__lieux"),
            lambda v1: (v1, empty_quarantine()),
            None,
        ),
        (
            _csv(
                mednum / "bus_france_services_charente_16_standard_v0_20231003.csv",
                "mednum__bus_france_services_16",
            ),
            lambda v0: map_v0_to_v1(v0, "Itinérant"),
            date(2023, 10, 3),
        ),
    ]
    staged = [
        stage_registre(raw, parse, standard, export, prenoms())[0]
        for raw, parse, export in registres
    ]
    resolus, _ = resolve_communes(
        pl.concat(staged, how="diagonal_relaxed"), communes, deleguees, points
    )
    lieux = dedup.merge_duplicates(resolus, dedup.find_duplicate_pairs(resolus))
    return communes.select("code_commune").join(points, on="code_commune", how="left"), lieux


def depuis_un_run(data_dir: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    warehouse = data_dir / "warehouse"
    communes = (
        pl.read_parquet(warehouse / "int__territoires.parquet")
        .filter(pl.col("niveau") == "commune")
        .select(pl.col("code").alias("code_commune"), "latitude", "longitude")
    )
    return communes, pl.read_parquet(warehouse / "int__lieux.parquet")


def mediane(etape: Callable[[], object], repetitions: int) -> float:
    durees = []
    for _ in range(repetitions):
        debut = time.perf_counter()
        etape()
        durees.append(time.perf_counter() - debut)
    return statistics.median(durees)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="data dir of a pipeline run")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument(
        "--skip-orientation", action="store_true", help="nearest-place search only (big inputs)"
    )
    args = parser.parse_args()
    communes, lieux = depuis_un_run(args.data_dir) if args.data_dir else depuis_les_assets()
    n = args.repetitions
    print(f"{communes.height} communes, {lieux.height} places (median of {n} runs)")
    total = 0.0
    for cible, critere in access.CIBLES_ACCES.items():
        retenus = lieux.filter(critere.filtre()).select(access.COLONNES_POSITION)
        construction = mediane(lambda r=retenus: access.IndexLieux(r, communes), n)
        index = access.IndexLieux(retenus, communes)
        requete = mediane(lambda i=index: i.plus_proches(communes, 1), n)
        trois = mediane(lambda i=index: i.plus_proches(communes, 3), n)
        total += construction + requete
        print(
            f"  {cible:16} {retenus.height:5} places: index {construction:.3f} s, nearest for"
            f" every commune {requete:.3f} s (k=3: {trois:.3f} s)"
        )
    verdict = "ok" if total / len(access.CIBLES_ACCES) <= OBJECTIF_S else "OVER TARGET"
    print(
        f"nearest-place search, index + query, per target: {total / len(access.CIBLES_ACCES):.3f}"
        f" s (target ≤ {OBJECTIF_S:.0f} s: {verdict})"
    )
    acces = mediane(lambda: access.distances_acces(communes, lieux), n)
    print(f"distances_acces (2 targets, statuses): {acces:.3f} s")
    if args.skip_orientation:
        return
    publies = lieux.with_columns(
        pl.col("code_commune").alias("code_insee"),
        pl.format("{}:{}", "jeu_de_donnees", "id").alias("id"),
    )
    recherches = orientation.recherches_orientation(
        load_standard(PROJECT_ROOT / "schemas").enumerations["services"]
    )
    table = orientation.build_orientation(communes, publies, recherches)
    duree = mediane(lambda: orientation.build_orientation(communes, publies, recherches), n)
    print(f"orientation table ({len(recherches)} criteria, {table.height} rows): {duree:.3f} s")


if __name__ == "__main__":
    main()
