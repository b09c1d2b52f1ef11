"""Atomic releases: write to a staging folder, verify, promote, then switch `latest`.

`<published>/releases/<release_id>/` holds one Parquet file per table and `manifest.json`;
`<published>/latest` is a relative symlink replaced by rename, so a reader sees the previous
release or the new one, never a half-written folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from observatory import __version__
from observatory.settings import PROJECT_ROOT
from observatory.sources.raw import sha256_file


class ReleaseError(RuntimeError):
    """The release could not be written or verified; `latest` was not touched."""


def code_version() -> dict[str, str | None]:
    """Package version and, in a git checkout, the commit (with `-dirty` if modified)."""
    commit = None
    try:
        commit = (
            subprocess.run(
                ["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"],
                capture_output=True,
                text=True,
                timeout=5,
                check=True,
            ).stdout.strip()
            or None
        )
        dirty = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        if commit and dirty:
            commit += "-dirty"
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {"package": __version__, "git_commit": commit}


def compute_release_id(
    created_at: datetime, input_checksums: Sequence[str], version: Mapping[str, Any]
) -> str:
    """UTC timestamp + short hash of the input checksums and the code version."""
    digest = hashlib.sha256()
    for checksum in sorted(input_checksums):
        digest.update(checksum.encode())
    digest.update(json.dumps(dict(version), sort_keys=True).encode())
    return f"{created_at.astimezone(UTC):%Y%m%dT%H%M%SZ}-{digest.hexdigest()[:10]}"


def _write_table(frame: pl.DataFrame, path: Path) -> dict[str, Any]:
    frame.write_parquet(path, compression="zstd", statistics=True)
    return {
        "path": path.name,
        "rows": frame.height,
        "bytes": path.stat().st_size,
        "sha256": sha256_file(path),
    }


def verify_release(folder: Path) -> dict[str, Any]:
    """Re-read the manifest and check every file's rows and sha256 against it."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    for name, table in manifest["tables"].items():
        for entry in table["files"]:
            path = folder / entry["path"]
            if not path.is_file():
                raise ReleaseError(f"{name}: {path} missing")
            if sha256_file(path) != entry["sha256"]:
                raise ReleaseError(f"{name}: {path} sha256 differs from the manifest")
            rows = pl.scan_parquet(path).select(pl.len()).collect().item()
            if rows != entry["rows"]:
                raise ReleaseError(f"{name}: {path} has {rows} rows, manifest says {entry['rows']}")
    return manifest


def _switch_latest(published_dir: Path, release_id: str) -> None:
    link = published_dir / "latest"
    tmp = published_dir / f".latest-{release_id}"
    tmp.unlink(missing_ok=True)
    os.symlink(Path("releases") / release_id, tmp)
    os.replace(tmp, link)


def write_release(
    tables: Mapping[str, pl.DataFrame],
    published_dir: Path,
    sources: Sequence[Mapping[str, Any]],
    extra: Mapping[str, Any] | None = None,
    created_at: datetime | None = None,
) -> Path:
    """Write, verify and promote a release; returns its folder. `latest` moves last."""
    created_at = created_at or datetime.now(UTC)
    version = code_version()
    release_id = compute_release_id(created_at, [s["sha256"] for s in sources], version)
    releases = published_dir / "releases"
    final = releases / release_id
    staging = published_dir / ".staging" / release_id
    if final.exists():
        raise ReleaseError(f"release {release_id} already exists")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        manifest = {
            "release_id": release_id,
            "created_at": created_at.astimezone(UTC).isoformat(timespec="seconds"),
            "code_version": version,
            **(dict(extra) if extra else {}),
            "tables": {
                name: {
                    "files": [_write_table(frame, staging / f"{name}.parquet")],
                    "rows": frame.height,
                    "columns": frame.columns,
                }
                for name, frame in tables.items()
            },
            "sources": [dict(s) for s in sources],
        }
        (staging / "manifest.json").write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        verify_release(staging)
        releases.mkdir(parents=True, exist_ok=True)
        os.rename(staging, final)
        with contextlib.suppress(OSError):
            staging.parent.rmdir()
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _switch_latest(published_dir, release_id)
    return final
