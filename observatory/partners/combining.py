"""A partner's files together: the table its indicators read, oldest file first.

A list of places is a snapshot: the files of the newest landing count. Activity files add up,
a row a newer file gives again replacing the older one (`remplace_par_fichier_plus_recent`);
rows of different files whose periods overlap are rejected (`periodes_chevauchantes`). Every
row read stays accounted for: kept, or in the quarantine with its reason.
"""

from __future__ import annotations

import polars as pl

from observatory.partners.activity import check_chevauchement, cle_activite, cle_texte
from observatory.partners.mappings import LIEUX, TYPES_ACTIVITE, PartnerMapping
from observatory.partners.reading import PartnerRead
from observatory.settings import bundled
from observatory.sources.mednum import Standard, load_standard
from observatory.transforms.lieux import stage_lieux
from observatory.validation.quarantine import (
    IDENTITE_LIGNE,
    REJET,
    ROW,
    VALEUR_CORRIGEE,
    Check,
    account,
    empty_quarantine,
    run_checks,
    split_rejected,
)

REMPLACE = "remplace_par_fichier_plus_recent"


def empty_kept(mapping: PartnerMapping, standard: Standard | None = None) -> pl.DataFrame:
    """The staged table of a partner with no file yet: no rows, the columns of its kind."""
    identity = {c: pl.String for c in IDENTITE_LIGNE} | {ROW: pl.Int64}
    if mapping.type_fichier == LIEUX:
        standard = standard or load_standard(bundled("schemas"))
        v1 = pl.DataFrame(schema=identity | dict.fromkeys(standard.columns, pl.String))
        return stage_lieux(v1, standard)[0]
    kind = TYPES_ACTIVITE[mapping.type_fichier]
    schema = identity | {
        "niveau": pl.String,
        "code": pl.String,
        "periode_debut": pl.Date,
        "periode_fin": pl.Date,
        **dict.fromkeys(kind.dimensions, pl.String),
        **{m: pl.Int64 if m.startswith("nb_") else pl.Float64 for m in kind.mesures},
    }
    if mapping.regle("commentaire") is not None:
        schema["commentaire"] = pl.String
    return pl.DataFrame(schema=schema)


def _lieux_du_dernier_lot(
    reads: list[PartnerRead],
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Places of a partner: the files of its latest landing with a place kept, together (two
    lists dropped at once are both used); each older file's kept rows are reported replaced.
    A later landing of which no row could be kept (an export broken on every row) replaces
    nothing: its rows are reported rejected and the places before it stay published. An id
    that an earlier file of the same landing already uses gets the file's sha256 prefix."""
    utiles = [r.lot for r in reads if r.kept.height > 0]
    dernier = utiles[-1] if utiles else reads[-1].lot
    lot = [r for r in reads if r.lot == dernier]
    anciens = [r for r in reads if r.lot < dernier]
    remplaces = [
        run_checks(r.kept, [Check("id", REMPLACE, pl.lit(True), REJET, pl.col("id"))])
        for r in anciens
    ]
    kept_parts, entries = [], []
    vus: set[str] = set()
    for read in lot:
        frame = read.kept
        doublon = pl.col("id").is_in(pl.Series(sorted(vus), dtype=pl.String).implode())
        entries.append(
            run_checks(frame, [Check("id", "id_duplique_entre_fichiers", doublon, VALEUR_CORRIGEE)])
        )
        frame = frame.with_columns(
            pl.when(doublon)
            .then(pl.format("{}-{}", pl.col("id"), pl.col("sha256_origine").str.slice(0, 8)))
            .otherwise(pl.col("id"))
            .alias("id")
        )
        vus |= set(frame["id"].drop_nulls().to_list())
        kept_parts.append(frame)
    kept = pl.concat(kept_parts, how="vertical_relaxed")
    quarantine = pl.concat(
        [empty_quarantine(), *(r.quarantine for r in reads), *remplaces, *entries],
        how="vertical_relaxed",
    )
    rows_in = sum(r.lignes_entree for r in reads)
    account(rows_in, kept, quarantine)
    return kept, quarantine, rows_in


def combine_reads(
    reads: list[PartnerRead], mapping: PartnerMapping, standard: Standard | None = None
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """(kept, quarantine, rows in) of a partner's files, oldest first.

    A list of places is a snapshot: the files of the newest landing count (several files
    dropped together are all used). Activity files add up; a row whose key (territory,
    period, dimensions) a newer file gives again is replaced by it
    (`remplace_par_fichier_plus_recent`), so a corrected file supersedes the old one; rows of
    different files whose periods overlap (an annual file and a monthly one) are rejected
    (`periodes_chevauchantes`), never summed.
    """
    if not reads:
        return empty_kept(mapping, standard), empty_quarantine(), 0
    if mapping.type_fichier == LIEUX:
        return _lieux_du_dernier_lot(reads)
    kind = TYPES_ACTIVITE[mapping.type_fichier]
    cle = cle_activite(kind)
    kept = pl.concat(
        [r.kept.with_columns(pl.lit(i).alias("_ordre")) for i, r in enumerate(reads)],
        how="vertical_relaxed",
    )
    superseded = Check(
        "code",
        REMPLACE,
        pl.col("_ordre") < pl.col("_ordre").max().over(cle),
        REJET,
        cle_texte(cle),
    )
    entries = run_checks(kept, [superseded])
    restants = split_rejected(kept, entries)
    overlap = run_checks(restants, [check_chevauchement(restants, kind)])
    quarantine = pl.concat(
        [*(r.quarantine for r in reads), entries, overlap], how="vertical_relaxed"
    )
    rows_in = sum(r.lignes_entree for r in reads)
    kept = split_rejected(restants, overlap).drop("_ordre")
    account(rows_in, kept, quarantine)
    return kept, quarantine, rows_in
