"""Live parsers of the statistics, zonages, grid, France Services and Aidants Connect.

Each live body is the real bundled data reshaped into the documented live format
(tests/sources/live_bodies.py; no real capture exists): the parser's output, staged by the same
function as the bundled file, must give the bundled file's staged values.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal, assert_series_equal

from observatory.settings import PROJECT_ROOT
from observatory.sources import (
    aidants_connect_live,
    arcep_live,
    caf_live,
    dares_live,
    france_services_live,
    insee_live,
)
from observatory.sources.live_formats import ANNEE_DONNEES
from observatory.transforms import context, lieux, registries
from observatory.transforms import statistics as st
from observatory.validation.quarantine import account, number_rows
from tests.sources import live_bodies as lb

pytestmark = pytest.mark.real_data

HTTP = PROJECT_ROOT / "tests/fixtures/http"
CODES = ("01001", "01004", "16015", "16102", "2A004", "75056", "97411", "13055")


def numbered(frame: pl.DataFrame, name: str = "f") -> pl.DataFrame:
    return number_rows(frame, "test", name, "sha")


def bundled(path, annee: int | None = None) -> pl.DataFrame:
    frame = (
        pl.read_parquet(path).cast(pl.String)
        if path.suffix == ".parquet"
        else pl.read_csv(path, infer_schema=False)
    )
    if annee is not None:
        frame = frame.with_columns(pl.lit(str(annee)).alias(ANNEE_DONNEES))
    return numbered(frame)


def staged_pair(
    live: pl.DataFrame, path, annee: int, stage: Callable, key: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(live staged, bundled staged), both sorted by `key`, identity columns dropped."""
    a, qa = stage(numbered(live))
    b, _ = stage(bundled(path, annee))
    account(live.height, a, qa)
    drop = ["jeu_de_donnees", "fichier_origine", "sha256_origine", "ligne"]
    return a.drop(drop).sort(key), b.drop(drop).sort(key)


def test_arcep_thresholds_become_classes_and_stage_like_the_beta_file() -> None:
    live = arcep_live.parse_commune_debit(lb.arcep_filaire())
    assert live.columns == [*arcep_live.ARCEP_COLUMNS, ANNEE_DONNEES]
    a, b = staged_pair(live, lb.ARCEP, 2019, st.stage_arcep, "code_commune_source")
    assert a.height == b.height == 35359
    for column in ("nb_locaux", "nb_locaux_thd_30", "annee"):
        assert_series_equal(a[column], b[column])
    assert live["elig_hd05"].null_count() == live.height  # no 512 kbit/s class any more


def test_arcep_non_cumulative_thresholds_are_set_aside_not_hidden() -> None:
    body = b"code_insee;nbr;inel_hd;date;elig_hd3;elig_bhd8;elig_thd30;elig_thd100;elig_thd1g\n"
    body += b"16015;100;0;2026-03-31;100;90;40;60;10\n"
    kept, quarantine = st.stage_arcep(numbered(arcep_live.parse_commune_debit(body)))
    assert quarantine["code_raison"].to_list() == ["nombre_negatif"]  # 40 - 60 at ≥ 30 Mbit/s
    assert kept["annee"].to_list() == [2026]
    assert kept["nb_locaux_thd_30"].to_list() == [None]


def test_filosofi_long_format_pivots_to_the_communes_layout() -> None:
    live = insee_live.parse_filosofi_cc(lb.filosofi_zip())
    assert live.columns == [*insee_live.FILOSOFI_COLUMNS_ALL, ANNEE_DONNEES]
    a, b = staged_pair(
        live,
        lb.FILOSOFI,
        2016,
        st.stage_filosofi_communes,
        "code_commune_source",
    )
    assert a.height == b.height == 34932  # communes only: the EPCI rows are left out
    for column in ("revenu_median_uc", "taux_pauvrete_60", "secret_statistique", "annee"):
        assert_series_equal(a[column], b[column])
    assert a["secret_statistique"].sum() == 30560  # the gap stays visible
    # Household counts: measure codes undocumented, never guessed.
    assert a["nb_menages_fiscaux"].null_count() == a.height


def test_filosofi_territories_stage_like_the_three_bundled_files() -> None:
    from observatory.transforms.stagers import stage_filosofi_territoires

    live = insee_live.parse_filosofi_territoires(lb.filosofi_zip())
    assert live.columns == [
        *insee_live.FILOSOFI_COLUMNS_ALL,
        insee_live.NIVEAU_FILOSOFI,
        ANNEE_DONNEES,
    ]
    fichiers = [
        numbered(pl.read_csv(path, infer_schema=False), path.name).with_columns(
            pl.lit("2016").alias(ANNEE_DONNEES)
        )
        for path in lb.FILOSOFI_TERRITOIRES
    ]
    a, qa = stage_filosofi_territoires(numbered(live))
    b, _ = stage_filosofi_territoires(pl.concat(fichiers, how="diagonal"))
    account(live.height, a, qa)
    key = ["niveau", "code"]
    cols = [*key, "revenu_median_uc", "taux_pauvrete_60", "secret_statistique", "annee"]
    assert_frame_equal(a.select(cols).sort(key), b.select(cols).sort(key))
    par_niveau = dict(a.group_by("niveau").len().iter_rows())
    print(f"Filosofi territoires live: {par_niveau}")
    assert set(par_niveau) == {"epci", "departement", "region"}


