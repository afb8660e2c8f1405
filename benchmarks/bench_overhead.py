"""What the emulator adds to every vendor request, in process (no sockets): the request journal,
the conformance log and the body digest, against the same request with them taken out.

    python benchmarks/bench_overhead.py [--requests 3000] [--quick]

Prints, per request kind (a Hume job-status read, a Hume job start with a JSON body, an xAI
batch read):
  * microseconds per request through the whole WSGI app (Flask included), best of 3 rounds;
  * the same with ``Runtime.record_request`` made a no-op (journal and conformance log off) and
    the body digest off: the difference is what they cost;
and, alone: ``Runtime.record_request`` per call, and SHA-256 of request bodies of 1 KB, 1 MB
and 8 MB (the digest limit; larger bodies are not hashed) in MB/s.

CPU time of this process (``time.process_time``) is what is timed, so another process on the
machine changes the figures less than it changes wall time.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from mockserver import app as app_module
from mockserver.app import create_app
from mockserver.runtime import Runtime
from mockserver.settings import Settings

HUME = {"HTTP_X_HUME_API_KEY": "bench"}
XAI = {"HTTP_AUTHORIZATION": "Bearer bench"}
START_BODY = json.dumps({"text": ["hello there"], "models": {"language": {}}}).encode()


def environ(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        **headers,
    }
    if body:
        env["CONTENT_TYPE"] = "application/json"
        env["CONTENT_LENGTH"] = str(len(body))
    env["body"] = body
    return env


def call(app: Any, template: dict[str, Any]) -> int:
    env = dict(template)
    env["wsgi.input"] = io.BytesIO(env.pop("body"))
    status: list[str] = []
    result = app(env, lambda s, h, e=None: status.append(s))
    b"".join(result)
    getattr(result, "close", lambda: None)()
    return int(status[0].split()[0])


def per_request_us(run: Callable[[], object], n: int, rounds: int = 3) -> float:
    for _ in range(min(n, 200)):
        run()
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(n):
            run()
        best = min(best, (time.process_time() - start) / n * 1e6)
    return best


def measure(n: int, quick: bool = False) -> dict[str, Any]:
    app = create_app(Settings())
    runtime: Runtime = app.extensions["mockserver"]
    client = app.test_client()
    job = client.post(
        "/v0/batch/jobs", json=json.loads(START_BODY), headers={"X-Hume-Api-Key": "bench"}
    )
    batch = client.post(
        "/v1/batches", json={"name": "b"}, headers={"Authorization": "Bearer bench"}
    )
    kinds = {
        "hume job read": environ("GET", f"/v0/batch/jobs/{job.get_json()['job_id']}", HUME),
        "hume job start (JSON)": environ("POST", "/v0/batch/jobs", HUME, START_BODY),
        "xai batch read": environ("GET", f"/v1/batches/{batch.get_json()['batch_id']}", XAI),
    }
    for template in kinds.values():
        assert call(app, template) == 200, template["PATH_INFO"]
    out: dict[str, Any] = {"requests": n, "kinds": {}}

    def no_record(*args: Any, **kwargs: Any) -> None:
        return None

    def no_digest() -> str | None:
        return None

    for name, template in kinds.items():

        def run(template: dict[str, Any] = template) -> int:
            return call(app, template)

        full = per_request_us(run, n)
        record, digest = runtime.record_request, app_module._body_digest
        runtime.record_request = no_record  # type: ignore[method-assign]
        app_module._body_digest = no_digest
        try:
            bare = per_request_us(run, n)
        finally:
            runtime.record_request = record  # type: ignore[method-assign]
            app_module._body_digest = digest
        out["kinds"][name] = {"full_us": full, "without_us": bare, "added_us": full - bare}
    entry = {
        "at": time.time(),
        "method": "GET",
        "path": "/v0/batch/jobs/x",
        "query": "",
        "status": 200,
        "duration_ms": 0.4,
        "tenant": "bench",
        "provider": "hume",
        "operation": "get_job_details",
        "violations": [],
        "fault": None,
    }
    out["record_request_us"] = per_request_us(
        lambda: runtime.record_request(dict(entry), job_id="x"), n
    )
    out["sha256_mb_per_s"] = {}
    sizes = (("1 KB", 1 << 10), ("1 MB", 1 << 20), ("8 MB", 8 << 20))
    for label, size in sizes[:2] if quick else sizes:
        data = b"x" * size
        reps = max(3, min(n, (16 << 20) // size))

        def digest_of(data: bytes = data) -> str:
            return hashlib.sha256(data).hexdigest()

        us = per_request_us(digest_of, reps)
        out["sha256_mb_per_s"][label] = {"us": us, "mb_per_s": size / us}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per round")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 50 requests a round")
    parser.add_argument("--json", metavar="PATH", help="also write the raw figures here")
    args = parser.parse_args()
    result = measure(50 if args.quick else args.requests, quick=args.quick)
    print(f"per-request cost in process, best of 3 rounds of {result['requests']} (CPU µs)")
    print(f"{'request':<24}{'full':>10}{'without':>10}{'added':>10}{'share':>8}")
    for name, row in result["kinds"].items():
        share = row["added_us"] / row["full_us"] * 100
        print(
            f"{name:<24}{row['full_us']:>10.1f}{row['without_us']:>10.1f}"
            f"{row['added_us']:>10.1f}{share:>7.0f}%"
        )
    print(f"Runtime.record_request alone: {result['record_request_us']:.1f} µs per call")
    for label, row in result["sha256_mb_per_s"].items():
        print(f"SHA-256 of a {label} body: {row['us']:.0f} µs ({row['mb_per_s']:.0f} MB/s)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(result, out, indent=2)


if __name__ == "__main__":
    main()
