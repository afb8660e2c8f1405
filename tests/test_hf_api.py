"""The Hugging Face task API and dataset bulk jobs over HTTP, in process (Flask test client).

Written from ``../shared/reference/huggingface-bulk.md``: every task's body (§3), the two
zero-shot shapes and who gets which (§4), the ``{"error": ...}`` envelope, cold starts, the
model registry (``--hf-models``), seeds, and the dataset bulk jobs of the docs' sample (§2).
Apps run over a fake base time (2027-01-15T08:00:00Z) that moves only when a test moves it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from mockserver.app import create_app
from mockserver.providers.huggingface.registry import Registry, parse_entry
from mockserver.runtime import Runtime
from mockserver.settings import Settings, SettingsError
from tests.conftest import T0, FakeTime, RecordingClient

ROOT = Path(__file__).resolve().parent.parent
AUDIO = ROOT / "fixtures" / "media" / "audio"
ZERO_SHOT = "facebook/bart-large-mnli"
SST2 = "distilbert-base-uncased-finetuned-sst-2-english"
STARS = "nlptown/bert-base-multilingual-uncased-sentiment"
NER = "dslim/bert-base-NER"
WAV2VEC2 = "facebook/wav2vec2-base-960h"
WHISPER = "openai/whisper-large-v3"
DRESS = "This is a test about a new dress shop than opened up on 5th avenue"
LABELS = ["medical", "fashion", "politics"]
POSITIVE = "An absolute delight from start to finish, the cast is wonderful."
NEGATIVE = "Dull, predictable and far too long. I nearly walked out."
INVALID_TOKEN = "Authorization header is correct, but the token seems invalid"
DOCS_BULK_BODY = {
    "dataset_name": "ApiInferenceTest/asr_dummy",
    "dataset_config": "asr",
    "dataset_split": "test",
    "dataset_column": "file",
}


@pytest.fixture
def hf(app: Flask, runtime: Runtime) -> FlaskClient:
    """A client of the default app whose model has loaded."""
    runtime.inference.wait_ready(60)
    return app.test_client()


@contextmanager
def variant(base: FakeTime | None = None, **changes: Any) -> Iterator[FlaskClient]:
    """A client of a separately configured app (loaded model), closed afterwards."""
    app = create_app(
        Settings().replace(**changes), base_clock=base or FakeTime(), http_client=RecordingClient()
    )
    runtime: Runtime = app.extensions["mockserver"]
    try:
        runtime.inference.wait_ready(60)
        yield app.test_client()
    finally:
        runtime.close()


def task(client: FlaskClient, model: str, body: Any, **kwargs: Any) -> TestResponse:
    return client.post(f"/models/{model}", json=body, **kwargs)


def ok(response: TestResponse) -> Any:
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def error(response: TestResponse, status: int) -> Any:
    """HF's envelope: exactly ``{"error": ...}``; returns the message (a string or a list)."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"}, body
    return body["error"]


def zero_shot(inputs: Any = DRESS, **parameters: Any) -> dict[str, Any]:
    return {"inputs": inputs, "parameters": {"candidate_labels": LABELS, **parameters}}


def ctc(text: str) -> str:
    """How a wav2vec2 CTC model spells a transcript: capitals, apostrophes, single spaces."""
    kept = "".join(c if c.isalpha() or c == "'" else " " for c in text.upper())
    return " ".join(kept.split())


def sidecar(name: str) -> str:
    return (AUDIO / name).read_text(encoding="utf-8").strip()


# --- zero-shot classification ----------------------------------------------------------------


def test_zero_shot_legacy_shape_on_the_legacy_path(hf: FlaskClient) -> None:
    body = ok(task(hf, ZERO_SHOT, zero_shot()))
    assert set(body) == {"sequence", "labels", "scores"}
    assert body["sequence"] == DRESS
    assert sorted(body["labels"]) == sorted(LABELS)
    assert body["labels"][0] == "fashion"  # the docs: "All results are fashion"
    assert body["scores"] == sorted(body["scores"], reverse=True)
    assert math.isclose(sum(body["scores"]), 1.0, abs_tol=1e-4)


def test_zero_shot_list_shape_on_the_router_path(hf: FlaskClient) -> None:
    legacy = ok(task(hf, ZERO_SHOT, zero_shot()))
    body = ok(hf.post(f"/hf-inference/models/{ZERO_SHOT}", json=zero_shot()))
    assert isinstance(body, list) and all(set(row) == {"label", "score"} for row in body)
    assert [row["label"] for row in body] == legacy["labels"]
    assert [row["score"] for row in body] == legacy["scores"]


def test_huggingface_hub_user_agent_gets_the_list_shape_on_the_legacy_path(
    hf: FlaskClient,
) -> None:
    """InferenceClient 2.4.0 rejects the legacy dict (reference §4)."""
    agent = "hf_hub/2.4.0; python/3.11.7; torch/2.5.0"
    body = ok(task(hf, ZERO_SHOT, zero_shot(), headers={"User-Agent": agent}))
    assert isinstance(body, list) and body[0]["label"] == "fashion"
    other = ok(task(hf, ZERO_SHOT, zero_shot(), headers={"User-Agent": "python-requests/2.32"}))
    assert isinstance(other, dict)


