"""The catalogue of sources: what each one is, its vintage, licence and coverage.

One `Source` per raw asset (`raw_<provider>__<entity>`). The offline profile reads the
bundled file under `assets/`; the live profile downloads the sources marked `live` from their
URLs in `schemas/sources/live.yaml` (parsed into the bundled layouts by
`observatory/sources/live_parsers.py`); the others land from the snapshot, and
`live.SANS_FICHIER_LIVE` says why each has no live file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SourceFile:
    """One file of a source and its bundled copy (live URLs: schemas/sources/live.yaml)."""

    name: str
    bundled: str


@dataclass(frozen=True)
class Couverture:
    """The territories a source covers; `codes=None` means the whole scope.

    `presence`: a commune-level statistic covers only the communes it has a row for.
    """

    niveau: str = "france"
    codes: tuple[str, ...] | None = None
    presence: bool = False


@dataclass(frozen=True)
class Source:
    provider: str
    entity: str
    vintage: str
    annee: int
    title: str
    producer: str
    licence: str
    origin: str
    files: tuple[SourceFile, ...]
    couverture: Couverture = field(default_factory=Couverture)
    # Downloaded in the live profile (its live format is read by the staging); its coverage
    # there, when it differs from the bundled snapshot's.
    live: bool = False
    couverture_live: Couverture | None = None
    # What a row counts, for series over vintages: two vintages of one indicator whose sources'
    # definitions differ are flagged `rupture_definition` (their change is not comparable).
    definition: str = ""

    def couverture_pour(self, profile: str) -> Couverture:
        if profile == "live" and self.live and self.couverture_live is not None:
            return self.couverture_live
        return self.couverture

    @property
    def key(self) -> str:
        return f"{self.provider}__{self.entity}"

    @property
    def raw_asset(self) -> str:
        return f"raw_{self.key}"


ETALAB_COG = (
    "npm @etalab/decoupage-administratif 6.0.0 (github.com/datagouv/decoupage-administratif): "
    "INSEE COG 2026, DGCL EPCI 2026, INSEE populations légales"
)
LICENCE_OUVERTE = "Licence Ouverte / Open Licence 2.0 (etalab-2.0)"


def _source(
    provider: str,
    entity: str,
    vintage: str,
    title: str,
    producer: str,
    origin: str,
    *bundled: str,
    annee: int | None = None,
    **options: Any,
) -> Source:
    """A Licence Ouverte source: its bundled files (paths under assets/) keep their name, its
    year is its vintage's unless said."""
    return Source(
        provider=provider,
        entity=entity,
        vintage=vintage,
        annee=int(vintage[:4]) if annee is None else annee,
        title=title,
        producer=producer,
        licence=LICENCE_OUVERTE,
        origin=origin,
        files=tuple(SourceFile(path.rsplit("/", 1)[-1], path) for path in bundled),
        **options,
    )


def _cog(entity: str, filename: str, title: str) -> Source:
    return _source(
        "cog",
        entity,
        "2026",
        title,
        "INSEE, DGCL (via Etalab)",
        ETALAB_COG,
        f"cog_2026/{filename}",
        live=True,  # geo.api.gouv.fr (observatory/sources/cog_live.py)
    )


COG_COMMUNES = _cog(
    "communes", "communes.csv", "Communes du COG 2026 et leur population municipale"
)
COG_COMMUNES_DELEGUEES = _cog(
    "communes_deleguees",
    "communes_deleguees_associees_arrondissements.csv",
    "Communes déléguées, associées et arrondissements municipaux (COG 2026)",
)
COG_EPCI = _cog("epci", "epci.csv", "EPCI à fiscalité propre au 1er janvier 2026")
COG_DEPARTEMENTS = _cog("departements", "departements.csv", "Départements (COG 2026)")
COG_REGIONS = _cog("regions", "regions.csv", "Régions (COG 2026)")

LAPOSTE_COORDONNEES = _source(
    "laposte",
    "communes_coordonnees",
    "2023",
    "Point de chaque commune (base officielle des codes postaux La Poste), rebasé COG 2026",
    "La Poste",
    (
        "La Poste, base officielle des codes postaux (laposte_hexasmal ≈ 2023) with "
        "coordonnees_geographiques, one point per COG 2026 commune"
    ),
    "laposte_2023/communes_coordonnees_cog2026_national.parquet",
    # live: geo.api.gouv.fr's centre of each commune (a point inside its outline), not La Poste's
    live=True,
)

