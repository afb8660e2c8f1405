"""The Hugging Face bulk websocket (``/bulk/stream/{cpu|gpu}/{model_id}``) over real sockets.

Written from ``../shared/reference/huggingface-bulk.md`` §1: token first, one JSON item per frame,
``status`` and ``results`` frames back, ids echoed, and the mailbox promise of the docs ("everything
that was sent is being processed even if you are not connected anymore"; "reinitializing the
stream will recover results"). Most tests run the app in Werkzeug's threaded server in this
process (so the control API is reached through a Flask test client of the same runtime); the
docs' own client and the restart test run ``mockserver serve`` in a subprocess.

Items stay pending under the ``manual`` profile (a frozen clock) until a test steps their
mailbox's container job, which steps its segment children. Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from websockets.exceptions import ConnectionClosed as ClientClosed
from websockets.sync.client import ClientConnection, connect
from werkzeug.serving import make_server
from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, TextMessage

from mockserver.app import create_app
from mockserver.providers.huggingface import session
from mockserver.providers.huggingface.backend import HfBackend
from mockserver.providers.huggingface.stream import container_id
from mockserver.runtime import Runtime
from mockserver.settings import Settings
from tests.conftest import FakeTime
from tests.serverproc import ServerProcess
from tests.wsclient import raw_upgrade

MODEL = "facebook/bart-large-mnli"
PATH = f"/bulk/stream/cpu/{MODEL}"
TOKEN = "hf_stream_token"
DRESS = "This is a test about a new dress shop than opened up on 5th avenue"
LABELS = ["medical", "fashion", "politics"]
INVALID_TOKEN = "Authorization header is correct, but the token seems invalid"
WAIT = 10.0  # the longest any single wait in this file may take

# The Python sample of https://huggingface.co/docs/api-inference/parallelism, as published
# (hub-docs ``docs/api-inference/parallelism.mdx``; the copy in ``../shared/seeds`` lost brackets
# and the ``outputs.append``/``else`` lines in extraction). Only the host and API_TOKEN change.
DOCS_EXAMPLE = """\
# !pip install websockets
import asyncio
import json
import uuid
import websockets
MODEL_ID = "facebook/bart-large-mnli"
COMPUTE_TYPE = "cpu"  # or "gpu"
async def send(websocket, payloads):
    # You need to login with a first message as headers are not forwarded
    # for websockets
    await websocket.send(f"Bearer {API_TOKEN}".encode("utf-8"))
    for payload in payloads:
        await websocket.send(json.dumps(payload).encode("utf-8"))
        print("Sent ")
async def recv(websocket, last_id):
    outputs = []
    while True:
        data = await websocket.recv()
        payload = json.loads(data)
        if payload["type"] == "results":
            # {"type": "results", "outputs": JSONFormatted results, "id": the id we sent}
            print(payload["outputs"])
            outputs.append(payload["outputs"])
            if payload["id"] == last_id:
                return outputs
        else:
            # {"type": "status", "message": "Some information about the queue"}
            print(f"< {payload['message']}")
            pass
async def main():
    uri = f"wss://api-inference.huggingface.co/bulk/stream/{COMPUTE_TYPE}/{MODEL_ID}"
    async with websockets.connect(uri) as websocket:
        # inputs and parameters are classic, "id" is a way to track that query
        payloads = [
            {
                "id": str(uuid.uuid4()),
                "inputs": "This is a test about a new dress shop than opened up on 5th avenue",
                "parameters": {"candidate_labels": ["medical", "fashion", "politics"]},
            }
            for i in range(10)
        ]
        last_id = payloads[-1]["id"]
        future = send(websocket, payloads)
        future_r = recv(websocket, last_id)
        _, outputs = await asyncio.gather(future, future_r)
    results = [out["labels"][0] for out in outputs]
    return results
loop = asyncio.get_event_loop()
if loop.is_running():
    # When running in notebooks
    import nest_asyncio
    nest_asyncio.apply()
