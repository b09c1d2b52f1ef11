"""A partner's files, one at a time: landed, read, refused or staged, and reported.

What the Dagster assets of `defs.partners` call. One file never affects another's rows nor the
national release: any failure while landing or reading a file (a `PartnerFileError`, or any
other exception: a bug, a recursion, memory) refuses that file only. A file refused after
landing is moved to `raw/_refuses/<partner>/` with its reason (`inbox.refuse_landed`), so it is
never read again, also once the inbox is emptied; every file, refused or read, gets a French
report in `<data_dir>/retours/<partner>/` naming it and saying why. Entries dropped where no
mapping reads them (an inbox folder without a format, a file at the inbox's root) get one too.

Activity files' codes are checked against the COG landed in the raw layer (`referentiel_cog`):
a former commune code is rebased, an unknown code or a count above the territory's
population is rejected there, so the producer's report lists every row the publication drops.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import polars as pl

from observatory.partners.activity import Referentiel
from observatory.partners.combining import combine_reads, empty_kept
from observatory.partners.feedback import (
    feedback_error_html,
    feedback_table,
    rewrite_feedback,
    write_feedback,
    write_feedback_state,
)
from observatory.partners.inbox import (
    DEJA_REFUSE,
    RECU,
    REFUSE,
    InboxOutcome,
    is_pending,
    land_inbox,
    landed_partner_files,
    lisible,
    nom_depose,
    refuse_dropped,
    refuse_landed,
)
from observatory.partners.mappings import TYPES_ACTIVITE, PartnerMapping
from observatory.partners.reading import PartnerRead, read_partner
from observatory.partners.sniffing import PartnerFileError
from observatory.settings import Settings
from observatory.sources import catalogue as cat
from observatory.sources.mednum import Standard, load_standard
from observatory.sources.raw import RawFile, sha256_bytes, verifie_empreinte
from observatory.sources.readers import read_reference_table
from observatory.transforms.territories import COLONNES_NIVEAUX_COG
from observatory.validation.quarantine import account, empty_quarantine

SANS_FORMAT = "_sans_format"  # reports of inbox entries no mapping reads
NIVEAUX_COG = ("commune", "epci", "departement", "region", "france")


def feedback_dir(settings: Settings, partenaire: str) -> Path:
    """Where the producer's feedback reports are written: `<data_dir>/retours/<partner>/`."""
    return settings.data_dir / "retours" / partenaire


def report_refusal(folder: Path, fichier: str, raison: str) -> Path:
    """Write the French page of a file refused whole; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{fichier}.retour.html"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(feedback_error_html(fichier, raison), encoding="utf-8")
    os.replace(tmp, path)
    return path


def _detail(error: BaseException) -> str:
    """What the producer is told about a file whose reading failed."""
    if isinstance(error, PartnerFileError):
        return error.detail
    if isinstance(error, RecursionError):
        return "structure du fichier trop imbriquée pour être lue : une table simple est attendue."
    if isinstance(error, MemoryError):
        return "fichier trop volumineux une fois décompressé pour être lu : découpez-le."
    return (
        f"le fichier n'a pas pu être lu (erreur {type(error).__name__}) ; il est mis de côté "
        "et ne sera plus relu. Vérifiez qu'il s'agit d'un export CSV, XLSX ou JSON du format "
        "d'échange, ou contactez l'observatoire."
    )


@dataclass
class Depot:
    """What landing a partner's inbox did: outcomes and the reports of refused entries."""

    outcomes: list[InboxOutcome]
    retours: list[str] = field(default_factory=list)  # of the refused, in their order
    retours_copies: list[str] = field(default_factory=list)  # of copies of a received file

    def metadata(self) -> dict[str, list[str]]:
        """What the raw asset says: files received, already received, refused (and reports)."""
        return {
            "recus": [o.fichier for o in self.outcomes if o.statut == RECU],
            "deja_recus": [o.fichier for o in self.outcomes if o.statut not in (RECU, REFUSE)],
            "refuses": [str(o.raison) for o in self.outcomes if o.statut == REFUSE],
            "retours_refuses": self.retours,
        }


def land_partner(settings: Settings, mapping: PartnerMapping) -> Depot:
    """Land a partner's dropped files; each refused entry gets its reason recorded and a
    report (a link, a sub-folder, a file over the size limit, one that could not be copied)."""
    outcomes = land_inbox(settings, mapping.partenaire, licence=mapping.licence)
    depot = Depot(outcomes)
    retours = feedback_dir(settings, mapping.partenaire)
    for outcome in outcomes:
        if outcome.statut == REFUSE:
            raison = outcome.raison or "fichier refusé"
            refuse_dropped(settings, mapping.partenaire, outcome.retour, raison)
            depot.retours.append(str(report_refusal(retours, outcome.retour, raison)))
        elif outcome.raw is not None and outcome.retour != outcome.raw.fichier:
            # the same bytes as a file already received under another name: said once here
            deja = "refusé" if outcome.statut == DEJA_REFUSE else "reçu"
            raison = (
                f"contenu identique au fichier « {outcome.raw.fichier} » déjà {deja} le "
                f"{outcome.raw.recupere_le[:10]} : ce dépôt n'est pas relu, voyez le retour de "
                "ce fichier."
            )
            depot.retours_copies.append(str(report_refusal(retours, outcome.retour, raison)))
    return depot


