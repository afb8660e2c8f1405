"""What the schemathesis suites share: checks, seeded settings, the config, negative data the
wire cannot carry, and required links.

A multipart part is bytes, so a mutation that only breaks a part's JSON ``type`` or ``format``
produces a request that is valid once serialized; the server rightly accepts it, and
schemathesis would report ``AcceptedNegativeData``. Each suite names, per multipart property,
the schema keywords its parts cannot break on the wire.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case

__all__ = ["CHECKS", "MAX_EXAMPLES", "SETTINGS", "config", "invisible_on_the_wire", "missing_links"]

#: Fuzzing examples per operation; the coverage phase adds its own deterministic cases.
MAX_EXAMPLES = 20

#: Every built-in check but positive_data_acceptance (a contract cannot list what the server
#: legitimately refuses, e.g. unsupported models) and ignored_auth (which only accepts 401/403);
#: use_after_free and ensure_resource_availability only act in stateful runs.
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "use_after_free",
    "ensure_resource_availability",
)

#: Hypothesis settings for the suites' own ``@given`` and state-machine runs: reproducible.
SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def config(
    *, seed: int, headers: Mapping[str, str], coverage: bool = True, mode: str = "all"
) -> schemathesis.Config:
    """A deterministic schemathesis config that sends ``headers`` (the key) on every call and
    never generates security parameters (generated keys would only make auth errors)."""
    return schemathesis.Config.from_dict(
        {
            "seed": seed,
            "headers": dict(headers),
            "suppress-health-check": ["too_slow"],
            "generation": {
                "mode": mode,
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
                "with-security-parameters": False,
            },
            "phases": {"coverage": {"enabled": coverage}},
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        }
    )


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
