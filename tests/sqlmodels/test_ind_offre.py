"""The real `ind_offre` model on a small, realistic territory: two départements, one covered."""

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from observatory.settings import PROJECT_ROOT
from observatory.sqlmodels.loader import parse_model
from observatory.sqlmodels.runner import SqlRunError, run_model
from observatory.transforms.territories import build_appartenances

MODEL = parse_model(PROJECT_ROOT / "dbt_like_sql/indicators/ind_offre.sql")

TERRITOIRES = pl.DataFrame(
    [
        ("commune", "16015", 41711, "200071827", "16", "75"),
        ("commune", "16089", 3339, "200070514", "16", "75"),
        ("commune", "16102", 18570, "200070514", "16", "75"),
        ("commune", "17300", 79961, "241700434", "17", "75"),
    ],
    schema=["niveau", "code", "population", "code_epci", "code_departement", "code_region"],
    orient="row",
)
COUVERTURE = pl.DataFrame(
    {
        "source": ["mednum__lieux"] * 4,
        "code_commune": ["16015", "16089", "16102", "17300"],
        "couvert": [True, True, True, False],
        "annee": pl.Series([2025] * 4, dtype=pl.Int32),
    }
)
LIEUX = pl.DataFrame(
    {"id": ["a", "b", "c", "d"], "code_commune": ["16015", "16015", "16102", "17300"]}
)


def run() -> pl.DataFrame:
    inputs = {
        "int__territoires": TERRITOIRES,
        "int__appartenances": build_appartenances(TERRITOIRES),
        "int__couverture_sources": COUVERTURE,
        "int__lieux": LIEUX,
    }
    return run_model(MODEL, inputs).sort("indicateur", "niveau", "code")


def test_nb_lieux_at_every_level() -> None:
    out = run().filter(pl.col("indicateur") == "nb_lieux")
    expected = pl.DataFrame(
        [
            ("commune", "16015", 2.0, True),
            ("commune", "16089", 0.0, True),
            ("commune", "16102", 1.0, True),
            ("commune", "17300", None, False),
            ("departement", "16", 3.0, True),
            ("departement", "17", None, False),
            ("epci", "200070514", 1.0, True),
            ("epci", "200071827", 2.0, True),
            ("epci", "241700434", None, False),
            ("france", "FR", None, False),
            ("region", "75", None, False),
        ],
        schema={
            "niveau": pl.String,
            "code": pl.String,
            "valeur": pl.Float64,
            "couverture": pl.Boolean,
        },
        orient="row",
    ).sort("niveau", "code")
    assert_frame_equal(out.select("niveau", "code", "valeur", "couverture"), expected)
    assert out["annee"].unique().to_list() == [2025]
    assert not out["secret"].any()


def test_lieux_pour_10k_hab_is_computed_from_counts() -> None:
    out = run().filter(pl.col("indicateur") == "lieux_pour_10k_hab")
    values = dict(zip(out["code"], out["valeur"], strict=True))
    assert values["16"] == pytest.approx(3 * 10000 / (41711 + 3339 + 18570))
    assert values["200070514"] == pytest.approx(1 * 10000 / (3339 + 18570))
    assert values["17"] is None and values["FR"] is None


def test_missing_input_names_the_file() -> None:
    with pytest.raises(SqlRunError, match=r"ind_offre\.sql: inputs missing"):
        run_model(MODEL, {"int__lieux": LIEUX})
