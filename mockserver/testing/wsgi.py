"""One HTTP exchange with a WSGI app in process: what the ``requests`` and ``httpx`` adapters share.

The request goes in as the client built it (method, path, raw query, headers, body bytes, so a
multipart body keeps its boundary) and the answer comes back as the app produced it: status,
every header in order (repeated ones included) and the body as a lazy iterator, so a zip archive
stays bytes and a dribbled or streamed body arrives piece by piece, as it would from a socket.

Dropped connections: with no socket to reset, :mod:`mockserver.faultwire` raises
:class:`ConnectionResetError` where a socket client would see the connection end, either from
:func:`call` (before any response) or while the body is read (``truncate``). The adapters turn
it into their library's own connection error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

__all__ = ["HOP_BY_HOP", "Reply", "body_bytes", "call"]

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: Request headers that describe the client's connection, not the request: the builder sets
#: ``Host`` from the URL and ``Content-Length`` from the body it was given.
HOP_BY_HOP = frozenset({"host", "content-length", "transfer-encoding", "connection"})


@dataclass
class Reply:
    """The app's answer; read :attr:`chunks` to the end or call :meth:`close`."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    chunks: Iterator[bytes]
    _close: Callable[[], None] | None = field(default=None, repr=False)

    def close(self) -> None:
        """Let the app finish the request (WSGI ``close``); safe to call twice."""
        close, self._close = self._close, None
        if close is not None:
            close()


def body_bytes(body: Any) -> bytes:
    """A client's request body as bytes (``None``, text, bytes, a file or an iterable of parts)."""
    if body is None:
        return b""
    if isinstance(body, bytes | bytearray | memoryview):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    read = getattr(body, "read", None)
    if callable(read):
        return body_bytes(read())
    return b"".join(body_bytes(part) for part in body)


def call(
    app: WsgiApp,
    method: str,
    url: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
) -> Reply:
    """Run one request through ``app``; raises :class:`ConnectionResetError` for a drop."""
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    parts = urlsplit(url)
    kept = [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP]
    builder = EnvironBuilder(
        path=parts.path or "/",
        base_url=f"{parts.scheme}://{parts.netloc}",
        query_string=parts.query,
        method=method.upper(),
        headers=kept,
        data=body,
    )
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    app_iter, status, response_headers = run_wsgi_app(app, environ, buffered=False)
    code, _, reason = status.partition(" ")
    close = getattr(app_iter, "close", None)
    return Reply(
        status=int(code),
        reason=reason,
        headers=list(response_headers.items()),
        chunks=iter(app_iter),
        _close=close if callable(close) else None,
    )
