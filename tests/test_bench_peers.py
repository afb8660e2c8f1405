"""benchmarks/bench_peers.py: wrk parsing, the tables and ratios, skipping peers, a smoke run.

Needs no network, node or java: the peers' skip paths are driven by missing or fake executables.
The smoke run needs wrk (Debian package ``wrk``) and is skipped without it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "bench_peers.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_peers", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_peers"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


bp = _load()

WRK_OUT = """Running 1s test @ http://127.0.0.1:8080/v1/batches
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     9.10ms    4.20ms  48.12ms   80.00%
    Req/Sec   860.00     40.00   900.00     70.00%
  Latency Distribution
     50%  812.00us
     75%   10.10ms
     90%   14.00ms
     99%    1.20s
  870 requests in 1.01s, 320.00KB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 5
Requests/sec:    861.39
Transfer/sec:    316.83KB
"""


def test_parse_wrk_reads_rate_percentiles_in_any_unit_and_errors() -> None:
    m = bp.parse_wrk(WRK_OUT)
    assert m.rps == pytest.approx(861.39)
    assert m.p50 == pytest.approx(0.812)  # us -> ms
    assert m.p99 == pytest.approx(1200.0)  # s -> ms
    assert (m.requests, m.non2xx, m.socket_errors) == (870, 5, 3)
    clean = re.sub(r"  (Socket errors|Non-2xx).*\n", "", WRK_OUT)
    assert (bp.parse_wrk(clean).non2xx, bp.parse_wrk(clean).socket_errors) == (0, 0)
    with pytest.raises(ValueError, match="Requests/sec"):
        bp.parse_wrk("unable to connect to 127.0.0.1:1 Connection refused")


def test_lua_script_sends_method_headers_and_an_escaped_body() -> None:
    scenario = bp.Scenario("x", "xai", "t", "POST", "/v1/batches", {"A": 'q"x'}, '{"n": "a\\b"}')
    script = bp.lua_script(scenario)
    assert 'wrk.method = "POST"' in script
    assert 'wrk.body = "{\\"n\\": \\"a\\\\b\\"}"' in script
    assert 'wrk.headers["A"] = "q\\"x"' in script


def test_ratio_is_ours_over_peer() -> None:
    assert bp.ratio(900.0, 300.0) == "3.00x"
    assert bp.ratio(1.0, 4.0) == "0.25x"
    assert bp.ratio(5.0, 0.0) == "n/a"


def test_scenario_table_has_a_row_per_server_and_ratios_on_peer_rows() -> None:
    scenario = bp.SCENARIOS[0]
    M, R, P = bp.Measure, bp.ScenarioResult, bp.Probe
    results = {
        "mockserver": R(P(200, 550), {1: M(900.0, 1.0, 2.0), 8: M(800.0, 9.0, 20.0)}, [850.0]),
        "prism": R(P(200, 749), {1: M(300.0, 4.0, 8.0), 8: M(400.0, 18.0, 10.0, non2xx=3)}),
        "wiremock": R(error="start timed out after 120 s"),
    }
    text = bp.format_scenario(scenario, results, [1, 8])
    lines = text.splitlines()
    assert lines[0] == "Hume job-status read: GET /v0/batch/jobs/{id}"
    ours_1 = next(line for line in lines if re.match(r"\s+1\s+mockserver\s", line))
    assert ours_1.split()[2:7] == ["900", "1.00", "2.00", "0", "550"]
    assert "x" not in ours_1.split("|")[-1]  # no ratios against itself
    prism_1 = next(line for line in lines if re.match(r"\s+1\s+prism\s", line))
    assert prism_1.split("|")[1].split() == ["3.00x", "0.25x", "0.25x"]
    prism_8 = next(line for line in lines if re.match(r"\s+8\s+prism\s", line))
    assert prism_8.split()[5] == "3"  # non-2xx shown
    assert prism_8.split("|")[1].split() == ["2.00x", "0.50x", "2.00x"]
    assert sum("wiremock   failed: start timed out" in line for line in lines) == 2
    assert lines[-1].strip() == "warm-up bursts, req/s: mockserver 850"


def test_server_table_shows_median_start_up_and_rss() -> None:
    text = bp.format_servers(
        ["mockserver", "prism"],
        {"mockserver": [0.5, 0.4, 0.9], "prism": []},
        {"mockserver": {"hume": 310.4, "xai": 55.0}, "prism": {"hume": None}},
    )
    ours, prism = text.splitlines()[1:]
    assert ours.split() == ["mockserver", "0.50", "(0.40-0.90,", "3)", "310", "55"]
    assert prism.split() == ["prism", "-", "-", "-"]


def test_peers_option() -> None:
    assert bp.parse_peers("none") == []
    assert bp.parse_peers("wiremock,prism") == ["wiremock", "prism"]
    with pytest.raises(argparse.ArgumentTypeError, match="unknown peer"):
        bp.parse_peers("mockoon")


def test_peers_are_skipped_with_a_reason_when_npm_is_missing(tmp_path: Path) -> None:
    servers, skipped = bp.resolve_peers(
        ["prism", "wiremock"], tmp_path / "peers", tmp_path, npm=str(tmp_path / "no-npm")
    )
    assert servers == []
    assert set(skipped) == {"prism", "wiremock"}
    assert all(reason.startswith("npm not found") for reason in skipped.values())
    assert "\n" not in skipped["prism"]


def test_a_failed_install_is_a_one_line_reason(tmp_path: Path) -> None:
    npm = tmp_path / "npm"
    npm.write_text(
        "#!/bin/sh\necho 'npm ERR! code ENOTFOUND' >&2\necho 'npm ERR! offline' >&2\nexit 1\n"
    )
    npm.chmod(0o755)
    servers, skipped = bp.resolve_peers(["wiremock"], tmp_path / "peers", tmp_path, npm=str(npm))
    assert servers == []
    assert skipped == {"wiremock": "npm install failed (rc 1): npm ERR! offline"}


def test_installed_peers_without_node_or_java_are_skipped(tmp_path: Path) -> None:
    peers = tmp_path / "peers"
    prism = peers / "node_modules" / "@stoplight" / "prism-cli"
    prism.mkdir(parents=True)
    (prism / "package.json").write_text(json.dumps({"version": "5", "bin": {"prism": "x.js"}}))
    build = peers / "node_modules" / "wiremock" / "build"
    build.mkdir(parents=True)
    (build / "wiremock-standalone-3.jar").write_bytes(b"")
    servers, skipped = bp.resolve_peers(
        ["prism", "wiremock"],
        peers,
        tmp_path,
        npm=str(tmp_path / "no-npm"),  # not needed: both are installed
        node=str(tmp_path / "no-node"),
        java=str(tmp_path / "no-java"),
    )
    assert servers == []
    assert skipped["prism"].startswith("node not found")
    assert skipped["wiremock"].startswith("java not found")


def _fake_wiremock(tmp_path: Path, java_body: str) -> Any:
    java = tmp_path / "java"
    java.write_text(f"#!/bin/sh\n{java_body}\n")
    java.chmod(0o755)
    jar = tmp_path / "wiremock-standalone-3.jar"
    jar.write_bytes(b"")
    return bp.WireMock(tmp_path, jar, str(java))


def test_a_peer_that_exits_at_start_is_a_one_line_reason(tmp_path: Path) -> None:
    server = _fake_wiremock(tmp_path, "echo 'Error: Unable to access jarfile' >&2\nexit 1")
    with pytest.raises(bp.StartError) as caught:
        bp.start(server, "hume", 30)
    assert str(caught.value) == "start failed: exited with rc 1: Error: Unable to access jarfile"


def test_a_peer_that_never_answers_is_stopped_after_the_timeout(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    server = _fake_wiremock(tmp_path, f"echo $$ > {pidfile}\nexec sleep 30")
    with pytest.raises(bp.StartError, match=r"^start timed out after 0.5 s$"):
        bp.start(server, "hume", 0.5)
    with pytest.raises(ProcessLookupError):
        os.kill(int(pidfile.read_text()), 0)


def test_wiremock_stubs_are_valid_and_match_every_scenario() -> None:
    mappings = ROOT / "benchmarks" / "peers" / "wiremock" / "mappings"
    stubs = [m for f in mappings.glob("*.json") for m in json.loads(f.read_text())["mappings"]]
    ids = {"hume": "7da13464-3dac-4fc9-aaa0-4a01d3838ca8", "xai": f"batch_{'0' * 8}-{'0' * 27}"}
    for scenario in bp.SCENARIOS:
        path = scenario.path.replace("{id}", ids[scenario.api])
        matching = [
            s
            for s in stubs
            if s["request"]["method"] == scenario.method
            and (
                s["request"].get("urlPath") == path
                or re.fullmatch(s["request"].get("urlPathPattern", "$^"), path)
            )
        ]
        assert len(matching) == 1, scenario.key
        assert json.loads(matching[0]["response"]["body"])
        assert matching[0]["response"]["headers"]["Content-Type"] == "application/json"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk (Debian package wrk) is not installed")
def test_smoke_run_of_ours_with_a_peer_skipped(tmp_path: Path) -> None:
    out = tmp_path / "peers.json"
    cmd = [
        sys.executable,
        str(SCRIPT),
        "--peers",
        "prism",
        "--npm",
        str(tmp_path / "no-npm"),
        "--peers-dir",
        str(tmp_path / "peers"),
        "--scenarios",
        "xai-read,xai-create",  # Hume's read waits for the language model: not a few seconds
        "--duration",
        "1",
        "--clients",
        "1",
        "--startup-runs",
        "1",
        "--warmup",
        "0",
        "--settle-timeout",
        "5",
        "--json",
        str(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "prism: skipped (npm not found" in proc.stdout
    rows = re.findall(
        r"^\s+1\s+mockserver\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)\s+(\d+)", proc.stdout, re.M
    )
    assert len(rows) == 2
    for rps, p50, p99, non2xx, size in rows:
        assert int(rps) > 0 and 0 < float(p50) <= float(p99)
        assert non2xx == "0" and int(size) > 0
    assert re.search(r"^mockserver\s+[\d.]+\s+\([\d.]+-[\d.]+, 1\)\s+-\s+\d+$", proc.stdout, re.M)
    report = json.loads(out.read_text())
    assert report["skipped"]["prism"].startswith("npm not found")
    for key in ("xai-read", "xai-create"):
        run = report["scenarios"][key]["results"]["mockserver"]["runs"]["1"]
        assert run["rps"] > 0 and run["non2xx"] == 0 and run["socket_errors"] == 0
    assert report["rss_mb"]["mockserver"]["xai"] > 0
    assert report["problems"] == []
