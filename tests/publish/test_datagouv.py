"""Publishing a release on data.gouv.fr, against the API answers in tests/fixtures/datagouv/
(their shapes and where they come from: that folder's README). No test touches the network.

The fake server below keeps the dataset's resources, computes the sha1 of what it receives
and answers like udata does, so the tests check what was sent, not only that calls were made.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import re
import traceback
from email import message_from_bytes
from email.policy import default as email_policy
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import requests
import responses

from observatory.publish.datagouv import (
    ENV_API_KEY,
    DatagouvError,
    fichiers_release,
    nom_envoi,
    publish_datagouv,
)
from observatory.publish.release import TableLayout, write_release

FIXTURES = Path(__file__).parents[1] / "fixtures" / "datagouv"
API = "https://www.data.gouv.fr/api/1"
DATASET = "5bc04b2cff66bd680e499f4a"
CLE = "eyJhbGciOiJIUzUxMiJ9.cle-de-test-secrete-0123456789"


def fixture(nom: str) -> Any:
    return json.loads((FIXTURES / nom).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A release with a partitioned table, a plain one, Markdown and HTML documents."""
    tables = {
        "territoires": pl.DataFrame(
            {
                "niveau": ["commune", "commune", "departement"],
                "code": ["16015", "16102", "16"],
                "nom": ["Angoulême", "Cognac", "Charente"],
                "population": [41908, 18532, 352683],
            }
        ),
        "lieux": pl.DataFrame({"id": ["mednum__lieux:1"], "nom": ["Centre social"]}),
    }

    def documents(dossier: Path, manifest: dict[str, Any], precedente: Path | None) -> list[str]:
        (dossier / "CHANGELOG.md").write_text("# Changements\n", encoding="utf-8")
        (dossier / "dictionnaire.md").write_text("# Dictionnaire\n", encoding="utf-8")
        (dossier / "dictionnaire.html").write_text("<!DOCTYPE html><p>x</p>", encoding="utf-8")
        return ["CHANGELOG.md", "dictionnaire.md", "dictionnaire.html"]

    publication = write_release(
        tables,
        tmp_path_factory.mktemp("published"),
        [{"source": "cog__communes", "millesime": "2026", "sha256": "a" * 64}],
        layouts={"territoires": TableLayout("niveau", ("niveau", "code"))},
        documents=documents,
    )
    return publication.folder


CHEMINS = [
    "territoires/niveau=commune/part-0.parquet",
    "territoires/niveau=departement/part-0.parquet",
    "lieux.parquet",
    "CHANGELOG.md",
    "dictionnaire.html",
    "dictionnaire.md",
    "manifest.json",
]


class FauxDatagouv:
    """data.gouv.fr as far as the publication uses it: dataset, uploads, resource updates."""

    def __init__(
        self,
        mock: responses.RequestsMock,
        ressources: list[dict[str, Any]],
        extensions: list[str] | None = None,
    ) -> None:
        self.ressources = {r["id"]: r for r in ressources}
        self.recus: dict[str, bytes] = {}  # resource id → bytes of its file
        self.compteur = 0
        extensions = fixture("extensions.json") if extensions is None else extensions
        mock.add(responses.GET, f"{API}/datasets/extensions/", json=extensions)
        mock.add_callback(responses.GET, f"{API}/datasets/{DATASET}/", callback=self.jeu)
        mock.add_callback(
            responses.POST, f"{API}/datasets/{DATASET}/upload/", callback=self.nouvelle
        )
        mock.add_callback(
            responses.POST,
            re.compile(rf"{API}/datasets/{DATASET}/resources/[0-9a-f-]+/upload/"),
            callback=self.remplacement,
        )
        mock.add_callback(
            responses.PUT,
            re.compile(rf"{API}/datasets/{DATASET}/resources/[0-9a-f-]+/"),
            callback=self.mise_a_jour,
        )

    def jeu(self, request: Any) -> tuple[int, dict[str, str], str]:
        corps = fixture("jeu_de_donnees.json")
        corps["resources"] = list(self.ressources.values())
        return 200, {}, json.dumps(corps)

    @staticmethod
    def fichier(request: Any) -> tuple[str, bytes]:
        """The `file` part of a multipart body: its file name and bytes."""
        entete = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode()
        message = message_from_bytes(entete + request.body, policy=email_policy)
        (partie,) = [
            p
            for p in message.iter_parts()
            if p.get_param("name", header="content-disposition") == "file"
        ]
        return partie.get_filename(), partie.get_payload(decode=True)

    def ressource(self, rid: str, nom: str, contenu: bytes) -> dict[str, Any]:
        ressource = copy.deepcopy(fixture("ressource_envoyee.json"))
        titre = re.sub(r"[^a-z0-9.]+", "-", nom.lower())  # udata slugifies the file name
        ressource |= {
            "id": rid,
            "title": titre,
            "filesize": len(contenu),
            "format": titre.rsplit(".", 1)[-1],
            "url": ressource["url"].rsplit("/", 1)[0] + "/" + titre,
            "latest": f"{API}/datasets/r/{rid}",
        }
        ressource["checksum"]["value"] = hashlib.sha1(contenu).hexdigest()
        return ressource

    def nouvelle(self, request: Any) -> tuple[int, dict[str, str], str]:
        nom, contenu = self.fichier(request)
        self.compteur += 1
        rid = f"00000000-0000-4000-8000-{self.compteur:012d}"
        ressource = self.ressource(rid, nom, contenu)
        self.ressources[rid] = {k: v for k, v in ressource.items() if k != "success"}
        self.recus[rid] = contenu
        return 201, {}, json.dumps(ressource)

    def remplacement(self, request: Any) -> tuple[int, dict[str, str], str]:
        rid = request.url.rstrip("/").split("/")[-2]
        if rid not in self.ressources:
            return 404, {}, json.dumps({"message": "Resource does not exist", "status": 404})
        nom, contenu = self.fichier(request)
        ressource = self.ressource(rid, nom, contenu) | {"title": self.ressources[rid]["title"]}
        self.ressources[rid] |= {k: v for k, v in ressource.items() if k != "success"}
        self.recus[rid] = contenu
        return 200, {}, json.dumps(ressource)

    def mise_a_jour(self, request: Any) -> tuple[int, dict[str, str], str]:
        rid = request.url.rstrip("/").split("/")[-1]
        corps = json.loads(request.body)
        self.ressources[rid] |= corps
        return 200, {}, json.dumps(self.ressources[rid])

    def par_titre(self) -> dict[str, dict[str, Any]]:
        return {r["title"]: r for r in self.ressources.values()}


