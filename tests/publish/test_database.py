"""SQL publication against a SQLite file and the real local PostgreSQL (database `test`).

Each PostgreSQL test works in its own random schema (`test_pub_<hex>`, plus the release
schemas `test_pub_<hex>_r…`) and drops them afterwards: other tests may run concurrently.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

from observatory.publish import database
from observatory.publish.cible_postgresql import supprime_schema_postgresql
from observatory.publish.database import (
    DatabasePublicationError,
    Naming,
    build_table,
    current_release,
    database_url,
    identifier,
    make_engine,
    publish_release,
    published_releases,
    release_prefix,
)
from observatory.publish.schemas import load_table_schema
from observatory.sources.raw import sha256_file
from tests.conftest import report
from tests.test_readme import example

POSTGRES_URL = os.environ.get(
    "OBSERVATORY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
RELEASE_A = "20260101T000000Z-aaaaaaaaaa"
RELEASE_B = "20260201T000000Z-bbbbbbbbbb"
RELEASE_C = "20260301T000000Z-cccccccccc"

# Small Table Schemas (same format as schemas/tables/) so the tests control every column.
TERRITOIRES_SCHEMA = {
    "name": "territoires",
    "title": "Territoires",
    "primaryKey": ["niveau", "code"],
    "fields": [
        {"name": "niveau", "type": "string", "title": "Niveau", "constraints": {"required": True}},
        {"name": "code", "type": "string", "title": "Code", "constraints": {"required": True}},
        {"name": "nom", "type": "string", "title": "Nom"},
        {"name": "population", "type": "integer", "title": "Population"},
        {"name": "code_departement", "type": "string", "title": "Code du département"},
        {"name": "part", "type": "number", "title": "Part"},
        {"name": "actif", "type": "boolean", "title": "Actif"},
        {"name": "date_maj", "type": "date", "title": "Date de mise à jour"},
    ],
}
INDICATEURS_SCHEMA = {
    "name": "indicateurs",
    "title": "Indicateurs",
    "primaryKey": ["niveau", "code", "indicateur"],
    "fields": [
        {"name": "niveau", "type": "string", "constraints": {"required": True}},
        {"name": "code", "type": "string", "constraints": {"required": True}},
        {"name": "indicateur", "type": "string", "constraints": {"required": True}},
        {"name": "valeur", "type": "number"},
    ],
}


def territoires(release: str, rows: int = 4) -> pl.DataFrame:
    """Rows whose values say which release they come from; awkward values on purpose."""
    frame = pl.DataFrame(
        {
            "niveau": ["commune", "commune", "departement", "region"],
            "code": ["01001", "2A004", "2A", "94"],
            "nom": [f"{release}", "", None, 'Corse; "île" \nde beauté Œ'],
            "population": [776, 76320, None, 2**40],
            "code_departement": ["01", "2A", None, None],
            "part": [1 / 3, 0.1, None, 1e-7],
            "actif": [True, False, None, True],
            "date_maj": [date(2025, 2, 6), None, date(1999, 12, 31), date(2026, 1, 1)],
        },
        schema_overrides={"population": pl.Int64, "date_maj": pl.Date},
    )
    return frame.head(rows)


def indicateurs(release: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "niveau": ["commune", "commune", "departement"],
            "code": ["01001", "2A004", "2A"],
            "indicateur": ["nb_lieux", "nb_lieux", "nb_lieux"],
            "valeur": [1.0, None, float(int(release[:8]))],
        }
    )


@pytest.fixture
def schemas_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "schemas"
    (folder / "tables").mkdir(parents=True)
    for schema in (TERRITOIRES_SCHEMA, INDICATEURS_SCHEMA):
        (folder / "tables" / f"{schema['name']}.json").write_text(json.dumps(schema))
    return folder


def make_release(
    root: Path,
    release_id: str,
    tables: dict[str, pl.DataFrame],
    release_field: Any = None,
    partitioned: bool = False,
) -> Path:
    """A release folder as `write_release` lays it out: Parquet files (one per table, or one
    per `niveau` under `<table>/niveau=<value>/`, the column kept inside) and a manifest."""
    folder = root / "releases" / release_id
    folder.mkdir(parents=True)
    entries = {}
    for name, frame in tables.items():
        parts = frame.partition_by("niveau", as_dict=True) if partitioned else {(): frame}
        files = []
        for key, part in parts.items():
            relative = f"{name}/niveau={key[0]}/part-0.parquet" if key else f"{name}.parquet"
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            part.write_parquet(folder / relative)
            files.append(
                {"path": relative, "rows": part.height, "sha256": sha256_file(folder / relative)}
            )
        entries[name] = {"files": files, "rows": frame.height, "columns": frame.columns}
    manifest = {
        "release_id": release_id if release_field is None else release_field,
        "created_at": "2026-01-01T00:00:00+00:00",
        "empreinte": f"empreinte-{release_id}",
        "tables": entries,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def release_of(root: Path, release_id: str) -> Path:
    return make_release(
        root,
        release_id,
        {"territoires": territoires(release_id), "indicateurs": indicateurs(release_id)},
    )


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)],
)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[sa.Engine, str]]:
    """(engine, schema): a fresh SQLite file, or a random schema of the local PostgreSQL."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'db' / 'observatory.sqlite'}")
        yield engine, None
        engine.dispose()
        return
    engine = make_engine(POSTGRES_URL)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as error:
        pytest.fail(
            f"PostgreSQL not reachable at {POSTGRES_URL} ({error.orig}); start it "
            "(see ../shared/STACK.md) or deselect with -m 'not integration'"
        )
    schema = f"test_pub_{uuid.uuid4().hex[:8]}"
    yield engine, schema
    supprime_schema_postgresql(engine, schema)


