"""What `observatory run` shows while it runs, and the summary it ends with (in French).

On a terminal: one line per layer (raw data, staging, intermediate tables, indicators,
publication) with a live progress bar, the step running and the time spent in the layer's
steps (rich; the layers overlap in time, the steps run one at a time).
Elsewhere (cron, a pipe, CI logs): plain lines, one when a layer is done, no escape codes.
Both end with the same summary: release, tables and rows, rows quarantined by source, partner
files refused (with their feedback report), failures, duration. Everything goes to stderr:
stdout keeps only the release's path, for scripts.

The display is fed `StepEvent`s, Dagster's event stream simplified by the `progression` logger
(`observatory.defs.progress`), through the listener registered for the run (`listening`); the
summary is built from the same events (`RunSummary`).
"""

from __future__ import annotations

import contextlib
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import polars as pl
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TaskID, TextColumn
from rich.text import Text

from observatory.publish.numbers import count, number

PROGRESS_LOGGER = "progression"
LAYERS = ("raw", "staging", "intermediate", "indicators", "publish")

# StepEvent kinds
PLAN = "plan"  # metadata: {"steps": {step_key: layer}}
START = "start"
SUCCESS = "success"
FAILURE = "failure"  # message: the root cause
SKIPPED = "skipped"
MATERIALIZATION = "materialization"  # metadata: the asset's metadata, plain values
CHECK_FAILED = "check_failed"  # a blocking check did not pass; message: its summary
WARNING = "warning"  # a warning logged by an asset (a partner file refused…)
RUN_END = "run_end"  # metadata: {"success": bool}


@dataclass(frozen=True)
class StepEvent:
    kind: str
    step: str | None = None
    message: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)


Listener = Callable[[StepEvent], None]
_listeners: dict[str, Listener] = {}


@contextlib.contextmanager
def listening(listener: Listener) -> Iterator[str]:
    """Register `listener` for the run configured with the yielded token."""
    token = uuid.uuid4().hex
    _listeners[token] = listener
    try:
        yield token
    finally:
        _listeners.pop(token, None)


def listener_of(token: str) -> Listener | None:
    """The listener registered under `token` (the `progression` logger's config), if any."""
    return _listeners.get(token)


def run_config_logger(token: str) -> dict[str, Any]:
    """The `loggers` entry of a run config that sends the run's events to the listener."""
    return {PROGRESS_LOGGER: {"config": {"jeton": token}}}


LAYER_LABELS = {
    "raw": "Données brutes",
    "staging": "Mise en forme et contrôles",
    "intermediate": "Tables intermédiaires",
    "indicators": "Indicateurs",
    "publish": "Publication",
}


def seconds(value: float) -> str:
    """`12,3 s`, `2 min 05 s`."""
    if value < 60:
        return f"{number(value, 1)} s"
    minutes, rest = divmod(round(value), 60)
    return f"{minutes} min {rest:02d} s"


# --- the summary ------------------------------------------------------------------------------


@dataclass
class RunSummary:
    """What a run did, gathered from its events."""

    release: Path | None = None
    release_id: str | None = None
    new_release: bool = False
    tables: dict[str, int] = field(default_factory=dict)
    quarantine_files: list[Path] = field(default_factory=list)
    refused: list[tuple[str, str | None]] = field(default_factory=list)  # (reason, report)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (step, cause)
    not_run: int = 0
    duration: float = 0.0

    def record(self, event: StepEvent) -> None:
        if event.kind in (FAILURE, CHECK_FAILED):
            self.failures.append((event.step or "?", event.message))
        elif event.kind == MATERIALIZATION:
            self._materialized(event.message, event.metadata)

    def _materialized(self, asset: str, metadata: Mapping[str, Any]) -> None:
        if asset == "release":
            self.release = Path(str(metadata["chemin"]))
            self.release_id = str(metadata.get("release_id") or self.release.name)
            self.new_release = bool(metadata.get("nouvelle"))
            self.tables = {
                key.removeprefix("lignes_"): int(value)
                for key, value in metadata.items()
                if key.startswith("lignes_")
            }
        if metadata.get("quarantaine"):
            self.quarantine_files.append(Path(str(metadata["quarantaine"])))
        refuses = metadata.get("refuses") or []  # refused by the inbox: never landed
        retours = metadata.get("retours_refuses") or [None] * len(refuses)
        for reason, report in zip(refuses, retours, strict=False):
            self.refused.append((str(reason), str(report) if report else None))
        reasons = metadata.get("fichiers_illisibles") or []
        reports = metadata.get("retours_fichiers_refuses") or [None] * len(reasons)
        for reason, report in zip(reasons, reports, strict=False):
            self.refused.append((str(reason), str(report) if report else None))

    def quarantined_by_source(self) -> dict[str, int]:
        """Rows rejected by this run's steps, by source (a row counted once per file)."""
        frames = [
            pl.read_parquet(path, columns=["source", "fichier", "ligne", "action"])
            for path in self.quarantine_files
            if path.is_file()
        ]
        if not frames:
            return {}
        rejected = (
            pl.concat(frames)
            .filter(pl.col("action") == "rejet")
            .unique(["source", "fichier", "ligne"])
            .group_by("source")
            .len()
            .sort("len", "source", descending=[True, False])
        )
        return dict(rejected.iter_rows())