@pytest.mark.parametrize(
    ("setting", "path", "agent", "shape"),
    [
        ("legacy", "/hf-inference/models", "x", dict),
        ("legacy", "/models", "hf_hub/2.4.0", dict),
        ("list", "/models", "python-requests/2.32", list),
        ("list", "/hf-inference/models", "x", list),
        ("auto", "/models", "x", dict),
    ],
)
def test_hf_zero_shot_setting_picks_the_shape_everywhere(
    setting: str, path: str, agent: str, shape: type
) -> None:
    with variant(hf_zero_shot=setting) as client:
        response = client.post(
            f"{path}/{ZERO_SHOT}", json=zero_shot(), headers={"User-Agent": agent}
        )
        assert isinstance(ok(response), shape)


def test_hf_zero_shot_rejects_an_unknown_shape() -> None:
    with pytest.raises(SettingsError, match="hf_zero_shot"):
        Settings().replace(hf_zero_shot="dict")


def test_candidate_labels_may_be_one_comma_separated_string(hf: FlaskClient) -> None:
    listed = ok(task(hf, ZERO_SHOT, zero_shot()))
    body = {"inputs": DRESS, "parameters": {"candidate_labels": "medical, fashion,politics"}}
    assert ok(task(hf, ZERO_SHOT, body)) == listed


def test_multi_label_scores_are_independent(hf: FlaskClient) -> None:
    text = "The new clinic sells designer dresses to raise money for the election campaign."
    single = ok(task(hf, ZERO_SHOT, zero_shot(text)))
    multi = ok(task(hf, ZERO_SHOT, zero_shot(text, multi_label=True)))
    assert math.isclose(sum(single["scores"]), 1.0, abs_tol=1e-4)
    assert all(0.0 < s < 1.0 for s in multi["scores"])
    assert not math.isclose(sum(multi["scores"]), 1.0, abs_tol=1e-3)
    assert multi["scores"] == sorted(multi["scores"], reverse=True)


def test_list_inputs_answer_one_body_per_text(hf: FlaskClient) -> None:
    texts = [DRESS, "The senate passed the budget bill after a late-night vote."]
    bodies = ok(task(hf, ZERO_SHOT, zero_shot(texts)))
    assert [b["sequence"] for b in bodies] == texts
    assert bodies[0] == ok(task(hf, ZERO_SHOT, zero_shot()))
    assert bodies[1]["labels"][0] == "politics"


def test_hypothesis_template_with_braces_is_used(hf: FlaskClient) -> None:
    body = ok(task(hf, ZERO_SHOT, zero_shot(hypothesis_template="This text is about {}.")))
    assert body["labels"][0] == "fashion"


def test_hypothesis_template_without_braces_is_a_400(hf: FlaskClient) -> None:
    response = task(hf, ZERO_SHOT, zero_shot(hypothesis_template="This text is about fashion."))
    assert error(response, 400) == [
        'The provided hypothesis_template "This text is about fashion." was not able to be '
        "formatted with the target labels. Make sure the passed template includes formatting "
        "syntax such as {} where the label should go."
    ]


@pytest.mark.parametrize(
    ("parameters", "needle"),
    [
        ({}, "Error in `parameters.candidate_labels`: field required"),
        ({"candidate_labels": 3}, "parameters.candidate_labels"),
        ({"candidate_labels": [" ", ""]}, "must name at least one label"),
        ({"candidate_labels": ["a"], "multi_label": "yes"}, "parameters.multi_label"),
    ],
)
def test_zero_shot_parameter_errors_are_a_list(
    hf: FlaskClient, parameters: dict[str, Any], needle: str
) -> None:
    messages = error(task(hf, ZERO_SHOT, {"inputs": DRESS, "parameters": parameters}), 400)
    assert isinstance(messages, list) and any(needle in m for m in messages), messages


def test_several_parameter_problems_are_reported_together(hf: FlaskClient) -> None:
    body = {"inputs": 5, "parameters": {"multi_label": 1}, "options": {"wait_for_model": "y"}}
    messages = error(task(hf, ZERO_SHOT, body), 400)
    assert len(messages) == 4, messages
    assert any("`inputs`" in m for m in messages)
    assert any("options.wait_for_model" in m for m in messages)


# --- text classification ---------------------------------------------------------------------


def test_text_classification_is_a_nested_list_sorted_by_score(hf: FlaskClient) -> None:
    body = ok(task(hf, SST2, {"inputs": POSITIVE}))
    assert isinstance(body, list) and len(body) == 1 and isinstance(body[0], list)
    rows = body[0]
    assert {r["label"] for r in rows} == {"POSITIVE", "NEGATIVE"}
    assert all(set(r) == {"label", "score"} for r in rows)
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    assert math.isclose(sum(r["score"] for r in rows), 1.0, abs_tol=1e-4)


def test_text_classification_list_inputs_and_top_k(hf: FlaskClient) -> None:
    body = ok(task(hf, SST2, {"inputs": [POSITIVE, NEGATIVE], "parameters": {"top_k": 1}}))
    assert len(body) == 2 and all(len(rows) == 1 for rows in body)
    assert body[0][0]["label"] == "POSITIVE" and body[1][0]["label"] == "NEGATIVE"


