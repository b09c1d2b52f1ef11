"""`partners.staging`: a partner's files read one at a time, each reported, none blocking."""

from __future__ import annotations

import html
import os
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from observatory.partners.inbox import land_inbox, refused_partner_files
from observatory.partners.mappings import load_mappings
from observatory.partners.staging import stage_partner
from observatory.settings import PROJECT_ROOT, Settings

PASS = load_mappings(PROJECT_ROOT / "schemas/partners")["exemple_pass_numerique"]
HEAD = "siren_epci;periode;nb_pass_emis;nb_pass_utilises\n"


def _drop(settings: Settings, name: str, content: str, now: datetime) -> None:
    folder = settings.data_dir / "inbox" / PASS.partenaire
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if path.exists():
        os.chmod(path, 0o644)
    path.write_text(content, encoding="utf-8")
    land_inbox(settings, PASS.partenaire, now=now)


def test_a_corrected_file_under_the_same_name_replaces_the_old_rows(tmp_path: Path) -> None:
    """The same file name sent again with a corrected count: the new rows count, the old
    file's report says they were replaced, and rows in = kept + rejected for each."""
    settings = Settings(data_dir=tmp_path / "data")
    _drop(settings, "pass.csv", HEAD + "200071827;2023;40;12\n", datetime(2024, 4, 3, tzinfo=UTC))
    _drop(settings, "pass.csv", HEAD + "200071827;2023;41;12\n", datetime(2024, 5, 3, tzinfo=UTC))
    staged = stage_partner(settings, PASS)
    assert staged.illisibles == []
    assert staged.kept.select("code", "nb_pass_emis").rows() == [("200071827", 41)]
    retours = settings.data_dir / "retours" / PASS.partenaire
    old = (retours / "pass.csv.retour.html").read_text(encoding="utf-8")
    assert "1 lignes lues : 0 reprises, 1 écartées" in old and "plus récent" in old
    (new,) = (p for p in retours.glob("pass-*.csv.retour.html"))
    assert "1 lignes lues : 1 reprises, 0 écartées" in new.read_text(encoding="utf-8")


def test_a_file_that_crashes_the_reader_is_refused_alone(tmp_path: Path, monkeypatch) -> None:
    """Any exception while reading one file (here the reader itself fails on it) refuses that
    file only: moved to raw/_refuses, reported in French, the other file staged."""
    from observatory.partners import staging

    settings = Settings(data_dir=tmp_path / "data")
    when = datetime(2024, 4, 3, tzinfo=UTC)
    _drop(settings, "bon.csv", HEAD + "200071827;2023;40;12\n", when)
    _drop(settings, "piege.csv", HEAD + "200070514;2023;40;12\n", when)
    real = staging.read_partner

    def reader(content: bytes, fichier: str, *args, **kwargs):
        if fichier == "piege.csv":
            raise KeyError("colonne interne")
        return real(content, fichier, *args, **kwargs)

    monkeypatch.setattr(staging, "read_partner", reader)
    staged = stage_partner(settings, PASS)
    assert staged.kept["fichier_origine"].to_list() == ["bon.csv"]
    assert [r.fichier for r in refused_partner_files(settings, PASS.partenaire)] == ["piege.csv"]
    page = settings.data_dir / "retours" / PASS.partenaire / "piege.csv.retour.html"
    assert "n'a pas pu être lu (erreur KeyError)" in html.unescape(page.read_text(encoding="utf-8"))
    monkeypatch.setattr(staging, "read_partner", real)
    again = stage_partner(settings, PASS)  # never read again
    assert again.illisibles == [] and again.kept.height == 1
    assert isinstance(again.quarantine, pl.DataFrame)


def test_a_landed_file_altered_since_reception_is_refused(tmp_path: Path) -> None:
    """A count changed by hand in the raw layer (the landed copy is read-only, never
    rewritten): the file no longer matches its sidecar's sha256, so it is refused, reported,
    and its rows are not staged; the partner's other file is."""
    settings = Settings(data_dir=tmp_path / "data")
    when = datetime(2024, 4, 3, tzinfo=UTC)
    _drop(settings, "bon.csv", HEAD + "200071827;2023;40;12\n", when)
    _drop(settings, "altere.csv", HEAD + "200070514;2023;10;3\n", when)
    (landed,) = (p for p in (settings.raw_dir / "partenaires").rglob("altere.csv"))
    os.chmod(landed, 0o644)
    landed.write_text(HEAD + "200070514;2023;4000;3\n", encoding="utf-8")  # same length + 2
    staged = stage_partner(settings, PASS)
    assert staged.kept["fichier_origine"].to_list() == ["bon.csv"]
    assert staged.kept["nb_pass_emis"].to_list() == [40]
    (message,) = staged.illisibles
    assert message.startswith("altere.csv : fichier brut altéré depuis sa réception")
    assert [r.fichier for r in refused_partner_files(settings, PASS.partenaire)] == ["altere.csv"]
    page = settings.data_dir / "retours" / PASS.partenaire / "altere.csv.retour.html"
    assert "altéré depuis sa réception" in html.unescape(page.read_text(encoding="utf-8"))
    again = stage_partner(settings, PASS)  # refused once, never read again
    assert again.illisibles == [] and again.kept["fichier_origine"].to_list() == ["bon.csv"]
