"""Peer for the compute-core benchmark: the indicators in idiomatic, vectorised pandas.

    python bench/pandas_baseline.py --warehouse DIR/warehouse [--repetitions 5] [--check]

What a good data team would write from the same int__ tables (merges, group-bys, vectorised
string tests, a scipy cKDTree per search zone; no row loops): nearest place per commune
(`int__acces_communes`), then `ind_acces`, `ind_offre`, `ind_offre_detail`, `ind_besoin`
(commune estimates summed upward, interval rebuilt from the summed components),
`ind_fragilite` (La Mednum's index against France and against the département) and
`ind_ecart`. Only the reference-rate table is read with the package (`need.taux_reference`):
it is configuration, not computation. `--check` compares every output with the polars
pipeline's functions (bench/core.py) and prints the agreement.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
from scipy.spatial import cKDTree

from observatory.settings import PROJECT_ROOT
from observatory.transforms import fragility_scores, need, need_interval
from observatory.transforms.couverture import COLONNES_MODELE

RAYON_KM = 6371.0088
TAUX = PROJECT_ROOT / "assets/insee_illectronisme/taux_illectronisme.csv"
TABLES = (
    "int__territoires",
    "int__appartenances",
    "int__lieux",
    "int__statistiques_communes",
    "int__besoin_communes",
    "int__couverture_sources",
    "int__filosofi_territoires",
)
COLONNES = list(COLONNES_MODELE)
ANNEE_FS = 2022
ANNEE_IFN = 2019


def load(warehouse: Path) -> dict[str, pd.DataFrame]:
    """The inputs as pandas frames (pyarrow-backed strings would change timings; numpy)."""
    return {t: pd.read_parquet(warehouse / f"{t}.parquet") for t in TABLES}


def _a_le_jeton(serie: pd.Series, valeur: str) -> pd.Series:
    """True where the `|`-separated field holds `valeur` (tokens stripped)."""
    motif = r"(?:^|\|)\s*" + valeur.replace("(", r"\(").replace(")", r"\)") + r"\s*(?:\||$)"
    return serie.str.contains(motif, regex=True, na=False)


def _zone(codes: pd.Series) -> pd.Series:
    zone = np.where(
        codes.str.startswith("97"),
        codes.str[:3],
        np.where(codes.str.startswith(("2A", "2B")), "corse", "metropole"),
    )
    return pd.Series(zone, index=codes.index)


def _xyz(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    phi, lam = np.radians(lat), np.radians(lon)
    return np.column_stack((np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)))


def _haversine(lat1, lon1, lat2, lon2) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * RAYON_KM * np.arcsin(np.sqrt(a))


def acces_communes(d: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Distance of every commune to the nearest place of each target, with its status."""
    t = d["int__territoires"]
    communes = t.loc[t["niveau"] == "commune", ["code", "latitude", "longitude"]].rename(
        columns={"code": "code_commune"}
    )
    communes["zone"] = _zone(communes["code_commune"])
    a_point = communes["latitude"].notna() & communes["longitude"].notna()
    lieux = d["int__lieux"]
    fs = _a_le_jeton(lieux["dispositif_programmes_nationaux"], "France Services")
    cibles = {
        "lieu_demarches": _a_le_jeton(lieux["services"], "Aide aux démarches administratives") | fs,
        "france_services": fs,
    }
    points = communes.set_index("code_commune")[["latitude", "longitude"]]
    frames = []
    for cible, masque in cibles.items():
        lx = lieux.loc[masque, ["id", "code_commune", "latitude", "longitude"]]
        propre = lx["latitude"].notna() & lx["longitude"].notna()
        repli = points.reindex(lx["code_commune"]).to_numpy()
        lat = np.where(propre, lx["latitude"], repli[:, 0])
        lon = np.where(propre, lx["longitude"], repli[:, 1])
        lx = lx.assign(_lat=lat, _lon=lon, zone=_zone(lx["code_commune"]).to_numpy())
        lx = lx[lx["_lat"].notna()].sort_values("id")
        res = communes[["code_commune"]].copy()
        res["distance_km"] = np.nan
        res["id_lieu"] = None
        res["code_commune_lieu"] = None
        for zone, groupe in lx.groupby("zone"):
            q = communes[a_point & (communes["zone"] == zone)]
            if q.empty:
                continue
            _, voisin = cKDTree(_xyz(groupe["_lat"], groupe["_lon"])).query(
                _xyz(q["latitude"], q["longitude"]), k=1
            )
            proche = groupe.iloc[voisin]
            res.loc[q.index, "distance_km"] = _haversine(
                q["latitude"].to_numpy(),
                q["longitude"].to_numpy(),
                proche["_lat"].to_numpy(),
                proche["_lon"].to_numpy(),
            )
            res.loc[q.index, "id_lieu"] = proche["id"].to_numpy()
            res.loc[q.index, "code_commune_lieu"] = proche["code_commune"].to_numpy()
        heberge = (
            lieux.loc[masque, ["code_commune", "id"]]
            .sort_values("id")
            .drop_duplicates("code_commune")
            .set_index("code_commune")["id"]
        )
        dedans = res["code_commune"].isin(heberge.index)
        res.loc[dedans, "distance_km"] = 0.0
        res.loc[dedans, "id_lieu"] = heberge.reindex(res.loc[dedans, "code_commune"]).to_numpy()
        res.loc[dedans, "code_commune_lieu"] = res.loc[dedans, "code_commune"]
        res["statut"] = np.select(
            [dedans, res["distance_km"].notna(), ~a_point],
            ["dans_la_commune", "calculee", "commune_sans_coordonnees"],
            "aucun_lieu_dans_la_zone",
        )
        res["cible"] = cible
        frames.append(res)
    out = pd.concat(frames, ignore_index=True)
    out["annee"] = ANNEE_FS
    return out.sort_values(["code_commune", "cible"], ignore_index=True)


