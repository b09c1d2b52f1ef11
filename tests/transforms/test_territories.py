import json
import os
import subprocess
import sys

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from observatory.transforms.territories import (
    build_appartenances,
    build_couverture,
    build_territoires,
    normalise_code_commune_frame,
)
from tests.conftest import ASSETS

# Values as they arrive in real partner files and spreadsheets.
CODES = [
    ("01001", "01001", None),
    ("1001", "01001", None),  # leading zero lost by a spreadsheet
    ("1001.0", "01001", None),  # ... and turned into a float
    (" 16015 ", "16015", None),
    ("16 015", "16015", None),
    ("16\u00a0015", "16015", None),  # non-breaking space of a French number format
    ("2A004", "2A004", None),
    ("2a004", "2A004", None),
    ("2B033", "2B033", None),
    ("97411", "97411", None),
    ("97608", "97608", None),
    ("75056", "75056", None),
    ("20004", None, "code_corse_sans_2a_2b"),
    ("00123", None, "code_departement_invalide"),
    ("96001", None, "code_departement_invalide"),
    ("123", None, "code_longueur_invalide"),
    ("160150", None, "code_longueur_invalide"),
    ("16O15", None, "code_caracteres_invalides"),  # letter O typed for zero
    ("N/A", None, "code_caracteres_invalides"),
    ("", None, "code_vide"),
    (None, None, "code_vide"),
]


def test_normalise_code_commune_table() -> None:
    frame = pl.DataFrame({"brut": [c[0] for c in CODES]}, schema={"brut": pl.String})
    expected = frame.with_columns(
        pl.Series("code_commune", [c[1] for c in CODES], pl.String),
        pl.Series("raison_rejet", [c[2] for c in CODES], pl.String),
    )
    assert_frame_equal(normalise_code_commune_frame(frame, "brut"), expected)


def test_normalise_codes_from_integers() -> None:
    """A column read as integers (INSEE codes turned into numbers) is normalised too."""
    frame = pl.DataFrame({"brut": [1001, 16015, 97411]})
    assert normalise_code_commune_frame(frame, "brut")["code_commune"].to_list() == [
        "01001",
        "16015",
        "97411",
    ]


# Codes of the benchmark's 10× copies (`bench/generate.py --scale 10 --assets`).
SYNTHETIQUES = ["01001S1", "2A004S9", "1001S2", "01001S0", "20004S1", "200069193S3"]


def test_synthetic_codes_refused_without_the_benchmark_switch() -> None:
    """Real runs never take a benchmark copy's code for a commune."""
    frame = pl.DataFrame({"brut": SYNTHETIQUES[:3]})
    out = normalise_code_commune_frame(frame, "brut")
    assert out["code_commune"].to_list() == [None, None, None]
    assert set(out["raison_rejet"]) == {"code_caracteres_invalides"}


def test_synthetic_codes_accepted_with_the_benchmark_switch() -> None:
    """OBSERVATORY_BENCH_CODES_SYNTHETIQUES=1 (read at import) accepts `<real code>S<1-9>`
    for communes, EPCI and published patterns, and still checks the real part."""
    script = (
        "import json, polars as pl\n"
        "from observatory.transforms.territories import normalise_code_commune_frame\n"
        "from observatory.transforms.statistics import _EPCI\n"
        "from observatory.validation.expectations import ancre\n"
        f"f = normalise_code_commune_frame(pl.DataFrame({{'brut': {SYNTHETIQUES!r}}}), 'brut')\n"
        "print(json.dumps({'codes': f['code_commune'].to_list(),"
        " 'raisons': f['raison_rejet'].to_list(),"
        " 'epci': pl.Series(['200069193S3', '200069193']).str.contains(_EPCI).to_list(),"
        " 'motif': ancre('[0-9]{5}')}))\n"
    )
    env = {**os.environ, "OBSERVATORY_BENCH_CODES_SYNTHETIQUES": "1"}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    resultat = json.loads(out.stdout.strip().splitlines()[-1])
    assert resultat["codes"] == ["01001S1", "2A004S9", "01001S2", None, None, None]
    assert resultat["raisons"] == [
        None,
        None,
        None,
        "code_caracteres_invalides",  # S0 is no copy
        "code_corse_sans_2a_2b",  # the real part is still checked
        "code_longueur_invalide",  # an EPCI code is no commune code
    ]
    assert resultat["epci"] == [True, True]
    assert resultat["motif"] == "^(?:[0-9]{5})(?:S[1-9])?$"


@pytest.fixture(scope="module")
def territoires(communes: pl.DataFrame) -> pl.DataFrame:
    def ref(name: str, code: str = "code") -> pl.DataFrame:
        return pl.read_csv(ASSETS / f"cog_2026/{name}.csv", infer_schema=False).rename(
            {code: "code"}
        )

    return build_territoires(
        communes, ref("epci", "code_epci"), ref("departements"), ref("regions"), millesime_cog=2026
    )


@pytest.mark.real_data
def test_territoires_scope_and_uniqueness(territoires: pl.DataFrame) -> None:
    counts = dict(territoires.group_by("niveau").len().iter_rows())
    assert counts == {"commune": 34875, "epci": 1255, "departement": 101, "region": 18, "france": 1}
    assert territoires.select("niveau", "code").is_duplicated().sum() == 0
    assert territoires["code"].dtype == pl.String
    # Codes repeat across levels: 75 is a département (Paris) and a région (Nouvelle-Aquitaine).
    seventy_five = territoires.filter(pl.col("code") == "75").sort("niveau")
    assert seventy_five.select("niveau", "nom").rows() == [
        ("departement", "Paris"),
        ("region", "Nouvelle-Aquitaine"),
    ]


