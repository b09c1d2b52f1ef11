"""Materialise every asset in-process (what `observatory run` does)."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster_shared.error import SerializableErrorInfo

from observatory.defs import build_definitions
from observatory.defs.progress import (
    PLAN,
    PROGRESS_LOGGER,
    Listener,
    StepEvent,
    listening,
    progress_logger,
    run_config_logger,
    step_layers,
)
from observatory.defs.schedules import PIPELINE_JOB
from observatory.settings import Settings

SQL_STEP = "pub_sql"


class DefinitionsError(RuntimeError):
    """The job could not be built (a SQL model, a mapping, a schema is broken)."""


@dataclass(frozen=True)
class RunOutcome:
    success: bool
    release: Path | None
    errors: list[str]
    run_id: str
    new_release: bool = False  # false when nothing changed since `latest`
    failed_steps: tuple[str, ...] = ()  # step keys that failed (`pub_sql`: the SQL copy only)

    @property
    def sql_only(self) -> bool:
        """The Parquet release is published; only its SQL copy (`pub_sql`) failed."""
        return (
            self.release is not None and self.failed_steps == (SQL_STEP,) and len(self.errors) == 1
        )


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


def _failed_checks(result: dg.JobExecutionResult) -> list[dg.AssetCheckEvaluation]:
    return [
        e
        for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
    ]


NB_CONSTATS = 5  # findings printed per failed check; the check's metadata holds the rest


def _json_value(metadata: dict, key: str) -> object:
    value = metadata.get(key)
    return getattr(value, "value", value) if value is not None else None


def _constat(table: str, metadata: dict) -> str:
    """What a failed check found, in French, from its metadata: the table, the columns, the
    masked values and their counts (a CLI user has no UI to open)."""
    summary = _json_value(metadata, "resume")
    if summary:
        return " ".join(str(summary).split())[:800]
    examples = _json_value(metadata, "exemples_masques")
    if isinstance(examples, list):  # personal data: masked values, counted per column
        counts = _json_value(metadata, "par_colonne") or []
        per_column = "; ".join(
            f"colonne {c.get('colonne')} : {c.get('len')} × {c.get('code_raison')}"
            for c in counts
            if isinstance(c, dict)
        )
        shown = ", ".join(
            f"ligne {int(e.get('ligne', 0)) + 1} colonne {e.get('colonne')} « {e.get('valeur')} »"
            for e in examples[:NB_CONSTATS]
            if isinstance(e, dict)
        )
        total = _json_value(metadata, "nb_valeurs")
        return (
            f"table {table} : {total} donnée(s) personnelle(s) trouvée(s) ({per_column}) ; "
            f"exemples masqués : {shown}"
        )
    if isinstance(examples := _json_value(metadata, "exemples"), list):
        keys = ("niveau", "code", "indicateur", "annee", "colonne", "code_raison")
        shown = ", ".join(
            " ".join(f"{k}={e[k]}" for k in keys if k in e)
            for e in examples[:NB_CONSTATS]
            if isinstance(e, dict)
        )
        total = _json_value(metadata, "nb_lignes")
        return f"table {table} : {total} ligne(s) en cause ; exemples : {shown}"
    scalars = {
        k: _json_value(metadata, k)
        for k in metadata
        if isinstance(_json_value(metadata, k), str | int | float | bool)
    }
    return f"table {table} : " + (
        ", ".join(f"{k} = {v}" for k, v in scalars.items()) or "aucun détail fourni par le contrôle"
    )


def _failed_check(evaluation: dg.AssetCheckEvaluation) -> str:
    """`pub_lieux/sans_donnees_personnelles: contrôle bloquant en échec, rien n'est publié :
    table lieux : 2 donnée(s) personnelle(s)…` (what the check found, never a UI pointer)."""
    key = evaluation.asset_key.to_user_string()
    table = key.removeprefix("pub_")
    detail = _constat(table, dict(evaluation.metadata))
    return (
        f"{key}/{evaluation.check_name}: contrôle bloquant en échec, rien n'est publié : {detail}"
    )


def settings_fields(settings: Settings) -> dict[str, str | int | None]:
    """`Settings` as plain values, to rebuild the same job by name (`pipeline_job`)."""
    return {
        "data_dir": str(settings.data_dir),
        "profile": settings.profile,
        "assets_dir": str(settings.assets_dir),
        "sql_dir": str(settings.sql_dir),
        "schemas_dir": str(settings.schemas_dir),
        "zonages_dir": str(settings.zonages_dir) if settings.zonages_dir else None,
        "keep_releases": settings.keep_releases,
    }


def pipeline_job(**fields: str | int | None) -> dg.JobDefinition:
    """The pipeline job for these settings (`settings_fields`): how Dagster rebuilds it; with
    the terminal display's logger (`progression`), used only when the run config names it."""
    paths = ("data_dir", "assets_dir", "sql_dir", "schemas_dir", "zonages_dir")
    values = {k: Path(str(v)) if k in paths and v is not None else v for k, v in fields.items()}
    job = build_definitions(Settings(**values)).resolve_job_def(PIPELINE_JOB)  # type: ignore[arg-type]
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
            f"{event.step_key}: {_root_cause(event.step_failure_data.error)}"
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
