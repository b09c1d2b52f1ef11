"""One real end-to-end materialisation on the bundled snapshot (real_data), read as users do."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from observatory.cli import main
from observatory.publish.numbers import count
from observatory.publish.release import read_table, verify_release
from observatory.sources.catalogue import SOURCES
from observatory.sources.raw import sha256_file
from observatory.sources.readers import prenoms
from observatory.transforms.personal_data import scan_personal_data
from observatory.validation.store import read_quarantine
from tests.conftest import PARTNER_ACTIVITY_FILES

PARTNERS_REAL = Path(__file__).parent / "fixtures" / "partners" / "real"

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def release(pipeline_run) -> Path:
    _settings, outcome = pipeline_run
    return outcome.release


def read(release: Path, table: str) -> pl.DataFrame:
    return read_table(release, table)


def test_release_is_latest_and_manifest_matches_files(pipeline_run, release: Path) -> None:
    settings, _ = pipeline_run
    assert (settings.published_dir / "latest").resolve() == release.resolve()
    manifest = json.loads((release / "manifest.json").read_text())
    assert set(manifest["tables"]) == {
        "territoires",
        "indicateurs",
        "indicateurs_large",
        "lieux",
        "couverture_sources",
        "orientation",
    }
    for table in manifest["tables"].values():
        for entry in table["files"]:
            assert entry["sha256"] == sha256_file(release / entry["path"])
            assert entry["rows"] == pl.read_parquet(release / entry["path"]).height
    verify_release(release)
    national = [s for s in manifest["sources"] if not s.get("partenaire")]
    vintages = {s["source"]: s["millesime"] for s in national}
    # every source that has files (Aidants Connect is live only: nothing lands offline)
    assert vintages == {source.key: source.vintage for source in SOURCES if source.files}
    # and every partner file landed from the inbox, re-hashed against its sidecar (issue 16)
    partners = [s for s in manifest["sources"] if s.get("partenaire")]
    assert sorted((s["partenaire"], s["fichier"].split("/")[-1]) for s in partners) == sorted(
        PARTNER_ACTIVITY_FILES.items()
    )
    assert not any("alteration" in s for s in partners)
    assert vintages["cog__communes"] == "2026" and vintages["mednum__lieux"] == "2025-02-06"
    assert vintages["insee__filosofi_communes"] == "2016" and vintages["arcep__thd"] == "2019-09-30"
    for entry in manifest["sources"]:
        assert sha256_file(pipeline_run[0].data_dir / entry["chemin"]) == entry["sha256"]
    assert manifest["millesime_cog"] == 2026
    assert manifest["code_version"]["package"]


def test_territoires(release: Path) -> None:
    territoires = read(release, "territoires")
    communes = territoires.filter(pl.col("niveau") == "commune")
    assert communes.height == 34875 and communes["code"].is_unique().all()
    france = territoires.filter(pl.col("niveau") == "france")
    assert france["code"].item() == "FR"
    assert france["population"].item() == communes["population"].sum()
    assert territoires.schema["code"] == pl.String
    assert set(territoires["millesime_cog"].unique()) == {2026}


def test_nb_lieux_charente_and_accounting(pipeline_run, release: Path) -> None:
    settings, _ = pipeline_run
    indicateurs = read(release, "indicateurs")
    nb_lieux = indicateurs.filter(pl.col("indicateur") == "nb_lieux")
    assert set(nb_lieux["niveau"].unique()) == {
        "commune",
        "epci",
        "bassin_de_vie",
        "departement",
        "region",
        "france",
        "zonage:charente_3_zones",
        "zonage:charente_3_zones_communes",
    }
    lieux = read(release, "lieux")
    charente = nb_lieux.filter(pl.col("niveau") == "departement", pl.col("code") == "16")
    assert charente["valeur"].item() == lieux.filter(pl.col("code_departement") == "16").height
    assert charente["couverture"].item() is True

    # the Charente file: every one of its 188 rows is kept or quarantined with a reason
    resolved = pl.read_parquet(settings.warehouse_dir / "int__lieux_resolus.parquet")
    kept = resolved.filter(pl.col("jeu_de_donnees") == "mednum__lieux")
    quarantine = read_quarantine(settings).filter(pl.col("source") == "mednum__lieux")
    rejected = quarantine.filter(pl.col("action") == "rejet")
    assert kept.height + rejected.select("fichier", "ligne").unique().height == 188
    by_reason = dict(rejected.group_by("code_raison").len().iter_rows())
    # MALAVILLE and BLANZAC PORCHERESSE resolve through INSEE's former commune names
    # a place is checked against its commune's outline (issue 15), not a distance to its point
    assert by_reason == {"hors_du_contour_de_la_commune": 1}
    methods = dict(kept.group_by("methode_code_commune").len().iter_rows())
    assert methods["ancienne_commune"] == 2
    assert kept.height / 188 >= 0.95  # places with a code_insee
    # each of them is in a published place, alone or merged with other registries' records
    members = set(lieux["sources"].str.split("|").explode(empty_as_null=True))
    assert all(f"mednum__lieux:{i}" in members for i in kept["id"] if "|" not in i)

    others = nb_lieux.filter(pl.col("niveau") == "departement", pl.col("code") != "16")
    assert others.height == 100
    assert others["valeur"].is_null().all() and not others["couverture"].any()
    assert nb_lieux.filter(pl.col("niveau") == "france")["valeur"].item() is None


def test_indicateurs_large_and_lieux(release: Path) -> None:
    large = read(release, "indicateurs_large")
    assert {"nb_lieux", "lieux_pour_10k_hab", "nom", "population"} <= set(large.columns)
    assert large.height == read(release, "territoires").height
    lieux = read(release, "lieux")
    assert {"courriels", "telephone"} <= set(lieux.columns) and "courriel" not in lieux.columns
    assert scan_personal_data(lieux, prenoms()).is_empty()  # generic contacts only
    assert lieux["code_insee"].null_count() == 0


def test_duckdb_and_polars_read_the_release_with_manifest_counts(release: Path) -> None:
    """Researchers' readers: DuckDB with hive partitioning, polars scan, same counts."""
    duckdb = pytest.importorskip("duckdb")
    manifest = json.loads((release / "manifest.json").read_text())
    for name, table in manifest["tables"].items():
        if table["partition_by"]:
            pattern = f"{release}/{name}/*/*.parquet"
            ((count,),) = duckdb.sql(
                f"SELECT count(*) FROM read_parquet('{pattern}', hive_partitioning = true)"
            ).fetchall()
            scanned = pl.scan_parquet(
                f"{release}/{name}/**/*.parquet",
                hive_partitioning=True,
                hive_schema={"niveau": pl.String},
            )
        else:
            ((count,),) = duckdb.sql(f"SELECT count(*) FROM '{release}/{name}.parquet'").fetchall()
            scanned = pl.scan_parquet(release / f"{name}.parquet")
        assert count == table["rows"] == scanned.select(pl.len()).collect().item(), name
    ((value,),) = duckdb.sql(
        f"SELECT valeur FROM read_parquet('{release}/indicateurs/*/*.parquet', "
        "hive_partitioning = true) "
        "WHERE niveau = 'departement' AND code = '16' AND indicateur = 'nb_lieux'"
    ).fetchall()
    lieux = read(release, "lieux")
    assert value == lieux.filter(pl.col("code_departement") == "16").height


