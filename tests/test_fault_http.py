"""Fault injection on the wire (``mockserver/faultwire.py``, ``/_mock/faults``, scenarios).

In process, one app (model loading in the background) serves the provider tests and is reset
before each; apps with other settings (the ``X-Mock-Fault`` header, a start-up scenario, seeds)
are built where needed. Against a real server (``@pytest.mark.slow``): the official ``hume`` SDK
under ``rate-limited``, and ``requests`` under resets, cut bodies, timeouts and dribbles.
"""

from __future__ import annotations

import contextlib
import email.utils
import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from mockserver.app import create_app
from mockserver.runtime import SAMPLES_DIR, Runtime
from mockserver.settings import Settings
from tests.conftest import FakeTime, RecordingClient
from tests.serverproc import ServerProcess

WAV = (SAMPLES_DIR / "audio" / "two_voices.wav").read_bytes()
HF_MODEL = "distilbert-base-uncased-finetuned-sst-2-english"
HF_BULK_MODEL = "facebook/wav2vec2-base-960h"
HF_BULK_BODY = {
    "dataset_name": "ApiInferenceTest/asr_dummy",
    "dataset_config": "asr",
    "dataset_split": "test",
    "dataset_column": "file",
}
EDEN_STT = "/v2/audio/speech_to_text_async"


# --- the providers, as the fault rules see them -------------------------------------------------


@dataclass(frozen=True)
class Face:
    name: str  # match.provider and the journal's provider
    headers: Callable[[str], dict[str, str]]
    #: (operation, request) that creates a job; request(client, key) -> response.
    create_op: str
    create: Callable[[FlaskClient, str], TestResponse]
    #: (operation, request) of a cheap read that answers 200 with a JSON body.
    read_op: str
    read: Callable[[FlaskClient, str], TestResponse]
    #: The vendor's error body for (status, message).
    error: Callable[[int, str], Any]


def _hume_create(c: FlaskClient, key: str) -> TestResponse:
    return c.post("/v0/batch/jobs", json={"text": ["hello"]}, headers={"X-Hume-Api-Key": key})


def _xai_create(c: FlaskClient, key: str) -> TestResponse:
    return c.post("/v1/batches", json={"name": "b"}, headers={"Authorization": f"Bearer {key}"})


def _hf_create(c: FlaskClient, key: str) -> TestResponse:
    return c.post(
        f"/bulk/run/cpu/{HF_BULK_MODEL}",
        json=HF_BULK_BODY,
        headers={"Authorization": f"Bearer {key}"},
    )


def _eden_create(c: FlaskClient, key: str) -> TestResponse:
    data = {
        "providers": "amazon",
        "language": "en",
        "file": (io.BytesIO(WAV), "audio.wav", "audio/x-wav"),
    }
    return c.post(
        EDEN_STT,
        headers={"Authorization": f"Bearer {key}"},
        data=data,
        content_type="multipart/form-data",
    )


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


FACES = {
    "hume": Face(
        "hume",
        lambda k: {"X-Hume-Api-Key": k},
        "start_job",
        _hume_create,
        "list_jobs",
        lambda c, k: c.get("/v0/batch/jobs", headers={"X-Hume-Api-Key": k}),
        lambda status, message: {"message": message},
    ),
    "xai": Face(
        "xai",
        _bearer,
        "create_batch",
        _xai_create,
        "list_batches",
        lambda c, k: c.get("/v1/batches", headers=_bearer(k)),
        lambda status, message: {
            "code": {
                429: "Some resource has been exhausted",
                503: "The service is currently unavailable",
                500: "Internal error",
                400: "Client specified an invalid argument",
            }[status],
            "error": message,
        },
    ),
    "huggingface": Face(
        "huggingface",
        _bearer,
        "bulk_run",
        _hf_create,
        "task",
        lambda c, k: c.post(f"/models/{HF_MODEL}", json={"inputs": "great"}, headers=_bearer(k)),
        lambda status, message: {"error": message},
    ),
    "edenai": Face(
        "edenai",
        _bearer,
        "launch",
        _eden_create,
        "list",
        lambda c, k: c.get(f"{EDEN_STT}/", headers=_bearer(k)),
        lambda status, message: {"error": {"type": "Error", "message": message}},
    ),
}
PROVIDERS = list(FACES)
KEY = "fault-key"


