"""Generate national-size benchmark inputs: an assets folder, partner inbox files, and a
10× warehouse for the compute core.

    python bench/generate.py --scale 1 --out /tmp/bench1
        → /tmp/bench1/assets/  (same files and formats as `assets/`; point the pipeline at it
          with OBSERVATORY_ASSETS_DIR), /tmp/bench1/inbox/<partner>/<file> (copy into
          <data-dir>/inbox before a run)
    python bench/generate.py --scale 10 --warehouse /tmp/rel/data/warehouse \
        --assets /tmp/bench1/assets --out /tmp/bench10
        → /tmp/bench10/warehouse/  (the int__ inputs of the indicator layer, 10 copies of
          every territory under new codes), /tmp/bench10/assets/ and /tmp/bench10/inbox/ (the
          same copies in every raw format, for a 10× full run with
          OBSERVATORY_BENCH_CODES_SYNTHETIQUES=1)

Scale 1 keeps every real national file (all 34,969 COG communes, census, Filosofi, ARCEP,
CAF, zonings…) and adds SYNTHETIC places so that the registries hold ~30,000 places, as a
national La Mednum cartography would: extra conseillers-numériques lieux (same parquet
schema) and extra La Mednum standard v1 rows (same CSV columns), each at a random commune
weighted by population, named "Lieu synthétique (bench) n". Partner activity files are
synthetic too (inbox formats of `schemas/partners/exemple_*.yaml`), national.

Scale 10 (`--warehouse`) at the warehouse level (every int__ table of a scale-1 run's
warehouse): copy k (1…9) of every territory and place gets the code `<code>S<k>` and its points
move by k × ~100 m (codes stay strings; no real COG, EPCI or zoning code contains `S`, and
prefixes such as `97x` and `2A` that decide a search zone are kept); France stays one
territory. Scale 10 (`--assets`) in the raw formats: the same copies of every commune, EPCI,
IRIS and place of each bundled file (`COPIES_BRUTES`), names suffixed ` S<k>` so that places
still find their commune by postal code and name; départements and régions are not copied
(each holds ten times its communes); partner files are drawn on the 10× COG. The pipeline
accepts the `S<k>` codes only with OBSERVATORY_BENCH_CODES_SYNTHETIQUES=1.
Everything is seeded (`--seed`), so two runs give the same bytes.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
import polars as pl

from observatory.settings import PROJECT_ROOT

ASSETS = PROJECT_ROOT / "assets"
CNFS = "conseillers_numeriques/lieux_cnfs_20221202_national.parquet"
MEDNUM_V1 = "mednum_lieux/charente_16_partially_migrated_v1_commit20250206.csv"
COMMUNES = "cog_2026/communes.csv"
# Extra synthetic places at scale 1: real registries hold ~8,000 (FS 2,877, CNFS 4,930,
# Charente 200); these bring the total to ~30,000.
EXTRA_CNFS = 11_000
EXTRA_MEDNUM = 11_000
JITTER_DEG = 0.015  # ~1.5 km around the commune's point
SYNTH = "Lieu synthétique (bench)"

# Columns of the int__ tables that hold a territory code or a place id (recoded per copy).
IDENTIFIANTS = ("code", "id", "id_lieu")
PAS_UN_CODE = ("code_postal",)
# Copy k is moved by k × this (~80 m north, ~90 m east per copy): the copies of a place are
# near one another but never at the same point, so the nearest-place search sees the ties of
# the real data only, not 10-way ties created by the replication.
DECALAGE_DEG = {"latitude": 0.0007, "longitude": 0.0011}


def _colonnes_codes(frame: pl.DataFrame) -> tuple[str, ...]:
    """String columns holding territory codes or ids: `code`, `code_*`, `id`, `id_lieu`."""
    return tuple(
        c
        for c, t in frame.schema.items()
        if t == pl.String and (c in IDENTIFIANTS or c.startswith("code_")) and c not in PAS_UN_CODE
    )


def _communes(rng: np.random.Generator, n: int) -> pl.DataFrame:
    """n communes drawn with probability ∝ population^0.7, with their point and postcode."""
    cog = pl.read_csv(ASSETS / COMMUNES, infer_schema=False).select(
        "code_insee",
        "nom",
        "code_departement",
        pl.col("population").cast(pl.Float64).fill_null(0.0),
        pl.col("codes_postaux").str.split("|").list.first().str.split(";").list.first(),
    )
    points = pl.read_parquet(ASSETS / "laposte_2023/communes_coordonnees_cog2026_national.parquet")
    cog = cog.join(points.select("code_insee", "latitude", "longitude"), on="code_insee").filter(
        pl.col("latitude").is_not_null(), pl.col("codes_postaux").is_not_null()
    )
    poids = (cog["population"].to_numpy() + 1.0) ** 0.7
    tirage = rng.choice(cog.height, size=n, p=poids / poids.sum())
    pris = cog[tirage]
    return pris.with_columns(
        pl.Series("latitude", pris["latitude"].to_numpy() + rng.uniform(-1, 1, n) * JITTER_DEG),
        pl.Series("longitude", pris["longitude"].to_numpy() + rng.uniform(-1, 1, n) * JITTER_DEG),
    )


def extra_cnfs(rng: np.random.Generator, n: int) -> pl.DataFrame:
    """Synthetic conseillers-numériques lieux in the registry's parquet schema."""
    reel = pl.read_parquet(ASSETS / CNFS)
    modeles = reel[rng.integers(0, reel.height, n)]
    ou = _communes(rng, n)
    numeros = pl.Series(range(1, n + 1)).cast(pl.String)
    return modeles.with_columns(
        ("bench" + numeros.str.zfill(19)).alias("id"),
        (f"{SYNTH} CNFS " + numeros).alias("nom"),
        ("0000000000" + numeros.str.zfill(4)).str.slice(-14).alias("pivot"),
        ou["nom"].str.to_uppercase().alias("commune"),
        ou["codes_postaux"].alias("code_postal"),
        (numeros + " rue du Banc d'essai").alias("adresse"),
        ou["latitude"].round(6).alias("latitude"),
        ou["longitude"].round(6).alias("longitude"),
        ("bench" + numeros).alias("structureId"),
    ).select(reel.columns)


