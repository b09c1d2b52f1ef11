"""SQL publication: a release's tables written to `OBSERVATORY_DATABASE_URL` in one transaction.

Applications that read the observatory from a database see stable names: one view per
published table (`territoires`, `indicateurs`…) pointing to the latest release. Each release
gets its own tables (PostgreSQL: a schema `<schema>_r<release id>`; SQLite: tables prefixed
`r<release id>__`), created, loaded, checked against the manifest's row counts and indexed;
then the views are swapped and the release is recorded in the registry table `releases`, all
in the same transaction. A failure anywhere rolls everything back: readers keep the previous
release. Publishing a release already in the registry is a no-op.

DDL comes from the Frictionless Table Schemas through SQLAlchemy. Every identifier is checked
against a strict pattern and comes from the code (Table Schemas, dictionary, release id
pattern), never from a data file. Loading avoids pandas and row-by-row ORM inserts
(`../shared/STACK.md`): PostgreSQL via psycopg 3 `COPY … FROM STDIN (FORMAT csv)` fed with
polars' CSV writer on the connection of the SQLAlchemy transaction; SQLite files via ADBC
(Arrow) into a scratch file written before the transaction, attached, then copied with
`INSERT … SELECT` inside it (an in-memory SQLite database falls back to `executemany`).

The Parquet release is the contract; this copy follows it. A publication interrupted (killed,
disk full) leaves the database on its previous release (the transaction is rolled back, by
SQLite itself on the next open after a kill) and possibly a scratch file, named with its
writer's pid: the next publication removes the scratch files of dead writers
(`nettoie_brouillons`) before anything else, and brings the copy up to the latest release.
"""

from __future__ import annotations

import io
import json
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import polars.selectors as cs
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from observatory.locking import processus_vivant
from observatory.publish.release import current_release as latest_release
from observatory.publish.release import verify_release
from observatory.publish.schemas import check_schema, field_names, load_table_schema
from observatory.settings import SCHEMAS_DIR

DATABASE_URL_ENV = "OBSERVATORY_DATABASE_URL"
DEFAULT_SQLITE_FILE = "observatory.sqlite"  # under <data_dir>/published/
DEFAULT_SCHEMA = "observatoire"  # PostgreSQL schema of the views and the registry
REGISTRY = "releases"
# Lower-case ASCII, at most 63 characters (PostgreSQL's limit): never needs quoting.
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# Same pattern as observatory.publish.release.RELEASE_ID, repeated: the id is checked here
# before any name is derived from it.
RELEASE_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{10}$")
# Columns indexed on their own when a table has them (joins and per-territory filters).
INDEXED_COLUMNS = ("code_commune", "code_insee", "code_epci", "code_departement")
WRITER_OPTION = "observatory_writer"  # SQLite: begin with BEGIN IMMEDIATE
BATCH_ROWS = 100_000  # rows per COPY chunk / executemany batch: bounds memory
SCRATCH = "chargement"  # SQLite: schema name of the attached scratch file of a publication
SQL_TYPES: dict[str, type[sa.types.TypeEngine[Any]]] = {
    "string": sa.Text,
    "integer": sa.BigInteger,
    "number": sa.Double,
    "boolean": sa.Boolean,
    "date": sa.Date,
}


class DatabasePublicationError(RuntimeError):
    """The release could not be published to the database; the transaction was rolled back."""


@dataclass(frozen=True)
class SqlPublication:
    """The outcome of `publish_release`: rows and load time per table; `nouvelle` is False
    when the release was already in the database (nothing written)."""

    release_id: str
    nouvelle: bool
    lignes: dict[str, int] = field(default_factory=dict)
    secondes: dict[str, float] = field(default_factory=dict)
    supprimees: tuple[str, ...] = ()


def identifier(name: str) -> str:
    """`name` if it is a safe SQL identifier, else an error naming it."""
    if not isinstance(name, str) or not IDENTIFIER.match(name):
        raise DatabasePublicationError(
            f"refused SQL identifier {name!r}: expected {IDENTIFIER.pattern}"
        )
    return name


def release_prefix(release_id: str) -> str:
    """`20261123T222227Z-2905a56bb0` → `r20261123t222227z_2905a56bb0` (checked both ways)."""
    if not isinstance(release_id, str) or not RELEASE_ID.match(release_id):
        raise DatabasePublicationError(f"refused release id {release_id!r}")
    return identifier("r" + release_id.lower().replace("-", "_"))


