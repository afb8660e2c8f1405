"""Eden AI v2 wire shapes of a job: the GET body, the list row, the webhook payload.

Pure functions of a job, its engine view and its stored results
(``../shared/reference/edenai-async.md`` §4-§6). The job is ``processing`` until every provider
has ended, then ``finished``; ``failed`` (with a top-level ``error`` string) when the job as a
whole failed. A provider appears in ``results`` once it has ended, with ``id``,
``final_status``, ``error`` (``null`` on success, which LangChain checks), ``cost``, its
feature fields when it succeeded, and ``original_response`` when asked.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ...engine.lifecycle import ItemState, JobState, readable_error
from ...engine.records import Job

__all__ = [
    "BASE64_FIELDS",
    "FinalStatus",
    "View",
    "eden_status",
    "nb_ok",
    "provider_job_id",
    "iso",
    "job_body",
    "provider_error",
]

#: Fields that carry a file as base64, blanked when ``show_base_64`` is false.
BASE64_FIELDS = frozenset({"audio", "video", "document"})

#: Item messages the lifecycle uses when a profile names none; replaced by provider-like ones.
_GENERIC = frozenset({"item failed", "job failed"})
_PROVIDER_ERRORS = (
    "Provider returned an empty response",
    "The provider's service is temporarily unavailable, please try again later",
    "Provider timed out while processing the file",
    "Unsupported file format for this provider",
)


@dataclass(frozen=True)
class FinalStatus:
    """The per-provider ``final_status`` words: Eden's live ``succeeded``/``failed``, or the
    spec's literal enum ``sucess``/``fail`` (sic) with ``--eden-final-status spec`` (§4)."""

    ok: str = "succeeded"
    failed: str = "failed"

    @classmethod
    def named(cls, name: str) -> FinalStatus:
        return cls("sucess", "fail") if name == "spec" else cls()


@dataclass(frozen=True)
class View:
    """How one reader asked to see results (query parameters of GET, or the launch's)."""

    as_dict: bool = True
    show_original: bool = False
    show_base64: bool = True
    final: FinalStatus = FinalStatus()


def iso(seconds: float) -> str:
    """Django's ISO 8601 rendering of an aware datetime: microseconds, ``Z`` for UTC."""
    text = datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat()
    return text.replace("+00:00", "Z")


def eden_status(view: JobState) -> str:
    if not view.terminal:
        return "processing"
    if view.status == "failed" or view.status == "cancelled":
        return "failed"
    return "finished"


def provider_job_id(job: Job, name: str) -> str:
    """The provider's own job id: stable per job and provider (Eden job ids are uuids)."""
    return str(uuid.uuid5(uuid.UUID(job.id), name))


def provider_error(job: Job, item: ItemState) -> dict[str, str]:
    """A failed provider's ``error`` object; generic lifecycle messages become provider-like."""
    message = item.error or "Provider failed"
    if item.status == "cancelled":
        message = readable_error(item.error, "Job cancelled")
    elif message in _GENERIC:
        message = _PROVIDER_ERRORS[
            (job.plan.seed + item.index + len(job.id)) % len(_PROVIDER_ERRORS)
        ]
    return {"type": "ProviderException", "message": message}


def _entry(
    job: Job, item: ItemState, stored: Mapping[str, Any] | None, view: View
) -> dict[str, Any]:
    name = job.inputs[item.index]["name"]
    out: dict[str, Any] = {"id": provider_job_id(job, name)}
    failure = stored.get("failure") if stored else None
    if item.status == "succeeded" and stored is not None and failure is None:
        out["final_status"] = view.final.ok
        out["error"] = None
        for key, value in stored["fields"].items():
            out[key] = "" if key in BASE64_FIELDS and not view.show_base64 else value
        out["cost"] = stored.get("cost", 0.0)
        if view.show_original:
            out["original_response"] = stored.get("original_response")
        return out
    out["final_status"] = view.final.failed
    out["error"] = failure if failure is not None else provider_error(job, item)
    out["cost"] = 0.0
    if view.show_original:
        out["original_response"] = None
    return out


def job_body(job: Job, state: JobState, results: Mapping[int, Any], view: View) -> dict[str, Any]:
    """The GET body: ``public_id``, ``status``, ``error`` and ``results`` (all four required)."""
    entries: list[tuple[str, dict[str, Any]]] = []
    for item in state.items:
        if item.status in ("queued", "running"):
            continue  # still working: absent until it ends
        name = job.inputs[item.index]["name"]
        entries.append((name, _entry(job, item, results.get(item.index), view)))
    status = eden_status(state)
    error = None
    if status == "failed":
        error = readable_error(state.error, "Job failed")
    body: dict[str, Any] = {"public_id": job.id, "status": status, "error": error}
    if view.as_dict:
        body["results"] = dict(entries)
    else:
        body["results"] = [{"provider": name, **entry} for name, entry in entries]
    return body


def nb_ok(state: JobState, results: Mapping[int, Any]) -> int:
    """Providers that succeeded (a builder failure counts as a failure)."""
    return sum(
        1
        for item in state.items
        if item.status == "succeeded" and not (results.get(item.index) or {}).get("failure")
    )
