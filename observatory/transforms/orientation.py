"""The `orientation` table: for every commune, where the nearest help of each kind is.

The first question of a social worker or a mediator is "where do I send this person, near
where they live, for this kind of help?". For each service of La Mednum's standard, for
France Services and for the places with a conseiller numérique, the table lists the nearest
places of every commune (the commune's own places first, at distance 0), with what the
published `lieux` table says of them: address, opening hours, fees, accessibility.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from observatory.transforms.access import (
    CONSEILLERS_NUMERIQUES,
    DEMARCHES,
    FRANCE_SERVICES,
    SERVICE_DEMARCHES,
    Critere,
    IndexLieux,
)

NB_DEMARCHES = 3
NB_PAR_AUTRE_CRITERE = 1
# Columns of the published `lieux` carried to each row, as published (name → name here).
COLONNES_LIEU = {
    "id": "id_lieu",
    "nom": "nom",
    "adresse": "adresse",
    "complement_adresse": "complement_adresse",
    "code_postal": "code_postal",
    "commune": "commune_lieu",
    "latitude": "latitude",
    "longitude": "longitude",
    "horaires": "horaires",
    "frais_a_charge": "frais_a_charge",
    "modalites_acces": "modalites_acces",
    "modalites_accompagnement": "modalites_accompagnement",
    "prise_en_charge_specifique": "prise_en_charge_specifique",
    "publics_specifiquement_adresses": "publics_specifiquement_adresses",
    "fiche_acces_libre": "fiche_acces_libre",
    "prise_rdv": "prise_rdv",
    "site_web": "site_web",
    "services": "services",
    "dispositif_programmes_nationaux": "dispositif_programmes_nationaux",
    "date_maj": "date_maj",
}
COLONNES = (
    "code_commune",
    "champ",
    "critere",
    "rang",
    "distance_km",
    "dans_la_commune",
    "id_lieu",
    "nom",
    "adresse",
    "complement_adresse",
    "code_postal",
    "commune_lieu",
    "code_commune_lieu",
    "itinerant",
    "code_commune_arret",
    "latitude",
    "longitude",
    "position_lieu",
    "horaires",
    "frais_a_charge",
    "modalites_acces",
    "modalites_accompagnement",
    "prise_en_charge_specifique",
    "publics_specifiquement_adresses",
    "fiche_acces_libre",
    "prise_rdv",
    "site_web",
    "services",
    "dispositif_programmes_nationaux",
    "date_maj",
)
CLE = ("code_commune", "champ", "critere", "rang")


@dataclass(frozen=True)
class Recherche:
    """How many of the nearest places matching `critere` each commune gets."""

    critere: Critere
    nombre: int


def recherches_orientation(
    services: Sequence[str],
    nb_demarches: int = NB_DEMARCHES,
    nb_par_autre_critere: int = NB_PAR_AUTRE_CRITERE,
) -> list[Recherche]:
    """Every service of the standard (`services`, its vocabulary), France Services and the
    conseillers numériques; help with online procedures gets `nb_demarches` places, so that
    a person has a choice for the most asked-for help."""
    return [
        *(
            Recherche(DEMARCHES, nb_demarches)
            if s == SERVICE_DEMARCHES
            else Recherche(Critere("services", s), nb_par_autre_critere)
            for s in services
        ),
        Recherche(FRANCE_SERVICES, nb_par_autre_critere),
        Recherche(CONSEILLERS_NUMERIQUES, nb_par_autre_critere),
    ]


def build_orientation(
    communes: pl.DataFrame, lieux: pl.DataFrame, recherches: Sequence[Recherche]
) -> pl.DataFrame:
    """The `orientation` table from the published `lieux` and the communes' points.

    `communes`: `code_commune`, `latitude`, `longitude` (every commune; null point when
    unknown); `lieux`: the published `lieux` table (`id`, `code_insee` = resolved commune,
    and the columns of `COLONNES_LIEU`). One row per (commune, criterion, rank) found; a
    criterion no place meets in a commune's search zone (its DROM, Corsica, mainland) gives no
    row for that commune. Itinerant places count at their stop: `code_commune_arret`.
    """
    if not recherches:
        raise ValueError("no criterion to search for")
    places = lieux.select(
        pl.col("code_insee").alias("code_commune"),
        *COLONNES_LIEU,
        pl.col("itinerance")
        .str.split("|")
        .list.contains("Itinérant")
        .fill_null(False)
        .alias("itinerant"),
    )
    frames = []
    for recherche in recherches:
        critere = recherche.critere
        retenus = places.filter(critere.filtre())
        proches = IndexLieux(retenus, communes).plus_proches(communes, recherche.nombre)
        frames.append(
            proches.with_columns(
                pl.lit(critere.champ).alias("champ"),
                pl.lit(critere.valeur).alias("critere"),
                pl.when(pl.col("itinerant"))
                .then(pl.col("code_commune_lieu"))
                .alias("code_commune_arret"),
            )
            .rename(COLONNES_LIEU)
            .select(COLONNES)
        )
    return pl.concat(frames).sort(CLE)


def orientation_publiee(
    territoires: pl.DataFrame, lieux: pl.DataFrame, services: Sequence[str]
) -> pl.DataFrame:
    """The `orientation` table of a release from its `territoires` (the communes' points),
    its `lieux` and the standard's vocabulary of services."""
    communes = territoires.filter(pl.col("niveau") == "commune").select(
        pl.col("code").alias("code_commune"), "latitude", "longitude"
    )
    return build_orientation(communes, lieux, recherches_orientation(services))
