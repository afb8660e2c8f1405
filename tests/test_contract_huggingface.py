"""The Hugging Face contracts, checked on their own: ``contracts/huggingface.yaml`` (OpenAPI 3.1,
the HTTP face) and ``contracts/huggingface-stream.asyncapi.yaml`` (AsyncAPI 3.0, the bulk
websocket's frames).

The OpenAPI document must be valid and declare every operation with every status it answers;
hand-written payloads in each shape ``providers/huggingface/tasks.py`` and ``bulk.py`` produce
must validate, and near misses must be rejected where they are wrong. The AsyncAPI document has
no validator among the test dependencies, so its structure is checked here (every reference
resolves, every operation names a message of its channel), every close code, limit and
message that ``providers/huggingface/session.py`` uses is named in it, and frames are validated
against its payload schemas, which reference the OpenAPI schemas of ``outputs``. No server is
started (one app is built, for its routes): ``test_hf_schemathesis.py`` holds the server to
this contract.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from mockserver.app import create_app
from mockserver.providers.huggingface import session
from mockserver.providers.huggingface.registry import TASKS
from mockserver.providers.huggingface.registry import Registry as ModelRegistry
from mockserver.providers.huggingface.routes import PREFIXES
from mockserver.validation import ContractValidator
from mockserver.websocket import PING_TIMEOUT_CODE, ServerWebSocket
from tests.contract_check import (
    DROP,
    edit,
    find_operation,
    iter_operations,
    validate_request,
    validate_response,
)

CONTRACTS = Path(__file__).resolve().parents[1] / "contracts"
CONTRACT = CONTRACTS / "huggingface.yaml"
STREAM = CONTRACTS / "huggingface-stream.asyncapi.yaml"
JSON = "application/json"

ZERO_SHOT = "/models/facebook/bart-large-mnli"
ROUTER_ZERO_SHOT = "/hf-inference/models/facebook/bart-large-mnli"
SST2 = "/models/distilbert-base-uncased-finetuned-sst-2-english"
NER = "/models/dslim/bert-base-NER"
BULK_RUN = "/bulk/run/cpu/facebook/wav2vec2-base-960h"
BULK_STATUS = "/bulk/status/bulk-68079542"
STREAM_PATH = "/bulk/stream/cpu/facebook/bart-large-mnli"

# (METHOD, path template) -> (operationId, every status the operation declares)
TASK_STATUSES = {"200", "400", "401", "404", "413", "503"}
BULK_STATUSES = {"200", "400", "401", "404"}
BULK_RUN_STATUSES = {*BULK_STATUSES, "413"}
UPGRADE_STATUSES = {"101", "400", "426", "501"}
NS = "{namespace}/{model_name}"
OPERATIONS: dict[tuple[str, str], tuple[str, set[str]]] = {
    ("POST", f"/models/{NS}"): ("runTask", TASK_STATUSES),
    ("POST", "/models/{model_id}"): ("runTaskCanonical", TASK_STATUSES),
    ("POST", f"/hf-inference/models/{NS}"): ("runRouterTask", TASK_STATUSES),
    ("POST", "/hf-inference/models/{model_id}"): ("runRouterTaskCanonical", TASK_STATUSES),
    ("POST", f"/bulk/run/{{compute}}/{NS}"): ("runBulkJob", BULK_RUN_STATUSES),
    ("POST", "/bulk/run/{compute}/{model_id}"): ("runBulkJobCanonical", BULK_RUN_STATUSES),
    ("GET", "/bulk/status/{jobid}"): ("getBulkStatus", BULK_STATUSES),
    ("GET", f"/bulk/stream/{{compute}}/{NS}"): ("openBulkStream", UPGRADE_STATUSES),
    ("GET", "/bulk/stream/{compute}/{model_id}"): ("openBulkStreamCanonical", UPGRADE_STATUSES),
}
TASK_OPERATIONS = {op for (_, _), (op, statuses) in OPERATIONS.items() if "503" in statuses}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def stream() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(STREAM.read_text(encoding="utf-8"))
    return loaded


def deref(document: dict[str, Any], node: Any) -> Any:
    """Follow local ``$ref``s (responses, parameters, schemas) to the node they name."""
    while isinstance(node, dict) and "$ref" in node:
        node = resolve_pointer(document, node["$ref"].split("#", 1)[1])
    return node


def resolve_pointer(document: Any, pointer: str) -> Any:
    node = document
    for token in pointer.strip("/").split("/") if pointer.strip("/") else []:
        token = token.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


# --- samples: what the emulation sends (tasks.py, bulk.py) ----------------------------------------

LEGACY = {
    "sequence": "This is a test about a new dress shop than opened up on 5th avenue",
    "labels": ["fashion", "politics", "medical"],
    "scores": [0.9741, 0.0172, 0.0087],
}
LABEL_SCORES = [{"label": "fashion", "score": 0.9741}, {"label": "medical", "score": 0.0259}]
SENTIMENT = [[{"label": "POSITIVE", "score": 0.9998}, {"label": "NEGATIVE", "score": 0.0002}]]
GROUPED = [
    {"entity_group": "PER", "score": 0.7706, "word": "Wolfgang", "start": 11, "end": 19},
    {"entity_group": "LOC", "score": 0.9983, "word": "Berlin", "start": 34, "end": 40},
]
TAGS = [
    {"entity": "B-ORG", "score": 0.91, "index": 1, "word": "Hugging", "start": 0, "end": 7},
    {"entity": "I-ORG", "score": 0.91, "index": 2, "word": "Face", "start": 8, "end": 12},
]
VECTOR = [0.0205, -0.0243, -0.0156, 0.0061] * 96  # 384 values
SIMILARITY = [0.0663, 0.0718, -0.12]
TRANSCRIPT = {"text": "WHAT A WONDERFUL SURPRISE I AM SO HAPPY TO SEE YOU"}

# task -> (output for one text, output for a list of texts); every shape tasks.py answers.
OUTPUTS: dict[str, list[Any]] = {
    "zero-shot-classification": [LEGACY, [LEGACY, LEGACY], LABEL_SCORES, [LABEL_SCORES]],
    "text-classification": [SENTIMENT, SENTIMENT * 2, [SENTIMENT[0][:1]]],
    "token-classification": [GROUPED, [], TAGS, [GROUPED, [], TAGS]],
    "feature-extraction": [VECTOR, [VECTOR, VECTOR]],
    "sentence-similarity": [SIMILARITY, [1.0]],
    "automatic-speech-recognition": [TRANSCRIPT, {"text": ""}],
}

STATUS_ACTIVE = {
    "status": {"active": 1, "start_time": 1627479091.0},
    "progress": {"total": 4, "done": 1, "failed": 0},
}
STATUS_SUCCEEDED = {
    "status": {"succeeded": 1, "start_time": 1627479091.0, "completion_time": 1627479101.5},
    "progress": {"total": 4, "done": 4, "failed": 0},
}
STATUS_FAILED = {
    "status": {"failed": 1, "start_time": 1627479091.0, "completion_time": 1627479091.0},
    "progress": {"total": 4, "done": 1, "failed": 3},
}


# --- the OpenAPI document -------------------------------------------------------------------------


def test_contract_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    validate(spec)
    assert spec["openapi"] == "3.1.0"
    assert spec["info"]["title"].startswith("Hugging Face Inference API")
    assert spec["info"]["version"] and spec["info"]["description"].strip()
    assert [s["url"] for s in spec["servers"]] == ["https://api-inference.huggingface.co"]
    assert (CONTRACTS / spec["info"]["x-asyncapi"]).is_file()


def test_bearer_auth_is_optional(spec: dict[str, Any]) -> None:
    """Anonymous calls are served unless the server runs with ``--api-keys`` (§3)."""
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        **spec["components"]["securitySchemes"]["bearerAuth"],
        "type": "http",
        "scheme": "bearer",
    }
    assert spec["security"] == [{"bearerAuth": []}, {}]
    status = find_operation(spec, "GET", BULK_STATUS).spec
    assert {} in status["security"]  # the docs' curl sample sends no header (§2)
    for path in (STREAM_PATH, "/bulk/stream/gpu/gpt2"):
        # the token is the first frame, never a header (§1)
        assert find_operation(spec, "GET", path).spec["security"] == [{}]


def test_operations_ids_and_declared_statuses(spec: dict[str, Any]) -> None:
    declared = {
        (method, template): (op.get("operationId"), set(map(str, op["responses"])))
        for method, template, op in iter_operations(spec)
    }
    assert declared == OPERATIONS
    for method, template, op in iter_operations(spec):
        assert op["summary"] and op["description"].strip(), (method, template)
        assert op["tags"] == (["tasks"] if op["operationId"] in TASK_OPERATIONS else ["bulk"])


@pytest.mark.parametrize(
    ("method", "path", "operation", "params"),
    [
        ("POST", ZERO_SHOT, "runTask", {"namespace": "facebook", "model_name": "bart-large-mnli"}),
        ("POST", SST2, "runTaskCanonical", {"model_id": SST2.rsplit("/", 1)[1]}),
        (
            "POST",
            "/hf-inference/models/a/b",
            "runRouterTask",
            {"namespace": "a", "model_name": "b"},
        ),
        ("POST", "/hf-inference/models/gpt2", "runRouterTaskCanonical", {"model_id": "gpt2"}),
        (
            "POST",
            "/bulk/run/gpu/a/b",
            "runBulkJob",
            {"compute": "gpu", "namespace": "a", "model_name": "b"},
        ),
        (
            "POST",
            "/bulk/run/cpu/gpt2",
            "runBulkJobCanonical",
            {"compute": "cpu", "model_id": "gpt2"},
        ),
        ("GET", BULK_STATUS, "getBulkStatus", {"jobid": "bulk-68079542"}),
        (
            "GET",
            STREAM_PATH,
            "openBulkStream",
            {"compute": "cpu", "namespace": "facebook", "model_name": "bart-large-mnli"},
        ),
        (
            "GET",
            "/bulk/stream/cpu/gpt2",
            "openBulkStreamCanonical",
            {"compute": "cpu", "model_id": "gpt2"},
        ),
    ],
)
def test_model_ids_with_and_without_a_namespace_find_their_operation(
    spec: dict[str, Any], method: str, path: str, operation: str, params: dict[str, str]
) -> None:
    """A template parameter never holds a ``/`` (``mockserver.validation``: ``[^/]+``), so each
    model path is declared with ``{namespace}/{model_name}`` and with ``{model_id}``."""
    found = find_operation(spec, method, path)
    assert (found.id, found.path_params) == (operation, params)


def hf_routes() -> set[tuple[str, str]]:
    """(METHOD, path template) of every rule the app serves under the Hugging Face prefixes,
    a ``<path:model_id>`` rule counted in both of the contract's forms."""
    app = create_app()
    try:
        routes = set()
        for rule in app.url_map.iter_rules():
            if not rule.rule.startswith(tuple(f"{p}/" for p in PREFIXES)):
                continue
            template = re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule.rule)
            forms = {template}
            if "<path:model_id>" in rule.rule:
                forms = {template, template.replace("{model_id}", NS)}
            methods = set(rule.methods or ()) - {"HEAD", "OPTIONS"}
            routes |= {(method, form) for method in methods for form in forms}
        return routes
    finally:
        app.extensions["mockserver"].close()


