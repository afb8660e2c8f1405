"""Reliability: the harness's three runs at a small scale, and the bugs they found, pinned.

``benchmarks/reliability.py`` runs real servers under concurrent clients (load), kills one
mid-load and restarts it on its SQLite store (crash), and takes the webhook receiver down for a
while (outage). Here each runs briefly (8 clients; a few seconds) and its invariants are
asserted: no unexpected error, no lost job, no illegal transition, every webhook delivered
once (duplicates only where at-least-once allows), a bounded journal. The engine-level tests
below pin each bug the harness found, without a server, so they fail fast if one comes back.
"""

from __future__ import annotations

import importlib.util
import math
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from mockserver.engine import journal as journal_module
from mockserver.engine.clock import ClockRegistry, VirtualClock
from mockserver.engine.conformance import ConformanceLog, Observation
from mockserver.engine.core import Engine
from mockserver.engine.journal import Journal
from mockserver.engine.lifecycle import JobState
from mockserver.engine.records import Delivery, Job
from mockserver.engine.scheduler import Scheduler
from mockserver.engine.store import MemoryStore
from mockserver.engine.webhooks import (
    DEFAULT_ALLOW,
    HostAllowList,
    HttpResponse,
    Outbox,
    RetryPolicy,
    StandardWebhooksSigner,
)
from tests.conftest import T0, FakeTime

ROOT = Path(__file__).resolve().parents[1]


def _harness() -> ModuleType:
    """``benchmarks/reliability.py`` as a module (benchmarks is not a package)."""
    name = "mockserver_reliability_harness"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks/reliability.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while building
        spec.loader.exec_module(module)
    return sys.modules[name]


rel = _harness()


def assert_clean(report: Any) -> None:
    """Every invariant held."""
    assert report.illegal == [], report.illegal
    assert report.broken == [], report.broken


# --- the harness at a small scale (real servers) ---------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    """One server (profile fast, model loaded) for the load and outage runs."""
    running, _, _ = rel.boot(rel.Options())
    yield running
    running.close()


@pytest.fixture(scope="module")
def load_report(server: Any) -> Any:
    options = rel.Options(clients=8, duration=3, seed=101, drain_timeout=20, webhook_timeout=20)
    return rel.run_load(options, server)


@pytest.mark.slow
def test_load_keeps_every_invariant(load_report: Any) -> None:
    figures = load_report.figures
    assert_clean(load_report)
    assert figures["errors"] == 0 and figures["jobs_lost"] == 0
    assert figures["requests"] > 200 and figures["jobs_created"] > 30
    assert set(figures["jobs_by_vendor"]) == {"hume", "xai", "eden", "bulk", "mock"}
    assert figures["jobs_terminal"] == figures["jobs_results_read"] > 0
    assert figures["webhooks_expected"] > 0
    assert figures["webhooks_received"] == figures["webhooks_expected"]
    assert figures["webhooks_bad_signature"] == 0
    assert figures["webhooks_log_by_status"] == {"delivered": figures["webhooks_expected"]}
    assert 0 < figures["journal_entries"] <= figures["journal_capacity"]
    assert figures["rss_peak_mb"] >= figures["rss_start_mb"] > 0


@pytest.mark.slow
def test_outage_every_webhook_arrives_once(server: Any) -> None:
    options = rel.Options(
        clients=8, duration=4, outage=2, outage_at=1, seed=202, drain_timeout=20,
        webhook_timeout=20,
    )  # fmt: skip
    report = rel.run_outage(options, server)
    figures = report.figures
    assert_clean(report)
    assert figures["deliveries_retried"] > 0  # the outage was felt
    assert figures["deliveries_failed_permanently"] == 0
    assert figures["webhooks_received"] == figures["webhooks_expected"] > 0
    assert figures["webhooks_duplicates"] == figures["webhooks_duplicates_allowed"]
    assert figures["recovery_to_last_delivery_s"] < 5  # the backoff's next step after 2 s


@pytest.mark.slow
def test_crash_loses_no_acknowledged_job_or_pending_webhook() -> None:
    options = rel.Options(
        clients=8, duration=3, kill_after=2.5, backlog=2.5, seed=303, drain_timeout=20,
        webhook_timeout=20, streams=False,
    )  # fmt: skip
    report = rel.run_crash(options)
    figures = report.figures
    assert_clean(report)
    assert figures["jobs_acknowledged"] == figures["jobs_survived"] > 0
    assert figures["webhooks_pending_at_kill"] > 0  # the kill found work in the outbox
    assert figures["webhooks_pending_lost"] == 0
    assert (
        figures["webhooks_pending_delivered_after_restart"] == figures["webhooks_pending_at_kill"]
    )
    assert figures["jobs_terminal"] == figures["jobs_results_read"]


