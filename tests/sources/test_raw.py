import json
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from observatory.settings import PROJECT_ROOT, Settings
from observatory.sources.catalogue import COG_REGIONS, MEDNUM_LIEUX
from observatory.sources.raw import RawLayerError, land, land_source, landed, sha256_file


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
