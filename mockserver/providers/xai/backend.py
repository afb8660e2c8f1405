"""The xAI batch operations over the engine, shared by the REST and the gRPC faces.

Mapping (``../shared/reference/xai-batch.md``):

- A **batch** is an engine job of provider ``xai``: an open container with no items of its own.
  It carries the name, the key that created it, the input file, ``cancel_by_xai_message`` and
  its segments in ``attrs["children"]`` (the engine cancels and steps them with it); its plan
  carries ``cancel_time`` and ``expire_time``.
- Each add-requests call becomes one **segment**: an engine job of provider ``xai.requests``
  whose items are that call's requests (stored compactly, :mod:`.items`). A call's cost is
  therefore independent of how big the batch already is: nothing already admitted is rewritten,
  re-planned or re-serialised.
- The batch's counters are the sum of its segments' tallies (``lifecycle.counts``, cached once a
  segment has nothing pending). Results and request metadata are read a page at a time through a
  per-batch index of request ids (:class:`~mockserver.engine.sortedkeys.SortedKeys`): a page is
  a bisect plus ``limit`` O(1) item states (``lifecycle.item_state``), whatever the batch's size.
  Results are computed when read (``lazy_results``), never stored.
- An uploaded input **file** is an engine job of provider ``xai.file`` with its bytes as a blob.

The index is derived from the store and rebuilt on first use after a restart.
"""

from __future__ import annotations

import base64
import binascii
import threading
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Literal, cast

from ...engine import lifecycle
from ...engine.ids import derive_uuid
from ...engine.lifecycle import Counts, ItemState
from ...engine.records import Job
from ...engine.sortedkeys import SortedKeys
from ...runtime import Runtime
from ..common import LazyHooks, LifecycleChoice
from . import items as requests_
from .catalog import ENDPOINTS, ModelCatalog
from .errors import XaiError
from .items import Item, ItemError, JsonlError
from .results import compute

__all__ = [
    "BATCH_TTL",
    "NAME",
    "BatchInfo",
    "Page",
    "RequestRow",
    "XaiBackend",
]

NAME = "xai"
SEGMENT = "xai.requests"
FILE = "xai.file"
#: Live: a batch expires 30 days after creation (reference §3).
BATCH_TTL = 30 * 86400.0
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_FILE_BYTES = 200 * 1000 * 1000
_SHIFT = 24  # a location packs (segment number << _SHIFT) | index
_RESULT_CACHE = 20_000
#: Batches whose request-id index is kept, and final segment tallies kept (rebuilt on demand).
_INDEX_CACHE = 256
_COUNTS_CACHE = 100_000

RequestStatus = Literal["pending", "succeeded", "failed", "cancelled"]
_STATUS: dict[str, RequestStatus] = {
    "queued": "pending",
    "running": "pending",
    "succeeded": "succeeded",
    "failed": "failed",
    "cancelled": "cancelled",
}
#: How a job-level cut-off reads in a request's error row ("Batch cancelled" was seen live).
_CUT_MESSAGES = {"cancelled": "Batch cancelled", "expired": "Batch expired"}


@dataclass(frozen=True)
class BatchInfo:
    """Everything either face renders about a batch."""

    id: str
    name: str
    created_at: float
    expires_at: float | None
    key_id: str
    cancelled_at: float | None
    cancel_by_xai_message: str | None
    input_file_id: str | None
    counts: Counts


@dataclass(frozen=True)
class RequestRow:
    """One request as a page shows it; ``result`` only for succeeded rows of a results page."""

    id: str
    kind: str
    model: str
    status: RequestStatus
    created_at: float
    finished_at: float | None
    error: str | None = None
    result: dict[str, Any] | None = None
    body: dict[str, Any] | None = None
    #: The gRPC status name of a failed or cancelled row (``OK`` otherwise): INVALID_ARGUMENT
    #: for the request's own bad parameters, CANCELLED / DEADLINE_EXCEEDED for a cancel or an
    #: expiry, INTERNAL for a simulated service failure.
    code: str = "OK"


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    token: str | None


@dataclass
class _Index:
    """A batch's request ids: where each lives, and all of them in order."""

    segments: list[str] = field(default_factory=list)
    where: dict[str, int] = field(default_factory=dict)
    keys: SortedKeys = field(default_factory=SortedKeys)


