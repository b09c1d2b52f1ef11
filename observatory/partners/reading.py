"""Read a partner file through its mapping: staged rows, and quarantine entries for the rest.

Every data row of the file ends up kept or rejected (`rejet`), never dropped: rows in = kept +
rejected, proved by `account`. Values are read as partners write them: INSEE codes a
spreadsheet turned into numbers (`1001` → `01001`, `2A004` kept), decimal commas and thousands
separators (`24 150,5`), dates in the formats the mapping lists, latitude and longitude swapped
(detected against France's bounding boxes, overseas included, and swapped back), cells that
look like spreadsheet formulas kept as text (in a numeric or date column they are reported:
the file holds the formula, not its result).

`lieux` files are mapped to La Mednum's standard v1 (`registries.map_v0_to_v1` for leftover v0
vocabularies) then typed and checked by `lieux.stage_lieux`, like every registry: a value the
partner's format cannot convert is passed as written, for the standard's checks to report.
Activity files (`mappings.TYPES_ACTIVITE`) are typed and checked here. Personal data (a
person's e-mail or mobile) is taken out of a `lieux` file before staging, like every registry
(`personal_data.ecarter_donnees_personnelles`). A structure's own mobile number is treated as
a person's: a mobile (06, 07, +33 6, +33 7), even in the telephone field of a place or of an
itinerant structure (the Charente bus), is the line of the person who carries the phone (the
advisor on board, a volunteer) and reaches them outside any opening hours; nothing in the
number tells a "service" mobile from a private one. It is removed (counted, masked, in the
quarantine and the producer's report); a structure that wants a number published gives a
landline or a switchboard (01–05, 09).

Values a file cannot mean are quarantined, never summed: a period that starts after the file
was received (`periode_future`), a count above `NOMBRE_MAX` or above the population of its
territory (`nombre_invraisemblable`, which also keeps every sum far from Int64's limit), an
annual row and monthly or quarterly rows of the same year for the same key
(`periodes_chevauchantes`: which one to count is the producer's call), a row holding a NUL
character (`caractere_nul`) or a cell over `CELLULE_MAX` characters (`cellule_trop_longue`).
With the COG (`Referentiel`), a former commune code is rebased on its current commune
(`code_commune_ancien_rebase`, like the statistics) and a code absent from it is rejected
here (`code_hors_cog`), so the producer's report says so.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import polars as pl

from observatory.geo import in_france
from observatory.partners.mappings import (
    LIEUX,
    TYPES_ACTIVITE,
    ColumnRule,
    PartnerMapping,
)
from observatory.partners.sniffing import (
    FileFormat,
    PartnerFileError,
    Table,
    normalise_nom_colonne,
    sniff_table,
)
from observatory.settings import bundled
from observatory.sources.mednum import Standard, load_standard
from observatory.sources.raw import sha256_bytes
from observatory.transforms.lieux import stage_lieux
from observatory.transforms.personal_data import ecarter_donnees_personnelles
from observatory.transforms.registries import map_v0_to_v1

# Territory-code normalisers by level (commune: `1001` → `01001`, `2A` kept; EPCI SIREN;
# département and région with their lost leading zero), shared with the statistics' staging.
from observatory.transforms.statistics import _NORMALISEURS as NORMALISEURS_CODES
from observatory.validation.quarantine import (
    IDENTITE_LIGNE,
    REJET,
    ROW,
    VALEUR_CORRIGEE,
    VALEUR_ECARTEE,
    Check,
    account,
    empty_quarantine,
    run_checks,
    split_rejected,
)

COLONNE_LIGNE = "ligne_entiere"  # `colonne` of entries about a whole row
SEPARATEUR_V1 = "|"
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
CELLULE_MAX = 32_767  # characters in a cell, Excel's own limit
NUL = "\x00"


@dataclass(frozen=True)
class PartnerRead:
    """A partner file read: kept rows, quarantine entries, what was found about the file.

    `colonnes_fichier`: the partner's column name of each observatory column, to tell the
    producer which of *their* columns a quarantine entry is about.
    """

    kept: pl.DataFrame
    quarantine: pl.DataFrame
    format: FileFormat
    lignes_entree: int
    lignes_vides: int
    comptes: dict[str, int]
    colonnes_fichier: dict[str, str]
    lot: str = ""  # the landing it came with (its raw vintage): files dropped together
    fichier: str = ""
    sha256: str = ""


def resolve_columns(
    mapping: PartnerMapping, entete: list[str], fichier: str, doublons: Collection[str] = ()
) -> dict[str, str]:
    """Observatory column → the file's column, through names and aliases.

    A required column found under none of its names fails, listing expected and found columns.
    A column the mapping reads that the file names twice (`doublons`, or two names written
    differently but read alike: `Code commune` and `code_commune`) fails too: which one holds
    the values is the producer's to say, never the first silently.
    """
    par_nom: dict[str, str] = {}
    vus: dict[str, list[str]] = {}
    for name in entete:
        par_nom.setdefault(normalise_nom_colonne(name), name)
        vus.setdefault(normalise_nom_colonne(name), []).append(name)
    for name in doublons:
        vus.setdefault(normalise_nom_colonne(name), []).append(name)
    resolved: dict[str, str] = {}
    missing: list[ColumnRule] = []
    for rule in mapping.colonnes:
        found = next(
            (par_nom[k] for k in map(normalise_nom_colonne, rule.noms_sources) if k in par_nom),
            None,
        )
        if found is not None:
            memes = vus[normalise_nom_colonne(found)]
            if len(memes) > 1:
                raise PartnerFileError(
                    fichier,
                    f"la colonne « {found} » apparaît {len(memes)} fois dans l'en-tête "
                    f"({' ; '.join(f'« {m} »' for m in dict.fromkeys(memes))}) : laissez-en une "
                    "seule, l'observatoire ne choisit pas à votre place.",
                )
            resolved[rule.nom] = found
        elif rule.obligatoire and rule.si_absent is None and rule.nom not in mapping.constantes:
            missing.append(rule)
    if missing:
        noms = "; ".join(f"{r.nom} (« {' » ou « '.join(r.noms_sources)} »)" for r in missing)
        attendues = sorted({r.noms_sources[0] for r in mapping.colonnes if r.noms_sources})
        raise PartnerFileError(
            fichier,
            f"colonne(s) obligatoire(s) absente(s) : {noms}. Colonnes attendues : "
            f"{', '.join(attendues)}. Colonnes trouvées : {', '.join(entete)}.",
        )
    return resolved


def _frame(table: Table, mapping: PartnerMapping, fichier: str, sha256: str) -> pl.DataFrame:
    """The file as strings, one row per data row, prefixed by the identity columns."""
    raw = pl.DataFrame(
        table.lignes, schema={name: pl.String for name in table.entete}, orient="row"
    )
    return raw.select(
        pl.lit(mapping.source).alias("jeu_de_donnees"),
        pl.lit(fichier).alias("fichier_origine"),
        pl.lit(sha256).alias("sha256_origine"),
        pl.Series(ROW, table.numeros, dtype=pl.Int64),
        pl.Series("_largeur", table.largeurs or [len(table.entete)] * raw.height, pl.Int64),
        pl.all(),
    )


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
    serie = v.str.extract(_SERIE_EXCEL, 1).cast(pl.Int64, strict=False)
    jour_excel = (
        pl.when(serie.is_between(20_000, 80_000))
        .then(pl.lit(_EPOQUE_EXCEL) + pl.duration(days=serie))
        .cast(pl.Date)
    )
    annee = pl.coalesce(
        v.str.extract(_ANNEE, 1).cast(pl.Int32, strict=False),
        v.str.extract(_MOIS_ISO, 1).cast(pl.Int32, strict=False),
        v.str.extract(_MOIS_FR, 2).cast(pl.Int32, strict=False),
        v.str.extract(_TRIMESTRE_AVANT, 2).cast(pl.Int32, strict=False),
        v.str.extract(_TRIMESTRE_APRES, 1).cast(pl.Int32, strict=False),
        v.str.extract(_DATE_ISO, 1).cast(pl.Int32, strict=False),
        v.str.extract(_DATE_FR, 2).cast(pl.Int32, strict=False),
        jour_excel.dt.year().cast(pl.Int32),
    )
    mois = pl.coalesce(
        v.str.extract(_MOIS_ISO, 2).cast(pl.Int32, strict=False),
        v.str.extract(_MOIS_FR, 1).cast(pl.Int32, strict=False),
        v.str.extract(_DATE_ISO, 2).cast(pl.Int32, strict=False),
        v.str.extract(_DATE_FR, 1).cast(pl.Int32, strict=False),
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
                ("date_epoch_1970", annee <= 1970),
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
        cp = s.str.replace_all(_BLANCS, "").str.replace(r"\.0+$", "")
        return _Typed(pl.when(cp.str.contains(r"^\d{4}$")).then("0" + cp).otherwise(cp))
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


def _prepare(
    frame: pl.DataFrame, mapping: PartnerMapping, resolved: dict[str, str]
) -> pl.DataFrame:
    """Each observatory column from its source, stripped, extracted, generated or constant."""
    columns = []
    for rule in mapping.colonnes:
        source = resolved.get(rule.nom)
        s = pl.col(source) if source else pl.lit(None, pl.String)
        s = s.str.strip_chars().replace("", None)
        if rule.extraire is not None:
            s = s.str.extract(rule.extraire, 1).str.strip_chars().replace("", None)
        if rule.si_absent == "numero_ligne":
            s = pl.coalesce(s, pl.format("ligne-{}", pl.col(ROW)))
        if rule.nom in mapping.constantes:
            s = pl.coalesce(s, pl.lit(mapping.constantes[rule.nom]))
        columns.append(s.alias(rule.nom))
    constants = [
        pl.lit(v, pl.String).alias(k)
        for k, v in mapping.constantes.items()
        if mapping.regle(k) is None
    ]
    return frame.select(*IDENTITE_LIGNE, "_largeur", *columns, *constants)


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


def _type_all(
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


def _swap(frame: pl.DataFrame, lieux: bool) -> tuple[pl.DataFrame, list[Check]]:
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


def _ragged(frame: pl.DataFrame, largeur: int) -> Check:
    return Check(
        COLONNE_LIGNE,
        "nombre_colonnes_incorrect",
        pl.col("_largeur") != largeur,
        REJET,
        pl.format("{} colonnes au lieu de {}", pl.col("_largeur"), pl.lit(largeur)),
    )


def _row_checks(raw: pl.DataFrame, colonnes: list[str]) -> list[Check]:
    """A row holding a NUL character or a cell longer than `CELLULE_MAX`: the row is rejected
    (a NUL byte is damage; such a cell is no value the observatory publishes)."""
    if not colonnes:
        return []
    cells = [pl.col(c) for c in colonnes]
    nul = pl.any_horizontal(c.str.contains(NUL, literal=True) for c in cells)
    longue = pl.any_horizontal(c.str.len_chars() > CELLULE_MAX for c in cells)
    return [
        Check(COLONNE_LIGNE, "caractere_nul", nul, REJET, pl.lit("caractère NUL (octet 0)")),
        Check(
            COLONNE_LIGNE,
            "cellule_trop_longue",
            longue,
            REJET,
            pl.format(
                "{} caractères",
                pl.max_horizontal(c.str.len_chars() for c in cells).cast(pl.String),
            ),
        ),
    ]


def _stage_lieux(
    frame: pl.DataFrame,
    mapping: PartnerMapping,
    standard: Standard,
    date_reception: date | None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Partner columns → standard v1 (strings) → `stage_lieux`, with the entries of each step."""
    v0 = frame.select(
        *IDENTITE_LIGNE,
        *(pl.col(f"_v_{r.nom}").cast(pl.String).alias(r.nom) for r in mapping.colonnes),
        *(k for k in mapping.constantes if mapping.regle(k) is None),
    )
    v1, ecarts = map_v0_to_v1(v0)
    # the same filter as every registry's (`defs.staging`): a person's e-mail or mobile, a
    # referent's name never reach staging, whoever sends the list
    v1, personnelles = ecarter_donnees_personnelles(v1)
    kept, quarantine = stage_lieux(v1, standard, date_reception)
    return kept, pl.concat([ecarts, personnelles, quarantine], how="vertical_relaxed")


