"""Feedback to a partner: every row set aside from their file and why, in French.

`feedback_table` turns quarantine entries into rows a producer can act on (their column name,
the spreadsheet row, the value as they wrote it, an explanation and what the observatory did).
`feedback_csv` writes it for a spreadsheet (UTF-8 with BOM, `;`, cells that a spreadsheet would
run as formulas neutralised); `feedback_html` as a small standalone page (everything escaped).
`write_feedback` is the only function here that writes files.
"""

from __future__ import annotations

import html
import io
import json
import os
from collections.abc import Mapping
from pathlib import Path

import polars as pl

from observatory.validation.quarantine import (
    QUARANTINE_SCHEMA,
    REJET,
    VALEUR_CORRIGEE,
    VALEUR_ECARTEE,
    account,
)

# What each reason means, for the producer. Unknown reasons show their code.
EXPLICATIONS: dict[str, str] = {
    "nombre_colonnes_incorrect": (
        "la ligne n'a pas le même nombre de colonnes que l'en-tête (séparateur ou guillemets "
        "dans une valeur ?)"
    ),
    "obligatoire_manquant": "valeur obligatoire absente",
    "formule_non_evaluee": (
        "la cellule contient une formule de tableur, pas sa valeur : copiez-collez les valeurs"
    ),
    "nombre_invalide": "ce n'est pas un nombre",
    "nombre_negatif": "un nombre négatif n'est pas possible ici",
    "nombre_non_entier": "un nombre entier est attendu",
    "nombre_notation_scientifique": (
        "nombre en notation scientifique (1,23E+05) : le tableur a pu l'arrondir ; exportez la "
        "colonne au format nombre, sans exposant"
    ),
    "date_invalide": "date illisible (format attendu : celui indiqué dans le format d'échange)",
    "date_epoch_1970": (
        "date du 1er janvier 1970 (ou antérieure) : valeur par défaut d'un logiciel, pas une "
        "vraie date"
    ),
    "periode_invalide": "période illisible (attendu : 2024, 2024-03, 03/2024 ou T1 2024)",
    "code_territoire_invalide": "code de territoire invalide (code INSEE à 5 caractères, etc.)",
    "code_insee_invalide": "code INSEE invalide",
    "booleen_invalide": "attendu : oui ou non",
    "hors_vocabulaire": "valeur hors de la liste des valeurs acceptées",
    "hors_vocabulaire_v1": "valeur hors du vocabulaire du standard de La Mednum (v1)",
    "valeur_sans_equivalent": "valeur sans équivalent dans le format de l'observatoire",
    "valeur_v0_sans_equivalent_v1": "valeur de l'ancien standard sans équivalent en v1",
    "latitude_longitude_inversees": "latitude et longitude inversées : remises dans l'ordre",
    "hors_france": "coordonnées hors de France",
    "coordonnee_invalide": "coordonnée illisible",
    "coordonnee_incomplete": "latitude ou longitude manquante",
    "code_postal_invalide": "code postal invalide (5 chiffres attendus)",
    "id_duplique": "identifiant déjà utilisé par une ligne précédente",
    "cle_dupliquee": "même territoire et même période qu'une ligne précédente",
    "somme_categories_superieure_au_total": (
        "autonomes + besoin d'aide + jamais en ligne dépasse le nombre de personnes diagnostiquées"
    ),
    "texte_trop_long_280": "texte de plus de 280 caractères",
    "telephone_invalide": "numéro de téléphone illisible",
    "horaires_non_convertibles": "horaires illisibles",
    "periode_future": "période postérieure à la date de réception du fichier",
    "nombre_invraisemblable": (
        "nombre impossible : supérieur à la population du territoire ou au milliard"
    ),
    "periodes_chevauchantes": (
        "une ligne annuelle et des lignes mensuelles ou trimestrielles de la même année pour "
        "le même territoire : les deux seraient additionnées, envoyez l'un ou l'autre"
    ),
    "code_hors_cog": (
        "code absent du Code officiel géographique en vigueur (un arrondissement de Paris, "
        "Lyon ou Marseille se déclare sous le code de sa commune : 75056, 69123, 13055)"
    ),
    "code_commune_ancien_rebase": (
        "ancien code de commune (fusion) : compté dans la commune actuelle indiquée"
    ),
    "caractere_nul": "la ligne contient un octet nul (fichier abîmé ?)",
    "cellule_trop_longue": "une cellule dépasse 32 767 caractères",
    "remplace_par_fichier_plus_recent": "remplacée par la même ligne d'un fichier plus récent",
    "id_duplique_entre_fichiers": (
        "identifiant déjà utilisé par un autre fichier du même dépôt : suffixé pour rester unique"
    ),
    "courriel_personnel": "adresse électronique d'une personne : retirée, jamais publiée",
    "telephone_mobile": (
        "numéro de mobile : retiré, jamais publié (un mobile est la ligne d'une personne)"
    ),
    "donnee_personnelle_colonne": "colonne de données personnelles : retirée, jamais publiée",
}
ACTIONS: dict[str, str] = {
    REJET: "ligne écartée",
    VALEUR_ECARTEE: "valeur ignorée, ligne gardée",
    VALEUR_CORRIGEE: "valeur corrigée, ligne gardée",
}
COLONNES = (
    "fichier",
    "ligne_tableur",
    "enregistrement",
    "colonne",
    "valeur",
    "probleme",
    "code_raison",
    "consequence",
)
_DEBUT_FORMULE = ("=", "+", "-", "@", "\t", "\r")


