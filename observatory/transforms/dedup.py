"""Deduplication of lieux de médiation numérique listed by several registries.

The same place is often listed by several registries (the conseillers numériques export, the
France services list, Aidants Connect, a département's file…), with different ids, spellings
and geocodings. `find_duplicate_pairs` compares places within the same commune only
(blocking by `code_commune` keeps the comparison small) and says which pairs are the same
place; `duplicate_groups` closes them transitively and `merge_duplicates` turns each group
into one row.

A place is one set of premises where one structure receives the public; the national
programmes it hosts (France services, Aidants Connect, conseillers numériques) are attributes
of it, not other places. The matcher is deliberately cautious: a wrong merge silently deletes
a place from the observatoire, a missed duplicate only counts it twice. Every threshold below
was set on the hand-labelled real pairs of `tests/fixtures/paires_lieux_etiquetees.csv` (see
its README), favouring precision.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl
from rapidfuzz import fuzz, process

from observatory.geo import haversine_km
from observatory.transforms.lieux import PIVOT_INCONNU, SEPARATEUR_V1
from observatory.transforms.names import normalise_nom

CLE = ("jeu_de_donnees", "id")
COLONNES_REQUISES = (
    *CLE,
    "pivot",
    "nom",
    "adresse",
    "commune",
    "code_commune",
    "latitude",
    "longitude",
)
COLONNES_UNION = ("services", "dispositif_programmes_nationaux")

# Evidence for the thresholds: the 70 labelled real pairs of
# tests/fixtures/paires_lieux_etiquetees.csv (pair numbers below), and, read by eye, the
# pairs found when the national France services list (2 683 sites) is matched with the
# national conseillers numériques export (4 930 lieux).
#
# Name similarity (rapidfuzz token_sort_ratio, 0-100, of the names reduced by
# `normalise_nom_lieu` and `_nom_compare`) from which two co-located places are the same.
# Every labelled duplicate found on its name scores 100 ("Mairie Aigre" / "COMMUNE D AIGRE"
# → MAIRIE / MAIRIE, pair 3); labelled different places score at most 81 (the two "CTAS
# Bordeaux" of Angoulême, pair 41), except two establishments of one name (pair 43, told apart
# by their SIRETs). Nationally, duplicates at one address still score 85-90 ("Pôle Croix-Rouge
# française de Chauny" / "CROIX ROUGE FRANCAISE": 89), while a médiathèque and its
# communauté de communes at one address score 80. token_set_ratio is not used: it scores 100
# whenever one name's words are a subset of the other's ("MAIRIE" / "MAIRIE SAINT FORT SUR
# NE", two different mairies in Segonzac, pair 50).
SEUIL_NOM = 85.0
# Pairs evaluated at once (names and addresses scored, distances): memory stays bounded
PAIRES_PAR_LOT = 500_000
# Beyond this many places in one commune, only the pairs that can be duplicates are compared
LIEUX_COMPARES_DEUX_A_DEUX = 2_000
# Below the km of a degree on `haversine_km`'s sphere (111.2): squares a little too large, safe
KM_PAR_DEGRE = 110.5
# Address similarity (token_sort_ratio of the street words and numbers, street types and
# postal code dropped) from which two addresses are the same; the first house numbers must
# agree too. The same address typed differently scores 87-100 on the labelled duplicates
# ("22 Rue Laugerias" / "22 Rue Laugenas": 87, pair 16; "40 Grande Rue" / "40 rue grand rue":
# 100, pair 13), 86 for "2 Rue Jean Rémon" / "2 Rue j.rémon" in the Charente file; different
# streets score at most 60 (pair 55: "39 rue du 8 Mai" / "48 bis rue du 8 Mai", other numbers).
# An address alone never makes a duplicate: 6 labelled pairs of different places share one.
SEUIL_ADRESSE = 85.0
# Without an agreeing address, two points at most this far apart are the same building, if
# their addresses do not contradict each other (see `find_duplicate_pairs`). The labelled
# duplicates that need it are 28 m apart (FOYER LAIQUE… at 7 and CSCS FLEP at 9 boulevard Léon
# Blum, pair 29); registries copy each other's geocodes, most duplicates are 0-20 m apart. A
# few hundred metres is too much in a small town: the mairie, the médiathèque annexe and the
# France services of Segonzac lie within 170 m (pairs 48, 51), two "France services" records
# of Rouillac 245 m apart disagree on the address, different places are 47 m apart in Cognac
# (pair 47).
DISTANCE_DOUBLON_KM = 0.1

MOTS_VIDES = (
    "A",
    "AU",
    "AUX",
    "D",
    "DE",
    "DES",
    "DU",
    "EN",
    "ET",
    "L",
    "LA",
    "LE",
    "LES",
    "SUR",
)
# Spellings of the same thing in names: (regex on the output of `normalise_nom`, replacement).
# National programmes become one word each, so that they can be set aside (`PROGRAMMES`).
EQUIVALENCES_NOM = (
    (r"\b(?:ESPACES?|MAISONS?) (?:DE )?FRANCE SERVICES?\b", "FRANCE_SERVICES"),
    (r"\bFRANCE SERVICES?\b", "FRANCE_SERVICES"),
    (r"\bMSAP\b", "FRANCE_SERVICES"),  # Maisons de services au public, relabelled in 2020
    (r"\bAIDANTS? CONNECT\b", "AIDANTS_CONNECT"),
    (r"\bCONSEILLERS? NUMERIQUES?(?: FRANCE_SERVICES)?\b", "CONSEILLERS_NUMERIQUES"),
    (r"\bMAISON (?:DES )?JEUNES (?:ET )?(?:DE LA )?CULTURE\b", "MJC"),
    (r"\b(?:COMMUNE|VILLE)\b", "MAIRIE"),  # "COMMUNE DE X" is how SIRENE names a mairie
    (r"\bCC\b", "COMMUNAUTE COMMUNES"),
    (r"\bCA\b", "COMMUNAUTE AGGLOMERATION"),
    (r"\bASSO?\b", "ASSOCIATION"),
)
# A programme in a name says what is offered, not where: "France services Effervescentre" is
# the centre social Effervescentre (labelled pairs 30, 31). Names are compared without them,
# unless nothing else is left ("France services de Vars").
PROGRAMMES = ("FRANCE_SERVICES", "AIDANTS_CONNECT", "CONSEILLERS_NUMERIQUES")
# Abbreviations of street words (after `normalise_nom`), and the street types, which people
# swap freely ("Impasse Joseph Niepce" / "RUE JOSEPH NIEPCE") and are dropped.
ABREVIATIONS_ADRESSE = {
    "AV": "AVENUE",
    "AVE": "AVENUE",
    "BD": "BOULEVARD",
    "BLD": "BOULEVARD",
    "BVD": "BOULEVARD",
    "PL": "PLACE",
    "IMP": "IMPASSE",
    "ALL": "ALLEE",
    "RTE": "ROUTE",
    "CHE": "CHEMIN",
    "CHEM": "CHEMIN",
    "GAL": "GENERAL",
    "GEN": "GENERAL",
    "DR": "DOCTEUR",
    "PDT": "PRESIDENT",
    "GRAND": "GRANDE",
    "GDE": "GRANDE",
}
TYPES_VOIE = (
    "ALLEE",
    "AVENUE",
    "BOULEVARD",
    "CHEMIN",
    "COURS",
    "ESPLANADE",
    "IMPASSE",
    "PASSAGE",
    "PLACE",
    "QUAI",
    "RAMPE",
    "ROUTE",
    "RUE",
    "RUELLE",
    "SENTIER",
    "SQUARE",
    "VOIE",
)
# An itinerant service (a France services bus) is not the fixed place it starts from or stops
# at, even at the same address under almost the same name: the national France services list
# labels "Bus France services Pimms Médiation Lens" and "France services Pimms Médiation de
# Lens", both at 49 place du Général de Gaulle, as two sites.
ITINERANT = r"\b(?:BUS|ITINERANTE?S?|ITINERANCE)\b"
# SIREN of La Poste: its SIRETs are checked by digit sum (multiple of 5), not by Luhn (INSEE).
SIREN_LA_POSTE = "356000000"


def pivot_valide(pivot: pl.Expr) -> pl.Expr:
    """True for a real SIRET: 14 digits, not the standard's "unknown" zeros, checksum right.

    The checksum catches typed SIRETs: the real file carries the CC La Rochefoucauld Porte du
    Périgord both as 20006891400015 and as 20006801400015 (a typo failing Luhn), which must
    not count as two different establishments.
    """
    digits = [pivot.str.slice(i, 1).cast(pl.Int32, strict=False) for i in range(14)]
    # Luhn from the right: for 14 digits the doubled ones sit at even positions from the left.
    luhn = pl.sum_horizontal(
        ((d * 2) - pl.when(d * 2 > 9).then(9).otherwise(0)) if i % 2 == 0 else d
        for i, d in enumerate(digits)
    )
    somme = pl.sum_horizontal(digits)
    return (
        pivot.str.contains(r"^\d{14}$").fill_null(False)
        & (pivot != PIVOT_INCONNU)
        & pl.when(pivot.str.starts_with(SIREN_LA_POSTE))
        .then(somme % 5 == 0)
        .otherwise(luhn % 10 == 0)
    ).fill_null(False)


def normalise_nom_lieu(nom: pl.Expr) -> pl.Expr:
    """A place name reduced to comparable words: upper-case ASCII, generic spellings unified.

    "Espace France Services de Barbezieux" and "France Services de Barbezieux" differ only in
    ways registries do not agree on. Returns the list of words, articles dropped; the words of
    the commune are dropped pair by pair (`_nom_compare`).
    """
    texte = normalise_nom(nom)
    for motif, remplacement in EQUIVALENCES_NOM:
        texte = texte.str.replace_all(motif, remplacement)
    return texte.str.split(" ").list.filter(~pl.element().is_in(MOTS_VIDES))


def normalise_adresse(adresse: pl.Expr) -> pl.Expr:
    """An address reduced to its street words and numbers (postal code and town dropped)."""
    texte = normalise_nom(adresse).str.replace(r"\b\d{5}\b.*$", "").str.strip_chars()
    return (
        texte.str.split(" ")
        .list.eval(pl.element().replace(ABREVIATIONS_ADRESSE))
        .list.filter(~pl.element().is_in([*MOTS_VIDES, *TYPES_VOIE]) & (pl.element() != ""))
    )


def _prepare(lieux: pl.DataFrame) -> pl.DataFrame:
    manquantes = [c for c in COLONNES_REQUISES if c not in lieux.columns]
    if manquantes:
        raise ValueError(f"colonnes manquantes pour le dédoublonnage : {manquantes}")
    textes = ["pivot", "nom", "adresse", "commune", "code_commune"]
    return (
        lieux.with_columns(pl.col(textes).cast(pl.String))
        .filter(pl.col("code_commune").is_not_null())
        .select(
            *CLE,
            "code_commune",
            "pivot",
            pivot_valide(pl.col("pivot")).alias("_pivot_valide"),
            normalise_nom_lieu(pl.col("nom")).alias("_mots_nom"),
            _itinerant(lieux.columns).alias("_itinerant"),
            normalise_nom_lieu(pl.col("commune")).alias("_mots_commune"),
            normalise_adresse(pl.col("adresse")).list.join(" ").alias("_adresse"),
            normalise_nom(pl.col("adresse"))
            .str.replace(r"\b\d{5}\b.*$", "")
            .str.extract(r"(\d+)", 1)
            .cast(pl.Int64, strict=False)
            .alias("_numero"),
            pl.col("latitude").cast(pl.Float64, strict=False).alias("_lat"),
            pl.col("longitude").cast(pl.Float64, strict=False).alias("_lon"),
        )
        .sort(CLE)
        .with_row_index("_i")
    )


def _itinerant(colonnes: Sequence[str]) -> pl.Expr:
    """True for an itinerant service: by its name, or by the standard's `itinerance`."""
    par_nom = normalise_nom(pl.col("nom")).str.contains(ITINERANT).fill_null(False)
    if "itinerance" not in colonnes:
        return par_nom
    return par_nom | (pl.col("itinerance") == "Itinérant").fill_null(False)


