"""Registries of places → La Mednum's standard v1 (strings), ready for `stage_lieux`.

Three kinds of files reach the observatory besides files already in v1: files in the old standard
v0 (ANCT's regional exports, the France Services bus of Charente), the national list of France
Services (ANCT's own columns) and the lieux of the conseillers numériques (v0 vocabulary). Each
parser returns `(lieux, ecarts)`:

- `lieux`: the identity columns (`IDENTITE_LIGNE`) first, then the standard's columns in order
  (`COLONNES_V1`, all strings, multi-valued fields joined by `|`, missing columns null), so that
  `stage_lieux` types and checks them like any v1 file;
- `ecarts`: quarantine entries (`valeur_ecartee`) for values that could not be carried over —
  v0 values that have no v1 equivalent (`valeur_v0_sans_equivalent_v1`), opening hours that do
  not parse (`horaires_non_convertibles`), unreadable phone numbers (`telephone_invalide`), an
  unknown `itinerance` (`hors_vocabulaire_v1`). The caller concatenates them to the staging
  quarantine, so nothing is lost silently.

A v0 value absent from the tables below is passed through unchanged: a value already in v1 is
kept, anything else is set aside by `stage_lieux` as `hors_vocabulaire_v1`.
"""

from __future__ import annotations

import re

import polars as pl

from observatory.transforms.lieux import DEPARTEMENT_DECLARE, VALEURS_V0
from observatory.validation.quarantine import IDENTITE_LIGNE, VALEUR_ECARTEE, Check, run_checks

SEPARATEUR_V1 = "|"
_EXPLICATION = r"\s+:\s.*$"  # v0 values read "Label : explanation"
# The standard v1.0.2's columns, in order (schemas/sources/schema_standard_mediation_num_v1.0.2
# .json; a test checks they are the schema's).
COLONNES_V1: tuple[str, ...] = (
    "id",
    "pivot",
    "nom",
    "commune",
    "code_postal",
    "code_insee",
    "adresse",
    "complement_adresse",
    "latitude",
    "longitude",
    "typologie",
    "telephone",
    "courriels",
    "site_web",
    "horaires",
    "presentation_resume",
    "presentation_detail",
    "source",
    "itinerance",
    "structure_parente",
    "date_maj",
    "services",
    "publics_specifiquement_adresses",
    "prise_en_charge_specifique",
    "frais_a_charge",
    "dispositif_programmes_nationaux",
    "formations_labels",
    "autres_formations_labels",
    "modalites_acces",
    "modalites_accompagnement",
    "fiche_acces_libre",
    "prise_rdv",
)

# --- v0 vocabularies → v1 -------------------------------------------------------------------
# Keys are v0 labels: a v0 value "Label : explanation" is looked up by its label, ignoring case
# and the typographic apostrophe. None = no v1 equivalent (reported, never silently dropped).

