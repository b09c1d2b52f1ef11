"""The report's map: scales and legend on values worked out by hand, then the real Charente
drawn from the bundled contours (parsed as XML: every commune exactly once)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from itertools import pairwise

import numpy as np
import polars as pl
import pytest

from observatory.publish import carte
from observatory.publish.report import formater, lire_contours
from observatory.transforms import contours as ct
from tests.conftest import ASSETS

SVG = "{http://www.w3.org/2000/svg}"
NNBSP = "\u202f"
CONTOURS = ASSETS / "ign_contours_communes/contours_communes_2025.parquet"


def lire(svg: str) -> tuple[ET.Element, dict[str, ET.Element]]:
    """The parsed SVG and its territories' paths by `data-code`, in drawing order."""
    racine = ET.fromstring(svg)
    return racine, {p.get("data-code"): p for p in racine.iter(f"{SVG}path") if p.get("data-code")}


def ifn(valeur: float) -> str:
    return formater("ifn_score_global_fr", valeur)


@pytest.mark.parametrize(
    ("valeur", "attendu"),
    [(0.18583, 0.19), (1234.5, 1200.0), (-0.0371, -0.037), (0.0, 0.0), (7.0, 7.0)],
)
def test_arrondi_lisible(valeur: float, attendu: float) -> None:
    assert carte.arrondi_lisible(valeur) == pytest.approx(attendu)


@pytest.mark.parametrize(
    ("ecart", "pas"), [(3.2, 5.0), (5.0, 5.0), (0.7, 1.0), (11.0, 20.0), (2.1, 2.5), (0.0, 1.0)]
)
def test_pas_regulier(ecart: float, pas: float) -> None:
    assert carte.pas_regulier(ecart) == pas


def test_fragility_scale_is_centred_on_100() -> None:
    # 95 % of the values within 14 of 100 → a step of 5: bounds 85, 90, …, 115
    valeurs = np.array([86.0, 92.0, 99.0, 101.0, 104.0, 108.0, 113.0, 114.0, np.nan])
    echelle = carte.echelle_divergente(valeurs, ifn, 100.0)
    assert echelle.centre == 100.0
    assert [c.libelle for c in echelle.classes] == [
        "moins de 85", "85 à 90", "90 à 95", "95 à 100",
        "100 à 105", "105 à 110", "110 à 115", "115 ou plus",
    ]  # fmt: skip
    indices = [echelle.indice(v) for v in valeurs]
    assert indices == [1, 2, 3, 4, 4, 5, 6, 6, None]
    # below the reference in blues, above in reds
    assert [c.couleur for c in echelle.classes[:4]] == list(carte.DIVERGENTE[:4])
    assert echelle.classes[4].couleur.startswith("#f") and echelle.classes[7].couleur == "#b2182b"


def test_sequential_scale_in_french_with_quantile_classes() -> None:
    # quantiles at 20, 40, 60, 80 %: 0, 1.98, 5.26, 14.32 → bounds 2.0, 5.3, 14 (a bound equal
    # to the minimum would leave its class empty: dropped)
    valeurs = np.array([0.0, 0.0, 0.0, 1.2, 2.5, 3.9, 7.3, 12.8, 20.4, 31.0, np.nan])
    echelle = carte.echelle_sequentielle(valeurs, lambda v: formater("distance_x_km", v))
    km = f"{NNBSP}km"
    assert [c.libelle for c in echelle.classes] == [
        f"moins de 2,0{km}",
        f"2,0{km} à 5,3{km}",
        f"5,3{km} à 14,0{km}",
        f"14,0{km} ou plus",
    ]
    assert [echelle.indice(v) for v in valeurs] == [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, None]
    couleurs = [c.couleur for c in echelle.classes]
    assert couleurs == [carte.SEQUENTIELLE[i] for i in (0, 2, 3, 5)]  # light to dark
    milliers = carte.echelle_sequentielle(np.array([900.0, 5400.0, 12000.0, 54000.0]), str)
    assert [c.bas for c in milliers.classes] == [None, 3600.0, 6700.0, 11000.0, 29000.0]


