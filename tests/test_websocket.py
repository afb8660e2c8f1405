"""ServerWebSocket: the handshake and frames in process (a socketpair and wsproto as the client),
then real servers (Werkzeug's threaded server, the project's own ``mockserver.httpserver``)
driven by the `websockets` client and by a raw socket where a client must misbehave (not read,
flood).

Every wait is bounded: client calls carry timeouts and every server view ends on its own.
"""

from __future__ import annotations

import functools
import logging
import os
import queue
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, Response, current_app, jsonify, request
from websockets.exceptions import ConnectionClosed as ClientClosed
from websockets.sync.client import ClientConnection, connect
from werkzeug.serving import make_server
from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Event, Ping

from mockserver.websocket import (
    ConnectionClosed,
    HandshakeError,
    SendTimeout,
    ServerWebSocket,
    accept_key,
    is_websocket_request,
)
from tests.serverproc import free_port
from tests.wsclient import raw_upgrade

SAMPLE_KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 section 1.3
VIEW_LIMIT = 20.0  # no server view outlives this, whatever a test does

# -- a tiny app (also the production runner's app: tests.test_websocket:build_app) ---------------


def build_app() -> Flask:
    """Websocket views that report how each conversation ended (``/events``)."""
    app = Flask(__name__)
    app.extensions["ws_events"] = queue.Queue()
    app.extensions["ws_live"] = queue.Queue()
    app.extensions["ws_go"] = threading.Event()
    for name, body in _VIEWS.items():
        view = _websocket_view(name, body)
        # Werkzeug's router sends an upgrade only to rules marked websocket (any other rule
        # answers 400 WebsocketMismatch); the plain rule lets a bare GET reach HandshakeError.
        app.add_url_rule(f"/{name}", name, view, websocket=True)
        app.add_url_rule(f"/{name}", name, view)

    @app.get("/events")
    def events() -> Response:
        drained: list[dict[str, Any]] = []
        while not current_app.extensions["ws_events"].empty():
            drained.append(current_app.extensions["ws_events"].get())
        return jsonify(drained)

    return app


def _websocket_view(name: str, body: Callable[[ServerWebSocket], dict[str, Any]]) -> Any:
    def view() -> Any:
        args = request.args
        try:
            ws = ServerWebSocket(
                request.environ,
                max_message_size=int(args.get("max", 1 << 20)),
                ping_interval=float(args["pi"]) if "pi" in args else None,
                ping_timeout=float(args["pt"]) if "pt" in args else None,
            )
        except HandshakeError as exc:
            return Response(str(exc), exc.status, exc.headers)
        record: dict[str, Any] = {"view": name, "error": None}
        try:
            record.update(body(ws))
        except ConnectionClosed as exc:
            record.update(error=type(exc).__name__, code=exc.code, reason=exc.reason)
        record.update(close_code=ws.close_code, close_reason=ws.close_reason)
        response = ws.response()
        current_app.extensions["ws_events"].put(record)
        return response

    return functools.update_wrapper(view, body)


def _echo(ws: ServerWebSocket) -> dict[str, Any]:
    """Echo until the peer closes; ``close:CODE:REASON`` makes the server close instead."""
    deadline = time.monotonic() + VIEW_LIMIT
    while time.monotonic() < deadline:
        message = ws.receive(timeout=1.0)
        if isinstance(message, str) and message.startswith("close:"):
            _, code, reason = message.split(":", 2)
            ws.close(int(code), reason)
            return {}
        if message is not None:
            ws.send(message)
    ws.close(1001, "view limit")
    return {}


def _flood(ws: ServerWebSocket) -> dict[str, Any]:
    """Send 1 MiB frames to a client that may not read: ``send`` must block, then time out."""
    started, sent = time.monotonic(), 0
    try:
        for _ in range(int(request.args.get("n", "64"))):
            ws.send(b"x" * (1 << 20), timeout=0.5)
            sent += 1
    except SendTimeout as exc:
        return {
            "error": "SendTimeout",
            "code": exc.code,
            "sent": sent,
            "elapsed": time.monotonic() - started,
        }
    return {"sent": sent, "elapsed": time.monotonic() - started}


def _count(ws: ServerWebSocket) -> dict[str, Any]:
    """Read nothing until the test says go, then count messages until the peer goes."""
    current_app.extensions["ws_go"].wait(VIEW_LIMIT / 2)
    received = 0
    try:
        while ws.receive(timeout=VIEW_LIMIT / 2) is not None:
            received += 1
    except ConnectionClosed as exc:
        return {"error": type(exc).__name__, "code": exc.code, "received": received}
    return {"received": received}