def test_every_route_is_in_the_contract_and_back(spec: dict[str, Any]) -> None:
    operations = {(method, template) for method, template, _ in iter_operations(spec)}
    assert hf_routes() == operations


def test_a_model_id_with_two_slashes_matches_no_operation(spec: dict[str, Any]) -> None:
    """Hub ids have at most one slash; the server would take the rest of the path as the id."""
    with pytest.raises(AssertionError, match="no path template"):
        find_operation(spec, "POST", "/models/a/b/c")


def test_every_response_declares_its_body_and_headers(spec: dict[str, Any]) -> None:
    for _method, template, op in iter_operations(spec):
        for status, raw in op["responses"].items():
            response = deref(spec, raw)
            assert response["description"].strip(), (template, status)
            headers = set(response.get("headers", {}))
            if status == "101":
                assert "content" not in response
                assert headers == {"Upgrade", "Connection", "Sec-WebSocket-Accept"}
                continue
            assert set(response["content"]) == {JSON}, (template, status)
            assert "schema" in response["content"][JSON], (template, status)
            if op["operationId"] in TASK_OPERATIONS:
                assert headers == {"x-compute-time", "x-compute-type"}, (template, status)
            elif template.startswith("/bulk/stream/"):
                # the handshake's errors are answered before the HF headers are added
                assert headers <= {"Sec-WebSocket-Version"}, (template, status)
            else:
                assert headers == {"x-compute-type"}, (template, status)
    not_allowed = spec["components"]["responses"]["MethodNotAllowed"]
    assert not_allowed["content"][JSON]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_response_headers(spec: dict[str, Any]) -> None:
    headers = spec["components"]["headers"]
    compute_type = Draft202012Validator(headers["x-compute-type"]["schema"])
    compute_time = Draft202012Validator(headers["x-compute-time"]["schema"])
    assert all(h["required"] for h in headers.values())
    for good in ("cpu", "gpu"):
        assert compute_type.is_valid(good)
    for bad in ("tpu", "AAA", ""):
        assert not compute_type.is_valid(bad)
    for good in ("0.004", "12.345"):  # f"{seconds:.3f}" (routes._headers)
        assert compute_time.is_valid(good)
    for bad in ("0.0042", "1", "-0.001", "1e-3"):
        assert not compute_time.is_valid(bad)


