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

import functools
import io
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import jinja2
import matplotlib
import numpy as np
import polars as pl
from markupsafe import Markup
from matplotlib.figure import Figure

from observatory.publish import carte, numbers
from observatory.publish.schemas import load_dictionary
from observatory.settings import SCHEMAS_DIR, load_settings
from observatory.sources.catalogue import IGN_CONTOURS_COMMUNES, SOURCES
from observatory.transforms import contours as contours_communes

DEPARTEMENT = re.compile(r"^(0[1-9]|[1-8]\d|9[0-5]|2A|2B|97[1-6])$")
ZONAGE_NOM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
PREFIXE_ZONAGE = "zonage:"
TEMPLATES = Path(__file__).parent / "templates"
LICENCE = "Licence Ouverte / Open Licence 2.0 (Etalab)"
SERVICE_DEMARCHES = "Aide aux démarches administratives"
# The kinds of help listed first for a least-served commune (values of orientation.critere).
CRITERES_ORIENTATION = (SERVICE_DEMARCHES, "France Services", "Conseillers numériques")

# Indicator codes the sections look for, in order of preference (the first one present wins).
BESOIN = ("nb_illectronisme",)
TAUX_BESOIN = ("taux_illectronisme",)
LIEUX = ("nb_lieux_demarches", "nb_lieux")
LIEUX_10K = ("lieux_pour_10k_hab",)
LIEUX_10K_TABLEAU = ("lieux_demarches_pour_10k_hab", "lieux_pour_10k_hab")  # pairs with LIEUX
FRAGILITE = ("ifn_score_global_fr", "ifn_score_global_dep")
PRIORITE = ("rang_priorite",)
DISTANCES = ("distance_lieu_demarches_km", "distance_france_services_km")
# Key figures (besides population), in display order.
CHIFFRES_CLES = (
    BESOIN,
    TAUX_BESOIN,
    ("nb_lieux",),
    LIEUX_10K,
    FRAGILITE,
    ("distance_france_services_km",),
    ("distance_lieu_demarches_km",),
)
# Indicator columns of the ranked tables, when present.
COLONNES_CLASSEMENT = (
    BESOIN,
    LIEUX,
    LIEUX_10K_TABLEAU,
    FRAGILITE,
    ("distance_lieu_demarches_km",),
)
NB_COMMUNES_PRIORITAIRES = 30
NB_MOINS_DESSERVIES = 10
NB_ETIQUETTES = 6
REFERENCE_IFN = 100.0  # La Mednum's IFN: 100 = the reference territory (France)
FIGURE_LARGEUR = 7.5  # inches; the SVG scales to the page width


class ReportError(ValueError):
    """The report cannot be drawn (unknown département or zoning, release unreadable)."""


@dataclass(frozen=True)
class Indicateur:
    """An indicator code with what the dictionary says of it (code itself when unknown)."""

    code: str
    libelle: str
    unite: str = ""
    definition: str = ""
    sens: str = ""
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Graphique:
    """An inline SVG chart with its accessible title and description."""

    identifiant: str
    titre: str
    description: str
    svg: Markup


@dataclass
class Release:
    """What the report reads from a release: manifest, tables (lazily), dictionary."""

    dossier: Path
    manifest: dict[str, Any]
    dictionnaire: dict[str, dict[str, Any]]
    disponibles: tuple[str, ...] = field(default=())
    # indicator → the levels `indicateurs` has rows at (empty without that table)
    niveaux: dict[str, frozenset[str]] = field(default_factory=dict)

    def sans_objet(self, code: str, niveau: str) -> bool:
        """The indicator is not defined at `niveau` (no row at all there, e.g. a rank within
        the département): the page says so rather than "inconnu"."""
        return code in self.niveaux and niveau not in self.niveaux[code]

    def a_table(self, nom: str) -> bool:
        return nom in self.manifest.get("tables", {})

    def scan(self, nom: str, niveaux: Sequence[str] | None = None) -> pl.LazyFrame:
        """A table of the release, only the partitions of `niveaux` when it is partitioned."""
        racine = self.dossier.resolve()
        entrees = self.manifest["tables"][nom]["files"]
        if niveaux is not None:
            entrees = [
                e
                for e in entrees
                if "partition" not in e or e["partition"].get("niveau") in set(niveaux)
            ]
        chemins = [(racine / e["path"]).resolve() for e in entrees]
        if any(not chemin.is_relative_to(racine) for chemin in chemins):
            raise ReportError(f"{nom} : un fichier du manifeste est hors de la release")
        if not chemins:
            schema = pl.read_parquet_schema(
                racine / self.manifest["tables"][nom]["files"][0]["path"]
            )
            return pl.LazyFrame(schema=schema)
        frame = pl.scan_parquet(chemins, hive_partitioning=False)
        if niveaux is not None and "niveau" in frame.collect_schema().names():
            frame = frame.filter(pl.col("niveau").is_in(list(niveaux)))
        return frame

    def indicateur(self, code: str) -> Indicateur:
        entree = self.dictionnaire.get(code, {})
        return Indicateur(
            code,
            str(entree.get("libelle", code)),
            str(entree.get("unite", "")),
            " ".join(str(entree.get("definition", "")).split()),
            str(entree.get("sens", "")),
            tuple(str(s) for s in entree.get("sources") or ()),
        )

    def millesimes(self, indicateur: Indicateur) -> str:
        """`cog__communes (2026), insee__rp2017_parts (2017)`: the sources of an indicator
        (dictionary) with their vintages in this release (manifest)."""
        vus: dict[str, set[str]] = {}
        for source in self.manifest.get("sources", []):
            vus.setdefault(str(source.get("source")), set()).add(str(source.get("millesime")))
        return ", ".join(
            f"{s} ({', '.join(sorted(vus[s]))})" if s in vus else s for s in indicateur.sources
        )

    def premier(self, codes: Sequence[str]) -> str | None:
        """The first of `codes` that the release holds, if any."""
        return next((c for c in codes if c in self.disponibles), None)


