import json
import os
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from observatory.settings import PROJECT_ROOT, Settings
from observatory.sources.catalogue import COG_REGIONS, MEDNUM_LIEUX
from observatory.sources.raw import (
    RawLayerError,
    land,
    land_source,
    landed,
    nettoie_temporaires,
    sha256_file,
    verifie_empreinte,
    verifie_tous,
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.mark.real_data
def test_land_writes_bytes_and_sidecar(settings: Settings) -> None:
    (raw,) = land_source(settings, MEDNUM_LIEUX)
    bundled = PROJECT_ROOT / "assets" / MEDNUM_LIEUX.files[0].bundled
    assert raw.path == settings.data_dir / "raw/mednum/2025-02-06" / MEDNUM_LIEUX.files[0].name
    assert raw.path.read_bytes() == bundled.read_bytes()
    sidecar = json.loads(raw.path.with_name(raw.path.name + ".meta.json").read_text())
    assert sidecar["sha256"] == sha256_file(bundled) == raw.sha256
    assert sidecar["taille_octets"] == bundled.stat().st_size
    assert sidecar["origine"].startswith("assets/mednum_lieux/")
    assert "anct-cartographie-nationale" in sidecar["origine"]
    assert sidecar["recupere_le"] and sidecar["profil"] == "offline"
    assert not raw.path.stat().st_mode & stat.S_IWUSR  # landed files are read-only


@pytest.mark.real_data
def test_landing_again_is_a_no_op(settings: Settings) -> None:
    first = land(settings, COG_REGIONS, COG_REGIONS.files[0])
    again = land(settings, COG_REGIONS, COG_REGIONS.files[0])
    assert again == first  # same sidecar: retrieval time not rewritten
    assert landed(settings, COG_REGIONS) == [first]


@pytest.mark.real_data
def test_changed_bytes_under_same_vintage_are_refused(settings: Settings, tmp_path: Path) -> None:
    land(settings, COG_REGIONS, COG_REGIONS.files[0])
    assets = tmp_path / "assets"
    (assets / "cog_2026").mkdir(parents=True)
    (assets / "cog_2026/regions.csv").write_text("code,nom\n01,Guadeloupe modifiée\n")
    changed = replace(settings, assets_dir=assets)
    with pytest.raises(RawLayerError, match="a changed file needs a new vintage"):
        land(changed, COG_REGIONS, COG_REGIONS.files[0])


def test_missing_bundle_and_unlanded_source_fail_clearly(
    settings: Settings, tmp_path: Path
) -> None:
    empty = replace(settings, assets_dir=tmp_path / "empty")
    with pytest.raises(RawLayerError, match="bundled file missing"):
        land(empty, COG_REGIONS, COG_REGIONS.files[0])
    with pytest.raises(RawLayerError, match="materialise raw_cog__regions first"):
        landed(settings, COG_REGIONS)


def test_unknown_profile_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="OBSERVATORY_PROFILE"):
        Settings(data_dir=tmp_path, profile="prod")


@pytest.mark.real_data
def test_altered_landed_file_is_named_on_the_next_run(settings: Settings) -> None:
    """Guarantee: a landed file changed after landing (one count edited) is re-hashed on the
    next landing and refused with a French message naming the file; a missing one too."""
    (raw,) = land_source(settings, COG_REGIONS)
    assert verifie_empreinte(raw) is None
    raw.path.chmod(0o644)
    raw.path.write_bytes(raw.path.read_bytes().replace(b"Guadeloupe", b"Guadeloupf"))
    probleme = verifie_empreinte(raw)
    assert probleme is not None
    assert f"fichier brut altéré depuis sa réception : {raw.path}" in probleme
    assert "regions.csv.meta.json" in probleme and raw.sha256[:12] in probleme
    with pytest.raises(RawLayerError, match=r"altéré.*rien n'est publié"):
        land(settings, COG_REGIONS, COG_REGIONS.files[0])
    with pytest.raises(RawLayerError, match=r"regions\.csv.*rien n'est publié"):
        verifie_tous([raw])
    raw.path.unlink()
    assert "fichier brut absent" in (verifie_empreinte(raw) or "")


def test_temporary_files_of_dead_writers_are_removed(tmp_path: Path) -> None:
    """Guarantee: a write killed mid-way leaves `.<file>.ecriture-<pid>.<random>`; the next
    run removes those of dead processes, never a running writer's nor any other file."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    folder = tmp_path / "raw" / "partenaires" / "p" / "20260101T000000Z"
    folder.mkdir(parents=True)
    stale = folder / f".export.csv.ecriture-{dead.pid}.ab12cd34"
    running = folder / f".export.csv.ecriture-{os.getpid()}.ef56gh78"
    kept = [folder / "export.csv", folder / ".cache", folder / "x.ecriture-1.csv"]
    for path in (stale, running, *kept):
        path.write_bytes(b"16;2024\n")
    assert nettoie_temporaires(tmp_path / "raw") == [stale]
    assert not stale.exists() and running.exists() and all(p.exists() for p in kept)
    assert nettoie_temporaires(tmp_path / "absent") == []
    alone = folder.parent / "20260102T000000Z"  # a landing killed before anything was renamed
    alone.mkdir()
    (alone / f".export.csv.ecriture-{dead.pid}.ij90kl12").write_bytes(b"16;2024\n")
    (tmp_path / "raw" / f".a.ecriture-{dead.pid}.mn34op56").write_bytes(b"")
    assert len(nettoie_temporaires(tmp_path / "raw")) == 2
    assert not alone.exists() and (tmp_path / "raw").is_dir()  # the root itself stays


@pytest.mark.real_data
def test_a_moved_data_directory_reads_its_files_where_they_now_are(
    settings: Settings, tmp_path: Path
) -> None:
    """Sidecars say where a file was written; a data directory moved (or restored from a
    backup elsewhere) must still find, check and list its files, never the old place."""
    first = land(settings, COG_REGIONS, COG_REGIONS.files[0])
    moved = replace(settings, data_dir=tmp_path / "ailleurs")
    settings.data_dir.rename(moved.data_dir)
    (raw,) = landed(moved, COG_REGIONS)
    assert raw.path == moved.data_dir / first.path.relative_to(settings.data_dir)
    assert verifie_empreinte(raw) is None
    assert land(moved, COG_REGIONS, COG_REGIONS.files[0]).path == raw.path
