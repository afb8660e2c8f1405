"""Conformance suite for the JobStore implementations, plus SQLite durability.

Every behavioural test runs against both stores through the ``store`` fixture, so the in-memory
default and the SQLite store cannot drift apart. The SQLite-only tests check what the memory
store cannot promise: data survives closing and reopening the file, and a process killed with
SIGKILL right after a write returned has that write on disk.
"""

from __future__ import annotations

import dataclasses
import io
import math
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mockserver.engine.lifecycle import make_plan
from mockserver.engine.records import Attempt, Delivery, DeliveryStatus, Job
from mockserver.engine.store import JobStore, MemoryStore, SqliteStore, open_store

ROOT = Path(__file__).resolve().parents[1]


def make_job(
    job_id: str,
    tenant: str = "t1",
    provider: str = "hume",
    seq: int = 1,
    *,
    settled: bool = False,
    attrs: dict[str, Any] | None = None,
) -> Job:
    plan = make_plan(key=job_id, seed=0, profile="instant", now=1000.0, count=2)
    return Job(
        id=job_id,
        tenant=tenant,
        provider=provider,
        seq=seq,
        created_at=1000.0 + seq,
        plan=plan,
        inputs=({"text": "hello"}, "raw"),
        attrs=attrs or {"callback_url": "http://example.test/hook"},
        settled=settled,
    )


def make_delivery(
    delivery_id: str,
    tenant: str = "t1",
    job_id: str | None = "j1",
    *,
    created_at: float = 1000.0,
    status: DeliveryStatus = "pending",
) -> Delivery:
    return Delivery(
        id=delivery_id,
        tenant=tenant,
        job_id=job_id,
        event="job.completed",
        url="http://example.test/hook",
        body='{"ok":true}',
        created_at=created_at,
        headers={"X-Signature": "abc"},
        status=status,
        next_attempt_at=created_at if status == "pending" else None,
    )


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobStore]:
    opened: JobStore = (
        MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "store.db")
    )
    yield opened
    opened.close()


def ids(records: list[Job] | list[Delivery]) -> list[str]:
    return [r.id for r in records]


# --- counters ----------------------------------------------------------------------------------


def test_next_seq_is_per_tenant_and_name(store: JobStore) -> None:
    assert [store.next_seq("t1", "job") for _ in range(3)] == [1, 2, 3]
    assert store.next_seq("t1", "delivery") == 1
    assert store.next_seq("t2", "job") == 1
    assert store.next_seq("t1", "job") == 4


def test_next_seq_is_atomic_across_threads(store: JobStore) -> None:
    values: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        mine = [store.next_seq("t1", "job") for _ in range(200)]
        with lock:
            values.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(values) == list(range(1, 1601))


def test_concurrent_put_job(store: JobStore) -> None:
    def work(worker: int) -> None:
        for n in range(25):
            store.put_job(make_job(f"w{worker}-{n}", seq=worker * 100 + n))

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.count_jobs("t1") == 200
    assert [j.seq for j in store.list_jobs("t1")] == sorted(
        w * 100 + n for w in range(8) for n in range(25)
    )


# --- jobs --------------------------------------------------------------------------------------


def test_put_and_get_job(store: JobStore) -> None:
    job = make_job("j1")
    store.put_job(job)
    assert store.get_job("j1") == job
    assert store.get_job("j1", tenant="t1") == job
    assert store.get_job("j1", tenant="t2") is None
    assert store.get_job("missing") is None


def test_put_job_replaces(store: JobStore) -> None:
    store.put_job(make_job("j1"))
    newer = dataclasses.replace(make_job("j1"), notified=True, settled=True, attrs={"v": 2})
    store.put_job(newer)
    assert store.get_job("j1") == newer
    assert store.count_jobs() == 1
    assert store.list_jobs() == [newer]
    assert store.unsettled_jobs() == []


def test_replacing_a_job_with_another_seq_moves_it(store: JobStore) -> None:
    for n in (1, 2, 3):
        store.put_job(make_job(f"j{n}", seq=n))
    store.put_job(make_job("j1", seq=9))
    assert ids(store.list_jobs("t1")) == ["j2", "j3", "j1"]
    assert ids(store.list_jobs("t1", after_seq=3)) == ["j1"]


