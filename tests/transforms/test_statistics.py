"""Staging of the public statistics sources: on the real bundled files (real_data), then on
small tables of the defects real files have (spreadsheet codes, decimal commas, `n.d.`)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from observatory.sources.catalogue import STATISTIQUES
from observatory.transforms import statistics as st
from observatory.validation.quarantine import (
    IDENTITE_LIGNE,
    QUARANTINE_SCHEMA,
    account,
    number_rows,
)
from tests.conftest import ASSETS

Stager = Callable[[pl.DataFrame], tuple[pl.DataFrame, pl.DataFrame]]

RP2017 = "insee_rp/rp2017_taux_diplomes_menages_age_national.parquet"
RP2018 = "insee_rp/rp2018_communes_2000hab_national.parquet"
FILOSOFI = "insee_filosofi_2016/filosofi_2016_communes_national.parquet"
ARCEP = "arcep_2019/commune_debit_beta_20190930_national.parquet"
DFG = "dfg_mednum_2020/dfg_proxies_pauvrete_thd_mobile_rsa_services_national.parquet"
IRIS = "dfg_mednum_2020/table_iris_commune_epci_2020_national.parquet"
CAF_COMMUNES = "cnaf_2020/cnaf_demo_2020_v1_communes.csv"
CAF_EPCI = "cnaf_2020/cnaf_demo_2020_v1_epci.csv"
ARSAS = "cnaf_2020/caf_arsas_iris_national.csv"
DEFM = "pole_emploi_2019/defm_2019_communes.csv"


# The catalogue's vintage of each bundled file (what read_landed gives as `annee_donnees`).
ANNEES = {f.bundled: source.annee for source in STATISTIQUES for f in source.files}


@cache
def raw_file(relative: str) -> pl.DataFrame:
    """A bundled file as the raw layer gives it: every value a string, rows numbered, and the
    vintage `read_landed` adds to a statistic (`annee_donnees`, from the catalogue)."""
    path = ASSETS / relative
    if path.suffix == ".parquet":
        frame = pl.read_parquet(path)
        frame = frame.with_columns(pl.col(c).cast(pl.String) for c in frame.columns)
    else:
        frame = pl.read_csv(path, infer_schema=False)
    frame = frame.with_columns(pl.lit(str(ANNEES[relative])).alias(st.ANNEE_DONNEES))
    return number_rows(frame, "test", path.name, "sha-test")


@cache
def staged(relative: str, stager: Stager) -> tuple[pl.DataFrame, pl.DataFrame]:
    return stager(raw_file(relative))


def numbers(relative: str, column: str) -> pl.Series:
    return raw_file(relative)[column].str.replace(",", ".").cast(pl.Float64)


# (file, function, rows in the file per its PROVENANCE, code column of the raw file)
SOURCES = [
    (RP2017, st.stage_rp2017_parts, 35003, "CODE_INSEE"),
    (RP2018, st.stage_rp2018_effectifs, 5417, "code_insee"),
    (FILOSOFI, st.stage_filosofi_communes, 34932, "codgeo"),
    (ARCEP, st.stage_arcep, 35359, "code_insee"),
    (DFG, st.stage_dfg_mobile, 35405, "CODE_INSEE"),
    (CAF_COMMUNES, st.stage_caf_communes, 791, "CODGEO"),
    (DEFM, st.stage_defm, 1181, "CODGEO"),
]


@pytest.mark.real_data
@pytest.mark.parametrize(("relative", "stager", "rows", "code_column"), SOURCES)
def test_commune_sources_accounting_and_codes(
    relative: str, stager: Stager, rows: int, code_column: str
) -> None:
    raw = raw_file(relative)
    kept, quarantine = staged(relative, stager)
    assert raw.height == rows
    account(raw.height, kept, quarantine)  # raises unless rows in = kept + rejected
    assert kept.columns[:6] == [*IDENTITE_LIGNE, "code_commune_source", "annee"]
    assert kept["code_commune_source"].is_unique().all()
    assert kept["code_commune_source"].str.len_chars().unique().to_list() == [5]
    # Codes come through as the file spells them: leading zeros and Corsican letters kept.
    raw_codes = set(raw[code_column].to_list())
    for code in ("01001", "01004", "2A004"):
        if code in raw_codes:
            assert code in kept["code_commune_source"].to_list()
    assert "2A004" in raw_codes  # Ajaccio is in every file
    # Every value set aside is named in the quarantine; no source here has unreadable numbers.
    assert quarantine.filter(pl.col("action") == "valeur_ecartee").height == 0


@pytest.mark.real_data
@pytest.mark.parametrize(
    ("relative", "stager", "column", "raw_column", "divisor"),
    [
        (RP2017, st.stage_rp2017_parts, "part_65_ans_et_plus", "TX_65ETPLUS", 100),
        (RP2017, st.stage_rp2017_parts, "part_25_ans_et_moins", "TX_25ETMOINS", 100),
        (RP2017, st.stage_rp2017_parts, "part_non_diplomes_15_ans_et_plus", "TX_NSCOL15P", 100),
        (RP2017, st.stage_rp2017_parts, "part_menages_une_personne", "TX_MENSEUL", 100),
        (RP2017, st.stage_rp2017_parts, "part_familles_monoparentales", "TX_FAMMONO", 100),
        (FILOSOFI, st.stage_filosofi_communes, "taux_pauvrete_60", "tp6016", 100),
        (DFG, st.stage_dfg_mobile, "part_couverture_mobile", "COUVERTURE_MOBILE", 1),
    ],
)
def test_rates_are_fractions(
    relative: str, stager: Stager, column: str, raw_column: str, divisor: int
) -> None:
    kept, _ = staged(relative, stager)
    values = kept[column]
    assert values.drop_nulls().is_between(0, 1).all()
    assert values.max() > 0.5  # a real spread, not percentages divided twice
    # Same rows, same order (only rows without any value are set aside): the source's, rescaled.
    expected = numbers(relative, raw_column).gather(kept["ligne"] - 1) / divisor
    assert (values.is_null() == expected.is_null()).all()
    assert ((values - expected).abs().drop_nulls() < 1e-12).all()


@pytest.mark.real_data
def test_rp2017_rows_without_rates_are_kept_null() -> None:
    kept, quarantine = staged(RP2017, st.stage_rp2017_parts)
    # 17 communes have no household rates in the DfG file: 7 have the other rates (kept, their
    # household rates null, never 0); 10 have no value at all, codes of COG 2020 listed without
    # figures (Sannerville, 14666, re-established on 2019-12-31, after the census geography):
    # set aside, so that they do not hide the commune whose territory they were part of.
    assert kept["part_menages_une_personne"].null_count() == 7
    vides = quarantine.filter(pl.col("code_raison") == "aucune_valeur")
    assert vides.height == 10 and (vides["action"] == "rejet").all()
    assert "14666" in vides["valeur_brute"].to_list()
    assert kept.height + vides.height == raw_file(RP2017).height


@pytest.mark.real_data
def test_rp2018_counts_use_source_codes_and_diplomas_add_up() -> None:
    raw = raw_file(RP2018)
    kept, _ = staged(RP2018, st.stage_rp2018_effectifs)
    assert kept["code_commune_source"].to_list() == raw["code_insee"].to_list()
    # PLM arrondissements stay as such (rebasing is done later), 51 codes differ from COG 2026.
    differ = raw.filter(pl.col("code_insee") != pl.col("code_insee_cog2026")).height
    assert differ == 51
    assert {"75101", "13201", "69381"} <= set(kept["code_commune_source"].to_list())
    diplomas = pl.sum_horizontal(st.DIPLOMES)
    gap = kept.select((diplomas - pl.col("nb_non_scolarises_15_ans_et_plus")).abs().max()).item()
    assert gap < 1e-6
    assert kept.filter(pl.col("nb_0_14_ans") > pl.col("nb_population")).height == 0
    assert kept.schema["nb_population"] == pl.Float64
    assert kept["annee"].unique().to_list() == [2018]


@pytest.mark.real_data
def test_filosofi_secrecy_stays_visible() -> None:
    kept, _ = staged(FILOSOFI, st.stage_filosofi_communes)
    # PROVENANCE: tp6016 published for 4 372 of 34 932 communes, med16 null for 3 527.
    assert kept["taux_pauvrete_60"].is_not_null().sum() == 4372
    assert kept["secret_statistique"].sum() == 34932 - 4372
    assert (kept["secret_statistique"] == kept["taux_pauvrete_60"].is_null()).all()
    assert kept["revenu_median_uc"].null_count() == 3527
    published = kept.filter(~pl.col("secret_statistique"))
    assert published["nb_menages_fiscaux"].min() == 738  # smallest commune with a rate
    ambérieu = kept.filter(pl.col("code_commune_source") == "01004").row(0, named=True)
    assert ambérieu["taux_pauvrete_60"] == pytest.approx(0.17)
    assert ambérieu["revenu_median_uc"] == 19721.0


@pytest.mark.real_data
@pytest.mark.parametrize(
    ("niveau", "fichier", "rows", "sample"),
    [
        ("epci", "filosofi_2016_epci.csv", 1244, "200000172"),
        ("departement", "filosofi_2016_departements.csv", 98, "2A"),
        ("region", "filosofi_2016_regions.csv", 15, "02"),
    ],
)
def test_filosofi_levels_are_insee_figures(niveau: str, fichier: str, rows: int, sample: str):
    raw = raw_file(f"insee_filosofi_2016/{fichier}")
    kept, quarantine = st.stage_filosofi_territoires(raw, niveau)
    assert account(raw.height, kept, quarantine)["lignes_gardees"] == rows
    assert kept["niveau"].unique().to_list() == [niveau]
    assert sample in kept["code"].to_list()
    assert kept["code"].is_unique().all()
    # Published for every territory of these levels; INSEE's rate, not a sum of communes.
    assert not kept["secret_statistique"].any()
    assert kept["taux_pauvrete_60"].is_between(0, 1).all()
    expected = {"epci": {9}, "departement": {2, 3}, "region": {2}}[niveau]
    assert set(kept["code"].str.len_chars().to_list()) == expected


@pytest.mark.real_data
def test_filosofi_departement_figures_differ_from_commune_sums() -> None:
    communes, _ = staged(FILOSOFI, st.stage_filosofi_communes)
    deps, _ = st.stage_filosofi_territoires(
        raw_file("insee_filosofi_2016/filosofi_2016_departements.csv"), "departement"
    )
    charente = deps.filter(pl.col("code") == "16").row(0, named=True)
    summed = communes.filter(pl.col("code_commune_source").str.starts_with("16"))[
        "nb_menages_fiscaux"
    ].sum()
    # 12 Charente communes are fully secret: the département figure exceeds the communes' sum.
    assert charente["nb_menages_fiscaux"] > summed
    assert charente["revenu_median_uc"] == 19816.0  # INSEE's median, not rebuilt


@pytest.mark.real_data
def test_arcep_speed_classes() -> None:
    raw = raw_file(ARCEP)
    kept, _ = staged(ARCEP, st.stage_arcep)
    assert kept.schema["nb_locaux"] == pl.Int64
    assert kept.filter(pl.col("nb_locaux_thd_30") > pl.col("nb_locaux")).height == 0
    classes = ["elig_thd30", "elig_thd100", "elig_thd1g"]
    expected = raw.select(pl.sum_horizontal(pl.col(classes).cast(pl.Int64)))[:, 0]
    assert kept["nb_locaux_thd_30"].to_list() == expected.to_list()
    baerendorf = kept.filter(pl.col("code_commune_source") == "67017").row(0, named=True)
    assert (baerendorf["nb_locaux"], baerendorf["nb_locaux_thd_30"]) == (148, 138)
    assert kept["annee"].unique().to_list() == [2019]


@pytest.mark.real_data
def test_caf_communes_groups_rejected() -> None:
    raw = raw_file(CAF_COMMUNES)
    kept, quarantine = staged(CAF_COMMUNES, st.stage_caf_communes)
    glued = raw.filter(pl.col("CODGEO").str.len_chars() > 5)
    assert glued.height > 100  # CNAF groups many communes; each group is one row
    assert (glued["CODGEO"].str.len_chars() % 5 == 0).all()
    rejected = quarantine.filter(pl.col("action") == "rejet")
    assert sorted(rejected["ligne"].to_list()) == sorted(glued["ligne"].to_list())
    assert rejected["code_raison"].unique().to_list() == ["code_regroupement_communes"]
    assert kept.height == raw.height - glued.height
    assert "2A004" in kept["code_commune_source"].to_list()
    both = kept.drop_nulls(["nb_allocataires", "nb_personnes_couvertes"])
    assert (both["nb_personnes_couvertes"] >= both["nb_allocataires"]).all()
    # Cells CNAF left empty (18 in `A`, one of them on a group row) stay null, never 0.
    assert raw["A"].null_count() == 18
    empty = raw.filter(pl.col("A").is_null() & (pl.col("CODGEO").str.len_chars() == 5))
    assert (
        kept.filter(pl.col("nb_allocataires").is_null())["ligne"].to_list()
        == empty["ligne"].to_list()
    )
    assert empty.height == 17


@pytest.mark.real_data
def test_caf_epci_rejects_grand_paris_territories() -> None:
    raw = raw_file(CAF_EPCI)
    kept, quarantine = st.stage_caf_epci(raw)
    counts = account(raw.height, kept, quarantine)
    assert counts["lignes_entree"] == 361
    ept = raw.filter(pl.col("CODGEO").str.contains(r"^T\d\dZ+$")).height
    assert counts["rejet:code_ept_grand_paris"] == ept > 0
    assert kept["code"].str.contains(r"^\d{9}$").all()
    assert kept.columns[4:7] == ["niveau", "code", "annee"]


@pytest.mark.real_data
def test_defm_counts_consistent() -> None:
    kept, _ = staged(DEFM, st.stage_defm)
    assert kept.filter(
        (pl.col("nb_demandeurs_emploi_abc") > pl.col("nb_demandeurs_emploi_abcde"))
        | (pl.col("nb_demandeurs_emploi_rsa") > pl.col("nb_demandeurs_emploi_abc"))
    ).is_empty()
    assert kept["nb_demandeurs_emploi_abc"].null_count() == 1  # an empty cell in the file
    assert kept["nb_demandeurs_emploi_abcde"].sum() > kept["nb_demandeurs_emploi_abc"].sum()


@pytest.mark.real_data
def test_caf_rsa_iris_totals_preserved() -> None:
    raw = raw_file(ARSAS)
    table = raw_file(IRIS)
    communes, quarantine = st.stage_caf_rsa_iris(raw, table)
    rejected = quarantine.filter(pl.col("action") == "rejet")
    # Accounting by IRIS row: rows in = IRIS summed + IRIS rejected.
    assert raw.height == 13349
    assert communes["nb_iris_source"].sum() + rejected.height == raw.height
    # Every allocataire of the file is either in a commune total or in the quarantine.
    total = numbers(ARSAS, "ARSAS").sum()
    set_aside = rejected["ligne"].to_list()
    quarantined = raw.filter(pl.col("ligne").is_in(set_aside))["ARSAS"].cast(pl.Float64).sum()
    assert communes["nb_allocataires_rsa"].sum() + quarantined == total
    # IRIS redrawn after the 2020 table (Colomiers, Choisy-le-Roi) have no known commune.
    assert sorted(rejected["valeur_brute"].to_list()) == [
        "311490901",
        "940220101",
        "940220103",
        "940220104",
    ]
    assert set(rejected["code_raison"].to_list()) == {"iris_absent_table_iris"}
    choisy = communes.filter(pl.col("code_commune_source") == "94022").row(0, named=True)
    assert not choisy["complet"]
    assert choisy["nb_iris_table"] == 17  # the table lists 940220106 twice: counted once
    assert communes["code_commune_source"].is_unique().all()
    assert (communes["nb_iris_source"] <= communes["nb_iris_table"]).all()


@pytest.mark.real_data
def test_caf_rsa_iris_gaps_visible() -> None:
    raw = raw_file(ARSAS)
    communes, _ = st.stage_caf_rsa_iris(raw, raw_file(IRIS))
    assert communes["nb_iris_sans_valeur"].sum() == raw["ARSAS"].null_count() == 1264
    complete = communes.filter(pl.col("complet"))
    assert (complete["nb_iris_sans_valeur"] == 0).all()
    assert complete.height > 0
    # All IRIS of Valserhône (01033) are empty: unknown, not 0.
    valserhone = communes.filter(pl.col("code_commune_source") == "01033").row(0, named=True)
    assert valserhone["nb_allocataires_rsa"] is None
    assert not valserhone["complet"]
    ambérieu = communes.filter(pl.col("code_commune_source") == "01004").row(0, named=True)
    assert ambérieu["complet"]
    assert (
        ambérieu["nb_allocataires_rsa"]
        == numbers(ARSAS, "ARSAS")
        .filter(raw_file(ARSAS)["CODE_IRIS"].str.starts_with("01004"))
        .sum()
    )


# --- table-driven tests on defective rows --------------------------------------------------


def raw_rows(columns: dict[str, list[str | None]]) -> pl.DataFrame:
    frame = pl.DataFrame(columns, schema={c: pl.String for c in columns})
    return number_rows(frame, "test", "f.csv", "x")


ENTREE = ("ligne", "colonne", "code_raison", "valeur_brute", "action")


def entries(quarantine: pl.DataFrame) -> pl.DataFrame:
    return quarantine.select(ENTREE).sort("ligne", "colonne", "code_raison")


def expected_entries(rows: list[tuple[int, str, str, str | None, str]]) -> pl.DataFrame:
    """Quarantine entries typed as the quarantine's own columns."""
    return pl.DataFrame(rows, schema={c: QUARANTINE_SCHEMA[c] for c in ENTREE}, orient="row")


