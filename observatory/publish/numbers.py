"""One number format for everything a person reads: report, exports, dictionary, changelog.

French conventions: decimal comma, a narrow no-break space (U+202F) between thousands and
before a unit sign (`18,6 %`, `13,1 km`), so a number never breaks across lines. Each
indicator has a precision, declared by the dictionary: its unit's in `schemas/unites.yaml`
(decimals of the value in its unit: a share in [0, 1] with 3 decimals reads `18,6 %`), or its
own `decimales` in `schemas/indicateurs.yaml`. Counts of things (places, variables, ranks)
are whole numbers and are published as integers.

Exports round to the same precision (`round_indicators`), so a spreadsheet shows what the
report shows. The published Parquet keeps full precision: researchers sum and divide.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from observatory.settings import PROJECT_ROOT

NNBSP = "\u202f"  # narrow no-break space: thousands separator, and before % and km
UNKNOWN = "inconnu"  # a source does not cover the territory: never 0
NOT_APPLICABLE = "sans objet à ce niveau"  # the indicator is not defined at this level
UNITS_FILE = "unites.yaml"
DICTIONARY_FILE = "indicateurs.yaml"


@dataclass(frozen=True)
class Precision:
    """How an indicator's values are rounded and shown."""

    decimales: int  # decimals of the value in its unit (a share: of the fraction, not the %)
    entier: bool = False  # a count of things: published as an integer
    signe: str = ""  # written after the number: "%" (a share shown as a percentage), "km"

    @property
    def pourcentage(self) -> bool:
        return self.signe == "%"

    @property
    def decimales_affichees(self) -> int:
        """Decimals as shown: a share's are those of its percentage."""
        return max(self.decimales - 2, 0) if self.pourcentage else self.decimales


def _convention(code: str) -> Precision:
    """An indicator without a declared unit: by the project's naming convention."""
    if code.startswith(("taux_", "part_")):
        return Precision(3, signe="%")
    if code.startswith("distance_"):
        return Precision(1, signe="km")
    if code.startswith(("nb_", "rang_")) or code == "population":
        return Precision(0)
    return Precision(2)


def absent(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value: float | None, decimales: int = 0) -> str:
    """`12 345,6` (narrow no-break space, decimal comma); `inconnu` for a missing value."""
    if absent(value):
        return UNKNOWN
    text = f"{float(value):,.{decimales}f}"
    if text.startswith("-") and not text.strip("-0.,"):
        text = text[1:]  # -0,0 would read as a loss
    return text.replace(",", NNBSP).replace(".", ",")


def count(value: int | None) -> str:
    """A count of rows, files, places: `34 875`."""
    return number(value, 0)


def format_value(value: float | None, rule: Precision) -> str:
    """A value with its precision: `18,6 %`, `13,1 km`, `54 167`; `inconnu` when missing."""
    if absent(value):
        return UNKNOWN
    shown = 100 * float(value) if rule.pourcentage else float(value)
    text = number(shown, rule.decimales_affichees)
    return f"{text}{NNBSP}{rule.signe}" if rule.signe else text


def describe(rule: Precision) -> str:
    """The precision in words, for the dictionary: `entier`, `0,1 %`, `1 décimale`."""
    if rule.entier:
        return "entier"
    if rule.pourcentage:
        step = 10.0**-rule.decimales_affichees
        return f"{number(step, rule.decimales_affichees)}{NNBSP}%"
    if rule.decimales == 0:
        return "arrondi à l'unité"
    return f"{rule.decimales} décimale{'s' if rule.decimales > 1 else ''}"


@dataclass(frozen=True)
class Precisions:
    """The precision of every indicator: the dictionary's entries and the units' defaults."""

    dictionary: Mapping[str, Mapping[str, Any]]
    units: Mapping[str, Mapping[str, Any]]

    def of(self, code: str) -> Precision:
        entry = self.dictionary.get(code) or {}
        unit = self.units.get(str(entry.get("unite", "")))
        base = (
            Precision(
                int(unit["decimales"]), bool(unit.get("entier", False)), str(unit.get("signe", ""))
            )
            if unit is not None
            else _convention(code)
        )
        if "decimales" in entry:
            return Precision(int(entry["decimales"]), base.entier, base.signe)
        return base

    def format(self, code: str, value: float | None) -> str:
        """A value of indicator `code` as a French reader expects it."""
        return format_value(value, self.of(code))

    def integers(self) -> list[str]:
        """Indicators published as integers (counts of things)."""
        return [code for code in self.dictionary if self.of(code).entier]

    def round(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Indicator columns of `frame` rounded to their precision (counts as integers), for
        exports; other columns untouched. Unknown stays null."""
        columns = []
        for code in frame.columns:
            if code not in self.dictionary or not frame.schema[code].is_numeric():
                continue
            rule = self.of(code)
            column = pl.col(code).cast(pl.Float64).round(rule.decimales)
            columns.append(column.cast(pl.Int64) if rule.entier else column)
        return frame.with_columns(columns) if columns else frame


def _read(path: Path) -> dict[str, Any]:
    from observatory.publish.schemas import read_yaml  # schemas imports this module

    return read_yaml(path) if path.is_file() else {}


@cache
def _load(schemas_dir: Path) -> Precisions:
    return Precisions(_read(schemas_dir / DICTIONARY_FILE), _read(schemas_dir / UNITS_FILE))


def load_precisions(schemas_dir: Path = PROJECT_ROOT / "schemas") -> Precisions:
    """The precisions the dictionary of `schemas_dir` declares (read once per folder)."""
    return _load(Path(schemas_dir).resolve())


def format_indicator(code: str, value: float | None) -> str:
    """A value of indicator `code` with the bundled dictionary's precision."""
    return load_precisions().format(code, value)
