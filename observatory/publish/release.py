"""Atomic releases: write to a staging folder, verify, promote, then switch `latest`.

`<published>/releases/<release_id>/` holds the tables (large ones hive-partitioned by
`niveau`: `<table>/niveau=<value>/part-0.parquet`, the partition column kept inside the files
so a plain read needs no hive decoding), `manifest.json` (every file with its rows and sha256,
per-table lineage), and the generated documents (CHANGELOG, datapackage, dictionary).
`<published>/latest` is a relative symlink replaced by rename, so a reader sees the previous
release or the new one, never a half-written folder. A run whose inputs, code and tables are
unchanged publishes nothing: it returns the current release.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import polars as pl
import polars.selectors as cs

from observatory import __version__
from observatory.settings import PROJECT_ROOT, installed_build_info
from observatory.sources.raw import sha256_file

ROW_GROUP_SIZE = 50_000  # small enough for row-group statistics to skip data on filters
SIGNIFICANT_DIGITS = 9  # of floats, when comparing a release's content with the previous one
RELEASE_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{10}$")


class ReleaseError(RuntimeError):
    """The release could not be written or verified; `latest` was not touched."""


@dataclass(frozen=True)
class TableLayout:
    """How a table is laid out on disk: partition column and sort key (row-group pruning)."""

    partition_by: str | None = None
    sort_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Publication:
    """The outcome of `write_release`: the release folder and whether it is a new one."""

    folder: Path
    nouvelle: bool
    pruned: tuple[str, ...] = field(default=())


Documents = Callable[[Path, dict[str, Any], Path | None], Mapping[str, str]]


def code_version() -> dict[str, str | None]:
    """Package version and the commit: the checkout's (with `-dirty` if modified), or the one
    the installed wheel was built from (never the git repository a venv happens to sit in)."""
    built = installed_build_info()
    if built is not None:
        return {"package": __version__, "git_commit": built.get("git_commit")}
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


class TablesOnDemand(Mapping[str, pl.DataFrame]):
    """Tables read one at a time when asked for, never all in memory at once.

    The release checks, fingerprints, writes and documents table by table: holding every
    table at once made the release step the run's memory peak. `loaders` are lazy scans or
    functions that read a table; the last `keep` tables read are kept, the others are read
    again when asked for: a Parquet read costs far less than the memory it saves.
    """

    def __init__(
        self,
        loaders: Mapping[str, pl.LazyFrame | Callable[[], pl.DataFrame]],
        keep: int = 1,
    ) -> None:
        self._loaders = dict(loaders)
        self._keep = keep
        self._recent: dict[str, pl.DataFrame] = {}

    def __getitem__(self, name: str) -> pl.DataFrame:
        recent = self._recent.pop(name, None)
        if recent is None:
            loader = self._loaders[name]
            recent = loader.collect() if isinstance(loader, pl.LazyFrame) else loader()
        self._recent[name] = recent
        while len(self._recent) > self._keep:
            del self._recent[next(iter(self._recent))]
        return recent

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaders)

    def __len__(self) -> int:
        return len(self._loaders)


def compute_fingerprint(
    tables: Mapping[str, pl.DataFrame],
    input_checksums: Sequence[str],
    version: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
) -> str:
    """What a release is made of: inputs, code, settings and the content of every table.

    Two runs with the same fingerprint would publish the same thing, so the second publishes
    nothing. The table digest is order-insensitive (sum of row hashes) and includes the schema.
    """
    digest = hashlib.sha256()
    for checksum in sorted(input_checksums):
        digest.update(checksum.encode())
    digest.update(json.dumps(dict(version), sort_keys=True).encode())
    digest.update(json.dumps(dict(extra or {}), sort_keys=True, default=str).encode())
    for name in sorted(tables):
        # floats to 9 significant digits: parallel sums differ in their last bits between two
        # runs on the same inputs, which is not a change worth a release
        frame = tables[name].with_columns(cs.float().round_sig_figs(SIGNIFICANT_DIGITS))
        rows = frame.hash_rows(seed=0, seed_1=1, seed_2=2, seed_3=3).sum() if frame.height else 0
        digest.update(f"{name}|{frame.height}|{frame.schema}|{rows}".encode())
    return digest.hexdigest()


def _partition_dir(column: str, value: Any) -> str:
    """`niveau=commune`; values outside [A-Za-z0-9_-] are percent-encoded (hive convention)."""
    if value is None:
        return f"{column}=__HIVE_DEFAULT_PARTITION__"
    return f"{column}={quote(str(value), safe='')}"


def _write_file(frame: pl.DataFrame, folder: Path, relative: str) -> dict[str, Any]:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(path, compression="zstd", statistics=True, row_group_size=ROW_GROUP_SIZE)
    path.chmod(0o444)  # a release is immutable
    return {
        "path": relative,
        "rows": frame.height,
        "bytes": path.stat().st_size,
        "sha256": sha256_file(path),
    }


def write_table(
    frame: pl.DataFrame, folder: Path, name: str, layout: TableLayout
) -> list[dict[str, Any]]:
    """Write one table, sorted by its key, as one file or one file per partition value.

    A partitioned table is written one part at a time, each filtered then sorted: one part
    and its sorted copy in memory beside the table, not every part at once (splitting the
    national `indicateurs` whole cost 0.15 GB more at the run's peak).
    """

    def trie(part: pl.DataFrame) -> pl.DataFrame:
        if not layout.sort_by:
            return part
        return part.sort(list(layout.sort_by), nulls_last=True, maintain_order=True)

    if layout.partition_by is None:
        return [_write_file(trie(frame), folder, f"{name}.parquet")]
    entries = []
    column = pl.col(layout.partition_by)
    for value in sorted(frame[layout.partition_by].unique().to_list(), key=str):
        relative = f"{name}/{_partition_dir(layout.partition_by, value)}/part-0.parquet"
        part = frame.filter(column.is_null() if value is None else column == value)
        entries.append(
            {**_write_file(trie(part), folder, relative), "partition": {layout.partition_by: value}}
        )
    return entries


def read_manifest(release: Path) -> dict[str, Any]:
    """A release's manifest (tables, files and checksums, sources, lineage)."""
    return json.loads((release / "manifest.json").read_text(encoding="utf-8"))


def scan_table(release: Path, name: str, manifest: Mapping[str, Any]) -> pl.LazyFrame:
    """A published table as a scan of its files: a query reads only the columns it uses."""
    files = [release / entry["path"] for entry in manifest["tables"][name]["files"]]
    return pl.scan_parquet(files, hive_partitioning=False) if files else pl.LazyFrame()


def read_table(release: Path, name: str, manifest: Mapping[str, Any] | None = None) -> pl.DataFrame:
    """A published table, whatever its layout, read through the release's manifest."""
    if manifest is None:
        manifest = read_manifest(release)
    return scan_table(release, name, manifest).collect()


def verify_release(folder: Path) -> dict[str, Any]:
    """Re-read the manifest and check every file's rows and sha256 against it."""
    manifest = read_manifest(folder)
    for name, table in manifest["tables"].items():
        total = 0
        for entry in table["files"]:
            path = folder / entry["path"]
            if not path.is_file():
                raise ReleaseError(f"{name}: {path} missing")
            if sha256_file(path) != entry["sha256"]:
                raise ReleaseError(f"{name}: {path} sha256 differs from the manifest")
            rows = pl.scan_parquet(path).select(pl.len()).collect().item()
            if rows != entry["rows"]:
                raise ReleaseError(f"{name}: {path} has {rows} rows, manifest says {entry['rows']}")
            total += rows
        if total != table["rows"]:
            raise ReleaseError(f"{name}: files hold {total} rows, manifest says {table['rows']}")
    for document, checksum in manifest.get("documents", {}).items():
        path = folder / document
        if not path.is_file() or sha256_file(path) != checksum:
            raise ReleaseError(f"{document}: missing or differs from the manifest")
    return manifest


def current_release(published_dir: Path) -> Path | None:
    """The folder `latest` points to, if any."""
    link = published_dir / "latest"
    return link.resolve() if link.is_symlink() and link.resolve().is_dir() else None


def nettoie_publication(published_dir: Path) -> list[Path]:
    """Remove what an interrupted publication left: its staging folder and a `latest` link
    made but never renamed. Runs are serialised by the run lock: nothing else writes there."""
    removed = []
    staging_root = published_dir / ".staging"
    if staging_root.exists():
        shutil.rmtree(staging_root, ignore_errors=True)
        removed.append(staging_root)
    for link in published_dir.glob(".latest-*") if published_dir.is_dir() else ():
        link.unlink(missing_ok=True)
        removed.append(link)
    return removed


def _switch_latest(published_dir: Path, release_id: str) -> None:
    link = published_dir / "latest"
    tmp = published_dir / f".latest-{release_id}"
    tmp.unlink(missing_ok=True)
    os.symlink(Path("releases") / release_id, tmp)
    os.replace(tmp, link)


def prune_releases(published_dir: Path, keep: int) -> tuple[str, ...]:
    """Delete the oldest releases beyond `keep`; never the one `latest` points to."""
    if keep < 1:
        raise ValueError(f"keep must be at least 1, got {keep}")
    releases = published_dir / "releases"
    if not releases.is_dir():
        return ()
    latest = current_release(published_dir)
    names = sorted(p.name for p in releases.iterdir() if RELEASE_ID.match(p.name))
    removable = [n for n in names[: max(len(names) - keep, 0)] if releases / n != latest]
    for name in removable:
        shutil.rmtree(releases / name)
    return tuple(removable)


def write_release(
    tables: Mapping[str, pl.DataFrame],
    published_dir: Path,
    sources: Sequence[Mapping[str, Any]],
    extra: Mapping[str, Any] | None = None,
    created_at: datetime | None = None,
    layouts: Mapping[str, TableLayout] | None = None,
    lineage: Mapping[str, Sequence[str]] | None = None,
    documents: Documents | None = None,
    keep: int | None = None,
    code: Mapping[str, str | None] | None = None,
) -> Publication:
    """Write, verify and promote a release; `latest` moves last.

    `lineage` gives, per table, the source keys it derives from (copied with their vintages
    and checksums into the manifest); `documents(staging, manifest, previous)` writes the
    generated documents (changelog, datapackage…) and returns their relative paths. When
    nothing changed since `latest`, nothing is written and the current release is returned.
    `code`: the code version of the run (`code_version()`, taken when its code was loaded).
    """
    created_at = created_at or datetime.now(UTC)
    version = dict(code) if code is not None else code_version()
    # a partner file altered since landing counts with the bytes found (it was refused)
    checksums = [s["sha256"] for s in sources]
    checksums += [str(s["sha256_constate"]) for s in sources if s.get("sha256_constate")]
    fingerprint = compute_fingerprint(tables, checksums, version, extra)
    previous = current_release(published_dir)
    if previous is not None:
        previous_manifest = json.loads((previous / "manifest.json").read_text(encoding="utf-8"))
        if previous_manifest.get("empreinte") == fingerprint:
            return Publication(previous, nouvelle=False)
    release_id = compute_release_id(created_at, [*checksums, fingerprint], version)
    releases = published_dir / "releases"
    final = releases / release_id
    staging_root = published_dir / ".staging"
    if final.exists():
        raise ReleaseError(f"release {release_id} already exists")
    # a run killed mid-write leaves its staging folder behind: runs are serialised by a lock
    nettoie_publication(published_dir)
    staging = staging_root / release_id
    staging.mkdir(parents=True)
    layouts = layouts or {}
    by_key = {s["source"]: s for s in sources if "source" in s}
    try:
        table_entries = {}
        for name, frame in tables.items():
            layout = layouts.get(name, TableLayout())
            table_entries[name] = {
                "files": write_table(frame, staging, name, layout),
                "rows": frame.height,
                "columns": frame.columns,
                "partition_by": layout.partition_by,
                "sort_by": list(layout.sort_by),
            }
            if lineage is not None:
                keys = sorted(lineage.get(name, ()))
                table_entries[name]["sources"] = [
                    {
                        k: by_key[key].get(k)
                        for k in ("source", "millesime", "annee", "chemin", "sha256", "url")
                    }
                    for key in keys
                    if key in by_key
                ]
        manifest: dict[str, Any] = {
            "release_id": release_id,
            "created_at": created_at.astimezone(UTC).isoformat(timespec="seconds"),
            "code_version": version,
            "empreinte": fingerprint,
            "precedente": previous.name if previous is not None else None,
            **(dict(extra) if extra else {}),
            "tables": table_entries,
            "sources": [dict(s) for s in sources],
        }
        if documents is not None:
            written = documents(staging, manifest, previous)
            manifest["documents"] = {
                relative: sha256_file(staging / relative) for relative in sorted(written)
            }
        (staging / "manifest.json").write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
        )
        for document in (*manifest.get("documents", {}), "manifest.json"):
            (staging / document).chmod(0o444)
        verify_release(staging)
        releases.mkdir(parents=True, exist_ok=True)
        os.rename(staging, final)
        with contextlib.suppress(OSError):
            staging_root.rmdir()
    except BaseException:  # a full disk, a failed check: nothing of this release is left
        shutil.rmtree(staging, ignore_errors=True)
        with contextlib.suppress(OSError):
            staging_root.rmdir()
        raise
    _switch_latest(published_dir, release_id)
    pruned = prune_releases(published_dir, keep) if keep else ()
    return Publication(final, nouvelle=True, pruned=pruned)
