"""Acceptance of the indicators on the real bundled snapshot (real_data): higher levels are
computed from commune counts, and the national need estimate matches INSEE's rate."""

from pathlib import Path

import polars as pl
import pytest

from observatory.publish.release import read_table
from observatory.transforms import need
from tests.conftest import PARTNER_ACTIVITY, PARTNER_ACTIVITY_FILES, report

pytestmark = pytest.mark.real_data

TAUX_CSV = Path(__file__).parent.parent / "assets/insee_illectronisme/taux_illectronisme.csv"


@pytest.fixture(scope="module")
def published(pipeline_run) -> tuple[pl.DataFrame, pl.DataFrame]:
    release = pipeline_run[1].release
    return read_table(release, "indicateurs"), read_table(release, "territoires")


def _commune_values(indicateurs: pl.DataFrame, code: str) -> pl.DataFrame:
    return indicateurs.filter(pl.col("niveau") == "commune", pl.col("indicateur") == code).select(
        pl.col("code").alias("code_commune"), pl.col("valeur").alias(code)
    )


@pytest.mark.parametrize(
    ("niveau", "code", "colonne"),
    [("departement", "16", "code_departement"), ("epci", "200071827", "code_epci")],
)
def test_higher_levels_are_recomputed_from_published_commune_rows(
    published, niveau: str, code: str, colonne: str
) -> None:
    indicateurs, territoires = published
    communes = territoires.filter(pl.col("niveau") == "commune", pl.col(colonne) == code).select(
        pl.col("code").alias("code_commune"), "population"
    )
    assert communes.height > 10
    for name in ("nb_lieux_demarches", "nb_illectronisme", "distance_france_services_km"):
        communes = communes.join(_commune_values(indicateurs, name), on="code_commune")

    def published_value(indicateur: str) -> float:
        return indicateurs.filter(
            pl.col("niveau") == niveau, pl.col("code") == code, pl.col("indicateur") == indicateur
        )["valeur"].item()

    expected = communes.select(
        pl.col("nb_lieux_demarches").sum().alias("nb_lieux_demarches"),
        (pl.col("nb_lieux_demarches").sum() * 10_000 / pl.col("population").sum()).alias(
            "lieux_demarches_pour_10k_hab"
        ),
        pl.col("nb_illectronisme").sum().alias("nb_illectronisme"),
        (
            (pl.col("distance_france_services_km") * pl.col("population")).sum()
            / pl.col("population").sum()
        ).alias("distance_france_services_km"),
    ).row(0, named=True)
    for indicateur, value in expected.items():
        assert published_value(indicateur) == pytest.approx(value, rel=1e-9, abs=1e-9), indicateur


def test_national_need_estimate_matches_insee_rate_on_its_scope(pipeline_run) -> None:
    """France hors Mayotte, 2019: INSEE measured 17 % (Insee Première n° 1780)."""
    settings = pipeline_run[0]
    communes = pl.read_parquet(settings.warehouse_dir / "int__besoin_communes.parquet")
    scope = communes.filter(~pl.col("code_commune").str.starts_with("976"))
    appartenance = scope.select("code_commune", pl.lit("FR_HORS_976").alias("code"))
    taux = need.taux_reference(pl.read_csv(TAUX_CSV))
    france = need.agrege_illectronisme(scope, appartenance, taux).row(0, named=True)
    # every commune but Mayotte's has a structure: those re-established since the census share
    # their former commune's, pro rata of population
    assert france["nb_communes_sans_estimation"] == 0
    reference = 0.17
    rate = france["nb_illectronisme"] / france["nb_15_ans_et_plus"]
    report(
        f"need: France hors Mayotte 2019, {france['nb_illectronisme']:,.0f} people 15+ in "
        f"illectronisme = {rate:.2%} [{france['taux_illectronisme_ic_bas']:.2%}, "
        f"{france['taux_illectronisme_ic_haut']:.2%}] vs INSEE {reference:.0%} "
        f"({france['nb_communes_sans_estimation']} communes without a census structure)"
    )
    assert abs(rate - reference) <= 0.005
    assert france["taux_illectronisme_ic_bas"] <= reference <= france["taux_illectronisme_ic_haut"]
    # Mayotte has no census structure in the bundled files (nor in INSEE's survey): the
    # published France is France hors Mayotte, and says what share of the 15+ it covers
    indicateurs = read_table(pipeline_run[1].release, "indicateurs")
    row = indicateurs.filter(
        pl.col("niveau") == "france", pl.col("indicateur") == "nb_illectronisme"
    ).row(0, named=True)
    assert row["couverture"] and row["valeur"] == pytest.approx(france["nb_illectronisme"])
    assert 0.99 <= row["part_population_couverte"] < 1


