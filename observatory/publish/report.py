"""The observatory report: one static HTML page per département, and an index per release.

Élus and agents read a page, not a Parquet file. Each page gives the département's key
figures, its EPCI (or the zones of a user zoning) and communes ranked by priority, charts
(need vs supply, fragility, distance to help), a map of the communes and, when the release
has an `orientation` table, where the nearest help is for its least-served communes.

The page is built from whatever the release holds: every indicator is looked up by its code
(labels and units from `schemas/indicateurs.yaml`), and a section whose indicator is not in
the release says so ("indicateur non disponible") instead of failing, so the report grows as
indicators are added. Unknown values (a source not covering a territory) are shown as
unknown, never as 0.

Static and accessible without JavaScript: `lang="fr"`, headings, tables with `<caption>` and
`<th scope>`, charts as inline SVG (matplotlib) and the map as inline SVG drawn from the
bundled commune contours (`carte.py`, no tile server), with `<title>` and `<desc>`. Every text
coming from the data is escaped (Jinja2 autoescape; matplotlib escapes SVG text and mathtext is
disabled for data labels; the map escapes its own).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import polars as pl

from observatory.publish.report_donnees import (
    BESOIN,
    CHIFFRES_CLES,
    COLONNES_CLASSEMENT,
    CRITERES_ORIENTATION,
    DISTANCES,
    FRAGILITE,
    INCONNU,
    LICENCE,
    LIEUX,
    LIEUX_10K,
    NB_COMMUNES_PRIORITAIRES,
    NB_MOINS_DESSERVIES,
    SANS_OBJET,
    SERVICE_DEMARCHES,
    TAUX_BESOIN,
    TEMPLATES,
    Donnees,
    Indicateur,
    Release,
    ReportError,
    _absent,
    _indicateurs_large,
    charger,
    classer,
    formater,
    horaires_fr,
    nombre,
    non_comparable,
    ouvrir_release,
    sources_partielles,
)
from observatory.publish.report_figures import (
    carte_communes,
    carte_departements,
    fichier_contours,
    graphique_besoin_offre,
    graphique_distances,
    graphique_fragilite,
    lire_contours,
)

# The report's public names (the page, its index, and the helpers its tests and the CLI use).
__all__ = [
    "ReportError",
    "build_index",
    "build_report",
    "formater",
    "horaires_fr",
    "lire_contours",
    "moins_desservies",
    "nombre",
    "ouvrir_release",
]
from observatory.settings import SCHEMAS_DIR

# ---------------------------------------------------------------------------------------------
# Orientation: where the nearest help is, for the least-served communes
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommuneOrientation:
    """A least-served commune and the nearest places the `orientation` table gives it."""

    code: str
    nom: str
    population: int | None
    distance_km: float | None  # to the nearest help with online procedures
    lieux: list[dict[str, Any]]  # procedures, France Services, conseillers numériques
    autres: list[dict[str, Any]] = field(default_factory=list)  # every other service


def moins_desservies(
    communes: pl.DataFrame, release: Release, nombre_communes: int = NB_MOINS_DESSERVIES
) -> tuple[list[CommuneOrientation], str]:
    """The communes farthest from help with online procedures, with their nearest help.

    Distances come from the `orientation` table (rank 1 of that criterion); a commune for
    which no place was found comes first. Without the table, from the distance indicator.
    """
    if release.a_table("orientation"):
        codes = communes["code"].implode()
        orientation = (
            release.scan("orientation").filter(pl.col("code_commune").is_in(codes)).collect()
        )
        premiere = (
            orientation.filter(pl.col("critere") == SERVICE_DEMARCHES, pl.col("rang") == 1)
            .group_by("code_commune")
            .agg(pl.col("distance_km").min())
        )
        if premiere.is_empty():  # nothing to rank on: say so rather than list every commune
            return [], (
                f"La table d'orientation ne donne aucun lieu « {SERVICE_DEMARCHES} » pour les "
                "communes du département."
            )
        classees = (
            communes.select("code", "nom", "population")
            .join(premiere, left_on="code", right_on="code_commune", how="left")
            .with_columns(pl.col("distance_km").is_null().alias("_aucun"))
            .sort(["_aucun", "distance_km", "population"], descending=True, nulls_last=False)
            .head(nombre_communes)
        )
        resultat = []
        colonnes = [
            c
            for c in (
                "critere",
                "rang",
                "distance_km",
                "nom",
                "adresse",
                "code_postal",
                "commune_lieu",
                "horaires",
                "frais_a_charge",
                "itinerant",
            )
            if c in orientation.columns
        ]
        for code, nom, population, distance, _ in classees.iter_rows():
            lignes = (
                orientation.filter(pl.col("code_commune") == code)
                .with_columns(
                    pl.col("critere")
                    .replace_strict(
                        {c: i for i, c in enumerate(CRITERES_ORIENTATION)},
                        default=len(CRITERES_ORIENTATION),
                        return_dtype=pl.Int32,
                    )
                    .alias("_ordre")
                )
                .sort("_ordre", "critere", "rang")
            )
            principal = pl.col("_ordre") < len(CRITERES_ORIENTATION)
            resultat.append(
                CommuneOrientation(
                    code,
                    nom,
                    population,
                    distance,
                    lignes.filter(principal).select(colonnes).to_dicts(),
                    lignes.filter(~principal).select(colonnes).to_dicts(),
                )
            )
        methode = (
            "Communes les plus éloignées d'un lieu d'aide aux démarches administratives "
            "(table d'orientation, distance à vol d'oiseau) ; pour chacune, les lieux les plus "
            "proches par type d'aide."
        )
        return resultat, methode
    code = release.premier(("distance_lieu_demarches_km",))
    if code is None or code not in communes.columns:
        return [], ""
    classees = (
        communes.select("code", "nom", "population", code)
        .drop_nulls(code)
        .sort(code, "population", descending=True)
        .head(nombre_communes)
    )
    resultat = [CommuneOrientation(c, n, p, d, []) for c, n, p, d in classees.iter_rows()]
    return resultat, (
        "Communes les plus éloignées d'un lieu d'aide aux démarches (indicateur de distance) ; "
        "la table d'orientation, qui dirait où est l'aide, n'est pas dans cette release."
    )


# ---------------------------------------------------------------------------------------------
# Page assembly
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChiffreCle:
    """A key figure: value for the territory and France, or why it is missing."""

    indicateur: Indicateur
    valeur: str | None
    intervalle: str | None = None
    france: str | None = None
    disponible: bool = True
    france_non_comparable: bool = False


def _intervalle(code: str, bornes: tuple[float | None, float | None] | None) -> str | None:
    if bornes is None or _absent(bornes[0]) or _absent(bornes[1]):
        return None
    return f"{formater(code, bornes[0])} à {formater(code, bornes[1])}"


def _valeur(release: Release, code: str, niveau: str, ligne: Mapping[str, Any] | None) -> str:
    """A territory's value, "sans objet à ce niveau" where the indicator is not defined."""
    if release.sans_objet(code, niveau):
        return SANS_OBJET
    return formater(code, (ligne or {}).get(code))


