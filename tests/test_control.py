"""The /_mock control API driven through the Flask test client."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from mockserver.runtime import Runtime
from mockserver.settings import Settings
from tests.conftest import T0, RecordingClient


def create(client: FlaskClient, **body: Any) -> dict[str, Any]:
    response = client.post("/_mock/jobs", json={"tenant": "t", **body})
    assert response.status_code == 201, response.json
    data: dict[str, Any] = response.json  # type: ignore[assignment]
    return data


@pytest.fixture
def settings() -> Settings:
    return Settings().replace(profile="manual")


def test_health_answers(client: FlaskClient) -> None:
    data = client.get("/_mock/health").json
    assert data["status"] == "ok" and data["profile"] == "manual" and data["store"] == "memory"


def test_manual_job_moves_only_when_advanced_or_stepped(
    client: FlaskClient, base_time: Any
) -> None:
    job = create(client, items=2)
    assert job["status"] == "queued"
    base_time.t += 600  # real time passes: nothing moves
    assert client.get(f"/_mock/jobs/{job['id']}").json["status"] == "queued"
    clock = client.post("/_mock/clock/advance", json={"seconds": 1}).json
    assert clock["now"] == T0 + 1 and clock["frozen"] is True
    assert client.get(f"/_mock/jobs/{job['id']}").json["status"] == "running"
    stepped = client.post(f"/_mock/jobs/{job['id']}/step", json={"to": "terminal"}).json
    assert stepped["status"] == "completed" and stepped["ended_at"] == T0 + 1
    assert stepped["timeline"][0]["status"] == "succeeded"
    results = client.get(f"/_mock/jobs/{job['id']}/results").json["results"]
    assert set(results) == {"0", "1"}


def test_step_next_goes_one_state_at_a_time(client: FlaskClient) -> None:
    job = create(client, items=3)
    first = client.post(f"/_mock/jobs/{job['id']}/step").json
    assert first["status"] == "running" and first["counts"]["running"] == 1
    second = client.post(f"/_mock/jobs/{job['id']}/step").json
    assert second["status"] == "completed"
    third = client.post(f"/_mock/jobs/{job['id']}/step").json
    assert third["status"] == "completed" and third["ended_at"] == second["ended_at"]


def test_per_tenant_clock_moves_only_that_tenant(client: FlaskClient) -> None:
    a = create(client, tenant="a")
    b = create(client, tenant="b")
    client.post("/_mock/clock/advance", json={"seconds": 5, "tenant": "a"})
    assert client.get(f"/_mock/jobs/{a['id']}").json["status"] == "completed"
    assert client.get(f"/_mock/jobs/{b['id']}").json["status"] == "queued"
    assert client.get("/_mock/clock?tenant=a").json["now"] == T0 + 5
    assert client.get("/_mock/clock").json["now"] == T0


def test_clock_set_accepts_iso_and_refuses_the_past(client: FlaskClient) -> None:
    ok = client.post("/_mock/clock/set", json={"time": "2027-01-15T09:00:00Z"})
    assert ok.status_code == 200 and ok.json["now"] == T0 + 3600
    back = client.post("/_mock/clock/set", json={"time": T0})
    assert back.status_code == 409 and back.json["error"]["code"] == "clock_backwards"
    bad = client.post("/_mock/clock/set", json={"time": "yesterday"})
    assert bad.status_code == 400


def test_unfreezing_lets_real_time_flow(client: FlaskClient, base_time: Any) -> None:
    client.post("/_mock/clock/set", json={"frozen": False})
    base_time.t += 2
    assert client.get("/_mock/clock").json["now"] == T0 + 2


def test_profile_and_seed_round_trip_and_validate(client: FlaskClient) -> None:
    assert client.put("/_mock/profile", json={"profile": "fast", "tenant": "x"}).status_code == 200
    assert client.get("/_mock/profile?tenant=x").json["profile"] == "fast"
    assert client.get("/_mock/profile").json["profile"] == "manual"
    bad = client.put("/_mock/profile", json={"profile": "turbo"})
    assert (
        bad.status_code == 400
        and "instant, fast, realistic, manual" in bad.json["error"]["message"]
    )
    assert client.put("/_mock/seed", json={"seed": 11}).json["seed"] == 11
    assert client.put("/_mock/seed", json={"seed": "abc"}).status_code == 400


def test_bad_bodies_get_a_clear_400(client: FlaskClient) -> None:
    response = client.post("/_mock/jobs", data="{not json", content_type="application/json")
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_body"
    response = client.post("/_mock/jobs", json={"items": "many"})
    assert response.status_code == 400
    response = client.post("/_mock/jobs", json={"overrides": {"stuck": "sideways"}})
    assert (
        response.status_code == 400 and "none, queued, running" in response.json["error"]["message"]
    )
    assert client.post("/_mock/clock/advance", json={"seconds": -1}).status_code == 400
    assert client.post("/_mock/jobs/nope/step", json={"to": "sideways"}).status_code == 400


def test_unknown_job_and_route_are_json_404s(client: FlaskClient) -> None:
    response = client.get("/_mock/jobs/does-not-exist")
    assert response.status_code == 404 and response.json["error"]["code"] == "job_not_found"
    response = client.get("/v9/nothing")
    assert response.status_code == 404 and response.is_json


def test_jobs_list_filters_by_tenant_provider_and_status(client: FlaskClient) -> None:
    create(client, tenant="a")
    done = create(client, tenant="a", profile="instant")
    create(client, tenant="b")
    jobs = client.get("/_mock/jobs?tenant=a").json["jobs"]
    assert [j["id"] for j in jobs][0] == done["id"] and len(jobs) == 2
    completed = client.get("/_mock/jobs?status=completed").json["jobs"]
    assert [j["id"] for j in completed] == [done["id"]]
    assert client.get("/_mock/jobs?provider=hume").json["jobs"] == []
    assert len(client.get("/_mock/jobs?limit=1").json["jobs"]) == 1
    tenants = {t["tenant"]: t["jobs"] for t in client.get("/_mock/tenants").json["tenants"]}
    assert tenants == {"a": 2, "b": 1}


def test_reset_one_tenant_or_all(client: FlaskClient) -> None:
    a, b = create(client, tenant="a"), create(client, tenant="b")
    client.post("/_mock/reset", json={"tenant": "a"})
    assert client.get(f"/_mock/jobs/{a['id']}").status_code == 404
    assert client.get(f"/_mock/jobs/{b['id']}").status_code == 200
    client.post("/_mock/reset")
    assert client.get(f"/_mock/jobs/{b['id']}").status_code == 404


def test_webhook_log_and_redelivery(
    client: FlaskClient, runtime: Runtime, webhook_client: RecordingClient
) -> None:
    webhook_client.statuses = [503]
    job = create(client, callback_url="http://127.0.0.1:8999/hook", profile="instant")
    runtime.scheduler.run_due()
    (delivery,) = client.get(f"/_mock/webhooks?job_id={job['id']}").json["deliveries"]
    assert delivery["status"] == "pending" and delivery["attempts"][0]["status_code"] == 503
    redone = client.post(f"/_mock/webhooks/{delivery['id']}/redeliver").json
    assert redone["status"] == "pending"
    runtime.scheduler.run_due()
    detail = client.get(f"/_mock/webhooks/{delivery['id']}").json
    assert detail["status"] == "delivered" and detail["attempt_count"] == 2
    assert '"job_id"' in detail["body"]
    assert client.get(f"/_mock/jobs/{job['id']}").json["deliveries"][0]["id"] == delivery["id"]
    assert client.post("/_mock/webhooks/nope/redeliver").status_code == 404
    signing = client.get("/_mock/webhooks/signing").json["schemes"]["standard"]
    assert signing["secret"].startswith("whsec_")


def test_journal_records_client_calls_not_control_calls(client: FlaskClient) -> None:
    client.get("/v1/unknown?x=1")
    client.get("/_mock/health")
    entries = client.get("/_mock/journal").json["entries"]
    assert [(e["method"], e["path"], e["status"], e["query"]) for e in entries] == [
        ("GET", "/v1/unknown", 404, "x=1")
    ]


def test_journal_is_capped(base_time: Any) -> None:
    from mockserver.app import create_app

    app = create_app(Settings().replace(journal_size=3), base_clock=base_time)
    client = app.test_client()
    for n in range(5):
        client.get(f"/x/{n}")
    data = client.get("/_mock/journal").json
    assert [e["path"] for e in data["entries"]] == ["/x/4", "/x/3", "/x/2"]
    assert data["dropped"] == 2


class TestAdminToken:
    @pytest.fixture
    def settings(self) -> Settings:
        return Settings().replace(admin_token="s3cret")

    def test_control_api_needs_the_token_but_health_does_not(self, client: FlaskClient) -> None:
        assert client.get("/_mock/health").status_code == 200
        denied = client.get("/_mock/jobs")
        assert denied.status_code == 401 and "admin token" in denied.json["error"]["message"]
        assert (
            client.get("/_mock/jobs", headers={"Authorization": "Bearer wrong"}).status_code == 401
        )
        assert (
            client.get("/_mock/jobs", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        )
        assert (
            client.get("/_mock/jobs", headers={"X-Mock-Admin-Token": "s3cret"}).status_code == 200
        )


@pytest.mark.parametrize("value", ["NaN", "Infinity", "inf", "nan"])
def test_non_finite_times_are_refused(client: FlaskClient, value: str) -> None:
    body = '{"seconds": %s}' % (value if value[0].isupper() else f'"{value}"')
    response = client.post("/_mock/clock/advance", data=body, content_type="application/json")
    assert response.status_code == 400
    body = '{"time": %s}' % (value if value[0].isupper() else f'"{value}"')
    response = client.post("/_mock/clock/set", data=body, content_type="application/json")
    assert response.status_code == 400
    assert client.get("/_mock/clock").json["now"] == T0


def test_explicit_null_means_default(client: FlaskClient) -> None:
    job = create(client, tenant=None)
    assert job["tenant"] == "default"
    assert client.get("/_mock/tenants").status_code == 200


def test_journal_limit_zero_and_unknown_delivery_status(client: FlaskClient) -> None:
    client.get("/nowhere")
    assert client.get("/_mock/journal?limit=0").json["entries"] == []
    assert client.get("/_mock/webhooks?status=lost").status_code == 400


def test_jobs_across_tenants_are_newest_first(client: FlaskClient) -> None:
    older = create(client, tenant="zeta")
    client.post("/_mock/clock/advance", json={"seconds": 1})
    newer = create(client, tenant="alpha")
    ids = [j["id"] for j in client.get("/_mock/jobs").json["jobs"]]
    assert ids == [newer["id"], older["id"]]


@pytest.mark.parametrize(
    "overrides",
    [
        {"queue_wait": {"kind": "uniform", "a": None}},
        {"error_messages": 5},
        {"run_time": [1, None]},
        {"failure_at": None},
        {"queue_wait": True},
    ],
)
def test_malformed_overrides_are_400_not_500(
    client: FlaskClient, overrides: dict[str, Any]
) -> None:
    response = client.post("/_mock/jobs", json={"overrides": overrides})
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == "invalid_field"


field_names = st.sampled_from(
    [
        "tenant",
        "items",
        "profile",
        "overrides",
        "callback_url",
        "open",
        "seconds",
        "time",
        "frozen",
        "seed",
        "to",
        "queue_wait",
        "run_time",
        "stuck",
        "failure_at",
        "item_error_rate",
        "error_messages",
        "job_failure_rate",
        "kind",
        "a",
        "b",
        "median",
    ]
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(field_names | st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
bodies = (
    st.dictionaries(
        field_names, json_values | st.dictionaries(field_names, json_values, max_size=3), max_size=4
    )
    | json_values
)


@hsettings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    route=st.sampled_from(
        [
            ("POST", "/_mock/jobs"),
            ("POST", "/_mock/clock/advance"),
            ("POST", "/_mock/clock/set"),
            ("PUT", "/_mock/profile"),
            ("PUT", "/_mock/seed"),
            ("POST", "/_mock/reset"),
            ("POST", "/_mock/jobs/{id}/step"),
        ]
    ),
    body=bodies,
)
def test_no_body_makes_the_control_api_fail_with_a_5xx(
    client: FlaskClient, route: tuple[str, str], body: Any
) -> None:
    job = client.post("/_mock/jobs", json={"tenant": "fuzz"}).json
    method, path = route
    response = client.open(path.format(id=job["id"]), method=method, json=body)
    assert response.status_code < 500, (route, body, response.json)
    assert response.is_json
    assert client.get("/_mock/tenants").status_code == 200
    assert client.get("/_mock/clock").status_code == 200


def test_status_filters_name_the_valid_statuses(client: FlaskClient) -> None:
    jobs = client.get("/_mock/jobs?status=done").json["error"]["message"]
    assert "valid: queued, running, completed, failed, cancelled" in jobs
    hooks = client.get("/_mock/webhooks?status=lost").json["error"]["message"]
    assert "valid: pending, delivered, failed, blocked, gone" in hooks
