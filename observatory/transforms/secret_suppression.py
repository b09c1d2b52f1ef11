"""Statistical secrecy of the partner counts: which cells to suppress.

Primary secrecy hides every covered count of 1 to `SEUIL_SECRET` - 1, and every count as near
to a value an earlier release revealed (the difference between two releases is a count too).
Secondary secrecy hides more wherever a hidden cell could be recovered: relation by relation
(`relations_lineaires`: both hierarchies, categories and their total), then all of them at
once, proven by the linear-programming audit (`secret_audit`) and completed by the cheapest
complements it finds, until no hidden cell is known to within fewer than `SEUIL_SECRET`
values. The counting and the published indicators are `partner_activity`'s; the check of the
published table, `secret_publication`.
"""

from __future__ import annotations

import polars as pl

from observatory.transforms import secret_audit
from observatory.transforms.partner_activity import (
    ARETES_NIVEAUX,
    CATEGORIES_DIAGNOSTIC,
    CELLULE_SCHEMA,
    CLE_CELLULE,
    SEUIL_SECRET,
    TOTAL_DIAGNOSTIC,
    appartenances_emboitees,
    communes_enfant_parent,
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
# What the suppression grants the attacker: every covered cell not hidden, and every count an
# earlier release revealed with its current value (`fixe`), hidden or not.
CONNU = (pl.col("couverture") & (~pl.col("secret") | pl.col("fixe"))).fill_null(False)
# A cell that may be hidden to protect another: published and non-zero (a zero protects
# nothing), and not revealed already (hiding it would protect nothing either).
MASQUABLE = (
    pl.col("couverture") & ~pl.col("secret") & ~pl.col("fixe") & (pl.col("nb") > 0)
).fill_null(False)


def _masque(ids: pl.Series) -> pl.Expr:
    """`secret`, with the cells `ids` hidden too."""
    return pl.col("secret") | pl.col("id").cast(pl.Int64).is_in(ids.implode())


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
        exposes = (
            membres.group_by("relation")
            .agg(
                pl.col("couverture").all().alias("couverte"),
                pl.col("secret").sum().alias("nb_secrets"),
                (pl.col("coef") > 0).filter(pl.col("secret")).all().alias("parts_seules"),
                pl.col("nb").filter(pl.col("secret")).sum().alias("somme_secrets"),
                pl.col("id").filter(MASQUABLE).first().alias("complement"),
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
        cellules = cellules.with_columns(_masque(exposes["complement"]))


def _complements(etroites: pl.Series, cellules: pl.DataFrame, relations: pl.DataFrame) -> pl.Series:
    """For each cell the audit finds too narrow, the nearest published non-zero cell to hide.

    Nearest: in a relation of the cell; else in a relation of a suppressed cell of those; and so
    on. Among equally near ones, the smallest (then the lowest id).
    """
    candidats = cellules.filter(MASQUABLE).select(pl.col("id").cast(pl.Int64), "nb")
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
) -> tuple[pl.Series, pl.Series, pl.DataFrame | None]:
    """(ecart, fixe, revelees): the ids of cells within 1 to `seuil` - 1 of a value an earlier
    release revealed, of those equal to one (and near none), and what the earlier releases
    revealed (`complete_historique`; None without history, for `groupes_a_proteger`).

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
        return tout["id"].cast(pl.Int64), vide, None
    if historique.is_empty():
        return vide, vide, None
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
    return ecart, fixe, revelees


def groupes_a_proteger(
    cellules: pl.DataFrame,
    relations: pl.DataFrame,
    revelees: pl.DataFrame,
    seuil: int = SEUIL_SECRET,
) -> pl.Series:
    """Cells to hide so that no group of hidden cells gained 1 to `seuil` - 1 people together
    since an earlier release.

    A parent published in both releases, minus its members published in both, gives what the
    others (hidden in one release or the other) add up to in each: their change is a count of
    people too, as a single cell's is (`etat_historique`). The département's 119 then 131
    and Angoulême's 75 then 85 tell that the other communes gained 2. For each such relation
    and release, the parent is hidden (else, when an earlier release revealed its current
    value, the smallest member published in both that moved): either makes the group's sum
    unknown now. `cellules`: `id`, `nb`, `couverture`, `secret`, `fixe`; `revelees`:
    `complete_historique`'s rows; `relations`: the additive ones.
    """
    termes = groupes_exposes(
        cellules.with_columns(CONNU.alias("connu")), relations, revelees, seuil
    )
    masquables = cellules.filter(MASQUABLE).select(pl.col("id").cast(pl.Int64))
    candidats = (
        termes.join(masquables, on="id", how="semi")
        .filter(pl.col("deux") & (pl.col("nb") != pl.col("nb_avant")))
        # the parent first (coef -1), then the smallest member
        .sort("release_id", "relation", "coef", "nb", "id")
        .group_by("release_id", "relation", maintain_order=True)
        .first()
    )
    return candidats["id"].unique().sort()


def groupes_exposes(
    cellules: pl.DataFrame,
    relations: pl.DataFrame,
    revelees: pl.DataFrame,
    seuil: int = SEUIL_SECRET,
) -> pl.DataFrame:
    """The members of each relation whose hidden cells gained 1 to `seuil` - 1 together since a
    release (`groupes_a_proteger`): `release_id`, `relation`, `id`, `coef`, `nb`, `nb_avant`,
    `deux` (known in both). `cellules`: `id`, `nb`, `CLE_CELLULE`, `connu` (known now)."""
    cle = list(CLE_CELLULE)
    avant = revelees.join(cellules.select(pl.col("id").cast(pl.Int64), *cle), on=cle).select(
        "release_id", "id", pl.col("nb").cast(pl.Float64).alias("nb_avant")
    )
    maintenant = cellules.select(
        pl.col("id").cast(pl.Int64), pl.col("nb").cast(pl.Float64), pl.col("connu").fill_null(False)
    )
    membres = relations.select("relation", pl.col("id").cast(pl.Int64), "coef")
    parents = membres.filter(pl.col("coef") < 0).select("relation", parent="id")
    # the relations whose parent is known now and was revealed by the release
    suivies = (
        parents.join(maintenant.filter("connu"), left_on="parent", right_on="id")
        .join(avant, left_on="parent", right_on="id")
        .select("release_id", "relation")
    )
    termes = (
        suivies.join(membres, on="relation")
        .join(avant, on=["release_id", "id"], how="left")
        .join(maintenant, on="id", how="left")
        .with_columns(
            (pl.col("connu").fill_null(False) & pl.col("nb_avant").is_not_null()).alias("deux")
        )
    )
    exposes = (
        termes.group_by("release_id", "relation")
        .agg(
            (~pl.col("deux")).sum().alias("nb_groupe"),
            # the group's change: minus the known members' (coef × change), the parent's -1
            (-(pl.col("coef") * (pl.col("nb") - pl.col("nb_avant"))).filter("deux").sum()).alias(
                "ecart"
            ),
        )
        .filter((pl.col("nb_groupe") > 0) & pl.col("ecart").round().abs().is_between(1, seuil - 1))
    )
    return termes.join(
        exposes.select("release_id", "relation"), on=["release_id", "relation"]
    ).select("release_id", "relation", "id", "coef", "nb", "nb_avant", "deux")


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
    return cellules.filter(MASQUABLE & pl.col("id").cast(pl.Int64).is_in(vus["id"].implode()))[
        "id"
    ].cast(pl.Int64)


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
    ecart, fixe, revelees = etat_historique(cellules, historique, relations, seuil)
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
                CONNU.alias("connu"),
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
            # proven cell by cell; then no group of hidden cells may have moved by 1 to 4
            groupes = (
                groupes_a_proteger(cellules, relations, revelees, seuil)
                if revelees is not None
                else pl.Series("id", [], pl.Int64)
            )
            if groupes.is_empty():
                return cellules.drop("id", "fixe")
            cellules = cellules.with_columns(_masque(groupes))
            continue
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
        cellules = cellules.with_columns(_masque(ajouts))
