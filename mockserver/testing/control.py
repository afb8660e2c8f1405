"""The ``/_mock`` control API of one emulator, the same whether it runs in process or serves HTTP.

Tests drive the emulator (reset, clock, faults, journal) through its control API and not through
the runtime's Python objects, so a helper written against an in-process app works unchanged
against a live server, and what a test does is what a CI job could do with ``curl``
(``contracts/control.yaml``). :class:`Emulator` wraps either; :func:`as_emulator` accepts a Flask
app, an :class:`Emulator` (a :class:`~mockserver.testing.server.LiveServer` is one) or a base URL.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

if TYPE_CHECKING:
    from flask import Flask

    from .clock import Clock
    from .findings import Report

__all__ = ["ControlError", "Emulator", "as_emulator"]

#: ``(method, path with query, JSON body or None, headers) -> (status, decoded JSON or text)``
Send = Callable[[str, str, Any, Mapping[str, str]], tuple[int, Any]]


class ControlError(RuntimeError):
    """A control call was refused; the message carries the status and the server's reason."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        super().__init__(f"{method} {path} answered {status}: {body!r}")
        self.status = status
        self.body = body


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def _app_sender(app: Flask) -> Send:
    client = app.test_client()

    def send(method: str, path: str, body: Any, headers: Mapping[str, str]) -> tuple[int, Any]:
        response = client.open(path, method=method, json=body, headers=dict(headers))
        return response.status_code, _decode(response.get_data())

    return send


def _http_sender(base_url: str, timeout: float) -> Send:
    def send(method: str, path: str, body: Any, headers: Mapping[str, str]) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        all_headers = {"Content-Type": "application/json", **headers} if data else dict(headers)
        request = urllib.request.Request(
            base_url + path, data=data, method=method, headers=all_headers
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, _decode(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, _decode(exc.read())

    return send


class Emulator:
    """A handle on one emulator's control API (in process or over HTTP).

    ``app`` is the Flask app when this process holds it (in process, or a server this process
    started), ``url`` the base URL when it serves HTTP; either may be ``None``.
    """

    def __init__(
        self,
        send: Send,
        *,
        app: Flask | None = None,
        url: str | None = None,
        admin_token: str | None = None,
    ) -> None:
        self._send = send
        self.app = app
        self.url = url
        self._headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}

    @classmethod
    def of_app(cls, app: Flask) -> Emulator:
        """An in-process app: control calls go through its test client (no port)."""
        token = app.extensions["mockserver"].settings.admin_token
        return cls(_app_sender(app), app=app, admin_token=token)

    @classmethod
    def of_url(cls, url: str, *, admin_token: str | None = None, timeout: float = 30.0) -> Emulator:
        """A server reached over HTTP (``mockserver serve`` or a live test server)."""
        base = url.rstrip("/")
        return cls(_http_sender(base, timeout), url=base, admin_token=admin_token)

    # --- raw calls ----------------------------------------------------------------------------

    def call(
        self, method: str, path: str, body: Any = None, **query: Any
    ) -> Any:  # the decoded JSON answer
        """One control call (``path`` under ``/_mock``); raises :class:`ControlError` unless 2xx.

        ``None`` query values are left out, so optional filters can be passed through as given.
        """
        shown = {k: v for k, v in query.items() if v is not None}
        full = "/_mock" + path + ("?" + urlencode(shown) if shown else "")
        status, answer = self._send(method, full, body, self._headers)
        if not 200 <= status < 300:
            raise ControlError(method, full, status, answer)
        return answer

    # --- what every test needs ----------------------------------------------------------------

    def reset(self, tenant: str | None = None) -> None:
        """Forget everything (jobs, clocks, faults, journal), or one tenant's state."""
        self.call("POST", "/reset", {} if tenant is None else {"tenant": tenant})

    def journal(self, tenant: str | None = None, **filters: Any) -> list[dict[str, Any]]:
        """Journal entries, oldest first (``provider``, ``path``, ``status`` filter further)."""
        answer = self.call("GET", "/journal", tenant=tenant, limit=1_000_000, **filters)
        entries: list[dict[str, Any]] = answer["entries"]
        return entries[::-1]

    def report(self, tenant: str | None) -> Report:
        """What this tenant's client did wrong (see :func:`~mockserver.testing.fetch_findings`)."""
        from .findings import fetch_findings

        return fetch_findings(self, tenant)

    @property
    def clock(self) -> Clock:
        """The server clock (``.clock.tenant(key)`` for one tenant's)."""
        from .clock import Clock

        return Clock(self)

    def __repr__(self) -> str:
        where = self.url or ("in-process app" if self.app is not None else "?")
        return f"<{type(self).__name__} {where}>"


def as_emulator(target: Any) -> Emulator:
    """A handle for ``target``: an :class:`Emulator`, a Flask app built by ``create_app`` or a
    base URL. Anything else is a ``TypeError`` naming what is accepted."""
    if isinstance(target, Emulator):
        return target
    if isinstance(target, str):
        return Emulator.of_url(target)
    extensions = getattr(target, "extensions", None)
    if isinstance(extensions, dict) and "mockserver" in extensions:
        return Emulator.of_app(target)
    raise TypeError(
        "expected a mockserver Flask app (create_app), an Emulator / LiveServer or a base URL, "
        f"got {type(target).__name__}"
    )
