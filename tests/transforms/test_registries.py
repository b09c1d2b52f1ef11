"""Registries of places → standard v1, on the real files bundled in assets/ (real_data), plus
table-driven cases of the value conversions (opening hours, phone numbers, v0 vocabularies).

Run with `pytest -s` to see the v0 → v1 agreement with ANCT's migration and every mismatch."""

import json
import re
from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from observatory.settings import PROJECT_ROOT
from observatory.sources.mednum import SCHEMA_FILE, Standard
from observatory.transforms.lieux import resolve_communes, stage_lieux
from observatory.transforms.registries import (
    COLONNES_V1,
    JOURS_FRANCE_SERVICES,
    horaires_osm,
    map_v0_to_v1,
    parse_conseillers_numeriques,
    parse_france_services,
    telephone_international,
)
from observatory.validation.quarantine import IDENTITE_LIGNE, account, number_rows
from tests.conftest import ASSETS, CHARENTE, read_numbered, report

CHARENTE_V0 = ASSETS / "mednum_lieux/charente_16_standard_v0_export20230711.csv"
BUS = ASSETS / "mednum_lieux/bus_france_services_charente_16_standard_v0_20231003.csv"
FRANCE_SERVICES = ASSETS / "france_services/liste_france_services_20221201.csv"
CNFS = ASSETS / "conseillers_numeriques/lieux_cnfs_20221202_national.parquet"
ACCORD_MIN = 0.95
TELEPHONE_V1 = re.compile(
    next(
        f["constraints"]["pattern"]
        for f in json.loads((PROJECT_ROOT / "schemas" / SCHEMA_FILE).read_text())["fields"]
        if f["name"] == "telephone"
    )
)


def _tokens(value: str | None) -> frozenset[str]:
    return frozenset(value.split("|")) if value else frozenset()


def _vocabulary_tokens(frame: pl.DataFrame, column: str) -> set[str]:
    return set(frame[column].drop_nulls().str.split("|").explode(empty_as_null=True).to_list())


def _assert_v1_shape(lieux: pl.DataFrame) -> None:
    assert lieux.columns[: len(IDENTITE_LIGNE)] == list(IDENTITE_LIGNE)
    assert lieux.columns[len(IDENTITE_LIGNE) : len(IDENTITE_LIGNE) + len(COLONNES_V1)] == list(
        COLONNES_V1
    )


def test_columns_are_the_standards(standard: Standard) -> None:
    assert standard.columns == COLONNES_V1


# --- Charente: our v0 → v1 against ANCT's own migration of the same 188 lieux ---------------


@pytest.fixture(scope="module")
def charente_v1_ours() -> tuple[pl.DataFrame, pl.DataFrame]:
    return map_v0_to_v1(read_numbered(CHARENTE_V0, "mednum__lieux_v0"))


@pytest.mark.real_data
def test_charente_v0_agrees_with_anct_migration(charente_v1_ours) -> None:
    ours, _ = charente_v1_ours
    _assert_v1_shape(ours)
    v0 = pl.read_csv(CHARENTE_V0, infer_schema=False)
    anct = pl.read_csv(ASSETS / "mednum_lieux" / CHARENTE, infer_schema=False)
    # v1 column → its v0 source
    compared = {
        "services": "services",
        "frais_a_charge": "conditions_acces",
        "modalites_accompagnement": "modalites_accompagnement",
    }
    paired = (
        v0.select("id", *(pl.col(c0).alias(f"{c1}_v0") for c1, c0 in compared.items()))
        .join(ours.select("id", *(pl.col(c).alias(f"{c}_nous") for c in compared)), on="id")
        .join(anct.select("id", *(pl.col(c).alias(f"{c}_anct") for c in compared)), on="id")
    )
    assert paired.height == v0.height == anct.height == 188  # every id paired, once

    rates = {}
    for column in compared:
        mismatches = [
            row
            for row in paired.select(
                "id", f"{column}_v0", f"{column}_nous", f"{column}_anct"
            ).rows()
            if _tokens(row[2]) != _tokens(row[3])  # compared as sets
        ]
        rates[column] = 1 - len(mismatches) / paired.height
        filled = paired.filter(
            pl.col(f"{column}_nous").is_not_null() | pl.col(f"{column}_anct").is_not_null()
        ).height
        report(
            f"\n{column}: agreement with ANCT {rates[column]:.1%} "
            f"({paired.height - len(mismatches)}/{paired.height}; "
            f"{filled - len(mismatches)}/{filled} where either side has a value), "
            f"{len(mismatches)} mismatches"
        )
        for row_id, v0_value, nous, anct_value in mismatches:
            report(f"  id={row_id}\n    v0:   {v0_value}\n    ours: {nous}\n    ANCT: {anct_value}")
    assert rates["services"] >= ACCORD_MIN
    assert rates["frais_a_charge"] >= ACCORD_MIN


