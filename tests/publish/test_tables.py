import polars as pl
import pytest
from polars.testing import assert_frame_equal

from observatory.publish.schemas import field_names, load_table_schema
from observatory.publish.tables import (
    PublicationCheckError,
    build_indicateurs,
    build_indicateurs_large,
    build_lieux,
    check_tables,
)
from observatory.settings import PROJECT_ROOT
from tests.conftest import territoires_communes

TERRITOIRES = pl.DataFrame(
    {
        "niveau": ["commune", "commune", "departement", "france"],
        "code": ["16015", "17300", "16", "FR"],
        "nom": ["Angoulême", "La Rochelle", "Charente", "France"],
        "population": [41711, 79961, 41711, 121672],
        "code_epci": ["200071827", "241700434", None, None],
        "code_departement": ["16", "17", None, None],
        "code_region": ["75", "75", "75", None],
    }
)


def indicateur(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema=["niveau", "code", "indicateur", "annee", "valeur", "couverture"], orient="row"
    ).with_columns(
        pl.lit(None, pl.Float64).alias("ic_bas"),
        pl.lit(None, pl.Float64).alias("ic_haut"),
        pl.lit(False).alias("secret"),
        # the model's coverage weights: all or nothing of the territory covered
        pl.col("couverture").cast(pl.Float64).alias("poids_couvert"),
        pl.lit(1.0).alias("poids_total"),
        pl.col("couverture").cast(pl.Int64).alias("nb_communes_couvertes"),
        pl.lit(1).alias("nb_communes"),
    )


INDICATEURS = build_indicateurs(
    [
        indicateur(
            [
                ("commune", "16015", "nb_lieux", 2025, 2.0, True),
                ("commune", "17300", "nb_lieux", 2025, None, False),
                ("departement", "16", "nb_lieux", 2025, 2.0, True),
                ("departement", "16", "nb_lieux", 2024, 1.0, True),
                ("france", "FR", "nb_lieux", 2025, None, False),
            ]
        ),
    ]
)


def test_indicateurs_large_takes_latest_year_and_keeps_every_territory() -> None:
    large = build_indicateurs_large(INDICATEURS, TERRITOIRES, ["nb_lieux", "autre"])
    assert large.columns == ["niveau", "code", "nom", "population", "nb_lieux", "autre"]
    assert large["autre"].is_null().all()  # in the dictionary, not computed: null, never 0
    assert large.select("niveau", "code", "nb_lieux").rows() == [
        ("commune", "16015", 2.0),
        ("commune", "17300", None),
        ("departement", "16", 2.0),
        ("france", "FR", None),
    ]


def test_counts_of_things_are_integer_columns_of_indicateurs_large() -> None:
    """`nb_lieux` (unit `lieux`, `entier` in schemas/unites.yaml) is published as an integer,
    so SQL databases type it INTEGER; a fractional count is refused, never truncated."""
    large = build_indicateurs_large(INDICATEURS, TERRITOIRES, ["nb_lieux"], ["nb_lieux"])
    assert large.schema["nb_lieux"] == pl.Int64
    assert large["nb_lieux"].to_list() == [2, None, 2, None]
    schema = load_table_schema(PROJECT_ROOT / "schemas", "indicateurs_large")
    types = {f["name"]: f["type"] for f in schema["fields"]}
    assert types["nb_lieux_demarches"] == "integer" and types["rang_priorite"] == "integer"
    assert types["nb_illectronisme"] == "number"  # an estimate, not whole people
    fractional = INDICATEURS.with_columns(pl.col("valeur") + 0.5)
    with pytest.raises(PublicationCheckError, match="nb_lieux"):
        build_indicateurs_large(fractional, TERRITOIRES, ["nb_lieux"], ["nb_lieux"])


def test_checks_pass_on_consistent_tables() -> None:
    tables = {"territoires": TERRITOIRES, "indicateurs": INDICATEURS}
    assert check_tables(tables) == []


