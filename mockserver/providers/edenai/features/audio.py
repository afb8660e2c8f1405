"""Result builders for Eden AI's two async audio subfeatures: speech-to-text and text-to-speech.

``speech_to_text_async`` analyses the file with the shared audio model
(``inference.audio.analyse_audio``: speech segments, speakers, the sidecar text aligned word by
word; without a sidecar a marked low-confidence placeholder, never invented words) and answers
Eden's standard fields ``text`` and ``diarization {total_speakers, entries[{segment,
start_time, end_time, speaker, confidence}], error_message}`` (``../shared/reference/
edenai-async.md`` §4; ``edenai-apis`` ``SpeechToTextAsyncDataClass``). Entries are one per word,
``start_time``/``end_time`` strings in seconds and ``speaker`` counted from 1, as in Eden's
``speech_to_text_async_response.json`` example. Each provider hears the same words but formats
them its own way, as Eden's adapters pass them on (``edenai-apis`` ``apis/*/outputs/audio/
speech_to_text_async_output.json``): Amazon keeps punctuation on the word and three decimals,
Deepgram gives the bare lower-case word and long floats, OpenAI's Whisper has no diarization at
all (``total_speakers`` 0, no entries). ``original_response`` is the provider's native
document (Transcribe's transcript JSON, Deepgram's ``results.channels``, Google's
``LongRunningRecognize`` response, AssemblyAI's transcript, Whisper's ``verbose_json``; a
generic word list for the rest [GUESS]).

``text_to_speech_async`` synthesises the text (``inference.speech_synth``), encodes it as asked
and stores the file through ``Call.resources``: ``audio`` (base64, or ``""`` with
``show_base_64`` false [GUESS: the spec only says the flag defaults to true]), ``voice_type``
(Eden's Amazon and Lovo adapters always set 1 [SRC: ``edenai-apis`` ``amazon_audio_api.py``,
``lovoai_api.py``]) and ``audio_resource_url``.

Costs are public list prices per minute of audio or per character, taken from the providers'
price pages at the time of writing [GUESS: Eden's own mark-up and rounding are not public].
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ....inference.affect import jitter, seed_key
from ....inference.service import InferenceService
from .base import Builder, Call, FeatureError, Input, Output, analysed

if TYPE_CHECKING:
    from ....inference.audio import AudioAnalysis

__all__ = ["BUILDERS", "STT_PRICE_PER_MINUTE", "TTS_PRICE_PER_CHARACTER"]

# --- prices ------------------------------------------------------------------------------------

#: US dollars per minute of audio [GUESS: the providers' public pay-as-you-go prices; ``faker``
#: is Eden's free test provider].
STT_PRICE_PER_MINUTE: dict[str, float] = {
    "faker": 0.0,
    "assembly": 0.0062,
    "deepgram": 0.0043,
    "gladia": 0.0102,
    "microsoft": 0.0167,
    "oneai": 0.02,
    "symbl": 0.027,
    "voxist": 0.012,
    "google": 0.016,
    "voci": 0.02,
    "speechmatics": 0.0133,
    "amazon": 0.024,
    "openai": 0.006,
}
#: US dollars per character [GUESS: Polly standard $4 and neural $16 per million characters;
#: Lovo sells subscriptions, this is a per-character equivalent].
TTS_PRICE_PER_CHARACTER: dict[str, float] = {
    "amazon": 4e-6,
    "amazon/neural": 16e-6,
    "lovoai": 1.6e-4,
}
COST_DECIMALS = 6  # Eden's cost figures carry at most six decimals [GUESS]


def _cost(amount: float, price: float) -> float:
    return round(amount * price, COST_DECIMALS)


# --- speech to text ----------------------------------------------------------------------------

#: Words a profanity filter masks (Google's ``profanityFilter`` and Amazon's ``mask`` method
#: keep the first letter and star the rest: ``f***``) [GUESS: a short list; real filters use
#: large lists].
PROFANITY = frozenset(
    {"fuck", "fucking", "fucked", "shit", "bitch", "bastard", "asshole", "damn", "crap", "dick"}
)
_CORE = re.compile(r"^(\W*)(.*?)(\W*)$", re.DOTALL)


@dataclass(frozen=True)
class HeardWord:
    """One word as every provider hears it: text (filtered), time, speaker (1-based)."""

    text: str
    begin: float
    end: float
    speaker: int
    confidence: float

    @property
    def core(self) -> str:
        """The word without surrounding punctuation (``"today?"`` -> ``"today"``)."""
        return _split(self.text)[1] or self.text

    @property
    def punctuation(self) -> str:
        """Punctuation after the word (``"today?"`` -> ``"?"``)."""
        return _split(self.text)[2]


@dataclass(frozen=True)
class Heard:
    """What one provider returns for a clip, before formatting."""

    text: str
    words: list[HeardWord]
    duration: float
    confidence: float
    language: str | None
    placeholder: bool


def _split(word: str) -> tuple[str, str, str]:
    m = _CORE.match(word)
    assert m is not None  # the pattern matches any string
    return m.group(1), m.group(2), m.group(3)


def speech_to_text(call: Call, inp: Input, service: InferenceService) -> Output:
    """Transcribe and diarize ``inp`` the way ``call.provider`` would (module docstring)."""
    data = _audio_bytes(inp)
    speakers = int(call.params.get("speakers") or 2)
    if call.provider == "amazon":
        speakers = max(speakers, 2)  # Eden raises MaxSpeakerLabels below 2 for Transcribe [SRC]
    _check_vocabulary(call)
    analysis = analysed(
        service,
        _analyse,
        data,
        inp.filename or "",
        inp.sidecar,
        call.seed,
        speakers,
        call.params.get("language") or None,
        inp.media_type or "",
    )
    heard = _heard(call, analysis)
    fmt = _FORMATS.get(call.provider, _generic)
    fields, original = fmt(call, heard, data)
    price = STT_PRICE_PER_MINUTE.get(call.provider, 0.01)
    return Output(
        fields=fields,
        original_response=original,
        cost=_cost(heard.duration / 60, price),
        extra={
            "duration": heard.duration,
            "language": heard.language,
            "placeholder": heard.placeholder,
        },
    )


def _audio_bytes(inp: Input) -> bytes:
    if not inp.data:
        raise FeatureError("No audio was provided: the file is empty.")
    return inp.data


def _check_vocabulary(call: Call) -> None:
    """Transcribe needs a language for a custom vocabulary; Eden refuses auto-detect [SRC:
    ``edenai-apis`` ``amazon_audio_api.py``, the same message]."""
    if call.provider == "amazon" and _vocabulary(call) and not call.params.get("language"):
        raise FeatureError("Cannot launch with vocabulary when language is auto-detect.")


def _analyse(
    data: bytes,
    name: str,
    sidecar: str | None,
    seed: int,
    speakers: int,
    language: str | None,
    media_type: str,
    *,
    device: Any,
) -> AudioAnalysis:
    """Run the audio model on the media thread; any unreadable input becomes a FeatureError."""
    from ....inference.audio import AudioDecodeError, analyse_audio

    try:
        return analyse_audio(
            data,
            name=name,
            transcript=sidecar,
            seed=seed,
            device=device,
            max_speakers=speakers,
            language=language,
        )
    except AudioDecodeError as exc:
        raise FeatureError(_decode_message(str(exc), media_type), type="InvalidFile") from None
    except (ValueError, RuntimeError, IndexError) as exc:  # a degenerate clip (a few samples)
        reason = f"Audio file could not be processed: {exc}"
        raise FeatureError(reason, type="InvalidFile") from None


def _decode_message(reason: str, media_type: str) -> str:
    if "no audio stream" in reason and media_type.startswith("video/"):
        return "The video file has no audio track to transcribe."
    return f"Audio file could not be decoded: {reason}"


def _heard(call: Call, analysis: AudioAnalysis) -> Heard:
    """The analysis as words with speakers and per-provider seeded confidences."""
    from ....inference.audio import speaker_at

    tr = analysis.transcript
    words = tr.words
    key = seed_key(call.seed, analysis.digest, "edenai", call.provider)
    noise = jitter(key, max(len(words), 1)).tolist()
    fix = _word_fixer(call)
    out: list[HeardWord] = []
    for w, n in zip(words, noise, strict=False):
        who = speaker_at(analysis, w.begin, w.end)
        conf = tr.confidence + (0.015 * n if tr.placeholder else 0.02 * n - 0.01)
        out.append(HeardWord(fix(w.text), w.begin, w.end, (who or 0) + 1, _unit(conf)))
    text = _rebuild(tr.text, words, [w.text for w in out]).strip()  # a sidecar's final newline
    return Heard(text, out, analysis.duration, tr.confidence, tr.language, tr.placeholder)


def _unit(x: float) -> float:
    return round(min(max(x, 0.0), 1.0), 4)


def _rebuild(text: str, words: Sequence[Any], new: Sequence[str]) -> str:
    """``text`` with each word's characters replaced by its filtered form (spacing kept)."""
    parts: list[str] = []
    last = 0
    for w, replacement in zip(words, new, strict=True):
        parts += [text[last : w.char_begin], replacement]
        last = w.char_end
    return "".join(parts) + text[last:]


