"""User-defined zonings: parsing, rebasing, partition checks; small tables, then the real COG."""

from __future__ import annotations

from functools import cache

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from observatory.transforms.cog import stage_communes, stage_reference
from observatory.transforms.rebasing import build_passage
from observatory.transforms.territories import build_appartenances, build_territoires
from observatory.transforms.zonings import (
    APPARTENANCES_SCHEMA,
    COMMUNES_INCONNUES,
    COMMUNES_SCINDEES,
    DEPUIS_ZONAGES,
    EN_DOUBLE,
    EPCI_INCONNUS,
    HORS_PERIMETRE,
    INVALIDES,
    OUBLIEES,
    PERIMETRE_INCONNU,
    DeclarationZonage,
    ZonageError,
    niveau_zonage,
    parse_perimetre,
    parse_zonage_csv,
    parse_zonage_yaml,
    valider_zonage,
    valider_zonages,
)
from tests.conftest import ASSETS, read_numbered

# --- small reference ----------------------------------------------------------------------
# EPCI 200000002 straddles the départements 16 and 17.
COMMUNES = pl.DataFrame(
    [
        ("16001", "Aa", "200000001", "16", "75", 100),
        ("16002", "Bb", "200000001", "16", "75", 200),
        ("16003", "Cc", "200000002", "16", "75", 300),
        ("17001", "Dd", "200000002", "17", "75", 400),
        ("17002", "Ee", "200000003", "17", "75", 500),
    ],
    schema=["code_commune", "nom", "code_epci", "code_departement", "code_region", "population"],
    orient="row",
)
TERRITOIRES = build_territoires(
    COMMUNES,
    pl.DataFrame({"code": ["200000001", "200000002", "200000003"], "nom": ["E1", "E2", "E3"]}),
    pl.DataFrame(
        {"code": ["16", "17"], "nom": ["Charente", "Charente-Maritime"], "code_region": ["75"] * 2}
    ),
    pl.DataFrame({"code": ["75"], "nom": ["Nouvelle-Aquitaine"]}),
    millesime_cog=2026,
)
APPARTENANCES = build_appartenances(TERRITOIRES)
# 16901 merged into 16001; 16903's territory is now in 16003 and 17001.
PASSAGE = pl.DataFrame(
    [
        ("16001", "16001", "identique", True),
        ("16901", "16001", "ancien_code", True),
        ("16903", "16003", "scission", True),
        ("16903", "17001", "scission", False),
    ],
    schema=["code_source", "code_commune", "type_passage", "retenu"],
    orient="row",
)


def _csv(rows: list[tuple[str, str, str | None]], perimetre: str | None = None):
    frame = pl.DataFrame(
        rows, schema=["code_commune", "code_zone", "nom_zone"], orient="row", strict=False
    )
    return parse_zonage_csv(frame, perimetre=perimetre)


def _valide(declaration: DeclarationZonage, nom: str = "test"):
    return valider_zonage(nom, declaration, APPARTENANCES, TERRITOIRES, PASSAGE)


def _appartenances(rows: list[tuple[str, str]], nom: str = "test") -> pl.DataFrame:
    return pl.DataFrame(
        [(c, f"zonage:{nom}", z) for c, z in rows], schema=APPARTENANCES_SCHEMA, orient="row"
    )


def _territoires(rows: list[tuple[str, str, int]], nom: str = "test") -> pl.DataFrame:
    frame = pl.DataFrame(
        [(f"zonage:{nom}", *row) for row in rows],
        schema=["niveau", "code", "nom", "population"],
        orient="row",
    )
    return (
        frame.with_columns(
            pl.lit(None).alias(c) for c in TERRITOIRES.columns if c not in frame.columns
        )
        .with_columns(pl.lit(2026).alias("millesime_cog"))
        .select(TERRITOIRES.columns)
        .cast(dict(TERRITOIRES.schema))
    )


# --- accepted zonings ---------------------------------------------------------------------

