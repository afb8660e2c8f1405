"""The bulk stream's mailboxes: what each (token, model) sent, what finished, what was delivered.

The docs' promise (``../shared/reference/huggingface-bulk.md`` §1) is the design: "everything that
was sent is being processed even if you are not connected anymore", and "simply reinitializing
the stream will recover results". So a connection owns nothing. Items live in the engine: one
open **container** job per (token, model), and one **segment** child per burst of frames a
connection read, whose items follow the tenant's lifecycle profile like any other job's. A
connection only *claims* finished, undelivered items, sends them, and marks them delivered;
a send that fails hands its claim back, so the next stream for the same token and model gets
the result. Several connections may be open on one mailbox: each result goes to exactly one.

Delivered marks are written to each segment (``attrs["delivered"]``) after every burst of
sends, so a restart on the SQLite store neither loses nor repeats a finished result beyond the
burst in flight. A segment whose items were all delivered leaves the container's ``children``
list, so a long-lived mailbox costs only what is still pending.

What cannot be known is whether a frame that left the socket was read: a client that drops the
connection with results in flight loses those (as live). Results that finish while nobody is
connected, and results whose send failed, are kept.
"""

from __future__ import annotations

import hashlib
import math
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ...engine import lifecycle
from ...engine.core import Engine
from ...engine.records import Job
from ..common import LazyHooks

__all__ = ["CONTAINER", "SEGMENT", "Ready", "StreamHub", "container_id"]

CONTAINER = "hf.stream"
SEGMENT = "hf.stream.items"
_TERMINAL = ("succeeded", "failed", "cancelled")
_ID_SPACE = uuid.UUID("6f1d3a52-6b1e-4d8e-9a57-3c1b7f0e2a10")


def container_id(tenant: str, model_id: str) -> str:
    """A mailbox's job id: stable across restarts, never shared by two tokens or models."""
    digest = hashlib.sha256(f"{tenant}\0{model_id}".encode()).hexdigest()[:20]
    return f"hfstream-{digest}"


def generated_id(segment_id: str, index: int) -> str:
    """The id of an item the client sent without one: deterministic for a seed and run."""
    return str(uuid.uuid5(_ID_SPACE, f"{segment_id}:{index}"))


@dataclass(frozen=True)
class Ready:
    """A finished item a connection has claimed: where it is and how it ended."""

    segment: Job
    index: int
    status: str
    ended_at: float
    error: str | None

    @property
    def item(self) -> dict[str, Any]:
        found: dict[str, Any] = self.segment.inputs[self.index]
        return found


@dataclass
class _Mailbox:
    lock: threading.Lock = field(default_factory=threading.Lock)
    loaded: bool = False
    active: list[str] = field(default_factory=list)  # segment ids with undelivered items
    delivered: dict[str, set[int]] = field(default_factory=dict)
    claimed: dict[str, set[int]] = field(default_factory=dict)
    #: segment id -> tenant time before which none of its unfinished items can end (a scan
    #: skips it until then); dropped when the segment's plan is rewritten (step, cancel).
    quiet_until: dict[str, float] = field(default_factory=dict)
    waiters: list[Callable[[], None]] = field(default_factory=list)


