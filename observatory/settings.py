"""Settings read from OBSERVATORY_* environment variables, and the paths they imply.

One frozen object is built per run and handed to Dagster as a resource, so every asset
sees the same data directory and profile.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

# Benchmark only: `bench/generate.py --scale 10` copies every commune, EPCI and IRIS nine
# times under the real code followed by `S1`…`S9` (no real code has an `S`). Such codes are
# accepted only when OBSERVATORY_BENCH_CODES_SYNTHETIQUES=1 is set before the package is
# imported; never set it for real data.
CODES_SYNTHETIQUES = os.environ.get("OBSERVATORY_BENCH_CODES_SYNTHETIQUES") == "1"
SUFFIXE_SYNTHETIQUE = r"S[1-9]"
COPIES_SYNTHETIQUES_MAX = 10  # the real territory and its copies S1…S9

PROFILES = ("offline", "live")
PROJECT_ROOT = Path(__file__).resolve().parent.parent  # the checkout (meaningless once installed)
# The folders read at run time. The repository keeps them at its top level; a wheel carries them
# in the package, under `observatory/_data/` (copied there by build_hooks.py), with BUILD_INFO.
DATA_FOLDERS = ("assets", "schemas", "dbt_like_sql", "docs")
BUILD_INFO = "BUILD_INFO.json"


def package_data_root() -> Path:
    """`observatory/_data` of the installed package (present in a wheel install only)."""
    return Path(str(resources.files("observatory").joinpath("_data")))


def bundled(name: str) -> Path:
    """One of DATA_FOLDERS: from the installed package, else from the checkout (editable).

    When neither has it, the package's path is returned, so that the error a reader then
    raises names where the folder was expected.
    """
    if name not in DATA_FOLDERS:
        raise ValueError(f"{name!r} is not one of the bundled folders {DATA_FOLDERS}")
    installed = package_data_root() / name
    if installed.is_dir() or not (PROJECT_ROOT / name).is_dir():
        return installed
    return PROJECT_ROOT / name


SCHEMAS_DIR = bundled("schemas")  # default of the publishers' `schemas_dir` arguments


def installed_build_info() -> dict[str, Any] | None:
    """What the wheel recorded when it was built (git commit), or None outside a wheel install."""
    path = package_data_root() / BUILD_INFO
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


@dataclass(frozen=True)
class Settings:
    """Where the pipeline reads and writes, and which sources it uses."""

    data_dir: Path
    profile: str = "offline"
    assets_dir: Path = field(default_factory=lambda: bundled("assets"))
    sql_dir: Path = field(default_factory=lambda: bundled("dbt_like_sql"))
    schemas_dir: Path = field(default_factory=lambda: bundled("schemas"))
    zonages_dir: Path | None = None  # users' zonings (territoires_personnalises/)
    keep_releases: int = 10  # releases kept on disk; the oldest beyond are pruned, never latest

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(
                f"OBSERVATORY_PROFILE={self.profile!r} is not a profile; expected one of {PROFILES}"
            )

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def quarantine_dir(self) -> Path:
        return self.data_dir / "quarantine"

    @property
    def warehouse_dir(self) -> Path:
        """Intermediate asset values (Parquet written by the IO manager)."""
        return self.data_dir / "warehouse"

    @property
    def published_dir(self) -> Path:
        return self.data_dir / "published"


PATH_FIELDS = ("data_dir", "assets_dir", "sql_dir", "schemas_dir", "zonages_dir")
FIELDS = (*PATH_FIELDS[:1], "profile", *PATH_FIELDS[1:], "keep_releases")


def settings_fields(settings: Settings) -> dict[str, str | int | None]:
    """`Settings` as plain values (paths as strings): a Dagster resource's config, or the
    arguments of a job rebuilt by name; `settings_from_fields` reads them back."""
    values = {name: getattr(settings, name) for name in FIELDS}
    return {k: (str(v) if v else None) if k in PATH_FIELDS else v for k, v in values.items()}


def settings_from_fields(**fields: str | int | None) -> Settings:
    """The `Settings` of `settings_fields` values (an empty path is no path)."""
    values = {
        k: (Path(str(v)) if v else None) if k in PATH_FIELDS else v for k, v in fields.items()
    }
    return Settings(**values)  # type: ignore[arg-type]


def load_settings(data_dir: str | Path | None = None, profile: str | None = None) -> Settings:
    """Settings from arguments, else OBSERVATORY_* variables, else defaults."""
    env = os.environ
    resolved = Path(data_dir or env.get("OBSERVATORY_DATA_DIR") or "data").expanduser().resolve()
    kwargs: dict[str, Path | None] = {}
    if env.get("OBSERVATORY_ASSETS_DIR"):
        kwargs["assets_dir"] = Path(env["OBSERVATORY_ASSETS_DIR"]).resolve()
    if env.get("OBSERVATORY_ZONAGES_DIR"):
        kwargs["zonages_dir"] = Path(env["OBSERVATORY_ZONAGES_DIR"]).expanduser().resolve()
    if env.get("OBSERVATORY_SQL_DIR"):
        kwargs["sql_dir"] = Path(env["OBSERVATORY_SQL_DIR"]).resolve()
    keep = env.get("OBSERVATORY_KEEP_RELEASES") or "10"
    if not keep.isdigit() or int(keep) < 1:
        raise ValueError(f"OBSERVATORY_KEEP_RELEASES={keep!r} must be a whole number >= 1")
    return Settings(
        data_dir=resolved,
        profile=profile or env.get("OBSERVATORY_PROFILE") or "offline",
        keep_releases=int(keep),
        **kwargs,
    )
