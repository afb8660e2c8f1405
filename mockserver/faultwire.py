"""HTTP faults on the wire: where the rules of ``engine/faults.py`` meet a request.

Every provider face calls :func:`check_faults` (through ``providers.common.enter_tenant``) once
it knows who is calling, before the view does anything, so a fault never leaves half-done work
behind (a 429 creates no job). What a fired rule does:

- ``status``: the request is answered at once with the vendor's own error body for that status
  (the face's routing-error renderer) and, when asked, ``Retry-After`` in seconds, in
  milliseconds (``retry-after-ms``, which the OpenAI-style SDKs read, with the seconds beside
  it) or as an HTTP date;
- ``latency``: the request waits, then runs normally;
- ``lifecycle``: the request runs normally, and the job it creates follows the rule's profile
  and overrides (stuck, failing at x % of its items, per-item errors, slow phases), merged under
  any ``X-Mock-Profile`` / ``X-Mock-Lifecycle`` the request sent;
- ``reset``, ``timeout``, ``truncate``, ``malformed``, ``dribble``: the request runs, then
  :class:`FaultMiddleware` mangles what goes back: a reset connection (RST, no response), a
  connection held past the client's deadline then dropped, a body cut short under its full
  ``Content-Length`` then dropped, a body cut short with a matching length (a clean response
  whose JSON does not parse), or the body in small chunks with pauses.

In process (the Flask test client, the ``responses`` adapter) there is no socket to reset: those
faults raise :class:`ConnectionResetError` where a socket client would see the connection drop
(for ``truncate``, when the body is read: the first part comes, then the error).

Each fired rule is recorded on the request (``g.mock_fault``: the journal keeps it) and, with
``--fault-header on``, named in an ``X-Mock-Fault`` response header.
"""

from __future__ import annotations

import email.utils
import json
import math
import socket
import struct
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask import Flask, Response, current_app, g, request
from werkzeug.http import HTTP_STATUS_CODES

from .engine.faults import Call, FaultError, FaultPlan, Fired, Mode, parse_rules
from .runtime import Runtime
from .validation import load_json
from .websocket import SOCKET_KEYS

__all__ = [
    "FAULT_HEADER",
    "SCENARIO_HEADER",
    "FaultMiddleware",
    "FaultResponse",
    "check_faults",
    "describe_fault",
    "header_plan",
    "request_job_id",
]

FAULT_HEADER = "X-Mock-Fault"
SCENARIO_HEADER = "X-Mock-Scenario"
_ENVIRON_KEY = "mockserver.fault"
#: View arguments that name the job a call concerns (for ``match.job_id``).
_JOB_ARGS = ("job_id", "batch_id", "public_id", "jobid", "file_id", "batch")


class FaultResponse(Exception):
    """Answer the request with ``response`` now (a ``status`` fault)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def _runtime() -> Runtime:
    found: Runtime = current_app.extensions["mockserver"]
    return found


def header_plan(raw: str, *, seed: int, now: float) -> FaultPlan:
    """The one-request plan an ``X-Mock-Scenario`` value names: a bundled scenario's name or a
    JSON list of rules. Raises ``FaultError`` (or ``ValueError`` for bad JSON) with a message
    for the client; never reads a file the client names."""
    from .scenarios import load_scenario

    text = raw.strip()
    mode: Mode
    if text.startswith("["):
        rules, mode = load_json(text), "first"
    elif "/" in text or "\\" in text or text.endswith((".yaml", ".yml")):
        # A request header must not make the server read files: bundled names only.
        raise FaultError("name a bundled scenario or send a JSON list of rules, not a path")
    else:
        scenario = load_scenario(text)
        rules, mode = scenario.rules, scenario.mode
    plan = FaultPlan(seed=seed, mode=mode)
    plan.add(parse_rules(rules, added_at=now))
    return plan


def _request_rules(tenant: str) -> Fired | None:
    """Rules sent with this one request in ``X-Mock-Scenario`` (a name or a JSON rule list)."""
    raw = request.headers.get(SCENARIO_HEADER)
    if not raw:
        return None
    try:
        plan = header_plan(raw, seed=_runtime().engine.seed_for(tenant), now=_now(tenant))
    except (ValueError, FaultError) as exc:
        raise FaultResponse(_vendor_error(400, f"{SCENARIO_HEADER}: {exc}")) from None
    return plan.decide(_call(tenant))


def _now(tenant: str) -> float:
    return _runtime().engine.now(tenant)


def request_job_id() -> str | None:
    """The job (or batch) this request's path names, if any (a rule's ``match.job_id``)."""
    args = request.view_args or {}
    return next((str(args[k]) for k in _JOB_ARGS if k in args), None)


def _call(tenant: str) -> Call:
    return Call(
        provider=g.get("mock_provider") or "unknown",
        operation=g.get("mock_operation") or "unknown",
        tenant=tenant,
        job_id=request_job_id(),
        now=_now(tenant),
    )


def check_faults(tenant: str) -> None:
    """Decide this request's fault, if any, and start applying it (see the module docstring)."""
    fired = _request_rules(tenant)
    if fired is None:
        book = _runtime().faults
        fired = book.decide(_call(tenant)) if book.concerns(tenant) else None
    if fired is None:
        return
    g.mock_fault = describe_fault(fired)
    if fired.out_of_order:
        raise FaultResponse(_vendor_error(500, f"mockserver scenario: {fired.describe()}"))
    assert fired.rule is not None
    action = fired.rule.action
    if action.kind == "status":
        message = action.message or HTTP_STATUS_CODES.get(action.status, "Error")
        response = _vendor_error(action.status, message)
        if action.retry_after is not None:
            _retry_after(response, action.retry_after, action.retry_unit)
        raise FaultResponse(response)
    if action.kind == "latency":
        time.sleep(fired.delay)
        return
    if action.kind == "lifecycle":  # read by providers.common.lifecycle_choice
        g.mock_fault_lifecycle = (action.profile, action.overrides)
        return
    request.environ[_ENVIRON_KEY] = fired