def _nom_compare(cote: str) -> pl.Expr:
    """The words of one side's name that can tell it apart from the other side's.

    The words of the commune both sides are in are dropped ("Mairie Segonzac" → MAIRIE), then
    the programmes, each unless nothing is left. Only the words *both* typed communes share
    are dropped: "COMMUNE DE CHERVES RICHEMONT" and "COMMUNE DE SAINT SULPICE DE COGNAC", two
    mairies déléguées of Val-de-Cognac, must not both become MAIRIE. Commune names go through
    the same normalisation as place names, so that "Mairie La Ville-Dieu-du-Temple" does not
    keep a MAIRIE made of the commune's "Ville".
    """
    mots = pl.col(f"_mots_nom_{cote}")
    sans_commune = mots.list.set_difference(
        pl.col("_mots_commune_a").list.set_intersection(pl.col("_mots_commune_b"))
    )
    distinctifs = sans_commune.list.filter(~pl.element().is_in(PROGRAMMES))
    return (
        pl.when(distinctifs.list.len() > 0)
        .then(distinctifs)
        .when(sans_commune.list.len() > 0)
        .then(sans_commune)
        .otherwise(mots)
        .list.join(" ")
    )


def _similarite(
    a: pl.Series, b: pl.Series, scorer: Callable[..., float] = fuzz.token_sort_ratio
) -> pl.Series:
    """`scorer` of each pair (vectorised by rapidfuzz); null when a side is empty."""
    a, b = a.fill_null(""), b.fill_null("")
    if a.len() == 0:
        return pl.Series(dtype=pl.Float64)
    scores = process.cpdist(a.to_list(), b.to_list(), scorer=scorer, workers=-1)
    return pl.select(
        pl.when((a != "") & (b != "")).then(pl.Series(scores, dtype=pl.Float64).round(2))
    ).to_series()


