"""The Hume Batch API blueprint: ``/v0/batch/jobs`` (``contracts/hume.yaml``).

Views parse and check the request, call :class:`~.backend.HumeBackend`, and render; no
lifecycle logic lives here. Start-job takes JSON or multipart on the same path and tells them
apart by ``Content-Type`` (``../shared/reference/hume-batch.md`` §5): in multipart the ``json``
part may be a plain field or a file part (``filename="upload"``), hold the literal ``null`` or
nothing, or be absent, and each ``file`` part may lack a content type.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from ...engine.media import Limits, MediaError, human_bytes, read_stream
from ...validation import ContractValidator, Violation, load_json
from ..common import (
    contract_gate,
    enter_tenant,
    json_response,
    note_behaviour,
    note_request,
    runtime,
)
from ..inputs import (
    FormError,
    capped_body,
    parse_form,
    query_problem,
    read_lifecycle,
    too_deep_message,
)
from .backend import NAME, HumeBackend, ListQuery, Upload
from .config import MAX_FILES, MAX_URLS, MODEL_NAMES, fill_request
from .errors import HumeError, fault

__all__ = ["PREFIX", "bp", "render_http_error"]

PREFIX = "/v0/batch"
API_KEY_HEADER = "X-Hume-Api-Key"
REQUEST_SCHEMA = "#/components/schemas/InferenceBaseRequest"
UPLOAD_LIMITS = Limits()
_JSON_PART_BYTES = 16 << 20
#: A JSON start-job body holds URLs and texts; media belong in ``file`` parts (multipart).
MAX_JSON_BODY = 16 << 20

bp = Blueprint("hume", __name__, url_prefix=PREFIX)


def backend() -> HumeBackend:
    found: HumeBackend = current_app.extensions["mockserver.hume"]
    return found


def validator() -> ContractValidator:
    return ContractValidator.for_contract("hume")


def tenant() -> str:
    found: str = g.hume_tenant
    return found


@bp.before_request
def _authenticate() -> Response | None:
    """The gateway's check: a key in ``X-Hume-Api-Key`` (or ``?apiKey=``, as old clients sent)."""
    req = request._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup
    endpoint = req.endpoint
    note_request(NAME, endpoint.rpartition(".")[2] if endpoint else "unknown")
    key = req.headers.get(API_KEY_HEADER)
    if not key and req.query_string:
        key = req.args.get("apiKey") or req.args.get("apikey")
    key = (key or "").strip()
    if not key:
        return fault(missing=True)
    allowed = runtime().settings.api_keys
    if allowed and key not in allowed:
        return fault(missing=False)
    g.hume_tenant = key
    enter_tenant(key)
    return None


@bp.errorhandler(UnicodeDecodeError)
def _bad_query(exc: UnicodeDecodeError) -> Response:
    problem = query_problem()
    if problem is None:
        raise exc
    return HumeError(400, problem).response()


@bp.errorhandler(RecursionError)
def _too_deep(exc: RecursionError) -> Response:
    return HumeError(400, too_deep_message()).response()


@bp.errorhandler(HumeError)
def _hume_error(exc: HumeError) -> Response:
    if exc.behaviour is not None:
        note_behaviour(*exc.behaviour)
    if exc.violations:
        g.mock_violations = [v.to_json() for v in exc.violations]
    return exc.response()


def render_http_error(status: int, message: str) -> Response:
    """Routing errors (unknown path or method) under ``/v0/batch`` in Hume's shape."""
    if status == 405:
        message = f"Method {request.method} is not allowed on {request.path}."
    return HumeError(status, message).response()


def _invalid(violations: list[Violation], where: str = "") -> HumeError:
    first = violations[0].message
    more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
    return HumeError(400, f"Invalid request{where}: {first}{more}", violations)


# --- list -------------------------------------------------------------------------------------


@bp.get("/jobs")
def list_jobs() -> Response:
    query = request.args.to_dict(flat=False)
    violations = validator().validate_request("GET", request.path, query=query, content_type=None)
    contract_gate(violations, lambda: _invalid(violations))

    def one(name: str) -> str | None:
        values = query.get(name)
        return values[0] if values else None

    parsed = ListQuery(
        limit=int(one("limit") or 50),
        statuses=frozenset(query.get("status", [])),
        when=one("when"),
        timestamp_ms=int(ts) if (ts := one("timestamp_ms")) is not None else None,
        sort_by=one("sort_by") or "created",
        direction=one("direction") or "desc",
    )
    return jsonify(backend().list_jobs(tenant(), parsed))


# --- start ------------------------------------------------------------------------------------


@bp.post("/jobs")
def start_job() -> Response:
    mimetype = request.mimetype
    if mimetype == "application/json" or mimetype.endswith("+json"):
        raw, uploads = _json_body(), list[Upload]()
    elif mimetype == "multipart/form-data":
        raw, uploads = _multipart()
    else:
        raise HumeError(
            415,
            f"Unsupported Content-Type {request.content_type or '(none)'!r}: start a job with"
            " application/json, or multipart/form-data with 'file' parts and an optional"
            " 'json' part.",
        )
    try:
        echo = _checked_request(raw, len(uploads))
        choice = read_lifecycle()
        job = backend().start(
            tenant(), echo, uploads, profile=choice.profile, overrides=choice.overrides
        )
    except ValueError as exc:
        raise HumeError(400, str(exc)) from None
    finally:
        for upload in uploads:
            upload.blob.close()
    return jsonify({"job_id": job.id})


