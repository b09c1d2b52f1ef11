"""Running unattended: schedules, freshness checks, retries on downloads, failure notices.

- **Schedules.** The lieux registries change every week (places open, close, move): a weekly
  job refreshes their raw and staging assets and everything downstream, up to the release.
  Statistics (census, Filosofi, ARCEP, CAF…) and the référentiels (COG, zonages) change once a
  year: a yearly job refreshes them and everything downstream. The yearly job is a plain cron,
  not a `StaticPartitionsDefinition` of vintages: a vintage is a catalogue entry (its file, its
  layout, its staging), so a new one is a code change, and live downloads land under their
  retrieval time anyway; partitioning by vintage would partition every staging and
  intermediate asset and map partitions into the unpartitioned indicators, for no gain while
  one vintage of each source is published. The cron runs on 1 July, after INSEE's June census
  release; the COG of the year is out by then too.
- **Freshness.** One check per raw source, run after the raw assets in every job and hourly
  by the sensor `fraicheur_des_sources` (stopped by default); the verdict is
  `observatory.operations.freshness`. The raw assets report the retrieval time of the files
  they serve as `dagster/last_updated_timestamp` (`last_updated_metadata`).
- **Retries.** `network_retry_policy` for the raw assets that download (live profile): three
  more attempts, 60 s, 120 s, 240 s apart (± jitter), on top of `fetch_url`'s quick retries,
  to ride out an outage of minutes. Offline, nothing downloads and a failure will not heal:
  no retry policy.
- **Failure notice.** A run-failure sensor logs a summary of each failed run and POSTs it to
  `OBSERVATORY_WEBHOOK_URL` when set (`observatory.operations.notices`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from observatory.operations.findings import plain
from observatory.operations.freshness import (
    LAST_UPDATED,
    check_description,
    freshness,
    max_age,
    registry_sources,
    yearly_sources,
)
from observatory.operations.notices import (
    CADENCE_TAG,
    WEBHOOK_ENV,
    FailureSummary,
    report_failure,
    summarize_run,
)
from observatory.settings import Settings
from observatory.sources.catalogue import SOURCES, Source

TIMEZONE = "Europe/Paris"
PIPELINE_JOB = "observatoire_complet"
REGISTRIES_JOB = "registres_hebdomadaire"
STATISTICS_JOB = "statistiques_annuel"
REGISTRIES_CRON = "0 3 * * 1"  # Mondays 03:00
STATISTICS_CRON = "0 4 1 7 *"  # 1 July 04:00
FRESHNESS_SENSOR = "fraicheur_des_sources"
FRESHNESS_CHECK = "fraicheur"
FAILURE_SENSOR = "echec_de_run"
CRONS = {REGISTRIES_JOB: REGISTRIES_CRON, STATISTICS_JOB: STATISTICS_CRON}  # Europe/Paris
SCHEDULE_DESCRIPTIONS = {
    REGISTRIES_JOB: "Chaque lundi à 3 h : registres de lieux, jusqu'à la publication.",
    STATISTICS_JOB: "Chaque 1er juillet à 4 h : statistiques et référentiels annuels.",
}


# --- selections and schedules -------------------------------------------------------------


def _raw_keys(sources: Sequence[Source]) -> list[dg.AssetKey]:
    return [dg.AssetKey(s.raw_asset) for s in sources]


def pipeline_selection() -> dg.AssetSelection:
    """Every asset and its checks: what `observatory run` runs."""
    return dg.AssetSelection.all()


def registry_selection() -> dg.AssetSelection:
    """The registries' raw assets and everything downstream (their staging … the release)."""
    return dg.AssetSelection.assets(*_raw_keys(registry_sources())).downstream()


def statistics_selection() -> dg.AssetSelection:
    """The yearly sources' raw assets and everything downstream."""
    return dg.AssetSelection.assets(*_raw_keys(yearly_sources())).downstream()


