"""Partner activity under statistical secrecy, on real COG 2026 territories.

The partner files are constructed in the partners' model formats (no real export is public:
tests/fixtures/partners/activite/PROVENANCE.md); territories and their nesting are real.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from observatory.partners.mappings import load_mappings
from observatory.partners.reading import read_partner
from observatory.publish.schemas import load_dictionary
from observatory.settings import PROJECT_ROOT
from observatory.transforms import partner_activity as pa
from observatory.transforms import secret_audit
from observatory.transforms import secret_publication as sp
from observatory.transforms import secret_suppression as ss
from tests.conftest import PARTNER_ACTIVITY, PARTNER_ACTIVITY_FILES
from tests.transforms.test_secret_audit import BESOIN_VIDE

FIXTURES = PARTNER_ACTIVITY
MAPPINGS = load_mappings(PROJECT_ROOT / "schemas/partners")
FILES = PARTNER_ACTIVITY_FILES
NB_ILLECTRONISME_16 = 54_167.0  # order of magnitude of the Charente estimate (ind_besoin)


@pytest.fixture(scope="module")
def appartenances(communes: pl.DataFrame) -> pl.DataFrame:
    """Real COG 2026 memberships, with a non-nesting level that must never get partner rows."""
    niveaux = {"commune": "code_commune", "epci": "code_epci"}
    niveaux |= {"departement": "code_departement", "region": "code_region"}
    frames = [
        communes.select("code_commune", pl.lit(n).alias("niveau"), pl.col(c).alias("code"))
        for n, c in niveaux.items()
    ]
    frames.append(
        communes.select("code_commune", pl.lit("france").alias("niveau"), code=pl.lit("FR"))
    )
    frames.append(
        communes.select("code_commune", pl.lit("bassin_de_vie").alias("niveau"), code=pl.lit("X"))
    )
    return pl.concat(frames).filter(pl.col("code").is_not_null())


@pytest.fixture(scope="module")
def staged() -> list[tuple[str, pl.DataFrame]]:
    reads = []
    for partenaire, fichier in FILES.items():
        mapping = MAPPINGS[partenaire]
        read = read_partner((FIXTURES / fichier).read_bytes(), fichier, mapping)
        assert read.quarantine.is_empty(), read.quarantine
        reads.append((mapping.type_fichier, read.kept))
    return reads


@pytest.fixture(scope="module")
def codes(communes: pl.DataFrame) -> pl.DataFrame:
    return pl.concat(
        [
            communes.select(
                pl.lit("commune").alias("niveau"), pl.col("code_commune").alias("code")
            ),
            communes.select(
                pl.lit("departement").alias("niveau"), pl.col("code_departement").alias("code")
            ),
            communes.select(pl.lit("epci").alias("niveau"), pl.col("code_epci").alias("code")),
        ]
    ).unique()


@pytest.fixture(scope="module")
def comptes(staged, codes: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    return pa.compte_activite(staged, codes)


@pytest.fixture(scope="module")
def cellules(comptes, appartenances: pl.DataFrame) -> pl.DataFrame:
    return ss.applique_secret(pa.agrege_comptes(comptes[0], appartenances), appartenances)


# ind_besoin's nb_illectronisme rows for the two départements of the files
BESOIN = pl.DataFrame(
    {
        "niveau": ["departement", "departement"],
        "code": ["16", "17"],
        "indicateur": ["nb_illectronisme"] * 2,
        "valeur": [NB_ILLECTRONISME_16, 120_000.0],
        # ind_besoin's coverage weights (people aged 15+): both départements covered
        "poids_couvert": [300_000.0, 540_000.0],
        "poids_total": [300_000.0, 540_000.0],
        "nb_communes_couvertes": [359, 463],
        "nb_communes": [359, 463],
    }
)


@pytest.fixture(scope="module")
def indicateurs(cellules: pl.DataFrame) -> pl.DataFrame:
    return pa.indicateurs_activite(cellules, BESOIN)


def valeur(frame: pl.DataFrame, niveau: str, code: str, indicateur: str, annee: int = 2024):
    row = frame.filter(
        (pl.col("niveau") == niveau)
        & (pl.col("code") == code)
        & (pl.col("indicateur") == indicateur)
        & (pl.col("annee") == annee)
    )
    assert row.height == 1, (niveau, code, indicateur, annee, row)
    return row.select("valeur", "secret", "couverture").row(0)


def test_every_row_is_counted_or_quarantined(staged, comptes) -> None:
    counts, quarantaine = comptes
    diag = dict(staged)["diagnostics_autonomie"]
    assert quarantaine.select("valeur_brute", "code_raison", "ligne").rows() == [
        ("16999", "code_hors_cog", 9)  # the file's 9th data row
    ]
    kept = diag.filter(pl.col("code") != "16999")
    total = counts.filter(pl.col("mesure") == "nb_diagnostics")["nb"].sum()
    assert total == kept["nb_diagnostics"].sum() == 139
    # periods are summed by calendar year: Angoulême 2023 and 2024 stay apart
    angouleme = counts.filter((pl.col("code") == "16015") & (pl.col("mesure") == "nb_diagnostics"))
    assert sorted(angouleme.select("annee", "nb").rows()) == [(2023, 20), (2024, 75)]


@pytest.mark.parametrize(
    ("niveau", "code", "indicateur", "attendu"),
    [
        # published: counts of 5 or more, shares from summed counts
        ("commune", "16015", "nb_diagnostics_autonomie", (75.0, False, True)),
        ("commune", "16015", "part_besoin_aide_diagnostic", (38 / 75, False, True)),
        # cascade: in the CA du Grand Angoulême, never-online Soyaux (2) + La Couronne (1) = 3
        # would be recovered from the EPCI total, so Angoulême's 15 is suppressed, and then
        # its smallest other category (22 autonomous), or 75 − 38 would give the 15 back
        ("commune", "16015", "part_jamais_en_ligne_diagnostic", (None, True, True)),
        ("commune", "16015", "part_autonomes_diagnostic", (None, True, True)),
        # primary: 3 never online in Cognac; secondary: its smallest published sibling (5)
        ("commune", "16102", "part_jamais_en_ligne_diagnostic", (None, True, True)),
        ("commune", "16102", "part_autonomes_diagnostic", (None, True, True)),
        # the two hierarchies linked: with Cognac's 6 people needing help published, the
        # département (56) minus Angoulême (38), Cognac (6) and the rest of the CA du Grand
        # Angoulême (46 − 38) gave the CC du Rouillacais' 4 back; the audit hides Cognac's 6 too
        ("commune", "16102", "part_besoin_aide_diagnostic", (None, True, True)),
        # primary: 3 people diagnosed in Genac-Bignac; secondary: Rouillac (6), the only other
        # non-zero commune of the CC du Rouillacais, else EPCI − Rouillac would give it away
        ("commune", "16148", "nb_diagnostics_autonomie", (None, True, True)),
        ("commune", "16286", "nb_diagnostics_autonomie", (None, True, True)),
        # ... and so is the CC's total (9): both communes are at least 3 (each hidden category
        # at least 1, zeros being never hidden), so 9 would leave each within 3–6; the CC's 4
        # needing help is protected by hiding the CA du Grand Cognac's 6 needing help
        ("epci", "241600303", "nb_diagnostics_autonomie", (None, True, True)),
        ("epci", "200070514", "part_besoin_aide_diagnostic", (None, True, True)),
        # a zero describes nobody: published
        ("commune", "16339", "nb_diagnostics_autonomie", (0.0, False, True)),
        ("departement", "16", "nb_diagnostics_autonomie", (119.0, False, True)),
        # the partner reports in Charente only: Charente-Maritime, the région, France uncovered
        ("departement", "17", "nb_diagnostics_autonomie", (None, False, False)),
        ("commune", "17300", "nb_diagnostics_autonomie", (None, False, False)),
        ("region", "75", "nb_diagnostics_autonomie", (None, False, False)),
        ("france", "FR", "nb_diagnostics_autonomie", (None, False, False)),
        # accompaniments (département files), per 1 000 estimated people in need
        (
            "departement",
            "16",
            "accompagnements_pour_1000_illectronisme",
            (175 * 1000 / NB_ILLECTRONISME_16, False, True),
        ),
        ("departement", "17", "accompagnements_pour_1000_illectronisme", (None, True, True)),
    ],
)
def test_secrecy_and_values(indicateurs, niveau, code, indicateur, attendu) -> None:
    got = valeur(indicateurs, niveau, code, indicateur)
    if attendu[0] is None:
        assert got == attendu
    else:
        assert got[1:] == attendu[1:] and got[0] == pytest.approx(attendu[0], rel=1e-12)


def test_pass_numerique_at_epci_only(indicateurs) -> None:
    pass_ = indicateurs.filter(pl.col("indicateur") == "ratio_pass_utilises_emis")
    assert set(pass_["niveau"]) == {"epci"}
    assert valeur(pass_, "epci", "200071827", "ratio_pass_utilises_emis", 2023) == (
        0.65,
        False,
        True,
    )
    # 4 passes used: secret
    assert valeur(pass_, "epci", "241600303", "ratio_pass_utilises_emis", 2023) == (
        None,
        True,
        True,
    )


def test_never_published_at_levels_that_do_not_nest(indicateurs) -> None:
    assert set(indicateurs["niveau"]) <= set(pa.NIVEAUX_EMBOITES)


def test_no_published_count_below_five(cellules) -> None:
    publies = cellules.filter(pl.col("couverture") & ~pl.col("secret"))
    assert publies.filter(pl.col("nb").is_between(1, 4)).is_empty()


def test_no_suppressed_cell_can_be_recovered_by_subtraction(cellules, appartenances) -> None:
    """Brute force over every published total and its parts, in every nested hierarchy."""
    emboitees = appartenances.filter(pl.col("niveau").is_in(pa.NIVEAUX_EMBOITES))
    cle = ["annee", "type_fichier", "mesure"]
    checked = 0
    for enfant, parent in pa.ARETES_NIVEAUX:
        liens = (
            pa.communes_enfant_parent(emboitees, enfant, parent)
            .select("code_enfant", "code_parent")
            .unique()
        )
        parts = cellules.filter(pl.col("niveau") == enfant).join(
            liens, left_on="code", right_on="code_enfant"
        )
        totaux = cellules.filter(
            (pl.col("niveau") == parent) & pl.col("couverture") & ~pl.col("secret")
        )
        exposed = (
            parts.join(
                totaux.select(*cle, pl.col("code").alias("code_parent")), on=[*cle, "code_parent"]
            )
            .group_by(*cle, "code_parent")
            .agg(
                pl.col("secret").sum().alias("n"),
                pl.col("nb").filter(pl.col("secret")).sum().alias("somme"),
            )
        )
        checked += exposed.height
        bad = exposed.filter((pl.col("n") == 1) | ((pl.col("n") > 1) & (pl.col("somme") < 5)))
        assert bad.is_empty(), (enfant, parent, bad)
    assert checked >= 60  # 9 EPCI and the département of Charente, 4 measures, 2 years
    # categories against their total, within each territory
    diag = cellules.filter(pl.col("type_fichier") == "diagnostics_autonomie")
    par_territoire = (
        diag.join(
            diag.filter((pl.col("mesure") == "nb_diagnostics") & ~pl.col("secret")).select(
                "annee", "niveau", "code"
            ),
            on=["annee", "niveau", "code"],
            how="semi",
        )
        .filter(pl.col("mesure") != "nb_diagnostics")
        .group_by("annee", "niveau", "code")
        .agg(pl.col("secret").sum().alias("n"), pl.col("nb").filter(pl.col("secret")).sum())
    )
    assert par_territoire.filter(
        (pl.col("n") == 1) | ((pl.col("n") > 1) & (pl.col("nb") < 5))
    ).is_empty()


def test_without_partner_files_no_rows(appartenances) -> None:
    comptes, quarantaine = pa.compte_activite([], pl.DataFrame({"niveau": [], "code": []}))
    cellules = ss.applique_secret(pa.agrege_comptes(comptes, appartenances), appartenances)
    indicateurs = pa.indicateurs_activite(cellules, BESOIN_VIDE)
    assert indicateurs.is_empty() and quarantaine.is_empty()
    agreges = pa.agrege_comptes(comptes, appartenances)
    assert sp.audit_publication(agreges, appartenances, indicateurs).is_empty()


def test_a_total_beyond_int64_is_set_aside_never_wrapped() -> None:
    """Three counts of 4·10^18 for one EPCI and year add up past Int64 (a wrapped, negative
    total was published): those rows are quarantined, the other EPCI's total is kept."""
    n = 4_000_000_000_000_000_000
    staged = pl.DataFrame(
        {
            "jeu_de_donnees": ["partenaire__pass"] * 4,
            "fichier_origine": ["pass.csv"] * 4,
            "sha256_origine": ["abc"] * 4,
            "ligne": [1, 2, 3, 4],
            "niveau": ["epci"] * 4,
            "code": ["200071827", "200071827", "200071827", "200070514"],
            "periode_debut": [date(2023, m, 1) for m in (1, 2, 3, 1)],
            "periode_fin": [date(2023, m, 28) for m in (1, 2, 3, 1)],
            "nb_pass_emis": [n, n, n, 40],
            "nb_pass_utilises": [1, 1, 1, 12],
        }
    )
    codes = pl.DataFrame({"niveau": ["epci", "epci"], "code": ["200071827", "200070514"]})
    comptes, quarantaine = pa.compte_activite([("pass_numerique", staged)], codes)
    assert (comptes["nb"] >= 0).all()
    assert comptes.select("code", "mesure", "nb").sort("code", "mesure").rows() == [
        ("200070514", "nb_pass_emis", 40),
        ("200070514", "nb_pass_utilises", 12),
        ("200071827", "nb_pass_utilises", 3),
    ]
    assert quarantaine.select("ligne", "colonne", "code_raison").rows() == [
        (1, "nb_pass_emis", "somme_hors_limite"),
        (2, "nb_pass_emis", "somme_hors_limite"),
        (3, "nb_pass_emis", "somme_hors_limite"),
    ]


