"""Publish a release on data.gouv.fr: every file uploaded to an existing dataset.

data.gouv.fr (udata) API v1, as its guide documents it ("Gérer un jeu de données par l'API",
guides.data.gouv.fr) and its code implements it (opendatateam/udata,
`udata/core/dataset/api.py`):

- `GET  /datasets/{dataset}/` gives the dataset and its `resources` (`id`, `title`…);
- `GET  /datasets/extensions/` lists the file extensions the platform accepts;
- `POST /datasets/{dataset}/upload/` (multipart, field `file`) creates a resource, titled after
  the normalised file name; `POST /datasets/{dataset}/resources/{rid}/upload/` replaces the
  file of an existing resource; both answer the resource with its `checksum` (sha1);
- `PUT  /datasets/{dataset}/resources/{rid}/` sets its title, description and type.

Each file of the release gets one resource whose title is its path in the release
(`indicateurs/niveau=commune/part-0.parquet`, `manifest.json`…), so the next release replaces
the same resources instead of piling up new ones. HTML files are not uploaded: udata refuses
an HTML content type (HTTP 415); their Markdown twin is. Files whose extension the platform
does not accept are skipped too, and reported.

The API key comes from `DATAGOUV_API_KEY` (or the argument). It only travels in the
`X-API-KEY` header: it is never logged, and every error message is scrubbed of it.
Requests have connect/read timeouts and are retried (tenacity, exponential backoff,
`Retry-After` honoured) on connection errors, timeouts, 429 and 5xx; never on other 4xx.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import requests
from tenacity import RetryCallState

from observatory.sources.http import USER_AGENT, with_retries

logger = logging.getLogger(__name__)

ENV_API_KEY = "DATAGOUV_API_KEY"
BASE_URL = "https://www.data.gouv.fr/api/1"
HEADER_API_KEY = "X-API-KEY"
CONNECT_TIMEOUT = 10.0  # seconds
READ_TIMEOUT = 60.0  # seconds without a byte, for JSON calls
UPLOAD_READ_TIMEOUT = 600.0  # the server stores and hashes the file before answering
BACKOFF_BASE = 2.0
BACKOFF_MAX = 60.0
MAX_RETRY_AFTER = 300.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REFUSED_SUFFIXES = (".html", ".htm")  # udata: 415 "Incorrect file content type: HTML"
DATASET_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,199}$")  # an id or a slug, no path
MESSAGE_LIMIT = 300  # characters of a server's error message kept in ours


class DatagouvError(RuntimeError):
    """The publication failed; the message names the call, never the API key."""


class _Transitoire(DatagouvError):
    """A failure worth retrying; `retry_after` in seconds when the server said so."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class FichierRelease:
    """A file of the release and the resource it becomes."""

    chemin: str  # relative to the release, POSIX: the resource title
    type: str  # udata resource type: main | documentation
    description: str


@dataclass(frozen=True)
class Envoi:
    """One file uploaded: the resource it went to and whether it was created or replaced."""

    chemin: str
    resource_id: str
    action: str  # "creee" | "remplacee"
    url: str | None


@dataclass(frozen=True)
class PublicationDatagouv:
    """What `publish_datagouv` did: files uploaded, files skipped with the reason."""

    dataset_id: str
    release_id: str
    envois: tuple[Envoi, ...]
    ignores: tuple[tuple[str, str], ...]


def fichiers_release(release: Path) -> list[FichierRelease]:
    """Every file the manifest lists (tables, documents) and the manifest itself."""
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    release_id = manifest.get("release_id", release.name)
    fichiers = []
    for table, entree in manifest.get("tables", {}).items():
        for fichier in entree["files"]:
            partition = "".join(
                f", partition {k}={v}" for k, v in (fichier.get("partition") or {}).items()
            )
            fichiers.append(
                FichierRelease(
                    _relatif(fichier["path"]),
                    "main",
                    f"Table `{table}`{partition} de la release `{release_id}` de l'observatoire "
                    f"de l'inclusion numérique : {fichier['rows']} lignes, Parquet (zstd). "
                    f"sha256 : `{fichier['sha256']}`.",
                )
            )
    for document in manifest.get("documents", {}):
        fichiers.append(
            FichierRelease(
                _relatif(document),
                "documentation",
                f"Document de la release `{release_id}` de l'observatoire de l'inclusion "
                "numérique.",
            )
        )
    fichiers.append(
        FichierRelease(
            "manifest.json",
            "documentation",
            f"Manifeste de la release `{release_id}` : fichiers (lignes, sha256), sources et "
            "millésimes, version du code.",
        )
    )
    return fichiers


