"""`datapackage.json` of a release, built from the Table Schemas and the manifest.

Researchers' tools (frictionless, R's `frictionless`, Open Data portals) read a release through
it: one resource per table (multipart when partitioned), its schema, the licence and the
attribution of every source. Nothing in it is written by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LICENCE = {
    "name": "etalab-2.0",
    "path": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
    "title": "Licence Ouverte / Open Licence version 2.0",
}
PARQUET_MEDIATYPE = "application/vnd.apache.parquet"
_SCHEMA_KEYS = ("fields", "primaryKey", "foreignKeys", "missingValues")


def _resource(name: str, table: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    paths = [entry["path"] for entry in table["files"]]
    resource: dict[str, Any] = {
        "name": name,
        "title": schema.get("title", name),
        "description": schema.get("description", ""),
        "path": paths[0] if len(paths) == 1 else paths,
        "format": "parquet",
        "mediatype": PARQUET_MEDIATYPE,
        "profile": "tabular-data-resource",
        "schema": {
            **{k: schema[k] for k in _SCHEMA_KEYS if k in schema},
            # frictionless reads Parquet through pandas, where a null integer becomes NaN
            "missingValues": ["", "nan"],
        },
        "x-lignes": table["rows"],
    }
    # not `bytes`: frictionless' Parquet reader counts no bytes and would report a mismatch
    resource["x-octets"] = sum(entry["bytes"] for entry in table["files"])
    if table.get("partition_by"):
        resource["x-partition"] = table["partition_by"]
    if table.get("sources"):
        resource["sources"] = [
            {"title": f"{s['source']} ({s['millesime']})", "path": s.get("url") or s["chemin"]}
            for s in table["sources"]
        ]
    return resource


def source_attributions(sources: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One entry per source key: producer, title, vintage, licence, where it came from."""
    seen: dict[str, dict[str, Any]] = {}
    for s in sources:
        key = s.get("source")
        if key in seen:
            continue
        seen[key] = {
            "title": f"{s.get('producteur', '')} — {s.get('titre', key)} ({s.get('millesime')})",
            "path": s.get("url") or s.get("origine") or s.get("chemin"),
            "x-source": key,
            "x-licence": s.get("licence"),
        }
    return [seen[k] for k in sorted(seen)]


def build_datapackage(
    manifest: Mapping[str, Any], schemas: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """The descriptor: every table of the manifest with the schema it was checked against."""
    missing = sorted(set(manifest["tables"]) - set(schemas))
    if missing:
        raise ValueError(f"no Table Schema for published table(s) {missing}")
    return {
        "profile": "tabular-data-package",
        "name": "observatoire-inclusion-numerique",
        "title": "Observatoire de l'inclusion numérique — indicateurs par territoire",
        "description": (
            "Territoires, indicateurs d'inégalités numériques (besoin, offre, accès, fragilité, "
            "écart), lieux de médiation numérique et couverture des sources, à chaque niveau "
            "territorial (COG " + str(manifest.get("millesime_cog", "")) + ")."
        ),
        "version": manifest["release_id"],
        "created": manifest["created_at"],
        "licenses": [LICENCE],
        "sources": source_attributions(manifest.get("sources", [])),
        "resources": [
            _resource(name, table, schemas[name]) for name, table in manifest["tables"].items()
        ],
    }
