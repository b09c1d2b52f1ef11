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

INTERMEDIATE = "intermediate"
INDICATORS = "indicators"


def _population_communes(territoires: pl.DataFrame) -> pl.DataFrame:
    return territoires.filter(pl.col("niveau") == "commune").select(
        pl.col("code").alias("code_commune"), "population", "latitude", "longitude"
    )


@dg.asset(group_name=INTERMEDIATE)
def int__besoin_communes(
    int__statistiques_communes: pl.DataFrame,
    int__territoires: pl.DataFrame,
    stg_insee__taux_illectronisme: pl.DataFrame,
) -> dg.Output[pl.DataFrame]:
    """People aged 15+ in illectronisme per commune (estimate, interval, sum components)."""
    taux = need.taux_reference(stg_insee__taux_illectronisme)
    structure = need.structure_nationale(int__statistiques_communes)
    ecarts = need.ecart_structures(int__statistiques_communes, taux, structure)
    frame = need.estime_illectronisme(
        int__statistiques_communes,
        _population_communes(int__territoires),
        taux,
        structure,
        need.tau_modele(ecarts),
        need.biais_modele(ecarts),
    )
    structures = dict(frame.group_by("structure_utilisee").len().iter_rows())
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
    taux = need_age.taux_age_reference(
        stg_insee__taux_difficulte_numerique, cat.INSEE_TAUX_DIFFICULTE.annee
    )
    frame = need_age.estime_par_age(
        int__statistiques_communes,
        _population_communes(int__territoires),
        taux,
        need.structure_nationale(int__statistiques_communes),
        int__besoin_communes["tau_modele"].drop_nulls().first(),
        int__besoin_communes["biais_structure"].drop_nulls().first(),
    )
    return dg.Output(
        frame, metadata={"communes_estimees": frame["nb_difficulte_numerique"].count()}
    )


@dg.asset(group_name=INTERMEDIATE)
def int__acces_communes(
    int__territoires: pl.DataFrame, int__lieux: pl.DataFrame
) -> dg.Output[pl.DataFrame]:
    """Distance from each commune to the nearest help with procedures and France Services."""
    communes = _population_communes(int__territoires).drop("population")
    frame = access.distances_acces(communes, int__lieux).with_columns(
        pl.lit(cat.FRANCE_SERVICES.annee, pl.Int32).alias("annee")
    )
    statuts = {f"{c}:{s}": n for c, s, n in frame.group_by("cible", "statut").len().iter_rows()}
    return dg.Output(frame, metadata=statuts)


@dg.asset(group_name=INTERMEDIATE)
def int__filosofi_territoires(stg_insee__filosofi_territoires: pl.DataFrame) -> pl.DataFrame:
    """INSEE's own Filosofi figures for EPCI, départements, régions and France."""
    return stg_insee__filosofi_territoires.filter(
        pl.col("niveau").is_in(fragility.NIVEAUX_FILOSOFI_INSEE)
    ).select("niveau", "code", "annee", *fragility.COLONNES_FILOSOFI)


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
    illectronisme = need.taux_reference(stg_insee__taux_illectronisme)
    difficulte = need_age.taux_age_reference(
        stg_insee__taux_difficulte_numerique, cat.INSEE_TAUX_DIFFICULTE.annee
    )
    frame = pl.concat(
        [
            need.indicateurs_besoin(
                int__besoin_communes,
                int__appartenances,
                illectronisme.erreur_type_age,
                illectronisme.millesime_age,
                need.ILLECTRONISME,
            ),
            need.indicateurs_besoin(
                int__difficulte_numerique_communes,
                int__appartenances,
                difficulte.erreur_type,
                difficulte.millesime,
                need.DIFFICULTE,
            ),
        ]
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
    population = _population_communes(int__territoires)
    communes = fragility.entrees_communes_imputees(
        fragility.entrees_ifn_communes(int__statistiques_communes, population),
        int__appartenances,
        int__filosofi_territoires,
    )
    entrees = fragility.entrees_par_niveau(communes, int__appartenances, int__filosofi_territoires)
    frame, bornes = fragility.indicateurs_fragilite(entrees, int__appartenances, population)
    return (
        dg.Output(frame, metadata={"lignes": frame.height}),
        dg.Output(
            bornes,
            metadata={
                "communes_imputees": int(
                    communes.filter(pl.col("imputee")).select("code").n_unique()
                ),
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
