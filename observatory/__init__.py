"""Observatoire de l'inclusion numérique: data pipeline (Dagster + polars)."""

import os

__version__ = "0.1.0"

# polars allocates through jemalloc, which keeps freed pages for 10 s by default
# (`dirty_decay_ms:10000`): in a run, where large frames follow each other in a few seconds,
# that retained memory piles up (a national run peaked at 1.26 GB instead of 1.06 GB). Pages
# are returned within 0.1 s instead, at no measured cost in time (`bench/RESULTS.md`);
# `dirty_decay_ms:0` saves more but costs about 10 % of the run. Read once, when polars
# loads: set here, before any module of the package imports it; a value already set wins.
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:100,muzzy_decay_ms:0")
