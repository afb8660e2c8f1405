"""Lifecycle plans: every item's timeline decided once at submit time, read many times.

A :class:`Plan` records, per item, when it starts, how long it runs and how it ends; job-level
events (a planned failure, a cancel, an expiry) are cut-offs on top. :func:`state` derives what a
client sees at any instant and is pure, so no thread ticks jobs, a virtual clock is exact, and the
same seed replays the same run bit for bit. Control operations (:func:`step`, :func:`cancel`)
return a new plan whose *future* times are pulled in to "now": times already in the past never
change, so a timestamp a client has seen never moves.

The vocabulary is vendor-neutral. Jobs are ``queued``/``running``/``completed``/``failed``/
``cancelled``; items are ``queued``/``running``/``succeeded``/``failed``/``cancelled``. Each
provider maps these to its own words (Hume ``IN_PROGRESS``, Eden ``processing``, xAI counters).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from .profiles import Profile, get_profile

__all__ = [
    "Counts",
    "ItemPlan",
    "ItemState",
    "JobState",
    "Plan",
    "cancel",
    "counts",
    "extend_plan",
    "item_state",
    "make_plan",
    "next_transition",
    "readable_error",
    "state",
    "step",
]

INF = math.inf
JobStatus = Literal["queued", "running", "completed", "failed", "cancelled"]
ItemStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
TERMINAL_JOB: frozenset[str] = frozenset({"completed", "failed", "cancelled"})
TERMINAL_ITEM: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})
#: Sentences for the bare messages of the job-level cut-offs a vendor face may show.
_CUT_SENTENCES = {"cancelled": "Job cancelled", "expired": "Job expired"}


def readable_error(error: str | None, default: str) -> str:
    """An item's or job's error as a client should read it: a cancel or an expiry as a
    sentence (``Job expired``), any other message as it is, no message as ``default``."""
    if not error:
        return default
    return _CUT_SENTENCES.get(error, error)


@dataclass(frozen=True)
class ItemPlan:
    """One item's timeline: it starts at ``start`` and ends ``run`` seconds later.

    ``math.inf`` in ``start`` means stuck in the queue, in ``run`` stuck running.
    """

    start: float
    run: float
    error: str | None = None

    @property
    def end(self) -> float:
        return self.start + self.run


@dataclass(frozen=True)
class Plan:
    """A job's whole timeline plus the inputs needed to extend it reproducibly."""

    key: str
    seed: int
    profile: str
    overrides: Mapping[str, Any]
    submitted_at: float
    items: tuple[ItemPlan, ...]
    open: bool = False
    failure_index: int | None = None
    failure_message: str | None = None
    cancelled_at: float | None = None
    expires_at: float | None = None
    #: After a cancel with the profile's ``cancel_landing``: when the items that were running at
    #: the cancel land with their own outcome (until then they read ``cancelled``).
    lands_at: float | None = None
    #: Waiting for something outside the lifecycle (the model to load): every item stays
    #: queued until :func:`release` moves the whole timeline to start at that moment.
    held: bool = False

    @property
    def failure_at(self) -> float | None:
        """When the planned job failure happens: the moment its fatal item ends."""
        if self.failure_index is None:
            return None
        return self.items[self.failure_index].end

    def resolved_profile(self) -> Profile:
        return get_profile(self.profile).with_overrides(self.overrides)

    def to_json(self) -> dict[str, Any]:
        """Serialise for a store; infinities become ``None`` (JSON has no infinity)."""
        return {
            "key": self.key,
            "seed": self.seed,
            "profile": self.profile,
            "overrides": dict(self.overrides),
            "submitted_at": self.submitted_at,
            "items": [[_fin(i.start), _fin(i.run), i.error] for i in self.items],
            "open": self.open,
            "failure_index": self.failure_index,
            "failure_message": self.failure_message,
            "cancelled_at": self.cancelled_at,
            "expires_at": self.expires_at,
            "lands_at": self.lands_at,
            "held": self.held,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Plan:
        return cls(
            key=raw["key"],
            seed=raw["seed"],
            profile=raw["profile"],
            overrides=raw.get("overrides") or {},
            submitted_at=raw["submitted_at"],
            items=tuple(ItemPlan(_inf(s), _inf(r), e) for s, r, e in raw["items"]),
            open=raw.get("open", False),
            failure_index=raw.get("failure_index"),
            failure_message=raw.get("failure_message"),
            cancelled_at=raw.get("cancelled_at"),
            expires_at=raw.get("expires_at"),
            lands_at=raw.get("lands_at"),
            held=raw.get("held", False),
        )


def _fin(value: float) -> float | None:
    return None if math.isinf(value) else value


def _inf(value: float | None) -> float:
    return INF if value is None else value


@dataclass(frozen=True)
class Counts:
    total: int = 0
    queued: int = 0
    running: int = 0
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0

    @property
    def pending(self) -> int:
        return self.queued + self.running

    def __add__(self, other: Counts) -> Counts:
        """Two tallies summed (a container's counters over its children)."""
        return Counts(
            self.total + other.total,
            self.queued + other.queued,
            self.running + other.running,
            self.succeeded + other.succeeded,
            self.failed + other.failed,
            self.cancelled + other.cancelled,
        )

    def to_json(self) -> dict[str, int]:
        return {
            "total": self.total,
            "queued": self.queued,
            "running": self.running,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "cancelled": self.cancelled,
        }


@dataclass(frozen=True)
class ItemState:
    index: int
    status: ItemStatus
    started_at: float | None
    ended_at: float | None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "status": self.status,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "error": self.error,
        }


