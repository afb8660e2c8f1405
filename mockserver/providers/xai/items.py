"""Batch requests: checking them at admission, converting them, and storing them compactly.

A client sends ``{"batch_request_id"?, "batch_request": {<endpoint>: <that endpoint's body>}}``
(REST), a ``BatchRequest`` proto (gRPC) or an OpenAI-style JSONL line (file batches). All three
become one :class:`Item`: an id, a kind (:data:`~.catalog.KINDS`) and a JSON body in the REST
endpoint's shape. ``responses`` bodies are converted to chat on the way in, as the service does
(reference §5: the result is still ``chat_get_completion``).

Admission is atomic and strict about structure (one bad item refuses the whole call: an
:class:`ItemError`), but parameters the service only rejects when it runs the request, such as a
negative ``max_tokens``, are admitted and recorded as the item's execution error (§5). A stored
item is one compact JSON string (:meth:`Item.dump`): 100,000 requests cost about 25 MB instead of
the ~150 MB their parsed dicts would, and the string doubles as the content compared on re-add.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...validation import load_json
from .catalog import (
    CHAT,
    IMAGE_EDIT,
    IMAGE_GENERATION,
    REQUEST_KEYS,
    VIDEO_EXTENSION,
    VIDEO_GENERATION,
    ModelCatalog,
)

__all__ = [
    "JSONL_URLS",
    "MAX_FILE_LINES",
    "Item",
    "ItemError",
    "JsonlError",
    "execution_error",
    "load",
    "parse_item",
    "parse_jsonl",
    "responses_to_chat",
]

ROLES = frozenset({"system", "user", "assistant", "tool", "developer", "function"})
MAX_FILE_LINES = 50_000
#: JSONL ``url`` -> request kind (``/v1/responses`` bodies are converted to chat).
JSONL_URLS = {
    "/v1/chat/completions": CHAT,
    "/v1/responses": "responses",
    "/v1/images/generations": IMAGE_GENERATION,
    "/v1/images/edits": IMAGE_EDIT,
    "/v1/videos/generations": VIDEO_GENERATION,
    "/v1/videos/extensions": VIDEO_EXTENSION,
}


class ItemError(ValueError):
    """Why a request cannot be admitted; ``status`` is the HTTP status the call gets."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class JsonlError(ValueError):
    """Why an input file fails validation (the batch is then cancelled by xAI)."""


@dataclass(frozen=True)
class Item:
    """One admitted request: id (``None``: the server names it), kind, body, execution error."""

    id: str | None
    kind: str
    body: Mapping[str, Any]
    error: str | None = None

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))

    def dump(self, request_id: str) -> str:
        """The stored form: compact, key-sorted JSON (equal content, equal string)."""
        return json.dumps(
            {"id": request_id, "kind": self.kind, "body": self.body},
            separators=(",", ":"),
            sort_keys=True,
            ensure_ascii=False,
        )


def load(stored: str) -> dict[str, Any]:
    """A stored item back as ``{"id", "kind", "body"}``."""
    found: dict[str, Any] = json.loads(stored)
    return found


def parse_item(raw: Any, where: str, catalog: ModelCatalog) -> Item:
    """One REST ``batch_requests`` entry, checked; ``where`` names it in error messages."""
    if not isinstance(raw, dict):
        raise ItemError(f"{where} must be an object")
    request_id = raw.get("batch_request_id")
    if request_id is not None and (not isinstance(request_id, str) or not request_id):
        raise ItemError(f"{where}.batch_request_id must be a non-empty string")
    request = raw.get("batch_request")
    if not isinstance(request, dict):
        raise ItemError(f"{where}.batch_request is required and must be an object")
    keys = [k for k in request if k in REQUEST_KEYS]
    unknown = [k for k in request if k not in REQUEST_KEYS]
    if unknown or len(keys) != 1:
        raise ItemError(
            f"{where}.batch_request must have exactly one of {', '.join(REQUEST_KEYS)}"
            + (f"; unknown key {unknown[0]!r}" if unknown else "")
        )
    key = keys[0]
    return build(request_id, key, request[key], f"{where}.batch_request.{key}", catalog)


def build(request_id: str | None, key: str, body: Any, where: str, catalog: ModelCatalog) -> Item:
    """An item of endpoint ``key`` (``responses`` becomes chat) with its body checked."""
    if not isinstance(body, dict):
        raise ItemError(f"{where} must be an object")
    if key == "responses":
        body = responses_to_chat(body, where)
        key = CHAT
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise ItemError(f"{where}.model is required and must be a string")
    if key == CHAT:
        _check_messages(body.get("messages"), f"{where}.messages")
    elif not isinstance(body.get("prompt"), str):
        raise ItemError(f"{where}.prompt is required and must be a string")
    if not catalog.supports(key, model):
        raise ItemError(f"Model {model} is not supported for batch processing.")
    return Item(request_id, key, body, execution_error(key, body))


def _check_messages(messages: Any, where: str) -> None:
    if not isinstance(messages, list):
        raise ItemError(f"{where} is required and must be an array")
    for n, message in enumerate(messages):
        if not isinstance(message, dict):
            raise ItemError(f"{where}[{n}] must be an object")
        role = message.get("role")
        if role not in ROLES:
            raise ItemError(f"{where}[{n}].role must be one of {', '.join(sorted(ROLES))}")
        content = message.get("content")
        if content is not None and not isinstance(content, str | list):
            raise ItemError(f"{where}[{n}].content must be a string or an array of parts")


