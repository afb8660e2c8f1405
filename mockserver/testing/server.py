"""A live emulator on a free 127.0.0.1 port, served from a thread of the test process.

For clients that must talk HTTP (another process, a websocket, a client whose transport cannot
be swapped): the server ``mockserver serve`` runs (:mod:`mockserver.httpserver`), one thread per
connection, so a request that sleeps (latency faults, a dribbled body) never stalls the others
and the Hugging Face bulk stream upgrades as it does there: ``tests/test_hf_stream.py`` runs its
suite this way.

The app lives in this process, so ``server.app`` and its runtime are at hand for assertions;
control calls still go over HTTP, as a CI job's would.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from .control import Emulator, _http_sender

if TYPE_CHECKING:
    from flask import Flask

    from mockserver.settings import Settings

__all__ = ["LiveServer"]


class LiveServer(Emulator):
    """``with LiveServer(settings) as server:`` ... ``server.url`` ... (or :meth:`close`)."""

    app: Flask

    def __init__(self, settings: Settings | None = None, *, host: str = "127.0.0.1") -> None:
        from mockserver.app import create_app
        from mockserver.httpserver import HTTPServer

        from .config import build_settings

        settings = settings or build_settings()
        app = create_app(settings, start=True)
        try:
            self._server = HTTPServer(app, host, 0, grace=1.0, refusals_to_app=True)
        except BaseException:
            app.extensions["mockserver"].close()
            raise
        self.port: int = self._server.address[1]
        url = f"http://{host}:{self.port}"
        super().__init__(
            _http_sender(url, 30.0), app=app, url=url, admin_token=settings.admin_token
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"handle_signals": False},
            name=f"mockserver-live-{self.port}",
            daemon=True,
        )
        self._thread.start()

    @property
    def settings(self) -> Settings:
        found: Settings = self.app.extensions["mockserver"].settings
        return found

    def close(self) -> None:
        """Stop serving, then stop the runtime's threads (idempotent)."""
        if not self._thread.is_alive():
            return
        self._server.stop()
        self._thread.join(5)
        self.app.extensions["mockserver"].close()

    def __enter__(self) -> LiveServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
