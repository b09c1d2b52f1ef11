"""Territory codes and the territory reference (commune → EPCI → département → région → France)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import polars as pl

from observatory.settings import CODES_SYNTHETIQUES, SUFFIXE_SYNTHETIQUE

if TYPE_CHECKING:
    from observatory.sources.catalogue import Source

NIVEAUX = ("commune", "epci", "bassin_de_vie", "departement", "region", "france")
CODE_FRANCE = "FR"
ZONES_EN_PERIMETRE = ("metro", "drom")

# Département part of a commune code: 01–19, 21–95, 2A, 2B, then 971–976 (DROM) and 975/977/978/98x
# (overseas collectivities, well-formed but out of scope, filtered later against the COG).
_CODE_COMMUNE = r"^(?:0[1-9]|1\d|2[1-9AB]|[3-8]\d|9[0-5])\d{3}$|^9[78]\d{3}$"


# The column of a staged COG commune that names its territory at each level
COLONNES_NIVEAUX_COG = {
    "commune": "code_commune",
    "epci": "code_epci",
    "departement": "code_departement",
    "region": "code_region",
}


def motif_code(motif: str) -> str:
    """`motif` (`^…$`, no top-level `|`), with the benchmark's synthetic suffix when enabled."""
    if not CODES_SYNTHETIQUES:
        return motif
    return f"^(?:{motif.removeprefix('^').removesuffix('$')})(?:{SUFFIXE_SYNTHETIQUE})?$"


