"""Rebasing commune-level statistics from their own COG vintage to the COG 2026 communes.

Statistics come on the geography of their year (Filosofi 2016 on COG 2019, RP 2017 on COG
2020, …) while every published table is on COG 2026. `build_passage` says, for every commune
code that ever existed, which current commune(s) its territory is in now; `rebase_communes`
moves a table onto current codes, summing counts, re-weighting rates and quarantining the
codes that match nothing; `former_commune_names` gives the former names of communes so that
places still addressed in a merged commune can be resolved.

Sources of truth, in order: INSEE's movements (`v_mvt_commune`, the only one that sees
splits), COGiter's historical passage table (one target per code), Etalab's COG 2026
`anciens_codes`. Where the last two disagree (55273 only), the passage table wins: the
movements re-establish Lamarche-en-Woëvre in 1983 as associated with Nonsard, now
Nonsard-Lamarche (55386), not with Heudicourt-sous-les-Côtes (55245).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl

from observatory.validation.quarantine import (
    IDENTITE_LIGNE,
    REJET,
    Check,
    account,
    run_checks,
    split_rejected,
)

IDENTIQUE = "identique"
ANCIEN_CODE = "ancien_code"
ARRONDISSEMENT = "arrondissement"
SCISSION = "scission"
TYPES_PASSAGE = (IDENTIQUE, ANCIEN_CODE, ARRONDISSEMENT, SCISSION)

CODE_INCONNU = "code_commune_inconnu"
CODE_DUPLIQUE = "code_duplique"
# INSEE publishes Paris, Marseille and Lyon both as a whole and by arrondissement municipal:
# adding the arrondissements to the commune's own row would count every inhabitant twice.
ARRONDISSEMENT_DEJA_COMPTE = "arrondissement_deja_compte_dans_commune"

# Arrondissements municipaux of Paris (75101–75120), Marseille (13201–13216), Lyon (69381–69389).
ARRONDISSEMENTS_PLM = r"^(?:751(?:0[1-9]|1\d|20)|132(?:0[1-9]|1[0-6])|6938[1-9])$"

# Movements that only change a code (41: new département, 50: chef-lieu moved) happen before
# the other movements of the same day: 49144 became 44225 on 2018-01-01, then merged into 44180.
_CHANGEMENTS_DE_CODE = ("41", "50")
_DEBUT = date(1900, 1, 1)
_MAX_ETAPES = 200

PASSAGE_SCHEMA: dict[str, pl.DataType] = {
    "code_source": pl.String(),
    "code_commune": pl.String(),
    "type_passage": pl.String(),
    "retenu": pl.Boolean(),
    "nb_communes": pl.Int64(),
    "origine": pl.String(),
}


def _instant(day: pl.Expr, mod: pl.Expr | None = None) -> pl.Expr:
    """A sortable instant: the day, and code changes before the other movements of that day."""
    rank = (
        pl.lit(1) if mod is None else pl.when(mod.is_in(_CHANGEMENTS_DE_CODE)).then(0).otherwise(1)
    )
    return day.cast(pl.Date).cast(pl.Int64) * 2 + rank


def _aretes(mouvements: pl.DataFrame) -> pl.DataFrame:
    """Commune-to-commune movements (code, instant, code after).

    Only `COM` → `COM` rows are followed: a commune that becomes déléguée or associée also has
    a row to the commune it joins, and a territory is counted in the commune it belongs to.
    """
    return (
        mouvements.filter(
            pl.col("TYPECOM_AV") == "COM",
            pl.col("TYPECOM_AP") == "COM",
            pl.col("COM_AV").is_not_null(),
            pl.col("COM_AP").is_not_null(),
            pl.col("DATE_EFF").is_not_null(),
        )
        .select(
            pl.col("COM_AV").alias("_code"),
            _instant(pl.col("DATE_EFF").str.to_date(), pl.col("MOD")).alias("_t_ev"),
            pl.col("COM_AP").alias("_ap"),
        )
        .unique()
    )


def _successeurs(depart: pl.DataFrame, aretes: pl.DataFrame) -> pl.DataFrame:
    """Follow each territory forward in time to the codes it ends in.

    `depart`: `_id`, `_code`, `_t` (the instant from which movements count). At each step a
    code takes all its movements of its next instant: one target for a rename or a merger,
    several for a split (a rétablissement lists the commune kept and each one re-established).
    Returns the distinct (`_id`, `_code`) where no later movement applies.
    """
    etat = depart.select("_id", "_code", "_t").unique()
    fins = []
    for _ in range(_MAX_ETAPES):
        suivants = etat.join(aretes, on="_code", how="inner").filter(pl.col("_t_ev") > pl.col("_t"))
        prochain = suivants.group_by("_id", "_code", "_t").agg(
            pl.col("_t_ev").min().alias("_t_min")
        )
        fins.append(etat.join(prochain, on=["_id", "_code", "_t"], how="anti"))
        etat = (
            suivants.join(prochain, on=["_id", "_code", "_t"])
            .filter(pl.col("_t_ev") == pl.col("_t_min"))
            .select("_id", pl.col("_ap").alias("_code"), pl.col("_t_ev").alias("_t"))
            .unique()
        )
        if etat.is_empty():
            break
    else:
        raise RuntimeError(f"movements still applying after {_MAX_ETAPES} steps: a cycle?")
    return pl.concat(fins).select("_id", "_code").unique()


def _anciens_codes_cog(communes: pl.DataFrame) -> pl.DataFrame:
    """Etalab's COG 2026 `anciens_codes`: (former code, current commune)."""
    return (
        communes.select("code_commune", pl.col("anciens_codes").alias("code_source"))
        .explode("code_source", empty_as_null=True)
        .filter(pl.col("code_source").is_not_null() & (pl.col("code_source") != ""))
        .unique()
    )


