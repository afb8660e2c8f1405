"""Stream faults on the Hugging Face bulk websocket (issue 8, item 5), against a real server.

A fault rule for provider ``huggingface``, operation ``bulk_stream`` (one call per connection,
consulted once the token is accepted) shapes a whole connection: ``cut`` drops the socket after
``count`` frames without a close frame, ``latency`` slows every ``results`` frame, ``spam``
sends extra ``status`` frames before each result, ``malformed`` sends one frame that is not
JSON before the first result. Each test installs its rule for its own token (tenant), so one
``mockserver serve`` serves them all; every wait is bounded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosedError
from websockets.frames import CloseCode
from websockets.sync.client import ClientConnection, connect

from mockserver.providers.huggingface.stream import container_id
from tests.serverproc import ServerProcess

pytestmark = pytest.mark.slow

MODEL = "facebook/bart-large-mnli"
PATH = f"/bulk/stream/cpu/{MODEL}"
DRESS = "This is a test about a new dress shop than opened up on 5th avenue"
LABELS = ["medical", "fashion", "politics"]
WAIT = 20.0  # the longest any single wait may take (the first result loads the model)


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with ServerProcess("--seed", "42") as running:
        yield running


# --- helpers ----------------------------------------------------------------------------------


def install(server: ServerProcess, token: str, *rules: dict[str, Any]) -> None:
    code, body = server.request("POST", "/_mock/faults", {"tenant": token, "rules": list(rules)})
    assert code == 201, body


def stream_rule(rule_id: str, action: dict[str, Any], **extra: Any) -> dict[str, Any]:
    match = {"provider": "huggingface", "operation": "bulk_stream"}
    return {"id": rule_id, "match": match, "action": action, **extra}


def open_stream(server: ServerProcess, headers: dict[str, str] | None = None) -> ClientConnection:
    return connect(
        f"ws://127.0.0.1:{server.port}{PATH}",
        open_timeout=5,
        close_timeout=1,
        ping_interval=None,
        proxy=None,
        additional_headers=headers,
    )


def login(ws: ClientConnection, token: str) -> None:
    ws.send(f"Bearer {token}".encode())


def item(item_id: Any) -> bytes:
    payload = {"id": item_id, "inputs": DRESS, "parameters": {"candidate_labels": LABELS}}
    return json.dumps(payload).encode()


def texts(ws: ClientConnection, results: int, timeout: float = WAIT) -> list[str]:
    """Raw text frames until ``results`` of them are ``results`` frames."""
    frames: list[str] = []
    deadline = time.monotonic() + timeout
    while sum(_is_result(f) for f in frames) < results:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"only {frames} within {timeout} s"
        frame = ws.recv(timeout=remaining)
        assert isinstance(frame, str), frame
        frames.append(frame)
    return frames


def _is_result(text: str) -> bool:
    try:
        return bool(json.loads(text)["type"] == "results")
    except ValueError:
        return False


def result_ids(frames: list[str]) -> list[Any]:
    return [json.loads(f)["id"] for f in frames if _is_result(f)]


def quiet(ws: ClientConnection, seconds: float = 0.4) -> list[str]:
    """Frames that arrive within ``seconds`` (there should be no results)."""
    extra: list[str] = []
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            frame = ws.recv(timeout=remaining)
        except TimeoutError:
            break
        assert isinstance(frame, str)
        extra.append(frame)
    return [f for f in extra if _is_result(f)]


def dropped(ws: ClientConnection, timeout: float = WAIT) -> list[str]:
    """Frames until the connection ends; it must end without a close frame (1006)."""
    frames: list[str] = []
    deadline = time.monotonic() + timeout
    with pytest.raises(ConnectionClosedError) as info:
        while True:
            frame = ws.recv(timeout=max(0.01, deadline - time.monotonic()))
            assert isinstance(frame, str)
            frames.append(frame)
    assert info.value.rcvd is None, "the server sent a close frame"
    assert ws.close_code == CloseCode.ABNORMAL_CLOSURE == 1006
    return frames


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.02)


def journal(server: ServerProcess, token: str, connections: int) -> list[Any]:
    """The ``fault`` field of each of ``token``'s stream connections, oldest first (waiting
    until ``connections`` are journalled: an entry is written when its conversation ends)."""
    found: list[Any] = []

    def ready() -> bool:
        code, body = server.request("GET", f"/_mock/journal?tenant={token}&path=/bulk/stream")
        assert code == 200, body
        entries = sorted(body["entries"], key=lambda e: e["id"])  # the API: newest first
        found[:] = [e["fault"] for e in entries if e["path"] == PATH]
        return len(found) >= connections

    wait_for(ready, f"{connections} stream connection(s) journalled")
    return found


def admitted(server: ServerProcess, token: str, count: int) -> Callable[[], bool]:
    def check() -> bool:
        code, job = server.request("GET", f"/_mock/jobs/{container_id(token, MODEL)}")
        return code == 200 and job["attrs"]["received"] == count

    return check


# --- cut ------------------------------------------------------------------------------------------


def test_cut_after_n_frames_drops_the_connection_and_loses_nothing(server: ServerProcess) -> None:
    token = "fault_cut"
    # Five items wait in the mailbox (the manual profile holds them until stepped).
    with open_stream(server, {"X-Mock-Profile": "manual"}) as ws:
        login(ws, token)
        for n in range(5):
            ws.send(item(n))
        wait_for(admitted(server, token, 5), "five items admitted")
    cid = container_id(token, MODEL)
    assert server.request("POST", f"/_mock/jobs/{cid}/step", {"to": "terminal"})[0] == 200
    install(server, token, stream_rule("cut3", {"kind": "cut", "count": 3}, name="hf-cut"))

    with open_stream(server) as ws:
        login(ws, token)
        frames = dropped(ws)
    # "Connected ...; 5 results pending", then two results, then the socket went away
    assert len(frames) == 3
    assert json.loads(frames[0])["message"].endswith("; 5 results pending")
    first = result_ids(frames)
    assert len(first) == 2

    with open_stream(server) as ws:  # times 1: this connection is clean
        login(ws, token)
        frames = texts(ws, 3)
        assert json.loads(frames[0])["message"].endswith("; 3 results pending")
        rest = result_ids(frames)
        assert quiet(ws) == []
    assert sorted(first + rest) == list(range(5))  # none lost, none twice

    faults = journal(server, token, 3)
    assert faults[0] is None  # the connection that sent the items
    assert faults[1]["rule"] == "cut3" and faults[1]["name"] == "hf-cut"
    assert faults[1]["kind"] == "cut" and faults[1]["call"] == 1
    assert faults[2] is None
    code, body = server.request("GET", f"/_mock/faults?tenant={token}")
    (rule,) = body["plans"][0]["rules"]
    assert (rule["fired"], rule["left"]) == (1, 0)


def test_cut_by_default_right_after_the_token(server: ServerProcess) -> None:
    token = "fault_cut0"
    install(server, token, stream_rule("cut0", {"kind": "cut"}))
    with open_stream(server) as ws:
        login(ws, token)
        assert dropped(ws) == []  # not even the "Connected" status
    with open_stream(server) as ws:
        login(ws, token)
        ws.send(item("after"))
        assert result_ids(texts(ws, 1)) == ["after"]
    assert [f and f["rule"] for f in journal(server, token, 2)] == ["cut0", None]


# --- latency, spam, malformed ---------------------------------------------------------------------


def test_latency_slows_every_result(server: ServerProcess) -> None:
    token = "fault_latency"
    delay = 0.4
    install(server, token, stream_rule("slow", {"kind": "latency", "delay": delay}))
    with open_stream(server) as ws:
        login(ws, token)
        started = time.monotonic()
        for n in range(3):
            ws.send(item(n))
        frames = texts(ws, 3)
        elapsed = time.monotonic() - started
    assert sorted(result_ids(frames)) == [0, 1, 2]
    assert elapsed >= 3 * delay  # one delay before each results frame, one producer
    faults = journal(server, token, 1)
    assert faults[0]["rule"] == "slow" and faults[0]["kind"] == "latency"


def test_spam_sends_count_status_frames_before_each_result(server: ServerProcess) -> None:
    token = "fault_spam"
    install(server, token, stream_rule("noisy", {"kind": "spam", "count": 3}))
    with open_stream(server) as ws:
        login(ws, token)
        for n in range(4):
            ws.send(item(n))
        frames = [json.loads(f) for f in texts(ws, 4)]
        assert quiet(ws) == []
    spam = [f for f in frames if f["type"] == "status" and f["message"].startswith("Queued 0 ")]
    assert len(spam) == 3 * 4
    for index, frame in enumerate(frames):
        if frame["type"] == "results":
            before = frames[index - 3 : index]
            assert [f["type"] for f in before] == ["status"] * 3, frames
            assert all(f["message"].startswith("Queued 0 items; ") for f in before)
            assert all(f["message"].endswith(" pending") for f in before)
    assert sorted(f["id"] for f in frames if f["type"] == "results") == [0, 1, 2, 3]
    assert journal(server, token, 1)[0]["kind"] == "spam"


def test_one_malformed_frame_then_the_results(server: ServerProcess) -> None:
    token = "fault_malformed"
    install(server, token, stream_rule("garbled", {"kind": "malformed"}))
    with open_stream(server) as ws:
        login(ws, token)
        for n in range(3):
            ws.send(item(n))
        frames = texts(ws, 3)
        assert quiet(ws) == []
    broken = []
    for index, frame in enumerate(frames):
        try:
            json.loads(frame)
        except ValueError:
            broken.append(index)
    assert len(broken) == 1
    (at,) = broken
    following = frames[at + 1]
    assert _is_result(following) and not any(_is_result(f) for f in frames[:at])
    assert following.startswith(frames[at]) and len(frames[at]) < len(following)
    assert sorted(result_ids(frames)) == [0, 1, 2]  # the stream went on
    assert journal(server, token, 1)[0]["kind"] == "malformed"


def test_a_lifecycle_rule_applies_to_the_items_of_the_connection(server: ServerProcess) -> None:
    token = "fault_lifecycle"
    install(server, token, stream_rule("held", {"kind": "lifecycle", "profile": "manual"}))
    with open_stream(server) as ws:
        login(ws, token)
        ws.send(item("held"))
        wait_for(admitted(server, token, 1), "admitted")
        assert quiet(ws) == []  # the server runs instant; the rule said manual
        cid = container_id(token, MODEL)
        assert server.request("POST", f"/_mock/jobs/{cid}/step", {"to": "terminal"})[0] == 200
        assert result_ids(texts(ws, 1)) == ["held"]


# --- reproducible dice ----------------------------------------------------------------------------


def _flaky_round(server: ServerProcess, token: str, connections: int) -> list[int]:
    """Install a 50 % spam rule, make ``connections`` connections of one item each, and return
    how many spam frames each saw."""
    rule = stream_rule("flaky", {"kind": "spam", "count": 2}, times=None)
    rule["match"]["probability"] = 0.5
    install(server, token, rule)
    seen = []
    for n in range(connections):
        with open_stream(server) as ws:
            login(ws, token)
            ws.send(item(n))
            frames = [json.loads(f) for f in texts(ws, 1)]
        seen.append(sum(f.get("message", "").startswith("Queued 0 ") for f in frames))
        journal(server, token, n + 1)  # over before the next starts: the journal's order
    return seen


def test_the_same_seed_and_calls_reproduce_the_same_faults(server: ServerProcess) -> None:
    token = "fault_dice"
    first = _flaky_round(server, token, 8)
    faults = journal(server, token, 8)
    assert [2 if f else 0 for f in faults] == first
    assert 0 < first.count(2) < 8, first  # some connections hit, some not (seed 42)
    assert [f["call"] for f in faults if f] == [n + 1 for n, s in enumerate(first) if s]

    assert server.request("POST", "/_mock/reset", {"tenant": token})[0] == 200
    second = _flaky_round(server, token, 8)
    assert second == first
    assert journal(server, token, 8) == faults


def test_connections_are_not_consumed_by_rules_for_other_tenants(server: ServerProcess) -> None:
    install(server, "fault_other", stream_rule("elsewhere", {"kind": "cut"}))
    with open_stream(server) as ws:
        login(ws, "fault_bystander")
        ws.send(item(1))
        assert result_ids(texts(ws, 1)) == [1]
    code, body = server.request("GET", "/_mock/faults?tenant=fault_other")
    assert body["plans"][0]["rules"][0]["seen"] == 0
    with open_stream(server) as ws:  # the rule's own tenant still gets it
        login(ws, "fault_other")
        assert dropped(ws) == []


def test_the_hf_stream_cut_scenario_from_one_flag() -> None:
    """``--scenario hf-stream-cut``: the first stream is cut after four frames; reconnecting
    with the same token gets every other result, none twice."""
    token = "scenario_cut"
    with ServerProcess("--scenario", "hf-stream-cut") as running:
        with open_stream(running) as ws:
            login(ws, token)
            for n in range(6):
                ws.send(item(n))
            frames = dropped(ws)
        assert len(frames) == 4
        first = result_ids(frames)
        # Items the server had read before the cut are kept (in order); on a busy machine the
        # last ones may not have been read yet, and a client would send those again.
        code, job = running.request("GET", f"/_mock/jobs/{container_id(token, MODEL)}")
        kept = job["attrs"]["received"]
        assert code == 200 and kept > len(first)
        with open_stream(running) as ws:
            login(ws, token)
            rest = result_ids(texts(ws, kept - len(first)))
            assert quiet(ws) == []
        assert sorted(first + rest) == list(range(kept))
        assert journal(running, token, 2)[0]["rule"] == "cut"


def test_the_scenario_header_on_the_handshake_shapes_that_connection_only(
    server: ServerProcess,
) -> None:
    """``X-Mock-Scenario`` on the upgrade request: its rules play for that connection (here a
    cut right after the token); the next connection, without the header, is not touched."""
    token = "fault_header_cut"
    rules = json.dumps([stream_rule("header-cut", {"kind": "cut", "count": 0})])
    with open_stream(server, {"X-Mock-Scenario": rules}) as ws:
        login(ws, token)
        assert dropped(ws) == []
    with open_stream(server) as ws:
        login(ws, token)
        ws.send(item(1))
        assert result_ids(texts(ws, 1)) == [1]
    assert journal(server, token, 2)[0]["rule"] == "header-cut"


def test_a_bad_scenario_header_is_refused_before_the_upgrade(server: ServerProcess) -> None:
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus) as refused:
        open_stream(server, {"X-Mock-Scenario": "fixtures/scenarios/rate-limited.yaml"})
    response = refused.value.response
    assert response.status_code == 400
    body = json.loads(response.body)
    assert "X-Mock-Scenario" in body["error"] and "not a path" in body["error"]
