"""Hugging Face bulk stream: results/s and latency of zero-shot items over real websockets.

Against the real server (``mockserver serve``: one process, a thread per connection, the model
loaded in the background, profile ``instant``) on 127.0.0.1, with the ``websockets`` asyncio
client the docs' sample uses. Each stream sends ``Bearer <token>``, then its items as fast as the
socket takes them (as the docs' sample does) while it reads results; items are the docs' zero-shot
sentence for ``facebook/bart-large-mnli`` with three candidate labels, varied per item so no
cache flatters the figures. Several streams use several tokens: one token and model share one
mailbox, so streams on one token would split one queue. Prints per configuration

* items, wall seconds (first send to last result), results/s;
* latency from an item's send to its result (matched by id): p50, p95, max;
* time to the first result (median over streams, and the slowest stream);
* CPU seconds of the client and of the server's process group over the run (the load
  generator shares the machine's cores with the server; a server near one CPU second per
  second is held by its one process's GIL);

and, for comparison, sequential zero-shot requests to the HTTP task endpoint on one keep-alive
connection: requests/s and p50 latency. Model, stream and HTTP path are warmed first.

    python benchmarks/bench_hf.py                # 2,000 items per stream, 1 and 4 streams
    python benchmarks/bench_hf.py --quick        # 50 items, 1 and 2 streams (the smoke run)
    python benchmarks/bench_hf.py --json         # figures as JSON on stdout, the text on stderr
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import statistics
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.serverproc import ServerProcess  # noqa: E402

MODEL = "facebook/bart-large-mnli"
LABELS = ["medical", "fashion", "politics"]
SENTENCE = "This is a test about a new dress shop than opened up on {n}th avenue"  # the docs'
READY_TIMEOUT = 180.0  # seconds for the server to start and the model to load
RECV_TIMEOUT = 30.0  # longest silence on a stream before the run is declared stuck
HTTP_TIMEOUT = 30.0


@dataclass
class StreamRun:
    """One configuration's figures: all its streams together."""

    streams: int
    items: int
    wall_s: float
    results_per_s: float
    latency_ms: dict[str, float]
    first_result_ms: dict[str, float]
    client_cpu_s: float
    server_cpu_s: float | None
    errors: int
    statuses: int = field(default=0)


def payload(n: int) -> dict[str, Any]:
    """Item ``n``: the docs' sentence with its own number, the docs' three labels."""
    return {"inputs": SENTENCE.format(n=n), "parameters": {"candidate_labels": LABELS}}


def group_cpu(pgid: int | None) -> float | None:
    """CPU seconds used so far by a process group (the server's master and worker), from /proc;
    ``None`` where /proc is not there."""
    if pgid is None or not os.path.isdir("/proc"):
        return None
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[2]) == pgid:  # fields after the name: state, ppid, pgrp, ..., utime, stime
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def top_label(outputs: Any) -> str | None:
    """The best label of a zero-shot body, legacy ``{labels, ...}`` or list ``[{label}]``."""
    if isinstance(outputs, dict) and outputs.get("labels"):
        return str(outputs["labels"][0])
    if isinstance(outputs, list) and outputs and isinstance(outputs[0], dict):
        return str(outputs[0].get("label"))
    return None


async def one_stream(
    url: str, token: str, span: tuple[int, int], gates: tuple[asyncio.Event, asyncio.Event]
) -> dict[str, Any]:
    """Open, authenticate (the server's first status frame says it is in), set ``opened``,
    wait for ``go``, then send ``count`` items while reading results; times keyed by id."""
    offset, count = span
    opened, go = gates
    sent: dict[str, float] = {}
    async with connect(url, open_timeout=10, close_timeout=5, max_size=16 << 20) as ws:
        await ws.send(f"Bearer {token}".encode())
        first = json.loads(await asyncio.wait_for(ws.recv(), RECV_TIMEOUT))
        if first.get("type") != "status" or not first["message"].startswith("Connected"):
            raise RuntimeError(f"{token}: unexpected first frame {first}")
        opened.set()
        await go.wait()

        async def send_all() -> None:
            for n in range(count):
                ident = f"{token}-{n:06d}"
                frame = json.dumps({"id": ident, **payload(offset + n)})
                sent[ident] = time.perf_counter()
                await ws.send(frame)

        sender = asyncio.create_task(send_all())
        try:
            found = await collect(ws, token, count)
            await asyncio.wait_for(sender, RECV_TIMEOUT)
        finally:
            sender.cancel()
    return {"sent": sent, **found}


