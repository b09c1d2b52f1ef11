"""`observatory serve` on the real release of the shared end-to-end run (real_data): the SQLite
file says what the Parquet release says, the pages carry the French metadata, the server is
read-only and answers hostile input with errors, and releases switch atomically for readers."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import httpx
import matplotlib.image
import polars as pl
import pytest
import requests

from observatory.publish.release import read_table
from observatory.serve.app import MAX_QUERY_STRING, ReleaseServer, make_datasette
from observatory.serve.metadata import QUERIES, release_metadata
from observatory.serve.sqlite import DATABASE, FILE_NAME, build_release_sqlite
from observatory.settings import PROJECT_ROOT, SCHEMAS_DIR

pytestmark = pytest.mark.real_data

OBSERVATORY = Path(sys.executable).parent / "observatory"
FOOTER = re.compile(r"publication <code>([^<]+)</code>")
RELEASE_CELL = re.compile(r'<td class="col-release_id[^"]*"><a [^>]*>([^<]+)</a></td>')
SLOW_SQL = (  # about a second of CPU, well under the limit used below
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 2000000) "
    "SELECT (SELECT release_id FROM publication) AS publication_lue, count(*) FROM c"
)
ENDLESS_SQL = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
)


def copy_release(release: Path, release_id: str) -> Path:
    """The same tables under another release id (a later publication, as far as readers see)."""
    copy = release.parent / release_id
    shutil.copytree(release, copy)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["release_id"] = release_id
    manifest["created_at"] = f"{release_id[:4]}-{release_id[4:6]}-{release_id[6:8]}T23:59:00+00:00"
    (copy / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return copy


def point_latest(published: Path, release_id: str) -> None:
    link, tmp = published / "latest", published / f".latest-{release_id}"
    tmp.unlink(missing_ok=True)
    os.symlink(Path("releases") / release_id, tmp)
    os.replace(tmp, link)


@pytest.fixture(scope="module")
def data_dir(pipeline_run, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory of its own holding the shared run's release as `latest`."""
    _settings, outcome = pipeline_run
    data = tmp_path_factory.mktemp("servi") / "data"
    releases = data / "published" / "releases"
    releases.mkdir(parents=True)
    shutil.copytree(outcome.release, releases / outcome.release.name)
    point_latest(data / "published", outcome.release.name)
    return data


@pytest.fixture(scope="module")
def release(data_dir: Path) -> Path:
    return (data_dir / "published" / "latest").resolve()


@pytest.fixture(scope="module")
def sqlite_file(data_dir: Path, release: Path) -> Path:
    """Built where the server looks for it, so that the server does not build it again."""
    return build_release_sqlite(release, data_dir / "serve" / release.name / FILE_NAME, SCHEMAS_DIR)


def charente_nb_illectronisme(release: Path) -> dict:
    rows = read_table(release, "indicateurs").filter(
        pl.col("niveau") == "departement",
        pl.col("code") == "16",
        pl.col("indicateur") == "nb_illectronisme",
    )
    assert rows.height == 1
    return rows.row(0, named=True)


def test_sqlite_file_holds_the_release(release: Path, sqlite_file: Path) -> None:
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    connection = sqlite3.connect(f"file:{sqlite_file}?immutable=1", uri=True)
    for name, table in manifest["tables"].items():
        assert connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] == table["rows"]
    keys = [r[1] for r in connection.execute("PRAGMA table_info(indicateurs)") if r[5]]
    assert keys == ["niveau", "code", "indicateur", "annee"]
    expected = charente_nb_illectronisme(release)
    got = connection.execute(
        "SELECT valeur, ic_bas, ic_haut, couverture FROM indicateurs WHERE niveau = "
        "'departement' AND code = '16' AND indicateur = 'nb_illectronisme'"
    ).fetchone()
    assert got == (expected["valeur"], expected["ic_bas"], expected["ic_haut"], 1)
    (publication,) = connection.execute("SELECT release_id, cree_le FROM publication").fetchall()
    assert publication == (manifest["release_id"], manifest["created_at"])
    libelle, unite, sources = connection.execute(
        "SELECT libelle, unite, sources FROM dictionnaire WHERE code = ?",
        ("distance_france_services_km",),
    ).fetchone()
    assert unite == "km" and "France Services" in libelle and "(2022-12-01)" in sources
    assert connection.execute("SELECT count(*) FROM sources").fetchone()[0] == len(
        manifest["sources"]
    )
    # every canned query runs on it
    for name, query in QUERIES.items():
        params = {"niveau": "departement", "code": "16", "departement": "16"}
        params |= {"commune": "16015", "indicateur": "nb_france_services"}
        rows = connection.execute(query["sql"], params).fetchall()
        assert rows, name


