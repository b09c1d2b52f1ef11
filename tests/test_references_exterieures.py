"""The published figures against outside references (issue 15), on the real bundled snapshot:
INSEE's published rates, each registry's own counts by département, La Mednum's own scores."""

from __future__ import annotations

import re

import polars as pl
import pytest

from observatory.publish.release import read_table
from observatory.settings import PROJECT_ROOT
from tests.conftest import report

pytestmark = pytest.mark.real_data

ASSETS = PROJECT_ROOT / "assets"
IFN_LAMEDNUM = (
    PROJECT_ROOT / "tests/fixtures/ifn_2020_lamednum/ifn_2020_communes_scores_region.parquet"
)
MAYOTTE = ("976", "06")


@pytest.fixture(scope="module")
def indicateurs(pipeline_run) -> pl.DataFrame:
    return read_table(pipeline_run[1].release, "indicateurs")


def _valeur(indicateurs: pl.DataFrame, niveau: str, code: str, indicateur: str, annee=None):
    lignes = indicateurs.filter(
        pl.col("niveau") == niveau, pl.col("code") == code, pl.col("indicateur") == indicateur
    )
    if annee is not None:
        lignes = lignes.filter(pl.col("annee") == annee)
    return lignes.row(0, named=True)


def _quarantaine(settings, *assets: str) -> pl.DataFrame:
    return pl.concat(
        [pl.read_parquet(settings.quarantine_dir / f"{a}.parquet") for a in assets],
        how="vertical_relaxed",
    )


def test_every_row_says_its_covered_share_and_follows_one_rule(indicateurs) -> None:
    part = indicateurs["part_population_couverte"]
    assert part.null_count() == 0 and part.min() >= 0 and part.max() <= 1
    # one rule: published from 99 % covered, never below
    assert (indicateurs["couverture"] == (part >= 0.99)).all()
    assert (
        indicateurs.filter(~pl.col("couverture"))["valeur"].null_count()
        == indicateurs.filter(~pl.col("couverture")).height
    )


@pytest.mark.parametrize(
    ("mesure", "insee", "bornes"),
    [
        # INSEE: 17 % of the 15+ in illectronisme, France hors Mayotte, 2019 (Insee Première 1780)
        ("illectronisme", 0.17, (0.16, 0.18)),
        # INSEE: 46.0 % en difficulté (illectronisme or weak skills), 2023 (Insee Références 2025)
        ("difficulte_numerique", 0.46, (0.44, 0.48)),
    ],
)
def test_france_hors_mayotte_need_against_insee(indicateurs, mesure, insee, bornes) -> None:
    taux = _valeur(indicateurs, "france", "FR", f"taux_{mesure}")
    nombre = _valeur(indicateurs, "france", "FR", f"nb_{mesure}")
    report(
        f"need ({mesure}): France hors Mayotte {taux['valeur']:.2%} "
        f"[{taux['ic_bas']:.2%}, {taux['ic_haut']:.2%}], {nombre['valeur']:,.0f} people 15+, "
        f"{taux['part_population_couverte']:.2%} of the 15+ covered; INSEE {insee:.0%}"
    )
    assert bornes[0] <= taux["valeur"] <= bornes[1]
    assert taux["ic_bas"] <= insee <= taux["ic_haut"]
    assert 0.99 <= taux["part_population_couverte"] < 1  # Mayotte left out, as INSEE does
    assert nombre["ic_bas"] < nombre["valeur"] < nombre["ic_haut"]


@pytest.mark.parametrize("mesure", ["illectronisme", "difficulte_numerique"])
def test_every_departement_and_region_but_mayotte_has_a_need_estimate(indicateurs, mesure) -> None:
    for niveau, attendus in (("departement", 100), ("region", 17)):
        lignes = indicateurs.filter(
            pl.col("niveau") == niveau, pl.col("indicateur") == f"nb_{mesure}"
        )
        connues = lignes.filter(pl.col("valeur").is_not_null())
        assert connues.height == attendus, niveau
        assert set(lignes.filter(pl.col("valeur").is_null())["code"]) <= set(MAYOTTE)
        assert connues.filter(pl.col("ic_bas") >= pl.col("ic_haut")).is_empty()
    communes = indicateurs.filter(
        pl.col("niveau") == "commune", pl.col("indicateur") == f"nb_{mesure}"
    )
    assert set(communes.filter(pl.col("valeur").is_null())["code"].str.slice(0, 3)) == {"976"}


