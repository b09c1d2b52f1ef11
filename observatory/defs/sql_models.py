"""One asset per SQL model of `dbt_like_sql/`, its inputs read from its FROM/JOIN clauses."""

from __future__ import annotations

import hashlib

import dagster as dg
import polars as pl

from observatory.sqlmodels.loader import SqlModel
from observatory.sqlmodels.runner import run_model

GROUPS = {"stg_": "staging", "int__": "intermediate", "ind_": "indicators", "pub_": "publish"}


def build_sql_asset(model: SqlModel) -> dg.AssetsDefinition:
    @dg.asset(
        name=model.name,
        ins={dep: dg.AssetIn(dep) for dep in model.dependencies},
        group_name=GROUPS[model.layer],
        description=model.description or None,
        code_version=hashlib.sha256(model.sql.encode()).hexdigest()[:12],
        kinds={"sql", "polars"},
        metadata={"fichier_sql": str(model.path)},
    )
    def _sql_model(**inputs: pl.DataFrame) -> dg.Output[pl.DataFrame]:
        frame = run_model(model, inputs)
        return dg.Output(frame, metadata={"lignes": frame.height})

    return _sql_model


def build_sql_assets(models: list[SqlModel]) -> list[dg.AssetsDefinition]:
    return [build_sql_asset(model) for model in models]