def passage_disagreements(passage: pl.DataFrame, communes: pl.DataFrame) -> pl.DataFrame:
    """Former codes listed by the COG 2026 whose passage-table target differs or is missing.

    On the real data: 55273 (55386 in the passage table, 55245 in the COG) and 12 codes absent
    from the passage table (6 Corsican codes from before 1976, 6 communes suppressed between
    1949 and 1968 whose territory was shared out).
    """
    cog = _anciens_codes_cog(communes).rename({"code_commune": "code_commune_cog"})
    table = passage.select(
        pl.col("code_insee_historique").alias("code_source"),
        pl.col("code_insee_cog2025").alias("code_commune_table_passage"),
    )
    return (
        cog.join(table, on="code_source", how="left")
        .filter(
            pl.col("code_commune_table_passage").is_null()
            | (pl.col("code_commune_table_passage") != pl.col("code_commune_cog"))
        )
        .select("code_source", "code_commune_table_passage", "code_commune_cog")
        .sort("code_source")
    )


def build_passage(
    passage: pl.DataFrame,
    mouvements: pl.DataFrame,
    communes: pl.DataFrame,
    depuis: date | None = None,
) -> pl.DataFrame:
    """One row per (code_source, code_commune): where each historical code's territory is now.

    `passage`: COGiter's `code_insee_historique` → `code_insee_cog2025` (COG 2025 codes are
    COG 2026 codes in metropolitan France and the DROM). `mouvements`: INSEE's movement
    table. `communes`: the staged COG 2026 (`cog.stage_communes`). `depuis`: the date of the
    source's geography (1 January of its COG vintage); only movements effective after it
    count (those of that day are part of that COG), so a commune nouvelle split since is a
    `scission`, while a code merged before is an `ancien_code`. Without it every movement since
    1943 counts, which flags as `scission` every current commune that once absorbed a
    neighbour later re-established (589 codes on the real data).

    `type_passage`: `identique` (a current code, territory unchanged), `ancien_code` (merged,
    renamed or recoded into one current commune), `arrondissement` (PLM arrondissement →
    Paris, Marseille, Lyon), `scission` (territory now in several communes: one row per
    commune). `retenu` marks the single commune a value is attributed to, since a statistic
    cannot be cut up without data on the parts: the commune with the same code, else the
    most populous (then the lowest code). `origine` says which source resolved the code.
    """
    actuelles = communes.select(
        "code_commune", pl.col("population").cast(pl.Int64).fill_null(-1).alias("_population")
    )
    table = passage.select(
        pl.col("code_insee_historique").alias("_code"),
        pl.col("code_insee_cog2025").alias("_cible_table"),
    ).join(
        actuelles.select(pl.col("code_commune").alias("_cible_table")),
        on="_cible_table",
        how="semi",
    )
    cog = _anciens_codes_cog(communes).select(
        pl.col("code_source").alias("_code"), pl.col("code_commune").alias("_cible_cog")
    )
    aretes = _aretes(mouvements)
    sources = (
        pl.concat(
            [
                actuelles.select(pl.col("code_commune").alias("_id")),
                table.select(pl.col("_code").alias("_id")),
                cog.select(pl.col("_code").alias("_id")),
                aretes.select(pl.col("_code").alias("_id")),
                aretes.select(pl.col("_ap").alias("_id")),
            ]
        )
        .unique()
        .sort("_id")
    )
    debut = _instant(pl.lit(depuis or _DEBUT))
    depart = sources.with_columns(pl.col("_id").alias("_code"), debut.alias("_t"))
    fins = (
        _successeurs(depart, aretes)
        .join(
            actuelles.select(pl.col("code_commune").alias("_code"), pl.lit(True).alias("_courant")),
            on="_code",
            how="left",
        )
        .join(table, on="_code", how="left")
        .join(cog, on="_code", how="left")
    )
    # A movement chain ends on a current code, or on a code gone before `depuis` or never
    # in the movements: that one is resolved by the passage table, else by the COG.
    resolues = fins.select(
        pl.col("_id").alias("code_source"),
        pl.when(pl.col("_courant"))
        .then(pl.col("_code"))
        .otherwise(pl.coalesce("_cible_table", "_cible_cog"))
        .alias("code_commune"),
        pl.when(pl.col("_courant") & (pl.col("_code") == pl.col("_id")))
        .then(pl.lit("cog"))
        .when(pl.col("_courant"))
        .then(pl.lit("mouvements"))
        .when(pl.col("_cible_table").is_not_null())
        .then(pl.lit("table_de_passage"))
        .when(pl.col("_cible_cog").is_not_null())
        .then(pl.lit("cog_anciens_codes"))
        .alias("origine"),
    ).filter(pl.col("code_commune").is_not_null())
    resolues = (
        resolues.group_by("code_source", "code_commune")
        .agg(pl.col("origine").sort().first())
        .with_columns(pl.len().over("code_source").cast(pl.Int64).alias("nb_communes"))
        .join(actuelles, on="code_commune", how="left")
    )
    est_arrondissement = pl.col("code_source").str.contains(ARRONDISSEMENTS_PLM)
    type_passage = (
        pl.when(pl.col("nb_communes") > 1)
        .then(pl.lit(SCISSION))
        .when(est_arrondissement)
        .then(pl.lit(ARRONDISSEMENT))
        .when(pl.col("code_source") == pl.col("code_commune"))
        .then(pl.lit(IDENTIQUE))
        .otherwise(pl.lit(ANCIEN_CODE))
    )
    # Retained: the commune with the source's own code, else the most populous, else lowest code.
    ordre = [
        (pl.col("code_commune") != pl.col("code_source")),
        -pl.col("_population"),
        "code_commune",
    ]
    return (
        resolues.sort("code_source", *ordre)
        .with_columns(
            type_passage.alias("type_passage"),
            pl.col("code_source").is_first_distinct().alias("retenu"),
        )
        .select(list(PASSAGE_SCHEMA))
        .cast(PASSAGE_SCHEMA)
        .sort("code_source", "code_commune")
    )