def extra_mednum(rng: np.random.Generator, n: int) -> pl.DataFrame:
    """Synthetic La Mednum standard v1 rows (all strings, the Charente file's columns)."""
    reel = pl.read_csv(ASSETS / MEDNUM_V1, infer_schema=False)
    modeles = reel[rng.integers(0, reel.height, n)]
    ou = _communes(rng, n)
    numeros = pl.Series(range(1, n + 1)).cast(pl.String)
    return modeles.with_columns(
        ("bench-synthetique-" + numeros).alias("id"),
        (f"{SYNTH} Mednum " + numeros).alias("nom"),
        ou["nom"].alias("commune"),
        ou["codes_postaux"].alias("code_postal"),
        (numeros + " avenue du Banc d'essai").alias("adresse"),
        ou["latitude"].round(6).cast(pl.String).alias("latitude"),
        ou["longitude"].round(6).cast(pl.String).alias("longitude"),
        ou["code_insee"].alias("code_insee"),
        pl.lit(None, pl.String).alias("courriel"),
        pl.lit(None, pl.String).alias("telephone"),
    ).select(reel.columns)


def partner_files(rng: np.random.Generator, inbox: Path, assets: Path = ASSETS) -> dict[str, int]:
    """Synthetic national partner activity files in the inbox formats; rows per file."""
    cog = pl.read_csv(assets / COMMUNES, infer_schema=False)
    communes = cog["code_insee"].to_list()
    departements = sorted(set(cog["code_departement"].drop_nulls()))
    epci = sorted(set(cog["code_epci"].drop_nulls()) - {"ZZZZZZZZZ"})
    mois = [f"2024-{m:02d}" for m in range(1, 13)]
    n = len(communes) * 2
    autonomes, aide, jamais = (rng.integers(0, 30, n) for _ in range(3))
    diagnostics = pl.DataFrame(
        {
            "code_commune": [c for c in communes for _ in range(2)],
            "periode": [mois[i] for i in rng.integers(0, 12, n)],
            "nb_personnes_diagnostiquees": autonomes + aide + jamais,
            "nb_autonomes": autonomes,
            "nb_besoin_aide": aide,
            "nb_jamais_en_ligne": jamais,
            "commentaire": [None] * n,
        }
    ).unique(["code_commune", "periode"], keep="first", maintain_order=True)
    types = ["Accompagnement individuel", "Atelier collectif"]
    lignes = [(d, f"2024-T{t}", ty) for d in departements for t in range(1, 5) for ty in types]
    nb = rng.integers(1, 500, len(lignes))
    accompagnements = pl.DataFrame(
        {
            "code_departement": [r[0] for r in lignes],
            "periode": [r[1] for r in lignes],
            "type_accompagnement": [r[2] for r in lignes],
            "nb_accompagnements": nb,
            "nb_personnes": (nb * 0.8).astype(np.int64),
            "duree_totale_heures": [f"{x:.1f}".replace(".", ",") for x in nb * 1.5],
        }
    )
    emis = rng.integers(10, 1000, len(epci))
    pass_numerique = pl.DataFrame(
        {
            "siren_epci": epci,
            "periode": ["2023"] * len(epci),
            "nb_pass_emis": emis,
            "nb_pass_utilises": (emis * rng.uniform(0.2, 0.9, len(epci))).astype(np.int64),
        }
    )
    fichiers = {
        "exemple_diagnostics_autonomie": ("diagnostics_bench_2024.csv", diagnostics),
        "exemple_accompagnements": ("accompagnements_bench_2024.csv", accompagnements),
        "exemple_pass_numerique": ("pass_numerique_bench_2023.csv", pass_numerique),
    }
    for partenaire, (nom, frame) in fichiers.items():
        (inbox / partenaire).mkdir(parents=True, exist_ok=True)
        frame.write_csv(inbox / partenaire / nom, separator=";")
    return {p: f.height for p, (_, f) in fichiers.items()}