def describe_fault(fired: Fired) -> dict[str, Any]:
    """The journal's record of a fired rule (``fault``: rule, name, kind, call, description)."""
    rule = fired.rule or fired.expected
    assert rule is not None
    return {
        "rule": rule.id,
        "name": rule.name,
        "kind": "out_of_order" if fired.out_of_order else rule.action.kind,
        "call": fired.call_number,
        "description": fired.describe(),
    }


def _vendor_error(status: int, message: str) -> Response:
    from .providers.common import error_renderer_for

    render = error_renderer_for(current_app, request.path)
    if render is not None:
        return render(status, message)
    response = Response(
        json.dumps({"error": {"code": "fault", "message": message}}),
        status=status,
        mimetype="application/json",
    )
    return response


def _retry_after(response: Response, seconds: float, unit: str) -> None:
    if unit == "date":
        response.headers["Retry-After"] = email.utils.formatdate(time.time() + seconds, usegmt=True)
        return
    response.headers["Retry-After"] = str(math.ceil(seconds))
    if unit == "ms":
        response.headers["retry-after-ms"] = str(round(seconds * 1000))


def install(app: Flask) -> None:
    """Answer ``status`` faults, name fired rules (opt-in), and wrap the WSGI app."""

    @app.errorhandler(FaultResponse)
    def _answer(exc: FaultResponse) -> Response:
        return exc.response

    @app.after_request
    def _name_the_rule(response: Response) -> Response:
        fault = g.get("mock_fault")
        if fault is not None and _runtime().settings.fault_header == "on":
            response.headers[FAULT_HEADER] = fault["description"]
        return response

    app.wsgi_app = FaultMiddleware(app.wsgi_app)  # type: ignore[method-assign]


StartResponse = Callable[..., Any]


class FaultMiddleware:
    """Apply the socket-level faults a rule asked for to the response the app produced."""

    def __init__(self, app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        captured: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured[:] = [status, headers, exc_info]
            return lambda data: None  # Flask never uses write()

        body_iter = self.app(environ, capture)
        fired: Fired | None = environ.get(_ENVIRON_KEY)
        if fired is None or fired.rule is None:
            start_response(*captured)
            return body_iter
        try:
            body = b"".join(body_iter)
        finally:
            close = getattr(body_iter, "close", None)
            if close is not None:
                close()
        status, headers, _ = captured
        action = fired.rule.action
        if action.kind == "timeout":
            time.sleep(fired.delay)
            return _drop(environ)
        if action.kind == "reset":
            return _drop(environ)
        cut = body[: int(len(body) * action.fraction)]
        if action.kind == "malformed":
            if cut == body:  # an empty or one-byte body: still not JSON
                cut = body + b"\x00"
            start_response(status, _with_length(headers, len(cut)))
            return [cut]
        start_response(status, _with_length(headers, len(body)))
        if action.kind == "truncate":
            return _then_drop([cut], environ)
        return _dribble(body, action.chunk, fired.delay)


def _with_length(headers: list[tuple[str, str]], length: int) -> list[tuple[str, str]]:
    kept = [(k, v) for k, v in headers if k.lower() != "content-length"]
    return [*kept, ("Content-Length", str(length))]


def _dribble(body: bytes, chunk: int, pause: float) -> Iterator[bytes]:
    for start in range(0, len(body), chunk):
        if start:
            time.sleep(pause)
        yield body[start : start + chunk]


def _then_drop(parts: list[bytes], environ: dict[str, Any]) -> Iterator[bytes]:
    """Send what there is, then end the connection under the declared ``Content-Length``.

    Inside a generator the quiet exceptions would surface as errors, so with a socket the
    shutdown is enough: the server finds the peer gone and closes; in process the caller gets
    the :class:`ConnectionResetError`."""
    yield from parts
    if _shutdown(environ) is None:
        raise ConnectionResetError("mockserver fault: connection reset mid-body")


def _drop(environ: dict[str, Any]) -> Iterable[bytes]:
    _abort(environ)
    return []  # not reached


def _shutdown(environ: dict[str, Any]) -> type[BaseException] | None:
    """Make the connection's close a reset (SO_LINGER 0) and end it now; return the exception
    its server treats as a quiet close (None: no socket, in process): both
    ``mockserver.httpserver`` and Werkzeug's ``run_wsgi`` close without writing anything."""
    for key in SOCKET_KEYS:
        sock = environ.get(key)
        if isinstance(sock, socket.socket):
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return ConnectionAbortedError
    return None


def _abort(environ: dict[str, Any]) -> None:
    """Drop the connection before any response (the client sees it end, nothing else)."""
    quiet = _shutdown(environ)
    if quiet is None:
        raise ConnectionResetError("mockserver fault: connection reset")
    raise quiet("mockserver fault: connection dropped")
