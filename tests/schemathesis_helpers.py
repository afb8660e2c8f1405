"""What the schemathesis suites share: negative data the wire cannot carry, required links.

A multipart part is bytes, so a mutation that only breaks a part's JSON ``type`` or ``format``
produces a request that is valid once serialized; the server rightly accepts it, and
schemathesis would report ``AcceptedNegativeData``. Each suite names, per multipart property,
the schema keywords its parts cannot break on the wire.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from typing import Any

from schemathesis import Case

__all__ = ["invisible_on_the_wire", "missing_links"]


def invisible_on_the_wire(case: Case, invisible: Mapping[str, Set[str]]) -> bool:
    """A negative multipart case whose every mutation only touches keywords in ``invisible``."""
    meta = case.meta
    if case.media_type != "multipart/form-data" or meta is None:
        return False
    mutations = meta.phase.data.mutations
    return bool(mutations) and all(
        bool(m.path) and set(m.keywords) <= invisible.get(str(m.path[0]), set()) for m in mutations
    )


def missing_links(
    raw_schema: Mapping[str, Any], path: str, parameter: str, required: Mapping[str, str]
) -> list[str]:
    """The ``required`` links (operationId -> runtime expression of ``parameter``) that the
    200 response of ``POST path`` does not declare: a stateful run needs every one."""
    post = raw_schema["paths"][path]["post"]
    links = post["responses"]["200"].get("links") or {}
    declared = {
        (link.get("operationId"), (link.get("parameters") or {}).get(parameter))
        for link in links.values()
    }
    return [op for op, expression in required.items() if (op, expression) not in declared]
