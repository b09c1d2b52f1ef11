"""Activity files (`mappings.TYPES_ACTIVITE`): counts of a territory over a period, checked.

Values a file cannot mean are quarantined, never summed: a count above the population of its
territory (`nombre_invraisemblable`), a key (territory, period, dimensions) given twice
(`cle_dupliquee`), an annual row and monthly or quarterly rows of the same year for the same
key (`periodes_chevauchantes`: which one to count is the producer's call), categories that add
up to more than their total. With the COG (`Referentiel`), a former commune code is rebased on
its current commune (`code_commune_ancien_rebase`, like the statistics) and a code absent from
it is rejected here (`code_hors_cog`), so the producer's report says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from observatory.partners.mappings import TYPES_ACTIVITE, PartnerMapping, TypeActivite
from observatory.partners.values import periode
from observatory.validation.quarantine import (
    IDENTITE_LIGNE,
    REJET,
    ROW,
    VALEUR_CORRIGEE,
    Check,
    run_checks,
    split_rejected,
)

CHEVAUCHEMENT = "periodes_chevauchantes"


@dataclass(frozen=True)
class Referentiel:
    """The COG that activity files' codes are checked against.

    `territoires`: (niveau, code, population) of every current territory; `anciens_codes`:
    (code_ancien, code) of former commune codes and the current commune each is in now.
    """

    territoires: pl.DataFrame
    anciens_codes: pl.DataFrame


def cle_activite(kind: TypeActivite) -> list[str]:
    """The key of an activity row: territory, period, dimensions."""
    return ["niveau", "code", "periode_debut", "periode_fin", *kind.dimensions]


def cle_texte(cle: list[str]) -> pl.Expr:
    """A row's key as the quarantine writes it: its values, space-separated."""
    return pl.concat_str([pl.col(c).cast(pl.String) for c in cle], separator=" ", ignore_nulls=True)


def chevauchements(frame: pl.DataFrame, cle_sans_periode: list[str]) -> pl.DataFrame:
    """(fichier_origine, ligne) of rows whose period overlaps another row's of the same key
    (an annual row and monthly rows of that year) without being the same period."""
    rows = frame.select(
        "fichier_origine",
        ROW,
        *cle_sans_periode,
        "periode_debut",
        "periode_fin",
        pl.col("periode_debut").dt.year().alias("_annee"),
    ).filter(pl.col("periode_debut").is_not_null() & pl.col("periode_fin").is_not_null())
    on = [*cle_sans_periode, "_annee"]
    pairs = rows.join(rows, on=on, how="inner", suffix="_b", nulls_equal=True).filter(
        (
            (pl.col("fichier_origine") != pl.col("fichier_origine_b"))
            | (pl.col(ROW) != pl.col(f"{ROW}_b"))
        )
        & (pl.col("periode_debut") <= pl.col("periode_fin_b"))
        & (pl.col("periode_debut_b") <= pl.col("periode_fin"))
        & (
            (pl.col("periode_debut") != pl.col("periode_debut_b"))
            | (pl.col("periode_fin") != pl.col("periode_fin_b"))
        )
    )
    return pairs.select("fichier_origine", ROW).unique()


def _chevauche(frame: pl.DataFrame, cle_sans_periode: list[str]) -> pl.Expr:
    hits = chevauchements(frame, cle_sans_periode)
    marque = pl.concat_str(
        [pl.col("fichier_origine"), pl.col(ROW).cast(pl.String)], separator="\x1f"
    )
    cles = hits.select(marque.alias("k"))["k"]
    return marque.is_in(cles.implode())


def check_chevauchement(frame: pl.DataFrame, kind: TypeActivite) -> Check:
    """Rows of `frame` whose period overlaps another's of the same territory and dimensions
    (`periodes_chevauchantes`): rejected, never summed, their key written."""
    return Check(
        "periode",
        CHEVAUCHEMENT,
        _chevauche(frame, ["niveau", "code", *kind.dimensions]),
        REJET,
        cle_texte(cle_activite(kind)),
    )


