"""Materialise every asset in-process (what `observatory run` does)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import dagster as dg

from observatory.defs import build_definitions
from observatory.defs.progress import progress_logger, step_layers
from observatory.defs.schedules import PIPELINE_JOB
from observatory.operations.findings import failed_check_line
from observatory.operations.notices import RunOutcome, root_cause
from observatory.progress import (
    PLAN,
    PROGRESS_LOGGER,
    Listener,
    StepEvent,
    listening,
    run_config_logger,
)
from observatory.settings import Settings, settings_fields, settings_from_fields


class DefinitionsError(RuntimeError):
    """The job could not be built (a SQL model, a mapping, a schema is broken)."""


def _instance() -> dg.DagsterInstance:
    """The persistent instance when DAGSTER_HOME is set (runs show in the UI), else ephemeral."""
    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


def _failed_checks(result: dg.JobExecutionResult) -> list[dg.AssetCheckEvaluation]:
    return [
        e
        for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
    ]


def _failed_check(evaluation: dg.AssetCheckEvaluation) -> str:
    """What a failed blocking check found (`operations.findings`), never a UI pointer."""
    key = evaluation.asset_key.to_user_string()
    return failed_check_line(key, evaluation.check_name, dict(evaluation.metadata))


def pipeline_job(**fields: str | int | None) -> dg.JobDefinition:
    """The pipeline job for these settings (`settings_fields`): how Dagster rebuilds it; with
    the terminal display's logger (`progression`), used only when the run config names it."""
    job = build_definitions(settings_from_fields(**fields)).resolve_job_def(PIPELINE_JOB)
    return job.with_logger_defs({**dg.default_loggers(), PROGRESS_LOGGER: progress_logger})


def materialize_all(
    settings: Settings,
    instance: dg.DagsterInstance | None = None,
    log_level: str = "WARNING",
    listener: Listener | None = None,
) -> RunOutcome:
    """Run every asset with the in-process executor; failures are collected, not raised.

    `execute_job` on a job rebuilt by name rather than `execute_in_process`: the latter keeps
    every step's output in memory until the end of the run (to return them), which made a
    national run hold ~0.6 GB of frames it never reads again. `listener` receives the run's
    steps (a `PLAN` first), through the `progression` logger; a job that cannot be built
    raises `DefinitionsError` before anything runs.
    """
    job = dg.build_reconstructable_job(
        "observatory.defs.jobs", "pipeline_job", reconstructable_kwargs=settings_fields(settings)
    )
    try:
        definition = job.get_definition()  # cached: execute_job reuses it
    except Exception as error:
        raise DefinitionsError(f"{type(error).__name__}: {error}") from error
    with contextlib.ExitStack() as stack:
        loggers: dict[str, object] = {"console": {"config": {"log_level": log_level}}}
        if listener is not None:
            listener(StepEvent(PLAN, metadata={"steps": step_layers(definition)}))
            loggers |= run_config_logger(stack.enter_context(listening(listener)))
        run_config = {"loggers": loggers, "execution": {"config": {"in_process": {}}}}
        return _execute(job, instance, run_config)


def _execute(
    job: dg.ReconstructableJob, instance: dg.DagsterInstance | None, run_config: dict
) -> RunOutcome:
    with instance or _instance() as active:
        result = dg.execute_job(job, instance=active, raise_on_error=False, run_config=run_config)
        failures = [e for e in result.all_events if e.is_step_failure]
        errors = [
            f"{event.step_key}: {root_cause(event.step_failure_data.error)}"
            for event in failures
            if event.step_failure_data.error
        ]
        errors += [_failed_check(evaluation) for evaluation in _failed_checks(result)]
        release, new = None, False
        for materialization in result.asset_materializations_for_node("release"):
            release = Path(materialization.metadata["chemin"].value)
            new = bool(materialization.metadata["nouvelle"].value)
        steps = tuple(sorted({str(e.step_key) for e in failures}))
        return RunOutcome(result.success, release, errors, result.run_id, new, steps)
