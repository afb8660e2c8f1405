"""Property-based tests of the xAI Batch REST API against ``contracts/xai.yaml`` (schemathesis 4).

Every operation of the contract is driven in process (WSGI, no socket) by schemathesis'
coverage phase (deterministic boundary and invalid values, undeclared methods, bad content
types) and fuzzing phase (Hypothesis, positive and negative data), always with the key as
``Authorization: Bearer <key>`` (the contract's ``bearerAuth``). The responses are held to the
contract by the checks in ``schemathesis_helpers.CHECKS``, and every response to
``_assert_vendor_error``: never a 5xx, and every 4xx in xAI's ``{code, error}`` shape
(reference §9). Generation is derandomized and seeded, so a CI failure reproduces locally.

Decisions, and what the checks cannot see:

* ``negative_data_rejection`` is on everywhere. One exclusion (``filter_failure``): a negative
  multipart upload whose only mutations are ones a multipart part cannot carry
  (``WIRE_INVISIBLE``): the JSON type of ``purpose`` or ``expires_after`` (a part is text, so
  ``5`` arrives as the valid ``"5"``), the type or ``format`` of ``file`` (any bytes are a file).
* ``positive_data_acceptance`` is off: the contract cannot list the models a batch accepts
  (``--xai-models`` replaces them; another model is a 400 by design, §5), nor that a blank
  ``name`` is refused, and a random ``input_file_id`` is rightly a 404.
* ``ignored_auth`` is off: xAI answers a missing or wrong key with a **400** (captured live,
  §9), where the check wants 401/403, and the key comes from the config's ``headers``, which
  schemathesis cannot strip anyway. ``test_requests_without_a_key_are_400s`` pins the 400s.
* Random batch ids are 404s and random pagination tokens 400s. ``test_reads_of_real_batches``
  runs the reads on batches in every state and result shape (``BATCHES_STATE``: chat, Responses,
  error rows, url and b64_json images, videos, pending, cancelled, file-based, cancelled by
  xAI), ``test_adds_to_real_batches`` adds generated requests to each (200, or 403 once
  cancelled, 412 when file-based; ``_admissible`` picks supported models),
  ``test_pagination_tokens_walk_every_page`` follows real tokens, and ``test_stateful_links``
  chains create -> get / add / list requests / list results / cancel through the OpenAPI links
  on ``createBatch``'s 200 (``REQUIRED_LINKS``; skipped if the contract loses them).
* ``:cancel`` is never part of an id (§2): a GET there is a 405 allowing POST, and OPTIONS
  and the other 405s there list no GET (``test_allow_on_the_cancel_path_lists_no_get``).
"""

from __future__ import annotations

import functools
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings
from schemathesis.core.failures import AcceptedNegativeData, Failure

from mockserver.app import create_app
from mockserver.settings import Settings
from tests.conftest import RecordingClient

from .schemathesis_helpers import (
    SETTINGS,
    config,
    invisible_on_the_wire,
    missing_links,
)

Case = schemathesis.Case[Any]

CONTRACT = Path(__file__).resolve().parents[1] / "contracts" / "xai.yaml"
KEY = "xai-test-key"
HEADERS = {"Authorization": f"Bearer {KEY}"}
BATCHES = "/v1/batches"
CANCEL = "/v1/batches/{batch_id}:cancel"

SEED = 20260615
_config = functools.partial(config, seed=SEED, headers=HEADERS)

schema = schemathesis.openapi.from_path(CONTRACT, config=_config())

# The OpenAPI links a stateful run needs, on createBatch's 200: operationId -> batch_id.
REQUIRED_LINKS = {
    "getBatch": "$response.body#/batch_id",
    "addBatchRequests": "$response.body#/batch_id",
    "listBatchRequests": "$response.body#/batch_id",
    "listBatchResults": "$response.body#/batch_id",
    "cancelBatch": "$response.body#/batch_id",
}

# Per multipart property of uploadFile, the schema keywords its parts cannot break on the wire.
WIRE_INVISIBLE = {"purpose": {"type"}, "expires_after": {"type"}, "file": {"type", "format"}}


@schema.hook
def filter_failure(
    context: schemathesis.HookContext, failure: Failure, case: Case, response: Any
) -> bool:
    """Keep every failure but negative data that cannot show on the wire (module docstring)."""
    return not (
        isinstance(failure, AcceptedNegativeData) and invisible_on_the_wire(case, WIRE_INVISIBLE)
    )