def _somme(colonne: str) -> pl.Expr:
    """Sum of the known values; null when none is known (unknown is never 0)."""
    return pl.when(pl.col(colonne).is_not_null().any()).then(pl.col(colonne).sum()).alias(colonne)


def _taux_pondere(taux: str, poids: str) -> pl.Expr:
    """Weighted mean of a rate over the merged rows, null unless every row has rate and weight.

    A mean over the known rows only would be the rate of another territory. A single row keeps
    its rate as published (nothing to re-weight); rows whose weights are all 0 (communes too
    small for their weight to be published) weigh equally.
    """
    complet = pl.col(taux).is_not_null() & pl.col(poids).is_not_null()
    somme_poids = pl.col(poids).sum()
    moyenne = (pl.col(taux) * pl.col(poids)).sum() / somme_poids
    return (
        pl.when(pl.len() == 1)
        .then(pl.col(taux).first())
        .when(complet.all() & (somme_poids > 0))
        .then(moyenne)
        # every part too small for its weight to be published (weight 0): they weigh equally
        .when(complet.all())
        .then(pl.col(taux).mean())
        .alias(taux)
    )


def rebase_communes(
    frame: pl.DataFrame,
    passage: pl.DataFrame,
    counts: list[str],
    rates: dict[str, str] | None = None,
    code_column: str = "code_commune_source",
    keys: Sequence[str] = (),
    prorata: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, int]]:
    """Move a commune-level table onto COG 2026 codes: one row per `code_commune` (+ `keys`).

    `frame` carries `IDENTITE_LIGNE` (`number_rows`) and the source's codes in `code_column`;
    `passage` is `build_passage`'s output for the source's vintage; `keys` are the other group
    keys (e.g. `annee`). `counts` are summed over the rows merged into a commune (null when
    none is known; `incomplet` is true when some merged row had a null count, the sum is then
    a lower bound). `rates` maps each rate to its weight column: the rebased rate is the
    weighted mean, which is the rate of the merged territory only if the weight is the rate's
    denominator (poverty rate of persons → number of persons, not of households); with any
    rate or weight unknown among the merged rows it is null. Other columns are dropped.

    `fusionne`: several source rows were merged. `scission`: a source code whose territory
    is now in several communes; its whole value goes to the commune `retenu` by the passage,
    never copied into the others — unless `prorata` (`code_commune`, `population`) is given:
    then each commune of the split takes the counts pro rata of its current population and the
    rates as they are (`prorata` true), for structures (census age and diploma shares) that a
    re-established commune shares with the commune it was part of, so that none is left
    without one and the area is not counted twice. Returns (rebased, quarantine entries,
    report); rows whose
    code matches nothing are rejected (`code_commune_inconnu`), as are duplicated codes and
    arrondissements of a commune also present as a whole. Rows in = rows used + rejected.
    """
    rates = rates or {}
    keys = list(keys)
    manquantes = [
        c
        for c in (*IDENTITE_LIGNE, code_column, *keys, *counts, *rates, *rates.values())
        if c not in frame.columns
    ]
    if manquantes:
        raise ValueError(f"columns missing from the frame to rebase: {sorted(set(manquantes))}")
    retenus = passage.filter(pl.col("retenu")).select(
        pl.col("code_source").alias("_code"), "code_commune", "type_passage"
    )
    if retenus["_code"].is_duplicated().any():
        raise ValueError("the passage gives more than one retained commune for a source code")

    lignes = frame.with_columns(pl.col(code_column).alias("_code")).join(
        retenus, on="_code", how="left"
    )
    lignes = lignes.with_columns(pl.lit(1.0).alias("_part"))
    # The commune itself has a row (same keys): its arrondissements are already counted in it.
    commune_presente = (pl.col("_code") == pl.col("code_commune")).any().over("code_commune", *keys)
    checks = [
        Check(code_column, CODE_INCONNU, pl.col("code_commune").is_null()),
        Check(
            code_column,
            CODE_DUPLIQUE,
            pl.col("code_commune").is_not_null() & ~pl.struct("_code", *keys).is_first_distinct(),
        ),
        Check(
            code_column,
            ARRONDISSEMENT_DEJA_COMPTE,
            (pl.col("type_passage") == ARRONDISSEMENT) & commune_presente,
        ),
    ]
    quarantine = run_checks(lignes, checks)
    utilisees = split_rejected(lignes, quarantine)

    if prorata is not None:
        utilisees = _repartit_scissions(utilisees, passage, prorata, counts)
    groupe = ["code_commune", *keys]
    nb = pl.len().over(groupe)
    utilisees = utilisees.with_columns(nb.alias("_nb"))
    incomplet = pl.any_horizontal(pl.col(c).is_null() for c in counts) if counts else pl.lit(False)
    rebased = (
        utilisees.group_by(groupe)
        .agg(
            *(_somme(c) for c in counts),
            *(_taux_pondere(t, w) for t, w in rates.items()),
            (pl.len() > 1).alias("fusionne"),
            (pl.col("type_passage") == SCISSION).any().alias("scission"),
            ((pl.len() > 1) & incomplet.any()).alias("incomplet"),
            pl.col("_code").sort().alias("codes_commune_source"),
            (pl.col("_part") < 1).any().alias("prorata"),
        )
        .sort(groupe)
    )

    report = account(frame.height, utilisees.select(IDENTITE_LIGNE).n_unique(), quarantine)
    if rebased["codes_commune_source"].list.len().sum() != utilisees.height:
        raise RuntimeError("rebasing lost or duplicated rows while grouping")
    rejetees = quarantine.filter(pl.col("action") == REJET)
    report |= {
        "identiques": utilisees.filter(pl.col("type_passage") == IDENTIQUE).height,
        "rebasees": utilisees.filter(pl.col("_code") != pl.col("code_commune")).height,
        "fusionnees": utilisees.filter(pl.col("_nb") > 1).height,
        "scissions": utilisees.filter(pl.col("type_passage") == SCISSION)
        .select(IDENTITE_LIGNE)
        .n_unique(),
        "communes_au_prorata": rebased.filter(pl.col("prorata")).height,
        "non_appariees": rejetees.filter(pl.col("code_raison") == CODE_INCONNU).height,
        "lignes_sortie": rebased.height,
    }
    return rebased, quarantine, report


