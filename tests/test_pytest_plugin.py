"""The pytest plugin (``mockserver.testing.pytest_plugin``), run the way its users run it.

Each test writes a small test file and runs pytest on it with ``pytester`` (in process, so the
model and imports are shared), then checks the outcomes and the messages users would read:
every fixture and marker, the contract marker failing a wrong client with the violation's
pointer and rule, a right client passing, and the plugin staying inert when nothing asks for it.
"""

from __future__ import annotations

import os
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from flask import Flask

from mockserver.app import create_app
from mockserver.inference.service import InferenceService
from mockserver.testing import ClientNotClean, assert_client_clean, build_settings

pytest_plugins = ["pytester"]

PLUGIN = "mockserver.testing.pytest_plugin"
ROOT = Path(__file__).resolve().parents[1]
WRONG_HUME = {"models": {"face": {"fps_pred": -1}}, "urls": ["https://example.com/face.png"]}


@pytest.fixture(scope="module", autouse=True)
def _heavy_modules_imported_outside_inner_runs() -> None:
    """An in-process pytester run forgets the modules it imported when it ends, and torch (with
    numpy, PyAV) cannot be imported twice in one process: load the model here first, so inner
    runs find them imported and leave them be."""
    import av  # noqa: F401
    import PIL.Image  # noqa: F401

    service = InferenceService("cpu")
    try:
        service.wait_ready(120)
    finally:
        service.close()


def plugin_args() -> list[str]:
    """``-p`` the plugin unless the installed metadata already registers it (``pytest11``): a
    second registration of the same module under another name is an error."""
    registered = any(ep.value == PLUGIN for ep in entry_points(group="pytest11"))
    return [] if registered else ["-p", PLUGIN]


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess(*plugin_args(), "--strict-markers", "-q", *args)


# --- fixtures ---------------------------------------------------------------------------------


def test_in_process_fixtures_settings_clock_and_scenario(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        HUME = {"X-Hume-Api-Key": "k"}

        def test_defaults(mockserver_app, mockserver_client, mockserver_clock):
            runtime = mockserver_app.extensions["mockserver"]
            assert (runtime.settings.clock, runtime.settings.grpc) == ("virtual", "off")
            assert mockserver_client.get("/_mock/health").get_json()["status"] == "ok"
            assert mockserver_clock.frozen
            before = mockserver_clock.now()
            assert mockserver_clock.advance(90) == before + 90
            tenant = mockserver_clock.tenant("k")
            assert tenant.advance(10) == before + 100 and mockserver_clock.now() == before + 90

        def test_fresh_app_per_test(mockserver_client):
            assert mockserver_client.get("/_mock/jobs").get_json()["jobs"] == []
            mockserver_client.post("/_mock/jobs", json={"tenant": "t"})

        @pytest.mark.mockserver(profile="manual", seed=7)
        def test_marker(mockserver_client):
            assert mockserver_client.get("/_mock/profile").get_json()["profile"] == "manual"
            assert mockserver_client.get("/_mock/seed").get_json()["seed"] == 7

        def test_cli_setting(mockserver_app):
            assert mockserver_app.extensions["mockserver"].settings.journal_size == 55

        @pytest.mark.mockserver(scenario="rate-limited")
        def test_scenario_setting(mockserver_client):
            assert mockserver_client.get("/v0/batch/jobs", headers=HUME).status_code == 429

        def test_scenario_fixture(mockserver_client, mockserver_scenario):
            added = mockserver_scenario(
                rules=[{"action": {"kind": "status", "status": 503}}], tenant="k"
            )
            assert mockserver_client.get("/v0/batch/jobs", headers=HUME).status_code == 503
            other = {"X-Hume-Api-Key": "other"}
            assert mockserver_client.get("/v0/batch/jobs", headers=other).status_code == 200
            assert mockserver_scenario.fired(added[0]["id"]) == 1
            mockserver_scenario.remove()
            assert mockserver_client.get("/v0/batch/jobs", headers=HUME).status_code == 200

        @pytest.mark.mockserver(profile="nope")
        def test_bad_setting(mockserver_app):
            pass
        """
    )
    result = run(pytester, "--mockserver-setting", "journal_size=55")
    result.assert_outcomes(passed=6, errors=1)
    result.stdout.fnmatch_lines(["*invalid value 'nope' for profile*valid choices: *manual*"])


def test_ini_settings_apply_and_the_command_line_wins(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nmockserver_settings =\n    seed = 11\n    profile = fast\n")
    pytester.makepyfile(
        """
        def test_settings(mockserver_settings):
            assert (mockserver_settings.seed, mockserver_settings.profile) == (11, "manual")
        """
    )
    run(pytester, "--mockserver-setting=profile=manual").assert_outcomes(passed=1)
    bad = run(pytester, "--mockserver-setting", "profile")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*--mockserver-setting: expected NAME=VALUE, got 'profile'*"])


def test_live_server_is_shared_reset_and_serves_the_hf_websocket(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import json, urllib.request
        import pytest
        from websockets.sync.client import connect

        SEEN = []

        def get(url, key="k"):
            request = urllib.request.Request(url, headers={"X-Hume-Api-Key": key})
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.load(response)

        def test_first(mockserver_server, mockserver_scenario, mockserver_clock):
            SEEN.append(mockserver_server)
            assert mockserver_server.url.startswith("http://127.0.0.1:")
            mockserver_scenario(rules=[{"action": {"kind": "latency", "delay": 0}}])
            mockserver_server.call("POST", "/jobs", {"tenant": "k"})
            assert get(mockserver_server.url + "/v0/batch/jobs") == []
            assert [e["operation"] for e in mockserver_server.journal("k")] == ["list_jobs"]
            assert mockserver_server.report("k").clean
            assert mockserver_clock.emulator is mockserver_server

        def test_the_scenario_fixture_removed_its_rule(mockserver_session_server):
            assert mockserver_session_server.call("GET", "/faults")["plans"] == []

        def test_second_is_reset(mockserver_server):
            assert mockserver_server is SEEN[0]
            assert mockserver_server.call("GET", "/jobs")["jobs"] == []
            assert mockserver_server.journal() == []

        @pytest.mark.mockserver(seed=3)
        def test_marker_gets_its_own(mockserver_server):
            assert mockserver_server is not SEEN[0]
            assert mockserver_server.call("GET", "/seed")["seed"] == 3

        def test_websocket(mockserver_server):
            path = "/bulk/stream/cpu/facebook/bart-large-mnli"
            url = "ws://127.0.0.1:%d%s" % (mockserver_server.port, path)
            item = {"id": "a", "inputs": "a new dress shop on 5th avenue",
                    "parameters": {"candidate_labels": ["fashion", "politics"]}}
            with connect(url, open_timeout=5, proxy=None) as ws:
                ws.send(b"Bearer hf_token")
                ws.send(json.dumps(item).encode())
                frames = []
                while not any(f["type"] == "results" for f in frames):
                    frames.append(json.loads(ws.recv(timeout=60)))
            result = [f for f in frames if f["type"] == "results"][0]
            assert "fashion" in json.dumps(result)
        """
    )
    run(pytester).assert_outcomes(passed=5)


