"""Partner activity: counts by territory and the indicators published from them.

Partners send counts of people (diagnosed, accompanied, pass numérique issued and used),
counted here for every nested level with their coverage (`compte_activite`,
`agrege_comptes`), then published as indicators once `secret_suppression` has flagged the cells
secrecy hides (a count of 1 to `SEUIL_SECRET` - 1 could identify a person, and so could one
recovered by subtraction). The blocking check on the published table is `secret_publication`.
Partner-derived indicators are published only at levels that nest (never at bassin de vie or
users' zonings, where a zone cut across the hierarchy would let a suppressed cell be rebuilt by
differencing).
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from observatory.transforms.couverture import (
    COLONNES_MODELE,
    COUVERTURE_MODELE,
    applique_regle_couverture,
)
from observatory.validation.quarantine import QUARANTINE_SCHEMA, REJET, empty_quarantine

SEUIL_SECRET = 5
SOMME_MAX = 2**62  # a total of counts above it is set aside (`somme_hors_limite`), never wrapped
NIVEAUX_EMBOITES = ("commune", "epci", "departement", "region", "france")
# parent level → child level, the nested hierarchies within which a cell could be recovered
ARETES_NIVEAUX = (
    ("commune", "epci"),
    ("commune", "departement"),
    ("departement", "region"),
    ("region", "france"),
)
CATEGORIES_DIAGNOSTIC = ("nb_autonomes", "nb_besoin_aide", "nb_jamais_en_ligne")
TOTAL_DIAGNOSTIC = "nb_diagnostics"
# The published share of each diagnostic category in the total, its code written out.
PARTS_DIAGNOSTIC = {
    "part_autonomes_diagnostic": "nb_autonomes",
    "part_besoin_aide_diagnostic": "nb_besoin_aide",
    "part_jamais_en_ligne_diagnostic": "nb_jamais_en_ligne",
}
# type_fichier of the partner mapping → its count columns (the measures)
MESURES = {
    "diagnostics_autonomie": (TOTAL_DIAGNOSTIC, *CATEGORIES_DIAGNOSTIC),
    "accompagnements": ("nb_accompagnements",),
    "pass_numerique": ("nb_pass_emis", "nb_pass_utilises"),
}
COMPTES_SCHEMA = {
    "niveau_source": pl.String(),
    "code": pl.String(),
    "annee": pl.Int32(),
    "mesure": pl.String(),
    "nb": pl.Int64(),
    "type_fichier": pl.String(),
    "jeux_de_donnees": pl.String(),
}
# A cell: one count of a measure for a territory and year (then its coverage, or its bounds).
CELLULE_SCHEMA = {
    "niveau": pl.String(),
    "code": pl.String(),
    "annee": pl.Int32(),
    "type_fichier": pl.String(),
    "mesure": pl.String(),
    "nb": pl.Int64(),
}
CLE_CELLULE = ("niveau", "code", "annee", "type_fichier", "mesure")
# accompaniments are published per 1,000 people in need of the same territory
POUR_MILLE = 1000.0
# A ratio of two counts neither of which is published, at full precision, gives both away
# (261/401 = 0.6508728…: the fraction is read back from the float); it is published at the
# precision of its unit (`schemas/unites.yaml`: 2 decimals), which dozens of pairs share.
RATIOS_ARRONDIS = {"ratio_pass_utilises_emis": 2}


def _rejets(
    lignes: pl.DataFrame, colonne: pl.Expr, code_raison: str, valeur_brute: pl.Expr
) -> pl.DataFrame:
    """Quarantine entries (rejected) for staged partner rows, with their file and line."""
    return lignes.select(
        pl.col("jeu_de_donnees").alias("source"),
        pl.col("fichier_origine").alias("fichier"),
        pl.col("sha256_origine").alias("sha256"),
        "ligne",
        colonne.alias("colonne"),
        pl.lit(code_raison).alias("code_raison"),
        valeur_brute.alias("valeur_brute"),
        pl.lit(REJET).alias("action"),
    )


def compte_activite(
    staged: Iterable[tuple[str, pl.DataFrame]], codes_cog: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Staged partner rows (type_fichier, frame) → counts per territory, year and measure.

    Periods are summed by calendar year of their start. A code absent from COG 2026 at its
    level is quarantined (`code_hors_cog`), never dropped. Diagnostic rows without a total get
    the sum of their categories. `codes_cog` has `niveau`, `code` (other columns ignored).
    The rows of a total that would exceed `SOMME_MAX` (Int64 would wrap it negative) are
    quarantined (`somme_hors_limite`), never summed.
    """
    counts: list[pl.DataFrame] = []
    quarantines: list[pl.DataFrame] = []
    for type_fichier, frame in staged:
        if type_fichier not in MESURES or frame.is_empty():
            continue
        mesures = MESURES[type_fichier]
        if type_fichier == "diagnostics_autonomie":
            frame = frame.with_columns(
                pl.coalesce(TOTAL_DIAGNOSTIC, pl.sum_horizontal(*CATEGORIES_DIAGNOSTIC))
            )
        known = frame.join(codes_cog, on=["niveau", "code"], how="semi")
        unknown = frame.join(codes_cog, on=["niveau", "code"], how="anti")
        quarantines.append(_rejets(unknown, pl.lit("code"), "code_hors_cog", pl.col("code")))
        cellules = known.unpivot(
            on=list(mesures),
            index=[
                "jeu_de_donnees",
                "fichier_origine",
                "sha256_origine",
                "ligne",
                "niveau",
                "code",
                "periode_debut",
            ],
            variable_name="mesure",
            value_name="nb",
        ).with_columns(pl.col("periode_debut").dt.year().cast(pl.Int32).alias("annee"))
        # a total beyond Int64 would wrap to a negative count: its rows are set aside instead
        somme = pl.col("nb").cast(pl.Float64).sum().over("niveau", "code", "annee", "mesure")
        cellules = cellules.with_columns((somme > SOMME_MAX).alias("_deborde"))
        quarantines.append(
            _rejets(
                cellules.filter("_deborde"),
                pl.col("mesure"),
                "somme_hors_limite",
                pl.col("nb").cast(pl.String),
            )
        )
        counts.append(
            cellules.filter(~pl.col("_deborde"))
            .group_by(pl.col("niveau").alias("niveau_source"), "code", "annee", "mesure")
            .agg(
                pl.col("nb").sum().cast(pl.Int64),
                pl.col("jeu_de_donnees").unique().sort().str.join("|").alias("jeux_de_donnees"),
            )
            .with_columns(pl.lit(type_fichier).alias("type_fichier"))
        )
    comptes = pl.concat(
        [pl.DataFrame(schema=COMPTES_SCHEMA), *(c.select(list(COMPTES_SCHEMA)) for c in counts)],
        how="vertical_relaxed",
    ).sort("type_fichier", "mesure", "annee", "niveau_source", "code")
    quarantaine = pl.concat([empty_quarantine(), *(q.cast(QUARANTINE_SCHEMA) for q in quarantines)])
    return comptes, quarantaine


