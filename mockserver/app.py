"""``create_app(settings)``: wire the runtime, the control API and the providers into Flask.

No module-level app: every test and every server builds its own (the flaskr pattern). The
request journal is kept here, around every request: it records what each client sent and got
back, including calls to paths no provider serves (a client aimed at the wrong path learns that
from the journal, not from silence).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Flask, Response, current_app, g, request
from werkzeug.exceptions import HTTPException

from . import faultwire
from .control import fault_routes  # noqa: F401  (adds /_mock/faults to the blueprint)
from .control import routes as control
from .control.errors import render_error
from .control.synthetic import SyntheticProvider
from .engine.clock import Clock
from .engine.webhooks import HttpClient
from .providers import edenai, huggingface, hume, xai
from .providers.common import error_renderer_for
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

    app = Flask("mockserver")
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["mockserver"] = runtime
    app.register_blueprint(control.bp)
    hume.register(app, runtime)
    xai.register(app, runtime)
    huggingface.register(app, runtime)
    edenai.register(app, runtime)
    _install_journal(app, runtime)
    faultwire.install(app)
    app.register_error_handler(HTTPException, _http_error)
    if start:
        runtime.start()
    return app


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


def _install_journal(app: Flask, runtime: Runtime) -> None:
    """Record every client request (control-API calls excluded) in the bounded journal."""

    @app.before_request
    def _start_timer() -> None:
        g.mock_t0 = time.perf_counter()

    @app.after_request
    def _record(response: Response) -> Response:
        if request.path.startswith("/_mock/"):
            return response
        entry: dict[str, Any] = {
            "at": time.time(),
            "method": request.method,
            "path": request.path,
            "query": request.query_string.decode("latin-1"),
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - g.get("mock_t0", 0.0)) * 1000, 3),
            "tenant": g.get("mock_tenant"),
            "provider": g.get("mock_provider"),
            "operation": g.get("mock_operation"),
            "violations": g.get("mock_violations", []),
            "fault": g.get("mock_fault"),
        }
        runtime.journal.record(entry)
        return response