def view_rows(engine: sa.Engine, schema: str | None, table_schema: dict) -> list[tuple]:
    """The rows of a view, typed through the table's SQLAlchemy definition, sorted by code."""
    naming = Naming.of(engine, schema)
    view = build_table(table_schema, sa.MetaData(), table_schema["name"], naming.schema)
    with engine.connect() as connection:
        return [tuple(r) for r in connection.execute(sa.select(view).order_by(view.c.code))]


def release_tables(engine: sa.Engine, schema: str | None) -> set[str]:
    """Names of the release tables present (`<release schema>.<table>` or prefixed table)."""
    inspector = sa.inspect(engine)
    if engine.dialect.name == "sqlite":
        return {t for t in inspector.get_table_names() if t.startswith("r2026")}
    return {
        f"{s}.{t}"
        for s in inspector.get_schema_names()
        if s.startswith(f"{schema}_r")
        for t in inspector.get_table_names(schema=s)
    }


def test_publish_loads_every_row_exactly_with_keys_and_indexes(
    target: tuple[sa.Engine, str | None], tmp_path: Path, schemas_dir: Path
) -> None:
    engine, schema = target
    folder = release_of(tmp_path, RELEASE_A)
    outcome = publish_release(folder, engine, schemas_dir, schema=schema)

    assert outcome.nouvelle and outcome.release_id == RELEASE_A
    assert outcome.lignes == {"territoires": 4, "indicateurs": 3}
    expected = sorted(territoires(RELEASE_A).rows(), key=lambda row: row[1])
    assert view_rows(engine, schema, TERRITOIRES_SCHEMA) == expected  # '' ≠ NULL, exact floats
    naming = Naming.of(engine, schema)
    inspector = sa.inspect(engine)
    table = naming.table(RELEASE_A, "territoires")
    release_schema = naming.release_schema(RELEASE_A)
    key = inspector.get_pk_constraint(table, schema=release_schema)["constrained_columns"]
    assert key == ["niveau", "code"]
    indexed = {tuple(ix["column_names"]) for ix in inspector.get_indexes(table, release_schema)}
    assert ("code_departement",) in indexed
    columns = {c["name"]: c for c in inspector.get_columns(table, schema=release_schema)}
    assert not columns["code"]["nullable"] and columns["nom"]["nullable"]
    assert published_releases(engine, schema) == [RELEASE_A]


