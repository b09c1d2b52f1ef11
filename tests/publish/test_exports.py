"""Exports per département: CSV for French spreadsheets and XLSX, read back as agents would."""

from __future__ import annotations

import json
from pathlib import Path

import fastexcel
import openpyxl
import polars as pl
import pytest

from observatory.publish.exports import (
    ExportError,
    colonnes,
    departement_frames,
    export_departement,
    neutralise_formulas,
)
from observatory.settings import PROJECT_ROOT
from observatory.sources.raw import sha256_file

SCHEMAS = PROJECT_ROOT / "schemas"
INDICATEURS = ["nb_lieux", "lieux_pour_10k_hab"]
BOM = b"\xef\xbb\xbf"
# (niveau, code, nom, population, code_epci, code_departement, latitude)
ROWS = [
    ("commune", "01001", "L'Abergement-Clémenciat", 776, "200069193", "01", 46.15),
    ("commune", "01002", '=HYPERLINK("http://x","clic")', 248, "200069193", "01", 46.0),
    ("commune", "2A004", "Ajaccio", 76320, "242010056", "2A", 41.93),
    ("commune", "2B033", "Bastia", 48303, "242000354", "2B", 42.7),
    ("commune", "16015", "Angoulême", 41711, "200071827", "16", 45.65),
    ("commune", "17300", "La Rochelle", 79961, "200071827", "17", 46.16),  # EPCI across two
    ("commune", "16999", "-Commune sans EPCI", 12, None, "16", None),
    ("epci", "200069193", "CC de la Dombes", 1024, None, None, None),
    ("epci", "242010056", "CA du Pays Ajaccien", 76320, None, None, None),
    ("epci", "242000354", "CA de Bastia", 48303, None, None, None),
    ("epci", "200071827", "@EPCI fictif", 121672, None, None, None),
    ("departement", "01", "Ain", 1024, None, None, None),
    ("departement", "2A", "Corse-du-Sud", 76320, None, None, None),
    ("departement", "2B", "Haute-Corse", 48303, None, None, None),
    ("departement", "16", "Charente", 41723, None, None, None),
    ("departement", "17", "Charente-Maritime", 79961, None, None, None),
]


def territoires() -> pl.DataFrame:
    """A `territoires` table with every column of its Table Schema."""
    frame = pl.DataFrame(
        ROWS,
        schema=["niveau", "code", "nom", "population", "code_epci", "code_departement", "lat"],
        orient="row",
    )
    return frame.select(
        "niveau",
        "code",
        "nom",
        "population",
        pl.lit(2026, pl.Int32).alias("millesime_cog"),
        "code_epci",
        "code_departement",
        pl.lit("94").alias("code_region"),
        pl.lit(None, pl.String).alias("code_bassin_de_vie"),
        pl.lit("000").alias("code_aav"),
        pl.lit("20").alias("categorie_aav"),
        pl.lit(7, pl.Int8).alias("grille_densite_7"),
        pl.lit(4, pl.Int8).alias("grille_densite_4"),
        pl.col("lat").alias("latitude"),
        pl.lit(8.5).alias("longitude"),
    )


def indicateurs_large() -> pl.DataFrame:
    """nb_lieux known except for Bastia (unknown, never 0); a rate with decimals."""
    base = territoires().select("niveau", "code", "nom", "population")
    return base.with_columns(
        pl.when(pl.col("code") == "2B033").then(None).otherwise(2.0).alias("nb_lieux"),
    ).with_columns((pl.col("nb_lieux") * 10_000 / pl.col("population")).alias(INDICATEURS[1]))


