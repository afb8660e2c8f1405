"""Shared fixtures: settings, a controllable base clock, the app, its runtime and a client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mockserver.app import create_app
from mockserver.inference.service import InferenceService
from mockserver.runtime import Runtime
from mockserver.settings import Settings
from tests.receiver import Receiver, serving

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z: far from "now", so a leak of real time shows


class FakeTime:
    """A base clock that moves only when a test moves it."""

    def __init__(self, start: float = T0) -> None:
        self.t = start

    def now(self) -> float:
        return self.t


class RecordingClient:
    """An HttpClient that records webhook posts and answers from a script (no sockets)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        from mockserver.engine.webhooks import HttpResponse

        self._response = HttpResponse
        self.statuses = list(statuses or [])
        self.calls: list[dict[str, Any]] = []

    def post(self, url: str, body: bytes, headers: Any, timeout: float) -> Any:
        self.calls.append({"url": url, "body": body, "headers": dict(headers)})
        status = self.statuses.pop(0) if self.statuses else 200
        return self._response(status, {}, b"ok")


@pytest.fixture(scope="module")
def inference() -> Iterator[InferenceService]:
    """A CPU inference service with its model loaded, shared by a module's tests."""
    service = InferenceService("cpu")
    service.wait_ready(120)
    yield service
    service.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., Receiver]]:
    """Start scripted webhook receivers on 127.0.0.1; all are shut down after the test."""
    yield from serving()


@pytest.fixture
def settings() -> Settings:
    return Settings()


@pytest.fixture
def base_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def webhook_client() -> RecordingClient:
    return RecordingClient()


@pytest.fixture
def app(
    settings: Settings, base_time: FakeTime, webhook_client: RecordingClient
) -> Iterator[Flask]:
    app = create_app(settings, base_clock=base_time, http_client=webhook_client)
    yield app
    app.extensions["mockserver"].close()


@pytest.fixture
def runtime(app: Flask) -> Runtime:
    runtime: Runtime = app.extensions["mockserver"]
    return runtime


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
