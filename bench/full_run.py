"""Profile of one full pipeline run: where the wall time of `observatory run` goes.

    OBSERVATORY_ASSETS_DIR=DIR/assets python bench/full_run.py --data-dir DIR/data [--out f.json]

Runs what `observatory run` runs (the pipeline job rebuilt by name, `execute_job` with the
in-process executor) on an ephemeral Dagster instance, and records: the import time of
Dagster (paid once per process) and whether great-expectations was imported, the definitions
build, the job's wall time, every step's own duration (Dagster's `STEP_SUCCESS` duration), the
process' peak RSS, and the memory at each step's start and end (sampled every 0.1 s:
proportional set size of the process and of its forked validation children), to see which steps
keep memory.
The sum of step durations against the job's wall time shows Dagster's own overhead.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import threading
import time
from pathlib import Path

from memory import memoire_arbre_mb  # bench/memory.py, next to this script


def rss_mb() -> float:
    """Memory of this process and its forked validation children (`memory.memoire_arbre_mb`):
    the pages a child shares with this process count once."""
    return memoire_arbre_mb(os.getpid())


def per_step_memory(samples: list[tuple[float, float]], windows: dict) -> dict:
    """RSS at each step's start and end and its peak within, from the sampled timeline."""
    out = {}
    for step, (start, end) in windows.items():
        inside = [r for t, r in samples if start <= t <= end] or [0.0]
        before = [r for t, r in samples if t <= start] or [0.0]
        after = [r for t, r in samples if t <= end] or [0.0]
        out[step] = {"start_mb": before[-1], "end_mb": after[-1], "peak_mb": max(inside)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    figures: dict = {}
    debut = time.perf_counter()
    import dagster as dg

    figures["import_dagster_s"] = time.perf_counter() - debut
    debut = time.perf_counter()
    from observatory.settings import load_settings, settings_fields

    figures["import_observatory_s"] = time.perf_counter() - debut
    settings = load_settings(args.data_dir)
    debut = time.perf_counter()
    # as `observatory run` does (observatory.defs.jobs.materialize_all): the job rebuilt by
    # name and run by execute_job, which keeps no step output in memory
    job = dg.build_reconstructable_job(
        "observatory.defs.jobs", "pipeline_job", reconstructable_kwargs=settings_fields(settings)
    )
    job.get_definition()
    figures["build_definitions_s"] = time.perf_counter() - debut
    samples: list[tuple[float, float]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append((time.time(), rss_mb()))
            stop.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    debut = time.perf_counter()
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.execute_job(
            job,
            instance=instance,
            raise_on_error=False,
            run_config={
                "loggers": {"console": {"config": {"log_level": "WARNING"}}},
                "execution": {"config": {"in_process": {}}},
            },
        )
        windows: dict[str, list[float]] = {}
        for entry in instance.all_logs(result.run_id):
            event = entry.dagster_event
            if event is None or event.step_key is None:
                continue
            if event.event_type_value == "STEP_START":
                windows[event.step_key] = [entry.timestamp, entry.timestamp]
            elif event.event_type_value == "STEP_SUCCESS" and event.step_key in windows:
                windows[event.step_key][1] = entry.timestamp
    stop.set()
    sampler.join()
    figures["execute_s"] = time.perf_counter() - debut
    figures["success"] = result.success
    etapes = {
        e.step_key: e.event_specific_data.duration_ms / 1000
        for e in result.all_events
        if e.is_step_success
    }
    # pub_sql reports its own per-table load times: the biggest step, detailed
    figures["pub_sql_secondes"] = {
        nom: valeur.value
        for e in result.all_events
        if e.is_step_materialization and e.step_key == "pub_sql"
        for nom, valeur in e.event_specific_data.materialization.metadata.items()
        if nom.startswith("secondes_")
    }
    figures["steps_s"] = dict(sorted(etapes.items(), key=lambda kv: -kv[1]))
    # a run imports only what it needs: great-expectations is the tests' reference engine
    figures["great_expectations_importe"] = "great_expectations" in sys.modules
    figures["sum_steps_s"] = sum(etapes.values())
    # a forked child's RSS counts the pages it shares with this process: its peak is the
    # memory of both at that moment
    figures["peak_rss_mb"] = (
        max(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        )
        / 1024
    )
    figures["peak_sampled_mb"] = max((r for _, r in samples), default=None)
    figures["rss_before_job_mb"] = samples[0][1] if samples else None
    memoire = per_step_memory(samples, windows)
    figures["steps_memory"] = dict(
        sorted(memoire.items(), key=lambda kv: -(kv[1]["end_mb"] - kv[1]["start_mb"]))
    )
    print(
        json.dumps(
            {k: v for k, v in figures.items() if k not in ("steps_s", "steps_memory")}, indent=2
        )
    )
    for nom, s in list(figures["steps_s"].items())[:15]:
        print(f"  {nom:50} {s:7.2f} s")
    for nom, m in list(figures["steps_memory"].items())[:10]:
        print(
            f"  {nom:50} RSS {m['start_mb']:6.0f} → {m['end_mb']:6.0f} MB (peak {m['peak_mb']:.0f})"
        )
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
