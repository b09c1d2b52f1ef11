"""The département report, on releases written in the test from real Charente figures (taken
from a release of the bundled data: populations, coordinates, need, fragility, distances,
ranks, orientation rows), then on the release of the end-to-end run, then in Chromium.

Parsing uses the standard library's HTMLParser, building a small tree: every element must be
closed in order, so a malformed page fails.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image
import polars as pl
import pytest
import yaml

from observatory.publish.release import TableLayout, write_release
from observatory.publish.report import (
    ReportError,
    build_report,
    formater,
    horaires_fr,
    moins_desservies,
    nombre,
    ouvrir_release,
)
from observatory.settings import PROJECT_ROOT

NNBSP = "\u202f"
MECHANT = '<script>alert("x")</script> & Cie $\\frac{1}{0}$'
VIDE = ("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr")

# Real Charente communes (COG 2026, La Poste points) and their indicators in a release of the
# bundled data; the last one is not a real commune: a name that must come out escaped, no
# point, fragility unknown.
COLONNES = [
    "code", "nom", "population", "code_epci", "latitude", "longitude", "nb_lieux",
    "nb_lieux_demarches", "nb_illectronisme", "taux_illectronisme", "ifn_score_global_fr",
    "distance_lieu_demarches_km", "distance_france_services_km", "rang_priorite",
]  # fmt: skip
COMMUNES_CSV = """\
16015;Angoulême;41908;200071827;45.647372;0.145141;16;13;5665.23;0.160455;110.51;0;0;6
16028;Barbezieux-Saint-Hilaire;4726;200029734;45.477722;-0.157623;5;4;847.47;0.20893;121.40;0;0;38
16082;Boisné-La Tude;662;200070282;45.472273;0.186207;0;0;97.58;0.179715;128.10;7.0105;7.0105;98
16089;Châteaubernard;3878;200070514;45.672182;-0.315509;1;1;653.75;0.200784;118.14;0;0;12
16102;Cognac;18532;200070514;45.696361;-0.335278;11;9;2817.84;0.178845;105.22;0;0;19
16106;Confolens;2730;200072049;46.024827;0.662267;6;4;540.70;0.229323;121.17;0;0;78
16113;La Couronne;7765;200071827;45.609701;0.109303;3;1;1111.73;0.169071;110.56;0;0;4
16167;Jarnac;4486;200070514;45.686466;-0.165263;6;6;805.24;0.210919;126.18;0;0;70
16264;Pleuville;313;200072049;46.097102;0.492274;0;0;60.13;0.234225;131.10;13.0547;13.0547;172
16292;Ruffec;3449;200043016;46.039882;0.199512;4;4;674.57;0.224109;126.93;0;0;52
16306;Saint-Christophe;334;200072049;46.004484;0.849973;0;0;55.04;0.20091;114.24;11.9329;11.9329;190
16374;Soyaux;10087;200071827;45.639275;0.207027;5;3;1419.53;0.186918;115.42;0;0;8
16999;{mechant};120;200072049;;;0;0;20.0;0.2;;9.5;9.5;200
"""
EPCI = {
    "200029734": "CC des 4B Sud Charente",
    "200043016": "CC Val de Charente",
    "200070282": "CC Lavalette Tude Dronne",
    "200070514": "CA du Grand Cognac",
    "200071827": "CA du Grand Angoulême",
    "200072049": "CC de Charente Limousine",
}
NB_ILLECTRONISME_16 = (54166.581141, 51398.478769, 56934.683512)  # valeur, ic_bas, ic_haut
TAUX_ILLECTRONISME_16 = (0.185835, 0.176338, 0.195331)
# Orientation rows of Pleuville and Saint-Christophe in that release, and two communes whose
# nearest help is at home: (commune, critère, rang, distance_km, lieu).
HORAIRES_CHAMPAGNE = "Mo-Fr 09:00-12:00,13:30-16:00; Tu 09:00-12:00"
LIEUX_ORIENTATION = {
    "champagne": ("France services Champagne Mouton", "Route de Confolens", "16350",
                  "Champagne-Mouton", HORAIRES_CHAMPAGNE, "Gratuit", False),
    "civray": ("France services de Civray", "11 Rue Salvador Allende", "86400", "Civray",
               "Mo 08:30-12:30", None, False),
    "st_martin": ("Mairie St Martin l'Ars", "10 rue du lavoir", "86350", "ST MARTIN L'ARS",
                  "Tu 10:00-12:00", "Gratuit", False),
    "bus": ("Bus France Services - [Place du Champ de foire]", "21 Rue Farèze", "16700",
            "Nanteuil-en-Vallée", None, None, True),
    "javerdat": ("France services de Javerdat", "1 rue de l'Ecole", "87520", "Javerdat",
                 "Mo 09:00-12:00,14:00-17:00", None, False),
    "angouleme": ("France services Angoulême", "1 place", "16000", "Angoulême", None,
                  "Gratuit|Payant", False),
    "couronne": ("Mairie de La Couronne", "Place", "16400", "La Couronne", None, None, False),
}  # fmt: skip
DEMARCHES = "Aide aux démarches administratives"
ORIENTATION = [
    ("16264", DEMARCHES, 1, 13.054708, "champagne"),
    ("16264", DEMARCHES, 2, 15.969029, "civray"),
    ("16264", "France Services", 1, 13.054708, "champagne"),
    ("16264", "Conseillers numériques", 1, 13.762521, "st_martin"),
    ("16264", "Accès internet et matériel informatique", 1, 16.998612, "bus"),
    ("16306", DEMARCHES, 1, 11.932858, "javerdat"),
    ("16015", DEMARCHES, 1, 0.0, "angouleme"),
    ("16113", DEMARCHES, 1, 0.0, "couronne"),
]
SOURCES = [
    {
        "source": "cog__communes",
        "titre": "Communes du COG 2026 et leur population municipale",
        "producteur": "INSEE, DGCL (via Etalab)",
        "millesime": "2026",
        "licence": "Licence Ouverte / Open Licence 2.0 (etalab-2.0)",
        "sha256": "a" * 64,
    },
    {
        "source": "insee__rp2017_parts",
        "titre": "Recensement 2017 : parts <des 65 ans> & plus",
        "producteur": "INSEE",
        "millesime": "2017",
        "licence": "Licence Ouverte / Open Licence 2.0 (etalab-2.0)",
        "sha256": "b" * 64,
    },
]
PARTITIONNEES = ("territoires", "indicateurs", "indicateurs_large", "appartenances")
LAYOUTS = {t: TableLayout("niveau", ("niveau", "code")) for t in PARTITIONNEES}
ZONES = {"nord": ("16106", "16264", "16292", "16306", "16999"), "sud": None}  # sud: the others


# ---------------------------------------------------------------------------------------------
# A release shaped like the published tables
# ---------------------------------------------------------------------------------------------


def communes() -> pl.DataFrame:
    texte = COMMUNES_CSV.replace("{mechant}", MECHANT)
    return pl.read_csv(
        io.StringIO(texte),
        separator=";",
        has_header=False,
        new_columns=COLONNES,
        schema_overrides={"code": pl.String, "code_epci": pl.String},
        quote_char=None,
    ).with_columns(
        (pl.col("nb_lieux") * 10_000 / pl.col("population")).alias("lieux_pour_10k_hab"),
        (pl.col("nb_lieux_demarches") * 10_000 / pl.col("population")).alias(
            "lieux_demarches_pour_10k_hab"
        ),
        pl.col("rang_priorite").cast(pl.Float64),
    )


COLONNES_LIEU = (
    "nom", "adresse", "code_postal", "commune_lieu", "horaires", "frais_a_charge", "itinerant",
)  # fmt: skip


def orientation_frame() -> pl.DataFrame:
    """The rows above; every other commune but 16999 has a place for procedures at the
    distance its indicator says (none found for 16999: it has no point)."""
    rows = [
        {"code_commune": c, "critere": k, "rang": r, "distance_km": d}
        | dict(zip(COLONNES_LIEU, LIEUX_ORIENTATION[lieu], strict=True))
        for c, k, r, d, lieu in ORIENTATION
    ]
    listees = {row["code_commune"] for row in rows}
    for code, nom, distance in (
        communes().select("code", "nom", "distance_lieu_demarches_km").iter_rows()
    ):
        if code not in listees and code != "16999":
            lieu = (f"Mairie de {nom}", "Place de la mairie", None, nom, None, None, False)
            rows.append(
                {"code_commune": code, "critere": DEMARCHES, "rang": 1, "distance_km": distance}
                | dict(zip(COLONNES_LIEU, lieu, strict=True))
            )
    return pl.DataFrame(rows).with_columns(pl.col("rang").cast(pl.Int32))


SOMMES = ("population", "nb_lieux", "nb_lieux_demarches", "nb_illectronisme")


def agreger(frame: pl.DataFrame, cle: str) -> pl.DataFrame:
    """Higher levels from commune counts, as the pipeline does."""
    return (
        frame.group_by(cle)
        .agg(pl.col(list(SOMMES)).sum())
        .with_columns(
            (pl.col("nb_lieux") * 10_000 / pl.col("population")).alias("lieux_pour_10k_hab"),
            (pl.col("nb_lieux_demarches") * 10_000 / pl.col("population")).alias(
                "lieux_demarches_pour_10k_hab"
            ),
            (pl.col("nb_illectronisme") / pl.col("population")).alias("taux_illectronisme"),
        )
    )


def release_charente(
    dossier: Path,
    garder: tuple[str, ...] | None = None,
    orientation: bool | pl.DataFrame = True,
    zonage: bool = False,
) -> Path:
    """Write a release of the communes above; `garder` restricts the indicator codes;
    `orientation`: the rows above, none, or the given ones."""
    c = communes().with_columns(
        pl.lit("commune").alias("niveau"), pl.lit("16").alias("code_departement")
    )
    epci = agreger(c, "code_epci").rename({"code_epci": "code"})
    epci = epci.with_columns(
        pl.lit("epci").alias("niveau"), pl.col("code").replace_strict(EPCI).alias("nom")
    )
    dep = pl.DataFrame(
        {
            "niveau": ["departement", "france"],
            "code": ["16", "FR"],
            "nom": ["Charente", "France"],
            "population": [352683, 68350798],
            "nb_lieux": [193.0, None],
            "lieux_pour_10k_hab": [5.472336, None],
            "nb_lieux_demarches": [160.0, 3695.0],
            "lieux_demarches_pour_10k_hab": [4.536652, 0.540594],
            "nb_illectronisme": [NB_ILLECTRONISME_16[0], None],
            "taux_illectronisme": [TAUX_ILLECTRONISME_16[0], None],
            "ifn_score_global_fr": [108.822614, 100.0],
            "distance_lieu_demarches_km": [1.755259, 3.579341],
            "distance_france_services_km": [2.161252, 3.58164],
        }
    )
    frames = [c, epci, dep]
    appartenances = None
    if zonage:
        zone = (
            pl.when(pl.col("code").is_in(list(ZONES["nord"])))
            .then(pl.lit("1"))
            .otherwise(pl.lit("2"))
        )
        c = c.with_columns(zone.alias("_zone"))
        zones = agreger(c, "_zone").rename({"_zone": "code"})
        zones = zones.with_columns(
            pl.lit("zonage:reseaux").alias("niveau"),
            pl.col("code")
            .replace_strict({"1": "Réseau Nord <Confolentais>", "2": "Réseau Sud"})
            .alias("nom"),
        )
        frames.append(zones)
        appartenances = c.select(
            pl.col("code").alias("code_commune"),
            pl.lit("zonage:reseaux").alias("niveau"),
            pl.col("_zone").alias("code"),
        )
        c = c.drop("_zone")
        frames[0] = c
    tous = pl.concat(frames, how="diagonal_relaxed")
    codes = [
        col
        for col in tous.columns
        if col not in ("niveau", "code", "nom", "population", "code_epci", "code_departement")
        and col not in ("latitude", "longitude")
        and (garder is None or col in garder)
    ]
    territoires = tous.select(
        "niveau",
        "code",
        "nom",
        pl.col("population").cast(pl.Int64),
        pl.lit(2026, pl.Int32).alias("millesime_cog"),
        "code_epci",
        "code_departement",
        pl.lit("75").alias("code_region"),
        "latitude",
        "longitude",
    )
    large = tous.select("niveau", "code", "nom", pl.col("population").cast(pl.Int64), *codes)
    intervalles = {
        "nb_illectronisme": NB_ILLECTRONISME_16,
        "taux_illectronisme": TAUX_ILLECTRONISME_16,
    }
    est_16 = (pl.col("niveau") == "departement") & (pl.col("code") == "16")

    def borne(i: int) -> pl.Expr:
        valeurs = {code: v[i] for code, v in intervalles.items()}
        return pl.when(est_16).then(
            pl.col("indicateur").replace_strict(valeurs, default=None, return_dtype=pl.Float64)
        )

    long = large.unpivot(
        index=["niveau", "code"], on=codes, variable_name="indicateur", value_name="valeur"
    ).select(
        "niveau",
        "code",
        "indicateur",
        pl.lit(2019, pl.Int32).alias("annee"),
        "valeur",
        borne(1).alias("ic_bas"),
        borne(2).alias("ic_haut"),
        pl.lit(False).alias("secret"),
        pl.col("valeur").is_not_null().alias("couverture"),
    )
    lieux = pl.DataFrame(
        {
            "id": ["mednum__lieux:1", "mednum__lieux:2", "france_services__lieux:3"],
            "nom": ["Centre social", "Mairie", "France services Champagne Mouton"],
            "code_departement": ["16", "16", "16"],
            "latitude": [45.6466, 45.894757, 46.0],
            "longitude": [0.148, 0.010552, 0.35],
        }
    )
    tables = {
        "territoires": territoires,
        "indicateurs": long,
        "indicateurs_large": large,
        "lieux": lieux,
    }
    if isinstance(orientation, pl.DataFrame):
        tables["orientation"] = orientation
    elif orientation:
        tables["orientation"] = orientation_frame()
    if appartenances is not None:
        tables["appartenances"] = appartenances
    publication = write_release(
        tables, dossier, SOURCES, extra={"millesime_cog": 2026}, layouts=LAYOUTS
    )
    return publication.folder


# ---------------------------------------------------------------------------------------------
# A small HTML tree (standard library only)
# ---------------------------------------------------------------------------------------------


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    parent: Element | None = None
    children: list[Element] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    def iter(self, tag: str | None = None):
        for child in self.children:
            if tag is None or child.tag == tag:
                yield child
            yield from child.iter(tag)

    def texte(self) -> str:
        """Every text of the element and its descendants, in document order (approximately)."""
        texte = " ".join([*self.text, *(c.texte() for c in self.children)])
        return re.sub(r"[ \t\r\n]+", " ", texte).strip()  # keeps narrow no-break spaces


class Arbre(HTMLParser):
    """Builds the tree; an end tag that does not close the open element is an error."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.racine = Element("#document", {})
        self.courant = self.racine

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, self.courant)
        self.courant.children.append(element)
        if tag not in VIDE:
            self.courant = element

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.courant.children.append(Element(tag, {k: v or "" for k, v in attrs}, self.courant))

    def handle_endtag(self, tag: str) -> None:
        assert self.courant.tag == tag, f"</{tag}> closes <{self.courant.tag}>"
        assert self.courant.parent is not None
        self.courant = self.courant.parent

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.courant.text.append(data.strip())


