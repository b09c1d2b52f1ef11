"""The hostile corpus (`tests/fixtures/partners/hostiles/`, issue 16), all dropped at once.

Every family of the issue is in it; the guarantees are the same for each file: it is refused
alone or read, it gets a French report naming it, its rows in = kept + rejected, no personal
data reaches a published table, and the national release is published, also on the next run
with the inbox emptied.
"""

from __future__ import annotations

import html
import re
import shutil
import sys
from pathlib import Path

import polars as pl
import pytest

from observatory.partners.inbox import landed_partner_files, refused_partner_files
from observatory.partners.mappings import load_mappings
from observatory.partners.staging import (
    land_partner,
    orphan_entries,
    referentiel_landed,
    stage_partner,
)
from observatory.settings import PROJECT_ROOT, Settings
from observatory.sources import catalogue as cat
from observatory.sources.raw import land_source

FIXTURES = PROJECT_ROOT / "tests/fixtures/partners"
sys.path.insert(0, str(FIXTURES))
import make_hostiles as corpus  # noqa: E402

HOSTILES = FIXTURES / "hostiles"
REFUS = "refus"
# Refused whole: a fragment of the French reason given to the producer.
REFUSES = {
    "diag_octets_aleatoires.csv": "encodage des caractères non reconnu",
    "diag_colonne_en_double.csv": "apparaît 2 fois dans l'en-tête",
    "diag_colonnes_noms_voisins.csv": "apparaît 2 fois dans l'en-tête",
    "diag_export.csv.meta.json": "est réservé aux fiches que l'observatoire écrit",
    "diag_guillemet_ouvert.csv": "tronqué",
    "diag_lignes_vides.csv": "aucune ligne de données",
    "diag_dimension_geante.xlsx": "une feuille déclare 17179869184 cellules",
    "diag_bombe_decompression.xlsx": "une fois décompressé",
    "diag_cellule_lointaine.xlsx": "au-delà de la limite de 5000000",
    "diag_zip_sans_classeur.xlsx": "classeur XLSX illisible",
    "pass_imbrique_100000.json": "JSON imbriqué sur 100000 niveaux",
    "pass_cles_en_double.json": "deux champs portent le même nom",
    "pass_scalaire.json": "disposition non reconnue",
    "pass_liste_de_listes.json": "disposition non reconnue",
    "lien_symbolique.csv": "lien symbolique refusé",
    "sous_dossier": "sous-dossier refusé",
    "gironde_lot_a_copie.json": "contenu identique au fichier « gironde_lot_a.json »",
    "export.csv": "aucun format d'échange n'est déclaré",
    "perdu_a_la_racine.csv": "racine du dossier de dépôt",
}
# Read: (rows in, rows kept, quarantine entries by reason) of each file's report.
LUS = {
    "bus_mobile_structure.json": (
        1,
        1,
        {"courriel_personnel": 1, "obligatoire_manquant": 1, "telephone_mobile": 1},
    ),
    "gironde_donnees_personnelles.json": (
        2,
        2,
        {
            "courriel_personnel": 2,
            "obligatoire_manquant": 2,
            "telephone_invalide": 1,
            "telephone_mobile": 2,
        },
    ),
    # dropped together: both lists are used, each report says so
    "gironde_lot_a.json": (1, 1, {"id_duplique_entre_fichiers": 1, "obligatoire_manquant": 1}),
    "gironde_lot_b.json": (2, 2, {"id_duplique_entre_fichiers": 2, "obligatoire_manquant": 2}),
    "accomp_annee_et_trimestre.csv": (2, 0, {"periodes_chevauchantes": 2}),
    # 1e308: beyond a billion, and written in scientific notation
    "accomp_flottant_enorme.csv": (
        2,
        1,
        {"nombre_invraisemblable": 1, "nombre_notation_scientifique": 1},
    ),
    "accomp_periode_future.csv": (2, 1, {"periode_future": 1}),
    "accomp_separateurs_melanges.csv": (2, 1, {"nombre_colonnes_incorrect": 1}),
    "accomp_trois_mille_colonnes.csv": (1, 1, {}),
    "diag_ancien_code.csv": (1, 1, {"code_commune_ancien_rebase": 1}),
    "diag_annuel_et_mensuel.csv": (3, 1, {"periodes_chevauchantes": 2}),
    "diag_au_dela_population.csv": (2, 1, {"nombre_invraisemblable": 4}),
    "diag_caracteres_de_controle.csv": (1, 1, {}),
    "diag_cellule_enorme.csv": (2, 1, {"cellule_trop_longue": 1}),
    "diag_codes_inconnus.csv": (3, 1, {"code_hors_cog": 1, "code_territoire_invalide": 1}),
    # 4·10^18 is no count: set aside (the total is optional), never summed into a wrapped total
    "diag_debordement_somme.csv": (5, 5, {"nombre_invraisemblable": 4}),
    # read as cp1252, its rows given again by newer files of the drop
    "diag_encodages_melanges.csv": (2, 0, {"remplace_par_fichier_plus_recent": 2}),
    "diag_negatifs_decimaux.csv": (3, 3, {"nombre_negatif": 1, "nombre_non_entier": 1}),
    # the total under two of its names: read from the one the mapping lists first
    "diag_deux_noms_une_donnee.csv": (1, 1, {}),
    # an optional total set aside (the sum of its categories counts), a required category: out
    "diag_notation_scientifique.csv": (3, 2, {"nombre_notation_scientifique": 2}),
    "diag_noms_reserves.csv": (1, 1, {}),
    "diag_octet_nul.csv": (3, 1, {"caractere_nul": 1, "remplace_par_fichier_plus_recent": 1}),
    "diag_periode_future.csv": (2, 1, {"periode_future": 1}),
    "diag_periodes_dates_excel.xlsx": (2, 2, {}),
    "diag_periodes_serie_excel.csv": (2, 2, {}),
    "diag_utf16be_sans_bom.csv": (2, 0, {"remplace_par_fichier_plus_recent": 2}),
    "diag_utf16le_sans_bom.csv": (2, 2, {}),
    "pass_annuel_2016.csv": (1, 0, {"periodes_chevauchantes": 1}),
    "pass_mensuel_2016.csv": (1, 0, {"periodes_chevauchantes": 1}),
    # 1e19 also written with an exponent
    "pass_au_dela_int64.json": (
        2,
        0,
        {"nombre_invraisemblable": 2, "nombre_notation_scientifique": 1},
    ),
    "pass_entier_5000_chiffres.json": (2, 1, {"nombre_invalide": 1}),
    "pass_epci_inconnu.csv": (2, 1, {"code_hors_cog": 1}),
    "pass_nan_infini.json": (1, 0, {"nombre_invalide": 2}),
    "pass_valeurs_objets.json": (
        1,
        0,
        {"code_territoire_invalide": 1, "nombre_invalide": 2, "periode_invalide": 1},
    ),
    # names the file system or the sidecar cannot hold: landed under a safe name, read
    "diag__t__cp1252-": (1, 1, {}),
    "diag_retour_à_la_ligne-": (1, 1, {}),
    "diag_" + "é" * 75: (1, 1, {}),
}
# What a person's data looks like in the corpus: never in a published table or a report.
PERSONNEL = ("marie.dupont", "jean.martin", "pierre.durand", "06 12 34 56 78", "33612345678")
COMPTES = re.compile(r"(\d+) lignes lues : (\d+) reprises, (\d+) écartées")


