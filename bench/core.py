"""Indicator-layer benchmark (issue 5): the compute core of the pipeline, without Dagster.

    python bench/core.py --warehouse DIR/warehouse [--repetitions 5] [--out results.json]

Times, on the int__ tables of a run's warehouse (loaded in memory first, not timed), the
same functions the indicator assets call:
- `int__acces_communes`: nearest place for every commune and target (`access.distances_acces`);
- `ind_besoin`: commune need estimates summed to every level with their interval;
- `ind_fragilite`: La Mednum's fragility index at every level;
- every SQL model of `dbt_like_sql/` (discovered with the package's loader, so a new model is
  timed without editing this script), on polars' SQL engine (`sqlmodels.runner`);
- `ind_activite_partenaires` when the warehouse holds `int__activite_partenaires`.
`int__besoin_communes` (the per-commune indirect standardisation) is timed too but reported
apart: the pandas and DuckDB peers start from its output. The compared core ("core") is the
sum of the other steps, per repetition; the script prints medians and writes JSON.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import observatory  # noqa: F401  (first: its allocator setting applies when polars loads)

# isort: split
import polars as pl

from observatory.settings import PROJECT_ROOT
from observatory.sources.catalogue import FRANCE_SERVICES
from observatory.sqlmodels.loader import SqlModel, discover, order
from observatory.sqlmodels.runner import run_model
from observatory.transforms import (
    access,
    fragility,
    need,
    need_interval,
    partner_activity,
    secret_suppression,
)

TAUX = PROJECT_ROOT / "assets/insee_illectronisme/taux_illectronisme.csv"
SQL_DIR = PROJECT_ROOT / "dbt_like_sql"
PYTHON_INDICATORS = ("int__acces_communes", "ind_besoin", "ind_fragilite")


def load_inputs(warehouse: Path) -> dict[str, pl.DataFrame]:
    """Every int__ table of the warehouse, in memory (what the IO manager would hand over)."""
    return {p.stem: pl.read_parquet(p) for p in sorted(warehouse.glob("int__*.parquet"))}


def _communes(territoires: pl.DataFrame) -> pl.DataFrame:
    return territoires.filter(pl.col("niveau") == "commune").select(
        pl.col("code").alias("code_commune"), "population", "latitude", "longitude"
    )


def sql_models(available: set[str]) -> tuple[list[SqlModel], list[str]]:
    """The SQL models runnable on `available` tables, in order, and those skipped (a model
    whose input is absent from this warehouse, e.g. added after the run that wrote it)."""
    models = discover(SQL_DIR)
    skipped: list[str] = []
    while True:
        names = available | {m.name for m in models}
        missing = [m for m in models if not set(m.dependencies) <= names]
        if not missing:
            return order(models, available), skipped
        skipped += [m.name for m in missing]
        models = [m for m in models if m not in missing]


def steps(tables: dict[str, pl.DataFrame]) -> dict[str, Callable[[dict], pl.DataFrame]]:
    """Ordered steps: name → function of the results so far (inputs included)."""
    table_taux = pl.read_csv(TAUX)
    taux = need.taux_reference(table_taux)

    # the functions the assets call (observatory/defs/indicators.py), on the same inputs
    def besoin_communes(r: dict) -> pl.DataFrame:
        return need.besoin_communes(
            r["int__statistiques_communes"], r["int__territoires"], table_taux
        )[0]

    def acces(r: dict) -> pl.DataFrame:
        communes = _communes(r["int__territoires"]).drop("population")
        return access.distances_acces(communes, r["int__lieux"]).with_columns(
            pl.lit(FRANCE_SERVICES.annee, pl.Int32).alias("annee")
        )

    def besoin(r: dict) -> pl.DataFrame:  # the illectronisme half of the asset ind_besoin
        return need_interval.indicateurs_besoin(
            r["int__besoin_communes"],
            r["int__appartenances"],
            taux.erreur_type_age,
            taux.millesime_age,
        )

    def fragilite(r: dict) -> pl.DataFrame:
        return fragility.calcule_ifn(
            r["int__statistiques_communes"],
            r["int__territoires"],
            r["int__appartenances"],
            r["int__filosofi_territoires"],
        )[0]

    etapes: dict[str, Callable[[dict], pl.DataFrame]] = {
        "int__besoin_communes": besoin_communes,
        "int__acces_communes": acces,
        "ind_besoin": besoin,
        "ind_fragilite": fragilite,
    }
    python = set(etapes)
    for model in sql_models(set(tables) | python)[0]:
        etapes[model.name] = lambda r, m=model: run_model(m, r)
    if "int__activite_partenaires" in tables:

        def activite(r: dict) -> pl.DataFrame:
            cellules = secret_suppression.applique_secret(
                r["int__activite_partenaires"], r["int__appartenances"]
            )
            return partner_activity.indicateurs_activite(cellules, r["ind_besoin"])

        etapes["ind_activite_partenaires"] = activite
    return etapes


def run_once(tables: dict[str, pl.DataFrame]) -> tuple[dict[str, float], dict[str, pl.DataFrame]]:
    """One pass of every step; (seconds per step, results)."""
    resultats: dict[str, pl.DataFrame] = dict(tables)
    durees: dict[str, float] = {}
    for nom, etape in steps(tables).items():
        debut = time.perf_counter()
        resultats[nom] = etape(resultats)
        durees[nom] = time.perf_counter() - debut
    durees["core"] = sum(v for k, v in durees.items() if k != "int__besoin_communes")
    return durees, resultats


def measure(warehouse: Path, repetitions: int) -> dict:
    """Medians over `repetitions` passes, per step and for the core; rows of each output."""
    debut = time.perf_counter()
    tables = load_inputs(warehouse)
    chargement = time.perf_counter() - debut
    passes: list[tuple[dict[str, float], None]] = []
    for _ in range(repetitions):  # keep one pass' outputs only: the RSS is one pass'
        durees, resultats = run_once(tables)
        passes.append((durees, None))
    medianes = {k: statistics.median(p[0][k] for p in passes) for k in passes[0][0]}
    return {
        "warehouse": str(warehouse),
        "repetitions": repetitions,
        "load_s": chargement,
        "median_s": medianes,
        "runs_core_s": [p[0]["core"] for p in passes],
        "rows": {k: resultats[k].height for k in passes[0][0] if k in resultats},
        "sql_skipped": sql_models(set(tables) | set(PYTHON_INDICATORS))[1],
        "communes": int((tables["int__territoires"]["niveau"] == "commune").sum()),
        "places": tables["int__lieux"].height,
    }


def profile(warehouse: Path, lignes: int = 25) -> str:
    """cProfile of one pass, cumulative time of the package's functions (where time goes)."""
    tables = load_inputs(warehouse)
    profiler = cProfile.Profile()
    profiler.enable()
    run_once(tables)
    profiler.disable()
    flux = io.StringIO()
    stats = pstats.Stats(profiler, stream=flux).sort_stats("cumulative")
    stats.print_stats(r"observatory/(transforms|sqlmodels)", lignes)
    texte = flux.getvalue()
    texte = texte[texte.find("ncalls") :] if "ncalls" in texte else texte
    # and the polars operations they spend it in (cumulative: a lazy query counts in
    # `collect`, an eager sort or join in its own method)
    flux = io.StringIO()
    stats = pstats.Stats(profiler, stream=flux).sort_stats("cumulative")
    stats.print_stats(r"polars/.*\((sort|join|agg|unique|unpivot|pivot|concat|over|execute)\)", 10)
    polars_ops = flux.getvalue()
    polars_ops = polars_ops[polars_ops.find("ncalls") :] if "ncalls" in polars_ops else ""
    texte = texte.rstrip() + "\n\npolars operations (cumulative):\n" + polars_ops
    return re.sub(r"\S*/(observatory|polars)/", r"\1/", texte)  # short paths


def print_figures(figures: dict, out: Path | None) -> None:
    """The medians and checks of a peer benchmark (pandas, DuckDB), and its JSON if asked."""
    for nom, s in figures["median_s"].items():
        print(f"{nom:24} {s:8.3f} s")
    for nom, c in figures.get("check", {}).items():
        print(f"check {nom:20} {c}")
    if out:
        out.write_text(json.dumps(figures, indent=2), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--out", type=Path, help="write the figures as JSON")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one pass")
    args = parser.parse_args()
    if args.profile:
        print(profile(args.warehouse))
        return
    figures = measure(args.warehouse, args.repetitions)
    for nom, s in figures["median_s"].items():
        print(f"{nom:28} {s:8.3f} s  ({figures['rows'].get(nom, '')} rows)")
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
