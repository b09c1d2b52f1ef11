"""Where the live profile downloads each source, and how sure we are of each address.

Every URL comes from /work/shared/SOURCES.md (the catalogue of live locations, with evidence)
and carries its evidence label:

- `PROD`: seen in the code of a system running in production for the publisher or a public
  operator (strongest);
- `CODE`: seen in public third-party code (real and used, not guaranteed by the publisher);
- `DOCS`: seen in documentation;
- `INFERRED`: deduced from neighbouring evidence, not seen verbatim — verify on first run.

Keys are the observatory source keys (`<provider>__<entity>`). A source may have several
files (`files`) and a file may have `alternatives`, in order of preference; alternatives are
never used silently: several have another format or schema (see their `note`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlencode

import requests

from observatory.sources.http import Expect, FetchedFile, fetch_paginated_json, fetch_url

Evidence = Literal["PROD", "CODE", "DOCS", "INFERRED"]
EVIDENCE_LABELS: tuple[str, ...] = ("PROD", "CODE", "DOCS", "INFERRED")


@dataclass(frozen=True)
class LiveUrl:
    """One address of a file, its expected format and why we believe it."""

    url: str
    evidence: Evidence
    expect: Expect
    seen_in: str  # where the URL was seen (repository, path, commit, date) or documented
    note: str = ""
    paginated: bool = False  # a JSON API with `next` links (`fetch_paginated_json`)


@dataclass(frozen=True)
class LiveFile:
    """One file of a source as landed in the raw layer, and where to download it."""

    name: str
    url: LiveUrl
    alternatives: tuple[LiveUrl, ...] = ()


@dataclass(frozen=True)
class LiveSource:
    key: str
    title: str
    page: str | None  # the publisher's page: where to look when a file URL dies
    files: tuple[LiveFile, ...]
    caveats: str = ""

    @property
    def evidence(self) -> Evidence:
        """The weakest label among the primary URLs of the source's files."""
        return max((f.url.evidence for f in self.files), key=EVIDENCE_LABELS.index)


INSEE_FICHIER = "https://www.insee.fr/fr/statistiques/fichier"
DATAGOUV_R = "https://www.data.gouv.fr/fr/datasets/r"
CARTOGRAPHIE_EXPORT = "https://cartographie.societenumerique.gouv.fr/api/lieux/exporter"


def cartographie_export_url(departements: Iterable[str] | None = None) -> str:
    """The cartographie's CSV export, whole country or restricted to some départements.

    The national export can hit a 504 time-out (the app itself asks to restrict the
    territory): looping over départements is the robust way (SOURCES.md §1).
    """
    if departements is None:
        return CARTOGRAPHIE_EXPORT
    codes = ",".join(departements)
    if not codes:
        raise ValueError("no département given; pass None for the whole country")
    query = urlencode({"territoire_type": "departements", "territoires": codes}, safe=",")
    return f"{CARTOGRAPHIE_EXPORT}?{query}"


_COG_COMMUNES = LiveSource(
    key="cog__communes",
    title="Communes du COG (API Découpage administratif), population municipale, EPCI",
    page="https://geo.api.gouv.fr/decoupage-administratif/communes",
    files=(
        LiveFile(
            name="communes.json",
            url=LiveUrl(
                url=(
                    "https://geo.api.gouv.fr/communes?type=commune-actuelle&zone=metro,drom,com"
                    "&fields=code,nom,zone,codeDepartement,departement,codeRegion,region,"
                    "siren,codeEpci,epci,population,codesPostaux,anciensCodes"
                ),
                evidence="PROD",
                expect="json",
                seen_in=(
                    "gip-inclusion/data-inclusion pipeline/dags/data_inclusion/pipeline/dags/"
                    "import_decoupage_administratif/geoapi.py + constants.py @ d4969e3 "
                    "(2026-06-30, monthly DAG): /communes?zone=metro,drom,com&fields=nom,code,"
                    "centre,codesPostaux,codeEpci,codeDepartement,codeRegion,chefLieu"
                ),
                note=(
                    "Same endpoint and zone filter as the PROD URL; the field list is ours "
                    "(INFERRED: population, zone, siren, anciensCodes, departement/region/epci "
                    "names): every field exists on a commune in datagouv/api-geo build/communes.js "
                    "and lib/helpers.js formatOne @ 4aa0828 (2026-03-30, COG 2026). Parsed by "
                    "observatory.sources.cog_live.parse_geo_api_communes into the flat-file "
                    "columns. COG of the running year: the vintage follows the API."
                ),
            ),
            alternatives=(
                LiveUrl(
                    url="https://unpkg.com/@etalab/decoupage-administratif@6.0.0/data/communes.json",
                    evidence="DOCS",
                    expect="json",
                    seen_in="datagouv/decoupage-administratif README.md @ 98976e5 (2026-03-09)",
                    note=(
                        "The package the bundled CSV was flattened from (6.0.0 = COG 2026, "
                        "pinned); its own schema (departement, region, type…), not the API's: "
                        "needs its own parser."
                    ),
                ),
                LiveUrl(
                    url=f"{INSEE_FICHIER}/8740222/v_commune_2026.csv",
                    evidence="CODE",
                    expect="csv",
                    seen_in=(
                        "MobiSurvStd/MobiSurvStd src/mobisurvstd/resources/insee_data.py @ "
                        "34167ac (2026-04-01), still at d17dd8c (2026-08-18); several others"
                    ),
                    note=(
                        "INSEE's own COG (TYPECOM, COM, DEP, REG, LIBELLE…): no population, "
                        "EPCI or postal codes; keep TYPECOM == 'COM'. Needs its own parser."
                    ),
                ),
            ),
        ),
    ),
    caveats="Licence Ouverte. The 94 communes of overseas collectivities come with zone=com.",
)

