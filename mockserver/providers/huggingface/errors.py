"""Hugging Face's error body: ``{"error": "..."}``, or a list of messages for bad parameters.

The legacy Inference API answered every failure with one ``error`` key (``../shared/reference/
huggingface-bulk.md`` §3): a string for most, a list of messages when several parameters failed
validation, plus ``estimated_time`` on the 503 of a model that is still loading.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

__all__ = ["HfError", "bad_request", "not_found"]


class HfError(Exception):
    """A failure the client sees as ``status`` with ``{"error": message, **extra}``."""

    def __init__(self, status: int, message: str | list[str], **extra: Any) -> None:
        super().__init__(message if isinstance(message, str) else "; ".join(message))
        self.status = status
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": self.message, **self.extra}

    def response(self) -> Response:
        response = jsonify(self.body())
        response.status_code = self.status
        return response


def bad_request(message: str | list[str]) -> HfError:
    return HfError(400, message)


def not_found(model_id: str) -> HfError:
    """What the legacy API answered for a repo it did not know."""
    return HfError(404, f"Model {model_id} does not exist")