def summary_lines(summary: RunSummary, success: bool) -> list[str]:
    """The end-of-run summary as plain French lines."""
    lines = []
    if success and summary.release is not None:
        if summary.new_release:
            lines.append(f"Release {summary.release_id} publiée : {summary.release}")
        else:
            lines.append(
                f"Rien n'a changé depuis la dernière release : {summary.release_id} reste la "
                "dernière, aucune nouvelle release."
            )
    elif summary.release is not None:  # a step after the release failed: the SQL copy
        state = "publiée" if summary.new_release else "inchangée"
        lines.append(
            f"Release Parquet {summary.release_id} {state} et `latest` : {summary.release} ; "
            "une étape après elle a échoué (copie SQL, voir les échecs)."
        )
    else:
        lines.append("Aucune release publiée : la précédente reste `latest`.")
    if summary.tables:
        lines.append("Tables :")
        width = max(len(name) for name in summary.tables)
        for name, rows in summary.tables.items():
            lines.append(f"  {name:<{width}}  {count(rows):>12} lignes")
    quarantined = summary.quarantined_by_source()
    if quarantined:
        total = sum(quarantined.values())
        lines.append(f"Lignes mises en quarantaine (rejetées) : {count(total)}, par source :")
        width = max(len(source) for source in quarantined)
        for source, rows in quarantined.items():
            lines.append(f"  {source:<{width}}  {count(rows):>9}")
    if summary.refused:
        lines.append(f"Fichiers partenaires refusés : {len(summary.refused)}")
        for reason, report in summary.refused:
            retour = f" (retour au producteur : {report})" if report else ""
            lines.append(f"  - {reason}{retour}")
    if summary.failures:
        lines.append(f"Échecs : {len(summary.failures)}")
        lines += [f"  - {step} : {cause}" for step, cause in summary.failures]
    if summary.not_run:
        lines.append(
            f"Étapes non exécutées (une étape dont elles dépendent a échoué) : {summary.not_run}"
        )
    lines.append(f"Durée : {seconds(summary.duration)}")
    return lines


# --- progress of the steps --------------------------------------------------------------------


@dataclass
class LayerState:
    total: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0
    started: float | None = None
    ended: float | None = None
    busy: float = 0.0  # time spent in the layer's finished steps
    running: dict[str, float] = field(default_factory=dict)  # step → when it started

    @property
    def finished(self) -> bool:
        return self.total > 0 and self.done + self.failed + self.skipped >= self.total

    def time_spent(self, now: float) -> float:
        return self.busy + sum(now - since for since in self.running.values())


class _TimeSpent(ProgressColumn):
    """Time spent in a layer's steps, in French (`12,3 s`), ticking while one runs."""

    def __init__(self, display: RunDisplay) -> None:
        super().__init__()
        self.display = display

    def render(self, task: Task) -> Text:
        state = self.display.layers[task.fields["couche"]]
        if state.started is None:
            return Text("")
        return Text(seconds(state.time_spent(self.display.clock())), style="cyan")


