"""Property-based tests of the Hugging Face HTTP face against ``contracts/huggingface.yaml``
(schemathesis 4).

Every HTTP operation of the contract is driven in process (WSGI, no socket) by schemathesis'
coverage phase (boundary and invalid values, undeclared methods, odd content types) and fuzzing
phase (Hypothesis, positive and negative data), with a token as ``Authorization: Bearer``. The
responses, their ``x-compute-*`` headers included, are held to the contract by the checks in
``schemathesis_helpers.CHECKS``. Generation is derandomized and seeded.

Decisions, and what the checks cannot see:

* The websocket operations (``openBulkStream*``) are excluded: schemathesis speaks HTTP, and
  after a 101 the conversation is ``huggingface-stream.asyncapi.yaml``'s.
  ``test_the_stream_path_answers_plain_http_in_the_contract_s_shapes`` checks the three
  answers an in-process client can get there (400, 426, 501).
* Model ids: the contract cannot list the models (``--hf-model`` adds any), so ``_aim`` points
  each generated call at a registered model whose task fits the body: raw media types go to an
  ASR model, an ``inputs`` object to a sentence-similarity one, other bodies to one of the four
  text tasks (by a hash of the body, so the pick is stable). ``EXTRA_MODELS`` adds a canonical
  (slash-free) id per task, for the ``{model_id}`` paths. Path parameters a negative case
  mutated are sent as generated (unknown models, unknown compute types: 404s).
* A positive body for a zero-shot model gets ``candidate_labels`` (the generic body cannot
  require a parameter of one task), so generated calls reach the model and its output shape.
* ``positive_data_acceptance`` is off: an ASR model rightly refuses random bytes, a bulk run a
  random dataset name. ``ignored_auth`` is off: the token is optional by design (anonymous
  calls are served); ``test_auth_statuses_with_and_without_api_keys`` pins the auth answers.
* The JSON body is read whatever the ``Content-Type`` (the docs' bulk sample sends none); the
  coverage phase's ``text/plain`` and boundary-less multipart JSON bodies are therefore
  answered like JSON, which schemathesis does not count as accepting negative data.
* Bugs the fuzzing found (a newline in the compute type, the compute echoed in a header,
  falsy bulk ``parameters``) are fixed and each is pinned by its smallest case at the end.
* Random job ids are 404s; ``test_status_of_real_jobs`` reads jobs in every state and
  ``test_stateful_links`` follows the contract's link from a bulk run to its status.
"""

from __future__ import annotations

import base64
import functools
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation

from mockserver.app import create_app
from mockserver.contracts import load_contract
from mockserver.runtime import SAMPLES_DIR
from mockserver.settings import Settings
from tests.conftest import RecordingClient
from tests.contract_check import validate_response

from .schemathesis_helpers import SETTINGS, config, missing_links

Case = schemathesis.Case[Any]

CONTRACT = Path(__file__).resolve().parents[1] / "contracts" / "huggingface.yaml"
TOKEN = "hf_test_token"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
JSON = "application/json"

# On two idle cores the file takes about 17 s of tests, model load included (25 s with
# pytest's start-up).
SEED = 20260616
_config = functools.partial(config, seed=SEED, headers=HEADERS)

# ``audio/*`` is a range: give schemathesis a concrete audio type to send raw bytes as.
schemathesis.serializer.alias("audio/wav", "application/octet-stream")

schema = schemathesis.openapi.from_path(CONTRACT, config=_config()).exclude(
    path_regex=r"^/bulk/stream/"
)

# The OpenAPI link a stateful run needs, on the bulk runs' 200: operationId -> jobid.
REQUIRED_LINKS = {"getBulkStatus": "$response.body#/jobid"}

NAMESPACED = {
    "zero-shot-classification": "facebook/bart-large-mnli",
    "text-classification": "cardiffnlp/twitter-roberta-base-sentiment-latest",
    "token-classification": "dslim/bert-base-NER",
    "feature-extraction": "sentence-transformers/all-MiniLM-L6-v2",
    "sentence-similarity": "sentence-transformers/paraphrase-MiniLM-L6-v2",
    "automatic-speech-recognition": "facebook/wav2vec2-base-960h",
}
# The registry has one canonical id (text classification); --hf-model adds one per task.
CANONICAL = {
    "zero-shot-classification": "mnli-canonical",
    "text-classification": "distilbert-base-uncased-finetuned-sst-2-english",
    "token-classification": "ner-canonical",
    "feature-extraction": "minilm-canonical",
    "sentence-similarity": "similarity-canonical",
    "automatic-speech-recognition": "asr-canonical",
}
EXTRA_MODELS = (
    "mnli-canonical=zero-shot-classification",
    "ner-canonical=token-classification",
    "minilm-canonical=feature-extraction:384",
    "similarity-canonical=sentence-similarity:384",
    "asr-canonical=automatic-speech-recognition:uppercase",
)
TEXT_TASKS = (
    "zero-shot-classification",
    "text-classification",
    "token-classification",
    "feature-extraction",
)
LABELS: list[Any] = ["fashion", "politics", "medical"]
HEADLINES: dict[str, Any] = {
    "dataset_name": "mockserver/headlines",
    "parameters": {"candidate_labels": LABELS},
}

