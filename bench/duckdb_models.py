"""Peer for the compute-core benchmark: the same SQL model files run on DuckDB.

    python bench/duckdb_models.py --warehouse DIR/warehouse [--repetitions 5] [--check]

Every model of `dbt_like_sql/` that its warehouse can feed (discovered as in bench/core.py)
runs unchanged on DuckDB, each materialised as a table (`CREATE TABLE <model> AS <sql>`), in
dependency order. Inputs are loaded first into in-memory DuckDB tables named like the assets
(not timed, as the polars core gets in-memory frames); the Python indicators an SQL model
reads (`ind_besoin`, `int__acces_communes`) are computed once with the package and loaded
the same way. `--check` compares each model's output with polars' SQL engine.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import core  # bench/core.py, next to this script
import duckdb
import polars as pl


def connect(tables: dict[str, pl.DataFrame], threads: int | None) -> duckdb.DuckDBPyConnection:
    """An in-memory database holding every input as a table named like its asset."""
    con = duckdb.connect(":memory:")
    if threads:
        con.execute(f"SET threads = {threads}")
    for nom, frame in tables.items():
        arrow = frame.to_arrow()  # noqa: F841  (read by name by DuckDB's replacement scan)
        con.execute(f"CREATE TABLE {nom} AS SELECT * FROM arrow")
    return con


def inputs(warehouse: Path) -> tuple[dict[str, pl.DataFrame], list]:
    """(int__ tables + the Python indicators SQL models read, the ordered SQL models)."""
    tables = core.load_inputs(warehouse)
    _, polars_out = core.run_once(tables)
    models, _ = core.sql_models(set(tables) | set(core.PYTHON_INDICATORS))
    python = {n: polars_out[n] for n in core.PYTHON_INDICATORS if n not in tables}
    return {**tables, **python}, models, polars_out


def run_once(con: duckdb.DuckDBPyConnection, models: list) -> dict[str, float]:
    durees = {}
    for model in models:
        con.execute(f"DROP TABLE IF EXISTS {model.name}")
        debut = time.perf_counter()
        con.execute(f"CREATE TABLE {model.name} AS {model.sql}")
        durees[model.name] = time.perf_counter() - debut
    durees["sql_models"] = sum(durees.values())
    return durees


def compare(con: duckdb.DuckDBPyConnection, models: list, polars_out: dict) -> dict:
    """Rows on each side and values differing beyond 1e-9 (relative), per model."""
    rapport = {}
    for model in models:
        d = pl.from_arrow(con.sql(f"SELECT * FROM {model.name}").to_arrow_table())
        p = polars_out[model.name]
        cles = [c for c in ("niveau", "code", "indicateur", "annee") if c in d.columns]
        if "valeur" not in d.columns or len(cles) < 3:
            rapport[model.name] = {"rows_duckdb": d.height, "rows_polars": p.height}
            continue
        m = d.select(*cles, "valeur").join(
            p.select(*cles, "valeur"), on=cles, how="full", suffix="_pl", coalesce=True
        )
        a, b = pl.col("valeur"), pl.col("valeur_pl")
        rapport[model.name] = {
            "rows_duckdb": d.height,
            "rows_polars": p.height,
            "null_mismatch": m.filter(a.is_null() != b.is_null()).height,
            "value_mismatch": m.filter(
                (a - b).abs() > 1e-9 * pl.max_horizontal(pl.lit(1.0), b.abs())
            ).height,
        }
    return rapport


def measure(warehouse: Path, repetitions: int, check: bool, threads: int | None) -> dict:
    tables, models, polars_out = inputs(warehouse)
    debut = time.perf_counter()
    con = connect(tables, threads)
    chargement = time.perf_counter() - debut
    passes = [run_once(con, models) for _ in range(repetitions)]
    figures = {
        "warehouse": str(warehouse),
        "duckdb": duckdb.__version__,
        "threads": con.execute("SELECT current_setting('threads')").fetchall()[0][0],
        "load_s": chargement,
        "median_s": {k: statistics.median(p[k] for p in passes) for k in passes[0]},
        "runs_sql_s": [p["sql_models"] for p in passes],
    }
    if check:
        figures["check"] = compare(con, models, polars_out)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--threads", type=int, help="DuckDB threads (default: its own)")
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    figures = measure(args.warehouse, args.repetitions, args.check, args.threads)
    core.print_figures(figures, args.out)


if __name__ == "__main__":
    main()
