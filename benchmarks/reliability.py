"""Reliability harness: load, crash and webhook-outage runs against a real ``mockserver serve``.

Everything runs on 127.0.0.1 and every run is bounded in count and time. Each subcommand prints
a small table of figures and exits 1 when an invariant is broken (0 otherwise):

    python benchmarks/reliability.py load   --clients 32 --duration 60
    python benchmarks/reliability.py crash  --clients 32 --duration 20 --kill-after 10
    python benchmarks/reliability.py outage --clients 32 --duration 30 --outage 10
    ... --seed N --json PATH (the figures as JSON) --profile fast|instant

**load**: N client threads, each with its own API keys (tenants) on every vendor, mix creates,
polls, result reads and cancels across the four providers for D seconds: Hume jobs with a
``callback_url``; xAI batches (create, add, get, results, cancel); Eden AI speech-to-text
launches with a ``webhook_receiver`` (get, list, delete); Hugging Face ``/models/{id}``, bulk
dataset jobs and short bulk streams; and synthetic control-API jobs with a callback (Standard
Webhooks signatures). Webhooks go to a local receiver that verifies signatures where the vendor
signs (Eden's RSA, Standard Webhooks); Hume's callbacks are unsigned, as Hume's were. After D
seconds the clients stop creating and drain: every job is polled to a terminal state and its
results read. Invariants (each a line in the table; any non-zero breaks the run):

- no error no fault asked for: a status the operation does not expect, any 5xx, a connection
  error;
- no lost job: every job a create acknowledged (2xx) is found on every later read (unless the
  client deleted it) and is terminal after the drain; its results are readable;
- no illegal transition: the statuses each client saw for its job follow the vendor's lifecycle
  (Hume ``QUEUED`` -> ``IN_PROGRESS`` -> ``COMPLETED``/``FAILED``, Eden ``processing`` ->
  ``finished``/``failed``, bulk ``active`` -> ``succeeded``/``failed``, xAI counters never go
  back), and a timestamp once shown never moves;
- every webhook arrives, its signature verifies, and a duplicate appears only where
  at-least-once allows it (an attempt the receiver accepted whose answer the server never
  saw); cross-checked against ``GET /_mock/webhooks``;
- bounded memory: the journal holds at most its capacity (``GET /_mock/journal``); server RSS
  (the whole process group) is sampled and reported at start, peak and end.

**crash**: the server runs on ``--store sqlite:///<tmp>/state.db``; the load runs, the receiver
starts refusing (503) a moment before the kill so deliveries are pending, then the server's
process group is SIGKILLed mid-load and restarted on the same store and port. Checked: every
acknowledged job still exists, reaches a terminal state and its results are readable; every
delivery pending at the kill (read from the store file while the server is down) is delivered
after the restart. Reports the restart time (spawn to the first 200 from ``/_mock/health``).

**outage**: the receiver goes down (``--outage-mode refuse``: its port closed; ``503``: it
answers 503) for ``--outage`` seconds during the load; afterwards every delivery arrives,
signatures verify, no delivery failed permanently, and the time from recovery to the last
delivery is reported.

``tests/test_reliability.py`` runs each subcommand's core at a small scale (``run_load``,
``run_crash``, ``run_outage`` take a :class:`Options`).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _folder in (ROOT, ROOT / "benchmarks"):  # the tests load this file by path
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from procs import sum_rss_mb  # noqa: E402

from mockserver.engine.signing import verify_standard_signature  # noqa: E402
from mockserver.providers.edenai.signing import verify as verify_eden  # noqa: E402

__all__ = [
    "Options",
    "Report",
    "Server",
    "WebhookReceiver",
    "boot",
    "main",
    "run_crash",
    "run_load",
    "run_outage",
]

HF_MODEL = "facebook/bart-large-mnli"
HF_CLASSIFIER = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
EDEN_PATH = "/v2/audio/speech_to_text_async"
EDEN_FILE = "https://example.com/happy.wav"  # a bundled sample: resolved offline
XAI_MODEL = "grok-3-mini"
HTTP_TIMEOUT = 30.0
READY_TIMEOUT = 120.0  # server start plus the model's background load
TEXTS = (
    "Thank you so much, this is wonderful!",
    "I am worried the train will be late again.",
    "What a lovely day for a walk by the river.",
    "This is a test about a new dress shop on 5th avenue.",
)
LABELS = ["fashion", "medical", "politics"]

# --- options and report -----------------------------------------------------------------------


@dataclass
class Options:
    """One run's knobs (the CLI flags; the tests build one directly)."""

    clients: int = 32
    duration: float = 60.0
    seed: int = 0
    profile: str = "fast"
    think_ms: float = 5.0
    drain_timeout: float = 60.0
    webhook_timeout: float = 60.0
    #: crash: seconds of load before the kill (default: half the duration).
    kill_after: float | None = None
    #: crash: seconds before the kill during which the receiver answers 503 (a backlog).
    backlog: float = 2.0
    #: outage: seconds the receiver is down, when it goes down, and how.
    outage: float = 10.0
    outage_at: float | None = None
    outage_mode: str = "refuse"
    #: outage: 0 takes every client's receiver down; K > 0 only the first K clients' (the rest
    #: must see no delay: a receiver that hangs must not hold up another's webhooks).
    outage_clients: int = 0
    #: outage with ``outage_clients``: p99 webhook latency the unaffected clients must beat.
    healthy_latency_max: float = 2.5
    #: Extra ``mockserver serve`` flags.
    server_args: tuple[str, ...] = ()
    #: The source tree the server runs from (its working directory; default: this checkout).
    server_root: str | None = None
    #: Stream sessions (websocket) in the mix; off for runs that must not depend on them.
    streams: bool = True
    verbose: bool = False


@dataclass
class Report:
    """What a run measured, and the invariants it broke (empty: the run passed)."""

    scenario: str
    figures: dict[str, Any] = field(default_factory=dict)
    broken: list[str] = field(default_factory=list)
    #: Every illegal transition seen (job, what moved), for the reader and the tests.
    illegal: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.broken

    def check(self, holds: bool, message: str) -> None:
        if not holds:
            self.broken.append(message)

    def to_json(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "ok": self.ok, "figures": self.figures,
                "broken": self.broken, "illegal": self.illegal[:100]}  # fmt: skip


@contextlib.contextmanager
def phase(report: Report, name: str) -> Iterator[None]:
    """Time a phase of the run into ``figures["phases_s"]``."""
    started = time.monotonic()
    try:
        yield
    finally:
        phases = report.figures.setdefault("phases_s", {})
        phases[name] = round(time.monotonic() - started, 2)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the server under test --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class Server:
    """``mockserver serve`` in its own process group on a fixed loopback port; output to a file.

    ``kill()`` SIGKILLs the whole group (a crash); ``start()`` again restarts it on the same
    port and arguments (the same store).
    """

    def __init__(
        self,
        *args: str,
        port: int | None = None,
        workdir: Path | None = None,
        root: str | None = None,
    ) -> None:
        self.port = port or free_port()
        self.root = root or str(ROOT)
        self.args = ["--port", str(self.port), "--log-level", "warning", "--grpc", "off", *args]
        self._own_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="mockserver-reliability-"))
        self.log_path = self.workdir / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> float:
        """Spawn the server; return seconds from spawn to the first 200 of ``/_mock/health``."""
        started = time.perf_counter()
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "mockserver", "serve", *self.args],
                cwd=self.root,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = started + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if self.get("/_mock/health")[0] == 200:
                    return time.perf_counter() - started
            except OSError:
                time.sleep(0.01)
        self.kill()
        raise RuntimeError(f"server not ready within {timeout} s:\n{self.log_tail()}")

    def wait_model(self, timeout: float = READY_TIMEOUT) -> float:
        """Wait until the inference model is loaded; return the seconds waited."""
        started = time.perf_counter()
        while time.perf_counter() - started < timeout:
            _, health = self.get("/_mock/health")
            state = (health.get("inference") or {}).get("state")
            if state == "ready":
                return time.perf_counter() - started
            if state == "failed":
                raise RuntimeError(f"model failed to load: {health['inference']}")
            time.sleep(0.05)
        raise RuntimeError("model not loaded in time")

    def get(self, path: str) -> tuple[int, Any]:
        return self.call("GET", path)

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT)
        try:
            data = None if body is None else json.dumps(body).encode()
            headers = {} if data is None else {"content-type": "application/json"}
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
        finally:
            conn.close()

    def pids(self) -> list[int]:
        """Every process of the server's group (the server may fork a worker)."""
        if self.proc is None:
            return []
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == self.proc.pid:  # pgrp (start_new_session: pgid == pid)
                found.append(int(entry))
        return found

    def rss_mb(self) -> float:
        """Resident memory of the server's process group, MB."""
        return sum_rss_mb(self.pids())

    def kill(self) -> None:
        """SIGKILL the whole process group, as a crash would, and reap it."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(15)

    def stop(self) -> None:
        """SIGTERM the group, then SIGKILL what is left after a few seconds."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(8)
        except subprocess.TimeoutExpired:
            self.kill()

    def close(self) -> None:
        """Stop the server and remove the working directory it made (its log)."""
        self.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


