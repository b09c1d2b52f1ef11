"""Reading zoning files (CSV, YAML) and the real worked example of the README (Charente)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from observatory.settings import PROJECT_ROOT
from observatory.transforms.zonings import (
    EN_DOUBLE,
    OUBLIEES,
    ZonageError,
    valider_zonage,
    valider_zonages,
)
from observatory.zonings import load_zonages, read_zonage_csv, read_zonage_yaml
from tests.transforms.test_zonings import referentiel_reel

EXEMPLE = PROJECT_ROOT / "territoires_personnalises_exemple"


def _ecrit(dossier: Path, nom: str, contenu: str | bytes) -> Path:
    path = dossier / nom
    if isinstance(contenu, bytes):
        path.write_bytes(contenu)
    else:
        path.write_text(contenu, encoding="utf-8")
    return path


def _assert_refuse(lire: Callable[[Path], object], path: Path, fragment: str) -> None:
    """The file is refused by a message that starts with its name and says `fragment`."""
    with pytest.raises(ZonageError) as refus:
        lire(path)
    assert str(refus.value).startswith(path.name)
    assert fragment in str(refus.value)


# --- CSV ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("contenu", "perimetre", "lignes"),
    [
        ("code_commune;code_zone;nom_zone\n16001;n;Nord\n", (), ["ligne 2"]),
        (
            "# perimetre: departement=16\ncode_commune;code_zone;nom_zone\n16001;n;Nord\n",
            (("departement", "16"),),
            ["ligne 3"],
        ),
        (
            "# Réseaux locaux\n#perimetre : departement 16, departement 17\n\n"
            "code_commune,code_zone,nom_zone\n16001,n,Nord\n\n17001,n,\n",
            (("departement", "16"), ("departement", "17")),
            ["ligne 5", "ligne 7"],
        ),
        ("code_commune\tcode_zone\n16001\tn\n", (), ["ligne 2"]),
        ('code_commune;code_zone;nom_zone\n16001;n;"Nord; la zone"\n', (), ["ligne 2"]),
    ],
)
def test_csv_read(tmp_path: Path, contenu: str, perimetre: tuple, lignes: list[str]) -> None:
    declaration = read_zonage_csv(_ecrit(tmp_path, "z.csv", contenu))
    assert declaration.perimetre == perimetre
    assert declaration.fichier == "z.csv"
    assert declaration.affectations["origine"].to_list() == lignes


def test_csv_windows_1252_and_bom(tmp_path: Path) -> None:
    texte = "code_commune;code_zone;nom_zone\n16015;c;Angoulême\n"
    for nom, contenu in (
        ("a.csv", texte.encode("cp1252")),
        ("b.csv", b"\xef\xbb\xbf" + texte.encode()),
    ):
        declaration = read_zonage_csv(_ecrit(tmp_path, nom, contenu))
        assert declaration.affectations.select("code", "nom_zone").rows() == [
            ("16015", "Angoulême")
        ]


@pytest.mark.parametrize(
    ("contenu", "fragment"),
    [
        ("code_commune;code_zone\n16001;n\n16002;n;x\n", "z.csv, ligne 3 : 3 valeurs pour 2"),
        ("# perimetre: departement 16\ncode_commune;code_zone\n16001;n\n1600A;n\n", "ligne 4"),
        ("# rien\n\n", "fichier vide"),
        ("code;zone\n16001;n\n", "colonnes manquantes"),
        ("code_commune;code_zone;code_zone\n16001;n;n\n", "colonnes en double"),
    ],
)
def test_csv_refused_naming_file_and_line(tmp_path: Path, contenu: str, fragment: str) -> None:
    _assert_refuse(read_zonage_csv, _ecrit(tmp_path, "z.csv", contenu), fragment)


# --- YAML ---------------------------------------------------------------------------------

YAML = """\
perimetre: departement 01
zones:
  - code: a
    nom: Zone A
    communes:
      - 01001
      - 01002
  - code: b
    epci: [200069193]
