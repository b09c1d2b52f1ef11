"""Read landed raw files into polars, every value a string, each row numbered with its file."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import polars as pl

from observatory.settings import Settings, bundled
from observatory.sources.catalogue import INSEE_PRENOMS, STATISTIQUES, Source
from observatory.sources.live_formats import ANNEE_DONNEES
from observatory.sources.live_parsers import FILE_PARSERS, SOURCE_PARSERS
from observatory.sources.raw import RawFile, landed
from observatory.validation.quarantine import IDENTITE_LIGNE, number_rows


def _read_file(source: Source, raw: RawFile) -> pl.DataFrame:
    if raw.profil == "live" and source.key in FILE_PARSERS:
        return FILE_PARSERS[source.key](raw.path.read_bytes())
    if raw.fichier.endswith(".parquet"):
        frame = pl.read_parquet(raw.path)
        return frame.with_columns(pl.col(c).cast(pl.String) for c in frame.columns)
    return pl.read_csv(raw.path, infer_schema=False, encoding="utf8")


def read_landed(settings: Settings, source: Source) -> pl.DataFrame:
    """All files of a source, as strings (codes keep their leading zeros), rows numbered.

    A live file is parsed into the layout of the bundled file (`live_parsers`). A statistic
    gets `annee_donnees`, the vintage of each row: the year the live file states, else the
    catalogue's (`source.annee`, the bundled snapshot's); staging stamps `annee` from it.
    Files a source parser reads together are numbered as one file, named `a + b`.
    """
    files = landed(settings, source)
    if source.key in SOURCE_PARSERS and files and all(f.profil == "live" for f in files):
        frame = SOURCE_PARSERS[source.key]({f.fichier: f.path.read_bytes() for f in files})
        numbered = [
            number_rows(
                frame,
                source.key,
                " + ".join(f.fichier for f in files),
                " + ".join(f.sha256 for f in files),
            )
        ]
    else:
        numbered = [
            number_rows(_read_file(source, raw), source.key, raw.fichier, raw.sha256)
            for raw in files
        ]
    if not numbered:  # a source with no bundled file, offline: no rows, identity columns only
        return pl.DataFrame(
            schema={c: pl.Int64 if c == "ligne" else pl.String for c in IDENTITE_LIGNE}
        )
    # one chunk: polars 1.44 can abort on filters over many-chunk frames read from large CSVs
    frame = pl.concat(numbered, how="diagonal").rechunk()
    if source in STATISTIQUES:
        if ANNEE_DONNEES not in frame.columns:
            frame = frame.with_columns(pl.lit(str(source.annee)).alias(ANNEE_DONNEES))
        elif frame[ANNEE_DONNEES].null_count():
            raise ValueError(
                f"{source.key}: {frame[ANNEE_DONNEES].null_count()} live rows without a "
                "readable vintage (date or period column); not staged under a guessed year"
            )
    return frame


def read_landed_typed(settings: Settings, source: Source) -> pl.DataFrame:
    """The Parquet files of a source with their own types, rows numbered: for data that has
    no string form, such as the coordinate lists of the commune contours."""
    return pl.concat(
        [
            number_rows(pl.read_parquet(raw.path), source.key, raw.fichier, raw.sha256)
            for raw in landed(settings, source)
        ],
        how="vertical",
    )


def read_reference_table(settings: Settings, source: Source) -> pl.DataFrame:
    """A reference table used as it is published: every column a string, no row identity
    (nothing is quarantined from it)."""
    return read_landed(settings, source).drop(IDENTITE_LIGNE)


PRENOMS_BUNDLED = bundled("assets") / INSEE_PRENOMS.files[0].bundled


@cache
def prenoms(path: Path = PRENOMS_BUNDLED) -> frozenset[str]:
    """INSEE first names given ≥ 500 times since 1900, lower case without accents (the
    bundled file: for reading a partner file outside a run, and for tests)."""
    table = pl.read_csv(path, schema_overrides={"prenom": pl.String})
    return frozenset(table["prenom"].to_list())
