"""Deduplication of lieux: the matcher on hand-labelled real pairs (real_data), table-driven
cases of `find_duplicate_pairs` and `merge_duplicates`, and the real Charente file alone."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from observatory.settings import PROJECT_ROOT
from observatory.transforms import dedup
from observatory.transforms.dedup import (
    duplicate_groups,
    find_duplicate_pairs,
    merge_duplicates,
    pivot_valide,
)
from observatory.transforms.lieux import resolve_communes, stage_lieux
from tests.conftest import report

PAIRES = PROJECT_ROOT / "tests/fixtures/paires_lieux_etiquetees.csv"
CHAMPS = [
    "jeu_de_donnees",
    "id",
    "pivot",
    "nom",
    "adresse",
    "code_postal",
    "commune",
    "code_commune",
    "latitude",
    "longitude",
]
CLE = ["jeu_de_donnees", "id"]
# The files the labelled records come from (by source key), and what they call the fields.
BUNDLED = {
    "mednum__lieux": "mednum_lieux/charente_16_partially_migrated_v1_commit20250206.csv",
    "conseillers_numeriques__lieux": "conseillers_numeriques/lieux_cnfs_20221202_national.parquet",
    "france_services__lieux": "france_services/liste_france_services_20221201.csv",
    "mednum__bus_france_services_16": (
        "mednum_lieux/bus_france_services_charente_16_standard_v0_20231003.csv"
    ),
}
COLONNES_FRANCE_SERVICES = {"id_fs": "id", "lib_fs": "nom", "lib_com": "commune"}
CHAMPS_BRUTS = [c for c in CHAMPS if c not in ("jeu_de_donnees", "code_commune")]


def siret_valide(pivot: str | None) -> bool:
    """Independent of the module: 14 digits, not all zeros, Luhn (La Poste: digit sum % 5)."""
    if pivot is None or len(pivot) != 14 or not pivot.isdigit() or set(pivot) == {"0"}:
        return False
    if pivot.startswith("356000000"):
        return sum(map(int, pivot)) % 5 == 0
    total = 0
    for position, chiffre in enumerate(reversed(pivot)):
        d = int(chiffre) * (2 if position % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


# ---------------------------------------------------------------- labelled real pairs


@pytest.fixture(scope="module")
def paires() -> pl.DataFrame:
    return pl.read_csv(PAIRES, infer_schema=False).with_columns(
        pl.col("paire").cast(pl.Int64), pl.col("meme_lieu") == "true"
    )


@pytest.fixture(scope="module")
def lieux_etiquetes(paires: pl.DataFrame) -> pl.DataFrame:
    """Every record of the labelled pairs, once, typed as staging types them."""
    cotes = pl.concat(
        [paires.select(pl.col(f"{c}_{cote}").alias(c) for c in CHAMPS) for cote in "ab"]
    ).unique()
    assert cotes.select(pl.struct(CLE).is_duplicated().any()).item() is False, (
        "a record appears with different fields in two pairs"
    )
    return cotes.with_columns(pl.col("latitude", "longitude").cast(pl.Float64)).sort(CLE)


def _paire(cote_1: str, cote_2: str) -> pl.Expr:
    """Order-free key of a pair of records."""
    a = pl.format("{}:{}", f"jeu_de_donnees_{cote_1}", f"id_{cote_1}")
    b = pl.format("{}:{}", f"jeu_de_donnees_{cote_2}", f"id_{cote_2}")
    return pl.concat_list(pl.min_horizontal(a, b), pl.max_horizontal(a, b)).alias("_paire")


@pytest.fixture(scope="module")
def evaluation(paires: pl.DataFrame, lieux_etiquetes: pl.DataFrame) -> pl.DataFrame:
    """Each labelled pair with the matcher's verdict (a pair in two communes is not compared)."""
    scores = find_duplicate_pairs(lieux_etiquetes, toutes_les_paires=True).select(
        _paire("a", "b"), "similarite_nom", "similarite_adresse", "distance_km", "doublon"
    )
    return (
        paires.with_columns(_paire("a", "b"))
        .join(scores, on="_paire", how="left")
        .with_columns(pl.col("doublon").fill_null(False))
    )


