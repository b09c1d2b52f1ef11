"""Which pure function stages which catalogue source: the tables the staging assets
(`observatory.defs.staging`) are built from, and the small adapters between a source's file
and its staging function."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from observatory.sources import aidants_connect_live
from observatory.sources import catalogue as cat
from observatory.sources.insee_live import NIVEAU_FILOSOFI
from observatory.transforms import cog, context, registries, statistics
from observatory.validation.quarantine import empty_quarantine

Parser = Callable[[pl.DataFrame], tuple[pl.DataFrame, pl.DataFrame]]


def as_v1(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A file already in the standard v1 (its leftover v0 columns are mapped by staging)."""
    return raw, empty_quarantine()


def aidants_connect(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
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
    cat.MEDNUM_LIEUX: as_v1,
    cat.BUS_FRANCE_SERVICES_16: lambda raw: registries.map_v0_to_v1(raw, "Itinérant"),
    cat.FRANCE_SERVICES: registries.parse_france_services,
    cat.CONSEILLERS_NUMERIQUES: registries.parse_conseillers_numeriques,
    cat.AIDANTS_CONNECT: aidants_connect,
}

# files one function types, rejecting no row
TYPED = {
    cat.COG_COMMUNES_DELEGUEES: cog.stage_communes_deleguees,
    cat.LAPOSTE_COORDONNEES: cog.stage_coordonnees,
    cat.INSEE_ZONAGES: context.stage_zonages,
    cat.ANCT_GRILLES: context.stage_grilles,
}
# reference tables staged with the column of their code; tables used as published
REFERENCES = {cat.COG_EPCI: "code_epci", cat.COG_DEPARTEMENTS: "code", cat.COG_REGIONS: "code"}
REFERENCE_TABLES = (cat.INSEE_PASSAGE, cat.INSEE_MOUVEMENTS, *cat.TAUX_NATIONAUX, cat.INSEE_PRENOMS)

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
