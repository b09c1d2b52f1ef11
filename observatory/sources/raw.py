"""The raw layer: every input lands as the bytes received, once, with a sidecar.

`<data_dir>/raw/<provider>/<vintage>/<file>` plus `<file>.meta.json` (origin, sha256, size,
retrieval time). A landed file is never rewritten: landing the same bytes again is a no-op,
landing different bytes under the same vintage is an error. Every run re-hashes the landed
files against their sidecars (`verifie_empreinte`): a file altered after landing is named and
refused (a partner's file alone; a national source stops the run before anything is published).
A write is atomic (temporary file, then rename): a process killed mid-write leaves only a
temporary file naming its pid, removed by the next run (`nettoie_temporaires`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

from observatory.locking import processus_vivant
from observatory.settings import Settings
from observatory.sources.catalogue import Source, SourceFile
from observatory.sources.http import FetchedFile
from observatory.sources.live import LiveFile, fetch_live_file, live_source


class RawLayerError(RuntimeError):
    """A raw file cannot be fetched or would overwrite different bytes."""


@dataclass(frozen=True)
class RawFile:
    """The sidecar of a landed file."""

    source: str
    provider: str
    vintage: str
    fichier: str
    chemin: str
    origine: str
    url: str | None
    licence: str
    sha256: str
    taille_octets: int
    recupere_le: str
    profil: str

    @property
    def path(self) -> Path:
        return Path(self.chemin)


def sha256_bytes(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verifie_empreinte(raw: RawFile) -> str | None:
    """Why a landed file no longer is the bytes its sidecar describes (French), or None.

    Re-hashed on every run: a landed file is never rewritten, so any difference is an
    alteration (an edit by hand, a restore from another backup, a disk fault).
    """
    path, sidecar = raw.path, _sidecar(raw.path).name
    if not path.is_file():
        return f"fichier brut absent : {path} (décrit par {sidecar}) ; il n'est pas lu"
    taille = path.stat().st_size
    constate = sha256_file(path)
    if constate != raw.sha256:
        return (
            f"fichier brut altéré depuis sa réception : {path} ; sha256 {constate[:12]}… "
            f"({taille} octets) au lieu de {raw.sha256[:12]}… ({raw.taille_octets} octets) "
            f"noté dans {sidecar} ; il n'est pas lu"
        )
    return None


def verifie_tous(files: list[RawFile]) -> None:
    """Raise naming every altered or missing file of `files` (a national source: the run
    stops before publishing)."""
    if problemes := [p for p in map(verifie_empreinte, files) if p is not None]:
        raise RawLayerError("; ".join(problemes) + " ; rien n'est publié")


# `.<file>.ecriture-<pid>.<random>`: a temporary file of an atomic write, by process `pid`
TEMPORAIRE = re.compile(r"^\..+\.ecriture-(\d+)\.[^.]+$")


def nettoie_temporaires(root: Path) -> list[Path]:
    """Remove the temporary files left under `root` by writes of processes that died (killed
    mid-write); returns them. Files of a running process are left alone."""
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for path in list(root.rglob(".*.ecriture-*")):
        match = TEMPORAIRE.match(path.name)
        if match and path.is_file() and not processus_vivant(int(match.group(1))):
            path.unlink(missing_ok=True)
            removed.append(path)
            if path.parent != root:  # a partner's reception folder left empty
                with contextlib.suppress(OSError):
                    path.parent.rmdir()
    return removed


def raw_path(settings: Settings, source: Source, file: SourceFile) -> Path:
    return settings.raw_dir / source.provider / source.vintage / file.name


def fetch_bundled(settings: Settings, file: SourceFile) -> tuple[bytes, str]:
    """The bytes of a file of the bundled snapshot and where they came from."""
    bundled = settings.assets_dir / file.bundled
    if not bundled.is_file():
        raise RawLayerError(f"bundled file missing: {bundled} (offline snapshot incomplete)")
    return bundled.read_bytes(), f"assets/{file.bundled}"


def _write_atomic(target: Path, content: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.ecriture-{os.getpid()}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.chmod(tmp, 0o444)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _sidecar(target: Path) -> Path:
    return target.with_name(target.name + ".meta.json")


def _write_raw(target: Path, content: bytes, raw: RawFile) -> RawFile:
    _write_atomic(target, content)
    _write_atomic(_sidecar(target), json.dumps(asdict(raw), ensure_ascii=False, indent=2).encode())
    return raw


def land(settings: Settings, source: Source, file: SourceFile, profil: str = "offline") -> RawFile:
    """Land one bundled file of a source in the raw layer (idempotent, never overwrites)."""
    target = raw_path(settings, source, file)
    if target.exists() and _sidecar(target).exists():
        existing = read_sidecar(_sidecar(target))
        if probleme := verifie_empreinte(existing):
            raise RawLayerError(f"{probleme} ; rien n'est publié")
        bundled_sha = sha256_file(settings.assets_dir / file.bundled)
        if bundled_sha != existing.sha256:
            raise RawLayerError(
                f"{target}: already landed with sha256 {existing.sha256[:12]} but the bundled "
                f"file has {bundled_sha[:12]}; a changed file needs a new vintage"
            )
        return existing
    content, origin = fetch_bundled(settings, file)
    raw = RawFile(
        source=source.key,
        provider=source.provider,
        vintage=source.vintage,
        fichier=file.name,
        chemin=str(target),
        origine=f"{origin} — {source.origin}",
        url=None,  # the bundled snapshot: its upstream is in `origine`
        licence=source.licence,
        sha256=sha256_bytes(content),
        taille_octets=len(content),
        recupere_le=datetime.now(UTC).isoformat(timespec="seconds"),
        profil=profil,
    )
    return _write_raw(target, content, raw)


def _live_pointer(settings: Settings, source: Source) -> Path:
    """Which landed files are the current live version of a source (a small JSON list)."""
    return settings.raw_dir / source.provider / f".{source.key}.live.json"


def land_live(
    settings: Settings, source: Source, fetch: Callable[[LiveFile], FetchedFile] = fetch_live_file
) -> list[RawFile]:
    """Download a source's live files; bytes identical to the last download are not landed again.

    Each download lands under a vintage named by its retrieval time (UTC), since a live file
    changes without notice; the pointer to the current set is replaced last.
    """
    previous = {raw.fichier: raw for raw in _read_pointer(settings, source)}
    files = []
    for file in live_source(source.key).files:
        fetched = fetch(file)
        digest = sha256_bytes(fetched.content)
        if file.name in previous and previous[file.name].sha256 == digest:
            if probleme := verifie_empreinte(previous[file.name]):
                raise RawLayerError(f"{probleme} ; rien n'est publié")
            files.append(previous[file.name])
            continue
        vintage = fetched.retrieved_at.strftime("%Y%m%dT%H%M%SZ")
        target = settings.raw_dir / source.provider / vintage / file.name
        if target.exists():
            raise RawLayerError(f"{target}: already landed with other bytes; not overwritten")
        raw = RawFile(
            source=source.key,
            provider=source.provider,
            vintage=vintage,
            fichier=file.name,
            chemin=str(target),
            origine=f"{fetched.final_url} ({file.url.evidence}: {file.url.seen_in})",
            url=file.url.url,
            licence=source.licence,
            sha256=digest,
            taille_octets=len(fetched.content),
            recupere_le=fetched.retrieved_at.isoformat(timespec="seconds"),
            profil="live",
        )
        files.append(_write_raw(target, fetched.content, raw))
    pointer = [str(_sidecar(raw.path)) for raw in files]
    _write_atomic(_live_pointer(settings, source), json.dumps(pointer).encode())
    return files


def _read_pointer(settings: Settings, source: Source) -> list[RawFile]:
    pointer = _live_pointer(settings, source)
    if not pointer.exists():
        return []
    return [read_sidecar(Path(p)) for p in json.loads(pointer.read_text(encoding="utf-8"))]


def land_source(settings: Settings, source: Source) -> list[RawFile]:
    """Land a source for the active profile.

    `live` downloads the sources whose live format the staging reads (`source.live`); the
    others are landed from the bundled snapshot, their sidecars saying so
    (`profil = "live:instantane"`), so a live run is complete and honest about what is not.
    """
    if settings.profile == "live" and source.live:
        return land_live(settings, source)
    profil = "offline" if settings.profile == "offline" else "live:instantane"
    return [land(settings, source, file, profil) for file in source.files]


def read_sidecar(path: Path) -> RawFile:
    """The sidecar at `path`, its file taken beside it (`chemin` keeps where it was written: a
    data directory moved or restored elsewhere would otherwise point at the old place)."""
    raw = RawFile(**json.loads(path.read_text(encoding="utf-8")))
    return replace(raw, chemin=str(path.with_name(path.name.removesuffix(".meta.json"))))


def landed(settings: Settings, source: Source) -> list[RawFile]:
    """Sidecars of a source's current landed files; fails clearly if its raw asset has not run."""
    if settings.profile == "live" and source.live:
        files = _read_pointer(settings, source)
        if not files:
            raise RawLayerError(
                f"{_live_pointer(settings, source)} missing: materialise {source.raw_asset} first"
            )
        return files
    files = []
    for file in source.files:
        sidecar = _sidecar(raw_path(settings, source, file))
        if not sidecar.exists():
            raise RawLayerError(f"{sidecar} missing: materialise {source.raw_asset} first")
        files.append(read_sidecar(sidecar))
    return files


def date_export(settings: Settings, source: Source) -> date | None:
    """The date a registry's rows are at least as old as: the bundled snapshot's vintage, or,
    for a file downloaded live, the day it was downloaded (its `recupere_le`)."""
    files = landed(settings, source)
    if files and all(f.profil == "live" for f in files):
        return date.fromisoformat(min(f.recupere_le for f in files)[:10])
    return date.fromisoformat(source.vintage) if source.files else None
