"""The synthetic provider: vendor-neutral jobs submitted through the control API.

It lets a user (and our own tests) drive the engine over HTTP before, or without, any vendor
face: lifecycle, stepping, the virtual clock and webhooks all behave exactly as they do under a
real provider. Each item's result echoes its input with a deterministic digest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from ..engine.core import Engine, Notification
from ..engine.lifecycle import JobState
from ..engine.records import Job

__all__ = ["NAME", "SyntheticProvider"]

NAME = "mock"


class SyntheticProvider:
    """Hooks for ``mock`` jobs: echo results, a Standard-Webhooks-signed completion event."""

    name = NAME
    lazy_results = False

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def compute_result(self, job: Job, index: int) -> Any:
        item = job.inputs[index]
        encoded = json.dumps(item, sort_keys=True, separators=(",", ":")).encode()
        return {"index": index, "input": item, "digest": hashlib.sha256(encoded).hexdigest()}

    def notifications(self, job: Job, view: JobState) -> Sequence[Notification]:
        url = job.attrs.get("callback_url")
        if not url:
            return []
        results = self.engine.results(job, view)
        payload = {
            "type": f"job.{view.status}",
            "job_id": job.id,
            "status": view.status,
            "counts": view.counts.to_json(),
            "results": [results.get(i.index) for i in view.items if i.status == "succeeded"],
            "errors": [
                {"index": i.index, "status": i.status, "message": i.error}
                for i in view.items
                if i.status != "succeeded"
            ],
        }
        return [Notification(url=str(url), event=f"job.{view.status}", payload=payload)]