@pytest.mark.real_data
def test_charente_v0_losses_are_reported_and_the_rest_stages(charente_v1_ours, standard) -> None:
    ours, ecarts = charente_v1_ours
    # "Adultes" has no v1 equivalent (v1 lists only publics *specifically* addressed).
    assert ecarts.select("colonne", "code_raison", "valeur_brute", "action").unique().rows() == [
        ("publics_accueillis", "valeur_v0_sans_equivalent_v1", "Adultes", "valeur_ecartee")
    ]
    assert ecarts.height == 22
    kept, quarantine = stage_lieux(ours, standard)
    assert kept.height == 188
    # Our vocabularies are v1's: nothing is set aside as out of vocabulary.
    assert quarantine.filter(pl.col("code_raison") == "hors_vocabulaire_v1").height == 0
    first = kept.row(0, named=True)  # "Médiathèque chateaubernard"
    assert first["dispositif_programmes_nationaux"] == "Conseillers numériques|France Services"
    assert first["modalites_accompagnement"] == "Accompagnement individuel"
    assert first["fiche_acces_libre"].startswith("https://acceslibre.beta.gouv.fr/")
    # The only v0 "Adhésion" (membership fee) is a cost in v1.
    assert kept.filter(pl.col("frais_a_charge") == "Payant")["nom"].to_list() == [
        "Tiers-Lieu La Parenthèse"
    ]


# --- The France Services bus of Charente (standard v0, itinerant) ---------------------------


@pytest.mark.real_data
def test_bus_stops_are_itinerant_and_the_misplaced_one_is_rejected(
    standard, communes, communes_deleguees, coordonnees
) -> None:
    raw = read_numbered(BUS, "mednum__bus_france_services")
    lieux, ecarts = map_v0_to_v1(raw, itinerance="Itinérant")
    _assert_v1_shape(lieux)
    assert lieux.height == 12
    assert lieux["itinerance"].to_list() == ["Itinérant"] * 12
    assert set(lieux["services"]) == {
        "Accès internet et matériel informatique|Insertion professionnelle via le numérique"
        "|Aide aux démarches administratives"
    }
    assert set(lieux["autres_formations_labels"]) == {"ZRR"}
    # APTIC (the Pass numérique label) has no v1 programme: reported on every stop.
    assert ecarts.group_by("colonne", "valeur_brute").len().rows() == [
        ("labels_nationaux", "APTIC", 12)
    ]

    staged, q_stage = stage_lieux(lieux, standard, date(2023, 10, 3))
    assert staged.height == 12  # the 1969-12-31 epoch dates are corrected, not rejected
    assert set(q_stage["code_raison"]) == {"date_epoch_1970"}
    kept, q_communes = resolve_communes(staged, communes, communes_deleguees, coordonnees)
    rejected = q_communes.filter(pl.col("action") == "rejet")
    # Stop 4, "Valence" 16460, geocoded at 43.45 N 5.41 E: near Marseille.
    assert rejected.select("ligne", "code_raison").rows() == [
        (4, "distance_commune_superieure_20km")
    ]
    assert "16392" in rejected["valeur_brute"].item()
    assert sorted(kept["ligne"]) == [n for n in range(1, 13) if n != 4]
    assert kept["distance_commune_km"].max() <= 20
    assert account(12, kept, pl.concat([q_stage, q_communes]))["lignes_rejetees"] == 1