def test_task_bodies_are_json_or_raw_audio(spec: dict[str, Any]) -> None:
    body = deref(spec, find_operation(spec, "POST", ZERO_SHOT).spec["requestBody"])
    assert body["required"] is True
    assert set(body["content"]) == {JSON, "application/octet-stream", "audio/*"}
    for media in ("application/octet-stream", "audio/*"):
        assert body["content"][media]["schema"] == {"type": "string", "format": "binary"}
    # OpenAPI cannot declare a body without a Content-Type: the description must say it
    assert "no Content-Type at all" in body["description"]
    bulk = deref(spec, find_operation(spec, "POST", BULK_RUN).spec["requestBody"])
    assert set(bulk["content"]) == {JSON} and "no Content-Type" in bulk["description"]


def test_x_tasks_name_a_schema_for_every_registry_task(spec: dict[str, Any]) -> None:
    tasks = spec["x-tasks"]
    assert tuple(tasks) == TASKS
    for task, refs in tasks.items():
        assert set(refs) <= {"request", "parameters", "output"} and "output" in refs, task
        for ref in refs.values():
            assert resolve_pointer(spec, ref.removeprefix("#")), (task, ref)
    used = {m.task for m in ModelRegistry().all().values()}
    assert used == set(TASKS)  # every task has a built-in model


def test_guesses_are_marked(spec: dict[str, Any]) -> None:
    """Decisions the vendor does not document say so (the reference's evidence tags)."""
    text = CONTRACT.read_text(encoding="utf-8")
    assert text.count("GUESS") >= 20
    for where in (
        deref(spec, spec["components"]["responses"]["TaskModelNotFound"])["description"],
        spec["components"]["schemas"]["BulkStatus"]["properties"]["status"]["description"],
        spec["components"]["schemas"]["BulkRunResponse"]["properties"]["bulk_name"]["description"],
        spec["components"]["schemas"]["EntityTag"]["description"],
    ):
        assert "GUESS" in where, where


# --- outputs --------------------------------------------------------------------------------------


def task_cases() -> Iterator[tuple[str, int, Any]]:
    for task, outputs in OUTPUTS.items():
        for index, output in enumerate(outputs):
            yield task, index, output


@pytest.mark.parametrize(("task", "index", "output"), list(task_cases()))
def test_every_output_shape_validates(
    spec: dict[str, Any], task: str, index: int, output: Any
) -> None:
    validator = ContractValidator(spec)
    assert validator.validate_schema(spec["x-tasks"][task]["output"], output) == []
    for path in (ZERO_SHOT, SST2, ROUTER_ZERO_SHOT):
        validate_response(spec, "POST", path, 200, JSON, output)


def test_each_task_output_schema_is_its_own(spec: dict[str, Any]) -> None:
    """The per-task schemas tell the shapes apart where they differ (zero-shot's list form and
    text classification's ``[[{label, score}]]`` are the same shape)."""
    validator = ContractValidator(spec)
    same = {("zero-shot-classification", "text-classification")}
    same |= {(b, a) for a, b in same}
    vectors = {"feature-extraction", "sentence-similarity"}  # a list of numbers either way
    for task, refs in spec["x-tasks"].items():
        for other, outputs in OUTPUTS.items():
            if other == task or (task, other) in same or {task, other} <= vectors:
                continue
            for output in outputs:
                if output == []:
                    continue  # no entities: a valid empty list of anything
                assert validator.validate_schema(refs["output"], output), (task, other, output)


