"""The only Dagster code: assets, resources and (later) schedules, sensors and checks."""

from __future__ import annotations

import dagster as dg

from observatory.defs.indicators import intermediate_indicator_inputs, python_indicators
from observatory.defs.intermediate import intermediate_assets
from observatory.defs.publish import (
    build_pub_indicateurs,
    build_release,
    pub_couverture_sources,
    pub_indicateurs_large,
    pub_lieux,
    pub_territoires,
    table_lineage,
)
from observatory.defs.raw import raw_assets
from observatory.defs.resources import build_resources
from observatory.defs.sql_models import build_sql_assets
from observatory.defs.staging import staging_assets
from observatory.defs.statistics import statistics_assets
from observatory.settings import Settings
from observatory.sqlmodels.loader import load_models


def build_definitions(settings: Settings) -> dg.Definitions:
    """All assets for these settings; SQL models are discovered in `settings.sql_dir`."""
    python_assets = [
        *raw_assets,
        *staging_assets,
        *intermediate_assets,
        *statistics_assets,
        *intermediate_indicator_inputs,
        *python_indicators,
    ]
    names = {key.to_user_string() for a in python_assets for key in a.keys}
    models = load_models(settings.sql_dir, external=names)
    indicators = [m.name for m in models if m.layer == "ind_"] + [
        key.to_user_string() for a in python_indicators for key in a.keys
    ]
    assets = [
        *python_assets,
        *build_sql_assets(models),
        pub_territoires,
        build_pub_indicateurs(indicators),
        pub_indicateurs_large,
        pub_lieux,
        pub_couverture_sources,
    ]
    return dg.Definitions(
        assets=[*assets, build_release(table_lineage(assets))],
        resources=build_resources(settings),
    )
