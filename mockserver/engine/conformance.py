"""What each tenant's client did wrong: contract violations and behaviours, kept for a report.

The journal says what happened to each request; this log says what it means for the client
that sent them (issue 9, "strict client verification"). It watches every journaled request
(:meth:`ConformanceLog.observe`) and keeps, per tenant, bounded tallies of:

- **contract violations** (the validator's JSON pointer and rule, per operation), whether the
  request was refused (``strict``) or served anyway (``warn``);
- **behaviours** a well-behaved batch client avoids:

  - ``fast_polling``: the same job's status read again sooner than ``advised_poll_s`` (the
    vendors' own clients poll once a second; none documents a floor, so it is a setting);
  - ``ignored_retry_after``: a request sent before the ``Retry-After`` the tenant was just
    given had passed;
  - ``resubmitted_after_drop``: non-idempotent work (a job submission) sent again with the
    same body after the connection dropped on the first one, which the server had already
    accepted: the client now owns two jobs;
  - ``early_result_read``: results asked for before the job completed (where the vendor refuses
    that: Hume's predictions and artifacts);
  - ``unverified_signature``: a webhook receiver that accepted a delivery whose signature was
    deliberately wrong (the ``signature_probe`` fault); a receiver that refused it is noted as
    ``verified_signature`` (good news is news too).

Bounded: per tenant at most ``MAX_KEYS`` tallies of each kind, and at most ``MAX_TENANTS``
tenants (the one seen least recently is forgotten first: every new API key makes a tenant).

Pure: no Flask, no clock reads (each observation carries its time), thread-safe.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "BEHAVIOURS",
    "NON_IDEMPOTENT",
    "STATUS_READS",
    "ConformanceLog",
    "Observation",
]

#: Operations that read a job's status (what a poller calls), per provider.
STATUS_READS = frozenset(
    {
        ("hume", "get_job_details"),
        ("xai", "get_batch"),
        ("xai", "GetBatch"),
        ("edenai", "get"),
        ("edenai", "batch_get"),
        ("huggingface", "bulk_status"),
    }
)
#: Operations whose repetition creates a second job (no idempotency key on the vendor's side).
NON_IDEMPOTENT = frozenset(
    {
        ("hume", "start_job"),
        ("xai", "create_batch"),
        ("xai", "CreateBatch"),
        ("edenai", "launch"),
        ("edenai", "batch_launch"),
        ("huggingface", "bulk_run"),
    }
)
#: Fault kinds that leave the client without an answer (it cannot know the work was accepted).
DROPPED = frozenset({"reset", "timeout", "truncate", "malformed"})

BEHAVIOURS = {
    "fast_polling": "polled a job's status faster than once every {advised:g} s",
    "ignored_retry_after": "sent a request before the Retry-After it was given had passed",
    "resubmitted_after_drop": (
        "sent a job submission again after the connection dropped, although the first was "
        "accepted: two jobs now exist (list the jobs before retrying a submission)"
    ),
    "early_result_read": "asked for results before the job completed",
    "unverified_signature": "its webhook receiver accepted a delivery with a wrong signature",
    "verified_signature": "its webhook receiver refused a delivery with a wrong signature",
}
#: Behaviours that are not findings against the client.
GOOD = frozenset({"verified_signature"})
MAX_KEYS = 200  # distinct violations or behaviour keys kept per tenant
MAX_EXAMPLES = 3
#: Tenants whose findings are kept; past this, the one seen least recently is forgotten, so a
#: client (or a fuzzer) inventing a new API key per request cannot grow the log without bound.
MAX_TENANTS = 1000


@dataclass(frozen=True)
class Observation:
    """One request as the log needs it (built from the journal entry)."""

    tenant: str | None
    provider: str | None
    operation: str | None
    method: str
    path: str
    status: int
    at: float
    violations: Sequence[Mapping[str, Any]] = ()
    #: Seconds the response asked the client to wait (``Retry-After``), if it did.
    retry_after: float | None = None
    body_sha256: str | None = None
    #: The kind of the fault rule that fired for this request, if any.
    fault_kind: str | None = None
    #: The job the path names (status reads of one job are one poller, whatever the path's
    #: spelling: Eden answers with and without the trailing slash).
    job_id: str | None = None
    #: Behaviours the view itself noticed: (kind, detail).
    notes: Sequence[tuple[str, str]] = ()


@dataclass
class _Tally:
    count: int = 0
    first_at: float = 0.0
    last_at: float = 0.0
    examples: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, at: float, example: str) -> None:
        if self.count == 0:
            self.first_at = at
        self.count += 1
        self.last_at = at
        if len(self.examples) < MAX_EXAMPLES and example not in self.examples:
            self.examples.append(example)


@dataclass
class _Tenant:
    requests: int = 0
    refused: int = 0
    violations: OrderedDict[tuple[str, ...], _Tally] = field(default_factory=OrderedDict)
    behaviours: OrderedDict[tuple[str, str], _Tally] = field(default_factory=OrderedDict)
    last_read: dict[str, float] = field(default_factory=dict)  # job (or path) -> time
    wait_until: float | None = None  # Retry-After given: no request before this
    dropped: dict[tuple[str, str, str], str] = field(default_factory=dict)  # -> first path


class ConformanceLog:
    """Per-tenant findings, fed one observation per journaled request."""

    def __init__(self, advised_poll_s: float = 1.0, max_tenants: int = MAX_TENANTS) -> None:
        if max_tenants < 1:
            raise ValueError("max_tenants must be at least 1")
        self.advised_poll_s = advised_poll_s
        self.max_tenants = max_tenants
        #: Least recently observed first (see :meth:`_state`).
        self._tenants: OrderedDict[str, _Tenant] = OrderedDict()
        self._lock = threading.Lock()
        #: Tenants forgotten to keep the log bounded.
        self.evicted = 0

    def _state(self, tenant: str) -> _Tenant:
        """The tenant's tallies, now the most recently seen; the lock is held."""
        state = self._tenants.get(tenant)
        if state is None:
            state = self._tenants[tenant] = _Tenant()
            while len(self._tenants) > self.max_tenants:
                self._tenants.popitem(last=False)
                self.evicted += 1
        else:
            self._tenants.move_to_end(tenant)
        return state

    # --- feeding --------------------------------------------------------------------------

    def observe(self, seen: Observation) -> None:
        if seen.tenant is None:
            return
        with self._lock:
            state = self._state(seen.tenant)
            state.requests += 1
            where = f"{seen.method} {seen.path}"
            for violation in seen.violations:
                key = (
                    str(seen.operation),
                    str(violation.get("location", "")),
                    str(violation.get("pointer", "")),
                    str(violation.get("rule", "")),
                )
                tally = self._slot(state.violations, key)
                if tally is not None:
                    tally.add(seen.at, where)
                    tally.extra.update(
                        message=violation.get("message", ""), method=seen.method,
                        refused=400 <= seen.status < 500,
                    )  # fmt: skip
            if seen.violations and 400 <= seen.status < 500:
                state.refused += 1
            self._retry_after(state, seen, where)
            self._polling(state, seen, where)
            self._resubmission(state, seen, where)
            for kind, detail in seen.notes:
                self._behaviour(state, kind, seen, detail or where)

    def observe_delivery(
        self, tenant: str, *, at: float, url: str, status: int | None, probe: bool
    ) -> None:
        """A webhook attempt's answer; only probes (a deliberately wrong signature) count."""
        if not probe or status is None:
            return
        kind = "unverified_signature" if 200 <= status < 300 else "verified_signature"
        with self._lock:
            state = self._state(tenant)
            seen = Observation(tenant, None, "webhook", "POST", url, status, at)
            self._behaviour(state, kind, seen, f"POST {url} answered {status}")

    def _retry_after(self, state: _Tenant, seen: Observation, where: str) -> None:
        if state.wait_until is not None and seen.at < state.wait_until:
            early = state.wait_until - seen.at
            self._behaviour(state, "ignored_retry_after", seen, f"{where} {early:.2f} s early")
        if seen.retry_after is not None:
            state.wait_until = seen.at + seen.retry_after
        elif state.wait_until is not None and seen.at >= state.wait_until:
            state.wait_until = None

    def _polling(self, state: _Tenant, seen: Observation, where: str) -> None:
        if (seen.provider, seen.operation) not in STATUS_READS or seen.status >= 400:
            return
        job = seen.job_id or seen.path
        previous = state.last_read.get(job)
        state.last_read[job] = seen.at
        if len(state.last_read) > MAX_KEYS:
            state.last_read.pop(next(iter(state.last_read)))
        if previous is not None and seen.at - previous < self.advised_poll_s:
            gap = seen.at - previous
            self._behaviour(state, "fast_polling", seen, f"{where} {gap:.3f} s after the last")

    def _resubmission(self, state: _Tenant, seen: Observation, where: str) -> None:
        if (seen.provider, seen.operation) not in NON_IDEMPOTENT or seen.body_sha256 is None:
            return
        key = (str(seen.provider), str(seen.operation), seen.body_sha256)
        if key in state.dropped and seen.status < 400:
            first = state.dropped.pop(key)
            self._behaviour(
                state, "resubmitted_after_drop", seen, f"{where} again after {first} dropped"
            )
        if seen.fault_kind in DROPPED and seen.status < 400:
            state.dropped[key] = where
            if len(state.dropped) > MAX_KEYS:
                state.dropped.pop(next(iter(state.dropped)))

    def _behaviour(self, state: _Tenant, kind: str, seen: Observation, example: str) -> None:
        tally = self._slot(state.behaviours, (kind, str(seen.operation)))
        if tally is not None:
            tally.add(seen.at, example)

    @staticmethod
    def _slot(
        tallies: OrderedDict[Any, _Tally], key: Any
    ) -> _Tally | None:  # bounded: new keys stop being tracked past MAX_KEYS
        found = tallies.get(key)
        if found is None and len(tallies) < MAX_KEYS:
            found = tallies[key] = _Tally()
        return found

    # --- reading --------------------------------------------------------------------------

    def report(self, tenant: str) -> dict[str, Any]:
        """The tenant's findings as JSON: violations and behaviours, worst first."""
        with self._lock:
            state = self._tenants.get(tenant) or _Tenant()
            violations: list[dict[str, Any]] = [
                {
                    "operation": op, "method": t.extra.get("method"), "location": loc,
                    "pointer": pointer, "rule": rule, "message": t.extra.get("message", ""),
                    "refused": t.extra.get("refused", False), "count": t.count,
                    "first_at": t.first_at, "last_at": t.last_at, "examples": list(t.examples),
                }
                for (op, loc, pointer, rule), t in state.violations.items()
            ]  # fmt: skip
            behaviours: list[dict[str, Any]] = [
                {
                    "kind": kind,
                    "operation": op,
                    "finding": kind not in GOOD,
                    "message": BEHAVIOURS[kind].format(advised=self.advised_poll_s),
                    "count": t.count,
                    "first_at": t.first_at,
                    "last_at": t.last_at,
                    "examples": list(t.examples),
                }
                for (kind, op), t in state.behaviours.items()
            ]
            requests, refused = state.requests, state.refused
        violations.sort(key=lambda v: (-v["count"], v["operation"], v["pointer"]))
        behaviours.sort(key=lambda b: (not b["finding"], -b["count"], b["kind"]))
        findings = len(violations) + sum(b["finding"] for b in behaviours)
        return {
            "tenant": tenant,
            "requests": requests,
            "refused": refused,
            "clean": findings == 0,
            "violations": violations,
            "behaviours": behaviours,
        }

    def tenants(self) -> list[str]:
        with self._lock:
            return sorted(self._tenants)

    def reset(self, tenants: Iterable[str] | None = None) -> None:
        with self._lock:
            if tenants is None:
                self._tenants.clear()
            else:
                for tenant in tenants:
                    self._tenants.pop(tenant, None)