# (case, task, sample, pointer, value)
BROKEN_OUTPUTS: list[tuple[str, str, Any, str, Any]] = [
    ("zero-shot without labels", "zero-shot-classification", LEGACY, "/labels", DROP),
    ("zero-shot score above 1", "zero-shot-classification", LEGACY, "/scores/0", 1.5),
    ("zero-shot score a string", "zero-shot-classification", LEGACY, "/scores/1", "0.1"),
    ("zero-shot extra key", "zero-shot-classification", LEGACY, "/warnings", []),
    ("zero-shot label not a string", "zero-shot-classification", LABEL_SCORES, "/0/label", 3),
    ("label score without score", "zero-shot-classification", LABEL_SCORES, "/1/score", DROP),
    ("negative score", "text-classification", SENTIMENT, "/0/0/score", -0.1),
    ("classification not nested", "text-classification", SENTIMENT, "/0", SENTIMENT[0][0]),
    ("entity group outside CoNLL", "token-classification", GROUPED, "/0/entity_group", "PERSON"),
    ("entity without end", "token-classification", GROUPED, "/1/end", DROP),
    ("entity offset negative", "token-classification", GROUPED, "/0/start", -1),
    ("entity offset fractional", "token-classification", GROUPED, "/0/end", 19.5),
    ("tag without B-/I- prefix", "token-classification", TAGS, "/0/entity", "ORG"),
    ("tag index 0", "token-classification", TAGS, "/0/index", 0),
    ("tag and group mixed", "token-classification", TAGS, "/1", GROUPED[0]),
    ("vector with a string", "feature-extraction", VECTOR, "/3", "0.5"),
    ("vectors with an empty one", "feature-extraction", [VECTOR, VECTOR], "/1", []),
    ("similarity null", "sentence-similarity", SIMILARITY, "/0", None),
    ("transcript not a string", "automatic-speech-recognition", TRANSCRIPT, "/text", None),
    ("transcript extra key", "automatic-speech-recognition", TRANSCRIPT, "/chunks", []),
]


@pytest.mark.parametrize(
    ("name", "task", "sample", "pointer", "value"),
    BROKEN_OUTPUTS,
    ids=[c[0] for c in BROKEN_OUTPUTS],
)
def test_broken_outputs_are_rejected(
    spec: dict[str, Any], name: str, task: str, sample: Any, pointer: str, value: Any
) -> None:
    validator = ContractValidator(spec)
    ref = spec["x-tasks"][task]["output"]
    assert validator.validate_schema(ref, sample) == []
    assert validator.validate_schema(ref, edit(sample, pointer, value)), name


def test_empty_and_odd_vectors_are_rejected(spec: dict[str, Any]) -> None:
    validator = ContractValidator(spec)
    not_vectors: list[Any] = [[], [0.1] * 8193, {"embedding": VECTOR}, [[0.1, "x"]]]
    for bad in not_vectors:
        assert validator.validate_schema("#/components/schemas/FeatureExtractionOutput", bad)
    not_outputs: list[Any] = [None, {"text": 3}, "hello", {"error": "Malformed soundfile"}]
    for bad in not_outputs:
        assert validator.validate_schema("#/components/schemas/TaskOutput", bad), bad


# --- errors ---------------------------------------------------------------------------------------

GOOD_ERRORS: list[tuple[int, Any]] = [
    (400, {"error": "Malformed soundfile"}),
    (400, {"error": ["Error in `parameters.candidate_labels`: field required"]}),
    (400, {"error": "Authorization header is correct, but the token seems invalid"}),
    (401, {"error": "Invalid credentials in Authorization header"}),
    (404, {"error": "Model nope/nope does not exist"}),
    (503, {"error": "Model facebook/bart-large-mnli is currently loading", "estimated_time": 20.0}),
]
BAD_ERRORS: list[tuple[int, Any]] = [
    (400, {}),
    (400, {"error": 3}),
    (400, {"error": []}),
    (400, {"error": ""}),
    (400, {"error": ["ok", 3]}),
    (400, {"message": "nope"}),
    (400, {"error": "x", "code": 400}),
    (404, {"error": "x", "estimated_time": -1}),
    (503, {"error": "Model x is currently loading"}),  # no estimated_time
    (503, {"error": "busy", "estimated_time": 2.0}),
    (503, {"error": ["Model x is currently loading"], "estimated_time": 2.0}),
]


@pytest.mark.parametrize(("status", "body"), GOOD_ERRORS)
def test_error_bodies_validate(spec: dict[str, Any], status: int, body: Any) -> None:
    for path in (ZERO_SHOT, SST2, ROUTER_ZERO_SHOT):
        validate_response(spec, "POST", path, status, JSON, body)


@pytest.mark.parametrize(("status", "body"), BAD_ERRORS)
def test_bad_error_bodies_are_rejected(spec: dict[str, Any], status: int, body: Any) -> None:
    with pytest.raises(AssertionError):
        validate_response(spec, "POST", ZERO_SHOT, status, JSON, body)


def test_bulk_errors_and_undeclared_statuses(spec: dict[str, Any]) -> None:
    validate_response(spec, "POST", BULK_RUN, 404, JSON, {"error": "Dataset x does not exist"})
    validate_response(spec, "POST", BULK_RUN, 400, JSON, {"error": ["Error in `x`: y"]})
    validate_response(spec, "GET", BULK_STATUS, 404, JSON, {"error": "Job x does not exist"})
    with pytest.raises(AssertionError, match="status not declared"):
        validate_response(spec, "POST", BULK_RUN, 503, JSON, {"error": "x", "estimated_time": 1})
    with pytest.raises(AssertionError, match="status not declared"):
        validate_response(spec, "POST", ZERO_SHOT, 500, JSON, {"error": "boom"})


# --- requests -------------------------------------------------------------------------------------