@pytest.mark.real_data
def test_labelled_pairs_are_real_and_as_documented(paires: pl.DataFrame) -> None:
    assert paires.height >= 30
    assert paires["paire"].to_list() == list(range(1, paires.height + 1))
    assert set(paires["meme_lieu"]) == {True, False}
    assert set(paires["categorie"]) == {
        "doublon_net",
        "doublon_difficile",
        "non_doublon_difficile",
    }
    assert (
        paires.filter(pl.col("meme_lieu"))["categorie"]
        .is_in(["doublon_net", "doublon_difficile"])
        .all()
    )
    assert paires["justification"].str.len_chars().min() > 20
    for cote in "ab":
        assert paires[f"code_commune_{cote}"].str.contains(r"^16\d{3}$").all()
    # Every record is a row of a bundled real file, field for field.
    for jeu, fichier in BUNDLED.items():
        chemin = PROJECT_ROOT / "assets" / fichier
        brut = (
            pl.read_parquet(chemin)
            if chemin.suffix == ".parquet"
            else pl.read_csv(chemin, infer_schema=False)
        )
        brut = brut.rename(COLONNES_FRANCE_SERVICES, strict=False).select(
            pl.col(c).cast(pl.String).str.strip_chars() for c in CHAMPS_BRUTS if c in brut.columns
        )
        for cote in "ab":
            rows = paires.filter(pl.col(f"jeu_de_donnees_{cote}") == jeu).select(
                pl.col(f"{c}_{cote}").alias(c) for c in brut.columns
            )
            absents = rows.join(brut, on=brut.columns, how="anti", nulls_equal=True)
            assert absents.height == 0, (jeu, absents.rows())


@pytest.mark.real_data
def test_no_false_merge_on_labelled_pairs(evaluation: pl.DataFrame) -> None:
    vrais = evaluation.filter(pl.col("meme_lieu") & pl.col("doublon")).height
    faux = evaluation.filter(~pl.col("meme_lieu") & pl.col("doublon"))
    manques = evaluation.filter(pl.col("meme_lieu") & ~pl.col("doublon"))
    precision = vrais / (vrais + faux.height) if vrais + faux.height else float("nan")
    rappel = vrais / (vrais + manques.height)
    report(
        f"\npaires étiquetées : {evaluation.height} "
        f"({evaluation['meme_lieu'].sum()} même lieu, {(~evaluation['meme_lieu']).sum()} non)"
        f"\nprécision {precision:.1%} ({vrais}/{vrais + faux.height}), "
        f"rappel {rappel:.1%} ({vrais}/{vrais + manques.height})"
    )
    with pl.Config(tbl_rows=-1, fmt_str_lengths=45, tbl_width_chars=200):
        report("doublons manqués :")
        report(
            manques.select(
                "paire",
                "nom_a",
                "nom_b",
                pl.col("similarite_nom").alias("nom"),
                pl.col("similarite_adresse").alias("adresse"),
                pl.col("distance_km").alias("km"),
            )
        )
    assert faux.height == 0, faux.select("paire", "nom_a", "nom_b", "justification").rows()
    # A floor against a matcher that would stop finding anything (33/40 when written).
    assert rappel >= 0.75


@pytest.mark.real_data
def test_no_false_merge_after_transitive_grouping(
    paires: pl.DataFrame, lieux_etiquetes: pl.DataFrame
) -> None:
    """A~B and B~C put A and C in one place: no labelled-different pair may end up together."""
    groupes = duplicate_groups(lieux_etiquetes, find_duplicate_pairs(lieux_etiquetes))
    lieu = {(j, i): g for j, i, _, g in groupes.iter_rows()}
    ensemble = [
        lieu[(r["jeu_de_donnees_a"], r["id_a"])] == lieu[(r["jeu_de_donnees_b"], r["id_b"])]
        for r in paires.iter_rows(named=True)
    ]
    fusionnees = paires.with_columns(pl.Series("ensemble", ensemble))
    assert fusionnees.filter(~pl.col("meme_lieu") & pl.col("ensemble")).height == 0
    assert fusionnees.filter(pl.col("meme_lieu") & pl.col("ensemble")).height >= 30


