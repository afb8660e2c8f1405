"""The control API and its contract, ``contracts/control.yaml``, checked both ways.

The contract must be valid OpenAPI 3.1 and name exactly the routes of the control blueprint.
Each scenario below drives a fresh app through a realistic flow and checks every answer (status,
content type, body) against the contract, and every request expected to succeed against the
declared parameters and request body. Together the scenarios must produce every status code the
contract declares, so no declared response is left unproven.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from json import dumps as json_text
from json import loads as json_value
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from mockserver.app import create_app
from mockserver.settings import Settings
from tests.conftest import T0, FakeTime
from tests.contract_check import (
    find_operation,
    iter_operations,
    validate_request,
    validate_response,
)

CONTRACT = Path(__file__).resolve().parents[1] / "contracts" / "control.yaml"
HOOK = "http://127.0.0.1:9/hook"  # nothing listens there: attempts fail, "connection refused"
BLOCKED_HOOK = "http://example.com/hook"  # not on the default allow-list (loopback only)
ADMIN_TOKEN = "s3cret-admin-token"

Seen = set[tuple[str, int]]


def load_contract() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    return spec


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return load_contract()


# --- the document ------------------------------------------------------------------------------


def test_contract_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    validate(spec)
    assert spec["openapi"] == "3.1.0"
    assert spec["info"]["title"] == "mockserver control API"
    assert spec["info"]["version"] == "0.1.0"
    assert spec["info"]["description"].strip()
    assert [s["url"] for s in spec["servers"]] == ["http://127.0.0.1:8000"]


def test_operations_have_unique_camel_case_ids_tags_and_summaries(spec: dict[str, Any]) -> None:
    declared_tags = {t["name"] for t in spec["tags"]}
    ids = []
    for method, template, operation in iter_operations(spec):
        ids.append(operation["operationId"])
        assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", operation["operationId"])
        assert operation["summary"], (method, template)
        assert operation["tags"] and set(operation["tags"]) <= declared_tags, (method, template)
    assert len(ids) == len(set(ids)) == 35


def test_admin_token_is_required_everywhere_but_health_and_eden_public_files(
    spec: dict[str, Any],
) -> None:
    """Health is polled while starting; Eden's public key and result files are fetched by
    webhook receivers and clients that hold no admin token (Eden hosts them publicly)."""
    schemes = spec["components"]["securitySchemes"]
    assert schemes["adminToken"] == {**schemes["adminToken"], "type": "http", "scheme": "bearer"}
    assert (schemes["adminTokenHeader"]["in"], schemes["adminTokenHeader"]["name"]) == (
        "header",
        "X-Mock-Admin-Token",
    )
    assert spec["security"] == [{"adminToken": []}, {"adminTokenHeader": []}]
    open_ops = [op["operationId"] for _, _, op in iter_operations(spec) if "security" in op]
    assert sorted(open_ops) == [
        "getDashboard",
        "getDashboardAsset",
        "getEdenResource",
        "getEdenWebhookKey",
        "getHealth",
    ]
    assert find_operation(spec, "GET", "/_mock/health").spec["security"] == []


def test_links_name_existing_operations(spec: dict[str, Any]) -> None:
    ids = {op["operationId"] for _, _, op in iter_operations(spec)}
    links = spec["components"]["links"]
    assert {link["operationId"] for link in links.values()} <= ids
    created = find_operation(spec, "POST", "/_mock/jobs").spec["responses"]["201"]["links"]
    assert {links[ref["$ref"].rsplit("/", 1)[1]]["operationId"] for ref in created.values()} == {
        "getJob",
        "stepJob",
        "cancelJob",
        "getJobResults",
    }


# --- routes, both ways ---------------------------------------------------------------------------


def control_routes() -> set[tuple[str, str]]:
    """(METHOD, path template) of every rule the app serves under ``/_mock``."""
    app = create_app()
    try:
        routes = set()
        for rule in app.url_map.iter_rules():
            if rule.rule == "/_mock" or rule.rule.startswith("/_mock/"):
                template = re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule.rule)
                methods = set(rule.methods or ()) - {"HEAD", "OPTIONS"}
                routes |= {(method, template) for method in methods}
        return routes
    finally:
        app.extensions["mockserver"].close()


def test_every_control_route_is_in_the_contract(spec: dict[str, Any]) -> None:
    operations = {(method, template) for method, template, _ in iter_operations(spec)}
    assert sorted(control_routes() - operations) == []


def test_every_contract_operation_is_a_control_route(spec: dict[str, Any]) -> None:
    operations = {(method, template) for method, template, _ in iter_operations(spec)}
    assert sorted(operations - control_routes()) == []


# --- the harness ---------------------------------------------------------------------------------


class ControlApi:
    """A fresh app and a test client whose every ``/_mock`` exchange is checked against the spec.

    The base clock is a FakeTime (it moves only when told to), webhooks go through the real HTTP
    client, and every (operationId, status) answered is added to ``seen``.
    """

    def __init__(self, spec: dict[str, Any], seen: Seen, **settings: Any) -> None:
        self.spec = spec
        self.seen = seen
        self.app = create_app(Settings().replace(**settings), base_clock=FakeTime())
        self.runtime = self.app.extensions["mockserver"]
        self.client = self.app.test_client()

    def call(
        self,
        method: str,
        path: str,
        expect: int = 200,
        *,
        json: Any = None,
        query: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """Send a request, check status and contract; return the JSON (or the raw bytes)."""
        if 200 <= expect < 300:
            validate_request(self.spec, method, path, query=query, body=json)
        response = self.client.open(
            path, method=method, json=json, query_string=query, headers=headers
        )
        try:
            raw = response.get_data()
        finally:
            response.close()
        body = response.get_json() if response.is_json else raw.decode() or None
        assert response.status_code == expect, f"{method} {path}: {response.status_code} {body}"
        validate_response(self.spec, method, path, expect, response.content_type, body)
        self.seen.add((find_operation(self.spec, method, path).id, expect))
        return body if response.is_json else raw

    def settle(self) -> None:
        """Run due side effects and attempt due webhooks, as the background threads would."""
        self.runtime.scheduler.run_due()

    def visit(self, path: str) -> int:
        """A client request outside the control API (it lands in the journal)."""
        response = self.client.get(path)
        response.close()
        return response.status_code

    def close(self) -> None:
        self.runtime.close()


Scenario = Callable[[ControlApi], None]
SCENARIOS: dict[str, tuple[Scenario, dict[str, Any]]] = {}


def scenario(**settings: Any) -> Callable[[Scenario], Scenario]:
    """Register a flow, run on a fresh app built with these settings."""

    def register(flow: Scenario) -> Scenario:
        SCENARIOS[flow.__name__] = (flow, settings)
        return flow

    return register


def run_scenario(spec: dict[str, Any], name: str, seen: Seen) -> None:
    flow, settings = SCENARIOS[name]
    api = ControlApi(spec, seen, **settings)
    try:
        flow(api)
    finally:
        api.close()


# --- the scenarios -------------------------------------------------------------------------------


@scenario()
def health_reset_and_tenants(api: ControlApi) -> None:
    health = api.call("GET", "/_mock/health")
    assert (health["status"], health["store"], health["profile"]) == ("ok", "memory", "instant")
    assert (health["clock"]["tenant"], health["clock"]["now"]) == (None, T0)

    api.call("POST", "/_mock/jobs", 201, json={"tenant": "acme", "items": 2})
    api.call("PUT", "/_mock/seed", json={"tenant": "zeta", "seed": 7})
    tenants = api.call("GET", "/_mock/tenants")["tenants"]
    summary = [(t["tenant"], t["jobs"], t["seed"]) for t in tenants]
    assert summary == [("acme", 1, 0), ("zeta", 0, 7)]
    assert tenants[0]["clock"]["tenant"] == "acme"

    assert api.call("POST", "/_mock/reset", json={"tenant": "acme"}) == {
        "reset": "tenant",
        "tenant": "acme",
    }
    assert api.call("POST", "/_mock/reset", query={"tenant": "zeta"})["tenant"] == "zeta"
    assert api.call("GET", "/_mock/tenants") == {"tenants": []}
    assert api.call("POST", "/_mock/reset") == {"reset": "all", "tenant": None}
    assert api.call("POST", "/_mock/reset", 400, json=["acme"])["error"]["code"] == "invalid_body"
    assert api.call("POST", "/_mock/reset", 400, json={"tenant": 5})["error"]["code"] == (
        "invalid_field"
    )


@scenario()
def clock_moves_forward_only(api: ControlApi) -> None:
    clock = api.call("GET", "/_mock/clock")
    assert (clock["tenant"], clock["now"], clock["frozen"]) == (None, T0, False)
    assert clock["now_iso"] == "2027-01-15T08:00:00.000+00:00"

    assert api.call("POST", "/_mock/clock/advance", json={"seconds": 30})["now"] == T0 + 30
    tenant_clock = api.call("POST", "/_mock/clock/advance", query={"tenant": "t", "seconds": "5"})
    assert (tenant_clock["tenant"], tenant_clock["now"]) == ("t", T0 + 35)
    assert api.call("GET", "/_mock/clock", query={"tenant": "t"})["now"] == T0 + 35
    for bad in ({}, {"seconds": -1}, {"seconds": "soon"}):
        api.call("POST", "/_mock/clock/advance", 400, json=bad)

    frozen = api.call("POST", "/_mock/clock/set", json={"time": T0 + 100, "frozen": True})
    assert (frozen["now"], frozen["frozen"]) == (T0 + 100, True)
    iso = api.call("POST", "/_mock/clock/set", json={"time": "2027-01-15T09:00:00Z"})
    assert iso["now"] == T0 + 3600
    assert api.call("POST", "/_mock/clock/set", query={"frozen": "false"})["frozen"] is False
    backwards = api.call("POST", "/_mock/clock/set", 409, json={"time": T0})
    assert backwards["error"]["code"] == "clock_backwards"
    for bad in ({"time": "yesterday"}, {"frozen": 3}, {"tenant": ["t"]}):
        api.call("POST", "/_mock/clock/set", 400, json=bad)
    api.call("POST", "/_mock/clock/set", 400, json="noon")


@scenario()
def profile_and_seed(api: ControlApi) -> None:
    profile = api.call("GET", "/_mock/profile")
    assert profile == {"tenant": None, "profile": "instant", "profiles": profile["profiles"]}
    assert set(profile["profiles"]) == {"instant", "fast", "realistic", "manual"}

    assert api.call("PUT", "/_mock/profile", json={"profile": "manual"})["profile"] == "manual"
    assert api.call("GET", "/_mock/clock")["frozen"] is True  # manual freezes its clock
    scoped = api.call("PUT", "/_mock/profile", query={"tenant": "acme", "profile": "fast"})
    assert (scoped["tenant"], scoped["profile"]) == ("acme", "fast")
    assert api.call("GET", "/_mock/profile", query={"tenant": "acme"})["profile"] == "fast"
    unknown = api.call("PUT", "/_mock/profile", 400, json={"profile": "turbo"})
    assert unknown["error"]["code"] == "invalid_profile"
    api.call("PUT", "/_mock/profile", 400, json={})
    api.call("PUT", "/_mock/profile", 400, json={"profile": 1})

    assert api.call("GET", "/_mock/seed") == {"tenant": None, "seed": 0}
    assert api.call("PUT", "/_mock/seed", json={"seed": 42}) == {"tenant": None, "seed": 42}
    assert api.call("GET", "/_mock/seed", query={"tenant": "acme"})["seed"] == 42  # inherited
    assert api.call("PUT", "/_mock/seed", query={"tenant": "acme", "seed": "9"})["seed"] == 9
    assert api.call("GET", "/_mock/seed", query={"tenant": "acme"})["seed"] == 9
    for bad in ({}, {"seed": "many"}, {"seed": None}):
        api.call("PUT", "/_mock/seed", 400, json=bad)


@scenario()
def job_stepped_by_hand(api: ControlApi) -> None:
    job = api.call(
        "POST", "/_mock/jobs", 201, json={"items": 3, "profile": "manual", "callback_url": HOOK}
    )
    job_path = f"/_mock/jobs/{job['id']}"
    assert (job["status"], job["counts"]["queued"], job["started_at"]) == ("queued", 3, None)
    assert job["attrs"] == {"callback_url": HOOK}
    assert [(i["start"], i["end"]) for i in job["plan"]["items"]] == [(T0 + 1, T0 + 2)] * 3

    assert api.call("POST", f"{job_path}/step", json={})["status"] == "running"
    done = api.call("POST", f"{job_path}/step", json={"to": "terminal"})
    assert (done["status"], done["counts"]["succeeded"], done["ended_at"]) == ("completed", 3, T0)
    assert done["notified"] is True
    [queued] = done["deliveries"]
    assert (queued["status"], queued["attempts"], queued["attempt_count"]) == ("pending", [], 0)
    assert "body" not in queued
    assert api.call("POST", f"{job_path}/step", query={"to": "next"})["status"] == "completed"

    api.settle()  # the webhook is attempted: nothing listens, the attempt is recorded
    delivery = api.call("GET", job_path)["deliveries"][0]
    assert (delivery["status"], delivery["attempt_count"]) == ("pending", 1)
    assert delivery["attempts"][0]["status_code"] is None
    assert delivery["attempts"][0]["error"] == "connection refused"

    results = api.call("GET", f"{job_path}/results")["results"]
    assert list(results) == ["0", "1", "2"]
    assert results["1"]["input"] == {"n": 1}

    assert api.call("POST", f"{job_path}/step", 400, json={"to": "sideways"})["error"]["code"] == (
        "invalid_field"
    )
    api.call("POST", f"{job_path}/step", 400, json=[1])
    for path in ("/_mock/jobs/nope", "/_mock/jobs/nope/results"):
        assert api.call("GET", path, 404)["error"]["code"] == "job_not_found"
    api.call("POST", "/_mock/jobs/nope/step", 404)
    api.call("POST", "/_mock/jobs/nope/cancel", 404)


@scenario()
def output_datasets(api: ControlApi) -> None:
    """A Hugging Face bulk job's rows as JSON Lines; other jobs have no output dataset."""
    body = {"dataset_name": "mockserver/reviews", "dataset_config": "plain_text"}
    launched = api.client.post(
        "/bulk/run/cpu/distilbert-base-uncased-finetuned-sst-2-english", data=json_text(body)
    )
    assert launched.status_code == 200, launched.get_data()
    jobid = launched.get_json()["jobid"]
    api.settle()
    rows = [
        json_value(line) for line in api.call("GET", f"/_mock/jobs/{jobid}/output").splitlines()
    ]
    assert [row["index"] for row in rows] == list(range(8))
    assert {"index", "text", "outputs"} <= set(rows[0])
    synthetic = api.call("POST", "/_mock/jobs", 201, json={"tenant": "t", "items": 1})
    no_output = api.call("GET", f"/_mock/jobs/{synthetic['id']}/output", 404)
    assert no_output["error"]["code"] == "no_output"
    assert api.call("GET", "/_mock/jobs/nope/output", 404)["error"]["code"] == "job_not_found"


