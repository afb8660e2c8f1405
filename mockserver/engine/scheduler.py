"""The scheduler: side effects that must *happen* at a time, on real or virtual time.

States are derived from the clock, so nothing here moves a job; the scheduler only visits a job
when its timeline says something happens (an item ends: compute its result; the job ends: queue
its webhooks) and drives the webhook outbox. Due times are on each tenant's clock, so one heap per
tenant: a frozen tenant's entries never block another tenant's. It fires on real time (a
background thread sleeping until the next due instant) and on demand (``run_due`` after a clock
advance or a step, so a test sees the effects of an advance as soon as the call returns).
"""

from __future__ import annotations

import heapq
import logging
import threading
from collections.abc import Callable
from typing import Protocol

from .core import Engine
from .records import Job

__all__ = ["Scheduler"]

log = logging.getLogger(__name__)

MAX_SLEEP = 1.0
DELIVERY_LOOP = "mockserver-webhooks"


class Outboxlike(Protocol):
    """The outbox calls the scheduler uses (see ``engine.webhooks.Outbox``)."""

    on_idle: Callable[[], None] | None

    def run_due(self, *, wait: bool = True) -> int: ...

    def next_due_in(self) -> float | None: ...

    def close(self) -> None: ...


class Scheduler:
    """Visits jobs at their next transition and runs due webhook deliveries."""

    def __init__(self, engine: Engine, outbox: Outboxlike | None = None) -> None:
        self.engine = engine
        self.outbox = outbox
        self._heaps: dict[str, list[tuple[float, str]]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self._dirty: dict[str, bool] = {}
        engine.on_change(self.schedule)
        if outbox is not None:
            outbox.on_idle = self._deliveries_idle

    # --- queueing -------------------------------------------------------------------------------

    def schedule(self, job: Job, at: float | None = None) -> None:
        """Visit ``job`` at ``at`` on its tenant's clock (default: as soon as possible)."""
        when = self.engine.now(job.tenant) if at is None else at
        with self._wake:
            heapq.heappush(self._heaps.setdefault(job.tenant, []), (when, job.id))
            self._dirty = dict.fromkeys(self._dirty, True)
            self._wake.notify_all()

    def load(self) -> int:
        """Queue every unsettled job from the store (after a restart); returns how many."""
        jobs = self.engine.store.unsettled_jobs()
        for job in jobs:
            self.schedule(job)
        return len(jobs)

    def wake(self) -> None:
        """Re-check due times now (after a clock advance, a step or a redelivery)."""
        with self._wake:
            self._dirty = dict.fromkeys(self._dirty, True)
            self._wake.notify_all()

    def _deliveries_idle(self) -> None:
        """A background batch of deliveries ended: look for due deliveries again."""
        with self._wake:
            if DELIVERY_LOOP in self._dirty:
                self._dirty[DELIVERY_LOOP] = True
            self._wake.notify_all()

    def forget(self, tenant: str | None = None) -> None:
        with self._wake:
            if tenant is None:
                self._heaps.clear()
            else:
                self._heaps.pop(tenant, None)

    def pending(self) -> int:
        with self._lock:
            return sum(len(h) for h in self._heaps.values())

    # --- running --------------------------------------------------------------------------------

    def _pop_due(self) -> list[tuple[str, str]]:
        due: list[tuple[str, str]] = []
        with self._lock:
            emptied = []
            for tenant, heap in self._heaps.items():
                now = self.engine.now(tenant)
                seen: set[str] = set()
                while heap and heap[0][0] <= now:
                    _, job_id = heapq.heappop(heap)
                    if job_id not in seen:
                        seen.add(job_id)
                        due.append((tenant, job_id))
                if not heap:
                    emptied.append(tenant)
            for tenant in emptied:  # one heap per tenant with work: none for every tenant ever
                del self._heaps[tenant]
        return due

    def run_jobs(self) -> int:
        """Settle every job that is due now; returns how many were visited."""
        due = self._pop_due()
        for tenant, job_id in due:
            try:
                nxt = self.engine.settle(job_id)
            except Exception:  # a provider bug must not stop every other job's side effects
                log.exception("settling job %s failed; retrying in %.0f s", job_id, MAX_SLEEP)
                nxt = self.engine.now(tenant) + MAX_SLEEP
            if nxt is not None:
                with self._wake:
                    heapq.heappush(self._heaps.setdefault(tenant, []), (nxt, job_id))
        return len(due)

    def run_due(self, *, deliver: bool = True) -> int:
        """Settle due jobs, then (optionally) attempt due webhook deliveries."""
        visited = self.run_jobs()
        if deliver and self.outbox is not None:
            visited += self.outbox.run_due()
        return visited

    def _jobs_sleep(self) -> float:
        best = MAX_SLEEP
        with self._lock:
            for tenant, heap in self._heaps.items():
                if heap:
                    best = min(best, heap[0][0] - self.engine.now(tenant))
        return best

    def _dispatch_deliveries(self) -> int:
        """Hand due deliveries to the outbox's workers without waiting for them: a receiver
        that hangs holds up only its own URL's deliveries, never this loop."""
        assert self.outbox is not None
        return self.outbox.run_due(wait=False)

    def _deliveries_sleep(self) -> float:
        due_in = self.outbox.next_due_in() if self.outbox is not None else None
        return MAX_SLEEP if due_in is None else min(due_in, MAX_SLEEP)

    def _loop(self, name: str, work: Callable[[], object], sleep_for: Callable[[], float]) -> None:
        """Do ``work``, then sleep until the next due instant or a wake-up, until stopped.

        Webhook deliveries run in their own loop so a slow receiver never delays results; that
        loop only dispatches to the outbox's workers, so it never waits on a receiver either.
        """
        while True:
            with self._wake:
                self._dirty[name] = False
            try:
                work()
            except Exception:
                log.exception("scheduler pass failed")
            pause = max(sleep_for(), 0.0)
            with self._wake:
                if self._stopping:
                    return
                if not self._dirty[name]:
                    self._wake.wait(pause)

    def start(self) -> None:
        """Run the job loop and, with an outbox, the delivery loop in daemon threads."""
        if self._threads:
            return
        self._stopping = False
        loops: list[tuple[str, Callable[[], object], Callable[[], float]]] = [
            ("mockserver-scheduler", self.run_jobs, self._jobs_sleep)
        ]
        if self.outbox is not None:
            loops.append((DELIVERY_LOOP, self._dispatch_deliveries, self._deliveries_sleep))
        for name, work, sleep_for in loops:
            self._dirty[name] = True
            thread = threading.Thread(
                target=self._loop, args=(name, work, sleep_for), name=name, daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()
        if self.outbox is not None:
            self.outbox.close()
