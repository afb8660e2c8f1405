"""Hostile requests against the four vendor faces, in process: each gets its vendor's error.

Covered here: wrong and missing keys, another tenant's ids (indistinguishable from unknown
ones, journal included), deeply nested JSON, invalid UTF-8 and lone surrogates (JSON bodies,
form fields, query strings, paths), malformed multipart bodies, wrong content types, huge
query strings and oversize bodies (memory measured with ``tracemalloc``). Archives and
outbound URLs (zip bombs, zip slip, SSRF) are in ``test_hostile_media.py``.

The rule every test checks: the provider's status and error shape, a message that names the
problem, never a 500 or a traceback. The model is never loaded: every input here is refused
(or fails as a source) before a model would run, and Eden AI's builders are stand-ins.
"""

from __future__ import annotations

import io
import itertools
import json
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from mockserver.app import create_app
from mockserver.engine.media import Limits
from mockserver.providers.edenai import routes as eden_routes
from mockserver.providers.huggingface import routes as hf_routes
from mockserver.providers.huggingface.session import _Close, _item
from mockserver.providers.hume import routes as hume_routes
from mockserver.providers.xai import backend as xai_backend
from mockserver.providers.xai import routes as xai_routes
from mockserver.providers.xai.errors import GRPC_CODES
from mockserver.settings import Settings
from tests.conftest import FakeTime, RecordingClient
from tests.eden_helpers import FakeBuilders, fake_builders
from tests.samples import silent_wav

KEY_A, KEY_B = "tenant-a-key", "tenant-b-key"
PROVIDERS = ("hume", "xai", "hf", "eden")
STT = "/v2/audio/speech_to_text_async"
ASR = "facebook/wav2vec2-base-960h"
ZERO_SHOT = "facebook/bart-large-mnli"
NOWHERE = "https://nowhere.invalid/clip.wav"  # resolves to nothing: the source fails, no model


def auth(provider: str, key: str = KEY_A) -> dict[str, str]:
    return {"X-Hume-Api-Key": key} if provider == "hume" else {"Authorization": f"Bearer {key}"}


def build_app(http_client: Any = None, **settings: Any) -> Flask:
    """An app whose model counts as loaded but never runs (nothing here reaches it)."""
    values = {"model_load": "lazy", "api_keys": f"{KEY_A},{KEY_B}", **settings}
    app = create_app(
        Settings().replace(**values),
        base_clock=FakeTime(),
        http_client=http_client if http_client is not None else RecordingClient(),
    )
    app.extensions["mockserver"].inference.state = "ready"
    return app


@pytest.fixture(scope="module")
def fake_eden() -> Iterator[FakeBuilders]:
    with fake_builders() as fakes:
        yield fakes


@pytest.fixture(scope="module")
def shared(fake_eden: FakeBuilders) -> Iterator[Flask]:
    app = build_app()
    yield app
    app.extensions["mockserver"].close()


@pytest.fixture
def web(shared: Flask) -> FlaskClient:
    return shared.test_client()


# --- the vendors' error shapes -----------------------------------------------------------------


def refusal(provider: str, response: TestResponse, status: int) -> str:
    """Assert ``status`` and the provider's error shape; return the message text."""
    text = response.get_data(as_text=True)
    assert response.status_code == status, text[:500]
    assert "Traceback" not in text
    assert response.mimetype == "application/json", response.mimetype
    body = response.get_json()
    if provider == "hume":  # {"message", "violations"?} (reference §11; errors.py)
        assert set(body) <= {"message", "violations"} and isinstance(body["message"], str)
        return str(body["message"])
    if provider == "xai":  # {"code": gRPC status description, "error"} (reference §9)
        assert set(body) == {"code", "error"}, body
        assert body["code"] == xai_codes()[status]
        return str(body["error"])
    if provider == "hf":  # {"error": str | [str]} (reference §3)
        assert "error" in body and set(body) <= {"error", "estimated_time"}, body
        error = body["error"]
        return error if isinstance(error, str) else "; ".join(error)
    if status == 404:  # Eden's NotFoundResponse (reference §7)
        assert body == {"details": "Not Found"}
        return "Not Found"
    assert set(body) <= {"error", "violations"}, body
    message = body["error"]["message"]
    if status == 400:  # BadRequest: DRF's per-field lists under Eden's envelope
        assert body["error"]["type"] == "Invalid request"
        assert all(isinstance(v, list) for v in message.values())
        return json.dumps(message)
    assert isinstance(message, str)  # 403/413/500 Error: {"error": {"type", "message"}}
    return str(message)


def body_of(response: TestResponse) -> Any:
    """The JSON body (typed for indexing)."""
    found: Any = response.get_json()
    return found


def xai_codes() -> dict[int, str]:
    return {status: description for status, (_, description) in GRPC_CODES.items()}


def says(message: str, *words: str) -> None:
    lowered = message.lower()
    for word in words:
        assert word.lower() in lowered, f"{word!r} not in {message!r}"


# --- wrong and missing keys --------------------------------------------------------------------