MEDNUM_LIEUX = _source(
    "mednum",
    "lieux",
    "2025-02-06",
    "Lieux de médiation numérique de Charente (standard La Mednum v1, migration partielle)",
    "ANCT — cartographie nationale des lieux d'inclusion numérique",
    (
        "github.com/anct-cartographie-nationale/client-application "
        "src/assets/data/20230711-charente-lieux-de-mediation-numeriques-nouvelle-aquitaine.json "
        "@ 926d8162a4a9416206bd3e5f91cdd40070f6419d"
    ),
    "mednum_lieux/charente_16_partially_migrated_v1_commit20250206.csv",
    couverture=Couverture(niveau="departement", codes=("16",)),
    live=True,
    couverture_live=Couverture(),
)

INSEE_ZONAGES = _source(
    "insee",
    "zonages",
    "2025",
    "Zonages d'étude des communes : bassins de vie 2022, aires d'attraction des villes 2020",
    "INSEE",
    (
        "github.com/MaelTheuliere/COGiter data/table_passage_communes_zonages.rda @ "
        "4536aa39b83d2b0ec1a199540700fbb832233ab0 (INSEE table d'appartenance géographique 2025)"
    ),
    "insee_zonages_2025/zonages_communes_cog2025_national.parquet",
    # live: INSEE's table d'appartenance géographique, the table COGiter built the snapshot from
    live=True,
)

ANCT_GRILLES = _source(
    "anct",
    "grilles_communales",
    "2026",
    "Grille communale de densité (7 et 4 niveaux)",
    "INSEE, via l'Observatoire des territoires (ANCT)",
    (
        "github.com/anct-carto/superposeur-V2 data/grilles/*.csv @ "
        "3f2b0c0b87604a13831a9f214988878b6a4cb67e (Observatoire des territoires exports)"
    ),
    "anct_grilles_2026/grilles_communales_anct_national.parquet",
    annee=2025,
    # live: INSEE's own grid file (the centralité/ruralité/montagne typologies stay null)
    live=True,
)


ANCT_MEDNUM_CLI = "github.com/anct-cartographie-nationale/mednum-cli"
DEFINITION_FRANCE_SERVICES = (
    "France Services labellisées à la date de la liste : sites principaux et antennes, "
    "itinérantes comprises (une ligne par site)"
)
FRANCE_SERVICES = _source(
    "france_services",
    "lieux",
    "2022-12-01",
    "Liste nationale des France Services",
    "ANCT — programme France Services",
    (
        f"{ANCT_MEDNUM_CLI} assets/input/france-services/liste-fs-20221201.csv @ "
        "abcdd2a7beacf955e8af467a92924af1c9f7a0c6"
    ),
    "france_services/liste_france_services_20221201.csv",
    live=True,  # ANCT's current list on data.gouv.fr (france_services_live)
    definition=DEFINITION_FRANCE_SERVICES,
)
# No live file (SOURCES.md §4): no public bulk file of conseillers numériques exists since the
# permanences API was retired (2025-01); the cartographie's lieux flagged "Conseillers
# numériques" (mednum__lieux, live) are the public route. Lands from the snapshot in a live run.
CONSEILLERS_NUMERIQUES = _source(
    "conseillers_numeriques",
    "lieux",
    "2022-12-02",
    "Lieux d'activité des conseillers numériques France Services",
    "ANCT — programme Conseiller numérique",
    f"{ANCT_MEDNUM_CLI} assets/input/cnfs.json @ abcdd2a7beacf955e8af467a92924af1c9f7a0c6",
    "conseillers_numeriques/lieux_cnfs_20221202_national.parquet",
)
# No live file: the Charente bus was a one-off file of the cartographie's client; its stops are
# in the national lieux export (mednum__lieux, live) when still published.
BUS_FRANCE_SERVICES_16 = _source(
    "mednum",
    "bus_france_services_16",
    "2023-10-03",
    "Arrêts du bus France Services de Charente (standard v0, itinérant)",
    "ANCT — cartographie nationale des lieux d'inclusion numérique",
    (
        "github.com/anct-cartographie-nationale/client-application src/assets/data/"
        "20231003-bus-france-services-en-charente-….json @ b5c93a8a6d1c4a12302ea2e6dbc578c97fd4b4db"
    ),
    "mednum_lieux/bus_france_services_charente_16_standard_v0_20231003.csv",
    couverture=Couverture(niveau="departement", codes=("16",)),
)
# Live only: there is no bundled Aidants Connect file (the national export of mednum-cli is
# > 4 MiB and was not extracted). Offline, its raw asset lands nothing and its staging is empty
# with the standard's columns; live, the API pages are mapped to standard v1
# (`registries.parse_aidants_connect`) and merged into the places like the other registries.
AIDANTS_CONNECT = Source(
    provider="aidants_connect",
    entity="structures",
    vintage="live",
    annee=2026,
    title="Structures habilitées Aidants Connect (organisations actives)",
    producer="DINUM / ANCT — Aidants Connect",
    licence="non précisée par le producteur (API publique sans authentification)",
    origin=(
        "https://aidantsconnect.beta.gouv.fr/api/organisations/?format=json "
        "(betagouv/Aidants_Connect aidants_connect_web/api @ 42814c5)"
    ),
    files=(),
    live=True,
    # no bundled file: offline it covers nothing (its counts are null, never 0); live, France
    couverture=Couverture(niveau="departement", codes=()),
    couverture_live=Couverture(),
)
REGISTRES_LIEUX: tuple[Source, ...] = (
    MEDNUM_LIEUX,
    BUS_FRANCE_SERVICES_16,
    FRANCE_SERVICES,
    CONSEILLERS_NUMERIQUES,
    AIDANTS_CONNECT,
)

