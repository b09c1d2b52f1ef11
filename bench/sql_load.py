"""Load times of a real release into SQLite and PostgreSQL (observatory.publish.database).

    python bench/sql_load.py [--release data/published/latest] [--postgres URL] [--repeat 3]

Each measurement runs in a fresh process, so its peak RSS is its own. Measured:
- `publish_release`: the whole publication (read Parquet, DDL, load, keys and indexes, views,
  registry; one transaction), per table;
- the load alone (`load_only_*`: same COPY / executemany path, no keys, indexes or views);
- for reference, ADBC's `adbc_ingest` of the same tables (no keys, no indexes, no views).
PostgreSQL runs in a throw-away schema `bench_sql_<hex>`, dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import polars as pl
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from observatory.publish import database  # noqa: E402
from observatory.publish.cible_postgresql import supprime_schema_postgresql  # noqa: E402
from observatory.publish.database import (  # noqa: E402
    identifier,
    make_engine,
    publish_release,
)
from observatory.publish.schemas import load_table_schema  # noqa: E402


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _tables(release: Path) -> dict[str, pl.DataFrame]:
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    return {
        name: pl.read_parquet([release / f["path"] for f in table["files"]])
        for name, table in manifest["tables"].items()
    }


def one(kind: str, release: Path, postgres: str) -> dict:
    """One measurement (child process): returns seconds, rows and peak RSS."""
    schema = f"bench_sql_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_url = f"sqlite:///{tmp}/observatory.sqlite"
        started = time.perf_counter()
        if kind == "publish_sqlite":
            result = publish_release(release, sqlite_url)
            detail = result.secondes
        elif kind == "publish_postgresql":
            engine = make_engine(postgres)
            try:
                result = publish_release(release, engine, schema=schema)
                detail = result.secondes
            finally:
                supprime_schema_postgresql(engine, schema)
        elif kind == "load_only_sqlite":
            detail = _load_only(make_engine(sqlite_url), release, None)
        elif kind == "load_only_postgresql":
            engine = make_engine(postgres)
            try:
                detail = _load_only(engine, release, schema)
            finally:
                supprime_schema_postgresql(engine, schema)
        elif kind == "adbc_sqlite":
            import adbc_driver_sqlite.dbapi as adbc

            detail = _adbc(adbc.connect(f"{tmp}/adbc.sqlite"), release, None)
        elif kind == "adbc_postgresql":
            import adbc_driver_postgresql.dbapi as adbc

            engine = make_engine(postgres)
            with engine.begin() as connection:
                connection.exec_driver_sql(f"CREATE SCHEMA {identifier(schema)}")
            try:
                uri = postgres.replace("postgresql+psycopg://", "postgresql://")
                detail = _adbc(adbc.connect(uri), release, schema)
            finally:
                supprime_schema_postgresql(engine, schema)
        else:
            raise ValueError(kind)
        seconds = time.perf_counter() - started
    return {"kind": kind, "seconds": round(seconds, 2), "tables": detail, "rss_mb": _rss_mb()}


def _load_only(engine: sa.Engine, release: Path, schema: str | None) -> dict[str, float]:
    """The loading path of `publish_release` alone: plain tables, one transaction."""
    detail = {}
    with engine.begin() as connection:
        if schema:
            connection.exec_driver_sql(f"CREATE SCHEMA {identifier(schema)}")
        for name, frame in _tables(release).items():
            started = time.perf_counter()
            spec = load_table_schema(ROOT / "schemas", name)
            columns = [
                sa.Column(c.name, c.type)
                for c in database.build_table(spec, sa.MetaData(), name).columns
            ]
            table = sa.Table(name, sa.MetaData(), *columns, schema=schema)
            table.create(connection)
            database._load(connection, table, frame)
            detail[name] = round(time.perf_counter() - started, 3)
    return detail


def _adbc(connection, release: Path, schema: str | None) -> dict[str, float]:
    """Reference: ADBC bulk ingest in one transaction, nothing else."""
    detail = {}
    with connection, connection.cursor() as cursor:
        for name, frame in _tables(release).items():
            started = time.perf_counter()
            cursor.adbc_ingest(name, frame.to_arrow(), mode="create", db_schema_name=schema)
            detail[name] = round(time.perf_counter() - started, 3)
        connection.commit()
    return detail


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", type=Path, default=ROOT / "data" / "published" / "latest")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    release = args.release.resolve()
    if args.one:
        print(json.dumps(one(args.one, release, args.postgres)))
        return
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    rows = {name: table["rows"] for name, table in manifest["tables"].items()}
    print(f"release {manifest['release_id']}: {sum(rows.values())} rows {rows}")
    kinds = (
        "publish_sqlite",
        "publish_postgresql",
        "load_only_sqlite",
        "load_only_postgresql",
        "adbc_sqlite",
        "adbc_postgresql",
    )
    for kind in kinds:
        runs = []
        for _ in range(args.repeat):
            command = [sys.executable, __file__, "--release", str(release)]
            command += ["--postgres", args.postgres, "--one", kind]
            output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            runs.append(json.loads(output.strip().splitlines()[-1]))
        best = min(runs, key=lambda run: run["seconds"])
        seconds = ", ".join(f"{run['seconds']:.2f}" for run in runs)
        print(
            f"{kind:20s} best {best['seconds']:5.2f} s (runs: {seconds}) "
            f"peak RSS {max(run['rss_mb'] for run in runs):.0f} MB  {best['tables']}"
        )


if __name__ == "__main__":
    main()