@pytest.mark.real_data
def test_higher_level_population_is_sum_of_communes(territoires: pl.DataFrame) -> None:
    communes = territoires.filter(pl.col("niveau") == "commune")
    france = territoires.filter(pl.col("niveau") == "france")
    assert france["population"].item() == communes["population"].sum()
    for niveau, column in (
        ("epci", "code_epci"),
        ("departement", "code_departement"),
        ("region", "code_region"),
    ):
        sums = communes.group_by(pl.col(column).alias("code")).agg(
            pl.col("population").sum().alias("attendu")
        )
        joined = territoires.filter(pl.col("niveau") == niveau).join(sums, on="code")
        assert (joined["population"] == joined["attendu"]).all(), niveau
    charente = territoires.filter(pl.col("niveau") == "departement", pl.col("code") == "16")
    assert charente["code_region"].item() == "75"


@pytest.mark.real_data
def test_epci_population_is_not_the_dgcl_figure(territoires: pl.DataFrame) -> None:
    """The EPCI file's own populations are another vintage: they must not leak in."""
    dgcl = pl.read_csv(ASSETS / "cog_2026/epci.csv", infer_schema=False).select(
        pl.col("code_epci").alias("code"), pl.col("population_municipale").cast(pl.Int64)
    )
    joined = territoires.filter(pl.col("niveau") == "epci").join(dgcl, on="code")
    assert (joined["population"] != joined["population_municipale"]).sum() > 100


@pytest.mark.real_data
def test_appartenances(territoires: pl.DataFrame) -> None:
    appartenances = build_appartenances(territoires)
    per_commune = appartenances.group_by("code_commune").len()
    assert per_commune.height == 34875
    # Four island communes belong to no EPCI (Île-de-Bréhat, Île-de-Sein, Ouessant, Île-d'Yeu).
    no_epci = per_commune.filter(pl.col("len") == 4)["code_commune"].sort().to_list()
    assert no_epci == ["22016", "29083", "29155", "85113"]
    assert set(per_commune["len"].unique()) == {4, 5}


COMMUNES_3 = pl.DataFrame(
    {"code_commune": ["16015", "17300", "33063"], "code_departement": ["16", "17", "33"]}
)


@pytest.mark.parametrize(
    ("niveau", "codes", "lignes", "presence", "couvert", "nb_lignes"),
    [
        ("departement", ("16", "33"), None, False, [True, False, True], [0, 0, 0]),
        ("france", None, None, False, [True, True, True], [0, 0, 0]),
        # a national registry with places in two communes still covers the third one
        ("france", None, ["16015", "16015", "33063"], False, [True, True, True], [2, 0, 1]),
        # a statistic published for some communes only covers those it has rows for
        ("france", None, ["16015", "33063"], True, [True, False, True], [1, 0, 1]),
        ("departement", ("16",), ["16015", "33063"], True, [True, False, False], [1, 0, 1]),
    ],
)
def test_couverture(niveau, codes, lignes, presence, couvert, nb_lignes) -> None:
    rows = None if lignes is None else pl.DataFrame({"code_commune": lignes})
    expected = pl.DataFrame(
        {
            "source": ["s"] * 3,
            "code_commune": ["16015", "17300", "33063"],
            "couvert": couvert,
            "nb_lignes": nb_lignes,
            "annee": [2025] * 3,
        },
        schema_overrides={"annee": pl.Int32, "nb_lignes": pl.Int64},
    )
    result = build_couverture(COMMUNES_3, "s", 2025, niveau, codes, lignes=rows, presence=presence)
    assert_frame_equal(result, expected)


@pytest.mark.real_data
def test_bassins_de_vie_and_context(communes: pl.DataFrame) -> None:
    from observatory.transforms.context import build_contexte_communes, stage_grilles, stage_zonages

    def strings(path: str) -> pl.DataFrame:
        frame = pl.read_parquet(ASSETS / path)
        return frame.with_columns(pl.col(c).cast(pl.String) for c in frame.columns)

    coords = pl.read_parquet(
        ASSETS / "laposte_2023/communes_coordonnees_cog2026_national.parquet"
    ).rename({"code_insee": "code_commune"})
    contexte = build_contexte_communes(
        communes,
        stage_zonages(strings("insee_zonages_2025/zonages_communes_cog2025_national.parquet")),
        stage_grilles(strings("anct_grilles_2026/grilles_communales_anct_national.parquet")),
        coords,
    )
    assert contexte.height == 34875
    assert contexte["code_bassin_de_vie"].null_count() == 0
    assert contexte["grille_densite_7"].null_count() == 0
    assert contexte["latitude"].null_count() == 7  # communes re-established in 2024-2025

    def ref(name: str, code: str = "code") -> pl.DataFrame:
        return pl.read_csv(ASSETS / f"cog_2026/{name}.csv", infer_schema=False).rename(
            {code: "code"}
        )

    territoires = build_territoires(
        communes, ref("epci", "code_epci"), ref("departements"), ref("regions"), 2026, contexte
    )
    bassins = territoires.filter(pl.col("niveau") == "bassin_de_vie")
    assert bassins.height == 1707
    assert bassins["population"].sum() == communes["population"].sum()
    angouleme = territoires.filter(pl.col("code") == "16015").sort("niveau")
    # the same code is a commune and the bassin de vie it is the pôle of: the key is (niveau, code)
    assert angouleme["niveau"].to_list() == ["bassin_de_vie", "commune"]
    appartenances = build_appartenances(territoires)
    assert set(appartenances["niveau"].unique()) == {
        "commune",
        "epci",
        "bassin_de_vie",
        "departement",
        "region",
        "france",
    }
