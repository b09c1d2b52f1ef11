"""Raw assets: land each source's files, as received, in the raw layer.

In the live profile a source with a live URL is downloaded, retried with backoff by the
asset's retry policy; when every attempt fails, the last good download is served and the
asset says the source is stale (the release lists it), instead of failing the run.
"""

import dagster as dg

from observatory.defs.resources import ObservatoryResource
from observatory.defs.schedules import last_updated_metadata, network_retry_policy
from observatory.settings import Settings
from observatory.sources.catalogue import SOURCES, Source
from observatory.sources.fallback import land_live_or_keep_last
from observatory.sources.raw import land_source


def build_raw_asset(
    source: Source, retry_policy: dg.RetryPolicy | None = None
) -> dg.AssetsDefinition:
    @dg.asset(
        name=source.raw_asset,
        group_name="raw",
        description=f"{source.title} — {source.producer}, millésime {source.vintage}.",
        kinds={"file"},
        metadata={"millesime": source.vintage, "licence": source.licence},
        retry_policy=retry_policy,
    )
    def _raw(
        context: dg.AssetExecutionContext, observatory: ObservatoryResource
    ) -> dg.MaterializeResult:
        settings, stale, error = observatory.settings, False, ""
        if settings.profile == "live" and source.live:
            last_try = retry_policy is None or context.retry_number >= retry_policy.max_retries
            landing = land_live_or_keep_last(settings, source, fallback=last_try)
            files, stale, error = landing.files, landing.stale, landing.error or ""
            if stale:
                context.log.warning(
                    f"{source.key}: download failed, serving the download of "
                    f"{landing.retrieved_at}: {error}"
                )
        else:
            files = land_source(settings, source)
        return dg.MaterializeResult(
            metadata={
                "fichiers": [f.chemin for f in files],
                "sha256": [f.sha256 for f in files],
                "octets": sum(f.taille_octets for f in files),
                "profil": observatory.profile,
                "perimee": stale,
                "erreur_telechargement": error,
                # a source with no bundled file lands nothing offline
                **(last_updated_metadata(min(f.recupere_le for f in files)) if files else {}),
            }
        )

    return _raw


def build_raw_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    """One raw asset per source; network ones get the retry policy in the live profile."""
    policy = network_retry_policy(settings)
    return [build_raw_asset(s, policy if s.live else None) for s in SOURCES]