def test_the_publication_check_finds_what_would_break_secrecy(indicateurs) -> None:
    assert sp.violations_secret(indicateurs).is_empty()
    leaked = indicateurs.with_columns(
        pl.when(pl.col("secret")).then(3.0).otherwise(pl.col("valeur")).alias("valeur")
    )
    assert sp.violations_secret(leaked).height == indicateurs["secret"].sum()
    small = indicateurs.with_columns(
        pl.when((pl.col("code") == "16015") & (pl.col("indicateur") == "nb_diagnostics_autonomie"))
        .then(2.0)
        .otherwise(pl.col("valeur"))
        .alias("valeur")
    )
    assert sp.violations_secret(small)["code"].to_list() == ["16015", "16015"]  # 2023, 2024


def test_the_audit_proves_the_publication_safe(cellules, appartenances, indicateurs) -> None:
    comptes = cellules.drop("secret")
    assert sp.audit_publication(comptes, appartenances, indicateurs).is_empty()


def test_the_cc_total_is_hidden_once_hidden_counts_are_known_to_be_at_least_1(
    cellules, appartenances
) -> None:
    """The CC du Rouillacais' 9 diagnosed in 2024: Genac-Bignac's 3 (1, 1 and 1 by category)
    and Rouillac's 6 (2, 3, 1), all hidden. A hidden count is at least 1 (zeros are never
    hidden), so each commune is at least 3, and a published 9 would leave each within 3–6
    (exact bounds): the CC's total is hidden too, and each commune spans at least 5 values."""
    cellules = cellules.with_row_index("id")
    rouillacais = (pl.col("mesure") == pa.TOTAL_DIAGNOSTIC) & (pl.col("annee") == 2024)
    cc = rouillacais & (pl.col("code") == "241600303")
    assert cellules.filter(cc)["secret"].to_list() == [True]

    def bornes(publie: pl.Expr) -> list[tuple[float, float, float]]:
        return sorted(
            secret_audit.intervalles_secret(
                cellules.select(
                    "id",
                    "nb",
                    (pl.col("couverture") & (~pl.col("secret") | publie)).alias("connu"),
                    (rouillacais & pl.col("code").is_in(["16148", "16286"])).alias("a_proteger"),
                    (pl.col("couverture") & pl.col("secret") & ~publie)
                    .cast(pl.Float64)
                    .alias("minimum"),
                ),
                ss.relations_lineaires(cellules, appartenances),
                pa.SEUIL_SECRET,
                exactes=True,
            )
            .select("nb", "borne_min", "borne_max")
            .rows()
        )

    assert bornes(cc) == [(3.0, 3.0, 6.0), (6.0, 3.0, 6.0)]
    assert all(haut - bas >= pa.SEUIL_SECRET for _, bas, haut in bornes(pl.lit(False)))