def appartenances_emboitees(appartenances: pl.DataFrame) -> pl.DataFrame:
    """Membership of each commune in the nested levels only (no bassin de vie, no zonings)."""
    return appartenances.filter(pl.col("niveau").is_in(NIVEAUX_EMBOITES))


def _unites(appartenances: pl.DataFrame, niveau_source: str) -> pl.DataFrame:
    """The units of a source level and the territories (niveau, code) each belongs to.

    Levels at or above the source's only: a département count says nothing of its communes.
    """
    rang = NIVEAUX_EMBOITES.index(niveau_source)
    unite = appartenances.filter(pl.col("niveau") == niveau_source).select(
        "code_commune", pl.col("code").alias("unite")
    )
    au_dessus = NIVEAUX_EMBOITES[rang:] if niveau_source != "epci" else ("epci",)
    return (
        appartenances.filter(pl.col("niveau").is_in(au_dessus))
        .join(unite, on="code_commune")
        .select("unite", "niveau", "code")
        .unique()
    )


def agrege_comptes(comptes: pl.DataFrame, appartenances: pl.DataFrame) -> pl.DataFrame:
    """Counts at every nested level, from the partner's own level up, with their coverage.

    A partner covers, for a year, the départements it reports at least one row in (its units
    there without a row count 0): a commune-level file from one département says nothing of
    the others. A territory is covered when all its units are; uncovered ones get no value.
    EPCI-level counts (pass numérique) stay at EPCI level (EPCI do not nest in départements).
    """
    emboitees = appartenances_emboitees(appartenances)
    departement = emboitees.filter(pl.col("niveau") == "departement").select(
        "code_commune", pl.col("code").alias("code_departement")
    )
    out: list[pl.DataFrame] = []
    for (niveau_source, type_fichier), groupe in comptes.group_by(
        "niveau_source", "type_fichier", maintain_order=True
    ):
        unites = _unites(emboitees, str(niveau_source))
        unite_dep = (
            emboitees.filter(pl.col("niveau") == niveau_source)
            .join(departement, on="code_commune")
            .select(pl.col("code").alias("unite"), "code_departement")
            .unique("unite")  # an EPCI across départements: its seat's is enough for coverage
        )
        for (annee, mesure), serie in groupe.group_by("annee", "mesure", maintain_order=True):
            deps = serie.join(unite_dep, left_on="code", right_on="unite").select(
                "code_departement"
            )
            couvertes = (
                unite_dep.join(deps.unique(), on="code_departement", how="semi")
                if niveau_source != "epci"
                else serie.select(pl.col("code").alias("unite"))
            ).select("unite", pl.lit(True).alias("couverte"))
            valeurs = (
                unites.join(couvertes, on="unite", how="left")
                .join(serie.select(pl.col("code").alias("unite"), "nb"), on="unite", how="left")
                .with_columns(pl.col("couverte").fill_null(False))
                .group_by("niveau", "code")
                .agg(
                    pl.col("nb").fill_null(0).sum().alias("nb"),
                    pl.col("couverte").all().alias("couverture"),
                )
                .with_columns(
                    pl.when(pl.col("couverture")).then(pl.col("nb")).alias("nb"),
                    pl.lit(annee, pl.Int32).alias("annee"),
                    pl.lit(mesure).alias("mesure"),
                    pl.lit(type_fichier).alias("type_fichier"),
                )
            )
            out.append(valeurs)
    schema = {**CELLULE_SCHEMA, "couverture": pl.Boolean()}
    return pl.concat(
        [pl.DataFrame(schema=schema), *(f.select(list(schema)).cast(schema) for f in out)]
    )