# --- National list of France Services -------------------------------------------------------


@pytest.fixture(scope="module")
def france_services() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    raw = read_numbered(FRANCE_SERVICES, "france_services__lieux")
    lieux, ecarts = parse_france_services(raw)
    return raw, lieux, ecarts


@pytest.mark.real_data
def test_france_services_rows_ids_and_constants(france_services) -> None:
    raw, lieux, _ = france_services
    _assert_v1_shape(lieux)
    assert lieux.height == raw.height == 2683
    assert lieux["id"].is_unique().all() and lieux["id"].null_count() == 0
    assert lieux["id"].to_list() == raw["id_fs"].to_list()
    assert set(lieux["services"]) == {"Aide aux démarches administratives"}
    assert set(lieux["dispositif_programmes_nationaux"]) == {"France Services"}
    assert set(lieux["source"]) == {"france-services"}
    assert dict(lieux.group_by("itinerance").len().iter_rows()) == {"Itinérant": 288, "Fixe": 2395}
    row = lieux.row(0, named=True)
    assert (row["nom"], row["commune"], row["code_insee"], row["code_postal"]) == (
        "France services de Valserhône",
        "Valserhône",
        "01033",
        "01200",
    )


@pytest.mark.real_data
def test_france_services_stage_every_row_or_explain_it(france_services, standard) -> None:
    raw, lieux, ecarts = france_services
    kept, quarantine = stage_lieux(lieux, standard, date(2022, 12, 1))
    rejected = quarantine.filter(pl.col("action") == "rejet")
    no_address = raw.filter(
        pl.col("adresse").is_null() | pl.col("lib_com").is_null() | pl.col("code_postal").is_null()
    )
    saint_martin = raw.filter(pl.col("insee_dep") == "978")  # overseas collectivity: out of scope
    assert no_address.height == 26 and saint_martin.height == 2
    assert set(rejected["ligne"]) == set(no_address["ligne"]) | set(saint_martin["ligne"])
    assert set(
        rejected.filter(pl.col("ligne").is_in(no_address["ligne"].implode()))["code_raison"]
    ) == {"obligatoire_manquant"}
    assert set(
        rejected.filter(pl.col("ligne").is_in(saint_martin["ligne"].implode()))["code_raison"]
    ) == {"hors_france"}
    assert kept.height == 2683 - 28
    counts = account(raw.height, kept, pl.concat([quarantine, ecarts]))
    assert counts["lignes_rejetees"] == 28
    # Values set aside but rows kept: one "0null" INSEE code, 4 week-days that do not parse.
    assert counts["valeur_ecartee:code_insee_invalide"] == 1
    assert counts["valeur_ecartee:horaires_non_convertibles"] == 4
    assert kept.filter(pl.col("horaires").is_not_null()).height > 2500


# (value of h_lundi as found in the real list, OSM rule expected, day reported as unparsable)
HORAIRES = [
    ("09:00 - 12:00 / 13:30 - 17:00", "Mo 09:00-12:00,13:30-17:00", None),
    ("09:30 - 16:30", "Mo 09:30-16:30", None),
    ("09:00-12:00/13:30-17:00", "Mo 09:00-12:00,13:30-17:00", None),
    ("09:00-12:00 14:00-16:30", "Mo 09:00-12:00,14:00-16:30", None),
    ("08:30-12:00,13:30-17:30", "Mo 08:30-12:00,13:30-17:30", None),
    ("08:00-13:00/13 :30-17:00", "Mo 08:00-13:00,13:30-17:00", None),
    ("08 :30-12:00", "Mo 08:30-12:00", None),
    ("09:00-12h00", "Mo 09:00-12:00", None),
    ("09:30-12:30/\n\n 13:30-18:00", "Mo 09:30-12:30,13:30-18:00", None),
    ("09:00 - 12:30 / 13:30 - 16:30 / 13:30 - 16:30", "Mo 09:00-12:30,13:30-16:30", None),
    ("00:00 - 00:00 / 09:00 - 12:00", "Mo 09:00-12:00", None),
    ("00:00 - 00:00", None, None),  # a form's empty default: closed
    ("-", None, None),
    ("09:00-12:30-13:30-17:00", None, "Mo: 09:00-12:30-13:30-17:00"),
    ("09:00-13:00-/3:00-16:00", None, "Mo: 09:00-13:00-/3:00-16:00"),
    ("07:30:12:30", None, "Mo: 07:30:12:30"),
]


