"""The in-memory JobStore: the zero-set-up default, and the reference the SQLite store must match.

Records are frozen dataclasses, so the store keeps and hands back the very objects it was given:
no copies, and nothing can change behind its back. Every public method takes one re-entrant lock,
which makes each call atomic with respect to the others (the same guarantee a SQLite transaction
gives). Secondary indexes (per-tenant seq order, unsettled jobs, pending deliveries, blob
prefixes) keep a request's cost independent of how much other tenants have stored. The
delivery log's history is bounded (:data:`DELIVERY_HISTORY` finished deliveries); jobs and their
results are the emulator's state and are kept until deleted or reset.

Results are the exception to "the very objects": they are kept pickled, with the most recently
used ones also kept decoded (:data:`DECODED_RESULTS_BYTES`). A Hume text job's predictions are
~370 ``{"name", "score"}`` dicts: ~90 KB as Python objects, ~8 KB pickled, so a long-running
server held ~1 GB per 10,000 such jobs. A result handed back is still one shared object while it
is cached: callers must not change it (they never did; the SQLite store hands back copies).
"""

from __future__ import annotations

import bisect
import io
import pickle
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

from ..records import Delivery, Job
from .blobfiles import BlobFiles

__all__ = ["MemoryStore"]

_SeqKey = tuple[int, str]  # (seq, job id): one tenant's jobs in list order


def _prefixes(key: str) -> Iterator[str]:
    """Every ``owner`` such that ``key`` starts with ``f"{owner}/"`` ("a/b/c" -> "a", "a/b")."""
    at = key.find("/")
    while at != -1:
        yield key[:at]
        at = key.find("/", at + 1)


def _discard(index: dict[str, dict[str, None]], owner: str, item: str) -> None:
    """Remove ``item`` from ``index[owner]``, dropping the owner's entry once it is empty."""
    items = index.get(owner)
    if items is not None:
        items.pop(item, None)
        if not items:
            del index[owner]


def _delivery_order(delivery: Delivery) -> tuple[float, str]:
    return (delivery.created_at, delivery.id)


#: Finished deliveries (delivered, failed, gone, dropped, blocked) the memory store keeps: the
#: delivery log's history is capped like the journal, the oldest finished one forgotten first.
#: Pending deliveries (the outbox itself) are never dropped, and a job's ``notified`` flag keeps
#: a forgotten delivery from being made again.
DELIVERY_HISTORY = 10_000

#: Pickled size of the decoded results kept beside their pickles, most recently used first: a
#: client polling its jobs, or a status read that counts a job's predictions, decodes nothing.
#: Decoded objects run ~10x their pickles, so this bounds that cache at roughly 40 MB.
DECODED_RESULTS_BYTES = 4 << 20

_ResultKey = tuple[str, int]  # (job id, item index)


def _encode(result: Any) -> bytes:
    return pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)