# The previous vintage of the national list, for the series of `ind_offre`; not merged
# into the places (`lieux` is the current offer). No live file: an archived vintage.
FRANCE_SERVICES_2020 = _source(
    "france_services",
    "lieux_2020",
    "2020-05-05",
    "France Services de la première vague de labellisation (janvier-février 2020)",
    "ANCT (CGET) — programme France Services",
    (
        "github.com/betagouv/Aidants_Connect_Carto data/national/france_services/"
        "france_services_cget-carto.csv @ 5dfb2377208329c2813258f6ee556e5cc3e09bae"
    ),
    "france_services/france_services_cget_carto_2020.csv",
    definition=DEFINITION_FRANCE_SERVICES,
)
MILLESIMES_FRANCE_SERVICES: tuple[Source, ...] = (FRANCE_SERVICES_2020, FRANCE_SERVICES)


def _stat(*description: str, live: bool = False) -> Source:
    """A statistic published commune by commune (`_source`'s arguments): it covers the communes
    it has rows for.

    `live`: downloaded in the live profile (URL in live.py, parser in live_parsers.py).
    """
    return _source(*description, couverture=Couverture(presence=True), live=live)


DFG = "github.com/dataforgoodfr/batch8_mednum @ d334a4a69e039bbb9097aae3a68b3c7a3bd30a14"
INSEE_RP2017 = _stat(
    "insee",
    "rp2017_parts",
    "2017",
    "Recensement 2017 : parts des 65 ans et plus, des 25 ans et moins, des 15 ans et plus non "
    "scolarisés sans diplôme, des ménages d'une personne et des familles monoparentales",
    "INSEE (bases communales RP 2017), parts calculées par Data For Good × La Mednum",
    f"{DFG} data/data_scol_menage_demandeurEmplois.csv",
    "insee_rp/rp2017_taux_diplomes_menages_age_national.parquet",
    live=True,  # shares recomputed from RP 2022 IRIS counts (insee_live.parse_rp_parts)
)
INSEE_RP2018 = _stat(
    "insee",
    "rp2018_effectifs",
    "2018",
    "Recensement 2018 : effectifs par âge et par diplôme (communes de plus de 2 000 habitants)",
    "INSEE (bases communales RP 2018)",
    "github.com/juba/questionr data/rp2018.RData @ 715528fbf694239cef6b65d198c6d923f86af52d",
    "insee_rp/rp2018_communes_2000hab_national.parquet",
    live=True,  # RP 2022 IRIS summed by commune (insee_live.parse_rp_effectifs)
)
FILOSOFI_COMMUNES = _stat(
    "insee",
    "filosofi_communes",
    "2016",
    "Filosofi 2016 : revenu médian et taux de pauvreté des communes (secret statistique)",
    "INSEE (Filosofi 2016)",
    "github.com/dorobatmihai16/design4green_60 sql/revenus_communes.sql @ 14a31033",
    "insee_filosofi_2016/filosofi_2016_communes_national.parquet",
    live=True,  # Filosofi long format (insee_live.parse_filosofi_cc)
)
FILOSOFI_TERRITOIRES = _stat(
    "insee",
    "filosofi_territoires",
    "2016",
    "Filosofi 2016 : chiffres publiés par l'INSEE pour les EPCI, départements, régions et la "
    "France métropolitaine",
    "INSEE (Filosofi 2016)",
    "github.com/dorobatmihai16/design4green_60 "
    "sql/{revenus_epci,revenus_departements,revenus_regions,france_metropolitane}.sql",
    *(
        f"insee_filosofi_2016/filosofi_2016_{n}.csv"
        for n in ("epci", "departements", "regions", "france_metropolitaine")
    ),
    live=True,  # the same long zip's EPCI/DEP/REG rows (insee_live.parse_filosofi_territoires)
)
ARCEP_THD = _stat(
    "arcep",
    "thd",
    "2019-09-30",
    "Ma connexion internet : locaux éligibles au très haut débit fixe (≥ 30 Mbit/s)",
    "ARCEP",
    f"{DFG} data/raw/commune-debit-beta.csv",
    "arcep_2019/commune_debit_beta_20190930_national.parquet",
    live=True,  # commune_debit_filaire.csv (arcep_live)
)
DFG_MOBILE = _stat(
    "dfg",
    "couverture_mobile",
    "2020",
    "Couverture mobile (indicateur approché 4G/3G/2G, ARCEP 2020-T2)",
    "Data For Good × La Mednum, d'après l'ARCEP",
    f"{DFG} data/interim/taux_couverture_mobile.csv",
    "dfg_mednum_2020/dfg_proxies_pauvrete_thd_mobile_rsa_services_national.parquet",
)
CAF_COMMUNES = _stat(
    "caf",
    "allocataires_communes",
    "2020",
    "Allocataires et personnes couvertes par les CAF (communes publiées)",
    "CNAF",
    f"{DFG} data/raw/data_DEMO_2020_V1_COM.csv",
    "cnaf_2020/cnaf_demo_2020_v1_communes.csv",
    live=True,  # s_ben_com_f (caf_live)
)
CAF_EPCI = _stat(
    "caf",
    "allocataires_epci",
    "2020",
    "Allocataires et personnes couvertes par les CAF (EPCI 2019)",
    "CNAF",
    f"{DFG} data/raw/data_DEMO_2020_V1_EPCI19.csv",
    "cnaf_2020/cnaf_demo_2020_v1_epci.csv",
)
CAF_RSA = _stat(
    "caf",
    "rsa_iris",
    "2019",
    "Allocataires du RSA par IRIS (≈ 2019), sommés par commune",
    "CNAF",
    f"{DFG} data/raw/data_arsas.csv",
    "cnaf_2020/caf_arsas_iris_national.csv",
    live=True,  # live: RSA foyers by commune from s_ben_com_f (caf_live.parse_s_ben_com_f_rsa)
)
INSEE_IRIS = _stat(
    "insee",
    "table_iris",
    "2020",
    "Table d'appartenance des IRIS aux communes (INSEE, IRIS 2020)",
    "INSEE",
    f"{DFG} data/external/table_iris_insee_epci.csv",
    "dfg_mednum_2020/table_iris_commune_epci_2020_national.parquet",
)
POLE_EMPLOI_DEFM = _stat(
    "pole_emploi",
    "defm",
    "2019",
    "Demandeurs d'emploi en fin de mois au 31/12/2019 (communes d'environ 5 000 habitants et plus)",
    "Pôle emploi / DARES (France Travail)",
    f"{DFG} data/raw/data_DEFM2019_com.csv",
    "pole_emploi_2019/defm_2019_communes.csv",
    live=True,  # DARES communal DEFM (dares_live)
)
COGITER = "github.com/MaelTheuliere/COGiter @ 4536aa39b83d2b0ec1a199540700fbb832233ab0"
INSEE_PASSAGE = _source(
    "insee",
    "passage_communes",
    "2025",
    "Table de passage des codes communes historiques vers le COG 2025 (= COG 2026)",
    "INSEE (COG), table construite par COGiter",
    f"{COGITER} data/table_passage_com_historique.rda",
    "insee_cog_mouvements/passage_communes_historique_vers_cog2025_national.parquet",
    live=True,
)
INSEE_MOUVEMENTS = _source(
    "insee",
    "mouvements_communes",
    "2025",
    "Mouvements des communes 1943-2025 (v_mvt_commune_2025)",
    "INSEE (COG)",
    f"{COGITER} data/mvtcommunes.rda (INSEE v_mvt_commune_2025.csv)",
    "insee_cog_mouvements/mvt_communes_insee_cog2025_national.parquet",
    live=True,
)