@pytest.mark.parametrize(
    "parameters",
    [{"top_k": 0}, {"top_k": True}, {"top_k": "2"}, {"function_to_apply": "relu"}],
)
def test_text_classification_parameter_errors(hf: FlaskClient, parameters: dict[str, Any]) -> None:
    messages = error(task(hf, SST2, {"inputs": POSITIVE, "parameters": parameters}), 400)
    assert isinstance(messages, list) and len(messages) == 1


@pytest.mark.parametrize(
    ("model", "positive", "negative"),
    [
        (SST2, "POSITIVE", "NEGATIVE"),
        ("cardiffnlp/twitter-roberta-base-sentiment-latest", "positive", "negative"),
        ("cardiffnlp/twitter-roberta-base-sentiment", "LABEL_2", "LABEL_0"),
        (STARS, "5 stars", None),
    ],
)
def test_classification_follows_the_content(
    hf: FlaskClient, model: str, positive: str, negative: str | None
) -> None:
    good, bad = ok(task(hf, model, {"inputs": [POSITIVE, NEGATIVE]}))
    assert good[0]["label"] == positive
    assert bad[0]["label"] != positive
    if negative is not None:
        assert bad[0]["label"] == negative


def test_five_star_model_answers_with_its_five_labels(hf: FlaskClient) -> None:
    [rows] = ok(task(hf, STARS, {"inputs": POSITIVE}))
    assert sorted(r["label"] for r in rows) == [f"{n} star{'s' * (n > 1)}" for n in range(1, 6)]
    assert math.isclose(sum(r["score"] for r in rows), 1.0, abs_tol=1e-4)
    [terrible] = ok(task(hf, STARS, {"inputs": NEGATIVE}))
    stars = {r["label"]: r["score"] for r in terrible}
    assert stars["1 star"] + stars["2 stars"] > stars["4 stars"] + stars["5 stars"]


# --- token classification --------------------------------------------------------------------


def test_token_classification_groups_entities_by_default(hf: FlaskClient) -> None:
    text = "My name is Wolfgang and I live in Berlin"
    body = ok(task(hf, NER, {"inputs": text}))
    assert body, body
    for entity in body:
        assert set(entity) == {"entity_group", "score", "word", "start", "end"}
        assert text[entity["start"] : entity["end"]] == entity["word"]
        assert entity["entity_group"] in ("PER", "ORG", "LOC", "MISC")
        assert 0.0 < entity["score"] <= 1.0
    assert {(e["word"], e["entity_group"]) for e in body} >= {("Berlin", "LOC")}


def test_token_classification_without_aggregation_tags_each_word(hf: FlaskClient) -> None:
    text = "My name is Wolfgang Amadeus and I live in New York"
    grouped = ok(task(hf, NER, {"inputs": text}))
    tags = ok(task(hf, NER, {"inputs": text, "parameters": {"aggregation_strategy": "none"}}))
    assert len(tags) > len(grouped)
    for n, tag in enumerate(tags, 1):
        assert set(tag) == {"entity", "score", "index", "word", "start", "end"}
        assert tag["index"] == n
        assert text[tag["start"] : tag["end"]] == tag["word"]
        assert re.fullmatch(r"[BI]-(PER|ORG|LOC|MISC)", tag["entity"])
    york = [t for t in tags if t["word"] in ("New", "York")]
    assert [t["entity"] for t in york] == ["B-LOC", "I-LOC"]


def test_token_classification_list_inputs_and_ignore_labels(hf: FlaskClient) -> None:
    texts = ["I live in Berlin", "nothing to see here"]
    body = ok(task(hf, NER, {"inputs": texts}))
    assert len(body) == 2 and body[1] == []
    kept = ok(task(hf, NER, {"inputs": texts[0], "parameters": {"ignore_labels": ["LOC"]}}))
    assert all(e["entity_group"] != "LOC" for e in kept)


def test_token_classification_rejects_an_unknown_strategy(hf: FlaskClient) -> None:
    body = {"inputs": "Berlin", "parameters": {"aggregation_strategy": "median"}}
    [message] = error(task(hf, NER, body), 400)
    assert "aggregation_strategy" in message


# --- feature extraction and sentence similarity ----------------------------------------------


@pytest.mark.parametrize(
    ("model", "dims"),
    [
        ("sentence-transformers/all-MiniLM-L6-v2", 384),
        ("sentence-transformers/all-mpnet-base-v2", 768),
        ("BAAI/bge-small-en-v1.5", 384),
        ("BAAI/bge-base-en-v1.5", 768),
    ],
)
def test_feature_extraction_has_the_model_size(hf: FlaskClient, model: str, dims: int) -> None:
    vector = ok(task(hf, model, {"inputs": "A sentence to embed."}))
    assert len(vector) == dims and all(isinstance(x, float) for x in vector)
    assert math.isclose(math.fsum(x * x for x in vector), 1.0, abs_tol=1e-4)  # normalised


def test_feature_extraction_list_inputs_and_determinism(hf: FlaskClient) -> None:
    model = "sentence-transformers/all-MiniLM-L6-v2"
    one = ok(task(hf, model, {"inputs": POSITIVE}))
    both = ok(task(hf, model, {"inputs": [POSITIVE, NEGATIVE]}))
    assert len(both) == 2 and all(len(v) == 384 for v in both)
    assert ok(task(hf, model, {"inputs": POSITIVE})) == one
    assert both[0] == pytest.approx(one, abs=1e-6)
    assert both[1] != pytest.approx(one, abs=1e-3)


