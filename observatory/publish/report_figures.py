"""The report's charts (matplotlib → inline SVG) and maps of communes and départements."""

from __future__ import annotations

import functools
import io
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import polars as pl
from markupsafe import Markup
from matplotlib.figure import Figure

from observatory.publish import carte
from observatory.publish.report_donnees import (
    BESOIN,
    DISTANCES,
    FIGURE_LARGEUR,
    FRAGILITE,
    LIEUX,
    LIEUX_10K,
    LIEUX_10K_TABLEAU,
    NB_ETIQUETTES,
    REFERENCE_IFN,
    TAUX_BESOIN,
    Graphique,
    Release,
    _absent,
    _minuscule,
    _texte_svg,
    formater,
    nombre,
)
from observatory.settings import load_settings
from observatory.sources.catalogue import IGN_CONTOURS_COMMUNES
from observatory.transforms import contours as contours_communes

# ---------------------------------------------------------------------------------------------
# Charts (matplotlib → inline SVG)
# ---------------------------------------------------------------------------------------------


def _prefixer_ids(svg: str, prefixe: str) -> str:
    """Prefix every id of a matplotlib SVG (and the `#id` references to it): several charts
    in one page would otherwise share `axes_1`, `patch_1`…, and ids must be unique."""
    ids = set(re.findall(r'\sid="([^"]+)"', svg))
    if not ids:
        return svg
    motif = re.compile(
        r'(id="|#)('
        + "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True))
        + r')(?=["\)])'
    )
    return motif.sub(lambda m: f"{m.group(1)}{prefixe}-{m.group(2)}", svg)


def _svg(figure: Figure, identifiant: str, titre: str, description: str) -> Markup:
    """The figure as an inline `<svg>` with `role="img"`, `<title>` and `<desc>` first."""
    tampon = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": identifiant, "svg.fonttype": "none"}):
        figure.savefig(tampon, format="svg", bbox_inches="tight", metadata={"Date": None})
    texte = _prefixer_ids(tampon.getvalue(), identifiant)
    debut = texte.index("<svg")
    fin_balise = texte.index(">", debut)
    ouverture = texte[debut:fin_balise]
    ouverture = re.sub(r'\s(width|height)="[^"]*"', "", ouverture)
    accessible = (
        f'{ouverture} role="img" aria-labelledby="{identifiant}-titre {identifiant}-desc"'
        f' focusable="false">'
        f'<title id="{identifiant}-titre">{escape(titre)}</title>'
        f'<desc id="{identifiant}-desc">{escape(description)}</desc>'
    )
    return Markup(accessible + texte[fin_balise + 1 :])


def _figure(hauteur: float = 4.2) -> Figure:
    figure = Figure(figsize=(FIGURE_LARGEUR, hauteur), layout="constrained")
    return figure


def _etiqueter(ax: Any, points: Sequence[tuple[str, float, float]]) -> None:
    """Label points without labels overlapping: each label takes the first offset whose
    (approximate) box does not meet an already placed one."""
    ax.figure.draw_without_rendering()
    points_par_pixel = 72.0 / ax.figure.dpi
    decalages = [(4, 3), (4, -11), (-4, 8), (-4, -14), (4, 14), (4, -22), (-4, 20), (-4, -26)]
    places: list[tuple[float, float, float, float]] = []
    for texte, x, y in points:
        px, py = ax.transData.transform((x, y)) * points_par_pixel
        largeur, hauteur = 4.6 * len(texte), 9.0  # 8 pt text, in points
        for dx, dy in decalages:
            x0 = px + dx if dx > 0 else px + dx - largeur
            boite = (x0, py + dy, x0 + largeur, py + dy + hauteur)
            if not any(
                boite[0] < b[2] and b[0] < boite[2] and boite[1] < b[3] and b[1] < boite[3]
                for b in places
            ):
                break
        places.append(boite)
        ax.annotate(
            texte,  # mathtext off: a `$` in a name stays a `$`
            (x, y),
            xytext=(dx, dy),
            textcoords="offset points",
            ha="left" if dx > 0 else "right",
            fontsize=8,
            parse_math=False,
            arrowprops={"arrowstyle": "-", "color": "#888", "linewidth": 0.5},
        )