def test_release_lineage_and_documents(release: Path) -> None:
    manifest = json.loads((release / "manifest.json").read_text())
    lieux_sources = {s["source"] for s in manifest["tables"]["lieux"]["sources"]}
    assert {"mednum__lieux", "france_services__lieux", "cog__communes"} <= lieux_sources
    assert "insee__filosofi_communes" not in lieux_sources  # lieux do not depend on Filosofi
    for entry in manifest["tables"]["indicateurs"]["sources"]:
        assert entry["millesime"] and len(entry["sha256"]) == 64
    # partner files feed the partner indicators: their sources are in the lineage too
    indicateurs_sources = {s["source"] for s in manifest["tables"]["indicateurs"]["sources"]}
    assert {f"partenaire__{p}" for p in PARTNER_ACTIVITY_FILES} <= indicateurs_sources
    assert set(manifest["documents"]) == {
        "CHANGELOG.md",
        "datapackage.json",
        "dictionnaire.md",
        "dictionnaire.html",
        "methodologie.md",
        "methodologie.html",
    }
    dictionary = (release / "dictionnaire.md").read_text()
    assert "## Table `indicateurs`" in dictionary and "`lieux_pour_10k_hab`" in dictionary
    assert "### `ind_offre`" in (release / "methodologie.md").read_text()


def run_tool(args: list[str], **options: Any) -> subprocess.CompletedProcess[str]:
    """A command line tool run to its end (10 minutes at most): it must succeed, and what it
    printed says why when it does not."""
    result = subprocess.run(args, capture_output=True, text=True, timeout=600, **options)
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


# Frictionless checks rows in pure Python (~10 000 rows/s here): the whole release (2.3 M rows)
# takes minutes, so CI checks the descriptor, every resource and the first rows of each; the
# full validation is in bench/ (`bench/validate_release.sh`).
FRICTIONLESS_ROWS = "50000"


