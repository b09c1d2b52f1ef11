"""Rebasing commune statistics to the COG 2026: small tables, then real movements and Filosofi."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from observatory.transforms.names import normalise_nom
from observatory.transforms.rebasing import (
    ARRONDISSEMENT_DEJA_COMPTE,
    CODE_DUPLIQUE,
    CODE_INCONNU,
    build_passage,
    former_commune_names,
    passage_disagreements,
    rebase_communes,
)
from observatory.validation.quarantine import QUARANTINE_SCHEMA, number_rows
from tests.conftest import ASSETS
from tests.conftest import report as report_figure

MOUVEMENTS = ASSETS / "insee_cog_mouvements"
# Same bytes as the project's shared extract insee_filosofi_2016 (bundled, Licence Ouverte).
FILOSOFI = ASSETS / "insee_filosofi_2016/filosofi_2016_communes_national.parquet"
# Filosofi 2016 communes are on the COG of 1 January 2019: they have 60054 Les Hauts-Talican
# (created 2019-01-01) and 14712 Saline (split 2019-12-31).
COG_FILOSOFI = date(2019, 1, 1)
PLM = {"75056": "751", "13055": "132", "69123": "6938"}


# --- small tables -----------------------------------------------------------------------


def _communes(rows: list[tuple[str, int, list[str] | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "code_commune": pl.String,
            "population": pl.Int64,
            "anciens_codes": pl.List(pl.String),
        },
        orient="row",
    ).with_columns(
        pl.col("code_commune").alias("nom"),
        pl.col("code_commune").str.slice(0, 2).alias("code_departement"),
    )


def _mouvements(rows: list[tuple[str, str, str, str, str, str, str, str]]) -> pl.DataFrame:
    columns = [
        "MOD",
        "DATE_EFF",
        "TYPECOM_AV",
        "COM_AV",
        "LIBELLE_AV",
        "TYPECOM_AP",
        "COM_AP",
        "LIBELLE_AP",
    ]
    return pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.String), orient="row")


def _table(rows: list[tuple[str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"code_insee_historique": pl.String, "code_insee_cog2025": pl.String},
        orient="row",
    )


def _passage(rows: list[tuple[str, str, str, bool]]) -> pl.DataFrame:
    """A passage as build_passage returns it (only the columns rebase_communes reads)."""
    return pl.DataFrame(
        rows,
        schema={
            "code_source": pl.String,
            "code_commune": pl.String,
            "type_passage": pl.String,
            "retenu": pl.Boolean,
        },
        orient="row",
    )


def _stats(rows: list[tuple], columns: dict[str, pl.DataType]) -> pl.DataFrame:
    return number_rows(
        pl.DataFrame(rows, schema=columns, orient="row"), "test__stats", "stats.csv", "sha-test"
    )


def _rejet(ligne: int, code_raison: str, valeur: str | None) -> tuple:
    """A quarantine entry of `_stats` rows: its code was rejected."""
    return (
        "test__stats",
        "stats.csv",
        "sha-test",
        ligne,
        "code_commune_source",
        code_raison,
        valeur,
        "rejet",
    )


# A commune nouvelle 99001 made of 99001 and 99002 in 2016, split again in 2024 (99002 and
# 99003, a new code, re-established); 99004 merged into 99005 in 2018; 99006 recoded 99007
# (new département) and merged into 99008 the same day.
MOUVEMENTS_TEST = _mouvements(
    [
        ("32", "2016-01-01", "COM", "99001", "A", "COM", "99001", "AB"),
        ("32", "2016-01-01", "COM", "99001", "A", "COMD", "99001", "A"),
        ("32", "2016-01-01", "COM", "99002", "B", "COM", "99001", "AB"),
        ("21", "2024-01-01", "COM", "99001", "AB", "COM", "99001", "A"),
        ("21", "2024-01-01", "COM", "99001", "AB", "COM", "99002", "B"),
        ("21", "2024-01-01", "COM", "99001", "AB", "COM", "99003", "C"),
        ("31", "2018-01-01", "COM", "99004", "D", "COM", "99005", "E"),
        ("31", "2018-01-01", "COM", "99005", "E", "COM", "99005", "E"),
        ("41", "2019-01-01", "COM", "99006", "F", "COM", "99007", "F"),
        ("31", "2019-01-01", "COM", "99007", "F", "COM", "99008", "G"),
        ("31", "2019-01-01", "COM", "99008", "G", "COM", "99008", "G"),
    ]
)
COMMUNES_TEST = _communes(
    [
        ("99001", 100, None),
        ("99002", 50, None),
        ("99003", 500, None),
        ("99005", 10, ["99004"]),
        ("99008", 10, ["99006"]),
        ("75056", 2_000_000, None),
    ]
)
TABLE_TEST = _table(
    [
        ("99001", "99001"),
        ("99002", "99002"),
        ("99003", "99003"),
        ("99004", "99005"),
        ("99005", "99005"),
        ("99006", "99008"),
        ("99008", "99008"),
        ("75101", "75056"),
        ("75056", "75056"),
    ]
)


@pytest.mark.parametrize(
    ("depuis", "code_source", "expected"),
    [
        # From 1943 on: 99001 was A alone until 2016, but the movements follow communes, not
        # communes déléguées, so its territory may be in any of the three: split, kept by 99001.
        (
            None,
            "99001",
            [
                ("99001", "scission", True),
                ("99002", "scission", False),
                ("99003", "scission", False),
            ],
        ),
        # On the 2020 geography, 99001 is the commune nouvelle, split since into three communes.
        (
            date(2020, 1, 1),
            "99001",
            [
                ("99001", "scission", True),
                ("99002", "scission", False),
                ("99003", "scission", False),
            ],
        ),
        # On the 2025 geography, nothing has moved since.
        (date(2025, 1, 1), "99001", [("99001", "identique", True)]),
        # B, merged in 2016 without becoming déléguée, re-established in 2024: the movements
        # cannot tell which of the three has its territory; its own code is retained.
        (
            None,
            "99002",
            [
                ("99001", "scission", False),
                ("99002", "scission", True),
                ("99003", "scission", False),
            ],
        ),
        (date(2020, 1, 1), "99002", [("99002", "identique", True)]),
        (None, "99004", [("99005", "ancien_code", True)]),
        # Gone before the source's date: the passage table resolves it.
        (date(2020, 1, 1), "99004", [("99005", "ancien_code", True)]),
        # Recoded then merged the same day: the code change comes first (99007 is in neither
        # the passage table nor the COG: only the movements lead to 99008).
        (None, "99006", [("99008", "ancien_code", True)]),
        (None, "75101", [("75056", "arrondissement", True)]),
    ],
)
def test_build_passage_small(depuis: date | None, code_source: str, expected: list) -> None:
    passage = build_passage(TABLE_TEST, MOUVEMENTS_TEST, COMMUNES_TEST, depuis)
    got = passage.filter(pl.col("code_source") == code_source).select(
        "code_commune", "type_passage", "retenu"
    )
    assert got.rows() == expected


def test_build_passage_split_of_old_code_goes_to_most_populous() -> None:
    """A code that is no current commune, split: the most populous current commune is retained."""
    mouvements = _mouvements(
        [
            ("30", "1960-01-01", "COM", "99010", "X", "COM", "99011", "Y"),
            ("30", "1960-01-01", "COM", "99010", "X", "COM", "99012", "Z"),
        ]
    )
    communes = _communes([("99011", 300, None), ("99012", 900, None)])
    passage = build_passage(_table([]), mouvements, communes)
    got = passage.filter(pl.col("code_source") == "99010").select(
        "code_commune", "retenu", "nb_communes"
    )
    assert got.rows() == [("99011", False, 2), ("99012", True, 2)]


RATE_COLUMNS = {"code_commune_source": pl.String, "taux": pl.Float64, "poids": pl.Float64}
PASSAGE_FUSION = _passage(
    [
        ("01001", "01001", "identique", True),
        ("01002", "01001", "ancien_code", True),
        ("01003", "01001", "ancien_code", True),
    ]
)


@pytest.mark.parametrize(
    ("rows", "taux"),
    [
        # (0.10 × 100 + 0.40 × 300) / 400
        ([("01001", 0.10, 100.0), ("01002", 0.40, 300.0)], 0.325),
        ([("01001", 0.10, 100.0), ("01002", 0.40, 300.0), ("01003", 0.25, 600.0)], 0.28),
        # One part unknown: a mean of the others would be another territory's rate.
        ([("01001", 0.10, 100.0), ("01002", None, 300.0)], None),
        ([("01001", 0.10, 100.0), ("01002", 0.40, None)], None),
        # every weight 0 (too small to be published): the parts weigh equally
        ([("01001", 0.10, 0.0), ("01002", 0.40, 0.0)], 0.25),
        # A single row keeps its published rate, even without a weight.
        ([("01001", 0.10, None)], 0.10),
        ([("01002", 0.40, 300.0)], 0.40),
    ],
)
def test_weighted_rate(rows: list[tuple], taux: float | None) -> None:
    rebased, _, _ = rebase_communes(
        _stats(rows, RATE_COLUMNS), PASSAGE_FUSION, [], {"taux": "poids"}
    )
    expected = pl.DataFrame(
        {"code_commune": ["01001"], "taux": [taux]},
        schema={"code_commune": pl.String, "taux": pl.Float64},
    )
    assert_frame_equal(rebased.select("code_commune", "taux"), expected, abs_tol=1e-12)


COUNT_COLUMNS = {"code_commune_source": pl.String, "annee": pl.Int32, "n": pl.Int64}


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([("01001", 2016, 3), ("01002", 2016, 4)], [("01001", 2016, 7, True, False)]),
        # A partial sum is kept (a lower bound) and flagged; unknown is never 0.
        ([("01001", 2016, 3), ("01002", 2016, None)], [("01001", 2016, 3, True, True)]),
        ([("01001", 2016, None), ("01002", 2016, None)], [("01001", 2016, None, True, True)]),
        # Each year is its own group.
        (
            [("01001", 2016, 3), ("01002", 2017, 4)],
            [("01001", 2016, 3, False, False), ("01001", 2017, 4, False, False)],
        ),
    ],
)
def test_counts_are_summed(rows: list[tuple], expected: list[tuple]) -> None:
    rebased, _, _ = rebase_communes(
        _stats(rows, COUNT_COLUMNS), PASSAGE_FUSION, ["n"], keys=["annee"]
    )
    schema = {
        "code_commune": pl.String,
        "annee": pl.Int32,
        "n": pl.Int64,
        "fusionne": pl.Boolean,
        "incomplet": pl.Boolean,
    }
    assert_frame_equal(
        rebased.select(list(schema)), pl.DataFrame(expected, schema=schema, orient="row")
    )


def test_split_source_is_not_duplicated() -> None:
    passage = _passage(
        [
            ("15141", "15031", "scission", False),
            ("15141", "15141", "scission", True),
            ("15141", "15171", "scission", False),
            ("15171", "15171", "identique", True),
        ]
    )
    frame = _stats([("15141", 0.2, 1000.0)], RATE_COLUMNS)
    rebased, quarantine, report = rebase_communes(frame, passage, ["poids"], {"taux": "poids"})
    assert rebased.select("code_commune", "poids", "taux", "scission", "fusionne").rows() == [
        ("15141", 1000.0, 0.2, True, False)
    ]
    assert quarantine.is_empty()
    assert (report["scissions"], report["rebasees"], report["identiques"]) == (1, 0, 0)


def test_split_source_shared_pro_rata_of_population_when_asked() -> None:
    """A census structure of a commune split since is shared by its parts (issue 15): counts pro
    rata of current population, rates copied, `prorata` flagged, rows in still accounted."""
    passage = _passage(
        [
            ("15141", "15031", "scission", False),
            ("15141", "15141", "scission", True),
            ("15171", "15171", "identique", True),
        ]
    )
    frame = _stats([("15141", 0.2, 1000.0), ("15171", 0.5, 10.0)], RATE_COLUMNS)
    population = pl.DataFrame(
        {"code_commune": ["15031", "15141", "15171"], "population": [250, 750, 10]}
    )
    rebased, quarantine, report = rebase_communes(
        frame, passage, ["poids"], {"taux": "poids"}, prorata=population
    )
    assert rebased.select("code_commune", "poids", "taux", "prorata").rows() == [
        ("15031", 250.0, 0.2, True),
        ("15141", 750.0, 0.2, True),
        ("15171", 10.0, 0.5, False),
    ]
    assert quarantine.is_empty()
    assert (report["lignes_entree"], report["lignes_gardees"]) == (2, 2)
    assert (report["scissions"], report["communes_au_prorata"]) == (1, 2)


def test_quarantine_and_accounting() -> None:
    passage = _passage(
        [
            ("01001", "01001", "identique", True),
            ("01002", "01001", "ancien_code", True),
            ("75056", "75056", "identique", True),
            ("75101", "75056", "arrondissement", True),
            ("75102", "75056", "arrondissement", True),
            ("69123", "69123", "identique", True),
            ("69381", "69123", "arrondissement", True),
            ("69382", "69123", "arrondissement", True),
        ]
    )
    rows = [
        ("01001", 2016, 1),
        ("01002", 2016, 2),
        ("97501", 2016, 4),  # Saint-Pierre-et-Miquelon: out of scope, matches nothing
        ("01001", 2016, 8),  # duplicated
        ("75056", 2016, 30),
        ("75101", 2016, 10),  # already counted in 75056
        ("75102", 2016, 20),
        ("69381", 2016, 5),  # Lyon by arrondissement only: summed
        ("69382", 2016, 6),
        (None, 2016, 7),
    ]
    rebased, quarantine, report = rebase_communes(
        _stats(rows, COUNT_COLUMNS), passage, ["n"], keys=["annee"]
    )
    assert rebased.select("code_commune", "n", "fusionne").rows() == [
        ("01001", 3, True),
        ("69123", 11, True),
        ("75056", 30, False),
    ]
    expected = pl.DataFrame(
        [
            _rejet(3, CODE_INCONNU, "97501"),
            _rejet(10, CODE_INCONNU, None),
            _rejet(4, CODE_DUPLIQUE, "01001"),
            _rejet(6, ARRONDISSEMENT_DEJA_COMPTE, "75101"),
            _rejet(7, ARRONDISSEMENT_DEJA_COMPTE, "75102"),
        ],
        schema=QUARANTINE_SCHEMA,
        orient="row",
    )
    assert_frame_equal(quarantine, expected)
    assert not set(rebased.columns) & {
        "jeu_de_donnees",
        "fichier_origine",
        "sha256_origine",
        "ligne",
    }
    assert report == {
        "lignes_entree": 10,
        "lignes_gardees": 5,
        "lignes_rejetees": 5,
        f"rejet:{ARRONDISSEMENT_DEJA_COMPTE}": 2,
        f"rejet:{CODE_DUPLIQUE}": 1,
        f"rejet:{CODE_INCONNU}": 2,
        "identiques": 2,
        "rebasees": 3,
        "fusionnees": 4,
        "scissions": 0,
        "non_appariees": 2,
        "lignes_sortie": 3,
        "communes_au_prorata": 0,
    }


def test_rebase_refuses_a_frame_without_row_identity() -> None:
    with pytest.raises(ValueError, match="ligne"):
        rebase_communes(
            pl.DataFrame({"code_commune_source": ["01001"], "n": [1]}), PASSAGE_FUSION, ["n"]
        )


# --- real data -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mouvements() -> pl.DataFrame:
    return pl.read_parquet(MOUVEMENTS / "mvt_communes_insee_cog2025_national.parquet")


@pytest.fixture(scope="module")
def table_passage() -> pl.DataFrame:
    return pl.read_parquet(MOUVEMENTS / "passage_communes_historique_vers_cog2025_national.parquet")


@pytest.fixture(scope="module")
def passage_2019(table_passage, mouvements, communes) -> pl.DataFrame:
    return build_passage(table_passage, mouvements, communes, COG_FILOSOFI)


@pytest.fixture(scope="module")
def passage_1943(table_passage, mouvements, communes) -> pl.DataFrame:
    return build_passage(table_passage, mouvements, communes)


@pytest.fixture(scope="module")
def filosofi() -> pl.DataFrame:
    raw = pl.read_parquet(FILOSOFI).select(
        pl.col("codgeo").alias("code_commune_source"), "nbmenfisc16", "nbpersmenfisc16", "tp6016"
    )
    return number_rows(raw, "insee__filosofi_communes", FILOSOFI.name, "sha-test")


@pytest.fixture(scope="module")
def filosofi_rebased(filosofi, passage_2019):
    return rebase_communes(
        filosofi, passage_2019, ["nbmenfisc16", "nbpersmenfisc16"], {"tp6016": "nbpersmenfisc16"}
    )


def _splits(passage: pl.DataFrame) -> list[str]:
    return (
        passage.filter(pl.col("type_passage") == "scission")["code_source"]
        .unique()
        .sort()
        .to_list()
    )


@pytest.mark.real_data
@pytest.mark.parametrize("name", ["passage_2019", "passage_1943"])
def test_every_current_code_is_retained_for_itself(
    name: str, communes: pl.DataFrame, request
) -> None:
    passage = request.getfixturevalue(name)
    retained = passage.filter(pl.col("retenu"))
    assert retained["code_source"].is_unique().all()
    assert set(passage["code_source"]) == set(retained["code_source"])
    assert passage.join(communes, on="code_commune", how="anti").is_empty()
    current = communes.select(pl.col("code_commune").alias("code_source")).join(
        retained, on="code_source"
    )
    assert current.height == 34_875
    assert (current["code_commune"] == current["code_source"]).all()


@pytest.mark.real_data
def test_current_codes_identical_on_filosofi_geography(passage_2019, communes) -> None:
    current = passage_2019.filter(pl.col("retenu")).join(
        communes.select(pl.col("code_commune").alias("code_source")), on="code_source"
    )
    # Split since 1 January 2019: Saline (2019-12-31), Les Hauts-Talican and Essarts en Bocage
    # (2024), Neussargues en Pinatelle (2025). Every other current code is itself.
    assert current.group_by("type_passage").len().sort("type_passage").rows() == [
        ("identique", 34_871),
        ("scission", 4),
    ]
    assert _splits(passage_2019) == ["14712", "15141", "60054", "85084"]
    assert passage_2019.height == 39_181
    assert (
        passage_2019["code_source"].n_unique() == 39_173
    )  # the passage table + 12 codes from the COG


@pytest.mark.real_data
def test_splits_over_the_whole_history(passage_1943, communes) -> None:
    splits = _splits(passage_1943)
    current = set(communes["code_commune"])
    report_figure(
        f"\nsplit source codes since 1943: {len(splits)}, "
        f"{sum(c in current for c in splits)} of them current"
    )
    assert len(splits) == 589
    assert sum(c in current for c in splits) == 494
    # Hocmont, suppressed in 1968 and shared between Guignicourt-sur-Vence (272 inhabitants)
    # and Touligny (83): the whole value goes to the most populous.
    hocmont = passage_1943.filter(pl.col("code_source") == "08227")
    assert hocmont.select("code_commune", "type_passage", "retenu").rows() == [
        ("08203", "scission", True),
        ("08454", "scission", False),
    ]


@pytest.mark.real_data
@pytest.mark.parametrize(
    ("code_source", "code_commune"),
    [
        # Charente communes nouvelles: Bellevigne (2017), Coteaux-du-Blanzacais (2017, 2019).
        ("16129", "16204"),  # Éraville
        ("16247", "16204"),  # Nonaville
        ("16386", "16204"),  # Touzac
        ("16417", "16204"),  # Viville
        ("16115", "16046"),  # Cressac-Saint-Genis
        ("16332", "16046"),  # Saint-Léger (2019)
        ("16010", "16186"),  # Ambleville → Lignières-Ambleville (2019)
        # Recoded to another département and merged the same day (2018-01-01).
        ("49144", "44180"),  # Freigné → Vallons-de-l'Erdre
        ("14513", "50592"),  # Pont-Farcy → Tessy-Bocage
    ],
)
def test_known_mergers(passage_1943, passage_2019, code_source: str, code_commune: str) -> None:
    for passage in (passage_1943, passage_2019):
        row = passage.filter(pl.col("code_source") == code_source)
        assert row.select("code_commune", "type_passage", "retenu").rows() == [
            (code_commune, "ancien_code", True)
        ]
    # From 1943 on, the movements alone lead there (the passage table is not needed).
    origine = passage_1943.filter(pl.col("code_source") == code_source)["origine"]
    assert origine.to_list() == ["mouvements"]


@pytest.mark.real_data
def test_plm_arrondissements(passage_2019, filosofi) -> None:
    arrondissements = pl.read_csv(
        MOUVEMENTS / "arrondissements_municipaux_plm.csv", infer_schema=False
    )
    got = passage_2019.filter(pl.col("type_passage") == "arrondissement").select(
        pl.col("code_source").alias("code_arrondissement_municipal"),
        pl.col("code_commune").alias("code_insee_commune"),
    )
    assert_frame_equal(got, arrondissements, check_row_order=False)
    # Filosofi gives Paris, Marseille and Lyon whole *and* by arrondissement: the households of
    # the arrondissements are exactly the commune's (persons differ by INSEE's rounding).
    for commune, prefixe in PLM.items():
        arr = filosofi.filter(pl.col("code_commune_source").str.starts_with(prefixe))
        whole = filosofi.filter(pl.col("code_commune_source") == commune)
        assert arr.height == {"75056": 20, "13055": 16, "69123": 9}[commune]
        assert arr["nbmenfisc16"].sum() == whole["nbmenfisc16"].item()
        assert arr["nbpersmenfisc16"].sum() == pytest.approx(whole["nbpersmenfisc16"].item(), abs=5)
        # Rebased alone, the arrondissements make the commune.
        rebased, quarantine, _ = rebase_communes(arr, passage_2019, ["nbmenfisc16"])
        assert quarantine.is_empty()
        assert rebased.select("code_commune", "nbmenfisc16").rows() == [
            (commune, whole["nbmenfisc16"].item())
        ]


@pytest.mark.real_data
def test_55273_disagreement(table_passage, communes, passage_2019) -> None:
    disagreements = passage_disagreements(table_passage, communes)
    assert disagreements.filter(pl.col("code_commune_table_passage").is_not_null()).rows() == [
        ("55273", "55386", "55245")
    ]
    missing = disagreements.filter(pl.col("code_commune_table_passage").is_null())["code_source"]
    assert missing.to_list() == [
        *("08227", "20044", "20076", "20151", "20237", "20294"),
        *("20325", "45117", "51385", "51606", "60606", "77362"),
    ]
    row = passage_2019.filter(pl.col("code_source") == "55273")
    assert row.select("code_commune", "origine").rows() == [("55386", "table_de_passage")]


@pytest.mark.real_data
def test_split_on_filosofi_is_flagged_not_duplicated(
    filosofi, filosofi_rebased, passage_2019
) -> None:
    rebased, _, _ = filosofi_rebased
    splits = rebased.filter(pl.col("scission")).sort("code_commune")
    assert splits["code_commune"].to_list() == ["14712", "15141", "60054", "85084"]
    # Neussargues en Pinatelle (15141) was split in 2025 into five communes: its whole value
    # stays with 15141, the four others get no row from it.
    source = filosofi.filter(pl.col("code_commune_source") == "15141")
    row = rebased.filter(pl.col("code_commune") == "15141")
    assert row["nbmenfisc16"].item() == source["nbmenfisc16"].item()
    others = passage_2019.filter(pl.col("code_source") == "15141", ~pl.col("retenu"))[
        "code_commune"
    ]
    assert others.to_list() == ["15031", "15035", "15047", "15171"]
    assert rebased.filter(pl.col("code_commune").is_in(others.implode())).is_empty()


@pytest.mark.real_data
def test_rebase_filosofi(filosofi, filosofi_rebased) -> None:
    rebased, quarantine, report = filosofi_rebased
    report_figure(
        f"\nFilosofi 2016 → COG 2026: {report['lignes_entree']} rows in, "
        f"{report['identiques']} identical, {report['rebasees']} rebased, "
        f"{report['fusionnees']} merged, {report['scissions']} from split codes, "
        f"{report['non_appariees']} unmatched, {report['lignes_rejetees']} rejected, "
        f"{report['lignes_sortie']} communes out"
    )
    assert report["lignes_entree"] == filosofi.height == 34_932
    assert report["lignes_entree"] == report["lignes_gardees"] + report["lignes_rejetees"]
    assert (
        report["identiques"],
        report["rebasees"],
        report["fusionnees"],
        report["scissions"],
    ) == (
        34_776,
        107,
        182,
        4,
    )
    assert report["non_appariees"] == 0
    assert report[f"rejet:{ARRONDISSEMENT_DEJA_COMPTE}"] == report["lignes_rejetees"] == 45
    assert rebased.height == report["lignes_sortie"] == 34_784
    assert rebased["code_commune"].is_unique().all()
    assert rebased["codes_commune_source"].list.len().sum() == report["lignes_gardees"]
    # Counts are conserved: national totals = input totals minus the rejected rows.
    rejected = filosofi.join(
        quarantine.select(pl.col("fichier").alias("fichier_origine"), "ligne"),
        on=["fichier_origine", "ligne"],
        how="semi",
    )
    for column in ("nbmenfisc16", "nbpersmenfisc16"):
        assert rebased[column].sum() == filosofi[column].sum() - rejected[column].sum()
    # Oullins-Pierre-Bénite (69149, 2024): both parts published a rate, re-weighted by persons.
    parts = filosofi.filter(pl.col("code_commune_source").is_in(["69149", "69152"]))
    expected = (parts["tp6016"] * parts["nbpersmenfisc16"]).sum() / parts["nbpersmenfisc16"].sum()
    oullins = rebased.filter(pl.col("code_commune") == "69149")
    assert oullins["tp6016"].item() == pytest.approx(expected)
    assert oullins["codes_commune_source"].item().to_list() == ["69149", "69152"]


@pytest.mark.real_data
def test_former_commune_names_resolve_charente_places(
    mouvements, communes, communes_deleguees, charente_raw
) -> None:
    names = former_commune_names(mouvements, communes)
    assert names.columns == ["code_departement", "nom", "code_commune"]
    assert names.join(communes, on="code_commune", how="anti").is_empty()
    table = (
        names.select("code_departement", normalise_nom(pl.col("nom")).alias("_nom"), "code_commune")
        .unique()
        .filter(pl.len().over("code_departement", "_nom") == 1)
    )
    places = charente_raw.filter(
        pl.col("commune").is_in(["MALAVILLE", "BLANZAC PORCHERESSE"])
    ).select(
        "commune",
        pl.col("code_postal").str.slice(0, 2).alias("code_departement"),
        normalise_nom(pl.col("commune")).alias("_nom"),
    )
    resolved = places.join(table, on=["code_departement", "_nom"], how="left").sort("commune")
    # Bellevigne (16204) and Coteaux-du-Blanzacais (16046), communes nouvelles of 2017.
    assert resolved.select("commune", "code_commune").rows() == [
        ("BLANZAC PORCHERESSE", "16046"),
        ("MALAVILLE", "16204"),
    ]
    # Neither name is a current commune or commune déléguée of the COG 2026.
    current = pl.concat(
        [
            communes.select("code_departement", "nom"),
            communes_deleguees.select("code_departement", "nom"),
        ]
    ).select("code_departement", normalise_nom(pl.col("nom")).alias("_nom"))
    assert places.join(current, on=["code_departement", "_nom"], how="semi").is_empty()
