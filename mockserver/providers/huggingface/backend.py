"""The Hugging Face operations behind the routes and the stream: one object per app.

It owns the model registry, the transcript index, the stream mailboxes and the bulk-job hooks,
and it decides the two things the faces share: which zero-shot shape a caller gets, and whether
a model is still "loading" (``--hf-cold-start``).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from ...engine.records import Job
from ...runtime import Runtime, media_roots
from ..common import LifecycleChoice
from . import bulk
from .datasets import open_column
from .errors import HfError, bad_request, not_found
from .registry import Model, Registry
from .stream import StreamHub
from .tasks import Shape, TaskCall, parse_item, parse_json, start

__all__ = ["DATASETS_DIR", "HfBackend"]

DATASETS_DIR = Path(__file__).resolve().parents[2] / "_datasets"
TASK_TIMEOUT = 120.0  # seconds an HTTP task waits for the model (loading included)
_WAIT_CAP = 120.0  # longest real wait for ``wait_for_model``


class HfBackend:
    """Registry, mailboxes, bulk hooks and the cold-start clock of one server."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        settings = runtime.settings
        self.registry = Registry(settings.hf_models)
        self.media_roots = media_roots(settings)
        self.transcripts = runtime.sidecars
        self.datasets = [Path(settings.hf_datasets)] if settings.hf_datasets else [DATASETS_DIR]
        self.hub = StreamHub(runtime.engine, self.stream_output)
        self.hooks = bulk.BulkHooks(runtime, self.registry, self.transcripts)
        runtime.engine.register(self.hooks)
        self._first_use: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        runtime.engine.on_reset(self._reset)

    # --- models ------------------------------------------------------------------------------

    def model(self, model_id: str) -> Model:
        found = self.registry.get(model_id)
        if found is None:
            raise not_found(model_id)
        return found

    def zero_shot_shape(self, router: bool, user_agent: str) -> Shape:
        """``--hf-zero-shot``: legacy or list everywhere, or ``auto``: the router path and
        ``huggingface_hub`` clients (``hf_hub/`` in the User-Agent; 2.4.0 rejects the legacy
        dict) get ``[{label, score}]``, everyone else the legacy ``{sequence, labels, scores}``."""
        setting = self.runtime.settings.hf_zero_shot
        if setting in ("legacy", "list"):
            return "legacy" if setting == "legacy" else "list"
        return "list" if router or "hf_hub/" in user_agent else "legacy"

    def stream_shape(self) -> Shape:
        """The stream's ``outputs``: legacy unless forced (the docs' sample reads ``labels``)."""
        return "list" if self.runtime.settings.hf_zero_shot == "list" else "legacy"

    def check_loaded(self, tenant: str, model: Model, *, wait: bool) -> None:
        """503 ``Model X is currently loading`` until ``--hf-cold-start`` seconds (tenant
        clock) after the first request for it. ``options.wait_for_model`` waits instead, in
        real time while the clock runs; on a frozen clock it is answered as loaded."""
        cold = self.runtime.settings.hf_cold_start
        if cold <= 0:
            return
        clock = self.runtime.engine.clocks.for_tenant(tenant)
        now = clock.now()
        with self._lock:
            first = self._first_use.setdefault((tenant, model.id), now)
        remaining = first + cold - now
        if remaining <= 0:
            return
        if wait:
            if clock.moving:
                time.sleep(min(remaining, _WAIT_CAP))
            return
        raise HfError(
            503,
            f"Model {model.id} is currently loading",
            estimated_time=round(remaining, 3),
        )

    def run(self, tenant: str, call: TaskCall, shape: Shape) -> Any:
        """One task request, start to finish (the HTTP face)."""
        pending = start(
            call,
            self.runtime.inference,
            seed=self.runtime.engine.seed_for(tenant),
            shape=shape,
            transcripts=self.transcripts,
        )
        try:
            return pending.result(timeout=TASK_TIMEOUT)
        except TimeoutError:
            raise HfError(
                503, f"Model {call.model.id} is currently loading", estimated_time=20.0
            ) from None

    def stream_output(self, segment: Job, index: int) -> Any:
        """One stream item's ``outputs`` (the control API reading a segment's results)."""
        model = self.registry.get(segment.attrs.get("model", ""))
        if model is None:
            return {"error": f"Model {segment.attrs.get('model')} does not exist"}
        try:
            call = parse_item(model, segment.inputs[index])
            return self.run(segment.tenant, call, self.stream_shape())
        except HfError as exc:
            return exc.body()

    # --- bulk jobs ---------------------------------------------------------------------------

    def run_bulk(
        self, tenant: str, model: Model, compute: str, body: Any, choice: LifecycleChoice
    ) -> Job:
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object")
        problems = [
            f"Error in `{key}`: str type expected"
            for key in ("dataset_name", "dataset_config", "dataset_split", "dataset_column")
            if body.get(key) is not None and not isinstance(body[key], str)
        ]
        if not isinstance(body.get("dataset_name"), str):
            problems.insert(0, "Error in `dataset_name`: field required")
        parameters = body.get("parameters")
        if parameters is None:
            parameters = {}
        elif not isinstance(parameters, dict):
            problems.append("Error in `parameters`: value is not a valid dict")
        if problems:
            raise bad_request(problems)
        if model.task != "automatic-speech-recognition":  # check once, not per row
            parse_json(model, {"inputs": "probe", "parameters": parameters})
        audio = model.task == "automatic-speech-recognition"
        column = open_column(
            self.datasets,
            body["dataset_name"],
            body.get("dataset_config"),
            body.get("dataset_split") or "test",
            body.get("dataset_column"),
            prefer=("file", "audio", "path") if audio else ("text", "sentence", "inputs"),
        )
        inputs = bulk.row_inputs(model, column, self.media_roots)
        engine = self.runtime.engine
        job_id = bulk.job_id(engine.new_id(tenant, "hf-bulk"))
        while engine.get(job_id) is not None:
            job_id = bulk.job_id(engine.new_id(tenant, "hf-bulk"))
        return engine.submit(
            tenant,
            bulk.BULK,
            inputs=inputs,
            attrs={
                "model": model.id,
                "compute": compute,
                "bulk_name": bulk.bulk_name(model.id, column.name),
                "parameters": parameters,
                "shape": self.stream_shape(),
                "dataset": {
                    "name": column.name,
                    "config": column.config,
                    "split": column.split,
                    "column": column.column,
                },
            },
            profile=choice.profile,
            overrides=choice.overrides,
            job_id=job_id,
            errors=bulk.row_errors(model, inputs),
        )

    def bulk_status(self, jobid: str, tenant: str | None = None) -> dict[str, Any]:
        """A bulk job's status; ``tenant`` (None: anyone) must own it, else it is unknown."""
        job = self.runtime.engine.get(jobid, tenant)
        if job is None or job.provider != bulk.BULK:
            raise HfError(404, f"Job {jobid} does not exist")
        return bulk.status_body(job, self.runtime.engine.view(job))

    def bulk_output(self, job: Job) -> list[dict[str, Any]]:
        engine = self.runtime.engine
        view = engine.view(job)
        return bulk.output_rows(job, view, engine.results(job, view))

    def _reset(self, tenant: str | None) -> None:
        with self._lock:
            if tenant is None:
                self._first_use.clear()
            else:
                for key in [k for k in self._first_use if k[0] == tenant]:
                    del self._first_use[key]
