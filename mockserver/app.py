"""``create_app(settings)``: wire the runtime, the control API and the providers into Flask.

No module-level app: every test and every server builds its own (the flaskr pattern). The
request journal is kept here, around every request: it records what each client sent and got
back, including calls to paths no provider serves (a client aimed at the wrong path learns that
from the journal, not from silence).
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Request, Response, abort, current_app, g, request
from flask.sessions import NullSession, SessionInterface
from werkzeug.exceptions import HTTPException

from . import faultwire
from .control import fault_routes  # noqa: F401  (adds /_mock/faults to the blueprint)
from .control import routes as control
from .control.errors import render_error
from .control.synthetic import SyntheticProvider
from .engine.clock import Clock
from .engine.webhooks import HttpClient
from .httpserver import REJECT_KEY
from .providers import edenai, huggingface, hume, xai
from .providers.common import error_renderer_for, unserved
from .runtime import Runtime
from .settings import Settings

__all__ = ["create_app"]


def create_app(
    settings: Settings | None = None,
    *,
    base_clock: Clock | None = None,
    http_client: HttpClient | None = None,
    start: bool = False,
) -> Flask:
    """Build a Flask app around a fresh :class:`Runtime`.

    ``start=True`` also starts the scheduler threads (the server runner does this inside its
    worker process); in-process tests usually leave it off and call ``scheduler.run_due()``.
    """
    settings = settings or Settings()
    logging.getLogger("mockserver").setLevel(settings.log_level.upper())
    runtime = Runtime.build(settings, base_clock=base_clock, http_client=http_client)
    runtime.engine.register(SyntheticProvider(runtime.engine))

    app = _App("mockserver")
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["mockserver"] = runtime
    app.register_blueprint(control.bp)
    hume.register(app, runtime)
    xai.register(app, runtime)
    huggingface.register(app, runtime)
    edenai.register(app, runtime)
    _install_journal(app, runtime)
    _install_server_refusals(app)
    faultwire.install(app)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unserved)
    if start:
        runtime.start()
    return app


def _unserved(exc: Exception) -> Any:
    """A request a lenient ``--validation`` let through despite its contract violations, which
    the view then could not make sense of: the vendor's 400 naming the violations (what
    ``strict`` would have answered), not a 500. Any other error propagates as before."""
    refuse = unserved()
    if refuse is None or isinstance(exc, HTTPException):
        raise exc
    logging.getLogger("mockserver").info(
        "%s %s: not served despite --validation: %r", request.method, request.path, exc
    )
    return current_app.handle_user_exception(refuse())


def _http_error(exc: HTTPException) -> Response:
    """Unknown paths and methods get JSON, never an HTML error page: the vendor's shape under a
    provider's prefix (``add_error_renderer``), the control API's elsewhere."""
    code = exc.code or 500
    message = exc.description or exc.name
    if code == 404:
        message = f"no route for {request.method} {request.path}"
    vendor = error_renderer_for(current_app, request.path)
    if vendor is not None:
        response = vendor(code, message)
    else:
        response = render_error(code, exc.name.lower().replace(" ", "_"), message)
    for name, value in exc.get_headers():
        if name.lower() == "allow":  # a 405 lists the methods the path has (RFC 9110)
            response.headers[name] = value
    return response


class _NoSessions(SessionInterface):
    """The emulator keeps no cookie sessions: one shared null session, not a new one (and a
    signing-key lookup) per request."""

    _null = NullSession()

    def open_session(self, app: Flask, request: Request) -> NullSession:
        return self._null

    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        return None

    def is_null_session(self, obj: object) -> bool:
        return True


class _App(Flask):
    """Flask, with each hook's sync-or-async check made once per function, not per request
    (``ensure_sync`` runs for every hook and view of every request; ours are all sync), and
    no cookie sessions."""

    session_interface = _NoSessions()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        found = self._sync.get(func)
        if found is None:
            found = super().ensure_sync(func)
            if len(self._sync) < 4096:  # hooks and views are registered once: a small table
                self._sync[func] = found
        return found


def _install_server_refusals(app: Flask) -> None:
    """Requests the HTTP server refused before parsing them whole (a request line too long,
    too many header fields, a malformed request): answered here, first of all hooks, so the
    client gets its provider's error shape and the journal records them."""

    def _refuse() -> None:
        refused = request.environ.get(REJECT_KEY)
        if refused is not None:
            status, message = refused
            abort(status, description=message)

    app.before_request_funcs.setdefault(None, []).insert(0, _refuse)


def _install_journal(app: Flask, runtime: Runtime) -> None:
    """Record every client request (control-API calls excluded) in the bounded journal."""

    @app.before_request
    def _start_timer() -> None:
        req, state = request._get_current_object(), g._get_current_object()  # type: ignore[attr-defined]
        state.mock_t0 = time.perf_counter()
        if req.method in ("POST", "PUT", "PATCH") and not req.path.startswith("/_mock/"):
            state.mock_body_sha256 = _body_digest()

    @app.after_request
    def _record(response: Response) -> Response:
        # One lookup of each context-local: this runs on every request, and each attribute
        # read through Flask's proxies costs a context-variable lookup.
        req, state = request._get_current_object(), g._get_current_object()  # type: ignore[attr-defined]
        path = req.path
        if path.startswith("/_mock/"):
            return response
        found = state.__dict__
        entry: dict[str, Any] = {
            "at": time.time(),
            "method": req.method,
            "path": path,
            "query": req.query_string.decode("latin-1"),
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - found.get("mock_t0", 0.0)) * 1000, 3),
            "tenant": found.get("mock_tenant"),
            "provider": found.get("mock_provider"),
            "operation": found.get("mock_operation"),
            "violations": found.get("mock_violations", []),
            "fault": found.get("mock_fault"),
        }
        runtime.record_request(
            entry,
            retry_after=_retry_after(response),
            body_sha256=found.get("mock_body_sha256"),
            job_id=faultwire.request_job_id(),
            notes=tuple(found.get("mock_behaviours", ())),
        )
        return response


#: Bodies hashed for the resubmission check (``engine/conformance.py``); larger uploads are
#: streamed by the views and not read twice.
DIGEST_LIMIT = 8 << 20


def _body_digest() -> str | None:
    """SHA-256 of the request body, read once and cached for the view (Werkzeug parses forms
    from the cached bytes), or None for bodies too large to hold."""
    length = request.content_length
    if length is None or length > DIGEST_LIMIT:
        return None
    return hashlib.sha256(request.get_data(cache=True)).hexdigest()


def _retry_after(response: Response) -> float | None:
    """How long the response asked the client to wait, in seconds (``retry-after-ms``, then
    ``Retry-After`` as seconds or an HTTP date), or None. Only refusals and redirects carry
    one here (a fault's 429 or 503, a vendor's rate limit): a 2xx is not searched for it."""
    if response.status_code < 300:
        return None
    raw_ms = response.headers.get("retry-after-ms")
    raw = response.headers.get("Retry-After")
    try:
        if raw_ms is not None:
            return max(0.0, float(raw_ms) / 1000)
        if raw is None:
            return None
        if raw.strip().isdigit():
            return float(raw)
        when = email.utils.parsedate_to_datetime(raw)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError):
        return None
