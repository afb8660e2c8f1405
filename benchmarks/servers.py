"""Candidate WSGI servers for ``mockserver serve``, side by side on a bare Flask route.

    python benchmarks/servers.py [--duration 3]

Each candidate serves the same one-route Flask app on 127.0.0.1; wrk measures req/s at 1, 8 and
32 keep-alive clients. Candidates that are not installed are skipped with a note. The server must
also carry websockets (Hugging Face bulk stream) and keep state in one process: see the
``websockets`` column, which is a property of the server, not measured here.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

APP = (
    "from flask import Flask\n"
    "app = Flask(__name__)\n"
    'app.add_url_rule("/hello", "hello", lambda: "hello")\n'
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def candidates(port: int) -> list[tuple[str, str, list[str]]]:
    """(name, websocket support, command) of each server, all on the same app and port."""
    py, bind = sys.executable, f"127.0.0.1:{port}"

    def gunicorn(*worker: str) -> list[str]:
        return [py, "-m", "gunicorn", "-w1", *worker, "-b", bind, "hello:app"]

    dev_server = f"from hello import app; app.run(port={port}, threaded=True)"
    ours = (
        "from hello import app; from mockserver.httpserver import HTTPServer;"
        f"HTTPServer(app, '127.0.0.1', {port}).serve_forever()"
    )
    return [
        ("mockserver.httpserver (chosen)", "yes (raw socket)", [py, "-c", ours]),
        (
            "gunicorn gthread 1x32",
            "yes (raw socket)",
            gunicorn("-k", "gthread", "--threads", "32"),
        ),
        ("gunicorn gthread 1x8", "yes (raw socket)", gunicorn("-k", "gthread", "--threads", "8")),
        ("gunicorn sync 1 worker", "no (one request at a time)", gunicorn("-k", "sync")),
        (
            "waitress 8 threads",
            "no (buffers, cannot upgrade)",
            [py, "-m", "waitress", "--threads", "8", "--listen", bind, "hello:app"],
        ),
        ("werkzeug threaded (dev)", "yes, but a development server", [py, "-c", dev_server]),
    ]


def rps(url: str, clients: int, duration: float) -> float:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{clients}", f"-d{duration:g}s", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=3.0)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    workdir = Path(tempfile.mkdtemp())
    (workdir / "hello.py").write_text(APP)
    print(f"{'server':<32} {'c=1':>7} {'c=8':>7} {'c=32':>7}  websockets")
    for name, ws, command in candidates(port := free_port()):
        url = f"http://127.0.0.1:{port}/hello"
        proc = subprocess.Popen(
            command,
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            for _ in range(200):
                try:
                    urllib.request.urlopen(url, timeout=1).close()
                    break
                except OSError:
                    if proc.poll() is not None:
                        break
                    time.sleep(0.05)
            if proc.poll() is not None:
                print(f"{name:<32} {'(not installed or failed to start)':>23}")
                continue
            figures = [rps(url, c, args.duration) for c in (1, 8, 32)]
            print(f"{name:<32} " + " ".join(f"{f:>7.0f}" for f in figures) + f"  {ws}")
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)


if __name__ == "__main__":
    main()
