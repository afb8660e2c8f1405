"""Side-by-side benchmark: mockserver against Stoplight Prism and WireMock on the same contracts.

    python benchmarks/bench_peers.py [--duration 5] [--clients 1,8,32] [--peers prism,wiremock]
                                     [--peers-dir ~/.cache/mockserver/peers] [--json PATH]

One run, one machine, one contract per API. Peers:
  * Prism (``@stoplight/prism-cli``): ``prism mock`` of ``contracts/hume.yaml`` and of
    ``contracts/xai.yaml`` (static examples, request validation on);
  * WireMock (the ``wiremock`` npm package, its standalone jar run on the local Java) serving
    the stubs in ``benchmarks/peers/wiremock/mappings/``: our own responses, captured, byte for
    byte, with URL patterns for the ids.
Missing peers are installed first with ``npm install --prefix PEERS_DIR @stoplight/prism-cli
wiremock``; a peer that cannot be installed or started is skipped with a one-line reason.

Prints, for each scenario (Hume job-status read ``GET /v0/batch/jobs/{id}``, Hume job creation
``POST /v0/batch/jobs``, xAI batch-status read ``GET /v1/batches/{batch_id}``, xAI batch creation
``POST /v1/batches``), at each client count: every server's req/s, p50 and p99 latency (ms),
non-2xx count and response size, and the ratios ours/peer (req/s above 1 and latency below 1 are
ours ahead). Then start-up (spawn to the first 2xx of ``GET /v0/batch/jobs``, median of
``--startup-runs``), each server's RSS (whole process tree, after the load) and any problem seen
(non-2xx, socket errors, a server that died, warnings in our server's log).

For our server the read targets a real job (created, then polled until it completed) and a real
batch; the peers answer whatever the id. Each scenario is warmed up first, in 1 s bursts at 8
clients until req/s is steady (WireMock's JVM needs several seconds under load; between
``--warmup-min`` and ``--warmup`` seconds),
and each measured run waits for the server's CPU to settle (our job creations leave inference
work behind them).
Load comes from ``wrk --latency -t1`` (keep-alive, Debian package ``wrk``): a Python load
generator measures itself. Everything binds 127.0.0.1 and every step is bounded.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import IO, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the tests load this file by path

from procs import rss_mb, stop, tree  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MAPPINGS_ROOT = ROOT / "benchmarks" / "peers" / "wiremock"
CONTRACTS = {"hume": ROOT / "contracts" / "hume.yaml", "xai": ROOT / "contracts" / "xai.yaml"}
OURS = "mockserver"
PEERS = ("prism", "wiremock")
PACKAGES = {"prism": "@stoplight/prism-cli", "wiremock": "wiremock"}
DEFAULT_PEERS_DIR = Path("~/.cache/mockserver/peers")
HUME_KEY = {"X-Hume-Api-Key": "k"}
XAI_KEY = {"Authorization": "Bearer k"}
JSON_TYPE = {"Content-Type": "application/json"}
HUME_BODY = '{"text": ["I am glad the benchmark is running."], "models": {"language": {}}}'
XAI_BODY = '{"name": "bench"}'
# A GET every server answers with a 2xx as soon as it serves the API: start-up and readiness.
PROBES = {"hume": ("/v0/batch/jobs", HUME_KEY), "xai": ("/v1/batches", XAI_KEY)}


@dataclass(frozen=True)
class Scenario:
    key: str
    api: str
    title: str
    method: str
    path: str  # "{id}" stands for the job or batch id
    headers: dict[str, str]
    body: str | None = None


SCENARIOS = (
    Scenario("hume-read", "hume", "Hume job-status read", "GET", "/v0/batch/jobs/{id}", HUME_KEY),
    Scenario(
        "hume-create",
        "hume",
        "Hume job creation",
        "POST",
        "/v0/batch/jobs",
        {**HUME_KEY, **JSON_TYPE},
        HUME_BODY,
    ),
    Scenario("xai-read", "xai", "xAI batch-status read", "GET", "/v1/batches/{id}", XAI_KEY),
    Scenario(
        "xai-create",
        "xai",
        "xAI batch creation",
        "POST",
        "/v1/batches",
        {**XAI_KEY, **JSON_TYPE},
        XAI_BODY,
    ),
)


@dataclass
class Measure:
    """One wrk run. Latencies in milliseconds."""

    rps: float
    p50: float
    p99: float
    requests: int = 0
    non2xx: int = 0
    socket_errors: int = 0
    settle_s: float = 0.0


@dataclass
class Probe:
    status: int
    bytes: int
    body: str = ""


@dataclass
class ScenarioResult:
    probe: Probe | None = None
    runs: dict[int, Measure] = field(default_factory=dict)
    warmup: list[float] = field(default_factory=list)
    error: str | None = None


class StartError(Exception):
    """A server that did not come up; the message is the one-line reason."""


# --- wrk ------------------------------------------------------------------------------------

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _find(pattern: str, text: str) -> re.Match[str]:
    match = re.search(pattern, text)
    if match is None:
        raise ValueError(f"wrk output lacks {pattern!r}:\n{text}")
    return match


def parse_wrk(out: str) -> Measure:
    """The figures of ``wrk --latency`` output."""

    def pct(p: str) -> float:
        value, unit = _find(rf"\s{p}%\s+([\d.]+)(us|ms|s|m)\b", out).groups()
        return float(value) * UNITS[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    return Measure(
        rps=float(_find(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        p50=pct("50"),
        p99=pct("99"),
        requests=int(_find(r"(\d+) requests in", out).group(1)),
        non2xx=int(errors.group(1)) if errors else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
    )


def lua_script(scenario: Scenario) -> str:
    """The wrk script that sends the scenario's method, headers and body."""

    def quote(text: str) -> str:
        escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'

    lines = [f'wrk.method = "{scenario.method}"']
    if scenario.body is not None:
        lines.append(f"wrk.body = {quote(scenario.body)}")
    for name, value in scenario.headers.items():
        lines.append(f"wrk.headers[{quote(name)}] = {quote(value)}")
    return "\n".join(lines) + "\n"


