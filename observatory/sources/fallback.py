"""When a live download fails for good: keep serving the last good raw snapshot, flagged stale.

`land_live` raises on any failed download (after `fetch_url`'s own retries), and it replaces
a source's pointer only once every file is landed, so a failure never leaves a half-updated
source. Unattended runs need more than an error: the day data.gouv.fr is down, the observatory
must still publish, from the previous download, and say which source is stale.
`land_live_or_keep_last` does that: on a `DownloadError` it returns the files of the previous
successful download with `stale=True` and the error; with no previous download it re-raises
(nothing to fall back on). Errors of the raw layer itself (bytes altered on disk) are never
swallowed. While a source is served stale, `.<source>.stale.json` next to its live pointer
says since when and why (`stale_status`), so the release manifest can say it too; the next
successful download removes it.

`check_integrity` refuses a download whose size or sha256 differs from what the publisher
announced (data.gouv.fr's resource API gives both), before anything is landed or parsed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from observatory.settings import Settings
from observatory.sources.catalogue import Source
from observatory.sources.http import DownloadError, FetchedFile
from observatory.sources.live import LiveFile, fetch_live_file
from observatory.sources.raw import (
    RawFile,
    _read_pointer,
    _write_atomic,
    land_live,
    sha256_bytes,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveLanding:
    """The files a live source is read from now, and whether they are an older download."""

    files: list[RawFile]
    stale: bool = False
    error: str | None = None  # why the download failed, when `stale`

    @property
    def retrieved_at(self) -> datetime:
        """When the oldest file in use was downloaded: the age of the source's data."""
        return min(datetime.fromisoformat(f.recupere_le) for f in self.files)


def _stale_path(settings: Settings, source: Source) -> Path:
    return settings.raw_dir / source.provider / f".{source.key}.stale.json"


def stale_status(settings: Settings, source: Source) -> dict[str, Any] | None:
    """Since when and why a live source is served from an older download (None: it is not)."""
    path = _stale_path(settings, source)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def land_live_or_keep_last(
    settings: Settings,
    source: Source,
    fetch: Callable[[LiveFile], FetchedFile] = fetch_live_file,
    *,
    fallback: bool = True,
) -> LiveLanding:
    """Download a live source; if the download fails, fall back on its last good snapshot.

    `fallback=False` re-raises instead: an asset passes it while Dagster still has retries
    left, so the snapshot is used only once retrying has failed too.
    """
    try:
        landing = LiveLanding(land_live(settings, source, fetch))
    except DownloadError as error:
        previous = _read_pointer(settings, source)
        if not fallback or not previous:
            raise
        landing = LiveLanding(previous, stale=True, error=str(error))
        now = datetime.now(UTC).isoformat(timespec="seconds")
        status = stale_status(settings, source) or {"source": source.key, "depuis": now}
        status |= {
            "derniere_tentative": now,
            "erreur": landing.error,
            "donnees_du": landing.retrieved_at.isoformat(timespec="seconds"),
        }
        _write_atomic(
            _stale_path(settings, source), json.dumps(status, ensure_ascii=False).encode()
        )
        logger.warning(
            "%s: download failed (%s); using the previous download of %s",
            source.key,
            landing.error,
            status["donnees_du"],
        )
        return landing
    _stale_path(settings, source).unlink(missing_ok=True)
    return landing


def check_integrity(
    fetched: FetchedFile, *, size: int | None = None, sha256: str | None = None
) -> FetchedFile:
    """The download itself when it has the announced size and sha256, else `DownloadError`."""
    if size is not None and fetched.size != size:
        raise DownloadError(
            f"{fetched.url}: {fetched.size} bytes received, {size} announced: truncated or "
            "changed download, not landed",
            url=fetched.url,
            status=fetched.status,
        )
    if sha256 is not None and sha256_bytes(fetched.content) != sha256.lower():
        raise DownloadError(
            f"{fetched.url}: sha256 {sha256_bytes(fetched.content)[:12]}… differs from the "
            f"announced {sha256[:12]}…: corrupted download, not landed",
            url=fetched.url,
            status=fetched.status,
        )
    return fetched
