"""The only Dagster code: assets, resources and (later) schedules, sensors and checks."""

from __future__ import annotations

import dagster as dg

from observatory.defs.activity import build_activity_assets, secret_statistique
from observatory.defs.catalog import with_catalog
from observatory.defs.checks import build_personal_data_checks, build_schema_checks
from observatory.defs.code_references import code_references
from observatory.defs.indicators import intermediate_indicator_inputs, python_indicators
from observatory.defs.intermediate import build_lieux_resolus, intermediate_assets
from observatory.defs.partners import (
    build_inbox_orphans_asset,
    build_partner_definitions,
    stg_key,
)
from observatory.defs.publish import (
    build_pub_indicateurs,
    build_release,
    pub_couverture_sources,
    pub_indicateurs_large,
    pub_lieux,
    pub_orientation,
    pub_sql,
    pub_territoires,
    published_schemas,
    table_lineage,
)
from observatory.defs.raw import build_raw_assets
from observatory.defs.resources import build_resources
from observatory.defs.schedules import build_operations, with_freshness_policies
from observatory.defs.series import series_assets
from observatory.defs.sql_models import build_sql_assets
from observatory.defs.staging import staging_assets
from observatory.defs.statistics import statistics_assets
from observatory.partners.mappings import load_mappings
from observatory.publish.release import code_version
from observatory.settings import Settings
from observatory.sources.catalogue import REGISTRES_LIEUX
from observatory.sources.mednum import load_standard_schema
from observatory.sqlmodels.loader import load_models


def build_definitions(settings: Settings) -> dg.Definitions:
    """All assets for these settings; SQL models are discovered in `settings.sql_dir`."""
    partner_assets, partner_sensors = build_partner_definitions(settings)
    mappings = load_mappings(settings.schemas_dir / "partners")
    partner_places = [
        stg_key(m).to_user_string() for m in mappings.values() if m.type_fichier == "lieux"
    ]
    activity = build_activity_assets(mappings)
    python_assets = [
        *build_raw_assets(settings),
        *partner_assets,
        build_inbox_orphans_asset(mappings),
        build_lieux_resolus(partner_places),
        *staging_assets,
        *intermediate_assets,
        *series_assets,
        *statistics_assets,
        *intermediate_indicator_inputs,
        *python_indicators,
        *activity,
    ]
    names = {key.to_user_string() for a in python_assets for key in a.keys}
    models = load_models(settings.sql_dir, external=names)
    indicators = [m.name for m in models if m.layer == "ind_"] + [
        key.to_user_string()
        for a in (*python_indicators, *activity)
        for key in a.keys
        if key.to_user_string().startswith("ind_")
    ]
    assets = [
        *python_assets,
        *build_sql_assets(models),
        pub_territoires,
        build_pub_indicateurs(indicators),
        pub_indicateurs_large,
        pub_lieux,
        pub_couverture_sources,
        pub_orientation,
    ]
    published = published_schemas(settings.schemas_dir)
    # La Mednum's standard v1.0.2 on every staged registry: a warning (inputs), never blocking
    standard = load_standard_schema(settings.schemas_dir)
    staged_registries = {f"stg_{source.key}": standard for source in REGISTRES_LIEUX}
    checks = [
        *build_schema_checks(published, blocking=True),
        *build_personal_data_checks(list(published)),
        secret_statistique,
        *build_schema_checks(staged_registries, blocking=False),
    ]
    operations = build_operations()
    assets = [*assets, build_release(table_lineage(assets), code_version()), pub_sql]
    definitions = dg.Definitions(
        assets=assets,
        asset_checks=[*checks, *operations.asset_checks],
        jobs=operations.jobs,
        schedules=operations.schedules,
        sensors=[*partner_sensors, *operations.sensors],
        resources=build_resources(settings),
    )
    return with_catalog(with_freshness_policies(definitions), settings, code_references(assets))
