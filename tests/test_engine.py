"""The Engine and Scheduler together: ids, tenants, profiles, side effects on virtual time."""

from __future__ import annotations

import json
import threading
import time

import pytest

from mockserver.engine.signing import verify_standard_signature
from mockserver.runtime import Runtime
from mockserver.settings import Settings
from tests.conftest import T0, FakeTime, RecordingClient


def build(**changes: object) -> tuple[Runtime, FakeTime, RecordingClient]:
    base, client = FakeTime(), RecordingClient()
    runtime = Runtime.build(Settings().replace(**changes), base_clock=base, http_client=client)
    from mockserver.control.synthetic import SyntheticProvider

    runtime.engine.register(SyntheticProvider(runtime.engine))
    return runtime, base, client


def submit(runtime: Runtime, tenant: str = "key-a", n: int = 2, **kw: object) -> str:
    job = runtime.engine.submit(tenant, "mock", inputs=[{"n": i} for i in range(n)], **kw)  # type: ignore[arg-type]
    return job.id


def test_same_seed_same_ids_and_timelines_after_reset() -> None:
    runtime, _, _ = build(profile="realistic", seed=42)
    first = [submit(runtime) for _ in range(3)]
    plans = [runtime.engine.get(j).plan.items for j in first]  # type: ignore[union-attr]
    runtime.reset()
    again = [submit(runtime) for _ in range(3)]
    assert again == first
    assert [runtime.engine.get(j).plan.items for j in again] == plans  # type: ignore[union-attr]
    runtime.engine.set_seed(43)
    assert submit(runtime) != first[0]


def test_ids_differ_between_tenants_and_never_repeat() -> None:
    runtime, _, _ = build()
    ids = {submit(runtime, tenant) for tenant in ("a", "b") for _ in range(50)}
    assert len(ids) == 100


def test_a_tenant_never_sees_another_tenants_jobs() -> None:
    runtime, _, _ = build()
    job_id = submit(runtime, "a")
    assert runtime.engine.get(job_id, "b") is None
    assert runtime.engine.get(job_id, "a") is not None
    assert [j.id for j in runtime.engine.list_jobs("b")] == []


def test_profiles_and_seeds_per_tenant() -> None:
    runtime, _, _ = build()
    runtime.engine.set_profile("manual", "slow-tenant")
    runtime.engine.set_seed(9, "slow-tenant")
    assert runtime.engine.profile_for("slow-tenant") == "manual"
    assert runtime.engine.profile_for("other") == "instant"
    assert runtime.engine.seed_for("slow-tenant") == 9 and runtime.engine.seed_for("x") == 0
    slow = runtime.engine.get(submit(runtime, "slow-tenant"))
    fast = runtime.engine.get(submit(runtime, "other"))
    assert slow is not None and fast is not None
    assert runtime.engine.view(slow).status == "queued"
    assert runtime.engine.view(fast).status == "completed"
    with pytest.raises(ValueError, match="valid: instant"):
        runtime.engine.set_profile("warp")


def test_manual_profile_freezes_time_until_advanced() -> None:
    runtime, base, _ = build(profile="manual")
    job = runtime.engine.get(submit(runtime))
    assert job is not None
    base.t += 3600  # an hour of real time passes
    assert runtime.engine.view(job).status == "queued"
    runtime.engine.clocks.for_tenant("key-a").advance(1)
    assert runtime.engine.view(job).status == "running"
    runtime.engine.clocks.server.advance(1)
    assert runtime.engine.view(job).status == "completed"


def test_scheduler_computes_results_and_sends_one_signed_webhook() -> None:
    runtime, _, client = build(profile="manual")
    job_id = submit(runtime, attrs={"callback_url": "http://127.0.0.1:9/hook"})
    runtime.scheduler.run_due()
    assert client.calls == [] and runtime.store.get_results(job_id) == {}
    runtime.engine.clocks.server.advance(2)
    runtime.scheduler.run_due()
    runtime.scheduler.run_due()
    assert len(client.calls) == 1
    call = client.calls[0]
    body = json.loads(call["body"])
    assert body["job_id"] == job_id and body["status"] == "completed"
    assert [r["index"] for r in body["results"]] == [0, 1]
    assert verify_standard_signature(Settings().webhook_secret, call["headers"], call["body"])
    assert sorted(runtime.store.get_results(job_id)) == [0, 1]
    job = runtime.engine.get(job_id)
    assert job is not None and job.notified and job.settled