class XaiBackend:
    """Batches, their requests and results, for one runtime; every method is thread-safe."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.engine = runtime.engine
        self.catalog = ModelCatalog(runtime.settings.xai_models)
        self._locks = [threading.RLock() for _ in range(32)]
        # Derived from the store and rebuilt from it on demand, so bounded: least recently
        # used first out (a long-running server sees batches without end).
        self._indexes: OrderedDict[str, _Index] = OrderedDict()
        self._final_counts: OrderedDict[str, Counts] = OrderedDict()
        self._results: OrderedDict[tuple[str, int, float], dict[str, Any]] = OrderedDict()
        self._cache_lock = threading.Lock()
        for hooks in (LazyHooks(NAME), LazyHooks(FILE), LazyHooks(SEGMENT, self.result_of)):
            self.engine.register(hooks)
        self.engine.on_change(self._changed)
        self.engine.on_reset(self._reset)

    # --- derived state -------------------------------------------------------------------------

    def _changed(self, job: Job) -> None:
        if job.provider == SEGMENT:
            with self._cache_lock:
                self._final_counts.pop(job.id, None)

    def _reset(self, tenant: str | None) -> None:
        with self._cache_lock:
            self._indexes.clear()
            self._final_counts.clear()
            self._results.clear()

    def _lock(self, batch_id: str) -> threading.RLock:
        return self._locks[zlib.crc32(batch_id.encode()) % len(self._locks)]

    # --- batches ---------------------------------------------------------------------------------

    def key_id(self, tenant: str) -> str:
        """The id of an API key as ``create_api_key_id`` shows it (never the key itself)."""
        return derive_uuid(0, tenant, "api-key", 0)

    def create(
        self,
        tenant: str,
        name: Any,
        input_file_id: Any = None,
        choice: LifecycleChoice | None = None,
    ) -> Job:
        if not isinstance(name, str) or not name.strip():
            raise XaiError(400, "name is required and must be a non-empty string")
        if input_file_id is not None and not isinstance(input_file_id, str):
            raise XaiError(400, "input_file_id must be a string")
        file_items: list[Item] | None = None
        cancel_message = None
        if input_file_id:
            data = self._file_bytes(tenant, input_file_id)
            try:
                file_items = requests_.parse_jsonl(data, self.catalog)
            except JsonlError as exc:
                cancel_message = f"JSONL file validation failed: {exc}"
        choice = choice or LifecycleChoice(None, None)
        attrs: dict[str, Any] = {
            "name": name,
            "key_id": self.key_id(tenant),
            "children": [],
            "profile": choice.profile,
            "overrides": choice.overrides,
        }
        if input_file_id:
            attrs["input_file_id"] = input_file_id
        if cancel_message:
            attrs["cancel_by_xai_message"] = cancel_message
        batch = self.engine.submit(
            tenant,
            NAME,
            job_id="batch_" + self.engine.new_id(tenant, "batch"),
            open=True,
            attrs=attrs,
            expires_in=BATCH_TTL,
            profile=choice.profile,
            overrides=choice.overrides,
        )
        if cancel_message:
            return self.engine.cancel(batch)
        if file_items:
            with self._lock(batch.id):
                batch = self._admit(batch, file_items, choice)
        return batch

    def get(self, tenant: str, batch_id: str) -> Job:
        batch = self.engine.get(batch_id, tenant)
        if batch is None or batch.provider != NAME:
            raise XaiError(404, f"Batch {batch_id} not found")
        return batch

    def info(self, batch: Job) -> BatchInfo:
        now = self.engine.now(batch.tenant)
        cancelled_at = batch.plan.cancelled_at
        return BatchInfo(
            id=batch.id,
            name=batch.attrs["name"],
            created_at=batch.created_at,
            expires_at=batch.plan.expires_at,
            key_id=batch.attrs["key_id"],
            cancelled_at=cancelled_at if cancelled_at is not None and cancelled_at <= now else None,
            cancel_by_xai_message=batch.attrs.get("cancel_by_xai_message"),
            input_file_id=batch.attrs.get("input_file_id"),
            counts=self.counts(batch),
        )

    def counts(self, batch: Job) -> Counts:
        """The batch's tally: its segments' tallies summed (final segments from a cache; a
        segment with a cancel race to come is not final until its requests have landed)."""
        now = self.engine.now(batch.tenant)
        totals = Counts()
        for segment_id in batch.attrs["children"]:
            with self._cache_lock:
                tally = self._final_counts.get(segment_id)
            if tally is None:
                segment = self.engine.get(segment_id)
                if segment is None:
                    continue
                tally = lifecycle.counts(segment.plan, now)
                lands = segment.plan.lands_at  # the cancel race: counters move after a cancel
                if tally.pending == 0 and (lands is None or lands <= now):
                    with self._cache_lock:
                        self._final_counts[segment_id] = tally
                        if len(self._final_counts) > _COUNTS_CACHE:
                            self._final_counts.popitem(last=False)
            totals += tally
        return totals

    def list(self, tenant: str, limit: int | None, token: str | None) -> Page:
        """A tenant's batches, newest first (the order is not documented: a GUESS)."""
        size = _limit(limit)
        after = int(_decode(token, "b")) if token else None
        jobs = self.engine.list_jobs(
            tenant, NAME, after_seq=after, limit=size + 1, newest_first=True
        )
        more = len(jobs) > size
        jobs = jobs[:size]
        return Page(jobs, _encode("b", str(jobs[-1].seq)) if more and jobs else None)

    def cancel(self, tenant: str, batch_id: str) -> Job:
        """Cancel a batch: pending requests become ``Batch cancelled`` rows, results stay."""
        with self._lock(batch_id):
            return self.engine.cancel(self.get(tenant, batch_id))  # cancels every segment too

    # --- adding requests -------------------------------------------------------------------------

    def add(
        self,
        tenant: str,
        batch_id: str,
        raw_items: Any,
        choice: LifecycleChoice | None = None,
    ) -> None:
        """Admit a REST ``batch_requests`` array."""
        if not isinstance(raw_items, list):
            raise XaiError(400, "batch_requests is required and must be an array")
        try:
            parsed = [
                requests_.parse_item(raw, f"batch_requests[{n}]", self.catalog)
                for n, raw in enumerate(raw_items)
            ]
        except ItemError as exc:
            raise XaiError(exc.status, exc.message) from None
        self.add_items(tenant, batch_id, parsed, choice)

    def add_items(
        self,
        tenant: str,
        batch_id: str,
        parsed: Sequence[Item],
        choice: LifecycleChoice | None = None,
    ) -> None:
        """Admit already-parsed requests atomically (nothing, if any is refused)."""
        with self._lock(batch_id):
            batch = self.get(tenant, batch_id)
            now = self.engine.now(tenant)
            if batch.attrs.get("input_file_id"):
                raise XaiError(412, "Cannot add inline requests to a file-based batch")
            cancelled = batch.plan.cancelled_at
            if cancelled is not None and cancelled <= now:
                raise XaiError(403, f"Batch {batch_id} has been cancelled; cannot add requests")
            expires = batch.plan.expires_at
            if expires is not None and expires <= now:
                raise XaiError(403, f"Batch {batch_id} has expired; cannot add requests")
            self._admit(batch, parsed, choice)

    def _admit(self, batch: Job, parsed: Sequence[Item], choice: LifecycleChoice | None) -> Job:
        """Check ids, then store the new requests as one segment (caller holds the lock)."""
        index = self._index(batch)
        fresh: dict[str, str] = {}
        errors: list[str | None] = []
        generated = len(index.where)
        for item in parsed:
            request_id = item.id
            if request_id is None:
                while True:
                    generated += 1
                    request_id = "batch_request_" + derive_uuid(
                        batch.plan.seed, batch.id, "request", generated
                    )
                    if request_id not in index.where and request_id not in fresh:
                        break
            stored = item.dump(request_id)
            earlier = fresh.get(request_id)
            if earlier is None and request_id in index.where:
                earlier = self._stored(index, request_id)
            if earlier is not None:
                if earlier != stored:
                    raise XaiError(
                        412,
                        f"batch_request_id '{request_id}' content differs from originally "
                        "submitted",
                    )
                continue  # an identical re-add is idempotent
            fresh[request_id] = stored
            errors.append(item.error)
        if not fresh:
            return batch
        choice = choice or LifecycleChoice(None, None)
        number = len(batch.attrs["children"])
        now = self.engine.now(batch.tenant)
        expires = batch.plan.expires_at
        segment = self.engine.submit(
            batch.tenant,
            SEGMENT,
            job_id=f"{batch.id}.{number}",
            inputs=list(fresh.values()),
            attrs={"batch": batch.id},
            open=True,
            profile=choice.profile or batch.attrs.get("profile"),
            overrides=choice.overrides or batch.attrs.get("overrides"),
            expires_in=None if expires is None else max(expires - now, 0.0),
            errors=errors if any(errors) else None,
        )
        batch = self.engine.set_attrs(batch, children=[*batch.attrs["children"], segment.id])
        index.segments.append(segment.id)
        for offset, request_id in enumerate(fresh):
            index.where[request_id] = (number << _SHIFT) | offset
            index.keys.add(request_id)
        return batch

    def _index(self, batch: Job) -> _Index:
        """The batch's id index, built (or caught up) from its stored segments."""
        with self._lock(batch.id):
            with self._cache_lock:
                index = self._indexes.get(batch.id)
                if index is None:
                    index = self._indexes[batch.id] = _Index()
                    if len(self._indexes) > _INDEX_CACHE:
                        self._indexes.popitem(last=False)
                else:
                    self._indexes.move_to_end(batch.id)
            segments = batch.attrs["children"]
            for number in range(len(index.segments), len(segments)):
                segment = self.engine.get(segments[number])
                ids = [] if segment is None else [requests_.load(s)["id"] for s in segment.inputs]
                for offset, request_id in enumerate(ids):
                    index.where[request_id] = (number << _SHIFT) | offset
                index.keys.update(ids)
                index.segments.append(segments[number])
            return index

    def _stored(self, index: _Index, request_id: str) -> str:
        segment_id, offset = self._locate(index, request_id)
        segment = self.engine.get(segment_id)
        assert segment is not None, segment_id
        stored: str = segment.inputs[offset]
        return stored

    @staticmethod
    def _locate(index: _Index, request_id: str) -> tuple[str, int]:
        packed = index.where[request_id]
        return index.segments[packed >> _SHIFT], packed & ((1 << _SHIFT) - 1)

    # --- reading requests and results ------------------------------------------------------------

    def requests_page(
        self,
        tenant: str,
        batch_id: str,
        limit: int | None,
        token: str | None,
        statuses: frozenset[str] | None = None,
    ) -> Page:
        """Request metadata in ``batch_request_id`` order (all states, or ``statuses``)."""
        batch = self.get(tenant, batch_id)
        return self._page(batch, limit, token, "q", statuses, with_result=False)

    def results_page(
        self, tenant: str, batch_id: str, limit: int | None, token: str | None
    ) -> Page:
        """Finished requests with their results, sorted by ``batch_request_id`` as seen live."""
        batch = self.get(tenant, batch_id)
        done = frozenset({"succeeded", "failed", "cancelled"})
        return self._page(batch, limit, token, "r", done, with_result=True)

    def has_request(self, batch: Job, request_id: str) -> bool:
        index = self._index(batch)
        with self._lock(batch.id):
            return request_id in index.where

    def request_result(self, tenant: str, batch_id: str, request_id: str) -> RequestRow:
        """One request with its body and (if finished) its result: gRPC GetBatchRequestResult."""
        batch = self.get(tenant, batch_id)
        index = self._index(batch)
        with self._lock(batch.id):
            if request_id not in index.where:
                raise XaiError(404, f"Batch request {request_id} not found in batch {batch_id}")
            segment_id, offset = self._locate(index, request_id)
        segment = self.engine.get(segment_id)
        assert segment is not None, segment_id
        now = self.engine.now(tenant)
        return self._row(
            segment, offset, lifecycle.item_state(segment.plan, offset, now), True, body=True
        )

    def _page(
        self,
        batch: Job,
        limit: int | None,
        token: str | None,
        kind: str,
        statuses: frozenset[str] | None,
        *,
        with_result: bool,
    ) -> Page:
        size = _limit(limit, maximum=MAX_LIMIT)
        after = _decode(token, kind) if token else None
        index = self._index(batch)
        now = self.engine.now(batch.tenant)
        segments: dict[str, Job | None] = {}
        picked: list[tuple[Job, int, ItemState]] = []
        more = False
        with self._lock(batch.id):
            for request_id in index.keys.after(after):
                segment_id, offset = self._locate(index, request_id)
                if segment_id not in segments:
                    segments[segment_id] = self.engine.get(segment_id)
                segment = segments[segment_id]
                if segment is None:
                    continue
                state = lifecycle.item_state(segment.plan, offset, now)
                if statuses is not None and _STATUS[state.status] not in statuses:
                    continue
                if len(picked) == size:
                    more = True
                    break
                picked.append((segment, offset, state))
        rows = [self._row(seg, offset, state, with_result) for seg, offset, state in picked]
        next_token = _encode(kind, rows[-1].id) if more and rows else None
        return Page(rows, next_token)

    def _row(
        self, segment: Job, offset: int, state: ItemState, with_result: bool, body: bool = False
    ) -> RequestRow:
        stored = requests_.load(segment.inputs[offset])
        status = _STATUS[state.status]
        error = None
        code = "OK"
        if status == "cancelled":
            error = _CUT_MESSAGES.get(state.error or "", state.error or "Batch cancelled")
            code = "DEADLINE_EXCEEDED" if state.error == "expired" else "CANCELLED"
        elif status == "failed":
            error = state.error or "Request failed"
            own = requests_.execution_error(stored["kind"], stored["body"])
            code = "INVALID_ARGUMENT" if own is not None and own == error else "INTERNAL"
        result = None
        if with_result and status == "succeeded":
            result = self._result(segment, offset, stored, state)
        return RequestRow(
            id=stored["id"],
            kind=stored["kind"],
            model=str(stored["body"].get("model", "")),
            status=status,
            created_at=segment.created_at,
            finished_at=state.ended_at,
            error=error,
            result=result,
            body=stored["body"] if body else None,
            code=code,
        )

    def _result(
        self, segment: Job, offset: int, stored: dict[str, Any], state: ItemState
    ) -> dict[str, Any]:
        ended = state.ended_at if state.ended_at is not None else segment.created_at
        key = (segment.id, offset, ended)
        with self._cache_lock:
            cached = self._results.get(key)
            if cached is not None:
                self._results.move_to_end(key)
                return cached
        result = compute(
            stored["kind"],
            stored["body"],
            seed=segment.plan.seed,
            batch_id=segment.attrs["batch"],
            request_id=stored["id"],
            ended_at=ended,
        )
        with self._cache_lock:
            self._results[key] = result
            if len(self._results) > _RESULT_CACHE:
                self._results.popitem(last=False)
        return result

    def result_of(self, segment: Job, offset: int) -> dict[str, Any] | None:
        """A segment item's result (the control API's view of a segment job)."""
        state = lifecycle.item_state(segment.plan, offset, self.engine.now(segment.tenant))
        return self._row(segment, offset, state, True).result

    def endpoint(self, kind: str) -> str:
        return ENDPOINTS[kind]

    # --- files -----------------------------------------------------------------------------------

    def upload(
        self,
        tenant: str,
        filename: str,
        source: BinaryIO,
        purpose: str = "batch",
        expires_after: int | None = None,
    ) -> Job:
        """Store an input file (bytes as a blob first, then its record) and return the record."""
        file_id = "file_" + self.engine.new_id(tenant, "file")
        capped = cast(BinaryIO, _Capped(source, MAX_FILE_BYTES))
        try:  # stopped one chunk past the limit: a 2 GB upload is not copied in full first
            size = self.runtime.store.put_blob_stream(f"{file_id}/content", capped)
        except _TooLarge:
            size = MAX_FILE_BYTES + 1
        if size > MAX_FILE_BYTES:
            self.runtime.store.delete_job(file_id)  # drops the blob with the id's prefix
            raise XaiError(413, f"File {filename} exceeds the maximum size of 200 MB")
        now = self.engine.now(tenant)
        return self.engine.submit(
            tenant,
            FILE,
            job_id=file_id,
            attrs={
                "filename": filename,
                "bytes": size,
                "purpose": purpose,
                "expires_at": None if expires_after is None else now + expires_after,
            },
        )

    def file(self, tenant: str, file_id: str) -> Job:
        found = self.engine.get(file_id, tenant)
        if found is None or found.provider != FILE:
            raise XaiError(404, f"File {file_id} not found")
        return found

    def _file_bytes(self, tenant: str, file_id: str) -> bytes:
        self.file(tenant, file_id)
        blob = self.runtime.store.open_blob(f"{file_id}/content")
        if blob is None:
            raise XaiError(404, f"File {file_id} not found")
        with blob:
            return blob.read()