results = loop.run_until_complete(main())
# All results are "fashion"
"""


# --- an in-process server -------------------------------------------------------------------------


@dataclass
class Served:
    app: Flask
    runtime: Runtime
    port: int
    control: FlaskClient

    @property
    def backend(self) -> HfBackend:
        found: HfBackend = self.app.extensions["mockserver.huggingface"]
        return found

    def container(self, token: str = TOKEN, model: str = MODEL) -> dict[str, Any]:
        response = self.control.get(f"/_mock/jobs/{container_id(token, model)}")
        assert response.status_code == 200, response.get_data(as_text=True)
        found: dict[str, Any] = response.get_json()
        return found

    def received(self, token: str = TOKEN, model: str = MODEL) -> int:
        """Items the mailbox has admitted (0 before its container exists)."""
        response = self.control.get(f"/_mock/jobs/{container_id(token, model)}")
        return int(response.get_json()["attrs"]["received"]) if response.status_code == 200 else 0

    def step(self, token: str = TOKEN, model: str = MODEL) -> None:
        """Finish every item the mailbox holds (the container steps its segments)."""
        cid = container_id(token, model)
        response = self.control.post(f"/_mock/jobs/{cid}/step", json={"to": "terminal"})
        assert response.status_code == 200, response.get_data(as_text=True)

    def streams_ended(self, path: str = PATH) -> int:
        """Stream conversations that are over (the journal records a view when it returns)."""
        query = {"path": "/bulk/stream", "limit": 1000}
        entries = self.control.get("/_mock/journal", query_string=query).get_json()["entries"]
        return sum(1 for e in entries if e["path"] == path)


@contextmanager
def serving(**changes: Any) -> Iterator[Served]:
    """The app in Werkzeug's threaded server on 127.0.0.1, scheduler running, model loaded."""
    settings = Settings().replace(grpc="off", log_level="warning", **changes)
    app = create_app(settings, base_clock=FakeTime(), start=True)
    runtime: Runtime = app.extensions["mockserver"]
    runtime.inference.wait_ready(60)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield Served(app, runtime, server.server_port, app.test_client())
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
        runtime.close()


@pytest.fixture
def instant() -> Iterator[Served]:
    with serving() as served:
        yield served


@pytest.fixture
def manual() -> Iterator[Served]:
    """Nothing finishes until the test steps it."""
    with serving(profile="manual") as served:
        yield served


# --- client helpers -------------------------------------------------------------------------------


def open_stream(
    port: int, path: str = PATH, headers: dict[str, str] | None = None
) -> ClientConnection:
    return connect(
        f"ws://127.0.0.1:{port}{path}",
        open_timeout=5,
        close_timeout=1,
        ping_interval=None,
        proxy=None,
        additional_headers=headers,
    )


def login(ws: ClientConnection, token: str = TOKEN) -> None:
    """The first frame, as the docs' samples send it: binary UTF-8."""
    ws.send(f"Bearer {token}".encode())


def item(item_id: Any = None, text: str = DRESS, **parameters: Any) -> bytes:
    payload: dict[str, Any] = {"inputs": text, "parameters": {"candidate_labels": LABELS}}
    payload["parameters"].update(parameters)
    if item_id is not None:
        payload["id"] = item_id
    return json.dumps(payload).encode()


def read(ws: ClientConnection, results: int, timeout: float = WAIT) -> list[dict[str, Any]]:
    """Frames until ``results`` results frames have come (status frames kept, in order)."""
    frames: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while sum(f["type"] == "results" for f in frames) < results:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"only {frames} within {timeout} s"
        frame = json.loads(ws.recv(timeout=remaining))
        assert frame["type"] in ("status", "results"), frame
        frames.append(frame)
    return frames


def results_of(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in frames if f["type"] == "results"]


def quiet(ws: ClientConnection, seconds: float = 0.4) -> list[dict[str, Any]]:
    """Results frames that arrive within ``seconds`` (there should be none)."""
    extra: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            frame = json.loads(ws.recv(timeout=remaining))
        except TimeoutError:
            break
        if frame["type"] == "results":
            extra.append(frame)
    return extra