def build_jobs() -> list[dg.UnresolvedAssetJobDefinition]:
    return [
        dg.define_asset_job(
            PIPELINE_JOB,
            selection=pipeline_selection(),
            description="Tout le pipeline jusqu'à la publication (`observatory run`).",
        ),
        dg.define_asset_job(
            REGISTRIES_JOB,
            selection=registry_selection(),
            description="Registres de lieux (hebdomadaire) et tout ce qui en dépend.",
            tags={CADENCE_TAG: "hebdomadaire"},
        ),
        dg.define_asset_job(
            STATISTICS_JOB,
            selection=statistics_selection(),
            description="Statistiques et référentiels (annuel) et tout ce qui en dépend.",
            tags={CADENCE_TAG: "annuel"},
        ),
    ]


def build_schedules(
    jobs: Sequence[dg.UnresolvedAssetJobDefinition] | None = None,
    default_status: dg.DefaultScheduleStatus = dg.DefaultScheduleStatus.STOPPED,
) -> list[dg.ScheduleDefinition]:
    """Weekly registries, yearly statistics (Europe/Paris). Stopped until turned on (UI or
    `dagster schedule start`), so a developer's `dagster dev` never launches runs by itself."""
    by_name = {job.name: job for job in (jobs or build_jobs())}
    return [
        dg.ScheduleDefinition(
            name=f"{job}_schedule",
            job=by_name[job],
            cron_schedule=cron,
            execution_timezone=TIMEZONE,
            default_status=default_status,
            description=SCHEDULE_DESCRIPTIONS[job],
        )
        for job, cron in CRONS.items()
    ]


# --- freshness ----------------------------------------------------------------------------


def freshness_result(
    source: Source, metadata: Mapping[str, Any] | None, now: datetime
) -> dg.AssetCheckResult:
    """The freshness check's result (`operations.freshness`): a warning, never blocking."""
    verdict = freshness(source, metadata, now)
    return dg.AssetCheckResult(
        asset_key=dg.AssetKey(source.raw_asset),
        check_name=FRESHNESS_CHECK,
        passed=verdict.passed,
        description=verdict.description,
        metadata=verdict.facts,
        **({"severity": dg.AssetCheckSeverity.WARN} if verdict.warn else {}),
    )


def build_freshness_checks() -> list[dg.AssetChecksDefinition]:
    """One freshness check per raw source (8 days / 400 days in the live profile), in one op
    that reads the sources' latest materialisations: it runs after the raw assets in the
    pipeline, and the sensor `fraicheur_des_sources` can evaluate it between runs.

    Dagster's `build_last_update_freshness_checks` warns on the bundled snapshot whatever the
    profile; these say what the age means in each profile.
    """
    by_key = {dg.AssetKey(s.raw_asset): s for s in SOURCES}
    specs = [
        dg.AssetCheckSpec(
            FRESHNESS_CHECK,
            asset=key,
            description=check_description(source),
            metadata={"age_max_jours": max_age(source).days},
        )
        for key, source in by_key.items()
    ]

    @dg.multi_asset_check(specs=specs, can_subset=True, name="controle_fraicheur")
    def _freshness(context) -> Iterator[dg.AssetCheckResult]:  # type: ignore[no-untyped-def]
        now = datetime.now(UTC)
        for check_key in context.selected_asset_check_keys:
            event = context.instance.get_latest_materialization_event(check_key.asset_key)
            materialization = event.asset_materialization if event is not None else None
            metadata = plain(materialization.metadata) if materialization is not None else None
            yield freshness_result(by_key[check_key.asset_key], metadata, now)

    return [_freshness]


def build_freshness_sensor(
    checks: Sequence[dg.AssetChecksDefinition],
) -> dg.SensorDefinition:
    """Evaluates the freshness checks every hour between runs. Stopped by default: a
    developer's `dagster dev` launches nothing by itself; turned on where runs are scheduled."""
    keys = [key for check in checks for key in check.check_keys]

    @dg.sensor(
        name=FRESHNESS_SENSOR,
        minimum_interval_seconds=3600,
        default_status=dg.DefaultSensorStatus.STOPPED,
        asset_selection=dg.AssetSelection.checks(*keys),
        description="Évalue chaque heure la fraîcheur des sources (contrôles `fraicheur`).",
    )
    def _sensor(context: dg.SensorEvaluationContext) -> dg.RunRequest:
        hour = datetime.now(UTC).strftime("%Y-%m-%dT%H")
        return dg.RunRequest(run_key=f"fraicheur:{hour}", asset_check_keys=keys)

    return _sensor