def find_duplicate_pairs(
    lieux: pl.DataFrame,
    seuil_nom: float = SEUIL_NOM,
    seuil_adresse: float = SEUIL_ADRESSE,
    distance_max_km: float = DISTANCE_DOUBLON_KM,
    toutes_les_paires: bool = False,
) -> pl.DataFrame:
    """Pairs of places of the same commune that are the same place, with the evidence.

    `lieux` needs `jeu_de_donnees`, `id` (the key), `pivot`, `nom`, `adresse`, `commune`,
    `code_commune`, `latitude`, `longitude` (and uses `itinerance` if present); places without
    `code_commune` are not compared. A pair is a duplicate when the two places are
    co-located — the same address (street words from `seuil_adresse`, same house number), or
    points at most `distance_max_km` apart with addresses that do not contradict each other —
    and identified as one — the same valid SIRET (`pivot_valide`), or names similar from
    `seuil_nom`. A SIRET alone is not enough: networks reuse one SIRET for several sites (two
    "CTAS Bordeaux" 1.3 km apart in Angoulême share one). Never a duplicate: two different
    valid SIRETs, which are two establishments even under one name ("CA DU GRAND COGNAC",
    twice in Jarnac, 270 m apart), nor an itinerant service (a bus) and a fixed place.

    Returns one row per pair, `(jeu_de_donnees_a, id_a) < (jeu_de_donnees_b, id_b)`, with
    `code_commune`, `similarite_nom`, `similarite_adresse` (0-100, null when a side is empty),
    `numeros_differents`, `adresses_compatibles`, `distance_km`, `meme_pivot`,
    `pivots_differents`, `regle` (`pivot` or `nom`, null when not a duplicate) and `doublon`;
    only the duplicates unless `toutes_les_paires`. Scores are computed by rapidfuzz over all
    the pairs at once (`process.cpdist`).
    """
    prepares = _prepare(lieux)
    candidates = paires_candidates(prepares, distance_max_km)
    lots = [
        _evalue(
            prepares,
            candidates.slice(debut, PAIRES_PAR_LOT),
            seuil_nom,
            seuil_adresse,
            distance_max_km,
            toutes_les_paires,
        )
        for debut in range(0, max(candidates.height, 1), PAIRES_PAR_LOT)
    ]
    return pl.concat(lots).sort("jeu_de_donnees_a", "id_a", "jeu_de_donnees_b", "id_b")


