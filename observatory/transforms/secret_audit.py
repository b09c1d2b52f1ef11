"""Audit of statistical secrecy by linear programming: how tightly is each suppressed cell known?

Checking that no single relation has exactly one suppressed cell is not enough once tables are
linked (two hierarchies over the same communes, categories and their total, ratios): a cell can
be pinned down by combining several relations. The audit plays the attacker. They know every
published cell, every linear relation between cells (a parent is the sum of its children in
each hierarchy, a total the sum of its categories, a published ratio ties its numerator to its
denominator), that counts are non-negative and that a suppressed count is at least 1 where
zeros are never suppressed (`minimum`). The values a suppressed cell can still take form
an interval [min, max], found exactly by two linear programmes (HiGHS) per cell.

Protection rule (`protege`): counts are integers, so the attacker rounds the bounds inward; a
suppressed cell is protected when `floor(max) - ceil(min) >= seuil`. Since `min >= 0`, this also
means `max >= seuil` (`max >= seuil + 1` for a count known to be at least 1): nobody can prove
that a count of 1 to `seuil - 1` is below the threshold, and it cannot be narrowed to fewer than
`seuil + 1` possible values. The rule is applied to every suppressed cell, primary or secondary (a
secondary cell known to within a few units would act as a published one). Integer programming
could tighten an interval a little further than the linear relaxation; the rule on the rounded LP
bounds is the audit used by statistical offices (τ-ARGUS), and the suppression keeps a margin
through it.

Relations only link cells of one connected component (a département's communes, its EPCI and
the départements those EPCI reach, for one year and one partner file type): each component is
solved alone, so the audit stays fast at national scale.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, hstack
from scipy.sparse.csgraph import connected_components

TOLERANCE = 1e-6
ESSAIS_GROUPES = 10  # programmes on all unproven cells at once before one per cell
# how far from a narrow cell its protection looks, wider only when nearer fails: (relations
# away, through relations of at most so many members: an EPCI's communes before a
# département's; None: any)
VOISINAGES = ((2, 200), (3, 200), (4, 200), (3, None), (5, None), (8, None))
BORNES_SCHEMA = {
    "id": pl.Int64(),
    "nb": pl.Float64(),
    "borne_min": pl.Float64(),
    "borne_max": pl.Float64(),
    "protege": pl.Boolean(),
}


def est_protege(borne_min: float, borne_max: float, seuil: int) -> bool:
    """The rule above: the integer values the cell may take span at least `seuil`."""
    if math.isinf(borne_max):
        return True
    return math.floor(borne_max + TOLERANCE) - math.ceil(borne_min - TOLERANCE) >= seuil


def _bornes(
    a_eq, b_eq: np.ndarray | None, n: int, cible: int, minimum: np.ndarray
) -> tuple[float, float, list[np.ndarray]]:
    """[min, max] of variable `cible` over {x >= minimum, a_eq x = b_eq}, and the solutions
    found."""
    c = np.zeros(n)
    c[cible] = 1.0
    bornes = np.column_stack([minimum, np.full(n, np.inf)])
    bas = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=bornes, method="highs")
    if bas.status == 2:
        raise ValueError(
            "Audit du secret : les valeurs publiées contredisent les relations entre cellules "
            "(sommes ou ratios incohérents)."
        )
    haut = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=bornes, method="highs")
    if bas.status != 0 or haut.status not in (0, 3):
        message = bas.message if bas.status != 0 else haut.message
        raise RuntimeError(f"Audit du secret : programme linéaire non résolu ({message}).")
    if haut.status == 3:
        return float(bas.fun), math.inf, [bas.x]
    return float(bas.fun), float(-haut.fun), [bas.x, haut.x]


def _eprouve(
    a_eq,
    b_eq: np.ndarray | None,
    n: int,
    ks: np.ndarray,
    vu_min: np.ndarray,
    vu_max: np.ndarray,
    seuil: int,
    plafond: float,
    minimum: np.ndarray,
) -> None:
    """Widen the seen ranges with a few programmes on all unproven cells at once.

    Each round pushes the unproven cells down (random weights), then up, each towards `seuil`
    above the lowest value it was seen to take, then down, each towards `seuil` below the
    highest (`_vers_les_cibles`).
    Every point found is feasible, so a cell seen across the threshold is proven protected;
    the rest get their own two programmes afterwards.
    """
    rng = np.random.default_rng(0)
    restantes = ks
    for _ in range(ESSAIS_GROUPES):
        largeur = np.floor(vu_max[restantes] + TOLERANCE) - np.ceil(vu_min[restantes] - TOLERANCE)
        restantes = restantes[largeur < seuil]
        if restantes.size == 0:
            return
        avant = restantes.size
        c = np.zeros(n)
        c[restantes] = rng.uniform(0.5, 1.5, restantes.size)
        bornes = np.column_stack([minimum, np.full(n, plafond)])
        res = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=bornes, method="highs")
        if res.status == 0:
            np.minimum(vu_min, res.x, out=vu_min)
            np.maximum(vu_max, res.x, out=vu_max)
        for haut in (True, False):
            cibles = (
                np.ceil(vu_min[restantes] - TOLERANCE) + seuil
                if haut
                else np.maximum(np.floor(vu_max[restantes] + TOLERANCE) - seuil, minimum[restantes])
            )
            x = _vers_les_cibles(a_eq, b_eq, n, restantes, cibles, plafond, haut, minimum)
            if x is not None:
                np.minimum(vu_min, x, out=vu_min)
                np.maximum(vu_max, x, out=vu_max)
        largeur = np.floor(vu_max[restantes] + TOLERANCE) - np.ceil(vu_min[restantes] - TOLERANCE)
        if (largeur < seuil).sum() == avant:
            return


def _vers_les_cibles(
    a_eq,
    b_eq: np.ndarray | None,
    n: int,
    ks: np.ndarray,
    cibles: np.ndarray,
    plafond: float,
    haut: bool,
    minimum: np.ndarray,
) -> np.ndarray | None:
    """A feasible point moving cells `ks` towards `cibles` together (None when not solved).

    Up: maximise the sum of `min(x_k, cible_k)` (an auxiliary t_j <= x_{k_j}, capped at its
    target); down: minimise the sum of `max(x_k, cible_k)` (u_j >= x_{k_j}, floored at it).
    The cap is what moves many cells in one programme: a plain sum puts its weight on a few
    cells, leaving the others to two programmes each (on a national diagnostics file, by the
    thousand, 80 ms each).
    """
    m = ks.size
    lignes = np.arange(m)
    sens = 1.0 if haut else -1.0
    a_ub = hstack(
        [
            coo_matrix((-sens * np.ones(m), (lignes, ks)), shape=(m, n)),
            coo_matrix((sens * np.ones(m), (lignes, lignes)), shape=(m, m)),
        ]
    ).tocsr()
    a_eq_t = None if a_eq is None else hstack([a_eq, coo_matrix((a_eq.shape[0], m))]).tocsr()
    bornes = [(0.0, float(c)) if haut else (float(c), plafond) for c in cibles]
    variables = [(float(m), plafond) for m in minimum]
    res = linprog(
        np.concatenate([np.zeros(n), -sens * np.ones(m)]),
        A_ub=a_ub,
        b_ub=np.zeros(m),
        A_eq=a_eq_t,
        b_eq=b_eq,
        bounds=[*variables, *bornes],
        method="highs",
    )
    return res.x[:n] if res.status == 0 else None


def intervalles_secret(
    cellules: pl.DataFrame, relations: pl.DataFrame, seuil: int, exactes: bool = False
) -> pl.DataFrame:
    """The interval of every cell to protect, given what is published.

    `cellules`: `id`, `nb` (true value), `connu` (published, or derivable exactly from what is
    published), `a_proteger`, optionally `minimum`: what the attacker knows the cell is at least (0
    where absent; 1 for a hidden count when zeros are never hidden). `relations`: `relation`, `id`,
    `coef`, meaning sum(coef * value) = 0 for each relation; an `id` absent from `cellules` is a
    hidden variable (unknown to everyone but non-negative, e.g. people diagnosed without a
    category).
    Returns `id`, `nb`, `borne_min`, `borne_max` (inf when unbounded), `protege`; a cell to
    protect that is known gets [nb, nb] and is not protected. The bounds of an unprotected
    cell are exact; a protected one may get only a range of values it was seen to take in
    feasible solutions (enough to prove the rule, and much faster), unless `exactes`.
    """
    cellules = cellules.with_columns(
        pl.col("id").cast(pl.Int64),
        (pl.col("minimum") if "minimum" in cellules.columns else pl.lit(0.0))
        .cast(pl.Float64)
        .alias("minimum"),
    )
    relations = relations.with_columns(pl.col("id").cast(pl.Int64), pl.col("coef").cast(pl.Float64))
    connus = cellules.filter(pl.col("connu")).select("id", pl.col("nb").cast(pl.Float64))
    # a cell to protect that is published (or derivable exactly) is known to the unit
    exposees = cellules.filter(pl.col("a_proteger") & pl.col("connu")).select(
        "id",
        pl.col("nb").cast(pl.Float64),
        pl.col("nb").cast(pl.Float64).alias("borne_min"),
        pl.col("nb").cast(pl.Float64).alias("borne_max"),
        pl.lit(False).alias("protege"),
    )
    cibles = cellules.filter(pl.col("a_proteger") & ~pl.col("connu")).select(
        "id", pl.col("nb").cast(pl.Float64)
    )
    if cibles.is_empty():
        return exposees.cast(BORNES_SCHEMA)
    membres = relations.join(connus, on="id", how="left")
    # the published members move to the right-hand side: b = -sum(coef * known value)
    seconds = membres.group_by("relation").agg(
        (-(pl.col("coef") * pl.col("nb")).filter(pl.col("nb").is_not_null()).sum()).alias("b")
    )
    inconnus = membres.filter(pl.col("nb").is_null()).select("relation", "id", "coef")
    variables = (
        pl.concat([inconnus.select("id"), cibles.select("id")]).unique().sort("id")
    ).with_row_index("var")
    lignes = inconnus.select("relation").unique().sort("relation").with_row_index("ligne")
    inconnus = inconnus.join(variables, on="id").join(lignes, on="relation")
    nv, nr = variables.height, lignes.height
    # components of the bipartite graph variables–relations
    graphe = coo_matrix(
        (
            np.ones(inconnus.height),
            (inconnus["var"].to_numpy(), nv + inconnus["ligne"].to_numpy()),
        ),
        shape=(nv + nr, nv + nr),
    )
    _, etiquettes = connected_components(graphe, directed=False)
    variables = variables.with_columns(pl.Series("composante", etiquettes[:nv])).join(
        cellules.select("id", "minimum"), on="id", how="left"
    )
    lignes = lignes.join(seconds, on="relation", how="left").with_columns(
        pl.Series("composante", etiquettes[nv:])
    )
    cibles = cibles.join(variables, on="id")
    par_variable = variables.partition_by("composante", as_dict=True)
    par_ligne = lignes.partition_by("composante", as_dict=True)
    resultats: list[tuple[int, float, float, float, bool]] = []
    for (composante,), groupe in cibles.group_by("composante", maintain_order=True):
        vars_c = par_variable[(composante,)].with_row_index("local")
        lignes_c = par_ligne.get((composante,), lignes.clear()).with_row_index("l")
        # sorted: the same programme, entry for entry, whatever order the joins gave (HiGHS
        # may pick another of several optimal points from a reordered matrix)
        termes = (
            inconnus.join(vars_c.select("var", "local"), on="var")
            .join(lignes_c.select("ligne", "l"), on="ligne")
            .sort("l", "local")
        )
        n = vars_c.height
        a_eq = b_eq = None
        if lignes_c.height:
            a_eq = coo_matrix(
                (termes["coef"].to_numpy(), (termes["l"].to_numpy(), termes["local"].to_numpy())),
                shape=(lignes_c.height, n),
            ).tocsr()
            b_eq = lignes_c["b"].fill_null(0.0).to_numpy()
        locaux = dict(zip(vars_c["id"].to_list(), vars_c["local"].to_list(), strict=True))
        ks = np.array([locaux[i] for i in groupe["id"].to_list()], dtype=np.int64)
        minimum = vars_c["minimum"].fill_null(0.0).to_numpy()
        nbs = groupe["nb"].to_numpy()
        # values each variable is seen to take in feasible solutions, the true ones first (the
        # published values are computed from them, so they satisfy every relation): a cell
        # already seen across the threshold needs no programme of its own
        vu_min = np.full(n, math.inf)
        vu_max = np.full(n, -math.inf)
        vu_min[ks] = vu_max[ks] = nbs
        if not exactes:
            plafond = 2.0 * (float(np.abs(b_eq).sum()) if b_eq is not None else 0.0)
            _eprouve(
                a_eq, b_eq, n, ks, vu_min, vu_max, seuil, plafond + 1000.0 + nbs.sum(), minimum
            )
        for ident, nb, k in zip(groupe["id"].to_list(), nbs.tolist(), ks.tolist(), strict=True):
            if not exactes and est_protege(vu_min[k], vu_max[k], seuil):
                resultats.append((ident, nb, vu_min[k], vu_max[k], True))
                continue
            bas, haut, solutions = _bornes(a_eq, b_eq, n, k, minimum)
            for x in solutions:
                np.minimum(vu_min, x, out=vu_min)
                np.maximum(vu_max, x, out=vu_max)
            vu_max[k] = haut
            resultats.append((ident, nb, bas, haut, est_protege(bas, haut, seuil)))
    return pl.concat(
        [exposees.cast(BORNES_SCHEMA), pl.DataFrame(resultats, schema=BORNES_SCHEMA, orient="row")]
    )


def _voisinage(
    a_csr, a_csc, k: int, profondeur: int, taille_max: int | None, tailles: np.ndarray
) -> np.ndarray:
    """Variables reachable from `k` through at most `profondeur` shared relations of at most
    `taille_max` members."""
    variables = np.array([k])
    for _ in range(profondeur):
        lignes = np.unique(a_csc[:, variables].indices)
        if taille_max is not None:
            lignes = lignes[tailles[lignes] <= taille_max]
        variables = np.unique(np.concatenate([variables, a_csr[lignes].indices]))
    return variables


def _perturbation(
    a_csc,
    local: np.ndarray,
    k: int,
    nb: np.ndarray,
    cachee: np.ndarray,
    reste: np.ndarray,
    cout: np.ndarray,
    seuil: int,
    connue: np.ndarray,
) -> tuple[float, np.ndarray] | None:
    """The cheapest rise y+ and fall y- of the `local` variables raising `k` by `seuil`, and
    their cost."""
    sous = a_csc[:, local]
    actives = np.unique(sous.indices)
    sous = sous[actives]
    w = np.where(cachee[local], 0.0, cout[local])
    # a published zero stays, so does a cell known elsewhere; a hidden remainder never falls;
    # a count falls to 1 at most (a hidden count is known to be at least 1: zeros are not
    # hidden)
    fixe = (~cachee[local] & (nb[local] == 0)) | connue[local]
    bornes = [(0.0, 0.0 if f else None) for f in fixe]
    chute = np.where(fixe | reste[local], 0.0, np.maximum(nb[local] - 1.0, 0.0))
    bornes += [(0.0, b) for b in chute.tolist()]
    position = int(np.searchsorted(local, k))
    bornes[position] = (float(seuil), float(seuil))
    bornes[local.size + position] = (0.0, 0.0)
    res = linprog(
        np.concatenate([w, w]),
        A_eq=hstack([sous, -sous]).tocsr(),
        b_eq=np.zeros(actives.size),
        bounds=bornes,
        method="highs",
    )
    return (float(res.fun), res.x) if res.status == 0 else None


def complements_protecteurs(
    cellules: pl.DataFrame,
    relations: pl.DataFrame,
    etroites: pl.Series,
    seuil: int,
    cout_elargir: float = math.inf,
) -> tuple[pl.Series, pl.Series]:
    """Published cells to hide so that each narrow cell can rise by `seuil`, found by LP.

    For each narrow cell the attacker must be unable to rule out its value plus `seuil`: a
    perturbation y of the cells with y = `seuil` on it, every relation still balanced
    (sum(coef * y) = 0) and every count still at least 1 (y >= 1 - nb: a hidden count is known
    to be at least 1, zeros are not hidden; a remainder never falls), that leaves every
    published cell unchanged once the cells it moves are hidden. The cheapest one (sum of
    `cout` times the movement of the published cells it moves; hidden cells and the hidden
    remainders move for free, a published zero never moves: a zero is not hidden) is found by
    linear programming over the cell's neighbourhood (`VOISINAGES`, the nearest first, a
    wider one while the best found costs `cout_elargir` or more), and the published
    cells it moves are hidden. Each cell's perturbation is then feasible for the attacker, so
    its interval reaches nb + `seuil`; the cells hidden along the way move by the same amount
    and are mostly protected with it (the audit that follows checks them all). This is the
    single-cell protection of statistical offices' suppression (τ-ARGUS), cells taken one after
    the other, each seeing what the previous ones hid. A cell whose neighbourhood holds no such
    perturbation is returned apart (the caller falls back on another choice): returns the ids
    to hide, and those of the narrow cells left unsolved.
    `cellules`: `id`, `nb`, `secret`, `cout` (of hiding it, > 0), optionally `fixe` (published
    and known elsewhere: never moves, like a published zero); `relations` as for
    `intervalles_secret`, an id absent from `cellules` being a hidden remainder.
    """
    relations = relations.with_columns(pl.col("id").cast(pl.Int64), pl.col("coef").cast(pl.Float64))
    cellules = cellules.with_columns(pl.col("id").cast(pl.Int64))
    variables = (
        relations.select("id")
        .unique()
        .join(
            cellules.select(
                "id",
                "nb",
                "secret",
                "cout",
                (pl.col("fixe") if "fixe" in cellules.columns else pl.lit(False)).alias("fixe"),
            ),
            on="id",
            how="left",
        )
        .sort("id")
        .with_row_index("var")
    )
    lignes = relations.select("relation").unique().sort("relation").with_row_index("ligne")
    termes = (
        relations.join(variables.select("id", "var"), on="id")
        .join(lignes, on="relation")
        .sort("ligne", "var")  # the same programmes whatever order the joins gave
    )
    forme = (lignes.height, variables.height)
    a = coo_matrix(
        (termes["coef"].to_numpy(), (termes["ligne"].to_numpy(), termes["var"].to_numpy())),
        shape=forme,
    )
    a_csr, a_csc = a.tocsr(), a.tocsc()
    tailles = np.diff(a_csr.indptr)
    ids = variables["id"].to_numpy()
    nb = variables["nb"].fill_null(0).cast(pl.Float64).to_numpy()
    reste = variables["nb"].is_null().to_numpy()
    cachee = variables["secret"].fill_null(True).to_numpy().copy()
    cout = variables["cout"].fill_null(0.0).cast(pl.Float64).to_numpy()
    connue = variables["fixe"].fill_null(False).to_numpy()
    var_de = dict(zip(ids.tolist(), range(len(ids)), strict=True))
    ajouts: list[int] = []
    non_resolues: list[int] = []
    for ident in sorted(set(etroites.to_list())):
        k = var_de.get(ident)
        if k is None:
            non_resolues.append(ident)
            continue
        meilleure: tuple[float, np.ndarray, np.ndarray] | None = None
        for profondeur, taille_max in VOISINAGES:
            local = _voisinage(a_csr, a_csc, k, profondeur, taille_max, tailles)
            res = _perturbation(a_csc, local, k, nb, cachee, reste, cout, seuil, connue)
            if res is not None and (meilleure is None or res[0] < meilleure[0]):
                meilleure = (res[0], local, res[1])
            if meilleure is not None and meilleure[0] < cout_elargir:
                break
        if meilleure is None:
            non_resolues.append(ident)
            continue
        _, local, res = meilleure
        n = local.size
        mouvement = res[:n] + res[n:]
        nouvelles = local[(mouvement > TOLERANCE) & ~cachee[local]]
        cachee[nouvelles] = True
        ajouts.extend(ids[nouvelles].tolist())
    return (
        pl.Series("id", sorted(set(ajouts)), pl.Int64),
        pl.Series("id", non_resolues, pl.Int64),
    )