def test_charente_conseillers_numeriques_match_the_registry(pipeline_run, indicateurs) -> None:
    """The bundled list has 73 places and 74 conseillers in Charente: the published count is
    that, less what is documented in quarantine (a merged place keeps the sum)."""
    settings = pipeline_run[0]
    source = pl.read_parquet(
        ASSETS / "conseillers_numeriques/lieux_cnfs_20221202_national.parquet"
    ).with_row_index("ligne", offset=1)
    charente = source.filter(pl.col("code_postal").str.starts_with("16"))
    assert (charente.height, charente["nb_conseillers"].sum()) == (73, 74)
    rejets = _quarantaine(
        settings, "stg_conseillers_numeriques__lieux", "int__lieux_resolus"
    ).filter(pl.col("source") == "conseillers_numeriques__lieux", pl.col("action") == "rejet")
    perdus = charente.join(rejets.select(pl.col("ligne").cast(pl.UInt32)).unique(), on="ligne")
    publie = _valeur(indicateurs, "departement", "16", "nb_conseillers_numeriques")["valeur"]
    report(
        f"conseillers numériques, Charente: {publie:.0f} published, registry 74, "
        f"{perdus['nb_conseillers'].sum()} in quarantine"
    )
    assert publie == 74 - perdus["nb_conseillers"].sum()
    # every département: the registry's conseillers (by the département of their postal code)
    # less those documented in quarantine
    cp = pl.col("code_postal").str.zfill(5)
    departement = (
        pl.when(cp.str.starts_with("97"))
        .then(cp.str.slice(0, 3))
        .when(cp.str.starts_with("20"))
        .then(pl.when(cp < "20200").then(pl.lit("2A")).otherwise(pl.lit("2B")))
        .otherwise(cp.str.slice(0, 2))
    )
    attendus = (
        source.join(rejets.select(pl.col("ligne").cast(pl.UInt32)).unique(), on="ligne", how="anti")
        .group_by(departement.alias("code"))
        .agg(pl.col("nb_conseillers").sum().cast(pl.Float64).alias("attendu"))
    )
    publies = indicateurs.filter(
        pl.col("niveau") == "departement", pl.col("indicateur") == "nb_conseillers_numeriques"
    ).select("code", "valeur")
    ecarts = attendus.join(publies, on="code", how="full", coalesce=True).filter(
        pl.col("attendu").fill_null(0) != pl.col("valeur").fill_null(0)
    )
    assert ecarts.is_empty(), ecarts


def test_france_services_by_departement_match_the_national_list(pipeline_run, indicateurs) -> None:
    """Per département: the list's sites less those documented in quarantine; Guyane keeps its
    23 (a site is checked against its commune's outline, not a distance to its centre)."""
    settings = pipeline_run[0]
    liste = pl.read_csv(
        ASSETS / "france_services/liste_france_services_20221201.csv", infer_schema=False
    ).with_row_index("ligne", offset=1)
    rejets = (
        _quarantaine(settings, "stg_france_services__lieux", "int__france_services_millesimes")
        .filter(pl.col("source") == "france_services__lieux", pl.col("action") == "rejet")
        .select(pl.col("ligne").cast(pl.UInt32))
        .unique()
    )
    attendus = (
        liste.join(rejets, on="ligne", how="anti")
        .group_by(pl.col("insee_dep").alias("code"))
        .agg(pl.len().cast(pl.Float64).alias("attendu"))
    )
    publies = indicateurs.filter(
        pl.col("niveau") == "departement",
        pl.col("indicateur") == "nb_france_services",
        pl.col("annee") == 2022,
    ).select("code", "valeur")
    ecarts = attendus.join(publies, on="code", how="full", coalesce=True).filter(
        pl.col("attendu").fill_null(0) != pl.col("valeur").fill_null(0)
    )
    report(
        f"France Services 2022: {liste.height} sites listed, {rejets.height} in quarantine, "
        f"{publies['valeur'].sum():.0f} published; Guyane "
        f"{_valeur(indicateurs, 'departement', '973', 'nb_france_services', 2022)['valeur']:.0f}"
    )
    assert ecarts.is_empty(), ecarts
    assert liste.filter(pl.col("insee_dep") == "973").height == 23
    assert _valeur(indicateurs, "departement", "973", "nb_france_services", 2022)["valeur"] == 23