def paires_candidates(prepares: pl.DataFrame, distance_max_km: float) -> pl.DataFrame:
    """The pairs (`_i_a` < `_i_b`) worth comparing, as indices only (8 bytes a pair).

    Every pair of a commune's places, unless the commune holds more than
    `LIEUX_COMPARES_DEUX_A_DEUX` places (a file of thousands of places in one town: millions
    of pairs, the run's memory exhausted). There, only the pairs that can be duplicates: points
    on the same or adjacent squares of `distance_max_km` (every pair at most that far apart),
    or the same house number (a same address needs one), or the same normalised address for a
    place without a number. A block that is itself larger than `LIEUX_COMPARES_DEUX_A_DEUX`
    (thousands of places on one square, or at one number) is compared on the same normalised
    address only. Only there can two spellings of one address be left uncompared.
    """
    index = prepares.select("_i", "code_commune", "_lat", "_lon", "_adresse", "_numero")
    petites = index.filter(pl.len().over("code_commune") <= LIEUX_COMPARES_DEUX_A_DEUX)
    grandes = index.filter(pl.len().over("code_commune") > LIEUX_COMPARES_DEUX_A_DEUX)
    pas_lat = distance_max_km / KM_PAR_DEGRE
    # a degree of longitude is shortest at the commune's point furthest from the equator
    pas_lon = pas_lat / pl.col("_lat").abs().max().over("code_commune").radians().cos()
    cases = grandes.filter(pl.col("_lat").is_not_null() & pl.col("_lon").is_not_null()).select(
        "_i",
        "code_commune",
        "_adresse",
        (pl.col("_lat") / pas_lat).floor().cast(pl.Int64).alias("_y"),
        (pl.col("_lon") / pas_lon).floor().cast(pl.Int64).alias("_x"),
    )
    voisines = (
        cases.join(
            pl.DataFrame({"_dy": [-1, -1, -1, 0, 0, 0, 1, 1, 1], "_dx": [-1, 0, 1] * 3}),
            how="cross",
        )
        .with_columns(pl.col("_y") + pl.col("_dy"), pl.col("_x") + pl.col("_dx"))
        .drop("_dy", "_dx")
    )
    numerotees = grandes.filter(pl.col("_numero").is_not_null())
    sans_numero = grandes.filter(pl.col("_numero").is_null())
    blocs = [
        (petites, ["code_commune"], petites),
        (voisines, ["code_commune", "_y", "_x"], cases),
        (numerotees, ["code_commune", "_numero"], numerotees),
        (sans_numero, ["code_commune", "_adresse"], grandes),
    ]
    paires = [_paires_du_bloc(gauche, cle, droite) for gauche, cle, droite in blocs]
    return pl.concat(paires).filter(pl.col("_i_a") < pl.col("_i_b")).unique().sort("_i_a", "_i_b")


