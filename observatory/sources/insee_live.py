"""INSEE's live files → the layouts of the bundled INSEE files (Filosofi, RP, zonages, grille).

Each parser documents what it fills, what stays null because the live file does not have it,
and where the live product differs from the bundled one (vintage, geography, definitions).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import polars as pl

from observatory.sources.live_formats import (
    ANNEE_DONNEES,
    as_text,
    excel_sheets,
    numbers,
    read_csv_text,
    read_excel_table,
    require,
    to_layout,
    year_of,
    zip_member,
)

# ---- Filosofi (long format, Filosofi 2021 geo2025 and Filosofi 2 / 2023) ----------------------

# The columns of assets/insee_filosofi_2016/filosofi_2016_communes_national.parquet that the
# staging reads (observatory.transforms.statistics.stage_filosofi_communes), in file order.
FILOSOFI_COLUMNS: tuple[str, ...] = ("codgeo", "libgeo", "nbmenfisc16", "nbpersmenfisc16", "med16")
FILOSOFI_COLUMNS_ALL: tuple[str, ...] = (*FILOSOFI_COLUMNS, "tp6016")
# FILOSOFI_MEASURE → bundled column (SOURCES.md §7: MED_SL médiane du niveau de vie, PR_MD60
# taux de pauvreté au seuil de 60 %, in percent like tp6016).
FILOSOFI_MEASURES: dict[str, str] = {"MED_SL": "med16", "PR_MD60": "tp6016"}
# The level of a row of the territories file (live: one file for EPCI, DEP and REG).
NIVEAU_FILOSOFI = "niveau_filosofi"
FILOSOFI_LONG = ("GEO", "GEO_OBJECT", "FILOSOFI_MEASURE", "TIME_PERIOD", "OBS_VALUE")


def _filosofi_wide(payload: bytes, geo_objects: Mapping[str, str], what: str) -> pl.DataFrame:
    """The long Filosofi file, rows of `geo_objects` (GEO_OBJECT → our level), pivoted.

    Per territory, the latest `TIME_PERIOD` (→ `annee_donnees`); `MED_SL` → `med16`,
    `PR_MD60` → `tp6016`. A cell suppressed by statistical secrecy (empty `OBS_VALUE`, or no
    row for the measure) stays null: staging flags it, nothing is filled in.
    """
    _, csv = zip_member(payload, r"^DS_FILOSOFI_CC.*_data\.csv$", what)
    long = read_csv_text(csv, what)
    require(long, FILOSOFI_LONG, what)
    latest = (
        long.filter(pl.col("GEO_OBJECT").is_in(list(geo_objects)))
        .with_columns(
            pl.col("GEO").str.strip_chars(),
            pl.col("GEO_OBJECT").replace_strict(geo_objects).alias(NIVEAU_FILOSOFI),
            year_of(pl.col("TIME_PERIOD")).alias(ANNEE_DONNEES),
        )
        .filter(pl.col(ANNEE_DONNEES) == pl.col(ANNEE_DONNEES).max().over(NIVEAU_FILOSOFI, "GEO"))
    )
    wide = latest.select(NIVEAU_FILOSOFI, "GEO", ANNEE_DONNEES).unique(maintain_order=True)
    for measure, column in FILOSOFI_MEASURES.items():
        values = (
            latest.filter(pl.col("FILOSOFI_MEASURE") == measure)
            .group_by(NIVEAU_FILOSOFI, "GEO", maintain_order=True)
            .agg(pl.col("OBS_VALUE").str.strip_chars().replace("", None).first().alias(column))
        )
        wide = wide.join(values, on=[NIVEAU_FILOSOFI, "GEO"], how="left", maintain_order="left")
    return wide.rename({"GEO": "codgeo"})


def parse_filosofi_cc(payload: bytes) -> pl.DataFrame:
    """`FILOSOFI_CC_csv.zip` (long `DS_FILOSOFI_CC[_2023]_data.csv`) → the bundled communes layout.

    Keeps `GEO_OBJECT == "COM"` (arrondissements `ARM` are left out: the commune's own row
    counts them), pivots `FILOSOFI_MEASURE`: `MED_SL` → `med16`, `PR_MD60` → `tp6016`, for the
    latest `TIME_PERIOD` of each commune (→ `annee_donnees`). A cell suppressed by statistical
    secrecy (empty `OBS_VALUE`, or no row for the measure) stays null, so staging flags it
    `secret_statistique` as from the bundled file.

    Always null: `libgeo` (names come from the COG), `nbmenfisc16` and `nbpersmenfisc16`: the
    household counts' measure codes of the long format are not documented in SOURCES.md, so
    they are not guessed. Consequence: in a live run, rates of communes merged since the
    Filosofi geography have no population weight (their rebased rate stays null), and the
    sources weighted by Filosofi's population lose that weight too. Filosofi 2 (2023) is a new
    method, not comparable with 2016.
    """
    wide = _filosofi_wide(payload, {"COM": "commune"}, "Filosofi (FILOSOFI_CC)")
    return to_layout(wide, FILOSOFI_COLUMNS_ALL, extra=(ANNEE_DONNEES,))


# GEO_OBJECT of the long file → the level of the bundled file it replaces.
FILOSOFI_TERRITOIRES: dict[str, str] = {"EPCI": "epci", "DEP": "departement", "REG": "region"}


def parse_filosofi_territoires(payload: bytes) -> pl.DataFrame:
    """The same zip's EPCI, département and région rows → the bundled territories layout.

    These are INSEE's own figures for each level (never sums of communes). The three bundled
    files become one frame whose `niveau_filosofi` column (`epci`, `departement`, `region`)
    says the level, as the file name does for the bundled files. Null as for communes:
    `libgeo` and the household counts; a suppressed cell stays null.
    """
    wide = _filosofi_wide(payload, FILOSOFI_TERRITOIRES, "Filosofi (territoires)")
    return to_layout(wide, FILOSOFI_COLUMNS_ALL, extra=(NIVEAU_FILOSOFI, ANNEE_DONNEES))


# ---- Recensement (bases infracommunales IRIS, summed by commune) ------------------------------

# Bundled RP 2018 columns read by stage_rp2018_effectifs ← RP IRIS variable (without the
# `P22_` prefix). The diploma levels are the same seven as in the bundled file.
RP_AGES: dict[str, str] = {
    "POP": "pop_tot",
    "POP0014": "pop_0_14",
    "POP1529": "pop_15_29",
    "POP75P": "pop_75p",
}
RP_DIPLOMES: dict[str, str] = {
    "NSCOL15P": "pop_non_scol_15p",
    "NSCOL15P_DIPLMIN": "pop_dipl_aucun",
    "NSCOL15P_BEPC": "pop_dipl_bepc",
    "NSCOL15P_CAPBEP": "pop_dipl_capbep",
    "NSCOL15P_BAC": "pop_dipl_bac",
    "NSCOL15P_SUP2": "pop_dipl_sup2",
    "NSCOL15P_SUP34": "pop_dipl_sup34",
    "NSCOL15P_SUP5": "pop_dipl_sup",
}
RP_COLUMNS: tuple[str, ...] = ("code_insee", *RP_AGES.values(), *RP_DIPLOMES.values())


def _rp_prefix(columns: Sequence[str], what: str, prefixes: str = "P") -> str:
    """`22` of `P22_` (or `C22_`) from the columns: the census year is in every variable name."""
    years = sorted({c[1:3] for c in columns if re.match(rf"^[{prefixes}]\d\d_", c)})
    if len(years) != 1:
        raise ValueError(
            f"{what}: expected one census year in the {prefixes}<yy>_ columns, got {years}"
        )
    return years[0]


def _rp_csv(payload: bytes, what: str) -> pl.DataFrame:
    """The data CSV of a `base-ic-*_csv.zip` (not its `meta_` file), as strings."""
    _, csv = zip_member(payload, r"^(?!meta_).*\.csv$", what)
    return read_csv_text(csv, what)


def _somme_iris(frame: pl.DataFrame, columns: Mapping[str, str], what: str) -> pl.DataFrame:
    """`columns` (file column → our name) summed by commune (`COM`) over its IRIS.

    Non-split communes have one IRIS (`<COM>0000`), so the sum is the commune's figure; counts
    are weighted estimates (not integers). A commune whose IRIS all lack a value stays null.
    """
    require(frame, ["COM", *columns], what)
    value = {out: numbers(pl.col(src)) for src, out in columns.items()}
    return (
        frame.with_columns(pl.col("COM").str.strip_chars(), **value)
        .group_by("COM", maintain_order=True)
        .agg(pl.when(pl.col(c).count() > 0).then(pl.col(c).sum()).alias(c) for c in value)
    )


def parse_rp_iris_commune(payload: bytes, variables: Mapping[str, str], what: str) -> pl.DataFrame:
    """One `base-ic-*_csv.zip` → one row per commune (`COM`), the IRIS summed (`_somme_iris`);
    `variables` are named without their `P<yy>_` prefix."""
    frame = _rp_csv(payload, what)
    yy = _rp_prefix(frame.columns, what)
    sources = {f"P{yy}_{v}": out for v, out in variables.items()}
    return _somme_iris(frame, sources, what).with_columns(pl.lit(f"20{yy}").alias(ANNEE_DONNEES))


def parse_rp_effectifs(files: Mapping[str, bytes]) -> pl.DataFrame:
    """RP IRIS population (`base-ic-evol-struct-pop-*`) and diplomas (`base-ic-diplomes-
    formation-*`) → the bundled RP 2018 layout, one row per commune of the live geography.

    Filled: `code_insee` (COM), `pop_tot`, `pop_0_14`, `pop_15_29`, `pop_75p` and the 8 diploma
    counts (`P22_NSCOL15P` and its 7 levels, `_SUP5` → `pop_dipl_sup`). Differences with the
    bundled file: every commune (not only those over 2 000 inhabitants), geography of 1 January
    2024, `annee_donnees` the census year (2022). The other bundled columns are not read.
    """
    by_kind = {"evol-struct-pop": RP_AGES, "diplomes-formation": RP_DIPLOMES}
    parts = []
    for kind, variables in by_kind.items():
        names = [n for n in files if kind in n]
        if len(names) != 1:
            raise ValueError(f"RP: expected one {kind} file among {sorted(files)}")
        parts.append(parse_rp_iris_commune(files[names[0]], variables, f"RP {names[0]}"))
    ages, diplomes = parts
    if ages[ANNEE_DONNEES][0] != diplomes[ANNEE_DONNEES][0]:
        raise ValueError("RP: the population and diploma files are of different census years")
    frame = ages.join(
        diplomes.drop(ANNEE_DONNEES), on="COM", how="full", coalesce=True, maintain_order="left"
    ).with_columns(pl.col(ANNEE_DONNEES).fill_null(ages[ANNEE_DONNEES][0]))
    frame = frame.rename({"COM": "code_insee"}).with_columns(
        as_text(pl.col(c)).alias(c) for c in (*RP_AGES.values(), *RP_DIPLOMES.values())
    )
    return to_layout(frame, RP_COLUMNS, extra=(ANNEE_DONNEES,))


# ---- Recensement: the shares of the bundled RP 2017 file, recomputed from RP IRIS counts ----

# Columns of assets/insee_rp/rp2017_taux_diplomes_menages_age_national.parquet, in order.
RP_PARTS_COLUMNS: tuple[str, ...] = (
    "CODE_INSEE",
    "TX_NSCOL15P",
    "TX_MENSEUL",
    "TX_FAMMONO",
    "TX_65ETPLUS",
    "TX_25ETMOINS",
)
# Counts read per file (without the `P22_` / `C22_` prefix). The names are INSEE's RP IRIS
# variables (INFERRED: SOURCES.md names the files and some variables, not these): a variable
# not found under its name is looked up by its label in the zip's `meta_` file, else the run
# stops naming it.
RP_PARTS_AGES: dict[str, str] = {"POP65P": r"65 ans ou plus"}
RP_PARTS_DIPLOMES: dict[str, str] = {
    "POP1517": r"15 à 17 ans",
    "POP1824": r"18 à 24 ans",
    "POP2529": r"25 à 29 ans",
    "POP30P": r"30 ans ou plus",
    "NSCOL15P_DIPLMIN": r"non scolaris.*(aucun diplôme|CEP)",
    "NSCOL15P_BEPC": r"non scolaris.*BEPC",
    "NSCOL15P_CAPBEP": r"non scolaris.*CAP",
}
RP_PARTS_MENAGES: dict[str, str] = {
    "MEN": r"^Ménages$|^Nombre de ménages$",
    "MENPSEUL": r"Ménages d.une personne",
    "MENFAMMONO": r"Ménages.*famille.*monoparentale",
}


def _meta_names(payload: bytes, what: str) -> dict[str, str]:
    """`COD_VAR` → label of the `meta_` file of an INSEE zip (empty when there is none)."""
    try:
        _, meta = zip_member(payload, r"^meta_.*\.csv$", what)
    except ValueError:
        return {}
    frame = read_csv_text(meta, f"{what} (meta_)")
    if "COD_VAR" not in frame.columns:
        return {}
    label = next((c for c in ("LIB_VAR_LONG", "LIB_VAR") if c in frame.columns), None)
    if label is None:
        return {}
    return dict(frame.select("COD_VAR", label).unique("COD_VAR").iter_rows())


def _rp_variables(
    payload: bytes,
    header: Sequence[str],
    wanted: Mapping[str, str],
    yy: str,
    prefixes: str,
    what: str,
) -> dict[str, str]:
    """Our name → the file's column for each wanted count.

    A column `<P|C><yy>_<name>` is taken as is; else the `meta_` file's label must match the
    pattern (one variable), else `ValueError` naming the file and the variable.
    """
    meta: dict[str, str] | None = None
    found: dict[str, str] = {}
    for name, label in wanted.items():
        direct = [f"{p}{yy}_{name}" for p in prefixes if f"{p}{yy}_{name}" in header]
        if direct:
            found[name] = direct[0]
            continue
        meta = _meta_names(payload, what) if meta is None else meta
        matches = [
            code
            for code, text in meta.items()
            if code in header and text and re.search(label, text, re.IGNORECASE)
        ]
        if len(matches) != 1:
            raise ValueError(
                f"{what}: no column {prefixes[0]}{yy}_{name} and {len(matches)} variables of the "
                f"meta_ file labelled like {label!r} ({matches[:5]}): update the parser"
            )
        found[name] = matches[0]
    return found


def _rp_counts(payload: bytes, wanted: Mapping[str, str], prefixes: str, what: str) -> pl.DataFrame:
    """The wanted counts of one `base-ic-*` zip, IRIS summed by commune (`COM`)."""
    frame = _rp_csv(payload, what)
    yy = _rp_prefix(frame.columns, what, prefixes)
    columns = _rp_variables(payload, frame.columns, wanted, yy, prefixes, what)
    renamed = {column: name for name, column in columns.items()}
    return _somme_iris(frame, renamed, what).with_columns(pl.lit(f"20{yy}").alias(ANNEE_DONNEES))


def parse_rp_parts(files: Mapping[str, bytes]) -> pl.DataFrame:
    """RP IRIS ages, diplomas and households → the bundled RP 2017 shares, one row per commune.

    The shares are recomputed from the counts summed by commune, with the bundled file's
    definitions (assets/insee_rp/PROVENANCE.md), in percent:
    - `TX_65ETPLUS` = P_POP65P / 15+, `TX_25ETMOINS` = (P_POP1517 + P_POP1824) / 15+, where
      15+ = P_POP1517 + P_POP1824 + P_POP2529 + P_POP30P (the diplomas file's age bands);
    - `TX_NSCOL15P` = out of school with at most a CAP-BEP (aucun/CEP + BEPC + CAP-BEP) / 15+;
    - `TX_MENSEUL` = C_MENPSEUL / C_MEN, `TX_FAMMONO` = C_MENFAMMONO / C_MEN (households).
    A share whose denominator is 0 or missing stays null. All three files must be of the same
    census year (→ `annee_donnees`). Geography of the file (1 Jan 2024 for RP 2022): rebasing
    brings it to COG 2026 like any source.
    """
    kinds = {
        "evol-struct-pop": (RP_PARTS_AGES, "P"),
        "diplomes-formation": (RP_PARTS_DIPLOMES, "P"),
        "couples-familles-menages": (RP_PARTS_MENAGES, "CP"),
    }
    parts = []
    for kind, (wanted, prefixes) in kinds.items():
        names = [n for n in files if kind in n]
        if len(names) != 1:
            raise ValueError(f"RP: expected one {kind} file among {sorted(files)}")
        parts.append(_rp_counts(files[names[0]], wanted, prefixes, f"RP {names[0]}"))
    years = {p[ANNEE_DONNEES][0] for p in parts if p.height}
    if len(years) > 1:
        raise ValueError(f"RP: the age, diploma and household files are of years {sorted(years)}")
    frame = parts[0].drop(ANNEE_DONNEES)
    for part in parts[1:]:
        frame = frame.join(
            part.drop(ANNEE_DONNEES), on="COM", how="full", coalesce=True, maintain_order="left"
        )

    def part(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
        return pl.when(denominator > 0).then(100 * numerator / denominator)

    p15 = pl.col("POP1517") + pl.col("POP1824") + pl.col("POP2529") + pl.col("POP30P")
    peu = pl.col("NSCOL15P_DIPLMIN") + pl.col("NSCOL15P_BEPC") + pl.col("NSCOL15P_CAPBEP")
    shares = frame.select(
        pl.col("COM").alias("CODE_INSEE"),
        part(peu, p15).alias("TX_NSCOL15P"),
        part(pl.col("MENPSEUL"), pl.col("MEN")).alias("TX_MENSEUL"),
        part(pl.col("MENFAMMONO"), pl.col("MEN")).alias("TX_FAMMONO"),
        part(pl.col("POP65P"), p15).alias("TX_65ETPLUS"),
        part(pl.col("POP1517") + pl.col("POP1824"), p15).alias("TX_25ETMOINS"),
        pl.lit(years.pop() if years else None, pl.String).alias(ANNEE_DONNEES),
    )
    return to_layout(
        shares.with_columns(pl.col(c).cast(pl.String) for c in RP_PARTS_COLUMNS[1:]),
        RP_PARTS_COLUMNS,
        extra=(ANNEE_DONNEES,),
    )


# ---- Zonages: table d'appartenance géographique des communes ---------------------------------

# The columns of assets/insee_zonages_2025/zonages_communes_cog2025_national.parquet, in order.
ZONAGES_COLUMNS: tuple[str, ...] = (
    "DEPCOM",
    "ARR",
    "LIB_ARR",
    "CV",
    "LIB_CV",
    "ZE2020",
    "LIB_ZE2020",
    "UU2020",
    "LIB_UU2020",
    "COMUU2020",
    "LIB_COMUU2020",
    "TYPUU2020",
    "LIB_TYPUU2020",
    "TUU2017",
    "LIB_TUU2017",
    "TDUU2017",
    "LIB_TDUU2017",
    "AAV2020",
    "LIB_AAV2020",
    "TAAV2017",
    "LIB_TAAV2017",
    "TDAAV2017",
    "LIB_TDAAV2017",
    "CATEAAV2020",
    "LIB_CATEAAV2020",
    "BV2022",
    "LIB_BV2022",
)


def parse_table_appartenance(payload: bytes) -> pl.DataFrame:
    """`table-appartenance-geo-communes-<YYYY>.zip` → the bundled zonages layout.

    The xlsx inside has sheet `COM` (one row per commune: `CODGEO`, `ARR`, `CV`, `ZE2020`,
    `UU2020`, `AAV2020`, `CATEAAV2020`, `BV2022`…, header after a preamble) and sheet
    `Zones_supra_communales` (`NIVGEO`, `CODGEO`, `LIBGEO`: the name of each zone). Filled:
    `DEPCOM` (CODGEO) and every bundled code column the COM sheet has; `LIB_<zone>` from the
    supra-communal sheet where it names that zone (BV2022, AAV2020, ZE2020, UU2020, ARR, CV).
    Null: the other `LIB_*` columns (category labels; staging reads none of them) and any code
    column the sheet lacks. `DEPCOM`, `BV2022`, `AAV2020`, `CATEAAV2020` are required: the
    staging reads them. This is the table the bundled file was built from (COGiter, 2025).
    """
    what = "table d'appartenance géographique"
    name, xlsx = zip_member(payload, r"\.xlsx$", what)
    communes = read_excel_table(xlsx, "COM", "CODGEO", f"{what} {name}")
    require(communes, ("CODGEO", "BV2022", "AAV2020", "CATEAAV2020"), what)
    zones = read_excel_table(xlsx, "Zones_supra_communales", "NIVGEO", f"{what} {name}")
    require(zones, ("NIVGEO", "CODGEO", "LIBGEO"), what)
    frame = communes.rename({"CODGEO": "DEPCOM"})
    for niveau in zones["NIVGEO"].unique().drop_nulls().to_list():
        label = f"LIB_{niveau}"
        if niveau in frame.columns and label in ZONAGES_COLUMNS:
            names = zones.filter(pl.col("NIVGEO") == niveau).select(
                pl.col("CODGEO").alias(niveau), pl.col("LIBGEO").alias(label)
            )
            frame = frame.drop(label, strict=False).join(
                names.unique(niveau, keep="first"), on=niveau, how="left", maintain_order="left"
            )
    return to_layout(frame, ZONAGES_COLUMNS)


# ---- Grille communale de densité ---------------------------------------------------------------

# Columns of assets/anct_grilles_2026/grilles_communales_anct_national.parquet, in order.
GRILLES_COLUMNS: tuple[str, ...] = (
    "insee_com",
    "lib_com",
    "densite_7_libelle",
    "densite_7_code",
    "densite_4_code",
    "densite_4_libelle",
    "centralite_libelle",
    "ruralite_libelle",
    "massif_montagne",
)
# INSEE's 7 levels (SOURCES.md §11b) and the 7 → 4 correspondence the bundled file used
# (1 → 1; 2, 3, 4 → 2; 5, 6 → 3; 7 → 4) with its labels.
DENSITE_7: dict[str, str] = {
    "1": "Grands centres urbains",
    "2": "Centres urbains intermédiaires",
    "3": "Petites villes",
    "4": "Ceintures urbaines",
    "5": "Bourgs ruraux",
    "6": "Rural à habitat dispersé",
    "7": "Rural à habitat très dispersé",
}
DENSITE_7_VERS_4: dict[str, str] = {
    "1": "1",
    "2": "2",
    "3": "2",
    "4": "2",
    "5": "3",
    "6": "3",
    "7": "4",
}
DENSITE_4: dict[str, str] = {
    "1": "Commune densément peuplée",
    "2": "Commune de densité intermédiaire",
    "3": "Commune peu dense",
    "4": "Commune très peu dense",
}
GRILLE_SHEET = "Maille communale"


def parse_grille_densite(payload: bytes) -> pl.DataFrame:
    """INSEE `fichier_diffusion_<YYYY>.xlsx` → the bundled grid layout.

    Reads sheet `Maille communale` (else the first sheet whose header has `CODGEO` and `DENS7`;
    the file also has other mailles), header after the preamble. Filled: `insee_com` (CODGEO),
    `lib_com` (LIBGEO when present), `densite_7_code` (DENS7), `densite_7_libelle` (LIBDENS7,
    else INSEE's label of the level), `densite_4_code` and `densite_4_libelle` by the 7 → 4
    correspondence the bundled file used. Null: `centralite_libelle`, `ruralite_libelle`,
    `massif_montagne` (ANCT typologies, not in INSEE's file; staging reads none of them).
    A DENS7 outside 1–7 is kept as given, with null level-4 values (staging then fails to
    cast or leaves it null: it is not silently fixed).
    """
    what = "grille communale de densité"
    sheets = excel_sheets(payload)
    ordered = sorted(sheets, key=lambda s: s != GRILLE_SHEET)
    for sheet in ordered:
        try:
            frame = read_excel_table(payload, sheet, "CODGEO", what)
        except ValueError:
            continue
        if "DENS7" in frame.columns:
            break
    else:
        raise ValueError(f"{what}: no sheet with CODGEO and DENS7 among {sheets}")
    dens7 = pl.col("DENS7").str.strip_chars()
    libelle = pl.col("LIBDENS7") if "LIBDENS7" in frame.columns else pl.lit(None, pl.String)
    frame = frame.filter(pl.col("CODGEO").is_not_null() & (pl.col("CODGEO") != "")).select(
        pl.col("CODGEO").alias("insee_com"),
        (pl.col("LIBGEO") if "LIBGEO" in frame.columns else pl.lit(None, pl.String)).alias(
            "lib_com"
        ),
        pl.coalesce(libelle, dens7.replace_strict(DENSITE_7, default=None)).alias(
            "densite_7_libelle"
        ),
        dens7.alias("densite_7_code"),
        dens7.replace_strict(DENSITE_7_VERS_4, default=None).alias("densite_4_code"),
        dens7.replace_strict(DENSITE_7_VERS_4, default=None)
        .replace_strict(DENSITE_4, default=None)
        .alias("densite_4_libelle"),
    )
    return to_layout(frame, GRILLES_COLUMNS)


# ---- COG: movements of communes and INSEE's table de passage ---------------------------------

# Columns of assets/insee_cog_mouvements/mvt_communes_insee_cog2025_national.parquet: INSEE's own
# v_mvt_commune header, in file order (SOURCES.md §2a).
MOUVEMENTS_COLUMNS: tuple[str, ...] = (
    "MOD",
    "DATE_EFF",
    *(
        f"{c}_{side}"
        for side in ("AV", "AP")
        for c in ("TYPECOM", "COM", "TNCC", "NCC", "NCCENR", "LIBELLE")
    ),
)
PASSAGE_COLUMNS: tuple[str, ...] = ("code_insee_historique", "code_insee_cog2025")


def parse_mouvements_communes(payload: bytes) -> pl.DataFrame:
    """`v_mvt_commune_<YYYY>.csv` (comma-separated, UTF-8) → the bundled movements layout.

    The bundled file is this very table (COGiter's copy of INSEE's `v_mvt_commune_2025`): same
    14 columns, every value a string, `DATE_EFF` ISO. All are required: the rebasing reads the
    event type, the date and both sides of each event. Codes keep their leading zeros.
    """
    what = "mouvements des communes (v_mvt_commune)"
    frame = read_csv_text(payload, what, separator=",")
    require(frame, MOUVEMENTS_COLUMNS, what)
    return to_layout(
        frame.with_columns(pl.col(c).str.strip_chars() for c in MOUVEMENTS_COLUMNS),
        MOUVEMENTS_COLUMNS,
    )


def parse_table_passage(payload: bytes) -> pl.DataFrame:
    """`table_passage_geo2003_geo<YYYY>.zip` (xlsx, header after a preamble) → the bundled layout.

    Columns `CODGEO_INI` (a code that existed since 2003) → `CODGEO_<YYYY>` (the commune of the
    reference year; the newest such column is taken). The bundled table (COGiter's) has one
    target per code and leaves splits to the movements; INSEE's lists a split code once per
    commune it went to, so such a code keeps one row: itself when it still exists, else its
    first target in the file, and `build_passage` finds the split from the movements as with
    the bundled table. The target column keeps the bundled name `code_insee_cog2025`: its
    values are on the live COG (2025 and 2026 codes are the same). Codes older than 2003 are
    not in INSEE's table: the movements resolve them.
    """
    what = "table de passage des communes (INSEE)"
    name, xlsx = zip_member(payload, r"\.xlsx$", what)
    table = None
    for sheet in excel_sheets(xlsx):
        try:
            table = read_excel_table(xlsx, sheet, "CODGEO_INI", f"{what} {name}")
            break
        except ValueError:
            continue
    if table is None:
        raise ValueError(f"{what} {name}: no sheet has a header row starting with 'CODGEO_INI'")
    cibles = sorted(c for c in table.columns if re.fullmatch(r"CODGEO_\d{4}", c))
    if not cibles:
        raise ValueError(f"{what} {name}: no CODGEO_<year> column (got {table.columns[:10]})")
    pairs = (
        table.select(
            pl.col("CODGEO_INI").str.strip_chars().alias(PASSAGE_COLUMNS[0]),
            pl.col(cibles[-1]).str.strip_chars().alias(PASSAGE_COLUMNS[1]),
        )
        .filter(pl.col(PASSAGE_COLUMNS[0]).is_not_null() & pl.col(PASSAGE_COLUMNS[1]).is_not_null())
        .unique(maintain_order=True)
    )
    ancien, cible = PASSAGE_COLUMNS
    return (
        pairs.with_columns(
            (pl.col(cible) == pl.col(ancien)).any().over(ancien).alias("_existe"),
        )
        .filter(~pl.col("_existe") | (pl.col(cible) == pl.col(ancien)))
        .unique(ancien, keep="first", maintain_order=True)
        .select(PASSAGE_COLUMNS)
    )
