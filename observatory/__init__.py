"""Observatoire de l'inclusion numérique: data pipeline (Dagster + polars)."""

import os

__version__ = "0.1.0"

# polars allocates through jemalloc, which keeps freed pages for 10 s by default
# (`dirty_decay_ms:10000`): in a run, where large frames follow each other in a few seconds,
# that retained memory piles up (a national run peaked at 1.26 GB instead of 1.06 GB). Pages
# are returned within 0.1 s instead: on one machine, three national runs without it took
# 30.0–32.5 s and two with it 31.2–31.4 s; `dirty_decay_ms:0` saved more but took 34.7–35.3 s.
# Read once, when polars loads: set here, before any module of the package imports it (a
# process that imported polars first keeps jemalloc's default); a value already set wins, and
# child processes inherit it.
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:100,muzzy_decay_ms:0")