def feedback_table(
    quarantine: pl.DataFrame,
    ligne_entete: int = 0,
    colonnes_fichier: Mapping[str, str] | None = None,
) -> pl.DataFrame:
    """One row per quarantine entry, in the producer's terms, rejected rows first.

    `ligne_tableur` is the row a spreadsheet shows (the header on row `ligne_entete + 1`);
    `colonne` the producer's column name when the mapping read it from one.
    """
    noms = dict(colonnes_fichier or {})
    return (
        quarantine.with_columns(
            (pl.col("action") != REJET).alias("_ordre"),
            (pl.col("ligne") + ligne_entete + 1).alias("ligne_tableur"),
        )
        .sort("_ordre", "ligne", "colonne")
        .select(
            "fichier",
            "ligne_tableur",
            pl.col("ligne").alias("enregistrement"),
            pl.col("colonne").replace(noms).alias("colonne"),
            pl.col("valeur_brute").alias("valeur"),
            pl.col("code_raison")
            .replace_strict(EXPLICATIONS, default=pl.col("code_raison"))
            .alias("probleme"),
            "code_raison",
            pl.col("action").replace_strict(ACTIONS, default=pl.col("action")).alias("consequence"),
        )
    )


def neutralise(value: str | None) -> str | None:
    """A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`…) prefixed by `'`."""
    if value is not None and value.startswith(_DEBUT_FORMULE):
        return "'" + value
    return value


def feedback_csv(table: pl.DataFrame) -> bytes:
    """The feedback as CSV for French spreadsheets: UTF-8 with BOM, `;`, formulas neutralised."""
    safe = table.with_columns(
        pl.col(c).cast(pl.String).map_elements(neutralise, return_dtype=pl.String)
        for c in table.columns
    )
    buffer = io.BytesIO()
    safe.write_csv(buffer, separator=";", quote_style="always")
    return "\ufeff".encode() + buffer.getvalue()


def _cell(value: object) -> str:
    return "" if value is None else html.escape(str(value))


