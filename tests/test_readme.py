"""The README's "query the observatory" examples run as written against a real release."""

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from observatory.settings import PROJECT_ROOT

pytestmark = pytest.mark.real_data


def example(name: str) -> str:
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- readme-example: {name} -->\n```\w+\n(.*?)```", text, re.DOTALL)
    assert match, f"README has no example {name!r}"
    return match.group(1)


@pytest.fixture(scope="module")
def workdir(pipeline_run, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder whose `data/` is the end-to-end run's data directory, as after `observatory run`."""
    folder = tmp_path_factory.mktemp("readme")
    os.symlink(pipeline_run[0].data_dir, folder / "data")
    return folder


@pytest.mark.parametrize("name", ["polars", "duckdb", "zonage"])
def test_python_examples_run_as_written(workdir: Path, name: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", example(name)], cwd=workdir, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip()  # they print what they found


def test_sql_example_runs_on_the_sqlite_publication(workdir: Path) -> None:
    with sqlite3.connect(workdir / "data/published/observatory.sqlite") as connection:
        rows = connection.execute(example("sql")).fetchall()
    assert len(rows) == 10
    assert all(isinstance(code, str) and len(code) == 9 for code, *_ in rows)
