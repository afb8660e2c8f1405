"""xAI's error bodies and statuses, shared by the REST and gRPC faces.

REST errors are ``{"code": "<gRPC status description>", "error": "<message>"}``: the service is a
gRPC server behind a REST gateway, and the ``code`` strings are the canonical descriptions of the
gRPC status (``../shared/reference/xai-batch.md`` §9; the INVALID_ARGUMENT one was captured live,
the others are the same library's descriptions, a GUESS). Observed statuses: 400 for a bad key or
an unsupported model, 403 for adding to a cancelled batch, 412 for a re-used request id with
different content or an inline add to a file-based batch; 404 for an unknown batch is likely.
One :class:`XaiError` carries the HTTP status and the matching gRPC code, so both transports
answer the same failure the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Response, jsonify

from ...validation import Violation

__all__ = ["GRPC_CODES", "XaiError", "error_response"]

#: HTTP status -> (gRPC status name, its canonical description).
GRPC_CODES: dict[int, tuple[str, str]] = {
    400: ("INVALID_ARGUMENT", "Client specified an invalid argument"),
    401: (
        "UNAUTHENTICATED",
        "The request does not have valid authentication credentials for the operation",
    ),
    403: (
        "PERMISSION_DENIED",
        "The caller does not have permission to execute the specified operation",
    ),
    404: ("NOT_FOUND", "Some requested entity was not found"),
    405: ("UNIMPLEMENTED", "Operation is not implemented or not supported"),
    409: ("ALREADY_EXISTS", "Some entity that we attempted to create already exists"),
    412: (
        "FAILED_PRECONDITION",
        "The system is not in a state required for the operation's execution",
    ),
    413: ("INVALID_ARGUMENT", "Client specified an invalid argument"),
    415: ("INVALID_ARGUMENT", "Client specified an invalid argument"),
    429: ("RESOURCE_EXHAUSTED", "Some resource has been exhausted"),
    500: ("INTERNAL", "Internal error"),
    503: ("UNAVAILABLE", "The service is currently unavailable"),
}


class XaiError(Exception):
    """A request the service refuses: HTTP status, message, and contract violations if any."""

    def __init__(self, status: int, message: str, violations: Sequence[Violation] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.violations = tuple(violations)

    @property
    def grpc_code(self) -> str:
        return GRPC_CODES.get(self.status, GRPC_CODES[500])[0]

    def body(self) -> dict[str, Any]:
        return {"code": GRPC_CODES.get(self.status, GRPC_CODES[500])[1], "error": self.message}

    def response(self) -> Response:
        return error_response(self.status, self.message)


def error_response(status: int, message: str) -> Response:
    response = jsonify(XaiError(status, message).body())
    response.status_code = status
    return response