def run_wrk(url: str, script: Path, clients: int, duration: float) -> Measure:
    cmd = ["wrk", "-t1", f"-c{clients}", f"-d{duration:g}s", "--latency", "-s", str(script), url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60, check=False)
    if proc.returncode != 0 or proc.stderr.strip():  # a Lua error is only a line on stderr
        raise RuntimeError(f"wrk failed (rc {proc.returncode}): {proc.stderr.strip()[-300:]}")
    return parse_wrk(proc.stdout)


# --- processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def request(
    url: str, method: str = "GET", headers: dict[str, str] | None = None, body: str | None = None
) -> Probe:
    data = body.encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as response:
            raw = response.read()
            return Probe(response.status, len(raw), raw.decode(errors="replace"))
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        exc.close()
        return Probe(exc.code, len(raw), raw.decode(errors="replace"))


def cpu_seconds(pid: int) -> float:
    ticks = 0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def settle(pid: int, timeout: float, window: float = 0.5, busy: float = 0.1) -> float:
    """Wait until the tree uses under ``busy`` of a core over ``window``; the seconds waited."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        before = cpu_seconds(pid)
        time.sleep(window)
        if cpu_seconds(pid) - before < busy * window:
            break
    return time.perf_counter() - start


def last_line(path: Path | None) -> str:
    if path is None or not path.exists():
        return ""
    lines = [line.strip() for line in path.read_text(errors="replace").splitlines()]
    lines = [line for line in lines if line]
    return lines[-1][:200] if lines else ""


# --- servers --------------------------------------------------------------------------------


class Server:
    """How to start one server for one API, and the ids its read scenarios use."""

    name = ""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir

    def command(self, api: str, port: int) -> list[str]:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def version(self) -> str:
        return ""

    def output(self, api: str) -> tuple[IO[bytes] | int, Path | None]:
        """Where stdout goes (a peer logs every request: /dev/null), and the stderr file."""
        log = self.workdir / f"{self.name}-{api}.log"
        return subprocess.DEVNULL, log

    def prepare(self, base: str, api: str, timeout: float) -> str:
        """The id the read scenario of ``api`` uses."""
        return str(uuid.uuid4()) if api == "hume" else f"batch_{uuid.uuid4()}"


class Ours(Server):
    name = OURS

    def command(self, api: str, port: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "mockserver",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--model-load",
            "lazy",
            "--grpc",
            "off",
            "--log-level",
            "warning",
        ]

    def describe(self) -> str:
        return (
            "mockserver serve --host 127.0.0.1 --port P --model-load lazy --grpc off "
            "--log-level warning (stdout and stderr kept, to report warnings)"
        )

    def version(self) -> str:
        try:
            return metadata.version("mockserver")
        except metadata.PackageNotFoundError:
            return ""

    def output(self, api: str) -> tuple[IO[bytes] | int, Path | None]:
        return subprocess.STDOUT, self.workdir / f"{self.name}-{api}.log"

    def prepare(self, base: str, api: str, timeout: float) -> str:
        if api == "xai":
            created = request(base + "/v1/batches", "POST", {**XAI_KEY, **JSON_TYPE}, XAI_BODY)
            if created.status != 200:
                raise StartError(f"create batch answered {created.status}: {created.body[:200]}")
            return str(json.loads(created.body)["batch_id"])
        created = request(base + "/v0/batch/jobs", "POST", {**HUME_KEY, **JSON_TYPE}, HUME_BODY)
        if created.status != 200:
            raise StartError(f"start job answered {created.status}: {created.body[:200]}")
        job_id = str(json.loads(created.body)["job_id"])
        # Poll until the job is terminal, so its state cannot change under the measurement.
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            read = request(base + f"/v0/batch/jobs/{job_id}", headers=HUME_KEY)
            if read.status == 200 and json.loads(read.body)["state"]["status"] in (
                "COMPLETED",
                "FAILED",
            ):
                return job_id
            time.sleep(0.1)
        raise StartError(f"job {job_id} not completed after {timeout:g} s")


class Prism(Server):
    name = "prism"

    def __init__(self, workdir: Path, package: Path, node: str) -> None:
        super().__init__(workdir)
        self.package = package
        self.node = node
        meta = json.loads((package / "package.json").read_text())
        self.entry = package / meta["bin"]["prism"]
        self._version = str(meta["version"])

    def command(self, api: str, port: int) -> list[str]:
        return [
            self.node,
            str(self.entry),
            "mock",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--verboseLevel",
            "warn",
            "--cors=false",
            str(CONTRACTS[api]),
        ]

    def describe(self) -> str:
        return (
            "prism mock --host 127.0.0.1 --port P --verboseLevel warn --cors=false "
            "contracts/{hume,xai}.yaml: one process per contract, static examples, "
            "request validation on, single process (no -m), stdout to /dev/null"
        )

    def version(self) -> str:
        return self._version


WIREMOCK_FLAGS = [
    "--bind-address",
    "127.0.0.1",
    "--no-request-journal",
    "--disable-request-logging",
    "--async-response-enabled",
    "false",
    "--disable-banner",
    "--disable-gzip",
    "--disable-response-templating",
    "--disable-extensions-scanning",
    "--use-chunked-encoding",
    "never",
]


class WireMock(Server):
    name = "wiremock"

    def __init__(self, workdir: Path, jar: Path, java: str) -> None:
        super().__init__(workdir)
        self.jar = jar
        self.java = java

    def command(self, api: str, port: int) -> list[str]:
        return [
            self.java,
            "-jar",
            str(self.jar),
            "--port",
            str(port),
            "--root-dir",
            str(MAPPINGS_ROOT),
            *WIREMOCK_FLAGS,
        ]

    def describe(self) -> str:
        return (
            f"java -jar {self.jar.name} --port P --root-dir benchmarks/peers/wiremock "
            f"{' '.join(WIREMOCK_FLAGS)} (the jar run directly, not via the npm launcher; JVM "
            "defaults; stubs with fixed bodies captured from ours; stdout to /dev/null)"
        )

    def version(self) -> str:
        match = re.search(r"wiremock-standalone-(.+)\.jar$", self.jar.name)
        java = ""
        try:
            out = subprocess.run(
                [self.java, "-version"], capture_output=True, text=True, timeout=30, check=False
            ).stderr
            found = re.search(r'version "([^"]+)"', out)
            java = f", Java {found.group(1)}" if found else ""
        except (OSError, subprocess.TimeoutExpired):
            pass
        return (match.group(1) if match else "?") + java


def start(
    server: Server, api: str, timeout: float
) -> tuple[subprocess.Popen[bytes], str, float, Path | None]:
    """Spawn ``server`` for ``api``; the process, base URL, seconds to the first 2xx, log."""
    port = free_port()
    stdout, log = server.output(api)
    errfile = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115
    out = errfile if stdout == subprocess.STDOUT else stdout
    begin = time.perf_counter()
    try:
        proc = subprocess.Popen(
            server.command(api, port),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=errfile,
            start_new_session=True,
            cwd=ROOT,
        )
    except OSError as exc:
        raise StartError(f"could not spawn: {exc}") from None
    finally:
        if not isinstance(errfile, int):
            errfile.close()
    base = f"http://127.0.0.1:{port}"
    path, headers = PROBES[api]
    try:
        while time.perf_counter() - begin < timeout:
            if proc.poll() is not None:
                reason = f"exited with rc {proc.returncode}"
                detail = last_line(log)
                raise StartError(f"start failed: {reason}" + (f": {detail}" if detail else ""))
            with contextlib.suppress(OSError):
                if 200 <= request(base + path, headers=headers).status < 300:
                    return proc, base, time.perf_counter() - begin, log
            time.sleep(0.01)
        raise StartError(f"start timed out after {timeout:g} s")
    except BaseException:
        stop(proc)
        raise


# --- peers: install and locate --------------------------------------------------------------


def prism_package(peers_dir: Path) -> Path | None:
    package = peers_dir / "node_modules" / "@stoplight" / "prism-cli"
    return package if (package / "package.json").exists() else None


def wiremock_jar(peers_dir: Path) -> Path | None:
    jars = sorted((peers_dir / "node_modules" / "wiremock" / "build").glob("*.jar"))
    return jars[0] if jars else None


LOCATE: dict[str, Callable[[Path], Path | None]] = {
    "prism": prism_package,
    "wiremock": wiremock_jar,
}


def install(missing: Sequence[str], peers_dir: Path, npm: str, timeout: float) -> str | None:
    """``npm install`` the missing peers into ``peers_dir``; the reason it failed, or None."""
    npm_path = shutil.which(npm)
    if npm_path is None:
        return f"npm not found ({npm}); needed to install {', '.join(PACKAGES[m] for m in missing)}"
    packages = [PACKAGES[m] for m in missing]
    print(f"installing {' '.join(packages)} into {peers_dir} ...", file=sys.stderr, flush=True)
    cmd = [npm_path, "install", "--prefix", str(peers_dir), "--no-audit", "--no-fund", *packages]
    try:
        peers_dir.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return f"npm install timed out after {timeout:g} s"
    except OSError as exc:
        return f"npm install could not run: {exc}"
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        return f"npm install failed (rc {proc.returncode}): {lines[-1][:200] if lines else ''}"
    return None


def resolve_peers(
    names: Sequence[str],
    peers_dir: Path,
    workdir: Path,
    *,
    npm: str = "npm",
    node: str = "node",
    java: str = "java",
    install_timeout: float = 600.0,
) -> tuple[list[Server], dict[str, str]]:
    """The peers ready to start, and a one-line reason for each one skipped."""
    skipped: dict[str, str] = {}
    missing = [n for n in names if LOCATE[n](peers_dir) is None]
    if missing:
        failure = install(missing, peers_dir, npm, install_timeout)
        if failure is not None:
            skipped.update(dict.fromkeys(missing, failure))
    servers: list[Server] = []
    for name in names:
        if name in skipped:
            continue
        found = LOCATE[name](peers_dir)
        if found is None:
            skipped[name] = f"{PACKAGES[name]} not found under {peers_dir} after npm install"
            continue
        if name == "prism":
            node_path = shutil.which(node)
            if node_path is None:
                skipped[name] = f"node not found ({node})"
                continue
            servers.append(Prism(workdir, found, node_path))
        else:
            java_path = shutil.which(java)
            if java_path is None:
                skipped[name] = f"java not found ({java})"
                continue
            servers.append(WireMock(workdir, found, java_path))
    return servers, skipped


# --- measurement ----------------------------------------------------------------------------


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measure_startup(server: Server, runs: int, timeout: float) -> list[float]:
    times = []
    for _ in range(runs):
        proc, _, seconds, _ = start(server, "hume", timeout)
        stop(proc)
        times.append(seconds)
    return times


def warm_up(url: str, script: Path, limit: float, least: float, burst: float = 1.0) -> list[float]:
    """1 s bursts at 8 clients until req/s is steady (JITs); each burst's req/s.

    Steady: at least ``least`` seconds done and the last three bursts within 10 % of their mean.
    Never more than ``limit`` seconds.
    """
    rates: list[float] = []
    begin = time.perf_counter()
    while not rates or time.perf_counter() - begin + burst <= limit:
        rates.append(run_wrk(url, script, 8, burst).rps)
        last = rates[-3:]
        mean = statistics.fmean(last)
        steady = len(last) == 3 and all(abs(r - mean) <= 0.1 * mean for r in last)
        if steady and time.perf_counter() - begin >= least:
            break
    return rates


@dataclass
class Options:
    clients: list[int]
    duration: float
    warmup: float
    warmup_min: float
    settle_timeout: float
    start_timeout: float


def run_api(
    server: Server,
    api: str,
    scenarios: Sequence[Scenario],
    options: Options,
    problems: list[str],
) -> tuple[dict[str, ScenarioResult], float | None]:
    """Measure ``scenarios`` of one API on a fresh instance; the results and RSS after load."""
    results: dict[str, ScenarioResult] = {}
    try:
        proc, base, _, log = start(server, api, options.start_timeout)
    except StartError as exc:
        problems.append(f"{server.name} ({api}): {exc}")
        return {s.key: ScenarioResult(error=str(exc)[:200]) for s in scenarios}, None
    rss: float | None = None
    try:
        target = server.prepare(base, api, options.start_timeout)
        for scenario in scenarios:
            result = results[scenario.key] = ScenarioResult()
            url = base + scenario.path.replace("{id}", target)
            result.probe = request(url, scenario.method, scenario.headers, scenario.body)
            if not 200 <= result.probe.status < 300:
                problems.append(
                    f"{server.name} {scenario.key}: a single request answered "
                    f"{result.probe.status}: {result.probe.body.strip()[:300]}"
                )
            script = server.workdir / f"{scenario.key}.lua"
            script.write_text(lua_script(scenario))
            if options.warmup > 0:
                progress(f"  {server.name} {scenario.key}: warm-up")
                result.warmup = warm_up(url, script, options.warmup, options.warmup_min)
            for clients in options.clients:
                waited = settle(proc.pid, options.settle_timeout)
                if waited >= options.settle_timeout:
                    problems.append(
                        f"{server.name} {scenario.key} at {clients} clients: still busy after "
                        f"{options.settle_timeout:g} s of settling (measured anyway)"
                    )
                progress(f"  {server.name} {scenario.key}: {clients} clients")
                measure = run_wrk(url, script, clients, options.duration)
                measure.settle_s = round(waited, 2)
                result.runs[clients] = measure
                if measure.non2xx or measure.socket_errors:
                    after = request(url, scenario.method, scenario.headers, scenario.body)
                    problems.append(
                        f"{server.name} {scenario.key} at {clients} clients: "
                        f"{measure.non2xx} non-2xx and {measure.socket_errors} socket errors in "
                        f"{measure.requests} requests; a request after the run: "
                        f"{after.status} {after.body.strip()[:200]}"
                    )
                if proc.poll() is not None:
                    raise RuntimeError(f"exited with rc {proc.returncode} during {scenario.key}")
        rss = rss_mb(proc.pid)
    except Exception as exc:  # one server's failure is a line of the report, not the end of it
        problems.append(f"{server.name} ({api}): {exc}")
        for scenario in scenarios:
            results.setdefault(scenario.key, ScenarioResult()).error = str(exc)[:200]
    finally:
        stop(proc)
        if isinstance(server, Ours) and log is not None:
            noted = [
                line
                for line in log.read_text(errors="replace").splitlines()
                if re.search(r"WARNING|ERROR|CRITICAL|Traceback|Exception", line)
            ]
            if noted:
                distinct = list(dict.fromkeys(line.strip()[:200] for line in noted))
                problems.append(
                    f"{server.name} ({api}) log: {len(noted)} warning/error lines, "
                    f"{len(distinct)} distinct, the first ones: {distinct[:5]!r}"
                )
    return results, rss


# --- report ---------------------------------------------------------------------------------


def ratio(ours: float, peer: float) -> str:
    """``ours / peer`` as ``2.50x``; ``n/a`` when the peer's figure is zero."""
    if peer <= 0:
        return "n/a"
    return f"{ours / peer:.2f}x"