def database_url(data_dir: Path, environ: Mapping[str, str] | None = None) -> str:
    """`OBSERVATORY_DATABASE_URL`, else a SQLite file under `<data_dir>/published/`."""
    environ = os.environ if environ is None else environ
    if url := environ.get(DATABASE_URL_ENV):
        return url
    return f"sqlite:///{(data_dir / 'published' / DEFAULT_SQLITE_FILE).resolve()}"


def make_engine(url: str | sa.URL) -> Engine:
    """An engine whose transactions cover DDL too.

    PostgreSQL always goes through psycopg 3 (its `COPY` is used for loading). Python's
    sqlite3 does not open a transaction before `CREATE TABLE`, so for SQLite the transaction
    is begun explicitly, as SQLAlchemy documents; a publication begins with `BEGIN IMMEDIATE`
    (execution option `WRITER_OPTION`): it takes the write lock first, so two publishers queue
    instead of failing on a lock upgrade, while readers keep plain deferred transactions.
    """
    if isinstance(url, str) and url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    parsed = sa.make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return sa.create_engine(parsed.set(drivername="postgresql+psycopg"))
    if backend != "sqlite":
        raise DatabasePublicationError(
            f"{DATABASE_URL_ENV}: only sqlite:// and postgresql:// are supported, got {backend}"
        )
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(parsed)

    @sa.event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        writer = connection.get_execution_options().get(WRITER_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")

    return engine


@dataclass(frozen=True)
class Naming:
    """Where each object lives, per dialect; every name it returns is a checked identifier."""

    postgresql: bool
    schema: str | None  # PostgreSQL schema of the views and registry; None for SQLite

    @classmethod
    def of(cls, engine: Engine, schema: str | None) -> Naming:
        if engine.dialect.name == "postgresql":
            return cls(True, identifier(schema or DEFAULT_SCHEMA))
        if schema is not None:
            raise DatabasePublicationError("SQLite has no schemas: leave `schema` unset")
        return cls(False, None)

    def release_schema(self, release_id: str) -> str | None:
        if not self.postgresql:
            return None
        return identifier(f"{self.schema}_{release_prefix(release_id)}")

    def table(self, release_id: str, table: str) -> str:
        if self.postgresql:
            return identifier(table)
        return identifier(f"{release_prefix(release_id)}__{identifier(table)}")

    def index(self, release_id: str, table: str, columns: tuple[str, ...]) -> str:
        name = f"ix_{table}_{'_'.join(columns)}"
        return identifier(name if self.postgresql else f"{release_prefix(release_id)}__{name}")


def build_table(
    table_schema: Mapping[str, Any],
    metadata: sa.MetaData,
    name: str,
    schema: str | None = None,
    index_name: Any = None,
) -> sa.Table:
    """SQLAlchemy table from a Frictionless Table Schema: types, NOT NULL for required fields,
    primary key, titles as comments, and indexes on (niveau, code) and territory codes.

    `index_name(columns)` names each index (default `ix_<name>_<columns>`).
    """
    index_name = index_name or (lambda columns: identifier(f"ix_{name}_{'_'.join(columns)}"))
    columns = []
    for spec in table_schema["fields"]:
        kind = SQL_TYPES.get(spec["type"])
        if kind is None:
            raise DatabasePublicationError(
                f"{table_schema['name']}.{spec['name']}: no SQL type for {spec['type']!r}"
            )
        columns.append(
            sa.Column(
                identifier(spec["name"]),
                kind(),
                nullable=not spec.get("constraints", {}).get("required", False),
                comment=spec.get("title"),
            )
        )
    key = tuple(identifier(c) for c in table_schema.get("primaryKey", ()))
    names = {c.name for c in columns}
    indexes: list[tuple[str, ...]] = []
    if {"niveau", "code"} <= names and key[:2] != ("niveau", "code"):
        indexes.append(("niveau", "code"))
    indexes += [(c,) for c in INDEXED_COLUMNS if c in names and key[:1] != (c,)]
    return sa.Table(
        identifier(name),
        metadata,
        *columns,
        *(
            [sa.PrimaryKeyConstraint(*key, name=identifier(f"pk_{table_schema['name']}"))]
            if key
            else []
        ),
        *(sa.Index(index_name(cols), *cols) for cols in indexes),
        schema=schema,
        comment=table_schema.get("title"),
        # SQLite: a table with a key is stored in its key's B-tree, not beside it in a rowid
        # B-tree: one copy of the key columns instead of two (PostgreSQL ignores this)
        sqlite_with_rowid=not key,
    )


def _registry(metadata: sa.MetaData, schema: str | None) -> sa.Table:
    return sa.Table(
        REGISTRY,
        metadata,
        sa.Column("numero", sa.BigInteger, nullable=False),
        sa.Column("release_id", sa.Text, primary_key=True),
        sa.Column("created_at", sa.Text),
        sa.Column("publie_le", sa.Text, nullable=False),
        sa.Column("empreinte", sa.Text),
        sa.Column("lignes", sa.Text, nullable=False),  # JSON: table → rows
        schema=schema,
        comment="Releases de l'observatoire publiées dans cette base (la dernière est courante)",
    )


def _read(release: Path, entries: list[dict[str, Any]]) -> pl.DataFrame:
    """A table's files (paths checked to stay inside the release), partition column kept."""
    root = release.resolve()
    paths = []
    for entry in entries:
        path = (root / entry["path"]).resolve()
        if not path.is_relative_to(root):
            raise DatabasePublicationError(f"{entry['path']}: outside the release")
        paths.append(path)
    return pl.read_parquet(paths, hive_partitioning=False) if paths else pl.DataFrame()


def _copy_postgresql(connection: Connection, table: sa.Table, frame: pl.DataFrame) -> None:
    """`COPY … FROM STDIN (FORMAT csv)` on the transaction's psycopg connection.

    polars writes nulls as unquoted empty fields and empty strings as `""`, which is exactly
    how PostgreSQL's CSV format tells them apart; floats are written round-trip exact.
    """
    from psycopg import sql as psql

    target = psql.SQL("COPY {}.{} ({}) FROM STDIN (FORMAT csv)").format(
        psql.Identifier(table.schema),
        psql.Identifier(table.name),
        psql.SQL(", ").join(psql.Identifier(c) for c in frame.columns),
    )
    driver = connection.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(target) as copy:
        for part in frame.iter_slices(BATCH_ROWS):
            buffer = io.BytesIO()
            part.write_csv(buffer, include_header=False)
            copy.write(buffer.getvalue())


def _insert_sqlite(connection: Connection, table: sa.Table, frame: pl.DataFrame) -> None:
    """`executemany` of column batches on the transaction's sqlite3 connection."""
    frame = frame.with_columns(cs.date().dt.to_string("%Y-%m-%d"))  # SQLAlchemy's Date storage
    preparer = connection.dialect.identifier_preparer
    statement = "INSERT INTO {} ({}) VALUES ({})".format(
        preparer.quote_identifier(table.name),
        ", ".join(preparer.quote_identifier(c) for c in frame.columns),
        ", ".join("?" * frame.width),
    )
    cursor = connection.connection.driver_connection.cursor()
    try:
        for part in frame.iter_slices(BATCH_ROWS):
            cursor.executemany(
                statement, zip(*(s.to_list() for s in part.iter_columns()), strict=True)
            )
    finally:
        cursor.close()


@dataclass(frozen=True)
class Staged:
    """A table already checked and written to the attached SQLite scratch file."""

    name: str
    columns: tuple[str, ...]


def _load(connection: Connection, table: sa.Table, frame: pl.DataFrame | Staged) -> None:
    """Bulk-load `frame` into the (empty) `table`, inside the current transaction."""
    if isinstance(frame, Staged):
        columns = ", ".join(identifier(c) for c in frame.columns)
        connection.exec_driver_sql(
            f"INSERT INTO {identifier(table.name)} ({columns}) "
            f"SELECT {columns} FROM {SCRATCH}.{_scratch_table(frame.name)}"
        )
        return
    if frame.height == 0:
        return
    if connection.dialect.name == "postgresql":
        _copy_postgresql(connection, table, frame)
    else:
        _insert_sqlite(connection, table, frame)


def _create_and_load(connection: Connection, table: sa.Table, frame: pl.DataFrame | Staged) -> None:
    """Create `table`, load it, then build its indexes.

    Indexes are built on the loaded table (measured on `couverture_sources`, 455 k rows:
    PostgreSQL 3.1 s instead of 5.2 s with the key and indexes in place while loading; SQLite
    3.0 s instead of 4.1 s). In PostgreSQL the primary key is added after the load too; SQLite
    cannot add one to an existing table, so there it is declared with the table.
    """
    if connection.dialect.name == "postgresql":
        bare = sa.Table(
            table.name,
            sa.MetaData(),
            *(
                sa.Column(c.name, c.type, nullable=c.nullable, comment=c.comment)
                for c in table.columns
            ),
            schema=table.schema,
            comment=table.comment,
        )
        bare.create(connection)  # with the French titles as comments
        _load(connection, table, frame)
        if table.primary_key.columns:
            connection.execute(sa.schema.AddConstraint(table.primary_key))
    else:
        connection.execute(sa.schema.CreateTable(table))
        _load(connection, table, frame)
    for index in sorted(table.indexes, key=lambda ix: str(ix.name)):
        index.create(connection)


def _sqlite_file(engine: Engine) -> Path | None:
    """The SQLite database file of `engine`, None for PostgreSQL or an in-memory database."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    return Path(database).resolve() if database and database != ":memory:" else None


def _table_frame(
    release: Path, manifest: Mapping[str, Any], table_schema: dict[str, Any]
) -> pl.DataFrame:
    """A table's rows from the release, checked against its Table Schema, columns in order."""
    name = table_schema["name"]
    frame = _read(release, manifest["tables"][name]["files"])
    if errors := check_schema(frame, table_schema):
        raise DatabasePublicationError("; ".join(errors))
    return frame.select(field_names(table_schema))


def _scratch_table(name: str) -> str:
    """Scratch tables never share a name with a view: SQLite resolves unqualified names in
    every attached database, so `DROP VIEW IF EXISTS indicateurs` would find them."""
    return identifier(f"{SCRATCH}__{name}")


def _brouillon(database: Path, release_id: str) -> Path:
    """The scratch file of a publication by this process, beside the database file."""
    return database.with_name(f".{database.name}.{SCRATCH}-{release_id}-{os.getpid()}")


def nettoie_brouillons(database: Path) -> list[Path]:
    """Remove the scratch files (and their journals) left by publications whose process
    died; a running publisher's are kept. Returns the files removed."""
    pattern = re.compile(
        rf"^\.{re.escape(database.name)}\.{SCRATCH}-\d{{8}}T\d{{6}}Z-[0-9a-f]{{10}}"
        r"(?:-(\d+))?(?:-journal|-wal|-shm)?$"
    )
    removed = []
    for path in database.parent.glob(f".{database.name}.{SCRATCH}-*"):
        match = pattern.match(path.name)
        if match is None or (match.group(1) and processus_vivant(int(match.group(1)))):
            continue
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def _stage_sqlite(
    scratch: Path, release: Path, manifest: Mapping[str, Any], schemas: Mapping[str, Any]
) -> dict[str, float]:
    """Write every table with ADBC (Arrow, no Python rows) into a scratch SQLite file.

    Done before the publication's transaction: SQLite cannot attach a file inside one. Measured
    on `indicateurs` (1.86 M rows): 1.6 s here + 1.3 s `INSERT … SELECT` in the transaction,
    against 8.7 s of `executemany`.
    """
    import adbc_driver_sqlite.dbapi as adbc

    secondes: dict[str, float] = {}
    scratch.unlink(missing_ok=True)
    with adbc.connect(str(scratch)) as connection:
        for name, table_schema in schemas.items():
            started = time.perf_counter()
            frame = _table_frame(release, manifest, table_schema)
            frame = frame.with_columns(cs.date().dt.to_string("%Y-%m-%d"))  # SQLAlchemy's Date
            with connection.cursor() as cursor:
                cursor.adbc_ingest(_scratch_table(name), frame.to_arrow(), mode="create")
            secondes[name] = time.perf_counter() - started
        connection.commit()
    return secondes


def _quoted(connection: Connection, schema: str | None, name: str) -> str:
    quote = connection.dialect.identifier_preparer.quote_identifier
    return f"{quote(schema)}.{quote(name)}" if schema else quote(name)


def _count(connection: Connection, schema: str | None, name: str) -> int:
    statement = f"SELECT count(*) FROM {_quoted(connection, schema, name)}"
    return connection.exec_driver_sql(statement).scalar_one()


def published_releases(engine: Engine, schema: str | None = None) -> list[str]:
    """Release ids in the database, in publication order (the last one is current)."""
    naming = Naming.of(engine, schema)
    registry = _registry(sa.MetaData(), naming.schema)
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table(REGISTRY, schema=naming.schema):
            return []
        rows = connection.execute(sa.select(registry.c.release_id).order_by(registry.c.numero))
        return [row.release_id for row in rows]


def current_release(engine: Engine, schema: str | None = None) -> str | None:
    """The release the views point to, if any."""
    releases = published_releases(engine, schema)
    return releases[-1] if releases else None


def _drop_release(connection: Connection, naming: Naming, release_id: str) -> None:
    """Drop a former release's tables (never referenced by the views any more)."""
    quote = connection.dialect.identifier_preparer.quote_identifier
    if naming.postgresql:
        connection.exec_driver_sql(
            f"DROP SCHEMA IF EXISTS {quote(naming.release_schema(release_id))} CASCADE"
        )
        return
    prefix = release_prefix(release_id) + "__"
    names = connection.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, ?) = ?",
        (len(prefix), prefix),
    ).scalars()
    for name in list(names):
        connection.exec_driver_sql(f"DROP TABLE {quote(identifier(name))}")


