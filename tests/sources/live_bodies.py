"""Live-format bodies BUILT from the real bundled data (no real capture exists: this machine has
no network). Each builder reshapes a bundled file into the format SOURCES.md documents for the
live file of the same source, so a parser's output can be compared with the bundled file row
by row. What is reshaped, and how, is said in each docstring and in tests/fixtures/http/README.md.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from functools import cache

import polars as pl
import xlsxwriter

from observatory.settings import PROJECT_ROOT

ASSETS = PROJECT_ROOT / "assets"
ARCEP = ASSETS / "arcep_2019/commune_debit_beta_20190930_national.parquet"
FILOSOFI = ASSETS / "insee_filosofi_2016/filosofi_2016_communes_national.parquet"
FILOSOFI_EPCI = ASSETS / "insee_filosofi_2016/filosofi_2016_epci.csv"
FILOSOFI_TERRITOIRES = {
    FILOSOFI_EPCI: "EPCI",
    ASSETS / "insee_filosofi_2016/filosofi_2016_departements.csv": "DEP",
    ASSETS / "insee_filosofi_2016/filosofi_2016_regions.csv": "REG",
}
RP2018 = ASSETS / "insee_rp/rp2018_communes_2000hab_national.parquet"
CAF = ASSETS / "cnaf_2020/cnaf_demo_2020_v1_communes.csv"
CAF_RSA = ASSETS / "cnaf_2020/caf_arsas_iris_national.csv"
DEFM = ASSETS / "pole_emploi_2019/defm_2019_communes.csv"
FRANCE_SERVICES = ASSETS / "france_services/liste_france_services_20221201.csv"
ZONAGES = ASSETS / "insee_zonages_2025/zonages_communes_cog2025_national.parquet"
GRILLES = ASSETS / "anct_grilles_2026/grilles_communales_anct_national.parquet"


def _csv(frame: pl.DataFrame, separator: str = ";", bom: bool = False) -> bytes:
    body = frame.write_csv(separator=separator).encode("utf-8")
    return b"\xef\xbb\xbf" + body if bom else body


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _xlsx(sheets: dict[str, tuple[Sequence[str], pl.DataFrame]]) -> bytes:
    """One sheet per entry: preamble lines, then the header and rows (all as text, like INSEE
    codes are)."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "constant_memory": True})
    for name, (preamble, frame) in sheets.items():
        sheet = book.add_worksheet(name)
        for r, line in enumerate(preamble):
            sheet.write_string(r, 0, line)
        start = len(preamble)
        sheet.write_row(start, 0, frame.columns)
        for r, row in enumerate(frame.iter_rows(), start=start + 1):
            for c, value in enumerate(row):
                if value is not None:
                    sheet.write_string(r, c, str(value))
    book.close()
    return buffer.getvalue()


def _filter(frame: pl.DataFrame, column: str, codes: Sequence[str] | None) -> pl.DataFrame:
    return frame if codes is None else frame.filter(pl.col(column).is_in(list(codes)))


def arcep_filaire(codes: Sequence[str] | None = None) -> bytes:
    """`commune_debit_filaire.csv`: the beta file's speed classes accumulated into thresholds
    (≥ 3, 8, 30, 100 Mbit/s, 1 Gbit/s), `inel_hd` = below 3 Mbit/s (beta `inel_hd` +
    `elig_hd05`), `;`-separated, the live column order."""
    beta = _filter(pl.read_parquet(ARCEP), "code_insee", codes)
    thd = pl.col("elig_thd100") + pl.col("elig_thd1g")
    return _csv(
        beta.select(
            "code_insee",
            "nom_com",
            "code_dep",
            "code_reg",
            "nbr",
            "type",
            "date",
            (pl.col("inel_hd") + pl.col("elig_hd05")).alias("inel_hd"),
            (pl.col("elig_hd3") + pl.col("elig_hd8") + pl.col("elig_thd30") + thd).alias(
                "elig_hd3"
            ),
            (pl.col("elig_hd8") + pl.col("elig_thd30") + thd).alias("elig_bhd8"),
            (pl.col("elig_thd30") + thd).alias("elig_thd30"),
            thd.alias("elig_thd100"),
            "elig_thd1g",
        )
    )