def _relatif(chemin: str) -> str:
    """A manifest path, refused if it leaves the release."""
    posix = PurePosixPath(chemin)
    if posix.is_absolute() or ".." in posix.parts:
        raise DatagouvError(f"{chemin}: chemin hors de la release")
    return posix.as_posix()


def nom_envoi(chemin: str) -> str:
    """The file name sent in the multipart body: the path flattened, so that partitions
    (`…/part-0.parquet` each) do not all arrive under the same name."""
    return chemin.replace("/", "__").replace("=", "-")


def _masquer(texte: str, secret: str) -> str:
    return texte.replace(secret, "***") if secret else texte


class _Client:
    """A session that sends the key, times out, retries what may heal, and scrubs errors."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        session: requests.Session | None,
        max_attempts: int,
        sleep: Callable[[float], None] | None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = api_key
        self.session = session or requests.Session()
        self._own_session = session is None
        self.max_attempts = max_attempts
        self.sleep = sleep or time.sleep

    def close(self) -> None:
        if self._own_session:
            self.session.close()

    def appel(
        self,
        methode: str,
        chemin: str,
        *,
        json_body: Mapping[str, Any] | None = None,
        fichier: tuple[str, Path] | None = None,
        authentifie: bool = True,
    ) -> Any:
        """One API call, retried on transient failures; the parsed JSON answer."""
        url = f"{self.base_url}{chemin}"
        essais = 0

        def essai() -> Any:
            nonlocal essais
            essais += 1
            return self._une_fois(methode, url, json_body, fichier, authentifie)

        try:
            return with_retries(
                essai,
                max_attempts=self.max_attempts,
                wait=_attente,
                transient=_Transitoire,
                sleep=self.sleep,
                before_sleep=_journaliser_reprise,
            )
        except _Transitoire as dernier:
            raise DatagouvError(
                f"{methode} {url} : abandon après {essais} essais ; dernière erreur : {dernier}"
            ) from None

    def _une_fois(
        self,
        methode: str,
        url: str,
        json_body: Mapping[str, Any] | None,
        fichier: tuple[str, Path] | None,
        authentifie: bool,
    ) -> Any:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if authentifie:
            headers[HEADER_API_KEY] = self._key
        lecture = UPLOAD_READ_TIMEOUT if fichier else READ_TIMEOUT
        try:
            if fichier is not None:
                nom, chemin = fichier
                with chemin.open("rb") as flux:  # reopened at each attempt
                    reponse = self.session.request(
                        methode,
                        url,
                        headers=headers,
                        files={"file": (nom, flux, "application/octet-stream")},
                        timeout=(CONNECT_TIMEOUT, lecture),
                    )
            else:
                reponse = self.session.request(
                    methode,
                    url,
                    headers=headers,
                    json=json_body,
                    timeout=(CONNECT_TIMEOUT, lecture),
                )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise _Transitoire(
                _masquer(f"{methode} {url} : {type(exc).__name__}", self._key)
            ) from None
        except requests.RequestException as exc:
            raise DatagouvError(
                _masquer(f"{methode} {url} : {type(exc).__name__}: {exc}", self._key)
            ) from None
        if reponse.status_code in RETRY_STATUSES:
            raise _Transitoire(self._message(methode, url, reponse), _retry_after(reponse.headers))
        if reponse.status_code >= 400:
            raise DatagouvError(self._message(methode, url, reponse))
        if reponse.status_code == 204 or not reponse.content:
            return None
        try:
            return reponse.json()
        except ValueError:
            raise DatagouvError(
                f"{methode} {url} : réponse HTTP {reponse.status_code} qui n'est pas du JSON"
            ) from None

    def _message(self, methode: str, url: str, reponse: requests.Response) -> str:
        """`POST <url> : HTTP 401 — Invalid API token`, the server's words scrubbed and cut."""
        detail = ""
        try:
            corps = reponse.json()
            if isinstance(corps, dict):
                detail = str(
                    corps.get("message") or corps.get("error") or corps.get("errors") or ""
                )
        except ValueError:
            detail = reponse.text[:MESSAGE_LIMIT]
        detail = " ".join(detail.split())[:MESSAGE_LIMIT]
        texte = f"{methode} {url} : HTTP {reponse.status_code}" + (f" — {detail}" if detail else "")
        return _masquer(texte, self._key)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta or HTTP date), capped."""
    valeur = headers.get("Retry-After")
    if not valeur:
        return None
    try:
        secondes = float(valeur)
    except ValueError:
        try:
            date = email.utils.parsedate_to_datetime(valeur)
        except (TypeError, ValueError):
            return None
        secondes = (date - datetime.now(UTC)).total_seconds()
    return min(max(secondes, 0.0), MAX_RETRY_AFTER)


def _attente(etat: RetryCallState) -> float:
    """Exponential backoff, or the server's `Retry-After` when longer."""
    backoff = min(BACKOFF_BASE * 2 ** (etat.attempt_number - 1), BACKOFF_MAX)
    erreur = etat.outcome.exception() if etat.outcome else None
    demande = getattr(erreur, "retry_after", None)
    return max(backoff, demande or 0.0)