@pytest.mark.real_data
def test_horaires_conversion_of_real_values(france_services) -> None:
    raw, _, _ = france_services
    days = list(JOURS_FRANCE_SERVICES)
    real_values = set(raw.unpivot(on=days)["value"].drop_nulls())
    assert {value for value, _, _ in HORAIRES} <= real_values  # every case is a real value
    cases = pl.DataFrame(
        {"h_lundi": [v for v, _, _ in HORAIRES]},
        schema={"h_lundi": pl.String},
    ).with_columns(pl.lit(None, pl.String).alias(d) for d in days[1:])
    horaires, echecs = horaires_osm(JOURS_FRANCE_SERVICES)
    assert_frame_equal(
        cases.select(horaires.alias("horaires"), echecs.alias("echecs")),
        pl.DataFrame(
            {"horaires": [e for _, e, _ in HORAIRES], "echecs": [f for _, _, f in HORAIRES]},
            schema={"horaires": pl.String, "echecs": pl.String},
        ),
    )


@pytest.mark.real_data
def test_horaires_of_real_rows(france_services) -> None:
    raw, lieux, ecarts = france_services
    by_line = dict(zip(lieux["ligne"], lieux["horaires"], strict=True))
    assert by_line[1] == (
        "Mo 09:00-12:00,13:30-17:00; Tu 09:00-12:00,13:30-17:00; We 09:00-12:00,13:30-17:00; "
        "Th 09:00-12:00,13:30-17:00; Fr 09:00-12:00,13:30-16:00"
    )
    # One day that does not parse makes the whole week unknown, and is reported.
    assert by_line[2552] is None
    entry = ecarts.filter(pl.col("ligne") == 2552).row(0, named=True)
    assert (entry["colonne"], entry["code_raison"], entry["valeur_brute"]) == (
        "horaires",
        "horaires_non_convertibles",
        "Mo: 09:00-12:30-13:30-17:00",
    )
    # Null exactly where a day failed or where no day has an opening range.
    days = list(JOURS_FRANCE_SERVICES)
    no_range = raw.filter(
        pl.all_horizontal(
            pl.col(d).is_null() | pl.col(d).str.strip_chars().is_in(["-", "00:00 - 00:00"])
            for d in days
        )
    )
    failed = ecarts.filter(pl.col("code_raison") == "horaires_non_convertibles")
    assert (no_range.height, failed.height) == (123, 4)
    assert set(lieux.filter(pl.col("horaires").is_null())["ligne"]) == set(no_range["ligne"]) | set(
        failed["ligne"]
    )


@pytest.mark.real_data
def test_france_services_telephones(france_services) -> None:
    raw, lieux, ecarts = france_services
    assert lieux["telephone"].null_count() == raw["telephone"].null_count() == 54
    assert all(TELEPHONE_V1.match(t) for t in lieux["telephone"].drop_nulls())
    assert ecarts.filter(pl.col("colonne") == "telephone").height == 0
    assert (raw["telephone"][0], lieux["telephone"][0]) == ("04 50 56 87 49", "+33450568749")
    drom = raw.filter(pl.col("insee_dep").is_in(["971", "972", "973", "974", "976"])).select(
        "insee_dep", pl.col("telephone").str.slice(0, 5).alias("prefixe"), "ligne"
    )
    converted = drom.join(lieux.select("ligne", "telephone"), on="ligne")
    # DROM numbers take their own calling code (Mayotte shares La Réunion's).
    indicatifs = {"971": "+590", "972": "+596", "973": "+594", "974": "+262", "976": "+262"}
    for dep, tel in converted.drop_nulls("telephone").select("insee_dep", "telephone").rows():
        assert tel.startswith(indicatifs[dep]), (dep, tel)