GEO_API = "https://geo.api.gouv.fr"
GEO_API_PAGE = "https://geo.api.gouv.fr/decoupage-administratif"
UNPKG_DECOUPAGE = "https://unpkg.com/@etalab/decoupage-administratif@6.0.0/data"
# The PROD client of the routes below: every geo.api.gouv.fr resource, monthly.
DATA_INCLUSION_GEOAPI = (
    "gip-inclusion/data-inclusion pipeline/dags/data_inclusion/pipeline/dags/"
    "import_decoupage_administratif/geoapi.py + dag.py @ d4969e3 (2026-06-30, monthly DAG)"
)
API_GEO_BUILD = "datagouv/api-geo @ 4aa0828 (2026-03-30, COG 2026)"


def _unpkg(name: str, parser_note: str) -> LiveUrl:
    return LiveUrl(
        url=f"{UNPKG_DECOUPAGE}/{name}",
        evidence="DOCS",
        expect="json",
        seen_in="datagouv/decoupage-administratif README.md @ 98976e5 (2026-03-09)",
        note=(
            "The package the bundled CSV was flattened from (6.0.0 = COG 2026, pinned); its "
            f"own schema, not the API's: needs its own parser. {parser_note}"
        ),
    )


_COG_EPCI = LiveSource(
    key="cog__epci",
    title="EPCI à fiscalité propre (API Découpage administratif)",
    page=GEO_API_PAGE,
    files=(
        LiveFile(
            name="epci.json",
            url=LiveUrl(
                url=f"{GEO_API}/epcis?zone=metro,drom&fields=code,nom,type,financement,population",
                evidence="PROD",
                expect="json",
                seen_in=(
                    f"{DATA_INCLUSION_GEOAPI}: /epcis?zone=metro,drom,com (default fields); "
                    "inclusion-numerique/inclusion-numerique apps/web/src/data/buildDatabase/"
                    "buildEpcis.ts (PROD 2024, SOURCES.md §2b): /epcis?fields=nom,code,population"
                ),
                note=(
                    "Same route as the PROD URLs; the field list is ours (INFERRED): type, "
                    "financement (= modeFinancement) and population (= populationMunicipale) "
                    f"are fields of an EPCI in build/epcis.js and definition.yml, {API_GEO_BUILD}. "
                    "EPCI exist only in metro and drom there (zone computed from the member "
                    "communes). Parsed by observatory.sources.cog_live.parse_geo_api_epci; "
                    "population_totale and nb_communes stay null."
                ),
            ),
            alternatives=(_unpkg("epci.json", "Has membres, populationTotale."),),
        ),
    ),
    caveats="Licence Ouverte. EPCI of the running year (DGCL via decoupage-administratif).",
)

_COG_DEPARTEMENTS = LiveSource(
    key="cog__departements",
    title="Départements (API Découpage administratif)",
    page=GEO_API_PAGE,
    files=(
        LiveFile(
            name="departements.json",
            url=LiveUrl(
                url=(
                    f"{GEO_API}/departements?zone=metro,drom,com"
                    "&fields=code,nom,codeRegion,chefLieu,zone"
                ),
                evidence="PROD",
                expect="json",
                seen_in=f"{DATA_INCLUSION_GEOAPI}: /departements?zone=metro,drom,com",
                note=(
                    "Same route and zone filter as the PROD URL (without zone=com the API "
                    "leaves out the overseas collectivities); the field list is ours "
                    "(INFERRED): chefLieu and zone are fields of a département in "
                    f"build/departements.js and definition.yml, {API_GEO_BUILD}. Parsed by "
                    "observatory.sources.cog_live.parse_geo_api_departements; type_liaison "
                    "stays null."
                ),
            ),
            alternatives=(
                _unpkg("departements.json", ""),
                LiveUrl(
                    url=f"{INSEE_FICHIER}/8740222/v_departement_2026.csv",
                    evidence="CODE",
                    expect="csv",
                    seen_in="several independent public repositories (2026), SOURCES.md §2a",
                    note="INSEE's own COG (DEP, REG, CHEFLIEU, TNCC, LIBELLE…): own parser.",
                ),
            ),
        ),
    ),
    caveats="Licence Ouverte.",
)

