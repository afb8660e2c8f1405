"""The Eden AI v2 async blueprint: ``/v2/{feature}/{subfeature}/`` (``contracts/edenai.yaml``).

Views parse the request (``parse.py``), call :class:`~.backend.EdenBackend` and render; no
lifecycle logic lives here. Every path answers with and without its trailing slash (the spec
has the slash, real clients send both: ``../shared/reference/edenai-async.md`` §2). A launch is
multipart (``file``), urlencoded, or JSON (``file_url``); the same field rules apply to all.

``/_mock/edenai/`` serves what Eden hosts elsewhere: the webhook public key, and the generated
files (``audio_resource_url``, ``video_resource_url``, ``document_url``) results point at.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, g, jsonify, request
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.urls import iri_to_uri

from ...engine.media import Limits, MediaError, read_stream
from ...validation import ContractValidator, Violation, load_json
from ..common import enter_tenant, note_request, runtime
from ..inputs import (
    FormError,
    capped_body,
    parse_form,
    query_problem,
    read_lifecycle,
    too_deep_message,
)
from .backend import MAX_BATCH_REQUESTS, NAME, EdenBackend, FileInput
from .catalog import BATCH_SUBFEATURES, Subfeature, find
from .errors import EdenError, bad_request, forbidden, not_found
from .parse import FieldErrors, Launch, parse_bool, parse_fields, parse_int, valid_url

__all__ = ["PREFIX", "bp", "mock_bp", "render_http_error"]

PREFIX = "/v2"
UPLOAD_LIMITS = Limits()
#: JSON and urlencoded bodies, and each text field of a form (files are not counted).
MAX_BODY_BYTES = 16 << 20
#: Uploads bigger than this are not hashed to look up a sidecar (fixtures are small).
SIDECAR_LOOKUP_BYTES = 64 << 20

View = TypeVar("View", bound=Callable[..., Response])

bp = Blueprint("edenai", __name__, url_prefix=PREFIX)
mock_bp = Blueprint("edenai_mock", __name__, url_prefix="/_mock/edenai")


def both(rule: str, methods: list[str]) -> Callable[[View], View]:
    """Route ``rule`` and ``rule/`` alike. Werkzeug's ``strict_slashes=False`` matches both,
    but answers a wrong method on the slash-less form with 404 instead of 405."""

    def register(view: View) -> View:
        bp.add_url_rule(rule, view_func=view, methods=methods)
        bp.add_url_rule(rule + "/", view_func=view, methods=methods)
        return view

    return register


def backend() -> EdenBackend:
    found: EdenBackend = current_app.extensions["mockserver.edenai"]
    return found


def tenant() -> str:
    found: str = g.eden_tenant
    return found


def subfeature(feature: str, name: str) -> Subfeature:
    sub = find(feature, name)
    if sub is None:
        raise not_found()
    return sub


#: Journal names of the operations: (view, method) -> operation.
_OPERATIONS = {
    ("jobs", "POST"): "launch",
    ("jobs", "GET"): "list",
    ("jobs", "DELETE"): "delete_all",
    ("get_job", "GET"): "get",
    ("batch", "POST"): "batch_launch",
    ("batch", "GET"): "batch_get",
    ("batch", "DELETE"): "batch_delete",
}


@bp.before_request
def _authenticate() -> Response | None:
    """``Authorization: Bearer <key>``; the key is the tenant."""
    view = request.endpoint.rpartition(".")[2] if request.endpoint else "unknown"
    note_request(NAME, _OPERATIONS.get((view, request.method), view))
    scheme, _, key = request.headers.get("Authorization", "").strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        return forbidden(missing=True).response()
    allowed = runtime().settings.api_keys
    if allowed and key not in allowed:
        return forbidden(missing=False).response()
    g.eden_tenant = key
    enter_tenant(key)
    return None


@bp.errorhandler(UnicodeDecodeError)
def _bad_query(exc: UnicodeDecodeError) -> Response:
    problem = query_problem()
    if problem is None:
        raise exc
    return EdenError(400, {"non_field_errors": [problem]}).response()


@bp.errorhandler(RecursionError)
def _too_deep(exc: RecursionError) -> Response:
    return EdenError(400, {"non_field_errors": [too_deep_message()]}).response()


def _too_large() -> EdenError:
    limit = MAX_BODY_BYTES >> 20
    return EdenError(
        413,
        f"Request body exceeded {limit} MB: upload media as a multipart 'file' or a file_url.",
        type="Error",
    )


@bp.errorhandler(EdenError)
def _eden_error(exc: EdenError) -> Response:
    if exc.status == 400 and not exc.violations:
        exc.violations = tuple(_violations())
    if exc.violations:
        g.mock_violations = [v.to_json() for v in exc.violations]
    return exc.response()


def _violations() -> list[Violation]:
    """Where the request breaks ``contracts/edenai.yaml`` (JSON pointers), to go beside a 400's
    field messages: the field map says what Eden would answer, the pointers where to look."""
    validator = ContractValidator.for_contract("edenai")
    mimetype = request.mimetype
    query = request.args.to_dict(flat=False)
    try:
        if mimetype == "application/json" or mimetype.endswith("+json"):
            body = load_json(request.get_data() or b"null")
            return validator.validate_request(
                request.method, request.path, query=query, content_type=mimetype, body=body
            )
        if mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
            parts: dict[str, list[Any]] = request.form.to_dict(flat=False)
            for name, files in request.files.lists():
                parts[name] = [b""] * len(files)
            return validator.validate_request(
                request.method, request.path, query=query, content_type=mimetype, parts=parts
            )
        return validator.validate_request(
            request.method, request.path, query=query, content_type=mimetype or None
        )
    except ValueError:  # a body that is not JSON: the field message already says so
        return []


def render_http_error(status: int, message: str) -> Response:
    """Routing errors under ``/v2`` in Eden's shapes (404 ``details``, else ``Error``)."""
    if status == 404:
        return not_found().response()
    if status == 405:
        return EdenError(
            405, f'Method "{request.method}" not allowed.', type="MethodNotAllowed"
        ).response()
    return EdenError(status, message, type="Error").response()