def _repartit_scissions(
    lignes: pl.DataFrame, passage: pl.DataFrame, population: pl.DataFrame, counts: list[str]
) -> pl.DataFrame:
    """Rows of split codes copied to every commune of the split, counts × population share."""
    cibles = (
        passage.filter(pl.col("type_passage") == SCISSION)
        .select(pl.col("code_source").alias("_code"), pl.col("code_commune").alias("_cible"))
        .join(
            population.select(
                pl.col("code_commune").alias("_cible"),
                pl.col("population").cast(pl.Float64).alias("_pop"),
            ),
            on="_cible",
            how="left",
        )
        .with_columns((pl.col("_pop") / pl.col("_pop").sum().over("_code")).alias("_part_cible"))
    )
    # without a population for every part, the split cannot be shared out: kept whole
    partageables = cibles.filter(pl.col("_part_cible").is_not_null().all().over("_code"))
    scindees = lignes.join(partageables, on="_code", how="inner")
    return pl.concat(
        [
            lignes.join(partageables.select("_code").unique(), on="_code", how="anti"),
            scindees.with_columns(
                pl.col("_cible").alias("code_commune"),
                pl.col("_part_cible").alias("_part"),
                *(pl.col(c) * pl.col("_part_cible") for c in counts),
            ).drop("_cible", "_pop", "_part_cible"),
        ],
        how="vertical_relaxed",
    )