def _assert_vendor_error(response: Any) -> None:
    """Never a 5xx; a 4xx is JSON ``{"code": str, "error": str}`` and nothing else (§9)."""
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers.get("content-type", [""])[0].startswith("application/json")
        body = response.json()
        assert isinstance(body, dict) and set(body) == {"code", "error"}, body
        assert all(isinstance(body[k], str) and body[k] for k in body), body


# --- the app and its batches -------------------------------------------------------------------


@pytest.fixture(scope="module")
def xai_app() -> Iterator[Flask]:
    """One app for the module: instant requests, no media fetches, no gRPC port."""
    instant = Settings().replace(profile="instant", media_fetch="off", grpc="off")
    app = create_app(instant, http_client=RecordingClient())
    try:
        yield app
    finally:
        app.extensions["mockserver"].close()


CHAT = {"model": "grok-3-mini", "messages": [{"role": "user", "content": "Hello there!"}]}
MEDIA = [
    {"image_generation": {"model": "grok-2-image-1212", "prompt": "a cat", "n": 2}},
    {
        "image_edit": {
            "model": "grok-imagine-image",
            "prompt": "a dog",
            "response_format": "b64_json",
        }
    },
    {"video_generation": {"model": "grok-imagine-video", "prompt": "waves", "duration": 3}},
    {"video_extension": {"model": "grok-imagine-video", "prompt": "more waves"}},
]
JSONL = b"\n".join(
    json.dumps(
        {"custom_id": f"line-{n}", "method": "POST", "url": "/v1/chat/completions", "body": CHAT}
    ).encode()
    for n in range(2)
)

# The real batches, and their counters: requests, pending, success, error, cancelled.
BATCHES_STATE = {
    "empty": (0, 0, 0, 0, 0),
    "mixed": (3, 0, 2, 1, 0),  # chat, a Responses body, a max_tokens error row
    "media": (4, 0, 4, 0, 0),
    "pending": (1, 1, 0, 0, 0),
    "cancelled": (1, 0, 0, 0, 1),
    "file": (2, 0, 2, 0, 0),
    "bad_file": (0, 0, 0, 0, 0),  # cancelled by xAI: the JSONL does not parse
}
COUNTERS = ("num_requests", "num_pending", "num_success", "num_error", "num_cancelled")


def _post(client: FlaskClient, path: str, body: Any = None, lifecycle: Any = None) -> Any:
    headers = dict(HEADERS)
    if lifecycle is not None:
        headers["X-Mock-Lifecycle"] = json.dumps(lifecycle)
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _upload(client: FlaskClient, data: bytes) -> str:
    response = client.post(
        "/v1/files",
        data={"purpose": "batch", "file": (io.BytesIO(data), "requests.jsonl")},
        headers=HEADERS,
    )
    assert response.status_code == 200, response.get_json()
    file_id: str = response.get_json()["id"]
    return file_id


def _batch(client: FlaskClient, name: str, *requests: Any, lifecycle: Any = None) -> str:
    batch_id: str = _post(client, BATCHES, {"name": name})["batch_id"]
    if requests:
        body = {"batch_requests": list(requests)}
        _post(client, f"{BATCHES}/{batch_id}/requests", body, lifecycle)
    return batch_id


@pytest.fixture(scope="module")
def real(xai_app: Flask) -> dict[str, str]:
    """Batches of the test key in every state (``BATCHES_STATE``), and an uploaded file."""
    client = xai_app.test_client()
    chat = {"chat_get_completion": CHAT}
    ids = {
        "empty": _batch(client, "empty"),
        "mixed": _batch(
            client,
            "mixed",
            {"batch_request_id": "a", "batch_request": chat},
            {"batch_request": {"chat_get_completion": {**CHAT, "max_tokens": -5}}},
            {
                "batch_request": {
                    "responses": {"model": "grok-4", "input": "Hi", "instructions": "."}
                }
            },
        ),
        "media": _batch(client, "media", *({"batch_request": m} for m in MEDIA)),
        "pending": _batch(
            client, "pending", {"batch_request": chat}, lifecycle={"stuck": "queued"}
        ),
        "cancelled": _batch(
            client, "cancelled", {"batch_request": chat}, lifecycle={"stuck": "running"}
        ),
    }
    _post(client, f"{BATCHES}/{ids['cancelled']}:cancel")
    file_id = _upload(client, JSONL)
    ids["file"] = _post(client, BATCHES, {"name": "file", "input_file_id": file_id})["batch_id"]
    bad = {"name": "bad", "input_file_id": _upload(client, b"{not json")}
    ids["bad_file"] = _post(client, BATCHES, bad)["batch_id"]
    for kind, counters in BATCHES_STATE.items():
        batch = client.get(f"{BATCHES}/{ids[kind]}", headers=HEADERS).get_json()
        assert tuple(batch["state"][c] for c in COUNTERS) == counters, (kind, batch)
    ids["file_id"] = file_id
    return ids