def closed(ws: ClientConnection, timeout: float = WAIT) -> tuple[list[dict[str, Any]], int, str]:
    """Frames until the server closes; the close code and reason it sent."""
    frames: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    with pytest.raises(ClientClosed) as info:
        while True:
            frames.append(json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic()))))
    assert info.value.rcvd is not None, "the server sent no close frame"
    return frames, info.value.rcvd.code, info.value.rcvd.reason


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.02)


def frame(data: bytes) -> bytes:
    """One masked binary client frame."""
    return Connection(ConnectionType.CLIENT).send(BytesMessage(data=data))


def drain(sock: socket.socket, seconds: float = 2.0) -> list[dict[str, Any]]:
    """Parse every complete frame left in a dead connection (a cut last frame is dropped)."""
    parser = Connection(ConnectionType.CLIENT)
    messages: list[dict[str, Any]] = []
    text: list[str] = []
    sock.settimeout(seconds)
    while True:
        try:
            data = sock.recv(1 << 20)
        except OSError:
            break
        if not data:
            break
        parser.receive_data(data)
        for event in parser.events():
            if isinstance(event, TextMessage):
                text.append(event.data)
                if event.message_finished:
                    messages.append(json.loads("".join(text)))
                    text = []
    return messages


# --- the docs' client, against the real server (acceptance) ---------------------------------------


@pytest.mark.slow
def test_the_docs_python_example_runs_unmodified() -> None:
    """Done when: the published sample, host and token aside, prints ten "fashion"."""
    with ServerProcess() as server:
        example = DOCS_EXAMPLE.replace(
            "wss://api-inference.huggingface.co", f"ws://127.0.0.1:{server.port}"
        )
        assert example.count(f"ws://127.0.0.1:{server.port}/bulk/stream/") == 1
        token = 'API_TOKEN = "hf_docs_example"\n'
        script = token + example + "print('RESULTS=' + json.dumps(results))\n"
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        results = json.loads(next(x for x in lines if x.startswith("RESULTS="))[8:])
        assert results == ["fashion"] * 10
        assert lines.count("Sent ") == 10
        assert any(x.startswith("< Connected to facebook/bart-large-mnli") for x in lines)
        code, jobs = server.request("GET", "/_mock/jobs?provider=hf.stream")
        assert code == 200 and [j["tenant"] for j in jobs["jobs"]] == ["hf_docs_example"]


# --- the protocol ---------------------------------------------------------------------------------


def test_node_sample_integer_ids_come_back_as_integers(instant: Served) -> None:
    with open_stream(instant.port) as ws:
        login(ws)
        for n in range(10):  # the Node sample: ids 0..9, binary frames, two labels
            ws.send(item(n, candidate_labels=["fashion", "politics"]))
        frames = read(ws, 10)
    assert frames[0] == {
        "type": "status",
        "message": f"Connected to {MODEL} (cpu); 0 results pending",
    }
    results = results_of(frames)
    assert [r["id"] for r in results] == list(range(10))  # in send order, as the docs try
    assert all(type(r["id"]) is int for r in results)
    for result in results:
        assert set(result) == {"type", "id", "outputs"}
        assert set(result["outputs"]) == {"sequence", "labels", "scores"}
        assert result["outputs"]["labels"][0] == "fashion"


def test_outputs_are_the_http_body(instant: Served) -> None:
    body = {"inputs": DRESS, "parameters": {"candidate_labels": LABELS}}
    http = instant.control.post(f"/models/{MODEL}", json=body).get_json()
    with open_stream(instant.port) as ws:
        login(ws)
        ws.send(item("same"))
        [result] = results_of(read(ws, 1))
    assert result["outputs"] == http


def test_missing_ids_are_generated_and_text_frames_work(instant: Served) -> None:
    with open_stream(instant.port, path=f"/bulk/stream/gpu/{MODEL}") as ws:
        ws.send(f"Bearer {TOKEN}")  # a text frame this time
        ws.send(item().decode())
        ws.send(item())
        ws.send(json.dumps({"inputs": DRESS, "id": None, "parameters": {"candidate_labels": "a"}}))
        frames = read(ws, 3)
    assert frames[0]["message"].startswith(f"Connected to {MODEL} (gpu)")
    ids = [r["id"] for r in results_of(frames)]
    assert len(set(ids)) == 3
    for generated in ids:
        assert isinstance(generated, str) and str(uuid.UUID(generated)) == generated


