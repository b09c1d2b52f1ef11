"""`observatory explain`: every indicator's lineage, read off the asset graph, in ≤ 3 code files."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from observatory.cli import main
from observatory.defs import build_definitions
from observatory.defs.code_references import CODE_REFERENCES
from observatory.explain import IndicateurInconnu, explique, texte
from observatory.publish.schemas import load_dictionary
from observatory.settings import Settings
from observatory.sources.catalogue import SOURCES

PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    return Settings(data_dir=tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def definitions(settings: Settings) -> dg.Definitions:
    return build_definitions(settings)


DICTIONARY = load_dictionary(PROJECT / "schemas")


@pytest.mark.parametrize("indicateur", sorted(DICTIONARY))
def test_every_indicator_is_explained_from_the_graph(
    indicateur: str, definitions: dg.Definitions, settings: Settings
) -> None:
    e = explique(indicateur, definitions, settings.schemas_dir)
    assert e.libelle == DICTIONARY[indicateur]["libelle"]
    # at most 3 code files, each a real file of the project, the model's own file first
    assert 1 <= len(e.fichiers_code) <= 3, e.fichiers_code
    for fichier in e.fichiers_code:
        assert (PROJECT / fichier.split(":")[0]).is_file(), fichier
    if (
        e.modele.startswith("ind_")
        and (PROJECT / "dbt_like_sql/indicators").joinpath(f"{e.modele}.sql").is_file()
    ):
        assert e.fichiers_code[0] == f"dbt_like_sql/indicators/{e.modele}.sql"
    # the dictionary's sources are upstream of the model in the asset graph (no drift)
    raws = {s.cle for s in e.sources}
    assert set(e.sources_dictionnaire) <= raws, set(e.sources_dictionnaire) - raws
    catalogue = {s.key for s in SOURCES}
    for s in e.sources:
        assert s.titre and s.millesime
        assert s.adresses or s.sans_adresse, s.cle  # an address, or why there is none
        if s.cle in catalogue:
            assert all(url.startswith("https://") for url in s.adresses)
    assert e.modele not in e.etapes and all(not n.startswith("raw_") for n in e.etapes)
    assert e.tables[0] == f"indicateurs (lignes où indicateur = '{indicateur}')"
    lines = texte(e).splitlines()
    assert lines[0].startswith(f"{indicateur} — ")
    assert f"  {e.fichiers_code[0]}" in lines


def test_need_is_traced_to_insee_rates_and_census(
    definitions: dg.Definitions, settings: Settings
) -> None:
    e = explique("nb_illectronisme", definitions, settings.schemas_dir)
    # ind_besoin computes both measures of need: the asset, the estimate, its by-age variant
    assert [f.split(":")[0] for f in e.fichiers_code] == [
        "observatory/defs/indicators.py",
        "observatory/transforms/need.py",
        "observatory/transforms/need_age.py",
    ]
    raws = {s.cle: s for s in e.sources}
    assert {"insee__taux_illectronisme", "insee__rp2017_parts", "insee__rp2018_effectifs"} <= set(
        raws
    )
    assert raws["insee__rp2017_parts"].millesime == "2017"
    assert "int__besoin_communes" in e.etapes


def test_access_names_the_sql_model_and_the_distance_search(
    definitions: dg.Definitions, settings: Settings
) -> None:
    e = explique("distance_france_services_km", definitions, settings.schemas_dir)
    assert e.fichiers_code[0] == "dbt_like_sql/indicators/ind_acces.sql"
    assert "observatory/transforms/access.py" in e.fichiers_code
    assert "france_services__lieux" in {s.cle for s in e.sources}


def test_every_asset_has_code_references_in_the_catalog(definitions: dg.Definitions) -> None:
    """The UI's "open source" links and `explain` read the same metadata."""
    graph = definitions.resolve_asset_graph()
    missing = [
        key.to_user_string()
        for key in graph.get_all_asset_keys()
        if graph.get(key).is_materializable and CODE_REFERENCES not in graph.get(key).metadata
    ]
    assert missing == []


def test_unknown_indicator_gets_close_names(definitions, settings, capsys) -> None:
    with pytest.raises(IndicateurInconnu, match="nb_illectronisme"):
        explique("nb_illectro", definitions, settings.schemas_dir)
    assert main(["explain", "--data-dir", str(settings.data_dir), "nb_illectro"]) == 2
    err = capsys.readouterr().err
    assert "n'est pas un indicateur du dictionnaire" in err and "nb_illectronisme" in err


def test_cli_prints_the_lineage_and_the_list(settings, capsys) -> None:
    assert main(["explain", "--data-dir", str(settings.data_dir), "rang_priorite"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("rang_priorite — ")
    assert "dbt_like_sql/indicators/ind_ecart.sql" in out and "Sources brutes :" in out
    assert main(["explain", "--data-dir", str(settings.data_dir)]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == list(DICTIONARY)