def test_metadata_in_french_from_the_release(release: Path) -> None:
    datapackage = json.loads((release / "datapackage.json").read_text(encoding="utf-8"))
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    metadata = release_metadata(datapackage, manifest)
    tables = metadata["databases"][DATABASE]["tables"]
    assert tables["indicateurs_large"]["title"] == "Indicateurs (format large)"
    assert tables["orientation"]["columns"]["distance_km"].endswith("Unité : km.")
    assert (
        "Communes du COG 2026 et leur population municipale (2026)"
        in (tables["territoires"]["description_html"])
    )
    assert metadata["license"].startswith("Licence Ouverte")
    assert manifest["release_id"] in metadata["description_html"]
    assert set(metadata["databases"][DATABASE]["queries"]) == set(QUERIES)


# --- the server, as a user starts it -------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(data_dir: Path, sqlite_file: Path, tmp_path_factory: pytest.TempPathFactory):
    port = free_port()
    log = tmp_path_factory.mktemp("serve_log") / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                *(str(OBSERVATORY), "serve", "--data-dir", str(data_dir), "--port", str(port)),
                *("--recheck", "1", "--sql-time-limit-ms", "3000"),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            if process.poll() is not None:
                pytest.fail(f"observatory serve exited:\n{log.read_text()}")
            try:
                if requests.get(f"{base}/-/settings.json", timeout=2).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.5)
        else:
            pytest.fail(f"observatory serve did not answer:\n{log.read_text()}")
        yield base, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert "Traceback" not in log.read_text()


def test_binds_to_loopback_only(server) -> None:
    base, _ = server
    port = int(base.rsplit(":", 1)[1])
    listening = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True).stdout
    addresses = {line.split()[3] for line in listening.splitlines() if line.split()}
    assert f"127.0.0.1:{port}" in addresses
    assert f"0.0.0.0:{port}" not in addresses and f"*:{port}" not in addresses


def test_charente_json_equals_the_parquet_release(server, release: Path) -> None:
    base, _ = server
    expected = charente_nb_illectronisme(release)
    table = requests.get(
        f"{base}/{DATABASE}/indicateurs.json",
        params={
            "niveau": "departement",
            "code": "16",
            "indicateur": "nb_illectronisme",
            "_shape": "array",
        },
        timeout=30,
    )
    assert table.status_code == 200, table.text
    (row,) = table.json()
    for column in ("valeur", "ic_bas", "ic_haut", "annee"):
        assert row[column] == expected[column], column
    assert row["ic_bas"] < row["valeur"] < row["ic_haut"]
    # the canned query gives the same, with the dictionary's French label and unit
    canned = requests.get(
        f"{base}/{DATABASE}/indicateurs_territoire.json",
        params={"niveau": "departement", "code": "16", "_shape": "array"},
        timeout=30,
    ).json()
    (same,) = [r for r in canned if r["indicateur"] == "nb_illectronisme"]
    assert (same["valeur"], same["ic_bas"], same["ic_haut"]) == (
        expected["valeur"],
        expected["ic_bas"],
        expected["ic_haut"],
    )
    assert same["nom"] == "Charente" and same["unite"] == "personnes" and same["couverture"] == 1
    epci = requests.get(
        f"{base}/{DATABASE}/epci_departement_priorite.json",
        params={"departement": "16", "_shape": "array"},
        timeout=30,
    ).json()
    assert len(epci) == 9 and epci[0]["rang"] == 1
    scores = [e["score_priorite"] for e in epci]
    assert scores == sorted(scores, reverse=True)