def analyser(html: str) -> Element:
    arbre = Arbre()
    arbre.feed(html)
    arbre.close()
    assert arbre.courant is arbre.racine, f"<{arbre.courant.tag}> never closed"
    return arbre.racine


def par_id(racine: Element, identifiant: str) -> Element:
    trouves = [e for e in racine.iter() if e.attrs.get("id") == identifiant]
    assert len(trouves) == 1, f"id {identifiant!r}: {len(trouves)} elements"
    return trouves[0]


def lignes(table: Element) -> list[list[str]]:
    """The body rows of a table, as the texts of their cells."""
    corps = next(table.iter("tbody"))
    return [[c.texte() for c in tr.children if c.tag in ("th", "td")] for tr in corps.iter("tr")]


def entetes(table: Element) -> list[str]:
    return [th.texte() for th in next(table.iter("thead")).iter("th")]


# ---------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def page_complete(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Element]:
    """The page of a release holding every indicator the report uses, and `orientation`."""
    dossier = tmp_path_factory.mktemp("release_complete")
    release = release_charente(dossier)
    chemin = build_report(release, "16", dossier / "rapports")
    html = chemin.read_text(encoding="utf-8")
    return chemin, html, analyser(html)


@pytest.fixture(scope="module")
def page_reduite(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Element]:
    """The page of a release with only the supply indicators and no orientation table."""
    dossier = tmp_path_factory.mktemp("release_reduite")
    release = release_charente(
        dossier, garder=("nb_lieux", "lieux_pour_10k_hab"), orientation=False
    )
    html = build_report(release, "16", dossier / "rapports").read_text(encoding="utf-8")
    return html, analyser(html)


