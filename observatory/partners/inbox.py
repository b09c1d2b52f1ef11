"""The partners' drop folder: `<data_dir>/inbox/<partner>/`, landed in the raw layer.

A file is identified by its sha256: dropping the same bytes again (under any name) is a no-op.
A new file is copied, never moved or modified, to
`<data_dir>/raw/partenaires/<partner>/<reception time>/<file>` with its sidecar, like every raw
input (`observatory.sources.raw`): read-only, written atomically, never overwritten. Names
that could escape the folder (`../x`, absolute paths), symbolic links, sub-folders and files
over the size limit are refused; hidden and temporary files (an upload in progress) are left
alone. Any other failure while landing one file refuses that file only (`land_inbox`).

A name the file system or the JSON sidecar cannot hold (bytes that are not UTF-8, over
`NOM_OCTETS_MAX` bytes, control characters) is landed under a safe name: its readable part
and the start of its sha256 (`nom_depose`). A file refused once it is landed (it cannot be
read) is moved to `raw/_refuses/<partner>/` with its reason (`refuse_landed`): it is never
read again, and the same bytes dropped again are `deja_refuse`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath, PureWindowsPath

from observatory.settings import Settings
from observatory.sources.raw import RawFile, _write_raw, read_sidecar, sha256_bytes
from observatory.transforms.personal_data import masque_texte

TAILLE_MAX_OCTETS = 50 * 1024 * 1024
PROFIL_INBOX = "inbox"
_PARTENAIRE = re.compile(r"^[a-z0-9][a-z0-9_]{1,62}$")
_TEMPORAIRES = (".part", ".tmp", ".crdownload", ".partial", ".swp")
SUFFIXE_FICHE = ".meta.json"  # the sidecar of a landed file: `<file>.meta.json`

NOM_OCTETS_MAX = 150  # a landed name, leaving room for `.meta.json` and `.retour.html`
RECU = "recu"
DEJA_RECU = "deja_recu"
DEJA_REFUSE = "deja_refuse"
REFUSE = "refuse"
DOSSIER_REFUS = "_refuses"


class InboxError(ValueError):
    """A dropped file that is not taken: the message says why."""


@dataclass(frozen=True)
class InboxOutcome:
    """What happened to one dropped file."""

    partenaire: str
    fichier: str
    statut: str  # recu | deja_recu | refuse
    sha256: str | None = None
    raw: RawFile | None = None
    raison: str | None = None
    retour: str = ""  # the name its feedback report is written under (`nom_depose`)


def _nom_refus(name: str) -> str:
    """The report name of a dropped entry refused before its bytes are read."""
    return nom_depose(name, sha256_bytes(os.fsencode(name)))


def inbox_dir(settings: Settings, partenaire: str | None = None) -> Path:
    root = settings.data_dir / "inbox"
    return root if partenaire is None else root / check_partner(partenaire)


def raw_partner_dir(settings: Settings, partenaire: str) -> Path:
    return settings.raw_dir / "partenaires" / check_partner(partenaire)


def refuses_dir(settings: Settings, partenaire: str) -> Path:
    """Where files refused after landing are kept: `raw/_refuses/<partner>/`."""
    return settings.raw_dir / DOSSIER_REFUS / check_partner(partenaire)


def lisible(name: str) -> str:
    """A name as text that can be written anywhere: bytes that are not UTF-8 as `\\xNN`."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def nom_depose(name: str, digest: str) -> str:
    """The name a dropped file is landed (and reported) under.

    Its own when the file system, the sidecar and the feedback report can hold it; else its
    readable part (at most 80 characters, other characters as `_`), a `-` and the first 8
    characters of its sha256, and its extension: two such files never share a name. An e-mail
    address or a mobile number in it is masked (`masque_texte`): the name goes into the
    published `lieux` (`fichier_origine`), the manifest and the CHANGELOG.
    """
    name = masque_texte(name)
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        size = NOM_OCTETS_MAX + 1
    if size <= NOM_OCTETS_MAX and name.isprintable():
        return name
    text = os.fsencode(name).decode("utf-8", "replace")
    stem, dot, ext = text.rpartition(".")
    if not dot or not re.fullmatch(r"\w{1,10}", ext, re.ASCII):
        stem, ext = text, ""
    propre = re.sub(r"[^\w.\-]+", "_", stem).strip("._")[:80] or "fichier"
    return f"{propre}-{digest[:8]}" + (f".{ext.lower()}" if ext else "")


def check_partner(partenaire: str) -> str:
    if not _PARTENAIRE.match(partenaire):
        raise InboxError(f"partenaire {partenaire!r} : minuscules, chiffres et _ seulement")
    return partenaire