TELEPHONES = [
    ("04 50 56 87 49", "+33450568749"),
    ("04.50.56.87.49", "+33450568749"),
    ("0033 4 50 56 87 49", "+33450568749"),
    ("450568749", "+33450568749"),  # a spreadsheet dropped the leading zero
    ("+33 6 30 39 25 18", "+33630392518"),
    ("05 90 25 44 78", "+590590254478"),
    ("06 93 12 34 56", "+262693123456"),
    ("02 69 61 00 00", "+262269610000"),
    ("05 08 41 00 00", "+508410000"),
    ("12", None),
    ("accueil", None),
    (None, None),
]


def test_telephone_international() -> None:
    frame = pl.DataFrame({"t": [t for t, _ in TELEPHONES]}, schema={"t": pl.String})
    assert_frame_equal(
        frame.select(telephone_international(pl.col("t"))),
        pl.DataFrame({"t": [e for _, e in TELEPHONES]}, schema={"t": pl.String}),
    )


# --- Conseillers numériques (v0 vocabulary) -------------------------------------------------


@pytest.mark.real_data
def test_conseillers_numeriques_to_v1(standard) -> None:
    raw = number_rows(
        pl.read_parquet(CNFS).cast(pl.String), "conseillers_numeriques__lieux", CNFS.name, "sha"
    )
    lieux, ecarts = parse_conseillers_numeriques(raw)
    _assert_v1_shape(lieux)
    assert lieux.columns[-1] == "nb_conseillers"
    assert lieux.height == raw.height == 4930
    for column in ("services", "frais_a_charge", "dispositif_programmes_nationaux"):
        assert _vocabulary_tokens(lieux, column) <= set(standard.enumerations[column]), column
    assert set(lieux["services"]) == {
        "Maîtrise des outils numériques du quotidien|Compréhension du monde numérique"
    }
    assert set(lieux["frais_a_charge"]) == {"Gratuit"}
    assert lieux["dispositif_programmes_nationaux"].str.contains("Conseillers numériques").all()
    assert lieux["dispositif_programmes_nationaux"].str.contains("Aidants Connect").sum() == 292
    assert lieux["nb_conseillers"].dtype == pl.Int64
    assert lieux["nb_conseillers"].to_list() == pl.read_parquet(CNFS)["nb_conseillers"].to_list()
    assert lieux["nb_conseillers"].sum() == 5262
    assert ecarts.height == 0
    kept, quarantine = stage_lieux(lieux, standard, date(2022, 12, 2))
    assert kept.height == 4930 and quarantine.height == 0


# --- v0 vocabularies on a real row (values injected) ----------------------------------------

