"""Raw assets: land each source's files, as received, in the raw layer."""

from __future__ import annotations

import dagster as dg

from observatory.defs.resources import ObservatoryResource
from observatory.sources.catalogue import SOURCES, Source
from observatory.sources.raw import land_source


def build_raw_asset(source: Source) -> dg.AssetsDefinition:
    @dg.asset(
        name=source.raw_asset,
        group_name="raw",
        description=f"{source.title} — {source.producer}, millésime {source.vintage}.",
        kinds={"file"},
        metadata={"millesime": source.vintage, "licence": source.licence},
    )
    def _raw(observatory: ObservatoryResource) -> dg.MaterializeResult:
        files = land_source(observatory.settings, source)
        return dg.MaterializeResult(
            metadata={
                "fichiers": [f.chemin for f in files],
                "sha256": [f.sha256 for f in files],
                "octets": sum(f.taille_octets for f in files),
                "profil": observatory.profile,
            }
        )

    return _raw


raw_assets = [build_raw_asset(source) for source in SOURCES]