def test_list_jobs_orders_by_tenant_then_seq(store: JobStore) -> None:
    for job_id, tenant, seq in [("b2", "b", 2), ("a3", "a", 3), ("a1", "a", 1), ("b1", "b", 1)]:
        store.put_job(make_job(job_id, tenant=tenant, seq=seq))
    assert ids(store.list_jobs()) == ["a1", "a3", "b1", "b2"]
    assert ids(store.list_jobs(newest_first=True)) == ["b2", "b1", "a3", "a1"]
    assert ids(store.list_jobs("a")) == ["a1", "a3"]
    assert ids(store.list_jobs("a", newest_first=True)) == ["a3", "a1"]
    assert store.list_jobs("nobody") == []


def test_list_jobs_pages_with_after_seq_and_limit(store: JobStore) -> None:
    for seq in range(1, 11):
        store.put_job(make_job(f"j{seq}", seq=seq))
    store.put_job(make_job("other", tenant="t2", seq=5))
    assert ids(store.list_jobs("t1", limit=3)) == ["j1", "j2", "j3"]
    assert ids(store.list_jobs("t1", after_seq=3, limit=3)) == ["j4", "j5", "j6"]
    assert ids(store.list_jobs("t1", after_seq=9)) == ["j10"]
    assert store.list_jobs("t1", after_seq=10) == []
    assert ids(store.list_jobs("t1", newest_first=True, limit=2)) == ["j10", "j9"]
    assert ids(store.list_jobs("t1", after_seq=9, newest_first=True, limit=3)) == [
        "j8",
        "j7",
        "j6",
    ]
    assert ids(store.list_jobs("t1", after_seq=2, newest_first=True)) == ["j1"]
    assert store.list_jobs("t1", after_seq=1, newest_first=True) == []
    assert store.list_jobs("t1", limit=0) == []


def test_list_and_count_jobs_by_provider(store: JobStore) -> None:
    store.put_job(make_job("h1", provider="hume", seq=1))
    store.put_job(make_job("x1", provider="xai", seq=2))
    store.put_job(make_job("h2", provider="hume", seq=3))
    store.put_job(make_job("h3", tenant="t2", provider="hume", seq=1))
    assert ids(store.list_jobs("t1", "hume")) == ["h1", "h2"]
    assert ids(store.list_jobs("t1", "hume", newest_first=True, limit=1)) == ["h2"]
    assert ids(store.list_jobs("t1", "hume", after_seq=1)) == ["h2"]
    assert ids(store.list_jobs(provider="hume")) == ["h1", "h2", "h3"]
    assert store.count_jobs() == 4
    assert store.count_jobs("t1") == 3
    assert store.count_jobs("t1", "hume") == 2
    assert store.count_jobs(provider="hume") == 3
    assert store.count_jobs("t2", "xai") == 0
    assert store.count_jobs("nobody") == 0


def test_unsettled_jobs(store: JobStore) -> None:
    store.put_job(make_job("j1", seq=1))
    store.put_job(make_job("j2", seq=2, settled=True))
    store.put_job(make_job("j3", tenant="t0", seq=1))
    assert ids(store.unsettled_jobs()) == ["j3", "j1"]
    store.put_job(make_job("j1", seq=1, settled=True))
    assert ids(store.unsettled_jobs()) == ["j3"]


def test_round_trips_infinite_plans_and_non_ascii(store: JobStore) -> None:
    job = make_job("j1", attrs={"name": "Zoë — 日本語 ✓", "nested": {"emoji": "🎧", "n": [1, 2.5]}})
    stuck = [dataclasses.replace(item, start=math.inf) for item in job.plan.items]
    stuck[1] = dataclasses.replace(stuck[1], start=1000.0, run=math.inf)
    job = dataclasses.replace(job, plan=dataclasses.replace(job.plan, items=tuple(stuck)))
    store.put_job(job)
    loaded = store.get_job("j1")
    assert loaded == job
    assert loaded is not None and math.isinf(loaded.plan.items[0].start)
    assert math.isinf(loaded.plan.items[1].run)