def test_fragility_index_ranks_communes_like_la_mednum(pipeline_run, indicateurs) -> None:
    """La Mednum's own IFN 2020 scores (région as reference) against the published
    `ifn_score_*_reg` of every commune: rank correlation."""
    settings = pipeline_run[0]
    passage = pl.read_parquet(settings.warehouse_dir / "stg_insee__passage_communes.parquet")
    lamednum = (
        pl.read_parquet(IFN_LAMEDNUM)
        .join(
            passage.select(
                pl.col("code_insee_historique").alias("code_commune"),
                pl.col("code_insee_cog2025").alias("code"),
            ),
            on="code_commune",
            how="left",
        )
        .with_columns(pl.coalesce("code", "code_commune").alias("code"))
    )
    colonnes = {
        "global": "score_global_reg",
        "acces_interfaces": "acces_interfaces_numeriques_reg",
        "acces_information": "acces_information_reg",
        "competences_administratives": "competences_administratives_reg",
        "competences_numeriques": "competences_numeriques_scolaires_reg",
    }
    poids = pl.col("population_p16")
    reference = lamednum.group_by("code").agg(
        *((pl.col(c) * poids).sum() / poids.sum() for c in colonnes.values()),
        (pl.col("acces_interfaces_numeriques_reg") > 0).all().alias("revenu_connu"),
    )
    publies = indicateurs.filter(
        pl.col("niveau") == "commune", pl.col("indicateur").str.ends_with("_reg")
    ).pivot(on="indicateur", index="code", values="valeur")
    paires = publies.join(reference, on="code")
    correlations = {}
    for partie, colonne in colonnes.items():
        ours = f"ifn_score_{partie}_reg"
        couple = paires.drop_nulls([ours, colonne])
        correlations[partie] = couple.select(pl.corr(ours, colonne, method="spearman")).item()
    sans_zero = paires.filter(pl.col("revenu_connu")).drop_nulls(
        ["ifn_score_global_reg", "score_global_reg"]
    )
    rho_sans_zero = sans_zero.select(
        pl.corr("ifn_score_global_reg", "score_global_reg", method="spearman")
    ).item()
    report(
        f"IFN vs La Mednum 2020 (région reference), Spearman on {paires.height} communes: "
        + ", ".join(f"{k} {v:.2f}" for k, v in correlations.items())
        + f"; global without La Mednum's zero incomes {rho_sans_zero:.2f}"
    )
    assert paires.height > 33_000
    assert correlations["global"] >= 0.8 and rho_sans_zero >= 0.8
    assert min(correlations.values()) >= 0.7
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    ecrit = re.search(r"rank correlation (\d\.\d\d)", readme)
    assert ecrit and float(ecrit.group(1)) == round(correlations["global"], 2)


def test_no_commune_dominates_the_fragility_index(indicateurs) -> None:
    """Caps at the national P1/P99: no commune scores an outlier (once 315 for 10 people)."""
    scores = indicateurs.filter(
        pl.col("niveau") == "commune", pl.col("indicateur").str.starts_with("ifn_score_global")
    )
    assert scores["valeur"].max() < 200
    assert scores["valeur"].min() > 30


def test_methodology_states_the_caps(pipeline_run) -> None:
    release = pipeline_run[1].release
    note = (release / "methodologie.md").read_text(encoding="utf-8")
    bornes = pl.read_parquet(pipeline_run[0].warehouse_dir / "int__fragilite_bornes.parquet")
    assert "bornes des scores de ce calcul" in note
    for ligne in bornes.iter_rows(named=True):
        haute = f"{ligne['borne_haute']:.1f}".replace(".", ",")
        assert f"`{ligne['variable']}` | " in note and f"| {haute} |" in note


def _nombre(brut: str) -> float:
    return float(brut.replace(" ", "").replace("\u202f", "").replace("\u00a0", ""))


def test_readme_national_figures_are_the_releases(indicateurs) -> None:
    """The README's national figures, each rounded as written, are the release's."""
    texte = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    bloc = " ".join(texte.split("<!-- chiffres-nationaux -->", 1)[1].split("\n\n", 1)[0].split())

    def lu(motif: str) -> list[float]:
        trouve = re.search(motif, bloc)
        assert trouve, motif
        return [_nombre(g) for g in trouve.groups()]

    def v(niveau, code, indicateur, champ="valeur"):
        return _valeur(indicateurs, niveau, code, indicateur)[champ]

    def pourcents(indicateur, niveau="france", code="FR"):
        return [
            round(100 * v(niveau, code, indicateur, c), 1) for c in ("valeur", "ic_bas", "ic_haut")
        ]

    pct = r"(\d+\.\d) %"
    part, nb, *taux = lu(
        rf"\({pct} of the people aged 15\+\), (\d+\.\d+) M people aged 15\+ in illectronisme "
        rf"in \d{{4}}, {pct} \[{pct}, {pct}\]"
    )
    assert part == round(
        100 * v("france", "FR", "taux_illectronisme", "part_population_couverte"), 1
    )
    assert nb == round(v("france", "FR", "nb_illectronisme") / 1e6, 2)
    assert taux == pourcents("taux_illectronisme")
    nb, *taux = lu(rf"(\d+\.\d+) M en difficulté avec le numérique, {pct} \[{pct}, {pct}\]")
    assert nb == round(v("france", "FR", "nb_difficulte_numerique") / 1e6, 2)
    assert taux == pourcents("taux_difficulte_numerique")
    *nombres, taux = lu(r"Charente ([\d  ]+) \[([\d  ]+), ([\d  ]+)\], (\d+\.\d) %")
    assert nombres == [
        round(v("departement", "16", "nb_illectronisme", c), -1)
        for c in ("valeur", "ic_bas", "ic_haut")
    ]
    assert taux == round(100 * v("departement", "16", "taux_illectronisme"), 1)
    distance, plus_10 = lu(
        r"France Services (\d+\.\d) km; (\d+\.\d) % of the population beyond 10 km"
    )
    assert distance == round(v("france", "FR", "distance_france_services_km"), 1)
    assert plus_10 == round(100 * v("france", "FR", "part_pop_france_services_plus_10km"), 1)
