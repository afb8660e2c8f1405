"""Server-side WebSocket connections for Flask views: one thread, bounded memory, backpressure.

Built on ``wsproto``'s frame codec; the HTTP upgrade (RFC 6455 section 4.2) is done here. Why not
flask-sock / simple-websocket: simple-websocket runs a background thread that reads frames into an
unbounded list (a client that floods while the view is busy grows the server's memory without
limit), writes to the socket from two threads without a lock, and uses ``sock.send`` where
``sendall`` is needed, so a frame can be cut short under backpressure and the stream corrupted.

What this module does instead:

- **One thread, no background reader.** The socket is read only inside :meth:`receive`, one
  ``recv(65536)`` at a time, so a client that floods is held back by TCP flow control. The frames
  parsed but not yet returned are at most what one ``recv`` produced, plus one partial message
  bounded by ``max_message_size``.
- **Backpressure on send.** :meth:`send` writes the whole frame and blocks while the peer is not
  reading; with a ``timeout`` it gives up, and since a frame may be half written the connection is
  then dead (:class:`SendTimeout`). Writes are serialised by a lock, so a pong written by
  ``receive`` never interleaves with a frame written by ``send`` from another thread.
- **No extensions.** permessage-deflate is declined by not answering the offer (RFC 7692
  section 5): compression would cost a zlib window per connection, a decompression-bomb limit and
  CPU in the view's thread, for payloads that are small here. Clients fall back to plain frames.
- **Ending the WSGI request without writing.** After the conversation the view returns
  :meth:`ServerWebSocket.response`; the server must then write nothing (the bytes would follow
  the close frame). The response raises ``ConnectionAbortedError``, which both servers this
  runs under take as "the connection is gone": ``mockserver.httpserver`` closes it without
  writing, and Werkzeug's ``run_wsgi`` swallows it without writing a status line or logging.

Only plain TCP sockets are supported (the emulator serves plain HTTP); a client must wait for the
101 before sending frames (RFC 6455 section 4.1), as bytes it sent early sit in the server's
request reader, out of reach.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import selectors
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Mapping, MutableMapping
from typing import Any, NoReturn

from flask import Response
from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import (
    BytesMessage,
    CloseConnection,
    Event,
    Message,
    Ping,
    Pong,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError

__all__ = [
    "ConnectionClosed",
    "HandshakeError",
    "SendTimeout",
    "ServerWebSocket",
    "accept_key",
    "is_websocket_request",
]

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3
READ_SIZE = 65536
CLOSE_WAIT = 1.0  # seconds close() waits to write its close frame and again for the reply
CONTROL_TIMEOUT = 5.0  # seconds to write a pong or ping before the peer counts as gone
HANDSHAKE_TIMEOUT = 10.0
IDLE_HOLD = 4 << 20  # bytes of unread messages idle() lets pile up before it stops reading
PING_TIMEOUT_CODE = 1011  # as the `websockets` library: "keepalive ping timeout"
ABNORMAL = 1006  # never sent on the wire (RFC 6455 section 7.4.1): the socket just went away


class ConnectionClosed(Exception):
    """The conversation is over: raised by ``receive`` and ``send`` once the connection closed.

    ``code`` is the close code that ended it (the peer's, ours, or 1006 when the socket died).
    """

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"websocket closed ({code}{': ' + reason if reason else ''})")
        self.code = code
        self.reason = reason


class SendTimeout(ConnectionClosed):
    """A frame could not be written in time: the peer is not reading, the connection is dropped."""


class HandshakeError(ValueError):
    """The request is not a WebSocket upgrade this server can accept; ``status`` is the answer.

    400 for a malformed upgrade, 426 with ``Sec-WebSocket-Version: 13`` for another protocol
    version (RFC 6455 section 4.4), 501 when the WSGI server exposes no raw socket.
    """

    def __init__(self, message: str, status: int = 400, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


def accept_key(key: str) -> str:
    """Compute ``Sec-WebSocket-Accept`` for a client's ``Sec-WebSocket-Key`` (RFC 6455 4.2.2)."""
    digest = hashlib.sha1((key + _GUID).encode("ascii")).digest()  # the RFC's, not for secrecy
    return base64.b64encode(digest).decode("ascii")


def _tokens(value: Any) -> set[str]:
    """Comma-separated header tokens, lower-cased (``Connection: keep-alive, Upgrade``)."""
    return {token.strip().lower() for token in str(value or "").split(",")}


def is_websocket_request(environ: Mapping[str, Any]) -> bool:
    """Whether a request asks for a WebSocket upgrade (a view may serve plain HTTP otherwise)."""
    return (
        environ.get("REQUEST_METHOD") == "GET"
        and "websocket" in _tokens(environ.get("HTTP_UPGRADE"))
        and "upgrade" in _tokens(environ.get("HTTP_CONNECTION"))
    )


def _validated_key(environ: Mapping[str, Any]) -> str:
    """Check the upgrade request (RFC 6455 section 4.2.1) and return its key."""
    if not is_websocket_request(environ):
        raise HandshakeError("not a websocket upgrade: GET with Upgrade: websocket expected")
    if environ.get("SERVER_PROTOCOL", "HTTP/1.1") in ("HTTP/0.9", "HTTP/1.0"):
        raise HandshakeError("websocket upgrade needs HTTP/1.1")
    if str(environ.get("HTTP_SEC_WEBSOCKET_VERSION", "")).strip() != "13":
        headers = {"Sec-WebSocket-Version": "13"}
        raise HandshakeError("unsupported Sec-WebSocket-Version", 426, headers)
    key = str(environ.get("HTTP_SEC_WEBSOCKET_KEY", "")).strip()
    try:
        valid = len(base64.b64decode(key, validate=True)) == 16
    except ValueError:
        valid = False
    if not valid:
        raise HandshakeError("Sec-WebSocket-Key must be 16 bytes in base64")
    return key


#: Where each server this runs under puts the connection's socket in the environ.
SOCKET_KEYS = ("mockserver.socket", "werkzeug.socket")


def _raw_socket(environ: Mapping[str, Any]) -> socket.socket:
    """The connection's socket (``mockserver.httpserver``, or Werkzeug's server)."""
    for key in SOCKET_KEYS:
        sock = environ.get(key)
        if isinstance(sock, socket.socket):
            return sock
    raise HandshakeError("this WSGI server exposes no socket to upgrade", 501)


class _End(Response):
    """Tell the server the connection is gone, so it writes nothing after the conversation."""

    def __call__(self, environ: Any, start_response: Any) -> NoReturn:
        raise ConnectionAbortedError("websocket conversation ended")


class ServerWebSocket:
    """One upgraded connection, driven by the view's thread (``wake`` and ``send`` are safe
    from others; ``receive`` and ``close`` belong to one thread at a time).

    The handshake happens in the constructor; if writing the 101 fails the object starts closed
    and the first ``receive`` or ``send`` raises :class:`ConnectionClosed`.
    """

    def __init__(
        self,
        environ: MutableMapping[str, Any],
        *,
        max_message_size: int = 1 << 20,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 20.0,
    ) -> None:
        key = _validated_key(environ)
        self._sock = _raw_socket(environ)
        self.max_message_size = max_message_size
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.closed = False
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self._conn = Connection(ConnectionType.SERVER)  # no extensions: deflate is declined
        self._messages: deque[str | bytes] = deque()
        self._parts: list[Any] = []
        self._size = 0
        self._write_lock = threading.Lock()
        self._wake_lock = threading.Lock()
        self._wake_pending = False
        self._wake_r, self._wake_w = socket.socketpair()
        self._finished = False
        self._released = False
        self._pings = 0
        self._ping_sent_at: float | None = None
        self._ping_payload = b""
        self._next_ping = time.monotonic() + (ping_interval or 0.0)
        self._saved_timeout = self._sock.gettimeout()
        self._sock.setblocking(False)
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._reader = selectors.DefaultSelector()
        self._reader.register(self._sock, selectors.EVENT_READ, "sock")
        self._reader.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._writer = selectors.DefaultSelector()
        self._writer.register(self._sock, selectors.EVENT_WRITE)
        head = (
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n"
        )
        try:
            if not self._write(head.encode("ascii"), time.monotonic() + HANDSHAKE_TIMEOUT):
                self._finish(ABNORMAL, "handshake not written in time")
        except OSError:
            self._finish(ABNORMAL, "connection lost during the handshake")

    # -- receiving ---------------------------------------------------------------------------

    def receive(self, timeout: float | None = None) -> str | bytes | None:
        """Return the next message (text as ``str``, binary as ``bytes``), or ``None`` when
        ``timeout`` seconds passed or :meth:`wake` was called.

        While waiting it answers pings and sends its own every ``ping_interval``; no pong within
        ``ping_timeout`` closes with 1011. Raises :class:`ConnectionClosed` once the peer closed,
        a protocol error or an oversized message closed the connection, or the socket died.
        """
        if self._wake_pending and self._take_wake():
            return None
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._messages:
                return self._messages.popleft()
            if self.closed:
                raise self._closed_error()
            now = time.monotonic()
            waits = [self._keepalive(now)]
            if deadline is not None:
                waits.append(max(0.0, deadline - now))
            wait = min((w for w in waits if w is not None), default=None)
            ready = {key.data for key, _ in self._reader.select(wait)}
            if "wake" in ready and self._take_wake():
                return None
            if "sock" in ready:
                self._read_once()
                late = deadline is not None and time.monotonic() >= deadline
                if late and not self._messages and not self.closed:
                    return None  # a trickle of partial frames must not outlive the timeout
            elif not ready:
                now = time.monotonic()
                self._check_pong(now)  # only here: nothing unread can hold the pong
                if deadline is not None and now >= deadline:
                    return None

    def idle(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds without taking a message, for a caller that cannot
        accept more work now (a full mailbox) but must still notice a peer that left.

        Keepalive and close handling go on, and the socket is read on (so a close behind a few
        unread frames is seen) until ``IDLE_HOLD`` bytes of messages are held: the bound, past
        which TCP holds the peer back. Returns early on :meth:`wake`, and once the connection
        closed (check :attr:`closed`; messages that arrived first stay for :meth:`receive`).
        """
        if self._wake_pending and self._take_wake():
            return
        deadline = time.monotonic() + timeout
        while not self.closed:
            now = time.monotonic()
            if now >= deadline:
                return
            wait = deadline - now
            keepalive = self._keepalive(now)
            if keepalive is not None:
                wait = min(wait, keepalive)
            if self._held() >= IDLE_HOLD:  # the bound: TCP holds the peer back from here
                time.sleep(wait)
                continue
            ready = {key.data for key, _ in self._reader.select(wait)}
            if "wake" in ready and self._take_wake():
                return
            if "sock" in ready:
                self._read_once()
            elif not ready:
                try:
                    self._check_pong(time.monotonic())
                except ConnectionClosed:
                    return

    def drain(self) -> list[str | bytes]:
        """Take every message already read and reassembled, without touching the socket: what
        a peer sent before it left, for a caller that must not lose it."""
        messages = list(self._messages)
        self._messages.clear()
        return messages

    def _held(self) -> int:
        return sum(len(m) for m in self._messages)

    def _read_once(self) -> None:
        """Read at most one chunk and turn it into messages, replies and close handling."""
        try:
            data = self._sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._finish(ABNORMAL, "connection lost")
            return
        self._conn.receive_data(data)
        for event in self._conn.events():
            self._handle(event)
            if self.closed:
                return

    def _handle(self, event: Event) -> None:
        if isinstance(event, Message):
            self._collect(event)
        elif isinstance(event, Ping):
            self._transmit(event.response(), time.monotonic() + CONTROL_TIMEOUT)
        elif isinstance(event, Pong):
            if self._ping_sent_at is not None and event.payload == self._ping_payload:
                self._ping_sent_at = None
        elif isinstance(event, CloseConnection):
            if self._conn.state is ConnectionState.OPEN:  # wsproto's verdict on a bad frame
                self._fail(event.code, event.reason or "")
            else:  # the peer's close: answer it, then the socket goes
                self._record(event.code, event.reason or "")
                if self._conn.state is ConnectionState.REMOTE_CLOSING:
                    self._send_quietly(event.response())
                self._finish(event.code, event.reason or "")

    def _collect(self, event: Message[Any]) -> None:
        """Reassemble fragments; a message past ``max_message_size`` closes with 1009."""
        data = event.data
        if isinstance(data, str):
            self._size += len(data) if data.isascii() else len(data.encode("utf-8"))
        else:
            self._size += len(data)
        if self._size > self.max_message_size:
            self._fail(1009, f"message larger than {self.max_message_size} bytes")
            return
        self._parts.append(data)
        if event.message_finished:
            parts, self._parts, self._size = self._parts, [], 0
            self._messages.append(
                "".join(parts) if isinstance(event, TextMessage) else b"".join(parts)
            )

    def _keepalive(self, now: float) -> float | None:
        """Send a due ping; return the seconds until the next keepalive deadline."""
        if self.ping_interval is None:
            return None
        if self._ping_sent_at is not None and self.ping_timeout is not None:
            return max(0.0, self._ping_sent_at + self.ping_timeout - now)
        if now >= self._next_ping:
            self._pings += 1
            self._ping_payload = struct.pack("!I", self._pings)
            self._transmit(Ping(self._ping_payload), now + CONTROL_TIMEOUT)
            self._next_ping = now + self.ping_interval
            if self.ping_timeout is not None:
                self._ping_sent_at = now
                return self.ping_timeout
        return max(0.0, self._next_ping - now)

    def _check_pong(self, now: float) -> None:
        sent, limit = self._ping_sent_at, self.ping_timeout
        if sent is not None and limit is not None and now >= sent + limit:
            self._fail(PING_TIMEOUT_CODE, "keepalive ping timeout")
            raise self._closed_error()

    # -- sending -----------------------------------------------------------------------------

    def send(self, data: str | bytes, timeout: float | None = None) -> None:
        """Send ``data`` as one text (``str``) or binary (``bytes``) message.

        Blocks while the peer is not reading (backpressure, never an in-memory queue). When the
        frame is not fully written within ``timeout`` seconds, raises :class:`SendTimeout` and
        drops the connection: a half-written frame leaves no way to continue the stream.
        """
        event: Message[Any] = (
            TextMessage(data=data) if isinstance(data, str) else BytesMessage(data=data)
        )
        self._transmit(event, None if timeout is None else time.monotonic() + timeout)

    def _transmit(self, event: Event, deadline: float | None) -> None:
        """Encode and write one frame under the write lock; a failure ends the connection."""
        wait = -1.0 if deadline is None else max(0.0, deadline - time.monotonic())
        if not self._write_lock.acquire(timeout=wait):
            self._finish(ABNORMAL, "send timed out")
            raise SendTimeout(ABNORMAL, "send timed out waiting for another sender")
        try:
            if self.closed:
                raise self._closed_error()
            try:
                written = self._write(self._conn.send(event), deadline)
            except LocalProtocolError:  # the receiving thread saw a close meanwhile
                raise self._closed_error() from None
            except OSError as exc:
                self._finish(ABNORMAL, "connection lost")
                raise ConnectionClosed(ABNORMAL, f"connection lost: {exc}") from exc
            if not written:
                self._finish(ABNORMAL, "send timed out")
                raise SendTimeout(ABNORMAL, "send timed out: the peer is not reading")
        finally:
            self._write_lock.release()

    def _write(self, data: bytes, deadline: float | None) -> bool:
        """Write all of ``data``; False when ``deadline`` passed first (the rest is unwritten)."""
        view = memoryview(data)
        while view:
            try:
                view = view[self._sock.send(view) :]
                continue
            except (BlockingIOError, InterruptedError):
                pass
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            self._writer.select(remaining)
        return True

    # -- closing -----------------------------------------------------------------------------

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close with ``code``: send a close frame, wait up to a second for the peer's reply,
        then shut the socket down. Idempotent, never raises."""
        if not self._finished:
            with contextlib.suppress(Exception):
                self._record(code, reason)
                if self._conn.state is ConnectionState.OPEN:
                    self._transmit(CloseConnection(code, reason), time.monotonic() + CLOSE_WAIT)
                    self._await_close_reply(time.monotonic() + CLOSE_WAIT)
            self._finish(code, reason)
        self._release()

    def _await_close_reply(self, deadline: float) -> None:
        """Read (and drop) what the peer still sends until its close frame arrives."""
        with contextlib.suppress(KeyError):
            self._reader.unregister(self._wake_r)  # a pending wake must not make this spin
        while self._conn.state is ConnectionState.LOCAL_CLOSING:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._reader.select(remaining):
                return
            try:
                data = self._sock.recv(READ_SIZE)
            except (BlockingIOError, InterruptedError):
                continue
            if not data:
                return
            self._conn.receive_data(data)
            for event in self._conn.events():
                if isinstance(event, CloseConnection):
                    return

    def _fail(self, code: int, reason: str) -> None:
        """Close at once with ``code`` (bad frame, oversized message, silent peer)."""
        self._record(code, reason)
        if self._conn.state is ConnectionState.OPEN:
            self._send_quietly(CloseConnection(code, reason))
        self._finish(code, reason)

    def _send_quietly(self, event: Event) -> None:
        with contextlib.suppress(Exception):
            self._transmit(event, time.monotonic() + CLOSE_WAIT)

    def _record(self, code: int, reason: str) -> None:
        """Remember the first close code: the one that ended the conversation."""
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason

    def abort(self, reason: str) -> None:
        """Drop the connection with no close frame (the client sees 1006): a cut stream."""
        self._finish(ABNORMAL, reason)

    def _finish(self, code: int, reason: str) -> None:
        """Mark the conversation over and shut the socket down (safe from any thread).

        ``shutdown`` rather than ``close``: the server still holds the socket object (and under
        Werkzeug a reader that keeps the descriptor alive), and its own close must not find the
        descriptor already gone. A sender
        blocked in another thread wakes up with an error instead of waiting for its deadline.
        """
        if self._finished:
            return
        self._finished = True
        self._record(code, reason)
        self.closed = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)

    def _release(self) -> None:
        """Free the selectors and the wake pair (owner thread, after the conversation)."""
        if self._released:
            return
        self._released = True
        with contextlib.suppress(OSError):
            self._sock.settimeout(self._saved_timeout)  # the server's own mode, as it left it
        self._reader.close()
        self._writer.close()
        with self._wake_lock:
            self._wake_r.close()
            self._wake_w.close()

    def _closed_error(self) -> ConnectionClosed:
        return ConnectionClosed(self.close_code or ABNORMAL, self.close_reason or "")

    # -- waking and ending -------------------------------------------------------------------

    def wake(self) -> None:
        """Make a ``receive`` blocked in another thread return ``None`` now (or the next one,
        once, if none is waiting). Thread-safe; a no-op after the connection closed."""
        with self._wake_lock:
            if self._wake_pending or self._finished:
                return
            self._wake_pending = True
            with contextlib.suppress(OSError):
                self._wake_w.send(b"\0")

    def _take_wake(self) -> bool:
        with self._wake_lock:
            if not self._wake_pending:
                return False
            self._wake_pending = False
            with contextlib.suppress(OSError):
                self._wake_r.recv(64)
            return True

    def response(self) -> Response:
        """What the view returns once the conversation is over (closing first if needed).

        Its status reads 101 (so the request journal records the upgrade), but it is never
        written: calling it raises what makes this server end the request silently.
        """
        self.close()
        return _End(status=101)