GOOD_TASK_BODIES: dict[str, list[Any]] = {
    "zero-shot-classification": [
        {"inputs": "a new dress shop", "parameters": {"candidate_labels": ["fashion", "food"]}},
        {"inputs": ["a", "b"], "parameters": {"candidate_labels": "fashion, food"}},
        {
            "inputs": "x",
            "parameters": {
                "candidate_labels": ["a"],
                "multi_label": True,
                "hypothesis_template": "This text is about {}.",
            },
            "options": {"use_cache": False, "wait_for_model": True},
        },
    ],
    "text-classification": [
        {"inputs": "I love it"},
        {"inputs": ["I love it", ""], "parameters": {"top_k": 1, "function_to_apply": "none"}},
        {"inputs": "x", "parameters": None, "options": None},
    ],
    "token-classification": [
        {"inputs": "My name is Wolfgang and I live in Berlin"},
        {"inputs": "x", "parameters": {"aggregation_strategy": "none", "ignore_labels": ["O"]}},
    ],
    "feature-extraction": [
        {"inputs": "hello"},
        {"inputs": ["a", "b"], "parameters": {"normalize": False, "truncate": True}},
    ],
    "sentence-similarity": [
        {"inputs": {"source_sentence": "hi", "sentences": ["hello", "bye"]}},
    ],
    "automatic-speech-recognition": [{"inputs": "UklGRiQAAABXQVZFZm10IA=="}],
}


def good_bodies() -> Iterator[tuple[str, Any]]:
    for task, bodies in GOOD_TASK_BODIES.items():
        for body in bodies:
            yield task, body


@pytest.mark.parametrize(("task", "body"), list(good_bodies()))
def test_good_task_bodies_validate(spec: dict[str, Any], task: str, body: Any) -> None:
    validate_request(spec, "POST", ZERO_SHOT, body=body)
    validate_request(spec, "POST", "/hf-inference/models/gpt2", body=body)
    validator = ContractValidator(spec)
    assert validator.validate_schema(spec["x-tasks"][task]["request"], body) == []


# (case, body, the JSON pointer the violation must name): refused by every model's task
BAD_TASK_BODIES: list[tuple[str, Any, str]] = [
    ("no inputs", {"parameters": {}}, "body"),
    ("not an object", ["hello"], "body"),
    ("inputs null", {"inputs": None}, "/inputs"),
    ("inputs a number", {"inputs": 3}, "/inputs"),
    ("inputs an empty list", {"inputs": []}, "/inputs"),
    ("inputs a list with a number", {"inputs": ["a", 1]}, "/inputs/1"),
    ("similarity without sentences", {"inputs": {"source_sentence": "a"}}, "/inputs"),
    ("parameters a list", {"inputs": "a", "parameters": ["top_k"]}, "/parameters"),
    ("options a string", {"inputs": "a", "options": "fast"}, "/options"),
    ("use_cache not a bool", {"inputs": "a", "options": {"use_cache": "no"}}, "/options/use_cache"),
    (
        "wait_for_model not a bool",
        {"inputs": "a", "options": {"wait_for_model": 1}},
        "/options/wait_for_model",
    ),
]


@pytest.mark.parametrize(
    ("name", "body", "pointer"), BAD_TASK_BODIES, ids=[c[0] for c in BAD_TASK_BODIES]
)
def test_bad_task_bodies_are_rejected_where_they_are_wrong(
    spec: dict[str, Any], name: str, body: Any, pointer: str
) -> None:
    with pytest.raises(AssertionError, match=re.escape(f"\n  {pointer}: ")):
        validate_request(spec, "POST", NER, body=body)


# (case, task, body): fine for the generic body, refused by that task's parameters
BAD_FOR_THE_TASK: list[tuple[str, str, Any]] = [
    ("zero-shot without candidate_labels", "zero-shot-classification", {"inputs": "a"}),
    (
        "zero-shot labels all blank",
        "zero-shot-classification",
        {"inputs": "a", "parameters": {"candidate_labels": [" ", ""]}},
    ),
    (
        "zero-shot labels only commas",
        "zero-shot-classification",
        {"inputs": "a", "parameters": {"candidate_labels": " , ,"}},
    ),
    (
        "zero-shot template without {}",
        "zero-shot-classification",
        {"inputs": "a", "parameters": {"candidate_labels": ["x"], "hypothesis_template": "x"}},
    ),
    (
        "zero-shot multi_label a string",
        "zero-shot-classification",
        {"inputs": "a", "parameters": {"candidate_labels": ["x"], "multi_label": "yes"}},
    ),
    ("top_k 0", "text-classification", {"inputs": "a", "parameters": {"top_k": 0}}),
    ("top_k a bool", "text-classification", {"inputs": "a", "parameters": {"top_k": True}}),
    (
        "unknown function",
        "text-classification",
        {"inputs": "a", "parameters": {"function_to_apply": "relu"}},
    ),
    (
        "unknown aggregation",
        "token-classification",
        {"inputs": "a", "parameters": {"aggregation_strategy": "mean"}},
    ),
    (
        "ignore_labels a string",
        "token-classification",
        {"inputs": "a", "parameters": {"ignore_labels": "O"}},
    ),
    ("normalize null", "feature-extraction", {"inputs": "a", "parameters": {"normalize": None}}),
    ("similarity from a text", "sentence-similarity", {"inputs": "a"}),
    ("audio as a list", "automatic-speech-recognition", {"inputs": ["UklGRg=="]}),
    ("text inputs an object", "text-classification", {"inputs": {"source_sentence": "a"}}),
]


@pytest.mark.parametrize(
    ("name", "task", "body"), BAD_FOR_THE_TASK, ids=[c[0] for c in BAD_FOR_THE_TASK]
)
def test_task_schemas_refuse_what_the_task_refuses(
    spec: dict[str, Any], name: str, task: str, body: Any
) -> None:
    validator = ContractValidator(spec)
    assert validator.validate_schema(spec["x-tasks"][task]["request"], body), name