def test_intercept_fixture_routes_requests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest, requests

        def test_routed(mockserver_intercept, mockserver_scenario):
            auth = {"Authorization": "Bearer xk"}
            answer = requests.get("https://api.x.ai/v1/batches", headers=auth)
            assert answer.status_code == 200 and answer.json()["batches"] == []
            mockserver_scenario(rules=[{"action": {"kind": "reset"}}])
            with pytest.raises(requests.ConnectionError):
                requests.get("https://api.x.ai/v1/batches", headers=auth)
            assert [e["status"] for e in mockserver_intercept.journal("xk")] == [200, 200]

        def test_other_hosts(mockserver_intercept):
            with pytest.raises(requests.ConnectionError):
                requests.get("https://example.com/")
        """
    )
    run(pytester).assert_outcomes(passed=2)


# --- the contract marker ------------------------------------------------------------------------


def test_contract_marker_fails_a_wrong_client_and_passes_a_right_one(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        f"""
        import pytest, requests

        WRONG = {WRONG_HUME!r}
        RIGHT = {{"models": {{"language": {{}}}}, "text": ["Hello there."]}}

        @pytest.mark.mockserver_contract(tenant="bad")
        def test_wrong_hume(mockserver_client):
            sent = mockserver_client.post(
                "/v0/batch/jobs", json=WRONG, headers={{"X-Hume-Api-Key": "bad"}}
            )
            assert sent.status_code == 400  # the client swallows the error: the marker won't

        @pytest.mark.mockserver_contract(tenant=["x1", "x2"])
        def test_wrong_xai(mockserver_intercept):
            requests.post("https://api.x.ai/v1/batches", json={{}},
                          headers={{"Authorization": "Bearer x2"}})

        @pytest.mark.mockserver_contract(tenant="good")
        def test_right_hume(mockserver_client):
            sent = mockserver_client.post(
                "/v0/batch/jobs", json=RIGHT, headers={{"X-Hume-Api-Key": "good"}}
            )
            assert sent.status_code == 200

        @pytest.mark.mockserver_contract(tenant="good")
        def test_other_tenants_do_not_count(mockserver_server):
            request = urllib_request("/v0/batch/jobs", mockserver_server.url)
            assert request == 400

        @pytest.mark.mockserver_contract
        def test_needs_an_emulator():
            pass

        @pytest.mark.mockserver_contract(tenant="bad")
        def test_own_failure_wins(mockserver_client):
            mockserver_client.post(
                "/v0/batch/jobs", json=WRONG, headers={{"X-Hume-Api-Key": "bad"}}
            )
            assert False, "the test's own assertion"

        def urllib_request(path, base):
            import json, urllib.error, urllib.request
            body = json.dumps(WRONG).encode()
            request = urllib.request.Request(
                base + path, data=body, method="POST",
                headers={{"X-Hume-Api-Key": "someone-else", "Content-Type": "application/json"}},
            )
            try:
                urllib.request.urlopen(request, timeout=10)
            except urllib.error.HTTPError as exc:
                return exc.code
        """
    )
    result = run(pytester, "-rf")
    result.assert_outcomes(passed=2, failed=4)
    result.stdout.fnmatch_lines(
        [
            "*test_wrong_hume*",
            "*mockserver_contract: the client broke the vendor contract",
            "*tenant 'bad': 1 finding(s) in 1 request(s):",
            "*- start_job POST /v0/batch/jobs -> 400: body /models/face/fps_pred: "
            "rule 'minimum': /models/face/fps_pred: -1 is less than the minimum of 0",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*tenant 'x2': 1 finding(s) in 1 request(s):",
            "*- create_batch POST /v1/batches -> 400: body (root): rule 'required': "
            'body: required property "name" is missing',
        ]
    )
    result.stdout.fnmatch_lines(["*needs the test to use an emulator fixture*"])
    result.stdout.fnmatch_lines(["*AssertionError: the test's own assertion*"])
    assert "tenant 'x1'" not in result.stdout.str()  # a clean tenant is not listed


def test_assert_client_clean_directly() -> None:
    app: Flask = create_app(build_settings())
    try:
        client = app.test_client()
        client.post("/v0/batch/jobs", json=WRONG_HUME, headers={"X-Hume-Api-Key": "bad"})
        assert assert_client_clean(app, tenant="good").requests == 0
        with pytest.raises(ClientNotClean) as caught:
            assert_client_clean(app)  # every tenant
        (finding,) = caught.value.report.findings
        assert (finding.operation, finding.pointer, finding.rule, finding.tenant) == (
            "start_job",
            "/models/face/fps_pred",
            "minimum",
            "bad",
        )
        assert "rule 'minimum'" in str(caught.value)
    finally:
        app.extensions["mockserver"].close()


# --- inert unless used ----------------------------------------------------------------------------


def test_plugin_is_inert_and_its_markers_are_registered(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a fresh interpreter: loading the plugin imports neither torch nor the emulator, and
    ``--strict-markers`` accepts its markers."""
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), *([path] if path else [])]))
    pytester.makepyfile(
        """
        import sys
        import pytest

        HEAVY = ("torch", "mockserver.app", "mockserver.settings", "mockserver.testing.intercept")

        @pytest.mark.mockserver(seed=1)
        @pytest.mark.mockserver_contract(tenant="t")
        def test_nothing_heavy_loaded():
            assert "mockserver.testing.pytest_plugin" in sys.modules
            assert [name for name in HEAVY if name in sys.modules] == []
        """
    )
    result = pytester.runpytest_subprocess(
        *plugin_args(), "--strict-markers", "-p", "no:cacheprovider"
    )
    # The body passed; then the marker failed the test: it needs an emulator fixture.
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*needs the test to use an emulator fixture*"])
    assert "AssertionError" not in result.stdout.str()


def test_contract_marker_with_behaviours_reports_the_tenant_s_findings(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import pytest

        HUME = {"X-Hume-Api-Key": "poller"}

        def poll(client):
            job = client.post("/v0/batch/jobs", json={"text": ["hi"]}, headers=HUME)
            for _ in range(3):
                client.get(f"/v0/batch/jobs/{job.get_json()['job_id']}", headers=HUME)

        @pytest.mark.mockserver_contract(tenant="poller", behaviours=True)
        def test_over_polling_fails(mockserver_client):
            poll(mockserver_client)

        @pytest.mark.mockserver_contract(tenant="poller")
        def test_contract_only_passes(mockserver_client):
            poll(mockserver_client)
        """
    )
    result = run(pytester, "-rf")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*tenant 'poller': 1 finding(s)*", "*get_job_details*rule 'fast_polling'*(2 time(s))"]
    )