def graphique_besoin_offre(communes: pl.DataFrame, release: Release) -> Graphique | None:
    """Scatter of the communes: estimated people in illectronisme vs places."""
    besoin, lieux = release.premier(BESOIN), release.premier(LIEUX)
    if besoin is None or lieux is None:
        return None
    points = communes.select("nom", besoin, lieux).drop_nulls().filter(pl.col(besoin) > 0)
    if points.is_empty():
        return None
    ib, il = release.indicateur(besoin), release.indicateur(lieux)
    figure = _figure()
    ax = figure.add_subplot()
    x, y = points[besoin].to_numpy(), points[lieux].to_numpy()
    sans = y == 0
    ax.scatter(x[~sans], y[~sans], s=18, color="#1f5fa8", alpha=0.75, label="Avec au moins un lieu")
    ax.scatter(x[sans], y[sans], s=18, color="#c0392b", marker="s", alpha=0.75, label="Sans lieu")
    ax.set_xscale("log")
    ax.set_xlabel(_texte_svg(ib.libelle) + " (échelle log.)")
    ax.set_ylabel(_texte_svg(il.libelle))
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    titre = "Besoin et offre par commune"
    figure.suptitle(titre, fontsize=11)
    score = points.with_columns((pl.col(besoin) / (pl.col(lieux) + 1)).alias("_s")).sort(
        "_s", descending=True
    )
    _etiqueter(ax, list(score.head(NB_ETIQUETTES).select("nom", besoin, lieux).iter_rows()))
    premiers = ", ".join(
        f"{n} ({formater(besoin, b)} personnes, {formater(lieux, v)} lieu(x))"
        for n, b, v in score.head(3).select("nom", besoin, lieux).iter_rows()
    )
    description = (
        f"Nuage de points des {points.height} communes dont le besoin est estimé : en abscisse "
        f"{_minuscule(ib.libelle)}, en ordonnée {_minuscule(il.libelle)}. "
        f"{int(sans.sum())} communes n'ont aucun lieu. Plus fort besoin rapporté à l'offre : "
        f"{premiers}."
    )
    return Graphique(
        "besoin-offre", titre, description, _svg(figure, "besoin-offre", titre, description)
    )


def graphique_fragilite(
    communes: pl.DataFrame, departement: Mapping[str, Any], release: Release
) -> Graphique | None:
    """Histogram of the communes' fragility index, with the reference (100) and the
    département's own value."""
    code = release.premier(FRAGILITE)
    if code is None:
        return None
    valeurs = communes[code].drop_nulls().to_numpy()
    if valeurs.size == 0:
        return None
    ind = release.indicateur(code)
    figure = _figure(3.6)
    ax = figure.add_subplot()
    pas = 10.0
    bornes = np.arange(math.floor(valeurs.min() / pas) * pas, valeurs.max() + pas, pas)
    if bornes.size < 2:
        bornes = np.array([valeurs.min() - pas / 2, valeurs.max() + pas / 2])
    ax.hist(valeurs, bins=bornes, color="#6c5ba7", edgecolor="white")
    ax.axvline(REFERENCE_IFN, color="black", linestyle="--", linewidth=1, label="Référence = 100")
    valeur_dep = departement.get(code)
    if not _absent(valeur_dep):
        ax.axvline(valeur_dep, color="#c0392b", linewidth=1.5, label="Département")
    ax.set_xlabel(_texte_svg(ind.libelle))
    ax.set_ylabel("Nombre de communes")
    ax.legend(fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)
    titre = "Répartition de l'indice de fragilité numérique des communes"
    au_dessus = int((valeurs > REFERENCE_IFN).sum())
    description = (
        f"Histogramme de {_minuscule(ind.libelle)} pour {valeurs.size} communes (classes de 10 "
        f"points) : médiane {nombre(float(np.median(valeurs)))}, minimum "
        f"{nombre(float(valeurs.min()))}, maximum {nombre(float(valeurs.max()))}. "
        f"{au_dessus} communes sont au-dessus de la référence 100 (plus fragiles). "
        f"Valeur du département : {formater(code, valeur_dep)}."
    )
    figure.suptitle(titre, fontsize=11)
    return Graphique("fragilite", titre, description, _svg(figure, "fragilite", titre, description))


