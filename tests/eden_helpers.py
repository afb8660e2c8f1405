"""What the Eden AI tests share: a resource sink, a launch's coerced parameters, and a
recording stand-in for the builders.

The builders' tests (``test_eden_features_*.py``) call a builder directly, as the backend does
(``mockserver/providers/edenai/backend.py``); the inference service they need is the
``inference`` fixture of ``conftest.py``. The API and hostile-input tests swap every builder
for :class:`FakeBuilders` (:func:`fake_builders`), so each says exactly what the face did.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from mockserver.providers.edenai import features
from mockserver.providers.edenai.catalog import SUBFEATURES
from mockserver.providers.edenai.features import Call, FeatureError, Input, Output

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


class FakeBuilders:
    """Stands in for ``features.builder``: records calls, answers from the input it got."""

    def __init__(self) -> None:
        self.calls: list[tuple[Call, Input]] = []
        self.fail: dict[str, str] = {}

    def builder(self, subfeature: str) -> Any:
        def build(call: Call, source: Input, service: Any) -> Output:
            self.calls.append((call, source))
            if call.provider in self.fail:
                raise FeatureError(self.fail[call.provider])
            fields: dict[str, Any] = {
                "text": f"{call.provider}:{len(source.data or b'')}:{source.sidecar}",
                "audio": base64.b64encode(b"sound").decode(),
            }
            if call.params.get("text"):
                fields["audio_resource_url"] = call.resources("speech.mp3", b"ID3abc", "audio/mpeg")
            return Output(fields, {"native": call.provider}, cost=0.0125)

        return build


@contextlib.contextmanager
def fake_builders() -> Iterator[FakeBuilders]:
    """Every Eden AI builder replaced by one :class:`FakeBuilders` until the block ends (a
    context manager, so a fixture of any scope can hold it)."""
    fakes = FakeBuilders()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(features, "builder", fakes.builder)
        yield fakes