@scenario()
def job_outcomes_and_listing(api: ControlApi) -> None:
    stuck = api.call(
        "POST",
        "/_mock/jobs",
        201,
        json={"items": [{"text": "a"}, {"text": "b"}], "overrides": {"stuck": "queued"}},
    )
    assert [(i["start"], i["end"]) for i in stuck["plan"]["items"]] == [(None, None)] * 2
    cancelled = api.call("POST", f"/_mock/jobs/{stuck['id']}/cancel")
    assert (cancelled["status"], cancelled["error"], cancelled["plan"]["cancelled_at"]) == (
        "cancelled",
        "cancelled",
        T0,
    )
    assert {(i["status"], i["started_at"], i["ended_at"]) for i in cancelled["timeline"]} == {
        ("cancelled", None, T0)
    }
    assert api.call("POST", f"/_mock/jobs/{stuck['id']}/cancel")["status"] == "cancelled"

    running = api.call(
        "POST",
        "/_mock/jobs",
        201,
        json={"items": 2, "profile": "manual", "overrides": {"stuck": "running"}},
    )
    running = api.call("POST", f"/_mock/jobs/{running['id']}/step", json={"to": "next"})
    assert running["status"] == "running"
    assert None in [i["end"] for i in running["plan"]["items"]]

    overrides = {"item_error_rate": 1, "error_messages": ["boom"], "run_time": [0, 0]}
    errors = api.call("POST", "/_mock/jobs", 201, json={"items": 2, "overrides": overrides})
    assert (errors["status"], errors["counts"]["failed"]) == ("completed", 2)
    assert {(i["outcome"], i["error"]) for i in errors["plan"]["items"]} == {("error", "boom")}
    assert api.call("GET", f"/_mock/jobs/{errors['id']}/results")["results"] == {}

    failed = api.call(
        "POST", "/_mock/jobs", 201, json={"items": 2, "overrides": {"job_failure_rate": 1.0}}
    )
    assert (failed["status"], failed["error"]) == ("failed", "job failed")
    assert failed["plan"]["failure_message"] == "job failed"
    assert failed["plan"]["failure_at"] == failed["ended_at"]

    container = api.call("POST", "/_mock/jobs", 201, json={"items": 0, "open": True})
    assert (container["status"], container["open"], container["counts"]["total"]) == (
        "queued",
        True,
        0,
    )
    acme = api.call("POST", "/_mock/jobs", 201, query={"tenant": "acme", "profile": "fast"})
    assert (acme["tenant"], acme["profile"]) == ("acme", "fast")

    listed = api.call("GET", "/_mock/jobs")["jobs"]
    # Newest first within a tenant; tenants grouped in descending name order.
    assert [(j["tenant"], j["seq"]) for j in listed] == [
        *(("default", seq) for seq in (5, 4, 3, 2, 1)),
        ("acme", 1),
    ]
    assert "plan" not in listed[0]
    completed = api.call("GET", "/_mock/jobs", query={"status": "completed"})["jobs"]
    assert [j["id"] for j in completed] == [errors["id"]]
    assert len(api.call("GET", "/_mock/jobs", query={"tenant": "default", "limit": 2})["jobs"]) == 2
    assert api.call("GET", "/_mock/jobs", query={"provider": "hume"}) == {"jobs": []}
    for bad in ({"status": "done"}, {"limit": "all"}):
        api.call("GET", "/_mock/jobs", 400, query=bad)

    for bad in (
        {"items": -1},
        {"items": "three"},
        {"overrides": {"speed": 11}},
        {"overrides": {"stuck": "sideways"}},
        {"profile": "turbo"},
        {"open": 3},
    ):
        assert api.call("POST", "/_mock/jobs", 400, json=bad)["error"]["code"] == "invalid_field"
    api.call("POST", "/_mock/jobs", 400, json=[{"n": 0}])