def en_france(frame: pl.DataFrame, column: str, value: float) -> pl.DataFrame:
    """`frame` with `column` set to `value` on the France row (code FR) only."""
    return frame.with_columns(
        pl.when(pl.col("code") == "FR").then(value).otherwise(pl.col(column)).alias(column)
    )


@pytest.mark.parametrize(
    ("table", "frame", "message"),
    [
        ("indicateurs", pl.concat([INDICATEURS, INDICATEURS.head(1)]), "duplicate"),
        (
            "indicateurs",
            en_france(INDICATEURS, "valeur", 0.0),
            "not covered",
        ),
        (
            "indicateurs",
            INDICATEURS.with_columns(pl.lit("99").alias("code")),
            "absent from territoires",
        ),
        (
            "territoires",
            en_france(TERRITOIRES, "population", 1),
            "FR population",
        ),
    ],
)
def test_checks_block(table: str, frame: pl.DataFrame, message: str) -> None:
    tables = {"territoires": TERRITOIRES, "indicateurs": INDICATEURS, table: frame}
    errors = check_tables(tables)
    assert any(message in e for e in errors), errors


def test_personal_contacts_are_never_published() -> None:
    tables = {
        "territoires": TERRITOIRES,
        "indicateurs": INDICATEURS,
        "lieux": pl.DataFrame({"id": ["a"], "nom_referent": ["Jeanne Dupont"]}),
    }
    assert any("personal columns ['nom_referent']" in e for e in check_tables(tables))


@pytest.mark.real_data
def test_build_lieux_allow_list(
    charente_raw, standard, communes, communes_deleguees, coordonnees
) -> None:
    from observatory.sources.readers import prenoms
    from observatory.transforms.dedup import find_duplicate_pairs, merge_duplicates
    from observatory.transforms.lieux import resolve_communes, stage_lieux
    from observatory.transforms.personal_data import (
        ecarter_donnees_personnelles,
        scan_personal_data,
    )

    cleaned, _ = ecarter_donnees_personnelles(charente_raw, prenoms())
    kept, _ = stage_lieux(cleaned, standard)
    resolved, _ = resolve_communes(kept, communes, communes_deleguees, coordonnees)
    merged = merge_duplicates(resolved, find_duplicate_pairs(resolved)).with_columns(
        pl.lit(None, pl.Int64).alias("nb_conseillers")
    )
    territoires = territoires_communes(
        communes, "nom", "code_epci", "code_departement", "code_region"
    )
    columns = field_names(load_table_schema(PROJECT_ROOT / "schemas", "lieux"))
    lieux = build_lieux(merged, territoires, columns)
    assert lieux.columns == columns
    # structures' contacts are published; nobody's personal e-mail or mobile is
    assert lieux["courriels"].drop_nulls().len() > 40 and "telephone" in lieux.columns
    assert scan_personal_data(lieux, prenoms()).is_empty()
    assert lieux.height == merged.height < resolved.height
    assert lieux["id"].is_unique().all()
    assert lieux["id"].str.starts_with("mednum__lieux:").all()
    merged_codes = {
        f"mednum__lieux:{i}": c for i, c in zip(merged["id"], merged["code_commune"], strict=True)
    }
    assert dict(zip(lieux["id"], lieux["code_insee"], strict=True)) == merged_codes
    assert lieux["code_departement"].unique().to_list() == ["16"]