def graphique_distances(communes: pl.DataFrame, release: Release) -> Graphique | None:
    """Share of the population living within a distance of the nearest help (cumulative)."""
    codes = [c for c in DISTANCES if c in release.disponibles and c in communes.columns]
    series = []
    for code in codes:
        frame = communes.select(code, "population").drop_nulls().sort(code)
        if frame.height and frame["population"].sum() > 0:
            series.append((code, frame))
    if not series:
        return None
    figure = _figure(3.6)
    ax = figure.add_subplot()
    phrases = []
    couleurs = ("#1f5fa8", "#d35400", "#27ae60")
    for (code, frame), couleur in zip(series, couleurs, strict=False):
        distance = frame[code].to_numpy()
        population = frame["population"].to_numpy().astype(float)
        cumul = 100 * np.cumsum(population) / population.sum()
        ind = release.indicateur(code)
        ax.step(distance, cumul, where="post", color=couleur, label=_texte_svg(ind.libelle))
        loin = 100 * population[distance > 10].sum() / population.sum()
        phrases.append(
            f"{ind.libelle} : {nombre(loin, 1)} % de la population des communes renseignées "
            f"vit à plus de 10 km, distance maximale {formater(code, float(distance.max()))}"
        )
    ax.axvline(10, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("Distance à vol d'oiseau (km)")
    ax.set_ylabel("Part cumulée de la population (%)")
    ax.set_ylim(0, 101)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    titre = "Distance à l'aide la plus proche"
    description = (
        "Courbes de la part cumulée de la population selon la distance de sa commune au lieu "
        "le plus proche. " + " ; ".join(phrases) + "."
    )
    figure.suptitle(titre, fontsize=11)
    return Graphique("distances", titre, description, _svg(figure, "distances", titre, description))


# Indicators the map can show when none is asked for, in order of preference.
CARTE = (*FRAGILITE, *TAUX_BESOIN, *LIEUX_10K_TABLEAU, *DISTANCES)


def fichier_contours() -> Path:
    """The bundled commune contours (OBSERVATORY_ASSETS_DIR is honoured)."""
    return load_settings().assets_dir / IGN_CONTOURS_COMMUNES.files[0].bundled


def lire_contours(chemin: Path, codes: Sequence[str]) -> pl.DataFrame:
    """The rings of the communes `codes` in the bundled contours file (none without the
    file: the page then says the map is not available, instead of failing)."""
    if not chemin.is_file():
        return pl.DataFrame(schema=contours_communes.SCHEMA)
    return (
        pl.scan_parquet(chemin)
        .filter(pl.col("code_insee").is_in(list(codes)))
        .rename({"code_insee": "code_commune"})
        .collect()
    )


@dataclass(frozen=True)
class Coloriage:
    """How a map colours an indicator: its scale, number format and three highest values."""

    echelle: carte.Echelle
    ecrire: Callable[[float], str]
    fragilite: bool
    plus_hautes: str


def coloriage(code: str | None, valeurs: pl.DataFrame) -> Coloriage:
    """The scale of indicator `code` over `valeurs` (`nom`, `valeur`): diverging around the
    reference 100 for the fragility index, quantile classes otherwise."""

    def ecrire(valeur: float) -> str:
        return formater(code or "", valeur)

    connues = valeurs["valeur"].cast(pl.Float64).to_numpy()
    fragilite = code is not None and code.startswith("ifn_score")
    echelle = (
        carte.echelle_divergente(connues, ecrire, REFERENCE_IFN)
        if fragilite
        else carte.echelle_sequentielle(connues, ecrire)
    )
    classees = valeurs.drop_nulls("valeur").sort("valeur", "nom", descending=[True, False])
    plus_hautes = ", ".join(
        f"{n} ({ecrire(v)})" for n, v in classees.head(3).select("nom", "valeur").rows()
    )
    return Coloriage(echelle, ecrire, fragilite, plus_hautes or "aucune")


def carte_communes(
    communes: pl.DataFrame,
    lieux: pl.DataFrame | None,
    release: Release,
    nom_territoire: str,
    contours: pl.DataFrame,
    indicateur: str | None = None,
    libelle_groupes: str = "d'EPCI",
) -> Graphique | None:
    """Choropleth of the communes from their contours (observatory/publish/carte.py),
    coloured by `indicateur`, else by the first of CARTE the release has; the fragility
    index on a diverging scale centred on its reference (100)."""
    dessinees = communes.join(
        contours.select("code_commune").unique(), left_on="code", right_on="code_commune"
    )
    if dessinees.is_empty():
        return None
    code = indicateur if indicateur in communes.columns else release.premier(CARTE)
    code = code if code in communes.columns else None
    valeurs = dessinees.select(
        pl.col("code").alias("code_commune"),
        "nom",
        (pl.col(code) if code else pl.lit(None)).cast(pl.Float64).alias("valeur"),
        pl.col("code_groupe").alias("groupe"),
        "population",
        "latitude",
        "longitude",
    )
    libelle = release.indicateur(code).libelle if code else "Aucun indicateur disponible"
    couleurs = coloriage(code, valeurs)
    phrases = []
    if indicateur is None and not couleurs.fragilite:
        phrases.append(
            "Indice de fragilité non disponible dans cette release"
            + (f" : la carte montre {_minuscule(libelle)}." if code else ".")
        )
    if code is not None:
        lecture = (
            "centrées sur la référence 100 (bleu : moins fragile, rouge : plus fragile)"
            if couleurs.fragilite
            else "par quantiles (plus foncé = valeur plus élevée)"
        )
        lesquelles = "les plus fragiles" if couleurs.fragilite else "aux valeurs les plus hautes"
        phrases.append(
            f"Couleur : {_minuscule(libelle)}, {len(couleurs.echelle.classes)} classes {lecture}. "
            f"Communes {lesquelles} : {couleurs.plus_hautes}."
        )
    if inconnues := valeurs["valeur"].null_count():
        phrases.append(f"{inconnues} communes sans valeur (hachurées).")
    phrases.append(f"Traits épais : limites {libelle_groupes}.")
    if lieux is not None and lieux.height:
        phrases.append(f"Points noirs : {lieux.height} lieux de médiation numérique.")
    sans_contour = communes.join(dessinees.select("code"), on="code", how="anti")
    if sans_contour.height:
        phrases.append(f"{sans_contour.height} commune(s) sans contour, non dessinée(s).")
    titre = f"Carte des communes : {nom_territoire}"
    description = (
        f"Carte de {dessinees.height} communes dessinées par leurs contours (IGN ADMIN EXPRESS "
        "simplifié). " + " ".join(phrases)
    )
    svg = carte.carte_choroplethe(
        contours.filter(pl.col("code_commune").is_in(dessinees["code"].implode())),
        valeurs,
        couleurs.echelle,
        carte.Textes("carte", titre, description, libelle),
        formater=couleurs.ecrire,
        libelle_groupes=libelle_groupes,
        lieux=lieux,
    )
    return Graphique("carte", titre, description, Markup(svg))


@functools.lru_cache(maxsize=2)
def _departements_dessines(chemin: Path, modifie_le: float) -> pl.DataFrame:
    """The départements dissolved from the contours file (a few seconds: once per file)."""
    return contours_communes.departements(
        pl.read_parquet(chemin).rename({"code_insee": "code_commune"})
    )


def carte_departements(
    release: Release, departements: pl.DataFrame, codes: Sequence[str], contours: Path | None
) -> Graphique | None:
    """The national map of the index: départements coloured by the fragility index, else by
    the first indicator of the index's table."""
    code = next((c for c in (*FRAGILITE, *TAUX_BESOIN, *LIEUX_10K) if c in codes), None)
    if code is None:
        return None
    chemin = contours or fichier_contours()
    if not chemin.is_file():
        return None
    dessins = _departements_dessines(chemin, chemin.stat().st_mtime)
    ind = release.indicateur(code)
    valeurs = departements.select(
        pl.col("code").alias("code_commune"), "nom", pl.col(code).cast(pl.Float64).alias("valeur")
    )
    couleurs = coloriage(code, valeurs)
    dessines = dessins.select("code_commune").unique()
    connus = valeurs.drop_nulls("valeur").join(dessines, on="code_commune", how="semi").height
    titre = "Carte des départements"
    description = (
        f"Carte des {dessines.height} départements (métropole, et les DROM "
        f"en encarts à leur propre échelle) selon {_minuscule(ind.libelle)}, "
        f"{len(couleurs.echelle.classes)} classes"
        + (" centrées sur la référence 100" if couleurs.fragilite else " par quantiles")
        + f". Valeurs les plus hautes : {couleurs.plus_hautes}. "
        f"{dessines.height - connus} départements sans valeur (hachurés)."
    )
    svg = carte.carte_france(
        dessins,
        valeurs,
        couleurs.echelle,
        carte.Textes("carte-france", titre, description, ind.libelle),
        couleurs.ecrire,
    )
    return Graphique("carte-france", titre, description, Markup(svg))