@scenario(webhook_max_attempts=2)
def webhooks_attempted_blocked_redelivered(api: ControlApi) -> None:
    job = api.call("POST", "/_mock/jobs", 201, json={"items": 1, "callback_url": HOOK})
    blocked_job = api.call("POST", "/_mock/jobs", 201, json={"callback_url": BLOCKED_HOOK})
    api.settle()

    deliveries = api.call("GET", "/_mock/webhooks")["deliveries"]
    assert {(d["job_id"], d["status"]) for d in deliveries} == {
        (job["id"], "pending"),
        (blocked_job["id"], "blocked"),
    }
    pending = api.call("GET", "/_mock/webhooks", query={"status": "pending", "tenant": "default"})
    [delivery] = pending["deliveries"]
    assert (delivery["event"], delivery["url"], delivery["next_attempt_at"]) == (
        "job.completed",
        HOOK,
        T0 + 1,  # the first retry, after the 1 s backoff
    )
    assert json.loads(delivery["body"])["job_id"] == job["id"]
    by_job = api.call("GET", "/_mock/webhooks", query={"job_id": job["id"], "limit": 5})
    assert by_job["deliveries"] == [delivery]
    api.call("GET", "/_mock/webhooks", 400, query={"limit": "many"})

    one = api.call("GET", f"/_mock/webhooks/{delivery['id']}")
    assert one == delivery
    assert one["attempts"][0]["headers"]["webhook-id"] == delivery["id"]

    again = api.call("POST", f"/_mock/webhooks/{delivery['id']}/redeliver")
    assert (again["status"], again["next_attempt_at"], again["attempt_count"]) == ("pending", T0, 1)
    api.settle()
    exhausted = api.call("GET", f"/_mock/webhooks/{delivery['id']}")
    assert (exhausted["status"], exhausted["next_attempt_at"]) == ("failed", None)
    assert exhausted["attempt_count"] == 2

    blocked_id = next(d["id"] for d in deliveries if d["status"] == "blocked")
    still = api.call("POST", f"/_mock/webhooks/{blocked_id}/redeliver")
    assert (still["status"], still["attempts"][0]["status_code"]) == ("blocked", None)
    assert still["attempts"][0]["error"].startswith("blocked: ")

    assert api.call("GET", "/_mock/webhooks/nope", 404)["error"]["code"] == "delivery_not_found"
    api.call("POST", "/_mock/webhooks/nope/redeliver", 404)

    standard = api.call("GET", "/_mock/webhooks/signing")["schemes"]["standard"]
    assert standard["secret"].startswith("whsec_")
    assert standard["headers"] == ["webhook-id", "webhook-timestamp", "webhook-signature"]


