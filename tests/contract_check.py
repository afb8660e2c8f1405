"""Check HTTP exchanges against an OpenAPI 3.1 document (any contract, not only ``/_mock``).

``validate_response`` checks that a status is declared for the operation and that the body
matches the declared schema for its content type; ``validate_request`` checks that query
parameters are declared (and typed right) and that a JSON body matches the request schema.
Failures are ``AssertionError``s naming the operation and a JSON pointer into the body::

    GET /_mock/jobs -> 200 (listJobs): /jobs/0/status: 'done' is not one of [...]

Schemas are JSON Schema Draft 2020-12 (the OpenAPI 3.1 dialect); ``$ref``s resolve inside the
document through ``referencing``. Paths are matched against the templates under ``paths``,
concrete ones (``/webhooks/signing``) before templated ones (``/webhooks/{delivery_id}``); a
path that matches no template is retried with each server URL's path prefix removed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

__all__ = [
    "Operation",
    "find_operation",
    "iter_operations",
    "validate_request",
    "validate_response",
]

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
DOCUMENT_URI = "urn:openapi-contract"
_PARAM = re.compile(r"\{([^{}/]+)\}")


@dataclass(frozen=True)
class Operation:
    """One operation of a document, found from a method and a concrete path."""

    method: str
    template: str
    path_params: dict[str, str]
    spec: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.spec.get("operationId", f"{self.method.upper()} {self.template}"))

    @property
    def pointer(self) -> str:
        return f"/paths/{_escape(self.template)}/{self.method}"


def iter_operations(spec: Mapping[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(METHOD, path template, operation object) for every operation of the document."""
    for template, item in spec.get("paths", {}).items():
        for method in HTTP_METHODS:
            if method in item:
                yield method.upper(), template, item[method]


def find_operation(spec: Mapping[str, Any], method: str, path: str) -> Operation:
    """The operation serving ``method path``; AssertionError if the document has none."""
    method = method.lower()
    candidates = [path]
    for server in spec.get("servers", []):
        prefix = urlsplit(server.get("url", "")).path.rstrip("/")
        if prefix and path.startswith(prefix + "/"):
            candidates.append(path[len(prefix) :])
    for candidate in candidates:
        matches = sorted(_match_templates(spec, candidate), key=lambda m: len(m[1]))
        if matches:
            template, params = matches[0]
            operation = spec["paths"][template].get(method)
            if operation is None:
                declared = sorted(m.upper() for m in spec["paths"][template] if m in HTTP_METHODS)
                raise AssertionError(
                    f"{method.upper()} {path}: no {method.upper()} operation on {template} "
                    f"(declared: {', '.join(declared)})"
                )
            return Operation(method, template, params, operation)
    raise AssertionError(f"{method.upper()} {path}: no path template of the contract matches")


def validate_response(
    spec: Mapping[str, Any],
    method: str,
    path: str,
    status: int,
    content_type: str | None,
    body: Any,
) -> None:
    """Check a response: its status is declared and its body matches the declared schema.

    ``body`` is the parsed JSON for JSON media types, else the text (or ``None`` when empty).
    """
    operation = find_operation(spec, method, path)
    where = f"{method.upper()} {path} -> {status} ({operation.id})"
    responses = operation.spec.get("responses", {})
    declared = {str(code): code for code in responses}
    for key in (str(status), f"{status // 100}XX", "default"):
        if key in declared:
            break
    else:
        raise AssertionError(
            f"{where}: status not declared (declared: {', '.join(sorted(declared))})"
        )
    pointer = f"{operation.pointer}/responses/{_escape(key)}"
    response, pointer = _deref(spec, responses[declared[key]], pointer)
    content = response.get("content") or {}
    if not content:
        if body not in (None, "", b""):
            raise AssertionError(f"{where}: no content is declared but a body came back")
        return
    media = _media_type(content, content_type)
    if media is None:
        raise AssertionError(
            f"{where}: content type {content_type!r} not declared (declared: {', '.join(content)})"
        )
    schema = content[media].get("schema")
    if schema is not None:
        schema_pointer = f"{pointer}/content/{_escape(media)}/schema"
        _check_schema(spec, schema_pointer, body, where)


def validate_request(
    spec: Mapping[str, Any],
    method: str,
    path: str,
    *,
    query: Mapping[str, Any] | None = None,
    body: Any = None,
) -> None:
    """Check a request: query names declared, parameters and JSON body match their schemas.

    Query values are strings as sent; they are converted to the parameter's schema type
    (``integer``, ``number``, ``boolean``) before validation, as a server would.
    """
    operation = find_operation(spec, method, path)
    where = f"{method.upper()} {path} ({operation.id})"
    params = _parameters(spec, operation)
    for (name, location), (param, pointer) in params.items():
        if param.get("required") and location == "query" and name not in (query or {}):
            raise AssertionError(f"{where}: required query parameter {name!r} missing")
        if location == "path" and "schema" in param:
            value = _coerce(param["schema"], operation.path_params.get(name, ""))
            _check_schema(spec, f"{pointer}/schema", value, f"{where} path {name}")
    for name, raw in (query or {}).items():
        if (name, "query") not in params:
            declared = sorted(n for n, loc in params if loc == "query")
            raise AssertionError(
                f"{where}: query parameter {name!r} not declared (declared: {declared})"
            )
        param, pointer = params[name, "query"]
        if "schema" in param:
            value = _coerce(param["schema"], str(raw))
            _check_schema(spec, f"{pointer}/schema", value, f"{where} query {name}")
    if body is None:
        return
    request_body = operation.spec.get("requestBody")
    if request_body is None:
        raise AssertionError(f"{where}: a body was sent but no requestBody is declared")
    request_body, pointer = _deref(spec, request_body, f"{operation.pointer}/requestBody")
    content = request_body.get("content", {})
    media = _media_type(content, "application/json")
    if media is None:
        raise AssertionError(f"{where}: no JSON request body declared")
    if "schema" in content[media]:
        schema_pointer = f"{pointer}/content/{_escape(media)}/schema"
        _check_schema(spec, schema_pointer, body, f"{where} request body")