def _wake(ws: ServerWebSocket) -> dict[str, Any]:
    """Block in ``receive`` until another thread wakes it; tell the client how long it took."""
    current_app.extensions["ws_live"].put(ws)
    started = time.monotonic()
    message = ws.receive(timeout=VIEW_LIMIT / 2)
    waited = time.monotonic() - started
    ws.send(f"woken:{message!r}:{waited:.3f}")
    return {"waited": waited, "message": message}


_VIEWS: dict[str, Callable[[ServerWebSocket], dict[str, Any]]] = {
    "echo": _echo,
    "flood": _flood,
    "count": _count,
    "wake": _wake,
}


def _event(app: Flask, view: str, timeout: float = 5.0) -> dict[str, Any]:
    """The next record of ``view`` (records of other views are dropped)."""
    events: queue.Queue[dict[str, Any]] = app.extensions["ws_events"]
    deadline = time.monotonic() + timeout
    while True:
        record = events.get(timeout=max(0.01, deadline - time.monotonic()))
        if record["view"] == view:
            return record


# -- in-process: a socketpair stands in for the server's socket --------------------------------


def _environ(sock: socket.socket | None = None, /, **headers: str) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_UPGRADE": "websocket",
        "HTTP_CONNECTION": "Upgrade",
        "HTTP_SEC_WEBSOCKET_VERSION": "13",
        "HTTP_SEC_WEBSOCKET_KEY": SAMPLE_KEY,
    }
    if sock is not None:
        environ["werkzeug.socket"] = sock
    environ.update(headers)
    return environ


def _client_frame(opcode: int, payload: bytes, *, fin: bool = True, masked: bool = True) -> bytes:
    """One client frame, masked as RFC 6455 section 5.3 requires (unless told otherwise)."""
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    bit = 0x80 if masked else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 65536:
        head += bytes([bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", n)
    if not masked:
        return head + payload
    mask = os.urandom(4)
    key = (mask * (n // 4 + 1))[:n]
    body = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")
    return head + mask + body


def _server_events(sock: socket.socket, wanted: type[Event], timeout: float = 2.0) -> list[Event]:
    """Read the server's frames until one of type ``wanted`` (or EOF) arrives."""
    client = Connection(ConnectionType.CLIENT)
    events: list[Event] = []
    sock.settimeout(timeout)
    while not any(isinstance(e, wanted) for e in events):
        data = sock.recv(65536)
        if not data:
            break
        client.receive_data(data)
        events.extend(client.events())
    return events


@pytest.fixture
def pair() -> Iterator[Callable[..., tuple[ServerWebSocket, socket.socket]]]:
    """Build ServerWebSockets on socketpairs; the 101 head is consumed from the client end."""
    made: list[tuple[ServerWebSocket, socket.socket, socket.socket]] = []

    def build(**options: Any) -> tuple[ServerWebSocket, socket.socket]:
        server, client = socket.socketpair()
        ws = ServerWebSocket(_environ(server), **{"ping_interval": None, **options})
        made.append((ws, server, client))
        client.settimeout(2)
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            head += client.recv(1)
        return ws, client

    yield build
    for ws, server, client in made:
        client.close()  # first, so close() finds no one to wait for
        ws.close()
        server.close()


def test_accept_key_is_the_rfc_sample() -> None:
    assert accept_key(SAMPLE_KEY) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, True),
        ({"HTTP_CONNECTION": "keep-alive, UPGRADE", "HTTP_UPGRADE": "WebSocket"}, True),
        ({"HTTP_CONNECTION": "keep-alive"}, False),
        ({"HTTP_UPGRADE": "h2c"}, False),
        ({"REQUEST_METHOD": "POST"}, False),
    ],
)
def test_is_websocket_request(changes: dict[str, str], expected: bool) -> None:
    assert is_websocket_request(_environ(**changes)) is expected


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"HTTP_UPGRADE": ""}, 400),
        ({"SERVER_PROTOCOL": "HTTP/1.0"}, 400),
        ({"HTTP_SEC_WEBSOCKET_VERSION": "8"}, 426),
        ({"HTTP_SEC_WEBSOCKET_KEY": "c2hvcnQ="}, 400),
        ({"HTTP_SEC_WEBSOCKET_KEY": "not base64!"}, 400),
    ],
)
def test_handshake_rejects_a_bad_upgrade(changes: dict[str, str], status: int) -> None:
    server, client = socket.socketpair()
    with server, client, pytest.raises(HandshakeError) as info:
        ServerWebSocket(_environ(server, **changes))
    assert info.value.status == status
    if status == 426:
        assert info.value.headers == {"Sec-WebSocket-Version": "13"}