class _TooLarge(Exception):
    """An upload passed its limit while it was being stored."""


class _Capped:
    """A reader that raises :class:`_TooLarge` once more than ``limit`` bytes came through."""

    def __init__(self, inner: BinaryIO, limit: int) -> None:
        self._inner = inner
        self._left = limit

    def read(self, size: int = -1, /) -> bytes:
        want = self._left + 1 if size < 0 else min(size, self._left + 1)
        data = self._inner.read(want)
        self._left -= len(data)
        if self._left < 0:
            raise _TooLarge
        return data


def _limit(value: int | None, maximum: int = MAX_LIMIT) -> int:
    """``limit``: 0 or absent means the default (100); more than the maximum is capped."""
    if value is None or value == 0:
        return DEFAULT_LIMIT
    if value < 0:
        raise XaiError(400, f"limit must not be negative, got {value}")
    return min(value, maximum)


def _encode(kind: str, value: str) -> str:
    raw = f"{kind}:{value}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode(token: str, kind: str) -> str:
    """The position an opaque token holds; a token from another listing is refused."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    found, _, value = raw.partition(":")
    number = value.isascii() and value.isdigit() and len(value) <= 18
    if found != kind or not value or (kind == "b" and not number):
        shown = token if len(token) <= 64 else f"{token[:61]}..."
        raise XaiError(400, f"Invalid pagination token {shown!r}")
    return value