def _population_communes(d: dict[str, pd.DataFrame]) -> pd.DataFrame:
    t = d["int__territoires"]
    return t.loc[t["niveau"] == "commune", ["code", "population"]].rename(
        columns={"code": "code_commune"}
    )


def _long(base: pd.DataFrame, indicateur, valeur, couverture, annee) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "niveau": base["niveau"].to_numpy(),
            "code": base["code"].to_numpy(),
            "indicateur": indicateur,
            "annee": annee,
            "valeur": valeur,
            "ic_bas": np.nan,
            "ic_haut": np.nan,
            "secret": False,
            "couverture": couverture,
        }
    )


def ind_acces(d: dict[str, pd.DataFrame], acces: pd.DataFrame) -> pd.DataFrame:
    c = acces.merge(_population_communes(d), on="code_commune")
    c = c.merge(d["int__appartenances"], on="code_commune")
    connue = c["distance_km"].notna()
    aucun = c["statut"] == "aucun_lieu_dans_la_zone"
    seuils = connue | aucun
    for prefixe, poids in (("pop", c["population"].astype(float)), ("nb", 1.0)):
        w = pd.Series(poids, index=c.index, dtype=float)
        c[f"{prefixe}"] = w
        c[f"{prefixe}_distance"] = w.where(connue, 0.0)
        c[f"{prefixe}_seuils"] = w.where(seuils, 0.0)
        c[f"{prefixe}_km"] = (w * c["distance_km"]).where(connue, 0.0)
        c[f"{prefixe}_10"] = w.where((c["distance_km"] > 10) | aucun, 0.0)
        c[f"{prefixe}_20"] = w.where((c["distance_km"] > 20) | aucun, 0.0)
    sommes = [
        f"{p}{s}" for p in ("pop", "nb") for s in ("", "_distance", "_seuils", "_km", "_10", "_20")
    ]
    g = c.groupby(["niveau", "code", "cible"], as_index=False).agg(
        annee=("annee", "max"), **{s: (s, "sum") for s in sommes}
    )
    habite = g["pop"] > 0

    def choix(suffixe: str) -> pd.Series:
        return g[f"pop{suffixe}"].where(habite, g[f"nb{suffixe}"])

    total = choix("")
    frames = []
    for nom, num, den in (
        ("distance_{}_km", choix("_km"), choix("_distance")),
        ("part_pop_{}_plus_10km", choix("_10"), choix("_seuils")),
        ("part_pop_{}_plus_20km", choix("_20"), choix("_seuils")),
    ):
        couvert = (den > 0) & (den >= 0.99 * total)
        valeur = (num / den).where(couvert)
        indicateur = g["cible"].map(lambda c, n=nom: n.format(c))
        frames.append(
            _long(
                g,
                indicateur.to_numpy(),
                valeur.to_numpy(),
                couvert.to_numpy(),
                g["annee"].to_numpy(),
            )
        )
    return pd.concat(frames, ignore_index=True)


