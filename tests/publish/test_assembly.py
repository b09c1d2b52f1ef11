"""What a release lists besides its tables: every raw input re-hashed, partner files included."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from observatory.partners.inbox import inbox_dir, land_inbox, landed_partner_files
from observatory.publish.assembly import partner_sources, release_sources
from observatory.publish.changelog import build_changelog
from observatory.settings import PROJECT_ROOT, Settings
from observatory.sources.catalogue import MEDNUM_LIEUX, SOURCES
from observatory.sources.raw import RawLayerError, land_source, landed, verifie_empreinte

ACTIVITE = PROJECT_ROOT / "tests/fixtures/partners/activite"
PARTENAIRE = "exemple_diagnostics_autonomie"
FICHIER = "diagnostics_charente_2023_2024.csv"


def _drop(settings: Settings) -> Path:
    inbox = inbox_dir(settings, PARTENAIRE)
    inbox.mkdir(parents=True)
    shutil.copy(ACTIVITE / FICHIER, inbox / FICHIER)
    (outcome,) = land_inbox(settings, PARTENAIRE, now=datetime(2026, 3, 1, tzinfo=UTC))
    assert outcome.raw is not None
    return outcome.raw.path


def _alter(path: Path) -> None:
    """What a hand edit of a landed count does: same name, same size, other bytes."""
    content = path.read_bytes()
    index = next(i for i, b in enumerate(content) if i > content.index(b"\n") and b in b"12345678")
    path.chmod(0o644)
    path.write_bytes(content[:index] + b"9" + content[index + 1 :])


def test_partner_files_are_listed_and_an_altered_one_is_named(tmp_path: Path) -> None:
    """Guarantee: every landed partner file is in the manifest's sources with its sha256; one
    altered since landing is flagged with a French reason naming it and the bytes found, and
    the CHANGELOG says it was altered and refused (it once said no source changed)."""
    settings = Settings(data_dir=tmp_path / "data")
    path = _drop(settings)
    (entry,) = partner_sources(settings)
    assert entry["source"] == f"partenaire__{PARTENAIRE}"
    assert entry["partenaire"] == PARTENAIRE
    assert entry["fichier"] == f"20260301T000000Z/{FICHIER}"
    assert entry["chemin"] == f"raw/partenaires/{PARTENAIRE}/20260301T000000Z/{FICHIER}"
    assert entry["producteur"] and entry["titre"] != entry["source"]  # from the mapping
    assert "alteration" not in entry
    _alter(path)
    (altered,) = partner_sources(settings)
    assert altered["sha256"] == entry["sha256"]  # what was received
    assert altered["sha256_constate"] not in (None, entry["sha256"])
    assert f"fichier brut altéré depuis sa réception : {path}" in altered["alteration"]
    manifest = {"release_id": "R2", "sources": [altered]}
    previous = {"release_id": "R1", "created_at": "2026-03-01", "sources": [entry]}
    changelog = build_changelog(manifest, {}, previous, {}, {})
    assert "Aucune source ajoutée, retirée ou modifiée." not in changelog
    assert (
        f"| partenaire__{PARTENAIRE} | 20260301T000000Z/{FICHIER} | 20260301T000000Z | "
        "20260301T000000Z | altérée depuis sa réception : refusée |"
    ) in changelog


def test_two_drops_of_one_name_are_two_sources(tmp_path: Path) -> None:
    """Guarantee: a partner dropping a corrected file under the same name gets a CHANGELOG
    line for the new file (the old one stays listed: the raw layer keeps both)."""
    settings = Settings(data_dir=tmp_path / "data")
    first = partner_sources(settings)
    assert first == []
    _drop(settings)
    before = partner_sources(settings)
    inbox = inbox_dir(settings, PARTENAIRE)
    (inbox / FICHIER).write_bytes((ACTIVITE / FICHIER).read_bytes() + b"\n")
    land_inbox(settings, PARTENAIRE, now=datetime(2026, 4, 1, tzinfo=UTC))
    after = partner_sources(settings)
    assert len(after) == 2
    changelog = build_changelog(
        {"release_id": "R2", "sources": after},
        {},
        {"release_id": "R1", "sources": before},
        {},
        {},
    )
    # a new version under a landed name lands under its own name (`<name>-<sha256[:8]>`)
    stem, suffix = FICHIER.rsplit(".", 1)
    assert re.search(
        rf"\| 20260401T000000Z/{re.escape(stem)}-[0-9a-f]{{8}}\.{suffix} \| — \| 20260401T000000Z "
        r"\| ajoutée \|",
        changelog,
    )


@pytest.mark.real_data
def test_an_altered_national_file_stops_the_release_naming_it(tmp_path: Path) -> None:
    """Guarantee: a national raw file altered after landing stops the release before anything
    is published, the message naming the file; partner files come after the national ones."""
    settings = Settings(data_dir=tmp_path / "data")
    for source in SOURCES:
        land_source(settings, source)
    _drop(settings)
    sources = release_sources(settings)
    assert sources[-1]["source"] == f"partenaire__{PARTENAIRE}"
    assert len(sources) == sum(len(landed(settings, s)) for s in SOURCES) + 1
    (lieux,) = landed(settings, MEDNUM_LIEUX)
    _alter(lieux.path)
    with pytest.raises(RawLayerError) as raised:
        release_sources(settings)
    assert str(lieux.path) in str(raised.value)
    assert str(raised.value).endswith("rien n'est publié")


def _refuse(settings: Settings, path: Path, raison: str) -> None:
    """What the partner reader does with a file it refuses after landing: file and sidecar
    moved to `raw/_refuses/<partner>/<time>/`, the reason beside them."""
    target = settings.raw_dir / "_refuses" / PARTENAIRE / path.parent.name / path.name
    target.parent.mkdir(parents=True)
    sidecar = path.with_name(path.name + ".meta.json")
    meta = json.loads(sidecar.read_text())
    path.rename(target)
    sidecar.unlink()
    target.with_name(target.name + ".meta.json").write_text(
        json.dumps({**meta, "chemin": str(target)})
    )
    target.with_name(target.name + ".raison.txt").write_text(raison + "\n")


@pytest.mark.parametrize("altere", [False, True])
def test_a_partner_file_refused_after_landing_stays_listed_with_its_reason(
    tmp_path: Path, altere: bool
) -> None:
    """Guarantee: a partner file the reader refused (moved to `raw/_refuses/`) stays in the
    manifest's sources with its reason, and the CHANGELOG says it was refused, or altered
    then refused, instead of "retirée" or nothing."""
    settings = Settings(data_dir=tmp_path / "data")
    path = _drop(settings)
    (before,) = partner_sources(settings)
    raison = "tableau vide : aucune ligne de données"
    if altere:
        _alter(path)
        raison = verifie_empreinte(landed_partner_files(settings, PARTENAIRE)[0]) or ""
    _refuse(settings, path, raison)
    (after,) = partner_sources(settings)
    assert after["fichier"] == before["fichier"] and after["refus"] == raison
    assert after["chemin"].startswith(f"raw/_refuses/{PARTENAIRE}/20260301T000000Z/")
    assert ("alteration" in after) is altere
    changelog = build_changelog(
        {"release_id": "R2", "sources": [after]},
        {},
        {"release_id": "R1", "sources": [before]},
        {},
        {},
    )
    expected = "altérée depuis sa réception : refusée" if altere else f"refusée : {raison}"
    assert f"| 20260301T000000Z | 20260301T000000Z | {expected} |" in changelog
