"""Where quarantine entries are kept: `<data_dir>/quarantine/<asset>.parquet`."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from observatory.settings import Settings


def write_quarantine(settings: Settings, asset: str, entries: pl.DataFrame) -> Path:
    """Replace an asset's quarantine table atomically (it reflects that asset's last run)."""
    folder = settings.quarantine_dir
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{asset}.parquet"
    tmp = folder / f".{asset}.parquet.tmp"
    entries.write_parquet(tmp)
    os.replace(tmp, target)
    return target


def read_quarantine(settings: Settings) -> pl.DataFrame:
    """Every quarantine entry of the data directory, with the asset that wrote it."""
    frames = [
        pl.read_parquet(path).with_columns(pl.lit(path.stem).alias("asset"))
        for path in sorted(settings.quarantine_dir.glob("*.parquet"))
    ]
    return pl.concat(frames) if frames else pl.DataFrame()
