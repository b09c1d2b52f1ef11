"""Lieux staging and commune resolution on the real Charente file (real_data), plus the
defects partner files really have, injected into copies of real rows."""

import math
from datetime import date

import polars as pl
import pytest

from observatory.sources.mednum import Standard
from observatory.transforms.lieux import resolve_communes, stage_lieux
from observatory.validation.quarantine import account


@pytest.fixture(scope="module")
def staged(charente_raw: pl.DataFrame, standard: Standard) -> tuple[pl.DataFrame, pl.DataFrame]:
    return stage_lieux(charente_raw, standard)


@pytest.fixture(scope="module")
def resolved(staged, communes, communes_deleguees, coordonnees):
    kept, _ = staged
    return resolve_communes(kept, communes, communes_deleguees, coordonnees)


@pytest.mark.real_data
def test_stage_maps_v0_columns(staged, standard: Standard) -> None:
    kept, _quarantine = staged
    assert kept.height == 188
    assert kept.columns[4:] == [*standard.columns, "date_maj_estimee"]
    for v0 in ("labels_nationaux", "publics_accueillis", "courriel", "accessibilite"):
        assert v0 not in kept.columns
    first = kept.row(0, named=True)  # "Médiathèque chateaubernard", labels "CNFS;France Services"
    assert first["dispositif_programmes_nationaux"] == "Conseillers numériques|France Services"
    assert first["fiche_acces_libre"].startswith("https://acceslibre.beta.gouv.fr/")
    cocowork = kept.filter(pl.col("nom") == "CoCowork").row(0, named=True)
    # v0 "Adultes;Jeunes (16-26 ans)": v1 lists only publics specifically addressed.
    assert cocowork["publics_specifiquement_adresses"] == "Jeunes"
    france_services = kept.filter(pl.col("id").str.contains("france-services-2158"))
    assert france_services["courriels"].item() == "franceservices@chasseneuil.fr"
    assert france_services["publics_specifiquement_adresses"].item() == (
        "Familles et/ou enfants|Jeunes|Seniors"
    )
    assert kept.schema["latitude"] == pl.Float64 and kept.schema["date_maj"] == pl.Date


@pytest.mark.real_data
def test_stage_epoch_date_is_set_aside_not_the_place(staged) -> None:
    kept, quarantine = staged
    assert quarantine.select(
        "ligne", "colonne", "code_raison", "valeur_brute", "action"
    ).rows() == [(56, "date_maj", "date_epoch_1970", "1970-01-01", "valeur_ecartee")]
    assert kept.filter(pl.col("ligne") == 56)["date_maj"].item() is None


@pytest.mark.real_data
def test_epoch_date_is_replaced_by_export_date_when_known(charente_raw, standard) -> None:
    kept, quarantine = stage_lieux(charente_raw, standard, date(2025, 2, 6))
    assert kept.height == 188
    epoch = kept.filter(pl.col("ligne") == 56).row(0, named=True)
    assert (epoch["date_maj"], epoch["date_maj_estimee"]) == (date(2025, 2, 6), True)
    assert kept["date_maj_estimee"].sum() == 1 and kept["date_maj"].null_count() == 0
    assert quarantine.select("ligne", "code_raison", "action").rows() == [
        (56, "date_epoch_1970", "valeur_corrigee")
    ]


@pytest.mark.real_data
def test_resolution_of_real_charente_rows(staged, resolved) -> None:
    kept, quarantine = resolved
    assert kept.height / 188 >= 0.95
    methods = dict(kept.group_by("methode_code_commune").len().iter_rows())
    assert methods["fourni"] == 11  # the 11 rows that carry a code_insee keep it
    assert methods["code_postal_nom"] > 150
    assert kept["code_commune"].str.starts_with("16").all()
    rejected = quarantine.filter(pl.col("action") == "rejet").sort("ligne")
    assert rejected.select("ligne", "code_raison").rows() == [
        # CoCowork, "COGNAC 16100", placed 52 km away near Angoulême
        (145, "distance_commune_superieure_20km"),
        # former communes merged into Bellevigne and Coteaux-du-Blanzacais (rebasing: issue 3)
        (182, "commune_non_resolue"),
        (187, "commune_non_resolue"),
    ]
    assert account(188, kept, quarantine)["lignes_rejetees"] == 3


@pytest.mark.real_data
def test_known_resolutions(resolved) -> None:
    kept, _ = resolved
    by_line = {r["ligne"]: r for r in kept.iter_rows(named=True)}
    # "Angoulême 16024": a CEDEX postal code, resolved by département + name.
    cedex = kept.filter(pl.col("code_postal") == "16024").row(0, named=True)
    assert cedex["code_commune"] == "16015"
    assert by_line[1]["code_commune"] == "16089"  # CHÂTEAUBERNARD 16100


@pytest.mark.real_data
def test_distances_agree_with_haversine(resolved, coordonnees) -> None:
    kept, _ = resolved
    points = dict(
        zip(
            coordonnees["code_commune"],
            zip(coordonnees["latitude"], coordonnees["longitude"], strict=True),
            strict=True,
        )
    )

    def haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
        p1, p2 = math.radians(lat1), math.radians(lat2)
        dp, dl = math.radians(lat2 - lat1), math.radians(lon2 - lon1)
        a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        return 2 * 6371.0088 * math.asin(math.sqrt(a))

    for row in kept.iter_rows(named=True):
        expected = haversine(row["latitude"], row["longitude"], *points[row["code_commune"]])
        assert row["distance_commune_km"] == pytest.approx(expected, abs=1e-3)
        assert row["distance_commune_km"] <= 20