def test_sqlite_keyed_tables_store_their_rows_once_in_the_key_b_tree(
    tmp_path: Path, schemas_dir: Path
) -> None:
    """A table with a key is WITHOUT ROWID: no second B-tree (`sqlite_autoindex_…`) copying
    the key columns beside the rows: the national copy is about a quarter smaller."""
    engine = make_engine(f"sqlite:///{tmp_path / 'observatory.sqlite'}")
    publish_release(release_of(tmp_path, RELEASE_A), engine, schemas_dir)
    table = Naming.of(engine, None).table(RELEASE_A, "territoires")
    with engine.connect() as connection:
        sql = connection.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).scalar_one()
        indexes = connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", (table,)
        ).scalars()
        indexes = list(indexes)
        with pytest.raises(sa.exc.OperationalError, match="rowid"):
            connection.exec_driver_sql(f"SELECT rowid FROM {table}")
    engine.dispose()
    assert sql.rstrip().endswith("WITHOUT ROWID")
    assert indexes and not [name for name in indexes if name.startswith("sqlite_autoindex")]
    assert view_rows(engine, None, TERRITOIRES_SCHEMA) == sorted(
        territoires(RELEASE_A).rows(), key=lambda row: row[1]
    )


def test_partitioned_tables_are_read_through_the_manifest(
    target: tuple[sa.Engine, str | None], tmp_path: Path, schemas_dir: Path
) -> None:
    engine, schema = target
    tables = {"territoires": territoires(RELEASE_A), "indicateurs": indicateurs(RELEASE_A)}
    folder = make_release(tmp_path, RELEASE_A, tables, partitioned=True)
    assert (folder / "territoires" / "niveau=commune" / "part-0.parquet").is_file()

    outcome = publish_release(folder, engine, schemas_dir, schema=schema)

    assert outcome.lignes == {"territoires": 4, "indicateurs": 3}
    expected = sorted(territoires(RELEASE_A).rows(), key=lambda row: row[1])
    assert view_rows(engine, schema, TERRITOIRES_SCHEMA) == expected


def test_views_switch_and_retention_drops_the_oldest(
    target: tuple[sa.Engine, str | None], tmp_path: Path, schemas_dir: Path
) -> None:
    engine, schema = target
    publish_release(release_of(tmp_path, RELEASE_A), engine, schemas_dir, schema=schema)
    publish_release(release_of(tmp_path, RELEASE_B), engine, schemas_dir, schema=schema)
    assert view_rows(engine, schema, TERRITOIRES_SCHEMA)[0][2] == RELEASE_B
    assert published_releases(engine, schema) == [RELEASE_A, RELEASE_B]
    assert len(release_tables(engine, schema)) == 4

    outcome = publish_release(
        release_of(tmp_path, RELEASE_C), engine, schemas_dir, schema=schema, keep=1
    )
    assert outcome.supprimees == (RELEASE_A, RELEASE_B)
    assert published_releases(engine, schema) == [RELEASE_C]
    assert view_rows(engine, schema, TERRITOIRES_SCHEMA)[0][2] == RELEASE_C
    assert all(release_prefix(RELEASE_C) in name for name in release_tables(engine, schema))
    assert len(release_tables(engine, schema)) == 2


def test_publishing_a_release_already_there_is_a_no_op(
    target: tuple[sa.Engine, str | None], tmp_path: Path, schemas_dir: Path
) -> None:
    engine, schema = target
    first = release_of(tmp_path, RELEASE_A)
    publish_release(first, engine, schemas_dir, schema=schema)
    publish_release(release_of(tmp_path, RELEASE_B), engine, schemas_dir, schema=schema)

    again = publish_release(first, engine, schemas_dir, schema=schema)

    assert not again.nouvelle and again.lignes == {}
    assert current_release(engine, schema) == RELEASE_B  # the views did not move back
    assert view_rows(engine, schema, TERRITOIRES_SCHEMA)[0][2] == RELEASE_B
    assert published_releases(engine, schema) == [RELEASE_A, RELEASE_B]


