"""Serve the Flask app on :mod:`mockserver.httpserver`: one process, one thread per connection.

Why this server (figures in ``benchmarks/servers.py`` and the README): state lives in memory, so
one process; a request that sleeps (latency faults, slow webhooks) must not stall the others, so
threads; the Hugging Face bulk stream needs websockets, which ``mockserver.websocket`` runs on
the connection's raw socket (waitress buffers and cannot upgrade); gunicorn's threaded worker,
the previous choice, spent more time per request in its own machinery than the app did.
"""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Callable

from flask import Flask

from .httpserver import HTTPServer
from .settings import Settings

__all__ = ["bind_address", "serve"]

log = logging.getLogger("mockserver")


def bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _configure_logging(level: str) -> None:
    """Log lines to stderr with a timestamp (the journal keeps the per-request record)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[%(asctime)s] [%(levelname)s] %(name)s: %(message)s"))
    root = logging.getLogger("mockserver")
    root.handlers[:] = [handler]
    root.propagate = False
    root.setLevel(level.upper())


def serve(settings: Settings, factory: Callable[[], Flask] | None = None) -> None:
    """Run until SIGTERM or SIGINT. ``factory`` builds the app (default: create_app, started).

    The listening socket is bound before the app is built, so a port in use fails fast; on
    shutdown, requests in flight get a few seconds, then the runtime's threads and store close.
    """
    _configure_logging(settings.log_level)
    server = HTTPServer(_not_ready, settings.host, settings.port, max_connections=settings.threads)
    if factory is None:
        from .app import create_app

        app = create_app(settings, start=True)
    else:
        app = factory()
    server.app = app
    _settle_garbage_collector()
    log.info("listening on %s", server.url)
    try:
        server.serve_forever()
    finally:
        runtime = app.extensions.get("mockserver")
        if runtime is not None:
            runtime.close()
        log.info("stopped")


def _settle_garbage_collector() -> None:
    """Move what start-up built (modules, contracts, tables) out of the collector's sight, and
    collect young objects less often: a request allocates a few hundred short-lived objects,
    and with the default thresholds the collector walked the whole long-lived heap every few
    hundred requests, a pause that showed up as the p99 latency of every client."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def _not_ready(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
    """Never called: connections wait in the listen backlog until the app is in place."""
    raise RuntimeError("the app is not built yet")