def publish_release(
    release: Path,
    engine: Engine | str,
    schemas_dir: Path = SCHEMAS_DIR,
    schema: str | None = None,
    keep: int | None = None,
) -> SqlPublication:
    """Write `release` (a release folder) to the database and point the views to it.

    One transaction: tables created and loaded, row counts checked against the manifest,
    indexes built, views swapped, registry updated, releases beyond the `keep` latest dropped.
    `schema` (PostgreSQL only) is where the views and the registry live (default
    `observatoire`).
    """
    if keep is not None and keep < 1:
        raise ValueError(f"keep must be at least 1, got {keep}")
    owned = isinstance(engine, str)
    engine = make_engine(engine) if isinstance(engine, str) else engine
    try:
        return _publish(Path(release), engine, schemas_dir, Naming.of(engine, schema), keep)
    finally:
        if owned:
            engine.dispose()


def catch_up(
    published_dir: Path,
    engine: Engine | str,
    schemas_dir: Path = SCHEMAS_DIR,
    schema: str | None = None,
    keep: int | None = None,
) -> SqlPublication:
    """Bring the SQL copy up to the Parquet release `latest` points to (a no-op if there).

    The Parquet release is the contract: this runs after it, and a failure here says that
    `latest` is published and only its SQL copy is behind (French, for the CLI).
    """
    release = latest_release(published_dir)
    if release is None:
        raise DatabasePublicationError(
            f"copie SQL : aucune release Parquet publiée ({published_dir / 'latest'} absent)"
        )
    try:
        return publish_release(release, engine, schemas_dir, schema, keep)
    except Exception as error:
        raise DatabasePublicationError(
            f"copie SQL en échec : la release Parquet {release.name} est publiée (`latest`), "
            f"sa copie SQL n'est pas faite ({type(error).__name__}: {error}) ; la base garde "
            "sa release précédente, le prochain `observatory run` ou `observatory publish-sql` "
            "la rattrapera"
        ) from error


