"""One pipeline run at a time per data directory: an advisory `flock` on `.observatory.lock`.

Two runs on the same data directory would race on the raw layer, the warehouse Parquet and,
worst, the release writer (it clears `published/.staging/` before writing its own). The lock
is `fcntl.flock` on `<data_dir>/.observatory.lock`: the kernel releases it when its holder
exits, even on SIGKILL, so a crashed run never leaves a stale lock behind. The file itself
is never deleted (deleting it would let two processes lock two different inodes); it holds
the holder's pid, host and start time, to name them in the error.

The lock is re-entrant within a process: `observatory run` takes it, and the release asset
executed in the same process may take it again (a second `flock` on a new file description
would otherwise wait for itself). Linux/macOS only (`fcntl`); on NFS, flock is emulated by
`fcntl` locks, which most servers honour.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

LOCK_NAME = ".observatory.lock"
DEFAULT_TIMEOUT = 60.0  # seconds a second run waits before giving up
POLL_INTERVAL = 0.2


class RunLockedError(RuntimeError):
    """Another process holds the run lock; the message names it and says what to do."""

    def __init__(self, path: Path, holder: dict[str, object], waited: float) -> None:
        pid = holder.get("pid")
        who = f"pid {pid}" if pid is not None else "processus inconnu"
        if holder.get("host") and holder.get("host") != socket.gethostname():
            who += f" sur {holder['host']}"
        since = f" depuis {holder['since']}" if holder.get("since") else ""
        super().__init__(
            f"une autre exécution d'observatory ({who}{since}) tient {path} ; attendu "
            f"{waited:.0f} s. Attendez qu'elle se termine (ou arrêtez-la), puis relancez."
        )
        self.path = path
        self.pid = pid if isinstance(pid, int) else None
        self.holder = holder


@dataclass
class _Held:
    fd: int
    depth: int


_held: dict[Path, _Held] = {}
_guard = threading.Lock()


def lock_path(data_dir: Path) -> Path:
    return data_dir / LOCK_NAME


def read_holder(path: Path) -> dict[str, object]:
    """What the lock file says about its holder (empty if unreadable: a holder mid-write)."""
    try:
        holder = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _write_holder(fd: int, label: str) -> None:
    holder = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
        "label": label,
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(holder).encode(), 0)


@contextlib.contextmanager
def run_lock(
    data_dir: Path,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    poll: float = POLL_INTERVAL,
    label: str = "observatory run",
    on_wait: Callable[[dict[str, object]], None] | None = None,
) -> Iterator[Path]:
    """Hold the data directory's run lock; wait up to `timeout` s, then `RunLockedError`.

    `timeout=0` tries once. Yields the lock file's path. `on_wait` is called once, with what
    the lock file says of its holder, when the lock is taken and this call starts waiting.
    """
    path = lock_path(Path(data_dir)).resolve()
    with _guard:
        held = _held.get(path)
        if held is not None:
            held.depth += 1
    if held is not None:
        try:
            yield path
        finally:
            with _guard:
                held.depth -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    start = time.monotonic()
    try:
        while not _try_lock(fd):
            waited = time.monotonic() - start
            if waited >= timeout:
                raise RunLockedError(path, read_holder(path), waited)
            if on_wait is not None:
                on_wait(read_holder(path))
                on_wait = None
            time.sleep(min(poll, max(timeout - waited, 0.01)))
        _write_holder(fd, label)
    except BaseException:
        os.close(fd)
        raise
    with _guard:
        _held[path] = _Held(fd, 1)
    try:
        yield path
    finally:
        with _guard:
            entry = _held[path]
            entry.depth -= 1
            last = entry.depth == 0
            if last:
                del _held[path]
        if last:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            os.close(fd)  # closing the only descriptor releases the flock


def processus_vivant(pid: int) -> bool:
    """Whether process `pid` still runs (then its temporary files are in use)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
