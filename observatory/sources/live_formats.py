"""Shared readers of the live formats: `;` CSV (BOM, UTF-8 or cp1252), zips, INSEE xlsx.

The live parsers (`<provider>_live.py`) turn each live file into the layout of the bundled file
of the same source, every value a string, so the same staging reads both. A parser also adds
`ANNEE_DONNEES`, the vintage of each row as the live file states it (a date column, a
`TIME_PERIOD`, a `P22_` prefix): in a live run the catalogue's vintage is the bundled one, not
the downloaded one, and a staged row must carry the year of its data.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Mapping

import polars as pl

# The vintage of a row's data (4-digit year, as a string) when the file says it.
ANNEE_DONNEES = "annee_donnees"


def decode(payload: bytes, what: str) -> str:
    """UTF-8 (with or without BOM), else cp1252 (INSEE's older CSVs; latin-1 loses `Œ`)."""
    if not payload.strip():
        raise ValueError(f"{what}: empty file")
    try:
        return payload.decode("utf-8-sig")
    except UnicodeDecodeError:
        return payload.decode("cp1252")


def read_csv_text(payload: bytes, what: str, separator: str = ";") -> pl.DataFrame:
    """A CSV as strings (codes keep their leading zeros); headers stripped of spaces/BOM."""
    frame = pl.read_csv(
        io.StringIO(decode(payload, what)),
        separator=separator,
        infer_schema=False,
        truncate_ragged_lines=False,
    )
    return frame.rename({c: c.strip().lstrip("\ufeff") for c in frame.columns})


def require(frame: pl.DataFrame, columns: Iterable[str], what: str) -> None:
    """Fail naming the missing columns: a renamed column must stop the run, not land nulls."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{what}: columns {missing} missing (got {frame.columns[:20]}); the publisher "
            "changed the format: update the parser"
        )


def zip_member(payload: bytes, pattern: str, what: str) -> tuple[str, bytes]:
    """The one member of a zip whose base name matches `pattern` (case-insensitive)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(payload))
    except zipfile.BadZipFile as exc:
        raise ValueError(f"{what}: not a zip archive ({exc})") from exc
    with archive:
        names = [n for n in archive.namelist() if not n.endswith("/")]
        found = [n for n in names if re.search(pattern, n.rsplit("/", 1)[-1], re.IGNORECASE)]
        if len(found) != 1:
            raise ValueError(f"{what}: expected one member matching {pattern!r}, got {names}")
        return found[0], archive.read(found[0])


def excel_sheets(payload: bytes) -> list[str]:
    import fastexcel

    return list(fastexcel.read_excel(payload).sheet_names)


def read_excel_table(payload: bytes, sheet: str, first_column: str, what: str) -> pl.DataFrame:
    """An INSEE sheet as strings: preamble rows skipped up to the row that starts with
    `first_column` (INSEE puts 4 or 5 lines of title and notes above the header)."""
    grid = pl.read_excel(
        payload,
        sheet_name=sheet,
        engine="calamine",
        has_header=False,
        infer_schema_length=0,
    )
    first = grid.columns[0]
    starts = grid[first].cast(pl.String).str.strip_chars()
    header_rows = starts.eq(first_column).arg_true()
    if header_rows.len() == 0:
        raise ValueError(
            f"{what}: sheet {sheet!r} has no header row starting with {first_column!r}"
        )
    at = int(header_rows[0])
    header = [str(v).strip() if v is not None else f"_vide_{i}" for i, v in enumerate(grid.row(at))]
    body = grid.slice(at + 1)
    body.columns = header
    return body.with_columns(pl.all().cast(pl.String).str.strip_chars().str.replace(r"\.0$", ""))


def to_layout(
    frame: pl.DataFrame, columns: Iterable[str], extra: Iterable[str] = ()
) -> pl.DataFrame:
    """`columns` in order (missing ones null, all strings), then `extra` columns present."""
    out = [
        pl.col(c).cast(pl.String) if c in frame.columns else pl.lit(None, pl.String).alias(c)
        for c in columns
    ]
    return frame.select(*out, *(c for c in extra if c in frame.columns))


def numbers(values: pl.Expr) -> pl.Expr:
    """A number as text (`1 234,5`, `313.0`) → Float64, null when unreadable."""
    return (
        values.cast(pl.String)
        .str.replace_all(r"[\s\u00a0\u202f]", "")
        .str.replace(",", ".", literal=True)
        .cast(pl.Float64, strict=False)
    )


def as_text(values: pl.Expr) -> pl.Expr:
    """A Float64 back to text as the bundled files spell it: integers without `.0`."""
    return (
        pl.when(values == values.round())
        .then(values.cast(pl.Int64, strict=False).cast(pl.String))
        .otherwise(values.cast(pl.String))
    )


def year_of(values: pl.Expr) -> pl.Expr:
    """The 4-digit year at the start of a date or period (`2026-03-31`, `2024-T4`, `202312`)."""
    return values.cast(pl.String).str.strip_chars().str.extract(r"^((?:19|20)\d{2})", 1)


def rename_present(frame: pl.DataFrame, names: Mapping[str, str]) -> pl.DataFrame:
    return frame.rename({k: v for k, v in names.items() if k in frame.columns})