def drop_corpus(settings: Settings, outside: Path) -> int:
    """Copy every hostile file into the inbox and make the special entries; how many."""
    inbox = settings.data_dir / "inbox"
    for path in sorted(HOSTILES.glob("*/*")):
        target = inbox / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    specials = corpus.drop_specials(inbox, outside)
    return len(list(HOSTILES.glob("*/*"))) + len(specials)


def test_corpus_is_written_by_its_script() -> None:
    """The committed corpus is exactly what `make_hostiles.py` writes, and has 40+ files."""
    written = corpus.files()
    committed = {f"{p.parent.name}/{p.name}": p.read_bytes() for p in HOSTILES.glob("*/*")}
    assert committed.keys() == written.keys()
    assert all(committed[k] == v for k, v in written.items())
    assert len(written) >= 40


def reports(settings: Settings) -> dict[str, tuple[str, dict[str, int]]]:
    """Every report written: name → (the page's text, quarantine entries by reason)."""
    found = {}
    for page in sorted((settings.data_dir / "retours").glob("*/*.retour.html")):
        name = page.name.removesuffix(".retour.html")
        table = page.with_name(f"{name}.retour.csv")
        codes: dict[str, int] = {}
        if table.exists():
            entries = pl.read_csv(table, separator=";", infer_schema=False)
            codes = dict(entries.group_by("code_raison").len().iter_rows())
        found[name] = (html.unescape(page.read_text(encoding="utf-8")), codes)
    return found


def _match(name: str, expected: dict) -> str:
    """The expected entry a report's name is (a safe name ends with a hash: its prefix)."""
    keys = [k for k in expected if name == k or (k.endswith(("-", "é")) and name.startswith(k))]
    assert len(keys) == 1, (name, keys)
    return keys[0]