# ---------------------------------------------------------------- table-driven pair rules

# Two real records of the Charente file (the fields the matcher reads); the cases vary them.
CIJ = {
    "pivot": "32932349700050",
    "nom": "CIJ",
    "adresse": "4 rue de la Place du Champ de Mars",
    "commune": "ANGOULEME",
    "code_commune": "16015",
    "latitude": 45.648361,
    "longitude": 0.162599,
}
FLEP = {
    "pivot": "78125600300034",
    "nom": "FOYER LAIQUE EDUCATION PERMANENTE",
    "adresse": "7 Boulevard Leon Blum",
    "commune": "SOYAUX",
    "code_commune": "16374",
    "latitude": 45.648516,
    "longitude": 0.183281,
}
ZERO = "00000000000000"

# (case, changes to side a, changes to side b, expected doublon, expected regle)
CAS_PAIRES = [
    (
        "same valid SIRET and address, other name: one place",
        CIJ,
        {
            **CIJ,
            "nom": "Centre Information Jeunesse d'Angoulême",
            "adresse": "4 PL DU CHAMP DE MARS",
        },
        True,
        "pivot",
    ),
    (
        "dummy pivot never matches on pivot",
        {**CIJ, "pivot": ZERO},
        {**CIJ, "pivot": ZERO, "nom": "Centre Information Jeunesse d'Angoulême"},
        False,
        None,
    ),
    (
        "same valid SIRET, two sites 1.3 km apart (CTAS Bordeaux)",
        {
            **CIJ,
            "pivot": "13001840100013",
            "nom": "CTAS Bordeaux - AASG ANGOULEME",
            "adresse": "Caserne Adj Levasseur - 2 boulevard de l'artillerie",
            "latitude": 45.65831,
            "longitude": 0.173646,
        },
        {
            **CIJ,
            "pivot": "13001840100013",
            "nom": "CTAS Bordeaux - AAS ANGOULEME VILLE",
            "adresse": "167 rue de Périgueux",
            "latitude": 45.647648,
            "longitude": 0.167695,
        },
        False,
        None,
    ),
    (
        "two different valid SIRETs are two establishments, even with one name and address",
        {**FLEP, "pivot": "20007051400019"},
        {**FLEP, "pivot": "20007051400324"},
        False,
        None,
    ),
    (
        "a SIRET failing Luhn is a typo, not another establishment",
        {**FLEP, "pivot": "20006891400015"},
        {**FLEP, "pivot": "20006801400015"},
        True,
        "nom",
    ),
    (
        "same name, same street with another number, 28 m apart",
        {**FLEP, "pivot": ZERO},
        {
            **FLEP,
            "pivot": ZERO,
            "adresse": "9 boulevard Léon Blum 16800 SOYAUX",
            "latitude": 45.648433,
            "longitude": 0.183623,
        },
        True,
        "nom",
    ),
    (
        "same name, other addresses whose points are 32 m apart",
        {**FLEP, "pivot": ZERO},
        {**FLEP, "pivot": ZERO, "adresse": "2 place des Sablons", "latitude": 45.6488},
        False,
        None,
    ),
    (
        "same name, same street, other number, 267 m apart: two places",
        {
            **FLEP,
            "pivot": ZERO,
            "adresse": "39 RUE DU 8 MAI",
            "latitude": 45.890865,
            "longitude": 0.57951,
        },
        {
            **FLEP,
            "pivot": ZERO,
            "adresse": "48 bis rue du 8 mai",
            "latitude": 45.889252,
            "longitude": 0.576962,
        },
        False,
        None,
    ),
    (
        "same name, no address, points 165 m apart: not enough",
        {**FLEP, "pivot": ZERO, "adresse": None},
        {**FLEP, "pivot": ZERO, "adresse": None, "latitude": 45.65},
        False,
        None,
    ),
    (
        "same name, no address, points 30 m apart: one place",
        {**FLEP, "pivot": ZERO, "adresse": None},
        {**FLEP, "pivot": ZERO, "adresse": None, "latitude": 45.6488},
        True,
        "nom",
    ),
    (
        "same name and address, but one is a France services bus",
        {**FLEP, "pivot": ZERO, "nom": "France services Pimms Médiation Soyaux"},
        {**FLEP, "pivot": ZERO, "nom": "Bus France services Pimms Médiation Soyaux"},
        False,
        None,
    ),
    (
        "the same two names, both fixed: one place",
        {**FLEP, "pivot": ZERO, "nom": "France services Pimms Médiation Soyaux"},
        {**FLEP, "pivot": ZERO, "nom": "Pimms Médiation de Soyaux"},
        True,
        "nom",
    ),
    (
        "two mairies déléguées placed on one point: each name keeps its own commune",
        {
            **FLEP,
            "pivot": ZERO,
            "nom": "COMMUNE DE CHERVES RICHEMONT",
            "commune": "CHERVES-RICHEMONT",
            "code_commune": "16097",
            "adresse": None,
        },
        {
            **FLEP,
            "pivot": ZERO,
            "nom": "COMMUNE DE SAINT SULPICE DE COGNAC",
            "commune": "SAINT-SULPICE-DE-COGNAC",
            "code_commune": "16097",
            "adresse": None,
        },
        False,
        None,
    ),
    (
        "a programme named on its host structure is that structure",
        {**FLEP, "pivot": ZERO, "nom": "France services Effervescentre"},
        {**FLEP, "pivot": "41319555300032", "nom": "Effervescentre"},
        True,
        "nom",
    ),
    (
        "the commune's name alone does not make two names alike",
        {**FLEP, "pivot": ZERO, "nom": "Mairie Segonzac", "commune": "SEGONZAC"},
        {**FLEP, "pivot": ZERO, "nom": "Mairie de Saint-Fort-sur-le-Né", "commune": "Segonzac"},
        False,
        None,
    ),
    (
        "no pivot, no coordinates: names and addresses decide",
        {**FLEP, "pivot": None, "latitude": None, "longitude": None},
        {**FLEP, "pivot": None, "latitude": None, "longitude": None, "adresse": "7 BD LEON BLUM"},
        True,
        "nom",
    ),
]