ACCEPTES = [
    pytest.param(
        _csv([("16001", "x", "Zone X"), ("16002", "x", None), ("16003", "y", "Zone Y")]),
        [("16001", "x"), ("16002", "x"), ("16003", "y")],
        [("x", "Zone X", 300), ("y", "Zone Y", 300)],
        id="communes-only-scope-is-what-is-listed",
    ),
    pytest.param(
        parse_zonage_yaml({"zones": [{"code": "x", "epci": ["200000002"]}]}),
        [("16003", "x"), ("17001", "x")],
        [("x", "x", 700)],
        id="epci-straddling-two-departements-taken-whole",
    ),
    pytest.param(
        _csv([("16901", "x", None), ("16001", "x", None), ("16002", "y", None)]),
        [("16001", "x"), ("16002", "y")],
        [("x", "x", 100), ("y", "y", 200)],
        id="former-code-rebased-and-counted-once-in-its-zone",
    ),
    pytest.param(
        parse_zonage_yaml(
            {
                "perimetre": "departement 16",
                "zones": [
                    {"code": "x", "nom": "Ouest", "epci": ["200000001"]},
                    {"code": "y", "communes": ["16003"]},
                ],
            }
        ),
        [("16001", "x"), ("16002", "x"), ("16003", "y")],
        [("x", "Ouest", 300), ("y", "y", 300)],
        id="perimetre-fully-covered-part-of-a-straddling-epci",
    ),
    pytest.param(
        parse_zonage_yaml(
            {
                "perimetre": ["epci 200000001", "epci 200000003"],
                "zones": [{"code": "x", "epci": ["200000001"], "communes": ["17002", "16001"]}],
            }
        ),
        [("16001", "x"), ("16002", "x"), ("17002", "x")],
        [("x", "x", 800)],
        id="commune-and-its-epci-in-the-same-zone",
    ),
]


@pytest.mark.parametrize(("declaration", "appartenances", "territoires"), ACCEPTES)
def test_accepted_zonings(declaration, appartenances, territoires) -> None:
    got_appartenances, got_territoires = _valide(declaration)
    assert_frame_equal(got_appartenances, _appartenances(appartenances))
    assert_frame_equal(got_territoires, _territoires(territoires))


@pytest.mark.parametrize(("declaration", "appartenances", "territoires"), ACCEPTES)
def test_population_of_zones_is_the_population_of_the_scope(
    declaration, appartenances, territoires
) -> None:
    got_appartenances, got_territoires = _valide(declaration)
    scope = COMMUNES.join(got_appartenances, on="code_commune", how="semi")
    assert got_territoires["population"].sum() == scope["population"].sum()
    assert got_appartenances["code_commune"].is_unique().all()


def test_outputs_append_to_the_reference() -> None:
    appartenances, territoires = _valide(ACCEPTES[0].values[0])
    assert pl.concat([APPARTENANCES, appartenances]).height == APPARTENANCES.height + 3
    both = pl.concat([TERRITOIRES, territoires])
    assert both.select("niveau", "code").is_unique().all()


# --- refused zonings ----------------------------------------------------------------------

