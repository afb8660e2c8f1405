"""Route clients with hard-coded vendor URLs into an in-process emulator: no port, no network.

Many clients cannot be pointed at a base URL (LangChain's Eden AI tools, scripts copied from a
vendor's docs). These adapters catch their calls to the vendors' hosts and hand each one to
the Flask app as a WSGI request, byte for byte, and the app's answer back (status, every
header, the body as produced, streamed):

- ``requests``: :func:`intercept`, built on ``responses`` (a callback per vendor host); calls to
  any other host fail with ``requests.ConnectionError`` unless ``passthrough`` names them.
- ``httpx``: :class:`MockserverTransport` / :class:`AsyncMockserverTransport` for a client you
  construct (``httpx.Client(transport=MockserverTransport(app))``), and
  :func:`intercept_httpx`, which patches ``httpx.HTTPTransport.handle_request`` (and the async
  one) for clients that build their own ``httpx.Client``; other hosts raise
  ``httpx.ConnectError`` unless ``passthrough`` names them. The patch is process-wide while it
  lasts: do not run it in tests that run in parallel threads of one process.

Connection faults (``reset``, ``timeout``, ``truncate``) surface as the library's own error:
``requests.exceptions.ConnectionError`` when no response came, ``ChunkedEncodingError`` when
the body was cut; ``httpx.ReadError`` for both, as over a socket the server resets.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from unittest import mock

import httpx

from .control import Emulator, as_emulator
from .wsgi import Reply, body_bytes, call

if TYPE_CHECKING:
    import requests
    import responses
    from flask import Flask

__all__ = [
    "DEFAULT_HOSTS",
    "AsyncMockserverTransport",
    "MockserverTransport",
    "intercept",
    "intercept_httpx",
]

#: The vendors' API hosts. ``router.huggingface.co`` serves ``/hf-inference/models/{id}``,
#: the path current ``huggingface_hub`` uses; ``api-inference`` the legacy ``/models/{id}``.
DEFAULT_HOSTS: tuple[str, ...] = (
    "api.hume.ai",
    "api.x.ai",
    "api.edenai.run",
    "api-inference.huggingface.co",
    "router.huggingface.co",
)
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


@contextmanager
def _in_process(app: Any) -> Iterator[Emulator]:
    """The emulator for ``app``, or a fresh one (plugin defaults) closed on exit."""
    owned = None
    if app is None:
        from mockserver.app import create_app

        from .config import build_settings

        owned = app = create_app(build_settings(), start=True)
    emulator = as_emulator(app)
    if emulator.app is None:
        raise TypeError("interception needs the app in this process, not a URL")
    try:
        yield emulator
    finally:
        if owned is not None:
            owned.extensions["mockserver"].close()


def _refusal(method: str, url: str, hosts: Sequence[str], allow: str) -> str:
    return (
        f"mockserver refused {method} {url}: only {', '.join(hosts)} are routed to the "
        f"emulator and no network is used ({allow} lets other hosts through)"
    )


# --- requests (through responses) ---------------------------------------------------------------


class _Body(io.RawIOBase):
    """The app's body iterator as a raw stream, read lazily (dribbles arrive as dribbles); a
    drop raises ``ConnectionResetError`` from ``read``, which urllib3 reports as a broken
    connection (``requests.exceptions.ChunkedEncodingError``)."""

    def __init__(self, reply: Reply) -> None:
        super().__init__()
        self._reply = reply
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            try:
                self._pending = next(self._reply.chunks)
            except StopIteration:
                self._reply.close()
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def close(self) -> None:
        self._reply.close()
        super().close()


def _requests_callback(app: Flask) -> Callable[[requests.PreparedRequest], Any]:
    import requests
    from urllib3.exceptions import ProtocolError

    def callback(request: requests.PreparedRequest) -> tuple[int, list[tuple[str, str]], Any]:
        try:
            reply = call(
                app,
                str(request.method),
                str(request.url),
                [
                    (k, v if isinstance(v, str) else v.decode("latin-1"))
                    for k, v in request.headers.items()
                ],
                body_bytes(request.body),
            )
        except ConnectionResetError as exc:  # what urllib3 raises when the peer resets
            error = ProtocolError("Connection aborted.", exc)
            raise requests.exceptions.ConnectionError(error, request=request) from exc
        return reply.status, reply.headers, io.BufferedReader(_Body(reply))

    return callback


def _host_pattern(host: str) -> re.Pattern[str]:
    return re.compile(rf"https?://{re.escape(host)}(?::\d+)?(?:[/?#]|$)", re.IGNORECASE)


@contextmanager
def intercept(
    app: Any = None,
    hosts: Sequence[str] = DEFAULT_HOSTS,
    *,
    passthrough: Sequence[str | re.Pattern[str]] = (),
    mock: responses.RequestsMock | None = None,
) -> Iterator[Emulator]:
    """Route every ``requests`` call to ``hosts`` into ``app`` (a fresh in-process emulator when
    ``None``) for the duration; yields the emulator's control handle.

    ``passthrough``: URL prefixes (or patterns) let through to the real network. ``mock``: an
    active ``responses.RequestsMock`` of the test's own to register the routes on (it stays
    the test's to start and stop); by default a private one is started and stopped here.
    """
    import responses as responses_lib

    with _in_process(app) as emulator:
        assert emulator.app is not None
        callback = _requests_callback(emulator.app)
        owned = mock is None
        rmock = responses_lib.RequestsMock(assert_all_requests_are_fired=False) if owned else mock
        assert rmock is not None
        for host in hosts:
            for method in METHODS:
                rmock.add_callback(method, _host_pattern(host), callback, content_type=None)
        for prefix in passthrough:
            rmock.add_passthru(prefix)
        if owned:
            rmock.start()
        try:
            yield emulator
        finally:
            if owned:
                rmock.stop()
                rmock.reset()


# --- httpx --------------------------------------------------------------------------------------


def _read_error(exc: BaseException, request: httpx.Request) -> httpx.ReadError:
    return httpx.ReadError(str(exc), request=request)


class _SyncStream(httpx.SyncByteStream):
    def __init__(self, reply: Reply, request: httpx.Request) -> None:
        self._reply, self._request = reply, request

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._reply.chunks
        except ConnectionResetError as exc:
            raise _read_error(exc, self._request) from exc

    def close(self) -> None:
        self._reply.close()


class _AsyncStream(httpx.AsyncByteStream):
    """Each chunk is produced in a worker thread, so a dribble's pauses do not block the loop."""

    def __init__(self, reply: Reply, request: httpx.Request) -> None:
        self._reply, self._request = reply, request

    async def __aiter__(self) -> Any:
        import anyio.to_thread

        while True:
            try:
                chunk = await anyio.to_thread.run_sync(next, self._reply.chunks, None)
            except ConnectionResetError as exc:
                raise _read_error(exc, self._request) from exc
            if chunk is None:
                return
            yield chunk

    async def aclose(self) -> None:
        self._reply.close()