def _paires_du_bloc(gauche: pl.DataFrame, cle: list[str], droite: pl.DataFrame) -> pl.DataFrame:
    """Pairs of places sharing `cle`; within a block larger than `LIEUX_COMPARES_DEUX_A_DEUX`
    on the right, only those that also share their normalised address."""
    taille = droite.group_by(cle).len()
    droite = droite.join(taille, on=cle)
    gauche = gauche.join(taille, on=cle)
    petits = gauche.filter(pl.col("len") <= LIEUX_COMPARES_DEUX_A_DEUX).join(
        droite.filter(pl.col("len") <= LIEUX_COMPARES_DEUX_A_DEUX).select(*cle, "_i"),
        on=cle,
        suffix="_b",
    )
    adresse = [*cle, "_adresse"] if "_adresse" not in cle else cle
    grands = gauche.filter(pl.col("len") > LIEUX_COMPARES_DEUX_A_DEUX).join(
        droite.filter(pl.col("len") > LIEUX_COMPARES_DEUX_A_DEUX).select(*adresse, "_i"),
        on=adresse,
        suffix="_b",
    )
    return pl.concat([p.select(pl.col("_i").alias("_i_a"), "_i_b") for p in (petits, grands)])


def _evalue(
    prepares: pl.DataFrame,
    candidates: pl.DataFrame,
    seuil_nom: float,
    seuil_adresse: float,
    distance_max_km: float,
    toutes_les_paires: bool,
) -> pl.DataFrame:
    """`find_duplicate_pairs` on one lot of candidate pairs."""
    paires = (
        candidates.join(prepares.rename(lambda c: f"{c}_a"), on="_i_a")
        .join(prepares.drop("code_commune").rename(lambda c: f"{c}_b"), on="_i_b")
        .rename({"code_commune_a": "code_commune"})
        .sort("_i_a", "_i_b")
        .with_columns(_nom_compare("a").alias("_nom_a"), _nom_compare("b").alias("_nom_b"))
    )
    paires = paires.with_columns(
        _similarite(paires["_nom_a"], paires["_nom_b"]).alias("similarite_nom"),
        _similarite(paires["_adresse_a"], paires["_adresse_b"]).alias("similarite_adresse"),
        _similarite(paires["_adresse_a"], paires["_adresse_b"], fuzz.token_set_ratio).alias(
            "_inclusion_adresse"
        ),
        haversine_km(pl.col("_lat_a"), pl.col("_lon_a"), pl.col("_lat_b"), pl.col("_lon_b"))
        .round(4)
        .alias("distance_km"),
        (pl.col("_numero_a") != pl.col("_numero_b")).fill_null(False).alias("numeros_differents"),
        (pl.col("_pivot_valide_a") & pl.col("_pivot_valide_b")).alias("_deux_pivots"),
    )
    meme_adresse = (pl.col("similarite_adresse") >= seuil_adresse).fill_null(False) & ~pl.col(
        "numeros_differents"
    )
    # Two different addresses are two places, however close their points: geocoders put
    # places on the town hall or the street's centre (Le Mans: "1 place Saint-Pierre" and
    # "2 place des Sablons", 1.5 km apart, geocoded 44 m apart). Points only decide when the
    # addresses are unknown or compatible: one's street words within the other's ("place
    # Rousseau" / "place Jean-Jacques Rousseau"), or the same street with another number.
    compatibles = (pl.col("_inclusion_adresse") >= seuil_adresse).fill_null(True)
    proches = (pl.col("distance_km") <= distance_max_km).fill_null(False) & compatibles
    colocalises = meme_adresse | proches
    meme_pivot = pl.col("_deux_pivots") & (pl.col("pivot_a") == pl.col("pivot_b"))
    pivots_differents = pl.col("_deux_pivots") & (pl.col("pivot_a") != pl.col("pivot_b"))
    noms_proches = (pl.col("similarite_nom") >= seuil_nom).fill_null(False)
    itinerance_differente = pl.col("_itinerant_a") != pl.col("_itinerant_b")
    regle = (
        pl.when(pivots_differents | itinerance_differente | ~colocalises)
        .then(None)
        .when(meme_pivot)
        .then(pl.lit("pivot"))
        .when(noms_proches)
        .then(pl.lit("nom"))
    )
    resultat = paires.select(
        pl.col("jeu_de_donnees_a"),
        pl.col("id_a"),
        pl.col("jeu_de_donnees_b"),
        pl.col("id_b"),
        "code_commune",
        "similarite_nom",
        "similarite_adresse",
        "numeros_differents",
        compatibles.alias("adresses_compatibles"),
        "distance_km",
        meme_pivot.alias("meme_pivot"),
        pivots_differents.alias("pivots_differents"),
        regle.alias("regle"),
    ).with_columns(pl.col("regle").is_not_null().alias("doublon"))
    if not toutes_les_paires:
        resultat = resultat.filter(pl.col("doublon"))
    return resultat