def test_files_of_the_release(release: Path) -> None:
    fichiers = fichiers_release(release)
    assert sorted(f.chemin for f in fichiers) == sorted(CHEMINS)
    par_chemin = {f.chemin: f for f in fichiers}
    assert par_chemin["lieux.parquet"].type == "main"
    assert par_chemin["manifest.json"].type == "documentation"
    commune = par_chemin["territoires/niveau=commune/part-0.parquet"].description
    assert "partition niveau=commune" in commune and "2 lignes" in commune
    assert nom_envoi("territoires/niveau=commune/part-0.parquet") == (
        "territoires__niveau-commune__part-0.parquet"
    )


def test_first_publication_creates_one_titled_resource_per_file(release: Path) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        serveur = FauxDatagouv(mock, [])
        resultat = publish_datagouv(release, DATASET, api_key=CLE, sleep=lambda s: None)
        appels = [(c.request.method, c.request.url) for c in mock.calls]
        entetes = [c.request.headers for c in mock.calls]
    envoyes = [c for c in CHEMINS if not c.endswith(".html")]
    assert sorted(e.chemin for e in resultat.envois) == sorted(envoyes)
    assert {e.action for e in resultat.envois} == {"creee"}
    assert resultat.ignores == (
        (
            "dictionnaire.html",
            "HTML refusé par data.gouv.fr (HTTP 415) ; la version Markdown est envoyée",
        ),
    )
    assert resultat.release_id == release.name
    ressources = serveur.par_titre()
    assert sorted(ressources) == sorted(envoyes)  # titled by their path in the release
    for chemin in envoyes:
        ressource = ressources[chemin]
        assert serveur.recus[ressource["id"]] == (release / chemin).read_bytes()
        assert ressource["type"] == ("main" if chemin.endswith(".parquet") else "documentation")
        assert release.name in ressource["description"]
    assert appels.count(("POST", f"{API}/datasets/{DATASET}/upload/")) == len(envoyes)
    assert sum(1 for m, _ in appels if m == "PUT") == len(envoyes)
    for (methode, url), entete in zip(appels, entetes, strict=True):
        assert entete["User-Agent"].startswith("observatory/")
        if url.endswith("/extensions/"):
            assert "X-API-KEY" not in entete  # a public list: the key is not sent for it
        else:
            assert entete["X-API-KEY"] == CLE, (methode, url)


def test_next_publication_replaces_resources_by_title(release: Path) -> None:
    existantes = [
        {"id": f"11111111-0000-4000-8000-{i:012d}", "title": chemin, "type": "main"}
        for i, chemin in enumerate(CHEMINS)
        if not chemin.endswith(".html")
    ] + [{"id": "22222222-0000-4000-8000-000000000000", "title": "Note des producteurs"}]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        serveur = FauxDatagouv(mock, copy.deepcopy(existantes))
        resultat = publish_datagouv(release, DATASET, api_key=CLE, sleep=lambda s: None)
        appels = [(c.request.method, c.request.url) for c in mock.calls]
    assert {e.action for e in resultat.envois} == {"remplacee"}
    assert {e.resource_id for e in resultat.envois} == {r["id"] for r in existantes[:-1]}
    assert ("POST", f"{API}/datasets/{DATASET}/upload/") not in appels
    assert len(serveur.ressources) == len(existantes)  # nothing added, nothing removed
    assert serveur.par_titre()["Note des producteurs"] == existantes[-1]  # left alone
    manifeste = serveur.par_titre()["manifest.json"]
    assert serveur.recus[manifeste["id"]] == (release / "manifest.json").read_bytes()


