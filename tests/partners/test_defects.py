"""The corpus of defective partner files (tests/fixtures/partners/defects/, written by
make_defects.py): each gives a clear error naming the file, or the expected quarantine rows.
Nothing but `PartnerFileError` may escape, and rows in = kept + rejected for every file read."""

from __future__ import annotations

import importlib.util
from datetime import date

import polars as pl
import pytest

from observatory.partners.mappings import PartnerMapping, load_mappings
from observatory.partners.reading import read_partner
from observatory.partners.sniffing import PartnerFileError
from observatory.settings import PROJECT_ROOT

DEFECTS = PROJECT_ROOT / "tests/fixtures/partners/defects"
DIAG = "exemple_diagnostics_autonomie"
ACCOMP = "exemple_accompagnements"
PASS = "exemple_pass_numerique"
LIEUX = "departement_gironde"
R, E, C = "rejet", "valeur_ecartee", "valeur_corrigee"
# Lieux files have no SIRET column: every row gets the standard's "unknown" pivot (corrected).
PIVOT = "obligatoire_manquant"

# file, mapping, error regex (None when the file is read)
ERRORS = [
    ("vide.csv", DIAG, r"vide\.csv : le fichier est vide"),
    ("blancs.csv", DIAG, r"blancs\.csv : le fichier est vide"),
    ("entete_seule.csv", DIAG, r"aucune ligne de données sous l'en-tête \(ligne 1\)"),
    ("tronque.csv", DIAG, r"tronque\.csv : .*guillemets .*tronqué"),
    ("tronque_ligne.csv", DIAG, r"dernière ligne \(ligne 3 du fichier\) n'a que 3 colonnes sur 7"),
    ("tronque.json", PASS, r"tronque\.json : le JSON s'arrête avant sa fin"),
    ("diag_tronque.xlsx", DIAG, r"diag_tronque\.xlsx : classeur XLSX illisible"),
    ("page_html.csv", DIAG, r"page_html\.csv : c'est une page web \(HTML\)"),
    ("binaire.csv", DIAG, r"binaire\.csv : fichier binaire"),
    ("ancien_excel.xls", DIAG, r"Excel 97-2003 \(\.xls\)"),
    ("json_inconnu.json", PASS, r"disposition non reconnue : le JSON doit être une liste"),
    (
        "disposition_inconnue.csv",
        DIAG,
        r"disposition non reconnue.*Colonnes attendues : .*code_commune.*"
        r"Trouvées en première ligne : nom, prenom, age",
    ),
    (
        "diag_colonne_obligatoire_manquante.csv",
        DIAG,
        r"colonne\(s\) obligatoire\(s\) absente\(s\) : nb_jamais_en_ligne .*"
        r"Colonnes trouvées : code_commune, periode, nb_autonomes, nb_besoin_aide\.",
    ),
    (
        "diag_deux_feuilles_ambigues.xlsx",
        DIAG,
        r"plusieurs feuilles conviennent \(2023, 2024\)",
    ),
]

# file, mapping, rows kept, quarantine entries (ligne, colonne, code_raison, valeur, action)
READ = [
    ("diag_cp1252.csv", DIAG, 1, []),
    ("diag_bom.csv", DIAG, 2, []),
    ("diag_ligne_titre.csv", DIAG, 2, []),
    ("diag_colonnes_renommees.csv", DIAG, 1, []),
    ("diag_tabulations.tsv", DIAG, 2, []),
    ("diag_deux_feuilles.xlsx", DIAG, 2, []),
    ("diag_titre.xlsx", DIAG, 1, []),
    ("accomp_virgule_decimale.csv", ACCOMP, 3, []),
    (
        "diag_insee_numeriques.csv",
        DIAG,
        5,
        [
            (6, "code", "code_territoire_invalide", "20004", R),
            (7, "code", "code_territoire_invalide", "ABCDE", R),
        ],
    ),
    (
        "diag_periodes.csv",
        DIAG,
        2,
        [
            (1, "periode", "date_epoch_1970", "1970-01", R),
            (2, "periode", "periode_invalide", "13/2024", R),
            (3, "periode", "periode_invalide", "T5 2024", R),
        ],
    ),
    (
        "diag_nombres_invalides.csv",
        DIAG,
        1,
        [
            (1, "nb_diagnostics", "nombre_invalide", "n/a", E),
            (2, "nb_autonomes", "nombre_non_entier", "12,5", R),
            (3, "nb_autonomes", "nombre_negatif", "-3", R),
        ],
    ),
    (
        "diag_cle_dupliquee.csv",
        DIAG,
        2,
        [(3, "code", "cle_dupliquee", "commune 33063 2024-01-01 2024-01-31", R)],
    ),
    (
        "diag_somme_superieure_total.csv",
        DIAG,
        0,
        [(1, "nb_diagnostics", "somme_categories_superieure_au_total", "13 > 10", R)],
    ),
    (
        "diag_colonnes_en_trop.csv",
        DIAG,
        1,
        [(2, "ligne_entiere", "nombre_colonnes_incorrect", "9 colonnes au lieu de 7", R)],
    ),
    (
        "diag_formules.csv",
        DIAG,
        2,
        [
            (1, "nb_diagnostics", "formule_non_evaluee", "=D2+E2+F2", E),
            (2, "nb_autonomes", "formule_non_evaluee", "=SOMME(A1:A3)", R),
        ],
    ),
    (
        "diag_formules.xlsx",
        DIAG,
        1,
        [
            (1, "nb_diagnostics", "formule_non_evaluee", "=D2+E2+F2", E),
            (2, "nb_autonomes", "formule_non_evaluee", "=SUM(D2:D2)", R),
        ],
    ),
    (
        "accomp_hors_vocabulaire.csv",
        ACCOMP,
        1,
        [(1, "type_accompagnement", "hors_vocabulaire", "Visio", R)],
    ),
    ("pass_numerique.json", PASS, 2, [(3, "code", "code_territoire_invalide", "12345", R)]),
    ("lieux_colonnes_renommees.json", LIEUX, 1, [(1, "pivot", PIVOT, None, C)]),
    (
        "lieux_lat_lon_inverses.csv",
        LIEUX,
        2,
        [
            (2, "latitude", "latitude_longitude_inversees", "-0,5077425,44,8954283", C),
            (3, "latitude", "hors_france", "0.0,0.0", R),
            *((n, "pivot", PIVOT, None, C) for n in (1, 2, 3)),
        ],
    ),
    (
        "lieux_dates_1970.csv",
        LIEUX,
        3,
        [
            (1, "date_maj", "date_epoch_1970", "1970-01-01", E),
            (2, "date_maj", "date_epoch_1970", "1969-12-31", E),
            (3, "date_maj", "date_invalide", "45/13/2019", E),
            *((n, "pivot", PIVOT, None, C) for n in (1, 2, 3)),
        ],
    ),
]