def test_two_models_of_one_size_give_different_vectors(hf: FlaskClient) -> None:
    a = ok(task(hf, "sentence-transformers/all-MiniLM-L6-v2", {"inputs": POSITIVE}))
    b = ok(task(hf, "BAAI/bge-small-en-v1.5", {"inputs": POSITIVE}))
    assert len(a) == len(b) == 384
    assert abs(math.fsum(x * y for x, y in zip(a, b, strict=True))) < 0.5


def test_sentence_similarity_scores_each_sentence(hf: FlaskClient) -> None:
    inputs = {
        "source_sentence": "The cat sits on the mat",
        "sentences": ["The cat sits on the mat", "A cat is sitting on a mat", "Stocks fell today"],
    }
    scores = ok(task(hf, "sentence-transformers/paraphrase-MiniLM-L6-v2", {"inputs": inputs}))
    assert len(scores) == 3
    assert scores[0] == pytest.approx(1.0, abs=1e-4)
    assert scores[0] > scores[1] > scores[2]


def test_sentence_similarity_needs_a_source_and_sentences(hf: FlaskClient) -> None:
    model = "sentence-transformers/paraphrase-MiniLM-L6-v2"
    [message] = error(task(hf, model, {"inputs": "just text"}), 400)
    assert "source_sentence" in message


# --- automatic speech recognition ------------------------------------------------------------


def test_asr_raw_bytes_wav2vec2_spells_in_capitals(hf: FlaskClient) -> None:
    response = hf.post(f"/models/{WAV2VEC2}", data=(AUDIO / "happy.wav").read_bytes())
    assert ok(response) == {"text": ctc(sidecar("happy.txt"))}
    assert ctc(sidecar("happy.txt")) == "WHAT A WONDERFUL SURPRISE I AM SO HAPPY TO SEE YOU"


def test_asr_raw_bytes_whisper_keeps_case_and_punctuation(hf: FlaskClient) -> None:
    response = hf.post(f"/models/{WHISPER}", data=(AUDIO / "happy.wav").read_bytes())
    assert ok(response) == {"text": sidecar("happy.txt")}


def test_asr_silence_is_an_empty_transcript(hf: FlaskClient) -> None:
    for model in (WAV2VEC2, WHISPER):
        response = hf.post(f"/models/{model}", data=(AUDIO / "silence.wav").read_bytes())
        assert ok(response) == {"text": ""}


@pytest.mark.parametrize("data", [b"definitely not audio" * 50, b""], ids=["garbage", "empty"])
def test_asr_garbage_is_a_malformed_soundfile(hf: FlaskClient, data: bytes) -> None:
    assert error(hf.post(f"/models/{WHISPER}", data=data), 400) == "Malformed soundfile"


def test_asr_accepts_base64_audio_in_json(hf: FlaskClient) -> None:
    audio = base64.b64encode((AUDIO / "happy.wav").read_bytes()).decode()
    assert ok(task(hf, WAV2VEC2, {"inputs": audio})) == {"text": ctc(sidecar("happy.txt"))}
    [message] = error(task(hf, WAV2VEC2, {"inputs": "%%% not base64"}), 400)
    assert "base64" in message


def test_a_text_model_refuses_a_raw_body(hf: FlaskClient) -> None:
    response = hf.post(f"/models/{WAV2VEC2}", data=b"{}", content_type="application/json")
    assert "Missing `inputs`" in error(response, 400)
    raw = hf.post(f"/models/{SST2}", data=(AUDIO / "happy.wav").read_bytes())
    assert "not valid JSON" in error(raw, 400)


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["/models", "/hf-inference/models"])
def test_unknown_model_is_a_404(hf: FlaskClient, prefix: str) -> None:
    response = hf.post(f"{prefix}/x/y", json={"inputs": "hi"})
    assert error(response, 404) == "Model x/y does not exist"


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"{not json", "The request body is not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"parameters": {}}', "Missing `inputs` key"),
    ],
)
def test_bad_bodies_are_a_400_string(hf: FlaskClient, data: bytes, needle: str) -> None:
    response = hf.post(f"/models/{SST2}", data=data, content_type="application/json")
    message = error(response, 400)
    assert isinstance(message, str) and needle in message


def test_every_answer_carries_the_compute_headers(hf: FlaskClient) -> None:
    response = task(hf, SST2, {"inputs": POSITIVE})
    assert response.headers["x-compute-type"] == "cpu"
    assert float(response.headers["x-compute-time"]) >= 0
    failed = task(hf, "x/y", {"inputs": POSITIVE})
    assert failed.headers["x-compute-type"] == "cpu"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", f"/models/{SST2}", 405),
        ("PUT", f"/hf-inference/models/{SST2}", 405),
        ("GET", "/bulk/nothing/here", 404),
        ("POST", "/hf-inference/elsewhere", 404),
        ("POST", "/bulk/status/bulk-00000001", 405),
    ],
)
def test_routing_errors_use_the_hf_envelope(
    hf: FlaskClient, method: str, path: str, status: int
) -> None:
    response = hf.open(path, method=method)
    message = error(response, status)
    assert path in message
    if status == 405:
        assert message.startswith(f"Method {method} is not allowed")
        assert "Allow" in response.headers


