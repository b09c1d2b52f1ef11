"""Read landed raw files into polars, every value a string, each row numbered with its file."""

from __future__ import annotations

import polars as pl

from observatory.settings import Settings
from observatory.sources.catalogue import Source
from observatory.sources.cog_live import LIVE_PARSERS
from observatory.sources.raw import landed
from observatory.validation.quarantine import number_rows


def read_landed(settings: Settings, source: Source) -> pl.DataFrame:
    """All files of a source, as strings (codes keep their leading zeros), rows numbered."""
    frames = []
    for raw in landed(settings, source):
        if raw.fichier.endswith(".json") and source.key in LIVE_PARSERS:
            frame = LIVE_PARSERS[source.key](raw.path.read_bytes())
        elif raw.fichier.endswith(".parquet"):
            frame = pl.read_parquet(raw.path)
            frame = frame.with_columns(pl.col(c).cast(pl.String) for c in frame.columns)
        else:
            frame = pl.read_csv(raw.path, infer_schema=False, encoding="utf8")
        frames.append(number_rows(frame, source.key, raw.fichier, raw.sha256))
    # one chunk: polars 1.44 can abort on filters over many-chunk frames read from large CSVs
    return pl.concat(frames, how="diagonal").rechunk()
