"""The audio model: decode a clip once, then answer prosody, burst, transcript and speaker asks.

Hume's prosody and burst models, its transcription for language/NER on audio, Eden AI's
``speech_to_text_async`` (text plus diarization) and Hugging Face audio tasks all start from the
same measurements, so :func:`analyse_audio` decodes the bytes, measures every 10 ms frame,
segments the clip into silence / speech / non-speech, aligns the transcript and labels speakers;
the providers then pick what they need: :func:`prosody` for any spans (words, sentences,
utterances, turns from :func:`spans`, or sliding :func:`windows`), :func:`bursts`, and the
transcript's words. Nothing is downloaded and no weights exist: every score follows from the
signal (``audio_frames``, ``audio_segments``, ``audio_prosody``, ``audio_bursts``,
``audio_speakers``, ``audio_transcript`` explain how). Same bytes, text and seed give
bit-identical results on one device; the seed only moves the small jitter real models have.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

import torch

from .affect import jitter, seed_key
from .audio_bursts import Burst, find_bursts
from .audio_decode import SAMPLE_RATE, Audio, AudioDecodeError, decode_audio
from .audio_frames import Frames, measure
from .audio_prosody import prosody_scores, prosody_sums
from .audio_segments import Segment, SegmentKind, activity, segment
from .audio_speakers import identify_speakers
from .audio_transcript import (
    PLACEHOLDER_CONFIDENCE,
    Span,
    Transcript,
    Word,
    align,
    guess_language,
    sentences,
    turns,
    utterances,
    word_spans,
)
from .labels import EXPRESSIONS

__all__ = [
    "PLACEHOLDER_CONFIDENCE",
    "SAMPLE_RATE",
    "Audio",
    "AudioAnalysis",
    "AudioDecodeError",
    "Burst",
    "Granularity",
    "Segment",
    "SegmentKind",
    "Span",
    "Transcript",
    "Word",
    "analyse_audio",
    "analyse_samples",
    "bursts",
    "decode_audio",
    "prosody",
    "sentences",
    "speaker_at",
    "spans",
    "turns",
    "utterances",
    "windows",
    "word_spans",
]

Granularity = Literal["word", "sentence", "utterance", "conversational_turn"]


@dataclass(frozen=True)
class AudioAnalysis:
    """Everything measured about one clip; ``speakers`` runs parallel to ``segments``."""

    name: str
    duration: float
    digest: str
    seed: int
    segments: list[Segment]
    speakers: list[int | None]
    transcript: Transcript
    frames: Frames = field(repr=False)
    threshold: torch.Tensor = field(repr=False)
    sums: torch.Tensor = field(repr=False)

    @property
    def speech(self) -> list[tuple[float, float]]:
        """``(begin, end)`` of each speech segment, in order."""
        return [(s.begin, s.end) for s in self.segments if s.kind == "speech"]

    @property
    def speaker_count(self) -> int:
        """How many distinct speakers were found (0 without speech)."""
        return len({s for s in self.speakers if s is not None})


def analyse_audio(
    data: bytes,
    *,
    name: str = "",
    transcript: str | None = None,
    seed: int = 0,
    device: torch.device | str = "cpu",
    max_speakers: int = 2,
    language: str | None = None,
) -> AudioAnalysis:
    """Decode ``data`` and analyse it; :class:`AudioDecodeError` when it holds no audio.

    ``transcript`` is the text spoken, if known (a sidecar file); without it the transcript is a
    low-confidence placeholder, and a blank one means nothing was said (empty transcript).
    ``language`` overrides the guess from the text's script.
    """
    audio = decode_audio(data, name=name)
    digest = hashlib.sha256(data).hexdigest()
    return analyse_samples(
        audio, digest=digest, name=name, transcript=transcript, seed=seed, device=device,
        max_speakers=max_speakers, language=language,
    )  # fmt: skip


def analyse_samples(
    audio: Audio,
    *,
    digest: str,
    name: str = "",
    transcript: str | None = None,
    seed: int = 0,
    device: torch.device | str = "cpu",
    max_speakers: int = 2,
    language: str | None = None,
) -> AudioAnalysis:
    """Analyse already decoded audio (a video's track); ``digest`` identifies the content."""
    frames = measure(audio.samples, device)
    thr = activity(frames)
    segments = segment(frames, thr, audio.duration)
    speakers = identify_speakers(frames, thr, segments, max_speakers)
    speech = [(s.begin, s.end) for s in segments if s.kind == "speech"]
    text = _transcript(speech, transcript, name, language, seed_key(seed, digest, "transcript"))
    return AudioAnalysis(
        name=name, duration=round(audio.duration, 3), digest=digest, seed=seed,
        segments=segments, speakers=speakers, transcript=text, frames=frames, threshold=thr,
        sums=prosody_sums(frames, thr),
    )  # fmt: skip


def _transcript(
    speech: list[tuple[float, float]], text: str | None, name: str, language: str | None, key: int
) -> Transcript:
    """Aligned sidecar text, a placeholder, or nothing (see ``audio_transcript``)."""
    if not speech or (text is not None and not text.strip()):
        return Transcript("", [], 0.0, placeholder=False, language=None)
    if text is None:
        note = f"[mock transcript: no sidecar text for {name or 'this audio'}]"
        return Transcript(note, align(note, speech), PLACEHOLDER_CONFIDENCE, True, None)
    confidence = round(0.9 + 0.09 * (float(jitter(key, 1)[0]) + 1) / 2, 4)
    lang = language or guess_language(text)
    return Transcript(text, align(text, speech), confidence, placeholder=False, language=lang)


def prosody(
    analysis: AudioAnalysis, spans: Sequence[tuple[float, float]]
) -> list[dict[str, float]]:
    """48 expression scores in [0, 1], in label order, for each ``(begin, end)`` span."""
    keys = [
        seed_key(analysis.seed, analysis.digest, "prosody", round(b, 3), round(e, 3))
        for b, e in spans
    ]
    scores = prosody_scores(analysis.sums, list(spans), keys)
    return [dict(zip(EXPRESSIONS, row, strict=True)) for row in scores.cpu().tolist()]


def bursts(analysis: AudioAnalysis) -> list[Burst]:
    """The clip's vocal bursts with their 48 expression and 67 burst-type scores."""
    keys = [
        seed_key(analysis.seed, analysis.digest, "burst", s.begin, s.end) for s in analysis.segments
    ]
    return find_bursts(analysis.frames, analysis.threshold, analysis.segments, keys)


def windows(duration: float, length: float = 4.0, step: float = 1.0) -> list[tuple[float, float]]:
    """Sliding windows ``[k*step, k*step + length]`` over the clip, the last one cut at its end.

    Hume's prosody ``window`` option (default length 4, step 1; the docs say at least 0.5 each)
    [GUESS: windows start at 0 and stop once one reaches the end]. No windows for an empty clip.
    """
    if length <= 0 or step <= 0:
        raise ValueError(f"window length and step must be positive, got {length} and {step}")
    out: list[tuple[float, float]] = []
    k = 0
    while (begin := float(round(k * step, 6))) < duration:
        end = float(round(min(begin + length, duration), 6))
        out.append((begin, end))
        if end >= duration:
            break
        k += 1
    return out


def spans(analysis: AudioAnalysis, granularity: Granularity) -> list[Span]:
    """The transcript's spans at a Hume ``granularity`` (utterances need no text).

    Granularities as in Hume's prosody/language ``granularity`` option
    (``../shared/reference/hume-batch.md`` §4); anything else is a ``ValueError`` naming them.
    """
    tr = analysis.transcript
    if granularity == "word":
        return word_spans(tr)
    if granularity == "sentence":
        return sentences(tr)
    if granularity == "utterance":
        return utterances(tr, analysis.segments)
    if granularity == "conversational_turn":
        return turns(tr, analysis.segments, analysis.speakers)
    valid = ", ".join(get_args(Granularity))
    raise ValueError(f"unknown granularity {granularity!r}; expected one of: {valid}")


def speaker_at(analysis: AudioAnalysis, begin: float, end: float) -> int | None:
    """The speaker of the speech segment overlapping ``[begin, end]`` most (``None`` if none)."""
    shared = [
        (min(end, seg.end) - max(begin, seg.begin), who)
        for seg, who in zip(analysis.segments, analysis.speakers, strict=True)
        if who is not None
    ]
    touching = [c for c in shared if c[0] >= 0]
    return max(touching, key=lambda c: c[0])[1] if touching else None
