"""The README's "query the observatory" examples run as written against a real release."""

import contextlib
import io
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from observatory import cli
from observatory.publish.release import read_table
from observatory.settings import PROJECT_ROOT

pytestmark = pytest.mark.real_data


def example(name: str) -> str:
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- readme-example: {name} -->\n```\w+\n(.*?)```", text, re.DOTALL)
    assert match, f"README has no example {name!r}"
    return match.group(1)


@pytest.fixture(scope="module")
def workdir(pipeline_run, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder whose `data/` is the end-to-end run's data directory, as after `observatory run`."""
    folder = tmp_path_factory.mktemp("readme")
    os.symlink(pipeline_run[0].data_dir, folder / "data")
    return folder


@pytest.mark.parametrize("name", ["polars", "duckdb", "zonage"])
def test_python_examples_run_as_written(workdir: Path, name: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", example(name)], cwd=workdir, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip()  # they print what they found


def test_sql_example_runs_on_the_sqlite_publication(workdir: Path) -> None:
    with sqlite3.connect(workdir / "data/published/observatory.sqlite") as connection:
        rows = connection.execute(example("sql")).fetchall()
    assert len(rows) == 10
    assert all(isinstance(code, str) and len(code) == 9 for code, *_ in rows)


def test_polars_example_puts_unknown_values_last(workdir: Path, monkeypatch) -> None:
    """The EPCI with the most people in illectronisme come first, not those whose value is
    unknown (null): `nulls_last=True`."""
    monkeypatch.chdir(workdir)
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(example("polars"), namespace)
    epci = namespace["epci"]
    valeurs = epci["nb_illectronisme"]
    assert valeurs.null_count() > 0  # Mayotte's EPCI: unknown, so the order matters
    connus = valeurs.len() - valeurs.null_count()
    assert valeurs.head(connus).null_count() == 0
    assert valeurs.head(connus).to_list() == sorted(valeurs.drop_nulls(), reverse=True)


def test_sql_example_sorts_nulls_last_and_counts_are_integers(workdir: Path) -> None:
    with sqlite3.connect(workdir / "data/published/observatory.sqlite") as connection:
        rows = connection.execute(example("sql")).fetchall()
    assert all(isinstance(lieux, int) for _, _, lieux, _ in rows)  # INTEGER, not REAL
    distances = [distance for *_, distance in rows]
    assert None not in distances and distances == sorted(distances, reverse=True)


# --- figures of the README, checked against the release of the end-to-end run ----------------

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def nombre(texte: str) -> float:
    """`34 875` → 34875, `46.3` → 46.3 (the README writes numbers in English prose)."""
    return float(texte.replace(" ", "").replace("\u202f", ""))


def test_territory_counts_are_the_releases(pipeline_run) -> None:
    _settings, outcome = pipeline_run
    territoires = read_table(outcome.release, "territoires")
    par_niveau = dict(territoires.group_by("niveau").len().iter_rows())
    match = re.search(
        r"the ([\d ]+) communes of metropolitan France and the DROM \(COG 2026\), ([\d ]+) EPCI, "
        r"([\d ]+) bassins de vie 2022, (\d+) départements, (\d+) régions",
        README,
    )
    assert match, "README: the sentence counting the territories has changed"
    niveaux = ("commune", "epci", "bassin_de_vie", "departement", "region")
    assert [nombre(n) for n in match.groups()] == [par_niveau[n] for n in niveaux]


def test_worked_zoning_table_is_the_releases(pipeline_run) -> None:
    """Communes and population of each zone of `territoires_personnalises_exemple`."""
    _settings, outcome = pipeline_run
    niveau = "zonage:charente_3_zones"
    population = dict(
        read_table(outcome.release, "territoires")
        .filter(pl.col("niveau") == niveau)
        .select("code", "population")
        .iter_rows()
    )
    # `nb_communes`: the communes of the territory, the same for every source
    communes = dict(
        read_table(outcome.release, "couverture_sources")
        .filter(pl.col("niveau") == niveau)
        .select("code", "nb_communes")
        .unique()
        .iter_rows()
    )
    assert len(communes) == len(population)
    lignes = re.findall(r"^\| `(\w+)` \| [^|]+ \| (\d+) \| ([\d ]+) \|$", README, re.MULTILINE)
    assert {zone for zone, *_ in lignes} == set(population) == {"nord", "centre", "sud_ouest"}
    for zone, nb_communes, habitants in lignes:
        assert (int(nb_communes), nombre(habitants)) == (communes[zone], population[zone]), zone


def test_places_rebasing_and_scope_figures_are_the_runs(pipeline_run) -> None:
    settings, outcome = pipeline_run
    match = re.search(r"run gathers ([\d ]+) records into ([\d ]+) places", README)
    assert match, "README: the sentence on merged places has changed"
    records = pl.read_parquet(settings.warehouse_dir / "int__lieux_resolus.parquet").height
    places = read_table(outcome.release, "lieux").height
    assert [nombre(n) for n in match.groups()] == [records, places]

    match = re.search(
        r"Filosofi 2016: ([\d ]+) rows,.*?(\d+) arrondissements rejected", README, re.S
    )
    assert match, "README: the sentence on Filosofi's rebasing has changed"
    staged = pl.read_parquet(settings.warehouse_dir / "stg_insee__filosofi_communes.parquet")
    rejected = pl.read_parquet(settings.quarantine_dir / "int__insee__filosofi_communes.parquet")
    assert [nombre(n) for n in match.groups()] == [staged.height, rejected.height]

    match = re.search(r"The (\d+) communes\s+of overseas collectivities", README)
    assert match, "README: the sentence on the scope has changed"
    cog = pl.read_parquet(settings.quarantine_dir / "stg_cog__communes.parquet")
    assert nombre(match.group(1)) == cog.filter(pl.col("code_raison") == "hors_perimetre").height


def test_run_time_is_the_benchmarks() -> None:
    """The README's run time is the last benchmark's, not a guess."""
    results = (PROJECT_ROOT / "bench/RESULTS.md").read_text(encoding="utf-8")
    bench = re.search(
        r"\| national full run ≤ 12× the floor \(median of 3\) \| ([\d.]+) s = ([\d.]+)× \|",
        results,
    )
    floor = re.search(r"\| I/O floor: [^|]+\| ([\d.]+) s \(read", results)
    readme = re.search(
        r"national full run ([\d.]+) s \(median of 3[^)]*\),\s+([\d.]+)× its I/O floor of\s+"
        r"([\d.]+) s",
        README,
    )
    assert bench and floor and readme
    assert readme.groups() == (*bench.groups(), floor.group(1))
    assert not re.search(r"~\s?\d+ s\b", README)  # no unmeasured "~10 s"


def test_exit_codes_are_the_clis() -> None:
    paragraph = README.split("<!-- exit-codes -->", 1)[1].split("\n\n", 1)[0]
    documented = {int(code) for code in re.findall(r"[:,]\s+(\d)\s", paragraph)}
    defined = {value for name, value in vars(cli).items() if name.startswith("EXIT_")}
    assert documented == defined == {0, 1, 2, 3, 4, 5}  # 5: SQL copy behind
