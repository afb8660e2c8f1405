"""Server benchmark: start-up to ready, and a control-API read against a bare Flask route.

    python benchmarks/bench_server.py [--duration 5] [--jobs 50000] [--clients 1,8,32]

Prints, in one run on one machine:
  * start-up: seconds from spawning ``mockserver serve`` to the first 200 from the health endpoint;
  * req/s, p50 and p99 of ``GET /_mock/jobs/{id}`` (a control-API read: store lookup, lifecycle
    state, JSON rendering) beside ``GET /bench/hello`` (a bare Flask route on the same server, the
    practical ceiling), at 1, 8 and 32 concurrent keep-alive clients, with an empty store and with
    ``--jobs`` stored jobs; the ratios read/hello and full/empty; the server's RSS.

Load comes from ``wrk`` (Debian package ``wrk``): a Python load generator measures itself.
Every server binds to 127.0.0.1 and every run is bounded by ``--duration``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from procs import rss_mb, stop

HERE = Path(__file__).resolve()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return time.perf_counter() - start
        except OSError:
            time.sleep(0.005)
    raise RuntimeError("server not ready")


def measure_startup(runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        port = free_port()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mockserver",
                "serve",
                "--port",
                str(port),
                "--log-level",
                "error",
            ],
            start_new_session=True,
        )
        try:
            times.append(wait_ready(f"http://127.0.0.1:{port}/_mock/health", proc))
        finally:
            stop(proc)
    return times


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def wrk(url: str, clients: int, duration: float) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{clients}", f"-d{duration:g}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def pct(p: str) -> float:
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * UNITS[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50": pct("50"),
        "p99": pct("99"),
        "non2xx": float(errors.group(1)) if errors else 0,
    }


def worker(port: int, jobs: int) -> None:
    """The server under test: the real app plus a bare route, ``jobs`` jobs stored in advance."""
    from flask import Flask

    from mockserver.app import create_app
    from mockserver.server import serve
    from mockserver.settings import Settings

    settings = Settings().replace(port=port, log_level="error")

    def factory() -> Flask:
        app = create_app(settings, start=True)
        app.add_url_rule("/bench/hello", "hello", lambda: "hello")
        engine = app.extensions["mockserver"].engine
        for n in range(jobs):
            engine.submit(f"tenant-{n % 100}", "mock", inputs=[{"n": n}])
        target = engine.submit("bench", "mock", inputs=[{"n": -1}])
        app.extensions["mockserver"].scheduler.run_due()  # measure steady state, not settling
        app.add_url_rule("/bench/target", "target", lambda: target.id)
        return app

    serve(settings, factory)


def run_store(jobs: int, clients: list[int], duration: float) -> dict[str, object]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(HERE), "--worker", "--port", str(port), "--jobs", str(jobs)],
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base + "/bench/target", proc, timeout=600)
        with urllib.request.urlopen(base + "/bench/target") as response:
            job_id = response.read().decode()
        wrk(base + f"/_mock/jobs/{job_id}", 8, 1)  # warm-up
        rows = {}
        for c in clients:
            rows[c] = {
                "hello": wrk(base + "/bench/hello", c, duration),
                "read": wrk(base + f"/_mock/jobs/{job_id}", c, duration),
            }
        return {"rows": rows, "rss_mb": rss_mb(proc.pid)}
    finally:
        stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--jobs", type=int, default=50_000)
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--startup-runs", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.port, args.jobs)
        return
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    clients = [int(c) for c in args.clients.split(",")]

    startup = measure_startup(args.startup_runs)
    print(
        f"start-up to first 200 on /_mock/health over {len(startup)} runs: "
        f"median {statistics.median(startup):.3f} s, max {max(startup):.3f} s"
    )
    results = {
        0: run_store(0, clients, args.duration),
        args.jobs: run_store(args.jobs, clients, args.duration),
    }

    print(
        f"\n{'stored jobs':>11} {'clients':>7} | {'hello req/s':>11} {'p50/p99 ms':>13} | "
        f"{'read req/s':>10} {'p50/p99 ms':>13} | {'read/hello':>10}"
    )
    for jobs, result in results.items():
        for c, row in result["rows"].items():  # type: ignore[attr-defined]
            h, r = row["hello"], row["read"]
            print(
                f"{jobs:>11} {c:>7} | {h['rps']:>11.0f} {h['p50']:>6.2f}/{h['p99']:<6.2f} | "
                f"{r['rps']:>10.0f} {r['p50']:>6.2f}/{r['p99']:<6.2f} | {r['rps'] / h['rps']:>9.0%}"
            )
            if h["non2xx"] or r["non2xx"]:
                print(
                    f"{'':>11} non-2xx responses: hello {h['non2xx']:.0f}, read {r['non2xx']:.0f}"
                )
    print()
    for c in clients:
        empty = results[0]["rows"][c]["read"]["rps"]  # type: ignore[index]
        full = results[args.jobs]["rows"][c]["read"]["rps"]  # type: ignore[index]
        print(f"read at {c} clients with {args.jobs} jobs vs empty store: {full / empty:.0%}")
    for jobs, result in results.items():
        print(f"server RSS after the runs with {jobs} stored jobs: {result['rss_mb']:.0f} MB")
    if args.json:
        args.json.write_text(
            json.dumps({"startup_s": startup, "results": results}, indent=2, default=str)
        )


if __name__ == "__main__":
    main()
