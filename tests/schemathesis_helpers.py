"""What the schemathesis suites share: checks, seeded settings, the config, negative data the
wire cannot carry, and required links.

The decisions themselves (which checks run, which refusals are no failure) live in
``mockserver/check.py``, which ``mockserver check`` runs against a URL: the suites and the
command hold a server to the same rules. This module adds what only the in-process suites need.

A multipart part is bytes, so a mutation that only breaks a part's JSON ``type`` or ``format``
produces a request that is valid once serialized; the server rightly accepts it, and
schemathesis would report ``AcceptedNegativeData``. Each suite names, per multipart property,
the schema keywords its parts cannot break on the wire.
"""

from __future__ import annotations

from collections.abc import Mapping

import schemathesis
from hypothesis import HealthCheck, settings

from mockserver import check
from mockserver.check import CHECKS, invisible_on_the_wire, missing_links

__all__ = ["CHECKS", "MAX_EXAMPLES", "SETTINGS", "config", "invisible_on_the_wire", "missing_links"]

#: Fuzzing examples per operation; the coverage phase adds its own deterministic cases.
MAX_EXAMPLES = 20

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
    """``mockserver.check.config`` with the suites' ``MAX_EXAMPLES``."""
    return check.config(
        seed=seed, headers=headers, max_examples=MAX_EXAMPLES, coverage=coverage, mode=mode
    )
