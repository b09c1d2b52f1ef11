"""The Dagster catalog documents itself, in French: what each asset is, who owns it, its layer.

Applied to the definitions last (`with_catalog`), so the asset code keeps its docstrings for
developers while the UI shows users:

- a French description: the Table Schema's title and description for a published table
  (`schemas/tables/`), the source catalogue's title for raw and staged sources (already set
  by their factories), the SQL model's header for SQL indicators, else `DESCRIPTIONS` below;
- the column schema of each published table (`dagster/column_schema`): every column with its
  type, French title and description, and whether it is required, from the same Table Schema;
- an owner, the layer as a tag, and kinds (polars, parquet, sql, file).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import dagster as dg

from observatory.defs.code_references import CODE_REFERENCES, metadata_value
from observatory.defs.publish import TABLES
from observatory.publish.schemas import load_table_schema
from observatory.settings import Settings

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


def column_schema(schema: Mapping[str, Any]) -> dg.TableSchema:
    """A Table Schema as Dagster's column schema: name, type, French title and description."""
    columns = []
    for spec in schema["fields"]:
        title, description = spec.get("title", ""), " ".join(spec.get("description", "").split())
        text = f"{title} — {description}" if title and description else title or description
        if spec.get("unit"):
            text += f" (unité : {spec['unit']})"
        required = bool(spec.get("constraints", {}).get("required"))
        columns.append(
            dg.TableColumn(
                name=spec["name"],
                type=COLUMN_TYPES.get(spec.get("type", ""), spec.get("type", "")),
                description=text,
                constraints=dg.TableColumnConstraints(nullable=not required),
            )
        )
    return dg.TableSchema(columns=columns)


def _kinds(spec: dg.AssetSpec, table: bool) -> set[str]:
    if spec.kinds:
        return set()  # already said (file, sql, parquet)
    return {"polars", "parquet"} if table else {"polars"}


def with_catalog(
    defs: dg.Definitions,
    settings: Settings,
    references: Mapping[str, list[dg.LocalFileCodeReference]] | None = None,
) -> dg.Definitions:
    """`defs` with French descriptions, column schemas, owner, layer tag, kinds and the code
    references of each asset (`observatory.defs.code_references`)."""
    schemas = {f"pub_{t}": load_table_schema(settings.schemas_dir, t) for t in TABLES}

    def apply(spec: dg.AssetSpec) -> dg.AssetSpec:
        name = spec.key.to_user_string()
        schema = schemas.get(name)
        metadata: dict[str, Any] = {}
        description = DESCRIPTIONS.get(name, spec.description)
        if schema is not None:
            description = f"{schema['title']} (table publiée `{schema['name']}`) : " + " ".join(
                schema.get("description", "").split()
            )
            metadata["dagster/column_schema"] = column_schema(schema)
        if references and name in references:
            metadata[CODE_REFERENCES] = metadata_value(references[name])
        tags = {LAYER_TAG: spec.group_name or "default"}
        return spec.replace_attributes(description=description).merge_attributes(
            owners=[OWNER], tags=tags, metadata=metadata, kinds=_kinds(spec, schema is not None)
        )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=dg.PreviewWarning)
        warnings.simplefilter("ignore", category=dg.BetaWarning)
        return defs.map_asset_specs(func=apply)