# (v0 column, injected v0 value, v1 column, expected v1 value, value reported as without v1)
V0 = [
    ("services", "S’équiper en matériel informatique;Créer avec le numérique", "services",
     "Acquisition de matériel informatique à prix solidaire|Loisirs et créations numériques", None),
    ("services", "Promouvoir la citoyenneté numérique", "services",
     "Compréhension du monde numérique", None),
    ("conditions_acces", "Adhésion : L'accès au lieu et/ou à ses services nécessite d'y adhérer",
     "frais_a_charge", "Payant", None),
    ("conditions_acces", "Gratuit;Accepte le Pass numérique : Il est possible d'utiliser un "
     "Pass numérique pour accéder au lieu", "frais_a_charge", "Gratuit|Gratuit sous condition",
     None),
    ("modalites_accompagnement", "A ma place : une personne habilitée fait les démarches à ma "
     "place", "modalites_accompagnement", "Accompagnement individuel", None),
    ("labels_nationaux", "CNFS;Fabriques de Territoire", "formations_labels",
     "Fabriques de Territoire", None),
    ("labels_nationaux", "CNFS;Fabriques de Territoire", "dispositif_programmes_nationaux",
     "Conseillers numériques", None),
    ("labels_nationaux", "Point numérique CAF;APTIC;French Tech",
     "dispositif_programmes_nationaux", "Point d'accès numérique CAF", "APTIC;French Tech"),
    ("publics_accueillis", "Surdité;Public langues étrangères;Seniors (+ 65 ans)",
     "prise_en_charge_specifique", "Surdité|Langues étrangères (autres)", None),
    ("publics_accueillis", "Adultes;Handicaps psychiques : troubles psychiatriques donnant "
     "lieu à des atteintes comportementales", "publics_specifiquement_adresses", None,
     "Adultes;Handicaps psychiques : troubles psychiatriques donnant lieu à des atteintes "
     "comportementales"),
    # Unknown v0 values pass through: stage_lieux then sets them aside (hors_vocabulaire_v1).
    ("labels_nationaux", "CNFS;Label inventé", "dispositif_programmes_nationaux",
     "Conseillers numériques|Label inventé", None),
]  # fmt: skip


@pytest.mark.real_data
@pytest.mark.parametrize(("v0", "value", "v1", "expected", "reported"), V0)
def test_v0_values_on_a_real_row(v0, value, v1, expected, reported) -> None:
    row = read_numbered(CHARENTE_V0).head(1).with_columns(pl.lit(value, pl.String).alias(v0))
    lieux, ecarts = map_v0_to_v1(row)
    assert lieux[v1].item() == expected
    assert v0 not in lieux.columns or v0 == v1
    assert ecarts.filter(pl.col("colonne") == v0)["valeur_brute"].to_list() == (
        [reported] if reported else []
    )


@pytest.mark.real_data
def test_unknown_v0_value_is_set_aside_by_staging(standard) -> None:
    row = (
        read_numbered(CHARENTE_V0)
        .head(1)
        .with_columns(pl.lit("CNFS;Label inventé").alias("labels_nationaux"))
    )
    kept, quarantine = stage_lieux(map_v0_to_v1(row)[0], standard)
    assert kept["dispositif_programmes_nationaux"].item() == "Conseillers numériques"
    assert quarantine.select("colonne", "code_raison", "valeur_brute").rows() == [
        ("dispositif_programmes_nationaux", "hors_vocabulaire_v1", "Label inventé")
    ]


@pytest.mark.real_data
def test_partially_migrated_file_keeps_its_v1_values() -> None:
    """ANCT's migrated Charente file (v1 services, v0 labels) goes through unchanged in v1."""
    raw = read_numbered(ASSETS / "mednum_lieux" / CHARENTE)
    lieux, _ = map_v0_to_v1(raw)
    assert lieux["services"].to_list() == raw["services"].to_list()
    assert lieux["frais_a_charge"].to_list() == raw["frais_a_charge"].to_list()


def test_conseillers_numeriques_always_have_the_programme() -> None:
    raw = number_rows(
        pl.DataFrame(
            {
                "id": ["a", "b", "c"],
                "nom": ["A", "B", "C"],
                "labels_nationaux": [None, "France Services", "CNFS;Aidants Connect"],
                "nb_conseillers": ["1", "2", "3"],
            }
        ),
        "test",
        "test.csv",
        "sha",
    )
    lieux, _ = parse_conseillers_numeriques(raw)
    assert lieux["dispositif_programmes_nationaux"].to_list() == [
        "Conseillers numériques",
        "Conseillers numériques|France Services",
        "Conseillers numériques|Aidants Connect",
    ]
    assert lieux["nb_conseillers"].to_list() == [1, 2, 3]
