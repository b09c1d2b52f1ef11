"""Reading values as partners write them: numbers, periods, codes, swapped coordinates."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal, assert_series_equal

from observatory.partners.combining import combine_reads, empty_kept
from observatory.partners.mappings import load_mappings, parse_mapping
from observatory.partners.reading import read_partner
from observatory.partners.sniffing import PartnerFileError
from observatory.partners.values import nombre, periode
from observatory.settings import PROJECT_ROOT


@pytest.mark.parametrize(
    ("decimale", "values", "expected"),
    [
        (
            ",",
            ["44,93", "24 150,5", "1.234,5", "1\u202f001", "12", "-0,5", "x", None, "1e400"],
            [44.93, 24150.5, 1234.5, 1001.0, 12.0, -0.5, None, None, None],
        ),
        (
            ".",
            ["44.93", "1,234.5", "1,234", "44,5", "1'000"],
            [44.93, 1234.5, 1234.0, 44.5, 1000.0],
        ),
    ],
)
def test_nombre(decimale: str, values: list, expected: list) -> None:
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    result = frame.select(nombre(pl.col("v"), decimale))
    assert_series_equal(result["v"], pl.Series("v", expected, pl.Float64))


@pytest.mark.parametrize(
    ("value", "debut", "fin"),
    [
        ("2024", date(2024, 1, 1), date(2024, 12, 31)),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
        ("02/2024", date(2024, 2, 1), date(2024, 2, 29)),
        ("T4 2023", date(2023, 10, 1), date(2023, 12, 31)),
        ("2023-T2", date(2023, 4, 1), date(2023, 6, 30)),
        ("2023 t3", date(2023, 7, 1), date(2023, 9, 30)),
        # a month a spreadsheet turned into a date, or the date's serial number
        ("2024-03-01", date(2024, 3, 1), date(2024, 3, 31)),
        ("2024-03-01 00:00:00", date(2024, 3, 1), date(2024, 3, 31)),
        ("01/03/2024", date(2024, 3, 1), date(2024, 3, 31)),
        ("45352", date(2024, 3, 1), date(2024, 3, 31)),
        ("45352.0", date(2024, 3, 1), date(2024, 3, 31)),
        ("12345", None, None),  # 1933: no serial a partner writes
        ("2024-13", None, None),
        ("T5 2024", None, None),
        ("janvier", None, None),
    ],
)
def test_periode(value: str, debut: date | None, fin: date | None) -> None:
    d, f = periode(pl.lit(value))
    assert pl.select(d.alias("d"), f.alias("f")).row(0) == (debut, fin)


MAPPING = parse_mapping(
    {
        "partenaire": "test_lieux",
        "type_fichier": "lieux",
        "colonnes": {
            "id": {"source": "id", "si_absent": "numero_ligne"},
            "nom": {"source": "nom", "obligatoire": True},
            "commune": {"source": "commune", "obligatoire": True},
            "code_postal": {"source": "cp", "type": "code_postal"},
            "code_insee": {"source": "insee", "type": "code_territoire", "niveau": "commune"},
            "adresse": {"source": "adresse", "obligatoire": True},
            "latitude": {"source": "lat", "type": "latitude"},
            "longitude": {"source": "lon", "type": "longitude"},
            "date_maj": {"source": "maj", "type": "date", "formats_date": ["%d/%m/%Y"]},
        },
    }
)


def test_lieux_row_repairs(standard) -> None:
    """Numeric INSEE and postal codes padded, swapped coordinates swapped back (overseas too),
    a missing id generated, dates converted; all through `stage_lieux`."""
    csv = (
        "id;nom;commune;cp;insee;adresse;lat;lon;maj\n"
        ";Médiathèque;Bourg;1000;1053;1 rue A;46,2;5,22;02/03/2024\n"
        "b;Espace;Saint-Denis;97400;97411;2 rue B;55,45;-20,88;2024-03-02\n"
        "c;Tiers-lieu;Ajaccio;20000;2A004;3 rue C;41,92;8,73;01/01/1970\n"
    )
    read = read_partner(csv.encode(), "t.csv", MAPPING, standard=standard)
    expected = pl.DataFrame(
        {
            "id": ["ligne-1", "b", "c"],
            "code_postal": ["01000", "97400", "20000"],
            "code_insee": ["01053", "97411", "2A004"],
            "latitude": [46.2, -20.88, 41.92],
            "longitude": [5.22, 55.45, 8.73],
            "date_maj": [date(2024, 3, 2), date(2024, 3, 2), None],
        }
    )
    assert_frame_equal(read.kept.select(expected.columns), expected)
    assert read.quarantine.filter(pl.col("colonne") != "pivot").select(
        "ligne", "code_raison", "action"
    ).sort("ligne").rows() == [
        (2, "latitude_longitude_inversees", "valeur_corrigee"),
        (3, "date_epoch_1970", "valeur_ecartee"),
    ]


def test_only_partner_file_errors_escape() -> None:
    mapping = load_mappings(PROJECT_ROOT / "schemas/partners")["exemple_pass_numerique"]
    for content in (b"\x00\x01\x02", b"{", b"[1, 2]", b"PK\x03\x04garbage", b"<html>", b"\xff" * 9):
        with pytest.raises(PartnerFileError):
            read_partner(content, "x.csv", mapping)


def test_newer_activity_file_replaces_rows_of_an_older_one() -> None:
    mapping = load_mappings(PROJECT_ROOT / "schemas/partners")["exemple_pass_numerique"]
    head = "siren_epci;periode;nb_pass_emis;nb_pass_utilises\n"
    old = read_partner(
        (head + "200070803;2023;10;5\n243300316;2023;4;1\n").encode(), "a.csv", mapping
    )
    new = read_partner((head + "200070803;2023;12;6\n").encode(), "b.csv", mapping)
    kept, quarantine, rows_in = combine_reads([old, new], mapping)
    assert rows_in == 3 and kept.height == 2
    assert kept.select("fichier_origine", "code", "nb_pass_emis").sort("code").rows() == [
        ("b.csv", "200070803", 12),
        ("a.csv", "243300316", 4),
    ]
    assert quarantine.select("fichier", "ligne", "code_raison").rows() == [
        ("a.csv", 1, "remplace_par_fichier_plus_recent")
    ]


def test_a_later_list_of_places_with_no_row_kept_replaces_nothing(standard) -> None:
    """A list of places is a snapshot: the latest one replaces the earlier. But an export
    broken on every row (here every point at 0,0: outside France) keeps nothing, and must not
    take the partner's places off the release: the previous list stays, its rows are not
    reported replaced, the broken file's rows are reported rejected."""
    mapping = load_mappings(PROJECT_ROOT / "schemas/partners")["departement_gironde"]
    texte = (PROJECT_ROOT / "tests/fixtures/partners/defects/lieux_dates_1970.csv").read_text()
    casse = texte.replace("44,93815;-0,235791", "0;0").replace("44,8954283;-0,5077425", "0;0")
    bon = replace(read_partner(texte.encode(), "bon.csv", mapping, standard=standard), lot="1")
    mauvais = read_partner(casse.encode(), "casse.csv", mapping, standard=standard)
    mauvais = replace(mauvais, lot="2")
    assert bon.kept.height == 3 and mauvais.kept.height == 0
    kept, quarantine, rows_in = combine_reads([bon, mauvais], mapping, standard)
    assert kept["fichier_origine"].unique().to_list() == ["bon.csv"] and kept.height == 3
    assert rows_in == 6
    assert quarantine.filter(pl.col("code_raison") == "remplace_par_fichier_plus_recent").is_empty()
    rejets = quarantine.filter(pl.col("action") == "rejet")
    assert rejets["fichier"].unique().to_list() == ["casse.csv"] and rejets.height == 3
    # a later list with a place kept replaces the earlier one, as before
    nouveau = replace(
        read_partner(texte.encode(), "nouveau.csv", mapping, standard=standard), lot="3"
    )
    kept, quarantine, _ = combine_reads([bon, mauvais, nouveau], mapping, standard)
    assert kept["fichier_origine"].unique().to_list() == ["nouveau.csv"]
    remplaces = quarantine.filter(pl.col("code_raison") == "remplace_par_fichier_plus_recent")
    assert remplaces["fichier"].unique().to_list() == ["bon.csv"]


@pytest.mark.parametrize(
    ("partner", "fixture"),
    [
        ("exemple_diagnostics_autonomie", "diag_bom.csv"),
        ("departement_gironde", "lieux_dates_1970.csv"),
    ],
)
def test_partner_without_file_has_the_schema_of_a_read_one(partner, fixture, standard) -> None:
    mapping = load_mappings(PROJECT_ROOT / "schemas/partners")[partner]
    content = (PROJECT_ROOT / "tests/fixtures/partners/defects" / fixture).read_bytes()
    read = read_partner(content, fixture, mapping, standard=standard)
    kept, quarantine, rows_in = combine_reads([], mapping, standard)
    assert (kept.schema, kept.height, quarantine.height, rows_in) == (read.kept.schema, 0, 0, 0)
    assert empty_kept(mapping, standard).schema == read.kept.schema