# ---------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------

SECTIONS = (
    "chiffres-cles",
    "priorites",
    "graphiques",
    "carte",
    "orientation",
    "indicateurs",
    "sources",
)


def test_page_is_french_structured_and_without_javascript(page_complete) -> None:
    _, html, racine = page_complete
    assert html.startswith("<!DOCTYPE html>")
    (page,) = racine.iter("html")
    assert page.attrs["lang"] == "fr"
    assert [h.texte() for h in racine.iter("h1")] == ["Inclusion numérique : Charente (16)"]
    titres = {h.attrs.get("id") for h in racine.iter("h2")}
    assert set(SECTIONS) <= titres
    assert not list(racine.iter("script")) and "javascript:" not in html.lower()
    ids = [e.attrs["id"] for e in racine.iter() if "id" in e.attrs]
    assert len(ids) == len(set(ids)), "duplicate ids (several inline SVGs)"


def test_every_table_has_a_caption_and_scoped_headers(page_complete) -> None:
    _, _, racine = page_complete
    tables = list(racine.iter("table"))
    assert len(tables) >= 6
    for table in tables:
        assert [c.tag for c in table.children][:1] == ["caption"], table.attrs
        colonnes = list(next(table.iter("thead")).iter("th"))
        assert colonnes and all(th.attrs.get("scope") == "col" for th in colonnes)
        for th in next(table.iter("tbody")).iter("th"):
            assert th.attrs.get("scope") == "row"