# --- the harness's own judgement ----------------------------------------------------------------


def test_transition_rules() -> None:
    hume = [{"status": s, "started_timestamp_ms": t} for s, t in
            [("QUEUED", None), ("IN_PROGRESS", 5), ("COMPLETED", 5)]]  # fmt: skip
    assert rel.transition_error("hume", hume[0], hume[1]) is None
    assert rel.transition_error("hume", hume[1], hume[2]) is None
    assert "COMPLETED -> IN_PROGRESS" in rel.transition_error("hume", hume[2], hume[1])
    moved = {"status": "COMPLETED", "started_timestamp_ms": 6}
    assert "started_timestamp_ms moved" in rel.transition_error("hume", hume[2], moved)
    failed = {"status": "FAILED", "started_timestamp_ms": 5}
    assert "terminal COMPLETED -> FAILED" in rel.transition_error("hume", hume[2], failed)
    xai = {"num_requests": 2, "num_pending": 1, "num_success": 1, "num_error": 0,
           "num_cancelled": 0, "cancel_time": None}  # fmt: skip
    assert rel.transition_error("xai", xai, {**xai, "num_pending": 0, "num_success": 2}) is None
    assert "num_success went back" in rel.transition_error("xai", xai, {**xai, "num_success": 0})
    assert "num_pending rose" in rel.transition_error("xai", xai, {**xai, "num_pending": 2})
    added = {**xai, "num_requests": 3, "num_pending": 2}  # an add may raise pending
    assert rel.transition_error("xai", xai, added) is None


def test_unseen_answers_are_the_only_excuse_for_a_duplicate() -> None:
    assert rel.unseen_answer({"status_code": None, "error": "timeout: no response in time"})
    assert not rel.unseen_answer({"status_code": None, "error": "connection refused"})
    assert not rel.unseen_answer({"status_code": 503, "error": "HTTP 503"})


def test_the_receiver_never_answers_2xx_to_a_webhook_it_does_not_count() -> None:
    """A delivery already in flight when a "refuse" outage closed the port once got a 200: the
    server logged it delivered and stopped, while the run said it never arrived (seen once,
    under a loaded CI-sized machine). Every mode answers 2xx exactly when it counts the hit."""
    receiver = rel.WebhookReceiver("secret")
    body = b'{"job_id": "j1"}'
    for mode, status in (("refuse", 503), ("503", 503), ("up", 200)):
        receiver.mode = mode
        assert receiver.receive("/hook/hume/0", {}, body) == status, mode
    assert [hit.accepted for hit in receiver.hits] == [False, False, True]
    assert list(receiver.accepted()) == ["j1"]
    receiver.mode = "up"
    assert receiver.receive("/hook/mock/0", {}, body) == 400  # a signature that fails
    assert receiver.bad == ["mock j1"]


# --- bugs the harness found, pinned at the engine level -----------------------------------------


class _Hooks:
    """A provider whose result computation can run a callback (a concurrent client's call)."""

    name = "test"
    lazy_results = False

    def __init__(self) -> None:
        self.during_compute: Any = None

    def compute_result(self, job: Job, index: int) -> Any:
        if self.during_compute is not None:
            self.during_compute(job)
        return {"index": index}

    def notifications(self, job: Job, view: JobState) -> list[Any]:
        return []


def _engine(store: MemoryStore | None = None) -> tuple[Engine, _Hooks]:
    engine = Engine(store or MemoryStore(), ClockRegistry(FakeTime()), profile="instant")
    hooks = _Hooks()
    engine.register(hooks)
    return engine, hooks


def test_a_deleted_job_is_not_resurrected_by_a_late_update() -> None:
    """Found by the load run: an Eden GET (which refreshes the job's listed state) racing a
    DELETE wrote its stale copy back, and the deleted job was found and listed again."""
    engine, _ = _engine()
    job = engine.submit("t", "test", inputs=[1])
    engine.delete(job)
    returned = engine.set_attrs(job, refreshed={"state": "finished"})
    assert engine.get(job.id) is None
    assert returned is job
    assert engine.list_jobs("t") == []


def test_results_of_a_job_deleted_while_computing_are_not_stored() -> None:
    """The same race on the result path: a deleted job's results stayed in the store forever."""
    store = MemoryStore()
    engine, hooks = _engine(store)
    job = engine.submit("t", "test", inputs=[1, 2])
    hooks.during_compute = engine.delete
    computed = engine.results(job)
    assert computed == {0: {"index": 0}, 1: {"index": 1}}  # the caller still gets them
    assert store.get_results(job.id) == {}
    assert engine.settle(job.id) is None and store.get_results(job.id) == {}


