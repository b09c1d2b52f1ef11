"""Format sniffing on bytes: encoding (cp1252 rather than latin-1), separator, decimal mark,
header row below title lines, column names compared loosely."""

from __future__ import annotations

import pytest

from observatory.partners.sniffing import (
    PartnerFileError,
    detect_decimal,
    detect_encoding,
    normalise_nom_colonne,
    profondeur_json,
    sniff_table,
)

TEXTE = "Période;Besoin d’aide;Commentaire\n2024-01;3;Cœur de l’Œuvre à 5 €\n"


@pytest.mark.parametrize(
    ("content", "encodage"),
    [
        (TEXTE.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + TEXTE.encode("utf-8"), "utf-8-sig"),
        (TEXTE.encode("cp1252"), "cp1252"),  # charset-normalizer alone says cp1250 here
        ("Période;Ville\n1;Évry\n".encode("latin-1"), "cp1252"),  # latin-1 is read as cp1252
        (TEXTE.encode("utf-16"), "utf-16"),
        (TEXTE.encode("utf-16-le"), "utf-16-le"),  # no BOM: NUL on every odd byte
        (TEXTE.encode("utf-16-be"), "utf-16-be"),
    ],
)
def test_detect_encoding(content: bytes, encodage: str) -> None:
    assert detect_encoding(content, "f.csv") == encodage


def test_cp1252_keeps_the_characters_latin1_loses() -> None:
    table = sniff_table(TEXTE.encode("cp1252"), "f.csv", ["Période"])
    assert table.lignes == [["2024-01", "3", "Cœur de l’Œuvre à 5 €"]]
    assert "\x9c" in TEXTE.encode("cp1252").decode("latin-1")  # what latin-1 would have given


@pytest.mark.parametrize(
    ("text", "separateur"),
    [
        ("a;b;c\n1;2,5;x, y\n", ";"),
        ("a,b,c\n1,2,x\n", ","),
        ("a\tb\tc\n1\t2\t3\n", "\t"),
        ("a|b|c\n1|2|3\n", "|"),
        ('a,b,c\n1,"x; y; z",3\n', ","),
    ],
)
def test_separator(text: str, separateur: str) -> None:
    table = sniff_table(text.encode(), "f.csv", ["a", "b", "c"])
    assert table.format.separateur == separateur and table.entete == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("values", "decimale"),
    [
        (["44,93815", "-0,2357", "12"], ","),
        (["44.93815", "-0.2357", "1,234"], "."),
        (["1.234", "1,234", None], "."),  # thousands only: nothing to say, default point
        (["24 150,5", "3"], ","),
    ],
)
def test_detect_decimal(values: list, decimale: str) -> None:
    assert detect_decimal(values) == decimale


def test_header_below_title_lines_and_unnamed_columns() -> None:
    text = "Export du 03/04/2024;;\n;;\ncode;;valeur;\n1;Paris;2;\n"
    table = sniff_table(text.encode(), "f.csv", ["code", "valeur"])
    assert table.format.ligne_entete == 2
    assert table.entete == ["code", "colonne_2", "valeur"]  # trailing empty column dropped
    assert table.lignes == [["1", "Paris", "2"]] and table.numeros == [1]


def test_blank_rows_are_skipped_but_keep_their_number() -> None:
    table = sniff_table(b"a;b\n1;2\n;\n3;4\n", "f.csv", ["a"])
    assert table.numeros == [1, 3] and table.lignes_vides == 1


@pytest.mark.parametrize(
    ("nom", "normalise"),
    [
        ("Dernière MAJ", "derniere maj"),
        ("Besoin d’aide", "besoin d aide"),
        ("  Coord. X ", "coord x"),
        ("CODE_COMMUNE", "code commune"),
        ("Œuvre", "oeuvre"),
    ],
)
def test_column_names_compared_loosely(nom: str, normalise: str) -> None:
    assert normalise_nom_colonne(nom) == normalise


def test_json_list_inside_an_object_and_nested_values() -> None:
    content = b'{"meta": {"n": 1}, "data": [{"a": 1001, "b": {"x": 1}, "c": 2.5}]}'
    table = sniff_table(content, "f.json", ["a"])
    assert table.entete == ["a", "b", "c"] and table.lignes == [["1001", '{"x": 1}', "2.5"]]


def test_error_names_the_file() -> None:
    with pytest.raises(PartnerFileError, match=r"^mon fichier\.csv : le fichier est vide") as err:
        sniff_table(b"", "mon fichier.csv")
    assert err.value.fichier == "mon fichier.csv"


def test_a_formula_breaking_the_quotes_is_explained_in_french() -> None:
    """A cell `=HYPERLINK("…"&A1;"clic")` exported as a formula: the message names the line
    and says what to do, in French (Python's csv said "';' expected after '\"'")."""
    contenu = 'periode;nb;lien\n2024;3;=HYPERLINK("http://x.example/?x="&A1;"clic")\n'
    with pytest.raises(PartnerFileError, match=r"^f\.csv : ligne 2 : un guillemet") as err:
        sniff_table(contenu.encode(), "f.csv", ["periode"], {"separateur": ";"})
    assert "expected" not in str(err.value) and "tableur" in str(err.value)


def test_a_stray_nul_stays_in_its_cell_a_binary_file_is_refused() -> None:
    """One NUL byte is damage in one row (the reading rejects that row), not a binary file."""
    table = sniff_table(b"periode;nb\n2024;3\n2025;\x004\n", "f.csv", ["periode"])
    assert table.lignes == [["2024", "3"], ["2025", "\x004"]]
    with pytest.raises(PartnerFileError, match="fichier binaire"):
        sniff_table(b"periode;nb\n" + b"\x00\x01\x02" * 100, "f.csv", ["periode"])


@pytest.mark.parametrize(
    ("text", "profondeur"),
    [("[]", 1), ('[{"a": [1, {"b": 2}]}]', 4), ('[{"a": "[[[[{{"}]', 2), ("42", 0)],
)
def test_profondeur_json_ignores_brackets_in_strings(text: str, profondeur: int) -> None:
    assert profondeur_json(text) == profondeur


def test_json_bounds_refuse_in_french() -> None:
    with pytest.raises(PartnerFileError, match="imbriqué sur 1000 niveaux"):
        sniff_table(b"[" * 1000 + b"]" * 1000, "f.json", ["periode"])
    entier = sniff_table(b'[{"periode": 2024, "nb": ' + b"9" * 5000 + b"}]", "f.json", ["periode"])
    assert entier.lignes == [["2024", "9" * 5000]]  # text: Python refuses > 4300 digits
    with pytest.raises(PartnerFileError, match="même nom"):
        sniff_table(b'[{"periode": 2024, "periode": 2025}]', "f.json", ["periode"])
