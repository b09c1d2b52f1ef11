"""The blocking check of the published partner indicators: what they reveal of the counts.

A published row can break statistical secrecy directly (`violations_secret`: a value on a
`secret` row, a count of 1 to 4 people) or by what it reveals once combined with the others:
`audit_publication` reads the attacker's knowledge off the published rows (`REVELATIONS`), not
off the suppression's flags, and bounds every protected count by linear programming
(`secret_audit`), as `secret_suppression.applique_secret` did before publishing.
"""

from __future__ import annotations

import polars as pl

from observatory.transforms import secret_audit
from observatory.transforms.partner_activity import (
    CELLULE_SCHEMA,
    CLE_CELLULE,
    PARTS_DIAGNOSTIC,
    POUR_MILLE,
    SEUIL_SECRET,
    TOTAL_DIAGNOSTIC,
)
from observatory.transforms.secret_suppression import (
    HISTORIQUE_SCHEMA,
    RELATIONS_SCHEMA,
    SANS_HISTORIQUE,
    deja_reveles,
    etat_historique,
    groupes_exposes,
    relations_lineaires,
)

COMPTES_PUBLIES = ("nb_diagnostics_autonomie",)


def violations_secret(indicateurs: pl.DataFrame) -> pl.DataFrame:
    """Published rows that break statistical secrecy: a value on a `secret` row, or a partner
    count of 1 to 4 people. Empty when the table is safe to publish."""
    return indicateurs.filter(
        (pl.col("secret") & pl.col("valeur").is_not_null())
        | (
            pl.col("indicateur").is_in(COMPTES_PUBLIES)
            & pl.col("valeur").is_between(1, SEUIL_SECRET - 1)
        )
    ).select("niveau", "code", "indicateur", "annee", "valeur", "secret")


# published indicator → (type_fichier, numerator, denominator): what its value tells of the
# counts. Without a denominator the value gives the numerator itself: a count, or a ratio to a
# denominator published elsewhere (the need estimate of `ind_besoin`). With one, it ties the two
# counts (numerator = value × denominator) even when neither is published.
REVELATIONS = {
    "nb_diagnostics_autonomie": ("diagnostics_autonomie", TOTAL_DIAGNOSTIC, None),
    **{
        indicateur: ("diagnostics_autonomie", mesure, TOTAL_DIAGNOSTIC)
        for indicateur, mesure in PARTS_DIAGNOSTIC.items()
    },
    "ratio_pass_utilises_emis": ("pass_numerique", "nb_pass_utilises", "nb_pass_emis"),
    "accompagnements_pour_1000_illectronisme": ("accompagnements", "nb_accompagnements", None),
}
# published ratio to a need estimate published in the same table → (its indicator, factor)
BESOINS_PUBLIES = {"accompagnements_pour_1000_illectronisme": ("nb_illectronisme", POUR_MILLE)}
# the rows of a published table that `valeurs_revelees` reads
INDICATEURS_REVELATEURS = (*REVELATIONS, *(b for b, _ in BESOINS_PUBLIES.values()))
VALEURS_SCHEMA = {c: HISTORIQUE_SCHEMA[c] for c in (*CLE_CELLULE, "nb")}
AUDIT_SCHEMA = {
    **CELLULE_SCHEMA,
    "borne_min": pl.Float64(),
    "borne_max": pl.Float64(),
}


def _revelations() -> pl.DataFrame:
    """`REVELATIONS` as a table: indicateur, type_fichier, mesure, mesure_den."""
    return pl.DataFrame(
        [(nom, *sens) for nom, sens in REVELATIONS.items()],
        schema=["indicateur", "type_fichier", "mesure", "mesure_den"],
        orient="row",
    )


