"""A deterministic speech synthesiser: text in, voiced syllables out, encoded with PyAV.

No text-to-speech engine or voice model is installed, and none may be downloaded, yet a mock of
a TTS API should return audio that behaves like speech: its length follows the text, sentence
ends leave pauses, a male voice is lower than a female one, and our own audio model
(``inference.audio``) hears speech in it. So each word is split into syllables (vowel groups;
one per character for CJK; one per digit), and each syllable is a short noise onset for a
leading consonant followed by a voiced vowel: a harmonic source whose pitch follows a sentence
contour (declination, a stressed first syllable, a rise before ``?``) shaped by the vowel's
three formants (a source-filter model, computed additively). Syllable lengths vary with their
letters and a seeded jitter, so the rhythm is uneven the way speech is (the audio model calls
regular pulses laughter). Same text, voice, rate and seed give the same samples on any machine:
only numpy float64 arithmetic and a seeded ``numpy.random.Generator`` are involved.

Sentences are rendered one at a time (:func:`synthesise_chunks`) so a 100,000-character text
never needs its whole waveform in memory; :func:`encode_audio` consumes the chunks.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import av
import numpy as np

__all__ = [
    "AudioFormat",
    "Syllable",
    "Voice",
    "encode_audio",
    "synthesise",
    "synthesise_chunks",
    "syllables",
]

AudioFormat = Literal["mp3", "wav", "ogg"]

#: F1-F3 in Hz of an adult male voice (Peterson & Barney 1952 averages, rounded); a female
#: voice scales them by :attr:`Voice.formant_scale`.
FORMANTS: dict[str, tuple[float, float, float]] = {
    "a": (730.0, 1090.0, 2440.0),
    "e": (530.0, 1840.0, 2480.0),
    "i": (270.0, 2290.0, 3010.0),
    "o": (570.0, 840.0, 2410.0),
    "u": (300.0, 870.0, 2240.0),
}
BANDWIDTHS = (90.0, 110.0, 170.0)
VOWEL_GROUP = re.compile(r"[aeiouyàáâãäåæèéêëìíîïòóôõöøùúûüýÿœ]+", re.IGNORECASE)
TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|[.!?…。！？]+|[,;:—–、，；：]")
SENTENCE_END = re.compile(r"^[.!?…。！？]+$")
WORD_GAP_S = 0.035
CLAUSE_PAUSE_S = 0.22  # under the audio model's 0.3 s bridge: a comma stays inside an utterance
SENTENCE_PAUSE_S = 0.5  # over it: each sentence is its own speech segment
EDGE_S = 0.15
PEAK = 0.5  # -6 dBFS before the volume gain


@dataclass(frozen=True)
class Voice:
    """How to speak: pitch, vocal-tract size, speed and level."""

    #: Mean fundamental frequency in Hz (a male voice ~110, a female one ~210).
    f0: float
    #: Formant frequencies relative to the male table (~1.17 for a female voice).
    formant_scale: float = 1.0
    #: Speaking rate relative to normal (2.0 is twice as fast).
    speed: float = 1.0
    #: Level change in dB applied after normalising the peak to -6 dBFS.
    gain_db: float = 0.0


@dataclass(frozen=True)
class Syllable:
    """One syllable to voice: its vowel (a :data:`FORMANTS` key) and how to shape it."""

    vowel: str
    letters: float  # letters this syllable stands for (its share of the word)
    onset: bool  # starts with a consonant: a short noise burst precedes the vowel
    stressed: bool


def syllables(word: str) -> list[Syllable]:
    """The syllables of one word: vowel groups for alphabetic scripts, one per CJK character.

    Digits count one syllable each (a rough "one two three"); a word with letters but no vowel
    letter ("hmm", "Ψ") still gets one.
    """
    if any(_is_cjk(ch) for ch in word):
        return [Syllable("a", 1.0, True, i == 0) for i, _ in enumerate(word)]
    if word.isdigit():
        return [Syllable("i", 2.0, True, i == 0) for i, _ in enumerate(word)]
    groups = list(VOWEL_GROUP.finditer(word))
    if not groups:
        n = max(1, round(len(word) / 3))
        return [Syllable("a", len(word) / n, True, i == 0) for i in range(n)]
    share = len(word) / len(groups)
    return [
        Syllable(_vowel(g.group()), share, i > 0 or g.start() > 0, i == 0)
        for i, g in enumerate(groups)
    ]


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return 0x3040 <= code <= 0x30FF or 0x3400 <= code <= 0x9FFF or 0xAC00 <= code <= 0xD7AF


def _vowel(group: str) -> str:
    """The formant table key for a vowel group: its first plain vowel letter, ``y`` as ``i``."""
    for ch in group.lower():
        base = {"y": "i", "æ": "a", "œ": "e", "ø": "o"}.get(ch, ch)
        if base in FORMANTS:
            return base
    plain = _strip_accent(group[0].lower())
    return plain if plain in FORMANTS else "a"


def _strip_accent(ch: str) -> str:
    return unicodedata.normalize("NFKD", ch)[0]


def _sentences(text: str) -> list[list[str]]:
    """Tokens grouped into sentences; each sentence keeps its punctuation tokens."""
    out: list[list[str]] = [[]]
    for m in TOKEN.finditer(text):
        out[-1].append(m.group())
        if SENTENCE_END.match(m.group()):
            out.append([])
    return [s for s in out if any(not _is_punct(t) for t in s)]


def _is_punct(token: str) -> bool:
    return not any(ch.isalnum() for ch in token)


def synthesise_chunks(
    text: str, voice: Voice, sample_rate: int, *, seed: int = 0
) -> Iterator[np.ndarray]:
    """Float32 mono chunks (one per sentence, then the closing silence) that speak ``text``.

    The first chunk starts with :data:`EDGE_S` of silence; text without any word gives only
    the two edges (a valid, silent clip). ``seed`` moves the small timing and pitch jitter.
    """
    key = hashlib.blake2b(repr((seed, text)).encode(), digest_size=8).digest()
    rng = np.random.default_rng(int.from_bytes(key, "big"))
    speed = max(voice.speed, 0.1)
    gain = PEAK * 10 ** (voice.gain_db / 20)
    lead = np.zeros(int(EDGE_S * sample_rate), dtype=np.float32)
    for tokens in _sentences(text):
        chunk = _sentence(tokens, voice, speed, sample_rate, rng) * gain
        yield np.concatenate([lead, np.clip(chunk, -1.0, 1.0).astype(np.float32)])
        lead = np.zeros(0, dtype=np.float32)
    yield np.concatenate([lead, np.zeros(int(EDGE_S * sample_rate), dtype=np.float32)])


def synthesise(text: str, voice: Voice, sample_rate: int, *, seed: int = 0) -> np.ndarray:
    """The whole clip of :func:`synthesise_chunks` as one float32 array."""
    return np.concatenate(list(synthesise_chunks(text, voice, sample_rate, seed=seed)))


def _sentence(
    tokens: list[str], voice: Voice, speed: float, rate: int, rng: np.random.Generator
) -> np.ndarray:
    """One sentence: its syllables with the pauses its punctuation asks for, then its pause."""
    words = [t for t in tokens if not _is_punct(t)]
    question = any("?" in t or "？" in t for t in tokens)
    total = sum(len(syllables(w)) for w in words)
    parts: list[np.ndarray] = []
    done = 0
    for token in tokens:
        if _is_punct(token):
            pause = SENTENCE_PAUSE_S if SENTENCE_END.match(token) else CLAUSE_PAUSE_S
            parts.append(np.zeros(int(pause / speed * rate)))
            continue
        for syl in syllables(token):
            progress = done / max(total - 1, 1)
            final = done == total - 1
            parts.append(_syllable(syl, voice, speed, rate, rng, progress, question, final))
            done += 1
        gap = WORD_GAP_S * rng.uniform(0.5, 2.0) if rng.uniform() < 0.5 else 0.0
        parts.append(np.zeros(int(gap / speed * rate)))
    if not tokens or not SENTENCE_END.match(tokens[-1]):
        parts.append(np.zeros(int(SENTENCE_PAUSE_S / speed * rate)))
    return np.concatenate(parts) if parts else np.zeros(0)


def _syllable(
    syl: Syllable,
    voice: Voice,
    speed: float,
    rate: int,
    rng: np.random.Generator,
    progress: float,
    question: bool,
    final: bool,
) -> np.ndarray:
    """A noise onset (for a leading consonant) and a voiced, formant-shaped vowel.

    Lengths spread log-normally and the sentence's last syllable is drawn out (phrase-final
    lengthening), so the syllable rate never settles into the steady beat of laughter.
    """
    spread = float(np.clip(np.exp(0.35 * rng.standard_normal()), 0.6, 1.8))
    length = min(0.12 + 0.035 * syl.letters, 0.34) * spread * (1.6 if final else 1.0) / speed
    contour = 1.08 - 0.16 * progress  # declination over the sentence
    if question and progress > 0.75:
        contour += 0.6 * (progress - 0.75)
    f0 = voice.f0 * contour * (1.07 if syl.stressed else 1.0) * (1 + 0.02 * rng.uniform(-1, 1))
    vowel = _vowel_wave(syl.vowel, f0, length, voice.formant_scale, rate)
    vowel *= (1.0 if syl.stressed else 0.72) * (1 - 0.3 * rng.uniform(0, 1))
    if not syl.onset:
        return vowel
    burst = rng.standard_normal(int(0.045 / speed * rate))
    burst = np.diff(burst, prepend=0.0) * 0.05 * np.hanning(len(burst))
    return np.concatenate([burst, vowel])


def _vowel_wave(vowel: str, f0: float, length: float, scale: float, rate: int) -> np.ndarray:
    """``length`` seconds of a vowel: harmonics of a gently falling pitch through formants."""
    n = max(int(length * rate), 16)
    track = f0 * np.linspace(1.03, 0.96, n)
    phase = 2 * np.pi * np.cumsum(track) / rate
    top = min(4500.0, rate / 2 - 300)
    k = np.arange(1, max(2, int(top / (f0 * 1.03))) + 1, dtype=np.float64)
    amp = _formant_gain(k * f0, [f * scale for f in FORMANTS[vowel]]) / k
    wave = amp @ np.sin(np.outer(k, phase))
    attack, release = min(int(0.02 * rate), n // 3), min(int(0.05 * rate), n // 3)
    env = np.ones(n)
    env[:attack] = np.sin(np.linspace(0, np.pi / 2, attack)) ** 2
    env[n - release :] = np.cos(np.linspace(0, np.pi / 2, release)) ** 2
    peak = float(np.abs(wave).max()) or 1.0
    result: np.ndarray = wave / peak * env
    return result


def _formant_gain(freqs: np.ndarray, formants: list[float]) -> np.ndarray:
    """Magnitude of a cascade of two-pole resonators (unit gain at 0 Hz) at ``freqs``."""
    gain = np.ones_like(freqs)
    for f, bw in zip(formants, BANDWIDTHS, strict=True):
        gain *= f * f / np.sqrt((f * f - freqs**2) ** 2 + (bw * freqs) ** 2)
    return gain


# --- encoding ----------------------------------------------------------------------------------

#: container, codec, sample format the codec takes, channel layout. FFmpeg's own Vorbis
#: encoder (libvorbis is not in PyAV's FFmpeg build) is "experimental" and only encodes two
#: channels, so Ogg Vorbis carries the mono voice on both; MP3 is libmp3lame.
_CODECS: dict[str, tuple[str, str, str, str]] = {
    "mp3": ("mp3", "libmp3lame", "fltp", "mono"),
    "wav": ("wav", "pcm_s16le", "s16", "mono"),
    "ogg": ("ogg", "vorbis", "fltp", "stereo"),
}
MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)


def encode_audio(chunks: Iterable[np.ndarray], sample_rate: int, fmt: AudioFormat) -> bytes:
    """Encode float32 mono ``chunks`` as ``fmt``, byte for byte reproducibly (``+bitexact``).

    MP3 takes only the MPEG sample rates (:data:`MP3_RATES`); a caller asking for another
    gets a ``ValueError``. Bit rate: 48 kbit/s up to 24 kHz, 128 kbit/s above (the MP3 Amazon
    Polly returns is 48 kbit/s at 22.05 kHz [GUESS from its files' headers]).
    """
    container, codec, sample_fmt, layout = _CODECS[fmt]
    if fmt == "mp3" and sample_rate not in MP3_RATES:
        raise ValueError(f"MP3 cannot carry {sample_rate} Hz; use one of {MP3_RATES}")
    buf = io.BytesIO()
    with av.open(buf, "w", format=container, options={"fflags": "+bitexact"}) as out:
        stream = out.add_stream(codec, rate=sample_rate, layout=layout)
        options = {"flags": "+bitexact"}
        if codec == "vorbis":
            options["strict"] = "experimental"
        stream.options = options
        if fmt == "mp3":
            stream.bit_rate = 48_000 if sample_rate <= 24_000 else 128_000
        pts = 0
        for frame in _frames(chunks, sample_rate, sample_fmt, layout):
            frame.pts = pts
            pts += frame.samples
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return buf.getvalue()


def _frames(
    chunks: Iterable[np.ndarray], rate: int, sample_fmt: str, layout: str
) -> Iterator[av.AudioFrame]:
    """Fixed 1152-sample frames (an MP3 frame) in the codec's sample format and layout."""
    step = 1152
    held = np.zeros(0, dtype=np.float32)
    for chunk in chunks:
        held = np.concatenate([held, np.asarray(chunk, dtype=np.float32)])
        while len(held) >= step:
            yield _frame(held[:step], rate, sample_fmt, layout)
            held = held[step:]
    if len(held):
        yield _frame(held, rate, sample_fmt, layout)


def _frame(samples: np.ndarray, rate: int, sample_fmt: str, layout: str) -> av.AudioFrame:
    channels = 2 if layout == "stereo" else 1
    if sample_fmt == "s16":
        data = (np.clip(samples, -1.0, 1.0) * 32767).round().astype(np.int16)[None]
        data = np.repeat(data, channels, axis=1) if channels > 1 else data  # packed
    else:  # planar float
        data = np.repeat(samples[None], channels, axis=0)
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format=sample_fmt, layout=layout)
    frame.sample_rate = rate
    frame.time_base = Fraction(1, rate)
    return frame
