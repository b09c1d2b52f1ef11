"""Read a partner file through its mapping: staged rows, and quarantine entries for the rest.

Every data row of the file ends up kept or rejected (`rejet`), never dropped: rows in = kept +
rejected, proved by `account`. Each column is found under its names (`resolve_columns`) and
its values read as partners write them (`values`: numbers, dates, periods, codes).

`lieux` files are mapped to La Mednum's standard v1 (`registries.map_v0_to_v1` for leftover v0
vocabularies) then typed and checked by `lieux.stage_lieux`, like every registry: a value the
partner's format cannot convert is passed as written, for the standard's checks to report.
Activity files (`mappings.TYPES_ACTIVITE`) are typed here and checked by `activity`. Personal
data (a person's e-mail or mobile) is taken out of a `lieux` file before staging, like every
registry (`personal_data.ecarter_donnees_personnelles`). A structure's own mobile number is
treated as a person's: a mobile (06, 07, +33 6, +33 7), even in the telephone field of a place
or of an itinerant structure (the Charente bus), is the line of the person who carries the
phone (the advisor on board, a volunteer) and reaches them outside any opening hours; nothing
in the number tells a "service" mobile from a private one. It is removed (counted, masked, in
the quarantine and the producer's report); a structure that wants a number published gives a
landline or a switchboard (01–05, 09).

A row is rejected whole when it holds a NUL character (`caractere_nul`) or a cell over
`CELLULE_MAX` characters (`cellule_trop_longue`), or has more or fewer cells than the header
(`nombre_colonnes_incorrect`). The files of one partner are put together by `combining`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date

import polars as pl

from observatory.partners.activity import Referentiel, stage_activite
from observatory.partners.mappings import LIEUX, ColumnRule, PartnerMapping
from observatory.partners.sniffing import (
    FileFormat,
    PartnerFileError,
    Table,
    normalise_nom_colonne,
    sniff_table,
)
from observatory.partners.values import swap_lat_lon, type_all
from observatory.settings import bundled
from observatory.sources.mednum import Standard, load_standard
from observatory.sources.raw import sha256_bytes
from observatory.sources.readers import prenoms as prenoms_insee
from observatory.transforms.lieux import stage_lieux
from observatory.transforms.personal_data import Prenoms, ecarter_donnees_personnelles
from observatory.transforms.registries import map_v0_to_v1
from observatory.validation.quarantine import (
    IDENTITE_LIGNE,
    REJET,
    ROW,
    Check,
    account,
    empty_quarantine,
    run_checks,
    split_rejected,
)

COLONNE_LIGNE = "ligne_entiere"  # `colonne` of entries about a whole row
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
    the values is the producer's to say, never the first silently. A field the file gives under
    two of its names (`Lieu` and `Libellé 1` in a real Hubik export) is read from the name the
    mapping lists first: the mapping's order is its author's choice.
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
    prenoms: Prenoms,
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
    v1, personnelles = ecarter_donnees_personnelles(v1, prenoms)
    kept, quarantine = stage_lieux(v1, standard, date_reception)
    return kept, pl.concat([ecarts, personnelles, quarantine], how="vertical_relaxed")


def read_partner(
    content: bytes,
    fichier: str,
    mapping: PartnerMapping,
    *,
    sha256: str | None = None,
    standard: Standard | None = None,
    date_reception: date | None = None,
    referentiel: Referentiel | None = None,
    prenoms: Prenoms | None = None,
) -> PartnerRead:
    """Read a partner file's bytes through its mapping; raises only `PartnerFileError`.

    `date_reception`: when the file was received, the date a place without a valid update date
    is given (flagged `date_maj_estimee`), an upper bound of its real date, and the day after
    which a period is in the future. `referentiel`: the COG activity codes are checked against.
    `prenoms`: INSEE's first names a place list's e-mails are checked against (default: the
    bundled list).
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
    frame, checks = type_all(frame, mapping, table.format.decimale, lieux, date_reception)
    frame, swap_checks = swap_lat_lon(frame, lieux)
    typed_entries = run_checks(frame, [*checks, *swap_checks])
    if lieux:
        kept, entries = _stage_lieux(
            frame,
            mapping,
            standard or load_standard(bundled("schemas")),
            date_reception,
            prenoms_insee() if prenoms is None else prenoms,
        )
    else:
        kept, entries = stage_activite(split_rejected(frame, typed_entries), mapping, referentiel)
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