# INSEE's national rates by age and diploma (written from its publications): the reference
# tables of the two need estimates.
INSEE_TAUX_ILLECTRONISME = _source(
    "insee",
    "taux_illectronisme",
    "2019",
    "Taux nationaux d'illectronisme par âge (2019) et par diplôme (2021), INSEE",
    "INSEE (Insee Analyses n° 85, Insee Première n° 1780 et n° 1953)",
    "insee.fr/fr/statistiques/7636058, 4241397, 7633654 (chiffres publiés, saisis à la main)",
    "insee_illectronisme/taux_illectronisme.csv",
)
INSEE_TAUX_DIFFICULTE = _source(
    "insee",
    "taux_difficulte_numerique",
    "2023",
    (
        "Part des personnes en difficulté avec le numérique par âge (illectronisme ou "
        "compétences numériques faibles, 2023), INSEE"
    ),
    "INSEE (Insee Références, Économie et société à l'ère du numérique, éd. 2025)",
    "insee.fr/fr/statistiques/8616801 (figure 1, chiffres publiés, saisis à la main)",
    "insee_difficultes_numeriques/taux_difficulte_numerique.csv",
)
TAUX_NATIONAUX: tuple[Source, ...] = (INSEE_TAUX_ILLECTRONISME, INSEE_TAUX_DIFFICULTE)

