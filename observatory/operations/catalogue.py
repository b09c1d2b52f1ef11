"""The French texts of the Dagster catalog: descriptions of the assets whose code documents
them in English, and a published table's description and columns from its Table Schema
(`schemas/tables/`). `observatory.defs.catalog` applies them to the definitions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

OWNER = "team:observatoire"
LAYER_TAG = "observatoire/couche"
# French descriptions of the assets whose code documents them in English (their docstrings).
DESCRIPTIONS = {
    "int__contours_communes": (
        "Contours des communes du COG (simplifiés) : carte des rapports, contrôle qu'un lieu est "
        "dans sa commune."
    ),
    "int__difficulte_numerique_communes": (
        "Personnes de 15 ans ou plus en difficulté avec le numérique par commune (estimation par "
        "âge, intervalle, composantes des sommes)."
    ),
    "int__fragilite_bornes": (
        "Bornes nationales (1er et 99e centiles des communes) des scores de l'indice de "
        "fragilité, et nombre de communes bornées."
    ),
    "stg_cog__communes": "Communes du COG dans le périmètre (métropole et DROM), typées.",
    "stg_cog__communes_deleguees": (
        "Noms des communes déléguées et associées, pour trouver la commune d'un lieu."
    ),
    "stg_anct__grilles_communales": "Grille communale de densité INSEE (7 et 4 niveaux).",
    "stg_insee__zonages": (
        "Bassin de vie 2022 et aire d'attraction des villes 2020 de chaque commune."
    ),
    "stg_laposte__communes_coordonnees": (
        "Un point WGS84 par commune (La Poste), pour les contrôles de distance."
    ),
    "stg_caf__rsa_iris": (
        "Allocataires du RSA par IRIS sommés par commune (table IRIS 2020) ; sommes partielles "
        "signalées."
    ),
    "int__contexte_communes": (
        "Bassin de vie, aire d'attraction, grille de densité et point de chaque commune."
    ),
    "int__territoires": (
        "Tous les niveaux (commune … France, bassins de vie) ; populations sommées depuis les "
        "communes."
    ),
    "int__zonages_territoires": (
        "Zonages des utilisateurs (`OBSERVATORY_ZONAGES_DIR`), vérifiés : niveaux `zonage:<nom>`."
    ),
    "int__zonages_appartenances": (
        "Communes de chaque zone des zonages des utilisateurs (`OBSERVATORY_ZONAGES_DIR`)."
    ),
    "int__appartenances": (
        "Chaque commune avec tous les territoires auxquels elle appartient : la clé de toutes "
        "les agrégations."
    ),
    "int__couverture_sources": (
        "Communes couvertes par chaque source, avec ses lignes (non couverte : indicateurs "
        "nuls, jamais 0)."
    ),
    "int__lieux_resolus": (
        "Lieux de tous les registres avec leur commune du COG ; non résolus ou trop loin : en "
        "quarantaine."
    ),
    "int__lieux": (
        "Un lieu par ligne : doublons entre registres et au sein d'un registre fusionnés, "
        "sources listées."
    ),
    "int__statistiques_communes": (
        "Chaque commune du COG 2026 avec ses statistiques, chaque manque signalé (jamais une "
        "valeur inventée)."
    ),
    "int__besoin_communes": (
        "Personnes de 15 ans ou plus en situation d'illectronisme par commune (estimation, "
        "intervalle, composantes des sommes)."
    ),
    "int__acces_communes": (
        "Distance de chaque commune au lieu d'aide aux démarches et à la France Services les "
        "plus proches."
    ),
    "int__filosofi_territoires": (
        "Chiffres Filosofi publiés par l'INSEE pour les départements et les régions."
    ),
    "int__france_services_millesimes": (
        "Chaque France Services de chaque millésime avec sa commune du COG 2026, son année, sa "
        "définition."
    ),
    "int__activite_partenaires": (
        "Activité déclarée par les partenaires, par territoire, année et mesure, avec la "
        "couverture."
    ),
    "ind_besoin": (
        "Personnes en situation d'illectronisme (nombre et part) avec leur intervalle à 95 %, "
        "à chaque niveau."
    ),
    "ind_fragilite": (
        "Indice de fragilité numérique de La Mednum : référence France partout, référence "
        "département pour les communes."
    ),
    "ind_activite_partenaires": (
        "Parts de personnes diagnostiquées, accompagnements rapportés au besoin, pass utilisés : "
        "secret statistique sous 5."
    ),
    "release": (
        "Release vérifiée et immuable (Parquet, manifeste, dictionnaire, méthodologie) ; "
        "`latest` ne bascule qu'une fois tout écrit."
    ),
    "pub_sql": (
        "La dernière release dans OBSERVATORY_DATABASE_URL (fichier SQLite par défaut) : une "
        "transaction, vues basculées vers elle."
    ),
}
COLUMN_TYPES = {"string": "texte", "integer": "entier", "number": "nombre", "boolean": "booléen"}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # in French (`texte`, `entier`…)
    description: str
    required: bool


def columns(schema: Mapping[str, Any]) -> list[Column]:
    """A Table Schema's columns: name, type, French title and description, unit, required."""
    found = []
    for spec in schema["fields"]:
        title, description = spec.get("title", ""), " ".join(spec.get("description", "").split())
        text = f"{title} — {description}" if title and description else title or description
        if spec.get("unit"):
            text += f" (unité : {spec['unit']})"
        kind = COLUMN_TYPES.get(spec.get("type", ""), spec.get("type", ""))
        required = bool(spec.get("constraints", {}).get("required"))
        found.append(Column(spec["name"], kind, text, required))
    return found


def table_description(schema: Mapping[str, Any]) -> str:
    """A published table's description: its title, its name, its description."""
    return f"{schema['title']} (table publiée `{schema['name']}`) : " + " ".join(
        schema.get("description", "").split()
    )
