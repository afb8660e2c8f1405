"""The ``/_mock`` control API: health, reset, clock, profile, seed, jobs, journal, webhooks.

Views only parse, call the engine and render (contract: ``contracts/control.yaml``). Clock
advances and job steps run due side effects before answering, so a test that advances the clock
and then reads sees the consequences without sleeping.
"""

from __future__ import annotations

import hmac
import json
import math
import time
from datetime import datetime
from typing import Any, get_args

from flask import Blueprint, Response, current_app, jsonify, request

from .. import __version__
from ..contracts import contract_path, list_contracts
from ..engine.lifecycle import JobStatus
from ..engine.profiles import PROFILES
from ..engine.records import DeliveryStatus, Job
from ..providers.inputs import query_problem
from ..runtime import Runtime
from ..validation import load_json
from . import synthetic, ui
from .errors import ControlError, render_error
from .render import delivery_json, iso, job_detail, job_summary

__all__ = ["bp"]

JOB_STATUSES: tuple[str, ...] = get_args(JobStatus)
DELIVERY_STATUSES: tuple[str, ...] = get_args(DeliveryStatus)

bp = Blueprint("mock_control", __name__, url_prefix="/_mock")
bp.register_blueprint(ui.bp)  # the dashboard, /_mock/ui (guarded and rendered as here)
OPEN_ENDPOINTS = {"mock_control.health", *(f"{bp.name}.{ui.bp.name}.{v}" for v in ui.PUBLIC_VIEWS)}


def rt() -> Runtime:
    runtime: Runtime = current_app.extensions["mockserver"]
    return runtime


# --- plumbing ---------------------------------------------------------------------------------


@bp.before_request
def _check_admin_token() -> Response | None:
    token = rt().settings.admin_token
    if not token or request.endpoint in OPEN_ENDPOINTS:
        return None
    given = request.headers.get("X-Mock-Admin-Token") or ""
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        given = given or auth[7:].strip()
    if given and hmac.compare_digest(given.encode(), token.encode()):
        return None
    return render_error(
        401,
        "unauthorized",
        "the control API needs the admin token: 'Authorization: Bearer <token>' "
        "or 'X-Mock-Admin-Token: <token>'",
    )


@bp.errorhandler(ControlError)
def _control_error(exc: ControlError) -> Response:
    return render_error(exc.status, exc.code, exc.message)


@bp.errorhandler(UnicodeDecodeError)
def _bad_query(exc: UnicodeDecodeError) -> Response:
    """Raw bytes in the query string that are not UTF-8 (``?tenant=\xff``): a 400."""
    problem = query_problem()
    if problem is None:
        raise exc
    return render_error(400, "invalid_query", problem)


def body() -> dict[str, Any]:
    """The JSON object sent, ``{}`` for an empty body; anything else is a 400."""
    if not request.get_data():
        return {}
    try:  # depth-limited, strict UTF-8: a hostile body is a 400, never a RecursionError
        data = load_json(request.get_data())
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ControlError(400, "invalid_body", "the request body must be a JSON object")
    return data


#: The strings a boolean field accepts (any other string is a 400, not a silent false).
_BOOLEANS = {"1": True, "true": True, "yes": True, "on": True}
_BOOLEANS |= {"0": False, "false": False, "no": False, "off": False}


def arg(data: dict[str, Any], name: str, kind: type, default: Any = None) -> Any:
    """Read one field of the body or query string, checking its type."""
    value = data.get(name)
    if value is None:  # absent or an explicit null: fall back to the query string, then default
        value = request.args.get(name, default)
    if value is None or (isinstance(value, kind) and not isinstance(value, float | bool)):
        return value
    try:
        if kind is bool and isinstance(value, bool):
            return value
        if kind is bool and isinstance(value, str) and value.lower() in _BOOLEANS:
            return _BOOLEANS[value.lower()]
        fraction = kind is int and isinstance(value, float) and not value.is_integer()
        if kind in (int, float) and not isinstance(value, bool) and not fraction:
            number = kind(value)
            if math.isfinite(number):
                return number
    except (TypeError, ValueError, OverflowError):
        pass
    raise ControlError(
        400, "invalid_field", f"{name} must be a finite {kind.__name__}, got {value!r}"
    )