def former_commune_names(mouvements: pl.DataFrame, communes: pl.DataFrame) -> pl.DataFrame:
    """(code_departement, nom, code_commune) for the former names of communes.

    A place may still be addressed in a commune merged since (`MALAVILLE 16120`, now
    Bellevigne). Every name a movement records before it (`LIBELLE_AV`, communes, communes
    associées and déléguées) is followed from that movement to the current commune(s) its
    territory is in; a name is kept only if that is one commune, and unless it is that
    commune's current name. The département is the current commune's (postal codes follow
    it). A name can still designate several communes (homonyms): match it only when unique.
    """
    aretes = _aretes(mouvements)
    actuelles = communes.select(
        "code_commune", "code_departement", pl.col("nom").alias("_nom_actuel")
    )
    evenements = mouvements.filter(
        pl.col("LIBELLE_AV").is_not_null(),
        pl.col("COM_AV").is_not_null(),
        pl.col("TYPECOM_AP") == "COM",
        pl.col("COM_AP").is_not_null(),
    ).select(
        pl.col("LIBELLE_AV").alias("nom"),
        pl.struct("TYPECOM_AV", "COM_AV", "DATE_EFF", "LIBELLE_AV").alias("_evenement"),
        pl.col("COM_AP").alias("_code"),
        _instant(pl.col("DATE_EFF").str.to_date(), pl.col("MOD")).alias("_t"),
    )
    ids = evenements.select("_evenement").unique().with_row_index("_id")
    depart = evenements.join(ids, on="_evenement")
    # A chain that ends on a code that is not current (outside the scope) makes the name unusable.
    fins = _successeurs(depart, aretes).join(
        actuelles.select(pl.col("code_commune").alias("_code"), pl.lit(True).alias("_courant")),
        on="_code",
        how="left",
    )
    uniques = (
        fins.group_by("_id")
        .agg(pl.col("_code").unique(), pl.col("_courant").fill_null(False).all())
        .filter(pl.col("_courant"), pl.col("_code").list.len() == 1)
        .select("_id", pl.col("_code").list.first().alias("code_commune"))
    )
    noms = depart.select("_id", "nom").unique().join(uniques, on="_id")
    return (
        noms.select("nom", "code_commune")
        .unique()
        .join(actuelles, on="code_commune")
        .filter(pl.col("nom") != pl.col("_nom_actuel"))
        .select("code_departement", "nom", "code_commune")
        .sort("code_departement", "nom", "code_commune")
    )
