"""The records the engine stores: jobs, webhook deliveries and their attempts.

Records are frozen dataclasses: a store hands out the same object it was given, and every change
is an explicit ``dataclasses.replace`` followed by a ``put``. That keeps the in-memory store
honest (nothing mutates behind its back) and the SQLite store a straight serialisation.
Vendor data lives in the opaque JSON ``inputs`` and ``attrs``; the engine never reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .lifecycle import Plan

__all__ = ["PROBE_MARK", "Attempt", "Delivery", "DeliveryStatus", "Job"]

#: How a ``signature_probe`` attempt's fault note ends (``engine/webhooks.py``).
PROBE_MARK = "probe with a wrong signature"

DeliveryStatus = Literal["pending", "delivered", "failed", "blocked", "gone", "dropped"]


@dataclass(frozen=True)
class Job:
    """A container of work items (a Hume job, an xAI batch, an Eden job, a stream session).

    ``seq`` orders a tenant's jobs by submission (list sorting, opaque page tokens).
    ``notified`` is set, in the same write as the job's webhook deliveries, once the provider's
    terminal notifications are in the outbox, so a restart neither loses nor repeats them.
    ``settled`` means no side effect is pending: terminal (or idle, for open containers), every
    ended item's result stored, notifications queued. Unsettled jobs are rescheduled at start.
    """

    id: str
    tenant: str
    provider: str
    seq: int
    created_at: float
    plan: Plan
    inputs: tuple[Any, ...] = ()
    attrs: Mapping[str, Any] = field(default_factory=dict)
    notified: bool = False
    settled: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tenant": self.tenant,
            "provider": self.provider,
            "seq": self.seq,
            "created_at": self.created_at,
            "plan": self.plan.to_json(),
            "inputs": list(self.inputs),
            "attrs": dict(self.attrs),
            "notified": self.notified,
            "settled": self.settled,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Job:
        return cls(
            id=raw["id"],
            tenant=raw["tenant"],
            provider=raw["provider"],
            seq=raw["seq"],
            created_at=raw["created_at"],
            plan=Plan.from_json(raw["plan"]),
            inputs=tuple(raw.get("inputs") or ()),
            attrs=raw.get("attrs") or {},
            notified=raw.get("notified", False),
            settled=raw.get("settled", False),
        )


@dataclass(frozen=True)
class Attempt:
    """One try at delivering a webhook: when (tenant clock), what came back, how long it took."""

    at: float
    status_code: int | None
    latency_ms: float
    error: str | None = None
    response_excerpt: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    #: The fault rule that shaped this attempt (``engine/faults.py``), described; None if none.
    fault: str | None = None

    @property
    def held(self) -> bool:
        """A fault held the delivery back here: nothing was tried (not counted as an attempt)."""
        return self.fault is not None and self.status_code is None and self.error is None

    @property
    def probe(self) -> bool:
        """A deliberately mis-signed copy sent before the real try (not counted as one)."""
        return self.fault is not None and self.fault.endswith(PROBE_MARK)

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "status_code": self.status_code,
            "latency_ms": self.latency_ms,
            "error": self.error,
            "response_excerpt": self.response_excerpt,
            "headers": dict(self.headers),
            "fault": self.fault,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Attempt:
        return cls(
            at=raw["at"],
            status_code=raw.get("status_code"),
            latency_ms=raw.get("latency_ms", 0.0),
            error=raw.get("error"),
            response_excerpt=raw.get("response_excerpt", ""),
            headers=raw.get("headers") or {},
            fault=raw.get("fault"),
        )


@dataclass(frozen=True)
class Delivery:
    """A webhook in the outbox: what to POST where, how to sign it, and what happened so far.

    ``body`` is the exact text sent (signatures cover these bytes). ``next_attempt_at`` is on the
    tenant's clock; ``None`` once the delivery is no longer pending.
    """

    id: str
    tenant: str
    job_id: str | None
    event: str
    url: str
    body: str
    created_at: float
    headers: Mapping[str, str] = field(default_factory=dict)
    signer: str = "standard"
    status: DeliveryStatus = "pending"
    attempts: tuple[Attempt, ...] = ()
    next_attempt_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tenant": self.tenant,
            "job_id": self.job_id,
            "event": self.event,
            "url": self.url,
            "body": self.body,
            "created_at": self.created_at,
            "headers": dict(self.headers),
            "signer": self.signer,
            "status": self.status,
            "attempts": [a.to_json() for a in self.attempts],
            "next_attempt_at": self.next_attempt_at,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Delivery:
        return cls(
            id=raw["id"],
            tenant=raw["tenant"],
            job_id=raw.get("job_id"),
            event=raw["event"],
            url=raw["url"],
            body=raw["body"],
            created_at=raw["created_at"],
            headers=raw.get("headers") or {},
            signer=raw.get("signer", "standard"),
            status=raw.get("status", "pending"),
            attempts=tuple(Attempt.from_json(a) for a in raw.get("attempts") or ()),
            next_attempt_at=raw.get("next_attempt_at"),
        )
