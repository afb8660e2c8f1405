"""Run ``mockserver serve`` as a real process on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class ServerProcess:
    """``mockserver serve`` in its own process group; ``kill()`` takes the whole group down."""

    def __init__(self, *args: str, port: int | None = None, env: dict[str, str] | None = None):
        self.port = port or free_port()
        # The model loads lazily unless a test asks otherwise: most server tests never use it,
        # and a background torch import would only compete for the CI machine's two cores.
        lazy = [] if any(a.startswith("--model-load") for a in args) else ["--model-load", "lazy"]
        # gRPC stays off unless a test asks: parallel servers would fight over its fixed port.
        grpc = [] if any(a.startswith("--grpc") for a in args) else ["--grpc", "off"]
        self.args = ["--port", str(self.port), "--log-level", "warning", *lazy, *grpc, *args]
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready_after: float | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> ServerProcess:
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mockserver", "serve", *self.args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = started + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                output = self.proc.stdout.read().decode() if self.proc.stdout else ""
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{output}")
            try:
                if self.request("GET", "/_mock/health")[0] == 200:
                    self.ready_after = time.perf_counter() - started
                    return self
            except OSError:
                time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"server not ready within {timeout} s")

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"content-type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, json.loads(exc.read() or b"null")

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)

    def kill(self) -> None:
        """SIGKILL the whole process group (master and worker), as a crash would."""
        self.signal(signal.SIGKILL)
        self.wait()

    def wait(self, timeout: float = 15.0) -> int:
        assert self.proc is not None
        try:
            code = self.proc.wait(timeout)
        finally:
            if self.proc.stdout:
                self.proc.stdout.close()
        return code

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill()
