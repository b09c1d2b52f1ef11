"""How partners write values, and how each column of a mapping is read from them.

Values are read as partners write them: INSEE codes a spreadsheet turned into numbers (`1001` →
`01001`, `2A004` kept), decimal commas and thousands separators (`24 150,5`), dates in the
formats the mapping lists, periods (a year, a month, a quarter, or a month a spreadsheet turned
into a date), latitude and longitude swapped (detected against France's bounding boxes,
overseas included, and swapped back), cells that look like spreadsheet formulas kept as text
(in a numeric or date column they are reported: the file holds the formula, not its result).

Each column's failures are reported with their reason, never summed: a period that starts
after the file was received (`periode_future`), a number in scientific notation, which a
spreadsheet may have rounded (`nombre_notation_scientifique`), a count above `NOMBRE_MAX`
(`nombre_invraisemblable`, which also keeps every sum far from Int64's limit), a value outside
the column's vocabulary. In a `lieux` file a value the partner's format cannot convert is
passed as written, for the standard's checks (`lieux.stage_lieux`) to report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from observatory.geo import in_france
from observatory.partners.mappings import ColumnRule, PartnerMapping
from observatory.transforms.lieux import SEPARATEUR_V1, normalise_code_postal
from observatory.transforms.names import normalise_nom_colonne

# Territory-code normalisers by level (commune: `1001` → `01001`, `2A` kept; EPCI SIREN;
# département and région with their lost leading zero), shared with the statistics' staging.
from observatory.transforms.statistics import _NORMALISEURS as NORMALISEURS_CODES
from observatory.validation.quarantine import (
    REJET,
    VALEUR_CORRIGEE,
    VALEUR_ECARTEE,
    Check,
)

FORMAT_ISO = "%Y-%m-%d"
ANNEE_MIN, ANNEE_MAX = 1971, 2099  # a period outside is an artefact or a typo
_BLANCS = r"[\s\u00a0\u202f']"
_VRAI = {"oui", "o", "true", "vrai", "1", "x", "yes"}
_FAUX = {"non", "n", "false", "faux", "0", "no"}
# Periods as partners write them: 2024, 2024-03, 03/2024, T1 2024, 2024-T1, 2024 T1.
_ANNEE = r"^(\d{4})$"
_MOIS_ISO = r"^(\d{4})[-/.](\d{1,2})$"
_MOIS_FR = r"^(\d{1,2})[-/.](\d{4})$"
_TRIMESTRE_AVANT = r"^[Tt]([1-4])[\s-]*(\d{4})$"
_TRIMESTRE_APRES = r"^(\d{4})[\s-]*[Tt]([1-4])$"
# A month a spreadsheet turned into a date: 2024-03-01 (ISO, or with a time), 01/03/2024, or
# the date's serial number (days since 1899-12-30: 45352 is 2024-03-01).
_DATE_ISO = r"^(\d{4})-(\d{2})-\d{2}(?:[ T]00:00(?::00)?)?$"
_DATE_FR = r"^\d{1,2}/(\d{1,2})/(\d{4})$"
_SERIE_EXCEL = r"^(\d{5})(?:\.0+)?$"
_EPOQUE_EXCEL = date(1899, 12, 30)
NOMBRE_MAX = 1_000_000_000  # a count of people or actions above a billion is an error
_SCIENTIFIQUE = r"^[+-]?[\d.,]*\d[eE][+-]?\d+$"


def nombre(value: pl.Expr, decimale: str) -> pl.Expr:
    """A number as written in French files (`24 150,5`, `1.234,5`, `1,234.5`, `44.8`); else null.

    `decimale` (the file's decimal mark) only decides `1.234` and `1,234`: thousands.
    """
    v = value.str.replace_all(_BLANCS, "")
    if decimale == ",":
        milliers = v.str.contains(r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$")
        v = pl.when(milliers).then(v.str.replace_all(".", "", literal=True)).otherwise(v)
    else:
        milliers = v.str.contains(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
        v = pl.when(milliers).then(v.str.replace_all(",", "", literal=True)).otherwise(v)
    parsed = v.str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)
    return pl.when(parsed.is_finite()).then(parsed)


def _date(value: pl.Expr, formats: tuple[str, ...]) -> pl.Expr:
    tries = [value.str.to_date(f, strict=False) for f in (*formats, FORMAT_ISO)]
    return pl.coalesce(tries)


def periode(value: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(first day, last day) of a period written as a year, a month or a quarter; else nulls."""
    v = value.str.replace_all(r"\s+", " ").str.strip_chars()

    def entier(motif: str, groupe: int) -> pl.Expr:
        return v.str.extract(motif, groupe).cast(pl.Int32, strict=False)

    serie = v.str.extract(_SERIE_EXCEL, 1).cast(pl.Int64, strict=False)
    jour_excel = (
        pl.when(serie.is_between(20_000, 80_000))
        .then(pl.lit(_EPOQUE_EXCEL) + pl.duration(days=serie))
        .cast(pl.Date)
    )
    annee = pl.coalesce(
        entier(_ANNEE, 1),
        entier(_MOIS_ISO, 1),
        entier(_MOIS_FR, 2),
        entier(_TRIMESTRE_AVANT, 2),
        entier(_TRIMESTRE_APRES, 1),
        entier(_DATE_ISO, 1),
        entier(_DATE_FR, 2),
        jour_excel.dt.year().cast(pl.Int32),
    )
    mois = pl.coalesce(
        entier(_MOIS_ISO, 2),
        entier(_MOIS_FR, 1),
        entier(_DATE_ISO, 2),
        entier(_DATE_FR, 1),
        jour_excel.dt.month().cast(pl.Int32),
    )
    trimestre = pl.coalesce(
        v.str.extract(_TRIMESTRE_AVANT, 1), v.str.extract(_TRIMESTRE_APRES, 2)
    ).cast(pl.Int32, strict=False)
    mois_debut = (
        pl.when(mois.is_not_null())
        .then(mois)
        .when(trimestre.is_not_null())
        .then(trimestre * 3 - 2)
        .otherwise(1)
    )
    mois_ok = mois.is_null() | mois.is_between(1, 12)
    debut = pl.when(annee.is_not_null() & mois_ok).then(
        pl.date(annee, pl.when(mois_ok).then(mois_debut).otherwise(1), 1)
    )
    nb_mois = (
        pl.when(mois.is_not_null()).then(0).when(trimestre.is_not_null()).then(2).otherwise(11)
    )
    fin = debut.dt.offset_by(pl.format("{}mo", nb_mois)).dt.month_end()
    return debut, fin


def _formule(value: pl.Expr) -> pl.Expr:
    return value.str.starts_with("=")


@dataclass(frozen=True)
class _Typed:
    """A typed column: its value, and (reason, failing rows) pairs.

    `colonnes` are computed once, before the value and the failures, which refer to them: a
    period or a number is parsed once per cell, not once per check that reads it.
    """

    value: pl.Expr
    failures: tuple[tuple[str, pl.Expr], ...] = ()
    colonnes: tuple[pl.Expr, ...] = ()


def _type_column(rule: ColumnRule, decimale: str, date_reception: date | None = None) -> _Typed:
    """How a column of the mapping is read; failures are reported by the caller."""
    s = pl.col(rule.nom)
    present = s.is_not_null()
    formule = present & _formule(s)
    nom_type = f"_t_{rule.nom}"
    v = pl.col(nom_type)
    if rule.type in ("entier", "nombre", "latitude", "longitude"):
        failures = [
            ("formule_non_evaluee", formule),
            ("nombre_invalide", present & ~formule & v.is_null()),
        ]
        if rule.type in ("entier", "nombre"):
            # `1,23E+05`: a spreadsheet shows a number so when its column is too narrow, and
            # exports what it shows: 123 456 became 123 000
            scientifique = s.str.replace_all(_BLANCS, "").str.contains(_SCIENTIFIQUE)
            failures.append(("nombre_notation_scientifique", present & scientifique))
            failures.append(("nombre_negatif", v < 0))
            failures.append(("nombre_invraisemblable", v > NOMBRE_MAX))
        if rule.type == "entier":
            failures.append(("nombre_non_entier", v != v.round()))
        return _Typed(v, tuple(failures), (nombre(s, decimale).alias(nom_type),))
    if rule.type == "date":
        return _Typed(
            v,
            (
                ("formule_non_evaluee", formule),
                ("date_invalide", present & ~formule & v.is_null()),
                ("date_epoch_1970", v <= pl.date(1970, 1, 1)),
            ),
            (_date(s, rule.formats_date).alias(nom_type),),
        )
    if rule.type == "periode":
        annee = v.dt.year()
        return _Typed(
            v,
            (
                ("formule_non_evaluee", formule),
                ("periode_invalide", present & ~formule & v.is_null()),
                ("date_epoch_1970", annee < ANNEE_MIN),
                ("periode_invalide", annee > ANNEE_MAX),
                *(
                    [("periode_future", v > pl.lit(date_reception))]
                    if date_reception is not None
                    else []
                ),
            ),
            (periode(s)[0].alias(nom_type),),
        )
    if rule.type == "code_territoire":
        code, raison = NORMALISEURS_CODES[rule.niveau](s)
        nom_raison = f"_r_{rule.nom}"
        invalid = present & pl.col(nom_raison).is_not_null()
        return _Typed(
            v,
            (("formule_non_evaluee", formule), ("code_territoire_invalide", invalid & ~formule)),
            (code.alias(nom_type), raison.alias(nom_raison)),
        )
    if rule.type == "siret":
        return _Typed(s.str.replace_all(r"[\s\u00a0.\-]", ""))
    if rule.type == "code_postal":
        return _Typed(normalise_code_postal(s, _BLANCS))
    if rule.type == "telephone":
        digits = s.str.replace_all(r"[\s\u00a0.\-/()]", "").str.replace(r"\.0+$", "")
        # a number stored as a number: 33630392518 is +33 6 30 39 25 18
        return _Typed(
            pl.when(digits.str.contains(r"^33[1-9]\d{8}$")).then("+" + digits).otherwise(s)
        )
    if rule.type == "booleen":
        low = s.str.to_lowercase().str.strip_chars()
        b = pl.when(low.is_in(list(_VRAI))).then(True).when(low.is_in(list(_FAUX))).then(False)
        return _Typed(v, (("booleen_invalide", present & v.is_null()),), (b.alias(nom_type),))
    return _Typed(s)


def _vocabulary(
    frame: pl.DataFrame, rule: ColumnRule, passer_inconnues: bool
) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(mapped value, values without equivalent, unknown values) of a column with a vocabulary.

    Values are compared ignoring case and accents; several values in a cell are split on
    `separateur_valeurs` and joined with `|`. Unknown values are passed as written when
    `passer_inconnues` (the standard's checks judge them), else left out.
    """
    table = {normalise_nom_colonne(k): v for k, v in (rule.vocabulaire or {}).items()}
    mapped, sans, inconnues = {}, {}, {}
    for raw in frame[rule.nom].drop_nulls().unique().to_list():
        tokens = (
            [t.strip() for t in raw.split(rule.separateur_valeurs)]
            if rule.separateur_valeurs
            else [raw]
        )
        out, none, unknown = [], [], []
        for token in filter(None, tokens):
            key = normalise_nom_colonne(token)
            if key in table:
                (out if table[key] is not None else none).append(table[key] or token)
            else:
                unknown.append(token)
                if passer_inconnues:
                    out.append(token)
        mapped[raw] = SEPARATEUR_V1.join(dict.fromkeys(out)) or None
        sans[raw] = "; ".join(none) or None
        inconnues[raw] = "; ".join(unknown) or None

    def lookup(values: dict[str, str | None]) -> pl.Expr:
        return pl.col(rule.nom).replace_strict(values, default=None, return_dtype=pl.String)

    return lookup(mapped), lookup(sans), lookup(inconnues)


def type_all(
    frame: pl.DataFrame,
    mapping: PartnerMapping,
    decimale: str,
    lieux: bool,
    date_reception: date | None = None,
) -> tuple[pl.DataFrame, list[Check]]:
    """Typed values in `_v_<column>` and the checks of each column's failures.

    Activity files: a failure rejects the row when the column is required, else sets the value
    aside. `lieux` files: failing values are passed as written to `stage_lieux`.
    """
    checks: list[Check] = []
    values = []
    typed_rules = [
        (rule, _type_column(rule, decimale, date_reception)) for rule in mapping.colonnes
    ]
    frame = frame.with_columns(c for _, typed in typed_rules for c in typed.colonnes)
    for rule, typed in typed_rules:
        value = typed.value
        if rule.vocabulaire is not None:
            mapped, sans, inconnues = _vocabulary(frame, rule, passer_inconnues=lieux)
            value = mapped
            checks.append(
                Check(rule.nom, "valeur_sans_equivalent", sans.is_not_null(), VALEUR_ECARTEE, sans)
            )
            if not lieux:
                action = REJET if rule.obligatoire else VALEUR_ECARTEE
                checks.append(
                    Check(rule.nom, "hors_vocabulaire", inconnues.is_not_null(), action, inconnues)
                )
        failed = pl.lit(False)
        for reason, failure in typed.failures:
            failed = failed | failure.fill_null(False)
            if not lieux or rule.type == "booleen":
                action = REJET if rule.obligatoire and not lieux else VALEUR_ECARTEE
                checks.append(Check(rule.nom, reason, failure, action))
        if lieux and rule.type in ("latitude", "longitude", "date", "code_territoire"):
            # the standard's checks report these: a value not converted is passed as written
            as_text = value.dt.to_string(FORMAT_ISO) if rule.type == "date" else value
            value = (
                pl.when(as_text.is_null()).then(pl.col(rule.nom)).otherwise(as_text.cast(pl.String))
            )
        elif typed.failures:
            value = pl.when(~failed).then(value)
        if rule.obligatoire and not lieux:
            checks.append(Check(rule.nom, "obligatoire_manquant", pl.col(rule.nom).is_null()))
        values.append(value.alias(f"_v_{rule.nom}"))
    return frame.with_columns(values), checks


def swap_lat_lon(frame: pl.DataFrame, lieux: bool) -> tuple[pl.DataFrame, list[Check]]:
    """Latitude and longitude swapped (the point is in France only once swapped): swap back."""
    if not {"_v_latitude", "_v_longitude"} <= set(frame.columns):
        return frame, []
    lat, lon = (
        pl.col(c).cast(pl.String).cast(pl.Float64, strict=False)
        for c in ("_v_latitude", "_v_longitude")
    )
    swapped = lat.is_not_null() & lon.is_not_null() & ~in_france(lat, lon) & in_france(lon, lat)
    frame = frame.with_columns(swapped.alias("_inverse")).with_columns(
        pl.when("_inverse")
        .then(pl.col("_v_longitude"))
        .otherwise(pl.col("_v_latitude"))
        .alias("_v_latitude"),
        pl.when("_inverse")
        .then(pl.col("_v_latitude"))
        .otherwise(pl.col("_v_longitude"))
        .alias("_v_longitude"),
    )
    check = Check(
        "latitude",
        "latitude_longitude_inversees",
        pl.col("_inverse"),
        VALEUR_CORRIGEE,
        pl.format("{},{}", pl.col("latitude"), pl.col("longitude")),
    )
    return frame, [check]