def _vocabulary(call: Call) -> list[str]:
    raw = call.params.get("custom_vocabulary") or ""
    items = raw if isinstance(raw, list) else str(raw).split(",")
    return [v.strip() for v in items if str(v).strip()]


def _word_fixer(call: Call) -> Callable[[str], str]:
    """Profanity masking and custom-vocabulary spelling, applied to one word's letters.

    A vocabulary entry matching a word case-insensitively gives its own spelling (``"eden ai"``
    phrases match word by word), the way a recogniser with a custom vocabulary prefers the
    listed form.
    """
    spelling = {p.lower(): p for v in _vocabulary(call) for p in v.split()}
    mask = bool(call.params.get("profanity_filter"))

    def fix(word: str) -> str:
        lead, core, tail = _split(word)
        if core.lower() in spelling:
            core = spelling[core.lower()]
        if mask and core.lower() in PROFANITY:
            core = core[0] + "*" * (len(core) - 1)
        return lead + core + tail

    return fix


def _seconds(t: float, digits: int) -> str:
    return str(round(t, digits))


def _diarization(heard: Heard, segment: Callable[[HeardWord], str], digits: int) -> dict[str, Any]:
    entries = [
        {
            "segment": segment(w),
            "start_time": _seconds(w.begin, digits),
            "end_time": _seconds(w.end, digits),
            "speaker": w.speaker,
            "confidence": w.confidence,
        }
        for w in heard.words
    ]
    total = len({w.speaker for w in heard.words})
    return {"total_speakers": total, "entries": entries, "error_message": None}