def _par_territoire(d, communes: pd.DataFrame, cles: list[str]) -> pd.DataFrame:
    """Sum commune counts to every level; couverture = every commune covered."""
    m = d["int__appartenances"].merge(communes, on="code_commune")
    return m.groupby(["niveau", "code", *cles], as_index=False).agg(
        annee=("annee", "max"),
        nb=("nb", "sum"),
        population=("population", "sum"),
        couverture=("couvert", "all"),
    )


def _offre_lignes(g: pd.DataFrame, nb_nom, pour10k_nom) -> pd.DataFrame:
    nb = g["nb"].astype(float).where(g["couverture"])
    pour = (g["nb"].astype(float) * 10000.0 / g["population"]).where(
        g["couverture"] & (g["population"] > 0)
    )
    return pd.concat(
        [
            _long(g, nb_nom, nb.to_numpy(), g["couverture"].to_numpy(), g["annee"].to_numpy()),
            _long(
                g, pour10k_nom, pour.to_numpy(), g["couverture"].to_numpy(), g["annee"].to_numpy()
            ),
        ],
        ignore_index=True,
    )


def ind_offre(d: dict[str, pd.DataFrame]) -> pd.DataFrame:
    nb = d["int__lieux"].groupby("code_commune").size().rename("nb")
    cs = d["int__couverture_sources"]
    couv = cs.loc[cs["source"] == "mednum__lieux", ["code_commune", "couvert", "annee"]]
    communes = _population_communes(d).merge(couv, on="code_commune")
    communes["nb"] = communes["code_commune"].map(nb).fillna(0).astype("int64")
    g = _par_territoire(d, communes, [])
    return _offre_lignes(g, "nb_lieux", "lieux_pour_10k_hab")


# critère → (source of its coverage); kept in step with dbt_like_sql/indicators/ind_offre_detail
CRITERES_DETAIL = {
    "lieux_demarches": "france_services__lieux",
    "lieux_outils_quotidien": "conseillers_numeriques__lieux",
    "lieux_conseillers_numeriques": "conseillers_numeriques__lieux",
    "lieux_aidants_connect": "mednum__lieux",
    "lieux_itinerants": "mednum__lieux",
    "conseillers_numeriques": "conseillers_numeriques__lieux",
}


def _criteres_lieux(lieux: pd.DataFrame) -> pd.DataFrame:
    prog = lieux["dispositif_programmes_nationaux"]
    fs = ("|" + prog + "|").str.contains("|France Services|", regex=False, na=False)
    services = "|" + lieux["services"] + "|"
    drapeaux = {
        "lieux_demarches": services.str.contains(
            "|Aide aux démarches administratives|", regex=False, na=False
        )
        | fs,
        "lieux_outils_quotidien": services.str.contains(
            "|Maîtrise des outils numériques du quotidien|", regex=False, na=False
        ),
        "lieux_conseillers_numeriques": ("|" + prog + "|").str.contains(
            "|Conseillers numériques|", regex=False, na=False
        ),
        "lieux_aidants_connect": ("|" + prog + "|").str.contains(
            "|Aidants Connect|", regex=False, na=False
        ),
        "lieux_itinerants": lieux["itinerance"].eq("Itinérant"),
    }
    frames = [
        pd.DataFrame({"code_commune": lieux.loc[m, "code_commune"], "critere": k, "nb": 1})
        for k, m in drapeaux.items()
    ]
    cn = lieux["nb_conseillers"].notna()
    frames.append(
        pd.DataFrame(
            {
                "code_commune": lieux.loc[cn, "code_commune"],
                "critere": "conseillers_numeriques",
                "nb": lieux.loc[cn, "nb_conseillers"].astype("int64"),
            }
        )
    )
    return (
        pd.concat(frames, ignore_index=True)
        .groupby(["code_commune", "critere"], as_index=False)["nb"]
        .sum()
    )


