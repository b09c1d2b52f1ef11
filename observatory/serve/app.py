"""Datasette on the latest release, read-only, switching releases atomically for readers.

How a request never mixes two releases: every release is one immutable SQLite file
(`sqlite.py`) wrapped in its own Datasette `Database`. An ASGI wrapper pins the release being
served when a request starts (a context variable); Datasette's `databases`, the metadata, the
footer's release id and the reports all read the pinned release for the whole request. A new
`latest` is noticed by a background check, its file built beside the served one, then swapped
in for the requests that start afterwards; the former file is closed and removed once its last
request has finished.

Safe by default: bound to 127.0.0.1, SQLite files opened `immutable=1` (read-only, no locks),
no write endpoint (Datasette 0.65 has none, and only SELECT runs), SQL time limit, query
strings over `MAX_QUERY_STRING` bytes refused, no database download, errors shown as Datasette's
error page (never a traceback).
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import json
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datasette import database as datasette_database
from datasette import hookimpl
from datasette.app import Datasette
from datasette.database import Database
from datasette.plugins import pm
from datasette.utils import add_cors_headers
from datasette.utils.asgi import Base400, Response
from datasette.views.base import DatasetteError
from markupsafe import Markup, escape

from observatory.locking import processus_vivant
from observatory.publish.release import current_release
from observatory.serve.metadata import date_fr, release_metadata
from observatory.serve.sqlite import DATABASE, FILE_NAME, build_release_sqlite

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # no write endpoint, whatever the path
# Datasette's debugging and introspection pages: file paths, threads, versions, plugins
INTROSPECTION = re.compile(
    r"^/-/(?:databases|threads|versions|plugins|actor|allow-debug|messages|patterns|permissions)"
    r"(?:\.json)?/?$"
)
HIDDEN_PRAGMAS = frozenset({"database_list"})
MAX_QUERY_STRING = 8192  # bytes; a longer query string is refused (414) before any SQL runs
TEMPLATES = Path(__file__).parent / "templates"
PLUGIN_NAME = "observatory_serve"
DEFAULT_EXCEPTION_HANDLER = "datasette.handle_exception"
DEPARTEMENT = re.compile(r"^(?:0[1-9]|[1-8]\d|9[0-5]|2A|2B|97[1-6])$")
REPORT_TABLES = ("territoires", "indicateurs", "indicateurs_large", "couverture_sources")

PINNED: ContextVar[Served | None] = ContextVar("observatory_served_release", default=None)


def log(message: str) -> None:
    print(f"observatory serve: {message}", file=sys.stderr, flush=True)


class ReleaseDatabase(Database):
    """A release's immutable SQLite file. Datasette keys its per-thread connections by database
    name, which every release shares (`observatoire`): this one keys them by object, so that a
    thread never answers for one release on a connection opened for another."""

    def __init__(self, ds: Datasette, path: Path, release_id: str, counts: Mapping[str, int]):
        super().__init__(ds, path=str(path), is_mutable=False)
        self.connection_key = f"observatoire_{uuid.uuid4().hex}"
        # Datasette would read the whole file to hash it; the release id names its content
        self.cached_hash = hashlib.sha256(release_id.encode()).hexdigest()
        self.cached_size = path.stat().st_size
        self._cached_table_counts = dict(counts)

    async def attached_databases(self) -> list[Any]:
        return []  # none is ever attached; and `PRAGMA database_list` is denied (file path)

    async def execute_fn(self, fn: Any) -> Any:
        key = self.connection_key

        def in_thread() -> Any:
            connection = getattr(datasette_database.connections, key, None)
            if connection is None:
                connection = self.connect()
                self.ds._prepare_connection(connection, self.name)
                setattr(datasette_database.connections, key, connection)
            return fn(connection)

        return await asyncio.get_running_loop().run_in_executor(self.ds.executor, in_thread)


class ReleaseDatasette(Datasette):
    """Datasette whose `databases` are those of the release pinned to the current request."""

    @property
    def databases(self) -> Mapping[str, Database]:  # type: ignore[override]
        served = PINNED.get()
        return served.databases if served is not None else self._databases_now

    @databases.setter
    def databases(self, value: Mapping[str, Database]) -> None:
        self._databases_now = value


@dataclass(eq=False)
class Served:
    """One release as served: its file, its Datasette database and what the pages say of it."""

    release_id: str
    folder: Path
    sqlite: Path
    database: ReleaseDatabase
    databases: Mapping[str, Database]
    metadata: dict[str, Any]
    publication: dict[str, Any]
    departements: frozenset[str]
    inflight: int = 0


@dataclass
class ReleaseServer:
    """The releases of one data directory, served through one Datasette."""

    published_dir: Path
    cache_dir: Path
    reports_dir: Path
    schemas_dir: Path
    recheck_s: float = 10.0
    base_path: str = "/"
    ds: ReleaseDatasette | None = None
    current: Served | None = None
    retired: list[Served] = field(default_factory=list)
    failed: set[str] = field(default_factory=set)
    _watcher: asyncio.Task[None] | None = None
    _report_lock: threading.Lock = field(default_factory=threading.Lock)

    # --- files -------------------------------------------------------------------------------

    def latest(self) -> Path | None:
        return current_release(self.published_dir)

    def prepare(self, release: Path) -> Path:
        """The release's SQLite file, built if this cache does not have it yet."""
        target = self.cache_dir / release.name / FILE_NAME
        if not target.is_file():
            started = time.perf_counter()
            log(f"préparation de la publication {release.name} (fichier SQLite)…")
            build_release_sqlite(release, target, self.schemas_dir)
            log(f"publication {release.name} prête en {time.perf_counter() - started:.0f} s")
        return target

    def clean_cache(self) -> None:
        """Files of releases pruned from the data directory, and partial files of dead builds."""
        if not self.cache_dir.is_dir():
            return
        releases = self.published_dir / "releases"
        for folder in self.cache_dir.iterdir():
            if folder.is_dir() and not (releases / folder.name).is_dir():
                shutil.rmtree(folder, ignore_errors=True)
                continue
            for partial in folder.glob(f".{FILE_NAME}.*.partiel") if folder.is_dir() else ():
                pid = partial.name.split(".")[-2]
                if not pid.isdigit() or not processus_vivant(int(pid)):
                    partial.unlink(missing_ok=True)

    # --- releases ----------------------------------------------------------------------------

    def load(self, release: Path, sqlite: Path) -> Served:
        """A Datasette database and the pages' metadata for a release whose file is ready."""
        assert self.ds is not None
        manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
        datapackage = json.loads((release / "datapackage.json").read_text(encoding="utf-8"))
        with sqlite3.connect(f"file:{sqlite}?immutable=1", uri=True) as connection:
            counts = {
                name: connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
                for (name,) in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite_%'"
                ).fetchall()
            }
            departements = frozenset(
                code
                for (code,) in connection.execute(
                    "SELECT code FROM territoires WHERE niveau = 'departement'"
                )
            )
        database = ReleaseDatabase(self.ds, sqlite, manifest["release_id"], counts)
        database.name = database.route = DATABASE
        databases = collections.OrderedDict(self.ds._databases_now)
        databases[DATABASE] = database
        licence = (datapackage.get("licenses") or [{}])[0]
        return Served(
            release_id=manifest["release_id"],
            folder=release,
            sqlite=sqlite,
            database=database,
            databases=databases,
            metadata=release_metadata(datapackage, manifest, self.base_path),
            publication={
                "release_id": manifest["release_id"],
                "date": date_fr(manifest.get("created_at")),
                "licence": licence.get("title"),
                "licence_url": licence.get("path"),
            },
            departements=departements,
        )

    def switch(self, served: Served) -> None:
        """Serve `served` to the requests that start from now on (one assignment)."""
        assert self.ds is not None
        previous, self.current = self.current, served
        self.ds.databases = served.databases
        if previous is not None:
            self.retired.append(previous)
            log(f"publication {served.release_id} servie (remplace {previous.release_id})")
        self.reap()

    def reap(self) -> None:
        """Close and remove the files of former releases that no request reads any more."""
        for old in [s for s in self.retired if s.inflight == 0]:
            self.retired.remove(old)
            old.database.close()
            if old.sqlite.parent.parent == self.cache_dir:
                shutil.rmtree(old.sqlite.parent, ignore_errors=True)

    async def refresh(self) -> None:
        """Build and switch to `latest` if it is not the release being served."""
        latest = self.latest()
        if latest is None or self.current is None or latest.name == self.current.release_id:
            return
        if latest.name in self.failed:
            return
        try:
            sqlite = await asyncio.to_thread(self.prepare, latest)
            self.switch(self.load(latest, sqlite))
        except Exception as error:  # keep serving the current release; say why, once
            self.failed.add(latest.name)
            log(f"publication {latest.name} non servie : {error}")

    async def watch(self) -> None:
        while True:
            await asyncio.sleep(self.recheck_s)
            await self.refresh()

    # --- reports -----------------------------------------------------------------------------

    def report(self, served: Served, code: str | None) -> Path:
        """The département's HTML report (or the index when `code` is None), built once per
        release into `<data_dir>/rapports/<release>/`, written whole then renamed into place."""
        from observatory.publish.report import build_index, build_report

        out = self.reports_dir / served.release_id
        page = out / (f"departement_{code}.html" if code else "index.html")
        with self._report_lock:
            if page.is_file():
                return page
            out.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=out, prefix=".construction-") as scratch:
                work = Path(scratch)
                if code:
                    build_report(served.folder, code, work, schemas_dir=self.schemas_dir)
                else:
                    build_index(served.folder, work, self.schemas_dir)
                for built in work.glob("*.html"):
                    os.replace(built, out / built.name)
        return page


