"""Hugging Face faces over HTTP: the task endpoint, dataset bulk jobs, and the bulk stream view.

Paths (``../shared/reference/huggingface-bulk.md``): ``POST /models/{model_id}`` (the legacy
``api-inference`` host), ``POST /hf-inference/models/{model_id}`` (the router's path, which
current ``huggingface_hub`` targets), ``POST /bulk/run/{cpu|gpu}/{model_id}``,
``GET /bulk/status/{jobid}`` and the websocket ``/bulk/stream/{cpu|gpu}/{model_id}``. Model ids
keep their slash, so each route takes the rest of the path as the id.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from ...faultwire import SCENARIO_HEADER, describe_fault, header_plan
from ...validation import load_json
from ...websocket import HandshakeError, ServerWebSocket
from ..common import note_request, runtime
from ..inputs import capped_body, query_problem, read_lifecycle, too_deep_message
from .backend import HfBackend
from .datasets import DatasetError
from .errors import HfError, bad_request
from .session import StreamSession
from .tasks import parse_audio, parse_json

__all__ = ["NAME", "PREFIXES", "bp", "render_http_error"]

NAME = "huggingface"
PREFIXES = ("/models", "/hf-inference", "/bulk")
_INVALID_TOKEN = "Authorization header is correct, but the token seems invalid"
_MISSING_TOKEN = "Invalid credentials in Authorization header"
ANONYMOUS = "anonymous"
#: Task bodies (JSON, or raw audio for speech recognition) and bulk-job bodies.
MAX_BODY = 100 << 20

bp = Blueprint("huggingface", __name__)


def backend() -> HfBackend:
    found: HfBackend = current_app.extensions["mockserver.huggingface"]
    return found


@bp.errorhandler(UnicodeDecodeError)
def _bad_query(exc: UnicodeDecodeError) -> Response:
    problem = query_problem()
    if problem is None:
        raise exc
    return _headers(bad_request(problem).response())


@bp.errorhandler(RecursionError)
def _too_deep(exc: RecursionError) -> Response:
    return _headers(bad_request(too_deep_message()).response())


@bp.errorhandler(HfError)
def _hf_error(exc: HfError) -> Response:
    return _headers(exc.response())


@bp.errorhandler(DatasetError)
def _dataset_error(exc: DatasetError) -> Response:
    return _headers(HfError(exc.status, exc.message).response())


def render_http_error(status: int, message: str) -> Response:
    """Routing errors (unknown path, wrong method) under the HF prefixes, in HF's shape."""
    if status == 405:
        message = f"Method {request.method} is not allowed on {request.path}"
    return _headers(HfError(status, message).response())


def _headers(response: Response) -> Response:
    """The headers the community inference images added to every answer."""
    started = g.get("hf_started")
    if started is not None:
        response.headers["x-compute-time"] = f"{time.perf_counter() - started:.3f}"
    response.headers["x-compute-type"] = g.get("hf_compute", "cpu")
    return response


