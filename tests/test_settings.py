"""Where the run-time folders are found: the installed package's, else the checkout's (editable
install), unless OBSERVATORY_ASSETS_DIR / OBSERVATORY_SQL_DIR point elsewhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from observatory import settings
from observatory.settings import DATA_FOLDERS, PROJECT_ROOT, bundled, load_settings


@pytest.fixture
def wheel_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`observatory/_data/` as a wheel install has it, with one folder and BUILD_INFO.json."""
    root = tmp_path / "_data"
    (root / "schemas").mkdir(parents=True)
    (root / "BUILD_INFO.json").write_text(json.dumps({"git_commit": "abc123"}))
    monkeypatch.setattr(settings, "package_data_root", lambda: root)
    return root


def test_checkout_folders_when_not_installed_from_a_wheel() -> None:
    assert not settings.package_data_root().exists()  # this checkout: editable install
    for name in DATA_FOLDERS:
        assert bundled(name) == PROJECT_ROOT / name
    assert settings.installed_build_info() is None


def test_installed_folders_first_then_checkout(wheel_layout: Path) -> None:
    assert bundled("schemas") == wheel_layout / "schemas"
    assert bundled("assets") == PROJECT_ROOT / "assets"  # not in this fake wheel: checkout
    assert settings.installed_build_info() == {"git_commit": "abc123"}


def test_environment_overrides(
    wheel_layout: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBSERVATORY_ASSETS_DIR", str(tmp_path / "snapshot"))
    monkeypatch.setenv("OBSERVATORY_SQL_DIR", str(tmp_path / "modeles"))
    loaded = load_settings(tmp_path / "data")
    assert loaded.assets_dir == tmp_path / "snapshot"
    assert loaded.sql_dir == tmp_path / "modeles"
    assert loaded.schemas_dir == wheel_layout / "schemas"


def test_unknown_folder_is_an_error() -> None:
    with pytest.raises(ValueError, match="bundled folders"):
        bundled("tests")