def ind_offre_detail(d: dict[str, pd.DataFrame]) -> pd.DataFrame:
    criteres = pd.DataFrame(
        {"critere": list(CRITERES_DETAIL), "source": list(CRITERES_DETAIL.values())}
    )
    communes = _population_communes(d).merge(criteres, how="cross")
    communes = communes.merge(
        d["int__couverture_sources"][["source", "code_commune", "couvert", "annee"]],
        on=["code_commune", "source"],
    )
    communes = communes.merge(
        _criteres_lieux(d["int__lieux"]), on=["code_commune", "critere"], how="left"
    )
    communes["nb"] = communes["nb"].fillna(0).astype("int64")
    g = _par_territoire(d, communes, ["critere"])
    return _offre_lignes(g, "nb_" + g["critere"], g["critere"] + "_pour_10k_hab")


def ind_besoin(d: dict[str, pd.DataFrame], taux: need.TauxReference) -> pd.DataFrame:
    bandes = need.BANDES_AGE
    sommes = [
        "nb_15_ans_et_plus",
        "nb_illectronisme_age",
        "nb_illectronisme_diplome",
        "nb_illectronisme",
        "var_modele",
        *(f"sensibilite_{g}" for g in bandes),
    ]
    m = d["int__appartenances"].merge(d["int__besoin_communes"], on="code_commune")
    g = m.groupby(["niveau", "code"], as_index=False).agg(
        nb_communes=("nb_illectronisme", "size"),
        nb_connues=("nb_illectronisme", "count"),
        **{c: (c, "sum") for c in sommes},
    )
    var_ech = sum(g[f"sensibilite_{b}"] ** 2 * taux.erreur_type_age[b] ** 2 for b in bandes)
    et = np.sqrt(var_ech + g["var_modele"])
    n, p15 = g["nb_illectronisme"], g["nb_15_ans_et_plus"]
    bas = (n - need_interval.Z_95 * et).clip(lower=0)
    haut = np.minimum(n + need_interval.Z_95 * et, p15)
    couvert = g["nb_communes"] == g["nb_connues"]
    frames = []
    for nom, v, b, h in (
        ("nb_illectronisme", n, bas, haut),
        ("taux_illectronisme", n / p15, bas / p15, haut / p15),
    ):
        f = _long(g, nom, v.where(couvert).to_numpy(), couvert.to_numpy(), taux.millesime_age)
        f["ic_bas"] = b.where(couvert).to_numpy()
        f["ic_haut"] = h.where(couvert).to_numpy()
        frames.append(f)
    out = pd.concat(frames, ignore_index=True)
    return out.replace([np.inf, -np.inf], np.nan)


# IFN variables: code → (axe, sens), La Mednum's list (configuration read from the package).
VARIABLES_IFN = {v.code: (v.axe, v.sens) for v in fragility_scores.VARIABLES_IFN}


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    return (num / den).where(den > 0)


def entrees_communes(d: dict[str, pd.DataFrame]) -> pd.DataFrame:
    s = d["int__statistiques_communes"].merge(
        _population_communes(d).rename(columns={"population": "_pop"}),
        on="code_commune",
        how="left",
    )
    pop = s["_pop"].astype(float)
    p15_74 = s["nb_population"] - s["nb_0_14_ans"] - s["nb_75_ans_et_plus"]
    tp = s["taux_pauvrete_60"]
    de = s["nb_demandeurs_emploi_abc"].astype(float)
    comptes = {
        "part_locaux_sans_thd_30": (s["nb_locaux"] - s["nb_locaux_thd_30"], s["nb_locaux"]),
        "taux_pauvrete_60": (
            tp * s["nb_personnes_menages_fiscaux"],
            s["nb_personnes_menages_fiscaux"].where(tp.notna()),
        ),
        "part_menages_une_personne": (s["part_menages_une_personne"] * pop, pop),
        "part_familles_monoparentales": (s["part_familles_monoparentales"] * pop, pop),
        "part_15_29_ans": (s["nb_15_29_ans"], s["nb_population"]),
        "part_chomeurs": (de, p15_74.where(de.notna())),
        "part_65_ans_et_plus": (s["part_65_ans_et_plus"] * pop, pop),
        "part_peu_diplomes": (s["part_non_diplomes_15_ans_et_plus"] * pop, pop),
    }
    frames = []
    for code, (num, den) in comptes.items():
        num, den = num.astype(float), den.astype(float)
        v = _ratio(num, den)
        frames.append(
            pd.DataFrame(
                {
                    "code": s["code_commune"],
                    "variable": code,
                    "valeur": v,
                    "numerateur": num.where(v.notna()),
                    "denominateur": den.where(v.notna()),
                }
            )
        )
    frames.append(
        pd.DataFrame(
            {
                "code": s["code_commune"],
                "variable": "revenu_median_uc",
                "valeur": s["revenu_median_uc"].astype(float),
                "numerateur": np.nan,
                "denominateur": np.nan,
            }
        )
    )
    return pd.concat(frames, ignore_index=True)


