"""Issue 7 benchmark: every figure side by side in one run, written to bench/RESULTS.md.

    python bench/run.py --work /tmp/bench [--repetitions 5] [--full-runs 3]
    python bench/run.py --work /tmp/bench --report-only   # rewrite RESULTS.md from results.json

Steps, each measurement in a fresh child process (its own peak RSS, via /usr/bin/time):
1. `generate.py --scale 1` → national assets + partner inbox (real data + synthetic places);
2. `observatory run` on it, `--full-runs` times in fresh data dirs: wall time, peak memory of
   its process tree (it forks its validations) and peak RSS of its largest process;
   then one profiled run (`full_run.py`: imports, definitions, per-step durations);
3. `generate.py --scale 10` → 10× warehouse from the first run's warehouse, and 10× assets
   and inbox in the raw formats; `observatory run` on those (`--full-runs-10x` times, with
   the bench-only switch OBSERVATORY_BENCH_CODES_SYNTHETIQUES=1 for the copies' codes);
4. at 1× and 10×: the compute core (`core.py`, polars), the pandas baseline
   (`pandas_baseline.py --check`) and the SQL models on DuckDB (`duckdb_models.py --check`),
   medians of `--repetitions` runs;
5. nearest-place search for all communes (`access.py` on the 1× run).
RESULTS.md is rewritten from results.json: its hand-written "Reading the figures" section
must then be written again for the new figures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from memory import memoire_arbre_mb  # bench/memory.py, next to this script

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# a real partner file (tests' fixture) dropped into the inbox after the rerun
NOUVEAU_PARTENAIRE = "hubik_pyrenees_atlantiques"
NOUVEAU_FICHIER = (
    ROOT / "tests/fixtures/partners/real/raw_hub_hubik_pyrenees_atlantiques_64_2020.csv"
)
PY = sys.executable
OBSERVATORY = str(Path(PY).parent / "observatory")
RESULTS_MD = BENCH / "RESULTS.md"
# Children import `observatory` from a snapshot of a commit (see --snapshot) when set.
CHILD_ENV: dict[str, str] = {}
CHILD_CWD: Path | None = None
TARGETS = {
    "full_run_vs_floor": 12.0,  # issue 18: a national run ≤ 12× its I/O floor
    "rerun_vs_floor": 6.0,  # a rerun with nothing changed ≤ 6× the floor
    "largest_process_mb": 1024.0,
    "tree_mb": 1228.8,
    "core_vs_pandas": 5.0,
    "nearest_s": 1.0,
    "scale_10x": 12.0,
}


def _sh(cmd: str) -> str:
    return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()


def machine() -> dict:
    """CPU, memory and load: the figures mean nothing without them."""
    lscpu = _sh("lscpu")
    keep = ("Architecture", "Model name", "CPU(s)", "Thread(s) per core", "CPU max MHz")
    return {
        "lscpu": [line for line in lscpu.splitlines() if line.split(":")[0].strip() in keep],
        "free": _sh("free -h"),
        "uname": platform.platform(),
        "python": platform.python_version(),
        "loadavg_start": os.getloadavg(),
    }


def timed(
    cmd: list[str], env: dict | None = None, log: Path | None = None, arbre: bool = False
) -> dict:
    """Run a child under /usr/bin/time: wall seconds, peak RSS of its largest process (MB),
    return code, stdout; with `arbre`, the peak memory of the whole process tree too (sum of
    proportional set sizes, sampled every 0.2 s: the pipeline forks its large validations,
    whose pages shared with the parent count once). Only full runs are sampled: reading a
    big process' page tables costs CPU that the core timings must not pay."""
    stats = Path(f"/tmp/bench_time_{os.getpid()}.txt")
    full = ["/usr/bin/time", "-f", "%e %M", "-o", str(stats), *cmd]
    debut = time.perf_counter()
    proc = subprocess.Popen(
        full,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **CHILD_ENV, **(env or {})},
        cwd=CHILD_CWD,
    )
    pic = [0.0]
    fini = threading.Event()

    def echantillonne() -> None:
        while arbre and not fini.is_set():
            pic[0] = max(pic[0], memoire_arbre_mb(proc.pid))
            fini.wait(0.2)

    echantillonneur = threading.Thread(target=echantillonne, daemon=True)
    echantillonneur.start()
    stdout, stderr = proc.communicate()
    fini.set()
    echantillonneur.join()
    wall = time.perf_counter() - debut
    _, rss_kb = stats.read_text().split()[-2:]
    if log:
        log.write_text(stdout + stderr, encoding="utf-8")
    if proc.returncode != 0:
        print(stdout[-2000:], stderr[-4000:], file=sys.stderr)
    return {
        "wall_s": wall,
        "rss_mb": int(rss_kb) / 1024,
        "tree_pss_mb": pic[0] if arbre else None,
        "rc": proc.returncode,
        "out": stdout,
    }


