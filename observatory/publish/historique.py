"""What earlier releases revealed of the partners' counts, kept after they are pruned.

Releases are immutable and stay downloaded by their readers after the observatory prunes them:
a count published in two releases tells the difference between them, and a difference of 1 to
4 is a count of people (`partner_activity.ecart_etroit`). The secrecy of a new release is
therefore decided against every value any earlier release revealed. Those values are read off
each release on disk (`secret_publication.valeurs_revelees`) and kept in a ledger outside the
published folder, so that a pruned release still counts and each release is read once.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from observatory.publish.release import RELEASE_ID, read_manifest, scan_table
from observatory.settings import Settings
from observatory.transforms.secret_publication import (
    HISTORIQUE_SCHEMA,
    INDICATEURS_REVELATEURS,
    valeurs_revelees,
)

FICHIER = "valeurs_revelees.parquet"
# one row per value and release; a release that revealed none keeps a row of nulls, so that
# it is known to have been read
REGISTRE_SCHEMA = {"release_id": pl.String(), **HISTORIQUE_SCHEMA}


def chemin_registre(settings: Settings) -> Path:
    """The ledger: private (never under `published/`), next to the warehouse."""
    return settings.data_dir / "secret" / FICHIER


def revelees_par_release(release: Path) -> pl.DataFrame:
    """The counts one published release revealed (`REGISTRE_SCHEMA`)."""
    try:
        manifest = read_manifest(release)
        indicateurs = (
            scan_table(release, "indicateurs", manifest)
            .filter(pl.col("indicateur").is_in(INDICATEURS_REVELATEURS))
            .select("niveau", "code", "annee", "indicateur", "valeur")
            .collect()
        )
    except (OSError, ValueError, KeyError, pl.exceptions.PolarsError) as erreur:
        raise RuntimeError(
            f"Secret statistique : la release publiée {release} est illisible ({erreur}) ; "
            "ce qu'elle a révélé ne peut pas être pris en compte. Restaurez-la ou retirez-la "
            "de `releases/` avant de relancer."
        ) from erreur
    valeurs = valeurs_revelees(indicateurs)
    if valeurs.is_empty():
        return pl.DataFrame({"release_id": [release.name]}).with_columns(
            pl.lit(None, t).alias(c) for c, t in HISTORIQUE_SCHEMA.items()
        )
    return valeurs.select(pl.lit(release.name).alias("release_id"), *HISTORIQUE_SCHEMA)


def historique_secret(settings: Settings) -> pl.DataFrame:
    """Every count an earlier release revealed (`HISTORIQUE_SCHEMA`), from the ledger and the
    releases on disk it does not list yet (added to it, written whole or not at all)."""
    chemin = chemin_registre(settings)
    registre = (
        pl.read_parquet(chemin).cast(REGISTRE_SCHEMA)
        if chemin.exists()
        else pl.DataFrame(schema=REGISTRE_SCHEMA)
    )
    dossier = settings.published_dir / "releases"
    lues = set(registre["release_id"].to_list())
    nouvelles = [
        revelees_par_release(release)
        for release in (sorted(dossier.iterdir()) if dossier.is_dir() else [])
        if RELEASE_ID.match(release.name)
        and release.name not in lues
        and (release / "manifest.json").is_file()
    ]
    if nouvelles:
        registre = pl.concat([registre, *nouvelles])
        chemin.parent.mkdir(parents=True, exist_ok=True)
        provisoire = chemin.with_name(f".{FICHIER}.tmp")
        registre.write_parquet(provisoire)
        os.replace(provisoire, chemin)
    return (
        registre.filter(pl.col("nb").is_not_null())
        .select(list(HISTORIQUE_SCHEMA))
        .unique()
        .sort(pl.all())
    )
