"""Hume Batch API throughput in process (Flask test client, no sockets): what one request costs.

Prints start-job (JSON) requests per second, job-details reads per second (the first read of a
completed job computes its language predictions; later reads find them stored), the
contract validation cost of a start-job body, the wall time of a mixed job (video with
audio, two-voice audio, a two-face image and a text, all six models) from start to predictions,
and what a completed text job costs in memory in the default (memory) store: the process's RSS
growth over ``--memory-jobs`` more jobs, each created and read once, per job.

    python benchmarks/bench_hume.py            # 300 jobs, then 3,000 for the memory figure
    python benchmarks/bench_hume.py --quick    # 12 and 50 (the test suite's smoke run)
"""

from __future__ import annotations

import argparse
import gc
import time

from procs import rss_mb

from mockserver.app import create_app
from mockserver.settings import Settings
from mockserver.validation import ContractValidator

KEY = {"X-Hume-Api-Key": "bench"}
JOBS = "/v0/batch/jobs"
BODY = {
    "models": {"face": {"fps_pred": 3.0}, "burst": {}, "language": {"sentiment": {}}},
    "transcription": {"language": "en"},
    "urls": ["https://example.com/a.mp4"],
    "text": ["hello"],
    "callback_url": "http://127.0.0.1:9/x",
}
#: The memory figure's text (the side-by-side benchmark's too): 7 words, 53 emotions each.
SENTENCE = "I am glad the benchmark is running."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="12 jobs instead of 300")
    parser.add_argument("--memory-jobs", type=int, help="jobs for the memory figure (3000)")
    args = parser.parse_args()
    n = 12 if args.quick else 300
    m = args.memory_jobs or (50 if args.quick else 3000)
    validator = ContractValidator.for_contract("hume")
    ref = "#/components/schemas/InferenceBaseRequest"
    started = time.perf_counter()
    for _ in range(2000):
        validator.validate_schema(ref, BODY)
    print(f"validate start body: {(time.perf_counter() - started) / 2000 * 1e6:.0f} us")
    app = create_app(Settings().replace(log_level="warning"))
    runtime = app.extensions["mockserver"]
    try:
        runtime.inference.wait_ready(120)
        client = app.test_client()
        warm = client.post(JOBS, json={"text": ["warm"]}, headers=KEY).json["job_id"]
        client.get(f"{JOBS}/{warm}", headers=KEY)
        body = {"text": ["hello"], "models": {"language": {}}}
        t0 = time.perf_counter()
        ids = [client.post(JOBS, json=body, headers=KEY).json["job_id"] for _ in range(n)]
        t1 = time.perf_counter()
        for job_id in ids:
            client.get(f"{JOBS}/{job_id}", headers=KEY)
        t2 = time.perf_counter()
        for job_id in ids:
            client.get(f"{JOBS}/{job_id}", headers=KEY)
        t3 = time.perf_counter()
        print(f"start job (JSON): {n / (t1 - t0):.0f} req/s")
        print(f"job details, first read (computes predictions): {n / (t2 - t1):.0f} req/s")
        print(f"job details, stored: {n / (t3 - t2):.0f} req/s")
        urls = [
            "https://example.com/face_audio.mp4",
            "https://example.com/two_voices.wav",
            "https://example.com/two_faces.jpg",
        ]
        t0 = time.perf_counter()
        mixed = {"urls": urls, "text": ["I love Paris."]}
        job_id = client.post(JOBS, json=mixed, headers=KEY).json["job_id"]
        predictions = client.get(f"{JOBS}/{job_id}/predictions", headers=KEY).json
        assert len(predictions) == 4
        print(f"mixed job, all models, start to predictions: {time.perf_counter() - t0:.2f} s")
        sentence = {"text": [SENTENCE], "models": {"language": {}}}
        marks = [rss_mb()]
        for half in (m // 2, m - m // 2):
            for _ in range(half):
                job_id = client.post(JOBS, json=sentence, headers=KEY).json["job_id"]
                client.get(f"{JOBS}/{job_id}", headers=KEY)  # completed: predictions stored
            gc.collect()
            marks.append(rss_mb())
        per_job = (marks[2] - marks[0]) / m * 1024
        marginal = (marks[2] - marks[1]) / (m - m // 2) * 1024
        print(
            f"memory per completed 7-word text job, memory store: {per_job:.1f} KB over {m} jobs,"
            f" {marginal:.1f} KB each in the second half (the decoded-results cache full)"
        )
    finally:
        runtime.close()


if __name__ == "__main__":
    main()
