"""The xAI Batch REST API over HTTP, in process, written from the reference (``xai-batch.md``).

Every operation, error and lifecycle step of ``/v1/batches`` and ``/v1/files``. Apps run the
``manual`` profile on a frozen virtual clock over a fake base time (2027-01-15T08:00:00Z), so a
request stays pending until the clock is advanced (it finishes 2 s after it is added) or its
job is stepped. Every response the contract declares is checked against ``contracts/xai.yaml``
(``xai_helpers.checked``).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mockserver.app import create_app
from mockserver.settings import Settings
from tests.conftest import T0, FakeTime, RecordingClient
from tests.xai_helpers import (
    BATCHES,
    CHAT_MODEL,
    FILES,
    HEADERS,
    IMAGE_MODEL,
    KEY,
    PLAIN_MODEL,
    VIDEO_MODEL,
    add,
    added,
    advance,
    batch,
    chat,
    checked,
    counters,
    create,
    get,
    jsonl_line,
    local_path,
    metadata,
    pages,
    post,
    request,
    results,
    state,
    upload,
)

INVALID = "Client specified an invalid argument"
NOT_FOUND = "Some requested entity was not found"
DAY = 86400.0
CREATED = "2027-01-15"  # T0 as a date
EXPIRES = "2027-02-14"  # T0 + 30 days
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
UNKNOWN_BATCH = "batch_00000000-0000-4000-8000-000000000000"


def manual_settings(**changes: Any) -> Settings:
    return Settings().replace(profile="manual", clock="virtual", model_load="lazy", **changes)


@pytest.fixture
def settings() -> Settings:
    """The conftest ``app`` fixture builds on this: manual profile, frozen virtual clock."""
    return manual_settings()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@contextmanager
def variant(**changes: Any) -> Iterator[FlaskClient]:
    """A client of a separately configured app (same fake base time), closed afterwards."""
    app = create_app(
        manual_settings(**changes), base_clock=FakeTime(), http_client=RecordingClient()
    )
    try:
        yield app.test_client()
    finally:
        app.extensions["mockserver"].close()


def assert_error(body: Any, code: str, *needles: str) -> None:
    """xAI's HTTP error shape: exactly ``{"code": <gRPC description>, "error": <message>}``."""
    assert set(body) == {"code", "error"}, body
    assert body["code"] == code, body
    assert isinstance(body["error"], str) and body["error"], body
    for needle in needles:
        assert needle in body["error"], body


def chat_response(row: dict[str, Any]) -> dict[str, Any]:
    assert set(row) == {"response"}, row
    assert set(row["response"]) == {"chat_get_completion"}, row
    found: dict[str, Any] = row["response"]["chat_get_completion"]
    return found


def segments(client: FlaskClient, batch_id: str) -> list[str]:
    """The engine jobs holding a batch's requests (one per add call), via the control API."""
    jobs = client.get("/_mock/jobs", query_string={"tenant": KEY}).get_json()["jobs"]
    return [j["id"] for j in jobs if j["id"] != batch_id and j["id"].startswith(batch_id)]


# --- create, get -----------------------------------------------------------------------------


def test_create_returns_an_empty_batch_with_date_only_timestamps(client: FlaskClient) -> None:
    created = create(client, "nightly eval")
    assert created["batch_id"].startswith("batch_")
    assert uuid.UUID(created["batch_id"].removeprefix("batch_")).version == 4
    assert created["name"] == "nightly eval"
    assert created["create_time"] == CREATED  # date-only, as the docs and captures show
    assert created["expire_time"] == EXPIRES  # create + 30 days
    assert created["cancel_time"] is None
    assert created["cancel_by_xai_message"] is None
    assert created["state"] == counters(0, 0)
    assert "input_file_id" not in created  # only on file-based batches
    assert batch(client, created["batch_id"]) == created


def test_create_api_key_id_names_the_key_without_revealing_it(client: FlaskClient) -> None:
    first, second = create(client), create(client)
    key_id = first["create_api_key_id"]
    assert isinstance(key_id, str) and key_id
    assert key_id != KEY and KEY not in key_id
    assert second["create_api_key_id"] == key_id  # one key, one id
    other = create(client, headers={"Authorization": "Bearer another-key"})
    assert other["create_api_key_id"] != key_id


def test_rfc3339_option_renders_full_timestamps_thirty_days_apart() -> None:
    with variant(xai_time_format="rfc3339") as client:
        created = create(client)
        create_time = datetime.fromisoformat(created["create_time"].replace("Z", "+00:00"))
        expire_time = datetime.fromisoformat(created["expire_time"].replace("Z", "+00:00"))
        assert created["create_time"].endswith("Z") and "T" in created["create_time"]
        assert create_time.timestamp() == T0
        assert expire_time - create_time == timedelta(days=30)
        added(client, created["batch_id"], chat("a", "hi"))
        row = metadata(client, created["batch_id"])["a"]
        assert datetime.fromisoformat(row["create_time"].replace("Z", "+00:00")) == create_time
        assert row["finish_time"] is None


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": 7}])
def test_create_needs_a_name(client: FlaskClient, body: dict[str, Any]) -> None:
    status, error = post(client, BATCHES, body)
    assert status == 400
    assert_error(error, INVALID)