def test_priority_rank_and_fragility_are_published_for_communes(published) -> None:
    indicateurs, territoires = published
    rangs = indicateurs.filter(pl.col("indicateur") == "rang_priorite").join(
        territoires.select("niveau", "code", "code_departement"), on=["niveau", "code"]
    )
    charente = rangs.filter(pl.col("code_departement") == "16")
    assert charente["valeur"].min() == 1.0 and charente.height == 359
    deciles = indicateurs.filter(pl.col("indicateur") == "priorite_decile_national")
    assert deciles["valeur"].sum() == pytest.approx(deciles.height / 10, abs=50)
    # against itself a territory scores 100 by definition: no such rows (« sans objet »)
    for suffixe, niveaux in (("fr", {"france"}), ("reg", {"region", "france"})):
        lignes = indicateurs.filter(pl.col("indicateur") == f"ifn_score_global_{suffixe}")
        assert not set(lignes["niveau"]) & niveaux
        assert {"commune", "epci", "departement"} <= set(lignes["niveau"])
    dep = indicateurs.filter(
        pl.col("niveau") == "commune", pl.col("indicateur") == "ifn_score_global_dep"
    )
    assert dep["valeur"].is_not_null().sum() > 30_000


@pytest.mark.parametrize("zonage", ["charente_3_zones", "charente_3_zones_communes"])
def test_zoning_counts_add_up_to_the_communes_of_its_scope(published, zonage: str) -> None:
    """Acceptance (users' zonings): any count over the zones = the sum over its communes."""
    indicateurs, territoires = published
    niveau = f"zonage:{zonage}"
    zones = territoires.filter(pl.col("niveau") == niveau)
    assert zones["code"].sort().to_list() == ["centre", "nord", "sud_ouest"]
    charente = territoires.filter(pl.col("niveau") == "commune", pl.col("code_departement") == "16")
    assert zones["population"].sum() == charente["population"].sum()
    # each year of a series adds up on its own: the latest one here
    indicateurs = indicateurs.filter(pl.col("annee") == pl.col("annee").max().over("indicateur"))
    for code in ("nb_lieux", "nb_lieux_demarches", "nb_illectronisme", "nb_france_services"):
        par_zone = indicateurs.filter(pl.col("niveau") == niveau, pl.col("indicateur") == code)
        communes = _commune_values(indicateurs, code).join(
            charente.select(pl.col("code").alias("code_commune")), on="code_commune"
        )
        assert par_zone.height == 3 and par_zone["couverture"].all(), code
        assert par_zone["valeur"].sum() == pytest.approx(communes[code].sum(), rel=1e-12), code


PARTNER_INDICATORS = (
    "nb_diagnostics_autonomie",
    "part_autonomes_diagnostic",
    "part_besoin_aide_diagnostic",
    "part_jamais_en_ligne_diagnostic",
    "accompagnements_pour_1000_illectronisme",
    "ratio_pass_utilises_emis",
)


def test_partner_activity_is_published_under_secrecy(published) -> None:
    """The inbox's activity files reach `indicateurs`: nested levels only, secrets flagged."""
    indicateurs, _ = published
    partner = indicateurs.filter(pl.col("indicateur").is_in(PARTNER_INDICATORS))
    assert set(partner["indicateur"]) == set(PARTNER_INDICATORS)
    assert set(partner["niveau"]) <= {"commune", "epci", "departement", "region", "france"}
    secrets = partner.filter(pl.col("secret"))
    assert secrets.height > 0 and secrets["valeur"].null_count() == secrets.height
    assert partner.filter(pl.col("secret") & ~pl.col("couverture")).is_empty()
    # no published count of 1 to 4 people
    counts = partner.filter(pl.col("indicateur") == "nb_diagnostics_autonomie")
    assert counts.filter(pl.col("valeur").is_between(1, 4)).is_empty()
    charente = counts.filter(pl.col("niveau") == "departement", pl.col("code") == "16")
    assert charente.select("annee", "valeur").sort("annee").rows() == [(2023, 20.0), (2024, 119.0)]
    # only Charente is covered by the diagnostics: the others are null, never 0
    autres = counts.filter(pl.col("niveau") == "departement", pl.col("code") != "16")
    assert autres.height == 2 * 100 and autres["valeur"].null_count() == autres.height
    accomp = partner.filter(
        pl.col("indicateur") == "accompagnements_pour_1000_illectronisme",
        pl.col("niveau") == "departement",
        pl.col("code") == "16",
    )["valeur"].item()
    besoin = indicateurs.filter(
        pl.col("indicateur") == "nb_illectronisme",
        pl.col("niveau") == "departement",
        pl.col("code") == "16",
    )["valeur"].item()
    assert accomp == pytest.approx(175 * 1000 / besoin, rel=1e-12)
    report("partner activity: rows", partner.height, "secret", secrets.height)