def test_the_audit_finds_the_leak_of_the_linked_hierarchies(
    cellules, appartenances, indicateurs
) -> None:
    """What the single-pool suppression published in 2024, on top of today's: Cognac's (and
    so the CA du Grand Cognac's) 14 diagnosed, 6 of whom need help, the CC du Rouillacais' 9
    and the CA du Grand Angoulême's shares (46 of its 96 need help). Then the département's 56
    needing help minus Angoulême (38), Cognac (6) and the rest of the CA du Grand Angoulême
    (46 − 38) gives the CC's 4, and its two communes within 0–4; a hidden count being at least
    1 (zeros are never hidden), the CC's 9 leaves its other two categories within 1–4, and so
    their communes within 0–4."""
    ancien = {
        ("commune", "16102", "nb_diagnostics_autonomie"): 14.0,
        ("epci", "200070514", "nb_diagnostics_autonomie"): 14.0,
        ("commune", "16102", "part_besoin_aide_diagnostic"): 6 / 14,
        ("epci", "241600303", "nb_diagnostics_autonomie"): 9.0,
        ("epci", "200071827", "part_besoin_aide_diagnostic"): 46 / 96,
    }
    publie = indicateurs
    for (niveau, code, indicateur), v in ancien.items():
        ligne = (
            (pl.col("niveau") == niveau)
            & (pl.col("code") == code)
            & (pl.col("indicateur") == indicateur)
            & (pl.col("annee") == 2024)
        )
        publie = publie.with_columns(
            pl.when(ligne).then(v).otherwise(pl.col("valeur")).alias("valeur"),
            pl.when(ligne).then(False).otherwise(pl.col("secret")).alias("secret"),
        )
    assert sp.violations_secret(publie).is_empty()  # row by row, nothing shows
    etroites = sp.audit_publication(cellules.drop("secret"), appartenances, publie)
    assert etroites.select("niveau", "code", "mesure", "nb", "borne_min", "borne_max").rows() == [
        ("commune", "16148", "nb_autonomes", 1, 0.0, 4.0),
        ("commune", "16286", "nb_autonomes", 2, 0.0, 4.0),
        ("epci", "241600303", "nb_autonomes", 3, 1.0, 4.0),
        ("commune", "16148", "nb_besoin_aide", 1, 0.0, 4.0),
        ("commune", "16286", "nb_besoin_aide", 3, 0.0, 4.0),
        ("epci", "241600303", "nb_besoin_aide", 4, 4.0, 4.0),
        ("commune", "16148", "nb_jamais_en_ligne", 1, 0.0, 4.0),
        ("commune", "16286", "nb_jamais_en_ligne", 1, 0.0, 4.0),
        ("epci", "241600303", "nb_jamais_en_ligne", 2, 1.0, 4.0),
    ]