def chiffres_cles(
    donnees: Donnees,
    release: Release,
    code_dep: str,
    partielles: Mapping[str, str] | None = None,
) -> list[ChiffreCle]:
    resultat = [
        ChiffreCle(
            Indicateur("population", "Population municipale", "habitants"),
            formater("population", donnees.departement.get("population")),
            france=formater("population", (donnees.france or {}).get("population")),
        )
    ]
    for preferes in CHIFFRES_CLES:
        code = release.premier(preferes)
        if code is None:
            resultat.append(ChiffreCle(release.indicateur(preferes[0]), None, disponible=False))
            continue
        france = _valeur(release, code, "france", donnees.france) if donnees.france else None
        resultat.append(
            ChiffreCle(
                release.indicateur(code),
                _valeur(release, code, "departement", donnees.departement),
                _intervalle(code, donnees.intervalles.get(("departement", code_dep, code))),
                france,
                france_non_comparable=france not in (None, INCONNU, SANS_OBJET)
                and bool(non_comparable(release, code, partielles or {})),
            )
        )
    return resultat


@dataclass(frozen=True)
class Colonne:
    """A column of a ranked table: the data column, its header and how to format it."""

    cle: str
    titre: str
    numerique: bool = True


def _colonnes_classement(
    release: Release, frame: pl.DataFrame, groupe: str | None
) -> list[Colonne]:
    colonnes = [Colonne("rang", "Rang"), Colonne("nom", "Territoire", False)]
    if groupe is not None:
        colonnes.append(Colonne("nom_groupe", groupe, False))
    colonnes.append(Colonne("population", "Population"))
    for preferes in COLONNES_CLASSEMENT:
        code = release.premier(preferes)
        if code is not None and code in frame.columns:
            colonnes.append(Colonne(code, release.indicateur(code).libelle))
    return colonnes


