"""`observatory serve`: the latest release, read-only over HTTP, with Datasette.

- `sqlite.py` writes one immutable SQLite file per release (its tables under their published
  names, plus the dictionary, the sources and the publication), opened with `immutable=1`.
- `metadata.py` turns the release's datapackage and manifest into Datasette's metadata (French
  titles, descriptions, units, licence, sources with vintages) and holds the canned queries.
- `app.py` runs Datasette on it: each request is pinned to one release, a new release is picked
  up without restart, and the département reports are served beside the tables.
"""