def _job_uuid(call: Call, *parts: str) -> str:
    """A provider-side id derived from the job (stable across runs, distinct per provider)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join((call.public_id, call.provider, *parts))))


Formatted = tuple[dict[str, Any], Any]


def _amazon(call: Call, heard: Heard, data: bytes) -> Formatted:
    """Transcribe's transcript document; Eden keeps punctuation on the word [SRC: amazon
    ``speech_to_text_async_output.json`` and the adapter appending punctuation items]."""
    items: list[dict[str, Any]] = []
    for w in heard.words:
        label = f"spk_{w.speaker - 1}"
        items.append(
            {
                "type": "pronunciation",
                "alternatives": [{"confidence": str(round(w.confidence, 3)), "content": w.core}],
                "start_time": _seconds(w.begin, 3),
                "end_time": _seconds(w.end, 3),
                "speaker_label": label,
            }
        )
        for mark in re.findall(r"[.,!?;:]", w.punctuation)[:1]:
            items.append(
                {
                    "type": "punctuation",
                    "alternatives": [{"confidence": "0.0", "content": mark}],
                    "speaker_label": label,
                }
            )
    original = {
        "jobName": _job_uuid(call, "job"),
        "accountId": str(int(hashlib.sha256(call.provider.encode()).hexdigest(), 16))[:12],
        "status": "COMPLETED",
        "results": {
            "transcripts": [{"transcript": heard.text}],
            "speaker_labels": {
                "segments": _amazon_segments(heard.words),
                "channel_label": "ch_0",
                "speakers": len({w.speaker for w in heard.words}),
            },
            "items": items,
        },
    }
    return _fields(heard.text, _diarization(heard, lambda w: w.text, 3)), original


def _amazon_segments(words: Sequence[HeardWord]) -> list[dict[str, Any]]:
    """Runs of consecutive words of one speaker, as Transcribe's ``speaker_labels.segments``."""
    out: list[dict[str, Any]] = []
    for w in words:
        label = f"spk_{w.speaker - 1}"
        item = {
            "speaker_label": label,
            "start_time": _seconds(w.begin, 3),
            "end_time": _seconds(w.end, 3),
        }
        if out and out[-1]["speaker_label"] == label:
            out[-1]["items"].append(item)
            out[-1]["end_time"] = item["end_time"]
        else:
            out.append(
                {
                    "start_time": item["start_time"],
                    "end_time": item["end_time"],
                    "speaker_label": label,
                    "items": [item],
                }
            )
    return out


