"""xAI Batch API: REST under ``/v1/batches`` and gRPC ``xai_api.BatchMgmt``, one backend.

``register`` wires the REST face into an app; the gRPC face (:mod:`.grpc_service`) is started
by the server runner next to it and reaches the same :class:`XaiBackend` through the runtime.
"""

from __future__ import annotations

from flask import Flask

from ...runtime import Runtime
from ..common import add_error_renderer
from .backend import XaiBackend
from .routes import PREFIX, bp, media_bp, render_http_error

__all__ = ["PREFIX", "XaiBackend", "register"]


def register(app: Flask, runtime: Runtime) -> XaiBackend:
    backend = XaiBackend(runtime)
    runtime.engine.register(backend)
    runtime.extensions["xai"] = backend
    app.extensions["mockserver.xai"] = backend
    app.register_blueprint(bp)
    app.register_blueprint(media_bp)
    add_error_renderer(app, PREFIX, render_http_error)
    return backend
