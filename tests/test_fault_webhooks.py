"""Webhook faults: rules on operation ``webhook`` shape each delivery attempt of the outbox:
drop, hold back (latency), reorder, duplicate, bad signature, a receiver that fails (status or
reset); every one visible in the delivery log, each attempt naming its rule.

Deliveries come from synthetic control-API jobs (event ``job.completed``: provider ``job``) and
from Eden AI jobs (provider ``edenai``, RSA-signed), sent to a recording HTTP client; the tenant
clock is frozen and moved by hand.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mockserver.app import create_app
from mockserver.engine.signing import DEFAULT_SECRET, verify_standard_signature
from mockserver.providers.edenai.signing import verify
from mockserver.settings import Settings
from tests.conftest import FakeTime, RecordingClient

HOOK = "http://127.0.0.1:9/hook"
EDEN = {"Authorization": "Bearer eden-key"}
STT = "/v2/audio/speech_to_text_async"


@pytest.fixture
def app(base_time: FakeTime, webhook_client: RecordingClient) -> Iterator[Flask]:
    settings = Settings().replace(clock="virtual", model_load="lazy")
    app = create_app(settings, base_clock=base_time, http_client=webhook_client)
    yield app
    app.extensions["mockserver"].close()


def install(client: FlaskClient, *rules: dict[str, Any], **extra: Any) -> None:
    response = client.post("/_mock/faults", json={"rules": list(rules), **extra})
    assert response.status_code == 201, response.get_json()


def job(client: FlaskClient) -> str:
    created = client.post("/_mock/jobs", json={"items": 1, "callback_url": HOOK})
    assert created.status_code == 201
    job_id: str = created.get_json()["id"]
    return job_id


def settle(app: Flask) -> None:
    app.extensions["mockserver"].scheduler.run_due()


def advance(client: FlaskClient, app: Flask, seconds: float) -> None:
    client.post("/_mock/clock/advance", json={"seconds": seconds})
    settle(app)


def deliveries(client: FlaskClient) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.get("/_mock/webhooks").get_json()["deliveries"]
    return sorted(found, key=lambda d: d["created_at"])


def webhook_rule(kind: str, **action: Any) -> dict[str, Any]:
    return {"match": {"operation": "webhook"}, "action": {"kind": kind, **action}}


def test_a_dropped_webhook_is_never_sent_and_says_so(
    client: FlaskClient, app: Flask, webhook_client: RecordingClient
) -> None:
    install(client, {**webhook_rule("drop"), "name": "lost"})
    job(client)
    settle(app)
    assert webhook_client.calls == []
    [delivery] = deliveries(client)
    assert delivery["status"] == "dropped"
    [attempt] = delivery["attempts"]
    assert attempt["error"] == "dropped: never sent"
    assert attempt["fault"] == "r1 (lost): drop"
    assert client.get("/_mock/webhooks", query_string={"status": "dropped"}).get_json()[
        "deliveries"
    ]


def test_a_held_webhook_goes_out_once_its_delay_has_passed(
    client: FlaskClient, app: Flask, webhook_client: RecordingClient
) -> None:
    install(client, {**webhook_rule("latency", delay=30), "times": None})
    job(client)
    settle(app)
    assert webhook_client.calls == []
    [delivery] = deliveries(client)
    assert (delivery["status"], delivery["attempts"][0]["status_code"]) == ("pending", None)
    assert delivery["attempts"][0]["fault"].startswith("r1: latency: held until")
    advance(client, app, 29)
    assert webhook_client.calls == []
    advance(client, app, 2)
    assert len(webhook_client.calls) == 1  # a hold applies once per delivery, even times: null
    [delivery] = deliveries(client)
    assert delivery["status"] == "delivered"
    assert [a["fault"] is None for a in delivery["attempts"]] == [False, True]


def test_reorder_lets_a_later_webhook_overtake(
    client: FlaskClient, app: Flask, webhook_client: RecordingClient
) -> None:
    install(client, {**webhook_rule("reorder"), "match": {"operation": "webhook", "nth": [1]}})
    first = job(client)
    second = job(client)
    settle(app)
    advance(client, app, 5)
    sent = [json.loads(c["body"])["job_id"] for c in webhook_client.calls]
    assert sent == [second, first]


def test_a_duplicated_webhook_arrives_again_with_the_same_id(
    client: FlaskClient, app: Flask, webhook_client: RecordingClient
) -> None:
    install(client, webhook_rule("duplicate", count=2))
    job(client)
    settle(app)
    assert len(webhook_client.calls) == 3
    bodies = {c["body"] for c in webhook_client.calls}
    ids = {c["headers"]["webhook-id"] for c in webhook_client.calls}
    assert len(bodies) == 1 and len(ids) == 1  # a receiver should deduplicate on the id
    [delivery] = deliveries(client)
    assert delivery["status"] == "delivered"
    assert [a["fault"] for a in delivery["attempts"]] == [
        "r1: duplicate",
        "r1: duplicate: copy 1",
        "r1: duplicate: copy 2",
    ]


def test_a_badly_signed_webhook_fails_verification(
    client: FlaskClient, app: Flask, webhook_client: RecordingClient
) -> None:
    install(client, webhook_rule("bad_signature"))
    job(client)
    job(client)
    settle(app)
    spoiled, good = webhook_client.calls
    assert not verify_standard_signature(DEFAULT_SECRET, spoiled["headers"], spoiled["body"])
    assert verify_standard_signature(DEFAULT_SECRET, good["headers"], good["body"])


@pytest.mark.parametrize(
    ("action", "error"),
    [
        ({"kind": "status", "status": 503}, "HTTP 503 (fault: not sent)"),
        ({"kind": "reset"}, "connection reset (fault: not sent)"),
    ],
)
def test_a_failing_receiver_is_retried_by_the_outbox(
    client: FlaskClient,
    app: Flask,
    webhook_client: RecordingClient,
    action: dict[str, Any],
    error: str,
) -> None:
    install(client, {"match": {"operation": "webhook"}, "action": action, "times": 2})
    job(client)
    settle(app)
    for _ in range(4):
        advance(client, app, 10)
    assert len(webhook_client.calls) == 1
    [delivery] = deliveries(client)
    assert delivery["status"] == "delivered"
    assert [a["error"] for a in delivery["attempts"]] == [error, error, None]


def test_webhook_rules_match_the_jobs_provider(
    client: FlaskClient, app: Flask, webhook_client: RecordingClient
) -> None:
    install(client, {"match": {"provider": "hume", "operation": "webhook"},
                     "action": {"kind": "drop"}})  # fmt: skip
    job(client)  # a synthetic job: provider "job", untouched
    settle(app)
    assert len(webhook_client.calls) == 1


def test_a_bad_eden_signature_fails_rsa_verification(
    client: FlaskClient, app: Flask, webhook_client: RecordingClient
) -> None:
    runtime = app.extensions["mockserver"]
    runtime.inference.start()
    runtime.inference.wait_ready(60)
    install(client, {"match": {"provider": "edenai", "operation": "webhook"},
                     "action": {"kind": "bad_signature"}})  # fmt: skip
    client.post(
        STT,
        headers=EDEN,
        json={"providers": "amazon", "file_url": "https://example.com/happy.wav",
              "webhook_receiver": HOOK},
    )  # fmt: skip
    settle(app)
    [sent] = webhook_client.calls
    key = client.get("/_mock/edenai/webhook-key").get_json()["public_key"]
    assert not verify(key, sent["body"], sent["headers"]["x-edenai-signature"])


def test_an_out_of_order_delivery_in_an_ordered_scenario_fails_visibly(
    client: FlaskClient, app: Flask, webhook_client: RecordingClient
) -> None:
    wait = {"kind": "latency", "delay": 0}
    rules = [
        {"id": "first", "match": {"operation": "get_job_details"}, "action": wait},
        {"id": "second", "match": {"operation": "webhook"}, "action": {"kind": "drop"}},
    ]
    install(client, *rules, mode="ordered")
    job(client)
    settle(app)
    assert webhook_client.calls == []
    [delivery] = deliveries(client)
    assert delivery["status"] == "pending"  # the outbox will try again
    [attempt] = delivery["attempts"]
    assert attempt["error"] == "mockserver scenario: out of order: expected rule first first"
    assert attempt["fault"] == "out of order: expected rule first first"