def _codes(
    frame: pl.DataFrame, referentiel: Referentiel | None
) -> tuple[pl.DataFrame, list[Check]]:
    """Former commune codes rebased on their current commune; codes absent from the COG and
    counts above their territory's population rejected."""
    if referentiel is None:
        return frame, []
    anciens = referentiel.anciens_codes.select(
        pl.lit("commune").alias("niveau"),
        pl.col("code_ancien").alias("code"),
        pl.col("code").alias("_code_actuel"),
    ).unique(["niveau", "code"])
    actuels = referentiel.territoires.select(
        "niveau", "code", pl.lit(True).alias("_connu"), pl.col("population").alias("_population")
    )
    frame = (
        frame.join(actuels.select("niveau", "code", "_connu"), on=["niveau", "code"], how="left")
        .join(anciens, on=["niveau", "code"], how="left")
        .with_columns(
            (pl.col("_connu").is_null() & pl.col("_code_actuel").is_not_null()).alias("_rebase"),
            pl.col("code").alias("_code_ecrit"),
        )
        .with_columns(
            pl.when("_rebase").then(pl.col("_code_actuel")).otherwise(pl.col("code")).alias("code")
        )
        .drop("_connu", "_code_actuel")
        .join(actuels, on=["niveau", "code"], how="left")
    )
    checks = [
        Check(
            "code",
            "code_commune_ancien_rebase",
            pl.col("_rebase"),
            VALEUR_CORRIGEE,
            pl.format("{} → {}", pl.col("_code_ecrit"), pl.col("code")),
        ),
        Check(
            "code",
            "code_hors_cog",
            pl.col("code").is_not_null() & pl.col("_connu").is_null(),
            REJET,
            pl.col("_code_ecrit"),
        ),
    ]
    return frame, checks


def stage_activite(
    frame: pl.DataFrame, mapping: PartnerMapping, referentiel: Referentiel | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Activity rows: key (niveau, code, period, dimensions) unique, categories within total,
    codes in the COG (former ones rebased), counts within the population, no overlapping
    periods."""
    kind = TYPES_ACTIVITE[mapping.type_fichier]
    code_rule = mapping.regle("code")
    assert code_rule is not None  # checked when the mapping was loaded
    _, fin = periode(pl.col("periode"))
    present = {r.nom for r in mapping.colonnes} | set(mapping.constantes)
    frame = frame.with_columns(
        pl.lit(code_rule.niveau).alias("niveau"),
        pl.col("_v_code").alias("code"),
        pl.col("_v_periode").alias("periode_debut"),
        pl.when(pl.col("_v_periode").is_not_null()).then(fin).alias("periode_fin"),
        *(
            (pl.col(f"_v_{d}") if d in present else pl.lit(None, pl.String)).alias(d)
            for d in kind.dimensions
        ),
        *(
            (pl.col(f"_v_{m}") if m in present else pl.lit(None, pl.Float64)).alias(m)
            for m in kind.mesures
        ),
    )
    frame, code_checks = _codes(frame, referentiel)
    cle = cle_activite(kind)
    complete = pl.all_horizontal(pl.col(c).is_not_null() for c in cle if c not in kind.dimensions)
    entiers = [m for m in kind.mesures if m.startswith("nb_")]
    checks = [
        *code_checks,
        Check(
            "code",
            "cle_dupliquee",
            complete & ~pl.struct(cle).is_first_distinct(),
            REJET,
            cle_texte(cle),
        ),
        check_chevauchement(frame, kind),
    ]
    if "_population" in frame.columns:
        checks += [
            Check(
                m,
                "nombre_invraisemblable",
                pl.col(m) > pl.col("_population"),
                REJET,
                pl.format("{} pour {} habitants", pl.col(m).cast(pl.Int64), pl.col("_population")),
            )
            for m in entiers
        ]
    for dimension, allowed in kind.vocabulaires.items():
        checks.append(
            Check(
                dimension,
                "hors_vocabulaire",
                pl.col(dimension).is_not_null() & ~pl.col(dimension).is_in(list(allowed)),
            )
        )
    if "nb_diagnostics" in kind.mesures:
        parts = pl.sum_horizontal("nb_autonomes", "nb_besoin_aide", "nb_jamais_en_ligne")
        checks.append(
            Check(
                "nb_diagnostics",
                "somme_categories_superieure_au_total",
                parts > pl.col("nb_diagnostics"),
                REJET,
                pl.format("{} > {}", parts.cast(pl.Int64), pl.col("nb_diagnostics").cast(pl.Int64)),
            )
        )
    entries = run_checks(frame, checks)
    kept = split_rejected(frame, entries).select(
        *IDENTITE_LIGNE,
        *cle,
        *(
            pl.col(m).cast(pl.Int64) if m in entiers else pl.col(m).cast(pl.Float64)
            for m in kind.mesures
        ),
        *(["commentaire"] if "commentaire" in present else []),
    )
    return kept, entries