def scale_1(out: Path, seed: int) -> None:
    """Real assets + synthetic places and partner files (see module docstring)."""
    rng = np.random.default_rng(seed)
    assets = out / "assets"
    if assets.exists():
        shutil.rmtree(assets)
    shutil.copytree(ASSETS, assets)
    cnfs = pl.concat([pl.read_parquet(ASSETS / CNFS), extra_cnfs(rng, EXTRA_CNFS)])
    cnfs.write_parquet(assets / CNFS)
    mednum = pl.concat(
        [pl.read_csv(ASSETS / MEDNUM_V1, infer_schema=False), extra_mednum(rng, EXTRA_MEDNUM)]
    )
    mednum.write_csv(assets / MEDNUM_V1)
    (assets / "BENCH_SYNTHETIC.md").write_text(
        f"# Benchmark inputs (generated by bench/generate.py, seed {seed})\n\n"
        f"Real bundled assets, plus SYNTHETIC rows: {EXTRA_CNFS} conseillers-numériques lieux "
        f"in `{CNFS}` and {EXTRA_MEDNUM} La Mednum v1 lieux in `{MEDNUM_V1}` (names start "
        f"with '{SYNTH}'). Not real data: never publish a release built on it.\n",
        encoding="utf-8",
    )
    inbox = out / "inbox"
    if inbox.exists():
        shutil.rmtree(inbox)
    lignes = partner_files(rng, inbox)
    print(f"assets → {assets}: CNFS {cnfs.height} rows, La Mednum v1 {mednum.height} rows")
    print(f"inbox → {inbox}: {lignes}")