def test_configured_api_keys(base_time: FakeTime) -> None:
    with variant(base_time, api_keys="hf_good") as client:
        body = {"inputs": POSITIVE}
        missing = error(task(client, SST2, body), 401)
        assert missing == "Invalid credentials in Authorization header"
        wrong = task(client, SST2, body, headers={"Authorization": "Bearer hf_stolen"})
        assert error(wrong, 400) == INVALID_TOKEN
        basic = task(client, SST2, body, headers={"Authorization": "Basic aGk6aGk="})
        assert error(basic, 401) == missing
        right = task(client, SST2, body, headers={"Authorization": "Bearer hf_good"})
        assert ok(right)[0][0]["label"] == "POSITIVE"


def test_without_configured_keys_anonymous_and_any_token_work(hf: FlaskClient) -> None:
    assert ok(task(hf, SST2, {"inputs": POSITIVE}))
    assert ok(task(hf, SST2, {"inputs": POSITIVE}, headers={"Authorization": "Bearer anything"}))
    empty = task(hf, SST2, {"inputs": POSITIVE}, headers={"Authorization": "Bearer "})
    assert error(empty, 401) == "Invalid credentials in Authorization header"


# --- cold start ------------------------------------------------------------------------------


def test_cold_start_503_counts_down_on_the_clock(base_time: FakeTime) -> None:
    with variant(base_time, hf_cold_start=30) as client:
        first = task(client, ZERO_SHOT, zero_shot())
        assert first.status_code == 503
        assert first.get_json() == {
            "error": f"Model {ZERO_SHOT} is currently loading",
            "estimated_time": 30.0,
        }
        base_time.t += 12.5
        later = task(client, ZERO_SHOT, zero_shot()).get_json()
        assert later["estimated_time"] == pytest.approx(17.5)
        other = task(client, SST2, {"inputs": POSITIVE})  # each model loads on its own
        assert other.status_code == 503 and other.get_json()["estimated_time"] == 30.0
        base_time.t += 17.5
        assert ok(task(client, ZERO_SHOT, zero_shot()))["labels"][0] == "fashion"
        assert task(client, SST2, {"inputs": POSITIVE}).status_code == 503


def test_cold_start_is_per_token(base_time: FakeTime) -> None:
    with variant(base_time, hf_cold_start=10) as client:
        alice = {"Authorization": "Bearer alice"}
        assert task(client, SST2, {"inputs": "x"}, headers=alice).status_code == 503
        base_time.t += 10
        assert task(client, SST2, {"inputs": "x"}, headers=alice).status_code == 200
        bob = task(client, SST2, {"inputs": "x"}, headers={"Authorization": "Bearer bob"})
        assert bob.status_code == 503


def test_wait_for_model_on_a_frozen_clock_answers_at_once(base_time: FakeTime) -> None:
    with variant(base_time, hf_cold_start=600) as client:
        frozen = client.put("/_mock/profile", json={"tenant": "anonymous", "profile": "manual"})
        assert frozen.status_code == 200
        assert client.get("/_mock/clock?tenant=anonymous").get_json()["frozen"] is True
        assert task(client, ZERO_SHOT, zero_shot()).status_code == 503
        body = {**zero_shot(), "options": {"wait_for_model": True}}
        started = time.monotonic()
        assert ok(task(client, ZERO_SHOT, body))["labels"][0] == "fashion"
        assert time.monotonic() - started < 5


def test_wait_for_model_on_a_running_clock_waits_out_the_load(base_time: FakeTime) -> None:
    with variant(base_time, hf_cold_start=0.3) as client:
        body = {**zero_shot(), "options": {"wait_for_model": True}}
        started = time.monotonic()
        assert ok(task(client, ZERO_SHOT, body))["labels"][0] == "fashion"
        assert 0.25 < time.monotonic() - started < 5