def valeurs_revelees(indicateurs: pl.DataFrame) -> pl.DataFrame:
    """The counts a published long table gives exactly, read as an attacker reads them.

    A count is its value; a share of a published total gives its numerator (share × total);
    a ratio to the published need gives its numerator (value × need / factor). Ratios between
    two unpublished counts give no count. Values are rounded to the unit (counts are integers;
    the published values carry full precision). Returns `VALEURS_SCHEMA`: what an earlier
    release revealed, before `secret_suppression.complete_historique` adds what follows by
    subtraction.
    """
    cle = ["niveau", "code", "annee"]
    revelations = _revelations()
    besoins = pl.DataFrame(
        [(nom, b, f) for nom, (b, f) in BESOINS_PUBLIES.items()],
        schema=["indicateur", "indicateur_besoin", "facteur"],
        orient="row",
    )
    publiees = indicateurs.filter(pl.col("valeur").is_not_null()).select(
        *cle, "indicateur", pl.col("valeur").cast(pl.Float64)
    )
    lignes = publiees.join(revelations, on="indicateur").join(besoins, on="indicateur", how="left")
    directs = lignes.filter(pl.col("mesure_den").is_null() & pl.col("facteur").is_null()).select(
        *cle, "type_fichier", "mesure", pl.col("valeur").alias("nb")
    )
    par_total = lignes.join(
        directs.rename({"mesure": "mesure_den", "nb": "nb_den"}),
        on=[*cle, "type_fichier", "mesure_den"],
    ).select(*cle, "type_fichier", "mesure", (pl.col("valeur") * pl.col("nb_den")).alias("nb"))
    par_besoin = lignes.join(
        publiees.select(
            "niveau", "code", pl.col("indicateur").alias("indicateur_besoin"), besoin="valeur"
        ),
        on=["niveau", "code", "indicateur_besoin"],
    ).select(
        *cle,
        "type_fichier",
        "mesure",
        (pl.col("valeur") * pl.col("besoin") / pl.col("facteur")).alias("nb"),
    )
    return (
        pl.concat([directs, par_total, par_besoin])
        .with_columns(pl.col("nb").round())
        .cast(VALEURS_SCHEMA)
        .unique()
        .sort(*CLE_CELLULE, "nb")
    )


