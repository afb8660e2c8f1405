"""The xAI Batch REST API under ``/v1`` (``contracts/xai.yaml``), plus the result media route.

Views authenticate, check the request against the contract, call :class:`~.backend.XaiBackend`
and render; the gRPC face (:mod:`.grpc_service`) calls the same backend. Cancel is the Google
custom-method route ``/v1/batches/{batch_id}:cancel``: the colon sits inside the last segment and
must not become part of the id (reference §2).
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request, send_file
from werkzeug.routing import BaseConverter

from ...validation import ContractValidator, Violation, load_json
from ..common import contract_gate, enter_tenant, json_response, note_request, runtime
from ..inputs import (
    FormError,
    capped_body,
    parse_form,
    query_problem,
    read_lifecycle,
    too_deep_message,
)
from .backend import NAME, XaiBackend
from .errors import XaiError, error_response
from .media import MEDIA_PREFIX, VIDEO_SAMPLE, image_png
from .render import batch_json, metadata_json, result_json

__all__ = ["PREFIX", "IdConverter", "bp", "media_bp", "render_http_error"]

PREFIX = "/v1"
MAX_BODY_BYTES = 25 * 1000 * 1000
_NO_KEY = (
    "No API key provided. Specify your API key in an Authorization header using Bearer auth "
    "(Authorization: Bearer <your-key>). You can obtain an API key from https://console.x.ai."
)


class IdConverter(BaseConverter):
    """A batch id never holds a colon: ``/v1/batches/{id}:cancel`` is the custom method, so the
    get-batch rule must not match it (a GET there is then a 405 allowing POST, and OPTIONS lists
    no GET)."""

    regex = "[^/:]+"


bp = Blueprint("xai", __name__, url_prefix=PREFIX)
media_bp = Blueprint("xai_media", __name__, url_prefix=MEDIA_PREFIX)


def backend() -> XaiBackend:
    found: XaiBackend = current_app.extensions["mockserver.xai"]
    return found


def tenant() -> str:
    found: str = g.xai_tenant
    return found


def style() -> str:
    return runtime().settings.xai_time_format


def masked(key: str) -> str:
    """A key as xAI's error message shows it: its ends, never the whole key."""
    if len(key) <= 8:
        return "***"
    return key[:4] + "*" * min(max(len(key) - 8, 3), 32) + key[-4:]


@bp.before_request
def _authenticate() -> Response | None:
    """``Authorization: Bearer <key>``; a missing or wrong key is a 400, as live (§9)."""
    req = request._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup
    endpoint = req.endpoint
    note_request(NAME, endpoint.rpartition(".")[2] if endpoint else "unknown")
    g.xai_request_id = str(uuid.uuid4())
    header = req.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        return error_response(400, _NO_KEY)
    allowed = runtime().settings.api_keys
    if allowed and key not in allowed:
        return error_response(
            400,
            f"Incorrect API key provided: {masked(key)}. "
            "You can obtain an API key from https://console.x.ai.",
        )
    g.xai_tenant = key
    enter_tenant(key)
    return None


@bp.after_request
def _headers(response: Response) -> Response:
    """Headers every live response carried; the TS SDK reads ``x-request-id``."""
    return _with_headers(response)


def _with_headers(response: Response) -> Response:
    response.headers["x-request-id"] = g.get("xai_request_id") or str(uuid.uuid4())
    response.headers["x-zero-data-retention"] = "false"
    response.headers["x-data-retention"] = "general"
    return response


@bp.errorhandler(UnicodeDecodeError)
def _bad_query(exc: UnicodeDecodeError) -> Response:
    problem = query_problem()
    if problem is None:
        raise exc
    return error_response(400, problem)


@bp.errorhandler(RecursionError)
def _too_deep(exc: RecursionError) -> Response:
    return error_response(400, too_deep_message())


@bp.errorhandler(XaiError)
def _xai_error(exc: XaiError) -> Response:
    if exc.violations:
        g.mock_violations = [v.to_json() for v in exc.violations]
    return exc.response()


def render_http_error(status: int, message: str) -> Response:
    """Routing errors (unknown path or method) under ``/v1`` in xAI's shape."""
    if status == 405:
        message = f"Method {request.method} is not allowed on {request.path}"
    return _with_headers(error_response(status, message))


# --- request checking ----------------------------------------------------------------------


def validator() -> ContractValidator:
    return ContractValidator.for_contract("xai")


def _invalid(violations: list[Violation]) -> XaiError:
    first = violations[0]
    more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
    where = f" at {first.pointer}" if first.pointer else ""
    return XaiError(400, f"Invalid request{where}: {first.message}{more}", violations)


def _check(body: Any = None) -> None:
    """Validate the query (and JSON body) against the contract; 400 with every violation."""
    kwargs: dict[str, Any] = {}
    if request.method == "POST" and request.mimetype == "application/json":
        kwargs["body"] = body
        kwargs["content_type"] = "application/json"
    else:
        kwargs["content_type"] = request.mimetype or None
    violations = validator().validate_request(
        request.method,
        request.path,
        query={k: request.args.getlist(k) for k in request.args},
        **kwargs,
    )
    contract_gate(violations, lambda: _invalid(violations))