_COG_REGIONS = LiveSource(
    key="cog__regions",
    title="Régions (API Découpage administratif)",
    page=GEO_API_PAGE,
    files=(
        LiveFile(
            name="regions.json",
            url=LiveUrl(
                url=f"{GEO_API}/regions?zone=metro,drom,com&fields=code,nom,chefLieu,zone",
                evidence="PROD",
                expect="json",
                seen_in=f"{DATA_INCLUSION_GEOAPI}: /regions?zone=metro,drom,com",
                note=(
                    "Same route and zone filter as the PROD URL; the field list is ours "
                    "(INFERRED): chefLieu and zone are fields of a région in build/regions.js "
                    f"and definition.yml, {API_GEO_BUILD}. Parsed by "
                    "observatory.sources.cog_live.parse_geo_api_regions; type_liaison stays "
                    "null."
                ),
            ),
            alternatives=(
                _unpkg("regions.json", ""),
                LiveUrl(
                    url=f"{INSEE_FICHIER}/8740222/v_region_2026.csv",
                    evidence="CODE",
                    expect="csv",
                    seen_in="several independent public repositories (2026), SOURCES.md §2a",
                    note="INSEE's own COG (REG, CHEFLIEU, TNCC, LIBELLE…): own parser.",
                ),
            ),
        ),
    ),
    caveats="Licence Ouverte.",
)

_COG_COMMUNES_DELEGUEES = LiveSource(
    key="cog__communes_deleguees",
    title=(
        "Communes déléguées, associées et arrondissements municipaux (API Découpage administratif)"
    ),
    page=GEO_API_PAGE,
    files=(
        LiveFile(
            name="communes_associees_deleguees.json",
            url=LiveUrl(
                url=(
                    f"{GEO_API}/communes_associees_deleguees"
                    "?fields=code,nom,type,chefLieu,codeDepartement,codeRegion"
                ),
                evidence="PROD",
                expect="json",
                seen_in=(
                    f"{DATA_INCLUSION_GEOAPI}: /communes_associees_deleguees?zone=metro,drom,"
                    "com&fields=nom,code,centre,codesPostaux,codeEpci,codeDepartement,"
                    "codeRegion,chefLieu"
                ),
                note=(
                    "Same route as the PROD URL; the field list is ours (INFERRED): type and "
                    "chefLieu (the commune it belongs to) are among the route's default "
                    f"fields in lib/communeAssocieesDelegueesHelpers.js, {API_GEO_BUILD}. "
                    "`zone` is not a filter of this route (server.js), so it is left out; "
                    "the route answers commune-deleguee and commune-associee by default. "
                    "server.js only defines it when COMMUNES_ASSOCIEES_DELEGUEES is set: "
                    "the production service has it (the PROD client above reads it monthly "
                    "with a session that raises on errors). /communes?type=commune-deleguee "
                    "does NOT work: /communes holds only commune-actuelle and "
                    "arrondissement-municipal (build/communes.js)."
                ),
            ),
            alternatives=(
                _unpkg("communes.json", "Keep type commune-deleguee and commune-associee."),
            ),
        ),
        LiveFile(
            name="arrondissements_municipaux.json",
            url=LiveUrl(
                url=(
                    f"{GEO_API}/communes?type=arrondissement-municipal"
                    "&fields=code,nom,type,codeParent,codeDepartement,codeRegion"
                ),
                evidence="PROD",
                expect="json",
                seen_in=(
                    f"{DATA_INCLUSION_GEOAPI}: /communes?zone=metro,drom,com&fields=nom,code,"
                    "centre,codesPostaux,codeEpci,codeDepartement,codeRegion,chefLieu"
                    "&type=arrondissement-municipal"
                ),
                note=(
                    "Same route and type filter as the PROD URL; the field list is ours "
                    "(INFERRED): codeParent (13055, 69123 or 75056; an arrondissement has no "
                    "chefLieu) is listed in definition.yml and set in build/communes.js, "
                    f"{API_GEO_BUILD}; type is a stored field of every commune there, not "
                    "listed in definition.yml: verify on first run (without it `type` is "
                    "null). 45 rows."
                ),
            ),
        ),
    ),
    caveats=(
        "Licence Ouverte. Two files, both parsed by "
        "observatory.sources.cog_live.parse_geo_api_communes_deleguees; code_arrondissement "
        "stays null."
    ),
)

_COMMUNES_CENTRES = LiveSource(
    key="laposte__communes_coordonnees",
    title="Point de chaque commune : centre de la commune selon geo.api.gouv.fr",
    page=GEO_API_PAGE,
    files=(
        LiveFile(
            name="communes_centres.json",
            url=LiveUrl(
                url=(
                    f"{GEO_API}/communes?type=commune-actuelle&zone=metro,drom,com"
                    "&fields=code,nom,codeDepartement,zone,centre"
                ),
                evidence="PROD",
                expect="json",
                seen_in=(
                    f"{DATA_INCLUSION_GEOAPI}: /communes?zone=metro,drom,com&fields=nom,code,"
                    "centre,codesPostaux,codeEpci,codeDepartement,codeRegion,chefLieu"
                ),
                note=(
                    "Same endpoint, zone filter and `centre` field as the PROD URL; the rest "
                    "of the field list is ours (INFERRED; zone is a field of a commune in "
                    f"build/communes.js, {API_GEO_BUILD}). `centre` is a GeoJSON Point "
                    "[lon, lat]. Parsed by observatory.sources.cog_live.parse_geo_api_centres "
                    "into the columns of the bundled La Poste file, coord_source "
                    "'geo_api_centre'."
                ),
            ),
        ),
    ),
    caveats=(
        "Licence Ouverte. NOT La Poste's point: the live profile replaces it by the API's "
        "centre, a point on the surface of the commune's contour (IGN-derived), rounded to 4 "
        "decimals; distances to it differ from the bundled snapshot's. A commune without a "
        "contour has no centre (coord_source 'absent')."
    ),
)

