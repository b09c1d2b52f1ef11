"""Exports for agents: per département, its communes, its EPCI and the département itself.

Agents open spreadsheets, so each département gets an XLSX workbook (one sheet per level and
an `Informations` sheet: release, vintages, licence, column dictionary) and, for tools that
want text, one CSV per level as French spreadsheets expect it: `;` separator, decimal comma,
UTF-8 with a BOM (so Excel detects the encoding). Column headers are the French titles of the
Table Schemas and of the indicator dictionary, never written twice.

Text that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or
carriage return) is prefixed with `'` in the CSV and written as plain strings in the XLSX.
Territory codes stay text (`01`, `2A`, `01001`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter

from observatory.publish.schemas import load_dictionary, load_table_schema
from observatory.settings import SCHEMAS_DIR

DEPARTEMENT = re.compile(r"^(0[1-9]|[1-8]\d|9[0-5]|2A|2B|97[1-6])$")
FORMULA_PATTERN = r"^([=+\-@\t\r])"  # what a spreadsheet may evaluate
LICENCE = "Licence Ouverte / Open Licence 2.0 (Etalab)"
# Sheets (and CSV suffixes) in reading order: from the département down to its communes.
NIVEAUX_EXPORT = {"departement": "Département", "epci": "EPCI", "communes": "Communes"}
COLONNES = {
    "departement": ("code", "nom", "population", "code_region"),
    "epci": ("code", "nom", "population", "nb_communes_departement"),
    "communes": (
        "code",
        "nom",
        "population",
        "code_epci",
        "nom_epci",
        "code_bassin_de_vie",
        "code_aav",
        "categorie_aav",
        "grille_densite_7",
        "grille_densite_4",
        "latitude",
        "longitude",
    ),
}
# Columns the exports derive (not in a Table Schema): their titles and descriptions.
COLONNES_DERIVEES = {
    "nom_epci": ("Nom de l'EPCI", "Nom de l'EPCI de la commune (table territoires)."),
    "nb_communes_departement": (
        "Nombre de communes dans le département",
        "Communes de l'EPCI situées dans le département exporté ; population et indicateurs "
        "portent sur l'EPCI entier, y compris ses communes d'autres départements.",
    ),
}
# "(communes)", "(communes, départements)": which levels a territoires column is filled for,
# self-evident within one sheet.
_QUALIFICATIF = re.compile(r"\s*\((?:communes|départements)(?:, (?:communes|départements))*\)$")


class ExportError(ValueError):
    """The export cannot be made (unknown département, columns missing)."""


@dataclass(frozen=True)
class Colonne:
    """A column of an export: its French title, description and unit."""

    titre: str
    description: str = ""
    unite: str = ""


@dataclass(frozen=True)
class ExportDepartement:
    """What `export_departement` wrote: files, and rows per level."""

    code: str
    fichiers: tuple[Path, ...]
    lignes: dict[str, int] = field(default_factory=dict)


def colonnes(schemas_dir: Path = SCHEMAS_DIR) -> dict[str, Colonne]:
    """Column name → title, description, unit: territoires and indicateurs_large schemas (the
    latter adds one field per indicator from the dictionary), then the derived columns."""
    result: dict[str, Colonne] = {}
    for table in ("territoires", "indicateurs_large"):
        for spec in load_table_schema(schemas_dir, table)["fields"]:
            result.setdefault(
                spec["name"],
                Colonne(
                    _QUALIFICATIF.sub("", spec.get("title", spec["name"])),
                    spec.get("description", ""),
                    spec.get("unit", ""),
                ),
            )
    for name, (titre, description) in COLONNES_DERIVEES.items():
        result[name] = Colonne(titre, description)
    return result


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix with `'` the text cells a spreadsheet would evaluate (CSV injection)."""
    return frame.with_columns(pl.col(pl.String).str.replace(FORMULA_PATTERN, "'$1"))


def departement_frames(
    territoires: pl.DataFrame, indicateurs_large: pl.DataFrame, code: str, indicateurs: list[str]
) -> dict[str, pl.DataFrame]:
    """The département's row, its EPCI and its communes, each with the indicator columns.

    An EPCI is listed when one of its communes is in the département; its figures cover the
    whole EPCI. Rows are sorted by code; columns follow `COLONNES` then `indicateurs`.
    """
    if not DEPARTEMENT.match(code):
        raise ExportError(f"{code!r} is not a département code (01…95, 2A, 2B, 971…976)")
    departement = territoires.filter(pl.col("niveau") == "departement", pl.col("code") == code)
    if departement.is_empty():
        raise ExportError(f"département {code} is not in the release's territoires")
    epci_names = territoires.filter(pl.col("niveau") == "epci").select(
        pl.col("code").alias("code_epci"), pl.col("nom").alias("nom_epci")
    )
    communes = (
        territoires.filter(pl.col("niveau") == "commune", pl.col("code_departement") == code)
        .join(epci_names, on="code_epci", how="left")
        .sort("code")
    )
    par_epci = (
        communes.drop_nulls("code_epci")
        .group_by("code_epci")
        .agg(pl.len().cast(pl.Int64).alias("nb_communes_departement"))
    )
    epci = (
        territoires.filter(pl.col("niveau") == "epci")
        .join(par_epci, left_on="code", right_on="code_epci", how="inner")
        .sort("code")
    )
    valeurs = indicateurs_large.select("niveau", "code", *indicateurs)
    frames = {}
    for niveau, frame in (("departement", departement), ("epci", epci), ("communes", communes)):
        frame = frame.join(valeurs, on=["niveau", "code"], how="left", maintain_order="left")
        frames[niveau] = frame.select(*COLONNES[niveau], *indicateurs)
    return frames


