"""Asset checks generated from the Table Schemas: expectation suites, personal data.

`build_schema_checks` gives one check per asset, running the suite generated from its Table
Schema with the polars engine (`observatory.validation.moteur_polars`), which reports what
great-expectations reports (tested) in a fraction of its time and without importing it. On
published tables (`pub_*`) the check is blocking: a failure stops the run before `release`, so
`latest` stays on the previous release. On raw or staged inputs it warns.
`build_personal_data_checks` scans every string column of the published tables for person-like
e-mails and mobile numbers (blocking).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
import polars as pl

from observatory.transforms.personal_data import scan_personal_data
from observatory.validation.moteur_polars import valider_table_polars

NOM_CHECK_ATTENTES = "attentes_schema"
NOM_CHECK_DONNEES_PERSONNELLES = "sans_donnees_personnelles"
NB_EXEMPLES_DONNEES_PERSONNELLES = 20


def _metadata_attentes(resultat: Any) -> dict[str, Any]:
    summary = resultat.metadata()
    return {
        "nb_lignes": summary["nb_lignes"],
        "nb_attentes": summary["nb_attentes"],
        "nb_echecs": summary["nb_echecs"],
        "attentes_echouees": dg.MetadataValue.json(summary["attentes_echouees"]),
        "resume": dg.MetadataValue.md(
            "\n".join(f"- {t}" for t in resultat.textes()) or "Toutes les attentes sont tenues."
        ),
    }


def schema_check(
    asset: str,
    schema: Mapping[str, Any],
    blocking: bool,
    colonnes_exactes: bool = True,
) -> dg.AssetChecksDefinition:
    """One check of `asset` against the suite generated from `schema`.

    Blocking (severity ERROR) for what is published; a warning for raw or staged inputs.
    """
    severity = dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN

    @dg.asset_check(
        asset=asset,
        name=NOM_CHECK_ATTENTES,
        blocking=blocking,
        description=(
            f"Attentes (suite great-expectations) générées du Table Schema `{schema['name']}` "
            f"({'bloquant' if blocking else 'avertissement'})."
        ),
    )
    def _check(frame: pl.DataFrame) -> dg.AssetCheckResult:
        resultat = valider_table_polars(frame, schema, colonnes_exactes, nom=asset)
        return dg.AssetCheckResult(
            passed=resultat.succes,
            severity=severity,
            metadata=_metadata_attentes(resultat),
        )

    return _check


def build_schema_checks(
    schemas: Mapping[str, Mapping[str, Any]],
    blocking: bool,
    colonnes_exactes: bool | None = None,
) -> list[dg.AssetChecksDefinition]:
    """Checks for `{asset key: Table Schema}`; published tables: `blocking=True`.

    `colonnes_exactes` defaults to `blocking`: a published table has exactly its schema's
    columns, a staged frame only contains them (with its row identity).
    """
    exact = blocking if colonnes_exactes is None else colonnes_exactes
    return [schema_check(asset, schema, blocking, exact) for asset, schema in schemas.items()]


def personal_data_check(asset: str) -> dg.AssetChecksDefinition:
    """Blocking: no person-like e-mail or mobile number in any string column of `asset`."""

    @dg.asset_check(
        asset=asset,
        name=NOM_CHECK_DONNEES_PERSONNELLES,
        blocking=True,
        additional_ins={"stg_insee__prenoms": dg.AssetIn("stg_insee__prenoms")},
        description="Aucun courriel de personne ni numéro de mobile dans les colonnes texte.",
    )
    def _check(frame: pl.DataFrame, stg_insee__prenoms: pl.DataFrame) -> dg.AssetCheckResult:
        found = scan_personal_data(frame, stg_insee__prenoms["prenom"])
        counts = found.group_by("colonne", "code_raison").len().sort("colonne", "code_raison")
        return dg.AssetCheckResult(
            passed=found.is_empty(),
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "nb_valeurs": found.height,
                "par_colonne": dg.MetadataValue.json(counts.to_dicts()),
                "exemples_masques": dg.MetadataValue.json(
                    found.head(NB_EXEMPLES_DONNEES_PERSONNELLES).to_dicts()
                ),
            },
        )

    return _check


def build_personal_data_checks(assets: Sequence[str]) -> list[dg.AssetChecksDefinition]:
    return [personal_data_check(asset) for asset in assets]