def status_arg(valid: tuple[str, ...]) -> str | None:
    """The ``status`` query filter, refused unless it is one of the engine's own statuses."""
    status = request.args.get("status")
    if status is not None and status not in valid:
        raise ControlError(
            400, "invalid_field", f"unknown status {status!r}; valid: {', '.join(valid)}"
        )
    return status


def find_job(job_id: str) -> Job:
    job = rt().engine.get(job_id)
    if job is None:
        raise ControlError(404, "job_not_found", f"no job with id {job_id!r}")
    return job


#: The furthest a clock may be moved (9999-01-01T00:00:00Z): RFC 3339 readings (``iso``) and
#: the vendors' dates end with year 9999, and the last year is left for times planned ahead.
LATEST = 253_370_764_800.0


def refuse_past_latest(tenant: str | None, delta: float) -> None:
    """Refuse a clock change of ``delta`` seconds that would take a clock past ``LATEST``:
    every clock reading would then fail to render, health checks included. Moving the server
    clock moves every tenant's clock with it."""
    clocks = rt().engine.clocks
    if tenant is None:
        readings = [clocks.server.now(), *(clocks.for_tenant(t).now() for t in clocks.tenants())]
    else:
        readings = [clocks.for_tenant(tenant).now()]
    if max(readings) + delta > LATEST:
        raise ControlError(400, "invalid_field", f"a clock cannot be moved past {iso(LATEST)}")


def after_time_change() -> None:
    """Run side effects that became due, then let the background threads deliver."""
    rt().scheduler.run_jobs()
    rt().scheduler.wake()


# --- health, reset, clock ---------------------------------------------------------------------


@bp.get("/health")
def health() -> Response:
    runtime = rt()
    return jsonify(
        status="ok",
        version=__version__,
        uptime_s=round(time.time() - runtime.started_at, 3),
        store=runtime.settings.store.split(":", 1)[0],
        profile=runtime.engine.profile_for(None),
        clock=clock_json(None),
        inference=runtime.inference.describe(),
        grpc={"port": runtime.extensions.get("xai.grpc_port")},
    )


@bp.post("/reset")
def reset() -> Response:
    tenant = arg(body(), "tenant", str)
    rt().reset(tenant)
    return jsonify(reset="all" if tenant is None else "tenant", tenant=tenant)


def clock_json(tenant: str | None) -> dict[str, Any]:
    clocks = rt().engine.clocks
    clock = clocks.server if tenant is None else clocks.for_tenant(tenant)
    now = clock.now()
    return {"tenant": tenant, "now": now, "now_iso": iso(now), "frozen": clock.frozen}


@bp.get("/clock")
def get_clock() -> Response:
    return jsonify(clock_json(request.args.get("tenant")))


@bp.post("/clock/advance")
def advance_clock() -> Response:
    data = body()
    tenant = arg(data, "tenant", str)
    seconds = arg(data, "seconds", float)
    if seconds is None or seconds < 0:
        raise ControlError(400, "invalid_field", "seconds is required and must be >= 0")
    refuse_past_latest(tenant, seconds)
    clocks = rt().engine.clocks
    (clocks.server if tenant is None else clocks.for_tenant(tenant)).advance(seconds)
    after_time_change()
    return jsonify(clock_json(tenant))


