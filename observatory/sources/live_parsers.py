"""Which parser turns each live source's files into its bundled layout (used by `read_landed`).

`FILE_PARSERS`: one parser per file (bytes → frame), the frames of a source's files stacked.
`SOURCE_PARSERS`: one parser for all the files of a source together (name → bytes), for
sources whose live files are parts of one table (the census: population and diplomas).
A live source in neither is read as its bundled format (the lieux export is already a CSV in
the standard).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import polars as pl

from observatory.sources import (
    aidants_connect_live,
    arcep_live,
    caf_live,
    dares_live,
    france_services_live,
    insee_live,
)
from observatory.sources.cog_live import LIVE_PARSERS as COG_PARSERS

FileParser = Callable[[bytes], pl.DataFrame]
SourceParser = Callable[[Mapping[str, bytes]], pl.DataFrame]

FILE_PARSERS: dict[str, FileParser] = {
    **COG_PARSERS,
    "france_services__lieux": france_services_live.parse_liste_france_services,
    "aidants_connect__structures": aidants_connect_live.parse_organisations,
    "insee__filosofi_communes": insee_live.parse_filosofi_cc,
    "insee__filosofi_territoires": insee_live.parse_filosofi_territoires,
    "insee__zonages": insee_live.parse_table_appartenance,
    "anct__grilles_communales": insee_live.parse_grille_densite,
    "arcep__thd": arcep_live.parse_commune_debit,
    "caf__allocataires_communes": caf_live.parse_s_ben_com_f,
    "caf__rsa_iris": caf_live.parse_s_ben_com_f_rsa,
    "pole_emploi__defm": dares_live.parse_defm_communales,
    "insee__passage_communes": insee_live.parse_table_passage,
    "insee__mouvements_communes": insee_live.parse_mouvements_communes,
}
SOURCE_PARSERS: dict[str, SourceParser] = {
    "insee__rp2018_effectifs": insee_live.parse_rp_effectifs,
    "insee__rp2017_parts": insee_live.parse_rp_parts,
}