def test_france_services_series_over_two_vintages(published) -> None:
    """Real 2020 and 2022 national lists: each year published, with the change between them."""
    indicateurs, territoires = published
    fs = indicateurs.filter(pl.col("indicateur") == "nb_france_services")
    assert fs.group_by("niveau", "code").len()["len"].unique().to_list() == [2]
    france = fs.filter(pl.col("niveau") == "france").sort("annee")
    (v2020, v2022) = france["valeur"].to_list()
    assert france["annee"].to_list() == [2020, 2022]
    # 580 sites in 2020, 2 683 in 2022, less those without a commune or too far from it
    assert 570 <= v2020 <= 580 and 2600 <= v2022 <= 2683
    assert france["evolution"].to_list() == [None, v2022 - v2020]
    assert france["annee_precedente"].to_list() == [None, 2020]
    assert france["rupture_definition"].to_list() == [None, False]
    # the Charente count of each year is the sum of its published commune rows
    communes = territoires.filter(pl.col("niveau") == "commune", pl.col("code_departement") == "16")
    for annee in (2020, 2022):
        rows = fs.filter(pl.col("annee") == annee)
        somme = (
            rows.join(communes.select("code"), on="code")
            .filter(pl.col("niveau") == "commune")["valeur"]
            .sum()
        )
        charente = rows.filter(pl.col("niveau") == "departement", pl.col("code") == "16")
        assert charente["valeur"].item() == somme
    report("France Services: France 2020", v2020, "2022", v2022)


def test_a_later_export_reveals_no_difference_of_1_to_4_across_releases(
    pipeline_run, tmp_path: Path
) -> None:
    """The diagnostics partner drops a later export (3 more people in Angoulême in June 2024)
    and the pipeline runs again: the new release is published, and no count that both releases
    pin to one value (exact linear programmes over every covered cell, on each run's true
    counts) differs by 1 to 4 between them (78 − 75 would tell the 3 people)."""
    import shutil
    from dataclasses import replace

    from dagster import DagsterInstance

    from observatory.defs.jobs import materialize_all
    from observatory.publish.historique import chemin_registre
    from observatory.transforms.partner_activity import CLE_CELLULE, SEUIL_SECRET
    from observatory.transforms.secret_publication import audit_publication

    settings, premier = pipeline_run
    # a data dir whose published folder holds the first release, the same files in the inbox
    suite = replace(settings, data_dir=tmp_path / "data")
    shutil.copytree(settings.published_dir, suite.published_dir, symlinks=True)
    for partenaire, fichier in PARTNER_ACTIVITY_FILES.items():
        (suite.data_dir / "inbox" / partenaire).mkdir(parents=True)
        shutil.copy(PARTNER_ACTIVITY / fichier, suite.data_dir / "inbox" / partenaire)
    (suite.data_dir / "inbox" / "exemple_diagnostics_autonomie" / "juin_2024.csv").write_text(
        "code_commune;periode;nb_personnes_diagnostiquees;nb_autonomes;nb_besoin_aide;"
        "nb_jamais_en_ligne;commentaire\n16015;2024-06;3;1;1;1;\n",
        encoding="utf-8",
    )
    second = materialize_all(suite, instance=DagsterInstance.ephemeral())
    assert second.success, second.errors
    assert second.release.name != premier.release.name

    def epinglees(run_settings, release: Path) -> pl.DataFrame:
        entrepot = run_settings.warehouse_dir
        bornes = audit_publication(
            pl.read_parquet(entrepot / "int__activite_partenaires.parquet"),
            pl.read_parquet(entrepot / "int__appartenances.parquet"),
            read_table(release, "indicateurs"),
            seuil=10**9,
        )
        return bornes.filter(pl.col("borne_min") == pl.col("borne_max")).select(*CLE_CELLULE, "nb")

    avant, apres = epinglees(settings, premier.release), epinglees(suite, second.release)
    ecarts = apres.join(avant, on=list(CLE_CELLULE)).filter(
        (pl.col("nb") - pl.col("nb_right")).abs().is_between(1, SEUIL_SECRET - 1)
    )
    assert ecarts.is_empty(), ecarts
    cle = ["niveau", "code", "annee", "mesure"]
    premiere = {r[:4]: r[4] for r in avant.select(*cle, "nb").rows()}
    seconde = {r[:4]: r[4] for r in apres.select(*cle, "nb").rows()}
    assert premiere[("commune", "16015", 2024, "nb_diagnostics")] == 75
    assert ("commune", "16015", 2024, "nb_diagnostics") not in seconde  # 78: hidden
    assert seconde[("commune", "16015", 2023, "nb_diagnostics")] == 20  # unchanged: published
    # what both releases revealed is kept in the private ledger, not in the release
    registre = pl.read_parquet(chemin_registre(suite))
    assert set(registre["release_id"]) == {premier.release.name, second.release.name}
    assert not any(p.name == chemin_registre(suite).name for p in second.release.rglob("*"))
