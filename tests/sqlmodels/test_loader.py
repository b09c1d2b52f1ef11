from pathlib import Path

import pytest

from observatory.sqlmodels.loader import SqlModelError, discover, load_models, order, parse_model


def write(folder: Path, name: str, sql: str) -> Path:
    path = folder / f"{name}.sql"
    path.write_text(sql, encoding="utf-8")
    return path


def test_dependencies_exclude_ctes(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "ind_a",
        """-- Un indicateur.
-- Sur deux lignes.
WITH base AS (SELECT * FROM int__x), autre AS (SELECT code FROM base)
SELECT b.code FROM autre AS b JOIN int__y AS y ON y.code = b.code
LEFT JOIN (SELECT code FROM ind_b) AS sub ON sub.code = b.code
""",
    )
    model = parse_model(path)
    assert model.dependencies == ("ind_b", "int__x", "int__y")
    assert model.description == "Un indicateur. Sur deux lignes."
    assert model.layer == "ind_"


def test_topological_order(tmp_path: Path) -> None:
    write(tmp_path, "ind_c", "SELECT * FROM ind_b")
    write(tmp_path, "ind_b", "SELECT * FROM ind_a")
    write(tmp_path, "ind_a", "SELECT * FROM int__x")
    names = [m.name for m in load_models(tmp_path, external={"int__x"})]
    assert names == ["ind_a", "ind_b", "ind_c"]


def test_unknown_table_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "ind_a", "SELECT * FROM int__inexistante")
    with pytest.raises(SqlModelError, match=r"ind_a\.sql: unknown table 'int__inexistante'") as e:
        load_models(tmp_path, external={"int__x"})
    assert str(path) in str(e.value)


def test_cycle_names_the_files(tmp_path: Path) -> None:
    write(tmp_path, "ind_a", "SELECT * FROM ind_b")
    write(tmp_path, "ind_b", "WITH x AS (SELECT * FROM ind_a) SELECT * FROM x")
    with pytest.raises(SqlModelError, match="cycle") as error:
        load_models(tmp_path, external=set())
    assert "ind_a.sql" in str(error.value) and "ind_b.sql" in str(error.value)


def test_layer_skipping_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "ind_a", "SELECT * FROM stg_cog__communes")
    with pytest.raises(SqlModelError, match=r"ind_a\.sql: a ind_ model may read only"):
        load_models(tmp_path, external={"stg_cog__communes"})


@pytest.mark.parametrize(
    ("name", "sql", "message"),
    [
        ("ind_a", "SELECT 1; SELECT 2", "exactly one SELECT"),
        ("ind_a", "DELETE FROM int__x", "exactly one SELECT"),
        ("ind_a", "SELEC * FRM", "does not parse|exactly one SELECT"),
        ("indicateur", "SELECT 1", "starts with one of"),
        ("Ind_A", "SELECT 1", "snake_case"),
        ("ind_a", "-- moteur: gpu\nSELECT 1", "moteur"),
        ("ind_a", "-- moteur: streaming\n-- moteur: auto\nSELECT 1", "moteur"),
    ],
)
def test_bad_files(tmp_path: Path, name: str, sql: str, message: str) -> None:
    write(tmp_path, name, sql)
    with pytest.raises(SqlModelError, match=message):
        discover(tmp_path)


def test_duplicate_names_in_subfolders(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write(tmp_path / "a", "ind_x", "SELECT 1 AS x")
    write(tmp_path / "b", "ind_x", "SELECT 2 AS x")
    with pytest.raises(SqlModelError, match="also defined"):
        discover(tmp_path)


def test_order_is_pure(tmp_path: Path) -> None:
    models = [parse_model(write(tmp_path, "ind_a", "SELECT * FROM int__x"))]
    assert order(models, {"int__x"}) == models


@pytest.mark.parametrize(
    ("sql", "moteur", "description"),
    [
        ("-- Offre.\nSELECT 1 AS x", "auto", "Offre."),
        ("-- Offre.\n\n-- moteur: streaming\n-- Exact.\nSELECT 1 AS x", "streaming", "Offre."),
        ("-- Offre.\n--moteur :streaming\nSELECT 1 AS x", "streaming", "Offre."),
    ],
)
def test_engine_line(tmp_path: Path, sql: str, moteur: str, description: str) -> None:
    """`-- moteur: streaming` asks polars' streaming engine; an instruction to the runner, it
    is never part of the description (catalogue) nor of the methodology's model header."""
    from observatory.sqlmodels.loader import header_text as model_header

    model = parse_model(write(tmp_path, "ind_a", sql))
    assert (model.moteur, model.description, model_header(sql)) == (
        moteur,
        description,
        description,
    )
