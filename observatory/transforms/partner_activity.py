"""Partner activity indicators under statistical secrecy.

Partners send counts of people (diagnosed, accompanied, pass numérique issued and used). A
count below `SEUIL_SECRET` (1 to 4 people) could identify a person, so it is suppressed
(primary secrecy); and
because higher levels are sums of lower ones, more cells are suppressed wherever a suppressed
one could be recovered by subtraction (secondary secrecy): each additive relation apart (in
each hierarchy, commune → EPCI and commune → département → région → France, and within a
territory between the diagnostic categories and their total), then all of them at once, since
EPCI cross départements and the two hierarchies share their communes: a linear-programming
audit (`secret_audit`) bounds every suppressed cell given every published one, and the
suppression goes on until none is known to within fewer than `SEUIL_SECRET`. The blocking
check on the published table runs the same audit on what it actually reveals
(`secret_publication`).
Partner-derived indicators are published only at levels that nest (never at bassin de vie or
users' zonings, where a zone cut across the hierarchy would let a suppressed cell be rebuilt by
differencing).
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from observatory.transforms import secret_audit
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


def _liens_emboites(appartenances: pl.DataFrame) -> pl.DataFrame:
    """(niveau_enfant, code_enfant, niveau_parent, code_parent) of every nesting edge."""
    emboitees = appartenances_emboitees(appartenances)
    paires = []
    for enfant, parent in ARETES_NIVEAUX:
        paires.append(
            communes_enfant_parent(emboitees, enfant, parent)
            .select(
                pl.lit(enfant).alias("niveau_enfant"),
                "code_enfant",
                pl.lit(parent).alias("niveau_parent"),
                "code_parent",
            )
            .unique()
        )
    return pl.concat(paires)


RELATIONS_SCHEMA = {"relation": pl.Int64(), "id": pl.Int64(), "coef": pl.Float64()}


def relations_lineaires(cellules: pl.DataFrame, appartenances: pl.DataFrame) -> pl.DataFrame:
    """Every additive relation between cells, one row per member: sum(coef * nb) = 0.

    One relation per parent cell and child level (an EPCI is the sum of its communes; a
    département, of its communes; a région, of its départements; France, of its régions): the
    two hierarchies over the same communes are separate relations sharing their members, so an
    EPCI across départements links them. One relation per diagnosed territory: its total is the
    sum of its categories, plus a hidden remainder (a non-negative variable with an id beyond
    the cells') where the partner left some people without a category. A relation whose total
    is not covered says nothing (the total is unknown to everyone) and is left out; where the
    categories add up to more than the total, the file is inconsistent and no category
    relation is assumed. `cellules` has `id`, the agrege_comptes columns.
    """
    liens = _liens_emboites(appartenances)
    cle = ["annee", "type_fichier", "mesure"]
    ids = cellules.select(*cle, "niveau", "code", pl.col("id").cast(pl.Int64), "couverture")
    enfants = (
        ids.join(liens, left_on=["niveau", "code"], right_on=["niveau_enfant", "code_enfant"])
        .rename({"id": "enfant", "niveau": "niveau_enfant"})
        .join(
            ids.filter(pl.col("couverture")).select(
                *cle,
                pl.col("niveau").alias("niveau_parent"),
                pl.col("code").alias("code_parent"),
                pl.col("id").alias("parent"),
            ),
            on=[*cle, "niveau_parent", "code_parent"],
        )
        .select("parent", "niveau_enfant", "enfant")
    )
    hierarchie = pl.concat(
        [
            enfants.select("parent", "niveau_enfant", pl.col("enfant").alias("id"), coef=1.0),
            enfants.select("parent", "niveau_enfant")
            .unique()
            .select("parent", "niveau_enfant", pl.col("parent").alias("id"), coef=-1.0),
        ]
    )
    diag = cellules.filter(
        (pl.col("type_fichier") == "diagnostics_autonomie") & pl.col("couverture")
    )
    territoire = ["annee", "niveau", "code"]
    totaux = diag.filter(pl.col("mesure") == TOTAL_DIAGNOSTIC).select(
        *territoire, pl.col("id").cast(pl.Int64).alias("parent"), pl.col("nb").alias("total")
    )
    parts = diag.filter(pl.col("mesure").is_in(CATEGORIES_DIAGNOSTIC)).select(
        *territoire, pl.col("id").cast(pl.Int64), "nb"
    )
    restes = (
        totaux.join(parts.group_by(territoire).agg(pl.col("nb").sum()), on=territoire)
        .with_columns((pl.col("total") - pl.col("nb")).alias("reste"))
        .filter(pl.col("reste") >= 0)
        .sort("parent")  # the remainders' ids, whatever order the group_by gave
        .with_row_index("rang")
        .with_columns((pl.col("rang").cast(pl.Int64) + cellules.height).alias("cache"))
    )
    categories = pl.concat(
        [
            restes.select("parent", pl.col("parent").alias("id"), coef=-1.0),
            parts.join(restes.select(*territoire, "parent"), on=territoire).select(
                "parent", "id", coef=1.0
            ),
            restes.filter(pl.col("reste") > 0).select(
                "parent", pl.col("cache").alias("id"), coef=1.0
            ),
        ]
    ).select("parent", pl.lit("categorie").alias("niveau_enfant"), "id", "coef")
    toutes = pl.concat([hierarchie, categories])
    numeros = (
        toutes.select("parent", "niveau_enfant")
        .unique()
        .sort("parent", "niveau_enfant")
        .with_row_index("relation")
    )
    return (
        toutes.join(numeros, on=["parent", "niveau_enfant"])
        .select(pl.col("relation").cast(pl.Int64), "id", "coef")
        .sort("relation", "id")
        .cast(RELATIONS_SCHEMA)
    )


def _secret_local(cellules: pl.DataFrame, relations: pl.DataFrame, seuil: int) -> pl.DataFrame:
    """Secondary suppression relation by relation, to a fixed point over all of them jointly.

    A relation with exactly one suppressed cell gives it back by subtraction; one whose k
    suppressed cells are all parts (its total published) and add up to S narrows each to
    [1, S - k + 1] (a suppressed count is at least 1: zeros are never suppressed), too narrow
    when S - k < `seuil`. Either way its smallest published non-zero cell (a zero
    protects nothing, nor does a cell an earlier release revealed, `fixe`; ties broken by id)
    is suppressed too, and everything is checked again.
    """
    structure = relations.join(
        cellules.select(pl.col("id").cast(pl.Int64), "nb", "couverture"), on="id"
    )
    while True:
        membres = structure.join(
            cellules.select(pl.col("id").cast(pl.Int64), "secret", "fixe"), on="id"
        ).sort("nb", "id")
        publiable = ~pl.col("secret") & (pl.col("nb") > 0) & ~pl.col("fixe")
        exposes = (
            membres.group_by("relation")
            .agg(
                pl.col("couverture").all().alias("couverte"),
                pl.col("secret").sum().alias("nb_secrets"),
                (pl.col("coef") > 0).filter(pl.col("secret")).all().alias("parts_seules"),
                pl.col("nb").filter(pl.col("secret")).sum().alias("somme_secrets"),
                pl.col("id").filter(publiable).first().alias("complement"),
            )
            .filter(
                pl.col("couverte")
                & pl.col("complement").is_not_null()
                & (
                    (pl.col("nb_secrets") == 1)
                    | (
                        (pl.col("nb_secrets") > 1)
                        & pl.col("parts_seules")
                        & (pl.col("somme_secrets") - pl.col("nb_secrets") < seuil)
                    )
                )
            )
        )
        if exposes.is_empty():
            return cellules
        cellules = cellules.with_columns(
            pl.col("secret") | pl.col("id").cast(pl.Int64).is_in(exposes["complement"].implode())
        )


def _complements(etroites: pl.Series, cellules: pl.DataFrame, relations: pl.DataFrame) -> pl.Series:
    """For each cell the audit finds too narrow, the nearest published non-zero cell to hide.

    Nearest: in a relation of the cell; else in a relation of a suppressed cell of those; and so
    on. Among equally near ones, the smallest (then the lowest id).
    """
    candidats = cellules.filter(
        pl.col("couverture") & ~pl.col("secret") & (pl.col("nb") > 0) & ~pl.col("fixe")
    )
    candidats = candidats.select(pl.col("id").cast(pl.Int64), "nb")
    liens = relations.select("relation", "id")
    frontiere = pl.DataFrame({"cible": etroites, "id": etroites}).cast(pl.Int64)
    vus = frontiere
    choix: list[pl.DataFrame] = []
    while not frontiere.is_empty():
        voisins = (
            frontiere.join(liens, on="id")
            .select("cible", "relation")
            .unique()
            .join(liens, on="relation")
            .select("cible", "id")
            .unique()
        )
        trouves = voisins.join(candidats, on="id").sort("nb", "id").group_by("cible").first()
        choix.append(trouves.select("id"))
        frontiere = (
            voisins.join(trouves, on="cible", how="anti")
            .join(candidats, on="id", how="anti")
            .join(vus, on=["cible", "id"], how="anti")
        )
        vus = pl.concat([vus, frontiere])
    return pl.concat([pl.DataFrame(schema={"id": pl.Int64}), *choix])["id"].unique()


# what hiding a cell costs the readers: a total more than its categories, a level more than
# the one below (a département's count is read far more than one commune's)
COUT_NIVEAU = {"commune": 1.0, "epci": 20.0, "departement": 1e3, "region": 1e4, "france": 1e5}


def cout_masque() -> pl.Expr:
    """Cost per unit a cell moves in a protecting perturbation (`COUT_NIVEAU`, totals twice)."""
    return pl.col("niveau").replace_strict(COUT_NIVEAU, return_dtype=pl.Float64) * pl.when(
        pl.col("mesure").is_in(CATEGORIES_DIAGNOSTIC)
    ).then(1.0).otherwise(2.0)


# What earlier releases revealed: one row per release and cell (`publish.historique`).
HISTORIQUE_SCHEMA = {
    "release_id": pl.String(),
    **{c: CELLULE_SCHEMA[c] for c in CLE_CELLULE},
    "nb": pl.Int64(),
}
SANS_HISTORIQUE = pl.DataFrame(schema=HISTORIQUE_SCHEMA)


def complete_historique(
    historique: pl.DataFrame, cellules: pl.DataFrame, relations: pl.DataFrame
) -> pl.DataFrame:
    """What each earlier release revealed, completed by subtraction within that release.

    A relation of which a release revealed every member but one gives the last (a parent
    minus its children, a total minus its categories), and so on until nothing more follows.
    The hidden remainder of a category relation (people without a category) counts as 0: the
    attacker's guess, which can only add values (a wrong one hides more, never less). A
    combination of several relations is not followed (the audit of each release proved its
    protected cells against those). Releases that revealed the same values are completed once
    (a run that changed no partner file publishes what the previous one did); each round looks
    only at the relations a value found in the previous one belongs to. `cellules`: `id` and
    `CLE_CELLULE`.
    """
    cle = list(CLE_CELLULE)
    ids = cellules.select(pl.col("id").cast(pl.Int64), *cle)
    connus = historique.join(ids, on=cle).select("release_id", "id", pl.col("nb").cast(pl.Float64))
    # one release for each distinct set of revealed values
    contenu = connus.group_by("release_id").agg(
        pl.struct("id", "nb").sort_by("id", "nb").hash().alias("empreinte")
    )
    representants = contenu.sort("release_id").unique("empreinte", keep="first")
    connus = connus.join(representants.select("release_id"), on="release_id", how="semi")
    membres = relations.join(ids.select("id"), on="id", how="semi").select("relation", "id", "coef")
    nouveaux = connus
    while True:
        # the relations of the values found last, with a single member left unknown
        a_voir = (
            nouveaux.join(membres.select("relation", "id"), on="id")
            .select("release_id", "relation")
            .unique()
        )
        etat = a_voir.join(membres, on="relation").join(connus, on=["release_id", "id"], how="left")
        deduits = (
            etat.group_by("release_id", "relation")
            .agg(
                pl.col("nb").is_null().sum().alias("inconnus"),
                (pl.col("coef") * pl.col("nb")).sum().alias("somme"),
                pl.col("id").filter(pl.col("nb").is_null()).first(),
                pl.col("coef").filter(pl.col("nb").is_null()).first(),
            )
            .filter(pl.col("inconnus") == 1)
            .select("release_id", "id", (-pl.col("somme") / pl.col("coef")).alias("nb"))
            .filter(pl.col("nb") >= -0.5)
            # two relations may give two values (the remainder guessed 0): the smallest kept
            .sort("release_id", "id", "nb")
            .unique(["release_id", "id"], keep="first", maintain_order=True)
        )
        if deduits.is_empty():
            break
        connus = pl.concat([connus, deduits])
        nouveaux = deduits
    return (
        connus.join(ids, on="id")
        .select("release_id", *cle, pl.col("nb").round().cast(pl.Int64))
        .unique()
    )


def etat_historique(
    cellules: pl.DataFrame,
    historique: pl.DataFrame | None,
    relations: pl.DataFrame,
    seuil: int = SEUIL_SECRET,
) -> tuple[pl.Series, pl.Series]:
    """(ecart, fixe): the ids of cells within 1 to `seuil` - 1 of a value an earlier release
    revealed (`complete_historique`), and of those equal to one (and near none).

    Releases stay downloadable: publishing 78 where an earlier release published 75 tells that
    3 people were counted in between, a count of 3 by subtraction across releases. Such a
    count is protected like a count of 1 to 4 (primary secrecy): the attacker who knows the
    earlier value exactly learns the difference only as tightly as the current value. A cell
    whose count equals a value an earlier release revealed is known (the attacker reads it
    there): hiding it protects nothing, so it is never chosen to protect another (`fixe`).
    With `historique` None (what earlier releases revealed could not be read), every covered
    non-zero cell is `ecart`: nothing is published that could differ from an unknown earlier
    value. `cellules`: `id`, `CLE_CELLULE`, `nb`, `couverture`.
    """
    vide = pl.Series("id", [], pl.Int64)
    if historique is None:
        tout = cellules.filter(pl.col("couverture").fill_null(False) & (pl.col("nb") != 0))
        return tout["id"].cast(pl.Int64), vide
    if historique.is_empty():
        return vide, vide
    cle = list(CLE_CELLULE)
    revelees = complete_historique(historique, cellules, relations)
    comparees = (
        cellules.filter(pl.col("couverture").fill_null(False))
        .select(pl.col("id").cast(pl.Int64), *cle, "nb")
        .join(revelees.select(*cle, pl.col("nb").alias("nb_revele")), on=cle)
        .with_columns((pl.col("nb") - pl.col("nb_revele")).abs().alias("ecart"))
        .group_by("id")
        .agg(
            # a zero is never hidden (`applique_secret`): so a hidden count is at least 1
            (pl.col("ecart").is_between(1, seuil - 1) & (pl.col("nb") != 0)).any().alias("proche"),
            (pl.col("ecart") == 0).any().alias("egal"),
        )
    )
    ecart = comparees.filter("proche")["id"].sort()
    fixe = comparees.filter(pl.col("egal") & ~pl.col("proche"))["id"].sort()
    return ecart, fixe


def deja_reveles(
    cellules: pl.DataFrame,
    relations: pl.DataFrame,
    etroites: pl.Series,
    fixe: pl.Series,
    seuil: int = SEUIL_SECRET,
) -> pl.Series:
    """Of the narrow cells, those that earlier releases pin by themselves: narrow when only the
    counts they revealed (`fixe`) and the zeros (never hidden) are known. Hiding nothing in
    this release can widen them; they are reported, not protected. `cellules`: `id`, `nb`,
    `couverture`; `relations`: the additive ones (`relations_lineaires`)."""
    if etroites.is_empty() or fixe.is_empty():
        return pl.Series("id", [], pl.Int64)
    bornes = secret_audit.intervalles_secret(
        cellules.select(
            pl.col("id").cast(pl.Int64),
            "nb",
            (
                pl.col("couverture")
                & (pl.col("id").cast(pl.Int64).is_in(fixe.implode()) | (pl.col("nb") == 0))
            ).alias("connu"),
            pl.col("id").cast(pl.Int64).is_in(etroites.implode()).alias("a_proteger"),
            # every other count hidden, each known to be at least 1 (zeros are not hidden)
            (pl.col("couverture") & (pl.col("nb") >= 1)).cast(pl.Float64).alias("minimum"),
        ),
        relations,
        seuil,
        exactes=True,
    )
    return bornes.filter(~pl.col("protege"))["id"].sort()


def _tout_masquer(
    etroites: pl.Series, cellules: pl.DataFrame, relations: pl.DataFrame
) -> pl.Series:
    """Every published non-zero cell linked to the narrow ones through relations (their
    component), but those earlier releases revealed: the last resort, when no cheaper set is
    found, so that a partner's file never stops the release."""
    liens = relations.select("relation", pl.col("id").cast(pl.Int64))
    vus = etroites.cast(pl.Int64).to_frame("id")
    frontiere = vus
    while not frontiere.is_empty():
        voisins = (
            (frontiere.join(liens, on="id").select("relation").unique().join(liens, on="relation"))
            .select("id")
            .unique()
        )
        frontiere = voisins.join(vus, on="id", how="anti")
        vus = pl.concat([vus, frontiere])
    return cellules.filter(
        pl.col("couverture")
        & ~pl.col("secret")
        & ~pl.col("fixe")
        & (pl.col("nb") > 0)
        & pl.col("id").cast(pl.Int64).is_in(vus["id"].implode())
    )["id"].cast(pl.Int64)


def applique_secret(
    comptes: pl.DataFrame,
    appartenances: pl.DataFrame,
    historique: pl.DataFrame | None = SANS_HISTORIQUE,
    seuil: int = SEUIL_SECRET,
) -> pl.DataFrame:
    """Flag `secret` cells: primary (covered count from 1 to `seuil` - 1, or as near to a value
    an earlier release revealed: `etat_historique`), then secondary.

    A zero is not secret: it describes nobody (INSEE's practice for counts); suppressing zeros
    would also force the suppression of the one commune that has activity in an EPCI.

    Secondary suppression protects every linear relation (`relations_lineaires`: both
    hierarchies, categories and their total) relation by relation (`_secret_local`), then
    proves the result: the linear-programming audit (`secret_audit`) bounds every suppressed
    cell given all published ones at once; for a cell it finds narrower than the rule allows,
    the cheapest set of published cells whose hiding lets it rise by `seuil` is hidden
    (`secret_audit.complements_protecteurs`, costs `cout_masque`; the nearest published non-zero
    cell where no such set is found), and both steps run again until the audit passes. Choosing
    one cell at a time instead did not converge on a national file (tens of rounds). The audit
    assumes every unsuppressed covered cell is known (more than the indicators publish), so the
    publication is at least as safe. A cell an earlier release revealed with its current count
    is known (`fixe`), hidden or not: never hidden to protect another, and not itself to
    protect (it was revealed already). Where no complement is found, every published non-zero
    cell of the narrow cell's component is hidden (`_tout_masquer`); a cell still narrow then
    is pinned by earlier releases alone (`deja_reveles`): nothing can be done, and the run goes
    on (the release is always published). `historique`: what earlier releases revealed
    (`HISTORIQUE_SCHEMA`), None when it could not be read.
    """
    # ids in key order: ties are broken by id, and the same counts, in whatever row order,
    # must give the same suppression (two patterns of one table, published one after the
    # other, would give away what each hides)
    cellules = (
        comptes.sort(*CLE_CELLULE).with_row_index("id").with_columns(pl.col("id").cast(pl.Int64))
    )
    relations = relations_lineaires(cellules, appartenances)
    ecart, fixe = etat_historique(cellules, historique, relations, seuil)
    cellules = cellules.with_columns(
        (
            pl.col("couverture")
            & (pl.col("nb").is_between(1, seuil - 1) | pl.col("id").is_in(ecart.implode()))
        )
        .fill_null(False)
        .alias("secret"),
        pl.col("id").is_in(fixe.implode()).alias("fixe"),
    )
    if historique is None:  # every covered non-zero cell hidden: nothing left to audit
        return cellules.drop("id", "fixe")
    # hiding more only widens intervals: a cell proven protected stays so, and is not audited
    # again
    prouvees = pl.Series("id", [], pl.Int64)
    while True:
        cellules = _secret_local(cellules, relations, seuil)
        bornes = secret_audit.intervalles_secret(
            cellules.select(
                "id",
                "nb",
                # a count an earlier release revealed is known, hidden or not
                (pl.col("couverture") & (~pl.col("secret") | pl.col("fixe"))).alias("connu"),
                (
                    pl.col("couverture")
                    & pl.col("secret")
                    & ~pl.col("fixe")
                    & ~pl.col("id").cast(pl.Int64).is_in(prouvees.implode())
                ).alias("a_proteger"),
                # zeros are never hidden: the attacker knows a hidden count is at least 1
                (pl.col("couverture") & pl.col("secret") & (pl.col("nb") >= 1))
                .cast(pl.Float64)
                .alias("minimum"),
            ),
            relations,
            seuil,
        )
        prouvees = pl.concat([prouvees, bornes.filter(pl.col("protege"))["id"]])
        etroites = bornes.filter(~pl.col("protege"))["id"]
        if etroites.is_empty():
            return cellules.drop("id", "fixe")
        ajouts, non_resolues = secret_audit.complements_protecteurs(
            cellules.select("id", "nb", "secret", "fixe", cout=cout_masque()),
            relations,
            etroites,
            seuil,
            # a perturbation through a département's count: worth looking further for another
            cout_elargir=COUT_NIVEAU["departement"],
        )
        if not non_resolues.is_empty():
            ajouts = pl.concat([ajouts, _complements(non_resolues, cellules, relations)])
        if ajouts.is_empty():
            ajouts = _tout_masquer(etroites, cellules, relations)
        if ajouts.is_empty():
            # everything else of their component is hidden: what pins them is what earlier
            # releases revealed (`deja_reveles`); the check reports them, nothing can be hidden
            prouvees = pl.concat([prouvees, etroites.cast(pl.Int64)])
            continue
        cellules = cellules.with_columns(
            pl.col("secret") | pl.col("id").cast(pl.Int64).is_in(ajouts.implode())
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
