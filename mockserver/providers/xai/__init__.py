"""xAI Batch API: REST under ``/v1/batches`` and gRPC ``xai_api.BatchMgmt``, one backend.

``register`` wires the REST face into an app; the gRPC face (:mod:`.grpc_service`) is started
by the server runner next to it and reaches the same :class:`XaiBackend` through the runtime.
"""

from __future__ import annotations

import logging

from flask import Flask

from ...runtime import Runtime
from ..common import add_error_renderer
from .backend import XaiBackend
from .grpc_service import GrpcServer, available
from .media import MEDIA_PREFIX
from .routes import PREFIX, IdConverter, bp, media_bp, render_http_error

__all__ = ["PREFIX", "GrpcService", "XaiBackend", "register"]

log = logging.getLogger("mockserver")


def register(app: Flask, runtime: Runtime) -> XaiBackend:
    backend = XaiBackend(runtime)
    app.extensions["mockserver.xai"] = backend
    app.url_map.converters["xai_id"] = IdConverter
    app.register_blueprint(bp)
    app.register_blueprint(media_bp)
    add_error_renderer(app, PREFIX, render_http_error)
    add_error_renderer(app, MEDIA_PREFIX, render_http_error)
    mode = runtime.settings.grpc
    if mode != "off":
        if available():
            runtime.services.append(GrpcService(runtime, backend))
        elif mode == "on":
            raise ValueError("--grpc on needs the xai-sdk package: pip install 'mockserver[xai]'")
        else:
            log.info("xAI gRPC face off: install xai-sdk to serve xai_api.BatchMgmt")
    return backend


class GrpcService:
    """The gRPC server as a runtime service: bound at start, stopped at close.

    With ``--grpc auto`` a port that cannot be bound is logged and the HTTP server goes on;
    with ``--grpc on`` it fails start-up.
    """

    def __init__(self, runtime: Runtime, backend: XaiBackend) -> None:
        self.runtime = runtime
        self.server = GrpcServer(runtime, backend)

    def start(self) -> None:
        settings = self.runtime.settings
        try:
            port = self.server.start(settings.host, settings.grpc_port)
        except OSError as exc:
            if settings.grpc == "on":
                raise
            log.warning("xAI gRPC face off: %s", exc)
            return
        self.runtime.extensions["xai.grpc_port"] = port
        log.info("xAI gRPC BatchMgmt on %s:%d", settings.host, port)

    def close(self) -> None:
        self.server.stop()
        self.runtime.extensions.pop("xai.grpc_port", None)
