"""Staging assets: typed rows with normalised codes; rejects go to the quarantine table."""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg
import polars as pl

from observatory.defs.resources import ObservatoryResource
from observatory.sources import catalogue as cat
from observatory.sources.mednum import load_standard
from observatory.sources.raw import date_export
from observatory.sources.readers import read_landed, read_landed_typed, read_reference_table
from observatory.transforms import cog, contours, lieux, statistics
from observatory.transforms.stagers import (
    LIEUX,
    REFERENCE_TABLES,
    REFERENCES,
    REQUIS,
    STATISTICS,
    TYPED,
    Parser,
)
from observatory.validation.quarantine import account
from observatory.validation.store import write_quarantine

GROUP = "staging"


def staging_asset(
    source: cat.Source, *references: cat.Source
) -> Callable[..., dg.AssetsDefinition]:
    """The `@dg.asset` of a source's staging: `stg_<key>`, after its raw asset (and those of
    the `references` it reads as landed), described."""
    return dg.asset(
        name=f"stg_{source.key}",
        group_name=GROUP,
        deps=[source.raw_asset, *(r.raw_asset for r in references)],
        description=f"{source.title} — {source.producer}, millésime {source.vintage}.",
    )


def staged(
    observatory: ObservatoryResource,
    asset: str,
    rows_in: int,
    kept: pl.DataFrame,
    quarantine: pl.DataFrame,
    counted: int | None = None,
    **extra: object,
) -> dg.Output[pl.DataFrame]:
    """Write the quarantine, prove rows in = kept + rejected, return the rows with counts.

    `counted`: the input rows `kept` holds, when it aggregates them (else its height)."""
    counts = account(rows_in, kept if counted is None else counted, quarantine)
    path = write_quarantine(observatory.settings, asset, quarantine)
    return dg.Output(kept, metadata={**counts, **extra, "quarantaine": str(path)})


def build_reference_asset(source: cat.Source, code_column: str) -> dg.AssetsDefinition:
    @staging_asset(source)
    def _reference(observatory: ObservatoryResource) -> dg.Output[pl.DataFrame]:
        raw = read_landed(observatory.settings, source)
        frame = cog.stage_reference(raw, code_column)
        return dg.Output(frame, metadata={"lignes": frame.height})

    return _reference


@staging_asset(cat.IGN_CONTOURS_COMMUNES)
def stg_ign__contours_communes(observatory: ObservatoryResource) -> dg.Output[pl.DataFrame]:
    """Simplified polygons of the communes (one row per ring, WGS84 × 1e5), typed."""
    raw = read_landed_typed(observatory.settings, cat.IGN_CONTOURS_COMMUNES)
    kept, quarantine = contours.stage_contours(raw)
    return staged(observatory, "stg_ign__contours_communes", raw.height, kept, quarantine)


def build_lieux_asset(
    source: cat.Source, parse: Parser, requis: tuple[str, ...] = lieux.IDENTITE
) -> dg.AssetsDefinition:
    """Staging of a registry of places: its own format → standard v1 → typed and checked.

    `requis`: the columns without which a row is rejected (`lieux.stage_lieux`)."""
    name = f"stg_{source.key}"

    @staging_asset(source, cat.INSEE_PRENOMS)  # the first names e-mails are checked against
    def _lieux(observatory: ObservatoryResource) -> dg.Output[pl.DataFrame]:
        settings = observatory.settings
        raw = read_landed(settings, source)
        kept, quarantine = lieux.stage_registre(
            raw,
            parse,
            load_standard(settings.schemas_dir),
            date_export(settings, source),
            read_reference_table(settings, cat.INSEE_PRENOMS)["prenom"],
            requis,
        )
        return staged(observatory, name, raw.height, kept, quarantine)

    return _lieux


def build_reference_table_asset(source: cat.Source) -> dg.AssetsDefinition:
    """A reference table used as it is published (every column a string)."""

    @staging_asset(source)
    def _table(observatory: ObservatoryResource) -> pl.DataFrame:
        return read_reference_table(observatory.settings, source)

    return _table


def build_typed_asset(
    source: cat.Source, stage: Callable[[pl.DataFrame], pl.DataFrame]
) -> dg.AssetsDefinition:
    """A staging asset whose file one pure function types, rejecting no row."""

    @staging_asset(source)
    def _typed(observatory: ObservatoryResource) -> pl.DataFrame:
        return stage(read_landed(observatory.settings, source))

    return _typed


def build_statistic_asset(
    source: cat.Source,
    stage: Callable[[pl.DataFrame], tuple[pl.DataFrame, pl.DataFrame]],
) -> dg.AssetsDefinition:
    """A staging asset whose file(s) one pure function types and checks (rejects quarantined)."""
    name = f"stg_{source.key}"

    @staging_asset(source)
    def _statistic(observatory: ObservatoryResource) -> dg.Output[pl.DataFrame]:
        raw = read_landed(observatory.settings, source)
        kept, quarantine = stage(raw)
        return staged(observatory, name, raw.height, kept, quarantine)

    return _statistic


@dg.asset(group_name=GROUP, deps=[cat.CAF_RSA.raw_asset, cat.INSEE_IRIS.raw_asset])
def stg_caf__rsa_iris(observatory: ObservatoryResource) -> dg.Output[pl.DataFrame]:
    """RSA allocataires by IRIS summed to communes (IRIS 2020 table); partial sums flagged.

    Live, CNAF publishes RSA by commune only (s_ben_com_f): those rows are staged as they are.
    """
    settings = observatory.settings
    raw = read_landed(settings, cat.CAF_RSA)
    if "CODE_COMMUNE" in raw.columns:  # live: published by commune, no IRIS table needed
        kept, quarantine = statistics.stage_caf_rsa_communes(raw)
    else:
        iris_table = read_landed(settings, cat.INSEE_IRIS)
        kept, quarantine = statistics.stage_caf_rsa_iris(raw, iris_table)
    # accounting is by IRIS row: each commune row says how many IRIS rows it sums
    iris = int(kept["nb_iris_source"].sum())
    return staged(
        observatory, "stg_caf__rsa_iris", raw.height, kept, quarantine, iris, communes=kept.height
    )


staging_assets = [
    build_statistic_asset(cat.COG_COMMUNES, cog.stage_communes),
    *(build_reference_asset(source, column) for source, column in REFERENCES.items()),
    *(build_typed_asset(source, stage) for source, stage in TYPED.items()),
    stg_ign__contours_communes,
    *(
        build_lieux_asset(source, parse, REQUIS.get(source, lieux.IDENTITE))
        for source, parse in LIEUX.items()
    ),
    stg_caf__rsa_iris,
    *(build_reference_table_asset(source) for source in REFERENCE_TABLES),
    *(build_statistic_asset(source, stage) for source, stage in STATISTICS.items()),
]