HUME_MISSING = {
    "fault": {
        "faultstring": "Failed to resolve API Key variable request.header.X-Hume-Api-Key",
        "detail": {"errorcode": "steps.oauth.v2.FailedToResolveAPIKey"},
    }
}
HUME_INVALID = {
    "fault": {"faultstring": "Invalid ApiKey", "detail": {"errorcode": "oauth.v2.InvalidApiKey"}}
}
XAI_NO_KEY = (
    "No API key provided. Specify your API key in an Authorization header using Bearer auth "
    "(Authorization: Bearer <your-key>). You can obtain an API key from https://console.x.ai."
)
#: (provider, missing?) -> (status, body). Hume: the Apigee gateway's 401 fault; xAI: a 400
#: INVALID_ARGUMENT, as live; HF: 401 without a token, 400 with an unknown one (legacy API);
#: Eden AI: 403 with DRF's exception names (reference §7 lists 403, no 401).
AUTH_ANSWERS: dict[tuple[str, bool], tuple[int, Any]] = {
    ("hume", True): (401, HUME_MISSING),
    ("hume", False): (401, HUME_INVALID),
    ("xai", True): (400, {"code": "Client specified an invalid argument", "error": XAI_NO_KEY}),
    ("xai", False): (400, None),  # "Incorrect API key provided: <masked>. ..." checked below
    ("hf", True): (401, {"error": "Invalid credentials in Authorization header"}),
    ("hf", False): (
        400,
        {"error": "Authorization header is correct, but the token seems invalid"},
    ),
    ("eden", True): (
        403,
        {
            "error": {
                "type": "NotAuthenticated",
                "message": "Authentication credentials were not provided.",
            }
        },
    ),
    ("eden", False): (
        403,
        {"error": {"type": "AuthenticationFailed", "message": "Invalid API key."}},
    ),
}
#: A cheap call per provider: a read, an id-bearing read and a write with a hostile body.
AUTH_CALLS: dict[str, list[tuple[str, str]]] = {
    "hume": [("GET", "/v0/batch/jobs"), ("GET", "/v0/batch/jobs/x"), ("POST", "/v0/batch/jobs")],
    "xai": [("GET", "/v1/batches"), ("GET", "/v1/files/file_x"), ("POST", "/v1/batches")],
    "hf": [("POST", f"/models/{ZERO_SHOT}"), ("POST", f"/bulk/run/cpu/{ASR}")],
    "eden": [("GET", f"{STT}/"), ("GET", f"{STT}/x/"), ("POST", f"{STT}/")],
}
BAD_KEYS: dict[str, tuple[bool, dict[str, str]]] = {
    "none": (True, {}),
    "empty bearer": (True, {"Authorization": "Bearer "}),
    "basic scheme": (True, {"Authorization": "Basic dGVuYW50LWEta2V5Og=="}),
    "wrong key": (False, {"Authorization": "Bearer stolen-key"}),
    "huge key": (False, {"Authorization": "Bearer " + "k" * 65_536}),
    "latin-1 key": (False, {"Authorization": "Bearer cl\xe9-\xff"}),
}


def _hume_headers(headers: dict[str, str]) -> dict[str, str]:
    """The same attempt in Hume's header: the bearer value (if any) as the key."""
    value = headers.get("Authorization", "")
    key = value.partition(" ")[2] if value.startswith("Bearer") else ""
    return {"X-Hume-Api-Key": key} if key.strip() else {}


@pytest.mark.parametrize("case", list(BAD_KEYS))
@pytest.mark.parametrize("provider", PROVIDERS)
def test_wrong_or_missing_keys_get_the_vendors_exact_refusal(
    web: FlaskClient, provider: str, case: str
) -> None:
    missing, headers = BAD_KEYS[case]
    if provider == "hume":
        headers = _hume_headers(headers)
        missing = not headers
    status, expected = AUTH_ANSWERS[(provider, missing)]
    for method, path in AUTH_CALLS[provider]:
        # Auth comes first: a hostile body behind a bad key is never parsed.
        response = web.open(
            path,
            method=method,
            headers=headers,
            data=b"[" * 100_000,
            content_type="application/json",
        )
        assert response.status_code == status, (path, response.get_data(as_text=True)[:300])
        body = response.get_json()
        if expected is not None:
            assert body == expected
        else:  # xAI names the key masked, never whole (it is a secret)
            assert body["code"] == "Client specified an invalid argument"
            assert body["error"].startswith("Incorrect API key provided: ")
            sent = headers["Authorization"].partition(" ")[2]
            assert sent not in body["error"] and len(body["error"]) < 200


def test_an_unauthenticated_probe_of_a_real_id_looks_like_any_other(web: FlaskClient) -> None:
    job = _hume_job(web, KEY_A)
    for path in (f"/v0/batch/jobs/{job}", f"/v0/batch/jobs/{_unknown(job)}"):
        for headers in ({}, {"X-Hume-Api-Key": "stolen"}):
            response = web.get(path, headers=headers)
            assert response.status_code == 401
            assert response.get_json() == (HUME_INVALID if headers else HUME_MISSING)


# --- another tenant's ids ----------------------------------------------------------------------


def _hume_job(web: FlaskClient, key: str) -> str:
    response = web.post("/v0/batch/jobs", json={"urls": [NOWHERE]}, headers=auth("hume", key))
    assert response.status_code == 200, response.get_json()
    return str(response.get_json()["job_id"])


def _settle(app: Flask) -> None:
    app.extensions["mockserver"].scheduler.run_due()


