"""What the Eden AI builder tests share: a resource sink and a launch's coerced parameters.

The builders' tests (``test_eden_features_*.py``) call a builder directly, as the backend does
(``mockserver/providers/edenai/backend.py``); the inference service they need is the
``inference`` fixture of ``conftest.py``.
"""

from __future__ import annotations

from typing import Any

from mockserver.providers.edenai.catalog import SUBFEATURES

PUBLIC_ID = "6f1c2b9e-3d4a-4e5f-9a8b-7c6d5e4f3a2b"


class Sink:
    """Keeps what a builder stores and hands out a URL, like the backend's resource store."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}

    def __call__(self, name: str, data: bytes, content_type: str) -> str:
        self.files[name] = (data, content_type)
        return f"http://mock.test/_mock/edenai/resources/{PUBLIC_ID}/{name}"


def params(subfeature: str, **overrides: Any) -> dict[str, Any]:
    """Every field with its catalog default, as the backend passes them."""
    out = {p.name: p.default for p in SUBFEATURES[subfeature].all_params()}
    out.update(overrides)
    return out
