"""Property-based tests of the Hume Batch API against ``contracts/hume.yaml`` (schemathesis 4).

Every operation of the contract is driven in process (WSGI, no socket) by schemathesis'
coverage phase (deterministic boundary and invalid values, undeclared methods, bad content
types) and fuzzing phase (Hypothesis, positive and negative data), always with the API key.
The responses are held to the contract by the checks in ``schemathesis_helpers.CHECKS``;
``test_hume_api.py`` pins the semantics. Generation is derandomized and seeded, so a CI
failure reproduces locally.

Decisions, and what the checks cannot see:

* ``negative_data_rejection`` is on everywhere. Unknown query parameters are ignored by design
  (``listJobs``), and schemathesis already counts "only extra query parameters" as not
  negative, so that needs no exclusion. One exclusion remains (``filter_failure``): a negative
  multipart start whose only mutations are ones a multipart part cannot carry
  (``WIRE_INVISIBLE``): the JSON type of the ``json`` part, the type, ``format`` or media type
  of ``file``. A part is bytes, so a ``null`` or ``{...}`` ``json`` arrives as its JSON text,
  a valid part (``null`` is the SDK's literal for ``{}``, an object is a config), and any
  bytes are a valid file.
* ``positive_data_acceptance`` is off: the contract cannot say "at least one url, text or file"
  (a 400 by design), and schemathesis fills the multipart ``json`` part with arbitrary JSON
  text (it does not generate from ``contentSchema``), so most schema-valid starts are rightly
  refused.
* ``ignored_auth`` is off: the key comes from the config's ``headers``, which schemathesis
  cannot strip when it replays a request without credentials; the 401s are pinned in
  ``test_hume_api.py``.
* Multipart: schemathesis generates ``multipart/form-data`` starts with repeated ``file``
  parts (binary samples, PNG, JPEG, ZIP, PDF or random bytes, because the contract marks the
  items ``format: binary``; ``contentMediaType`` alone gives text) and a ``json`` field;
  ``test_multipart_starts_are_generated`` checks that they arrive byte for byte.
* Random job ids are 404s. ``test_get_operations_with_real_job_ids`` runs the three
  ``/jobs/{id}`` operations on jobs in every state; ``test_stateful_links`` chains start ->
  details / predictions / artifacts through the OpenAPI links on ``startInferenceJob``'s 200
  (``REQUIRED_LINKS``; skipped if the contract loses them).
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given, settings
from schemathesis.core.failures import AcceptedNegativeData, Failure

from mockserver.app import create_app
from mockserver.settings import Settings
from tests.conftest import RecordingClient
from tests.hume_helpers import HEADERS, JOBS, media

from .schemathesis_helpers import (
    MAX_EXAMPLES,
    SETTINGS,
    config,
    invisible_on_the_wire,
    missing_links,
)

Case = schemathesis.Case[Any]

CONTRACT = Path(__file__).resolve().parents[1] / "contracts" / "hume.yaml"

# The coverage phase adds its own deterministic cases to MAX_EXAMPLES per operation (about
# 300 for the start, 100 for the list). On two idle cores the file takes about 12 s of tests
# (18 s with pytest's start-up); with both cores busy 20-30 s (30-42 s).
SEED = 20260614
_config = functools.partial(config, seed=SEED, headers=HEADERS)

schema = schemathesis.openapi.from_path(CONTRACT, config=_config())

# The OpenAPI links a stateful run needs, on startInferenceJob's 200: operationId -> id.
REQUIRED_LINKS = {
    "getJobDetails": "$response.body#/job_id",
    "getJobPredictions": "$response.body#/job_id",
    "getJobArtifacts": "$response.body#/job_id",
}


# Per multipart property, the schema keywords its parts cannot break on the wire: a part is
# bytes, so a JSON type or ``format: binary`` are not observable (module docstring).
WIRE_INVISIBLE = {"json": {"type"}, "file": {"type", "format", "contentMediaType"}}


@schema.hook
def filter_failure(
    context: schemathesis.HookContext, failure: Failure, case: Case, response: Any
) -> bool:
    """Keep every failure but negative data that is valid once serialized (module doc)."""
    return not (
        isinstance(failure, AcceptedNegativeData) and invisible_on_the_wire(case, WIRE_INVISIBLE)
    )


# --- the app and its jobs ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def hume_app() -> Iterator[Flask]:
    """One app for the module: instant jobs, model loaded, no media fetches, webhooks recorded."""
    instant = Settings().replace(profile="instant", media_fetch="off")
    app = create_app(instant, http_client=RecordingClient())
    try:
        assert app.extensions["mockserver"].inference.wait_ready(60), "model not loaded in 60 s"
        yield app
    finally:
        app.extensions["mockserver"].close()


def _start(client: FlaskClient, lifecycle: dict[str, Any] | None = None, **kwargs: Any) -> str:
    headers = dict(HEADERS)
    if lifecycle is not None:
        headers["X-Mock-Lifecycle"] = json.dumps(lifecycle)
    response = client.post(JOBS, headers=headers, **kwargs)
    assert response.status_code == 200, response.get_json()
    job_id: str = response.get_json()["job_id"]
    return job_id


# The real jobs the GET operations are tried with, and the state each one must be in.
JOB_STATES = {
    "text": "COMPLETED",
    "media": "COMPLETED",
    "unreadable_url": "COMPLETED",
    "item_errors": "COMPLETED",
    "failed": "FAILED",
    "queued": "QUEUED",
    "running": "IN_PROGRESS",
}


@pytest.fixture(scope="module")
def real_jobs(hume_app: Flask) -> dict[str, str]:
    """Jobs of the test key in every state and result shape, by name (``JOB_STATES``)."""
    client = hume_app.test_client()
    language: dict[str, Any] = {"language": {"sentiment": {}, "toxicity": {}}, "ner": {}}
    text = {"text": ["I am so happy today!", "Paris is lovely in spring."], "models": language}
    config = {
        "models": {
            "face": {"facs": {}, "descriptions": {}, "identify_faces": True, "save_faces": True},
            "prosody": {"identify_speakers": True},
            "burst": {},
            "facemesh": {},
            "language": {"granularity": "sentence"},
        },
        "text": ["Thank you so much."],
    }
    files = [
        (io.BytesIO(media("images/face_smile.png")), "smile.png", "image/png"),
        (io.BytesIO(media("audio/happy.wav")), "happy.wav", "audio/wav"),
    ]
    jobs = {
        "text": _start(client, json=text),
        "media": _start(client, data={"file": files, "json": json.dumps(config)}),
        "unreadable_url": _start(client, json={"urls": ["https://example.com/nowhere.wav"]}),
        "item_errors": _start(client, {"item_error_rate": 1}, json=text),
        "failed": _start(client, {"job_failure_rate": 1, "failure_at": 0}, json=text),
        "queued": _start(client, {"stuck": "queued"}, json=text),
        "running": _start(client, {"stuck": "running"}, json=text),
    }
    for name, job_id in jobs.items():
        state = client.get(f"{JOBS}/{job_id}", headers=HEADERS).get_json()["state"]["status"]
        assert state == JOB_STATES[name], (name, state)
    return jobs


# --- stateless: every operation ----------------------------------------------------------------


@schema.parametrize()
@SETTINGS
def test_every_operation_honours_the_contract(
    case: Case, hume_app: Flask, real_jobs: dict[str, str]
) -> None:
    """Coverage + fuzzing, positive and negative; ``real_jobs`` fills the list responses."""
    case.call_and_validate(app=hume_app)


# --- multipart ---------------------------------------------------------------------------------


def _part_bytes(item: object) -> bytes:
    """The bytes schemathesis sends for one generated ``file`` item."""
    data = getattr(item, "data", item)  # format: binary items are ``Binary`` (a str) wrappers
    return data if isinstance(data, bytes) else str(data).encode()


def test_multipart_starts_are_generated(hume_app: Flask) -> None:
    """Schemathesis builds multipart starts whose binary ``file`` items arrive byte for byte."""
    start = schema["/v0/batch/jobs"]["POST"]
    sent: list[bytes] = []  # every generated file item
    accepted = 0  # starts with files that made a job (the json part is arbitrary JSON text)

    @given(case=start.as_strategy().filter(lambda c: c.media_type == "multipart/form-data"))
    @settings(SETTINGS, max_examples=3 * MAX_EXAMPLES)
    def run(case: Case) -> None:
        nonlocal accepted
        response = case.call_and_validate(app=hume_app)
        body = case.body if isinstance(case.body, dict) else {}
        files = body.get("file") or []
        assert isinstance(files, list)
        parts = [_part_bytes(item) for item in files]
        sent.extend(parts)
        if parts and response.status_code == 200:
            job_id = response.json()["job_id"]
            job = hume_app.test_client().get(f"{JOBS}/{job_id}", headers=HEADERS).get_json()
            echoed = [f["md5sum"] for f in job["request"]["files"]]
            assert echoed == [hashlib.md5(data).hexdigest() for data in parts]
            accepted += 1

    run()
    assert sent, "no generated start carried a file part"
    assert any(not _is_utf8(data) for data in sent), "every generated file was text"
    assert accepted, "no generated start with files was accepted"


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


# --- real ids ----------------------------------------------------------------------------------

# Only the three GETs of one job, fuzzing only: the id is replaced, nothing else is generated.
by_id = schemathesis.openapi.from_path(CONTRACT, config=_config(coverage=False)).include(
    path_regex=r"\{id\}"
)


@by_id.parametrize()
@pytest.mark.parametrize("name", sorted(JOB_STATES))
@settings(SETTINGS, max_examples=1)
def test_get_operations_with_real_job_ids(
    case: Case, name: str, hume_app: Flask, real_jobs: dict[str, str]
) -> None:
    """Details of any job are a 200; predictions and artifacts only of a COMPLETED one."""
    case.path_parameters = {"id": real_jobs[name]}
    response = case.call_and_validate(app=hume_app)
    details = case.operation.path == "/v0/batch/jobs/{id}"
    ok = details or JOB_STATES[name] == "COMPLETED"
    assert response.status_code == (200 if ok else 400), (name, response.text)


# --- stateful: links ---------------------------------------------------------------------------


def _missing_links() -> list[str]:
    """The ``REQUIRED_LINKS`` that startInferenceJob's 200 response does not declare."""
    return missing_links(schema.raw_schema, "/v0/batch/jobs", "id", REQUIRED_LINKS)