_MEDNUM_LIEUX = LiveSource(
    key="mednum__lieux",
    title="Lieux de médiation numérique (cartographie nationale, standard La Mednum v1)",
    page="https://cartographie.societenumerique.gouv.fr",
    files=(
        LiveFile(
            name="lieux-inclusion-numerique.csv",
            url=LiveUrl(
                url=CARTOGRAPHIE_EXPORT,
                evidence="PROD",
                expect="csv",
                seen_in=(
                    "anct-cartographie-nationale/cartographie src/app/api/lieux/exporter/"
                    "route.ts @ 690015d (2026-07-10; route added 2026-02-19)"
                ),
                note=(
                    "Route of the production app, not a documented API: best-effort. CSV in "
                    "the standard (32 columns, comma, every field quoted, '|' multi-values). "
                    "A national export can time out (504): use cartographie_export_url(["
                    "'16', …]) per département."
                ),
            ),
            alternatives=(
                LiveUrl(
                    url="https://www.data.gouv.fr/api/1/datasets/r/398edc71-0d51-4cb6-9cbe-2540a4db573c",
                    evidence="CODE",
                    expect="csv",
                    seen_in=(
                        "Guillaume-BR/diag360 src/mediation_numerique_i095.py @ 273c3cd "
                        "(2026-01-28)"
                    ),
                    note=(
                        "National CSV (~17 500 lieux); that this resource belongs to ANCT's "
                        "organisation is NOT verified: check the redirect target first."
                    ),
                ),
                LiveUrl(
                    url="https://d27gljvji6o5x3.cloudfront.net/api/v0/lieux-inclusion-numerique",
                    evidence="PROD",
                    expect="json",
                    seen_in=(
                        "anct-cartographie-nationale/mednum-cli .github/workflows/"
                        "nightly-publish.yml @ e544988 (2026-06-25), job publish-to-s3"
                    ),
                    note="JSON (gzip) feed; a CloudFront host that may change without notice.",
                ),
            ),
        ),
    ),
    caveats="Licence Ouverte 2.0; rebuilt daily, `date_maj` per lieu.",
)

_FRANCE_SERVICES = LiveSource(
    key="france_services__lieux",
    title="Liste des structures France services (ANCT)",
    page="https://www.data.gouv.fr/fr/datasets/liste-des-structures-france-services/",
    files=(
        LiveFile(
            name="france_services.csv",
            url=LiveUrl(
                url=f"{DATAGOUV_R}/31576dff-fd61-4de9-819f-32c2f880b142",
                evidence="PROD",
                expect="csv",
                seen_in=(
                    "anct-carto/france_services src/app.js @ 77f42ba (2025-03-20); "
                    "anct-cartographie-nationale/mednum-cli package.json since ed73738 "
                    "(2025-04-28), still at 525661a (2026-06-29)"
                ),
                note=(
                    "Stable data.gouv resource link (redirects to the dated static file). "
                    "CSV with ';' separator; latitude/longitude sometimes 0 or empty. The "
                    "former resource afc3f97f-… (comma CSV) is superseded: do not use."
                ),
            ),
        ),
    ),
    caveats="Licence Ouverte 2.0; continuously updated, no vintage column.",
)

_AIDANTS_CONNECT = LiveSource(
    key="aidants_connect__structures",
    title="Structures habilitées Aidants Connect (organisations actives)",
    page="https://aidantsconnect.beta.gouv.fr",
    files=(
        LiveFile(
            name="organisations.json",
            url=LiveUrl(
                url="https://aidantsconnect.beta.gouv.fr/api/organisations/?format=json",
                evidence="PROD",
                expect="json",
                paginated=True,
                seen_in=(
                    "anct-cartographie-nationale/mednum-cli package.json @ dd19e7a … removed "
                    "in 5e40bd0 (PROD 2024-01-18 → 2025-01-16); endpoint still defined without "
                    "authentication at betagouv/Aidants_Connect 42814c5 (2026-08-10) "
                    "aidants_connect_web/api/{urls,views,serializers}.py"
                ),
                note=(
                    "Django REST Framework pages of 100 ({count, next, previous, results}); "
                    "the landed file is the concatenated `results`. No longer read in "
                    "production since 2025-01: verify on first run."
                ),
            ),
        ),
    ),
    caveats="Licence not stated by the publisher.",
)

_INSEE_RP_GISPULSE = (
    "imagodata/gispulse plugins/gispulse-src-insee/gispulse_src_insee/source.py @ 99815b4 "
    "(2026-05-26) and several independent repositories"
)