def test_status_frames_report_the_queue(manual: Served) -> None:
    with open_stream(manual.port) as ws:
        login(ws)
        first = json.loads(ws.recv(timeout=WAIT))
        assert first["message"] == f"Connected to {MODEL} (cpu); 0 results pending"
        ws.send(item(1))
        queued = json.loads(ws.recv(timeout=WAIT))
        assert queued == {"type": "status", "message": "Queued 1 items; 1 pending"}


# --- the mailbox: disconnects, several streams, re-sends ------------------------------------------


def test_disconnect_after_half_and_reconnect_receives_the_rest(manual: Served) -> None:
    seen: list[Any] = []
    with open_stream(manual.port) as ws:
        login(ws)
        for n in range(5):
            ws.send(item(n))
        wait_for(lambda: manual.received() == 5, "first half admitted")
        assert quiet(ws, 0.3) == []  # nothing has finished yet
        manual.step()
        seen += [r["id"] for r in results_of(read(ws, 5))]
        for n in range(5, 10):
            ws.send(item(n))
        wait_for(lambda: manual.received() == 10, "second half admitted")
    wait_for(lambda: manual.streams_ended() == 1, "first stream over")
    manual.step()  # the second half finishes while nobody is connected
    with open_stream(manual.port) as ws:
        login(ws)
        frames = read(ws, 5)
        assert frames[0]["message"].endswith("; 5 results pending")
        seen += [r["id"] for r in results_of(frames)]
        assert quiet(ws) == []
    assert sorted(seen) == list(range(10)) and len(seen) == 10  # none lost, none twice
    container = manual.container()
    assert container["attrs"]["received"] == container["attrs"]["delivered"] == 10
    assert container["attrs"]["children"] == []  # fully delivered segments leave the mailbox


def test_results_finished_before_a_reconnect_are_kept_per_token_and_model(
    manual: Served,
) -> None:
    with open_stream(manual.port) as ws:
        login(ws)
        ws.send(item("mine"))
        wait_for(lambda: manual.received() == 1, "admitted")
    manual.step()
    other_model = "/bulk/stream/cpu/valhalla/distilbart-mnli-12-1"
    with open_stream(manual.port, path=other_model) as ws:  # same token, other model
        login(ws)
        assert quiet(ws) == []
    with open_stream(manual.port) as ws:  # same model, other token
        login(ws, "hf_someone_else")
        assert quiet(ws) == []
    with open_stream(manual.port) as ws:
        login(ws)
        assert [r["id"] for r in results_of(read(ws, 1))] == ["mine"]


def test_two_streams_share_one_mailbox_and_each_result_goes_once(manual: Served) -> None:
    with open_stream(manual.port) as a, open_stream(manual.port) as b:
        login(a)
        login(b)
        for n in range(6):
            a.send(item(f"a{n}"))
        for n in range(6):
            b.send(item(f"b{n}"))
        wait_for(lambda: manual.received() == 12, "all admitted")
        manual.step()
        got: dict[str, list[Any]] = {"a": [], "b": []}
        deadline = time.monotonic() + WAIT
        while len(got["a"]) + len(got["b"]) < 12:
            assert time.monotonic() < deadline, got
            for name, ws in (("a", a), ("b", b)):
                try:
                    message = json.loads(ws.recv(timeout=0.05))
                except TimeoutError:
                    continue
                if message["type"] == "results":
                    got[name].append(message["id"])
        assert quiet(a, 0.2) == [] and quiet(b, 0.2) == []
    everything = got["a"] + got["b"]
    assert sorted(everything) == sorted([f"a{n}" for n in range(6)] + [f"b{n}" for n in range(6)])
    assert len(set(everything)) == 12


def test_resent_items_are_processed_again(instant: Served) -> None:
    with open_stream(instant.port) as ws:
        login(ws)
        for _ in range(3):
            ws.send(item("again"))
        results = results_of(read(ws, 3))
        assert quiet(ws) == []
    assert [r["id"] for r in results] == ["again"] * 3
    assert results[0]["outputs"] == results[1]["outputs"] == results[2]["outputs"]
    attrs = instant.container()["attrs"]
    assert attrs["received"] == attrs["delivered"] == 3  # billed three times


