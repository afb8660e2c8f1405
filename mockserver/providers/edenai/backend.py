"""Eden AI's async jobs over the engine: launch, get, list, delete-all, batches, webhooks.

One launch is one engine job whose items are the requested providers, in the order given, so
the profile moves each provider from queued to ended on its own and its per-item failures
become per-provider failures while the others succeed; a whole-job failure is the job's
(``status: failed`` with a top-level ``error``). When a provider succeeds its result is built
from the stored input by the subfeature's builder (``features``) and stored; a builder that
cannot read the input (:class:`~.features.FeatureError`) makes it a provider failure.

The file is stored as a blob before the 2xx (a ``file_url`` is resolved at launch, as Eden
downloads it then), so an acknowledged job survives a restart with the SQLite store.

List quirk (``../shared/reference/edenai-async.md`` §4, the list operation's description): a
job's stored state is refreshed only when someone GETs it, so ``GET`` list shows
``processing`` for a job nobody has fetched since it ended. A job whose webhook has gone out
counts as refreshed (Eden learnt the outcome to send it). ``--eden-list-state live`` shows
the engine's state instead.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ...engine.core import Notification
from ...engine.lifecycle import JobState
from ...engine.media import Blob
from ...engine.records import Job
from ...runtime import Runtime
from ..common import LazyHooks, LifecycleChoice, submit_after_model
from .catalog import Subfeature
from .errors import EdenError, bad_request, not_found
from .parse import Launch
from .render import FinalStatus, View, eden_status, iso, job_body, nb_ok
from .signing import SIGNER_NAME, EdenSigner, KeyRing

__all__ = ["BATCH_NAME", "NAME", "EdenBackend", "FileInput"]

NAME = "edenai"
BATCH_NAME = "edenai.batch"
BATCH_PAGE_SIZE = 50
MAX_BATCH_REQUESTS = 500


@dataclass(frozen=True)
class FileInput:
    """The launch's file, read (hashed, size-checked, sniffed) into a blob."""

    blob: Blob
    filename: str | None = None
    url: str | None = None
    sidecar: str | None = None


