"""Discover SQL models, read their dependencies with sqlglot, order them topologically.

The file name is the model (and asset) name; its dependencies are the tables named in its
FROM/JOIN clauses, CTE names excluded. Loading fails, naming the file, on anything but one
SELECT, on an unknown table, on a read that skips a layer, or on a cycle.

A model may ask polars' streaming engine with a line `-- moteur: streaming`: its join is then
aggregated in batches instead of being held whole. Only for a model whose aggregates do not
depend on the order rows arrive in (sums of integers, counts, MIN/MAX): a sum of floats could
differ in its last bits from one run to the next, and a release would no longer be
reproducible. `tests/sqlmodels/test_moteurs.py` compares every such model with the in-memory
engine, bit for bit, on inputs split into many small batches, and fails on a streaming model
it has no inputs for.
"""

from __future__ import annotations

import graphlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import sqlglot
from sqlglot import exp

# Which layers a model of each layer may read (DESIGN.md: a layer reads the one before it;
# indicator models may also read other indicator models).
LAYERS: dict[str, tuple[str, ...]] = {
    "stg_": ("raw_",),
    "int__": ("stg_", "int__"),
    "ind_": ("int__", "ind_"),
    "pub_": ("ind_",),
}


class SqlModelError(ValueError):
    """A SQL model cannot be loaded; the message names the file."""


@dataclass(frozen=True)
class SqlModel:
    name: str
    path: Path
    sql: str
    dependencies: tuple[str, ...]
    description: str
    moteur: str = "auto"  # polars' engine: "auto" (in memory) or "streaming"

    @property
    def layer(self) -> str:
        return next(prefix for prefix in LAYERS if self.name.startswith(prefix))


MOTEURS = ("auto", "streaming")
MOTEUR = re.compile(r"^--\s*moteur\s*:\s*(\S+)\s*$", re.MULTILINE)


def header_text(sql: str) -> str:
    """The leading `--` comment block of a model: its documentation (the catalogue's
    description, the methodology's text), without the `-- moteur:` instruction."""
    lines = []
    for line in sql.splitlines():
        stripped = line.strip()
        if not stripped.startswith("--"):
            break
        if not MOTEUR.match(stripped):  # an instruction to the runner, not documentation
            lines.append(stripped[2:].strip())
    return " ".join(lines).strip()


def _moteur(path: Path, sql: str) -> str:
    found = MOTEUR.findall(sql)
    if len(found) > 1 or (found and found[0] not in MOTEURS):
        raise SqlModelError(f"{path}: one `-- moteur:` line at most, one of {MOTEURS}: {found}")
    return found[0] if found else "auto"


def parse_model(path: Path) -> SqlModel:
    """One model from one file: its SQL, dependencies and leading `--` description."""
    name = path.stem
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise SqlModelError(f"{path}: model names are lower-case snake_case, got {name!r}")
    if not any(name.startswith(prefix) for prefix in LAYERS):
        raise SqlModelError(f"{path}: a model name starts with one of {sorted(LAYERS)}")
    sql = path.read_text(encoding="utf-8")
    try:
        statements = [s for s in sqlglot.parse(sql, read="postgres") if s is not None]
    except sqlglot.errors.ParseError as error:
        raise SqlModelError(f"{path}: SQL does not parse: {error}") from error
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise SqlModelError(f"{path}: a model holds exactly one SELECT statement")
    tree = statements[0]
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    tables = sorted({table.name for table in tree.find_all(exp.Table)} - ctes)
    return SqlModel(name, path, sql, tuple(tables), header_text(sql), _moteur(path, sql))


def discover(sql_dir: Path) -> list[SqlModel]:
    """Every `.sql` file below `sql_dir`, parsed; duplicate names are an error."""
    models: dict[str, SqlModel] = {}
    for path in sorted(sql_dir.rglob("*.sql")):
        model = parse_model(path)
        if model.name in models:
            raise SqlModelError(
                f"{path}: model {model.name!r} is also defined in {models[model.name].path}"
            )
        models[model.name] = model
    return list(models.values())


def order(models: Iterable[SqlModel], external: Iterable[str]) -> list[SqlModel]:
    """Models in dependency order, checked against the tables other assets provide."""
    by_name = {m.name: m for m in models}
    known = set(external) | set(by_name)
    for model in by_name.values():
        allowed = LAYERS[model.layer]
        for dep in model.dependencies:
            if dep not in known:
                raise SqlModelError(
                    f"{model.path}: unknown table {dep!r} (neither a model nor an asset)"
                )
            if not dep.startswith(allowed):
                raise SqlModelError(
                    f"{model.path}: a {model.layer} model may read only {allowed}, not {dep!r}"
                )
    sorter = graphlib.TopologicalSorter(
        {m.name: [d for d in m.dependencies if d in by_name] for m in by_name.values()}
    )
    try:
        names = list(sorter.static_order())
    except graphlib.CycleError as error:
        cycle = error.args[1]
        files = ", ".join(str(by_name[n].path) for n in dict.fromkeys(cycle))
        raise SqlModelError(f"cycle between SQL models {' -> '.join(cycle)} ({files})") from error
    return [by_name[n] for n in names]


def load_models(sql_dir: Path, external: Iterable[str]) -> list[SqlModel]:
    return order(discover(sql_dir), external)