def ouvrir_release(release: Path, schemas_dir: Path = SCHEMAS_DIR) -> Release:
    """Read the manifest and find which indicator codes the release holds (with a value)."""
    chemin = release / "manifest.json"
    if not chemin.is_file():
        raise ReportError(f"{release} : pas de manifest.json, ce n'est pas une release")
    manifest = json.loads(chemin.read_text(encoding="utf-8"))
    dictionnaire = (
        load_dictionary(schemas_dir) if (schemas_dir / "indicateurs.yaml").is_file() else {}
    )
    lu = Release(release, manifest, dictionnaire or {})
    if lu.a_table("indicateurs"):
        presents = (
            lu.scan("indicateurs")
            .group_by("indicateur")
            .agg(pl.col("niveau").unique(), pl.col("valeur").is_not_null().any().alias("_connu"))
            .collect()
        )
        codes = presents.filter("_connu")["indicateur"].to_list()
        lu.niveaux = {c: frozenset(n) for c, n in presents.select("indicateur", "niveau").rows()}
    else:
        base = {"niveau", "code", "nom", "population"}
        colonnes = lu.scan("indicateurs_large").collect_schema().names()
        codes = [c for c in colonnes if c not in base]
    ordre = list(dictionnaire)
    lu.disponibles = tuple(
        sorted(codes, key=lambda c: (ordre.index(c) if c in ordre else len(ordre), c))
    )
    return lu


# ---------------------------------------------------------------------------------------------
# Formatting: one module for every number a person reads (`observatory.publish.numbers`)
# ---------------------------------------------------------------------------------------------

INCONNU = numbers.UNKNOWN
SANS_OBJET = numbers.NOT_APPLICABLE
_absent = numbers.absent
nombre = numbers.number


def formater(code: str, valeur: float | None) -> str:
    """A value of indicator `code` as a French reader expects it (its dictionary precision)."""
    return numbers.format_indicator(code, valeur)


_JOURS = {
    "Mo": "lun.",
    "Tu": "mar.",
    "We": "mer.",
    "Th": "jeu.",
    "Fr": "ven.",
    "Sa": "sam.",
    "Su": "dim.",
    "PH": "jours fériés",
    "off": "fermé",
}
_JOUR = re.compile(r"\b(Mo|Tu|We|Th|Fr|Sa|Su|PH|off)\b")


def horaires_fr(horaires: str | None) -> str:
    """OSM `opening_hours` (as the registries publish them) with French day names."""
    if not horaires:
        return "non renseigné"
    texte = _JOUR.sub(lambda m: _JOURS[m.group(1)], horaires)
    return re.sub(r"\s*;\s*", " ; ", re.sub(r"\s*,\s*", ", ", texte)).strip()


def _minuscule(texte: str) -> str:
    """A label inside a sentence: first letter lowercased only (keeps « France »)."""
    return texte[:1].lower() + texte[1:]


def _texte_svg(texte: str) -> str:
    """Data text for a matplotlib label: `$` would start mathtext (also disabled per label)."""
    return texte.replace("$", r"\$")


# ---------------------------------------------------------------------------------------------
# Data of one page
# ---------------------------------------------------------------------------------------------


@dataclass
class Donnees:
    """The rows one page is drawn from."""

    departement: dict[str, Any]
    france: dict[str, Any] | None
    groupes: pl.DataFrame  # EPCI or zones, with indicator columns
    communes: pl.DataFrame  # communes of the département, with coordinates and indicators
    intervalles: dict[tuple[str, str, str], tuple[float | None, float | None]]
    niveau_groupes: str  # "epci" or "zonage:<name>"
    groupes_filtres: bool  # False when zones could not be tied to the département