def entrees_par_niveau(d: dict[str, pd.DataFrame], communes: pd.DataFrame) -> pd.DataFrame:
    app = d["int__appartenances"]
    app = app[app["niveau"] != "commune"]
    m = app.merge(communes, left_on="code_commune", right_on="code", suffixes=("", "_c"))
    m = m[~m["variable"].isin(["taux_pauvrete_60", "revenu_median_uc"])]
    g = m.groupby(["niveau", "code", "variable"], as_index=False)[
        ["numerateur", "denominateur"]
    ].sum()
    g["valeur"] = _ratio(g["numerateur"], g["denominateur"])
    f = d["int__filosofi_territoires"]
    f = f[f["niveau"].isin(["departement", "region"])]
    pers = f["nb_personnes_menages_fiscaux"].astype(float)
    pauvrete = pd.DataFrame(
        {
            "niveau": f["niveau"],
            "code": f["code"],
            "variable": "taux_pauvrete_60",
            "valeur": f["taux_pauvrete_60"],
            "numerateur": f["taux_pauvrete_60"] * pers,
            "denominateur": pers.where(f["taux_pauvrete_60"].notna()),
        }
    )
    mediane = pd.DataFrame(
        {
            "niveau": f["niveau"],
            "code": f["code"],
            "variable": "revenu_median_uc",
            "valeur": f["revenu_median_uc"],
            "numerateur": np.nan,
            "denominateur": np.nan,
        }
    )
    reg = pauvrete[pauvrete["niveau"] == "region"]
    num, den = reg["numerateur"].sum(), reg["denominateur"].sum()
    france = pd.DataFrame(
        {
            "niveau": ["france"],
            "code": ["FR"],
            "variable": ["taux_pauvrete_60"],
            "valeur": [num / den if den > 0 else np.nan],
            "numerateur": [num],
            "denominateur": [den],
        }
    )
    return pd.concat(
        [communes.assign(niveau="commune"), g, pauvrete, mediane, france], ignore_index=True
    )


def _scores(entrees: pd.DataFrame, reference: pd.DataFrame, ref_de: pd.DataFrame, suffixe: str):
    """Index of each territory of `ref_de` (code → code_reference) against `reference`."""
    variables = pd.DataFrame(
        [(v, a, s) for v, (a, s) in VARIABLES_IFN.items()], columns=["variable", "axe", "sens"]
    )
    grille = ref_de.merge(variables, how="cross")
    grille = grille.merge(
        entrees[["code", "variable", "valeur"]], on=["code", "variable"], how="left"
    )
    grille = grille.merge(reference, on=["code_reference", "variable"], how="left")
    v, r = grille["valeur"], grille["valeur_reference"]
    direct = np.where(r > 0, 100 * v / r, np.nan)
    inverse = np.where(v > 0, 100 * r / v, np.nan)
    grille["score"] = np.where(grille["sens"] == fragility_scores.DIRECT, direct, inverse)
    par_axe = grille.pivot_table(index="code", columns="axe", values="score", aggfunc="mean")
    glob = grille.groupby("code").agg(glob=("score", "mean"), nb=("score", "count"))
    wide = glob.join(par_axe).reset_index()
    frames = [
        pd.DataFrame(
            {
                "code": wide["code"],
                "indicateur": f"ifn_score_global_{suffixe}",
                "valeur": wide["glob"],
            }
        ),
        pd.DataFrame(
            {
                "code": wide["code"],
                "indicateur": f"ifn_nb_variables_{suffixe}",
                "valeur": wide["nb"].astype(float),
            }
        ),
    ]
    for axe in sorted(set(variables["axe"])):
        valeur = wide.get(axe, np.nan)
        frames.append(
            pd.DataFrame(
                {"code": wide["code"], "indicateur": f"ifn_score_{axe}_{suffixe}", "valeur": valeur}
            )
        )
    return pd.concat(frames, ignore_index=True)