# The 15 v0 services → the 9 v1 services. v1 merged fine-grained "what I want to do" items into
# broad themes: the three ways of learning devices are one theme, all procedures (including
# health ones) are "Aide aux démarches administratives", creating a business is professional
# insertion. Same correspondence as ANCT's own migration (checked on the Charente pair).
SERVICES_V0: dict[str, str | None] = {
    "Prendre en main un smartphone ou une tablette": "Maîtrise des outils numériques du quotidien",
    "Prendre en main un ordinateur": "Maîtrise des outils numériques du quotidien",
    "Utiliser le numérique au quotidien": "Maîtrise des outils numériques du quotidien",
    "Approfondir ma culture numérique": "Compréhension du monde numérique",
    "Promouvoir la citoyenneté numérique": "Compréhension du monde numérique",
    "Devenir autonome dans les démarches administratives": "Aide aux démarches administratives",
    "Réaliser des démarches administratives avec un accompagnement": (
        "Aide aux démarches administratives"
    ),
    "Accompagner les démarches de santé": "Aide aux démarches administratives",
    "Favoriser mon insertion professionnelle": "Insertion professionnelle via le numérique",
    "Créer et développer mon entreprise": "Insertion professionnelle via le numérique",
    "Accéder à une connexion internet": "Accès internet et matériel informatique",
    "Accéder à du matériel": "Accès internet et matériel informatique",
    "S'équiper en matériel informatique": "Acquisition de matériel informatique à prix solidaire",
    "Créer avec le numérique": "Loisirs et créations numériques",
    "Soutenir la parentalité et l'éducation avec le numérique": (
        "Parentalité et éducation avec le numérique"
    ),
}
# v0 `conditions_acces` (CnFS spells it `conditions_access`) → v1 `frais_a_charge`. A membership
# fee is a cost ("Payant"); the Pass numérique makes the place free for pass holders only.
FRAIS_V0: dict[str, str | None] = {
    "Gratuit": "Gratuit",
    "Gratuit sous condition": "Gratuit sous condition",
    "Payant": "Payant",
    "Adhésion": "Payant",
    "Accepte le Pass numérique": "Gratuit sous condition",
}
# v0 `modalites_accompagnement` → v1. "A ma place" (an aidant does the procedure for the person)
# is an individual accompaniment.
MODALITES_ACCOMPAGNEMENT_V0: dict[str, str | None] = {
    "Seul": "En autonomie",
    "Avec de l'aide": "Accompagnement individuel",
    "Dans un atelier": "Dans un atelier collectif",
    "A ma place": "Accompagnement individuel",
    "À ma place": "Accompagnement individuel",
}
# v0 `labels_nationaux` split in v1 between national programmes and training labels.
LABELS_NATIONAUX_V0: dict[str, str | None] = {
    **VALEURS_V0["labels_nationaux"],
    "Grandes écoles du numérique": "Grande école du numérique",
    "Point numérique CAF": "Point d'accès numérique CAF",
    "Point relais CAF": None,  # a CAF relay is not necessarily a digital access point
    "Campus connecté": None,
    "French Tech": None,
    "Relais pôle emploi": None,
    "Fabriques de Territoire": None,  # → formations_labels, below
}
LABELS_NATIONAUX_V0_FORMATIONS: dict[str, str | None] = {
    "Fabriques de Territoire": "Fabriques de Territoire",
}
# v0 `publics_accueillis` split in v1 between publics specifically addressed (lieux.VALEURS_V0)
# and specific support. "Public langues étrangères" does not say which language: "autres", as
# ANCT does; psychological disabilities are not "Handicaps mentaux" in v1.
PUBLICS_V0: dict[str, str | None] = {
    **VALEURS_V0["publics_accueillis"],
    "Déficience visuelle": None,
    "Surdité": None,
    "Handicaps mentaux": None,
    "Handicaps psychiques": None,
    "Personnes en situation d'illettrisme": None,
    "Public langues étrangères": None,
}
PRISE_EN_CHARGE_V0: dict[str, str | None] = {
    "Déficience visuelle": "Déficience visuelle",
    "Surdité": "Surdité",
    "Handicaps mentaux": "Handicaps mentaux",
    "Personnes en situation d'illettrisme": "Illettrisme",
    "Public langues étrangères": "Langues étrangères (autres)",
}
# v0 column → {v1 column: table}. The first target receives unknown values (passed through).
VOCABULAIRES_V0: dict[str, dict[str, dict[str, str | None]]] = {
    "services": {"services": SERVICES_V0},
    "conditions_acces": {"frais_a_charge": FRAIS_V0},
    "conditions_access": {"frais_a_charge": FRAIS_V0},
    "modalites_accompagnement": {"modalites_accompagnement": MODALITES_ACCOMPAGNEMENT_V0},
    "labels_nationaux": {
        "dispositif_programmes_nationaux": LABELS_NATIONAUX_V0,
        "formations_labels": LABELS_NATIONAUX_V0_FORMATIONS,
    },
    "publics_accueillis": {
        "publics_specifiquement_adresses": PUBLICS_V0,
        "prise_en_charge_specifique": PRISE_EN_CHARGE_V0,
    },
}
# Columns renamed without a vocabulary (free text, `;`-lists become `|`-lists).
RENOMMAGES_V0: dict[str, str] = {
    "courriel": "courriels",
    "accessibilite": "fiche_acces_libre",
    "labels_autres": "autres_formations_labels",
}
LISTES_LIBRES = ("typologie", "courriels", "site_web", "autres_formations_labels")

