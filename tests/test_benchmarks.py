"""The inference benchmark runs end to end (smoke mode) and reports every figure it promises."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_script(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``python benchmarks/NAME ARGS``, which must exit 0 (its stderr tail says why not)."""
    cmd = [sys.executable, str(ROOT / "benchmarks" / name), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def test_inference_benchmark_smoke_run_reports_every_target(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = run_script("bench_inference.py", "--quick", "--json", str(out))
    assert "targets met" in proc.stdout
    report = json.loads(out.read_text())
    text = json.dumps(report)
    for word in ("texts", "audio", "images", "emotions", "zero"):
        assert word in text
    assert "import torch" in proc.stdout and "x real time" in proc.stdout


def test_hume_benchmark_smoke_run_reports_every_figure() -> None:
    proc = run_script("bench_hume.py", "--quick")
    figures = ("validate start body", "start job (JSON)", "stored", "mixed job", "memory per")
    for figure in figures:
        assert figure in proc.stdout


def test_xai_benchmark_smoke_run_reports_every_figure() -> None:
    proc = run_script("bench_xai.py", "--quick")
    for figure in ("add call median", "memory the batch added", "get batch", "page cost ratio"):
        assert figure in proc.stdout


def test_hf_benchmark_smoke_run_reports_every_figure() -> None:
    proc = run_script("bench_hf.py", "--quick", "--json")
    for figure in ("1 stream", "2 streams", "results/s", "latency p50", "first result", "HTTP"):
        assert figure in proc.stderr
    report = json.loads(proc.stdout)
    assert [run["streams"] for run in report["streams"]] == [1, 2]
    for run in report["streams"]:
        assert run["items"] == 50 * run["streams"] and run["errors"] == 0
        assert run["results_per_s"] > 0 and run["latency_ms"]["p95"] >= run["latency_ms"]["p50"]
    assert report["http_task"]["requests_per_s"] > 0


def test_eden_benchmark_smoke_run_reports_every_figure() -> None:
    proc = run_script("bench_eden.py", "--quick")
    for figure in (
        "launch (multipart",
        "first read",
        "stored",
        "webhook signature",
        "key generation",
    ):
        assert figure in proc.stdout
    assert proc.stdout.count("launch to finished") == 5
    assert "refused" not in proc.stdout


def test_overhead_benchmark_smoke_run_reports_every_figure() -> None:
    proc = run_script("bench_overhead.py", "--quick")
    for row in ("hume job read", "hume job start (JSON)", "xai batch read", "record_request"):
        assert row in proc.stdout
    assert "SHA-256 of a 1 MB body" in proc.stdout