def filosofi_zip(codes: Sequence[str] | None = None) -> bytes:
    """`FILOSOFI_CC_csv.zip` → `DS_FILOSOFI_CC_data.csv`, long format: one row per commune ×
    measure (`MED_SL` ← med16, `PR_MD60` ← tp6016, empty `OBS_VALUE` and `CONF_STATUS` `C`
    where secret), `TIME_PERIOD` 2016, plus the rows of the bundled EPCI, département and région
    files as GEO_OBJECT `EPCI`, `DEP`, `REG` (which the communes parser must leave out)."""
    communes = _filter(pl.read_parquet(FILOSOFI), "codgeo", codes).select(
        pl.col("codgeo").alias("GEO"), pl.lit("COM").alias("GEO_OBJECT"), "med16", "tp6016"
    )
    territoires = [
        pl.read_csv(path, infer_schema=False).select(
            pl.col("codgeo").alias("GEO"),
            pl.lit(objet).alias("GEO_OBJECT"),
            pl.col("med16").cast(pl.Float64),
            pl.col("tp6016").cast(pl.Float64),
        )
        for path, objet in FILOSOFI_TERRITOIRES.items()
    ]
    long = (
        pl.concat([communes, *territoires])
        .unpivot(index=["GEO", "GEO_OBJECT"], on=["med16", "tp6016"], variable_name="m")
        .select(
            "GEO",
            "GEO_OBJECT",
            pl.col("m").replace({"med16": "MED_SL", "tp6016": "PR_MD60"}).alias("FILOSOFI_MEASURE"),
            pl.col("m").replace({"med16": "EUR_YR", "tp6016": "PCT"}).alias("UNIT_MEASURE"),
            pl.lit("0").alias("UNIT_MULT"),
            pl.when(pl.col("value").is_null())
            .then(pl.lit("C"))
            .otherwise(pl.lit("F"))
            .alias("CONF_STATUS"),
            pl.lit("A").alias("OBS_STATUS"),
            pl.lit("2016").alias("TIME_PERIOD"),
            pl.col("value").cast(pl.String).alias("OBS_VALUE"),
        )
    )
    return _zip(
        {
            "DS_FILOSOFI_CC_data.csv": _csv(long),
            "DS_FILOSOFI_CC_metadata.csv": b"COD_VAR;LIB_VAR\nMED_SL;Mediane\n",
        }
    )


RP_AGES = {"pop_tot": "POP", "pop_0_14": "POP0014", "pop_15_29": "POP1529", "pop_75p": "POP75P"}
RP_DIPLOMES = {
    "pop_non_scol_15p": "NSCOL15P",
    "pop_dipl_aucun": "NSCOL15P_DIPLMIN",
    "pop_dipl_bepc": "NSCOL15P_BEPC",
    "pop_dipl_capbep": "NSCOL15P_CAPBEP",
    "pop_dipl_bac": "NSCOL15P_BAC",
    "pop_dipl_sup2": "NSCOL15P_SUP2",
    "pop_dipl_sup34": "NSCOL15P_SUP34",
    "pop_dipl_sup": "NSCOL15P_SUP5",
}