def ind_fragilite(d: dict[str, pd.DataFrame]) -> pd.DataFrame:
    communes = entrees_communes(d)
    entrees = entrees_par_niveau(d, communes)
    ref_fr = entrees.loc[entrees["niveau"] == "france", ["code", "variable", "valeur"]].rename(
        columns={"code": "code_reference", "valeur": "valeur_reference"}
    )
    frames = []
    for niveau, du_niveau in entrees.groupby("niveau"):
        ref_de = pd.DataFrame({"code": du_niveau["code"].unique(), "code_reference": "FR"})
        frames.append(_scores(du_niveau, ref_fr, ref_de, "fr").assign(niveau=niveau))
    app = d["int__appartenances"]
    app_dep = app.loc[app["niveau"] == "departement", ["code_commune", "code"]].rename(
        columns={"code_commune": "code", "code": "code_reference"}
    )
    ref_dep = entrees.loc[
        entrees["niveau"] == "departement", ["code", "variable", "valeur"]
    ].rename(columns={"code": "code_reference", "valeur": "valeur_reference"})
    frames.append(_scores(communes, ref_dep, app_dep, "dep").assign(niveau="commune"))
    out = pd.concat(frames, ignore_index=True)
    out["annee"] = ANNEE_IFN
    out["ic_bas"] = out["ic_haut"] = np.nan
    out["secret"] = False
    out["couverture"] = out["valeur"].notna()
    return out[COLONNES]


def ind_ecart(d: dict[str, pd.DataFrame], besoin: pd.DataFrame, detail: pd.DataFrame):
    b = besoin.loc[
        besoin["indicateur"] == "nb_illectronisme",
        ["niveau", "code", "annee", "valeur", "couverture"],
    ]
    b = b.rename(columns={"valeur": "besoin", "couverture": "cb"})
    lieux_d = detail.loc[
        detail["indicateur"] == "nb_lieux_demarches", ["niveau", "code", "valeur", "couverture"]
    ]
    c = detail.loc[
        detail["indicateur"] == "nb_conseillers_numeriques",
        ["niveau", "code", "valeur", "couverture"],
    ]
    e = b.merge(
        lieux_d.rename(columns={"valeur": "lieux", "couverture": "cl"}), on=["niveau", "code"]
    )
    e = e.merge(c.rename(columns={"valeur": "cons", "couverture": "cc"}), on=["niveau", "code"])
    e["couv_l"] = e["cb"] & e["cl"]
    e["couv_c"] = e["cb"] & e["cc"]
    par_lieu = (e["besoin"] / e["lieux"]).where(e["couv_l"] & (e["lieux"] > 0))
    par_cons = (e["besoin"] / e["cons"]).where(e["couv_c"] & (e["cons"] > 0))
    t = d["int__territoires"]
    deps = t.loc[t["niveau"] == "commune", ["code", "code_departement"]]
    com = e[(e["niveau"] == "commune") & e["couv_l"]].merge(deps, on="code")
    com["score"] = com["besoin"] / (com["lieux"] + 1.0)
    com["rang"] = com.groupby("code_departement")["score"].rank(method="min", ascending=False)
    rang_nat = com["score"].rank(method="min", ascending=False)
    decile = (rang_nat * 10 <= len(com)).astype(float)
    com["niveau"] = "commune"
    return pd.concat(
        [
            _long(
                e,
                "illectronisme_par_lieu_demarches",
                par_lieu.to_numpy(),
                e["couv_l"].to_numpy(),
                e["annee"].to_numpy(),
            ),
            _long(
                e,
                "illectronisme_par_conseiller_numerique",
                par_cons.to_numpy(),
                e["couv_c"].to_numpy(),
                e["annee"].to_numpy(),
            ),
            _long(com, "rang_priorite", com["rang"].to_numpy(), True, com["annee"].to_numpy()),
            _long(
                com, "priorite_decile_national", decile.to_numpy(), True, com["annee"].to_numpy()
            ),
        ],
        ignore_index=True,
    )


