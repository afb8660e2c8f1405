"""Property-based tests of the Eden AI v2 async face against ``contracts/edenai.yaml``
(schemathesis 4).

Every operation of the contract (each subfeature's launch, list, delete-all and get, with and
without the trailing slash, and the batch trio of the batch subfeatures) is driven in process
(WSGI, no socket; the contract's server URL ends in ``/v2``, so every call goes under it) with
a Bearer key. The responses are held to the contract by ``schemathesis_helpers.CHECKS``.
Generation is derandomized and seeded. Budget (about 75 s on two cores, most of it building
coverage cases): coverage + fuzzing for every list, delete, get and batch operation and for
the launches with their own fields (``COVERED``); fuzzing only for the other launches and the
no-slash twins. The ``examples`` phase is off (20 s of collection for nothing new).

Decisions, and what the checks cannot see:

* ``negative_data_rejection`` is on. A multipart or urlencoded part is text, so a mutation that
  only breaks a part's JSON ``type`` or ``format`` is valid once serialized
  (``WIRE_INVISIBLE``, filtered as in the Hume suite).
* ``positive_data_acceptance`` is off: the contract cannot say "a file or a ``file_url`` that
  resolves to a readable file of the right family" or list the providers, so most generated
  launches are rightly 400s. ``test_real_jobs_finish_in_the_contract_s_shape`` launches real
  jobs (bundled samples by ``file_url``) and validates their finished GET.
* Random job ids and batch names are 404s; the real-job test and ``test_stateful_links`` reach
  real ones.
* The no-slash twins are fuzzed with fewer examples than the canonical (slash) paths: the
  server routes both forms to one view (``routes.both``).
* Bugs the fuzzing found (integer texts in non-ASCII digits and brackets in URLs were 500s, a
  ``providers`` value without a name launched an empty job, a batch's ``webhook_receiver`` and
  page went unchecked) are fixed, and each is pinned by its smallest case at the end.
"""

from __future__ import annotations

import functools
import importlib.util
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import settings
from schemathesis.core.failures import AcceptedNegativeData, Failure

from mockserver.app import create_app
from mockserver.contracts import load_contract
from mockserver.providers.edenai.catalog import SUBFEATURES
from mockserver.settings import Settings
from tests.conftest import RecordingClient
from tests.contract_check import validate_response

from .schemathesis_helpers import SETTINGS, config, invisible_on_the_wire, missing_links

Case = schemathesis.Case[Any]

CONTRACT = Path(__file__).resolve().parents[1] / "contracts" / "edenai.yaml"
KEY = "eden_test_key"
HEADERS = {"Authorization": f"Bearer {KEY}"}
SEED = 20260622
_config = functools.partial(config, seed=SEED, headers=HEADERS)


# Per form part, the keywords a part (text on the wire) cannot break.
_FORM_TEXT = {"type"}
WIRE_INVISIBLE: dict[str, set[str]] = {"file": {"type", "format", "contentMediaType"}}


def filter_failure(
    context: schemathesis.HookContext, failure: Failure, case: Case, response: Any
) -> bool:
    """Keep every failure but negative form data that is valid once serialized."""
    if not isinstance(failure, AcceptedNegativeData):
        return True
    if invisible_on_the_wire(case, WIRE_INVISIBLE):
        return False
    return not _only_form_types(case)


def _only_form_types(case: Case) -> bool:
    """A negative urlencoded/multipart case whose mutations only change JSON types of fields."""
    meta = case.meta
    if meta is None or case.media_type not in (
        "multipart/form-data",
        "application/x-www-form-urlencoded",
    ):
        return False
    mutations = getattr(meta.phase.data, "mutations", None)
    return bool(mutations) and all(set(m.keywords) <= _FORM_TEXT for m in mutations)


# --- the app ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def eden_app() -> Iterator[Flask]:
    """One app for the module: instant jobs, bundled samples by URL, webhooks recorded."""
    instant = Settings().replace(profile="instant", media_fetch="off")
    app = create_app(instant, http_client=RecordingClient())
    try:
        yield app
    finally:
        app.extensions["mockserver"].close()


# --- stateless: every operation ---------------------------------------------------------------

#: Subfeatures whose launch also gets the coverage phase (one per distinct set of fields); every
#: other launch is fuzzed only: coverage cases of a launch body cost about 0.6 s each to build.
COVERED = ("speech_to_text_async", "text_to_speech_async", "custom_document_parsing_async")
_LAUNCH = r"^launch(?!.*Batch)"


def _without_examples(cfg: schemathesis.Config) -> schemathesis.Config:
    """The ``examples`` phase adds nothing here (the contract's examples are all valid) and
    costs 20 s of collection on this contract."""
    cfg.projects.default.phases.examples.enabled = False  # type: ignore[attr-defined]
    return cfg


def _schema(coverage: bool) -> Any:
    return schemathesis.openapi.from_path(
        CONTRACT, config=_without_examples(_config(coverage=coverage))
    )