def _rp_iris(codes: Sequence[str] | None, variables: dict[str, str], name: str) -> bytes:
    """A `base-ic-*_csv.zip` from the RP 2018 commune counts (prefix `P18_`): each commune is
    one IRIS `<COM>0000`, except the first, split into two IRIS carrying half of each count
    (the parser must sum them back)."""
    rp = _filter(pl.read_parquet(RP2018), "code_insee", codes)
    columns = [pl.col(src).alias(f"P18_{dst}") for src, dst in variables.items()]
    iris = rp.select(
        (pl.col("code_insee") + "0000").alias("IRIS"),
        pl.col("code_insee").alias("COM"),
        pl.lit("Z").alias("TYP_IRIS"),
        pl.lit("").alias("LAB_IRIS"),
        *columns,
    )
    first = iris.head(1)
    values = [c for c in iris.columns if c.startswith("P18_")]
    halves = pl.concat(
        [
            first.with_columns(
                (pl.col("COM") + suffix).alias("IRIS"),
                pl.lit("H").alias("TYP_IRIS"),
                *(pl.col(v) / 2 for v in values),
            )
            for suffix in ("0101", "0102")
        ]
    )
    body = pl.concat([halves, iris.slice(1)])
    return _zip({f"{name}.CSV": _csv(body), f"meta_{name}.CSV": b"COD_VAR;LIB_VAR\n"})


def rp_evol_struct_pop(codes: Sequence[str] | None = None) -> bytes:
    return _rp_iris(codes, RP_AGES, "base-ic-evol-struct-pop-2018")


def rp_diplomes(codes: Sequence[str] | None = None) -> bytes:
    return _rp_iris(codes, RP_DIPLOMES, "base-ic-diplomes-formation-2018")


@cache
def rsa_communes() -> pl.DataFrame:
    """The bundled RSA allocataires by IRIS summed by commune (the IRIS code's first 5
    characters), as text: the `indfoy_rsa` of the live export built from them."""
    iris = pl.read_csv(CAF_RSA, infer_schema=False)
    return (
        iris.group_by(pl.col("CODE_IRIS").str.slice(0, 5).alias("numcomdo"))
        .agg(pl.col("ARSAS").cast(pl.Float64).sum().cast(pl.Int64).cast(pl.String))
        .rename({"ARSAS": "indfoy_rsa"})
    )


def caf_s_ben_com_f(codes: Sequence[str] | None = None) -> bytes:
    """`s_ben_com_f` export: `dtreffre` 2020-12-31, `numcomdo` ← CODGEO, `indfoy_ndur` ← A,
    `indnbp_ndur` ← PERCOU, `indfoy_rsa` ← the bundled RSA IRIS file summed by commune
    (`rsa_communes`); plus the same communes at 2019-12-31 with other counts (the parser keeps
    the latest reference date only)."""
    caf = _filter(pl.read_csv(CAF, infer_schema=False), "CODGEO", codes)
    rows = caf.select(
        pl.col("CODGEO").alias("numcomdo"),
        pl.col("A").alias("indfoy_ndur"),
        pl.col("PERCOU").alias("indnbp_ndur"),
    ).join(rsa_communes(), on="numcomdo", how="left", maintain_order="left")
    older = rows.with_columns(pl.lit("1").alias("indfoy_ndur"), pl.lit("1").alias("indnbp_ndur"))
    return _csv(
        pl.concat(
            [
                older.with_columns(pl.lit("2019-12-31").alias("dtreffre")),
                rows.with_columns(pl.lit("2020-12-31").alias("dtreffre")),
            ]
        ).select("dtreffre", "numcomdo", "indfoy_ndur", "indnbp_ndur", "indfoy_rsa")
    )


def dares_defm(codes: Sequence[str] | None = None) -> bytes:
    """`dares_defm_communales-brutes` labelled CSV (`;`, UTF-8 BOM): for each commune, ABC
    Total/Total (← ABC), Hommes/Total (← ABC_H) and Total/Moins de 25 ans (← ABC_25) at
    2019-T4, and Total/Total at 2019-T3 (← ABCDE, a decoy) — the parser keeps the first."""
    defm = _filter(pl.read_csv(DEFM, infer_schema=False), "CODGEO", codes)
    parts = [
        defm.select(
            pl.lit(date).alias("Date"),
            pl.col("CODGEO").str.slice(0, 2).alias("Code département"),
            pl.col("CODGEO").alias("Code commune"),
            pl.lit("Brutes").alias("Type de données"),
            pl.lit("ABC").alias("Catégorie"),
            pl.lit(sexe).alias("Sexe"),
            pl.lit(age).alias("Tranche d'âge"),
            pl.col(column).alias("Nombre de demandeurs d'emploi"),
        )
        for date, sexe, age, column in (
            ("2019-T4", "Total", "Total", "ABC"),
            ("2019-T4", "Hommes", "Total", "ABC_H"),
            ("2019-T4", "Total", "Moins de 25 ans", "ABC_25"),
            ("2019-T3", "Total", "Total", "ABCDE"),
        )
    ]
    return _csv(pl.concat(parts), bom=True)


