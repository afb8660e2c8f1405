"""A raw websocket client for tests that must control every byte (backpressure, close frames)."""

from __future__ import annotations

import base64
import os
import socket


def raw_upgrade(port: int, path: str, rcvbuf: int | None = None) -> socket.socket:
    """A client socket on 127.0.0.1 after the handshake; it reads and writes only what the test
    says. ``rcvbuf`` shrinks the receive buffer before connecting, so the window starts small."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    sock.sendall(request.encode())
    head = b""
    while not head.endswith(b"\r\n\r\n"):  # a byte at a time: no frame is read by mistake
        byte = sock.recv(1)
        assert byte, f"connection closed during the handshake: {head!r}"
        head += byte
    assert head.startswith(b"HTTP/1.1 101 "), head
    return sock