def _lieux(*cotes: dict) -> pl.DataFrame:
    return pl.DataFrame(
        [{"jeu_de_donnees": "test", "id": f"l{n}", **cote} for n, cote in enumerate(cotes, 1)],
        schema_overrides={"pivot": pl.String, "latitude": pl.Float64, "longitude": pl.Float64},
    )


@pytest.mark.parametrize(
    ("cas", "a", "b", "doublon", "regle"), CAS_PAIRES, ids=[c[0] for c in CAS_PAIRES]
)
def test_pair_rules(cas: str, a: dict, b: dict, doublon: bool, regle: str | None) -> None:
    paire = find_duplicate_pairs(_lieux(a, b), toutes_les_paires=True)
    assert paire.height == 1, cas
    assert paire.select("doublon", "regle").row(0) == (doublon, regle), paire.row(0, named=True)
    assert find_duplicate_pairs(_lieux(a, b)).height == int(doublon)


def test_blocking_by_commune() -> None:
    """Only places of one commune are compared; a place without commune is compared to none."""
    a = {**FLEP, "pivot": ZERO}
    for autre in ("16015", None):
        b = {**a, "code_commune": autre}
        assert find_duplicate_pairs(_lieux(a, b), toutes_les_paires=True).height == 0
    assert find_duplicate_pairs(_lieux(a, a), toutes_les_paires=True).height == 1


