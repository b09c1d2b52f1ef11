"""The live catalogue is data (`schemas/sources/live.yaml`): read, typed and checked."""

from __future__ import annotations

import pytest

from observatory.sources.catalogue import SOURCES
from observatory.sources.live import (
    LIVE_URLS,
    SANS_FICHIER_LIVE,
    LiveCatalogueError,
    parse_live_catalogue,
)

URL = {"url": "https://example.org/a.csv", "evidence": "DOCS", "expect": "csv", "seen_in": "x"}


def test_every_source_is_live_or_says_why_not() -> None:
    keys = {s.key for s in SOURCES}
    assert set(LIVE_URLS) | set(SANS_FICHIER_LIVE) == keys
    assert not set(LIVE_URLS) & set(SANS_FICHIER_LIVE)
    assert {s.key for s in SOURCES if s.live} <= set(LIVE_URLS)


def test_a_good_entry_is_typed() -> None:
    sources, sans = parse_live_catalogue(
        {
            "sources": [
                {
                    "key": "a__b",
                    "title": "T",
                    "page": None,
                    "files": [{"name": "a.csv", "url": URL}],
                }
            ],
            "sans_fichier_live": {"c__d": "pourquoi"},
        }
    )
    assert sources["a__b"].files[0].url.url == URL["url"]
    assert sources["a__b"].evidence == "DOCS" and sans == {"c__d": "pourquoi"}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"key": "a__b", "title": "T", "files": []}, r"sources\[0\] \(a__b\): no file"),
        (
            {
                "key": "a__b",
                "title": "T",
                "files": [{"name": "a.csv", "url": {**URL, "evidence": "RUMEUR"}}],
            },
            "evidence 'RUMEUR'",
        ),
        (
            {
                "key": "a__b",
                "title": "T",
                "files": [{"name": "a.csv", "url": {**URL, "url": "http://x"}}],
            },
            "not an https URL",
        ),
        (
            {
                "key": "a__b",
                "title": "T",
                "files": [{"name": "a.csv", "url": {"url": "https://x"}}],
            },
            r"a__b\) a.csv: champ manquant",
        ),
    ],
)
def test_a_bad_entry_names_itself(entry: dict, message: str) -> None:
    with pytest.raises(LiveCatalogueError, match=message):
        parse_live_catalogue({"sources": [entry]})


def test_a_source_listed_twice_or_both_ways_is_refused() -> None:
    entry = {"key": "a__b", "title": "T", "files": [{"name": "a.csv", "url": URL}]}
    with pytest.raises(LiveCatalogueError, match="listed twice"):
        parse_live_catalogue({"sources": [entry, entry]})
    with pytest.raises(LiveCatalogueError, match="both live and without"):
        parse_live_catalogue({"sources": [entry], "sans_fichier_live": {"a__b": "x"}})
