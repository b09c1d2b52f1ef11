"""French without typos wherever a user reads: the dictionary, the Table Schemas' titles and
descriptions, the partner mappings and guide, the methodology notes, the report templates,
and every message written in the code (partner feedback, CLI, report, exports).

The rules catch what a template or a hasty edit leaves behind: no elision (`de un`, `de
une`, `Nombre de arrêts`), no contraction (`de les`, `à le`; `de les renseigner` with a
pronoun is fine), a word written twice (`le le`, `Nombre de nombre de`).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from observatory.settings import PROJECT_ROOT

VOYELLES = "aeiouyéèêëàâîïôöûùœAEIOUYÉÈÊÀÂÎÔÛŒ"
INFINITIF = r"\w+(?:er|ir|re|oir)\b"  # `de les renseigner`: `les` is a pronoun there
DEBUT = r"(?<![\w'’/.-])"
FIN = r"(?![\w'’/._-])"  # a path or a code name (`observatory/transforms`) is not French
REGLES = {
    "élision manquante": re.compile(rf"{DEBUT}de\s+(?!un à{FIN})[{VOYELLES}][^\W\d_]*{FIN}"),
    "contraction manquante": re.compile(
        rf"(?i){DEBUT}(?:de|à)\s+(?:le|les)\s+(?!{INFINITIF})[^\W\d_]+{FIN}"
    ),
    "mot répété": re.compile(rf"(?i){DEBUT}([^\W\d_]+)\s+\1{FIN}"),
    "« X de X »": re.compile(rf"(?i){DEBUT}([^\W\d_]{{4,}})\s+de\s+\1{FIN}"),
}


def fautes(texte: str) -> list[str]:
    """What the rules find in `texte`, with a little context."""
    return [
        f"{nom}: …{texte[max(m.start() - 25, 0) : m.end() + 15]}…"
        for nom, regle in REGLES.items()
        for m in regle.finditer(texte)
    ]


@pytest.mark.parametrize(
    ("texte", "attendu"),
    [
        ("Part de la population à plus de 10 km de un lieu", ["élision manquante"]),
        ("à plus de 20 km de une France Services", ["élision manquante"]),
        ("Nombre de arrêts de lieux itinérants", ["élision manquante"]),
        ("Nombre de nombre de conseillers", ["« X de X »"]),
        ("la liste de les lieux", ["contraction manquante"]),
        ("rattaché à le département", ["contraction manquante"]),
        ("de le lieu", ["contraction manquante"]),
        ("le le lieu", ["mot répété"]),
        ("permettra de les dédoublonner", []),  # pronoun before an infinitive
        ("d'un lieu d'aide", []),
        ("de 1 à 4 personnes", []),
        ("boîtes EMPRISES_FRANCE de observatory/transforms/geo.py", []),
        ("de haute qualité, de Charente", []),
    ],
)
def test_rules(texte: str, attendu: list[str]) -> None:
    assert [f.split(":")[0] for f in fautes(texte)] == attendu


def _chaines(valeur: object) -> Iterator[str]:
    if isinstance(valeur, str):
        yield valeur
    elif isinstance(valeur, dict):
        for k, v in valeur.items():
            yield from _chaines(k)
            yield from _chaines(v)
    elif isinstance(valeur, list):
        for v in valeur:
            yield from _chaines(v)


def _constantes(chemin: Path) -> Iterator[str]:
    """The string literals of a Python module (messages, f-string parts, descriptions)."""
    for noeud in ast.walk(ast.parse(chemin.read_text(encoding="utf-8"))):
        if isinstance(noeud, ast.Constant) and isinstance(noeud.value, str):
            yield noeud.value


def textes() -> Iterator[tuple[str, str]]:
    """(file, text) for every text a user of the observatory reads."""
    racine = PROJECT_ROOT
    for chemin in sorted(racine.glob("schemas/*.yaml")) + sorted(
        racine.glob("schemas/partners/*.yaml")
    ):
        for texte in _chaines(yaml.safe_load(chemin.read_text(encoding="utf-8"))):
            yield chemin.name, texte
    for chemin in sorted(racine.glob("schemas/tables/*.json")):
        for texte in _chaines(json.loads(chemin.read_text(encoding="utf-8"))):
            yield chemin.name, texte
    documents = [
        *racine.glob("observatory/publish/templates/*.j2"),
        racine / "schemas/partners/README.md",
        *racine.glob("docs/*.md"),
    ]
    for chemin in sorted(documents):
        yield chemin.name, chemin.read_text(encoding="utf-8")
    for chemin in sorted(racine.glob("observatory/**/*.py")):
        for texte in _constantes(chemin):
            yield str(chemin.relative_to(racine)), texte


def test_user_facing_texts_have_no_typos() -> None:
    trouvees = [f"{fichier}: {faute}" for fichier, texte in textes() for faute in fautes(texte)]
    assert trouvees == []


def test_the_sources_scanned_include_every_kind_of_user_text() -> None:
    """The scan is not empty by mistake: it reads the dictionary, schemas, templates, the
    partner guide and the partner feedback messages."""
    fichiers = {fichier for fichier, _ in textes()}
    assert {
        "indicateurs.yaml",
        "lieux.json",
        "rapport_departement.html.j2",
        "README.md",
        "observatory/partners/feedback.py",
        "observatory/cli.py",
    } <= fichiers
