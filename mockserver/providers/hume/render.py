"""Engine state -> Hume's job object (``../shared/reference/hume-batch.md`` §6).

The engine's vendor-neutral statuses map onto Hume's four: ``queued`` -> ``QUEUED``,
``running`` -> ``IN_PROGRESS``, ``completed`` -> ``COMPLETED``, ``failed`` and ``cancelled``
(only the control API can cancel: Hume has no cancel) -> ``FAILED``. Every variant carries every
timestamp the SDK requires, as integer Unix milliseconds; a job that failed before it started
uses its created time for the missing ones (reference §6).
"""

from __future__ import annotations

from typing import Any

from ...engine.lifecycle import JobState, readable_error
from ...engine.records import Job

__all__ = [
    "HUME_STATUS",
    "failure_message",
    "hume_status",
    "job_json",
    "ms",
    "state_json",
    "wire_source",
]

HUME_STATUS = {
    "queued": "QUEUED",
    "running": "IN_PROGRESS",
    "completed": "COMPLETED",
    "failed": "FAILED",
    "cancelled": "FAILED",
}


def ms(seconds: float) -> int:
    """Unix seconds (float) -> integer milliseconds, as Hume's timestamps are."""
    return int(round(seconds * 1000))


def hume_status(view: JobState) -> str:
    return HUME_STATUS[view.status]


def failure_message(view: JobState) -> str:
    if view.status == "cancelled":
        return readable_error(view.error, "Job cancelled")
    return readable_error(view.error, "Job failed")


def state_json(view: JobState, counts: tuple[int, int] | None = None) -> dict[str, Any]:
    """The ``state`` variant for ``view``; ``counts`` (predictions, errors) when COMPLETED."""
    status = hume_status(view)
    created = ms(view.created_at)
    out: dict[str, Any] = {"status": status, "created_timestamp_ms": created}
    if status == "QUEUED":
        return out
    started = ms(view.started_at) if view.started_at is not None else created
    out["started_timestamp_ms"] = started
    if status == "IN_PROGRESS":
        return out
    out["ended_timestamp_ms"] = ms(view.ended_at) if view.ended_at is not None else started
    if status == "COMPLETED":
        predictions, errors = counts or (0, 0)
        out["num_predictions"] = predictions
        out["num_errors"] = errors
    else:
        out["message"] = failure_message(view)
    return out


def job_json(job: Job, view: JobState, counts: tuple[int, int] | None = None) -> dict[str, Any]:
    return {
        "type": "INFERENCE",
        "job_id": job.id,
        "request": job.attrs["request"],
        "state": state_json(view, counts),
    }


def wire_source(item: dict[str, Any]) -> dict[str, Any]:
    """The ``source`` object of a stored input."""
    if item["type"] == "url":
        return {"type": "url", "url": item["url"]}
    if item["type"] == "file":
        return {
            "type": "file",
            "filename": item.get("filename"),
            "content_type": item.get("content_type"),
            "md5sum": item["md5sum"],
        }
    return {"type": "text"}
