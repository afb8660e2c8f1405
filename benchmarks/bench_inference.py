"""Inference benchmark: text model load, RSS and throughput, audio and vision speed, agreement.

    python benchmarks/bench_inference.py [--device cpu|cuda] [--threads 2] [--quick] [--json PATH]

Prints, in one run on one machine, each figure beside its target (PASS/MISS where one exists):
  * ``import torch`` time and text model load time (``TextModel.load()`` plus one warm-up call,
    timed after ``import torch``, so it includes importing ``mockserver.inference.text``), median
    of 3 fresh processes, and the process RSS (VmRSS and ru_maxrss) at that point;
  * texts/s of the ``emotions`` head called directly, one text per call and 64 per call, over
    2,000 generated sentences of 12-20 words and over ``fixtures/eval/emotions.jsonl`` repeated
    to 2,000 texts (median of 3 passes);
  * texts/s through ``InferenceService`` with 8 submitter threads (dynamic batching), each thread
    sending one text at a time and, separately, all of its texts at once; the mean batch size;
  * audio: seconds of audio per wall second for decode + ``analyse_audio`` + ``prosody`` over the
    utterances and over 4 s / 1 s windows + ``bursts``, on a 60 s WAV built from the fixture
    clips and on an MP3 of it (best and median of 3; the target is judged on the median);
  * images/s of ``analyse_image`` on two 640x480 JPEGs (100 calls each) and frames/s of
    ``analyse_video(fps_pred=0)`` on a 75-frame 640x480 MP4 (best of 2);
  * the agreement of ``benchmarks/eval_text.py`` (on the CPU: it builds its tensors there).

Every section runs in a fresh process (``--worker``), so load time and RSS are a cold process's
and one section's caches never help another. ``--threads`` sets ``torch.set_num_threads`` in
each of them. ``--quick`` is a smoke run: one load process, the other workers together in
one more, fewer texts and iterations.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

MEDIA = ROOT / "fixtures" / "media"
EVAL = ROOT / "fixtures" / "eval"
MARK = "BENCH-RESULT "
SUBMITTERS = 8
BATCH = 64
CLIP_SECONDS = 60.0

TARGETS = {
    "text_batched": 2000.0,  # texts/s, at least
    "load_s": 1.0,  # seconds, at most
    "rss_mb": 500.0,  # MB, at most
    "audio_x": 50.0,  # times real time, at least
    "images_s": 50.0,  # images/s, at least
    "emotions_top3": 0.80,
    "zeroshot_top1": 0.80,
}

# --- generated sentences -------------------------------------------------------------------------

OPENERS = (
    "Yesterday", "Last night", "This morning", "On Friday", "Somehow", "Honestly",
    "To my surprise", "After lunch", "Once again", "Right before the holidays",
)  # fmt: skip
SUBJECTS = (
    "my neighbour", "the old teacher", "our manager", "a small child", "the delivery driver",
    "my best friend", "the new intern", "her grandmother", "the quiet stranger",
    "his younger brother", "the team captain", "our landlord", "the night nurse",
    "a tired student", "the bus driver", "my sister", "the head chef", "the mayor",
    "a local farmer", "the referee",
)  # fmt: skip
VERBS = (
    "finally fixed", "accidentally broke", "quietly returned", "proudly showed us",
    "completely forgot", "carefully wrapped", "suddenly cancelled", "happily shared",
    "angrily threw away", "slowly repainted", "secretly bought", "loudly complained about",
    "gently carried", "barely noticed", "somehow lost", "kindly offered us",
)  # fmt: skip
OBJECTS = (
    "the broken kitchen window", "a birthday cake", "the last train ticket",
    "our weekend plans", "an old family photo", "the heavy wooden table", "the concert tickets",
    "a letter from the bank", "the garden fence", "a box of fresh strawberries",
    "the hospital bill", "the lost puppy", "my favourite jacket", "the wedding invitations",
    "a stack of unpaid invoices", "the school report",
)  # fmt: skip
TAILS = (
    "after waiting for almost three hours", "before anyone could say a word",
    "and nobody even said thank you", "while the rain kept falling outside",
    "which made the whole room laugh", "and I honestly could not believe it",
    "so we all felt terribly guilty", "even though it was nearly midnight",
    "and the kids were absolutely thrilled", "because the deadline was tomorrow morning",
    "which left me completely exhausted", "and now I am scared it will happen again",
    "so I cried a little in the car", "and everyone cheered like crazy",
    "which was frankly a bit disgusting", "and I am still furious about it",
    "so the evening ended in awkward silence", "and it felt like a small miracle",
)  # fmt: skip


def sentences(n: int, seed: int = 1) -> list[str]:
    """``n`` distinct sentences of 12-20 words from the word lists above, the same every run."""
    rng = random.Random(seed)
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        parts = [rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(OBJECTS)]
        if rng.random() < 0.6:
            parts.insert(0, rng.choice(OPENERS) + ",")
        parts += rng.sample(TAILS, rng.choice((1, 1, 2)))
        text = " ".join(parts)
        if not 12 <= len(text.split()) <= 20 or text in seen:
            continue
        seen.add(text)
        out.append(text[0].upper() + text[1:] + rng.choice(".!?."))
    return out


def eval_texts(n: int) -> list[str]:
    """The evaluation set's emotion texts, repeated (in order) to ``n`` texts."""
    lines = (EVAL / "emotions.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [str(json.loads(line)["text"]) for line in lines if line.strip()]
    return [texts[i % len(texts)] for i in range(n)]


# --- helpers used inside the workers ----------------------------------------------------------


def setup_torch(args: argparse.Namespace) -> Any:
    import torch

    torch.set_num_threads(args.threads)
    return torch


def sync(torch: Any, device: str) -> None:
    """Wait for queued GPU work, so a timer stops when the work is done."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def vmrss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    """Wall seconds of ``runs`` calls of ``fn``."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def concurrently(fn: Callable[[list[str]], None], shares: list[list[str]]) -> float:
    """Seconds from releasing one thread per share, all at once, to the last one finishing."""
    gate = threading.Barrier(len(shares) + 1)

    def submitter(share: list[str]) -> None:
        gate.wait()
        fn(share)

    with ThreadPoolExecutor(len(shares)) as pool:
        futures = [pool.submit(submitter, share) for share in shares]
        gate.wait()
        begun = time.perf_counter()
        for fut in futures:
            fut.result()
        return time.perf_counter() - begun


# --- workers: each runs in its own fresh process and returns a JSON-able dict ------------------


def work_load(args: argparse.Namespace) -> dict[str, Any]:
    start = time.perf_counter()
    import torch

    imported = time.perf_counter()
    torch.set_num_threads(args.threads)
    from mockserver.inference.text import TextModel

    model = TextModel.load(args.device)
    model.emotions(["warm up"])
    sync(torch, args.device)
    loaded = time.perf_counter()
    return {
        "import_torch_s": imported - start,
        "load_s": loaded - imported,
        "vmrss_mb": vmrss_mb(),
        "maxrss_mb": maxrss_mb(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
    }


def work_text(args: argparse.Namespace) -> dict[str, Any]:
    torch = setup_torch(args)
    from mockserver.inference.text import TextModel

    model = TextModel.load(args.device)
    n = 64 if args.quick else 2000
    runs = 1 if args.quick else 3
    sets = {"generated": sentences(n), "eval": eval_texts(n)}
    for text in sentences(BATCH, seed=98):  # warm-up on texts not measured
        model.emotions([text])
    out: dict[str, Any] = {"texts": n, "runs": runs, "torch_threads": torch.get_num_threads()}
    for name, texts in sets.items():

        def one_by_one(texts: list[str] = texts) -> None:
            for text in texts:
                model.emotions([text])
            sync(torch, args.device)

        def batched(texts: list[str] = texts) -> None:
            for i in range(0, len(texts), BATCH):
                model.emotions(texts[i : i + BATCH])
            sync(torch, args.device)

        batched()  # one untimed pass: the tokenizer's word cache holds these words afterwards
        words = [len(t.split()) for t in texts]
        tokens = [len(model.tokenizer.encode(t)) for t in texts]
        out[name] = {
            "words_mean": statistics.mean(words),
            "words_range": [min(words), max(words)],
            "tokens_mean": statistics.mean(tokens),
            "batch1_per_s": n / statistics.median(timed(one_by_one, runs)),
            f"batch{BATCH}_per_s": n / statistics.median(timed(batched, runs)),
        }
    return out


def work_service(args: argparse.Namespace) -> dict[str, Any]:
    setup_torch(args)
    from mockserver.inference.service import InferenceService

    n = 128 if args.quick else 2000
    texts = sentences(n)
    shares = [texts[k::SUBMITTERS] for k in range(SUBMITTERS)]
    service = InferenceService(args.device, threads=args.threads)
    start = time.perf_counter()
    service.wait_ready()
    ready = time.perf_counter() - start
    service.run("emotions", sentences(BATCH, seed=99))  # warm-up

    def one_at_a_time(share: list[str]) -> None:
        for text in share:
            service.run("emotions", [text])

    def all_at_once(share: list[str]) -> None:
        service.run("emotions", share)

    out: dict[str, Any] = {"texts": n, "submitters": SUBMITTERS, "ready_s": ready}
    try:
        for name, fn in (("one_at_a_time", one_at_a_time), ("all_at_once", all_at_once)):
            before = service.describe()
            took = concurrently(fn, shares)
            after = service.describe()
            batches = after["batches"] - before["batches"]
            items = after["items"] - before["items"]
            out[name] = {
                "per_s": n / took,
                "batches": batches,
                "items": items,
                "mean_batch": items / batches if batches else 0.0,
            }
    finally:
        service.close()
    out["describe"] = service.describe()
    return out


def clip_wav() -> tuple[bytes, str]:
    """60 s of 16 kHz mono 16-bit PCM: the fixture WAVs end to end, cycled; the words said."""
    clips = sorted((MEDIA / "audio").glob("*.wav"))
    need = int(CLIP_SECONDS * 16_000) * 2
    pcm = bytearray()
    words: list[str] = []
    while len(pcm) < need:
        for path in clips:
            with wave.open(str(path)) as w:
                if (w.getnchannels(), w.getsampwidth(), w.getframerate()) != (1, 2, 16_000):
                    raise ValueError(f"{path.name} is not 16 kHz mono 16-bit PCM")
                frames = w.readframes(w.getnframes())
            sidecar = path.with_suffix(".txt")
            if sidecar.exists() and len(pcm) + len(frames) <= need:
                words.append(sidecar.read_text(encoding="utf-8").strip())
            pcm += frames
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16_000)
        w.writeframes(bytes(pcm[:need]))
    return buf.getvalue(), " ".join(words)


def to_mp3(wav: bytes) -> bytes:
    """The WAV's samples as MP3 (libmp3lame, 48 kbit/s), encoded in memory with PyAV."""
    import av
    import numpy as np

    with wave.open(io.BytesIO(wav)) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=16_000, layout="mono")
        stream.bit_rate = 48_000
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 16_000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    return buf.getvalue()


