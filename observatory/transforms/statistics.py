"""Staging of the public statistics sources: INSEE RP and Filosofi, ARCEP, CNAF, DEFM, DfG.

Each function takes the raw file with every value a string, prefixed by `IDENTITE_LIGNE`
(`number_rows`), and returns `(kept, quarantine)` like `cog.stage_communes`. Codes are
normalised and rows with an unusable code rejected with a reason; an unreadable or
impossible number is set aside (`valeur_ecartee`: the row is kept, the value nulled); a gap
left by the source (empty cell, statistical secrecy) stays null and is never filled.

Commune codes are those of the source's own COG vintage, in `code_commune_source`: rebasing
to the COG 2026 is done later, by another module. EPCI, département and région figures are
the producer's own figures for that level (never sums of communes), with codes of the
source's vintage. Rates are fractions in [0, 1]; `annee` is the vintage of the data: the
`annee` argument when given, else the raw frame's `annee_donnees` column, which the reader
(`observatory.sources.readers.read_landed`) fills from the live file's own dates or, for the
bundled snapshot, from the catalogue's vintage. Nothing here hard-codes a year.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl

from observatory.transforms.territories import motif_code, normalise_codes_communes
from observatory.validation.quarantine import (
    IDENTITE_LIGNE,
    VALEUR_ECARTEE,
    Check,
    run_checks,
    split_rejected,
)

CODE_COMMUNE_SOURCE = "code_commune_source"
ANNEE_DONNEES = "annee_donnees"  # = observatory.sources.live_formats.ANNEE_DONNEES
NIVEAUX_TERRITOIRES = ("epci", "departement", "region", "france")

_BLANCS = r"[\s\u00a0\u202f]"
# A code made of several commune codes glued together: CNAF publishes some figures for a
# group of communes (`0309503310` = 03095 + 03310), which cannot be split back.
_REGROUPEMENT_COMMUNES = r"^(?:[0-9][0-9AB]\d{3}){2,}$"
_EPCI = motif_code(r"^\d{9}$")
# Établissements publics territoriaux of the Métropole du Grand Paris (`T01ZZZZZZ`): not EPCI.
_EPT = r"^T\d{2}Z{6}$"
_REGROUPEMENT_EPCI = r"^(?:\d{9}|T\d{2}Z{6}){2,}$"
_DEPARTEMENT = r"^(?:0[1-9]|1\d|2[1-9AB]|[3-8]\d|9[0-5]|97[1-46])$"
_REGION = r"^(?:0[1-9]|[1-9]\d)$"
_IRIS = motif_code(r"^[0-9][0-9AB]\d{7}$")

# A code normaliser returns (normalised code or null, reason code or null).
Normaliseur = Callable[[pl.Expr], tuple[pl.Expr, pl.Expr]]


@dataclass(frozen=True)
class Mesure:
    """A numeric column: raw name, output name and how to read it.

    `diviseur` = 100 for a percentage (output as a fraction); `entier` for counts of people or
    premises (Int64; a decimal part is an error); `part` for a fraction (must lie in [0, 1]).
    Output names starting with `_` are intermediate values, not kept.
    """

    source: str
    nom: str
    diviseur: float = 1.0
    entier: bool = False
    part: bool = False


def _nettoie_code(values: pl.Expr) -> pl.Expr:
    """A code as typed or exported: no spaces, no spreadsheet `.0`, upper case."""
    return (
        values.cast(pl.String)
        .str.replace_all(_BLANCS, "")
        .str.replace(r"\.0+$", "")
        .str.to_uppercase()
    )


def _vide(values: pl.Expr) -> pl.Expr:
    return values.is_null() | (values == "")


def _code_commune(values: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """`normalise_codes_communes`, naming groups of communes apart from plain errors."""
    code, raison = normalise_codes_communes(values)
    regroupement = _nettoie_code(values).str.contains(_REGROUPEMENT_COMMUNES)
    raison = pl.when(regroupement).then(pl.lit("code_regroupement_communes")).otherwise(raison)
    return code, raison


def _code_epci(values: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """EPCI SIREN (9 digits); Grand Paris EPT and glued groups of EPCI get their own reason."""
    cleaned = _nettoie_code(values)
    raison = (
        pl.when(_vide(cleaned))
        .then(pl.lit("code_vide"))
        .when(cleaned.str.contains(_EPCI))
        .then(pl.lit(None, pl.String))
        .when(cleaned.str.contains(_EPT))
        .then(pl.lit("code_ept_grand_paris"))
        .when(cleaned.str.contains(_REGROUPEMENT_EPCI))
        .then(pl.lit("code_regroupement_epci"))
        .otherwise(pl.lit("code_epci_invalide"))
    )
    return pl.when(raison.is_null()).then(cleaned), raison


def _code_padded(pattern: str, raison_invalide: str, court: str = r"^\d$") -> Normaliseur:
    """Normaliser of a numeric code whose leading zero a spreadsheet lost (`2` → `02`).

    `court` matches the code one digit short (département/région: one digit; IRIS: eight).
    """

    def normalise(values: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
        cleaned = _nettoie_code(values)
        padded = pl.when(cleaned.str.contains(court)).then("0" + cleaned).otherwise(cleaned)
        raison = (
            pl.when(_vide(cleaned))
            .then(pl.lit("code_vide"))
            .when(~padded.str.contains(pattern))
            .then(pl.lit(raison_invalide))
        )
        return pl.when(raison.is_null()).then(padded), raison

    return normalise


_code_iris = _code_padded(_IRIS, "code_iris_invalide", r"^\d{8}$")


def _code_france(code: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """INSEE's France métropolitaine row (`FM`) is the observatory's France (`FR`): Filosofi
    publishes no France-with-DROM figure; the DROM are compared to it."""
    valide = code.str.strip_chars().is_in(["FM", "FR"])
    return pl.when(valide).then(pl.lit("FR")), pl.when(~valide).then(pl.lit("code_france_invalide"))


_NORMALISEURS: dict[str, Normaliseur] = {
    "france": _code_france,
    "commune": _code_commune,
    "epci": _code_epci,
    "departement": _code_padded(_DEPARTEMENT, "code_departement_invalide"),
    "region": _code_padded(_REGION, "code_region_invalide"),
    "iris": _code_iris,
}


def _nombre(colonne: str) -> pl.Expr:
    """A finite number as files spell it (`51,6`, `1 234`, `313.0`, `1e+20`); else null."""
    value = (
        pl.col(colonne)
        .cast(pl.String)
        .str.replace_all(_BLANCS, "")
        .str.replace(",", ".", literal=True)
        .cast(pl.Float64, strict=False)
    )
    return pl.when(value.is_finite()).then(value)


def _mesures(frame: pl.DataFrame, mesures: Sequence[Mesure]) -> tuple[pl.DataFrame, list[Check]]:
    """Add each measure under its output name; unreadable or impossible values set aside.

    An empty cell is a gap of the source: it stays null, with no quarantine entry.
    """
    frame = frame.with_columns(
        (_nombre(m.source) / m.diviseur).alias(f"_n_{m.nom}") for m in mesures
    )
    checks: list[Check] = []
    values = []
    for m in mesures:
        brut, n = pl.col(m.source).cast(pl.String), pl.col(f"_n_{m.nom}")
        invalide = ~_vide(brut.str.replace_all(_BLANCS, "")) & n.is_null()
        if m.entier:
            invalide = invalide | (n.abs() >= 2.0**63)  # would overflow Int64
        failures = {"nombre_invalide": invalide, "nombre_negatif": n < 0}
        if m.entier:
            failures["nombre_non_entier"] = n != n.round()
        if m.part:
            failures["part_superieure_a_1"] = n > 1
        checks += [Check(m.source, r, f, VALEUR_ECARTEE) for r, f in failures.items()]
        ok = ~pl.any_horizontal(f.fill_null(False) for f in failures.values())
        value = pl.when(ok).then(n)
        values.append((value.cast(pl.Int64, strict=False) if m.entier else value).alias(m.nom))
    return frame.with_columns(values), checks


def annee_expr(raw: pl.DataFrame, annee: int | None) -> pl.Expr:
    """The vintage of each row: `annee` if given, else the raw `annee_donnees` column.

    Raises `ValueError` when neither says it: a row must never get a guessed year.
    """
    if annee is not None:
        return pl.lit(annee, pl.Int32).alias("annee")
    if ANNEE_DONNEES in raw.columns:
        return pl.col(ANNEE_DONNEES).cast(pl.Int32).alias("annee")
    raise ValueError(
        f"no vintage: pass `annee` or give the raw frame an {ANNEE_DONNEES!r} column "
        "(read_landed adds it)"
    )


def _stage(
    raw: pl.DataFrame,
    *,
    niveau: str,
    colonne_code: str,
    annee: int | None,
    mesures: Sequence[Mesure],
    extra: Sequence[pl.Expr] = (),
    ligne_vide_rejetee: bool = False,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Shared staging: normalise the code, reject bad or duplicated codes, read the numbers.

    Commune rows get `code_commune_source`; other levels `niveau` and `code`. `extra`: more
    output expressions on the raw columns, after the measures. `ligne_vide_rejetee`: a row
    with no value at all is not data (a code listed without figures: `aucune_valeur`), so that
    it cannot hide the figures of the commune whose territory it was part of.
    """
    code, raison = _NORMALISEURS[niveau](pl.col(colonne_code))
    millesime = annee_expr(raw, annee)
    frame = raw.with_columns(code.alias("_code"), raison.alias("_raison_code"))
    frame, checks = _mesures(frame, mesures)
    raisons = frame["_raison_code"].drop_nulls().unique().sort().to_list()
    checks = [
        *(Check(colonne_code, r, pl.col("_raison_code") == r) for r in raisons),
        Check(
            colonne_code,
            "code_duplique",
            pl.col("_code").is_not_null() & ~pl.col("_code").is_first_distinct(),
        ),
        *checks,
    ]
    if ligne_vide_rejetee:
        vide = pl.all_horizontal(
            _vide(pl.col(m.source).cast(pl.String).str.replace_all(_BLANCS, "")) for m in mesures
        )
        checks.append(Check(colonne_code, "aucune_valeur", vide))
    quarantine = run_checks(frame, checks)
    cle = (
        [pl.col("_code").alias(CODE_COMMUNE_SOURCE)]
        if niveau == "commune"
        else [pl.lit(niveau).alias("niveau"), pl.col("_code").alias("code")]
    )
    kept = split_rejected(frame, quarantine).select(
        *IDENTITE_LIGNE,
        *cle,
        millesime,
        *(m.nom for m in mesures if not m.nom.startswith("_")),
        *extra,
    )
    return kept, quarantine