def carre(code: str, x0: float) -> dict:
    xs, ys = [x0, x0 + 0.1, x0 + 0.1, x0], [45.0, 45.0, 45.1, 45.1]
    return {
        "code_commune": code,
        "partie": 0,
        "anneau": 0,
        "lon_e5": [round(x * ct.ECHELLE) for x in xs],
        "lat_e5": [round(y * ct.ECHELLE) for y in ys],
    }


def test_unknown_values_are_hatched_and_names_escaped() -> None:
    contours = pl.DataFrame(
        [carre("A", 0.0), carre("B", 0.1), carre("C", 0.2)],
        schema=ct.SCHEMA,
    )
    communes = pl.DataFrame(
        {
            "code_commune": ["A", "B", "C"],
            "nom": ["Ana", "<b>Bé</b> & Cie", "Cé"],
            "valeur": [95.0, None, 120.0],
            "groupe": ["e1", "e1", "e2"],
            "population": [10, 20, 30],
            "latitude": [45.05, 45.05, 45.05],
            "longitude": [0.05, 0.15, 0.25],
        }
    )
    echelle = carte.echelle_divergente(communes["valeur"].to_numpy(), ifn, 100.0)
    svg = carte.carte_choroplethe(
        contours,
        communes,
        echelle,
        carte.Textes("c", "Titre <x>", "Description", "Indice"),
        formater=ifn,
        lieux=pl.DataFrame({"latitude": [45.02], "longitude": [0.12]}),
    )
    racine, paths = lire(svg)  # well-formed XML: every data text escaped
    assert [e.tag for e in racine][:2] == [f"{SVG}title", f"{SVG}desc"]
    assert racine.find(f"{SVG}title").text == "Titre <x>"
    assert list(paths) == ["A", "B", "C"]
    assert paths["B"].get("fill") == "url(#c-inconnu)"
    assert paths["B"].find(f"{SVG}title").text == "<b>Bé</b> & Cie : valeur inconnue"
    assert paths["A"].get("fill") == echelle.classes[echelle.indice(95.0)].couleur
    legende = " ".join(t.text or "" for t in racine.iter(f"{SVG}text"))
    assert "valeur inconnue (1)" in legende and "lieu de médiation numérique (1)" in legende
    assert "échelle centrée sur 100 (référence)" in legende and "limite d'EPCI" in legende
    # the border between the two EPCI (x = 0.2) is drawn, the one inside e1 (x = 0.1) is not
    groupes = next(p for p in racine.iter(f"{SVG}path") if p.get("class") == "limites-groupes")
    verticaux = set()
    for ligne in groupes.get("d").split("M")[1:]:
        xy = [float(v) for v in ligne.split()]
        points = list(zip(xy[0::2], xy[1::2], strict=True))
        verticaux |= {a[0] for a, b in pairwise(points) if a[0] == b[0]}
    assert len(verticaux) == 3  # west outline, x = 0.2, east outline
    x_groupes = sorted(verticaux)[1]
    cadre = ct.cadrage(contours, carte.LARGEUR_CARTE, carte.HAUTEUR_MAX, marge=6.0)
    x_02 = ct.projeter_points(pl.DataFrame({"latitude": [45.0], "longitude": [0.2]}), cadre)
    assert x_groupes == pytest.approx(x_02["x"].item())
    (lieux,) = [g for g in racine.iter(f"{SVG}g") if g.get("class") == "lieux"]
    assert len(list(lieux)) == 1


def longueur(d: str) -> float:
    """Length of a path of `M x y x y …` polylines."""
    total = 0.0
    for ligne in d.split("M")[1:]:
        xy = [float(v) for v in ligne.split()]
        points = list(zip(xy[0::2], xy[1::2], strict=True))
        total += sum(np.hypot(b[0] - a[0], b[1] - a[1]) for a, b in pairwise(points))
    return total


