"""Running unattended, without Dagster: freshness of the sources, failure notices, the French
texts of the Dagster catalog and what a failed check found.

`observatory.defs` wires these pure functions into schedules, sensors, checks and the
catalog (`defs/schedules.py`, `defs/jobs.py`, `defs/catalog.py`); they are tested on plain
values, without a Dagster instance.
"""
