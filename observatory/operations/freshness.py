"""How old a source's data may be, and what its age means in each profile.

The lieux registries change every week: their data may be 8 days old. Statistics (census,
Filosofi, ARCEP, CAF…) and the référentiels (COG, zonages) change once a year: 400 days. The
age is the data's retrieval time (`dagster/last_updated_timestamp` of the raw asset), so a
source kept on its last good snapshot after a failed download (`sources.fallback`) is flagged
by its data's age, not by the time its asset last ran. Offline, the bundled snapshot is old
by design: the check passes and says its age.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from observatory.sources.catalogue import REGISTRES_LIEUX, SOURCES, Source

REGISTRIES_MAX_AGE = timedelta(days=8)
STATISTICS_MAX_AGE = timedelta(days=400)
LAST_UPDATED = "dagster/last_updated_timestamp"


def registry_sources() -> tuple[Source, ...]:
    return REGISTRES_LIEUX


def yearly_sources() -> tuple[Source, ...]:
    """Statistics and référentiels: every catalogue source that is not a lieux registry."""
    registries = {s.key for s in REGISTRES_LIEUX}
    return tuple(s for s in SOURCES if s.key not in registries)


def max_age(source: Source) -> timedelta:
    """How old a source's data may be: its cadence (8 days for a registry, 400 otherwise)."""
    return REGISTRIES_MAX_AGE if source in registry_sources() else STATISTICS_MAX_AGE


def check_description(source: Source) -> str:
    """What the freshness check of a source checks."""
    return (
        f"Âge des données : au plus {max_age(source).days} jours en profil live ; en "
        "profil offline, l'âge de l'instantané fourni, sans alerte."
    )


@dataclass(frozen=True)
class Freshness:
    """A freshness verdict; `warn`: a warning (else the check's default severity)."""

    passed: bool
    description: str
    facts: dict[str, Any]
    warn: bool = False


def freshness(source: Source, metadata: Mapping[str, Any] | None, now: datetime) -> Freshness:
    """The freshness of a raw source from its latest materialisation's metadata.

    In the live profile, data older than its cadence is flagged (a download keeps failing and
    the last good copy is served). Offline, the sources are the snapshot bundled in assets/:
    old by design, so the check passes and says how old the snapshot is, rather than alarming.
    """
    limit = max_age(source)
    facts: dict[str, Any] = {"age_max_jours": limit.days, "millesime": source.vintage}
    if metadata is None:
        description = "Jamais matérialisé : lancez `observatory run` (ou « Materialize all »)."
        return Freshness(False, description, facts, warn=True)
    profile = str(metadata.get("profil") or "")
    facts["profil"] = profile
    stamp = metadata.get(LAST_UPDATED)
    if stamp is None:
        description = "Aucun fichier à dater dans ce profil (source téléchargée en live seulement)."
        return Freshness(True, description, facts)
    days = (now - datetime.fromtimestamp(float(stamp), tz=now.tzinfo)).total_seconds() / 86400
    facts["age_jours"] = round(days, 1)
    if profile != "live":
        description = (
            f"Instantané fourni dans assets/ (millésime {source.vintage}), déposé il y a "
            f"{days:.0f} jours : en profil offline, son âge est attendu et sans conséquence. En "
            f"profil live, la source doit dater de moins de {limit.days} jours."
        )
        return Freshness(True, description, facts)
    passed = days <= limit.total_seconds() / 86400
    description = f"Données récupérées il y a {days:.0f} jours (au plus {limit.days} attendus)."
    if metadata.get("perimee"):
        description += (
            " Le dernier téléchargement a échoué : la dernière copie valide est servie et la "
            "release marque la source `perimee`."
        )
    return Freshness(passed, description, facts, warn=True)
