import json
import os
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from observatory.publish import release as release_module
from observatory.publish.release import (
    ReleaseError,
    compute_release_id,
    verify_release,
    write_release,
)
from observatory.sources.raw import sha256_file

TABLES = {
    "territoires": pl.DataFrame(
        {"niveau": ["commune", "france"], "code": ["16015", "FR"], "population": [41711, 41711]}
    ),
    "indicateurs": pl.DataFrame({"niveau": ["commune"], "code": ["16015"], "valeur": [2.0]}),
}
SOURCES = [{"source": "cog__communes", "millesime": "2026", "sha256": "ab" * 32}]


def test_release_id_is_timestamp_and_hash() -> None:
    at = datetime(2026, 11, 23, 19, 30, 5, tzinfo=UTC)
    a = compute_release_id(at, ["x", "y"], {"package": "0.1.0", "git_commit": "c"})
    assert a.startswith("20261123T193005Z-") and len(a) == len("20261123T193005Z-") + 10
    assert a == compute_release_id(at, ["y", "x"], {"package": "0.1.0", "git_commit": "c"})
    assert a != compute_release_id(at, ["x", "z"], {"package": "0.1.0", "git_commit": "c"})
    assert a != compute_release_id(at, ["x", "y"], {"package": "0.1.1", "git_commit": "c"})


def test_write_release_manifest_matches_files(tmp_path: Path) -> None:
    folder = write_release(TABLES, tmp_path, SOURCES, extra={"millesime_cog": 2026})
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["release_id"] == folder.name
    assert manifest["millesime_cog"] == 2026 and manifest["sources"] == SOURCES
    for name, frame in TABLES.items():
        (entry,) = manifest["tables"][name]["files"]
        assert entry["rows"] == frame.height == pl.read_parquet(folder / entry["path"]).height
        assert entry["sha256"] == sha256_file(folder / entry["path"])
    latest = tmp_path / "latest"
    assert latest.is_symlink() and latest.resolve() == folder.resolve()
    assert os.readlink(latest) == f"releases/{folder.name}"  # relative: the folder can move
    assert not (tmp_path / ".staging").exists()


def test_latest_moves_only_when_a_release_is_complete(tmp_path: Path, monkeypatch) -> None:
    first = write_release(TABLES, tmp_path, SOURCES, created_at=datetime(2026, 1, 1, tzinfo=UTC))

    def broken(folder: Path) -> dict:
        raise ReleaseError("simulated verification failure")

    monkeypatch.setattr(release_module, "verify_release", broken)
    with pytest.raises(ReleaseError, match="simulated"):
        write_release(TABLES, tmp_path, SOURCES, created_at=datetime(2026, 2, 1, tzinfo=UTC))
    assert (tmp_path / "latest").resolve() == first.resolve()
    assert [p.name for p in (tmp_path / "releases").iterdir()] == [first.name]
    assert not any((tmp_path / ".staging").glob("*"))


def test_verify_detects_tampering(tmp_path: Path) -> None:
    folder = write_release(TABLES, tmp_path, SOURCES)
    path = folder / "indicateurs.parquet"
    pl.DataFrame({"niveau": ["x"], "code": ["y"], "valeur": [0.0]}).write_parquet(path)
    with pytest.raises(ReleaseError, match="sha256 differs"):
        verify_release(folder)