# --- the app --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hf_app() -> Iterator[Flask]:
    """One app for the module: instant jobs, the model loaded, a canonical id per task."""
    instant = Settings().replace(profile="instant", media_fetch="off", hf_models=EXTRA_MODELS)
    app = create_app(instant, http_client=RecordingClient())
    try:
        assert app.extensions["mockserver"].inference.wait_ready(60), "model not loaded in 60 s"
        yield app
    finally:
        app.extensions["mockserver"].close()


def _positive(case: Case) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


def _task_for(case: Case) -> str:
    body = case.body
    if case.media_type not in (None, JSON):
        return "automatic-speech-recognition"
    if isinstance(body, dict) and isinstance(body.get("inputs"), dict):
        return "sentence-similarity"
    digest = zlib.crc32(json.dumps(body, sort_keys=True, default=repr).encode())
    return TEXT_TASKS[digest % len(TEXT_TASKS)]


def _aim(case: Case) -> None:
    """Point a generated call at a registered model whose task fits its body."""
    meta = case.meta
    if meta is not None and meta.is_negative_at(ParameterLocation.PATH):
        return
    params = dict(case.path_parameters or {})
    if "model_id" not in params and "model_name" not in params:
        return  # getBulkStatus
    task = _task_for(case)
    if "model_id" in params:
        params["model_id"] = CANONICAL[task]
    else:
        params["namespace"], params["model_name"] = NAMESPACED[task].split("/")
    case.path_parameters = params
    body = case.body
    if task == "zero-shot-classification" and _positive(case) and isinstance(body, dict):
        parameters = body.get("parameters")
        if parameters is None or isinstance(parameters, dict):
            case.body = {**body, "parameters": {**(parameters or {}), "candidate_labels": LABELS}}


# --- stateless: every HTTP operation --------------------------------------------------------------


@schema.parametrize()
@SETTINGS
def test_every_operation_honours_the_contract(case: Case, hf_app: Flask) -> None:
    """Coverage + fuzzing, positive and negative, on registered models."""
    _aim(case)
    case.call_and_validate(app=hf_app)


# --- real inputs ----------------------------------------------------------------------------------

CLIP = (SAMPLES_DIR / "audio" / "happy.wav").read_bytes()
TRANSCRIPT = (SAMPLES_DIR / "audio" / "happy.txt").read_text(encoding="utf-8").strip()


def _model_params(path: str, task: str) -> dict[str, str]:
    if "{model_id}" in path:
        return {"model_id": CANONICAL[task]}
    namespace, name = NAMESPACED[task].split("/")
    return {"namespace": namespace, "model_name": name}


TASK_PATHS = [p for p in schema.raw_schema["paths"] if "/models/" in p]


@pytest.mark.parametrize("path", TASK_PATHS)
@pytest.mark.parametrize(
    ("media_type", "body"),
    [
        ("application/octet-stream", CLIP),
        ("audio/wav", CLIP),
        (JSON, {"inputs": base64.b64encode(CLIP).decode()}),
    ],
    ids=["octet-stream", "audio", "json-base64"],
)
def test_a_real_clip_is_transcribed_every_way(
    path: str, media_type: str, body: Any, hf_app: Flask
) -> None:
    """Raw bytes under either media type, or base64 in JSON: 200 ``{text}`` (§3)."""
    operation = schema[path]["POST"]
    case = operation.Case(
        path_parameters=_model_params(path, "automatic-speech-recognition"),
        body=body,
        media_type=media_type,
    )
    response = case.call_and_validate(app=hf_app, headers=dict(HEADERS))
    assert response.status_code == 200, response.text
    assert response.json() == {"text": _ctc(TRANSCRIPT)}  # both ASR models spell as wav2vec2


