"""Launch fields as Eden's Django REST framework serializers read them, errors included.

One launch arrives as a multipart form, a urlencoded form (``requests.post(url, data=...)``
with no file) or a JSON body; the same coercions apply to all three, so a form's ``"false"``
and JSON's ``false`` mean the same. Messages are DRF's stock ones (``This field is required.``,
``Must be a valid boolean.``, ...), collected per field so one 400 lists every problem, as DRF
does. Quirks tolerated on purpose (``../shared/reference/edenai-async.md`` §3):

- ``providers`` as ``"amazon,google"``, ``["amazon"]`` or LangChain's Python list repr
  ``"['amazon']"``; entries may be ``provider/model``;
- LangChain's extra ``response_as_dict`` and ``attributes_as_list`` keys, and any unknown key,
  are ignored like DRF ignores undeclared fields.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ...validation import load_json
from .catalog import Param, Subfeature

__all__ = [
    "FieldErrors",
    "Launch",
    "ProviderChoice",
    "parse_bool",
    "parse_fields",
    "parse_int",
    "valid_url",
]

FieldErrors = dict[str, list[str]]

_TRUE = frozenset({"true", "1", "yes", "y", "on"})
_FALSE = frozenset({"false", "0", "no", "n", "off"})
MAX_FALLBACK = 5
_INTEGER = re.compile(r"-?[0-9]{1,12}")


@dataclass(frozen=True)
class ProviderChoice:
    """One requested provider: ``name`` is the key of its result (``amazon`` or ``amazon/x``)."""

    name: str
    provider: str
    model: str | None


@dataclass(frozen=True)
class Launch:
    """A launch's coerced fields and the providers it asked for, in order."""

    params: dict[str, Any]
    providers: tuple[ProviderChoice, ...]


def parse_bool(value: Any) -> bool | None:
    """DRF's BooleanField: ``true``/``false`` in any case, ``1``/``0``, ``yes``/``no``, ..."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return None


def parse_int(text: str) -> int | None:
    """An integer written in ASCII digits (an optional minus), or None."""
    return int(text) if _INTEGER.fullmatch(text.strip()) else None


def _as_list(value: Any) -> list[str] | None:
    """A comma-separated string, a JSON array, or a Python list repr; None if none of them."""
    if isinstance(value, (list, tuple)):
        if not all(isinstance(v, str) for v in value):
            return None
        items = [str(v) for v in value]
    elif isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                parsed = load_json(text)
            except ValueError:
                try:
                    parsed = ast.literal_eval(text)  # LangChain: str(["amazon"])
                except (ValueError, SyntaxError, MemoryError, RecursionError):
                    return None
            return _as_list(parsed) if isinstance(parsed, (list, tuple)) else None
        items = text.split(",")
    else:
        return None
    return [item.strip() for item in items if item.strip()]


def _coerce(param: Param, value: Any, errors: FieldErrors, form: bool) -> Any:
    """One field's value, or ``None`` with a message added to ``errors``."""

    def fail(message: str) -> None:
        errors.setdefault(param.name, []).append(message)

    if param.kind == "bool":
        parsed = parse_bool(value)
        if parsed is None:
            fail("Must be a valid boolean.")
        return parsed
    if param.kind == "int":
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            return fail("A valid integer is required.")
        text = str(value).strip()
        if not _INTEGER.fullmatch(text):  # ASCII only: "²".isdigit() is true, int("²") fails
            return fail("A valid integer is required.")
        number = int(text)
        if param.minimum is not None and number < param.minimum:
            return fail(f"Ensure this value is greater than or equal to {param.minimum:g}.")
        if param.maximum is not None and number > param.maximum:
            return fail(f"Ensure this value is less than or equal to {param.maximum:g}.")
        return number
    if param.kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            return fail("A valid number is required.")
        try:
            real = float(value)
        except ValueError:
            return fail("A valid number is required.")
        if real != real or real in (float("inf"), float("-inf")):
            return fail("A valid number is required.")
        if param.minimum is not None and real < param.minimum:
            return fail(f"Ensure this value is greater than or equal to {param.minimum:g}.")
        if param.maximum is not None and real > param.maximum:
            return fail(f"Ensure this value is less than or equal to {param.maximum:g}.")
        return real
    if param.kind == "list":
        items = _as_list(value)
        if items is None:
            return fail(f'Expected a list of items but got type "{type(value).__name__}".')
        return tuple(items)
    if param.kind == "raw":
        return value
    if param.kind == "json":
        if form and isinstance(value, str):
            try:
                return load_json(value)
            except ValueError:
                return fail("Value must be valid JSON.")
        return value
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        return fail("Not a valid string.")
    text = str(value)
    if param.kind == "url":
        if not valid_url(text):
            return fail("Enter a valid URL.")
        return text.strip()
    if param.max_length is not None and len(text) > param.max_length:
        return fail(f"Ensure this field has no more than {param.max_length} characters.")
    if param.choices and text not in param.choices:
        return fail(f'"{text}" is not a valid choice.')
    return text


def valid_url(text: str) -> bool:
    """DRF's URLField, roughly: http(s) with a host, or a data: URL; never raises."""
    try:
        parts = urlsplit(text.strip())
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError:  # "http://0[" is an unterminated IPv6 literal
        return False
    if parts.scheme == "data":
        return True
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_fields(
    sub: Subfeature, raw: Mapping[str, Any], *, form: bool
) -> tuple[Launch, FieldErrors]:
    """Coerce ``raw`` (form fields or a JSON object) for ``sub``; returns the errors found.

    ``form`` says the values came from a form, where JSON fields are strings to decode.
    """
    errors: FieldErrors = {}
    params: dict[str, Any] = {}
    for param in sub.all_params():
        value = raw.get(param.name)
        if _blank(value) and not (param.kind == "json" and value is None and param.name in raw):
            if param.required:
                message = (
                    "This field is required." if value is None else "This field may not be blank."
                )
                errors.setdefault(param.name, []).append(message)
            params[param.name] = param.default
            continue
        params[param.name] = _coerce(param, value, errors, form)
    providers: tuple[ProviderChoice, ...] = ()
    if "providers" not in errors:
        providers = _providers(sub, params.get("providers") or (), errors)
    fallback = params.get("fallback_providers") or ()
    if len(fallback) > MAX_FALLBACK:
        errors.setdefault("fallback_providers", []).append(
            f"Ensure this field has no more than {MAX_FALLBACK} elements."
        )
    if params.get("settings") is not None and not isinstance(params["settings"], dict):
        errors.setdefault("settings", []).append(
            f'Expected a dictionary of items but got type "{type(params["settings"]).__name__}".'
        )
    return Launch(params, providers), errors


def _providers(
    sub: Subfeature, names: tuple[str, ...], errors: FieldErrors
) -> tuple[ProviderChoice, ...]:
    """Known providers of ``sub`` (``provider`` or ``provider/model``), duplicates dropped."""
    out: list[ProviderChoice] = []
    seen: set[str] = set()
    unknown: list[str] = []
    for name in names:
        provider, _, model = name.partition("/")
        if provider not in sub.providers:
            unknown.append(provider)
            continue
        if name in seen:
            continue
        seen.add(name)
        out.append(ProviderChoice(name, provider, model or None))
    if unknown:
        errors.setdefault("providers", []).append(
            f"Provider(s) {', '.join(repr(u) for u in unknown)} not available for"
            f" {sub.feature} {sub.name}. Available: {', '.join(sub.providers)}."
        )
    elif not out:  # "," or [" "]: a value with no name in it
        errors.setdefault("providers", []).append("This field may not be blank.")
    return tuple(out)