def _publish_table(
    connection: Connection,
    table: sa.Table,
    release: Path,
    manifest: Mapping[str, Any],
    table_schema: dict[str, Any],
    staged: bool = False,
) -> int:
    """Read, check, create, load and count one table; the count must be the manifest's.

    With `staged` (SQLite file), the rows were checked and written to the attached scratch
    file: they are copied from there.
    """
    name = table_schema["name"]
    rows_source: pl.DataFrame | Staged = (
        Staged(name, tuple(field_names(table_schema)))
        if staged
        else _table_frame(release, manifest, table_schema)
    )
    _create_and_load(connection, table, rows_source)
    rows = _count(connection, table.schema, table.name)
    if rows != manifest["tables"][name]["rows"]:
        raise DatabasePublicationError(
            f"{name}: {rows} rows loaded, manifest says {manifest['tables'][name]['rows']}"
        )
    return rows


def _publish(
    release: Path, engine: Engine, schemas_dir: Path, naming: Naming, keep: int | None
) -> SqlPublication:
    manifest = verify_release(release)
    release_id = manifest["release_id"]
    release_prefix(release_id)
    if release.resolve().name != release_id:
        raise DatabasePublicationError(f"{release}: folder name differs from {release_id}")
    # The table names come from schemas/tables/, not from the manifest.
    known = sorted(p.stem for p in (schemas_dir / "tables").glob("*.json"))
    if unknown := sorted(set(manifest["tables"]) - set(known)):
        raise DatabasePublicationError(f"tables without a Table Schema: {unknown}")
    names = [identifier(name) for name in known if name in manifest["tables"]]
    metadata = sa.MetaData()
    release_schema = naming.release_schema(release_id)
    tables = {
        name: build_table(
            load_table_schema(schemas_dir, name),
            metadata,
            naming.table(release_id, name),
            release_schema,
            index_name=lambda cols, name=name: naming.index(release_id, name, cols),
        )
        for name in names
    }
    registry = _registry(metadata, naming.schema)
    database = _sqlite_file(engine)
    if database is None:
        with engine.connect() as connection:
            return _publish_in_transaction(
                connection, release, manifest, tables, registry, naming, schemas_dir, keep
            )
    nettoie_brouillons(database)
    if release_id in published_releases(engine, naming.schema):
        return SqlPublication(release_id, nouvelle=False)
    scratch = _brouillon(database, release_id)
    try:
        schemas = {name: load_table_schema(schemas_dir, name) for name in tables}
        staging = _stage_sqlite(scratch, release, manifest, schemas)
        with engine.connect() as connection:
            driver = connection.connection.driver_connection
            driver.execute(f"ATTACH DATABASE ? AS {SCRATCH}", (str(scratch),))
            try:
                publication = _publish_in_transaction(
                    connection,
                    release,
                    manifest,
                    tables,
                    registry,
                    naming,
                    schemas_dir,
                    keep,
                    staged=True,
                )
                # the load time of a table includes its staging, done before the transaction
                return replace(
                    publication,
                    secondes={
                        t: round(v + staging.get(t, 0.0), 3)
                        for t, v in publication.secondes.items()
                    },
                )
            finally:
                driver.execute(f"DETACH DATABASE {SCRATCH}")
    finally:
        for path in (scratch, scratch.with_name(scratch.name + "-journal")):
            path.unlink(missing_ok=True)


