"""What goes into a release besides the tables: layouts, source list and generated documents.

Kept out of the Dagster asset so the CLI and tests build releases the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

from observatory.publish.changelog import build_changelog
from observatory.publish.datapackage import build_datapackage
from observatory.publish.documentation import (
    read_models,
    read_notes,
    render_dictionary,
    render_methodology,
    to_html,
)
from observatory.publish.numbers import load_precisions
from observatory.publish.release import Documents, TableLayout, TablesOnDemand, read_table
from observatory.settings import Settings, bundled
from observatory.sources.catalogue import SOURCES
from observatory.sources.fallback import stale_status
from observatory.sources.raw import landed

PARTITIONED = ("territoires", "indicateurs", "indicateurs_large", "couverture_sources")
DOCUMENTS = (
    "CHANGELOG.md",
    "datapackage.json",
    "dictionnaire.md",
    "dictionnaire.html",
    "methodologie.md",
    "methodologie.html",
)


def layouts(schemas: Mapping[str, Mapping[str, Any]]) -> dict[str, TableLayout]:
    """Large tables partitioned by `niveau`; every table sorted by its primary key."""
    return {
        name: TableLayout(
            partition_by="niveau" if name in PARTITIONED else None,
            sort_by=tuple(schema.get("primaryKey", ())),
        )
        for name, schema in schemas.items()
    }


def release_sources(settings: Settings) -> list[dict[str, Any]]:
    """Every landed raw file with its source, vintage, licence, origin and checksum."""
    return [
        {
            "source": s.key,
            "titre": s.title,
            "producteur": s.producer,
            "millesime": s.vintage,
            "annee": s.annee,
            "licence": s.licence,
            "fichier": f.fichier,
            "origine": f.origine,
            "url": f.url,
            "sha256": f.sha256,
            "chemin": str(f.path.relative_to(settings.data_dir)),
            "recupere_le": f.recupere_le,
            # a download that failed: the release says it serves an older snapshot
            "perimee": stale_status(settings, s) is not None,
        }
        for s in SOURCES
        for f in landed(settings, s)
    ]


def release_documents(
    settings: Settings,
    schemas: Mapping[str, Mapping[str, Any]],
    dictionary: Mapping[str, Mapping[str, Any]],
    annexes: Mapping[str, str] | None = None,
) -> Documents:
    """The callback `write_release` uses to write CHANGELOG, datapackage and documentation.

    `annexes` (title → Markdown): figures of this run for the methodology note (e.g. the
    fragility index's caps and the communes capped), after the notes of `docs/`."""
    keys = {name: schema.get("primaryKey", ()) for name, schema in schemas.items()}

    def write(folder: Path, manifest: dict[str, Any], previous: Path | None) -> list[str]:
        # read table by table, as the comparison asks for them: never two releases in memory
        current = TablesOnDemand(
            {name: partial(read_table, folder, name, manifest) for name in manifest["tables"]}
        )
        previous_manifest = previous_tables = None
        if previous is not None:
            previous_manifest = json.loads((previous / "manifest.json").read_text("utf-8"))
            previous_tables = TablesOnDemand(
                {
                    name: partial(read_table, previous, name, previous_manifest)
                    for name in previous_manifest["tables"]
                }
            )
        texts = {
            "CHANGELOG.md": build_changelog(
                manifest, current, previous_manifest, previous_tables, keys
            ),
            "datapackage.json": json.dumps(
                build_datapackage(manifest, schemas), ensure_ascii=False, indent=2, default=str
            ),
            "dictionnaire.md": render_dictionary(
                manifest, schemas, dictionary, load_precisions(settings.schemas_dir).units
            ),
            "methodologie.md": render_methodology(
                manifest,
                dictionary,
                read_models(settings.sql_dir),
                read_notes(bundled("docs")) | dict(annexes or {}),
            ),
        }
        texts["dictionnaire.html"] = to_html(texts["dictionnaire.md"], "Dictionnaire des données")
        texts["methodologie.html"] = to_html(texts["methodologie.md"], "Note méthodologique")
        for name, text in texts.items():
            (folder / name).write_text(text, encoding="utf-8")
        return list(texts)

    return write
