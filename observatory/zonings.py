"""Reading the user-defined zonings of a folder (`territoires_personnalises/`).

One file per zoning, its name (without extension) is the zoning's name (`zonage:<name>`):
`<name>.csv` (`code_commune;code_zone;nom_zone`, `;` `,` or tab separated, UTF-8 or the
Windows-1252 of French spreadsheets, an optional first line `# perimetre: departement=16`)
or `<name>.yaml` / `.yml` (zones listing `epci` and/or `communes`, optional `perimetre`).
Errors name the file and the line. The checks against the COG are in
`observatory.transforms.zonings`.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import polars as pl
import yaml

from observatory.partners.sniffing import PartnerFileError, detect_encoding
from observatory.transforms import rebasing, territories
from observatory.transforms.zonings import (
    ATTRIBUT_LIGNES,
    CLE_LIGNE,
    DEPUIS_ZONAGES,
    NOM_ZONAGE,
    DeclarationZonage,
    ZonageError,
    parse_zonage_csv,
    parse_zonage_yaml,
    valider_zonages,
)

EXTENSIONS = (".csv", ".yaml", ".yml")
# Spreadsheets people may drop in the folder: told to save them as CSV rather than ignored.
EXTENSIONS_REFUSEES = (".xlsx", ".xls", ".ods")
_DIRECTIVE = re.compile(r"^#\s*perimetre\s*:\s*(?P<valeur>.+?)\s*$", re.IGNORECASE)
_SEPARATEURS = (";", ",", "\t")


class _Liste(list):
    """A YAML list that remembers the line of each item."""

    lignes: list[int]


class _ChargeurYaml(yaml.BaseLoader):
    """Every scalar stays a string (`01001` is not octal 513), with line numbers kept."""


def _mapping(chargeur: _ChargeurYaml, noeud: yaml.MappingNode) -> dict:
    vus: dict[str, int] = {}
    for cle, _ in noeud.value:
        ligne = cle.start_mark.line + 1
        if cle.value in vus:
            raise yaml.MarkedYAMLError(
                problem=f"clé {cle.value!r} répétée (déjà ligne {vus[cle.value]})",
                problem_mark=cle.start_mark,
            )
        vus[cle.value] = ligne
    data = chargeur.construct_mapping(noeud, deep=True)
    data[CLE_LIGNE] = noeud.start_mark.line + 1
    return data


def _sequence(chargeur: _ChargeurYaml, noeud: yaml.SequenceNode) -> _Liste:
    liste = _Liste(chargeur.construct_sequence(noeud, deep=True))
    setattr(liste, ATTRIBUT_LIGNES, [item.start_mark.line + 1 for item in noeud.value])
    return liste


_ChargeurYaml.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_ChargeurYaml.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)


def _texte(path: Path) -> str:
    content = path.read_bytes()
    try:
        return content.decode(detect_encoding(content, path.name))
    except (PartnerFileError, UnicodeDecodeError) as erreur:
        raise ZonageError(f"{path.name} : encodage illisible, enregistrez-le en UTF-8") from erreur


def read_zonage_yaml(path: Path) -> DeclarationZonage:
    """A YAML zoning file → its declaration (syntax errors name the line)."""
    try:
        data = yaml.load(_texte(path), Loader=_ChargeurYaml)
    except yaml.MarkedYAMLError as erreur:
        mark = erreur.problem_mark
        ligne = f", ligne {mark.line + 1}" if mark is not None else ""
        raise ZonageError(f"{path.name}{ligne} : YAML illisible : {erreur.problem}") from erreur
    except yaml.YAMLError as erreur:
        raise ZonageError(f"{path.name} : YAML illisible : {erreur}") from erreur
    return parse_zonage_yaml(data, fichier=path.name)


def read_zonage_csv(path: Path) -> DeclarationZonage:
    """A CSV zoning file → its declaration; leading `#` lines are comments (`# perimetre: …`)."""
    lignes = _texte(path).splitlines()
    perimetre = None
    debut = 0
    while debut < len(lignes) and (not lignes[debut].strip() or lignes[debut].startswith("#")):
        directive = _DIRECTIVE.match(lignes[debut].strip())
        if directive:
            perimetre = directive["valeur"]
        debut += 1
    if debut == len(lignes):
        raise ZonageError(f"{path.name} : fichier vide, attendu code_commune;code_zone;nom_zone")
    entete = lignes[debut]
    separateur = max(_SEPARATEURS, key=entete.count)
    lecteur = csv.reader(io.StringIO("\n".join(lignes[debut:])), delimiter=separateur)
    colonnes = [c.strip() for c in next(lecteur)]
    rangees, numeros = [], []
    for rangee in lecteur:
        numero = debut + lecteur.line_num
        if not any(cellule.strip() for cellule in rangee):
            continue
        if len(rangee) != len(colonnes):
            raise ZonageError(
                f"{path.name}, ligne {numero} : {len(rangee)} valeurs pour {len(colonnes)} "
                f"colonnes ({separateur!r} comme séparateur)"
            )
        rangees.append(rangee)
        numeros.append(numero)
    if len(set(colonnes)) != len(colonnes):
        raise ZonageError(f"{path.name} : colonnes en double dans l'en-tête {colonnes}")
    frame = pl.DataFrame(
        rangees, schema=dict.fromkeys(colonnes, pl.String), orient="row"
    ).with_columns(pl.Series("ligne", numeros, dtype=pl.Int64))
    return parse_zonage_csv(frame, perimetre=perimetre, fichier=path.name)


def load_zonages(folder: str | Path) -> list[tuple[str, DeclarationZonage]]:
    """Every zoning of `folder`, sorted by name; other files (a README) are ignored."""
    dossier = Path(folder)
    if not dossier.is_dir():
        raise ZonageError(f"dossier des territoires personnalisés introuvable : {dossier}")
    zonages: dict[str, tuple[Path, DeclarationZonage]] = {}
    for path in sorted(dossier.iterdir()):
        extension = path.suffix.lower()
        if path.name.startswith(".") or not path.is_file():
            continue
        if extension in EXTENSIONS_REFUSEES:
            raise ZonageError(f"{path.name} : classeur non lu, enregistrez-le en CSV (;)")
        if extension not in EXTENSIONS:
            continue
        nom = path.stem
        if not NOM_ZONAGE.match(nom):
            raise ZonageError(
                f"{path.name} : nom de fichier refusé, le nom du zonage doit suivre "
                f"{NOM_ZONAGE.pattern} (minuscules sans accents, chiffres, _)"
            )
        if nom in zonages:
            raise ZonageError(
                f"{path.name} : le zonage {nom!r} est déjà déclaré par {zonages[nom][0].name}"
            )
        lire = read_zonage_csv if extension == ".csv" else read_zonage_yaml
        zonages[nom] = (path, lire(path))
    return [(nom, declaration) for nom, (_, declaration) in sorted(zonages.items())]


def zonages_valides(
    folder: str | Path | None,
    territoires: pl.DataFrame,
    passage_communes: pl.DataFrame,
    mouvements: pl.DataFrame,
    communes: pl.DataFrame,
) -> tuple[list[str], pl.DataFrame, pl.DataFrame]:
    """The users' zonings of `folder` (none without a folder), validated: their names, their
    zones (extra `zonage:<nom>` levels) and the communes of each zone. A zoning that forgets
    or repeats a commune, or names an unknown code, raises naming the communes; old commune
    codes are rebased to the COG of `communes`."""
    declarations = load_zonages(folder) if folder is not None else []
    passage = rebasing.build_passage(passage_communes, mouvements, communes, depuis=DEPUIS_ZONAGES)
    appartenances, zones = valider_zonages(
        declarations, territories.build_appartenances(territoires), territoires, passage
    )
    return [nom for nom, _ in declarations], zones, appartenances
