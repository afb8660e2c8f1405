"""Serve a Flask app on gunicorn: one process, ``gthread`` worker, many threads.

Why this server (figures in ``benchmarks/servers.py`` and the README): state lives in memory, so
one process; a request that sleeps (latency faults, slow webhooks) must not stall the others, so
threads; the Hugging Face bulk stream needs websockets, which ``mockserver.websocket`` runs on
the raw socket gunicorn's threaded worker exposes (waitress buffers and cannot upgrade);
Werkzeug's server is a development server.
The app is built inside the worker process (``load``), after the fork, so the scheduler threads
and the store connection belong to the process that serves.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from flask import Flask

from .settings import Settings

__all__ = ["bind_address", "gunicorn_options", "serve"]


def bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    options: dict[str, Any] = {
        "bind": [bind_address(settings.host, settings.port)],
        "workers": 1,
        "worker_class": "gthread",
        "threads": settings.threads,
        "keepalive": 5,
        "timeout": 60,
        "graceful_timeout": 5,
        "loglevel": settings.log_level,
        "accesslog": None,
        "errorlog": "-",
        "proc_name": "mockserver",
        "preload_app": False,
        # gunicorn >= 24 opens a control socket under ~/.gunicorn by default: parallel test
        # servers would fight over it, and we expose our own control API instead.
        "control_socket_disable": True,
    }
    if os.path.isdir("/dev/shm"):
        options["worker_tmp_dir"] = "/dev/shm"  # heartbeat file off the disk
    return options


def serve(settings: Settings, factory: Callable[[], Flask] | None = None) -> None:
    """Run until interrupted. ``factory`` builds the app in the worker (default: create_app)."""
    from gunicorn.app.base import BaseApplication

    def default_factory() -> Flask:
        from .app import create_app

        return create_app(settings, start=True)

    build = factory or default_factory

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in gunicorn_options(settings).items():
                if key in self.cfg.settings:  # older gunicorn lacks some settings
                    self.cfg.set(key, value)

        def load(self) -> Flask:
            return build()

    _Server().run()
