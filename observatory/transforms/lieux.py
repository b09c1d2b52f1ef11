"""Lieux de médiation numérique: staging in La Mednum's standard v1 and commune resolution.

`stage_lieux` types a file of the standard (mapping leftover v0 column names), checks each row
and returns (kept, quarantine entries). `resolve_communes` finds the commune of each place
from its code, postal code and name against the COG, and sets aside places too far from it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import polars as pl

from observatory.geo import haversine_km, in_france
from observatory.sources.mednum import Standard
from observatory.transforms.contours import dans_sa_commune
from observatory.transforms.names import normalise_nom
from observatory.transforms.personal_data import Prenoms, ecarter_donnees_personnelles
from observatory.transforms.rebasing import former_commune_names
from observatory.transforms.territories import normalise_codes_communes
from observatory.validation.quarantine import (
    IDENTITE_LIGNE,
    REJET,
    VALEUR_CORRIGEE,
    VALEUR_ECARTEE,
    Check,
    run_checks,
    split_rejected,
)

SEPARATEUR_V1 = "|"
PIVOT_INCONNU = "00000000000000"  # the standard's value for "no SIRET/RNA known"
RESUME_MAX = 280  # maxLength of presentation_resume in the standard
SEPARATEUR_V0 = ";"
DISTANCE_MAX_KM = 20.0

# Columns renamed between v0 and v1 of the standard: v0 name → v1 name.
COLONNES_V0 = {
    "courriel": "courriels",
    "accessibilite": "fiche_acces_libre",
    "labels_nationaux": "dispositif_programmes_nationaux",
    "publics_accueillis": "publics_specifiquement_adresses",
}
# v0 vocabularies of the renamed multi-valued columns → v1 values; None = no v1 equivalent on
# purpose (v1 lists only publics *specifically* addressed; "Adultes" is everyone).
VALEURS_V0: dict[str, dict[str, str | None]] = {
    "labels_nationaux": {
        "CNFS": "Conseillers numériques",
        "Conseillers numériques": "Conseillers numériques",
        "France Services": "France Services",
        "Aidants Connect": "Aidants Connect",
        "APTIC": None,
        "PIX": "Certification PIX",
        "Certification PIX": "Certification PIX",
        "Grande école du numérique": "Grande école du numérique",
        "Point d'accès numérique CAF": "Point d'accès numérique CAF",
        "Promeneurs du net": "Promeneurs du net",
        "La Croix Rouge": "La Croix Rouge",
        "Emmaüs Connect": "Emmaüs Connect",
        "Relais numérique (Emmaüs Connect)": "Relais numérique (Emmaüs Connect)",
        "Bibliothèques numérique de référence": "Bibliothèques numérique de référence",
    },
    "publics_accueillis": {
        "Adultes": None,
        "Familles/enfants": "Familles et/ou enfants",
        "Jeunes (16-26 ans)": "Jeunes",
        "Jeunes": "Jeunes",
        "Étudiants": "Étudiants",
        "Seniors (+ 65 ans)": "Seniors",
        "Seniors": "Seniors",
        "Uniquement femmes": "Femmes",
        "Femmes": "Femmes",
    },
}
# Without these a place cannot be identified or located: the row is rejected.
IDENTITE = ("id", "nom", "commune", "code_postal", "adresse")
# A site of a national list sometimes has only its département and name (an antenna without an
# address yet): kept beside the standard's columns, so that its commune is found by name.
DEPARTEMENT_DECLARE = "code_departement_declare"


def _clean_strings(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col(pl.String).str.strip_chars().replace("", None))


def normalise_code_postal(value: pl.Expr, blancs: str = r"[\s\u00a0]") -> pl.Expr:
    """A postal code as spreadsheets write it: `blancs` and a `.0` removed, the leading zero a
    number lost put back (`1000` → `01000`); anything else as written, for the checks to judge.
    Partner files (`partners.values`) also remove narrow spaces and apostrophes."""
    cp = value.str.replace_all(blancs, "").str.replace(r"\.0+$", "")
    return pl.when(cp.str.contains(r"^\d{4}$")).then("0" + cp).otherwise(cp)


def _map_v0_tokens(column: str) -> pl.Expr:
    """v0 `;`-list → v1 values (unknown tokens become null, reported separately)."""
    mapping = VALEURS_V0[column]
    return (
        pl.col(column)
        .str.split(SEPARATEUR_V0)
        .list.eval(pl.element().str.strip_chars().replace_strict(mapping, default=None))
        .list.drop_nulls()
        .list.unique(maintain_order=True)
        .list.join(SEPARATEUR_V1)
        .replace("", None)
    )


def _v0_unknown_tokens(column: str) -> pl.Expr:
    known = list(VALEURS_V0[column])
    return (
        pl.col(column)
        .str.split(SEPARATEUR_V0)
        .list.eval(pl.element().str.strip_chars())
        .list.filter(~pl.element().is_in(known))
        .list.join(SEPARATEUR_V0)
        .replace("", None)
    )


def _vocabulary_filter(column: str, values: tuple[str, ...]) -> tuple[pl.Expr, pl.Expr]:
    """(kept values joined by `|`, unknown values joined by `|`) of a multi-valued column."""
    tokens = pl.col(column).str.split(SEPARATEUR_V1).list.eval(pl.element().str.strip_chars())
    kept = tokens.list.filter(pl.element().is_in(list(values))).list.join(SEPARATEUR_V1)
    unknown = tokens.list.filter(~pl.element().is_in(list(values))).list.join(SEPARATEUR_V1)
    return kept.replace("", None), unknown.replace("", None)


def map_v0_columns(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rename leftover v0 columns to v1 (with their vocabularies); report unmapped v0 values."""
    entries = []
    for v0, v1 in COLONNES_V0.items():
        if v0 not in frame.columns:
            continue
        if v0 in VALEURS_V0:
            entries.append(
                run_checks(
                    frame.with_columns(_v0_unknown_tokens(v0).alias("_inconnu")),
                    [
                        Check(
                            v0,
                            "valeur_v0_sans_equivalent_v1",
                            pl.col("_inconnu").is_not_null(),
                            VALEUR_ECARTEE,
                            pl.col("_inconnu"),
                        )
                    ],
                )
            )
            mapped = _map_v0_tokens(v0)
        else:
            mapped = pl.col(v0)
        target = pl.coalesce(pl.col(v1), mapped) if v1 in frame.columns else mapped
        frame = frame.with_columns(target.alias(v1)).drop(v0)
    quarantine = pl.concat([run_checks(frame, []), *entries])
    return frame, quarantine


