"""Memory of a process tree (Linux /proc), shared by the benchmark scripts.

The pipeline forks its large validations: a child's resident pages include those it shares
with its parent, so adding RSS would count them twice. Proportional set sizes (a page shared
by n processes counts 1/n in each) add up to the tree's real memory.
"""

from __future__ import annotations

import os


def _descendants(pid: int) -> list[int]:
    """`pid` and every process below it (Linux /proc)."""
    pids, todo = [], [pid]
    while todo:
        courant = todo.pop()
        pids.append(courant)
        try:
            taches = os.listdir(f"/proc/{courant}/task")
        except OSError:
            continue
        for tache in taches:
            try:
                with open(f"/proc/{courant}/task/{tache}/children") as enfants:
                    todo += [int(p) for p in enfants.read().split()]
            except OSError:
                continue
    return pids


def _pss_mb(pid: int) -> float:
    """Proportional set size of a process: a page shared by n processes counts 1/n."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as smaps:
            for ligne in smaps:
                if ligne.startswith("Pss:"):
                    return int(ligne.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def memoire_arbre_mb(pid: int) -> float:
    """Memory of `pid` and every process below it: the sum of their proportional set sizes."""
    return sum(_pss_mb(p) for p in _descendants(pid))
