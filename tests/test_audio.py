"""The audio model: decoding, segmentation, transcripts, speakers, prosody, bursts, determinism."""

from __future__ import annotations

import importlib.util
import io
import math
import sys
import wave
from fractions import Fraction
from functools import cache
from pathlib import Path
from types import ModuleType

import av
import numpy as np
import pytest
import torch

from mockserver.inference import audio_frames
from mockserver.inference.audio import (
    PLACEHOLDER_CONFIDENCE,
    AudioAnalysis,
    AudioDecodeError,
    analyse_audio,
    bursts,
    decode_audio,
    prosody,
    spans,
    speaker_at,
    windows,
)
from mockserver.inference.audio_transcript import Transcript, align, guess_language, sentences
from mockserver.inference.labels import BURSTS, EXPRESSIONS

ROOT = Path(__file__).resolve().parent.parent
AUDIO = ROOT / "fixtures" / "media" / "audio"
RATE = 16_000
HIGH_AROUSAL = ("Excitement", "Anger", "Ecstasy", "Triumph", "Surprise (positive)")
LOW_AROUSAL = ("Calmness", "Tiredness", "Boredom")
LAUGHS = {"Laugh", "Giggle", "Haha", "Hehe", "Cackle", "Chuckle", "Snicker"}
LOW_LONG = {"Sigh", "Groan", "Moan", "Yawn", "Whew", "Phew"}


def load_maker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_audio", ROOT / "fixtures" / "make_audio.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


make = load_maker()


def sidecar(stem: str) -> str | None:
    path = AUDIO / f"{stem}.txt"
    return path.read_text().strip() if path.exists() else None


@cache
def fixture(name: str, with_text: bool = True, seed: int = 0) -> AudioAnalysis:
    """Analyse a committed fixture once per test session (analyses are immutable)."""
    text = sidecar(name.split(".")[0]) if with_text else None
    return analyse_audio((AUDIO / name).read_bytes(), name=name, transcript=text, seed=seed)


def wav(samples: np.ndarray) -> bytes:
    return bytes(make.encode(samples.astype(np.float32), "wav"))


def top(scores: dict[str, float], n: int) -> list[str]:
    return sorted(scores, key=lambda k: -scores[k])[:n]


def kinds(analysis: AudioAnalysis) -> list[str]:
    return [s.kind for s in analysis.segments if s.kind != "silence"]


# --- decoding ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("happy.wav", "happy.wav"),
        ("happy.flac", "happy.wav"),
        ("sad.mp3", "sad.wav"),
        ("two_sentences.m4a", "two_sentences.wav"),
    ],
)
def test_decodes_each_container_to_mono_16k(name: str, reference: str) -> None:
    audio = decode_audio((AUDIO / name).read_bytes(), name=name)
    ref = decode_audio((AUDIO / reference).read_bytes())
    assert audio.sample_rate == RATE
    assert audio.samples.dtype == torch.float32 and audio.samples.dim() == 1
    assert audio.duration == pytest.approx(audio.samples.numel() / RATE)
    assert abs(audio.duration - ref.duration) < 0.1  # codec padding only
    assert float(audio.samples.abs().max()) <= 1.0


def test_lossless_formats_decode_to_the_same_samples() -> None:
    flac = decode_audio((AUDIO / "happy.flac").read_bytes()).samples
    assert torch.equal(flac, decode_audio((AUDIO / "happy.wav").read_bytes()).samples)


def test_many_channels_are_downmixed_within_full_scale() -> None:
    t = np.arange(44_100) / 44_100
    loud = np.repeat((0.9 * np.sin(2 * math.pi * 440 * t))[:, None], 6, axis=1)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:  # 6-channel 44.1 kHz 16-bit PCM
        out.setnchannels(6)
        out.setsampwidth(2)
        out.setframerate(44_100)
        out.writeframes((loud * 32767).astype("<i2").tobytes())
    audio = decode_audio(buf.getvalue())
    assert audio.duration == pytest.approx(1.0)
    assert 0.9 <= float(audio.samples.abs().max()) <= 1.0


