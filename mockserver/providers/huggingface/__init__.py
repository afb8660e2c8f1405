"""Hugging Face Inference API: the task endpoint, dataset bulk jobs and the bulk websocket.

``register`` wires the blueprint, the engine hooks of bulk jobs and the control API's view of
their output datasets (``GET /_mock/jobs/{jobid}/output``).
"""

from __future__ import annotations

from flask import Flask

from ...runtime import Runtime
from ..common import add_error_renderer
from .backend import HfBackend
from .routes import PREFIXES, bp, render_http_error

__all__ = ["HfBackend", "register"]


def register(app: Flask, runtime: Runtime) -> HfBackend:
    backend = HfBackend(runtime)
    app.extensions["mockserver.huggingface"] = backend
    app.register_blueprint(bp)
    for prefix in PREFIXES:
        add_error_renderer(app, prefix, render_http_error)
    runtime.extensions["output:hf.bulk"] = backend.bulk_output
    return backend
