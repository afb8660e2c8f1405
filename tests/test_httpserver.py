"""``mockserver.httpserver`` on the wire: raw sockets, so every framing rule is seen as a client
sees it (keep-alive, chunked bodies, ``100-continue``, limits, drains, streamed responses)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mockserver import httpserver
from mockserver.app import create_app
from mockserver.httpserver import HTTPServer
from mockserver.settings import Settings

WSGIEnviron = dict[str, Any]


def echo_app(environ: WSGIEnviron, start_response: Callable[..., Any]) -> Any:
    """Echoes what the server made of the request; a few paths misbehave on purpose."""
    path = environ["PATH_INFO"]
    if path == "/refuse":  # answers without reading the body
        start_response("401 Unauthorized", [("Content-Type", "text/plain")])
        return [b"no"]
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter([b"one,", b"", b"two,", b"three"])
    if path == "/boom":
        raise RuntimeError("boom")
    if path == "/legacy-write":
        write = start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
        write(b"he")
        return [b"llo"]
    if path == "/slow":
        time.sleep(0.5)
    body = environ["wsgi.input"].read()
    seen = {
        "method": environ["REQUEST_METHOD"],
        "path": path,
        "query": environ["QUERY_STRING"],
        "body": body.decode("latin-1"),
        "headers": sorted(k for k in environ if k.startswith("HTTP_")),
        "protocol": environ["SERVER_PROTOCOL"],
    }
    out = json.dumps(seen).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [out]


@pytest.fixture
def serve() -> Iterator[Callable[..., HTTPServer]]:
    started: list[tuple[HTTPServer, threading.Thread]] = []

    def start(app: Any = echo_app, **options: Any) -> HTTPServer:
        server = HTTPServer(app, "127.0.0.1", 0, **options)
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"handle_signals": False}, daemon=True
        )
        thread.start()
        started.append((server, thread))
        return server

    yield start
    for wire in Wire.opened:
        wire.close()
    Wire.opened.clear()
    for server, thread in started:
        server.stop()
        thread.join(10)
        assert not thread.is_alive()


class Wire:
    """A raw client connection: send bytes, read whole responses."""

    opened: list[Wire] = []  # closed by the ``serve`` fixture

    def __init__(self, server: HTTPServer) -> None:
        self.sock = socket.create_connection(server.address, timeout=5)
        self.buffer = b""
        Wire.opened.append(self)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self.buffer += data
        return bool(data)

    def response(self, to_head: bool = False) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buffer:
            assert self._fill(), f"connection closed; got {self.buffer!r}"
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        if to_head or status < 200 or status in (204, 304):
            body = b""
        elif "content-length" in headers:
            length = int(headers["content-length"])
            while len(self.buffer) < length:
                assert self._fill()
            body, self.buffer = self.buffer[:length], self.buffer[length:]
        elif headers.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                while b"\r\n" not in self.buffer:
                    assert self._fill()
                size_line, self.buffer = self.buffer.split(b"\r\n", 1)
                size = int(size_line, 16)
                while len(self.buffer) < size + 2:
                    assert self._fill()
                body += self.buffer[:size]
                self.buffer = self.buffer[size + 2 :]
                if size == 0:
                    break
        else:
            while self._fill():
                pass
            body, self.buffer = self.buffer, b""
        return status, headers, body

    def closed(self, timeout: float = 5.0) -> bool:
        """True when the server closed the connection (EOF or reset) within ``timeout``."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        self.sock.close()


def test_keep_alive_carries_requests_in_turn_and_decodes_the_target(serve: Any) -> None:
    wire = Wire(serve())
    wire.send(b"GET /a%20b/%C3%A9?x=1&y=%20 HTTP/1.1\r\nHost: h\r\nX-Key: k\r\n\r\n")
    status, headers, body = wire.response()
    seen = json.loads(body)
    assert status == 200 and "date" in headers and headers["content-length"] == str(len(body))
    assert seen["path"] == "/a b/\xc3\xa9"  # WSGI: the decoded bytes as latin-1 (PEP 3333)
    assert seen["query"] == "x=1&y=%20"
    wire.send(b"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello")
    assert json.loads(wire.response()[2])["body"] == "hello"
    wire.send(b"GET /last HTTP/1.1\r\nConnection: close\r\n\r\n")
    status, headers, _ = wire.response()
    assert headers["connection"] == "close" and wire.closed()


