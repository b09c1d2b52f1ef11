"""Indicators computed in Python where SQL is the wrong tool, and their commune inputs.

Need (indirect standardisation with an interval whose sampling part does not add up across
communes), fragility (scores against a reference territory) and access (nearest-neighbour
search with a spatial index). Their aggregations that are plain sums live in SQL
(`dbt_like_sql/indicators/`).
"""

import dagster as dg
import polars as pl

from observatory.sources import catalogue as cat
from observatory.transforms import access, fragility, need, need_age
from observatory.transforms.resume import effectifs

INTERMEDIATE = "intermediate"
INDICATORS = "indicators"


@dg.asset(group_name=INTERMEDIATE)
def int__besoin_communes(
    int__statistiques_communes: pl.DataFrame,
    int__territoires: pl.DataFrame,
    stg_insee__taux_illectronisme: pl.DataFrame,
) -> dg.Output[pl.DataFrame]:
    """People aged 15+ in illectronisme per commune (estimate, interval, sum components)."""
    frame, ecarts = need.besoin_communes(
        int__statistiques_communes, int__territoires, stg_insee__taux_illectronisme
    )
    structures = effectifs(frame, "structure_utilisee")
    return dg.Output(
        frame,
        metadata={
            "structures": structures,
            "structures_au_prorata": int(frame["structure_prorata"].sum()),
            **{f"ecart_rp2018_rp2017_{k}": v for k, v in need.resume_ecarts(ecarts).items()},
        },
    )


@dg.asset(group_name=INTERMEDIATE)
def int__difficulte_numerique_communes(
    int__statistiques_communes: pl.DataFrame,
    int__territoires: pl.DataFrame,
    int__besoin_communes: pl.DataFrame,
    stg_insee__taux_difficulte_numerique: pl.DataFrame,
) -> dg.Output[pl.DataFrame]:
    """People aged 15+ en difficulté avec le numérique per commune (age standardisation)."""
    frame = need_age.difficulte_communes(
        int__statistiques_communes,
        int__territoires,
        int__besoin_communes,
        stg_insee__taux_difficulte_numerique,
        cat.INSEE_TAUX_DIFFICULTE.annee,
    )
    return dg.Output(
        frame, metadata={"communes_estimees": frame["nb_difficulte_numerique"].count()}
    )


@dg.asset(group_name=INTERMEDIATE)
def int__acces_communes(
    int__territoires: pl.DataFrame, int__lieux: pl.DataFrame
) -> dg.Output[pl.DataFrame]:
    """Distance from each commune to the nearest help with procedures and France Services."""
    frame = access.acces_communes(int__territoires, int__lieux, cat.FRANCE_SERVICES.annee)
    statuts = effectifs(frame, "cible", "statut")
    return dg.Output(frame, metadata=statuts)


@dg.asset(group_name=INTERMEDIATE)
def int__filosofi_territoires(stg_insee__filosofi_territoires: pl.DataFrame) -> pl.DataFrame:
    """INSEE's own Filosofi figures for EPCI, départements, régions and France."""
    return fragility.filosofi_territoires(stg_insee__filosofi_territoires)


@dg.asset(group_name=INDICATORS)
def ind_besoin(
    int__besoin_communes: pl.DataFrame,
    int__difficulte_numerique_communes: pl.DataFrame,
    int__appartenances: pl.DataFrame,
    stg_insee__taux_illectronisme: pl.DataFrame,
    stg_insee__taux_difficulte_numerique: pl.DataFrame,
) -> dg.Output[pl.DataFrame]:
    """Need at every level with its 95 % interval: illectronisme and, broader, people en
    difficulté avec le numérique."""
    frame = need_age.indicateurs_besoin_mesures(
        int__besoin_communes,
        int__difficulte_numerique_communes,
        int__appartenances,
        need.taux_reference(stg_insee__taux_illectronisme),
        need_age.taux_age_reference(
            stg_insee__taux_difficulte_numerique, cat.INSEE_TAUX_DIFFICULTE.annee
        ),
    )
    return dg.Output(frame, metadata={"lignes": frame.height})


@dg.multi_asset(
    outs={
        "ind_fragilite": dg.AssetOut(group_name=INDICATORS),
        "int__fragilite_bornes": dg.AssetOut(group_name=INTERMEDIATE),
    },
)
def ind_fragilite(
    int__statistiques_communes: pl.DataFrame,
    int__territoires: pl.DataFrame,
    int__appartenances: pl.DataFrame,
    int__filosofi_territoires: pl.DataFrame,
) -> tuple[dg.Output[pl.DataFrame], dg.Output[pl.DataFrame]]:
    """La Mednum's fragility index against France, the région and the département; and the
    national caps of the variables' scores with the number of communes capped."""
    frame, bornes, imputees = fragility.calcule_ifn(
        int__statistiques_communes,
        int__territoires,
        int__appartenances,
        int__filosofi_territoires,
    )
    return (
        dg.Output(frame, metadata={"lignes": frame.height}),
        dg.Output(
            bornes,
            metadata={
                "communes_imputees": imputees,
                "bornes": dg.MetadataValue.json(bornes.to_dicts()),
            },
        ),
    )


intermediate_indicator_inputs = [
    int__besoin_communes,
    int__difficulte_numerique_communes,
    int__acces_communes,
    int__filosofi_territoires,
]
python_indicators = [ind_besoin, ind_fragilite]
