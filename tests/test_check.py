"""``mockserver check``: the suites' conformance checks against a server at a URL.

End to end against real servers on 127.0.0.1 (``slow``): our own (``mockserver serve``), clean
and then with a fault rule that makes xAI's batch list answer 500; and a tiny foreign server
that breaks the Hume list-jobs schema and has no control API. Every run is bounded by a few
examples per operation, no stateful phase unless the test is about it, and a time limit. The
usage errors (unreachable or malformed URL, schemathesis missing) and the report's pieces are
checked in process.

On two cores the file takes about 30 s of tests (40 s with pytest's start-up, most of it
conftest's imports).
"""

from __future__ import annotations

import ast
import json
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from mockserver import check
from mockserver.cli import cli
from mockserver.contracts import load_contract
from tests.serverproc import ServerProcess, free_port

TESTS = Path(__file__).resolve().parent
XAI_OPERATIONS = 10
#: Bounds for every run: the checks must finish in seconds, not stall a CI job.
BOUNDS = ["--max-examples", "3", "--seed", "7", "--max-time", "60"]


def run_cli(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    """The installed command's entry point in a child process: exit status and streams as a
    user sees them."""
    return subprocess.run(
        [sys.executable, "-m", "mockserver", "check", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with ServerProcess() as proc:
        yield proc


# --- against our server --------------------------------------------------------------------------


CLEAN = ["--contract", "xai", *BOUNDS, "--no-stateful", "--json"]


@pytest.fixture(scope="module")
def clean_run(server: ServerProcess) -> subprocess.CompletedProcess[str]:
    return run_cli(server.url, *CLEAN)


@pytest.mark.slow
def test_a_clean_contract_exits_0_with_a_full_report(
    server: ServerProcess, clean_run: subprocess.CompletedProcess[str]
) -> None:
    assert clean_run.returncode == 0, clean_run.stdout + clean_run.stderr
    report = json.loads(clean_run.stdout)
    assert report["ok"] is True
    assert report["url"] == server.url
    assert report["reset"] == f"tenant {check.DEFAULT_KEY!r} reset"
    assert (report["seed"], report["max_examples"], report["stateful"]) == (7, 3, False)
    [xai] = report["contracts"]
    assert xai["name"] == "xai"
    assert xai["title"] == load_contract("xai")["info"]["title"]
    assert xai["operations"] == xai["operations_exercised"] == XAI_OPERATIONS
    assert xai["cases"] > XAI_OPERATIONS * 3  # coverage cases on top of 3 fuzzed per operation
    assert (xai["failures"], xai["failure_count"], xai["errors"]) == ({}, 0, [])
    assert xai["stopped"] == "completed"
    for pair in xai["unreached"]:
        assert set(pair) == {"operation", "status"}
        method, _, path = pair["operation"].partition(" ")
        assert method in {"GET", "POST"} and path.startswith("/")
        assert pair["status"] in {"400", "403", "404", "412", "413"}  # the 200s were all reached
    # The tenant's journal shows the run: every request carried the key.
    status, journal = server.request("GET", f"/_mock/journal?tenant={check.DEFAULT_KEY}&limit=5")
    assert status == 200 and journal["entries"], journal


@pytest.mark.slow
def test_the_same_seed_sends_the_same_run(
    server: ServerProcess, clean_run: subprocess.CompletedProcess[str]
) -> None:
    """The tenant is reset first and generation is seeded: a second run of the command
    repeats the first. (In one process the fuzzing phase depends on what else the process
    imported, so the command is run as users run it, in a fresh one.)"""
    again = run_cli(server.url, *CLEAN)
    assert again.returncode == 0, again.stdout + again.stderr
    [first] = json.loads(clean_run.stdout)["contracts"]
    [second] = json.loads(again.stdout)["contracts"]
    for key in ("cases", "operations_exercised", "unreached", "failures"):
        assert first[key] == second[key], json.dumps([key, first[key], second[key]])


@pytest.mark.slow
def test_server_errors_are_reported_with_operation_request_and_reason(
    server: ServerProcess,
) -> None:
    rule = {
        "match": {"provider": "xai", "operation": "list_batches"},
        "action": {"kind": "status", "status": 500},
        "times": None,
    }
    assert server.request("POST", "/_mock/faults", {"rules": [rule]})[0] == 201
    try:
        done = run_cli(server.url, "--contract", "xai", *BOUNDS, "--no-stateful", "--json")
    finally:
        assert server.request("DELETE", "/_mock/faults")[0] == 200
    assert done.returncode == 1, done.stdout + done.stderr
    [xai] = json.loads(done.stdout)["contracts"]
    assert set(xai["failures"]) == {"not_a_server_error", "status_code_conformance"}
    for check_name in xai["failures"]:
        [failure] = xai["failures"][check_name]
        assert failure["check"] == check_name
        assert failure["operation"] == "GET /v1/batches"
        assert (failure["method"], failure["status"]) == ("GET", 500)
        assert failure["path"].startswith("/v1/batches")
        assert failure["count"] >= 1
    assert xai["failures"]["not_a_server_error"][0]["reason"].startswith("Server error")
    assert "Undocumented status code" in xai["failures"]["status_code_conformance"][0]["reason"]
    assert {"operation": "GET /v1/batches", "status": "200"} in xai["unreached"]


@pytest.mark.slow
def test_the_time_limit_stops_a_stateful_run_and_reports_what_ran(server: ServerProcess) -> None:
    """A limit too short for the whole run (about 5 s with its stateful phase): what ran is
    reported, and nothing failed."""
    result = CliRunner().invoke(
        cli,
        ["check", server.url, "--contract", "xai", "--max-examples", "2", "--max-time", "1"],
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"mockserver check {server.url} (seed 0, tenant {check.DEFAULT_KEY!r} reset)"
    assert re.fullmatch(r"xai: \d+/10 operations, \d+ cases, [\d.]+ s: ok", lines[2]), lines[2]
    assert lines[3] == "  stopped early: time limit reached"
    assert lines[-1] == "OK"


# --- against a foreign server ----------------------------------------------------------------


def _broken_hume(environ: Any, start_response: Any) -> Any:
    """Answers every Hume job list with a job without a single required field, and
    everything else (the control API included) with a 404: no such server ever passes."""
    request = Request(environ)
    if request.method == "GET" and request.path == "/v0/batch/jobs":
        body: Any = [{"job_id": 5}]
        response = Response(json.dumps(body), 200, content_type="application/json")
    else:
        response = Response(json.dumps({"message": "nope"}), 404, content_type="application/json")
    return response(environ, start_response)


@pytest.fixture
def broken_server() -> Iterator[str]:
    httpd = make_server("127.0.0.1", 0, _broken_hume, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(5)
        httpd.server_close()


@pytest.mark.slow
def test_a_schema_violation_of_a_foreign_server_is_a_failure(broken_server: str) -> None:
    result = CliRunner().invoke(
        cli, ["check", broken_server, "--contract", "hume", *BOUNDS, "--no-stateful", "--json"]
    )
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert report["reset"] == "state not reset: no control API (POST /_mock/reset answered 404)"
    [hume] = report["contracts"]
    violations = hume["failures"]["response_schema_conformance"]
    listed = [f for f in violations if f["operation"] == "GET /v0/batch/jobs"]
    assert listed, violations
    assert listed[0]["status"] == 200
    assert "Response violates schema" in listed[0]["reason"]
    assert "required property" in listed[0]["reason"]
    # The 404s the contract does not declare for the other operations are failures too.
    assert "status_code_conformance" in hume["failures"]


# --- usage errors: exit 2, one line ---------------------------------------------------------


def test_an_unreachable_url_is_a_usage_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    result = CliRunner().invoke(cli, ["check", url])
    assert result.exit_code == 2
    [line] = result.output.strip().splitlines()
    assert line.startswith(f"mockserver check: cannot reach {url}: "), line
    assert "refused" in line.lower(), line


def test_a_server_that_does_not_speak_http_is_a_usage_error() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"

        def answer() -> None:  # one connection: the reachability probe
            connection, _ = listener.accept()
            with connection:
                connection.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        result = CliRunner().invoke(cli, ["check", url])
        thread.join(5)
    assert result.exit_code == 2, result.output
    [line] = result.output.strip().splitlines()
    assert line.startswith(f"mockserver check: cannot reach {url}: "), line


@pytest.mark.parametrize("url", ["localhost:8000", "ftp://127.0.0.1/", "http://"])
def test_a_malformed_url_is_a_usage_error(url: str) -> None:
    result = CliRunner().invoke(cli, ["check", url])
    assert result.exit_code == 2
    assert result.output.strip() == f"mockserver check: not an http(s) URL: {url!r}"


def test_an_unknown_contract_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["check", "http://127.0.0.1:1", "--contract", "openai"])
    assert result.exit_code == 2
    assert "'openai' is not one of" in result.output


def test_without_schemathesis_the_command_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "schemathesis", None)  # import schemathesis -> ImportError
    result = CliRunner().invoke(cli, ["check", "http://127.0.0.1:1"])
    assert result.exit_code == 2
    assert result.output.strip() == (
        "mockserver check: schemathesis is not installed: pip install 'mockserver[check]'"
    )


def test_the_check_module_imports_neither_flask_nor_schemathesis() -> None:
    """``mockserver check`` runs against remote servers on machines without the test extra."""
    code = (
        "import sys; import mockserver.check, mockserver.cli; "
        "print(sorted(m for m in ('flask', 'schemathesis') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# --- the report's pieces -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "secret", "headers"),
    [
        ("hume", "k", {"X-Hume-Api-Key": "k"}),
        ("xai", "k", {"Authorization": "Bearer k"}),
        ("huggingface", "k", {"Authorization": "Bearer k"}),
        ("edenai", "k", {"Authorization": "Bearer k"}),
        ("control", "tok", {"Authorization": "Bearer tok"}),
        ("control", None, {}),
    ],
)
def test_each_contract_gets_the_key_in_its_own_header(
    name: str, secret: str | None, headers: dict[str, str]
) -> None:
    assert check._auth_headers(load_contract(name), secret) == headers


def test_operations_live_under_the_contract_s_server_path() -> None:
    assert check._server_path(load_contract("edenai")) == "/v2"
    assert {check._server_path(load_contract(n)) for n in ("hume", "xai", "control")} == {""}


def test_declared_statuses_never_answered_are_listed() -> None:
    declared = {
        "GET /a": ["200", "404"],
        "POST /b": ["201", "4XX"],
        "GET /c": ["200", "default"],
        "GET /d": ["200", "default"],
    }
    reached = {"GET /a": {200}, "POST /b": {201, 422}, "GET /c": {200, 503}, "GET /d": {200}}
    assert check._unreached(declared, reached) == [("GET /a", "404"), ("GET /d", "default")]


@pytest.mark.parametrize(
    ("body", "short"),
    [
        (None, None),
        (b"", None),
        (b"\xff\xfe\x00", "<3 bytes>"),
        ({"a": [1, 2]}, '{"a": [1, 2]}'),
        ("line one\n  line two", "line one line two"),
        ("x" * 500, "x" * 197 + "..."),
    ],
)
def test_request_bodies_are_summarized_on_one_line(body: Any, short: str | None) -> None:
    assert check._short_body(body) == short


def test_control_runs_last_and_is_followed_by_a_full_reset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Fuzzing the control API changes server-wide state: the vendor contracts run first."""
    calls: list[tuple[str, Any]] = []
    monkeypatch.setattr(check, "ensure_reachable", lambda url: None)
    monkeypatch.setattr(
        check, "reset_state", lambda url, tenant, token: calls.append(("reset", tenant)) or "ok"
    )

    def run_contract(base: str, profile: check.Profile, secret: Any, *rest: Any) -> Any:
        calls.append((profile.name, secret))
        return check.ContractReport(name=profile.name, title=None, base_url=base)

    monkeypatch.setattr(check, "_run_contract", run_contract)
    report = check.run_check(
        "http://127.0.0.1:1/", ["control", "hume", "xai"], key="k", admin_token="tok"
    )
    assert report.ok and report.url == "http://127.0.0.1:1"
    assert calls == [
        ("reset", "k"),
        ("hume", "k"),
        ("xai", "k"),
        ("control", "tok"),
        ("reset", None),
    ]


def test_the_text_report_lists_failures_by_check_then_unreached_answers() -> None:
    failure = check.FailureReport(
        check="not_a_server_error",
        operation="GET /v1/batches/{batch_id}",
        method="GET",
        path="/v1/batches/batch_1?limit=2",
        body=None,
        status=503,
        reason="Server error\nsecond line\nthird\nfourth\nfifth",
        count=2,
    )
    contract = check.ContractReport(
        name="xai",
        title="xAI",
        base_url="http://127.0.0.1:1",
        operations=10,
        operations_exercised=9,
        cases=120,
        elapsed_s=1.25,
        failures={"not_a_server_error": [failure]},
        errors=["fuzzing: Network error: the server went away"],
        unreached=[(f"GET /op{n}", "404") for n in range(22)],
    )
    report = check.Report(
        url="http://127.0.0.1:1",
        key="k",
        seed=3,
        max_examples=5,
        stateful=True,
        reset="state not reset: no control API (POST /_mock/reset answered 404)",
        contracts=[contract],
    )
    assert not report.ok and contract.failure_count == 2
    assert check.render_text(report).splitlines() == [
        "mockserver check http://127.0.0.1:1 (seed 3, state not reset: no control API "
        "(POST /_mock/reset answered 404))",
        "",
        "xai: 9/10 operations, 120 cases, 1.2 s: 2 failure(s)",
        "  FAILED not_a_server_error: 5xx (server error)",
        "    GET /v1/batches/{batch_id} -> 503 (x2)",
        "      request: GET /v1/batches/batch_1?limit=2",
        "      Server error",
        "      second line",
        "      third",
        "      fourth",
        "  ERROR fuzzing: Network error: the server went away",
        "  declared but never reached (22):",
        *(f"    GET /op{n} 404" for n in range(20)),
        "    ... and 2 more (--json lists them all)",
        "",
        "FAILED",
    ]
    data = report.to_json()
    assert data["ok"] is False and data["contracts"][0]["failure_count"] == 2
    assert data["contracts"][0]["unreached"][0] == {"operation": "GET /op0", "status": "404"}
    assert json.loads(json.dumps(data)) == data


def _wire_invisible(suite: str) -> dict[str, frozenset[str]]:
    """A suite's ``WIRE_INVISIBLE`` literal, read without importing the suite (which would
    build its schemas)."""
    tree = ast.parse((TESTS / suite).read_text(encoding="utf-8"))
    for node in tree.body:
        target = getattr(node, "target", None) or (getattr(node, "targets", None) or [None])[0]
        if isinstance(target, ast.Name) and target.id == "WIRE_INVISIBLE":
            value = ast.literal_eval(node.value)  # type: ignore[attr-defined]
            return {key: frozenset(keywords) for key, keywords in value.items()}
    raise AssertionError(f"{suite} has no WIRE_INVISIBLE")


@pytest.mark.parametrize(
    ("name", "suite"),
    [
        ("hume", "test_hume_schemathesis.py"),
        ("xai", "test_xai_schemathesis.py"),
        ("edenai", "test_eden_schemathesis.py"),
    ],
)
def test_the_command_allows_what_the_suites_allow(name: str, suite: str) -> None:
    """The refusals a suite excuses are the ones ``mockserver check`` excuses."""
    assert dict(check.PROFILES[name].wire_invisible) == _wire_invisible(suite)