# --- France Services --------------------------------------------------------------------------
SOURCE_FRANCE_SERVICES = "france-services"
# The France Services mission is to help people with the administrative procedures of the
# partner operators (CAF, CPAM, France Travail, impôts, ANTS…): in v1, one service.
SERVICE_FRANCE_SERVICES = "Aide aux démarches administratives"
DISPOSITIF_FRANCE_SERVICES = "France Services"
TYPOLOGIE_FRANCE_SERVICES = "RFS"  # data·inclusion typology "Réseau France Services"
ITINERANCE_FRANCE_SERVICES = {"Oui": "Itinérant", "Non": "Fixe"}
JOURS_FRANCE_SERVICES = {
    "h_lundi": "Mo",
    "h_mardi": "Tu",
    "h_mercredi": "We",
    "h_jeudi": "Th",
    "h_vendredi": "Fr",
    "h_samedi": "Sa",
}
# One opening range as people type it: "09:00 - 12:00", "9h00-12h", "08 :30-12:00".
_PLAGE = r"(\d{1,2})\s*[:hH]\s*(\d{2})\s*-\s*(\d{1,2})\s*[:hH]\s*(\d{2})"
_FERME = ("-", "")
_PLAGE_VIDE = "00:00-00:00"

# --- Aidants Connect ----------------------------------------------------------------------------
# As the cartographie's own files spell the provenance of an Aidants Connect record
# (mednum__lieux: `source` "aidants-connect"), so both are recognised alike.
SOURCE_AIDANTS_CONNECT = "aidants-connect"
DISPOSITIF_AIDANTS_CONNECT = "Aidants Connect"
# API field → standard v1 column (the rest of the standard stays null).
AIDANTS_CONNECT_V1: dict[str, str] = {
    "id": "id",
    "pivot": "pivot",
    "nom": "nom",
    "commune": "commune",
    "code_postal": "code_postal",
    "code_insee": "code_insee",
    "adresse": "adresse",
    "address_complement": "complement_adresse",
}

# --- Conseillers numériques -------------------------------------------------------------------
DISPOSITIF_CONSEILLERS = "Conseillers numériques"

# French numbers of the DROM have their own country calling codes: 05 90 xx xx xx is
# +590 590 xx xx xx.
INDICATIFS_OUTRE_MER = {
    "0590": "+590",  # Guadeloupe, Saint-Martin, Saint-Barthélemy
    "0690": "+590",
    "0691": "+590",
    "0594": "+594",  # Guyane
    "0694": "+594",
    "0596": "+596",  # Martinique
    "0696": "+596",
    "0697": "+596",
    "0262": "+262",  # La Réunion
    "0263": "+262",
    "0692": "+262",
    "0693": "+262",
    "0269": "+262",  # Mayotte
    "0639": "+262",
}
# Saint-Pierre-et-Miquelon: 05 08 41 xx xx is +508 41 xx xx (its numbers have 6 digits).
PREFIXE_SAINT_PIERRE = "0508"


def _clean(raw: pl.DataFrame) -> pl.DataFrame:
    """Every non-identity column as stripped strings, empty → null (Parquet sources are typed)."""
    others = [c for c in raw.columns if c not in IDENTITE_LIGNE]
    return raw.with_columns(pl.col(others).cast(pl.String).str.strip_chars().replace("", None))