def test_a_body_that_is_not_json_is_a_400(client: FlaskClient) -> None:
    response = client.post(
        BATCHES, data="{not json", headers=HEADERS, content_type="application/json"
    )
    assert response.status_code == 400
    assert_error(checked(response, "POST", BATCHES), INVALID)


# --- auth ------------------------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "", "Bearer ", "Basic xai-test-key", "xai-test-key"])
def test_a_missing_key_is_a_400_not_a_401(client: FlaskClient, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = client.get(BATCHES, headers=headers)
    assert response.status_code == 400
    assert_error(checked(response, "GET", BATCHES), INVALID)


def test_a_wrong_key_is_a_400_with_invalid_argument() -> None:
    with variant(api_keys=("k1", "k2")) as client:
        assert client.get(BATCHES, headers={"Authorization": "Bearer k2"}).status_code == 200
        stolen = "xai-stolen-0123456789abcdef"
        response = client.get(BATCHES, headers={"Authorization": f"Bearer {stolen}"})
        assert response.status_code == 400
        body = checked(response, "GET", BATCHES)
        assert_error(body, INVALID, "Incorrect API key")
        assert stolen not in body["error"]  # masked, never echoed whole
        response = client.post(BATCHES, json={"name": "x"}, headers={"Authorization": "Bearer k3"})
        assert response.status_code == 400
        assert_error(checked(response, "POST", BATCHES), INVALID)


def test_the_key_is_the_tenant(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    other = {"Authorization": "Bearer someone-else"}
    status, body = get(client, f"{BATCHES}/{batch_id}", headers=other)
    assert status == 404
    assert_error(body, NOT_FOUND)
    status, body = get(client, BATCHES, headers=other)
    assert (status, body) == (200, {"batches": [], "pagination_token": None})
    status, body = add(client, batch_id, chat("a", "hi"), headers=other)
    assert status == 404
    assert state(client, batch_id) == counters(0, 0)


# --- unknown batch ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("GET", ""),
        ("GET", "/requests"),
        ("GET", "/results"),
        ("POST", "/requests"),
        ("POST", ":cancel"),
    ],
)
def test_an_unknown_batch_is_a_404_not_found(client: FlaskClient, method: str, suffix: str) -> None:
    path = f"{BATCHES}/{UNKNOWN_BATCH}{suffix}"
    if method == "GET":
        status, body = get(client, path)
    elif suffix == "/requests":
        status, body = post(client, path, {"batch_requests": [chat("a", "hi")]})
    else:
        status, body = post(client, path)
    assert status == 404
    assert_error(body, NOT_FOUND, UNKNOWN_BATCH)


# --- listing batches -------------------------------------------------------------------------


def test_list_pages_with_limit_or_page_size_and_ends_on_a_null_token(client: FlaskClient) -> None:
    ids = {create(client, f"b{n}")["batch_id"] for n in range(5)}
    status, everything = get(client, BATCHES)
    assert status == 200 and everything["pagination_token"] is None
    assert {b["batch_id"] for b in everything["batches"]} == ids
    for name in ("limit", "page_size"):
        status, first = get(client, BATCHES, **{name: 2})
        assert status == 200 and len(first["batches"]) == 2
        token = first["pagination_token"]
        assert isinstance(token, str) and token
        assert not any(b in token for b in ids)  # opaque
        rows, count = pages(client, BATCHES, "batches", **{name: 2})
        assert count == 3
        assert [b["batch_id"] for b in rows] == [b["batch_id"] for b in everything["batches"]]
    status, last = get(client, BATCHES, limit=5)
    assert len(last["batches"]) == 5 and last["pagination_token"] is None


@pytest.mark.parametrize("token", ["garbage!", "not-a-token", base64.b64encode(b"x:1").decode()])
def test_a_bad_pagination_token_is_a_400(client: FlaskClient, token: str) -> None:
    batch_id = create(client)["batch_id"]
    for path in (BATCHES, f"{BATCHES}/{batch_id}/requests", f"{BATCHES}/{batch_id}/results"):
        status, body = get(client, path, pagination_token=token)
        assert status == 400, path
        assert_error(body, INVALID)


def test_a_negative_or_non_numeric_limit_is_a_400(client: FlaskClient) -> None:
    for value in (-1, "x"):
        response = client.get(BATCHES, headers=HEADERS, query_string={"limit": value})
        assert response.status_code == 400
        assert_error(checked(response, "GET", BATCHES), INVALID)