def test_conformance_log_keeps_a_bounded_number_of_tenants() -> None:
    log = ConformanceLog(max_tenants=3)

    def seen(tenant: str) -> None:
        log.observe(Observation(tenant, "hume", "list_jobs", "GET", "/v0/batch/jobs", 200, T0))

    for tenant in ("a", "b", "c", "a", "d", "e"):
        seen(tenant)
    assert log.tenants() == ["a", "d", "e"]  # least recently seen go first
    assert log.evicted == 2 and log.report("b")["requests"] == 0
    assert log.report("a")["requests"] == 2


def test_journal_entries_are_bounded_in_size_too() -> None:
    journal = Journal(capacity=2)
    huge = {
        "path": "/v0/batch/jobs/" + "x" * 100_000,
        "query": "q=" + "y" * 100_000,
        "violations": [{"pointer": f"/items/{n}"} for n in range(10_000)],
    }
    stored = journal.record(huge)
    assert len(stored["path"]) == len(stored["query"]) == journal_module.MAX_TEXT
    assert len(stored["violations"]) == journal_module.MAX_VIOLATIONS
    assert stored["violations_dropped"] == 10_000 - journal_module.MAX_VIOLATIONS
    small = journal.record({"path": "/v1/batches", "violations": []})
    assert small == {"id": 2, "path": "/v1/batches", "violations": []}
    journal.record({"path": "/x"})
    assert len(journal) == 2 and journal.dropped == 1


def _delivery(n: int, status: str, tenant: str = "t") -> Delivery:
    return Delivery(
        id=f"d{n}", tenant=tenant, job_id=f"j{n}", event="job.completed",
        url="http://127.0.0.1:9/hook", body="{}", created_at=T0 + n,
        status=status,  # type: ignore[arg-type]
        next_attempt_at=T0 + n if status == "pending" else None,
    )  # fmt: skip


def test_memory_store_caps_finished_deliveries_and_keeps_every_pending_one() -> None:
    store = MemoryStore(delivery_history=5)
    for n in range(20):
        store.put_delivery(_delivery(n, "pending" if n % 4 == 0 else "delivered"))
    pending = [d.id for d in store.pending_deliveries()]
    assert pending == ["d0", "d4", "d8", "d12", "d16"]
    finished = [d.id for d in store.list_deliveries(status="delivered")]
    assert finished == ["d19", "d18", "d17", "d15", "d14"]
    assert store.deliveries_evicted == 10
    assert store.get_delivery("d1") is None and store.list_deliveries(job_id="j1") == []
    assert len(store.list_deliveries(tenant="t")) == 10  # indexes agree with the log
    store.put_delivery(_delivery(0, "delivered"))  # a pending one finishes: the oldest goes
    assert store.pending_deliveries()[0].id == "d4"
    assert store.get_delivery("d14") is None and store.get_delivery("d0") is not None


def test_scheduler_keeps_no_empty_heap_per_tenant() -> None:
    engine, _ = _engine()
    scheduler = Scheduler(engine)
    for n in range(50):
        engine.submit(f"tenant-{n}", "test", inputs=[1])
    assert scheduler.pending() == 50
    scheduler.run_jobs()
    assert scheduler.pending() == 0 and scheduler._heaps == {}