def test_http_10_closes_unless_asked_to_keep_alive(serve: Any) -> None:
    server = serve()
    wire = Wire(server)
    wire.send(b"GET / HTTP/1.0\r\n\r\n")
    assert json.loads(wire.response()[2])["protocol"] == "HTTP/1.0"
    assert wire.closed()
    wire = Wire(server)
    wire.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert wire.response()[1]["connection"] == "keep-alive"
    wire.send(b"GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    status, headers, body = wire.response()  # no length, no chunking in 1.0: ends with the close
    assert body == b"one,two,three" and "transfer-encoding" not in headers


def test_chunked_request_bodies_are_decoded_and_broken_framing_is_a_400(serve: Any) -> None:
    server = serve()
    wire = Wire(server)
    wire.send(
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n"
    )
    assert json.loads(wire.response()[2])["body"] == "hello world"
    wire.send(b"GET /again HTTP/1.1\r\n\r\n")  # the connection is still in step
    assert json.loads(wire.response()[2])["path"] == "/again"

    wire = Wire(serve(create_app(Settings()), refusals_to_app=True))
    wire.send(
        b"POST /v0/batch/jobs HTTP/1.1\r\nX-Hume-Api-Key: k\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
    )
    status, _, body = wire.response()
    assert status == 400 and b"chunk size" in body
    assert wire.closed()


def test_expect_100_continue_is_answered_only_when_the_body_is_read(serve: Any) -> None:
    server = serve()
    wire = Wire(server)
    wire.send(b"POST /read HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
    status, _, _ = wire.response()
    assert status == 100
    wire.send(b"abc")
    assert json.loads(wire.response()[2])["body"] == "abc"

    wire = Wire(server)
    wire.send(b"POST /refuse HTTP/1.1\r\nContent-Length: 9999\r\nExpect: 100-continue\r\n\r\n")
    status, _, body = wire.response()
    assert (status, body) == (401, b"no")  # no 100 first: the client need not upload
    assert wire.closed()  # the client may or may not send the body now: not reusable


def test_an_unread_body_is_drained_and_a_large_one_closes(serve: Any) -> None:
    server = serve()
    wire = Wire(server)
    wire.send(b"POST /refuse HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody")
    assert wire.response()[0] == 401
    wire.send(b"GET /next HTTP/1.1\r\n\r\n")
    assert json.loads(wire.response()[2])["path"] == "/next"

    wire = Wire(server)
    big = httpserver.DRAIN_LIMIT + 1
    wire.send(b"POST /refuse HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % big)
    assert wire.response()[0] == 401
    assert wire.closed()


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: 3x\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        (b"GET / HTTP/2.0\r\n\r\n", 505),
        (b"GET /\r\n\r\n", 400),
        (b"G@T / HTTP/1.1\r\n\r\n", 400),
        (b"GET nowhere HTTP/1.1\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nno-colon\r\n\r\n", 400),
    ],
)
def test_malformed_requests_are_refused_and_the_connection_closed(
    serve: Any, request_bytes: bytes, status: int
) -> None:
    wire = Wire(serve())
    wire.send(request_bytes)
    assert wire.response()[0] == status
    assert wire.closed()


def test_limits_answer_in_the_provider_shape(serve: Any) -> None:
    server = serve(create_app(Settings()), refusals_to_app=True)
    wire = Wire(server)
    query = b"q=" + b"x" * httpserver.MAX_LINE
    wire.send(b"GET /v0/batch/jobs?" + query + b" HTTP/1.1\r\nX-Hume-Api-Key: k\r\n\r\n")
    status, _, body = wire.response()
    assert status == 414, body
    assert json.loads(body)["message"].startswith("request line longer than")  # Hume's shape
    assert wire.closed()

    wire = Wire(server)
    fields = b"".join(b"X-F%d: v\r\n" % n for n in range(httpserver.MAX_HEADERS + 1))
    wire.send(b"GET /v1/batches HTTP/1.1\r\n" + fields + b"\r\n")
    status, _, body = wire.response()
    assert status == 431 and "error" in json.loads(body)  # xAI's shape: {"code", "error"}
    assert wire.closed()

    wire = Wire(server)
    wire.send(
        b"GET /_mock/health HTTP/1.1\r\nX-Big: " + b"y" * httpserver.MAX_HEADER_BYTES + b"\r\n\r\n"
    )
    assert wire.response()[0] == 431


def test_streamed_responses_are_chunked_and_head_has_no_body(serve: Any) -> None:
    wire = Wire(serve())
    wire.send(b"GET /stream HTTP/1.1\r\n\r\n")
    status, headers, body = wire.response()
    assert headers["transfer-encoding"] == "chunked" and body == b"one,two,three"
    wire.send(b"HEAD / HTTP/1.1\r\n\r\n")
    status, headers, body = wire.response(to_head=True)
    assert status == 200 and body == b"" and headers["content-length"] != "0"
    wire.send(b"GET /legacy-write HTTP/1.1\r\n\r\n")
    assert wire.response()[2] == b"hello"


def test_underscore_headers_are_dropped(serve: Any) -> None:
    wire = Wire(serve())
    wire.send(b"GET / HTTP/1.1\r\nX_Api_Key: a\r\nX-Api-Key: b\r\nX-Api-Key: c\r\n\r\n")
    assert json.loads(wire.response()[2])["headers"] == ["HTTP_X_API_KEY"]


def test_an_app_error_is_a_500_and_the_connection_closes(serve: Any) -> None:
    wire = Wire(serve())
    wire.send(b"GET /boom HTTP/1.1\r\n\r\n")
    status, _, body = wire.response()
    assert status == 500 and json.loads(body) == {"error": "internal server error"}
    assert wire.closed()


def test_idle_and_slow_clients_are_cut_off(serve: Any) -> None:
    server = serve(keepalive=0.2, io_timeout=0.3)
    idle = Wire(server)
    assert idle.closed(timeout=3)
    slow = Wire(server)
    slow.send(b"GET / HTTP/1.1\r\n")  # and never the rest
    assert slow.closed(timeout=3)


def test_connections_beyond_the_cap_wait_their_turn(serve: Any) -> None:
    server = serve(max_connections=1, keepalive=0.3)
    first = Wire(server)
    first.send(b"GET /slow HTTP/1.1\r\n\r\n")
    second = Wire(server)  # accepted by the kernel, served once the first slot frees
    second.send(b"GET /second HTTP/1.1\r\n\r\n")
    assert first.response()[0] == 200
    assert json.loads(second.response()[2])["path"] == "/second"


def test_stop_closes_idle_connections_and_finishes_requests_in_flight(serve: Any) -> None:
    server = serve()
    idle = Wire(server)
    idle.send(b"GET / HTTP/1.1\r\n\r\n")
    idle.response()
    busy = Wire(server)
    busy.send(b"GET /slow HTTP/1.1\r\n\r\n")
    time.sleep(0.1)
    server.stop()
    status, headers, _ = busy.response()
    assert status == 200 and headers["connection"] == "close"
    assert idle.closed()