def _deepgram(call: Call, heard: Heard, data: bytes) -> Formatted:
    """Deepgram's pre-recorded response; Eden passes the bare lower-case ``word`` [SRC:
    deepgram ``speech_to_text_async_output.json``]."""
    model = call.model or "nova-2"
    model_id = _job_uuid(call, "model", model)
    words = [
        {
            "word": w.core.lower(),
            "start": round(w.begin, 7),
            "end": round(w.end, 7),
            "confidence": w.confidence,
            "speaker": w.speaker - 1,
            "speaker_confidence": round(0.5 + w.confidence / 3, 7),
            "punctuated_word": w.text,
        }
        for w in heard.words
    ]
    original = {
        "metadata": {
            "transaction_key": "deprecated",
            "request_id": _job_uuid(call, "request"),
            "sha256": hashlib.sha256(data).hexdigest(),
            "duration": heard.duration,
            "channels": 1,
            "models": [model_id],
            "model_info": {
                model_id: {
                    "name": model,
                    "version": "2024-01-09.29447",
                    "arch": model.split("-")[0],
                }
            },
        },
        "results": {
            "channels": [
                {
                    "alternatives": [
                        {
                            "transcript": heard.text,
                            "confidence": heard.confidence,
                            "words": words,
                        }
                    ]
                }
            ]
        },
    }
    diarization = _diarization(heard, lambda w: w.core.lower(), 7)
    return _fields(heard.text, diarization), original


def _google(call: Call, heard: Heard, data: bytes) -> Formatted:
    """Speech-to-Text v1 ``LongRunningRecognize`` result with ``speakerTag`` on each word."""
    words = [
        {
            "startTime": f"{w.begin:.3f}s",
            "endTime": f"{w.end:.3f}s",
            "word": w.text,
            "confidence": w.confidence,
            "speakerTag": w.speaker,
        }
        for w in heard.words
    ]
    result = {
        "alternatives": [
            {"transcript": heard.text, "confidence": heard.confidence, "words": words}
        ],
        "resultEndTime": f"{heard.duration:.3f}s",
        "languageCode": (heard.language or "en-us").lower(),
    }
    original = {
        "results": [result] if heard.words else [],
        "totalBilledTime": f"{math.ceil(heard.duration)}s",
    }
    return _fields(heard.text, _diarization(heard, lambda w: w.text, 3)), original


