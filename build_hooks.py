"""setuptools hooks: a wheel carries the folders the pipeline reads at run time.

The repository keeps `assets/`, `schemas/`, `dbt_like_sql/` and `docs/` at its top level (the
source of truth). Building a wheel copies them into the package, as `observatory/_data/<folder>`,
with `BUILD_INFO.json` (the git commit built), where `observatory.settings.bundled` finds them
once installed. The sdist carries the folders (MANIFEST.in) and BUILD_INFO.json, so a wheel built
from it is the same. An editable install copies nothing: the checkout's folders are read in place.

Wired in pyproject.toml (`[tool.setuptools] cmdclass`); imported by setuptools only.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
# the same names as observatory.settings.DATA_FOLDERS / BUILD_INFO (not imported: the package's
# dependencies are not installed in the isolated build environment)
DATA_FOLDERS = ("assets", "schemas", "dbt_like_sql", "docs")
BUILD_INFO = "BUILD_INFO.json"
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".DS_Store")


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def build_info() -> dict[str, str | None]:
    """The commit being built: from git in a checkout, else from the sdist's BUILD_INFO.json."""
    commit = _git("rev-parse", "HEAD") if (ROOT / ".git").exists() else None
    if commit:
        if _git("status", "--porcelain", "--untracked-files=no"):
            commit += "-dirty"
        return {"git_commit": commit}
    recorded = ROOT / BUILD_INFO
    if recorded.is_file():
        return json.loads(recorded.read_text(encoding="utf-8"))
    return {"git_commit": None}


class BuildPyWithData(build_py):
    """build_py, then the data folders copied under `observatory/_data/` of the build."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # editable: read in place from the checkout
            return
        target = Path(self.build_lib) / "observatory" / "_data"
        shutil.rmtree(target, ignore_errors=True)  # no stale file from an earlier build
        for name in DATA_FOLDERS:
            shutil.copytree(ROOT / name, target / name, ignore=IGNORED)
        (target / BUILD_INFO).write_text(json.dumps(build_info()) + "\n", encoding="utf-8")


class SdistWithBuildInfo(sdist):
    """sdist that records the commit, which the wheel built from it cannot ask git for."""

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        info = Path(base_dir) / BUILD_INFO
        info.unlink(missing_ok=True)  # may be a hard link to the source tree's copy
        info.write_text(json.dumps(build_info()) + "\n", encoding="utf-8")