def test_transient_errors_are_retried(release: Path) -> None:
    pauses: list[float] = []
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.GET, f"{API}/datasets/{DATASET}/", status=502, body="Bad Gateway")
        mock.add(
            responses.GET,
            f"{API}/datasets/{DATASET}/",
            status=429,
            headers={"Retry-After": "7"},
            json={"message": "Too many requests"},
        )
        serveur = FauxDatagouv(mock, [])  # then the dataset answers
        resultat = publish_datagouv(release, DATASET, api_key=CLE, sleep=pauses.append)
    assert len(resultat.envois) == 6 and len(serveur.ressources) == 6
    assert pauses == [2.0, 7.0]  # backoff, then the server's Retry-After (longer)


def test_gives_up_after_max_attempts(release: Path) -> None:
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{API}/datasets/extensions/", json=fixture("extensions.json"))
        mock.add(responses.GET, f"{API}/datasets/{DATASET}/", status=503)
        with pytest.raises(DatagouvError, match=r"abandon après 3 essais.*HTTP 503"):
            publish_datagouv(release, DATASET, api_key=CLE, max_attempts=3, sleep=lambda s: None)
        assert len(mock.calls) == 4


def test_a_bad_key_is_not_retried(release: Path) -> None:
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{API}/datasets/extensions/", json=fixture("extensions.json"))
        mock.add(
            responses.GET, f"{API}/datasets/{DATASET}/", status=401, json=fixture("erreur_401.json")
        )
        with pytest.raises(DatagouvError, match=r"HTTP 401 — Invalid API token"):
            publish_datagouv(release, DATASET, api_key="mauvaise", sleep=lambda s: None)
        assert len(mock.calls) == 2


def test_the_key_never_appears_in_logs_or_errors(
    release: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even when the server echoes it back, or the connection fails mid-upload."""
    monkeypatch.setenv(ENV_API_KEY, CLE)
    caplog.set_level(logging.DEBUG)  # urllib3 and requests included
    with responses.RequestsMock() as mock:
        mock.add(
            responses.GET,
            f"{API}/datasets/extensions/",
            body=requests.ConnectionError(f"boom {CLE}"),
        )
        mock.add(responses.GET, f"{API}/datasets/{DATASET}/", json=fixture("jeu_de_donnees.json"))
        mock.add(
            responses.POST,
            f"{API}/datasets/{DATASET}/upload/",
            status=403,
            json={"message": f"key {CLE} may not edit this dataset"},
        )
        with pytest.raises(DatagouvError) as erreur:
            publish_datagouv(release, DATASET, sleep=lambda s: None)  # key from the environment
        envoi = next(c for c in mock.calls if c.request.url.endswith("/upload/"))
        assert envoi.request.headers["X-API-KEY"] == CLE  # it was used…
    texte = "".join(traceback.format_exception(erreur.value))
    assert "HTTP 403" in texte and "***" in texte
    assert CLE not in texte and CLE not in repr(erreur.value)
    assert CLE not in caplog.text  # …and never written anywhere
    assert "liste des extensions indisponible" in caplog.text


def test_missing_key_or_bad_dataset_id(release: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_API_KEY, raising=False)
    with pytest.raises(DatagouvError, match=ENV_API_KEY):
        publish_datagouv(release, DATASET)
    for identifiant in ("../admin", "5bc04b2c/resources", ""):
        with pytest.raises(DatagouvError, match="identifiant"):
            publish_datagouv(release, identifiant, api_key=CLE)


def test_a_corrupted_upload_is_detected(release: Path) -> None:
    """The sha1 data.gouv.fr computed on what it stored must be the file's."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.GET, f"{API}/datasets/extensions/", json=fixture("extensions.json"))
        mock.add(responses.GET, f"{API}/datasets/{DATASET}/", json=fixture("jeu_de_donnees.json"))
        mock.add(
            responses.POST,
            f"{API}/datasets/{DATASET}/upload/",
            status=201,
            json=fixture("ressource_envoyee.json"),
        )
        with pytest.raises(DatagouvError, match=r"empreinte sha1 .* différente du fichier"):
            publish_datagouv(release, DATASET, api_key=CLE, sleep=lambda s: None)


def test_extensions_the_platform_refuses_are_skipped(release: Path) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        serveur = FauxDatagouv(mock, [], extensions=["csv", "json", "parquet"])
        resultat = publish_datagouv(release, DATASET, api_key=CLE, sleep=lambda s: None)
    ignores = dict(resultat.ignores)
    assert ignores["CHANGELOG.md"] == "extension « md » non acceptée par data.gouv.fr"
    assert sorted(serveur.par_titre()) == sorted(
        c for c in CHEMINS if c.endswith((".parquet", ".json"))
    )