def _make_app(**changes: Any) -> Flask:
    settings = Settings().replace(**{"model_load": "lazy", **changes})
    return create_app(settings, base_clock=FakeTime(), http_client=RecordingClient())


@pytest.fixture(scope="module")
def shared_app() -> Iterator[Flask]:
    app = _make_app(model_load="background")
    runtime: Runtime = app.extensions["mockserver"]
    runtime.inference.wait_ready(120)
    yield app
    runtime.close()


@pytest.fixture
def client(shared_app: Flask) -> FlaskClient:
    c = shared_app.test_client()
    assert c.post("/_mock/reset", json={}).status_code == 200
    return c


@pytest.fixture
def fresh() -> Iterator[Callable[..., FlaskClient]]:
    """Clients of separately configured apps (lazy model), closed after the test."""
    apps: list[Flask] = []

    def make(**changes: Any) -> FlaskClient:
        app = _make_app(**changes)
        apps.append(app)
        return app.test_client()

    yield make
    for app in apps:
        app.extensions["mockserver"].close()


def add_rules(c: FlaskClient, *rules: dict[str, Any], **extra: Any) -> list[dict[str, Any]]:
    response = c.post("/_mock/faults", json={"rules": list(rules), **extra})
    assert response.status_code == 201, response.get_json()
    added: list[dict[str, Any]] = response.get_json()["rules"]
    return added


def status_rule(status: int = 429, **action: Any) -> dict[str, Any]:
    return {"kind": "status", "status": status, **action}


def journal(c: FlaskClient, **query: Any) -> list[dict[str, Any]]:
    entries = c.get("/_mock/journal", query_string={"limit": 1000, **query}).get_json()["entries"]
    return sorted(entries, key=lambda e: e["id"])


def provider_entries(c: FlaskClient) -> list[dict[str, Any]]:
    return [e for e in journal(c) if e["provider"] is not None]


def jobs(c: FlaskClient) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = c.get("/_mock/jobs").get_json()["jobs"]
    return found


def not_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return True
    return False


# --- status faults: the vendor's error, no job -------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_status_fault_answers_in_the_vendor_shape_and_creates_no_job(
    client: FlaskClient, provider: str
) -> None:
    face = FACES[provider]
    (rule,) = add_rules(
        client,
        {
            "match": {"provider": provider, "operation": face.create_op},
            "action": status_rule(429, message="slow down"),
        },
    )
    response = face.create(client, KEY)
    assert response.status_code == 429
    assert response.get_json() == face.error(429, "slow down")
    assert "Retry-After" not in response.headers
    assert "X-Mock-Fault" not in response.headers  # the header is opt-in
    assert jobs(client) == []
    (entry,) = provider_entries(client)
    assert (entry["provider"], entry["operation"], entry["tenant"], entry["status"]) == (
        provider,
        face.create_op,
        KEY,
        429,
    )
    assert entry["fault"] == {
        "rule": rule["id"],
        "name": None,
        "kind": "status",
        "call": 1,
        "description": f"{rule['id']}: status",
    }
    # the rule is spent: the same request now creates a job, and its entry names no fault
    again = face.create(client, KEY)
    assert again.status_code == 200, again.get_data(as_text=True)
    assert len(jobs(client)) == 1
    assert provider_entries(client)[-1]["fault"] is None


