"""Where the live profile downloads each source, and how sure we are of each address.

The catalogue is data, `schemas/sources/live.yaml`, read once; this module types it and
downloads. Every URL comes from SOURCES.md (the catalogue of live locations, with evidence)
and carries its evidence label:

- `PROD`: seen in the code of a system running in production for the publisher or a public
  operator (strongest);
- `CODE`: seen in public third-party code (real and used, not guaranteed by the publisher);
- `DOCS`: seen in documentation;
- `INFERRED`: deduced from neighbouring evidence, not seen verbatim — verify on first run.

Keys are the observatory source keys (`<provider>__<entity>`). A source may have several
files (`files`) and a file may have `alternatives`, in order of preference; alternatives are
never used silently: several have another format or schema (see their `note`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlencode

import requests
import yaml

from observatory.settings import SCHEMAS_DIR
from observatory.sources.http import Expect, FetchedFile, fetch_paginated_json, fetch_url

Evidence = Literal["PROD", "CODE", "DOCS", "INFERRED"]
EVIDENCE_LABELS: tuple[str, ...] = ("PROD", "CODE", "DOCS", "INFERRED")


@dataclass(frozen=True)
class LiveUrl:
    """One address of a file, its expected format and why we believe it."""

    url: str
    evidence: Evidence
    expect: Expect
    seen_in: str  # where the URL was seen (repository, path, commit, date) or documented
    note: str = ""
    paginated: bool = False  # a JSON API with `next` links (`fetch_paginated_json`)


@dataclass(frozen=True)
class LiveFile:
    """One file of a source as landed in the raw layer, and where to download it."""

    name: str
    url: LiveUrl
    alternatives: tuple[LiveUrl, ...] = ()


@dataclass(frozen=True)
class LiveSource:
    key: str
    title: str
    page: str | None  # the publisher's page: where to look when a file URL dies
    files: tuple[LiveFile, ...]
    caveats: str = ""

    @property
    def evidence(self) -> Evidence:
        """The weakest label among the primary URLs of the source's files."""
        return max((f.url.evidence for f in self.files), key=EVIDENCE_LABELS.index)


CARTOGRAPHIE_EXPORT = "https://cartographie.societenumerique.gouv.fr/api/lieux/exporter"


def cartographie_export_url(departements: Iterable[str] | None = None) -> str:
    """The cartographie's CSV export, whole country or restricted to some départements.

    The national export can hit a 504 time-out (the app itself asks to restrict the
    territory): looping over départements is the robust way (SOURCES.md §1).
    """
    if departements is None:
        return CARTOGRAPHIE_EXPORT
    codes = ",".join(departements)
    if not codes:
        raise ValueError("no département given; pass None for the whole country")
    query = urlencode({"territoire_type": "departements", "territoires": codes}, safe=",")
    return f"{CARTOGRAPHIE_EXPORT}?{query}"


CATALOGUE_LIVE = SCHEMAS_DIR / "sources" / "live.yaml"


class LiveCatalogueError(ValueError):
    """The live catalogue file is malformed: the message names the file and the entry."""


def _url(data: Mapping, where: str) -> LiveUrl:
    try:
        url = LiveUrl(
            url=str(data["url"]),
            evidence=data["evidence"],
            expect=data["expect"],
            seen_in=str(data["seen_in"]),
            note=str(data.get("note", "")),
            paginated=bool(data.get("paginated", False)),
        )
    except (KeyError, TypeError) as error:
        raise LiveCatalogueError(f"{where}: champ manquant ou invalide {error}") from None
    if url.evidence not in EVIDENCE_LABELS:
        raise LiveCatalogueError(f"{where}: evidence {url.evidence!r} not in {EVIDENCE_LABELS}")
    if not url.url.startswith("https://"):
        raise LiveCatalogueError(f"{where}: {url.url!r} is not an https URL")
    return url


def parse_live_catalogue(
    data: Mapping, where: str = "live.yaml"
) -> tuple[dict[str, LiveSource], dict[str, str]]:
    """(live sources by key, sources without a live file → why) from the catalogue's data."""
    sources: dict[str, LiveSource] = {}
    for i, entry in enumerate(data.get("sources") or ()):
        at = f"{where}: sources[{i}] ({entry.get('key', '?')})"
        files = tuple(
            LiveFile(
                name=str(f["name"]),
                url=_url(f["url"], f"{at} {f.get('name')}"),
                alternatives=tuple(
                    _url(a, f"{at} {f.get('name')} alternative") for a in f.get("alternatives", ())
                ),
            )
            for f in entry.get("files") or ()
        )
        if not files:
            raise LiveCatalogueError(f"{at}: no file")
        key = str(entry["key"])
        if key in sources:
            raise LiveCatalogueError(f"{at}: key listed twice")
        sources[key] = LiveSource(
            key=key,
            title=str(entry["title"]),
            page=entry.get("page"),
            files=files,
            caveats=str(entry.get("caveats", "")),
        )
    sans = {str(k): str(v) for k, v in (data.get("sans_fichier_live") or {}).items()}
    both = set(sources) & set(sans)
    if both:
        raise LiveCatalogueError(f"{where}: both live and without a live file: {sorted(both)}")
    return sources, sans


@functools.cache
def load_live_catalogue(
    path: Path = CATALOGUE_LIVE,
) -> tuple[dict[str, LiveSource], dict[str, str]]:
    return parse_live_catalogue(yaml.safe_load(path.read_text(encoding="utf-8")), path.name)


LIVE_URLS, SANS_FICHIER_LIVE = load_live_catalogue()


def live_source(key: str) -> LiveSource:
    """The live locations of a source; a clear error for a source without any."""
    try:
        return LIVE_URLS[key]
    except KeyError:
        raise KeyError(
            f"{key}: no live URL is known for this source (observatory/sources/live.py); "
            f"known: {', '.join(sorted(LIVE_URLS))}"
        ) from None


def fetch_live_file(
    file: LiveFile,
    *,
    session: requests.Session | None = None,
    timeout: float = 60,
    max_attempts: int = 4,
) -> FetchedFile:
    """Download the primary URL of a file (never an alternative: their formats differ).

    A paginated API is fetched page by page; the returned content is then the concatenated
    results as one JSON array.
    """
    live = file.url
    if live.paginated:
        pages = fetch_paginated_json(
            live.url, session=session, timeout=timeout, max_attempts=max_attempts
        )
        return pages.as_fetched()
    return fetch_url(
        live.url,
        timeout=timeout,
        expect=live.expect,
        session=session,
        max_attempts=max_attempts,
    )
