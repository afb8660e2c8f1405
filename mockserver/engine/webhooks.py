"""The webhook outbox: vendor-neutral, durable, retried, signed, and unable to reach elsewhere.

Providers describe *what* to send (:meth:`Outbox.make`); the engine stores the delivery in the
same write as its job, so a restart neither loses nor repeats notifications; the scheduler calls
:meth:`Outbox.run_due`. Retry times live on the tenant's clock, so a test with a frozen clock
steps through the whole backoff schedule by advancing it, with no sleeping.

Every URL passes a :class:`HostAllowList` (loopback only by default) when the delivery is made
and again just before each send, and the HTTP client never follows redirects: the server can be
pointed at a test's receiver and nowhere else. Host names are matched literally, never resolved.

A ``mailto:`` URL is a record-only channel: vendors that e-mail the account owner (Hume's
``notify``) put the e-mail in the outbox, where the delivery log shows it as ``delivered`` with
one attempt that says it was recorded; nothing leaves the machine.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
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

EXCERPT_CHARS = 512
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
        self._in_flight: set[str] = set()
        #: Told each ``signature_probe`` answer: (tenant, tenant time, url, status or None).
        self.on_probe = on_probe

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

    def _pending_with_now(self) -> Iterator[tuple[Delivery, float]]:
        """Yield pending deliveries with their tenant's "now", reading each clock once."""
        clocks: dict[str, float] = {}
        for delivery in self._store.pending_deliveries():
            if delivery.tenant not in clocks:
                clocks[delivery.tenant] = self._clock_for(delivery.tenant).now()
            yield delivery, clocks[delivery.tenant]

    def due(self) -> list[Delivery]:
        """Pending deliveries whose next attempt time has come on their tenant's clock."""
        return [d for d, now in self._pending_with_now() if _due_at(d) <= now]

    def next_due_in(self) -> float | None:
        """Seconds until the earliest pending delivery is due (0 if overdue); None if none.

        Each delivery is measured on its own tenant's clock; a frozen clock never gets there by
        itself, but the scheduler also wakes whenever a clock is moved.
        """
        waits = [max(0.0, _due_at(d) - now) for d, now in self._pending_with_now()]
        return min(waits, default=None)

    def run_due(self) -> int:
        """Attempt every due delivery once; returns how many this call attempted.

        Each id is claimed under a lock and re-read from the store once claimed, so concurrent
        callers never send one delivery twice, even from a stale ``due()`` snapshot.
        """
        attempted = 0
        for candidate in self.due():
            with self._lock:
                if candidate.id in self._in_flight:
                    continue
                self._in_flight.add(candidate.id)
            try:
                current = self._store.get_delivery(candidate.id)
                if current is None or not self._is_due(current):
                    continue
                self.attempt(current)
                attempted += 1
            finally:
                with self._lock:
                    self._in_flight.discard(candidate.id)
        return attempted

    def _is_due(self, delivery: Delivery) -> bool:
        now = self._clock_for(delivery.tenant).now()
        return delivery.status == "pending" and _due_at(delivery) <= now

    def attempt(self, delivery: Delivery) -> Delivery:
        """Try to send ``delivery`` once, record the attempt, store and return the result."""
        clock = self._clock_for(delivery.tenant)
        now = clock.now()
        if _is_mail(delivery.url):
            record = Attempt(now, None, 0.0, response_excerpt=MAIL_RECORDED)
            return self._save(_with(delivery, record, "delivered", None))
        reason = self._allow.check(delivery.url)
        if reason is not None:
            return self._save(_blocked(delivery, now, reason))
        fired = self._fault(delivery, now)
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
        body = delivery.body.encode("utf-8")
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