def _cellules(frame: pl.DataFrame, colonnes: Sequence[Colonne]) -> list[list[str]]:
    lignes = []
    for row in frame.iter_rows(named=True):
        cellules = []
        for col in colonnes:
            valeur = row.get(col.cle)
            if col.cle == "rang":
                cellules.append("–" if _absent(valeur) else nombre(valeur))
            elif col.numerique:
                cellules.append(formater(col.cle, valeur))
            else:
                cellules.append("" if valeur is None else str(valeur))
        lignes.append(cellules)
    return lignes


def _lieux_departement(release: Release, code: str) -> pl.DataFrame | None:
    if not release.a_table("lieux"):
        return None
    lieux = release.scan("lieux")
    if not {"code_departement", "latitude", "longitude"} <= set(lieux.collect_schema().names()):
        return None
    return (
        lieux.filter(pl.col("code_departement") == code)
        .select("latitude", "longitude")
        .drop_nulls()
        .collect()
    )


def _environnement() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every {{ }} is escaped: names from the data cannot inject markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["nombre"] = nombre
    env.filters["horaires"] = horaires_fr
    return env


def _sources(manifest: Mapping[str, Any]) -> list[dict[str, str]]:
    vues: dict[tuple[str, str], dict[str, str]] = {}
    for source in manifest.get("sources", []):
        cle = (str(source.get("source", "")), str(source.get("millesime", "")))
        if cle in vues:
            continue
        vues[cle] = {
            "source": cle[0],
            "titre": str(source.get("titre") or cle[0]),
            "producteur": str(source.get("producteur") or ""),
            "millesime": cle[1],
            "licence": str(source.get("licence") or ""),
            "url": str(source.get("url") or ""),
        }
    return sorted(vues.values(), key=lambda s: (s["source"], s["millesime"]))


def _release_infos(manifest: Mapping[str, Any]) -> dict[str, str]:
    version = manifest.get("code_version") or {}
    return {
        "release_id": str(manifest.get("release_id", "")),
        "created_at": str(manifest.get("created_at", "")),
        "millesime_cog": str(manifest.get("millesime_cog", "")),
        "version": str(version.get("package", "")),
        "commit": str(version.get("git_commit") or ""),
        "licence": LICENCE,
    }


def nom_page(departement: str, zonage: str | None = None) -> str:
    """File name of a département's page (in `out_dir`)."""
    return (
        f"departement_{departement}.html"
        if zonage is None
        else (f"departement_{departement}_zonage_{zonage}.html")
    )


