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
Activity files (`mappings.TYPES_ACTIVITE`) are typed and checked here.
"""

from __future__ import annotations

from dataclasses import dataclass
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


def resolve_columns(mapping: PartnerMapping, entete: list[str], fichier: str) -> dict[str, str]:
    """Observatory column → the file's column, through names and aliases.

    A required column found under none of its names fails, listing expected and found columns.
    """
    par_nom = {}
    for name in entete:
        par_nom.setdefault(normalise_nom_colonne(name), name)
    resolved: dict[str, str] = {}
    missing: list[ColumnRule] = []
    for rule in mapping.colonnes:
        found = next(
            (par_nom[k] for k in map(normalise_nom_colonne, rule.noms_sources) if k in par_nom),
            None,
        )
        if found is not None:
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
    annee = pl.coalesce(
        v.str.extract(_ANNEE, 1),
        v.str.extract(_MOIS_ISO, 1),
        v.str.extract(_MOIS_FR, 2),
        v.str.extract(_TRIMESTRE_AVANT, 2),
        v.str.extract(_TRIMESTRE_APRES, 1),
    ).cast(pl.Int32, strict=False)
    mois = pl.coalesce(v.str.extract(_MOIS_ISO, 2), v.str.extract(_MOIS_FR, 1)).cast(
        pl.Int32, strict=False
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


def _type_column(rule: ColumnRule, decimale: str) -> _Typed:
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
    frame: pl.DataFrame, mapping: PartnerMapping, decimale: str, lieux: bool
) -> tuple[pl.DataFrame, list[Check]]:
    """Typed values in `_v_<column>` and the checks of each column's failures.

    Activity files: a failure rejects the row when the column is required, else sets the value
    aside. `lieux` files: failing values are passed as written to `stage_lieux`.
    """
    checks: list[Check] = []
    values = []
    typed_rules = [(rule, _type_column(rule, decimale)) for rule in mapping.colonnes]
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
    kept, quarantine = stage_lieux(v1, standard, date_reception)
    return kept, pl.concat([ecarts, quarantine], how="vertical_relaxed")


def _stage_activite(
    frame: pl.DataFrame, mapping: PartnerMapping
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Activity rows: key (niveau, code, period, dimensions) unique, categories within total."""
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
    cle = ["niveau", "code", "periode_debut", "periode_fin", *kind.dimensions]
    complete = pl.all_horizontal(pl.col(c).is_not_null() for c in cle if c not in kind.dimensions)
    checks = [
        Check(
            "code",
            "cle_dupliquee",
            complete & ~pl.struct(cle).is_first_distinct(),
            REJET,
            pl.concat_str(
                [pl.col(c).cast(pl.String) for c in cle], separator=" ", ignore_nulls=True
            ),
        )
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
    entiers = [m for m in kind.mesures if m.startswith("nb_")]
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
) -> PartnerRead:
    """Read a partner file's bytes through its mapping; raises only `PartnerFileError`.

    `date_reception`: when the file was received, the date a place without a valid update date
    is given (flagged `date_maj_estimee`), an upper bound of its real date.
    """
    sha256 = sha256 or sha256_bytes(content)
    table = sniff_table(content, fichier, mapping.colonnes_connues, dict(mapping.format))
    resolved = resolve_columns(mapping, table.entete, fichier)
    lieux = mapping.type_fichier == LIEUX
    frame = _prepare(_frame(table, mapping, fichier, sha256), mapping, resolved)
    ragged = run_checks(frame, [_ragged(frame, len(table.entete))])
    frame = split_rejected(frame, ragged)
    frame, checks = _type_all(frame, mapping, table.format.decimale, lieux)
    frame, swap_checks = _swap(frame, lieux)
    typed_entries = run_checks(frame, [*checks, *swap_checks])
    if lieux:
        kept, entries = _stage_lieux(
            frame, mapping, standard or load_standard(bundled("schemas")), date_reception
        )
    else:
        kept, entries = _stage_activite(split_rejected(frame, typed_entries), mapping)
    quarantine = pl.concat(
        [empty_quarantine(), ragged, typed_entries, entries], how="vertical_relaxed"
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
    )


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


def combine_reads(
    reads: list[PartnerRead], mapping: PartnerMapping, standard: Standard | None = None
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """(kept, quarantine, rows in) of a partner's files, oldest first.

    A list of places is a snapshot: only the newest readable file counts. Activity files add
    up; a row whose key (territory, period, dimensions) a newer file gives again is replaced
    by it (`remplace_par_fichier_plus_recent`), so a corrected file supersedes the old one.
    """
    if not reads:
        return empty_kept(mapping, standard), empty_quarantine(), 0
    if mapping.type_fichier == LIEUX:
        last = reads[-1]
        return last.kept, last.quarantine, last.lignes_entree
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
        pl.concat_str([pl.col(c).cast(pl.String) for c in cle], separator=" ", ignore_nulls=True),
    )
    entries = run_checks(kept, [superseded])
    quarantine = pl.concat([*(r.quarantine for r in reads), entries], how="vertical_relaxed")
    rows_in = sum(r.lignes_entree for r in reads)
    kept = split_rejected(kept, entries).drop("_ordre")
    account(rows_in, kept, quarantine)
    return kept, quarantine, rows_in
