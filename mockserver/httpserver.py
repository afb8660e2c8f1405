"""A small HTTP/1.1 server for WSGI apps: one thread per connection, blocking sockets.

Why not gunicorn any more (figures in ``benchmarks/servers.py`` and the README): the emulator is
one process (state lives in memory) serving a few dozen keep-alive clients, and gunicorn's
``gthread`` worker spent most of each request in its own machinery, a poller that hands every
keep-alive connection back and forth between the main loop and a pool, and a pure-Python parser
that builds far more than a WSGI environ needs: about 1,050 req/s on a bare Flask route on the
2-core machine, where this module serves about 2,700 at 8 clients and 4,400 at one. A request
here is: ``readline`` the request line and the headers from a buffered reader, build the
environ, call the app, write the status line, the headers and the first body chunk with one
``sendall``.

What it does, and what a client sees when it misbehaves:

- **HTTP/1.1 keep-alive** (and HTTP/1.0 with ``Connection: keep-alive``); a connection idle for
  ``keepalive`` seconds between requests is closed; a request must arrive whole within
  ``io_timeout`` (a slow-loris client is cut off).
- **Request bodies** by ``Content-Length`` or ``Transfer-Encoding: chunked``; both at once, a
  malformed length, or another transfer coding is refused (request smuggling, RFC 9112 section
  6.3). ``Expect: 100-continue`` is answered when the app first reads the body, so a request the
  app refuses before reading (a 401, a 413) is not uploaded. A body the app left unread is
  drained (up to ``DRAIN_LIMIT``) so the connection can carry the next request; a larger one
  closes the connection.
- **Limits**: a request line over ``MAX_LINE`` bytes is a 414, more than ``MAX_HEADERS`` header
  fields or ``MAX_HEADER_BYTES`` of them a 431, a malformed request a 400; the connection is
  closed after them. With ``refusals_to_app`` these answers go through the app (``(status,
  message)`` under ``mockserver.reject`` in the environ, with what could be salvaged of the
  method and path), so each carries its provider's error shape like any other refusal.
- **Responses** keep the app's ``Content-Length``; without one, a single-chunk body gets one and
  a streamed body is sent chunked (HTTP/1.1) or ends with the connection (HTTP/1.0).
- **Upgrades and deliberate drops**: the environ carries the connection's socket under
  ``mockserver.socket``. A view that took the socket over (a websocket) or a fault that reset
  it raises :class:`ConnectionAbortedError`, and the server closes the connection without
  writing anything more (``mockserver.websocket``, ``mockserver.faultwire``).
- **Shutdown**: SIGTERM or SIGINT stops accepting, closes idle keep-alive connections, waits up
  to ``grace`` seconds for requests in flight, then returns (the caller closes the app's state).

Header names with an underscore are dropped (as nginx and gunicorn do): ``X_Api_Key`` would
otherwise reach the app as ``X-Api-Key``.
"""

from __future__ import annotations

import contextlib
import email.utils
import io
import json
import logging
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from types import FrameType
from typing import Any
from urllib.parse import unquote_to_bytes

from werkzeug.exceptions import BadRequest as HTTPBadRequest
from werkzeug.exceptions import ClientDisconnected

__all__ = ["HTTPServer", "REJECT_KEY", "SOCKET_KEY"]

log = logging.getLogger("mockserver.http")

#: The environ key of the connection's socket (for websocket upgrades and fault resets).
SOCKET_KEY = "mockserver.socket"
#: The environ key of a request the server refused before the app: ``(status, message)``.
REJECT_KEY = "mockserver.reject"

