"""Deterministic identifiers: the same seed and the same calls give the same ids.

An id is derived from (seed, tenant, kind, n) where ``n`` is a durable per-tenant counter kept by
the store. Because the counter is persisted, a restarted server never hands out an id it already
used, and because the tenant is hashed in, two tenants never collide.
"""

from __future__ import annotations

import hashlib
import uuid

__all__ = ["derive_uuid"]


def derive_uuid(seed: int, tenant: str, kind: str, n: int) -> str:
    """A UUID4-formatted id for the ``n``-th ``kind`` of ``tenant`` under ``seed``."""
    digest = hashlib.sha256(f"{seed}\x1f{tenant}\x1f{kind}\x1f{n}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))
