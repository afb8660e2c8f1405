"""The gRPC face: ``xai_api.BatchMgmt`` (all 8 RPCs) over the same backend as REST.

The message and servicer classes are the generated modules of the official ``xai-sdk`` package
(an optional dependency, ``pip install mockserver[xai]``; nothing is vendored or generated
here), so the wire is the SDK's own (reference §11.5). The SDK picks its proto modules by the
installed protobuf major version; importing them through ``xai_sdk.proto`` gets the same ones.

Auth is the ``authorization: Bearer <key>`` call metadata the SDK's interceptors send; the key
is the tenant, exactly as over REST, so a batch created over one transport is read over the
other. Failures abort with the gRPC status mirroring the REST status (:data:`.errors.GRPC_CODES`).
Every call is recorded in the request journal like an HTTP request.

Conversions: a ``GetCompletionsRequest`` becomes the REST chat body (messages with string
content, other fields by their proto names) and back; results go from the REST chat completion
to ``GetChatCompletionResponse`` (finish reasons ``stop``/``length`` → ``REASON_STOP``/
``REASON_MAX_LEN``); a failed row's error is a ``google.rpc.Status`` whose code says why
(``RequestRow.code``), which the SDK sorts into ``.failed``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from concurrent import futures
from dataclasses import dataclass
from typing import Any, TypeVar

from ...runtime import Runtime
from ..common import LifecycleChoice
from .backend import Page, RequestRow, XaiBackend
from .catalog import CHAT, IMAGE_EDIT, IMAGE_GENERATION, VIDEO_EXTENSION, VIDEO_GENERATION
from .errors import XaiError
from .items import ItemError, build
from .render import absolute_media

__all__ = ["GrpcServer", "available"]

log = logging.getLogger("mockserver")
T = TypeVar("T")


@dataclass(frozen=True)
class Caller:
    """Who made an RPC, and the lifecycle a ``lifecycle`` fault gave what it creates."""

    tenant: str
    lifecycle: LifecycleChoice | None = None


_ROLES = {1: "user", 2: "assistant", 3: "system", 4: "function", 5: "tool", 6: "developer"}
_ROLE_NUMBERS = {name: number for number, name in _ROLES.items()}
#: BatchRequest oneof field -> REST request key.
_REQUEST_FIELDS = {
    "completion_request": CHAT,
    "image_request": IMAGE_GENERATION,
    "video_request": VIDEO_GENERATION,
    "video_extension_request": VIDEO_EXTENSION,
}
_STATE_NAMES = {1: "pending", 2: "succeeded", 3: "cancelled", 4: "failed"}
_STATUS_CODES = {
    "OK": 0,
    "CANCELLED": 1,
    "INVALID_ARGUMENT": 3,
    "DEADLINE_EXCEEDED": 4,
    "INTERNAL": 13,
}
MAX_MESSAGE_BYTES = 64 << 20


def available() -> bool:
    """Whether the optional ``xai-sdk`` (with grpcio and a supported protobuf) is importable."""
    try:
        import grpc  # noqa: F401
        from xai_sdk.proto import batch_pb2, batch_pb2_grpc  # noqa: F401
    except (ImportError, ValueError):  # ValueError: an unsupported protobuf major version
        return False
    return True


class GrpcServer:
    """A ``grpc.server`` serving BatchMgmt for one runtime; ``start`` returns the bound port."""

    def __init__(self, runtime: Runtime, backend: XaiBackend) -> None:
        self.runtime = runtime
        self.backend = backend
        self.port: int | None = None
        self._server: Any = None

    def start(self, host: str, port: int) -> int:
        import grpc
        from xai_sdk.proto import batch_pb2_grpc

        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=16, thread_name_prefix="mockserver-grpc"),
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                ("grpc.so_reuseport", 0),
            ],
        )
        batch_pb2_grpc.add_BatchMgmtServicer_to_server(_servicer(self), server)
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        try:
            bound = server.add_insecure_port(address)
        except RuntimeError as exc:  # grpcio >= 1.60 raises instead of returning 0
            raise OSError(f"gRPC cannot bind {address}: {exc}") from None
        if not bound:
            raise OSError(f"gRPC cannot bind {address}")
        server.start()
        self._server, self.port = server, int(bound)
        return self.port

    def stop(self, grace: float = 1.0) -> None:
        if self._server is not None:
            self._server.stop(grace).wait(grace + 1)
            self._server = None

    # --- calls -----------------------------------------------------------------------------------

    def call(
        self, name: str, context: Any, work: Callable[[Caller], T], batch_id: str | None = None
    ) -> T:
        """Authenticate, apply the fault rules, run ``work(caller)``, map XaiError to a status,
        journal the call. ``batch_id`` (the request's) is what a rule's ``job_id`` matches."""
        import grpc

        started = time.perf_counter()
        tenant: str | None = None
        status = 200
        fault: dict[str, Any] | None = None
        try:
            tenant = self._tenant(context)
            fault, refusal, choice = self._fault(name, tenant, batch_id or None)
            if refusal is not None:
                raise refusal
            return work(Caller(tenant, choice))
        except XaiError as exc:
            status = exc.status
            context.abort(getattr(grpc.StatusCode, exc.grpc_code), exc.message)
            raise  # abort raises; this line is for type checkers
        finally:
            self.runtime.record_request(
                {
                    "at": time.time(),
                    "method": "POST",
                    "path": f"/xai_api.BatchMgmt/{name}",
                    "query": "",
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                    "tenant": tenant,
                    "provider": "xai",
                    "operation": name,
                    "transport": "grpc",
                    "violations": [],
                    "fault": fault,
                }
            )

    def _fault(
        self, name: str, tenant: str, batch_id: str | None
    ) -> tuple[dict[str, Any] | None, XaiError | None, LifecycleChoice | None]:
        """Apply the fault rule for this RPC, if one fires (operation: the RPC's name):
        (the journal's record of it, the error to abort with, the lifecycle to give the
        batch or requests the call creates).

        ``status`` aborts with the gRPC code of that HTTP status (503: UNAVAILABLE, which the
        SDK retries; 429: RESOURCE_EXHAUSTED); ``reset`` and ``timeout`` (after its delay) abort
        with UNAVAILABLE, the status a dropped connection surfaces as; ``latency`` waits;
        ``lifecycle`` shapes what ``CreateBatch`` / ``AddBatchRequests`` create, as over REST;
        an ordered scenario's out-of-order call aborts with INTERNAL (HTTP answers 500). The
        other kinds concern HTTP bodies, webhooks or streams and do nothing here.
        """
        from ...engine.faults import Call
        from ...faultwire import describe_fault

        fired = self.runtime.faults.decide(
            Call("xai", name, tenant, batch_id, self.runtime.engine.now(tenant))
        )
        if fired is None:
            return None, None, None
        described = describe_fault(fired)
        if fired.rule is None:  # an ordered scenario played out of order: loudly, as over HTTP
            return described, XaiError(500, f"mockserver scenario: {fired.describe()}"), None
        action = fired.rule.action
        refusal = None
        if action.kind == "lifecycle":
            return described, None, LifecycleChoice(action.profile, action.overrides)
        if action.kind == "latency":
            time.sleep(fired.delay)
        elif action.kind == "timeout":
            time.sleep(fired.delay)
            refusal = XaiError(503, "mockserver fault: connection dropped")
        elif action.kind == "reset":
            refusal = XaiError(503, "mockserver fault: connection reset")
        elif action.kind == "status":
            message = action.message or f"mockserver fault: {action.status}"
            refusal = XaiError(action.status, message)
        return described, refusal, None

    def _tenant(self, context: Any) -> str:
        metadata = {k.lower(): v for k, v in context.invocation_metadata()}
        scheme, _, key = str(metadata.get("authorization", "")).partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise XaiError(400, "No API key provided in the authorization metadata.")
        allowed = self.runtime.settings.api_keys
        if allowed and key not in allowed:
            raise XaiError(400, "Incorrect API key provided.")
        return key

    def base_url(self) -> str:
        settings = self.runtime.settings
        host = f"[{settings.host}]" if ":" in settings.host else settings.host
        return f"http://{host}:{settings.port}"


def _servicer(server: GrpcServer) -> Any:
    """The BatchMgmt servicer (built here so the optional imports happen only when serving)."""
    from google.protobuf import empty_pb2
    from xai_sdk.proto import batch_pb2, batch_pb2_grpc

    backend = server.backend
    convert = _Converter(server)

    class BatchMgmt(batch_pb2_grpc.BatchMgmtServicer):  # type: ignore[misc]
        def CreateBatch(self, request: Any, context: Any) -> Any:  # noqa: N802
            def work(caller: Caller) -> Any:
                file_id = request.input_file_id or None
                created = backend.create(caller.tenant, request.name, file_id, caller.lifecycle)
                return convert.batch(created)

            return server.call("CreateBatch", context, work)

        def GetBatch(self, request: Any, context: Any) -> Any:  # noqa: N802
            return server.call(
                "GetBatch",
                context,
                lambda caller: convert.batch(backend.get(caller.tenant, request.batch_id)),
                request.batch_id,
            )

        def ListBatches(self, request: Any, context: Any) -> Any:  # noqa: N802
            def work(caller: Caller) -> Any:
                page = backend.list(caller.tenant, request.limit or None, _token(request))
                batches = [convert.batch(b) for b in page.rows]
                return _with_token(batch_pb2.ListBatchesResponse(batches=batches), page)

            return server.call("ListBatches", context, work)

        def CancelBatch(self, request: Any, context: Any) -> Any:  # noqa: N802
            return server.call(
                "CancelBatch",
                context,
                lambda caller: convert.batch(backend.cancel(caller.tenant, request.batch_id)),
                request.batch_id,
            )

        def AddBatchRequests(self, request: Any, context: Any) -> Any:  # noqa: N802
            def work(caller: Caller) -> Any:
                parsed = [
                    convert.item(r, f"batch_requests[{n}]")
                    for n, r in enumerate(request.batch_requests)
                ]
                backend.add_items(caller.tenant, request.batch_id, parsed, caller.lifecycle)
                return empty_pb2.Empty()

            return server.call("AddBatchRequests", context, work, request.batch_id)

        def ListBatchRequestMetadata(self, request: Any, context: Any) -> Any:  # noqa: N802
            def work(caller: Caller) -> Any:
                wanted = frozenset(_STATE_NAMES[s] for s in request.status if s in _STATE_NAMES)
                page = backend.requests_page(
                    caller.tenant,
                    request.batch_id,
                    request.limit or None,
                    _token(request),
                    wanted or None,
                )
                rows = [convert.metadata(row) for row in page.rows]
                out = batch_pb2.ListBatchRequestMetadataResponse(batch_request_metadata=rows)
                return _with_token(out, page)

            return server.call("ListBatchRequestMetadata", context, work, request.batch_id)

        def ListBatchResults(self, request: Any, context: Any) -> Any:  # noqa: N802
            def work(caller: Caller) -> Any:
                page = backend.results_page(
                    caller.tenant, request.batch_id, request.limit or None, _token(request)
                )
                rows = [convert.result(row) for row in page.rows]
                return _with_token(batch_pb2.ListBatchResultsResponse(results=rows), page)

            return server.call("ListBatchResults", context, work, request.batch_id)

        def GetBatchRequestResult(self, request: Any, context: Any) -> Any:  # noqa: N802
            def work(caller: Caller) -> Any:
                row = backend.request_result(
                    caller.tenant, request.batch_id, request.batch_request_id
                )
                out = batch_pb2.GetBatchRequestResultResponse(request=convert.request(row))
                if row.status != "pending":
                    out.result.CopyFrom(convert.result(row))
                return out

            return server.call("GetBatchRequestResult", context, work, request.batch_id)

    return BatchMgmt()


def _token(request: Any) -> str | None:
    """A list request's page token; unset and ``""`` both mean the first page."""
    return (request.pagination_token or None) if request.HasField("pagination_token") else None


def _with_token(response: Any, page: Page) -> Any:
    """Set a list response's ``pagination_token``, left unset on the last page (the SDK reads
    an unset or empty token as "no more pages")."""
    if page.token:
        response.pagination_token = page.token
    return response


class _Converter:
    """Backend values ⇄ protobuf messages."""

    def __init__(self, server: GrpcServer) -> None:
        from google.protobuf import json_format, timestamp_pb2
        from google.rpc import status_pb2
        from xai_sdk.proto import batch_pb2, chat_pb2, image_pb2, usage_pb2, video_pb2

        self.server = server
        self.json_format = json_format
        self.Timestamp = timestamp_pb2.Timestamp
        self.Status = status_pb2.Status
        self.batch_pb2 = batch_pb2
        self.chat_pb2 = chat_pb2
        self.image_pb2 = image_pb2
        self.usage_pb2 = usage_pb2
        self.video_pb2 = video_pb2

    def timestamp(self, value: float) -> Any:
        seconds = int(value)
        return self.Timestamp(seconds=seconds, nanos=int(round((value - seconds) * 1e9)) % 10**9)

    # --- batches -------------------------------------------------------------------------------

    def batch(self, job: Any) -> Any:
        info = self.server.backend.info(job)
        counts = info.counts
        out = self.batch_pb2.Batch(
            batch_id=info.id,
            name=info.name,
            create_time=self.timestamp(info.created_at),
            create_api_key_id=info.key_id,
            state=self.batch_pb2.BatchState(
                num_requests=counts.total,
                num_pending=counts.pending,
                num_success=counts.succeeded,
                num_error=counts.failed,
                num_cancelled=counts.cancelled,
            ),
        )
        if info.expires_at is not None:
            out.expire_time.CopyFrom(self.timestamp(info.expires_at))
        if info.cancelled_at is not None:
            out.cancel_time.CopyFrom(self.timestamp(info.cancelled_at))
        if info.cancel_by_xai_message:
            out.cancel_by_xai_message = info.cancel_by_xai_message
        if info.input_file_id:
            out.input_file_id = info.input_file_id
        return out

    def metadata(self, row: RequestRow) -> Any:
        states = {"pending": 1, "succeeded": 2, "cancelled": 3, "failed": 4}
        out = self.batch_pb2.BatchRequestMetadata(
            batch_request_id=row.id,
            endpoint=self.server.backend.endpoint(row.kind),
            model=row.model,
            state=states[row.status],
            create_time=self.timestamp(row.created_at),
        )
        if row.finished_at is not None:
            out.finish_time.CopyFrom(self.timestamp(row.finished_at))
        return out

    # --- requests ------------------------------------------------------------------------------

    def item(self, request: Any, where: str) -> Any:
        """A ``BatchRequest`` as a backend item (same checks as REST)."""
        field = request.WhichOneof("request")
        if field is None:
            raise XaiError(400, f"{where} has no request (completion_request, image_request, ...)")
        key = _REQUEST_FIELDS[field]
        message = getattr(request, field)
        if key == CHAT:
            body = self.chat_body(message)
        else:
            body = self.json_format.MessageToDict(message, preserving_proto_field_name=True)
            if key == IMAGE_GENERATION and (body.get("image") or body.get("images")):
                key = IMAGE_EDIT
        try:
            return build(
                request.batch_request_id or None, key, body, where, self.server.backend.catalog
            )
        except ItemError as exc:
            raise XaiError(exc.status, exc.message) from None

    def chat_body(self, message: Any) -> dict[str, Any]:
        """A ``GetCompletionsRequest`` as the REST chat body."""
        body: dict[str, Any] = self.json_format.MessageToDict(
            message, preserving_proto_field_name=True
        )
        messages = []
        for m in message.messages:
            parts: list[dict[str, Any]] = []
            for c in m.content:
                kind = c.WhichOneof("content")
                if kind == "text":
                    parts.append({"type": "text", "text": c.text})
                elif kind == "image_url":
                    parts.append({"type": "image_url", "image_url": {"url": c.image_url.image_url}})
            text_only = len(parts) == 1 and parts[0]["type"] == "text"
            entry: dict[str, Any] = {
                "role": _ROLES.get(m.role, "user"),
                "content": parts[0]["text"] if text_only else parts,
            }
            if m.name:
                entry["name"] = m.name
            messages.append(entry)
        body["messages"] = messages
        return body

    def request(self, row: RequestRow) -> Any:
        """A stored request back as a ``BatchRequest`` (GetBatchRequestResult)."""
        out = self.batch_pb2.BatchRequest(batch_request_id=row.id)
        body = dict(row.body or {})
        if row.kind == CHAT:
            out.completion_request.CopyFrom(self.chat_request(body))
        else:
            field = {
                IMAGE_GENERATION: "image_request",
                IMAGE_EDIT: "image_request",
                VIDEO_GENERATION: "video_request",
                VIDEO_EXTENSION: "video_extension_request",
            }[row.kind]
            self.json_format.ParseDict(body, getattr(out, field), ignore_unknown_fields=True)
        return out

    def chat_request(self, body: Mapping[str, Any]) -> Any:
        out = self.chat_pb2.GetCompletionsRequest()
        for m in body.get("messages") or []:
            message = out.messages.add(role=_ROLE_NUMBERS.get(str(m.get("role")), 1))
            content = m.get("content")
            if isinstance(content, str):
                message.content.add(text=content)
            elif isinstance(content, list):
                for part in content:
                    if isinstance(part, dict) and part.get("type") == "text":
                        message.content.add(text=str(part.get("text", "")))
        for name, value in body.items():
            if name == "messages":
                continue
            try:
                self.json_format.ParseDict({name: value}, out, ignore_unknown_fields=True)
            except self.json_format.ParseError:
                continue  # a REST-only field or value with no proto form
        return out

    # --- results -------------------------------------------------------------------------------

    def result(self, row: RequestRow) -> Any:
        out = self.batch_pb2.BatchResult(batch_request_id=row.id)
        if row.result is None:
            code = _STATUS_CODES.get(row.code, 13)
            out.error.CopyFrom(self.Status(code=code, message=row.error or "Request failed"))
            return out
        result = absolute_media(row.kind, row.result, self.server.base_url())
        if row.kind == CHAT:
            out.response.completion_response.CopyFrom(self.completion(result))
        elif row.kind in (IMAGE_GENERATION, IMAGE_EDIT):
            out.response.image_response.CopyFrom(self.image(result))
        else:
            out.response.video_response.CopyFrom(self.video(result))
        return out

    def usage(self, usage: Mapping[str, Any]) -> Any:
        details = usage.get("completion_tokens_details") or {}
        return self.usage_pb2.SamplingUsage(
            completion_tokens=usage.get("completion_tokens", 0),
            reasoning_tokens=details.get("reasoning_tokens", 0),
            prompt_tokens=usage.get("prompt_tokens", 0),
            total_tokens=usage.get("total_tokens", 0),
            prompt_text_tokens=usage.get("prompt_tokens", 0),
            num_sources_used=usage.get("num_sources_used", 0),
            cost_in_usd_ticks=usage.get("cost_in_usd_ticks", 0),
        )

    def completion(self, result: Mapping[str, Any]) -> Any:
        reasons = {"stop": 3, "length": 1, "tool_calls": 4}
        out = self.chat_pb2.GetChatCompletionResponse(
            id=result["id"],
            created=self.timestamp(float(result["created"])),
            model=result["model"],
            system_fingerprint=result.get("system_fingerprint", ""),
            usage=self.usage(result["usage"]),
        )
        for choice in result["choices"]:
            output = out.outputs.add(
                finish_reason=reasons.get(choice["finish_reason"], 3), index=choice["index"]
            )
            output.message.role = 2  # ROLE_ASSISTANT
            output.message.content = choice["message"].get("content") or ""
        return out

    def image(self, result: Mapping[str, Any]) -> Any:
        out = self.image_pb2.ImageResponse(
            model=result.get("model", ""), usage=self.usage(result.get("usage") or {})
        )
        for entry in result["data"]:
            image = out.images.add(respect_moderation=True)
            if "b64_json" in entry:
                image.base64 = entry["b64_json"]
            else:
                image.url = entry["url"]
        return out

    def video(self, result: Mapping[str, Any]) -> Any:
        video = result["video"]
        out = self.video_pb2.VideoResponse(
            model=result.get("model", ""), usage=self.usage(result.get("usage") or {})
        )
        out.video.url = video["url"]
        out.video.duration = video["duration"]
        out.video.respect_moderation = video.get("respect_moderation", True)
        return out