MAX_LINE = 65536
MAX_HEADERS = 100
MAX_HEADER_BYTES = 65536
MAX_CHUNK_LINE = 1024
DRAIN_LIMIT = 1 << 20

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_NO_BODY_STATUS = ("1", "204", "304")
_TOKEN = frozenset(b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


class Refused(Exception):
    """A request the server refuses before the app sees it: ``(status, message)``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class MalformedBody(HTTPBadRequest):
    """A chunked body that breaks its framing, found while the app reads it: the app answers
    its 400 (in the provider's shape) and the server then closes the connection."""


class _Date:
    """The ``Date`` header value, formatted once a second (not once a request)."""

    def __init__(self) -> None:
        self._second = 0
        self._value = ""

    def __call__(self) -> str:
        now = int(time.time())
        if now != self._second:
            self._value = email.utils.formatdate(now, usegmt=True)
            self._second = now
        return self._value


_date = _Date()


class _Body(io.RawIOBase):
    """A request body of known length read from the connection; answers ``100-continue`` on
    the first read, and tells the server how much was left unread."""

    def __init__(self, reader: io.BufferedReader, length: int, expect: Callable[[], None] | None):
        super().__init__()
        self._reader = reader
        self.remaining = length
        self._expect = expect

    def readable(self) -> bool:
        return True

    def _continue(self) -> None:
        if self._expect is not None:
            expect, self._expect = self._expect, None
            expect()

    @property
    def unsent_continue(self) -> bool:
        """True while the client still waits for a 100 Continue (nothing read yet)."""
        return self._expect is not None

    def readinto(self, buffer: Any) -> int:
        if self.remaining <= 0:
            return 0
        self._continue()
        view = memoryview(buffer)[: self.remaining]
        n = self._reader.readinto(view)
        if not n:
            raise ClientDisconnected()
        self.remaining -= n
        return n

    def read(self, size: int | None = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        self._continue()
        want = self.remaining if size is None or size < 0 else min(size, self.remaining)
        data = self._reader.read(want)
        if len(data) < want:
            raise ClientDisconnected()
        self.remaining -= len(data)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        self._continue()
        limit = self.remaining if size is None or size < 0 else min(size, self.remaining)
        line = self._reader.readline(limit)
        if not line:
            raise ClientDisconnected()
        self.remaining -= len(line)
        return line

    def drain(self, limit: int) -> bool:
        """Read and drop what the app left, if at most ``limit``; False: close instead."""
        if self.remaining == 0:
            return True
        if self.remaining > limit or self.unsent_continue:
            return False
        while self.remaining > 0:
            self.read(min(self.remaining, 65536))
        return True


class _Chunked(io.RawIOBase):
    """A ``Transfer-Encoding: chunked`` request body, decoded (RFC 9112 section 7.1)."""

    def __init__(self, reader: io.BufferedReader, expect: Callable[[], None] | None):
        super().__init__()
        self._reader = reader
        self._left = 0
        self._done = False
        self._expect = expect
        self.total = 0

    def readable(self) -> bool:
        return True

    @property
    def unsent_continue(self) -> bool:
        return self._expect is not None

    def _next_chunk(self) -> None:
        if self._expect is not None:
            expect, self._expect = self._expect, None
            expect()
        line = self._reader.readline(MAX_CHUNK_LINE)
        if not line.endswith(b"\n"):
            raise MalformedBody("malformed chunked body: chunk size line")
        size_text = line.split(b";", 1)[0].strip()
        try:
            if not size_text or any(c not in b"0123456789abcdefABCDEF" for c in size_text):
                raise ValueError
            size = int(size_text, 16)
        except ValueError:
            raise MalformedBody("malformed chunked body: chunk size") from None
        if size == 0:
            self._done = True
            for _ in range(MAX_HEADERS):  # trailers, ignored
                trailer = self._reader.readline(MAX_LINE)
                if trailer in (b"\r\n", b"\n"):
                    return
                if not trailer:
                    raise ClientDisconnected()
            raise MalformedBody("malformed chunked body: too many trailers")
        self._left = size

    def readinto(self, buffer: Any) -> int:
        if self._done:
            return 0
        if self._left == 0:
            self._next_chunk()
            if self._done:
                return 0
        view = memoryview(buffer)[: self._left]
        n = self._reader.readinto(view)
        if not n:
            raise ClientDisconnected()
        self._left -= n
        self.total += n
        if self._left == 0 and self._reader.readline(3) not in (b"\r\n", b"\n"):
            raise MalformedBody("malformed chunked body: chunk not followed by CRLF")
        return n

    def drain(self, limit: int) -> bool:
        if self._done:
            return True
        if self.unsent_continue:
            return False
        start = self.total
        while not self._done:
            if self.total - start > limit:
                return False
            self.read(65536)
        return True


class _Connection:
    """One client connection: requests read and answered in turn, on this thread."""

    def __init__(self, server: HTTPServer, sock: socket.socket, address: tuple[Any, ...]):
        self.server = server
        self.sock = sock
        self.address = address
        self.reader: Any = sock.makefile("rb", 65536)
        self.busy = False

    def run(self) -> None:
        try:
            with contextlib.suppress(OSError):
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while not self.server.stopping:
                self.sock.settimeout(self.server.keepalive)
                if not self._one_request():
                    break
        except (OSError, ValueError):
            pass  # the client went away, timed out, or the socket was taken over
        finally:
            self.busy = False
            with contextlib.suppress(OSError, ValueError):
                self.reader.close()
            with contextlib.suppress(OSError):
                self.sock.close()

    # -- reading ------------------------------------------------------------------------------

    def _request_line(self) -> bytes | None:
        line: bytes = self.reader.readline(MAX_LINE + 1)
        if line in (b"\r\n", b"\n"):  # one empty line before a request is allowed (RFC 9112 2.2)
            line = self.reader.readline(MAX_LINE + 1)
        if not line:
            return None
        self.busy = True
        self.sock.settimeout(self.server.io_timeout)
        return line

    def _one_request(self) -> bool:
        try:
            line = self._request_line()
        except TimeoutError:
            return False
        if line is None:
            return False
        environ = self._base_environ()
        try:
            keep = self._parse(line, environ)
        except Refused as refused:
            if not self.server.refusals_to_app:
                with contextlib.suppress(OSError):
                    self._write_error(refused.status, refused.message)
                return False
            environ[REJECT_KEY] = (refused.status, refused.message)
            environ["wsgi.input"] = io.BytesIO(b"")
            self._respond(environ, keep_alive=False)
            return False
        try:
            return self._respond(environ, keep_alive=keep)
        finally:
            self.busy = False

    def _base_environ(self) -> dict[str, Any]:
        host, port = self.server.address
        return {
            "REQUEST_METHOD": "GET",
            "SCRIPT_NAME": "",
            "PATH_INFO": "/",
            "QUERY_STRING": "",
            "SERVER_NAME": host,
            "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": str(self.address[0]) if self.address else "",
            "REMOTE_PORT": str(self.address[1]) if len(self.address) > 1 else "",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            SOCKET_KEY: self.sock,
        }

    def _parse(self, line: bytes, environ: dict[str, Any]) -> bool:
        """Fill ``environ`` from the request line and headers; return whether to keep alive."""
        if len(line) > MAX_LINE or not line.endswith(b"\n"):
            self._salvage_path(line, environ)
            raise Refused(414, f"request line longer than {MAX_LINE} bytes")
        parts = line.rstrip(b"\r\n").split(b" ")
        if len(parts) != 3 or not parts[0] or not all(c in _TOKEN for c in parts[0]):
            raise Refused(400, "malformed request line")
        method, target, version = parts
        if version not in (b"HTTP/1.1", b"HTTP/1.0"):
            if not version.startswith(b"HTTP/"):
                raise Refused(400, "malformed request line")
            raise Refused(505, f"HTTP version {version.decode('latin-1')} not supported")
        environ["REQUEST_METHOD"] = method.decode("ascii")
        environ["SERVER_PROTOCOL"] = version.decode("ascii")
        self._target(target, environ)
        headers = self._headers(environ)
        connection = headers.get("connection", "").lower()
        keep = (
            ("close" not in connection) if version == b"HTTP/1.1" else ("keep-alive" in connection)
        )
        environ["wsgi.input"] = self._body(headers, environ)
        return keep

    def _target(self, target: bytes, environ: dict[str, Any]) -> None:
        if target.startswith((b"http://", b"https://")):  # absolute form: keep the path
            slash = target.find(b"/", target.find(b"//") + 2)
            target = target[slash:] if slash >= 0 else b"/"
        if not target.startswith(b"/") and target != b"*":
            raise Refused(400, "malformed request target")
        raw = target.decode("latin-1")
        path, _, query = raw.partition("?")
        environ["RAW_URI"] = environ["REQUEST_URI"] = raw
        environ["PATH_INFO"] = unquote_to_bytes(path).decode("latin-1") if "%" in path else path
        environ["QUERY_STRING"] = query

    def _salvage_path(self, line: bytes, environ: dict[str, Any]) -> None:
        """The path of a request line too long to keep, so the 414 carries its provider's
        error shape (the path is short; the query string is what ran long)."""
        parts = line.split(b" ", 2)
        if len(parts) >= 2 and parts[1].startswith(b"/"):
            with contextlib.suppress(Refused):
                self._target(parts[1].split(b"?", 1)[0][:2048], environ)
        environ["QUERY_STRING"] = ""
        with contextlib.suppress(UnicodeDecodeError):
            environ["REQUEST_METHOD"] = parts[0][:16].decode("ascii")

    def _headers(self, environ: dict[str, Any]) -> dict[str, str]:
        """Read the header fields into ``environ``; return the hop-by-hop ones the server
        needs, by lower-case name."""
        wanted: dict[str, str] = {}
        total = 0
        for _ in range(MAX_HEADERS + 1):
            line = self.reader.readline(MAX_HEADER_BYTES + 1)
            if line in (b"\r\n", b"\n"):
                return wanted
            if not line:
                raise ConnectionResetError("client closed the connection mid-headers")
            total += len(line)
            if total > MAX_HEADER_BYTES:
                raise Refused(431, f"request header fields larger than {MAX_HEADER_BYTES} bytes")
            name_bytes, colon, value_bytes = line.partition(b":")
            if not colon or not name_bytes or not all(c in _TOKEN for c in name_bytes):
                raise Refused(400, "malformed header field")
            name = name_bytes.decode("ascii")
            value = value_bytes.strip(b" \t\r\n").decode("latin-1")
            lower = name.lower()
            if lower in ("connection", "transfer-encoding", "expect", "content-length"):
                if lower in wanted and wanted[lower] != value:
                    if lower == "content-length":
                        raise Refused(400, "conflicting Content-Length headers")
                    value = f"{wanted[lower]}, {value}"
                wanted[lower] = value
            if "_" in name:
                continue
            if lower == "content-type":
                environ["CONTENT_TYPE"] = value
                continue
            if lower == "content-length":
                environ["CONTENT_LENGTH"] = value
                continue
            key = "HTTP_" + name.upper().replace("-", "_")
            if key in environ:
                separator = "; " if key == "HTTP_COOKIE" else ", "
                value = environ[key] + separator + value
            environ[key] = value
        raise Refused(431, f"more than {MAX_HEADERS} request header fields")

    def _body(self, headers: dict[str, str], environ: dict[str, Any]) -> io.RawIOBase:
        expect = None
        continues = environ["SERVER_PROTOCOL"] == "HTTP/1.1"
        if continues and headers.get("expect", "").lower() == "100-continue":
            expect = self._send_continue
        coding = headers.get("transfer-encoding")
        length = headers.get("content-length")
        if coding is not None:
            if length is not None:
                raise Refused(400, "both Content-Length and Transfer-Encoding")
            if coding.lower() != "chunked":
                raise Refused(501, f"Transfer-Encoding {coding!r} not supported")
            environ["wsgi.input_terminated"] = True
            return _Chunked(self.reader, expect)
        if length is None:
            return _Body(self.reader, 0, None)
        if not length.isdigit() or len(length) > 18:
            raise Refused(400, f"malformed Content-Length {length[:32]!r}")
        return _Body(self.reader, int(length), expect)

    def _send_continue(self) -> None:
        self.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")

    # -- answering ----------------------------------------------------------------------------

    def _respond(self, environ: dict[str, Any], *, keep_alive: bool) -> bool:
        """Run the app and write its response; return whether the connection stays open."""
        state: list[Any] = [None, None, False]  # status, headers, headers sent

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            if exc_info is not None and state[2]:
                raise exc_info[1].with_traceback(exc_info[2])
            state[0], state[1] = status, headers
            return write

        pending: list[bytes] = []

        def write(data: bytes) -> None:  # the legacy WSGI write(): rare, kept correct
            pending.append(data)

        body = environ["wsgi.input"]
        result: Iterable[bytes] | None = None
        try:
            result = self.server.app(environ, start_response)
            keep_alive = self._write(environ, result, state, pending, keep_alive)
        except ConnectionAbortedError:
            return False  # the view took the socket over, or a fault dropped it: write nothing
        except OSError:
            return False
        except Exception:
            log.exception(
                "unhandled error serving %s %s", environ["REQUEST_METHOD"], environ["PATH_INFO"]
            )
            if not state[2]:
                with contextlib.suppress(OSError):
                    self._write_error(500, "internal server error")
            return False
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    close()
        if not keep_alive or self.server.stopping:
            return False
        try:
            return bool(body.drain(DRAIN_LIMIT))
        except Exception:  # the client vanished mid-body, or its chunked framing broke
            return False

    def _write(
        self,
        environ: dict[str, Any],
        result: Iterable[bytes],
        state: list[Any],
        pending: list[bytes],
        keep_alive: bool,
    ) -> bool:
        chunks = iter(result)
        first = b""
        for first in chunks:  # the first non-empty chunk: start_response may come only now
            if first:
                break
        if state[0] is None:
            raise RuntimeError("the app returned without calling start_response")
        status: str = state[0]
        headers: list[tuple[str, str]] = state[1]
        if pending:
            first = b"".join(pending) + first
            pending.clear()
        no_body = environ["REQUEST_METHOD"] == "HEAD" or status.startswith(_NO_BODY_STATUS)
        names = {name.lower() for name, _ in headers}
        chunked = False
        rest: Any = chunks
        if "content-length" not in names and not status.startswith(_NO_BODY_STATUS):
            if isinstance(result, (list, tuple)) and len(result) <= 1:
                headers = [*headers, ("Content-Length", str(len(first)))]
            elif no_body:
                pass  # a streamed HEAD: no length to give, and nothing to send
            elif environ["SERVER_PROTOCOL"] == "HTTP/1.1":
                headers = [*headers, ("Transfer-Encoding", "chunked")]
                chunked = True
            else:
                keep_alive = False
        if no_body:
            first, rest = b"", ()
        if environ["SERVER_PROTOCOL"] == "HTTP/1.0":
            if keep_alive:
                headers = [*headers, ("Connection", "keep-alive")]
        elif not keep_alive or self.server.stopping:
            headers = [*headers, ("Connection", "close")]
        if "date" not in names:
            headers = [*headers, ("Date", _date())]
        head = "".join(
            [f"{environ['SERVER_PROTOCOL']} {status}\r\n"]
            + [f"{name}: {value}\r\n" for name, value in headers]
            + ["\r\n"]
        ).encode("latin-1")
        state[2] = True
        send = self.sock.sendall
        if chunked:
            send(head + (b"%x\r\n%s\r\n" % (len(first), first) if first else b""))
            for chunk in rest:
                if chunk:
                    send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            send(b"0\r\n\r\n")
            return keep_alive
        send(head + first)
        for chunk in rest:
            if chunk:
                send(chunk)
        return keep_alive

    def _write_error(self, status: int, message: str) -> None:
        body = json.dumps({"error": message}).encode()
        reason = HTTPStatus(status).phrase.encode()
        self.sock.sendall(
            b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n%s" % (status, reason, len(body), body)
        )


class HTTPServer:
    """``HTTPServer(app, host, port).serve_forever()``: until SIGTERM/SIGINT or :meth:`stop`."""

    def __init__(
        self,
        app: WSGIApp,
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        max_connections: int = 256,
        keepalive: float = 5.0,
        io_timeout: float = 60.0,
        grace: float = 5.0,
        backlog: int = 1024,
        refusals_to_app: bool = False,
    ) -> None:
        self.app = app
        self.refusals_to_app = refusals_to_app
        self.keepalive = keepalive
        self.io_timeout = io_timeout
        self.grace = grace
        self.stopping = False
        self._slots = threading.BoundedSemaphore(max_connections)
        self._connections: set[_Connection] = set()
        self._lock = threading.Lock()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listener = socket.socket(family, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, port))
        self._listener.listen(backlog)
        bound = self._listener.getsockname()
        self.address: tuple[str, int] = (str(bound[0]), int(bound[1]))

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def serve_forever(self, *, handle_signals: bool = True) -> None:
        """Accept connections until stopped; SIGTERM and SIGINT stop it when ``handle_signals``
        (the main thread only). Returns once in-flight requests finished or ``grace`` passed."""
        previous: dict[signal.Signals, Any] = {}
        if handle_signals:
            for signum in (signal.SIGTERM, signal.SIGINT):
                previous[signum] = signal.signal(signum, self._on_signal)
        try:
            while not self.stopping:
                self._slots.acquire()
                try:
                    sock, address = self._listener.accept()
                except OSError:
                    self._slots.release()
                    if self.stopping:
                        break
                    continue
                except BaseException:
                    self._slots.release()
                    raise
                connection = _Connection(self, sock, address)
                with self._lock:
                    self._connections.add(connection)
                threading.Thread(
                    target=self._run, args=(connection,), name="mockserver-http", daemon=True
                ).start()
        except _Stop:
            pass
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self._drain()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True
        raise _Stop

    def stop(self) -> None:
        """Stop accepting (from any thread); :meth:`serve_forever` then drains and returns."""
        self.stopping = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)

    def _run(self, connection: _Connection) -> None:
        try:
            connection.run()
        finally:
            with self._lock:
                self._connections.discard(connection)
            self._slots.release()

    def _drain(self) -> None:
        self.stopping = True
        with contextlib.suppress(OSError):
            self._listener.close()
        deadline = time.monotonic() + self.grace
        while True:
            with self._lock:
                live = list(self._connections)
            for connection in live:
                if not connection.busy:  # idle keep-alive: wake its reader so it ends now
                    with contextlib.suppress(OSError):
                        connection.sock.shutdown(socket.SHUT_RDWR)
            if not live or time.monotonic() >= deadline:
                return
            time.sleep(0.02)


class _Stop(Exception):
    """Raised in the main thread by the signal handler to leave ``accept``."""