def france_services(ids: Sequence[str] | None = None) -> bytes:
    """The data.gouv list's columns (SOURCES.md §3, `;`): the bundled 2022 rows with `groupe`
    → `groupe_fs`, `labellisation` → `labellisation_fs`, no `itinerance`, empty `type_fs`,
    `site_web`, `prise_rdv`, in the live column order."""
    liste = _filter(pl.read_csv(FRANCE_SERVICES, infer_schema=False), "id_fs", ids)
    live = liste.rename({"groupe": "groupe_fs", "labellisation": "labellisation_fs"}).with_columns(
        pl.lit(None, pl.String).alias(c) for c in ("type_fs", "site_web", "prise_rdv")
    )
    order = [
        "id_fs",
        "lib_fs",
        "format_fs",
        "type_fs",
        "groupe_fs",
        "insee_dep",
        "insee_com",
        "code_postal",
        "lib_com",
        "adresse",
        "complement_adresse",
        "latitude",
        "longitude",
        "telephone",
        "mail",
        "site_web",
        "prise_rdv",
        "h_lundi",
        "h_mardi",
        "h_mercredi",
        "h_jeudi",
        "h_vendredi",
        "h_samedi",
        "commentaire",
        "labellisation_fs",
    ]
    return _csv(live.select(order))


ZONES = ("ARR", "CV", "ZE2020", "UU2020", "AAV2020", "BV2022")
COM_SHEET = (
    "ARR",
    "CV",
    "ZE2020",
    "UU2020",
    "TUU2017",
    "TDUU2017",
    "AAV2020",
    "TAAV2017",
    "TDAAV2017",
    "CATEAAV2020",
    "BV2022",
)
INSEE_PREAMBLE = (
    "Table d'appartenance géographique des communes au 1er janvier 2026",
    "Source : Insee, code officiel géographique",
    "",
    "",
    "",
)


@cache
def table_appartenance(codes: tuple[str, ...] | None = None) -> bytes:
    """`table-appartenance-geo-communes-2026.zip`: sheet `COM` (CODGEO, LIBGEO and the bundled
    code columns) and `Zones_supra_communales` (NIVGEO, CODGEO, LIBGEO, NB_COM from the bundled
    `LIB_*`), 5 preamble lines each, header on row 6."""
    zonages = _filter(pl.read_parquet(ZONAGES), "DEPCOM", codes)
    com = zonages.select(
        pl.col("DEPCOM").alias("CODGEO"), pl.lit(None, pl.String).alias("LIBGEO"), *COM_SHEET
    )
    supra = pl.concat(
        [
            zonages.group_by(zone, f"LIB_{zone}")
            .agg(pl.len().cast(pl.String).alias("NB_COM"))
            .select(
                pl.lit(zone).alias("NIVGEO"),
                pl.col(zone).alias("CODGEO"),
                pl.col(f"LIB_{zone}").alias("LIBGEO"),
                "NB_COM",
            )
            .sort("CODGEO")
            for zone in ZONES
        ]
    )
    xlsx = _xlsx({"COM": (INSEE_PREAMBLE, com), "Zones_supra_communales": (INSEE_PREAMBLE, supra)})
    return _zip({"table-appartenance-geo-communes-2026.xlsx": xlsx})


