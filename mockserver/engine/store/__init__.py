"""Job stores, and :func:`open_store`, which turns a ``--store`` URL into one.

The URL forms mirror SQLAlchemy's, which most users already know: ``sqlite:///jobs.db`` is a
path relative to the working directory, ``sqlite:////var/lib/mock/jobs.db`` an absolute one.
"""

from __future__ import annotations

from .base import JobStore
from .memory import DELIVERY_HISTORY, MemoryStore
from .sqlite import SqliteStore

__all__ = ["DELIVERY_HISTORY", "JobStore", "MemoryStore", "SqliteStore", "open_store"]

_SQLITE_PREFIX = "sqlite:///"
_SQLITE_MEMORY = ("sqlite://", "sqlite://:memory:", "sqlite:///:memory:")
_VALID_FORMS = (
    "'memory' (or 'memory://'), 'sqlite:///PATH' (relative path), "
    "'sqlite:////ABSOLUTE/PATH' or 'sqlite://:memory:'"
)


def open_store(url: str, *, delivery_history: int = DELIVERY_HISTORY) -> JobStore:
    """The store a URL names: ``memory``, ``sqlite:///PATH`` (parent directories are created).

    ``delivery_history``: finished webhook deliveries the memory store keeps (the SQLite store
    keeps them all, on disk). Raises ``ValueError``, naming the valid forms, for anything else.
    """
    if url in ("memory", "memory://"):
        return MemoryStore(delivery_history=delivery_history)
    if url in _SQLITE_MEMORY:
        return SqliteStore(":memory:")
    if url.startswith(_SQLITE_PREFIX) and len(url) > len(_SQLITE_PREFIX):
        return SqliteStore(url[len(_SQLITE_PREFIX) :])
    raise ValueError(f"unsupported store URL {url!r}: use {_VALID_FORMS}")