def test_published_shares_are_written_out_one_per_category() -> None:
    """Every share's code literally (a search finds it), one per diagnostic category, in their
    order, each an indicator of the dictionary."""
    assert tuple(pa.PARTS_DIAGNOSTIC.values()) == pa.CATEGORIES_DIAGNOSTIC
    for indicateur, mesure in pa.PARTS_DIAGNOSTIC.items():
        assert indicateur == f"part_{mesure.removeprefix('nb_')}_diagnostic"
    assert set(pa.PARTS_DIAGNOSTIC) <= set(load_dictionary(PROJECT_ROOT / "schemas"))


def _publie_avec_besoin(indicateurs: pl.DataFrame) -> pl.DataFrame:
    """The partner rows as the long table publishes them, beside ind_besoin's need rows."""
    besoin = BESOIN.select(
        "niveau", "code", pl.lit(2022, pl.Int32).alias("annee"), "indicateur", "valeur"
    )
    return pl.concat([indicateurs.select(besoin.columns), besoin])


def test_what_a_release_reveals_is_the_true_count_of_each_published_cell(
    cellules, indicateurs
) -> None:
    """Read as an attacker reads the published rows: counts, numerators of shares of a
    published total, accompaniments from the published need. Each is the true count."""
    revelees = sp.valeurs_revelees(_publie_avec_besoin(indicateurs))
    verite = cellules.select(*pa.CLE_CELLULE, pl.col("nb").alias("vrai"))
    jointes = revelees.join(verite, on=list(pa.CLE_CELLULE), how="left")
    assert jointes.filter(pl.col("nb") != pl.col("vrai")).is_empty()
    assert jointes["vrai"].null_count() == 0
    cle = ["niveau", "code", "annee", "mesure"]
    trouve = {r[:4]: r[4] for r in revelees.select(*cle, "nb").rows()}
    assert trouve[("commune", "16015", 2024, "nb_diagnostics")] == 75
    assert trouve[("commune", "16015", 2024, "nb_besoin_aide")] == 38  # share × published 75
    assert trouve[("departement", "16", 2024, "nb_accompagnements")] == 175  # × the need
    assert ("commune", "16148", 2024, "nb_diagnostics") not in trouve  # secret: 3
    # the pass numérique: a ratio of two unpublished counts gives neither
    assert revelees.filter(pl.col("type_fichier") == "pass_numerique").is_empty()


