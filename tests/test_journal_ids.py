"""The bounded journal and deterministic ids."""

from __future__ import annotations

import threading
import uuid

import pytest

from mockserver.engine.ids import derive_uuid
from mockserver.engine.journal import Journal


def test_journal_keeps_the_newest_entries_and_counts_the_dropped() -> None:
    journal = Journal(capacity=3)
    for n in range(5):
        journal.record({"path": f"/p/{n}", "tenant": "a"})
    assert [e["path"] for e in journal.query()] == ["/p/4", "/p/3", "/p/2"]
    assert journal.dropped == 2 and len(journal) == 3


def test_journal_filters() -> None:
    journal = Journal()
    journal.record({"path": "/v0/batch/jobs", "tenant": "a", "provider": "hume", "status": 200})
    journal.record({"path": "/v1/batches", "tenant": "b", "provider": "xai", "status": 404})
    first = journal.query()[-1]["id"]
    assert [e["tenant"] for e in journal.query(tenant="b")] == ["b"]
    assert [e["provider"] for e in journal.query(provider="hume")] == ["hume"]
    assert [e["status"] for e in journal.query(path_prefix="/v1/")] == [404]
    assert [e["status"] for e in journal.query(status=200)] == [200]
    assert [e["tenant"] for e in journal.query(after_id=first)] == ["b"]
    assert journal.query(limit=0) == []
    journal.clear("a")
    assert [e["tenant"] for e in journal.query()] == ["b"]
    journal.clear()
    assert journal.query() == []


def test_journal_is_thread_safe_and_ids_are_unique() -> None:
    journal = Journal(capacity=10_000)
    threads = [
        threading.Thread(target=lambda: [journal.record({}) for _ in range(500)]) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [e["id"] for e in journal.query(limit=10_000)]
    assert len(ids) == len(set(ids)) == 4000


def test_journal_needs_room() -> None:
    with pytest.raises(ValueError):
        Journal(capacity=0)


def test_derived_ids_are_uuid4_deterministic_and_distinct() -> None:
    a = derive_uuid(0, "tenant", "job", 1)
    assert a == derive_uuid(0, "tenant", "job", 1)
    assert uuid.UUID(a).version == 4
    others = {
        derive_uuid(s, t, k, n)
        for s in (0, 1)
        for t in ("a", "b")
        for k in ("job", "delivery")
        for n in (1, 2)
    }
    assert len(others) == 16
