"""Engine records to control-API JSON: summaries for lists, details with plan and timeline."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from ..engine.lifecycle import JobState
from ..engine.records import Delivery, Job

__all__ = ["iso", "job_detail", "job_summary", "delivery_json"]


def iso(when: float | None) -> str | None:
    """Unix seconds as RFC 3339 UTC with milliseconds."""
    if when is None or math.isinf(when):
        return None
    return datetime.fromtimestamp(when, tz=timezone.utc).isoformat(timespec="milliseconds")


def job_summary(job: Job, view: JobState) -> dict[str, Any]:
    return {
        "id": job.id,
        "tenant": job.tenant,
        "provider": job.provider,
        "seq": job.seq,
        "status": view.status,
        "created_at": view.created_at,
        "started_at": view.started_at,
        "ended_at": view.ended_at,
        "counts": view.counts.to_json(),
        "error": view.error,
        "profile": job.plan.profile,
        "open": job.plan.open,
        "settled": job.settled,
        "notified": job.notified,
    }


def _plan_json(job: Job) -> dict[str, Any]:
    plan = job.plan.to_json()
    failure_at = job.plan.failure_at
    plan["failure_at"] = None if failure_at is None or math.isinf(failure_at) else failure_at
    plan["items"] = [
        {
            "start": None if math.isinf(i.start) else i.start,
            "end": None if math.isinf(i.end) else i.end,
            "outcome": "error" if i.error else "success",
            "error": i.error,
        }
        for i in job.plan.items
    ]
    return plan


def job_detail(job: Job, view: JobState, deliveries: list[Delivery], now: float) -> dict[str, Any]:
    """Everything about a job: state now, the plan it follows, per-item timeline, webhooks."""
    return {
        **job_summary(job, view),
        "now": now,
        "attrs": dict(job.attrs),
        "plan": _plan_json(job),
        "timeline": [i.to_json() for i in view.items],
        "deliveries": [delivery_json(d, body=False) for d in deliveries],
    }


def delivery_json(delivery: Delivery, *, body: bool = True) -> dict[str, Any]:
    out = delivery.to_json()
    if not body:
        out.pop("body", None)
    out["attempt_count"] = len(delivery.attempts)
    return out