def test_stream_hub_claims_release_and_delivered_marks(instant: Served) -> None:
    """A claimed result is nobody else's; a released one (its send failed) is claimed again;
    a delivered one never again, not even by a hub rebuilt from the store (a restart)."""
    hub = instant.backend.hub
    engine = instant.runtime.engine
    segment = hub.admit(TOKEN, MODEL, [{"inputs": "a", "id": 1}, {"inputs": "b"}, {"inputs": "c"}])
    assert segment.inputs[0]["id"] == 1 and isinstance(segment.inputs[1]["id"], str)
    first = hub.claim(TOKEN, MODEL)
    assert [r.index for r in first] == [0, 1, 2] and all(r.status == "succeeded" for r in first)
    assert hub.claim(TOKEN, MODEL) == []  # all claimed
    hub.release(TOKEN, MODEL, first)  # the sends failed
    again = hub.claim(TOKEN, MODEL)
    assert [r.index for r in again] == [0, 1, 2]
    hub.delivered(TOKEN, MODEL, again[:1])
    hub.release(TOKEN, MODEL, again[1:])
    assert hub.pending(TOKEN, MODEL) == (2, None)
    assert engine.get(segment.id).attrs["delivered"] == [0]  # type: ignore[union-attr]

    rebuilt = type(hub)(engine, instant.backend.stream_output)  # a restarted server's hub
    assert [r.index for r in rebuilt.claim(TOKEN, MODEL)] == [1, 2]
    assert hub.pending(TOKEN, MODEL) == (2, None)
    final = hub.claim(TOKEN, MODEL)
    hub.delivered(TOKEN, MODEL, final)
    assert hub.claim(TOKEN, MODEL) == [] and hub.pending(TOKEN, MODEL) == (0, None)
    container = engine.get(container_id(TOKEN, MODEL))
    assert container is not None
    assert container.attrs["children"] == [] and container.attrs["delivered"] == 3


def test_stream_hub_claims_the_rest_after_a_limited_claim(instant: Served) -> None:
    """Items a claim's limit left out are claimed next time (not skipped as "quiet")."""
    hub = instant.backend.hub
    hub.admit(TOKEN, MODEL, [{"inputs": "a"}, {"inputs": "b"}, {"inputs": "c"}])
    assert [r.index for r in hub.claim(TOKEN, MODEL, limit=2)] == [0, 1]
    assert [r.index for r in hub.claim(TOKEN, MODEL, limit=2)] == [2]


def test_more_results_than_one_claim_are_all_recovered_on_reconnect(manual: Served) -> None:
    """More results than one claim (64) ready at once, over several segments: all arrive."""
    with open_stream(manual.port) as ws:
        login(ws)
        for n in range(64):
            ws.send(item(n))
        wait_for(lambda: manual.received() == 64, "first 64 admitted")
        for n in range(64, 70):
            ws.send(item(n))
        wait_for(lambda: manual.received() == 70, "all admitted")
    manual.step()  # all 70 finish while nobody is connected
    with open_stream(manual.port) as ws:
        login(ws)
        ids = [r["id"] for r in results_of(read(ws, 70, timeout=5))]
    assert sorted(ids) == list(range(70))


# --- refusals and failures ------------------------------------------------------------------------


def test_bad_token_with_api_keys_is_closed_4001() -> None:
    with serving(api_keys="hf_good") as served:
        with open_stream(served.port) as ws:
            login(ws, "hf_stolen")
            frames, code, reason = closed(ws)
        assert frames == [{"type": "status", "message": INVALID_TOKEN}]
        assert (code, reason) == (4001, INVALID_TOKEN)
        with open_stream(served.port) as ws:
            login(ws, "hf_good")
            ws.send(item(1))
            assert [r["id"] for r in results_of(read(ws, 1))] == [1]