def _journaliser_reprise(etat: RetryCallState) -> None:
    erreur = etat.outcome.exception() if etat.outcome else None
    logger.warning("data.gouv.fr : essai %d échoué (%s), nouvel essai", etat.attempt_number, erreur)


def _empreinte(chemin: Path, algorithme: str) -> str:
    h = hashlib.new(algorithme)
    with chemin.open("rb") as flux:
        for bloc in iter(lambda: flux.read(1 << 20), b""):
            h.update(bloc)
    return h.hexdigest()


def _verifier_checksum(ressource: Mapping[str, Any], chemin: Path, relatif: str) -> None:
    """The checksum data.gouv.fr computed on what it stored must be the file's."""
    checksum = ressource.get("checksum") or {}
    algorithme = {"sha1": "sha1", "sha2": "sha256", "sha256": "sha256", "md5": "md5"}.get(
        str(checksum.get("type", "")).lower()
    )
    if algorithme is None or not checksum.get("value"):
        logger.warning("data.gouv.fr : %s sans empreinte vérifiable dans la réponse", relatif)
        return
    local = _empreinte(chemin, algorithme)
    if checksum["value"].lower() != local:
        raise DatagouvError(
            f"{relatif} : empreinte {checksum['type']} reçue de data.gouv.fr "
            f"({checksum['value']}) différente du fichier ({local})"
        )


def _extension(nom: str) -> str:
    """The extension as udata reads it (last suffix, without the dot)."""
    suffixe = PurePosixPath(nom).suffix
    return suffixe[1:].lower() if suffixe else ""


