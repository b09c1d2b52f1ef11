"""Statistics rebased on COG 2026 (one asset per commune-level source) and their commune table."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import dagster as dg
import polars as pl

from observatory.defs.resources import ObservatoryResource
from observatory.sources import catalogue as cat
from observatory.transforms import rebasing, statistics
from observatory.validation.store import write_quarantine

GROUP = "intermediate"
POIDS_POPULATION = "nb_personnes_menages_fiscaux"


@dataclass(frozen=True)
class Rebasage:
    """How a commune-level source moves to COG 2026.

    `geographie`: 1 January of the COG its codes follow. `rates`: rate → weight column (the
    rate's denominator). Sources that publish rates without their denominator are weighted by
    the population of fiscal households of the same commune (Filosofi 2016, `poids_filosofi`),
    the closest population of the former communes available. `scissions_prorata`: a commune
    re-established since the source's geography shares the structure of the commune it was
    part of, pro rata of population (census structures only; see `rebasing.rebase_communes`).
    """

    source: cat.Source
    geographie: date
    counts: tuple[str, ...] = ()
    rates: dict[str, str] = field(default_factory=dict)
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
        rates={p: POIDS_POPULATION for p in PARTS_RP2017},
        poids_filosofi=True,
        scissions_prorata=True,
    ),
    Rebasage(cat.INSEE_RP2018, date(2021, 1, 1), counts=EFFECTIFS_RP2018, scissions_prorata=True),
    Rebasage(
        cat.FILOSOFI_COMMUNES,
        date(2019, 1, 1),
        counts=("nb_menages_fiscaux", POIDS_POPULATION),
        rates={"taux_pauvrete_60": POIDS_POPULATION, "revenu_median_uc": POIDS_POPULATION},
    ),
    Rebasage(
        cat.ARCEP_THD,
        date(2019, 1, 1),
        counts=("nb_locaux", "nb_locaux_ineligibles_hd", "nb_locaux_thd_30"),
    ),
    Rebasage(
        cat.DFG_MOBILE,
        date(2020, 1, 1),
        rates={"part_couverture_mobile": POIDS_POPULATION},
        poids_filosofi=True,
    ),
    Rebasage(
        cat.CAF_COMMUNES, date(2020, 1, 1), counts=("nb_allocataires", "nb_personnes_couvertes")
    ),
    Rebasage(cat.CAF_RSA, date(2020, 1, 1), counts=("nb_allocataires_rsa",)),
    Rebasage(
        cat.POLE_EMPLOI_DEFM,
        date(2019, 1, 1),
        counts=(
            "nb_demandeurs_emploi_abc",
            "nb_demandeurs_emploi_abcde",
            "nb_demandeurs_emploi_rsa",
        ),
    ),
)


def _with_weight(frame: pl.DataFrame, filosofi: pl.DataFrame) -> pl.DataFrame:
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


def _finish(spec: Rebasage, rebased: pl.DataFrame) -> pl.DataFrame:
    """Source-specific rules after rebasing."""
    if spec.source is cat.FILOSOFI_COMMUNES:
        # A median cannot be recomputed for merged communes; suppressed rates stay visible.
        return rebased.with_columns(
            pl.when(~pl.col("fusionne")).then(pl.col("revenu_median_uc")).alias("revenu_median_uc"),
            pl.col("taux_pauvrete_60").is_null().alias("secret_statistique"),
        )
    return rebased


def build_rebased_asset(spec: Rebasage) -> dg.AssetsDefinition:
    ins = {
        "stg": dg.AssetIn(spec.staging),
        "stg_cog__communes": dg.AssetIn("stg_cog__communes"),
        "stg_insee__passage_communes": dg.AssetIn("stg_insee__passage_communes"),
        "stg_insee__mouvements_communes": dg.AssetIn("stg_insee__mouvements_communes"),
    }
    if spec.poids_filosofi:
        ins["stg_insee__filosofi_communes"] = dg.AssetIn("stg_insee__filosofi_communes")

    @dg.asset(
        name=spec.name,
        group_name=GROUP,
        ins=ins,
        description=f"{spec.source.title}, sur les communes du COG 2026.",
    )
    def _rebased(observatory: ObservatoryResource, **inputs: pl.DataFrame) -> dg.Output:
        passage = rebasing.build_passage(
            inputs["stg_insee__passage_communes"],
            inputs["stg_insee__mouvements_communes"],
            inputs["stg_cog__communes"],
            depuis=spec.geographie,
        )
        frame = inputs["stg"]
        if spec.poids_filosofi:
            frame = _with_weight(frame, inputs["stg_insee__filosofi_communes"])
        population = inputs["stg_cog__communes"].select("code_commune", "population")
        rebased, quarantine, report = rebasing.rebase_communes(
            frame,
            passage,
            list(spec.counts),
            spec.rates,
            keys=["annee"],
            prorata=population if spec.scissions_prorata else None,
        )
        path = write_quarantine(observatory.settings, spec.name, quarantine)
        return dg.Output(_finish(spec, rebased), metadata={**report, "quarantaine": str(path)})

    return _rebased


@dg.asset(group_name=GROUP, ins={spec.name: dg.AssetIn(spec.name) for spec in REBASAGES})
def int__statistiques_communes(
    stg_cog__communes: pl.DataFrame, **rebased: pl.DataFrame
) -> dg.Output[pl.DataFrame]:
    """Every COG 2026 commune with its statistics, each gap flagged (never a made-up value)."""
    frame = statistics.build_statistiques_communes(
        stg_cog__communes, {name.removeprefix("int__"): f for name, f in rebased.items()}
    )
    gaps = {
        f"{column}:{value}": n
        for column in ("statut_structure_age", "statut_pauvrete", "statut_arcep")
        for value, n in frame.group_by(column).len().iter_rows()
    }
    return dg.Output(frame, metadata={"communes": frame.height, **gaps})


statistics_assets = [*(build_rebased_asset(spec) for spec in REBASAGES), int__statistiques_communes]
