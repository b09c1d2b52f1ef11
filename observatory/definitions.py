"""Entry point for `dagster dev` / `dagster asset materialize`: the definitions, nothing else."""

from observatory.defs import build_definitions
from observatory.settings import load_settings

defs = build_definitions(load_settings())
