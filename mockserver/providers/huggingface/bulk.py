"""Dataset bulk jobs: one engine job per run, one item per dataset row, output as a JSONL file.

``POST /bulk/run/{cpu|gpu}/{model_id}`` answered ``{"jobid": "bulk-68079542", "bulk_name": ...}``
and wrote the outputs to a private dataset named ``bulk_name`` (``../shared/reference/
huggingface-bulk.md`` §2). Here the rows run through the tenant's lifecycle profile like any
job's items, each row's output is the task endpoint's body for that cell, and when the job ends
the output "dataset" is written to ``{hf_bulk_dir}/{bulk_name}/{jobid}.jsonl`` (one run per file:
the Hub versioned runs with git) and is readable from ``GET /_mock/jobs/{jobid}/output``.

Status bodies are shaped like the Kubernetes Job status the docs' sample shows
(``{"status": {"active": 1, "start_time": ...}}``); ``succeeded``/``failed`` and
``completion_time`` after the end are a GUESS (§2).
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...engine.core import Notification
from ...engine.lifecycle import JobState, readable_error
from ...engine.records import Job
from .datasets import Column, resolve_file
from .errors import HfError
from .registry import Model
from .tasks import TaskCall, parse_json, start

if TYPE_CHECKING:
    from ...engine.sidecars import SidecarIndex
    from ...runtime import Runtime
    from .registry import Registry

__all__ = ["BULK", "BulkHooks", "bulk_name", "output_rows", "status_body"]

BULK = "hf.bulk"
log = logging.getLogger("mockserver")


def bulk_name(model_id: str, dataset_name: str) -> str:
    """``bulk-{model[:10]}-{dataset[:10]}-{md5[:5]}``, after api-inference-community's
    ``manage.py`` ``get_repo_name`` (last path components; md5 of both full ids)."""
    model = model_id.rsplit("/", 1)[-1][:10]
    dataset = dataset_name.rsplit("/", 1)[-1][:10]
    digest = hashlib.md5((model_id + dataset_name).encode()).hexdigest()[:5]
    return f"bulk-{model}-{dataset}-{digest}"


def job_id(uuid_hex: str) -> str:
    """``bulk-`` and eight digits, as the docs' sample id (``bulk-68079542``)."""
    return f"bulk-{int(uuid_hex.replace('-', '')[:12], 16) % 100_000_000:08d}"


def row_inputs(model: Model, column: Column, media_roots: Sequence[Path]) -> list[Any]:
    """What each row sends: the cell itself for text, the resolved file path for audio."""
    if model.task != "automatic-speech-recognition":
        return list(column.values)
    out: list[Any] = []
    for value in column.values:
        path = resolve_file(value, column.path, media_roots)
        out.append({"file": str(path) if path else None, "cell": value})
    return out


def row_errors(model: Model, inputs: Sequence[Any]) -> list[str | None]:
    """Rows whose cell cannot be run at all fail at admission with the API's message."""
    errors: list[str | None] = []
    for value in inputs:
        if model.task == "automatic-speech-recognition":
            missing = value.get("file") is None
            errors.append(f"Audio file not found: {value.get('cell')!r}" if missing else None)
        elif not isinstance(value, str):
            errors.append(f"Expected a string cell, got {type(value).__name__}")
        else:
            errors.append(None)
    return errors


class BulkHooks:
    """Engine hooks of the ``hf.bulk`` provider: a row's output, and the file at the end."""

    name = BULK
    lazy_results = False

    def __init__(self, runtime: Runtime, registry: Registry, transcripts: SidecarIndex) -> None:
        self.runtime = runtime
        self.registry = registry
        self.transcripts = transcripts

    def compute_result(self, job: Job, index: int) -> Any:
        model = self.registry.get(job.attrs["model"])
        if model is None:
            return {"error": f"Model {job.attrs['model']} does not exist"}
        value = job.inputs[index]
        try:
            if model.task == "automatic-speech-recognition":
                call = TaskCall(model, Path(value["file"]).read_bytes())
            else:
                body = {"inputs": value, "parameters": job.attrs.get("parameters") or {}}
                call = parse_json(model, body)
            pending = start(
                call,
                self.runtime.inference,
                seed=self.runtime.engine.seed_for(job.tenant),
                shape=job.attrs.get("shape", "legacy"),
                transcripts=self.transcripts,
            )
            return pending.result(timeout=300)
        except HfError as exc:
            return exc.body()
        except OSError as exc:
            return {"error": f"Cannot read {value.get('cell')!r}: {exc.strerror}"}

    def notifications(self, job: Job, view: JobState) -> Sequence[Notification]:
        """No webhooks; the terminal side effect is writing the output dataset file."""
        try:
            path = output_path(self.runtime, job)
            path.parent.mkdir(parents=True, exist_ok=True)
            rows = output_rows(job, view, self.runtime.engine.results(job, view))
            tmp = path.with_suffix(".jsonl.tmp")
            tmp.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
            tmp.replace(path)
        except OSError as exc:  # the control API still serves the rows
            log.error("bulk job %s: cannot write its output: %s", job.id, exc)
        return ()


def output_dir(runtime: Runtime) -> Path:
    configured = runtime.settings.hf_bulk_dir
    return Path(configured) if configured else Path(tempfile.gettempdir()) / "mockserver-bulk"


def output_path(runtime: Runtime, job: Job) -> Path:
    return output_dir(runtime) / str(job.attrs["bulk_name"]) / f"{job.id}.jsonl"


def output_rows(job: Job, view: JobState, results: dict[int, Any]) -> list[dict[str, Any]]:
    """One row per dataset row that has ended: its cell, then its outputs or its error."""
    column = job.attrs["dataset"]["column"]
    rows = []
    for item in view.items:
        if item.status not in ("succeeded", "failed", "cancelled"):
            continue
        value = job.inputs[item.index]
        cell = value.get("cell") if isinstance(value, dict) else value
        row: dict[str, Any] = {"index": item.index, column: cell}
        if item.status == "succeeded":
            row["outputs"] = results.get(item.index)
        else:
            row["error"] = readable_error(item.error, item.status)
        rows.append(row)
    return rows


def status_body(job: Job, view: JobState) -> dict[str, Any]:
    """The Kubernetes-Job-like status the docs show, plus counts under ``progress``."""
    # Set once, when the job is accepted (a Kubernetes Job's startTime): a timestamp a client
    # has seen never moves, whether the job still waits or already runs.
    status: dict[str, Any] = {"start_time": float(job.created_at)}
    if not view.terminal:
        status["active"] = 1
    elif view.status == "completed":
        status["succeeded"] = 1
    else:
        status["failed"] = 1
    if view.terminal and view.ended_at is not None:
        status["completion_time"] = float(view.ended_at)
    counts = view.counts
    return {
        "status": status,
        "progress": {
            "total": counts.total,
            "done": counts.succeeded,
            "failed": counts.failed + counts.cancelled,
        },
    }
