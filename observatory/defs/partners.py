"""Partner files: one raw and one staging asset per partner mapping, and the inbox sensor.

Thin: the work is in `observatory.partners` (`staging`: landing, reading, refusing and
reporting one file at a time; a file that fails is refused alone, the run goes on). A partner is
a file `schemas/partners/<partner>.yaml`; its assets are `raw_partenaire__<partner>` (land the
files dropped in `<data_dir>/inbox/<partner>/`) and `stg_partenaire__<partner>` (read every
landed file through the mapping, quarantine, feedback report per file for the producer).
"""

import dagster as dg
import polars as pl

from observatory.defs.resources import ObservatoryResource
from observatory.partners.inbox import new_files_key
from observatory.partners.mappings import LIEUX, TYPES_ACTIVITE, PartnerMapping, load_mappings
from observatory.partners.staging import (
    feedback_dir,
    land_partner,
    orphan_entries,
    prenoms_landed,
    referentiel_landed,
    stage_partner,
)
from observatory.settings import Settings
from observatory.sources.catalogue import COG_COMMUNES, INSEE_PRENOMS
from observatory.validation.store import write_quarantine

SENSOR = "inbox_partenaires"
ORPHELINS = "raw_partenaires__sans_format"  # drops no mapping reads: the whole inbox


def raw_key(mapping: PartnerMapping) -> dg.AssetKey:
    return dg.AssetKey(f"raw_{mapping.source}")


def stg_key(mapping: PartnerMapping) -> dg.AssetKey:
    return dg.AssetKey(f"stg_{mapping.source}")


def build_raw_partner_asset(mapping: PartnerMapping) -> dg.AssetsDefinition:
    @dg.asset(
        key=raw_key(mapping),
        group_name="raw",
        description=f"{mapping.titre} — {mapping.producteur} : fichiers déposés (inbox).",
        kinds={"file"},
        metadata={"partenaire": mapping.partenaire, "type_fichier": mapping.type_fichier},
    )
    def _raw(context: dg.AssetExecutionContext, observatory: ObservatoryResource):
        metadata = land_partner(observatory.settings, mapping).metadata()
        for raison in metadata["refuses"]:
            context.log.warning(raison)
        return dg.MaterializeResult(metadata=metadata)

    return _raw


def build_stg_partner_asset(mapping: PartnerMapping) -> dg.AssetsDefinition:
    name = stg_key(mapping).to_user_string()
    # the COG of the raw layer: activity codes are checked (and rebased) while staging
    deps = [raw_key(mapping)]
    if mapping.type_fichier in TYPES_ACTIVITE:
        deps.append(COG_COMMUNES.raw_asset)
    lieux = mapping.type_fichier == LIEUX
    if lieux:  # the first names a place list's e-mails are checked against
        deps.append(INSEE_PRENOMS.raw_asset)

    @dg.asset(
        key=stg_key(mapping),
        group_name="staging",
        deps=deps,
        description=f"{mapping.titre} — lignes typées et vérifiées ({mapping.type_fichier}).",
    )
    def _stg(
        context: dg.AssetExecutionContext, observatory: ObservatoryResource
    ) -> dg.Output[pl.DataFrame]:
        settings = observatory.settings
        referentiel = (
            referentiel_landed(settings) if mapping.type_fichier in TYPES_ACTIVITE else None
        )
        prenoms = prenoms_landed(settings) if lieux else None
        staged = stage_partner(settings, mapping, referentiel=referentiel, prenoms=prenoms)
        for message in staged.illisibles:
            context.log.warning(message)
        path = write_quarantine(settings, name, staged.quarantine)
        return dg.Output(
            staged.kept,
            metadata={
                **staged.metadata(),
                "quarantaine": str(path),
                "retours": str(feedback_dir(settings, mapping.partenaire)),
            },
        )

    return _stg


def build_inbox_orphans_asset(mappings: dict[str, PartnerMapping]) -> dg.AssetsDefinition:
    """Entries of the inbox no mapping reads (a folder without a format, a file at its root):
    a report each, so a producer who dropped in the wrong place is told."""

    @dg.asset(
        name=ORPHELINS,
        group_name="raw",
        description="Dépôts sans format d'échange (dossier inconnu, racine de l'inbox) : "
        "un retour pour chacun, rien n'est lu.",
        kinds={"file"},
    )
    def _orphans(
        context: dg.AssetExecutionContext, observatory: ObservatoryResource
    ) -> dg.MaterializeResult:
        found = orphan_entries(observatory.settings, set(mappings))
        for _, _, raison in found:
            context.log.warning(raison)
        return dg.MaterializeResult(
            metadata={"refuses": [f"{d}/{n} : {r}" if d else f"{n} : {r}" for d, n, r in found]}
        )

    return _orphans


def build_partner_sensor(mappings: dict[str, PartnerMapping]) -> dg.SensorDefinition:
    """Watch every partner's inbox; a new file (by sha256) runs that partner's assets only."""
    keys = [k for m in mappings.values() for k in (raw_key(m), stg_key(m))]

    @dg.sensor(
        name=SENSOR,
        asset_selection=keys,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Nouveaux fichiers déposés dans <data_dir>/inbox/<partenaire>/.",
    )
    def _sensor(context: dg.SensorEvaluationContext, observatory: ObservatoryResource):
        requests = []
        for partenaire, mapping in sorted(mappings.items()):
            if run_key := new_files_key(observatory.settings, partenaire):
                requests.append(
                    dg.RunRequest(
                        run_key=run_key,
                        asset_selection=[raw_key(mapping), stg_key(mapping)],
                        tags={"partenaire": partenaire},
                    )
                )
        if not requests:
            return dg.SkipReason("aucun nouveau fichier déposé")
        return requests

    return _sensor


def build_partner_definitions(
    settings: Settings,
) -> tuple[list[dg.AssetsDefinition], list[dg.SensorDefinition]]:
    """Assets and sensor of every mapping in `<schemas_dir>/partners/`."""
    mappings = load_mappings(settings.schemas_dir / "partners")
    assets = [
        asset
        for mapping in mappings.values()
        for asset in (build_raw_partner_asset(mapping), build_stg_partner_asset(mapping))
    ]
    return assets, [build_partner_sensor(mappings)] if mappings else []