def format_scenario(
    scenario: Scenario, results: dict[str, ScenarioResult], clients: Sequence[int]
) -> str:
    """The table of one scenario: a row per client count and server, ratios ours/peer."""
    lines = [
        f"{scenario.title}: {scenario.method} {scenario.path}",
        f"{'clients':>7}  {'server':<10} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'non-2xx':>7} {'bytes':>6} | {'ours/peer:':<10} {'req/s':>7} {'p50':>7} {'p99':>7}",
    ]
    ours = results.get(OURS)
    for c in clients:
        for name, result in results.items():
            if result.error is not None and c not in result.runs:
                lines.append(f"{c:>7}  {name:<10} failed: {result.error[:80]}")
                continue
            m = result.runs.get(c)
            if m is None:
                continue
            size = result.probe.bytes if result.probe else 0
            row = (
                f"{c:>7}  {name:<10} {m.rps:>8.0f} {m.p50:>8.2f} {m.p99:>8.2f} "
                f"{m.non2xx:>7} {size:>6} |"
            )
            mine = ours.runs.get(c) if ours else None
            if name != OURS and mine is not None:
                row += (
                    f" {'':<10} {ratio(mine.rps, m.rps):>7} {ratio(mine.p50, m.p50):>7} "
                    f"{ratio(mine.p99, m.p99):>7}"
                )
            lines.append(row.rstrip(" |") if row.endswith("|") else row)
    warm = [
        f"{name} {' > '.join(f'{r:.0f}' for r in result.warmup)}"
        for name, result in results.items()
        if result.warmup
    ]
    if warm:
        lines.append(f"{'':>9}warm-up bursts, req/s: {'; '.join(warm)}")
    return "\n".join(lines)


