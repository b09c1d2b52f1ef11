"""Run SQL models on polars' SQL engine (no Dagster: usable from tests and benchmarks)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import polars as pl

from observatory.sqlmodels.loader import SqlModel


class SqlRunError(RuntimeError):
    """A model failed to run; the message names the file."""


def run_model(
    model: SqlModel,
    inputs: Mapping[str, pl.DataFrame | pl.LazyFrame],
    moteur: str | None = None,
) -> pl.DataFrame:
    """Execute one model with its dependencies registered under their table names, on the
    engine it asks for (`moteur` overrides it: the tests compare the engines)."""
    missing = [d for d in model.dependencies if d not in inputs]
    if missing:
        raise SqlRunError(f"{model.path}: inputs missing: {missing}")
    frames = {name: inputs[name].lazy() for name in model.dependencies}
    try:
        query = pl.SQLContext(frames).execute(model.sql)
        return query.collect(engine=moteur or model.moteur)  # type: ignore[arg-type]
    except pl.exceptions.PolarsError as error:
        raise SqlRunError(f"{model.path}: {error}") from error


def run_models(
    models: Iterable[SqlModel], tables: Mapping[str, pl.DataFrame]
) -> dict[str, pl.DataFrame]:
    """Run ordered models, each seeing the tables and the models before it."""
    models = list(models)
    results: dict[str, pl.DataFrame] = dict(tables)
    for model in models:
        results[model.name] = run_model(model, results)
    return {m.name: results[m.name] for m in models}
