"""Hume's batch operations over the engine: start, list, details, predictions, artifacts.

A job is one engine job whose items are its sources, in the order the predictions array lists
them (urls, then uploaded files, then texts), so the lifecycle moves each source from queued to
done and the profile's per-item failures become source-level ``error`` entries. An item's result
is the source's wire entry, computed once by the inference engine and stored, plus the face
crops (stored as blobs) that ``save_faces`` puts in the artifacts. Uploads are stored as blobs
before the 2xx, so an acknowledged job survives a restart with the SQLite store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...engine.core import Notification
from ...engine.lifecycle import JobState, readable_error
from ...engine.media import Blob
from ...engine.records import Job
from ...runtime import Runtime
from ..common import submit_after_model
from .artifacts import build_artifacts, crop_path
from .errors import HumeError
from .render import failure_message, hume_status, job_json, ms, wire_source

__all__ = ["NAME", "HumeBackend", "ListQuery", "Upload"]

NAME = "hume"
_SORT_KEYS = {"created": "created_at", "started": "started_at", "ended": "ended_at"}


@dataclass(frozen=True)
class Upload:
    """One uploaded ``file`` part, already read (hashed, size-checked) into a blob."""

    filename: str | None
    content_type: str | None
    blob: Blob


@dataclass(frozen=True)
class ListQuery:
    """``GET /v0/batch/jobs`` filters, defaults applied (reference §3)."""

    limit: int = 50
    statuses: frozenset[str] = frozenset()
    when: str | None = None
    timestamp_ms: int | None = None
    sort_by: str = "created"
    direction: str = "desc"


class HumeBackend:
    """The operations the routes call, and the engine hooks of ``hume`` jobs."""

    name = NAME
    lazy_results = False

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.engine = runtime.engine

    # --- operations ---------------------------------------------------------------------------

    def start(
        self,
        tenant: str,
        request: dict[str, Any],
        uploads: Sequence[Upload] = (),
        *,
        profile: str | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> Job:
        """Store the uploads, then the job; nothing is acknowledged before both are written."""
        job_id = self.engine.new_id(tenant)
        files: list[dict[str, Any]] = []
        inputs: list[dict[str, Any]] = []
        inputs.extend({"type": "url", "url": url} for url in request["urls"])
        for index, upload in enumerate(uploads):
            key = f"{job_id}/upload/{index}"
            with upload.blob.open() as handle:
                self.runtime.store.put_blob_stream(key, handle)
            entry: dict[str, Any] = {
                "filename": upload.filename,
                "content_type": upload.content_type,
                "md5sum": upload.blob.md5,
            }
            files.append(entry)
            inputs.append({"type": "file", **entry, "blob": key, "size": upload.blob.size})
        inputs.extend({"type": "text", "text": text} for text in request["text"])
        echo = {**request, "files": files}

        def submit(hold: bool) -> Job:
            try:
                return self.engine.submit(
                    tenant,
                    NAME,
                    inputs=inputs,
                    attrs={"request": echo},
                    profile=profile,
                    overrides=overrides,
                    job_id=job_id,
                    hold=hold,
                )
            except ValueError as exc:  # a bad lifecycle override from X-Mock-Lifecycle
                raise HumeError(400, str(exc)) from None

        job = submit_after_model(self.runtime, submit)
        return job

    def find(self, tenant: str, job_id: str) -> Job:
        job = self.engine.get(job_id, tenant)
        if job is None or job.provider != NAME:
            raise HumeError(404, "job not found")
        return job

    def details(self, job: Job) -> dict[str, Any]:
        view = self.engine.view(job)
        return job_json(job, view, self._counts(job, view))

    def list_jobs(self, tenant: str, query: ListQuery) -> list[dict[str, Any]]:
        """Filter by status and creation time, sort, cut at ``limit`` (reference §3, §13.7)."""
        rows: list[tuple[Job, JobState]] = []
        now = ms(self.engine.now(tenant))
        for job in self.engine.list_jobs(tenant, NAME):
            view = self.engine.view(job)
            if query.statuses and hume_status(view) not in query.statuses:
                continue
            if query.when is not None:
                at = query.timestamp_ms if query.timestamp_ms is not None else now
                created = ms(view.created_at)
                if query.when == "created_before" and not created < at:
                    continue
                if query.when == "created_after" and not created > at:
                    continue
            rows.append((job, view))
        field = _SORT_KEYS[query.sort_by]
        present = [r for r in rows if getattr(r[1], field) is not None]
        missing = [r for r in rows if getattr(r[1], field) is None]
        present.sort(
            key=lambda r: (getattr(r[1], field), r[0].seq), reverse=query.direction == "desc"
        )
        ordered = (present + missing)[: max(query.limit, 0)]
        return [job_json(job, view, self._counts(job, view)) for job, view in ordered]

    def predictions(self, job: Job) -> list[dict[str, Any]]:
        view = self._completed(job, "predictions")
        return [entry["wire"] for entry in self._entries(job, view)]

    def artifacts(self, job: Job) -> bytes:
        view = self._completed(job, "artifacts")
        entries = self._entries(job, view)
        crops: list[tuple[str, bytes]] = []
        for index, entry in enumerate(entries):
            for crop in entry.get("crops", ()):
                data = self.runtime.store.get_blob(crop["blob"])
                if data is not None:
                    path = crop_path(index, crop["file"], crop["frame"], crop["group"])
                    crops.append((path, data))
        out = build_artifacts([e["wire"] for e in entries], crops)
        assert out is not None
        return out

    # --- engine hooks -------------------------------------------------------------------------

    def compute_result(self, job: Job, index: int) -> Any:
        # Imported here: the measuring side pulls in torch, which the server's start-up path
        # must not pay for (tests/test_server.py checks it).
        from .predict import Job as PredictJob
        from .sources import measure_source

        item = job.inputs[index]
        request = job.attrs["request"]
        predict_job = PredictJob(
            models=request["models"],
            transcription=request["transcription"],
            seed=job.plan.seed,
            service=self.runtime.inference,
        )
        outcome = measure_source(
            predict_job,
            item,
            resolver=self.runtime.media,
            open_blob=self.runtime.store.open_blob,
        )
        crops = []
        for n, (file, crop) in enumerate(outcome.crops):
            key = f"{job.id}/crops/{index}/{n}"
            self.runtime.store.put_blob(key, crop.png)
            crops.append({"file": file, "frame": crop.frame, "group": crop.group, "blob": key})
        return {"wire": outcome.wire, "crops": crops, "counts": list(outcome.counts)}

    def notifications(self, job: Job, view: JobState) -> Sequence[Notification]:
        """The callback POST (reference §10) and the ``notify`` e-mail, once terminal."""
        request = job.attrs["request"]
        status = hume_status(view)
        out: list[Notification] = []
        if request.get("callback_url"):
            payload: dict[str, Any] = {"job_id": job.id, "status": status}
            if status == "COMPLETED":
                payload["predictions"] = [e["wire"] for e in self._entries(job, view)]
            else:
                payload["predictions"] = []
                payload["message"] = failure_message(view)
            out.append(
                Notification(
                    url=str(request["callback_url"]),
                    event=f"hume.job.{status.lower()}",
                    payload=payload,
                    signer="none",  # Hume documents no signature on callbacks
                )
            )
        if request.get("notify"):
            out.append(
                Notification(
                    url="mailto:account-owner",
                    event="hume.notify.email",
                    payload={
                        "subject": f"Hume batch job {job.id} {status}",
                        "job_id": job.id,
                        "status": status,
                    },
                    signer="none",
                )
            )
        return out

    # --- helpers ------------------------------------------------------------------------------

    def _completed(self, job: Job, what: str) -> JobState:
        view = self.engine.view(job)
        status = hume_status(view)
        if status != "COMPLETED":
            detail = "it failed" if status == "FAILED" else f"its status is {status}"
            early = None  # results asked for while the job is still queued or running
            if not view.terminal:
                early = ("early_result_read", f"GET {what} of {job.id} while {view.status}")
            raise HumeError(
                400,
                f"Job {job.id} has no {what}: {detail}. {what.capitalize()} are available once"
                " the job is COMPLETED; poll GET /v0/batch/jobs/{id} or use callback_url.",
                behaviour=early,
            )
        return view

    def _entries(self, job: Job, view: JobState) -> list[dict[str, Any]]:
        """Every source's stored result; failed or cancelled items as source-level errors."""
        results = self.engine.results(job, view)
        entries = []
        for item in view.items:
            stored = results.get(item.index)
            if item.status == "succeeded" and stored is not None:
                entries.append(stored)
            else:
                message = readable_error(
                    item.error, "Job cancelled" if item.status == "cancelled" else "Source failed"
                )
                source = wire_source(job.inputs[item.index])
                entries.append({"wire": {"source": source, "error": message}, "counts": [0, 1]})
        return entries

    def _counts(self, job: Job, view: JobState) -> tuple[int, int] | None:
        if hume_status(view) != "COMPLETED":
            return None
        predictions = errors = 0
        for entry in self._entries(job, view):
            p, e = entry.get("counts", (0, 0))
            predictions, errors = predictions + p, errors + e
        return predictions, errors