def lieux_d_une_ville(n: int, graine: int = 1) -> pl.DataFrame:
    """`n` places of one commune (Bordeaux), points spread over 3 × 4 km, 400 streets and 200
    house numbers: many near-identical names and addresses, some sharing a point."""
    rng = np.random.default_rng(graine)
    return pl.DataFrame(
        {
            "jeu_de_donnees": ["partenaire__gironde"] * n,
            "id": [f"g{i}" for i in range(n)],
            "pivot": [None] * n,
            "nom": [f"Espace numérique {i}" if i % 50 else "Espace numérique 1" for i in range(n)],
            "adresse": [f"{1 + (i * 7) % 200} rue n{i % 400} - 33000 Bordeaux" for i in range(n)],
            "commune": ["Bordeaux"] * n,
            "code_commune": ["33063"] * n,
            "latitude": (44.83 + rng.random(n) * 0.03).round(4).astype(str),
            "longitude": (-0.60 + rng.random(n) * 0.05).round(4).astype(str),
        }
    )


def test_a_crowded_commune_is_compared_by_blocks_with_the_same_pairs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Above `LIEUX_COMPARES_DEUX_A_DEUX` places in a commune, only pairs that can be
    duplicates are compared (near points, one house number, one address): the same pairs as
    comparing them all, the duplicates included."""
    lieux = lieux_d_une_ville(600)
    tous = find_duplicate_pairs(lieux, toutes_les_paires=True)
    assert tous.height == 600 * 599 // 2
    monkeypatch.setattr(dedup, "LIEUX_COMPARES_DEUX_A_DEUX", 100)
    par_blocs = find_duplicate_pairs(lieux, toutes_les_paires=True)
    assert par_blocs.height < tous.height / 4
    doublons = tous.filter("doublon")
    assert doublons.height > 50
    assert_frame_equal(par_blocs.filter("doublon"), doublons)


def test_thousands_of_places_in_one_commune_make_thousands_of_candidate_pairs() -> None:
    """5,000 places in one town (a hostile file) made 12.5 million pairs of two rows each and
    exhausted the run's memory; compared by blocks, under one pair in 50 of those."""
    prepares = dedup._prepare(lieux_d_une_ville(5000))
    candidates = dedup.paires_candidates(prepares, dedup.DISTANCE_DOUBLON_KM)
    assert 0 < candidates.height < 5000 * 4999 // 2 // 50
    assert candidates.filter(pl.col("_i_a") >= pl.col("_i_b")).is_empty()


PIVOTS = [
    ("20006891400015", True),
    ("20006801400015", False),  # typo of the one above, fails Luhn
    ("35600000068395", True),  # La Poste: digit sum multiple of 5, not Luhn
    ("35600000068396", False),
    ("00000000000000", False),
    ("2416005430012", False),
    ("W163001234", False),
    (None, False),
]


def test_pivot_valide_table() -> None:
    pivots = pl.Series("pivot", [p for p, _ in PIVOTS], dtype=pl.String)
    got = pl.select(pivot_valide(pl.lit(pivots))).to_series().to_list()
    assert got == [v for _, v in PIVOTS]
    assert [siret_valide(p) for p, _ in PIVOTS] == got


# ---------------------------------------------------------------- table-driven merges

COLONNES = {
    "jeu_de_donnees": pl.String,
    "id": pl.String,
    "pivot": pl.String,
    "nom": pl.String,
    "horaires": pl.String,
    "site_web": pl.String,
    "services": pl.String,
    "dispositif_programmes_nationaux": pl.String,
}
SORTIE = {**COLONNES, "sources": pl.String, "nb_sources": pl.Int64}
# Real records (Effervescentre in Aidants Connect and in the France services list), trimmed.
EFF_AC = (
    "aidants_connect",
    "ac-1891",
    "41319555300032",
    "Effervescentre",
    None,
    None,
    "Aide aux démarches administratives|Maîtrise des outils numériques du quotidien",
    "Aidants Connect",
)
EFF_FS = (
    "france_services",
    "fs-2159",
    ZERO,
    "France services Effervescentre",
    "Mo-Fr 09:00-12:00",
    "http://www.effervescentre.fr/",
    "Aide aux démarches administratives|Insertion professionnelle",
    "France Services",
)
APEJ = [
    ("cnfs", "b", ZERO, "APEJ", None, None, "Accès internet et matériel informatique", None),
    ("mednum", "c", "33820960400028", "APEJ COGNAC", None, None, None, "Aidants Connect"),
    ("dora", "a", "33820960400028", "APEJ", None, None, None, None),
]
# APEJ merged: the SIRET and name of the most complete record, the union of the others
APEJ_FUSION = (
    "33820960400028",
    "APEJ COGNAC",
    None,
    None,
    "Accès internet et matériel informatique",
    "Aidants Connect",
)
JARNAC = [
    ("j", "a", "20007051400019", "CA DU GRAND COGNAC", None, None, None, None),
    ("j", "b", ZERO, "Communauté d'Agglomération - Site de Jarnac", None, None, None, None),
    ("j", "c", "20007051400324", "CA DU GRAND COGNAC", None, None, None, None),
]


