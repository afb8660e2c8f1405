"""Property-based tests of the xAI Batch REST API against ``contracts/xai.yaml`` (schemathesis 4).

Draft.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings

from mockserver.app import create_app
from mockserver.settings import Settings
from tests.conftest import RecordingClient

Case = schemathesis.Case[Any]

CONTRACT = Path(__file__).resolve().parents[1] / "contracts" / "xai.yaml"
KEY = "xai-test-key"
HEADERS = {"Authorization": f"Bearer {KEY}"}
BATCHES = "/v1/batches"

MAX_EXAMPLES = 20
SEED = 20260615

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "use_after_free",
    "ensure_resource_availability",
)

SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _config(*, coverage: bool = True) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "headers": dict(HEADERS),
            "suppress-health-check": ["too_slow"],
            "generation": {
                "mode": "all",
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
                "with-security-parameters": False,
            },
            "phases": {"coverage": {"enabled": coverage}},
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        }
    )


schema = schemathesis.openapi.from_path(CONTRACT, config=_config())


@pytest.fixture(scope="module")
def xai_app() -> Iterator[Flask]:
    instant = Settings().replace(profile="instant", media_fetch="off")
    app = create_app(instant, http_client=RecordingClient())
    try:
        yield app
    finally:
        app.extensions["mockserver"].close()


def _assert_error_shape(response: Any) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body, dict) and set(body) == {"code", "error"}, body
        assert isinstance(body["code"], str) and isinstance(body["error"], str), body


@schema.parametrize()
@SETTINGS
def test_every_operation_honours_the_contract(case: Case, xai_app: Flask) -> None:
    response = case.call_and_validate(app=xai_app)
    _assert_error_shape(response)