class RssSampler:
    """Samples the server group's RSS every ``every`` seconds in a daemon thread."""

    def __init__(self, server: Server, every: float = 0.5) -> None:
        self.server, self.every = server, every
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss", daemon=True)

    def start(self) -> RssSampler:
        self.sample()
        self._thread.start()
        return self

    def sample(self) -> float:
        value = self.server.rss_mb()
        if value:
            self.samples.append((time.monotonic(), value))
        return value

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.sample()

    def stop(self) -> dict[str, Any]:
        """Start, peak and end, and the RSS at each fifth of the sampled time (a plateau or a
        slope: growth that keeps its pace to the end is a leak, not a warm-up)."""
        self._stop.set()
        self._thread.join(5)
        self.sample()
        if not self.samples:  # no /proc to read
            return {"rss_start_mb": 0.0, "rss_peak_mb": 0.0, "rss_end_mb": 0.0}
        values = [v for _, v in self.samples]
        first, last = self.samples[0][0], self.samples[-1][0]
        marks = [first + (last - first) * k / 5 for k in range(1, 6)]
        fifths = [round(next(v for t, v in self.samples if t >= m - 1e-9), 1) for m in marks]
        return {"rss_start_mb": round(values[0], 1), "rss_peak_mb": round(max(values), 1),
                "rss_end_mb": round(values[-1], 1), "rss_fifths_mb": fifths}  # fmt: skip


# --- the webhook receiver ---------------------------------------------------------------------


@dataclass
class Hit:
    """One POST the receiver got."""

    at: float  # time.monotonic()
    wall: float  # time.time(), to compare with a delivery's created_at (the server's clock)
    client: int  # whose receiver path (-1: unknown)
    kind: str  # hume, eden, mock (from the path)
    key: str  # the job id the body names
    delivery_id: str | None  # webhook-id (Standard Webhooks) if sent
    accepted: bool  # answered 2xx
    verified: bool | None  # None: the vendor does not sign