def _rp_files(*names: str) -> tuple[LiveFile, ...]:
    return tuple(
        LiveFile(
            name=name,
            url=LiveUrl(
                url=f"{INSEE_FICHIER}/{page}/{name}",
                evidence="CODE",
                expect="zip",
                seen_in=_INSEE_RP_GISPULSE,
                note=note,
            ),
        )
        for page, name, note in _RP_FILES
        if name in names
    )


_RP_FILES = (
    (
        "8647014",
        "base-ic-evol-struct-pop-2022_csv.zip",
        "Population by age (P22_POP, P22_POP0014, P22_POP1529, P22_POP75P…); ';' CSV in a zip.",
    ),
    (
        "8647010",
        "base-ic-diplomes-formation-2022_csv.zip",
        "Diplomas (P22_NSCOL15P, P22_NSCOL15P_DIPLMIN…).",
    ),
    (
        "8647008",
        "base-ic-couples-familles-menages-2022_csv.zip",
        "Households (C22_MEN, C22_MENPSEUL…).",
    ),
)
_RP_NAMES = tuple(name for _, name, _ in _RP_FILES)

_INSEE_RP_EFFECTIFS = LiveSource(
    key="insee__rp2018_effectifs",
    title="Recensement de la population 2022, bases infracommunales (IRIS): âges et diplômes",
    page="https://www.insee.fr/fr/statistiques/8647014",
    files=_rp_files(*_RP_NAMES[:2]),
    caveats=(
        "Licence Ouverte 2.0. Geography of 1 Jan 2024 (not COG 2026); weighted counts; "
        "encoding detected (UTF-8, else cp1252). IRIS summed by COM into the bundled RP 2018 "
        "layout by observatory.sources.insee_live.parse_rp_effectifs: every commune, not only "
        "those over 2 000 inhabitants."
    ),
)

_INSEE_RP_PARTS = LiveSource(
    key="insee__rp2017_parts",
    title="Recensement de la population 2022, bases infracommunales (IRIS)",
    page="https://www.insee.fr/fr/statistiques/8647014",
    files=_rp_files(*_RP_NAMES),
    caveats=(
        "Licence Ouverte 2.0. The bundled file's shares (Data For Good's definitions, shares "
        "of the 15+ and of households) recomputed from the IRIS counts summed by commune by "
        "observatory.sources.insee_live.parse_rp_parts. Variable names P22_POP65P, P22_POP1517, "
        "P22_POP1824, P22_POP2529, P22_POP30P, C22_MENFAMMONO are INFERRED (INSEE's naming; "
        "SOURCES.md names C22_MEN and C22_MENPSEUL): a name not found is looked up by label in "
        "the zip's meta_ file, else the run stops naming it. Geography of 1 Jan 2024."
    ),
)

_INSEE_FILOSOFI = LiveSource(
    key="insee__filosofi_communes",
    title="Filosofi 2023 : revenus, pauvreté et niveau de vie par commune",
    page="https://www.insee.fr/fr/statistiques/8984752",
    files=(
        LiveFile(
            name="FILOSOFI_CC_csv.zip",
            url=LiveUrl(
                url=f"{INSEE_FICHIER}/8984752/FILOSOFI_CC_csv.zip",
                evidence="CODE",
                expect="zip",
                seen_in="several independent public repositories (2026)",
                note=(
                    "zip → DS_FILOSOFI_CC_2023_data.csv, ';' long format (GEO, GEO_OBJECT, "
                    "FILOSOFI_MEASURE, OBS_VALUE, CONF_STATUS…). Filosofi 2: not comparable "
                    "with 2012–2021."
                ),
            ),
            alternatives=(
                LiveUrl(
                    url="https://api.insee.fr/melodi/file/DS_FILOSOFI_CC/DS_FILOSOFI_CC_2023_CSV_FR",
                    evidence="CODE",
                    expect="zip",
                    seen_in="several independent public repositories (2025–2026)",
                    note="INSEE Melodi file endpoint, same long format.",
                ),
            ),
        ),
    ),
    caveats=(
        "Licence Ouverte 2.0; secret statistique: small communes have no poverty rate. Parsed "
        "by observatory.sources.insee_live.parse_filosofi_cc (MED_SL, PR_MD60; household "
        "counts left null: their measure codes are not documented)."
    ),
)

_INSEE_FILOSOFI_TERRITOIRES = LiveSource(
    key="insee__filosofi_territoires",
    title="Filosofi 2023 : chiffres de l'INSEE pour les EPCI, départements et régions",
    page="https://www.insee.fr/fr/statistiques/8984752",
    files=_INSEE_FILOSOFI.files,
    caveats=(
        "Licence Ouverte 2.0. The communes' zip also holds INSEE's own EPCI, DEP and REG rows "
        "(GEO_OBJECT): parsed by observatory.sources.insee_live.parse_filosofi_territoires into "
        "one frame whose niveau_filosofi column replaces the three bundled file names. Same "
        "file downloaded twice (once per source): each source keeps its own raw snapshot."
    ),
)

