"""The Parquet IO manager of intermediate assets: what it stores and what it says."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl
from polars.testing import assert_frame_equal

from observatory.defs.resources import ParquetIOManager

COMMUNES = pl.DataFrame({"code": ["16015", "16070", "17300"], "population": [41711, 1602, None]})


def test_outputs_are_stored_and_described_without_a_describe_of_every_column(
    tmp_path: Path,
) -> None:
    """Row count, column schema and a sample, but no `stats` table (`describe()`: a sort of
    every column of every output, for figures the assets' own metadata gives)."""

    @dg.asset(name="int__essai")
    def int__essai() -> pl.DataFrame:
        return COMMUNES

    result = dg.materialize(
        [int__essai], resources={"io_manager": ParquetIOManager(base_dir=str(tmp_path))}
    )
    (materialization,) = result.asset_materializations_for_node("int__essai")
    metadata = materialization.metadata
    assert "stats" not in metadata
    assert metadata["dagster/row_count"].value == 3
    columns = metadata["dagster/column_schema"].schema.columns
    assert [(c.name, c.type) for c in columns] == [("code", "String"), ("population", "Int64")]
    assert len(metadata["table"].records) == 3
    assert_frame_equal(pl.read_parquet(tmp_path / "int__essai.parquet"), COMMUNES)
