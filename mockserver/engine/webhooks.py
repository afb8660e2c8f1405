"""The webhook outbox: vendor-neutral, durable, retried, signed, and unable to reach elsewhere.

Providers describe *what* to send (:meth:`Outbox.make`); the engine stores the delivery in the
same write as its job, so a restart neither loses nor repeats notifications; the scheduler calls
:meth:`Outbox.run_due`. Retry times live on the tenant's clock, so a test with a frozen clock
steps through the whole backoff schedule by advancing it, with no sleeping.

Deliveries to one URL go out one at a time, in order; different URLs go out in parallel on a
few worker threads (``concurrency``), so a receiver that hangs until the timeout holds up its own
deliveries and nobody else's; URLs whose last attempt got no answer are served by threads of
their own, so many hanging receivers cannot take every thread from the ones that answer. Fault
rules are decided by the dispatching thread in due order, so a seeded webhook scenario replays
the same whatever the threads' timing.

Every URL passes a :class:`HostAllowList` (loopback only by default) when the delivery is made
and again just before each send, and the HTTP client never follows redirects: the server can be
pointed at a test's receiver and nowhere else. Host names are matched literally, never resolved.

A ``mailto:`` URL is a record-only channel: vendors that e-mail the account owner (Hume's
``notify``) put the e-mail in the outbox, where the delivery log shows it as ``delivered`` with
one attempt that says it was recorded; nothing leaves the machine.
"""

from __future__ import annotations

import email.utils
import functools
import json
import logging
import math
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timezone
from typing import Any, Protocol

from .clock import Clock
from .egress import (
    DEFAULT_ALLOW,
    USER_AGENT,
    HostAllowList,
    HttpClient,
    HttpResponse,
    UrllibClient,
)
from .faults import Call, FaultBook, Fired
from .records import PROBE_MARK, Attempt, Delivery, DeliveryStatus
from .signing import (
    DEFAULT_SECRET,
    NoSigner,
    Signer,
    StandardWebhooksSigner,
    verify_standard_signature,
)

__all__ = [
    "DEFAULT_ALLOW",
    "DEFAULT_SECRET",
    "DeliveryStore",
    "HostAllowList",
    "HttpClient",
    "HttpResponse",
    "MAIL_RECORDED",
    "NoSigner",
    "Outbox",
    "RetryPolicy",
    "Signer",
    "StandardWebhooksSigner",
    "UrllibClient",
    "parse_retry_after",
    "verify_standard_signature",
]

log = logging.getLogger(__name__)

EXCERPT_CHARS = 512
#: Worker threads sending to different URLs at once (each URL still gets one at a time).
CONCURRENCY = 8
#: URLs remembered as failing (their last attempt got no HTTP answer); the oldest is forgotten.
FAILING_URLS = 10_000
#: Seconds an idle worker waits for work before its thread ends.
WORKER_IDLE_S = 30.0
# Headers a caller may not set: the HTTP client owns framing and the target host.
_RESERVED_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry: exponential backoff capped at ``cap`` seconds."""

    max_attempts: int = 8
    base: float = 1.0
    factor: float = 2.0
    cap: float = 300.0
    timeout: float = 5.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base < 0 or self.factor < 1 or self.cap < 0:
            raise ValueError("retry policy needs max_attempts >= 1, base >= 0, factor >= 1")
        if self.timeout <= 0:
            raise ValueError("retry policy timeout must be > 0")

    def delay(self, attempt_number: int, retry_after: float | None) -> float:
        """Seconds to wait after attempt ``attempt_number`` (1-based); Retry-After wins, capped."""
        if retry_after is not None:
            return min(self.cap, max(0.0, retry_after))
        try:
            return min(self.cap, self.base * self.factor ** max(0, attempt_number - 1))
        except OverflowError:
            return self.cap


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Read a ``Retry-After`` header (delta-seconds or HTTP-date) as seconds from ``now``.

    Returns None when absent or unreadable, so the caller falls back to exponential backoff.
    """
    if value is None:
        return None
    text = value.strip()
    if re.fullmatch(r"[0-9]+(?:\.[0-9]+)?", text):
        seconds = float(text)
        return seconds if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # HTTP-dates are GMT; a naive result means "-0000"
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - now)


class DeliveryStore(Protocol):
    """The part of ``JobStore`` the outbox uses (kept narrow so tests can fake it)."""

    def put_delivery(self, delivery: Delivery) -> None: ...

    def get_delivery(self, delivery_id: str) -> Delivery | None: ...

    def pending_deliveries(self) -> list[Delivery]: ...