def test_raw_audio_bodies(spec: dict[str, Any]) -> None:
    validator = ContractValidator(spec)
    path = "/models/openai/whisper-tiny"
    for media in ("application/octet-stream", "audio/wav", "audio/flac; rate=16000"):
        assert validator.validate_request("POST", path, content_type=media) == []
    assert [v.rule for v in validator.validate_request("POST", path, content_type="text/csv")] == [
        "media_type"
    ]


@pytest.mark.xfail(
    strict=True,
    reason="mockserver.validation reads any body sent without a Content-Type as JSON: it "
    "cannot check InferenceClient's raw audio (no Content-Type, reference §4) against the "
    "binary media types, nor say 'no body' and 'a body of unknown type' apart",
)
def test_raw_audio_without_a_content_type(spec: dict[str, Any]) -> None:
    validator = ContractValidator(spec)
    wav = b"RIFF$\x00\x00\x00WAVEfmt "
    assert validator.validate_request("POST", "/models/openai/whisper-tiny", body=wav) == []


BULK_SAMPLE = {  # the docs' sample (§2)
    "dataset_name": "ApiInferenceTest/asr_dummy",
    "dataset_config": "asr",
    "dataset_split": "test",
    "dataset_column": "file",
}


def test_bulk_run_bodies(spec: dict[str, Any]) -> None:
    validate_request(spec, "POST", BULK_RUN, body=BULK_SAMPLE)
    validate_request(spec, "POST", "/bulk/run/gpu/gpt2", body={"dataset_name": "x/y"})
    nulls = dict.fromkeys(("dataset_config", "dataset_split", "dataset_column", "parameters"))
    validate_request(spec, "POST", BULK_RUN, body={"dataset_name": "d", **nulls})
    zero_shot = {"dataset_name": "mockserver/headlines", "parameters": {"candidate_labels": ["a"]}}
    validate_request(spec, "POST", BULK_RUN, body=zero_shot)
    for bad, pointer in (
        ({}, "body"),
        ({"dataset_name": ""}, "/dataset_name"),
        ({"dataset_name": 3}, "/dataset_name"),
        ({**BULK_SAMPLE, "dataset_split": 1}, "/dataset_split"),
        ({**BULK_SAMPLE, "parameters": []}, "/parameters"),
        ({**BULK_SAMPLE, "parameters": False}, "/parameters"),
    ):
        with pytest.raises(AssertionError, match=re.escape(f"\n  {pointer}: ")):
            validate_request(spec, "POST", BULK_RUN, body=bad)


def test_bulk_run_answer(spec: dict[str, Any]) -> None:
    good = {"jobid": "bulk-68079542", "bulk_name": "bulk-wav2vec2-b-asr_dummy-8a757"}
    validate_response(spec, "POST", BULK_RUN, 200, JSON, good)
    validate_response(spec, "POST", "/bulk/run/cpu/gpt2", 200, JSON, good)
    for pointer, value in (
        ("/jobid", "68079542"),
        ("/jobid", "bulk-1234567"),
        ("/jobid", DROP),
        ("/bulk_name", "wav2vec2-asr_dummy"),
        ("/bulk_name", "bulk-wav2vec2-base-asr_dummy-8a757"),  # model part over 10 chars
        ("/bulk_name", "bulk-wav2vec2-b-asr_dummy-8A75G"),
        ("/bulk_name", DROP),
        ("/status", "queued"),
    ):
        with pytest.raises(AssertionError):
            validate_response(spec, "POST", BULK_RUN, 200, JSON, edit(good, pointer, value))
    links = deref(spec, spec["components"]["responses"]["BulkStarted"])["links"]
    assert links["GetBulkStatus"] == {
        **links["GetBulkStatus"],
        "operationId": "getBulkStatus",
        "parameters": {"jobid": "$response.body#/jobid"},
    }


@pytest.mark.parametrize("body", [STATUS_ACTIVE, STATUS_SUCCEEDED, STATUS_FAILED])
def test_bulk_status_bodies_validate(spec: dict[str, Any], body: Any) -> None:
    validate_response(spec, "GET", BULK_STATUS, 200, JSON, body)


BROKEN_STATUSES: list[tuple[str, Any, str, Any]] = [
    ("active and ended", STATUS_ACTIVE, "/status/completion_time", 1627479101.5),
    ("active and succeeded", STATUS_ACTIVE, "/status/succeeded", 1),
    ("active 2", STATUS_ACTIVE, "/status/active", 2),
    ("no state at all", STATUS_ACTIVE, "/status/active", DROP),
    ("no start_time", STATUS_ACTIVE, "/status/start_time", DROP),
    ("start_time a string", STATUS_ACTIVE, "/status/start_time", "2021-07-28"),
    ("succeeded without completion_time", STATUS_SUCCEEDED, "/status/completion_time", DROP),
    ("failed without completion_time", STATUS_FAILED, "/status/completion_time", DROP),
    ("unknown status key", STATUS_SUCCEEDED, "/status/ready", 1),
    ("no progress", STATUS_ACTIVE, "/progress", DROP),
    ("progress without failed", STATUS_ACTIVE, "/progress/failed", DROP),
    ("negative count", STATUS_FAILED, "/progress/done", -1),
    ("fractional count", STATUS_FAILED, "/progress/total", 4.5),
]


@pytest.mark.parametrize(
    ("name", "sample", "pointer", "value"), BROKEN_STATUSES, ids=[c[0] for c in BROKEN_STATUSES]
)
def test_broken_bulk_statuses_are_rejected(
    spec: dict[str, Any], name: str, sample: Any, pointer: str, value: Any
) -> None:
    with pytest.raises(AssertionError):
        validate_response(spec, "GET", BULK_STATUS, 200, JSON, edit(sample, pointer, value))