class _Router:
    """What both transports share: which hosts go to the app, and the call itself."""

    def __init__(self, app: Any, hosts: Sequence[str], allow: str = "fallback=") -> None:
        emulator = as_emulator(app)
        if emulator.app is None:
            raise TypeError("MockserverTransport needs the app in this process, not a URL")
        self.app: Flask = emulator.app
        self.hosts = tuple(h.lower() for h in hosts)
        self.allow = allow

    def routes(self, request: httpx.Request) -> bool:
        return request.url.host.lower() in self.hosts

    def refuse(self, request: httpx.Request) -> httpx.ConnectError:
        message = _refusal(request.method, str(request.url), self.hosts, self.allow)
        return httpx.ConnectError(message, request=request)

    def send(self, request: httpx.Request, body: bytes) -> Reply:
        try:
            return call(
                self.app, request.method, str(request.url), request.headers.multi_items(), body
            )
        except ConnectionResetError as exc:
            raise _read_error(exc, request) from exc

    @staticmethod
    def response(reply: Reply, stream: Any) -> httpx.Response:
        extensions = {"http_version": b"HTTP/1.1", "reason_phrase": reply.reason.encode()}
        return httpx.Response(
            reply.status, headers=reply.headers, stream=stream, extensions=extensions
        )


class MockserverTransport(httpx.BaseTransport):
    """An httpx transport that serves the vendor ``hosts`` from ``app`` in process.

    ``httpx.Client(transport=MockserverTransport(app))`` keeps the client's own base URL (the
    vendor's); other hosts go to ``fallback`` when given, else raise ``httpx.ConnectError``.
    """

    def __init__(
        self,
        app: Any,
        hosts: Sequence[str] = DEFAULT_HOSTS,
        *,
        fallback: httpx.BaseTransport | None = None,
    ) -> None:
        self._router = _Router(app, hosts)
        self._fallback = fallback

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not self._router.routes(request):
            if self._fallback is not None:
                return self._fallback.handle_request(request)
            raise self._router.refuse(request)
        reply = self._router.send(request, request.read())
        return self._router.response(reply, _SyncStream(reply, request))

    def close(self) -> None:
        if self._fallback is not None:
            self._fallback.close()


