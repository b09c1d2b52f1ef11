"""Published tables and the release: blocking checks, then one atomic write."""

from __future__ import annotations

import dagster as dg
import polars as pl

from observatory.defs.resources import ObservatoryResource
from observatory.publish import tables
from observatory.publish.release import write_release
from observatory.publish.schemas import field_names, load_dictionary, load_table_schema
from observatory.sources.catalogue import COG_COMMUNES, SOURCES
from observatory.sources.raw import landed

GROUP = "publish"
TABLES = ("territoires", "indicateurs", "indicateurs_large", "lieux", "couverture_sources")


@dg.asset(group_name=GROUP)
def pub_territoires(
    observatory: ObservatoryResource, int__territoires: pl.DataFrame
) -> pl.DataFrame:
    """Published `territoires`: one row per (niveau, code)."""
    schema = load_table_schema(observatory.settings.schemas_dir, "territoires")
    return tables.build_territoires(int__territoires, field_names(schema))


def build_pub_indicateurs(indicator_models: list[str]) -> dg.AssetsDefinition:
    @dg.asset(
        name="pub_indicateurs",
        group_name=GROUP,
        ins={name: dg.AssetIn(name) for name in indicator_models},
        description="Published `indicateurs` (long): the rows of every indicator model.",
    )
    def _pub_indicateurs(**models: pl.DataFrame) -> dg.Output[pl.DataFrame]:
        frame = tables.build_indicateurs([models[name] for name in sorted(models)])
        return dg.Output(
            frame,
            metadata={"lignes": frame.height, "indicateurs": sorted(frame["indicateur"].unique())},
        )

    return _pub_indicateurs


@dg.asset(group_name=GROUP)
def pub_indicateurs_large(
    observatory: ObservatoryResource, pub_indicateurs: pl.DataFrame, pub_territoires: pl.DataFrame
) -> pl.DataFrame:
    """Published `indicateurs_large`: latest value of each indicator as a column."""
    codes = list(load_dictionary(observatory.settings.schemas_dir))
    return tables.build_indicateurs_large(pub_indicateurs, pub_territoires, codes)


@dg.asset(group_name=GROUP)
def pub_lieux(
    observatory: ObservatoryResource, int__lieux: pl.DataFrame, pub_territoires: pl.DataFrame
) -> pl.DataFrame:
    """Published `lieux`: the schema's allow-listed columns, no personal contact data."""
    schema = load_table_schema(observatory.settings.schemas_dir, "lieux")
    return tables.build_lieux(int__lieux, pub_territoires, field_names(schema))


@dg.asset(group_name=GROUP)
def pub_couverture_sources(
    int__couverture_sources: pl.DataFrame, int__appartenances: pl.DataFrame
) -> pl.DataFrame:
    """Published `couverture_sources`: which territories each source covers, at every level."""
    return tables.build_couverture_sources(int__couverture_sources, int__appartenances)


@dg.asset(group_name=GROUP, kinds={"parquet"})
def release(
    observatory: ObservatoryResource,
    pub_territoires: pl.DataFrame,
    pub_indicateurs: pl.DataFrame,
    pub_indicateurs_large: pl.DataFrame,
    pub_lieux: pl.DataFrame,
    pub_couverture_sources: pl.DataFrame,
) -> dg.MaterializeResult:
    """A checked, immutable release; `latest` switches only once everything is written."""
    frames = dict(
        zip(
            TABLES,
            (
                pub_territoires,
                pub_indicateurs,
                pub_indicateurs_large,
                pub_lieux,
                pub_couverture_sources,
            ),
            strict=True,
        )
    )
    settings = observatory.settings
    schemas = {name: load_table_schema(settings.schemas_dir, name) for name in TABLES}
    if errors := tables.check_tables(frames, schemas, load_dictionary(settings.schemas_dir)):
        raise tables.PublicationCheckError("; ".join(errors))
    sources = [
        {
            "source": s.key,
            "titre": s.title,
            "producteur": s.producer,
            "millesime": s.vintage,
            "annee": s.annee,
            "licence": s.licence,
            "fichier": f.fichier,
            "origine": f.origine,
            "url": f.url,
            "sha256": f.sha256,
            "chemin": str(f.path.relative_to(settings.data_dir)),
        }
        for s in SOURCES
        for f in landed(settings, s)
    ]
    folder = write_release(
        frames,
        settings.published_dir,
        sources,
        extra={"millesime_cog": COG_COMMUNES.annee, "profil": settings.profile},
    )
    return dg.MaterializeResult(
        metadata={
            "chemin": str(folder),
            "release_id": folder.name,
            **{f"lignes_{name}": frame.height for name, frame in frames.items()},
        }
    )