def _json_body() -> dict[str, Any]:
    data = capped_body(MAX_JSON_BODY)
    if data is None:
        raise HumeError(
            413,
            f"The request body is larger than {human_bytes(MAX_JSON_BODY)}: send media as"
            " 'file' parts (multipart/form-data) or as 'urls', not inside the JSON.",
        )
    if not data:
        raise HumeError(400, "The request body is empty: send a JSON object (see §4).")
    try:
        raw = load_json(data)
    except ValueError as exc:
        raise HumeError(400, f"The request body is not valid JSON: {exc}.") from None
    if not isinstance(raw, dict):
        raise HumeError(400, "The request body must be a JSON object.")
    return raw


def _multipart() -> tuple[dict[str, Any], list[Upload]]:
    try:
        form, _ = parse_form(max_field_bytes=_JSON_PART_BYTES)
    except FormError as exc:
        raise HumeError(400, f"The multipart body cannot be read: {exc}.") from None
    except RequestEntityTooLarge:
        limit = human_bytes(_JSON_PART_BYTES)
        raise HumeError(
            413,
            f"A form field is larger than {limit}: send each file as a file part"
            " (filename=\"...\"), and a 'json' part of at most that size.",
        ) from None
    if "file" in form:
        # A part without a filename parameter arrives as a text field, its bytes decoded:
        # refuse it rather than drop it or hand the models lossy bytes.
        raise HumeError(
            400,
            "A 'file' part has no filename in its Content-Disposition; send each file as a"
            ' file part (filename="..." or filename="upload"), as the Hume SDK does.',
        )
    files = request.files.getlist("file")
    if len(files) > MAX_FILES:
        raise HumeError(
            400,
            f"Too many files: {len(files)} 'file' parts; the limit is {MAX_FILES} per request."
            " Send more as an archive (.zip, .tar.gz, .tar.bz2, .tar.xz).",
        )
    raw = _json_part()
    uploads: list[Upload] = []
    try:
        for part in files:
            uploads.append(_read_upload(part))
    except BaseException:
        for upload in uploads:
            upload.blob.close()
        raise
    return raw, uploads


def _json_part() -> dict[str, Any]:
    """The ``json`` part as a field or a file part; missing, empty or ``null`` mean ``{}``."""
    if "json" in request.form:
        text = request.form.getlist("json")[0]
    elif "json" in request.files:
        data = request.files.getlist("json")[0].stream.read(_JSON_PART_BYTES + 1)
        if len(data) > _JSON_PART_BYTES:
            raise HumeError(400, "The 'json' part is larger than 16 MiB.")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise HumeError(400, "The 'json' part is not UTF-8 text.") from None
    else:
        return {}
    if not text.strip() or text.strip() == "null":
        return {}
    try:
        value = load_json(text)
    except ValueError as exc:
        raise HumeError(400, f"The 'json' part is not valid JSON: {exc}.") from None
    if not isinstance(value, dict):
        raise HumeError(400, "The 'json' part must hold a JSON object (or null).")
    return value


def _read_upload(part: FileStorage) -> Upload:
    name = part.filename or "upload"
    try:
        blob = read_stream(part.stream, name=name, limits=UPLOAD_LIMITS)
    except MediaError as exc:
        limit = human_bytes(UPLOAD_LIMITS.max_file_bytes)
        raise HumeError(
            413 if exc.code == "too_large" else 400,
            f"File {name!r}: {exc.message} Hume accepts at most {limit} per file.",
        ) from None
    content_type = part.mimetype if part.headers.get("Content-Type") else None
    return Upload(part.filename or None, content_type or None, blob)


def _checked_request(raw: dict[str, Any], n_files: int) -> dict[str, Any]:
    """Contract check, then the rules the contract cannot say; returns the filled echo."""
    violations = validator().validate_schema(REQUEST_SCHEMA, raw)
    contract_gate(violations, lambda: _invalid(violations))
    models = raw.get("models")
    if isinstance(models, dict) and not any(models.get(m) is not None for m in MODEL_NAMES):
        raise HumeError(
            400,
            "'models' names no model: give at least one of "
            + ", ".join(MODEL_NAMES)
            + ", or leave 'models' out to run them all.",
        )
    echo = fill_request(raw)
    if len(echo["urls"]) > MAX_URLS:
        raise HumeError(
            400,
            f"Too many URLs: {len(echo['urls'])}; the limit is {MAX_URLS} per request."
            " Send more as an archive.",
        )
    if not echo["urls"] and not echo["text"] and not n_files:
        raise HumeError(
            400,
            "The job has no inputs: give 'urls', 'text', or (multipart) 'file' parts.",
        )
    return echo


# --- one job ----------------------------------------------------------------------------------


@bp.get("/jobs/<job_id>")
def get_job_details(job_id: str) -> Response:
    hume = backend()
    return json_response(hume.details(hume.find(tenant(), job_id)))


@bp.get("/jobs/<job_id>/predictions")
def get_job_predictions(job_id: str) -> Response:
    job = backend().find(tenant(), job_id)
    return jsonify(backend().predictions(job))


@bp.get("/jobs/<job_id>/artifacts")
def get_job_artifacts(job_id: str) -> Response:
    job = backend().find(tenant(), job_id)
    data = backend().artifacts(job)
    response = Response(data, mimetype="application/octet-stream")
    response.headers["Content-Disposition"] = f'attachment; filename="{job.id}-artifacts.zip"'
    return response
