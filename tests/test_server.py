"""End to end: the real ``mockserver serve`` process, crash recovery and websockets."""

from __future__ import annotations

import contextlib
import http.client
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mockserver.engine.signing import DEFAULT_SECRET, verify_standard_signature
from tests.receiver import Receiver, closed_port
from tests.serverproc import ServerProcess, free_port

pytestmark = pytest.mark.slow


def test_serve_answers_health_and_stops_cleanly_on_sigterm() -> None:
    server = ServerProcess().start()
    status, health = server.request("GET", "/_mock/health")
    assert status == 200 and health["status"] == "ok" and health["store"] == "memory"
    server.signal(signal.SIGTERM)
    assert server.wait() == 0


def test_start_up_path_imports_neither_torch_nor_the_model() -> None:
    code = (
        "import sys; from mockserver.app import create_app; create_app();"
        "import mockserver.cli, mockserver.server;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'numpy')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_manual_profile_over_http_waits_for_the_clock_or_a_step() -> None:
    with ServerProcess("--profile", "manual") as server:
        _, job = server.request("POST", "/_mock/jobs", {"tenant": "ci", "items": 2})
        _, other = server.request("POST", "/_mock/jobs", {"tenant": "ci", "items": 1})
        time.sleep(1.2)  # more than a manual phase of real time
        assert server.request("GET", f"/_mock/jobs/{job['id']}")[1]["status"] == "queued"
        server.request("POST", "/_mock/clock/advance", {"seconds": 1, "tenant": "ci"})
        assert server.request("GET", f"/_mock/jobs/{job['id']}")[1]["status"] == "running"
        _, stepped = server.request("POST", f"/_mock/jobs/{other['id']}/step", {"to": "terminal"})
        assert stepped["status"] == "completed"


def test_sigkill_under_load_then_restart_loses_nothing_acknowledged(
    tmp_path: Path, serve: Callable[..., Receiver]
) -> None:
    """Jobs acknowledged with a 201 and webhooks pending at the crash survive a restart."""
    store = f"sqlite:///{tmp_path / 'state.db'}"
    hook_port = closed_port()  # the receiver is down during the crash
    hook = f"http://127.0.0.1:{hook_port}/hook"
    args = ("--store", store, "--profile", "instant", "--webhook-backoff", "0.2")
    server = ServerProcess(*args).start()
    acknowledged: list[str] = []
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set() and len(acknowledged) < 3000:
            try:
                status, job = server.request(
                    "POST", "/_mock/jobs", {"tenant": "crash", "items": 2, "callback_url": hook}
                )
            except (OSError, http.client.HTTPException):
                return  # the server died mid-request or mid-response: never acknowledged
            if status == 201:
                acknowledged.append(job["id"])

    workers = [threading.Thread(target=client) for _ in range(4)]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + 10
    while len(acknowledged) < 150 and time.monotonic() < deadline:
        time.sleep(0.01)
    server.kill()
    stop.set()
    for worker in workers:
        worker.join(10)
    assert len(acknowledged) >= 150

    receiver = serve(port=hook_port)
    with ServerProcess(*args) as again:
        for job_id in acknowledged:
            status, job = again.request("GET", f"/_mock/jobs/{job_id}")
            assert status == 200 and job["status"] == "completed", job_id
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if {body_id(b) for _, _, b in receiver.requests} >= set(acknowledged):
                break
            time.sleep(0.1)
        delivered = {body_id(b) for _, _, b in receiver.requests}
        assert set(acknowledged) <= delivered
        for _, headers, body in receiver.requests[:20]:
            assert verify_standard_signature(DEFAULT_SECRET, headers, body)


def body_id(body: bytes) -> str:
    import json

    job_id: str = json.loads(body)["job_id"]
    return job_id


def test_manual_jobs_carry_on_after_a_restart(tmp_path: Path) -> None:
    args = ("--store", f"sqlite:///{tmp_path / 's.db'}", "--profile", "manual")
    with ServerProcess(*args) as server:
        # 60 s phases: a frozen clock restarts at the new real time (its reading is not yet
        # persisted), so the restart's few seconds must not cross a phase boundary.
        slow = {"queue_wait": 60, "run_time": 60}
        _, job = server.request(
            "POST", "/_mock/jobs", {"tenant": "t", "items": 3, "overrides": slow}
        )
        server.request("POST", f"/_mock/jobs/{job['id']}/step")
        server.kill()
    with ServerProcess(*args) as server:
        _, seen = server.request("GET", f"/_mock/jobs/{job['id']}")
        assert seen["status"] == "running" and seen["counts"]["running"] == 1
        _, done = server.request("POST", f"/_mock/jobs/{job['id']}/step", {"to": "terminal"})
        assert done["status"] == "completed"
        _, results = server.request("GET", f"/_mock/jobs/{job['id']}/results")
        assert sorted(results["results"]) == ["0", "1", "2"]


def test_a_real_server_loads_the_model_in_the_background() -> None:
    with ServerProcess("--model-load", "background", "--device", "cpu") as server:
        _, health = server.request("GET", "/_mock/health")
        assert health["inference"]["state"] in ("loading", "ready")
        deadline = time.monotonic() + 60
        while health["inference"]["state"] == "loading" and time.monotonic() < deadline:
            time.sleep(0.2)
            _, health = server.request("GET", "/_mock/health")
        assert health["inference"]["state"] == "ready", health["inference"]
        assert health["inference"]["device"] == "cpu"


WS_APP = """
import sys
from flask import request
from mockserver.app import create_app
from mockserver.server import serve
from mockserver.settings import Settings
from mockserver.websocket import ConnectionClosed, ServerWebSocket

settings = Settings().replace(port=int(sys.argv[1]), log_level="warning", model_load="lazy")

def factory():
    app = create_app(settings, start=True)

    @app.route("/echo", websocket=True)
    def echo():
        ws = ServerWebSocket(request.environ)
        try:
            while True:
                message = ws.receive()
                if message is not None:
                    ws.send(message.upper())
        except ConnectionClosed:
            pass
        return ws.response()

    return app

serve(settings, factory)
"""


def test_the_production_server_carries_websockets(tmp_path: Path) -> None:
    """The Hugging Face bulk stream needs websockets: prove the chosen server upgrades, four
    connections at once (each holds a worker thread)."""
    from websockets.sync.client import connect

    script = tmp_path / "ws_app.py"
    script.write_text(WS_APP)
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(script), str(port)], start_new_session=True)
    try:
        probe = ServerProcess(port=port)
        deadline = time.monotonic() + 20
        while True:
            try:
                if probe.request("GET", "/_mock/health")[0] == 200:
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        with contextlib.ExitStack() as stack:
            url = f"ws://127.0.0.1:{port}/echo"
            clients = [stack.enter_context(connect(url, open_timeout=5)) for _ in range(4)]
            for n, c in enumerate(clients):
                c.send(f"hello {n}")
            assert [c.recv(timeout=5) for c in clients] == [f"HELLO {n}" for n in range(4)]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