def script(nom: str, *arguments: object) -> dict:
    """`timed` run of one of the bench's scripts with its arguments."""
    return timed([PY, str(BENCH / nom), *(str(a) for a in arguments)])


def fresh_data_dir(work: Path, name: str, inbox: Path | None) -> Path:
    """An empty data dir, with a copy of `inbox` as its partner inbox (None: no inbox)."""
    data = work / name
    if data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True)
    if inbox is not None:
        shutil.copytree(inbox, data / "inbox")
    return data


def published_rows(data: Path) -> dict[str, int]:
    """Rows per table of the release a run published (its manifest)."""
    manifest = data / "published" / "latest" / "manifest.json"
    if not manifest.exists():
        return {}
    tables = json.loads(manifest.read_text(encoding="utf-8"))["tables"]
    return {name: entry["rows"] for name, entry in tables.items()}


def snapshot(work: Path) -> str:
    """Extract HEAD (`git archive`, read-only on the repository) and make every child import
    `observatory`, its SQL models, schemas and assets from it: the figures then belong to one
    commit, not to a working tree others are editing."""
    global CHILD_CWD
    commit = _sh(f"git -C {ROOT} rev-parse HEAD")
    cible = work / "snapshot"
    if cible.exists():
        shutil.rmtree(cible)
    cible.mkdir(parents=True)
    subprocess.run(f"git -C {ROOT} archive {commit} | tar -x -C {cible}", shell=True, check=True)
    CHILD_ENV["PYTHONPATH"] = str(cible)
    CHILD_CWD = work  # not the repository: its folder would shadow the snapshot on sys.path
    return commit