"""


def test_yaml_keeps_codes_as_text_with_their_lines(tmp_path: Path) -> None:
    declaration = read_zonage_yaml(_ecrit(tmp_path, "z.yaml", YAML))
    assert declaration.perimetre == (("departement", "01"),)
    assert declaration.affectations.select("type_code", "code", "origine").rows() == [
        ("epci", "200069193", "ligne 9, zone b"),
        ("commune", "01001", "ligne 6, zone a"),
        ("commune", "01002", "ligne 7, zone a"),
    ]


@pytest.mark.parametrize(
    ("contenu", "fragment"),
    [
        ("zones:\n  - code: a\n    communes: [16001\n", "z.yaml, ligne"),
        ("zones:\n  - code: a\n    code: b\n    communes: [16001]\n", "ligne 3 : YAML illisible"),
        ("zones:\n  - code: a\n    communes: [16001]\n  - code: a\n    epci: []\n", "ligne 4"),
        ("- 16001\n", "attendu un objet YAML"),
    ],
)
def test_yaml_refused_naming_file_and_line(tmp_path: Path, contenu: str, fragment: str) -> None:
    _assert_refuse(read_zonage_yaml, _ecrit(tmp_path, "z.yaml", contenu), fragment)


# --- folder -------------------------------------------------------------------------------


def test_folder_reads_csv_and_yaml_sorted_and_ignores_other_files(tmp_path: Path) -> None:
    _ecrit(tmp_path, "reseaux.yml", "zones:\n  - code: a\n    communes: ['16001']\n")
    _ecrit(tmp_path, "cantons.csv", "code_commune;code_zone\n16001;a\n")
    _ecrit(tmp_path, "README.md", "# zonages\n")
    _ecrit(tmp_path, ".brouillon.csv", "n'importe quoi")
    assert [nom for nom, _ in load_zonages(tmp_path)] == ["cantons", "reseaux"]


@pytest.mark.parametrize(
    ("fichiers", "fragment"),
    [
        ({"Réseaux.csv": "code_commune;code_zone\n16001;a\n"}, "Réseaux.csv : nom de fichier"),
        (
            {"a.csv": "code_commune;code_zone\n16001;a\n", "a.yaml": "zones: []\n"},
            "a.yaml : le zonage 'a' est déjà déclaré par a.csv",
        ),
        ({"a.xlsx": "PK"}, "a.xlsx : classeur non lu"),
        ({"b.yaml": "zones:\n  - code: x\n"}, "b.yaml, ligne 2 : zone 'x' sans"),
    ],
)
def test_folder_refused(tmp_path: Path, fichiers: dict[str, str], fragment: str) -> None:
    for nom, contenu in fichiers.items():
        _ecrit(tmp_path, nom, contenu)
    with pytest.raises(ZonageError, match=fragment):
        load_zonages(tmp_path)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ZonageError, match="introuvable"):
        load_zonages(tmp_path / "absent")


# --- the real worked example: Charente in 3 zones -----------------------------------------


@pytest.mark.real_data
def test_charente_example_covers_exactly_the_communes_of_its_epci() -> None:
    territoires, appartenances, passage = referentiel_reel()
    zonages = dict(load_zonages(EXEMPLE))
    assert sorted(zonages) == ["charente_3_zones", "charente_3_zones_communes"]
    epci_listes = zonages["charente_3_zones"].affectations["code"].to_list()
    assert len(epci_listes) == 9
    communes_epci = appartenances.filter(
        pl.col("niveau") == "epci", pl.col("code").is_in(epci_listes)
    )
    charente = appartenances.filter(pl.col("niveau") == "departement", pl.col("code") == "16")
    resultats = {
        nom: valider_zonage(nom, declaration, appartenances, territoires, passage)
        for nom, declaration in zonages.items()
    }
    yaml_app, yaml_terr = resultats["charente_3_zones"]
    csv_app, csv_terr = resultats["charente_3_zones_communes"]
    assert yaml_app["code_commune"].to_list() == communes_epci["code_commune"].sort().to_list()
    assert yaml_app["code_commune"].to_list() == charente["code_commune"].sort().to_list()
    assert yaml_app.height == 359
    # The CSV listing the 359 communes is the same partition as the YAML listing the 9 EPCI.
    assert_frame_equal(yaml_app.drop("niveau"), csv_app.drop("niveau"))
    assert_frame_equal(yaml_terr.drop("niveau"), csv_terr.drop("niveau"))
    assert yaml_terr.select("code", "nom", "population").rows() == [
        ("centre", "Angoulême et La Rochefoucauld", 164_955),
        ("nord", "Nord Charente", 80_992),
        ("sud_ouest", "Cognac et Sud Charente", 106_736),
    ]
    departement = territoires.filter(pl.col("niveau") == "departement", pl.col("code") == "16")
    assert yaml_terr["population"].sum() == departement["population"].item()
    communes = territoires.filter(pl.col("niveau") == "commune").join(
        yaml_app.select(pl.col("code_commune").alias("code")), on="code", how="semi"
    )
    assert yaml_terr["population"].sum() == communes["population"].sum()


@pytest.mark.real_data
def test_charente_example_with_a_commune_forgotten_or_doubled(tmp_path: Path) -> None:
    territoires, appartenances, passage = referentiel_reel()
    lignes = (EXEMPLE / "charente_3_zones_communes.csv").read_text(encoding="utf-8").splitlines()
    # Drop Angoulême (16015) from its zone and put Cognac (16102) in a second one.
    modifie = [ligne for ligne in lignes if not ligne.startswith("16015;")]
    modifie.append("16102;nord;Nord Charente")
    _ecrit(tmp_path, "charente.csv", "\n".join(modifie) + "\n")
    with pytest.raises(ZonageError) as refus:
        valider_zonages(load_zonages(tmp_path), appartenances, territoires, passage)
    assert refus.value.details == {EN_DOUBLE: ["16102"], OUBLIEES: ["16015"]}
    message = str(refus.value)
    assert "16015 Angoulême (EPCI 200071827)" in message
    assert "16102 Cognac (zones nord, sud_ouest" in message
    assert "ligne 361 : 16102" in message  # 1 comment, header, 358 rows, then this one
