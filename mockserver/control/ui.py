"""``/_mock/ui``: a dashboard of what clients did, served from the package (``mockserver/_ui``).

The page is plain HTML, CSS and one script, with no build step and no external URL (a
Content-Security-Policy of ``'self'`` holds the browser to that). Its script reads the control
API the tests use (jobs, job details and results, journal, report, webhooks, faults, clock,
profile) and drives it (advance the clock, step a job, reset, load a scenario).

Live updates: the script polls ``GET /_mock/ui/changes``, a ~30-byte fingerprint of everything
the page shows, and re-reads the API only when it changes. The fingerprint covers what moves
without a request too: a job's state is a function of its tenant's clock, so it includes each
unsettled job's next transition (cached per plan, recomputed once the clock passes it).

This blueprint is nested in the control API's (``routes.bp``): the admin token guard and the
error rendering are the control API's. The page and its assets hold no state and are served
without the token (``PUBLIC_VIEWS``): the script takes ``?token=`` and sends it as a header.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify

from ..engine import lifecycle
from ..engine.clock import VirtualClock
from ..engine.lifecycle import Plan
from ..runtime import Runtime
from .errors import ControlError

__all__ = ["ASSETS_DIR", "PUBLIC_VIEWS", "UI_DIR", "Watch", "bp", "fingerprint"]

UI_DIR = Path(__file__).resolve().parent.parent / "_ui"
ASSETS_DIR = UI_DIR / "assets"

#: Served asset types, by suffix; anything else under ``assets/`` is not served.
ASSET_TYPES = {
    ".css": "text/css",  # Flask adds "; charset=utf-8" to text types
    ".js": "text/javascript",
    ".svg": "image/svg+xml",
}
_ASSET_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*\.[a-z]+$")

#: The browser may load only what this server serves: no CDN, no inline script.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

bp = Blueprint("mock_ui", __name__, url_prefix="/ui")

#: Views served without the admin token: they hold no state.
PUBLIC_VIEWS = ("page", "asset")


def _runtime() -> Runtime:
    runtime: Runtime = current_app.extensions["mockserver"]
    return runtime


def _static(body: bytes, mimetype: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("")
def page() -> Response:
    """The dashboard page (``index.html``)."""
    response = _static((UI_DIR / "index.html").read_bytes(), "text/html")
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Referrer-Policy"] = "no-referrer"  # a ?token= never leaves the page
    return response


@bp.get("/assets/<name>")
def asset(name: str) -> Response:
    """A file of ``mockserver/_ui/assets`` (the script, the style sheet, the icon)."""
    path = ASSETS_DIR / name
    mimetype = ASSET_TYPES.get(path.suffix)
    if not _ASSET_NAME.match(name) or mimetype is None or not path.is_file():
        raise ControlError(404, "asset_not_found", f"no dashboard asset named {name!r}")
    return _static(path.read_bytes(), mimetype)


@bp.get("/changes")
def changes() -> Response:
    """The fingerprint the page polls: it changes whenever something the page shows does."""
    response = jsonify(version=fingerprint(_runtime()))
    response.headers["Cache-Control"] = "no-store"
    return response


# --- the fingerprint ----------------------------------------------------------------------------

_WATCHES_LOCK = threading.Lock()
_WATCH_KEY = "ui.watch"


def fingerprint(runtime: Runtime) -> str:
    """16 hex digits that change when jobs, clocks, configuration, deliveries, the journal or
    the fault rules do (see :class:`Watch`)."""
    watch = runtime.extensions.get(_WATCH_KEY)
    if watch is None:
        with _WATCHES_LOCK:
            watch = runtime.extensions.get(_WATCH_KEY)
            if watch is None:
                watch = runtime.extensions[_WATCH_KEY] = Watch(runtime)
    assert isinstance(watch, Watch)
    return watch.version()


def _clock_key(clock: VirtualClock) -> list[Any]:
    """What a clock reading depends on: the reading itself when frozen, else its offset (a
    running clock moves by itself; the page extrapolates it)."""
    state = clock.describe()
    return [state["frozen"], state["now"] if state["frozen"] else state["offset"]]


class Watch:
    """Computes a runtime's fingerprint cheaply enough to be polled every second.

    Inputs, all O(1) or proportional to what is in flight: a counter of engine writes and
    resets (listeners on the engine), the job count, every clock's state, profiles and seeds,
    the unsettled jobs with their next transition and whether their webhooks are queued, the
    pending webhook deliveries with their attempt counts, the journal's newest entry, the fault
    rules with their counters, and the model's state. A settled job changes only by a write
    (counted) or a reset; a finished delivery only by a redelivery (it turns pending).

    With the memory store (the default) a poll costs about what ``/_mock/health`` does; the
    SQLite store reads the unsettled jobs from disk on each poll.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._lock = threading.Lock()  # the cache below
        self._writes_lock = threading.Lock()
        self._writes = 0
        #: job id -> (the plan it was computed for, its next transition at that time)
        self._due: dict[str, tuple[Plan, float | None]] = {}
        runtime.engine.on_change(self._written)
        runtime.engine.on_reset(self._written)

    def _written(self, _: object) -> None:
        with self._writes_lock:
            self._writes += 1

    def version(self) -> str:
        runtime = self.runtime
        engine, store, clocks = runtime.engine, runtime.store, runtime.engine.clocks
        parts: list[Any] = [self._writes, store.count_jobs(), _clock_key(clocks.server)]
        parts.append([engine.profile_for(None), engine.seed_for(None), runtime.inference.state])
        parts.append([[t, engine.profile_for(t), engine.seed_for(t)] for t in engine.tenants()])
        parts.append([[t, _clock_key(clocks.for_tenant(t))] for t in clocks.tenants()])
        parts.append(self._unsettled())
        parts.append(
            [[d.id, len(d.attempts), d.next_attempt_at] for d in store.pending_deliveries()]
        )
        journal = runtime.journal
        newest = journal.query(limit=1)
        parts.append([newest[0]["id"] if newest else 0, len(journal), journal.dropped])
        plans = runtime.faults.plans()
        parts.append(
            [
                [scope, plan.mode, plan.state()]
                for scope, plan in sorted(plans.items(), key=lambda kv: kv[0] or "")
                if plan.rules
            ]
        )
        raw = json.dumps(parts, default=str, separators=(",", ":")).encode()
        return hashlib.blake2b(raw, digest_size=8).hexdigest()

    def _unsettled(self) -> list[Any]:
        """(id, next transition, notified) of every unsettled job. The next transition is
        the instant its state next changes on its tenant's clock, so the fingerprint moves
        when a clock passes it; it is computed once per plan and reused until then (every
        change to a job writes a new plan, and the memory store hands out the same object)."""
        engine = self.runtime.engine
        out: list[Any] = []
        with self._lock:
            known, fresh = self._due, {}
            for job in self.runtime.store.unsettled_jobs():
                now = engine.now(job.tenant)
                cached = known.get(job.id)
                if cached is not None and (cached[0] is job.plan or cached[0] == job.plan):
                    due = cached[1]
                    if due is not None and now >= due:
                        due = lifecycle.next_transition(job.plan, now)
                else:
                    due = lifecycle.next_transition(job.plan, now)
                fresh[job.id] = (job.plan, due)
                # notified: its webhooks were queued (in the write that sets it), even ones
                # that are never pending (a URL outside the allow-list is blocked at once)
                out.append([job.id, due, job.notified])
            self._due = fresh
        return out