def _recode(frame: pl.DataFrame, colonnes: tuple[str, ...], k: int) -> pl.DataFrame:
    """Copy k of a table: every territory code (except France, `FR`) suffixed `S<k>`."""
    suffixe = f"S{k}"
    decalage = {c: k * d for c, d in DECALAGE_DEG.items() if c in frame.columns}
    return frame.with_columns(
        *(
            pl.when(pl.col(c).is_null() | (pl.col(c) == "FR"))
            .then(pl.col(c))
            .otherwise(pl.col(c).cast(pl.String) + suffixe)
            .alias(c)
            for c in colonnes
            if c in frame.columns
        ),
        *(pl.col(c) + d for c, d in decalage.items()),
    )


def scale_warehouse(source: Path, out: Path, copies: int) -> None:
    """`copies` × every territory of every int__ table of a warehouse (the core's inputs)."""
    cible = out / "warehouse"
    cible.mkdir(parents=True, exist_ok=True)
    for chemin in sorted(source.glob("int__*.parquet")):
        frame = pl.read_parquet(chemin)
        colonnes = _colonnes_codes(frame)
        parties = [frame, *(_recode(frame, colonnes, k) for k in range(1, copies))]
        if "niveau" in frame.columns and chemin.stem != "int__appartenances":
            # one France for all copies (its memberships keep every copy's communes)
            parties = [frame] + [p.filter(pl.col("niveau") != "france") for p in parties[1:]]
        grand = pl.concat(parties)
        grand.write_parquet(cible / chemin.name)
        print(f"{chemin.stem}: {frame.height} → {grand.height} rows (recoded: {colonnes})")