@pytest.mark.parametrize("provider", PROVIDERS)
def test_status_fault_default_message_is_the_reason_phrase(
    client: FlaskClient, provider: str
) -> None:
    face = FACES[provider]
    add_rules(client, {"action": status_rule(503)})
    response = face.read(client, KEY)
    assert response.status_code == 503
    assert response.get_json() == face.error(503, "Service Unavailable")


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("unit", ["seconds", "ms", "date"])
def test_retry_after_units(client: FlaskClient, provider: str, unit: str) -> None:
    add_rules(client, {"action": status_rule(429, retry_after=2.5, retry_unit=unit)})
    before = time.time()
    response = FACES[provider].read(client, KEY)
    assert response.status_code == 429
    headers = response.headers
    if unit == "date":
        when = email.utils.parsedate_to_datetime(headers["Retry-After"]).timestamp()
        assert before + 1 <= when <= time.time() + 4
        assert "retry-after-ms" not in headers
    else:
        assert headers["Retry-After"] == "3"  # whole seconds, rounded up
        assert headers.get("retry-after-ms") == ("2500" if unit == "ms" else None)


# --- matching ------------------------------------------------------------------------------------


def test_match_by_operation_and_job_id_hits_only_that_jobs_get(client: FlaskClient) -> None:
    headers = _bearer(KEY)
    ids = [_xai_create(client, KEY).get_json()["batch_id"] for _ in range(2)]
    add_rules(
        client,
        {
            "match": {"provider": "xai", "operation": "get_batch", "job_id": ids[0]},
            "action": status_rule(500),
            "times": None,
        },
    )
    assert client.get(f"/v1/batches/{ids[1]}", headers=headers).status_code == 200
    assert client.get(f"/v1/batches/{ids[0]}/requests", headers=headers).status_code == 200
    assert client.get("/v1/batches", headers=headers).status_code == 200
    for _ in range(2):
        response = client.get(f"/v1/batches/{ids[0]}", headers=headers)
        assert response.status_code == 500
        assert response.get_json() == FACES["xai"].error(500, "Internal Server Error")
    state = client.get("/_mock/faults").get_json()["plans"][0]["rules"][0]
    assert (state["seen"], state["fired"], state["left"]) == (2, 2, None)


@pytest.mark.parametrize(
    ("provider", "path"),
    [
        ("hume", "/v0/batch/jobs/{id}"),
        ("huggingface", "/bulk/status/{id}"),
        ("edenai", EDEN_STT + "/{id}/"),
    ],
)
def test_match_by_job_id_on_each_provider(client: FlaskClient, provider: str, path: str) -> None:
    face = FACES[provider]
    created = [face.create(client, KEY).get_json() for _ in range(2)]
    ids = [b.get("job_id") or b.get("jobid") or b.get("public_id") for b in created]
    assert all(ids), created
    add_rules(client, {"match": {"job_id": ids[0]}, "action": status_rule(503)})
    headers = face.headers(KEY)
    assert client.get(path.format(id=ids[1]), headers=headers).status_code == 200
    response = client.get(path.format(id=ids[0]), headers=headers)
    assert response.status_code == 503
    assert response.get_json() == face.error(503, "Service Unavailable")


def test_match_by_tenant(client: FlaskClient) -> None:
    add_rules(client, {"match": {"tenant": "k2"}, "action": status_rule(429), "times": None})
    assert FACES["xai"].read(client, "k1").status_code == 200
    assert FACES["xai"].read(client, "k2").status_code == 429
    assert FACES["hume"].read(client, "k2").status_code == 429
    assert FACES["hume"].read(client, "k1").status_code == 200


def test_tenant_plan_is_consulted_before_the_server_wide_one(client: FlaskClient) -> None:
    add_rules(client, {"id": "global", "action": status_rule(503), "times": None})
    add_rules(client, {"id": "mine", "action": status_rule(429)}, tenant="k1")
    assert FACES["xai"].read(client, "k1").status_code == 429
    assert FACES["xai"].read(client, "k1").status_code == 503
    assert FACES["xai"].read(client, "k2").status_code == 503
    assert [e["fault"]["rule"] for e in provider_entries(client)] == ["mine", "global", "global"]


def test_nth_call(client: FlaskClient) -> None:
    add_rules(client, {"match": {"nth": [2, 3]}, "action": status_rule(500), "times": None})
    statuses = [FACES["hume"].read(client, KEY).status_code for _ in range(4)]
    assert statuses == [200, 500, 500, 200]
    assert [e["fault"] and e["fault"]["call"] for e in provider_entries(client)] == [
        None,
        2,
        3,
        None,
    ]


