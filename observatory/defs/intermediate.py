"""Intermediate assets: the territory reference, coverage of sources, places with communes."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import dagster as dg
import polars as pl

from observatory.defs.resources import ObservatoryResource
from observatory.defs.staging import staged
from observatory.partners.staging import complete_reports
from observatory.sources import catalogue as cat
from observatory.transforms import (
    context,
    contours,
    dedup,
    france_services,
    lieux,
    resume,
    territories,
)
from observatory.transforms.rebasages import REBASAGES, lignes_et_millesimes
from observatory.zonings import zonages_valides

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
    return dg.Output(frame, metadata={"communes": frame.height, **resume.lacunes(frame)})


@dg.asset(group_name=GROUP)
def int__contours_communes(
    stg_ign__contours_communes: pl.DataFrame, stg_cog__communes: pl.DataFrame
) -> dg.Output[pl.DataFrame]:
    """The polygons of the communes of the COG: the report's map, place-in-commune checks.
    A commune without a contour or a contour of no commune is listed, never guessed."""
    frame, sans, hors = contours.contours_du_cog(stg_ign__contours_communes, stg_cog__communes)
    return dg.Output(frame, metadata=resume.contours(frame, sans, hors))


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
    return dg.Output(frame, metadata=resume.effectifs(frame, "niveau", prefixe="nb_"))


@dg.multi_asset(
    group_name=GROUP,
    outs={
        "int__zonages_territoires": dg.AssetOut(),
        "int__zonages_appartenances": dg.AssetOut(),
    },
)
def int__zonages(
    observatory: ObservatoryResource,
    int__territoires: pl.DataFrame,
    stg_insee__passage_communes: pl.DataFrame,
    stg_insee__mouvements_communes: pl.DataFrame,
    stg_cog__communes: pl.DataFrame,
) -> tuple[dg.Output[pl.DataFrame], dg.Output[pl.DataFrame]]:
    """Users' zonings (`OBSERVATORY_ZONAGES_DIR`), validated: extra `zonage:<nom>` levels.

    A zoning that forgets or repeats a commune, or names an unknown code, fails the run with a
    message naming the communes; old commune codes are rebased to COG 2026.
    """
    noms, zones, appartenances = zonages_valides(
        observatory.settings.zonages_dir,
        int__territoires,
        stg_insee__passage_communes,
        stg_insee__mouvements_communes,
        stg_cog__communes,
    )
    return (
        dg.Output(zones, metadata={"zonages": noms, "zones": zones.height}),
        dg.Output(appartenances, metadata={"communes": appartenances.height}),
    )


@dg.asset(group_name=GROUP)
def int__appartenances(
    int__territoires: pl.DataFrame, int__zonages_appartenances: pl.DataFrame
) -> pl.DataFrame:
    """Each commune with every territory it belongs to: the key of every aggregation."""
    return territories.appartenances_avec_zonages(int__territoires, int__zonages_appartenances)


@dg.asset(group_name=GROUP, ins={spec.name: dg.AssetIn(spec.name) for spec in REBASAGES})
def int__couverture_sources(
    observatory: ObservatoryResource,
    stg_cog__communes: pl.DataFrame,
    int__lieux_resolus: pl.DataFrame,
    int__france_services_millesimes: pl.DataFrame,
    **statistiques: pl.DataFrame,
) -> pl.DataFrame:
    """Which communes each source covers, with its rows (uncovered → null indicators, never 0).

    Registries: declared coverage, rows = places resolved to the commune. Statistics: the
    communes they have a row for (after rebasing), rows = the source rows merged into it.
    """
    lignes, annees = lignes_et_millesimes(
        {spec.source.key: statistiques[spec.name] for spec in REBASAGES}
    )
    lignes |= lieux.lignes_par_jeu_de_donnees(
        int__lieux_resolus, [source.key for source in cat.REGISTRES_LIEUX]
    )
    lignes |= france_services.sites_par_millesime(
        int__france_services_millesimes, [cat.FRANCE_SERVICES_2020.key]
    )
    sources = (*cat.REGISTRES_LIEUX, cat.FRANCE_SERVICES_2020, *(s.source for s in REBASAGES))
    return territories.couverture_des_sources(
        stg_cog__communes, sources, lignes, annees, observatory.profile
    )


REGISTRES = [f"stg_{source.key}" for source in cat.REGISTRES_LIEUX]
# what a place is resolved against: communes, their old names and codes, points, contours
REFERENTIELS = (
    "stg_cog__communes",
    "stg_cog__communes_deleguees",
    "stg_laposte__communes_coordonnees",
    "stg_insee__mouvements_communes",
    "int__contours_communes",
)
Resolver = Callable[..., tuple[pl.DataFrame, pl.DataFrame, int]]


def build_resolution_asset(
    name: str,
    entrees: Sequence[str],
    resolve: Resolver,
    lists: Callable[[Mapping[str, pl.DataFrame]], list],
    description: str,
    partenaires: Sequence[str] = (),
) -> dg.AssetsDefinition:
    """An asset resolving places to their COG commune: `resolve(lists(inputs), *REFERENTIELS)`
    gives the places kept, the quarantine and the rows read; the quarantine is written, and
    the reports of the `partenaires`' files say which of their rows it rejected."""

    @dg.asset(
        name=name,
        group_name=GROUP,
        ins={n: dg.AssetIn(n) for n in (*REFERENTIELS, *entrees)},
        description=description,
    )
    def _resolved(
        observatory: ObservatoryResource, **frames: pl.DataFrame
    ) -> dg.Output[pl.DataFrame]:
        kept, quarantine, lignes = resolve(lists(frames), *(frames[n] for n in REFERENTIELS))
        retours = complete_reports(observatory.settings, partenaires, quarantine)
        return staged(observatory, name, lignes, kept, quarantine, retours_reecrits=len(retours))

    return _resolved


def build_lieux_resolus(partenaires: Sequence[str] = ()) -> dg.AssetsDefinition:
    """Places of the registries and of partners' place lists (`stg_partenaire__<p>`)."""
    entrees = [*REGISTRES, *partenaires]
    return build_resolution_asset(
        "int__lieux_resolus",
        entrees,
        lieux.resout_lieux,
        lambda frames: [frames[name] for name in entrees],
        "Places of every registry with their COG commune; unresolved or too far: quarantined.",
        [n.removeprefix("stg_partenaire__") for n in partenaires],
    )


@dg.asset(group_name=GROUP)
def int__lieux(int__lieux_resolus: pl.DataFrame) -> dg.Output[pl.DataFrame]:
    """One row per place: duplicates across and within registries merged, sources listed."""
    pairs = dedup.find_duplicate_pairs(int__lieux_resolus)
    merged = dedup.merge_duplicates(int__lieux_resolus, pairs)
    return dg.Output(merged, metadata=resume.fusion(int__lieux_resolus, pairs, merged))


intermediate_assets = [
    int__contours_communes,
    int__contexte_communes,
    int__territoires,
    int__zonages,
    int__appartenances,
    int__couverture_sources,
    int__lieux,
]
