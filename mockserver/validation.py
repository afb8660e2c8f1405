"""Check HTTP exchanges against an OpenAPI 3.1 contract and return what breaks it, never raise.

A ``ContractValidator`` is built once per contract (``ContractValidator.for_contract("hume")``,
cached) and answers, for one exchange, a list of ``Violation``s sorted by location and JSON
pointer: empty when the exchange is valid. Every violation names where (``location`` and
``pointer``), which JSON Schema keyword failed (``rule``) and one sentence that says what to fix::

    Violation("body", "/models/face/fps_pred", "minimum",
              "/models/face/fps_pred: -1 is less than the minimum of 0")

Requests: path and query parameters are converted from their strings by schema type (integer,
number, boolean, and arrays of those sent as repeated keys, the ``form``/``explode`` default)
before validation; unknown query parameters are ignored, as the vendors' servers do. A JSON
body is validated against the operation's schema; for multipart bodies the caller passes the
decoded parts and the non-binary ones are checked. ``validate_schema`` checks any instance
against a named component schema (a JSON document carried in a multipart part, for example).
Responses: the status must be declared and the body must match its schema.

Schemas are JSON Schema Draft 2020-12 (the OpenAPI 3.1 dialect) with format checks; ``$ref``s
resolve inside the document through ``referencing``. Every error is reported, each ``oneOf`` or
``anyOf`` failure collapsed to its most relevant branch error (``jsonschema``'s ``best_match``).

Cost: paths, parameters and media types are indexed when the validator is built, and each
schema is compiled once, on first use, into closures that accept a valid instance without
jsonschema (``_Compiler``); only an invalid instance, or a schema with a keyword the closures
do not implement (``unevaluatedProperties``, ...), goes through jsonschema, for its errors. A
typical Hume start-job JSON body validates in 30 to 50 µs (jsonschema alone: 700 µs).

Issue 9 builds its ``strict``/``warn``/``off`` modes on this: a provider calls
``validate_request`` on each request and, by mode, answers 400 with the violations, records
them in the journal and serves the request anyway, or skips the call. This module imports
neither Flask nor a provider.
"""

from __future__ import annotations

import functools
import json
import numbers
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeGuard
from urllib.parse import unquote, urlsplit

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from .contracts import load_contract

__all__ = [
    "MAX_JSON_DEPTH",
    "MISSING",
    "ContractValidator",
    "Location",
    "Operation",
    "Violation",
    "load_json",
]

Location = Literal["path", "query", "header", "body"]
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
DOCUMENT_URI = "urn:openapi-contract"
_ORDER = {"path": 0, "query": 1, "header": 2, "body": 3}
_PARAM = re.compile(r"\{([^{}/]+)\}")
_INTEGER = re.compile(r"[-+]?\d+")
_MAX_DIGITS = 100
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


