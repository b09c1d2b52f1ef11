import polars as pl
import pytest

from observatory.transforms.cog import stage_communes
from observatory.validation.quarantine import account, number_rows
from tests.conftest import ASSETS, read_numbered


@pytest.mark.real_data
def test_stage_communes_scope_and_accounting() -> None:
    raw = read_numbered(ASSETS / "cog_2026/communes.csv")
    kept, quarantine = stage_communes(raw)
    assert kept.height == 34875
    assert kept["code_commune"].is_unique().all()
    assert set(kept["zone"].unique()) == {"metro", "drom"}
    assert dict(kept.group_by("zone").len().iter_rows()) == {"metro": 34746, "drom": 129}
    # Overseas collectivities are set aside with a reason, not dropped silently.
    assert quarantine["code_raison"].unique().to_list() == ["hors_perimetre"]
    assert quarantine.height == 94
    counts = account(raw.height, kept, quarantine)
    assert counts == {
        "lignes_entree": 34969,
        "lignes_gardees": 34875,
        "lignes_rejetees": 94,
        "rejet:hors_perimetre": 94,
    }
    assert kept.filter(pl.col("code_commune") == "2A004")["nom"].item() == "Ajaccio"
    assert kept.schema["population"] == pl.Int64


def test_stage_communes_rejects_bad_rows_with_reason() -> None:
    raw = number_rows(
        pl.DataFrame(
            {
                "code_insee": ["16015", "16O15", "16015", "17300"],
                "nom": ["Angoulême", "Angoulême", "Angoulême", "La Rochelle"],
                "zone": ["metro"] * 4,
                "code_departement": ["16", "16", "16", "17"],
                "code_region": ["75"] * 4,
                "code_epci": ["200071827", "200071827", "200071827", ""],
                "population": ["41711", "41711", "41711", "n/a"],
                "codes_postaux": ["16000"] * 4,
                "anciens_codes": pl.Series([None] * 4, dtype=pl.String),
            }
        ),
        "cog__communes",
        "communes.csv",
        "x",
    )
    kept, quarantine = stage_communes(raw)
    assert kept["code_commune"].to_list() == ["16015"]
    assert quarantine.select("ligne", "colonne", "code_raison").sort("ligne").rows() == [
        (2, "code_insee", "code_commune_invalide"),
        (3, "code_insee", "code_duplique"),
        (4, "population", "population_invalide"),
    ]
