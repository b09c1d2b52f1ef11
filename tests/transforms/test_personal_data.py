"""Personal data removed before staging; generic contacts of structures kept."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from observatory.sources.readers import prenoms
from observatory.transforms.personal_data import (
    courriel_personnel,
    ecarter_donnees_personnelles,
    masque_texte,
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
        ("dupont-marie@free.fr", True),  # nom-prenom at a mailbox provider
        ("gerard@orange.fr", True),  # a first name alone at a mailbox provider
        ("antony@pimms.org", False),  # elsewhere, as often a commune (PIMMS Antony)
        ("lachamp-raphael@france-services.gouv.fr", False),
        ("msp.fs@grandparisgrandest.fr", False),  # an acronym and initials
        ("dupont.m@laposte.net", True),  # nom.initiale at a mailbox provider
        ("le-goff.jp@orange.fr", True),
        ("msp.fs@gmail.com", False),  # an acronym: too short for a name
        ("mairie.b@wanadoo.fr", False),  # a structure's word
        ("dupont.m@cc-jarnac.fr", False),  # elsewhere: as often an acronym and initials
        ("franceservices.vf@gmail.com", False),  # a structure's word, glued (national registry)
        ("dupont.m@gmx.fr", True),  # other mailbox providers
        ("martin.l@msn.com", True),
        ("m.le-goff@orange.fr", True),  # an initial and a compound name
        ("missionlocale.ml@orange.fr", False),  # a structure, glued words
        ("secourspopulaire.lb@gmail.com", False),
        ("emmaus.ag@orange.fr", False),
        ("assoclic.fr@gmail.com", False),
        ("maria.nuñez@orange.fr", True),  # a letter beyond French accents
        ("marie.dupont+atelier@gmail.com", True),  # a sub-address
        ("dupont.marie.16@gmail.com", True),  # nom.prenom.x
        ("accueil.marie.cognac@orange.fr", False),
        ("zoë.lefèvre@udaf16.org", True),
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


@pytest.mark.parametrize(
    ("texte", "raison"),
    [
        ("Chez Mme Josiane Lefebvre, 14 allée des Tilleuls - 33400 Talence", "nom_de_personne"),
        ("Contact : M. Dupont", "nom_de_personne"),
        ("Accueil par Mme. Durand", "nom_de_personne"),  # a civility with its period
        # a name in capitals, as forms and exports write it
        ("Contact : Mme DUPONT", "nom_de_personne"),
        ("Responsable M. MARTIN Jean, sur rendez-vous", "nom_de_personne"),
        ("CONTACT MME LE-GOFF", "nom_de_personne"),
        ("référente Madame DURAND-LEROY", "nom_de_personne"),
        # civilities as people write them
        ("Contact : Mr. Durand", "nom_de_personne"),
        ("Mr DUPONT le mardi", "nom_de_personne"),
        ("voir MR. DUPONT", "nom_de_personne"),
        ("Melle Dupont", "nom_de_personne"),
        ("accueil par M. Dupont", "nom_de_personne"),
        ("Mme.DUPONT", "nom_de_personne"),
        ("Contact : M. Le Gall", "nom_de_personne"),  # an article that starts a name
        ("Mme De Sousa", "nom_de_personne"),
        ("M. LE GALL", "nom_de_personne"),
        ("Mme DE SOUSA", "nom_de_personne"),
        ("Mme D'ALMEIDA", "nom_de_personne"),
        ("écrire à marie.dupont@gmail[.]com", "courriel_personnel"),
        ("0612 345 678", "telephone_mobile"),
        ("06_12_34_56_78", "telephone_mobile"),
        ("écrire à m.le-goff@orange.fr", "courriel_personnel"),
        ("Josiane, née le 14/02/1961", "date_de_naissance"),
        ("NIR 2 61 02 33 063 123 53", "numero_securite_sociale"),
        ("261023306312353", "numero_securite_sociale"),
        ("appelez le 06/12/34/56/78", "telephone_mobile"),
        ("+33-7-98-76-54-32", "telephone_mobile"),
        ("(+33)6 11 22 33 44", "telephone_mobile"),
        ("0\uff16 12 34 56 78", "telephone_mobile"),  # a full-width digit
        ("06\u200b12 34 56 78", "telephone_mobile"),  # a zero-width space
        ("josiane.lefebvre [at] orange.fr", "courriel_personnel"),
        ("marie.dupont\uff20gmail.com", "courriel_personnel"),  # a full-width @
        # a structure's, or no person's
        ("Ouvert le lundi, 05 45 12 34 56", None),
        ("https://www.facebook.com/people/chazelles/100076669267207/", None),  # not a NIR key
        ("NIR 2 61 02 33 063 123 54", None),  # wrong key
        ("Rue Madame de Sévigné", None),
        ("Ouvert le MARDI de 9h à 12h, MME", None),  # a civility alone
        ("12 RUE MME DE SEVIGNE", None),  # a registry's address in capitals
        ("Salle MME CURIE", None),
        ("RUE M. PAGNOL", None),
        ("M. LE MAIRE", None),  # a title
        ("Monsieur le Maire", None),
        ("Monsieur Le Maire", None),
        ("Permanence de M. LE DEPUTE", None),
        ("ZAC MR BRICOLAGE", None),  # a brand
        ("Centre commercial MR BRICOLAGE", None),
        ("AVENUE MADAME ROLAND", None),
        ("Ecole MADAME DE SEVIGNE", None),
        ("COLLEGE MME DE LA FAYETTE", None),
        ("Espace M. PAGNOL", None),
        ("3 PLACE MADAME CURIE", None),
        ("Médiathèque MME L'HERMITTE", None),
        # streets and rooms named after people, brands, titles, in any case
        ("Salle M. Pagnol, Avenue de la mairie", None),
        ("Espace Mme Curie", None),
        ("12 Rue Madame Curie", None),
        ("Place Monsieur Vincent", None),
        ("Médiathèque M. Yourcenar", None),
        ("Centre commercial Mr Bricolage", None),
        ("Mr Bricolage, ZAC des Montagnes", None),
        ("Mr Le Maire", None),
        ("Maison Pour Tous M.Pagnol", None),  # an initial (national registry)
        ("Groupe scolaire Madame Curie", None),
        ("Ecole Elementaire Madame Curie", None),
        ("Rond-Point Monsieur Vincent", None),
        ("Av. Monsieur Vincent", None),
        ("Bd. Madame Curie", None),
        ("Monsieur Meuble, zone commerciale", None),
        ("Atelier le 07/10/2024 14:00", None),  # a date and a time
        ("Ouvert 06.12.2024 09:30", None),
        ("07 1 2 3 4 5 6 7 8", None),
        ("SIRET 20006891400015", None),
    ],
)
def test_personal_data_in_free_text(texte: str, raison: str | None) -> None:
    """Free text and addresses: a person's name after a civility, a birth date, a social
    security number (its key checked), mobiles and e-mails written to get past a filter."""
    found = scan_personal_data(pl.DataFrame({"presentation_detail": [texte]}), prenoms())
    assert found["code_raison"].to_list() == ([raison] if raison else [])
    assert texte not in found["valeur"].to_list()
    cleaned, _ = ecarter_donnees_personnelles(
        pl.DataFrame({"presentation_detail": [texte]}), prenoms()
    )
    assert cleaned["presentation_detail"].to_list() == ([None] if raison else [texte])


@pytest.mark.parametrize(
    ("nom", "attendu"),
    [
        (
            "Liste lieux - contact marie.dupont@gmail.com 06 12 34 56 78.json",
            "Liste lieux - contact xxx@gmail.com 0x-xx-xx-xx-xx.json",
        ),
        ("export_lieux_2025.csv", "export_lieux_2025.csv"),
    ],
)
def test_a_file_name_never_carries_an_address_or_a_mobile(nom: str, attendu: str) -> None:
    """A dropped file's name goes into the published `lieux` and the manifest."""
    assert masque_texte(nom) == attendu