def _number(body: Mapping[str, Any], name: str) -> float | None:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def execution_error(kind: str, body: Mapping[str, Any]) -> str | None:
    """The message the service fails this request with when it runs it, or ``None``.

    The ``max_tokens`` wording was captured live (reference §7); the others follow it (GUESS).
    """
    if kind == CHAT:
        max_tokens = _number(body, "max_tokens")
        if max_tokens is not None and max_tokens <= 0:
            return (
                "Maximum number of tokens max_tokens must be positive but max_tokens = "
                f"{body['max_tokens']}"
            )
        if not body.get("messages"):
            return "messages must contain at least one message"
        temperature = _number(body, "temperature")
        if temperature is not None and not 0 <= temperature <= 2:
            return f"temperature must be between 0 and 2 but temperature = {temperature}"
        top_p = _number(body, "top_p")
        if top_p is not None and not 0 <= top_p <= 1:
            return f"top_p must be between 0 and 1 but top_p = {top_p}"
        n = _number(body, "n")
        if n is not None and not 1 <= n <= 8:
            return f"n must be between 1 and 8 but n = {n}"
        return None
    if not str(body.get("prompt", "")).strip():
        return "prompt must not be empty"
    if kind in (IMAGE_GENERATION, IMAGE_EDIT):
        n = _number(body, "n")
        if n is not None and not 1 <= n <= 10:
            return f"n must be between 1 and 10 but n = {n}"
    else:
        duration = _number(body, "duration")
        if duration is not None and not 1 <= duration <= 15:
            return f"duration must be between 1 and 15 seconds but duration = {duration}"
    return None


# --- Responses API -> chat -------------------------------------------------------------------


def responses_to_chat(body: Mapping[str, Any], where: str = "responses") -> dict[str, Any]:
    """A Responses API body as the chat body the service runs it as.

    ``instructions`` becomes a leading system message, ``input`` (a string or a list of
    messages whose content is a string or ``input_text``/``input_image`` parts) becomes
    ``messages``, ``max_output_tokens`` becomes ``max_tokens``; sampling fields carry over.
    """
    messages: list[dict[str, Any]] = []
    if isinstance(body.get("instructions"), str):
        messages.append({"role": "system", "content": body["instructions"]})
    raw = body.get("input")
    if isinstance(raw, str):
        messages.append({"role": "user", "content": raw})
    elif isinstance(raw, list):
        for n, entry in enumerate(raw):
            if not isinstance(entry, dict) or entry.get("role") not in ROLES:
                raise ItemError(f"{where}.input[{n}] must be a message with a valid role")
            messages.append({"role": entry["role"], "content": _parts(entry.get("content"))})
    else:
        raise ItemError(f"{where}.input is required: a string or an array of messages")
    chat: dict[str, Any] = {"model": body.get("model"), "messages": messages}
    if "max_output_tokens" in body:
        chat["max_tokens"] = body["max_output_tokens"]
    for name in ("temperature", "top_p", "seed", "user", "store", "parallel_tool_calls"):
        if name in body:
            chat[name] = body[name]
    return chat


def _parts(content: Any) -> Any:
    if not isinstance(content, list):
        return content
    parts: list[dict[str, Any]] = []
    for part in content:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind in ("input_text", "output_text", "text"):
            parts.append({"type": "text", "text": part.get("text", "")})
        elif kind == "input_image":
            parts.append({"type": "image_url", "image_url": {"url": part.get("image_url", "")}})
    return parts


# --- JSONL input files -------------------------------------------------------------------------


def parse_jsonl(data: bytes, catalog: ModelCatalog) -> list[Item]:
    """Every line of an input file as an item named by its ``custom_id``.

    Raises :class:`JsonlError` with the reason for the first bad line, worded like the live
    ``cancel_by_xai_message`` (``line 2: invalid JSON: ...``; reference §10).
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JsonlError(f"file is not valid UTF-8 (byte {exc.start})") from None
    items: list[Item] = []
    seen: set[str] = set()
    lines = text.splitlines()
    if sum(1 for line in lines if line.strip()) > MAX_FILE_LINES:
        raise JsonlError(f"file has more than {MAX_FILE_LINES} lines")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        items.append(_jsonl_line(line, number, catalog, seen))
    if not items:
        raise JsonlError("file contains no requests")
    return items


def _jsonl_line(line: str, number: int, catalog: ModelCatalog, seen: set[str]) -> Item:
    where = f"line {number}"
    try:
        raw = load_json(line)
    except ValueError as exc:
        raise JsonlError(f"{where}: invalid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise JsonlError(f"{where}: expected a JSON object")
    custom_id = raw.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        raise JsonlError(f"{where}: missing field `custom_id`")
    if custom_id in seen:
        raise JsonlError(f"{where}: duplicate custom_id '{custom_id}'")
    seen.add(custom_id)
    if raw.get("method", "POST") != "POST":
        raise JsonlError(f"{where}: unsupported method {raw.get('method')!r} (only POST)")
    url = raw.get("url")
    if url not in JSONL_URLS:
        raise JsonlError(f"{where}: unsupported url {url!r}")
    try:
        return build(custom_id, JSONL_URLS[url], raw.get("body"), "body", catalog)
    except ItemError as exc:
        raise JsonlError(f"{where}: {exc.message}") from None
