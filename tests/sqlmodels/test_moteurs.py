"""A SQL model on polars' streaming engine (`-- moteur: streaming`) gives, bit for bit, what
the in-memory engine gives: inputs of a few thousand rows are split into batches of 7 rows,
so that an aggregate depending on the order rows arrive in (a sum of floats) would differ.
A streaming model without inputs here fails the suite."""

import random
from collections.abc import Callable

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from observatory.settings import PROJECT_ROOT
from observatory.sqlmodels.loader import discover
from observatory.sqlmodels.runner import run_model

MODELES = {m.name: m for m in discover(PROJECT_ROOT / "dbt_like_sql")}
LOT = 7  # rows per streaming batch


def _offre(graine: int = 0) -> dict[str, pl.DataFrame]:
    """3 000 communes in 30 EPCI, 10 départements, 2 régions; four counts, two vintages of one,
    a definition on some; the coverage and the counts drawn at random."""
    rng = random.Random(graine)
    n = 3_000
    communes = [f"{i:05d}" for i in range(n)]
    appartenances = pl.concat(
        pl.DataFrame({"code_commune": communes, "niveau": niveau, "code": codes})
        for niveau, codes in (
            ("commune", communes),
            ("epci", [f"E{i % 30}" for i in range(n)]),
            ("departement", [f"D{i % 10}" for i in range(n)]),
            ("region", [f"R{i % 2}" for i in range(n)]),
            ("france", ["FR"] * n),
        )
    )
    series = [
        ("nb_lieux", "lieux_pour_10k_hab", 2025, None),
        ("nb_conseillers_numeriques", "conseillers_numeriques_pour_10k_hab", 2025, None),
        ("nb_france_services", "france_services_pour_10k_hab", 2020, "vague 2020"),
        ("nb_france_services", "france_services_pour_10k_hab", 2022, "liste 2022"),
    ]
    offre = pl.concat(
        pl.DataFrame(
            {
                "code_commune": communes,
                "population": [rng.randrange(200_000) for _ in range(n)],
                "indicateur_nombre": nombre,
                "indicateur_taux": taux,
                "annee": pl.Series([annee] * n, dtype=pl.Int32),
                "definition": pl.Series([definition] * n, dtype=pl.String),
                "couvert": [rng.random() < 0.9 for _ in range(n)],
                "nb": [rng.randrange(40) for _ in range(n)],
            }
        )
        for nombre, taux, annee, definition in series
    )
    return {"int__appartenances": appartenances, "int__offre_communes": offre}


ENTREES: dict[str, Callable[[], dict[str, pl.DataFrame]]] = {"ind_offre": _offre}
STREAMING = sorted(name for name, model in MODELES.items() if model.moteur == "streaming")


def test_every_streaming_model_has_inputs_here() -> None:
    assert STREAMING and set(STREAMING) <= set(ENTREES), STREAMING


def _comparer(model, entrees: dict[str, pl.DataFrame]) -> tuple[pl.DataFrame, pl.DataFrame]:
    with pl.Config(streaming_chunk_size=LOT):
        flux = run_model(model, entrees, moteur="streaming")
    memoire = run_model(model, entrees, moteur="in-memory")
    cle = [c for c in memoire.columns if memoire.schema[c] != pl.Float64]
    return flux.sort(cle, nulls_last=True), memoire.sort(cle, nulls_last=True)


@pytest.mark.parametrize("nom", STREAMING)
def test_streaming_gives_the_in_memory_result_bit_for_bit(nom: str) -> None:
    flux, memoire = _comparer(MODELES[nom], ENTREES[nom]())
    assert memoire.height > 1_000
    assert_frame_equal(flux, memoire, check_exact=True)


def test_a_sum_of_floats_would_be_caught() -> None:
    """The same comparison on a model summing floats finds a difference: batches of 7 rows
    change the order of the additions. (What `-- moteur: streaming` must not be used for.)"""
    from observatory.sqlmodels.loader import SqlModel

    somme = SqlModel(
        "ind_somme",
        PROJECT_ROOT / "ind_somme.sql",
        "SELECT a.niveau, a.code, SUM(c.population * 0.1 / (c.nb + 0.3)) AS valeur "
        "FROM int__appartenances AS a "
        "INNER JOIN int__offre_communes AS c ON c.code_commune = a.code_commune "
        "GROUP BY a.niveau, a.code",
        ("int__appartenances", "int__offre_communes"),
        "",
        "streaming",
    )
    flux, memoire = _comparer(somme, _offre())
    with pytest.raises(AssertionError):
        assert_frame_equal(flux, memoire, check_exact=True)
