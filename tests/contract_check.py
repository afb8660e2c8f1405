"""Assert that HTTP exchanges match an OpenAPI 3.1 document (any contract, not only ``/_mock``).

A thin test wrapper over ``mockserver.validation``: the same checks the server runs, turned into
``AssertionError``s that name the operation and every violation::

    GET /_mock/jobs -> 200 (listJobs): does not match the contract
      /jobs/0/status: "done" is not one of [...] [enum]

Stricter than the server in one way: a query parameter the operation does not declare fails
here (a test should send only what the contract names), where the server ignores it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

from mockserver.validation import MISSING, ContractValidator, Operation, Violation

__all__ = [
    "DROP",
    "edit",
    "Operation",
    "find_operation",
    "iter_operations",
    "validate_request",
    "validate_response",
]

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_NOT_SCHEMA = ("unknown_operation", "status", "media_type")  # one violation, said on one line
_VALIDATORS: dict[int, tuple[Mapping[str, Any], ContractValidator]] = {}


def iter_operations(spec: Mapping[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(METHOD, path template, operation object) for every operation of the document."""
    for template, item in spec.get("paths", {}).items():
        for method in HTTP_METHODS:
            if method in item:
                yield method.upper(), template, item[method]


def find_operation(spec: Mapping[str, Any], method: str, path: str) -> Operation:
    """The operation serving ``method path``; AssertionError if the document has none."""
    validator = _validator(spec)
    operation = validator.find(method, path)
    if operation is None:
        raise AssertionError(validator.miss_reason(method, path))
    return operation


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
    violations = _validator(spec).validate_response(method, path, status, content_type, body)
    _fail(f"{method.upper()} {path} -> {status} ({operation.id})", violations)


def validate_request(
    spec: Mapping[str, Any],
    method: str,
    path: str,
    *,
    query: Mapping[str, Any] | None = None,
    body: Any = None,
) -> None:
    """Check a request: query names declared, parameters and JSON body match their schemas.

    Query values are sent as strings (a list sends its items as repeated keys) and converted
    to the parameter's schema type before validation, as the server does.
    """
    validator = _validator(spec)
    operation = find_operation(spec, method, path)
    where = f"{method.upper()} {path} ({operation.id})"
    declared = validator.declared_query(operation)
    for name in query or {}:
        if name not in declared:
            raise AssertionError(
                f"{where}: query parameter {name!r} not declared (declared: {declared})"
            )
    strings = {
        name: [str(v) for v in raw] if isinstance(raw, (list, tuple)) else [str(raw)]
        for name, raw in (query or {}).items()
    }
    violations = validator.validate_request(
        method,
        path,
        query=strings,
        content_type=None if body is None else "application/json",
        body=MISSING if body is None else body,
    )
    _fail(where, violations)


def _fail(where: str, violations: list[Violation]) -> None:
    if not violations:
        return
    if violations[0].rule in _NOT_SCHEMA:
        raise AssertionError(f"{where}: {violations[0].message}")
    lines = [f"  {v.message} [{v.rule}]" for v in violations[:10]]
    more = f"\n  ... and {len(violations) - 10} more" if len(violations) > 10 else ""
    raise AssertionError(f"{where}: does not match the contract\n" + "\n".join(lines) + more)


def _validator(spec: Mapping[str, Any]) -> ContractValidator:
    """One validator per document object (tests share a module-scoped spec)."""
    entry = _VALIDATORS.get(id(spec))
    if entry is None or entry[0] is not spec:
        entry = (spec, ContractValidator(spec))
        _VALIDATORS[id(spec)] = entry
    return entry[1]


DROP = object()


def edit(doc: Any, pointer: str, value: Any) -> Any:
    """A copy of ``doc`` with the node at ``pointer`` replaced by ``value`` (or removed: DROP);
    the near-misses the contract tests feed a schema are built this way."""
    doc = copy.deepcopy(doc)
    *parents, last = pointer.strip("/").split("/")
    node = doc
    for token in parents:
        node = node[int(token)] if isinstance(node, list) else node[token]
    key: Any = int(last) if isinstance(node, list) else last
    if value is DROP:
        del node[key]
    else:
        node[key] = value
    return doc
