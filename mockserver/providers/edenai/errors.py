"""Eden AI v2 error bodies, which differ by status (``../shared/reference/edenai-async.md`` §7).

- 400 ``BadRequest``: ``{"error": {"type": "Invalid request", "message": {field: [msg, ...]}}}``,
  Django REST framework's per-field lists under Eden's ``error`` envelope;
- 403 / 405 / 500 ``Error``: ``{"error": {"type": ..., "message": "..."}}``;
- 404 ``NotFoundResponse``: ``{"details": "Not Found"}`` (no envelope, and ``details`` not DRF's
  ``detail``).

Auth failures are 403 with the ``Error`` shape: the spec lists 403 on every operation and no
401 (the type strings are DRF's exception names, a GUESS). Request-contract violations found by
the validator travel in ``violations`` beside ``error`` so a client learns the JSON pointer too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask import Response, jsonify

from ...validation import Violation

__all__ = ["EdenError", "bad_request", "forbidden", "not_found"]

INVALID_REQUEST = "Invalid request"


class EdenError(Exception):
    """A refusal: ``message`` is a string, or a ``{field: [messages]}`` map for a 400."""

    def __init__(
        self,
        status: int,
        message: str | Mapping[str, Sequence[str]],
        *,
        type: str = INVALID_REQUEST,
        violations: Sequence[Violation] = (),
    ) -> None:
        super().__init__(str(message))
        self.status = status
        self.message = message
        self.type = type
        self.violations: tuple[Violation, ...] = tuple(violations)

    def body(self) -> dict[str, Any]:
        if self.status == 404:
            return {"details": "Not Found"}
        message: Any = self.message
        if not isinstance(message, str):
            message = {field: list(msgs) for field, msgs in message.items()}
        out: dict[str, Any] = {"error": {"type": self.type, "message": message}}
        if self.violations:
            out["violations"] = [v.to_json() for v in self.violations]
        return out

    def response(self) -> Response:
        response = jsonify(self.body())
        response.status_code = self.status
        return response


def bad_request(field: str, *messages: str, violations: Sequence[Violation] = ()) -> EdenError:
    return EdenError(400, {field: list(messages)}, violations=violations)


def not_found() -> EdenError:
    return EdenError(404, "Not Found")


def forbidden(missing: bool) -> EdenError:
    if missing:
        return EdenError(
            403, "Authentication credentials were not provided.", type="NotAuthenticated"
        )
    return EdenError(403, "Invalid API key.", type="AuthenticationFailed")