def video(with_audio: bool) -> bytes:
    """A one-second 64x64 MPEG-4 video, optionally with an AAC 220 Hz track at 44.1 kHz."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        track = out.add_stream("aac", rate=44_100) if with_audio else None
        if track is not None:
            track.layout = "stereo"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), i * 20, np.uint8), "rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
        if track is not None:
            t = np.arange(44_100) / 44_100
            tone = np.tile(0.3 * np.sin(2 * math.pi * 220 * t).astype(np.float32), (2, 1))
            for start in range(0, 44_100, 1024):
                chunk = np.ascontiguousarray(tone[:, start : start + 1024])
                frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
                frame.sample_rate, frame.pts = 44_100, start
                frame.time_base = Fraction(1, 44_100)
                out.mux(track.encode(frame))
            out.mux(track.encode(None))
    return buf.getvalue()


def test_decodes_the_audio_track_of_a_video() -> None:
    audio = decode_audio(video(with_audio=True), name="clip.mp4")
    assert audio.sample_rate == RATE
    assert audio.duration == pytest.approx(1.0, abs=0.1)
    frames = audio_frames.measure(audio.samples)
    voiced = frames.voicing > 0.6
    assert float(frames.f0[voiced].median()) == pytest.approx(220, rel=0.03)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"this is not audio at all" * 20, "Invalid data"),
        (video(with_audio=False), "no audio stream"),
    ],
)
def test_undecodable_input_raises_a_clear_error(data: bytes, reason: str) -> None:
    with pytest.raises(AudioDecodeError, match=reason) as err:
        analyse_audio(data, name="upload.wav")
    assert "upload.wav" in str(err.value)
    assert isinstance(err.value, ValueError)


# --- segmentation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["happy.wav", "sad.mp3", "two_voices.wav", "laugh.wav", "tone.wav"]
)
def test_segments_partition_the_clip(name: str) -> None:
    segs = fixture(name).segments
    assert segs[0].begin == 0.0 and segs[-1].end == fixture(name).duration
    assert all(a.end == b.begin for a, b in zip(segs, segs[1:], strict=False))
    assert all(s.end > s.begin for s in segs)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("happy.wav", ["speech"]),
        ("sad.wav", ["speech", "speech"]),
        ("two_sentences.m4a", ["speech", "speech"]),
        ("two_voices.wav", ["speech", "speech", "speech"]),
        ("tone.wav", ["nonspeech"]),
        ("laugh.mp3", ["nonspeech"]),
        ("sigh.wav", ["nonspeech"]),
        ("silence.wav", []),
    ],
)
def test_speech_is_told_from_tones_bursts_and_silence(name: str, expected: list[str]) -> None:
    assert kinds(fixture(name)) == expected


def test_a_pause_between_sentences_splits_utterances() -> None:
    analysis = fixture("two_sentences.wav")
    (b1, e1), (b2, e2) = analysis.speech
    assert b2 - e1 > 0.6  # the clip has a 0.9 s pause
    utts = spans(analysis, "utterance")
    assert [u.text for u in utts] == ["The train leaves at nine.", "Please do not be late."]


def test_speech_stays_speech_when_quiet_and_digital_silence_is_silence() -> None:
    quiet = decode_audio((AUDIO / "happy.wav").read_bytes()).samples.numpy() * 0.05  # -26 dB
    assert kinds(analyse_audio(wav(quiet))) == ["speech"]
    zeros = analyse_audio(wav(np.zeros(RATE)))
    assert kinds(zeros) == [] and zeros.transcript.confidence == 0.0


def test_a_continuous_tone_without_pauses_is_active_nonspeech() -> None:
    t = np.arange(2 * RATE) / RATE
    analysis = analyse_audio(wav(0.3 * np.sin(2 * math.pi * 300 * t)))
    assert kinds(analysis) == ["nonspeech"]
    assert bursts(analysis) == []  # steady: not a vocalisation


def test_chunking_does_not_change_frame_values(monkeypatch: pytest.MonkeyPatch) -> None:
    samples = decode_audio((AUDIO / "two_voices.wav").read_bytes()).samples
    whole = audio_frames.measure(samples)
    monkeypatch.setattr(audio_frames, "CHUNK", 37)
    chunked = audio_frames.measure(samples)
    for name in ("db", "centroid", "f0", "voicing", "mel"):
        assert torch.equal(getattr(whole, name), getattr(chunked, name)), name


# --- transcripts -------------------------------------------------------------------------------


def test_sidecar_words_are_aligned_over_speech() -> None:
    analysis = fixture("two_voices.wav")
    tr = analysis.transcript
    assert tr.text == sidecar("two_voices") and not tr.placeholder and tr.language == "en"
    assert 0.9 <= tr.confidence <= 0.99
    assert [w.text for w in tr.words] == tr.text.split()
    assert all(tr.text[w.char_begin : w.char_end] == w.text for w in tr.words)
    assert all(a.end <= b.begin for a, b in zip(tr.words, tr.words[1:], strict=False))
    for w in tr.words:
        assert any(b <= w.begin and w.end <= e for b, e in analysis.speech), w


def test_sentence_ends_fall_in_pauses() -> None:
    analysis = fixture("sad.wav")
    first, second = sentences(analysis.transcript)
    assert first.text == "I miss them so much." and second.text.startswith("Nothing")
    (_, e1), (b2, _) = analysis.speech
    assert first.end <= e1 and second.begin >= b2


def test_without_sidecar_the_transcript_is_a_marked_low_confidence_placeholder() -> None:
    tr = fixture("happy.wav", with_text=False).transcript
    assert tr.placeholder and tr.language is None
    assert "no sidecar text for happy.wav" in tr.text and tr.text.startswith("[mock transcript")
    assert tr.confidence == PLACEHOLDER_CONFIDENCE < 0.5  # Hume's default threshold rejects it
    assert tr.words and all(tr.text[w.char_begin : w.char_end] == w.text for w in tr.words)


@pytest.mark.parametrize("name", ["tone.wav", "silence.wav", "laugh.wav"])
def test_no_speech_means_an_empty_transcript_even_with_text(name: str) -> None:
    analysis = analyse_audio((AUDIO / name).read_bytes(), transcript="Words nobody said.")
    assert analysis.transcript == Transcript("", [], 0.0, placeholder=False, language=None)
    assert spans(analysis, "word") == spans(analysis, "utterance") == []


def test_alignment_prefers_sentence_ends_at_pauses() -> None:
    text = "Yes. I think that is a very good idea indeed."
    words = align(text, [(0.0, 1.0), (2.0, 5.0)])  # by length alone "I" would go first
    assert [w.text for w in words if w.end <= 1.0] == ["Yes."]
    few = align("Hi.", [(0.0, 1.0), (2.0, 3.0), (4.0, 5.0)])
    assert len(few) == 1 and few[0].char_end == 3


def test_language_is_guessed_from_the_script() -> None:
    assert guess_language("Hello there") == "en"
    assert guess_language("こんにちは、世界") == "ja"
    assert guess_language("Привет, мир") == "ru"
    assert guess_language("1234 !!") is None
    analysis = fixture("happy.wav")
    assert analysis.transcript.language == "en"


# --- speakers and granularities ----------------------------------------------------------------


def test_two_voices_at_different_pitches_are_two_speakers() -> None:
    analysis = fixture("two_voices.wav")
    assert analysis.speaker_count == 2
    assert [s for s in analysis.speakers if s is not None] == [0, 1, 0]
    turns = spans(analysis, "conversational_turn")
    assert [t.text for t in turns] == [
        "Hello, how are you today?",
        "I am fine, thank you.",
        "Good to hear.",
    ]
    word = analysis.transcript.words[-1]
    assert speaker_at(analysis, word.begin, word.end) == 0


def test_max_speakers_caps_the_count() -> None:
    data = (AUDIO / "two_voices.wav").read_bytes()
    assert set(analyse_audio(data, max_speakers=1).speakers) == {None, 0}


def test_joined_clips_of_a_high_and_a_low_voice_give_two_speakers() -> None:
    high = decode_audio((AUDIO / "happy.wav").read_bytes()).samples.numpy()
    low = decode_audio((AUDIO / "sad.wav").read_bytes()).samples.numpy()
    analysis = analyse_audio(wav(np.concatenate([high, low * 3])))
    assert [s for s in analysis.speakers if s is not None] == [0, 1, 1]


@pytest.mark.parametrize("name", ["sad.wav", "two_sentences.wav"])
def test_one_voice_is_one_speaker_and_one_turn(name: str) -> None:
    analysis = fixture(name)
    assert analysis.speaker_count == 1
    assert len(spans(analysis, "conversational_turn")) == 1
    assert len(spans(analysis, "utterance")) == 2


def test_granularities_nest() -> None:
    analysis = fixture("two_sentences.wav")
    words, sents = spans(analysis, "word"), spans(analysis, "sentence")
    assert len(words) == 10 and len(sents) == 2
    assert sents[0].char_begin == 0 and sents[-1].char_end == len(analysis.transcript.text)
    assert all(s.text == analysis.transcript.text[s.char_begin : s.char_end] for s in sents)
    with pytest.raises(ValueError, match="conversational_turn"):
        spans(analysis, "paragraph")  # type: ignore[arg-type]


# --- prosody -----------------------------------------------------------------------------------


def synthetic_voice(lively: bool, seconds: float = 3.0) -> np.ndarray:
    """A vowel-like harmonic signal: lively is loud, fast (6 syllables/s) and pitch-varied."""
    t = np.arange(round(seconds * RATE)) / RATE
    if lively:
        f0 = 220 * 2 ** (0.5 * np.sin(2 * math.pi * 1.7 * t))
        gain = 0.6 * (0.15 + 0.85 * np.abs(np.sin(math.pi * 6 * t)))
    else:
        f0 = np.full_like(t, 110.0)
        gain = 0.012 * (0.8 + 0.2 * np.abs(np.sin(math.pi * 2 * t)))
    vowel = ((700.0, 130.0), (1200.0, 150.0), (2600.0, 250.0))
    return np.asarray(make.voiced(f0, vowel) * gain, dtype=np.float32)


def test_loud_fast_varied_voice_scores_high_arousal_and_quiet_flat_low() -> None:
    lively = analyse_audio(wav(synthetic_voice(True)))
    dull = analyse_audio(wav(synthetic_voice(False)))
    (hi,) = prosody(lively, [(0.0, lively.duration)])
    (lo,) = prosody(dull, [(0.0, dull.duration)])

    def mean(scores: dict[str, float], names: tuple[str, ...]) -> float:
        return sum(scores[n] for n in names) / len(names)

    assert mean(hi, HIGH_AROUSAL) > mean(hi, LOW_AROUSAL) + 0.2
    assert mean(lo, LOW_AROUSAL) > mean(lo, HIGH_AROUSAL) + 0.2
    assert hi["Excitement"] > lo["Excitement"] and lo["Tiredness"] > hi["Tiredness"]


def test_happy_speech_scores_more_excited_than_sad_speech() -> None:
    happy, sad = fixture("happy.wav"), fixture("sad.wav")
    (h,) = prosody(happy, [happy.speech[0]])
    s = prosody(sad, [sad.speech[-1]])[0]
    assert h["Excitement"] > s["Excitement"] and h["Joy"] > s["Joy"]
    assert s["Tiredness"] > h["Tiredness"] and s["Sadness"] > h["Sadness"]
    assert "Excitement" in top(h, 3) and set(top(s, 4)) & {"Sadness", "Tiredness", "Boredom"}


def test_prosody_scores_are_48_floats_in_label_order_for_any_span() -> None:
    analysis = fixture("two_voices.wav")
    wins = windows(analysis.duration)
    rows = prosody(analysis, [*wins, (1.0, 1.0), (5.9, 99.0)])
    assert len(rows) == len(wins) + 2
    for row in rows:
        assert list(row) == list(EXPRESSIONS)
        assert all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in row.values())
    assert prosody(analysis, []) == []


def test_windows() -> None:
    assert windows(5.5) == [(0.0, 4.0), (1.0, 5.0), (2.0, 5.5)]
    assert windows(3.0) == [(0.0, 3.0)]
    assert windows(2.0, length=0.5, step=0.75) == [(0.0, 0.5), (0.75, 1.25), (1.5, 2.0)]
    assert windows(0.0) == []
    with pytest.raises(ValueError, match="positive"):
        windows(3.0, step=0)


# --- bursts ------------------------------------------------------------------------------------


def test_a_laugh_is_a_laugh_like_burst() -> None:
    (burst,) = bursts(fixture("laugh.wav"))
    assert 0.3 < burst.begin < burst.end < 1.6
    assert list(burst.descriptions) == list(BURSTS) and list(burst.emotions) == list(EXPRESSIONS)
    assert set(top(burst.descriptions, 4)) <= LAUGHS
    assert "Amusement" in top(burst.emotions, 5)


def test_a_long_low_breathy_burst_is_a_sigh() -> None:
    (burst,) = bursts(fixture("sigh.wav"))
    assert top(burst.descriptions, 1)[0] in LOW_LONG
    assert not set(top(burst.descriptions, 8)) & LAUGHS
    (laugh,) = bursts(fixture("laugh.wav"))
    assert burst.descriptions["Sigh"] > laugh.descriptions["Sigh"] + 0.3
    assert laugh.descriptions["Laugh"] > burst.descriptions["Laugh"] + 0.3
    assert burst.emotions["Tiredness"] > laugh.emotions["Tiredness"]


@pytest.mark.parametrize("name", ["happy.wav", "two_voices.wav", "tone.wav", "silence.wav"])
def test_speech_tones_and_silence_have_no_bursts(name: str) -> None:
    assert bursts(fixture(name)) == []


def test_a_laugh_inside_speech_is_found() -> None:
    speech = decode_audio((AUDIO / "two_sentences.wav").read_bytes()).samples.numpy()
    laugh = decode_audio((AUDIO / "laugh.wav").read_bytes()).samples.numpy()
    analysis = analyse_audio(wav(np.concatenate([speech, laugh])))
    assert kinds(analysis) == ["speech", "speech", "nonspeech"]
    (burst,) = bursts(analysis)
    assert burst.begin > len(speech) / RATE and top(burst.descriptions, 1)[0] in LAUGHS


# --- determinism -------------------------------------------------------------------------------


def outputs(analysis: AudioAnalysis) -> tuple[object, ...]:
    spans_ = [(s.begin, s.end) for s in spans(analysis, "word")] + windows(analysis.duration)
    return (analysis.segments, analysis.speakers, analysis.transcript, prosody(analysis, spans_))


def test_same_bytes_and_seed_give_identical_results() -> None:
    data, text = (AUDIO / "two_voices.wav").read_bytes(), sidecar("two_voices")
    first = analyse_audio(data, transcript=text, seed=5)
    again = analyse_audio(data, transcript=text, seed=5)
    assert outputs(first) == outputs(again)
    alone = prosody(first, [(2.5, 4.0)])[0]
    assert prosody(first, [(0.0, 1.0), (2.5, 4.0), (3.0, 9.0)])[1] == alone  # batch-independent
    laugh = (AUDIO / "laugh.wav").read_bytes()
    assert bursts(analyse_audio(laugh, seed=5)) == bursts(analyse_audio(laugh, seed=5))


def test_another_seed_moves_scores_only_slightly() -> None:
    a, b = fixture("laugh.wav", seed=1), fixture("laugh.wav", seed=2)
    (ba,), (bb,) = bursts(a), bursts(b)
    diffs = [abs(ba.descriptions[k] - bb.descriptions[k]) for k in BURSTS]
    assert 0 < max(diffs) <= 0.05
    pa, pb = prosody(a, [(0.0, 2.0)])[0], prosody(b, [(0.0, 2.0)])[0]
    assert pa != pb and max(abs(pa[k] - pb[k]) for k in EXPRESSIONS) <= 0.05
    assert a.segments == b.segments