def _ctc(text: str) -> str:
    """wav2vec2's spelling of a transcript: capitals and apostrophes, no punctuation."""
    return " ".join("".join(c if c.isalpha() or c == "'" else " " for c in text.upper()).split())


def test_a_clip_without_a_content_type(hf_app: Flask) -> None:
    """``InferenceClient`` 2.4.0 posts audio with no Content-Type at all (§4 [RUN]): schemathesis
    cannot send that, so the in-process client does, and the answer is checked by hand."""
    spec = load_contract("huggingface")
    path = f"/models/{NAMESPACED['automatic-speech-recognition']}"
    client = hf_app.test_client()
    response = client.post(path, data=CLIP, headers=HEADERS)  # the test client sets no type
    assert "Content-Type" not in response.request.headers
    assert response.status_code == 200, response.get_json()
    validate_response(spec, "POST", path, 200, response.mimetype, response.get_json())
    assert response.get_json() == {"text": _ctc(TRANSCRIPT)}
    assert {"x-compute-time", "x-compute-type"} <= set(response.headers.keys(lower=True))


@pytest.mark.parametrize(
    ("path", "user_agent", "shape"),
    [
        ("/models/{namespace}/{model_name}", "python-requests/2.32", "legacy"),
        ("/models/{model_id}", "python-requests/2.32", "legacy"),
        ("/models/{namespace}/{model_name}", "hf_hub/2.4.0; python/3.11", "list"),
        ("/hf-inference/models/{namespace}/{model_name}", "python-requests/2.32", "list"),
        ("/hf-inference/models/{model_id}", "python-requests/2.32", "list"),
    ],
)
def test_zero_shot_shape_by_path_and_client(
    path: str, user_agent: str, shape: str, hf_app: Flask
) -> None:
    """Legacy ``{sequence, labels, scores}`` on ``/models``, ``[{label, score}]`` on the router
    and for ``huggingface_hub`` (§4 [RUN]); a list of texts answers a list of either."""
    operation = schema[path]["POST"]
    for inputs in ("A new dress shop opened on 5th avenue", ["a dress", "an election"]):
        body: dict[str, Any] = {"inputs": inputs, "parameters": {"candidate_labels": LABELS}}
        case = operation.Case(
            path_parameters=_model_params(path, "zero-shot-classification"),
            body=body,
            media_type=JSON,
        )
        response = case.call_and_validate(app=hf_app, headers={**HEADERS, "User-Agent": user_agent})
        assert response.status_code == 200, response.text
        answers = response.json() if isinstance(inputs, list) else [response.json()]
        assert len(answers) == (len(inputs) if isinstance(inputs, list) else 1)
        for answer in answers:
            if shape == "legacy":
                assert set(answer) == {"sequence", "labels", "scores"}
                assert sorted(answer["labels"]) == sorted(LABELS)
            else:
                assert sorted(item["label"] for item in answer) == sorted(LABELS)


# --- bulk jobs ------------------------------------------------------------------------------------

JOB_STATES = {
    "running": ({"stuck": "running"}, "active"),
    "succeeded": ({}, "succeeded"),
    "rows_failed": ({"item_error_rate": 1}, "succeeded"),
    "failed": ({"job_failure_rate": 1, "failure_at": 0}, "failed"),
    "cancelled": ({"stuck": "running"}, "failed"),
}


@pytest.fixture(scope="module")
def real_jobs(hf_app: Flask) -> dict[str, str]:
    """Bulk jobs in every state (``JOB_STATES``), by name."""
    client = hf_app.test_client()
    jobs: dict[str, str] = {}
    for name, (lifecycle, _) in JOB_STATES.items():
        response = client.post(
            f"/bulk/run/cpu/{NAMESPACED['zero-shot-classification']}",
            data=json.dumps(HEADLINES),  # no Content-Type, as the docs' sample (§2)
            headers={**HEADERS, "X-Mock-Lifecycle": json.dumps(lifecycle)},
        )
        assert response.status_code == 200, response.get_json()
        jobs[name] = response.get_json()["jobid"]
    cancel = client.post(f"/_mock/jobs/{jobs['cancelled']}/cancel")
    assert cancel.status_code == 200, cancel.get_json()
    return jobs


