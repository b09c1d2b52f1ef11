"""Published tables and the release: blocking checks, then one atomic write."""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

from observatory.defs.resources import ObservatoryResource
from observatory.operations.lineage import table_sources
from observatory.publish import database, tables
from observatory.publish.assembly import publish_release
from observatory.publish.numbers import load_precisions
from observatory.publish.schemas import field_names, load_dictionary, load_table_schema
from observatory.sources.catalogue import SOURCES
from observatory.sources.mednum import load_standard
from observatory.transforms import fragility, orientation

GROUP = "publish"
TABLES = (
    "territoires",
    "indicateurs",
    "indicateurs_large",
    "lieux",
    "couverture_sources",
    "orientation",
)


def published_schemas(schemas_dir: Path) -> dict[str, dict[str, Any]]:
    """The Table Schema of each published table, by asset (`pub_<table>`)."""
    return {f"pub_{t}": load_table_schema(schemas_dir, t) for t in TABLES}


@dg.asset(group_name=GROUP)
def pub_territoires(
    observatory: ObservatoryResource,
    int__territoires: pl.DataFrame,
    int__zonages_territoires: pl.DataFrame,
) -> pl.DataFrame:
    """Published `territoires`: one row per (niveau, code), users' zonings included."""
    schema = load_table_schema(observatory.settings.schemas_dir, "territoires")
    return tables.build_territoires(
        int__territoires, field_names(schema), zonages=int__zonages_territoires
    )


def build_pub_indicateurs(indicator_models: list[str]) -> dg.AssetsDefinition:
    @dg.asset(
        name="pub_indicateurs",
        group_name=GROUP,
        # scanned: the long table is built in one query, each model read once
        ins={name: dg.AssetIn(name, dagster_type=pl.LazyFrame) for name in indicator_models},
        description="Published `indicateurs` (long): the rows of every indicator model.",
    )
    def _pub_indicateurs(**models: pl.LazyFrame) -> dg.Output[pl.DataFrame]:
        frame = tables.build_indicateurs([models[name] for name in sorted(models)])
        return dg.Output(
            frame,
            metadata={"lignes": frame.height, "indicateurs": sorted(set(frame["indicateur"]))},
        )

    return _pub_indicateurs


@dg.asset(group_name=GROUP)
def pub_indicateurs_large(
    observatory: ObservatoryResource, pub_indicateurs: pl.LazyFrame, pub_territoires: pl.DataFrame
) -> pl.DataFrame:
    """Published `indicateurs_large`: latest value of each indicator as a column (the long
    table scanned: only the columns used are read)."""
    codes = list(load_dictionary(observatory.settings.schemas_dir))
    entiers = load_precisions(observatory.settings.schemas_dir).integers()
    return tables.build_indicateurs_large(pub_indicateurs, pub_territoires, codes, entiers)


@dg.asset(group_name=GROUP)
def pub_lieux(
    observatory: ObservatoryResource, int__lieux: pl.DataFrame, pub_territoires: pl.DataFrame
) -> pl.DataFrame:
    """Published `lieux`: the schema's allow-listed columns, no personal contact data."""
    schema = load_table_schema(observatory.settings.schemas_dir, "lieux")
    return tables.build_lieux(int__lieux, pub_territoires, field_names(schema))


@dg.asset(group_name=GROUP)
def pub_couverture_sources(
    int__couverture_sources: pl.LazyFrame, int__appartenances: pl.LazyFrame
) -> pl.DataFrame:
    """Published `couverture_sources`: which territories each source covers, at every level
    (inputs scanned, aggregated in a stream)."""
    return tables.build_couverture_sources(int__couverture_sources, int__appartenances)


@dg.asset(group_name=GROUP)
def pub_orientation(
    observatory: ObservatoryResource, pub_lieux: pl.DataFrame, pub_territoires: pl.DataFrame
) -> dg.Output[pl.DataFrame]:
    """Published `orientation`: for every commune, the nearest places for each kind of help."""
    services = load_standard(observatory.settings.schemas_dir).enumerations["services"]
    frame = orientation.orientation_publiee(pub_territoires, pub_lieux, services)
    return dg.Output(frame, metadata={"lignes": frame.height})


@dg.asset(group_name=GROUP, deps=["release"], kinds={"sql"})
def pub_sql(observatory: ObservatoryResource) -> dg.MaterializeResult:
    """The latest release in OBSERVATORY_DATABASE_URL (SQLite file by default): one
    transaction, views switched to it; publishing a release already there does nothing.

    Runs after `release`, from what `latest` points to: a copy that failed or was killed is
    caught up by the next run, even when nothing else changed."""
    settings = observatory.settings
    outcome = database.catch_up(
        settings.published_dir,
        database.database_url(settings.data_dir),
        settings.schemas_dir,
        keep=settings.keep_releases,
    )
    return dg.MaterializeResult(
        metadata={
            "release_id": outcome.release_id,
            "nouvelle": outcome.nouvelle,
            "supprimees": list(outcome.supprimees),
            **{f"lignes_{k}": v for k, v in outcome.lignes.items()},
            **{f"secondes_{k}": round(v, 3) for k, v in outcome.secondes.items()},
        }
    )


def table_lineage(assets: Sequence[dg.AssetsDefinition]) -> dict[str, list[str]]:
    """Per published table, the sources upstream of its `pub_` asset in the asset graph."""
    parents = {
        key.to_user_string(): {d.to_user_string() for d in assets_def.asset_deps.get(key, ())}
        for assets_def in assets
        for key in assets_def.keys
    }
    return table_sources(parents, TABLES, {s.raw_asset: s.key for s in SOURCES})


def build_release(
    lineage: dict[str, list[str]], code: dict[str, str | None]
) -> dg.AssetsDefinition:
    """The release asset; `lineage` (table -> source keys) is read off the asset graph, `code`
    is the version of the code the definitions were built from (`code_version`): the code a run
    executes, read before it starts (not by a `git` process forked from a run holding its
    tables)."""

    @dg.asset(
        name="release",
        group_name=GROUP,
        kinds={"parquet"},
        # scanned, not loaded: the tables are read one at a time (TablesOnDemand)
        ins={
            **{
                f"pub_{table}": dg.AssetIn(f"pub_{table}", dagster_type=pl.LazyFrame)
                for table in TABLES
            },
            "int__fragilite_bornes": dg.AssetIn("int__fragilite_bornes"),
        },
    )
    def _release(
        observatory: ObservatoryResource,
        int__fragilite_bornes: pl.DataFrame,
        **published: pl.LazyFrame,
    ) -> dg.MaterializeResult:
        """A checked, immutable release; `latest` switches only once everything is written."""
        frames = {table: published[f"pub_{table}"] for table in TABLES}
        annexes = {"zz_bornes_ifn.md": fragility.tableau_bornes(int__fragilite_bornes)}
        metadata = publish_release(observatory.settings, frames, lineage, annexes, code)
        return dg.MaterializeResult(metadata=metadata)

    return _release
