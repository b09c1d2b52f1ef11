"""Earlier vintages of ANCT's national list of France Services, read as the current list.

The 2020 export ("cget-carto", first labelling wave) names its columns differently and leaves
`ITINERANCE` empty for fixed sites; renamed to the 2022 list's layout, it goes through the same
mapping to La Mednum's standard (`registries.parse_france_services`), so both vintages are
counted the same way in the series of `ind_offre`.
"""

from __future__ import annotations

import polars as pl

from observatory.transforms import lieux, registries

COLONNES_2020 = {
    "MATRICULE": "id_fs",
    "lib_france_services": "lib_fs",
    "ADRESSE": "adresse",
    "COMPLEMENT.D.ADRESSE": "complement_adresse",
    "insee_com": "insee_com",
    "code_postal": "code_postal",
    "lib_com": "lib_com",
    "latitude": "latitude",
    "longitude": "longitude",
    "CONTACT.MAIL": "mail",
    "TELEPHONE": "telephone",
    "h_lundi": "h_lundi",
    "h_mardi": "h_mardi",
    "h_mercredi": "h_mercredi",
    "h_jeudi": "h_jeudi",
    "h_vendredi": "h_vendredi",
    "h_samedi": "h_samedi",
    "Commentaire.horaires": "commentaire",
    "ITINERANCE": "itinerance",
    "FORMAT_FS": "format_fs",
}


def parse_france_services_2020(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The 2020 cget-carto export → standard v1 (lieux, ecarts), via the 2022 list's mapping.

    An empty `ITINERANCE` means a fixed site in this export (only `Oui` is ever written); the
    other columns (`COMMUNE`, upper-case duplicates of the coordinates, groups) are not mapped.
    """
    missing = sorted(set(COLONNES_2020) - set(raw.columns))
    if missing:
        raise ValueError(f"France Services 2020: colonnes absentes {missing}")
    renamed = raw.rename(COLONNES_2020).with_columns(
        pl.col("itinerance").fill_null("Non"),
        pl.col("insee_com").str.zfill(5),
    )
    return registries.parse_france_services(renamed)


COLONNES_SITES = (
    "jeu_de_donnees",
    "id",
    "annee",
    "source_millesime",
    "definition",
    "code_commune",
    "itinerance",
)


def sites_des_millesimes(listes: list[tuple[pl.DataFrame, str, int, str]]) -> list[pl.DataFrame]:
    """Each vintage's list of sites (frame, source key, year, definition) stamped with its
    year, source and definition, so that vintages whose definitions differ are told apart."""
    return [
        frame.with_columns(
            pl.lit(annee, pl.Int32).alias("annee"),
            pl.lit(cle).alias("source_millesime"),
            pl.lit(definition).alias("definition"),
        )
        for frame, cle, annee, definition in listes
    ]


def resout_sites_millesimes(
    listes: list[tuple[pl.DataFrame, str, int, str]], *referentiel: pl.DataFrame | None
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Every site of every vintage with its COG 2026 commune, resolved as the places are
    (`referentiel`: the arguments of `lieux.resout_lieux` after the lists), with its year,
    source and definition: (sites, quarantine, rows in)."""
    kept, quarantine, lignes = lieux.resout_lieux(sites_des_millesimes(listes), *referentiel)
    return kept.select(COLONNES_SITES), quarantine, lignes


def sites_par_millesime(sites: pl.DataFrame, cles: list[str]) -> dict[str, pl.DataFrame]:
    """The resolved sites of each vintage (`source_millesime`), for its coverage."""
    return {cle: sites.filter(pl.col("source_millesime") == cle) for cle in cles}