# Scale 10 in the raw formats: for every bundled file, what each column holding a territory
# code, an id, a name or a point is, so that copy k gets its own communes, EPCI and IRIS
# (`<code>S<k>`), its own place ids, names (`<name> S<k>`, so that places still find their
# commune by postal code and name) and points (moved by k × DECALAGE_DEG). Départements and
# régions are not copied: each holds ten times its communes. Files not listed are copied as
# they are (national rates, first names).
COMMUNE, EPCI, IRIS, ID, NOM, LAT, LON = "commune", "epci", "iris", "id", "nom", "lat", "lon"
# The columns of La Mednum's standard files (v0 and v1) that a copy changes.
LIEU_MEDNUM = {
    "id": ID,
    "nom": NOM,
    "commune": NOM,
    "code_insee": COMMUNE,
    "latitude": LAT,
    "longitude": LON,
}
COPIES_BRUTES: dict[str, dict[str, str]] = {
    "anct_grilles_2026/grilles_communales_anct_national.parquet": {
        "insee_com": COMMUNE,
        "lib_com": NOM,
    },
    "arcep_2019/commune_debit_beta_20190930_national.parquet": {
        "code_insee": COMMUNE,
        "nom_com": NOM,
    },
    "cnaf_2020/caf_arsas_iris_national.csv": {"CODE_IRIS": IRIS, "EPCI": EPCI},
    "cnaf_2020/cnaf_demo_2020_v1_communes.csv": {"CODGEO": COMMUNE},
    "cnaf_2020/cnaf_demo_2020_v1_epci.csv": {"CODGEO": EPCI},
    "cog_2026/communes.csv": {
        "code_insee": COMMUNE,
        "nom": NOM,
        "siren_commune": ID,
        "code_epci": EPCI,
        "nom_epci": NOM,
    },
    "cog_2026/communes_deleguees_associees_arrondissements.csv": {
        "code_insee": COMMUNE,
        "nom": NOM,
        "commune_rattachement": COMMUNE,
    },
    "cog_2026/epci.csv": {"code_epci": EPCI, "nom": NOM},
    "conseillers_numeriques/lieux_cnfs_20221202_national.parquet": {
        "id": ID,
        "nom": NOM,
        "commune": NOM,
        "structureId": ID,
        "latitude": LAT,
        "longitude": LON,
    },
    "dfg_mednum_2020/dfg_proxies_pauvrete_thd_mobile_rsa_services_national.parquet": {
        "CODE_INSEE": COMMUNE
    },
    "dfg_mednum_2020/table_iris_commune_epci_2020_national.parquet": {
        "CODE_IRIS": IRIS,
        "CODE_INSEE": COMMUNE,
        "LIBCOM": NOM,
        "EPCI": EPCI,
        "GRD_QUART": ID,
    },
    "france_services/france_services_cget_carto_2020.csv": {
        "MATRICULE": ID,
        "lib_france_services": NOM,
        "insee_com": COMMUNE,
        "lib_com": NOM,
        "COMMUNE": NOM,
        "latitude": LAT,
        "longitude": LON,
        "LATITUDE": LAT,
        "LONGITUDE": LON,
    },
    "france_services/liste_france_services_20221201.csv": {
        "id_fs": ID,
        "lib_fs": NOM,
        "insee_com": COMMUNE,
        "lib_com": NOM,
        "latitude": LAT,
        "longitude": LON,
    },
    "insee_cog_mouvements/arrondissements_municipaux_plm.csv": {
        "code_arrondissement_municipal": COMMUNE,
        "code_insee_commune": COMMUNE,
    },
    "insee_cog_mouvements/mvt_communes_insee_cog2025_national.parquet": {
        "COM_AV": COMMUNE,
        "COM_AP": COMMUNE,
    },
    "insee_cog_mouvements/passage_communes_historique_vers_cog2025_national.parquet": {
        "code_insee_historique": COMMUNE,
        "code_insee_cog2025": COMMUNE,
    },
    "insee_filosofi_2016/filosofi_2016_communes_national.parquet": {
        "codgeo": COMMUNE,
        "libgeo": NOM,
    },
    "insee_filosofi_2016/filosofi_2016_epci.csv": {"codgeo": EPCI, "libgeo": NOM},
    "insee_rp/rp2017_taux_diplomes_menages_age_national.parquet": {"CODE_INSEE": COMMUNE},
    "insee_rp/rp2018_communes_2000hab_national.parquet": {
        "code_insee": COMMUNE,
        "code_insee_cog2026": COMMUNE,
        "commune": NOM,
    },
    "insee_zonages_2025/zonages_communes_cog2025_national.parquet": {
        "DEPCOM": COMMUNE,
        "BV2022": COMMUNE,
        "LIB_BV2022": NOM,
    },
    "laposte_2023/communes_coordonnees_cog2026_national.parquet": {
        "code_insee": COMMUNE,
        "nom": NOM,
        "code_insee_source": COMMUNE,
        "latitude": LAT,
        "longitude": LON,
    },
    "mednum_lieux/bus_france_services_charente_16_standard_v0_20231003.csv": LIEU_MEDNUM,
    "mednum_lieux/charente_16_partially_migrated_v1_commit20250206.csv": LIEU_MEDNUM,
    "mednum_lieux/charente_16_standard_v0_export20230711.csv": LIEU_MEDNUM,
    "pole_emploi_2019/defm_2019_communes.csv": {"CODGEO": COMMUNE},
}


def _point_deplace(colonne: str, dtype: pl.DataType, decalage: float) -> pl.Expr:
    """A latitude or longitude moved by `decalage` degrees, in the column's own type (a text
    column keeps what it cannot read as a number)."""
    texte = pl.col(colonne).cast(pl.String)
    nombre = (texte.str.replace(",", ".").cast(pl.Float64, strict=False) + decalage).round(7)
    if dtype.is_numeric():
        return nombre.cast(dtype)
    return pl.when(nombre.is_null()).then(pl.col(colonne)).otherwise(nombre.cast(pl.String))