def test_charts_and_map_are_inline_svg_with_title_and_desc(page_complete) -> None:
    _, _, racine = page_complete
    svgs = list(racine.iter("svg"))
    assert len(svgs) == 4  # need vs supply, fragility, distances, map
    for svg in svgs:
        premiers = [c.tag for c in svg.children][:2]
        assert premiers == ["title", "desc"]
        titre, desc = svg.children[0], svg.children[1]
        assert svg.attrs["role"] == "img"
        assert svg.attrs["aria-labelledby"] == f"{titre.attrs['id']} {desc.attrs['id']}"
        assert len(desc.texte()) > 80  # says what the chart shows, with figures
        assert "viewbox" in svg.attrs and "width" not in svg.attrs
    carte = par_id(racine, "carte-desc").texte()
    assert "Pleuville (131)" in carte and "Courbes" not in carte  # most fragile, real IFN
    fragilite = par_id(racine, "fragilite-desc").texte()
    assert "12 communes" in fragilite  # the 13th has no fragility value


def test_text_from_the_data_is_escaped(page_complete) -> None:
    _, html, racine = page_complete
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Cie" in html or (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Cie" in html
    )
    communes = lignes(par_id(racine, "tableau-communes"))
    assert any(MECHANT in ligne for ligne in communes)  # read back as text, intact
    sources = lignes(par_id(racine, "tableau-sources"))
    assert any(
        "Recensement 2017 : parts <des 65 ans> & plus insee__rp2017_parts" in s[0] for s in sources
    )