def test_ordered_mode_out_of_order_is_a_loud_500(client: FlaskClient) -> None:
    add_rules(
        client,
        {"id": "first", "match": {"operation": "create_batch"}, "action": status_rule(429)},
        {"id": "then", "match": {"operation": "list_batches"}, "action": status_rule(503)},
        mode="ordered",
    )
    response = FACES["xai"].read(client, KEY)
    assert response.status_code == 500
    assert response.get_json() == FACES["xai"].error(
        500, "mockserver scenario: out of order: expected rule first first"
    )
    assert provider_entries(client)[-1]["fault"]["kind"] == "out_of_order"
    assert _xai_create(client, KEY).status_code == 429
    assert FACES["xai"].read(client, KEY).status_code == 503
    assert FACES["xai"].read(client, KEY).status_code == 200


# --- latency and body faults ---------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_latency_adds_at_least_the_delay(client: FlaskClient, provider: str) -> None:
    face = FACES[provider]
    face.read(client, KEY)  # warm
    add_rules(client, {"action": {"kind": "latency", "delay": 0.05}})
    started = time.perf_counter()
    response = face.read(client, KEY)
    assert time.perf_counter() - started >= 0.05
    assert response.status_code == 200
    assert provider_entries(client)[-1]["fault"]["kind"] == "latency"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_malformed_is_a_200_that_does_not_parse_with_a_correct_length(
    client: FlaskClient, provider: str
) -> None:
    face = FACES[provider]
    whole = face.read(client, KEY).data
    add_rules(client, {"action": {"kind": "malformed", "fraction": 0.6}})
    response = face.read(client, KEY)
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) == len(response.data)
    assert whole.startswith(response.data) and len(response.data) < len(whole)
    assert not_json(response.data)


@pytest.mark.parametrize("fraction", [0.0, 1.0])
def test_malformed_at_the_ends_is_still_not_json(client: FlaskClient, fraction: float) -> None:
    add_rules(client, {"action": {"kind": "malformed", "fraction": fraction}})
    response = FACES["xai"].read(client, KEY)
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) == len(response.data)
    assert not_json(response.data)


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(
    "action",
    [{"kind": "reset"}, {"kind": "truncate"}, {"kind": "timeout", "delay": 0.01}],
    ids=lambda a: a["kind"],
)
def test_connection_faults_raise_in_process(
    client: FlaskClient, provider: str, action: dict[str, Any]
) -> None:
    add_rules(client, {"action": action})
    with pytest.raises(ConnectionResetError):
        FACES[provider].read(client, KEY).get_data()  # a cut body raises when it is read
    assert provider_entries(client)[-1]["fault"]["kind"] == action["kind"]
    assert FACES[provider].read(client, KEY).status_code == 200  # spent; serving on


@pytest.mark.parametrize("provider", PROVIDERS)
def test_dribble_delivers_the_whole_body(client: FlaskClient, provider: str) -> None:
    face = FACES[provider]
    if provider == "huggingface":  # a task body carries no timing: compare a bulk status
        jobid = _hf_create(client, KEY).get_json()["jobid"]

        def read() -> TestResponse:
            return client.get(f"/bulk/status/{jobid}", headers=_bearer(KEY))

    else:

        def read() -> TestResponse:
            return face.read(client, KEY)

    whole = read().data
    add_rules(client, {"action": {"kind": "dribble", "chunk": 7, "delay": 0.001}})
    response = read()
    assert response.status_code == 200
    assert response.data == whole
    assert int(response.headers["Content-Length"]) == len(whole)