@cache
def grille_densite(codes: tuple[str, ...] | None = None) -> bytes:
    """`fichier_diffusion_2026.xlsx`: a `Maille départementale` sheet first (a decoy without
    DENS7), then `Maille communale` (CODGEO, LIBGEO, DENS7, LIBDENS7 from the bundled codes and
    labels), 4 preamble lines, header on row 5."""
    grilles = _filter(pl.read_parquet(GRILLES), "insee_com", codes)
    communes = grilles.select(
        pl.col("insee_com").alias("CODGEO"),
        pl.col("lib_com").alias("LIBGEO"),
        pl.col("densite_7_code").cast(pl.String).alias("DENS7"),
        pl.col("densite_7_libelle").alias("LIBDENS7"),
    )
    deps = pl.DataFrame({"CODGEO": ["16"], "P_RURAL": ["61.2"]})
    preamble = ("Grille communale de densité 2025", "Géographie au 01/01/2026", "", "")
    return _xlsx(
        {"Maille départementale": (preamble, deps), "Maille communale": (preamble, communes)}
    )


MOUVEMENTS = ASSETS / "insee_cog_mouvements/mvt_communes_insee_cog2025_national.parquet"
PASSAGE = ASSETS / "insee_cog_mouvements/passage_communes_historique_vers_cog2025_national.parquet"


@cache
def mouvements_communes() -> bytes:
    """`v_mvt_commune_2026.csv`: the bundled movements (COGiter's copy of INSEE's table, same
    14 columns) written back as INSEE publishes them, comma-separated UTF-8."""
    return _csv(pl.read_parquet(MOUVEMENTS), separator=",")


@cache
def table_passage(splits: tuple[tuple[str, str], ...] = ()) -> bytes:
    """`table_passage_geo2003_geo2026.zip`: sheet `COM` (CODGEO_INI, CODGEO_2026, LIBGEO_2026
    left empty), 5 preamble lines, header on row 6, from the bundled passage table; `splits`
    adds extra (old code, other target) rows as INSEE lists a split code once per target."""
    passage = pl.read_parquet(PASSAGE).select(
        pl.col("code_insee_historique").alias("CODGEO_INI"),
        pl.col("code_insee_cog2025").alias("CODGEO_2026"),
        pl.lit(None, pl.String).alias("LIBGEO_2026"),
    )
    if splits:
        extra = pl.DataFrame(
            {"CODGEO_INI": [a for a, _ in splits], "CODGEO_2026": [b for _, b in splits]}
        ).with_columns(pl.lit(None, pl.String).alias("LIBGEO_2026"))
        passage = pl.concat([passage, extra])
    preamble = ("Table de passage des communes entre 2003 et 2026", "Source : Insee", "", "", "")
    notes = pl.DataFrame({"Documentation": ["Codes géographiques au 1er janvier de chaque année"]})
    xlsx = _xlsx({"Documentation": ((), notes), "COM": (preamble, passage)})
    return _zip({"table_passage_geo2003_geo2026.xlsx": xlsx})


RP2017 = ASSETS / "insee_rp/rp2017_taux_diplomes_menages_age_national.parquet"
BASE_15P = 1000.0  # people aged 15+ and households per commune when only shares are known


def rp_parts_counts(codes: Sequence[str] | None = None) -> pl.DataFrame:
    """Counts whose ratios are the bundled RP 2017 shares (no count is published with them):
    1 000 people aged 15+ (30 % of the 15–24 aged 15–17, the rest 18–24; no 25–29 so that
    30+ = 15+ − 15–24), 1 000 households; every out-of-school person with at most a CAP-BEP
    counted as `DIPLMIN`. A null share gives null counts."""
    parts = _filter(pl.read_parquet(RP2017), "CODE_INSEE", codes)
    p1524 = pl.col("TX_25ETMOINS") * BASE_15P / 100
    menages = pl.when(pl.col("TX_MENSEUL").is_not_null()).then(BASE_15P)
    diplome = pl.when(pl.col("TX_NSCOL15P").is_not_null()).then(0.0)
    return parts.select(
        pl.col("CODE_INSEE").alias("COM"),
        (pl.col("TX_65ETPLUS") * BASE_15P / 100).alias("POP65P"),
        (p1524 * 0.3).alias("POP1517"),
        (p1524 * 0.7).alias("POP1824"),
        pl.when(p1524.is_not_null()).then(0.0).alias("POP2529"),
        (BASE_15P - p1524).alias("POP30P"),
        (pl.col("TX_NSCOL15P") * BASE_15P / 100).alias("NSCOL15P_DIPLMIN"),
        diplome.alias("NSCOL15P_BEPC"),
        diplome.alias("NSCOL15P_CAPBEP"),
        menages.alias("MEN"),
        (pl.col("TX_MENSEUL") * BASE_15P / 100).alias("MENPSEUL"),
        (pl.col("TX_FAMMONO") * BASE_15P / 100).alias("MENFAMMONO"),
    )