@scenario()
def journal_records_client_requests(api: ControlApi) -> None:
    assert api.visit("/v1/batch/jobs?limit=3") == 404
    assert api.visit("/v2/other") == 404
    api.call("GET", "/_mock/health")  # control calls are not journalled

    page = api.call("GET", "/_mock/journal")
    assert (page["capacity"], page["dropped"]) == (1000, 0)
    assert [(e["id"], e["path"], e["status"]) for e in page["entries"]] == [
        (2, "/v2/other", 404),
        (1, "/v1/batch/jobs", 404),
    ]
    first = page["entries"][1]
    assert (first["method"], first["query"], first["provider"], first["tenant"]) == (
        "GET",
        "limit=3",
        None,
        None,
    )
    filtered = api.call("GET", "/_mock/journal", query={"path": "/v1", "status": 404, "limit": 5})
    assert [e["id"] for e in filtered["entries"]] == [1]
    newer = api.call("GET", "/_mock/journal", query={"after_id": 1})
    assert [e["id"] for e in newer["entries"]] == [2]
    assert api.call("GET", "/_mock/journal", query={"tenant": "acme", "provider": "hume"}) == {
        "entries": [],
        "capacity": 1000,
        "dropped": 0,
    }
    for bad in ({"status": "missing"}, {"after_id": "x"}, {"limit": "all"}):
        api.call("GET", "/_mock/journal", 400, query=bad)

    exported = api.call("GET", "/_mock/journal/export").decode()
    lines = [json.loads(line) for line in exported.splitlines()]
    assert [(e["path"], e["status"]) for e in lines] == [
        ("/v1/batch/jobs", 404),
        ("/v2/other", 404),
    ]
    assert not {"id", "at", "duration_ms"} & set(lines[0])
    assert exported.splitlines()[0] == json.dumps(lines[0], sort_keys=True, separators=(",", ":"))
    assert api.call("GET", "/_mock/report") == {"tenants": [], "validation": "strict"}
    report = api.call("GET", "/_mock/report", query={"tenant": "acme"})
    assert (report["clean"], report["requests"], report["violations"]) == (True, 0, [])
    empty = api.client.get("/_mock/journal/export", query_string={"tenant": "acme"})
    assert (empty.status_code, empty.data, empty.mimetype) == (200, b"", "application/x-ndjson")


