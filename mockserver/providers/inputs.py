"""Reading request bodies a hostile client wrote: bounded JSON bodies and strictly parsed forms.

Werkzeug is forgiving by design: a multipart body without a boundary, cut short, or holding a
part without ``Content-Disposition`` parses *silently* as an empty form, and invalid UTF-8 in a
field becomes U+FFFD. A client then hears "no file" or gets a job for text it never sent. The
providers read forms through :func:`parse_form` instead, which refuses such bodies with a
:class:`FormError` saying what is wrong (each provider words it in its own error shape), and
JSON bodies through :func:`capped_body`, which never reads more than the provider's limit.
File parts still go to Werkzeug's spooled temporary files, so memory stays flat.
"""

from __future__ import annotations

import codecs
from typing import IO, Any

from flask import request
from werkzeug.datastructures import FileStorage, Headers, ImmutableMultiDict, MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser, MultiPartParser

from ..faultwire import SCENARIO_HEADER
from ..validation import MAX_JSON_DEPTH
from .common import LIFECYCLE_HEADER, LifecycleChoice, lifecycle_choice

__all__ = [
    "FormError",
    "capped_body",
    "parse_form",
    "query_problem",
    "read_lifecycle",
    "too_deep_message",
]

#: A UTF-8 codec that is strict whatever ``errors`` it is given: Werkzeug decodes fields with
#: ``errors="replace"``, which would hide invalid bytes.
_STRICT_UTF8 = "mockserver-strict-utf-8"
_CHUNK = 64 * 1024


def _strict_decode(data: Any, errors: str = "strict", /) -> tuple[str, int]:
    return codecs.utf_8_decode(data, "strict", True)


def _find_codec(name: str) -> codecs.CodecInfo | None:
    if name.replace("-", "_") != _STRICT_UTF8.replace("-", "_"):
        return None
    return codecs.CodecInfo(codecs.utf_8_encode, _strict_decode, name=_STRICT_UTF8)


codecs.register(_find_codec)


class FormError(ValueError):
    """A form body that cannot be read as sent; the message says why, for the client."""


class _StrictMultiPartParser(MultiPartParser):
    """Strict UTF-8 fields; remembers the files it opened, to close them if parsing fails."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.opened: list[IO[bytes]] = []

    def get_part_charset(self, headers: Headers) -> str:
        charset = super().get_part_charset(headers)
        return _STRICT_UTF8 if charset in ("utf-8", "ascii", "us-ascii") else charset

    def start_file_streaming(self, event: Any, total_content_length: int | None) -> IO[bytes]:
        container = super().start_file_streaming(event, total_content_length)
        self.opened.append(container)
        return container


class _StrictFormDataParser(FormDataParser):
    """Werkzeug's parser with ``silent=False`` and strict UTF-8 fields."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["silent"] = False
        super().__init__(*args, **kwargs)

    def _parse_multipart(
        self, stream: Any, mimetype: str, content_length: int | None, options: dict[str, str]
    ) -> Any:
        parser = _StrictMultiPartParser(
            stream_factory=self.stream_factory,
            max_form_memory_size=self.max_form_memory_size,
            max_form_parts=self.max_form_parts,
            cls=self.cls,
        )
        boundary = options.get("boundary", "").encode("ascii")
        if not boundary:
            raise ValueError("Missing boundary")
        try:
            form, files = parser.parse(stream, boundary, content_length)
        except BaseException:
            for opened in parser.opened:  # Werkzeug leaves them to the garbage collector
                opened.close()
            raise
        return stream, form, files


