"""Earlier vintages of ANCT's national list of France Services, read as the current list.

The 2020 export ("cget-carto", first labelling wave) names its columns differently and leaves
`ITINERANCE` empty for fixed sites; renamed to the 2022 list's layout, it goes through the same
mapping to La Mednum's standard (`registries.parse_france_services`), so both vintages are
counted the same way in the series of `ind_offre`.
"""

from __future__ import annotations

import polars as pl

from observatory.transforms import registries

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