def test_key_figures_with_interval_and_france(page_complete) -> None:
    _, _, racine = page_complete
    chiffres = {
        dl_div.children[0].texte(): [dd.texte() for dd in dl_div.children[1:]]
        for dl_div in next(racine.iter("dl")).children
    }
    assert chiffres["Population municipale"] == [
        f"352{NNBSP}683",
        f"France : 68{NNBSP}350{NNBSP}798",
    ]
    besoin = next(v for k, v in chiffres.items() if "illectronisme (estimation)" in k)
    assert besoin[:2] == [f"54{NNBSP}167", f"intervalle à 95 % : 51{NNBSP}398 à 56{NNBSP}935"]
    assert besoin[2] == "France : inconnu"  # unknown, never 0
    taux = next(v for k, v in chiffres.items() if k.startswith("Part estimée"))
    assert taux[:2] == [f"18,6{NNBSP}%", f"intervalle à 95 % : 17,6{NNBSP}% à 19,5{NNBSP}%"]
    fragilite = next(v for k, v in chiffres.items() if "fragilité" in k)
    assert fragilite == ["109", "France : 100"]


def test_communes_ranked_by_published_priority(page_complete) -> None:
    _, _, racine = page_complete
    table = par_id(racine, "tableau-communes")
    assert entetes(table)[:4] == ["Rang", "Territoire", "EPCI", "Population"]
    rangs = [(ligne[0], ligne[1]) for ligne in lignes(table)]
    attendu = communes().sort("rang_priorite")
    assert rangs == [
        (str(int(r)), n) for r, n in attendu.select("rang_priorite", "nom").iter_rows()
    ]
    assert rangs[:3] == [("4", "La Couronne"), ("6", "Angoulême"), ("8", "Soyaux")]
    assert "Rang de priorité publié" in par_id(racine, "priorites").parent.texte()


def test_epci_ranked_by_need_per_place(page_complete) -> None:
    """No published rank for EPCI: need / (places for procedures + 1), computed here too."""
    _, _, racine = page_complete
    c = communes()
    attendu = (
        c.group_by("code_epci")
        .agg(pl.col("nb_illectronisme").sum(), pl.col("nb_lieux_demarches").sum())
        .with_columns(
            (pl.col("nb_illectronisme") / (pl.col("nb_lieux_demarches") + 1)).alias("score"),
            pl.col("code_epci").replace_strict(EPCI).alias("nom"),
        )
        .sort("score", descending=True)
    )
    table = par_id(racine, "tableau-groupes")
    assert [ligne[1] for ligne in lignes(table)] == attendu["nom"].to_list()
    assert [ligne[0] for ligne in lignes(table)] == [str(i) for i in range(1, attendu.height + 1)]


def test_least_served_communes_with_their_nearest_help(page_complete) -> None:
    _, _, racine = page_complete
    section = par_id(racine, "orientation").parent
    communes_listees = [h.texte() for h in section.iter("h3")]
    # no row for procedures first (unknown is not near), then the farthest
    assert communes_listees[0].endswith("(16999)")
    assert communes_listees[1:3] == ["Pleuville (16264)", "Saint-Christophe (16306)"]
    pleuville = par_id(racine, "orientation-16264").parent
    table = next(
        t for t in pleuville.iter("table") if "Aide la plus proche de Pleuville" in t.texte()
    )
    rows = lignes(table)
    assert [r[0] for r in rows] == [
        DEMARCHES,
        DEMARCHES,
        "France Services",
        "Conseillers numériques",
    ]
    assert rows[0][2] == "France services Champagne Mouton"
    assert rows[0][4] == "13,1 km" and rows[1][4] == "16,0 km"
    assert rows[0][5] == "lun.-ven. 09:00-12:00, 13:30-16:00 ; mar. 09:00-12:00"
    assert rows[1][6] == "non renseigné"
    autres = next(t for t in pleuville.iter("table") if "Autres services" in t.texte())
    assert lignes(autres)[0][2] == "Bus France Services - [Place du Champ de foire] (itinérant)"