def test_frictionless_validates_the_release(release: Path) -> None:
    """Acceptance: `frictionless validate <release>/datapackage.json` passes."""
    run_tool(
        [
            str(Path(sys.executable).with_name("frictionless")),
            "validate",
            "datapackage.json",
            "--limit-rows",
            FRICTIONLESS_ROWS,
            "--parallel",
        ],
        cwd=release,
    )


def test_cli_second_run_with_nothing_changed_publishes_nothing(
    pipeline_run, release: Path, capsys, monkeypatch
) -> None:
    """Every step run again (`--tout`): the same tables, no new release."""
    settings, _ = pipeline_run
    monkeypatch.setenv("OBSERVATORY_ZONAGES_DIR", str(settings.zonages_dir))  # same settings
    sidecar = next(settings.raw_dir.glob("cog/2026/communes.csv.meta.json")).read_text()
    assert main(["run", "--data-dir", str(settings.data_dir), "--tout"]) == 0
    captured = capsys.readouterr()
    printed = Path(captured.out.strip())
    assert printed == release
    # progress by layer then the summary, on stderr, as plain lines (not a terminal)
    err = captured.err
    assert "\x1b[" not in err
    manifest = json.loads((release / "manifest.json").read_text())
    steps = re.findall(r"\] (.+?) : (\d+)/(\d+) étapes \(terminé\) en ", err)
    assert [layer for layer, *_ in steps] == [
        "Données brutes",
        "Mise en forme et contrôles",
        "Tables intermédiaires",
        "Indicateurs",
        "Publication",
    ]
    assert all(done == total for _, done, total in steps)
    assert f"Rien n'a changé depuis la dernière release : {release.name} reste la dernière" in err
    for table, entry in manifest["tables"].items():
        assert re.search(rf"\n  {table} +{count(entry['rows'])} lignes\n", err), table
    # rows quarantined by source: the Charente place 52 km from its commune is one of them
    quarantined = dict(re.findall(r"(?m)^  (\w+__\w+) +(\d[\d\u202f]*)$", err))
    assert quarantined["mednum__lieux"] == "1"
    assert "Durée : " in err
    assert (settings.published_dir / "latest").resolve() == release.resolve()
    assert [p.name for p in (settings.published_dir / "releases").iterdir()] == [release.name]
    # the raw layer is immutable: landing again did not rewrite the file or its sidecar
    assert next(settings.raw_dir.glob("cog/2026/communes.csv.meta.json")).read_text() == sidecar


def test_cli_rerun_with_nothing_changed_runs_no_step(
    pipeline_run, release: Path, capsys, monkeypatch
) -> None:
    """By default a rerun materialises only what changed since the last successful run."""
    settings, _ = pipeline_run
    monkeypatch.setenv("OBSERVATORY_ZONAGES_DIR", str(settings.zonages_dir))  # same settings
    assert main(["run", "--data-dir", str(settings.data_dir)]) == 0
    captured = capsys.readouterr()
    assert Path(captured.out.strip()) == release
    assert "rien n'a changé depuis le dernier run réussi" in captured.err
    assert "étapes (terminé)" not in captured.err
    assert [p.name for p in (settings.published_dir / "releases").iterdir()] == [release.name]


def test_a_new_partner_file_reruns_that_partner_and_what_depends_on_it(pipeline_run) -> None:
    import dagster as dg

    from observatory.defs.jobs import a_rejouer, pipeline_job
    from observatory.settings import settings_fields

    settings, _ = pipeline_run
    definition = pipeline_job(**settings_fields(settings))
    graphe = definition.asset_layer.asset_graph
    assert a_rejouer(definition, settings)[0] == []
    inbox = settings.data_dir / "inbox" / "hubik_pyrenees_atlantiques"
    inbox.mkdir(parents=True)
    try:
        shutil.copy(PARTNERS_REAL / "raw_hub_hubik_pyrenees_atlantiques_64_2020.csv", inbox)
        selection, _ = a_rejouer(definition, settings)
    finally:
        shutil.rmtree(inbox)
    # the partner's raw asset, the report of unread drops (it reads the whole inbox), and
    # everything downstream of them: Dagster's own reading of the graph
    attendu = (
        dg.AssetSelection.assets(
            "raw_partenaire__hubik_pyrenees_atlantiques", "raw_partenaires__sans_format"
        )
        .downstream()
        .resolve(graphe)
    )
    assert set(selection) == attendu
    assert dg.AssetKey("stg_partenaire__hubik_pyrenees_atlantiques") in attendu
    assert dg.AssetKey("stg_cog__communes") not in attendu  # the statistics are not rerun
    assert len(attendu) < len(graphe.materializable_asset_keys) / 3
    assert a_rejouer(definition, settings)[0] == []  # the file gone: as before