@scenario()
def contracts_are_served(api: ControlApi) -> None:
    listed = api.call("GET", "/_mock/contracts")["contracts"]
    control = next(c for c in listed if c["name"] == "control")
    assert control == {
        "name": "control",
        "title": "mockserver control API",
        "version": "0.1.0",
        "url": "/_mock/contracts/control",
    }
    assert api.call("GET", "/_mock/contracts/control") == CONTRACT.read_bytes()
    assert api.call("GET", "/_mock/contracts/control.yaml") == CONTRACT.read_bytes()
    for name in ("nope", "Control", "control.json"):
        assert api.call("GET", f"/_mock/contracts/{name}", 404)["error"]["code"] == (
            "contract_not_found"
        )


@scenario()
def faults_added_listed_and_removed(api: ControlApi) -> None:
    rule = {"id": "slow", "name": "slow reads", "match": {"provider": "hume", "nth": [2]},
            "action": {"kind": "latency", "delay": 0.01}, "times": None}  # fmt: skip
    added = api.call("POST", "/_mock/faults", 201, json={"tenant": "acme", "rules": [rule]})
    assert (added["tenant"], added["mode"], [r["id"] for r in added["rules"]]) == (
        "acme",
        "first",
        ["slow"],
    )
    named = api.call("POST", "/_mock/faults", 201, json={"scenario": "rate-limited"})
    assert named["rules"][0]["action"]["status"] == 429 and named["tenant"] is None
    listed = api.call("GET", "/_mock/faults")
    assert [p["tenant"] for p in listed["plans"]] == [None, "acme"]
    assert (
        listed["plans"][1]["rules"][0] | {"seen": 0, "fired": 0, "left": None}
        == (listed["plans"][1]["rules"][0])
    )
    assert "rate-limited" in listed["scenarios"]
    assert [
        p["tenant"] for p in api.call("GET", "/_mock/faults", query={"tenant": "acme"})["plans"]
    ] == ["acme"]
    for bad in ({"rules": [{"action": {"kind": "explode"}}]}, {"scenario": "nope"},
                {"rules": [], "scenario": "rate-limited"}):  # fmt: skip
        api.call("POST", "/_mock/faults", 400, json=bad)
    assert api.call("DELETE", "/_mock/faults/slow") == {"removed": "slow"}
    assert api.call("DELETE", "/_mock/faults/slow", 404)["error"]["code"] == "rule_not_found"
    assert api.call("DELETE", "/_mock/faults") == {"cleared": 1, "tenant": None}
    assert api.call("GET", "/_mock/faults")["plans"] == []


