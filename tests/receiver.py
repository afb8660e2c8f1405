"""A scripted HTTP webhook receiver on 127.0.0.1, shared by the webhook and server tests.

:class:`QuietServer` and :class:`ServerPool` are the plumbing any test HTTP server here uses
(the media fetch tests serve GETs with them too).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0


@dataclass
class Receiver:
    """A scripted HTTP receiver on 127.0.0.1; replies 200 once the script runs out."""

    replies: list[Reply]
    port: int = 0
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def record(self, path: str, headers: dict[str, str], body: bytes) -> Reply:
        with self.lock:
            self.requests.append((path, headers, body))
            return self.replies.pop(0) if self.replies else Reply()


class QuietServer(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins handler threads: nothing outlives a test
    block_on_close = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client that gave up (a timeout or refusal test) hung up first."""


class ServerPool:
    """Serve test servers on threads; :meth:`close` shuts every one down and joins it."""

    def __init__(self) -> None:
        self.running: list[tuple[QuietServer, threading.Thread]] = []

    def start(self, server: QuietServer) -> int:
        """Serve ``server`` on its own thread; return its port."""
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        self.running.append((server, thread))
        return int(server.server_address[1])

    def close(self) -> None:
        for server, thread in self.running:
            server.shutdown()
            server.server_close()
            thread.join()


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = receiver.record(self.path, headers, body)
            time.sleep(reply.delay)
            try:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
            except OSError:
                pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def serving() -> Iterator[Callable[..., Receiver]]:
    """Start scripted receivers on 127.0.0.1 and shut every one down after the test."""
    pool = ServerPool()

    def start(*replies: Reply, port: int = 0) -> Receiver:
        receiver = Receiver(list(replies))
        receiver.port = pool.start(QuietServer(("127.0.0.1", port), _handler(receiver)))
        return receiver

    yield start
    pool.close()


def closed_port() -> int:
    """A loopback port with nothing listening (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