class MemoryStore:
    """A :class:`~mockserver.engine.store.base.JobStore` held in dicts behind one ``RLock``.

    ``delivery_history`` caps the finished deliveries kept (see :data:`DELIVERY_HISTORY`).
    """

    def __init__(self, *, delivery_history: int = DELIVERY_HISTORY) -> None:
        if delivery_history < 0:
            raise ValueError("delivery_history must be >= 0")
        self.delivery_history = delivery_history
        #: Finished deliveries forgotten to keep the delivery log bounded.
        self.deliveries_evicted = 0
        self._lock = threading.RLock()
        self._files: BlobFiles | None = None  # streamed blobs, in a temporary directory
        self._clear()

    def _clear(self) -> None:
        """(Re)create every container; the lock stays, so waiting threads see the new ones."""
        self._seqs: dict[str, dict[str, int]] = {}
        self._jobs: dict[str, Job] = {}
        self._by_tenant: dict[str, list[_SeqKey]] = {}
        self._counts: Counter[tuple[str, str]] = Counter()
        self._unsettled: dict[str, None] = {}
        self._results: dict[str, dict[int, bytes]] = {}  # pickled, see the module docstring
        self._decoded: OrderedDict[_ResultKey, tuple[Any, int]] = OrderedDict()
        self._decoded_bytes = 0
        self._blobs: dict[str, bytes | None] = {}  # None: the blob is a file in self._files
        if self._files is not None:
            self._files.clear()
        self._blob_owners: dict[str, set[str]] = {}
        self._deliveries: dict[str, Delivery] = {}
        self._deliveries_by_tenant: dict[str, dict[str, None]] = {}
        self._deliveries_by_job: dict[str, dict[str, None]] = {}
        self._pending: dict[str, None] = {}
        self._finished: dict[str, None] = {}  # finished delivery ids, oldest finish first

    # --- counters ----------------------------------------------------------------------------

    def next_seq(self, tenant: str, name: str) -> int:
        with self._lock:
            counters = self._seqs.setdefault(tenant, {})
            value = counters.get(name, 0) + 1
            counters[name] = value
            return value

    # --- jobs --------------------------------------------------------------------------------

    def put_job(self, job: Job, deliveries: Iterable[Delivery] = ()) -> None:
        with self._lock:
            old = self._jobs.get(job.id)
            if old is None:
                self._index_job(job)
            else:
                self._count(old, -1)
                if (old.tenant, old.seq) != (job.tenant, job.seq):
                    self._unindex_job(old)
                    self._index_job(job)
            self._count(job, +1)
            self._jobs[job.id] = job
            if job.settled:
                self._unsettled.pop(job.id, None)
            else:
                self._unsettled[job.id] = None
            for delivery in deliveries:
                self.put_delivery(delivery)

    def _index_job(self, job: Job) -> None:
        """Add ``job`` to its tenant's seq index, keeping it sorted."""
        keys = self._by_tenant.setdefault(job.tenant, [])
        key = (job.seq, job.id)
        if not keys or keys[-1] < key:
            keys.append(key)  # the common case: a new job is its tenant's newest
        else:
            bisect.insort(keys, key)

    def _unindex_job(self, job: Job) -> None:
        """Remove ``job`` from its tenant's seq index (not from the other structures)."""
        keys = self._by_tenant[job.tenant]
        key = (job.seq, job.id)
        at = bisect.bisect_left(keys, key)
        if at < len(keys) and keys[at] == key:
            del keys[at]
        if not keys:
            del self._by_tenant[job.tenant]

    def _count(self, job: Job, delta: int) -> None:
        key = (job.tenant, job.provider)
        self._counts[key] += delta
        if not self._counts[key]:
            del self._counts[key]

    def get_job(self, job_id: str, tenant: str | None = None) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or (tenant is not None and job.tenant != tenant):
            return None
        return job

    def list_jobs(
        self,
        tenant: str | None = None,
        provider: str | None = None,
        *,
        after_seq: int | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[Job]:
        out: list[Job] = []
        if limit is not None and limit <= 0:
            return out
        with self._lock:
            if tenant is None:
                tenants = sorted(self._by_tenant, reverse=newest_first)
            else:
                tenants = [tenant] if tenant in self._by_tenant else []
            for name in tenants:
                for job_id in self._scan(self._by_tenant[name], after_seq, newest_first):
                    job = self._jobs[job_id]
                    if provider is not None and job.provider != provider:
                        continue
                    out.append(job)
                    if limit is not None and len(out) >= limit:
                        return out
        return out

    @staticmethod
    def _scan(keys: list[_SeqKey], after_seq: int | None, newest_first: bool) -> Iterator[str]:
        """Job ids of one tenant in seq order, starting past ``after_seq`` (binary search)."""
        if newest_first:
            end = len(keys) if after_seq is None else bisect.bisect_left(keys, (after_seq, ""))
            for at in range(end - 1, -1, -1):
                yield keys[at][1]
        else:
            start = 0 if after_seq is None else bisect.bisect_left(keys, (after_seq + 1, ""))
            for at in range(start, len(keys)):
                yield keys[at][1]

    def count_jobs(self, tenant: str | None = None, provider: str | None = None) -> int:
        with self._lock:
            if tenant is not None and provider is None:
                return len(self._by_tenant.get(tenant, ()))
            if tenant is not None and provider is not None:
                return self._counts[(tenant, provider)]
            return sum(n for (_, p), n in self._counts.items() if provider in (None, p))

    def unsettled_jobs(self) -> list[Job]:
        with self._lock:
            jobs = [self._jobs[job_id] for job_id in self._unsettled]
        return sorted(jobs, key=lambda j: (j.tenant, j.seq, j.id))

    def delete_job(self, job_id: str) -> None:
        with self._lock:
            job = self._jobs.pop(job_id, None)
            if job is not None:
                self._unindex_job(job)
                self._count(job, -1)
                self._unsettled.pop(job_id, None)
            for index in self._results.pop(job_id, {}):
                self._forget_decoded((job_id, index))
            for key in list(self._blob_owners.get(job_id, ())):
                self._drop_blob(key)

    def tenants(self) -> list[str]:
        with self._lock:
            return sorted(set(self._by_tenant) | set(self._deliveries_by_tenant))

    # --- results and blobs -------------------------------------------------------------------

    def put_result(self, job_id: str, index: int, result: Any) -> bool:
        data = _encode(result)  # outside the lock: the CPU work of a large result
        with self._lock:
            results = self._results.setdefault(job_id, {})
            if index in results:
                return False
            results[index] = data
            self._remember_decoded((job_id, index), result)
            return True

    def get_result(self, job_id: str, index: int) -> Any | None:
        with self._lock:
            return self._decode(job_id, index)

    def get_results(self, job_id: str) -> dict[int, Any]:
        with self._lock:
            indexes = sorted(self._results.get(job_id, ()))
            return {index: self._decode(job_id, index) for index in indexes}

    def _decode(self, job_id: str, index: int) -> Any | None:
        key = (job_id, index)
        cached = self._decoded.get(key)
        if cached is not None:
            self._decoded.move_to_end(key)
            return cached[0]
        data = self._results.get(job_id, {}).get(index)
        if data is None:
            return None
        result = pickle.loads(data)  # our own pickles, made by put_result
        self._remember_decoded(key, result)
        return result

    def _remember_decoded(self, key: _ResultKey, result: Any) -> None:
        size = len(self._results[key[0]][key[1]])
        if size > DECODED_RESULTS_BYTES:
            return  # larger than the whole cache: decoded on each read
        self._decoded[key] = (result, size)
        self._decoded_bytes += size
        while self._decoded_bytes > DECODED_RESULTS_BYTES:
            self._decoded_bytes -= self._decoded.popitem(last=False)[1][1]

    def _forget_decoded(self, key: _ResultKey) -> None:
        cached = self._decoded.pop(key, None)
        if cached is not None:
            self._decoded_bytes -= cached[1]

    def put_blob(self, key: str, data: bytes) -> None:
        with self._lock:
            self._drop_blob(key)
            self._blobs[key] = bytes(data)
            self._own_blob(key)

    def _own_blob(self, key: str) -> None:
        for owner in _prefixes(key):
            self._blob_owners.setdefault(owner, set()).add(key)

    def put_blob_stream(self, key: str, source: BinaryIO) -> int:
        with self._lock:
            if self._files is None:
                self._files = BlobFiles()
            files = self._files
        size = files.write(key, source)  # outside the lock: a big copy must not stall others
        with self._lock:
            self._blobs[key] = None
            self._own_blob(key)
        return size

    def get_blob(self, key: str) -> bytes | None:
        handle = self.open_blob(key)
        if handle is None:
            return None
        with handle:
            return handle.read()

    def open_blob(self, key: str) -> BinaryIO | None:
        with self._lock:
            if key not in self._blobs:
                return None
            data = self._blobs[key]
            if data is not None:
                return io.BytesIO(data)
            assert self._files is not None
            return self._files.open(key)

    def _drop_blob(self, key: str) -> None:
        if self._blobs.pop(key, b"") is None and self._files is not None:
            self._files.delete(key)
        for owner in _prefixes(key):
            keys = self._blob_owners.get(owner)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._blob_owners[owner]

    # --- deliveries --------------------------------------------------------------------------

    def put_delivery(self, delivery: Delivery) -> None:
        with self._lock:
            old = self._deliveries.get(delivery.id)
            if old is not None:
                self._unindex_delivery(old)
            self._deliveries[delivery.id] = delivery
            self._deliveries_by_tenant.setdefault(delivery.tenant, {})[delivery.id] = None
            if delivery.job_id is not None:
                self._deliveries_by_job.setdefault(delivery.job_id, {})[delivery.id] = None
            if delivery.status == "pending":
                self._pending[delivery.id] = None
            else:
                self._finished[delivery.id] = None
                while len(self._finished) > self.delivery_history:
                    oldest = next(iter(self._finished))
                    self._unindex_delivery(self._deliveries.pop(oldest))
                    self.deliveries_evicted += 1

    def _unindex_delivery(self, delivery: Delivery) -> None:
        _discard(self._deliveries_by_tenant, delivery.tenant, delivery.id)
        if delivery.job_id is not None:
            _discard(self._deliveries_by_job, delivery.job_id, delivery.id)
        self._pending.pop(delivery.id, None)
        self._finished.pop(delivery.id, None)

    def get_delivery(self, delivery_id: str) -> Delivery | None:
        with self._lock:
            return self._deliveries.get(delivery_id)

    def list_deliveries(
        self,
        tenant: str | None = None,
        job_id: str | None = None,
        status: str | None = None,
        limit: int | None = None,
    ) -> list[Delivery]:
        with self._lock:
            found = [
                d
                for d in self._delivery_candidates(tenant, job_id, status)
                if (tenant is None or d.tenant == tenant)
                and (job_id is None or d.job_id == job_id)
                and (status is None or d.status == status)
            ]
        found.sort(key=_delivery_order, reverse=True)
        return found if limit is None else found[: max(limit, 0)]

    def _delivery_candidates(
        self, tenant: str | None, job_id: str | None, status: str | None
    ) -> Iterator[Delivery]:
        """The smallest indexed superset of the deliveries matching these filters."""
        if job_id is not None:
            ids: Iterable[str] = self._deliveries_by_job.get(job_id, {})
        elif tenant is not None:
            ids = self._deliveries_by_tenant.get(tenant, {})
        elif status == "pending":
            ids = self._pending
        else:
            ids = self._deliveries
        return (self._deliveries[i] for i in ids)

    def pending_deliveries(self) -> list[Delivery]:
        with self._lock:
            found = [self._deliveries[i] for i in self._pending]
        return sorted(found, key=_delivery_order)

    # --- housekeeping ------------------------------------------------------------------------

    def reset(self, tenant: str | None = None) -> None:
        with self._lock:
            if tenant is None:
                self._clear()
                return
            for _, job_id in list(self._by_tenant.get(tenant, ())):
                self.delete_job(job_id)
            for delivery_id in list(self._deliveries_by_tenant.get(tenant, ())):
                self._unindex_delivery(self._deliveries.pop(delivery_id))
            self._seqs.pop(tenant, None)

    def close(self) -> None:
        """Remove the streamed blobs' temporary directory."""
        with self._lock:
            files, self._files = self._files, None
            self._blobs.clear()
        if files is not None:
            files.close()