def test_every_indicator_of_the_release_is_listed_with_its_label(page_complete) -> None:
    _, _, racine = page_complete
    table = par_id(racine, "tableau-indicateurs")
    codes = {ligne[1] for ligne in lignes(table)}
    assert {"nb_illectronisme", "rang_priorite", "distance_france_services_km"} <= codes
    dictionnaire = yaml.safe_load((PROJECT_ROOT / "schemas/indicateurs.yaml").read_text())
    par_code = {ligne[1]: ligne for ligne in lignes(table)}
    assert par_code["nb_lieux"][0] == dictionnaire["nb_lieux"]["libelle"]
    assert par_code["nb_lieux"][2] == "193" and par_code["nb_lieux"][3] == "inconnu"
    millesimes = {"cog__communes": " (2026)", "insee__rp2017_parts": " (2017)"}  # SOURCES
    sources = dictionnaire["nb_illectronisme"]["sources"]
    assert par_code["nb_illectronisme"][5] == ", ".join(
        f"{s}{millesimes.get(s, '')}" for s in sources
    )


def test_missing_indicators_are_announced_not_failed(page_reduite) -> None:
    html, racine = page_reduite
    for code in ("nb_illectronisme", "ifn_score_global_fr", "distance_france_services_km"):
        assert f"<code>{code}</code>" in html
    assert html.count("Indicateur non disponible dans cette release") >= 6
    assert [s.children[0].texte() for s in racine.iter("svg")] == [
        "Carte des communes : Charente (16)"  # the map still shows where communes are
    ]
    assert "Indice de fragilité non disponible" in par_id(racine, "carte-desc").texte()
    assert "classement par offre croissante" in html
    orientation = par_id(racine, "orientation").parent.texte()
    assert "table d'orientation" in orientation.lower()
    table = par_id(racine, "tableau-communes")
    assert entetes(table)[-1] == "Lieux de médiation numérique pour 10 000 habitants"
    valeurs = [ligne[-1] for ligne in lignes(table)]
    assert valeurs[0] == "0,0" and valeurs[-1] == "22,0"  # Confolens, 6 places, 2 730 inhab.


def test_page_for_a_user_zoning(tmp_path: Path) -> None:
    release = release_charente(tmp_path, zonage=True)
    chemin = build_report(release, "16", tmp_path / "rapports", zonage="reseaux")
    assert chemin.name == "departement_16_zonage_reseaux.html"
    racine = analyser(chemin.read_text(encoding="utf-8"))
    assert "zonage « reseaux »" in next(racine.iter("h1")).texte()
    zones = lignes(par_id(racine, "tableau-groupes"))
    assert sorted(z[1] for z in zones) == ["Réseau Nord <Confolentais>", "Réseau Sud"]
    table = (
        par_id(racine, "tableau-communes-toutes") if False else par_id(racine, "tableau-communes")
    )
    assert entetes(table)[2] == "Zone"
    zone_de = {ligne[1]: ligne[2] for ligne in lignes(table)}
    assert zone_de["Pleuville"] == "Réseau Nord <Confolentais>"
    assert zone_de["Cognac"] == "Réseau Sud"
    with pytest.raises(ReportError, match=r"'inconnu'.*reseaux"):
        build_report(release, "16", tmp_path / "rapports", zonage="inconnu")


@pytest.mark.parametrize("code", ["16 ", "1", "99", "2C", "../16", ""])
def test_bad_departement_codes_are_refused(tmp_path: Path, code: str) -> None:
    release = release_charente(tmp_path, garder=("nb_lieux",), orientation=False)
    with pytest.raises(ReportError):
        build_report(release, code, tmp_path / "rapports")


def test_departement_absent_from_release(tmp_path: Path) -> None:
    release = release_charente(tmp_path, garder=("nb_lieux",), orientation=False)
    with pytest.raises(ReportError, match="17"):
        build_report(release, "17", tmp_path / "rapports")


def test_index_lists_departements_and_links_drawn_pages(page_complete) -> None:
    chemin, _, _ = page_complete
    racine = analyser((chemin.parent / "index.html").read_text(encoding="utf-8"))
    rows = lignes(par_id(racine, "tableau-departements"))
    assert [r[:3] for r in rows] == [["16", "Charente", f"352{NNBSP}683"]]
    liens = [a.attrs["href"] for a in racine.iter("a") if not a.attrs["href"].startswith("#")]
    assert liens == ["departement_16.html"]
    assert (chemin.parent / liens[0]).is_file()
    # the national map: every département drawn, only Charente has a value in this release
    (svg,) = list(racine.iter("svg"))
    assert [c.tag for c in svg.children][:2] == ["title", "desc"]
    departements = {e.attrs["data-code"]: e for e in svg.iter("path") if "data-code" in e.attrs}
    assert len(departements) == 101 and "2A" in departements and "976" in departements
    assert [c for c, e in departements.items() if not e.attrs["fill"].startswith("url(")] == ["16"]
    assert "100 départements sans valeur" in par_id(racine, "carte-france-desc").texte()


