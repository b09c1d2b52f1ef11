"""Statistics rebased on COG 2026 (one asset per commune-level source) and their commune table."""

from __future__ import annotations

import dagster as dg
import polars as pl

from observatory.defs.resources import ObservatoryResource
from observatory.transforms import statistics
from observatory.transforms.rebasages import REBASAGES, Rebasage, rebase_source
from observatory.transforms.resume import statuts
from observatory.validation.store import write_quarantine

GROUP = "intermediate"


def build_rebased_asset(spec: Rebasage) -> dg.AssetsDefinition:
    ins = {
        "stg": dg.AssetIn(spec.staging),
        "stg_cog__communes": dg.AssetIn("stg_cog__communes"),
        "stg_insee__passage_communes": dg.AssetIn("stg_insee__passage_communes"),
        "stg_insee__mouvements_communes": dg.AssetIn("stg_insee__mouvements_communes"),
    }
    if spec.poids_filosofi:
        ins["stg_insee__filosofi_communes"] = dg.AssetIn("stg_insee__filosofi_communes")

    @dg.asset(
        name=spec.name,
        group_name=GROUP,
        ins=ins,
        description=f"{spec.source.title}, sur les communes du COG 2026.",
    )
    def _rebased(observatory: ObservatoryResource, **inputs: pl.DataFrame) -> dg.Output:
        rebased, quarantine, report = rebase_source(
            spec,
            inputs["stg"],
            inputs["stg_cog__communes"],
            inputs["stg_insee__passage_communes"],
            inputs["stg_insee__mouvements_communes"],
            inputs.get("stg_insee__filosofi_communes"),
        )
        path = write_quarantine(observatory.settings, spec.name, quarantine)
        return dg.Output(rebased, metadata={**report, "quarantaine": str(path)})

    return _rebased


@dg.asset(group_name=GROUP, ins={spec.name: dg.AssetIn(spec.name) for spec in REBASAGES})
def int__statistiques_communes(
    stg_cog__communes: pl.DataFrame, **rebased: pl.DataFrame
) -> dg.Output[pl.DataFrame]:
    """Every COG 2026 commune with its statistics, each gap flagged (never a made-up value)."""
    frame = statistics.build_statistiques_communes(
        stg_cog__communes, {name.removeprefix("int__"): f for name, f in rebased.items()}
    )
    gaps = statuts(frame, "statut_structure_age", "statut_pauvrete", "statut_arcep")
    return dg.Output(frame, metadata={"communes": frame.height, **gaps})


statistics_assets = [*(build_rebased_asset(spec) for spec in REBASAGES), int__statistiques_communes]