def test_cli_failure_is_clear_and_keeps_latest(
    pipeline_run, tmp_path: Path, monkeypatch, capsys
) -> None:
    settings, _ = pipeline_run
    before = (settings.published_dir / "latest").resolve()
    monkeypatch.setenv("OBSERVATORY_ASSETS_DIR", str(tmp_path / "nothing"))
    assert main(["run", "--data-dir", str(tmp_path / "data")]) == 1
    err = capsys.readouterr().err
    assert "Aucune release publiée : la précédente reste `latest`." in err
    assert "Échecs : " in err and "bundled file missing" in err
    assert (settings.published_dir / "latest").resolve() == before


def test_cli_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "observatory.cli", "run", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--data-dir" in out and "in-process" in out


@pytest.mark.slow
def test_dagster_cli_materialize(tmp_path: Path) -> None:
    """`dagster asset materialize -m observatory.definitions` works with Dagster's own CLI.

    On the territories and everything upstream (COG, zonages, grille, coordinates): the whole
    pipeline is materialised by the shared fixture, the CLI run and the PostgreSQL-instance test.
    """
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(home), "OBSERVATORY_DATA_DIR": str(tmp_path / "d")}
    dagster = Path(sys.executable).with_name("dagster")
    run_tool(
        [
            str(dagster),
            "asset",
            "materialize",
            "--select",
            "*int__territoires",
            "-m",
            "observatory.definitions",
            # in-process: the multiprocess executor spawns one interpreter per step; it is
            # exercised against PostgreSQL in test_operations
            "--config-json",
            '{"execution": {"config": {"in_process": {}}}}',
        ],
        env=env,
    )
    territoires = pl.read_parquet(tmp_path / "d/warehouse/int__territoires.parquet")
    assert territoires.filter(pl.col("niveau") == "commune").height == 34875


@pytest.mark.parametrize(
    "table", ["territoires", "indicateurs", "indicateurs_large", "lieux", "couverture_sources"]
)
def test_published_tables_match_their_schemas(release: Path, table: str) -> None:
    from observatory.publish.schemas import check_schema, load_table_schema
    from observatory.settings import PROJECT_ROOT

    schema = load_table_schema(PROJECT_ROOT / "schemas", table)
    assert check_schema(read(release, table), schema) == []


def _validate_standard(frame: pl.DataFrame, folder: Path) -> list[str]:
    """Validate a frame against La Mednum's schema v1.0.2 with frictionless (errors as text)."""
    import frictionless

    from observatory.settings import PROJECT_ROOT

    descriptor = json.loads(
        (PROJECT_ROOT / "schemas/sources/schema_standard_mediation_num_v1.0.2.json").read_text()
    )
    columns = [field["name"] for field in descriptor["fields"]]
    frame.with_columns(
        pl.lit(None, pl.String).alias(c) for c in columns if c not in frame.columns
    ).select(columns).write_csv(folder / "lieux.csv")
    report = frictionless.validate(
        frictionless.Resource(
            path="lieux.csv",
            basepath=str(folder),
            schema=frictionless.Schema.from_descriptor(descriptor),
        )
    )
    return [f"{e.type}: {e.message}" for task in report.tasks for e in task.errors]


def test_published_lieux_follow_the_mednum_standard(release: Path, tmp_path: Path) -> None:
    """Frictionless validation of `lieux` against the standard v1.0.2, on its columns."""
    lieux = read(release, "lieux")
    assert _validate_standard(lieux, tmp_path) == []
    broken = lieux.with_columns(pl.lit("Cours de cuisine").alias("services"))
    errors = _validate_standard(broken, tmp_path)
    assert errors and all("services" in e or "constraint" in e for e in errors)


