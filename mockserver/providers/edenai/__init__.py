"""Eden AI v2 asynchronous features (``/v2/{feature}/{subfeature}/``), batches and webhooks.

``register`` wires the backend (the engine's ``edenai`` and ``edenai.batch`` providers, the
``edenai-rsa`` webhook signer), the ``/v2`` blueprint (``contracts/edenai.yaml``) and the
``/_mock/edenai`` endpoints (webhook public key, generated files).
"""

from __future__ import annotations

from flask import Flask

from ...runtime import Runtime
from ..common import add_error_renderer
from .backend import EdenBackend
from .routes import PREFIX, bp, mock_bp, render_http_error

__all__ = ["EdenBackend", "register"]


def register(app: Flask, runtime: Runtime) -> EdenBackend:
    backend = EdenBackend(runtime)
    app.extensions["mockserver.edenai"] = backend
    app.register_blueprint(bp)
    app.register_blueprint(mock_bp)
    add_error_renderer(app, PREFIX, render_http_error)
    return backend