def _tokens(column: str) -> pl.Expr:
    """The items of a v0 `;`-list (also accepting v1's `|`), stripped, empty ones dropped."""
    return (
        pl.col(column)
        .str.replace_all(r"\|", ";")
        .str.split(";")
        .list.eval(pl.element().str.strip_chars().filter(pl.element().str.strip_chars() != ""))
    )


def _cle(value: pl.Expr) -> pl.Expr:
    """Lookup key of a v0 value: its label before " : ", lower case, straight apostrophe."""
    return (
        value.str.replace_all("’", "'")
        .str.replace(_EXPLICATION, "")
        .str.strip_chars()
        .str.to_lowercase()
    )


def _lower(table: dict[str, str | None]) -> dict[str, str | None]:
    return {_python_cle(k): v for k, v in table.items()}


def _python_cle(value: str) -> str:
    return re.sub(_EXPLICATION, "", value.replace("’", "'")).strip().lower()


def _join(values: pl.Expr) -> pl.Expr:
    """A list of values → `|`-joined, deduplicated in order; empty → null."""
    return values.list.unique(maintain_order=True).list.join(SEPARATEUR_V1).replace("", None)


def _map_vocabulaire(
    column: str, targets: dict[str, dict[str, str | None]]
) -> tuple[dict[str, pl.Expr], pl.Expr]:
    """v1 values per target column, and the v0 values set aside (no v1 equivalent), `;`-joined.

    Known v0 values go to the target whose table gives them a value; unknown ones are kept
    as they are in the first target, where `stage_lieux` checks them against the v1 vocabulary.
    """
    tables = {t: _lower(table) for t, table in targets.items()}
    known = sorted({k for table in tables.values() for k in table})
    mapped = {k for table in tables.values() for k, v in table.items() if v is not None}
    sans_equivalent = sorted(set(known) - mapped)
    first = next(iter(tables))
    tokens = _tokens(column)
    outputs = {}
    for target, table in tables.items():
        translated = tokens.list.eval(
            _cle(pl.element()).replace_strict(table, default=None, return_dtype=pl.String)
        )
        if target == first:
            unknown = tokens.list.eval(pl.element().filter(~_cle(pl.element()).is_in(known)))
            translated = translated.list.concat(unknown)
        outputs[target] = _join(translated.list.drop_nulls())
    dropped = (
        tokens.list.eval(pl.element().filter(_cle(pl.element()).is_in(sans_equivalent)))
        .list.join(";")
        .replace("", None)
    )
    return outputs, dropped


def telephone_international(value: pl.Expr) -> pl.Expr:
    """A French phone number in international format (`+33…`, DROM codes), null if unreadable.

    National numbers ("04 50 56 87 49", "04.50.56.87.49"), `0033…` and numbers that lost their
    leading zero in a spreadsheet (9 digits) are converted; `+…` numbers are kept.
    """
    digits = value.str.replace_all(r"[\s\u00a0.\-/()]", "")
    national = (
        pl.when(digits.str.contains(r"^0\d{9}$"))
        .then(digits)
        .when(digits.str.contains(r"^[1-9]\d{8}$"))
        .then("0" + digits)
        .when(digits.str.contains(r"^0033[1-9]\d{8}$"))
        .then("0" + digits.str.slice(4))
    )
    indicatif = national.str.slice(0, 4).replace_strict(
        INDICATIFS_OUTRE_MER, default="+33", return_dtype=pl.String
    )
    return (
        pl.when(digits.str.contains(r"^\+\d{8,15}$"))
        .then(digits)
        .when(national.str.starts_with(PREFIXE_SAINT_PIERRE))
        .then("+508" + national.str.slice(4))
        .when(national.is_not_null())
        .then(indicatif + national.str.slice(1))
    )