def audit_publication(
    comptes: pl.DataFrame,
    appartenances: pl.DataFrame,
    indicateurs: pl.DataFrame,
    historique: pl.DataFrame | None = SANS_HISTORIQUE,
    seuil: int = SEUIL_SECRET,
) -> pl.DataFrame:
    """Counts the published indicators pin down too tightly; empty when the release is safe.

    The attacker's knowledge is read from the published rows (`REVELATIONS`), not from the
    suppression's flags: a count published or derivable from a ratio to a published denominator
    is known, a ratio between two counts is one more linear relation, on top of both hierarchies
    and the category totals; a count whose own row, or whose share of a published total, is
    secret is at least 1 (zeros are never hidden). Protected: every covered count of 1 to
    `seuil` - 1, every count whose own published row is secret, and every non-zero count within
    `seuil` - 1 of a value an earlier release revealed (a zero is never hidden; `historique`,
    `etat_historique`: the difference between two releases is a count too; a count equal to one
    is known, read there, and not to protect: it was revealed already); a protected count that
    is published or derivable is reported with its exact value. A count pinned by what earlier
    releases revealed alone is not reported (`deja_reveles`: this release adds nothing to it).
    With `historique` None (unreadable), every covered non-zero count is protected and none may
    be known. Each gets its interval by linear programming (`secret_audit`); those narrower than
    the rule are returned with it. So is a total known in this release and an earlier one whose
    other members gained 1 to `seuil` - 1 together (`groupes_exposes`), its bounds its value.
    `comptes` is `agrege_comptes`' output (the true counts), `indicateurs` the published long
    table (rows of other indicators are ignored).
    """
    cellules = comptes.with_row_index("id").with_columns(pl.col("id").cast(pl.Int64))
    additives = relations_lineaires(cellules, appartenances)
    # what earlier releases revealed, completed through the additive relations only (a ratio
    # ties two counts of this release, not of an earlier one)
    ecart, fixe, revelees = etat_historique(cellules, historique, additives, seuil)
    revelations = _revelations()
    cle = ["niveau", "code", "annee", "type_fichier"]
    ids = cellules.select(*cle, "mesure", "id")
    lignes = indicateurs.select(
        "niveau", "code", "annee", "indicateur", pl.col("valeur").cast(pl.Float64), "secret"
    ).join(revelations, on="indicateur")
    publiees = lignes.filter(pl.col("valeur").is_not_null())
    connus = publiees.filter(pl.col("mesure_den").is_null()).join(ids, on=[*cle, "mesure"])
    secrets = (
        lignes.filter(pl.col("mesure_den").is_null() & pl.col("secret"))
        .join(ids, on=[*cle, "mesure"])
        .select("id")
    )
    # zeros are never hidden: a count whose own row is secret is at least 1, and so is one whose
    # share of a published total is secret (the total is not what hides it)
    au_moins_un = pl.concat(
        [
            secrets,
            lignes.filter(pl.col("mesure_den").is_not_null() & pl.col("secret"))
            .join(ids, on=[*cle, "mesure"])
            .join(
                connus.select(*cle, pl.col("mesure").alias("mesure_den"), id_den="id"),
                on=[*cle, "mesure_den"],
            )
            .select("id"),
        ]
    )
    ratios = (
        publiees.filter(pl.col("mesure_den").is_not_null())
        .join(ids, on=[*cle, "mesure"])
        .join(ids.rename({"mesure": "mesure_den", "id": "id_den"}), on=[*cle, "mesure_den"])
        .with_row_index("rang")
        .with_columns(
            (pl.col("rang").cast(pl.Int64) + (additives["relation"].max() or 0) + 1).alias(
                "relation"
            )
        )
    )
    vrais = cellules.select("id", pl.col("nb").cast(pl.Float64).alias("nb_vrai"))
    relations = pl.concat(
        [
            additives,
            ratios.select("relation", "id", coef=pl.lit(1.0)),
            # the exact ratio of the counts, not the published one (which may be rounded:
            # `RATIOS_ARRONDIS`): the attacker is granted at least what the value tells
            ratios.join(vrais, on="id")
            .join(vrais.rename({"id": "id_den", "nb_vrai": "den_vrai"}), on="id_den")
            .filter(pl.col("den_vrai") > 0)
            .select(
                "relation",
                pl.col("id_den").alias("id"),
                coef=-(pl.col("nb_vrai") / pl.col("den_vrai")),
            ),
        ]
    ).cast(RELATIONS_SCHEMA)
    # a ratio to a published denominator gives its numerator exactly: known too, so that the
    # relations it is in leave the programmes (else every category of the country is one
    # component, a programme of 100 000 variables)
    derives = ratios.join(connus.select(pl.col("id").alias("id_den")), on="id_den").select("id")
    connu = pl.col("id").is_in(
        pl.concat([connus.select("id"), derives, fixe.to_frame()])["id"].implode()
    )
    if historique is None:  # nothing non-zero may be known: no programme needed
        etroites = cellules.filter(
            connu & pl.col("couverture") & pl.col("id").is_in(ecart.implode())
        ).select("id", borne_min=pl.col("nb").cast(pl.Float64), borne_max=pl.col("nb"))
        return _cellules_etroites(etroites, cellules)
    bornes = secret_audit.intervalles_secret(
        cellules.select(
            "id",
            "nb",
            (pl.col("couverture") & connu).alias("connu"),
            (
                pl.col("couverture")
                & ~pl.col("id").is_in(fixe.implode())  # revealed already: nothing to protect
                & (
                    pl.col("nb").is_between(1, seuil - 1)
                    | pl.col("id").is_in(secrets["id"].implode())
                    | pl.col("id").is_in(ecart.implode())
                )
            ).alias("a_proteger"),
            (pl.col("id").is_in(au_moins_un["id"].implode()) & (pl.col("nb") >= 1))
            .cast(pl.Float64)
            .alias("minimum"),
        ),
        relations,
        seuil,
    )
    etroites = bornes.filter(~pl.col("protege"))
    # pinned by what earlier releases revealed alone: this release adds nothing to it
    deja = deja_reveles(cellules, additives, etroites["id"], fixe, seuil)
    etroites = etroites.filter(~pl.col("id").is_in(deja.implode()))
    if revelees is not None:
        # a parent known in both releases whose other members gained 1 to 4 together: the
        # parent is reported, its bounds its value
        termes = groupes_exposes(
            cellules.with_columns((pl.col("couverture") & connu).alias("connu")),
            additives,
            revelees,
            seuil,
        )
        parents = termes.filter(pl.col("coef") < 0).select("id").unique()
        etroites = pl.concat(
            [
                etroites.select("id", "borne_min", "borne_max"),
                cellules.join(parents, on="id").select(
                    "id",
                    pl.col("nb").cast(pl.Float64).alias("borne_min"),
                    pl.col("nb").cast(pl.Float64).alias("borne_max"),
                ),
            ]
        ).unique("id")
    return _cellules_etroites(etroites, cellules)


def _cellules_etroites(etroites: pl.DataFrame, cellules: pl.DataFrame) -> pl.DataFrame:
    """The narrow cells (`id`, bounds) with their key and count (`AUDIT_SCHEMA`), sorted."""
    return (
        etroites.select("id", "borne_min", "borne_max")
        .join(cellules, on="id")
        .select(list(AUDIT_SCHEMA))
        .cast(AUDIT_SCHEMA)
        .sort("type_fichier", "mesure", "annee", "niveau", "code")
    )
