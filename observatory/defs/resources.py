"""Resources: the run's settings and the Parquet IO manager of intermediate assets."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster_polars import PolarsParquetIOManager

from observatory.settings import Settings


class ObservatoryResource(dg.ConfigurableResource):
    """The settings every asset reads: data directory, profile, bundled assets, SQL models."""

    data_dir: str
    profile: str = "offline"
    assets_dir: str
    sql_dir: str

    @property
    def settings(self) -> Settings:
        return Settings(
            data_dir=Path(self.data_dir),
            profile=self.profile,
            assets_dir=Path(self.assets_dir),
            sql_dir=Path(self.sql_dir),
        )


def build_resources(settings: Settings) -> dict[str, object]:
    return {
        "observatory": ObservatoryResource(
            data_dir=str(settings.data_dir),
            profile=settings.profile,
            assets_dir=str(settings.assets_dir),
            sql_dir=str(settings.sql_dir),
        ),
        "io_manager": PolarsParquetIOManager(base_dir=str(settings.warehouse_dir)),
    }
