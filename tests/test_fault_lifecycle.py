"""Lifecycle faults: a ``lifecycle`` rule shapes the job the matched call creates (stuck, slow
queue, per-item errors with the vendor's messages, whole-job failure), and the bundled lifecycle
scenarios show their client-visible effect on each provider they target.

HTTP faults (status, latency, resets, bodies) are ``test_fault_http.py``'s; the rule engine is
``test_faults.py``'s.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mockserver.app import create_app
from mockserver.settings import Settings
from tests.conftest import FakeTime, RecordingClient
from tests.xai_helpers import chat

HUME = {"X-Hume-Api-Key": "hume-key"}
BEARER = {"Authorization": "Bearer tenant-key"}
STT = "/v2/audio/speech_to_text_async"


@pytest.fixture
def app(base_time: FakeTime) -> Iterator[Flask]:
    """Frozen virtual clock, instant profile, the model loaded (Hume and Eden hold jobs until
    it is)."""
    settings = Settings().replace(clock="virtual", model_load="lazy")
    app = create_app(settings, base_clock=base_time, http_client=RecordingClient())
    runtime = app.extensions["mockserver"]
    runtime.inference.start()
    runtime.inference.wait_ready(60)
    yield app
    runtime.close()


def install(client: FlaskClient, **body: Any) -> Any:
    response = client.post("/_mock/faults", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def advance(client: FlaskClient, seconds: float) -> None:
    assert client.post("/_mock/clock/advance", json={"seconds": seconds}).status_code == 200


def hume_job(client: FlaskClient, headers: dict[str, str] | None = None) -> str:
    body = {"text": ["I love it.", "This is awful.", "Fine.", "Great!", "Meh.", "Wow."]}
    response = client.post("/v0/batch/jobs", json=body, headers={**HUME, **(headers or {})})
    assert response.status_code == 200, response.get_json()
    job_id: str = response.get_json()["job_id"]
    return job_id


def hume_status(client: FlaskClient, job_id: str) -> str:
    status: str = client.get(f"/v0/batch/jobs/{job_id}", headers=HUME).get_json()["state"]["status"]
    return status


def test_a_lifecycle_rule_shapes_only_the_jobs_its_calls_create(client: FlaskClient) -> None:
    rule = {
        "match": {"provider": "hume", "operation": "start_job"},
        "action": {"kind": "lifecycle", "overrides": {"stuck": "running"}},
        "times": 1,
    }
    install(client, rules=[rule])
    stuck, normal = hume_job(client), hume_job(client)
    advance(client, 3600)
    assert (hume_status(client, stuck), hume_status(client, normal)) == ("IN_PROGRESS", "COMPLETED")
    entries = client.get("/_mock/journal").get_json()["entries"]
    faulted = [e for e in entries if e["fault"]]
    assert [(e["operation"], e["fault"]["kind"]) for e in faulted] == [("start_job", "lifecycle")]


def test_a_request_s_own_lifecycle_header_wins_over_the_rule(client: FlaskClient) -> None:
    rule = {"action": {"kind": "lifecycle", "overrides": {"stuck": "queued"}}, "times": None}
    install(client, rules=[rule])
    overridden = hume_job(client, {"X-Mock-Lifecycle": json.dumps({"stuck": "none"})})
    assert hume_status(client, overridden) == "COMPLETED"
    assert hume_status(client, hume_job(client)) == "QUEUED"


def test_a_lifecycle_rule_can_name_a_profile(client: FlaskClient) -> None:
    rule = {"action": {"kind": "lifecycle", "profile": "manual"}, "times": None}
    install(client, rules=[rule], tenant="hume-key")
    job_id = hume_job(client)
    assert hume_status(client, job_id) == "QUEUED"  # manual: nothing moves until stepped
    assert client.post(f"/_mock/jobs/{job_id}/step", json={"to": "terminal"}).status_code == 200
    assert hume_status(client, job_id) == "COMPLETED"


@pytest.mark.parametrize(
    ("action", "needle"),
    [
        ({"kind": "lifecycle"}, "needs a profile or overrides"),
        ({"kind": "lifecycle", "overrides": {"stuk": "running"}}, "unknown lifecycle override"),
        ({"kind": "lifecycle", "overrides": {"item_error_rate": 2}}, "between 0 and 1"),
        ({"kind": "lifecycle", "profile": "turbo"}, "turbo"),
    ],
)
def test_bad_lifecycle_rules_are_refused_when_installed(
    client: FlaskClient, action: dict[str, Any], needle: str
) -> None:
    response = client.post("/_mock/faults", json={"rules": [{"action": action}]})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_rule"
    assert needle in response.get_json()["error"]["message"]


# --- the bundled lifecycle scenarios -----------------------------------------------------------


def test_hume_flaky_queue_keeps_jobs_queued_then_fails_some_sources(client: FlaskClient) -> None:
    install(client, scenario="hume-flaky-queue")
    job_id = hume_job(client)
    assert hume_status(client, job_id) == "QUEUED"
    advance(client, 600)  # past the 2-minute cap of the queue wait
    assert hume_status(client, job_id) == "COMPLETED"
    predictions = client.get(f"/v0/batch/jobs/{job_id}/predictions", headers=HUME).get_json()
    errors = [p["error"] for p in predictions if "error" in p]
    messages = {
        "transcript confidence (0.0) below threshold value (0.5)",
        "Failed to download the file from the given URL",
        "The file could not be decoded as audio, image, video or text",
    }
    assert errors and set(errors) <= messages  # seeded: the same failures every run
    assert len(errors) < len(predictions)


def test_xai_partial_failures_split_the_results(client: FlaskClient) -> None:
    install(client, scenario="xai-partial-failures")
    created = client.post("/v1/batches", json={"name": "b"}, headers=BEARER).get_json()
    batch_id = created["batch_id"]
    requests = [chat(f"r{i}", f"question {i}") for i in range(20)]
    response = client.post(
        f"/v1/batches/{batch_id}/requests", json={"batch_requests": requests}, headers=BEARER
    )
    assert response.status_code == 200, response.get_json()
    state = client.get(f"/v1/batches/{batch_id}", headers=BEARER).get_json()["state"]
    assert state["num_error"] > 0 and state["num_success"] > 0
    assert state["num_error"] + state["num_success"] == 20
    rows = client.get(
        f"/v1/batches/{batch_id}/results", query_string={"limit": 100}, headers=BEARER
    ).get_json()["results"]
    failed = [r["batch_result"]["error"] for r in rows if "error" in r["batch_result"]]
    assert len(failed) == state["num_error"]
    assert set(failed) <= {"Internal error while processing the request", "Request timed out"}


def test_eden_provider_failures_fail_some_providers(client: FlaskClient) -> None:
    install(client, scenario="eden-provider-failures")
    outcomes = []
    for _ in range(6):
        launched = client.post(
            STT,
            headers=BEARER,
            json={
                "providers": "amazon,google,deepgram",
                "file_url": "https://example.com/two_voices.wav",
            },
        ).get_json()
        body = client.get(f"{STT}/{launched['public_id']}/", headers=BEARER).get_json()
        outcomes.append(body)
    finals = [r["final_status"] for b in outcomes for r in b["results"].values()]
    assert "failed" in finals and "succeeded" in finals
    messages = {
        r["error"]["message"] for b in outcomes for r in b["results"].values() if r["error"]
    }
    # Providers still running when a job fails as a whole carry the job's message.
    assert messages <= {
        "Provider returned an empty response",
        "Provider timed out while processing the file",
        "Provider returned an error for every request",
    }
    for body in outcomes:
        if body["status"] == "failed":
            assert body["error"] == "Provider returned an error for every request"
