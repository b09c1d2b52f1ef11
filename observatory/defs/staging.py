"""Staging assets: typed rows with normalised codes; rejects go to the quarantine table."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import dagster as dg
import polars as pl

from observatory.defs.resources import ObservatoryResource
from observatory.settings import Settings
from observatory.sources import aidants_connect_live
from observatory.sources import catalogue as cat
from observatory.sources.insee_live import NIVEAU_FILOSOFI
from observatory.sources.mednum import load_standard
from observatory.sources.raw import landed
from observatory.sources.readers import read_landed, read_landed_typed
from observatory.transforms import (
    cog,
    context,
    contours,
    lieux,
    personal_data,
    registries,
    statistics,
)
from observatory.validation.quarantine import IDENTITE_LIGNE, account, empty_quarantine
from observatory.validation.store import write_quarantine

GROUP = "staging"


def staging_asset(source: cat.Source) -> Callable[..., dg.AssetsDefinition]:
    """The `@dg.asset` of a source's staging: `stg_<key>`, after its raw asset, described."""
    return dg.asset(
        name=f"stg_{source.key}",
        group_name=GROUP,
        deps=[source.raw_asset],
        description=f"{source.title} — {source.producer}, millésime {source.vintage}.",
    )


def staged(
    observatory: ObservatoryResource,
    asset: str,
    rows_in: int,
    kept: pl.DataFrame,
    quarantine: pl.DataFrame,
) -> dg.Output[pl.DataFrame]:
    """Write the quarantine, prove rows in = kept + rejected, return the rows with counts."""
    counts = account(rows_in, kept, quarantine)
    path = write_quarantine(observatory.settings, asset, quarantine)
    return dg.Output(kept, metadata={**counts, "quarantaine": str(path)})


@dg.asset(group_name=GROUP, deps=[cat.COG_COMMUNES.raw_asset])
def stg_cog__communes(observatory: ObservatoryResource) -> dg.Output[pl.DataFrame]:
    """Communes of the COG in scope (metropolitan France + DROM), typed."""
    raw = read_landed(observatory.settings, cat.COG_COMMUNES)
    kept, quarantine = cog.stage_communes(raw)
    return staged(observatory, "stg_cog__communes", raw.height, kept, quarantine)


def build_reference_asset(source: cat.Source, code_column: str) -> dg.AssetsDefinition:
    @staging_asset(source)
    def _reference(observatory: ObservatoryResource) -> dg.Output[pl.DataFrame]:
        raw = read_landed(observatory.settings, source)
        frame = cog.stage_reference(raw, code_column)
        return dg.Output(frame, metadata={"lignes": frame.height})

    return _reference


@dg.asset(group_name=GROUP, deps=[cat.COG_COMMUNES_DELEGUEES.raw_asset])
def stg_cog__communes_deleguees(observatory: ObservatoryResource) -> pl.DataFrame:
    """Names of communes déléguées/associées, to resolve the commune of a place."""
    return cog.stage_communes_deleguees(
        read_landed(observatory.settings, cat.COG_COMMUNES_DELEGUEES)
    )


@dg.asset(group_name=GROUP, deps=[cat.LAPOSTE_COORDONNEES.raw_asset])
def stg_laposte__communes_coordonnees(observatory: ObservatoryResource) -> pl.DataFrame:
    """One WGS84 point per commune (La Poste), for distance checks."""
    return cog.stage_coordonnees(read_landed(observatory.settings, cat.LAPOSTE_COORDONNEES))


@staging_asset(cat.IGN_CONTOURS_COMMUNES)
def stg_ign__contours_communes(observatory: ObservatoryResource) -> dg.Output[pl.DataFrame]:
    """Simplified polygons of the communes (one row per ring, WGS84 × 1e5), typed."""
    raw = read_landed_typed(observatory.settings, cat.IGN_CONTOURS_COMMUNES)
    kept, quarantine = contours.stage_contours(raw)
    return staged(observatory, "stg_ign__contours_communes", raw.height, kept, quarantine)


@dg.asset(group_name=GROUP, deps=[cat.INSEE_ZONAGES.raw_asset])
def stg_insee__zonages(observatory: ObservatoryResource) -> pl.DataFrame:
    """Bassin de vie 2022 and aire d'attraction des villes 2020 of each commune."""
    return context.stage_zonages(read_landed(observatory.settings, cat.INSEE_ZONAGES))


