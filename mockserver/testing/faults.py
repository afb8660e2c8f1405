"""Install fault rules for one test and take them away after it (``/_mock/faults``).

Rules are installed through the control API, so the same test can run against an in-process
app or a shared live server; only the rules this helper installed are removed afterwards (by
id), so rules another test or the server's start-up ``--scenario`` installed stay in place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .control import ControlError, Emulator, as_emulator

__all__ = ["Faults"]


class Faults:
    """Installs bundled scenarios or inline rules, server-wide or for one tenant."""

    def __init__(self, target: Any) -> None:
        self.emulator: Emulator = as_emulator(target)
        self.installed: list[str] = []

    def __call__(
        self,
        scenario: str | None = None,
        *,
        rules: Sequence[Mapping[str, Any]] | None = None,
        tenant: str | None = None,
        mode: str | None = None,
    ) -> list[dict[str, Any]]:
        """Install a bundled ``scenario`` by name (``rate-limited``, ...) or inline ``rules``
        (the ``/_mock/faults`` rule objects); ``tenant`` limits them to one API key, ``mode``
        is ``first`` or ``ordered``. Returns the rules as installed (with their ids)."""
        if (scenario is None) == (rules is None):
            raise TypeError("give either a scenario name or rules, not both")
        body: dict[str, Any] = {"tenant": tenant, "mode": mode}
        if scenario is not None:
            body["scenario"] = scenario
        else:
            body["rules"] = [dict(rule) for rule in rules or ()]
        answer = self.emulator.call("POST", "/faults", body)
        added: list[dict[str, Any]] = answer["rules"]
        self.installed.extend(str(rule["id"]) for rule in added)
        return added

    install = __call__

    def state(self, tenant: str | None = None) -> list[dict[str, Any]]:
        """Installed plans with each rule's counters (calls seen, fired, firings left)."""
        plans: list[dict[str, Any]] = self.emulator.call("GET", "/faults", tenant=tenant)["plans"]
        return plans

    def fired(self, rule_id: str) -> int:
        """How many times one rule fired so far (0 when it is gone)."""
        for plan in self.state():
            for rule in plan["rules"]:
                if rule.get("id") == rule_id:
                    return int(rule.get("fired", 0))
        return 0

    def remove(self) -> None:
        """Remove every rule this helper installed that is still there."""
        while self.installed:
            rule_id = self.installed.pop()
            try:
                self.emulator.call("DELETE", f"/faults/{rule_id}")
            except ControlError as exc:
                if exc.status != 404:  # gone already: a reset or the test removed it
                    raise
