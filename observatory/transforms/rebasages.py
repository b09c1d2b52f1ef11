"""How each commune-level statistic moves to COG 2026: the rules per source, and one function.

Each source gives the COG its codes follow, its counts (summed when communes merge), its rates
with their weights, and its own rules after rebasing. `rebase_source` applies them on
`rebasing.rebase_communes`; the Dagster asset only loads the inputs and writes the quarantine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import polars as pl

from observatory.sources import catalogue as cat
from observatory.transforms import rebasing, statistics

POIDS_POPULATION = "nb_personnes_menages_fiscaux"


@dataclass(frozen=True)
class Rebasage:
    """How a commune-level source moves to COG 2026.

    `geographie`: 1 January of the COG its codes follow. `taux`: rate → weight column (the
    rate's denominator). Sources that publish rates without their denominator are weighted by
    the population of fiscal households of the same commune (Filosofi 2016, `poids_filosofi`),
    the closest population of the former communes available. `scissions_prorata`: a commune
    re-established since the source's geography shares the structure of the commune it was
    part of, pro rata of population (census structures only; see `rebasing.rebase_communes`).
    """

    source: cat.Source
    geographie: date
    comptes: tuple[str, ...] = ()
    taux: dict[str, str] = field(default_factory=dict)
    poids_filosofi: bool = False
    scissions_prorata: bool = False

    @property
    def staging(self) -> str:
        return f"stg_{self.source.key}"

    @property
    def name(self) -> str:
        return f"int__{self.source.key}"


PARTS_RP2017 = statistics.MESURES_COMMUNES["insee__rp2017_parts"]
EFFECTIFS_RP2018 = statistics.MESURES_COMMUNES["insee__rp2018_effectifs"]
REBASAGES = (
    # INSEE publishes a census on the geography of two years later (RP 2017: COG 2019); Data
    # For Good's file lists COG 2020's codes, those created in 2019 without values
    Rebasage(
        cat.INSEE_RP2017,
        date(2019, 1, 1),
        taux={p: POIDS_POPULATION for p in PARTS_RP2017},
        poids_filosofi=True,
        scissions_prorata=True,
    ),
    Rebasage(cat.INSEE_RP2018, date(2021, 1, 1), comptes=EFFECTIFS_RP2018, scissions_prorata=True),
    Rebasage(
        cat.FILOSOFI_COMMUNES,
        date(2019, 1, 1),
        comptes=("nb_menages_fiscaux", POIDS_POPULATION),
        taux={"taux_pauvrete_60": POIDS_POPULATION, "revenu_median_uc": POIDS_POPULATION},
    ),
    Rebasage(
        cat.ARCEP_THD,
        date(2019, 1, 1),
        comptes=("nb_locaux", "nb_locaux_ineligibles_hd", "nb_locaux_thd_30"),
    ),
    Rebasage(
        cat.DFG_MOBILE,
        date(2020, 1, 1),
        taux={"part_couverture_mobile": POIDS_POPULATION},
        poids_filosofi=True,
    ),
    Rebasage(
        cat.CAF_COMMUNES, date(2020, 1, 1), comptes=("nb_allocataires", "nb_personnes_couvertes")
    ),
    Rebasage(cat.CAF_RSA, date(2020, 1, 1), comptes=("nb_allocataires_rsa",)),
    Rebasage(
        cat.POLE_EMPLOI_DEFM,
        date(2019, 1, 1),
        comptes=(
            "nb_demandeurs_emploi_abc",
            "nb_demandeurs_emploi_abcde",
            "nb_demandeurs_emploi_rsa",
        ),
    ),
)


def avec_poids_filosofi(frame: pl.DataFrame, filosofi: pl.DataFrame) -> pl.DataFrame:
    """The population weight of each former commune (Filosofi 2016 persons).

    Filosofi suppresses the counts of the smallest communes (under ~50 households): they weigh
    0, i.e. a commune merged with such a neighbour takes the rate of its known parts, whose
    population is at least an order of magnitude larger. A commune Filosofi does not list
    keeps a null weight (its merged rates stay null).
    """
    weights = filosofi.select(
        "code_commune_source", pl.col(POIDS_POPULATION).fill_null(0.0)
    ).unique("code_commune_source")
    return frame.join(weights, on="code_commune_source", how="left")


def regles_apres_rebasage(spec: Rebasage, rebased: pl.DataFrame) -> pl.DataFrame:
    """Source-specific rules after rebasing."""
    if spec.source is cat.FILOSOFI_COMMUNES:
        # A median cannot be recomputed for merged communes; suppressed rates stay visible.
        return rebased.with_columns(
            pl.when(~pl.col("fusionne")).then(pl.col("revenu_median_uc")).alias("revenu_median_uc"),
            pl.col("taux_pauvrete_60").is_null().alias("secret_statistique"),
        )
    return rebased


def rebase_source(
    spec: Rebasage,
    statistique: pl.DataFrame,
    communes: pl.DataFrame,
    table_passage: pl.DataFrame,
    mouvements: pl.DataFrame,
    filosofi: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, int]]:
    """One staged statistic on the communes of COG 2026: (rows, quarantine, counts)."""
    passage = rebasing.build_passage(table_passage, mouvements, communes, depuis=spec.geographie)
    if spec.poids_filosofi:
        if filosofi is None:
            raise ValueError(f"{spec.source.key}: rates weighted by Filosofi need its table")
        statistique = avec_poids_filosofi(statistique, filosofi)
    rebased, quarantine, report = rebasing.rebase_communes(
        statistique,
        passage,
        list(spec.comptes),
        spec.taux,
        keys=["annee"],
        prorata=communes.select("code_commune", "population") if spec.scissions_prorata else None,
    )
    return regles_apres_rebasage(spec, rebased), quarantine, report


def lignes_et_millesimes(
    rebasees: dict[str, pl.DataFrame],
) -> tuple[dict[str, pl.DataFrame], dict[str, int]]:
    """For the coverage of each rebased statistic (by source key): one row per source row
    merged into each commune, and the vintage its rows state (a live file states its own year;
    absent, the catalogue's)."""
    lignes = {
        key: frame.select("code_commune", "codes_commune_source").explode(
            "codes_commune_source", empty_as_null=True
        )
        for key, frame in rebasees.items()
    }
    annees = {
        key: int(annee)
        for key, frame in rebasees.items()
        if "annee" in frame.columns and (annee := frame["annee"].max()) is not None
    }
    return lignes, annees