class WebhookReceiver:
    """A receiver on 127.0.0.1 that verifies signatures and can go down (closed port or 503).

    Paths are ``/hook/{kind}/{client}``; the body names the job (``job_id`` or ``public_id``).
    A delivery whose signature does not verify is refused with 400 and counted.
    """

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.eden_key: str | None = None
        self.mode = "up"  # up, refuse, 503
        self.port = 0
        self.hits: list[Hit] = []
        self.bad: list[str] = []
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._recovered = threading.Event()
        #: When set, only these clients' paths are affected by ``down`` (the rest stay up).
        self.down_clients: set[int] | None = None

    def url(self, kind: str, client: int) -> str:
        return f"http://127.0.0.1:{self.port}/hook/{kind}/{client}"

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = receiver.receive(self.path, headers, body)
                payload = b"ok" if status < 300 else b"no"
                self.send_response(status)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Quiet(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass

        self._server = Quiet(("127.0.0.1", self.port), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self.mode = "up"
        return self

    def close(self) -> None:
        self._recovered.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def down(self, mode: str, clients: set[int] | None = None) -> None:
        """``refuse``: close the port (connection refused); ``503``: answer 503 to everything;
        ``hang``: read each request and answer nothing until the outage ends. ``clients``:
        only these clients' paths go down (not with ``refuse``: the port is shared)."""
        if mode == "refuse" and clients is not None:
            raise ValueError("a refused port cannot spare some clients")
        self.down_clients = clients
        if mode == "refuse":
            self.close()
        self._recovered.clear()
        self.mode = mode

    def up(self) -> None:
        if self._server is None:
            self.start()  # same port: allow_reuse_address
        self.mode = "up"
        self.down_clients = None
        self._recovered.set()

    def receive(self, path: str, headers: dict[str, str], body: bytes) -> int:
        parts = path.strip("/").split("/")
        kind = parts[1] if len(parts) >= 3 and parts[0] == "hook" else "?"
        client = int(parts[2]) if kind != "?" and parts[2].isdigit() else -1
        try:
            data = json.loads(body)
            key = str(data.get("job_id") or data.get("public_id") or "?")
        except (ValueError, AttributeError):
            key = "?"
        verified: bool | None = None
        if kind == "eden":
            signature = headers.get("x-edenai-signature", "")
            verified = bool(self.eden_key) and verify_eden(str(self.eden_key), body, signature)
        elif kind == "mock":
            verified = verify_standard_signature(self.secret, headers, body)
        mode = self.mode
        if self.down_clients is not None and client not in self.down_clients:
            mode = "up"  # this outage hits only some clients' receivers
        accepted = mode == "up" and verified is not False
        with self.lock:
            self.hits.append(
                Hit(
                    time.monotonic(),
                    time.time(),
                    client,
                    kind,
                    key,
                    headers.get("webhook-id"),
                    accepted,
                    verified,
                )  # fmt: skip
            )
            if verified is False:
                self.bad.append(f"{kind} {key}")
        if mode == "hang":  # no answer until the outage ends (the sender times out first)
            self._recovered.wait(120)
            return 503
        if verified is False:
            return 400
        # Never a 2xx for a hit not counted as accepted: a request that was already in flight
        # when a "refuse" outage closed the port (its handler reads the mode after the close)
        # once got a 200 here, so the server logged it delivered and never retried it, while
        # the run counted that webhook as never arrived.
        return 200 if accepted else 503

    def accepted(self) -> dict[str, list[Hit]]:
        """Accepted hits by job id."""
        out: dict[str, list[Hit]] = defaultdict(list)
        with self.lock:
            for hit in self.hits:
                if hit.accepted:
                    out[hit.key].append(hit)
        return out


# --- HTTP client --------------------------------------------------------------------------------


class Reply:
    def __init__(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.status, self.body, self.headers = status, body, headers

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class ConnectionFailed(Exception):
    """A request that got no HTTP answer (refused, reset, closed, timed out)."""


class Http:
    """One keep-alive connection (reopened when the server closes it) per client thread."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Reply:
        sent = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["content-type"] = "application/json"
        if self._conn is None:
            self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT)
        try:
            self._conn.request(method, path, body=data, headers=sent)
            response = self._conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise ConnectionFailed(f"{type(exc).__name__}: {exc}") from exc
        if response.will_close:
            self.close()
        return Reply(response.status, raw, {k.lower(): v for k, v in response.getheaders()})


# --- jobs, lifecycles, transitions ---------------------------------------------------------------

HUME_RANK = {"QUEUED": 0, "IN_PROGRESS": 1, "COMPLETED": 2, "FAILED": 2}
EDEN_RANK = {"processing": 0, "finished": 1, "failed": 1}
BULK_RANK = {"active": 0, "succeeded": 1, "failed": 1}
MOCK_RANK = {"queued": 0, "running": 1, "completed": 2, "failed": 2, "cancelled": 2}
RANKS = {"hume": HUME_RANK, "eden": EDEN_RANK, "bulk": BULK_RANK, "mock": MOCK_RANK}
#: Whose creation sends a webhook (to the receiver path of that kind).
HOOKED = {"hume", "eden", "mock"}


@dataclass
class Tracked:
    """A job a create acknowledged, and what its owner saw of it."""

    vendor: str  # hume, xai, eden, bulk, mock
    id: str
    client: int
    acked_at: float
    seen: list[dict[str, Any]] = field(default_factory=list)
    terminal: bool = False
    deleted: bool = False
    results_read: bool = False
    #: xAI: requests acknowledged by add calls; ``cancel`` asked.
    requests: int = 0
    cancelled: bool = False
    lost: str | None = None
    #: The API key the job belongs to when not its client's usual one (race tenants).
    key: str | None = None

    @property
    def hooked(self) -> bool:
        return self.vendor in HOOKED


def transition_error(vendor: str, before: dict[str, Any], after: dict[str, Any]) -> str | None:
    """Why ``after`` cannot follow ``before`` on the vendor's lifecycle (None: it can)."""
    if vendor == "xai":
        for name in ("num_requests", "num_success", "num_error", "num_cancelled"):
            if after[name] < before[name]:
                return f"{name} went back {before[name]} -> {after[name]}"
        same = after["num_requests"] == before["num_requests"]
        if same and after["num_pending"] > before["num_pending"]:
            return f"num_pending rose {before['num_pending']} -> {after['num_pending']}"
        if before.get("cancel_time") and after.get("cancel_time") != before["cancel_time"]:
            return f"cancel_time moved {before['cancel_time']} -> {after.get('cancel_time')}"
        return None
    ranks = RANKS[vendor]
    old, new = before["status"], after["status"]
    if ranks[new] < ranks[old]:
        return f"{old} -> {new}"
    if ranks[old] == max(ranks.values()) and new != old:
        return f"terminal {old} -> {new}"
    for name, value in before.items():
        if (
            name.endswith(("_at", "_ms", "_time"))
            and value is not None
            and after.get(name) != value
        ):
            return f"{name} moved {value} -> {after.get(name)} (status {old} -> {new})"
    return None


def is_terminal(vendor: str, state: dict[str, Any]) -> bool:
    if vendor == "xai":
        return bool(state["num_pending"] == 0)
    ranks = RANKS[vendor]
    return ranks[state["status"]] == max(ranks.values())


# --- shared run state ---------------------------------------------------------------------------


class Run:
    """What every client thread shares: the server, the receiver, counters, the job registry."""

    def __init__(self, options: Options, server: Server, receiver: WebhookReceiver) -> None:
        self.options = options
        self.server = server
        self.receiver = receiver
        self.lock = threading.Lock()
        self.requests = 0
        self.ops: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.error_examples: dict[str, str] = {}
        self.expected_failures = 0  # requests cut by the deliberate kill (crash)
        self.illegal: list[str] = []
        self.jobs: list[Tracked] = []
        self.stream = Counter[str]()
        self.stop_load = threading.Event()
        self.resume = threading.Event()  # drain may start (after a restart, in the crash run)
        self.crashing = threading.Event()
        self.load_started = 0.0

    def count(self, op: str) -> None:
        with self.lock:
            self.requests += 1
            self.ops[op] += 1

    def error(self, kind: str, example: str) -> None:
        if self.crashing.is_set() and not self.resume.is_set():
            with self.lock:
                self.expected_failures += 1
            return
        with self.lock:
            self.errors[kind] += 1
            self.error_examples.setdefault(kind, example[:300])
        if self.options.verbose:
            log(f"error {kind}: {example[:300]}")

    def track(self, job: Tracked) -> Tracked:
        with self.lock:
            self.jobs.append(job)
        return job

    def transition(self, message: str) -> None:
        with self.lock:
            self.illegal.append(message)
        if self.options.verbose:
            log(f"illegal transition: {message}")


# --- one client ---------------------------------------------------------------------------------


class Client(threading.Thread):
    """One client: its own keys on every vendor, a seeded mix of operations, then a drain."""

    WEIGHTS: dict[str, float] = {
        "hume_create": 3, "hume_poll": 8,
        "xai_create": 3, "xai_add": 1.5, "xai_poll": 7, "xai_cancel": 1,
        "eden_launch": 3, "eden_poll": 7, "eden_list": 0.7, "eden_delete": 0.25,
        "hf_model": 5, "bulk_run": 1, "bulk_poll": 3, "hf_stream": 0.4,
        "mock_create": 1, "mock_poll": 2,
        "eden_race": 0.4, "xai_race": 0.4,
    }  # fmt: skip

    def __init__(self, run: Run, number: int) -> None:
        super().__init__(name=f"client-{number}", daemon=True)
        self.run_ = run
        self.n = number
        self.rng = random.Random(f"{run.options.seed}/{number}")
        self.http = Http(run.server.port)
        prefix = f"rel{run.options.seed}-{number}"
        vendors = ("hume", "xai", "eden", "mock", "eden-race", "xai-race")
        self.keys = {v: f"{prefix}-{v}" for v in vendors}
        self.hf_token = f"hf_{prefix}"
        self.jobs: dict[str, list[Tracked]] = defaultdict(list)
        self.stream_sent: dict[str, float] = {}  # item id -> when sent
        self.stream_got: Counter[str] = Counter()
        self.stream_unknown: set[str] = set()  # sent on a stream the kill cut: outcome unknown
        self.counter = 0
        ops = list(self.WEIGHTS)
        if not run.options.streams:
            ops.remove("hf_stream")
        self.ops, self.weights = ops, [self.WEIGHTS[o] for o in ops]

    # --- plumbing -------------------------------------------------------------------------

    def call(
        self,
        op: str,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        expect: tuple[int, ...] = (200,),
    ) -> Reply | None:
        """One request; an unexpected status or a connection error is counted and gives None."""
        self.run_.count(op)
        try:
            reply = self.http.call(method, path, body, headers)
        except ConnectionFailed as exc:
            self.run_.error(f"connection {op}", f"{method} {path}: {exc}")
            return None
        if reply.status not in expect:
            kind = "5xx" if reply.status >= 500 else "unexpected"
            self.run_.error(f"{kind} {op} {reply.status}", f"{method} {path}: {reply.body[:300]!r}")
            return None
        return reply

    def observe(self, job: Tracked, state: dict[str, Any]) -> None:
        if job.seen:
            why = transition_error(job.vendor, job.seen[-1], state)
            if why is not None:
                self.run_.transition(f"{job.vendor} {job.id}: {why}")
        if not job.seen or job.seen[-1] != state:
            job.seen.append(state)
        job.terminal = is_terminal(job.vendor, state)

    def gone(self, job: Tracked, where: str) -> None:
        if not job.deleted and job.lost is None:
            job.lost = f"{where}: 404 for an acknowledged job"

    def created(self, vendor: str, job_id: str) -> Tracked:
        """A job the server acknowledged: tracked for the run's checks and this client's polls."""
        job = self.run_.track(Tracked(vendor, job_id, self.n, time.time()))
        self.jobs[vendor].append(job)
        return job

    def on_job(
        self,
        op: str,
        method: str,
        path: str,
        job: Tracked,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Any | None:
        """A call on an acknowledged job: its JSON, or None when the call failed or answered
        404 (the job is gone: lost, unless this client deleted it)."""
        reply = self.call(op, method, path, body, headers, expect=(200, 404))
        if reply is None:
            return None
        if reply.status == 404:
            self.gone(job, op)
            return None
        return reply.json()

    def hdr(self, vendor: str, job: Tracked | None = None) -> dict[str, str]:
        if job is not None and job.key is not None:
            return {"Authorization": f"Bearer {job.key}"}
        if vendor == "hume":
            return {"X-Hume-Api-Key": self.keys["hume"]}
        if vendor == "hf":
            return {"Authorization": f"Bearer {self.hf_token}"}
        return {"Authorization": f"Bearer {self.keys[vendor]}"}

    def pick(self, vendor: str, *, live_first: bool = True) -> Tracked | None:
        jobs = [j for j in self.jobs[vendor] if not j.deleted and j.lost is None]
        if not jobs:
            return None
        live = [j for j in jobs if not j.terminal]
        if live_first and live and self.rng.random() < 0.85:
            return self.rng.choice(live[-8:])
        return self.rng.choice(jobs[-50:])

    # --- the run --------------------------------------------------------------------------

    def run(self) -> None:
        try:
            while not self.run_.stop_load.is_set():
                op = self.rng.choices(self.ops, self.weights)[0]
                getattr(self, op)()
                think = self.run_.options.think_ms
                if think:
                    time.sleep(self.rng.uniform(0, 2 * think) / 1000)
            self.run_.resume.wait()
            self.http.close()
            self.drain()
        except Exception as exc:  # a harness bug must show, not hang the run
            self.run_.error("harness", f"{type(exc).__name__}: {exc}")
            raise
        finally:
            self.http.close()

    def drain(self) -> None:
        """Poll every job to a terminal state, read its results, then check it once more."""
        deadline = time.monotonic() + self.run_.options.drain_timeout
        every = [j for js in self.jobs.values() for j in js]
        while time.monotonic() < deadline:
            live = [j for j in every if not j.deleted and j.lost is None and not j.terminal]
            if not live:
                break
            for job in live:
                self.poll(job)
            time.sleep(0.05)
        for job in every:
            if job.deleted or job.lost is not None:
                continue
            if not job.terminal:
                job.lost = f"not terminal after the drain (last seen {job.seen[-1:]})"
                continue
            self.poll(job)  # still there, still terminal
            if not job.results_read:
                self.read_results(job)
        if self.stream_sent and self.run_.options.streams:
            self.stream_session(0, collect=True)

    def poll(self, job: Tracked) -> None:
        getattr(self, f"{job.vendor}_read")(job)

    def read_results(self, job: Tracked) -> None:
        getattr(self, f"{job.vendor}_results")(job)

    # --- Hume -----------------------------------------------------------------------------

    def hume_create(self) -> None:
        body = {
            "text": [self.rng.choice(TEXTS)],
            "models": {"language": {}},
            "callback_url": self.run_.receiver.url("hume", self.n),
        }
        reply = self.call("hume create", "POST", "/v0/batch/jobs", body, self.hdr("hume"))
        if reply is not None:
            self.created("hume", reply.json()["job_id"])

    def poll_or_create(
        self,
        kind: str,
        create: Callable[[], None],
        read: Callable[[Tracked], None],
        results: Callable[[Tracked], None],
    ) -> None:
        """Read one of this client's jobs of ``kind`` (or create one), then its results once
        it is terminal: the polling loop a real client runs."""
        job = self.pick(kind)
        if job is None:
            return create()
        read(job)
        if job.terminal and not job.results_read:
            results(job)
        return None

    def hume_poll(self) -> None:
        self.poll_or_create("hume", self.hume_create, self.hume_read, self.hume_results)

    def hume_read(self, job: Tracked) -> None:
        found = self.on_job("hume get", "GET", f"/v0/batch/jobs/{job.id}", job,
                            headers=self.hdr("hume"))  # fmt: skip
        if found is None:
            return
        state = found["state"]
        self.observe(job, {"status": state["status"],
                           **{k: state.get(k) for k in ("created_timestamp_ms",
                              "started_timestamp_ms", "ended_timestamp_ms")}})  # fmt: skip

    def hume_results(self, job: Tracked) -> None:
        failed = job.seen and job.seen[-1]["status"] == "FAILED"
        path = f"/v0/batch/jobs/{job.id}/predictions"
        reply = self.call("hume predictions", "GET", path, headers=self.hdr("hume"),
                          expect=(400,) if failed else (200,))  # fmt: skip
        if reply is not None:
            job.results_read = failed or len(reply.json()) == 1

    # --- xAI ------------------------------------------------------------------------------

    def xai_items(self, count: int) -> list[dict[str, Any]]:
        items = []
        for _ in range(count):
            self.counter += 1
            ask = {"model": XAI_MODEL, "max_tokens": 32,
                   "messages": [{"role": "user", "content": self.rng.choice(TEXTS)}]}  # fmt: skip
            items.append({"batch_request_id": f"r{self.counter}",
                          "batch_request": {"chat_get_completion": ask}})  # fmt: skip
        return items

    def xai_create(self) -> None:
        reply = self.call("xai create", "POST", "/v1/batches", {"name": f"c{self.n}"},
                          self.hdr("xai"))  # fmt: skip
        if reply is None:
            return
        self.xai_add(self.created("xai", reply.json()["batch_id"]))

    def xai_add(self, job: Tracked | None = None) -> None:
        if job is None:
            candidates = [j for j in self.jobs["xai"] if not j.cancelled and j.lost is None]
            if not candidates:
                return self.xai_create()
            job = self.rng.choice(candidates[-8:])
        count = self.rng.randint(1, 4)
        path = f"/v1/batches/{job.id}/requests"
        body = {"batch_requests": self.xai_items(count)}
        if self.on_job("xai add", "POST", path, job, body, self.hdr("xai", job)) is None:
            return
        job.requests += count
        job.terminal = False

    def xai_poll(self) -> None:
        self.poll_or_create("xai", self.xai_create, self.xai_read, self.xai_results)

    def xai_read(self, job: Tracked) -> None:
        path = f"/v1/batches/{job.id}"
        batch = self.on_job("xai get", "GET", path, job, headers=self.hdr("xai", job))
        if batch is None:
            return
        state = {**batch["state"], "cancel_time": batch.get("cancel_time")}
        if state["num_requests"] < job.requests and job.lost is None:
            job.lost = f"{job.requests} requests acknowledged, {state['num_requests']} stored"
        self.observe(job, state)

    def xai_results(self, job: Tracked) -> None:
        path = f"/v1/batches/{job.id}/results?limit=1000"
        reply = self.call("xai results", "GET", path, headers=self.hdr("xai", job))
        if reply is not None:
            rows = reply.json()["results"]
            ended = job.seen[-1]["num_requests"] - job.seen[-1]["num_pending"]
            job.results_read = len(rows) == ended
            if not job.results_read:
                self.run_.error("xai results count", f"{job.id}: {len(rows)} rows, {ended} ended")

    def xai_cancel(self) -> None:
        job = self.pick("xai")
        if job is None:
            return None
        path = f"/v1/batches/{job.id}:cancel"
        batch = self.on_job("xai cancel", "POST", path, job, headers=self.hdr("xai", job))
        if batch is None:
            return None
        job.cancelled = True
        self.observe(job, {**batch["state"], "cancel_time": batch.get("cancel_time")})

    # --- Eden AI --------------------------------------------------------------------------

    def eden_launch(self) -> None:
        body = {"providers": "amazon", "language": "en", "file_url": EDEN_FILE,
                "webhook_receiver": self.run_.receiver.url("eden", self.n)}  # fmt: skip
        reply = self.call("eden launch", "POST", f"{EDEN_PATH}/", body, self.hdr("eden"))
        if reply is not None:
            self.created("eden", reply.json()["public_id"])

    def eden_poll(self) -> None:
        job = self.pick("eden")
        if job is None:
            return self.eden_launch()
        self.eden_read(job)

    def eden_read(self, job: Tracked) -> None:
        path = f"{EDEN_PATH}/{job.id}/"
        body = self.on_job("eden get", "GET", path, job, headers=self.hdr("eden"))
        if body is None:
            return
        self.observe(job, {"status": body["status"]})
        if job.terminal:
            job.results_read = body["status"] == "failed" or "amazon" in body["results"]

    def eden_results(self, job: Tracked) -> None:
        self.eden_read(job)

    def eden_list(self) -> None:
        reply = self.call("eden list", "GET", f"{EDEN_PATH}/", headers=self.hdr("eden"))
        if reply is None:
            return
        listed = {row["public_id"] for row in reply.json()["jobs"]}
        for job in self.jobs["eden"]:
            if not job.deleted and job.id not in listed and job.lost is None:
                job.lost = "missing from the Eden job list"

    def eden_delete(self) -> None:
        reply = self.call("eden delete", "DELETE", f"{EDEN_PATH}/", headers=self.hdr("eden"),
                          expect=(204,))  # fmt: skip
        if reply is not None:
            for job in self.jobs["eden"]:
                job.deleted = True

    # --- races: two requests of one tenant at once ---------------------------------------

    def beside(self, work: Callable[[Http], object]) -> threading.Thread:
        """Run ``work`` on a second connection in a thread (joined by the caller)."""
        other = Http(self.run_.server.port)

        def go() -> None:
            try:
                work(other)
            except ConnectionFailed as exc:
                self.run_.error("connection race", str(exc))
            finally:
                other.close()

        thread = threading.Thread(target=go, name=f"{self.name}-race", daemon=True)
        thread.start()
        return thread

    def eden_race(self) -> None:
        """A GET (which may refresh the job's listed state) racing a DELETE of its subfeature:
        once the DELETE has returned, the job is gone for good (404, not listed)."""
        headers = {"Authorization": f"Bearer {self.keys['eden-race']}"}
        body = {"providers": "amazon", "language": "en", "file_url": EDEN_FILE}
        reply = self.call("eden launch", "POST", f"{EDEN_PATH}/", body, headers)
        if reply is None:
            return
        public_id = reply.json()["public_id"]
        time.sleep(self.rng.uniform(0.0, 0.6))  # around the job's end under ``fast``
        path = f"{EDEN_PATH}/{public_id}/"

        def get(http: Http) -> None:
            self.run_.count("eden get")
            got = http.call("GET", path, headers=headers)
            if got.status not in (200, 404):
                self.run_.error(f"unexpected eden race get {got.status}", got.body[:300].decode())

        thread = self.beside(get)
        deleted = self.call("eden delete", "DELETE", f"{EDEN_PATH}/", headers=headers,
                            expect=(204,))  # fmt: skip
        thread.join(HTTP_TIMEOUT)
        if deleted is None:
            return
        after = self.call("eden get", "GET", path, headers=headers, expect=(404,))
        listed = self.call("eden list", "GET", f"{EDEN_PATH}/", headers=headers)
        if after is None and not self.run_.crashing.is_set():
            self.run_.transition(f"eden {public_id}: deleted, then found again (resurrected)")
        if listed is not None and any(r["public_id"] == public_id for r in listed.json()["jobs"]):
            self.run_.transition(f"eden {public_id}: deleted, then listed again (resurrected)")

    def xai_race(self) -> None:
        """An add racing a cancel on one batch: the add is either in (and ends, cancelled or
        not) or refused with 403; the batch ends with every acknowledged request counted."""
        headers = {"Authorization": f"Bearer {self.keys['xai-race']}"}
        reply = self.call("xai create", "POST", "/v1/batches", {"name": "race"}, headers)
        if reply is None:
            return
        job = self.created("xai", reply.json()["batch_id"])
        job.key = self.keys["xai-race"]
        self.xai_add(job)
        count = self.rng.randint(1, 3)
        added: list[int] = []

        def add(http: Http) -> None:
            self.run_.count("xai add")
            got = http.call("POST", f"/v1/batches/{job.id}/requests",
                            {"batch_requests": self.xai_items(count)}, headers)  # fmt: skip
            if got.status == 200:
                added.append(count)
            elif got.status != 403:
                self.run_.error(f"unexpected xai race add {got.status}", got.body[:300].decode())

        thread = self.beside(add)
        path = f"/v1/batches/{job.id}:cancel"
        cancelled = self.call("xai cancel", "POST", path, headers=headers)
        thread.join(HTTP_TIMEOUT)
        job.requests += sum(added)
        if cancelled is not None:
            job.cancelled = True

    # --- Hugging Face ---------------------------------------------------------------------

    def hf_model(self) -> None:
        if self.rng.random() < 0.5:
            body: dict[str, Any] = {"inputs": self.rng.choice(TEXTS),
                                    "parameters": {"candidate_labels": LABELS}}  # fmt: skip
            model = HF_MODEL
        else:
            body, model = {"inputs": self.rng.choice(TEXTS)}, HF_CLASSIFIER
        self.call("hf model", "POST", f"/models/{model}", body, self.hdr("hf"))

    def bulk_run(self) -> None:
        body = {"dataset_name": "mockserver/headlines", "parameters": {"candidate_labels": LABELS}}
        path = f"/bulk/run/cpu/{HF_MODEL}"
        reply = self.call("bulk run", "POST", path, body, self.hdr("hf"))
        if reply is not None:
            self.created("bulk", reply.json()["jobid"])

    def bulk_poll(self) -> None:
        self.poll_or_create("bulk", self.bulk_run, self.bulk_read, self.bulk_results)

    def bulk_read(self, job: Tracked) -> None:
        found = self.on_job("bulk status", "GET", f"/bulk/status/{job.id}", job)
        if found is None:
            return
        status = found["status"]
        name = next(k for k in ("succeeded", "failed", "active") if k in status)
        self.observe(job, {"status": name, "start_time": status.get("start_time"),
                           "completion_time": status.get("completion_time")})  # fmt: skip

    def bulk_results(self, job: Tracked) -> None:
        reply = self.call("bulk output", "GET", f"/_mock/jobs/{job.id}/output")
        if reply is not None:
            job.results_read = len(reply.body.splitlines()) == 8  # the dataset's rows

    def hf_stream(self) -> None:
        self.stream_session(self.rng.randint(1, 4))

    def stream_session(self, count: int, *, collect: bool = False) -> None:
        """A short bulk stream: the token, ``count`` items, read until each has a result."""
        from websockets.exceptions import WebSocketException
        from websockets.sync.client import connect

        uri = f"ws://127.0.0.1:{self.run_.server.port}/bulk/stream/cpu/{HF_MODEL}"
        sent = []
        self.run_.count("hf stream")
        try:
            with connect(uri, open_timeout=10, close_timeout=2) as ws:
                ws.send(f"Bearer {self.hf_token}")
                for _ in range(count):
                    self.counter += 1
                    item_id = f"c{self.n}-i{self.counter}"
                    ws.send(json.dumps({"id": item_id, "inputs": self.rng.choice(TEXTS),
                                        "parameters": {"candidate_labels": LABELS}}))  # fmt: skip
                    self.stream_sent[item_id] = time.time()
                    sent.append(item_id)
                wanted = set(sent) if not collect else self.missing_stream_items()
                deadline = time.monotonic() + 15
                while wanted and time.monotonic() < deadline:
                    try:
                        frame = json.loads(ws.recv(timeout=max(0.05, deadline - time.monotonic())))
                    except TimeoutError:
                        break
                    if frame.get("type") == "results":
                        item_id = str(frame.get("id"))
                        self.stream_got[item_id] += 1
                        wanted.discard(item_id)
        except (OSError, WebSocketException) as exc:
            if self.run_.crashing.is_set() and not self.run_.resume.is_set():
                self.stream_unknown.update(sent)
            self.run_.error("connection hf stream", f"{type(exc).__name__}: {exc}")

    def missing_stream_items(self) -> set[str]:
        return {i for i in self.stream_sent if not self.stream_got[i]} - self.stream_unknown

    # --- synthetic control-API jobs (Standard Webhooks signatures) ------------------------

    def mock_create(self) -> None:
        body = {"tenant": self.keys["mock"], "items": 2,
                "callback_url": self.run_.receiver.url("mock", self.n)}  # fmt: skip
        reply = self.call("mock create", "POST", "/_mock/jobs", body, expect=(201,))
        if reply is not None:
            self.created("mock", reply.json()["id"])

    def mock_poll(self) -> None:
        self.poll_or_create("mock", self.mock_create, self.mock_read, self.mock_results)

    def mock_read(self, job: Tracked) -> None:
        body = self.on_job("mock get", "GET", f"/_mock/jobs/{job.id}", job)
        if body is None:
            return
        self.observe(job, {"status": body["status"], "started_at": body.get("started_at"),
                           "ended_at": body.get("ended_at")})  # fmt: skip

    def mock_results(self, job: Tracked) -> None:
        reply = self.call("mock results", "GET", f"/_mock/jobs/{job.id}/results")
        if reply is not None:
            job.results_read = len(reply.json()["results"]) == 2


# --- running clients and checking the outcome ----------------------------------------------------


def start_clients(run: Run) -> list[Client]:
    clients = [Client(run, n) for n in range(run.options.clients)]
    run.load_started = time.monotonic()
    for client in clients:
        client.start()
    return clients


def join_clients(run: Run, clients: list[Client]) -> None:
    limit = time.monotonic() + run.options.drain_timeout * 2 + 60
    for client in clients:
        client.join(max(0.1, limit - time.monotonic()))
        if client.is_alive():
            run.error("harness", f"{client.name} did not finish its drain")


def boot(options: Options, *extra: str, port: int | None = None) -> tuple[Server, float, float]:
    """Start the server with the run's profile and seed; wait for the model."""
    server = Server(
        "--profile", options.profile, "--seed", str(options.seed), *extra,
        *options.server_args, port=port, root=options.server_root,
    )  # fmt: skip
    ready = server.start()
    try:
        model = server.wait_model()
        warm_up(server)
    except BaseException:
        log(f"server log tail:\n{server.log_tail()}")
        server.kill()
        server.close()
        raise
    return server, ready, model


def warm_up(server: Server, timeout: float = 30.0) -> None:
    """One job of each kind, run to its end, on a tenant of its own: the first of each pays
    for imports and the first model calls, which a load run should not measure."""
    http = Http(server.port)
    key, hf = {"Authorization": "Bearer warm-up"}, {"Authorization": "Bearer hf_warm_up"}
    try:
        hume = http.call("POST", "/v0/batch/jobs", {"text": [TEXTS[0]], "models": {"language": {}}},
                         {"X-Hume-Api-Key": "warm-up"}).json()["job_id"]  # fmt: skip
        eden = http.call("POST", f"{EDEN_PATH}/", {"providers": "amazon", "language": "en",
                         "file_url": EDEN_FILE}, key).json()["public_id"]  # fmt: skip
        http.call("POST", f"/models/{HF_MODEL}",
                  {"inputs": TEXTS[3], "parameters": {"candidate_labels": LABELS}}, hf)  # fmt: skip
        http.call("POST", f"/models/{HF_CLASSIFIER}", {"inputs": TEXTS[1]}, hf)
        bulk = http.call("POST", f"/bulk/run/cpu/{HF_MODEL}", {"dataset_name":
                         "mockserver/headlines", "parameters": {"candidate_labels": LABELS}},
                         hf).json()["jobid"]  # fmt: skip
        deadline = time.monotonic() + timeout
        hume_key = {"X-Hume-Api-Key": "warm-up"}
        waiting: dict[str, tuple[dict[str, str], Callable[[Any], bool]]] = {
            f"/v0/batch/jobs/{hume}": (hume_key, lambda b: b["state"]["status"] == "COMPLETED"),
            f"{EDEN_PATH}/{eden}/": (key, lambda b: b["status"] != "processing"),
            f"/bulk/status/{bulk}": ({}, lambda b: "active" not in b["status"]),
        }
        while waiting and time.monotonic() < deadline:
            for path, (headers, done) in list(waiting.items()):
                reply = http.call("GET", path, headers=headers)
                if reply.status != 200:
                    raise RuntimeError(f"warm-up: GET {path}: {reply.status} {reply.body[:200]!r}")
                if done(reply.json()):
                    del waiting[path]
            time.sleep(0.05)
        http.call("GET", f"/v0/batch/jobs/{hume}/predictions", headers=hume_key)
        server.call("POST", "/_mock/reset", {"tenant": "warm-up"})
        server.call("POST", "/_mock/reset", {"tenant": "hf_warm_up"})
    finally:
        http.close()


def make_receiver(server: Server) -> WebhookReceiver:
    _, signing = server.get("/_mock/webhooks/signing")
    receiver = WebhookReceiver(signing["schemes"]["standard"]["secret"])
    _, key = server.get("/_mock/edenai/webhook-key")
    receiver.eden_key = key["public_key"]
    return receiver.start()


def sleep_until(moment: float, stop: threading.Event | None = None) -> None:
    while (left := moment - time.monotonic()) > 0:
        if stop is not None and stop.is_set():
            return
        time.sleep(min(left, 0.1))


def tenants_of(run: Run) -> list[str]:
    keys = []
    for n in range(run.options.clients):
        prefix = f"rel{run.options.seed}-{n}"
        keys += [f"{prefix}-hume", f"{prefix}-eden", f"{prefix}-mock"]
    return keys


def delivery_log(run: Run) -> dict[str, list[dict[str, Any]]]:
    """Every delivery of the run's tenants from ``GET /_mock/webhooks``, by job id."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for tenant in tenants_of(run):
        status, body = run.server.get(f"/_mock/webhooks?tenant={tenant}&limit=1000000")
        if status != 200:
            raise RuntimeError(f"GET /_mock/webhooks: {status} {body}")
        for delivery in body["deliveries"]:
            out[str(delivery["job_id"])].append(delivery)
    return out


def expected_hooks(run: Run) -> dict[str, Tracked]:
    """Jobs that must send exactly one webhook: hooked, terminal, not deleted, not lost."""
    return {j.id: j for j in run.jobs if j.hooked and j.terminal and not j.deleted and not j.lost}


def wait_for_hooks(run: Run, wanted: set[str], timeout: float) -> float:
    """Wait until the receiver accepted a delivery for every id in ``wanted``; seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if wanted <= set(run.receiver.accepted()):
            break
        time.sleep(0.1)
    return time.monotonic() - started


def unseen_answer(attempt: dict[str, Any]) -> bool:
    """An attempt whose answer the server did not see although the receiver may have accepted
    it (a timeout or a dropped connection after sending); a refused connection never reached
    the receiver."""
    error = attempt.get("error") or ""
    return attempt.get("status_code") is None and "refused" not in error and "fault" not in error


def check_webhooks(
    run: Run, report: Report, *, allowed_dupes: Callable[[str], int] | None = None
) -> dict[str, Any]:
    """Receiver against expectations and against the server's delivery log."""
    expected = expected_hooks(run)
    waited = wait_for_hooks(run, set(expected), run.options.webhook_timeout)
    accepted = run.receiver.accepted()
    logged = delivery_log(run)
    deleted = {j.id for j in run.jobs if j.deleted}
    received = {k for k in accepted if k in expected}
    duplicates = allowed = 0
    unexpected_dupes: list[str] = []
    for key, hits in accepted.items():
        if len(hits) <= 1:
            continue
        extra = len(hits) - 1
        duplicates += extra
        may = sum(unseen_answer(a) for d in logged.get(key, []) for a in d["attempts"])
        may += allowed_dupes(key) if allowed_dupes else 0
        allowed += min(extra, may)
        if extra > may:
            unexpected_dupes.append(f"{key}: {len(hits)} accepted, {may} unseen answers")
    statuses: Counter[str] = Counter()
    for key, deliveries in logged.items():
        if key in deleted and key not in expected:
            continue
        for delivery in deliveries:
            statuses[delivery["status"]] += 1
    missing_log = [k for k in expected if not logged.get(k)]
    latency = hook_latency(expected, accepted, logged)
    stranger = [k for k in accepted if k not in expected and k not in deleted]
    unknown_dead = [k for k in stranger if k not in logged]
    figures = {
        "webhooks_expected": len(expected),
        "webhooks_received": len(received),
        "webhooks_duplicates": duplicates,
        "webhooks_duplicates_allowed": allowed,
        "webhooks_bad_signature": len(run.receiver.bad),
        "webhooks_deleted_jobs_received": len([k for k in accepted if k in deleted]),
        "webhooks_log_by_status": dict(statuses),
        "webhooks_wait_s": round(waited, 2),
        **summary("webhook_latency", [v for v, _ in latency.values()]),
    }
    lost = sorted(set(expected) - received)
    report.check(not lost, f"{len(lost)} webhook(s) never arrived, e.g. {lost[:3]}")
    report.check(not run.receiver.bad, f"bad signatures: {run.receiver.bad[:3]}")
    report.check(not unexpected_dupes, f"duplicates at-least-once does not allow: "
                 f"{unexpected_dupes[:3]}")  # fmt: skip
    report.check(not missing_log, f"{len(missing_log)} expected webhook(s) absent from the "
                 f"delivery log, e.g. {missing_log[:3]}")  # fmt: skip
    undelivered = {s: n for s, n in statuses.items() if s != "delivered"}
    report.check(not undelivered, f"delivery log not all delivered: {undelivered}")
    report.check(not unknown_dead, f"deliveries for jobs no client knows: {unknown_dead[:3]}")
    return figures


def hook_latency(
    expected: dict[str, Tracked],
    accepted: dict[str, list[Hit]],
    logged: dict[str, list[dict[str, Any]]],
) -> dict[str, tuple[float, Hit]]:
    """Per job: seconds from its delivery's creation (server clock) to the first acceptance."""
    out = {}
    for key in expected:
        hits, deliveries = accepted.get(key), logged.get(key)
        if hits and deliveries:
            created = min(d["created_at"] for d in deliveries)
            out[key] = (max(0.0, hits[0].wall - created), hits[0])
    return out


def summary(name: str, values: list[float]) -> dict[str, float]:
    """p50, p99 and max of ``values`` (seconds) as ``{name}_p50_s`` ... (0 when empty)."""
    ordered = sorted(values) or [0.0]

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    return {f"{name}_p50_s": pick(0.5), f"{name}_p99_s": pick(0.99),
            f"{name}_max_s": round(ordered[-1], 3)}  # fmt: skip


def check_jobs(run: Run, report: Report) -> dict[str, Any]:
    jobs = run.jobs
    lost = [j for j in jobs if j.lost is not None]
    live = [j for j in jobs if not j.deleted]
    terminal = [j for j in live if j.terminal]
    unread = [j for j in terminal if not j.results_read and j.lost is None]
    by_vendor = Counter(j.vendor for j in jobs)
    report.check(not lost, f"{len(lost)} lost job(s): " + "; ".join(
        f"{j.vendor} {j.id}: {j.lost}" for j in lost[:3]))  # fmt: skip
    report.check(not unread, f"{len(unread)} terminal job(s) whose results were not readable: "
                 + ", ".join(f"{j.vendor} {j.id}" for j in unread[:3]))  # fmt: skip
    report.illegal = list(run.illegal)
    report.check(not run.illegal, f"{len(run.illegal)} illegal transition(s): {run.illegal[:3]}")
    return {
        "jobs_created": len(jobs),
        "jobs_by_vendor": dict(sorted(by_vendor.items())),
        "jobs_deleted": len(jobs) - len(live),
        "jobs_terminal": len(terminal),
        "jobs_results_read": len([j for j in terminal if j.results_read]),
        "jobs_lost": len(lost),
        "illegal_transitions": len(run.illegal),
    }


def check_requests(run: Run, report: Report, seconds: float) -> dict[str, Any]:
    errors = dict(run.errors)
    report.check(not errors, f"{sum(errors.values())} unexpected error(s): "
                 + "; ".join(f"{k} x{n} ({run.error_examples[k]})"
                             for k, n in list(errors.items())[:4]))  # fmt: skip
    return {
        "requests": run.requests,
        "req_per_s": round(run.requests / seconds, 1) if seconds else 0.0,
        "errors": sum(errors.values()),
        "errors_by_kind": errors,
    }


def check_streams(clients: list[Client], report: Report) -> dict[str, Any]:
    sent = sum(len(c.stream_sent) for c in clients)
    unknown = sum(len(c.stream_unknown) for c in clients)
    missing = sum(len(c.missing_stream_items()) for c in clients)
    dupes = sum(n - 1 for c in clients for n in c.stream_got.values() if n > 1)
    report.check(missing == 0, f"{missing} stream item(s) never got a result")
    report.check(dupes == 0, f"{dupes} stream result(s) delivered twice")
    return {"stream_items_sent": sent, "stream_items_missing": missing,
            "stream_results_duplicated": dupes, "stream_items_cut_by_kill": unknown}  # fmt: skip


def check_journal(run: Run, report: Report) -> dict[str, Any]:
    status, body = run.server.get("/_mock/journal?limit=100000000")
    entries = len(body["entries"]) if status == 200 else -1
    capacity = body.get("capacity", 0) if status == 200 else 0
    report.check(0 <= entries <= capacity, f"journal holds {entries} > capacity {capacity}")
    return {"journal_entries": entries, "journal_capacity": capacity,
            "journal_dropped": body.get("dropped") if status == 200 else None}  # fmt: skip


# --- the three scenarios ------------------------------------------------------------------------


@contextlib.contextmanager
def under_load(
    options: Options, server: Server | None, report: Report
) -> Iterator[tuple[Run, RssSampler, list[Client]]]:
    """A run under load: ``server`` (or one booted here, closed on the way out), a receiver,
    RSS sampling and the clients started. On any error the server's log tail is printed."""
    own = server is None
    if server is None:
        with phase(report, "boot"):
            server, ready, model = boot(options)
        report.figures.update(server_start_s=round(ready, 2), model_ready_s=round(model, 2))
    receiver = make_receiver(server)
    try:
        run = Run(options, server, receiver)
        run.resume.set()
        rss = RssSampler(server).start()
        yield run, rss, start_clients(run)
    except BaseException:
        log(f"server log tail:\n{server.log_tail()}")
        raise
    finally:
        receiver.close()
        if own:
            server.close()


def run_load(options: Options, server: Server | None = None) -> Report:
    """N clients for D seconds, then the drain and every check. ``server``: a running server
    to use (its model loaded) instead of starting one."""
    report = Report("load")
    with under_load(options, server, report) as (run, rss, clients):
        sleep_until(run.load_started + options.duration)
        run.stop_load.set()
        loaded = time.monotonic() - run.load_started
        requests_at_stop = run.requests
        with phase(report, "drain"):
            join_clients(run, clients)
        report.figures.update(check_requests(run, report, loaded))
        report.figures["requests_in_load"] = requests_at_stop
        report.figures["req_per_s"] = round(requests_at_stop / loaded, 1)
        report.figures.update(check_jobs(run, report))
        report.figures.update(check_streams(clients, report))
        with phase(report, "webhooks"):
            report.figures.update(check_webhooks(run, report))
        report.figures.update(check_journal(run, report))
        report.figures.update(rss.stop())
        report.figures["rss_per_1000_jobs_mb"] = per_thousand(report.figures, len(run.jobs))
    return report


def per_thousand(figures: dict[str, Any], jobs: int) -> float:
    grown = figures["rss_end_mb"] - figures["rss_start_mb"]
    return round(grown * 1000 / jobs, 2) if jobs else 0.0


def pending_in_store(path: Path) -> tuple[dict[str, str], set[str]]:
    """Read the SQLite store of a killed server: pending deliveries (id -> job id) and job ids.

    Opened read-only while no server runs, after the kill: exactly what a restart will see.
    """
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        pending = {
            str(row[0]): str(row[1])
            for row in conn.execute("SELECT id, job_id FROM deliveries WHERE status = 'pending'")
        }
        jobs = {str(row[0]) for row in conn.execute("SELECT id FROM jobs")}
    finally:
        conn.close()
    return pending, jobs


def run_crash(options: Options) -> Report:
    """Load on a SQLite store; SIGKILL mid-load; restart on the same store; check survival."""
    report = Report("crash")
    workdir = Path(tempfile.mkdtemp(prefix="mockserver-crash-"))
    db = workdir / "state.db"
    kill_after = options.kill_after if options.kill_after is not None else options.duration / 2
    with phase(report, "boot"):
        server, ready, model = boot(options, "--store", f"sqlite:///{db}")
    receiver = make_receiver(server)
    try:
        run = Run(options, server, receiver)
        clients = start_clients(run)
        sleep_until(run.load_started + max(0.0, kill_after - options.backlog))
        receiver.down("503")  # deliveries made from here on stay pending
        sleep_until(run.load_started + kill_after)
        run.crashing.set()
        run.stop_load.set()
        killed_at = time.monotonic()
        server.kill()
        requests_at_kill = run.requests
        pending, stored = pending_in_store(db)
        receiver.up()
        with phase(report, "restart"):
            restart = server.start()
            model = server.wait_model()
        rss = RssSampler(server).start()
        run.resume.set()
        with phase(report, "drain"):
            join_clients(run, clients)
        acked = [j for j in run.jobs if j.acked_at]
        survived = [j for j in acked if j.id in stored or j.deleted]
        report.check(len(survived) == len(acked),
                     f"{len(acked) - len(survived)} acknowledged job(s) not in the store after "
                     f"the kill")  # fmt: skip
        report.figures.update(check_requests(run, report, killed_at - run.load_started))
        report.figures["req_per_s"] = round(requests_at_kill / (killed_at - run.load_started), 1)
        report.figures["requests_cut_by_kill"] = run.expected_failures
        report.figures.update(check_jobs(run, report))
        report.figures.update(check_streams(clients, report))
        accepted_before = {
            key for key, hits in run.receiver.accepted().items() if hits[0].at < killed_at
        }

        def allowed(key: str) -> int:  # accepted just before the kill, answer unrecorded
            return 1 if key in accepted_before and key in pending.values() else 0

        with phase(report, "webhooks"):
            report.figures.update(check_webhooks(run, report, allowed_dupes=allowed))
        accepted = run.receiver.accepted()
        by_id = {d["id"]: d for ds in delivery_log(run).values() for d in ds}
        delivered_after, lost_pending = [], []
        for delivery_id, job_id in pending.items():
            final = by_id.get(delivery_id)
            arrived = any(h.at >= killed_at for h in accepted.get(job_id, []))
            if final is not None and final["status"] == "delivered" and arrived:
                delivered_after.append(delivery_id)
            else:
                status = final["status"] if final else "absent from the log"
                lost_pending.append(f"{delivery_id} (job {job_id}: {status}, arrived {arrived})")
        report.check(not lost_pending, f"{len(lost_pending)} pending webhook(s) lost: "
                     f"{lost_pending[:3]}")  # fmt: skip
        report.figures.update(
            jobs_acknowledged=len(acked),
            jobs_survived=len(survived),
            webhooks_pending_at_kill=len(pending),
            webhooks_pending_delivered_after_restart=len(delivered_after),
            webhooks_pending_lost=len(lost_pending),
            requests_before_kill=requests_at_kill,
            kill_after_s=kill_after,
            restart_s=round(restart, 3),
            restart_model_ready_s=round(model, 2),
            server_start_s=round(ready, 2),
        )
        report.check(len(pending) > 0, "no delivery was pending at the kill: nothing was tested")
        report.figures.update(check_journal(run, report))
        report.figures.update(rss.stop())
    except BaseException:
        log(f"server log tail:\n{server.log_tail()}")
        raise
    finally:
        receiver.close()
        server.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return report


def run_outage(options: Options, server: Server | None = None) -> Report:
    """The receiver goes down for ``outage`` seconds under load; every delivery must arrive.
    ``server``: a running server to use instead of starting one."""
    report = Report("outage")
    outage_at = (
        options.outage_at if options.outage_at is not None else min(5.0, options.duration / 4)
    )
    with under_load(options, server, report) as (run, rss, clients):
        sleep_until(run.load_started + outage_at)
        down_at = time.monotonic()
        scope = set(range(options.outage_clients)) if options.outage_clients else None
        run.receiver.down(options.outage_mode, scope)
        sleep_until(down_at + options.outage)
        run.receiver.up()
        up_at = time.monotonic()
        sleep_until(run.load_started + max(options.duration, outage_at + options.outage))
        run.stop_load.set()
        loaded = time.monotonic() - run.load_started
        with phase(report, "drain"):
            join_clients(run, clients)
        report.figures.update(check_requests(run, report, loaded))
        report.figures.update(check_jobs(run, report))
        report.figures.update(check_streams(clients, report))
        with phase(report, "webhooks"):
            report.figures.update(check_webhooks(run, report))
        logged = delivery_log(run)
        failed = [k for k, ds in logged.items() for d in ds if d["status"] == "failed"]
        retried = {
            k for k, ds in logged.items() for d in ds if any(a["error"] for a in d["attempts"])
        }
        accepted = run.receiver.accepted()
        last = max((accepted[k][0].at for k in retried if k in accepted), default=up_at)
        in_outage = [h for h in run.receiver.hits if down_at <= h.at < up_at]
        report.check(not failed, f"{len(failed)} deliveries failed permanently: {failed[:3]}")
        if scope is not None:
            latency = hook_latency(expected_hooks(run), accepted, logged)
            healthy = [v for v, hit in latency.values() if hit.client not in scope]
            figures = summary("healthy_webhook_latency", healthy)
            report.figures.update(figures)
            p99 = figures["healthy_webhook_latency_p99_s"]
            report.check(
                p99 <= options.healthy_latency_max,
                f"clients whose receiver was up waited p99 {p99} s for their webhooks "
                f"(> {options.healthy_latency_max} s): another receiver's outage held them up",
            )
        report.check(bool(retried), "no delivery was retried: the outage tested nothing")
        report.figures.update(
            outage_s=options.outage,
            outage_mode=options.outage_mode,
            outage_clients=options.outage_clients,
            deliveries_retried=len(retried),
            deliveries_failed_permanently=len(failed),
            attempts_refused_by_receiver=len([h for h in in_outage if not h.accepted]),
            recovery_to_last_delivery_s=round(max(0.0, last - up_at), 2),
        )
        report.figures.update(check_journal(run, report))
        report.figures.update(rss.stop())
    return report


# --- output -------------------------------------------------------------------------------------

ROWS: dict[str, list[tuple[str, str]]] = {
    "common": [
        ("requests", "requests"),
        ("req/s (load phase)", "req_per_s"),
        ("errors (unexpected)", "errors"),
        ("errors by kind", "errors_by_kind"),
        ("jobs created (acknowledged)", "jobs_created"),
        ("jobs by vendor", "jobs_by_vendor"),
        ("jobs deleted by their client", "jobs_deleted"),
        ("jobs terminal", "jobs_terminal"),
        ("jobs whose results were read", "jobs_results_read"),
        ("jobs lost", "jobs_lost"),
        ("illegal transitions", "illegal_transitions"),
        ("stream items sent / missing / twice", "stream"),
        ("webhooks expected", "webhooks_expected"),
        ("webhooks received", "webhooks_received"),
        ("webhook duplicates (allowed)", "dupes"),
        ("bad signatures", "webhooks_bad_signature"),
        ("delivery log by status", "webhooks_log_by_status"),
        ("webhook latency p50 / p99 / max s", "latency"),
        ("journal entries / capacity (dropped)", "journal"),
        ("server RSS start / peak / end MB", "rss"),
        ("server RSS at each fifth of the run MB", "rss_fifths_mb"),
    ],
    "crash": [
        ("jobs acknowledged / survived", "survival"),
        ("requests cut by the kill", "requests_cut_by_kill"),
        ("webhooks pending at kill", "webhooks_pending_at_kill"),
        ("  delivered after restart", "webhooks_pending_delivered_after_restart"),
        ("  lost", "webhooks_pending_lost"),
        ("restart to first health 200 s", "restart_s"),
        ("restart to model ready s", "restart_model_ready_s"),
    ],
    "outage": [
        ("outage (mode)", "outage"),
        ("deliveries retried", "deliveries_retried"),
        ("deliveries failed permanently", "deliveries_failed_permanently"),
        ("attempts refused during outage", "attempts_refused_by_receiver"),
        ("recovery to last delivery s", "recovery_to_last_delivery_s"),
        ("unaffected clients' latency p50 / p99 / max s", "healthy"),
    ],
}


def render(report: Report) -> str:
    f = report.figures
    combined = {
        **f,
        "stream": f"{f.get('stream_items_sent')} / {f.get('stream_items_missing')} / "
        f"{f.get('stream_results_duplicated')}",
        "dupes": f"{f.get('webhooks_duplicates')} ({f.get('webhooks_duplicates_allowed')})",
        "journal": f"{f.get('journal_entries')} / {f.get('journal_capacity')} "
        f"({f.get('journal_dropped')})",
        "rss": f"{f.get('rss_start_mb')} / {f.get('rss_peak_mb')} / {f.get('rss_end_mb')}",
        "survival": f"{f.get('jobs_acknowledged')} / {f.get('jobs_survived')}",
        "latency": " / ".join(str(f.get(f"webhook_latency_{q}_s")) for q in ("p50", "p99", "max")),
        "healthy": " / ".join(
            str(f.get(f"healthy_webhook_latency_{q}_s", "-")) for q in ("p50", "p99", "max")
        ),
        "outage": f"{f.get('outage_s')} s ({f.get('outage_mode')}, "
        f"{f.get('outage_clients') or 'all'} clients)",
    }
    rows = ROWS["common"] + ROWS.get(report.scenario, [])
    width = max(len(label) for label, _ in rows)
    lines = [f"reliability {report.scenario}", "-" * (width + 30)]
    for label, key in rows:
        value = combined.get(key, "")
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items()) or "none"
        lines.append(f"{label.ljust(width)}  {value}")
    lines.append("-" * (width + 30))
    if report.ok:
        lines.append("every invariant held")
    for broken in report.broken:
        lines.append(f"INVARIANT BROKEN: {broken}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", choices=["load", "crash", "outage"])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        help="seconds of load (default: load 60, crash 20, outage 30)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", choices=["fast", "instant"], default="fast")
    parser.add_argument("--json", dest="json_path", default=None, help="write the figures here")
    parser.add_argument(
        "--think-ms", type=float, default=5.0, help="mean pause between a client's requests"
    )
    parser.add_argument("--drain-timeout", type=float, default=60.0)
    parser.add_argument(
        "--webhook-timeout",
        type=float,
        default=60.0,
        help="how long to wait for the last webhooks after the drain",
    )
    parser.add_argument(
        "--kill-after",
        type=float,
        default=None,
        help="crash: seconds of load before SIGKILL (default: half)",
    )
    parser.add_argument(
        "--backlog",
        type=float,
        default=2.0,
        help="crash: seconds before the kill the receiver answers 503",
    )
    parser.add_argument("--outage", type=float, default=10.0, help="outage: seconds down")
    parser.add_argument(
        "--outage-at",
        type=float,
        default=None,
        help="outage: seconds of load before the receiver goes down",
    )
    parser.add_argument("--outage-mode", choices=["refuse", "503", "hang"], default="refuse")
    parser.add_argument(
        "--outage-clients",
        type=int,
        default=0,
        help="outage: only the first K clients' receivers go down (0: all); the others' "
        "webhook latency must stay under --healthy-latency-max",
    )
    parser.add_argument("--healthy-latency-max", type=float, default=2.5)
    parser.add_argument("--no-streams", action="store_true", help="leave bulk streams out")
    parser.add_argument(
        "--server-arg",
        action="append",
        default=[],
        help="an extra `mockserver serve` argument (repeatable)",
    )
    parser.add_argument(
        "--server-root",
        default=None,
        help="run `python -m mockserver` from this source tree (default: this checkout)",
    )
    parser.add_argument("-v", "--verbose", action="store_true")  # fmt: skip
    args = parser.parse_args(argv)
    default_duration = {"load": 60.0, "crash": 20.0, "outage": 30.0}[args.scenario]
    options = Options(
        clients=args.clients,
        duration=args.duration if args.duration is not None else default_duration,
        seed=args.seed,
        profile=args.profile,
        think_ms=args.think_ms,
        drain_timeout=args.drain_timeout,
        webhook_timeout=args.webhook_timeout,
        kill_after=args.kill_after,
        backlog=args.backlog,
        outage=args.outage,
        outage_at=args.outage_at,
        outage_mode=args.outage_mode,
        outage_clients=args.outage_clients,
        healthy_latency_max=args.healthy_latency_max,
        server_args=tuple(args.server_arg),
        streams=not args.no_streams,
        server_root=args.server_root,
        verbose=args.verbose,
    )
    runner = {"load": run_load, "crash": run_crash, "outage": run_outage}[args.scenario]
    started = time.monotonic()
    report = runner(options)
    report.figures["wall_s"] = round(time.monotonic() - started, 1)
    report.figures["options"] = {k: v for k, v in asdict(options).items() if k != "verbose"}
    print(render(report))
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(report.to_json(), indent=2, default=str))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
