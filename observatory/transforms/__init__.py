"""Pure polars transformations: no I/O, no Dagster; tested on their own."""
