"""Dagster's event stream, simplified for `observatory run`'s terminal display.

`observatory run` executes the job in-process; a Dagster logger (`progression`) added to that
job only receives every log record of the run, each carrying its `DagsterEvent` (step
started, succeeded, failed, asset materialised with its metadata, check evaluated). It turns
them into `StepEvent`s and hands them to the listener the CLI registered under a token
(passed in the run config: a logger is built by Dagster, from config). Runs launched from the
UI, schedules or sensors never configure this logger.
"""

from __future__ import annotations

import logging
from typing import Any

import dagster as dg
from dagster._core.definitions.dependency import NodeHandle  # no public name

from observatory.operations.findings import plain
from observatory.operations.notices import innermost
from observatory.progress import (
    CHECK_FAILED,
    FAILURE,
    LAYERS,
    MATERIALIZATION,
    RUN_END,
    SKIPPED,
    START,
    SUCCESS,
    WARNING,
    Listener,
    StepEvent,
    listener_of,
)


def step_layers(job: dg.JobDefinition) -> dict[str, str]:
    """Step key → layer (asset group) of every step of an asset job; a check step belongs to
    the layer of the asset it checks, a step making assets of several layers (`ind_fragilite`
    and its caps) to the highest one, whatever order Dagster lists them in."""
    layer = job.asset_layer
    rank = {name: i for i, name in enumerate(LAYERS)}
    result = {}
    for node in job.nodes:
        groups = {
            layer.asset_graph.get(
                key.asset_key if isinstance(key, dg.AssetCheckKey) else key
            ).group_name
            or "default"
            for key in layer.get_selected_entity_keys_for_node(NodeHandle(node.name, None))
        }
        if groups:
            result[node.name] = max(sorted(groups), key=lambda g: rank.get(g, -1))
    return result


def _root_cause(error: Any) -> str:
    message = " ".join(str(getattr(innermost(error), "message", error)).split())
    return message[:500]


def translate(record: logging.LogRecord) -> StepEvent | None:
    """The `StepEvent` a Dagster log record stands for, if the display cares about it."""
    meta = getattr(record, "dagster_meta", None) or {}
    event = meta.get("dagster_event")
    step = meta.get("step_key")
    if event is None:
        if record.levelno == logging.WARNING and step:
            return StepEvent(WARNING, step, str(meta.get("orig_message") or record.getMessage()))
        return None
    kind = event.event_type
    if kind == dg.DagsterEventType.STEP_START:
        return StepEvent(START, event.step_key)
    if kind == dg.DagsterEventType.STEP_SUCCESS:
        return StepEvent(SUCCESS, event.step_key)
    if kind == dg.DagsterEventType.STEP_SKIPPED:
        return StepEvent(SKIPPED, event.step_key)
    if kind == dg.DagsterEventType.STEP_FAILURE:
        error = event.step_failure_data.error if event.step_failure_data else None
        return StepEvent(FAILURE, event.step_key, _root_cause(error) if error else "")
    if kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
        materialization = event.event_specific_data.materialization
        return StepEvent(
            MATERIALIZATION,
            event.step_key,
            materialization.asset_key.to_user_string(),
            plain(materialization.metadata),
        )
    if kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
        evaluation = event.event_specific_data
        if evaluation.passed or evaluation.severity != dg.AssetCheckSeverity.ERROR:
            return None
        summary = evaluation.metadata.get("resume")
        text = " ".join(str(getattr(summary, "value", "")).split())[:300]
        name = f"{evaluation.asset_key.to_user_string()}/{evaluation.check_name}"
        return StepEvent(CHECK_FAILED, event.step_key, f"{name} : {text}".rstrip(" :"))
    if kind in (dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE):
        success = kind == dg.DagsterEventType.RUN_SUCCESS
        return StepEvent(RUN_END, None, metadata={"success": success})
    return None


class _Handler(logging.Handler):
    def __init__(self, listener: Listener) -> None:
        super().__init__(logging.DEBUG)
        self.listener = listener

    def emit(self, record: logging.LogRecord) -> None:
        event = translate(record)
        if event is not None:
            self.listener(event)


@dg.logger(
    config_schema={"jeton": dg.Field(str, description="listener of `observatory run`")},
    description="Progression d'`observatory run` (écran du terminal).",
)
def progress_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = logging.Logger("observatory.progression", logging.DEBUG)
    listener = listener_of(init_context.logger_config["jeton"])
    if listener is not None:
        logger.addHandler(_Handler(listener))
    return logger
