"""Materialise every asset in-process (what `observatory run` does)."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from pathlib import Path

import dagster as dg

from observatory.defs import build_definitions
from observatory.defs.partners import ORPHELINS
from observatory.defs.progress import progress_logger, step_layers
from observatory.defs.schedules import PIPELINE_JOB
from observatory.operations import empreintes
from observatory.operations.findings import failed_check_line
from observatory.operations.notices import DefinitionsError, RunOutcome, root_cause
from observatory.progress import (
    PLAN,
    PROGRESS_LOGGER,
    Listener,
    StepEvent,
    listening,
    run_config_logger,
)
from observatory.publish.release import current_release
from observatory.settings import Settings, settings_fields, settings_from_fields


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


def graphe(definition: dg.JobDefinition) -> tuple[dict[str, list[str]], dict[str, str | None]]:
    """Each materialisable asset's parents, and the inbox folder it reads (`empreintes`)."""
    parents: dict[str, list[str]] = {}
    entrees: dict[str, str | None] = {}
    for noeud in definition.asset_layer.asset_graph.asset_nodes:
        if not noeud.is_materializable:
            continue
        cle = noeud.key.to_user_string()
        parents[cle] = [p.to_user_string() for p in noeud.parent_keys]
        partenaire = noeud.metadata.get("partenaire")
        entrees[cle] = str(partenaire) if partenaire else ("" if cle == ORPHELINS else None)
    return parents, entrees


def a_rejouer(
    definition: dg.JobDefinition, settings: Settings, tout: bool = False
) -> tuple[list[dg.AssetKey] | None, dict[str, dict]]:
    """The assets a run must materialise (None: all) and the record to keep if it succeeds.

    An asset making several outputs runs whole: any of its keys selected selects them all.
    Fingerprints that cannot be taken (a hostile drop the walk cannot read) mean a complete run
    and no record.
    """
    try:
        cles, enregistrement = empreintes.selection(settings, *graphe(definition))
    except Exception:  # the run goes on, complete: a drop never blocks the release
        return None, {}
    if cles is None or tout:
        return None, enregistrement
    asset_graph = definition.asset_layer.asset_graph
    choisies = {dg.AssetKey.from_user_string(c) for c in cles} & asset_graph.get_all_asset_keys()
    return sorted({k for c in choisies for k in asset_graph.get(c).assets_def.keys}), enregistrement


def materialize_all(
    settings: Settings,
    instance: dg.DagsterInstance | None = None,
    log_level: str = "WARNING",
    listener: Listener | None = None,
    tout: bool = False,
) -> RunOutcome:
    """Run every asset with the in-process executor; failures are collected, not raised.

    `execute_job` on a job rebuilt by name rather than `execute_in_process`: the latter keeps
    every step's output in memory until the end of the run (to return them), which made a
    national run hold ~0.6 GB of frames it never reads again. `listener` receives the run's
    steps (a `PLAN` first), through the `progression` logger; a job that cannot be built
    raises `DefinitionsError` before anything runs. Unless `tout`, only the assets whose
    fingerprint changed since the last successful run are materialised (`a_rejouer`); with
    none, nothing runs and the outcome names the current release.
    """
    job = dg.build_reconstructable_job(
        "observatory.defs.jobs", "pipeline_job", reconstructable_kwargs=settings_fields(settings)
    )
    try:
        definition = job.get_definition()  # cached: execute_job reuses it
    except Exception as error:
        raise DefinitionsError(f"{type(error).__name__}: {error}") from error
    selection, enregistrement = a_rejouer(definition, settings, tout)
    if selection == []:
        release = current_release(settings.published_dir)
        return RunOutcome(True, release, [], "", False, (), rien_a_rejouer=True)
    empreintes.oublie(settings.warehouse_dir)
    with contextlib.ExitStack() as stack:
        loggers: dict[str, object] = {"console": {"config": {"log_level": log_level}}}
        if listener is not None:
            plan = (
                definition
                if selection is None
                else definition.get_subset(asset_selection=set(selection))
            )
            listener(StepEvent(PLAN, metadata={"steps": step_layers(plan)}))
            loggers |= run_config_logger(stack.enter_context(listening(listener)))
        run_config = {"loggers": loggers, "execution": {"config": {"in_process": {}}}}
        outcome = _execute(job, instance, run_config, selection)
    if outcome.release is None and outcome.success and selection is not None:
        # the changed assets did not reach the release: `latest` is still the current one
        outcome = dataclasses.replace(outcome, release=current_release(settings.published_dir))
    if outcome.success and not outcome.errors and enregistrement:
        # what the run saw when it started (a file dropped during the run is new to the next
        # one), with the outputs it stored since
        for cle, entree in enregistrement.items():
            entree["sortie"] = empreintes.sortie_stockee(settings, cle)
        empreintes.ecrit(settings.warehouse_dir, enregistrement)
    return outcome


def _execute(
    job: dg.ReconstructableJob,
    instance: dg.DagsterInstance | None,
    run_config: dict,
    selection: list[dg.AssetKey] | None = None,
) -> RunOutcome:
    with instance or _instance() as active:
        result = dg.execute_job(
            job,
            instance=active,
            raise_on_error=False,
            run_config=run_config,
            asset_selection=selection,
        )
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