def work_audio(args: argparse.Namespace) -> dict[str, Any]:
    torch = setup_torch(args)
    from mockserver.inference import audio

    wav, text = clip_wav()
    mp3 = to_mp3(wav)
    counts: dict[str, int] = {}

    def pipeline(data: bytes, name: str, transcript: str | None) -> None:
        analysis = audio.analyse_audio(data, name=name, transcript=transcript, device=args.device)
        utterances = [(s.begin, s.end) for s in audio.spans(analysis, "utterance")]
        windows = audio.windows(analysis.duration, 4.0, 1.0)
        audio.prosody(analysis, utterances)
        audio.prosody(analysis, windows)
        found = audio.bursts(analysis)
        sync(torch, args.device)
        counts.update(
            segments=len(analysis.segments), speech=len(analysis.speech),
            utterances=len(utterances), windows=len(windows), bursts=len(found),
        )  # fmt: skip

    warm = MEDIA / "audio" / "happy.wav"
    pipeline(warm.read_bytes(), warm.name, None)  # warm-up: per-device tables, first calls
    runs = 1 if args.quick else 3
    out: dict[str, Any] = {"seconds": CLIP_SECONDS, "runs": runs, "words": len(text.split())}
    for name, data in (("wav", wav), ("mp3", mp3)):
        times = timed(lambda data=data, name=name: pipeline(data, f"clip.{name}", text), runs)
        out[name] = {
            "bytes": len(data),
            "best_x": CLIP_SECONDS / min(times),
            "median_x": CLIP_SECONDS / statistics.median(times),
            "median_s": statistics.median(times),
            **counts,
        }
    return out