REFUSES = [
    pytest.param(
        _csv([("16001", "x", None), ("16002", "x", None), ("16001", "y", None)]),
        {EN_DOUBLE: ["16001"]},
        ["16001 Aa", "zones x, y", "ligne 2", "ligne 4"],
        id="commune-in-two-zones",
    ),
    pytest.param(
        parse_zonage_yaml(
            {
                "zones": [
                    {"code": "x", "epci": ["200000001"]},
                    {"code": "y", "communes": ["16002"]},
                ]
            }
        ),
        {EN_DOUBLE: ["16002"]},
        ["16002 Bb", "EPCI 200000001"],
        id="commune-in-a-zone-and-through-its-epci-in-another",
    ),
    pytest.param(
        _csv([("16901", "x", None), ("16001", "y", None)]),
        {EN_DOUBLE: ["16001"]},
        ["16001 Aa", "16901 → 16001"],
        id="former-code-and-current-code-in-two-zones",
    ),
    pytest.param(
        _csv([("16001", "x", None), ("16002", "x", None)], perimetre="departement 16"),
        {OUBLIEES: ["16003"]},
        ["16003 Cc (EPCI 200000002)", "oubliées"],
        id="forgotten-commune-of-the-perimetre",
    ),
    pytest.param(
        _csv([("16003", "x", None)], perimetre="epci=200000002"),
        {OUBLIEES: ["17001"]},
        ["17001 Dd"],
        id="epci-partly-covered-rest-in-no-zone",
    ),
    pytest.param(
        parse_zonage_yaml(
            {
                "perimetre": "departement 16",
                "zones": [{"code": "x", "epci": ["200000001", "200000002"]}],
            }
        ),
        {HORS_PERIMETRE: ["17001"]},
        ["17001 Dd", "departement 16"],
        id="straddling-epci-outside-the-perimetre",
    ),
    pytest.param(
        _csv([("16001", "x", None), ("16999", "x", None)]),
        {COMMUNES_INCONNUES: ["16999"]},
        ["ligne 3 : 16999"],
        id="unknown-commune-code",
    ),
    pytest.param(
        _csv([("16903", "x", None)]),
        {COMMUNES_SCINDEES: ["16903"]},
        ["16903 → 16003, 17001"],
        id="former-code-now-split",
    ),
    pytest.param(
        parse_zonage_yaml({"zones": [{"code": "x", "epci": ["200000009"]}]}),
        {EPCI_INCONNUS: ["200000009"]},
        ["200000009"],
        id="unknown-epci",
    ),
    pytest.param(
        _csv([("16001", "x", None)], perimetre="departement 99"),
        {PERIMETRE_INCONNU: ["departement 99"]},
        ["departement 99"],
        id="unknown-perimetre",
    ),
    pytest.param(
        _csv(
            [("16001", "x", None), ("16001", "y", None), ("16999", "y", None)],
            perimetre="departement 16",
        ),
        {COMMUNES_INCONNUES: ["16999"], EN_DOUBLE: ["16001"], OUBLIEES: ["16002", "16003"]},
        ["16999", "16001 Aa", "16002 Bb", "16003 Cc"],
        id="every-problem-reported-at-once",
    ),
]


@pytest.mark.parametrize(("declaration", "details", "fragments"), REFUSES)
def test_refused_zonings_name_the_communes(declaration, details, fragments) -> None:
    with pytest.raises(ZonageError) as refus:
        _valide(declaration)
    assert refus.value.details == details
    message = str(refus.value)
    assert message.startswith("zonage 'test' refusé")
    for fragment in fragments:
        assert fragment in message


@pytest.mark.parametrize(
    ("nom", "valide"),
    [
        ("charente_3_zones", True),
        ("reseaux56", True),
        ("Charente", False),
        ("zone-nord", False),
        ("réseaux", False),
        ("a b", False),
        ("", False),
        ("zonage:x", False),
    ],
)
def test_zoning_name(nom: str, valide: bool) -> None:
    if valide:
        assert niveau_zonage(nom) == f"zonage:{nom}"
    else:
        with pytest.raises(ZonageError, match="nom de zonage"):
            niveau_zonage(nom)


def test_several_zonings_concatenated_and_refusals_gathered() -> None:
    bon = _csv([("16001", "x", None)])
    appartenances, territoires = valider_zonages(
        [("a", bon), ("b", bon)], APPARTENANCES, TERRITOIRES, PASSAGE
    )
    assert appartenances["niveau"].to_list() == ["zonage:a", "zonage:b"]
    assert territoires["niveau"].to_list() == ["zonage:a", "zonage:b"]
    mauvais = _csv([("16999", "x", None)])
    with pytest.raises(ZonageError) as refus:
        valider_zonages(
            [("a", mauvais), ("b", bon), ("c", mauvais)], APPARTENANCES, TERRITOIRES, PASSAGE
        )
    assert "zonage 'a'" in str(refus.value)
    assert "zonage 'c'" in str(refus.value)
    assert refus.value.details == {COMMUNES_INCONNUES: ["16999", "16999"]}
    aucune = valider_zonages([], APPARTENANCES, TERRITOIRES, PASSAGE)
    assert [frame.height for frame in aucune] == [0, 0]
    assert aucune[0].schema == APPARTENANCES.schema
    assert aucune[1].schema == TERRITOIRES.schema
    with pytest.raises(ZonageError, match="plusieurs fois : a"):
        valider_zonages([("a", bon), ("a", bon)], APPARTENANCES, TERRITOIRES, PASSAGE)