_ARCEP_THD = LiveSource(
    key="arcep__thd",
    title="Ma connexion internet : éligibilité au haut et très haut débit par commune (ARCEP)",
    page="https://www.data.gouv.fr/datasets/ma-connexion-internet/",
    files=tuple(
        LiveFile(
            name=name,
            url=LiveUrl(
                url=(
                    "https://data.arcep.fr/fixe/maconnexioninternet/statistiques/last/"
                    f"commune/{name}"
                ),
                evidence="CODE",
                expect="csv",
                seen_in="several independent public repositories (2025–2026)",
                note=note,
            ),
        )
        for name, note in (
            (
                "commune_debit_filaire.csv",
                "Wired only (recommended): code_insee, nbr, elig_thd30…; ';' separator.",
            ),
        )
    ),
    caveats=(
        "Licence Ouverte 2.0; quarterly, `last/` is an alias of the newest edition (record the "
        "`date` column). Commune names have damaged accents: take names from the COG. Parsed by "
        "observatory.sources.arcep_live. Sibling file commune_meilleure_techno_thd.csv (each "
        "local under its best technology: elig_ftth, elig_4gf, elig_sat…) is not downloaded."
    ),
)

_CAF = LiveSource(
    key="caf__allocataires_communes",
    title="Allocataires CAF par commune et prestation (s_ben_com_f)",
    page="https://data.caf.fr/explore/dataset/s_ben_com_f/",
    files=(
        LiveFile(
            name="s_ben_com_f.csv",
            url=LiveUrl(
                url=(
                    "https://data.caf.fr/api/explore/v2.1/catalog/datasets/s_ben_com_f/"
                    "exports/csv?delimiter=%3B"
                ),
                evidence="CODE",
                expect="csv",
                seen_in="one 2026 public project with column checks; another project's catalogue",
                note=(
                    "Opendatasoft export; dtreffre, numcomdo (PLM by arrondissement), "
                    "indfoy_ndur, indfoy_rsa… Counts rounded to 5."
                ),
            ),
        ),
    ),
    caveats=(
        "Licence Ouverte; December of each year since 2020. Parsed by "
        "observatory.sources.caf_live.parse_s_ben_com_f (latest dtreffre)."
    ),
)

_CAF_RSA = LiveSource(
    key="caf__rsa_iris",
    title="Foyers allocataires du RSA par commune (s_ben_com_f, indfoy_rsa)",
    page="https://data.caf.fr/explore/dataset/s_ben_com_f/",
    files=_CAF.files,
    caveats=(
        "Licence Ouverte. No IRIS-level RSA file is published (SOURCES.md §9): live, the RSA "
        "foyers come by commune from the same export as caf__allocataires_communes (downloaded "
        "once per source, each keeping its own raw snapshot), parsed by "
        "observatory.sources.caf_live.parse_s_ben_com_f_rsa and staged without the IRIS table "
        "(statistics.stage_caf_rsa_communes). Alternative: rsa_s_type_com_f (RSA by type)."
    ),
)

_DARES = LiveSource(
    key="pole_emploi__defm",
    title="Demandeurs d'emploi inscrits à France Travail, données communales trimestrielles",
    page=(
        "https://www.data.gouv.fr/fr/datasets/"
        "demandeurs-demploi-inscrits-a-france-travail-donnees-communales-trimestrielles-brutes/"
    ),
    files=(
        LiveFile(
            name="dares_defm_communales-brutes.csv",
            url=LiveUrl(
                url=(
                    "https://data.dares.travail-emploi.gouv.fr/api/explore/v2.1/catalog/"
                    "datasets/dares_defm_communales-brutes/exports/csv?use_labels=true"
                ),
                evidence="CODE",
                expect="csv",
                seen_in="several independent public repositories (2025–2026)",
                note=(
                    "~2.1 M rows, ';' separator, UTF-8 BOM; long format (commune × sexe × "
                    "âge × quarter). Break in series from 2025."
                ),
            ),
            alternatives=(
                LiveUrl(
                    url=(
                        "https://data.dares.travail-emploi.gouv.fr/api/explore/v2.1/catalog/"
                        "datasets/dares_defm_communales-brutes/exports/parquet"
                    ),
                    evidence="CODE",
                    expect="parquet",
                    seen_in="several independent public repositories (2025–2026)",
                    note="Technical column names (date, code_commune, …), smaller download.",
                ),
            ),
        ),
    ),
    caveats=(
        "Licence not confirmed; small values masked. Parsed by "
        "observatory.sources.dares_live.parse_defm_communales (ABC only: ABCDE and ABC_RSA "
        "are not in this dataset)."
    ),
)