def test_handshake_needs_a_raw_socket() -> None:
    with pytest.raises(HandshakeError) as info:
        ServerWebSocket(_environ())
    assert info.value.status == 501


def test_handshake_writes_101_and_declines_deflate() -> None:
    server, client = socket.socketpair()
    with server, client:
        offer = "permessage-deflate; client_max_window_bits"
        ws = ServerWebSocket(_environ(server, HTTP_SEC_WEBSOCKET_EXTENSIONS=offer))
        client.settimeout(2)
        head = client.recv(4096).decode("ascii")
        client.close()
        ws.close()
    lines = head.split("\r\n")
    assert lines[0] == "HTTP/1.1 101 Switching Protocols"
    assert "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in lines
    assert "extensions" not in head.lower()


def test_messages_fragments_and_pings_in_process(pair: Callable[..., Any]) -> None:
    ws, client = pair()
    client.sendall(
        _client_frame(0x1, "héllo".encode())
        + _client_frame(0x2, b"\x00\x01")
        + _client_frame(0x1, b"frag", fin=False)
        + _client_frame(0x9, b"are you there")  # a ping between fragments
        + _client_frame(0x0, b" ment", fin=False)
        + _client_frame(0x0, "é".encode())
    )
    assert ws.receive(timeout=1) == "héllo"
    assert ws.receive(timeout=1) == b"\x00\x01"
    assert ws.receive(timeout=1) == "frag menté"
    ws.send("out")
    ws.send(b"\xff")
    events = _server_events(client, BytesMessage)
    assert [type(e).__name__ for e in events] == ["Pong", "TextMessage", "BytesMessage"]
    assert events[0].payload == b"are you there"  # type: ignore[attr-defined]
    assert events[1].data == "out" and events[2].data == b"\xff"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("frames", "code"),
    [
        ([_client_frame(0x1, b"\xff\xfe")], 1007),  # not UTF-8
        ([_client_frame(0x2, b"hi", masked=False)], 1002),  # clients must mask
        ([_client_frame(0x2, b"x" * 101)], 1009),
        ([_client_frame(0x2, b"x" * 60, fin=False), _client_frame(0x0, b"x" * 60)], 1009),
    ],
)
def test_bad_frames_close_with_the_rfc_code(
    pair: Callable[..., Any], frames: list[bytes], code: int
) -> None:
    ws, client = pair(max_message_size=100)
    client.sendall(b"".join(frames))
    with pytest.raises(ConnectionClosed) as info:
        ws.receive(timeout=1)
    assert info.value.code == code == ws.close_code and ws.closed
    close = _server_events(client, CloseConnection)[-1]
    assert isinstance(close, CloseConnection) and close.code == code
    with pytest.raises(ConnectionClosed):
        ws.send("too late")


def test_peer_close_is_answered_and_raised(pair: Callable[..., Any]) -> None:
    ws, client = pair()
    client.sendall(
        _client_frame(0x1, b"last") + _client_frame(0x8, struct.pack("!H", 4000) + b"bye")
    )
    assert ws.receive(timeout=1) == "last"  # what came before the close is still delivered
    with pytest.raises(ConnectionClosed) as info:
        ws.receive(timeout=1)
    assert (info.value.code, info.value.reason) == (4000, "bye")
    assert (ws.close_code, ws.close_reason) == (4000, "bye")
    reply = _server_events(client, CloseConnection)[-1]
    assert isinstance(reply, CloseConnection) and reply.code == 4000
    assert client.recv(10) == b""  # and then the server shut the socket down


def test_receive_timeout_and_wake(pair: Callable[..., Any]) -> None:
    ws, _ = pair()
    started = time.monotonic()
    assert ws.receive(timeout=0.1) is None
    assert 0.09 <= time.monotonic() - started < 1.0
    ws.wake()
    ws.wake()  # wakes before a receive coalesce into one None
    started = time.monotonic()
    assert ws.receive(timeout=5) is None
    assert ws.receive(timeout=0.1) is None
    assert 0.09 <= time.monotonic() - started < 1.0