def test_wait_for_model_on_a_frozen_server_clock_answers_at_once(
    base_time: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tenant clocks layer on the server clock: frozen there (``--clock virtual``) is frozen."""
    monkeypatch.setattr("mockserver.providers.huggingface.backend._WAIT_CAP", 1.0)  # bounded
    with variant(base_time, hf_cold_start=600, clock="virtual") as client:
        body = {**zero_shot(), "options": {"wait_for_model": True}}
        started = time.monotonic()
        assert ok(task(client, ZERO_SHOT, body))["labels"][0] == "fashion"
        assert time.monotonic() - started < 0.5


def test_reset_makes_models_cold_again(base_time: FakeTime) -> None:
    with variant(base_time, hf_cold_start=5) as client:
        task(client, SST2, {"inputs": "x"})
        base_time.t += 5
        assert task(client, SST2, {"inputs": "x"}).status_code == 200
        assert client.post("/_mock/reset", json={}).status_code == 200
        assert task(client, SST2, {"inputs": "x"}).status_code == 503


def test_cold_start_must_not_be_negative() -> None:
    with pytest.raises(SettingsError, match="hf_cold_start"):
        Settings().replace(hf_cold_start=-1)


# --- the model registry (--hf-models) --------------------------------------------------------


def test_configured_models_are_served() -> None:
    entries = (
        "acme/verdict=text-classification:bad|good|meh,"
        "acme/tiny-embed=feature-extraction:32,"
        "acme/shouty-asr=automatic-speech-recognition:uppercase,"
        "acme/nli=zero-shot-classification,"
        f"{SST2}=text-classification:yes|no"
    )
    with variant(hf_models=entries) as client:
        [rows] = ok(task(client, "acme/verdict", {"inputs": POSITIVE}))
        assert {r["label"] for r in rows} == {"bad", "good", "meh"}
        assert len(ok(task(client, "acme/tiny-embed", {"inputs": "x"}))) == 32
        audio = (AUDIO / "happy.wav").read_bytes()
        assert ok(client.post("/models/acme/shouty-asr", data=audio)) == {
            "text": ctc(sidecar("happy.txt"))
        }
        assert ok(task(client, "acme/nli", zero_shot()))["labels"][0] == "fashion"
        [replaced] = ok(task(client, SST2, {"inputs": POSITIVE}))
        assert {r["label"] for r in replaced} == {"yes", "no"}


def test_registry_entries_parse_with_defaults() -> None:
    assert parse_entry(" acme/x = text-classification ").labels == ("NEGATIVE", "POSITIVE")
    assert parse_entry("acme/x=feature-extraction").dims == 384
    assert parse_entry("acme/x=sentence-similarity:768").dims == 768
    assert parse_entry("acme/x=automatic-speech-recognition").uppercase is False
    assert parse_entry("/acme/x/=token-classification").id == "acme/x"
    registry = Registry(["acme/x=token-classification"])
    assert registry.get("acme/x") is not None and registry.get("/acme/x/") is not None
    assert registry.get(ZERO_SHOT) is not None and registry.get("acme/y") is None


@pytest.mark.parametrize(
    ("entry", "needle"),
    [
        ("bad", "wants ID=TASK[:DETAIL]"),
        ("acme/x=", "wants ID=TASK[:DETAIL]"),
        ("=text-classification", "wants ID=TASK[:DETAIL]"),
        ("acme/x=text-generation", "unknown task 'text-generation'"),
        ("acme/x=feature-extraction:0", "the size must be 1..8192"),
        ("acme/x=feature-extraction:9000", "the size must be 1..8192"),
        ("acme/x=feature-extraction:wide", "the size must be 1..8192"),
        ("acme/x=zero-shot-classification:mnli", "takes no detail"),
    ],
)
def test_bad_registry_entries_say_why(entry: str, needle: str) -> None:
    with pytest.raises(ValueError, match=re.escape(needle)):
        parse_entry(entry)
    with pytest.raises(ValueError, match=re.escape(needle)):
        Registry([entry])


def test_bad_hf_models_are_refused_by_settings() -> None:
    """At start-up, with the flag's name, not as a traceback when the worker boots."""
    with pytest.raises(SettingsError, match="invalid value .* for hf_models") as info:
        Settings().replace(hf_models=f"{SST2}=text-classification,acme/x=text-generation")
    assert "unknown task 'text-generation'" in str(info.value)


# --- seeds -------------------------------------------------------------------------------------


def _seeded_scores(seed: int) -> tuple[Any, Any]:
    with variant(seed=seed) as client:
        stars = ok(task(client, STARS, {"inputs": "It was fine, I guess."}))
        labels = ok(task(client, ZERO_SHOT, zero_shot()))
    return stars, labels


def test_same_seed_same_scores_other_seed_other_scores() -> None:
    first, again, other = _seeded_scores(7), _seeded_scores(7), _seeded_scores(8)
    assert first == again
    assert first[0] != other[0]  # the five-star head carries seeded jitter


def test_seed_set_through_the_control_api(hf: FlaskClient) -> None:
    body = {"inputs": "It was fine, I guess."}
    before = ok(task(hf, STARS, body))
    assert hf.put("/_mock/seed", json={"seed": 99}).status_code == 200
    assert ok(task(hf, STARS, body)) != before
    assert hf.put("/_mock/seed", json={"seed": 0}).status_code == 200
    assert ok(task(hf, STARS, body)) == before


# --- dataset bulk jobs ---------------------------------------------------------------------------


def bulk_name(model_id: str, dataset: str) -> str:
    """api-inference-community ``manage.py`` ``get_repo_name`` (reference §2)."""
    digest = hashlib.md5((model_id + dataset).encode()).hexdigest()[:5]
    return f"bulk-{model_id.split('/')[-1][:10]}-{dataset.split('/')[-1][:10]}-{digest}"


def run_bulk(
    client: FlaskClient, model: str, body: Any, compute: str = "cpu", **kwargs: Any
) -> TestResponse:
    """Posted as the docs' sample does: ``data=json.dumps(...)`` and no content type."""
    headers = {"Authorization": "Bearer hf_tok", **kwargs.pop("headers", {})}
    data = json.dumps(body)
    return client.post(f"/bulk/run/{compute}/{model}", data=data, headers=headers, **kwargs)


def output(client: FlaskClient, jobid: str) -> list[dict[str, Any]]:
    response = client.get(f"/_mock/jobs/{jobid}/output")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/x-ndjson"
    return [json.loads(line) for line in response.get_data(as_text=True).splitlines()]


@pytest.fixture
def manual(tmp_path: Path, base_time: FakeTime) -> Iterator[tuple[FlaskClient, Runtime]]:
    """``manual`` profile (frozen clock), outputs under ``tmp_path``."""
    app = create_app(
        Settings().replace(profile="manual", hf_bulk_dir=str(tmp_path)), base_clock=base_time
    )
    runtime: Runtime = app.extensions["mockserver"]
    runtime.inference.wait_ready(60)
    yield app.test_client(), runtime
    runtime.close()


def test_docs_sample_launches_a_job(hf: FlaskClient) -> None:
    response = run_bulk(hf, WAV2VEC2, DOCS_BULK_BODY)
    body = ok(response)
    assert set(body) == {"jobid", "bulk_name"}
    assert re.fullmatch(r"bulk-\d{8}", body["jobid"])
    assert body["bulk_name"] == bulk_name(WAV2VEC2, "ApiInferenceTest/asr_dummy")
    assert body["bulk_name"] == "bulk-wav2vec2-b-asr_dummy-" + body["bulk_name"][-5:]
    again = ok(run_bulk(hf, WAV2VEC2, DOCS_BULK_BODY))
    assert again["jobid"] != body["jobid"] and again["bulk_name"] == body["bulk_name"]


def test_bulk_status_is_active_while_running_then_succeeded(
    manual: tuple[FlaskClient, Runtime],
) -> None:
    client, runtime = manual
    jobid = ok(run_bulk(client, WAV2VEC2, DOCS_BULK_BODY))["jobid"]
    running = ok(client.get(f"/bulk/status/{jobid}"))  # no auth: the docs' curl sample
    assert running["status"] == {"active": 1, "start_time": T0}
    assert isinstance(running["status"]["start_time"], float)
    step = client.post(f"/_mock/jobs/{jobid}/step", json={"to": "terminal"})
    assert step.status_code == 200
    done = ok(client.get(f"/bulk/status/{jobid}"))
    assert done["status"] == {"start_time": T0, "succeeded": 1, "completion_time": T0}
    assert done["progress"] == {"total": 4, "done": 4, "failed": 0}


def test_bulk_asr_output_rows_and_file(manual: tuple[FlaskClient, Runtime], tmp_path: Path) -> None:
    client, runtime = manual
    launched = ok(run_bulk(client, WAV2VEC2, DOCS_BULK_BODY))
    jobid, name = launched["jobid"], launched["bulk_name"]
    assert output(client, jobid) == []  # nothing has ended yet
    client.post(f"/_mock/jobs/{jobid}/step", json={"to": "terminal"})
    runtime.scheduler.run_due()
    rows = output(client, jobid)
    assert rows == [
        {"index": 0, "file": "audio/happy.wav", "outputs": {"text": ctc(sidecar("happy.txt"))}},
        {"index": 1, "file": "audio/sad.wav", "outputs": {"text": ctc(sidecar("sad.txt"))}},
        {
            "index": 2,
            "file": "audio/two_sentences.wav",
            "outputs": {"text": ctc(sidecar("two_sentences.txt"))},
        },
        {"index": 3, "file": "audio/silence.wav", "outputs": {"text": ""}},
    ]
    written = tmp_path / name / f"{jobid}.jsonl"
    assert [json.loads(line) for line in written.read_text().splitlines()] == rows


def test_bulk_zero_shot_dataset_with_parameters(hf: FlaskClient) -> None:
    body = {
        "dataset_name": "mockserver/headlines",
        "dataset_column": "text",
        "parameters": {"candidate_labels": ["sports", "politics"]},
    }
    launched = ok(run_bulk(hf, ZERO_SHOT, body, compute="gpu"))
    assert launched["bulk_name"] == bulk_name(ZERO_SHOT, "mockserver/headlines")
    rows = output(hf, launched["jobid"])
    assert len(rows) == 8
    first = rows[0]
    assert first["text"] == "The striker scored twice to send his club into the cup final."
    assert first["outputs"]["sequence"] == first["text"]
    assert first["outputs"]["labels"][0] == "sports"


def test_bulk_answers_carry_the_compute_type(hf: FlaskClient) -> None:
    body = {"dataset_name": "mockserver/reviews", "dataset_config": "plain_text"}
    response = run_bulk(hf, SST2, body, compute="gpu")
    assert ok(response) and response.headers["x-compute-type"] == "gpu"


def test_bulk_zero_shot_without_candidate_labels_is_a_400(hf: FlaskClient) -> None:
    response = run_bulk(hf, ZERO_SHOT, {"dataset_name": "mockserver/headlines"})
    assert error(response, 400) == ["Error in `parameters.candidate_labels`: field required"]


@pytest.mark.parametrize(
    ("changes", "status", "message"),
    [
        ({"dataset_name": "nobody/nothing"}, 404, "Dataset nobody/nothing does not exist"),
        (
            {"dataset_config": "flac"},
            404,
            "Config 'flac' not found in dataset ApiInferenceTest/asr_dummy; available: asr",
        ),
        (
            {"dataset_split": "train"},
            404,
            "Split 'train' not found in dataset ApiInferenceTest/asr_dummy (config 'asr'); "
            "available splits: test",
        ),
        (
            {"dataset_column": "audio"},
            400,
            "Column 'audio' not found in ApiInferenceTest/asr_dummy/test (columns: id, file)",
        ),
        ({"dataset_name": "../../etc"}, 400, "Invalid dataset_name '../../etc'"),
        ({"dataset_name": "/etc/passwd"}, 400, "Invalid dataset_name '/etc/passwd'"),
        ({"dataset_name": "a/../../b"}, 400, "Invalid dataset_name 'a/../../b'"),
        ({"dataset_config": "../asr"}, 400, "Invalid dataset_config '../asr'"),
        ({"dataset_split": "../test"}, 400, "Invalid dataset_split '../test'"),
        ({"dataset_name": 5}, 400, ["Error in `dataset_name`: field required",
                                    "Error in `dataset_name`: str type expected"]),
    ],
)  # fmt: skip
def test_bulk_dataset_errors(
    hf: FlaskClient, changes: dict[str, Any], status: int, message: Any
) -> None:
    assert error(run_bulk(hf, WAV2VEC2, {**DOCS_BULK_BODY, **changes}), status) == message


def test_bulk_request_errors(hf: FlaskClient) -> None:
    assert error(run_bulk(hf, "x/y", DOCS_BULK_BODY), 404) == "Model x/y does not exist"
    compute = error(run_bulk(hf, WAV2VEC2, DOCS_BULK_BODY, compute="tpu"), 404)
    assert compute == "Unknown compute type 'tpu': use cpu or gpu"
    assert error(run_bulk(hf, WAV2VEC2, ["a"]), 400) == "The request body must be a JSON object"
    missing = error(run_bulk(hf, WAV2VEC2, {}), 400)
    assert missing == ["Error in `dataset_name`: field required"]
    bad = hf.post(f"/bulk/run/cpu/{WAV2VEC2}", data=b"{oops")
    assert "not valid JSON" in error(bad, 400)
    not_a_dict = {"dataset_name": "mockserver/headlines", "parameters": 1}
    [message] = error(run_bulk(hf, SST2, not_a_dict), 400)
    assert message == "Error in `parameters`: value is not a valid dict"


def test_bulk_with_api_keys(base_time: FakeTime) -> None:
    with variant(base_time, api_keys="hf_tok") as client:
        response = client.post(f"/bulk/run/cpu/{WAV2VEC2}", data=json.dumps(DOCS_BULK_BODY))
        assert error(response, 401) == "Invalid credentials in Authorization header"
        wrong = run_bulk(client, WAV2VEC2, DOCS_BULK_BODY, headers={"Authorization": "Bearer no"})
        assert error(wrong, 400) == INVALID_TOKEN
        jobid = ok(run_bulk(client, WAV2VEC2, DOCS_BULK_BODY))["jobid"]
        assert ok(client.get(f"/bulk/status/{jobid}"))["status"]["succeeded"] == 1


def test_unknown_bulk_job_is_a_404(hf: FlaskClient) -> None:
    assert error(hf.get("/bulk/status/bulk-00000000"), 404) == "Job bulk-00000000 does not exist"
    other = hf.post("/_mock/jobs", json={"items": 1}).get_json()["id"]
    assert error(hf.get(f"/bulk/status/{other}"), 404) == f"Job {other} does not exist"
    assert hf.get(f"/_mock/jobs/{other}/output").status_code == 404


def test_hf_datasets_directory_with_a_csv(tmp_path: Path) -> None:
    folder = tmp_path / "datasets" / "me" / "tiny"
    folder.mkdir(parents=True)
    (folder / "test.csv").write_text(
        f'sentence,label\n"{POSITIVE}",1\n"{NEGATIVE}",0\n', encoding="utf-8"
    )
    (folder / "bad.jsonl").write_text('{"text": "a"}\nnot json\n', encoding="utf-8")
    with variant(hf_datasets=str(tmp_path / "datasets")) as client:
        launched = ok(run_bulk(client, SST2, {"dataset_name": "me/tiny"}))
        assert launched["bulk_name"] == bulk_name(SST2, "me/tiny")
        rows = output(client, launched["jobid"])
        assert [r["sentence"] for r in rows] == [POSITIVE, NEGATIVE]
        assert [r["outputs"][0][0]["label"] for r in rows] == ["POSITIVE", "NEGATIVE"]
        default = run_bulk(client, SST2, {"dataset_name": "me/tiny", "dataset_config": "default"})
        assert ok(default)["bulk_name"] == launched["bulk_name"]
        bad = run_bulk(client, SST2, {"dataset_name": "me/tiny", "dataset_split": "bad"})
        assert error(bad, 400).startswith("bad.jsonl line 2: invalid JSON: Expecting value")
        bundled = run_bulk(client, WAV2VEC2, DOCS_BULK_BODY)  # the bundled sets are not read
        assert error(bundled, 404) == "Dataset ApiInferenceTest/asr_dummy does not exist"


def test_bulk_asr_row_with_a_missing_file_fails_alone(tmp_path: Path) -> None:
    folder = tmp_path / "me" / "clips"
    folder.mkdir(parents=True)
    (folder / "test.jsonl").write_text(
        '{"file": "audio/happy.wav"}\n{"file": "audio/nowhere.wav"}\n', encoding="utf-8"
    )
    with variant(hf_datasets=str(tmp_path)) as client:
        jobid = ok(run_bulk(client, WAV2VEC2, {"dataset_name": "me/clips"}))["jobid"]
        rows = output(client, jobid)
        assert rows[0]["outputs"] == {"text": ctc(sidecar("happy.txt"))}
        assert rows[1] == {
            "index": 1,
            "file": "audio/nowhere.wav",
            "error": "Audio file not found: 'audio/nowhere.wav'",
        }
        assert client.get(f"/bulk/status/{jobid}").get_json()["progress"] == {
            "total": 2,
            "done": 1,
            "failed": 1,
        }
