"""Operations: schedules, sensors and freshness checks load; the instance runs on PostgreSQL;
a failed run is summarised and posted to the webhook."""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import dagster as dg
import psycopg2
import pytest
import responses
import yaml

from observatory.defs import build_definitions
from observatory.defs.jobs import RunOutcome, materialize_all
from observatory.defs.partners import SENSOR as PARTNER_SENSOR
from observatory.defs.schedules import (
    FAILURE_SENSOR,
    FRESHNESS_CHECK,
    FRESHNESS_SENSOR,
    PIPELINE_JOB,
    REGISTRIES_JOB,
    STATISTICS_JOB,
    build_failure_sensor,
    build_operations,
    last_updated_metadata,
)
from observatory.operations.freshness import REGISTRIES_MAX_AGE, STATISTICS_MAX_AGE
from observatory.operations.notices import WEBHOOK_ENV, redact, summarize_outcome
from observatory.settings import PROJECT_ROOT, Settings, load_settings
from observatory.sources.catalogue import REGISTRES_LIEUX, SOURCES
from observatory.sources.http import DownloadError

DEPLOY = PROJECT_ROOT / "deploy"
POSTGRES_URL = os.environ.get(
    "OBSERVATORY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
WEBHOOK = "https://hooks.example.test/services/T000/B000/s3cr3t-t0ken-value"


def full_definitions(settings: Settings) -> dg.Definitions:
    """The project's definitions: assets, checks, jobs, schedules, sensors, freshness."""
    return build_definitions(settings)


@pytest.fixture(scope="module")
def defs(tmp_path_factory: pytest.TempPathFactory) -> dg.Definitions:
    return full_definitions(Settings(data_dir=tmp_path_factory.mktemp("data")))


def test_definitions_expose_schedules_sensors_and_freshness_checks(defs: dg.Definitions) -> None:
    """Guarantee: `dagster dev` shows the two schedules, the sensors and one freshness check
    per raw source, and the definitions load."""
    dg.Definitions.validate_loadable(defs)
    repo = defs.get_repository_def()
    schedules = {s.name: s for s in repo.schedule_defs}
    assert schedules[f"{REGISTRIES_JOB}_schedule"].cron_schedule == "0 3 * * 1"
    assert schedules[f"{STATISTICS_JOB}_schedule"].cron_schedule == "0 4 1 7 *"
    assert {s.execution_timezone for s in schedules.values()} == {"Europe/Paris"}
    sensors = {s.name: s for s in repo.sensor_defs}
    assert {FAILURE_SENSOR, FRESHNESS_SENSOR, PARTNER_SENSOR} <= set(sensors)
    # `dagster dev` launches nothing by itself: the freshness sensor waits to be turned on,
    # while dropped partner files are still picked up
    assert sensors[FRESHNESS_SENSOR].default_status == dg.DefaultSensorStatus.STOPPED
    assert sensors[PARTNER_SENSOR].default_status == dg.DefaultSensorStatus.RUNNING

    graph = defs.resolve_asset_graph()
    freshness = {
        key.asset_key.to_user_string(): graph.get_check_spec(key)
        for key in graph.asset_check_keys
        if key.name == FRESHNESS_CHECK
    }
    assert set(freshness) == {s.raw_asset for s in SOURCES}
    registries = {s.raw_asset for s in REGISTRES_LIEUX}
    for asset, spec in freshness.items():
        expected = REGISTRIES_MAX_AGE if asset in registries else STATISTICS_MAX_AGE
        assert spec.metadata["age_max_jours"] == expected.days, asset
        policy = graph.get(dg.AssetKey(asset)).freshness_policy
        assert policy is not None, asset
        assert policy.warn_window.to_timedelta() == expected, asset


def test_schedule_selections(defs: dg.Definitions) -> None:
    """Guarantee: the weekly job refreshes the registries and what depends on them, not the
    statistics; the yearly job refreshes the statistics up to the release."""
    weekly = {
        k.to_user_string()
        for k in defs.resolve_job_def(REGISTRIES_JOB).asset_layer.executable_asset_keys
    }
    yearly = {
        k.to_user_string()
        for k in defs.resolve_job_def(STATISTICS_JOB).asset_layer.executable_asset_keys
    }
    assert {
        "raw_mednum__lieux",
        "stg_mednum__lieux",
        "int__lieux",
        "pub_lieux",
        "release",
    } <= weekly
    assert not any(k.startswith(("raw_insee", "stg_insee", "raw_cog")) for k in weekly)
    assert {"raw_insee__filosofi_communes", "int__statistiques_communes", "release"} <= yearly
    assert "raw_mednum__lieux" not in yearly
    # the freshness check runs in every job, after the raw assets it dates (its inputs)
    pipeline = defs.resolve_job_def(PIPELINE_JOB)
    inputs = pipeline.graph.dependency_structure.input_to_upstream_outputs_for_node(
        "controle_fraicheur"
    )
    assert {o.node.name for outputs in inputs.values() for o in outputs} == {
        s.raw_asset for s in SOURCES
    }
    for name in (REGISTRIES_JOB, STATISTICS_JOB):
        assert "controle_fraicheur" in defs.resolve_job_def(name).graph.node_dict
    everything = defs.resolve_job_def(PIPELINE_JOB).asset_layer.executable_asset_keys
    assert (
        everything == defs.resolve_implicit_global_asset_job_def().asset_layer.executable_asset_keys
    )


def test_freshness_checks_flag_sources_older_than_their_cadence(tmp_path: Path) -> None:
    """Guarantee: in the live profile, a registry whose data is 10 days old and a statistic
    500 days old are flagged (WARN); sources within their cadence pass. Age is the data's
    retrieval time reported by the raw asset, not the time the asset ran. Offline, the
    bundled snapshot is old by design: the check passes and says how old it is (no wall of
    warnings on day one); a source never materialised is flagged."""
    ages = {s.raw_asset: 1 for s in SOURCES} | {
        "raw_mednum__lieux": 10,
        "raw_insee__rp2017_parts": 500,
        "raw_insee__filosofi_communes": 300,  # within 400 days
        "raw_cog__communes": 900,  # offline: the snapshot, old by design
    }
    offline = {"raw_cog__communes"}
    never = {"raw_arcep__thd"}
    now = datetime.now(UTC)

    def stub(name: str) -> dg.AssetsDefinition:
        @dg.asset(name=name)
        def _raw() -> dg.MaterializeResult:
            profil = "offline" if name in offline else "live"
            return dg.MaterializeResult(
                metadata={
                    "profil": profil,
                    **last_updated_metadata(now - timedelta(days=ages[name])),
                }
            )

        return _raw

    stubs = [stub(s.raw_asset) for s in SOURCES]
    checks = build_operations().asset_checks
    with dg.DagsterInstance.ephemeral() as instance:
        dg.materialize(
            stubs,
            instance=instance,
            run_config=QUIET,
            selection=[s.raw_asset for s in SOURCES if s.raw_asset not in never],
        )
        result = dg.materialize(
            [*stubs, *checks],
            instance=instance,
            selection=dg.AssetSelection.all_asset_checks(),
            run_config=QUIET,
        )
    evaluations = {e.asset_key.to_user_string(): e for e in result.get_asset_check_evaluations()}
    assert len(evaluations) == len(SOURCES)
    failed = {name for name, e in evaluations.items() if not e.passed}
    assert failed == {"raw_mednum__lieux", "raw_insee__rp2017_parts", "raw_arcep__thd"}
    assert {evaluations[name].severity for name in failed} == {dg.AssetCheckSeverity.WARN}
    assert "il y a 10 jours (au plus 8 attendus)" in evaluations["raw_mednum__lieux"].description
    snapshot = evaluations["raw_cog__communes"]
    assert snapshot.passed and "profil offline" in snapshot.description
    assert "il y a 900 jours" in snapshot.description
    assert snapshot.metadata["age_jours"].value == pytest.approx(900, abs=0.1)
    assert "Jamais matérialisé" in evaluations["raw_arcep__thd"].description


# --- the instance on PostgreSQL ------------------------------------------------------------


def _admin() -> psycopg2.extensions.connection:
    url = urlparse(POSTGRES_URL)
    connection = psycopg2.connect(
        host=url.hostname,
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password or "",
        dbname=url.path.lstrip("/") or "test",
        connect_timeout=5,
    )
    connection.autocommit = True
    return connection


@pytest.fixture
def pg_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, str]]:
    """A DAGSTER_HOME with deploy/dagster.yaml, on a fresh database dropped afterwards."""
    name = f"dagster_test_{uuid.uuid4().hex[:12]}"
    admin = _admin()
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    url = urlparse(POSTGRES_URL)
    for variable, value in {
        "DAGSTER_PG_HOST": url.hostname or "127.0.0.1",
        "DAGSTER_PG_PORT": str(url.port or 5432),
        "DAGSTER_PG_USER": url.username or "postgres",
        "DAGSTER_PG_PASSWORD": url.password or "",
        "DAGSTER_PG_DB": name,
    }.items():
        monkeypatch.setenv(variable, value)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    try:
        yield home, name
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _count(database: str, sql: str, *args: object) -> int:
    url = urlparse(POSTGRES_URL)
    with (
        psycopg2.connect(
            host=url.hostname,
            port=url.port or 5432,
            user=url.username or "postgres",
            dbname=database,
        ) as connection,
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, args)
        return cursor.fetchone()[0]


