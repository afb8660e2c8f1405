"""One bulk-stream connection: token first, then frames in and results out, one thread.

Protocol (``../shared/reference/huggingface-bulk.md`` §1): the first client frame is
``Bearer <token>`` (text or binary: the docs' samples send binary UTF-8), then one JSON object
per frame with ``inputs`` and optional ``id`` and ``parameters``. The server sends text frames
of JSON with a ``type``: ``status`` (``message``: about the queue) and ``results`` (``id`` as
sent, or generated; ``outputs``: exactly the task endpoint's body for that item, or
``{"error": ...}`` for an item that failed).

Close codes, where the docs say nothing (GUESS, documented in ``contracts/``): 4001 for a
missing or rejected token, 4004 for an unknown model or compute type, 1007 for a frame that is
not a JSON object with ``inputs``, 1009 for one over 16 MB, 1008 when no token came in time.
Each close is preceded by a ``status`` frame with the same message, so a client that prints
status messages (the docs' sample does) shows why.

Backpressure: results are written with a send timeout (a reader stalled that long is dropped,
its unsent results kept for the next stream), and frames are not read while the mailbox holds
``MAX_PENDING`` undelivered items, so TCP holds the sender back; nothing grows without bound.
Meanwhile :meth:`ServerWebSocket.idle` keeps pings going and notices a client that left.

Faults (``engine/faults.py``): once the token is accepted, the connection is one call of
``huggingface``/``bulk_stream`` for that tenant, and the rule that fires for it (if any) shapes
the whole connection. Every frame the server sends counts (status, results, fault frames):

- ``cut``: right after the ``count``-th frame (0: before the first, right after the token) the
  socket is shut down without a close frame (the client sees 1006). Results sent before are
  delivered; claimed, unsent ones go back to the mailbox for the next stream. ``reset``: the
  same with ``count`` 0.
- ``latency``: every ``results`` frame waits the rule's delay (drawn once per connection);
  pings are answered and a client that leaves is noticed meanwhile.
- ``spam``: ``count`` extra ``Queued 0 items; <n> pending`` status frames before every
  ``results`` frame.
- ``malformed``: before the first ``results`` frame, one text frame holding the first
  ``fraction`` of that frame's JSON (never valid JSON); then the stream goes on as usual.
- ``lifecycle``: the items admitted on this connection follow the rule's profile/overrides
  (the upgrade request's ``X-Mock-Profile`` / ``X-Mock-Lifecycle`` win, as over HTTP).
- An ``ordered`` scenario's out-of-order call: a status frame naming the rule expected, then
  close 1011. Other kinds have no meaning on a stream: the connection runs normally (the rule
  still counts it, and the journal names it).
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from typing import TYPE_CHECKING, Any

from ...engine.faults import Call, Fired
from ...engine.lifecycle import readable_error
from ...faultwire import header_plan
from ...validation import load_json
from ...websocket import ABNORMAL, ConnectionClosed, ServerWebSocket
from ..common import LifecycleChoice, under_fault_lifecycle
from .errors import HfError
from .registry import Model
from .stream import Ready
from .tasks import parse_item, start

if TYPE_CHECKING:
    from .backend import HfBackend

__all__ = ["MAX_BURST", "MAX_PENDING", "SEND_TIMEOUT", "StreamSession"]

log = logging.getLogger("mockserver")

AUTH_TIMEOUT = 30.0
SEND_TIMEOUT = 30.0
MAX_BURST = 256  # frames admitted as one segment
MAX_PENDING = 10_000  # undelivered items per mailbox before frames stop being read
CLAIM = 64  # results computed and sent per round
POLL = 0.25  # longest wait while items are pending on a clock that may move silently
RESULT_TIMEOUT = 300.0

PROVIDER = "huggingface"  # routes.NAME: the rules' ``match.provider``
OPERATION = "bulk_stream"  # one connection is one call of this operation
INTERNAL = 1011
AUTH_FAILED = 4001
NOT_FOUND = 4004
MALFORMED = 1007
AUTH_TIMEOUT_CODE = 1008
_INVALID_TOKEN = "Authorization header is correct, but the token seems invalid"


class _Close(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class StreamSession:
    """Drive one websocket until the client leaves or breaks the protocol."""

    def __init__(
        self,
        backend: HfBackend,
        ws: ServerWebSocket,
        compute: str,
        model_id: str,
        choice: LifecycleChoice | None,
        scenario: str | None = None,
    ) -> None:
        self.backend = backend
        #: The handshake's ``X-Mock-Scenario``: rules for this one connection, consulted first.
        self.scenario = scenario
        self.ws = ws
        self.compute = compute
        self.model_id = model_id
        self.choice = choice
        self.tenant: str | None = None
        self.model: Model | None = None
        self.sent = 0
        self.received = 0
        #: The fault rule that fired for this connection (the view journals it), if any.
        self.fault: Fired | None = None
        self.frames = 0  # every frame this connection sent: a ``cut`` counts them
        self._malformed_due = False

    def run(self) -> None:
        try:
            self._converse()
        except _Close as exc:
            self._status(exc.message)
            self.ws.close(exc.code, exc.message[:120])
        except ConnectionClosed:
            self._keep_received()
        except Exception:  # noqa: BLE001 - never a 500 written onto an upgraded socket
            log.exception("bulk stream %s/%s failed", self.compute, self.model_id)
            self._status("Internal error: the stream is closed; reconnect to get your results")
            self.ws.close(1011, "Internal error")
        finally:
            if self.tenant is not None:
                self.backend.hub.unsubscribe(self.tenant, self.model_id, self.ws.wake)
            self.ws.close()

    # --- phases ------------------------------------------------------------------------------

    def _converse(self) -> None:
        self.tenant = self._authenticate()
        self._consult_faults()
        if self.compute not in ("cpu", "gpu"):
            raise _Close(NOT_FOUND, f"Unknown compute type {self.compute!r}: use cpu or gpu")
        self.model = self.backend.registry.get(self.model_id)
        if self.model is None:
            raise _Close(NOT_FOUND, f"Model {self.model_id} does not exist")
        self.model_id = self.model.id
        hub = self.backend.hub
        hub.subscribe(self.tenant, self.model_id, self.ws.wake)
        count, _ = hub.pending(self.tenant, self.model_id)
        self._status(f"Connected to {self.model_id} ({self.compute}); {count} results pending")
        while True:
            self._deliver()
            count, due = hub.pending(self.tenant, self.model_id)
            if count >= MAX_PENDING:
                self.ws.idle(min(self._wait(count, due) or POLL, POLL))
                if self.ws.closed:  # the client left: keep what it sent first, then end
                    self._admit_rest()
                    return
                continue
            frame = self.ws.receive(self._wait(count, due))
            if frame is None:
                continue
            frames = [frame]
            while len(frames) < MAX_BURST:
                more = self.ws.receive(0)
                if more is None:
                    break
                frames.append(more)
            self._admit(frames)

    def _authenticate(self) -> str:
        first = self.ws.receive(AUTH_TIMEOUT)
        if first is None:
            raise _Close(AUTH_TIMEOUT_CODE, "No token received: send 'Bearer <token>' first")
        text = _text(first)
        scheme, _, token = (text or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _Close(
                AUTH_FAILED,
                "The first message must be 'Bearer <token>' (headers are not forwarded "
                "on websockets)",
            )
        allowed = self.backend.runtime.settings.api_keys
        if allowed and token not in allowed:
            raise _Close(AUTH_FAILED, _INVALID_TOKEN)
        return token

    def _consult_faults(self) -> None:
        """Ask the fault rules about this connection, once, now the tenant is known."""
        assert self.tenant is not None
        runtime = self.backend.runtime
        call = Call(
            provider=PROVIDER,
            operation=OPERATION,
            tenant=self.tenant,
            job_id=None,
            now=runtime.engine.now(self.tenant),
        )
        fired = None
        if self.scenario is not None:  # checked before the upgrade: it parses
            seed = runtime.engine.seed_for(self.tenant)
            fired = header_plan(self.scenario, seed=seed, now=call.now).decide(call)
        fired = self.fault = fired or runtime.faults.decide(call)
        if fired is None:
            return
        if fired.out_of_order:  # an ordered scenario played out of order: say so loudly
            raise _Close(INTERNAL, f"mockserver scenario: {fired.describe()}")
        kind = self._fault_kind()
        if kind == "lifecycle":  # the items admitted on this connection follow the rule's
            assert fired.rule is not None
            action = fired.rule.action
            self.choice = under_fault_lifecycle(self.choice, action.profile, action.overrides)
        self._malformed_due = kind == "malformed"
        self._cut_due()  # ``count`` 0 (and ``reset``): right after the token

    def _fault_kind(self) -> str | None:
        fired = self.fault
        return fired.rule.action.kind if fired is not None and fired.rule is not None else None

    def _cut_due(self) -> None:
        """Drop the connection (no close frame: the client sees 1006) once the ``cut`` rule's
        count of frames has been sent. Raises :class:`ConnectionClosed` when it did."""
        kind = self._fault_kind()
        if kind == "reset" or (kind == "cut" and self._cut_at() <= self.frames):
            self.ws.abort("mockserver fault: stream cut")
            raise ConnectionClosed(ABNORMAL, "mockserver fault: stream cut")

    def _cut_at(self) -> int:
        assert self.fault is not None and self.fault.rule is not None
        return self.fault.rule.action.count

    def _wait(self, count: int, due: float | None) -> float | None:
        """How long to wait for frames before looking at the mailbox again."""
        if count == 0:
            return None  # nothing pending: a wake (step, other stream's release) or a frame
        assert self.tenant is not None
        clock = self.backend.runtime.engine.clocks.for_tenant(self.tenant)
        if due is None or not clock.moving:
            return POLL
        return max(0.0, min(due - clock.now(), POLL))

    # --- frames in ---------------------------------------------------------------------------

    def _admit(self, frames: list[str | bytes]) -> None:
        assert self.tenant is not None and self.model is not None
        items: list[dict[str, Any]] = []
        errors: list[str | None] = []
        broken: _Close | None = None
        for frame in frames:
            try:
                item = _item(frame)
            except _Close as exc:
                broken = exc  # what came before it is kept: never lost
                break
            errors.append(_admission_error(self.model, item))
            items.append(item)
        if items:
            self._queue(items, errors)
        if broken is not None:
            raise broken

    def _keep_received(self) -> None:
        """The connection ended (client gone, send timed out): frames it had already read are
        still queued, so nothing a client sent is lost to the timing of the drop."""
        if self.tenant is None or self.model is None:
            return
        with contextlib.suppress(_Close, ConnectionClosed):
            self._admit_rest()

    def _admit_rest(self) -> None:
        """Admit the frames read before the connection ended (at most ``IDLE_HOLD`` bytes)."""
        frames = self.ws.drain()
        if frames:
            self._admit(frames)

    def _queue(self, items: list[dict[str, Any]], errors: list[str | None]) -> None:
        assert self.tenant is not None
        choice = self.choice
        self.backend.hub.admit(
            self.tenant,
            self.model_id,
            items,
            errors=errors if any(errors) else None,
            compute=self.compute,
            profile=choice.profile if choice else None,
            overrides=choice.overrides if choice else None,
        )
        self.received += len(items)
        count, _ = self.backend.hub.pending(self.tenant, self.model_id)
        self._status(f"Queued {len(items)} items; {count} pending")

    # --- results out -------------------------------------------------------------------------

    def _deliver(self) -> None:
        assert self.tenant is not None and self.model is not None
        hub = self.backend.hub
        while True:
            if self.ws.closed:  # cut while a status frame went out: claim nothing more
                raise ConnectionClosed(ABNORMAL, "connection closed")
            claimed = hub.claim(self.tenant, self.model_id, CLAIM)
            if not claimed:
                return
            sent: list[Ready] = []
            try:
                outputs = self._outputs(claimed)
                pending = self._pending() if self._fault_kind() == "spam" else 0
                for ready, output in zip(claimed, outputs, strict=True):
                    frame = {"type": "results", "id": ready.item.get("id"), "outputs": output}
                    text = json.dumps(frame)
                    self._before_result(text, pending - len(sent))
                    self._frame(text, SEND_TIMEOUT)
                    sent.append(ready)
                    self.sent += 1
                    self._cut_due()  # after the mark: a result the client got is not resent
            finally:
                hub.delivered(self.tenant, self.model_id, sent)
                rest = claimed[len(sent) :]
                if rest:
                    hub.release(self.tenant, self.model_id, rest)

    def _pending(self) -> int:
        assert self.tenant is not None
        return self.backend.hub.pending(self.tenant, self.model_id)[0]

    def _before_result(self, text: str, pending: int) -> None:
        """A fault's frames and pauses before a ``results`` frame (``text``)."""
        kind = self._fault_kind()
        if kind is None:
            return
        assert self.fault is not None and self.fault.rule is not None
        action = self.fault.rule.action
        if kind == "latency":
            self._hold(self.fault.delay)
        elif kind == "spam":
            for _ in range(action.count):
                spam = {"type": "status", "message": f"Queued 0 items; {pending} pending"}
                self._frame(json.dumps(spam), SEND_TIMEOUT)
                self._cut_due()
        elif kind == "malformed" and self._malformed_due:
            self._malformed_due = False
            cut = min(max(1, int(len(text) * action.fraction)), len(text) - 1)
            self._frame(text[:cut], SEND_TIMEOUT)  # a JSON object cut short never parses

    def _hold(self, seconds: float) -> None:
        """Wait ``seconds`` (a slow producer) with pings answered and a leaving client noticed;
        frames that arrive meanwhile wait for :meth:`ServerWebSocket.receive`."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.ws.idle(left)
            if self.ws.closed:
                raise ConnectionClosed(self.ws.close_code or ABNORMAL, "connection closed")

    def _frame(self, text: str, timeout: float) -> None:
        """Send one text frame and count it (what a ``cut`` rule counts)."""
        self.ws.send(text, timeout=timeout)
        self.frames += 1

    def _outputs(self, claimed: list[Ready]) -> list[Any]:
        """Start every succeeded item's task first (one model batch), then collect."""
        assert self.tenant is not None and self.model is not None
        runtime = self.backend.runtime
        seed = runtime.engine.seed_for(self.tenant)
        shape = self.backend.stream_shape()
        started: list[Any] = []
        for ready in claimed:
            if ready.status != "succeeded":
                started.append(_error_body(readable_error(ready.error, f"Item {ready.status}")))
                continue
            item = ready.item
            try:
                call = parse_item(self.model, item)
                started.append(
                    start(
                        call,
                        runtime.inference,
                        seed=seed,
                        shape=shape,
                        transcripts=self.backend.transcripts,
                    )
                )
            except HfError as exc:
                started.append(exc.body())
        outputs = []
        for entry in started:
            if isinstance(entry, dict):
                outputs.append(entry)
                continue
            try:
                outputs.append(entry.result(timeout=RESULT_TIMEOUT))
            except HfError as exc:
                outputs.append(exc.body())
        return outputs

    def _status(self, message: str) -> None:
        """A status frame; a connection that closed meanwhile (or was cut right after it) is
        noticed by the next receive or delivery."""
        with contextlib.suppress(ConnectionClosed):
            self._frame(json.dumps({"type": "status", "message": message}), 5.0)
            self._cut_due()


