"""What goes into a release besides the tables: layouts, source list and generated documents.

Kept out of the Dagster asset so the CLI and tests build releases the same way.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from observatory.locking import run_lock
from observatory.partners.mappings import load_mappings
from observatory.publish.changelog import build_changelog
from observatory.publish.datapackage import build_datapackage
from observatory.publish.documentation import (
    read_models,
    read_notes,
    render_dictionary,
    render_methodology,
    to_html,
)
from observatory.publish.historique import HistoriqueIllisible, historique_secret
from observatory.publish.numbers import load_precisions
from observatory.publish.release import (
    Documents,
    TableLayout,
    TablesOnDemand,
    nettoie_publication,
    read_manifest,
    scan_table,
    write_release,
)
from observatory.publish.schemas import load_dictionary, load_table_schema
from observatory.publish.tables import PublicationCheckError, check_tables
from observatory.settings import Settings, bundled
from observatory.sources.catalogue import COG_COMMUNES, SOURCES
from observatory.sources.fallback import stale_status
from observatory.sources.raw import (
    RawFile,
    landed,
    nettoie_temporaires,
    read_sidecar,
    sha256_file,
    verifie_empreinte,
    verifie_tous,
)

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
    """Every landed raw file with its source, vintage, licence, origin and checksum.

    Each file is re-hashed against its sidecar: a national file altered since landing stops
    the release (`RawLayerError` naming it). Partner files are listed too, an altered one with
    `alteration` (why it was refused) and the sha256 found, so the CHANGELOG says so.
    """
    national = []
    for s in SOURCES:
        files = landed(settings, s)
        verifie_tous(files)
        national += [
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
            for f in files
        ]
    return national + partner_sources(settings)


def nettoie_interrompus(settings: Settings) -> list[Path]:
    """Remove what a run killed mid-write left: temporary files of dead processes in the raw
    layer, the warehouse and `published/`, a staging release folder, a `latest` link never
    renamed. Called under the run lock."""
    removed = [
        path
        for folder in (settings.raw_dir, settings.warehouse_dir, settings.published_dir)
        for path in nettoie_temporaires(folder)
    ]
    return removed + nettoie_publication(settings.published_dir)


REFUSES = "_refuses"  # raw/_refuses/<partner>/<time>/: files refused after landing


def partner_files(settings: Settings) -> list[tuple[RawFile, str | None]]:
    """Sidecars of every partner file landed under `raw/partenaires/<partner>/<time>/`, and of
    those refused after landing (`raw/_refuses/<partner>/<time>/`, with their reason)."""
    found = []
    for root, refused in (
        (settings.raw_dir / "partenaires", False),
        (settings.raw_dir / REFUSES, True),
    ):
        for sidecar in sorted(root.glob("*/*/*.meta.json")) if root.is_dir() else ():
            if not sidecar.is_file():
                continue
            raw = read_sidecar(sidecar)
            raison = None
            if refused:
                why = sidecar.with_name(f"{raw.fichier}.raison.txt")
                raison = why.read_text(encoding="utf-8").strip() if why.is_file() else "refusé"
            found.append((raw, raison))
    return sorted(found, key=lambda f: (f[0].source, f[0].recupere_le, f[0].vintage, f[0].fichier))


def partner_sources(settings: Settings) -> list[dict[str, Any]]:
    """The manifest's entries of the partner files, each re-hashed against its sidecar.

    An altered file carries `alteration` (why) and `sha256_constate` (the bytes found); a file
    refused after landing carries `refus` (its reason): the CHANGELOG reports both."""
    mappings = load_mappings(settings.schemas_dir / "partners")
    entries = []
    for raw, refus in partner_files(settings):
        mapping = mappings.get(raw.provider)
        entry: dict[str, Any] = {
            "source": raw.source,
            "titre": mapping.titre if mapping else raw.source,
            "producteur": mapping.producteur if mapping else raw.provider,
            "millesime": raw.vintage,
            "annee": None,
            "licence": raw.licence,
            # one partner may drop two files of the same name: the reception time tells them apart
            "fichier": f"{raw.vintage}/{raw.fichier}",
            "origine": raw.origine,
            "url": raw.url,
            "sha256": raw.sha256,
            "chemin": str(raw.path.relative_to(settings.data_dir)),
            "recupere_le": raw.recupere_le,
            "perimee": False,
            "partenaire": raw.provider,
        }
        if refus is not None:
            entry["refus"] = refus
        if probleme := verifie_empreinte(raw):
            entry["alteration"] = probleme
            entry["sha256_constate"] = sha256_file(raw.path) if raw.path.is_file() else None
        entries.append(entry)
    return entries


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
        # scans: the comparison reads only the columns it uses, never two releases whole
        current = {name: scan_table(folder, name, manifest) for name in manifest["tables"]}
        previous_manifest = previous_tables = None
        if previous is not None:
            previous_manifest = json.loads((previous / "manifest.json").read_text("utf-8"))
            previous_tables = {
                name: scan_table(previous, name, previous_manifest)
                for name in previous_manifest["tables"]
            }
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


logger = logging.getLogger(__name__)


def _garde_historique(settings: Settings) -> None:
    """Add the releases on disk to the ledger of what was revealed; a ledger or a release that
    cannot be read is said, never blocks the release (the next runs hide every partner count
    until it is mended: `secret_suppression.etat_historique`)."""
    try:
        historique_secret(settings, ecrire=True)
    except (HistoriqueIllisible, OSError) as erreur:
        logger.error("%s", erreur)


def publish_release(
    settings: Settings,
    published: Mapping[str, Any],
    lineage: dict[str, list[str]],
    annexes: Mapping[str, str] | None = None,
    code: Mapping[str, str | None] | None = None,
) -> dict[str, Any]:
    """Check the published tables (table → frame or scan, read one at a time), then write
    the release under the run lock (runs started by the daemon do not go through the CLI's);
    `latest` switches only once everything is written. Returns what the release asset says.
    `code`: the run's code version (`release.code_version`), else read now."""
    frames = TablesOnDemand(dict(published))
    schemas = {name: load_table_schema(settings.schemas_dir, name) for name in published}
    dictionary = load_dictionary(settings.schemas_dir)
    if errors := check_tables(frames, schemas, dictionary):
        raise PublicationCheckError("; ".join(errors))
    with run_lock(settings.data_dir, label="release"):
        nettoie_interrompus(settings)
        # what the releases on disk revealed is kept before pruning deletes the oldest
        _garde_historique(settings)
        publication = write_release(
            frames,
            settings.published_dir,
            release_sources(settings),
            extra={"millesime_cog": COG_COMMUNES.annee, "profil": settings.profile},
            layouts=layouts(schemas),
            lineage=lineage,
            documents=release_documents(settings, schemas, dictionary, annexes),
            keep=settings.keep_releases,
            code=code,
        )
        _garde_historique(settings)  # and what this one revealed
    manifest = read_manifest(publication.folder)
    return {
        "chemin": str(publication.folder),
        "release_id": publication.folder.name,
        "nouvelle": publication.nouvelle,
        "supprimees": list(publication.pruned),
        **{f"lignes_{name}": e["rows"] for name, e in manifest["tables"].items()},
    }