def with_freshness_policies(defs: dg.Definitions) -> dg.Definitions:
    """`defs` with Dagster's (preview) freshness policies on the raw assets: warn past the
    cadence, fail past twice the cadence. Shown in the UI when the instance enables them
    (`freshness: enabled: true`, see deploy/dagster.yaml)."""
    policies = {
        dg.AssetKey(s.raw_asset): dg.FreshnessPolicy.time_window(
            fail_window=2 * max_age(s), warn_window=max_age(s)
        )
        for s in (*registry_sources(), *yearly_sources())
    }

    def apply(spec: dg.AssetSpec) -> dg.AssetSpec:
        policy = policies.get(spec.key)
        return spec if policy is None else dg.apply_freshness_policy(spec, policy)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=dg.PreviewWarning)
        return defs.map_asset_specs(func=apply)


def last_updated_metadata(retrieved_at: datetime | str) -> dict[str, dg.TimestampMetadataValue]:
    """Raw asset metadata dating its data (ISO string or aware datetime), for the freshness
    checks: the oldest retrieval time of the files the asset serves."""
    when = datetime.fromisoformat(retrieved_at) if isinstance(retrieved_at, str) else retrieved_at
    return {LAST_UPDATED: dg.TimestampMetadataValue(when.timestamp())}


# --- retries ------------------------------------------------------------------------------


def network_retry_policy(settings: Settings, delay: float = 60.0) -> dg.RetryPolicy | None:
    """The retry policy of an asset that downloads: only in the live profile."""
    if settings.profile != "live":
        return None
    return dg.RetryPolicy(
        max_retries=3, delay=delay, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
    )


# --- failure notice -----------------------------------------------------------------------


def summarize_run_failure(context: dg.RunFailureSensorContext) -> FailureSummary:
    """The summary of the failed run a run-failure sensor was called for."""
    run = context.dagster_run
    failures = [
        (event.step_key, event.step_failure_data.error if event.step_failure_data else None)
        for event in context.get_step_failure_events()
    ]
    return summarize_run(
        run.job_name, run.run_id, context.failure_event.message, failures, run.tags
    )


def build_failure_sensor(name: str = FAILURE_SENSOR) -> dg.SensorDefinition:
    """Runs for every failed run of this code location (schedules, sensors, UI launches)."""

    @dg.run_failure_sensor(
        name=name,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Résumé de chaque run en échec, dans les logs et vers ${WEBHOOK_ENV}.",
    )
    def _on_failure(context: dg.RunFailureSensorContext) -> None:
        summary = summarize_run_failure(context)
        context.log.error(summary.text())  # with the sensor's tick, in the UI
        report_failure(summary)  # the daemon's log, then the webhook

    return _on_failure


# --- everything, for build_definitions ----------------------------------------------------


@dataclass(frozen=True)
class Operations:
    """What `dg.Definitions` needs: jobs, schedules, sensors, asset checks."""

    jobs: list[dg.UnresolvedAssetJobDefinition]
    schedules: list[dg.ScheduleDefinition]
    sensors: list[dg.SensorDefinition]
    asset_checks: list[dg.AssetChecksDefinition]


def build_operations(
    schedule_status: dg.DefaultScheduleStatus = dg.DefaultScheduleStatus.STOPPED,
) -> Operations:
    jobs = build_jobs()
    checks = build_freshness_checks()
    return Operations(
        jobs=jobs,
        schedules=build_schedules(jobs, schedule_status),
        sensors=[build_freshness_sensor(checks), build_failure_sensor()],
        asset_checks=checks,
    )