def test_csv_download(server, release: Path) -> None:
    base, _ = server
    response = requests.get(
        f"{base}/{DATABASE}/indicateurs.csv",
        params={"niveau": "departement", "code": "16", "_size": "max"},
        timeout=30,
    )
    assert response.status_code == 200
    assert (
        response.headers["content-type"].startswith("text/plain")
        or "csv" in (response.headers["content-type"])
    )
    served = pl.read_csv(io.BytesIO(response.content), schema_overrides={"code": pl.String})
    parquet = read_table(release, "indicateurs").filter(
        pl.col("niveau") == "departement", pl.col("code") == "16"
    )
    assert served.height == parquet.height
    assert served.columns == parquet.columns
    charente = served.filter(pl.col("indicateur") == "nb_illectronisme").row(0, named=True)
    expected = charente_nb_illectronisme(release)
    assert charente["valeur"] == expected["valeur"] and charente["ic_haut"] == expected["ic_haut"]


@pytest.mark.parametrize(
    ("method", "path", "status", "said"),
    [
        ("POST", "/observatoire/territoires", 405, "lecture seule"),
        ("PUT", "/observatoire/territoires", 405, "lecture seule"),
        ("DELETE", "/observatoire/indicateurs", 405, "lecture seule"),
        ("GET", "/observatoire.json?sql=" + quote("DELETE FROM territoires"), 400, "SELECT"),
        ("GET", "/observatoire.json?sql=" + quote("DROP TABLE territoires"), 400, "SELECT"),
        ("GET", "/observatoire.json?sql=" + quote("ATTACH DATABASE '/tmp/x' AS x"), 400, ""),
        ("GET", "/observatoire.json?sql=" + quote("PRAGMA writable_schema = 1"), 400, ""),
        ("GET", "/observatoire.json?sql=" + quote(ENDLESS_SQL), 400, "too long"),
        ("GET", "/observatoire/territoires.json?x=" + "a" * MAX_QUERY_STRING, 414, "refusée"),
        ("GET", "/observatoire.db", 403, ""),
    ],
)
def test_writes_and_over_long_queries_are_refused(server, method, path, status, said) -> None:
    base, _ = server
    response = requests.request(method, base + path, timeout=60)
    assert response.status_code == status, response.text[:500]
    assert said in response.text
    assert "Traceback" not in response.text


HOSTILE = [
    "/observatoire/territoires?_sort=inconnue",
    "/observatoire/territoires.json?_sort_desc=%00",
    "/observatoire/territoires.json?_size=-1",
    "/observatoire/territoires.json?_size=abc",
    "/observatoire/territoires.json?_next=%00%ff%fe",
    "/observatoire/territoires.json?_where=1%3D1)%3B%20DROP%20TABLE%20territoires%3B--",
    "/observatoire/territoires.json?_facet=inconnue",
    "/observatoire/territoires.json?_col=inconnue",
    "/observatoire/territoires.json?_shape=bizarre",
    "/observatoire/territoires.json?code__inconnu=1",
    "/observatoire/territoires/%2e%2e%2f%2e%2e",
    "/observatoire/indicateurs_territoire.json?niveau=%27%3B--&code=%E2%80%AE",
    "/observatoire/indicateurs_territoire.json",
    "/observatoire.json?sql=" + quote("SELECT load_extension('/tmp/x')"),
    "/observatoire.json?sql=" + quote("SELECT * FROM pragma_database_list"),
    "/observatoire.json?sql=" + quote("SELECT :a, :b") + "&a=%00",
    "/observatoire.json?sql=%ff%fe",
    "/-/rapports/departement_99.html",
    "/-/rapports/../../../etc/passwd",
    "/-/publication/..%2fmanifest.json",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/-/databases.json",  # would give the file's path
    "/-/threads.json",
]