class EdenBackend:
    """The operations the routes call, and the engine hooks of ``edenai`` jobs."""

    name = NAME
    lazy_results = False

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.engine = runtime.engine
        settings = runtime.settings
        self.final = FinalStatus.named(settings.eden_final_status)
        self.live_list = settings.eden_list_state == "live"
        self.keys = KeyRing(runtime.store, settings.eden_signing_key)
        runtime.outbox.register_signer(SIGNER_NAME, EdenSigner(self.keys))
        runtime.engine.on_reset(lambda tenant: self.keys.persist() if tenant is None else None)
        self.engine.register(self)
        self.engine.register(LazyHooks(BATCH_NAME))

    # --- launch -------------------------------------------------------------------------------

    def launch(
        self,
        tenant: str,
        sub: Subfeature,
        launch: Launch,
        file: FileInput | None,
        *,
        base_url: str,
        choice: LifecycleChoice | None = None,
        batch: str | None = None,
    ) -> Job:
        """Store the file, then the job; nothing is acknowledged before both are written."""
        job_id = self.engine.new_id(tenant)
        stored: dict[str, Any] | None = None
        if file is not None:
            key = f"{job_id}/input"
            with file.blob.open() as handle:
                self.runtime.store.put_blob_stream(key, handle)
            stored = {
                "blob": key,
                "media_type": file.blob.media_type,
                "filename": file.filename,
                "url": file.url,
                "sidecar": file.sidecar,
                "size": file.blob.size,
            }
        chosen = launch.params.get("settings") or {}  # {"google": "latest_long"}: a model
        inputs = [
            {"name": p.name, "provider": p.provider, "model": p.model or _model(chosen, p.provider)}
            for p in launch.providers
        ]
        attrs = {
            "subfeature": sub.path,
            "params": _jsonable(launch.params),
            "file": stored,
            "base_url": base_url.rstrip("/"),
            "batch": batch,
        }

        def submit(hold: bool) -> Job:
            try:
                return self.engine.submit(
                    tenant,
                    NAME,
                    inputs=inputs,
                    attrs=attrs,
                    profile=choice.profile if choice else None,
                    overrides=choice.overrides if choice else None,
                    job_id=job_id,
                    hold=hold,
                )
            except ValueError as exc:  # a bad lifecycle override from X-Mock-Lifecycle
                raise EdenError(400, {"non_field_errors": [str(exc)]}) from None

        job = submit_after_model(self.runtime, submit)
        return job

    # --- read ---------------------------------------------------------------------------------

    def find(self, tenant: str, sub: Subfeature, public_id: str) -> Job:
        job = self.engine.get(public_id, tenant)
        if job is None or job.provider != NAME or job.attrs.get("subfeature") != sub.path:
            raise not_found()
        return job

    def get(self, job: Job, view: View) -> dict[str, Any]:
        """The GET body; also refreshes the state the list shows (the quirk above)."""
        state = self.engine.view(job)
        results = self.engine.results(job, state)
        body = job_body(job, state, results, view)
        self._refresh(job, state, results)
        return body

    def reader(self, job: Job, **query: bool | None) -> View:
        """How to show ``job``: the GET's query parameters, else what the launch asked.

        ``response_as_dict`` is a GET parameter only (reference §3): LangChain sends
        ``"response_as_dict": false`` in every launch body and then reads ``results`` as a
        dict keyed by provider, so the launch's value must not shape the GET."""
        params = job.attrs.get("params", {})

        def pick(name: str, default: bool) -> bool:
            value = query.get(name)
            if value is not None:
                return value
            return bool(params.get(name, default))

        return View(
            as_dict=query.get("response_as_dict") is not False,
            show_original=pick("show_original_response", False),
            show_base64=pick("show_base_64", True) and bool(params.get("show_base_64", True)),
            final=self.final,
        )

    def list_jobs(self, tenant: str, sub: Subfeature) -> list[dict[str, Any]]:
        rows = []
        for job in self.engine.list_jobs(tenant, NAME, newest_first=True):
            if job.attrs.get("subfeature") != sub.path or job.attrs.get("batch"):
                continue
            state = self.engine.view(job)
            hooked = job.notified and job.attrs.get("params", {}).get("webhook_receiver")
            if self.live_list or hooked:
                status, ok = eden_status(state), nb_ok(state, self.engine.results(job, state))
            else:
                seen = job.attrs.get("refreshed") or {}
                status, ok = seen.get("state", "processing"), seen.get("nb_ok", 0)
            rows.append(
                {
                    "providers": ",".join(i["name"] for i in job.inputs),
                    "nb": len(job.inputs),
                    "nb_ok": ok,
                    "public_id": job.id,
                    "state": status,
                    "created_at": iso(job.created_at),
                }
            )
        return rows

    def delete_all(self, tenant: str, sub: Subfeature) -> int:
        deleted = 0
        for job in self.engine.list_jobs(tenant, NAME):
            if job.attrs.get("subfeature") == sub.path and not job.attrs.get("batch"):
                self.engine.delete(job)
                deleted += 1
        return deleted

    def resource(self, public_id: str, name: str) -> tuple[bytes, str] | None:
        """A generated file (synthesised audio, a video, a redacted document) of a job; any
        tenant's, as a bucket URL is readable by whoever holds it."""
        job = self.engine.get(public_id)
        if job is None or job.provider != NAME or "/" in name or name.startswith("."):
            return None
        data = self.runtime.store.get_blob(f"{job.id}/resources/{name}")
        if data is None:
            return None
        return data, mimetypes.guess_type(name)[0] or "application/octet-stream"

    def _refresh(self, job: Job, state: JobState, results: Mapping[int, Any]) -> None:
        seen = {"state": eden_status(state), "nb_ok": nb_ok(state, results)}
        if job.attrs.get("refreshed") != seen:
            self.engine.set_attrs(job, refreshed=seen)

    # --- engine hooks -------------------------------------------------------------------------

    def compute_result(self, job: Job, index: int) -> Any:
        # Imported here: builders pull in torch and the decoders, which start-up must not pay.
        from .features import Call, FeatureError, Input, builder

        item = job.inputs[index]
        call = Call(
            subfeature=job.attrs["subfeature"],
            provider=item["provider"],
            model=item["model"],
            params=job.attrs["params"],
            seed=job.plan.seed,
            public_id=job.id,
            resources=self._sink(job, item["name"]),
        )
        file = job.attrs.get("file")
        data = None
        if file is not None:
            data = self.runtime.store.get_blob(file["blob"])
            if data is None:
                return {"failure": {"type": "ProviderException", "message": "Input file lost"}}
        source = Input(
            data=data,
            media_type=file["media_type"] if file else None,
            filename=file["filename"] if file else None,
            url=file["url"] if file else None,
            sidecar=file["sidecar"] if file else None,
        )
        try:
            out = builder(call.subfeature)(call, source, self.runtime.inference)
        except FeatureError as exc:
            return {"failure": {"type": exc.type, "message": exc.message}}
        return {
            "fields": out.fields,
            "original_response": out.original_response,
            "cost": round(float(out.cost), 6),
        }

    def _sink(self, job: Job, provider: str) -> Any:
        safe = provider.replace("/", "_")

        def store(name: str, data: bytes, content_type: str) -> str:
            filename = f"{safe}-{name}"
            self.runtime.store.put_blob(f"{job.id}/resources/{filename}", data)
            return f"{job.attrs['base_url']}/_mock/edenai/resources/{job.id}/{filename}"

        return store

    def notifications(self, job: Job, view: JobState) -> Sequence[Notification]:
        """The signed webhook to ``webhook_receiver`` (§6); a batch child may also end its batch."""
        out = []
        results = self.runtime.store.get_results(job.id)
        params = job.attrs.get("params", {})
        receiver = params.get("webhook_receiver")
        if receiver:
            body = job_body(job, view, results, self.reader(job))
            out.append(self._webhook(receiver, body, params))
        batch = job.attrs.get("batch")
        if batch and (parent := self.engine.get(batch, job.tenant)) is not None:
            self.maybe_end_batch(parent)
        return out

    def _webhook(self, url: str, body: dict[str, Any], params: Mapping[str, Any]) -> Notification:
        payload = dict(body)
        if not params.get("send_webhook_data", True):
            payload.pop("results", None)
        payload["users_webhook_parameters"] = params.get("users_webhook_parameters")
        return Notification(
            url=str(url),
            event=f"edenai.job.{payload.get('status', 'finished')}",
            body=json.dumps(payload, indent=2),
            signer=SIGNER_NAME,
        )

    # --- batches ------------------------------------------------------------------------------

    def find_batch(self, tenant: str, sub: Subfeature, name: str) -> Job | None:
        for job in self.engine.list_jobs(tenant, BATCH_NAME):
            if job.attrs.get("name") == name and job.attrs.get("subfeature") == sub.path:
                return job
        return None

    def new_batch_id(self, tenant: str, sub: Subfeature, name: str) -> str:
        """Reserve the batch's id (its children name it before it is stored)."""
        if self.find_batch(tenant, sub, name) is not None:
            raise bad_request("name", f"A batch job named {name!r} already exists.")
        return self.engine.new_id(tenant)

    def store_batch(
        self,
        tenant: str,
        sub: Subfeature,
        batch_id: str,
        name: str,
        request: Mapping[str, Any],
        entries: list[dict[str, Any]],
        base_url: str,
    ) -> Job:
        """Store the batch with its children, then end it at once if they all have ended."""
        attrs = {
            "name": name,
            "subfeature": sub.path,
            "children": [e["public_id"] for e in entries if e.get("public_id")],
            "requests": entries,
            "base_url": base_url.rstrip("/"),
            "webhook": {
                "webhook_receiver": request.get("webhook_receiver"),
                "users_webhook_parameters": request.get("users_webhook_parameters"),
                "send_webhook_data": request.get("send_webhook_data", True),
            },
        }
        batch = self.engine.submit(tenant, BATCH_NAME, attrs=attrs, job_id=batch_id)
        self.maybe_end_batch(batch)
        return batch

    def maybe_end_batch(self, batch: Job) -> None:
        """Send the batch webhook once every child has ended; exactly once, whoever calls.

        Both the request that stores the batch and each child's settle call this; the first
        caller to see every child ended claims the batch (a locked write of ``ended``) and
        puts the delivery in the outbox, later callers find it claimed.
        """
        if batch.attrs.get("ended"):
            return
        children = self.engine.children(batch)
        if not all(self.engine.view(c).terminal for c in children):
            return
        claimed: list[bool] = []

        def claim(current: Job) -> Job:
            if current.attrs.get("ended"):
                return current
            claimed.append(True)
            return replace(current, attrs={**current.attrs, "ended": True})

        batch = self.engine.update(batch, claim)
        if not claimed:
            return
        for note in self._batch_webhook(batch):
            delivery = self.runtime.outbox.make(
                tenant=batch.tenant,
                job_id=batch.id,
                event=note.event,
                url=note.url,
                body=note.body,
                signer=note.signer,
            )
            self.runtime.outbox.enqueue(delivery)

    def batch_page(
        self, batch: Job, *, page: int, status: str | None, public_id: str | None, name: str | None
    ) -> dict[str, Any]:
        rows = [r for r in self._batch_rows(batch) if _matches(r, status, public_id, name)]
        total = len(rows)
        last = max(1, -(-total // BATCH_PAGE_SIZE))
        page = max(1, page)
        start = (page - 1) * BATCH_PAGE_SIZE
        chunk = rows[start : start + BATCH_PAGE_SIZE]
        base = f"{batch.attrs.get('base_url', '')}"
        return {
            "total": total,
            "current_page": page,
            "last_page": last,
            "per_page": BATCH_PAGE_SIZE,
            "From": start + 1 if chunk else None,
            "to": start + len(chunk) if chunk else None,
            "prev_page_url": f"{base}?page={page - 1}" if page > 1 else None,
            "next_page_url": f"{base}?page={page + 1}" if page < last else None,
            "requests": chunk,
            "status": self._batch_status(batch),
            "created": iso(batch.created_at),
            "updated": iso(self._batch_updated(batch)),
        }

    def delete_batch(self, batch: Job) -> None:
        for child in self.engine.children(batch):
            self.engine.delete(child)
        self.engine.delete(batch)

    def _batch_rows(self, batch: Job) -> list[dict[str, Any]]:
        rows = []
        for entry in batch.attrs.get("requests", []):
            public_id = entry.get("public_id")
            child = self.engine.get(public_id) if public_id else None
            if child is None:
                rows.append(
                    {
                        "public_id": public_id,
                        "status": "failed",
                        "name": entry.get("name"),
                        "errors": entry.get("errors"),
                        "response": None,
                    }
                )
                continue
            state = self.engine.view(child)
            results = self.engine.results(child, state)
            body = job_body(child, state, results, self.reader(child))
            status = body["status"]
            if status == "finished":
                status = "succeeded" if nb_ok(state, results) else "failed"
            rows.append(
                {
                    "public_id": child.id,
                    "status": status,
                    "name": entry.get("name"),
                    "errors": None if status != "failed" else body.get("error"),
                    "response": body if body["status"] != "processing" else None,
                }
            )
        return rows

    def _batch_status(self, batch: Job) -> str:
        children = self.engine.children(batch)
        done = all(self.engine.view(c).terminal for c in children)
        return "finished" if done else "processing"

    def _batch_updated(self, batch: Job) -> float:
        ends = [self.engine.view(c).ended_at for c in self.engine.children(batch)]
        return max([batch.created_at, *[e for e in ends if e is not None]])

    def _batch_webhook(self, batch: Job) -> list[Notification]:
        hook = batch.attrs.get("webhook") or {}
        receiver = hook.get("webhook_receiver")
        if not receiver:
            return []
        rows = self._batch_rows(batch)
        body = {"job_id": batch.attrs["name"], "status": "finished", "requests": rows}
        return [self._webhook(receiver, body, hook)]


def _matches(
    row: Mapping[str, Any], status: str | None, public_id: str | None, name: str | None
) -> bool:
    return (
        (status is None or row["status"] == status)
        and (public_id is None or row["public_id"] == public_id)
        and (name is None or row["name"] == name)
    )


def _model(settings: Mapping[str, Any], provider: str) -> str | None:
    """The model ``settings`` names for ``provider`` (the result stays keyed by provider)."""
    model = settings.get(provider)
    return model if isinstance(model, str) and model else None


def _jsonable(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value
