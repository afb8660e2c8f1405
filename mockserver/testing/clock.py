"""Read and move an emulator's virtual clock from a test (``/_mock/clock``).

Moving the clock is how a test waits without sleeping: with ``clock = "virtual"`` (the plugin's
default) nothing moves until the test says so, and every advance runs the side effects that
became due (results, webhooks) before it returns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .control import Emulator, as_emulator

__all__ = ["Clock"]


class Clock:
    """The server clock of one emulator, or one tenant's (:meth:`tenant`)."""

    def __init__(self, target: Any, tenant: str | None = None) -> None:
        self.emulator: Emulator = as_emulator(target)
        self.tenant_name = tenant

    def tenant(self, tenant: str) -> Clock:
        """The clock of ``tenant`` (an API key): it moves alone, on top of the server clock."""
        return Clock(self.emulator, tenant)

    def read(self) -> dict[str, Any]:
        """``{tenant, now, now_iso, frozen}`` as the control API reports it."""
        answer: dict[str, Any] = self.emulator.call("GET", "/clock", tenant=self.tenant_name)
        return answer

    def now(self) -> float:
        """The clock's reading in Unix seconds."""
        return float(self.read()["now"])

    @property
    def frozen(self) -> bool:
        return bool(self.read()["frozen"])

    def advance(self, seconds: float) -> float:
        """Move the clock forward and run what became due; returns the new reading."""
        body = {"seconds": seconds, "tenant": self.tenant_name}
        return float(self.emulator.call("POST", "/clock/advance", body)["now"])

    def set(
        self, when: float | str | datetime | None = None, *, frozen: bool | None = None
    ) -> float:
        """Jump to ``when`` (Unix seconds, ISO 8601 or an aware datetime; never backwards) and/or
        freeze or release the clock; returns the new reading."""
        body: dict[str, Any] = {"tenant": self.tenant_name}
        if when is not None:
            body["time"] = when.isoformat() if isinstance(when, datetime) else when
        if frozen is not None:
            body["frozen"] = frozen
        return float(self.emulator.call("POST", "/clock/set", body)["now"])

    def freeze(self) -> float:
        return self.set(frozen=True)

    def unfreeze(self) -> float:
        """Let the clock follow real time from its current reading."""
        return self.set(frozen=False)

    def __repr__(self) -> str:
        scope = f"tenant {self.tenant_name!r}" if self.tenant_name else "server"
        return f"<Clock {scope} of {self.emulator!r}>"