def _tenant(optional: bool = False) -> str:
    """``Authorization: Bearer <token>``. Without a header the legacy API served anonymous
    (rate-limited) calls; with ``--api-keys`` set a token is required."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    allowed = runtime().settings.api_keys
    if not header:
        if allowed and not optional:
            raise HfError(401, _MISSING_TOKEN)
        return ANONYMOUS
    if scheme.lower() != "bearer" or not token:
        raise HfError(401, _MISSING_TOKEN)
    if allowed and token not in allowed:
        raise HfError(400, _INVALID_TOKEN)
    return token


def _body() -> bytes:
    """The raw body, at most ``MAX_BODY`` bytes (never read further)."""
    data = capped_body(MAX_BODY)
    if data is None:
        raise HfError(413, f"Payload too large: the request body is over {MAX_BODY >> 20} MB")
    return data


def _json_body() -> Any:
    """The body as JSON whatever its content type: the docs' samples post ``json.dumps``
    output with no ``Content-Type`` at all."""
    raw = _body()
    try:
        return load_json(raw)
    except ValueError as exc:
        raise bad_request(f"The request body is not valid JSON: {exc}") from None


# --- the task endpoint -----------------------------------------------------------------------


@bp.post("/models/<path:model_id>")
def task_legacy(model_id: str) -> Response:
    return _task(model_id, router=False)


@bp.post("/hf-inference/models/<path:model_id>")
def task_router(model_id: str) -> Response:
    return _task(model_id, router=True)


def _task(model_id: str, *, router: bool) -> Response:
    g.hf_started = time.perf_counter()
    tenant = _tenant()
    note_request(NAME, "task", tenant)
    model = backend().model(model_id)
    shape = backend().zero_shot_shape(router, request.headers.get("User-Agent", ""))
    call = parse_json(model, _json_body()) if _is_json(model.task) else parse_audio(model, _body())
    backend().check_loaded(tenant, model, wait=bool(call.options.get("wait_for_model")))
    body = backend().run(tenant, call, shape)
    return _headers(jsonify(body))


def _is_json(task: str) -> bool:
    """ASR takes raw audio; a JSON body (base64 ``inputs``) is accepted too."""
    if task != "automatic-speech-recognition":
        return True
    return request.mimetype == "application/json"


# --- dataset bulk jobs -----------------------------------------------------------------------


@bp.post("/bulk/run/<compute>/<path:model_id>")
def bulk_run(compute: str, model_id: str) -> Response:
    tenant = _tenant()
    note_request(NAME, "bulk_run", tenant)
    _check_compute(compute)  # before it reaches a header: only cpu or gpu ever does
    g.hf_compute = compute
    model = backend().model(model_id)
    try:
        choice = read_lifecycle()
    except ValueError as exc:
        raise bad_request(str(exc)) from None
    job = backend().run_bulk(tenant, model, compute, _json_body(), choice)
    return _headers(jsonify(jobid=job.id, bulk_name=job.attrs["bulk_name"]))


@bp.get("/bulk/status/<jobid>")
def bulk_status(jobid: str) -> Response:
    """No auth needed: the docs' curl sample calls it without a header. With a token, another
    token's job answers exactly as an unknown one does."""
    tenant = _tenant(optional=True)
    note_request(NAME, "bulk_status", tenant)
    owner = None if tenant == ANONYMOUS else tenant
    return _headers(jsonify(backend().bulk_status(jobid, owner)))


def _check_compute(compute: str) -> None:
    if compute not in ("cpu", "gpu"):
        raise HfError(404, f"Unknown compute type {compute!r}: use cpu or gpu")


# --- the websocket stream --------------------------------------------------------------------


@bp.route("/bulk/stream/<compute>/<path:model_id>", methods=["GET"], websocket=True)
def bulk_stream(compute: str, model_id: str) -> Any:
    note_request(NAME, "bulk_stream")
    try:
        choice = read_lifecycle()
    except ValueError as exc:  # refused before the upgrade, as bulk_run refuses it
        raise bad_request(str(exc)) from None
    scenario = request.headers.get(SCENARIO_HEADER) or None
    if scenario is not None:  # checked now; played once the token names the tenant
        try:
            header_plan(scenario, seed=0, now=0.0)
        except RecursionError:
            raise bad_request(too_deep_message()) from None
        except ValueError as exc:
            raise bad_request(f"{SCENARIO_HEADER}: {exc}") from None
    try:
        ws = ServerWebSocket(request.environ, max_message_size=16 << 20)
    except HandshakeError as exc:
        message = f"{exc}; this endpoint is a websocket (see the bulk streaming docs)"
        response = HfError(exc.status, message).response()
        response.headers.update(exc.headers)
        return response
    session = StreamSession(backend(), ws, compute, model_id, choice, scenario)
    session.run()
    if session.tenant:
        g.mock_tenant = session.tenant
    if session.fault is not None:  # the fault rule that shaped this connection
        g.mock_fault = describe_fault(session.fault)
    return ws.response()


@bp.get("/bulk/stream/<compute>/<path:model_id>")
def bulk_stream_http(compute: str, model_id: str) -> Response:
    """A plain GET (no upgrade) on the stream: say what the endpoint is, in HF's shape."""
    note_request(NAME, "bulk_stream")
    raise HfError(
        400,
        "This endpoint is a websocket: connect with ws:// (Upgrade: websocket) and send "
        "'Bearer <token>' as the first message",
    )