def work_vision(args: argparse.Namespace) -> dict[str, Any]:
    torch = setup_torch(args)
    from mockserver.inference.vision import analyse_image, analyse_video

    iterations = 3 if args.quick else 100
    out: dict[str, Any] = {"iterations": iterations}
    for name in ("face_smile.jpg", "two_faces.jpg"):
        data = (MEDIA / "images" / name).read_bytes()
        faces: list[Any] = []
        for _ in range(3):  # warm-up
            faces = analyse_image(data, device=args.device)

        def loop(data: bytes = data) -> None:
            for _ in range(iterations):
                analyse_image(data, device=args.device)
            sync(torch, args.device)

        took = timed(loop, 1)[0]
        out[name] = {"per_s": iterations / took, "faces": len(faces)}
    data = (MEDIA / "video" / "two_faces.mp4").read_bytes()
    result = analyse_video(data, fps_pred=0, device=args.device)  # warm-up
    took = min(
        timed(lambda: analyse_video(data, fps_pred=0, device=args.device), 1 if args.quick else 2)
    )
    sync(torch, args.device)
    out["two_faces.mp4"] = {
        "frames": len(result.frames),
        "frames_per_s": len(result.frames) / took,
        "size": f"{result.width}x{result.height}",
        "faces_per_frame": statistics.mean(len(f.faces) for f in result.frames),
    }
    return out