# --- parsing ------------------------------------------------------------------------------


def test_csv_codes_and_columns_normalised() -> None:
    frame = pl.DataFrame(
        {
            "Code commune": ["1001", " 2a004 ", "16015"],
            "Code_Zone": ["n", "n", "s"],
            "Nom zone": ["Nord", "", "Sud"],
            "nom_commune": ["x", "y", "z"],
        }
    )
    got = parse_zonage_csv(frame).affectations
    expected = pl.DataFrame(
        {
            "type_code": ["commune"] * 3,
            "code": ["01001", "2A004", "16015"],
            "code_zone": ["n", "n", "s"],
            "nom_zone": ["Nord", "Nord", "Sud"],
            "origine": ["ligne 2", "ligne 3", "ligne 4"],
        }
    )
    assert_frame_equal(got, expected)


@pytest.mark.parametrize(
    ("frame", "fragment"),
    [
        (
            pl.DataFrame({"code_commune": ["16001", "160O1"], "code_zone": ["x", "x"]}),
            "ligne 3 : '160O1'",
        ),
        (pl.DataFrame({"code_commune": ["20004"], "code_zone": ["x"]}), "code_corse_sans_2a_2b"),
        (pl.DataFrame({"commune": ["16001"], "code_zone": ["x"]}), "colonnes manquantes"),
        (pl.DataFrame({"code_commune": ["16001"], "code_zone": ["x y"]}), "code de zone"),
        (pl.DataFrame({"code_commune": ["16001"], "code_zone": [""]}), "code de zone"),
        (
            pl.DataFrame(
                {
                    "code_commune": ["16001", "16002"],
                    "code_zone": ["x", "x"],
                    "nom_zone": ["A", "B"],
                }
            ),
            "x : A / B",
        ),
        (pl.DataFrame(schema={"code_commune": pl.String, "code_zone": pl.String}), "aucune"),
    ],
)
def test_csv_refused(frame: pl.DataFrame, fragment: str) -> None:
    with pytest.raises(ZonageError) as refus:
        parse_zonage_csv(frame, fichier="z.csv")
    assert str(refus.value).startswith("z.csv")
    assert fragment in str(refus.value)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ([], "attendu un objet"),
        ({"zones": []}, "liste non vide"),
        ({"zone": [{"code": "x", "epci": ["200000001"]}]}, "clés inconnues ['zone']"),
        ({"zones": [{"code": "x", "epcis": ["200000001"]}]}, "clés inconnues ['epcis']"),
        ({"zones": [{"nom": "x", "epci": ["200000001"]}]}, "zone sans `code`"),
        ({"zones": [{"code": "x"}]}, "sans `epci` ni `communes`"),
        (
            {"zones": [{"code": "x", "epci": ["200000001"]}, {"code": "x", "communes": ["16003"]}]},
            "zone 'x' déjà déclarée",
        ),
        ({"zones": [{"code": "x", "epci": ["24160030"]}]}, "codes EPCI invalides"),
        ({"zones": [{"code": "x", "communes": [{"a": 1}]}]}, "liste de codes"),
        ({"zones": [{"code": "x", "communes": ["160"]}]}, "'160'"),
        ({"zones": [{"code": "x", "communes": ["16001"]}], "perimetre": "16"}, "niveau code"),
    ],
)
def test_yaml_refused(data: object, fragment: str) -> None:
    with pytest.raises(ZonageError) as refus:
        parse_zonage_yaml(data, fichier="z.yaml")
    assert str(refus.value).startswith("z.yaml")
    assert fragment in str(refus.value)


def test_yaml_codes_given_as_numbers_or_one_scalar() -> None:
    got = parse_zonage_yaml(
        {"zones": [{"code": 1, "epci": 241600303, "communes": [16015, "1001"]}]}
    ).affectations
    assert got.select("type_code", "code", "code_zone").rows() == [
        ("epci", "241600303", "1"),
        ("commune", "16015", "1"),
        ("commune", "01001", "1"),
    ]