@pytest.mark.integration
@pytest.mark.slow  # the whole pipeline: ~100 s on 2 cores
def test_pipeline_runs_with_its_instance_on_postgresql(
    pg_home: tuple[Path, str], tmp_path: Path
) -> None:
    """Guarantee: with deploy/dagster.yaml, the whole pipeline materialises and its run and
    events are stored in PostgreSQL (not in SQLite under DAGSTER_HOME)."""
    home, database = pg_home
    instance = dg.DagsterInstance.from_config(str(home))
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
    assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
    assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 1
    outcome = materialize_all(Settings(data_dir=tmp_path / "data"), instance=instance)

    assert _count(database, "SELECT count(*) FROM runs WHERE run_id = %s", outcome.run_id) == 1
    events = _count(database, "SELECT count(*) FROM event_logs WHERE run_id = %s", outcome.run_id)
    materialised = _count(
        database,
        "SELECT count(*) FROM event_logs WHERE run_id = %s AND dagster_event_type = "
        "'ASSET_MATERIALIZATION'",
        outcome.run_id,
    )
    assert materialised >= 60 and events > materialised
    assert not list(home.glob("**/*.db")), "nothing may fall back to SQLite"
    assert outcome.success, outcome.errors  # the pipeline's own failures, if any, named
    assert outcome.release is not None and (outcome.release / "manifest.json").is_file()
    status = _count(
        database,
        "SELECT count(*) FROM runs WHERE run_id = %s AND status = 'SUCCESS'",
        outcome.run_id,
    )
    assert status == 1
    with dg.DagsterInstance.from_config(str(home)) as reread:
        assert reread.get_run_by_id(outcome.run_id).is_success
        record = reread.get_latest_materialization_event(dg.AssetKey("release"))
        assert record is not None and record.run_id == outcome.run_id


