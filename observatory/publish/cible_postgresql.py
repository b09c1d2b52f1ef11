"""Throwaway PostgreSQL publication targets (tests, benchmark): dropped with their releases."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from observatory.publish.database import identifier


def supprime_schema_postgresql(engine: Engine, schema: str) -> None:
    """Drop a PostgreSQL publication target: the schema of the views and registry, and its
    releases' schemas (`<schema>_r<release id>`). For throwaway targets (tests, benchmark)."""
    with engine.begin() as connection:
        names = connection.execute(
            sa.text("SELECT nspname FROM pg_namespace WHERE nspname = :s OR nspname LIKE :p"),
            {"s": schema, "p": f"{schema}\\_r%"},
        ).scalars()
        for name in list(names):
            connection.exec_driver_sql(f'DROP SCHEMA "{identifier(name)}" CASCADE')
    engine.dispose()
