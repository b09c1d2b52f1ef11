"""The partners' drop folder: `<data_dir>/inbox/<partner>/`, landed in the raw layer.

A file is identified by its sha256: dropping the same bytes again (under any name) is a no-op.
A new file is copied, never moved or modified, to
`<data_dir>/raw/partenaires/<partner>/<reception time>/<file>` with its sidecar, like every raw
input (`observatory.sources.raw`): read-only, written atomically, never overwritten. Names
that could escape the folder (`../x`, absolute paths), symbolic links and files over the size
limit are refused; hidden and temporary files (an upload in progress) are left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath, PureWindowsPath

from observatory.settings import Settings
from observatory.sources.raw import RawFile, _write_raw, read_sidecar, sha256_bytes

TAILLE_MAX_OCTETS = 50 * 1024 * 1024
PROFIL_INBOX = "inbox"
_PARTENAIRE = re.compile(r"^[a-z0-9][a-z0-9_]{1,62}$")
_TEMPORAIRES = (".part", ".tmp", ".crdownload", ".partial", ".swp")

RECU = "recu"
DEJA_RECU = "deja_recu"
REFUSE = "refuse"


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


def inbox_dir(settings: Settings, partenaire: str | None = None) -> Path:
    root = settings.data_dir / "inbox"
    return root if partenaire is None else root / check_partner(partenaire)


def raw_partner_dir(settings: Settings, partenaire: str) -> Path:
    return settings.raw_dir / "partenaires" / check_partner(partenaire)


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
    """A file to take: not hidden, not a spreadsheet lock file, not an upload in progress."""
    name = path.name
    return not (
        name.startswith((".", "~$")) or name.endswith(_TEMPORAIRES) or name.endswith(".meta.json")
    )


def landed_partner_files(settings: Settings, partenaire: str) -> list[RawFile]:
    """Sidecars of every file landed for a partner, oldest first."""
    folder = raw_partner_dir(settings, partenaire)
    sidecars = [read_sidecar(p) for p in folder.glob("*/*.meta.json")] if folder.is_dir() else []
    return sorted(sidecars, key=lambda raw: (raw.recupere_le, raw.vintage, raw.fichier))


def pending_files(settings: Settings, partenaire: str) -> list[Path]:
    """The files waiting in a partner's inbox folder, by name."""
    folder = inbox_dir(settings, partenaire)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if is_pending(p) and (p.is_file() or p.is_symlink()))


def _read_dropped(folder: Path, name: str, taille_max: int) -> bytes:
    path = folder / safe_name(name)
    if path.is_symlink():
        raise InboxError(f"{name} : lien symbolique refusé, déposez le fichier lui-même")
    if not path.is_file():
        raise InboxError(f"{name} : absent du dossier de dépôt")
    size = path.stat().st_size
    if size > taille_max:
        raise InboxError(
            f"{name} : {size} octets, au-delà de la limite de {taille_max} octets ; "
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
    for raw in landed_partner_files(settings, partenaire):
        if raw.sha256 == digest:
            return InboxOutcome(partenaire, name, DEJA_RECU, digest, raw)
    now = now or datetime.now(UTC)
    vintage = now.strftime("%Y%m%dT%H%M%SZ")
    target = raw_partner_dir(settings, partenaire) / vintage / name
    if target.exists():
        raise InboxError(f"{target} existe déjà avec d'autres octets ; déposez-le à nouveau")
    raw = RawFile(
        source=f"partenaire__{partenaire}",
        provider=partenaire,
        vintage=vintage,
        fichier=name,
        chemin=str(target),
        origine=f"inbox/{partenaire}/{name}",
        url=None,
        licence=licence,
        sha256=digest,
        taille_octets=len(content),
        recupere_le=now.isoformat(timespec="seconds"),
        profil=PROFIL_INBOX,
    )
    return InboxOutcome(partenaire, name, RECU, digest, _write_raw(target, content, raw))


def land_inbox(
    settings: Settings,
    partenaire: str,
    *,
    licence: str = "",
    taille_max: int = TAILLE_MAX_OCTETS,
    now: datetime | None = None,
) -> list[InboxOutcome]:
    """Land every pending file of a partner; a refused file does not stop the others."""
    outcomes = []
    for path in pending_files(settings, partenaire):
        try:
            outcomes.append(
                land_inbox_file(
                    settings, partenaire, path.name, licence=licence, taille_max=taille_max, now=now
                )
            )
        except InboxError as error:
            outcomes.append(InboxOutcome(partenaire, path.name, REFUSE, raison=str(error)))
    return outcomes


def new_files(
    settings: Settings, partenaire: str, taille_max: int = TAILLE_MAX_OCTETS
) -> list[str]:
    """sha256 of the pending files not yet landed (what a sensor asks a run for), sorted."""
    landed = {raw.sha256 for raw in landed_partner_files(settings, partenaire)}
    digests = set()
    folder = inbox_dir(settings, partenaire)
    for path in pending_files(settings, partenaire):
        try:
            digest = sha256_bytes(_read_dropped(folder, path.name, taille_max))
        except InboxError:
            continue  # refused when landed, and reported then
        if digest not in landed:
            digests.add(digest)
    return sorted(digests)
