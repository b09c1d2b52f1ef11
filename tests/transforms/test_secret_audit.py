"""Provable secrecy: the linear-programming audit and the suppression it certifies.

Small linked tables (two départements, EPCI across them, diagnostic categories) built by hand
for the counterexample of issue 16, then random ones (hypothesis) for the properties.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from observatory.transforms import partner_activity as pa
from observatory.transforms import secret_audit
from observatory.transforms import secret_publication as sp
from observatory.transforms import secret_suppression as ss
from observatory.transforms.couverture import COUVERTURE_MODELE
from observatory.transforms.territories import COLONNES_NIVEAUX_COG

ANNEE = 2024
DIAG = "diagnostics_autonomie"
# no need rows: the need model's columns (an indicator and its coverage weights)
BESOIN_VIDE = pl.DataFrame(
    schema={"niveau": pl.String, "code": pl.String, "indicateur": pl.String, "valeur": pl.Float64}
    | COUVERTURE_MODELE
)

# (commune, département, EPCI, (autonomes, besoin d'aide, jamais en ligne)): one small commune
# (3 people) and two large ones in 16; the EPCI E1 reaches into 17
CONTRE_EXEMPLE = [
    ("c1", "16", "E1", (1, 1, 1)),
    ("c2", "16", "E1", (20, 20, 10)),
    ("c3", "16", "E2", (25, 25, 10)),
    ("c4", "17", "E1", (10, 20, 10)),
    ("c5", "17", "E2", (10, 10, 10)),
]


def appartenances(communes) -> pl.DataFrame:
    """Memberships: commune → EPCI, commune → département → région R → France."""
    rows = []
    for commune, dep, epci, *_ in communes:
        rows += [
            (commune, "commune", commune),
            (commune, "epci", epci),
            (commune, "departement", dep),
            (commune, "region", "R"),
            (commune, "france", "FR"),
        ]
    return pl.DataFrame(rows, schema=["code_commune", "niveau", "code"], orient="row")


def comptes(communes, sans_categorie: dict[str, int] | None = None) -> pl.DataFrame:
    """Commune rows of a diagnostics file (the total: the categories, plus people without one)
    aggregated to every level as the pipeline does; a commune with `None` counts has no row."""
    sans_categorie = sans_categorie or {}
    rows = []
    for commune, _, _, categories in communes:
        if categories is None:
            continue
        total = sum(categories) + sans_categorie.get(commune, 0)
        for mesure, nb in zip(
            (*pa.CATEGORIES_DIAGNOSTIC, pa.TOTAL_DIAGNOSTIC), (*categories, total), strict=True
        ):
            rows.append(("commune", commune, ANNEE, mesure, nb, "diagnostics_autonomie", "test"))
    brut = pl.DataFrame(rows, schema=pa.COMPTES_SCHEMA, orient="row")
    return pa.agrege_comptes(brut, appartenances(communes))


def marque(agreges: pl.DataFrame, secrets: list[tuple[str, str, str]]) -> pl.DataFrame:
    """Cells flagged secret by hand: (niveau, code, mesure)."""
    cle = pl.concat_str("niveau", "code", "mesure", separator="/")
    return agreges.with_columns(
        cle.is_in(["/".join(s) for s in secrets]).alias("secret") & pl.col("couverture")
    )


def c1(mesure: str) -> tuple[str, str, str]:
    return ("commune", "c1", mesure)


# What the old single-pool suppression flagged on this table (its output, copied): c1's four
# cells are primary; the département's total had one suppressed part and drew its complement
# from the pool where communes and categories were mixed: a category cell (its 21 never online)
# was hidden, the cascade then hid categories everywhere, and never a second commune total:
# c1's 3 is the département's total minus c2 and c3.
AUT, AIDE, JAMAIS = pa.CATEGORIES_DIAGNOSTIC
ANCIENNE = [
    ("commune", "c1", pa.TOTAL_DIAGNOSTIC),
    *(("commune", c, m) for c in ("c1", "c2", "c3", "c5") for m in (AUT, AIDE, JAMAIS)),
    ("commune", "c4", AUT),
    ("commune", "c4", AIDE),
    *(("departement", d, m) for d in ("16", "17") for m in (AUT, JAMAIS)),
    ("epci", "E1", JAMAIS),
]


@pytest.mark.parametrize(
    ("secrets", "attendu"),
    [
        # old pool: c1's total is known exactly, its categories within [0, 3]
        (
            ANCIENNE,
            {
                ("c1", "nb_diagnostics"): (3.0, 3.0),
                ("c1", "nb_autonomes"): (0.0, 3.0),
                ("c1", "nb_besoin_aide"): (0.0, 3.0),
                ("c1", "nb_jamais_en_ligne"): (0.0, 3.0),
            },
        ),
        # hand-made complements in both hierarchies, c2 with c1 in 16 and c4 in E1: c1 is
        # safe, but c4 is 17's total minus c5, a suppressed cell known exactly
        (
            [
                *(("commune", c, m) for c in ("c1", "c2") for m in pa.MESURES[DIAG]),
                ("commune", "c4", pa.TOTAL_DIAGNOSTIC),
            ],
            {("c4", "nb_diagnostics"): (40.0, 40.0)},
        ),
        # every commune total hidden (c1's and c2's categories too): only sums remain
        (
            [
                *(("commune", c, m) for c in ("c1", "c2") for m in pa.MESURES[DIAG]),
                *(("commune", c, pa.TOTAL_DIAGNOSTIC) for c in ("c3", "c4", "c5")),
            ],
            {},
        ),
    ],
)
def test_the_audit_finds_what_the_old_suppression_let_through(secrets, attendu) -> None:
    agreges = comptes(CONTRE_EXEMPLE)
    publies = pa.indicateurs_activite(marque(agreges, secrets), BESOIN_VIDE)
    # nothing wrong row by row: the leak is only visible across relations
    assert sp.violations_secret(publies).is_empty()
    etroites = sp.audit_publication(agreges, appartenances(CONTRE_EXEMPLE), publies)
    got = {
        (r["code"], r["mesure"]): (round(r["borne_min"], 6), round(r["borne_max"], 6))
        for r in etroites.iter_rows(named=True)
    }
    assert got == attendu


def test_the_new_suppression_protects_the_small_commune() -> None:
    agreges = comptes(CONTRE_EXEMPLE)
    app = appartenances(CONTRE_EXEMPLE)
    cellules = ss.applique_secret(agreges, app)
    publies = pa.indicateurs_activite(cellules, BESOIN_VIDE)
    assert sp.audit_publication(agreges, app, publies).is_empty()
    # every suppressed cell, with what the suppression assumes known (all unsuppressed cells)
    bornes = _bornes_suppression(cellules, app, exactes=True)
    assert bornes["protege"].all()
    total_c1 = bornes.join(
        cellules.with_row_index("id")
        .filter((pl.col("code") == "c1") & (pl.col("mesure") == "nb_diagnostics"))
        .select(pl.col("id").cast(pl.Int64)),
        on="id",
    )
    # its three categories, hidden, are at least 1 each (zeros are never hidden): 3 at least,
    # and it may still be 5 more than that
    assert total_c1["borne_min"].item() == 3.0
    assert total_c1["borne_max"].item() >= 3.0 + pa.SEUIL_SECRET


def _bornes_suppression(
    cellules: pl.DataFrame, app: pl.DataFrame, exactes: bool = False
) -> pl.DataFrame:
    cellules = cellules.with_row_index("id")
    return secret_audit.intervalles_secret(
        cellules.select(
            "id",
            "nb",
            (pl.col("couverture") & ~pl.col("secret")).alias("connu"),
            (pl.col("couverture") & pl.col("secret")).alias("a_proteger"),
            # zeros are never hidden: a hidden count is at least 1
            (pl.col("couverture") & pl.col("secret")).cast(pl.Float64).alias("minimum"),
        ),
        ss.relations_lineaires(cellules, app),
        pa.SEUIL_SECRET,
        exactes,
    )


@pytest.mark.parametrize(
    ("borne_min", "borne_max", "protege"),
    [
        (0.0, 5.0, True),  # 0..5: six values, one of them at the threshold
        (0.0, 4.999, False),  # counts are integers: 0..4
        (0.4, 5.0, False),  # 1..5
        (2.0, math.inf, True),
        (3.0, 3.0, False),
        (0.0, 4.9999999, True),  # solver noise is not a bound
    ],
)
def test_protection_rule(borne_min, borne_max, protege) -> None:
    assert secret_audit.est_protege(borne_min, borne_max, 5) is protege


def test_a_ratio_to_a_published_denominator_publishes_its_numerator() -> None:
    """3 accompaniments per 1 000 people in need, with the need published: 3 is known."""
    agreges = pa.agrege_comptes(
        pl.DataFrame(
            [("departement", "16", ANNEE, "nb_accompagnements", 3, "accompagnements", "t")],
            schema=pa.COMPTES_SCHEMA,
            orient="row",
        ),
        appartenances(CONTRE_EXEMPLE),
    )
    publies = pl.DataFrame(
        {
            "niveau": ["departement"],
            "code": ["16"],
            "annee": [ANNEE],
            "indicateur": ["accompagnements_pour_1000_illectronisme"],
            "valeur": [3 / 1000 * 1000],
            "secret": [False],
        },
        schema_overrides={"annee": pl.Int32},
    )
    etroites = sp.audit_publication(agreges, appartenances(CONTRE_EXEMPLE), publies)
    assert etroites.select("code", "mesure", "borne_min", "borne_max").rows() == [
        ("16", "nb_accompagnements", 3.0, 3.0)
    ]
    assert sp.audit_publication(
        agreges, appartenances(CONTRE_EXEMPLE), publies.with_columns(valeur=None, secret=True)
    ).is_empty()


@st.composite
def tables_liees(draw):
    """2–3 départements of 2–6 communes, EPCI drawn across them, counts often below 5; some
    people without a category; sometimes a département the partner does not cover."""
    nb_deps = draw(st.integers(2, 3))
    nb_epci = draw(st.integers(1, 4))
    petit = st.integers(0, 4)
    compte = st.one_of(petit, petit, st.integers(0, 40))
    non_couvert = draw(st.sampled_from([None, *range(nb_deps)]))
    communes, sans_categorie = [], {}
    for d in range(nb_deps):
        for i in range(draw(st.integers(2, 6))):
            code = f"{d}{i:02d}"
            epci = f"E{draw(st.integers(0, nb_epci - 1))}"
            categories = (draw(compte), draw(compte), draw(compte))
            communes.append((code, f"D{d}", epci, None if d == non_couvert else categories))
            if draw(st.integers(0, 5)) == 0:
                sans_categorie[code] = draw(st.integers(1, 3))
    return communes, sans_categorie


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables_liees())
def test_random_linked_tables_are_protected(table) -> None:
    communes, sans_categorie = table
    agreges = comptes(communes, sans_categorie)
    app = appartenances(communes)
    cellules = ss.applique_secret(agreges, app)
    # the counts themselves are never altered, only flagged
    cle = ["niveau", "code", "annee", "type_fichier", "mesure"]
    assert cellules.drop("secret").sort(cle).equals(agreges.sort(cle))
    publies_cellules = cellules.filter(pl.col("couverture") & ~pl.col("secret"))
    assert publies_cellules.filter(pl.col("nb").is_between(1, pa.SEUIL_SECRET - 1)).is_empty()
    # every suppressed cell spans the threshold given every unsuppressed one
    assert _bornes_suppression(cellules, app)["protege"].all()
    assert cellules.filter(pl.col("secret") & (pl.col("nb") == 0)).is_empty()
    # relation by relation, by hand: k hidden children of a published parent, each at least 1,
    # share what the published children leave (S): each within [1, S - k + 1]
    publiees = cellules.filter(pl.col("couverture") & ~pl.col("secret"))
    for parent, enfant in (("epci", "commune"), ("departement", "commune")):
        liens = (
            app.filter(pl.col("niveau") == enfant)
            .select("code_commune", code="code")
            .join(
                app.filter(pl.col("niveau") == parent).select("code_commune", code_parent="code"),
                on="code_commune",
            )
        )
        serres = (
            cellules.filter((pl.col("niveau") == enfant) & pl.col("couverture"))
            .join(liens, on="code")
            .group_by("code_parent", "annee", "type_fichier", "mesure")
            .agg(
                pl.col("nb").filter(~pl.col("secret")).sum().alias("publie"),
                pl.col("secret").sum().alias("k"),
            )
            .join(
                publiees.filter(pl.col("niveau") == parent),
                left_on=["code_parent", "annee", "type_fichier", "mesure"],
                right_on=["code", "annee", "type_fichier", "mesure"],
            )
            .filter((pl.col("k") > 0) & (pl.col("nb") - pl.col("publie") - pl.col("k") < 5))
        )
        assert serres.is_empty(), serres
    # and given what the indicators actually publish
    indicateurs = pa.indicateurs_activite(cellules, BESOIN_VIDE)
    assert sp.violations_secret(indicateurs).is_empty()
    assert sp.audit_publication(agreges, app, indicateurs).is_empty()
    # published counts are the true ones
    totaux = indicateurs.filter(
        (pl.col("indicateur") == "nb_diagnostics_autonomie") & pl.col("valeur").is_not_null()
    ).join(agreges.filter(pl.col("mesure") == pa.TOTAL_DIAGNOSTIC), on=["niveau", "code", "annee"])
    assert (totaux["valeur"] == totaux["nb"].cast(pl.Float64)).all()


# One EPCI inside one département, two communes: a's 1 autonomous person is primary. The
# cheapest way to let it rise by 5 is the rectangle of the two communes × two categories (every
# EPCI, département and total unchanged): b's autonomous, a's and b's never online; never a
# total (a total costs more to hide, `cout_masque`) nor a higher level.
RECTANGLE = [
    ("a", "16", "E1", (1, 0, 9)),
    ("b", "16", "E1", (8, 0, 7)),
]


@pytest.mark.parametrize(
    ("communes", "caches", "attendu"),
    [
        (
            RECTANGLE,
            [("commune", "a", AUT)],
            [("commune", "a", JAMAIS), ("commune", "b", AUT), ("commune", "b", JAMAIS)],
        ),
        # already hidden cells move for free: with a third commune's two categories hidden,
        # only a's other category has to be
        (
            [*RECTANGLE, ("c", "16", "E1", (12, 0, 30))],
            [("commune", "a", AUT), ("commune", "c", AUT), ("commune", "c", JAMAIS)],
            [("commune", "a", JAMAIS)],
        ),
    ],
)
def test_the_cheapest_perturbation_is_hidden(communes, caches, attendu) -> None:
    cellules = marque(comptes(communes), caches).with_row_index("id")
    cellules = cellules.with_columns(pl.col("id").cast(pl.Int64))
    etroite = cellules.filter(
        (pl.col("code") == caches[0][1]) & (pl.col("mesure") == caches[0][2])
    )["id"]
    ajouts, non_resolues = secret_audit.complements_protecteurs(
        cellules.select("id", "nb", "secret", cout=ss.cout_masque()),
        ss.relations_lineaires(cellules, appartenances(communes)),
        etroite,
        pa.SEUIL_SECRET,
    )
    assert non_resolues.is_empty()
    caches_apres = cellules.filter(pl.col("id").is_in(ajouts.implode()))
    assert sorted(caches_apres.select("niveau", "code", "mesure").rows()) == attendu
    # and the narrow cell is then protected: it can rise by 5
    secrets = cellules.with_columns(pl.col("secret") | pl.col("id").is_in(ajouts.implode()))
    bornes = secret_audit.intervalles_secret(
        secrets.select(
            "id",
            "nb",
            (pl.col("couverture") & ~pl.col("secret")).alias("connu"),
            pl.col("id").is_in(etroite.implode()).alias("a_proteger"),
        ),
        ss.relations_lineaires(cellules, appartenances(communes)),
        pa.SEUIL_SECRET,
        exactes=True,
    )
    assert bornes["protege"].all() and bornes["borne_max"].item() >= 1 + pa.SEUIL_SECRET


def departements_de_petites_communes(nb_deps: int, nb_communes: int, graine: int = 0):
    """`nb_deps` départements of `nb_communes` rural communes each, five EPCI per département
    (one reaching into the next): counts mostly below the threshold, as a national
    diagnostics file has them (more than a third of its commune cells are 1 to 4)."""
    rng = np.random.default_rng(graine)
    communes = []
    for d in range(nb_deps):
        for i in range(nb_communes):
            epci = f"E{d}-{i % 5}" if i % 7 else f"E{(d + 1) % nb_deps}-0"
            categories = tuple(int(v) for v in rng.choice([0, 1, 2, 3, 4, 6, 12, 30], size=3))
            communes.append((f"{d}{i:03d}", f"D{d}", epci, categories))
    return communes


def test_the_fast_audit_gives_the_exact_audit_s_verdicts() -> None:
    """Cells proven by programmes on all unproven cells at once (feasible points seen across
    the threshold) get the verdict the exact audit (two programmes per cell) gives them."""
    communes = departements_de_petites_communes(2, 60)
    app = appartenances(communes)
    cellules = ss.applique_secret(comptes(communes), app)
    exactes = _bornes_suppression(cellules, app, exactes=True)
    rapides = _bornes_suppression(cellules, app)
    assert exactes.height == rapides.height > 100
    verdicts = exactes.select("id", "protege").join(
        rapides.select("id", "protege"), on="id", suffix="_rapide"
    )
    assert (verdicts["protege"] == verdicts["protege_rapide"]).all()
    assert verdicts["protege"].all()


def diagnostics_reels(communes_reelles: pl.DataFrame, taux: float, graine: int = 0):
    """(counts at every level, memberships) of a diagnostics file on real communes: people
    diagnosed in proportion to the population (Poisson), split into the three categories."""
    rng = np.random.default_rng(graine)
    totaux = rng.poisson(communes_reelles["population"].fill_null(0).to_numpy() * taux)
    rows = []
    for code, total in zip(communes_reelles["code_commune"], totaux, strict=True):
        categories = rng.multinomial(total, [0.5, 0.35, 0.15])
        mesures = (*pa.CATEGORIES_DIAGNOSTIC, pa.TOTAL_DIAGNOSTIC)
        for mesure, nb in zip(mesures, (*categories, total), strict=True):
            rows.append(("commune", code, ANNEE, mesure, int(nb), DIAG, "test"))
    app = pl.concat(
        [
            *(
                communes_reelles.select(
                    "code_commune", pl.lit(niveau).alias("niveau"), pl.col(col).alias("code")
                )
                for niveau, col in COLONNES_NIVEAUX_COG.items()
            ),
            communes_reelles.select(
                "code_commune", pl.lit("france").alias("niveau"), pl.lit("FR").alias("code")
            ),
        ]
    )
    brut = pl.DataFrame(rows, schema=pa.COMPTES_SCHEMA, orient="row")
    return pa.agrege_comptes(brut, app), app


def test_a_departement_of_small_counts_is_audited_without_a_programme_per_cell(
    communes: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Côtes-d'Armor's real communes and EPCI, 0.4 % of their people diagnosed: about 700
    cells of 1 to 4. Suppressed, then audited as published: safe, and proven by programmes on
    all unproven cells at once, two programmes of its own for at most one cell in 20 (a
    programme per cell took 202 here, and hours on a national file)."""
    agreges, app = diagnostics_reels(
        communes.filter(pl.col("code_departement") == "22", pl.col("code_epci").is_not_null()),
        taux=0.004,
    )
    petites = agreges.filter(pl.col("nb").is_between(1, pa.SEUIL_SECRET - 1)).height
    assert petites > 500
    cellules = ss.applique_secret(agreges, app)
    indicateurs = pa.indicateurs_activite(cellules, BESOIN_VIDE)
    appels = []
    bornes = secret_audit._bornes
    monkeypatch.setattr(
        secret_audit, "_bornes", lambda *a, **k: appels.append(a[-1]) or bornes(*a, **k)
    )
    assert sp.audit_publication(agreges, app, indicateurs).is_empty()
    assert len(appels) <= petites / 20