@pytest.mark.parametrize(
    ("valeur", "attendu"),
    [
        (None, ()),
        ("departement 16", (("departement", "16"),)),
        ("departement=56", (("departement", "56"),)),
        ("Departement: 2A", (("departement", "2A"),)),
        ("epci 200071827, departement 17", (("epci", "200071827"), ("departement", "17"))),
        (["region 75", "departement 16"], (("region", "75"), ("departement", "16"))),
    ],
)
def test_parse_perimetre(valeur: object, attendu: tuple) -> None:
    assert parse_perimetre(valeur) == attendu


# --- real data ----------------------------------------------------------------------------


@cache
def referentiel_reel() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(territoires, appartenances, passage) built from the bundled COG 2026 and movements."""
    cog = ASSETS / "cog_2026"
    communes, _ = stage_communes(read_numbered(cog / "communes.csv", "cog__communes"))

    def reference(fichier: str, code: str = "code") -> pl.DataFrame:
        return stage_reference(pl.read_csv(cog / fichier, infer_schema=False), code)

    territoires = build_territoires(
        communes,
        reference("epci.csv", "code_epci"),
        reference("departements.csv"),
        reference("regions.csv"),
        millesime_cog=2026,
    )
    mouvements = ASSETS / "insee_cog_mouvements"
    passage = build_passage(
        pl.read_parquet(mouvements / "passage_communes_historique_vers_cog2025_national.parquet"),
        pl.read_parquet(mouvements / "mvt_communes_insee_cog2025_national.parquet"),
        communes,
        DEPUIS_ZONAGES,
    )
    return territoires, build_appartenances(territoires), passage


def _valide_reel(declaration: DeclarationZonage):
    territoires, appartenances, passage = referentiel_reel()
    return valider_zonage("reel", declaration, appartenances, territoires, passage)


@pytest.mark.real_data
def test_real_former_codes_rebased() -> None:
    # Éraville and Nonaville are in Bellevigne since 2017; 75101 is Paris 1er arrondissement.
    appartenances, _ = _valide_reel(
        _csv(
            [("16129", "a", None), ("16247", "a", None), ("16015", "b", None), ("75101", "c", None)]
        )
    )
    assert appartenances.select("code_commune", "code").rows() == [
        ("16015", "b"),
        ("16204", "a"),
        ("75056", "c"),
    ]


@pytest.mark.real_data
def test_real_split_code_refused_naming_the_communes() -> None:
    # La Neuville-Garnier (60455) joined Les Hauts-Talican in 2019, split again in 2024:
    # its territory is now in Beaumont-les-Nonains (60054) or Les Hauts-Talican (60694).
    with pytest.raises(ZonageError) as refus:
        _valide_reel(_csv([("60455", "a", None)]))
    assert refus.value.details == {COMMUNES_SCINDEES: ["60455"]}
    assert "60455 → 60054, 60694" in str(refus.value)


@pytest.mark.real_data
def test_real_epci_straddling_two_departements() -> None:
    # CC l'Orée de la Brie: three communes in Seine-et-Marne, one (Varennes-Jarcy) in Essonne.
    declaration = parse_zonage_yaml({"zones": [{"code": "brie", "epci": ["247700644"]}]})
    appartenances, territoires = _valide_reel(declaration)
    assert appartenances["code_commune"].to_list() == ["77053", "77114", "77450", "91631"]
    reference = referentiel_reel()[0]
    epci = reference.filter(pl.col("niveau") == "epci", pl.col("code") == "247700644")
    assert territoires["population"].to_list() == epci["population"].to_list()
    with pytest.raises(ZonageError) as refus:
        _valide_reel(
            parse_zonage_yaml(
                {"perimetre": "departement 77", "zones": [{"code": "b", "epci": ["247700644"]}]}
            )
        )
    assert refus.value.details[HORS_PERIMETRE] == ["91631"]
    assert OUBLIEES in refus.value.details  # the rest of Seine-et-Marne


def test_refused_codes_are_invalid_not_unknown() -> None:
    with pytest.raises(ZonageError) as refus:
        _csv([("ABCDE", "x", None)])
    assert refus.value.details == {INVALIDES: ["ABCDE"]}