# --- launch, list, delete ---------------------------------------------------------------------


@both("/<feature>/<name>", ["GET", "POST", "DELETE"])
def jobs(feature: str, name: str) -> Response:
    sub = subfeature(feature, name)
    if request.method == "GET":
        return jsonify({"jobs": backend().list_jobs(tenant(), sub)})
    if request.method == "DELETE":
        backend().delete_all(tenant(), sub)
        return Response(status=204)
    return _launch(sub)


def _launch(sub: Subfeature) -> Response:
    fields, upload, form = _fields()
    launch, errors = parse_fields(sub, fields, form=form)
    _check_inputs(sub, launch, upload, errors)
    if errors:
        raise EdenError(400, errors)
    try:
        choice = read_lifecycle()
    except ValueError as exc:
        raise EdenError(400, {"non_field_errors": [str(exc)]}) from None
    file = _file_input(sub, launch, upload)
    try:
        job = backend().launch(
            tenant(), sub, launch, file, base_url=request.host_url, choice=choice
        )
    finally:
        if file is not None:
            file.blob.close()
    return jsonify({"public_id": job.id})


def _fields() -> tuple[dict[str, Any], FileStorage | None, bool]:
    """The launch's fields, its ``file`` part, and whether they came from a form."""
    mimetype = request.mimetype
    if mimetype == "application/json" or mimetype.endswith("+json"):
        data = capped_body(MAX_BODY_BYTES)
        if data is None:
            raise _too_large()
        try:
            raw = load_json(data or b"null")
        except ValueError as exc:
            raise EdenError(400, {"non_field_errors": [f"JSON parse error - {exc}"]}) from None
        if not isinstance(raw, dict):
            got = "null" if raw is None else type(raw).__name__
            raise EdenError(
                400, {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {got}."]}
            )
        if "file" in raw:
            raise bad_request(
                "file",
                "A file cannot be sent in a JSON body: use multipart/form-data, or file_url.",
            )
        return raw, None, False
    if mimetype in ("multipart/form-data", "application/x-www-form-urlencoded", ""):
        # A multipart body's files go to disk; a urlencoded one is read whole, so it is bounded.
        bounded = MAX_BODY_BYTES if mimetype != "multipart/form-data" else None
        try:
            form, files = parse_form(max_field_bytes=MAX_BODY_BYTES, max_body=bounded)
        except FormError as exc:  # DRF's ParseError words, in Eden's 400 envelope
            kind = "Multipart form" if mimetype == "multipart/form-data" else "Form"
            raise EdenError(400, {"non_field_errors": [f"{kind} parse error - {exc}"]}) from None
        except RequestEntityTooLarge:
            raise _too_large() from None
        fields = {key: form.getlist(key)[0] for key in form}
        if "file" in fields:
            raise bad_request(
                "file",
                "The submitted data was not a file. Check the encoding type on the form.",
            )
        return fields, files.get("file"), True
    raise EdenError(
        400, {"non_field_errors": [f'Unsupported media type "{request.content_type}" in request.']}
    )


def _check_inputs(
    sub: Subfeature, launch: Launch, upload: FileStorage | None, errors: FieldErrors
) -> None:
    if sub.input == "file":
        url = launch.params.get("file_url")
        if upload is not None and url:
            errors.setdefault("file", []).append(
                "Please provide either file or file_url, not both."
            )
        elif upload is None and not url and "file_url" not in errors:
            errors.setdefault("file", []).append("Please provide a file or a file_url.")
    if sub.path == "ocr/custom_document_parsing_async" and "queries" not in errors:
        from .features.ocr import parse_queries  # the builder's own reading of the field

        try:
            launch.params["queries"] = parse_queries(launch.params.get("queries"))
        except ValueError as exc:
            errors.setdefault("queries", []).append(f"{str(exc)[0].upper()}{str(exc)[1:]}.")


def _file_input(sub: Subfeature, launch: Launch, upload: FileStorage | None) -> FileInput | None:
    """Read the upload, or resolve ``file_url`` now (Eden downloads it at launch)."""
    if sub.input == "text" or (upload is None and not launch.params.get("file_url")):
        return None
    media = runtime().media
    if upload is not None:
        name = upload.filename or "file"
        try:
            blob = read_stream(upload.stream, name=name, limits=UPLOAD_LIMITS)
        except MediaError as exc:
            raise bad_request("file", exc.message) from None
        file = FileInput(blob, filename=upload.filename)
        field = "file"
    else:
        url = str(launch.params["file_url"])
        try:
            blob = media.resolve(url)
        except MediaError as exc:
            raise bad_request("file_url", exc.message) from None
        file = FileInput(blob, url=url, sidecar=media.sidecar(url))
        field = "file_url"
    if blob.category not in sub.media:
        blob.close()
        families = " or ".join(sub.media)
        raise bad_request(
            field,
            f"Unsupported file type {blob.media_type!r}: {sub.feature}/{sub.name} takes"
            f" {families} files.",
        )
    if file.sidecar is None and blob.size <= SIDECAR_LOOKUP_BYTES:
        file = FileInput(
            blob, file.filename, file.url, runtime().sidecars.lookup(blob.read_bytes())
        )
    return file


# --- get --------------------------------------------------------------------------------------


@both("/<feature>/<name>/<public_id>", ["GET"])
def get_job(feature: str, name: str, public_id: str) -> Response:
    sub = subfeature(feature, name)
    job = backend().find(tenant(), sub, public_id)
    query: dict[str, bool | None] = {}
    for key in ("response_as_dict", "show_base_64", "show_original_response"):
        raw = request.args.get(key)
        if raw is None:
            continue
        value = parse_bool(raw)
        if value is None:
            raise bad_request(key, "Must be a valid boolean.")
        query[key] = value
    return jsonify(backend().get(job, backend().reader(job, **query)))


# --- batch ------------------------------------------------------------------------------------


def batch_subfeature(feature: str, name: str) -> Subfeature:
    sub = subfeature(feature, name)
    if sub.path not in BATCH_SUBFEATURES:
        raise not_found()
    return sub


@both("/<feature>/<name>/batch/<batch>", ["GET", "POST", "DELETE"])
def batch(feature: str, name: str, batch: str) -> Response:
    sub = batch_subfeature(feature, name)
    if request.method == "POST":
        return _launch_batch(sub, batch)
    found = backend().find_batch(tenant(), sub, batch)
    if found is None:
        raise not_found()
    if request.method == "DELETE":
        backend().delete_batch(found)
        return Response(status=204)
    page = parse_int(request.args.get("page", "1"))
    if page is None or page < 0:
        raise bad_request("page", "A valid integer is required.")
    status = request.args.get("status") or None
    if status is not None and status not in ("succeeded", "failed", "finished", "processing"):
        raise bad_request("status", f'"{status}" is not a valid choice.')
    return jsonify(
        backend().batch_page(
            found,
            page=page,
            status=status,
            public_id=request.args.get("public_id") or None,
            name=request.args.get("name") or None,
        )
    )


def _launch_batch(sub: Subfeature, name: str) -> Response:
    raw, _, form = _fields()
    if form:
        raise EdenError(
            400, {"non_field_errors": ["A batch is a JSON body: send application/json."]}
        )
    requests_ = raw.get("requests")
    if not isinstance(requests_, list) or not requests_:
        raise bad_request("requests", "This field is required: a non-empty list of requests.")
    if len(requests_) > MAX_BATCH_REQUESTS:
        raise bad_request(
            "requests", f"Ensure this field has no more than {MAX_BATCH_REQUESTS} elements."
        )
    for index, body in enumerate(requests_):
        if not isinstance(body, dict):  # the contract's items are objects; DRF's DictField
            kind = type(body).__name__
            raise bad_request(
                "requests", f'Item {index}: Expected a dictionary of items but got type "{kind}".'
            )
        if not isinstance(body.get("name", ""), str):
            raise bad_request("requests", f"Item {index}: name: Not a valid string.")
    if "send_webhook_data" in raw and parse_bool(raw["send_webhook_data"]) is None:
        raise bad_request("send_webhook_data", "Must be a valid boolean.")
    receiver = raw.get("webhook_receiver")
    if receiver is not None and not (isinstance(receiver, str) and valid_url(receiver)):
        raise bad_request("webhook_receiver", "Enter a valid URL.")
    hook = {
        "webhook_receiver": raw.get("webhook_receiver"),
        "users_webhook_parameters": raw.get("users_webhook_parameters"),
        "send_webhook_data": parse_bool(raw.get("send_webhook_data", True)),
    }
    try:
        choice = read_lifecycle()
    except ValueError as exc:
        raise EdenError(400, {"non_field_errors": [str(exc)]}) from None
    eden = backend()
    batch_id = eden.new_batch_id(tenant(), sub, name)
    entries: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for index, body in enumerate(requests_):
        entry = _batch_request(sub, index, body, batch_id, choice)
        entries.append(entry)
        if entry.get("errors"):
            failed.append(entry)
    eden.store_batch(tenant(), sub, batch_id, name, hook, entries, iri_to_uri(request.base_url))
    return jsonify(
        {
            "job_id": name,
            "nb_launched": len(entries) - len(failed),
            "nb_failed": len(failed),
            "total": len(entries),
            "failed_requests": failed,
        }
    )


def _batch_request(
    sub: Subfeature, index: int, body: Any, batch_id: str, choice: Any
) -> dict[str, Any]:
    """Launch one request of a batch, or describe why it was refused."""
    name = body.get("name") if isinstance(body, dict) else None
    entry: dict[str, Any] = {
        "name": name if isinstance(name, str) else str(index),
        "public_id": None,
    }
    if not isinstance(body, dict):
        return {**entry, "body": body, "errors": {"non_field_errors": ["Expected a dictionary."]}}
    launch, errors = parse_fields(sub, body, form=False)
    _check_inputs(sub, launch, None, errors)
    file: FileInput | None = None
    if not errors:
        try:
            file = _file_input(sub, launch, None)
        except EdenError as exc:
            errors = (
                {"file_url": [exc.message]}
                if isinstance(exc.message, str)
                else {k: list(v) for k, v in exc.message.items()}
            )
    if errors:
        return {**entry, "body": body, "errors": errors}
    try:
        job = backend().launch(
            tenant(), sub, launch, file, base_url=request.host_url, choice=choice, batch=batch_id
        )
    finally:
        if file is not None:
            file.blob.close()
    return {**entry, "public_id": job.id}


# --- what Eden hosts elsewhere ----------------------------------------------------------------


@mock_bp.get("/webhook-key")
def webhook_key() -> Response:
    """The public key that verifies ``x-edenai-signature``; ``?format=pem`` for the bare PEM."""
    pem = backend().keys.public_pem()
    if request.args.get("format") == "pem":
        return Response(pem, mimetype="application/x-pem-file")
    return jsonify(
        {
            "algorithm": "RSA PKCS#1 v1.5, SHA-256",
            "signature_header": "x-edenai-signature",
            "hash_algorithm_header": "x-edenai-hash-algorithm",
            "encoding": "hex",
            "public_key": pem,
        }
    )


@mock_bp.get("/resources/<public_id>/<name>")
def resource(public_id: str, name: str) -> Response:
    found = backend().resource(public_id, name)
    if found is None:
        response = jsonify({"error": {"code": "not_found", "message": "no such resource"}})
        response.status_code = 404
        return response
    data, mimetype = found
    return Response(data, mimetype=mimetype)
