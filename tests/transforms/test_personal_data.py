"""Personal data removed before staging; generic contacts of structures kept."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from observatory.sources.readers import prenoms
from observatory.transforms.personal_data import (
    courriel_personnel,
    ecarter_donnees_personnelles,
    scan_personal_data,
)
from tests.conftest import report


def test_first_names_are_insee_s() -> None:
    noms = prenoms()
    assert len(noms) == 4957
    assert {"marie", "jean", "christine", "oceane", "jean-pierre"} <= noms
    assert "mairie" not in noms and "accueil" not in noms


@pytest.mark.parametrize(
    ("courriel", "personnel"),
    [
        ("christine.granet@udaf16.org", True),
        ("Christine.Granet@udaf16.org", True),
        ("granet.christine@udaf16.org", True),  # nom.prenom
        ("r.combaud@aigre.fr", True),  # p.nom
        ("mf.guichou@rochefoucauld-perigord.fr", True),  # initials
        ("jean-pierre.dupont@orange.fr", True),  # compound first name
        ("jean-dupont@wanadoo.fr", True),  # prenom-nom
        ("helene_martin33@gmail.com", True),
        ("corinne.hebert.ai33@gmail.com", True),  # prenom.nom.service
        ("accueil@rochefoucauld-perigord.fr", False),
        ("contact@capemploi16.com", False),
        ("mairie@valdebonnieure.fr", False),
        ("mairie.luxe@wanadoo.fr", False),
        ("valence.mairie@wanadoo.fr", False),
        ("france.services@cc-jarnac.fr", False),  # France is a first name, services is not
        ("accueil.numerique@cscs-rivesdecharente.com", False),
        ("omega-soyaux@france-services.gouv.fr", False),  # omega: given < 500 times
        ("saint-claud@france-services.gouv.fr", False),
        ("cyberbase.soyaux@gmail.com", False),
        ("la-foret-de-tesse@wanadoo.fr", False),
        ("s.jeunesse@ville.fr", False),
        ("christinegranet@udaf16.org", False),  # known limit: glued name
    ],
)
def test_person_like_emails(courriel: str, personnel: bool) -> None:
    got = pl.select(courriel_personnel(pl.lit(courriel), prenoms())).item()
    assert got is personnel


LIEUX = pl.DataFrame(
    {
        "id": ["a", "b", "c", "d"],
        "nom": ["Mairie", "Médiathèque", "France Services", "Tiers-lieu"],
        "courriels": [
            "accueil@mairie-x.fr|jean.dupont@mairie-x.fr",
            "p.martin@media.fr",
            "contact@fs.fr",
            None,
        ],
        "telephone": ["05 45 12 34 56", "06 12 34 56 78 / 05 45 00 00 00", "+33612345678", None],
        "presentation_detail": [None, None, None, "Demandez Marie au 07.11.22.33.44"],
        "latitude": ["45.0612345678", None, None, None],
        "nom_referent": [None, "Paul Martin", None, None],
    }
)


def test_personal_data_is_removed_generic_contacts_kept() -> None:
    cleaned, removed = ecarter_donnees_personnelles(LIEUX, prenoms())
    expected = pl.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "nom": ["Mairie", "Médiathèque", "France Services", "Tiers-lieu"],
            "courriels": ["accueil@mairie-x.fr", None, "contact@fs.fr", None],
            "telephone": ["05 45 12 34 56", "05 45 00 00 00", None, None],
            "presentation_detail": [None, None, None, None],
            "latitude": ["45.0612345678", None, None, None],
        },
        schema={c: pl.String for c in LIEUX.columns if c != "nom_referent"},
    )
    assert_frame_equal(cleaned, expected)
    assert removed.select("ligne", "colonne", "code_raison", "valeur_brute", "action").rows() == [
        (1, "courriels", "courriel_personnel", "j***.d***@mairie-x.fr", "valeur_ecartee"),
        (2, "courriels", "courriel_personnel", "p***.m***@media.fr", "valeur_ecartee"),
        (2, "nom_referent", "donnee_personnelle_colonne", None, "valeur_ecartee"),
        (2, "telephone", "telephone_mobile", "06 ** ** ** 78", "valeur_ecartee"),
        (3, "telephone", "telephone_mobile", "06 ** ** ** 78", "valeur_ecartee"),
        (4, "presentation_detail", "telephone_mobile", "07 ** ** ** 44", "valeur_ecartee"),
    ]


def test_scan_finds_what_would_be_published() -> None:
    found = scan_personal_data(LIEUX, prenoms())
    assert found.select("ligne", "colonne", "code_raison").rows() == [
        (0, "courriels", "courriel_personnel"),
        (1, "courriels", "courriel_personnel"),
        (1, "telephone", "telephone_mobile"),
        (2, "telephone", "telephone_mobile"),
        (3, "presentation_detail", "telephone_mobile"),
    ]
    cleaned, _ = ecarter_donnees_personnelles(LIEUX, prenoms())
    assert scan_personal_data(cleaned, prenoms()).is_empty()


@pytest.mark.real_data
def test_real_charente_contacts(charente_raw: pl.DataFrame) -> None:
    """The 188 real Charente places: named staff's e-mails and a mobile number are removed."""
    cleaned, removed = ecarter_donnees_personnelles(charente_raw, prenoms())
    assert cleaned.height == charente_raw.height == 188
    counts = dict(removed.group_by("code_raison").len().iter_rows())
    assert counts == {"courriel_personnel": 9, "telephone_mobile": 5}
    assert removed["source"].unique().to_list() == ["mednum__lieux"]
    assert scan_personal_data(cleaned.drop("ligne"), prenoms()).is_empty()
    kept = cleaned["courriel"].drop_nulls()
    assert kept.len() == charente_raw["courriel"].drop_nulls().len() - 9
    assert "accueil@rochefoucauld-perigord.fr" in kept.to_list()
    report(
        "personal data, real Charente file (188 places):",
        f"{counts['courriel_personnel']} person-like e-mails and {counts['telephone_mobile']}"
        f" mobile numbers removed, {kept.len()} structure e-mails kept",
    )