@pytest.mark.parametrize(
    ("code", "valeur", "attendu"),
    [
        ("nb_illectronisme", 54166.58, f"54{NNBSP}167"),
        ("taux_illectronisme", 0.185835, f"18,6{NNBSP}%"),
        ("part_pop_lieu_demarches_plus_10km", 0.0061, f"0,6{NNBSP}%"),
        ("distance_france_services_km", 13.054708, f"13,1{NNBSP}km"),
        ("lieux_pour_10k_hab", 5.472336, "5,5"),
        ("ifn_score_global_fr", 108.82, "109"),
        ("rang_priorite", 4.0, "4"),
        ("illectronisme_par_lieu_demarches", 338.541, "339"),  # people: no decimals
        ("illectronisme_par_conseiller_numerique", 7738.083, f"7{NNBSP}738"),
        ("ifn_nb_variables_imputees", 1.0, "1"),  # a count, not "1,00"
        ("nb_lieux", None, "inconnu"),
        ("nb_lieux", float("nan"), "inconnu"),
        ("nb_lieux", 0.0, "0"),  # a known zero stays zero
    ],
)
def test_formater(code: str, valeur: float | None, attendu: str) -> None:
    assert formater(code, valeur) == attendu


def test_nombre_and_horaires() -> None:
    assert nombre(1234567.891, 2) == f"1{NNBSP}234{NNBSP}567,89"
    assert nombre(-0.5, 1) == "-0,5"
    assert horaires_fr("Mo-Fr 08:30-12:30; Sa off; PH off") == (
        "lun.-ven. 08:30-12:30 ; sam. fermé ; jours fériés fermé"
    )
    assert horaires_fr("Mo 09:00-12:30,14:00-17:00;Tu 09:00-12:30") == (
        "lun. 09:00-12:30, 14:00-17:00 ; mar. 09:00-12:30"
    )
    assert horaires_fr(None) == "non renseigné"


# ---------------------------------------------------------------------------------------------
# Real release, and the page in a browser
# ---------------------------------------------------------------------------------------------


@pytest.mark.real_data
def test_real_charente_report(pipeline_run, tmp_path: Path) -> None:
    """The page of the release of the bundled data: every commune of Charente is ranked, the
    population is the release's, and the sections are there whatever indicators it holds."""
    _settings, outcome = pipeline_run
    release = outcome.release
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    chemin = build_report(release, "16", tmp_path)
    racine = analyser(chemin.read_text(encoding="utf-8"))
    territoires = pl.concat(
        [pl.read_parquet(release / f["path"]) for f in manifest["tables"]["territoires"]["files"]],
        how="diagonal_relaxed",
    )
    communes_16 = territoires.filter(
        pl.col("niveau") == "commune", pl.col("code_departement") == "16"
    )
    toutes = lignes(par_id(racine, "tableau-communes-toutes"))
    assert sorted(r[1] for r in toutes) == sorted(communes_16["nom"].to_list())
    population = territoires.filter(pl.col("niveau") == "departement", pl.col("code") == "16")
    attendu = nombre(population["population"].item())
    assert attendu in next(racine.iter("dl")).texte()
    assert {h.attrs.get("id") for h in racine.iter("h2")} >= set(SECTIONS)
    assert len(list(racine.iter("svg"))) >= 1
    assert (tmp_path / "index.html").is_file()
    # the map: every commune of Charente drawn exactly once from its contour
    dessinees = [e.attrs["data-code"] for e in racine.iter("path") if "data-code" in e.attrs]
    assert len(dessinees) == 359
    assert sorted(dessinees) == sorted(communes_16["code"].to_list())
    # indicators defined for communes only say so at the département and France, never
    # "inconnu / inconnu" (the release has no row for them at those levels)
    par_code = {ligne[1]: ligne for ligne in lignes(par_id(racine, "tableau-indicateurs"))}
    communales = [c for c in par_code if c.startswith("ifn_") and c.endswith("_dep")]
    communales += ["ifn_nb_variables_imputees", "rang_priorite", "priorite_decile_national"]
    assert len(communales) == 8
    for code in communales:
        assert par_code[code][2:4] == ["sans objet à ce niveau"] * 2, code
    assert not [c for c, ligne in par_code.items() if ligne[2:4] == ["inconnu", "inconnu"]]
    # supply: only Charente's registry of places is bundled, its national figure is unknown
    # (coverage rule) or marked not comparable; the national France Services list is comparable
    indicateurs = pl.concat(
        [pl.read_parquet(release / f["path"]) for f in manifest["tables"]["indicateurs"]["files"]],
        how="diagonal_relaxed",
    )
    fs = indicateurs.filter(
        pl.col("niveau") == "france",
        pl.col("indicateur") == "nb_france_services",
        pl.col("annee") == 2022,
    )["valeur"].item()
    assert par_code["nb_france_services"][3] == f"{int(fs):,}".replace(",", NNBSP)  # a count
    # a rate per 10,000 inhabitants: the release's value with one decimal, in French
    demarches = indicateurs.filter(
        pl.col("niveau") == "departement",
        pl.col("code") == "16",
        pl.col("indicateur") == "lieux_demarches_pour_10k_hab",
    ).sort("annee")["valeur"][-1]
    assert 3 < demarches < 6  # Charente: about 150 places for procedures, 350,000 inhabitants
    assert par_code["lieux_demarches_pour_10k_hab"][2] == f"{demarches:.1f}".replace(".", ",")