def communes_enfant_parent(emboitees: pl.DataFrame, enfant: str, parent: str) -> pl.DataFrame:
    """(code_commune, code_enfant, code_parent): the `enfant` and `parent` territories of each
    commune, from memberships (`code_commune`, `niveau`, `code`)."""
    return (
        emboitees.filter(pl.col("niveau") == enfant)
        .select("code_commune", pl.col("code").alias("code_enfant"))
        .join(
            emboitees.filter(pl.col("niveau") == parent).select(
                "code_commune", pl.col("code").alias("code_parent")
            ),
            on="code_commune",
        )
    )


def _ratio(
    cellules: pl.DataFrame,
    numerateur: str,
    denominateur: str,
    indicateur: str,
    facteur: float = 1.0,
) -> pl.DataFrame:
    cle = ["niveau", "code", "annee"]
    num = cellules.filter(pl.col("mesure") == numerateur)
    den = cellules.filter(pl.col("mesure") == denominateur)
    return num.join(den, on=cle, suffix="_den").select(
        *cle,
        pl.lit(indicateur).alias("indicateur"),
        pl.col("nb"),
        pl.col("nb_den"),
        (pl.col("secret") | pl.col("secret_den")).alias("secret"),
        (pl.col("couverture") & pl.col("couverture_den")).alias("couverture"),
        pl.lit(facteur).alias("facteur"),
    )