@pytest.mark.parametrize("name", sorted(JOB_STATES))
def test_status_of_real_jobs(name: str, hf_app: Flask, real_jobs: dict[str, str]) -> None:
    """One state key per job, ``completion_time`` once ended, rows counted (§2; GUESS keys)."""
    operation = schema["/bulk/status/{jobid}"]["GET"]
    case = operation.Case(path_parameters={"jobid": real_jobs[name]})
    response = case.call_and_validate(app=hf_app)  # no auth header, as the curl sample
    assert response.status_code == 200, response.text
    body = response.json()
    state = JOB_STATES[name][1]
    assert state in body["status"] and body["status"][state] == 1
    assert ("completion_time" in body["status"]) == (state != "active")
    progress = body["progress"]
    assert progress["total"] == 8  # mockserver/headlines has eight rows
    if name == "succeeded":
        assert progress == {"total": 8, "done": 8, "failed": 0}
    if name == "rows_failed":
        assert progress == {"total": 8, "done": 0, "failed": 8}


def _missing_links() -> list[str]:
    raw = schema.raw_schema
    return [
        op
        for path in (
            "/bulk/run/{compute}/{namespace}/{model_name}",
            "/bulk/run/{compute}/{model_id}",
        )
        for op in missing_links(_with_inline_200(raw, path), path, "jobid", REQUIRED_LINKS)
    ]


def _with_inline_200(raw: dict[str, Any], path: str) -> dict[str, Any]:
    """``missing_links`` reads ``responses/200`` inline; ours is a ``$ref``'d component."""
    post = dict(raw["paths"][path]["post"])
    ref = post["responses"]["200"].get("$ref", "")
    if ref:
        post["responses"] = {"200": raw["components"]["responses"][ref.rsplit("/", 1)[1]]}
    return {"paths": {path: {"post": post}}}


def _runs_a_real_dataset(case: Case) -> None:
    """A positive bulk run gets the zero-shot model and a real dataset, so the link has a
    job to follow; the contract cannot list datasets."""
    if not case.operation.path.startswith("/bulk/run/") or not _positive(case):
        return
    params = dict(case.path_parameters or {})
    params["compute"] = "cpu"
    if "model_id" in params:
        params["model_id"] = CANONICAL["zero-shot-classification"]
    else:
        namespace, name = NAMESPACED["zero-shot-classification"].split("/")
        params["namespace"], params["model_name"] = namespace, name
    case.path_parameters = params
    case.body = dict(HEADLINES)


def test_stateful_links(hf_app: Flask) -> None:
    """Bulk run -> status through the contract's OpenAPI link."""
    missing = _missing_links()
    if missing:
        pytest.skip(
            "contracts/huggingface.yaml: the bulk runs' 200 declares no OpenAPI link to "
            + ", ".join(missing)
            + " with parameters {jobid: '$response.body#/jobid'}"
        )
    followed: list[int] = []  # statuses of status reads of jobs the run started
    bulk = schema.include(path_regex=r"^/bulk/(run|status)/")

    class HfMachine(bulk.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: Case) -> None:
            _runs_a_real_dataset(case)

        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            return {"app": hf_app}

        def after_call(self, response: schemathesis.Response, case: Case) -> None:
            super().after_call(response, case)
            jobid = str((case.path_parameters or {}).get("jobid", ""))
            if case.operation.path.startswith("/bulk/status/") and jobid.startswith("bulk-"):
                followed.append(response.status_code)

    HfMachine.run(settings=settings(SETTINGS, max_examples=5, stateful_step_count=4))
    assert 200 in followed, f"no link reached a real job: {followed}"


# --- auth -----------------------------------------------------------------------------------------


def test_anonymous_calls_are_served(hf_app: Flask) -> None:
    """No ``Authorization`` at all: served (the contract's optional ``bearerAuth``, §3)."""
    operation = schema["/models/{model_id}"]["POST"]
    case = operation.Case(
        path_parameters={"model_id": CANONICAL["text-classification"]},
        body={"inputs": "I love it"},
        media_type=JSON,
    )
    response = case.call_and_validate(app=hf_app)
    assert response.status_code == 200, response.text
    assert response.json()[0][0]["label"] == "POSITIVE"


@pytest.fixture(scope="module")
def keyed_app() -> Iterator[Flask]:
    """``--api-keys`` (only the listed token passes) and ``--hf-cold-start 30``. Auth and
    loading answers come before any model runs, so the model is not awaited."""
    keyed = Settings().replace(profile="instant", api_keys=(TOKEN,), hf_cold_start=30.0)
    app = create_app(keyed)
    try:
        yield app
    finally:
        app.extensions["mockserver"].close()


AUTH_CASES = [
    ("no header", {}, 401, 404),
    ("not bearer", {"Authorization": f"Token {TOKEN}"}, 401, 401),
    ("empty bearer", {"Authorization": "Bearer "}, 401, 401),
    ("unknown token", {"Authorization": "Bearer hf_other"}, 400, 400),
]