def _describe(exc: OSError) -> str:
    """Turn a transport error into a short message for the attempt log."""
    if isinstance(exc, TimeoutError):
        return "timeout: no response in time"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


#: What a ``mailto:`` delivery's one attempt says: the e-mail was logged, not sent.
MAIL_RECORDED = "e-mail recorded in the outbox (mockserver sends no e-mail)"


class Outbox:
    """Makes, schedules and sends webhook deliveries; safe to drive from several threads."""

    def __init__(
        self,
        store: DeliveryStore,
        clock_for: Callable[[str], Clock],
        client: HttpClient,
        *,
        signers: Mapping[str, Signer],
        allow: HostAllowList,
        policy: RetryPolicy,
        new_id: Callable[[str], str],
        faults: FaultBook | None = None,
        on_probe: Callable[..., None] | None = None,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self._store = store
        self._faults = faults
        self._clock_for = clock_for
        self._client = client
        self._signers: dict[str, Signer] = {"none": NoSigner(), **signers}
        self._allow = allow
        self._policy = policy
        self._new_id = new_id
        self._lock = threading.Lock()
        self._released = threading.Condition(self._lock)
        self._in_flight: set[str] = set()
        #: URLs a thread is sending to now (their deliveries wait their turn).
        self._busy: set[str] = set()
        self._workers = _Workers(max(1, concurrency))
        #: URLs whose last attempt got no answer (refused, reset, timed out) are sent to from
        #: their own, smaller set of threads: receivers that hang can hold those up, never the
        #: threads that serve receivers that answer.
        self._failing_workers = _Workers(max(1, concurrency // 2))
        self._failing: dict[str, None] = {}
        #: Told each ``signature_probe`` answer: (tenant, tenant time, url, status or None).
        self.on_probe = on_probe
        #: Called when a background batch of deliveries ends (the scheduler re-checks due work).
        self.on_idle: Callable[[], None] | None = None

    def register_signer(self, name: str, signer: Signer) -> None:
        """Add or replace a named signer; deliveries naming it are signed with it from now on."""
        with self._lock:
            self._signers[name] = signer

    def make(
        self,
        *,
        tenant: str,
        job_id: str | None,
        event: str,
        url: str,
        payload: Any | None = None,
        body: str | None = None,
        headers: Mapping[str, str] | None = None,
        signer: str = "standard",
    ) -> Delivery:
        """Build a pending delivery due now, or a ``blocked`` one if the URL is not allowed.

        Not stored: the engine writes it in the same transaction as its job.
        """
        now = self._clock_for(tenant).now()
        text = body if body is not None else _json(payload)
        sent = {"content-type": "application/json"}
        for name, value in (headers or {}).items():
            if name.lower() not in _RESERVED_HEADERS:
                sent[name.lower()] = value
        delivery = Delivery(
            id=self._new_id(tenant),
            tenant=tenant,
            job_id=job_id,
            event=event,
            url=url,
            body=text,
            created_at=now,
            headers=sent,
            signer=signer,
            next_attempt_at=now,
        )
        reason = None if _is_mail(url) else self._allow.check(url)
        if reason is None:
            return delivery
        return _blocked(delivery, now, reason)

    def enqueue(self, delivery: Delivery) -> None:
        """Store a delivery made outside a job write (test pings, manual sends)."""
        self._store.put_delivery(delivery)

    def _pending_with_now(self, *, waiting: bool = False) -> Iterator[tuple[Delivery, float]]:
        """Yield pending deliveries with their tenant's "now", reading each clock once.

        ``waiting``: only those no thread is sending, or about to send, right now.
        """
        clocks: dict[str, float] = {}
        busy: set[str] = set()
        if waiting:
            with self._lock:
                busy = self._busy | self._in_flight
        for delivery in self._store.pending_deliveries():
            if waiting and (delivery.id in busy or delivery.url in busy):
                continue
            if delivery.tenant not in clocks:
                clocks[delivery.tenant] = self._clock_for(delivery.tenant).now()
            yield delivery, clocks[delivery.tenant]

    def due(self) -> list[Delivery]:
        """Pending deliveries whose next attempt time has come on their tenant's clock."""
        return [d for d, now in self._pending_with_now() if _due_at(d) <= now]

    def next_due_in(self) -> float | None:
        """Seconds until the earliest pending delivery is due (0 if overdue); None if none.

        Each delivery is measured on its own tenant's clock; a frozen clock never gets there by
        itself, but the scheduler also wakes whenever a clock is moved. Deliveries a thread is
        sending now, or waiting behind one to the same URL, are left out: the thread's end
        wakes the scheduler (``on_idle``).
        """
        waits = [max(0.0, _due_at(d) - now) for d, now in self._pending_with_now(waiting=True)]
        return min(waits, default=None)

    def run_due(self, *, wait: bool = True) -> int:
        """Attempt every due delivery once; returns how many this call attempted.

        Each id is claimed under a lock and re-read from the store once claimed, so concurrent
        callers never send one delivery twice, even from a stale ``due()`` snapshot. Deliveries
        to one URL are sent one at a time in due order; different URLs in parallel.

        ``wait=True`` (the default) returns once every delivery that was due has been tried,
        waiting for another thread's sends to the same URLs if need be. ``wait=False`` (the
        scheduler's loop) hands the work to the worker threads and returns at once with how
        many deliveries it handed over. ``on_idle`` is called as each URL's batch ends.
        """
        candidates = self.due()
        attempted = 0
        while candidates:
            batches, blocked = self._claim(candidates)
            if not wait:
                for url, batch in batches.items():
                    with self._lock:
                        workers = self._failing_workers if url in self._failing else self._workers
                    workers.submit(functools.partial(self._send, url, batch))
                return sum(len(batch) for batch in batches.values())
            attempted += self._send_now(batches)
            if not blocked:
                break
            with self._released:  # another thread is sending to these URLs: wait for it
                self._released.wait(0.05)
            candidates = [d for d in blocked if self._still_due(d.id)]
        return attempted

    def _claim(
        self, candidates: Sequence[Delivery]
    ) -> tuple[dict[str, list[tuple[Delivery, Fired | None]]], list[Delivery]]:
        """Claim the due candidates whose URL is free: (their batches by URL, each with its
        fault decision, in due order), and the candidates left for a busy URL."""
        mine: list[Delivery] = []
        blocked: list[Delivery] = []
        urls: set[str] = set()
        with self._lock:
            for candidate in candidates:
                if candidate.id in self._in_flight:
                    continue
                if candidate.url in self._busy and candidate.url not in urls:
                    blocked.append(candidate)
                    continue
                urls.add(candidate.url)
                self._busy.add(candidate.url)
                self._in_flight.add(candidate.id)
                mine.append(candidate)
        batches: dict[str, list[tuple[Delivery, Fired | None]]] = {url: [] for url in urls}
        try:
            for candidate in mine:
                current = self._store.get_delivery(candidate.id)
                if current is None or not self._is_due(current):
                    self._release(candidate.id)
                    continue
                fired = self._fault(current, self._clock_for(current.tenant).now())
                batches[candidate.url].append((current, fired))
        except BaseException:  # nothing claimed may stay claimed: its URL would never send
            for candidate in mine:
                self._release(candidate.id, candidate.url)
            raise
        for url in [u for u, batch in batches.items() if not batch]:
            del batches[url]
            self._release(None, url)
        return batches, blocked

    def _send_now(self, batches: dict[str, list[tuple[Delivery, Fired | None]]]) -> int:
        """Send claimed batches and wait: the first in this thread, the others beside it."""
        if not batches:
            return 0
        items = list(batches.items())
        helpers = [
            threading.Thread(target=self._send, args=item, name="mockserver-webhook", daemon=True)
            for item in items[1 : self._workers.size]
        ]
        rest = items[self._workers.size :]  # more URLs than threads: after the first round
        for helper in helpers:
            helper.start()
        self._send(*items[0])
        for helper in helpers:
            helper.join()
        for url, batch in rest:
            self._send(url, batch)
        return sum(len(batch) for batch in batches.values())

    def _send(self, url: str, batch: list[tuple[Delivery, Fired | None]]) -> None:
        """Attempt a URL's claimed deliveries in order, then free the URL (and say so)."""
        try:
            for delivery, fired in batch:
                try:
                    done = self._attempt(delivery, fired)
                finally:
                    self._release(delivery.id)
                self._note_outcome(url, done)
        finally:
            self._release(None, url)
            if self.on_idle is not None:
                self.on_idle()

    def _note_outcome(self, url: str, delivery: Delivery) -> None:
        """Remember whether ``url`` answered its last attempt (see ``_failing_workers``)."""
        last = delivery.attempts[-1] if delivery.attempts else None
        if last is None or last.held:
            return
        with self._lock:
            if last.status_code is None and last.error is not None:
                self._failing.pop(url, None)
                self._failing[url] = None
                if len(self._failing) > FAILING_URLS:
                    del self._failing[next(iter(self._failing))]
            else:
                self._failing.pop(url, None)

    def _release(self, delivery_id: str | None, url: str | None = None) -> None:
        with self._released:
            if delivery_id is not None:
                self._in_flight.discard(delivery_id)
            if url is not None:
                self._busy.discard(url)
            self._released.notify_all()

    def _still_due(self, delivery_id: str) -> bool:
        current = self._store.get_delivery(delivery_id)
        return current is not None and self._is_due(current)

    def close(self) -> None:
        """End the worker threads once their current work is done (the outbox stays usable:
        a later background ``run_due`` starts new ones)."""
        self._workers.close()
        self._failing_workers.close()

    def _is_due(self, delivery: Delivery) -> bool:
        now = self._clock_for(delivery.tenant).now()
        return delivery.status == "pending" and _due_at(delivery) <= now

    def attempt(self, delivery: Delivery) -> Delivery:
        """Try to send ``delivery`` once, record the attempt, store and return the result."""
        return self._attempt(
            delivery, self._fault(delivery, self._clock_for(delivery.tenant).now())
        )

    def _attempt(self, delivery: Delivery, fired: Fired | None) -> Delivery:
        """:meth:`attempt` with the fault rule (or None) already decided for it."""
        clock = self._clock_for(delivery.tenant)
        now = clock.now()
        if _is_mail(delivery.url):
            record = Attempt(now, None, 0.0, response_excerpt=MAIL_RECORDED)
            return self._save(_with(delivery, record, "delivered", None))
        reason = self._allow.check(delivery.url)
        if reason is not None:
            return self._save(_blocked(delivery, now, reason))
        kind = fired.rule.action.kind if fired is not None and fired.rule is not None else None
        note = fired.describe() if fired is not None else None
        if fired is not None and fired.out_of_order:  # an ordered scenario: fail visibly
            record = Attempt(now, None, 0.0, error=f"mockserver scenario: {note}", fault=note)
            return self._retry_or_fail(delivery, record, clock.now(), None)
        if fired is not None and kind in _HELD:
            return self._save(_held(delivery, now, fired, self._pending_after(delivery, now)))
        if kind == "drop":
            record = Attempt(now, None, 0.0, error="dropped: never sent", fault=note)
            return self._save(_with(delivery, record, "dropped", None))
        if fired is not None and kind == "status":
            code = fired.rule.action.status if fired.rule is not None else 500
            record = Attempt(now, code, 0.0, error=f"HTTP {code} (fault: not sent)", fault=note)
            return self._retry_or_fail(delivery, record, clock.now(), None)
        if kind == "reset":
            record = Attempt(now, None, 0.0, error="connection reset (fault: not sent)", fault=note)
            return self._retry_or_fail(delivery, record, clock.now(), None)
        body = delivery.body.encode("utf-8", "backslashreplace")  # input refuses lone surrogates
        headers = {"user-agent": USER_AGENT, **delivery.headers}
        try:
            headers.update(self._sign(delivery, body, now))
        except Exception as exc:  # a plugin signer must not take the scheduler down
            record = Attempt(now, None, 0.0, error=f"signing failed: {exc}", headers=headers)
            return self._retry_or_fail(delivery, record, clock.now(), None)
        if kind == "bad_signature":
            headers = _spoiled(headers)
        if kind == "signature_probe":
            delivery = self._probe(delivery, body, headers, now, f"{note}: {PROBE_MARK}")
        outcome = self._post(delivery, body, headers, now, note)
        if isinstance(outcome, Attempt):
            delivery = self._retry_or_fail(delivery, outcome, clock.now(), None)
        else:
            response, latency = outcome
            delivery = self._settle(
                delivery, response, now, latency, headers, clock.now(), fault=note
            )
        if fired is not None and fired.rule is not None and kind == "duplicate":
            for n in range(fired.rule.action.count):
                extra = self._post(delivery, body, headers, clock.now(), f"{note}: copy {n + 1}")
                if not isinstance(extra, Attempt):
                    response, latency = extra
                    excerpt = response.body.decode("utf-8", errors="replace")[:EXCERPT_CHARS]
                    extra = Attempt(clock.now(), response.status, latency, None, excerpt,
                                    dict(headers), f"{note}: copy {n + 1}")  # fmt: skip
                delivery = self._save(replace(delivery, attempts=(*delivery.attempts, extra)))
        return delivery

    def _probe(
        self, delivery: Delivery, body: bytes, headers: dict[str, str], now: float, note: str
    ) -> Delivery:
        """Send a copy whose signature is wrong before the real delivery: a receiver that
        answers it 2xx does not verify signatures (``/_mock/report`` says so)."""
        spoiled = _spoiled(headers)
        outcome = self._post(delivery, body, spoiled, now, note)
        if not isinstance(outcome, Attempt):
            response, latency = outcome
            excerpt = response.body.decode("utf-8", errors="replace")[:EXCERPT_CHARS]
            outcome = Attempt(now, response.status, latency, None, excerpt, dict(spoiled), note)
        if self.on_probe is not None:
            self.on_probe(delivery.tenant, at=now, url=delivery.url, status=outcome.status_code,
                          probe=True)  # fmt: skip
        return self._save(replace(delivery, attempts=(*delivery.attempts, outcome)))

    def _post(
        self, delivery: Delivery, body: bytes, headers: dict[str, str], now: float, note: str | None
    ) -> Attempt | tuple[HttpResponse, float]:
        """One POST: the response with its latency (ms), or the failed attempt."""
        started = time.perf_counter()
        try:
            response = self._client.post(delivery.url, body, headers, self._policy.timeout)
        except OSError as exc:
            latency = (time.perf_counter() - started) * 1000.0
            return Attempt(now, None, latency, error=_describe(exc), headers=headers, fault=note)
        return response, (time.perf_counter() - started) * 1000.0

    def _fault(self, delivery: Delivery, now: float) -> Fired | None:
        """The fault rule for this attempt (operation ``webhook`` of the job's provider). The
        attempt that follows a hold is not asked again: a hold applies once per delivery."""
        if self._faults is None or (delivery.attempts and delivery.attempts[-1].held):
            return None
        provider = delivery.event.partition(".")[0]
        call = Call(provider, "webhook", delivery.tenant, delivery.job_id, now)
        return self._faults.decide(call)

    def _pending_after(self, delivery: Delivery, now: float) -> float:
        """Where a reordered delivery goes: just after the tenant's last other pending one."""
        others = [
            _due_at(d)
            for d in self._store.pending_deliveries()
            if d.tenant == delivery.tenant and d.id != delivery.id
        ]
        latest = max([o for o in others if math.isfinite(o)], default=now)
        return max(latest, now) + 0.001

    def _sign(self, delivery: Delivery, body: bytes, now: float) -> dict[str, str]:
        """Run the delivery's named signer; an unknown name is a delivery error, not a crash."""
        with self._lock:
            signer = self._signers.get(delivery.signer)
        if signer is None:
            raise LookupError(f"unknown signer {delivery.signer!r}")
        return {name.lower(): value for name, value in signer(delivery, body, now).items()}

    def _settle(
        self,
        delivery: Delivery,
        response: HttpResponse,
        at: float,
        latency_ms: float,
        headers: Mapping[str, str],
        done: float,
        *,
        fault: str | None = None,
    ) -> Delivery:
        """Record a response and move the delivery on: delivered, gone, or retry/fail."""
        status = response.status
        excerpt = response.body.decode("utf-8", errors="replace")[:EXCERPT_CHARS]
        error = None
        if not 200 <= status < 300 and status != 410:
            error = f"HTTP {status}"
            if 300 <= status < 400:
                error += " (redirects are not followed)"
        record = Attempt(at, status, latency_ms, error, excerpt, dict(headers), fault)
        if 200 <= status < 300:
            return self._save(_with(delivery, record, "delivered", None))
        if status == 410:
            return self._save(_with(delivery, record, "gone", None))
        retry_after = parse_retry_after(response.headers.get("retry-after"), done)
        return self._retry_or_fail(delivery, record, done, retry_after)

    def _retry_or_fail(
        self, delivery: Delivery, record: Attempt, done: float, retry_after: float | None
    ) -> Delivery:
        """Schedule the next try after a failed attempt, or give up after ``max_attempts``."""
        count = sum(not a.held and not a.probe for a in delivery.attempts) + 1
        if count >= self._policy.max_attempts:
            return self._save(_with(delivery, record, "failed", None))
        next_at = done + self._policy.delay(count, retry_after)
        return self._save(_with(delivery, record, "pending", next_at))

    def _save(self, delivery: Delivery) -> Delivery:
        self._store.put_delivery(delivery)
        return delivery

    def redeliver(self, delivery_id: str) -> Delivery | None:
        """Make a delivery pending and due now again, keeping its history; blocked stays blocked.

        ``max_attempts`` counts the whole history, so a delivery that had used them all gets one
        more try (a dashboard "resend"). A redeliver racing an in-flight attempt loses to it.
        """
        delivery = self._store.get_delivery(delivery_id)
        if delivery is None or delivery.status == "blocked":
            return delivery
        now = self._clock_for(delivery.tenant).now()
        return self._save(replace(delivery, status="pending", next_attempt_at=now))


def _is_mail(url: str) -> bool:
    return url[:7].lower() == "mailto:"


def _due_at(delivery: Delivery) -> float:
    """When a pending delivery is due; one without a time (hand-built) is due at once."""
    return -math.inf if delivery.next_attempt_at is None else delivery.next_attempt_at


def _json(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def _with(
    delivery: Delivery, record: Attempt, status: DeliveryStatus, next_at: float | None
) -> Delivery:
    return replace(
        delivery, status=status, next_attempt_at=next_at, attempts=(*delivery.attempts, record)
    )


#: Fault kinds that hold a delivery back instead of sending it now.
_HELD = frozenset({"latency", "reorder"})


def _held(delivery: Delivery, now: float, fired: Fired, after: float) -> Delivery:
    """Hold a delivery back: ``latency`` by the drawn delay, ``reorder`` until just after the
    tenant's other pending deliveries (so they overtake it). Recorded, not counted as a try."""
    assert fired.rule is not None
    when = (
        now + fired.delay if fired.rule.action.kind == "latency" else max(after, now + fired.delay)
    )
    record = Attempt(now, None, 0.0, fault=f"{fired.describe()}: held until {when:.3f}")
    return replace(delivery, next_attempt_at=when, attempts=(*delivery.attempts, record))


def _spoiled(headers: dict[str, str]) -> dict[str, str]:
    """The headers with every signature value altered (its last character changed), whatever
    the scheme calls it (``webhook-signature``, ``x-edenai-signature``)."""
    out = dict(headers)
    for name, value in headers.items():
        if "signature" in name and value:
            out[name] = value[:-1] + ("0" if value[-1] != "0" else "1")
    return out


def _blocked(delivery: Delivery, now: float, reason: str) -> Delivery:
    """Mark a delivery as never to be sent, recording the allow-list's reason as an attempt."""
    record = Attempt(at=now, status_code=None, latency_ms=0.0, error=f"blocked: {reason}")
    return _with(delivery, record, "blocked", None)


class _Workers:
    """Daemon threads running submitted callables, at most ``size`` at once; a thread idle
    for :data:`WORKER_IDLE_S` ends, so an outbox nobody closes leaves no threads behind."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._tasks: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0  # threads waiting for a task
        self._started: list[threading.Thread] = []

    def submit(self, task: Callable[[], None]) -> None:
        with self._lock:  # put under the lock: a thread timing out sees the task and stays
            self._tasks.put(task)
            start = self._idle < self._tasks.qsize() and self._threads < self.size
            if start:
                self._threads += 1
        if start:
            thread = threading.Thread(
                target=self._run, name="mockserver-webhooks-worker", daemon=True
            )
            with self._lock:
                self._started = [t for t in self._started if t.is_alive()] + [thread]
            thread.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            try:
                task = self._tasks.get(timeout=WORKER_IDLE_S)
            except queue.Empty:
                with self._lock:
                    self._idle -= 1
                    if self._tasks.empty():
                        self._threads -= 1
                        return
                continue
            with self._lock:
                self._idle -= 1
                if task is None:
                    self._threads -= 1
                    return
            try:
                task()
            except Exception:  # a failed batch must not take the worker down
                log.exception("webhook delivery batch failed")

    def close(self, timeout: float = 5.0) -> None:
        """Stop every worker once its current task is done; wait (up to ``timeout``) for them,
        so a closed outbox leaves no thread behind."""
        with self._lock:
            for _ in range(self._threads):
                self._tasks.put(None)
            started = list(self._started)
        deadline = time.monotonic() + timeout
        for thread in started:
            thread.join(max(0.0, deadline - time.monotonic()))
