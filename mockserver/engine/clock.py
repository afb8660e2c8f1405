"""Clocks: the only source of "now" in the engine.

Every lifecycle state is a pure function of a plan and a clock reading, so time is injected
rather than read from ``time.time()`` (moto reads ``datetime.now()`` directly and its tests need
freezegun; ours need nothing). Clocks nest: each tenant's clock is layered on the server clock,
so advancing the server clock moves every tenant, while advancing one tenant's clock moves only
that tenant's jobs (parallel CI shards sharing one server stay independent).
"""

from __future__ import annotations

import math
import threading
import time
from typing import Protocol

__all__ = ["Clock", "ClockRegistry", "SystemClock", "VirtualClock"]


class Clock(Protocol):
    """Anything that tells the time in Unix seconds."""

    def now(self) -> float: ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> float:
        return time.time()


class VirtualClock:
    """A clock layered on a base clock: an offset while running, a fixed reading while frozen.

    ``advance`` and ``set`` never move a frozen clock's reading backwards unless asked to with
    ``set``; the control API refuses to set a clock into the past so that timestamps clients have
    already seen never go back.
    """

    def __init__(self, base: Clock, *, frozen: bool = False, offset: float = 0.0) -> None:
        self._base = base
        self._lock = threading.Lock()
        self._offset = offset
        self._frozen_at: float | None = base.now() + offset if frozen else None

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    @property
    def moving(self) -> bool:
        """Whether this reading advances by itself: not frozen, nor layered on a frozen clock
        (a tenant clock runs on the server clock, which ``--clock virtual`` freezes)."""
        if self.frozen:
            return False
        return bool(getattr(self._base, "moving", True))

    def now(self) -> float:
        frozen_at = self._frozen_at
        if frozen_at is not None:
            return frozen_at
        return self._base.now() + self._offset

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` (must be >= 0) and return the new reading."""
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValueError("a clock only moves forward: seconds must be finite and >= 0")
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._offset += seconds
            return self.now()

    def set(self, when: float) -> float:
        """Jump to the absolute time ``when`` (Unix seconds); refuses to go back."""
        if not math.isfinite(when):
            raise ValueError(f"cannot set the clock to {when!r}: not a finite time")
        with self._lock:
            current = self.now()
            if when < current:
                raise ValueError(
                    f"cannot set the clock back from {current:.3f} to {when:.3f}: "
                    "timestamps already served would go back"
                )
            if self._frozen_at is not None:
                self._frozen_at = when
            else:
                self._offset += when - current
            return self.now()

    def freeze(self) -> float:
        """Stop the clock at its current reading."""
        with self._lock:
            if self._frozen_at is None:
                self._frozen_at = self._base.now() + self._offset
            return self._frozen_at

    def unfreeze(self) -> float:
        """Let the clock run again from its current reading."""
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - self._base.now()
                self._frozen_at = None
            return self.now()

    def describe(self) -> dict[str, object]:
        return {"now": self.now(), "frozen": self.frozen, "offset": round(self._offset, 6)}


class ClockRegistry:
    """The server clock plus one lazily created clock per tenant, layered on it."""

    def __init__(self, base: Clock | None = None, *, frozen: bool = False) -> None:
        self._base = base or SystemClock()
        self._start_frozen = frozen
        self.server = VirtualClock(self._base, frozen=frozen)
        self._tenants: dict[str, VirtualClock] = {}
        self._lock = threading.Lock()

    def for_tenant(self, tenant: str) -> VirtualClock:
        clock = self._tenants.get(tenant)
        if clock is None:
            with self._lock:
                clock = self._tenants.get(tenant)
                if clock is None:
                    clock = VirtualClock(self.server)
                    self._tenants[tenant] = clock
        return clock

    def peek(self, tenant: str) -> VirtualClock | None:
        """The tenant's own clock, if it has one (reading the time never creates one: every
        request from a new key would otherwise leave a clock behind)."""
        return self._tenants.get(tenant)

    def tenants(self) -> list[str]:
        return sorted(self._tenants)

    def reset(self, tenant: str | None = None) -> None:
        """Forget one tenant's clock, or every clock (the server clock restarts as configured)."""
        with self._lock:
            if tenant is not None:
                self._tenants.pop(tenant, None)
                return
            self._tenants.clear()
            self.server = VirtualClock(self._base, frozen=self._start_frozen)
