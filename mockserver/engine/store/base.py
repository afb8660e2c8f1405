"""The JobStore protocol: what the engine needs from persistence, and nothing more.

Two implementations share one conformance suite (``tests/test_store.py``): ``MemoryStore``
(the default, zero set-up) and ``SqliteStore`` (``--store sqlite:///path``), which survives
``kill -9``: every write is committed before the call returns, so anything a client was told
about with a 2xx is on disk.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, BinaryIO, Protocol

from ..records import Delivery, Job

__all__ = ["JobStore"]


class JobStore(Protocol):
    """Persistence for jobs, per-item results, uploaded blobs and the webhook outbox.

    Lookups by id are O(1) or O(log n): a request's cost must not grow with stored state.
    Every method is safe to call from many threads at once.
    """

    def next_seq(self, tenant: str, name: str) -> int:
        """Return the next value (1, 2, ...) of a named per-tenant counter; durable."""
        ...

    def put_job(self, job: Job, deliveries: Iterable[Delivery] = ()) -> None:
        """Insert or replace a job and insert-or-replace ``deliveries`` in one transaction."""
        ...

    def get_job(self, job_id: str, tenant: str | None = None) -> Job | None:
        """The job with this id; when ``tenant`` is given, only if it belongs to that tenant."""
        ...

    def list_jobs(
        self,
        tenant: str | None = None,
        provider: str | None = None,
        *,
        after_seq: int | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[Job]:
        """Jobs ordered by (tenant, seq) ascending, or descending with ``newest_first``.

        ``after_seq`` keeps jobs with seq > after_seq (ascending) or < after_seq (descending);
        it is meaningful with a single ``tenant``.
        """
        ...

    def count_jobs(self, tenant: str | None = None, provider: str | None = None) -> int: ...

    def unsettled_jobs(self) -> list[Job]:
        """Jobs whose ``settled`` flag is false (the scheduler reloads these at start)."""
        ...

    def delete_job(self, job_id: str) -> None:
        """Remove a job with its results and blobs prefixed ``{job_id}/``; deliveries stay."""
        ...

    def tenants(self) -> list[str]:
        """Every tenant that has jobs or deliveries, sorted."""
        ...

    def put_result(self, job_id: str, index: int, result: Any) -> bool:
        """Store an item's result unless one exists (first write wins); True if stored."""
        ...

    def get_result(self, job_id: str, index: int) -> Any | None: ...

    def get_results(self, job_id: str) -> dict[int, Any]:
        """Every stored result of a job, by item index."""
        ...

    def put_blob(self, key: str, data: bytes) -> None: ...

    def get_blob(self, key: str) -> bytes | None:
        """A blob's bytes, however it was stored (whole: use :meth:`open_blob` for big ones)."""
        ...

    def put_blob_stream(self, key: str, source: BinaryIO) -> int:
        """Store a blob read from ``source`` without holding it in memory; return its size.

        Durable before the call returns, like every write; it replaces any blob of that key.
        """
        ...

    def open_blob(self, key: str) -> BinaryIO | None:
        """A readable binary file of the blob (the caller closes it), or None if absent."""
        ...

    def put_delivery(self, delivery: Delivery) -> None:
        """Insert or replace a delivery. A pending one is kept until it finishes; the memory
        store keeps only its most recent finished ones (a bounded delivery log)."""
        ...

    def get_delivery(self, delivery_id: str) -> Delivery | None: ...

    def list_deliveries(
        self,
        tenant: str | None = None,
        job_id: str | None = None,
        status: str | None = None,
        limit: int | None = None,
    ) -> list[Delivery]:
        """Deliveries, newest first (by created_at, then id)."""
        ...

    def pending_deliveries(self) -> list[Delivery]:
        """Every delivery with status ``pending``, oldest first."""
        ...

    def reset(self, tenant: str | None = None) -> None:
        """Forget everything, or everything one tenant owns (jobs, results, blobs, deliveries,
        counters)."""
        ...

    def close(self) -> None: ...
