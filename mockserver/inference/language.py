"""The language and NER models over a text or a transcript: what Hume's language/ner return.

The same functions serve raw text (no times) and audio/video transcripts (times from the
aligned words), so "the transcript's words drive the language and NER outputs of audio
sources", as on the real service (``../shared/reference/hume-batch.md`` §7: language items carry
``position`` char offsets and, for media, a ``time`` interval; NER items add the entity, its
confidence, support and a URI).

Granularity on raw text, where there is no audio to find utterances in [GUESS, the reference is
silent]: ``word`` each word, ``sentence`` each sentence, ``utterance`` each sentence too, and
``conversational_turn`` each non-empty line. Run these on the inference service's batcher
thread (``service.call(lambda model: analyse_language(model, ...))``): they use the model's
prototype cache, which is not shared across threads.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .audio_transcript import Span as TimedSpan
from .audio_transcript import Word
from .entities import find_entities
from .labels import LANGUAGE_EMOTIONS, SENTIMENT_LEVELS, TOXICITY
from .text import TextModel

__all__ = [
    "EntityItem",
    "LanguageItem",
    "TextSpan",
    "analyse_entities",
    "analyse_language",
    "text_spans",
    "timed_spans",
]

_WORD = re.compile(r"\S+")
_SENTENCE = re.compile(r"[^.!?…\n]+(?:[.!?…]+['\")\]»”’]*|$)")
_LINE = re.compile(r"[^\n]+")


@dataclass(frozen=True)
class TextSpan:
    """A stretch of the text: ``[begin, end)`` char offsets, its text, and a time if known."""

    begin: int
    end: int
    text: str
    time: tuple[float, float] | None = None


@dataclass(frozen=True)
class LanguageItem:
    """One language prediction: the span and its 53 emotions, sentiment and toxicity if asked."""

    span: TextSpan
    emotions: dict[str, float]
    sentiment: dict[str, float] | None
    toxicity: dict[str, float] | None


@dataclass(frozen=True)
class EntityItem:
    """One named entity: where it is, what it is, and the language emotions around it."""

    span: TextSpan
    label: str
    confidence: float
    support: float
    uri: str
    link_word: str
    emotions: dict[str, float]


def text_spans(text: str, granularity: str) -> list[TextSpan]:
    """Spans of raw text at a Hume granularity (see the module docstring for the rules)."""
    pattern = {
        "word": _WORD,
        "sentence": _SENTENCE,
        "utterance": _SENTENCE,
        "conversational_turn": _LINE,
    }.get(granularity)
    if pattern is None:
        raise ValueError(
            f"unknown granularity {granularity!r}; expected one of: word, sentence, "
            "utterance, conversational_turn"
        )
    out = []
    for match in pattern.finditer(text):
        begin, end = match.span()
        while begin < end and text[begin].isspace():
            begin += 1
        while end > begin and text[end - 1].isspace():
            end -= 1
        if begin < end:
            out.append(TextSpan(begin, end, text[begin:end]))
    return out


def timed_spans(spans: Sequence[TimedSpan]) -> list[TextSpan]:
    """Transcript spans from :func:`audio.spans` as :class:`TextSpan` with their times."""
    return [TextSpan(s.char_begin, s.char_end, s.text, (s.begin, s.end)) for s in spans if s.text]


def analyse_language(
    model: TextModel,
    spans: Sequence[TextSpan],
    *,
    sentiment: bool = False,
    toxicity: bool = False,
    seed: int = 0,
) -> list[LanguageItem]:
    """Score every span in one batch per head."""
    texts = [s.text for s in spans]
    if not texts:
        return []
    emotions = model.emotions(texts, seed=seed).tolist()
    sent = model.sentiment(texts, seed=seed).tolist() if sentiment else None
    tox = model.toxicity(texts, seed=seed).tolist() if toxicity else None
    return [
        LanguageItem(
            span=span,
            emotions=dict(zip(LANGUAGE_EMOTIONS, emotions[i], strict=True)),
            sentiment=dict(zip(SENTIMENT_LEVELS, sent[i], strict=True)) if sent else None,
            toxicity=dict(zip(TOXICITY, tox[i], strict=True)) if tox else None,
        )
        for i, span in enumerate(spans)
    ]


def analyse_entities(
    model: TextModel, text: str, words: Sequence[Word] | None = None, *, seed: int = 0
) -> list[EntityItem]:
    """Entities of ``text``; with a transcript's ``words``, each entity gets its time too.

    An entity's emotions are those of the sentence it appears in (NER scores come from the
    language model [GUESS, reference §8]).
    """
    found = find_entities(model, text)
    if not found:
        return []
    sentences = text_spans(text, "sentence")
    context = [
        next((s.text for s in sentences if s.begin <= e.begin < s.end), e.text) for e in found
    ]
    emotions = model.emotions(context, seed=seed).tolist()
    return [
        EntityItem(
            span=TextSpan(e.begin, e.end, e.text, _time_of(e.begin, e.end, words)),
            label=e.label,
            confidence=e.score,
            support=e.support,
            uri=e.uri,
            link_word=e.text.split()[-1],
            emotions=dict(zip(LANGUAGE_EMOTIONS, emotions[i], strict=True)),
        )
        for i, e in enumerate(found)
    ]


def _time_of(begin: int, end: int, words: Sequence[Word] | None) -> tuple[float, float] | None:
    """The time the words overlapping ``[begin, end)`` were spoken (``None`` for raw text)."""
    if not words:
        return None
    hit = [w for w in words if w.char_begin < end and w.char_end > begin]
    if not hit:
        return None
    return (min(w.begin for w in hit), max(w.end for w in hit))