def test_keepalive_pings_and_closes_1011_without_pong(pair: Callable[..., Any]) -> None:
    ws, client = pair(ping_interval=0.05, ping_timeout=0.6)
    assert ws.receive(timeout=0.15) is None  # a ping went out meanwhile
    ping = _server_events(client, Ping)[-1]
    assert isinstance(ping, Ping)
    client.sendall(_client_frame(0xA, ping.payload))  # answered: the connection lives on
    assert ws.receive(timeout=0.2) is None and not ws.closed
    started = time.monotonic()
    with pytest.raises(ConnectionClosed) as info:  # the next pings go unanswered
        ws.receive(timeout=5)
    assert info.value.code == 1011 and time.monotonic() - started < 3.0
    close = _server_events(client, CloseConnection)[-1]
    assert isinstance(close, CloseConnection) and close.code == 1011


def test_send_times_out_when_the_peer_does_not_read(pair: Callable[..., Any]) -> None:
    ws, _ = pair()
    started = time.monotonic()
    with pytest.raises(SendTimeout):
        ws.send(b"x" * (16 << 20), timeout=0.2)
    assert time.monotonic() - started < 2.0
    assert ws.closed and ws.close_code == 1006
    with pytest.raises(ConnectionClosed):
        ws.send("after")
    with pytest.raises(ConnectionClosed):
        ws.receive(timeout=0.1)


# -- real servers ------------------------------------------------------------------------------


@pytest.fixture
def werkzeug() -> Iterator[tuple[Flask, int]]:
    """Werkzeug's threaded server on 127.0.0.1, in a thread of this process."""
    app = build_app()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield app, server.server_port
    finally:
        app.extensions["ws_go"].set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def _connect(port: int, path: str) -> ClientConnection:
    return connect(
        f"ws://127.0.0.1:{port}{path}",
        open_timeout=5,
        close_timeout=2,
        ping_interval=None,
        proxy=None,
    )


def _nothing_after_the_close_frame(port: int) -> None:
    """After the server's close frame and our reply, the stream ends: no HTTP status line."""
    with raw_upgrade(port, "/echo") as sock:
        sock.sendall(_client_frame(0x1, b"close:4003:bye"))
        expected = b"\x88\x05" + struct.pack("!H", 4003) + b"bye"
        received = b""
        while len(received) < len(expected):
            chunk = sock.recv(65536)
            assert chunk, received
            received += chunk
        sock.sendall(_client_frame(0x8, struct.pack("!H", 4003)))
        sock.settimeout(5)
        while chunk := sock.recv(65536):
            received += chunk
    assert received == expected


def test_werkzeug_round_trips_text_binary_fragments_and_pings(werkzeug: tuple[Flask, int]) -> None:
    app, port = werkzeug
    with _connect(port, "/echo") as ws:
        assert ws.protocol.extensions == []  # deflate offered, declined
        ws.send("héllo")
        assert ws.recv(timeout=5) == "héllo"
        ws.send(b"\x00" * 70000)
        assert ws.recv(timeout=5) == b"\x00" * 70000
        ws.send(["frag", "men", "ted"])
        assert ws.recv(timeout=5) == "fragmented"
        assert ws.ping(b"hi").wait(5)
        ws.close(4001, "client done")
    record = _event(app, "echo")
    assert (record["error"], record["code"], record["reason"]) == (
        "ConnectionClosed",
        4001,
        "client done",
    )


def test_werkzeug_server_close_code_and_reason_reach_the_client(
    werkzeug: tuple[Flask, int], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="werkzeug")
    app, port = werkzeug
    with _connect(port, "/echo") as ws:
        ws.send("close:4002:server done")
        with pytest.raises(ClientClosed) as info:
            ws.recv(timeout=5)
    assert info.value.rcvd is not None
    assert (info.value.rcvd.code, info.value.rcvd.reason) == (4002, "server done")
    assert _event(app, "echo")["close_code"] == 4002
    _nothing_after_the_close_frame(port)
    # ws.response() ended both requests before Werkzeug wrote (or logged) a status line
    assert not [r for r in caplog.records if "/echo" in r.getMessage()]


def test_werkzeug_oversized_message_closes_1009(werkzeug: tuple[Flask, int]) -> None:
    app, port = werkzeug
    with _connect(port, "/echo?max=1000") as ws:
        ws.send(b"x" * 2000)
        with pytest.raises(ClientClosed) as info:
            ws.recv(timeout=5)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1009
    assert _event(app, "echo")["code"] == 1009


