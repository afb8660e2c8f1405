"""Hume's error bodies: the API gateway's ``fault`` for auth, ``{"message"}`` for the rest.

Hume published no error schema for the batch API (``../shared/reference/hume-batch.md`` §11).
What is known: a bad key is answered by the Apigee gateway with a ``fault`` object (the legacy
SDK matched exactly those keys), and an unknown job with ``{"message": "job not found"}``. For
everything else we answer ``{"message": ...}`` too, plus ``violations`` (JSON pointer, rule,
message) when the request broke the contract, so ``ApiError.body`` is always a dict that says
what to fix. Statuses follow the reference's suggestions (§13): 400 for bad input and early
reads, 401 auth, 404 unknown job; never 409/429/5xx, which the SDK silently retries (§11.2).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Response, jsonify

from ...validation import Violation

__all__ = ["HumeError", "fault", "message_response"]

_MISSING_KEY = (
    "Failed to resolve API Key variable request.header.X-Hume-Api-Key",
    "steps.oauth.v2.FailedToResolveAPIKey",
)
_INVALID_KEY = ("Invalid ApiKey", "oauth.v2.InvalidApiKey")


class HumeError(Exception):
    """A request Hume would refuse: its HTTP status and the body to send."""

    def __init__(
        self,
        status: int,
        message: str,
        violations: Sequence[Violation] = (),
        behaviour: tuple[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.violations = tuple(violations)
        #: What the refusal shows about the client, for its report (``engine/conformance.py``):
        #: ``(kind, detail)``, e.g. an early result read.
        self.behaviour = behaviour

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message}
        if self.violations:
            out["violations"] = [v.to_json() for v in self.violations]
        return out

    def response(self) -> Response:
        response = jsonify(self.body())
        response.status_code = self.status
        return response


def message_response(status: int, message: str) -> Response:
    return HumeError(status, message).response()


def fault(missing: bool) -> Response:
    """The gateway's 401 for a request without a key, or with one it does not know."""
    faultstring, code = _MISSING_KEY if missing else _INVALID_KEY
    response = jsonify({"fault": {"faultstring": faultstring, "detail": {"errorcode": code}}})
    response.status_code = 401
    return response
