"""Partner mappings: what each column of a partner's file means, read from YAML.

One file per partner, `schemas/partners/<partner>.yaml` (documented for partners in
`schemas/partners/README.md`): the kind of file (`lieux`, or an activity kind), then for each
column of the observatory's format the partner's column name and the aliases it had in other
years, its type, whether it is required, date formats, the level of a territory code and the
partner's vocabulary. Activity kinds are defined here once (`TYPES_ACTIVITE`): the columns a
mapping of that kind must provide, so every partner of a kind stages to the same table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from observatory.transforms.names import normalise_nom_colonne

LIEUX = "lieux"
DIAGNOSTICS = "diagnostics_autonomie"
ACCOMPAGNEMENTS = "accompagnements"
PASS_NUMERIQUE = "pass_numerique"

TYPES_COLONNE = (
    "texte",
    "entier",
    "nombre",
    "date",
    "periode",
    "code_territoire",
    "latitude",
    "longitude",
    "siret",
    "telephone",
    "code_postal",
    "booleen",
)
NIVEAUX_CODE = ("commune", "epci", "departement", "region")
GENERATEURS = ("numero_ligne",)
_NOM_PARTENAIRE = re.compile(r"^[a-z0-9][a-z0-9_]{1,62}$")


@dataclass(frozen=True)
class TypeActivite:
    """An activity kind: its measures (counts) and the columns a mapping must provide."""

    titre: str
    mesures: tuple[str, ...]
    obligatoires: tuple[str, ...]
    dimensions: tuple[str, ...] = ()  # besides territory and period, part of the row's key
    vocabulaires: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


# Every activity row is (territory code at a level, period) plus counts; the key is
# (niveau, code, periode_debut, periode_fin, *dimensions).
TYPES_ACTIVITE: dict[str, TypeActivite] = {
    DIAGNOSTICS: TypeActivite(
        titre="Diagnostics d'autonomie numérique",
        mesures=("nb_diagnostics", "nb_autonomes", "nb_besoin_aide", "nb_jamais_en_ligne"),
        obligatoires=("code", "periode", "nb_autonomes", "nb_besoin_aide", "nb_jamais_en_ligne"),
    ),
    ACCOMPAGNEMENTS: TypeActivite(
        titre="Accompagnements aux guichets des partenaires",
        mesures=("nb_accompagnements", "nb_personnes", "duree_totale_heures"),
        obligatoires=("code", "periode", "type_accompagnement", "nb_accompagnements"),
        dimensions=("type_accompagnement",),
        vocabulaires={
            "type_accompagnement": (
                "individuel",
                "collectif",
                "demarche_realisee_a_la_place",
            )
        },
    ),
    PASS_NUMERIQUE: TypeActivite(
        titre="Pass numérique émis et utilisés",
        mesures=("nb_pass_emis", "nb_pass_utilises"),
        obligatoires=("code", "periode", "nb_pass_emis", "nb_pass_utilises"),
    ),
}
TYPES_FICHIER = (LIEUX, *TYPES_ACTIVITE)


class MappingError(ValueError):
    """A mapping file that does not say what the observatory needs."""


@dataclass(frozen=True)
class ColumnRule:
    """One column of the observatory's format and where it comes from in the partner's file.

    `source` and `alias`: the partner's names for it (compared ignoring case, accents and
    punctuation). `extraire`: a regular expression whose first group is taken from the value
    (a postal code inside an address). `si_absent`: how to fill it when the file has no such
    value (`numero_ligne`: `ligne-<n>`). `vocabulaire`: partner value → observatory value
    (`null`: no equivalent, reported); `separateur_valeurs`: the partner's separator of a
    multi-valued cell.
    """

    nom: str
    source: str | None = None
    alias: tuple[str, ...] = ()
    type: str = "texte"
    obligatoire: bool = False
    niveau: str | None = None
    formats_date: tuple[str, ...] = ()
    vocabulaire: Mapping[str, str | None] | None = None
    separateur_valeurs: str | None = None
    extraire: str | None = None
    si_absent: str | None = None

    @property
    def noms_sources(self) -> tuple[str, ...]:
        return tuple(n for n in (self.source, *self.alias) if n)


@dataclass(frozen=True)
class PartnerMapping:
    """A partner's mapping: file kind, columns, constants, imposed format settings."""

    partenaire: str
    titre: str
    producteur: str
    type_fichier: str
    colonnes: tuple[ColumnRule, ...]
    constantes: Mapping[str, str] = field(default_factory=dict)
    format: Mapping[str, object] = field(default_factory=dict)
    licence: str = ""
    description: str = ""

    @property
    def source(self) -> str:
        """The source key of its rows and quarantine entries."""
        return f"partenaire__{self.partenaire}"

    @property
    def colonnes_connues(self) -> tuple[str, ...]:
        return tuple(n for rule in self.colonnes for n in rule.noms_sources)

    def regle(self, nom: str) -> ColumnRule | None:
        return next((r for r in self.colonnes if r.nom == nom), None)


_CLES_MAPPING = {
    "partenaire",
    "titre",
    "producteur",
    "type_fichier",
    "colonnes",
    "constantes",
    "format",
    "licence",
    "description",
}
_CLES_COLONNE = {
    "source",
    "alias",
    "type",
    "obligatoire",
    "niveau",
    "formats_date",
    "vocabulaire",
    "separateur_valeurs",
    "extraire",
    "si_absent",
}
_CLES_FORMAT = {"encodage", "separateur", "feuille", "ligne_entete"}