def test_stream_upgrade_answers(spec: dict[str, Any]) -> None:
    validate_response(spec, "GET", STREAM_PATH, 101, None, None)
    message = "unsupported Sec-WebSocket-Version; this endpoint is a websocket"
    validate_response(spec, "GET", STREAM_PATH, 426, JSON, {"error": message})
    validate_response(spec, "GET", STREAM_PATH, 400, JSON, {"error": "not a websocket upgrade"})
    validate_response(spec, "GET", STREAM_PATH, 501, JSON, {"error": "no socket"})
    with pytest.raises(AssertionError, match="no content is declared"):
        validate_response(spec, "GET", STREAM_PATH, 101, JSON, {"type": "status"})
    with pytest.raises(AssertionError, match="status not declared"):
        validate_response(spec, "GET", STREAM_PATH, 200, JSON, {"error": "x"})
    validator = ContractValidator(spec)
    upgrade = {
        "Upgrade": "websocket",
        "Connection": "keep-alive, Upgrade",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    }
    assert validator.validate_request("GET", STREAM_PATH, headers=upgrade) == []
    plain = validator.validate_request("GET", STREAM_PATH, headers={"Accept": "*/*"})
    assert {v.pointer for v in plain} == {
        "/Upgrade",
        "/Connection",
        "/Sec-WebSocket-Version",
        "/Sec-WebSocket-Key",
    }
    old = validator.validate_request(
        "GET", STREAM_PATH, headers={**upgrade, "Sec-WebSocket-Version": "8"}
    )
    assert [v.pointer for v in old] == ["/Sec-WebSocket-Version"]


# --- the AsyncAPI document ------------------------------------------------------------------------

BASE = "https://mockserver.invalid/contracts/"


