"""Data dictionary and methodology note of a release, in Markdown and HTML (French).

Both are generated from what the pipeline already holds — the Table Schemas, the indicator
dictionary (`schemas/indicateurs.yaml`), the header comments of the SQL models and the notes
in `docs/` — so the documentation cannot drift from the data it describes.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from observatory.publish import numbers
from observatory.sqlmodels.loader import header_text

SENS = {
    "hausse_favorable": "une hausse est favorable",
    "baisse_favorable": "une baisse est favorable",
    "neutre": "neutre",
}


def _cell(value: Any) -> str:
    """A Markdown table cell: no pipes or newlines from the text can break the table."""
    return " ".join(str(value if value is not None else "").split()).replace("|", "\\|")


def _md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _vintages(manifest: Mapping[str, Any]) -> dict[str, str]:
    by_key: dict[str, set[str]] = {}
    for source in manifest.get("sources", []):
        by_key.setdefault(source["source"], set()).add(str(source.get("millesime")))
    return {key: ", ".join(sorted(values)) for key, values in by_key.items()}


def render_dictionary(
    manifest: Mapping[str, Any],
    schemas: Mapping[str, Mapping[str, Any]],
    dictionary: Mapping[str, Mapping[str, Any]],
    units: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    """Markdown: every published table with its columns, then every indicator code with its
    precision (`units`: `schemas/unites.yaml`, the bundled one by default)."""
    vintages = _vintages(manifest)
    precisions = numbers.Precisions(
        dictionary, numbers.load_precisions().units if units is None else units
    )
    lines = [
        f"# Dictionnaire des données — publication {manifest['release_id']}",
        "",
        f"Référentiel territorial : COG {manifest.get('millesime_cog', '?')}. "
        "Licence Ouverte 2.0. Les codes de territoire sont des chaînes (zéros initiaux, 2A/2B).",
        "",
    ]
    for name, table in manifest["tables"].items():
        schema = schemas[name]
        lines += [
            f"## Table `{name}` — {schema.get('title', '')}",
            "",
            schema.get("description", ""),
        ]
        key = schema.get("primaryKey")
        lines += ["", f"{numbers.count(table['rows'])} lignes."]
        if key:
            lines.append(f"Clé : {', '.join(f'`{k}`' for k in key)}.")
        if table.get("partition_by"):
            lines.append(f"Fichiers partitionnés par `{table['partition_by']}`.")
        lines.append("")
        lines += _md_table(
            ["Colonne", "Type", "Titre", "Description"],
            [
                [f"`{f['name']}`", f.get("type", ""), f.get("title", ""), f.get("description", "")]
                for f in schema["fields"]
            ],
        )
        lines.append("")
    lines += ["## Indicateurs (`indicateurs.indicateur`)", ""]
    lines += _md_table(
        ["Code", "Libellé", "Définition", "Unité", "Précision", "Sens", "Sources (millésimes)"],
        [
            [
                f"`{code}`",
                entry.get("libelle", ""),
                entry.get("definition", ""),
                entry.get("unite", ""),
                numbers.describe(precisions.of(code)),
                SENS.get(entry.get("sens", ""), entry.get("sens", "")),
                ", ".join(f"{s} ({vintages.get(s, '?')})" for s in entry.get("sources", [])),
            ]
            for code, entry in dictionary.items()
        ],
    )
    return "\n".join(lines) + "\n"


def render_methodology(
    manifest: Mapping[str, Any],
    dictionary: Mapping[str, Mapping[str, Any]],
    models: Mapping[str, str],
    notes: Mapping[str, str],
) -> str:
    """Markdown: how each indicator model computes its figures, then the longer notes."""
    vintages = _vintages(manifest)
    lines = [
        f"# Note méthodologique — publication {manifest['release_id']}",
        "",
        "Chaque indicateur est calculé à la commune puis agrégé à chaque niveau (EPCI, bassin de "
        "vie, département, région, France) à partir des comptes, jamais en moyennant des taux. "
        "Un territoire qu'une source ne couvre pas reçoit une valeur nulle (`couverture` fausse), "
        "jamais 0.",
        "",
        "## Sources et millésimes",
        "",
    ]
    lines += _md_table(
        ["Source", "Producteur", "Titre", "Millésime", "Licence"],
        sorted(
            {
                (
                    s["source"],
                    s.get("producteur", ""),
                    s.get("titre", ""),
                    str(s.get("millesime")),
                    s.get("licence", ""),
                )
                for s in manifest.get("sources", [])
            }
        ),
    )
    lines += ["", "## Modèles d'indicateurs", ""]
    for model in sorted(models):
        produced = [code for code, e in dictionary.items() if e.get("modele") == model]
        lines += [f"### `{model}`", "", header_text(models[model]) or "(sans description)", ""]
        if produced:
            sources = sorted({s for c in produced for s in dictionary[c].get("sources", [])})
            lines.append(f"Indicateurs : {', '.join(f'`{c}`' for c in produced)}.")
            lines.append(
                "Sources : " + ", ".join(f"{s} ({vintages.get(s, '?')})" for s in sources) + "."
            )
            lines.append("")
    for title in sorted(notes):
        lines += ["", notes[title].strip(), ""]
    return "\n".join(lines) + "\n"


def to_html(markdown: str, title: str) -> str:
    """A standalone, accessible HTML page (no JavaScript) from generated Markdown."""
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)
    return (
        '<!DOCTYPE html>\n<html lang="fr">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n"
        "<style>body{font-family:sans-serif;max-width:70rem;margin:auto;padding:1rem}"
        "table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2rem .4rem;"
        "vertical-align:top}</style>\n</head>\n<body>\n"
        f"{body}</body>\n</html>\n"
    )


def read_models(sql_dir: Path) -> dict[str, str]:
    """The text of every indicator model, by name."""
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(sql_dir.rglob("ind_*.sql"))}


def read_notes(docs_dir: Path) -> dict[str, str]:
    """The methodology notes in `docs/` (`methodologie_*.md`), by file name; the developers'
    notes beside them (`architecture.md`) are not part of a release."""
    if not docs_dir.is_dir():
        return {}
    notes = sorted(docs_dir.glob("methodologie_*.md"))
    return {p.name: p.read_text(encoding="utf-8") for p in notes}
