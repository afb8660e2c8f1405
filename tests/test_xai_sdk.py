"""The official ``xai-sdk`` (1.21.0, gRPC) against the emulator, and REST ⇄ gRPC on one backend.

The gRPC server runs in process on a free port next to a Flask test client over the same
runtime, so a batch made over one transport is read over the other without sockets for REST.
One test starts ``mockserver serve`` for real to prove the server runner starts the gRPC face.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

grpc = pytest.importorskip("grpc")
xai_sdk = pytest.importorskip("xai_sdk")

from xai_sdk.chat import system, user  # noqa: E402
from xai_sdk.proto import batch_pb2, batch_pb2_grpc, image_pb2  # noqa: E402

from mockserver.app import create_app  # noqa: E402
from mockserver.settings import Settings  # noqa: E402

from .serverproc import ServerProcess  # noqa: E402

KEY = "xai-test"
REST = {"Authorization": f"Bearer {KEY}"}


class Emulator:
    def __init__(self, settings: Settings) -> None:
        self.app = create_app(settings.replace(grpc="on", grpc_port=0, log_level="warning"))
        self.runtime = self.app.extensions["mockserver"]
        self.rest = self.app.test_client()
        for service in self.runtime.services:
            service.start()
        self.port = self.runtime.extensions["xai.grpc_port"]
        self.sdk = xai_sdk.Client(
            api_key=KEY, api_host=f"127.0.0.1:{self.port}", use_insecure_channel=True
        )
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        self.stub = batch_pb2_grpc.BatchMgmtStub(self.channel)

    def close(self) -> None:
        self.channel.close()
        self.sdk.close() if hasattr(self.sdk, "close") else None
        self.runtime.close()

    def chat(self, request_id: str, prompt: str, **params: Any) -> Any:
        chat = self.sdk.chat.create(
            model=params.pop("model", "grok-4-1-fast-non-reasoning"),
            batch_request_id=request_id,
            **params,
        )
        chat.append(system("Answer briefly."))
        chat.append(user(prompt))
        return chat

    def profile(self, name: str) -> None:
        response = self.rest.put("/_mock/profile", json={"profile": name, "tenant": KEY})
        assert response.status_code == 200, response.json

    def step(self, batch_id: str) -> None:
        response = self.rest.post(f"/_mock/jobs/{batch_id}/step", json={"to": "terminal"})
        assert response.status_code == 200, response.json


@pytest.fixture
def emu() -> Iterator[Emulator]:
    emulator = Emulator(Settings())
    try:
        yield emulator
    finally:
        emulator.close()


def metadata(key: str = KEY) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {key}")]


# --- the official SDK flow ---------------------------------------------------------------------


def test_sdk_create_add_get_list_results_cancel(emu: Emulator) -> None:
    batch = emu.sdk.batch.create("capitals")
    assert batch.batch_id.startswith("batch_") and batch.name == "capitals"
    assert batch.state.num_requests == 0 and batch.create_api_key_id != KEY
    chats = [
        emu.chat(f"capital_{c.lower()}", f"What is the capital of {c}?") for c in ("UK", "USA")
    ]
    chats.append(emu.chat("bad", "Say hi", max_tokens=-5))
    emu.sdk.batch.add(batch_id=batch.batch_id, batch_requests=chats)

    got = emu.sdk.batch.get(batch.batch_id)
    assert (got.state.num_requests, got.state.num_pending) == (3, 0)
    assert (got.state.num_success, got.state.num_error) == (2, 1)
    assert got.expire_time.seconds - got.create_time.seconds == 30 * 86400

    listed = emu.sdk.batch.list(limit=10)
    assert [b.batch_id for b in listed.batches] == [batch.batch_id]

    requests = emu.sdk.batch.list_batch_requests(batch.batch_id)
    states = {m.batch_request_id: m.state for m in requests.batch_request_metadata}
    assert states == {
        "bad": batch_pb2.BatchRequestMetadata.STATE_FAILED,
        "capital_uk": batch_pb2.BatchRequestMetadata.STATE_SUCCEEDED,
        "capital_usa": batch_pb2.BatchRequestMetadata.STATE_SUCCEEDED,
    }
    assert {m.endpoint for m in requests.batch_request_metadata} == {"xai_api.Chat/GetCompletion"}

    page = emu.sdk.batch.list_batch_results(batch.batch_id, limit=10)
    assert [r.batch_request_id for r in page.results] == ["bad", "capital_uk", "capital_usa"]
    assert page.pagination_token is None
    assert [r.batch_request_id for r in page.succeeded] == ["capital_uk", "capital_usa"]
    (failed,) = page.failed
    assert failed.error_message == (
        "Maximum number of tokens max_tokens must be positive but max_tokens = -5"
    )
    assert failed.proto.error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    response = page.succeeded[0].response
    assert "capital" in response.content.lower()
    usage = response.usage
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.cost_in_usd_ticks > 0

    cancelled = emu.sdk.batch.cancel(batch.batch_id)
    assert cancelled.HasField("cancel_time")
    with pytest.raises(grpc.RpcError) as refused:
        emu.sdk.batch.add(batch.batch_id, [emu.chat("late", "too late")])
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_cancel_turns_pending_requests_into_failed_batch_cancelled_rows(emu: Emulator) -> None:
    emu.profile("manual")
    batch = emu.sdk.batch.create("pending")
    emu.sdk.batch.add(batch.batch_id, [emu.chat(f"q{n}", f"question {n}") for n in range(3)])
    state = emu.sdk.batch.get(batch.batch_id).state
    assert (state.num_requests, state.num_pending) == (3, 3)
    assert emu.sdk.batch.list_batch_results(batch.batch_id).results == []

    emu.sdk.batch.cancel(batch.batch_id)
    state = emu.sdk.batch.get(batch.batch_id).state
    assert (state.num_pending, state.num_cancelled) == (0, 3)
    page = emu.sdk.batch.list_batch_results(batch.batch_id)
    assert [r.error_message for r in page.failed] == ["Batch cancelled"] * 3
    assert {r.proto.error.code for r in page.failed} == {grpc.StatusCode.CANCELLED.value[0]}


def test_results_are_readable_while_other_requests_are_pending(emu: Emulator) -> None:
    emu.profile("manual")
    batch = emu.sdk.batch.create("partial")
    emu.sdk.batch.add(batch.batch_id, [emu.chat("a", "first")])
    emu.step(batch.batch_id)
    emu.sdk.batch.add(batch.batch_id, [emu.chat("b", "second")])
    state = emu.sdk.batch.get(batch.batch_id).state
    assert (state.num_requests, state.num_success, state.num_pending) == (2, 1, 1)
    page = emu.sdk.batch.list_batch_results(batch.batch_id)
    assert [r.batch_request_id for r in page.succeeded] == ["a"]
    pending = emu.sdk.batch.list_batch_requests(batch.batch_id)
    assert [m.state for m in pending.batch_request_metadata] == [
        batch_pb2.BatchRequestMetadata.STATE_SUCCEEDED,
        batch_pb2.BatchRequestMetadata.STATE_PENDING,
    ]
    assert not pending.batch_request_metadata[1].HasField("finish_time")


def test_results_and_batches_page_with_opaque_tokens(emu: Emulator) -> None:
    batch = emu.sdk.batch.create("paged")
    emu.sdk.batch.add(batch.batch_id, [emu.chat(f"r{n}", f"n={n}") for n in (4, 0, 3, 1, 2)])
    seen, token = [], None
    while True:
        page = emu.sdk.batch.list_batch_results(batch.batch_id, limit=2, pagination_token=token)
        seen += [r.batch_request_id for r in page.results]
        token = page.pagination_token
        if token is None:
            break
    assert seen == ["r0", "r1", "r2", "r3", "r4"]  # lexicographic, as live
    for n in range(3):
        emu.sdk.batch.create(f"more {n}")
    first = emu.sdk.batch.list(limit=3)
    assert len(first.batches) == 3 and first.pagination_token
    rest = emu.sdk.batch.list(limit=3, pagination_token=first.pagination_token)
    assert [b.name for b in rest.batches] == ["paged"] and not rest.pagination_token


def test_status_codes_mirror_the_rest_errors(emu: Emulator) -> None:
    with pytest.raises(grpc.RpcError) as missing:
        emu.sdk.batch.get("batch_00000000-0000-4000-8000-000000000000")
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    batch = emu.sdk.batch.create("errors")
    emu.sdk.batch.add(batch.batch_id, [emu.chat("same", "one")])
    emu.sdk.batch.add(batch.batch_id, [emu.chat("same", "one")])  # identical: idempotent
    with pytest.raises(grpc.RpcError) as differs:
        emu.sdk.batch.add(batch.batch_id, [emu.chat("same", "two")])
    assert differs.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "content differs from originally submitted" in differs.value.details()
    with pytest.raises(grpc.RpcError) as model:
        emu.sdk.batch.add(batch.batch_id, [emu.chat("m", "x", model="grok-nonexistent")])
    assert model.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert model.value.details() == "Model grok-nonexistent is not supported for batch processing."
    assert emu.sdk.batch.get(batch.batch_id).state.num_requests == 1

    with pytest.raises(grpc.RpcError) as no_key:
        emu.stub.GetBatch(batch_pb2.GetBatchRequest(batch_id=batch.batch_id))
    assert no_key.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    other = emu.stub.ListBatches(batch_pb2.ListBatchesRequest(), metadata=metadata("other-key"))
    assert list(other.batches) == []  # the key is the tenant


def test_wrong_key_is_refused_when_keys_are_configured() -> None:
    emulator = Emulator(Settings().replace(api_keys="good-key"))
    try:
        with pytest.raises(grpc.RpcError) as refused:
            emulator.sdk.batch.list()
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert refused.value.details().startswith("Incorrect API key provided")
    finally:
        emulator.close()


def test_get_batch_request_result_returns_the_request_and_its_result(emu: Emulator) -> None:
    batch = emu.sdk.batch.create("one")
    emu.sdk.batch.add(batch.batch_id, [emu.chat("only", "What is 6 * 7?", max_tokens=50)])
    found = emu.stub.GetBatchRequestResult(
        batch_pb2.GetBatchRequestResultRequest(batch_id=batch.batch_id, batch_request_id="only"),
        metadata=metadata(),
    )
    request = found.request.completion_request
    assert [c.text for m in request.messages for c in m.content] == [
        "Answer briefly.",
        "What is 6 * 7?",
    ]
    assert request.max_tokens == 50
    completion = found.result.response.completion_response
    assert "42" in completion.outputs[0].message.content
    with pytest.raises(grpc.RpcError) as missing:
        emu.stub.GetBatchRequestResult(
            batch_pb2.GetBatchRequestResultRequest(batch_id=batch.batch_id, batch_request_id="x"),
            metadata=metadata(),
        )
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


def test_image_requests_answer_with_downloadable_images(emu: Emulator) -> None:
    batch = emu.sdk.batch.create("images")
    emu.sdk.batch.add(
        batch.batch_id,
        [
            batch_pb2.BatchRequest(
                batch_request_id="img",
                image_request=image_pb2.GenerateImageRequest(
                    prompt="a red fox", model="grok-imagine-image", n=2
                ),
            )
        ],
    )
    (row,) = emu.sdk.batch.list_batch_results(batch.batch_id).succeeded
    urls = [image.url for image in row.proto.response.image_response.images]
    assert len(urls) == 2 and all(u.startswith("http://127.0.0.1:") for u in urls)
    path = urls[0].split("/", 3)[3]
    png = emu.rest.get("/" + path)
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG")


# --- one backend, two transports ---------------------------------------------------------------


def test_a_batch_created_over_rest_is_read_by_the_sdk(emu: Emulator) -> None:
    created = emu.rest.post("/v1/batches", json={"name": "from rest"}, headers=REST).json
    body = {
        "batch_requests": [
            {
                "batch_request_id": "rest-1",
                "batch_request": {
                    "chat_get_completion": {
                        "model": "grok-3-mini",
                        "messages": [{"role": "user", "content": "Name a colour."}],
                    }
                },
            }
        ]
    }
    added = emu.rest.post(f"/v1/batches/{created['batch_id']}/requests", json=body, headers=REST)
    assert added.status_code == 200
    got = emu.sdk.batch.get(created["batch_id"])
    assert got.name == "from rest" and got.state.num_success == 1
    (row,) = emu.sdk.batch.list_batch_results(created["batch_id"]).succeeded
    rest_rows = emu.rest.get(f"/v1/batches/{created['batch_id']}/results", headers=REST).json
    rest_completion = rest_rows["results"][0]["batch_result"]["response"]["chat_get_completion"]
    assert row.response.content == rest_completion["choices"][0]["message"]["content"]
    assert row.proto.response.completion_response.id == rest_completion["id"]
    # reasoning model: reasoning tokens are reported apart from completion tokens
    usage = row.proto.response.completion_response.usage
    assert usage.reasoning_tokens > 0
    assert (
        usage.total_tokens == usage.prompt_tokens + usage.completion_tokens + usage.reasoning_tokens
    )


def test_a_batch_created_by_the_sdk_is_read_over_rest(emu: Emulator) -> None:
    batch = emu.sdk.batch.create("from sdk")
    emu.sdk.batch.add(batch.batch_id, [emu.chat("sdk-1", "Hello there")])
    rest = emu.rest.get(f"/v1/batches/{batch.batch_id}", headers=REST).json
    assert rest["name"] == "from sdk"
    assert rest["state"] == {
        "num_requests": 1,
        "num_pending": 0,
        "num_success": 1,
        "num_error": 0,
        "num_cancelled": 0,
    }
    rows = emu.rest.get(f"/v1/batches/{batch.batch_id}/results", headers=REST).json["results"]
    completion = rows[0]["batch_result"]["response"]["chat_get_completion"]
    assert completion["object"] == "chat.completion"
    assert completion["choices"][0]["message"]["content"]
    # the request is stored in the REST shape: re-adding it over REST is idempotent
    again = {
        "batch_requests": [
            {
                "batch_request_id": "sdk-1",
                "batch_request": {
                    "chat_get_completion": {
                        "model": "grok-4-1-fast-non-reasoning",
                        "messages": [
                            {"role": "system", "content": "Answer briefly."},
                            {"role": "user", "content": "Hello there"},
                        ],
                    }
                },
            }
        ]
    }
    readd = emu.rest.post(f"/v1/batches/{batch.batch_id}/requests", json=again, headers=REST)
    assert readd.status_code == 200, readd.json
    assert emu.sdk.batch.get(batch.batch_id).state.num_requests == 1


def test_grpc_calls_are_journaled(emu: Emulator) -> None:
    emu.sdk.batch.create("journal")
    entries = emu.rest.get("/_mock/journal").json["entries"]
    grpc_entries = [e for e in entries if e.get("operation") == "CreateBatch"]
    assert grpc_entries and grpc_entries[0]["tenant"] == KEY
    assert grpc_entries[0]["path"] == "/xai_api.BatchMgmt/CreateBatch"


@pytest.mark.slow
def test_mockserver_serve_starts_the_grpc_face() -> None:
    with ServerProcess("--grpc", "on", "--grpc-port", "0") as server:
        with urllib.request.urlopen(server.url + "/_mock/health") as response:
            port = json.load(response)["grpc"]["port"]
        client = xai_sdk.Client(
            api_key=KEY, api_host=f"127.0.0.1:{port}", use_insecure_channel=True
        )
        batch = client.batch.create("served")
        chat = client.chat.create(model="grok-3-mini", batch_request_id="one")
        chat.append(user("hi"))
        client.batch.add(batch.batch_id, [chat])
        request = urllib.request.Request(f"{server.url}/v1/batches/{batch.batch_id}", headers=REST)
        with urllib.request.urlopen(request) as response:
            assert json.load(response)["state"]["num_requests"] == 1


# --- settings ------------------------------------------------------------------------------------


def test_a_busy_grpc_port_is_logged_with_auto_and_fatal_with_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        auto = create_app(Settings().replace(grpc="auto", grpc_port=port))
        runtime = auto.extensions["mockserver"]
        with caplog.at_level("WARNING", logger="mockserver"):
            for service in runtime.services:
                service.start()
        assert "xai.grpc_port" not in runtime.extensions
        assert any("gRPC face off" in r.getMessage() for r in caplog.records)
        assert auto.test_client().get("/_mock/health").json["grpc"] == {"port": None}
        runtime.close()
        strict = create_app(Settings().replace(grpc="on", grpc_port=port))
        with pytest.raises(OSError, match="cannot bind"):
            for service in strict.extensions["mockserver"].services:
                service.start()
        strict.extensions["mockserver"].close()
    assert create_app(Settings().replace(grpc="off")).extensions["mockserver"].services == []


def test_xai_models_replaces_the_accepted_models() -> None:
    app = create_app(Settings().replace(grpc="off", xai_models="my-model,other"))
    client = app.test_client()
    batch_id = client.post("/v1/batches", json={"name": "m"}, headers=REST).json["batch_id"]

    def add(model: str) -> Any:
        chat = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
        body = {"batch_requests": [{"batch_request": {"chat_get_completion": chat}}]}
        return client.post(f"/v1/batches/{batch_id}/requests", json=body, headers=REST)

    assert add("my-model").status_code == 200
    refused = add("grok-3-mini")
    assert refused.status_code == 400
    assert refused.json["error"] == "Model grok-3-mini is not supported for batch processing."


# --- faults over gRPC ---------------------------------------------------------------------------


def add_fault(emu: Emulator, rule: dict[str, Any]) -> None:
    response = emu.rest.post("/_mock/faults", json={"tenant": KEY, "rules": [rule]})
    assert response.status_code == 201, response.json


def test_the_sdk_retries_unavailable_and_succeeds(emu: Emulator) -> None:
    """Two UNAVAILABLE answers (a 503 rule on GetBatch), then the batch: the SDK's retry
    policy (reference: it retries UNAVAILABLE) gets through without the caller noticing."""
    batch = emu.sdk.batch.create("flaky")
    rule = {"match": {"operation": "GetBatch"}, "action": {"kind": "status", "status": 503},
            "times": 2}  # fmt: skip
    add_fault(emu, rule)
    assert emu.sdk.batch.get(batch.batch_id).batch_id == batch.batch_id
    entries = emu.rest.get("/_mock/journal").json["entries"]
    gets = [(e["status"], (e["fault"] or {}).get("kind")) for e in reversed(entries)
            if e["operation"] == "GetBatch"]  # fmt: skip
    assert gets == [(503, "status"), (503, "status"), (200, None)]


@pytest.mark.parametrize(
    ("action", "code"),
    [
        ({"kind": "status", "status": 429}, "RESOURCE_EXHAUSTED"),
        ({"kind": "status", "status": 404, "message": "gone"}, "NOT_FOUND"),
        ({"kind": "reset"}, "UNAVAILABLE"),
    ],
)
def test_faults_abort_rpcs_with_the_mapped_status(
    emu: Emulator, action: dict[str, Any], code: str
) -> None:
    times = None if code == "UNAVAILABLE" else 1  # the SDK would retry a single UNAVAILABLE
    add_fault(emu, {"match": {"operation": "ListBatches"}, "action": action, "times": times})
    with pytest.raises(grpc.RpcError) as caught:
        emu.stub.ListBatches(batch_pb2.ListBatchesRequest(), metadata=metadata(), timeout=5)
    assert caught.value.code() == getattr(grpc.StatusCode, code)
    emu.rest.delete("/_mock/faults")
    emu.stub.ListBatches(batch_pb2.ListBatchesRequest(), metadata=metadata(), timeout=5)


def test_an_out_of_order_rpc_in_an_ordered_scenario_aborts_with_internal(emu: Emulator) -> None:
    """Ordered mode fails loudly over gRPC too: ListBatches comes before the GetBatch step."""
    wait = {"kind": "latency", "delay": 0}
    rules = [
        {"id": "first", "match": {"operation": "GetBatch"}, "action": wait},
        {"id": "second", "match": {"operation": "ListBatches"}, "action": wait},
    ]
    response = emu.rest.post(
        "/_mock/faults", json={"tenant": KEY, "mode": "ordered", "rules": rules}
    )
    assert response.status_code == 201, response.json
    with pytest.raises(grpc.RpcError) as caught:
        emu.stub.ListBatches(batch_pb2.ListBatchesRequest(), metadata=metadata(), timeout=5)
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    assert "expected rule first first" in (caught.value.details() or "")
    [entry] = [e for e in emu.rest.get("/_mock/journal").json["entries"]
               if e["operation"] == "ListBatches"]  # fmt: skip
    assert (entry["status"], entry["fault"]["kind"]) == (500, "out_of_order")


@pytest.fixture
def scenario_emu() -> Iterator[Callable[[str], Emulator]]:
    """An emulator started with ``--scenario NAME`` on a frozen virtual clock."""
    started: list[Emulator] = []

    def start(name: str) -> Emulator:
        started.append(Emulator(Settings().replace(clock="virtual", scenario=name)))
        return started[-1]

    yield start
    for one in started:
        one.close()


def advance(emu: Emulator, seconds: float) -> None:
    response = emu.rest.post("/_mock/clock/advance", json={"seconds": seconds})
    assert response.status_code == 200, response.json


def test_the_cancel_race_over_grpc(scenario_emu: Callable[[str], Emulator]) -> None:
    """``xai-cancel-race`` shapes batches created by the SDK (a lifecycle rule on
    ``CreateBatch``): counters move after the cancel, as observed live."""
    emu = scenario_emu("xai-cancel-race")
    batch = emu.sdk.batch.create("race")
    emu.sdk.batch.add(batch.batch_id, [emu.chat(f"q{n}", f"question {n}") for n in range(3)])
    advance(emu, 5)
    cancelled = emu.sdk.batch.cancel(batch.batch_id)
    assert (cancelled.state.num_pending, cancelled.state.num_cancelled) == (0, 3)
    page = emu.sdk.batch.list_batch_results(batch.batch_id)
    assert [r.error_message for r in page.failed] == ["Batch cancelled"] * 3
    advance(emu, 20)
    landed = emu.sdk.batch.get(batch.batch_id)
    assert (landed.state.num_success, landed.state.num_cancelled) == (3, 0)
    assert landed.HasField("cancel_time")
    page = emu.sdk.batch.list_batch_results(batch.batch_id)
    assert sorted(r.batch_request_id for r in page.succeeded) == ["q0", "q1", "q2"]
    entries = emu.rest.get("/_mock/journal").json["entries"]
    fired = [(e["operation"], e["fault"]["rule"]) for e in entries if e["fault"]]
    assert fired == [("CreateBatch", "race-grpc")]


def test_early_expiry_over_grpc(scenario_emu: Callable[[str], Emulator]) -> None:
    emu = scenario_emu("xai-early-expiry")
    batch = emu.sdk.batch.create("short-lived")
    lifetime = batch.expire_time.ToSeconds() - batch.create_time.ToSeconds()
    assert lifetime == 60
    emu.sdk.batch.add(batch.batch_id, [emu.chat(f"q{n}", f"question {n}") for n in range(12)])
    advance(emu, 60)
    state = emu.sdk.batch.get(batch.batch_id).state
    assert state.num_pending == 0 and state.num_cancelled > 0
    page = emu.sdk.batch.list_batch_results(batch.batch_id, limit=100)
    assert {r.error_message for r in page.failed} == {"Batch expired"}
    assert {r.proto.error.code for r in page.failed} == {grpc.StatusCode.DEADLINE_EXCEEDED.value[0]}
    with pytest.raises(grpc.RpcError) as refused:
        emu.sdk.batch.add(batch.batch_id, [emu.chat("late", "too late")])
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