# the out-of-school 15+ with at most a CAP-BEP, by level
RP_PARTS_DIPLOMES_SOMME = ("NSCOL15P_DIPLMIN", "NSCOL15P_BEPC", "NSCOL15P_CAPBEP")
# per file: prefix, what the shares parser reads, what the RP 2018 effectifs parser reads
RP_PARTS_FILES = {
    "evol-struct-pop": ("P", ("POP65P",), RP_AGES.values()),
    "diplomes-formation": (
        "P",
        ("POP1517", "POP1824", "POP2529", "POP30P", *RP_PARTS_DIPLOMES_SOMME),
        RP_DIPLOMES.values(),
    ),
    "couples-familles-menages": ("C", ("MEN", "MENPSEUL", "MENFAMMONO"), ()),
}


def rp_iris_zips(
    codes: Sequence[str] | None = None, yy: str = "18", effectifs: bool = True
) -> dict[str, bytes]:
    """The three `base-ic-*-20<yy>_csv.zip` (one IRIS `<COM>0000` per commune, `meta_` file
    naming the variables) carrying both what the RP 2018 effectifs parser reads (the bundled
    RP 2018 counts, communes over 2 000 inhabitants) and what the shares parser reads
    (`rp_parts_counts`, every commune). For a commune in both files the diploma counts are
    RP 2018's and the 15+ base is its out-of-school 15+ count: its recomputed shares are
    plausible, not the bundled ones. `effectifs=False`: shares only (exact round trip)."""
    parts = rp_parts_counts(codes)
    frame = parts
    if effectifs:
        rp = _filter(pl.read_parquet(RP2018), "code_insee", codes).select(
            pl.col("code_insee").alias("COM"),
            *(pl.col(src).alias(dst) for src, dst in {**RP_AGES, **RP_DIPLOMES}.items()),
        )
        frame = parts.join(rp, on="COM", how="full", coalesce=True, suffix="_rp2018")
        base = pl.col("NSCOL15P")
        in_rp = base.is_not_null()
        scale = base / BASE_15P
        frame = frame.with_columns(
            *(
                pl.when(in_rp).then(pl.col(c) * scale).otherwise(pl.col(c)).alias(c)
                for c in ("POP65P", "POP1517", "POP1824", "POP2529", "POP30P")
            ),
            *(
                pl.when(in_rp).then(pl.col(f"{c}_rp2018")).otherwise(pl.col(c)).alias(c)
                for c in RP_PARTS_DIPLOMES_SOMME
            ),
        ).drop(pl.selectors.ends_with("_rp2018"))
    zips = {}
    for kind, (prefix, parts_vars, effectifs_vars) in RP_PARTS_FILES.items():
        variables = list(dict.fromkeys([*parts_vars, *(effectifs_vars if effectifs else ())]))
        body = frame.select(
            (pl.col("COM") + "0000").alias("IRIS"),
            "COM",
            *(pl.col(v).alias(f"{prefix}{yy}_{v}") for v in variables),
        )
        meta = pl.DataFrame(
            {"COD_VAR": [f"{prefix}{yy}_{v}" for v in variables], "LIB_VAR": variables}
        )
        name = f"base-ic-{kind}-20{yy}"
        zips[f"{name}_csv.zip"] = _zip({f"{name}.CSV": _csv(body), f"meta_{name}.CSV": _csv(meta)})
    return zips