def test_delete_job_removes_results_and_blobs_but_keeps_deliveries(store: JobStore) -> None:
    store.put_job(make_job("j1"), [make_delivery("d1", job_id="j1")])
    store.put_job(make_job("j10", seq=2))
    store.put_result("j1", 0, {"ok": True})
    store.put_result("j10", 0, {"ok": True})
    for key in ("j1/input.wav", "j1/sub/out.json", "j10/input.wav", "j1x", "j1.wav"):
        store.put_blob(key, key.encode())
    store.delete_job("j1")
    assert store.get_job("j1") is None
    assert store.get_results("j1") == {}
    assert store.get_blob("j1/input.wav") is None
    assert store.get_blob("j1/sub/out.json") is None
    assert [store.get_blob(k) for k in ("j10/input.wav", "j1x", "j1.wav")] == [
        b"j10/input.wav",
        b"j1x",
        b"j1.wav",
    ]
    assert store.get_results("j10") == {0: {"ok": True}}
    assert store.get_delivery("d1") is not None
    assert ids(store.list_jobs()) == ["j10"]
    assert store.count_jobs("t1") == 1
    store.delete_job("j1")  # deleting twice is harmless


def test_tenants(store: JobStore) -> None:
    assert store.tenants() == []
    store.put_job(make_job("j1", tenant="zeta"))
    store.put_job(make_job("j2", tenant="alpha"))
    store.put_job(make_job("j3", tenant="alpha", seq=2))
    store.put_delivery(make_delivery("d1", tenant="mid", job_id=None))
    assert store.tenants() == ["alpha", "mid", "zeta"]
    store.delete_job("j1")
    assert store.tenants() == ["alpha", "mid"]


# --- results and blobs -------------------------------------------------------------------------


def test_put_result_first_write_wins(store: JobStore) -> None:
    assert store.put_result("j1", 1, {"text": "first", "scores": [0.5, 1]}) is True
    assert store.put_result("j1", 1, {"text": "second"}) is False
    assert store.put_result("j1", 0, ["a", "ü"]) is True
    assert store.put_result("j2", 1, "other job") is True
    assert store.get_result("j1", 1) == {"text": "first", "scores": [0.5, 1]}
    assert store.get_result("j1", 5) is None
    assert store.get_result("nope", 0) is None
    results = store.get_results("j1")
    assert results == {0: ["a", "ü"], 1: {"text": "first", "scores": [0.5, 1]}}
    assert list(results) == [0, 1]
    assert store.get_results("nope") == {}


def test_blobs(store: JobStore) -> None:
    payload = bytes(range(256))
    store.put_blob("j1/audio.wav", payload)
    assert store.get_blob("j1/audio.wav") == payload
    store.put_blob("j1/audio.wav", b"replaced")
    assert store.get_blob("j1/audio.wav") == b"replaced"
    store.put_blob("empty", b"")
    assert store.get_blob("empty") == b""
    assert store.get_blob("missing") is None


# --- deliveries --------------------------------------------------------------------------------


def test_put_get_and_replace_delivery(store: JobStore) -> None:
    delivery = make_delivery("d1")
    store.put_delivery(delivery)
    assert store.get_delivery("d1") == delivery
    attempt = Attempt(at=1001.0, status_code=200, latency_ms=12.5, headers={"a": "b"})
    done = dataclasses.replace(delivery, status="delivered", attempts=(attempt,))
    store.put_delivery(done)
    assert store.get_delivery("d1") == done
    assert store.get_delivery("missing") is None
    assert store.pending_deliveries() == []
    assert store.list_deliveries() == [done]


def test_put_job_with_deliveries(store: JobStore) -> None:
    first = [make_delivery("d1"), make_delivery("d2", created_at=1001.0)]
    store.put_job(make_job("j1"), first)
    assert ids(store.list_deliveries(job_id="j1")) == ["d2", "d1"]
    store.put_job(make_job("j1"), [dataclasses.replace(first[0], status="delivered")])
    assert ids(store.pending_deliveries()) == ["d2"]
    assert len(store.list_deliveries()) == 2