def _frame(rows: list[tuple], schema: dict) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=schema, orient="row")


def _paires(*liens: tuple[str, str, str, str]) -> pl.DataFrame:
    return pl.DataFrame(
        liens,
        schema=["jeu_de_donnees_a", "id_a", "jeu_de_donnees_b", "id_b"],
        orient="row",
    )


# (case, rows in, pairs, rows out)
CAS_FUSION = [
    (
        "no pair: one place per record",
        [EFF_AC, EFF_FS],
        [],
        [
            (*EFF_AC, "aidants_connect:ac-1891", 1),
            (*EFF_FS, "france_services:fs-2159", 1),
        ],
    ),
    (
        "union of services and programmes; scalars from the most complete; valid SIRET kept",
        [EFF_AC, EFF_FS],
        [("aidants_connect", "ac-1891", "france_services", "fs-2159")],
        [
            (
                "aidants_connect",  # the smallest id of the group
                "ac-1891",
                "41319555300032",  # the SIRET, although the most complete record has none
                "France services Effervescentre",
                "Mo-Fr 09:00-12:00",
                "http://www.effervescentre.fr/",
                "Aide aux démarches administratives|Insertion professionnelle"
                "|Maîtrise des outils numériques du quotidien",
                "Aidants Connect|France Services",
                "aidants_connect:ac-1891|france_services:fs-2159",
                2,
            )
        ],
    ),
    (
        "transitive: A~B and B~C make one place",
        APEJ,
        [("cnfs", "b", "mednum", "c"), ("dora", "a", "mednum", "c")],
        [("dora", "a", *APEJ_FUSION, "cnfs:b|dora:a|mednum:c", 3)],
    ),
    (
        "a chain through a record without SIRET never joins two SIRETs",
        JARNAC,
        [("j", "a", "j", "b"), ("j", "b", "j", "c")],
        [
            (*JARNAC[0], "j:a|j:b", 2),
            (*JARNAC[2], "j:c", 1),
        ],
    ),
    (
        "pairs given twice or in both directions change nothing",
        APEJ,
        [("mednum", "c", "cnfs", "b"), ("cnfs", "b", "mednum", "c"), ("cnfs", "b", "mednum", "c")],
        [
            ("cnfs", "b", *APEJ_FUSION, "cnfs:b|mednum:c", 2),
            (*APEJ[2], "dora:a", 1),
        ],
    ),
]


@pytest.mark.parametrize(
    ("cas", "lignes", "liens", "attendu"), CAS_FUSION, ids=[c[0] for c in CAS_FUSION]
)
def test_merge_duplicates_table(cas: str, lignes: list, liens: list, attendu: list) -> None:
    fusion = merge_duplicates(_frame(lignes, COLONNES), _paires(*liens))
    assert_frame_equal(fusion, _frame(attendu, SORTIE))


def test_merge_ignores_pairs_that_are_not_duplicates() -> None:
    lieux = _frame([EFF_AC, EFF_FS], COLONNES)
    paires = _paires(("aidants_connect", "ac-1891", "france_services", "fs-2159")).with_columns(
        pl.lit(False).alias("doublon")
    )
    assert merge_duplicates(lieux, paires)["nb_sources"].to_list() == [1, 1]


