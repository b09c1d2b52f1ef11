"""The national run's I/O floor (issue 18): read every input once, write every table once.

    python bench/floor.py --assets DIR/assets --release DATA/published/latest [--tries 3]

Reads every file under `--assets` with polars (CSV and Parquet as frames, JSON and anything
else as bytes) and writes each published table of `--release` once to Parquet (zstd) in a
scratch folder; the minimum of `--tries` tries (the file cache warm after the first). A run
cannot cost less than this: `bench/run.py` sets the pipeline's times beside it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import polars as pl


def lit_tout(assets: Path) -> int:
    """Every input file read once; returns the bytes or rows read (so nothing is skipped)."""
    lu = 0
    for chemin in sorted(p for p in assets.rglob("*") if p.is_file()):
        suffixe = chemin.suffix.lower()
        if suffixe == ".parquet":
            lu += pl.read_parquet(chemin).height
        elif suffixe == ".csv":
            try:
                lu += pl.read_csv(chemin, infer_schema=False, separator=_separateur(chemin)).height
            except pl.exceptions.PolarsError:  # a CSV polars cannot frame: its bytes
                lu += len(chemin.read_bytes())
        else:
            lu += len(chemin.read_bytes())
    return lu


def _separateur(chemin: Path) -> str:
    with chemin.open("rb") as fichier:
        tete = fichier.readline()
    return ";" if tete.count(b";") > tete.count(b",") else ","


def ecrit_tout(release: Path, sortie: Path) -> tuple[int, float]:
    """Each published table of the release written once to Parquet (zstd): rows, seconds."""
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    lignes = 0
    tables = {
        nom: pl.read_parquet(
            [release / f["path"] for f in entree["files"]], hive_partitioning=False
        )
        for nom, entree in manifest["tables"].items()
    }
    debut = time.perf_counter()
    for nom, table in tables.items():
        table.write_parquet(sortie / f"{nom}.parquet", compression="zstd")
        lignes += table.height
    return lignes, time.perf_counter() - debut


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=Path, required=True)
    parser.add_argument("--release", type=Path, required=True)
    parser.add_argument("--tries", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    essais = []
    for _ in range(args.tries):
        sortie = Path(tempfile.mkdtemp(prefix="plancher_"))
        try:
            debut = time.perf_counter()
            lu = lit_tout(args.assets)
            lecture = time.perf_counter() - debut
            lignes, ecriture = ecrit_tout(args.release.resolve(), sortie)
            essais.append(
                {"lecture_s": lecture, "ecriture_s": ecriture, "lu": lu, "lignes": lignes}
            )
        finally:
            shutil.rmtree(sortie)
    meilleur = min(essais, key=lambda e: e["lecture_s"] + e["ecriture_s"])
    figures = {
        "floor_s": meilleur["lecture_s"] + meilleur["ecriture_s"],
        "lecture_s": meilleur["lecture_s"],
        "ecriture_s": meilleur["ecriture_s"],
        "lignes_ecrites": meilleur["lignes"],
        "essais": essais,
    }
    print(json.dumps(figures, indent=2))
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