def _assembly(call: Call, heard: Heard, data: bytes) -> Formatted:
    """AssemblyAI's transcript: times in milliseconds, speakers as letters ``A``, ``B``..."""
    words = [
        {
            "text": w.text,
            "start": round(w.begin * 1000),
            "end": round(w.end * 1000),
            "confidence": w.confidence,
            "speaker": chr(64 + w.speaker),
        }
        for w in heard.words
    ]
    original = {
        "id": _job_uuid(call, "transcript"),
        "status": "completed",
        "language_code": (heard.language or "en").replace("-", "_").lower(),
        "audio_duration": round(heard.duration),
        "text": heard.text,
        "confidence": heard.confidence,
        "words": words,
        "utterances": _utterances(words),
        "speaker_labels": True,
        "punctuate": True,
        "format_text": True,
    }
    return _fields(heard.text, _diarization(heard, lambda w: w.text, 3)), original


def _utterances(words: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive words of one speaker joined, as AssemblyAI's ``utterances``."""
    out: list[dict[str, Any]] = []
    for w in words:
        if out and out[-1]["speaker"] == w["speaker"]:
            out[-1]["words"].append(w)
        else:
            out.append({"speaker": w["speaker"], "words": [w]})
    return [
        {
            "speaker": u["speaker"],
            "text": " ".join(x["text"] for x in u["words"]),
            "start": u["words"][0]["start"],
            "end": u["words"][-1]["end"],
            "confidence": round(sum(x["confidence"] for x in u["words"]) / len(u["words"]), 4),
            "words": u["words"],
        }
        for u in out
    ]


_WHISPER_LANGUAGES = {
    "en": "english",
    "fr": "french",
    "de": "german",
    "es": "spanish",
    "it": "italian",
    "pt": "portuguese",
    "ru": "russian",
    "ja": "japanese",
    "zh": "chinese",
    "ko": "korean",
    "ar": "arabic",
    "he": "hebrew",
    "hi": "hindi",
    "el": "greek",
    "th": "thai",
    "ta": "tamil",
}


def _openai(call: Call, heard: Heard, data: bytes) -> Formatted:
    """Whisper's ``verbose_json``; Whisper does not diarize, so Eden reports no speakers
    [SRC: openai ``speech_to_text_async_output.json``: ``total_speakers`` 0, no entries]."""
    lang = (heard.language or "en").split("-")[0].lower()
    segments = [
        {
            "id": i,
            "seek": 0,
            "start": round(u[0].begin, 2),
            "end": round(u[-1].end, 2),
            "text": " " + " ".join(w.text for w in u),
            "temperature": 0.0,
            "avg_logprob": round(math.log(max(heard.confidence, 1e-3)), 4),
            "compression_ratio": 1.2,
            "no_speech_prob": round(1 - heard.confidence, 4),
        }
        for i, u in enumerate(_runs(heard.words))
    ]
    original = {
        "task": "transcribe",
        "language": _WHISPER_LANGUAGES.get(lang, lang),
        "duration": heard.duration,
        "text": heard.text,
        "segments": segments,
        "words": [
            {"word": w.text, "start": round(w.begin, 2), "end": round(w.end, 2)}
            for w in heard.words
        ],
    }
    diarization = {"total_speakers": 0, "entries": [], "error_message": None}
    return _fields(heard.text, diarization), original


def _runs(words: Sequence[HeardWord]) -> list[list[HeardWord]]:
    """Words split at pauses of 0.3 s or more (a stand-in for Whisper's segments)."""
    out: list[list[HeardWord]] = []
    for w in words:
        if out and w.begin - out[-1][-1].end < 0.3:
            out[-1].append(w)
        else:
            out.append([w])
    return out


def _generic(call: Call, heard: Heard, data: bytes) -> Formatted:
    """Any other provider: a plain word list [GUESS: each vendor's own format differs]."""
    original = {
        "id": _job_uuid(call, "job"),
        "status": "done",
        "transcript": heard.text,
        "language": heard.language,
        "duration": heard.duration,
        "words": [
            {
                "word": w.text,
                "start": round(w.begin, 3),
                "end": round(w.end, 3),
                "confidence": w.confidence,
                "speaker": w.speaker,
            }
            for w in heard.words
        ],
    }
    return _fields(heard.text, _diarization(heard, lambda w: w.text, 2)), original


def _fields(text: str, diarization: dict[str, Any]) -> dict[str, Any]:
    return {"text": text, "diarization": diarization}


_FORMATS: dict[str, Callable[[Call, Heard, bytes], Formatted]] = {
    "amazon": _amazon,
    "deepgram": _deepgram,
    "google": _google,
    "assembly": _assembly,
    "openai": _openai,
}


# --- text to speech ----------------------------------------------------------------------------

#: Amazon Polly voices Eden picks by language and gender [SRC for fr FEMALE ``Celine`` in
#: amazon ``text_to_speech_async_output.json``; the rest GUESS from Polly's voice list].
POLLY_VOICES: dict[str, tuple[str, str]] = {
    "en": ("Joanna", "Matthew"),
    "fr": ("Celine", "Mathieu"),
    "de": ("Vicki", "Hans"),
    "es": ("Lucia", "Enrique"),
    "it": ("Bianca", "Giorgio"),
    "pt": ("Vitoria", "Ricardo"),
    "ja": ("Mizuki", "Takumi"),
    "nl": ("Lotte", "Ruben"),
}
CONTENT_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav", "ogg": "audio/ogg"}
F0 = {"MALE": 110.0, "FEMALE": 210.0}
FORMANT_SCALE = {"MALE": 1.0, "FEMALE": 1.17}


@dataclass(frozen=True)
class Rendering:
    """How one provider renders a TTS request: format, rate and voice settings."""

    fmt: str
    sample_rate: int
    speed: float
    pitch: float  # f0 factor
    gain_db: float


def text_to_speech(call: Call, inp: Input, service: InferenceService) -> Output:
    """Synthesise ``params["text"]`` as ``call.provider`` would and store the file."""
    from ....inference.speech_synth import Voice, encode_audio, synthesise_chunks

    text = str(call.params.get("text") or "")
    if not text.strip():
        raise FeatureError("Text to synthesise is empty.", type="ProviderInvalidInputTextError")
    gender = _gender(call)
    how = _rendering(call)
    voice = Voice(F0[gender] * how.pitch, FORMANT_SCALE[gender], how.speed, how.gain_db)
    chunks = synthesise_chunks(text, voice, how.sample_rate, seed=call.seed)
    data = encode_audio(chunks, how.sample_rate, how.fmt)  # type: ignore[arg-type]
    name = f"{_job_uuid(call, 'audio')}.{how.fmt}"
    url = call.resources(name, data, CONTENT_TYPES[how.fmt])
    show = call.params.get("show_base_64", True) is not False
    fields = {
        "audio": base64.b64encode(data).decode("ascii") if show else "",
        "voice_type": 1,
        "audio_resource_url": url,
    }
    price_key = "amazon/neural" if _engine(call) == "neural" else call.provider
    price = TTS_PRICE_PER_CHARACTER.get(price_key, 1e-5)
    return Output(
        fields=fields,
        original_response=_tts_original(call, text, gender, how, url),
        cost=_cost(len(text), price),
        extra={"format": how.fmt, "sample_rate": how.sample_rate, "bytes": len(data)},
    )


def _gender(call: Call) -> str:
    option = str(call.params.get("option") or "FEMALE").upper()
    return option if option in F0 else "FEMALE"


def _engine(call: Call) -> str:
    return "neural" if call.provider == "amazon" and "neural" in (call.model or "") else "standard"


def _rendering(call: Call) -> Rendering:
    """Format, sample rate and prosody as each provider's adapter maps Eden's parameters.

    Amazon [SRC: ``edenai-apis`` ``amazon/helpers.py``]: the rate becomes SSML
    ``rate=(rate+100)%`` (Polly's floor is 20%), pitch ``pitch%``, volume ``volume*6/100`` dB;
    a requested sample rate snaps to 8000/16000/22050/24000; no rate means Polly's default
    (22050 Hz standard, 24000 Hz neural [GUESS from Polly's docs]). Lovo [SRC:
    ``lovoai_api.py``]: only the speed is sent (``rate`` rounded to tens, ``/200 + 1``); the
    answer is always a 24 kHz WAV (the header of Eden's Lovo example), whatever format, rate,
    pitch or volume was asked.
    """
    p = call.params
    rate, pitch, volume = (int(p.get(k) or 0) for k in ("rate", "pitch", "volume"))
    if call.provider == "lovoai":
        return Rendering("wav", 24_000, 10 * round(rate / 10) / 200 + 1, 1.0, 0.0)
    fmt = str(p.get("audio_format") or "mp3").lower()
    fmt = fmt if fmt in CONTENT_TYPES else "mp3"
    asked = int(p.get("sampling_rate") or 0)
    default = 24_000 if _engine(call) == "neural" else 22_050
    snapped = min((8000, 16000, 22050, 24000), key=lambda r: abs(r - asked))
    sample_rate = snapped if asked else default
    speed = max(0.2, (min(rate, 100) + 100) / 100)
    return Rendering(fmt, sample_rate, speed, max(0.5, 1 + pitch / 100), volume * 6 / 100)


def _tts_original(call: Call, text: str, gender: str, how: Rendering, url: str) -> dict[str, Any]:
    """Polly's ``SynthesisTask`` or Lovo's job document (Eden's examples, minus timestamps)."""
    if call.provider == "lovoai":
        speaker = hashlib.sha256(f"lovoai/{gender}/{_lang(call)}".encode()).hexdigest()
        job = hashlib.sha256(f"{call.public_id}/lovoai".encode()).hexdigest()[:24]
        return {
            "data": [
                {
                    "pronunciations": [],
                    "status": "succeeded",
                    "text": text,
                    "speaker": speaker[:24],
                    "speakerStyle": speaker[24:48],
                    "speed": how.speed,
                    "pause": [],
                    "emphasis": [],
                    "urls": [url],
                }
            ],
            "id": job,
            "type": "tts",
            "status": "done",
            "progress": 100,
            "team": hashlib.sha256(b"lovoai/team").hexdigest()[:24],
            "callbackUrls": [],
        }
    female, male = POLLY_VOICES.get(_lang(call), POLLY_VOICES["en"])
    ssml = any(int(call.params.get(k) or 0) for k in ("rate", "pitch", "volume"))
    return {
        "Engine": _engine(call),
        "TaskId": _job_uuid(call, "task"),
        "TaskStatus": "completed",
        "OutputUri": url,
        "RequestCharacters": len(text),
        "OutputFormat": {"mp3": "mp3", "ogg": "ogg_vorbis", "wav": "pcm"}[how.fmt],
        "SampleRate": str(how.sample_rate),
        "TextType": "ssml" if ssml else "text",
        "VoiceId": female if gender == "FEMALE" else male,
    }


def _lang(call: Call) -> str:
    return str(call.params.get("language") or "en").split("-")[0].lower()


BUILDERS: dict[str, Builder] = {
    "audio/speech_to_text_async": speech_to_text,
    "audio/text_to_speech_async": text_to_speech,
}