# --- stateless: every operation ----------------------------------------------------------------


@schema.parametrize()
@SETTINGS
def test_every_operation_honours_the_contract(
    case: Case, xai_app: Flask, real: dict[str, str]
) -> None:
    """Coverage + fuzzing, positive and negative; ``real`` fills the batch list."""
    _assert_vendor_error(case.call_and_validate(app=xai_app))


def test_requests_without_a_key_are_400s(xai_app: Flask) -> None:
    """No key, or not a Bearer one: 400 INVALID_ARGUMENT in the error shape, as live (§9)."""
    operation = schema["/v1/batches"]["GET"]
    for headers in ({}, {"Authorization": KEY}, {"Authorization": "Bearer "}):
        case = operation.Case(headers=headers)
        response = case.call(app=xai_app, headers=headers)
        case.validate_response(response)
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "Client specified an invalid argument"
        _assert_vendor_error(response)


# --- real ids ----------------------------------------------------------------------------------

# Positive fuzzing only, no coverage phase: the ids are replaced, the rest is generated.
real_ids = schemathesis.openapi.from_path(CONTRACT, config=_config(coverage=False, mode="positive"))
reads = real_ids.include(method="GET", path_regex=r"\{(batch|file)_id\}").exclude(
    operation_id="getMedia"  # needs a real request id too: tests/test_xai_api.py downloads media
)
adds = real_ids.include(operation_id="addBatchRequests")


@reads.parametrize()
@pytest.mark.parametrize("kind", sorted(BATCHES_STATE))
@settings(SETTINGS, max_examples=1)
def test_reads_of_real_batches(case: Case, kind: str, xai_app: Flask, real: dict[str, str]) -> None:
    """A batch, its requests and its results (and the file) read as 200s in every state."""
    if "{batch_id}" in case.operation.path:
        case.path_parameters = {"batch_id": real[kind]}
    else:
        case.path_parameters = {"file_id": real["file_id"]}
    case.query = {k: v for k, v in (case.query or {}).items() if k != "pagination_token"}
    response = case.call_and_validate(app=xai_app)
    assert response.status_code == 200, (kind, response.text)


SUPPORTED = {
    "chat_get_completion": "grok-3-mini",
    "responses": "grok-4",
    "image_generation": "grok-2-image-1212",
    "image_edit": "grok-imagine-image",
    "video_generation": "grok-imagine-video",
    "video_extension": "grok-imagine-video",
}
# What adding to each batch answers: cancelled batches refuse (403), file-based ones 412 (§5).
ADD_STATUS = {"cancelled": 403, "bad_file": 412, "file": 412}


def _admissible(case: Case) -> None:
    """Give a positive add's requests a supported model (the contract cannot list them)."""
    meta = case.meta
    if (
        case.operation.definition.raw.get("operationId") != "addBatchRequests"
        or meta is None
        or not meta.generation.mode.is_positive
        or not isinstance(case.body, dict)
    ):
        return
    items = case.body.get("batch_requests")
    for item in items if isinstance(items, list) else []:
        request = item.get("batch_request") if isinstance(item, dict) else None
        if isinstance(request, dict):
            for key, body in request.items():
                if key in SUPPORTED and isinstance(body, dict):
                    body["model"] = SUPPORTED[key]


@adds.parametrize()
@pytest.mark.parametrize("kind", sorted(BATCHES_STATE))
@settings(SETTINGS, max_examples=3)
def test_adds_to_real_batches(case: Case, kind: str, xai_app: Flask, real: dict[str, str]) -> None:
    """Admitted (200, or 412 for a re-used id with other content) unless the batch refuses."""
    case.path_parameters = {"batch_id": real[kind]}
    _admissible(case)
    response = case.call_and_validate(app=xai_app)
    _assert_vendor_error(response)
    expected = {ADD_STATUS[kind]} if kind in ADD_STATUS else {200, 412}
    assert response.status_code in expected, (kind, case.body, response.text)


LISTS = {
    "/v1/batches": "batches",
    "/v1/batches/{batch_id}/requests": "batch_request_metadata",
    "/v1/batches/{batch_id}/results": "results",
}