def _telephone(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    converted = telephone_international(pl.col("telephone"))
    ecarts = run_checks(
        frame,
        [
            Check(
                "telephone",
                "telephone_invalide",
                pl.col("telephone").is_not_null() & converted.is_null(),
                VALEUR_ECARTEE,
            )
        ],
    )
    return frame.with_columns(converted.alias("telephone")), ecarts


def _select_v1(frame: pl.DataFrame) -> pl.DataFrame:
    """Identity columns, then the standard's, in one chunk each.

    Rechunked because polars 1.44.2 panics ("assertion failed: i < self.len()") in
    `stage_lieux`'s `hors_france` check on a frame read in many chunks by `read_csv` (the
    national France Services list: 33 chunks, two Saint-Martin rows outside France).
    """
    missing = [c for c in COLONNES_V1 if c not in frame.columns]
    frame = frame.with_columns(pl.lit(None, pl.String).alias(c) for c in missing)
    return frame.select(*IDENTITE_LIGNE, *COLONNES_V1).rechunk()


def map_v0_to_v1(
    raw: pl.DataFrame, itinerance: str | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A file of the standard v0 → standard v1 columns and vocabularies; returns (lieux, ecarts).

    Vocabularies: `services`, `conditions_acces`/`conditions_access` → `frais_a_charge`,
    `modalites_accompagnement`, `labels_nationaux` → `dispositif_programmes_nationaux` (and
    `formations_labels`), `publics_accueillis` → `publics_specifiquement_adresses` (and
    `prise_en_charge_specifique`). Renamed: `courriel`, `accessibilite`, `labels_autres`.
    v0 had no `itinerance`: a file known to describe an itinerant service (a bus) passes
    `itinerance="Itinérant"` for all its rows. Columns outside the standard (v0's `cle_ban`,
    producers' own ids) are dropped. Values already in v1 pass through, so a partially migrated
    file can be given too (a v1 column already filled wins over its v0 counterpart).
    """
    frame = _clean(raw)
    parts = []
    for v0, targets in VOCABULAIRES_V0.items():
        if v0 not in frame.columns:
            continue
        outputs, dropped = _map_vocabulaire(v0, targets)
        parts.append(
            run_checks(
                frame.with_columns(dropped.alias("_ecarte")),
                [
                    Check(
                        v0,
                        "valeur_v0_sans_equivalent_v1",
                        pl.col("_ecarte").is_not_null(),
                        VALEUR_ECARTEE,
                        pl.col("_ecarte"),
                    )
                ],
            )
        )
        # A v1 column already filled (partial migration, or a second v0 spelling) wins.
        frame = frame.with_columns(
            (pl.coalesce(pl.col(t), mapped) if t in frame.columns and t != v0 else mapped).alias(t)
            for t, mapped in outputs.items()
        )
        if v0 not in outputs:
            frame = frame.drop(v0)
    for v0, v1 in RENOMMAGES_V0.items():
        if v0 in frame.columns:
            target = pl.coalesce(pl.col(v1), pl.col(v0)) if v1 in frame.columns else pl.col(v0)
            frame = frame.with_columns(target.alias(v1)).drop(v0)
    frame = frame.with_columns(
        _join(_tokens(c)).alias(c) for c in LISTES_LIBRES if c in frame.columns
    )
    if itinerance is not None:
        frame = frame.with_columns(pl.lit(itinerance, pl.String).alias("itinerance"))
    if "telephone" in frame.columns:
        frame, ecarts_tel = _telephone(frame)
        parts.append(ecarts_tel)
    ecarts = pl.concat([run_checks(frame, []), *parts])
    return _select_v1(frame), ecarts


def horaires_osm(jours: dict[str, str]) -> tuple[pl.Expr, pl.Expr]:
    """(OSM opening_hours, raw values of the days that did not parse) from one column per day.

    Each day holds ranges like "09:00 - 12:00 / 13:30 - 17:00" (separated by `/`, `,` or
    spaces); "-", empty or only "00:00 - 00:00" means closed. A day parses when it is only
    ranges with start < end, minutes < 60 and end ≤ 24:00. The result ("Mo 09:00-12:00,
    13:30-17:00; Tu …") is null when any day fails — half a week would read as closed on the
    other days — or when every day is closed (nothing known).
    """
    regles, erreurs = [], []
    for colonne, jour in jours.items():
        valeur = pl.col(colonne).str.strip_chars()
        ferme = valeur.is_null() | valeur.is_in(_FERME)
        reste = valeur.str.replace_all(_PLAGE, "").str.replace_all(r"[\s/,;]", "")
        plages = valeur.str.extract_all(_PLAGE).list.eval(
            pl.element().str.extract(_PLAGE, 1).str.zfill(2)
            + ":"
            + pl.element().str.extract(_PLAGE, 2)
            + "-"
            + pl.element().str.extract(_PLAGE, 3).str.zfill(2)
            + ":"
            + pl.element().str.extract(_PLAGE, 4)
        )
        # "00:00 - 00:00" is a form's empty default (12 sites), not a range: dropped.
        plages = plages.list.eval(pl.element().filter(pl.element() != _PLAGE_VIDE))
        ferme = ferme | ((reste == "") & (plages.list.len() == 0) & valeur.str.contains(_PLAGE))
        debut, fin = pl.element().str.slice(0, 5), pl.element().str.slice(6, 5)
        valide = (
            (debut < fin)
            & (debut.str.slice(0, 2) <= "23")
            & (fin <= "24:00")
            & (debut.str.slice(3, 2) < "60")
            & (fin.str.slice(3, 2) < "60")
        )
        ok = ferme | ((reste == "") & (plages.list.len() > 0) & plages.list.eval(valide).list.all())
        regles.append(
            pl.when(~ferme).then(
                pl.lit(f"{jour} ") + plages.list.unique().list.sort().list.join(",")
            )
        )
        erreurs.append(
            pl.when(~ok.fill_null(False)).then(pl.format("{}: {}", pl.lit(jour), valeur))
        )
    echecs = pl.concat_str(erreurs, separator="; ", ignore_nulls=True).replace("", None)
    texte = pl.concat_str(regles, separator="; ", ignore_nulls=True).replace("", None)
    return pl.when(echecs.is_null()).then(texte), echecs


def parse_france_services(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """ANCT's national list of France Services → standard v1; returns (lieux, ecarts).

    `services` is "Aide aux démarches administratives": that is the France Services mission
    (help with the procedures of the partner administrations), not something the list says row
    by row. The list has no SIRET and no update date: `stage_lieux` fills `pivot` with the
    standard's "unknown" value and dates rows by the list's date when given.
    """
    frame = _clean(raw)
    horaires, horaires_ko = horaires_osm(JOURS_FRANCE_SERVICES)
    itinerance = pl.col("itinerance").replace_strict(
        ITINERANCE_FRANCE_SERVICES, default=None, return_dtype=pl.String
    )
    frame = frame.with_columns(
        horaires.alias("_horaires"),
        horaires_ko.alias("_horaires_ko"),
        itinerance.alias("_itinerance"),
    )
    ecarts = run_checks(
        frame,
        [
            Check(
                "horaires",
                "horaires_non_convertibles",
                pl.col("_horaires_ko").is_not_null(),
                VALEUR_ECARTEE,
                pl.col("_horaires_ko"),
            ),
            Check(
                "itinerance",
                "hors_vocabulaire_v1",
                pl.col("itinerance").is_not_null() & pl.col("_itinerance").is_null(),
                VALEUR_ECARTEE,
            ),
        ],
    )
    frame = frame.select(
        *IDENTITE_LIGNE,
        pl.col("id_fs").alias("id"),
        pl.col("lib_fs").alias("nom"),
        pl.col("lib_com").alias("commune"),
        "code_postal",
        pl.col("insee_com").alias("code_insee"),
        "adresse",
        "complement_adresse",
        "latitude",
        "longitude",
        pl.lit(TYPOLOGIE_FRANCE_SERVICES).alias("typologie"),
        "telephone",
        pl.col("mail").alias("courriels"),
        pl.col("_horaires").alias("horaires"),
        pl.col("commentaire").alias("presentation_detail"),
        # the live list (data.gouv 31576dff) has a website and a booking link; 2022's had not
        *(pl.col(c) for c in ("site_web", "prise_rdv") if c in frame.columns),
        pl.lit(SOURCE_FRANCE_SERVICES).alias("source"),
        pl.col("_itinerance").alias("itinerance"),
        pl.lit(SERVICE_FRANCE_SERVICES).alias("services"),
        pl.lit(DISPOSITIF_FRANCE_SERVICES).alias("dispositif_programmes_nationaux"),
        pl.col("insee_dep").alias(DEPARTEMENT_DECLARE) if "insee_dep" in frame.columns else [],
    )
    frame, ecarts_tel = _telephone(frame)
    declare = [frame[DEPARTEMENT_DECLARE]] if DEPARTEMENT_DECLARE in frame.columns else []
    return _select_v1(frame).with_columns(declare), pl.concat([ecarts, ecarts_tel])


def parse_conseillers_numeriques(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Lieux of the conseillers numériques (v0 vocabulary) → standard v1; returns (lieux, ecarts).

    Every lieu of this export hosts at least one conseiller numérique, so "Conseillers
    numériques" is always among its programmes, whatever `labels_nationaux` says.
    `nb_conseillers` (how many work there) is not in the standard but is the only measure of
    capacity the registries give: it is kept, as an integer, after the standard's columns
    (`stage_lieux` does not keep it; join it back on the identity columns).
    """
    lieux, ecarts = map_v0_to_v1(raw)
    dispositifs = pl.col("dispositif_programmes_nationaux")
    nb = _clean(raw.select(*IDENTITE_LIGNE, "nb_conseillers"))["nb_conseillers"]
    lieux = lieux.with_columns(
        pl.when(dispositifs.is_null())
        .then(pl.lit(DISPOSITIF_CONSEILLERS))
        .when(dispositifs.str.split(SEPARATEUR_V1).list.contains(pl.lit(DISPOSITIF_CONSEILLERS)))
        .then(dispositifs)
        .otherwise(pl.lit(DISPOSITIF_CONSEILLERS + SEPARATEUR_V1) + dispositifs)
        .alias("dispositif_programmes_nationaux"),
        nb.cast(pl.Int64, strict=False).alias("nb_conseillers"),
    )
    return lieux, ecarts


def parse_aidants_connect(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Aidants Connect organisations (public API, one row per active habilitated structure,
    `observatory.sources.aidants_connect_live.parse_organisations`) → standard v1.

    Provenance: `source` is `aidants-connect` and `id` the organisation's UUID (the published
    id becomes `aidants_connect__structures:<uuid>`). `dispositif_programmes_nationaux` is
    "Aidants Connect" for every row: the API lists only habilitated structures. `service` is a
    constant v0 label ("Réaliser des démarches administratives avec un accompagnement"),
    mapped like any v0 service (→ "Aide aux démarches administratives"). `date_maj` is the
    date of `date_de_modification` (ISO timestamp). The API has no coordinates, hours,
    contacts or typology: those stay null and the commune is found from `code_insee`.
    """
    frame = _clean(raw)
    frame = frame.select(
        *IDENTITE_LIGNE,
        *(pl.col(api).alias(v1) for api, v1 in AIDANTS_CONNECT_V1.items()),
        pl.col("service").alias("services"),
        pl.col("date_de_modification").str.slice(0, 10).alias("date_maj"),
        pl.lit(SOURCE_AIDANTS_CONNECT).alias("source"),
        pl.lit(DISPOSITIF_AIDANTS_CONNECT).alias("labels_nationaux"),
    )
    return map_v0_to_v1(frame)
