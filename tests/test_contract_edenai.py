"""The Eden AI contract, checked on its own: ``contracts/edenai.yaml`` (OpenAPI 3.1).

The document must be valid and declare, for every subfeature of ``catalog.SUBFEATURES``,
launch / list / delete-all / get with and without the trailing slash (and the batch trio for
``BATCH_SUBFEATURES`` only), with every status the face answers. The launch schemas must name
exactly the catalog's fields; hand-written results in each subfeature's shape (after the spec's
dataclasses) must validate, and near misses must be rejected where they are wrong. No server
is started: ``test_eden_schemathesis.py`` holds the server to this contract.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from mockserver.providers.edenai.catalog import BATCH_SUBFEATURES, SUBFEATURES
from mockserver.validation import ContractValidator
from tests.contract_check import DROP, edit, find_operation, iter_operations, validate_response

CONTRACT = Path(__file__).resolve().parents[1] / "contracts" / "edenai.yaml"
JSON = "application/json"
PUBLIC_ID = "9421ae03-6180-4aef-82ce-19b2c33e9397"
FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")

LAUNCH = {"200", "400", "403", "413"}
LIST = {"200", "403"}
DELETE = {"204", "403"}
GET = {"200", "400", "403", "404"}
BATCH = {"POST": {"200", "400", "403", "404", "413"}, "GET": GET, "DELETE": {"204", "403", "404"}}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def validator(spec: dict[str, Any]) -> ContractValidator:
    return ContractValidator(spec)


def deref(document: dict[str, Any], node: Any) -> Any:
    """Follow local ``$ref``s to the node they name."""
    while isinstance(node, dict) and "$ref" in node:
        node = _resolve(document, node["$ref"].split("#", 1)[1])
    return node


def _resolve(document: Any, pointer: str) -> Any:
    node = document
    for token in pointer.strip("/").split("/"):
        node = node[token.replace("~1", "/").replace("~0", "~")]
    return node


# --- the document -------------------------------------------------------------------------------


def test_contract_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    validate(spec)
    assert spec["openapi"] == "3.1.0"
    assert spec["info"]["title"].startswith("Eden AI v2")
    assert [s["url"] for s in spec["servers"]] == ["https://api.edenai.run/v2"]


def test_bearer_auth_everywhere(spec: dict[str, Any]) -> None:
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert spec["security"] == [{"bearerAuth": []}]
    assert all("security" not in op for _, _, op in iter_operations(spec))


def expected_operations() -> dict[tuple[str, str], set[str]]:
    out: dict[tuple[str, str], set[str]] = {}
    for path, sub in SUBFEATURES.items():
        for slash in ("/", ""):
            base = f"/{path}{slash}"
            out |= {("POST", base): LAUNCH, ("GET", base): LIST, ("DELETE", base): DELETE}
            out["GET", f"/{path}/{{public_id}}{slash}"] = GET
            if sub.path in BATCH_SUBFEATURES:
                out |= {(m, f"/{path}/batch/{{name}}{slash}"): s for m, s in BATCH.items()}
    return out


def test_every_subfeature_has_its_operations_and_statuses(spec: dict[str, Any]) -> None:
    declared = {
        (method, template): set(map(str, op["responses"]))
        for method, template, op in iter_operations(spec)
    }
    assert declared == expected_operations()
    ids = [op["operationId"] for _, _, op in iter_operations(spec)]
    assert len(ids) == len(set(ids)) == len(declared)


def test_no_slash_twins_are_the_same_operation(spec: dict[str, Any]) -> None:
    """The second form is the first with only its operationId changed (YAML merge keys)."""
    paths = spec["paths"]
    for template, item in paths.items():
        if template.endswith("/"):
            continue
        canonical = paths[template + "/"]
        assert item.get("parameters") == canonical.get("parameters"), template
        for method, op in item.items():
            if method == "parameters":
                continue
            twin = dict(canonical[method])
            assert op["operationId"] == twin["operationId"] + "NoSlash"
            assert {**op, "operationId": twin["operationId"]} == twin, (template, method)


@pytest.mark.parametrize("slash", ["/", ""], ids=["slash", "no-slash"])
def test_concrete_paths_find_their_operation(spec: dict[str, Any], slash: str) -> None:
    """Template parameters match ``[^/]+`` and a template only its own slash form, so both
    forms are declared; ``/v2`` (the server's path) is stripped."""
    for path in SUBFEATURES:
        name = "".join(w.title() for w in path.split("/")[1].split("_"))
        suffix = "" if slash else "NoSlash"
        for method, concrete, op_id in (
            ("POST", f"/v2/{path}{slash}", f"launch{name}"),
            ("GET", f"/{path}{slash}", f"list{name}Jobs"),
            ("GET", f"/v2/{path}/{PUBLIC_ID}{slash}", f"get{name}Job"),
        ):
            found = find_operation(spec, method, concrete)
            assert found.id == op_id + suffix, (concrete, found.id)
        batch = f"/{path}/batch/nightly{slash}"
        if path in BATCH_SUBFEATURES:
            assert find_operation(spec, "POST", batch).path_params == {"name": "nightly"}
        else:
            # no batch here: the path is a (non-uuid) job id under get, which is a 404
            with pytest.raises(AssertionError):
                find_operation(spec, "POST", batch)


def test_x_subfeatures_name_every_catalog_subfeature(spec: dict[str, Any]) -> None:
    table = spec["x-subfeatures"]
    assert list(table) == list(SUBFEATURES)
    for path, refs in table.items():
        assert set(refs) - {"batch"} == {"launch", "job", "result", "fields"}, path
        assert refs.get("batch", False) == (path in BATCH_SUBFEATURES)
        for key in ("launch", "job", "result", "fields"):
            assert _resolve(spec, refs[key].removeprefix("#")), (path, key)


# --- launch bodies -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", list(SUBFEATURES))
def test_launch_schemas_name_exactly_the_catalog_fields(spec: dict[str, Any], path: str) -> None:
    sub = SUBFEATURES[path]
    body = _resolve(spec, spec["x-subfeatures"][path]["launch"].removeprefix("#"))
    content = body["content"]
    assert set(content) == {*FORMS, JSON}
    names = {p.name for p in sub.all_params()}
    required = {p.name for p in sub.all_params() if p.required}
    for media, entry in content.items():
        schema = deref(spec, entry["schema"])
        fields = set(schema["properties"]) - {"file"}
        assert fields == names, (path, media, fields ^ names)
        extra = {"file_url"} if media == JSON and sub.input == "file" else set()
        assert set(schema["required"]) == required | extra, (path, media)
        assert schema.get("additionalProperties", True) is not False  # extras are ignored
        has_file = "file" in schema["properties"]
        assert has_file == (media == "multipart/form-data" and sub.input != "text"), (path, media)


GOOD_JSON_LAUNCHES: list[dict[str, Any]] = [
    {"providers": "amazon", "file_url": "https://example.com/two_voices.wav"},
    {"providers": ["amazon", "google/latest"], "file_url": "http://host/a.wav", "speakers": "3"},
    {"providers": "['amazon']", "file_url": "data:audio/wav;base64,UklGRg==", "language": None},
    {
        "providers": "amazon,google",
        "file_url": " https://example.com/a.wav ",
        "show_original_response": "True",
        "send_webhook_data": 0,
        "webhook_receiver": "https://hooks.example.com/eden",
        "users_webhook_parameters": {"id": 7},
        "settings": {"google": "latest_long"},
        "response_as_dict": True,
        "attributes_as_list": "false",
        "speakers": 20,
        "profanity_filter": "yes",
        "custom_vocabulary": "Eden, Paris",
    },
]
BAD_JSON_LAUNCHES: list[tuple[str, dict[str, Any], str]] = [
    ("no providers", {"file_url": "https://e.com/a.wav"}, "body"),
    ("providers blank", {"providers": " , ", "file_url": "https://e.com/a.wav"}, "/providers"),
    ("providers empty list", {"providers": [], "file_url": "https://e.com/a.wav"}, "/providers"),
    ("no file_url", {"providers": "amazon"}, "body"),
    ("file in JSON", {"providers": "amazon", "file_url": "https://e.com/a", "file": "x"}, "body"),
    ("file_url not a URL", {"providers": "amazon", "file_url": "two_voices.wav"}, "/file_url"),
    ("speakers too many", {"providers": "a", "file_url": "https://e.com/a", "speakers": 21}, ""),
    ("speakers text", {"providers": "a", "file_url": "https://e.com/a", "speakers": "two"}, ""),
    ("bool spelled", {"providers": "a", "file_url": "https://e.com/a", "convert_to_wav": "si"}, ""),
    ("settings a list", {"providers": "a", "file_url": "https://e.com/a", "settings": []}, ""),
    ("language a bool", {"providers": "a", "file_url": "https://e.com/a", "language": True}, ""),
    (
        "six fallbacks",
        {"providers": "a", "file_url": "https://e.com/a", "fallback_providers": ["x"] * 6},
        "",
    ),
]


@pytest.mark.parametrize("body", GOOD_JSON_LAUNCHES)
def test_good_json_launches_validate(validator: ContractValidator, body: dict[str, Any]) -> None:
    for path in ("/v2/audio/speech_to_text_async/", "/v2/audio/speech_to_text_async"):
        found = validator.validate_request("POST", path, content_type=JSON, body=body)
        assert found == [], found


@pytest.mark.parametrize(
    ("name", "body", "pointer"), BAD_JSON_LAUNCHES, ids=[c[0] for c in BAD_JSON_LAUNCHES]
)
def test_bad_json_launches_are_rejected(
    validator: ContractValidator, name: str, body: dict[str, Any], pointer: str
) -> None:
    found = validator.validate_request(
        "POST", "/v2/audio/speech_to_text_async/", content_type=JSON, body=body
    )
    assert found, name
    if pointer:
        assert pointer in {v.pointer or "body" for v in found}, (name, found)


def test_form_launches_are_text(validator: ContractValidator) -> None:
    """Form values are strings: DRF spellings pass, others are refused where they are."""
    path = "/v2/audio/speech_to_text_async/"
    good = {
        "providers": ["amazon"],
        "language": ["en"],
        "speakers": ["2"],
        "profanity_filter": ["false"],
        "webhook_receiver": ["http://my-webhook-receiver-enpoint.com/"],
        "file": [b"RIFF...."],
        "convert_to_wav": [""],  # blank: the default
    }
    assert validator.validate_request("POST", path, content_type=FORMS[0], parts=good) == []
    for field, value in (("speakers", "2.5"), ("profanity_filter", "maybe"), ("file_url", "x")):
        bad = {**good, field: [value]}
        found = validator.validate_request("POST", path, content_type=FORMS[0], parts=bad)
        assert [v.pointer for v in found] == [f"/{field}"], (field, found)
    found = validator.validate_request("POST", path, content_type=FORMS[0], parts={"file": [b""]})
    assert [v.rule for v in found] == ["required"]
    tts = "/v2/audio/text_to_speech_async"
    found = validator.validate_request(
        "POST", tts, content_type=FORMS[1], parts={"providers": ["amazon"], "text": [" "]}
    )
    assert [v.pointer for v in found] == ["/text"]


def test_query_booleans_take_drf_spellings(validator: ContractValidator) -> None:
    path = f"/v2/ocr/ocr_async/{PUBLIC_ID}/"
    for good in ("true", "False", "1", "0", "yes", " on "):
        query = {"response_as_dict": [good], "show_base_64": [good]}
        assert validator.validate_request("GET", path, query=query) == [], good
    for bad in ("", "maybe", "2"):
        assert validator.validate_request("GET", path, query={"show_base_64": [bad]}), bad


# --- results ----------------------------------------------------------------------------------

BOX = {"left": 0.1, "top": 0.2, "width": 0.3, "height": 0.05}
VBOX = {"top": 0.1, "left": 0.2, "height": 0.3, "width": 0.25}
WORD = {"text": "Invoice", "bounding_box": BOX, "confidence": 0.98}
LINE = {"text": "Invoice 42", "words": [WORD], "bounding_box": BOX, "confidence": 0.97}
CELL = {
    "text": "Total",
    "row_index": 0,
    "col_index": 0,
    "row_span": 1,
    "col_span": 1,
    "confidence": 0.9,
    "bounding_box": BOX,
    "is_header": True,
}
POSE = {"pitch": 1.5, "roll": -2.0, "yawn": 0.3}
FACE_ATTRS = {
    "headwear": 0.01,
    "frontal_gaze": 0.9,
    "eyes_visible": 0.95,
    "glasses": 0.02,
    "mouth_open": 0.1,
    "smiling": 0.8,
    "brightness": 0.6,
    "sharpness": 0.7,
    "pose": POSE,
}
PERSON = {
    "offset": 1.0,
    "attributes": {"upper_cloths": [{"value": "Red", "confidence": 0.7}], "lower_cloths": []},
    "landmarks": {"nose": [0.5, 0.3], "eye_left": []},
    "poses": {"pitch": 0.0, "roll": 0.0, "yaw": 12.0},
    "quality": {"brightness": 0.5, "sharpness": 0.6},
    "bounding_box": VBOX,
}

#: Per subfeature: the fields a succeeded provider adds (the spec's first provider dataclass).
FIELDS: dict[str, dict[str, Any]] = {
    "audio/speech_to_text_async": {
        "text": "Hello, how are you? Fine, thanks.",
        "diarization": {
            "total_speakers": 2,
            "entries": [
                {
                    "segment": "Hello, how are you?",
                    "start_time": "0.0",
                    "end_time": "1.42",
                    "speaker": 1,
                    "confidence": 0.93,
                },
                {
                    "segment": "Fine, thanks.",
                    "start_time": "1.6",
                    "end_time": "2.5",
                    "speaker": 2,
                    "confidence": None,
                },
            ],
            "error_message": None,
        },
    },
    "audio/text_to_speech_async": {
        "audio": "SUQzBAAAAAAA",
        "voice_type": 1,
        "audio_resource_url": "http://localhost/_mock/edenai/resources/x/amazon-audio.mp3",
    },
    "ocr/ocr_async": {"raw_text": "Invoice 42", "pages": [{"lines": [LINE]}], "number_of_pages": 1},
    "ocr/ocr_tables_async": {
        "pages": [{"tables": [{"rows": [{"cells": [CELL]}], "num_rows": 1, "num_cols": 1}]}],
        "num_pages": 1,
    },
    "ocr/anonymization_async": {
        "document": "JVBERi0xLjQ=",
        "document_url": "http://localhost/_mock/edenai/resources/x/privateai-document.pdf",
    },
    "ocr/custom_document_parsing_async": {
        "items": [
            {
                "confidence": 99.0,
                "value": "128.50",
                "query": "What is the total?",
                "bounding_box": BOX,
                "page": 1,
            }
        ]
    },
    "video/label_detection_async": {
        "labels": [
            {
                "name": "Person",
                "confidence": 0.97,
                "timestamp": [{"start": 0.0, "end": 2.5}, {"start": 3.0, "end": None}],
                "category": ["People"],
                "bounding_box": [VBOX],
            }
        ]
    },
    "video/face_detection_async": {
        "faces": [
            {
                "offset": 0.5,
                "bounding_box": VBOX,
                "attributes": FACE_ATTRS,
                "landmarks": {"eye_left": [0.3, 0.3], "nose": []},
            }
        ]
    },
    "video/text_detection_async": {
        "texts": [
            {
                "text": "EXIT",
                "frames": [{"confidence": 0.9, "timestamp": 1.0, "bounding_box": VBOX}],
            }
        ]
    },
    "video/object_tracking_async": {
        "objects": [
            {
                "description": "ball",
                "confidence": 0.8,
                "frames": [{"timestamp": 0.2, "bounding_box": VBOX}],
            }
        ]
    },
    "video/person_tracking_async": {"persons": [{"tracked": [PERSON]}]},
    "video/explicit_content_detection_async": {
        "moderation": [{"timestamp": 0.0, "confidence": 0.02, "category": "Safe"}]
    },
    "video/logo_detection_async": {
        "logos": [
            {
                "description": "Acme",
                "tracking": [{"timestamp": 1.0, "bounding_box": VBOX, "confidence": 0.7}],
            }
        ]
    },
    "video/shot_change_detection_async": {
        "shotAnnotations": [{"startTimeOffset": 0.0, "endTimeOffset": 2.4}]
    },
    "video/question_answer_async": {"answer": "A person waves.", "finish_reason": "stop"},
    "video/deepfake_detection_async": {
        "average_score": 0.12,
        "prediction": "original",
        "details_per_frame": [{"position": 0, "score": 0.1, "prediction": "original"}],
    },
    "video/generation_async": {
        "video": "AAAAIGZ0eXBpc29t",
        "video_resource_url": "http://localhost/_mock/edenai/resources/x/google-video.mp4",
    },
}


def succeeded(path: str, status: str = "succeeded") -> dict[str, Any]:
    base = {"id": "3f1c-amazon", "final_status": status, "error": None, "cost": 0.0012}
    return {**base, **copy.deepcopy(FIELDS[path])}


FAILED = {
    "id": "3f1c-google",
    "final_status": "failed",
    "error": {"type": "ProviderException", "message": "Provider timed out"},
    "cost": 0.0,
}


def job(results: Any, status: str = "finished", error: str | None = None) -> dict[str, Any]:
    return {"public_id": PUBLIC_ID, "status": status, "error": error, "results": results}


def test_every_subfeature_has_an_example() -> None:
    assert set(FIELDS) == set(SUBFEATURES)


@pytest.mark.parametrize("path", list(SUBFEATURES))
def test_results_in_every_shape_validate(spec: dict[str, Any], path: str) -> None:
    url = f"/{path}/{PUBLIC_ID}/"
    listed = [{"provider": "amazon", **succeeded(path)}, {"provider": "google", **FAILED}]
    bodies = [
        job({"amazon": succeeded(path), "google": FAILED}),
        job({"amazon": succeeded(path, "sucess"), "google": {**FAILED, "final_status": "fail"}}),
        job({"amazon/model-x": {**succeeded(path), "original_response": {"raw": [1, 2]}}}),
        job({}, status="processing"),
        job({"amazon": succeeded(path)}, status="processing"),
        job({}, status="failed", error="Job failed"),
        job({"google": {**FAILED, "original_response": None}}, status="failed", error="boom"),
        job(listed),
        job([]),
    ]
    for body in bodies:
        validate_response(spec, "GET", url, 200, JSON, body)
        validate_response(spec, "GET", url.rstrip("/"), 200, JSON, body)


# (case, JSON pointer in a job body by provider, new value or DROP)
NEAR_MISSES: list[tuple[str, str, Any]] = [
    ("no public_id", "/public_id", DROP),
    ("public_id not a uuid", "/public_id", "job-1"),
    ("no error key", "/error", DROP),
    ("unknown status", "/status", "pending"),
    ("finished with an error", "/error", "boom"),
    ("results a string", "/results", "amazon"),
    ("no results", "/results", DROP),
    ("extra top-level key", "/debug", True),
    ("final_status success", "/results/amazon/final_status", "success"),
    ("succeeded with an error", "/results/amazon/error", {"type": "x", "message": "y"}),
    ("no id", "/results/amazon/id", DROP),
    ("no cost", "/results/amazon/cost", DROP),
    ("negative cost", "/results/amazon/cost", -1),
    ("failed without error", "/results/google/error", None),
    ("failed with a string error", "/results/google/error", "Provider timed out"),
    ("failed as succeeded", "/results/google/final_status", "succeeded"),
    ("provider key in the dict form", "/results/amazon/provider", "amazon"),
    ("unknown result field", "/results/amazon/confidence", 0.5),
]


@pytest.mark.parametrize("path", list(SUBFEATURES))
@pytest.mark.parametrize(("name", "pointer", "value"), NEAR_MISSES, ids=[c[0] for c in NEAR_MISSES])
def test_near_misses_are_rejected(
    spec: dict[str, Any], path: str, name: str, pointer: str, value: Any
) -> None:
    good = job({"amazon": succeeded(path), "google": FAILED})
    url = f"/{path}/{PUBLIC_ID}/"
    validate_response(spec, "GET", url, 200, JSON, good)
    with pytest.raises(AssertionError, match="does not match the contract"):
        validate_response(spec, "GET", url, 200, JSON, edit(good, pointer, value))


@pytest.mark.parametrize("path", list(SUBFEATURES))
def test_feature_fields_are_only_on_success(spec: dict[str, Any], path: str) -> None:
    """A failed provider carries none of the subfeature's fields; a succeeded one needs the
    spec's required ones; another subfeature's fields are refused."""
    url = f"/{path}/{PUBLIC_ID}/"
    fields = FIELDS[path]
    with pytest.raises(AssertionError):
        validate_response(spec, "GET", url, 200, JSON, job({"google": {**FAILED, **fields}}))
    dataclass = _resolve(spec, spec["x-subfeatures"][path]["fields"].removeprefix("#"))
    for required in dataclass.get("required", []):
        broken = job({"amazon": edit(succeeded(path), f"/{required}", DROP)})
        with pytest.raises(AssertionError):
            validate_response(spec, "GET", url, 200, JSON, broken)
    other = next(p for p in FIELDS if p != path and set(FIELDS[p]) - set(fields))
    alien = {**succeeded(path), **{k: v for k, v in FIELDS[other].items() if k not in fields}}
    with pytest.raises(AssertionError):
        validate_response(spec, "GET", url, 200, JSON, job({"amazon": alien}))


def test_list_form_needs_the_provider_key(spec: dict[str, Any]) -> None:
    url = f"/audio/speech_to_text_async/{PUBLIC_ID}"
    with pytest.raises(AssertionError):
        validate_response(
            spec, "GET", url, 200, JSON, job([succeeded("audio/speech_to_text_async")])
        )


# --- launch, list, batch and error bodies -------------------------------------------------------


def test_launch_and_list_bodies(spec: dict[str, Any]) -> None:
    path = "/ocr/ocr_async/"
    validate_response(spec, "POST", path, 200, JSON, {"public_id": PUBLIC_ID})
    row = {
        "providers": "amazon,google",
        "nb": 2,
        "nb_ok": 1,
        "public_id": PUBLIC_ID,
        "state": "Timeout error",
        "created_at": "2027-01-15T08:00:00.000000Z",
    }
    validate_response(spec, "GET", path, 200, JSON, {"jobs": [row]})
    validate_response(spec, "DELETE", path, 204, None, None)
    for bad in (
        {"public_id": "1"},
        {"public_id": PUBLIC_ID, "status": "processing"},
        {"jobs": [{**row, "state": "succeeded"}]},
        {"jobs": [edit(row, "/nb_ok", DROP)]},
        {"jobs": [{**row, "providers": ["amazon"]}]},
    ):
        method = "POST" if "public_id" in bad else "GET"
        with pytest.raises(AssertionError):
            validate_response(spec, method, path, 200, JSON, bad)
    with pytest.raises(AssertionError, match="no content"):
        validate_response(spec, "DELETE", path, 204, JSON, {"deleted": 3})


ROW = {"public_id": PUBLIC_ID, "status": "succeeded", "name": "first", "errors": None}


def test_batch_bodies(spec: dict[str, Any]) -> None:
    path = "/video/text_detection_async/batch/nightly/"
    launched = {
        "job_id": "nightly",
        "nb_launched": 1,
        "nb_failed": 1,
        "total": 2,
        "failed_requests": [
            {
                "name": "1",
                "public_id": None,
                "body": {"providers": "nope"},
                "errors": {"providers": ["Provider(s) 'nope' not available."]},
            }
        ],
    }
    validate_response(spec, "POST", path, 200, JSON, launched)
    response = job({"google": succeeded("video/text_detection_async")})
    page = {
        "total": 2,
        "current_page": 1,
        "last_page": 1,
        "per_page": 50,
        "From": 1,
        "to": 2,
        "prev_page_url": None,
        "next_page_url": None,
        "requests": [
            {**ROW, "response": response},
            {"public_id": None, "status": "failed", "name": "1", "errors": {}, "response": None},
        ],
        "status": "finished",
        "created": "2027-01-15T08:00:00.000000Z",
        "updated": "2027-01-15T08:00:01.500000Z",
    }
    validate_response(spec, "GET", path, 200, JSON, page)
    validate_response(spec, "GET", path.rstrip("/"), 200, JSON, page)
    for pointer, value in (
        ("/requests/0/status", "done"),
        ("/From", DROP),
        ("/requests/0/response", {"status": "finished"}),
    ):
        with pytest.raises(AssertionError):
            validate_response(spec, "GET", path, 200, JSON, edit(page, pointer, value))
    with pytest.raises(AssertionError):
        validate_response(spec, "POST", path, 200, JSON, edit(launched, "/total", DROP))


GOOD_ERRORS: list[tuple[int, Any]] = [
    (400, {"error": {"type": "Invalid request", "message": {"providers": ["Required."]}}}),
    (400, {"error": {"type": "Invalid request", "message": {"non_field_errors": ["x", "y"]}}}),
    (
        403,
        {
            "error": {
                "type": "NotAuthenticated",
                "message": "Authentication credentials were not provided.",
            }
        },
    ),  # noqa: E501
    (403, {"error": {"type": "AuthenticationFailed", "message": "Invalid API key."}}),
    (404, {"details": "Not Found"}),
]
BAD_ERRORS: list[tuple[int, Any]] = [
    (400, {"error": {"type": "Invalid request", "message": "providers is required"}}),
    (400, {"error": {"type": "Invalid request", "message": {}}}),
    (400, {"error": {"type": "Invalid request", "message": {"providers": []}}}),
    (403, {"error": {"type": "NotAuthenticated", "message": {"auth": ["missing"]}}}),
    (403, {"detail": "Authentication credentials were not provided."}),
    (404, {"detail": "Not Found"}),
    (404, {"details": "Job not found"}),
]


@pytest.mark.parametrize(("status", "body"), GOOD_ERRORS)
def test_error_bodies_validate(spec: dict[str, Any], status: int, body: Any) -> None:
    validate_response(spec, "GET", f"/ocr/ocr_async/{PUBLIC_ID}/", status, JSON, body)


@pytest.mark.parametrize(("status", "body"), BAD_ERRORS)
def test_bad_error_bodies_are_rejected(spec: dict[str, Any], status: int, body: Any) -> None:
    with pytest.raises(AssertionError):
        validate_response(spec, "GET", f"/ocr/ocr_async/{PUBLIC_ID}/", status, JSON, body)


def test_undeclared_statuses(spec: dict[str, Any]) -> None:
    with pytest.raises(AssertionError, match="status not declared"):
        validate_response(spec, "POST", "/ocr/ocr_async/", 401, JSON, {"error": "x"})
    with pytest.raises(AssertionError, match="status not declared"):
        validate_response(spec, "GET", "/ocr/ocr_async/", 404, JSON, {"details": "Not Found"})
    allowed = spec["components"]["responses"]["MethodNotAllowed"]
    assert allowed["headers"]["Allow"]["required"] is True


# --- webhooks -----------------------------------------------------------------------------------


def test_webhooks_are_declared_with_both_headers(spec: dict[str, Any]) -> None:
    assert set(spec["webhooks"]) == {"jobEnded", "batchEnded"}
    for hook in spec["webhooks"].values():
        post = hook["post"]
        headers = {deref(spec, p)["name"]: deref(spec, p) for p in post["parameters"]}
        assert set(headers) == {"x-edenai-signature", "x-edenai-hash-algorithm"}
        assert all(h["in"] == "header" and h["required"] for h in headers.values())
        assert headers["x-edenai-hash-algorithm"]["schema"] == {"const": "SHA256"}
        assert re.fullmatch(headers["x-edenai-signature"]["schema"]["pattern"], "0a1b" * 64)
    text = " ".join(spec["webhooks"]["jobEnded"]["post"]["description"].split())
    for needed in ("json.dumps(payload, indent=2)", "PKCS#1 v1.5", "SHA-256", "webhook-key"):
        assert needed in text, needed


def test_webhook_payloads(validator: ContractValidator) -> None:
    ref = "#/components/schemas/WebhookPayload"
    body = {
        **job({"amazon": succeeded("audio/speech_to_text_async"), "google": FAILED}),
        "users_webhook_parameters": {"ticket": 42},
    }
    assert validator.validate_schema(ref, body) == []
    without = {k: v for k, v in body.items() if k != "results"}
    assert validator.validate_schema(ref, without) == []  # send_webhook_data=false
    assert validator.validate_schema(ref, {**body, "users_webhook_parameters": None}) == []
    assert validator.validate_schema(ref, edit(body, "/users_webhook_parameters", DROP))
    assert validator.validate_schema(ref, {**body, "status": "processing"})
    batch = {"job_id": "nightly", "status": "finished", "requests": [{**ROW, "response": None}]}
    batch["users_webhook_parameters"] = None
    assert validator.validate_schema("#/components/schemas/BatchWebhookPayload", batch) == []