@dataclass(frozen=True)
class Referentiel:
    """The COG that activity files' codes are checked against.

    `territoires`: (niveau, code, population) of every current territory; `anciens_codes`:
    (code_ancien, code) of former commune codes and the current commune each is in now.
    """

    territoires: pl.DataFrame
    anciens_codes: pl.DataFrame


def _cle_texte(cle: list[str]) -> pl.Expr:
    return pl.concat_str([pl.col(c).cast(pl.String) for c in cle], separator=" ", ignore_nulls=True)


def chevauchements(frame: pl.DataFrame, cle_sans_periode: list[str]) -> pl.DataFrame:
    """(fichier_origine, ligne) of rows whose period overlaps another row's of the same key
    (an annual row and monthly rows of that year) without being the same period."""
    rows = frame.select(
        "fichier_origine",
        ROW,
        *cle_sans_periode,
        "periode_debut",
        "periode_fin",
        pl.col("periode_debut").dt.year().alias("_annee"),
    ).filter(pl.col("periode_debut").is_not_null() & pl.col("periode_fin").is_not_null())
    on = [*cle_sans_periode, "_annee"]
    pairs = rows.join(rows, on=on, how="inner", suffix="_b", nulls_equal=True).filter(
        (
            (pl.col("fichier_origine") != pl.col("fichier_origine_b"))
            | (pl.col(ROW) != pl.col(f"{ROW}_b"))
        )
        & (pl.col("periode_debut") <= pl.col("periode_fin_b"))
        & (pl.col("periode_debut_b") <= pl.col("periode_fin"))
        & (
            (pl.col("periode_debut") != pl.col("periode_debut_b"))
            | (pl.col("periode_fin") != pl.col("periode_fin_b"))
        )
    )
    return pairs.select("fichier_origine", ROW).unique()


