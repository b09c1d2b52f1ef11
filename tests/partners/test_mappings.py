"""Partner mappings: the bundled ones load; a mapping that does not say what the observatory
needs is refused with the file named."""

from __future__ import annotations

import pytest

from observatory.partners.mappings import (
    TYPES_ACTIVITE,
    TYPES_FICHIER,
    MappingError,
    load_mappings,
    parse_mapping,
)
from observatory.settings import PROJECT_ROOT

PARTNERS = PROJECT_ROOT / "schemas/partners"


def test_bundled_mappings_load_and_cover_every_kind() -> None:
    mappings = load_mappings(PARTNERS)
    assert {m.type_fichier for m in mappings.values()} == set(TYPES_FICHIER)
    assert len(mappings) >= 6
    gironde = mappings["departement_gironde"]
    assert gironde.source == "partenaire__departement_gironde"
    assert "Coord. X" in gironde.colonnes_connues and "Latitude" in gironde.colonnes_connues


def test_readme_documents_every_mapping_and_kind() -> None:
    readme = (PARTNERS / "README.md").read_text(encoding="utf-8")
    for name in load_mappings(PARTNERS):
        assert f"{name}.yaml" in readme
    for kind, definition in TYPES_ACTIVITE.items():
        assert kind in readme
        for column in definition.mesures:
            assert column in readme


BASE = {
    "partenaire": "pp_test",
    "type_fichier": "pass_numerique",
    "colonnes": {
        "code": {"source": "EPCI", "type": "code_territoire", "niveau": "epci"},
        "periode": {"source": "Année", "type": "periode"},
        "nb_pass_emis": {"source": "émis", "type": "entier"},
        "nb_pass_utilises": {"source": "utilisés", "type": "entier"},
    },
}


def variant(**changes) -> dict:
    data = {**BASE, "colonnes": dict(BASE["colonnes"])}
    for key, value in changes.items():
        if key.startswith("col_"):
            data["colonnes"][key[4:]] = value
        elif value is None:
            data.pop(key)
        else:
            data[key] = value
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (variant(partenaire="Mon partenaire"), "minuscules"),
        (variant(type_fichier="inconnu"), "type_fichier"),
        (variant(colonnes=None), "colonnes"),
        (variant(inconnue=1), "clés inconnues"),
        (variant(col_nb_pass_emis={"source": "x", "type": "decimal"}), "type 'decimal'"),
        (variant(col_code={"source": "x", "type": "code_territoire"}), "niveau None"),
        (variant(col_nb_pass_utilises={"type": "entier"}), "ni source"),
        (variant(col_autre={"source": "y"}), "colonnes inconnues"),
        (variant(col_code={"source": "x", "type": "texte"}), "code_territoire"),
        (variant(col_nb_pass_emis={"source": "x", "extraire": "x"}), "groupe"),
        (variant(col_nb_pass_emis={"source": "EPCI", "type": "entier"}), "source de code"),
        (variant(format={"feuile": "x"}), "format"),
    ],
)
def test_invalid_mappings_are_refused(data: dict, message: str) -> None:
    with pytest.raises(MappingError, match=message):
        parse_mapping(data, "p.yaml")


def test_required_columns_of_the_kind() -> None:
    data = variant()
    del data["colonnes"]["nb_pass_utilises"]
    with pytest.raises(MappingError, match=r"non associées: \['nb_pass_utilises'\]"):
        parse_mapping(data)