# --- X-Mock-Scenario, X-Mock-Fault ---------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_scenario_header_by_name(client: FlaskClient, provider: str) -> None:
    face = FACES[provider]
    # the header's rules live for one request: every such request is its scenario's first call
    for _ in range(3):
        response = _with_header(client, provider, "rate-limited")
        assert response.status_code == 429
        assert response.get_json() == face.error(429, "Rate limit exceeded, retry later")
        assert response.headers["Retry-After"] == "1"
        assert provider_entries(client)[-1]["fault"]["rule"] == "throttle"
    assert client.get("/_mock/faults").get_json()["plans"] == []  # nothing installed


def _with_header(c: FlaskClient, provider: str, value: str) -> TestResponse:
    headers = {**FACES[provider].headers(KEY), "X-Mock-Scenario": value}
    if provider == "huggingface":
        return c.post(f"/models/{HF_MODEL}", json={"inputs": "x"}, headers=headers)
    path = {"hume": "/v0/batch/jobs", "xai": "/v1/batches", "edenai": f"{EDEN_STT}/"}[provider]
    return c.get(path, headers=headers)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_scenario_header_inline_rules(client: FlaskClient, provider: str) -> None:
    rules = [
        {"match": {"provider": "nobody"}, "action": status_rule(400)},
        {"action": status_rule(503, message="down", retry_after=0.25, retry_unit="ms")},
    ]
    response = _with_header(client, provider, json.dumps(rules))
    assert response.status_code == 503
    assert response.get_json() == FACES[provider].error(503, "down")
    assert (response.headers["Retry-After"], response.headers["retry-after-ms"]) == ("1", "250")
    assert provider_entries(client)[-1]["fault"]["rule"] == "r2"
    # a header rule that does not fire leaves the request alone
    quiet = json.dumps([{"match": {"provider": "nobody"}, "action": status_rule(400)}])
    assert _with_header(client, provider, quiet).status_code == 200


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(
    "value",
    [
        "no-such-scenario",
        "[{not json",
        '[{"action": {"kind": "explode"}}]',
        "/etc/passwd",
        "rate-limited.yaml",
    ],
    ids=["unknown", "bad-json", "bad-rule", "a-path", "a-file-name"],
)
def test_scenario_header_bad_value_is_a_400_in_the_vendor_shape(
    client: FlaskClient, provider: str, value: str
) -> None:
    response = _with_header(client, provider, value)
    assert response.status_code == 400
    body = response.get_json()
    if provider == "edenai":
        message = body["error"]["message"]
        assert body == {"error": {"type": "Error", "message": message}}
    elif provider == "xai":
        message = body["error"]
        assert body["code"] == "Client specified an invalid argument"
    elif provider == "hume":
        message = body["message"]
        assert body == {"message": message}
    else:
        message = body["error"]
        assert body == {"error": message}
    assert message.startswith("X-Mock-Scenario: ")
    if value.startswith('[{"'):
        assert "rules[0].action.kind" in message
    if "/" in value or value.endswith(".yaml"):  # a request header never makes us read a file
        assert message.endswith("not a path")


def test_fault_header_only_when_on(fresh: Callable[..., FlaskClient]) -> None:
    rules = [{"id": "t", "name": "throttle", "action": status_rule(429)}]
    off = fresh()
    assert _with_header(off, "xai", json.dumps(rules)).headers.get("X-Mock-Fault") is None
    on = fresh(fault_header="on")
    assert "X-Mock-Fault" not in FACES["xai"].read(on, KEY).headers  # no fault, no header
    response = _with_header(on, "xai", json.dumps(rules))
    assert response.headers["X-Mock-Fault"] == "t (throttle): status"
    add_rules(on, {"id": "m", "action": {"kind": "malformed"}})
    assert FACES["hume"].read(on, KEY).headers["X-Mock-Fault"] == "m: malformed"


# --- the control API -----------------------------------------------------------------------------


