"""Materialise every asset in-process (what `observatory run` does)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster_shared.error import SerializableErrorInfo

from observatory.defs import build_definitions
from observatory.defs.schedules import PIPELINE_JOB
from observatory.settings import Settings


@dataclass(frozen=True)
class RunOutcome:
    success: bool
    release: Path | None
    errors: list[str]
    run_id: str
    new_release: bool = False  # false when nothing changed since `latest`


def _instance() -> dg.DagsterInstance:
    """The persistent instance when DAGSTER_HOME is set (runs show in the UI), else ephemeral."""
    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


def _root_cause(error: SerializableErrorInfo) -> str:
    """The innermost error (Dagster wraps the asset's exception in its own)."""
    while error.cause is not None:
        error = error.cause
    return f"{error.cls_name}: {error.message.strip()}" if error.cls_name else error.message.strip()


def _failed_checks(result: dg.ExecuteInProcessResult) -> list[dg.AssetCheckEvaluation]:
    return [
        e
        for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
    ]


def _failed_check(evaluation: dg.AssetCheckEvaluation) -> str:
    """`check pub_lieux/sans_donnees_personnelles failed: <what failed>` (blocking check)."""
    summary = evaluation.metadata.get("resume")
    text = str(summary.value) if summary is not None else ""
    detail = " ".join(text.split())[:500] or "see the check's metadata in the Dagster UI"
    key = evaluation.asset_key.to_user_string()
    return f"check {key}/{evaluation.check_name} failed (blocking, nothing published): {detail}"


def materialize_all(
    settings: Settings, instance: dg.DagsterInstance | None = None, log_level: str = "WARNING"
) -> RunOutcome:
    """Run every asset with the in-process executor; failures are collected, not raised."""
    defs = build_definitions(settings)
    job = defs.resolve_job_def(PIPELINE_JOB)  # the pipeline without the freshness checks
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    with instance or _instance() as active:
        result = job.execute_in_process(
            instance=active, raise_on_error=False, run_config=run_config
        )
        errors = [
            f"{event.step_key}: {_root_cause(event.step_failure_data.error)}"
            for event in result.all_events
            if event.is_step_failure and event.step_failure_data.error
        ]
        errors += [_failed_check(evaluation) for evaluation in _failed_checks(result)]
        release, new = None, False
        for materialization in result.asset_materializations_for_node("release"):
            release = Path(materialization.metadata["chemin"].value)
            new = bool(materialization.metadata["nouvelle"].value)
        return RunOutcome(result.success, release, errors, result.run_id, new)