class StreamHub:
    """Every mailbox of one server; thread-safe, one lock per mailbox.

    ``compute(segment, index)`` is an item's ``outputs`` (what the control API's results of a
    segment show; connections compute theirs in batches).
    """

    def __init__(self, engine: Engine, compute: Callable[[Job, int], Any]) -> None:
        self.engine = engine
        self._boxes: dict[str, _Mailbox] = {}
        self._lock = threading.Lock()
        engine.register(LazyHooks(CONTAINER))
        engine.register(LazyHooks(SEGMENT, compute))
        engine.on_change(self._job_changed)
        engine.on_reset(self._reset)

    # --- mailboxes ---------------------------------------------------------------------------

    def _box(self, tenant: str, model_id: str) -> tuple[str, _Mailbox]:
        key = container_id(tenant, model_id)
        with self._lock:
            box = self._boxes.setdefault(key, _Mailbox())
        return key, box

    def container(self, tenant: str, model_id: str) -> Job:
        """The mailbox's container job, created on first use."""
        key = container_id(tenant, model_id)
        job = self.engine.get(key, tenant)
        if job is None:
            job = self.engine.submit(
                tenant,
                CONTAINER,
                attrs={"model": model_id, "children": [], "received": 0, "delivered": 0},
                open=True,
                job_id=key,
            )
        return job

    def _load(self, tenant: str, model_id: str, box: _Mailbox) -> None:
        """Rebuild a mailbox from the store (first use in this process, or after a reset)."""
        if box.loaded:
            return
        container = self.container(tenant, model_id)
        box.active = list(container.attrs.get("children") or [])
        for segment_id in box.active:
            segment = self.engine.get(segment_id)
            marks = segment.attrs.get("delivered", []) if segment else []
            box.delivered[segment_id] = set(marks)
        box.loaded = True

    def subscribe(self, tenant: str, model_id: str, wake: Callable[[], None]) -> None:
        """Call ``wake()`` whenever the mailbox may have something new to deliver."""
        _, box = self._box(tenant, model_id)
        with box.lock:
            box.waiters.append(wake)

    def unsubscribe(self, tenant: str, model_id: str, wake: Callable[[], None]) -> None:
        _, box = self._box(tenant, model_id)
        with box.lock:
            if wake in box.waiters:
                box.waiters.remove(wake)

    # --- admission ---------------------------------------------------------------------------

    def admit(
        self,
        tenant: str,
        model_id: str,
        items: Sequence[dict[str, Any]],
        *,
        errors: Sequence[str | None] | None = None,
        compute: str = "cpu",
        profile: str | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> Job:
        """Queue a burst of items as one segment; every item counts, re-sent or not."""
        key, box = self._box(tenant, model_id)
        with box.lock:
            self._load(tenant, model_id, box)
            container = self.container(tenant, model_id)
            segment_id = self.engine.new_id(tenant, "hf-stream-segment")
            stored = [
                item if item.get("id") is not None else {**item, "id": generated_id(segment_id, i)}
                for i, item in enumerate(items)
            ]
            segment = self.engine.submit(
                tenant,
                SEGMENT,
                inputs=stored,
                attrs={"container": key, "model": model_id, "compute": compute, "delivered": []},
                profile=profile,
                overrides=overrides,
                job_id=segment_id,
                errors=errors,
            )
            box.active.append(segment.id)
            box.delivered[segment.id] = set()

            def change(current: Job) -> Job:
                attrs = dict(current.attrs)
                attrs["children"] = list(box.active)
                attrs["received"] = int(attrs.get("received", 0)) + len(stored)
                return replace(current, attrs=attrs)

            self.engine.update(container, change)
        return segment

    # --- delivery ----------------------------------------------------------------------------

    def claim(self, tenant: str, model_id: str, limit: int = 64) -> list[Ready]:
        """Finished, undelivered, unclaimed items, oldest end first; they are now this
        caller's until :meth:`delivered` or :meth:`release`."""
        _, box = self._box(tenant, model_id)
        now = self.engine.now(tenant)
        found: list[Ready] = []
        orders: dict[str, int] = {}
        with box.lock:
            self._load(tenant, model_id, box)
            for order, segment_id in enumerate(box.active):
                if now < box.quiet_until.get(segment_id, -math.inf):
                    continue
                segment = self.engine.get(segment_id)
                if segment is None:
                    continue
                done = box.delivered.get(segment_id, set())
                taken = box.claimed.setdefault(segment_id, set())
                for index in range(len(segment.inputs)):
                    if index in done or index in taken:
                        continue
                    state = lifecycle.item_state(segment.plan, index, now)
                    if state.status in _TERMINAL:
                        ended = state.ended_at if state.ended_at is not None else now
                        found.append(Ready(segment, index, state.status, ended, state.error))
                        orders[segment_id] = order
                if segment_id not in orders:  # nothing finished: skip it until it can
                    due = lifecycle.next_transition(segment.plan, now)
                    box.quiet_until[segment_id] = math.inf if due is None else due
            # oldest end first; segment then index break ties: send order where possible
            found.sort(key=lambda r: (r.ended_at, orders[r.segment.id], r.index))
            found = found[:limit]
            for ready in found:
                box.claimed[ready.segment.id].add(ready.index)
        return found

    def release(self, tenant: str, model_id: str, items: Sequence[Ready]) -> None:
        """Hand claims back (the send failed): the next stream delivers them."""
        _, box = self._box(tenant, model_id)
        with box.lock:
            for ready in items:
                box.claimed.get(ready.segment.id, set()).discard(ready.index)
                box.quiet_until.pop(ready.segment.id, None)
            waiters = list(box.waiters)
        for wake in waiters:
            wake()

    def delivered(self, tenant: str, model_id: str, items: Sequence[Ready]) -> None:
        """Mark sent items delivered and write the marks (one write per segment touched)."""
        if not items:
            return
        _, box = self._box(tenant, model_id)
        with box.lock:
            touched: dict[str, Job] = {}
            for ready in items:
                segment_id = ready.segment.id
                box.claimed.get(segment_id, set()).discard(ready.index)
                box.delivered.setdefault(segment_id, set()).add(ready.index)
                touched[segment_id] = ready.segment
            finished = []
            for segment_id, segment in touched.items():
                marks = sorted(box.delivered[segment_id])
                self.engine.set_attrs(segment, delivered=marks)
                if len(marks) == len(segment.inputs):
                    finished.append(segment_id)
            for segment_id in finished:
                if segment_id in box.active:
                    box.active.remove(segment_id)
                box.delivered.pop(segment_id, None)
                box.claimed.pop(segment_id, None)
                box.quiet_until.pop(segment_id, None)
            container = self.container(tenant, model_id)
            active = list(box.active)
            count = len(items)

            def change(current: Job) -> Job:
                attrs = dict(current.attrs)
                attrs["children"] = active
                attrs["delivered"] = int(attrs.get("delivered", 0)) + count
                return replace(current, attrs=attrs)

            self.engine.update(container, change)

    def pending(self, tenant: str, model_id: str) -> tuple[int, float | None]:
        """How many items are not yet delivered, and when (tenant clock) the next one ends."""
        _, box = self._box(tenant, model_id)
        now = self.engine.now(tenant)
        count = 0
        due: float | None = None
        with box.lock:
            self._load(tenant, model_id, box)
            for segment_id in box.active:
                segment = self.engine.get(segment_id)
                if segment is None:
                    continue
                count += len(segment.inputs) - len(box.delivered.get(segment_id, ()))
                nxt = lifecycle.next_transition(segment.plan, now)
                if nxt is not None and (due is None or nxt < due):
                    due = nxt
        return count, due

    # --- engine events -----------------------------------------------------------------------

    def _job_changed(self, job: Job) -> None:
        """A step, cancel or clock-driven rewrite of a segment may have finished items."""
        if job.provider not in (SEGMENT, CONTAINER):
            return
        key = job.attrs.get("container", job.id)
        box = self._boxes.get(key)
        if box is None:
            return
        box.quiet_until.pop(job.id, None)  # its plan may have moved (step, cancel)
        for wake in list(box.waiters):
            wake()

    def _reset(self, tenant: str | None) -> None:
        with self._lock:
            for box in self._boxes.values():
                with box.lock:
                    box.loaded = False
                    box.active.clear()
                    box.delivered.clear()
                    box.claimed.clear()
                    box.quiet_until.clear()