def build_report(
    release: Path,
    departement: str,
    out_dir: Path,
    zonage: str | None = None,
    schemas_dir: Path = SCHEMAS_DIR,
    contours: Path | None = None,
    indicateur_carte: str | None = None,
) -> Path:
    """Write the département's page (drawn for `zonage` instead of EPCI when given) into
    `out_dir`, refresh `out_dir/index.html`, and return the page's path."""
    lu = ouvrir_release(release, schemas_dir)
    donnees = charger(lu, departement, zonage)
    nom = str(donnees.departement["nom"])
    groupe = "EPCI" if zonage is None else "Zone"
    libelle_groupes = (
        "Intercommunalités (EPCI)" if zonage is None else f"Zones du zonage « {zonage} »"
    )
    classement_groupes = classer(donnees.groupes, lu, communes=False)
    classement_communes = classer(donnees.communes, lu, communes=True)
    colonnes_groupes = _colonnes_classement(lu, classement_groupes.lignes, None)
    colonnes_communes = _colonnes_classement(lu, classement_communes.lignes, groupe)
    manquants_classement = [
        lu.indicateur(p[0]) for p in COLONNES_CLASSEMENT if lu.premier(p) is None
    ]
    orientation, methode_orientation = moins_desservies(donnees.communes, lu)
    graphiques = {
        "besoin_offre": (graphique_besoin_offre(donnees.communes, lu), BESOIN + LIEUX),
        "fragilite": (graphique_fragilite(donnees.communes, donnees.departement, lu), FRAGILITE),
        "distances": (graphique_distances(donnees.communes, lu), DISTANCES),
    }
    carte_svg = carte_communes(
        donnees.communes,
        _lieux_departement(lu, departement),
        lu,
        f"{nom} ({departement})",
        lire_contours(contours or fichier_contours(), donnees.communes["code"].to_list()),
        indicateur_carte,
        "d'EPCI" if zonage is None else "de zones",
    )
    partielles = sources_partielles(lu, departement)
    indicateurs = []
    for code in lu.disponibles:
        if code not in donnees.departement:
            continue
        france = _valeur(lu, code, "france", donnees.france) if donnees.france else ""
        indicateurs.append(
            {
                "indicateur": lu.indicateur(code),
                "departement": _valeur(lu, code, "departement", donnees.departement),
                "france": france,
                "france_non_comparable": france not in ("", INCONNU, SANS_OBJET)
                and bool(non_comparable(lu, code, partielles)),
                "sources": lu.millesimes(lu.indicateur(code)),
            }
        )
    page = (
        _environnement()
        .get_template("rapport_departement.html.j2")
        .render(
            nom=nom,
            code=departement,
            zonage=zonage,
            release=_release_infos(lu.manifest),
            chiffres=chiffres_cles(donnees, lu, departement, partielles),
            partielles=list(partielles.values()),
            libelle_groupes=libelle_groupes,
            groupes_filtres=donnees.groupes_filtres,
            groupes=classement_groupes,
            colonnes_groupes=colonnes_groupes,
            cellules_groupes=_cellules(classement_groupes.lignes, colonnes_groupes),
            communes=classement_communes,
            colonnes_communes=colonnes_communes,
            cellules_communes=_cellules(classement_communes.lignes, colonnes_communes),
            nb_prioritaires=NB_COMMUNES_PRIORITAIRES,
            manquants_classement=manquants_classement,
            graphiques={
                cle: {"graphique": g, "manquants": [lu.indicateur(c) for c in codes[:1]]}
                for cle, (g, codes) in graphiques.items()
            },
            carte=carte_svg,
            orientation=orientation,
            methode_orientation=methode_orientation,
            a_orientation=lu.a_table("orientation"),
            indicateurs=indicateurs,
            sources=_sources(lu.manifest),
            nb_communes=donnees.communes.height,
            index="index.html",
        )
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    chemin = out_dir / nom_page(departement, zonage)
    chemin.write_text(page, encoding="utf-8")
    build_index(release, out_dir, schemas_dir, lu, contours)
    return chemin


def build_index(
    release: Path,
    out_dir: Path,
    schemas_dir: Path = SCHEMAS_DIR,
    lu: Release | None = None,
    contours: Path | None = None,
) -> Path:
    """`out_dir/index.html`: the release, a map and every département with its key figures
    and a link to its page when it has been drawn in `out_dir`."""
    lu = lu or ouvrir_release(release, schemas_dir)
    codes = [c for p in (LIEUX_10K, TAUX_BESOIN, FRAGILITE) if (c := lu.premier(p))]
    territoires = (
        lu.scan("territoires", ["departement"])
        .filter(pl.col("niveau") == "departement")
        .select("niveau", "code", "nom", "population")
        .collect()
    )
    large = _indicateurs_large(lu, ["departement"])
    codes = [c for c in codes if c in large.columns]
    large = large.select("niveau", "code", *codes)
    frame = territoires.join(large, on=["niveau", "code"], how="left").sort("code")
    carte_france = carte_departements(lu, frame, codes, contours)
    pages = {p.name for p in out_dir.glob("departement_*.html")} if out_dir.is_dir() else set()
    lignes = []
    for row in frame.iter_rows(named=True):
        liens = sorted(
            p
            for p in pages
            if p == nom_page(row["code"]) or p.startswith(f"departement_{row['code']}_zonage_")
        )
        lignes.append(
            {
                "code": row["code"],
                "nom": row["nom"],
                "population": formater("population", row["population"]),
                "valeurs": [formater(c, row.get(c)) for c in codes],
                "pages": [
                    {
                        "href": p,
                        "zonage": p.removeprefix(f"departement_{row['code']}_zonage_").removesuffix(
                            ".html"
                        )
                        if "_zonage_" in p
                        else None,
                    }
                    for p in liens
                ],
            }
        )
    page = (
        _environnement()
        .get_template("index.html.j2")
        .render(
            release=_release_infos(lu.manifest),
            colonnes=[lu.indicateur(c) for c in codes],
            lignes=lignes,
            carte=carte_france,
            sources=_sources(lu.manifest),
        )
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    chemin = out_dir / "index.html"
    chemin.write_text(page, encoding="utf-8")
    return chemin