def _communes(settings: Settings) -> pl.DataFrame:
    from observatory.sources.readers import read_landed
    from observatory.transforms.cog import stage_communes

    return stage_communes(read_landed(settings, cat.COG_COMMUNES))[0]


def referentiel_cog(communes: pl.DataFrame) -> Referentiel:
    """Territories (with their population) and former commune codes of the staged COG."""
    population = pl.col("population").sum()
    territoires = pl.concat(
        [
            *(
                communes.filter(pl.col(col).is_not_null())
                .group_by(pl.col(col).alias("code"))
                .agg(population)
                .select(pl.lit(niveau).alias("niveau"), "code", "population")
                for niveau, col in COLONNES_NIVEAUX_COG.items()
            ),
            communes.select(
                pl.lit("france").alias("niveau"), pl.lit("FR").alias("code"), population
            ),
        ]
    ).cast({"population": pl.Int64})
    anciens = (
        communes.select("code_commune", pl.col("anciens_codes").alias("code_ancien"))
        .explode("code_ancien", empty_as_null=True)
        .filter(pl.col("code_ancien").is_not_null() & (pl.col("code_ancien") != ""))
        .select("code_ancien", pl.col("code_commune").alias("code"))
        .unique("code_ancien", keep="first")
    )
    return Referentiel(territoires, anciens)


def referentiel_landed(settings: Settings) -> Referentiel | None:
    """The COG of the raw layer, or None when it is not landed (codes are then checked
    downstream, `partner_activity.compte_activite`)."""
    try:
        return referentiel_cog(_communes(settings))
    except Exception:
        return None


def prenoms_landed(settings: Settings) -> pl.Series | None:
    """INSEE's first names as the raw layer landed them, or None when they are not landed
    (the bundled list is then used, `read_partner`)."""
    try:
        return read_reference_table(settings, cat.INSEE_PRENOMS)["prenom"]
    except Exception:
        return None


@dataclass
class PartnerStaging:
    """A partner's staged rows, quarantine, and what happened to each of its files."""

    kept: pl.DataFrame
    quarantine: pl.DataFrame
    rows_in: int
    lus: list[str] = field(default_factory=list)
    illisibles: list[str] = field(default_factory=list)
    retours_refus: list[str] = field(default_factory=list)
    retours: list[str] = field(default_factory=list)

    def metadata(self) -> dict[str, object]:
        return {
            "lignes_entree": self.rows_in,
            "lignes_gardees": self.kept.height,
            "fichiers_lus": self.lus,
            "fichiers_illisibles": self.illisibles,
            "retours_fichiers_refuses": self.retours_refus,
        }


def _read_one(
    raw: RawFile,
    mapping: PartnerMapping,
    standard: Standard,
    referentiel: Referentiel | None,
    prenoms: pl.Series | None,
) -> PartnerRead:
    recu = datetime.fromisoformat(raw.recupere_le).date()
    read = read_partner(
        raw.path.read_bytes(),
        raw.fichier,
        mapping,
        sha256=raw.sha256,
        standard=standard,
        date_reception=recu,
        referentiel=referentiel if mapping.type_fichier in TYPES_ACTIVITE else None,
        prenoms=prenoms,
    )
    return replace(read, lot=raw.vintage)


def etats_dir(settings: Settings, partenaire: str) -> Path:
    """What the reports of a partner's files were built from (`write_feedback_state`)."""
    return settings.data_dir / "etat_retours" / partenaire


def _oublie_etats(etats: Path, gardes: set[str] = frozenset()) -> None:
    """Forget the states of the files no longer read (refused, or the combination failed):
    their reports are no longer the staged ones to rewrite."""
    with contextlib.suppress(OSError):
        for etat in etats.glob("*.json") if etats.is_dir() else []:
            if etat.name.removesuffix(".json") not in gardes:
                etat.unlink(missing_ok=True)


def _write_reports(
    folder: Path,
    etats: Path,
    reads: list[PartnerRead],
    kept: pl.DataFrame,
    quarantine: pl.DataFrame,
) -> list[str]:
    """One report per file read, from the partner's combined quarantine: what a newer file
    replaced or an overlap rejected is in the report of the file it came from."""
    _oublie_etats(etats, {read.fichier for read in reads})
    paths = []
    for read in reads:
        sha, fichier = read.sha256, read.fichier
        entries = quarantine.filter((pl.col("sha256") == sha) & (pl.col("fichier") == fichier))
        own = kept.filter(pl.col("sha256_origine") == sha).height
        comptes = account(read.lignes_entree, own, entries)
        table = feedback_table(entries, read.format.ligne_entete, read.colonnes_fichier)
        paths.append(str(write_feedback(folder, fichier, table, comptes)[1]))
        write_feedback_state(
            etats,
            fichier,
            sha,
            read.lignes_entree,
            own,
            read.format.ligne_entete,
            read.colonnes_fichier,
            entries,
        )
    return paths