def assert_entries(
    quarantine: pl.DataFrame, rows: list[tuple[int, str, str, str | None, str]]
) -> None:
    """The quarantine holds exactly these entries (line, column, reason, raw value, action)."""
    assert_frame_equal(entries(quarantine), expected_entries(rows))


def test_filosofi_spreadsheet_codes_decimal_comma_and_nd() -> None:
    raw = raw_rows(
        {
            "codgeo": ["1001.0", "2a004", "16015", "20004", "1001", "75056"],
            "libgeo": ["L'Abergement", "Ajaccio", "Angoulême", "Corse?", "doublon", "Paris"],
            "nbmenfisc16": ["313.0", "31 250", "20554", "10", "313", "1 027 657"],
            "nbpersmenfisc16": ["796", "66 010", "38119", "20", "796", "2074630"],
            "med16": ["22679", "20 475,5", "n.d.", "1", "22679", "27 580"],
            "tp6016": [None, "17,5", "22", "", None, "150"],
        }
    )
    kept, quarantine = st.stage_filosofi_communes(raw, annee=2016)
    expected = pl.DataFrame(
        {
            "ligne": [1, 2, 3, 6],
            "code_commune_source": ["01001", "2A004", "16015", "75056"],
            "annee": [2016, 2016, 2016, 2016],
            "nb_menages_fiscaux": [313.0, 31250.0, 20554.0, 1027657.0],
            "nb_personnes_menages_fiscaux": [796.0, 66010.0, 38119.0, 2074630.0],
            "revenu_median_uc": [22679.0, 20475.5, None, 27580.0],
            "taux_pauvrete_60": [None, 0.175, 0.22, None],
            "secret_statistique": [True, False, False, False],
        },
        schema_overrides={"annee": pl.Int32},
    )
    assert_frame_equal(kept.drop("jeu_de_donnees", "fichier_origine", "sha256_origine"), expected)
    assert_entries(
        quarantine,
        [
            (3, "med16", "nombre_invalide", "n.d.", "valeur_ecartee"),
            (4, "codgeo", "code_corse_sans_2a_2b", "20004", "rejet"),
            (5, "codgeo", "code_duplique", "1001", "rejet"),
            (6, "tp6016", "part_superieure_a_1", "150", "valeur_ecartee"),
        ],
    )
    assert account(raw.height, kept, quarantine)["lignes_rejetees"] == 2