def parse_time(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except (ValueError, OverflowError):
            pass
    raise ControlError(
        400, "invalid_field", f"time must be Unix seconds or ISO 8601, got {value!r}"
    )


@bp.post("/clock/set")
def set_clock() -> Response:
    data = body()
    tenant = arg(data, "tenant", str)
    clocks = rt().engine.clocks
    clock = clocks.server if tenant is None else clocks.for_tenant(tenant)
    frozen = arg(data, "frozen", bool)
    if frozen is not None:
        clock.freeze() if frozen else clock.unfreeze()
    if data.get("time") is not None:
        when = parse_time(data["time"])
        refuse_past_latest(tenant, when - clock.now())
        try:
            clock.set(when)
        except ValueError as exc:
            raise ControlError(409, "clock_backwards", str(exc)) from None
    after_time_change()
    return jsonify(clock_json(tenant))


# --- profile, seed, tenants -------------------------------------------------------------------


@bp.get("/profile")
def get_profile() -> Response:
    tenant = request.args.get("tenant")
    return jsonify(tenant=tenant, profile=rt().engine.profile_for(tenant), profiles=list(PROFILES))


@bp.put("/profile")
def put_profile() -> Response:
    data = body()
    tenant, name = arg(data, "tenant", str), arg(data, "profile", str)
    try:
        rt().engine.set_profile(name or "", tenant)
    except ValueError as exc:
        raise ControlError(400, "invalid_profile", str(exc)) from None
    return jsonify(tenant=tenant, profile=name, profiles=list(PROFILES))


@bp.get("/seed")
def get_seed() -> Response:
    tenant = request.args.get("tenant")
    return jsonify(tenant=tenant, seed=rt().engine.seed_for(tenant))


@bp.put("/seed")
def put_seed() -> Response:
    data = body()
    tenant, seed = arg(data, "tenant", str), arg(data, "seed", int)
    if seed is None:
        raise ControlError(400, "invalid_field", "seed is required (an integer)")
    return jsonify(tenant=tenant, seed=rt().engine.set_seed(seed, tenant))


@bp.get("/tenants")
def tenants() -> Response:
    engine = rt().engine
    return jsonify(
        tenants=[
            {
                "tenant": t,
                "jobs": engine.store.count_jobs(t),
                "profile": engine.profile_for(t),
                "seed": engine.seed_for(t),
                "clock": clock_json(t),
            }
            for t in engine.tenants()
        ]
    )


# --- jobs ---------------------------------------------------------------------------------------


@bp.get("/jobs")
def list_jobs() -> Response:
    engine = rt().engine
    status = status_arg(JOB_STATUSES)
    limit = arg({}, "limit", int, 100)
    tenant = request.args.get("tenant")
    jobs = engine.list_jobs(
        tenant,
        request.args.get("provider"),
        newest_first=True,
        limit=None if status or tenant is None else limit,
    )
    if tenant is None:  # the store orders by tenant first; across tenants, newest first
        jobs.sort(key=lambda j: (j.created_at, j.seq), reverse=True)
    if status is None:  # states only for the jobs returned (the dashboard lists every change)
        jobs = jobs[:limit]
    views = ((job, engine.view(job)) for job in jobs)
    out = [job_summary(j, v) for j, v in views if status is None or v.status == status]
    return jsonify(jobs=out[:limit])


@bp.post("/jobs")
def create_job() -> Response:
    data = body()
    items = data.get("items", 1)
    if isinstance(items, int) and not isinstance(items, bool) and 0 <= items <= 10_000:
        items = [{"n": n} for n in range(items)]
    if not isinstance(items, list) or len(items) > 10_000:
        raise ControlError(400, "invalid_field", "items must be a count or a list (at most 10000)")
    try:
        job = rt().engine.submit(
            arg(data, "tenant", str, "default"),
            synthetic.NAME,
            inputs=items,
            attrs={"callback_url": arg(data, "callback_url", str)},
            open=bool(arg(data, "open", bool, False)),
            profile=arg(data, "profile", str),
            overrides=arg(data, "overrides", dict),
        )
    except ValueError as exc:
        raise ControlError(400, "invalid_field", str(exc)) from None
    response = jsonify(detail(job))
    response.status_code = 201
    return response


def detail(job: Job) -> dict[str, Any]:
    engine = rt().engine
    deliveries = engine.store.list_deliveries(job_id=job.id)
    return job_detail(job, engine.view(job), deliveries, engine.now(job.tenant))


@bp.get("/jobs/<job_id>")
def get_job(job_id: str) -> Response:
    return jsonify(detail(find_job(job_id)))


@bp.post("/jobs/<job_id>/step")
def step_job(job_id: str) -> Response:
    to = arg(body(), "to", str, "next")
    if to not in ("next", "terminal"):
        raise ControlError(400, "invalid_field", f"to must be 'next' or 'terminal', got {to!r}")
    job = rt().engine.step(find_job(job_id), to)
    after_time_change()
    return jsonify(detail(rt().engine.get(job.id) or job))


@bp.post("/jobs/<job_id>/cancel")
def cancel_job(job_id: str) -> Response:
    job = rt().engine.cancel(find_job(job_id))
    after_time_change()
    return jsonify(detail(rt().engine.get(job.id) or job))


@bp.get("/jobs/<job_id>/results")
def job_results(job_id: str) -> Response:
    job = find_job(job_id)
    results = rt().engine.results(job)
    return jsonify(job_id=job.id, results={str(k): v for k, v in sorted(results.items())})


@bp.get("/jobs/<job_id>/output")
def job_output(job_id: str) -> Response:
    """A job's output dataset, where its provider has one (Hugging Face bulk jobs): JSON
    Lines, one row per ended item, the same rows the provider writes to its output file."""
    job = find_job(job_id)
    render = rt().extensions.get(f"output:{job.provider}")
    if render is None:
        raise ControlError(404, "no_output", f"{job.provider} jobs have no output dataset")
    rows = render(job)
    body = "".join(json.dumps(row) + "\n" for row in rows)
    return Response(body, mimetype="application/x-ndjson")


# --- journal, webhooks, contracts -------------------------------------------------------------


@bp.get("/journal")
def journal() -> Response:
    entries = rt().journal.query(
        tenant=request.args.get("tenant"),
        provider=request.args.get("provider"),
        path_prefix=request.args.get("path"),
        status=arg({}, "status", int),
        after_id=arg({}, "after_id", int, 0),
        limit=arg({}, "limit", int, 100),
    )
    return jsonify(entries=entries, capacity=rt().journal.capacity, dropped=rt().journal.dropped)


@bp.get("/journal/export")
def export_journal() -> Response:
    """The journal in its replay form (``Journal.export``): diff two runs' exports."""
    body = rt().journal.export(
        tenant=request.args.get("tenant"), provider=request.args.get("provider")
    )
    response = Response(body, mimetype="application/x-ndjson")
    response.headers["X-Mock-Journal-Dropped"] = str(rt().journal.dropped)
    return response


@bp.get("/report")
def report() -> Response:
    """A tenant's contract violations and client behaviours (``engine/conformance.py``); with
    no tenant, the list of tenants that have a report."""
    tenant = request.args.get("tenant")
    log = rt().conformance
    if not tenant:
        return jsonify(tenants=log.tenants(), validation=rt().settings.validation)
    body = log.report(tenant)
    body["validation"] = rt().settings.validation
    return jsonify(body)


@bp.get("/webhooks")
def list_webhooks() -> Response:
    status = status_arg(DELIVERY_STATUSES)
    deliveries = rt().store.list_deliveries(
        tenant=request.args.get("tenant"),
        job_id=request.args.get("job_id"),
        status=status,
        limit=arg({}, "limit", int, 100),
    )
    return jsonify(deliveries=[delivery_json(d) for d in deliveries])


@bp.get("/webhooks/signing")
def webhook_signing() -> Response:
    secret = rt().settings.webhook_secret
    return jsonify(schemes={"standard": {"secret": secret, "headers": STANDARD_HEADERS}})


STANDARD_HEADERS = ["webhook-id", "webhook-timestamp", "webhook-signature"]


@bp.get("/webhooks/<delivery_id>")
def get_webhook(delivery_id: str) -> Response:
    delivery = rt().store.get_delivery(delivery_id)
    if delivery is None:
        raise ControlError(404, "delivery_not_found", f"no webhook delivery {delivery_id!r}")
    return jsonify(delivery_json(delivery))


@bp.post("/webhooks/<delivery_id>/redeliver")
def redeliver(delivery_id: str) -> Response:
    delivery = rt().outbox.redeliver(delivery_id)
    if delivery is None:
        raise ControlError(404, "delivery_not_found", f"no webhook delivery {delivery_id!r}")
    rt().scheduler.wake()
    return jsonify(delivery_json(delivery))


@bp.get("/contracts")
def contracts() -> Response:
    return jsonify(contracts=list_contracts())


@bp.get("/contracts/<name>")
def contract(name: str) -> Response:
    path = contract_path(name)
    if path is None:
        raise ControlError(404, "contract_not_found", f"no contract named {name!r}")
    # The bytes, not send_file: a file handle stays open until the WSGI response is closed,
    # which an in-process client (schemathesis' WSGI transport) never does.
    return Response(path.read_bytes(), mimetype="application/yaml")
