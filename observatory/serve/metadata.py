"""Datasette's metadata for one release: French titles, descriptions and units from the Table
Schemas the release carries (`datapackage.json`), sources with their vintages from its manifest,
the licence, and the canned queries a département asks for. Pure: dicts in, dict out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from html import escape
from typing import Any

from observatory.serve.sqlite import DATABASE, EXTRA_TABLES

MOIS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)

# Canned queries: name → title, description, SQL (named parameters become a form and query
# string parameters: /observatoire/<name>.json?niveau=departement&code=16).
QUERIES: dict[str, dict[str, str]] = {
    "indicateurs_territoire": {
        "title": "Indicateurs d'un territoire, avec leurs intervalles et leur couverture",
        "description": (
            "Tous les indicateurs d'un territoire (niveau : commune, epci, bassin_de_vie, "
            "departement, region, france, zonage:<nom> ; code : 16, 200071827, 16015…), avec "
            "l'intervalle de confiance à 95 % quand l'indicateur est estimé et la couverture de "
            "ses sources (une valeur vide n'est jamais zéro : elle est inconnue)."
        ),
        "sql": """SELECT
    t.nom,
    i.indicateur,
    d.libelle,
    i.annee,
    i.valeur,
    i.ic_bas,
    i.ic_haut,
    d.unite,
    i.couverture,
    i.secret
FROM indicateurs AS i
LEFT JOIN territoires AS t ON t.niveau = i.niveau AND t.code = i.code
LEFT JOIN dictionnaire AS d ON d.code = i.indicateur
WHERE i.niveau = :niveau AND i.code = :code
ORDER BY i.indicateur, i.annee""",
    },
    "epci_departement_priorite": {
        "title": "EPCI d'un département, classés par priorité",
        "description": (
            "Les EPCI qui ont au moins une commune dans le département (code : 16, 2A…), "
            "classés par score de priorité = personnes en situation d'illectronisme / (lieux "
            "d'aide aux démarches + 1), comme le rang des communes (modèle ind_ecart). Un EPCI "
            "dont l'offre est inconnue n'a pas de score et vient en dernier."
        ),
        "sql": """WITH epci AS (
    SELECT
        code_epci AS code,
        count(*) AS nb_communes_dans_departement,
        sum(population) AS population_dans_departement
    FROM territoires
    WHERE niveau = 'commune' AND code_departement = :departement AND code_epci IS NOT NULL
    GROUP BY code_epci
),

besoin AS (
    SELECT code, valeur, ic_bas, ic_haut
    FROM indicateurs AS b
    WHERE niveau = 'epci' AND indicateur = 'nb_illectronisme'
        AND annee = (
            SELECT max(annee) FROM indicateurs
            WHERE niveau = 'epci' AND code = b.code AND indicateur = 'nb_illectronisme'
        )
)

SELECT
    RANK() OVER (
        ORDER BY l.nb_illectronisme / (l.nb_lieux_demarches + 1.0) DESC NULLS LAST
    ) AS rang,
    e.code,
    l.nom,
    e.nb_communes_dans_departement,
    e.population_dans_departement,
    l.population,
    l.nb_illectronisme,
    b.ic_bas,
    b.ic_haut,
    l.taux_illectronisme,
    l.nb_lieux_demarches,
    l.nb_illectronisme / (l.nb_lieux_demarches + 1.0) AS score_priorite,
    l.distance_france_services_km,
    l.ifn_score_global_fr
FROM epci AS e
LEFT JOIN indicateurs_large AS l ON l.niveau = 'epci' AND l.code = e.code
LEFT JOIN besoin AS b ON b.code = e.code
ORDER BY rang, e.code""",
    },
    "aide_proche_commune": {
        "title": "Aide la plus proche d'une commune",
        "description": (
            "Pour une commune (code INSEE, COG 2026 : 16015…), les lieux les plus proches par "
            "service du standard de La Mednum (les 3 plus proches pour l'aide aux démarches "
            "administratives), la France Services et le lieu avec conseiller numérique les plus "
            "proches : distance à vol d'oiseau, adresse, horaires, accessibilité (table "
            "orientation)."
        ),
        "sql": """SELECT
    champ,
    critere,
    rang,
    nom,
    adresse,
    code_postal,
    commune_lieu,
    distance_km,
    dans_la_commune,
    itinerant,
    horaires,
    prise_rdv,
    frais_a_charge,
    modalites_acces,
    site_web,
    id_lieu
FROM orientation
WHERE code_commune = :commune
ORDER BY champ, critere, rang""",
    },
    "serie_indicateur": {
        "title": "Série d'un indicateur au fil des millésimes",
        "description": (
            "Les valeurs d'un indicateur pour un territoire à chaque millésime de sa source, "
            "avec l'évolution depuis le précédent ; rupture_definition signale que la source ne "
            "comptait pas la même chose (évolution non comparable). Exemple : indicateur "
            "nb_france_services (2020 et 2022)."
        ),
        "sql": """SELECT
    i.annee,
    i.valeur,
    i.ic_bas,
    i.ic_haut,
    i.annee_precedente,
    i.evolution,
    i.rupture_definition,
    i.couverture,
    i.secret,
    d.libelle,
    d.unite