@pytest.mark.parametrize("first", [b"hf_token_without_scheme", b"Bearer ", b"Basic abc", b"\xff"])
def test_first_frame_must_be_a_bearer_token(instant: Served, first: bytes) -> None:
    with open_stream(instant.port) as ws:
        ws.send(first)
        frames, code, reason = closed(ws)
    assert code == 4001
    assert frames == [{"type": "status", "message": frames[0]["message"]}]
    assert frames[0]["message"].startswith("The first message must be 'Bearer <token>'")
    assert reason == frames[0]["message"][:120]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/bulk/stream/cpu/nobody/nothing", "Model nobody/nothing does not exist"),
        (f"/bulk/stream/tpu/{MODEL}", "Unknown compute type 'tpu': use cpu or gpu"),
    ],
)
def test_unknown_model_or_compute_is_closed_4004(instant: Served, path: str, message: str) -> None:
    with open_stream(instant.port, path=path) as ws:
        login(ws)
        frames, code, reason = closed(ws)
    assert (code, reason) == (4004, message)
    assert frames == [{"type": "status", "message": message}]


def test_malformed_frame_closes_1007_and_keeps_what_came_before(instant: Served) -> None:
    seen: list[Any] = []
    with open_stream(instant.port) as ws:
        login(ws)
        ws.send(item("before-1"))
        ws.send(item("before-2"))
        ws.send(b"{this is not json")
        frames, code, reason = closed(ws)
    seen += [f["id"] for f in results_of(frames)]
    assert code == 1007 and reason.startswith("Message is not valid JSON")
    assert frames[-1]["type"] == "status" and frames[-1]["message"].startswith(reason)
    with open_stream(instant.port) as ws:  # whatever was not delivered before the close
        login(ws)
        seen += [f["id"] for f in results_of(read(ws, 2 - len(seen)))]
        assert quiet(ws) == []
    assert sorted(seen) == ["before-1", "before-2"]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (json.dumps({"id": 1, "parameters": {}}).encode(),
         "The messages you need to send need to contain inputs keys"),
        (b"[1, 2, 3]", "Message must be a JSON object with an `inputs` key"),
        (b"\xff\xfe", "Messages must be UTF-8 JSON objects"),
    ],
)  # fmt: skip
def test_frames_that_are_not_items_close_1007(instant: Served, payload: bytes, reason: str) -> None:
    with open_stream(instant.port) as ws:
        login(ws)
        ws.send(payload)
        frames, code, sent = closed(ws)
    assert (code, sent) == (1007, reason)
    assert frames[-1] == {"type": "status", "message": reason}


def test_task_errors_are_results_and_the_stream_stays_open(instant: Served) -> None:
    with open_stream(instant.port) as ws:
        login(ws)
        ws.send(json.dumps({"id": "bad", "inputs": DRESS}).encode())
        ws.send(item("bad-template", hypothesis_template="no braces"))
        ws.send(item("good"))
        results = {r["id"]: r["outputs"] for r in results_of(read(ws, 3))}
    assert results["bad"] == {"error": ["Error in `parameters.candidate_labels`: field required"]}
    [template] = results["bad-template"]["error"]
    assert template.startswith('The provided hypothesis_template "no braces"')
    assert results["good"]["labels"][0] == "fashion"


def test_cancelled_items_are_results_with_an_error(manual: Served) -> None:
    with open_stream(manual.port) as ws:
        login(ws)
        ws.send(item("doomed"))
        wait_for(lambda: manual.received() == 1, "admitted")
        cid = container_id(TOKEN, MODEL)
        assert manual.control.post(f"/_mock/jobs/{cid}/cancel").status_code == 200
        [result] = results_of(read(ws, 1))
    assert result["id"] == "doomed"
    assert set(result["outputs"]) == {"error"} and result["outputs"]["error"]


def test_the_profile_header_applies_to_the_stream(instant: Served) -> None:
    with open_stream(instant.port, headers={"X-Mock-Profile": "manual"}) as ws:
        login(ws)
        ws.send(item("held"))
        wait_for(lambda: instant.received() == 1, "admitted")
        assert quiet(ws) == []  # the server runs instant; this stream asked for manual
        instant.step()
        assert [r["id"] for r in results_of(read(ws, 1))] == ["held"]


