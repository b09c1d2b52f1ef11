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
- **Freshness.** One last-update check per raw source: warn when a registry's data is older
  than 8 days, a yearly source's older than 400. The raw assets report the retrieval time of
  the files they serve as `dagster/last_updated_timestamp` (`last_updated_metadata`), so a
  source kept on its last good snapshot after a failed download (`sources.fallback`) is
  flagged by its data's age, not by the time the asset last ran.
- **Retries.** `network_retry_policy` for the raw assets that download (live profile): three
  more attempts, 60 s, 120 s, 240 s apart (± jitter), on top of `fetch_url`'s quick retries,
  to ride out an outage of minutes. Offline, nothing downloads and a failure will not heal:
  no retry policy.
- **Failure notice.** A run-failure sensor logs a summary (job, run, failed steps and the
  root cause of each) and POSTs it as JSON to `OBSERVATORY_WEBHOOK_URL` when that variable is
  set (Slack/Mattermost-compatible: the payload has a `text` field). The URL is a secret (it
  usually embeds a token): it is read from the environment only and never logged; values of
  secret-looking environment variables are masked in every summary.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import dagster as dg
import requests
from dagster_shared.error import SerializableErrorInfo

from observatory.settings import Settings
from observatory.sources.catalogue import REGISTRES_LIEUX, SOURCES, Source

logger = logging.getLogger(__name__)

TIMEZONE = "Europe/Paris"
PIPELINE_JOB = "observatoire_complet"
REGISTRIES_JOB = "registres_hebdomadaire"
STATISTICS_JOB = "statistiques_annuel"
REGISTRIES_CRON = "0 3 * * 1"  # Mondays 03:00
STATISTICS_CRON = "0 4 1 7 *"  # 1 July 04:00
REGISTRIES_MAX_AGE = timedelta(days=8)
STATISTICS_MAX_AGE = timedelta(days=400)
FRESHNESS_SENSOR = "fraicheur_des_sources"
FRESHNESS_CHECK = "freshness_check"  # the name Dagster gives every last-update check
FAILURE_SENSOR = "echec_de_run"
WEBHOOK_ENV = "OBSERVATORY_WEBHOOK_URL"
WEBHOOK_TIMEOUT = 10.0  # seconds; a notifier must not hang the sensor daemon
LAST_UPDATED = "dagster/last_updated_timestamp"
CADENCE_TAG = "observatory/cadence"
_SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|WEBHOOK|API_?KEY|_KEY$|DSN)", re.I)
_MIN_SECRET_LENGTH = 6  # shorter values would mask ordinary words


# --- selections and schedules -------------------------------------------------------------


def registry_sources() -> tuple[Source, ...]:
    return REGISTRES_LIEUX


def yearly_sources() -> tuple[Source, ...]:
    """Statistics and référentiels: every catalogue source that is not a lieux registry."""
    registries = {s.key for s in REGISTRES_LIEUX}
    return tuple(s for s in SOURCES if s.key not in registries)


def _raw_keys(sources: Sequence[Source]) -> list[dg.AssetKey]:
    return [dg.AssetKey(s.raw_asset) for s in sources]


def freshness_check_keys() -> list[dg.AssetCheckKey]:
    return [dg.AssetCheckKey(key, FRESHNESS_CHECK) for key in _raw_keys(SOURCES)]


def without_freshness_checks(selection: dg.AssetSelection) -> dg.AssetSelection:
    """`selection` minus the freshness checks, which a job would otherwise run as steps
    (possibly before the raw assets they judge); the freshness sensor evaluates them."""
    return selection - dg.AssetSelection.checks(*freshness_check_keys())


def pipeline_selection() -> dg.AssetSelection:
    """Every asset and its checks, freshness checks aside: what `observatory run` runs."""
    return without_freshness_checks(dg.AssetSelection.all())


def registry_selection() -> dg.AssetSelection:
    """The registries' raw assets and everything downstream (their staging … the release)."""
    raw = dg.AssetSelection.assets(*_raw_keys(registry_sources()))
    return without_freshness_checks(raw.downstream())