_BASSINS_DE_VIE = LiveSource(
    key="insee__zonages",
    title=(
        "Table d'appartenance géographique des communes 2026 (bassins de vie 2022, aires "
        "d'attraction des villes 2020…)"
    ),
    page="https://www.insee.fr/fr/information/7671844",
    files=(
        LiveFile(
            name="table-appartenance-geo-communes-2026.zip",
            url=LiveUrl(
                url=f"{INSEE_FICHIER}/7671844/table-appartenance-geo-communes-2026.zip",
                evidence="CODE",
                expect="zip",
                seen_in=(
                    "several independent public repositories (2026; one unit test asserts "
                    "this exact path), SOURCES.md §2a"
                ),
                note=(
                    "xlsx in a zip, sheets COM, ARM, Zones_supra_communales, header on row 6: "
                    "the table the bundled file was built from (COGiter, 2025 edition). "
                    "Parsed by observatory.sources.insee_live.parse_table_appartenance."
                ),
            ),
            alternatives=(
                LiveUrl(
                    url=f"{INSEE_FICHIER}/7671844/table-appartenance-geo-communes-2025.zip",
                    evidence="CODE",
                    expect="zip",
                    seen_in=(
                        "MaelTheuliere/COGiter data-raw/3.zonages_supra_insee_et_datasets_"
                        "internes.R @ 4536aa3; InseeFrLab/DoReMIFaSol"
                    ),
                    note="The 2025 edition (COG 2025 codes = COG 2026 ones), same layout.",
                ),
                LiveUrl(
                    url=f"{INSEE_FICHIER}/6676988/BV2022_au_01-01-2025.zip",
                    evidence="CODE",
                    expect="zip",
                    seen_in=(
                        "InseeFrLab/DoReMIFaSol data-raw/liste_donnees.json @ ddcc13c (2025-10-14)"
                    ),
                    note=(
                        "Bassins de vie only (sheets BV2022 and Composition_communale, header "
                        "on row 6): no AAV; needs its own parser."
                    ),
                ),
                LiveUrl(
                    url=f"{INSEE_FICHIER}/6676988/BV2022_au_01-01-2026.zip",
                    evidence="INFERRED",
                    expect="zip",
                    seen_in="pattern of the 2023/2024/2025 files on the same page",
                    note="Would be on COG 2026; not seen: try first, fall back to 2025.",
                ),
            ),
        ),
    ),
    caveats="Licence Ouverte 2.0; 1 707 bassins de vie on COG 2025; AAV 2020.",
)

_GRILLE_DENSITE = LiveSource(
    key="anct__grilles_communales",
    title="Grille communale de densité (7 niveaux), géographie 2026",
    page="https://www.insee.fr/fr/information/8571524",
    files=(
        LiveFile(
            name="fichier_diffusion_2026.xlsx",
            url=LiveUrl(
                url=f"{INSEE_FICHIER}/8571524/fichier_diffusion_2026.xlsx",
                evidence="CODE",
                expect="xlsx",
                seen_in=(
                    "MobiSurvStd/MobiSurvStd src/mobisurvstd/resources/insee_data.py @ "
                    "34167ac (2026-04-01, 2021–2025 files); several independent repositories "
                    "(2026 file)"
                ),
                note=(
                    "Sheet 'Maille communale': CODGEO, DENS7, LIBDENS7, header on row 5 (other "
                    "mailles in other sheets). The suffix appears to be the geography year "
                    "(2025 grid on the 2026 COG): verify on first run. Parsed by "
                    "observatory.sources.insee_live.parse_grille_densite."
                ),
            ),
        ),
    ),
    caveats=(
        "Licence Ouverte 2.0. INSEE's grid only: the ANCT typologies of the bundled export "
        "(centralité, ruralité, massif) stay null in a live run."
    ),
)

_INSEE_PASSAGE = LiveSource(
    key="insee__passage_communes",
    title="Table de passage des codes communes depuis 2003 vers le COG 2026 (INSEE)",
    page="https://www.insee.fr/fr/information/7671867",
    files=(
        LiveFile(
            name="table_passage_geo2003_geo2026.zip",
            url=LiveUrl(
                url=f"{INSEE_FICHIER}/7671867/table_passage_geo2003_geo2026.zip",
                evidence="CODE",
                expect="zip",
                seen_in=(
                    "MobiSurvStd/MobiSurvStd src/mobisurvstd/resources/insee_data.py @ "
                    "34167ac (2026-04-01), SOURCES.md §2a"
                ),
                note=(
                    "xlsx in a zip, header on row 6: CODGEO_INI → CODGEO_2026. Parsed by "
                    "observatory.sources.insee_live.parse_table_passage (one target per code, "
                    "splits left to the movements as with the bundled COGiter table)."
                ),
            ),
            alternatives=(
                LiveUrl(
                    url=f"{INSEE_FICHIER}/7671867/table_passage_geo2003_geo2025.zip",
                    evidence="CODE",
                    expect="zip",
                    seen_in="MobiSurvStd insee_data.py history; InseeFrLab/DoReMIFaSol",
                    note="The 2025 edition (CODGEO_2025), same layout and parser.",
                ),
            ),
        ),
    ),
    caveats=(
        "Licence Ouverte 2.0. Codes since 2003 only (the bundled COGiter table goes back to "
        "1943): older codes are resolved from the movements."
    ),
)