def make_release(root: Path) -> Path:
    folder = root / "releases" / "20260101T000000Z-aaaaaaaaaa"
    folder.mkdir(parents=True)
    tables = {}
    for name, frame in (("territoires", territoires()), ("indicateurs_large", indicateurs_large())):
        frame.write_parquet(folder / f"{name}.parquet")
        entry = {"path": f"{name}.parquet", "rows": frame.height}
        entry["sha256"] = sha256_file(folder / f"{name}.parquet")
        tables[name] = {"files": [entry], "rows": frame.height}
    manifest = {
        "release_id": folder.name,
        "created_at": "2026-01-01T00:00:00+00:00",
        "millesime_cog": 2026,
        "tables": tables,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


@pytest.mark.parametrize(
    ("code", "communes", "epci", "nb_communes_departement"),
    [
        ("01", ["01001", "01002"], ["200069193"], [2]),
        ("2A", ["2A004"], ["242010056"], [1]),
        ("2B", ["2B033"], ["242000354"], [1]),
        ("16", ["16015", "16999"], ["200071827"], [1]),  # the EPCI also spans 17
        ("17", ["17300"], ["200071827"], [1]),
    ],
)
def test_departement_frames_select_its_territories(
    code: str, communes: list[str], epci: list[str], nb_communes_departement: list[int]
) -> None:
    frames = departement_frames(territoires(), indicateurs_large(), code, INDICATEURS)
    assert list(frames) == ["departement", "epci", "communes"]
    assert frames["departement"]["code"].to_list() == [code]
    assert frames["communes"]["code"].to_list() == communes
    assert frames["epci"]["code"].to_list() == epci
    assert frames["epci"]["nb_communes_departement"].to_list() == nb_communes_departement
    assert frames["communes"].columns[-2:] == INDICATEURS


@pytest.mark.parametrize("code", ["1", "20", "2C", "99", "975", "../16", "16;", "976"])
def test_unknown_departements_are_refused(code: str) -> None:
    with pytest.raises(ExportError):  # 976 passes the pattern but is not in the table
        departement_frames(territoires(), indicateurs_large(), code, INDICATEURS)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+33 5 45", "'+33 5 45"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("Saint-Jean = 2", "Saint-Jean = 2"),
        ("2A004", "2A004"),
        ("", ""),
        (None, None),
    ],
)
def test_neutralise_formulas(value: str | None, expected: str | None) -> None:
    frame = pl.DataFrame({"nom": [value], "n": [-1]}, schema={"nom": pl.String, "n": pl.Int64})
    out = neutralise_formulas(frame)
    assert out["nom"].item() == expected and out["n"].item() == -1  # numbers untouched


def test_titles_come_from_the_schemas_and_the_dictionary() -> None:
    titles = colonnes(SCHEMAS)
    assert titles["population"].titre == "Population municipale"
    assert titles["code_epci"].titre == "Code SIREN de l'EPCI"  # "(communes)" dropped
    assert titles["nb_lieux"].titre == "Nombre de lieux de médiation numérique"
    assert titles["lieux_pour_10k_hab"].unite == "lieux pour 10 000 habitants"


def test_csv_reads_back_in_french_format(tmp_path: Path) -> None:
    outcome = export_departement(make_release(tmp_path), "01", tmp_path / "out", SCHEMAS)
    path = tmp_path / "out" / "departement_01_communes.csv"
    assert path in outcome.fichiers and outcome.lignes == {
        "departement": 1,
        "epci": 1,
        "communes": 2,
    }
    raw = path.read_bytes()
    assert raw.startswith(BOM) and b";" in raw.splitlines()[0]
    rate = colonnes(SCHEMAS)["lieux_pour_10k_hab"].titre
    back = pl.read_csv(
        path,
        separator=";",
        decimal_comma=True,
        infer_schema=False,
        schema_overrides={rate: pl.Float64, "Latitude du point de la commune (WGS84)": pl.Float64},
    )
    assert back.columns[:3] == ["Code du territoire", "Nom", "Population municipale"]
    assert back["Code du territoire"].to_list() == ["01001", "01002"]
    assert back["Nom"].to_list() == [
        "L'Abergement-Clémenciat",
        '\'=HYPERLINK("http://x","clic")',
    ]
    # rounded to the dictionary's precision: 1 decimal for places per 10 000 inhabitants
    # (2 × 10 000 / 776 = 25.77…), counts as whole numbers
    assert back[rate].to_list() == [25.8, 80.6]
    text = raw.decode("utf-8-sig")
    assert "25,8\r\n" in text and "25,77" not in text  # decimal comma, no exponent
    assert back["Nombre de lieux de médiation numérique"].to_list() == ["2", "2"]


def test_csv_keeps_corsican_codes_and_unknown_values_empty(tmp_path: Path) -> None:
    export_departement(make_release(tmp_path), "2B", tmp_path, SCHEMAS)
    back = pl.read_csv(tmp_path / "departement_2B_communes.csv", separator=";", infer_schema=False)
    row = back.row(0, named=True)
    assert row["Code du territoire"] == "2B033" and row["Code SIREN de l'EPCI"] == "242000354"
    assert row["Nombre de lieux de médiation numérique"] is None  # unknown, not 0