def _xai_setup(web: FlaskClient, key: str) -> dict[str, str]:
    headers = auth("xai", key)
    line = json.dumps(
        {
            "custom_id": "q1",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "grok-3-mini", "messages": [{"role": "user", "content": "Hi"}]},
        }
    )
    upload = web.post(
        "/v1/files",
        data={"file": (io.BytesIO(line.encode()), "in.jsonl")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert upload.status_code == 200, upload.get_json()
    batch = web.post("/v1/batches", json={"name": "mine"}, headers=headers).get_json()["batch_id"]
    ask = {"model": "grok-3-mini", "messages": [{"role": "user", "content": "Hello?"}]}
    item = {"batch_request_id": "r1", "batch_request": {"chat_get_completion": ask}}
    added = web.post(
        f"/v1/batches/{batch}/requests", json={"batch_requests": [item]}, headers=headers
    )
    assert added.status_code == 200, added.get_json()
    return {"batch": batch, "file": upload.get_json()["id"], "item": json.dumps(item)}


def _eden_setup(web: FlaskClient, key: str) -> dict[str, str]:
    headers = auth("eden", key)
    body = {"providers": "amazon", "language": "en", "file_url": "https://example.com/happy.wav"}
    launched = web.post(f"{STT}/", json=body, headers=headers)
    assert launched.status_code == 200, launched.get_json()
    name = f"nightly{next(_BATCHES)}"
    batch = web.post(f"{STT}/batch/{name}/", json={"requests": [body]}, headers=headers)
    assert batch.status_code == 200, batch.get_json()
    return {"job": launched.get_json()["public_id"], "batch": name}


_BATCHES = itertools.count(1)


def _hf_setup(web: FlaskClient, key: str) -> dict[str, str]:
    body = {"dataset_name": "ApiInferenceTest/asr_dummy", "dataset_config": "asr"}
    response = web.post(f"/bulk/run/cpu/{ASR}", json=body, headers=auth("hf", key))
    assert response.status_code == 200, response.get_json()
    return {"job": response.get_json()["jobid"]}


def _unknown(value: str) -> str:
    """An id of the same form that nobody has: its last alphanumeric character changed."""
    last = next(i for i in range(len(value) - 1, -1, -1) if value[i].isalnum())
    swap = "0" if value[last] != "0" else "1"
    return value[:last] + swap + value[last + 1 :]


#: (provider, method, path template, JSON body template): every id-bearing operation.
ID_CALLS: list[tuple[str, str, str, str | None]] = [
    ("hume", "GET", "/v0/batch/jobs/{job}", None),
    ("hume", "GET", "/v0/batch/jobs/{job}/predictions", None),
    ("hume", "GET", "/v0/batch/jobs/{job}/artifacts", None),
    ("xai", "GET", "/v1/batches/{batch}", None),
    ("xai", "POST", "/v1/batches/{batch}:cancel", None),
    ("xai", "POST", "/v1/batches/{batch}/requests", '{{"batch_requests": [{item}]}}'),
    ("xai", "GET", "/v1/batches/{batch}/requests", None),
    ("xai", "GET", "/v1/batches/{batch}/results", None),
    ("xai", "GET", "/v1/files/{file}", None),
    ("xai", "POST", "/v1/batches", '{{"name": "copy", "input_file_id": "{file}"}}'),
    ("hf", "GET", "/bulk/status/{job}", None),
    ("eden", "GET", STT + "/{job}/", None),
    ("eden", "GET", STT + "/{job}", None),
    ("eden", "GET", STT + "/batch/{batch}/", None),
    ("eden", "DELETE", STT + "/batch/{batch}/", None),
]
SETUP: dict[str, Callable[[FlaskClient, str], dict[str, str]]] = {
    "hume": lambda web, key: {"job": _hume_job(web, key)},
    "xai": _xai_setup,
    "hf": _hf_setup,
    "eden": _eden_setup,
}


def _call(
    web: FlaskClient, provider: str, key: str, method: str, path: str, body: str | None
) -> TestResponse:
    data = body.encode() if body is not None else None
    return web.open(
        path,
        method=method,
        headers=auth(provider, key),
        data=data,
        content_type="application/json" if data is not None else None,
    )


@pytest.mark.parametrize("provider", PROVIDERS)
def test_another_tenants_ids_look_exactly_like_unknown_ones(
    fake_eden: FakeBuilders, provider: str
) -> None:
    app = build_app()
    try:
        web = app.test_client()
        owned = SETUP[provider](web, KEY_A)
        if provider != "hf":  # a bulk job's results would need the model; its status does not
            _settle(app)
        unknown = {k: _unknown(v) if k != "item" else v for k, v in owned.items()}
        report = web.get("/_mock/report", query_string={"tenant": KEY_A}).get_json()
        for name, method, template, body in ID_CALLS:
            if name != provider:
                continue
            path, fake = template.format(**owned), template.format(**unknown)
            text = body.format(**owned) if body else None
            fake_text = body.format(**unknown) if body else None
            theirs = _call(web, provider, KEY_B, method, path, text)
            nobodys = _call(web, provider, KEY_B, method, fake, fake_text)
            assert theirs.status_code == nobodys.status_code, (method, template)
            assert theirs.status_code in (400, 404), (method, template, theirs.get_json())
            refusal(provider, theirs, theirs.status_code)
            swapped = nobodys.get_data(as_text=True)
            for key, value in owned.items():
                swapped = swapped.replace(unknown[key], value)
            assert theirs.get_data(as_text=True) == swapped, (method, template)
        # Nothing B did reached A: A's jobs and report are as they were, B lists nothing of A's.
        after = web.get("/_mock/report", query_string={"tenant": KEY_A}).get_json()
        assert after == report
        listed = web.get("/_mock/jobs", query_string={"tenant": KEY_B}).get_json()["jobs"]
        assert not {j["id"] for j in listed} & set(owned.values())
        for name, method, template, _ in ID_CALLS:
            if name == provider and method == "GET":
                mine = _call(web, provider, KEY_A, method, template.format(**owned), None)
                assert mine.status_code == 200, (template, mine.get_data(as_text=True)[:300])
        journal = web.get("/_mock/journal").get_json()["entries"]
        assert all(e["tenant"] == KEY_B for e in journal if e["status"] in (400, 404))
    finally:
        app.extensions["mockserver"].close()


def test_listings_and_bulk_deletes_stay_inside_the_tenant(web: FlaskClient) -> None:
    hume_job = _hume_job(web, KEY_A)
    xai = _xai_setup(web, KEY_A)
    eden = _eden_setup(web, KEY_A)
    assert hume_job not in json.dumps(web.get("/v0/batch/jobs", headers=auth("hume", KEY_B)).json)
    assert xai["batch"] not in web.get("/v1/batches", headers=auth("xai", KEY_B)).text
    assert eden["job"] not in web.get(f"{STT}/", headers=auth("eden", KEY_B)).text
    deleted = web.delete(f"{STT}/", headers=auth("eden", KEY_B))
    assert deleted.status_code == 204
    assert eden["job"] in web.get(f"{STT}/", headers=auth("eden", KEY_A)).text
    # Batch names are per tenant: B may use A's name, and learns nothing from it.
    path = f"{STT}/batch/{eden['batch']}/"
    again = web.post(path, json={"requests": [{}]}, headers=auth("eden", KEY_B))
    assert again.status_code == 200, again.get_json()


def test_a_cancel_or_add_by_another_tenant_changes_nothing(web: FlaskClient) -> None:
    xai = _xai_setup(web, KEY_A)
    before = web.get(f"/v1/batches/{xai['batch']}", headers=auth("xai", KEY_A)).get_json()
    web.post(f"/v1/batches/{xai['batch']}:cancel", headers=auth("xai", KEY_B))
    body = f'{{"batch_requests": [{xai["item"].replace("r1", "r2")}]}}'
    web.post(
        f"/v1/batches/{xai['batch']}/requests",
        data=body,
        headers=auth("xai", KEY_B),
        content_type="application/json",
    )
    after = web.get(f"/v1/batches/{xai['batch']}", headers=auth("xai", KEY_A)).get_json()
    assert after == before and after["cancel_time"] is None


# --- deeply nested JSON ------------------------------------------------------------------------

DEEP = {
    "arrays": b"[" * 100_000,
    "objects": b'{"a":' * 100_000,
    "just past the limit": b"[" * 129 + b"]" * 129,
    "inside a field": b'{"name": "x", "text": ["a"], "inputs": "a", "providers": "amazon", "x": '
    + b"[" * 5000
    + b"]" * 5000
    + b"}",
}
#: (provider, path): every JSON body a client sends.
JSON_PATHS = [
    ("hume", "/v0/batch/jobs"),
    ("xai", "/v1/batches"),
    ("hf", f"/models/{ZERO_SHOT}"),
    ("hf", f"/hf-inference/models/{ZERO_SHOT}"),
    ("hf", f"/bulk/run/cpu/{ZERO_SHOT}"),
    ("eden", f"{STT}/"),
    ("eden", f"{STT}/batch/deep/"),
]


@pytest.mark.parametrize("body", list(DEEP))
@pytest.mark.parametrize(("provider", "path"), JSON_PATHS)
def test_deeply_nested_json_is_a_clean_400(
    web: FlaskClient, provider: str, path: str, body: str
) -> None:
    response = web.post(
        path, data=DEEP[body], headers=auth(provider), content_type="application/json"
    )
    says(refusal(provider, response, 400), "nests more than 128 levels")


def test_nesting_up_to_the_limit_is_served(web: FlaskClient) -> None:
    settings = b'{"a":' * 120 + b"1" + b"}" * 120
    body = b'{"providers": "amazon", "file_url": "https://example.com/happy.wav", "settings": %s}'
    response = web.post(
        f"{STT}/", data=body % settings, headers=auth("eden"), content_type="application/json"
    )
    assert response.status_code == 200, response.get_json()
    found = web.get(f"{STT}/{response.get_json()['public_id']}/", headers=auth("eden"))
    assert found.status_code == 200


def test_deep_json_in_a_xai_input_file_cancels_the_batch_with_the_reason(web: FlaskClient) -> None:
    line = b'{"custom_id": "a", "body": ' + b"[" * 50_000 + b"]" * 50_000 + b"}\n"
    upload = web.post(
        "/v1/files",
        data={"file": (io.BytesIO(line), "deep.jsonl")},
        headers=auth("xai"),
        content_type="multipart/form-data",
    )
    assert upload.status_code == 200
    batch = web.post(
        "/v1/batches",
        json={"name": "x", "input_file_id": body_of(upload)["id"]},
        headers=auth("xai"),
    )
    assert batch.status_code == 200  # a malformed file creates a cancelled batch (§10)
    says(body_of(batch)["cancel_by_xai_message"], "line 1: invalid JSON", "128 levels")


@pytest.mark.parametrize(
    ("where", "value"),
    [("json field", "[" * 100_000), ("json file part", "[" * 100_000)],
)
def test_deep_json_in_humes_json_part(web: FlaskClient, where: str, value: str) -> None:
    part: Any = value if where == "json field" else (io.BytesIO(value.encode()), "upload")
    response = web.post(
        "/v0/batch/jobs",
        data={"json": part, "file": (io.BytesIO(b"hello"), "a.txt")},
        headers=auth("hume"),
        content_type="multipart/form-data",
    )
    says(refusal("hume", response, 400), "'json' part", "128 levels")


@pytest.mark.parametrize("field", ["settings", "providers"])
def test_deep_json_in_eden_form_fields(web: FlaskClient, field: str) -> None:
    fields = {"providers": "amazon", "file_url": "https://example.com/happy.wav"}
    fields[field] = "[" * 100_000
    response = web.post(f"{STT}/", data=fields, headers=auth("eden"))
    errors = json.loads(refusal("eden", response, 400))
    assert list(errors) == [field]


@pytest.mark.parametrize("header", ["X-Mock-Lifecycle", "X-Mock-Scenario"])
@pytest.mark.parametrize(
    ("provider", "method", "path"),
    [
        ("hume", "POST", "/v0/batch/jobs"),
        ("xai", "POST", "/v1/batches"),
        ("hf", "POST", f"/bulk/run/cpu/{ASR}"),
        ("eden", "POST", f"{STT}/"),
    ],
)
def test_deeply_nested_mock_headers_are_a_clean_400(
    web: FlaskClient, provider: str, method: str, path: str, header: str
) -> None:
    body = {
        "hume": {"urls": [NOWHERE]},
        "xai": {"name": "x"},
        "hf": {"dataset_name": "ApiInferenceTest/asr_dummy"},
        "eden": {"providers": "amazon", "file_url": "https://example.com/happy.wav"},
    }[provider]
    headers = {**auth(provider), header: "[" * 8000}  # 8 KB: what a server lets through
    response = web.open(path, method=method, json=body, headers=headers)
    if provider == "eden" and header == "X-Mock-Scenario":
        # Refused by the fault layer, before Eden's field parsing: Eden's envelope with the
        # generic type every X-Mock-Scenario refusal there carries, not DRF's field lists.
        assert response.status_code == 400
        error = response.get_json()["error"]
        assert error["type"] == "Error" and header in error["message"]
        assert "128 levels" in error["message"]
        return
    says(refusal(provider, response, 400), header)


def test_deep_json_in_a_stream_frame_closes_it_with_1007() -> None:
    for frame in ("[" * 100_000, '{"inputs": ' + "[" * 200 + "]" * 200 + "}"):
        with pytest.raises(_Close) as closed:
            _item(frame)
        assert closed.value.code == 1007 and "128 levels" in closed.value.message


# --- invalid UTF-8 and lone surrogates ---------------------------------------------------------

BAD_TEXT = {
    "invalid byte": (b'{"name": "\xff", "text": ["\xff"], "inputs": "\xff"}', "not valid UTF-8"),
    "encoded surrogate": (b'{"name": "\xed\xa0\x80", "text": ["a"]}', "not valid UTF-8"),
    "truncated sequence": (b'{"name": "\xe2\x82", "text": ["a"]}', "not valid UTF-8"),
    "lone surrogate escape": (b'{"name": "\\ud800", "text": ["\\udfff"]}', "lone UTF-16 surrogate"),
}


@pytest.mark.parametrize("case", list(BAD_TEXT))
@pytest.mark.parametrize(("provider", "path"), JSON_PATHS)
def test_json_that_is_not_valid_unicode_is_a_400(
    web: FlaskClient, provider: str, path: str, case: str
) -> None:
    body, words = BAD_TEXT[case]
    response = web.post(path, data=body, headers=auth(provider), content_type="application/json")
    says(refusal(provider, response, 400), words)


def test_a_surrogate_pair_is_fine(web: FlaskClient) -> None:
    body = b'{"name": "\\ud83d\\ude00 batch"}'
    response = web.post(
        "/v1/batches", data=body, headers=auth("xai"), content_type="application/json"
    )
    assert response.status_code == 200 and body_of(response)["name"] == "\U0001f600 batch"


@pytest.mark.parametrize(
    ("provider", "path", "fields"),
    [
        ("hume", "/v0/batch/jobs", {"json": b'{"text": ["\xff"]}'}),
        ("xai", "/v1/files", {"purpose": b"\xff", "file": b"{}"}),
        ("eden", f"{STT}/", {"providers": b"amaz\xffon", "file_url": b"https://example.com/a.wav"}),
        ("eden", f"{STT}/", {"language": b"en", "file": b"RIFF", "providers": b"\xc3"}),
    ],
)
def test_form_fields_that_are_not_utf8_are_a_400(
    web: FlaskClient, provider: str, path: str, fields: dict[str, bytes]
) -> None:
    boundary = "hostile"
    parts = []
    for name, value in fields.items():
        filename = f'; filename="{name}.bin"' if name == "file" else ""
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"{filename}\r\n\r\n'
        parts.append(head.encode() + value + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    response = web.post(
        path,
        data=body,
        headers=auth(provider),
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    says(refusal(provider, response, 400), "not valid UTF-8")


def test_a_urlencoded_form_that_is_not_utf8_is_a_400(web: FlaskClient) -> None:
    response = web.post(
        f"{STT}/",
        data=b"providers=amazon&language=\xff",
        headers=auth("eden"),
        content_type="application/x-www-form-urlencoded",
    )
    says(refusal("eden", response, 400), "Form parse error", "not valid UTF-8")


#: (provider, path with a query of invalid UTF-8, status, status when the bytes come raw).
#: Werkzeug reads ``%ff`` as U+FFFD: what matters is the vendor's answer to the value. Raw
#: bytes are a 400 saying so wherever the query is read; endpoints that never read it ignore it.
BAD_QUERIES = [
    ("hume", "/v0/batch/jobs?status=%ff%fe", 400, 400),
    ("hume", "/v0/batch/jobs?limit=%ff", 400, 400),
    ("hume", "/v0/batch/jobs?%ff=%fe", 200, 400),
    ("xai", "/v1/batches?limit=%ff", 400, 400),
    ("xai", "/v1/batches?pagination_token=%ff%fe", 400, 400),
    ("xai", "/v1/batches/batch_x/results?%ff=1", 404, 400),
    ("eden", f"{STT}/batch/none/?page=%ff", 404, 404),
    ("eden", f"{STT}/?%ff=1", 200, 200),
    ("hf", "/bulk/status/bulk-1?%ff=%ff", 404, 404),
]


@pytest.mark.parametrize(("provider", "path", "status", "raw_status"), BAD_QUERIES)
def test_query_strings_that_are_not_utf8(
    web: FlaskClient, provider: str, path: str, status: int, raw_status: int
) -> None:
    target, _, query = path.partition("?")
    raw = query.replace("%ff", "\xff").replace("%fe", "\xfe")
    for sent, expected in ((query, status), (raw, raw_status)):
        overrides = {"QUERY_STRING": sent}
        response = web.get(target, headers=auth(provider), environ_overrides=overrides)
        if expected == 200:
            assert response.status_code == 200
            continue
        message = refusal(provider, response, expected)
        if sent is raw and expected == 400:
            says(message, "query string is not valid UTF-8")


def test_an_eden_query_flag_that_is_not_utf8_names_the_field(web: FlaskClient) -> None:
    job = _eden_setup(web, KEY_A)["job"]
    response = web.get(f"{STT}/{job}/?response_as_dict=%ff", headers=auth("eden"))
    assert json.loads(refusal("eden", response, 400)) == {
        "response_as_dict": ["Must be a valid boolean."]
    }


BAD_PATHS = [
    ("hume", "GET", "/v0/batch/jobs/%ff%fe", 404),
    ("hume", "GET", "/v0/batch/jobs/%ff/predictions", 404),
    ("hume", "GET", "/v0/batch/%ff", 404),
    ("xai", "GET", "/v1/batches/%ff", 404),
    ("xai", "POST", "/v1/batches/%ff:cancel", 404),
    ("xai", "GET", "/v1/files/%c3%28", 404),
    ("hf", "POST", "/models/%ff/%fe", 404),
    ("hf", "GET", "/bulk/status/%ff", 404),
    ("eden", "GET", "/v2/%ff/%fe/", 404),
    ("eden", "GET", f"{STT}/%ff/", 404),
    ("eden", "GET", f"{STT}/batch/%ff/", 404),
]


@pytest.mark.parametrize(("provider", "method", "path", "status"), BAD_PATHS)
def test_paths_that_are_not_utf8_are_unknown(
    web: FlaskClient, provider: str, method: str, path: str, status: int
) -> None:
    refusal(provider, web.open(path, method=method, headers=auth(provider)), status)
    raw = path.replace("%ff", "\xff").replace("%fe", "\xfe").replace("%c3%28", "\xc3(")
    overrides = {"PATH_INFO": raw}
    response = web.open("/", method=method, headers=auth(provider), environ_overrides=overrides)
    refusal(provider, response, status)


# --- malformed multipart and wrong content types -----------------------------------------------

B = "b0undary"
GOOD_PART = (
    f'--{B}\r\nContent-Disposition: form-data; name="file"; filename="a.jsonl"\r\n\r\n{{}}\r\n'
)
MALFORMED = {
    "no boundary": ("multipart/form-data", (GOOD_PART + f"--{B}--\r\n").encode(), "no boundary"),
    "another boundary": (
        "multipart/form-data; boundary=other",
        (GOOD_PART + f"--{B}--\r\n").encode(),
        "does not start with the boundary",
    ),
    "truncated in data": (None, GOOD_PART.encode()[:-4], "cut short"),
    "truncated in headers": (None, GOOD_PART.encode()[:30], "cut short"),
    "no closing boundary": (None, GOOD_PART.encode(), "closing boundary"),
    "no content-disposition": (
        None,
        f"--{B}\r\nContent-Type: text/plain\r\n\r\nx\r\n--{B}--\r\n".encode(),
        "no Content-Disposition",
    ),
    "content-disposition without a name": (
        None,
        f'--{B}\r\nContent-Disposition: form-data; filename="a"\r\n\r\nx\r\n--{B}--\r\n'.encode(),
        "has no name",
    ),
    "not form-data": (
        None,
        f"--{B}\r\nContent-Disposition: attachment; filename\r\n\r\nx\r\n--{B}--\r\n".encode(),
        "has no name",
    ),
    "garbage": (None, b"\x00\xff" * 512, "does not start with the boundary"),
    "non-ascii boundary": ("multipart/form-data; boundary=\xe9t\xe9", b"x", "boundary"),
}
UPLOADS = [("hume", "/v0/batch/jobs"), ("xai", "/v1/files"), ("eden", f"{STT}/")]


@pytest.mark.parametrize("case", list(MALFORMED))
@pytest.mark.parametrize(("provider", "path"), UPLOADS)
def test_malformed_multipart_is_a_400_that_says_why(
    web: FlaskClient, provider: str, path: str, case: str
) -> None:
    content_type, body, words = MALFORMED[case]
    response = web.post(
        path,
        data=body,
        headers={
            **auth(provider),
            "Content-Type": content_type or f"multipart/form-data; boundary={B}",
        },
    )
    says(refusal(provider, response, 400), words)


@pytest.mark.parametrize(
    ("provider", "path", "content_type", "status", "words"),
    [
        ("hume", "/v0/batch/jobs", "text/plain", 415, "Unsupported Content-Type"),
        ("hume", "/v0/batch/jobs", "application/x-www-form-urlencoded", 415, "Unsupported"),
        ("xai", "/v1/batches", "multipart/form-data; boundary=x", 400, "must be application/json"),
        ("xai", "/v1/files", "application/json", 400, "is not accepted"),
        ("eden", f"{STT}/", "application/octet-stream", 400, "Unsupported media type"),
        ("eden", f"{STT}/batch/ct/", "multipart/form-data; boundary=x", 400, "boundary"),
    ],
)
def test_wrong_content_types(
    web: FlaskClient, provider: str, path: str, content_type: str, status: int, words: str
) -> None:
    response = web.post(path, data=b"{}", headers={**auth(provider), "Content-Type": content_type})
    says(refusal(provider, response, status), words)


@pytest.mark.parametrize("item", [None, 1, "amazon", ["amazon"]])
def test_an_eden_batch_item_that_is_not_an_object_is_a_400(web: FlaskClient, item: Any) -> None:
    body = {"requests": [{"providers": "amazon"}, item]}
    response = web.post(f"{STT}/batch/items/", json=body, headers=auth("eden"))
    errors = json.loads(refusal("eden", response, 400))
    assert errors == {
        "requests": [
            f'Item 1: Expected a dictionary of items but got type "{type(item).__name__}".'
        ]
    }


# --- huge query strings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "path", "query", "status"),
    [
        ("hume", "/v0/batch/jobs", "x=" + "a" * 2_000_000, 200),  # unknown parameters: ignored
        ("hume", "/v0/batch/jobs", "&".join(["status=QUEUED"] * 50_000), 200),
        ("hume", "/v0/batch/jobs", "limit=" + "9" * 100_000, 400),
        ("xai", "/v1/batches", "pagination_token=" + "A" * 1_000_000, 400),
        ("xai", "/v1/batches", "limit=" + "9" * 100_000, 400),
        ("eden", f"{STT}/batch/none/", "page=" + "9" * 100_000, 404),
        ("eden", f"{STT}/", "&".join(f"k{i}=v" for i in range(100_000)), 200),
        ("hf", "/bulk/status/bulk-00000001", "x=" + "a" * 2_000_000, 404),
    ],
)
def test_huge_query_strings_are_answered_in_the_vendors_shape(
    web: FlaskClient, provider: str, path: str, query: str, status: int
) -> None:
    response = web.get(path, headers=auth(provider), environ_overrides={"QUERY_STRING": query})
    if status == 200:
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
    else:
        refusal(provider, response, status)
    assert len(response.data) < 4096  # an error does not echo a megabyte back


# --- oversize bodies: refused with flat memory -------------------------------------------------

MiB = 1 << 20


class Zeros:
    """A request body of ``size`` bytes made on demand (``head`` and ``tail`` around zeros),
    counting what the server read; nothing the size of the body is ever held here."""

    def __init__(self, size: int, head: bytes = b"", tail: bytes = b"") -> None:
        self.head, self.tail = head, tail
        self.size = size
        self.read_bytes = 0

    def read(self, n: int = -1) -> bytes:
        left = self.size - self.read_bytes
        n = left if n is None or n < 0 else min(n, left)
        out = bytearray()
        while len(out) < n:
            at = self.read_bytes + len(out)
            zeros_end = self.size - len(self.tail)
            if at < len(self.head):
                out += self.head[at : at + n - len(out)]
            elif at < zeros_end:
                out += bytes(min(n - len(out), zeros_end - at))
            else:
                out += self.tail[at - zeros_end : at - zeros_end + n - len(out)]
        self.read_bytes += n
        return bytes(out)

    def readline(self, n: int = -1) -> bytes:
        return self.read(n if n > 0 else 65_536)


def multipart_zeros(size: int, *, fields: dict[str, str] | None = None) -> Zeros:
    """A multipart body: text ``fields``, then a ``file`` part of zeros (a WAV by its name)."""
    head = "".join(
        f'--{B}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in (fields or {}).items()
    )
    head += (
        f'--{B}\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n'
        "Content-Type: application/octet-stream\r\n\r\nRIFF"
    )
    return Zeros(size, head.encode(), f"\r\n--{B}--\r\n".encode())


def measured(call: Callable[[], TestResponse]) -> tuple[TestResponse, int]:
    """The response and the peak of Python allocations while it was made."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        response = call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return response, peak


def post_stream(
    web: FlaskClient,
    path: str,
    body: Zeros,
    headers: dict[str, str],
    content_type: str,
    *,
    chunked: bool = False,
) -> TestResponse:
    """POST ``body`` as a stream, with its length or (``chunked``) without one."""
    environ: dict[str, Any] = {"wsgi.input": body, "CONTENT_TYPE": content_type}
    if chunked:
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        environ["wsgi.input_terminated"] = True
    else:
        environ["CONTENT_LENGTH"] = str(body.size)
    return web.post(path, headers=headers, environ_overrides=environ)


UPLOAD_CASES = {
    # Hume: 1 GB per file (reference §11.3) -> 413 naming the file and the limit.
    "hume": ("/v0/batch/jobs", 413, ("big.wav", "larger than the limit")),
    # xAI: 200 MB per file (reference §10) -> 413 INVALID_ARGUMENT.
    "xai": ("/v1/files", 413, ("exceeds the maximum size",)),
    # Eden AI: a file it cannot take is a field error of ``file`` (reference §7).
    "eden": (f"{STT}/", 400, ("larger than the limit",)),
}


@pytest.mark.parametrize("provider", list(UPLOAD_CASES))
def test_an_oversize_upload_is_refused_without_buffering_it(
    web: FlaskClient, monkeypatch: pytest.MonkeyPatch, provider: str
) -> None:
    small = Limits(max_file_bytes=2 * MiB, spool_bytes=256 << 10)
    monkeypatch.setattr(hume_routes, "UPLOAD_LIMITS", small)
    monkeypatch.setattr(xai_backend, "MAX_FILE_BYTES", 2 * MiB)
    monkeypatch.setattr(eden_routes, "UPLOAD_LIMITS", small)
    path, status, words = UPLOAD_CASES[provider]
    fields = {"providers": "amazon", "language": "en"} if provider == "eden" else None
    body = multipart_zeros(24 * MiB, fields=fields)
    content_type = f"multipart/form-data; boundary={B}"
    web.get("/_mock/health")  # warm caches outside the measurement
    response, peak = measured(lambda: post_stream(web, path, body, auth(provider), content_type))
    says(refusal(provider, response, status), *words)
    assert peak < 8 * MiB, f"{peak / MiB:.1f} MiB held for a 24 MiB body"


@pytest.mark.parametrize("chunked", [False, True])
@pytest.mark.parametrize(
    ("provider", "path", "attribute", "words"),
    [
        ("hume", "/v0/batch/jobs", (hume_routes, "MAX_JSON_BODY"), ("larger than",)),
        ("xai", "/v1/batches", (xai_routes, "MAX_BODY_BYTES"), ("exceeds the maximum size",)),
        ("hf", f"/models/{ZERO_SHOT}", (hf_routes, "MAX_BODY"), ("payload too large",)),
        ("hf", f"/models/{ASR}", (hf_routes, "MAX_BODY"), ("payload too large",)),
        ("eden", f"{STT}/", ("eden", "MAX_BODY_BYTES"), ("exceeded",)),
    ],
)
def test_an_oversize_json_body_is_a_413_read_no_further_than_the_limit(
    web: FlaskClient,
    monkeypatch: pytest.MonkeyPatch,
    provider: str,
    path: str,
    attribute: tuple[Any, str],
    words: tuple[str, ...],
    chunked: bool,
) -> None:
    module, name = attribute
    monkeypatch.setattr(eden_routes if module == "eden" else module, name, 1 * MiB)
    body = Zeros(24 * MiB, b'{"name": "', b'"}')
    content_type = "audio/wav" if path.endswith(ASR) else "application/json"
    response, peak = measured(
        lambda: post_stream(web, path, body, auth(provider), content_type, chunked=chunked)
    )
    says(refusal(provider, response, 413), *words)
    assert body.read_bytes <= 1 * MiB + 65_536 + 1
    assert peak < 6 * MiB, f"{peak / MiB:.1f} MiB held for a 24 MiB body"


def test_a_form_field_over_the_limit_is_a_413_in_the_vendors_shape(web: FlaskClient) -> None:
    head = f'--{B}\r\nContent-Disposition: form-data; name="json"\r\n\r\n'.encode()
    body = Zeros(20 * MiB, head, f"\r\n--{B}--\r\n".encode())
    response, peak = measured(
        lambda: post_stream(
            web, "/v0/batch/jobs", body, auth("hume"), f"multipart/form-data; boundary={B}"
        )
    )
    says(refusal("hume", response, 413), "form field is larger than 16 MiB")
    assert peak < 20 * MiB


def test_a_silent_wav_still_uploads(web: FlaskClient) -> None:
    """The limits above are monkeypatched per test: the defaults take real uploads."""
    response = web.post(
        "/v0/batch/jobs",
        data={"file": (io.BytesIO(silent_wav()), "quiet.wav")},
        headers=auth("hume"),
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.get_json()