def _server(datasette: Datasette) -> ReleaseServer | None:
    return getattr(datasette, "observatory_server", None)


def _served(datasette: Datasette) -> Served | None:
    server = _server(datasette)
    return PINNED.get() or (server.current if server else None)


async def _plain(
    send: Any, status: int, text: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), *(headers or [])],
        }
    )
    await send({"type": "http.response.body", "body": text.encode("utf-8")})


# --- Datasette plugin hooks (registered by `make_datasette`) ----------------------------------


@hookimpl
def asgi_wrapper(datasette: Datasette) -> Any:
    server = _server(datasette)

    def wrap(app: Any) -> Any:
        if server is None:
            return app

        async def pinned(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            if server._watcher is None and server.recheck_s > 0:
                server._watcher = asyncio.create_task(server.watch())
            if scope.get("method", "GET") not in READ_METHODS:
                await _plain(
                    send,
                    405,
                    "Méthode refusée : l'observatoire est servi en lecture seule (GET).\n",
                    [(b"allow", b"GET, HEAD, OPTIONS")],
                )
                return
            if INTROSPECTION.match(
                scope.get("path", "").removeprefix(server.base_path.rstrip("/"))
            ):
                await _plain(send, 404, "Page introuvable.\n")
                return
            if len(scope.get("query_string", b"")) > MAX_QUERY_STRING:
                await _plain(
                    send,
                    414,
                    f"Requête refusée : les paramètres dépassent {MAX_QUERY_STRING} octets. "
                    "Utilisez une requête nommée ou filtrez par territoire.\n",
                )
                return
            served = server.current
            assert served is not None
            served.inflight += 1
            token = PINNED.set(served)
            try:
                await app(scope, receive, send)
            finally:
                PINNED.reset(token)
                served.inflight -= 1
                server.reap()

        return pinned

    return wrap


CLIENT_ERRORS = (AssertionError, ValueError, KeyError, LookupError, sqlite3.Error)


@hookimpl
def handle_exception(datasette: Datasette, request: Any, exception: Exception) -> Any:
    """Errors as Datasette shows them (JSON or its error page), never a traceback, and with
    the status they deserve: Datasette raises plain exceptions or 500s for bad parameters
    (`_sort=unknown`, a missing binding), which are the client's, hence 400."""

    async def inner() -> Response:
        status, title, message = 500, "Erreur du serveur", str(exception)
        if isinstance(exception, Base400):
            status, title = exception.status, None
        elif isinstance(exception, DatasetteError):
            status, title = exception.status, exception.title
            message = Markup(exception.message) if exception.message_is_html else message
            if status >= 500:
                status, title = 400, title or "Requête invalide"
        elif isinstance(exception, CLIENT_ERRORS):
            status, title = 400, "Requête invalide"
        log(f"{status} {request.method} {request.path}: {type(exception).__name__}: {exception}")
        info = {"ok": False, "error": message, "status": status, "title": title}
        headers: dict[str, str] = {}
        if datasette.cors:
            add_cors_headers(headers)
        if request.path.endswith(".json"):
            return Response.json(info, status=status, headers=headers)
        template = datasette.jinja_env.select_template([f"{status}.html", "error.html"])
        page = await template.render_async(
            dict(
                info,
                urls=datasette.urls,
                app_css_hash=datasette.app_css_hash(),
                menu_links=lambda: [],
            )
        )
        return Response.html(page, status=status, headers=headers)

    return inner


def _authorizer(action: int, argument: str | None, *_: Any) -> int:
    """Deny what would tell where the file lives (`pragma_database_list`)."""
    if action == sqlite3.SQLITE_PRAGMA and argument in HIDDEN_PRAGMAS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


@hookimpl
def prepare_connection(conn: sqlite3.Connection, database: str) -> None:
    if database == DATABASE:
        conn.set_authorizer(_authorizer)


@hookimpl
def get_metadata(datasette: Datasette, key: str, database: str, table: str) -> dict[str, Any]:
    served = _served(datasette)
    return served.metadata if served is not None else {}


@hookimpl
def extra_template_vars(datasette: Datasette) -> dict[str, Any]:
    served = _served(datasette)
    return {"publication": served.publication if served is not None else None}


@hookimpl
def render_cell(
    row: Any, value: Any, column: str, table: str, database: str, datasette: Any
) -> Any:
    """A département's code links to its report, wherever a table shows one."""
    if database != DATABASE or table not in REPORT_TABLES or column != "code":
        return None
    try:
        niveau = row["niveau"]
    except (KeyError, IndexError):
        return None
    if niveau != "departement" or not isinstance(value, str) or not DEPARTEMENT.match(value):
        return None
    href = datasette.urls.path(f"/-/rapports/departement_{value}.html")
    return Markup(f'{escape(value)} <a href="{escape(href)}" title="Rapport HTML">(rapport)</a>')


async def _report_view(datasette: Datasette, request: Any) -> Response:
    server, served = _server(datasette), _served(datasette)
    if server is None or served is None:
        return Response.text("Aucune publication servie.\n", status=503)
    code = request.url_vars.get("code")
    if code is not None and code not in served.departements:
        return Response.text(f"Département inconnu : {code}.\n", status=404)
    if not (served.folder / "manifest.json").is_file():
        return Response.text(
            "Cette publication a été retirée du disque ; rechargez la page.\n", status=503
        )
    page = await asyncio.to_thread(server.report, served, code)
    return Response.html(page.read_text(encoding="utf-8"))


async def _document_view(datasette: Datasette, request: Any) -> Response:
    served = _served(datasette)
    path = served.folder / f"{request.url_vars['document']}.html" if served else None
    if path is None or not path.is_file():
        return Response.text("Document indisponible.\n", status=404)
    return Response.html(path.read_text(encoding="utf-8"))


async def _reports_slash(datasette: Datasette) -> Response:
    return Response.redirect(datasette.urls.path("/-/rapports/"))


@hookimpl
def register_routes() -> list[tuple[str, Any]]:
    return [
        (r"^/-/rapports$", _reports_slash),  # the pages' relative links need the slash
        (r"^/-/rapports/(?:index\.html)?$", _report_view),
        (r"^/-/rapports/departement_(?P<code>[0-9AB]{2,3})\.html$", _report_view),
        (r"^/-/publication/(?P<document>dictionnaire|methodologie)\.html$", _document_view),
    ]


# --- assembly ----------------------------------------------------------------------------------


def make_datasette(
    server: ReleaseServer,
    sql_time_limit_ms: int = 1000,
    cors: bool = False,
) -> ReleaseDatasette:
    """The Datasette instance of `server` (which it then owns), with this module's hooks."""
    if not pm.has_plugin(PLUGIN_NAME):
        pm.register(sys.modules[__name__], name=PLUGIN_NAME)
    # this module's handle_exception replaces Datasette's, which would also print every
    # error's traceback with its local variables (request headers included) to the log
    if pm.has_plugin(DEFAULT_EXCEPTION_HANDLER):
        pm.set_blocked(DEFAULT_EXCEPTION_HANDLER)
    ds = ReleaseDatasette(
        memory=False,
        template_dir=str(TEMPLATES),
        cors=cors,
        settings={
            "sql_time_limit_ms": sql_time_limit_ms,
            "allow_download": False,  # researchers take the Parquet release, not this cache
            "suggest_facets": False,  # costly on 1.5 M rows, and noise
            "max_returned_rows": 1000,
            "default_cache_ttl": 5,
            "base_url": server.base_path,
        },
    )
    ds.remove_database("_memory")  # Datasette adds it when started without files
    ds.observatory_server = server  # type: ignore[attr-defined]
    server.ds = ds
    return ds


def serve(
    published_dir: Path,
    cache_dir: Path,
    reports_dir: Path,
    schemas_dir: Path,
    host: str = "127.0.0.1",
    port: int = 8001,
    sql_time_limit_ms: int = 1000,
    recheck_s: float = 10.0,
    cors: bool = False,
) -> int:
    """Prepare the latest release, then serve it (and the next ones) until interrupted."""
    import uvicorn

    server = ReleaseServer(published_dir, cache_dir, reports_dir, schemas_dir, recheck_s)
    latest = server.latest()
    if latest is None:
        log(f"aucune publication dans {published_dir} : lancez d'abord `observatory run`")
        return 2
    server.clean_cache()
    sqlite = server.prepare(latest)
    make_datasette(server, sql_time_limit_ms=sql_time_limit_ms, cors=cors)
    server.switch(server.load(latest, sqlite))
    log(f"publication {latest.name} sur http://{host}:{port}/ (Ctrl-C pour arrêter)")
    uvicorn.run(server.ds.app(), host=host, port=port, log_level="warning")  # type: ignore[union-attr]
    return 0