FROM indicateurs AS i
LEFT JOIN dictionnaire AS d ON d.code = i.indicateur
WHERE i.niveau = :niveau AND i.code = :code AND i.indicateur = :indicateur
ORDER BY i.annee""",
    },
}

EXTRA_DESCRIPTIONS = {
    "dictionnaire": (
        "Un indicateur par ligne : libellé, unité, définition, sens (hausse ou baisse "
        "favorable), modèle qui le calcule et sources avec leur millésime."
    ),
    "sources": (
        "Chaque fichier source de la publication : titre, producteur, millésime, licence, "
        "origine, date de récupération ; perimee signale une source restée à son dernier "
        "instantané faute de mise à jour."
    ),
    "publication": (
        "La publication servie : identifiant, date, millésime du COG, version du code, licence."
    ),
}


def date_fr(timestamp: str | None) -> str:
    """`2026-12-07T05:27:42+00:00` → `7 décembre 2026 à 05:27 UTC`."""
    if not timestamp:
        return "date inconnue"
    moment = datetime.fromisoformat(timestamp)
    return f"{moment.day} {MOIS[moment.month - 1]} {moment.year} à {moment:%H:%M} UTC"


def column_description(field: Mapping[str, Any]) -> str:
    """Title, description and unit of a Table Schema field, as one French sentence or two."""
    parts = [field.get("title") or field["name"]]
    if field.get("description"):
        parts.append(field["description"])
    text = ". ".join(p.rstrip(". ") for p in parts) + "."
    if field.get("unit"):
        text += f" Unité : {field['unit']}."
    return text


def _sources_html(table_sources: list[Mapping[str, Any]], titles: Mapping[str, str]) -> str:
    items = sorted(
        {
            f"{escape(titles.get(s['source'], s['source']))} ({escape(str(s['millesime']))})"
            for s in table_sources
        }
    )
    return "<p>Sources : " + " ; ".join(items) + ".</p>" if items else ""


def release_metadata(
    datapackage: Mapping[str, Any], manifest: Mapping[str, Any], base_path: str = "/"
) -> dict[str, Any]:
    """Datasette metadata (instance, database `observatoire`, each table, canned queries)."""
    licence = (datapackage.get("licenses") or [{}])[0]
    release_id = manifest["release_id"]
    quand = date_fr(manifest.get("created_at"))
    titles = {s["source"]: f"{s.get('titre') or s['source']}" for s in manifest.get("sources", [])}
    tables: dict[str, Any] = {}
    for resource in datapackage["resources"]:
        name = resource["name"]
        fields = resource["schema"]["fields"]
        sources = manifest["tables"].get(name, {}).get("sources", [])
        tables[name] = {
            "title": resource.get("title") or name,
            "description_html": f"<p>{escape(resource.get('description', ''))}</p>"
            + _sources_html(sources, titles),
            "columns": {f["name"]: column_description(f) for f in fields},
        }
    for name, (title, _key) in EXTRA_TABLES.items():
        tables[name] = {"title": title, "description": EXTRA_DESCRIPTIONS[name]}
    if "territoires" in tables:
        tables["territoires"] |= {"label_column": "nom", "facets": ["niveau"]}
    root = base_path.rstrip("/")
    liens = [
        (
            f"{root}/{DATABASE}/indicateurs_territoire?niveau=departement&code=16",
            "Indicateurs de la Charente",
        ),
        (
            f"{root}/{DATABASE}/epci_departement_priorite?departement=16",
            "EPCI de la Charente par priorité",
        ),
        (f"{root}/{DATABASE}/aide_proche_commune?commune=16015", "Aide la plus proche d'Angoulême"),
        (f"{root}/-/rapports/", "Rapports par département (HTML)"),
        (f"{root}/-/publication/dictionnaire.html", "Dictionnaire des données"),
        (f"{root}/-/publication/methodologie.html", "Note méthodologique"),
        (f"{root}/{DATABASE}/sources", "Sources et millésimes"),
    ]
    description = (
        f"<p>{escape(datapackage.get('description', ''))}</p>"
        f"<p>Publication <code>{escape(release_id)}</code> du {escape(quand)}, millésime du "
        f"COG {escape(str(manifest.get('millesime_cog', '')))}. Lecture seule : JSON "
        "(ajouter <code>.json</code> à une adresse) et CSV (<code>.csv</code>).</p><ul>"
        + "".join(f'<li><a href="{escape(href)}">{escape(text)}</a></li>' for href, text in liens)
        + "</ul>"
    )
    return {
        "title": "Observatoire de l'inclusion numérique",
        "description_html": description,
        "license": licence.get("title"),
        "license_url": licence.get("path"),
        "source": "Sources et millésimes de la publication",
        "source_url": f"{root}/{DATABASE}/sources",
        "databases": {
            DATABASE: {
                "title": datapackage.get("title") or "Observatoire de l'inclusion numérique",
                "description_html": description,
                "tables": tables,
                "queries": QUERIES,
            }
        },
    }