def normalise_codes_communes(values: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Normalise commune codes as real-world files spell them; reject the rest with a reason.

    Returns two expressions: the normalised code (null when rejected) and the reason code
    (null when accepted). Spreadsheets turn `01001` into `1001` or `1001.0`; people type
    spaces and lower-case Corsican codes.
    """
    cleaned = (
        values.cast(pl.String)
        .str.replace_all(r"[\s\u00a0\u202f]", "")
        .str.replace(r"\.0+$", "")
        .str.to_uppercase()
    )
    suffixe = pl.lit("")
    if CODES_SYNTHETIQUES:
        suffixe = cleaned.str.extract(f"({SUFFIXE_SYNTHETIQUE})$", 1).fill_null("")
        cleaned = cleaned.str.replace(f"{SUFFIXE_SYNTHETIQUE}$", "")
    padded = pl.when(cleaned.str.contains(r"^\d{4}$")).then("0" + cleaned).otherwise(cleaned)
    raison = (
        pl.when(cleaned.is_null() | (cleaned == ""))
        .then(pl.lit("code_vide"))
        .when(~padded.str.contains(r"^[0-9AB]+$"))
        .then(pl.lit("code_caracteres_invalides"))
        .when(padded.str.len_chars() != 5)
        .then(pl.lit("code_longueur_invalide"))
        .when(padded.str.contains(r"^20\d{3}$"))
        .then(pl.lit("code_corse_sans_2a_2b"))
        .when(~padded.str.contains(_CODE_COMMUNE))
        .then(pl.lit("code_departement_invalide"))
    )
    code = pl.when(raison.is_null()).then(padded + suffixe)
    return code, raison


def normalise_code_commune_frame(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Add `code_commune` and `raison_rejet` columns computed from `column`."""
    code, raison = normalise_codes_communes(pl.col(column))
    return frame.with_columns(code.alias("code_commune"), raison.alias("raison_rejet"))


def build_territoires(
    communes: pl.DataFrame,
    epci: pl.DataFrame,
    departements: pl.DataFrame,
    regions: pl.DataFrame,
    millesime_cog: int,
    contexte: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per (niveau, code); every population above commune level is a sum of communes.

    `communes`: code_commune, nom, code_epci, code_departement, code_region, population.
    `epci`, `departements`, `regions`: code, nom (their own population figures are another
    vintage: ignored). `contexte` (optional): one row per commune with `code_bassin_de_vie`,
    `nom_bassin_de_vie` and other context columns, added to commune rows; the bassins de vie
    then become a level of their own.
    """
    if contexte is not None:
        communes = communes.join(contexte, on="code_commune", how="left")
    context_columns = [
        c
        for c in (contexte.columns if contexte is not None else [])
        if c not in ("code_commune", "nom_bassin_de_vie")
    ]
    base = communes.select(
        pl.lit("commune").alias("niveau"),
        pl.col("code_commune").alias("code"),
        "nom",
        pl.col("population").cast(pl.Int64),
        "code_epci",
        "code_departement",
        "code_region",
        *context_columns,
    )

    def level(niveau: str, key: str, names: pl.DataFrame) -> pl.DataFrame:
        grouped = (
            communes.filter(pl.col(key).is_not_null())
            .group_by(key)
            .agg(pl.col("population").cast(pl.Int64).sum())
            .rename({key: "code"})
        )
        missing = grouped.join(names, on="code", how="anti")
        if missing.height:
            raise ValueError(
                f"{niveau}: codes used by communes but absent from the {niveau} reference: "
                f"{sorted(missing['code'].to_list())[:10]}"
            )
        return grouped.join(names.select("code", "nom"), on="code", how="left").select(
            pl.lit(niveau).alias("niveau"), "code", "nom", "population"
        )

    france = communes.select(
        pl.lit("france").alias("niveau"),
        pl.lit(CODE_FRANCE).alias("code"),
        pl.lit("France").alias("nom"),
        pl.col("population").cast(pl.Int64).sum(),
    )
    levels = [level("epci", "code_epci", epci)]
    if "code_bassin_de_vie" in communes.columns:
        bassins = communes.select(
            pl.col("code_bassin_de_vie").alias("code"), pl.col("nom_bassin_de_vie").alias("nom")
        ).unique("code")
        levels.append(level("bassin_de_vie", "code_bassin_de_vie", bassins))
    levels += [
        level("departement", "code_departement", departements),
        level("region", "code_region", regions),
        france,
    ]
    dep_region = departements.select(pl.col("code"), pl.col("code_region").alias("_reg"))
    higher = (
        pl.concat(levels)
        .join(dep_region, on="code", how="left")
        .with_columns(
            pl.lit(None, pl.String).alias("code_epci"),
            pl.lit(None, pl.String).alias("code_departement"),
            pl.when(pl.col("niveau") == "departement").then(pl.col("_reg")).alias("code_region"),
        )
        .drop("_reg")
    )
    ordre = pl.Enum(list(NIVEAUX))
    return (
        pl.concat([base, higher], how="diagonal_relaxed")
        .select(base.columns)
        .with_columns(pl.lit(millesime_cog, pl.Int32).alias("millesime_cog"))
        .sort(pl.col("niveau").cast(ordre), "code")
    )


def build_appartenances(territoires: pl.DataFrame) -> pl.DataFrame:
    """Each commune with every territory it belongs to (itself included): the aggregation key.

    Indicators are summed over this table, so every level is computed from commune counts.
    """
    communes = territoires.filter(pl.col("niveau") == "commune")
    parts = [
        communes.select(
            pl.col("code").alias("code_commune"),
            pl.lit(niveau).alias("niveau"),
            pl.col(column).alias("code"),
        )
        for niveau, column in (
            ("commune", "code"),
            ("epci", "code_epci"),
            ("bassin_de_vie", "code_bassin_de_vie"),
            ("departement", "code_departement"),
            ("region", "code_region"),
        )
        if column in communes.columns
    ]
    parts.append(
        communes.select(
            pl.col("code").alias("code_commune"),
            pl.lit("france").alias("niveau"),
            pl.lit(CODE_FRANCE).alias("code"),
        )
    )
    return pl.concat(parts).filter(pl.col("code").is_not_null())


def build_couverture(
    communes: pl.DataFrame,
    source: str,
    annee: int,
    niveau: str,
    codes: tuple[str, ...] | None,
    lignes: pl.DataFrame | None = None,
    presence: bool = False,
) -> pl.DataFrame:
    """Which communes a source covers, and how many of its rows each one has.

    Coverage is declared (`niveau`/`codes`: all communes, or those of the listed territories).
    With `presence`, for statistics published commune by commune (only above a size, or
    suppressed), a declared commune is covered only if the source has a row for it in
    `lignes` (one row per source row, with `code_commune`).
    """
    column = COLONNES_NIVEAUX_COG.get(niveau)
    if codes is None or niveau == "france":
        couvert = pl.lit(True)
    elif column is None:
        raise ValueError(f"{source}: unknown coverage level {niveau!r}")
    else:
        couvert = pl.col(column).is_in(list(codes))
    frame = communes.select("code_commune", couvert.alias("couvert"))
    counts = (
        lignes.group_by("code_commune").agg(pl.len().cast(pl.Int64).alias("nb_lignes"))
        if lignes is not None
        else pl.DataFrame(schema={"code_commune": pl.String, "nb_lignes": pl.Int64})
    )
    frame = frame.join(counts, on="code_commune", how="left").with_columns(
        pl.col("nb_lignes").fill_null(0)
    )
    if presence:
        frame = frame.with_columns(couvert=pl.col("couvert") & (pl.col("nb_lignes") > 0))
    return frame.select(
        pl.lit(source).alias("source"),
        "code_commune",
        "couvert",
        "nb_lignes",
        pl.lit(annee, pl.Int32).alias("annee"),
    )


def couverture_des_sources(
    communes: pl.DataFrame,
    sources: Sequence[Source],
    lignes: Mapping[str, pl.DataFrame],
    annees: Mapping[str, int],
    profile: str,
) -> pl.DataFrame:
    """`build_couverture` of every source, with its coverage in this profile (a live national
    export covers more than the bundled extract) and its vintage (`annees`, else the
    catalogue's)."""
    frames = []
    for source in sources:
        couverture = source.couverture_pour(profile)
        frames.append(
            build_couverture(
                communes,
                source.key,
                annees.get(source.key, source.annee),
                couverture.niveau,
                couverture.codes,
                lignes=lignes[source.key],
                presence=couverture.presence,
            )
        )
    return pl.concat(frames)


def reference_majoritaire(
    appartenances: pl.DataFrame, population: pl.DataFrame, niveau_reference: str
) -> pl.DataFrame:
    """(`niveau`, `code`) → `code_reference`: the territory of `niveau_reference` holding most
    of its population (an EPCI or a zoning across départements takes its main one)."""
    reference = appartenances.filter(pl.col("niveau") == niveau_reference).select(
        "code_commune", pl.col("code").alias("code_reference")
    )
    return (
        appartenances.join(reference, on="code_commune")
        .join(population.select("code_commune", "population"), on="code_commune", how="left")
        .group_by("niveau", "code", "code_reference")
        .agg(pl.col("population").fill_null(0).sum().alias("_pop"))
        .sort("niveau", "code", "_pop", "code_reference", descending=[False, False, True, False])
        .unique(["niveau", "code"], keep="first", maintain_order=True)
        .select("niveau", "code", "code_reference")
    )


def population_communes(territoires: pl.DataFrame) -> pl.DataFrame:
    """The communes of the territory reference with their population and point."""
    return territoires.filter(pl.col("niveau") == "commune").select(
        pl.col("code").alias("code_commune"), "population", "latitude", "longitude"
    )


def appartenances_avec_zonages(
    territoires: pl.DataFrame, zonages_appartenances: pl.DataFrame
) -> pl.DataFrame:
    """Each commune with every territory it belongs to, users' zonings included: the key of
    every aggregation."""
    base = build_appartenances(territoires)
    return pl.concat([base, zonages_appartenances.select(base.columns)])