def test_caf_communes_counts_and_groups() -> None:
    raw = raw_rows(
        {
            "CODGEO": ["01004", "0309503310", "2B033", "16O15", "33063"],
            "A": ["3 098", "120", "n.d.", "5", "12,5"],
            "PERCOU": ["8235,0", "300", "4542", "9", "-3"],
        }
    )
    kept, quarantine = st.stage_caf_communes(raw, annee=2020)
    expected = pl.DataFrame(
        {
            "ligne": [1, 3, 5],
            "code_commune_source": ["01004", "2B033", "33063"],
            "annee": [2020, 2020, 2020],
            "nb_allocataires": [3098, None, None],
            "nb_personnes_couvertes": [8235, 4542, None],
        },
        schema_overrides={"annee": pl.Int32, "nb_allocataires": pl.Int64},
    )
    assert_frame_equal(kept.select(expected.columns), expected)
    assert_entries(
        quarantine,
        [
            (2, "CODGEO", "code_regroupement_communes", "0309503310", "rejet"),
            (3, "A", "nombre_invalide", "n.d.", "valeur_ecartee"),
            (4, "CODGEO", "code_caracteres_invalides", "16O15", "rejet"),
            (5, "A", "nombre_non_entier", "12,5", "valeur_ecartee"),
            (5, "PERCOU", "nombre_negatif", "-3", "valeur_ecartee"),
        ],
    )