@pytest.mark.parametrize(
    ("name", "headers", "status", "status_read"), AUTH_CASES, ids=[c[0] for c in AUTH_CASES]
)
def test_auth_statuses_with_api_keys(
    name: str, headers: dict[str, str], status: int, status_read: int, keyed_app: Flask
) -> None:
    """Task and bulk run: 401 without a usable header, 400 for an unknown token (§3 [SRC]);
    bulk status needs no header (an unknown job is then a 404), but checks one that is sent."""
    calls: list[tuple[str, str, Any, int]] = [
        ("/models/{namespace}/{model_name}", "POST", {"inputs": "x"}, status),
        ("/bulk/run/{compute}/{model_id}", "POST", {"dataset_name": "x"}, status),
        ("/bulk/status/{jobid}", "GET", None, status_read),
    ]
    for path, method, body, expected in calls:
        operation = schema[path][method]
        params = {"compute": "cpu", "model_id": "gpt2", "namespace": "a", "model_name": "b"}
        params = {k: v for k, v in params.items() if "{" + k + "}" in path}
        if "{jobid}" in path:
            params = {"jobid": "bulk-00000000"}
        if body is None:
            case = operation.Case(path_parameters=params)
        else:
            case = operation.Case(path_parameters=params, body=body, media_type=JSON)
        response = case.call_and_validate(app=keyed_app, headers=headers)
        assert response.status_code == expected, (name, path, response.text)


def test_a_cold_model_is_a_503_with_estimated_time(keyed_app: Flask) -> None:
    """``Model <id> is currently loading`` with the seconds left (§3 [SRC]), on every task path;
    a bulk run is not held back by it."""
    for path in TASK_PATHS:
        operation = schema[path]["POST"]
        case = operation.Case(
            path_parameters=_model_params(path, "text-classification"),
            body={"inputs": "I love it"},
            media_type=JSON,
        )
        response = case.call(app=keyed_app, headers=dict(HEADERS))
        # a declared 503 is the contract's answer here, not a server error
        case.validate_response(response, excluded_checks=[not_a_server_error])
        assert response.status_code == 503, response.text
        body = response.json()
        assert body["error"].endswith("is currently loading")
        assert 0 < body["estimated_time"] <= 30


# --- the websocket path over plain HTTP -----------------------------------------------------------

UPGRADE = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
}


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 400), ({**UPGRADE, "Sec-WebSocket-Version": "8"}, 426), (UPGRADE, 501)],
    ids=["plain-get", "old-version", "no-socket"],
)
def test_the_stream_path_answers_plain_http_in_the_contract_s_shapes(
    headers: dict[str, str], status: int, hf_app: Flask
) -> None:
    """Not an upgrade: 400; version 8: 426 naming 13; an in-process client has no socket to
    upgrade: 501 (``openBulkStream`` in the contract)."""
    spec = load_contract("huggingface")
    path = f"/bulk/stream/cpu/{NAMESPACED['zero-shot-classification']}"
    response = hf_app.test_client().get(path, headers=headers)
    assert response.status_code == status, response.get_json()
    validate_response(spec, "GET", path, status, response.mimetype, response.get_json())
    assert "websocket" in response.get_json()["error"]
    if status == 426:
        assert response.headers["Sec-WebSocket-Version"] == "13"


# --- bugs the fuzzing found, fixed: each pinned by its smallest case -----------------------------


def test_a_newline_in_the_compute_type_is_a_404(hf_app: Flask) -> None:
    path = "/bulk/run/%0A/facebook/bart-large-mnli"
    response = hf_app.test_client().post(path, data=json.dumps(HEADLINES), headers=HEADERS)
    assert response.status_code == 404


def test_an_unknown_compute_type_is_not_echoed_in_x_compute_type(hf_app: Flask) -> None:
    response = hf_app.test_client().post(
        "/bulk/run/tpu/facebook/bart-large-mnli", data=json.dumps(HEADLINES), headers=HEADERS
    )
    assert response.status_code == 404
    assert response.headers["x-compute-type"] in ("cpu", "gpu")


def test_bulk_parameters_that_are_not_an_object_are_refused(hf_app: Flask) -> None:
    body = {"dataset_name": "mockserver/reviews", "parameters": []}
    model = CANONICAL["text-classification"]
    response = hf_app.test_client().post(f"/bulk/run/cpu/{model}", json=body, headers=HEADERS)
    assert response.status_code == 400, response.get_json()