async def collect(ws: Any, token: str, count: int) -> dict[str, Any]:
    """Read until ``count`` distinct ids have a result; no frame may be ``RECV_TIMEOUT`` late."""
    got: dict[str, float] = {}
    errors = statuses = 0
    while len(got) < count:
        try:
            message = json.loads(await asyncio.wait_for(ws.recv(), RECV_TIMEOUT))
        except asyncio.TimeoutError:
            raise TimeoutError(f"{token}: {len(got)}/{count} results, then silence") from None
        if message.get("type") != "results":
            statuses += 1
            continue
        got.setdefault(message["id"], time.perf_counter())
        if top_label(message["outputs"]) not in LABELS:
            errors += 1
    return {"got": got, "errors": errors, "statuses": statuses}


async def run_streams(
    url: str, streams: int, count: int, timeout: float, pgid: int | None = None
) -> StreamRun:
    """``streams`` connections on distinct tokens, released together once all are open."""
    tag = uuid.uuid4().hex[:8]
    go = asyncio.Event()
    opened = [asyncio.Event() for _ in range(streams)]
    tasks = [
        asyncio.create_task(
            one_stream(url, f"bench-{tag}-{i}", (i * count, count), (opened[i], go))
        )
        for i in range(streams)
    ]
    for i, event in enumerate(opened):
        waiter = asyncio.create_task(event.wait())
        await asyncio.wait(
            [waiter, tasks[i]], timeout=RECV_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        waiter.cancel()
        if tasks[i].done():
            tasks[i].result()  # raises what went wrong
        if not event.is_set():
            raise TimeoutError(f"stream {i} did not open within {RECV_TIMEOUT} s")
    server0, cpu0, started = group_cpu(pgid), time.process_time(), time.perf_counter()
    go.set()
    done = await asyncio.wait_for(asyncio.gather(*tasks), timeout + RECV_TIMEOUT)
    cpu = time.process_time() - cpu0
    server1 = group_cpu(pgid)
    server = None if server0 is None or server1 is None else round(server1 - server0, 2)
    latencies = [
        (run["got"][i] - run["sent"][i]) * 1000
        for run in done
        for i in run["got"]
        if i in run["sent"]
    ]
    firsts = [(min(run["got"].values()) - started) * 1000 for run in done]
    wall = max(max(run["got"].values()) for run in done) - started
    total = sum(len(run["got"]) for run in done)
    return StreamRun(
        streams=streams,
        items=total,
        wall_s=round(wall, 3),
        results_per_s=round(total / wall, 1),
        latency_ms={
            "p50": round(percentile(latencies, 0.50), 1),
            "p95": round(percentile(latencies, 0.95), 1),
            "max": round(max(latencies), 1),
        },
        first_result_ms={
            "median": round(statistics.median(firsts), 1),
            "slowest": round(max(firsts), 1),
        },
        client_cpu_s=round(cpu, 2),
        server_cpu_s=server,
        errors=sum(run["errors"] for run in done),
        statuses=sum(run["statuses"] for run in done),
    )


def http_zero_shot(port: int, count: int, offset: int) -> dict[str, float]:
    """Sequential task requests on one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT)
    headers = {"Authorization": "Bearer bench-http", "Content-Type": "application/json"}
    times = []
    try:
        started = time.perf_counter()
        for n in range(count):
            body = json.dumps(payload(offset + n))
            t0 = time.perf_counter()
            conn.request("POST", f"/models/{MODEL}", body=body, headers=headers)
            response = conn.getresponse()
            answer = json.loads(response.read())
            times.append(time.perf_counter() - t0)
            if response.status != 200 or answer["labels"][0] not in LABELS:
                raise RuntimeError(f"task endpoint answered {response.status}: {answer}")
        wall = time.perf_counter() - started
    finally:
        conn.close()
    return {
        "requests": count,
        "wall_s": round(wall, 3),
        "requests_per_s": round(count / wall, 1),
        "p50_ms": round(statistics.median(times) * 1000, 2),
    }


def wait_model(server: ServerProcess) -> float:
    """Seconds until the health endpoint reports the model ready (bounded)."""
    started = time.perf_counter()
    while time.perf_counter() - started < READY_TIMEOUT:
        status, body = server.request("GET", "/_mock/health")
        state = body["inference"]["state"] if status == 200 else None
        if state == "ready":
            return time.perf_counter() - started
        if state == "failed":
            raise RuntimeError(f"model failed to load: {body['inference']['error']}")
        time.sleep(0.1)
    raise RuntimeError(f"model not ready within {READY_TIMEOUT} s")


def report(run: StreamRun, say: Any) -> None:
    lat, first = run.latency_ms, run.first_result_ms
    say(
        f"  {run.streams} stream{'s' if run.streams > 1 else ' '}: {run.items:>6,} items in "
        f"{run.wall_s:6.2f} s = {run.results_per_s:7,.0f} results/s; latency p50 "
        f"{lat['p50']:.0f} ms, p95 {lat['p95']:.0f} ms, max {lat['max']:.0f} ms; first result "
        f"{first['median']:.0f} ms (slowest stream {first['slowest']:.0f} ms); "
        f"CPU s client {run.client_cpu_s:.2f}, server {run.server_cpu_s}; errors {run.errors}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000, help="items per stream")
    parser.add_argument("--quick", action="store_true", help="50 items, 1 and 2 streams")
    parser.add_argument("--json", action="store_true", help="JSON on stdout, text on stderr")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per configuration")
    args = parser.parse_args()
    items = 50 if args.quick else args.items
    configs = (1, 2) if args.quick else (1, 4)
    http_count = 30 if args.quick else 300
    out = sys.stderr if args.json else sys.stdout

    def say(line: str) -> None:
        print(line, file=out, flush=True)

    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    with ServerProcess("--model-load", "background", "--profile", "instant", env=env) as server:
        load_s = wait_model(server)
        url = f"ws://127.0.0.1:{server.port}/bulk/stream/cpu/{MODEL}"
        say(
            f"Hugging Face bulk stream, {MODEL} zero-shot ({len(LABELS)} labels), "
            f"{items:,} items per stream, mockserver serve on 127.0.0.1 (ready "
            f"{server.ready_after:.1f} s, model {load_s:.1f} s more)"
        )
        http_zero_shot(server.port, 10, 10**6)  # warm: model, tokenizer, label prototypes
        asyncio.run(run_streams(url, max(configs), 20, 60.0))  # warm: stream path
        runs = []
        for streams in configs:
            pgid = server.proc.pid if server.proc else None
            runs.append(asyncio.run(run_streams(url, streams, items, args.timeout, pgid)))
            report(runs[-1], say)
        task = http_zero_shot(server.port, http_count, 2 * 10**6)
        say(
            f"  HTTP task endpoint, sequential: {task['requests']} requests in "
            f"{task['wall_s']:.2f} s = {task['requests_per_s']:,.0f} req/s; "
            f"p50 {task['p50_ms']:.1f} ms"
        )
    if args.json:
        document = {
            "model": MODEL,
            "items_per_stream": items,
            "server_ready_s": round(server.ready_after or 0.0, 2),
            "model_ready_s": round(load_s, 2),
            "streams": [asdict(run) for run in runs],
            "http_task": task,
        }
        print(json.dumps(document, indent=2))
    if any(run.errors for run in runs):
        sys.exit("some results were errors or had unexpected labels")


if __name__ == "__main__":
    main()
