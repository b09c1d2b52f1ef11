"""Partner files: one raw and one staging asset per partner mapping, and the inbox sensor.

Thin: the work is in `observatory.partners` (pure reading, the inbox's landing). A partner is
a file `schemas/partners/<partner>.yaml`; its assets are `raw_partenaire__<partner>` (land the
files dropped in `<data_dir>/inbox/<partner>/`) and `stg_partenaire__<partner>` (read every
landed file through the mapping, quarantine, feedback report per file for the producer).
"""

import hashlib
from datetime import datetime
from pathlib import Path

import dagster as dg
import polars as pl

from observatory.defs.resources import ObservatoryResource
from observatory.partners.feedback import feedback_error_html, feedback_table, write_feedback
from observatory.partners.inbox import RECU, REFUSE, land_inbox, landed_partner_files, new_files
from observatory.partners.mappings import PartnerMapping, load_mappings
from observatory.partners.reading import PartnerRead, combine_reads, read_partner
from observatory.partners.sniffing import PartnerFileError
from observatory.settings import Settings
from observatory.sources.mednum import load_standard
from observatory.validation.store import write_quarantine

SENSOR = "inbox_partenaires"


def raw_key(mapping: PartnerMapping) -> dg.AssetKey:
    return dg.AssetKey(f"raw_{mapping.source}")


def stg_key(mapping: PartnerMapping) -> dg.AssetKey:
    return dg.AssetKey(f"stg_{mapping.source}")


def feedback_dir(settings: Settings, partenaire: str) -> Path:
    """Where the producer's feedback reports are written: `<data_dir>/retours/<partner>/`."""
    return settings.data_dir / "retours" / partenaire


def build_raw_partner_asset(mapping: PartnerMapping) -> dg.AssetsDefinition:
    @dg.asset(
        key=raw_key(mapping),
        group_name="raw",
        description=f"{mapping.titre} — {mapping.producteur} : fichiers déposés (inbox).",
        kinds={"file"},
        metadata={"partenaire": mapping.partenaire, "type_fichier": mapping.type_fichier},
    )
    def _raw(context: dg.AssetExecutionContext, observatory: ObservatoryResource):
        outcomes = land_inbox(observatory.settings, mapping.partenaire, licence=mapping.licence)
        for refused in (o for o in outcomes if o.statut == REFUSE):
            context.log.warning(refused.raison)
        return dg.MaterializeResult(
            metadata={
                "recus": [o.fichier for o in outcomes if o.statut == RECU],
                "deja_recus": [o.fichier for o in outcomes if o.statut not in (RECU, REFUSE)],
                "refuses": [str(o.raison) for o in outcomes if o.statut == REFUSE],
            }
        )

    return _raw


def build_stg_partner_asset(mapping: PartnerMapping) -> dg.AssetsDefinition:
    name = stg_key(mapping).to_user_string()

    @dg.asset(
        key=stg_key(mapping),
        group_name="staging",
        deps=[raw_key(mapping)],
        description=f"{mapping.titre} — lignes typées et vérifiées ({mapping.type_fichier}).",
    )
    def _stg(
        context: dg.AssetExecutionContext, observatory: ObservatoryResource
    ) -> dg.Output[pl.DataFrame]:
        settings = observatory.settings
        standard = load_standard(settings.schemas_dir)
        reads: list[PartnerRead] = []
        illisibles: list[str] = []
        retours_refus: list[str] = []  # the producer's report of each refused file
        retours = feedback_dir(settings, mapping.partenaire)
        for raw in landed_partner_files(settings, mapping.partenaire):
            recu = datetime.fromisoformat(raw.recupere_le).date()
            try:
                read = read_partner(
                    raw.path.read_bytes(),
                    raw.fichier,
                    mapping,
                    sha256=raw.sha256,
                    standard=standard,
                    date_reception=recu,
                )
            except PartnerFileError as error:
                illisibles.append(str(error))
                context.log.warning(str(error))
                retours.mkdir(parents=True, exist_ok=True)
                retour = retours / f"{raw.fichier}.retour.html"
                retour.write_text(feedback_error_html(raw.fichier, error.detail), encoding="utf-8")
                retours_refus.append(str(retour))
                continue
            table = feedback_table(read.quarantine, read.format.ligne_entete, read.colonnes_fichier)
            write_feedback(retours, raw.fichier, table, read.comptes)
            reads.append(read)
        kept, quarantine, rows_in = combine_reads(reads, mapping, standard)
        path = write_quarantine(settings, name, quarantine)
        return dg.Output(
            kept,
            metadata={
                "lignes_entree": rows_in,
                "lignes_gardees": kept.height,
                "fichiers_lus": [r.kept["fichier_origine"][0] for r in reads if r.kept.height],
                "fichiers_illisibles": illisibles,
                "retours_fichiers_refuses": retours_refus,
                "quarantaine": str(path),
                "retours": str(retours),
            },
        )

    return _stg


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
            digests = new_files(observatory.settings, partenaire)
            if not digests:
                continue
            signature = hashlib.sha256("".join(digests).encode()).hexdigest()[:16]
            requests.append(
                dg.RunRequest(
                    run_key=f"{partenaire}:{signature}",
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