def test_the_lifecycle_header_fails_items(instant: Served) -> None:
    """``X-Mock-Lifecycle`` overrides on the handshake reach the stream's segments."""
    lifecycle = {"X-Mock-Lifecycle": json.dumps({"item_error_rate": 1})}
    with open_stream(instant.port, headers=lifecycle) as ws:
        login(ws)
        ws.send(item("fails"))
        [result] = results_of(read(ws, 1))
    assert result["outputs"] == {"error": "item failed"}


def test_plain_get_on_the_stream_path_is_an_hf_error(instant: Served) -> None:
    url = f"http://127.0.0.1:{instant.port}{PATH}"
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(url, timeout=5)
    with info.value:
        assert info.value.code == 400
        body = json.loads(info.value.read())
    assert set(body) == {"error"} and "websocket" in body["error"]
    assert instant.control.get(PATH).get_json() == body  # the test client agrees


def test_an_unsupported_websocket_version_is_a_426(instant: Served) -> None:
    with socket.create_connection(("127.0.0.1", instant.port), timeout=5) as sock:
        upgrade = (
            f"GET {PATH} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"
        )
        sock.sendall(upgrade.encode())
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 426"), head
    assert b"Sec-WebSocket-Version: 13" in head
    assert json.loads(body) == {
        "error": "unsupported Sec-WebSocket-Version; this endpoint is a websocket "
        "(see the bulk streaming docs)"
    }


# --- backpressure ---------------------------------------------------------------------------------


def test_frames_stop_being_read_while_the_mailbox_is_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(session, "MAX_PENDING", 4)
    monkeypatch.setattr(session, "MAX_BURST", 2)
    big = frame(item(text="word " * 13_000))  # about 64 KiB
    with serving(profile="manual") as served:
        sock = raw_upgrade(served.port, PATH)
        try:
            sock.sendall(frame(f"Bearer {TOKEN}".encode()))
            sock.settimeout(0.5)
            sent = 0
            with pytest.raises(TimeoutError):  # the server stops reading: our sends stall
                while sent < 512:  # 32 MiB would mean the server buffers for us
                    sock.sendall(big)
                    sent += 1
            wait_for(lambda: served.received() >= 4, "mailbox full")  # a slow server catches up
            time.sleep(0.3)  # and then reads no further
            received = served.received()
            assert 4 <= received <= 5  # MAX_PENDING, plus at most one burst past it
            assert received < sent < 512
        finally:
            sock.close()
        served.step()  # the items end; the server notices the client is gone
        wait_for(lambda: served.streams_ended() == 1, "stream over after the client left")