def test_list_deliveries_filters_and_order(store: JobStore) -> None:
    store.put_delivery(make_delivery("d1", created_at=1.0))
    store.put_delivery(make_delivery("d3", created_at=2.0, status="failed"))
    store.put_delivery(make_delivery("d2", created_at=2.0))
    store.put_delivery(make_delivery("d4", job_id="j2", created_at=3.0, status="delivered"))
    store.put_delivery(make_delivery("e1", tenant="t2", created_at=5.0))
    store.put_delivery(make_delivery("e2", tenant="t2", job_id=None, created_at=0.5))
    assert ids(store.list_deliveries()) == ["e1", "d4", "d3", "d2", "d1", "e2"]
    assert ids(store.list_deliveries("t1")) == ["d4", "d3", "d2", "d1"]
    assert ids(store.list_deliveries(job_id="j1")) == ["e1", "d3", "d2", "d1"]
    assert ids(store.list_deliveries("t1", job_id="j1")) == ["d3", "d2", "d1"]
    assert ids(store.list_deliveries(status="pending")) == ["e1", "d2", "d1", "e2"]
    assert ids(store.list_deliveries("t1", status="pending", limit=1)) == ["d2"]
    assert ids(store.list_deliveries("t2", "j1", "pending")) == ["e1"]
    assert ids(store.list_deliveries(limit=2)) == ["e1", "d4"]
    assert store.list_deliveries("nobody") == []
    assert store.list_deliveries(job_id="nothing") == []


def test_pending_deliveries_oldest_first(store: JobStore) -> None:
    store.put_delivery(make_delivery("b", created_at=2.0))
    store.put_delivery(make_delivery("a", created_at=2.0))
    store.put_delivery(make_delivery("c", tenant="t2", created_at=1.0))
    store.put_delivery(make_delivery("z", created_at=0.0, status="gone"))
    assert ids(store.pending_deliveries()) == ["c", "a", "b"]
    store.put_delivery(make_delivery("c", tenant="t2", created_at=1.0, status="delivered"))
    assert ids(store.pending_deliveries()) == ["a", "b"]


# --- reset -------------------------------------------------------------------------------------


def populate(store: JobStore, tenant: str) -> None:
    job_id = f"{tenant}-job"
    store.next_seq(tenant, "job")
    store.next_seq(tenant, "job")
    store.put_job(make_job(job_id, tenant=tenant), [make_delivery(f"{tenant}-d", tenant, job_id)])
    store.put_result(job_id, 0, {"tenant": tenant})
    store.put_blob(f"{job_id}/input", tenant.encode())


def test_reset_one_tenant_leaves_the_other(store: JobStore) -> None:
    populate(store, "t1")
    populate(store, "t2")
    store.reset("t1")
    assert store.get_job("t1-job") is None
    assert store.get_results("t1-job") == {}
    assert store.get_blob("t1-job/input") is None
    assert store.get_delivery("t1-d") is None
    assert store.next_seq("t1", "job") == 1
    assert store.tenants() == ["t2"]
    assert store.get_job("t2-job") is not None
    assert store.get_results("t2-job") == {0: {"tenant": "t2"}}
    assert store.get_blob("t2-job/input") == b"t2"
    assert ids(store.list_deliveries("t2")) == ["t2-d"]
    assert store.next_seq("t2", "job") == 3
    assert store.count_jobs() == 1


def test_reset_everything(store: JobStore) -> None:
    populate(store, "t1")
    populate(store, "t2")
    store.reset()
    assert store.tenants() == []
    assert store.list_jobs() == []
    assert store.count_jobs() == 0
    assert store.unsettled_jobs() == []
    assert store.list_deliveries() == []
    assert store.pending_deliveries() == []
    assert store.get_results("t2-job") == {}
    assert store.get_blob("t2-job/input") is None
    assert store.next_seq("t2", "job") == 1
    populate(store, "t1")  # still usable afterwards
    assert store.count_jobs() == 1


# --- store-specific ----------------------------------------------------------------------------


