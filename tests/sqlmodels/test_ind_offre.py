"""The real supply models (`int__offre_communes`, then `ind_offre`) on a small, realistic
territory: two départements, one covered by the registry; then the coverage rule."""

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from observatory.settings import PROJECT_ROOT
from observatory.sqlmodels.loader import parse_model
from observatory.sqlmodels.runner import SqlRunError, run_model
from observatory.transforms.couverture import applique_regle_couverture
from observatory.transforms.france_services import COLONNES_SITES
from observatory.transforms.territories import build_appartenances

COMMUNES = parse_model(PROJECT_ROOT / "dbt_like_sql/intermediate/int__offre_communes.sql")
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
SOURCES = ("mednum__lieux", "france_services__lieux", "conseillers_numeriques__lieux")
COUVERTURE = pl.DataFrame(
    {
        "source": [s for s in SOURCES for _ in range(4)],
        "code_commune": ["16015", "16089", "16102", "17300"] * len(SOURCES),
        "couvert": [True, True, True, False] * len(SOURCES),
        "annee": pl.Series([2025] * 4 * len(SOURCES), dtype=pl.Int32),
    }
)
LIEUX = pl.DataFrame(
    {
        "id": ["a", "b", "c", "d"],
        "code_commune": ["16015", "16015", "16102", "17300"],
        "services": [None, None, None, None],
        "dispositif_programmes_nationaux": [None, None, None, None],
        "itinerance": [None, None, None, None],
        "nb_conseillers": pl.Series([None, None, None, None], dtype=pl.Int64),
    },
    schema_overrides={
        c: pl.String for c in ("services", "dispositif_programmes_nationaux", "itinerance")
    },
)
# no France Services vintage: the sites table of the pipeline, empty
MILLESIMES = pl.DataFrame(
    schema={c: pl.Int32 if c == "annee" else pl.String for c in COLONNES_SITES}
)


def inputs() -> dict[str, pl.DataFrame]:
    entrees = {
        "int__territoires": TERRITOIRES,
        "int__appartenances": build_appartenances(TERRITOIRES),
        "int__couverture_sources": COUVERTURE,
        "int__lieux": LIEUX,
        "int__france_services_millesimes": MILLESIMES,
    }
    entrees["int__offre_communes"] = run_model(COMMUNES, entrees)
    return entrees


def run() -> pl.DataFrame:
    return applique_regle_couverture(run_model(MODEL, inputs())).sort(
        "indicateur", "niveau", "code"
    )


def test_streaming_engine_gives_exactly_the_in_memory_result() -> None:
    """The model asks the streaming engine (its join is aggregated in batches): exact, because
    its aggregates are integer sums, counts and a MAX. Same rows, same bits as in memory."""
    assert MODEL.moteur == "streaming"
    cle = ["niveau", "code", "indicateur", "annee"]
    flux = run_model(MODEL, inputs()).sort(cle)
    memoire = run_model(MODEL, inputs(), moteur="in-memory").sort(cle)
    assert set(flux["niveau"]) == {"commune", "epci", "departement", "region", "france"}
    assert_frame_equal(flux, memoire, check_exact=True)


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