def _composantes(
    cles: list[tuple[str, str]],
    pivots: dict[tuple[str, str], str | None],
    aretes: list[tuple[tuple[str, str], tuple[str, str]]],
) -> dict[tuple[str, str], tuple[str, str]]:
    """Union-find over the duplicate pairs; each place → the smallest (id, jeu) of its group.

    A union that would put two different valid SIRETs in one group is refused: pairs are
    checked one by one, so A~B and B~C could otherwise chain two establishments through a
    record without SIRET. `aretes` come strongest first, so the refused link is the weakest.
    """
    parent = {c: c for c in cles}
    pivot_du_groupe = dict(pivots)

    def racine(c: tuple[str, str]) -> tuple[str, str]:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for a, b in aretes:
        ra, rb = racine(a), racine(b)
        if ra == rb:
            continue
        pa, pb = pivot_du_groupe[ra], pivot_du_groupe[rb]
        if pa is not None and pb is not None and pa != pb:
            continue
        # The root is the smallest (id, jeu) of the group: stable whatever the pair order.
        petite, grande = sorted((ra, rb), key=lambda c: (c[1], c[0]))
        parent[grande] = petite
        pivot_du_groupe[petite] = pa if pa is not None else pb
    return {c: racine(c) for c in cles}


def _union(colonne: str) -> pl.Expr:
    """Sorted, de-duplicated union of a `|`-joined column over a group; null when empty."""
    return (
        pl.col(colonne)
        .str.split(SEPARATEUR_V1)
        .list.explode(keep_nulls=False, empty_as_null=False)
        .str.strip_chars()
        .replace("", None)
        .drop_nulls()
        .unique()
        .sort()
        .str.join(SEPARATEUR_V1)
        .replace("", None)
        .alias(colonne)
    )


