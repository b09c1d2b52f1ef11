import polars as pl
import pytest
from polars.testing import assert_frame_equal

from observatory.publish.changelog import (
    build_changelog,
    compare_indicators,
    compare_sources,
    compare_tables,
)


def indicateurs(rows: list[tuple[str, str, str, float | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {"niveau": n, "code": c, "indicateur": i, "annee": 2024, "valeur": v}
            for n, c, i, v in rows
        ],
        schema={
            "niveau": pl.String,
            "code": pl.String,
            "indicateur": pl.String,
            "annee": pl.Int32,
            "valeur": pl.Float64,
        },
    )


BEFORE = indicateurs(
    [
        ("france", "FR", "nb_lieux", 100.0),
        ("france", "FR", "lieux_pour_10k_hab", 1.5),
        ("departement", "16", "nb_lieux", 10.0),
        ("departement", "17", "nb_lieux", 20.0),
        ("departement", "2A", "nb_lieux", None),
    ]
)
AFTER = indicateurs(
    [
        ("france", "FR", "nb_lieux", 110.0),
        ("france", "FR", "lieux_pour_10k_hab", 1.5),
        ("departement", "16", "nb_lieux", 15.0),
        ("departement", "17", "nb_lieux", 21.0),
        ("departement", "2A", "nb_lieux", 3.0),
        ("departement", "2B", "nb_lieux", 4.0),
    ]
)


def test_compare_indicators_lists_only_moved_values() -> None:
    moved = compare_indicators(AFTER, BEFORE)
    assert moved.select("niveau", "code", "variation").rows() == [
        ("departement", "16", 5.0),
        ("departement", "17", 1.0),
        ("departement", "2A", None),  # was unknown, now known
        ("france", "FR", 10.0),
    ]
    assert moved.filter(pl.col("code") == "16")["variation_relative"].item() == 0.5


def test_compare_tables_counts_keys_added_and_removed() -> None:
    result = compare_tables(
        {"indicateurs": AFTER, "lieux": pl.DataFrame({"id": ["a"]})},
        {"indicateurs": BEFORE, "ancienne": pl.DataFrame({"id": ["z"]})},
        {"indicateurs": ("niveau", "code", "indicateur", "annee")},
    )
    expected = pl.DataFrame(
        {
            "table": ["ancienne", "indicateurs", "lieux"],
            "lignes_avant": [1, 5, None],
            "lignes": [None, 6, 1],
            "cles_ajoutees": [None, 1, None],
            "cles_retirees": [None, 0, None],
        },
        schema={
            "table": pl.String,
            "lignes_avant": pl.Int64,
            "lignes": pl.Int64,
            "cles_ajoutees": pl.Int64,
            "cles_retirees": pl.Int64,
        },
    )
    assert_frame_equal(result, expected)


def test_compare_sources() -> None:
    before = [
        {"source": "a", "fichier": "f", "millesime": "2019", "sha256": "1"},
        {"source": "b", "fichier": "g", "millesime": "2020", "sha256": "2"},
    ]
    after = [
        {"source": "a", "fichier": "f", "millesime": "2021", "sha256": "3"},
        {"source": "c", "fichier": "h", "millesime": "2022", "sha256": "4"},
    ]
    assert compare_sources(after, before).rows() == [
        ("a", "f", "2019", "2021", "modifiée"),
        ("b", "g", "2020", None, "retirée"),
        ("c", "h", None, "2022", "ajoutée"),
    ]


def test_changelog_against_previous_and_first_release() -> None:
    keys = {"indicateurs": ("niveau", "code", "indicateur", "annee")}
    manifest = {"release_id": "R2", "sources": []}
    previous = {"release_id": "R1", "created_at": "2026-01-01", "sources": []}
    text = build_changelog(
        manifest, {"indicateurs": AFTER}, previous, {"indicateurs": BEFORE}, keys
    )
    assert "publication précédente **R1**" in text
    assert "| nb_lieux | 2024 | 100 | 110 | +10 |" in text  # signed change, French format
    assert "lieux_pour_10k_hab" not in text  # did not move
    top = text.split("le plus changé")[1]
    assert top.index("| departement | 16 |") < top.index("| departement | 17 |")  # +50 % > +5 %
    first = build_changelog(manifest, {"indicateurs": AFTER}, None, None, keys)
    assert "Première publication" in first and "| indicateurs | 6 |" in first


@pytest.mark.parametrize("scanne", [False, True])
@pytest.mark.parametrize(
    ("nouvelles", "anciennes", "ajoutees", "retirees"),
    [
        (["a", "a", "b", None], ["b", "b", "c", None], 1, 1),  # repeated keys count once
        (["a", "b"], ["a", "b"], 0, 0),
        (["a", "b", "c"], [], 3, 0),
        ([None, None], ["a"], 1, 1),  # a missing key is one key, equal to itself
    ],
)
def test_keys_added_and_removed_are_distinct_keys(
    tmp_path, scanne: bool, nouvelles: list, anciennes: list, ajoutees: int, retirees: int
) -> None:
    """Keys are compared as sets, from frames or from scans of a release's files."""
    tables = []
    for nom, cles in (("nouvelle", nouvelles), ("ancienne", anciennes)):
        frame = pl.DataFrame(
            {"id": cles, "valeur": range(len(cles))}, schema_overrides={"id": pl.String}
        )
        if scanne:
            frame.write_parquet(tmp_path / f"{nom}.parquet")
            tables.append(pl.scan_parquet(tmp_path / f"{nom}.parquet"))
        else:
            tables.append(frame)
    result = compare_tables({"lieux": tables[0]}, {"lieux": tables[1]}, {"lieux": ("id",)})
    assert result.row(0) == ("lieux", len(anciennes), len(nouvelles), ajoutees, retirees)
