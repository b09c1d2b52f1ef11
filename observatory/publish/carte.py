"""The report's map: a choropleth of communes as inline SVG, drawn from the commune contours.

Each commune is a `<path data-code="…">` filled by the class of its value (a hatch when the
value is unknown: unknown is never drawn as a low value), the borders between EPCI (or zones)
are drawn thicker from the edges their communes share, the places are dots, and the legend is
in French with the report's number format (passed in as `formater`). The fragility index is
drawn on a diverging scale centred on its reference (100); other indicators on a sequential
scale of quantile classes. Pure functions: frames in, SVG text out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from itertools import pairwise

import numpy as np
import polars as pl

from observatory.transforms import contours as ct

LARGEUR = 1000.0  # viewBox units; the SVG scales to the page width
LARGEUR_CARTE = 690.0
HAUTEUR_MAX = 720.0
X_LEGENDE = 715.0
# ColorBrewer YlGnBu (sequential) and RdBu reversed (diverging: blue below the centre, red above)
SEQUENTIELLE = ("#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#2c7fb8", "#253494")
DIVERGENTE = (
    "#2166ac",
    "#4393c3",
    "#92c5de",
    "#d1e5f0",
    "#fddbc7",
    "#f4a582",
    "#d6604d",
    "#b2182b",
)
NB_CLASSES = 5
NB_NOMS = 8  # names written on the map: the most populous communes that do not overlap
PAS_REGULIERS = (1.0, 2.0, 2.5, 5.0)


@dataclass(frozen=True)
class Classe:
    """Values in [bas, haut[ (open-ended when a bound is None), their colour and label."""

    bas: float | None
    haut: float | None
    couleur: str
    libelle: str


@dataclass(frozen=True)
class Textes:
    """What a map says: ids prefix, accessible title and description, legend title."""

    identifiant: str
    titre: str
    description: str
    titre_legende: str


@dataclass(frozen=True)
class Echelle:
    classes: tuple[Classe, ...]
    centre: float | None = None  # diverging scales: the reference value

    def indice(self, valeur: float | None) -> int | None:
        """The class of a value; None for an unknown one."""
        if valeur is None or math.isnan(valeur):
            return None
        return next(
            i
            for i, classe in enumerate(self.classes)
            if classe.haut is None or valeur < classe.haut
        )


def arrondi_lisible(valeur: float, chiffres: int = 2) -> float:
    """`valeur` rounded to `chiffres` significant digits (class bounds a reader can take in)."""
    if valeur == 0 or not math.isfinite(valeur):
        return valeur
    return round(valeur, chiffres - 1 - math.floor(math.log10(abs(valeur))))


def pas_regulier(ecart: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at least `ecart`."""
    if ecart <= 0:
        return 1.0
    puissance = 10.0 ** math.floor(math.log10(ecart))
    return next(p * puissance for p in (*PAS_REGULIERS, 10.0) if p * puissance >= ecart)


def _libelles(bornes: Sequence[float], formater: Callable[[float], str]) -> list[str]:
    if not bornes:
        return ["toutes les valeurs"]
    libelles = [f"moins de {formater(bornes[0])}"]
    libelles += [f"{formater(a)} à {formater(b)}" for a, b in pairwise(bornes)]
    return [*libelles, f"{formater(bornes[-1])} ou plus"]


def _classes(
    bornes: Sequence[float], couleurs: Sequence[str], formater: Callable[[float], str]
) -> tuple[Classe, ...]:
    limites: list[float | None] = [None, *bornes, None]
    return tuple(
        Classe(bas, haut, couleur, libelle)
        for bas, haut, couleur, libelle in zip(
            limites[:-1], limites[1:], couleurs, _libelles(bornes, formater), strict=True
        )
    )


def echelle_sequentielle(
    valeurs: np.ndarray, formater: Callable[[float], str], nb_classes: int = NB_CLASSES
) -> Echelle:
    """Quantile classes of the known values, bounds rounded to 2 significant digits; a bound
    that would leave a class empty is dropped."""
    connues = valeurs[~np.isnan(valeurs)]
    if connues.size == 0:
        return Echelle(_classes([], SEQUENTIELLE[2:3], formater))
    quantiles = np.quantile(connues, np.linspace(0, 1, nb_classes + 1)[1:-1])
    bornes = sorted(
        {
            b
            for b in (arrondi_lisible(float(q)) for q in quantiles)
            if connues.min() < b <= connues.max()
        }
    )
    indices = np.linspace(0, len(SEQUENTIELLE) - 1, len(bornes) + 1).round().astype(int)
    return Echelle(_classes(bornes, [SEQUENTIELLE[i] for i in indices], formater))


def echelle_divergente(
    valeurs: np.ndarray, formater: Callable[[float], str], centre: float
) -> Echelle:
    """Eight classes symmetric around `centre`, by a regular step (1, 2, 2.5, 5 × 10^k) that
    puts 95 % of the communes within three steps of it."""
    connues = valeurs[~np.isnan(valeurs)]
    ecart = float(np.quantile(np.abs(connues - centre), 0.95)) if connues.size else 0.0
    pas = pas_regulier(ecart / 3)
    bornes = [centre + k * pas for k in (-3, -2, -1, 0, 1, 2, 3)]
    return Echelle(_classes(bornes, DIVERGENTE, formater), centre=centre)


# ---------------------------------------------------------------------------------------------
# SVG
# ---------------------------------------------------------------------------------------------


def sans_chevauchement(
    noms: Sequence[tuple[str, float, float]], taille: float = 13.0
) -> list[tuple[str, float, float]]:
    """The names (centred above their point, in order of priority) whose approximate box
    meets no name kept before them."""
    gardes: list[tuple[str, float, float]] = []
    boites: list[tuple[float, float, float, float]] = []
    for nom, x, y in noms:
        demi = 0.3 * taille * len(nom)
        boite = (x - demi, y - 6 - taille, x + demi, y - 3)
        if not any(
            boite[0] < b[2] and b[0] < boite[2] and boite[1] < b[3] and b[1] < boite[3]
            for b in boites
        ):
            gardes.append((nom, x, y))
            boites.append(boite)
    return gardes


def _attr(texte: str) -> str:
    return escape(texte, quote=True)


def _lignes_titre(texte: str, largeur: int = 34) -> list[str]:
    """The legend's title cut into lines of about `largeur` characters."""
    lignes: list[str] = []
    for mot in texte.split():
        if lignes and len(lignes[-1]) + 1 + len(mot) <= largeur:
            lignes[-1] += " " + mot
        else:
            lignes.append(mot)
    return lignes


def _legende(
    echelle: Echelle,
    effectifs: Sequence[int],
    nb_inconnus: int,
    textes: Textes,
    libelle_groupes: str | None,
    nb_lieux: int | None,
    barre: tuple[float, str],
    centre: str | None,
) -> tuple[str, float]:
    """The legend's SVG (right of the map) and the height it takes."""
    y = 24.0
    morceaux = [f'<g class="legende" transform="translate({X_LEGENDE:g} 0)" font-size="15">']
    for ligne in _lignes_titre(textes.titre_legende):
        morceaux.append(f'<text x="0" y="{y:g}" font-weight="bold">{escape(ligne)}</text>')
        y += 19
    if centre is not None:
        morceaux.append(
            f'<text x="0" y="{y:g}" font-size="13">échelle centrée sur {escape(centre)} '
            "(référence)</text>"
        )
        y += 18
    y += 6
    for classe, effectif in zip(reversed(echelle.classes), reversed(effectifs), strict=True):
        morceaux.append(
            f'<rect x="0" y="{y:g}" width="26" height="16" fill="{classe.couleur}" '
            'stroke="#555" stroke-width="0.5"/>'
            f'<text x="34" y="{y + 13:g}">{escape(classe.libelle)} ({effectif})</text>'
        )
        y += 22
    if nb_inconnus:
        morceaux.append(
            f'<rect x="0" y="{y:g}" width="26" height="16" '
            f'fill="url(#{textes.identifiant}-inconnu)" stroke="#555" stroke-width="0.5"/>'
            f'<text x="34" y="{y + 13:g}">valeur inconnue ({nb_inconnus})</text>'
        )
        y += 22
    y += 10
    if libelle_groupes is not None:
        morceaux.append(
            f'<line x1="0" y1="{y + 8:g}" x2="26" y2="{y + 8:g}" stroke="#1a1a1a" '
            'stroke-width="2.2"/>'
            f'<text x="34" y="{y + 13:g}">limite {escape(libelle_groupes)}</text>'
        )
        y += 22
    if nb_lieux is not None:
        morceaux.append(
            f'<circle cx="13" cy="{y + 8:g}" r="3.5" fill="#1a1a1a" stroke="#fff" '
            'stroke-width="1"/>'
            f'<text x="34" y="{y + 13:g}">lieu de médiation numérique ({nb_lieux})</text>'
        )
        y += 22
    longueur, texte = barre
    y += 14
    morceaux.append(
        f'<path d="M0 {y:g}v6h{longueur:.1f}v-6" fill="none" stroke="#1a1a1a" stroke-width="1.5"/>'
        f'<text x="{longueur + 8:.1f}" y="{y + 7:g}" font-size="13">{escape(texte)}</text>'
    )
    morceaux.append("</g>")
    return "".join(morceaux), y + 20


def _barre_echelle(cadre: ct.Cadre) -> tuple[float, str]:
    """A scale bar of a round length, about a fifth of the legend's width."""
    unites_par_km = cadre.echelle / ct.KM_PAR_DEGRE
    km = pas_regulier(120 / unites_par_km)
    texte = f"{km:g} km".replace(".", ",")
    return km * unites_par_km, texte


def _remplissages(
    contours: pl.DataFrame,
    territoires: pl.DataFrame,
    echelle: Echelle,
    cadre: ct.Cadre,
    formater: Callable[[float], str],
    inconnu: str,
) -> tuple[str, list[int | None]]:
    """One `<path data-code>` per territory, filled by its class (`inconnu` when unknown),
    with a `<title>` naming it and its value; and the class of each."""
    chemins = ct.chemins_svg(contours, cadre).join(
        territoires.select("code_commune", "nom", "valeur"), on="code_commune", how="left"
    )
    indices = [echelle.indice(float(v)) for v in chemins["valeur"].cast(pl.Float64).to_numpy()]
    paths = []
    for (code, d, nom, valeur), i in zip(chemins.iter_rows(), indices, strict=True):
        couleur = inconnu if i is None else echelle.classes[i].couleur
        lu = "valeur inconnue" if i is None else formater(valeur)
        paths.append(
            f'<path data-code="{_attr(code)}" fill="{couleur}" d="{d}">'
            f"<title>{escape(str(nom or code))} : {escape(lu)}</title></path>"
        )
    return "".join(paths), indices


def _ouverture(textes: Textes, hauteur: float) -> str:
    """`<svg>` with its accessible title and description first, and the hatch of unknowns."""
    identifiant, titre, description = textes.identifiant, textes.titre, textes.description
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {LARGEUR:g} {hauteur:.0f}" '
        f'role="img" aria-labelledby="{identifiant}-titre {identifiant}-desc" focusable="false" '
        f'class="carte" font-family="sans-serif">'
        f'<title id="{identifiant}-titre">{escape(titre)}</title>'
        f'<desc id="{identifiant}-desc">{escape(description)}</desc>'
        f'<defs><pattern id="{identifiant}-inconnu" width="6" height="6" '
        'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        '<rect width="6" height="6" fill="#f2f2f2"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#8c8c8c" stroke-width="2"/></pattern></defs>'
    )


def _effectifs(echelle: Echelle, indices: Sequence[int | None]) -> tuple[list[int], int]:
    return [indices.count(i) for i in range(len(echelle.classes))], indices.count(None)


def carte_choroplethe(
    contours: pl.DataFrame,
    communes: pl.DataFrame,
    echelle: Echelle,
    textes: Textes,
    formater: Callable[[float], str],
    libelle_groupes: str = "d'EPCI",
    lieux: pl.DataFrame | None = None,
) -> str:
    """The map of a territory's communes as one `<svg>` element.

    `contours`: the rings of the communes to draw (`code_commune`, `partie`, `anneau`,
    `lon_e5`, `lat_e5`); `communes`: `code_commune`, `nom`, `valeur` (null = unknown),
    `groupe` (EPCI or zone, null = none), `population`, `latitude`, `longitude` (where its
    name is written); `lieux`: `latitude`, `longitude` of the places, or None when the
    release has none.
    """
    cadre = ct.cadrage(contours, LARGEUR_CARTE, HAUTEUR_MAX, marge=6.0)
    paths, indices = _remplissages(
        contours, communes, echelle, cadre, formater, f"url(#{textes.identifiant}-inconnu)"
    )
    effectifs, nb_inconnus = _effectifs(echelle, indices)
    groupes = communes.select("code_commune", "groupe")
    avec_groupes = groupes["groupe"].null_count() < groupes.height
    traits_groupes = ct.polylignes_svg(ct.limites(contours, groupes), cadre) if avec_groupes else ""
    tout = groupes.with_columns(pl.lit("*").alias("groupe"))
    traits_territoire = ct.polylignes_svg(ct.limites(contours, tout), cadre)
    legende, hauteur_legende = _legende(
        echelle,
        effectifs,
        nb_inconnus,
        textes,
        libelle_groupes if avec_groupes else None,
        None if lieux is None else lieux.height,
        _barre_echelle(cadre),
        None if echelle.centre is None else formater(echelle.centre),
    )
    morceaux = [
        _ouverture(textes, max(cadre.hauteur, hauteur_legende)),
        '<g class="communes" stroke="#ffffff" stroke-width="0.6" stroke-linejoin="round" '
        f'fill-rule="evenodd">{paths}</g>',
        f'<path class="limites-groupes" d="{traits_groupes}" fill="none" stroke="#1a1a1a" '
        'stroke-width="1.6" stroke-linejoin="round"/>',
        f'<path class="limite-territoire" d="{traits_territoire}" fill="none" stroke="#000" '
        'stroke-width="2.4" stroke-linejoin="round"/>',
    ]
    if lieux is not None and lieux.height:
        points = ct.projeter_points(lieux.select("latitude", "longitude"), cadre)
        cercles = "".join(
            f'<circle cx="{x:g}" cy="{y:g}" r="3.2"/>' for x, y in points.select("x", "y").rows()
        )
        morceaux.append(
            f'<g class="lieux" fill="#1a1a1a" stroke="#fff" stroke-width="0.9">{cercles}</g>'
        )
    noms = (
        communes.drop_nulls(["latitude", "longitude"])
        .join(contours.select("code_commune").unique(), on="code_commune", how="semi")
        .sort("population", descending=True, nulls_last=True)
        .head(NB_NOMS)
    )
    if noms.height:
        points = ct.projeter_points(noms.select("nom", "latitude", "longitude"), cadre)
        textes = "".join(
            f'<text x="{x:g}" y="{y - 6:g}">{escape(str(nom))}</text>'
            for nom, x, y in sans_chevauchement(points.select("nom", "x", "y").rows())
        )
        morceaux.append(
            '<g class="noms" font-size="13" text-anchor="middle" fill="#111" stroke="#fff" '
            f'stroke-width="3" paint-order="stroke" stroke-linejoin="round">{textes}</g>'
        )
    morceaux.append(legende)
    morceaux.append("</svg>")
    return "".join(morceaux)


# The DROM, in insets under the mainland: code and name, in the order drawn.
DROM = (
    ("971", "Guadeloupe"),
    ("972", "Martinique"),
    ("973", "Guyane"),
    ("974", "La Réunion"),
    ("976", "Mayotte"),
)
LARGEUR_METROPOLE = 640.0
COTE_ENCART = 120.0


def carte_france(
    departements: pl.DataFrame,
    valeurs: pl.DataFrame,
    echelle: Echelle,
    textes: Textes,
    formater: Callable[[float], str],
) -> str:
    """The départements of France (mainland and, in insets at their own scale, the DROM).

    `departements`: rings in the contours' layout, `code_commune` holding the département's
    code (`contours.dissoudre`); `valeurs`: `code_commune` (the département), `nom`, `valeur`.
    """
    inconnu = f"url(#{textes.identifiant}-inconnu)"
    outremer = pl.col("code_commune").str.starts_with("97")
    metropole = departements.filter(~outremer)
    cadre = ct.cadrage(metropole, LARGEUR_METROPOLE, LARGEUR_METROPOLE, marge=6.0, decimales=0)
    paths, indices = _remplissages(metropole, valeurs, echelle, cadre, formater, inconnu)
    panneaux = [f'<g class="metropole">{paths}</g>']
    y_encarts = cadre.hauteur + 10
    for rang, (code, nom) in enumerate(DROM):
        contours_drom = departements.filter(pl.col("code_commune") == code)
        if contours_drom.is_empty():
            continue
        # the name is written under the territory
        cadre_drom = ct.cadrage(contours_drom, COTE_ENCART, COTE_ENCART - 16, marge=4.0)
        paths, indices_drom = _remplissages(
            contours_drom, valeurs, echelle, cadre_drom, formater, inconnu
        )
        indices += indices_drom
        x = rang * (COTE_ENCART + 8)
        panneaux.append(
            f'<g class="encart" transform="translate({x:g} {y_encarts:g})">'
            f'<rect width="{COTE_ENCART:g}" height="{COTE_ENCART:g}" fill="none" stroke="#999" '
            f'stroke-width="0.8"/>{paths}'
            f'<text x="4" y="{COTE_ENCART - 4:g}" font-size="12" stroke="none" fill="#111">'
            f"{escape(nom)}</text></g>"
        )
    effectifs, nb_inconnus = _effectifs(echelle, indices)
    longueur_barre, texte_barre = _barre_echelle(cadre)
    legende, hauteur_legende = _legende(
        echelle,
        effectifs,
        nb_inconnus,
        textes,
        None,
        None,
        (longueur_barre, f"{texte_barre} (métropole)"),
        None if echelle.centre is None else formater(echelle.centre),
    )
    hauteur = max(y_encarts + COTE_ENCART + 4, hauteur_legende)
    return (
        _ouverture(textes, hauteur)
        + '<g class="departements" stroke="#ffffff" stroke-width="0.8" stroke-linejoin="round" '
        f'fill-rule="evenodd">{"".join(panneaux)}</g>{legende}</svg>'
    )