@scenario(admin_token=ADMIN_TOKEN)
def eden_public_key_and_files_need_no_token(api: ControlApi) -> None:
    key = api.call("GET", "/_mock/edenai/webhook-key")
    assert key["public_key"].startswith("-----BEGIN PUBLIC KEY-----")
    assert (key["signature_header"], key["encoding"]) == ("x-edenai-signature", "hex")
    pem = api.call("GET", "/_mock/edenai/webhook-key", query={"format": "pem"})
    assert pem.decode() == key["public_key"]

    job = api.runtime.engine.submit("acme", "edenai", attrs={"subfeature": "audio/x"})
    api.runtime.store.put_blob(f"{job.id}/resources/amazon-speech.wav", b"RIFF....WAVE")
    got = api.call("GET", f"/_mock/edenai/resources/{job.id}/amazon-speech.wav")
    assert got == b"RIFF....WAVE"
    for path in (f"{job.id}/nope.wav", "unknown/amazon-speech.wav"):
        api.call("GET", f"/_mock/edenai/resources/{path}", 404)


@scenario(admin_token=ADMIN_TOKEN)
def admin_token_guards_the_control_api(api: ControlApi) -> None:
    for method, template, operation in iter_operations(api.spec):
        if operation.get("security") != []:
            path = re.sub(r"\{[^{}]+\}", "unknown", template)
            assert api.call(method, path, 401)["error"]["code"] == "unauthorized"
    api.call("GET", "/_mock/health")  # open even with a token

    bearer = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    assert api.call("GET", "/_mock/clock", headers=bearer)["now"] == T0
    api.call("GET", "/_mock/seed", headers={"X-Mock-Admin-Token": ADMIN_TOKEN})
    api.call("GET", "/_mock/seed", 401, headers={"Authorization": "Bearer wrong"})
    api.call("GET", "/_mock/seed", 401, headers={"Authorization": ADMIN_TOKEN})  # no scheme
    # The dedicated header wins over Authorization, even when only the latter is right.
    api.call("GET", "/_mock/seed", 401, headers={**bearer, "X-Mock-Admin-Token": "wrong"})


