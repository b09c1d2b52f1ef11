"""Resources: the run's settings and the Parquet IO manager of intermediate assets."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import polars as pl
from dagster_polars import PolarsParquetIOManager
from dagster_polars.io_managers.utils import get_metadata_schema, get_table_metadata

from observatory.operations import empreintes
from observatory.publish.historique import HistoriqueIllisible, historique_secret
from observatory.settings import FIELDS, Settings, settings_fields, settings_from_fields


class ObservatoryResource(dg.ConfigurableResource):
    """The settings every asset reads: data directory, profile, bundled assets, SQL models."""

    data_dir: str
    profile: str = "offline"
    assets_dir: str
    sql_dir: str
    schemas_dir: str
    keep_releases: int = 10
    zonages_dir: str | None = None

    @property
    def settings(self) -> Settings:
        return settings_from_fields(**{name: getattr(self, name) for name in FIELDS})

    def historique_secret(self) -> pl.DataFrame | None:
        """What earlier releases revealed of the partners' counts: an input read fresh by the
        steps that decide and check secrecy (releases are not assets of the graph). None when
        it cannot be read: every partner count is then hidden, and the release still goes out
        (`secret_suppression.etat_historique`)."""
        try:
            return historique_secret(self.settings)
        except HistoriqueIllisible as erreur:
            dg.get_dagster_logger().error(
                f"{erreur} Tous les comptes des partenaires sont masqués."
            )
            return None


if TYPE_CHECKING:
    from upath import UPath


class ParquetIOManager(PolarsParquetIOManager):
    """dagster-polars' Parquet IO manager, reading without the `rechunk`/`retries` arguments,
    writing atomically.

    dagster-polars 0.27 passes both to `pl.scan_parquet`: deprecated in polars 1.4x, removed in
    polars 2 (`ArgumentRemovedError`). Reading plainly keeps the project ready for polars 2.
    It writes in place: a run killed mid-write left a truncated file a later partial run would
    read. Here a local file is written beside its target (`.<file>.ecriture-<pid>.<random>`,
    removed by the next run if the process dies) and renamed over it.
    """

    def write_df_to_path(self, context: dg.OutputContext, df: pl.DataFrame, path: UPath) -> None:
        if getattr(path, "protocol", "") not in ("", "file", "local"):
            super().write_df_to_path(context, df, path)
            return
        # a write outside `observatory run` (the UI, a schedule) voids the record of what the
        # warehouse holds: the next run is complete (`operations.empreintes`)
        empreintes.oublie(Path(self.base_dir))
        tmp = path.with_name(f".{path.name}.ecriture-{os.getpid()}.{secrets.token_hex(4)}")
        try:
            super().write_df_to_path(context, df, tmp)
            os.replace(str(tmp), str(path))
        except BaseException:
            Path(str(tmp)).unlink(missing_ok=True)
            raise

    def scan_df_from_path(
        self, path: UPath, context: dg.InputContext, partition_key: str | None = None
    ) -> pl.LazyFrame:
        return pl.scan_parquet(str(path), storage_options=self.storage_options)

    def get_metadata(
        self, context: dg.OutputContext, obj: pl.DataFrame | pl.LazyFrame | None
    ) -> dict[str, dg.MetadataValue]:
        """dagster-polars' metadata without its `stats`: a `describe()` of every output frame
        (quantiles: a sort of each column), 0.7 s of a national run, for a table the assets'
        own metadata (counts, gaps, quarantine) says better. Column schema, row count, sample
        and size are kept."""
        if not isinstance(obj, pl.DataFrame):
            return super().get_metadata(context, obj)
        schema = get_metadata_schema(obj)
        sample = get_table_metadata(context=context, df=obj, schema=schema)
        return {
            "dagster/column_schema": schema,
            **({"table": sample} if sample is not None else {}),
            "dagster/row_count": dg.MetadataValue.int(obj.height),
            "estimated_size_mb": dg.MetadataValue.float(obj.estimated_size(unit="mb")),
        }


def build_resources(settings: Settings) -> dict[str, object]:
    return {
        "observatory": ObservatoryResource(**settings_fields(settings)),
        "io_manager": ParquetIOManager(base_dir=str(settings.warehouse_dir)),
    }
