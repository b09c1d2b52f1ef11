"""The report's data: the release as the page reads it, formatting, one page's data, ranking.

Split from `report.py` (the page assembly) and `report_figures.py` (charts and maps) so that
each stays readable; see `report.py` for what the report is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from markupsafe import Markup

from observatory.publish import numbers
from observatory.publish.schemas import load_dictionary
from observatory.settings import SCHEMAS_DIR
from observatory.sources.catalogue import SOURCES

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