#: How deep a client's JSON may nest. Deeper documents are refused before anything walks them:
#: ``json`` recurses in C and the validator, the store and the webhook encoder recurse in
#: Python, so 100,000 levels of ``[`` would otherwise be a ``RecursionError`` (a 500). 128 is
#: serde_json's default limit; no vendor document comes near it.
MAX_JSON_DEPTH = 128
_LONE_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def load_json(data: bytes | bytearray | str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` for what a client sent: a ``ValueError`` that says what is wrong, never
    a ``RecursionError``, for anything that is not plain, well-formed JSON text.

    Refused, beyond syntax errors: bytes that are not valid UTF-8 (or the UTF-16/32 the JSON
    RFC allows; ``json.loads`` itself lets encoded surrogates through), nesting deeper than
    ``max_depth``, and strings holding a lone UTF-16 surrogate (``"\\ud800"``), which no
    UTF-8 encoder (the journal, the store, a webhook body) can write.
    """
    if isinstance(data, (bytes, bytearray)):
        encoding = json.detect_encoding(data)
        try:
            text = bytes(data).decode(encoding)
        except UnicodeDecodeError as exc:
            label = encoding.upper().replace("UTF-8-SIG", "UTF-8")
            raise ValueError(f"not valid {label} text ({exc.reason} at byte {exc.start})") from None
    else:
        text = data
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError(_too_deep(max_depth)) from None
    if (text.count("[") + text.count("{") > max_depth) and _deeper_than(value, max_depth):
        raise ValueError(_too_deep(max_depth))
    if _LONE_SURROGATE_ESCAPE.search(text):
        found = _lone_surrogate(value)
        if found is not None:
            raise ValueError(
                f"a string holds the lone UTF-16 surrogate \\u{ord(found):04x}, which is not"
                " a character; send valid Unicode (surrogates only in pairs)"
            )
    return value


def _too_deep(limit: int) -> str:
    return f"the JSON nests more than {limit} levels deep"


def _deeper_than(value: Any, limit: int) -> bool:
    """Tell whether arrays and objects nest more than ``limit`` levels, without recursing."""
    level = [value] if isinstance(value, (dict, list)) else []
    for _ in range(limit):  # ``level`` holds the containers one level down each time
        if not level:
            return False
        deeper: list[Any] = []
        for node in level:
            children = node.values() if isinstance(node, dict) else node
            deeper += [c for c in children if isinstance(c, (dict, list))]
        level = deeper
    return bool(level)


def _lone_surrogate(value: Any) -> str | None:
    """The first lone surrogate in any string (keys included) of a parsed document, or None."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            found = _SURROGATE.search(node)
            if found is not None:
                return found.group()
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return None


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final[Any] = _Missing()
"""The default of ``body``: no JSON body was sent (``None`` is the JSON ``null``)."""


@dataclass(frozen=True)
class Violation:
    """One way an exchange breaks the contract: where, which rule, and what to fix."""

    location: Location
    pointer: str
    rule: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {
            "location": self.location,
            "pointer": self.pointer,
            "rule": self.rule,
            "message": self.message,
        }


@dataclass(frozen=True)
class Operation:
    """One operation of a contract, found from a method and a concrete path."""

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


@dataclass(frozen=True)
class _Param:
    name: str
    location: Location
    required: bool
    pointer: str | None  # of the schema, for validation
    types: frozenset[str]  # of the schema (of its items when an array), for conversion
    array: bool
    split: bool  # an array sent as one comma-separated value (form style, explode false)

    @property
    def label(self) -> str:
        return f"{self.location} parameter {_show(self.name)}"

    @property
    def base(self) -> str:
        return f"/{_escape(self.name)}"


@dataclass(frozen=True)
class _Plan:
    """What validating one operation needs, worked out once."""

    params: dict[tuple[str, str], _Param]
    body: Mapping[str, str | None] | None  # media type -> schema pointer; None: no requestBody
    body_required: bool
    responses: Mapping[str, Mapping[str, str | None]]  # status key -> media type -> pointer


class ContractValidator:
    """Validates requests and responses against one OpenAPI 3.1 document."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = spec
        resource = Resource.from_contents(spec, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(DOCUMENT_URI, resource)
        self._validators: dict[str, tuple[Draft202012Validator, _Check | None]] = {}
        self._compiler = _Compiler(spec)
        self._lock = threading.Lock()
        self._prefixes = [
            prefix
            for server in spec.get("servers", [])
            if (prefix := urlsplit(server.get("url", "")).path.rstrip("/"))
        ]
        paths: Mapping[str, Any] = spec.get("paths", {})
        templates = [(t, _template_pattern(t), tuple(_PARAM.findall(t))) for t in paths]
        # Concrete templates first (/webhooks/signing before /webhooks/{delivery_id}), then the
        # ones with more literal text (/batches/{id}:cancel before /batches/{id}).
        self._templates = sorted(templates, key=lambda t: (len(t[2]), -len(_PARAM.sub("", t[0]))))
        self._plans = {
            (method, template): self._plan(template, method)
            for template, item in paths.items()
            for method in HTTP_METHODS
            if method in item
        }

    @staticmethod
    def for_contract(name: str) -> ContractValidator:
        """The validator of contract ``name`` (see ``mockserver.contracts``), built once."""
        return _for_contract(name)

    # --- operations ----------------------------------------------------------------------------

    def find(self, method: str, path: str) -> Operation | None:
        """The operation serving ``method path``, or None when the contract has none."""
        matched = self._match(path)
        if matched is None:
            return None
        template, params = matched
        operation = self.spec["paths"][template].get(method.lower())
        return None if operation is None else Operation(method.lower(), template, params, operation)

    def miss_reason(self, method: str, path: str) -> str:
        """Why ``find`` found no operation: no template matches, or not with this method."""
        matched = self._match(path)
        if matched is None:
            return f"{method.upper()} {path}: no path template of the contract matches"
        template = matched[0]
        declared = sorted(m.upper() for m in self.spec["paths"][template] if m in HTTP_METHODS)
        return (
            f"{method.upper()} {path}: no {method.upper()} operation on {template} "
            f"(declared: {', '.join(declared)})"
        )

    def declared_query(self, operation: Operation) -> list[str]:
        """The names of the query parameters ``operation`` declares."""
        plan = self._plans[operation.method, operation.template]
        return sorted(name for name, location in plan.params if location == "query")

    def _match(self, path: str) -> tuple[str, dict[str, str]] | None:
        candidates = [path]
        candidates += [path[len(p) :] for p in self._prefixes if path.startswith(p + "/")]
        for candidate in candidates:
            for template, pattern, names in self._templates:
                match = pattern.fullmatch(candidate)
                if match:
                    return template, {name: match.group(_group(name)) for name in names}
        return None

    # --- requests ------------------------------------------------------------------------------

    def validate_request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
        body: Any = MISSING,
        parts: Mapping[str, list[Any]] | None = None,
    ) -> list[Violation]:
        """Everything wrong with a request (``[]`` when it is valid).

        ``query`` holds every value of each key (``MultiDict.to_dict(flat=False)``); ``body``
        the parsed JSON body, if JSON; ``parts`` the decoded multipart fields (binary parts may
        be anything: only their count is checked). Headers are checked only when given.
        """
        operation = self.find(method, path)
        if operation is None:
            reason = self.miss_reason(method, path)
            return [Violation("path", "", "unknown_operation", reason)]
        plan = self._plans[operation.method, operation.template]
        out = self._check_params(plan, operation.path_params, query or {}, headers)
        out += self._check_body(plan, content_type, body, parts)
        return _sorted(out)

    def validate_schema(
        self, ref: str, instance: Any, *, base: str = "", location: Location = "body"
    ) -> list[Violation]:
        """Everything wrong with ``instance`` against the local ``ref`` (``#/components/...``).

        Pointers are prefixed with ``base`` (``"/json"`` for a document carried in a part).
        """
        if not ref.startswith("#"):
            raise ValueError(f"only local references are supported, got {ref!r}")
        try:
            _resolve(self.spec, ref[1:])
        except (KeyError, IndexError, ValueError, TypeError):
            raise ValueError(f"{ref} is not in the contract") from None
        return _sorted(self._errors(ref[1:], instance, location, base))

    def _check_params(
        self,
        plan: _Plan,
        path_params: Mapping[str, str],
        query: Mapping[str, list[str]],
        headers: Mapping[str, str] | None,
    ) -> list[Violation]:
        lowered = None if headers is None else {k.lower(): v for k, v in headers.items()}
        out: list[Violation] = []
        for param in plan.params.values():
            if param.location == "path":
                value = path_params.get(param.name)
                values = [] if value is None else [value]
            elif param.location == "query":
                values = query.get(param.name) or []
            elif lowered is not None:
                value = lowered.get(param.name.lower())
                values = [] if value is None else [value]
            else:
                continue
            if values:
                out += self._check_param(param, values)
            elif param.required:
                message = f"{param.label} is required"
                out.append(Violation(param.location, param.base, "required", message))
        return out

    def _check_param(self, param: _Param, values: list[str]) -> list[Violation]:
        if param.array:
            raw = values[0].split(",") if param.split and len(values) == 1 else values
            instance: Any = [_convert(v, param.types) for v in raw]
            bad = [(f"{param.base}/{i}", v) for i, v in enumerate(instance) if _failed(v)]
        else:
            instance = _convert(values[0], param.types)
            bad = [(param.base, instance)] if _failed(instance) else []
        if bad:
            return [
                Violation(param.location, at, "type", f"{param.label}: {value.message}")
                for at, value in bad
            ]
        if param.pointer is None:
            return []
        return self._errors(param.pointer, instance, param.location, param.base, param.label)

    def _check_body(
        self,
        plan: _Plan,
        content_type: str | None,
        body: Any,
        parts: Mapping[str, list[Any]] | None,
    ) -> list[Violation]:
        sent = body is not MISSING or parts is not None
        if not content_type and not sent:
            if plan.body is not None and plan.body_required:
                declared = ", ".join(plan.body)
                message = f"a request body is required ({declared})"
                return [Violation("body", "", "required", message)]
            return []
        if plan.body is None:
            if not sent:
                return []
            message = "this operation takes no request body"
            return [Violation("body", "", "media_type", message)]
        if not content_type:
            content_type = "application/json" if parts is None else "multipart/form-data"
        media = _media_type(plan.body, content_type)
        if media is None:
            declared = ", ".join(plan.body)
            message = f"content type {content_type!r} is not accepted (declared: {declared})"
            return [Violation("body", "", "media_type", message)]
        pointer = plan.body[media]
        if pointer is None:
            return []
        if parts is not None:
            return self._check_parts(pointer, parts)
        if body is MISSING:
            return []
        return self._errors(pointer, body, "body", "")

    def _check_parts(self, pointer: str, parts: Mapping[str, list[Any]]) -> list[Violation]:
        """The non-binary fields of a multipart body, and how many times each part came."""
        schema, pointer = _deref(self.spec, _resolve(self.spec, pointer), pointer)
        properties: Mapping[str, Any] = schema.get("properties", {})
        out: list[Violation] = []
        for name in schema.get("required", []):
            if not parts.get(name):
                message = f"part {_show(name)} is required"
                out.append(Violation("body", "", "required", message))
        unexpected = [name for name in parts if name not in properties]
        if unexpected and schema.get("additionalProperties") is False:
            message = _unexpected(unexpected, properties, "part")
            out.append(Violation("body", "", "additionalProperties", message))
        for name, values in parts.items():
            if name in properties and values:
                at = f"{pointer}/properties/{_escape(name)}"
                out += self._check_part(name, values, *_deref(self.spec, properties[name], at))
        return out

    def _check_part(
        self, name: str, values: list[Any], schema: Mapping[str, Any], pointer: str
    ) -> list[Violation]:
        base = f"/{_escape(name)}"
        is_array = "array" in _types(schema)
        if _binary(self.spec, schema):
            count = len(values)
            if is_array and count > schema.get("maxItems", count):
                text = f"{base}: part {_show(name)} came {count} times, more than the maximum"
                return [Violation("body", base, "maxItems", f"{text} of {schema['maxItems']}")]
            if is_array and count < schema.get("minItems", 0):
                text = f"{base}: part {_show(name)} came {count} times, fewer than the minimum"
                return [Violation("body", base, "minItems", f"{text} of {schema['minItems']}")]
            return []
        if is_array:
            return self._errors(pointer, list(values), "body", base)
        value = values[0]
        textual = "string" in _types(schema) and _types(schema) <= {"string", "null"}
        if textual and not isinstance(value, (str, bytes)):
            # A decoded document carried in a string part (contentMediaType application/json).
            if "contentSchema" not in schema:
                return []
            pointer = f"{pointer}/contentSchema"
        return self._errors(pointer, value, "body", base)

    # --- responses -----------------------------------------------------------------------------

    def validate_response(
        self, method: str, path: str, status: int, content_type: str | None, body: Any
    ) -> list[Violation]:
        """Everything wrong with a response: undeclared status or media type, body vs schema.

        ``body`` is the parsed JSON for JSON media types, else the text (or ``None`` if empty).
        """
        operation = self.find(method, path)
        if operation is None:
            reason = self.miss_reason(method, path)
            return [Violation("path", "", "unknown_operation", reason)]
        responses = self._plans[operation.method, operation.template].responses
        keys = (str(status), f"{status // 100}XX", "default")
        key = next((k for k in keys if k in responses), "")
        if not key:
            declared = ", ".join(sorted(responses))
            message = f"status not declared: {status} (declared for {operation.id}: {declared})"
            return [Violation("body", "", "status", message)]
        content = responses[key]
        if not content:
            if body in (None, "", b""):
                return []
            message = f"no content is declared for status {status} but a body came back"
            return [Violation("body", "", "media_type", message)]
        media = _media_type(content, content_type)
        if media is None:
            declared = ", ".join(content)
            message = f"content type {content_type!r} not declared (declared: {declared})"
            return [Violation("body", "", "media_type", message)]
        pointer = content[media]
        return [] if pointer is None else _sorted(self._errors(pointer, body, "body", ""))

    # --- schemas -------------------------------------------------------------------------------

    def _plan(self, template: str, method: str) -> _Plan:
        item_pointer = f"/paths/{_escape(template)}"
        item = self.spec["paths"][template]
        found: dict[tuple[str, str], _Param | None] = {}
        for source, base in ((item, item_pointer), (item[method], f"{item_pointer}/{method}")):
            for index, raw in enumerate(source.get("parameters", [])):
                param, pointer = _deref(self.spec, raw, f"{base}/parameters/{index}")
                found[param["name"], param["in"]] = self._param(param, pointer)
        params = {key: param for key, param in found.items() if param is not None}
        body: dict[str, str | None] | None = None
        body_required = False
        if "requestBody" in item[method]:
            at = f"{item_pointer}/{method}/requestBody"
            request_body, at = _deref(self.spec, item[method]["requestBody"], at)
            body = _schemas(request_body.get("content", {}), at)
            body_required = bool(request_body.get("required"))
        responses: dict[str, Mapping[str, str | None]] = {}
        for code, raw in item[method].get("responses", {}).items():
            at = f"{item_pointer}/{method}/responses/{_escape(str(code))}"
            response, at = _deref(self.spec, raw, at)
            responses[str(code)] = _schemas(response.get("content") or {}, at)
        return _Plan(params, body, body_required, responses)

    def _param(self, param: Mapping[str, Any], pointer: str) -> _Param | None:
        if param["in"] not in ("path", "query", "header"):
            return None  # cookies are not checked
        schema = _deref(self.spec, param.get("schema", {}), "")[0]
        array = "array" in _types(schema)
        if array:
            schema = _deref(self.spec, schema.get("items", {}), "")[0]
        split = param.get("style", "form") == "form" and not param.get("explode", True)
        return _Param(
            name=param["name"],
            location=param["in"],
            required=bool(param.get("required")),
            pointer=f"{pointer}/schema" if "schema" in param else None,
            types=frozenset(_types(schema)),
            array=array,
            split=split,
        )

    def _validator(self, pointer: str) -> tuple[Draft202012Validator, _Check | None]:
        """The full validator of a schema, and its fast acceptor (None if it has none)."""
        entry = self._validators.get(pointer)
        if entry is None:
            with self._lock:  # a recursive $ref is compiled through a cell filled at the end
                full = Draft202012Validator(
                    {"$ref": f"{DOCUMENT_URI}#{pointer}"},
                    registry=self._registry,
                    format_checker=Draft202012Validator.FORMAT_CHECKER,
                )
                fast = self._compiler.accept(pointer)
                entry = self._validators[pointer] = (full, fast)
        return entry

    def _errors(
        self, pointer: str, instance: Any, location: Location, base: str, label: str = ""
    ) -> list[Violation]:
        full, fast = self._validator(pointer)
        if fast is not None and fast(instance):
            return []
        errors = list(full.iter_errors(instance))
        # For oneOf/anyOf failures, the most relevant branch error says more than "not valid".
        errors = [best_match([e]) or e for e in errors]
        # A failing allOf branch evaluates no properties, so an enclosing unevaluatedProperties
        # then reports every one of them: only a consequence when a deeper error exists.
        errors = [e for e in errors if not _cascade(e, errors)] or errors
        out = []
        for error in errors:
            where = base + "".join(f"/{_escape(str(p))}" for p in error.absolute_path)
            text = f"{label or where or 'body'}: {_describe(error)}"
            out.append(Violation(location, where, str(error.validator), text))
        return out


@functools.cache
def _for_contract(name: str) -> ContractValidator:
    return ContractValidator(load_contract(name))


# --- messages ----------------------------------------------------------------------------------

_TEMPLATES = {
    "const": "{v} is not the expected value {want}",
    "minimum": "{v} is less than the minimum of {want}",
    "maximum": "{v} is greater than the maximum of {want}",
    "exclusiveMinimum": "{v} is not greater than {want}",
    "exclusiveMaximum": "{v} is not less than {want}",
    "multipleOf": "{v} is not a multiple of {want}",
    "minLength": "{v} is shorter than the minimum length of {want}",
    "maxLength": "{v} is longer than the maximum length of {want}",
    "pattern": "{v} does not match the pattern {raw}",
    "format": "{v} is not a valid {raw}",
    "minItems": "has {n} items, fewer than the minimum of {want}",
    "maxItems": "has {n} items, more than the maximum of {want}",
    "minProperties": "has {n} properties, fewer than the minimum of {want}",
    "maxProperties": "has {n} properties, more than the maximum of {want}",
    "uniqueItems": "{v} has repeated items",
    "not": "{v} is not allowed here",
}


def _describe(error: ValidationError) -> str:
    """One sentence naming the bad value and the rule, shorter than jsonschema's for big values."""
    keyword = str(error.validator)
    want: Any = error.validator_value
    instance: Any = error.instance
    schema: Any = error.schema
    if keyword == "type":
        types = [want] if isinstance(want, str) else list(want)
        return f"{_show(instance)} is not of type {' or '.join(repr(t) for t in types)}"
    if keyword == "enum":
        return f"{_show(instance)} is not one of {_show(want, 200)}"
    if keyword == "required":
        missing = [p for p in want if repr(p) == error.message.split(" is a required", 1)[0]]
        return f"required property {_show(missing[0] if missing else want)} is missing"
    if keyword == "additionalProperties" and isinstance(instance, Mapping):
        properties = schema.get("properties", {})
        patterns = list(schema.get("patternProperties", {}))
        extra = [k for k in instance if k not in properties and not _any_match(patterns, k)]
        return _unexpected(extra, properties, "property")
    if keyword in ("oneOf", "anyOf"):
        several = keyword == "oneOf" and not error.context
        return f"{_show(instance)} matches {'more than one' if several else 'none'} of its shapes"
    template = _TEMPLATES.get(keyword)
    if template is None:
        return _shorten(error.message, 200)
    size = len(instance) if isinstance(instance, (list, dict, str)) else 0
    return template.format(v=_show(instance), want=_show(want), raw=want, n=size)


def _unexpected(names: list[str], allowed: Iterable[str], noun: str) -> str:
    listed = ", ".join(_show(n) for n in names)
    known = _shorten(", ".join(_show(n) for n in allowed), 200) or "none"
    if len(names) > 1:
        noun = {"property": "properties", "part": "parts"}[noun]
    return f"unexpected {noun} {listed} (allowed: {known})"


def _show(value: Any, limit: int = 60) -> str:
    """A value as JSON, cut to ``limit`` characters."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        text = repr(value)
    return _shorten(text, limit)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _any_match(patterns: list[str], name: str) -> bool:
    return any(re.search(p, name) for p in patterns)


# --- internals ---------------------------------------------------------------------------------


class _Unconverted:
    """A parameter string that is not of its declared type."""

    def __init__(self, message: str) -> None:
        self.message = message


def _failed(value: Any) -> TypeGuard[_Unconverted]:
    return isinstance(value, _Unconverted)


def _convert(raw: str, types: AbstractSet[str]) -> Any:
    """A path, query or header string as its schema type asks, or ``_Unconverted``."""
    if types & {"integer", "number"} and len(raw) > _MAX_DIGITS and _NUMBER.fullmatch(raw):
        # int() refuses more than 4,300 digits (a ValueError, not a violation); no contract
        # number is anywhere near this long.
        return _Unconverted(f"{_show(raw)} has more than {_MAX_DIGITS} characters")
    if "integer" in types and _INTEGER.fullmatch(raw):
        return int(raw)
    if "number" in types and _NUMBER.fullmatch(raw):
        return int(raw) if _INTEGER.fullmatch(raw) else float(raw)
    if "boolean" in types and raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    if not types or types & {"string", "object", "array"}:
        return raw
    wanted = [
        {"integer": "an integer", "number": "a number", "boolean": "true or false"}.get(t, t)
        for t in sorted(types - {"null"}) or sorted(types)
    ]
    return _Unconverted(f"{_show(raw)} is not {' or '.join(wanted)}")


def _types(schema: Mapping[str, Any]) -> set[str]:
    declared = schema.get("type", [])
    return {declared} if isinstance(declared, str) else set(declared)


def _binary(spec: Mapping[str, Any], schema: Mapping[str, Any]) -> bool:
    """Whether a multipart property is file content (format binary, or a non-JSON media type)."""
    if "array" in _types(schema):
        return _binary(spec, _deref(spec, schema.get("items", {}), "")[0])
    media = str(schema.get("contentMediaType", "application/json"))
    return schema.get("format") == "binary" or not (media.endswith("json") or "text/" in media)


def _schemas(content: Mapping[str, Any], pointer: str) -> dict[str, str | None]:
    """Media type -> pointer of its schema (None when it declares none)."""
    return {
        media: f"{pointer}/content/{_escape(media)}/schema" if "schema" in entry else None
        for media, entry in content.items()
    }


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


def _sorted(violations: list[Violation]) -> list[Violation]:
    return sorted(violations, key=lambda v: (_ORDER[v.location], list(_tokens(v.pointer))))


def _tokens(pointer: str) -> Iterator[tuple[int, int, str]]:
    for token in pointer.split("/")[1:]:
        yield (0, int(token), "") if token.isdigit() else (1, 0, token)


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
    """Follow local ``$ref``s (of parameters, bodies, responses, and schemas for conversion)."""
    for _ in range(32):
        if not isinstance(node, Mapping) or "$ref" not in node:
            return node, pointer
        ref = node["$ref"]
        if not ref.startswith("#"):
            raise ValueError(f"{pointer}: only local references are supported, got {ref!r}")
        pointer = ref[1:]
        node = _resolve(spec, pointer)
    raise ValueError(f"{pointer}: $ref chain too long")


def _template_pattern(template: str) -> re.Pattern[str]:
    return re.compile(
        "".join(
            f"(?P<{_group(part)}>[^/]+)" if i % 2 else re.escape(part)
            for i, part in enumerate(_PARAM.split(template))
        )
    )


def _group(name: str) -> str:
    """A regex group name for a template parameter (which may contain ``-`` or ``.``)."""
    return "p_" + "".join(c if c.isalnum() else f"_{ord(c):x}_" for c in name)


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


# --- the fast acceptor -------------------------------------------------------------------------

_Check = Callable[[Any], bool]
_FORMATS = Draft202012Validator.FORMAT_CHECKER


def _is_number(x: Any) -> bool:
    kind = type(x)
    if kind is int or kind is float:
        return True
    return kind is not bool and isinstance(x, numbers.Number)


def _is_integer(x: Any) -> bool:
    kind = type(x)
    if kind is int:
        return True
    if kind is float:
        return bool(x.is_integer())
    return kind is not bool and isinstance(x, int)


_TYPES: dict[str, _Check] = {
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
    "string": lambda x: isinstance(x, str),
    "boolean": lambda x: isinstance(x, bool),
    "null": lambda x: x is None,
    "number": _is_number,
    "integer": _is_integer,
}


class _Unsupported(Exception):
    """A schema uses a keyword the fast acceptor does not implement: jsonschema alone runs."""


class _Compiler:
    """Turns schemas into closures that say exactly whether an instance is valid.

    Most requests are valid, and jsonschema spends most of its time building sub-validators:
    a closure per keyword accepts a valid instance over ten times faster. The closures agree
    with jsonschema on every keyword they implement (``tests/test_validation.py`` checks it
    with Hypothesis); a schema with any other assertion keyword raises ``_Unsupported`` and is
    left to jsonschema. A rejected instance always goes to jsonschema, for its errors.
    """

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = spec
        self.refs: dict[str, _Check] = {}

    def accept(self, pointer: str) -> _Check | None:
        """The acceptor of the schema at ``pointer``, or None where jsonschema must judge."""
        before = dict(self.refs)
        try:
            return self.compile({"$ref": f"#{pointer}"})
        except _Unsupported:
            # References compiled on the way may hold a cell that will never be filled.
            self.refs = before
            return None

    def compile(self, schema: Any) -> _Check:
        if schema is True or schema is False:
            return (lambda x: True) if schema else (lambda x: False)
        if not isinstance(schema, Mapping):
            raise _Unsupported(f"a schema that is a {type(schema).__name__}")
        if "$id" in schema:
            raise _Unsupported("$id")  # a new base URI for the references below it
        checks = []
        for keyword, value in schema.items():
            build = getattr(self, f"k_{keyword.replace('$', 'dollar_')}", None)
            if build is not None:
                checks.append(build(value, schema))
            elif keyword in Draft202012Validator.VALIDATORS:
                raise _Unsupported(keyword)
        return _all(checks)

    def k_dollar_ref(self, ref: str, schema: Mapping[str, Any]) -> _Check:
        if not ref.startswith("#"):
            raise _Unsupported(ref)
        if ref not in self.refs:
            cell: list[_Check] = []
            self.refs[ref] = lambda x: cell[0](x)  # a recursive reference sees this first
            try:
                target = _resolve(self.spec, unquote(ref[1:]))
            except (LookupError, ValueError, TypeError):
                raise _Unsupported(ref) from None
            cell.append(self.compile(target))
            self.refs[ref] = cell[0]
        return self.refs[ref]

    def k_type(self, value: Any, schema: Mapping[str, Any]) -> _Check:
        names = [value] if isinstance(value, str) else list(value)
        if any(name not in _TYPES for name in names):
            raise _Unsupported("type")
        checks = [_TYPES[name] for name in names]
        if len(checks) == 1:
            return checks[0]
        first, second, *rest = checks
        return lambda x: first(x) or second(x) or any(sub(x) for sub in rest)

    def k_enum(self, values: Any, schema: Mapping[str, Any]) -> _Check:
        if any(isinstance(v, (float, dict, list)) for v in values):
            raise _Unsupported("enum")  # jsonschema's equality rules: not worth copying
        strings = frozenset(v for v in values if isinstance(v, str))
        others = [v for v in values if not isinstance(v, str)]  # None, bools, ints

        def check(x: Any) -> bool:
            if isinstance(x, str):
                return x in strings
            if x is None or isinstance(x, bool):
                return any(v is x for v in others)
            if _is_number(x):
                return any(not isinstance(v, bool) and v == x for v in others)
            return False

        return check

    def k_const(self, value: Any, schema: Mapping[str, Any]) -> _Check:
        return self.k_enum([value], schema)

    def k_properties(self, value: Mapping[str, Any], schema: Mapping[str, Any]) -> _Check:
        checks = [(name, self.compile(sub)) for name, sub in value.items()]

        def check(x: Any) -> bool:
            if isinstance(x, dict):
                for name, sub in checks:
                    if name in x and not sub(x[name]):
                        return False
            return True

        return check

    def k_patternProperties(self, value: Mapping[str, Any], schema: Any) -> _Check:
        checks = [(re.compile(p), self.compile(sub)) for p, sub in value.items()]

        def check(x: Any) -> bool:
            if isinstance(x, dict):
                for key, item in x.items():
                    for rx, sub in checks:
                        if rx.search(key) and not sub(item):
                            return False
            return True

        return check

    def k_additionalProperties(self, value: Any, schema: Mapping[str, Any]) -> _Check:
        known = frozenset(schema.get("properties", {}))
        patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
        sub = self.compile(value)

        def check(x: Any) -> bool:
            if isinstance(x, dict):
                for key, item in x.items():
                    if key in known or any(rx.search(key) for rx in patterns):
                        continue
                    if not sub(item):
                        return False
            return True

        return check

    def k_required(self, names: list[str], schema: Mapping[str, Any]) -> _Check:
        return lambda x: not isinstance(x, dict) or all(name in x for name in names)

    def k_items(self, value: Any, schema: Mapping[str, Any]) -> _Check:
        start, sub = len(schema.get("prefixItems", [])), self.compile(value)

        def check(x: Any) -> bool:
            if isinstance(x, list):
                for item in x[start:] if start else x:
                    if not sub(item):
                        return False
            return True

        return check

    def k_prefixItems(self, value: list[Any], schema: Mapping[str, Any]) -> _Check:
        checks = [self.compile(sub) for sub in value]

        def check(x: Any) -> bool:
            if isinstance(x, list):
                for sub, item in zip(checks, x, strict=False):
                    if not sub(item):
                        return False
            return True

        return check

    def k_allOf(self, value: list[Any], schema: Mapping[str, Any]) -> _Check:
        return _all([self.compile(sub) for sub in value])

    def k_anyOf(self, value: list[Any], schema: Mapping[str, Any]) -> _Check:
        checks = [self.compile(sub) for sub in value]
        return lambda x: any(sub(x) for sub in checks)

    def k_oneOf(self, value: list[Any], schema: Mapping[str, Any]) -> _Check:
        checks = [self.compile(sub) for sub in value]
        return lambda x: sum(1 for sub in checks if sub(x)) == 1

    def k_not(self, value: Any, schema: Mapping[str, Any]) -> _Check:
        sub = self.compile(value)
        return lambda x: not sub(x)

    def k_pattern(self, value: str, schema: Mapping[str, Any]) -> _Check:
        rx = re.compile(value)
        return lambda x: not isinstance(x, str) or rx.search(x) is not None

    def k_format(self, value: str, schema: Mapping[str, Any]) -> _Check:
        return lambda x: _FORMATS.conforms(x, value)

    def k_uniqueItems(self, value: bool, schema: Mapping[str, Any]) -> _Check:
        if value:
            raise _Unsupported("uniqueItems")
        return lambda x: True

    def k_minimum(self, m: Any, schema: Mapping[str, Any]) -> _Check:
        return lambda x: not _is_number(x) or x >= m

    def k_maximum(self, m: Any, schema: Mapping[str, Any]) -> _Check:
        return lambda x: not _is_number(x) or x <= m

    def k_exclusiveMinimum(self, m: Any, schema: Mapping[str, Any]) -> _Check:
        return lambda x: not _is_number(x) or x > m

    def k_exclusiveMaximum(self, m: Any, schema: Mapping[str, Any]) -> _Check:
        return lambda x: not _is_number(x) or x < m

    def k_minLength(self, n: int, schema: Mapping[str, Any]) -> _Check:
        return lambda x: not isinstance(x, str) or len(x) >= n

    def k_maxLength(self, n: int, schema: Mapping[str, Any]) -> _Check:
        return lambda x: not isinstance(x, str) or len(x) <= n

    def k_minItems(self, n: int, schema: Mapping[str, Any]) -> _Check:
        return lambda x: not isinstance(x, list) or len(x) >= n

    def k_maxItems(self, n: int, schema: Mapping[str, Any]) -> _Check:
        return lambda x: not isinstance(x, list) or len(x) <= n

    def k_minProperties(self, n: int, schema: Mapping[str, Any]) -> _Check:
        return lambda x: not isinstance(x, dict) or len(x) >= n

    def k_maxProperties(self, n: int, schema: Mapping[str, Any]) -> _Check:
        return lambda x: not isinstance(x, dict) or len(x) <= n


def _all(checks: list[_Check]) -> _Check:
    if not checks:
        return lambda x: True
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda x: first(x) and second(x)

    def check(x: Any) -> bool:
        for sub in checks:  # noqa: SIM110 (a loop is faster than all() over a generator)
            if not sub(x):
                return False
        return True

    return check