def _json_body() -> Any:
    if request.mimetype != "application/json":
        raise XaiError(
            400, f"Content-Type must be application/json, got {request.mimetype or 'none'!r}"
        )
    raw = capped_body(MAX_BODY_BYTES)
    if raw is None:  # 25 MB per request payload (reference §9)
        raise XaiError(413, "Request payload exceeds the maximum size of 25 MB")
    try:
        body = load_json(raw or b"null")
    except ValueError as exc:
        raise XaiError(400, f"Failed to parse the request body as JSON: {exc}") from None
    _check(body)
    if not isinstance(body, dict):
        raise XaiError(400, "The request body must be a JSON object")
    return body


def _limit() -> int | None:
    _check()
    raw = request.args.get("limit") or request.args.get("page_size")
    return None if raw is None else int(raw)


def _choice() -> Any:
    try:
        return read_lifecycle()
    except ValueError as exc:
        raise XaiError(400, str(exc)) from None


# --- batches ---------------------------------------------------------------------------------


@bp.post("/batches")
def create_batch() -> Response:
    body = _json_body()
    batch = backend().create(tenant(), body.get("name"), body.get("input_file_id"), _choice())
    return jsonify(batch_json(backend().info(batch), style()))


@bp.get("/batches")
def list_batches() -> Response:
    limit = _limit()
    page = backend().list(tenant(), limit, request.args.get("pagination_token") or None)
    return jsonify(
        batches=[batch_json(backend().info(b), style()) for b in page.rows],
        pagination_token=page.token,
    )


@bp.get("/batches/<xai_id:batch_id>")
def get_batch(batch_id: str) -> Response:
    xai = backend()
    return json_response(batch_json(xai.info(xai.get(tenant(), batch_id)), style()))


@bp.post("/batches/<batch_id>:cancel")
def cancel_batch(batch_id: str) -> Response:
    _check()
    batch = backend().cancel(tenant(), batch_id)
    return jsonify(batch_json(backend().info(batch), style()))


@bp.post("/batches/<batch_id>/requests")
def add_batch_requests(batch_id: str) -> Response:
    body = _json_body()
    backend().add(tenant(), batch_id, body.get("batch_requests"), _choice())
    return jsonify({})


@bp.get("/batches/<batch_id>/requests")
def list_batch_requests(batch_id: str) -> Response:
    limit = _limit()
    page = backend().requests_page(
        tenant(), batch_id, limit, request.args.get("pagination_token") or None
    )
    return jsonify(
        batch_request_metadata=[metadata_json(row, style()) for row in page.rows],
        pagination_token=page.token,
    )


@bp.get("/batches/<batch_id>/results")
def list_batch_results(batch_id: str) -> Response:
    limit = _limit()
    page = backend().results_page(
        tenant(), batch_id, limit, request.args.get("pagination_token") or None
    )
    base = request.host_url
    return jsonify(
        results=[result_json(row, base) for row in page.rows], pagination_token=page.token
    )


# --- files -----------------------------------------------------------------------------------


@bp.post("/files")
def upload_file() -> Response:
    """Multipart ``file`` (plus optional ``purpose`` and ``expires_after`` seconds)."""
    _check()
    try:
        form, files = parse_form()
    except FormError as exc:
        raise XaiError(400, f"Failed to parse the multipart form: {exc}") from None
    upload = files.get("file")
    if upload is None:
        raise XaiError(400, "Missing multipart field 'file'")
    expires_after = form.get("expires_after")
    seconds = None
    if expires_after:
        try:
            seconds = int(expires_after)
        except ValueError:
            raise XaiError(
                400, f"expires_after must be an integer, got {expires_after!r}"
            ) from None
        if seconds <= 0:
            raise XaiError(400, "expires_after must be a positive number of seconds")
    job = backend().upload(
        tenant(),
        upload.filename or "upload.jsonl",
        upload.stream,  # type: ignore[arg-type]
        form.get("purpose") or "batch",
        seconds,
    )
    return jsonify(file_json(job))


@bp.get("/files/<file_id>")
def get_file(file_id: str) -> Response:
    return jsonify(file_json(backend().file(tenant(), file_id)))


def file_json(job: Any) -> dict[str, Any]:
    expires = job.attrs.get("expires_at")
    return {
        "id": job.id,
        "object": "file",
        "bytes": job.attrs["bytes"],
        "created_at": int(job.created_at),
        "expires_at": None if expires is None else int(expires),
        "filename": job.attrs["filename"],
        "purpose": job.attrs["purpose"],
    }


# --- result media ----------------------------------------------------------------------------


@media_bp.get("/<batch_id>/<path:rest>")
def media(batch_id: str, rest: str) -> Response:
    """The bytes an image or video result's URL points at (no auth, like a signed URL).

    ``rest`` is ``{request_id}/{n}.{png|mp4}``; a request id may itself contain slashes.
    """
    note_request(NAME, "media")
    request_id, _, name = rest.rpartition("/")
    stem, _, ext = name.partition(".")
    batch = runtime().engine.get(batch_id)
    if batch is None or batch.provider != NAME or not stem.isdigit() or ext not in ("png", "mp4"):
        return error_response(404, f"no media {name} for {batch_id}/{request_id}")
    if not backend().has_request(batch, request_id):
        return error_response(404, f"Batch request {request_id} not found in batch {batch_id}")
    if ext == "mp4":
        return send_file(VIDEO_SAMPLE, mimetype="video/mp4")
    png = image_png(batch_id, request_id, int(stem))
    return Response(png, mimetype="image/png")