def publish_datagouv(
    release: Path,
    dataset_id: str,
    api_key: str | None = None,
    base_url: str = BASE_URL,
    *,
    session: requests.Session | None = None,
    max_attempts: int = 4,
    sleep: Callable[[float], None] | None = None,
) -> PublicationDatagouv:
    """Upload every file of `release` to the existing dataset `dataset_id`.

    A resource whose title is the file's path in the release is replaced; otherwise a
    resource is created and given that title. `api_key` defaults to `$DATAGOUV_API_KEY`.
    Stops at the first failure (the resources already sent stay updated; running again
    finishes the job, replacing by title).
    """
    if not DATASET_ID.match(dataset_id):
        raise DatagouvError(f"identifiant de jeu de données invalide : {dataset_id!r}")
    cle = api_key if api_key is not None else os.environ.get(ENV_API_KEY, "")
    if not cle.strip():
        raise DatagouvError(
            f"clé d'API data.gouv.fr absente : définir la variable d'environnement {ENV_API_KEY}"
        )
    if max_attempts < 1:
        raise ValueError(f"max_attempts={max_attempts}; at least one attempt is needed")
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    release_id = str(manifest.get("release_id", release.name))
    fichiers = fichiers_release(release)
    client = _Client(base_url, cle.strip(), session, max_attempts, sleep)
    try:
        acceptees = _extensions_acceptees(client)
        jeu = client.appel("GET", f"/datasets/{dataset_id}/")
        existantes: dict[str, str] = {}
        for ressource in (jeu or {}).get("resources", []):
            titre = ressource.get("title")
            if titre in existantes:
                logger.warning("data.gouv.fr : plusieurs ressources intitulées %s", titre)
                continue
            existantes[titre] = ressource["id"]
        envois: list[Envoi] = []
        ignores: list[tuple[str, str]] = []
        for fichier in fichiers:
            raison = _raison_ignorer(fichier.chemin, acceptees)
            if raison:
                logger.warning("data.gouv.fr : %s non envoyé (%s)", fichier.chemin, raison)
                ignores.append((fichier.chemin, raison))
                continue
            envois.append(_envoyer(client, dataset_id, release, fichier, existantes))
    finally:
        client.close()
    return PublicationDatagouv(dataset_id, release_id, tuple(envois), tuple(ignores))


def _extensions_acceptees(client: _Client) -> frozenset[str] | None:
    """The platform's accepted extensions; None (no filtering) if it does not say."""
    try:
        extensions = client.appel("GET", "/datasets/extensions/", authentifie=False)
    except DatagouvError as exc:
        logger.warning("data.gouv.fr : liste des extensions indisponible (%s)", exc)
        return None
    if not isinstance(extensions, list):
        return None
    return frozenset(str(e).lower() for e in extensions)


def _raison_ignorer(chemin: str, acceptees: frozenset[str] | None) -> str | None:
    if chemin.lower().endswith(REFUSED_SUFFIXES):
        return "HTML refusé par data.gouv.fr (HTTP 415) ; la version Markdown est envoyée"
    extension = _extension(chemin)
    if acceptees is not None and extension not in acceptees:
        return f"extension « {extension} » non acceptée par data.gouv.fr"
    return None


def _envoyer(
    client: _Client,
    dataset_id: str,
    release: Path,
    fichier: FichierRelease,
    existantes: Mapping[str, str],
) -> Envoi:
    chemin = release / fichier.chemin
    envoi = (nom_envoi(fichier.chemin), chemin)
    rid = existantes.get(fichier.chemin)
    if rid is not None:
        ressource = client.appel(
            "POST", f"/datasets/{dataset_id}/resources/{rid}/upload/", fichier=envoi
        )
        action = "remplacee"
    else:
        ressource = client.appel("POST", f"/datasets/{dataset_id}/upload/", fichier=envoi)
        action = "creee"
    if not isinstance(ressource, dict) or not ressource.get("id"):
        raise DatagouvError(f"{fichier.chemin} : réponse d'envoi sans identifiant de ressource")
    if ressource.get("success") is False:
        raise DatagouvError(f"{fichier.chemin} : envoi refusé ({ressource.get('error')})")
    _verifier_checksum(ressource, chemin, fichier.chemin)
    rid = str(ressource["id"])
    client.appel(
        "PUT",
        f"/datasets/{dataset_id}/resources/{rid}/",
        json_body={
            "title": fichier.chemin,
            "description": fichier.description,
            "type": fichier.type,
        },
    )
    logger.info("data.gouv.fr : %s %s (ressource %s)", fichier.chemin, action, rid)
    return Envoi(fichier.chemin, rid, action, ressource.get("url"))
