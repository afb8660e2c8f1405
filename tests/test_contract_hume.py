"""The Hume Expression Measurement batch contract, ``contracts/hume.yaml``, checked on its own.

The document must be valid OpenAPI 3.1 and declare the five operations of the wire decisions
with every status they answer. Hand-written payloads in the shapes the emulation sends must
validate, and payloads the ``hume`` 0.13.13 SDK refuses to parse (reference §12.4) must be
rejected, so the contract is never looser than the real client on what it needs. No server is
started: the emulation's own exchanges are checked against this contract by its server tests.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from mockserver.inference.labels import (
    BURSTS,
    EXPRESSIONS,
    LANGUAGE_EMOTIONS,
    SENTIMENT_LEVELS,
    TOXICITY,
)
from mockserver.validation import ContractValidator
from tests.contract_check import (
    DROP,
    edit,
    find_operation,
    iter_operations,
    validate_request,
    validate_response,
)

CONTRACT = Path(__file__).resolve().parents[1] / "contracts" / "hume.yaml"
JSON = "application/json"
FACS = ("AU1 Inner Brow Raise", "AU12 Lip Corner Puller")  # the sets are the emulation's GUESS
FACE_DESCRIPTIONS = ("Frown", "Smile", "Wink")
JOBS = "/v0/batch/jobs"
JOB_ID = "0b7e2c1a-4f5d-4c3b-9a8e-1d2c3b4a5f60"
MD5 = "9e107d9d372bb6826bd81d3542a419d6"
T_CREATED = 1_712_587_158_717  # the docs fixture's times (reference §6)

# (METHOD, path template) -> (operationId, every status the operation declares)
OPERATIONS: dict[tuple[str, str], tuple[str, set[str]]] = {
    ("GET", JOBS): ("listJobs", {"200", "400", "401"}),
    ("POST", JOBS): ("startInferenceJob", {"200", "400", "401", "413", "415"}),
    ("GET", JOBS + "/{id}"): ("getJobDetails", {"200", "401", "404"}),
    ("GET", JOBS + "/{id}/predictions"): ("getJobPredictions", {"200", "400", "401", "404"}),
    ("GET", JOBS + "/{id}/artifacts"): ("getJobArtifacts", {"200", "400", "401", "404"}),
}
CONCRETE = {template: template.replace("{id}", JOB_ID) for _, template in OPERATIONS}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    return loaded


def deref(spec: dict[str, Any], node: Any) -> Any:
    """Follow local ``$ref``s (responses, parameters, schemas) to the node they name."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for token in node["$ref"].removeprefix("#/").split("/"):
            target = target[token.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def schema_name(node: Any) -> str:
    return str(node["$ref"]).rsplit("/", 1)[1]


# --- samples: what the emulation sends ----------------------------------------------------------


def scores(names: tuple[str, ...], base: float = 0.01) -> list[dict[str, Any]]:
    return [{"name": name, "score": round(base + i / 1000, 6)} for i, name in enumerate(names)]


def request_echo(**changes: Any) -> dict[str, Any]:
    """A request echo with every default filled in (all six models: no ``models`` was sent)."""
    echo: dict[str, Any] = {
        "models": {
            "face": {
                "fps_pred": 3.0,
                "prob_threshold": 0.99,
                "identify_faces": False,
                "min_face_size": 60,
                "facs": None,
                "descriptions": None,
                "save_faces": False,
            },
            "burst": {},
            "prosody": {"granularity": "utterance", "window": None, "identify_speakers": False},
            "language": {
                "granularity": "word",
                "sentiment": None,
                "toxicity": None,
                "identify_speakers": False,
            },
            "ner": {"identify_speakers": False},
            "facemesh": {},
        },
        "transcription": {
            "language": None,
            "identify_speakers": False,
            "confidence_threshold": 0.5,
        },
        "urls": ["https://example.com/a.mp4"],
        "text": ["hello"],
        "files": [],
        "callback_url": None,
        "notify": False,
    }
    echo.update(changes)
    return echo


STATES: dict[str, dict[str, Any]] = {
    "QUEUED": {"status": "QUEUED", "created_timestamp_ms": T_CREATED},
    "IN_PROGRESS": {
        "status": "IN_PROGRESS",
        "created_timestamp_ms": T_CREATED,
        "started_timestamp_ms": T_CREATED + 83,
    },
    "COMPLETED": {
        "status": "COMPLETED",
        "created_timestamp_ms": T_CREATED,
        "started_timestamp_ms": T_CREATED + 83,
        "ended_timestamp_ms": T_CREATED + 640,
        "num_predictions": 4,
        "num_errors": 1,
    },
    "FAILED": {
        "status": "FAILED",
        "created_timestamp_ms": T_CREATED,
        "started_timestamp_ms": T_CREATED,
        "ended_timestamp_ms": T_CREATED,
        "message": "the job could not be run",
    },
}


def job(status: str = "COMPLETED", **request_changes: Any) -> dict[str, Any]:
    return {
        "type": "INFERENCE",
        "job_id": JOB_ID,
        "request": request_echo(**request_changes),
        "state": copy.deepcopy(STATES[status]),
    }


def local_file_job() -> dict[str, Any]:
    """A multipart job: two uploads, one with no content type, only prosody and language."""
    return job(
        "COMPLETED",
        models={
            "prosody": {
                "granularity": "word",
                "window": {"length": 4.0, "step": 1.0},
                "identify_speakers": True,
            },
            "language": {
                "granularity": "sentence",
                "sentiment": {},
                "toxicity": {},
                "identify_speakers": False,
            },
        },
        transcription=None,
        urls=[],
        text=[],
        files=[
            {"filename": "a.wav", "content_type": "audio/wav", "md5sum": MD5},
            {"filename": "upload", "content_type": None, "md5sum": MD5},
        ],
        callback_url="http://127.0.0.1:9/hook",
        notify=True,
    )


def face_item() -> dict[str, Any]:
    return {
        "frame": 230,
        "time": 7.674,
        "prob": 0.9994,
        "box": {"x": 1187.9, "y": 1397.7, "w": 1401.7, "h": 1961.4},
        "emotions": scores(EXPRESSIONS),
        "facs": scores(FACS),
        "descriptions": scores(FACE_DESCRIPTIONS),
    }


def burst_item() -> dict[str, Any]:
    return {
        "time": {"begin": 1.2, "end": 1.9},
        "emotions": scores(EXPRESSIONS),
        "descriptions": scores(BURSTS),
    }


def prosody_item() -> dict[str, Any]:
    return {
        "text": "hello there",
        "time": {"begin": 0.0, "end": 1.25},
        "confidence": 0.93,
        "speaker_confidence": None,
        "emotions": scores(EXPRESSIONS),
    }


def language_item() -> dict[str, Any]:
    return {
        "text": "Paris",
        "position": {"begin": 14, "end": 19},
        "time": None,
        "confidence": None,
        "speaker_confidence": None,
        "emotions": scores(LANGUAGE_EMOTIONS),
        "sentiment": scores(SENTIMENT_LEVELS),
        "toxicity": scores(TOXICITY),
    }


def ner_item() -> dict[str, Any]:
    return {
        "entity": "Paris",
        "position": {"begin": 14, "end": 19},
        "entity_confidence": 0.98,
        "support": 12.5,
        "uri": "https://en.wikipedia.org/wiki/Paris",
        "link_word": "Paris",
        "time": {"begin": 0.4, "end": 0.9},
        "confidence": 0.91,
        "speaker_confidence": 0.8,
        "emotions": scores(LANGUAGE_EMOTIONS),
    }


def block(items: list[dict[str, Any]], group: str = "unknown", metadata: Any = None) -> Any:
    return {"metadata": metadata, "grouped_predictions": [{"id": group, "predictions": items}]}


def predictions() -> list[dict[str, Any]]:
    """One source of each type, every model's item, a per-file and a source-level error."""
    audio_metadata = {"confidence": 0.936, "detected_language": "en"}
    return [
        {
            "source": {"type": "url", "url": "https://example.com/clips.zip"},
            "results": {
                "predictions": [
                    {
                        "file": "clips/a.mp4",
                        "file_type": "video_with_audio",
                        "models": {
                            "face": block([face_item()], "face_0"),
                            "facemesh": block([{"emotions": scores(EXPRESSIONS)}], "face_0"),
                            "burst": block([burst_item()]),
                            "prosody": block([prosody_item()], "spk_0", audio_metadata),
                        },
                    },
                    {
                        "file": "clips/still.png",
                        "file_type": "image",
                        "models": {"face": block([{**face_item(), "time": 0, "frame": 0}])},
                    },
                ],
                "errors": [{"file": "clips/broken.mp4", "message": "media not parseable"}],
            },
        },
        {
            "source": {"type": "url", "url": "https://example.com/missing.mp4"},
            "error": "download failed: HTTP 404",
        },
        {
            "source": {
                "type": "file",
                "filename": "a.wav",
                "content_type": "audio/wav",
                "md5sum": MD5,
            },
            "results": {
                "predictions": [
                    {
                        "file": "a.wav",
                        "file_type": "audio",
                        "models": {
                            "prosody": block([prosody_item()], metadata=audio_metadata),
                            "language": block(
                                [{**language_item(), "time": {"begin": 0.4, "end": 0.9}}],
                                metadata={"confidence": 0.9, "detected_language": None},
                            ),
                            "ner": block([ner_item()], metadata=audio_metadata),
                        },
                    }
                ],
                "errors": [],
            },
        },
        {
            "source": {"type": "text"},
            "results": {
                "predictions": [
                    {
                        "file": "text",
                        "file_type": "text",
                        "models": {
                            "language": block([language_item()]),
                            "ner": block([{**ner_item(), "time": None, "confidence": None}]),
                        },
                    }
                ],
                "errors": [],
            },
        },
    ]


# The body the SDK recorded for start_inference_job (reference §4).
SDK_REQUEST: dict[str, Any] = {
    "models": {
        "face": {"fps_pred": 3.0, "identify_faces": True},
        "burst": {},
        "prosody": {"granularity": "utterance", "window": {"length": 4.0, "step": 1.0}},
        "language": {"granularity": "sentence", "sentiment": {}, "toxicity": {}},
    },
    "transcription": {"language": "en"},
    "urls": ["https://example.com/a.mp4"],
    "text": ["hello"],
    "callback_url": "http://cb.example/x",
    "notify": True,
}


# --- the document ------------------------------------------------------------------------------


def test_contract_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    validate(spec)
    assert spec["openapi"] == "3.1.0"
    assert spec["info"]["title"] == "Hume Expression Measurement Batch API (mockserver emulation)"
    assert spec["info"]["version"]
    assert spec["info"]["description"].strip()
    assert [s["url"] for s in spec["servers"]] == ["https://api.hume.ai"]


def test_api_key_header_is_required_everywhere(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes["apiKey"] == {
        **schemes["apiKey"],
        "type": "apiKey",
        "in": "header",
        "name": "X-Hume-Api-Key",
    }
    assert spec["security"][0] == {"apiKey": []}
    # the other alternatives are the query forms the wire decisions accept as well
    alternatives = [schemes[name] for entry in spec["security"][1:] for name in entry]
    assert {(s["in"], s["name"]) for s in alternatives} == {
        ("query", "apiKey"),
        ("query", "apikey"),
    }
    assert [op["operationId"] for _, _, op in iter_operations(spec) if "security" in op] == []


def test_operations_ids_and_declared_statuses(spec: dict[str, Any]) -> None:
    declared = {
        (method, template): (op.get("operationId"), set(map(str, op["responses"])))
        for method, template, op in iter_operations(spec)
    }
    assert declared == OPERATIONS
    for method, template, op in iter_operations(spec):
        assert op["summary"] and op["tags"] == ["batch"], (method, template)


def test_every_response_declares_a_schema(spec: dict[str, Any]) -> None:
    for method, template, op in iter_operations(spec):
        for status, raw in op["responses"].items():
            response = deref(spec, raw)
            assert response["description"].strip(), (method, template, status)
            assert response["content"], (method, template, status)
            for media, body in response["content"].items():
                assert "schema" in body, (method, template, status, media)


def test_error_statuses_use_the_error_schemas(spec: dict[str, Any]) -> None:
    for _, _, op in iter_operations(spec):
        for status, raw in op["responses"].items():
            if status == "200":
                continue
            schema = deref(spec, raw)["content"][JSON]["schema"]
            names = {schema_name(s) for s in schema.get("allOf", [schema]) if "$ref" in s}
            assert names == {"ApigeeFault" if status == "401" else "HumeMessageError"}, status
    # 405 cannot be attached to a method a path does not serve: it is a reusable response
    not_allowed = spec["components"]["responses"]["MethodNotAllowed"]
    assert schema_name(not_allowed["content"][JSON]["schema"]) == "HumeMessageError"


def test_start_job_takes_json_or_multipart(spec: dict[str, Any]) -> None:
    body = find_operation(spec, "POST", JOBS).spec["requestBody"]
    assert body["required"] is True
    assert set(body["content"]) == {JSON, "multipart/form-data"}
    assert schema_name(body["content"][JSON]["schema"]) == "InferenceBaseRequest"
    multipart = body["content"]["multipart/form-data"]
    parts = multipart["schema"]["properties"]
    assert parts["file"]["type"] == "array"
    assert parts["file"]["items"] == {
        "type": "string",
        "format": "binary",
        "contentMediaType": "application/octet-stream",
    }
    assert parts["json"]["type"] == "string"
    json_types = {t.strip() for t in multipart["encoding"]["json"]["contentType"].split(",")}
    assert json_types == {JSON, "text/plain", "application/octet-stream"}


def test_list_jobs_parameters(spec: dict[str, Any]) -> None:
    params = {p["name"]: p for p in find_operation(spec, "GET", JOBS).spec["parameters"]}
    assert set(params) == {"limit", "status", "when", "timestamp_ms", "sort_by", "direction"}
    assert all(p["in"] == "query" and not p.get("required") for p in params.values())
    status = params["status"]
    assert (status["style"], status["explode"], status["schema"]["type"]) == ("form", True, "array")
    assert deref(spec, status["schema"]["items"])["enum"] == list(STATES)
    assert params["limit"]["schema"] == {"type": "integer", "minimum": 0, "default": 50}
    assert params["sort_by"]["schema"]["default"] == "created"
    assert params["direction"]["schema"]["default"] == "desc"


def test_list_jobs_query_values(spec: dict[str, Any]) -> None:
    query: dict[str, Any] = {
        "limit": "5",
        "status": ["QUEUED", "COMPLETED"],  # repeated keys, as the SDK sends a list
        "when": "created_after",
        "timestamp_ms": "1",
        "sort_by": "started",
        "direction": "asc",
    }
    validate_request(spec, "GET", JOBS, query=query)
    validate_request(spec, "GET", JOBS, query={"status": "FAILED", "limit": 0})
    validate_request(spec, "GET", JOBS)
    for bad in (
        {"limit": "-1"},
        {"limit": "many"},
        {"status": "CANCELLED"},
        {"status": ["QUEUED", "queued"]},
        {"when": "yesterday"},
        {"timestamp_ms": "1.5"},
        {"sort_by": "name"},
        {"direction": "up"},
    ):
        with pytest.raises(AssertionError):
            validate_request(spec, "GET", JOBS, query=bad)


def test_job_id_path_parameter_is_any_string(spec: dict[str, Any]) -> None:
    for method, template in OPERATIONS:
        if "{id}" not in template:
            continue
        op = find_operation(spec, method, template.replace("{id}", "err404"))
        assert op.path_params == {"id": "err404"}
        [param] = [deref(spec, p) for p in spec["paths"][template]["parameters"]]
        assert (param["in"], param["required"], param["schema"]) == (
            "path",
            True,
            {"type": "string"},
        )
        validate_request(spec, method, template.replace("{id}", "not-a-uuid"))


# --- responses that must validate --------------------------------------------------------------


@pytest.mark.parametrize("status", list(STATES))
def test_a_job_in_each_state_validates(spec: dict[str, Any], status: str) -> None:
    validate_response(spec, "GET", f"{JOBS}/{JOB_ID}", 200, JSON, job(status))


def test_job_lists_validate(spec: dict[str, Any]) -> None:
    jobs = [job(status) for status in STATES] + [local_file_job()]
    validate_response(spec, "GET", JOBS, 200, JSON, jobs)
    validate_response(spec, "GET", JOBS, 200, JSON, [])


def test_a_job_the_sdk_tolerates_validates(spec: dict[str, Any]) -> None:
    # only some models, null configs, a null transcription, extra fields anywhere (§12.4)
    tolerated = job("COMPLETED", models={"burst": {}, "ner": {"identify_speakers": False}})
    tolerated["user_id"] = "someone"
    tolerated["request"]["transcription"] = None
    tolerated["request"]["registry_files"] = []
    validate_response(spec, "GET", f"{JOBS}/{JOB_ID}", 200, JSON, tolerated)
    validate_response(spec, "GET", f"{JOBS}/{JOB_ID}", 200, JSON, local_file_job())


def test_predictions_validate(spec: dict[str, Any]) -> None:
    path = f"{JOBS}/{JOB_ID}/predictions"
    validate_response(spec, "GET", path, 200, JSON, predictions())
    validate_response(spec, "GET", path, 200, JSON, [])
    # not requested: facs, descriptions, sentiment and toxicity are null (or absent)
    sparse = predictions()
    face = sparse[0]["results"]["predictions"][0]["models"]["face"]
    face["grouped_predictions"][0]["predictions"][0].update(facs=None, descriptions=None)
    text_language = sparse[3]["results"]["predictions"][0]["models"]["language"]
    item = text_language["grouped_predictions"][0]["predictions"][0]
    item.update(sentiment=None)
    del item["toxicity"]
    validate_response(spec, "GET", path, 200, JSON, sparse)


def test_label_lists_match_the_contract(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert schemas["Emotions48"]["minItems"] == schemas["Emotions48"]["maxItems"] == 48
    assert schemas["Emotions53"]["minItems"] == schemas["Emotions53"]["maxItems"] == 53
    burst = schemas["BurstPrediction"]["properties"]["descriptions"]
    assert burst["minItems"] == burst["maxItems"] == len(BURSTS) == 67
    language = schemas["LanguagePrediction"]["properties"]
    assert language["sentiment"]["minItems"] == language["sentiment"]["maxItems"] == 9
    assert language["toxicity"]["minItems"] == language["toxicity"]["maxItems"] == 6
    assert schemas["SentimentScore"]["properties"]["name"]["enum"] == list(SENTIMENT_LEVELS)
    assert schemas["ToxicityScore"]["properties"]["name"]["enum"] == list(TOXICITY)
    assert (len(EXPRESSIONS), len(LANGUAGE_EMOTIONS)) == (48, 53)


def test_start_answer_validates(spec: dict[str, Any]) -> None:
    validate_response(spec, "POST", JOBS, 200, JSON, {"job_id": JOB_ID})
    for bad in ({}, {"job_id": "not-a-uuid"}):
        with pytest.raises(AssertionError):
            validate_response(spec, "POST", JOBS, 200, JSON, bad)


def test_artifacts_are_zip_bytes(spec: dict[str, Any]) -> None:
    path = f"{JOBS}/{JOB_ID}/artifacts"
    validate_response(spec, "GET", path, 200, "application/octet-stream", "PK\x03\x04")
    with pytest.raises(AssertionError, match="not declared"):
        validate_response(spec, "GET", path, 200, "application/zip", "PK\x03\x04")


MISSING_KEY = {
    "fault": {
        "faultstring": "Failed to resolve API Key variable request.header.X-Hume-Api-Key",
        "detail": {"errorcode": "steps.oauth.v2.FailedToResolveAPIKey"},
    }
}
INVALID_KEY = {
    "fault": {"faultstring": "Invalid ApiKey", "detail": {"errorcode": "oauth.v2.InvalidApiKey"}}
}


def test_error_bodies_validate(spec: dict[str, Any]) -> None:
    for method, template in OPERATIONS:
        path = CONCRETE[template]
        for fault in (MISSING_KEY, INVALID_KEY):
            validate_response(spec, method, path, 401, JSON, fault)
        if "{id}" in template:
            validate_response(spec, method, path, 404, JSON, {"message": "job not found"})
            with pytest.raises(AssertionError):
                validate_response(spec, method, path, 404, JSON, {"message": "nope"})
    violations = {
        "message": "invalid request",
        "violations": [
            {"pointer": "/models/voice", "rule": "additionalProperties", "message": "unknown"},
        ],
    }
    validate_response(spec, "POST", JOBS, 400, JSON, violations)
    validate_response(spec, "POST", JOBS, 400, JSON, {"message": "no input"})
    validate_response(spec, "POST", JOBS, 413, JSON, {"message": "file too large"})
    validate_response(spec, "POST", JOBS, 415, JSON, {"message": "unsupported content type"})
    validate_response(spec, "GET", JOBS, 400, JSON, {"message": "bad limit"})
    validate_response(spec, "GET", f"{JOBS}/{JOB_ID}/predictions", 400, JSON, {"message": "x"})
    for bad in (
        {},
        {"message": 3},
        {"message": "x", "violations": [{"pointer": "/urls"}]},
    ):
        with pytest.raises(AssertionError):
            validate_response(spec, "POST", JOBS, 400, JSON, bad)
    for bad_fault in ({"fault": {"faultstring": "Invalid ApiKey"}}, {"message": "no key"}):
        with pytest.raises(AssertionError):
            validate_response(spec, "GET", JOBS, 401, JSON, bad_fault)
    with pytest.raises(AssertionError, match="status not declared"):
        validate_response(spec, "GET", f"{JOBS}/{JOB_ID}", 400, JSON, {"message": "x"})


# --- responses that must be rejected (the SDK's parse rules, reference §12.4) ------------------

BROKEN_JOBS: list[tuple[str, str, Any]] = [
    ("missing request.files", "/request/files", DROP),
    ("files item without md5sum", "/request/files", [{"filename": "a.wav", "content_type": None}]),
    ("unknown status CANCELLED", "/state/status", "CANCELLED"),
    ("non-integer timestamp", "/state/ended_timestamp_ms", T_CREATED + 0.5),
    ("timestamp as a string", "/state/created_timestamp_ms", str(T_CREATED)),
    ("negative timestamp", "/state/created_timestamp_ms", -1),
    ("missing type", "/type", DROP),
    ("missing job_id", "/job_id", DROP),
    ("missing request", "/request", DROP),
    ("missing state", "/state", DROP),
    ("COMPLETED without num_errors", "/state/num_errors", DROP),
    ("COMPLETED without ended_timestamp_ms", "/state/ended_timestamp_ms", DROP),
    ("unknown model in the echo", "/request/models/voice", {}),
]
BROKEN_FAILED_JOBS: list[tuple[str, str, Any]] = [
    ("FAILED without started_timestamp_ms", "/state/started_timestamp_ms", DROP),
    ("FAILED without message", "/state/message", DROP),
]

FILE_SOURCE = "/2"
TEXT_SOURCE = "/3"
ITEM = "/grouped_predictions/0/predictions/0"
FACE_BLOCK = "/0/results/predictions/0/models/face"
NER_BLOCK = f"{FILE_SOURCE}/results/predictions/0/models/ner"
FACE = FACE_BLOCK + ITEM
BURST = "/0/results/predictions/0/models/burst" + ITEM
PROSODY = "/0/results/predictions/0/models/prosody" + ITEM
LANGUAGE = f"{TEXT_SOURCE}/results/predictions/0/models/language" + ITEM
NER = NER_BLOCK + ITEM
BROKEN_PREDICTIONS: list[tuple[str, str, Any]] = [
    ("face time null", f"{FACE}/time", None),
    ("face time an interval", f"{FACE}/time", {"begin": 0.0, "end": 1.0}),
    ("face without frame", f"{FACE}/frame", DROP),
    ("face without box", f"{FACE}/box", DROP),
    ("face box null", f"{FACE}/box", None),
    ("face with 47 emotions", f"{FACE}/emotions", scores(EXPRESSIONS[:47])),
    ("burst without descriptions", f"{BURST}/descriptions", DROP),
    ("burst without time", f"{BURST}/time", DROP),
    ("prosody without time", f"{PROSODY}/time", DROP),
    ("prosody with 53 emotions", f"{PROSODY}/emotions", scores(LANGUAGE_EMOTIONS)),
    ("language without position", f"{LANGUAGE}/position", DROP),
    ("language position not integer", f"{LANGUAGE}/position", {"begin": 0.5, "end": 2}),
    ("language with 48 emotions", f"{LANGUAGE}/emotions", scores(EXPRESSIONS)),
    ("language with 8 sentiment levels", f"{LANGUAGE}/sentiment", scores(SENTIMENT_LEVELS[:8])),
    ("ner without uri", f"{NER}/uri", DROP),
    ("ner without entity_confidence", f"{NER}/entity_confidence", DROP),
    ("score without name", f"{NER}/emotions/0", {"score": 0.5}),
    ("metadata without confidence", f"{NER_BLOCK}/metadata", {"detected_language": "en"}),
    ("results without errors", "/0/results/errors", DROP),
    ("results without predictions", "/0/results/predictions", DROP),
    ("error item without file", "/0/results/errors/0", {"message": "media not parseable"}),
    ("prediction without models", "/0/results/predictions/0/models", DROP),
    ("model block without grouped_predictions", f"{FACE_BLOCK}/grouped_predictions", DROP),
    ("unknown model in a prediction", "/0/results/predictions/0/models/voice", block([])),
    ("unknown file_type", "/0/results/predictions/0/file_type", "hologram"),
    ("source type other than url/file/text", "/0/source/type", "s3"),
    ("file source without md5sum", f"{FILE_SOURCE}/source/md5sum", DROP),
    ("url source without url", "/0/source/url", DROP),
    ("source missing", "/1/source", DROP),
    ("neither results nor error", "/1/error", DROP),
    ("both results and error", f"{FILE_SOURCE}/error", "also failed"),
    ("group id outside the scheme", f"{FACE_BLOCK}/grouped_predictions/0/id", "person-1"),
]


def rejected_near(pointer: str, check: Callable[[], None]) -> None:
    """``check()`` fails with a violation on the path of ``pointer``: at it, above or inside."""
    with pytest.raises(AssertionError) as failure:
        check()
    located = [
        line.strip().split(":", 1)[0]
        for line in str(failure.value).splitlines()[1:]
        if line.startswith("  /") or line.startswith("  body:")
    ]
    assert any(
        where == "body" or f"{pointer}/".startswith(f"{where}/") or where.startswith(f"{pointer}/")
        for where in located
    ), (pointer, str(failure.value))


def case_ids(cases: list[tuple[str, str, Any]]) -> list[str]:
    return [name for name, _, _ in cases]


def resolve(doc: Any, pointer: str) -> Any:
    node = doc
    for token in pointer.strip("/").split("/"):
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


ADDED = {"/request/models/voice", "/0/results/predictions/0/models/voice", f"{FILE_SOURCE}/error"}


def test_broken_cases_edit_existing_nodes() -> None:
    """Each edit replaces or removes a node that exists, so a rejection is not a typo's effect."""
    samples: list[tuple[Any, list[tuple[str, str, Any]]]] = [
        (good_job(), BROKEN_JOBS),
        (job("FAILED"), BROKEN_FAILED_JOBS),
        (predictions(), BROKEN_PREDICTIONS),
    ]
    for sample, cases in samples:
        for name, pointer, _ in cases:
            if pointer in ADDED:
                with pytest.raises(KeyError):
                    resolve(sample, pointer)
            else:
                resolve(sample, pointer)  # KeyError / IndexError: the case names nothing
            assert name


def good_job() -> dict[str, Any]:
    return job("COMPLETED", files=[{"filename": "a.wav", "content_type": None, "md5sum": MD5}])


@pytest.mark.parametrize(("name", "pointer", "value"), BROKEN_JOBS, ids=case_ids(BROKEN_JOBS))
def test_broken_jobs_are_rejected(
    spec: dict[str, Any], name: str, pointer: str, value: Any
) -> None:
    good = good_job()
    path = f"{JOBS}/{JOB_ID}"
    validate_response(spec, "GET", path, 200, JSON, good)
    bad = edit(good, pointer, value)
    rejected_near(pointer, lambda: validate_response(spec, "GET", path, 200, JSON, bad))
    with pytest.raises(AssertionError):
        validate_response(spec, "GET", JOBS, 200, JSON, [job(), bad])


@pytest.mark.parametrize(
    ("name", "pointer", "value"), BROKEN_FAILED_JOBS, ids=case_ids(BROKEN_FAILED_JOBS)
)
def test_broken_failed_jobs_are_rejected(
    spec: dict[str, Any], name: str, pointer: str, value: Any
) -> None:
    path = f"{JOBS}/{JOB_ID}"
    bad = edit(job("FAILED"), pointer, value)
    rejected_near(pointer, lambda: validate_response(spec, "GET", path, 200, JSON, bad))


@pytest.mark.parametrize(
    ("name", "pointer", "value"), BROKEN_PREDICTIONS, ids=case_ids(BROKEN_PREDICTIONS)
)
def test_broken_predictions_are_rejected(
    spec: dict[str, Any], name: str, pointer: str, value: Any
) -> None:
    path = f"{JOBS}/{JOB_ID}/predictions"
    bad = edit(predictions(), pointer, value)
    rejected_near(pointer, lambda: validate_response(spec, "GET", path, 200, JSON, bad))


# --- requests ------------------------------------------------------------------------------------


def test_good_start_bodies_validate(spec: dict[str, Any]) -> None:
    validate_request(spec, "POST", JOBS, body=SDK_REQUEST)
    validate_request(spec, "POST", JOBS, body={"text": ["hi"]})
    validate_request(spec, "POST", JOBS, body={"urls": ["data:text/plain;base64,aGk="] * 100})
    everything_null = dict.fromkeys(
        ("models", "transcription", "urls", "text", "callback_url", "notify")
    )
    validate_request(spec, "POST", JOBS, body={**everything_null, "text": ["hi"]})
    null_configs = {
        "face": {
            "fps_pred": 0,
            "prob_threshold": None,
            "identify_faces": None,
            "min_face_size": None,
            "facs": None,
            "descriptions": {},
            "save_faces": True,
        },
        "prosody": {"granularity": None, "window": None, "identify_speakers": None},
        "language": {"granularity": "conversational_turn", "sentiment": None, "toxicity": None},
        "ner": None,
        "burst": {"ignored": 1},
        "facemesh": None,
    }
    transcription = {"language": "xx-unknown", "identify_speakers": None, "confidence_threshold": 1}
    body = {"models": null_configs, "transcription": transcription, "text": ["hi"], "extra": 1}
    validate_request(spec, "POST", JOBS, body=body)


# (case, body, the JSON pointer the violation must name)
BAD_REQUESTS: list[tuple[str, dict[str, Any], str]] = [
    ("unknown model voice", {"models": {"voice": {}}}, "/models"),
    ("101 urls", {"urls": [f"https://example.com/{i}.mp4" for i in range(101)]}, "/urls"),
    ("ftp url", {"urls": ["ftp://example.com/a.mp4"]}, "/urls/0"),
    ("url not a string", {"urls": [3]}, "/urls/0"),
    ("callback_url not http", {"callback_url": "mailto:me@example.com"}, "/callback_url"),
    (
        "prob_threshold above 1",
        {"models": {"face": {"prob_threshold": 1.5}}},
        "/models/face/prob_threshold",
    ),
    ("negative fps_pred", {"models": {"face": {"fps_pred": -1}}}, "/models/face/fps_pred"),
    ("facs not an object", {"models": {"face": {"facs": True}}}, "/models/face/facs"),
    (
        "unknown granularity",
        {"models": {"prosody": {"granularity": "paragraph"}}},
        "/models/prosody/granularity",
    ),
    (
        "window shorter than 0.5 s",
        {"models": {"prosody": {"window": {"length": 0.1}}}},
        "/models/prosody/window/length",
    ),
    ("language config a list", {"models": {"language": []}}, "/models/language"),
    (
        "confidence_threshold above 1",
        {"transcription": {"confidence_threshold": 2}},
        "/transcription/confidence_threshold",
    ),
    ("text not a list", {"text": "hello"}, "/text"),
    ("notify not a bool", {"notify": "yes"}, "/notify"),
    ("models not an object", {"models": ["face"]}, "/models"),
]


@pytest.mark.parametrize(
    ("name", "body", "pointer"), BAD_REQUESTS, ids=[c[0] for c in BAD_REQUESTS]
)
def test_bad_start_bodies_are_rejected_where_they_are_wrong(
    spec: dict[str, Any], name: str, body: dict[str, Any], pointer: str
) -> None:
    """The violation names the offending value: the server answers 400 with these pointers."""
    with pytest.raises(AssertionError, match=re.escape(f"\n  {pointer}: ")):
        validate_request(spec, "POST", JOBS, body=body)


def test_multipart_parts(spec: dict[str, Any]) -> None:
    """The multipart body as the server checks it: part counts and the ``json`` document."""
    validator = ContractValidator(spec)

    def check(parts: dict[str, list[Any]]) -> list[str]:
        violations = validator.validate_request(
            "POST", JOBS, content_type="multipart/form-data; boundary=x", parts=parts
        )
        return [f"{v.pointer} {v.rule}" for v in violations]

    assert check({"file": [b"a", b"b"]}) == []
    assert check({"file": [b"a"], "json": [SDK_REQUEST]}) == []
    assert check({"file": [b"a"], "json": [None]}) == []  # the SDK's literal null
    assert check({"file": [b"a"], "json": [""]}) == []  # an empty part, still text
    assert check({"file": [b"a"] * 101}) == ["/file maxItems"]
    assert check({"file": [b"a"], "json": [{"models": {"voice": {}}}]}) == [
        "/json/models additionalProperties"
    ]
    assert check({"json": [{"urls": ["https://example.com/a.mp4"] * 101}]}) == [
        "/json/urls maxItems"
    ]
    schema = "#/components/schemas/InferenceBaseRequest"
    assert validator.validate_schema(schema, SDK_REQUEST) == []
    assert validator.validate_schema(schema, None) == []
