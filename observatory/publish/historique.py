"""What earlier releases revealed of the partners' counts, kept after they are pruned.

Releases are immutable and stay downloaded by their readers after the observatory prunes them:
a count published in two releases tells the difference between them, and a difference of 1 to
4 is a count of people (`secret_suppression.etat_historique`). The secrecy of a new release is
therefore decided against every value any earlier release revealed. Those values are read off
each release on disk (`secret_publication.valeurs_revelees`) and kept in a ledger outside the
published folder, so that a pruned release still counts and each release is read once. The
ledger is written only under the run lock, when a release is published (`publish_release`),
with its previous state kept beside it; the steps that decide secrecy only read it.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

import polars as pl

from observatory.publish.release import RELEASE_ID, read_manifest, scan_table
from observatory.settings import Settings
from observatory.transforms.secret_publication import (
    INDICATEURS_REVELATEURS,
    VALEURS_SCHEMA,
    valeurs_revelees,
)
from observatory.transforms.secret_suppression import HISTORIQUE_SCHEMA

FICHIER = "valeurs_revelees.parquet"
PRECEDENT = "valeurs_revelees.precedent.parquet"  # the ledger before its last write


class HistoriqueIllisible(RuntimeError):
    """The ledger or a published release cannot be read: what was revealed is unknown."""


def chemin_registre(settings: Settings) -> Path:
    """The ledger: private (never under `published/`), next to the warehouse. One row per
    value and release; a release that revealed none keeps a row of nulls, so that it is known
    to have been read."""
    return settings.data_dir / "secret" / FICHIER


def revelees_par_release(release: Path) -> pl.DataFrame:
    """The counts one published release revealed (`HISTORIQUE_SCHEMA`)."""
    try:
        manifest = read_manifest(release)
        indicateurs = (
            scan_table(release, "indicateurs", manifest)
            .filter(pl.col("indicateur").is_in(INDICATEURS_REVELATEURS))
            .select("niveau", "code", "annee", "indicateur", "valeur")
            .collect()
        )
    except (OSError, ValueError, KeyError, pl.exceptions.PolarsError) as erreur:
        raise HistoriqueIllisible(
            f"Secret statistique : la release publiée {release} est illisible ({erreur}) ; "
            "ce qu'elle a révélé est inconnu. Restaurez-la depuis une copie."
        ) from erreur
    valeurs = valeurs_revelees(indicateurs)
    if valeurs.is_empty():
        return pl.DataFrame({"release_id": [release.name]}).with_columns(
            pl.lit(None, t).alias(c) for c, t in VALEURS_SCHEMA.items()
        )
    return valeurs.select(pl.lit(release.name).alias("release_id"), *VALEURS_SCHEMA)


def _lit_registre(settings: Settings) -> pl.DataFrame:
    """The ledger, else its previous state (a write cut short), else none if neither exists."""
    chemin = chemin_registre(settings)
    erreurs = []
    for candidat in (chemin, chemin.with_name(PRECEDENT)):
        if not candidat.exists():
            continue
        try:
            return pl.read_parquet(candidat).cast(HISTORIQUE_SCHEMA)
        except (OSError, pl.exceptions.PolarsError) as erreur:
            erreurs.append(f"{candidat.name} : {erreur}")
    if erreurs:
        raise HistoriqueIllisible(
            f"Secret statistique : le registre {chemin} est illisible ({' ; '.join(erreurs)})."
        )
    return pl.DataFrame(schema=HISTORIQUE_SCHEMA)


def _ecrit_registre(settings: Settings, registre: pl.DataFrame) -> None:
    """Write the ledger whole (a unique temporary name), its previous state kept beside it."""
    chemin = chemin_registre(settings)
    chemin.parent.mkdir(parents=True, exist_ok=True)
    provisoire = chemin.with_name(f".{FICHIER}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        registre.write_parquet(provisoire)
        if chemin.exists():
            shutil.copyfile(chemin, chemin.with_name(PRECEDENT))
        os.replace(provisoire, chemin)
    finally:
        provisoire.unlink(missing_ok=True)


def historique_secret(settings: Settings, ecrire: bool = False) -> pl.DataFrame:
    """Every count an earlier release revealed (`HISTORIQUE_SCHEMA`), from the ledger and the
    releases on disk it does not list yet; with `ecrire` (under the run lock only), those are
    added to the ledger. Raises `HistoriqueIllisible` when the ledger or a release cannot be
    read. A folder without a manifest is no release (one is renamed into place complete)."""
    registre = _lit_registre(settings)
    dossier = settings.published_dir / "releases"
    lues = set(registre["release_id"].to_list())
    try:
        candidates = sorted(dossier.iterdir()) if dossier.is_dir() else []
    except OSError as erreur:
        raise HistoriqueIllisible(
            f"Secret statistique : {dossier} illisible ({erreur})."
        ) from erreur
    nouvelles = [
        revelees_par_release(release)
        for release in candidates
        if RELEASE_ID.match(release.name)
        and release.name not in lues
        and (release / "manifest.json").is_file()
    ]
    if nouvelles:
        registre = pl.concat([registre, *nouvelles])
        if ecrire:
            _ecrit_registre(settings, registre)
    return registre.filter(pl.col("nb").is_not_null()).unique().sort(pl.all())