def feedback_html(table: pl.DataFrame, fichier: str, comptes: Mapping[str, int]) -> str:
    """A small French page: counts, then every entry (rejected rows first), all escaped."""
    entree = comptes.get("lignes_entree", 0)
    gardees = comptes.get("lignes_gardees", 0)
    rejetees = comptes.get("lignes_rejetees", 0)
    head = "".join(
        f"<th>{h}</th>" for h in ("Ligne", "Colonne", "Valeur", "Problème", "Conséquence", "Code")
    )
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{_cell(row[c])}</td>"
            for c in ("ligne_tableur", "colonne", "valeur", "probleme", "consequence")
        )
        + f"<td><code>{_cell(row['code_raison'])}</code></td></tr>"
        for row in table.iter_rows(named=True)
    )
    body = (
        f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
        if table.height
        else "<p>Aucune anomalie : toutes les lignes ont été reprises telles quelles.</p>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8">'
        f"<title>Retour sur le fichier {_cell(fichier)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:.3em .6em;vertical-align:top}"
        "th{background:#eee}</style></head><body>"
        f"<h1>Retour sur le fichier {_cell(fichier)}</h1>"
        f"<p>{entree} lignes lues : {gardees} reprises, {rejetees} écartées. "
        f"{table.height} remarque(s) ci-dessous, les lignes écartées d'abord. Les numéros de "
        "ligne sont ceux du tableur (l'en-tête compris).</p>"
        f"{body}</body></html>\n"
    )


def feedback_error_html(fichier: str, message: str) -> str:
    """The page for a file that could not be read at all."""
    return (
        '<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8">'
        f"<title>Retour sur le fichier {_cell(fichier)}</title></head><body>"
        f"<h1>Retour sur le fichier {_cell(fichier)}</h1>"
        f"<p>Le fichier n'a pas pu être lu :</p><p><strong>{_cell(message)}</strong></p>"
        "</body></html>\n"
    )


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)


def write_feedback(
    folder: Path, fichier: str, table: pl.DataFrame, comptes: Mapping[str, int]
) -> tuple[Path, Path]:
    """Write `<fichier>.retour.csv` and `<fichier>.retour.html` in `folder`."""
    csv_path = folder / f"{fichier}.retour.csv"
    html_path = folder / f"{fichier}.retour.html"
    _write(csv_path, feedback_csv(table))
    _write(html_path, feedback_html(table, fichier, comptes).encode("utf-8"))
    return csv_path, html_path


# What a file's report was built from at staging, kept so that a later step that rejects some
# of its rows (a place whose commune cannot be found) rewrites the report whole: the producer
# never reads "reprises" for rows the release does not hold. Private to the observatory: kept
# outside the folder of reports the producer receives (`<data_dir>/etat_retours/<partner>/`).


def write_feedback_state(
    etats: Path,
    fichier: str,
    sha256: str,
    lignes_entree: int,
    lignes_gardees: int,
    ligne_entete: int,
    colonnes_fichier: Mapping[str, str],
    entrees: pl.DataFrame,
) -> Path:
    """Keep what a file's report was built from (its quarantine entries, counts, header row)."""
    etat = {
        "sha256": sha256,
        "lignes_entree": lignes_entree,
        "lignes_gardees": lignes_gardees,
        "ligne_entete": ligne_entete,
        "colonnes_fichier": dict(colonnes_fichier),
        "entrees": entrees.select(list(QUARANTINE_SCHEMA)).to_dicts(),
    }
    path = etats / f"{fichier}.json"
    _write(path, json.dumps(etat, ensure_ascii=False).encode("utf-8"))
    return path


def rewrite_feedback(folder: Path, etat: Path, quarantaine: pl.DataFrame) -> None:
    """Rewrite a file's report in `folder` from its state (`write_feedback_state`) and the
    quarantine of a step after staging (every source's: this file's entries are taken; none
    puts the staged report back)."""
    lu = json.loads(etat.read_text(encoding="utf-8"))
    fichier = etat.name.removesuffix(".json")
    plus_tard = quarantaine.filter(
        (pl.col("fichier") == fichier) & (pl.col("sha256") == lu["sha256"])
    )
    entrees = pl.concat(
        [
            pl.DataFrame(lu["entrees"], schema=QUARANTINE_SCHEMA, orient="row"),
            plus_tard.select(list(QUARANTINE_SCHEMA)).cast(QUARANTINE_SCHEMA),
        ]
    )
    ecartees_plus_tard = (
        plus_tard.filter(pl.col("action") == REJET).select("fichier", "ligne").n_unique()
    )
    comptes = account(lu["lignes_entree"], lu["lignes_gardees"] - ecartees_plus_tard, entrees)
    table = feedback_table(entrees, lu["ligne_entete"], lu["colonnes_fichier"])
    write_feedback(folder, fichier, table, comptes)