class RunDisplay:
    """Progress on stderr: live bars on a terminal, plain lines elsewhere, nothing if quiet."""

    def __init__(
        self,
        stream: IO[str] | None = None,
        *,
        quiet: bool = False,
        live: bool | None = None,
        clock: Any = time.monotonic,
    ) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.live = (not quiet) and (self.stream.isatty() if live is None else live)
        self.clock = clock
        self.start = clock()
        self.layers: dict[str, LayerState] = {}
        self.step_layer: dict[str, str] = {}
        self.summary = RunSummary()
        self.success = False
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}

    # plain output (also above the live bars)
    def say(self, line: str) -> None:
        if self.quiet:
            return
        if self._progress is not None:
            self._progress.console.print(line, markup=False, highlight=False)
        else:
            print(line, file=self.stream, flush=True)

    def _elapsed(self) -> str:
        return f"[{seconds(self.clock() - self.start):>9}]"

    def waiting_for_lock(self, holder: Mapping[str, Any], timeout: float) -> None:
        pid = holder.get("pid")
        who = f"le pid {pid}" if pid is not None else "un autre processus"
        if holder.get("host"):
            who += f" sur {holder['host']}"
        since = f", depuis {holder['since']}" if holder.get("since") else ""
        label = f" ({holder['label']}{since})" if holder.get("label") else since
        self.say(
            f"En attente du verrou du dossier de données, tenu par {who}{label} : "
            f"jusqu'à {seconds(timeout)}…"
        )

    def handle(self, event: StepEvent) -> None:
        self.summary.record(event)
        if event.kind == PLAN:
            self._plan(event.metadata["steps"])
        elif event.kind in (START, SUCCESS, FAILURE, SKIPPED) and event.step in self.step_layer:
            self._step(event)
        elif event.kind == WARNING:
            self.say(f"Avertissement ({event.step}) : {event.message}")
        elif event.kind == CHECK_FAILED:
            self.say(f"Contrôle bloquant en échec ({event.step}) : {event.message}")
        elif event.kind == RUN_END:
            self.success = bool(event.metadata.get("success"))

    def _plan(self, steps: Mapping[str, str]) -> None:
        self.step_layer = dict(steps)
        order = [*LAYERS, *sorted(set(steps.values()) - set(LAYERS))]
        for layer in order:
            total = sum(1 for value in steps.values() if value == layer)
            if total:
                self.layers[layer] = LayerState(total=total)
        if self.live:
            self._progress = Progress(
                TextColumn("{task.description:<28}"),
                BarColumn(bar_width=30),
                TextColumn("{task.completed:>3.0f}/{task.total:<3.0f}"),
                _TimeSpent(self),
                TextColumn("[dim]{task.fields[etape]}", markup=True),
                console=Console(file=self.stream, highlight=False, force_terminal=True),
                transient=False,
            )
            for layer, state in self.layers.items():
                self._tasks[layer] = self._progress.add_task(
                    LAYER_LABELS.get(layer, layer),
                    total=state.total,
                    start=False,
                    etape="",
                    couche=layer,
                )
            self._progress.start()
        else:
            total = sum(state.total for state in self.layers.values())
            self.say(f"{total} étapes en {len(self.layers)} couches.")

    def _step(self, event: StepEvent) -> None:
        layer = self.step_layer[event.step or ""]
        state = self.layers[layer]
        now = self.clock()
        if event.kind == START:
            if state.started is None:
                state.started = now
                if self._progress is not None:
                    self._progress.start_task(self._tasks[layer])
            state.running[event.step or ""] = now
        else:
            since = state.running.pop(event.step or "", None)
            state.busy += now - since if since is not None else 0.0
            if event.kind == SUCCESS:
                state.done += 1
            elif event.kind == FAILURE:
                state.failed += 1
                self.say(f"Échec de {event.step} : {event.message}")
            else:
                state.skipped += 1
        if self._progress is not None:
            task = self._tasks[layer]
            self._progress.update(
                task,
                completed=state.done + state.failed + state.skipped,
                etape=event.step if event.kind == START else "",
            )
        if event.kind != START and state.finished and state.ended is None:
            state.ended = now
            if self._progress is not None:
                self._progress.stop_task(self._tasks[layer])
                self._progress.update(self._tasks[layer], etape=self._outcome(state))
            else:
                self.say(f"{self._elapsed()} {self._layer_line(layer, state)}")

    @staticmethod
    def _outcome(state: LayerState) -> str:
        parts = []
        if state.failed:
            parts.append(f"{state.failed} en échec")
        if state.skipped:
            parts.append(f"{state.skipped} sautées")
        return ", ".join(parts) or "terminé"

    def _layer_line(self, layer: str, state: LayerState) -> str:
        took = seconds(state.time_spent(self.clock()))
        return (
            f"{LAYER_LABELS.get(layer, layer)} : {state.done}/{state.total} étapes "
            f"({self._outcome(state)}) en {took}"
        )

    def finish(self) -> list[str]:
        """Stop the bars, count the steps that never ran, print and return the summary."""
        self.summary.duration = self.clock() - self.start
        self.summary.not_run = sum(
            state.total - state.done - state.failed - state.skipped
            for state in self.layers.values()
        )
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        elif not self.quiet:
            for layer, state in self.layers.items():
                if state.ended is None:  # never completed: say how far it got
                    self.say(f"{self._elapsed()} {self._layer_line(layer, state)}")
        lines = summary_lines(self.summary, self.success)
        for line in lines:
            self.say(line)
        return lines