covered = (
    _schema(coverage=True)
    .exclude(operation_id_regex="NoSlash$")
    .exclude(operation_id_regex=_LAUNCH)
)
covered_launches = _schema(coverage=True).include(
    path_regex="^/[a-z]+/(" + "|".join(COVERED) + ")/$", method="POST"
)
fuzzed_launches = (
    _schema(coverage=False)
    .include(operation_id_regex=_LAUNCH)
    .exclude(operation_id_regex="NoSlash$")
    .exclude(path_regex="^/[a-z]+/(" + "|".join(COVERED) + ")/$")
)
twins = _schema(coverage=False).include(operation_id_regex="NoSlash$")
for _each in (covered, covered_launches, fuzzed_launches, twins):
    _each.hook(filter_failure)


@covered.parametrize()
@settings(SETTINGS, max_examples=8)
def test_every_operation_honours_the_contract(case: Case, eden_app: Flask) -> None:
    """Coverage + fuzzing, positive and negative: lists, deletes, gets and batches."""
    case.call_and_validate(app=eden_app)


@covered_launches.parametrize()
@settings(SETTINGS, max_examples=10)
def test_launches_honour_the_contract(case: Case, eden_app: Flask) -> None:
    """Coverage + fuzzing of the launches with their own fields."""
    case.call_and_validate(app=eden_app)


@fuzzed_launches.parametrize()
@settings(SETTINGS, max_examples=6)
def test_other_launches_honour_the_contract(case: Case, eden_app: Flask) -> None:
    """Fuzzing of every other launch."""
    case.call_and_validate(app=eden_app)


@twins.parametrize()
@settings(SETTINGS, max_examples=3)
def test_every_no_slash_twin_honours_the_contract(case: Case, eden_app: Flask) -> None:
    """Fuzzing only, a few examples each: the same views answer both path forms."""
    case.call_and_validate(app=eden_app)


# --- real jobs --------------------------------------------------------------------------------

AUDIO = "https://example.com/two_voices.wav"
DOCUMENT = "https://example.com/invoice.png"
VIDEO = "https://example.com/face_moving.mp4"
#: A launch per subfeature that its builder can read (bundled samples by URL).
REAL_LAUNCHES: dict[str, dict[str, Any]] = {
    "audio/speech_to_text_async": {"file_url": AUDIO, "language": "en", "speakers": 2},
    "audio/text_to_speech_async": {"text": "Hello from the emulator.", "language": "en"},
    "ocr/ocr_async": {"file_url": DOCUMENT},
    "ocr/ocr_tables_async": {"file_url": DOCUMENT},
    "ocr/anonymization_async": {"file_url": DOCUMENT},
    "ocr/custom_document_parsing_async": {
        "file_url": DOCUMENT,
        "queries": [{"query": "What is the total?", "pages": "1"}],
    },
    "video/question_answer_async": {"file_url": VIDEO, "text": "What happens?"},
    "video/generation_async": {"text": "A red ball rolls on a table.", "duration": 2},
}
_MODULE = {"audio": "audio", "ocr": "ocr", "video": "video"}


def _builder_missing(path: str) -> str | None:
    """The builder module a subfeature needs, when it does not exist yet (skip, not fail)."""
    module = "ocr" if path == "video/text_detection_async" else _MODULE[path.partition("/")[0]]
    name = f"mockserver.providers.edenai.features.{module}"
    return None if importlib.util.find_spec(name) is not None else name


def _get_job(client: Any, path: str, public_id: str, **query: str) -> Any:
    for _ in range(50):
        response = client.get(f"/v2/{path}/{public_id}/", headers=HEADERS, query_string=query)
        assert response.status_code == 200, response.get_data(as_text=True)
        if response.get_json()["status"] != "processing":
            return response
        time.sleep(0.1)
    raise AssertionError(f"{path} {public_id} still processing")


@pytest.mark.parametrize("path", sorted(SUBFEATURES))
def test_real_jobs_finish_in_the_contract_s_shape(path: str, eden_app: Flask) -> None:
    """Every subfeature's real job (all its providers) finishes, each provider succeeds, and
    the body validates against the contract, by provider and as a list."""
    missing = _builder_missing(path)
    if missing:
        pytest.skip(f"{missing} does not exist yet")
    spec = load_contract("edenai")
    sub = SUBFEATURES[path]
    body = {"providers": ",".join(sub.providers), **REAL_LAUNCHES.get(path, {"file_url": VIDEO})}
    client = eden_app.test_client()
    launched = client.post(f"/v2/{path}/", json=body, headers=HEADERS)
    assert launched.status_code == 200, launched.get_data(as_text=True)
    validate_response(spec, "POST", f"/{path}/", 200, launched.mimetype, launched.get_json())
    public_id = launched.get_json()["public_id"]
    for query in ({}, {"response_as_dict": "false", "show_original_response": "true"}):
        response = _get_job(client, path, public_id, **query)
        job = response.get_json()
        validate_response(spec, "GET", f"/{path}/{public_id}", 200, response.mimetype, job)
        assert job["status"] == "finished", job
        entries = job["results"] if isinstance(job["results"], list) else job["results"].values()
        failed = {e.get("provider"): e["error"] for e in entries if e["error"] is not None}
        assert not failed, failed
        assert len(list(entries)) == len(sub.providers)