@pytest.mark.parametrize("path", HOSTILE)
def test_hostile_query_strings_get_an_error_never_a_traceback(server, path: str) -> None:
    base, _ = server
    response = requests.get(base + path, timeout=60, allow_redirects=False)
    assert response.status_code < 500, (path, response.text[:500])
    assert "Traceback" not in response.text and 'File "/' not in response.text
    assert "root:" not in response.text  # no file outside the release
    assert FILE_NAME not in response.text  # nor where the served file lives


def test_readme_urls_and_figures(server, release: Path, sqlite_file: Path) -> None:
    """The two URLs the README gives a newcomer answer as it says; its figures hold."""
    base, _ = server
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- serve-urls -->", 1)[1].split("```", 2)[1]
    json_url, csv_url = block.split()
    assert json_url.startswith("http://127.0.0.1:8001/") and csv_url.endswith("code=16")
    (row,) = requests.get(json_url.replace("http://127.0.0.1:8001", base), timeout=30).json()
    assert row["valeur"] == charente_nb_illectronisme(release)["valeur"]
    csv = requests.get(csv_url.replace("http://127.0.0.1:8001", base), timeout=30)
    table = pl.read_csv(io.BytesIO(csv.content))
    assert {"libelle", "unite", "ic_bas", "ic_haut", "couverture"} <= set(table.columns)
    assert f"{len(HOSTILE)} hostile query strings" in readme
    size = re.search(r"about ([\d.]+) GB for the national release", readme)
    assert size and abs(sqlite_file.stat().st_size / 1e9 - float(size[1])) < 0.1
    connection = sqlite3.connect(f"file:{sqlite_file}?immutable=1", uri=True)
    orientation = connection.execute(
        "SELECT sum(pgsize) FROM dbstat WHERE name LIKE '%orientation%'"
    ).fetchone()[0]
    assert 0.35 < orientation / sqlite_file.stat().st_size < 0.65  # "half of it"


def test_pages_carry_the_release_and_link_the_reports(server, release: Path) -> None:
    base, _ = server
    page = requests.get(f"{base}/{DATABASE}/territoires", params={"niveau": "departement"})
    assert page.status_code == 200
    assert FOOTER.search(page.text)[1] == release.name
    assert "Territoires" in page.text and "Licence Ouverte" in page.text
    link = "/-/rapports/departement_16.html"
    assert f'href="{link}"' in page.text
    report = requests.get(base + link, timeout=120)
    assert report.status_code == 200 and "Charente" in report.text
    index = requests.get(f"{base}/-/rapports/", timeout=120)
    assert index.status_code == 200 and 'href="departement_16.html"' in index.text
    assert requests.get(f"{base}/-/rapports", allow_redirects=False).status_code == 302
    dictionary = requests.get(f"{base}/-/publication/dictionnaire.html", timeout=30)
    assert dictionary.status_code == 200 and "nb_illectronisme" in dictionary.text


def test_home_and_table_pages_in_headless_chromium(server, tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium n'est pas installé (apt-get install -y chromium)")
    base, _ = server
    pages = {
        "/": ["Observatoire de l'inclusion numérique", "Indicateurs de la Charente"],
        f"/{DATABASE}/indicateurs_large": [
            "Indicateurs (format large)",
            "Personnes de 15 ans ou plus en situation d'illectronisme",
            "Distance à la France Services la plus proche",
        ],
    }
    for number, (path, titles) in enumerate(pages.items()):
        browser = [chromium, "--headless", "--no-sandbox", "--disable-gpu"]
        dom = subprocess.run(
            [*browser, "--dump-dom", base + path],
            capture_output=True,
            text=True,
            timeout=90,
            check=True,
        ).stdout
        for title in titles:
            assert title in dom.replace("&#39;", "'"), (path, title)
        assert FOOTER.search(dom), path
        capture = tmp_path / f"page_{number}.png"
        subprocess.run(
            [*browser, f"--screenshot={capture}", "--window-size=1280,1400", base + path],
            capture_output=True,
            timeout=90,
            check=True,
        )
        image = matplotlib.image.imread(capture)
        assert image.shape[:2] == (1400, 1280)
        gris = image[..., :3].mean(axis=2)
        assert (gris < 0.5).mean() > 0.005 and gris.std() > 0.1, path  # text drawn


def test_a_new_release_is_served_without_restart_and_never_mixed(
    server, data_dir: Path, release: Path
) -> None:
    """`latest` moves to a new release: the server builds its file beside the served one and
    switches; every page read meanwhile shows one release in its footer and in its data."""
    base, log = server
    later = copy_release(release, "29991231T235900Z-0123456789")
    point_latest(data_dir / "published", later.name)
    seen: list[tuple[str, str]] = []

    def read_once() -> tuple[str, str]:
        page = requests.get(f"{base}/{DATABASE}/publication", timeout=60).text
        return FOOTER.search(page)[1], RELEASE_CELL.search(page)[1]

    deadline = time.monotonic() + 240
    with ThreadPoolExecutor(2) as pool:
        while time.monotonic() < deadline:
            seen += list(pool.map(lambda _: read_once(), range(2)))
            if seen[-1][0] == later.name and seen[-2][0] == later.name:
                break
            time.sleep(0.2)
    assert seen[-1] == (later.name, later.name), log.read_text()[-2000:]
    assert all(footer == data for footer, data in seen), [s for s in seen if s[0] != s[1]]
    assert seen[0][0] == release.name
    # the former release's file is removed once no request reads it
    for _ in range(50):
        if not (data_dir / "serve" / release.name).exists():
            break
        time.sleep(0.2)
    assert not (data_dir / "serve" / release.name).exists()
    assert (data_dir / "serve" / later.name / FILE_NAME).is_file()


def test_switch_waits_for_requests_in_flight(data_dir: Path, release: Path, tmp_path: Path) -> None:
    """A request that started on one release ends on it, even when the switch happens while
    its query runs; the next request reads the new release (in process, deterministic)."""
    published = tmp_path / "published"
    (published / "releases").mkdir(parents=True)
    first = published / "releases" / release.name
    shutil.copytree(release, first)
    second = copy_release(first, "29991231T235800Z-abcdefabcd")
    cache = tmp_path / "serve"
    server = ReleaseServer(published, cache, tmp_path / "rapports", SCHEMAS_DIR, recheck_s=0)
    make_datasette(server, sql_time_limit_ms=20_000)
    built = data_dir / "serve"
    source = next(built.glob(f"*/{FILE_NAME}"))  # a file already built by the tests above
    for folder in (first, second):
        (cache / folder.name).mkdir(parents=True)
        shutil.copy(source, cache / folder.name / FILE_NAME)
    with sqlite3.connect(cache / second.name / FILE_NAME) as connection:
        connection.execute("UPDATE publication SET release_id = ?", (second.name,))
    with sqlite3.connect(cache / first.name / FILE_NAME) as connection:
        connection.execute("UPDATE publication SET release_id = ?", (first.name,))
    server.switch(server.load(first, cache / first.name / FILE_NAME))
    app = server.ds.app()

    async def scenario() -> tuple[httpx.Response, httpx.Response, bool]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            url = f"/{DATABASE}?sql={quote(SLOW_SQL)}"
            slow = asyncio.create_task(client.get(url, timeout=60))
            old = server.current
            while old.inflight == 0:
                await asyncio.sleep(0.01)
            server.switch(server.load(second, cache / second.name / FILE_NAME))
            kept_while_read = (cache / first.name / FILE_NAME).is_file()
            during = await slow
            after = await client.get(url, timeout=60)
            return during, after, kept_while_read

    during, after, kept_while_read = asyncio.run(scenario())
    assert during.status_code == 200 and after.status_code == 200
    assert FOOTER.search(during.text)[1] == first.name
    assert first.name in during.text.split('<footer class="ft">')[0]
    assert second.name not in during.text
    assert FOOTER.search(after.text)[1] == second.name
    assert first.name not in after.text
    assert kept_while_read  # the old file stayed while the slow request read it
    assert not (cache / first.name).exists() and server.retired == []