class AsyncMockserverTransport(httpx.AsyncBaseTransport):
    """:class:`MockserverTransport` for ``httpx.AsyncClient`` (the app runs in worker threads)."""

    def __init__(
        self,
        app: Any,
        hosts: Sequence[str] = DEFAULT_HOSTS,
        *,
        fallback: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._router = _Router(app, hosts)
        self._fallback = fallback

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import anyio.to_thread

        if not self._router.routes(request):
            if self._fallback is not None:
                return await self._fallback.handle_async_request(request)
            raise self._router.refuse(request)
        body = await request.aread()
        send = functools.partial(self._router.send, request, body)
        reply = await anyio.to_thread.run_sync(send)
        return self._router.response(reply, _AsyncStream(reply, request))

    async def aclose(self) -> None:
        if self._fallback is not None:
            await self._fallback.aclose()


def _passes(url: str, passthrough: Sequence[str | re.Pattern[str]]) -> bool:
    return any(
        p.match(url) if isinstance(p, re.Pattern) else url.startswith(p) for p in passthrough
    )


@contextmanager
def intercept_httpx(
    app: Any = None,
    hosts: Sequence[str] = DEFAULT_HOSTS,
    *,
    passthrough: Sequence[str | re.Pattern[str]] = (),
) -> Iterator[Emulator]:
    """Serve every httpx request to ``hosts`` from ``app`` (a fresh emulator when ``None``),
    for clients that build their own ``httpx.Client``/``AsyncClient`` with the default
    transport; yields the emulator's control handle.

    It patches ``httpx.HTTPTransport.handle_request`` and
    ``httpx.AsyncHTTPTransport.handle_async_request`` (public methods of public classes; a
    client with a custom transport is not touched) for the ``with`` block.
    """
    with _in_process(app) as emulator:
        sync = MockserverTransport(emulator, hosts)
        asynchronous = AsyncMockserverTransport(emulator, hosts)
        routed = _Router(emulator, hosts, "passthrough=[prefix]")
        real_sync = httpx.HTTPTransport.handle_request
        real_async = httpx.AsyncHTTPTransport.handle_async_request

        def handle(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
            if routed.routes(request):
                return sync.handle_request(request)
            if _passes(str(request.url), passthrough):
                return real_sync(self, request)
            raise routed.refuse(request)

        async def handle_async(
            self: httpx.AsyncHTTPTransport, request: httpx.Request
        ) -> httpx.Response:
            if routed.routes(request):
                return await asynchronous.handle_async_request(request)
            if _passes(str(request.url), passthrough):
                return await real_async(self, request)
            raise routed.refuse(request)

        with (
            mock.patch.object(httpx.HTTPTransport, "handle_request", handle),
            mock.patch.object(httpx.AsyncHTTPTransport, "handle_async_request", handle_async),
        ):
            yield emulator