def test_filosofi_keeps_each_communes_latest_period() -> None:
    rows = "GEO;GEO_OBJECT;FILOSOFI_MEASURE;TIME_PERIOD;OBS_VALUE\n"
    rows += "16015;COM;MED_SL;2021;20000\n16015;COM;MED_SL;2023;21000\n16015;COM;PR_MD60;2023;\n"
    frame = insee_live.parse_filosofi_cc(lb._zip({"DS_FILOSOFI_CC_2023_data.csv": rows.encode()}))
    assert frame.select("codgeo", "med16", "tp6016", ANNEE_DONNEES).rows() == [
        ("16015", "21000", None, "2023")
    ]


def test_rp_iris_summed_by_commune_stage_like_the_rp2018_file() -> None:
    files = {
        "base-ic-evol-struct-pop-2018_csv.zip": lb.rp_evol_struct_pop(),
        "base-ic-diplomes-formation-2018_csv.zip": lb.rp_diplomes(),
    }
    live = insee_live.parse_rp_effectifs(files)
    assert live.columns == [*insee_live.RP_COLUMNS, ANNEE_DONNEES]
    a, b = staged_pair(live, lb.RP2018, 2018, st.stage_rp2018_effectifs, "code_commune_source")
    assert a.height == b.height == 5417
    assert_frame_equal(a, b, check_exact=False, rel_tol=1e-9)  # the split IRIS sum back


def test_rp_files_of_different_years_are_refused() -> None:
    diplomes = "IRIS;COM;P19_" + ";P19_".join(lb.RP_DIPLOMES.values()) + "\n"
    diplomes += "010040000;01004" + ";1" * len(lb.RP_DIPLOMES) + "\n"
    files = {
        "base-ic-evol-struct-pop-2018_csv.zip": lb.rp_evol_struct_pop(["01004"]),
        "base-ic-diplomes-formation-2019_csv.zip": lb._zip({"d.CSV": diplomes.encode()}),
    }
    with pytest.raises(ValueError, match="different census years"):
        insee_live.parse_rp_effectifs(files)


def test_caf_latest_reference_date_stages_like_the_2020_file() -> None:
    live = caf_live.parse_s_ben_com_f(lb.caf_s_ben_com_f())
    a, b = staged_pair(live, lb.CAF, 2020, st.stage_caf_communes, "code_commune_source")
    assert_frame_equal(a, b)  # the 2019 decoy rows are left out


def test_dares_abc_total_of_the_last_fourth_quarter() -> None:
    live = dares_live.parse_defm_communales(lb.dares_defm())
    a, b = staged_pair(live, lb.DEFM, 2019, st.stage_defm, "code_commune_source")
    assert_series_equal(a["nb_demandeurs_emploi_abc"], b["nb_demandeurs_emploi_abc"])
    assert a["nb_demandeurs_emploi_abcde"].null_count() == a.height  # not in this dataset
    assert a["nb_demandeurs_emploi_rsa"].null_count() == a.height


def assert_stages_like_bundled(
    live: pl.DataFrame, stage: Callable[[pl.DataFrame], pl.DataFrame], path
) -> pl.DataFrame:
    """The live frame, staged, gives the bundled file's staged rows for CODES; returns it."""
    a = stage(numbered(live)).sort("code_commune")
    b = stage(bundled(path)).filter(pl.col("code_commune").is_in(CODES))
    assert_frame_equal(a, b.sort("code_commune"))
    return a


def test_table_appartenance_stages_like_the_bundled_zonages() -> None:
    live = insee_live.parse_table_appartenance(lb.table_appartenance(CODES))
    assert live.columns == list(insee_live.ZONAGES_COLUMNS)
    a = assert_stages_like_bundled(live, context.stage_zonages, lb.ZONAGES)
    assert a.height == len(CODES)


def test_grille_densite_stages_like_the_bundled_grid() -> None:
    live = insee_live.parse_grille_densite(lb.grille_densite(CODES))
    assert live.columns == list(insee_live.GRILLES_COLUMNS)
    assert_stages_like_bundled(live, context.stage_grilles, lb.GRILLES)
    source = bundled(lb.GRILLES).filter(pl.col("insee_com").is_in(CODES)).sort("insee_com")
    assert live.sort("insee_com")["densite_4_libelle"].to_list() == (
        source["densite_4_libelle"].to_list()
    )