class _HangingClient:
    """An HttpClient whose posts to ``/stuck`` hang until released; the others answer 200."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.delivered: dict[str, float] = {}
        self.lock = threading.Lock()

    def post(self, url: str, body: bytes, headers: Any, timeout: float) -> HttpResponse:
        if "/stuck" in url:
            self.release.wait(timeout)
            raise TimeoutError("timed out")
        with self.lock:
            self.delivered[url] = time.monotonic()
        return HttpResponse(200, {}, b"ok")


def _outbox(
    client: Any,
    store: MemoryStore,
    *,
    clock: Any = None,
    policy: RetryPolicy | None = None,
    concurrency: int = 8,
) -> Outbox:
    clock = clock or VirtualClock(FakeTime(), frozen=True)
    counter = iter(range(1, 10_000))
    return Outbox(
        store,
        lambda tenant: clock,
        client,
        signers={"standard": StandardWebhooksSigner()},
        allow=HostAllowList(DEFAULT_ALLOW),
        policy=policy or RetryPolicy(timeout=5.0),
        new_id=lambda tenant: f"wh{next(counter)}",
        concurrency=concurrency,
    )


def test_a_hanging_receiver_holds_up_only_its_own_deliveries() -> None:
    """Found by the outage run (``--outage-mode hang --outage-clients 2``): the outbox sent
    every delivery on one thread, so one receiver that never answered delayed every other
    tenant's webhooks by the full timeout, attempt after attempt (p99 5 s instead of 0.2 s)."""
    client, store = _HangingClient(), MemoryStore()
    outbox = _outbox(client, store)
    engine, _ = _engine(store)
    scheduler = Scheduler(engine, outbox)
    for n, url in enumerate(["/stuck", "/stuck", "/a", "/b", "/c"]):
        outbox.enqueue(outbox.make(tenant=f"t{n}", job_id=f"j{n}", event="job.completed",
                                   url=f"http://127.0.0.1:9{url}", payload={"n": n}))  # fmt: skip
    started = time.monotonic()
    scheduler.start()
    try:
        deadline = started + 3.0
        while len(client.delivered) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sorted(u.rsplit("/", 1)[1] for u in client.delivered) == ["a", "b", "c"]
        assert max(client.delivered.values()) - started < 1.0
        assert outbox.next_due_in() is None  # the stuck URL's deliveries are in hand
        assert [d.url for d in store.pending_deliveries()] == ["http://127.0.0.1:9/stuck"] * 2
    finally:
        client.release.set()
        scheduler.stop()


class _RealTime:
    def now(self) -> float:
        return time.time()


def test_many_hanging_receivers_cannot_take_every_thread() -> None:
    """More receivers hanging than there are threads: once each has failed, they are retried
    on threads of their own, and a receiver that answers is served at once."""
    client, store = _HangingClient(), MemoryStore()
    policy = RetryPolicy(base=0.05, factor=1, timeout=0.3, max_attempts=1000)
    outbox = _outbox(client, store, clock=_RealTime(), policy=policy, concurrency=2)
    engine, _ = _engine(store)
    scheduler = Scheduler(engine, outbox)
    for n in range(4):
        outbox.enqueue(outbox.make(tenant="t", job_id=f"s{n}", event="e",
                                   url=f"http://127.0.0.1:9/stuck{n}"))  # fmt: skip
    scheduler.start()
    try:
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:  # every hanging receiver has failed once
            if all(d.attempts for d in store.list_deliveries()):
                break
            time.sleep(0.02)
        waits = []
        for n in range(3):
            sent = time.monotonic()
            url = f"http://127.0.0.1:9/ok{n}"
            outbox.enqueue(outbox.make(tenant="t", job_id=f"ok{n}", event="e", url=url))
            scheduler.wake()
            while url not in client.delivered and time.monotonic() < sent + 3.0:
                time.sleep(0.005)
            waits.append(client.delivered.get(url, math.inf) - sent)
        assert max(waits) < 0.25, waits  # not behind a 0.3 s timeout
    finally:
        client.release.set()
        scheduler.stop()


def test_background_run_due_returns_at_once() -> None:
    client, store = _HangingClient(), MemoryStore()
    outbox = _outbox(client, store)
    for n in range(3):
        outbox.enqueue(outbox.make(tenant="t", job_id=f"j{n}", event="e",
                                   url="http://127.0.0.1:9/stuck"))  # fmt: skip
    started = time.monotonic()
    try:
        assert outbox.run_due(wait=False) == 3  # handed to a worker
        assert time.monotonic() - started < 0.5
        assert outbox.run_due(wait=False) == 0  # the URL is in hand: nothing handed twice
    finally:
        client.release.set()
        outbox.close()


def test_run_due_waits_for_a_url_another_thread_is_sending_to() -> None:
    """A synchronous ``run_due`` (a clock advance, a test) still returns only once every
    delivery due when it was called has been tried, even if a worker holds its URL."""
    client, store = _HangingClient(), MemoryStore()
    outbox = _outbox(client, store)
    first = outbox.make(tenant="t", job_id="j1", event="e", url="http://127.0.0.1:9/stuck")
    outbox.enqueue(first)
    assert outbox.run_due(wait=False) == 1  # a worker now hangs on /stuck
    second = outbox.make(tenant="t", job_id="j2", event="e", url="http://127.0.0.1:9/stuck")
    outbox.enqueue(second)
    threading.Timer(0.3, client.release.set).start()
    try:
        assert outbox.run_due() == 1  # waited for the worker, then sent the second itself
        attempts = {d.id: len(d.attempts) for d in store.list_deliveries()}
        assert attempts == {first.id: 1, second.id: 1}
    finally:
        client.release.set()
        outbox.close()