_INSEE_MOUVEMENTS = LiveSource(
    key="insee__mouvements_communes",
    title="Mouvements des communes depuis 1943 (COG 2026, v_mvt_commune_2026)",
    page="https://www.insee.fr/fr/information/8740222",
    files=(
        LiveFile(
            name="v_mvt_commune_2026.csv",
            url=LiveUrl(
                url=f"{INSEE_FICHIER}/8740222/v_mvt_commune_2026.csv",
                evidence="CODE",
                expect="csv",
                seen_in="several independent public repositories (2026), SOURCES.md §2a",
                note=(
                    "Comma-separated UTF-8, INSEE's columns MOD, DATE_EFF, TYPECOM_AV … "
                    "LIBELLE_AP: the bundled file is COGiter's copy of the 2025 edition. "
                    "Parsed by observatory.sources.insee_live.parse_mouvements_communes."
                ),
            ),
            alternatives=(
                LiveUrl(
                    url=f"{INSEE_FICHIER}/8377162/v_mvt_commune_2025.csv",
                    evidence="CODE",
                    expect="csv",
                    seen_in="MaelTheuliere/COGiter data-raw/2.raw_data_cog.R @ 4536aa3",
                    note="The 2025 edition: the bundled snapshot's content.",
                ),
            ),
        ),
    ),
    caveats="Licence Ouverte 2.0. Events dated 2026-01-01 create no new commune code.",
)

LIVE_URLS: dict[str, LiveSource] = {
    source.key: source
    for source in (
        _COG_COMMUNES,
        _COG_EPCI,
        _COG_DEPARTEMENTS,
        _COG_REGIONS,
        _COG_COMMUNES_DELEGUEES,
        _COMMUNES_CENTRES,
        _MEDNUM_LIEUX,
        _FRANCE_SERVICES,
        _AIDANTS_CONNECT,
        _INSEE_RP_EFFECTIFS,
        _INSEE_RP_PARTS,
        _INSEE_FILOSOFI,
        _INSEE_FILOSOFI_TERRITOIRES,
        _ARCEP_THD,
        _CAF,
        _CAF_RSA,
        _DARES,
        _BASSINS_DE_VIE,
        _GRILLE_DENSITE,
        _INSEE_PASSAGE,
        _INSEE_MOUVEMENTS,
    )
}


# Sources of the catalogue without any live URL, and why (SOURCES.md): they land from the
# bundled snapshot in a live run (`profil: live:instantane`).
SANS_FICHIER_LIVE: dict[str, str] = {
    "insee__taux_illectronisme": (
        "National rates written by hand from INSEE's publications (Insee Analyses n° 85, Insee "
        "Première n° 1780 and n° 1953): no file to download; replace the table when INSEE "
        "publishes new figures (assets/insee_illectronisme/PROVENANCE.md)."
    ),
    "insee__taux_difficulte_numerique": (
        "National rates by age written by hand from Insee Références 2025, figure 1: no file "
        "to download (assets/insee_difficultes_numeriques/PROVENANCE.md)."
    ),
    "conseillers_numeriques__lieux": (
        "No public bulk file of conseillers numériques since the permanences API was retired "
        "(2025-01, SOURCES.md §4); the Coop API needs a key. Lieux flagged 'Conseillers "
        "numériques' come with mednum__lieux."
    ),
    "mednum__bus_france_services_16": (
        "A one-off file of the cartographie's client (2023); no live file of its own. Its "
        "stops are in the national lieux export (mednum__lieux) when still published."
    ),
    "dfg__couverture_mobile": (
        "ARCEP publishes no commune-level mobile coverage table (SOURCES.md §8b: GeoPackage "
        "polygons per operator, ≈ 3.8 GB); the Data For Good proxy has no live equivalent."
    ),
    "caf__allocataires_epci": (
        "No EPCI-level allocataires dataset seen on data.caf.fr (SOURCES.md §9); the commune "
        "file (caf__allocataires_communes, live) covers the same foyers."
    ),
    "insee__table_iris": (
        "reference_IRIS_geo2024.zip (CODE, SOURCES.md §2a) is on another IRIS geography than "
        "the bundled CAF IRIS file, and live RSA comes by commune (caf__rsa_iris from "
        "s_ben_com_f): the IRIS table is only read with the bundled IRIS file."
    ),
    "ign__contours_communes": (
        "Contours change with the COG only (once a year); the live files (contours-administratifs "
        "communes-50m GeoJSON, SOURCES.md §2b) are not simplified for maps. The simplified "
        "snapshot is rebuilt by hand at each COG (assets/ign_contours_communes/construire.py)."
    ),
    "france_services__lieux_2020": (
        "An archived vintage (the 2020 list of the first labelling wave): it never changes, "
        "the live list is france_services__lieux."
    ),
}


def live_source(key: str) -> LiveSource:
    """The live locations of a source; a clear error for a source without any."""
    try:
        return LIVE_URLS[key]
    except KeyError:
        raise KeyError(
            f"{key}: no live URL is known for this source (observatory/sources/live.py); "
            f"known: {', '.join(sorted(LIVE_URLS))}"
        ) from None


def fetch_live_file(
    file: LiveFile,
    *,
    session: requests.Session | None = None,
    timeout: float = 60,
    max_attempts: int = 4,
) -> FetchedFile:
    """Download the primary URL of a file (never an alternative: their formats differ).

    A paginated API is fetched page by page; the returned content is then the concatenated
    results as one JSON array.
    """
    live = file.url
    if live.paginated:
        pages = fetch_paginated_json(
            live.url, session=session, timeout=timeout, max_attempts=max_attempts
        )
        return pages.as_fetched()
    return fetch_url(
        live.url,
        timeout=timeout,
        expect=live.expect,
        session=session,
        max_attempts=max_attempts,
    )