def indicateurs_activite(cellules: pl.DataFrame, besoin: pl.DataFrame) -> pl.DataFrame:
    """Long indicator rows from the secret-flagged counts and the estimated need.

    `besoin` is `ind_besoin` (its `nb_illectronisme` rows): accompaniments are related to the
    need estimate of the same territory; the count of accompaniments carries the secrecy.
    """
    diag = cellules.filter(pl.col("type_fichier") == "diagnostics_autonomie")
    pass_ = cellules.filter(pl.col("type_fichier") == "pass_numerique")
    accomp = cellules.filter(pl.col("mesure") == "nb_accompagnements")
    besoin_n = applique_regle_couverture(
        besoin.filter(pl.col("indicateur") == "nb_illectronisme")
    ).select(
        "niveau", "code", pl.col("valeur").alias("nb_den"), pl.col("couverture").alias("c_den")
    )
    parts = [
        _ratio(diag, mesure, TOTAL_DIAGNOSTIC, indicateur)
        for indicateur, mesure in PARTS_DIAGNOSTIC.items()
    ]
    parts.append(_ratio(pass_, "nb_pass_utilises", "nb_pass_emis", "ratio_pass_utilises_emis"))
    lignes = pl.concat(
        [
            pl.concat(parts).with_columns(
                pl.col("nb").cast(pl.Float64), pl.col("nb_den").cast(pl.Float64)
            ),
            accomp.join(besoin_n, on=["niveau", "code"], how="left").select(
                "niveau",
                "code",
                "annee",
                pl.lit("accompagnements_pour_1000_illectronisme").alias("indicateur"),
                pl.col("nb").cast(pl.Float64),
                "nb_den",
                "secret",
                (pl.col("couverture") & pl.col("c_den").fill_null(False)).alias("couverture"),
                pl.lit(POUR_MILLE).alias("facteur"),
            ),
        ]
    )
    comptes = diag.filter(pl.col("mesure") == TOTAL_DIAGNOSTIC).select(
        "niveau",
        "code",
        "annee",
        pl.lit("nb_diagnostics_autonomie").alias("indicateur"),
        pl.when(pl.col("couverture") & ~pl.col("secret"))
        .then(pl.col("nb").cast(pl.Float64))
        .alias("valeur"),
        "secret",
        "couverture",
    )
    ratios = lignes.select(
        "niveau",
        "code",
        "annee",
        "indicateur",
        pl.when(pl.col("couverture") & ~pl.col("secret") & (pl.col("nb_den") > 0))
        .then(
            (pl.col("nb") / pl.col("nb_den") * pl.col("facteur")).pipe(
                lambda ratio: pl.coalesce(
                    *(
                        pl.when(pl.col("indicateur") == nom).then(ratio.round(d))
                        for nom, d in RATIOS_ARRONDIS.items()
                    ),
                    ratio,
                )
            )
        )
        .alias("valeur"),
        "secret",
        "couverture",
    )
    # A partner covers whole départements (or EPCI): a territory is covered or not at all, so
    # its covered share for the coverage rule is 1 or 0.
    couvert = pl.col("couverture").cast(pl.Int64)
    return (
        pl.concat([comptes, ratios])
        .with_columns(
            pl.col("secret") & pl.col("couverture"),
            pl.lit(None, pl.Float64).alias("ic_bas"),
            pl.lit(None, pl.Float64).alias("ic_haut"),
            couvert.cast(pl.Float64).alias("poids_couvert"),
            pl.lit(1.0).alias("poids_total"),
            couvert.alias("nb_communes_couvertes"),
            pl.lit(1, pl.Int64).alias("nb_communes"),
        )
        .select(*COLONNES_MODELE, *COUVERTURE_MODELE)
        .sort("indicateur", "niveau", "code", "annee")
    )