def test_couverture_sources(pipeline_run, release: Path) -> None:
    couverture = read(release, "couverture_sources").filter(pl.col("source") == "mednum__lieux")
    by_key = {(r["niveau"], r["code"]): r for r in couverture.iter_rows(named=True)}
    charente = by_key[("departement", "16")]
    assert (
        charente["couvert"] and charente["nb_communes"] == charente["nb_communes_couvertes"] == 359
    )
    resolved = pl.read_parquet(pipeline_run[0].warehouse_dir / "int__lieux_resolus.parquet")
    assert (
        charente["nb_lignes"] == resolved.filter(pl.col("jeu_de_donnees") == "mednum__lieux").height
    )
    france = by_key[("france", "FR")]
    assert not france["couvert"] and france["nb_communes_couvertes"] == 359
    assert france["nb_communes"] == 34875
    indicateurs = read(release, "indicateurs").filter(pl.col("indicateur") == "nb_lieux")
    joined = indicateurs.join(couverture, on=["niveau", "code"])
    assert joined.height == indicateurs.height
    # the coverage rule: a territory every commune of which is covered is published, one none
    # of which is, is not; between, its covered population decides (≥ 99 %)
    assert joined.filter(pl.col("couvert"))["couverture"].all()
    assert not joined.filter(pl.col("nb_communes_couvertes") == 0)["couverture"].any()
    assert (joined["couverture"] == (joined["part_population_couverte"] >= 0.99)).all()


SEED_DEPARTEMENTS = ["16", "17", "31", "33", "56", "64"]


def test_every_seed_commune_has_its_statistics_or_a_flagged_gap(pipeline_run) -> None:
    """Sources issue acceptance: age structure, poverty status, ARCEP figure or flagged gap."""
    settings, _ = pipeline_run
    stats = pl.read_parquet(settings.warehouse_dir / "int__statistiques_communes.parquet")
    assert stats.height == 34875 and stats["code_commune"].is_unique().all()
    seed = stats.filter(pl.col("code_departement").is_in(SEED_DEPARTEMENTS))
    assert seed.height == 2735
    assert set(seed["statut_structure_age"].unique()) == {"effectifs_rp2018", "parts_rp2017"}
    with_counts = seed.filter(pl.col("statut_structure_age") == "effectifs_rp2018")
    assert with_counts["nb_75_ans_et_plus"].null_count() == 0
    assert (
        seed.filter(pl.col("statut_structure_age") == "parts_rp2017")[
            "part_65_ans_et_plus"
        ].null_count()
        == 0
    )
    assert set(seed["statut_pauvrete"].unique()) == {"valeur", "secret_statistique"}
    valeurs = seed.filter(pl.col("statut_pauvrete") == "valeur")["taux_pauvrete_60"]
    assert valeurs.null_count() == 0 and valeurs.is_between(0, 1).all()
    assert (
        seed.filter(pl.col("statut_pauvrete") == "secret_statistique")["taux_pauvrete_60"]
        .is_null()
        .all()
    )
    arcep = seed.partition_by("statut_arcep", as_dict=True)
    assert arcep[("valeur",)]["part_locaux_thd_30"].is_between(0, 1).all()
    assert arcep[("absent",)]["nb_locaux"].fill_null(0).eq(0).all()
    # Mayotte is in no census extract: flagged, never filled
    mayotte = stats.filter(pl.col("code_departement") == "976")
    assert set(mayotte["statut_structure_age"]) == {"absent"}


def test_statistics_are_rebased_without_losing_rows(pipeline_run) -> None:
    settings, _ = pipeline_run
    stg = pl.read_parquet(settings.warehouse_dir / "stg_insee__filosofi_communes.parquet")
    rebased = pl.read_parquet(settings.warehouse_dir / "int__insee__filosofi_communes.parquet")
    quarantine = pl.read_parquet(settings.quarantine_dir / "int__insee__filosofi_communes.parquet")
    rejected = quarantine.filter(pl.col("action") == "rejet")
    used = rebased["codes_commune_source"].list.len().sum()
    assert used + rejected.height == stg.height
    assert set(rejected["code_raison"]) == {"arrondissement_deja_compte_dans_commune"}
    kept = stg.filter(~pl.col("ligne").is_in(rejected["ligne"].implode()))
    assert rebased["nb_menages_fiscaux"].sum() == pytest.approx(kept["nb_menages_fiscaux"].sum())
    communes = pl.read_parquet(settings.warehouse_dir / "stg_cog__communes.parquet")
    assert rebased["code_commune"].is_in(communes["code_commune"].implode()).all()
    assert rebased["code_commune"].is_unique().all()


def test_a_source_without_a_bundled_file_covers_nothing_offline(
    pipeline_run, release: Path
) -> None:
    """Aidants Connect is live only: offline it stages no row and covers no territory (its
    counts are then null, never 0), and the run still completes."""
    staged = pl.read_parquet(
        pipeline_run[0].warehouse_dir / "stg_aidants_connect__structures.parquet"
    )
    assert staged.height == 0 and "dispositif_programmes_nationaux" in staged.columns
    couverture = read(release, "couverture_sources").filter(
        pl.col("source") == "aidants_connect__structures"
    )
    assert couverture.height > 0 and not couverture["couvert"].any()