def format_servers(
    names: Sequence[str],
    startup: dict[str, list[float]],
    rss: dict[str, dict[str, float | None]],
) -> str:
    lines = [
        f"{'server':<10} {'start-up median s':>17} {'(min-max, runs)':>20} "
        f"{'RSS MB after Hume':>18} {'RSS MB after xAI':>17}"
    ]
    for name in names:
        times = startup.get(name) or []
        if times:
            spread = f"({min(times):.2f}-{max(times):.2f}, {len(times)})"
            up = f"{statistics.median(times):>17.2f} {spread:>20}"
        else:
            up = f"{'-':>17} {'':>20}"
        mem = rss.get(name, {})

        def mb(api: str, mem: dict[str, float | None] = mem) -> str:
            value = mem.get(api)
            return "-" if value is None else f"{value:.0f}"

        lines.append(f"{name:<10} {up} {mb('hume'):>18} {mb('xai'):>17}")
    return "\n".join(lines)


# --- main -----------------------------------------------------------------------------------


def parse_peers(text: str) -> list[str]:
    if text.strip() in ("", "none"):
        return []
    names = [n.strip() for n in text.split(",") if n.strip()]
    for name in names:
        if name not in PEERS:
            raise argparse.ArgumentTypeError(f"unknown peer {name!r}; known: {', '.join(PEERS)}")
    return names


