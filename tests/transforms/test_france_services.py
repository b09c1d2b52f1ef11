"""The real 2020 France Services list (cget-carto export) read as the 2022 list (real_data)."""

import polars as pl
import pytest

from observatory.transforms.france_services import parse_france_services_2020
from tests.conftest import ASSETS, read_numbered

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def parsed() -> tuple[pl.DataFrame, pl.DataFrame]:
    raw = read_numbered(
        ASSETS / "france_services/france_services_cget_carto_2020.csv",
        "france_services__lieux_2020",
    )
    return parse_france_services_2020(raw)


def test_every_site_is_kept_in_standard_v1(parsed) -> None:
    lieux, ecarts = parsed
    assert lieux.height == 580
    # only values are set aside (unreadable opening hours, invalid phones), never a site
    assert set(ecarts["action"]) == {"valeur_ecartee"}
    assert lieux["itinerance"].value_counts().sort("itinerance").rows() == [
        ("Fixe", 547),
        ("Itinérant", 33),
    ]
    assert (lieux["code_insee"].str.len_chars() == 5).all()
    assert set(lieux["dispositif_programmes_nationaux"]) == {"France Services"}
    valserhone = lieux.filter(pl.col("id") == "1").row(0, named=True)
    assert (valserhone["nom"], valserhone["code_insee"]) == ("Valserhône", "01033")
    assert valserhone["horaires"].startswith("Mo 09:00-12:00,13:30-17:00")


def test_a_file_in_another_layout_is_refused_by_name() -> None:
    raw = pl.DataFrame({"id_fs": ["1"], "lib_fs": ["x"]})
    with pytest.raises(ValueError, match="France Services 2020: colonnes absentes"):
        parse_france_services_2020(raw)