def test_rp2017_percent_to_fraction_and_out_of_range() -> None:
    raw = raw_rows(
        {
            "CODE_INSEE": ["01001", "17300"],
            "TX_NSCOL15P": ["52.154281", "101.5"],
            "TX_MENSEUL": ["22,823614", None],
            "TX_FAMMONO": ["4.831504", "0"],
            "TX_65ETPLUS": ["23.779236", "100"],
            "TX_25ETMOINS": ["11.309305", "n.d."],
        }
    )
    kept, quarantine = st.stage_rp2017_parts(raw, annee=2017)
    expected = pl.DataFrame(
        {
            "code_commune_source": ["01001", "17300"],
            "part_65_ans_et_plus": [0.23779236, 1.0],
            "part_25_ans_et_moins": [0.11309305, None],
            "part_non_diplomes_15_ans_et_plus": [0.52154281, None],
            "part_menages_une_personne": [0.22823614, None],
            "part_familles_monoparentales": [0.04831504, 0.0],
        }
    )
    assert_frame_equal(kept.select(expected.columns), expected)
    assert entries(quarantine)["code_raison"].to_list() == [
        "nombre_invalide",  # TX_25ETMOINS `n.d.`
        "part_superieure_a_1",  # TX_NSCOL15P 101.5 %
    ]