def _publish_in_transaction(
    connection: Connection,
    release: Path,
    manifest: Mapping[str, Any],
    tables: Mapping[str, sa.Table],
    registry: sa.Table,
    naming: Naming,
    schemas_dir: Path,
    keep: int | None,
    staged: bool = False,
) -> SqlPublication:
    """Everything a publication writes, in one transaction on `connection`."""
    release_id = manifest["release_id"]
    release_schema = naming.release_schema(release_id)
    lignes: dict[str, int] = {}
    secondes: dict[str, float] = {}
    with connection.execution_options(**{WRITER_OPTION: True}).begin():
        quote = connection.dialect.identifier_preparer.quote_identifier
        if naming.postgresql:
            # one publisher at a time per schema; released at commit or rollback
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                {"key": f"observatory:{naming.schema}"},
            )
            connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {quote(naming.schema)}")
        registry.create(connection, checkfirst=True)
        present = connection.execute(
            sa.select(registry.c.release_id, registry.c.numero, registry.c.lignes).order_by(
                registry.c.numero
            )
        ).all()
        if any(row.release_id == release_id for row in present):
            return SqlPublication(release_id, nouvelle=False)
        # leftovers of this release without a registry row (registry dropped by hand)
        _drop_release(connection, naming, release_id)
        if release_schema is not None:
            connection.exec_driver_sql(f"CREATE SCHEMA {quote(release_schema)}")
        for name, table in tables.items():
            started = time.perf_counter()
            try:
                lignes[name] = _publish_table(
                    connection,
                    table,
                    release,
                    manifest,
                    load_table_schema(schemas_dir, name),
                    staged=staged,
                )
            except DatabasePublicationError:
                raise
            except Exception as error:  # driver errors (duplicate key…) named with their table
                raise DatabasePublicationError(f"{name}: {error}") from error
            secondes[name] = round(time.perf_counter() - started, 3)
        previous_tables = set(json.loads(present[-1].lignes)) if present else set()
        for name in sorted(previous_tables | set(tables)):
            view = _quoted(connection, naming.schema, identifier(name))
            connection.exec_driver_sql(f"DROP VIEW IF EXISTS {view}")
            if name in tables:
                source = _quoted(connection, tables[name].schema, tables[name].name)
                connection.exec_driver_sql(f"CREATE VIEW {view} AS SELECT * FROM {source}")
        connection.execute(
            registry.insert().values(
                numero=(present[-1].numero + 1) if present else 1,
                release_id=release_id,
                created_at=manifest.get("created_at"),
                publie_le=datetime.now(UTC).isoformat(timespec="seconds"),
                empreinte=manifest.get("empreinte"),
                lignes=json.dumps(lignes),
            )
        )
        pruned: tuple[str, ...] = ()
        if keep is not None:
            ordered = [row.release_id for row in present] + [release_id]
            pruned = tuple(ordered[: max(len(ordered) - keep, 0)])
            for old in pruned:
                _drop_release(connection, naming, old)
            if pruned:
                connection.execute(registry.delete().where(registry.c.release_id.in_(pruned)))
    return SqlPublication(release_id, True, lignes, secondes, pruned)
