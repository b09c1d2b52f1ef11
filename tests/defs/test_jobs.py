"""What `observatory run` tells its user when a blocking check fails or only the SQL copy does."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from observatory import cli
from observatory.defs import jobs
from observatory.defs.checks import NOM_CHECK_ATTENTES, NOM_CHECK_DONNEES_PERSONNELLES
from observatory.defs.jobs import RunOutcome
from tests.defs.test_checks import GOOD, _check, _run

MOBILES = GOOD.with_columns(
    pl.Series("courriel", ["Jean 06 12 34 56 78", "marie.durand@gmail.com et 07 98 76 54 32"])
)


def test_a_failed_personal_data_check_prints_the_finding_not_a_ui_pointer(tmp_path: Path) -> None:
    """Guarantee: the CLI line of a failed blocking check names the table, the column, the
    count and the masked values: never the raw value, never "see the Dagster UI"."""
    result = _run(MOBILES, tmp_path)
    line = jobs._failed_check(_check(result, NOM_CHECK_DONNEES_PERSONNELLES))
    assert line.startswith(
        "pub_essai/sans_donnees_personnelles: contrôle bloquant en échec, rien n'est publié : "
        "table essai : 3 donnée(s) personnelle(s) trouvée(s) (colonne courriel : 1 × "
        "courriel_personnel; colonne courriel : 2 × telephone_mobile) ; exemples masqués : "
    )
    assert "ligne 1 colonne courriel « 06 ** ** ** 78 »" in line
    assert "ligne 2 colonne courriel « m***.d***@gmail.com »" in line
    for raw in ("06 12 34 56 78", "marie.durand", "07 98 76 54 32"):
        assert raw not in line
    assert "Dagster" not in line and "métadonnées" not in line


def test_a_failed_schema_check_prints_the_failed_expectations(tmp_path: Path) -> None:
    result = _run(GOOD.with_columns(pl.Series("code", ["16015", "1607"])), tmp_path)
    line = jobs._failed_check(_check(result, NOM_CHECK_ATTENTES))
    assert "pub_essai: code:" in line and "1607" in line and "Dagster" not in line


def test_only_the_sql_copy_failing_exits_5_saying_the_parquet_release_is_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Guarantee: when the release is published and only `pub_sql` failed, the exit status
    (5) and the message say so; any other failure exits 1 saying `latest` did not move."""
    release = tmp_path / "data/published/releases/20260101T000000Z-aaaaaaaaaa"
    sql_error = "pub_sql: DatabasePublicationError: copie SQL en échec : disque plein"

    def outcome(**fields: object) -> RunOutcome:
        return RunOutcome(
            **{"success": False, "release": release, "errors": [sql_error], "run_id": "r1"} | fields
        )  # type: ignore[arg-type]

    monkeypatch.setattr(jobs, "materialize_all", lambda *a, **k: outcome(failed_steps=("pub_sql",)))
    args = ["run", "--data-dir", str(tmp_path / "data"), "--quiet"]
    assert cli.main(args) == cli.EXIT_SQL == 5
    out, err = capsys.readouterr()
    assert out.strip() == str(release)
    assert f"release Parquet publiée ({release}, `latest`) ; seule la copie SQL a échoué" in err
    assert sql_error in err

    failed_release = "release: OSError: [Errno 28] No space left on device"
    monkeypatch.setattr(
        jobs,
        "materialize_all",
        lambda *a, **k: outcome(release=None, errors=[failed_release], failed_steps=("release",)),
    )
    assert cli.main(args) == cli.EXIT_FAILED == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert failed_release in err
    assert "aucune release Parquet publiée : `latest` n'existe pas encore" in err


def test_a_partial_rerun_publishes_what_a_complete_run_would(tmp_path: Path) -> None:
    """A new partner file: the rerun materialises only part of the graph, and a complete run
    afterwards (`tout`) finds the very same tables and lineage, so publishes nothing."""
    import shutil

    from dagster import DagsterInstance

    from observatory.progress import PLAN
    from observatory.settings import PROJECT_ROOT, Settings

    settings = Settings(data_dir=tmp_path / "data")
    plans: list[int] = []

    def run(tout: bool = False) -> RunOutcome:
        outcome = jobs.materialize_all(
            settings,
            instance=DagsterInstance.ephemeral(),
            listener=lambda e: plans.append(len(e.metadata["steps"])) if e.kind == PLAN else None,
            tout=tout,
        )
        assert outcome.success, outcome.errors
        return outcome

    premier = run()
    depot = settings.data_dir / "inbox" / "hubik_pyrenees_atlantiques"
    depot.mkdir(parents=True)
    shutil.copy(
        PROJECT_ROOT
        / "tests/fixtures/partners/real/raw_hub_hubik_pyrenees_atlantiques_64_2020.csv",
        depot,
    )
    partiel = run()
    assert partiel.new_release and partiel.release != premier.release
    assert plans[1] < plans[0] / 3  # only the partner's assets and what depends on them
    complet = run(tout=True)
    assert plans[2] == plans[0]
    assert not complet.new_release and complet.release == partiel.release