def work_eval(args: argparse.Namespace) -> dict[str, Any]:
    setup_torch(args)
    sys.path.insert(0, str(HERE.parent))
    import eval_text

    from mockserver.inference.text import TextModel

    result = eval_text.evaluate(TextModel.load("cpu"))
    return {
        "emotions_top1": result.emotions_top1,
        "emotions_top3": result.emotions_top3,
        "zeroshot_top1": result.zeroshot_top1,
        "zeroshot_multi_f1": result.zeroshot_multi_f1,
        "sentiment_accuracy": result.sentiment_accuracy,
        "counts": result.counts,
    }


WORKERS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "load": work_load,
    "text": work_text,
    "service": work_service,
    "audio": work_audio,
    "vision": work_vision,
    "eval": work_eval,
}


# --- the parent: spawn the workers, print the table -----------------------------------------


def spawn(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one worker in a fresh interpreter; its dict plus the spawn-to-exit wall time."""
    cmd = [sys.executable, str(HERE), "--worker", name, "--device", args.device]
    cmd += ["--threads", str(args.threads)] + (["--quick"] if args.quick else [])
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, timeout=600, check=False)
    wall = time.perf_counter() - start
    lines = [line for line in proc.stdout.splitlines() if line.startswith(MARK)]
    if proc.returncode != 0 or not lines:
        sys.exit(f"worker {name!r} failed (exit {proc.returncode}):\n{proc.stdout}")
    result: dict[str, Any] = json.loads(lines[-1][len(MARK) :])
    result["process_wall_s"] = wall
    print(f"  {name:<8} done in {wall:5.1f} s", file=sys.stderr, flush=True)
    return result


def cuda_missing() -> str | None:
    """Why CUDA cannot be used here, or ``None`` when torch sees a GPU (asked in a subprocess)."""
    probe = "import torch; print(torch.__version__, torch.cuda.is_available())"
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        return f"importing torch failed: {proc.stderr.strip().splitlines()[-1:]}"
    version, available = proc.stdout.split()
    return None if available == "True" else f"torch {version} sees no CUDA device"


class Table:
    """Rows of (measurement, value, target, verdict) and the checks behind the verdicts."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []
        self.checks: list[dict[str, Any]] = []
        self.title = ""

    def section(self, title: str) -> None:
        self.rows.append((title, "", "", ""))
        self.title = title

    def add(
        self,
        name: str,
        value: float,
        fmt: str,
        *,
        at_least: float | None = None,
        at_most: float | None = None,
    ) -> None:
        target = verdict = ""
        if at_least is not None or at_most is not None:
            bound = at_least if at_least is not None else at_most
            assert bound is not None
            ok = value >= bound if at_least is not None else value <= bound
            target = (">= " if at_least is not None else "<= ") + fmt.format(bound)
            verdict = "PASS" if ok else "MISS"
            check = {"name": f"{self.title}: {name}", "value": value, "target": target}
            self.checks.append(check | {"pass": ok})
        self.rows.append(("  " + name, fmt.format(value), target, verdict))

    def print(self) -> None:
        data = [r for r in self.rows if r[1]]
        width = max(len(r[0]) for r in data)
        vw = max(len(r[1]) for r in data)
        tw = max(len(r[2]) for r in data)
        print(f"{'measurement':<{width}}  {'value':>{vw}}  {'target':<{tw}}  verdict")
        print("-" * (width + vw + tw + 13))
        for name, value, target, verdict in self.rows:
            if not value:
                print(name)
            else:
                print(f"{name:<{width}}  {value:>{vw}}  {target:<{tw}}  {verdict}".rstrip())


def report(results: dict[str, Any]) -> Table:
    t = Table()
    loads = results["load"]
    med = {k: statistics.median(r[k] for r in loads) for k in loads[0] if k.endswith(("_s", "_mb"))}
    t.section(f"fresh process (median of {len(loads)})")
    t.add("import torch (s)", med["import_torch_s"], "{:.3f}")
    t.add("text model load + warm-up, after import torch (s)", med["load_s"], "{:.3f}",
          at_most=TARGETS["load_s"])  # fmt: skip
    t.add("RSS after load + warm-up, VmRSS (MB)", med["vmrss_mb"], "{:.0f}",
          at_most=TARGETS["rss_mb"])  # fmt: skip
    t.add("RSS after load + warm-up, ru_maxrss (MB)", med["maxrss_mb"], "{:.0f}",
          at_most=TARGETS["rss_mb"])  # fmt: skip
    t.add("process spawn to exit, interpreter included (s)", med["process_wall_s"], "{:.3f}")

    text = results["text"]
    for name, label in (("generated", "generated sentences"), ("eval", "eval texts repeated")):
        row = text[name]
        lo, hi = row["words_range"]
        t.section(
            f"emotions head, direct: {text['texts']} {label} "
            f"({row['words_mean']:.1f} words {lo}-{hi}, {row['tokens_mean']:.1f} tokens)"
        )
        t.add("batch 1, texts/s", row["batch1_per_s"], "{:,.0f}")
        t.add(f"batch {BATCH}, texts/s", row[f"batch{BATCH}_per_s"], "{:,.0f}",
              at_least=TARGETS["text_batched"])  # fmt: skip

    svc = results["service"]
    t.section(
        f"InferenceService, {svc['submitters']} submitter threads, {svc['texts']} texts "
        f"(ready in {svc['ready_s']:.3f} s)"
    )
    one, bulk = svc["one_at_a_time"], svc["all_at_once"]
    t.add("one text per call, texts/s", one["per_s"], "{:,.0f}")
    t.add("one text per call, mean batch (items/batches)", one["mean_batch"], "{:.1f}")
    t.add("all texts in one run() per thread, texts/s", bulk["per_s"], "{:,.0f}",
          at_least=TARGETS["text_batched"])  # fmt: skip
    t.add("all texts in one run() per thread, mean batch", bulk["mean_batch"], "{:.1f}")

    aud = results["audio"]
    for name in ("wav", "mp3"):
        row = aud[name]
        t.section(
            f"audio, {aud['seconds']:.0f} s {name.upper()} ({row['bytes'] / 1e3:.0f} kB; "
            f"{row['utterances']} utterances, {row['windows']} windows, {row['bursts']} bursts)"
        )
        t.add(f"x real time, best of {aud['runs']}", row["best_x"], "{:.0f}")
        t.add(f"x real time, median of {aud['runs']}", row["median_x"], "{:.0f}",
              at_least=TARGETS["audio_x"])  # fmt: skip

    vis = results["vision"]
    t.section(f"vision, 640x480, {vis['iterations']} iterations per image")
    for name in ("face_smile.jpg", "two_faces.jpg"):
        row = vis[name]
        t.add(f"{name} ({row['faces']} faces), images/s", row["per_s"], "{:.0f}",
              at_least=TARGETS["images_s"])  # fmt: skip
    video = vis["two_faces.mp4"]
    t.add(f"two_faces.mp4 fps_pred=0 ({video['frames']} frames), frames/s",
          video["frames_per_s"], "{:.0f}")  # fmt: skip

    ev = results["eval"]
    t.section(f"text agreement, eval_text.evaluate on the CPU {ev['counts']}")
    t.add("emotions top-1", ev["emotions_top1"], "{:.1%}")
    t.add("emotions top-3", ev["emotions_top3"], "{:.1%}", at_least=TARGETS["emotions_top3"])
    t.add("zero-shot top-1", ev["zeroshot_top1"], "{:.1%}", at_least=TARGETS["zeroshot_top1"])
    t.add("zero-shot multi-label F1", ev["zeroshot_multi_f1"], "{:.2f}")
    t.add("sentiment polarity accuracy", ev["sentiment_accuracy"], "{:.1%}")
    return t


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    parser.add_argument("--quick", action="store_true", help="fewer iterations: a smoke run")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # one name, or several joined by +
    args = parser.parse_args()
    if args.worker:
        names = args.worker.split("+")
        if len(names) == 1:
            print(MARK + json.dumps(WORKERS[names[0]](args)), flush=True)
        else:
            print(MARK + json.dumps({name: WORKERS[name](args) for name in names}), flush=True)
        return
    if args.device == "cuda" and (why := cuda_missing()):
        print(f"skipping the benchmark: --device cuda was asked for but {why}")
        return

    started, load_before = time.perf_counter(), os.getloadavg()
    how = "load alone, the rest in one process" if args.quick else "one fresh process each"
    print(f"workers: {', '.join(WORKERS)} ({how})", file=sys.stderr, flush=True)
    results: dict[str, Any] = {"load": [spawn("load", args) for _ in range(1 if args.quick else 3)]}
    rest = ("text", "service", "audio", "vision", "eval")
    if args.quick:  # a smoke run: one process for the rest, not one torch import each
        results.update(spawn("+".join(rest), args))
    else:
        for name in rest:
            results[name] = spawn(name, args)
    config = {
        "device": args.device,
        "torch_threads": results["load"][0]["torch_threads"],
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "torch": results["load"][0]["torch"],
        "quick": args.quick,
        "loadavg_1m": {"start": load_before[0], "end": os.getloadavg()[0]},
    }
    table = report(results)
    print(
        f"\ndevice {config['device']}, torch.set_num_threads({args.threads}) -> "
        f"{config['torch_threads']} threads, {config['cpu_count']} CPUs, "
        f"Python {config['python']}, torch {config['torch']}" + (", --quick" if args.quick else "")
    )
    print(
        f"1-minute load average before the run {load_before[0]:.2f} "
        "(other work on the same CPUs lowers every throughput figure)"
    )
    print()
    table.print()
    missed = [c["name"] for c in table.checks if not c["pass"]]
    for name in missed:
        print(f"MISS: {name}")
    total = time.perf_counter() - started
    print(
        f"\n{len(table.checks) - len(missed)}/{len(table.checks)} targets met"
        + f"; total {total:.0f} s"
    )
    if args.json:
        payload = {"config": config, "targets": TARGETS, "results": results}
        payload |= {"checks": table.checks, "total_s": total}
        args.json.write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