@dg.asset(group_name=GROUP, deps=[cat.ANCT_GRILLES.raw_asset])
def stg_anct__grilles_communales(observatory: ObservatoryResource) -> pl.DataFrame:
    """INSEE density grid of each commune (7 and 4 levels)."""
    return context.stage_grilles(read_landed(observatory.settings, cat.ANCT_GRILLES))


Parser = Callable[[pl.DataFrame], tuple[pl.DataFrame, pl.DataFrame]]


def _as_v1(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A file already in the standard v1 (its leftover v0 columns are mapped by staging)."""
    return raw, empty_quarantine()


def date_export(settings: Settings, source: cat.Source) -> date | None:
    """The date a registry's rows are at least as old as: the bundled snapshot's vintage, or,
    for a file downloaded live, the day it was downloaded (its `recupere_le`)."""
    files = landed(settings, source)
    if files and all(f.profil == "live" for f in files):
        return date.fromisoformat(min(f.recupere_le for f in files)[:10])
    return date.fromisoformat(source.vintage) if source.files else None


def build_lieux_asset(
    source: cat.Source, parse: Parser, requis: tuple[str, ...] = lieux.IDENTITE
) -> dg.AssetsDefinition:
    """Staging of a registry of places: its own format → standard v1 → typed and checked.

    `requis`: the columns without which a row is rejected (`lieux.stage_lieux`)."""
    name = f"stg_{source.key}"

    @staging_asset(source)
    def _lieux(observatory: ObservatoryResource) -> dg.Output[pl.DataFrame]:
        settings = observatory.settings
        raw = read_landed(settings, source)
        v1, ecarts = parse(raw)
        # personal data (a referent's name, person-like e-mails, mobiles) never reaches staging
        v1, personnelles = personal_data.ecarter_donnees_personnelles(v1)
        ecarts = pl.concat([ecarts, personnelles], how="vertical_relaxed")
        kept, quarantine = lieux.stage_lieux(
            v1, load_standard(settings.schemas_dir), date_export(settings, source), requis
        )
        extra = [c for c in v1.columns if c not in kept.columns]  # e.g. nb_conseillers
        if extra:
            kept = kept.join(
                v1.select("fichier_origine", "ligne", *extra),
                on=["fichier_origine", "ligne"],
                how="left",
            )
        quarantine = pl.concat([ecarts, quarantine], how="vertical_relaxed")
        return staged(observatory, name, raw.height, kept, quarantine)

    return _lieux


def _aidants_connect(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Aidants Connect has no bundled file: offline, the empty frame gets the API's columns."""
    absentes = [c for c in aidants_connect_live.ORGANISATION_FIELDS if c not in raw.columns]
    return registries.parse_aidants_connect(
        raw.with_columns(pl.lit(None, pl.String).alias(c) for c in absentes)
    )


# The national France Services list names some sites by their département and name only: they
# are counted (their commune found by name), their missing address reported.
REQUIS_SITES_NATIONAUX = ("id", "nom")
REQUIS = {cat.FRANCE_SERVICES: REQUIS_SITES_NATIONAUX}
LIEUX = {
    cat.MEDNUM_LIEUX: _as_v1,
    cat.BUS_FRANCE_SERVICES_16: lambda raw: registries.map_v0_to_v1(raw, "Itinérant"),
    cat.FRANCE_SERVICES: registries.parse_france_services,
    cat.CONSEILLERS_NUMERIQUES: registries.parse_conseillers_numeriques,
    cat.AIDANTS_CONNECT: _aidants_connect,
}


def build_reference_table_asset(source: cat.Source) -> dg.AssetsDefinition:
    """A reference table used as it is published (every column a string)."""

    @staging_asset(source)
    def _table(observatory: ObservatoryResource) -> pl.DataFrame:
        return read_landed(observatory.settings, source).drop(IDENTITE_LIGNE)

    return _table


def build_statistic_asset(
    source: cat.Source,
    stage: Callable[[pl.DataFrame], tuple[pl.DataFrame, pl.DataFrame]],
) -> dg.AssetsDefinition:
    """A staging asset for a statistic whose file(s) one pure function types and checks."""
    name = f"stg_{source.key}"

    @staging_asset(source)
    def _statistic(observatory: ObservatoryResource) -> dg.Output[pl.DataFrame]:
        raw = read_landed(observatory.settings, source)
        kept, quarantine = stage(raw)
        return staged(observatory, name, raw.height, kept, quarantine)

    return _statistic


FILOSOFI_NIVEAUX = {
    "filosofi_2016_epci.csv": "epci",
    "filosofi_2016_departements.csv": "departement",
    "filosofi_2016_regions.csv": "region",
    "filosofi_2016_france_metropolitaine.csv": "france",
}


def stage_filosofi_territoires(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """INSEE's own EPCI, département, région and France figures, level by level: by file name
    for the bundled files, by `niveau_filosofi` for the live long file (one file)."""
    if NIVEAU_FILOSOFI in raw.columns:
        niveaux = {n: pl.col(NIVEAU_FILOSOFI) == n for n in FILOSOFI_NIVEAUX.values()}
    else:
        niveaux = {n: pl.col("fichier_origine") == f for f, n in FILOSOFI_NIVEAUX.items()}
    parts = [
        statistics.stage_filosofi_territoires(raw.filter(ligne), niveau)
        for niveau, ligne in niveaux.items()
    ]
    return pl.concat([k for k, _ in parts]), pl.concat([q for _, q in parts])


@dg.asset(group_name=GROUP, deps=[cat.CAF_RSA.raw_asset, cat.INSEE_IRIS.raw_asset])
def stg_caf__rsa_iris(observatory: ObservatoryResource) -> dg.Output[pl.DataFrame]:
    """RSA allocataires by IRIS summed to communes (IRIS 2020 table); partial sums flagged.

    Live, CNAF publishes RSA by commune only (s_ben_com_f): those rows are staged as they are.
    """
    settings = observatory.settings
    raw = read_landed(settings, cat.CAF_RSA)
    if "CODE_COMMUNE" in raw.columns:  # live: published by commune, no IRIS table needed
        kept, quarantine = statistics.stage_caf_rsa_communes(raw)
    else:
        iris_table = read_landed(settings, cat.INSEE_IRIS)
        kept, quarantine = statistics.stage_caf_rsa_iris(raw, iris_table)
    # accounting is by IRIS row: each commune row says how many IRIS rows it sums
    counts = account(raw.height, int(kept["nb_iris_source"].sum()), quarantine)
    path = write_quarantine(settings, "stg_caf__rsa_iris", quarantine)
    return dg.Output(kept, metadata={**counts, "communes": kept.height, "quarantaine": str(path)})


STATISTICS = {
    cat.INSEE_RP2017: statistics.stage_rp2017_parts,
    cat.INSEE_RP2018: statistics.stage_rp2018_effectifs,
    cat.FILOSOFI_COMMUNES: statistics.stage_filosofi_communes,
    cat.FILOSOFI_TERRITOIRES: stage_filosofi_territoires,
    cat.ARCEP_THD: statistics.stage_arcep,
    cat.DFG_MOBILE: statistics.stage_dfg_mobile,
    cat.CAF_COMMUNES: statistics.stage_caf_communes,
    cat.CAF_EPCI: statistics.stage_caf_epci,
    cat.POLE_EMPLOI_DEFM: statistics.stage_defm,
}

staging_assets = [
    stg_cog__communes,
    stg_cog__communes_deleguees,
    build_reference_asset(cat.COG_EPCI, "code_epci"),
    build_reference_asset(cat.COG_DEPARTEMENTS, "code"),
    build_reference_asset(cat.COG_REGIONS, "code"),
    stg_laposte__communes_coordonnees,
    stg_ign__contours_communes,
    stg_insee__zonages,
    stg_anct__grilles_communales,
    *(
        build_lieux_asset(source, parse, REQUIS.get(source, lieux.IDENTITE))
        for source, parse in LIEUX.items()
    ),
    stg_caf__rsa_iris,
    build_reference_table_asset(cat.INSEE_PASSAGE),
    build_reference_table_asset(cat.INSEE_MOUVEMENTS),
    *(build_reference_table_asset(source) for source in cat.TAUX_NATIONAUX),
    *(build_statistic_asset(source, stage) for source, stage in STATISTICS.items()),
]