@dataclass(frozen=True)
class JobState:
    status: JobStatus
    created_at: float
    started_at: float | None
    ended_at: float | None
    counts: Counts
    items: tuple[ItemState, ...] = field(repr=False)
    error: str | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_JOB

    def to_json(self, *, items: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "status": self.status,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "counts": self.counts.to_json(),
            "error": self.error,
        }
        if items:
            out["items"] = [i.to_json() for i in self.items]
        return out


# --- drawing ---------------------------------------------------------------------------------


def _rng(seed: int, key: str, salt: str) -> random.Random:
    """An RNG for one decision, independent of the order in which decisions are drawn."""
    digest = hashlib.sha256(f"{seed}:{key}:{salt}".encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


def _draw_item(profile: Profile, seed: int, key: str, index: int, at: float) -> ItemPlan:
    rng = _rng(seed, key, f"item:{index}")
    wait = profile.queue_wait.draw(rng)
    run = profile.run_time.draw(rng)
    error = None
    if profile.item_error_rate and rng.random() < profile.item_error_rate:
        error = rng.choice(profile.error_messages)
    return ItemPlan(start=at + wait, run=run, error=error)


def _apply_stuck(profile: Profile, items: list[ItemPlan]) -> list[ItemPlan]:
    if not items or profile.stuck == "none":
        return items
    if profile.stuck == "queued":
        return [replace(i, start=INF) for i in items]
    last = max(range(len(items)), key=lambda n: items[n].end)
    items[last] = replace(items[last], run=INF)
    return items


def make_plan(
    *,
    key: str,
    seed: int,
    profile: str,
    now: float,
    count: int,
    overrides: Mapping[str, Any] | None = None,
    open: bool = False,
    expires_at: float | None = None,
    errors: Sequence[str | None] | None = None,
) -> Plan:
    """Draw a job's timeline: same (seed, key, profile, overrides, now, count), same plan.

    ``open`` plans are containers that accept more items later (an xAI batch, a Hugging Face
    stream); they never fail as a whole and are only terminal when cancelled or expired.
    ``errors`` (one entry per item, ``None`` for most) are failures already known at admission,
    such as a request the vendor accepts but cannot execute: the item still queues and runs on
    its drawn timeline, and ends failed with that message. A profile's ``expire_after`` brings
    ``expires_at`` forward (never back).
    """
    resolved = get_profile(profile).with_overrides(overrides)
    items = [_draw_item(resolved, seed, key, n, now) for n in range(count)]
    items = _apply_stuck(resolved, _force_errors(items, errors))
    failure_index = failure_message = None
    fails = _rng(seed, key, "job").random() < resolved.job_failure_rate
    if fails and not open and items and resolved.stuck == "none":
        by_end = sorted(range(len(items)), key=lambda n: (items[n].end, n))
        survivors = min(int(resolved.failure_at * len(items)), len(items) - 1)
        failure_index = by_end[survivors]
        failure_message = resolved.job_failure_message
    if resolved.expire_after is not None:
        early = now + resolved.expire_after
        expires_at = early if expires_at is None else min(expires_at, early)
    return Plan(
        key=key,
        seed=seed,
        profile=profile,
        overrides=dict(overrides or {}),
        submitted_at=now,
        items=tuple(items),
        open=open,
        failure_index=failure_index,
        failure_message=failure_message,
        expires_at=expires_at,
    )


def extend_plan(plan: Plan, *, count: int, now: float) -> Plan:
    """Append ``count`` items drawn at ``now`` to an open plan."""
    if not plan.open:
        raise ValueError("only open plans accept more items")
    resolved = plan.resolved_profile()
    base = len(plan.items)
    new = [_draw_item(resolved, plan.seed, plan.key, base + n, now) for n in range(count)]
    return replace(plan, items=plan.items + tuple(_apply_stuck(resolved, new)))


def _force_errors(items: list[ItemPlan], errors: Sequence[str | None] | None) -> list[ItemPlan]:
    if not errors:
        return items
    if len(errors) != len(items):
        raise ValueError(f"errors has {len(errors)} entries for {len(items)} items")
    pairs = zip(items, errors, strict=True)
    return [replace(i, error=e) if e is not None else i for i, e in pairs]


# --- reading ---------------------------------------------------------------------------------


def _cutoff(plan: Plan) -> tuple[float, str | None, ItemStatus]:
    """The earliest job-level event: (time, message, status it gives unfinished items)."""
    candidates: list[tuple[float, str | None, ItemStatus]] = []
    failure_at = plan.failure_at
    if failure_at is not None:
        candidates.append((failure_at, plan.failure_message, "failed"))
    if plan.cancelled_at is not None:
        candidates.append((plan.cancelled_at, "cancelled", "cancelled"))
    if plan.expires_at is not None:
        candidates.append((plan.expires_at, "expired", "cancelled"))
    if not candidates:
        return INF, None, "cancelled"
    return min(candidates, key=lambda c: c[0])


def state(plan: Plan, now: float) -> JobState:
    """What a client sees at ``now``. Pure: no clock, no store, no randomness.

    An item that ends at or before the job's cut-off (failure, cancel, expiry) keeps its own
    outcome, except the fatal item of a planned failure, which fails with the job; items still
    unfinished at the cut-off take the cut-off's status.
    """
    if plan.held:
        return _held_state(plan, now)
    cut = _Cut.of(plan)
    cut_at, cut_message, cut_status = cut.at, cut.message, cut.status
    items: list[ItemState] = []
    tally = {"queued": 0, "running": 0, "succeeded": 0, "failed": 0, "cancelled": 0}
    first_start = INF
    last_natural_end = -INF
    cut_any = False
    for index, item in enumerate(plan.items):
        entry, how = _classify(index, item, now, cut)
        if how == "natural":
            last_natural_end = max(last_natural_end, item.end)
        elif how == "cut":
            cut_any = True
        if entry.started_at is not None:
            first_start = min(first_start, entry.started_at)
        tally[entry.status] += 1
        items.append(entry)
    totals = Counts(total=len(items), **tally)

    job_status: JobStatus
    error = None
    ended_at: float | None = None
    if cut_at <= now and (cut_any or plan.open):
        job_status = "failed" if cut_status == "failed" else "cancelled"
        ended_at, error = cut_at, cut_message
        if job_status == "failed":
            first_start = min(first_start, cut_at)
    elif totals.pending == 0 and (items or not plan.open):
        job_status = "completed"
        ended_at = max(last_natural_end, plan.submitted_at)
    elif totals.queued == totals.total:
        job_status = "queued"
    else:
        job_status = "running"
    started_at = None if math.isinf(first_start) else first_start
    if job_status == "completed" and started_at is None:
        started_at = plan.submitted_at
    return JobState(
        job_status, plan.submitted_at, started_at, ended_at, totals, tuple(items), error
    )


def item_state(plan: Plan, index: int, now: float) -> ItemState:
    """One item's state at ``now``, equal to ``state(plan, now).items[index]``, in O(1).

    Large open containers (an xAI batch of 100,000 requests) read a page of items at a time;
    this keeps a page's cost independent of the container's size.
    """
    if plan.held:
        cut = _held_cut(plan, now)
        if cut is None:
            return ItemState(index, "queued", None, None)
        return ItemState(index, "cancelled", None, cut[0], cut[1])
    return _classify(index, plan.items[index], now, _Cut.of(plan))[0]


@dataclass(frozen=True)
class _Cut:
    """A plan's earliest job-level cut-off, and the item it fails with (a planned failure)."""

    at: float
    message: str | None
    status: ItemStatus
    fatal: int | None
    #: When items running at a cancel land (``Plan.lands_at``), if the cut-off is that cancel.
    lands_at: float | None = None

    @classmethod
    def of(cls, plan: Plan) -> _Cut:
        at, message, status = _cutoff(plan)
        fatal = plan.failure_index if status == "failed" else None
        return cls(at, message, status, fatal, _landing(plan, at, message))


def _landing(plan: Plan, cut_at: float, cut_message: str | None) -> float | None:
    """``plan.lands_at`` when the plan's cut-off is the cancel it belongs to (not a failure or
    an expiry at the same instant), else None."""
    if plan.lands_at is None or cut_message != "cancelled" or plan.cancelled_at != cut_at:
        return None
    return plan.lands_at


def _classify(
    index: int, item: ItemPlan, now: float, cut: _Cut
) -> tuple[ItemState, Literal["natural", "cut", "pending"]]:
    """One item's state at ``now`` and how it got there: ended on its own, taken by the
    cut-off, or still pending. ``state`` and ``item_state`` share this one rule; ``counts``
    inlines it for speed (an invariant test keeps the three equal)."""
    end = item.end
    if end <= now and (end < cut.at or (end == cut.at and index != cut.fatal)):
        status: ItemStatus = "failed" if item.error else "succeeded"
        return ItemState(index, status, item.start, end, item.error), "natural"
    if cut.at <= now:
        started = item.start if item.start <= cut.at else None
        if started is not None and cut.lands_at is not None and cut.lands_at <= now:
            status = "failed" if item.error else "succeeded"
            return ItemState(index, status, started, cut.lands_at, item.error), "cut"
        return ItemState(index, cut.status, started, cut.at, cut.message), "cut"
    if item.start > now:
        return ItemState(index, "queued", None, None), "pending"
    return ItemState(index, "running", item.start, None), "pending"


def counts(plan: Plan, now: float) -> Counts:
    """The item tally of ``state(plan, now)`` without building per-item states (a tight loop:
    a container's counters are read on every poll)."""
    if plan.held:
        total = len(plan.items)
        if _held_cut(plan, now) is None:
            return Counts(total=total, queued=total)
        return Counts(total=total, cancelled=total)
    cut_at, cut_message, cut_status = _cutoff(plan)
    fatal = plan.failure_index if cut_status == "failed" else None
    landed = _landing(plan, cut_at, cut_message)
    landed = landed if landed is not None and landed <= now else None
    queued = running = succeeded = failed = cut = 0
    for index, item in enumerate(plan.items):
        start = item.start
        end = start + item.run
        if end <= now and (end < cut_at or (end == cut_at and index != fatal)):
            if item.error:
                failed += 1
            else:
                succeeded += 1
        elif cut_at <= now:
            if landed is not None and start <= cut_at:
                if item.error:
                    failed += 1
                else:
                    succeeded += 1
            else:
                cut += 1
        elif start > now:
            queued += 1
        else:
            running += 1
    if cut_status == "failed":
        failed += cut
        cancelled = 0
    else:
        cancelled = cut
    return Counts(len(plan.items), queued, running, succeeded, failed, cancelled)


def _held_cut(plan: Plan, now: float) -> tuple[float, str] | None:
    """A held job's cut-off (cancel or expiry) if one has happened by ``now``."""
    cuts = [t for t in (plan.cancelled_at, plan.expires_at) if t is not None and t <= now]
    if not cuts:
        return None
    cut_at = min(cuts)
    return cut_at, "cancelled" if cut_at == plan.cancelled_at else "expired"


def _held_state(plan: Plan, now: float) -> JobState:
    """A held job: all queued, unless a cancel or expiry has cut it off (nothing ever ran)."""
    cut = _held_cut(plan, now)
    if cut is None:
        items = tuple(ItemState(i, "queued", None, None) for i in range(len(plan.items)))
        tally = Counts(total=len(items), queued=len(items))
        return JobState("queued", plan.submitted_at, None, None, tally, items, None)
    cut_at, message = cut
    items = tuple(ItemState(i, "cancelled", None, cut_at, message) for i in range(len(plan.items)))
    tally = Counts(total=len(items), cancelled=len(items))
    return JobState("cancelled", plan.submitted_at, None, cut_at, tally, items, message)


def release(plan: Plan, now: float) -> Plan:
    """End a hold at ``now``: the planned timeline is kept, shifted to begin now.

    A held job showed clients only its submission time and ``queued``, so moving every item's
    start is safe: no timestamp a client has seen changes.
    """
    if not plan.held:
        return plan
    delta = max(0.0, now - plan.submitted_at)
    items = tuple(replace(i, start=i.start + delta) for i in plan.items)
    return replace(plan, items=items, held=False)


def next_transition(plan: Plan, now: float) -> float | None:
    """The earliest instant after ``now`` at which :func:`state` can change, if any."""
    if plan.held:
        cuts = [t for t in (plan.cancelled_at, plan.expires_at) if t is not None and t > now]
        return min(cuts) if cuts else None
    cut_at, cut_message, _ = _cutoff(plan)
    if cut_at <= now:
        # Cut off: nothing after the cut-off can change what a client sees, except a landing.
        landing = _landing(plan, cut_at, cut_message)
        return landing if landing is not None and landing > now else None
    best = cut_at
    for item in plan.items:
        for t in (item.start, item.end):
            if now < t < best:
                best = t
    return None if math.isinf(best) else best


# --- control ---------------------------------------------------------------------------------


def step(plan: Plan, now: float, to: Literal["next", "terminal"] = "next") -> Plan:
    """Move a job to its next job-level state, or straight to a terminal one, at ``now``.

    From ``queued`` the earliest item starts now (keeping its run time); from ``running`` every
    unfinished item ends now, with its planned outcome (a planned job failure happens now, as
    its fatal item ends). Stuck items are released the same way. Only future times are pulled
    in.
    """
    plan = release(plan, now)  # stepping a held job by hand ends its hold
    current = state(plan, now)
    if current.terminal:
        return plan
    if to == "next" and current.status == "queued":
        if not plan.items:
            return plan
        first = min(range(len(plan.items)), key=lambda n: plan.items[n].start)
        items = list(plan.items)
        items[first] = replace(items[first], start=now)
        return replace(plan, items=tuple(items))
    items = []
    for item in plan.items:
        start = min(item.start, now)
        end = min(item.end, now)
        items.append(replace(item, start=start, run=end - start))
    return replace(plan, items=tuple(items))


def cancel(plan: Plan, now: float) -> Plan:
    """Cancel at ``now``: unfinished items become ``cancelled``; finished ones stay readable.

    With the profile's ``cancel_landing``, the items running at ``now`` land later (see
    :class:`Plan`), as in-flight requests did live on xAI.
    """
    if plan.cancelled_at is not None and plan.cancelled_at <= now:
        return plan
    landing = None if plan.held else plan.resolved_profile().cancel_landing
    return replace(plan, cancelled_at=now, lands_at=None if landing is None else now + landing)
