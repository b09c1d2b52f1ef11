"""Dagster side: one raw and one staging asset per partner; the inbox sensor asks for a run of
that partner's assets only, once per new file; materialising them lands, reads, quarantines
and writes the producer's feedback."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from observatory.defs.partners import SENSOR, build_partner_definitions
from observatory.defs.resources import ObservatoryResource, build_resources
from observatory.settings import Settings

DEFECTS = Path(__file__).resolve().parents[1] / "fixtures/partners/defects"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def resource(settings: Settings) -> ObservatoryResource:
    return build_resources(settings)["observatory"]


def drop(settings: Settings, partner: str, fixture: str) -> None:
    folder = settings.data_dir / "inbox" / partner
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DEFECTS / fixture, folder / fixture)


def evaluate(settings: Settings) -> list[dg.RunRequest]:
    """One tick of the sensor, inside the partners' definitions."""
    assets, (sensor,) = build_partner_definitions(settings)
    defs = dg.Definitions(assets=assets, sensors=[sensor], resources=build_resources(settings))
    context = dg.build_sensor_context(
        definitions=defs, resources={"observatory": resource(settings)}
    )
    result = sensor.evaluate_tick(context)
    return list(result.run_requests or [])


def test_assets_per_partner(settings: Settings) -> None:
    assets, sensors = build_partner_definitions(settings)
    keys = {k.to_user_string() for a in assets for k in a.keys}
    assert {"raw_partenaire__departement_gironde", "stg_partenaire__departement_gironde"} <= keys
    assert len(keys) == 2 * len(list((settings.schemas_dir / "partners").glob("*.yaml")))
    assert [s.name for s in sensors] == [SENSOR]
    dg.Definitions(assets=assets, sensors=sensors, resources=build_resources(settings))


def test_sensor_requests_only_that_partners_assets(settings: Settings) -> None:
    assets, _ = build_partner_definitions(settings)
    assert evaluate(settings) == []
    drop(settings, "exemple_pass_numerique", "pass_numerique.json")
    (request,) = evaluate(settings)
    assert {k.to_user_string() for k in request.asset_selection} == {
        "raw_partenaire__exemple_pass_numerique",
        "stg_partenaire__exemple_pass_numerique",
    }
    assert request.run_key.startswith("exemple_pass_numerique:")
    assert evaluate(settings)[0].run_key == request.run_key  # same files, same run key

    selected = [a for a in assets if set(a.keys) & set(request.asset_selection)]
    result = dg.materialize(selected, resources=build_resources(settings))
    assert result.success
    staged = result.output_for_node("stg_partenaire__exemple_pass_numerique")
    assert staged.height == 2 and staged["code"].to_list() == ["200070803", "243300316"]
    quarantine = pl.read_parquet(
        settings.quarantine_dir / "stg_partenaire__exemple_pass_numerique.parquet"
    )
    assert quarantine["code_raison"].to_list() == ["code_territoire_invalide"]
    retours = settings.data_dir / "retours/exemple_pass_numerique"
    assert "12345" in (retours / "pass_numerique.json.retour.html").read_text()
    assert evaluate(settings) == []  # landed: a re-drop is a no-op
    drop(settings, "exemple_pass_numerique", "tronque.json")
    (again,) = evaluate(settings)
    assert again.run_key != request.run_key
    result = dg.materialize(selected, resources=build_resources(settings))
    assert result.success  # an unreadable file is reported, it does not fail the partner
    materialization = result.asset_materializations_for_node(
        "stg_partenaire__exemple_pass_numerique"
    )[0]
    assert "tronqué" in str(materialization.metadata["fichiers_illisibles"].value)
    assert "tronqué" in (retours / "tronque.json.retour.html").read_text()