def safe_name(name: str) -> str:
    """A dropped file's name, refused when it could point outside the partner's folder."""
    if not name or "\x00" in name:
        raise InboxError(f"nom de fichier vide ou invalide : {name!r}")
    for pure in (PurePosixPath(name), PureWindowsPath(name)):
        if pure.is_absolute() or pure.anchor or len(pure.parts) != 1 or ".." in pure.parts:
            raise InboxError(f"nom de fichier refusé (chemin, pas un nom) : {name!r}")
    if name in (".", ".."):
        raise InboxError(f"nom de fichier refusé : {name!r}")
    return name


def is_pending(path: Path) -> bool:
    """A file to take: not hidden, not a spreadsheet lock file, not an upload in progress.

    A file named like a sidecar (`*.meta.json`) is taken, to be refused with a report
    (`_read_dropped`): skipped, it would wait in the inbox forever, unexplained."""
    name = path.name
    return not (name.startswith((".", "~$")) or name.endswith(_TEMPORAIRES))


def _sidecars(folder: Path) -> list[RawFile]:
    sidecars = (
        [read_sidecar(p) for p in folder.glob(f"*/*{SUFFIXE_FICHE}")] if folder.is_dir() else []
    )
    return sorted(sidecars, key=lambda raw: (raw.recupere_le, raw.vintage, raw.fichier))


def landed_partner_files(settings: Settings, partenaire: str) -> list[RawFile]:
    """Sidecars of every file landed for a partner and not refused, oldest first."""
    return _sidecars(raw_partner_dir(settings, partenaire))


def refused_partner_files(settings: Settings, partenaire: str) -> list[RawFile]:
    """Sidecars of the files refused after landing, oldest first (never read again)."""
    return _sidecars(refuses_dir(settings, partenaire))


def refuse_landed(settings: Settings, raw: RawFile, raison: str) -> RawFile:
    """Move a landed file and its sidecar to `raw/_refuses/<partner>/<vintage>/`, with its
    reason beside it (`<file>.raison.txt`); returns its sidecar there."""
    target = refuses_dir(settings, raw.provider) / raw.vintage / raw.fichier
    target.parent.mkdir(parents=True, exist_ok=True)
    (target.parent / f"{raw.fichier}.raison.txt").write_text(raison + "\n", encoding="utf-8")
    moved = replace(raw, chemin=str(target))
    if raw.path.exists():
        os.replace(raw.path, target)
    sidecar = raw.path.with_name(raw.path.name + SUFFIXE_FICHE)
    _write_raw_sidecar(target, moved)
    sidecar.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # the landing's folder, when it held only this file
        raw.path.parent.rmdir()
    return moved


def _write_raw_sidecar(target: Path, raw: RawFile) -> None:
    sidecar = target.with_name(target.name + SUFFIXE_FICHE)
    tmp = sidecar.with_name(f".{sidecar.name}.tmp")
    tmp.write_text(json.dumps(asdict(raw), ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, sidecar)


def refuse_dropped(settings: Settings, partenaire: str, name: str, raison: str) -> Path:
    """Record why a dropped file was refused before landing (its bytes are not kept):
    `raw/_refuses/<partner>/inbox/<name>.raison.txt`, rewritten while it stays dropped."""
    folder = refuses_dir(settings, partenaire) / "inbox"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{nom_depose(name, sha256_bytes(os.fsencode(name)))}.raison.txt"
    path.write_text(raison + "\n", encoding="utf-8")
    return path


def pending_files(settings: Settings, partenaire: str) -> list[Path]:
    """The entries waiting in a partner's inbox folder, by name: files, links, sub-folders."""
    folder = inbox_dir(settings, partenaire)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if is_pending(p))


def _read_dropped(folder: Path, name: str, taille_max: int) -> bytes:
    path = folder / safe_name(name)
    if name.lower().endswith(SUFFIXE_FICHE):
        # landed beside the files it would pass for the sidecar of one of them
        raise InboxError(
            f"{lisible(name)} : un nom finissant par « {SUFFIXE_FICHE} » est réservé aux fiches "
            "que l'observatoire écrit à côté de chaque fichier reçu ; renommez le fichier (par "
            "exemple en « .json ») et déposez-le à nouveau"
        )
    if path.is_symlink():
        raise InboxError(f"{lisible(name)} : lien symbolique refusé, déposez le fichier lui-même")
    if path.is_dir():
        raise InboxError(
            f"{lisible(name)} : sous-dossier refusé, déposez les fichiers eux-mêmes directement "
            "dans le dossier du partenaire (pas de dossier ni d'archive)"
        )
    if not path.is_file():
        raise InboxError(f"{lisible(name)} : absent du dossier de dépôt (ou fichier spécial)")
    size = path.stat().st_size
    if size > taille_max:
        raise InboxError(
            f"{lisible(name)} : {size} octets, au-delà de la limite de {taille_max} octets ; "
            "découpez le fichier ou contactez l'observatoire"
        )
    return path.read_bytes()


