import polars as pl
from polars.testing import assert_series_equal

from observatory.transforms.names import normalise_nom

NAMES = [
    ("Angoulême", "ANGOULEME"),
    ("ANGOULÊME", "ANGOULEME"),
    ("Angoulême Cedex 9", "ANGOULEME"),
    ("St-Yrieix-sur-Charente", "SAINT YRIEIX SUR CHARENTE"),
    ("Ste Sévère", "SAINTE SEVERE"),
    ("L'Isle-d’Espagnac", "L ISLE D ESPAGNAC"),
    ("LA ROCHEFOUCAULD-EN-ANGOUMOIS", "LA ROCHEFOUCAULD EN ANGOUMOIS"),
    ("Œuilly", "OEUILLY"),
    ("  Cognac  ", "COGNAC"),
    ("MARSEILLE 11", "MARSEILLE"),
    ("Paris 15e Arrondissement", "PARIS"),
    ("Lyon 1er", "LYON"),
    ("Lyons-la-Forêt", "LYONS LA FORET"),
]


def test_normalise_nom_table() -> None:
    raw = pl.Series("nom", [n[0] for n in NAMES])
    expected = pl.Series("nom", [n[1] for n in NAMES])
    assert_series_equal(pl.select(normalise_nom(pl.lit(raw))).to_series(), expected)