def _titles(frame: pl.DataFrame, dictionary: Mapping[str, Colonne]) -> list[str]:
    missing = [c for c in frame.columns if c not in dictionary]
    if missing:
        raise ExportError(f"no title for columns {missing}")
    titles = [dictionary[c].titre for c in frame.columns]
    if len(set(titles)) != len(titles):
        raise ExportError(f"duplicate column titles: {titles}")
    return titles


def write_csv(frame: pl.DataFrame, path: Path, dictionary: Mapping[str, Colonne]) -> Path:
    """`;`-separated, decimal comma, UTF-8 with BOM, French titles, formulas neutralised."""
    titled = neutralise_formulas(frame)
    titled.columns = _titles(frame, dictionary)
    titled.write_csv(
        path,
        separator=";",
        decimal_comma=True,
        include_bom=True,
        float_scientific=False,
        line_terminator="\r\n",
    )
    return path


def _width(title: str, values: pl.Series) -> float:
    longest = values.cast(pl.String).str.len_chars().max() if values.len() else 0
    return min(max(len(title), int(longest or 0)) + 2, 60)


def write_xlsx(
    frames: Mapping[str, pl.DataFrame],
    path: Path,
    dictionary: Mapping[str, Colonne],
    informations: list[tuple[str, str]],
) -> Path:
    """One sheet per level (header frozen, filters), then `Informations`.

    Text is always written with `write_string`, and the workbook is told not to turn strings
    into formulas, numbers or links: a name starting with `=` stays text, `01` stays `01`.
    """
    options = {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False}
    with xlsxwriter.Workbook(path, options) as workbook:
        bold = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top"})
        integer = workbook.add_format({"num_format": "#,##0"})
        for niveau, frame in frames.items():
            sheet = workbook.add_worksheet(NIVEAUX_EXPORT[niveau])
            titles = _titles(frame, dictionary)
            for col, (title, series) in enumerate(zip(titles, frame.iter_columns(), strict=True)):
                sheet.write_string(0, col, title, bold)
                is_integer = series.dtype.is_integer()
                sheet.set_column(col, col, _width(title, series), integer if is_integer else None)
                if series.dtype == pl.String:
                    write = sheet.write_string
                elif series.dtype == pl.Boolean:
                    write = sheet.write_boolean
                else:
                    write = sheet.write_number
                for row, value in enumerate(series.to_list(), start=1):
                    if value is None or (isinstance(value, float) and value != value):
                        continue  # blank cell: unknown is never 0
                    write(row, col, value)
            sheet.freeze_panes(1, 0)
            sheet.autofilter(0, 0, frame.height, frame.width - 1)
        sheet = workbook.add_worksheet("Informations")
        sheet.set_column(0, 0, 40)
        sheet.set_column(1, 1, 50)
        sheet.set_column(2, 2, 90)
        row = 0
        for label, value in informations:
            sheet.write_string(row, 0, label, bold)
            sheet.write_string(row, 1, value)
            row += 1
        row += 1
        for col, header in enumerate(("Colonne", "Nom technique", "Description", "Unité")):
            sheet.write_string(row, col, header, bold)
        seen: set[str] = set()
        for frame in frames.values():
            for name in frame.columns:
                if name in seen:
                    continue
                seen.add(name)
                row += 1
                entry = dictionary[name]
                for col, text in enumerate((entry.titre, name, entry.description, entry.unite)):
                    sheet.write_string(row, col, text)
    return path


def _read_table(release: Path, manifest: Mapping[str, Any], name: str) -> pl.DataFrame:
    """A table of the release through its manifest (one file or hive partitions)."""
    root = release.resolve()
    paths = [(root / entry["path"]).resolve() for entry in manifest["tables"][name]["files"]]
    if any(not path.is_relative_to(root) for path in paths):
        raise ExportError(f"{name}: a file of the manifest is outside the release")
    return pl.read_parquet(paths, hive_partitioning=False)


def export_departement(
    release: Path,
    code: str,
    out_dir: Path,
    schemas_dir: Path = SCHEMAS_DIR,
) -> ExportDepartement:
    """Write `departement_<code>.xlsx` and `departement_<code>_<niveau>.csv` into `out_dir`."""
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    large = _read_table(release, manifest, "indicateurs_large")
    # the dictionary's order, for the indicators this release has (an older one has fewer)
    indicateurs = [c for c in load_dictionary(schemas_dir) if c in large.columns]
    frames = departement_frames(
        _read_table(release, manifest, "territoires"), large, code, indicateurs
    )
    dictionary = colonnes(schemas_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    nom = frames["departement"]["nom"].item()
    informations = [
        ("Territoire", f"{nom} ({code})"),
        ("Release de l'observatoire", str(manifest["release_id"])),
        ("Date de la release", str(manifest.get("created_at", ""))),
        ("Millésime du COG", str(manifest.get("millesime_cog", ""))),
        ("Licence", LICENCE),
        (
            "Lecture",
            "Cellule vide : valeur inconnue (source ne couvrant pas le territoire), jamais 0.",
        ),
    ]
    files = [write_xlsx(frames, out_dir / f"departement_{code}.xlsx", dictionary, informations)]
    for niveau, frame in frames.items():
        files.append(write_csv(frame, out_dir / f"departement_{code}_{niveau}.csv", dictionary))
    return ExportDepartement(code, tuple(files), {n: f.height for n, f in frames.items()})
