"""The inference service, chat completions, and how the runtime wires them (health, settings)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import torch

from mockserver.engine.media import MediaError
from mockserver.inference.chat import ChatError, complete, prompt_tokens
from mockserver.inference.service import InferenceService, InferenceUnavailable, TextTask
from mockserver.inference.text import TextModel
from mockserver.inference.tokenizer import load_tokenizer
from mockserver.runtime import Runtime, build_resolver
from mockserver.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
LABELS = ("medical", "fashion", "politics")


@pytest.fixture(scope="module")
def service() -> Any:
    svc = InferenceService("cpu", max_wait=0.02)
    svc.wait_ready(60)
    yield svc
    svc.close()


# --- the service ---------------------------------------------------------------------------------


def test_results_equal_the_model_run_directly(service: InferenceService) -> None:
    texts = ["I am thrilled!", "This is a test about a new dress shop", "Taxes are due"]
    model = TextModel.load()
    got = service.run("emotions", texts, seed=4)
    assert torch.equal(torch.tensor(got), model.emotions(texts, seed=4))
    zs = service.run("zero_shot", texts, labels=LABELS)
    assert torch.equal(torch.tensor(zs), model.zero_shot(texts, LABELS))


def test_concurrent_submissions_are_batched(service: InferenceService) -> None:
    before = service.describe()
    results: dict[int, list[float]] = {}

    def submit(i: int) -> None:
        results[i] = service.submit(TextTask("sentiment", f"text number {i}")).result(30)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(48)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after = service.describe()
    assert len(results) == 48 and all(len(r) == 9 for r in results.values())
    assert after["items"] - before["items"] == 48
    assert after["batches"] - before["batches"] < 48  # some items shared a batch


def test_different_heads_never_share_a_batch(service: InferenceService) -> None:
    futures = [
        service.submit(TextTask("toxicity", "hello")),
        service.submit(TextTask("zero_shot", "hello", labels=LABELS)),
        service.submit(TextTask("zero_shot", "hello", labels=LABELS, multi_label=True)),
    ]
    assert [len(f.result(30)) for f in futures] == [6, 3, 3]


def test_unbatched_calls_and_errors_come_back_through_the_future(
    service: InferenceService,
) -> None:
    assert service.call(lambda m: m.dims).result(30) == 256

    def boom(_: TextModel) -> None:
        raise ValueError("bad call")

    with pytest.raises(ValueError, match="bad call"):
        service.call(boom).result(30)
    with pytest.raises(ValueError):
        service.submit(TextTask("emotions", "x", labels=("NotAnEmotion",))).result(30)
    assert service.ready  # one bad item does not stop the service


def test_media_work_runs_with_the_service_device(service: InferenceService) -> None:
    def probe(value: int, *, device: Any) -> str:
        return f"{value}@{device}"

    assert service.media(probe, 3).result(30) == "3@cpu"


def test_cuda_without_a_gpu_fails_clearly_and_fails_waiting_work() -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    svc = InferenceService("cuda")
    fut = svc.submit(TextTask("sentiment", "hi"))
    with pytest.raises(InferenceUnavailable, match="cuda"):
        svc.wait_ready(60)
    with pytest.raises(InferenceUnavailable):
        fut.result(30)
    assert svc.describe()["state"] == "failed"
    svc.close()


def test_work_submitted_while_loading_waits_in_the_queue() -> None:
    svc = InferenceService("cpu")
    try:
        fut = svc.submit(TextTask("zero_shot", "a new dress shop on 5th avenue", labels=LABELS))
        assert svc.describe()["state"] in {"loading", "ready"}
        scores = fut.result(60)
        assert LABELS[scores.index(max(scores))] == "fashion"
        assert svc.describe()["state"] == "ready" and svc.describe()["load_seconds"] > 0
    finally:
        svc.close()


def test_a_service_is_idle_until_used_and_close_is_safe() -> None:
    svc = InferenceService("cpu")
    assert svc.describe()["state"] == "idle"
    svc.close()
    svc.close()


# --- chat ----------------------------------------------------------------------------------------


def test_chat_is_deterministic_and_prompt_dependent() -> None:
    msgs = [{"role": "user", "content": "Explain photosynthesis in plants"}]
    a = complete(msgs, seed=1)
    assert a == complete(msgs, seed=1)
    assert "photosynthesis" in a.content
    other = complete([{"role": "user", "content": "Tell me about the history of Rome"}], seed=1)
    assert other.content != a.content and "Rome" in other.content


def test_chat_usage_is_consistent_and_max_tokens_is_honoured() -> None:
    msgs = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": [{"type": "text", "text": "What is 12 * 7?"}]},
    ]
    full = complete(msgs)
    assert full.content.startswith("12 * 7 = 84.")
    assert full.finish_reason == "stop"
    tok = load_tokenizer()
    assert full.completion_tokens == tok.count(full.content)
    assert (
        full.prompt_tokens
        == prompt_tokens(msgs)
        == tok.count("You are terse.") + tok.count("What is 12 * 7?") + 3 * 2 + 3
    )
    assert full.total_tokens == full.prompt_tokens + full.completion_tokens
    for limit in (1, 5, 17):
        cut = complete(msgs, max_tokens=limit)
        assert cut.finish_reason == "length"
        assert cut.completion_tokens == tok.count(cut.content) <= limit
        assert full.content.startswith(cut.content)


@pytest.mark.parametrize("bad", [0, -5])
def test_chat_rejects_non_positive_max_tokens_with_the_vendor_message(bad: int) -> None:
    with pytest.raises(ChatError, match=f"must be positive but max_tokens = {bad}"):
        complete([{"role": "user", "content": "hi"}], max_tokens=bad)


# --- runtime, settings and health ----------------------------------------------------------------


def test_health_reports_the_model_state(client: Any) -> None:
    body = client.get("/_mock/health").get_json()
    assert body["inference"]["state"] == "idle"  # the in-process app is not started
    assert body["inference"]["requested_device"] == "auto"


def test_runtime_start_loads_in_the_background_unless_lazy() -> None:
    for mode, expected in (("background", {"loading", "ready"}), ("lazy", {"idle"})):
        runtime = Runtime.build(Settings().replace(model_load=mode, device="cpu"))
        runtime.start()
        try:
            assert runtime.inference.describe()["state"] in expected
        finally:
            runtime.close()


def test_media_urls_resolve_to_bundled_samples_and_never_to_the_network(tmp_path: Path) -> None:
    resolver = build_resolver(Settings())
    blob = resolver.resolve("https://hume-tutorials.s3.amazonaws.com/faces/face_smile.jpg")
    assert blob.media_type == "image/jpeg"
    with pytest.raises(MediaError) as err:
        resolver.resolve("https://example.com/unknown.mp4")
    assert err.value.code == "unresolvable_url"
    clip = tmp_path / "clip.wav"
    clip.write_bytes((ROOT / "fixtures/media/audio/tone.wav").read_bytes())
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"https://cdn.example/x?id=1": "clip.wav"}))
    mapped = build_resolver(Settings().replace(media_map=str(mapping)))
    assert mapped.resolve("https://cdn.example/x?id=1").media_type == "audio/wav"


def test_a_bad_media_map_fails_start_up_with_its_reason(tmp_path: Path) -> None:
    bad = tmp_path / "map.json"
    bad.write_text("[1, 2]")
    with pytest.raises(ValueError, match="expected a JSON object"):
        build_resolver(Settings().replace(media_map=str(bad)))


def test_the_start_up_path_does_not_import_torch() -> None:
    code = (
        "import sys; from mockserver.app import create_app; from mockserver.cli import cli; "
        "create_app(); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- jobs held while the model loads ------------------------------------------------------------


def test_a_job_held_for_the_model_stays_queued_then_runs_its_whole_timeline() -> None:
    from tests.conftest import FakeTime

    clock = FakeTime()
    runtime = Runtime.build(Settings().replace(model_load="lazy", device="cpu"), base_clock=clock)
    try:
        engine = runtime.engine
        held = engine.submit("t", "mock", inputs=[1, 2], hold=True)
        free = engine.submit("t", "mock", inputs=[1])
        clock.t += 5
        assert engine.view(held).status == "queued"
        assert engine.view(free).status == "completed"  # the instant profile
        assert engine.settle(held.id) is None
        assert engine.store.get_job(held.id).settled is False  # type: ignore[union-attr]
        runtime.inference.wait_ready(60)  # loading ends: the runtime releases held jobs
        view = engine.view(engine.store.get_job(held.id))  # type: ignore[arg-type]
        assert view.status == "completed"
        assert view.started_at == view.ended_at == clock.t  # the timeline starts at release
        assert view.created_at == held.created_at
    finally:
        runtime.close()


def test_a_held_job_can_be_cancelled_and_nothing_ever_ran() -> None:
    from mockserver.engine import lifecycle

    plan = lifecycle.make_plan(key="j", seed=0, profile="instant", now=100.0, count=2)
    held = lifecycle.Plan.from_json({**plan.to_json(), "held": True})
    assert held.held and lifecycle.state(held, 200.0).status == "queued"
    cancelled = lifecycle.cancel(held, 150.0)
    view = lifecycle.state(cancelled, 200.0)
    assert view.status == "cancelled" and view.started_at is None
    assert [i.status for i in view.items] == ["cancelled", "cancelled"]
    assert lifecycle.next_transition(held, 120.0) is None
    released = lifecycle.release(held, 130.0)
    assert not released.held and lifecycle.state(released, 130.0).started_at == 130.0


def test_every_inference_and_media_setting_reaches_what_it_configures(tmp_path: Path) -> None:
    settings = Settings().replace(
        inference_batch=8, inference_wait_ms=5.0, inference_threads=2, media_dir=str(tmp_path)
    )
    runtime = Runtime.build(settings)
    try:
        service = runtime.inference
        assert (service.max_batch, service.max_wait, service.threads) == (8, 0.005, 2)
        (tmp_path / "own.wav").write_bytes((ROOT / "fixtures/media/audio/tone.wav").read_bytes())
        assert runtime.media.resolve("https://any.example/own.wav").media_type == "audio/wav"
        with pytest.raises(MediaError):  # the bundled samples are no longer the media dir
            runtime.media.resolve("https://any.example/happy.wav")
    finally:
        runtime.close()
    fetching = build_resolver(Settings().replace(media_fetch="on", media_allow=("media.example",)))
    with pytest.raises(MediaError) as err:  # refused by the allow-list before any connection
        fetching.resolve("https://elsewhere.example/x.wav")
    assert err.value.code == "fetch_refused"
    assert "not in the media fetch allow-list" in err.value.message


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("inference_batch", 0, "must be greater than 0"),
        ("inference_wait_ms", -1, "must be 0 or greater"),
        ("model_load", "eager", "valid choices: background, lazy"),
        ("media_fetch", "yes", "valid choices: off, on"),
    ],
)
def test_bad_inference_settings_are_refused_with_the_reason(
    option: str, value: Any, message: str
) -> None:
    from mockserver.settings import SettingsError

    with pytest.raises(SettingsError, match=message):
        Settings().replace(**{option: value})