def _text(frame: str | bytes) -> str | None:
    if isinstance(frame, str):
        return frame
    try:
        return frame.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _item(frame: str | bytes) -> dict[str, Any]:
    """A frame -> ``{id?, inputs, parameters?}``; :class:`_Close` (1007) when malformed."""
    text = _text(frame)
    if text is None:
        raise _Close(MALFORMED, "Messages must be UTF-8 JSON objects")
    try:
        payload = load_json(text)
    except ValueError as exc:
        raise _Close(MALFORMED, f"Message is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise _Close(MALFORMED, "Message must be a JSON object with an `inputs` key")
    if "inputs" not in payload:
        raise _Close(MALFORMED, "The messages you need to send need to contain inputs keys")
    item = {"inputs": payload["inputs"]}
    if payload.get("id") is not None:
        item["id"] = payload["id"]
    if payload.get("parameters") is not None:
        item["parameters"] = payload["parameters"]
    return item


def _admission_error(model: Model, item: dict[str, Any]) -> str | None:
    """A task-level problem (no ``candidate_labels``...) fails the item, not the stream; the
    message is stored as text (a list of messages as its JSON)."""
    try:
        parse_item(model, item)
    except HfError as exc:
        return json.dumps(exc.message) if isinstance(exc.message, list) else exc.message
    return None


def _error_body(message: str) -> dict[str, Any]:
    """A failed item's ``outputs``: the HTTP error body (a list when parameters failed)."""
    if message.startswith("["):
        try:
            parsed = json.loads(message)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            return {"error": parsed}
    return {"error": message}