@pytest.mark.real_data
def test_every_commune_of_charente_is_drawn_exactly_once(communes, coordonnees) -> None:
    charente = (
        communes.filter(pl.col("code_departement") == "16")
        .join(coordonnees, on="code_commune", how="left")
        .select(
            "code_commune",
            "nom",
            (pl.col("population") / 1000.0).alias("valeur"),
            pl.col("code_epci").alias("groupe"),
            "population",
            "latitude",
            "longitude",
        )
    )
    assert charente.height == 359
    contours = lire_contours(CONTOURS, charente["code_commune"].to_list())
    echelle = carte.echelle_sequentielle(charente["valeur"].to_numpy(), str)
    textes = carte.Textes("carte", "Charente", "Population", "Population (milliers)")
    racine, paths = lire(carte.carte_choroplethe(contours, charente, echelle, textes, str))
    codes = [p.get("data-code") for p in paths.values()]
    assert len(codes) == len(set(codes)) == 359
    assert set(codes) == set(charente["code_commune"])
    couleurs = {c.couleur for c in echelle.classes}
    fills = [p.get("fill") for p in paths.values()]
    assert set(fills) == couleurs  # every class used, no commune unknown
    # 9 EPCI in Charente: their borders are the département's outline and more
    assert charente["groupe"].n_unique() == 9
    traits = {p.get("class"): p.get("d") for p in racine.iter(f"{SVG}path") if p.get("class")}
    assert longueur(traits["limites-groupes"]) > 1.5 * longueur(traits["limite-territoire"])
    x_max = max(float(v) for v in re.findall(r"[\d.]+", traits["limite-territoire"])[0::2])
    assert x_max <= carte.LARGEUR_CARTE
    (noms,) = [g for g in racine.iter(f"{SVG}g") if g.get("class") == "noms"]
    ecrits = [t.text for t in noms]
    assert ecrits[:2] == ["Angoulême", "Cognac"]  # the two most populous
    assert 3 <= len(ecrits) <= carte.NB_NOMS


def test_names_that_would_overlap_are_left_out() -> None:
    noms = [("Grande", 100.0, 100.0), ("Voisine", 110.0, 104.0), ("Loin", 300.0, 100.0)]
    assert [n for n, _, _ in carte.sans_chevauchement(noms)] == ["Grande", "Loin"]


@pytest.mark.real_data
def test_france_map_draws_each_departement_once_with_the_drom_in_insets(communes) -> None:
    contours = pl.read_parquet(CONTOURS).rename({"code_insee": "code_commune"})
    departements = ct.departements(contours)
    codes = sorted(communes["code_departement"].unique())
    assert len(codes) == 101 and departements["code_commune"].unique().sort().to_list() == codes
    valeurs = pl.DataFrame(
        {"code_commune": ["16", "974"], "nom": ["Charente", "La Réunion"], "valeur": [109.0, 141.0]}
    )
    echelle = carte.echelle_divergente(valeurs["valeur"].to_numpy(), ifn, 100.0)
    textes = carte.Textes("f", "France", "Départements", "Indice")
    racine, paths = lire(carte.carte_france(departements, valeurs, echelle, textes, ifn))
    assert sorted(paths) == codes
    encarts = [g for g in racine.iter(f"{SVG}g") if g.get("class") == "encart"]
    assert [g.find(f"{SVG}text").text for g in encarts] == [n for _, n in carte.DROM]
    assert paths["974"] in list(encarts[3]) and paths["16"] not in list(encarts[3])
    assert paths["16"].get("fill") == echelle.classes[echelle.indice(109.0)].couleur
    assert sum(p.get("fill") == "url(#f-inconnu)" for p in paths.values()) == 99
    legende = " ".join(t.text or "" for t in racine.iter(f"{SVG}text"))
    assert "valeur inconnue (99)" in legende and "km (métropole)" in legende
