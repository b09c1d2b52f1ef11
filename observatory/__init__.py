"""Observatoire de l'inclusion numérique: data pipeline (Dagster + polars)."""

__version__ = "0.1.0"
