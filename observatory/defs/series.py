"""Series over vintages: earlier vintages of a source, staged and resolved like the current one.

Thin: the 2020 France Services list is staged with the registries' mapping and resolved to
COG 2026 communes by the same function as the places; `ind_offre` (SQL) counts both
vintages, and the published `indicateurs` carries each year with its change since the previous
one (`observatory.publish.tables.build_indicateurs`).
"""

import dagster as dg
import polars as pl

from observatory.defs.resources import ObservatoryResource
from observatory.defs.staging import REQUIS_SITES_NATIONAUX, build_lieux_asset, staged
from observatory.sources import catalogue as cat
from observatory.transforms import france_services

GROUP = "intermediate"
INT_FRANCE_SERVICES = "int__france_services_millesimes"

stg_france_services__lieux_2020 = build_lieux_asset(
    cat.FRANCE_SERVICES_2020, france_services.parse_france_services_2020, REQUIS_SITES_NATIONAUX
)


@dg.asset(
    name=INT_FRANCE_SERVICES,
    group_name=GROUP,
    ins={f"stg_{s.key}": dg.AssetIn(f"stg_{s.key}") for s in cat.MILLESIMES_FRANCE_SERVICES},
)
def int__france_services_millesimes(
    observatory: ObservatoryResource,
    stg_cog__communes: pl.DataFrame,
    stg_cog__communes_deleguees: pl.DataFrame,
    stg_laposte__communes_coordonnees: pl.DataFrame,
    stg_insee__mouvements_communes: pl.DataFrame,
    int__contours_communes: pl.DataFrame,
    **listes: pl.DataFrame,
) -> dg.Output[pl.DataFrame]:
    """Every France Services site of every vintage with its COG 2026 commune, year, definition."""
    kept, quarantine, lignes = france_services.resout_sites_millesimes(
        [
            (listes[f"stg_{s.key}"], s.key, s.annee, s.definition)
            for s in cat.MILLESIMES_FRANCE_SERVICES
        ],
        stg_cog__communes,
        stg_cog__communes_deleguees,
        stg_laposte__communes_coordonnees,
        stg_insee__mouvements_communes,
        int__contours_communes,
    )
    return staged(observatory, INT_FRANCE_SERVICES, lignes, kept, quarantine)


series_assets = [stg_france_services__lieux_2020, int__france_services_millesimes]