MULTIPROCESS_SELECTION = ["raw_cog__regions", "stg_cog__regions"]


def observatory_job() -> dg.JobDefinition:
    """Module-level, so the multiprocess executor's step processes can rebuild the job."""
    selection = dg.AssetSelection.assets(*MULTIPROCESS_SELECTION).without_checks()
    job = dg.define_asset_job("multiprocess_test", selection=selection)
    defs = dg.Definitions.merge(build_definitions(load_settings()), dg.Definitions(jobs=[job]))
    return defs.resolve_job_def("multiprocess_test")


@pytest.mark.integration
def test_multiprocess_executor_on_postgresql(
    pg_home: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guarantee: the multiprocess executor (what `dagster dev` and the daemon use) runs steps
    in separate processes that share the PostgreSQL instance."""
    home, database = pg_home
    monkeypatch.setenv("OBSERVATORY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(PROJECT_ROOT)  # the step processes import tests.test_operations
    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = dg.execute_job(
            dg.reconstructable(observatory_job), instance=instance, run_config=QUIET
        )
        assert result.success
        pids = {
            event.pid
            for event in result.all_events
            if event.event_type == dg.DagsterEventType.STEP_START
        }
    assert len(pids) == 2 and os.getpid() not in pids
    done = _count(
        database,
        "SELECT count(*) FROM event_logs WHERE run_id = %s AND dagster_event_type = "
        "'ASSET_MATERIALIZATION'",
        result.run_id,
    )
    assert done == 2


def test_deploy_files_hold_no_secret() -> None:
    """Guarantee: secrets come from environment variables only: every connection field of
    deploy/dagster.yaml is `env:`, and the embedded instance disables telemetry."""
    config = yaml.safe_load((DEPLOY / "dagster.yaml").read_text(encoding="utf-8"))
    db = config["storage"]["postgres"]["postgres_db"]
    assert db.pop("scheme") == "postgresql+psycopg2"
    assert set(db) == {"hostname", "port", "username", "password", "db_name"}
    assert all(set(value) == {"env"} for value in db.values())
    assert config["telemetry"] == {"enabled": False}
    embedded = yaml.safe_load((DEPLOY / "dagster_embedded.yaml").read_text(encoding="utf-8"))
    assert embedded == {"telemetry": {"enabled": False}}


# --- the run-failure sensor ----------------------------------------------------------------


def _failed_run(instance: dg.DagsterInstance) -> tuple[dg.DagsterRun, dg.DagsterEvent]:
    @dg.asset(name="raw_mednum__lieux")
    def failing() -> None:
        raise DownloadError(
            "https://example.test/lieux.csv: HTTP 503 Service Unavailable",
            url="https://example.test/lieux.csv",
        )

    @dg.asset(name="stg_mednum__lieux", deps=[failing])
    def downstream() -> None:
        return None

    result = dg.materialize(
        [failing, downstream], instance=instance, raise_on_error=False, run_config=QUIET
    )
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    (entry,) = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    return run, entry.dagster_event


def _sense_failed_run(caplog: pytest.LogCaptureFixture, level: int) -> dg.DagsterRun:
    """A failed run, seen by the failure sensor with the logs captured at `level`."""
    with dg.DagsterInstance.ephemeral() as instance:
        run, event = _failed_run(instance)
        context = dg.build_run_status_sensor_context(
            sensor_name=FAILURE_SENSOR,
            dagster_event=event,
            dagster_instance=instance,
            dagster_run=run,
        ).for_run_failure()
        with caplog.at_level(level):
            build_failure_sensor()(context)
    return run


@responses.activate
def test_failure_sensor_logs_and_posts_a_summary(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Guarantee: a failed run is summarised (job, run, failed step, root cause) in the logs
    and POSTed as JSON to OBSERVATORY_WEBHOOK_URL; the URL (a secret) is never logged."""
    monkeypatch.setenv(WEBHOOK_ENV, WEBHOOK)
    responses.post(WEBHOOK, json={"ok": True})
    run = _sense_failed_run(caplog, logging.INFO)
    (call,) = responses.calls
    payload = json.loads(call.request.body)
    assert payload["run_id"] == run.run_id and payload["event"] == "run_failure"
    (step,) = payload["failed_steps"]
    assert step["step"] == "raw_mednum__lieux"
    assert step["cause"].startswith("DownloadError: https://example.test/lieux.csv: HTTP 503")
    assert "raw_mednum__lieux: DownloadError" in payload["text"]
    logged = caplog.text
    assert "HTTP 503" in logged and run.run_id[:8] in logged
    assert "s3cr3t" not in logged and "hooks.example.test" not in logged


@responses.activate
def test_failure_notice_without_webhook_only_logs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Guarantee: without OBSERVATORY_WEBHOOK_URL nothing is posted, the summary is logged."""
    monkeypatch.delenv(WEBHOOK_ENV, raising=False)
    _sense_failed_run(caplog, logging.ERROR)
    assert not responses.calls
    assert "raw_mednum__lieux: DownloadError" in caplog.text


def test_summary_of_a_failed_observatory_run_masks_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guarantee: the CLI's failure summary names each failed step, and values of
    secret-looking environment variables never appear in it."""
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "hunter2-very-secret")

    outcome = RunOutcome(
        success=False,
        release=None,
        errors=[
            "raw_mednum__lieux: DownloadError: 503",
            "release: ReleaseError: postgresql://u:hunter2-very-secret@db/x refused",
        ],
        run_id="0123456789abcdef",
    )
    text = summarize_outcome(outcome).text()
    assert "raw_mednum__lieux: DownloadError: 503" in text
    assert "hunter2" not in text and "postgresql://u:***@db/x" in text
    assert redact("abc", {"API_TOKEN": "abc"}) == "abc"  # too short to be a secret: kept