def _fail_on_second_table(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    original = database._load

    def load(connection: sa.Connection, table: sa.Table, frame) -> None:
        calls.append(table.name)
        original(connection, table, frame)
        if len(calls) == 2:
            raise OSError("disk full (injected)")  # the second table written, then the failure

    monkeypatch.setattr(database, "_load", load)


def _wrong_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database, "_count", lambda *args: 0)


@pytest.mark.parametrize(
    ("failure", "tables", "error"),
    [
        ("injected_after_first_table", None, "injected"),
        ("row_count_differs_from_manifest", None, "manifest says"),
        (
            "duplicate_primary_key",
            {
                "territoires": pl.concat([territoires(RELEASE_B), territoires(RELEASE_B, 1)]),
                "indicateurs": indicateurs(RELEASE_B),
            },
            "territoires",
        ),
        (
            "column_missing",
            {
                "territoires": territoires(RELEASE_B).drop("part"),
                "indicateurs": indicateurs(RELEASE_B),
            },
            "columns differ",
        ),
    ],
)
def test_a_failure_rolls_everything_back(
    target: tuple[sa.Engine, str | None],
    tmp_path: Path,
    schemas_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    failure: str,
    tables: dict[str, pl.DataFrame] | None,
    error: str,
) -> None:
    engine, schema = target
    publish_release(release_of(tmp_path, RELEASE_A), engine, schemas_dir, schema=schema)
    before = view_rows(engine, schema, TERRITOIRES_SCHEMA)
    if failure == "injected_after_first_table":
        _fail_on_second_table(monkeypatch)
    elif failure == "row_count_differs_from_manifest":
        _wrong_count(monkeypatch)
    folder = (
        make_release(tmp_path, RELEASE_B, tables) if tables else release_of(tmp_path, RELEASE_B)
    )

    with pytest.raises(DatabasePublicationError, match=error):
        publish_release(folder, engine, schemas_dir, schema=schema)

    assert published_releases(engine, schema) == [RELEASE_A]
    assert view_rows(engine, schema, TERRITOIRES_SCHEMA) == before
    assert all(release_prefix(RELEASE_A) in name for name in release_tables(engine, schema))
    if tables is None:  # a transient failure: the next attempt publishes the release
        monkeypatch.undo()
        assert publish_release(folder, engine, schemas_dir, schema=schema).nouvelle
        assert current_release(engine, schema) == RELEASE_B


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("territoires", True),
        ("code_epci", True),
        ("r20261123t222227z_2905a56bb0", True),
        ("a" * 63, True),
        ("a" * 64, False),
        ("Territoires", False),
        ("1territoires", False),
        ("_cache", False),
        ("code-epci", False),
        ('x"; DROP TABLE territoires; --', False),
        ("nom epci", False),
        ("é", False),
        ("", False),
    ],
)
def test_identifiers_are_checked(name: str, ok: bool) -> None:
    if ok:
        assert identifier(name) == name
    else:
        with pytest.raises(DatabasePublicationError, match="refused"):
            identifier(name)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ("field_name", "refused SQL identifier"),
        ("release_id", "refused release id"),
        ("unknown_table", "without a Table Schema"),
        ("schema_argument", "refused SQL identifier"),
    ],
)
def test_bad_names_are_refused_before_anything_is_written(
    tmp_path: Path, schemas_dir: Path, change: str, error: str
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'observatory.sqlite'}")
    tables = {"territoires": territoires(RELEASE_A), "indicateurs": indicateurs(RELEASE_A)}
    release_field = None
    schema = None
    if change == "field_name":
        bad = json.loads(json.dumps(TERRITOIRES_SCHEMA))
        bad["fields"][2]["name"] = 'nom" TEXT); DROP TABLE x; --'
        (schemas_dir / "tables" / "territoires.json").write_text(json.dumps(bad))
    elif change == "release_id":
        release_field = "../../etc"
    elif change == "unknown_table":
        tables["evil; DROP TABLE x"] = indicateurs(RELEASE_A)
    else:
        engine = make_engine(POSTGRES_URL)
        schema = "public; DROP SCHEMA public"
    folder = make_release(tmp_path, RELEASE_A, tables, release_field)

    with pytest.raises(DatabasePublicationError, match=error):
        publish_release(folder, engine, schemas_dir, schema=schema)
    if engine.dialect.name == "sqlite":
        assert sa.inspect(engine).get_table_names() == []
    engine.dispose()


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "sqlite:////data/published/observatory.sqlite"),
        (
            {"OBSERVATORY_DATABASE_URL": "postgresql://obs@db/observatoire"},
            "postgresql://obs@db/observatoire",
        ),
    ],
)
def test_database_url(environ: dict[str, str], expected: str) -> None:
    assert database_url(Path("/data"), environ) == expected


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://postgres@127.0.0.1/test", "psycopg"),
        ("postgresql+psycopg2://postgres@127.0.0.1/test", "psycopg"),
        ("postgres://postgres@127.0.0.1/test", "psycopg"),
        ("sqlite://", "pysqlite"),
        ("mysql://u@h/db", None),
    ],
)
def test_make_engine_drivers(url: str, driver: str | None) -> None:
    if driver is None:
        with pytest.raises(DatabasePublicationError, match="only sqlite"):
            make_engine(url)
    else:
        assert make_engine(url).dialect.driver == driver


