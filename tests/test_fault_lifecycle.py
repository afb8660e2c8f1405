"""Lifecycle faults: a ``lifecycle`` rule shapes the job the matched call creates (stuck, slow
queue, per-item errors with the vendor's messages, whole-job failure, early expiry, the cancel
race), over REST here and over gRPC in ``test_xai_sdk.py``.

HTTP faults (status, latency, resets, bodies) are ``test_fault_http.py``'s; the rule engine is
``test_faults.py``'s; the bundled scenarios, started from their flag, ``test_scenarios.py``'s.
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

HUME = {"X-Hume-Api-Key": "hume-key"}


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


def test_an_expiry_rule_fails_a_hume_job_that_has_not_finished(client: FlaskClient) -> None:
    rule = {
        "match": {"provider": "hume", "operation": "start_job"},
        "action": {"kind": "lifecycle",
                   "overrides": {"queue_wait": 0, "run_time": 120, "expire_after": 30}},
    }  # fmt: skip
    install(client, rules=[rule])
    job_id = hume_job(client)
    advance(client, 29)
    assert hume_status(client, job_id) == "IN_PROGRESS"
    advance(client, 1)
    details = client.get(f"/v0/batch/jobs/{job_id}", headers=HUME).get_json()
    assert details["state"]["status"] == "FAILED"
    assert details["state"]["message"] == "Job expired"


def test_an_expiry_rule_fails_an_eden_job_and_its_unfinished_providers(
    client: FlaskClient,
) -> None:
    stt = "/v2/audio/speech_to_text_async"
    bearer = {"Authorization": "Bearer eden-key"}
    rule = {
        "match": {"provider": "edenai", "operation": "launch"},
        "action": {"kind": "lifecycle",
                   "overrides": {"queue_wait": 0, "run_time": 120, "expire_after": 30}},
    }  # fmt: skip
    install(client, rules=[rule])
    body = {"providers": "amazon,google", "file_url": "https://example.com/two_voices.wav"}
    public_id = client.post(stt, headers=bearer, json=body).get_json()["public_id"]
    advance(client, 30)
    got = client.get(f"{stt}/{public_id}/", headers=bearer).get_json()
    assert (got["status"], got["error"]) == ("failed", "Job expired")
    assert {r["error"]["message"] for r in got["results"].values()} == {"Job expired"}