def _chevauche(frame: pl.DataFrame, cle_sans_periode: list[str]) -> pl.Expr:
    hits = chevauchements(frame, cle_sans_periode)
    marque = pl.concat_str(
        [pl.col("fichier_origine"), pl.col(ROW).cast(pl.String)], separator="\x1f"
    )
    cles = hits.select(marque.alias("k"))["k"]
    return marque.is_in(cles.implode())


CHEVAUCHEMENT = "periodes_chevauchantes"


def _codes(
    frame: pl.DataFrame, referentiel: Referentiel | None
) -> tuple[pl.DataFrame, list[Check]]:
    """Former commune codes rebased on their current commune; codes absent from the COG and
    counts above their territory's population rejected."""
    if referentiel is None:
        return frame, []
    anciens = referentiel.anciens_codes.select(
        pl.lit("commune").alias("niveau"),
        pl.col("code_ancien").alias("code"),
        pl.col("code").alias("_code_actuel"),
    ).unique(["niveau", "code"])
    actuels = referentiel.territoires.select(
        "niveau", "code", pl.lit(True).alias("_connu"), pl.col("population").alias("_population")
    )
    frame = (
        frame.join(actuels.select("niveau", "code", "_connu"), on=["niveau", "code"], how="left")
        .join(anciens, on=["niveau", "code"], how="left")
        .with_columns(
            (pl.col("_connu").is_null() & pl.col("_code_actuel").is_not_null()).alias("_rebase"),
            pl.col("code").alias("_code_ecrit"),
        )
        .with_columns(
            pl.when("_rebase").then(pl.col("_code_actuel")).otherwise(pl.col("code")).alias("code")
        )
        .drop("_connu", "_code_actuel")
        .join(actuels, on=["niveau", "code"], how="left")
    )
    checks = [
        Check(
            "code",
            "code_commune_ancien_rebase",
            pl.col("_rebase"),
            VALEUR_CORRIGEE,
            pl.format("{} → {}", pl.col("_code_ecrit"), pl.col("code")),
        ),
        Check(
            "code",
            "code_hors_cog",
            pl.col("code").is_not_null() & pl.col("_connu").is_null(),
            REJET,
            pl.col("_code_ecrit"),
        ),
    ]
    return frame, checks


