"""What the benchmark scripts read from ``/proc`` and how they stop a server (Linux).

Imported by the scripts beside it (``from procs import rss_mb``): a script run as
``python benchmarks/x.py`` has this folder on its path, and one loaded by file path from the
tests puts it there first.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterable
from pathlib import Path

__all__ = ["rss_mb", "stop", "sum_rss_mb", "tree"]


def tree(pid: int) -> list[int]:
    """A process and all its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            with contextlib.suppress(OSError):
                todo += [int(c) for c in (task / "children").read_text().split()]
    return out


def sum_rss_mb(pids: Iterable[int]) -> float:
    """Resident memory of these processes together, MB (one that has gone counts nothing)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def rss_mb(pid: int | None = None) -> float:
    """Resident memory now of a process tree, MB; of this process alone when ``pid`` is None
    (``ru_maxrss`` would only give the peak)."""
    return sum_rss_mb([os.getpid()] if pid is None else tree(pid))


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM a server's process group, SIGKILL it after 15 s, and reap it."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