def test_jobs_without_callback_settle_without_deliveries() -> None:
    runtime, _, client = build()
    job_id = submit(runtime)
    runtime.scheduler.run_due()
    job = runtime.engine.get(job_id)
    assert job is not None and job.settled and job.notified
    assert client.calls == [] and runtime.store.list_deliveries() == []


def test_webhook_retries_follow_the_tenant_clock() -> None:
    runtime, _, client = build(webhook_backoff=10.0)
    client.statuses = [500, 200]
    runtime.engine.set_profile("manual")
    job = runtime.engine.submit(
        "t", "mock", inputs=[1], attrs={"callback_url": "http://localhost:1/h"}
    )
    runtime.engine.step(job, "terminal")
    runtime.scheduler.run_due()
    runtime.scheduler.run_due()
    (delivery,) = runtime.store.list_deliveries(job_id=job.id)
    assert delivery.status == "pending" and len(delivery.attempts) == 1
    runtime.engine.clocks.for_tenant("t").advance(9)
    runtime.scheduler.run_due()
    assert len(client.calls) == 1
    runtime.engine.clocks.for_tenant("t").advance(1)
    runtime.scheduler.run_due()
    (delivery,) = runtime.store.list_deliveries(job_id=job.id)
    assert delivery.status == "delivered" and [a.status_code for a in delivery.attempts] == [
        500,
        200,
    ]


def test_blocked_callback_is_logged_never_sent() -> None:
    runtime, _, client = build()
    job = runtime.engine.submit(
        "t", "mock", inputs=[1], attrs={"callback_url": "http://169.254.169.254/x"}
    )
    runtime.scheduler.run_due()
    (delivery,) = runtime.store.list_deliveries(job_id=job.id)
    assert delivery.status == "blocked" and client.calls == []
    assert "169.254.169.254" in (delivery.attempts[0].error or "")


def test_cancel_and_step_reschedule_side_effects() -> None:
    runtime, _, _ = build(profile="manual")
    job = runtime.engine.get(submit(runtime, n=3))
    assert job is not None
    runtime.scheduler.run_due()
    stepped = runtime.engine.step(job)
    assert runtime.engine.view(stepped).status == "running"
    cancelled = runtime.engine.cancel(stepped)
    runtime.scheduler.run_due()
    view = runtime.engine.view(cancelled)
    assert view.status == "cancelled" and view.counts.cancelled == 3
    stored = runtime.engine.get(job.id)
    assert stored is not None and stored.settled


def test_open_containers_grow_and_results_are_computed_per_item() -> None:
    runtime, _, _ = build()
    job = runtime.engine.submit("t", "mock", open=True)
    assert runtime.engine.view(job).status == "queued"
    job = runtime.engine.add_items(job, [{"a": 1}, {"a": 2}])
    runtime.scheduler.run_due()
    assert runtime.engine.view(job).counts.succeeded == 2
    assert runtime.store.get_results(job.id)[1]["input"] == {"a": 2}


def test_results_are_computed_on_read_when_the_scheduler_has_not_run() -> None:
    runtime, _, _ = build()
    job = runtime.engine.get(submit(runtime))
    assert job is not None
    assert set(runtime.engine.results(job)) == {0, 1}


def test_background_threads_deliver_on_real_time() -> None:
    before = set(threading.enumerate())  # other tests' servers may still be winding down
    base, client = None, RecordingClient()
    runtime = Runtime.build(Settings().replace(profile="fast"), http_client=client)
    from mockserver.control.synthetic import SyntheticProvider

    runtime.engine.register(SyntheticProvider(runtime.engine))
    runtime.start()
    try:
        runtime.engine.submit(
            "t", "mock", inputs=[1, 2], attrs={"callback_url": "http://127.0.0.1:5/x"}
        )
        deadline = time.monotonic() + 5
        while not client.calls and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(client.calls) == 1
    finally:
        runtime.close()
    left = [t.name for t in set(threading.enumerate()) - before if t.name.startswith("mockserver-")]
    assert base is None and not left, left


def test_reset_restores_the_configured_profile_and_seed() -> None:
    runtime, _, _ = build(profile="fast", seed=5)
    runtime.engine.set_profile("manual")
    runtime.engine.set_seed(1)
    runtime.reset()
    assert runtime.engine.profile_for() == "fast" and runtime.engine.seed_for() == 5
    assert not runtime.engine.clocks.server.frozen


def test_virtual_clock_mode_keeps_every_clock_frozen() -> None:
    runtime, base, _ = build(clock="virtual")
    runtime.engine.set_profile("fast")
    base.t += 10
    assert runtime.engine.now("t") == T0