# INSEE's first names, the reference list of the personal-data detector (`prenom.nom@…`
# e-mails are a person's): an extract made once from the national file (PROVENANCE.md).
INSEE_PRENOMS = _source(
    "insee",
    "prenoms",
    "2025",
    "Prénoms donnés au moins 500 fois de 1900 à 2024 (fichier des prénoms, édition 2025), INSEE",
    "INSEE (fichier des prénoms, d'après le RNIPP)",
    (
        "insee.fr/fr/statistiques/8595130, via github.com/mthiboust/prenomscope @ "
        "bce2cf50ffbefd6814a9c7c0d899169e2ea9d975 frontend/static/data.parquet"
    ),
    "prenoms/prenoms_insee_1900_2024_min500.csv",
)

IGN_CONTOURS_COMMUNES = _source(
    "ign",
    "contours_communes",
    "2025",
    "Contours simplifiés des communes (IGN ADMIN EXPRESS COG CARTO 2025, = COG 2026)",
    "IGN (ADMIN EXPRESS COG CARTO), simplification COGiter (DREAL Pays de la Loire)",
    (
        "github.com/MaelTheuliere/COGiter @ 8fc7d2af627ede0b2143f6d4b343e081c2ebd46b "
        "data/communes_geo.rda (métropole) and data/communes_97x_geo.rda (DROM): IGN "
        "ADMIN-EXPRESS-COG-CARTO 3-2 édition 2025-04-02 simplified with mapshaper (shared "
        "borders kept), projected to WGS84 at 1e-5 degree"
    ),
    "ign_contours_communes/contours_communes_2025.parquet",
)

STATISTIQUES: tuple[Source, ...] = (
    INSEE_RP2017,
    INSEE_RP2018,
    FILOSOFI_COMMUNES,
    FILOSOFI_TERRITOIRES,
    ARCEP_THD,
    DFG_MOBILE,
    CAF_COMMUNES,
    CAF_EPCI,
    CAF_RSA,
    INSEE_IRIS,
    POLE_EMPLOI_DEFM,
)

SOURCES: tuple[Source, ...] = (
    COG_COMMUNES,
    COG_COMMUNES_DELEGUEES,
    COG_EPCI,
    COG_DEPARTEMENTS,
    COG_REGIONS,
    LAPOSTE_COORDONNEES,
    INSEE_ZONAGES,
    ANCT_GRILLES,
    *REGISTRES_LIEUX,
    FRANCE_SERVICES_2020,
    INSEE_PASSAGE,
    INSEE_MOUVEMENTS,
    IGN_CONTOURS_COMMUNES,
    *STATISTIQUES,
    *TAUX_NATIONAUX,
    INSEE_PRENOMS,
)
