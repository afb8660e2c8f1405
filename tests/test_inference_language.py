"""Language and NER over raw text and over audio transcripts (times from the aligned words)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockserver.inference.audio import analyse_audio, spans
from mockserver.inference.labels import LANGUAGE_EMOTIONS, SENTIMENT_LEVELS, TOXICITY
from mockserver.inference.language import (
    analyse_entities,
    analyse_language,
    text_spans,
    timed_spans,
)
from mockserver.inference.text import TextModel

AUDIO = Path(__file__).resolve().parents[1] / "fixtures/media/audio"
TEXT = "I am so happy today. Then Barack Obama called from Paris!\nSecond line here."


@pytest.fixture(scope="module")
def model() -> TextModel:
    return TextModel.load()


@pytest.mark.parametrize(
    ("granularity", "expected"),
    [
        ("word", 14),
        ("sentence", 3),
        ("utterance", 3),
        ("conversational_turn", 2),
    ],
)
def test_raw_text_spans_by_granularity(granularity: str, expected: int) -> None:
    found = text_spans(TEXT, granularity)
    assert len(found) == expected
    assert all(TEXT[s.begin : s.end] == s.text and s.time is None for s in found)


def test_an_unknown_granularity_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="word, sentence, utterance, conversational_turn"):
        text_spans(TEXT, "paragraph")


def test_language_items_carry_offsets_and_the_asked_for_heads(model: TextModel) -> None:
    items = analyse_language(model, text_spans(TEXT, "sentence"), sentiment=True)
    assert [i.span.text for i in items][0] == "I am so happy today."
    first = items[0]
    assert list(first.emotions) == list(LANGUAGE_EMOTIONS)
    assert first.sentiment is not None and list(first.sentiment) == list(SENTIMENT_LEVELS)
    assert sum(first.sentiment.values()) == pytest.approx(1.0, abs=1e-5)
    assert first.toxicity is None
    with_tox = analyse_language(model, text_spans(TEXT, "word")[:2], toxicity=True)
    assert with_tox[0].toxicity is not None and list(with_tox[0].toxicity) == list(TOXICITY)
    assert analyse_language(model, []) == []


def test_the_transcript_drives_language_on_audio_with_times(model: TextModel) -> None:
    text = (AUDIO / "sad.txt").read_text()
    analysis = analyse_audio((AUDIO / "sad.wav").read_bytes(), name="sad.wav", transcript=text)
    items = analyse_language(model, timed_spans(spans(analysis, "sentence")))
    assert [i.span.text for i in items] == [
        "I miss them so much.",
        "Nothing feels the same anymore.",
    ]
    for item in items:
        assert item.span.time is not None
        begin, end = item.span.time
        assert 0 <= begin < end <= analysis.duration
        assert text[item.span.begin : item.span.end] == item.span.text
    valence = sum(i.emotions["Sadness"] - i.emotions["Joy"] for i in items)
    assert valence > 0  # a sad transcript reads sad


def test_entities_on_raw_text_and_on_a_transcript(model: TextModel) -> None:
    raw = analyse_entities(model, TEXT)
    assert [(e.span.text, e.label) for e in raw] == [("Barack Obama", "PER"), ("Paris", "LOC")]
    assert raw[0].link_word == "Obama" and raw[0].span.time is None
    assert list(raw[0].emotions) == list(LANGUAGE_EMOTIONS)
    spoken = "We flew to Paris with Barack Obama."
    analysis = analyse_audio(
        (AUDIO / "happy.wav").read_bytes(), name="happy.wav", transcript=spoken
    )
    found = analyse_entities(model, spoken, analysis.transcript.words)
    assert [e.span.text for e in found] == ["Paris", "Barack Obama"]
    times = [e.span.time for e in found]
    assert all(t is not None for t in times)
    assert times[0][0] < times[1][0]  # type: ignore[index]
