"""``mockserver check``: the test suites' conformance checks, against any running server.

The schemathesis suites (``tests/test_*_schemathesis.py``) drive the app in process. This
module drives a URL instead, with schemathesis' own engine (the one behind ``st run``): its
examples, coverage, fuzzing and, where the contract declares OpenAPI links, stateful phases,
holding every answer to the contract with the same checks (``CHECKS``) and the same allowances
for requests that are legitimately refused (``Profile``). The suites import the shared parts
from here (``tests/schemathesis_helpers.py``), so a decision about what counts as a failure is
made once, for the suites and the command alike.

schemathesis is a test dependency, not a runtime one: it is imported only when a check runs
(:func:`require_schemathesis`), and this module imports nothing of Flask, so the command works
against a server that runs elsewhere.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import asdict, dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .contracts import load_contract

if TYPE_CHECKING:
    import schemathesis
    from schemathesis.core.failures import Failure
    from schemathesis.engine.recorder import ScenarioRecorder

__all__ = [
    "CHECKS",
    "CHECK_TITLES",
    "CONTRACTS",
    "DEFAULT_KEY",
    "DEFAULT_MAX_EXAMPLES",
    "PROFILES",
    "VENDOR_CONTRACTS",
    "CheckError",
    "ContractReport",
    "FailureReport",
    "Profile",
    "Report",
    "config",
    "failure_filter",
    "invisible_on_the_wire",
    "missing_links",
    "only_form_types",
    "render_text",
    "require_schemathesis",
    "run_check",
    "shadowed_by_body",
]

#: The contracts ``mockserver check`` drives by default: the vendor faces. ``control`` is
#: allowed on request only, because fuzzing it changes server-wide state.
VENDOR_CONTRACTS = ("hume", "xai", "huggingface", "edenai")
CONTRACTS = (*VENDOR_CONTRACTS, "control")

#: The key sent when none is given: a tenant of its own, so resetting it touches nobody else.
DEFAULT_KEY = "mockserver-check-key"

#: Small by default: the coverage phase already sends its deterministic cases on top.
DEFAULT_MAX_EXAMPLES = 10

#: Seconds one request may take: inference on a cold model takes a few seconds, a hang never
#: ends (the run moves on and reports it).
REQUEST_TIMEOUT = 30.0

#: Every built-in check but positive_data_acceptance (a contract cannot list what the server
#: legitimately refuses, e.g. unsupported models) and ignored_auth (which only accepts 401/403,
#: and cannot strip a key sent in the configured headers); use_after_free and
#: ensure_resource_availability only act in stateful runs.
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "use_after_free",
    "ensure_resource_availability",
)

#: How the report names each check's failures.
CHECK_TITLES = MappingProxyType(
    {
        "not_a_server_error": "5xx (server error)",
        "status_code_conformance": "status code not declared",
        "content_type_conformance": "content type not declared",
        "response_schema_conformance": "response schema violation",
        "response_headers_conformance": "response headers violation",
        "negative_data_rejection": "negative data accepted",
        "missing_required_header": "missing required header accepted",
        "unsupported_method": "undeclared method not refused with 405",
        "allow_header_conformance": "405 without a matching Allow header",
        "use_after_free": "deleted resource still served",
        "ensure_resource_availability": "created resource not found",
    }
)


class CheckError(Exception):
    """A run that cannot start: bad usage, an unreachable URL, schemathesis missing. The
    command turns it into one line and exit status 2, never a traceback."""


# --- what each contract needs ------------------------------------------------------------------

_BINARY_PART = frozenset({"type", "format", "contentMediaType"})


@dataclass(frozen=True)
class Profile:
    """How one contract is driven, and which refusals of the checks are not failures.

    ``wire_invisible``: per multipart property, the schema keywords a part cannot break on the
    wire. A part is bytes, so a mutation that only breaks its JSON ``type`` or ``format`` gives
    a request that is valid once serialized; the server rightly accepts it, and schemathesis
    would report accepted negative data. ``form_fields_are_text`` extends that to every field
    of a multipart or urlencoded body (Eden AI's forms: every field is text).
    ``exclude_paths``: operations schemathesis cannot speak (the HF websocket, answered in
    HTTP only to refuse). ``fuzz_only``: operations whose coverage phase costs much and finds
    nothing their siblings' does not (Eden AI's launches share one body); they are fuzzed.
    ``body_wins``: a field may come in the body or the query string and the body wins (the
    control API's documented convention), so an invalid query value that the body overrides
    is never read, and accepting it is no failure.
    """

    name: str
    wire_invisible: Mapping[str, frozenset[str]] = field(default_factory=dict)
    form_fields_are_text: bool = False
    exclude_paths: str | None = None
    fuzz_only: str | None = None
    examples_phase: bool = True
    body_wins: bool = False
    #: (target, source) media-type aliases: ``audio/*`` bodies are sent as raw bytes.
    aliases: tuple[tuple[str, str], ...] = ()


#: Eden AI launches whose coverage phase runs: one per distinct set of fields.
_EDEN_COVERED = ("SpeechToTextAsync", "TextToSpeechAsync", "CustomDocumentParsingAsync")

PROFILES: Mapping[str, Profile] = MappingProxyType(
    {
        "hume": Profile(
            "hume",
            wire_invisible={"json": frozenset({"type"}), "file": _BINARY_PART},
        ),
        "xai": Profile(
            "xai",
            wire_invisible={
                "purpose": frozenset({"type"}),
                "expires_after": frozenset({"type"}),
                "file": frozenset({"type", "format"}),
            },
        ),
        "huggingface": Profile(
            "huggingface",
            exclude_paths=r"^/bulk/stream/",
            aliases=(("audio/wav", "application/octet-stream"),),
        ),
        "edenai": Profile(
            "edenai",
            wire_invisible={"file": _BINARY_PART},
            form_fields_are_text=True,
            # Launches other than one per distinct body, and every no-slash twin (the same
            # views answer both path forms): about 0.6 s per coverage case to build.
            fuzz_only=r"NoSlash$|^launch(?!.*Batch)(?!(" + "|".join(_EDEN_COVERED) + r")$)",
            # The contract's examples are all valid and cost 20 s of collection.
            examples_phase=False,
        ),
        "control": Profile("control", body_wins=True),
    }
)


# --- shared with the test suites -----------------------------------------------------------------


def config(
    *,
    seed: int,
    headers: Mapping[str, str],
    max_examples: int,
    coverage: bool = True,
    mode: str = "all",
    base_url: str | None = None,
    examples: bool = True,
    stateful: bool = True,
    fuzz_only: str | None = None,
) -> schemathesis.Config:
    """A deterministic schemathesis config that sends ``headers`` (the key) on every call and
    never generates security parameters (generated keys would only make auth errors).

    ``base_url`` is only for runs against a URL: then nothing is cached between runs (a run
    must not depend on the one before) and a request that hangs fails after
    ``REQUEST_TIMEOUT``. ``fuzz_only`` (an operationId regex) turns the coverage phase off
    for those operations.
    """
    require_schemathesis()
    from schemathesis import Config

    data: dict[str, Any] = {
        "seed": seed,
        "headers": dict(headers),
        "suppress-health-check": ["too_slow"],
        "generation": {
            "mode": mode,
            "max-examples": max_examples,
            "deterministic": True,
            "database": "none",
            "with-security-parameters": False,
        },
        "phases": {"coverage": {"enabled": coverage}},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
    }
    if base_url is not None:
        data["base-url"] = base_url
        data["cache"] = {"enabled": False}
        data["workers"] = 1  # one request at a time: the run is reproducible
        data["request-timeout"] = REQUEST_TIMEOUT
        data["phases"]["examples"] = {"enabled": examples}
        data["phases"]["stateful"] = {"enabled": stateful}
    if fuzz_only is not None and coverage:
        data["operations"] = [
            {"include-operation-id-regex": fuzz_only, "phases": {"coverage": {"enabled": False}}}
        ]
    built: schemathesis.Config = Config.from_dict(data)
    return built


def _mutations(case: schemathesis.Case[Any]) -> Sequence[Any]:
    """The mutations that made a negative case (none for other phases or positive cases)."""
    meta = case.meta
    data = getattr(getattr(meta, "phase", None), "data", None)
    return tuple(getattr(data, "mutations", None) or ())


def invisible_on_the_wire(case: schemathesis.Case[Any], invisible: Mapping[str, Set[str]]) -> bool:
    """A negative multipart case whose every mutation only touches keywords in ``invisible``."""
    if case.media_type != "multipart/form-data" or case.meta is None:
        return False
    mutations = _mutations(case)
    return bool(mutations) and all(
        bool(m.path) and set(m.keywords) <= invisible.get(str(m.path[0]), set()) for m in mutations
    )


_FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")


def only_form_types(case: schemathesis.Case[Any]) -> bool:
    """A negative form case whose mutations only change JSON types of fields: a form field is
    text on the wire, so ``5`` arrives as the valid ``"5"``."""
    if case.meta is None or case.media_type not in _FORMS:
        return False
    mutations = _mutations(case)
    return bool(mutations) and all(set(m.keywords) <= {"type"} for m in mutations)


def shadowed_by_body(case: schemathesis.Case[Any]) -> bool:
    """A negative case whose only negative part is query parameters that the JSON body also
    sets (not null): where the body wins, the server never reads them."""
    from schemathesis.core.parameters import ParameterLocation

    meta = case.meta
    if meta is None or not isinstance(case.body, dict):
        return False
    components = getattr(meta, "components", {})
    negative = {location for location, info in components.items() if info.mode.is_negative}
    if negative != {ParameterLocation.QUERY}:
        return False
    data = getattr(meta.phase, "data", None)
    named = [(getattr(data, "parameter", None), getattr(data, "parameter_location", None))]
    named += [(m.parameter, m.parameter_location) for m in _mutations(case)]
    names = {name for name, location in named if location == ParameterLocation.QUERY and name}
    if any(m.parameter is None for m in _mutations(case)):
        return False  # a mutation of the whole query string: not one shadowed field
    return bool(names) and all(case.body.get(name) is not None for name in names)


def failure_filter(profile: Profile) -> Callable[..., bool]:
    """A ``filter_failure`` hook: keep every failure but accepted negative data that cannot
    show on the wire (``Profile``)."""

    def filter_failure(
        context: Any, failure: Failure, case: schemathesis.Case[Any], response: Any
    ) -> bool:
        from schemathesis.core.failures import AcceptedNegativeData

        if not isinstance(failure, AcceptedNegativeData):
            return True
        if invisible_on_the_wire(case, profile.wire_invisible):
            return False
        if profile.body_wins and shadowed_by_body(case):
            return False
        return not (profile.form_fields_are_text and only_form_types(case))

    return filter_failure


def missing_links(
    raw_schema: Mapping[str, Any], path: str, parameter: str, required: Mapping[str, str]
) -> list[str]:
    """The ``required`` links (operationId -> runtime expression of ``parameter``) that the
    200 response of ``POST path`` does not declare: a stateful run needs every one."""
    post = raw_schema["paths"][path]["post"]
    links = post["responses"]["200"].get("links") or {}
    declared = {
        (link.get("operationId"), (link.get("parameters") or {}).get(parameter))
        for link in links.values()
    }
    return [op for op, expression in required.items() if (op, expression) not in declared]


def require_schemathesis() -> Any:
    """schemathesis, imported on first use: it is an optional extra (``mockserver[check]``)."""
    try:
        import schemathesis
    except ImportError:
        raise CheckError("schemathesis is not installed: pip install 'mockserver[check]'") from None
    return schemathesis


# --- the report --------------------------------------------------------------------------------


@dataclass
class FailureReport:
    """One distinct failure: the operation, the request that showed it and why it failed."""

    check: str
    operation: str
    method: str
    path: str
    body: str | None
    status: int | None
    reason: str
    count: int = 1


@dataclass
class ContractReport:
    """What one contract's run did and found."""

    name: str
    title: str | None
    base_url: str
    operations: int = 0
    operations_exercised: int = 0
    cases: int = 0
    elapsed_s: float = 0.0
    stopped: str = "completed"
    failures: dict[str, list[FailureReport]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    #: Declared (operation, status) pairs no answer had.
    unreached: list[tuple[str, str]] = field(default_factory=list)

    @property
    def failure_count(self) -> int:
        return sum(item.count for items in self.failures.values() for item in items)

    @property
    def ok(self) -> bool:
        return not self.failures and not self.errors


@dataclass
class Report:
    """A whole ``mockserver check`` run."""

    url: str
    key: str
    seed: int
    max_examples: int
    stateful: bool
    reset: str
    contracts: list[ContractReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(contract.ok for contract in self.contracts)

    def to_json(self) -> dict[str, Any]:
        """The machine-readable report (``--json``)."""
        data = asdict(self)
        data["ok"] = self.ok
        for out, contract in zip(data["contracts"], self.contracts, strict=True):
            out["ok"] = contract.ok
            out["failure_count"] = contract.failure_count
            out["unreached"] = [
                {"operation": operation, "status": status}
                for operation, status in contract.unreached
            ]
        return data


#: Unreached pairs the text report lists per contract (Eden AI's run leaves hundreds).
_UNREACHED_SHOWN = 20


def render_text(report: Report) -> str:
    """The report for a terminal: per contract a summary line, then failures by check (each
    with its operation, request and reason) and the declared answers never reached."""
    lines = [f"mockserver check {report.url} (seed {report.seed}, {report.reset})"]
    for contract in report.contracts:
        verdict = "ok" if contract.ok else f"{contract.failure_count} failure(s)"
        lines.append("")
        lines.append(
            f"{contract.name}: {contract.operations_exercised}/{contract.operations} operations,"
            f" {contract.cases} cases, {contract.elapsed_s:.1f} s: {verdict}"
        )
        if contract.stopped != "completed":
            lines.append(f"  stopped early: {contract.stopped}")
        for check, items in contract.failures.items():
            lines.append(f"  FAILED {check}: {CHECK_TITLES.get(check, check)}")
            for item in items:
                times = f" (x{item.count})" if item.count > 1 else ""
                status = "no response" if item.status is None else str(item.status)
                lines.append(f"    {item.operation} -> {status}{times}")
                lines.append(f"      request: {item.method} {item.path}")
                if item.body:
                    lines.append(f"      body: {item.body}")
                for row in item.reason.splitlines()[:4]:
                    lines.append(f"      {row}")
        for error in contract.errors:
            lines.append(f"  ERROR {error}")
        if contract.unreached:
            lines.append(f"  declared but never reached ({len(contract.unreached)}):")
            for operation, status in contract.unreached[:_UNREACHED_SHOWN]:
                lines.append(f"    {operation} {status}")
            hidden = len(contract.unreached) - _UNREACHED_SHOWN
            if hidden > 0:
                lines.append(f"    ... and {hidden} more (--json lists them all)")
    lines.append("")
    lines.append("OK" if report.ok else "FAILED")
    return "\n".join(lines)


# --- the target --------------------------------------------------------------------------------


def normalize_url(url: str) -> str:
    """``http(s)://host[:port][/prefix]`` without a trailing slash; anything else is a usage
    error, reported before a single request."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CheckError(f"not an http(s) URL: {url!r}")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def _request(
    url: str, method: str = "GET", body: Any = None, headers: Mapping[str, str] | None = None
) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read()


#: What a request to a server that does not speak HTTP, or is not there, raises.
_UNREACHABLE = (urllib.error.URLError, OSError, ValueError, http.client.HTTPException)


def ensure_reachable(url: str) -> None:
    """Any HTTP answer will do (a 404 too): only a server that does not answer is an error."""
    try:
        _request(url + "/_mock/health")
    except _UNREACHABLE as exc:
        reason = getattr(exc, "reason", exc)
        raise CheckError(f"cannot reach {url}: {reason}") from None


def _admin_headers(admin_token: str | None) -> dict[str, str]:
    return {"X-Mock-Admin-Token": admin_token} if admin_token else {}


def reset_state(url: str, tenant: str | None, admin_token: str | None) -> str:
    """Forget what earlier runs left (the tenant's, or with ``None`` everything) through the
    control API, so a run with the same seed sends the same requests and gets the same
    answers. A server without the control API is checked as it is."""
    body = {} if tenant is None else {"tenant": tenant}
    try:
        status, _ = _request(url + "/_mock/reset", "POST", body, _admin_headers(admin_token))
    except _UNREACHABLE as exc:
        return f"state not reset: {getattr(exc, 'reason', exc)}"
    if status == 200:
        return "state reset" if tenant is None else f"tenant {tenant!r} reset"
    if status in (401, 403):
        return "state not reset: the control API wants --admin-token"
    return f"state not reset: no control API (POST /_mock/reset answered {status})"


def _auth_headers(raw: Mapping[str, Any], secret: str | None) -> dict[str, str]:
    """The contract's first security scheme, carrying ``secret``: Hume's ``X-Hume-Api-Key``,
    the others' ``Authorization: Bearer``, the control API's admin token."""
    if not secret:
        return {}
    schemes = raw.get("components", {}).get("securitySchemes", {})
    for requirement in raw.get("security") or []:
        for name in requirement:
            scheme = schemes.get(name, {})
            if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
                return {scheme["name"]: secret}
            if scheme.get("type") == "http" and scheme.get("scheme", "").lower() == "bearer":
                return {"Authorization": f"Bearer {secret}"}
    return {}


def _server_path(raw: Mapping[str, Any]) -> str:
    """The path of the contract's first server (Eden AI's ``/v2``): operations live under it."""
    servers = raw.get("servers") or [{}]
    return urllib.parse.urlsplit(str(servers[0].get("url", ""))).path.rstrip("/")


# --- the run -----------------------------------------------------------------------------------


def run_check(
    url: str,
    contracts: Sequence[str] = VENDOR_CONTRACTS,
    *,
    key: str = DEFAULT_KEY,
    admin_token: str | None = None,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    seed: int = 0,
    stateful: bool = True,
    max_time: float | None = None,
) -> Report:
    """Check the server at ``url`` against ``contracts``, one after the other.

    The key's tenant is reset first (``reset_state``). ``control`` always runs last and is
    followed by a full reset: fuzzing it resets, moves clocks, switches profiles and installs
    fault rules server-wide, which would make the other contracts' answers meaningless.
    ``max_time`` bounds the whole run: what ran by then is reported, but not the operation
    under way at the deadline (schemathesis drops an interrupted scenario; its own time budget
    would instead keep fuzzing until the time is spent, which makes a bound a target).
    """
    require_schemathesis()
    unknown = sorted(set(contracts) - set(CONTRACTS))
    if unknown:
        raise CheckError(
            f"unknown contract(s): {', '.join(unknown)} (known: {', '.join(CONTRACTS)})"
        )
    if max_examples < 1:
        raise CheckError("--max-examples must be at least 1")
    base = normalize_url(url)
    ensure_reachable(base)
    ordered = sorted(dict.fromkeys(contracts), key=lambda name: name == "control")
    report = Report(
        url=base,
        key=key,
        seed=seed,
        max_examples=max_examples,
        stateful=stateful,
        reset=reset_state(base, key, admin_token),
    )
    deadline = None if max_time is None else time.monotonic() + max_time
    for name in ordered:
        left = None if deadline is None else deadline - time.monotonic()
        secret = admin_token if name == "control" else key
        contract = _run_contract(base, PROFILES[name], secret, max_examples, seed, stateful, left)
        report.contracts.append(contract)
        if name == "control":
            reset_state(base, None, admin_token)
        if contract.stopped == "interrupted":
            break
    return report


def _run_contract(
    base: str,
    profile: Profile,
    secret: str | None,
    max_examples: int,
    seed: int,
    stateful: bool,
    time_left: float | None,
) -> ContractReport:
    schemathesis = require_schemathesis()
    from schemathesis import engine
    from schemathesis.engine import events

    raw = load_contract(profile.name)
    report = ContractReport(
        name=profile.name,
        title=raw.get("info", {}).get("title"),
        base_url=base + _server_path(raw),
    )
    if time_left is not None and time_left <= 0:
        report.stopped = "time limit reached before it started"
        return report
    for target, source in profile.aliases:
        schemathesis.serializer.alias(target, source)
    cfg = config(
        seed=seed,
        headers=_auth_headers(raw, secret),
        max_examples=max_examples,
        base_url=report.base_url,
        examples=profile.examples_phase,
        stateful=stateful,
        fuzz_only=profile.fuzz_only,
    )
    schema = schemathesis.openapi.from_dict(raw, config=cfg)
    if profile.exclude_paths:
        schema = schema.exclude(path_regex=profile.exclude_paths)
    schema.hook(failure_filter(profile))
    declared = _declared_statuses(schema)
    report.operations = len(declared)

    collector = _Collector()
    started = time.monotonic()
    stream = engine.from_schema(schema).execute()
    timed_out = threading.Event()

    def time_is_up() -> None:
        timed_out.set()
        stream.stop()

    timer = None
    if time_left is not None:
        timer = threading.Timer(time_left, time_is_up)
        timer.daemon = True
        timer.start()
    try:
        for event in stream:
            if isinstance(event, events.ScenarioFinished):
                collector.add(event.recorder)
            elif isinstance(event, events.NonFatalError):
                report.errors.append(f"{event.label}: {event.info.title}: {event.info.message}")
            elif isinstance(event, events.FatalError):
                report.errors.append(f"schemathesis stopped: {event.exception!r}")
            elif isinstance(event, events.EngineFinished):
                reason = str(event.stop_reason.value)
                if reason == "interrupted" and timed_out.is_set():
                    reason = "max_time"
                report.stopped = _stop_reason(reason)
                collector.add_run_failures(event.failures)
    finally:
        if timer is not None:
            timer.cancel()
    report.elapsed_s = round(time.monotonic() - started, 2)
    if report.stopped == "server stopped responding":
        report.errors.append("the server stopped responding during the run")
    if report.stopped == "interrupted":
        report.errors.append("interrupted before the end")
    report.cases = collector.cases
    report.operations_exercised = len(set(collector.reached) & set(declared))
    report.failures = collector.grouped(base)
    report.unreached = _unreached(declared, collector.reached)
    return report


def _stop_reason(value: str) -> str:
    return {
        "completed": "completed",
        "max_time": "time limit reached",
        "interrupted": "interrupted",
        "failure_limit": "failure limit reached",
        "server_unavailable": "server stopped responding",
    }.get(value, value)


def _declared_statuses(schema: Any) -> dict[str, list[str]]:
    """Operation label (``GET /v1/batches``) -> the response keys its contract declares."""
    declared: dict[str, list[str]] = {}
    for result in schema.get_all_operations():
        try:
            operation = result.ok()
        except Exception:  # an operation schemathesis cannot read is reported by the engine
            continue
        responses = operation.definition.raw.get("responses") or {}
        declared[operation.label] = [str(status) for status in responses]
    return declared


def _matches(declared: str, status: int) -> bool:
    """``200`` and ``4XX`` style keys (``default`` is handled by the caller)."""
    declared = declared.upper()
    if len(declared) == 3 and declared.endswith("XX"):
        return str(status)[0] == declared[0]
    return declared == str(status)


def _unreached(
    declared: Mapping[str, list[str]], reached: Mapping[str, set[int]]
) -> list[tuple[str, str]]:
    """The declared (operation, status) pairs no answer had; ``default`` counts as reached by
    any status no other key of the operation names."""
    out = []
    for label, statuses in declared.items():
        seen = reached.get(label, set())
        named = [s for s in statuses if s != "default"]
        for status in statuses:
            if status == "default":
                hit = any(not any(_matches(s, code) for s in named) for code in seen)
            else:
                hit = any(_matches(status, code) for code in seen)
            if not hit:
                out.append((label, status))
    return out


_BODY_LIMIT = 200
_REASON_LIMIT = 2000


class _Collector:
    """Gathers cases, statuses and failures from the engine's scenario recorders."""

    def __init__(self) -> None:
        self.cases = 0
        self.reached: dict[str, set[int]] = {}
        self._failures: dict[tuple[str, str, str], FailureReport] = {}
        self._order: list[tuple[str, str, str]] = []

    def add(self, recorder: ScenarioRecorder) -> None:
        for case_id, interaction in recorder.interactions.items():
            self.cases += 1
            node = recorder.cases.get(case_id)
            if node is not None and interaction.response is not None:
                label = node.value.operation.label
                self.reached.setdefault(label, set()).add(interaction.response.status_code)
        for case_id, checks in recorder.checks.items():
            for check in checks:
                info = check.failure_info
                if info is None:
                    continue
                node = recorder.cases.get(case_id)
                sent = recorder.interactions.get(case_id)
                self._add(check.name, info.failure, node.value if node else None, sent)

    def add_run_failures(self, failures: Sequence[Failure]) -> None:
        """Failures of the after-run checks, which belong to no single request."""
        for failure in failures:
            self._add(failure.checks[0] if failure.checks else "run", failure, None, None)

    def _add(self, check: str, failure: Failure, case: Any, interaction: Any) -> None:
        operation = failure.operation or (case.operation.label if case is not None else "")
        title = failure.title or type(failure).__name__
        message = (failure.message or "").strip()
        key = (check, operation, f"{title}\n{message.splitlines()[0] if message else ''}")
        if key in self._failures:
            self._failures[key].count += 1
            return
        method, path, body, status = _request_summary(case, interaction)
        reason = f"{title}: {message}" if message else title
        self._failures[key] = FailureReport(
            check=check,
            operation=operation,
            method=method,
            path=path,
            body=body,
            status=status,
            reason=reason[:_REASON_LIMIT],
        )
        self._order.append(key)

    def grouped(self, base: str) -> dict[str, list[FailureReport]]:
        out: dict[str, list[FailureReport]] = {}
        for key in self._order:
            item = self._failures[key]
            item.path = _strip_origin(item.path, base)
            out.setdefault(item.check, []).append(item)
        return out


def _strip_origin(uri: str, base: str) -> str:
    origin = urllib.parse.urlsplit(base)
    parts = urllib.parse.urlsplit(uri)
    if parts.netloc != origin.netloc:
        return uri
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _request_summary(case: Any, interaction: Any) -> tuple[str, str, str | None, int | None]:
    """Method, URL, a short body and the status of the request that failed."""
    if interaction is not None:
        request = interaction.request
        response = interaction.response
        status = None if response is None else int(response.status_code)
        return request.method, request.uri, _short_body(request.body), status
    if case is not None:
        return case.method.upper(), case.formatted_path, _short_body(case.body), None
    return "", "", None, None


def _short_body(body: Any) -> str | None:
    """A body a person can read in one line: text cut short, binary as its size."""
    if body is None or type(body).__name__ == "NotSet":
        return None
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return f"<{len(body)} bytes>"
    elif isinstance(body, str):
        text = body
    else:
        text = json.dumps(body, ensure_ascii=False, default=repr)
    text = " ".join(text.split())
    if not text:
        return None
    return text if len(text) <= _BODY_LIMIT else text[: _BODY_LIMIT - 3] + "..."