def parse_scenarios(text: str) -> list[Scenario]:
    keys = [k.strip() for k in text.split(",") if k.strip()]
    known = {s.key: s for s in SCENARIOS}
    for key in keys:
        if key not in known:
            raise argparse.ArgumentTypeError(f"unknown scenario {key!r}; known: {', '.join(known)}")
    return [s for s in SCENARIOS if s.key in keys]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measured run")
    parser.add_argument("--clients", default="1,8,32", help="keep-alive connections per run")
    parser.add_argument(
        "--peers", type=parse_peers, default=list(PEERS), help="prism,wiremock or none"
    )
    parser.add_argument(
        "--peers-dir",
        type=Path,
        default=DEFAULT_PEERS_DIR,
        help="npm prefix the peers are installed into (default %(default)s)",
    )
    parser.add_argument("--npm", default="npm", help="npm executable")
    parser.add_argument("--node", default="node", help="node executable (Prism)")
    parser.add_argument("--java", default="java", help="java executable (WireMock)")
    parser.add_argument(
        "--scenarios",
        type=parse_scenarios,
        default=list(SCENARIOS),
        help=f"comma-separated subset of {','.join(s.key for s in SCENARIOS)}",
    )
    parser.add_argument("--startup-runs", type=int, default=3)
    parser.add_argument(
        "--warmup",
        type=float,
        default=20.0,
        help="most seconds of warm-up per scenario (1 s bursts at 8 clients until req/s is "
        "steady); 0: none",
    )
    parser.add_argument(
        "--warmup-min", type=float, default=5.0, help="least seconds of warm-up per scenario"
    )
    parser.add_argument("--settle-timeout", type=float, default=30.0)
    parser.add_argument("--start-timeout", type=float, default=120.0)
    parser.add_argument("--install-timeout", type=float, default=600.0)
    parser.add_argument("--json", type=Path, help="also write the raw figures to this file")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk", file=sys.stderr)
        return 2
    clients = [int(c) for c in args.clients.split(",")]
    scenarios: list[Scenario] = args.scenarios
    options = Options(
        clients,
        args.duration,
        args.warmup,
        args.warmup_min,
        args.settle_timeout,
        args.start_timeout,
    )
    problems: list[str] = []

    with tempfile.TemporaryDirectory(prefix="bench-peers-") as tmp:
        workdir = Path(tmp)
        peers, skipped = resolve_peers(
            args.peers,
            args.peers_dir.expanduser(),
            workdir,
            npm=args.npm,
            node=args.node,
            java=args.java,
            install_timeout=args.install_timeout,
        )
        servers: list[Server] = [Ours(workdir), *peers]
        wrk_version = subprocess.run(
            ["wrk", "-v"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.split(" [")[0]
        print(
            f"{wrk_version} --latency -t1, keep-alive, loopback; {args.duration:g} s per run; "
            f"per scenario a warm-up of 1 s bursts at 8 clients until req/s is steady "
            f"({args.warmup_min:g} to {args.warmup:g} s); clients {args.clients}; "
            f"{os.cpu_count()} CPUs shared by the load generator and the server"
        )
        print("ratios are ours/peer: req/s above 1 and latency below 1 mean ours is ahead")
        for server in servers:
            print(f"  {server.name} {server.version()}: {server.describe()}")
        for name, reason in skipped.items():
            print(f"  {name}: skipped ({reason})")
        print(flush=True)

        startup: dict[str, list[float]] = {}
        for server in list(servers):
            progress(f"{server.name}: start-up x{args.startup_runs}")
            try:
                startup[server.name] = measure_startup(
                    server, args.startup_runs, args.start_timeout
                )
            except StartError as exc:
                if server.name == OURS:
                    print(f"{OURS} did not start: {exc}", file=sys.stderr)
                    return 1
                skipped[server.name] = str(exc)
                servers.remove(server)
                print(f"  {server.name}: skipped ({exc})", flush=True)

        table: dict[str, dict[str, ScenarioResult]] = {s.key: {} for s in scenarios}
        rss: dict[str, dict[str, float | None]] = {s.name: {} for s in servers}
        for api in ("hume", "xai"):
            chosen = [s for s in scenarios if s.api == api]
            if not chosen:
                continue
            for server in servers:
                progress(f"{server.name}: {api}")
                results, memory = run_api(server, api, chosen, options, problems)
                rss[server.name][api] = memory
                for key, result in results.items():
                    table[key][server.name] = result

    for scenario in scenarios:
        print(format_scenario(scenario, table[scenario.key], clients))
        print()
    print(format_servers([s.name for s in servers], startup, rss))
    print()
    for name, reason in skipped.items():
        print(f"{name}: skipped ({reason})")
    if problems:
        print("problems:")
        for problem in problems:
            print(f"  - {problem}")
    else:
        print("problems: none (every response 2xx, no socket errors, no warnings in our log)")

    if args.json:
        report: dict[str, Any] = {
            "config": {
                "duration_s": args.duration,
                "warmup_s": [args.warmup_min, args.warmup],
                "clients": clients,
                "cpus": os.cpu_count(),
                "wrk": wrk_version,
                "servers": {
                    s.name: {"version": s.version(), "command": s.describe()} for s in servers
                },
            },
            "skipped": skipped,
            "startup_s": startup,
            "rss_mb": rss,
            "scenarios": {
                s.key: {
                    "title": s.title,
                    "method": s.method,
                    "path": s.path,
                    "results": {name: asdict(r) for name, r in table[s.key].items()},
                }
                for s in scenarios
            },
            "problems": problems,
        }
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
