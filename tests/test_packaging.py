"""Installable like a package: the wheel built by `python -m build` carries everything the
pipeline reads at run time, and a non-editable install runs it from any directory.

To stay cheap, the wheel is installed with `--no-deps` into a fresh venv that sees the test venv's
site-packages through a `.pth` line (the dependencies are not installed again). A directory named
in a `.pth` line is appended to sys.path without running its own `.pth` files, so the editable
install of this checkout stays invisible there: only the wheel provides `observatory`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import polars as pl
import pytest

from observatory.publish.release import read_table, verify_release
from observatory.settings import DATA_FOLDERS, PROJECT_ROOT
from tests.conftest import report
from tests.test_deploy import wheel_name

pytestmark = pytest.mark.slow  # builds a wheel, then a whole run: ~1-2 min on 2 cores


def _clean_env() -> dict[str, str]:
    """No path, instance or setting inherited from the test session."""
    return {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "DAGSTER_HOME", "VIRTUAL_ENV"}
        and not k.startswith("OBSERVATORY_")
    }


def _run(args: list[str | Path], cwd: Path, timeout: float) -> str:
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`python -m build`: an sdist, then a wheel built from that sdist."""
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--outdir", out, PROJECT_ROOT], out, timeout=300)
    assert len(list(out.glob("observatory-*.tar.gz"))) == 1
    (built,) = out.glob("observatory-*-py3-none-any.whl")
    report(f"wheel {built.name}: {built.stat().st_size / 1e6:.1f} MB")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv in a temporary directory with the wheel installed (non-editable)."""
    root = tmp_path_factory.mktemp("installed") / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", root], root.parent, timeout=60)
    python = root / "bin" / "python"
    purelib = Path(
        _run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            root.parent,
            timeout=60,
        ).strip()
    )
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (purelib / "test_venv_stack.pth").write_text("\n".join(sorted(ours)) + "\n")
    _run(
        [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", wheel],
        root.parent,
        timeout=120,
    )
    return root


def test_wheel_carries_the_data_folders(wheel: Path) -> None:
    assert wheel.name == wheel_name()  # the file deploy/Dockerfile copies in
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for folder in DATA_FOLDERS:
            files = [
                p
                for p in (PROJECT_ROOT / folder).rglob("*")
                if p.is_file() and "__pycache__" not in p.parts
            ]
            assert files, folder
            for path in files:
                member = f"observatory/_data/{path.relative_to(PROJECT_ROOT).as_posix()}"
                assert member in names, member
                assert archive.read(member) == path.read_bytes(), member
        assert "observatory/publish/templates/rapport_departement.html.j2" in names
        assert "observatory/serve/templates/_footer.html" in names
        built = json.loads(archive.read("observatory/_data/BUILD_INFO.json"))
    # the sizes the README gives for the decision to ship the snapshot in the wheel
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    said = re.search(r"the wheel is ([\d.]+) MB, the snapshot ([\d.]+) MB", readme)
    assert said, "README: the wheel's and the snapshot's sizes"
    snapshot = sum(p.stat().st_size for p in (PROJECT_ROOT / "assets").rglob("*") if p.is_file())
    assert abs(float(said[1]) - wheel.stat().st_size / 1e6) < 0.5, said[0]
    assert abs(float(said[2]) - snapshot / 1e6) < 1, (said[0], snapshot)
    head = subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
    )
    if head.returncode == 0:  # built from the sdist, which recorded the checkout's commit
        assert built["git_commit"].removesuffix("-dirty") == head.stdout.strip()


def test_installed_wheel_runs_the_pipeline_from_elsewhere(venv: Path, tmp_path: Path) -> None:
    python, elsewhere = venv / "bin" / "python", tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = json.loads(
        _run(
            [
                python,
                "-c",
                "import json, sys, observatory; from observatory.settings import load_settings; "
                "s = load_settings(); print(json.dumps({'package': observatory.__file__, "
                "'assets': str(s.assets_dir), 'sql': str(s.sql_dir), "
                "'schemas': str(s.schemas_dir), 'path': sys.path}))",
            ],
            elsewhere,
            timeout=120,
        )
    )
    for key in ("package", "assets", "sql", "schemas"):
        assert Path(where[key]).is_relative_to(venv), (key, where[key])
    # only the wheel provides `observatory` on that interpreter's path (no checkout on it)
    providers = [p for p in where["path"] if (Path(p or elsewhere) / "observatory").is_dir()]
    assert providers == [str(Path(where["package"]).parent.parent)], where["path"]

    # what `dagster dev -m observatory.definitions` loads, from a directory outside the checkout
    _run(
        [python, "-m", "dagster", "definitions", "validate", "-m", "observatory.definitions"],
        elsewhere,
        timeout=300,
    )
    out = _run(
        [venv / "bin" / "observatory", "run", "--data-dir", elsewhere / "data"],
        elsewhere,
        timeout=900,
    )
    release = Path(out.strip().splitlines()[-1])
    assert release.is_relative_to(elsewhere / "data" / "published" / "releases")
    assert (elsewhere / "data" / "published" / "latest").resolve() == release.resolve()
    verify_release(release)
    manifest = json.loads((release / "manifest.json").read_text())
    built = json.loads((Path(where["package"]).parent / "_data/BUILD_INFO.json").read_text())
    assert manifest["code_version"]["git_commit"] == built["git_commit"]
    communes = read_table(release, "territoires").filter(pl.col("niveau") == "commune")
    assert communes.height == 34875
    charente = read_table(release, "indicateurs").filter(
        pl.col("niveau") == "departement",
        pl.col("code") == "16",
        pl.col("indicateur") == "nb_illectronisme",
    )
    assert charente.height >= 1
    row = charente.sort("annee").row(-1, named=True)
    assert row["ic_bas"] < row["valeur"] < row["ic_haut"]
    # the methodology note quotes the SQL models and docs/ (read from the wheel; a missing
    # docs/ would be skipped silently)
    methodologie = (release / "methodologie.md").read_text(encoding="utf-8")
    assert "### `ind_acces`" in methodologie
    notes = sorted((PROJECT_ROOT / "docs").glob("methodologie_*.md"))
    assert len(notes) == 3  # need, fragility, partner activity (architecture.md is not one)
    for note in notes:
        assert note.read_text(encoding="utf-8").splitlines()[0] in methodologie, note.name
    assert "# Architecture" not in methodologie  # a developers' note stays out of releases
    shutil.rmtree(elsewhere / "data" / "warehouse", ignore_errors=True)
