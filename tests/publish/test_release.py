import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from observatory.publish import release as release_module
from observatory.publish.release import (
    Publication,
    ReleaseError,
    TableLayout,
    compute_release_id,
    prune_releases,
    read_table,
    verify_release,
    write_release,
)
from observatory.sources.raw import sha256_file

TABLES = {
    "territoires": pl.DataFrame(
        {
            "niveau": ["commune", "france", "commune", "departement"],
            "code": ["16015", "FR", "2A004", "2A"],
            "population": [41711, 41711, 64000, 160000],
        }
    ),
    "indicateurs": pl.DataFrame({"niveau": ["commune"], "code": ["16015"], "valeur": [2.0]}),
}
LAYOUTS = {"territoires": TableLayout("niveau", ("niveau", "code"))}
SOURCES = [{"source": "cog__communes", "millesime": "2026", "sha256": "ab" * 32}]


def at(month: int) -> datetime:
    return datetime(2026, month, 1, tzinfo=UTC)


def test_release_id_is_timestamp_and_hash() -> None:
    stamp = datetime(2026, 11, 23, 19, 30, 5, tzinfo=UTC)
    a = compute_release_id(stamp, ["x", "y"], {"package": "0.1.0", "git_commit": "c"})
    assert a.startswith("20261123T193005Z-") and len(a) == len("20261123T193005Z-") + 10
    assert a == compute_release_id(stamp, ["y", "x"], {"package": "0.1.0", "git_commit": "c"})
    assert a != compute_release_id(stamp, ["x", "z"], {"package": "0.1.0", "git_commit": "c"})
    assert a != compute_release_id(stamp, ["x", "y"], {"package": "0.1.1", "git_commit": "c"})


def test_write_release_manifest_matches_files(tmp_path: Path) -> None:
    publication = write_release(
        TABLES, tmp_path, SOURCES, extra={"millesime_cog": 2026}, layouts=LAYOUTS
    )
    folder = publication.folder
    assert publication.nouvelle
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["release_id"] == folder.name
    assert manifest["millesime_cog"] == 2026 and manifest["sources"] == SOURCES
    for name, frame in TABLES.items():
        entries = manifest["tables"][name]["files"]
        assert sum(e["rows"] for e in entries) == frame.height == manifest["tables"][name]["rows"]
        for entry in entries:
            assert entry["rows"] == pl.read_parquet(folder / entry["path"]).height
            assert entry["sha256"] == sha256_file(folder / entry["path"])
    latest = tmp_path / "latest"
    assert latest.is_symlink() and latest.resolve() == folder.resolve()
    assert os.readlink(latest) == f"releases/{folder.name}"  # relative: the folder can move
    assert not (tmp_path / ".staging").exists()