@scenario(admin_token=ADMIN_TOKEN)
def dashboard_page_assets_and_changes(api: ControlApi) -> None:
    """The page and its files need no token (they hold no state); the fingerprint does."""
    page = api.call("GET", "/_mock/ui").decode()
    assert '<script src="ui/assets/app.js" defer></script>' in page
    assert b"ui/changes" in api.call("GET", "/_mock/ui/assets/app.js")
    missing = api.call("GET", "/_mock/ui/assets/nope.js", 404)
    assert missing["error"]["code"] == "asset_not_found"
    bearer = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    first = api.call("GET", "/_mock/ui/changes", headers=bearer)["version"]
    assert api.call("GET", "/_mock/ui/changes", headers=bearer)["version"] == first
    api.call("POST", "/_mock/jobs", 201, json={"items": 1}, headers=bearer)
    assert api.call("GET", "/_mock/ui/changes", headers=bearer)["version"] != first


# --- running them --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SCENARIOS)
def test_responses_match_the_contract(spec: dict[str, Any], name: str) -> None:
    run_scenario(spec, name, set())


def test_every_declared_status_is_exercised(spec: dict[str, Any]) -> None:
    declared = {
        (operation["operationId"], int(status))
        for _, _, operation in iter_operations(spec)
        for status in operation["responses"]
    }
    seen: Seen = set()
    for name in SCENARIOS:
        run_scenario(spec, name, seen)
    assert sorted(declared - seen) == []
    assert sorted(seen - declared) == []  # validate_response already refuses these


def test_contract_check_reports_where_a_body_breaks_the_contract(spec: dict[str, Any]) -> None:
    clock = {"tenant": None, "now": T0, "now_iso": "2027-01-15T08:00:00.000+00:00", "frozen": 1}
    with pytest.raises(AssertionError, match=r"\(getClock\).*\n  /frozen: 1 is not of type"):
        validate_response(spec, "GET", "/_mock/clock", 200, "application/json", clock)
    with pytest.raises(AssertionError, match="status not declared"):
        validate_response(spec, "GET", "/_mock/clock", 404, "application/json", {})
    with pytest.raises(AssertionError, match="content type 'text/html' not declared"):
        validate_response(spec, "GET", "/_mock/clock", 200, "text/html", "<p>")
    with pytest.raises(AssertionError, match="no path template"):
        validate_response(spec, "GET", "/_mock/nowhere", 200, "application/json", {})
    with pytest.raises(AssertionError, match="query parameter 'when' not declared"):
        validate_request(spec, "GET", "/_mock/clock", query={"when": "now"})
    assert find_operation(spec, "GET", "/_mock/webhooks/signing").id == "getWebhookSigning"
    assert find_operation(spec, "GET", "/_mock/webhooks/abc").path_params == {"delivery_id": "abc"}