# --- internals ---------------------------------------------------------------------------------


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _resolve(spec: Mapping[str, Any], pointer: str) -> Any:
    node: Any = spec
    for token in pointer.lstrip("/").split("/") if pointer not in ("", "/") else []:
        key = _unescape(token)
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _deref(spec: Mapping[str, Any], node: Any, pointer: str) -> tuple[Any, str]:
    """Follow local ``$ref``s of non-schema objects (responses, parameters, request bodies)."""
    for _ in range(32):
        if not isinstance(node, Mapping) or "$ref" not in node:
            return node, pointer
        ref = node["$ref"]
        if not ref.startswith("#"):
            raise AssertionError(f"{pointer}: only local references are supported, got {ref!r}")
        pointer = ref[1:]
        node = _resolve(spec, pointer)
    raise AssertionError(f"{pointer}: $ref chain too long")


def _match_templates(spec: Mapping[str, Any], path: str) -> Iterator[tuple[str, dict[str, str]]]:
    for template in spec.get("paths", {}):
        pattern = "".join(
            f"(?P<{_group(part)}>[^/]+)" if i % 2 else re.escape(part)
            for i, part in enumerate(_PARAM.split(template))
        )
        match = re.fullmatch(pattern, path)
        if match:
            names = _PARAM.findall(template)
            yield template, {name: match.group(_group(name)) for name in names}


def _group(name: str) -> str:
    """A regex group name for a template parameter (which may contain ``-`` or ``.``)."""
    return "p_" + "".join(c if c.isalnum() else f"_{ord(c):x}_" for c in name)


def _media_type(content: Mapping[str, Any], content_type: str | None) -> str | None:
    if not content_type:
        return None
    actual = content_type.split(";", 1)[0].strip().lower()
    major = actual.split("/", 1)[0]
    for candidate in (actual, f"{major}/*", "*/*"):
        for declared in content:
            if declared.split(";", 1)[0].strip().lower() == candidate:
                return declared
    return None


def _parameters(
    spec: Mapping[str, Any], operation: Operation
) -> dict[tuple[str, str], tuple[dict[str, Any], str]]:
    """Path-level then operation-level parameters (the latter win), by (name, in)."""
    out: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
    path_item_pointer = f"/paths/{_escape(operation.template)}"
    sources = (
        (spec["paths"][operation.template].get("parameters", []), path_item_pointer),
        (operation.spec.get("parameters", []), operation.pointer),
    )
    for params, base in sources:
        for index, raw in enumerate(params):
            param, pointer = _deref(spec, raw, f"{base}/parameters/{index}")
            out[param["name"], param["in"]] = (param, pointer)
    return out


def _coerce(schema: Mapping[str, Any], raw: str) -> Any:
    """A query or path string as the scalar its schema asks for (unchanged when it cannot be)."""
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    try:
        if "integer" in types:
            return int(raw)
        if "number" in types:
            return float(raw)
    except ValueError:
        return raw
    if "boolean" in types and raw in ("true", "false"):
        return raw == "true"
    return raw


def _check_schema(spec: Mapping[str, Any], pointer: str, instance: Any, where: str) -> None:
    registry: Registry[Any] = Registry().with_resource(
        DOCUMENT_URI, Resource.from_contents(spec, default_specification=DRAFT202012)
    )
    validator = Draft202012Validator(
        {"$ref": f"{DOCUMENT_URI}#{pointer}"},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.path)))
    if errors:
        # For oneOf/anyOf failures, the most relevant branch error says more than "not valid".
        errors = [best_match(e.context) or e if e.context else e for e in errors]
        # A failing allOf branch evaluates no properties, so an enclosing unevaluatedProperties
        # then reports every one of them: only a consequence when a deeper error exists.
        errors = [e for e in errors if not _cascade(e, errors)] or errors
        lines = [
            f"  {'/' + '/'.join(map(str, e.absolute_path))}: {e.message} [{e.validator}]"
            for e in errors[:10]
        ]
        more = f"\n  ... and {len(errors) - 10} more" if len(errors) > 10 else ""
        raise AssertionError(f"{where}: does not match #{pointer}\n" + "\n".join(lines) + more)


def _cascade(error: ValidationError, errors: list[ValidationError]) -> bool:
    """Whether ``error`` is an unevaluatedProperties report caused by another, deeper error."""
    if error.validator != "unevaluatedProperties":
        return False
    here = list(error.absolute_path)
    return any(
        other is not error
        and other.validator != "unevaluatedProperties"
        and list(other.absolute_path)[: len(here)] == here
        for other in errors
    )
