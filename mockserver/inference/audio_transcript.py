"""Transcripts the audio model can honestly give: sidecar text aligned in time, or a placeholder.

The mock recognises no speech, so a transcript is never invented. When the caller has the words
(a sidecar ``.txt`` next to a fixture, or text a test supplies) they are spread over the speech
segments: each segment gets a contiguous run of words whose share of the characters matches
its share of the speaking time, with sentence and clause ends pulled towards the pauses; inside
a segment each word gets time in proportion to its length. Without text the transcript is a
clearly marked placeholder whose confidence (:data:`PLACEHOLDER_CONFIDENCE`, 0.3) sits under
Hume's default ``confidence_threshold`` of 0.5, so a Hume job with default settings reports
"transcript confidence (0.3) below threshold value (0.5)" rather than use it
(``../shared/reference/hume-batch.md`` §4, §7). A clip without speech has an empty transcript
with confidence 0.0, whatever text was supplied.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch

from .audio_segments import Segment

__all__ = [
    "PLACEHOLDER_CONFIDENCE",
    "Span",
    "Transcript",
    "Word",
    "align",
    "guess_language",
    "sentences",
    "turns",
    "utterances",
    "word_spans",
]

PLACEHOLDER_CONFIDENCE = 0.3
SENTENCE_END = re.compile(r"[.!?…。！？]['\")\]»”’]*$")
CLAUSE_END = re.compile(r"[,;:—–、，；：]['\")\]»”’]*$")
SENTENCE_BONUS = 0.12  # share of the clip a sentence end may move to land on a pause
CLAUSE_BONUS = 0.04


@dataclass(frozen=True)
class Word:
    """One word: its text, time in seconds and ``[char_begin, char_end)`` in the transcript."""

    text: str
    begin: float
    end: float
    char_begin: int
    char_end: int


@dataclass(frozen=True)
class Transcript:
    """Text, its timed words, an ASR-style confidence, and whether the text is a placeholder."""

    text: str
    words: list[Word]
    confidence: float
    placeholder: bool
    language: str | None


class Span(NamedTuple):
    """A timed stretch of the transcript: seconds, ``[char_begin, char_end)`` and its text."""

    begin: float
    end: float
    char_begin: int
    char_end: int
    text: str


def align(text: str, speech: Sequence[tuple[float, float]]) -> list[Word]:
    """Spread the words of ``text`` over the ``speech`` intervals (see the module docstring)."""
    tokens = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    if not tokens or not speech:
        return []
    weights = [e - b + 1 for b, e in tokens]
    cuts = _group(text, tokens, weights, [e - b for b, e in speech])
    words: list[Word] = []
    for (seg_b, seg_e), lo, hi in zip(speech, cuts[:-1], cuts[1:], strict=True):
        total = sum(weights[lo:hi])
        used = 0
        for k in range(lo, hi):
            cb, ce = tokens[k]
            t0 = seg_b + (seg_e - seg_b) * used / total
            t1 = seg_b + (seg_e - seg_b) * (used + ce - cb) / total
            words.append(Word(text[cb:ce], round(t0, 3), round(t1, 3), cb, ce))
            used += weights[k]
    return words


def _group(
    text: str, tokens: list[tuple[int, int]], weights: list[int], durations: list[float]
) -> list[int]:
    """Token cut points ``[0, k1, ..., n]``: segment ``j`` says tokens ``k_j .. k_{j+1}-1``.

    Dynamic programme over the cut after each segment: cost ``|chars share - time share|``
    minus a bonus when the cut follows a sentence (or clause) end. With at least as many words
    as segments every segment gets a word; otherwise some stay empty.
    """
    n, s = len(tokens), len(durations)
    if s == 1:
        return [0, n]
    cw = torch.tensor([0, *weights], dtype=torch.float64).cumsum(0) / sum(weights)
    ct = torch.tensor([0.0, *durations], dtype=torch.float64).cumsum(0) / max(sum(durations), 1e-9)
    bonus = torch.tensor([0.0, *(_bonus(text[b:e]) for b, e in tokens)], dtype=torch.float64)
    strict = n >= s
    inf = torch.tensor(float("inf"), dtype=torch.float64)
    best = torch.where(torch.arange(n + 1) == 0, 0.0, inf)  # cut 0 sits at token 0
    back: list[torch.Tensor] = []
    for j in range(1, s):
        prev, arg = torch.cummin(best, 0)
        if strict:  # the previous cut must be strictly earlier: shift by one
            prev, arg = torch.cat([inf[None], prev[:-1]]), torch.cat([arg[:1], arg[:-1]])
        best = prev + (cw - ct[j]).abs() - bonus
        back.append(arg)
    k = int(torch.argmin(best[:n] if strict else best))
    cuts = [k]
    for arg in reversed(back[1:]):
        k = int(arg[k])
        cuts.append(k)
    return [0, *reversed(cuts), n]


def _bonus(word: str) -> float:
    """What a cut after ``word`` is worth: most after a sentence end, a little after a clause."""
    sentence = SENTENCE_BONUS if SENTENCE_END.search(word) else 0.0
    return sentence + (CLAUSE_BONUS if CLAUSE_END.search(word) else 0.0)


def guess_language(text: str) -> str | None:
    """A BCP-47 guess from the script of the letters: ``en`` for Latin [GUESS], else by script."""
    counts: dict[str, int] = {}
    for ch in text:
        if ch.isalpha():
            script = unicodedata.name(ch, "").split(" ")[0]
            counts[script] = counts.get(script, 0) + 1
    if not counts:
        return None
    script = max(sorted(counts), key=lambda k: counts[k])
    if script == "CJK" and ("HIRAGANA" in counts or "KATAKANA" in counts):
        return "ja"
    return _SCRIPTS.get(script)


_SCRIPTS = {
    "LATIN": "en", "CYRILLIC": "ru", "GREEK": "el", "ARABIC": "ar", "HEBREW": "he",
    "DEVANAGARI": "hi", "HANGUL": "ko", "HIRAGANA": "ja", "KATAKANA": "ja", "CJK": "zh",
    "THAI": "th", "TAMIL": "ta",
}  # fmt: skip


def word_spans(transcript: Transcript) -> list[Span]:
    """One span per word (Hume granularity ``word``)."""
    return [Span(w.begin, w.end, w.char_begin, w.char_end, w.text) for w in transcript.words]


def sentences(transcript: Transcript) -> list[Span]:
    """Words grouped into sentences at sentence-final punctuation (granularity ``sentence``)."""
    groups: list[list[Word]] = [[]]
    for word in transcript.words:
        groups[-1].append(word)
        if SENTENCE_END.search(word.text):
            groups.append([])
    return [_span(transcript.text, g[0].begin, g[-1].end, g) for g in groups if g]


Interval = tuple[float, float]


def utterances(transcript: Transcript, segments: Sequence[Segment | Interval]) -> list[Span]:
    """One span per speech segment, with the words aligned inside it (granularity ``utterance``).

    ``segments`` are :class:`Segment` objects (only speech ones count) or speech intervals
    ``(begin, end)``. A segment without words gets an empty text whose character offsets sit
    where the next word would start.
    """
    out: list[Span] = []
    words = transcript.words
    k = 0
    for begin, end, _ in _speech(segments):
        inside: list[Word] = []
        while k < len(words) and (words[k].begin + words[k].end) / 2 < end:
            if (words[k].begin + words[k].end) / 2 >= begin:
                inside.append(words[k])
            k += 1
        if inside:
            out.append(_span(transcript.text, begin, end, inside))
        else:
            at = words[k].char_begin if k < len(words) else len(transcript.text)
            out.append(Span(begin, end, at, at, ""))
    return out


def turns(
    transcript: Transcript,
    segments: Sequence[Segment | Interval],
    speakers: Sequence[int | None],
) -> list[Span]:
    """Consecutive utterances of one speaker merged (granularity ``conversational_turn``).

    ``speakers`` runs parallel to ``segments`` (as ``AudioAnalysis.speakers`` does).
    """
    out: list[Span] = []
    last: int | None = None
    who = [w for _, _, w in _speech(segments, speakers)]
    for utt, speaker in zip(utterances(transcript, segments), who, strict=True):
        if out and speaker == last:
            prev = out[-1]
            cb = prev.char_begin if prev.text else utt.char_begin
            ce = utt.char_end if utt.text else prev.char_end
            out[-1] = Span(prev.begin, utt.end, cb, ce, transcript.text[cb:ce])
        else:
            out.append(utt)
        last = speaker
    return out


def _speech(
    segments: Sequence[Segment | Interval],
    speakers: Sequence[int | None] | None = None,
) -> list[tuple[float, float, int | None]]:
    """The speech intervals among ``segments``, each with its speaker when given."""
    who = list(speakers) if speakers is not None else [None] * len(segments)
    out: list[tuple[float, float, int | None]] = []
    for seg, speaker in zip(segments, who, strict=True):
        if isinstance(seg, Segment):
            if seg.kind == "speech":
                out.append((seg.begin, seg.end, speaker))
        else:
            out.append((seg[0], seg[1], speaker))
    return out


def _span(text: str, begin: float, end: float, words: Sequence[Word]) -> Span:
    cb, ce = words[0].char_begin, words[-1].char_end
    return Span(begin, end, cb, ce, text[cb:ce])
