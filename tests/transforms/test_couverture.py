"""The coverage rule, one for every indicator: value published from 99 % of the population
covered, with the share shown; below, null and `couverture` false (unknown is never 0)."""

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from observatory.transforms.couverture import PART_COUVERTE_MIN, applique_regle_couverture

CAS = [
    # (case, poids_couvert, poids_total, nb_couvertes, nb_communes, part, publiée)
    ("tout couvert", 1000.0, 1000.0, 3, 3, 1.0, True),
    ("99 % : France hors Mayotte", 996.0, 1000.0, 9, 10, 0.996, True),
    ("au seuil", 990.0, 1000.0, 9, 10, 0.99, True),
    ("juste sous le seuil", 989.9, 1000.0, 9, 10, 0.9899, False),
    ("une région sur treize", 50.0, 1000.0, 1, 13, 0.05, False),
    ("rien de couvert", 0.0, 1000.0, 0, 3, 0.0, False),
    ("sans habitant, toutes communes couvertes", 0.0, 0.0, 2, 2, 1.0, True),
    ("sans habitant, une commune sur deux", 0.0, 0.0, 1, 2, 0.5, False),
]


@pytest.mark.parametrize("cas", CAS, ids=[c[0] for c in CAS])
def test_one_rule_for_every_indicator(cas: tuple) -> None:
    _, couvert, total, nb_couvertes, nb, part, publiee = cas
    ligne = pl.DataFrame(
        {
            "indicateur": ["x"],
            "valeur": [12.5],
            "ic_bas": [10.0],
            "ic_haut": [15.0],
            "poids_couvert": [couvert],
            "poids_total": [total],
            "nb_communes_couvertes": [nb_couvertes],
            "nb_communes": [nb],
        }
    )
    attendu = pl.DataFrame(
        {
            "indicateur": ["x"],
            "valeur": [12.5 if publiee else None],
            "ic_bas": [10.0 if publiee else None],
            "ic_haut": [15.0 if publiee else None],
            "part_population_couverte": [part],
            "couverture": [publiee],
        },
        schema_overrides={c: pl.Float64 for c in ("valeur", "ic_bas", "ic_haut")},
    )
    got = applique_regle_couverture(ligne)
    assert_frame_equal(got.select(attendu.columns), attendu, rel_tol=1e-12)
    assert PART_COUVERTE_MIN == 0.99


def test_a_model_without_its_weights_is_refused() -> None:
    with pytest.raises(ValueError, match="coverage weights"):
        applique_regle_couverture(pl.DataFrame({"valeur": [1.0]}))