@pytest.mark.parametrize(
    ("niveau", "brut", "code", "raison"),
    [
        ("region", "2", "02", None),
        ("region", "84.0", "84", None),
        ("region", "00", None, "code_region_invalide"),
        ("departement", "1", "01", None),
        ("departement", "2a", "2A", None),
        ("departement", "974", "974", None),
        ("departement", "20", None, "code_departement_invalide"),
        ("departement", "975", None, "code_departement_invalide"),
        ("epci", "200000172", "200000172", None),
        ("epci", "200000172.0", "200000172", None),
        ("epci", "T01ZZZZZZ", None, "code_ept_grand_paris"),
        ("epci", "200041960246200299", None, "code_regroupement_epci"),
        ("epci", "20000017", None, "code_epci_invalide"),
        ("epci", "", None, "code_vide"),
    ],
)
def test_territory_codes(niveau: str, brut: str, code: str | None, raison: str | None) -> None:
    raw = raw_rows(
        {
            "codgeo": [brut],
            "nbmenfisc16": ["10"],
            "nbpersmenfisc16": ["20"],
            "med16": ["20000"],
            "tp6016": ["10,5"],
        }
    )
    kept, quarantine = st.stage_filosofi_territoires(raw, niveau, annee=2016)
    assert kept["code"].to_list() == ([code] if code else [])
    assert quarantine.filter(pl.col("action") == "rejet")["code_raison"].to_list() == (
        [raison] if raison else []
    )


