"""Hume Expression Measurement Batch API (``/v0/batch/jobs``), retired by Hume on 2026-06-14.

``register`` wires the face into an app: the backend becomes the engine's ``hume`` provider and
the blueprint serves the six operations (``contracts/hume.yaml``).
"""

from __future__ import annotations

from flask import Flask

from ...runtime import Runtime
from ..common import add_error_renderer
from .backend import HumeBackend
from .routes import PREFIX, bp, render_http_error

__all__ = ["PREFIX", "HumeBackend", "register"]


def register(app: Flask, runtime: Runtime) -> HumeBackend:
    backend = HumeBackend(runtime)
    runtime.engine.register(backend)
    app.extensions["mockserver.hume"] = backend
    app.register_blueprint(bp)
    add_error_renderer(app, PREFIX, render_http_error)
    return backend