def test_control_add_list_remove_clear(client: FlaskClient) -> None:
    response = client.post(
        "/_mock/faults",
        json={
            "rules": [
                {"action": status_rule(429), "times": 2},
                {"id": "slow", "action": {"kind": "latency", "delay": 0.001}, "times": None},
            ]
        },
    )
    assert response.status_code == 201
    body = response.get_json()
    assert (body["tenant"], body["mode"]) == (None, "first")
    first_id = body["rules"][0]["id"]
    assert [r["id"] for r in body["rules"]] == [first_id, "slow"]
    add_rules(client, {"id": "mine", "action": status_rule(500)}, tenant="k9")
    for _ in range(3):
        FACES["xai"].read(client, KEY)
    listing = client.get("/_mock/faults").get_json()
    assert {"flaky-network", "rate-limited", "service-unavailable"} <= set(listing["scenarios"])
    assert listing["scenarios"] == sorted(listing["scenarios"])
    (server_plan, tenant_plan) = listing["plans"]
    assert server_plan["tenant"] is None and tenant_plan["tenant"] == "k9"
    counters = {r["id"]: (r["seen"], r["fired"], r["left"]) for r in server_plan["rules"]}
    assert counters == {first_id: (2, 2, 0), "slow": (1, 1, None)}
    only = client.get("/_mock/faults", query_string={"tenant": "k9"}).get_json()["plans"]
    assert [p["tenant"] for p in only] == ["k9"]
    assert client.delete("/_mock/faults/slow").get_json() == {"removed": "slow"}
    missing = client.delete("/_mock/faults/slow")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "rule_not_found"
    cleared = client.delete("/_mock/faults", query_string={"tenant": "k9"}).get_json()
    assert cleared == {"cleared": 1, "tenant": "k9"}
    assert client.delete("/_mock/faults").get_json() == {"cleared": 1, "tenant": None}
    assert client.get("/_mock/faults").get_json()["plans"] == []


@pytest.mark.parametrize(
    ("body", "code", "needle"),
    [
        ({"rules": [{"action": {"kind": "nope"}}]}, "invalid_rule", "rules[0].action.kind"),
        ({"rules": {"action": {}}}, "invalid_rule", "rules: expected a list"),
        ({"rules": [], "mode": "random"}, "invalid_rule", "mode"),
        ({"scenario": "no-such"}, "invalid_rule", "no-such"),
        ({}, "invalid_body", "either rules"),
        ({"rules": [], "scenario": "rate-limited"}, "invalid_body", "either rules"),
    ],
)
def test_control_refuses_bad_rules(
    client: FlaskClient, body: dict[str, Any], code: str, needle: str
) -> None:
    response = client.post("/_mock/faults", json=body)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == code and needle in error["message"], error


def test_control_bad_rule_installs_nothing(client: FlaskClient) -> None:
    response = client.post(
        "/_mock/faults", json={"rules": [{"action": status_rule()}, {"action": {"kind": "x"}}]}
    )
    assert response.status_code == 400
    assert client.get("/_mock/faults").get_json()["plans"] == []


def test_control_scenario_by_name_for_a_tenant(client: FlaskClient) -> None:
    response = client.post("/_mock/faults", json={"scenario": "rate-limited", "tenant": "k1"})
    assert response.status_code == 201
    assert [r["id"] for r in response.get_json()["rules"]] == ["throttle"]
    statuses = [FACES["hume"].read(client, "k1").status_code for _ in range(3)]
    assert statuses == [429, 429, 200]
    assert FACES["hume"].read(client, "k2").status_code == 200


def test_control_replace(client: FlaskClient) -> None:
    add_rules(client, {"id": "a", "action": status_rule(429)})
    add_rules(client, {"id": "b", "action": status_rule(503)}, replace=True)
    (plan,) = client.get("/_mock/faults").get_json()["plans"]
    assert [r["id"] for r in plan["rules"]] == ["b"]
    assert FACES["xai"].read(client, KEY).status_code == 503


def test_control_replace_with_a_bad_mode_keeps_the_old_rules(client: FlaskClient) -> None:
    add_rules(client, {"id": "a", "action": status_rule(429)})
    response = client.post(
        "/_mock/faults",
        json={"replace": True, "mode": "bogus", "rules": [{"id": "b", "action": status_rule()}]},
    )
    assert response.status_code == 400
    plans = client.get("/_mock/faults").get_json()["plans"]
    assert [r["id"] for p in plans for r in p["rules"]] == ["a"]


