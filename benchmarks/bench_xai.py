"""xAI batch scale: 100,000 requests added 1,000 per call, results paged at ``limit=1000``.

In process (Flask test client, no sockets), so the figures are the server's own cost: JSON
parsing, contract validation, admission, storage and rendering. Prints

* the time of the add calls, early ones against late ones (a call must not get slower as the
  batch grows), and the resident memory the batch added (it must grow linearly);
* a get-batch read (the five counters over every request);
* result pages at the start, middle and end of the batch, first read (the chat completions are
  computed) and re-read (from the result cache), next to the same pages of a batch 10x smaller:
  a page must cost the same whatever the batch's size;
* the request-metadata page.

    python benchmarks/bench_xai.py            # 100,000 requests (and a 10,000 one to compare)
    python benchmarks/bench_xai.py --quick    # 3,000 and 2,000 (the test suite's smoke run)
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from typing import Any

from flask.testing import FlaskClient
from procs import rss_mb

from mockserver.app import create_app
from mockserver.settings import Settings

HEADERS = {"Authorization": "Bearer bench"}
PAGE = 1000


def chunk(start: int, count: int) -> dict[str, Any]:
    return {
        "batch_requests": [
            {
                "batch_request_id": f"req-{n:07d}",
                "batch_request": {
                    "chat_get_completion": {
                        "model": "grok-3-mini",
                        "messages": [
                            {"role": "system", "content": "You are a terse assistant."},
                            {"role": "user", "content": f"What is {n} + {n % 97}? Explain why."},
                        ],
                        "max_tokens": 64,
                    }
                },
            }
            for n in range(start, start + count)
        ]
    }


def timed(fn: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def build(client: FlaskClient, total: int, per_call: int) -> tuple[str, list[float], float]:
    batch = client.post("/v1/batches", json={"name": f"bench {total}"}, headers=HEADERS).json
    assert batch is not None
    batch_id = batch["batch_id"]
    gc.collect()
    before = rss_mb()
    durations = []
    for start in range(0, total, per_call):
        body = chunk(start, per_call)
        elapsed, response = timed(
            lambda b=body: client.post(f"/v1/batches/{batch_id}/requests", json=b, headers=HEADERS)
        )
        assert response.status_code == 200, response.json
        durations.append(elapsed)
    gc.collect()
    return batch_id, durations, rss_mb() - before


def page_at(client: FlaskClient, batch_id: str, after: int, what: str = "results") -> float:
    """Read the page that starts after request number ``after`` (-1: the first page)."""
    query = f"limit={PAGE}"
    if after >= 0:
        import base64

        token = (
            base64.urlsafe_b64encode(
                f"{'r' if what == 'results' else 'q'}:req-{after:07d}".encode()
            )
            .decode()
            .rstrip("=")
        )
        query += f"&pagination_token={token}"
    elapsed, response = timed(
        lambda: client.get(f"/v1/batches/{batch_id}/{what}?{query}", headers=HEADERS)
    )
    assert response.status_code == 200, response.json
    key = "results" if what == "results" else "batch_request_metadata"
    assert len(response.json[key]) == PAGE
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3,000 requests instead of 100,000")
    args = parser.parse_args()
    big = 3_000 if args.quick else 100_000
    small = max(big // 10, 2 * PAGE)
    per_call = 1000

    app = create_app(Settings().replace(log_level="warning"))
    client = app.test_client()
    print(f"xAI batch: {big:,} requests added {per_call:,} per call, pages of {PAGE}")

    small_id, _, _ = build(client, small, per_call)
    started = time.perf_counter()
    batch_id, durations, grown = build(client, big, per_call)
    total = time.perf_counter() - started
    calls = len(durations)
    head = statistics.median(durations[: max(calls // 10, 1)]) * 1000
    tail = statistics.median(durations[-max(calls // 10, 1) :]) * 1000
    print(f"  add calls: {calls} in {total:.1f} s ({big / total:,.0f} requests/s)")
    print(f"  add call median: first 10% {head:.1f} ms, last 10% {tail:.1f} ms")
    print(f"  memory the batch added: {grown:.0f} MB ({grown * 2**20 / big:.0f} B/request)")

    elapsed, response = timed(lambda: client.get(f"/v1/batches/{batch_id}", headers=HEADERS))
    state = response.json["state"]
    assert state["num_requests"] == big and state["num_success"] == big, state
    print(f"  get batch (counters over {big:,}): {elapsed * 1000:.1f} ms")

    rows = []
    for label, n in (("start", -1), ("middle", big // 2), ("end", big - PAGE - 1)):
        first = page_at(client, batch_id, n)
        again = page_at(client, batch_id, n)
        rows.append((label, first, again))
        print(
            f"  results page at {label} of {big:,}: first read {first * 1000:.0f} ms, "
            f"re-read {again * 1000:.0f} ms"
        )
    first_small = page_at(client, small_id, small // 2 - PAGE // 2)
    again_small = page_at(client, small_id, small // 2 - PAGE // 2)
    print(
        f"  results page in a batch of {small:,}: first read {first_small * 1000:.0f} ms, "
        f"re-read {again_small * 1000:.0f} ms"
    )
    ratio = statistics.mean(r[2] for r in rows) / again_small
    print(f"  re-read page cost ratio, {big:,} vs {small:,} requests: {ratio:.2f}")
    meta = page_at(client, batch_id, big // 2, "requests")
    print(f"  request-metadata page at middle of {big:,}: {meta * 1000:.0f} ms")


if __name__ == "__main__":
    main()