def test_werkzeug_wake_interrupts_a_blocked_receive(werkzeug: tuple[Flask, int]) -> None:
    app, port = werkzeug
    with _connect(port, "/wake") as ws:
        server_ws: ServerWebSocket = app.extensions["ws_live"].get(timeout=5)
        time.sleep(0.2)
        started = time.monotonic()
        waker = threading.Thread(target=server_ws.wake)
        waker.start()
        waker.join(5)
        reply = ws.recv(timeout=5)
        assert time.monotonic() - started < 1.0
    assert isinstance(reply, str) and reply.startswith("woken:None:")
    assert 0.15 < _event(app, "wake")["waited"] < 2.0


def test_werkzeug_send_blocks_then_times_out_for_a_client_that_does_not_read(
    werkzeug: tuple[Flask, int],
) -> None:
    app, port = werkzeug
    with raw_upgrade(port, "/flood?n=256"):  # never reads
        record = _event(app, "flood", timeout=15)
    assert record["error"] == "SendTimeout" and record["code"] == 1006
    assert record["sent"] < 64  # kernel buffers hold a few MiB, never the 256 MiB asked
    assert record["elapsed"] < 10


def test_werkzeug_flooding_client_is_held_back_by_tcp(werkzeug: tuple[Flask, int]) -> None:
    app, port = werkzeug
    frame = _client_frame(0x2, b"y" * 65536)
    sent = 0
    with raw_upgrade(port, "/count") as sock:
        sock.settimeout(0.5)
        with pytest.raises(TimeoutError):  # the server reads nothing: our sends must stall
            while sent < 1024:  # 64 MiB would mean the server buffers for the client
                sock.sendall(frame)
                sent += 1
        app.extensions["ws_go"].set()
    record = _event(app, "count", timeout=15)
    assert record["received"] <= sent < 1024


def test_werkzeug_plain_get_is_a_400(werkzeug: tuple[Flask, int]) -> None:
    _, port = werkzeug
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/echo", timeout=5)
    with info.value:
        assert info.value.code == 400
        assert b"not a websocket upgrade" in info.value.read()


# -- mockserver.server: the production runner, in a subprocess --------------------------------

_SERVE = (
    "from mockserver.server import serve; from mockserver.settings import Settings;"
    "from tests.test_websocket import build_app;"
    "serve(Settings(host='127.0.0.1', port={port}, log_level='warning', threads=4),"
    " factory=build_app)"
)


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """``mockserver.server.serve`` with this file's app; yields the port and the log file."""
    port = free_port()
    log = tmp_path_factory.mktemp("production") / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", _SERVE.replace("{port}", str(port))],
            cwd=Path(__file__).resolve().parent.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "server not ready in 20 s"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/events", timeout=2):
                    break
            except OSError:
                time.sleep(0.05)
        yield port, log
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def _production_events(port: int, view: str, timeout: float = 10.0) -> dict[str, Any]:
    import json

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/events", timeout=2) as response:
            for record in json.load(response):
                if record["view"] == view:
                    return dict(record)
        time.sleep(0.05)
    raise AssertionError(f"no {view} record within {timeout} s")


@pytest.mark.slow
def test_production_echo_close_codes_and_a_silent_end(production: tuple[int, Path]) -> None:
    port, log = production
    with _connect(port, "/echo") as ws:
        ws.send("hi")
        assert ws.recv(timeout=5) == "hi"
        ws.send(b"\x01\x02")
        assert ws.recv(timeout=5) == b"\x01\x02"
        ws.send(["a", "b"])
        assert ws.recv(timeout=5) == "ab"
        assert ws.ping().wait(5)
        ws.close(4001, "bye")
    assert _production_events(port, "echo")["code"] == 4001
    with _connect(port, "/echo") as ws:
        ws.send("close:4002:server done")
        with pytest.raises(ClientClosed) as info:
            ws.recv(timeout=5)
    assert info.value.rcvd is not None and info.value.rcvd.code == 4002
    _nothing_after_the_close_frame(port)
    with pytest.raises(urllib.error.HTTPError) as plain:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/echo", timeout=5)
    with plain.value:
        assert plain.value.code == 400
    assert "Traceback" not in log.read_text()


@pytest.mark.slow
def test_production_send_times_out_for_a_client_that_does_not_read(
    production: tuple[int, Path],
) -> None:
    port, log = production
    with raw_upgrade(port, "/flood?n=256"):
        record = _production_events(port, "flood", timeout=15)
    assert record["error"] == "SendTimeout" and record["sent"] < 64
    assert "Traceback" not in log.read_text()
