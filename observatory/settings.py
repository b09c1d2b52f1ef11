"""Settings read from OBSERVATORY_* environment variables, and the paths they imply.

One frozen object is built per run and handed to Dagster as a resource, so every asset
sees the same data directory and profile.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROFILES = ("offline", "live")
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """Where the pipeline reads and writes, and which sources it uses."""

    data_dir: Path
    profile: str = "offline"
    assets_dir: Path = PROJECT_ROOT / "assets"
    sql_dir: Path = PROJECT_ROOT / "dbt_like_sql"
    schemas_dir: Path = PROJECT_ROOT / "schemas"
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