def stage_lieux(
    raw: pl.DataFrame,
    standard: Standard,
    date_export: date | None = None,
    requis: tuple[str, ...] = IDENTITE,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Type a file of the standard and check each row; returns (kept rows, quarantine entries).

    `raw` holds the file as strings, one row per record, prefixed by `IDENTITE_LIGNE`
    (`number_rows`). Kept rows carry those columns, the standard's columns in order, typed, and
    `date_maj_estimee`. `date_maj` is required by the standard: when it is missing, invalid or
    an epoch artefact (1970-01-01, 1969-12-31), the place is kept and, if the file's export date
    is known, dated by it (an upper bound: the record is at least that old), flagged
    `date_maj_estimee` and reported as `valeur_corrigee`. A missing `pivot` becomes the
    standard's "unknown" value, 14 zeros. `requis`: the columns without which a row is
    rejected (a registry that gives a site's département and name but not yet its address is
    kept: its commune is found by name, its missing address reported, `valeur_ecartee`).
    """
    frame = _clean_strings(raw.rechunk())  # polars 1.44 can abort on many-chunk frames
    frame, v0_entries = map_v0_columns(frame)
    missing = [c for c in standard.columns if c not in frame.columns]
    frame = frame.with_columns(pl.lit(None, pl.String).alias(c) for c in missing)

    vocab_columns = [c for c in standard.enumerations if c in frame.columns]
    filtered = {c: _vocabulary_filter(c, standard.enumerations[c]) for c in vocab_columns}
    code_postal = normalise_code_postal(pl.col("code_postal"))
    code_insee, raison_insee = normalise_codes_communes(pl.col("code_insee"))
    frame = frame.with_columns(
        *(kept.alias(c) for c, (kept, _) in filtered.items()),
        *(unknown.alias(f"_inconnu_{c}") for c, (_, unknown) in filtered.items()),
        code_postal.alias("_code_postal"),
        code_insee.alias("_code_insee"),
        raison_insee.alias("_raison_insee"),
        pl.col("latitude").str.replace(",", ".").cast(pl.Float64, strict=False).alias("_lat"),
        pl.col("longitude").str.replace(",", ".").cast(pl.Float64, strict=False).alias("_lon"),
        pl.col("date_maj").str.to_date("%Y-%m-%d", strict=False).alias("_date"),
    )
    date_action = VALEUR_CORRIGEE if date_export else VALEUR_ECARTEE
    unparsable_lat = pl.col("latitude").is_not_null() & pl.col("_lat").is_null()
    unparsable_lon = pl.col("longitude").is_not_null() & pl.col("_lon").is_null()
    one_missing = pl.col("_lat").is_null() ^ pl.col("_lon").is_null()
    checks = [
        *(Check(c, "obligatoire_manquant", pl.col(c).is_null()) for c in requis),
        *(
            Check(c, "obligatoire_manquant", pl.col(c).is_null(), VALEUR_ECARTEE)
            for c in IDENTITE
            if c not in requis
        ),
        Check("id", "id_duplique", pl.col("id").is_not_null() & ~pl.col("id").is_first_distinct()),
        Check(
            "code_postal",
            "code_postal_invalide",
            pl.col("_code_postal").is_not_null() & ~pl.col("_code_postal").str.contains(r"^\d{5}$"),
        ),
        Check(
            "latitude",
            "hors_france",
            pl.col("_lat").is_not_null()
            & pl.col("_lon").is_not_null()
            & ~in_france(pl.col("_lat"), pl.col("_lon")),
            REJET,
            pl.format("{},{}", pl.col("latitude"), pl.col("longitude")),
        ),
        Check("latitude", "coordonnee_invalide", unparsable_lat, VALEUR_ECARTEE),
        Check("longitude", "coordonnee_invalide", unparsable_lon, VALEUR_ECARTEE),
        Check(
            "latitude",
            "coordonnee_incomplete",
            one_missing & ~unparsable_lat & ~unparsable_lon,
            VALEUR_ECARTEE,
            pl.format("{},{}", pl.col("latitude"), pl.col("longitude")),
        ),
        Check(
            "code_insee",
            "code_insee_invalide",
            pl.col("code_insee").is_not_null() & pl.col("_raison_insee").is_not_null(),
            VALEUR_ECARTEE,
        ),
        Check("pivot", "obligatoire_manquant", pl.col("pivot").is_null(), VALEUR_CORRIGEE),
        Check("date_maj", "obligatoire_manquant", pl.col("date_maj").is_null(), date_action),
        Check(
            "date_maj",
            "date_invalide",
            pl.col("date_maj").is_not_null() & pl.col("_date").is_null(),
            date_action,
        ),
        Check("date_maj", "date_epoch_1970", pl.col("_date") <= pl.date(1970, 1, 1), date_action),
        Check(
            "presentation_resume",
            "texte_trop_long_280",
            pl.col("presentation_resume").str.len_chars() > RESUME_MAX,
            VALEUR_ECARTEE,
        ),
        *(
            Check(
                c,
                "hors_vocabulaire_v1",
                pl.col(f"_inconnu_{c}").is_not_null(),
                VALEUR_ECARTEE,
                pl.col(f"_inconnu_{c}"),
            )
            for c in vocab_columns
        ),
    ]
    quarantine = pl.concat([v0_entries, run_checks(frame, checks)])
    both = pl.col("_lat").is_not_null() & pl.col("_lon").is_not_null()
    valid_date = (pl.col("_date") > pl.date(1970, 1, 1)).fill_null(False)
    kept = split_rejected(frame, quarantine).with_columns(
        pl.col("_code_postal").alias("code_postal"),
        pl.col("_code_insee").alias("code_insee"),
        pl.when(both).then(pl.col("_lat")).alias("latitude"),
        pl.when(both).then(pl.col("_lon")).alias("longitude"),
        pl.when(valid_date).then(pl.col("_date")).otherwise(date_export).alias("date_maj"),
        (~valid_date).alias("date_maj_estimee"),
        pl.col("pivot").fill_null(PIVOT_INCONNU),
        pl.when(pl.col("presentation_resume").str.len_chars() <= RESUME_MAX).then(
            pl.col("presentation_resume")
        ),
    )
    return kept.select(*IDENTITE_LIGNE, *standard.columns, "date_maj_estimee"), quarantine


def _departement_du_code_postal(code_postal: pl.Expr) -> pl.Expr:
    """The département a postal code usually belongs to (Corsica split at 20200)."""
    return (
        pl.when(code_postal.str.starts_with("97"))
        .then(code_postal.str.slice(0, 3))
        .when(code_postal.str.starts_with("20"))
        .then(pl.when(code_postal < "20200").then(pl.lit("2A")).otherwise(pl.lit("2B")))
        .otherwise(code_postal.str.slice(0, 2))
    )


def _unique_match(frame: pl.DataFrame, keys: list[str], method: str) -> pl.DataFrame:
    """Keys that designate exactly one commune, with that commune."""
    return (
        frame.group_by(keys)
        .agg(pl.col("code_commune").unique())
        .filter(pl.col("code_commune").list.len() == 1)
        .with_columns(pl.col("code_commune").list.first().alias(f"_c_{method}"))
        .drop("code_commune")
    )


def resolve_communes(
    lieux: pl.DataFrame,
    communes: pl.DataFrame,
    communes_deleguees: pl.DataFrame,
    coordonnees: pl.DataFrame,
    distance_max_km: float = DISTANCE_MAX_KM,
    anciens_noms: pl.DataFrame | None = None,
    contours: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Give each place its COG commune (`code_commune`, `methode_code_commune`) and check it.

    Order of evidence: the place's own `code_insee` when it is a current code, then a former
    code of a current commune, then (postal code, name), (département, name), the name of a
    commune déléguée or associée, and a postal code that serves one commune only. A place
    left without a commune is rejected; so is a place whose point lies outside its commune's
    polygon by more than `contours.TOLERANCE_KM` (`contours`: the commune outlines, a
    simplified copy whose borders move by up to a few hundred metres) — a commune of Guyane
    spans 100 km, a fixed distance to its centre cannot judge it; an itinerant service outside
    its commune (the point of its base) keeps its commune, its point set aside. Without an
    outline for the commune, the point must lie within `distance_max_km` of the commune's
    point. Last, for a
    place with only its département (`code_departement_declare`) and name, the commune named
    in its name.
    """
    cog = communes.select(
        "code_commune",
        "code_departement",
        "codes_postaux",
        "anciens_codes",
        normalise_nom(pl.col("nom")).alias("_nom"),
    )
    par_cp = cog.explode("codes_postaux", empty_as_null=True).rename(
        {"codes_postaux": "code_postal"}
    )
    anciens = (
        cog.select("code_commune", pl.col("anciens_codes").alias("_ancien"))
        .explode("_ancien", empty_as_null=True)
        .filter(pl.col("_ancien").is_not_null())
    )
    deleguees = communes_deleguees.select(
        "code_commune", "code_departement", normalise_nom(pl.col("nom")).alias("_nom")
    ).join(cog.select("code_commune"), on="code_commune", how="semi")
    noms_anciens = (
        anciens_noms
        if anciens_noms is not None
        else pl.DataFrame(
            schema={"code_departement": pl.String, "nom": pl.String, "code_commune": pl.String}
        )
    ).select("code_commune", "code_departement", normalise_nom(pl.col("nom")).alias("_nom"))
    matches = [
        (
            "fourni",
            cog.select(
                pl.col("code_commune").alias("code_insee"),
                pl.col("code_commune").alias("_c_fourni"),
            ),
            ["code_insee"],
        ),
        (
            "ancien_code",
            _unique_match(anciens.rename({"_ancien": "code_insee"}), ["code_insee"], "ancien_code"),
            ["code_insee"],
        ),
        (
            "code_postal_nom",
            _unique_match(par_cp, ["code_postal", "_nom"], "code_postal_nom"),
            ["code_postal", "_nom"],
        ),
        (
            "departement_nom",
            _unique_match(
                cog.rename({"code_departement": "_dep"}), ["_dep", "_nom"], "departement_nom"
            ),
            ["_dep", "_nom"],
        ),
        (
            "commune_deleguee",
            _unique_match(
                deleguees.rename({"code_departement": "_dep"}), ["_dep", "_nom"], "commune_deleguee"
            ),
            ["_dep", "_nom"],
        ),
        (
            "ancienne_commune",
            _unique_match(
                noms_anciens.rename({"code_departement": "_dep"}),
                ["_dep", "_nom"],
                "ancienne_commune",
            ),
            ["_dep", "_nom"],
        ),
        (
            "code_postal_unique",
            _unique_match(par_cp, ["code_postal"], "code_postal_unique"),
            ["code_postal"],
        ),
    ]
    declare = pl.col(DEPARTEMENT_DECLARE) if DEPARTEMENT_DECLARE in lieux.columns else pl.lit(None)
    frame = lieux.with_columns(
        normalise_nom(pl.col("commune")).alias("_nom"),
        pl.coalesce(_departement_du_code_postal(pl.col("code_postal")), declare).alias("_dep"),
    ).with_row_index("_rang")
    for _method, table, keys in matches:
        frame = frame.join(table, on=keys, how="left")
    frame = frame.join(_commune_dans_le_nom(frame, cog), on="_rang", how="left")
    matches.append(("nom_du_lieu", None, []))
    methods = [m for m, _, _ in matches]
    frame = (
        frame.with_columns(
            pl.coalesce([pl.col(f"_c_{m}") for m in methods]).alias("code_commune"),
            pl.coalesce(
                [pl.when(pl.col(f"_c_{m}").is_not_null()).then(pl.lit(m)) for m in methods]
            ).alias("methode_code_commune"),
        )
        .join(
            coordonnees.select(
                "code_commune",
                pl.col("latitude").alias("_clat"),
                pl.col("longitude").alias("_clon"),
            ),
            on="code_commune",
            how="left",
        )
        .with_columns(
            haversine_km(pl.col("latitude"), pl.col("longitude"), pl.col("_clat"), pl.col("_clon"))
            .round(3)
            .alias("distance_commune_km")
        )
    )
    if contours is not None:
        frame = dans_sa_commune(frame, contours)
    else:
        frame = frame.with_columns(
            pl.lit(None, pl.Boolean).alias("pres_du_contour"),
            pl.lit(None, pl.Float64).alias("distance_contour_km"),
        )
    dehors = (pl.col("pres_du_contour") == False).fill_null(False)  # noqa: E712 (null: no outline)
    itinerant = (
        (pl.col("itinerance") == "Itinérant").fill_null(False)
        if "itinerance" in frame.columns
        else pl.lit(False)
    )
    itinerant_dehors = dehors & itinerant
    hors_contour = pl.format(
        "{},{} à {} km du contour de {}",
        pl.col("latitude"),
        pl.col("longitude"),
        pl.col("distance_contour_km").round(1),
        pl.col("code_commune"),
    )
    checks = [
        Check(
            "code_insee",
            "code_insee_inconnu_du_cog",
            pl.col("code_insee").is_not_null() & pl.col("_c_fourni").is_null(),
            VALEUR_ECARTEE,
        ),
        Check(
            "commune",
            "commune_non_resolue",
            pl.col("code_commune").is_null(),
            REJET,
            pl.format("{} {}", pl.col("code_postal"), pl.col("commune")),
        ),
        # an itinerant service (bus, pirogue) gives the point of its base, not of the commune it
        # serves: its commune is kept, its point set aside (it is no place to go to)
        Check(
            "latitude",
            "lieu_itinerant_hors_de_sa_commune",
            itinerant_dehors,
            VALEUR_ECARTEE,
            hors_contour,
        ),
        Check(
            "latitude",
            "hors_du_contour_de_la_commune",
            dehors & ~itinerant_dehors,
            REJET,
            hors_contour,
        ),
        Check(
            "latitude",
            f"distance_commune_superieure_{int(distance_max_km)}km",
            pl.col("pres_du_contour").is_null() & (pl.col("distance_commune_km") > distance_max_km),
            REJET,
            pl.format(
                "{},{} à {} km de {}",
                pl.col("latitude"),
                pl.col("longitude"),
                pl.col("distance_commune_km"),
                pl.col("code_commune"),
            ),
        ),
    ]
    quarantine = run_checks(frame, checks)
    kept = split_rejected(frame, quarantine).with_columns(
        pl.when(~itinerant_dehors).then(pl.col(c)).alias(c) for c in ("latitude", "longitude")
    )
    return kept.select(
        *lieux.columns, "code_commune", "methode_code_commune", "distance_commune_km"
    ), quarantine


def _commune_dans_le_nom(frame: pl.DataFrame, cog: pl.DataFrame) -> pl.DataFrame:
    """For a place with no commune but a département, the commune of that département whose
    name is in the place's name (`Antenne d'Anould` → Anould), the longest if several, kept
    only when no other commune name of the same length matches."""
    sans = frame.filter(
        pl.col("commune").is_null(), pl.col("_dep").is_not_null(), pl.col("nom").is_not_null()
    ).select("_rang", "_dep", (" " + normalise_nom(pl.col("nom")) + " ").alias("_nom_lieu"))
    if sans.is_empty():
        return pl.DataFrame(schema={"_rang": pl.UInt32, "_c_nom_du_lieu": pl.String})
    candidats = (
        sans.join(
            cog.select("code_commune", pl.col("code_departement").alias("_dep"), "_nom"), on="_dep"
        )
        .filter(pl.col("_nom_lieu").str.contains(" " + pl.col("_nom") + " ", literal=True))
        .with_columns(pl.col("_nom").str.len_chars().alias("_longueur"))
        .filter(pl.col("_longueur") == pl.col("_longueur").max().over("_rang"))
    )
    return (
        candidats.group_by("_rang")
        .agg(pl.col("code_commune").unique())
        .filter(pl.col("code_commune").list.len() == 1)
        .select("_rang", pl.col("code_commune").list.first().alias("_c_nom_du_lieu"))
    )


def resout_lieux(
    listes: list[pl.DataFrame],
    communes: pl.DataFrame,
    communes_deleguees: pl.DataFrame,
    coordonnees: pl.DataFrame,
    mouvements: pl.DataFrame,
    contours: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Several lists of places (registries, partner files, vintages) with their COG commune:
    `resolve_communes` on them together, the former names of merged communes (INSEE
    movements) included. Returns (kept, quarantine, rows in)."""
    lieux = pl.concat(listes, how="diagonal_relaxed")
    kept, quarantine = resolve_communes(
        lieux,
        communes,
        communes_deleguees,
        coordonnees,
        anciens_noms=former_commune_names(mouvements, communes),
        contours=contours,
    )
    return kept, quarantine, lieux.height


def lignes_par_jeu_de_donnees(lieux: pl.DataFrame, cles: list[str]) -> dict[str, pl.DataFrame]:
    """The resolved places of each source (`jeu_de_donnees`), for its coverage."""
    return {cle: lieux.filter(pl.col("jeu_de_donnees") == cle) for cle in cles}


def stage_registre(
    raw: pl.DataFrame,
    parse: Callable[[pl.DataFrame], tuple[pl.DataFrame, pl.DataFrame]],
    standard: Standard,
    date_export: date | None,
    prenoms: Prenoms,
    requis: tuple[str, ...] = IDENTITE,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A registry of places from its own format (`parse` → standard v1) to typed, checked rows.

    Personal data (a referent's name, person-like e-mails, mobiles) is taken out before
    anything else, so it never reaches staging; columns beyond the standard that the parser
    gives (e.g. `nb_conseillers`) are kept beside the standard's."""
    v1, ecarts = parse(raw)
    v1, personnelles = ecarter_donnees_personnelles(v1, prenoms)
    kept, quarantine = stage_lieux(v1, standard, date_export, requis)
    extra = [c for c in v1.columns if c not in kept.columns]
    if extra:
        kept = kept.join(
            v1.select("fichier_origine", "ligne", *extra),
            on=["fichier_origine", "ligne"],
            how="left",
        )
    return kept, pl.concat([ecarts, personnelles, quarantine], how="vertical_relaxed")
