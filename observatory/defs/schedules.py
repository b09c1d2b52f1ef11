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
  by the sensor `fraicheur_des_sources` (stopped by default): in the live profile, warn when a
  registry's data is older than 8 days, a yearly source's older than 400. The raw assets
  report the retrieval time of the files they serve as `dagster/last_updated_timestamp`
  (`last_updated_metadata`), so a source kept on its last good snapshot after a failed
  download (`sources.fallback`) is flagged by its data's age, not by the time the asset last
  ran. Offline, the bundled snapshot is old by design: the check passes and says its age.
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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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
FRESHNESS_CHECK = "fraicheur"
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


def pipeline_selection() -> dg.AssetSelection:
    """Every asset and its checks: what `observatory run` runs."""
    return dg.AssetSelection.all()


def registry_selection() -> dg.AssetSelection:
    """The registries' raw assets and everything downstream (their staging … the release)."""
    raw = dg.AssetSelection.assets(*_raw_keys(registry_sources()))
    return raw.downstream()


def statistics_selection() -> dg.AssetSelection:
    """The yearly sources' raw assets and everything downstream."""
    raw = dg.AssetSelection.assets(*_raw_keys(yearly_sources()))
    return raw.downstream()


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


def max_age(source: Source) -> timedelta:
    """How old a source's data may be: its cadence (8 days for a registry, 400 otherwise)."""
    return REGISTRIES_MAX_AGE if source in registry_sources() else STATISTICS_MAX_AGE


def freshness_result(
    source: Source, metadata: Mapping[str, Any] | None, now: datetime
) -> dg.AssetCheckResult:
    """The freshness of a raw source from its latest materialisation's metadata.

    The age is the data's retrieval time (`dagster/last_updated_timestamp`). In the live
    profile, data older than its cadence is flagged (WARN: a download keeps failing and the
    last good copy is served). Offline, the sources are the snapshot bundled in assets/: old by
    design, so the check passes and says how old the snapshot is, rather than alarming.
    """
    key, limit = dg.AssetKey(source.raw_asset), max_age(source)
    facts: dict[str, Any] = {"age_max_jours": limit.days, "millesime": source.vintage}
    if metadata is None:
        return dg.AssetCheckResult(
            asset_key=key,
            check_name=FRESHNESS_CHECK,
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description="Jamais matérialisé : lancez `observatory run` (ou « Materialize all »).",
            metadata=facts,
        )
    profile = str(metadata.get("profil") or "")
    facts["profil"] = profile
    stamp = metadata.get(LAST_UPDATED)
    if stamp is None:
        description = "Aucun fichier à dater dans ce profil (source téléchargée en live seulement)."
        return dg.AssetCheckResult(
            asset_key=key, check_name=FRESHNESS_CHECK, passed=True, description=description,
            metadata=facts,
        )  # fmt: skip
    days = (now - datetime.fromtimestamp(float(stamp), tz=now.tzinfo)).total_seconds() / 86400
    facts["age_jours"] = round(days, 1)
    if profile != "live":
        description = (
            f"Instantané fourni dans assets/ (millésime {source.vintage}), déposé il y a "
            f"{days:.0f} jours : en profil offline, son âge est attendu et sans conséquence. En "
            f"profil live, la source doit dater de moins de {limit.days} jours."
        )
        return dg.AssetCheckResult(
            asset_key=key, check_name=FRESHNESS_CHECK, passed=True, description=description,
            metadata=facts,
        )  # fmt: skip
    passed = days <= limit.total_seconds() / 86400
    description = f"Données récupérées il y a {days:.0f} jours (au plus {limit.days} attendus)."
    if metadata.get("perimee"):
        description += (
            " Le dernier téléchargement a échoué : la dernière copie valide est servie et la "
            "release marque la source `perimee`."
        )
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=FRESHNESS_CHECK,
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=description,
        metadata=facts,
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
            description=(
                f"Âge des données : au plus {max_age(source).days} jours en profil live ; en "
                "profil offline, l'âge de l'instantané fourni, sans alerte."
            ),
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
            metadata = (
                {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}
                if materialization is not None
                else None
            )
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
        if self.steps and all(s.step == "pub_sql" for s in self.steps):
            lines.append(
                "  The Parquet release is published (`latest`); only its SQL copy failed, "
                "caught up by the next run."
            )
        else:
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
