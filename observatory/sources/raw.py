"""The raw layer: every input lands as the bytes received, once, with a sidecar.

`<data_dir>/raw/<provider>/<vintage>/<file>` plus `<file>.meta.json` (origin, sha256, size,
retrieval time). A landed file is never rewritten: landing the same bytes again is a no-op,
landing different bytes under the same vintage is an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from observatory.settings import Settings
from observatory.sources.catalogue import Source, SourceFile


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


def raw_path(settings: Settings, source: Source, file: SourceFile) -> Path:
    return settings.raw_dir / source.provider / source.vintage / file.name


def fetch_bytes(settings: Settings, file: SourceFile) -> tuple[bytes, str]:
    """The bytes of one source file and where they came from, for the active profile."""
    if settings.profile == "offline":
        bundled = settings.assets_dir / file.bundled
        if not bundled.is_file():
            raise RawLayerError(f"bundled file missing: {bundled} (offline snapshot incomplete)")
        return bundled.read_bytes(), f"assets/{file.bundled}"
    if file.url is None:
        raise RawLayerError(
            f"{file.name}: no live URL is declared for this file; the live profile covers "
            "only sources with a URL in observatory/sources/catalogue.py"
        )
    raise RawLayerError(f"{file.name}: live download is not available in this version")


def _write_atomic(target: Path, content: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.chmod(tmp, 0o444)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def land(settings: Settings, source: Source, file: SourceFile) -> RawFile:
    """Land one file of a source in the raw layer (idempotent, never overwrites)."""
    target = raw_path(settings, source, file)
    sidecar = target.with_name(target.name + ".meta.json")
    if target.exists() and sidecar.exists():
        existing = read_sidecar(sidecar)
        if sha256_file(target) != existing.sha256:
            raise RawLayerError(
                f"{target}: bytes differ from its sidecar; the raw layer was altered"
            )
        if settings.profile == "offline":
            bundled_sha = sha256_file(settings.assets_dir / file.bundled)
            if bundled_sha != existing.sha256:
                raise RawLayerError(
                    f"{target}: already landed with sha256 {existing.sha256[:12]} but the bundled "
                    f"file has {bundled_sha[:12]}; a changed file needs a new vintage"
                )
        return existing
    content, origin = fetch_bytes(settings, file)
    raw = RawFile(
        source=source.key,
        provider=source.provider,
        vintage=source.vintage,
        fichier=file.name,
        chemin=str(target),
        origine=f"{origin} — {source.origin}",
        url=file.url,
        licence=source.licence,
        sha256=sha256_bytes(content),
        taille_octets=len(content),
        recupere_le=datetime.now(UTC).isoformat(timespec="seconds"),
        profil=settings.profile,
    )
    _write_atomic(target, content)
    _write_atomic(sidecar, json.dumps(asdict(raw), ensure_ascii=False, indent=2).encode())
    return raw


def land_source(settings: Settings, source: Source) -> list[RawFile]:
    return [land(settings, source, file) for file in source.files]


def read_sidecar(path: Path) -> RawFile:
    return RawFile(**json.loads(path.read_text(encoding="utf-8")))


def landed(settings: Settings, source: Source) -> list[RawFile]:
    """Sidecars of a source's landed files; fails clearly if its raw asset has not run."""
    files = []
    for file in source.files:
        sidecar = raw_path(settings, source, file).with_name(file.name + ".meta.json")
        if not sidecar.exists():
            raise RawLayerError(f"{sidecar} missing: materialise {source.raw_asset} first")
        files.append(read_sidecar(sidecar))
    return files
