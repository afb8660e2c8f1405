"""Shared pieces of the xAI tests: the key, request builders, REST calls with contract checks."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from mockserver.contracts import load_contract
from tests.contract_check import validate_response

KEY = "xai-test-key"
HEADERS = {"Authorization": f"Bearer {KEY}"}
BATCHES = "/v1/batches"
FILES = "/v1/files"
CHAT_MODEL = "grok-3-mini"  # a reasoning model: it reports reasoning tokens
PLAIN_MODEL = "grok-4-fast-non-reasoning"
IMAGE_MODEL = "grok-2-image-1212"
VIDEO_MODEL = "grok-imagine-video"


def checked(response: TestResponse, method: str, path: str) -> Any:
    """Assert the response honours ``contracts/xai.yaml``; return its JSON (or bytes)."""
    content_type = response.mimetype
    if content_type == "application/json":
        body: Any = response.get_json()
    else:
        body = response.data.decode("latin-1")
    validate_response(load_contract("xai"), method, path, response.status_code, content_type, body)
    return response.data if isinstance(body, str) else body


def _headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    return {**HEADERS, **(headers or {})}


def get(
    client: FlaskClient, path: str, headers: Mapping[str, str] | None = None, **query: Any
) -> tuple[int, Any]:
    response = client.get(path, headers=_headers(headers), query_string=query)
    return response.status_code, checked(response, "GET", path)


def post(
    client: FlaskClient,
    path: str,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, Any]:
    if body is None:
        response = client.post(path, headers=_headers(headers))
    else:
        response = client.post(path, json=body, headers=_headers(headers))
    return response.status_code, checked(response, "POST", path)


def create(
    client: FlaskClient,
    name: str = "test batch",
    input_file_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Create a batch (200 asserted) and return it."""
    body: dict[str, Any] = {"name": name}
    if input_file_id is not None:
        body["input_file_id"] = input_file_id
    status, batch = post(client, BATCHES, body, headers)
    assert status == 200, batch
    return dict(batch)


def add(
    client: FlaskClient,
    batch_id: str,
    *items: dict[str, Any],
    headers: Mapping[str, str] | None = None,
) -> tuple[int, Any]:
    """``POST /v1/batches/{id}/requests`` with ``items``; (status, checked body)."""
    return post(client, f"{BATCHES}/{batch_id}/requests", {"batch_requests": list(items)}, headers)


def added(
    client: FlaskClient,
    batch_id: str,
    *items: dict[str, Any],
    headers: Mapping[str, str] | None = None,
) -> None:
    status, body = add(client, batch_id, *items, headers=headers)
    assert (status, body) == (200, {}), body


def batch(client: FlaskClient, batch_id: str) -> dict[str, Any]:
    status, body = get(client, f"{BATCHES}/{batch_id}")
    assert status == 200, body
    return dict(body)


def state(client: FlaskClient, batch_id: str) -> dict[str, int]:
    return dict(batch(client, batch_id)["state"])


def counters(
    requests: int, pending: int, success: int = 0, error: int = 0, cancelled: int = 0
) -> dict[str, int]:
    return {
        "num_requests": requests,
        "num_pending": pending,
        "num_success": success,
        "num_error": error,
        "num_cancelled": cancelled,
    }


def pages(
    client: FlaskClient, path: str, key: str, **query: Any
) -> tuple[list[dict[str, Any]], int]:
    """Every row of a paginated listing, following tokens; (rows, number of pages)."""
    rows: list[dict[str, Any]] = []
    token: str | None = None
    count = 0
    while True:
        params = dict(query)
        if token:
            params["pagination_token"] = token
        status, page = get(client, path, **params)
        assert status == 200, page
        count += 1
        rows.extend(page[key])
        token = page["pagination_token"]
        if not token:
            return rows, count
        assert count < 1000, "pagination does not end"


def results(client: FlaskClient, batch_id: str, **query: Any) -> dict[str, dict[str, Any]]:
    """All result rows by ``batch_request_id`` (each id at most once)."""
    rows, _ = pages(client, f"{BATCHES}/{batch_id}/results", "results", **query)
    by_id = {row["batch_request_id"]: row["batch_result"] for row in rows}
    assert len(by_id) == len(rows), "a result row came back twice"
    return by_id


def metadata(client: FlaskClient, batch_id: str, **query: Any) -> dict[str, dict[str, Any]]:
    rows, _ = pages(client, f"{BATCHES}/{batch_id}/requests", "batch_request_metadata", **query)
    by_id = {row["batch_request_id"]: row for row in rows}
    assert len(by_id) == len(rows), "a metadata row came back twice"
    return by_id


def advance(client: FlaskClient, seconds: float, tenant: str = KEY) -> None:
    """Move the tenant's virtual clock (the manual profile runs a request in 2 s)."""
    response = client.post("/_mock/clock/advance", json={"seconds": seconds, "tenant": tenant})
    assert response.status_code == 200, response.get_json()


def chat(rid: str | None, content: str, model: str = CHAT_MODEL, **params: Any) -> dict[str, Any]:
    """A ``chat_get_completion`` batch request; ``rid=None`` lets the server name it."""
    body = {"model": model, "messages": [{"role": "user", "content": content}], **params}
    return request(rid, "chat_get_completion", body)


def request(rid: str | None, key: str, body: dict[str, Any]) -> dict[str, Any]:
    """A batch request of any endpoint ``key``."""
    item: dict[str, Any] = {"batch_request": {key: body}}
    if rid is not None:
        item["batch_request_id"] = rid
    return item


def upload(
    client: FlaskClient,
    data: bytes,
    filename: str = "input.jsonl",
    **form: str,
) -> tuple[int, Any]:
    """``POST /v1/files`` multipart (form fields placed before ``file``, as clients do)."""
    fields: dict[str, Any] = {**form, "file": (io.BytesIO(data), filename)}
    response = client.post(FILES, data=fields, headers=HEADERS, content_type="multipart/form-data")
    return response.status_code, checked(response, "POST", FILES)


def jsonl_line(custom_id: str, content: str, model: str = CHAT_MODEL) -> str:
    """One OpenAI-style batch input line for ``/v1/chat/completions``."""
    return json.dumps(
        {
            "custom_id": custom_id,
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": model, "messages": [{"role": "user", "content": content}]},
        }
    )


def local_path(url: str) -> str:
    """The path (and query) of an absolute URL the server handed out, for the test client."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