def _indicateurs_large(release: Release, niveaux: Sequence[str]) -> pl.DataFrame:
    colonnes = ["niveau", "code", *release.disponibles]
    large = release.scan("indicateurs_large", niveaux)
    presentes = set(large.collect_schema().names())
    return large.select([c for c in colonnes if c in presentes]).collect()


def _appartenances_zonage(release: Release, niveau: str) -> pl.DataFrame | None:
    """Commune → zone, from a published `appartenances` table (`code_commune`, `niveau`,
    `code`) when the release has one."""
    if not release.a_table("appartenances"):
        return None
    return (
        release.scan("appartenances", [niveau])
        .select("code_commune", pl.col("code").alias("code_zone"))
        .collect()
    )


def charger(release: Release, departement: str, zonage: str | None) -> Donnees:
    """The département, its EPCI or zones and its communes, with every available indicator."""
    if not DEPARTEMENT.match(departement):
        raise ReportError(
            f"{departement!r} n'est pas un code de département (01…95, 2A, 2B, 971…976)"
        )
    niveau_groupes = "epci" if zonage is None else f"{PREFIXE_ZONAGE}{zonage}"
    if zonage is not None and not ZONAGE_NOM.match(zonage):
        raise ReportError(f"nom de zonage invalide : {zonage!r}")
    territoires = release.scan("territoires")
    niveaux = ["commune", "departement", "france", niveau_groupes]
    terr = territoires.filter(pl.col("niveau").is_in(niveaux)).collect()
    dep = terr.filter(pl.col("niveau") == "departement", pl.col("code") == departement)
    if dep.is_empty():
        raise ReportError(f"le département {departement} n'est pas dans la release")
    large = _indicateurs_large(release, niveaux)
    sans_doublon = [c for c in large.columns if c not in ("nom", "population")]
    large = large.select(sans_doublon)

    def avec_indicateurs(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.join(large, on=["niveau", "code"], how="left", maintain_order="left")

    communes = terr.filter(pl.col("niveau") == "commune", pl.col("code_departement") == departement)
    groupes_tous = terr.filter(pl.col("niveau") == niveau_groupes)
    if zonage is not None and groupes_tous.is_empty():
        connus = sorted(
            n.removeprefix(PREFIXE_ZONAGE)
            for n in territoires.select(pl.col("niveau").unique()).collect()["niveau"]
            if n.startswith(PREFIXE_ZONAGE)
        )
        raise ReportError(
            f"le zonage {zonage!r} n'est pas dans la release (zonages : {connus or 'aucun'})"
        )
    filtres = True
    if zonage is None:
        codes = communes["code_epci"].drop_nulls().unique()
        groupes = groupes_tous.filter(pl.col("code").is_in(codes.implode()))
        noms = groupes_tous.select(
            pl.col("code").alias("code_groupe"), pl.col("nom").alias("nom_groupe")
        )
        communes = communes.with_columns(pl.col("code_epci").alias("code_groupe")).join(
            noms, on="code_groupe", how="left", maintain_order="left"
        )
    else:
        appartenances = _appartenances_zonage(release, niveau_groupes)
        if appartenances is None:
            groupes, filtres = groupes_tous, False
            communes = communes.with_columns(
                pl.lit(None, pl.String).alias("code_groupe"),
                pl.lit(None, pl.String).alias("nom_groupe"),
            )
        else:
            communes = communes.join(
                appartenances.rename({"code_zone": "code_groupe"}),
                left_on="code",
                right_on="code_commune",
                how="left",
                maintain_order="left",
            ).join(
                groupes_tous.select(
                    pl.col("code").alias("code_groupe"), pl.col("nom").alias("nom_groupe")
                ),
                on="code_groupe",
                how="left",
                maintain_order="left",
            )
            codes = communes["code_groupe"].drop_nulls().unique()
            groupes = groupes_tous.filter(pl.col("code").is_in(codes.implode()))
    france = terr.filter(pl.col("niveau") == "france")
    return Donnees(
        departement=avec_indicateurs(dep).row(0, named=True),
        france=avec_indicateurs(france).row(0, named=True) if france.height else None,
        groupes=avec_indicateurs(groupes).sort("code"),
        communes=avec_indicateurs(communes).sort("code"),
        intervalles=_intervalles(release, departement),
        niveau_groupes=niveau_groupes,
        groupes_filtres=filtres,
    )


def _intervalles(
    release: Release, departement: str
) -> dict[tuple[str, str, str], tuple[float | None, float | None]]:
    """(niveau, code, indicateur) → (ic_bas, ic_haut) of the latest year, for the key figures."""
    if not release.a_table("indicateurs"):
        return {}
    codes = [c for c in (*BESOIN, *TAUX_BESOIN) if c in release.disponibles]
    if not codes:
        return {}
    rows = (
        release.scan("indicateurs", ["departement", "france"])
        .filter(
            pl.col("indicateur").is_in(codes),
            ((pl.col("niveau") == "departement") & (pl.col("code") == departement))
            | (pl.col("niveau") == "france"),
        )
        .group_by("niveau", "code", "indicateur")
        .agg(pl.col("ic_bas", "ic_haut").sort_by("annee").last())
        .collect()
    )
    return {(n, c, i): (b, h) for n, c, i, b, h in rows.iter_rows()}


def sources_partielles(release: Release, departement: str) -> dict[str, str]:
    """Sources bundled for a few territories only (their catalogue coverage lists them) that
    cover this département but not France (`couverture_sources`), key → title. A national
    figure built on one of them counts, outside the territories it covers, only the other
    sources (the offline snapshot has the lieux of Charente only): it is not comparable with
    the département's figure. Statistics missing for some communes are not meant here."""
    if not release.a_table("couverture_sources"):
        return {}
    profil = str(release.manifest.get("profil") or "offline")
    perimetres = {
        source.key
        for source in SOURCES
        if source.couverture_pour(profil).codes is not None
        and not source.couverture_pour(profil).presence
    }
    couverture = (
        release.scan("couverture_sources", ["departement", "france"])
        .filter((pl.col("niveau") == "france") | (pl.col("code") == departement))
        .select("source", "niveau", "couvert")
        .collect()
    )
    locales = couverture.filter(pl.col("niveau") == "departement", pl.col("couvert"))
    partielles = couverture.filter(pl.col("niveau") == "france", ~pl.col("couvert"))
    titres = {
        str(s.get("source")): str(s.get("titre") or s.get("source"))
        for s in release.manifest.get("sources", [])
    }
    cles = set(locales["source"]) & set(partielles["source"]) & perimetres
    return {cle: titres.get(cle, cle) for cle in sorted(cles)}


def non_comparable(release: Release, code: str, partielles: Mapping[str, str]) -> list[str]:
    """Titles of the partial sources indicator `code` is built on (its dictionary sources)."""
    return [titre for cle, titre in partielles.items() if cle in release.indicateur(code).sources]


# ---------------------------------------------------------------------------------------------
# Priority ranking
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Classement:
    """A ranked table and the sentence saying how it was ranked."""

    lignes: pl.DataFrame  # `rang` first
    methode: str


def classer(frame: pl.DataFrame, release: Release, communes: bool) -> Classement:
    """Rank by `rang_priorite` when the release has it (communes), else by need per place
    (`besoin / (lieux + 1)`, as the gap model does), else by supply per inhabitant."""
    rang = release.premier(PRIORITE)
    besoin = release.premier(BESOIN)
    lieux = release.premier(LIEUX)
    if communes and rang and rang in frame.columns:
        lignes = frame.sort(rang, "code", nulls_last=True).with_columns(pl.col(rang).alias("rang"))
        methode = (
            f"Rang de priorité publié par l'observatoire ({release.indicateur(rang).libelle}) : "
            "1 = le plus de besoin pour le moins d'offre dans le département."
        )
    elif besoin and lieux and besoin in frame.columns and lieux in frame.columns:
        score = pl.col(besoin) / (pl.col(lieux) + 1.0)
        lignes = (
            frame.with_columns(score.alias("_score"))
            .sort("_score", "code", descending=[True, False], nulls_last=True)
            .with_columns(
                pl.when(pl.col("_score").is_not_null())
                .then(pl.col("_score").rank("min", descending=True))
                .alias("rang")
            )
            .drop("_score")
        )
        methode = (
            f"Classement par besoin rapporté à l'offre : {release.indicateur(besoin).libelle} "
            f"÷ ({release.indicateur(lieux).libelle} + 1). Rang 1 = le plus prioritaire ; "
            "territoire non classé si une des deux valeurs est inconnue."
        )
    else:
        offre = release.premier(LIEUX_10K_TABLEAU)
        if offre and offre in frame.columns:
            lignes = frame.sort(
                offre, "population", "code", descending=[False, True, False], nulls_last=True
            ).with_columns(
                pl.when(pl.col(offre).is_not_null()).then(pl.col(offre).rank("min")).alias("rang")
            )
            methode = (
                "Estimation du besoin non disponible dans cette release : classement par offre "
                f"croissante ({release.indicateur(offre).libelle}), puis par population."
            )
        else:
            lignes = frame.sort("population", "code", descending=[True, False]).with_columns(
                pl.lit(None, pl.Float64).alias("rang")
            )
            methode = (
                "Ni besoin ni offre disponibles dans cette release : territoires par population "
                "décroissante, sans rang."
            )
    return Classement(lignes.select("rang", pl.exclude("rang")), methode)


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
