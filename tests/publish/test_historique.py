"""The private ledger of what earlier releases revealed of the partners' counts."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from observatory.publish.historique import (
    HistoriqueIllisible,
    chemin_registre,
    historique_secret,
)
from observatory.publish.release import write_release
from observatory.settings import Settings
from observatory.transforms.secret_suppression import HISTORIQUE_SCHEMA

SCHEMA = {
    "niveau": pl.String,
    "code": pl.String,
    "annee": pl.Int32,
    "indicateur": pl.String,
    "valeur": pl.Float64,
    "secret": pl.Boolean,
}
# what the constructed Charente files publish (tests/transforms/test_partner_activity.py)
CHARENTE_2024 = [
    ("commune", "16015", 2024, "nb_diagnostics_autonomie", 75.0, False),
    ("commune", "16015", 2024, "part_besoin_aide_diagnostic", 38 / 75, False),
    ("commune", "16148", 2024, "nb_diagnostics_autonomie", None, True),
    ("departement", "16", 2024, "accompagnements_pour_1000_illectronisme", 175e3 / 54_167, False),
    ("departement", "16", 2022, "nb_illectronisme", 54_167.0, False),
    ("commune", "16015", 2022, "nb_illectronisme", 9_000.0, False),  # not a partner count
]


def _publie(settings: Settings, lignes: list[tuple], mois: int) -> Path:
    indicateurs = pl.DataFrame(lignes, schema=SCHEMA, orient="row")
    return write_release(
        {"indicateurs": indicateurs},
        settings.published_dir,
        [],
        created_at=datetime(2026, mois, 1, tzinfo=UTC),
    ).folder


def _attendu(lignes: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(lignes, schema=HISTORIQUE_SCHEMA, orient="row").sort(pl.all())


def test_every_release_counts_even_once_pruned(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert historique_secret(settings, ecrire=True).is_empty()  # nothing published yet
    premiere = _publie(settings, CHARENTE_2024, 1)
    # a later release: 78 diagnosed in Angoulême, hidden
    seconde = _publie(
        settings,
        [
            ("commune", "16015", 2024, "nb_diagnostics_autonomie", None, True),
            ("departement", "16", 2024, "nb_diagnostics_autonomie", 127.0, False),
        ],
        2,
    )
    un, deux = premiere.name, seconde.name
    attendu = _attendu(
        [
            (un, "commune", "16015", 2024, "diagnostics_autonomie", "nb_diagnostics", 75),
            (un, "commune", "16015", 2024, "diagnostics_autonomie", "nb_besoin_aide", 38),
            (un, "departement", "16", 2024, "accompagnements", "nb_accompagnements", 175),
            (deux, "departement", "16", 2024, "diagnostics_autonomie", "nb_diagnostics", 127),
        ]
    )
    assert_frame_equal(historique_secret(settings), attendu)
    assert not chemin_registre(settings).exists()  # read, not written: only under the lock
    assert_frame_equal(historique_secret(settings, ecrire=True), attendu)
    # the ledger is private: outside the published folder that readers are served
    assert chemin_registre(settings).is_file()
    assert settings.published_dir not in chemin_registre(settings).parents
    shutil.rmtree(premiere)  # pruned, yet downloaded by its readers
    assert_frame_equal(historique_secret(settings), attendu)


def test_a_release_is_read_once_and_what_cannot_be_read_is_said(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    sans_partenaire = _publie(settings, CHARENTE_2024[-1:], 1)
    assert historique_secret(settings, ecrire=True).is_empty()
    # read once: its files are not opened again (a release is immutable)
    for fichier in sans_partenaire.rglob("*.parquet"):
        fichier.chmod(0o644)
        fichier.write_bytes(b"plus du parquet")
    assert historique_secret(settings).is_empty()
    abimee = _publie(settings, CHARENTE_2024, 2)
    for fichier in abimee.rglob("*.parquet"):
        fichier.chmod(0o644)
        fichier.write_bytes(b"plus du parquet")
    with pytest.raises(HistoriqueIllisible, match=f"release publiée .*{abimee.name}.* illisible"):
        historique_secret(settings)


def test_a_ledger_cut_short_falls_back_on_its_previous_state(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    _publie(settings, CHARENTE_2024, 1)
    avant = historique_secret(settings, ecrire=True)
    _publie(settings, CHARENTE_2024[:1], 2)
    tout = historique_secret(settings, ecrire=True)
    assert tout.height == avant.height + 1
    chemin_registre(settings).write_bytes(b"tronque")
    # the previous state lacks the second release: it is read again from its folder
    assert_frame_equal(historique_secret(settings), tout)
    chemin_registre(settings).with_name("valeurs_revelees.precedent.parquet").write_bytes(b"x")
    with pytest.raises(HistoriqueIllisible, match=r"registre .* illisible"):
        historique_secret(settings)
