"""``mockserver.validation``: every rule, pointer and message, on a small document and real ones.

The inline document below has one of each thing the validator must handle: typed query
parameters (integer, number, boolean, an array sent as repeated keys and one sent as a comma
list, a required one), a header, a path parameter, a JSON body with nested objects, ranges,
enums, a format, ``additionalProperties: false`` and a ``oneOf``, a multipart body with binary
and JSON parts, and responses with a range (``4XX``) and ``default``. Hypothesis then checks
that the fast acceptor agrees with jsonschema on random instances.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any, NamedTuple

import jsonschema
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from mockserver.contracts import contract_path
from mockserver.validation import ContractValidator, Violation

DOCUMENT = """
openapi: 3.1.0
info: {title: validation test API, version: '1'}
servers:
  - url: http://localhost:9000/api/v1
paths:
  /jobs:
    get:
      operationId: listJobs
      parameters:
        - {name: limit, in: query, schema: {type: integer, minimum: 0, maximum: 100}}
        - name: status
          in: query
          schema: {type: array, maxItems: 3, items: {$ref: '#/components/schemas/Status'}}
        - name: ids
          in: query
          style: form
          explode: false
          schema: {type: array, items: {type: integer}}
        - {name: verbose, in: query, schema: {type: boolean}}
        - {name: ratio, in: query, schema: {type: [number, 'null'], exclusiveMaximum: 1}}
        - {name: tenant, in: query, required: true, schema: {type: string, pattern: '^[a-z]+$'}}
        - {name: X-Trace, in: header, schema: {type: integer}}
      responses:
        '200':
          description: The jobs.
          content:
            application/json:
              schema: {type: array, items: {$ref: '#/components/schemas/Job'}}
        4XX:
          description: A client error.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Error'}
    post:
      operationId: createJob
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/JobRequest'}
          multipart/form-data:
            schema:
              type: object
              additionalProperties: false
              required: [file]
              properties:
                file:
                  type: array
                  maxItems: 2
                  items: {type: string, format: binary}
                json:
                  type: string
                  contentMediaType: application/json
                  contentSchema: {$ref: '#/components/schemas/JobRequest'}
                label: {type: string, maxLength: 5}
      responses:
        '201':
          description: Created.
          content:
            application/json:
              schema:
                type: object
                required: [id]
                properties: {id: {type: integer}}
        '204':
          description: Nothing to do.
  /jobs/latest:
    get:
      operationId: getLatestJob
      responses:
        '200':
          description: The newest job.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Job'}
  /jobs/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: integer, minimum: 1}}
    get:
      operationId: getJob
      responses:
        '200':
          description: The job.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Job'}
        default:
          description: Any error.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Error'}
    delete:
      operationId: deleteJob
      responses:
        '204':
          description: Deleted.
components:
  schemas:
    Status: {type: string, enum: [QUEUED, DONE]}
    Job:
      type: object
      required: [id, status]
      properties:
        id: {type: integer}
        status: {$ref: '#/components/schemas/Status'}
    Error:
      type: object
      required: [message]
      properties: {message: {type: string}}
    JobRequest:
      type: object
      additionalProperties: false
      required: [name]
      properties:
        name: {type: string, minLength: 1}
        id: {type: string, format: uuid}
        models:
          type: object
          additionalProperties: false
          properties:
            face:
              type: [object, 'null']
              properties:
                fps: {type: number, minimum: 0}
                threshold: {type: number, minimum: 0, maximum: 1}
            prosody:
              type: object
              properties:
                granularity: {enum: [word, utterance]}
        urls:
          type: array
          maxItems: 2
          items: {type: string, pattern: '^https?://'}
        source:
          oneOf:
            - type: object
              additionalProperties: false
              required: [url]
              properties: {url: {type: string}}
            - type: object
              additionalProperties: false
              required: [text]
              properties: {text: {type: string, maxLength: 10}}
        priority:
          oneOf: [{type: integer}, {type: number, minimum: 10}]
    Mixed:
      type: object
      patternProperties: {'^x-': {type: integer}}
      additionalProperties: {type: [boolean, 'null']}
      properties:
        count: {type: integer, exclusiveMinimum: 0, exclusiveMaximum: 10}
        level: {enum: [1, 2, false, null, low]}
        fixed: {const: 2}
        pair:
          type: array
          prefixItems: [{type: string}, {type: number}]
          items: false
          minItems: 1
        either: {anyOf: [{type: string, maxLength: 2}, {type: integer, maximum: 3}]}
        both: {allOf: [{minimum: 1}, {maximum: 5}]}
        never: {not: {type: string}}
        bag: {type: object, minProperties: 1, maxProperties: 2}
        tags: {type: array, uniqueItems: false, items: {type: string}}
        tree: {$ref: '#/components/schemas/Tree'}
    Tree:
      type: object
      additionalProperties: false
      properties:
        label: {type: string}
        children: {type: array, items: {$ref: '#/components/schemas/Tree'}}