def test_a_client_that_leaves_a_full_mailbox_ends_its_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At MAX_PENDING the session reads no frames but still notices the client leaving."""
    monkeypatch.setattr(session, "MAX_PENDING", 2)
    with serving(profile="manual") as served:
        try:
            with raw_upgrade(served.port, PATH) as sock:
                sock.sendall(frame(f"Bearer {TOKEN}".encode()) + frame(item(1)) + frame(item(2)))
                wait_for(lambda: served.received() == 2, "admitted")
            wait_for(lambda: served.streams_ended() == 1, "stream over", timeout=3)
        finally:
            served.step()  # let the stuck session notice and end before the server goes
            wait_for(lambda: served.streams_ended() == 1, "stream over after the step")


def test_a_client_that_leaves_while_a_frame_is_held_ends_its_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(session, "MAX_PENDING", 2)
    monkeypatch.setattr(session, "MAX_BURST", 2)
    with serving(profile="manual") as served:
        try:
            with raw_upgrade(served.port, PATH) as sock:
                frames = [f"Bearer {TOKEN}".encode(), item(1), item(2), item(3)]
                sock.sendall(b"".join(frame(f) for f in frames))  # item 3 waits in the server
                wait_for(lambda: served.received() >= 2, "admitted")
            wait_for(lambda: served.streams_ended() == 1, "stream over", timeout=3)
        finally:
            served.step()  # let the stuck session notice and end before the server goes
            wait_for(lambda: served.streams_ended() == 1, "stream over after the step")


def test_frames_already_received_are_kept_when_a_stalled_reader_is_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(session, "SEND_TIMEOUT", 0.5)
    monkeypatch.setattr(session, "MAX_BURST", 50)
    wide = "mock/wide"
    path = f"/bulk/stream/cpu/{wide}"
    with serving(hf_models=f"{wide}=feature-extraction:8192") as served:
        with raw_upgrade(served.port, path, rcvbuf=4096) as sock:
            frames = [f"Bearer {TOKEN}".encode()]
            frames += [b'{"id": %d, "inputs": "item %d"}' % (n, n) for n in range(60)]
            sock.sendall(b"".join(frame(f) for f in frames))  # 2 KB: one read takes it all
            wait_for(lambda: served.streams_ended(path) == 1, "stalled reader dropped")
        attrs = served.container(model=wide)["attrs"]
        assert attrs["delivered"] < 50  # the first burst's results did not all fit
        assert attrs["received"] == 60


def test_a_stalled_reader_is_dropped_and_its_results_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(session, "SEND_TIMEOUT", 0.5)
    monkeypatch.setattr(session, "MAX_BURST", 50)
    wide = "mock/wide"  # results of about 85 KB each fill the socket buffers quickly
    path = f"/bulk/stream/cpu/{wide}"
    with serving(hf_models=f"{wide}=feature-extraction:4096") as served:
        sock = raw_upgrade(served.port, path, rcvbuf=4096)
        try:
            frames = [frame(f"Bearer {TOKEN}".encode())]
            frames += [frame(b'{"id": %d, "inputs": "item %d"}' % (n, n)) for n in range(300)]
            sock.settimeout(5)
            with contextlib.suppress(OSError):  # the server may drop us before reading it all
                sock.sendall(b"".join(frames))  # and never read
            started = time.monotonic()
            wait_for(lambda: served.streams_ended(path) == 1, "stalled reader dropped")
            assert time.monotonic() - started < 8  # SEND_TIMEOUT is 30 s unless patched
            attrs = served.container(model=wide)["attrs"]
            received, delivered = attrs["received"], attrs["delivered"]
            assert 0 < delivered < received <= 300
            in_buffers = {m["id"] for m in drain(sock) if m["type"] == "results"}
            assert len(in_buffers) <= delivered
        finally:
            sock.close()
        with open_stream(served.port, path=path) as ws:
            login(ws)
            frames_ = read(ws, received - delivered, timeout=15)
            assert frames_[0]["message"].endswith(f"; {received - delivered} results pending")
            assert quiet(ws, 0.3) == []
        ids = [r["id"] for r in results_of(frames_)]
        assert len(set(ids)) == len(ids) == received - delivered
        assert not set(ids) & in_buffers and set(ids) <= set(range(received))
        assert all(len(r["outputs"]) == 4096 for r in results_of(frames_))
        assert served.container(model=wide)["attrs"]["delivered"] == received


# --- restart durability ---------------------------------------------------------------------------


@pytest.mark.slow
def test_items_sent_before_a_crash_are_delivered_after_the_restart(tmp_path: Path) -> None:
    args = ("--store", f"sqlite:///{tmp_path}/hf.db", "--profile", "manual")
    cid = container_id(TOKEN, MODEL)
    with ServerProcess(*args) as server:
        with open_stream(server.port) as ws:
            login(ws)
            for n in range(4):
                ws.send(item(f"r{n}"))

            def admitted() -> bool:
                code, job = server.request("GET", f"/_mock/jobs/{cid}")
                return code == 200 and job["attrs"]["received"] == 4

            wait_for(admitted, "admitted before the crash")
        server.kill()
    with ServerProcess(*args) as server:
        code, _ = server.request("POST", f"/_mock/jobs/{cid}/step", {"to": "terminal"})
        assert code == 200
        with open_stream(server.port) as ws:
            login(ws)
            frames = read(ws, 4, timeout=30)  # the model loads on first use
            assert frames[0]["message"].endswith("; 4 results pending")
            assert quiet(ws) == []
    results = results_of(frames)
    assert sorted(r["id"] for r in results) == ["r0", "r1", "r2", "r3"]
    assert all(r["outputs"]["labels"][0] == "fashion" for r in results)