def test_pages_default_to_100_and_cap_at_1000(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    added(client, batch_id, *(chat(f"r{n:04d}", "x") for n in range(1001)))
    path = f"{BATCHES}/{batch_id}/requests"
    status, page = get(client, path)
    assert len(page["batch_request_metadata"]) == 100 and page["pagination_token"]
    status, page = get(client, path, limit=5000)
    assert len(page["batch_request_metadata"]) == 1000 and page["pagination_token"]
    status, rest = get(client, path, limit=5000, pagination_token=page["pagination_token"])
    assert [r["batch_request_id"] for r in rest["batch_request_metadata"]] == ["r1000"]
    assert rest["pagination_token"] is None


# --- adding requests -------------------------------------------------------------------------


def test_add_returns_an_empty_object_and_counts_pending(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    status, body = add(client, batch_id, chat("a", "hi"), chat("b", "there"))
    assert (status, body) == (200, {})
    assert state(client, batch_id) == counters(2, 2)


def test_an_unsupported_model_rejects_the_whole_call(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    added(client, batch_id, chat("kept", "hi"))
    status, body = add(client, batch_id, chat("new", "hi"), chat("bad", "hi", model="gpt-4o"))
    assert status == 400
    assert body == {"code": INVALID, "error": "Model gpt-4o is not supported for batch processing."}
    assert state(client, batch_id) == counters(1, 1)
    assert set(metadata(client, batch_id)) == {"kept"}


@pytest.mark.parametrize(
    "bad",
    [
        {"batch_request": {}},
        {"batch_request": {"chat_get_completion": {"model": CHAT_MODEL, "messages": []},
                           "responses": {"model": CHAT_MODEL, "input": "x"}}},
        {"batch_request": {"completions": {"model": CHAT_MODEL}}},
        {"batch_request_id": "x"},
        {"batch_request_id": "", "batch_request": chat(None, "x")["batch_request"]},
        request("x", "chat_get_completion", {"model": CHAT_MODEL}),
        request("x", "chat_get_completion", {"messages": [{"role": "user", "content": "x"}]}),
        request("x", "chat_get_completion", {"model": CHAT_MODEL, "messages": [{"role": "robot"}]}),
        request("x", "image_generation", {"model": IMAGE_MODEL}),
    ],
)  # fmt: skip
def test_a_malformed_item_rejects_the_whole_call(client: FlaskClient, bad: dict[str, Any]) -> None:
    batch_id = create(client)["batch_id"]
    status, body = add(client, batch_id, chat("good", "hi"), bad)
    assert status == 400
    assert_error(body, INVALID)
    assert state(client, batch_id) == counters(0, 0)
    assert metadata(client, batch_id) == {}


def test_an_identical_re_add_is_idempotent(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    item = chat("a", "hello", temperature=0.5, max_tokens=40)
    added(client, batch_id, item)
    added(client, batch_id, item)
    reordered = {
        "batch_request": {
            "chat_get_completion": {
                "max_tokens": 40,
                "temperature": 0.5,
                "messages": [{"content": "hello", "role": "user"}],
                "model": CHAT_MODEL,
            }
        },
        "batch_request_id": "a",
    }
    added(client, batch_id, reordered)  # same content, keys in another order
    assert state(client, batch_id) == counters(1, 1)
    added(client, batch_id, item, chat("b", "new"))  # only the new one is admitted
    assert state(client, batch_id) == counters(2, 2)
    advance(client, 2)
    added(client, batch_id, item)  # still idempotent once it has finished
    assert state(client, batch_id) == counters(2, 0, success=2)


def test_same_id_with_different_content_is_a_412_and_admits_nothing(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    added(client, batch_id, chat("a", "hello"))
    status, body = add(client, batch_id, chat("fresh", "x"), chat("a", "goodbye"))
    assert status == 412
    assert isinstance(body["code"], str) and body["code"]
    assert_error(
        body, body["code"], "batch_request_id 'a' content differs from originally submitted"
    )
    assert state(client, batch_id) == counters(1, 1)
    assert set(metadata(client, batch_id)) == {"a"}
    # the same id twice in one call with different content is refused as well
    status, body = add(client, batch_id, chat("z", "one"), chat("z", "two"))
    assert status == 412
    assert "content differs from originally submitted" in body["error"]
    assert state(client, batch_id) == counters(1, 1)


def test_omitted_ids_are_generated_as_batch_request_uuid(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    added(client, batch_id, chat(None, "one"), chat(None, "two"))
    added(client, batch_id, chat(None, "one"))  # no id: a new request, not a re-add
    ids = list(metadata(client, batch_id))
    assert len(set(ids)) == 3
    for rid in ids:
        assert rid.startswith("batch_request_")
        uuid.UUID(rid.removeprefix("batch_request_"))
    assert state(client, batch_id) == counters(3, 3)
    advance(client, 2)
    assert set(results(client, batch_id)) == set(ids)


def test_an_empty_add_changes_nothing(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    assert add(client, batch_id) == (200, {})
    assert state(client, batch_id) == counters(0, 0)


# --- counters and lifecycle ------------------------------------------------------------------


def test_counters_move_only_when_the_clock_does(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    added(client, batch_id, chat("a", "hi"), chat("b", "there"), chat("c", "x", max_tokens=-5))
    assert state(client, batch_id) == counters(3, 3)
    assert state(client, batch_id) == counters(3, 3)  # nothing moves on a frozen clock
    advance(client, 1)
    assert state(client, batch_id)["num_pending"] == 3  # queued 1 s, then running 1 s
    advance(client, 1)
    assert state(client, batch_id) == counters(3, 0, success=2, error=1)
    advance(client, DAY)
    assert state(client, batch_id) == counters(3, 0, success=2, error=1)


def test_stepping_a_requests_job_finishes_it(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    added(client, batch_id, chat("a", "hi"), chat("b", "there"))
    added(client, batch_id, chat("c", "later"))
    jobs = segments(client, batch_id)
    assert len(jobs) == 2
    first = sorted(jobs)[0]
    response = client.post(f"/_mock/jobs/{first}/step", json={"to": "terminal"})
    assert response.status_code == 200
    assert state(client, batch_id) == counters(3, 1, success=2)
    assert set(results(client, batch_id)) == {"a", "b"}


def test_results_are_readable_while_other_requests_are_pending(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    added(client, batch_id, chat("early-1", "one"), chat("early-2", "two"))
    advance(client, 2)
    added(client, batch_id, chat("late-1", "three"), chat("late-2", "four"))
    assert state(client, batch_id) == counters(4, 2, success=2)
    rows = results(client, batch_id)
    assert set(rows) == {"early-1", "early-2"}
    for row in rows.values():
        assert chat_response(row)["object"] == "chat.completion"
    meta = metadata(client, batch_id)
    assert {rid: m["state"] for rid, m in meta.items()} == {
        "early-1": "succeeded", "early-2": "succeeded", "late-1": "pending", "late-2": "pending",
    }  # fmt: skip
    assert meta["late-1"]["finish_time"] is None
    assert meta["early-1"]["finish_time"] == CREATED


def test_lifecycle_header_can_fail_every_request(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    headers = {"X-Mock-Lifecycle": json.dumps({"item_error_rate": 1})}
    added(client, batch_id, chat("a", "x"), chat("b", "y"), headers=headers)
    advance(client, 2)
    assert state(client, batch_id) == counters(2, 0, error=2)
    for row in results(client, batch_id).values():
        assert set(row) == {"error"} and isinstance(row["error"], str) and row["error"]
    assert {m["state"] for m in metadata(client, batch_id).values()} == {"failed"}


def test_instant_profile_header_finishes_at_once(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    added(client, batch_id, chat("a", "x"), headers={"X-Mock-Profile": "instant"})
    assert state(client, batch_id) == counters(1, 0, success=1)


@pytest.mark.parametrize(
    "headers", [{"X-Mock-Profile": "warp"}, {"X-Mock-Lifecycle": '{"bogus": 1}'}]
)
def test_a_bad_lifecycle_header_is_a_400(client: FlaskClient, headers: dict[str, str]) -> None:
    status, body = post(client, BATCHES, {"name": "x"}, headers)
    assert status == 400
    assert_error(body, INVALID)


# --- results ---------------------------------------------------------------------------------


def test_results_are_sorted_by_batch_request_id_not_submission(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    ids = ["m", "b", "z", "a10", "a2", "B", "a1"]
    added(client, batch_id, *(chat(rid, f"prompt {rid}") for rid in ids[:4]))
    added(client, batch_id, *(chat(rid, f"prompt {rid}") for rid in ids[4:]))
    advance(client, 2)
    status, page = get(client, f"{BATCHES}/{batch_id}/results")
    assert [r["batch_request_id"] for r in page["results"]] == sorted(ids)
    assert page["pagination_token"] is None
    status, page = get(client, f"{BATCHES}/{batch_id}/requests")
    assert [r["batch_request_id"] for r in page["batch_request_metadata"]] == sorted(ids)


def test_result_pages_return_every_row_exactly_once(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    ids = [f"req-{n}" for n in (7, 3, 9, 1, 5, 2, 8, 4, 6, 0)]
    added(
        client,
        batch_id,
        *(chat(rid, rid, max_tokens=-1 if rid in ("req-3", "req-6") else None) for rid in ids),
    )
    advance(client, 2)
    rows, count = pages(client, f"{BATCHES}/{batch_id}/results", "results", limit=3)
    assert count == 4
    assert [r["batch_request_id"] for r in rows] == sorted(ids)
    same, count = pages(client, f"{BATCHES}/{batch_id}/results", "results", page_size=4)
    assert count == 3 and same == rows
    assert sum("error" in r["batch_result"] for r in rows) == 2
    meta, count = pages(client, f"{BATCHES}/{batch_id}/requests", "batch_request_metadata", limit=3)
    assert count == 4 and [m["batch_request_id"] for m in meta] == sorted(ids)


def test_result_pages_skip_pending_requests(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    added(client, batch_id, chat("a1", "x"), chat("a3", "x"), chat("a5", "x"))
    advance(client, 2)
    added(client, batch_id, chat("a2", "x"), chat("a4", "x"), chat("a6", "x"))
    rows, _ = pages(client, f"{BATCHES}/{batch_id}/results", "results", limit=1)
    assert [r["batch_request_id"] for r in rows] == ["a1", "a3", "a5"]
    advance(client, 2)
    rows, _ = pages(client, f"{BATCHES}/{batch_id}/results", "results", limit=4)
    assert [r["batch_request_id"] for r in rows] == ["a1", "a2", "a3", "a4", "a5", "a6"]


def test_a_negative_max_tokens_is_admitted_then_fails(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    assert add(client, batch_id, chat("neg", "hi", max_tokens=-5)) == (200, {})
    assert state(client, batch_id) == counters(1, 1)
    assert results(client, batch_id) == {}
    advance(client, 2)
    assert state(client, batch_id) == counters(1, 0, error=1)
    assert results(client, batch_id) == {
        "neg": {"error": "Maximum number of tokens max_tokens must be positive but max_tokens = -5"}
    }
    row = metadata(client, batch_id)["neg"]
    assert row["state"] == "failed" and row["finish_time"] == CREATED


def test_chat_result_shape_usage_and_cost(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    added(client, batch_id, chat("think", "Why is the sky blue?"), chat("plain", "Hi", PLAIN_MODEL))
    advance(client, 2)
    rows = results(client, batch_id)
    for rid, model in (("think", CHAT_MODEL), ("plain", PLAIN_MODEL)):
        completion = chat_response(rows[rid])
        assert completion["object"] == "chat.completion"
        assert isinstance(completion["id"], str) and completion["id"]
        assert isinstance(completion["created"], int) and T0 <= completion["created"] <= T0 + 10
        assert completion["model"] == model
        [choice] = completion["choices"]
        assert choice["index"] == 0 and choice["finish_reason"] == "stop"
        assert choice["message"]["role"] == "assistant"
        assert isinstance(choice["message"]["content"], str) and choice["message"]["content"]
        usage = completion["usage"]
        reasoning = usage["completion_tokens_details"]["reasoning_tokens"]
        assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
        # reasoning tokens are not part of completion_tokens on the batch wire
        assert (
            usage["prompt_tokens"] + usage["completion_tokens"] + reasoning
            == (usage["total_tokens"])
        )
        assert type(usage["cost_in_usd_ticks"]) is int and usage["cost_in_usd_ticks"] > 0
        assert set(usage["prompt_tokens_details"]) >= {"text_tokens", "cached_tokens"}
    assert chat_response(rows["think"])["usage"]["completion_tokens_details"]["reasoning_tokens"]
    assert not chat_response(rows["plain"])["usage"]["completion_tokens_details"][
        "reasoning_tokens"
    ]
    assert results(client, batch_id) == rows  # deterministic across reads


def test_max_tokens_caps_each_choice(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    prompt = "Tell me a long story about dragons and castles and knights"
    added(client, batch_id, chat("short", prompt, PLAIN_MODEL, max_tokens=5, n=2))
    advance(client, 2)
    completion = chat_response(results(client, batch_id)["short"])
    assert [c["index"] for c in completion["choices"]] == [0, 1]
    assert {c["finish_reason"] for c in completion["choices"]} == {"length"}
    assert completion["usage"]["completion_tokens"] <= 10


def test_results_are_reproducible_across_servers_with_the_same_seed() -> None:
    seen = []
    for _ in range(2):
        with variant() as client:
            batch_id = create(client)["batch_id"]
            added(client, batch_id, chat("a", "What is 2 + 2?"), chat(None, "Name a colour"))
            advance(client, 2)
            seen.append((batch_id, results(client, batch_id)))
    assert seen[0] == seen[1]


def test_a_responses_request_runs_as_chat(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    added(
        client,
        batch_id,
        request("r1", "responses", {"model": CHAT_MODEL, "input": "Hello there",
                                    "instructions": "Be brief", "max_output_tokens": 50}),
        request("r2", "responses", {"model": PLAIN_MODEL, "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "Hi"}]}]}),
    )  # fmt: skip
    meta = metadata(client, batch_id)
    assert {m["endpoint"] for m in meta.values()} == {"xai_api.Chat/GetCompletion"}
    assert meta["r1"]["model"] == CHAT_MODEL
    advance(client, 2)
    rows = results(client, batch_id)
    for rid in ("r1", "r2"):
        completion = chat_response(rows[rid])  # the result key is chat_get_completion
        assert completion["object"] == "chat.completion"
    assert chat_response(rows["r1"])["usage"]["completion_tokens"] <= 50


def test_image_generation_result_has_urls(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    body = {"model": IMAGE_MODEL, "prompt": "a red fox", "n": 2}
    added(client, batch_id, request("img", "image_generation", body))
    assert metadata(client, batch_id)["img"]["model"] == IMAGE_MODEL
    advance(client, 2)
    row = results(client, batch_id)["img"]
    assert set(row) == {"response"} and set(row["response"]) == {"image_generation"}
    image = row["response"]["image_generation"]
    assert len(image["data"]) == 2
    urls = [entry["url"] for entry in image["data"]]
    assert all(url.startswith("http") for url in urls) and len(set(urls)) == 2
    assert "b64_json" not in image["data"][0]
    assert type(image["usage"]["cost_in_usd_ticks"]) is int


def test_image_url_downloads_a_png(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    added(
        client, batch_id, request("img", "image_generation", {"model": IMAGE_MODEL, "prompt": "x"})
    )
    advance(client, 2)
    url = results(client, batch_id)["img"]["response"]["image_generation"]["data"][0]["url"]
    response = client.get(local_path(url))
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.data.startswith(PNG_SIGNATURE)
    assert client.get(local_path(url)).data == response.data  # same request, same bytes


def test_image_b64_json_result_is_an_inline_png(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    body = {"model": IMAGE_MODEL, "prompt": "x", "response_format": "b64_json"}
    added(client, batch_id, request("img", "image_generation", body))
    advance(client, 2)
    [entry] = results(client, batch_id)["img"]["response"]["image_generation"]["data"]
    assert "url" not in entry
    assert base64.b64decode(entry["b64_json"]).startswith(PNG_SIGNATURE)


def test_video_generation_result_downloads_an_mp4(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    body = {"model": VIDEO_MODEL, "prompt": "a fox running", "duration": 4}
    added(client, batch_id, request("vid", "video_generation", body))
    advance(client, 2)
    row = results(client, batch_id)["vid"]
    assert set(row) == {"response"} and set(row["response"]) == {"video_generation"}
    video = row["response"]["video_generation"]
    assert video["model"] == VIDEO_MODEL
    assert video["video"]["duration"] == 4
    assert type(video["usage"]["cost_in_usd_ticks"]) is int
    response = client.get(local_path(video["video"]["url"]))
    try:
        assert response.status_code == 200
        assert response.mimetype == "video/mp4" and response.data[4:8] == b"ftyp"
    finally:
        response.close()  # the body streams from a file


def test_a_media_url_works_for_any_request_id(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    body = {"model": VIDEO_MODEL, "prompt": "p"}
    added(client, batch_id, request("clips/1", "video_generation", body))
    advance(client, 2)
    url = results(client, batch_id)["clips/1"]["response"]["video_generation"]["video"]["url"]
    response = client.get(local_path(url))
    try:
        assert response.status_code == 200
        assert response.mimetype == "video/mp4"
    finally:
        response.close()


# --- cancel ----------------------------------------------------------------------------------


def test_cancel_stops_pending_requests_and_keeps_finished_results(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    added(client, batch_id, chat("done-1", "one"), chat("done-2", "two", max_tokens=-5))
    advance(client, 2)
    added(client, batch_id, chat("open-1", "three"), chat("open-2", "four"))
    before = results(client, batch_id)
    assert set(before) == {"done-1", "done-2"}
    advance(client, 1)
    status, cancelled = post(client, f"{BATCHES}/{batch_id}:cancel")
    assert status == 200
    assert cancelled["batch_id"] == batch_id
    assert cancelled["cancel_time"] == CREATED
    assert cancelled["cancel_by_xai_message"] is None  # cancelled by the user, not by xAI
    assert cancelled["state"] == counters(4, 0, success=1, error=1, cancelled=2)
    assert batch(client, batch_id) == cancelled
    after = results(client, batch_id)
    assert {rid: after[rid] for rid in before} == before  # finished results are kept as they were
    assert after["open-1"] == after["open-2"] == {"error": "Batch cancelled"}
    meta = metadata(client, batch_id)
    assert meta["open-1"]["state"] == "cancelled" and meta["open-1"]["finish_time"] == CREATED
    assert meta["done-2"]["state"] == "failed"
    advance(client, DAY)  # nothing resumes
    assert state(client, batch_id) == counters(4, 0, success=1, error=1, cancelled=2)


def test_cancelling_twice_is_harmless(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    added(client, batch_id, chat("a", "x"))
    first = post(client, f"{BATCHES}/{batch_id}:cancel")
    advance(client, 2 * DAY)
    second = post(client, f"{BATCHES}/{batch_id}:cancel")
    assert first == second
    assert first[1]["cancel_time"] == CREATED


def test_adding_after_cancel_is_a_403(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    added(client, batch_id, chat("a", "x"))
    assert post(client, f"{BATCHES}/{batch_id}:cancel")[0] == 200
    status, body = add(client, batch_id, chat("b", "y"))
    assert status == 403
    assert_error(body, "The caller does not have permission to execute the specified operation")
    assert state(client, batch_id) == counters(1, 0, cancelled=1)


def test_cancel_of_an_empty_batch(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    status, body = post(client, f"{BATCHES}/{batch_id}:cancel")
    assert status == 200
    assert body["cancel_time"] == CREATED and body["state"] == counters(0, 0)


def test_cancel_is_the_colon_route_not_a_cancel_segment(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    response = client.post(f"{BATCHES}/{batch_id}/cancel", headers=HEADERS)  # OpenAI's path
    assert response.status_code == 404
    assert_error(response.get_json(), NOT_FOUND)
    assert batch(client, batch_id)["cancel_time"] is None


def test_get_on_the_cancel_route_is_a_405(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    response = client.get(f"{BATCHES}/{batch_id}:cancel", headers=HEADERS)
    assert response.status_code == 405
    assert f"{batch_id}:cancel not found" not in response.get_json()["error"]


# --- request metadata ------------------------------------------------------------------------


def test_request_metadata_lists_every_request_with_lowercase_states(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    added(client, batch_id, chat("ok", "x"), chat("bad", "x", max_tokens=-5))
    added(
        client, batch_id, request("vid", "video_generation", {"model": VIDEO_MODEL, "prompt": "p"})
    )
    advance(client, 2)
    added(
        client,
        batch_id,
        chat("waiting", "x"),
        request("img", "image_generation", {"model": IMAGE_MODEL, "prompt": "p"}),
    )
    meta = metadata(client, batch_id)
    assert set(meta) == {"ok", "bad", "vid", "waiting", "img"}
    assert {rid: m["state"] for rid, m in meta.items()} == {
        "ok": "succeeded", "bad": "failed", "vid": "succeeded", "waiting": "pending",
        "img": "pending",
    }  # fmt: skip
    assert meta["ok"]["endpoint"] == "xai_api.Chat/GetCompletion"
    assert meta["ok"]["model"] == CHAT_MODEL and meta["vid"]["model"] == VIDEO_MODEL
    for row in meta.values():
        assert set(row) == {
            "batch_request_id", "endpoint", "model", "state", "create_time", "finish_time",
        }  # fmt: skip
        assert row["state"] == row["state"].lower()
        assert row["create_time"] == CREATED
        assert (row["finish_time"] is None) == (row["state"] == "pending")
    assert post(client, f"{BATCHES}/{batch_id}:cancel")[0] == 200
    assert metadata(client, batch_id)["waiting"]["state"] == "cancelled"


# --- expiry ----------------------------------------------------------------------------------


def test_expiry_cancels_what_is_still_pending(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    added(client, batch_id, chat("quick", "x"))
    stuck = {"X-Mock-Lifecycle": json.dumps({"stuck": "queued"})}
    added(client, batch_id, chat("stuck", "x"), headers=stuck)
    advance(client, 29 * DAY)
    assert state(client, batch_id) == counters(2, 1, success=1)
    advance(client, DAY + 60)
    assert state(client, batch_id) == counters(2, 0, success=1, cancelled=1)
    rows = results(client, batch_id)
    assert chat_response(rows["quick"])["object"] == "chat.completion"
    assert set(rows["stuck"]) == {"error"}
    assert rows["stuck"]["error"] in ("Batch cancelled", "Batch expired")
    row = metadata(client, batch_id)["stuck"]
    assert row["state"] == "cancelled" and row["finish_time"] == EXPIRES
    status, body = add(client, batch_id, chat("too-late", "x"))
    assert status == 403
    assert state(client, batch_id)["num_requests"] == 2


# --- files and file-based batches ------------------------------------------------------------


def test_upload_returns_the_file_object(client: FlaskClient) -> None:
    data = (jsonl_line("one", "hi") + "\n").encode()
    status, stored = upload(client, data, "requests.jsonl", purpose="batch")
    assert status == 200
    assert stored["id"].startswith("file_") and stored["object"] == "file"
    assert stored["bytes"] == len(data)
    assert stored["created_at"] == int(T0) and type(stored["created_at"]) is int
    assert stored["filename"] == "requests.jsonl" and stored["purpose"] == "batch"
    assert get(client, f"{FILES}/{stored['id']}") == (200, stored)
    status, expiring = upload(client, data, expires_after="3600")
    assert expiring["expires_at"] == expiring["created_at"] + 3600
    status, body = get(client, f"{FILES}/file_nope")
    assert status == 404
    assert_error(body, NOT_FOUND)


def test_a_file_based_batch_uses_custom_ids(client: FlaskClient) -> None:
    lines = [jsonl_line("cid-b", "first"), jsonl_line("cid-a", "second")]
    lines.append(json.dumps({"custom_id": "cid-r", "method": "POST", "url": "/v1/responses",
                             "body": {"model": CHAT_MODEL, "input": "third"}}))  # fmt: skip
    _, stored = upload(client, ("\n".join(lines) + "\n").encode())
    created = create(client, "from file", input_file_id=stored["id"])
    assert created["input_file_id"] == stored["id"]
    assert created["cancel_time"] is None and created["cancel_by_xai_message"] is None
    assert created["state"] == counters(3, 3)
    assert list(metadata(client, created["batch_id"])) == ["cid-a", "cid-b", "cid-r"]
    advance(client, 2)
    rows = results(client, created["batch_id"])
    assert list(rows) == ["cid-a", "cid-b", "cid-r"]
    for row in rows.values():
        assert chat_response(row)["object"] == "chat.completion"
    assert state(client, created["batch_id"]) == counters(3, 0, success=3)


def test_inline_requests_cannot_be_added_to_a_file_based_batch(client: FlaskClient) -> None:
    _, stored = upload(client, jsonl_line("only", "hi").encode())
    batch_id = create(client, input_file_id=stored["id"])["batch_id"]
    status, body = add(client, batch_id, chat("extra", "x"))
    assert status == 412
    assert body["error"] == "Cannot add inline requests to a file-based batch"
    assert isinstance(body["code"], str) and body["code"]
    assert state(client, batch_id) == counters(1, 1)


def test_a_malformed_file_creates_a_batch_cancelled_by_xai(client: FlaskClient) -> None:
    data = (jsonl_line("ok", "hi") + "\n{not json\n" + jsonl_line("also", "x") + "\n").encode()
    _, stored = upload(client, data, "bad.jsonl")
    created = create(client, "broken", input_file_id=stored["id"])
    assert created["state"] == counters(0, 0)
    assert created["cancel_time"] is not None
    assert created["cancel_by_xai_message"].startswith(
        "JSONL file validation failed: line 2: invalid JSON"
    )
    assert created["input_file_id"] == stored["id"]
    assert get(client, f"{BATCHES}/{created['batch_id']}/results") == (
        200,
        {"results": [], "pagination_token": None},
    )
    assert batch(client, created["batch_id"]) == created


def test_files_belong_to_the_key_that_uploaded_them(client: FlaskClient) -> None:
    _, stored = upload(client, jsonl_line("x", "y").encode())
    other = {"Authorization": "Bearer someone-else"}
    status, body = post(client, BATCHES, {"name": "x", "input_file_id": stored["id"]}, other)
    assert status == 404
    assert_error(body, NOT_FOUND)
    status, body = get(client, f"{FILES}/{stored['id']}", headers=other)
    assert status == 404


def test_an_upload_without_a_file_is_a_400(client: FlaskClient) -> None:
    response = client.post(
        FILES, data={"purpose": "batch"}, headers=HEADERS, content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert_error(checked(response, "POST", FILES), INVALID)


def test_an_unknown_input_file_is_a_404(client: FlaskClient) -> None:
    status, body = post(client, BATCHES, {"name": "x", "input_file_id": "file_missing"})
    assert status == 404
    assert_error(body, NOT_FOUND)
    assert get(client, BATCHES)[1]["batches"] == []


# --- routing errors and headers --------------------------------------------------------------


@pytest.mark.parametrize(("method", "suffix"), [("DELETE", ""), ("PUT", "/{id}"),
                                                 ("DELETE", "/{id}/results"),
                                                 ("PATCH", "/{id}/requests")])  # fmt: skip
def test_a_wrong_method_is_a_405_in_xai_shape(
    client: FlaskClient, method: str, suffix: str
) -> None:
    batch_id = create(client)["batch_id"]
    path = BATCHES + suffix.replace("{id}", batch_id)
    response = client.open(path, method=method, headers=HEADERS)
    assert response.status_code == 405
    body = response.get_json()  # no such operation in the contract: check the shape here
    assert set(body) == {"code", "error"}
    assert isinstance(body["code"], str) and body["code"]
    assert method in body["error"]


def test_an_unknown_path_is_a_404_in_xai_shape(client: FlaskClient) -> None:
    response = client.get("/v1/nowhere", headers=HEADERS)
    assert response.status_code == 404
    assert_error(response.get_json(), NOT_FOUND)


def test_every_response_carries_the_request_id_and_retention_headers(client: FlaskClient) -> None:
    batch_id = create(client)["batch_id"]
    responses = [
        client.post(BATCHES, json={"name": "x"}, headers=HEADERS),
        client.get(f"{BATCHES}/{batch_id}", headers=HEADERS),
        client.get(f"{BATCHES}/{UNKNOWN_BATCH}", headers=HEADERS),  # 404
        client.get(BATCHES),  # 400: no key
        client.post(f"{BATCHES}/{batch_id}/requests", json={"batch_requests": [chat("a", "x")]},
                    headers=HEADERS),
        client.post(f"{BATCHES}/{batch_id}:cancel", headers=HEADERS),
    ]  # fmt: skip
    ids = [r.headers.get("x-request-id") for r in responses]
    assert all(ids) and len(set(ids)) == len(ids)
    for response in responses:
        assert response.headers["x-zero-data-retention"] == "false"
        assert response.headers["x-data-retention"] == "general"


def test_routing_errors_carry_the_same_headers(client: FlaskClient) -> None:
    for response in (
        client.delete(BATCHES, headers=HEADERS),
        client.get("/v1/nowhere", headers=HEADERS),
    ):
        assert response.headers.get("x-request-id"), response.status_code
        assert response.headers.get("x-zero-data-retention") == "false"