"""

SPEC: dict[str, Any] = yaml.safe_load(DOCUMENT)
UUID = "8f9c2c7e-1f6e-4a55-9a7e-8d2b0f3c1a11"
GOOD_BODY = {
    "name": "a",
    "id": UUID,
    "models": {"face": {"fps": 3, "threshold": 0.5}, "prosody": {"granularity": "word"}},
    "urls": ["https://example.com/a.mp4"],
    "source": {"url": "x"},
    "priority": 1,
}


@pytest.fixture(scope="module")
def v() -> ContractValidator:
    return ContractValidator(SPEC)


def rows(violations: list[Violation]) -> list[tuple[str, str, str, str]]:
    return [(x.location, x.pointer, x.rule, x.message) for x in violations]


def test_inline_document_is_valid_openapi_3_1() -> None:
    validate(SPEC)


def test_violation_is_frozen_and_serialises_all_four_fields() -> None:
    violation = Violation("body", "/limit", "minimum", "/limit: -1 is less than the minimum of 0")
    assert violation.to_json() == {
        "location": "body",
        "pointer": "/limit",
        "rule": "minimum",
        "message": "/limit: -1 is less than the minimum of 0",
    }
    with pytest.raises(AttributeError):
        violation.rule = "type"  # type: ignore[misc]


# --- operations --------------------------------------------------------------------------------


def test_find_prefers_concrete_templates_and_strips_the_server_path(v: ContractValidator) -> None:
    latest = v.find("GET", "/jobs/latest")
    assert latest is not None and (latest.id, latest.path_params) == ("getLatestJob", {})
    job = v.find("get", "/api/v1/jobs/7")
    assert job is not None
    assert (job.id, job.template, job.path_params) == ("getJob", "/jobs/{id}", {"id": "7"})
    assert job.pointer == "/paths/~1jobs~1{id}/get"
    assert v.find("PUT", "/jobs/7") is None
    assert v.find("GET", "/nowhere") is None


def test_unknown_operations_say_why(v: ContractValidator) -> None:
    assert rows(v.validate_request("PUT", "/jobs/1")) == [
        (
            "path",
            "",
            "unknown_operation",
            "PUT /jobs/1: no PUT operation on /jobs/{id} (declared: DELETE, GET)",
        )
    ]
    assert rows(v.validate_response("GET", "/nowhere", 200, "application/json", {})) == [
        ("path", "", "unknown_operation", "GET /nowhere: no path template of the contract matches")
    ]


def test_the_validator_of_a_served_contract_is_built_once() -> None:
    assert ContractValidator.for_contract("control") is ContractValidator.for_contract("control")


# --- valid requests ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/jobs", {"query": {"tenant": ["a"]}}),
        (
            "GET",
            "/api/v1/jobs",
            {
                "query": {
                    "tenant": ["abc"],
                    "limit": ["100"],
                    "status": ["QUEUED", "DONE"],
                    "ids": ["1,2,3"],
                    "verbose": ["True"],
                    "ratio": ["0.5"],
                    "unknown": ["ignored"],
                },
                "headers": {"x-trace": "42"},
            },
        ),
        ("GET", "/jobs/1", {}),
        ("POST", "/jobs", {"content_type": "application/json", "body": GOOD_BODY}),
        ("POST", "/jobs", {"content_type": "application/json; charset=utf-8", "body": GOOD_BODY}),
        ("POST", "/jobs", {"body": {"name": "no content type: taken as JSON"}}),
        (
            "POST",
            "/jobs",
            {
                "content_type": "multipart/form-data; boundary=x",
                "parts": {"file": [b"a", b"b"], "json": [GOOD_BODY], "label": ["ok"]},
            },
        ),
        ("POST", "/jobs", {"parts": {"file": [b"a"], "json": ["text, not decoded"]}}),
    ],
)
def test_a_valid_request_yields_no_violation(
    v: ContractValidator, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    assert v.validate_request(method, path, **kwargs) == []


# --- parameters --------------------------------------------------------------------------------

Q = "query parameter"
JSON = "application/json"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"limit": ["ten"]}, [("/limit", "type", f'{Q} "limit": "ten" is not an integer')]),
        ({"limit": ["1.5"]}, [("/limit", "type", f'{Q} "limit": "1.5" is not an integer')]),
        (
            {"limit": ["101"]},
            [("/limit", "maximum", f'{Q} "limit": 101 is greater than the maximum of 100')],
        ),
        (
            {"limit": ["-1"]},
            [("/limit", "minimum", f'{Q} "limit": -1 is less than the minimum of 0')],
        ),
        (
            {"status": ["QUEUED", "BOGUS"]},
            [("/status/1", "enum", f'{Q} "status": "BOGUS" is not one of ["QUEUED", "DONE"]')],
        ),
        (
            {"status": ["DONE"] * 4},
            [("/status", "maxItems", f'{Q} "status": has 4 items, more than the maximum of 3')],
        ),
        ({"ids": ["1,x,3"]}, [("/ids/1", "type", f'{Q} "ids": "x" is not an integer')]),
        (
            {"verbose": ["yes"]},
            [("/verbose", "type", f'{Q} "verbose": "yes" is not true or false')],
        ),
        ({"ratio": ["abc"]}, [("/ratio", "type", f'{Q} "ratio": "abc" is not a number')]),
        ({"ratio": ["1"]}, [("/ratio", "exclusiveMaximum", f'{Q} "ratio": 1 is not less than 1')]),
        (
            {"tenant": ["A"]},
            [("/tenant", "pattern", f'{Q} "tenant": "A" does not match the pattern ^[a-z]+$')],
        ),
        ({"tenant": []}, [("/tenant", "required", f'{Q} "tenant" is required')]),
    ],
)
def test_query_parameters_are_converted_then_checked(
    v: ContractValidator, query: dict[str, list[str]], expected: list[tuple[str, str, str]]
) -> None:
    found = v.validate_request("GET", "/jobs", query={"tenant": ["a"], **query})
    assert [(x.pointer, x.rule, x.message) for x in found] == expected
    assert {x.location for x in found} == {"query"}


def test_every_parameter_violation_is_reported_in_pointer_order(v: ContractValidator) -> None:
    query = {"verbose": ["1"], "limit": ["x"], "status": ["NO", "DONE", "NEVER"], "other": ["!"]}
    found = v.validate_request("GET", "/jobs", query=query, headers={"X-TRACE": "abc"})
    assert [(x.location, x.pointer, x.rule) for x in found] == [
        ("query", "/limit", "type"),
        ("query", "/status/0", "enum"),
        ("query", "/status/2", "enum"),
        ("query", "/tenant", "required"),
        ("query", "/verbose", "type"),
        ("header", "/X-Trace", "type"),
    ]
    assert found[-1].message == 'header parameter "X-Trace": "abc" is not an integer'


def test_headers_are_checked_only_when_given(v: ContractValidator) -> None:
    assert v.validate_request("GET", "/jobs", query={"tenant": ["a"]}, headers=None) == []


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/jobs/0", ("/id", "minimum", 'path parameter "id": 0 is less than the minimum of 1')),
        ("/jobs/x", ("/id", "type", 'path parameter "id": "x" is not an integer')),
    ],
)
def test_path_parameters_are_converted_then_checked(
    v: ContractValidator, path: str, expected: tuple[str, str, str]
) -> None:
    assert [(x.pointer, x.rule, x.message) for x in v.validate_request("GET", path)] == [expected]


# --- JSON bodies -------------------------------------------------------------------------------


def test_every_body_violation_is_reported_with_its_pointer_and_value(v: ContractValidator) -> None:
    body = {
        "id": "nope",
        "models": {
            "face": {"fps": -1, "threshold": 2},
            "voice": {},
            "prosody": {"granularity": "x"},
        },
        "urls": ["ftp://a", "https://b", 7],
        "priority": "high",
        "extra": 1,
    }
    found = v.validate_request("POST", "/jobs", content_type="application/json", body=body)
    allowed = '"name", "id", "models", "urls", "source", "priority"'
    assert rows(found) == [
        (
            "body",
            "",
            "additionalProperties",
            f'body: unexpected property "extra" (allowed: {allowed})',
        ),
        ("body", "", "required", 'body: required property "name" is missing'),
        ("body", "/id", "format", '/id: "nope" is not a valid uuid'),
        (
            "body",
            "/models",
            "additionalProperties",
            '/models: unexpected property "voice" (allowed: "face", "prosody")',
        ),
        (
            "body",
            "/models/face/fps",
            "minimum",
            "/models/face/fps: -1 is less than the minimum of 0",
        ),
        (
            "body",
            "/models/face/threshold",
            "maximum",
            "/models/face/threshold: 2 is greater than the maximum of 1",
        ),
        (
            "body",
            "/models/prosody/granularity",
            "enum",
            '/models/prosody/granularity: "x" is not one of ["word", "utterance"]',
        ),
        ("body", "/priority", "oneOf", '/priority: "high" matches none of its shapes'),
        ("body", "/urls", "maxItems", "/urls: has 3 items, more than the maximum of 2"),
        ("body", "/urls/0", "pattern", '/urls/0: "ftp://a" does not match the pattern ^https?://'),
        ("body", "/urls/2", "type", "/urls/2: 7 is not of type 'string'"),
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"url": 5}, ("/source/url", "type", "/source/url: 5 is not of type 'string'")),
        (
            {"text": "x" * 11},
            (
                "/source/text",
                "maxLength",
                '/source/text: "xxxxxxxxxxx" is longer than the maximum length of 10',
            ),
        ),
        ({"text": ""}, None),
        (5, ("/source", "oneOf", "/source: 5 matches none of its shapes")),
    ],
)
def test_one_of_failures_collapse_to_the_most_relevant_branch(
    v: ContractValidator, value: Any, expected: tuple[str, str, str] | None
) -> None:
    found = v.validate_schema("#/components/schemas/JobRequest", {"name": "a", "source": value})
    assert [(x.pointer, x.rule, x.message) for x in found] == ([expected] if expected else [])


def test_one_of_says_when_more_than_one_shape_matches(v: ContractValidator) -> None:
    found = v.validate_schema("#/components/schemas/JobRequest", {"name": "a", "priority": 12})
    assert rows(found) == [
        ("body", "/priority", "oneOf", "/priority: 12 matches more than one of its shapes")
    ]


def test_big_values_are_cut_in_messages(v: ContractValidator) -> None:
    (found,) = v.validate_schema("#/components/schemas/JobRequest", {"name": "a", "id": "y" * 500})
    assert found.message == f'/id: "{"y" * 56}... is not a valid uuid'


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"content_type": "text/plain"},
            (
                "media_type",
                "content type 'text/plain' is not accepted "
                "(declared: application/json, multipart/form-data)",
            ),
        ),
        (
            {},
            ("required", "a request body is required (application/json, multipart/form-data)"),
        ),
    ],
)
def test_a_body_of_an_undeclared_type_or_none_at_all(
    v: ContractValidator, kwargs: dict[str, Any], expected: tuple[str, str]
) -> None:
    found = v.validate_request("POST", "/jobs", **kwargs)
    assert rows(found) == [("body", "", *expected)]


def test_a_body_where_none_is_declared(v: ContractValidator) -> None:
    found = v.validate_request("GET", "/jobs/latest", content_type="application/json", body={})
    assert rows(found) == [("body", "", "media_type", "this operation takes no request body")]
    assert v.validate_request("GET", "/jobs/latest", content_type="application/json") == []


# --- multipart bodies --------------------------------------------------------------------------


def test_multipart_parts_are_checked_and_json_parts_against_their_content_schema(
    v: ContractValidator,
) -> None:
    parts: dict[str, list[Any]] = {
        "file": [b"1", b"2", b"3"],
        "json": [{"name": 3}],
        "label": ["toolong"],
        "zz": ["?"],
    }
    found = v.validate_request("POST", "/jobs", content_type="multipart/form-data", parts=parts)
    assert rows(found) == [
        (
            "body",
            "",
            "additionalProperties",
            'unexpected part "zz" (allowed: "file", "json", "label")',
        ),
        (
            "body",
            "/file",
            "maxItems",
            '/file: part "file" came 3 times, more than the maximum of 2',
        ),
        ("body", "/json/name", "type", "/json/name: 3 is not of type 'string'"),
        ("body", "/label", "maxLength", '/label: "toolong" is longer than the maximum length of 5'),
    ]


def test_a_required_part_that_is_missing(v: ContractValidator) -> None:
    found = v.validate_request("POST", "/jobs", parts={"json": [{"name": "a"}]})
    assert rows(found) == [("body", "", "required", 'part "file" is required')]


# --- validate_schema ---------------------------------------------------------------------------


def test_validate_schema_prefixes_pointers_with_base(v: ContractValidator) -> None:
    ref = "#/components/schemas/JobRequest"
    assert rows(v.validate_schema(ref, {"name": ""}, base="/json")) == [
        (
            "body",
            "/json/name",
            "minLength",
            '/json/name: "" is shorter than the minimum length of 1',
        )
    ]
    assert rows(v.validate_schema(ref, [], base="/json")) == [
        ("body", "/json", "type", "/json: [] is not of type 'object'")
    ]
    assert rows(v.validate_schema(ref, [])) == [
        ("body", "", "type", "body: [] is not of type 'object'")
    ]
    assert v.validate_schema(ref, GOOD_BODY) == []


@pytest.mark.parametrize("ref", ["#/components/schemas/Nope", "other.yaml#/x", "#/paths/~1x"])
def test_validate_schema_refuses_a_reference_outside_the_document(
    v: ContractValidator, ref: str
) -> None:
    with pytest.raises(ValueError, match="the contract|only local"):
        v.validate_schema(ref, {})


# --- responses ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status", "content_type", "body", "expected"),
    [
        ("GET", "/jobs/1", 200, "application/json", {"id": 1, "status": "DONE"}, []),
        ("GET", "/jobs", 404, "application/json", {"message": "no"}, []),  # 4XX
        ("GET", "/jobs/1", 503, "application/json", {"message": "busy"}, []),  # default
        ("DELETE", "/jobs/1", 204, None, None, []),
        ("DELETE", "/jobs/1", 204, None, "", []),
        (
            "GET",
            "/jobs/1",
            200,
            "application/json",
            {"id": 1, "status": "done"},
            [("/status", "enum", '/status: "done" is not one of ["QUEUED", "DONE"]')],
        ),
        (
            "GET",
            "/jobs/1",
            500,
            "application/json",
            {},
            [("", "required", 'body: required property "message" is missing')],
        ),
        (
            "POST",
            "/jobs",
            500,
            "application/json",
            {},
            [("", "status", "status not declared: 500 (declared for createJob: 201, 204)")],
        ),
        (
            "POST",
            "/jobs",
            204,
            None,
            "x",
            [("", "media_type", "no content is declared for status 204 but a body came back")],
        ),
        (
            "GET",
            "/jobs/latest",
            200,
            "text/html",
            "<p>",
            [
                (
                    "",
                    "media_type",
                    "content type 'text/html' not declared (declared: application/json)",
                )
            ],
        ),
    ],
)
def test_responses(
    v: ContractValidator,
    method: str,
    path: str,
    status: int,
    content_type: str | None,
    body: Any,
    expected: list[tuple[str, str, str]],
) -> None:
    found = v.validate_response(method, path, status, content_type, body)
    assert [(x.pointer, x.rule, x.message) for x in found] == expected
    assert {x.location for x in found} <= {"body"}


# --- the control contract ----------------------------------------------------------------------


def test_control_contract_requests_and_responses() -> None:
    control = ContractValidator.for_contract("control")
    assert control.validate_request("GET", "/_mock/jobs", query={"limit": ["5"]}) == []
    assert rows(control.validate_request("GET", "/_mock/jobs", query={"limit": ["five"]})) == [
        ("query", "/limit", "type", 'query parameter "limit": "five" is not an integer')
    ]
    advance = {"tenant": None, "seconds": -1}
    found = control.validate_request(
        "POST", "/_mock/clock/advance", content_type="application/json", body=advance
    )
    assert rows(found) == [
        ("body", "/seconds", "minimum", "/seconds: -1 is less than the minimum of 0")
    ]
    clock = {"tenant": None, "now": 1.5, "now_iso": "2027-01-15T08:00:00.000+00:00", "frozen": 1}
    found = control.validate_response("GET", "/_mock/clock", 200, "application/json", clock)
    assert rows(found) == [("body", "/frozen", "type", "/frozen: 1 is not of type 'boolean'")]


# --- the fast acceptor -------------------------------------------------------------------------
# Each schema below is described as a shape: per field, values it accepts and values just past
# a boundary or of a near type (a bool for an integer, 2.5 for 2). From a shape come every
# instance with exactly one fault (where a too-lenient acceptor shows) and a Hypothesis
# strategy for random combinations; jsonschema is the judge of each.


class Field(NamedTuple):
    good: list[Any]
    bad: list[Any]


Shape = dict[str, Any]  # field name -> Field or a nested Shape (an object)
ABSENT = Field([], [1])  # a field the schema refuses: absent from the baseline

SHAPES: dict[str, Shape] = {
    "JobRequest": {
        "name": Field(["a"], ["", 1, None]),
        "id": Field([UUID], ["nope", 5]),
        "models": {
            "face": {
                "fps": Field([3, 0, 0.5], [-1, -0.5, "3", True]),
                "threshold": Field([0.5, 0, 1], [1.5, -1, None]),
            },
            "prosody": {"granularity": Field(["word", "utterance"], ["x", None])},
            "voice": ABSENT,
        },
        "urls": Field([["https://a", "http://b"], []], [["ftp://c"], [3], ["https://a"] * 3]),
        "source": Field(
            [{"url": "u"}, {"text": "t"}],
            [{"url": 5}, {"text": "x" * 11}, {"url": "u", "text": "t"}, {}, 5],
        ),
        "priority": Field([1, 12.5, 10.0, -3, 2.0], [12, 1.5, True, "x"]),
        "unexpected": ABSENT,
    },
    "Mixed": {
        "count": Field([1, 9, 5.0], [0, 10, True, 2.5]),
        "level": Field([1, 2, False, None, "low", 1.0], [True, 3, "high", 0]),
        "fixed": Field([2, 2.0], [True, 3, "2"]),
        "pair": Field([["a", 1], ["a"], ["a", 2.5]], [[], [1], ["a", "b"], ["a", 1, 2]]),
        "either": Field(["ab", 3, -1, 3.0], ["abc", 4, 2.5, None, True]),
        "both": Field([1, 5, 3.5, "not a number"], [0, 6, 0.5]),
        "never": Field([1, None, []], ["s"]),
        "bag": Field([{"a": 1}, {"a": 1, "b": 2}], [{}, {"a": 1, "b": 2, "c": 3}]),
        "tags": Field([[], ["a", "a"]], [[1]]),
        "tree": {
            "label": Field(["a"], [1]),
            "children": Field([[], [{"label": "b"}]], [[{"x": 1}], [{"label": 2}]]),
        },
        "other": Field([True, None], [1, "s"]),
        "x-a": Field([1, 2.0], ["1", True, 1.5]),
    },
}


def baseline(shape: Shape) -> dict[str, Any]:
    """The instance with every field at its first good value."""
    return {
        name: baseline(spec) if isinstance(spec, dict) else spec.good[0]
        for name, spec in shape.items()
        if isinstance(spec, dict) or spec.good
    }


def variants(shape: Shape) -> Iterator[dict[str, Any]]:
    """The baseline with one field changed (to each of its other values) or left out."""
    base = baseline(shape)
    for name, spec in shape.items():
        rest = {k: v for k, v in base.items() if k != name}
        yield rest
        values = variants(spec) if isinstance(spec, dict) else iter(spec.good[1:] + spec.bad)
        for value in values:
            yield {**rest, name: value}


def strategy(shape: Shape) -> st.SearchStrategy[dict[str, Any]]:
    """Random objects: each field present or not, good four times in five."""
    optional = {
        name: strategy(spec)
        if isinstance(spec, dict)
        else st.one_of(*[st.sampled_from(spec.good)] * 4, st.sampled_from(spec.bad))
        for name, spec in shape.items()
        if isinstance(spec, dict) or spec.good
    }
    return st.fixed_dictionaries({}, optional=optional)


TREES = st.recursive(
    strategy({"label": Field(["a"], [1])}),
    lambda kids: st.fixed_dictionaries(
        {}, optional={"label": st.sampled_from(["a", 1]), "children": st.lists(kids, max_size=3)}
    ),
    max_leaves=6,
)
CASES = [(name, instance) for name, shape in SHAPES.items() for instance in variants(shape)]
CASES += [("Tree", {"children": [{"label": "a"}, {"children": [{"label": 2}]}]})]
FAST = ContractValidator(SPEC)


@functools.cache
def reference(name: str) -> Draft202012Validator:
    """jsonschema alone, as the judge."""
    registry: Registry[Any] = Registry().with_resource(
        "urn:doc", Resource.from_contents(SPEC, default_specification=DRAFT202012)
    )
    return Draft202012Validator(
        {"$ref": f"urn:doc#/components/schemas/{name}"},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def agree(name: str, instance: Any) -> None:
    found = FAST.validate_schema(f"#/components/schemas/{name}", instance)
    assert (found == []) == reference(name).is_valid(instance), (instance, found)


def test_the_fast_acceptor_agrees_with_jsonschema_on_every_single_fault() -> None:
    assert len(CASES) > 100
    for name, instance in CASES:
        agree(name, instance)


@pytest.mark.parametrize("name", [*SHAPES, "Tree"])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_the_fast_acceptor_agrees_with_jsonschema(name: str, data: st.DataObject) -> None:
    agree(name, data.draw(TREES if name == "Tree" else strategy(SHAPES[name])))


@pytest.mark.parametrize(
    ("ref", "instance"),
    [
        ("#/components/schemas/JobRequest", GOOD_BODY),
        ("#/components/schemas/JobRequest", baseline(SHAPES["JobRequest"])),
        ("#/components/schemas/Mixed", baseline(SHAPES["Mixed"])),
        ("#/components/schemas/Tree", {"label": "a", "children": [{"children": []}]}),
    ],
)
def test_valid_instances_never_reach_jsonschema(
    v: ContractValidator, ref: str, instance: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("jsonschema ran on a valid instance: the fast acceptor refused it")

    monkeypatch.setattr(jsonschema.Draft202012Validator, "iter_errors", refuse)
    assert v.validate_schema(ref, instance) == []


def test_a_schema_left_to_jsonschema_leaves_the_ones_it_references_whole() -> None:
    # R has a keyword the acceptor lacks; S, compiled on the way to R, refers back to R.
    schemas = {
        "R": {"allOf": [{"$ref": "#/components/schemas/S"}], "unevaluatedProperties": False},
        "S": {"type": "object", "properties": {"child": {"$ref": "#/components/schemas/R"}}},
    }
    recursive = ContractValidator({"paths": {}, "components": {"schemas": schemas}})
    assert recursive.validate_schema("#/components/schemas/R", {"child": {}}) == []
    found = recursive.validate_schema("#/components/schemas/S", {"child": {"child": {"x": 1}}})
    assert [x.pointer for x in found] == ["/child", "/child/child"]  # jsonschema's cascade
    assert {x.rule for x in found} == {"unevaluatedProperties"}


# --- the Hume contract -------------------------------------------------------------------------

HUME_BODY = {
    "models": {
        "face": {"fps_pred": 3.0, "prob_threshold": 0.99, "identify_faces": False},
        "prosody": {"granularity": "utterance", "window": {"length": 4.0, "step": 1.0}},
        "language": {"granularity": "word", "sentiment": {}, "toxicity": {}},
        "burst": {},
        "ner": {},
    },
    "transcription": {"language": "en", "confidence_threshold": 0.5},
    "urls": ["https://example.com/a.mp4", "https://example.com/b.wav"],
    "callback_url": "https://example.com/hook",
    "notify": False,
}


@pytest.mark.skipif(contract_path("hume") is None, reason="contracts/hume.yaml not written yet")
def test_hume_start_job_bodies() -> None:
    hume = ContractValidator.for_contract("hume")
    jobs = "/v0/batch/jobs"
    assert hume.validate_request("POST", jobs, content_type=JSON, body=HUME_BODY) == []
    found = hume.validate_request("POST", jobs, content_type=JSON, body={"models": {"voice": {}}})
    assert [(x.pointer, x.rule) for x in found] == [("/models", "additionalProperties")]
    assert 'unexpected property "voice"' in found[0].message