def _stage_activite(
    frame: pl.DataFrame, mapping: PartnerMapping, referentiel: Referentiel | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Activity rows: key (niveau, code, period, dimensions) unique, categories within total,
    codes in the COG (former ones rebased), counts within the population, no overlapping
    periods."""
    kind = TYPES_ACTIVITE[mapping.type_fichier]
    code_rule = mapping.regle("code")
    assert code_rule is not None  # checked when the mapping was loaded
    _, fin = periode(pl.col("periode"))
    present = {r.nom for r in mapping.colonnes} | set(mapping.constantes)
    frame = frame.with_columns(
        pl.lit(code_rule.niveau).alias("niveau"),
        pl.col("_v_code").alias("code"),
        pl.col("_v_periode").alias("periode_debut"),
        pl.when(pl.col("_v_periode").is_not_null()).then(fin).alias("periode_fin"),
        *(
            (pl.col(f"_v_{d}") if d in present else pl.lit(None, pl.String)).alias(d)
            for d in kind.dimensions
        ),
        *(
            (pl.col(f"_v_{m}") if m in present else pl.lit(None, pl.Float64)).alias(m)
            for m in kind.mesures
        ),
    )
    frame, code_checks = _codes(frame, referentiel)
    cle = ["niveau", "code", "periode_debut", "periode_fin", *kind.dimensions]
    complete = pl.all_horizontal(pl.col(c).is_not_null() for c in cle if c not in kind.dimensions)
    entiers = [m for m in kind.mesures if m.startswith("nb_")]
    checks = [
        *code_checks,
        Check(
            "code",
            "cle_dupliquee",
            complete & ~pl.struct(cle).is_first_distinct(),
            REJET,
            _cle_texte(cle),
        ),
        Check(
            "periode",
            CHEVAUCHEMENT,
            _chevauche(frame, ["niveau", "code", *kind.dimensions]),
            REJET,
            _cle_texte(cle),
        ),
    ]
    if "_population" in frame.columns:
        checks += [
            Check(
                m,
                "nombre_invraisemblable",
                pl.col(m) > pl.col("_population"),
                REJET,
                pl.format("{} pour {} habitants", pl.col(m).cast(pl.Int64), pl.col("_population")),
            )
            for m in entiers
        ]
    for dimension, allowed in kind.vocabulaires.items():
        checks.append(
            Check(
                dimension,
                "hors_vocabulaire",
                pl.col(dimension).is_not_null() & ~pl.col(dimension).is_in(list(allowed)),
            )
        )
    if "nb_diagnostics" in kind.mesures:
        parts = pl.sum_horizontal("nb_autonomes", "nb_besoin_aide", "nb_jamais_en_ligne")
        checks.append(
            Check(
                "nb_diagnostics",
                "somme_categories_superieure_au_total",
                parts > pl.col("nb_diagnostics"),
                REJET,
                pl.format("{} > {}", parts.cast(pl.Int64), pl.col("nb_diagnostics").cast(pl.Int64)),
            )
        )
    entries = run_checks(frame, checks)
    kept = split_rejected(frame, entries).select(
        *IDENTITE_LIGNE,
        *cle,
        *(
            pl.col(m).cast(pl.Int64) if m in entiers else pl.col(m).cast(pl.Float64)
            for m in kind.mesures
        ),
        *(["commentaire"] if "commentaire" in present else []),
    )
    return kept, entries


def read_partner(
    content: bytes,
    fichier: str,
    mapping: PartnerMapping,
    *,
    sha256: str | None = None,
    standard: Standard | None = None,
    date_reception: date | None = None,
    referentiel: Referentiel | None = None,
) -> PartnerRead:
    """Read a partner file's bytes through its mapping; raises only `PartnerFileError`.

    `date_reception`: when the file was received, the date a place without a valid update date
    is given (flagged `date_maj_estimee`), an upper bound of its real date, and the day after
    which a period is in the future. `referentiel`: the COG activity codes are checked against.
    """
    sha256 = sha256 or sha256_bytes(content)
    table = sniff_table(content, fichier, mapping.colonnes_connues, dict(mapping.format))
    table = _sans_noms_reserves(table)
    resolved = resolve_columns(mapping, table.entete, fichier, table.doublons)
    lieux = mapping.type_fichier == LIEUX
    brut = _frame(table, mapping, fichier, sha256)
    abimees = run_checks(brut, _row_checks(brut, table.entete))
    frame = _prepare(split_rejected(brut, abimees), mapping, resolved)
    ragged = run_checks(frame, [_ragged(frame, len(table.entete))])
    frame = split_rejected(frame, ragged)
    frame, checks = _type_all(frame, mapping, table.format.decimale, lieux, date_reception)
    frame, swap_checks = _swap(frame, lieux)
    typed_entries = run_checks(frame, [*checks, *swap_checks])
    if lieux:
        kept, entries = _stage_lieux(
            frame, mapping, standard or load_standard(bundled("schemas")), date_reception
        )
    else:
        kept, entries = _stage_activite(split_rejected(frame, typed_entries), mapping, referentiel)
    quarantine = pl.concat(
        [empty_quarantine(), abimees, ragged, typed_entries, entries], how="vertical_relaxed"
    )
    comptes = account(len(table.lignes), kept, quarantine)
    return PartnerRead(
        kept=kept,
        quarantine=quarantine,
        format=table.format,
        lignes_entree=len(table.lignes),
        lignes_vides=table.lignes_vides,
        comptes=comptes,
        colonnes_fichier=resolved,
        fichier=fichier,
        sha256=sha256,
    )


_RESERVES = {*IDENTITE_LIGNE, "_largeur"}


def _sans_noms_reserves(table: Table) -> Table:
    """A column named like one the reading adds (`ligne`, `fichier_origine`…) renamed
    `<nom>_fichier`, so it cannot overwrite where a row came from."""
    if not _RESERVES & set(table.entete):
        return table
    entete = [f"{n}_fichier" if n in _RESERVES else n for n in table.entete]
    return replace(table, entete=entete)


def read_partner_file(
    path: Path,
    mapping: PartnerMapping,
    *,
    standard: Standard | None = None,
    date_reception: date | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(kept rows, quarantine entries) of a partner file; see `read_partner`."""
    result = read_partner(
        path.read_bytes(), path.name, mapping, standard=standard, date_reception=date_reception
    )
    return result.kept, result.quarantine


REMPLACE = "remplace_par_fichier_plus_recent"


def empty_kept(mapping: PartnerMapping, standard: Standard | None = None) -> pl.DataFrame:
    """The staged table of a partner with no file yet: no rows, the columns of its kind."""
    identity = {c: pl.String for c in IDENTITE_LIGNE} | {ROW: pl.Int64}
    if mapping.type_fichier == LIEUX:
        standard = standard or load_standard(bundled("schemas"))
        v1 = pl.DataFrame(schema=identity | dict.fromkeys(standard.columns, pl.String))
        return stage_lieux(v1, standard)[0]
    kind = TYPES_ACTIVITE[mapping.type_fichier]
    schema = identity | {
        "niveau": pl.String,
        "code": pl.String,
        "periode_debut": pl.Date,
        "periode_fin": pl.Date,
        **dict.fromkeys(kind.dimensions, pl.String),
        **{m: pl.Int64 if m.startswith("nb_") else pl.Float64 for m in kind.mesures},
    }
    if mapping.regle("commentaire") is not None:
        schema["commentaire"] = pl.String
    return pl.DataFrame(schema=schema)


def _lieux_du_dernier_lot(
    reads: list[PartnerRead],
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Places of a partner: the files of its latest landing, together (two lists dropped at
    once are both used); each older file's kept rows are reported replaced. An id that an
    earlier file of the same landing already uses gets the file's sha256 prefix."""
    dernier = reads[-1].lot
    lot = [r for r in reads if r.lot == dernier]
    anciens = [r for r in reads if r.lot != dernier]
    remplaces = [
        run_checks(r.kept, [Check("id", REMPLACE, pl.lit(True), REJET, pl.col("id"))])
        for r in anciens
    ]
    kept_parts, entries = [], []
    vus: set[str] = set()
    for read in lot:
        frame = read.kept
        doublon = pl.col("id").is_in(pl.Series(sorted(vus), dtype=pl.String).implode())
        entries.append(
            run_checks(frame, [Check("id", "id_duplique_entre_fichiers", doublon, VALEUR_CORRIGEE)])
        )
        frame = frame.with_columns(
            pl.when(doublon)
            .then(pl.format("{}-{}", pl.col("id"), pl.col("sha256_origine").str.slice(0, 8)))
            .otherwise(pl.col("id"))
            .alias("id")
        )
        vus |= set(frame["id"].drop_nulls().to_list())
        kept_parts.append(frame)
    kept = pl.concat(kept_parts, how="vertical_relaxed")
    quarantine = pl.concat(
        [empty_quarantine(), *(r.quarantine for r in reads), *remplaces, *entries],
        how="vertical_relaxed",
    )
    rows_in = sum(r.lignes_entree for r in reads)
    account(rows_in, kept, quarantine)
    return kept, quarantine, rows_in


def combine_reads(
    reads: list[PartnerRead], mapping: PartnerMapping, standard: Standard | None = None
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """(kept, quarantine, rows in) of a partner's files, oldest first.

    A list of places is a snapshot: the files of the newest landing count (several files
    dropped together are all used). Activity files add up; a row whose key (territory,
    period, dimensions) a newer file gives again is replaced by it
    (`remplace_par_fichier_plus_recent`), so a corrected file supersedes the old one; rows of
    different files whose periods overlap (an annual file and a monthly one) are rejected
    (`periodes_chevauchantes`), never summed.
    """
    if not reads:
        return empty_kept(mapping, standard), empty_quarantine(), 0
    if mapping.type_fichier == LIEUX:
        return _lieux_du_dernier_lot(reads)
    kind = TYPES_ACTIVITE[mapping.type_fichier]
    cle = ["niveau", "code", "periode_debut", "periode_fin", *kind.dimensions]
    kept = pl.concat(
        [r.kept.with_columns(pl.lit(i).alias("_ordre")) for i, r in enumerate(reads)],
        how="vertical_relaxed",
    )
    superseded = Check(
        "code",
        REMPLACE,
        pl.col("_ordre") < pl.col("_ordre").max().over(cle),
        REJET,
        _cle_texte(cle),
    )
    entries = run_checks(kept, [superseded])
    restants = split_rejected(kept, entries)
    overlap = run_checks(
        restants,
        [
            Check(
                "periode",
                CHEVAUCHEMENT,
                _chevauche(restants, ["niveau", "code", *kind.dimensions]),
                REJET,
                _cle_texte(cle),
            )
        ],
    )
    quarantine = pl.concat(
        [*(r.quarantine for r in reads), entries, overlap], how="vertical_relaxed"
    )
    rows_in = sum(r.lignes_entree for r in reads)
    kept = split_rejected(restants, overlap).drop("_ordre")
    account(rows_in, kept, quarantine)
    return kept, quarantine, rows_in