def test_streamed_blobs(store: JobStore) -> None:
    payload = os.urandom(3 * (1 << 20) + 17)  # several copy chunks
    assert store.put_blob_stream("j1/upload/0", io.BytesIO(payload)) == len(payload)
    handle = store.open_blob("j1/upload/0")
    assert handle is not None
    with handle:
        assert handle.read() == payload
    assert store.get_blob("j1/upload/0") == payload
    small = store.open_blob("missing")
    assert small is None
    store.put_blob("j2/x", b"bytes")
    handle = store.open_blob("j2/x")
    assert handle is not None and handle.read() == b"bytes"
    # a streamed blob replaces a small one of the same key and the other way round
    store.put_blob_stream("j2/x", io.BytesIO(b"streamed"))
    assert store.get_blob("j2/x") == b"streamed"
    store.put_blob("j2/x", b"small again")
    assert store.get_blob("j2/x") == b"small again"
    store.put_job(make_job("j1"))
    store.delete_job("j1")
    assert store.open_blob("j1/upload/0") is None
    store.put_blob_stream("j3/y", io.BytesIO(b"y"))
    store.reset()
    assert store.get_blob("j3/y") is None


def test_sqlite_streamed_blobs_survive_reopen_and_leftovers_are_swept(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    first = SqliteStore(path)
    try:
        first.put_blob_stream("j1/upload/0", io.BytesIO(b"kept"))
    finally:
        first.close()
    blob_dir = tmp_path / "store.db-blobs"
    (blob_dir / "orphan.part").write_bytes(b"half a crash")
    second = SqliteStore(path)
    try:
        assert second.get_blob("j1/upload/0") == b"kept"
        assert sorted(p.suffix for p in blob_dir.iterdir()) == [".blob"]
    finally:
        second.close()


def test_memory_store_hands_back_the_same_objects() -> None:
    store = MemoryStore()
    job = make_job("j1")
    delivery = make_delivery("d1")
    store.put_job(job, [delivery])
    assert store.get_job("j1") is job
    assert store.list_jobs()[0] is job
    assert store.get_delivery("d1") is delivery


def hume_like_result(seed: int) -> dict[str, Any]:
    """The shape that made results costly: hundreds of small name/score dicts."""
    names = [f"Emotion {i}" for i in range(53)]
    words = [
        {"text": f"w{w}", "emotions": [{"name": n, "score": (seed + w + i) / 1000}]}
        for w in range(7)
        for i, n in enumerate(names)
    ]
    return {"wire": {"predictions": words}, "counts": [7, 0]}


def test_memory_store_keeps_results_compact_and_hands_back_equal_values() -> None:
    store = MemoryStore()
    for j in range(40):
        assert store.put_result(f"j{j}", 0, hume_like_result(j))
    kept = sum(len(data) for results in store._results.values() for data in results.values())
    assert kept / 40 < 40_000  # pickled; as Python objects each is ~5x this
    assert all(isinstance(d, bytes) for r in store._results.values() for d in r.values())
    for j in (0, 39, 7):
        assert store.get_result(f"j{j}", 0) == hume_like_result(j)
        assert store.get_results(f"j{j}") == {0: hume_like_result(j)}


def test_memory_store_decoded_results_are_bounded_and_reused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mockserver.engine.store import memory

    monkeypatch.setattr(
        memory, "DECODED_RESULTS_BYTES", 3 * len(memory._encode(hume_like_result(0)))
    )
    store = MemoryStore()
    for j in range(6):
        store.put_result(f"j{j}", 0, hume_like_result(j))
    assert len(store._decoded) == 3  # the three most recent stay decoded
    assert store._decoded_bytes <= memory.DECODED_RESULTS_BYTES
    first = store.get_result("j0", 0)  # decoded again, and now the most recent
    assert first == hume_like_result(0)
    assert store.get_result("j0", 0) is first
    assert ("j0", 0) in store._decoded and ("j3", 0) not in store._decoded
    store.delete_job("j0")
    assert ("j0", 0) not in store._decoded and store.get_result("j0", 0) is None
    assert store._decoded_bytes == sum(size for _, size in store._decoded.values())
    store.reset()
    assert not store._decoded and store._decoded_bytes == 0
    assert store.get_results("j5") == {}


def test_memory_store_result_larger_than_the_cache_is_decoded_each_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mockserver.engine.store import memory

    monkeypatch.setattr(memory, "DECODED_RESULTS_BYTES", 100)
    store = MemoryStore()
    store.put_result("j", 0, hume_like_result(1))
    assert not store._decoded
    assert store.get_result("j", 0) == hume_like_result(1)
    assert not store._decoded and store._decoded_bytes == 0


def test_sqlite_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "store.db"
    first = SqliteStore(path)
    try:
        populate(first, "t1")
    finally:
        first.close()
    second = SqliteStore(path)
    try:
        assert second.get_job("t1-job") == make_job("t1-job")
        assert second.get_results("t1-job") == {0: {"tenant": "t1"}}
        assert second.get_blob("t1-job/input") == b"t1"
        assert ids(second.pending_deliveries()) == ["t1-d"]
        assert second.next_seq("t1", "job") == 3
    finally:
        second.close()


def test_sqlite_refuses_a_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA user_version = 99")
    finally:
        conn.close()
    with pytest.raises(RuntimeError, match="schema version 99"):
        SqliteStore(path)


CHILD = """
import sys
from mockserver.engine.lifecycle import make_plan
from mockserver.engine.records import Job
from mockserver.engine.store import SqliteStore

store = SqliteStore(sys.argv[1])
plan = make_plan(key="k", seed=0, profile="instant", now=1000.0, count=2)
for n in range(20000):
    job = Job(id=f"job-{n}", tenant="t", provider="p", seq=n, created_at=1000.0, plan=plan)
    store.put_job(job)
    print(job.id, flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sqlite_write_survives_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "killed.db"
    paths = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    printed: list[str] = []
    enough = threading.Event()
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as child:
        assert child.stdout is not None and child.stderr is not None

        def read() -> None:
            assert child.stdout is not None
            for line in child.stdout:
                printed.append(line.strip())
                if len(printed) >= 300:
                    enough.set()
            enough.set()  # EOF: the child ended (or crashed) on its own

        reader = threading.Thread(target=read)
        reader.start()
        enough.wait(timeout=10)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        reader.join(timeout=10)
        stderr = child.stderr.read()
    assert child.returncode == -signal.SIGKILL, stderr
    assert printed, stderr
    reopened = SqliteStore(path)
    try:
        stored = {job.id for job in reopened.list_jobs("t")}
    finally:
        reopened.close()
    assert set(printed) <= stored, f"{len(set(printed) - stored)} acknowledged writes lost"
    assert len(stored) - len(printed) <= 1  # at most the one write the kill interrupted


# --- open_store --------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["memory", "memory://"])
def test_open_store_memory(url: str) -> None:
    assert isinstance(open_store(url), MemoryStore)


@pytest.mark.parametrize("url", ["sqlite://:memory:", "sqlite:///:memory:"])
def test_open_store_sqlite_in_memory(url: str) -> None:
    store = open_store(url)
    try:
        assert isinstance(store, SqliteStore)
        assert store.next_seq("t", "n") == 1
    finally:
        store.close()


def test_open_store_sqlite_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("sqlite:///data/sub/jobs.db")
    try:
        assert isinstance(store, SqliteStore)
    finally:
        store.close()
    assert (tmp_path / "data" / "sub" / "jobs.db").is_file()


def test_open_store_sqlite_absolute_path(tmp_path: Path) -> None:
    target = tmp_path / "abs" / "jobs.db"
    assert target.is_absolute()
    store = open_store(f"sqlite:///{target}")  # "sqlite:///" + "/tmp/..." = four slashes
    try:
        assert isinstance(store, SqliteStore)
        assert store.path == str(target)
    finally:
        store.close()
    assert target.is_file()


@pytest.mark.parametrize(
    "url", ["", "mem", "postgres://localhost/db", "sqlite:///", "sqlite:jobs.db", "redis://"]
)
def test_open_store_rejects_other_urls(url: str) -> None:
    with pytest.raises(ValueError, match="unsupported store URL") as raised:
        open_store(url)
    message = str(raised.value)
    assert "'memory'" in message
    assert "sqlite:///PATH" in message