# --- stateful: links --------------------------------------------------------------------------


def test_stateful_links(eden_app: Flask) -> None:
    """Launch -> get through the contract's OpenAPI link (speech-to-text, a real clip)."""
    stt = _schema(coverage=False).include(path_regex=r"^/audio/speech_to_text_async/")
    missing = missing_links(
        stt.raw_schema,
        "/audio/speech_to_text_async/",
        "public_id",
        {"getSpeechToTextAsyncJob": "$response.body#/public_id"},
    )
    assert not missing, missing
    followed: list[int] = []

    class EdenMachine(stt.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: Case) -> None:
            meta = case.meta
            positive = meta is not None and meta.generation.mode.is_positive
            if case.method.upper() == "POST" and positive:
                case.media_type = "application/json"
                case.body = {"providers": "amazon", "file_url": AUDIO}

        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            return {"app": eden_app}

        def after_call(self, response: schemathesis.Response, case: Case) -> None:
            super().after_call(response, case)
            if "{public_id}" in case.operation.path:
                followed.append(response.status_code)

    EdenMachine.run(settings=settings(SETTINGS, max_examples=4, stateful_step_count=4))
    assert 200 in followed, f"no link reached a real job: {followed}"


# --- auth -------------------------------------------------------------------------------------

AUTH_CASES = [
    ("no header", {}, "NotAuthenticated"),
    ("not bearer", {"Authorization": f"Token {KEY}"}, "NotAuthenticated"),
    ("empty bearer", {"Authorization": "Bearer "}, "NotAuthenticated"),
    ("unknown key", {"Authorization": "Bearer other"}, "AuthenticationFailed"),
]


@pytest.fixture(scope="module")
def keyed_app() -> Iterator[Flask]:
    app = create_app(Settings().replace(profile="instant", api_keys=(KEY,)))
    try:
        yield app
    finally:
        app.extensions["mockserver"].close()


@pytest.mark.parametrize(("name", "headers", "kind"), AUTH_CASES, ids=[c[0] for c in AUTH_CASES])
def test_auth_is_a_403_in_the_error_shape(
    name: str, headers: dict[str, str], kind: str, keyed_app: Flask
) -> None:
    spec = load_contract("edenai")
    client = keyed_app.test_client()
    public_id = "9421ae03-6180-4aef-82ce-19b2c33e9397"
    for method, path in (
        ("POST", "/audio/speech_to_text_async/"),
        ("GET", "/audio/speech_to_text_async"),
        ("DELETE", "/ocr/ocr_async/"),
        ("GET", f"/video/label_detection_async/{public_id}"),
        ("GET", "/ocr/ocr_tables_async/batch/b1/"),
    ):
        response = client.open("/v2" + path, method=method, headers=headers)
        assert response.status_code == 403, (name, path)
        validate_response(spec, method, path, 403, response.mimetype, response.get_json())
        assert response.get_json()["error"]["type"] == kind


# --- bugs the fuzzing found (fixed): each pinned by its smallest case -------------------------

STT = "/v2/audio/speech_to_text_async/"


@pytest.mark.parametrize("speakers", ["--5", "\u00b2"])
def test_an_integer_in_other_digits_is_a_400(speakers: str, eden_app: Flask) -> None:
    body = {"providers": "amazon", "file_url": AUDIO, "speakers": speakers}
    response = eden_app.test_client().post(STT, data=body, headers=HEADERS)
    assert response.status_code == 400


def test_a_bracket_in_a_url_field_is_a_400(eden_app: Flask) -> None:
    body = {"providers": "amazon", "file_url": "http://0["}
    response = eden_app.test_client().post(STT, json=body, headers=HEADERS)
    assert response.status_code == 400


@pytest.mark.parametrize("providers", [",", " , ", [" "]], ids=["comma", "blanks", "list"])
def test_providers_without_a_name_are_a_400(providers: Any, eden_app: Flask) -> None:
    body = {"providers": providers, "file_url": AUDIO}
    response = eden_app.test_client().post(STT, json=body, headers=HEADERS)
    assert response.status_code == 400, response.get_json()


def test_a_batch_webhook_receiver_is_checked(eden_app: Flask) -> None:
    body = {"requests": [{"providers": "amazon", "file_url": AUDIO}], "webhook_receiver": 5}
    response = eden_app.test_client().post(STT + "batch/bug-hook/", json=body, headers=HEADERS)
    assert response.status_code == 400, response.get_json()


def test_a_batch_page_in_other_digits_is_a_400(eden_app: Flask) -> None:
    client = eden_app.test_client()
    body = {"requests": [{"providers": "amazon", "file_url": AUDIO}]}
    assert client.post(STT + "batch/bug-page/", json=body, headers=HEADERS).status_code == 200
    response = client.get(STT + "batch/bug-page/?page=\u00b2", headers=HEADERS)
    assert response.status_code == 400
