"""Every bundled scenario from one flag, and what a client sees because of it.

Each app here is built from ``load_settings({"scenario": NAME, ...})``, what ``mockserver serve
--scenario NAME`` does with its flags (``test_every_bundled_scenario_is_a_valid_flag`` runs the
CLI itself), on a frozen virtual clock moved by hand. :data:`COVERED` names the test that shows
each scenario's client-visible effect; a scenario added to ``fixtures/scenarios`` without one
fails :func:`test_every_bundled_scenario_has_a_test`.

Scenarios tested elsewhere: ``rate-limited`` (the Hume SDK against a real server, and the
start-up plan surviving resets), ``service-unavailable`` and ``flaky-network`` in
``test_fault_http.py``; ``hf-stream-cut`` against a real server in ``test_fault_stream.py``;
the xAI scenarios over gRPC in ``test_xai_sdk.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from mockserver.app import create_app
from mockserver.cli import cli
from mockserver.providers.edenai.signing import verify
from mockserver.scenarios import list_scenarios
from mockserver.settings import load_settings
from tests.conftest import FakeTime, RecordingClient
from tests.xai_helpers import chat

HUME = {"X-Hume-Api-Key": "hume-key"}
BEARER = {"Authorization": "Bearer tenant-key"}
STT = "/v2/audio/speech_to_text_async"
HOOK = "http://127.0.0.1:9/hook"

#: scenario -> the module and test that shows its effect from the start-up flag.
COVERED = {
    "rate-limited": "test_fault_http.py::test_hume_sdk_survives_rate_limited",
    "service-unavailable": "test_fault_http.py::test_service_unavailable_scenario",
    "flaky-network": "test_fault_http.py::test_flaky_network_is_reproducible_by_seed",
    "hf-stream-cut": "test_fault_stream.py::test_the_hf_stream_cut_scenario_from_one_flag",
    "hume-flaky-queue": "test_scenarios.py::test_hume_flaky_queue",
    "xai-partial-failures": "test_scenarios.py::test_xai_partial_failures",
    "eden-provider-failures": "test_scenarios.py::test_eden_provider_failures",
    "eden-webhook-outage": "test_scenarios.py::test_eden_webhook_outage",
    "xai-cancel-race": "test_scenarios.py::test_xai_cancel_race",
    "xai-early-expiry": "test_scenarios.py::test_xai_early_expiry",
}


class Served:
    """An app started with one scenario, its client, and the recorded webhook posts."""

    def __init__(self, scenario: str, model: bool) -> None:
        settings = load_settings(
            {"scenario": scenario, "clock": "virtual", "model_load": "lazy"}, env={}
        )
        self.webhooks = RecordingClient()
        self.app: Flask = create_app(settings, base_clock=FakeTime(), http_client=self.webhooks)
        self.runtime = self.app.extensions["mockserver"]
        if model:
            self.runtime.inference.start()
            self.runtime.inference.wait_ready(60)
        self.client: FlaskClient = self.app.test_client()

    def advance(self, seconds: float) -> None:
        response = self.client.post("/_mock/clock/advance", json={"seconds": seconds})
        assert response.status_code == 200
        self.runtime.scheduler.run_due()

    def fired(self) -> list[tuple[str, str]]:
        """(operation, rule id) of every journaled request a rule fired for, oldest first."""
        entries = self.client.get("/_mock/journal", query_string={"limit": 1000}).get_json()
        return [(e["operation"], e["fault"]["rule"]) for e in reversed(entries["entries"])
                if e["fault"]]  # fmt: skip


@pytest.fixture
def served() -> Iterator[Callable[..., Served]]:
    started: list[Served] = []

    def start(scenario: str, model: bool = False) -> Served:
        started.append(Served(scenario, model))
        return started[-1]

    yield start
    for one in started:
        one.runtime.close()


# --- the registry ------------------------------------------------------------------------------


def test_every_bundled_scenario_has_a_test() -> None:
    assert sorted(COVERED) == list_scenarios()
    here = globals()
    for where in COVERED.values():
        module, _, name = where.partition("::")
        if module == "test_scenarios.py":
            assert callable(here.get(name)), where
        else:
            from pathlib import Path

            source = (Path(__file__).parent / module).read_text(encoding="utf-8")
            assert f"def {name}(" in source, where


@pytest.mark.parametrize("name", list_scenarios())
def test_every_bundled_scenario_is_a_valid_flag(name: str) -> None:
    result = CliRunner().invoke(cli, ["serve", "--scenario", name, "--print-config"], env={})
    assert result.exit_code == 0, result.output
    assert any(line.split()[:2] == ["scenario", name] for line in result.output.splitlines())


def test_an_unknown_scenario_flag_is_refused_with_the_names() -> None:
    result = CliRunner().invoke(cli, ["serve", "--scenario", "no-such", "--print-config"], env={})
    assert result.exit_code != 0
    assert "no-such" in result.output and "rate-limited" in result.output


# --- Hume ---------------------------------------------------------------------------------------


def hume_status(s: Served, job_id: str) -> str:
    body = s.client.get(f"/v0/batch/jobs/{job_id}", headers=HUME).get_json()
    status: str = body["state"]["status"]
    return status


def test_hume_flaky_queue(served: Callable[..., Served]) -> None:
    s = served("hume-flaky-queue", model=True)
    body = {"text": ["I love it.", "This is awful.", "Fine.", "Great!", "Meh.", "Wow."]}
    job_id = s.client.post("/v0/batch/jobs", json=body, headers=HUME).get_json()["job_id"]
    assert hume_status(s, job_id) == "QUEUED"
    s.advance(600)  # past the 2-minute cap of the queue wait
    assert hume_status(s, job_id) == "COMPLETED"
    predictions = s.client.get(f"/v0/batch/jobs/{job_id}/predictions", headers=HUME).get_json()
    errors = [p["error"] for p in predictions if "error" in p]
    messages = {
        "transcript confidence (0.0) below threshold value (0.5)",
        "Failed to download the file from the given URL",
        "The file could not be decoded as audio, image, video or text",
    }
    assert errors and set(errors) <= messages  # seeded: the same failures every run
    assert len(errors) < len(predictions)
    assert s.fired() == [("start_job", "queue")]


# --- xAI ----------------------------------------------------------------------------------------


def xai_batch(s: Served, count: int) -> str:
    created = s.client.post("/v1/batches", json={"name": "b"}, headers=BEARER)
    assert created.status_code == 200, created.get_json()
    batch_id: str = created.get_json()["batch_id"]
    requests = [chat(f"r{i}", f"question {i}") for i in range(count)]
    added = s.client.post(
        f"/v1/batches/{batch_id}/requests", json={"batch_requests": requests}, headers=BEARER
    )
    assert added.status_code == 200, added.get_json()
    return batch_id


def xai_state(s: Served, batch_id: str) -> dict[str, Any]:
    body: dict[str, Any] = s.client.get(f"/v1/batches/{batch_id}", headers=BEARER).get_json()
    return body


def xai_rows(s: Served, batch_id: str) -> dict[str, dict[str, Any]]:
    page = s.client.get(
        f"/v1/batches/{batch_id}/results", query_string={"limit": 100}, headers=BEARER
    ).get_json()
    return {row["batch_request_id"]: row["batch_result"] for row in page["results"]}


def test_xai_partial_failures(served: Callable[..., Served]) -> None:
    s = served("xai-partial-failures")
    batch_id = xai_batch(s, 20)
    state = xai_state(s, batch_id)["state"]
    assert state["num_error"] > 0 and state["num_success"] > 0
    assert state["num_error"] + state["num_success"] == 20
    failed = [r["error"] for r in xai_rows(s, batch_id).values() if "error" in r]
    assert len(failed) == state["num_error"]
    assert set(failed) <= {"Internal error while processing the request", "Request timed out"}


def test_xai_cancel_race(served: Callable[..., Served]) -> None:
    s = served("xai-cancel-race")
    batch_id = xai_batch(s, 5)
    s.advance(10)  # every request is running (30-90 s each)
    assert xai_state(s, batch_id)["state"]["num_pending"] == 5
    cancelled = s.client.post(f"/v1/batches/{batch_id}:cancel", headers=BEARER).get_json()
    assert cancelled["cancel_time"] is not None
    assert cancelled["state"] == {"num_requests": 5, "num_pending": 0, "num_success": 0,
                                  "num_error": 0, "num_cancelled": 5}  # fmt: skip
    assert {r["error"] for r in xai_rows(s, batch_id).values()} == {"Batch cancelled"}
    s.advance(19)
    assert xai_state(s, batch_id)["state"]["num_cancelled"] == 5  # not yet
    s.advance(1)  # 20 s after the cancel the in-flight work lands
    landed = xai_state(s, batch_id)
    assert landed["state"] == {"num_requests": 5, "num_pending": 0, "num_success": 5,
                               "num_error": 0, "num_cancelled": 0}  # fmt: skip
    assert landed["cancel_time"] == cancelled["cancel_time"], "the batch stays cancelled"
    rows = xai_rows(s, batch_id)
    assert sorted(rows) == [f"r{i}" for i in range(5)]
    assert all("response" in r for r in rows.values())
    assert s.fired() == [("create_batch", "race-rest")]


def test_xai_cancel_race_spares_requests_that_had_not_started(
    served: Callable[..., Served],
) -> None:
    s = served("xai-cancel-race")
    batch_id = xai_batch(s, 2)
    s.client.post(f"/v1/batches/{batch_id}:cancel", headers=BEARER)
    # Added and cancelled at the same instant: running for 0 s, so still in flight: they land.
    s.advance(20)
    assert xai_state(s, batch_id)["state"]["num_success"] == 2
    later = xai_batch(s, 1)  # a new batch, cancelled while one request runs and one is queued
    queued_lifecycle = {"queue_wait": 5, "run_time": 30, "cancel_landing": 20}
    queued = s.client.post(
        f"/v1/batches/{later}/requests",
        json={"batch_requests": [chat("q", "later")]},
        headers={**BEARER, "X-Mock-Lifecycle": json.dumps(queued_lifecycle)},
    )
    assert queued.status_code == 200
    s.client.post(f"/v1/batches/{later}:cancel", headers=BEARER)
    s.advance(100)
    state = xai_state(s, later)["state"]
    assert (state["num_success"], state["num_cancelled"]) == (1, 1)
    assert xai_rows(s, later)["q"] == {"error": "Batch cancelled"}


def test_xai_early_expiry(served: Callable[..., Served]) -> None:
    s = served("xai-early-expiry")
    batch_id = xai_batch(s, 12)
    created = xai_state(s, batch_id)
    s.advance(59)
    assert xai_state(s, batch_id)["state"]["num_pending"] > 0
    s.advance(1)
    expired = xai_state(s, batch_id)
    state = expired["state"]
    assert state["num_pending"] == 0
    assert state["num_cancelled"] > 0 and state["num_success"] > 0  # seeded: both, every run
    assert state["num_success"] + state["num_cancelled"] == 12
    assert expired["cancel_time"] is None, "an expiry is not a cancel"
    # Live REST renders both times as dates: the expiry is now the creation day, not +30 days.
    assert created["expire_time"] == created["create_time"] == "2027-01-15"
    rows = xai_rows(s, batch_id)
    errors = [r["error"] for r in rows.values() if "error" in r]
    assert errors == ["Batch expired"] * state["num_cancelled"]
    late = s.client.post(
        f"/v1/batches/{batch_id}/requests", json={"batch_requests": [chat("late", "x")]},
        headers=BEARER,
    )  # fmt: skip
    assert late.status_code == 403
    assert "expired" in late.get_json()["error"]


# --- Eden AI ------------------------------------------------------------------------------------


def eden_launch(s: Served, **extra: Any) -> dict[str, Any]:
    body = {"providers": "amazon,google,deepgram",
            "file_url": "https://example.com/two_voices.wav", **extra}  # fmt: skip
    response = s.client.post(STT, headers=BEARER, json=body)
    assert response.status_code == 200, response.get_json()
    launched: dict[str, Any] = response.get_json()
    return launched


def test_eden_provider_failures(served: Callable[..., Served]) -> None:
    s = served("eden-provider-failures", model=True)
    outcomes = []
    for _ in range(6):
        public_id = eden_launch(s)["public_id"]
        outcomes.append(s.client.get(f"{STT}/{public_id}/", headers=BEARER).get_json())
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


def test_eden_webhook_outage(served: Callable[..., Served]) -> None:
    s = served("eden-webhook-outage", model=True)
    launched = eden_launch(s, providers="amazon", webhook_receiver=HOOK)
    s.runtime.scheduler.run_due()
    for _ in range(6):
        s.advance(30)
    [delivery] = s.client.get("/_mock/webhooks").get_json()["deliveries"]
    assert delivery["status"] == "delivered"
    assert [a["status_code"] for a in delivery["attempts"]] == [503, 503, 503, 200]
    assert [a["fault"] for a in delivery["attempts"]] == ["outage (webhook outage): status"] * 3 + [
        None
    ]
    [sent] = s.webhooks.calls
    key = s.client.get("/_mock/edenai/webhook-key").get_json()["public_key"]
    assert verify(key, sent["body"], sent["headers"]["x-edenai-signature"])
    assert json.loads(sent["body"])["public_id"] == launched["public_id"]
    # the job's results stayed readable by GET throughout
    body = s.client.get(f"{STT}/{launched['public_id']}/", headers=BEARER).get_json()
    assert body["status"] == "finished"
