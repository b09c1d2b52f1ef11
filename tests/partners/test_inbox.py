"""The drop folder: new files land once (by sha256), inbox files are never touched, unsafe
names, links and oversize files are refused."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from observatory.partners.inbox import (
    DEJA_RECU,
    DEJA_REFUSE,
    RECU,
    REFUSE,
    InboxError,
    InboxOutcome,
    land_inbox,
    land_inbox_file,
    landed_partner_files,
    new_files,
    nom_depose,
    refuse_landed,
    refused_partner_files,
    safe_name,
)
from observatory.settings import Settings

T1 = datetime(2024, 4, 3, 12, 0, tzinfo=UTC)
T2 = datetime(2024, 5, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def drop(settings: Settings, name: str, content: bytes, partner: str = "p_test") -> Path:
    folder = settings.data_dir / "inbox" / partner
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)
    return folder / name


def test_new_file_lands_once_and_inbox_is_untouched(settings: Settings) -> None:
    dropped = drop(settings, "export.csv", b"a;b\n1;2\n")
    before = (dropped.read_bytes(), dropped.stat().st_mtime_ns)
    assert len(new_files(settings, "p_test")) == 1
    (first,) = land_inbox(settings, "p_test", licence="LO 2.0", now=T1)
    assert first.statut == RECU
    target = settings.data_dir / "raw/partenaires/p_test/20240403T120000Z/export.csv"
    assert first.raw.path == target and target.read_bytes() == b"a;b\n1;2\n"
    sidecar = json.loads((target.parent / "export.csv.meta.json").read_text())
    assert sidecar["source"] == "partenaire__p_test" and sidecar["profil"] == "inbox"
    assert sidecar["origine"] == "inbox/p_test/export.csv" and sidecar["licence"] == "LO 2.0"
    assert (dropped.read_bytes(), dropped.stat().st_mtime_ns) == before  # not moved, not changed
    assert new_files(settings, "p_test") == []
    # the same bytes again, under another name, later: a no-op
    drop(settings, "export (1).csv", b"a;b\n1;2\n")
    outcomes = land_inbox(settings, "p_test", now=T2)
    assert {o.statut for o in outcomes} == {DEJA_RECU}
    assert len(landed_partner_files(settings, "p_test")) == 1


def land_two_versions(settings: Settings) -> InboxOutcome:
    """`export.csv` landed at T1, then changed under the same name and landed at T2: the
    outcome of the second landing."""
    dropped = drop(settings, "export.csv", b"a\n1\n")
    land_inbox(settings, "p_test", now=T1)
    os.chmod(dropped, 0o644)
    dropped.write_bytes(b"a\n2\n")
    (outcome,) = land_inbox(settings, "p_test", now=T2)
    return outcome


def test_changed_file_under_same_name_lands_as_new_version(settings: Settings) -> None:
    outcome = land_two_versions(settings)
    assert outcome.statut == RECU
    assert [r.vintage for r in landed_partner_files(settings, "p_test")] == [
        "20240403T120000Z",
        "20240502T093000Z",
    ]


@pytest.mark.parametrize(
    "name",
    ["../x.csv", "a/../../x.csv", "/etc/passwd", "sous/dossier.csv", "..", "", "C:\\x.csv", "a\\b"],
)
def test_names_that_leave_the_folder_are_refused(settings: Settings, name: str) -> None:
    with pytest.raises(InboxError):
        safe_name(name)
    with pytest.raises(InboxError):
        land_inbox_file(settings, "p_test", name)


def test_oversize_links_and_temporary_files(settings: Settings, tmp_path: Path) -> None:
    drop(settings, "gros.csv", b"x" * 2000)
    drop(settings, "ok.csv", b"a\n1\n")
    drop(settings, ".cache", b"hidden")
    drop(settings, "~$export.xlsx", b"lock")
    drop(settings, "envoi.csv.part", b"partial")
    secret = tmp_path / "secret.txt"
    secret.write_text("outside")
    (settings.data_dir / "inbox/p_test/lien.csv").symlink_to(secret)
    outcomes = {o.fichier: o for o in land_inbox(settings, "p_test", taille_max=1000, now=T1)}
    assert set(outcomes) == {"gros.csv", "ok.csv", "lien.csv"}
    assert outcomes["ok.csv"].statut == RECU
    assert (
        outcomes["gros.csv"].statut == REFUSE
        and "limite de 1000 octets" in outcomes["gros.csv"].raison
    )
    assert (
        outcomes["lien.csv"].statut == REFUSE and "lien symbolique" in outcomes["lien.csv"].raison
    )


@pytest.mark.parametrize("partner", ["../x", "A", "x/y", ""])
def test_bad_partner_names_are_refused(settings: Settings, partner: str) -> None:
    with pytest.raises(InboxError):
        land_inbox(settings, partner)


@pytest.mark.parametrize(
    ("name", "landed"),
    [
        ("export.csv", "export.csv"),
        (os.fsdecode(b"caf\xe9.csv"), "caf-5a9e5e7e.csv"),
        ("a\nb.csv", "a_b-5a9e5e7e.csv"),
        ("x" * 200 + ".json", "x" * 80 + "-5a9e5e7e.json"),
        # published in `lieux.fichier_origine` and the manifest: never a person's contact
        (
            "lieux de m.dupont@gmail.com 06 12 34 56 78.csv",
            "lieux de xxx@gmail.com 0x-xx-xx-xx-xx.csv",
        ),
    ],
)
def test_names_the_sidecar_cannot_hold_get_a_safe_name(name: str, landed: str) -> None:
    assert nom_depose(name, "5a9e5e7e" + "0" * 56) == landed


def test_a_refused_landed_file_is_never_landed_or_read_again(settings: Settings) -> None:
    drop(settings, "f.csv", b"periode\n2024\n")
    (outcome,) = land_inbox(settings, "p_test")
    moved = refuse_landed(settings, outcome.raw, "illisible")
    assert landed_partner_files(settings, "p_test") == []
    assert refused_partner_files(settings, "p_test") == [moved]
    assert moved.path.read_bytes() == b"periode\n2024\n"
    assert (moved.path.parent / "f.csv.raison.txt").read_text() == "illisible\n"
    (again,) = land_inbox(settings, "p_test")
    assert again.statut == DEJA_REFUSE and new_files(settings, "p_test") == []


def test_a_new_version_under_the_same_name_lands_under_its_own_name(settings: Settings) -> None:
    """Rows are known by (file, line): two landed versions of `export.csv` never share a name."""
    outcome = land_two_versions(settings)
    digest = outcome.sha256 or ""
    assert [r.fichier for r in landed_partner_files(settings, "p_test")] == [
        "export.csv",
        f"export-{digest[:8]}.csv",
    ]
