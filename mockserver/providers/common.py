"""What every provider face shares: the runtime, tenants, and per-request lifecycle headers.

``X-Mock-Profile`` (a profile name) and ``X-Mock-Lifecycle`` (a JSON object of profile
overrides, e.g. ``{"job_failure_rate": 1}``) let one request choose how its job behaves, without
touching the server's or the tenant's settings (DESIGN.md, "Lifecycle"). Real clients never send
them; the official SDKs can (``request_options={"additional_headers": ...}`` in Hume's).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, current_app, g, has_request_context

from ..engine.lifecycle import JobState
from ..engine.profiles import get_profile
from ..engine.records import Job
from ..faultwire import check_faults
from ..runtime import Runtime
from ..validation import Violation, load_json

__all__ = [
    "ErrorRenderer",
    "LazyHooks",
    "LifecycleChoice",
    "add_error_renderer",
    "enter_tenant",
    "error_renderer_for",
    "contract_gate",
    "lifecycle_choice",
    "note_behaviour",
    "note_request",
    "runtime",
    "submit_after_model",
    "under_fault_lifecycle",
]

PROFILE_HEADER = "X-Mock-Profile"
LIFECYCLE_HEADER = "X-Mock-Lifecycle"
_RENDERERS = "mockserver.error_renderers"

#: Renders a routing error (unknown path, wrong method) as ``(status, default message)``.
ErrorRenderer = Callable[[int, str], Response]


def add_error_renderer(app: Flask, prefix: str, render: ErrorRenderer) -> None:
    """Answer routing errors under ``prefix`` in the vendor's error shape, not the control API's."""
    app.extensions.setdefault(_RENDERERS, []).append((prefix.rstrip("/"), render))


def error_renderer_for(app: Flask, path: str) -> ErrorRenderer | None:
    for prefix, render in app.extensions.get(_RENDERERS, ()):
        if path == prefix or path.startswith(prefix + "/"):
            found: ErrorRenderer = render
            return found
    return None


def runtime() -> Runtime:
    found: Runtime = current_app.extensions["mockserver"]
    return found


def json_response(body: Any, status: int = 200) -> Response:
    """What ``jsonify`` answers (compact, ASCII, a trailing newline), for plain JSON data, without
    the JSON provider's per-call machinery: the hot status reads use it."""
    text = json.dumps(body, separators=(",", ":")) + "\n"
    return Response(text, status=status, mimetype="application/json")


def note_request(provider: str, operation: str, tenant: str | None = None) -> None:
    """Tell the request journal what this request was (see ``app._install_journal``); with the
    tenant known, the fault rules get their say (:func:`enter_tenant`)."""
    g.mock_provider = provider
    g.mock_operation = operation
    if tenant is not None:
        enter_tenant(tenant)


def enter_tenant(tenant: str) -> None:
    """The caller is known: record the tenant, then apply any fault rule that fires for this
    call (a ``status`` fault answers the request here, before the view does anything)."""
    g.mock_tenant = tenant
    check_faults(tenant)


def note_behaviour(kind: str, detail: str = "") -> None:
    """Tell the conformance log (``engine/conformance.py``) what this request shows about its
    client, e.g. ``early_result_read``; recorded with the journal entry."""
    g.setdefault("mock_behaviours", []).append((kind, detail))


def contract_gate(violations: Sequence[Violation], refuse: Callable[[], Exception]) -> None:
    """Apply ``--validation`` to a request's contract violations.

    ``strict`` raises ``refuse()`` (the vendor's 400, which records the violations);
    ``warn`` records them for the journal and the report and lets the view go on; ``off`` lets
    it go on silently. In both lenient modes a view that cannot make sense of the request
    still answers the vendor's 400 (:func:`unserved`), never a 500.
    """
    if not violations:
        return
    mode = runtime().settings.validation
    if mode == "strict":
        raise refuse()
    g.mock_unserved = refuse
    if mode == "warn":
        g.mock_violations = [*g.get("mock_violations", []), *(v.to_json() for v in violations)]


def unserved() -> Callable[[], Exception] | None:
    """The refusal a lenient mode let through, if this request had one (``contract_gate``)."""
    if not has_request_context():
        return None
    found: Callable[[], Exception] | None = g.get("mock_unserved")
    return found


@dataclass(frozen=True)
class LifecycleChoice:
    """The profile and overrides one request asked for (``None``: the tenant's)."""

    profile: str | None
    overrides: Mapping[str, Any] | None


def lifecycle_choice(headers: Mapping[str, str]) -> LifecycleChoice:
    """Read the two headers; a bad value raises ``ValueError`` with a message for the client.

    A ``lifecycle`` fault rule that fired for this request (``faultwire``) comes under them
    (:func:`under_fault_lifecycle`).
    """
    profile = headers.get(PROFILE_HEADER) or None
    if profile is not None:
        profile = get_profile(profile.strip()).name
    raw = headers.get(LIFECYCLE_HEADER)
    overrides = None
    if raw:
        try:
            overrides = load_json(raw)
        except ValueError:
            raise ValueError(f"{LIFECYCLE_HEADER} must be a JSON object, got {raw!r}") from None
        if not isinstance(overrides, dict):
            raise ValueError(f"{LIFECYCLE_HEADER} must be a JSON object, got {raw!r}")
    choice = LifecycleChoice(profile, overrides)
    if has_request_context() and "mock_fault_lifecycle" in g:
        choice = under_fault_lifecycle(choice, *g.mock_fault_lifecycle)
    if choice.overrides:
        get_profile(choice.profile or "instant").with_overrides(choice.overrides)  # refuse now
    return choice


def under_fault_lifecycle(
    choice: LifecycleChoice | None, profile: str | None, overrides: Mapping[str, Any] | None
) -> LifecycleChoice:
    """A ``lifecycle`` fault's profile and overrides, under what the request itself asked for:
    the request's profile wins, and its overrides replace the rule's field by field."""
    asked = choice or LifecycleChoice(None, None)
    merged = {**(overrides or {}), **(asked.overrides or {})}
    return LifecycleChoice(asked.profile or profile, merged or None)


class LazyHooks:
    """Engine hooks of a provider whose results are computed when read and never stored, and
    which sends no webhooks: containers, uploaded files, stream segments. ``compute(job, i)``
    is an item's result; without it the jobs have no items to read."""

    lazy_results = True

    def __init__(self, name: str, compute: Callable[[Job, int], Any] | None = None) -> None:
        self.name = name
        self._compute = compute

    def compute_result(self, job: Job, index: int) -> Any:
        if self._compute is None:
            raise LookupError(f"{self.name} jobs have no items")
        return self._compute(job, index)

    def notifications(self, job: Job, view: JobState) -> Sequence[Any]:
        return ()


def submit_after_model(runtime: Runtime, submit: Callable[[bool], Job]) -> Job:
    """Store a job whose results need the model: ``submit(hold)`` holds it while the model
    loads, so its timeline starts when results can be computed (Hume, Eden AI).

    If the model finished loading while the job was being stored, the release pass may have
    missed the job, so it is released here (``release_held`` is idempotent).
    """
    inference = runtime.inference
    hold = not inference.ready
    if hold:
        inference.start()
    job = submit(hold)
    if hold and inference.ready:
        runtime.engine.release_held()
    return job