def stage_rp2017_parts(
    raw: pl.DataFrame, annee: int | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """INSEE RP 2017 shares by commune (COG 2020), as computed by Data For Good in 2020.

    Every age and diploma share is a share of the population aged 15+ (DfG's notebook and the
    data agree): `part_25_ans_et_moins` is the share of 15–24-year-olds, `part_65_ans_et_plus`
    of 65+, and `part_non_diplomes_15_ans_et_plus` of the out-of-school with at most a CAP-BEP,
    divided by all people aged 15+ (DfG's "pas ou peu diplômés", not an INSEE variable).
    """
    mesures = [
        Mesure("TX_65ETPLUS", "part_65_ans_et_plus", 100, part=True),
        Mesure("TX_25ETMOINS", "part_25_ans_et_moins", 100, part=True),
        Mesure("TX_NSCOL15P", "part_non_diplomes_15_ans_et_plus", 100, part=True),
        Mesure("TX_MENSEUL", "part_menages_une_personne", 100, part=True),
        Mesure("TX_FAMMONO", "part_familles_monoparentales", 100, part=True),
    ]
    return _stage(
        raw,
        niveau="commune",
        colonne_code="CODE_INSEE",
        annee=annee,
        mesures=mesures,
        ligne_vide_rejetee=True,
    )


def stage_rp2018_effectifs(
    raw: pl.DataFrame, annee: int | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """INSEE RP 2018 counts for communes over 2 000 inhabitants (weighted: not integers).

    The code is the source's `code_insee` (PLM arrondissements as such), not the file's
    `code_insee_cog2026`: rebasing is one module's job, done the same way for every source.
    The 7 diploma counts add up to `nb_non_scolarises_15_ans_et_plus`.
    """
    mesures = [
        Mesure("pop_tot", "nb_population"),
        Mesure("pop_0_14", "nb_0_14_ans"),
        Mesure("pop_15_29", "nb_15_29_ans"),
        Mesure("pop_75p", "nb_75_ans_et_plus"),
        Mesure("pop_non_scol_15p", "nb_non_scolarises_15_ans_et_plus"),
        Mesure("pop_dipl_aucun", "nb_diplome_aucun_cep"),
        Mesure("pop_dipl_bepc", "nb_diplome_bepc"),
        Mesure("pop_dipl_capbep", "nb_diplome_cap_bep"),
        Mesure("pop_dipl_bac", "nb_diplome_bac"),
        Mesure("pop_dipl_sup2", "nb_diplome_bac_2"),
        Mesure("pop_dipl_sup34", "nb_diplome_bac_3_4"),
        Mesure("pop_dipl_sup", "nb_diplome_bac_5_plus"),
    ]
    return _stage(raw, niveau="commune", colonne_code="code_insee", annee=annee, mesures=mesures)


_FILOSOFI = [
    Mesure("nbmenfisc16", "nb_menages_fiscaux"),
    Mesure("nbpersmenfisc16", "nb_personnes_menages_fiscaux"),
    Mesure("med16", "revenu_median_uc"),
    Mesure("tp6016", "taux_pauvrete_60", 100, part=True),
]
# INSEE suppresses the poverty rate of small territories: the gap is flagged, never filled.
_SECRET_FILOSOFI = _vide(pl.col("tp6016").str.replace_all(_BLANCS, "")).alias("secret_statistique")


def _stage_filosofi(
    raw: pl.DataFrame, niveau: str, annee: int | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Filosofi's layout is the same at every level: households, median income, poverty rate."""
    return _stage(
        raw,
        niveau=niveau,
        colonne_code="codgeo",
        annee=annee,
        mesures=_FILOSOFI,
        extra=[_SECRET_FILOSOFI],
    )


def stage_filosofi_communes(
    raw: pl.DataFrame, annee: int | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """INSEE Filosofi 2016 by commune (COG ≈ 2018): households, median income, poverty rate.

    `secret_statistique` is true where INSEE did not publish the poverty rate (most communes
    under ~1 000 households); use the EPCI or département figure there, never a made-up value.
    """
    return _stage_filosofi(raw, "commune", annee)


def stage_filosofi_territoires(
    raw: pl.DataFrame, niveau: str, annee: int | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """INSEE Filosofi 2016 for EPCI (2019 perimeters), départements, régions or France
    (métropolitaine).

    These are INSEE's own figures for the level: a median or a poverty rate cannot be
    rebuilt from communes, and most communes are under secrecy.
    """
    if niveau not in NIVEAUX_TERRITOIRES:
        raise ValueError(f"niveau must be one of {NIVEAUX_TERRITOIRES}, not {niveau!r}")
    return _stage_filosofi(raw, niveau, annee)


def stage_arcep(raw: pl.DataFrame, annee: int | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """ARCEP "Ma connexion internet" (beta, 2019-09-30): premises by best fixed download speed.

    `nb_locaux_thd_30` counts premises eligible to at least 30 Mbit/s (three speed classes);
    `nb_locaux_ineligibles_hd` those below 512 kbit/s.
    """
    mesures = [
        Mesure("nbr", "nb_locaux", entier=True),
        Mesure("inel_hd", "nb_locaux_ineligibles_hd", entier=True),
        Mesure("elig_thd30", "_thd30", entier=True),
        Mesure("elig_thd100", "_thd100", entier=True),
        Mesure("elig_thd1g", "_thd1g", entier=True),
    ]
    thd = (pl.col("_thd30") + pl.col("_thd100") + pl.col("_thd1g")).alias("nb_locaux_thd_30")
    return _stage(
        raw,
        niveau="commune",
        colonne_code="code_insee",
        annee=annee,
        mesures=mesures,
        extra=[thd],
    )


def stage_dfg_mobile(
    raw: pl.DataFrame, annee: int | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Mobile coverage by commune: a Data For Good **proxy**, not an ARCEP measure.

    DfG weighted the presence of 4G/3G/2G antenna sites in the commune (ARCEP site lists,
    2020-T2) at 50/30/20 %; a commune covered from a neighbour's antenna scores 0. The file
    gives it as a fraction already (0–1), so it is not divided by 100.
    """
    mesures = [Mesure("COUVERTURE_MOBILE", "part_couverture_mobile", part=True)]
    return _stage(raw, niveau="commune", colonne_code="CODE_INSEE", annee=annee, mesures=mesures)


_CAF = [
    Mesure("A", "nb_allocataires", entier=True),
    Mesure("PERCOU", "nb_personnes_couvertes", entier=True),
]


def stage_caf_communes(
    raw: pl.DataFrame, annee: int | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """CNAF allocataires 2020 for the communes CNAF publishes (larger ones only).

    Rows for a group of communes (codes glued together) cannot be split: rejected with
    `code_regroupement_communes`.
    """
    return _stage(raw, niveau="commune", colonne_code="CODGEO", annee=annee, mesures=_CAF)


def stage_caf_epci(
    raw: pl.DataFrame, annee: int | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """CNAF allocataires 2020 by EPCI (2019 perimeters): CNAF's own figures for the level.

    Grand Paris territories (`T01ZZZZZZ`, not EPCI) and groups of EPCI are rejected.
    """
    return _stage(raw, niveau="epci", colonne_code="CODGEO", annee=annee, mesures=_CAF)


def stage_defm(raw: pl.DataFrame, annee: int | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Jobseekers registered at Pôle emploi on 31/12/2019, communes of ~5 000+ inhabitants."""
    mesures = [
        Mesure("ABC", "nb_demandeurs_emploi_abc", entier=True),
        Mesure("ABCDE", "nb_demandeurs_emploi_abcde", entier=True),
        Mesure("ABC_RSA", "nb_demandeurs_emploi_rsa", entier=True),
    ]
    return _stage(raw, niveau="commune", colonne_code="CODGEO", annee=annee, mesures=mesures)


def _table_iris(iris_table: pl.DataFrame) -> pl.DataFrame:
    """One row per IRIS: its commune, or null with `_nb_communes` > 1 when the table disagrees.

    The INSEE 2020 table has exact duplicate rows; they must not double the counts.
    """
    iris, _ = _code_iris(pl.col("CODE_IRIS"))
    commune, _ = normalise_codes_communes(pl.col("CODE_INSEE"))
    return (
        iris_table.select(iris.alias("_iris"), commune.alias("_commune"))
        .drop_nulls()
        .unique()
        .group_by("_iris")
        .agg(pl.col("_commune").first(), pl.len().alias("_nb_communes"))
        .with_columns(pl.when(pl.col("_nb_communes") == 1).then(pl.col("_commune")))
    )


def stage_caf_arsas_iris(
    raw: pl.DataFrame, iris_table: pl.DataFrame, annee: int | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """CAF RSA allocataires by IRIS (≈ 2019), each IRIS with its commune (INSEE IRIS 2020).

    `iris_table`: the IRIS reference, with string columns `CODE_IRIS` and `CODE_INSEE`. IRIS
    absent from it (redrawn since) or mapped to two communes are rejected: their commune is
    unknown. An empty `ARSAS` stays null.
    """
    code, raison = _code_iris(pl.col("CODE_IRIS"))
    millesime = annee_expr(raw, annee)
    frame = raw.with_columns(code.alias("_iris"), raison.alias("_raison_code")).join(
        _table_iris(iris_table), on="_iris", how="left", maintain_order="left"
    )
    frame, checks = _mesures(frame, [Mesure("ARSAS", "nb_allocataires_rsa", entier=True)])
    code_ok = pl.col("_raison_code").is_null()
    checks = [
        *(
            Check("CODE_IRIS", r, pl.col("_raison_code") == r)
            for r in frame["_raison_code"].drop_nulls().unique().sort().to_list()
        ),
        Check("CODE_IRIS", "code_duplique", code_ok & ~pl.col("_iris").is_first_distinct()),
        Check("CODE_IRIS", "iris_absent_table_iris", code_ok & pl.col("_nb_communes").is_null()),
        Check("CODE_IRIS", "iris_ambigu_table_iris", pl.col("_nb_communes") > 1),
        *checks,
    ]
    quarantine = run_checks(frame, checks)
    kept = split_rejected(frame, quarantine).select(
        *IDENTITE_LIGNE,
        pl.col("_iris").alias("code_iris"),
        pl.col("_commune").alias(CODE_COMMUNE_SOURCE),
        millesime,
        "nb_allocataires_rsa",
    )
    return kept, quarantine


def agrege_iris_communes(iris: pl.DataFrame, iris_table: pl.DataFrame) -> pl.DataFrame:
    """Sum staged IRIS rows (`stage_caf_arsas_iris`) to their commune, gaps made visible.

    `nb_allocataires_rsa` sums the IRIS with a value (null if none has one). `complet` is true
    only when every IRIS the table gives the commune is in the file with a value: otherwise
    the sum is a lower bound. Identity columns: the file, and the commune's first IRIS row;
    `nb_iris_source` counts the rows summed (rows in = their sum + rows rejected).
    """
    attendus = (
        _table_iris(iris_table)
        .drop_nulls("_commune")
        .group_by("_commune")
        .agg(pl.len().cast(pl.Int64).alias("nb_iris_table"))
        .rename({"_commune": CODE_COMMUNE_SOURCE})
    )
    valeur = pl.col("nb_allocataires_rsa")
    communes = (
        iris.group_by(CODE_COMMUNE_SOURCE)
        .agg(
            *(pl.col(c).sort_by(pl.col("ligne")).first() for c in IDENTITE_LIGNE),
            pl.col("annee").first(),
            pl.when(valeur.count() > 0).then(valeur.sum()).alias("nb_allocataires_rsa"),
            pl.len().cast(pl.Int64).alias("nb_iris_source"),
            valeur.null_count().cast(pl.Int64).alias("nb_iris_sans_valeur"),
        )
        .join(attendus, on=CODE_COMMUNE_SOURCE, how="left")
        .with_columns(
            (
                (pl.col("nb_iris_source") - pl.col("nb_iris_sans_valeur"))
                == pl.col("nb_iris_table")
            ).alias("complet")
        )
    )
    return communes.select(
        *IDENTITE_LIGNE,
        CODE_COMMUNE_SOURCE,
        "annee",
        "nb_allocataires_rsa",
        "nb_iris_source",
        "nb_iris_sans_valeur",
        "nb_iris_table",
        "complet",
    ).sort(CODE_COMMUNE_SOURCE)


def stage_caf_rsa_iris(
    raw_arsas: pl.DataFrame, iris_table: pl.DataFrame, annee: int | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """CAF RSA allocataires (≈ 2019) summed from IRIS to commune; see `agrege_iris_communes`.

    Accounting is by IRIS row: rows in = sum of `nb_iris_source` + rows rejected.
    """
    iris, quarantine = stage_caf_arsas_iris(raw_arsas, iris_table, annee)
    return agrege_iris_communes(iris, iris_table), quarantine


def stage_caf_rsa_communes(
    raw: pl.DataFrame, annee: int | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """CAF RSA foyers published by commune (live `s_ben_com_f`), in the IRIS staging's columns.

    Each row is one commune (`nb_iris_source` 1, so rows in = the sum + rows rejected, as for
    IRIS); `complet` is true when the commune has a value: nothing is summed, nothing missing.
    `nb_iris_table` is null: no IRIS table is involved.
    """
    kept, quarantine = _stage(
        raw,
        niveau="commune",
        colonne_code="CODE_COMMUNE",
        annee=annee,
        mesures=[Mesure("ARSAS", "nb_allocataires_rsa", entier=True)],
    )
    valeur = pl.col("nb_allocataires_rsa")
    return (
        kept.with_columns(
            pl.lit(1, pl.Int64).alias("nb_iris_source"),
            valeur.is_null().cast(pl.Int64).alias("nb_iris_sans_valeur"),
            pl.lit(None, pl.Int64).alias("nb_iris_table"),
            valeur.is_not_null().alias("complet"),
        ).sort(CODE_COMMUNE_SOURCE),
        quarantine,
    )


# Measures of each rebased source kept in the commune table (all sources are on COG 2026).
# The highest diploma of people aged 15+ out of school (RP 2018): they add up to
# `nb_non_scolarises_15_ans_et_plus`.
DIPLOMES = (
    "nb_diplome_aucun_cep",
    "nb_diplome_bepc",
    "nb_diplome_cap_bep",
    "nb_diplome_bac",
    "nb_diplome_bac_2",
    "nb_diplome_bac_3_4",
    "nb_diplome_bac_5_plus",
)
MESURES_COMMUNES: dict[str, tuple[str, ...]] = {
    "insee__rp2017_parts": (
        "part_65_ans_et_plus",
        "part_25_ans_et_moins",
        "part_non_diplomes_15_ans_et_plus",
        "part_menages_une_personne",
        "part_familles_monoparentales",
    ),
    "insee__rp2018_effectifs": (
        "nb_population",
        "nb_0_14_ans",
        "nb_15_29_ans",
        "nb_75_ans_et_plus",
        "nb_non_scolarises_15_ans_et_plus",
        *DIPLOMES,
    ),
    "insee__filosofi_communes": (
        "nb_menages_fiscaux",
        "nb_personnes_menages_fiscaux",
        "revenu_median_uc",
        "taux_pauvrete_60",
    ),
    "arcep__thd": ("nb_locaux", "nb_locaux_thd_30"),
    "dfg__couverture_mobile": ("part_couverture_mobile",),
    "caf__allocataires_communes": ("nb_allocataires", "nb_personnes_couvertes"),
    "caf__rsa_iris": ("nb_allocataires_rsa",),
    "pole_emploi__defm": (
        "nb_demandeurs_emploi_abc",
        "nb_demandeurs_emploi_abcde",
        "nb_demandeurs_emploi_rsa",
    ),
}


def build_statistiques_communes(
    communes: pl.DataFrame, rebased: dict[str, pl.DataFrame]
) -> pl.DataFrame:
    """One row per COG 2026 commune with every statistic, and where each key one comes from.

    `rebased`: source key → its table rebased on COG 2026 (`code_commune`). Nothing is filled
    in: a commune a source does not publish keeps nulls, and the `statut_*` columns say why —
    `statut_structure_age` (`effectifs_rp2018` counts by age band for communes over 2 000
    inhabitants, else `parts_rp2017` shares, else `absent`), `statut_pauvrete` (`valeur`,
    `secret_statistique` when INSEE suppressed it, `absent` when Filosofi has no row) and
    `statut_arcep` (`valeur` or `absent`); `structure_prorata` is true where the census
    structure is the share, pro rata of population, of a commune split since the census.
    """
    frame = communes.select("code_commune", "code_departement")
    for key, mesures in MESURES_COMMUNES.items():
        table = rebased[key].select(
            "code_commune",
            *mesures,
            pl.lit(True).alias(f"_present_{key}"),
            (pl.col("prorata") if "prorata" in rebased[key].columns else pl.lit(False)).alias(
                f"_prorata_{key}"
            ),
        )
        frame = frame.join(table, on="code_commune", how="left")
    present = {key: pl.col(f"_present_{key}").fill_null(False) for key in MESURES_COMMUNES}
    prorata = {key: pl.col(f"_prorata_{key}").fill_null(False) for key in MESURES_COMMUNES}
    return frame.with_columns(
        # a commune re-established since the census shares its former commune's structure
        pl.when(pl.col("nb_population").is_not_null())
        .then(prorata["insee__rp2018_effectifs"])
        .otherwise(prorata["insee__rp2017_parts"])
        .alias("structure_prorata"),
        (pl.col("nb_locaux_thd_30") / pl.col("nb_locaux"))
        .fill_nan(None)
        .alias("part_locaux_thd_30"),
        pl.when(pl.col("nb_population").is_not_null())
        .then(pl.lit("effectifs_rp2018"))
        .when(pl.col("part_65_ans_et_plus").is_not_null())
        .then(pl.lit("parts_rp2017"))
        .otherwise(pl.lit("absent"))
        .alias("statut_structure_age"),
        pl.when(pl.col("taux_pauvrete_60").is_not_null())
        .then(pl.lit("valeur"))
        .when(present["insee__filosofi_communes"])
        .then(pl.lit("secret_statistique"))
        .otherwise(pl.lit("absent"))
        .alias("statut_pauvrete"),
        pl.when(pl.col("nb_locaux") > 0)
        .then(pl.lit("valeur"))
        .otherwise(pl.lit("absent"))
        .alias("statut_arcep"),
    ).drop(
        *(f"_present_{key}" for key in MESURES_COMMUNES),
        *(f"_prorata_{key}" for key in MESURES_COMMUNES),
    )
