"""Exports for agents: per département, its communes, its EPCI and the département itself.

Agents open spreadsheets, so each département gets an XLSX workbook (one sheet per level and
an `Informations` sheet: release, vintages, licence, column dictionary) and, for tools that
want text, one CSV per level as French spreadsheets expect it: `;` separator, decimal comma,
UTF-8 with a BOM (so Excel detects the encoding). Column headers are the French titles of the
Table Schemas and of the indicator dictionary, never written twice. Indicator values are
rounded to the precision the dictionary declares (`observatory.publish.numbers`): 54 167
people, not 54166.581141; counts are whole numbers. The workbook shows them with the same
number of decimals (shares as percentages).

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

from observatory.publish import numbers
from observatory.publish.schemas import load_dictionary, load_table_schema
from observatory.settings import SCHEMAS_DIR
from observatory.transforms.context import CONTEXTE_TERRITOIRES

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
        *CONTEXTE_TERRITOIRES,
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
    precision: numbers.Precision | None = None  # indicators: how values are rounded


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
    precisions = numbers.load_precisions(schemas_dir)
    for table in ("territoires", "indicateurs_large"):
        for spec in load_table_schema(schemas_dir, table)["fields"]:
            name = spec["name"]
            result.setdefault(
                name,
                Colonne(
                    _QUALIFICATIF.sub("", spec.get("title", name)),
                    spec.get("description", ""),
                    spec.get("unit", ""),
                    precisions.of(name) if name in precisions.dictionary else None,
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
        raise ExportError(f"{code!r} n'est pas un code de département (01…95, 2A, 2B, 971…976)")
    departement = territoires.filter(pl.col("niveau") == "departement", pl.col("code") == code)
    if departement.is_empty():
        raise ExportError(f"le département {code} n'est pas dans la release")
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
        raise ExportError(f"colonnes sans titre : {missing}")
    titles = [dictionary[c].titre for c in frame.columns]
    if len(set(titles)) != len(titles):
        raise ExportError(f"titres de colonnes en double : {titles}")
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


def _num_format(colonne: Colonne, series: pl.Series) -> str | None:
    """Excel number format of a column: the indicator's precision, thousands for integers."""
    rule = colonne.precision
    if rule is None:
        return "#,##0" if series.dtype.is_integer() else None
    if rule.pourcentage:
        decimales = max(rule.decimales - 2, 0)
        return ("0." + "0" * decimales if decimales else "0") + "%"
    return "#,##0" + ("." + "0" * rule.decimales if rule.decimales else "")


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
        formats: dict[str, Any] = {}
        for niveau, frame in frames.items():
            sheet = workbook.add_worksheet(NIVEAUX_EXPORT[niveau])
            titles = _titles(frame, dictionary)
            for col, (title, series) in enumerate(zip(titles, frame.iter_columns(), strict=True)):
                sheet.write_string(0, col, title, bold)
                num_format = _num_format(dictionary[series.name], series)
                if num_format is not None and num_format not in formats:
                    formats[num_format] = workbook.add_format({"num_format": num_format})
                sheet.set_column(col, col, _width(title, series), formats.get(num_format or ""))
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
        headers = ("Colonne", "Nom technique", "Description", "Unité", "Précision")
        for col, header in enumerate(headers):
            sheet.write_string(row, col, header, bold)
        seen: set[str] = set()
        for frame in frames.values():
            for name in frame.columns:
                if name in seen:
                    continue
                seen.add(name)
                row += 1
                entry = dictionary[name]
                precision = numbers.describe(entry.precision) if entry.precision else ""
                texts = (entry.titre, name, entry.description, entry.unite, precision)
                for col, text in enumerate(texts):
                    sheet.write_string(row, col, text)
    return path


def _read_table(release: Path, manifest: Mapping[str, Any], name: str) -> pl.DataFrame:
    """A table of the release through its manifest (one file or hive partitions)."""
    root = release.resolve()
    paths = [(root / entry["path"]).resolve() for entry in manifest["tables"][name]["files"]]
    if any(not path.is_relative_to(root) for path in paths):
        raise ExportError(f"{name} : un fichier du manifeste est hors de la release")
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
    precisions = numbers.load_precisions(schemas_dir)
    frames = {niveau: precisions.round(frame) for niveau, frame in frames.items()}
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
            "Cellule vide : valeur inconnue (source ne couvrant pas le territoire), jamais 0, "
            "ou indicateur sans objet à ce niveau (rang dans le département : communes "
            "seulement). Valeurs arrondies à la précision du dictionnaire (colonne Précision).",
        ),
    ]
    files = [write_xlsx(frames, out_dir / f"departement_{code}.xlsx", dictionary, informations)]
    for niveau, frame in frames.items():
        files.append(write_csv(frame, out_dir / f"departement_{code}_{niveau}.csv", dictionary))
    return ExportDepartement(code, tuple(files), {n: f.height for n, f in frames.items()})