def _code_copie(colonne: str, dtype: pl.DataType, sorte: str, k: int) -> pl.Expr:
    """Copy k of a code, id or name; empty cells and EPCI placeholders left as they are."""
    c, texte, suffixe = pl.col(colonne), pl.col(colonne).cast(pl.String), f"S{k}"
    if sorte == ID and dtype.is_numeric():
        return c + k * 10**8
    if sorte == NOM:
        nouveau = texte + f" {suffixe}"
    elif sorte == ID:  # a number stays a number (France services ids are read as integers)
        nouveau = (
            pl.when(texte.str.contains(r"^\d{1,9}$"))
            .then((texte.cast(pl.Int64, strict=False) + k * 10**8).cast(pl.String))
            .otherwise(texte + suffixe)
        )
    elif sorte == EPCI:
        nouveau = pl.when(texte.str.contains(r"^\d{9}$")).then(texte + suffixe).otherwise(texte)
    else:
        nouveau = texte + suffixe
    vide = texte.is_null() | (texte.str.strip_chars() == "")
    return pl.when(vide).then(c).otherwise(nouveau).cast(dtype)


def _copie_brute(frame: pl.DataFrame, colonnes: dict[str, str], k: int) -> pl.DataFrame:
    """Copy k of a raw file: codes and ids suffixed `S<k>` (numeric ids shifted), names
    suffixed ` S<k>`, points moved by k × DECALAGE_DEG."""
    exprs = []
    for colonne, sorte in colonnes.items():
        dtype = frame.schema[colonne]
        if sorte in (LAT, LON):
            decalage = k * DECALAGE_DEG["latitude" if sorte == LAT else "longitude"]
            exprs.append(_point_deplace(colonne, dtype, decalage).alias(colonne))
        else:
            exprs.append(_code_copie(colonne, dtype, sorte, k).alias(colonne))
    return frame.with_columns(exprs)


def scale_10_assets(source: Path, out: Path, copies: int) -> None:
    """`copies` × every commune, EPCI, IRIS and place of an assets folder, in its raw formats."""
    cible = out / "assets"
    if cible.exists():
        shutil.rmtree(cible)
    shutil.copytree(source, cible)
    for relatif, colonnes in COPIES_BRUTES.items():
        chemin = source / relatif
        parquet = chemin.suffix == ".parquet"
        frame = pl.read_parquet(chemin) if parquet else pl.read_csv(chemin, infer_schema=False)
        manquantes = set(colonnes) - set(frame.columns)
        if manquantes:
            raise SystemExit(f"{relatif}: columns {sorted(manquantes)} not found")
        grand = pl.concat([frame, *(_copie_brute(frame, colonnes, k) for k in range(1, copies))])
        if parquet:
            grand.write_parquet(cible / relatif)
        else:
            grand.write_csv(cible / relatif)
        print(f"{relatif}: {frame.height} → {grand.height} rows")
    (cible / "BENCH_SYNTHETIC.md").write_text(
        f"# Benchmark inputs ×{copies} (bench/generate.py --scale 10 --assets)\n\n"
        f"Copies 1…{copies - 1} of every commune, EPCI, IRIS and place of `{source}` under "
        "codes suffixed `S<k>` (names ` S<k>`, points moved). SYNTHETIC: run only with "
        "OBSERVATORY_BENCH_CODES_SYNTHETIQUES=1, never publish.\n",
        encoding="utf-8",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, choices=(1, 10), required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument(
        "--warehouse",
        type=Path,
        help="scale 10: warehouse of a scale-1 run whose int__ tables are replicated",
    )
    parser.add_argument(
        "--assets",
        type=Path,
        help="scale 10: assets folder of a scale-1 generation, replicated in its raw formats",
    )
    args = parser.parse_args()
    if args.scale == 1:
        scale_1(args.out, args.seed)
        return
    if args.warehouse is None and args.assets is None:
        parser.error("--scale 10 needs --warehouse and/or --assets (of a scale-1 generation)")
    if args.warehouse is not None:
        scale_warehouse(args.warehouse, args.out, args.scale)
    if args.assets is not None:
        scale_10_assets(args.assets, args.out, args.scale)
        inbox = args.out / "inbox"
        if inbox.exists():
            shutil.rmtree(inbox)
        lignes = partner_files(np.random.default_rng(args.seed), inbox, args.out / "assets")
        print(f"inbox → {inbox}: {lignes}")


if __name__ == "__main__":
    main()