def statistics_selection() -> dg.AssetSelection:
    """The yearly sources' raw assets and everything downstream."""
    raw = dg.AssetSelection.assets(*_raw_keys(yearly_sources()))
    return without_freshness_checks(raw.downstream())


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
            name=f"{REGISTRIES_JOB}_schedule",
            job=by_name[REGISTRIES_JOB],
            cron_schedule=REGISTRIES_CRON,
            execution_timezone=TIMEZONE,
            default_status=default_status,
            description="Chaque lundi à 3 h : registres de lieux, jusqu'à la publication.",
        ),
        dg.ScheduleDefinition(
            name=f"{STATISTICS_JOB}_schedule",
            job=by_name[STATISTICS_JOB],
            cron_schedule=STATISTICS_CRON,
            execution_timezone=TIMEZONE,
            default_status=default_status,
            description="Chaque 1er juillet à 4 h : statistiques et référentiels annuels.",
        ),
    ]


# --- freshness ----------------------------------------------------------------------------


def build_freshness_checks() -> list[dg.AssetChecksDefinition]:
    """Warn when a raw source's data is older than its cadence (8 days / 400 days).

    Dagster 1.12+ calls these checks superseded by `FreshnessPolicy` (see
    `with_freshness_policies`), but the policies are a preview that the instance must enable
    and they date an asset by its last run only; the checks read the data's own date
    (`dagster/last_updated_timestamp`) and show as checks in `dagster dev`. Both are kept.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=dg.SupersessionWarning)
        return [
            *dg.build_last_update_freshness_checks(
                assets=_raw_keys(registry_sources()),
                lower_bound_delta=REGISTRIES_MAX_AGE,
                timezone=TIMEZONE,
                severity=dg.AssetCheckSeverity.WARN,
            ),
            *dg.build_last_update_freshness_checks(
                assets=_raw_keys(yearly_sources()),
                lower_bound_delta=STATISTICS_MAX_AGE,
                timezone=TIMEZONE,
                severity=dg.AssetCheckSeverity.WARN,
            ),
        ]


def build_freshness_sensor(
    checks: Sequence[dg.AssetChecksDefinition],
) -> dg.SensorDefinition:
    """Evaluates the freshness checks between runs (they read the event log, not the data)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=dg.SupersessionWarning)
        return dg.build_sensor_for_freshness_checks(
            freshness_checks=checks,
            name=FRESHNESS_SENSOR,
            minimum_interval_seconds=3600,
            default_status=dg.DefaultSensorStatus.RUNNING,
        )


def with_freshness_policies(defs: dg.Definitions) -> dg.Definitions:
    """`defs` with Dagster's (preview) freshness policies on the raw assets: warn past the
    cadence, fail past twice the cadence. Shown in the UI when the instance enables them
    (`freshness: enabled: true`, see deploy/dagster.yaml)."""
    policies: dict[dg.AssetKey, dg.FreshnessPolicy] = {}
    for sources, age in (
        (registry_sources(), REGISTRIES_MAX_AGE),
        (yearly_sources(), STATISTICS_MAX_AGE),
    ):
        policy = dg.FreshnessPolicy.time_window(fail_window=2 * age, warn_window=age)
        policies.update(dict.fromkeys(_raw_keys(sources), policy))

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


@dataclass(frozen=True)
class StepFailure:
    step: str
    cause: str


@dataclass(frozen=True)
class FailureSummary:
    """What an operator needs to act on a failed run, with secrets masked."""

    job: str
    run_id: str
    message: str
    steps: tuple[StepFailure, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)

    def text(self) -> str:
        origin = self.tags.get("dagster/schedule_name") or self.tags.get("dagster/sensor_name")
        head = f"observatory: run {self.run_id[:8]} of {self.job} failed"
        head += f" (launched by {origin})" if origin else ""
        lines = [head, f"  {self.message}"] if self.message else [head]
        lines += [f"  - {s.step}: {s.cause}" for s in self.steps]
        if not self.steps:
            lines.append("  (no step failed: the run failed before or around its steps)")
        lines.append("  The previous release stays `latest`.")
        return redact("\n".join(lines))

    def payload(self) -> dict[str, Any]:
        return {
            "text": self.text(),
            "event": "run_failure",
            "job": self.job,
            "run_id": self.run_id,
            "message": redact(self.message),
            "failed_steps": [{"step": s.step, "cause": redact(s.cause)} for s in self.steps],
            "tags": {k: redact(v) for k, v in self.tags.items()},
        }