def test_partitioned_table_keeps_its_column_sorted_and_reads_back_with_hive(
    tmp_path: Path,
) -> None:
    folder = write_release(TABLES, tmp_path, SOURCES, layouts=LAYOUTS).folder
    manifest = json.loads((folder / "manifest.json").read_text())
    paths = [e["path"] for e in manifest["tables"]["territoires"]["files"]]
    assert paths == [
        "territoires/niveau=commune/part-0.parquet",
        "territoires/niveau=departement/part-0.parquet",
        "territoires/niveau=france/part-0.parquet",
    ]
    communes = pl.read_parquet(folder / paths[0])
    assert communes["niveau"].to_list() == ["commune", "commune"]  # kept inside the file
    assert communes["code"].to_list() == ["16015", "2A004"]  # sorted by key
    expected = TABLES["territoires"].sort("niveau", "code")
    assert_frame_equal(read_table(folder, "territoires"), expected)
    hive = pl.scan_parquet(
        folder / "territoires" / "**" / "*.parquet",
        hive_partitioning=True,
        hive_schema={"niveau": pl.String},
    )
    assert_frame_equal(hive.collect().select(expected.columns).sort("niveau", "code"), expected)
    count = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{folder}/territoires/*/*.parquet', "
        "hive_partitioning = true) WHERE niveau = 'commune'"
    ).fetchall()
    assert count == [(2,)]
    assert pl.read_parquet(folder / "indicateurs.parquet").height == 1  # not partitioned


def test_unchanged_run_publishes_nothing_and_a_change_publishes(tmp_path: Path) -> None:
    first = write_release(TABLES, tmp_path, SOURCES, created_at=at(1))
    again = write_release(TABLES, tmp_path, SOURCES, created_at=at(2))
    assert again == Publication(first.folder, nouvelle=False)
    changed = {**TABLES, "indicateurs": TABLES["indicateurs"].with_columns(valeur=pl.lit(3.0))}
    second = write_release(changed, tmp_path, SOURCES, created_at=at(3))
    assert second.nouvelle and second.folder != first.folder
    new_input = [{**SOURCES[0], "sha256": "cd" * 32}]
    third = write_release(changed, tmp_path, new_input, created_at=at(4))
    assert third.nouvelle  # same tables, other inputs: lineage changed
    assert json.loads((third.folder / "manifest.json").read_text())["precedente"] == (
        second.folder.name
    )


def test_latest_moves_only_when_a_release_is_complete(tmp_path: Path, monkeypatch) -> None:
    first = write_release(TABLES, tmp_path, SOURCES, created_at=at(1)).folder

    def broken(folder: Path) -> dict:
        raise ReleaseError("simulated verification failure")

    monkeypatch.setattr(release_module, "verify_release", broken)
    changed = {**TABLES, "indicateurs": TABLES["indicateurs"].with_columns(valeur=pl.lit(3.0))}
    with pytest.raises(ReleaseError, match="simulated"):
        write_release(changed, tmp_path, SOURCES, created_at=at(2))
    assert (tmp_path / "latest").resolve() == first.resolve()
    assert [p.name for p in (tmp_path / "releases").iterdir()] == [first.name]
    assert not any((tmp_path / ".staging").glob("*"))


def fail_after_two_files(
    monkeypatch: pytest.MonkeyPatch, error: Callable[[Path, str], OSError]
) -> list[str]:
    """Writing a release file raises `error(folder, relative)` once two files are written;
    returns the files written."""
    real_write = release_module._write_file
    written: list[str] = []

    def failing(frame: pl.DataFrame, folder: Path, relative: str) -> dict:
        if len(written) == 2:
            raise error(folder, relative)
        written.append(relative)
        return real_write(frame, folder, relative)

    monkeypatch.setattr(release_module, "_write_file", failing)
    return written


def test_failure_after_half_the_files_keeps_latest_and_next_run_succeeds(
    tmp_path: Path, monkeypatch
) -> None:
    """Injected failure mid-write: readers keep the previous, complete release."""
    first = write_release(TABLES, tmp_path, SOURCES, layouts=LAYOUTS, created_at=at(1)).folder
    changed = {**TABLES, "indicateurs": TABLES["indicateurs"].with_columns(valeur=pl.lit(3.0))}
    real_write = release_module._write_file
    written = fail_after_two_files(
        monkeypatch, lambda folder, relative: OSError("disk full (simulated)")
    )
    with pytest.raises(OSError, match="simulated"):
        write_release(changed, tmp_path, SOURCES, layouts=LAYOUTS, created_at=at(2))
    assert len(written) == 2
    assert (tmp_path / "latest").resolve() == first.resolve()
    verify_release(first)
    monkeypatch.setattr(release_module, "_write_file", real_write)
    second = write_release(changed, tmp_path, SOURCES, layouts=LAYOUTS, created_at=at(3))
    assert second.nouvelle and (tmp_path / "latest").resolve() == second.folder.resolve()


def test_a_leftover_staging_folder_from_a_killed_run_is_cleaned(tmp_path: Path) -> None:
    leftover = tmp_path / ".staging" / "20260101T000000Z-0123456789"
    leftover.mkdir(parents=True)
    (leftover / "indicateurs.parquet").write_bytes(b"PAR1 half written")
    folder = write_release(TABLES, tmp_path, SOURCES).folder
    assert not leftover.exists() and verify_release(folder)


def test_verify_detects_tampering(tmp_path: Path) -> None:
    folder = write_release(TABLES, tmp_path, SOURCES).folder
    path = folder / "indicateurs.parquet"
    assert not os.access(path, os.W_OK) or os.geteuid() == 0  # files are read-only
    path.chmod(0o644)
    pl.DataFrame({"niveau": ["x"], "code": ["y"], "valeur": [0.0]}).write_parquet(path)
    with pytest.raises(ReleaseError, match="sha256 differs"):
        verify_release(folder)


def test_retention_prunes_oldest_but_never_latest(tmp_path: Path) -> None:
    folders = []
    for month in range(1, 5):
        frame = TABLES["indicateurs"].with_columns(valeur=pl.lit(float(month)))
        folders.append(
            write_release({**TABLES, "indicateurs": frame}, tmp_path, SOURCES, created_at=at(month))
        )
    assert folders[-1].pruned == ()
    pruned = prune_releases(tmp_path, keep=2)
    assert pruned == (folders[0].folder.name, folders[1].folder.name)
    assert sorted(p.name for p in (tmp_path / "releases").iterdir()) == [
        folders[2].folder.name,
        folders[3].folder.name,
    ]
    # point latest to the oldest remaining, then keep=1: latest survives
    os.replace(tmp_path / "latest", tmp_path / "old")
    os.symlink(Path("releases") / folders[2].folder.name, tmp_path / "latest")
    assert prune_releases(tmp_path, keep=1) == ()
    with pytest.raises(ValueError, match="at least 1"):
        prune_releases(tmp_path, keep=0)


def test_float_noise_of_parallel_sums_is_not_a_change(tmp_path: Path) -> None:
    """Same inputs, sums added in another order: bits differ, no new release."""
    frame = pl.DataFrame({"niveau": ["commune"], "code": ["16015"], "valeur": [0.1 + 0.2]})
    first = write_release({"indicateurs": frame}, tmp_path, SOURCES, created_at=at(1))
    noisy = frame.with_columns(valeur=pl.lit(0.3))
    assert noisy["valeur"].item() != frame["valeur"].item()
    again = write_release({"indicateurs": noisy}, tmp_path, SOURCES, created_at=at(2))
    assert not again.nouvelle and again.folder == first.folder
    moved = frame.with_columns(valeur=pl.lit(0.3001))
    assert write_release({"indicateurs": moved}, tmp_path, SOURCES, created_at=at(3)).nouvelle


def test_a_full_disk_mid_release_leaves_nothing_and_latest_unmoved(
    tmp_path: Path, monkeypatch
) -> None:
    """Guarantee: ENOSPC while writing a release (the disk fills up after two files) raises
    the OS error, removes every file of the incomplete release (no staging folder left) and
    leaves `latest` on the previous release, which still verifies."""
    import errno

    first = write_release(TABLES, tmp_path, SOURCES, layouts=LAYOUTS, created_at=at(1)).folder
    changed = {**TABLES, "indicateurs": TABLES["indicateurs"].with_columns(valeur=pl.lit(3.0))}
    fail_after_two_files(
        monkeypatch,
        lambda folder, relative: OSError(
            errno.ENOSPC, os.strerror(errno.ENOSPC), str(folder / relative)
        ),
    )
    with pytest.raises(OSError) as raised:
        write_release(changed, tmp_path, SOURCES, layouts=LAYOUTS, created_at=at(2))
    assert raised.value.errno == errno.ENOSPC
    assert (tmp_path / "latest").resolve() == first.resolve()
    verify_release(tmp_path / "latest")
    assert not (tmp_path / ".staging").exists()
    assert [p.name for p in (tmp_path / "releases").iterdir()] == [first.name]