def test_series_carry_the_previous_vintage_its_change_and_definition_breaks() -> None:
    """Each year of an indicator gets the change since the previous one; a changed definition
    of the source between them is flagged, an unknown one is not."""
    france_services = indicateur(
        [
            ("departement", "16", "nb_france_services", 2020, 6.0, True),
            ("departement", "16", "nb_france_services", 2022, 33.0, True),
            ("departement", "16", "nb_france_services", 2024, 35.0, True),
            ("departement", "17", "nb_france_services", 2020, None, False),
            ("departement", "17", "nb_france_services", 2022, 40.0, True),
        ]
    ).with_columns(
        pl.Series(
            "definition", ["sites labellisés", "sites labellisés", "sites et bus"] + ["x"] * 2
        )
    )
    sans_definition = indicateur(
        [
            ("departement", "16", "nb_lieux", 2024, 1.0, True),
            ("departement", "16", "nb_lieux", 2025, 4.0, True),
        ]
    )
    got = build_indicateurs([france_services, sans_definition]).select(
        "code", "indicateur", "annee", "annee_precedente", "evolution", "rupture_definition"
    )
    expected = pl.DataFrame(
        [
            ("16", "nb_france_services", 2020, None, None, None),
            ("16", "nb_france_services", 2022, 2020, 27.0, False),
            ("16", "nb_france_services", 2024, 2022, 2.0, True),
            ("16", "nb_lieux", 2024, None, None, None),
            ("16", "nb_lieux", 2025, 2024, 3.0, False),
            ("17", "nb_france_services", 2020, None, None, None),
            ("17", "nb_france_services", 2022, 2020, None, False),  # 2020 not covered
        ],
        schema={
            "code": pl.String,
            "indicateur": pl.String,
            "annee": pl.Int32,
            "annee_precedente": pl.Int32,
            "evolution": pl.Float64,
            "rupture_definition": pl.Boolean,
        },
        orient="row",
    )
    assert_frame_equal(got, expected)


def test_personal_columns_are_found_in_a_scanned_table(tmp_path) -> None:
    """The release checks a `TablesOnDemand` of scans: a personal column is refused there as
    in a frame."""
    from observatory.publish.release import TablesOnDemand

    scans = {}
    for nom, frame in {
        "territoires": TERRITOIRES,
        "indicateurs": INDICATEURS,
        "lieux": pl.DataFrame({"id": ["a"], "nom_referent": ["Jeanne Dupont"]}),
    }.items():
        frame.write_parquet(tmp_path / f"{nom}.parquet")
        scans[nom] = pl.scan_parquet(tmp_path / f"{nom}.parquet")
    tables = TablesOnDemand(scans)
    errors = check_tables(tables)
    assert any("personal columns ['nom_referent']" in e for e in errors), errors
    assert not any("territoires" in e or "indicateurs" in e for e in errors), errors


@pytest.mark.parametrize("scanne", [False, True])
def test_long_table_is_the_same_from_frames_or_scans(tmp_path, scanne: bool) -> None:
    """`pub_indicateurs` reads the models as scans: the table is the one built from frames."""
    modeles = [
        indicateur(
            [
                ("departement", "16", "nb_lieux", 2025, 2.0, True),
                ("departement", "16", "nb_lieux", 2024, 1.0, True),
                ("commune", "16015", "nb_lieux", 2025, 2.0, True),
            ]
        ),
        indicateur([("commune", "16015", "nb_conseillers", 2025, None, False)]).with_columns(
            pl.lit("v1").alias("definition")
        ),
    ]
    if scanne:
        for i, modele in enumerate(modeles):
            modele.write_parquet(tmp_path / f"m{i}.parquet")
        entrees = [pl.scan_parquet(tmp_path / f"m{i}.parquet") for i in range(len(modeles))]
    else:
        entrees = modeles
    colonnes = ["niveau", "code", "indicateur", "annee", "valeur", "couverture"]
    suite = ["annee_precedente", "evolution", "rupture_definition"]
    attendu = pl.DataFrame(
        [
            ("commune", "16015", "nb_conseillers", 2025, None, False, None, None, None),
            ("commune", "16015", "nb_lieux", 2025, 2.0, True, None, None, None),
            ("departement", "16", "nb_lieux", 2024, 1.0, True, None, None, None),
            ("departement", "16", "nb_lieux", 2025, 2.0, True, 2024, 1.0, False),
        ],
        schema={
            "niveau": pl.String,
            "code": pl.String,
            "indicateur": pl.String,
            "annee": pl.Int32,
            "valeur": pl.Float64,
            "couverture": pl.Boolean,
            "annee_precedente": pl.Int32,
            "evolution": pl.Float64,
            "rupture_definition": pl.Boolean,
        },
        orient="row",
    )
    obtenu = build_indicateurs(entrees).select(*colonnes, *suite)
    assert_frame_equal(obtenu, attendu)