def test_france_services_live_list_maps_like_the_2022_list(standard) -> None:
    ids = pl.read_csv(lb.FRANCE_SERVICES, infer_schema=False)["id_fs"].head(300).to_list()
    live = france_services_live.parse_liste_france_services(lb.france_services(ids))
    assert live.columns == [
        *france_services_live.FRANCE_SERVICES_COLUMNS,
        *france_services_live.EXTRA_COLUMNS,
    ]
    a, ecarts_a = registries.parse_france_services(numbered(live))
    b, ecarts_b = registries.parse_france_services(
        numbered(
            pl.read_csv(lb.FRANCE_SERVICES, infer_schema=False).filter(pl.col("id_fs").is_in(ids))
        )
    )
    assert_frame_equal(a.drop("itinerance"), b.drop("itinerance"))
    assert a["itinerance"].null_count() == a.height  # the live list does not say
    assert_frame_equal(ecarts_a, ecarts_b)


def test_france_services_recorded_excerpt_and_zero_coordinates() -> None:
    body = (HTTP / "france_services_excerpt.csv").read_bytes()
    live = france_services_live.parse_liste_france_services(body)
    assert live["insee_com"].to_list() == ["16292", "2A004", "97411"]
    assert live["groupe"].to_list()[0] == "Communauté de communes"
    zero = body.replace(b"46.0287;0.1966", b"0;0")
    assert france_services_live.parse_liste_france_services(zero)["latitude"][0] is None


def aidants_connect_frame() -> pl.DataFrame:
    pages = [HTTP / f"aidants_connect_organisations_page{i}.json" for i in (1, 2, 3)]
    results = [item for page in pages for item in json.loads(page.read_bytes())["results"]]
    return aidants_connect_live.parse_organisations(json.dumps(results).encode())


def test_aidants_connect_pages_become_standard_v1_lieux(standard) -> None:
    raw = numbered(aidants_connect_frame(), "organisations.json")
    assert raw.height == 5
    v1, ecarts = registries.parse_aidants_connect(raw)
    assert v1.columns[4:] == list(registries.COLONNES_V1)
    assert ecarts.height == 0
    assert v1["source"].unique().to_list() == ["aidants-connect"]
    assert v1["id"][0] == "0b3c2f4e-6a1d-4c59-9e2a-1f7d8c3b5a01"  # the API's own id
    assert v1["dispositif_programmes_nationaux"].unique().to_list() == ["Aidants Connect"]
    assert v1["services"].unique().to_list() == ["Aide aux démarches administratives"]
    assert v1["complement_adresse"][1] == "Espace Carat"
    assert v1["date_maj"][0] == "2025-06-17"
    kept, quarantine = lieux.stage_lieux(v1, standard, date(2026, 11, 1))
    assert account(raw.height, kept, quarantine)["lignes_gardees"] == 5


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"{}", "expected a JSON array"),
        (b'[{"id": "x"}]', "no id or nom"),
        (b"<html>", "not valid JSON"),
    ],
)
def test_aidants_connect_refuses_what_is_not_an_organisation_list(payload, message) -> None:
    with pytest.raises(ValueError, match=message):
        aidants_connect_live.parse_organisations(payload)


@pytest.mark.parametrize(
    ("parse", "payload", "message"),
    [
        (arcep_live.parse_commune_debit, b"code_insee;nbr\n16015;3\n", r"columns \['inel_hd'"),
        (caf_live.parse_s_ben_com_f, b"numcomdo;A\n16015;3\n", "dtreffre"),
        (dares_live.parse_defm_communales, b"Date;Code commune\n2024-T4;16015\n", "categorie"),
        (insee_live.parse_filosofi_cc, b"not a zip", "not a zip archive"),
        (insee_live.parse_grille_densite, b"not a zip", None),
        (france_services_live.parse_liste_france_services, b"", "empty file"),
    ],
)
def test_a_changed_format_fails_naming_what_is_missing(parse, payload, message) -> None:
    with pytest.raises(Exception, match=message):
        parse(payload)


def test_movements_csv_parses_to_the_bundled_table() -> None:
    live = insee_live.parse_mouvements_communes(lb.mouvements_communes())
    assert_frame_equal(live, pl.read_parquet(lb.MOUVEMENTS))
    assert live.height == 13534


def test_table_de_passage_keeps_one_target_per_code_like_the_bundled_table() -> None:
    # INSEE lists a split code once per target: 15141 (still a commune, split in 2025) and
    # 55273 (merged; Etalab's COG names another commune) get a second row; both keep the
    # bundled target
    splits = (("15141", "15268"), ("55273", "55245"))
    live = insee_live.parse_table_passage(lb.table_passage(splits))
    bundled_passage = pl.read_parquet(lb.PASSAGE)
    assert_frame_equal(live, bundled_passage)
    assert live.filter(pl.col("code_insee_historique") == "15141")[
        "code_insee_cog2025"
    ].to_list() == ["15141"]
    print(f"table de passage: {live.height} codes, {len(splits)} split rows folded")