def _give_json_start_an_input(case: Case) -> None:
    """A positive JSON start without any input gets a text, so the links have a job to follow.

    The contract cannot express "at least one url, text or file", so most generated starts
    are (rightly) 400s and a stateful run would rarely reach a real job.
    """
    body = case.body
    meta = case.meta
    if (
        case.operation.method.upper() == "POST"
        and case.media_type == "application/json"
        and meta is not None
        and meta.generation.mode.is_positive
        and isinstance(body, dict)
        and not body.get("text")
        and not body.get("urls")
    ):
        case.body = {**body, "text": ["I am so happy today!"]}


def test_stateful_links(hume_app: Flask) -> None:
    """Start -> details / predictions / artifacts through the contract's OpenAPI links."""
    missing = _missing_links()
    if missing:
        pytest.skip(
            "contracts/hume.yaml: startInferenceJob's 200 response declares no OpenAPI link to "
            + ", ".join(missing)
            + " with parameters {id: '$response.body#/job_id'}"
        )
    followed: list[int] = []  # statuses of GETs of a job the run started

    class HumeMachine(schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: Case) -> None:
            _give_json_start_an_input(case)

        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            return {"app": hume_app}

        def after_call(self, response: schemathesis.Response, case: Case) -> None:
            super().after_call(response, case)
            if case.operation.path.startswith("/v0/batch/jobs/{id}"):
                followed.append(response.status_code)

    HumeMachine.run(settings=settings(SETTINGS, max_examples=10, stateful_step_count=6))
    assert 200 in followed, f"no link reached a real job: {followed}"
