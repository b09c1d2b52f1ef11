"""What `observatory run` shows: progress by layer fed by Dagster's event stream, then a summary.

The display is fed the events a run produces (`StepEvent`); the Dagster side (the
`progression` logger that turns the run's records into those events) is checked on a small
job; the whole CLI is checked end to end in test_end_to_end and test_cli.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from observatory.defs.progress import progress_logger, step_layers
from observatory.progress import (
    CHECK_FAILED,
    FAILURE,
    MATERIALIZATION,
    PLAN,
    RUN_END,
    SKIPPED,
    START,
    SUCCESS,
    WARNING,
    RunDisplay,
    StepEvent,
    listening,
    run_config_logger,
)
from observatory.validation.quarantine import QUARANTINE_SCHEMA

ESCAPE = re.compile(r"\x1b\[")
PLAN_EVENT = StepEvent(
    PLAN,
    metadata={
        "steps": {
            "raw_a": "raw",
            "raw_b": "raw",
            "stg_a": "staging",
            "stg_b": "staging",
            "release": "publish",
        }
    },
)


class Horloge:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def quarantaine(path: Path, rows: list[tuple[str, str, int, str]]) -> Path:
    autres = {"sha256": "x", "colonne": "c", "code_raison": "r", "valeur_brute": "v"}
    frame = pl.DataFrame(
        [{"source": s, "fichier": f, "ligne": n, "action": a} | autres for s, f, n, a in rows],
        schema=QUARANTINE_SCHEMA,
    )
    frame.write_parquet(path)
    return path


def run_events(tmp_path: Path, release_ok: bool = True) -> list[StepEvent]:
    q_a = quarantaine(
        tmp_path / "stg_a.parquet",
        [
            ("source_a", "a.csv", 1, "rejet"),
            ("source_a", "a.csv", 1, "rejet"),  # two reasons, one row
            ("source_a", "a.csv", 2, "rejet"),
            ("source_a", "a.csv", 3, "valeur_ecartee"),  # kept: not counted
        ],
    )
    q_b = quarantaine(tmp_path / "stg_b.parquet", [("partenaire__p", "p.csv", 7, "rejet")])
    retour = str(tmp_path / "retours/p/page.csv.retour.html")
    events = [
        PLAN_EVENT,
        StepEvent(START, "raw_a"),
        StepEvent(SUCCESS, "raw_a"),
        StepEvent(START, "raw_b"),
        StepEvent(MATERIALIZATION, "raw_b", "raw_b", {"refuses": ["gros.csv : trop gros"]}),
        StepEvent(SUCCESS, "raw_b"),
        StepEvent(START, "stg_a"),
        StepEvent(MATERIALIZATION, "stg_a", "stg_a", {"quarantaine": str(q_a)}),
        StepEvent(SUCCESS, "stg_a"),
        StepEvent(START, "stg_b"),
        StepEvent(WARNING, "stg_b", "page.csv : c'est une page web"),
        StepEvent(
            MATERIALIZATION,
            "stg_b",
            "stg_b",
            {
                "quarantaine": str(q_b),
                "fichiers_illisibles": ["page.csv : c'est une page web"],
                "retours_fichiers_refuses": [retour],
            },
        ),
        StepEvent(SUCCESS, "stg_b"),
    ]
    if release_ok:
        events += [
            StepEvent(START, "release"),
            StepEvent(
                MATERIALIZATION,
                "release",
                "release",
                {
                    "chemin": str(tmp_path / "published/releases/R1"),
                    "release_id": "R1",
                    "nouvelle": True,
                    "lignes_territoires": 37957,
                    "lignes_indicateurs": 1859598,
                },
            ),
            StepEvent(SUCCESS, "release"),
            StepEvent(RUN_END, metadata={"success": True}),
        ]
    else:
        events += [
            StepEvent(START, "release"),
            StepEvent(FAILURE, "release", "PublicationCheckError: 3 valeurs sur des territoires"),
            StepEvent(CHECK_FAILED, "pub_lieux_x", "pub_lieux/x : 2 courriels personnels"),
            StepEvent(RUN_END, metadata={"success": False}),
        ]
    return events


def afficher(events: list[StepEvent], live: bool = False) -> tuple[str, list[str]]:
    sortie, horloge = io.StringIO(), Horloge()
    display = RunDisplay(sortie, live=live, clock=horloge)
    for event in events:
        horloge.t += 1.5
        display.handle(event)
    resume = display.finish()
    return sortie.getvalue(), resume


def test_plain_lines_per_layer_then_the_summary(tmp_path: Path) -> None:
    texte, resume = afficher(run_events(tmp_path))
    assert not ESCAPE.search(texte)  # not a terminal: no escape codes
    lignes = texte.splitlines()
    assert lignes[0] == "5 étapes en 3 couches."
    # one event every 1.5 s: the raw layer ends at the 6th event (9 s after the display
    # started); its steps took 1.5 s (2nd → 3rd event) and 3 s (4th → 6th)
    assert lignes[1] == "[    9,0 s] Données brutes : 2/2 étapes (terminé) en 4,5 s"
    assert "Avertissement (stg_b) : page.csv : c'est une page web" in lignes
    assert "Mise en forme et contrôles : 2/2 étapes (terminé)" in texte
    assert resume == [
        f"Release R1 publiée : {tmp_path / 'published/releases/R1'}",
        "Tables :",
        "  territoires        37\u202f957 lignes",
        "  indicateurs     1\u202f859\u202f598 lignes",
        "Lignes mises en quarantaine (rejetées) : 3, par source :",
        "  source_a               2",
        "  partenaire__p          1",
        "Fichiers partenaires refusés : 2",
        "  - gros.csv : trop gros",
        "  - page.csv : c'est une page web (retour au producteur : "
        f"{tmp_path / 'retours/p/page.csv.retour.html'})",
        "Durée : 25,5 s",  # 17 events
    ]
    assert lignes[-len(resume) :] == resume


def test_failure_lists_the_causes_and_the_steps_not_run(tmp_path: Path) -> None:
    events = [e for e in run_events(tmp_path, release_ok=False) if e.step != "stg_b"]
    texte, resume = afficher(events)
    assert "Échec de release : PublicationCheckError: 3 valeurs sur des territoires" in texte
    assert resume[0] == "Aucune release publiée : la précédente reste `latest`."
    assert "Échecs : 2" in resume
    assert "  - pub_lieux_x : pub_lieux/x : 2 courriels personnels" in resume
    # stg_b never ran (its events were dropped): counted, and its layer says how far it got
    assert "Étapes non exécutées (une étape dont elles dépendent a échoué) : 1" in resume
    assert "Mise en forme et contrôles : 1/2 étapes (terminé)" in texte
    assert "Publication : 0/1 étapes (1 en échec)" in texte


def test_skipped_steps_complete_their_layer(tmp_path: Path) -> None:
    events = [PLAN_EVENT, *(StepEvent(SKIPPED, s) for s in ("raw_a", "raw_b"))]
    texte, _ = afficher(events)
    assert "Données brutes : 0/2 étapes (2 sautées)" in texte


def test_live_bars_on_a_terminal(tmp_path: Path) -> None:
    texte, resume = afficher(run_events(tmp_path), live=True)
    assert "━" in texte and "Données brutes" in texte and "Publication" in texte
    assert "2/2" in texte and resume[0].startswith("Release R1 publiée")


def test_waiting_for_the_lock_names_its_holder() -> None:
    sortie = io.StringIO()
    RunDisplay(sortie, live=False).waiting_for_lock(
        {"pid": 4242, "since": "2026-12-07T05:00:00+00:00", "label": "observatory run"}, 60
    )
    assert sortie.getvalue() == (
        "En attente du verrou du dossier de données, tenu par le pid 4242 (observatory run, "
        "depuis 2026-12-07T05:00:00+00:00) : jusqu'à 1 min 00 s…\n"
    )


def test_quiet_prints_nothing(tmp_path: Path) -> None:
    sortie = io.StringIO()
    display = RunDisplay(sortie, quiet=True)
    for event in run_events(tmp_path):
        display.handle(event)
    display.finish()
    assert sortie.getvalue() == ""


def test_the_progression_logger_turns_the_event_stream_into_step_events() -> None:
    """A small job run with the `progression` logger configured: its listener sees each step
    start and succeed, the materialisation with its metadata, a logged warning, a failure with
    its root cause, and the end of the run."""

    @dg.asset(group_name="raw")
    def brut(context) -> dg.MaterializeResult:  # no annotation: a string under __future__
        context.log.warning("fichier refusé")
        return dg.MaterializeResult(metadata={"lignes": 3})

    @dg.asset(group_name="staging", deps=[brut])
    def propre() -> None:
        raise ValueError("colonne manquante")

    defs = dg.Definitions(assets=[brut, propre], loggers={"progression": progress_logger})
    job = defs.resolve_implicit_global_asset_job_def()
    assert step_layers(job) == {"brut": "raw", "propre": "staging"}
    recus: list[StepEvent] = []
    with listening(recus.append) as jeton:
        job.execute_in_process(
            run_config={"loggers": run_config_logger(jeton)}, raise_on_error=False
        )
    vus = [(e.kind, e.step) for e in recus]
    assert vus[:2] == [(START, "brut"), (WARNING, "brut")]
    assert (SUCCESS, "brut") in vus and (START, "propre") in vus
    materialisation = next(e for e in recus if e.kind == MATERIALIZATION)
    assert materialisation.message == "brut" and materialisation.metadata == {"lignes": 3}
    echec = next(e for e in recus if e.kind == FAILURE)
    assert echec.step == "propre" and "colonne manquante" in echec.message
    assert recus[-1] == StepEvent(RUN_END, metadata={"success": False})
    assert next(e for e in recus if e.kind == WARNING).message == "fichier refusé"


def test_summary_when_only_the_sql_copy_failed_says_the_release_is_out() -> None:
    """Guarantee: a run whose release was published but whose SQL copy failed does not say
    "no release published": it names the release and points at the failed step."""
    from observatory.progress import RunSummary, summary_lines

    release = Path("/data/published/releases/20260101T000000Z-aaaaaaaaaa")
    summary = RunSummary(
        release=release,
        release_id=release.name,
        new_release=True,
        failures=[("pub_sql", "DatabasePublicationError: copie SQL en échec : disque plein")],
    )
    lines = summary_lines(summary, success=False)
    assert lines[0] == (
        f"Release Parquet {release.name} publiée et `latest` : {release} ; une étape après "
        "elle a échoué (copie SQL, voir les échecs)."
    )
    assert "  - pub_sql : DatabasePublicationError: copie SQL en échec : disque plein" in lines
    assert not any(line.startswith("Aucune release publiée") for line in lines)


@pytest.mark.parametrize("ordre", [("indicateur", "bornes"), ("bornes", "indicateur")])
def test_a_step_making_assets_of_two_layers_counts_in_the_highest(ordre) -> None:
    """`ind_fragilite` also makes its caps (intermediate): it is an indicator step, whatever
    order Dagster lists the two assets in (a set: it changed from one run to the next)."""
    outs = {
        "indicateur": dg.AssetOut(key="ind_x", group_name="indicators"),
        "bornes": dg.AssetOut(key="int__x_bornes", group_name="intermediate"),
    }

    @dg.multi_asset(outs={k: outs[k] for k in ordre}, name="ind_x")
    def ind_x():
        return 1, 2

    job = dg.Definitions(assets=[ind_x]).resolve_implicit_global_asset_job_def()
    assert step_layers(job) == {"ind_x": "indicators"}


def test_the_pipeline_counts_the_fragility_index_among_the_indicators(tmp_path: Path) -> None:
    from observatory.defs import build_definitions
    from observatory.defs.schedules import PIPELINE_JOB
    from observatory.settings import Settings

    job = build_definitions(Settings(data_dir=tmp_path)).resolve_job_def(PIPELINE_JOB)
    layers = step_layers(job)
    assert layers["ind_fragilite"] == "indicators"
    assert layers["ind_besoin"] == "indicators" and layers["int__territoires"] == "intermediate"