def _fichier_tardif(ajout: int) -> pl.DataFrame:
    """A later export of the diagnostics partner: `ajout` people diagnosed in Angoulême in
    June 2024, after a release had published the year's 75."""
    categories = (ajout // 3, ajout - 2 * (ajout // 3), ajout // 3)
    texte = (
        "code_commune;periode;nb_personnes_diagnostiquees;nb_autonomes;nb_besoin_aide;"
        f"nb_jamais_en_ligne;commentaire\n16015;2024-06;{ajout};"
        + ";".join(map(str, categories))
        + ";\n"
    )
    mapping = MAPPINGS["exemple_diagnostics_autonomie"]
    lu = read_partner(texte.encode(), "diagnostics_charente_2024_06.csv", mapping)
    assert lu.quarantine.is_empty(), lu.quarantine
    return lu.kept


def _release_suivante(
    staged, codes, appartenances, ajout: int, historique: pl.DataFrame | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The next release's counts and published rows once the later export has landed."""
    comptes, _ = pa.compte_activite(
        [*staged, ("diagnostics_autonomie", _fichier_tardif(ajout))], codes
    )
    agreges = pa.agrege_comptes(comptes, appartenances)
    cellules = ss.applique_secret(agreges, appartenances, historique)
    return agreges, pa.indicateurs_activite(cellules, BESOIN)


def _historique(indicateurs: pl.DataFrame, release: str = "r1") -> pl.DataFrame:
    """What a release of these published rows revealed, as the ledger keeps it."""
    revelees = sp.valeurs_revelees(_publie_avec_besoin(indicateurs))
    return revelees.select(pl.lit(release).alias("release_id"), pl.all())


def _epinglees(agreges: pl.DataFrame, appartenances: pl.DataFrame, indicateurs) -> pl.DataFrame:
    """Every count the published rows pin to one value: exact bounds by linear programming
    over every covered cell (the audit's programmes asked about all cells, not
    `valeurs_revelees`' reading of the rows)."""
    bornes = sp.audit_publication(agreges, appartenances, indicateurs, seuil=10**9)
    return bornes.filter(pl.col("borne_min") == pl.col("borne_max")).select(*pa.CLE_CELLULE, "nb")


def _ecarts(avant: pl.DataFrame, apres: pl.DataFrame) -> pl.DataFrame:
    """Cells pinned in both releases whose value moved by 1 to 4: counts of people."""
    return apres.join(avant, on=list(pa.CLE_CELLULE)).filter(
        (pl.col("nb") - pl.col("nb_right")).abs().is_between(1, pa.SEUIL_SECRET - 1)
    )


def _etroites_conjointes(
    agreges: pl.DataFrame, appartenances: pl.DataFrame, epinglees: pl.DataFrame, avant
) -> pl.DataFrame:
    """The attacker who holds both releases and guesses that a count pinned earlier kept its
    value wherever it did (exact programmes, `secret_audit`): cells narrower than 5 among the
    counts of 1 to 4 and those that moved by 1 to 4."""
    cle = list(pa.CLE_CELLULE)
    cellules = agreges.with_row_index("id").with_columns(pl.col("id").cast(pl.Int64))
    lie = cellules.join(avant, on=[*cle, "nb"], how="semi")["id"]
    bouge = cellules.join(avant, on=cle).filter(
        (pl.col("nb") - pl.col("nb_right")).abs().is_between(1, pa.SEUIL_SECRET - 1)
    )["id"]
    connu = pl.concat([cellules.join(epinglees, on=[*cle, "nb"], how="semi")["id"], lie])
    bornes = secret_audit.intervalles_secret(
        cellules.select(
            "id",
            "nb",
            (pl.col("couverture") & pl.col("id").is_in(connu.implode())).alias("connu"),
            (
                pl.col("couverture")
                & (
                    pl.col("nb").is_between(1, pa.SEUIL_SECRET - 1)
                    | pl.col("id").is_in(bouge.implode())
                )
            ).alias("a_proteger"),
        ),
        ss.relations_lineaires(cellules, appartenances),
        pa.SEUIL_SECRET,
        exactes=True,
    )
    return bornes.filter(~pl.col("protege")).join(cellules.select("id", *cle), on="id")


def test_without_history_two_releases_reveal_the_people_counted_in_between(
    staged, codes, appartenances, cellules, indicateurs
) -> None:
    """The attack: each release alone is safe, yet 78 − 75 tells that 3 people were diagnosed
    in Angoulême between them (and 122 − 119 in the département, and so on up)."""
    agreges, suivante = _release_suivante(staged, codes, appartenances, 3, ss.SANS_HISTORIQUE)
    assert sp.violations_secret(suivante).is_empty()
    assert sp.audit_publication(agreges, appartenances, suivante).is_empty()
    avant = _epinglees(cellules.drop("secret"), appartenances, indicateurs)
    ecarts = _ecarts(avant, _epinglees(agreges, appartenances, suivante))
    assert ("commune", "16015", 2024, "nb_diagnostics", 78, 75) in ecarts.select(
        "niveau", "code", "annee", "mesure", "nb", "nb_right"
    ).rows()


@pytest.mark.parametrize(
    ("ajout", "angouleme_2024"),
    [
        (3, (None, True, True)),  # 78 would tell the 3: suppressed
        (4, (None, True, True)),
        (5, (80.0, False, True)),  # a difference of 5 or more is published
        (12, (87.0, False, True)),
    ],
)
def test_a_release_reveals_no_difference_of_1_to_4_with_an_earlier_one(
    staged, codes, appartenances, cellules, indicateurs, ajout, angouleme_2024
) -> None:
    historique = _historique(indicateurs)
    agreges, suivante = _release_suivante(staged, codes, appartenances, ajout, historique)
    avant = _epinglees(cellules.drop("secret"), appartenances, indicateurs)
    apres = _epinglees(agreges, appartenances, suivante)
    assert _ecarts(avant, apres).is_empty()
    # nor with what both releases pin together, unchanged counts taken as known
    assert _etroites_conjointes(agreges, appartenances, apres, avant).is_empty()
    assert valeur(suivante, "commune", "16015", "nb_diagnostics_autonomie") == angouleme_2024
    assert sp.audit_publication(agreges, appartenances, suivante, historique).is_empty()
    assert sp.violations_secret(suivante).is_empty()
    # 2023 did not move: published as before
    assert valeur(suivante, "commune", "16015", "nb_diagnostics_autonomie", 2023) == (
        20.0,
        False,
        True,
    )


def test_a_count_an_earlier_release_revealed_is_never_hidden_to_protect_another(
    staged, codes, appartenances, cellules, indicateurs
) -> None:
    """Cognac's 14 diagnosed (and so the CA du Grand Cognac's), which the next release hides
    to protect the CC du Rouillacais, was published by an earlier release (the single-pool
    suppression): it did not move, so hiding it would protect nothing (it is read there). It
    stays published, other cells protect the CC, and the audit passes."""
    cle = ["niveau", "code", "annee", "type_fichier", "mesure"]
    cognac = pl.DataFrame(
        [
            ("r0", n, c, 2024, "diagnostics_autonomie", pa.TOTAL_DIAGNOSTIC, 14)
            for n, c in [("commune", "16102"), ("epci", "200070514")]
        ],
        schema=["release_id", *cle, "nb"],
        orient="row",
    ).cast(ss.HISTORIQUE_SCHEMA)
    historique = pl.concat([cognac, _historique(indicateurs)])
    comptes, _ = pa.compte_activite([*staged, ("diagnostics_autonomie", _fichier_tardif(3))], codes)
    agreges = pa.agrege_comptes(comptes, appartenances)
    sans = ss.applique_secret(agreges, appartenances, ss.SANS_HISTORIQUE)
    suivantes = ss.applique_secret(agreges, appartenances, historique)
    assert sans.join(cognac, on=[*cle, "nb"], how="semi")["secret"].to_list() == [True, True]
    avant = pl.concat(
        [
            _epinglees(cellules.drop("secret"), appartenances, indicateurs),
            cognac.select(*cle, "nb"),
        ]
    )
    inchangees = suivantes.join(avant, on=[*cle, "nb"], how="semi")
    assert inchangees.join(cognac, on=[*cle, "nb"], how="semi").height == 2
    assert inchangees.height >= 10
    assert inchangees.filter(pl.col("secret")).is_empty()
    # while Angoulême's 78, 3 more than the earlier 75, is hidden
    angouleme = (pl.col("code") == "16015") & (pl.col("mesure") == pa.TOTAL_DIAGNOSTIC)
    assert suivantes.filter(angouleme & (pl.col("annee") == 2024)).select(
        "nb", "secret"
    ).rows() == [(78, True)]
    publie = pa.indicateurs_activite(suivantes, BESOIN)
    assert sp.audit_publication(agreges, appartenances, publie, historique).is_empty()


def test_unreadable_history_hides_every_partner_count_and_the_release_goes_out(
    comptes, appartenances
) -> None:
    agreges = pa.agrege_comptes(comptes[0], appartenances)
    prudentes = ss.applique_secret(agreges, appartenances, None)
    publiees = pa.indicateurs_activite(prudentes, BESOIN)
    couvertes = publiees.filter(pl.col("couverture"))
    assert couvertes.height > 100
    assert couvertes.filter(pl.col("valeur").is_not_null() & (pl.col("valeur") != 0)).is_empty()
    assert couvertes.filter(pl.col("valeur") == 0).height > 0  # a zero describes nobody
    assert sp.audit_publication(agreges, appartenances, publiees, None).is_empty()
    # the check with an unreadable history refuses any non-zero count that is published
    normales = pa.indicateurs_activite(ss.applique_secret(agreges, appartenances), BESOIN)
    assert not sp.audit_publication(agreges, appartenances, normales, None).is_empty()


def test_the_check_catches_a_release_that_ignored_the_history(
    staged, codes, appartenances, indicateurs
) -> None:
    historique = _historique(indicateurs)
    agreges, naive = _release_suivante(staged, codes, appartenances, 3, ss.SANS_HISTORIQUE)
    etroites = sp.audit_publication(agreges, appartenances, naive, historique)
    assert ("commune", "16015", 2024, "nb_diagnostics", 78) in etroites.select(
        "niveau", "code", "annee", "mesure", "nb"
    ).rows()


@pytest.mark.parametrize(
    ("revele", "attendu"),
    [
        # an EPCI and two of its three communes: the third by subtraction
        ({"E": 125, "A": 75, "B": 20}, {"C": 30}),
        # then the département from its two EPCI, one of them derived first
        ({"E": 125, "A": 75, "B": 20, "F": 10, "D": 135}, {"C": 30}),
        ({"E": 125, "F": 10, "A": 75, "B": 20, "C": 30}, {"D": 135}),
        # two unknowns in every relation: nothing follows
        ({"E": 125, "A": 75}, {}),
    ],
)
def test_what_follows_by_subtraction_from_what_a_release_revealed(revele, attendu) -> None:
    """D = E + F (EPCI), E = A + B + C (communes): each derived value is read in that release."""
    noms = ["A", "B", "C", "E", "F", "D"]
    cellules = pl.DataFrame(
        {
            "id": list(range(6)),
            "niveau": ["commune"] * 3 + ["epci"] * 2 + ["departement"],
            "code": noms,
            "annee": [2024] * 6,
            "type_fichier": ["accompagnements"] * 6,
            "mesure": ["nb_accompagnements"] * 6,
        },
        schema_overrides={"id": pl.Int64, "annee": pl.Int32},
    )
    relations = pl.DataFrame(
        {
            "relation": [0, 0, 0, 0, 1, 1, 1],
            "id": [0, 1, 2, 3, 3, 4, 5],
            "coef": [1.0, 1.0, 1.0, -1.0, 1.0, 1.0, -1.0],
        }
    )
    historique = cellules.filter(pl.col("code").is_in(list(revele))).select(
        pl.lit("r1").alias("release_id"),
        *pa.CLE_CELLULE,
        pl.col("code").replace_strict(revele, return_dtype=pl.Int64).alias("nb"),
    )
    complet = ss.complete_historique(historique, cellules, relations)
    assert dict(complet.select("code", "nb").rows()) == revele | attendu


def test_an_unchanged_count_is_not_the_complement_of_one_that_moved() -> None:
    """The EPCI E = A + B + C goes from 75 + 20 + 30 to 78 + 20 + 40: A's 78 is hidden (3 more
    people). Hiding B, the smallest, would protect nothing: the first release published its 20,
    and 138 − 20 − 40 gives A's 78 back. C, which moved, is hidden instead."""
    from tests.transforms.test_secret_audit import appartenances as memberships

    communes = [(c, "16", "E", None) for c in ("A", "B", "C")]
    app = memberships(communes)

    def agreges(valeurs: dict[str, int]) -> pl.DataFrame:
        brut = pl.DataFrame(
            [
                ("commune", c, 2024, "nb_accompagnements", n, "accompagnements", "test")
                for c, n in valeurs.items()
            ],
            schema=pa.COMPTES_SCHEMA,
            orient="row",
        )
        return pa.agrege_comptes(brut, app)

    premiere = agreges({"A": 75, "B": 20, "C": 30})
    cellules_1 = ss.applique_secret(premiere, app)
    assert not cellules_1["secret"].any()
    historique = cellules_1.filter(pl.col("couverture")).select(
        pl.lit("r1").alias("release_id"), *pa.CLE_CELLULE, "nb"
    )
    seconde = agreges({"A": 78, "B": 20, "C": 40})
    cellules_2 = ss.applique_secret(seconde, app, historique)
    caches = dict(cellules_2.filter(pl.col("niveau") == "commune").select("code", "secret").rows())
    assert caches == {"A": True, "B": False, "C": True}
    publiees = cellules_2.filter(~pl.col("secret")).select(*pa.CLE_CELLULE, "nb")
    assert _etroites_conjointes(seconde, app, publiees, historique.drop("release_id")).is_empty()


def _historique_de(agreges: pl.DataFrame, app: pl.DataFrame) -> pl.DataFrame:
    """What a release of `agreges` (suppressed as the pipeline does) revealed."""
    from tests.transforms.test_secret_audit import BESOIN_VIDE as SANS_BESOIN

    publiees = pa.indicateurs_activite(ss.applique_secret(agreges, app), SANS_BESOIN)
    return sp.valeurs_revelees(publiees).select(pl.lit("r1").alias("release_id"), pl.all())


@pytest.mark.parametrize(
    ("premiere", "seconde"),
    [
        # c2's 3 people without a category get one: its first category moves by 3 while its
        # total, other categories, siblings and parents keep the values the first release
        # published; nothing in this release can hide what they pin
        ({"c2": ((20, 20, 17), 3)}, {"c2": ((23, 20, 17), 0)}),
        # the same with 2 left without a category
        ({"c2": ((20, 20, 17), 5)}, {"c2": ((23, 20, 17), 2)}),
        # nothing moved: a rerun
        ({}, {}),
    ],
)
def test_a_second_release_is_always_produced_and_passes_its_check(premiere, seconde) -> None:
    """A partner's correction must never stop the release: `applique_secret` returns, and the
    blocking check, which reads the same history, passes."""
    from tests.transforms.test_secret_audit import BESOIN_VIDE as SANS_BESOIN
    from tests.transforms.test_secret_audit import appartenances as memberships
    from tests.transforms.test_secret_audit import comptes as diagnostics

    base = {
        "c1": ((20, 20, 30), 0),
        "c2": ((20, 20, 17), 0),
        "c3": ((25, 25, 10), 0),
        "c4": ((10, 20, 10), 0),
        "c5": ((10, 10, 10), 0),
    }
    epci = {"c1": "E1", "c2": "E1", "c3": "E2", "c4": "E2", "c5": "E2"}

    def table(modifs):
        lignes = base | modifs
        communes = [
            (c, "16" if c in ("c1", "c2", "c3") else "17", epci[c], v[0]) for c, v in lignes.items()
        ]
        return communes, diagnostics(communes, {c: v[1] for c, v in lignes.items()})

    communes, r1 = table(premiere)
    app = memberships(communes)
    historique = _historique_de(r1, app)
    _, r2 = table(seconde)
    cellules = ss.applique_secret(r2, app, historique)
    publiees = pa.indicateurs_activite(cellules, SANS_BESOIN)
    assert sp.audit_publication(r2, app, publiees, historique).is_empty()
    assert sp.violations_secret(publiees).is_empty()


def test_a_count_an_older_release_let_through_does_not_block_every_later_one() -> None:
    """A release made before this audit revealed c1's 3 (the counterexample of
    test_secret_audit): it cannot be taken back; the later releases still go out."""
    from tests.transforms.test_secret_audit import BESOIN_VIDE as SANS_BESOIN
    from tests.transforms.test_secret_audit import CONTRE_EXEMPLE
    from tests.transforms.test_secret_audit import appartenances as memberships
    from tests.transforms.test_secret_audit import comptes as diagnostics

    app = memberships(CONTRE_EXEMPLE)
    agreges = diagnostics(CONTRE_EXEMPLE)
    trois = (pl.col("code") == "c1") & (pl.col("mesure") == pa.TOTAL_DIAGNOSTIC)
    historique = agreges.filter(trois).select(
        pl.lit("r0").alias("release_id"), *pa.CLE_CELLULE, "nb"
    )
    cellules = ss.applique_secret(agreges, app, historique)
    assert cellules.filter(trois)["secret"].to_list() == [True]  # not printed again
    publiees = pa.indicateurs_activite(cellules, SANS_BESOIN)
    assert sp.audit_publication(agreges, app, publiees, historique).is_empty()


def test_a_ratio_of_two_unpublished_counts_does_not_give_them_back(codes, appartenances) -> None:
    """261 passes used of 401 issued: at full precision 0.6508728179551122, from which
    `Fraction.limit_denominator` reads 261/401 back (and, from the next release's 263/401,
    that 2 more were used). Published at its unit's precision, 0.65 is shared by dozens of
    pairs of counts."""
    from fractions import Fraction

    from observatory.publish.numbers import load_precisions

    texte = "siren_epci;periode;nb_pass_emis;nb_pass_utilises\n200071827;2023;401;261\n"
    mapping = MAPPINGS["exemple_pass_numerique"]
    lu = read_partner(texte.encode(), "pass_2023.csv", mapping)
    comptes, _ = pa.compte_activite([("pass_numerique", lu.kept)], codes)
    agreges = pa.agrege_comptes(comptes, appartenances)
    publiees = pa.indicateurs_activite(ss.applique_secret(agreges, appartenances), BESOIN)
    ratio = valeur(publiees, "epci", "200071827", "ratio_pass_utilises_emis", 2023)[0]
    assert ratio == 0.65
    assert Fraction(ratio).limit_denominator(10**6) != Fraction(261, 401)
    paires = [(u, e) for e in range(5, 2001) for u in range(e + 1) if round(u / e, 2) == ratio]
    assert len(paires) > 100
    assert pa.RATIOS_ARRONDIS["ratio_pass_utilises_emis"] == (
        load_precisions(PROJECT_ROOT / "schemas").of("ratio_pass_utilises_emis").decimales
    )
    assert sp.audit_publication(agreges, appartenances, publiees).is_empty()


def test_every_ratio_of_two_unpublished_counts_is_rounded() -> None:
    """A ratio whose denominator no published count gives is rounded (`RATIOS_ARRONDIS`):
    at full precision it would give both counts back. Read off `REVELATIONS`."""
    publies = {(t, m) for t, m, den in sp.REVELATIONS.values() if den is None}
    sans_denominateur = {
        nom
        for nom, (t, _, den) in sp.REVELATIONS.items()
        if den is not None and (t, den) not in publies
    }
    assert sans_denominateur == set(pa.RATIOS_ARRONDIS) == {"ratio_pass_utilises_emis"}


def _relations_publiees(appartenances: pl.DataFrame, indicateurs: pl.DataFrame) -> pl.DataFrame:
    """Each published EPCI or département total with its communes, read off the published rows
    alone: the sum S its hidden communes share, and how many (k) there are."""
    comptes = indicateurs.filter(
        (pl.col("indicateur") == "nb_diagnostics_autonomie") & pl.col("couverture")
    ).select("niveau", "code", "annee", "valeur", "secret")
    communes = comptes.filter(pl.col("niveau") == "commune").join(
        appartenances.filter(pl.col("niveau") == "commune").select("code_commune", code="code"),
        left_on="code",
        right_on="code",
    )
    sommes = []
    for parent in ("epci", "departement"):
        liens = appartenances.filter(pl.col("niveau") == parent).select(
            "code_commune", code_parent="code"
        )
        sommes.append(
            communes.join(liens, left_on="code", right_on="code_commune")
            .group_by("code_parent", "annee")
            .agg(
                pl.col("valeur").sum().alias("publiees"),
                pl.col("secret").sum().alias("k"),
            )
            .join(
                comptes.filter((pl.col("niveau") == parent) & ~pl.col("secret")),
                left_on=["code_parent", "annee"],
                right_on=["code", "annee"],
            )
            .select(
                "niveau",
                "code_parent",
                "annee",
                "k",
                (pl.col("valeur") - pl.col("publiees")).alias("s"),
            )
        )
    return pl.concat(sommes).filter(pl.col("k") > 0)


@pytest.mark.parametrize(
    "rouillacais",
    [
        "16286;2024-03;6;2;3;1;",  # as exported: the EPCI's 9 shared by 3 and 6
        "16286;2024-03;2;1;1;0;",  # its 5 shared by 2 and 3: each 1 to 4 once zeros are read
    ],
)
def test_hidden_counts_known_to_be_at_least_1_still_span_5_values(
    codes, appartenances, rouillacais: str
) -> None:
    """Zeros are never hidden, so a reader knows every hidden commune count is at least 1: the
    k hidden communes of a published EPCI or département, sharing what its published communes
    leave (S), are each anywhere in [1, S - k + 1], which must span at least 5 values."""
    texte = (FIXTURES / FILES["exemple_diagnostics_autonomie"]).read_text()
    texte = texte.replace("16286;2024-03;6;2;3;1;", rouillacais)
    mapping = MAPPINGS["exemple_diagnostics_autonomie"]
    lu = read_partner(texte.encode(), "diagnostics_charente_2023_2024.csv", mapping)
    comptes, _ = pa.compte_activite([(mapping.type_fichier, lu.kept)], codes)
    cellules = ss.applique_secret(pa.agrege_comptes(comptes, appartenances), appartenances)
    indicateurs = pa.indicateurs_activite(cellules, BESOIN)
    relations = _relations_publiees(appartenances, indicateurs)
    assert relations.filter(pl.col("annee") == 2024).height >= 1
    assert relations.filter(pl.col("s") - pl.col("k") < pa.SEUIL_SECRET).is_empty()
    assert sp.audit_publication(cellules.drop("secret"), appartenances, indicateurs).is_empty()


def test_the_same_counts_in_any_row_order_give_the_same_suppression(
    comptes, appartenances, cellules
) -> None:
    """Ties between equally cheap complements are broken by cell id: ids must not follow the
    row order a group_by happened to give, else two runs on the same files publish two
    suppression patterns, and a reader holding both sees through each."""
    agreges = pa.agrege_comptes(comptes[0], appartenances)
    for graine in (1, 2, 3):
        melangees = agreges.sample(fraction=1.0, shuffle=True, seed=graine)
        assert_frame_equal(
            ss.applique_secret(melangees, appartenances).sort(*pa.CLE_CELLULE),
            cellules.sort(*pa.CLE_CELLULE),
        )


def _fichier_tardif_lignes(lignes: list[tuple[str, int]]) -> pl.DataFrame:
    """A later export of the diagnostics partner: (commune, people) diagnosed in June 2024."""
    texte = "code_commune;periode;nb_personnes_diagnostiquees;nb_autonomes;nb_besoin_aide;"
    texte += "nb_jamais_en_ligne;commentaire\n"
    for commune, nb in lignes:
        categories = (nb // 3, nb - 2 * (nb // 3), nb // 3)
        texte += f"{commune};2024-06;{nb};" + ";".join(map(str, categories)) + ";\n"
    mapping = MAPPINGS["exemple_diagnostics_autonomie"]
    lu = read_partner(texte.encode(), "diagnostics_charente_2024_06.csv", mapping)
    assert lu.quarantine.is_empty(), lu.quarantine
    return lu.kept


def _ecarts_de_groupes(avant: pl.DataFrame, apres: pl.DataFrame, appartenances) -> pl.DataFrame:
    """Read off two published tables alone: for each EPCI or département total published in
    both, its change minus the changes of its communes published in both is what its other
    communes (hidden in one release or the other) gained together."""
    cle = ["niveau", "code", "annee"]
    totaux = [
        t.filter((pl.col("indicateur") == "nb_diagnostics_autonomie") & pl.col("couverture"))
        for t in (avant, apres)
    ]
    deux = (
        totaux[0]
        .join(totaux[1], on=cle, suffix="_apres")
        .filter(pl.col("valeur").is_not_null() & pl.col("valeur_apres").is_not_null())
        .select(*cle, (pl.col("valeur_apres") - pl.col("valeur")).alias("delta"))
    )
    communes = deux.filter(pl.col("niveau") == "commune")
    ecarts = []
    for parent in ("epci", "departement"):
        liens = appartenances.filter(pl.col("niveau") == parent).select(
            "code_commune", code_parent="code"
        )
        publiees = (
            communes.join(liens, left_on="code", right_on="code_commune")
            .group_by("code_parent", "annee")
            .agg(pl.col("delta").sum().alias("delta_publiees"))
        )
        ecarts.append(
            deux.filter(pl.col("niveau") == parent)
            .join(
                publiees,
                left_on=["code", "annee"],
                right_on=["code_parent", "annee"],
                how="left",
            )
            .select(*cle, (pl.col("delta") - pl.col("delta_publiees").fill_null(0)).alias("groupe"))
        )
    return pl.concat(ecarts).filter(pl.col("groupe").abs().is_between(1, pa.SEUIL_SECRET - 1))


@pytest.mark.parametrize(
    "lignes",
    [
        [("16015", 10), ("16148", 2)],  # Angoulême +10 (published), Genac-Bignac +2 (hidden)
        [("16015", 9), ("16286", 3)],  # Rouillac +3 (hidden)
        [("16015", 7), ("16148", 1), ("16286", 2)],
    ],
)
def test_hidden_communes_gain_no_1_to_4_people_together_between_releases(
    staged, codes, appartenances, indicateurs, lignes
) -> None:
    """The département's total and Angoulême's both move by 5 or more, so both stay
    published; the communes hidden in both releases gained 2 or 3 people between them: the
    département's change minus Angoulême's would tell it, a count of 2 or 3 by subtraction
    across releases (read off the two published tables alone)."""
    historique = _historique(indicateurs)
    comptes, _ = pa.compte_activite(
        [*staged, ("diagnostics_autonomie", _fichier_tardif_lignes(lignes))], codes
    )
    agreges = pa.agrege_comptes(comptes, appartenances)
    sans = pa.indicateurs_activite(ss.applique_secret(agreges, appartenances), BESOIN)
    assert not _ecarts_de_groupes(indicateurs, sans, appartenances).is_empty()  # the attack
    # which the blocking check catches: the département, whose other communes moved together
    naive = sp.audit_publication(agreges, appartenances, sans, historique)
    assert ("departement", "16", 2024, pa.TOTAL_DIAGNOSTIC) in naive.select(
        "niveau", "code", "annee", "mesure"
    ).rows()
    suivante = pa.indicateurs_activite(
        ss.applique_secret(agreges, appartenances, historique), BESOIN
    )
    assert _ecarts_de_groupes(indicateurs, suivante, appartenances).is_empty()
    assert sp.audit_publication(agreges, appartenances, suivante, historique).is_empty()