def test_filosofi_territoires_unknown_level() -> None:
    with pytest.raises(ValueError, match="niveau"):
        st.stage_filosofi_territoires(raw_rows({"codgeo": ["16"]}), "commune", annee=2016)


def test_arcep_thd_sum_and_bad_value() -> None:
    raw = raw_rows(
        {
            "code_insee": ["1001", "67017"],
            "nbr": ["148", "2408"],
            "inel_hd": ["0", "91"],
            "elig_thd30": ["10", "59"],
            "elig_thd100": ["0", "n.d."],
            "elig_thd1g": ["138", "1364"],
        }
    )
    kept, quarantine = st.stage_arcep(raw, annee=2019)
    expected = pl.DataFrame(
        {
            "code_commune_source": ["01001", "67017"],
            "nb_locaux": [148, 2408],
            "nb_locaux_ineligibles_hd": [0, 91],
            "nb_locaux_thd_30": [148, None],  # one class unknown: the total is unknown
        }
    )
    assert_frame_equal(kept.select(expected.columns), expected)
    assert entries(quarantine).select("colonne", "code_raison").rows() == [
        ("elig_thd100", "nombre_invalide")
    ]


def test_caf_rsa_iris_aggregation() -> None:
    table = pl.DataFrame(
        {
            "CODE_IRIS": ["010040101", "010040102", "010040102", "010330000", "160150101"],
            "CODE_INSEE": ["01004", "01004", "01004", "01033", "16015"],
        }
    )
    table = pl.concat([table, pl.DataFrame({"CODE_IRIS": ["160150102"], "CODE_INSEE": ["16070"]})])
    table = pl.concat([table, pl.DataFrame({"CODE_IRIS": ["160150102"], "CODE_INSEE": ["16015"]})])
    raw = raw_rows(
        {
            "CODE_IRIS": ["10040101", "010040102", "010330000", "940220101", "160150102", "0100"],
            "EPCI": ["240100883"] * 6,
            "ARSAS": ["63.0", "148.0", None, "257.0", "12", "5"],
        }
    )
    communes, quarantine = st.stage_caf_rsa_iris(raw, table, annee=2019)
    expected = pl.DataFrame(
        {
            "ligne": [1, 3],
            "code_commune_source": ["01004", "01033"],
            "annee": [2019, 2019],
            "nb_allocataires_rsa": [211, None],
            "nb_iris_source": [2, 1],
            "nb_iris_sans_valeur": [0, 1],
            "nb_iris_table": [2, 1],  # the duplicated table row is counted once
            "complet": [True, False],
        },
        schema_overrides={"annee": pl.Int32, "nb_allocataires_rsa": pl.Int64},
    )
    assert_frame_equal(communes.select(expected.columns), expected)
    assert_entries(
        quarantine,
        [
            (4, "CODE_IRIS", "iris_absent_table_iris", "940220101", "rejet"),
            (5, "CODE_IRIS", "iris_ambigu_table_iris", "160150102", "rejet"),
            (6, "CODE_IRIS", "code_iris_invalide", "0100", "rejet"),
        ],
    )
    iris, _ = st.stage_caf_arsas_iris(raw, table, annee=2019)
    assert account(raw.height, iris, quarantine)["lignes_gardees"] == 3