def redact(text: str, environ: Mapping[str, str] | None = None) -> str:
    """`text` with the values of secret-looking environment variables replaced by `***`."""
    env = os.environ if environ is None else environ
    secrets = sorted(
        (v for k, v in env.items() if _SECRET_NAME.search(k) and len(v) >= _MIN_SECRET_LENGTH),
        key=len,
        reverse=True,
    )
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def root_cause(error: SerializableErrorInfo) -> str:
    """The innermost error: Dagster wraps the asset's exception in its own."""
    while error.cause is not None:
        error = error.cause
    message = error.message.strip()
    if not error.cls_name:
        return message
    # the message starts with the qualified class (`observatory.sources.http.DownloadError: …`)
    message = re.sub(rf"^(?:[\w.]+\.)?{re.escape(error.cls_name)}: ", "", message)
    return f"{error.cls_name}: {message}"


def summarize_run_failure(context: dg.RunFailureSensorContext) -> FailureSummary:
    """The summary of the failed run a run-failure sensor was called for."""
    run = context.dagster_run
    steps = []
    for event in context.get_step_failure_events():
        data = event.step_failure_data
        cause = root_cause(data.error) if data and data.error else "unknown error"
        steps.append(StepFailure(event.step_key or "?", cause))
    keep = ("dagster/schedule_name", "dagster/sensor_name", CADENCE_TAG, "partenaire")
    return FailureSummary(
        job=run.job_name,
        run_id=run.run_id,
        message=(context.failure_event.message or "").strip(),
        steps=tuple(steps),
        tags={k: v for k, v in run.tags.items() if k in keep},
    )


class _Outcome(Protocol):
    run_id: str
    errors: list[str]


def summarize_outcome(outcome: _Outcome, job: str = "observatory run") -> FailureSummary:
    """The summary of a failed `materialize_all` (the CLI's in-process run: no sensor sees it)."""
    steps = []
    for line in outcome.errors:
        step, _, cause = line.partition(": ")
        steps.append(StepFailure(step, cause) if cause else StepFailure("?", line))
    message = "" if steps else "no release was published"
    return FailureSummary(job=job, run_id=outcome.run_id, message=message, steps=tuple(steps))


class _Log(Protocol):
    def error(self, msg: str, *args: object) -> None: ...
    def warning(self, msg: str, *args: object) -> None: ...
    def info(self, msg: str, *args: object) -> None: ...


def post_webhook(
    summary: FailureSummary,
    *,
    url: str | None = None,
    session: requests.Session | None = None,
    timeout: float = WEBHOOK_TIMEOUT,
    log: _Log = logger,
) -> bool:
    """POST the summary to `url` (default `$OBSERVATORY_WEBHOOK_URL`); True if accepted.

    Never raises and never logs the URL or a request error's text (both may hold a token).
    """
    url = url or os.environ.get(WEBHOOK_ENV)
    if not url:
        return False
    http = session or requests
    try:
        response = http.post(url, json=summary.payload(), timeout=timeout)
    except requests.RequestException as error:
        log.warning("failure notice not delivered to the webhook: %s", type(error).__name__)
        return False
    if not 200 <= response.status_code < 300:
        log.warning("failure notice refused by the webhook: HTTP %s", response.status_code)
        return False
    log.info("failure notice delivered to the webhook")
    return True


def report_failure(
    summary: FailureSummary, *, log: _Log = logger, session: requests.Session | None = None
) -> bool:
    """Log the summary, then post it to the webhook when one is configured."""
    log.error("%s", summary.text())
    return post_webhook(summary, session=session, log=log)


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
