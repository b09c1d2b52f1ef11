"""Indicators computed in Python where SQL is the wrong tool, and their commune inputs.

Need (indirect standardisation with an interval whose sampling part does not add up across
communes), fragility (scores against a reference territory) and access (nearest-neighbour
search with a spatial index). Their aggregations that are plain sums live in SQL
(`dbt_like_sql/indicators/`).
"""

import dagster as dg
import polars as pl

from observatory.defs.resources import ObservatoryResource
from observatory.sources.catalogue import FRANCE_SERVICES
from observatory.transforms import access, fragility, need

INTERMEDIATE = "intermediate"
INDICATORS = "indicators"
TAUX_ILLECTRONISME = "insee_illectronisme/taux_illectronisme.csv"


def _population_communes(territoires: pl.DataFrame) -> pl.DataFrame:
    return territoires.filter(pl.col("niveau") == "commune").select(
        pl.col("code").alias("code_commune"), "population", "latitude", "longitude"
    )


def _taux(observatory: ObservatoryResource) -> need.TauxReference:
    return need.taux_reference(pl.read_csv(observatory.settings.assets_dir / TAUX_ILLECTRONISME))


@dg.asset(group_name=INTERMEDIATE)
def int__besoin_communes(
    observatory: ObservatoryResource,
    int__statistiques_communes: pl.DataFrame,
    int__territoires: pl.DataFrame,
) -> dg.Output[pl.DataFrame]:
    """People aged 15+ in illectronisme per commune (estimate, interval, sum components)."""
    taux = _taux(observatory)
    structure = need.structure_nationale(int__statistiques_communes)
    ecarts = need.ecart_structures(int__statistiques_communes, taux, structure)
    frame = need.estime_illectronisme(
        int__statistiques_communes,
        _population_communes(int__territoires),
        taux,
        structure,
        need.tau_modele(ecarts),
    )
    structures = dict(frame.group_by("structure_utilisee").len().iter_rows())
    return dg.Output(
        frame,
        metadata={
            "structures": structures,
            **{f"ecart_rp2018_rp2017_{k}": v for k, v in need.resume_ecarts(ecarts).items()},
        },
    )


@dg.asset(group_name=INTERMEDIATE)
def int__acces_communes(
    int__territoires: pl.DataFrame, int__lieux: pl.DataFrame
) -> dg.Output[pl.DataFrame]:
    """Distance from each commune to the nearest help with procedures and France Services."""
    communes = _population_communes(int__territoires).drop("population")
    frame = access.distances_acces(communes, int__lieux).with_columns(
        pl.lit(FRANCE_SERVICES.annee, pl.Int32).alias("annee")
    )
    statuts = {f"{c}:{s}": n for c, s, n in frame.group_by("cible", "statut").len().iter_rows()}
    return dg.Output(frame, metadata=statuts)


@dg.asset(group_name=INTERMEDIATE)
def int__filosofi_territoires(stg_insee__filosofi_territoires: pl.DataFrame) -> pl.DataFrame:
    """INSEE's own Filosofi figures for départements and régions (unchanged perimeters).

    EPCI figures are on 2019 perimeters and are not carried over to COG 2026 EPCI.
    """
    return stg_insee__filosofi_territoires.filter(
        pl.col("niveau").is_in(fragility.NIVEAUX_FILOSOFI_INSEE)
    ).select("niveau", "code", "annee", *fragility.COLONNES_FILOSOFI)


@dg.asset(group_name=INDICATORS)
def ind_besoin(
    observatory: ObservatoryResource,
    int__besoin_communes: pl.DataFrame,
    int__appartenances: pl.DataFrame,
) -> dg.Output[pl.DataFrame]:
    """`nb_illectronisme`, `taux_illectronisme` with their 95 % interval, at every level."""
    frame = need.indicateurs_besoin(int__besoin_communes, int__appartenances, _taux(observatory))
    return dg.Output(frame, metadata={"lignes": frame.height})


@dg.asset(group_name=INDICATORS)
def ind_fragilite(
    int__statistiques_communes: pl.DataFrame,
    int__territoires: pl.DataFrame,
    int__appartenances: pl.DataFrame,
    int__filosofi_territoires: pl.DataFrame,
) -> dg.Output[pl.DataFrame]:
    """La Mednum's fragility index, France as reference everywhere, département for communes."""
    entrees = fragility.entrees_par_niveau(
        fragility.entrees_ifn_communes(
            int__statistiques_communes, _population_communes(int__territoires)
        ),
        int__appartenances,
        int__filosofi_territoires,
    )
    frame = fragility.indicateurs_fragilite(entrees, int__appartenances, fragility.ANNEE_IFN)
    return dg.Output(frame, metadata={"lignes": frame.height})


intermediate_indicator_inputs = [
    int__besoin_communes,
    int__acces_communes,
    int__filosofi_territoires,
]
python_indicators = [ind_besoin, ind_fragilite]