def test_table_de_passage_without_its_header_names_the_file() -> None:
    bad = lb._zip(
        {"table_passage_geo2003_geo2026.xlsx": lb._xlsx({"COM": ((), pl.DataFrame({"X": ["1"]}))})}
    )
    with pytest.raises(ValueError, match=r"table_passage_geo2003_geo2026\.xlsx.*CODGEO_INI"):
        insee_live.parse_table_passage(bad)


def test_rp_shares_recomputed_from_iris_counts_stage_like_the_rp2017_file() -> None:
    zips = lb.rp_iris_zips(yy="17", effectifs=False)
    live = insee_live.parse_rp_parts(zips)
    assert live.columns == [*insee_live.RP_PARTS_COLUMNS, ANNEE_DONNEES]
    a, b = staged_pair(live, lb.RP2017, 2017, st.stage_rp2017_parts, "code_commune_source")
    for column in st.MESURES_COMMUNES["insee__rp2017_parts"]:
        assert_series_equal(a[column], b[column], abs_tol=1e-12)
    # the 10 communes listed without any figure are not data: rejected `aucune_valeur` on both
    # paths (they would otherwise hide the figures of the commune they were merged into)
    assert a.height == b.height == 35003 - 10
    assert a["part_65_ans_et_plus"].null_count() == 0
    for raw in (numbered(live), bundled(lb.RP2017, 2017)):
        _, quarantine = st.stage_rp2017_parts(raw)
        assert quarantine.filter(pl.col("code_raison") == "aucune_valeur").height == 10


def test_rp_shares_find_a_renamed_variable_by_its_meta_label() -> None:
    """INSEE renames a column: the `meta_` label finds it; no match stops the run naming it."""
    zips = lb.rp_iris_zips(["16015", "01004"], yy="17", effectifs=False)
    name = "base-ic-couples-familles-menages-2017"
    members = {}
    with zipfile.ZipFile(io.BytesIO(zips[f"{name}_csv.zip"])) as archive:
        for member in archive.namelist():
            members[member] = archive.read(member)
    body = members[f"{name}.CSV"].replace(b"C17_MENFAMMONO", b"C17_MENFAM_MONO")
    label = "Ménages avec famille(s) dont la famille principale est monoparentale"
    labels = f"COD_VAR;LIB_VAR\nC17_MENFAM_MONO;{label}\n".encode()
    meta = {f"{name}.CSV": body, f"meta_{name}.CSV": labels}
    renamed = {**zips, f"{name}_csv.zip": lb._zip(meta)}
    assert_frame_equal(insee_live.parse_rp_parts(renamed), insee_live.parse_rp_parts(zips))
    unlabelled = {**zips, f"{name}_csv.zip": lb._zip({f"{name}.CSV": body})}
    with pytest.raises(ValueError, match=r"couples-familles-menages.*C17_MENFAMMONO"):
        insee_live.parse_rp_parts(unlabelled)


def test_caf_rsa_by_commune_stages_like_the_iris_sums() -> None:
    """Live RSA comes by commune: staged without the IRIS table, it gives, commune by commune,
    the sums the IRIS staging makes of the bundled file (the live body is built from them)."""
    live = caf_live.parse_s_ben_com_f_rsa(lb.caf_s_ben_com_f())
    assert live.columns == [*caf_live.RSA_COLUMNS, ANNEE_DONNEES]
    a, qa = st.stage_caf_rsa_communes(numbered(live))
    account(live.height, int(a["nb_iris_source"].sum()), qa)
    assert a["annee"].unique().to_list() == [2020]
    iris = numbered(pl.read_csv(lb.CAF_RSA, infer_schema=False)).with_columns(
        pl.lit("2019").alias(ANNEE_DONNEES)
    )
    table = pl.read_parquet(
        lb.ASSETS / "dfg_mednum_2020/table_iris_commune_epci_2020_national.parquet"
    )
    b, _ = st.stage_caf_rsa_iris(iris, table.cast(pl.String))
    both = a.join(b, on="code_commune_source", suffix="_iris").filter(
        pl.col("complet_iris") & pl.col("nb_allocataires_rsa").is_not_null()
    )
    print(f"RSA live by commune: {a.height} communes, {both.height} compared with IRIS sums")
    assert both.height >= 200  # communes in both bundled CAF files, IRIS complete
    assert (both["nb_allocataires_rsa"] == both["nb_allocataires_rsa_iris"]).all()
    assert a.filter(pl.col("nb_allocataires_rsa").is_null())["complet"].not_().all()
