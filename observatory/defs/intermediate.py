"""Intermediate assets: the territory reference, coverage of sources, places with communes."""

from __future__ import annotations

import dagster as dg
import polars as pl

from observatory.defs.resources import ObservatoryResource
from observatory.defs.staging import staged
from observatory.sources import catalogue as cat
from observatory.transforms import context, lieux, territories

GROUP = "intermediate"


@dg.asset(group_name=GROUP)
def int__contexte_communes(
    stg_cog__communes: pl.DataFrame,
    stg_insee__zonages: pl.DataFrame,
    stg_anct__grilles_communales: pl.DataFrame,
    stg_laposte__communes_coordonnees: pl.DataFrame,
) -> dg.Output[pl.DataFrame]:
    """Bassin de vie, aire d'attraction, density grid and point of every commune."""
    frame = context.build_contexte_communes(
        stg_cog__communes,
        stg_insee__zonages,
        stg_anct__grilles_communales,
        stg_laposte__communes_coordonnees,
    )
    gaps = {f"sans_{c}": frame[c].null_count() for c in frame.columns if c != "code_commune"}
    return dg.Output(frame, metadata={"communes": frame.height, **gaps})


@dg.asset(group_name=GROUP)
def int__territoires(
    stg_cog__communes: pl.DataFrame,
    stg_cog__epci: pl.DataFrame,
    stg_cog__departements: pl.DataFrame,
    stg_cog__regions: pl.DataFrame,
    int__contexte_communes: pl.DataFrame,
) -> dg.Output[pl.DataFrame]:
    """All levels (commune … France, bassins de vie); populations summed from communes."""
    frame = territories.build_territoires(
        stg_cog__communes,
        stg_cog__epci,
        stg_cog__departements,
        stg_cog__regions,
        millesime_cog=cat.COG_COMMUNES.annee,
        contexte=int__contexte_communes,
    )
    counts = frame.group_by("niveau").len()
    return dg.Output(frame, metadata={f"nb_{n}": c for n, c in counts.iter_rows()})


@dg.asset(group_name=GROUP)
def int__appartenances(int__territoires: pl.DataFrame) -> pl.DataFrame:
    """Each commune with every territory it belongs to: the key of every aggregation."""
    return territories.build_appartenances(int__territoires)


@dg.asset(group_name=GROUP)
def int__couverture_sources(
    observatory: ObservatoryResource, stg_cog__communes: pl.DataFrame, int__lieux: pl.DataFrame
) -> pl.DataFrame:
    """Which communes each source covers, with its rows (uncovered → null indicators, never 0)."""
    rows = {cat.MEDNUM_LIEUX.key: int__lieux}
    frames = []
    for source in (cat.MEDNUM_LIEUX,):
        couverture = source.couverture_pour(observatory.profile)
        frames.append(
            territories.build_couverture(
                stg_cog__communes,
                source.key,
                source.annee,
                couverture.niveau,
                couverture.codes,
                lignes=rows[source.key],
                presence=couverture.presence,
            )
        )
    return pl.concat(frames)


@dg.asset(group_name=GROUP)
def int__lieux(
    observatory: ObservatoryResource,
    stg_mednum__lieux: pl.DataFrame,
    stg_cog__communes: pl.DataFrame,
    stg_cog__communes_deleguees: pl.DataFrame,
    stg_laposte__communes_coordonnees: pl.DataFrame,
) -> dg.Output[pl.DataFrame]:
    """Places with their COG commune; unresolved or too far from their commune: quarantined."""
    kept, quarantine = lieux.resolve_communes(
        stg_mednum__lieux,
        stg_cog__communes,
        stg_cog__communes_deleguees,
        stg_laposte__communes_coordonnees,
    )
    return staged(observatory, "int__lieux", stg_mednum__lieux.height, kept, quarantine)


intermediate_assets = [
    int__contexte_communes,
    int__territoires,
    int__appartenances,
    int__couverture_sources,
    int__lieux,
]
