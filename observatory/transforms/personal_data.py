"""Personal data out of place lists before staging, and a scan of what is about to be published.

Registries and partner files carry a referent's name, person-like e-mails (`prenom.nom@…`) or
mobile numbers. Only structures' contacts may be published (`accueil@`, `contact@`, `mairie@`,
a switchboard `05…`), so:

- columns that always hold personal data (`COLONNES_PERSONNELLES`: referent, responsible
  person…) are dropped, each non-null value counted;
- in every other string column, person-like e-mails (`prenom.nom@`, `nom.prenom@`,
  `p.nom@`/`mf.nom@`, `prenom-nom@`, `prenom_nom@`; `prenom` from INSEE's list of first names
  passed in, `stg_insee__prenoms`) and French mobile numbers (`06`/`07`, `+33 6`/`+33 7`,
  `0033 6`) are removed: in a contact column (`COLONNES_CONTACT`) only those tokens are taken
  out and the structure's own contacts kept; in any other column (free text) the whole value is
  set aside.

`ecarter_donnees_personnelles` returns the cleaned frame and quarantine entries
(`valeur_ecartee`) whose `valeur_brute` is masked (`c***.g***@udaf16.org`, `+33 6 ** ** ** 38`):
the quarantine counts what was removed without keeping it. `scan_personal_data` finds the same
things in any table (a blocking check on published tables).

Known limits: a surname glued to a first name (`jdupont@`, `christinegranet@`) is not found; a
structure address whose first part is a first name and whose second part is not a known
structure word (`ange.gardien@`) is taken for a person's (removed, never published).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

import polars as pl

from observatory.transforms.names import sans_accents
from observatory.validation.quarantine import (
    IDENTITE_LIGNE,
    QUARANTINE_SCHEMA,
    ROW,
    VALEUR_ECARTEE,
)

# Columns that name or reach a person, in the registries and partner exports seen so far.
COLONNES_PERSONNELLES = (
    "referent",
    "nom_referent",
    "prenom_referent",
    "referent_nom",
    "referent_prenom",
    "courriel_referent",
    "email_referent",
    "telephone_referent",
    "contact_nom",
    "contact_prenom",
    "nom_contact",
    "prenom_contact",
    "responsable",
    "nom_responsable",
    "prenom_responsable",
    "nom_prenom",
    "prenom_nom",
    "conseiller",
    "conseillers",
    "nom_conseiller",
    "prenom_conseiller",
    "mediateur",
    "nom_mediateur",
    "aidant",
    "aidants",
)
# Columns of contacts: personal tokens are taken out, the structure's own ones kept.
COLONNES_CONTACT = (
    "courriels",
    "courriel",
    "email",
    "emails",
    "mail",
    "e_mail",
    "telephone",
    "telephones",
    "tel",
    "portable",
    "contact",
)
# Mailbox providers for individuals: a bare first name there is a person's address
FOURNISSEURS_COURRIEL = frozenset(
    [
        "gmail.com", "orange.fr", "wanadoo.fr", "free.fr", "laposte.net", "hotmail.fr",
        "hotmail.com", "yahoo.fr", "yahoo.com", "sfr.fr", "neuf.fr", "outlook.fr",
        "outlook.com", "live.fr", "icloud.com", "aol.com", "bbox.fr", "club-internet.fr",
        "gmx.fr", "gmx.com", "gmx.net", "msn.com", "live.com", "protonmail.com", "proton.me",
        "numericable.fr", "aliceadsl.fr", "me.com", "mac.com", "yahoo.co.uk", "hotmail.co.uk",
        "ymail.com", "googlemail.com", "voila.fr", "cegetel.net", "9online.fr", "noos.fr",
        "tiscali.fr", "libertysurf.fr",
    ]
)  # fmt: skip
# Local-part words that name a structure or a function, never a person: an address made of
# one of them and a first name (`france.services@`, `accueil.marie@`) is a structure's.
MOTS_STRUCTURE = frozenset(
    [
        "accueil",
        "administration",
        "admin",
        "agence",
        "animation",
        "antenne",
        "asso",
        "association",
        "atelier",
        "bibliotheque",
        "bureau",
        "bm",
        "bus",
        "cantine",
        "caf",
        "ccas",
        "cc",
        "cias",
        "cdc",
        "centre",
        "commune",
        "communaute",
        "comite",
        "conseil",
        "contact",
        "cs",
        "csc",
        "culture",
        "cyber",
        "cyberbase",
        "departement",
        "direction",
        "ecole",
        "ehpad",
        "emploi",
        "entraide",
        "epn",
        "espace",
        "fablab",
        "famille",
        "familles",
        "forum",
        "france",
        "general",
        "info",
        "infos",
        "informatique",
        "inscription",
        "inscriptions",
        "insertion",
        "jeunesse",
        "lab",
        "lieu",
        "maison",
        "mairie",
        "mdph",
        "media",
        "mediatheque",
        "mediation",
        "mjc",
        "msap",
        "multimedia",
        "noreply",
        "numerique",
        "office",
        "pae",
        "pimms",
        "point",
        "pole",
        "poste",
        "presse",
        "public",
        "reception",
        "relais",
        "rsa",
        "saint",
        "sainte",
        "secretariat",
        "service",
        "services",
        "social",
        "socioculturel",
        "solidarite",
        "st",
        "ste",
        "support",
        "tiers",
        "tierslieu",
        "tourisme",
        "ville",
        "webmaster",
    ]
)
_MOTS_STRUCTURE = pl.Series("mot", sorted(MOTS_STRUCTURE), pl.String)
# the longer ones, found inside a glued word (`franceservices`), and words of associations
# that name no function (`missionlocale.ml@`, `secourspopulaire.lb@`, `emmaus.ag@`)
_MOTS_STRUCTURE_LONGS = "|".join(
    sorted(
        {m for m in MOTS_STRUCTURE if len(m) >= 5}
        | {"mission", "locale", "secours", "ludotheque", "epicerie", "emmaus", "restos", "assoc"}
    )
)
RAISON_COLONNE = "donnee_personnelle_colonne"
RAISON_COURRIEL = "courriel_personnel"
RAISON_MOBILE = "telephone_mobile"
RAISON_NIR = "numero_securite_sociale"
RAISON_NAISSANCE = "date_de_naissance"
RAISON_PERSONNE = "nom_de_personne"

_COURRIEL = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"
_SEP = r"[\s.\-/_,]"
_MOBILE = (
    rf"(?:\(\+33\)|\+33|0033){_SEP}?(?:\(0\){_SEP}?)?[67](?:{_SEP}?\d{{2}}){{4}}\b"
    rf"|\b0[67](?:{_SEP}?\d{{2}}){{4}}\b"
    r"|\b0[67]\d{2}[\s.]?\d{3}[\s.]?\d{3}\b"  # grouped 4-3-3: `0612 345 678`
)
# a date and a time (`07/10/2024 14:00`, `06.12.2024 09:30`) is not a mobile number
_DATE = r"^0[67][/.\-](?:0[1-9]|1[0-2])[/.\-](?:19|20)\d{2}"
# Found in free text and addresses (a person's, never a structure's): a social security number
# (sex, year, month, département, commune, order, key), a birth date, a civility and a name
_NIR = (
    r"\b[12][\s.]?\d{2}[\s.]?(?:0[1-9]|1[0-2]|[2-9]\d)[\s.]?(?:\d{2}|2[AB])"
    r"[\s.]?\d{3}[\s.]?\d{3}[\s.]?\d{2}\b"
)
_NAISSANCE = r"(?i)\bn[ée]e?\s+le\s+\d{1,2}[\s/.\-]+(?:\d{1,2}|[a-zéû]+)[\s/.\-]+\d{2,4}"
# A civility and a name (`Mme Dupont`, `Mme DUPONT`, `M.MARTIN Jean`) is taken with the word
# before it: registries name streets and rooms after people and write titles the same way
# (`12 Rue Madame Curie`, `Salle M. Pagnol`, `12 RUE MME DE SEVIGNE`, `M. LE MAIRE`, `ZAC MR
# BRICOLAGE`), and a match nulls a required field, so `_nom_plausible` drops a match after a
# street or building word (`VOIES`) or whose name is an article, a title or a brand
# (`MOTS_TITRE`). `M.` counts with its period and a space (`Maison Pour Tous M.Pagnol`, in the
# national registry, is Marcel Pagnol's initial); the others with a period or a space.
_CIVILITE = (
    r"\b(?:M\.\s+|(?:Mr|MR|Mme|Mlle|Melle|MME|MLLE|MELLE|Madame|Monsieur|Mademoiselle|MADAME"
    r"|MONSIEUR|MADEMOISELLE)(?:\.\s*|\s+))"
)
_PERSONNE = (
    rf"(?:[\p{{L}}'\-]+\.?\s+)?{_CIVILITE}"
    r"(?:[A-ZÀ-Ý][a-zà-ÿ'\-]+(?:\s+[A-ZÀ-Ý][A-Za-zà-ÿ'\-]+)?"
    r"|\p{Lu}[\p{Lu}'\-]+\b(?:\s+\p{Lu}[\p{L}'\-]+)?)"
)
# fmt: off
VOIES = frozenset(
    {
        "rue", "avenue", "av", "bd", "boulevard", "place", "pl", "allee", "impasse", "imp",
        "chemin", "ch", "route", "rte", "quai", "square", "sq", "cours", "residence", "cite",
        "lotissement", "lot", "zac", "za", "zi", "parc", "passage", "sentier", "voie",
        "espace", "centre", "salle", "ecole", "college", "lycee", "foyer", "maison", "stade",
        "halle", "hameau", "mail", "promenade", "esplanade", "faubourg", "fg", "villa", "clos",
        "domaine", "quartier", "gymnase", "complexe", "bibliotheque", "mediatheque", "creche",
        "groupe", "scolaire", "elementaire", "maternelle", "primaire", "rond-point",
    }
)
# fmt: on
# fmt: off
MOTS_TITRE = frozenset(
    {
        "maire", "adjoint", "adjointe", "president", "presidente", "directeur", "directrice",
        "responsable", "conseiller", "conseillere", "secretaire", "depute", "deputee",
        "senateur", "senatrice", "docteur", "bricolage", "meuble",
    }
)
ARTICLES = frozenset({"le", "la", "les", "de", "du", "des", "l", "d"})
# fmt: on
_TEXTE_PERSONNEL = {RAISON_NIR: _NIR, RAISON_NAISSANCE: _NAISSANCE, RAISON_PERSONNE: _PERSONNE}
# what hides an address or a number from a filter: `nom[at]domaine.fr`, full-width `＠` and
# digits, zero-width spaces
_AROBASE_ECRIT = r"\s*[\[\(\{]\s*(?:at|arobase)\s*[\]\)\}]\s*"
_POINT_ECRIT = r"\s*[\[\(\{]\s*(?:\.|dot|point)\s*[\]\)\}]\s*"  # `gmail[.]com`
_INVISIBLES = "[\u200b\u200c\u200d\u2060\ufeff\u00ad]"
_NOMBRE_DECIMAL = r"^\s*[+-]?\d+[.,]\d+\s*$"  # a coordinate is never a phone number
_SEP_VALEURS = r"\s*[|;,/]\s*|\s+(?:ou|et)\s+"
_RESULTAT = {"ligne": pl.Int64, "colonne": pl.String, "code_raison": pl.String, "valeur": pl.String}


Prenoms = Iterable[str] | pl.Series  # INSEE's first names (`stg_insee__prenoms`)


def normalise_texte(texte: pl.Expr) -> pl.Expr:
    """The text the filters read: compatibility forms folded (NFKC: `＠`, full-width digits),
    invisible characters dropped, `[at]`/`(arobase)` written as `@`, `[.]`/`(point)` as `.`."""
    return (
        texte.str.normalize("NFKC")
        .str.replace_all(_INVISIBLES, "")
        .str.replace_all(rf"(?i){_AROBASE_ECRIT}", "@")
        .str.replace_all(rf"(?i){_POINT_ECRIT}", ".")
    )


def _nom_plausible(trouve: pl.Expr) -> pl.Expr:
    """A civility and a name as a person's, not an address's nor a title's (`_PERSONNE`): not
    after a street or building word (`Av.`, `Rond-Point` included), not a title (`M. le
    Maire`, `M. LE DEPUTE`) nor a brand; an article that starts a name is a name's (`M. Le
    Gall`, `Mme DE SOUSA`)."""

    def mot(motif: str) -> pl.Expr:
        return sans_accents(trouve.str.extract(motif, 1).str.to_lowercase())

    avant = mot(r"^([\p{L}'\-]+)\.?\s")
    nom = mot(rf"{_CIVILITE}([\p{{L}}'\-]+)")
    suivant = mot(rf"{_CIVILITE}[\p{{L}}'\-]+\s+([\p{{L}}'\-]+)")
    titres = sorted(MOTS_TITRE)
    return ~(
        avant.is_in(sorted(VOIES))
        | nom.is_in(titres)
        | (nom.is_in(sorted(ARTICLES)) & (suivant.is_in(titres) | suivant.is_null()))
    ).fill_null(False)


def _cle_nir_valide(nir: pl.Expr) -> pl.Expr:
    """The key of a social security number (97 minus its first 13 digits modulo 97, Corsica's
    2A and 2B read 19 and 18): a 15-digit identifier in a URL (a Facebook page's) has the
    right key only by chance."""
    chiffres = nir.str.replace_all(r"[\s.]", "")
    corps = (
        chiffres.str.slice(0, 13)
        .str.replace("2A", "19", literal=True)
        .str.replace("2B", "18", literal=True)
        .cast(pl.Int64, strict=False)
    )
    return (97 - corps % 97) == chiffres.str.slice(13, 2).cast(pl.Int64, strict=False)


# what a match of `_TEXTE_PERSONNEL` must also be to count
_FILTRES_TEXTE = {RAISON_NIR: _cle_nir_valide, RAISON_PERSONNE: _nom_plausible}


def masque_texte(texte: str) -> str:
    """A text (a dropped file's name) with every e-mail's local part and every mobile number
    masked, whoever they belong to: a name is not the place for either."""
    # `normalise_texte` in Python: a file name may hold bytes that are not UTF-8 (surrogate
    # escapes), which a polars string cannot
    texte = unicodedata.normalize("NFKC", texte)
    texte = re.sub(_INVISIBLES, "", texte)
    texte = re.sub(_AROBASE_ECRIT, "@", texte, flags=re.IGNORECASE)
    texte = re.sub(_POINT_ECRIT, ".", texte, flags=re.IGNORECASE)
    texte = re.sub(_COURRIEL, lambda m: "xxx@" + m.group(0).rpartition("@")[2], texte)
    return re.sub(_MOBILE, "0x-xx-xx-xx-xx", texte)


def _serie_noms(noms: Prenoms) -> pl.Series:
    """First names as a Series (built once per call, not once per `is_in`)."""
    return noms if isinstance(noms, pl.Series) else pl.Series("prenom", sorted(noms), pl.String)


def _est_prenom(token: pl.Expr, noms: pl.Series) -> pl.Expr:
    """A first name, or a compound of first names (`jean-pierre`, `marie-claire`)."""
    parts = token.str.split("-")
    return token.is_in(noms.implode()) | (
        (parts.list.len() > 1) & parts.list.eval(pl.element().is_in(noms.implode())).list.all()
    )


def courriel_personnel(courriel: pl.Expr, noms: Prenoms) -> pl.Expr:
    """True for a person-like e-mail address, else False.

    The local part, in lower case without accents or trailing digits, split on `.` and `_`:
    two parts with a first name and a name (`prenom.nom`, `nom.prenom`, `prenom_nom2`), or
    initials and a name (`p.nom`, `mf.nom`); three or more parts starting with a first name
    and a name, either way round (`prenom.nom.service`, `nom.prenom.16`); one part
    `prenom-nom`, and at a mailbox provider for individuals (`FOURNISSEURS_COURRIEL`)
    `nom-prenom`, a first name alone or `nom.initiale`. A sub-address (`+atelier`) is ignored.
    Never when any word of it names a structure or a function (`MOTS_STRUCTURE`:
    `france.services`, `accueil.marie`).
    """
    noms = _serie_noms(noms)
    # without a sub-address (`marie.dupont+atelier@`) nor trailing digits
    local = (
        sans_accents(courriel.str.split("@").list.first().str.to_lowercase())
        .str.replace(r"\+.*$", "")
        .str.replace(r"\d+$", "")
    )
    parts = local.str.replace_all("_", ".").str.split(".")
    n = parts.list.len()
    first, second = parts.list.get(0, null_on_oob=True), parts.list.get(1, null_on_oob=True)
    words = local.str.replace_all(r"[._\-]", ".").str.split(".")
    structure = words.list.eval(pl.element().is_in(_MOTS_STRUCTURE.implode())).list.any()
    name = r"^[a-z]{2,}(?:-[a-z]{2,})*$"
    two = (n == 2) & (
        (_est_prenom(first, noms) & second.str.contains(r"^[a-z][a-z0-9\-]+$"))
        | (_est_prenom(second, noms) & first.str.contains(name))
        | (
            first.str.contains(r"^[a-z]{1,2}$")
            & second.str.contains(r"^(?:[a-z]{3,}|[a-z]{2,}-[a-z]{2,})(?:-[a-z]{2,})*$")
        )
    )
    more = (n >= 3) & (
        (_est_prenom(first, noms) & second.str.contains(name))
        | (_est_prenom(second, noms) & first.str.contains(name))
    )
    hyphen = local.str.extract_groups(r"^(?<a>[a-z]{2,})-(?<b>[a-z]{2,})$")
    # `prenom-nom`; at a mailbox provider also `nom-prenom` and a first name alone
    # (`gerard@orange.fr`): elsewhere they are as often a commune (`antony@pimms.org`,
    # `lachamp-raphael@france-services.gouv.fr`)
    fournisseur = (
        courriel.str.to_lowercase()
        .str.extract(r"@([a-z0-9.\-]+)$", 1)
        .is_in(list(FOURNISSEURS_COURRIEL))
    )
    one = (n == 1) & (
        _est_prenom(hyphen.struct.field("a"), noms)
        | (fournisseur & (_est_prenom(hyphen.struct.field("b"), noms) | _est_prenom(local, noms)))
    )
    # `nom.initiale` at a mailbox provider (`dupont.m@laposte.net`); elsewhere as often an
    # acronym and initials (`msp.fs@`); never a name that holds a structure's word
    # (`franceservices.vf@gmail.com`, a France Services of the national registry)
    nom_initiale = (
        fournisseur
        & (n == 2)
        & first.str.contains(r"^(?:[a-z]{4,}|[a-z]{2,}(?:-[a-z]{2,})+)$")
        & ~first.str.contains(_MOTS_STRUCTURE_LONGS)
        & second.str.contains(r"^[a-z]{1,2}$")
        & (second != "fr")
    )
    return (~structure & (two | more | one | nom_initiale)).fill_null(False)


def _masque_courriel(courriel: pl.Expr) -> pl.Expr:
    local = courriel.str.split("@").list.first()
    domain = courriel.str.split("@").list.last()
    masked = local.str.replace_all(r"([A-Za-z0-9])[A-Za-z0-9]*", "$1***")
    return pl.format("{}@{}", masked, domain)


def _masque_mobile(numero: pl.Expr) -> pl.Expr:
    digits = numero.str.replace_all(r"\D", "")
    national = (
        pl.when(digits.str.starts_with("0033"))
        .then("0" + digits.str.slice(4))
        .when(digits.str.starts_with("33"))
        .then("0" + digits.str.slice(2))
        .otherwise(digits)
    )
    return pl.format("{} ** ** ** {}", national.str.slice(0, 2), national.str.slice(8, 2))


def _colonnes_a_examiner(frame: pl.DataFrame, colonnes: Sequence[str]) -> list[str]:
    """The columns with at least one `@`, mobile-like number or personal pattern of free text.

    Most columns of a national table have neither; examining each one cell by cell (the
    e-mail test builds a dozen expressions) made the scan seconds long on big tables.
    """
    if not colonnes or frame.height == 0:
        return []
    motif = "|".join(["@", _MOBILE, *_TEXTE_PERSONNEL.values()])
    # each distinct value once: published tables repeat theirs (a place in every commune's
    # `orientation` rows), and the folding (NFKC) is the costly part
    return [
        c
        for c in colonnes
        if frame.select(normalise_texte(pl.col(c).unique()).str.contains(motif).any()).item()
    ]


def _trouvailles(frame: pl.DataFrame, colonnes: Sequence[str], noms: Prenoms) -> pl.DataFrame:
    """One row per personal value found (e-mail, mobile, `_TEXTE_PERSONNEL`): (__i, colonne,
    code_raison, brut, masque)."""
    parts = []
    noms = _serie_noms(noms)
    colonnes = _colonnes_a_examiner(frame, colonnes)
    indexed = frame.with_row_index("__i") if colonnes else frame
    for colonne in colonnes:
        cell = normalise_texte(pl.col(colonne))
        valeurs = frame.select(pl.col(colonne).unique()).drop_nulls()
        par_valeur = valeurs.select(
            colonne,
            *(cell.str.extract_all(motif).alias(f"__{r}") for r, motif in _TEXTE_PERSONNEL.items()),
            cell.str.extract_all(_COURRIEL).alias("__courriel"),
            pl.when(cell.str.contains(_NOMBRE_DECIMAL))
            .then(pl.lit([], pl.List(pl.String)))
            .otherwise(cell.str.extract_all(_MOBILE))
            .alias("__mobile"),
        )
        found = (
            indexed.select("__i", colonne)
            .join(par_valeur, on=colonne, maintain_order="left")
            .drop(colonne)
        )
        emails = (
            found.select("__i", pl.col("__courriel").alias("brut"))
            .explode("brut", empty_as_null=True)
            .drop_nulls("brut")
            .filter(courriel_personnel(pl.col("brut"), noms))
            .with_columns(
                pl.lit(RAISON_COURRIEL).alias("code_raison"),
                _masque_courriel(pl.col("brut")).alias("masque"),
            )
        )
        mobiles = (
            found.select("__i", pl.col("__mobile").alias("brut"))
            .explode("brut", empty_as_null=True)
            .drop_nulls("brut")
            .filter(~pl.col("brut").str.contains(_DATE))
            .with_columns(
                pl.lit(RAISON_MOBILE).alias("code_raison"),
                _masque_mobile(pl.col("brut")).alias("masque"),
            )
        )
        textes = [
            found.select("__i", pl.col(f"__{raison}").alias("brut"))
            .explode("brut", empty_as_null=True)
            .drop_nulls("brut")
            .filter(_FILTRES_TEXTE.get(raison, lambda _: pl.lit(True))(pl.col("brut")))
            .with_columns(
                pl.lit(raison).alias("code_raison"),
                pl.col("brut").str.replace_all(r"[A-Za-zÀ-ÿ0-9]", "*").alias("masque"),
            )
            for raison in _TEXTE_PERSONNEL
        ]
        parts += [
            p.with_columns(pl.lit(colonne).alias("colonne")) for p in (emails, mobiles, *textes)
        ]
    empty = pl.DataFrame(
        schema={
            "__i": pl.UInt32,
            "brut": pl.String,
            "code_raison": pl.String,
            "masque": pl.String,
            "colonne": pl.String,
        }
    )
    return pl.concat([empty, *(p.select(empty.columns) for p in parts)])


def _colonnes_texte(frame: pl.DataFrame, exclues: Iterable[str] = ()) -> list[str]:
    skip = {*IDENTITE_LIGNE, *exclues}
    return [c for c, t in frame.schema.items() if t == pl.String and c not in skip]


def scan_personal_data(frame: pl.DataFrame, prenoms: Prenoms) -> pl.DataFrame:
    """Person-like e-mails and mobile numbers in every string column (masked values).

    Columns: `ligne` (0-based row), `colonne`, `code_raison`, `valeur` (masked). Empty when the
    table can be published.
    """
    found = _trouvailles(frame, _colonnes_texte(frame), prenoms)
    return found.select(
        pl.col("__i").cast(pl.Int64).alias("ligne"),
        "colonne",
        "code_raison",
        pl.col("masque").alias("valeur"),
    ).sort("ligne", "colonne")


def _identite(frame: pl.DataFrame) -> list[pl.Expr]:
    """Quarantine identity of each row: the raw layer's, or the row number when absent."""
    has = set(IDENTITE_LIGNE) <= set(frame.columns)
    if has:
        return [
            pl.col("jeu_de_donnees").alias("source"),
            pl.col("fichier_origine").alias("fichier"),
            pl.col("sha256_origine").alias("sha256"),
            pl.col(ROW).cast(pl.Int64).alias(ROW),
        ]
    return [
        pl.lit(None, pl.String).alias("source"),
        pl.lit(None, pl.String).alias("fichier"),
        pl.lit(None, pl.String).alias("sha256"),
        (pl.col("__i").cast(pl.Int64) + 1).alias(ROW),
    ]


def _sans_les_trouvailles(frame: pl.DataFrame, colonne: str, found: pl.DataFrame) -> pl.Series:
    """The cells of a contact column without the values holding a personal token.

    A cell lists values separated by `|;,/` (or `ou`, `et`); the values left are joined by `|`,
    null when none is left.
    """
    values = (
        frame.select(
            "__i",
            pl.col(colonne).str.replace_all(_SEP_VALEURS, "\x1f").str.split("\x1f").alias("__v"),
        )
        .explode("__v", empty_as_null=True)
        .with_columns(pl.col("__v").str.strip_chars())
        .filter(pl.col("__v").is_not_null() & (pl.col("__v") != ""))
        .with_row_index("__k")
    )
    hits = (
        values.join(found.filter(pl.col("colonne") == colonne), on="__i")
        .filter(normalise_texte(pl.col("__v")).str.contains(pl.col("brut"), literal=True))
        .select("__k")
        .unique()
    )
    kept = (
        values.join(hits, on="__k", how="anti")
        .group_by("__i", maintain_order=True)
        .agg(pl.col("__v").str.join("|").alias("__garde"))
    )
    return frame.select("__i").join(kept, on="__i", how="left")["__garde"]


def ecarter_donnees_personnelles(
    frame: pl.DataFrame,
    prenoms: Prenoms,
    colonnes_personnelles: Iterable[str] = COLONNES_PERSONNELLES,
    colonnes_contact: Iterable[str] = COLONNES_CONTACT,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Remove personal data from a place list before staging; returns (cleaned, entries).

    `frame` holds strings (a raw file), with the raw layer's identity columns when it has them.
    Columns in `colonnes_personnelles` are dropped; in contact columns, person-like e-mails and
    mobile numbers are taken out of the cell and the rest kept; in other string columns, a
    value holding one is set to null. Entries follow the quarantine schema, action
    `valeur_ecartee`, one per value removed, the value masked.
    """
    personal = [c for c in frame.columns if c.lower() in set(colonnes_personnelles)]
    contact = {c for c in frame.columns if c.lower() in set(colonnes_contact)}
    indexed = frame.with_row_index("__i")
    dropped = [
        indexed.filter(pl.col(c).is_not_null() & (pl.col(c).cast(pl.String) != "")).select(
            *_identite(frame),
            pl.lit(c).alias("colonne"),
            pl.lit(RAISON_COLONNE).alias("code_raison"),
            pl.lit(None, pl.String).alias("valeur_brute"),
            pl.lit(VALEUR_ECARTEE).alias("action"),
        )
        for c in personal
    ]
    rest = indexed.drop(personal)
    found = _trouvailles(rest.drop("__i"), _colonnes_texte(rest.drop("__i")), prenoms)
    entries = found.join(rest, on="__i", how="left").select(
        *_identite(frame),
        "colonne",
        "code_raison",
        pl.col("masque").alias("valeur_brute"),
        pl.lit(VALEUR_ECARTEE).alias("action"),
    )
    hit_cells = found.select("__i", "colonne").unique()
    cleaned = rest
    for colonne in hit_cells["colonne"].unique().sort().to_list():
        hit = pl.col("__i").is_in(hit_cells.filter(pl.col("colonne") == colonne)["__i"].implode())
        if colonne in contact:
            replaced = pl.lit(_sans_les_trouvailles(rest, colonne, found))
        else:
            replaced = pl.lit(None, pl.String)
        cleaned = cleaned.with_columns(
            pl.when(hit).then(replaced).otherwise(pl.col(colonne)).alias(colonne)
        )
    quarantine = pl.concat(
        [pl.DataFrame(schema=QUARANTINE_SCHEMA), *dropped, entries], how="vertical_relaxed"
    )
    return cleaned.drop("__i"), quarantine.sort(ROW, "colonne", nulls_last=True)