def test_build_statistiques_communes_flags_every_gap() -> None:
    """Three communes: counts by age, shares only, nothing; poverty value, secret, absent."""
    from observatory.transforms.statistics import MESURES_COMMUNES, build_statistiques_communes

    communes = pl.DataFrame(
        {"code_commune": ["16015", "16089", "97601"], "code_departement": ["16", "16", "976"]}
    )

    def table(key: str, rows: dict[str, dict[str, float | None]]) -> pl.DataFrame:
        columns = MESURES_COMMUNES[key]
        return pl.DataFrame(
            {
                "code_commune": list(rows),
                **{c: [rows[k].get(c) for k in rows] for c in columns},
            },
            schema={"code_commune": pl.String, **dict.fromkeys(columns, pl.Float64)},
        )

    rebased = {key: table(key, {}) for key in MESURES_COMMUNES}
    rebased["insee__rp2018_effectifs"] = table(
        "insee__rp2018_effectifs", {"16015": {"nb_population": 41711.0}}
    )
    rebased["insee__rp2017_parts"] = table(
        "insee__rp2017_parts",
        {"16015": {"part_65_ans_et_plus": 0.2}, "16089": {"part_65_ans_et_plus": 0.3}},
    )
    rebased["insee__filosofi_communes"] = table(
        "insee__filosofi_communes",
        {"16015": {"taux_pauvrete_60": 0.21}, "16089": {"taux_pauvrete_60": None}},
    )
    rebased["arcep__thd"] = table(
        "arcep__thd", {"16015": {"nb_locaux": 30000.0, "nb_locaux_thd_30": 15000.0}}
    )
    out = build_statistiques_communes(communes, rebased)
    assert out.select(
        "code_commune",
        "statut_structure_age",
        "statut_pauvrete",
        "statut_arcep",
        "part_locaux_thd_30",
    ).rows() == [
        ("16015", "effectifs_rp2018", "valeur", "valeur", 0.5),
        ("16089", "parts_rp2017", "secret_statistique", "absent", None),
        ("97601", "absent", "absent", "absent", None),
    ]