def parse_form(
    *, max_field_bytes: int | None = None, max_body: int | None = None
) -> tuple[MultiDict[str, str], MultiDict[str, FileStorage]]:
    """Parse the request's multipart or urlencoded body now, refusing what Werkzeug would
    silently drop; returns ``(request.form, request.files)``.

    ``max_field_bytes`` bounds each non-file field (Werkzeug's ``max_form_memory_size``);
    ``max_body`` the whole body (a urlencoded body is read at once). Passing either limit is a
    413 (``RequestEntityTooLarge``), which the app renders in the provider's shape.
    """
    if "form" not in request.__dict__:
        mimetype = request.mimetype
        boundary = request.mimetype_params.get("boundary")
        if mimetype == "multipart/form-data" and not boundary:
            _give_up()
            raise FormError(
                "the Content-Type multipart/form-data has no boundary parameter"
                " (multipart/form-data; boundary=...)"
            )
        if max_field_bytes is not None:
            request.max_form_memory_size = max_field_bytes
        if max_body is not None:
            length = request.content_length
            if length is not None and length > max_body:
                _give_up()
                raise RequestEntityTooLarge()
            request.max_content_length = max_body
        request.form_data_parser_class = _StrictFormDataParser
        try:
            request.form  # noqa: B018 - parses the body (Werkzeug's cached property)
        except RequestEntityTooLarge:
            _give_up()
            raise
        except ValueError as exc:
            _give_up()
            raise FormError(_explain(exc, mimetype, boundary or "")) from None
    form, files = request.form, request.files
    if None in form or None in files:
        raise FormError(
            "a part's Content-Disposition has no name: send"
            ' \'Content-Disposition: form-data; name="..."\' (and filename="..." for a file)'
        )
    return form, files


def _give_up() -> None:
    """Leave an empty form behind, so that nothing later parses the body again."""
    empty: ImmutableMultiDict[str, Any] = ImmutableMultiDict()
    request.__dict__["form"] = empty
    request.__dict__["files"] = empty


def _explain(exc: ValueError, mimetype: str, boundary: str) -> str:
    """Werkzeug's reasons in words a client can act on."""
    if isinstance(exc, UnicodeDecodeError):
        where = "a part holds text that" if mimetype == "multipart/form-data" else "the form"
        return f"{where} is not valid UTF-8 ({exc.reason} at byte {exc.start})"
    text = str(exc)
    if "State.PREAMBLE" in text:
        return f"the body does not start with the boundary '--{boundary}' (or it is empty)"
    if "State.PART" in text:
        return "the body ends inside a part's headers: it was cut short"
    if "cannot parse beyond" in text:
        return f"the body ends before the closing boundary '--{boundary}--': it was cut short"
    if text == "Missing Content-Disposition header":
        return "a part has no Content-Disposition header"
    return text


def capped_body(limit: int) -> bytes | None:
    """The whole request body, or None when it is larger than ``limit`` bytes.

    A declared ``Content-Length`` over the limit is refused before anything is read; a body
    without one (chunked) is read no further than one chunk past the limit (Werkzeug's own
    limit does not apply to a stream the server marked terminated).
    """
    length = request.content_length
    if length is not None:
        return None if length > limit else request.get_data(cache=True)
    cached: bytes | None = getattr(request, "_cached_data", None)
    if cached is not None:
        return None if len(cached) > limit else cached
    chunks: list[bytes] = []
    size = 0
    while chunk := request.stream.read(min(_CHUNK, limit + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return None
    data = b"".join(chunks)
    request.__dict__["_cached_data"] = data  # later readers (error handlers) see this body
    return data


def read_lifecycle() -> LifecycleChoice:
    """:func:`~.common.lifecycle_choice` of this request's headers: a bad header is a
    ``ValueError`` with a message for the client, a deeply nested one too (never a
    ``RecursionError``, which ``json.loads`` raises past about 1,000 levels)."""
    try:
        return lifecycle_choice(dict(request.headers))
    except RecursionError:
        raise ValueError(
            f"{LIFECYCLE_HEADER} must be a JSON object nested at most {MAX_JSON_DEPTH} levels deep"
        ) from None


def too_deep_message() -> str:
    """What to tell a client whose request made the server recurse too deeply: a
    ``RecursionError`` from a blueprint (the providers register this as its 400), which only
    an ``X-Mock-Scenario`` rule list nested about 1,000 levels deep can still cause."""
    scenario = request.headers.get(SCENARIO_HEADER, "").lstrip()
    what = f"{SCENARIO_HEADER}" if scenario.startswith("[") else "the request"
    return f"{what}: JSON nested more than {MAX_JSON_DEPTH} levels deep is not accepted"


def query_problem() -> str | None:
    """Why this request's query string cannot be read (raw bytes that are not UTF-8), or None.

    Werkzeug decodes ``%ff`` leniently but raises ``UnicodeDecodeError`` from ``request.args``
    for a raw byte; the providers register a handler that answers this in their shape."""
    try:
        request.query_string.decode()
    except UnicodeDecodeError as exc:
        return (
            f"The query string is not valid UTF-8 ({exc.reason} at byte {exc.start});"
            " percent-encode it as UTF-8."
        )
    return None