def test_control_default_ids_never_collide_with_explicit_ones(client: FlaskClient) -> None:
    add_rules(client, {"id": "r2", "action": status_rule()})
    for _ in range(3):
        response = client.post("/_mock/faults", json={"rules": [{"action": status_rule()}]})
        assert response.status_code == 201, response.get_json()


def test_control_rule_ids_are_unique_across_plans_and_removed_everywhere(
    client: FlaskClient,
) -> None:
    """One id names one rule: the same id for a tenant is refused, so a delete by id is
    never ambiguous (it used to leave a same-named tenant rule firing)."""
    add_rules(client, {"id": "a", "action": status_rule(418), "times": None})
    response = client.post(
        "/_mock/faults",
        json={"tenant": KEY, "rules": [{"id": "a", "action": status_rule(418), "times": None}]},
    )
    assert response.status_code == 400
    assert "already in use" in response.get_json()["error"]["message"]
    assert client.delete("/_mock/faults/a").status_code == 200
    assert FACES["xai"].read(client, KEY).status_code == 200


# --- scenarios at start-up, resets ---------------------------------------------------------------


def test_startup_scenario_and_full_reset(fresh: Callable[..., FlaskClient]) -> None:
    c = fresh(scenario="rate-limited")
    (plan,) = c.get("/_mock/faults").get_json()["plans"]
    assert [r["id"] for r in plan["rules"]] == ["throttle"]
    assert [FACES["xai"].read(c, KEY).status_code for _ in range(3)] == [429, 429, 200]
    c.post("/_mock/reset", json={"tenant": KEY})  # a tenant reset leaves the server-wide plan
    assert FACES["xai"].read(c, KEY).status_code == 200
    c.post("/_mock/reset", json={})  # a full reset installs the scenario again, counters at 0
    assert [FACES["xai"].read(c, KEY).status_code for _ in range(3)] == [429, 429, 200]


def test_service_unavailable_scenario(fresh: Callable[..., FlaskClient]) -> None:
    c = fresh(scenario="service-unavailable")
    for _ in range(3):
        response = FACES["edenai"].read(c, KEY)
        assert response.status_code == 503
        assert response.headers["retry-after-ms"] == "1500"
        assert response.headers["Retry-After"] == "2"


# --- reproducibility -----------------------------------------------------------------------------


def _flaky_run(fresh: Callable[..., FlaskClient], **changes: Any) -> list[tuple[Any, ...]]:
    c = fresh(scenario="flaky-network", **changes)
    for i in range(60):
        face = FACES["xai" if i % 2 else "hume"]
        with contextlib.suppress(ConnectionResetError):
            face.read(c, f"k{i % 3}").get_data()
    return [(e["path"], e["tenant"], e["status"], e["fault"]) for e in provider_entries(c)]


def test_flaky_network_is_reproducible_by_seed(fresh: Callable[..., FlaskClient]) -> None:
    first = _flaky_run(fresh, seed=42)
    assert first == _flaky_run(fresh, seed=42)
    kinds = {f["kind"] for *_, f in first if f is not None}
    assert {"reset", "truncate", "malformed", "latency"} <= kinds
    assert any(f is None for *_, f in first)
    assert first != _flaky_run(fresh, seed=43)


def _replay(*args: str) -> bytes:
    """One run of a fixed client script against a fresh server; the journal's replay export.
    The script reads back the batch it created last (the seeded id is in the path), when the
    fault let it learn that id."""
    calls = [
        ("POST", "/v1/batches", _bearer("k1"), {"name": "nightly"}),
        ("GET", "/v1/batches", _bearer("k2"), None),
        ("GET", "/v0/batch/jobs", {"X-Hume-Api-Key": "k1"}, None),
        ("GET", "/v2/audio/speech_to_text_async/", _bearer("k2"), None),
        ("GET", "/v1/batches/{last}", _bearer("k1"), None),
    ]
    last = "batch_unknown"
    with ServerProcess(*args) as proc:
        for n in range(40):
            method, path, headers, body = calls[n % len(calls)]
            with contextlib.suppress(requests.exceptions.RequestException, ValueError):
                response = requests.request(
                    method, proc.url + path.format(last=last), headers=headers, json=body,
                    timeout=5,
                )  # fmt: skip
                if method == "POST":
                    last = response.json()["batch_id"]
        exported = requests.get(f"{proc.url}/_mock/journal/export", timeout=5)
        assert exported.headers["X-Mock-Journal-Dropped"] == "0"
        return exported.content


