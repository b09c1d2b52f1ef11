"""`observatory explain <indicateur>`: where an indicator comes from, read off the pipeline itself.

Everything printed is derived from what the run uses, so it cannot drift: the label, definition
and unit from the dictionary (`schemas/indicateurs.yaml`, which the release publishes), the
code files from the assets' `dagster/code_references` (`observatory.defs.code_references`),
the steps and raw sources from the asset graph, each source's vintage, producer and licence
from the catalogue (`observatory.sources.catalogue`, which the manifest publishes) and its
address from the live catalogue (`schemas/sources/live.yaml`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

from observatory.defs.code_references import CODE_REFERENCES
from observatory.operations.lineage import upstream
from observatory.publish.schemas import load_dictionary
from observatory.sources.catalogue import SOURCES
from observatory.sources.live import LIVE_URLS, SANS_FICHIER_LIVE

COUCHES = ("raw_", "stg_", "int__", "ind_", "pub_")


class IndicateurInconnu(KeyError):
    """The name is not an indicator of the dictionary: the message lists close names."""


@dataclass(frozen=True)
class SourceBrute:
    cle: str
    titre: str
    producteur: str
    millesime: str
    licence: str
    adresses: tuple[str, ...]  # live URLs, or empty
    sans_adresse: str | None  # why there is no live file


@dataclass(frozen=True)
class Explication:
    indicateur: str
    libelle: str
    definition: str
    unite: str
    modele: str
    fichiers_code: tuple[str, ...]  # `path:line` of the code that computes it
    etapes: tuple[str, ...]  # the assets between the raw sources and the model, by layer
    sources: tuple[SourceBrute, ...]
    sources_dictionnaire: tuple[str, ...]
    tables: tuple[str, ...]


def _couche(name: str) -> int:
    return next((i for i, p in enumerate(COUCHES) if name.startswith(p)), len(COUCHES))


def _references(graph: Any, name: str) -> list[dg.LocalFileCodeReference]:
    value = graph.get(dg.AssetKey(name)).metadata.get(CODE_REFERENCES)
    return list(value.code_references) if value is not None else []


def _propre(
    name: str, references: list[dg.LocalFileCodeReference], home: str | None, enfants: set[str]
) -> bool:
    """Whether an `int__` step is part of an indicator's computation rather than a shared input:
    a SQL model, a body written beside the model's, or a step only indicators read."""
    if not references:
        return False
    if references[0].label == "SQL" or references[0].file_path == home:
        return True
    return bool(enfants) and all(c.startswith(("ind_", "pub_")) for c in enfants)


def _fichiers_code(graph: Any, modele: str, parents: dict[str, set[str]]) -> tuple[str, ...]:
    """The model's files and those of the intermediate steps that belong to it (`_propre`);
    shared inputs (territories, statistics) are steps, not this indicator's code."""
    children: dict[str, set[str]] = {}
    for child, ps in parents.items():
        for p in ps:
            children.setdefault(p, set()).add(child)
    own = _references(graph, modele)
    home = own[0].file_path if own else None
    files: dict[str, str] = {}
    todo, seen = [modele], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        references = _references(graph, name)
        enfants = children.get(name, set())
        if name != modele and not _propre(name, references, home, enfants):
            continue
        for ref in references:
            line = f":{ref.line_number}" if ref.label == "asset" else ""
            files.setdefault(ref.file_path, f"{ref.file_path}{line}")
        todo.extend(p for p in parents.get(name, ()) if p.startswith("int__"))
    return tuple(files.values())


def _source(cle: str, mappings: dict[str, Any]) -> SourceBrute:
    catalogue = {s.key: s for s in SOURCES}
    live = LIVE_URLS.get(cle)
    adresses = tuple(f.url.url for f in live.files) if live is not None else ()
    if cle in catalogue:
        s = catalogue[cle]
        return SourceBrute(
            cle, s.title, s.producer, s.vintage, s.licence, adresses, SANS_FICHIER_LIVE.get(cle)
        )
    partenaire = cle.removeprefix("partenaire__")
    mapping = mappings.get(partenaire)
    return SourceBrute(
        cle,
        getattr(mapping, "titre", cle),
        getattr(mapping, "producteur", "partenaire"),
        "fichiers déposés",
        getattr(mapping, "licence", "") or "",
        (),
        f"fichiers déposés par le partenaire dans <data_dir>/inbox/{partenaire}/",
    )


def explique(indicateur: str, definitions: dg.Definitions, schemas_dir: Path) -> Explication:
    """The lineage of one indicator of the dictionary."""
    from observatory.partners.mappings import load_mappings

    dictionnaire = load_dictionary(schemas_dir)
    if indicateur not in dictionnaire:
        proches = difflib.get_close_matches(indicateur, list(dictionnaire), n=6, cutoff=0.5)
        raise IndicateurInconnu(
            f"« {indicateur} » n'est pas un indicateur du dictionnaire "
            f"(schemas/indicateurs.yaml). Proches : {', '.join(proches) or 'aucun'}."
        )
    entree = dictionnaire[indicateur]
    modele = entree["modele"]
    graph = definitions.resolve_asset_graph()
    parents = {
        k.to_user_string(): {p.to_user_string() for p in graph.get(k).parent_keys}
        for k in graph.get_all_asset_keys()
    }
    amont = upstream(parents, modele)
    raws = sorted(n.removeprefix("raw_") for n in amont if n.startswith("raw_"))
    etapes = sorted(
        (n for n in amont - {modele} if not n.startswith("raw_")), key=lambda n: (_couche(n), n)
    )
    aval = {n for n, ps in parents.items() if modele in ps}
    tables = []
    if "pub_indicateurs" in aval:
        tables.append(f"indicateurs (lignes où indicateur = '{indicateur}')")
    if any("pub_indicateurs" in parents.get(n, ()) for n in ("pub_indicateurs_large",)):
        tables.append(f"indicateurs_large (colonne {indicateur}, dernière année)")
    mappings = load_mappings(schemas_dir / "partners")
    return Explication(
        indicateur=indicateur,
        libelle=entree["libelle"],
        definition=" ".join(str(entree["definition"]).split()),
        unite=entree["unite"],
        modele=modele,
        fichiers_code=_fichiers_code(graph, modele, parents),
        etapes=tuple(etapes),
        sources=tuple(_source(cle, mappings) for cle in raws),
        sources_dictionnaire=tuple(entree.get("sources") or ()),
        tables=tuple(tables),
    )


def texte(e: Explication) -> str:
    """The explanation as French text for the terminal."""
    lignes = [
        f"{e.indicateur} — {e.libelle}",
        f"Unité : {e.unite}",
        f"Définition : {e.definition}",
        "",
        f"Calculé par le modèle {e.modele}, dans :",
        *(f"  {f}" for f in e.fichiers_code),
        "",
        "Étapes en amont (de la plus proche des sources à la plus proche de l'indicateur) :",
        f"  {' → '.join(e.etapes)}",
        "",
        "Sources brutes :",
    ]
    for s in e.sources:
        lignes.append(f"  {s.cle} — {s.titre} ({s.producteur}, millésime {s.millesime})")
        if s.licence:
            lignes.append(f"    licence : {s.licence}")
        lignes += [f"    en ligne : {url}" for url in s.adresses]
        if not s.adresses and s.sans_adresse:
            lignes.append(f"    sans fichier en ligne : {s.sans_adresse}")
    lignes += ["", "Publié dans :", *(f"  {t}" for t in e.tables)]
    return "\n".join(lignes)