def test_sqlite_is_refused_a_schema() -> None:
    with pytest.raises(DatabasePublicationError, match="no schemas"):
        Naming.of(make_engine("sqlite://"), "observatoire")


@pytest.mark.real_data
def test_real_release_row_counts_match_the_manifest(
    pipeline_run, target: tuple[sa.Engine, str | None]
) -> None:
    """The release of the end-to-end run, published: every view has the manifest's rows."""
    settings, outcome = pipeline_run
    engine, schema = target
    manifest = json.loads((outcome.release / "manifest.json").read_text())
    publication = publish_release(outcome.release, engine, settings.schemas_dir, schema=schema)
    naming = Naming.of(engine, schema)
    with engine.connect() as connection:
        for name, table in manifest["tables"].items():
            view = f"{naming.schema}.{name}" if naming.schema else name
            count = connection.exec_driver_sql(f"SELECT count(*) FROM {view}").scalar_one()
            assert count == table["rows"] == publication.lignes[name], name
        prefix = f"{naming.schema}." if naming.schema else ""
        charente = connection.exec_driver_sql(
            f"SELECT t.nom, i.nb_lieux FROM {prefix}territoires t "
            f"JOIN {prefix}indicateurs_large i USING (niveau, code) "
            "WHERE t.niveau = 'departement' AND t.code = '16'"
        ).one()
        # the README's SQL example as written (names prefixed on PostgreSQL, as it says): the
        # farthest EPCI first, unknown distances last on both databases, counts as integers
        readme = (
            example("sql")
            .replace("FROM territoires", f"FROM {prefix}territoires")
            .replace("JOIN indicateurs_large", f"JOIN {prefix}indicateurs_large")
        )
        rows = connection.exec_driver_sql(readme.strip().rstrip(";")).all()
    assert len(rows) == 10 and all(isinstance(lieux, int) for _, _, lieux, _ in rows)
    distances = [distance for *_, distance in rows]
    assert None not in distances and distances == sorted(distances, reverse=True)
    files = manifest["tables"]["indicateurs_large"]["files"]
    large = pl.read_parquet([outcome.release / f["path"] for f in files]).filter(
        pl.col("niveau") == "departement", pl.col("code") == "16"
    )
    assert charente == ("Charente", large["nb_lieux"].item())
    schema_lieux = load_table_schema(settings.schemas_dir, "lieux")
    assert len(schema_lieux["fields"]) == len(
        sa.inspect(engine).get_columns("lieux", schema=naming.schema)
    )
    report(
        f"SQL publication ({engine.dialect.name}): {sum(publication.lignes.values())} rows in "
        f"{sum(publication.secondes.values()):.1f} s ({publication.secondes})"
    )


