"""SortedKeys: a set of strings kept in order, for containers paged by a client-chosen key.

An xAI batch lists its results sorted by ``batch_request_id`` and may hold 100,000 requests
added 1,000 at a time. A plain sorted list costs O(n) per insert (or a full merge per add call),
so a big batch would cost O(n²) to build. Here the keys live in chunks of at most ``CHUNK`` sorted
keys with a list of each chunk's last key: an insert is a bisect plus an insert into one chunk,
and reading a page is a bisect plus the page itself, whatever the set's size (the layout of the
``sortedcontainers`` package, reduced to the three operations a page reader needs).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator

__all__ = ["SortedKeys"]

CHUNK = 512


class SortedKeys:
    """Distinct strings in ascending order; not thread-safe (callers hold their own lock)."""

    def __init__(self, keys: Iterable[str] = ()) -> None:
        self._chunks: list[list[str]] = []
        self._maxes: list[str] = []
        self._size = 0
        self.update(keys)

    def __len__(self) -> int:
        return self._size

    def update(self, keys: Iterable[str]) -> None:
        """Add keys (already present ones are ignored)."""
        for key in sorted(set(keys)):
            self.add(key)

    def add(self, key: str) -> bool:
        """Insert ``key``; False if it was already present."""
        if not self._chunks:
            self._chunks.append([key])
            self._maxes.append(key)
            self._size = 1
            return True
        at = bisect.bisect_left(self._maxes, key)
        if at == len(self._maxes):  # beyond every key: the common case of rising ids
            at -= 1
            chunk = self._chunks[at]
            chunk.append(key)
            self._maxes[at] = key
        else:
            chunk = self._chunks[at]
            pos = bisect.bisect_left(chunk, key)
            if pos < len(chunk) and chunk[pos] == key:
                return False
            chunk.insert(pos, key)
        self._size += 1
        if len(chunk) > 2 * CHUNK:
            self._chunks[at : at + 1] = [chunk[:CHUNK], chunk[CHUNK:]]
            self._maxes[at : at + 1] = [chunk[CHUNK - 1], chunk[-1]]
        return True

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        at = bisect.bisect_left(self._maxes, key)
        if at == len(self._maxes):
            return False
        chunk = self._chunks[at]
        pos = bisect.bisect_left(chunk, key)
        return pos < len(chunk) and chunk[pos] == key

    def after(self, key: str | None = None) -> Iterator[str]:
        """Keys strictly greater than ``key`` (all keys when ``None``), ascending.

        The iterator reads the chunks as they are when it advances: do not add keys while one
        is open.
        """
        if key is None:
            at, pos = 0, 0
        else:
            at = bisect.bisect_right(self._maxes, key)
            if at == len(self._maxes):
                return
            pos = bisect.bisect_right(self._chunks[at], key)
        for chunk in self._chunks[at:]:
            yield from chunk[pos:] if pos else chunk
            pos = 0

    def __iter__(self) -> Iterator[str]:
        return self.after(None)