def complete_reports(
    settings: Settings, partenaires: Sequence[str], quarantine: pl.DataFrame
) -> list[str]:
    """Rewrite the reports of the partners' files whose rows a step after staging rejected
    (or no longer rejects): `quarantine` is that step's, every source's. Returns the reports
    rewritten. A report that cannot be rewritten stays as staged: never fails the step."""
    rewritten = []
    for partenaire in partenaires:
        folder, etats = feedback_dir(settings, partenaire), etats_dir(settings, partenaire)
        try:
            chemins = sorted(etats.glob("*.json")) if etats.is_dir() else []
        except OSError:
            continue
        for etat in chemins:
            try:
                rewrite_feedback(folder, etat, quarantine)
            except Exception:  # a state that cannot be read: the staged report stays
                continue
            rewritten.append(str(folder / f"{etat.name.removesuffix('.json')}.retour.html"))
    return rewritten


def stage_partner(
    settings: Settings,
    mapping: PartnerMapping,
    standard: Standard | None = None,
    referentiel: Referentiel | None = None,
    prenoms: pl.Series | None = None,
) -> PartnerStaging:
    """Read every landed file of a partner through its mapping; refuse the ones that fail.

    A failing or altered file (its bytes no longer those its sidecar recorded) is moved to
    `raw/_refuses/<partner>/` with its reason and reported; the others are combined
    (`combine_reads`) and each gets its report.
    """
    standard = standard or load_standard(settings.schemas_dir)
    retours = feedback_dir(settings, mapping.partenaire)
    reads: list[PartnerRead] = []
    result = PartnerStaging(empty_quarantine(), empty_quarantine(), 0)
    for raw in landed_partner_files(settings, mapping.partenaire):
        # a landed file is never rewritten: bytes that no longer match its sidecar were
        # altered since reception, and the file is refused like one that cannot be read
        detail = verifie_empreinte(raw)
        if detail is None:
            try:
                reads.append(_read_one(raw, mapping, standard, referentiel, prenoms))
                continue
            except (Exception, RecursionError, MemoryError) as error:
                detail = _detail(error)
        result.illisibles.append(f"{raw.fichier} : {detail}")
        refuse_landed(settings, raw, detail)
        result.retours_refus.append(str(report_refusal(retours, raw.fichier, detail)))
    try:
        kept, quarantine, rows_in = combine_reads(reads, mapping, standard)
        result.retours = _write_reports(
            retours, etats_dir(settings, mapping.partenaire), reads, kept, quarantine
        )
    except Exception as error:
        # a fault of the observatory, not of a file: no file is refused for it, the partner's
        # rows wait for the next run, and the run (the national release) goes on
        result.illisibles.append(
            f"{mapping.partenaire} : fichiers non combinés ({type(error).__name__}: {error}) ; "
            "aucune ligne reprise pour ce partenaire dans cette publication."
        )
        kept, quarantine, rows_in = empty_kept(mapping, standard), empty_quarantine(), 0
        _oublie_etats(etats_dir(settings, mapping.partenaire))
    result.kept, result.quarantine, result.rows_in = kept, quarantine, rows_in
    result.lus = [r.fichier for r in reads]
    return result


def orphan_entries(settings: Settings, partenaires: set[str]) -> list[tuple[str, str, str]]:
    """Entries of the inbox no mapping reads: (folder, name, reason), a report written for each.

    A folder without a mapping (`inbox/<unknown>/`): each entry in it, reported in
    `retours/<folder>/`; a file at the inbox's root: reported in `retours/_sans_format/`.
    """
    root = settings.data_dir / "inbox"
    if not root.is_dir():
        return []
    found = []
    attendus = ", ".join(sorted(partenaires)) or "(aucun)"
    for entry in sorted(root.iterdir()):
        if not is_pending(entry) or entry.name in partenaires:
            continue
        if entry.is_dir() and not entry.is_symlink():
            dossier = nom_depose(entry.name, sha256_bytes(os.fsencode(entry.name)))
            raison = (
                f"aucun format d'échange n'est déclaré pour le dossier « {lisible(entry.name)} » : "
                "le fichier n'est pas lu. Dossiers attendus : "
                f"{attendus} ; déposez-le dans le dossier de votre organisme."
            )
            names = [e.name for e in sorted(entry.iterdir()) if is_pending(e)] or ["(dossier)"]
            for name in names:
                nom = nom_depose(name, sha256_bytes(os.fsencode(name)))
                report_refusal(settings.data_dir / "retours" / dossier, nom, raison)
                found.append((lisible(entry.name), lisible(name), raison))
        else:
            raison = (
                f"fichier déposé à la racine du dossier de dépôt : il n'est pas lu. Déposez-le "
                f"dans le dossier de votre organisme ({attendus})."
            )
            nom = nom_depose(entry.name, sha256_bytes(os.fsencode(entry.name)))
            report_refusal(settings.data_dir / "retours" / SANS_FORMAT, nom, raison)
            found.append(("", lisible(entry.name), raison))
    return found