def land_inbox_file(
    settings: Settings,
    partenaire: str,
    name: str,
    *,
    licence: str = "",
    taille_max: int = TAILLE_MAX_OCTETS,
    now: datetime | None = None,
) -> InboxOutcome:
    """Copy one dropped file into the raw layer, unless the same bytes are already there."""
    content = _read_dropped(inbox_dir(settings, partenaire), name, taille_max)
    digest = sha256_bytes(content)
    landed = landed_partner_files(settings, partenaire)
    refused = refused_partner_files(settings, partenaire)
    for raw in landed:
        if raw.sha256 == digest:
            return InboxOutcome(
                partenaire, lisible(name), DEJA_RECU, digest, raw, retour=nom_depose(name, digest)
            )
    for raw in refused:
        if raw.sha256 == digest:
            return InboxOutcome(
                partenaire, lisible(name), DEJA_REFUSE, digest, raw, retour=nom_depose(name, digest)
            )
    now = now or datetime.now(UTC)
    vintage = now.strftime("%Y%m%dT%H%M%SZ")
    landed_name = nom_depose(name, digest)
    if landed_name in {r.fichier for r in (*landed, *refused)}:
        # another version under the same name: a row is known by (file, line), so each
        # landed file of a partner has its own name
        stem, dot, ext = landed_name.rpartition(".")
        landed_name = f"{stem}-{digest[:8]}.{ext}" if dot else f"{landed_name}-{digest[:8]}"
    target = raw_partner_dir(settings, partenaire) / vintage / landed_name
    if target.exists():
        raise InboxError(f"{target} existe déjà avec d'autres octets ; déposez-le à nouveau")
    raw = RawFile(
        source=f"partenaire__{partenaire}",
        provider=partenaire,
        vintage=vintage,
        fichier=landed_name,
        chemin=str(target),
        origine=f"inbox/{partenaire}/{lisible(name)[:300]}",
        url=None,
        licence=licence,
        sha256=digest,
        taille_octets=len(content),
        recupere_le=now.isoformat(timespec="seconds"),
        profil=PROFIL_INBOX,
    )
    raw = _write_raw(target, content, raw)
    return InboxOutcome(partenaire, landed_name, RECU, digest, raw, retour=landed_name)


def land_inbox(
    settings: Settings,
    partenaire: str,
    *,
    licence: str = "",
    taille_max: int = TAILLE_MAX_OCTETS,
    now: datetime | None = None,
) -> list[InboxOutcome]:
    """Land every pending file of a partner; a refused file does not stop the others.

    Whatever goes wrong with one file (a refusal, a name or an entry the file system cannot
    take, an I/O error) refuses that file, with a French reason, and the next is landed.
    """
    outcomes = []
    for path in pending_files(settings, partenaire):
        try:
            outcomes.append(
                land_inbox_file(
                    settings, partenaire, path.name, licence=licence, taille_max=taille_max, now=now
                )
            )
        except InboxError as error:
            outcomes.append(
                InboxOutcome(
                    partenaire,
                    lisible(path.name),
                    REFUSE,
                    raison=str(error),
                    retour=_nom_refus(path.name),
                )
            )
        except Exception as error:
            raison = (
                f"{lisible(path.name)} : le fichier n'a pas pu être reçu "
                f"({type(error).__name__}) ; déposez-le à nouveau ou contactez l'observatoire"
            )
            outcomes.append(
                InboxOutcome(
                    partenaire,
                    lisible(path.name),
                    REFUSE,
                    raison=raison,
                    retour=_nom_refus(path.name),
                )
            )
    return outcomes


def new_files(
    settings: Settings, partenaire: str, taille_max: int = TAILLE_MAX_OCTETS
) -> list[str]:
    """sha256 of the pending files not yet landed (what a sensor asks a run for), sorted."""
    landed = {raw.sha256 for raw in landed_partner_files(settings, partenaire)}
    landed |= {raw.sha256 for raw in refused_partner_files(settings, partenaire)}
    digests = set()
    folder = inbox_dir(settings, partenaire)
    for path in pending_files(settings, partenaire):
        try:
            digest = sha256_bytes(_read_dropped(folder, path.name, taille_max))
        except (InboxError, OSError):
            continue  # refused when landed, and reported then
        if digest not in landed:
            digests.add(digest)
    return sorted(digests)


def new_files_key(settings: Settings, partenaire: str) -> str | None:
    """The run key a sensor asks a run of a partner under: `<partner>:<signature of its new
    files>` (one run per set of new files), or None when nothing new was dropped."""
    digests = new_files(settings, partenaire)
    if not digests:
        return None
    return f"{partenaire}:{hashlib.sha256(''.join(digests).encode()).hexdigest()[:16]}"
