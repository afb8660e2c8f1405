"""What a client did wrong, as findings a test can assert on: ``assert_client_clean``.

Every request the emulator serves is checked against the vendor's contract, and the journal
keeps the violations found (``violations``: ``{location, pointer, rule, message}`` per entry).
A client can get away with a refused request (it retried, or swallowed the 400), so a test that
only looks at the client's own outcome misses it; :func:`assert_client_clean` looks at what the
server saw.

Where findings come from is decided in one place, :func:`fetch_findings`: the journal's
contract violations (one finding per violating request, with its journal id), and, when asked
(``behaviours=True``, one tenant), the behaviour findings of ``GET /_mock/report?tenant=T``
(fast polling, ignored ``Retry-After``, resubmission after a drop, early result reads, a webhook
receiver that accepts a wrong signature) as findings of kind ``behaviour``. Behaviours are
opt-in: an in-process test on a frozen clock polls "fast" by construction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .control import Emulator, as_emulator

__all__ = ["ClientNotClean", "Finding", "Report", "assert_client_clean", "fetch_findings"]


@dataclass(frozen=True)
class Finding:
    """One thing a client did wrong, with where it happened."""

    kind: str  # "contract" today; "behaviour" once a report feeds findings
    operation: str | None
    method: str
    path: str
    status: int | None
    rule: str
    message: str
    location: str | None = None
    pointer: str | None = None
    tenant: str | None = None
    journal_id: int | None = None

    def describe(self) -> str:
        """One line: operation, method and path, pointer, rule, then the message."""
        where = f"{self.location} {self.pointer or '(root)'}" if self.location else ""
        head = f"{self.operation or 'unknown operation'} {self.method} {self.path}"
        status = f" -> {self.status}" if self.status is not None else ""
        parts = [f"{head}{status}", where, f"rule {self.rule!r}", self.message]
        return ": ".join(p for p in parts if p)


@dataclass
class Report:
    """The findings against one tenant (``None``: every request the journal kept)."""

    tenant: str | None
    requests: int
    findings: list[Finding] = field(default_factory=list)
    #: Journal entries dropped for capacity: findings among them were not seen.
    dropped: int = 0

    @property
    def clean(self) -> bool:
        return not self.findings

    def text(self) -> str:
        """A message that lists every finding, one per line."""
        who = f"tenant {self.tenant!r}" if self.tenant is not None else "all tenants"
        if self.clean:
            return f"{who}: {self.requests} request(s), no findings"
        lines = [f"{who}: {len(self.findings)} finding(s) in {self.requests} request(s):"]
        lines += [f"  - {finding.describe()}" for finding in self.findings]
        if self.dropped:
            lines.append(f"  ({self.dropped} older journal entries were dropped for capacity)")
        return "\n".join(lines)


class ClientNotClean(AssertionError):
    """Raised by :func:`assert_client_clean`; ``report`` holds the findings."""

    def __init__(self, report: Report) -> None:
        super().__init__(report.text())
        self.report = report


def _contract_findings(entries: Iterable[dict[str, Any]]) -> list[Finding]:
    found: list[Finding] = []
    for entry in entries:
        for violation in entry.get("violations") or ():
            found.append(
                Finding(
                    kind="contract",
                    operation=entry.get("operation"),
                    method=str(entry.get("method", "")),
                    path=str(entry.get("path", "")),
                    status=entry.get("status"),
                    rule=str(violation.get("rule", "")),
                    message=str(violation.get("message", "")),
                    location=violation.get("location"),
                    pointer=violation.get("pointer"),
                    tenant=entry.get("tenant"),
                    journal_id=entry.get("id"),
                )
            )
    return found


def _behaviour_findings(emulator: Emulator, tenant: str) -> list[Finding]:
    report = emulator.call("GET", "/report", tenant=tenant)
    return [
        Finding(
            kind="behaviour",
            operation=b.get("operation"),
            method="",
            path=(b.get("examples") or [""])[0],
            status=None,
            rule=str(b["kind"]),
            message=f"{b['message']} ({b['count']} time(s))",
            tenant=tenant,
        )
        for b in report.get("behaviours", ())
        if b.get("finding")
    ]


def fetch_findings(target: Any, tenant: str | None, *, behaviours: bool = False) -> Report:
    """The one place findings are fetched: the journal's contract violations, plus (with
    ``behaviours`` and a tenant) the behaviour findings of ``GET /_mock/report``."""
    emulator: Emulator = as_emulator(target)
    answer = emulator.call("GET", "/journal", tenant=tenant, limit=1_000_000)
    entries: list[dict[str, Any]] = answer["entries"][::-1]  # oldest first
    findings = _contract_findings(entries)
    if behaviours and tenant is not None:
        findings += _behaviour_findings(emulator, tenant)
    return Report(
        tenant=tenant,
        requests=len(entries),
        findings=findings,
        dropped=int(answer.get("dropped") or 0),
    )


def assert_client_clean(
    target: Any, tenant: str | None = None, *, behaviours: bool = False
) -> Report:
    """Fail when the emulator saw requests from ``tenant`` (its API key; ``None``: anyone) that
    broke the vendor's contract (and, with ``behaviours``, a behaviour finding of its report).
    The message lists each finding: operation, method and path, JSON pointer, rule and
    message. Returns the (clean) report."""
    report = fetch_findings(target, tenant, behaviours=behaviours)
    if not report.clean:
        raise ClientNotClean(report)
    return report