@pytest.mark.parametrize(
    ("annee_donnees", "annee", "expected"),
    [
        (None, 2023, [2023, 2023]),  # the argument alone
        (["2026", "2025"], None, [2026, 2025]),  # each row's own vintage (a live file)
        (["2026", "2026"], 2019, [2019, 2019]),  # the argument wins over the column
    ],
)
def test_annee_comes_from_the_argument_or_each_rows_vintage(
    annee_donnees: list[str] | None, annee: int | None, expected: list[int]
) -> None:
    columns: dict[str, list[str | None]] = {
        "code_insee": ["16015", "2A004"],
        **{c: ["10", "5"] for c in ("nbr", "inel_hd", "elig_thd30", "elig_thd100", "elig_thd1g")},
    }
    if annee_donnees is not None:
        columns[st.ANNEE_DONNEES] = list(annee_donnees)
    kept, _ = st.stage_arcep(raw_rows(columns), annee=annee)
    assert kept["annee"].to_list() == expected
    assert kept["annee"].dtype == pl.Int32


@pytest.mark.parametrize(
    "stage",
    [
        st.stage_rp2017_parts,
        st.stage_rp2018_effectifs,
        st.stage_filosofi_communes,
        st.stage_arcep,
        st.stage_dfg_mobile,
        st.stage_caf_communes,
        st.stage_defm,
    ],
)
def test_no_vintage_is_an_error_never_a_guessed_year(stage: Stager) -> None:
    with pytest.raises(ValueError, match="no vintage"):
        stage(raw_rows({"CODGEO": ["16015"]}))
