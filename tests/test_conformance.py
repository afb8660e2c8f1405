"""Strict client verification (issue 9, item 2): contract violations by ``--validation`` mode,
the behaviours a batch client should avoid, and ``GET /_mock/report`` that says both precisely.

The pure log (``engine/conformance.py``) is tested with hand-made observations; the rest drives
in-process apps with deliberately wrong clients and correct ones, side by side.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mockserver.app import create_app
from mockserver.contracts import load_contract
from mockserver.engine.conformance import MAX_KEYS, ConformanceLog, Observation
from mockserver.engine.signing import DEFAULT_SECRET, verify_standard_signature
from mockserver.settings import Settings
from tests.conftest import FakeTime, RecordingClient
from tests.contract_check import validate_response

HUME = {"X-Hume-Api-Key": "client-key"}
BAD_BODY = {"text": ["hello"], "models": {"face": {"fps_pred": -1}}}
GOOD_BODY = {"text": ["hello"], "models": {"language": {}}}
HOOK = "http://127.0.0.1:9/hook"


def seen(**fields: Any) -> Observation:
    base: dict[str, Any] = {"tenant": "t", "provider": "hume", "operation": "get_job_details",
                            "method": "GET", "path": "/v0/batch/jobs/j1", "status": 200,
                            "at": 100.0}  # fmt: skip
    return Observation(**{**base, **fields})


# --- the pure log ------------------------------------------------------------------------------


def test_fast_polling_is_measured_per_job_against_the_advised_interval() -> None:
    log = ConformanceLog(advised_poll_s=1.0)
    for at in (100.0, 100.2, 100.4, 102.0):
        log.observe(seen(at=at))
    log.observe(seen(at=100.1, path="/v0/batch/jobs/other"))  # another job: its own clock
    [finding] = log.report("t")["behaviours"]
    assert (finding["kind"], finding["count"], finding["finding"]) == ("fast_polling", 2, True)
    assert "once every 1 s" in finding["message"]
    assert finding["examples"][0] == "GET /v0/batch/jobs/j1 0.200 s after the last"


def test_retry_after_must_pass_before_the_next_request() -> None:
    log = ConformanceLog()
    log.observe(seen(at=10.0, status=429, retry_after=2.0, operation="list_jobs"))
    log.observe(seen(at=10.5, operation="list_jobs"))  # 1.5 s early
    log.observe(seen(at=13.0, operation="list_jobs"))  # after the wait: fine
    [finding] = log.report("t")["behaviours"]
    assert finding["kind"] == "ignored_retry_after"
    assert finding["count"] == 1 and "1.50 s early" in finding["examples"][0]


def test_a_resubmission_after_a_dropped_connection_is_a_finding_once() -> None:
    log = ConformanceLog()
    submit = {"operation": "start_job", "method": "POST", "path": "/v0/batch/jobs"}
    log.observe(seen(at=1.0, body_sha256="a", fault_kind="reset", **submit))
    log.observe(seen(at=2.0, body_sha256="b", **submit))  # different work: fine
    log.observe(seen(at=3.0, body_sha256="a", **submit))  # the same work again
    log.observe(seen(at=4.0, body_sha256="a", **submit))  # reported once per drop
    [finding] = log.report("t")["behaviours"]
    assert (finding["kind"], finding["count"]) == ("resubmitted_after_drop", 1)


def test_violations_are_grouped_by_operation_pointer_and_rule() -> None:
    log = ConformanceLog()
    violation = {"location": "body", "pointer": "/models/face/fps_pred", "rule": "minimum",
                 "message": "/models/face/fps_pred: -1 is less than the minimum of 0"}  # fmt: skip
    for at in (1.0, 2.0):
        log.observe(seen(at=at, status=400, violations=[violation], operation="start_job",
                         method="POST", path="/v0/batch/jobs"))  # fmt: skip
    report = log.report("t")
    assert (report["requests"], report["refused"], report["clean"]) == (2, 2, False)
    [v] = report["violations"]
    assert (v["operation"], v["pointer"], v["rule"], v["count"], v["refused"]) == (
        "start_job",
        "/models/face/fps_pred",
        "minimum",
        2,
        True,
    )


def test_good_news_is_not_a_finding_and_unknown_tenants_are_clean() -> None:
    log = ConformanceLog()
    log.observe_delivery("t", at=1.0, url=HOOK, status=401, probe=True)
    log.observe_delivery("t", at=2.0, url=HOOK, status=200, probe=False)  # not a probe
    report = log.report("t")
    assert report["clean"] and [b["kind"] for b in report["behaviours"]] == ["verified_signature"]
    assert log.report("nobody") == {**log.report("nobody"), "requests": 0, "clean": True}


def test_tallies_are_bounded_and_reset_per_tenant() -> None:
    log = ConformanceLog()
    for n in range(MAX_KEYS + 50):
        violation = {"location": "body", "pointer": f"/x{n}", "rule": "type", "message": "m"}
        log.observe(seen(violations=[violation], status=400))
    assert len(log.report("t")["violations"]) == MAX_KEYS
    log.observe(seen(tenant="u"))
    log.reset(["t"])
    assert log.tenants() == ["u"]


# --- in process --------------------------------------------------------------------------------


@pytest.fixture
def make() -> Iterator[Callable[..., tuple[Flask, FlaskClient]]]:
    apps: list[Flask] = []

    def build(webhooks: Any = None, **changes: Any) -> tuple[Flask, FlaskClient]:
        settings = Settings().replace(**{"model_load": "lazy", "clock": "virtual", **changes})
        app = create_app(settings, base_clock=FakeTime(), http_client=webhooks or RecordingClient())
        apps.append(app)
        return app, app.test_client()

    yield build
    for app in apps:
        app.extensions["mockserver"].close()


def report(client: FlaskClient, tenant: str = "client-key") -> dict[str, Any]:
    response = client.get("/_mock/report", query_string={"tenant": tenant})
    assert response.status_code == 200
    body: dict[str, Any] = response.get_json()
    spec = load_contract("control")
    validate_response(spec, "GET", "/_mock/report", 200, response.content_type, body)
    return body


def test_strict_refuses_a_bad_field_and_the_report_names_it(make: Callable[..., Any]) -> None:
    _, client = make()
    refused = client.post("/v0/batch/jobs", json=BAD_BODY, headers=HUME)
    assert refused.status_code == 400
    assert "/models/face/fps_pred" in refused.get_json()["message"]
    body = report(client)
    assert body["validation"] == "strict" and not body["clean"]
    [violation] = body["violations"]
    assert violation == {**violation, "operation": "start_job", "method": "POST",
                         "location": "body", "pointer": "/models/face/fps_pred",
                         "rule": "minimum", "refused": True, "count": 1}  # fmt: skip
    assert "less than the minimum of 0" in violation["message"]


def test_warn_serves_the_request_and_records_the_violation(make: Callable[..., Any]) -> None:
    _, client = make(validation="warn")
    served = client.post("/v0/batch/jobs", json=BAD_BODY, headers=HUME)
    assert served.status_code == 200, served.get_json()
    [entry] = client.get("/_mock/journal").get_json()["entries"]
    assert [v["pointer"] for v in entry["violations"]] == ["/models/face/fps_pred"]
    [violation] = report(client)["violations"]
    assert violation["refused"] is False


def test_off_serves_the_request_and_records_nothing(make: Callable[..., Any]) -> None:
    _, client = make(validation="off")
    assert client.post("/v0/batch/jobs", json=BAD_BODY, headers=HUME).status_code == 200
    assert report(client)["clean"]


@pytest.mark.parametrize("mode", ["warn", "off"])
def test_a_lenient_mode_never_turns_an_unusable_request_into_a_500(
    make: Callable[..., Any], mode: str
) -> None:
    _, client = make(validation=mode)
    response = client.get("/v0/batch/jobs", query_string={"limit": "many"}, headers=HUME)
    assert response.status_code == 400
    assert '"limit"' in response.get_json()["message"]
    xai = client.post("/v1/batches", json={"name": 7}, headers={"Authorization": "Bearer k"})
    assert xai.status_code == 400


def test_a_correct_client_is_clean(make: Callable[..., Any]) -> None:
    """Polls no faster than advised, honours Retry-After, reads results once completed."""
    app, client = make(advised_poll_interval=0.05, profile="fast")
    rule = {
        "match": {"operation": "get_job_details"},
        "action": {"kind": "status", "status": 429, "retry_after": 0.05, "retry_unit": "ms"},
    }
    assert client.post("/_mock/faults", json={"rules": [rule]}).status_code == 201
    job_id = client.post("/v0/batch/jobs", json=GOOD_BODY, headers=HUME).get_json()["job_id"]
    app.extensions["mockserver"].inference.start()
    for _ in range(200):
        response = client.get(f"/v0/batch/jobs/{job_id}", headers=HUME)
        if response.status_code == 429:
            time.sleep(int(response.headers["retry-after-ms"]) / 1000 + 0.01)
            continue
        if response.get_json()["state"]["status"] == "COMPLETED":
            break
        client.post("/_mock/clock/advance", json={"seconds": 1})
        time.sleep(0.06)
    else:
        pytest.fail("the job did not complete")
    predictions = client.get(f"/v0/batch/jobs/{job_id}/predictions", headers=HUME)
    assert predictions.status_code == 200
    body = report(client)
    assert body["clean"], body
    assert body["requests"] >= 4


def test_a_hasty_client_is_reported_precisely(make: Callable[..., Any]) -> None:
    """Over-polls, ignores Retry-After, reads predictions early: each finding named."""
    _, client = make(profile="manual")
    job_id = client.post("/v0/batch/jobs", json=GOOD_BODY, headers=HUME).get_json()["job_id"]
    for _ in range(3):
        client.get(f"/v0/batch/jobs/{job_id}", headers=HUME)
    assert client.get(f"/v0/batch/jobs/{job_id}/predictions", headers=HUME).status_code == 400
    rule = {"match": {"operation": "list_jobs"},
            "action": {"kind": "status", "status": 429, "retry_after": 30}}  # fmt: skip
    client.post("/_mock/faults", json={"rules": [rule]})
    assert client.get("/v0/batch/jobs", headers=HUME).status_code == 429
    assert client.get("/v0/batch/jobs", headers=HUME).status_code == 200  # at once
    body = report(client)
    kinds = {b["kind"]: b for b in body["behaviours"]}
    assert set(kinds) == {"fast_polling", "early_result_read", "ignored_retry_after"}
    assert kinds["fast_polling"]["count"] == 2
    assert kinds["early_result_read"]["operation"] == "get_job_predictions"
    assert job_id in kinds["early_result_read"]["examples"][0]
    assert kinds["ignored_retry_after"]["operation"] == "list_jobs"
    assert not body["clean"] and body["violations"] == []


def test_resubmitting_after_a_reset_is_reported_and_listing_first_is_not(
    make: Callable[..., Any],
) -> None:
    _, client = make()
    reset = {"match": {"operation": "start_job"}, "action": {"kind": "reset"}, "times": 1}

    def submit() -> None:
        with pytest.raises(ConnectionResetError):
            client.post("/v0/batch/jobs", json=GOOD_BODY, headers=HUME).get_data()

    client.post("/_mock/faults", json={"rules": [reset]})
    submit()  # the job was created; the client never heard
    assert client.post("/v0/batch/jobs", json=GOOD_BODY, headers=HUME).status_code == 200
    assert len(client.get("/v0/batch/jobs", headers=HUME).get_json()) == 2
    [finding] = report(client)["behaviours"]
    assert (finding["kind"], finding["operation"]) == ("resubmitted_after_drop", "start_job")

    careful = {"X-Hume-Api-Key": "careful-key"}
    client.post("/_mock/faults", json={"rules": [{**reset, "match": {"tenant": "careful-key"}}]})
    with pytest.raises(ConnectionResetError):
        client.post("/v0/batch/jobs", json=GOOD_BODY, headers=careful).get_data()
    assert len(client.get("/v0/batch/jobs", headers=careful).get_json()) == 1  # it is there
    assert report(client, "careful-key")["clean"]


class VerifyingReceiver(RecordingClient):
    """A receiver that checks the Standard Webhooks signature and answers 401 when it fails."""

    def post(self, url: str, body: bytes, headers: Any, timeout: float) -> Any:
        self.calls.append({"url": url, "body": body, "headers": dict(headers)})
        good = verify_standard_signature(DEFAULT_SECRET, dict(headers), body)
        return self._response(204 if good else 401, {}, b"")


@pytest.mark.parametrize(
    ("receiver", "kind", "clean"),
    [(RecordingClient, "unverified_signature", False),
     (VerifyingReceiver, "verified_signature", True)],
)  # fmt: skip
def test_the_signature_probe_tells_whether_the_receiver_verifies(
    make: Callable[..., Any], receiver: type[RecordingClient], kind: str, clean: bool
) -> None:
    hook = receiver()
    app, client = make(webhooks=hook)
    probe = {"match": {"operation": "webhook"}, "action": {"kind": "signature_probe"}}
    assert client.post("/_mock/faults", json={"rules": [probe]}).status_code == 201
    created = client.post(
        "/_mock/jobs", json={"tenant": "client-key", "items": 1, "callback_url": HOOK}
    )
    assert created.status_code == 201
    app.extensions["mockserver"].scheduler.run_due()
    assert len(hook.calls) == 2  # the probe, then the genuine delivery
    [delivery] = client.get("/_mock/webhooks").get_json()["deliveries"]
    assert delivery["status"] == "delivered"
    assert delivery["attempts"][0]["fault"].endswith("probe with a wrong signature")
    body = report(client)
    assert [b["kind"] for b in body["behaviours"]] == [kind]
    assert body["clean"] is clean


def test_report_without_a_tenant_lists_tenants(make: Callable[..., Any]) -> None:
    _, client = make()
    client.get("/v0/batch/jobs", headers=HUME)
    listing = client.get("/_mock/report").get_json()
    assert listing == {"tenants": ["client-key"], "validation": "strict"}
    client.post("/_mock/reset", json={"tenant": "client-key"})
    assert client.get("/_mock/report").get_json()["tenants"] == []
