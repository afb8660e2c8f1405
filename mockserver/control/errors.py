"""Errors of the control API, rendered as ``{"error": {"code", "message"}}``."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

__all__ = ["ControlError", "render_error"]


class ControlError(Exception):
    """A control-API failure with its HTTP status and a machine-readable code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def render_error(status: int, code: str, message: str, **extra: Any) -> Response:
    response = jsonify({"error": {"code": code, "message": message, **extra}})
    response.status_code = status
    return response
