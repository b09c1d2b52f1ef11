"""Series over vintages: earlier vintages of a source, staged and resolved like the current one.

Thin: the 2020 France Services list is staged with the registries' mapping and resolved to
COG 2026 communes by the same function as the places; `ind_offre` (SQL) counts both
vintages, and the published `indicateurs` carries each year with its change since the previous
one (`observatory.publish.tables.build_indicateurs`).
"""

from observatory.defs.intermediate import build_resolution_asset
from observatory.defs.staging import build_lieux_asset
from observatory.sources import catalogue as cat
from observatory.transforms import france_services
from observatory.transforms.stagers import REQUIS_SITES_NATIONAUX

INT_FRANCE_SERVICES = "int__france_services_millesimes"

stg_france_services__lieux_2020 = build_lieux_asset(
    cat.FRANCE_SERVICES_2020, france_services.parse_france_services_2020, REQUIS_SITES_NATIONAUX
)


int__france_services_millesimes = build_resolution_asset(
    INT_FRANCE_SERVICES,
    [f"stg_{s.key}" for s in cat.MILLESIMES_FRANCE_SERVICES],
    france_services.resout_sites_millesimes,
    lambda frames: [
        (frames[f"stg_{s.key}"], s.key, s.annee, s.definition)
        for s in cat.MILLESIMES_FRANCE_SERVICES
    ],
    "Every France Services site of every vintage with its COG 2026 commune, year, definition.",
)


series_assets = [stg_france_services__lieux_2020, int__france_services_millesimes]
