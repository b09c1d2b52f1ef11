"""The pure side of running unattended, on plain values and without Dagster: the freshness
verdict, the root cause of a failure, the failed-check text, the lineage walk, the settings
as plain values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from observatory.operations import empreintes
from observatory.operations.catalogue import columns, table_description
from observatory.operations.findings import failed_check_line
from observatory.operations.freshness import LAST_UPDATED, freshness, max_age
from observatory.operations.lineage import table_sources, upstream
from observatory.operations.notices import RunOutcome, root_cause, summarize_run
from observatory.settings import Settings, settings_fields, settings_from_fields
from observatory.sources.catalogue import COG_COMMUNES, MEDNUM_LIEUX
from observatory.transforms import resume

NOW = datetime(2026, 12, 7, tzinfo=UTC)


@dataclass
class Error:
    message: str
    cls_name: str | None
    cause: Error | None = None


def test_root_cause_names_the_innermost_class_once() -> None:
    inner = Error("observatory.sources.http.DownloadError: HTTP 503\n", "DownloadError")
    wrapped = Error("dagster._core.errors.DagsterExecutionStepExecutionError: op", "X", inner)
    assert root_cause(wrapped) == "DownloadError: HTTP 503"
    assert root_cause(Error("ValueError: bad\n", "ValueError")) == "ValueError: bad"
    assert root_cause(Error(" plain ", None)) == "plain"


def test_a_run_summary_keeps_the_tags_that_say_who_launched_it() -> None:
    summary = summarize_run(
        "registres_hebdomadaire",
        "abcdef0123456789",
        " boom ",
        [("raw_mednum__lieux", Error("DownloadError: 503", "DownloadError")), (None, None)],
        {"dagster/schedule_name": "s", "secret": "x", "observatory/cadence": "hebdomadaire"},
    )
    assert summary.message == "boom"
    assert [(s.step, s.cause) for s in summary.steps] == [
        ("raw_mednum__lieux", "DownloadError: 503"),
        ("?", "unknown error"),
    ]
    assert dict(summary.tags) == {
        "dagster/schedule_name": "s",
        "observatory/cadence": "hebdomadaire",
    }
    assert "(launched by s)" in summary.text()


def test_only_the_sql_copy_failing_is_told_apart() -> None:
    release = Path("releases/r")
    assert RunOutcome(False, release, ["pub_sql: E: x"], "r", failed_steps=("pub_sql",)).sql_only
    assert not RunOutcome(False, None, ["pub_sql: E: x"], "r", failed_steps=("pub_sql",)).sql_only


def test_freshness_says_what_the_age_means_in_each_profile() -> None:
    never = freshness(MEDNUM_LIEUX, None, NOW)
    assert (never.passed, never.warn) == (False, True)
    stamp = (NOW - timedelta(days=30)).timestamp()
    offline = freshness(MEDNUM_LIEUX, {"profil": "offline", LAST_UPDATED: stamp}, NOW)
    assert (offline.passed, offline.warn, offline.facts["age_jours"]) == (True, False, 30.0)
    live = freshness(MEDNUM_LIEUX, {"profil": "live", LAST_UPDATED: stamp, "perimee": True}, NOW)
    assert (live.passed, live.warn) == (False, True) and "`perimee`" in live.description
    yearly = freshness(COG_COMMUNES, {"profil": "live", LAST_UPDATED: stamp}, NOW)
    assert yearly.passed and max_age(COG_COMMUNES).days == 400 and max_age(MEDNUM_LIEUX).days == 8


def test_a_failed_check_line_names_the_table_and_the_rows() -> None:
    metadata = {"nb_lignes": 2, "exemples": [{"niveau": "commune", "code": "16015"}]}
    assert failed_check_line("pub_lieux", "attentes", metadata) == (
        "pub_lieux/attentes: contrôle bloquant en échec, rien n'est publié : table lieux : "
        "2 ligne(s) en cause ; exemples : niveau=commune code=16015"
    )


def test_lineage_walks_up_to_the_sources_and_the_partner_files() -> None:
    parents = {
        "pub_lieux": {"int__lieux"},
        "int__lieux": {"stg_a", "stg_partenaire__p"},
        "stg_a": {"raw_a"},
        "stg_partenaire__p": {"raw_partenaire__p"},
        "raw_a": set(),
        "raw_partenaire__p": set(),
    }
    assert upstream(parents, "stg_a") == {"stg_a", "raw_a"}
    assert table_sources(parents, ["lieux"], {"raw_a": "a"}) == {"lieux": ["a", "partenaire__p"]}


def test_settings_survive_plain_values(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, profile="live", zonages_dir=None, keep_releases=3)
    fields = settings_fields(settings)
    assert fields["data_dir"] == str(tmp_path) and fields["zonages_dir"] is None
    assert settings_from_fields(**fields) == settings


def test_catalog_columns_in_french() -> None:
    schema = {
        "name": "lieux",
        "title": "Lieux",
        "description": "Un  lieu\npar ligne.",
        "fields": [
            {
                "name": "id",
                "type": "string",
                "title": "Identifiant",
                "constraints": {"required": True},
            },
            {"name": "n", "type": "integer", "description": "Nombre", "unit": "personnes"},
        ],
    }
    assert table_description(schema) == "Lieux (table publiée `lieux`) : Un lieu par ligne."
    assert [(c.name, c.type, c.description, c.required) for c in columns(schema)] == [
        ("id", "texte", "Identifiant", True),
        ("n", "entier", "Nombre (unité : personnes)", False),
    ]


def test_metadata_helpers_count_gaps_and_statuses() -> None:
    frame = pl.DataFrame({"code_commune": ["1", "2"], "bv": [None, "x"], "statut": ["a", "a"]})
    assert resume.lacunes(frame) == {"sans_bv": 1, "sans_statut": 0}
    assert resume.statuts(frame, "statut") == {"statut:a": 2}


# --- which assets a rerun materialises again (operations.empreintes) ----------------------------

# a → b → c, d alone
GRAPHE = {"a": [], "b": ["a"], "c": ["b"], "d": []}
PROPRES = {"a": "x", "b": "x", "c": "x", "d": "x"}


@pytest.mark.parametrize(
    ("propres", "anciennes", "absentes", "attendu"),
    [
        # nothing changed: nothing runs
        (PROPRES, "memes", [], set()),
        # an input of a changes: a and what depends on it
        ({**PROPRES, "a": "y"}, "memes", [], {"a", "b", "c"}),
        # an input of c only: c alone
        ({**PROPRES, "c": "y"}, "memes", [], {"c"}),
        # no record (first run, or the last one failed): everything
        (PROPRES, {}, [], {"a", "b", "c", "d"}),
        # b's stored output was deleted: b again, its children read it
        (PROPRES, "memes", ["b"], {"b"}),
    ],
)
def test_a_rerun_materialises_what_changed_and_what_depends_on_it(
    propres, anciennes, absentes, attendu
) -> None:
    nouvelles = empreintes.empreintes(GRAPHE, propres)
    if anciennes == "memes":
        anciennes = empreintes.empreintes(GRAPHE, PROPRES)
    assert empreintes.a_rejouer(nouvelles, anciennes, absentes) == attendu


def test_a_folder_fingerprint_sees_a_new_file_and_an_edit(tmp_path: Path) -> None:
    vide = empreintes.empreinte_dossier(tmp_path)
    assert empreintes.empreinte_dossier(tmp_path / "absent") == vide
    (tmp_path / "p").mkdir()
    avec_dossier = empreintes.empreinte_dossier(tmp_path)
    assert avec_dossier != vide  # an empty folder dropped is a change (its refusal is due)
    fichier = tmp_path / "p" / "f.csv"
    fichier.write_text("a;b\n1;2\n")
    for contenu in (False, True):
        avant = empreintes.empreinte_dossier(tmp_path, contenu=contenu)
        assert avant != avec_dossier and empreintes.empreinte_dossier(tmp_path, contenu) == avant
        fichier.write_text(f"a;b\n1;{3 + contenu}\n")  # same size, another content
        assert empreintes.empreinte_dossier(tmp_path, contenu=contenu) != avant


def test_the_record_is_written_whole_or_not_at_all(tmp_path: Path) -> None:
    assert empreintes.lit(tmp_path) == {}
    empreintes.ecrit(tmp_path, {"a": {"empreinte": "e", "sortie": True}})
    assert empreintes.lit(tmp_path) == {"a": {"empreinte": "e", "sortie": True}}
    assert [p.name for p in tmp_path.iterdir()] == [empreintes.FICHIER]
    (tmp_path / empreintes.FICHIER).write_text("{tronqu")
    assert empreintes.lit(tmp_path) == {}  # a torn record means a full run
    empreintes.oublie(tmp_path)
    assert not (tmp_path / empreintes.FICHIER).exists()


def test_a_hostile_drop_has_a_fingerprint_too(tmp_path: Path) -> None:
    """A name that is not UTF-8, a broken link, a link to a folder, an unreadable file, folders
    nested thousands deep: each fingerprinted (a change each time), never fatal."""
    import os

    vues = {empreintes.empreinte_dossier(tmp_path)}

    def ajoute(action) -> None:
        action()
        for contenu in (False, True):
            empreinte = empreintes.empreinte_dossier(tmp_path, contenu=contenu)
            assert len(empreinte) == 64
        assert empreinte not in vues
        vues.add(empreinte)

    ajoute(lambda: (tmp_path / os.fsdecode(b"r\xe9sum\xe9.csv")).write_bytes(b"a;b\n"))
    ajoute(lambda: (tmp_path / "lien").symlink_to(tmp_path / "absent"))
    ajoute(lambda: (tmp_path / "lien_dossier").symlink_to(tmp_path))
    illisible = tmp_path / "illisible.csv"
    ajoute(lambda: (illisible.write_text("x"), illisible.chmod(0)))
    niveaux = [tmp_path / "profond"]
    for _ in range(1500):  # deeper than Python's recursion limit
        niveaux.append(niveaux[-1] / "d")

    def creuse() -> None:
        for niveau in niveaux:
            niveau.mkdir()

    ajoute(creuse)
    for niveau in reversed(niveaux):  # rmtree would recurse as deep
        niveau.rmdir()
    illisible.chmod(0o644)


def test_nothing_to_rerun_only_with_a_record_and_a_release(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", assets_dir=tmp_path / "assets")
    graphe = ({"raw_a": [], "stg_a": ["raw_a"]}, {"raw_a": "partenaire_a", "stg_a": None})
    assert empreintes.selection(settings, *graphe)[0] is None  # never run: everything
    empreintes.ecrit(settings.warehouse_dir, empreintes.enregistrement(settings, *graphe))
    assert empreintes.selection(settings, *graphe)[0] is None  # no release: everything
    (settings.published_dir / "releases" / "r1").mkdir(parents=True)
    (settings.published_dir / "latest").symlink_to(settings.published_dir / "releases" / "r1")
    assert empreintes.selection(settings, *graphe)[0] == set()
    assert empreintes.rien_a_rejouer(settings)
    # an asset gone from the graph (a mapping removed) is not asked for
    record = empreintes.lit(settings.warehouse_dir)
    record["stg_retire"] = {"empreinte": "e", "parents": [], "entree": None, "sortie": True}
    empreintes.ecrit(settings.warehouse_dir, record)
    assert empreintes.selection(settings, *graphe)[0] == set()
    depot = settings.data_dir / "inbox" / "partenaire_a"
    depot.mkdir(parents=True)
    (depot / "export.csv").write_text("a;b\n")
    assert empreintes.selection(settings, *graphe)[0] == {"raw_a", "stg_a"}
    assert not empreintes.rien_a_rejouer(settings)
    assert (
        empreintes.selection(Settings(**{**vars(settings), "profile": "live"}), *graphe)[0] is None
    )
