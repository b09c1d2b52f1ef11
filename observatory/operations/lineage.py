"""Lineage read off the asset graph, given as names: asset → the assets it reads."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence


def upstream(parents: Mapping[str, Iterable[str]], start: str) -> set[str]:
    """`start` and every asset upstream of it."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(parents.get(name, ()))
    return seen


def table_sources(
    parents: Mapping[str, Iterable[str]], tables: Sequence[str], raw_sources: Mapping[str, str]
) -> dict[str, list[str]]:
    """Per published table, the source keys upstream of its `pub_` asset. `raw_sources`: raw
    asset → source key; a partner's `raw_partenaire__<p>` lands source `partenaire__<p>`."""
    by_raw = dict(raw_sources) | {
        name: name.removeprefix("raw_") for name in parents if name.startswith("raw_partenaire__")
    }
    return {
        table: sorted(by_raw[n] for n in upstream(parents, f"pub_{table}") if n in by_raw)
        for table in tables
    }