def check_reports(settings: Settings) -> None:
    """Every entry of the corpus has its report, saying what the tables above say."""
    found = reports(settings)
    assert len(found) == len(REFUSES) + len(LUS)
    for name, (page, codes) in found.items():
        if name in REFUSES:
            assert REFUSES[name] in page, name
            continue
        rows_in, kept, expected = LUS[_match(name, LUS)]
        counts = COMPTES.search(page)
        assert counts is not None, name
        entree, reprises, ecartees = map(int, counts.groups())
        assert (entree, reprises) == (rows_in, kept), name
        assert entree == reprises + ecartees, name  # rows in = kept + quarantined
        assert codes == expected, name
        assert ("Aucune anomalie" in page) == (not expected), name
    for page, _ in found.values():
        assert not any(p in page for p in PERSONNEL)


def test_hostile_files_are_refused_alone_and_each_reported(tmp_path: Path) -> None:
    """Landing and staging every partner of the drop: refused files go to `raw/_refuses`,
    every file gets its report, and nothing refused is read again once the inbox is empty."""
    settings = Settings(data_dir=tmp_path / "data")
    drop_corpus(settings, tmp_path / "ailleurs")
    land_source(settings, cat.COG_COMMUNES)
    referentiel = referentiel_landed(settings)
    assert referentiel is not None
    mappings = load_mappings(settings.schemas_dir / "partners")
    staged = {}
    for partenaire, mapping in sorted(mappings.items()):
        land_partner(settings, mapping)
        staged[partenaire] = stage_partner(settings, mapping, referentiel=referentiel)
    assert len(orphan_entries(settings, set(mappings))) == 2
    check_reports(settings)
    refused = {raw.fichier for p in mappings for raw in refused_partner_files(settings, p)} | {
        p.name.removesuffix(".raison.txt") for p in settings.raw_dir.glob("_refuses/*/inbox/*")
    }
    not_landed = {"gironde_lot_a_copie.json", "export.csv", "perdu_a_la_racine.csv"}
    assert refused == set(REFUSES) - not_landed
    bus = staged["bus_france_services_charente"].kept
    assert bus["telephone"].to_list() == [None]  # the bus's mobile is a person's line
    gironde = staged["departement_gironde"].kept
    assert gironde["nom"].n_unique() == 5 and gironde["id"].is_unique().all()

    shutil.rmtree(settings.data_dir / "inbox")
    again = {
        p: stage_partner(settings, m, referentiel=referentiel) for p, m in sorted(mappings.items())
    }
    for partenaire, result in again.items():
        assert result.illisibles == []  # refused once, never read again
        assert result.kept.height == staged[partenaire].kept.height
    assert not any(
        raw.fichier in REFUSES for p in mappings for raw in landed_partner_files(settings, p)
    )


@pytest.mark.real_data
def test_all_hostile_files_at_once_the_release_is_published(tmp_path: Path) -> None:
    """The whole corpus in one inbox, one national run: published, every file reported, no
    personal data and no count of 1–4 people in any published table; and again with the
    inbox emptied."""
    from dagster import DagsterInstance

    from observatory.defs.jobs import materialize_all
    from observatory.publish.release import read_table
    from observatory.sources.readers import prenoms
    from observatory.transforms.personal_data import scan_personal_data
    from observatory.transforms.secret_publication import violations_secret

    settings = Settings(data_dir=tmp_path / "data")
    drop_corpus(settings, tmp_path / "ailleurs")
    outcome = materialize_all(settings, instance=DagsterInstance.ephemeral())
    assert outcome.success, outcome.errors
    assert outcome.release is not None and outcome.new_release
    check_reports(settings)
    latest = settings.published_dir / "latest"
    for path in sorted(outcome.release.rglob("*.parquet")):
        table = pl.read_parquet(path)
        assert scan_personal_data(table, prenoms()).is_empty(), path
        texts = table.select(pl.col(pl.String)).to_dicts()
        assert not any(p in str(v) for row in texts for v in row.values() for p in PERSONNEL)
    assert violations_secret(read_table(outcome.release, "indicateurs")).is_empty()
    lieux = read_table(outcome.release, "lieux")
    assert {"Tiers-lieu de Bègles", "Cyberbase de Pessac", "EPN de Talence"} <= set(
        lieux["nom"].to_list()
    )

    shutil.rmtree(settings.data_dir / "inbox")
    second = materialize_all(settings, instance=DagsterInstance.ephemeral())
    assert second.success, second.errors
    assert second.release is not None and latest.resolve() == second.release.resolve()
