"""The official client, ``huggingface_hub.InferenceClient`` 2.4.0, against the task endpoint.

The reference (``../shared/reference/huggingface-bulk.md`` §4) says how it can be pointed at a
local server: a URL as ``model`` (the client posts straight to it), never a bare id (that would
call the Hub first). Each task goes through the client's own request building and response
parsing, so a shape the client cannot read fails here, not in a user's code.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from huggingface_hub import InferenceClient
from huggingface_hub.errors import HfHubHTTPError
from werkzeug.serving import make_server

from mockserver.app import create_app
from mockserver.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
HAPPY = ROOT / "fixtures" / "media" / "audio" / "happy.wav"
DRESS = "This is a test about a new dress shop than opened up on 5th avenue"


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    app = create_app(Settings().replace(port=0), start=True)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        app.extensions["mockserver"].close()


def client(base: str, model: str, *, router: bool = False) -> InferenceClient:
    prefix = "/hf-inference/models/" if router else "/models/"
    return InferenceClient(model=base + prefix + model, token="hf_test", timeout=60)


@pytest.mark.parametrize("router", [False, True], ids=["models", "hf-inference"])
def test_zero_shot_on_both_paths(base: str, router: bool) -> None:
    """The client refuses the legacy dict; its User-Agent gets it the list shape on /models."""
    out = client(base, "facebook/bart-large-mnli", router=router).zero_shot_classification(
        DRESS, ["medical", "fashion", "politics"]
    )
    assert [o.label for o in out][0] == "fashion"
    assert sorted(o.label for o in out) == ["fashion", "medical", "politics"]
    assert sum(o.score for o in out) == pytest.approx(1.0, abs=1e-4)


def test_zero_shot_multi_label_and_template(base: str) -> None:
    out = client(base, "facebook/bart-large-mnli").zero_shot_classification(
        DRESS, ["fashion", "shopping"], multi_label=True, hypothesis_template="This is about {}."
    )
    assert {o.label for o in out} == {"fashion", "shopping"}
    assert all(0.0 <= o.score <= 1.0 for o in out)


def test_text_classification(base: str) -> None:
    sst2 = client(base, "distilbert-base-uncased-finetuned-sst-2-english")
    good = sst2.text_classification("I loved every minute of it, a wonderful film.")
    bad = sst2.text_classification("Terrible, boring and far too long.")
    assert good[0].label == "POSITIVE" and bad[0].label == "NEGATIVE"
    assert {o.label for o in good} == {"POSITIVE", "NEGATIVE"}
    assert len(sst2.text_classification("fine", top_k=1)) == 1


def test_token_classification(base: str) -> None:
    out = client(base, "dslim/bert-base-NER").token_classification(
        "My name is Sarah and I live in London"
    )
    found = {(o.entity_group, o.word, o.start, o.end) for o in out}
    assert ("PER", "Sarah", 11, 16) in found
    assert ("LOC", "London", 31, 37) in found


def test_feature_extraction(base: str) -> None:
    mini = client(base, "sentence-transformers/all-MiniLM-L6-v2")
    one = mini.feature_extraction("hello world")
    assert isinstance(one, np.ndarray) and one.shape[-1] == 384
    again = mini.feature_extraction("hello world")
    assert np.array_equal(one, again)
    mpnet = client(base, "sentence-transformers/all-mpnet-base-v2").feature_extraction("hi")
    assert mpnet.shape[-1] == 768


def test_sentence_similarity(base: str) -> None:
    out = client(base, "sentence-transformers/paraphrase-MiniLM-L6-v2").sentence_similarity(
        "The cat sits on the mat", ["A cat is sitting on a mat", "Stock prices fell sharply"]
    )
    assert len(out) == 2 and out[0] > out[1]


def test_automatic_speech_recognition(base: str) -> None:
    """Raw bytes with no content type (§4): the clip's sidecar text, in wav2vec2's capitals."""
    expected = (HAPPY.with_suffix(".txt")).read_text().strip()
    wav2vec2 = client(base, "facebook/wav2vec2-base-960h").automatic_speech_recognition(HAPPY)
    assert wav2vec2.text == " ".join(
        "".join(c if c.isalpha() or c == "'" else " " for c in expected.upper()).split()
    )
    whisper = client(base, "openai/whisper-large-v3").automatic_speech_recognition(
        HAPPY.read_bytes()
    )
    assert whisper.text == expected


def test_errors_reach_the_client_as_hf_errors(base: str) -> None:
    """An unknown model and bad audio raise the client's HfHubHTTPError with the message."""
    with pytest.raises(HfHubHTTPError, match="does not exist"):
        client(base, "nobody/nothing").text_classification("hi")
    with pytest.raises(HfHubHTTPError) as info:
        client(base, "facebook/wav2vec2-base-960h").automatic_speech_recognition(b"not audio")
    assert info.value.response is not None and info.value.response.status_code == 400


def test_a_loading_model_is_a_503_the_client_does_not_retry() -> None:
    """Reference §4: 2.4.0 raises on a 503 with no automatic wait."""
    app = create_app(Settings().replace(hf_cold_start=30.0), start=True)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        with pytest.raises(HfHubHTTPError) as info:
            client(base, "distilbert-base-uncased-finetuned-sst-2-english").text_classification(
                "hi"
            )
        response = info.value.response
        assert response is not None and response.status_code == 503
        assert response.json()["estimated_time"] > 0
    finally:
        server.shutdown()
        thread.join(5)
        app.extensions["mockserver"].close()
