"""User-defined territories (zonages): communes grouped into zones, checked before any use.

A département steers digital inclusion by local networks, social-action districts or contract
areas, not only by EPCI. A user declares a zoning in a file (`observatory/zonings.py` reads
them); it becomes the `niveau` `zonage:<nom>`, computed from commune counts like every
built-in level, so the zones must be an exact partition of the communes of its scope.

**Scope** of a zoning: the union of
- the communes it lists (CSV rows, YAML `communes:`),
- every commune of each EPCI it lists (YAML `epci:`): the whole EPCI, whichever
  département its communes are in (89 EPCI straddle two or more),
- every commune of the territories of its declared `perimetre`, if any (YAML
  `perimetre: departement 16`, CSV comment line `# perimetre: departement=16` before the
  header; several separated by `,`; any `niveau` of `int__appartenances`: `epci`,
  `departement`, `region`…).

Every commune of the scope must be in exactly one zone. Without a `perimetre`, the scope is
only what is listed, so no commune can be *forgotten*: a zoning of five communes is a zoning of
five communes. Declaring a `perimetre` is how a zoning says "all of this is covered": then a
commune of the perimetre in no zone is refused as forgotten, and a listed commune outside it
is refused too. An EPCI only partly covered by a zone, the rest in none, is therefore caught
when the EPCI is inside the perimetre (`perimetre: epci 200071827` checks one EPCI).

Codes: a former commune code is rebased to the current commune its territory is now in
(`rebasing.build_passage`, built from `DEPUIS_ZONAGES`); a former code whose territory is now
split between several communes is refused, naming them (the user must choose). A commune
reached twice *in the same zone* (two former codes of one commune nouvelle, a commune listed
and its EPCI) counts once; in two zones it is an overlap, refused. Every problem found is
reported at once, in one `ZonageError`, naming the communes and where they come from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl

from observatory.transforms.names import normalise_nom_colonne
from observatory.transforms.territories import motif_code, normalise_codes_communes

PREFIXE_NIVEAU = "zonage:"
NOM_ZONAGE = re.compile(r"^[a-z0-9_]+$")
# A zone code ends up in URLs, file names and SQL literals: keep it plain.
CODE_ZONE = re.compile(r"^[A-Za-z0-9_-]{1,50}$")
CODE_EPCI = re.compile(motif_code(r"^\d{9}$"))  # SIREN
COMMUNE = "commune"
EPCI = "epci"
# A user's file has no COG vintage. Movements since 2000 are followed; a code gone before is
# resolved by the historical passage table. Over the whole history (since 1943), 95 former
# codes would look split because a commune absorbed in 1973 was re-established in the 1980s.
DEPUIS_ZONAGES = date(2000, 1, 1)
# Key and attribute the YAML loader may add to say where a value was (line numbers).
CLE_LIGNE = "__ligne__"
ATTRIBUT_LIGNES = "lignes"
MAX_CITES = 25  # communes named per problem in a message; the rest are counted

AFFECTATIONS_SCHEMA: dict[str, pl.DataType] = {
    "type_code": pl.String(),  # commune | epci
    "code": pl.String(),
    "code_zone": pl.String(),
    "nom_zone": pl.String(),
    "origine": pl.String(),  # where the row comes from, for messages: "ligne 4", …
}
APPARTENANCES_SCHEMA: dict[str, pl.DataType] = {
    "code_commune": pl.String(),
    "niveau": pl.String(),
    "code": pl.String(),
}
_CLES_YAML = {"description", "perimetre", "zones", CLE_LIGNE}
_CLES_ZONE = {"code", "nom", "epci", "communes", CLE_LIGNE}

# Detail keys of a ZonageError: the kind of problem → the codes concerned.
INVALIDES = "codes_invalides"
COMMUNES_INCONNUES = "communes_inconnues"
COMMUNES_SCINDEES = "communes_scindees"
EPCI_INCONNUS = "epci_inconnus"
PERIMETRE_INCONNU = "perimetre_inconnu"
EN_DOUBLE = "communes_en_double"
OUBLIEES = "communes_oubliees"
HORS_PERIMETRE = "communes_hors_perimetre"


class ZonageError(ValueError):
    """A zoning is refused; `details` maps each kind of problem to the codes concerned."""

    def __init__(self, message: str, details: Mapping[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.details: dict[str, list[str]] = dict(details or {})


@dataclass(frozen=True)
class DeclarationZonage:
    """A zoning as declared: assignments (`AFFECTATIONS_SCHEMA`) and an optional perimeter."""

    affectations: pl.DataFrame
    perimetre: tuple[tuple[str, str], ...] = ()
    fichier: str | None = None


def niveau_zonage(nom: str) -> str:
    """`zonage:<nom>`; the name becomes a partition directory and a column value."""
    if not NOM_ZONAGE.match(nom):
        raise ZonageError(
            f"nom de zonage {nom!r} refusé : minuscules sans accents, chiffres et _ seulement "
            f"({NOM_ZONAGE.pattern})"
        )
    return PREFIXE_NIVEAU + nom


def parse_perimetre(valeur: object, ou: str = "perimetre") -> tuple[tuple[str, str], ...]:
    """(niveau, code) pairs from `departement 16`, `departement=16`, a `,` list or a YAML list."""
    if valeur is None:
        return ()
    elements = valeur if isinstance(valeur, list) else str(valeur).split(",")
    paires = []
    for element in elements:
        morceaux = [m for m in re.split(r"[\s=:]+", str(element).strip()) if m]
        if len(morceaux) != 2:
            raise ZonageError(
                f"{ou} : {str(element).strip()!r} illisible, attendu « niveau code » "
                "(par exemple « departement 16 »)"
            )
        paires.append((morceaux[0].lower(), morceaux[1]))
    return tuple(paires)


def _cites(valeurs: Sequence[str]) -> str:
    valeurs = list(valeurs)
    texte = ", ".join(valeurs[:MAX_CITES])
    if len(valeurs) > MAX_CITES:
        texte += f", … et {len(valeurs) - MAX_CITES} autres"
    return texte


def _normalise_communes(frame: pl.DataFrame, ou: str) -> pl.DataFrame:
    """Commune codes as spreadsheets spell them (`1001`, `2a004`) → COG form; else refused."""
    code, raison = normalise_codes_communes(pl.col("code"))
    frame = frame.with_columns(code.alias("_code"), raison.alias("_raison"))
    mauvais = frame.filter(pl.col("_raison").is_not_null())
    if mauvais.height:
        lignes = [
            f"{o} : {c!r} ({r})"
            for o, c, r in mauvais.select("origine", "code", "_raison").iter_rows()
        ]
        raise ZonageError(
            f"{ou} : codes commune invalides : {_cites(lignes)}",
            {INVALIDES: mauvais["code"].to_list()},
        )
    return frame.with_columns(pl.col("_code").alias("code")).drop("_code", "_raison")


def _noms_zones(affectations: pl.DataFrame, ou: str) -> pl.DataFrame:
    """One name per zone (its code when none is given); different names for one code refused."""
    mauvais = affectations.filter(~pl.col("code_zone").str.contains(CODE_ZONE.pattern))
    if mauvais.height:
        lignes = [f"{o} : {c!r}" for o, c in mauvais.select("origine", "code_zone").iter_rows()]
        raise ZonageError(
            f"{ou} : code de zone vide ou invalide ({CODE_ZONE.pattern}) : {_cites(lignes)}"
        )
    noms = (
        affectations.filter(pl.col("nom_zone").is_not_null())
        .group_by("code_zone")
        .agg(pl.col("nom_zone").unique().sort())
    )
    conflits = noms.filter(pl.col("nom_zone").list.len() > 1).sort("code_zone")
    if conflits.height:
        lignes = [f"{c} : {' / '.join(n)}" for c, n in conflits.iter_rows()]
        raise ZonageError(f"{ou} : une zone a plusieurs noms : {_cites(lignes)}")
    return (
        affectations.drop("nom_zone")
        .join(noms.select("code_zone", pl.col("nom_zone").list.first()), on="code_zone", how="left")
        .with_columns(pl.coalesce("nom_zone", "code_zone").alias("nom_zone"))
    )


def _vide(valeur: object) -> bool:
    return valeur is None or (isinstance(valeur, str) and not valeur.strip())


def parse_zonage_csv(
    frame: pl.DataFrame, perimetre: object = None, fichier: str | None = None
) -> DeclarationZonage:
    """`code_commune;code_zone;nom_zone` rows (strings) → a declaration.

    Column names are compared loosely (case, accents, spaces); other columns (a commune's
    name, say) are ignored. A `ligne` column, if given, is the line of each row in the file;
    otherwise rows are numbered from 2 (after the header). `nom_zone` may be given on one row
    of a zone only.
    """
    ou = fichier or "CSV"
    noms = {normalise_nom_colonne(c).replace(" ", "_"): c for c in frame.columns}
    manquantes = [c for c in ("code_commune", "code_zone") if c not in noms]
    if manquantes:
        raise ZonageError(
            f"{ou} : colonnes manquantes {manquantes} ; attendu code_commune;code_zone;nom_zone "
            f"(colonnes lues : {frame.columns})"
        )
    ligne = (
        pl.col("ligne").cast(pl.Int64)
        if "ligne" in frame.columns
        else pl.int_range(pl.len(), dtype=pl.Int64) + 2
    )
    nom_zone = pl.col(noms["nom_zone"]) if "nom_zone" in noms else pl.lit(None, pl.String)
    affectations = frame.select(
        pl.lit(COMMUNE).alias("type_code"),
        pl.col(noms["code_commune"]).cast(pl.String).str.strip_chars().alias("code"),
        pl.col(noms["code_zone"]).cast(pl.String).str.strip_chars().alias("code_zone"),
        nom_zone.cast(pl.String).str.strip_chars().replace("", None).alias("nom_zone"),
        pl.format("ligne {}", ligne).alias("origine"),
    )
    if affectations.is_empty():
        raise ZonageError(f"{ou} : aucune ligne, aucune commune affectée")
    affectations = _noms_zones(_normalise_communes(affectations, ou), ou)
    return DeclarationZonage(
        affectations.select(list(AFFECTATIONS_SCHEMA)).cast(AFFECTATIONS_SCHEMA),
        parse_perimetre(perimetre, f"{ou} : perimetre"),
        fichier,
    )


def _liste(valeur: object, ou: str) -> tuple[list[str], list[int | None]]:
    """Codes of a YAML list (or one scalar), with their lines when the loader gave them."""
    if valeur is None:
        return [], []
    valeurs = valeur if isinstance(valeur, list) else [valeur]
    if any(isinstance(v, Mapping | list | bool) for v in valeurs):
        raise ZonageError(f"{ou} : attendu une liste de codes (texte)")
    lignes = getattr(valeur, ATTRIBUT_LIGNES, None) or [None] * len(valeurs)
    return [str(v).strip() for v in valeurs], list(lignes)


def parse_zonage_yaml(data: object, fichier: str | None = None) -> DeclarationZonage:
    """A YAML zoning (already loaded) → a declaration.

    ```yaml
    perimetre: departement 16          # optional
    zones:
      - code: nord
        nom: Nord Charente             # optional, defaults to the code
        epci: ["200043016"]            # whole EPCI (SIREN)
        communes: ["16015"]            # and/or communes
    ```
    Load with a loader that keeps every scalar a string (`01001` is an octal number in
    YAML 1.1); the project's loader also gives line numbers (`CLE_LIGNE`, `ATTRIBUT_LIGNES`).
    """
    ou = fichier or "YAML"
    if not isinstance(data, Mapping):
        raise ZonageError(f"{ou} : attendu un objet YAML avec une clé `zones`")
    inconnues = set(data) - _CLES_YAML
    if inconnues:
        raise ZonageError(f"{ou} : clés inconnues {sorted(inconnues)} (attendu {_CLES_YAML})")
    zones = data.get("zones")
    if not isinstance(zones, list) or not zones:
        raise ZonageError(f"{ou} : `zones` doit être une liste non vide de zones")
    lignes_zone: dict[str, str] = {}
    lignes: list[dict[str, object]] = []
    for rang, zone in enumerate(zones, start=1):
        if not isinstance(zone, Mapping):
            raise ZonageError(f"{ou} : zone n°{rang} : attendu un objet (code, nom, epci, …)")
        ligne_zone = zone.get(CLE_LIGNE)
        where = f"{ou}, ligne {ligne_zone}" if ligne_zone else f"{ou}, zone n°{rang}"
        inconnues = set(zone) - _CLES_ZONE
        if inconnues:
            raise ZonageError(f"{where} : clés inconnues {sorted(inconnues)}")
        code_zone = None if _vide(zone.get("code")) else str(zone["code"]).strip()
        if code_zone is None:
            raise ZonageError(f"{where} : zone sans `code`")
        if code_zone in lignes_zone:
            raise ZonageError(
                f"{where} : zone {code_zone!r} déjà déclarée ({lignes_zone[code_zone]})"
            )
        lignes_zone[code_zone] = where
        nom = None if _vide(zone.get("nom")) else str(zone["nom"]).strip()
        nb = 0
        for type_code, cle in ((EPCI, "epci"), (COMMUNE, "communes")):
            codes, numeros = _liste(zone.get(cle), f"{where}, {cle}")
            for code, numero in zip(codes, numeros, strict=True):
                ligne = numero or ligne_zone
                lignes.append(
                    {
                        "type_code": type_code,
                        "code": code,
                        "code_zone": code_zone,
                        "nom_zone": nom,
                        "origine": f"ligne {ligne}, zone {code_zone}"
                        if ligne
                        else f"zone {code_zone}",
                    }
                )
            nb += len(codes)
        if nb == 0:
            raise ZonageError(f"{where} : zone {code_zone!r} sans `epci` ni `communes`")
    affectations = pl.DataFrame(lignes, schema=AFFECTATIONS_SCHEMA)
    epci = affectations.filter(pl.col("type_code") == EPCI)
    mauvais = epci.filter(~pl.col("code").str.contains(CODE_EPCI.pattern))
    if mauvais.height:
        cites = [f"{o} : {c!r}" for o, c in mauvais.select("origine", "code").iter_rows()]
        raise ZonageError(
            f"{ou} : codes EPCI invalides (SIREN à 9 chiffres) : {_cites(cites)}",
            {INVALIDES: mauvais["code"].to_list()},
        )
    communes = _normalise_communes(affectations.filter(pl.col("type_code") == COMMUNE), ou)
    affectations = _noms_zones(pl.concat([epci, communes]), ou)
    return DeclarationZonage(
        affectations.select(list(AFFECTATIONS_SCHEMA)).cast(AFFECTATIONS_SCHEMA),
        parse_perimetre(data.get("perimetre"), f"{ou} : perimetre"),
        fichier,
    )


def _resoudre_communes(
    communes: pl.DataFrame, actuelles: pl.DataFrame, passage: pl.DataFrame
) -> pl.DataFrame:
    """Each listed commune code with its current commune(s): `statut` actuel | rebase | … .

    `statut`: `actuel` (a COG code), `rebase` (a former code, one current commune),
    `scission` (its territory is in several communes now), `inconnu`.
    """
    cibles = (
        passage.join(actuelles.select("code_commune"), on="code_commune", how="semi")
        .group_by("code_source")
        .agg(pl.col("code_commune").unique().sort().alias("_cibles"))
    )
    return (
        communes.join(
            actuelles.select(pl.col("code_commune").alias("code"), pl.lit(True).alias("_actuel")),
            on="code",
            how="left",
        )
        .join(cibles.rename({"code_source": "code"}), on="code", how="left")
        .with_columns(
            pl.when(pl.col("_actuel"))
            .then(pl.lit("actuel"))
            .when(pl.col("_cibles").list.len() == 1)
            .then(pl.lit("rebase"))
            .when(pl.col("_cibles").list.len() > 1)
            .then(pl.lit("scission"))
            .otherwise(pl.lit("inconnu"))
            .alias("statut"),
        )
        .with_columns(
            pl.when(pl.col("statut") == "actuel")
            .then(pl.col("code"))
            .when(pl.col("statut") == "rebase")
            .then(pl.col("_cibles").list.first())
            .alias("code_commune"),
            pl.when(pl.col("statut") == "rebase")
            .then(pl.format("{} : {} → {}", "origine", "code", pl.col("_cibles").list.first()))
            .otherwise(pl.format("{} : {}", "origine", "code"))
            .alias("origine"),
        )
    )


def _decrire(communes: pl.DataFrame, actuelles: pl.DataFrame) -> list[str]:
    """`16015 Angoulême` for each commune (frame with `code_commune`, optional `detail`)."""
    noms = communes.join(actuelles.select("code_commune", "nom"), on="code_commune", how="left")
    detail = pl.col("detail") if "detail" in noms.columns else pl.lit("")
    return (
        noms.sort("code_commune")
        .select(
            pl.concat_str(
                "code_commune",
                pl.lit(" "),
                pl.col("nom").fill_null("?"),
                detail,
            )
        )
        .to_series()
        .to_list()
    )


def _problemes_perimetre(
    perimetre: tuple[tuple[str, str], ...],
    appartenances: pl.DataFrame,
    zones: pl.DataFrame,
    epci_app: pl.DataFrame,
    actuelles: pl.DataFrame,
) -> list[tuple[str, list[str], str, list[str]]]:
    """Unknown perimeter territories, or forgotten communes and communes outside it.

    `zones`: one row per assigned commune (`code_commune`, `origine` list). Returns
    (detail key, codes, title, descriptions) for each problem found.
    """
    if not perimetre:
        return []
    app = appartenances.select("code_commune", "niveau", pl.col("code").alias("_code"))
    dans = pl.DataFrame(
        list(perimetre), schema={"niveau": pl.String, "_code": pl.String}, orient="row"
    ).join(app, on=["niveau", "_code"], how="left")
    absents = dans.filter(pl.col("code_commune").is_null())
    if absents.height:
        connus = ", ".join(sorted(appartenances["niveau"].unique().to_list()))
        cites = [f"{n} {c}" for n, c in absents.select("niveau", "_code").iter_rows()]
        titre = f"territoires du périmètre inconnus (niveaux connus : {connus})"
        return [(PERIMETRE_INCONNU, cites, titre, cites)]
    problemes = []
    communes = dans.select("code_commune").unique()
    # The EPCI of each forgotten commune says which part of a zone is missing.
    oubliees = (
        communes.join(zones, on="code_commune", how="anti")
        .join(epci_app, on="code_commune", how="left")
        .with_columns(pl.format(" (EPCI {})", pl.col("_epci").fill_null("aucun")).alias("detail"))
    )
    if oubliees.height:
        titre = "communes du périmètre dans aucune zone (oubliées)"
        codes = oubliees["code_commune"].sort().to_list()
        problemes.append((OUBLIEES, codes, titre, _decrire(oubliees, actuelles)))
    hors = zones.join(communes, on="code_commune", how="anti").with_columns(
        pl.format(" ({})", pl.col("origine").list.join(" ; ")).alias("detail")
    )
    if hors.height:
        titre = "communes hors du périmètre déclaré " + ", ".join(f"{n} {c}" for n, c in perimetre)
        codes = hors["code_commune"].sort().to_list()
        problemes.append((HORS_PERIMETRE, codes, titre, _decrire(hors, actuelles)))
    return problemes


def valider_zonage(
    nom: str,
    declaration: DeclarationZonage,
    appartenances: pl.DataFrame,
    territoires: pl.DataFrame,
    passage: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Check a zoning against the territory reference; its memberships and its territories.

    `appartenances`: `int__appartenances` (code_commune, niveau, code); `territoires`:
    `int__territoires` (its commune rows give names and populations); `passage`:
    `rebasing.build_passage(..., depuis=DEPUIS_ZONAGES)`. Returns (rows to append to
    `int__appartenances`: code_commune, niveau `zonage:<nom>`, code = code_zone; rows to
    append to `int__territoires`, same columns: niveau, code, nom, population summed from
    the communes of the zone, the other columns null). Raises `ZonageError` listing every
    problem (see the module docstring for what the scope is).
    """
    niveau = niveau_zonage(nom)
    ou = f"zonage {nom!r}" + (f" ({declaration.fichier})" if declaration.fichier else "")
    affectations = declaration.affectations
    actuelles = territoires.filter(pl.col("niveau") == COMMUNE).select(
        pl.col("code").alias("code_commune"), "nom", pl.col("population").cast(pl.Int64)
    )
    epci_app = appartenances.filter(pl.col("niveau") == EPCI).select(
        pl.col("code").alias("_epci"), "code_commune"
    )
    problemes: list[str] = []
    details: dict[str, list[str]] = {}

    def signale(cle: str, codes: list[str], titre: str, cites: list[str]) -> None:
        details[cle] = codes
        problemes.append(f"- {titre} ({len(codes)}) : {_cites(cites)}")

    communes = _resoudre_communes(
        affectations.filter(pl.col("type_code") == COMMUNE), actuelles, passage
    )
    for statut, cle, titre in (
        ("inconnu", COMMUNES_INCONNUES, "codes commune inconnus du COG et de ses anciens codes"),
        (
            "scission",
            COMMUNES_SCINDEES,
            "anciens codes dont le territoire est partagé depuis "
            "entre plusieurs communes (indiquez lesquelles)",
        ),
    ):
        mauvais = communes.filter(pl.col("statut") == statut).sort("code")
        if mauvais.height:
            cibles = pl.col("_cibles").list.join(", ")
            suffixe = pl.format(" → {}", cibles) if statut == "scission" else pl.lit("")
            cites = mauvais.select(pl.concat_str("origine", suffixe)).to_series().to_list()
            signale(cle, mauvais["code"].unique(maintain_order=True).to_list(), titre, cites)

    epcis = affectations.filter(pl.col("type_code") == EPCI).join(
        epci_app, left_on="code", right_on="_epci", how="left"
    )
    inconnus = epcis.filter(pl.col("code_commune").is_null()).sort("code")
    if inconnus.height:
        cites = [f"{o} : {c}" for o, c in inconnus.select("origine", "code").iter_rows()]
        signale(EPCI_INCONNUS, inconnus["code"].to_list(), "codes EPCI inconnus du COG", cites)

    colonnes = ["code_commune", "code_zone", "nom_zone", "origine"]
    affectees = pl.concat(
        [
            communes.filter(pl.col("code_commune").is_not_null()).select(colonnes),
            epcis.filter(pl.col("code_commune").is_not_null())
            .with_columns(pl.format("{} : EPCI {}", "origine", "code").alias("origine"))
            .select(colonnes),
        ]
    )
    zones = affectees.group_by("code_commune").agg(
        pl.col("code_zone").unique().sort(), pl.col("origine").unique().sort()
    )
    doubles = zones.filter(pl.col("code_zone").list.len() > 1)
    if doubles.height:
        doubles = doubles.with_columns(
            pl.format(
                " (zones {} ; {})",
                pl.col("code_zone").list.join(", "),
                pl.col("origine").list.join(" ; "),
            ).alias("detail")
        )
        signale(
            EN_DOUBLE,
            doubles["code_commune"].sort().to_list(),
            "communes affectées à plusieurs zones",
            _decrire(doubles, actuelles),
        )

    for cle, codes, titre, cites in _problemes_perimetre(
        declaration.perimetre, appartenances, zones, epci_app, actuelles
    ):
        signale(cle, codes, titre, cites)

    if problemes:
        raise ZonageError(f"{ou} refusé :\n" + "\n".join(problemes), details)
    if affectees.is_empty():
        raise ZonageError(f"{ou} refusé : aucune commune")

    membres = (
        affectees.select("code_commune", "code_zone", "nom_zone")
        .unique()
        .join(actuelles, on="code_commune", how="left")
    )
    appartenances_zonage = (
        membres.select(
            "code_commune", pl.lit(niveau).alias("niveau"), pl.col("code_zone").alias("code")
        )
        .cast(APPARTENANCES_SCHEMA)
        .sort("code_commune")
    )
    zones_territoires = (
        membres.group_by("code_zone", "nom_zone")
        .agg(pl.col("population").sum())
        .select(
            pl.lit(niveau).alias("niveau"),
            pl.col("code_zone").alias("code"),
            pl.col("nom_zone").alias("nom"),
            "population",
        )
        .sort("code")
    )
    # Same columns as int__territoires (context columns null), and the COG vintage of communes.
    communs = territoires.filter(pl.col("niveau") == COMMUNE)
    constantes = {
        c: communs[c].unique().to_list() for c in ("millesime_cog",) if c in territoires.columns
    }
    territoires_zonage = (
        zones_territoires.with_columns(
            pl.lit(
                constantes[c][0] if len(constantes.get(c, [])) == 1 else None,
                territoires.schema[c],
            ).alias(c)
            for c in territoires.columns
            if c not in zones_territoires.columns
        )
        .select(territoires.columns)
        .cast(dict(territoires.schema))
    )
    return appartenances_zonage, territoires_zonage


def valider_zonages(
    zonages: Sequence[tuple[str, DeclarationZonage]],
    appartenances: pl.DataFrame,
    territoires: pl.DataFrame,
    passage: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every zoning validated (all refusals reported together) and their rows concatenated."""
    noms = [nom for nom, _ in zonages]
    doublons = sorted({n for n in noms if noms.count(n) > 1})
    if doublons:
        raise ZonageError(f"zonages déclarés plusieurs fois : {', '.join(doublons)}")
    resultats, erreurs = [], []
    for nom, declaration in zonages:
        try:
            resultats.append(valider_zonage(nom, declaration, appartenances, territoires, passage))
        except ZonageError as erreur:
            erreurs.append(erreur)
    if erreurs:
        details: dict[str, list[str]] = {}
        for erreur in erreurs:
            for cle, codes in erreur.details.items():
                details.setdefault(cle, []).extend(codes)
        raise ZonageError("\n".join(str(e) for e in erreurs), details)
    appartenances_zonages = pl.concat(
        [a for a, _ in resultats] or [pl.DataFrame(schema=APPARTENANCES_SCHEMA)]
    )
    territoires_zonages = pl.concat([t for _, t in resultats] or [territoires.clear()])
    return appartenances_zonages, territoires_zonages