def test_merge_refuses_bad_input() -> None:
    lieux = _frame([EFF_AC, EFF_FS], COLONNES)
    with pytest.raises(ValueError, match="absents"):
        merge_duplicates(lieux, _paires(("aidants_connect", "ac-1891", "x", "y")))
    with pytest.raises(ValueError, match="unique"):
        merge_duplicates(pl.concat([lieux, lieux]), _paires())


# ---------------------------------------------------------------- the real Charente file alone

# Groups found in the real file (by `ligne`), each checked by hand: same SIRET and address,
# or same name and address, or a France services and its host structure.
GROUPES_CHARENTE = {
    (2, 184),  # COMMUNAUTE DE COMMUNES DE JARNAC, twice
    (7, 8),  # DEPARTEMENT DE LA CHARENTE, twice (dora)
    (13, 35),  # Pôle commerce de la mairie de Cognac, two CnFS records
    (24, 101),  # France services Omega Soyaux / OMEGA - SOYAUX
    (26, 57),  # France services de Barbezieux, one SIRET, one address
    (27, 92),  # France services Effervescentre / Effervescentre
    (32, 33),  # UDAF, impasse / rue Joseph Niepce
    (42, 61, 110),  # FOYER LAIQUE EDUCATION PERMANENTE ×2, CSCS FLEP
    (60, 123),  # Siège CC La Rochefoucauld Porte du Périgord (one SIRET mistyped)
    (74, 99),  # Mairie de Soyaux
    (90, 106),  # MJC Mosaïque, one with a wrong point
    (94, 144, 179),  # APEJ ×2, APEJ COGNAC
    (130, 185),  # Les Rives de la Charente
    (142, 146),  # LES QUATRE ROUTES
}


@pytest.fixture(scope="module")
def charente(charente_raw, standard, communes, communes_deleguees, coordonnees) -> pl.DataFrame:
    kept, _ = stage_lieux(charente_raw, standard)
    lieux, _ = resolve_communes(kept, communes, communes_deleguees, coordonnees)
    return lieux


@pytest.mark.real_data
def test_charente_file_alone(charente: pl.DataFrame) -> None:
    assert charente.height == 185  # 188 rows, 3 without a commune
    paires = find_duplicate_pairs(charente)
    groupes = duplicate_groups(charente, paires).join(
        charente.select(*CLE, "ligne", "pivot", "nom"), on=CLE
    )
    par_lieu = (
        groupes.group_by("jeu_de_donnees_lieu", "id_lieu")
        .agg(pl.col("ligne").sort(), "pivot", "nom")
        .filter(pl.col("ligne").list.len() > 1)
        .sort(pl.col("ligne").list.first())
    )
    fusion = merge_duplicates(charente, paires)
    report(
        f"\nCharente seule : {charente.height} lieux, {paires.height} paires de doublons, "
        f"{par_lieu.height} groupes de doublons, {fusion.height} lieux après fusion"
    )
    for lignes, noms in par_lieu.select("ligne", "nom").iter_rows():
        report(f"  lignes {lignes}: {' / '.join(noms)}")
    # No group holds two different valid SIRETs (checked independently of the module).
    for lignes, pivots in par_lieu.select("ligne", "pivot").iter_rows():
        assert len({p for p in pivots if siret_valide(p)}) <= 1, lignes
    assert {tuple(lignes) for lignes in par_lieu["ligne"]} == GROUPES_CHARENTE
    # One row per group, every record in exactly one row.
    assert fusion.height == charente.height - sum(len(g) - 1 for g in GROUPES_CHARENTE)
    assert fusion["nb_sources"].sum() == charente.height
    assert fusion.select(pl.struct(CLE).is_unique().all()).item()
    apej = fusion.filter(pl.col("nb_sources") == 3, pl.col("nom").str.starts_with("APEJ"))
    assert apej["dispositif_programmes_nationaux"].item() == (
        "Aidants Connect|Conseillers numériques"
    )
