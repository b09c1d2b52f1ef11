"""The Dagster catalog documents itself, checked as the UI reads it: through Dagster's GraphQL
API, on the code location `observatory.definitions` loaded in-process (what `dagster dev`
serves, without starting the webserver)."""

from __future__ import annotations

import re
import sys

import dagster as dg
import pytest
from dagster._core.test_utils import in_process_test_workspace
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster_graphql.test.utils import execute_dagster_graphql

from observatory.defs.catalog import OWNER
from observatory.defs.publish import TABLES
from observatory.defs.schedules import FRESHNESS_SENSOR
from observatory.publish.schemas import load_table_schema
from observatory.settings import PROJECT_ROOT

CATALOGUE = """
query Catalogue {
  assetNodes {
    assetKey { path }
    description
    groupName
    kinds
    owners { ... on TeamAssetOwner { team } ... on UserAssetOwner { email } }
    metadataEntries {
      label
      ... on TableSchemaMetadataEntry {
        schema { columns { name type description constraints { nullable } } }
      }
    }
  }
}
"""
SENSORS = """
query Capteurs {
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes { sensors { name sensorState { status } } }
    }
  }
}
"""
# English function words: a description that uses them is not in French
ANGLAIS = re.compile(r"(?i)\b(the|of|with|every|each|and|from|per|which|its|is)\b")


@pytest.fixture(scope="module")
def graphql(tmp_path_factory: pytest.TempPathFactory):
    """Run a GraphQL query against the code location, as the webserver would."""
    data_dir = tmp_path_factory.mktemp("data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OBSERVATORY_DATA_DIR", str(data_dir))
        origin = LoadableTargetOrigin(
            executable_path=sys.executable,
            module_name="observatory.definitions",
            attribute="defs",
            working_directory=str(PROJECT_ROOT),
        )
        with (
            dg.instance_for_test() as instance,
            in_process_test_workspace(instance, origin) as context,
        ):

            def run(query: str) -> dict:
                result = execute_dagster_graphql(context, query)
                assert not result.errors, result.errors
                return result.data

            yield run


def test_every_published_asset_lists_its_columns_with_french_descriptions(graphql) -> None:
    nodes = {"/".join(n["assetKey"]["path"]): n for n in graphql(CATALOGUE)["assetNodes"]}
    for table in TABLES:
        node = nodes[f"pub_{table}"]
        schemas = [e["schema"] for e in node["metadataEntries"] if "schema" in e]
        assert len(schemas) == 1, table
        columns = {c["name"]: c for c in schemas[0]["columns"]}
        fields = load_table_schema(PROJECT_ROOT / "schemas", table)["fields"]
        assert list(columns) == [f["name"] for f in fields], table  # every column, in order
        for field in fields:
            column = columns[field["name"]]
            assert column["description"].startswith(field["title"]), (table, field["name"])
            required = field.get("constraints", {}).get("required", False)
            assert column["constraints"]["nullable"] is (not required), (table, field["name"])
        assert node["description"].startswith(
            load_table_schema(PROJECT_ROOT / "schemas", table)["title"]
        )
        assert {"polars", "parquet"} <= set(node["kinds"])
    large = {
        c["name"]: c
        for e in nodes["pub_indicateurs_large"]["metadataEntries"]
        if "schema" in e
        for c in e["schema"]["columns"]
    }
    assert large["nb_lieux_demarches"]["type"] == "entier"  # a count, INTEGER in SQL too
    assert "d'un lieu d'aide" in large["part_pop_lieu_demarches_plus_10km"]["description"]


def test_every_asset_has_a_french_description_an_owner_and_a_layer(graphql) -> None:
    nodes = graphql(CATALOGUE)["assetNodes"]
    assert len(nodes) > 100
    english = {
        "/".join(n["assetKey"]["path"]): n["description"]
        for n in nodes
        if not n["description"] or ANGLAIS.search(n["description"])
    }
    assert english == {}
    assert all(n["owners"] == [{"team": OWNER.removeprefix("team:")}] for n in nodes)
    assert {n["groupName"] for n in nodes} == {
        "raw",
        "staging",
        "intermediate",
        "indicators",
        "publish",
    }
    assert all(n["kinds"] for n in nodes)


def test_freshness_sensor_starts_stopped_and_the_inbox_sensor_running(graphql) -> None:
    repositories = graphql(SENSORS)["repositoriesOrError"]["nodes"]
    status = {s["name"]: s["sensorState"]["status"] for r in repositories for s in r["sensors"]}
    assert status[FRESHNESS_SENSOR] == "STOPPED"
    assert status["inbox_partenaires"] == "RUNNING"