def test_xlsx_sheets_text_cells_and_blanks(tmp_path: Path) -> None:
    export_departement(make_release(tmp_path), "16", tmp_path, SCHEMAS)
    path = tmp_path / "departement_16.xlsx"
    reader = fastexcel.read_excel(path)
    assert reader.sheet_names == ["Département", "EPCI", "Communes", "Informations"]
    communes = reader.load_sheet_by_name(
        "Communes", dtypes={"Code du territoire": "string", "Code SIREN de l'EPCI": "string"}
    ).to_polars()
    assert communes["Code du territoire"].to_list() == ["16015", "16999"]
    assert communes["Population municipale"].to_list() == [41711, 12]
    departement = reader.load_sheet_by_name(
        "Département", dtypes={"Code du territoire": "string"}
    ).to_polars()
    assert departement.row(0)[:3] == ("16", "Charente", 41723)

    workbook = openpyxl.load_workbook(path)
    epci = workbook["EPCI"]
    assert epci["B2"].value == "@EPCI fictif" and epci["B2"].data_type == "s"  # not a formula
    assert epci["A2"].data_type == "s" and epci["A2"].value == "200071827"
    assert workbook["Communes"]["B3"].value == "-Commune sans EPCI"
    assert workbook["Communes"]["B3"].data_type == "s"
    assert workbook["Communes"]["D3"].value is None  # no EPCI: blank cell
    info = {row[0]: row[1] for row in workbook["Informations"].iter_rows(values_only=True)}
    assert info["Release de l'observatoire"] == "20260101T000000Z-aaaaaaaaaa"
    assert info["Colonne"] == "Nom technique"
    # numbers shown with the dictionary's precision: counts with thousands, rates 1 decimal
    communes = workbook["Communes"]
    titres = {cell.value: cell.column_letter for cell in communes[1]}
    nb_lieux = titres["Nombre de lieux de médiation numérique"]
    taux = titres["Lieux de médiation numérique pour 10 000 habitants"]
    assert communes[f"{nb_lieux}2"].value == 2 and communes[f"{nb_lieux}2"].number_format == "#,##0"
    assert communes[f"{taux}2"].value == 0.5  # 2 × 10 000 / 41 711 = 0.479…
    assert communes[f"{taux}2"].number_format == "#,##0.0"
    precision = {row[1]: row[4] for row in workbook["Informations"].iter_rows(values_only=True)}
    assert precision["nb_lieux"] == "entier" and precision["lieux_pour_10k_hab"] == "1 décimale"


def test_xlsx_formula_like_names_stay_text(tmp_path: Path) -> None:
    export_departement(make_release(tmp_path), "01", tmp_path, SCHEMAS)
    sheet = openpyxl.load_workbook(tmp_path / "departement_01.xlsx")["Communes"]
    assert sheet["B3"].value == '=HYPERLINK("http://x","clic")'
    assert sheet["B3"].data_type == "s"
    assert sheet["A2"].value == "01001" and sheet["A2"].data_type == "s"


@pytest.mark.real_data
def test_real_charente_export_adds_up(pipeline_run, tmp_path: Path) -> None:
    """Charente from the end-to-end release: every commune once, populations add up."""
    settings, outcome = pipeline_run
    result = export_departement(outcome.release, "16", tmp_path, settings.schemas_dir)
    communes = pl.read_csv(
        tmp_path / "departement_16_communes.csv",
        separator=";",
        decimal_comma=True,
        schema_overrides={"Code du territoire": pl.String, "Code SIREN de l'EPCI": pl.String},
    )
    departement = pl.read_csv(
        tmp_path / "departement_16_departement.csv",
        separator=";",
        schema_overrides={"Code du territoire": pl.String},
    )
    epci = fastexcel.read_excel(tmp_path / "departement_16.xlsx").load_sheet_by_name("EPCI")
    assert communes.height == result.lignes["communes"] > 300
    assert communes["Code du territoire"].str.starts_with("16").all()
    assert communes["Code du territoire"].is_unique().all()
    population = departement["Population municipale"].item()
    assert communes["Population municipale"].sum() == population
    assert epci.to_polars()["Nombre de communes dans le département"].sum() == communes.height
    nb_lieux = "Nombre de lieux de médiation numérique"
    assert communes[nb_lieux].sum() == departement[nb_lieux].item()