# (column, injected value, expected reason, expected action, column checked after staging)
DEFECTS = [
    ("nom", None, "obligatoire_manquant", "rejet"),
    ("adresse", "   ", "obligatoire_manquant", "rejet"),
    ("code_postal", "ABCDE", "code_postal_invalide", "rejet"),
    ("latitude", "0.331217", "hors_france", "rejet"),  # lat/lon swapped
    ("latitude", "45,681367", None, None),  # decimal comma: read, not a defect
    ("code_postal", "16 100", None, None),  # space in a postal code: normalised
    ("longitude", None, "coordonnee_incomplete", "valeur_ecartee"),
    ("latitude", "quarante-cinq", "coordonnee_invalide", "valeur_ecartee"),
    ("date_maj", "22/02/2023", "date_invalide", "valeur_ecartee"),
    ("code_insee", "16097.0", None, None),  # a float from a spreadsheet
    ("code_insee", "2O004", "code_insee_invalide", "valeur_ecartee"),
    (
        "services",
        "Maîtrise des outils numériques du quotidien|Prise en main d'un ordinateur",
        "hors_vocabulaire_v1",
        "valeur_ecartee",
    ),
    ("labels_nationaux", "CNFS;Label inventé", "valeur_v0_sans_equivalent_v1", "valeur_ecartee"),
]


@pytest.mark.real_data
@pytest.mark.parametrize(("column", "value", "reason", "action"), DEFECTS)
def test_defects_on_a_real_row(charente_raw, standard, column, value, reason, action) -> None:
    row = charente_raw.head(1).with_columns(pl.lit(value, pl.String).alias(column))
    kept, quarantine = stage_lieux(row, standard)
    if reason is None:
        assert quarantine.height == 0
        assert kept.height == 1
        return
    entry = quarantine.row(0, named=True)
    assert (entry["code_raison"], entry["action"], entry["ligne"]) == (reason, action, 1)
    assert entry["fichier"] == charente_raw["fichier_origine"][0]
    assert kept.height == (0 if action == "rejet" else 1)


@pytest.mark.real_data
def test_normalised_values_on_a_real_row(charente_raw, standard) -> None:
    row = charente_raw.head(1).with_columns(
        pl.lit("45,681367").alias("latitude"),
        pl.lit("16097.0").alias("code_insee"),
        pl.lit("16 100").alias("code_postal"),
        pl.lit("Maîtrise des outils numériques du quotidien|Prise en main").alias("services"),
    )
    kept, _ = stage_lieux(row, standard)
    out = kept.row(0, named=True)
    assert (out["latitude"], out["code_insee"], out["code_postal"], out["services"]) == (
        45.681367,
        "16097",
        "16100",
        "Maîtrise des outils numériques du quotidien",
    )


@pytest.mark.real_data
def test_duplicate_ids_keep_the_first(charente_raw, standard) -> None:
    rows = pl.concat(
        [
            charente_raw.head(2),
            charente_raw.head(1).with_columns(pl.lit(3, pl.Int64).alias("ligne")),
        ]
    )
    kept, quarantine = stage_lieux(rows, standard)
    assert kept["ligne"].to_list() == [1, 2]
    assert quarantine.select("ligne", "code_raison").rows() == [(3, "id_duplique")]


@pytest.mark.real_data
def test_unknown_code_insee_falls_back_to_name(
    charente_raw, standard, communes, communes_deleguees, coordonnees
) -> None:
    row = charente_raw.head(1).with_columns(pl.lit("16999").alias("code_insee"))
    kept, _ = stage_lieux(row, standard)
    resolved, quarantine = resolve_communes(kept, communes, communes_deleguees, coordonnees)
    assert resolved.select("code_commune", "methode_code_commune").row(0) == (
        "16089",
        "code_postal_nom",
    )
    assert quarantine.select("code_raison", "action").row(0) == (
        "code_insee_inconnu_du_cog",
        "valeur_ecartee",
    )


@pytest.mark.real_data
def test_former_commune_names_resolve_merged_communes(
    staged, communes, communes_deleguees, coordonnees
) -> None:
    from observatory.transforms.rebasing import former_commune_names
    from tests.conftest import ASSETS

    mouvements = pl.read_parquet(
        ASSETS / "insee_cog_mouvements/mvt_communes_insee_cog2025_national.parquet"
    )
    kept, _ = staged
    resolved, quarantine = resolve_communes(
        kept,
        communes,
        communes_deleguees,
        coordonnees,
        anciens_noms=former_commune_names(mouvements, communes),
    )
    by_line = {r["ligne"]: r for r in resolved.iter_rows(named=True)}
    # MALAVILLE 16120 is now Bellevigne, BLANZAC PORCHERESSE 16250 Coteaux-du-Blanzacais
    assert (by_line[182]["code_commune"], by_line[182]["methode_code_commune"]) == (
        "16204",
        "ancienne_commune",
    )
    assert (by_line[187]["code_commune"], by_line[187]["methode_code_commune"]) == (
        "16046",
        "ancienne_commune",
    )
    assert quarantine.filter(pl.col("action") == "rejet")["ligne"].to_list() == [145]