def chromium_ou_saut() -> str:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium n'est pas installé (apt-get install -y chromium)")
    return chromium


def capture(chromium: str, page: Path, sortie: Path, largeur: int, hauteur: int) -> None:
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",  # CI runs as root in a container
            "--disable-gpu",
            f"--screenshot={sortie}",
            f"--window-size={largeur},{hauteur}",
            page.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )


def test_page_renders_in_headless_chromium(page_complete, tmp_path: Path) -> None:
    chromium = chromium_ou_saut()
    chemin, _, _ = page_complete
    capture_page = tmp_path / "rapport.png"
    capture(chromium, chemin, capture_page, 1280, 2000)
    assert capture_page.stat().st_size > 20_000
    image = matplotlib.image.imread(capture_page)
    assert image.shape[:2] == (2000, 1280)
    gris = image[..., :3].mean(axis=2)
    assert (gris < 0.5).mean() > 0.01  # text and charts drawn, not a blank page
    assert gris.std() > 0.1


@pytest.mark.real_data
def test_charente_map_renders_in_headless_chromium(pipeline_run, tmp_path: Path) -> None:
    """The map of the real Charente report, with the page's own styles, in Chromium: the
    colours of its classes cover the map area where the communes are."""
    chromium = chromium_ou_saut()
    _settings, outcome = pipeline_run
    html = build_report(outcome.release, "16", tmp_path).read_text(encoding="utf-8")
    debut = html.index('<figure id="figure-carte">')
    figure = html[debut : html.index("</figure>", debut) + len("</figure>")]
    page = tmp_path / "carte.html"
    page.write_text(
        html[: html.index("<body")] + '<body style="margin:0">' + figure + "</body></html>",
        encoding="utf-8",
    )
    capture_carte = tmp_path / "carte.png"
    capture(chromium, page, capture_carte, 1000, 760)
    image = (matplotlib.image.imread(capture_carte)[..., :3] * 255).round().astype(int)
    zone = image[:700, :690]  # the map, left of its legend (viewBox 1000 wide = 1000 px)
    assert (zone.sum(axis=2) < 3 * 250).mean() > 0.4  # mostly painted, not a blank page
    remplissages = [
        e.attrs["fill"] for e in analyser(figure).iter("path") if "data-code" in e.attrs
    ]
    assert len(remplissages) == 359
    for couleur, nombre_communes in Counter(remplissages).items():
        if nombre_communes < 20 or not couleur.startswith("#"):
            continue
        rgb = [int(couleur[i : i + 2], 16) for i in (1, 3, 5)]
        pixels = (abs(zone - rgb).max(axis=2) <= 3).sum()
        assert pixels > 40 * nombre_communes, couleur  # each commune is dozens of pixels


def test_orientation_without_the_procedures_criterion(tmp_path: Path) -> None:
    """An orientation table that has no row for help with procedures in the département:
    said plainly, not a list of communes wrongly called unserved."""
    sans = orientation_frame().filter(pl.col("critere") != DEMARCHES)
    liste, methode = moins_desservies(
        communes(), ouvrir_release(release_charente(tmp_path, orientation=sans))
    )
    assert liste == [] and DEMARCHES in methode
    liste, _ = moins_desservies(communes(), ouvrir_release(release_charente(tmp_path / "b")))
    assert [c.code for c in liste][:3] == ["16999", "16264", "16306"]


def test_without_the_contours_file_the_maps_are_announced_missing(tmp_path: Path) -> None:
    release = release_charente(tmp_path, garder=("nb_lieux", "lieux_pour_10k_hab"))
    chemin = build_report(release, "16", tmp_path / "rapports", contours=tmp_path / "absent")
    racine = analyser(chemin.read_text(encoding="utf-8"))
    assert "Contours des communes non disponibles" in par_id(racine, "carte").parent.texte()
    assert not [s for s in racine.iter("svg") if s.attrs.get("class") == "carte"]
    index = analyser((chemin.parent / "index.html").read_text(encoding="utf-8"))
    assert not list(index.iter("svg"))
