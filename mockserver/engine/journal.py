"""A bounded request journal: what each client sent and what it got back.

The journal is the evidence behind contract and behaviour reports (issue: contracts both ways),
so every entry names the tenant, the provider and the operation. It is capped: the oldest entries
fall off once ``capacity`` is reached, so a long-running server's memory stays flat.

:meth:`Journal.export` is the replay form (issue 8, "the same seed and scenario give
byte-identical journals"): oldest first, one canonical JSON line per entry, without the fields
that measure the host rather than the run (the entry's number, the wall-clock time, the
duration). Everything else (paths with their seeded ids, statuses, tenants, operations,
contract violations, the fault rule that fired and its call number) is a function of the seed,
the scenario and what the client sent, in the order it sent it.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import deque
from collections.abc import Mapping
from typing import Any

__all__ = ["MAX_TEXT", "MAX_VIOLATIONS", "VOLATILE_FIELDS", "Journal"]

#: What differs between two runs of the same client against the same seed and scenario.
VOLATILE_FIELDS = frozenset({"id", "at", "duration_ms"})
#: An entry's size is bounded too, whatever the client sent: violations kept per entry (the
#: rest are counted in ``violations_dropped``) and characters kept of a path or query string.
MAX_VIOLATIONS = 50
MAX_TEXT = 2048


class Journal:
    """A thread-safe ring buffer of request records (plain JSON-able dicts)."""

    def __init__(self, capacity: int = 1000) -> None:
        if capacity < 1:
            raise ValueError("journal capacity must be at least 1")
        self.capacity = capacity
        self._entries: deque[dict[str, Any]] = deque(maxlen=capacity)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.dropped = 0

    def record(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        """Append an entry, giving it a monotonically increasing ``id``; an oversized entry is
        cut to :data:`MAX_VIOLATIONS` violations and :data:`MAX_TEXT` characters of path and
        query, so ``capacity`` bounds the journal's memory and not only its length."""
        bounded = _bounded(entry)
        with self._lock:
            stored = {"id": next(self._ids), **bounded}
            if len(self._entries) == self.capacity:
                self.dropped += 1
            self._entries.append(stored)
            return stored

    def query(
        self,
        *,
        tenant: str | None = None,
        provider: str | None = None,
        path_prefix: str | None = None,
        status: int | None = None,
        after_id: int = 0,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Matching entries, newest first, at most ``limit``."""
        if limit <= 0:
            return []
        with self._lock:
            entries = list(self._entries)
        out: list[dict[str, Any]] = []
        for entry in reversed(entries):
            if entry["id"] <= after_id:
                break
            if not _matches(entry, tenant, provider, path_prefix, status):
                continue
            out.append(entry)
            if len(out) >= limit:
                break
        return out

    def export(self, *, tenant: str | None = None, provider: str | None = None) -> bytes:
        """The entries kept (``tenant``/``provider`` filtered), oldest first, as NDJSON with
        sorted keys and without :data:`VOLATILE_FIELDS`: byte-identical across replays."""
        with self._lock:
            entries = list(self._entries)
        lines = []
        for entry in entries:
            if not _matches(entry, tenant, provider):
                continue
            stable = {k: v for k, v in entry.items() if k not in VOLATILE_FIELDS}
            lines.append(json.dumps(stable, sort_keys=True, separators=(",", ":")) + "\n")
        return "".join(lines).encode()

    def clear(self, tenant: str | None = None) -> None:
        with self._lock:
            if tenant is None:
                self._entries.clear()
                return
            kept = [e for e in self._entries if e.get("tenant") != tenant]
            self._entries.clear()
            self._entries.extend(kept)

    def __len__(self) -> int:
        return len(self._entries)


def _bounded(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    """``entry`` with its client-sized fields cut down (the same object when nothing is)."""
    out: dict[str, Any] | None = None
    for name in ("path", "query"):
        value = entry.get(name)
        if isinstance(value, str) and len(value) > MAX_TEXT:
            out = out if out is not None else dict(entry)
            out[name] = value[: MAX_TEXT - 3] + "..."
    violations = entry.get("violations")
    if isinstance(violations, list | tuple) and len(violations) > MAX_VIOLATIONS:
        out = out if out is not None else dict(entry)
        out["violations"] = list(violations[:MAX_VIOLATIONS])
        out["violations_dropped"] = len(violations) - MAX_VIOLATIONS
    return entry if out is None else out


def _matches(
    entry: Mapping[str, Any],
    tenant: str | None,
    provider: str | None,
    path_prefix: str | None = None,
    status: int | None = None,
) -> bool:
    """The filters of :meth:`Journal.query` and :meth:`Journal.export` (None: any)."""
    if tenant is not None and entry.get("tenant") != tenant:
        return False
    if provider is not None and entry.get("provider") != provider:
        return False
    if path_prefix is not None and not str(entry.get("path", "")).startswith(path_prefix):
        return False
    return status is None or entry.get("status") == status