def _rule(nom: str, spec: object, where: str) -> ColumnRule:
    if isinstance(spec, str):
        spec = {"source": spec}
    if not isinstance(spec, dict):
        raise MappingError(f"{where}: colonne {nom}: attendu un nom de colonne ou un objet")
    unknown = set(spec) - _CLES_COLONNE
    if unknown:
        raise MappingError(f"{where}: colonne {nom}: clés inconnues {sorted(unknown)}")
    rule = ColumnRule(
        nom=nom,
        source=spec.get("source"),
        alias=tuple(spec.get("alias") or ()),
        type=spec.get("type", "texte"),
        obligatoire=bool(spec.get("obligatoire", False)),
        niveau=spec.get("niveau"),
        formats_date=tuple(spec.get("formats_date") or ()),
        vocabulaire=spec.get("vocabulaire"),
        separateur_valeurs=spec.get("separateur_valeurs"),
        extraire=spec.get("extraire"),
        si_absent=spec.get("si_absent"),
    )
    if rule.type not in TYPES_COLONNE:
        raise MappingError(f"{where}: colonne {nom}: type {rule.type!r} hors de {TYPES_COLONNE}")
    if rule.type == "code_territoire" and rule.niveau not in NIVEAUX_CODE:
        raise MappingError(f"{where}: colonne {nom}: niveau {rule.niveau!r} hors de {NIVEAUX_CODE}")
    if not rule.noms_sources and rule.si_absent is None:
        raise MappingError(f"{where}: colonne {nom}: ni source, ni alias, ni si_absent")
    if rule.si_absent is not None and rule.si_absent not in GENERATEURS:
        raise MappingError(f"{where}: colonne {nom}: si_absent hors de {GENERATEURS}")
    if rule.extraire is not None and re.compile(rule.extraire).groups < 1:
        raise MappingError(f"{where}: colonne {nom}: `extraire` doit avoir un groupe ( )")
    return rule


def parse_mapping(data: object, where: str = "mapping") -> PartnerMapping:
    """A mapping from its YAML content, checked: unknown keys and kinds are errors."""
    if not isinstance(data, dict):
        raise MappingError(f"{where}: attendu un objet YAML")
    unknown = set(data) - _CLES_MAPPING
    if unknown:
        raise MappingError(f"{where}: clés inconnues {sorted(unknown)}")
    partenaire = str(data.get("partenaire", ""))
    if not _NOM_PARTENAIRE.match(partenaire):
        raise MappingError(f"{where}: partenaire {partenaire!r}: minuscules, chiffres et _")
    type_fichier = data.get("type_fichier")
    if type_fichier not in TYPES_FICHIER:
        raise MappingError(f"{where}: type_fichier {type_fichier!r} hors de {TYPES_FICHIER}")
    colonnes = data.get("colonnes")
    if not isinstance(colonnes, dict) or not colonnes:
        raise MappingError(f"{where}: `colonnes` doit associer chaque colonne à sa source")
    rules = tuple(_rule(nom, spec, where) for nom, spec in colonnes.items())
    fmt = dict(data.get("format") or {})
    if set(fmt) - _CLES_FORMAT:
        raise MappingError(f"{where}: format: clés inconnues {sorted(set(fmt) - _CLES_FORMAT)}")
    mapping = PartnerMapping(
        partenaire=partenaire,
        titre=str(data.get("titre", partenaire)),
        producteur=str(data.get("producteur", "")),
        type_fichier=type_fichier,
        colonnes=rules,
        constantes={k: str(v) for k, v in (data.get("constantes") or {}).items()},
        format=fmt,
        licence=str(data.get("licence", "")),
        description=str(data.get("description", "")),
    )
    _check_kind(mapping, where)
    return mapping


def _check_kind(mapping: PartnerMapping, where: str) -> None:
    names = {r.nom for r in mapping.colonnes}
    if mapping.type_fichier == LIEUX:
        required = {"id", "nom", "commune", "adresse"}
    else:
        kind = TYPES_ACTIVITE[mapping.type_fichier]
        required = set(kind.obligatoires)
        allowed = {"code", "periode", *kind.mesures, *kind.dimensions, "commentaire"}
        extra = names - allowed
        if extra:
            raise MappingError(f"{where}: colonnes inconnues pour {mapping.type_fichier}: {extra}")
        code = mapping.regle("code")
        if code is not None and code.type != "code_territoire":
            raise MappingError(f"{where}: `code` doit être de type code_territoire")
    missing = required - names - set(mapping.constantes)
    if missing:
        raise MappingError(f"{where}: colonnes obligatoires non associées: {sorted(missing)}")
    seen: dict[str, str] = {}
    for rule in mapping.colonnes:
        for source in rule.noms_sources:
            key = normalise_nom_colonne(source)
            if key in seen and seen[key] != rule.nom and rule.extraire is None:
                other = mapping.regle(seen[key])
                if other is not None and other.extraire is None:
                    raise MappingError(
                        f"{where}: « {source} » est la source de {seen[key]} et de {rule.nom}"
                    )
            seen.setdefault(key, rule.nom)


def load_mapping(path: Path) -> PartnerMapping:
    """A mapping file; its file name must be `<partenaire>.yaml`."""
    mapping = parse_mapping(yaml.safe_load(path.read_text(encoding="utf-8")), str(path))
    if path.stem != mapping.partenaire:
        raise MappingError(f"{path}: partenaire {mapping.partenaire!r} ≠ nom du fichier")
    return mapping


def load_mappings(folder: Path) -> dict[str, PartnerMapping]:
    """Every mapping of `schemas/partners/`, by partner."""
    return {p.stem: load_mapping(p) for p in sorted(folder.glob("*.yaml"))}