def run_once(d: dict[str, pd.DataFrame]) -> tuple[dict[str, float], dict[str, pd.DataFrame]]:
    taux = need.taux_reference(pl.read_csv(TAUX))
    out: dict[str, pd.DataFrame] = {}
    durees: dict[str, float] = {}
    etapes = {
        "int__acces_communes": lambda: acces_communes(d),
        "ind_besoin": lambda: ind_besoin(d, taux),
        "ind_fragilite": lambda: ind_fragilite(d),
        "ind_acces": lambda: ind_acces(d, out["int__acces_communes"]),
        "ind_offre_detail": lambda: ind_offre_detail(d),
        "ind_offre": lambda: ind_offre(d),
        "ind_ecart": lambda: ind_ecart(d, out["ind_besoin"], out["ind_offre_detail"]),
    }
    for nom, etape in etapes.items():
        debut = time.perf_counter()
        out[nom] = etape()
        durees[nom] = time.perf_counter() - debut
    durees["core"] = sum(durees.values())
    return durees, out


def compare(pandas_out: dict[str, pd.DataFrame], polars_out: dict[str, pl.DataFrame]) -> dict:
    """Per output: rows on each side, keys matched, values differing beyond 1e-6 (relative)."""
    rapport = {}
    for nom, p in pandas_out.items():
        if nom not in polars_out:
            continue
        cles = (
            ["code_commune", "cible"]
            if nom == "int__acces_communes"
            else ["niveau", "code", "indicateur", "annee"]
        )
        col = "distance_km" if nom == "int__acces_communes" else "valeur"
        q = polars_out[nom].select(*cles, col).to_pandas()
        m = p[[*cles, col]].merge(q, on=cles, how="outer", suffixes=("_pd", "_pl"), indicator=True)
        both = m[m["_merge"] == "both"]
        a, b = both[f"{col}_pd"].astype(float), both[f"{col}_pl"].astype(float)
        nan_diff = a.isna() != b.isna()
        ecart = ((a - b).abs() > 1e-6 * np.maximum(1.0, b.abs())) & a.notna() & b.notna()
        rapport[nom] = {
            "rows_pandas": len(p),
            "rows_polars": len(q),
            "matched": len(both),
            "null_mismatch": int(nan_diff.sum()),
            "value_mismatch": int(ecart.sum()),
            "max_abs_diff": float((a - b).abs().max()) if len(both) else None,
        }
    return rapport


def measure(warehouse: Path, repetitions: int, check: bool) -> dict:
    debut = time.perf_counter()
    d = load(warehouse)
    chargement = time.perf_counter() - debut
    passes: list[tuple[dict[str, float], dict]] = []
    for _ in range(repetitions):  # keep the last pass' outputs only: the RSS is one pass'
        durees, sorties = run_once(d)
        passes = [*((t, {}) for t, _ in passes), (durees, sorties)]
    figures = {
        "warehouse": str(warehouse),
        "pandas": pd.__version__,
        "load_s": chargement,
        "median_s": {k: statistics.median(p[0][k] for p in passes) for k in passes[0][0]},
        "runs_core_s": [p[0]["core"] for p in passes],
    }
    if check:
        import core  # bench/core.py, next to this script

        _, polars_out = core.run_once(core.load_inputs(warehouse))
        figures["check"] = compare(passes[-1][1], polars_out)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--check", action="store_true", help="compare with the polars outputs")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    figures = measure(args.warehouse, args.repetitions, args.check)
    import core  # bench/core.py, next to this script

    core.print_figures(figures, args.out)


if __name__ == "__main__":
    main()