def duplicate_groups(lieux: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
    """Which place each record belongs to: `jeu_de_donnees`, `id` → `jeu_de_donnees_lieu`,
    `id_lieu`, the smallest member of its group by (`id`, `jeu_de_donnees`).

    The groups are the connected components of the duplicate pairs (`pairs` as for
    `merge_duplicates`), except that a link that would put two different valid SIRETs in one
    group is not made. A table rather than a parsed `sources`: real ids contain `|` (the
    Charente file has "…-8bd51420dd6e|aidants-connect-3485").
    """
    if lieux.select(pl.struct(CLE).is_duplicated().any()).item():
        raise ValueError("(jeu_de_donnees, id) n'est pas unique dans lieux")
    if "doublon" in pairs.columns:
        pairs = pairs.filter(pl.col("doublon"))
    if "regle" in pairs.columns and "similarite_nom" in pairs.columns:
        pairs = pairs.sort(
            pl.col("regle") == "pivot",
            "similarite_nom",
            "similarite_adresse",
            pl.col("distance_km"),
            descending=[True, True, True, False],
            nulls_last=True,
        )
    cles = list(lieux.select(CLE).iter_rows())
    aretes = list(
        zip(
            pairs.select("jeu_de_donnees_a", "id_a").iter_rows(),
            pairs.select("jeu_de_donnees_b", "id_b").iter_rows(),
            strict=True,
        )
    )
    inconnues = {c for arete in aretes for c in arete} - set(cles)
    if inconnues:
        raise ValueError(f"paires sur des lieux absents : {sorted(inconnues)[:5]}")
    valides = lieux.select(
        *CLE, pl.when(pivot_valide(pl.col("pivot"))).then(pl.col("pivot")).alias("_p")
    )
    pivots = {(j, i): p for j, i, p in valides.iter_rows()}
    groupes = _composantes(cles, pivots, aretes)
    jeu, ident = lieux.schema["jeu_de_donnees"], lieux.schema["id"]
    return pl.DataFrame(
        {
            "jeu_de_donnees": [c[0] for c in cles],
            "id": [c[1] for c in cles],
            "jeu_de_donnees_lieu": [groupes[c][0] for c in cles],
            "id_lieu": [groupes[c][1] for c in cles],
        },
        schema={
            "jeu_de_donnees": jeu,
            "id": ident,
            "jeu_de_donnees_lieu": jeu,
            "id_lieu": ident,
        },
    )


# Counts of people at a place, one per record: a merged place has them all (the conseillers of
# two registries' records of one place are distinct people, each registry counting its own).
COLONNES_SOMME = ("nb_conseillers",)


def merge_duplicates(
    lieux: pl.DataFrame,
    pairs: pl.DataFrame,
    colonnes_union: Sequence[str] = COLONNES_UNION,
    colonnes_somme: Sequence[str] = COLONNES_SOMME,
) -> pl.DataFrame:
    """One row per place: the groups of `duplicate_groups`, merged.

    `pairs` is `find_duplicate_pairs`'s output (rows with `doublon` false are ignored; the
    strongest links are made first) or any frame with `jeu_de_donnees_a, id_a,
    jeu_de_donnees_b, id_b`; `lieux` needs `jeu_de_donnees`, `id` (unique) and `pivot`. Each
    group keeps: `jeu_de_donnees` and `id` of its smallest member by (`id`,
    `jeu_de_donnees`), so the id of a place does not change when a registry adds a field;
    `pivot`, the valid SIRET of one of its members if any; every other column from its most
    complete member (most non-null values, the dummy pivot counting as null, then the latest
    `date_maj`, then the smallest key); `colonnes_union` as the sorted union of its members'
    values; `colonnes_somme` as the sum of its members' counts (null if none has one);
    `sources`, the sorted `jeu_de_donnees:id` of its members joined by `|`, and `nb_sources`.
    """
    appartenance = duplicate_groups(lieux, pairs)
    union = [c for c in colonnes_union if c in lieux.columns]
    sommes = [c for c in colonnes_somme if c in lieux.columns]
    scalaires = [c for c in lieux.columns if c not in (*CLE, *union, *sommes)]
    # The standard's "unknown" pivot is a missing value, not information.
    renseignes = pl.sum_horizontal(pl.col(c).is_not_null() for c in lieux.columns) - (
        pl.col("pivot") == PIVOT_INCONNU
    ).fill_null(False).cast(pl.Int64)
    ordre = [renseignes]
    descendant = [True]
    if "date_maj" in lieux.columns:
        ordre.append(pl.col("date_maj"))
        descendant.append(True)
    membres = lieux.join(appartenance, on=list(CLE), how="left").sort(
        [*ordre, "id", "jeu_de_donnees"],
        descending=[*descendant, False, False],
        nulls_last=True,
    )
    fusion = membres.group_by("jeu_de_donnees_lieu", "id_lieu", maintain_order=True).agg(
        *(pl.col(c).first() for c in scalaires if c != "pivot"),
        # The group's valid SIRET (at most one), whichever member carries it.
        pl.coalesce(
            pl.col("pivot").filter(pivot_valide(pl.col("pivot"))).first(),
            pl.col("pivot").first(),
        ).alias("pivot"),
        *(_union(c) for c in union),
        *(pl.when(pl.col(c).is_not_null().any()).then(pl.col(c).sum()).alias(c) for c in sommes),
        pl.format("{}:{}", "jeu_de_donnees", "id").sort().str.join(SEPARATEUR_V1).alias("sources"),
        pl.len().cast(pl.Int64).alias("nb_sources"),
    )
    return (
        fusion.rename({"jeu_de_donnees_lieu": "jeu_de_donnees", "id_lieu": "id"})
        .select(*lieux.columns, "sources", "nb_sources")
        .sort("jeu_de_donnees", "id")
    )