def refs_in(node: Any, at: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield at, value
            else:
                yield from refs_in(value, f"{at}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from refs_in(value, f"{at}/{index}")


def test_asyncapi_structure(stream: dict[str, Any]) -> None:
    assert stream["asyncapi"] == "3.0.0"
    info = stream["info"]
    assert info["title"].startswith("Hugging Face") and info["version"]
    assert (CONTRACTS / info["x-openapi"]).is_file()
    assert {s["protocol"] for s in stream["servers"].values()} == {"ws", "wss"}
    (channel,) = stream["channels"].values()
    assert channel["address"] == "/bulk/stream/{compute}/{model_id}"
    placeholders = set(re.findall(r"\{([^}]+)\}", channel["address"]))
    assert set(channel["parameters"]) == placeholders
    assert channel["parameters"]["compute"]["enum"] == ["cpu", "gpu"]
    assert channel["bindings"]["ws"]["method"] == "GET"
    actions = {}
    for name, operation in stream["operations"].items():
        assert operation["action"] in ("send", "receive"), name
        assert operation["channel"] == {"$ref": "#/channels/bulkStream"}, name
        for message in operation["messages"]:
            # AsyncAPI 3: an operation's messages must be messages of its channel
            assert message["$ref"].startswith("#/channels/bulkStream/messages/"), name
            actions[message["$ref"].rsplit("/", 1)[1]] = operation["action"]
    assert actions == {
        "token": "receive",
        "item": "receive",
        "status": "send",
        "results": "send",
    }
    for name, message in stream["components"]["messages"].items():
        assert message["payload"] and message["summary"], name
        assert message["examples"], name


def test_asyncapi_references_resolve(stream: dict[str, Any], spec: dict[str, Any]) -> None:
    documents = {"": stream, "huggingface.yaml": spec}
    found = list(refs_in(stream))
    assert len(found) > 10
    for at, ref in found:
        target, _, pointer = ref.partition("#")
        assert target in documents, (at, ref)
        assert resolve_pointer(documents[target], pointer) is not None, (at, ref)


def test_every_close_code_and_limit_of_the_session_is_documented(stream: dict[str, Any]) -> None:
    (channel,) = stream["channels"].values()
    codes = channel["x-close-codes"]
    session_codes = {
        "AUTH_FAILED": session.AUTH_FAILED,
        "NOT_FOUND": session.NOT_FOUND,
        "MALFORMED": session.MALFORMED,
        "AUTH_TIMEOUT_CODE": session.AUTH_TIMEOUT_CODE,
    }
    for name, code in session_codes.items():
        assert codes[str(code)]["name"] == name
        assert codes[str(code)]["status_frame"] is True  # session.run sends a status first
    source = inspect.getsource(session)
    literal = {int(c) for c in re.findall(r"\.close\((\d+)", source)}  # e.g. 1011 on a crash
    assert literal and literal <= {int(c) for c in codes}
    assert {1009, PING_TIMEOUT_CODE} <= {int(c) for c in codes}
    assert {int(c) for c in codes} == {1000, 1009, PING_TIMEOUT_CODE, *session_codes.values()}
    text = STREAM.read_text(encoding="utf-8")
    limits = {
        f"{session.SEND_TIMEOUT:g} s (`SEND_TIMEOUT`)",
        f"{session.MAX_PENDING:,} undelivered items (`MAX_PENDING`)",
        f"{session.MAX_BURST} frames, `MAX_BURST`",
        f"{session.AUTH_TIMEOUT:g} s (`AUTH_TIMEOUT`)",
    }
    for limit in limits:
        assert limit in " ".join(text.split()), limit
    keepalive = inspect.signature(ServerWebSocket).parameters
    ping = f"pings every {keepalive['ping_interval'].default:g} s; no pong within"
    assert ping in " ".join(text.split())
    assert f"{keepalive['ping_timeout'].default:g} s closes with {PING_TIMEOUT_CODE}" in " ".join(
        text.split()
    )
    assert "16 MiB" in text  # routes.bulk_stream: max_message_size=16 << 20
    assert session._INVALID_TOKEN in " ".join(text.split())


def test_frame_types_match_the_session(stream: dict[str, Any]) -> None:
    """The two server frames are the ``type``s session.py writes, and nothing else."""
    source = inspect.getsource(session)
    written = set(re.findall(r'\{"type": "(\w+)"', source))
    schemas = stream["components"]["schemas"]
    assert written == {"status", "results"}
    assert schemas["StatusFrame"]["properties"]["type"] == {"const": "status"}
    assert schemas["ResultsFrame"]["properties"]["type"] == {"const": "results"}
    results_frame = re.search(r'\{"type": "results",(.*?)\}\n', source, re.S)
    assert results_frame is not None, "session.py writes no results frame"
    keys = {"type", *re.findall(r'"(\w+)":', results_frame.group(1))}
    assert keys == set(schemas["ResultsFrame"]["required"])


@pytest.fixture(scope="module")
def frames(stream: dict[str, Any], spec: dict[str, Any]) -> Callable[[str], Draft202012Validator]:
    """A validator per AsyncAPI schema, with ``huggingface.yaml`` reachable by its name."""
    registry: Registry[Any] = Registry().with_resources(
        [
            (BASE + STREAM.name, Resource.from_contents(stream, DRAFT202012)),
            (BASE + CONTRACT.name, Resource.from_contents(spec, DRAFT202012)),
        ]
    )

    def build(name: str) -> Draft202012Validator:
        if name == "Token":
            schema = {"$ref": f"{BASE}{STREAM.name}#/components/messages/Token/payload"}
        else:
            schema = {"$ref": f"{BASE}{STREAM.name}#/components/schemas/{name}"}
        return Draft202012Validator(schema, registry=registry)

    return build


def test_message_examples_validate(
    stream: dict[str, Any], frames: Callable[[str], Draft202012Validator]
) -> None:
    schema_of = {"Token": "Token", "Item": "Item", "Status": "StatusFrame"}
    schema_of["Results"] = "ResultsFrame"
    for name, message in stream["components"]["messages"].items():
        validator = frames(schema_of[name])
        for example in message["examples"]:
            errors = list(validator.iter_errors(example["payload"]))
            assert errors == [], (name, example["name"], errors)


def good_results() -> Iterator[Any]:
    yield from (output for shapes in OUTPUTS.values() for output in shapes)
    yield {"error": ["Error in `parameters.candidate_labels`: field required"]}
    yield {"error": "Malformed soundfile"}
    yield {"error": "Item failed"}


def test_good_frames_validate(frames: Callable[[str], Draft202012Validator]) -> None:
    results = frames("ResultsFrame")
    for index, outputs in enumerate(good_results()):
        for frame_id in ("6b8f7c1e-3e4a-4f5b-9a2d-1c0e8f7a6b5d", index, False, {"k": [1]}):
            frame = {"type": "results", "id": frame_id, "outputs": outputs}
            assert list(results.iter_errors(frame)) == [], frame
    status = frames("StatusFrame")
    assert status.is_valid({"type": "status", "message": "Queued 3 items; 3 pending"})
    token = frames("Token")
    for good in ("Bearer hf_abc", "bearer x", "  BEARER  tok"):
        assert token.is_valid(good), good
    item = frames("Item")
    items: list[Any] = [
        {"inputs": "x"},
        {"id": 0, "inputs": ["a", "b"], "parameters": {"candidate_labels": ["a"]}},
        {"id": "u", "inputs": {"source_sentence": "a", "sentences": ["b"]}, "parameters": None},
        {"inputs": "UklGRg==", "extra": "ignored"},
    ]
    for good in items:
        assert list(item.iter_errors(good)) == [], good


BAD_FRAMES: list[tuple[str, str, Any]] = [
    ("status without message", "StatusFrame", {"type": "status"}),
    ("status with an extra key", "StatusFrame", {"type": "status", "message": "x", "id": 1}),
    ("status message not text", "StatusFrame", {"type": "status", "message": ["x"]}),
    ("results typed result", "ResultsFrame", {"type": "result", "id": 1, "outputs": []}),
    ("results without id", "ResultsFrame", {"type": "results", "outputs": TRANSCRIPT}),
    ("results with a null id", "ResultsFrame", {"type": "results", "id": None, "outputs": []}),
    ("results without outputs", "ResultsFrame", {"type": "results", "id": 1}),
    ("results outputs null", "ResultsFrame", {"type": "results", "id": 1, "outputs": None}),
    (
        "results outputs a bare message",
        "ResultsFrame",
        {"type": "results", "id": 1, "outputs": "Malformed soundfile"},
    ),
    (
        "results outputs an error without text",
        "ResultsFrame",
        {"type": "results", "id": 1, "outputs": {"error": ""}},
    ),
    (
        "results with the payload under data",
        "ResultsFrame",
        {"type": "results", "id": 1, "outputs": [], "data": LEGACY},
    ),
    ("item without inputs", "Item", {"id": 1, "parameters": {}}),
    ("item inputs null", "Item", {"inputs": None}),
    ("item inputs empty list", "Item", {"inputs": []}),
    ("item id null", "Item", {"id": None, "inputs": "x"}),
    ("item parameters a list", "Item", {"inputs": "x", "parameters": ["a"]}),
    ("item a list", "Item", [{"inputs": "x"}]),
    ("token without a token", "Token", "Bearer "),
    ("token with another scheme", "Token", "Basic dXNlcjpwYXNz"),
    ("token alone", "Token", "hf_abc"),
]


@pytest.mark.parametrize(("name", "schema", "frame"), BAD_FRAMES, ids=[c[0] for c in BAD_FRAMES])
def test_bad_frames_are_rejected(
    frames: Callable[[str], Draft202012Validator], name: str, schema: str, frame: Any
) -> None:
    assert not frames(schema).is_valid(frame), name
