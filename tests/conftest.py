"""Shared fixtures. Data marked `real_data` is the real public snapshot bundled in assets/."""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import polars as pl
import pytest

from observatory.settings import PROJECT_ROOT, Settings
from observatory.sources.mednum import Standard, load_standard
from observatory.transforms.cog import stage_communes, stage_communes_deleguees, stage_coordonnees
from observatory.validation.quarantine import number_rows

ASSETS = PROJECT_ROOT / "assets"
CHARENTE = "charente_16_partially_migrated_v1_commit20250206.csv"
PARTNER_ACTIVITY = PROJECT_ROOT / "tests/fixtures/partners/activite"
PARTNER_ACTIVITY_FILES = {
    "exemple_diagnostics_autonomie": "diagnostics_charente_2023_2024.csv",
    "exemple_accompagnements": "accompagnements_2024.csv",
    "exemple_pass_numerique": "pass_numerique_2023.csv",
}


def read_numbered(path: Path, jeu: str = "test") -> pl.DataFrame:
    """A bundled CSV as strings with its identity columns, as the raw layer gives it."""
    return number_rows(pl.read_csv(path, infer_schema=False), jeu, path.name, "sha-test")


@pytest.fixture(scope="session")
def standard() -> Standard:
    return load_standard(PROJECT_ROOT / "schemas")


@functools.cache
def communes_cog() -> pl.DataFrame:
    """Real COG 2026 communes, staged (34 875 in scope)."""
    kept, _ = stage_communes(read_numbered(ASSETS / "cog_2026/communes.csv", "cog__communes"))
    return kept


@functools.cache
def communes_deleguees_cog() -> pl.DataFrame:
    return stage_communes_deleguees(
        pl.read_csv(
            ASSETS / "cog_2026/communes_deleguees_associees_arrondissements.csv", infer_schema=False
        )
    )


@functools.cache
def coordonnees_cog() -> pl.DataFrame:
    staged = stage_coordonnees(
        pl.read_parquet(ASSETS / "laposte_2023/communes_coordonnees_cog2026_national.parquet")
    )
    return staged.drop("coord_source")  # the point only


def territoires_communes(communes: pl.DataFrame, *colonnes: str) -> pl.DataFrame:
    """The commune rows of `territoires` from staged communes, with these of their columns."""
    return communes.select(
        pl.lit("commune").alias("niveau"), pl.col("code_commune").alias("code"), *colonnes
    )


@pytest.fixture(scope="session")
def communes() -> pl.DataFrame:
    return communes_cog()


@pytest.fixture(scope="session")
def communes_deleguees() -> pl.DataFrame:
    return communes_deleguees_cog()


@pytest.fixture(scope="session")
def coordonnees() -> pl.DataFrame:
    return coordonnees_cog()


@pytest.fixture(scope="session")
def charente_raw() -> pl.DataFrame:
    """The 188 real Charente lieux (standard v1, partially migrated), as strings."""
    return read_numbered(ASSETS / "mednum_lieux" / CHARENTE, "mednum__lieux")


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory):
    """One end-to-end materialisation into a temporary data dir, shared by the tests."""
    from dagster import DagsterInstance

    from observatory.defs.jobs import materialize_all

    # with the README's worked zoning example, so users' zonings go through the whole pipeline
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("data"),
        zonages_dir=PROJECT_ROOT / "territoires_personnalises_exemple",
    )
    # and partner activity files in the inbox (constructed: no real export is public), so the
    # partner indicators and their statistical secrecy go through the whole pipeline too
    for partenaire, fichier in PARTNER_ACTIVITY_FILES.items():
        inbox = settings.data_dir / "inbox" / partenaire
        inbox.mkdir(parents=True, exist_ok=True)
        shutil.copy(PARTNER_ACTIVITY / fichier, inbox / fichier)
    outcome = materialize_all(settings, instance=DagsterInstance.ephemeral())
    assert outcome.success, outcome.errors
    return settings, outcome


FIGURES: list[str] = []


def report(*parts: object) -> None:
    """Record a figure a test measured on real data; shown at the end of every run (CI log)."""
    FIGURES.append(" ".join(str(part) for part in parts))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("figures measured on the real data")
        for figure in FIGURES:
            terminalreporter.write_line(figure.strip("\n"))
