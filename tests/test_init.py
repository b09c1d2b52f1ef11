"""The package's import-time setting: polars' allocator (`observatory/__init__.py`)."""

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("deja", "attendu"),
    [(None, "dirty_decay_ms:100,muzzy_decay_ms:0"), ("dirty_decay_ms:0", "dirty_decay_ms:0")],
)
def test_allocator_returns_memory_unless_told_otherwise(deja: str | None, attendu: str) -> None:
    """Importing the package sets polars' allocator to return freed pages within 0.1 s, before
    polars loads (a run's peak memory); a value the user set is kept."""
    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    if deja is not None:
        env["_RJEM_MALLOC_CONF"] = deja
    code = (
        "import observatory, os, sys; "
        "print(os.environ['_RJEM_MALLOC_CONF'], 'polars' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [attendu, "False"]
