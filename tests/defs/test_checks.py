"""Asset checks from the Table Schemas: a failing blocking check keeps `latest` where it was."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from observatory.defs.checks import (
    NOM_CHECK_ATTENTES,
    NOM_CHECK_DONNEES_PERSONNELLES,
    build_personal_data_checks,
    build_schema_checks,
)
from observatory.publish.release import write_release
from observatory.sources.readers import prenoms

SCHEMA = {
    "name": "essai",
    "primaryKey": ["code"],
    "fields": [
        {"name": "code", "type": "string", "constraints": {"pattern": "\\d{5}"}},
        {"name": "courriel", "type": "string"},
    ],
}
GOOD = pl.DataFrame({"code": ["16015", "16070"], "courriel": ["accueil@mairie.fr", None]})
BAD_CODE = GOOD.with_columns(pl.Series("code", ["16015", "1607"]))
PERSONAL = GOOD.with_columns(pl.Series("courriel", ["jean.dupont@mairie.fr", None]))


def _run(frame: pl.DataFrame, published: Path, blocking: bool = True) -> dg.ExecuteInProcessResult:
    @dg.asset(name="pub_essai")
    def pub_essai() -> pl.DataFrame:
        return frame

    @dg.asset(name="release", deps=[pub_essai], ins={"pub_essai": dg.AssetIn("pub_essai")})
    def release(pub_essai: pl.DataFrame) -> None:
        write_release({"essai": pub_essai}, published, sources=[])

    @dg.asset(name="stg_insee__prenoms")
    def stg_insee__prenoms() -> pl.DataFrame:
        return pl.DataFrame({"prenom": sorted(prenoms())})

    checks = build_schema_checks({"pub_essai": SCHEMA}, blocking=blocking)
    if blocking:
        checks += build_personal_data_checks(["pub_essai"])
    return dg.materialize(
        [pub_essai, release, stg_insee__prenoms, *checks],
        raise_on_error=False,
        resources={"io_manager": dg.mem_io_manager},
    )


def _check(result: dg.ExecuteInProcessResult, name: str) -> dg.AssetCheckEvaluation:
    (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == name]
    return evaluation


def _latest(published: Path) -> str | None:
    link = published / "latest"
    return link.resolve().name if link.exists() else None


@pytest.mark.parametrize(
    ("bad", "check", "metadata_key"),
    [
        (BAD_CODE, NOM_CHECK_ATTENTES, "attentes_echouees"),
        (PERSONAL, NOM_CHECK_DONNEES_PERSONNELLES, "exemples_masques"),
    ],
)
def test_failing_blocking_check_keeps_latest(
    tmp_path: Path, bad: pl.DataFrame, check: str, metadata_key: str
) -> None:
    first = _run(GOOD, tmp_path)
    assert first.success
    assert _check(first, NOM_CHECK_ATTENTES).passed
    previous = _latest(tmp_path)
    assert previous is not None

    second = _run(bad, tmp_path)
    assert not second.success
    evaluation = _check(second, check)
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.metadata[metadata_key].value  # failed expectations / masked samples
    assert not second.asset_materializations_for_node("release")
    assert _latest(tmp_path) == previous
    assert len(list((tmp_path / "releases").iterdir())) == 1


def test_input_checks_only_warn(tmp_path: Path) -> None:
    result = _run(BAD_CODE, tmp_path, blocking=False)
    evaluation = _check(result, NOM_CHECK_ATTENTES)
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
    assert evaluation.metadata["nb_echecs"].value == 1
    assert result.success and result.asset_materializations_for_node("release")