@pytest.mark.parametrize("path", sorted(LISTS))
def test_pagination_tokens_walk_every_page(path: str, xai_app: Flask, real: dict[str, str]) -> None:
    """Pages of 2, following each real token until it is null, are the whole list (§8)."""
    client = xai_app.test_client()
    chat = {"chat_get_completion": CHAT}
    requests = [{"batch_request_id": f"p{n}", "batch_request": chat} for n in (3, 1, 4, 0, 2)]
    batch_id = _batch(client, "pages", *requests)
    operation = schema[path]["GET"]
    parameters = {"batch_id": batch_id} if "{batch_id}" in path else {}

    def page(query: dict[str, Any]) -> Any:
        case = operation.Case(path_parameters=parameters, query=query)
        response = case.call_and_validate(app=xai_app, headers=dict(HEADERS))
        assert response.status_code == 200, response.text
        return response.json()

    rows: list[Any] = []
    query: dict[str, Any] = {"limit": 2}
    for _ in range(1000):
        found = page(query)
        assert len(found[LISTS[path]]) <= 2
        rows.extend(found[LISTS[path]])
        if found["pagination_token"] is None:
            break
        query = {"limit": 2, "pagination_token": found["pagination_token"]}
    else:
        pytest.fail("1000 pages and still a pagination_token")
    assert rows == page({"limit": 1000})[LISTS[path]]
    if parameters:  # sorted by batch_request_id, as seen live (§7)
        assert [row["batch_request_id"] for row in rows] == [f"p{n}" for n in range(5)]


# --- stateful: links ---------------------------------------------------------------------------


def _missing_links() -> list[str]:
    """The ``REQUIRED_LINKS`` that createBatch's 200 response does not declare."""
    return missing_links(schema.raw_schema, "/v1/batches", "batch_id", REQUIRED_LINKS)


def _creates_an_open_batch(case: Case) -> None:
    """A positive create gets a non-blank name and no (random, hence unknown) input file, so
    the links have a batch to follow; the contract cannot say either."""
    meta = case.meta
    if (
        case.operation.definition.raw.get("operationId") == "createBatch"
        and meta is not None
        and meta.generation.mode.is_positive
        and isinstance(case.body, dict)
    ):
        body = {k: v for k, v in case.body.items() if k != "input_file_id"}
        if not str(body.get("name", "")).strip():
            body["name"] = "stateful"
        case.body = body


def _no_made_up_token(case: Case) -> None:
    """A generated ``pagination_token`` is rightly a 400 (tokens are opaque, §8)."""
    if case.query and "pagination_token" in case.query:
        case.query = {k: v for k, v in case.query.items() if k != "pagination_token"}


def test_stateful_links(xai_app: Flask) -> None:
    """Create -> get / add / list requests / list results / cancel through the OpenAPI links."""
    missing = _missing_links()
    if missing:
        pytest.skip(
            "contracts/xai.yaml: createBatch's 200 response declares no OpenAPI link to "
            + ", ".join(missing)
            + " with parameters {batch_id: '$response.body#/batch_id'}"
        )
    reached: dict[str, set[int]] = {}  # operationId -> statuses, on batches the run created

    class XaiMachine(schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: Case) -> None:
            _creates_an_open_batch(case)
            _admissible(case)
            _no_made_up_token(case)

        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            return {"app": xai_app}

        def after_call(self, response: schemathesis.Response, case: Case) -> None:
            super().after_call(response, case)
            _assert_vendor_error(response)
            operation_id = case.operation.definition.raw.get("operationId")
            if str(case.path_parameters.get("batch_id", "")).startswith("batch_"):
                reached.setdefault(operation_id, set()).add(response.status_code)

    XaiMachine.run(settings=settings(SETTINGS, max_examples=30, stateful_step_count=6))
    ok = {op for op, statuses in reached.items() if 200 in statuses}
    assert ok == set(REQUIRED_LINKS), f"links not followed to a 200: {reached}"


# --- the cancel path ---------------------------------------------------------------------------


def test_get_on_the_cancel_path_is_405(xai_app: Flask, real: dict[str, str]) -> None:
    """``:cancel`` is never part of an id (§2): a GET there is a 405 allowing POST only."""
    response = xai_app.test_client().get(f"{BATCHES}/{real['empty']}:cancel", headers=HEADERS)
    assert response.status_code == 405, response.get_json()
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert "POST" in allowed and not allowed & {"GET", "HEAD"}, response.headers["Allow"]
    assert set(response.get_json()) == {"code", "error"}


@pytest.mark.parametrize("method", ["OPTIONS", "PUT"])
def test_allow_on_the_cancel_path_lists_no_get(
    method: str, xai_app: Flask, real: dict[str, str]
) -> None:
    path = f"{BATCHES}/{real['empty']}:cancel"
    response = xai_app.test_client().open(path, method=method, headers=HEADERS)
    assert response.status_code == (200 if method == "OPTIONS" else 405)
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert "GET" not in allowed and "POST" in allowed, response.headers["Allow"]