@pytest.mark.slow
def test_the_same_seed_and_scenario_give_byte_identical_journals() -> None:
    first = _replay("--seed", "7", "--scenario", "flaky-network")
    second = _replay("--seed", "7", "--scenario", "flaky-network")
    assert first == second
    entries = [json.loads(line) for line in first.splitlines()]
    assert len(entries) == 40
    kinds = {e["fault"]["kind"] for e in entries if e["fault"]}
    assert {"reset", "truncate", "malformed", "latency"} & kinds and len(kinds) >= 2
    reads = [e["path"] for e in entries if e["operation"] == "get_batch"]
    assert any(p.startswith("/v1/batches/batch_") and p != "/v1/batches/batch_unknown"
               for p in reads)  # fmt: skip


# --- against a real server -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def rate_limited() -> Iterator[ServerProcess]:
    with ServerProcess("--scenario", "rate-limited", "--fault-header", "on") as proc:
        yield proc


@pytest.mark.slow
def test_hume_sdk_survives_rate_limited(rate_limited: ServerProcess) -> None:
    pytest.importorskip("hume")
    import httpx
    from hume import HumeClient

    with httpx.Client(timeout=10) as http:
        sdk = HumeClient(api_key=KEY, base_url=rate_limited.url, httpx_client=http)
        sdk.expression_measurement.batch.list_jobs()
    status, page = rate_limited.request("GET", "/_mock/journal?provider=hume")
    assert status == 200
    entries = sorted(page["entries"], key=lambda e: e["id"])
    assert [(e["status"], (e["fault"] or {}).get("rule")) for e in entries] == [
        (429, "throttle"),
        (429, "throttle"),
        (200, None),
    ]


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with ServerProcess() as proc:
        yield proc


def _install(server: ServerProcess, action: dict[str, Any]) -> None:
    server.request("DELETE", "/_mock/faults")
    status, body = server.request("POST", "/_mock/faults", {"rules": [{"action": action}]})
    assert status == 201, body


def _get(server: ServerProcess, timeout: float = 5.0) -> requests.Response:
    return requests.get(f"{server.url}/v1/batches", headers=_bearer(KEY), timeout=timeout)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("action", "errors"),
    [
        ({"kind": "reset"}, (requests.exceptions.ConnectionError,)),
        (
            {"kind": "truncate", "fraction": 0.5},
            (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError),
        ),
        ({"kind": "timeout", "delay": 2}, (requests.exceptions.ReadTimeout,)),
    ],
    ids=["reset", "truncate", "timeout"],
)
def test_real_server_connection_faults(
    server: ServerProcess, action: dict[str, Any], errors: tuple[type[Exception], ...]
) -> None:
    _install(server, action)
    with pytest.raises(errors):
        _get(server, timeout=0.5 if action["kind"] == "timeout" else 5.0)
    if action["kind"] == "timeout":
        time.sleep(1.6)  # let the held worker thread drop the connection
    assert _get(server).status_code == 200  # the server keeps serving


@pytest.mark.slow
def test_real_server_dribble_and_malformed(server: ServerProcess) -> None:
    whole = _get(server).content
    _install(server, {"kind": "dribble", "chunk": 5, "delay": 0.002})
    response = _get(server)
    assert (response.status_code, response.content) == (200, whole)
    _install(server, {"kind": "malformed"})
    response = _get(server)
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) == len(response.content) < len(whole)
    assert not_json(response.content)
    assert _get(server).json() == json.loads(whole)