@pytest.fixture(scope="module")
def mappings() -> dict[str, PartnerMapping]:
    return load_mappings(PROJECT_ROOT / "schemas/partners")


def test_corpus_is_complete() -> None:
    """Every file of the corpus is in a table, and the corpus has at least 20 files."""
    listed = {name for name, *_ in ERRORS + READ}
    on_disk = {p.name for p in DEFECTS.iterdir()}
    assert listed == on_disk
    assert len(on_disk) >= 20


@pytest.mark.parametrize(("fichier", "partenaire", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_unreadable_file_gives_a_clear_error(fichier, partenaire, message, mappings) -> None:
    with pytest.raises(PartnerFileError, match=message) as error:
        read_partner((DEFECTS / fichier).read_bytes(), fichier, mappings[partenaire])
    assert str(error.value).startswith(f"{fichier} : ")


@pytest.mark.parametrize(
    ("fichier", "partenaire", "kept", "expected"), READ, ids=[r[0] for r in READ]
)
def test_defective_rows_are_quarantined(fichier, partenaire, kept, expected, mappings) -> None:
    read = read_partner((DEFECTS / fichier).read_bytes(), fichier, mappings[partenaire])
    entries = read.quarantine.select("ligne", "colonne", "code_raison", "valeur_brute", "action")
    assert sorted(entries.rows(), key=str) == sorted(expected, key=str)
    assert read.kept.height == kept
    rejected = entries.filter(pl.col("action") == R)["ligne"].n_unique()
    assert read.lignes_entree == kept + rejected
    assert read.kept["fichier_origine"].unique().to_list() in ([fichier], [])


# file, mapping, kept columns → expected values (what the defect must not have damaged)
VALUES = [
    ("diag_cp1252.csv", DIAG, {"commentaire": ["Permanence à l’Œuvre"], "nb_besoin_aide": [5]}),
    ("diag_bom.csv", DIAG, {"code": ["33063", "64445"]}),
    ("diag_ligne_titre.csv", DIAG, {"ligne": [1, 2], "nb_autonomes": [70, 20]}),
    ("diag_colonnes_renommees.csv", DIAG, {"periode_fin": [date(2024, 3, 31)]}),
    ("diag_insee_numeriques.csv", DIAG, {"code": ["01001", "2A004", "01004", "97411", "2B033"]}),
    ("diag_deux_feuilles.xlsx", DIAG, {"code": ["33063", "01001"]}),
    ("diag_titre.xlsx", DIAG, {"nb_diagnostics": [None], "periode_debut": [date(2024, 2, 1)]}),
    (
        "accomp_virgule_decimale.csv",
        ACCOMP,
        {
            "nb_accompagnements": [1234, 87, 12],
            "nb_personnes": [1001, 310, 12],
            "duree_totale_heures": [24150.5, 1234.5, 6.25],
            "type_accompagnement": ["individuel", "collectif", "demarche_realisee_a_la_place"],
        },
    ),
    (
        "diag_formules.csv",
        DIAG,
        {"commentaire": ['=HYPERLINK("http://exemple.fr")', "+33 5 56 00 00 00"]},
    ),
    (
        "pass_numerique.json",
        PASS,
        {"code": ["200070803", "243300316"], "nb_pass_emis": [1500, 400]},
    ),
    ("lieux_lat_lon_inverses.csv", LIEUX, {"latitude": [44.93815, 44.8954283]}),
    ("lieux_colonnes_renommees.json", LIEUX, {"nom": ["ACIFOP"], "code_postal": ["33500"]}),
]


@pytest.mark.parametrize(("fichier", "partenaire", "values"), VALUES, ids=[v[0] for v in VALUES])
def test_values_survive_the_defect(fichier, partenaire, values, mappings) -> None:
    kept = read_partner((DEFECTS / fichier).read_bytes(), fichier, mappings[partenaire]).kept
    assert kept.select(list(values)).to_dict(as_series=False) == values


def test_corpus_is_what_make_defects_writes() -> None:
    """The committed files are the generator's output, byte for byte (XLSX included)."""
    spec = importlib.util.spec_from_file_location(
        "make_defects", DEFECTS.parent / "make_defects.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    generated = {**module.text_files(), **module.xlsx_files()}
    assert {name: (DEFECTS / name).read_bytes() for name in generated} == generated