def measure(
    work: Path,
    repetitions: int,
    full_runs: int,
    full_runs_10x: int,
    commit: bool,
    avec_boite: bool = True,
) -> dict:
    """Every figure; `avec_boite`: the full runs get the synthetic partner inbox."""
    work.mkdir(parents=True, exist_ok=True)
    res: dict = {"machine": machine(), "started": datetime.now(UTC).isoformat(timespec="seconds")}
    res["boite_partenaires"] = avec_boite
    res["commit"] = snapshot(work) if commit else "working tree of " + str(ROOT)
    print("generate scale 1", flush=True)
    subprocess.run(
        [PY, BENCH / "generate.py", "--scale", "1", "--out", work],
        check=True,
        env={**os.environ, **CHILD_ENV},
        cwd=CHILD_CWD,
    )
    env = {"OBSERVATORY_ASSETS_DIR": str(work / "assets")}
    runs = []
    for i in range(full_runs):
        print(f"full run {i + 1}/{full_runs}", flush=True)
        data = fresh_data_dir(work, f"data{i}", work / "inbox" if avec_boite else None)
        r = timed(
            [OBSERVATORY, "run", "--data-dir", str(data)], env, work / f"run{i}.log", arbre=True
        )
        runs.append({k: v for k, v in r.items() if k != "out"} | {"rows": published_rows(data)})
    res["full_runs"] = runs
    print("I/O floor", flush=True)
    r = script(
        "floor.py",
        "--assets",
        work / "assets",
        "--release",
        work / "data0" / "published" / "latest",
        "--out",
        work / "floor.json",
    )
    res["floor"] = json.loads((work / "floor.json").read_text()) if r["rc"] == 0 else None
    print("rerun, nothing changed", flush=True)
    rerun = timed(
        [OBSERVATORY, "run", "--data-dir", str(work / "data0")], env, work / "rerun.log", arbre=True
    )
    res["rerun"] = {k: v for k, v in rerun.items() if k != "out"} | {
        "steps": _steps((work / "rerun.log").read_text(encoding="utf-8"))
    }
    print("rerun, one new partner file", flush=True)
    depot = work / "data0" / "inbox" / NOUVEAU_PARTENAIRE
    depot.mkdir(parents=True, exist_ok=True)
    shutil.copy(NOUVEAU_FICHIER, depot)
    partenaire = timed(
        [OBSERVATORY, "run", "--data-dir", str(work / "data0")], env, work / "partner.log"
    )
    res["rerun_partenaire"] = {k: v for k, v in partenaire.items() if k != "out"} | {
        "steps": _steps((work / "partner.log").read_text(encoding="utf-8"))
    }
    print("profiled run", flush=True)
    prof = fresh_data_dir(work, "data_prof", work / "inbox" if avec_boite else None)
    r = timed(
        [PY, str(BENCH / "full_run.py"), "--data-dir", str(prof), "--out", str(work / "prof.json")],
        env,
        work / "prof.log",
    )
    res["profile"] = json.loads((work / "prof.json").read_text()) if r["rc"] == 0 else None
    warehouse1 = work / "data0" / "warehouse"
    print("generate scale 10 (warehouse, assets, inbox)", flush=True)
    subprocess.run(
        [
            PY,
            BENCH / "generate.py",
            "--scale",
            "10",
            "--warehouse",
            warehouse1,
            "--assets",
            work / "assets",
            "--out",
            work / "x10",
        ],
        check=True,
        env={**os.environ, **CHILD_ENV},
        cwd=CHILD_CWD,
    )
    env10 = {
        "OBSERVATORY_ASSETS_DIR": str(work / "x10" / "assets"),
        "OBSERVATORY_BENCH_CODES_SYNTHETIQUES": "1",
    }
    runs10 = []
    for i in range(full_runs_10x):
        print(f"full run 10x {i + 1}/{full_runs_10x}", flush=True)
        data = fresh_data_dir(work, f"data10x_{i}", work / "x10" / "inbox" if avec_boite else None)
        r = timed(
            [OBSERVATORY, "run", "--data-dir", str(data)],
            env10,
            work / f"run10x_{i}.log",
            arbre=True,
        )
        runs10.append({k: v for k, v in r.items() if k != "out"} | {"rows": published_rows(data)})
        if i < full_runs_10x - 1:
            shutil.rmtree(data)  # 10× data dirs are several GB
    res["full_runs_10x"] = runs10
    for echelle, warehouse in (("1x", warehouse1), ("10x", work / "x10" / "warehouse")):
        for peer, fichier, extra in (
            ("polars", "core.py", []),
            ("pandas", "pandas_baseline.py", ["--check"]),
            ("duckdb", "duckdb_models.py", ["--check"]),
        ):
            extra = extra if echelle == "1x" else []  # agreement checked at 1× only
            print(f"{peer} {echelle}", flush=True)
            out = work / f"{peer}_{echelle}.json"
            r = timed(
                [
                    PY,
                    str(BENCH / fichier),
                    "--warehouse",
                    str(warehouse),
                    "--repetitions",
                    str(repetitions),
                    "--out",
                    str(out),
                    *extra,
                ],
            )
            figures = json.loads(out.read_text()) if r["rc"] == 0 else {"error": r["rc"]}
            figures["process_rss_mb"] = r["rss_mb"]
            res[f"{peer}_{echelle}"] = figures
    print("core profile", flush=True)
    for echelle, warehouse in (("1x", warehouse1), ("10x", work / "x10" / "warehouse")):
        r = script("core.py", "--warehouse", warehouse, "--profile")
        res[f"core_profile_{echelle}"] = r["out"]
    print("nearest-place search", flush=True)
    r = script("access.py", "--data-dir", work / "data0", "--repetitions", repetitions)
    res["access"] = r["out"]
    r = script(
        "access.py", "--data-dir", work / "x10", "--repetitions", repetitions, "--skip-orientation"
    )
    res["access_10x"] = r["out"]
    res["machine"]["loadavg_end"] = os.getloadavg()
    res["other_processes"] = _sh("ps -eo pcpu,etime,comm --sort=-pcpu | head -8")
    res["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    return res


def _steps(sortie: str) -> str:
    """The run's own count of steps ("129 étapes en 5 couches."; none when nothing changed)."""
    if "rien n'a changé depuis le dernier run réussi" in sortie:
        return "no step run: nothing changed"
    return next((line for line in sortie.splitlines() if "étapes en" in line), "")


def _ecart(valeur: float | None) -> str:
    """A largest difference; none when no row matched (the outputs' keys differ)."""
    return "— (no row matched)" if valeur is None else f"{valeur:.1e}"


def _ok(valeur: float, cible: float, plus_petit: bool = True) -> str:
    return "met" if (valeur <= cible if plus_petit else valeur >= cible) else "**missed**"


def _nearest(access_out: str) -> float | None:
    for line in access_out.splitlines():
        if line.startswith("nearest-place search"):
            return float(line.split(":")[1].split("s")[0])
    return None


def report(res: dict) -> str:
    """RESULTS.md from the measured figures."""
    m = res["machine"]
    full = res["full_runs"]
    wall = statistics.median(r["wall_s"] for r in full)
    rss = max(r["rss_mb"] for r in full)
    # the memory of the run: its process tree (validations are forked); older results
    # measured one process
    memoire = max(r.get("tree_pss_mb") or r["rss_mb"] for r in full)
    p1, p10 = res["polars_1x"], res["polars_10x"]
    d1, d10 = res["pandas_1x"], res["pandas_10x"]
    k1, k10 = res["duckdb_1x"], res["duckdb_10x"]
    # the steps both compute, by name (a baseline that lags the pipeline's models has others)
    communs = [k for k in d1["median_s"] if k != "core" and k in p1["median_s"]]
    sans_pair = sorted((set(d1["median_s"]) ^ set(p1["median_s"])) - {"core"})
    sql = [k for k in k1["median_s"] if k != "sql_models"]

    def somme(fig: dict, noms: list[str]) -> float:
        return sum(fig["median_s"].get(n, float("nan")) for n in noms)

    core1, core10 = somme(p1, communs), somme(p10, communs)
    pd1, pd10 = somme(d1, communs), somme(d10, communs)
    sql_pl1, sql_pl10 = somme(p1, sql), somme(p10, sql)
    sql_dk1, sql_dk10 = k1["median_s"]["sql_models"], k10["median_s"]["sql_models"]
    nearest = _nearest(res["access"])
    boite = (
        ""
        if res.get("boite_partenaires", True)
        else ", not given to the full runs of this invocation: `--sans-boite`"
    )
    floor = res.get("floor") or {}
    plancher = floor.get("floor_s") or float("nan")
    rerun_s = (res.get("rerun") or {}).get("wall_s") or float("nan")
    partenaire_s = (res.get("rerun_partenaire") or {}).get("wall_s") or float("nan")
    # a run after a new partner file compares its release with the previous one (CHANGELOG):
    # the largest process of the full runs and of that run
    partenaire_rss = (res.get("rerun_partenaire") or {}).get("rss_mb") or float("nan")
    rss_max = rss if math.isnan(partenaire_rss) else max(rss, partenaire_rss)
    full10 = [r for r in res.get("full_runs_10x", []) if r["rc"] == 0]
    wall10 = statistics.median(r["wall_s"] for r in full10) if full10 else None
    lignes = [
        "# Benchmark results (issue 18; issue 7 item 3, issue 5 indicator layer)",
        "",
        f"Measured by `python bench/run.py` in one run, {res['started']} → {res['finished']} "
        f"(UTC), code: {res.get('commit', 'working tree')}. Every figure below comes from "
        "that run.",
        "",
        "## Machine",
        "",
        "```",
        *m["lscpu"],
        m["free"],
        m["uname"] + f", Python {m['python']}",
        f"load average at start {m['loadavg_start']}, at end {m['loadavg_end']}",
        "```",
        "",
        "The machine was shared: other agents' jobs (tests, pipeline runs) may have been running "
        "during the measurement (load averages above; busiest processes at the end:",
        "",
        "```",
        res.get("other_processes", ""),
        "```",
        "",
        "so the wall times are upper bounds of what a quiet 2-core machine gives.",
        "",
        "## Inputs",
        "",
        f"- **1×**: `bench/generate.py --scale 1`: the real bundled national data (all COG 2026 "
        f"communes, census, Filosofi, ARCEP, CAF, zonings…) + synthetic places (registries hold "
        f"{p1['places']:,} merged places after dedup) + synthetic national partner files "
        f"(inbox formats{boite}). "
        f"Warehouse: {p1['communes']:,} communes.",
        f"- **10×**: `bench/generate.py --scale 10`: 10 copies of every commune, EPCI, IRIS "
        f"and place under new codes (the real code followed by `S1`…`S9`; départements and "
        f"régions are not copied, each holds ten times its communes), built twice: in the raw "
        f"formats of every bundled file plus a 10× partner inbox, for the full run (accepted "
        f"with the bench-only switch `OBSERVATORY_BENCH_CODES_SYNTHETIQUES=1`), and at the "
        f"warehouse level (the int__ inputs of the indicator layer) for the compute core "
        f"({p10['communes']:,} communes, {p10['places']:,} places).",
        "",
        "## Targets",
        "",
        "| Target | Measured | Verdict |",
        "|---|---|---|",
        f"| I/O floor: read every input, write every published table (min of "
        f"{len(floor.get('essais', []))}) | {plancher:.2f} s (read {floor.get('lecture_s', 0):.2f}"
        f" s, write {floor.get('ecriture_s', 0):.2f} s) | — |",
        f"| national full run ≤ 12× the floor (median of {len(full)}) | {wall:.1f} s = "
        f"{wall / plancher:.1f}× | {_ok(wall / plancher, TARGETS['full_run_vs_floor'])} |",
        f"| rerun with nothing changed ≤ 6× the floor | {rerun_s:.1f} s = "
        f"{rerun_s / plancher:.1f}× ({res.get('rerun', {}).get('steps', '')}) | "
        f"{_ok(rerun_s / plancher, TARGETS['rerun_vs_floor'])} |",
        f"| a new partner file re-materialises only that partner's assets and what depends on "
        f"them | {partenaire_s:.1f} s ({res.get('rerun_partenaire', {}).get('steps', '')}) | "
        "measured |",
        f"| largest process ≤ 1.0 GB (full runs; the run after a new partner file, which compares "
        f"its release with the previous one) | {rss:,.0f} MB; {partenaire_rss:,.0f} MB | "
        f"{_ok(rss_max, TARGETS['largest_process_mb'])} |",
        f"| whole process tree ≤ 1.2 GB | {memoire:,.0f} MB | {_ok(memoire, TARGETS['tree_mb'])} |",
        f"| compute core ≥ 5× faster than pandas (1×) | pandas / polars = {pd1 / core1:.2f}× | "
        f"{_ok(pd1 / core1, TARGETS['core_vs_pandas'], plus_petit=False)} |",
        f"| compute core ≥ 5× faster than pandas (10×) | pandas / polars = {pd10 / core10:.2f}× | "
        f"{_ok(pd10 / core10, TARGETS['core_vs_pandas'], plus_petit=False)} |",
        f"| SQL models no slower than DuckDB (1×) | polars / DuckDB = {sql_pl1 / sql_dk1:.2f}× | "
        f"{_ok(sql_pl1 / sql_dk1, 1.0)} |",
        f"| SQL models no slower than DuckDB (10×) | polars / DuckDB = "
        f"{sql_pl10 / sql_dk10:.2f}× | {_ok(sql_pl10 / sql_dk10, 1.0)} |",
        f"| nearest-place search for all communes ≤ 1 s | {nearest:.3f} s per target | "
        f"{_ok(nearest, TARGETS['nearest_s'])} |"
        if nearest is not None
        else "| nearest-place search | not parsed | — |",
        f"| 10× input ≤ 12× the 1× time (compute core) | {core10 / core1:.2f}× | "
        f"{_ok(core10 / core1, TARGETS['scale_10x'])} |",
        (
            f"| 10× input ≤ 12× the 1× time (full run) | {wall10:.1f} s / {wall:.1f} s = "
            f"{wall10 / wall:.2f}× | {_ok(wall10 / wall, TARGETS['scale_10x'])} |"
            if wall10 is not None
            else "| 10× input ≤ 12× the 1× time (full run) | no successful 10× run | — |"
        ),
        "",
        "## Full run (`observatory run`, in-process executor, 1×)",
        "",
        "Peak memory: of the process tree (sum of proportional set sizes of `observatory run` "
        "and its forked validations, sampled every 0.2 s), and of its largest process alone "
        "(`/usr/bin/time`).",
        "",
        "| run | wall (s) | peak memory, tree (MB) | peak RSS, largest process (MB) | exit |",
        "|---|---|---|---|---|",
        *(
            f"| {i + 1} | {r['wall_s']:.1f} | {r.get('tree_pss_mb') or 0:,.0f} | "
            f"{r['rss_mb']:,.0f} | {r['rc']} |"
            for i, r in enumerate(full)
        ),
        "",
    ]
    if res.get("full_runs_10x"):
        lignes10 = res["full_runs_10x"][-1].get("rows") or {}
        lignes1 = full[0].get("rows") or {}
        lignes += [
            "## Full run at 10× (`observatory run` on the 10× assets and inbox)",
            "",
            "| run | wall (s) | peak memory, tree (MB) | peak RSS, largest process (MB) | exit |",
            "|---|---|---|---|---|",
            *(
                f"| {i + 1} | {r['wall_s']:.1f} | {r.get('tree_pss_mb') or 0:,.0f} | "
                f"{r['rss_mb']:,.0f} | {r['rc']} |"
                for i, r in enumerate(res["full_runs_10x"])
            ),
            "",
            "| published table | rows 1× | rows 10× | ratio |",
            "|---|---|---|---|",
            *(
                f"| {t} | {lignes1.get(t, 0):,} | {n:,} | "
                f"{n / lignes1[t] if lignes1.get(t) else float('nan'):.2f} |"
                for t, n in lignes10.items()
            ),
            "",
        ]
    prof = res.get("profile")
    if prof:
        lignes += [
            "### Where the time goes (profiled run, `bench/full_run.py`)",
            "",
            f"Imports: Dagster {prof['import_dagster_s']:.1f} s, observatory "
            f"{prof['import_observatory_s']:.1f} s (great-expectations imported by the run: "
            f"{'yes' if prof.get('great_expectations_importe') else 'no'}); definitions "
            f"{prof['build_definitions_s']:.1f} s; job {prof['execute_s']:.1f} s, of which "
            "the steps' own durations sum to "
            f"{prof['sum_steps_s']:.1f} s (the rest is Dagster's per-step overhead: events, IO "
            f"manager, checks); peak memory sampled (process and forked validations) "
            f"{prof.get('peak_sampled_mb') or 0:,.0f} MB, peak RSS of the largest process "
            f"{prof['peak_rss_mb']:,.0f} MB.",
            "",
            "| step (top 15) | s |",
            "|---|---|",
            *(f"| {k} | {v:.2f} |" for k, v in list(prof["steps_s"].items())[:15]),
            "",
        ]
        if prof.get("pub_sql_secondes"):
            detail = ", ".join(
                f"{k.removeprefix('secondes_')} {v:.1f} s"
                for k, v in prof["pub_sql_secondes"].items()
            )
            lignes += [f"`pub_sql` (release → SQLite, keys, indexes, views) by part: {detail}.", ""]
        memoire = prof.get("steps_memory") or {}
        if memoire:
            lignes += [
                f"Memory: {prof.get('rss_before_job_mb') or 0:,.0f} MB before the job (imports, "
                "definitions); the steps that leave the most memory behind (memory at the "
                "step's end minus at its start, sampled every 0.1 s as the proportional set "
                "size of the process and its forked validations; freed memory is often kept by "
                "the allocator, so growth accumulates):",
                "",
                "| step (top 10, growth) | start (MB) | end (MB) | peak in step (MB) |",
                "|---|---|---|---|",
                *(
                    f"| {k} | {v['start_mb']:,.0f} | {v['end_mb']:,.0f} | {v['peak_mb']:,.0f} |"
                    for k, v in list(memoire.items())[:10]
                ),
                "",
            ]
    lignes += [
        "## Compute core (indicator layer, no Dagster): polars vs pandas vs DuckDB",
        "",
        f"Median of {p1['repetitions']} runs per step, inputs already in memory (load times "
        "apart). `core` below = the steps both polars and pandas compute, by name: "
        f"{', '.join(f'`{k}`' for k in communs)}. Steps only one side has: "
        f"{', '.join(f'`{k}`' for k in sans_pair) or 'none'}. The pandas baseline has not "
        "followed the pipeline's models since issue 15 (supply by criterion now in `ind_offre`, "
        "the IFN against three references): where the agreement table below shows different "
        "rows, the two sides do different work and their ratio is not a like-for-like "
        "comparison.",
        "",
        "| step | polars 1× | pandas 1× | DuckDB 1× | polars 10× | pandas 10× | DuckDB 10× |",
        "|---|---|---|---|---|---|---|",
    ]

    def cell(fig: dict, k: str) -> str:
        v = fig["median_s"].get(k)
        return f"{v:.3f}" if v is not None else "—"

    for k in p1["median_s"]:
        if k == "core":
            continue
        lignes.append(
            f"| {k} | {cell(p1, k)} | {cell(d1, k)} | {cell(k1, k)} | {cell(p10, k)} | "
            f"{cell(d10, k)} | {cell(k10, k)} |"
        )
    lignes += [
        f"| **core (common steps)** | **{core1:.3f}** | **{pd1:.3f}** | — | **{core10:.3f}** | "
        f"**{pd10:.3f}** | — |",
        f"| **SQL models** | **{sql_pl1:.3f}** | — | **{sql_dk1:.3f}** | **{sql_pl10:.3f}** | — "
        f"| **{sql_dk10:.3f}** |",
        f"| process peak RSS (MB) | {p1['process_rss_mb']:,.0f} | {d1['process_rss_mb']:,.0f} | "
        f"{k1['process_rss_mb']:,.0f} | {p10['process_rss_mb']:,.0f} | "
        f"{d10['process_rss_mb']:,.0f} | {k10['process_rss_mb']:,.0f} |",
        "",
        f"`int__besoin_communes` (per-commune indirect standardisation) is polars only: the "
        f"peers start from its output. SQL models skipped for want of inputs in the warehouse: "
        f"{p1.get('sql_skipped') or 'none'}. DuckDB {k1['duckdb']} ({k1['threads']} threads), "
        f"pandas {d1['pandas']}.",
        "",
        "### Agreement of the peers' outputs with the pipeline's (1×)",
        "",
        "| output | pandas rows / polars rows | values differing (pandas) | DuckDB rows / polars "
        "rows | values differing (DuckDB) |",
        "|---|---|---|---|---|",
    ]
    for k, c in d1.get("check", {}).items():
        kd = k1.get("check", {}).get(k)
        dk = (
            f"{kd['rows_duckdb']} / {kd['rows_polars']} | "
            f"{kd.get('value_mismatch', '—')} (+{kd.get('null_mismatch', '—')} null)"
            if kd
            else "— | —"
        )
        lignes.append(
            f"| {k} | {c['rows_pandas']} / {c['rows_polars']} | {c['value_mismatch']} "
            f"(+{c['null_mismatch']} null; max abs diff {_ecart(c['max_abs_diff'])}) | {dk} |"
        )
    for echelle in ("1x", "10x"):
        if res.get(f"core_profile_{echelle}"):
            lignes += [
                "",
                f"### Where the polars core's time goes ({echelle}, cProfile of one pass, "
                "cumulative seconds of the package's functions; profiling inflates them)",
                "",
                "```",
                res[f"core_profile_{echelle}"].strip(),
                "```",
            ]
    tous1 = sum(v for k, v in p1["median_s"].items() if k != "core")
    tous10 = sum(v for k, v in p10["median_s"].items() if k != "core")
    lignes += [
        "",
        f"Every polars step of the table (the indicator layer as the pipeline runs it, "
        f"`int__besoin_communes` and the polars-only indicators included): {tous1:.2f} s at "
        f"1×, {tous10:.2f} s at 10× ({tous10 / tous1:.1f}×).",
    ]
    lignes += [
        "",
        "## Nearest-place search (`bench/access.py` on the 1× run)",
        "",
        "```",
        res["access"].strip(),
        "```",
        "",
        "At 10× (the 10× warehouse; orientation table skipped):",
        "",
        "```",
        (res.get("access_10x") or "not measured").strip(),
        "```",
        "",
    ]
    lignes += [
        "## How to reproduce",
        "",
        "```",
        "python bench/run.py --work /tmp/bench            # everything, writes this file",
        "python bench/generate.py --scale 1 --out DIR     # national assets + partner inbox",
        "python bench/core.py --warehouse DIR/warehouse   # indicator layer, polars (issue 5)",
        "python bench/pandas_baseline.py --warehouse DIR/warehouse --check",
        "python bench/duckdb_models.py --warehouse DIR/warehouse --check",
        "python bench/full_run.py --data-dir DIR          # profiled full run",
        "python bench/generate.py --scale 10 --assets DIR/assets --out DIR10  # 10x raw",
        "OBSERVATORY_BENCH_CODES_SYNTHETIQUES=1 OBSERVATORY_ASSETS_DIR=DIR10/assets \\",
        "    observatory run --data-dir DATA10                # (DATA10/inbox = DIR10/inbox)",
        "```",
        "",
    ]
    return "\n".join(lignes) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="scratch folder (big)")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--full-runs", type=int, default=3)
    parser.add_argument("--full-runs-10x", type=int, default=1)
    parser.add_argument("--report-only", action="store_true")
    sans_boite = "full runs without the synthetic partner inbox (bundled data and places only)"
    parser.add_argument("--sans-boite", action="store_true", help=sans_boite)
    parser.add_argument(
        "--snapshot", action="store_true", help="measure HEAD (git archive), not the working tree"
    )
    parser.add_argument("--results", type=Path, default=RESULTS_MD)
    args = parser.parse_args()
    args.work = args.work.resolve()
    fichier = args.work / "results.json"
    if not args.report_only:
        res = measure(
            args.work,
            args.repetitions,
            args.full_runs,
            args.full_runs_10x,
            args.snapshot,
            avec_boite=not args.sans_boite,
        )
        fichier.write_text(json.dumps(res, indent=2, default=str), encoding="utf-8")
    res = json.loads(fichier.read_text(encoding="utf-8"))
    args.results.write_text(report(res), encoding="utf-8")
    print(f"→ {args.results}")


if __name__ == "__main__":
    main()
