"""The definitions load, every SQL model parses and resolves, names follow the layers."""

import dagster as dg
import pytest

from observatory.defs import build_definitions
from observatory.settings import PROJECT_ROOT, Settings
from observatory.sqlmodels.loader import discover

LAYER_GROUPS = {
    "raw_": "raw",
    "stg_": "staging",
    "int__": "intermediate",
    "ind_": "indicators",
    "pub_": "publish",
}


@pytest.fixture(scope="module")
def defs(tmp_path_factory) -> dg.Definitions:
    return build_definitions(Settings(data_dir=tmp_path_factory.mktemp("data")))


def test_module_loads() -> None:
    from observatory.definitions import defs

    assert isinstance(defs, dg.Definitions)


def test_assets_are_layered_and_grouped(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups.pop("release") == "publish"
    for name, group in groups.items():
        prefix = next((p for p in LAYER_GROUPS if name.startswith(p)), None)
        assert prefix is not None, f"{name} does not follow raw_/stg_/int__/ind_/pub_"
        assert group == LAYER_GROUPS[prefix], name
    assert {
        "raw_cog__communes",
        "stg_mednum__lieux",
        "int__lieux",
        "ind_offre",
        "pub_indicateurs",
    } <= set(groups)


def test_every_sql_model_is_an_asset_with_its_dependencies(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    models = discover(PROJECT_ROOT / "dbt_like_sql")
    assert models, "no SQL model found"
    for model in models:
        key = dg.AssetKey(model.name)
        assert key in graph.get_all_asset_keys(), model.path
        parents = {k.to_user_string() for k in graph.get(key).parent_keys}
        assert parents == set(model.dependencies), model.path


def test_raw_assets_feed_staging(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        name = key.to_user_string()
        parents = {k.to_user_string() for k in graph.get(key).parent_keys}
        if name.startswith("stg_"):
            assert parents and all(p.startswith("raw_") for p in parents), name
        if name.startswith("int__"):
            assert all(p.startswith(("stg_", "int__")) for p in parents), name


def test_job_resolves(defs: dg.Definitions) -> None:
    job = defs.resolve_implicit_global_asset_job_def()
    assert len(job.asset_layer.executable_asset_keys) >= 20


def test_schema_checks_block_on_published_tables_and_warn_on_staged_registries(
    defs: dg.Definitions,
) -> None:
    graph = defs.resolve_asset_graph()
    checks = {key.asset_key.to_user_string(): key for key in graph.asset_check_keys}
    specs = {
        spec.key: spec for checks_def in defs.asset_checks or [] for spec in checks_def.check_specs
    }
    for table in ("territoires", "indicateurs", "lieux", "orientation"):
        spec = specs[dg.AssetCheckKey(dg.AssetKey(f"pub_{table}"), "attentes_schema")]
        assert spec.blocking, table
    for registry in ("stg_mednum__lieux", "stg_france_services__lieux"):
        assert registry in checks
        spec = specs[dg.AssetCheckKey(dg.AssetKey(registry), "attentes_schema")]
        assert not spec.blocking, registry