def test_sqlite_publication_takes_the_write_lock_first_readers_do_not(
    tmp_path: Path, schemas_dir: Path
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'observatory.sqlite'}")
    begins: list[str] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _record(connection, cursor, statement, *args) -> None:
        if statement.startswith("BEGIN"):
            begins.append(statement)

    publish_release(release_of(tmp_path, RELEASE_A), engine, schemas_dir)
    assert current_release(engine) == RELEASE_A
    # a read (is this release already published?), the publication, the reader
    assert begins == ["BEGIN", "BEGIN IMMEDIATE", "BEGIN"]


def _latest(published: Path, release_id: str) -> None:
    link = published / "latest"
    link.unlink(missing_ok=True)
    link.symlink_to(Path("releases") / release_id)


def test_a_full_disk_in_the_sql_copy_says_the_parquet_release_is_out_and_next_run_catches_up(
    tmp_path: Path, schemas_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guarantee: the SQL copy follows `latest`; a full disk while writing its scratch file
    fails in French saying the Parquet release is published and only the copy is behind,
    leaves no scratch file and the database on its previous release; the next attempt, with
    nothing else changed, brings it up to `latest`."""
    import errno

    published = tmp_path / "published"
    url = f"sqlite:///{published / 'observatory.sqlite'}"
    release_of(published, RELEASE_A)
    _latest(published, RELEASE_A)
    assert database.catch_up(published, url, schemas_dir).release_id == RELEASE_A
    release_of(published, RELEASE_B)
    _latest(published, RELEASE_B)
    real_stage = database._stage_sqlite

    def full_disk(scratch: Path, *args: Any) -> dict[str, float]:
        scratch.write_bytes(b"\0" * 4096)  # half-written before the disk fills
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(scratch))

    monkeypatch.setattr(database, "_stage_sqlite", full_disk)
    with pytest.raises(DatabasePublicationError) as raised:
        database.catch_up(published, url, schemas_dir)
    message = str(raised.value)
    assert message.startswith(
        f"copie SQL en échec : la release Parquet {RELEASE_B} est publiée (`latest`)"
    )
    assert "No space left on device" in message and "rattrapera" in message
    assert not list(published.glob(".observatory.sqlite.chargement-*"))
    engine = make_engine(url)
    assert published_releases(engine) == [RELEASE_A]
    monkeypatch.setattr(database, "_stage_sqlite", real_stage)
    assert database.catch_up(published, url, schemas_dir).nouvelle
    assert published_releases(engine) == [RELEASE_A, RELEASE_B]
    assert not database.catch_up(published, url, schemas_dir).nouvelle  # up to date: no-op
    engine.dispose()


def test_scratch_files_of_a_killed_publication_are_removed_by_the_next(
    tmp_path: Path, schemas_dir: Path
) -> None:
    """Guarantee: a publication killed after writing its scratch file (348 MB on a national
    run) leaves it behind; the next publication, of any release, removes it and its journal,
    but never the scratch file of a publisher still running."""
    import subprocess
    import sys

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    db = tmp_path / "published" / "observatory.sqlite"
    db.parent.mkdir(parents=True)
    stale = [
        db.with_name(f".observatory.sqlite.chargement-{RELEASE_A}-{dead.pid}"),
        db.with_name(f".observatory.sqlite.chargement-{RELEASE_A}-{dead.pid}-journal"),
        db.with_name(f".observatory.sqlite.chargement-{RELEASE_A}"),  # before pids were named
    ]
    running = db.with_name(f".observatory.sqlite.chargement-{RELEASE_A}-{os.getpid()}")
    for path in (*stale, running):
        path.write_bytes(b"\0" * 1024)
    publication = publish_release(release_of(tmp_path, RELEASE_B), f"sqlite:///{db}", schemas_dir)
    assert publication.nouvelle
    assert [p for p in stale if p.exists()] == []
    assert running.exists()
    leftovers = {p.name for p in db.parent.iterdir()}
    assert leftovers == {"observatory.sqlite", running.name}
