"""Eden AI async audio builders: speech-to-text on the fixture clips, text-to-speech synthesis.

The builders are called directly with a real :class:`InferenceService` on the CPU; the
fixtures are described in ``fixtures/media/audio/README.md`` and ``fixtures/media/video/``.
"""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from mockserver.inference.audio import analyse_audio
from mockserver.inference.service import InferenceService
from mockserver.providers.edenai.features import builder
from mockserver.providers.edenai.features.audio import BUILDERS
from mockserver.providers.edenai.features.base import Call, FeatureError, Input, Output
from tests.eden_helpers import Sink, params

ROOT = Path(__file__).resolve().parent.parent
AUDIO = ROOT / "fixtures" / "media" / "audio"
VIDEO = ROOT / "fixtures" / "media" / "video"
STT = "audio/speech_to_text_async"
TTS = "audio/text_to_speech_async"
DIARIZING = ("amazon", "deepgram", "google", "assembly", "gladia", "faker")


@pytest.fixture(scope="module")
def service(inference: InferenceService) -> InferenceService:
    """The shared CPU service (``conftest.inference``), under this module's name for it."""
    return inference


def call(subfeature: str, provider: str, sink: Sink | None = None, **kw: Any) -> Call:
    seed = kw.pop("seed", 7)
    return Call(subfeature, provider, None, params(subfeature, **kw), seed, "job-1", sink or Sink())


def clip(name: str, *, sidecar: bool = True) -> Input:
    path = AUDIO / name
    text_path = path.with_suffix(".txt")
    text = text_path.read_text() if sidecar and text_path.exists() else None
    return Input(path.read_bytes(), "audio/wav", name, None, text)


def stt(service: InferenceService, provider: str, inp: Input, **kw: Any) -> Output:
    return BUILDERS[STT](call(STT, provider, **kw), inp, service)


def tts(service: InferenceService, provider: str, sink: Sink | None = None, **kw: Any) -> Output:
    return BUILDERS[TTS](call(TTS, provider, sink, **kw), Input(), service)


def decode(data: bytes) -> tuple[str, int, int]:
    """Codec name, sample rate and sample count of the first audio stream."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return stream.codec_context.name, stream.rate, samples


def words_of(text: str) -> list[str]:
    return text.split()


# --- speech to text ------------------------------------------------------------------------------


def test_builders_are_registered_under_their_paths() -> None:
    assert set(BUILDERS) == {STT, TTS}
    assert builder(STT) is BUILDERS[STT] and builder(TTS) is BUILDERS[TTS]


@pytest.mark.parametrize("provider", DIARIZING)
def test_two_voices_gives_the_sidecar_words_in_order_on_two_speakers(
    service: InferenceService, provider: str
) -> None:
    inp = clip("two_voices.wav")
    out = stt(service, provider, inp)
    sidecar = (AUDIO / "two_voices.txt").read_text().strip()
    assert out.fields["text"] == sidecar
    dia = out.fields["diarization"]
    entries = dia["entries"]
    assert [e["segment"].lower() for e in entries] == [
        w.lower().strip(".,?!") if provider == "deepgram" else w.lower() for w in words_of(sidecar)
    ]
    assert dia["total_speakers"] == 2 and dia["error_message"] is None
    speakers = [e["speaker"] for e in entries]
    b_turn = speakers[5:10]  # "I am fine, thank you."
    assert speakers[:5] == [1] * 5 and set(b_turn) == {2} and speakers[-3:] == [1] * 3


@pytest.mark.parametrize("provider", ("amazon", "deepgram", "generic"))
def test_times_are_increasing_strings_inside_the_clip(
    service: InferenceService, provider: str
) -> None:
    out = stt(service, "voci" if provider == "generic" else provider, clip("two_voices.wav"))
    entries = out.fields["diarization"]["entries"]
    starts = [float(e["start_time"]) for e in entries]
    ends = [float(e["end_time"]) for e in entries]
    assert all(isinstance(e["start_time"], str) for e in entries)
    assert starts == sorted(starts) and all(b < e for b, e in zip(starts, ends, strict=True))
    assert starts[0] >= 0 and ends[-1] <= out.extra["duration"] <= 6.3
    assert all(0.8 <= e["confidence"] <= 1.0 for e in entries)


def test_openai_whisper_has_no_diarization_but_verbose_json(service: InferenceService) -> None:
    out = stt(service, "openai", clip("two_voices.wav"))
    assert out.fields["diarization"] == {"total_speakers": 0, "entries": [], "error_message": None}
    original = out.original_response
    assert original["task"] == "transcribe" and original["language"] == "english"
    assert [w["word"] for w in original["words"]] == words_of(out.fields["text"])
    assert len(original["segments"]) == 3  # the three turns, split at the pauses


def test_native_responses_carry_the_same_words(service: InferenceService) -> None:
    inp = clip("two_sentences.wav")
    amazon = stt(service, "amazon", inp).original_response
    deepgram = stt(service, "deepgram", inp).original_response
    google = stt(service, "google", inp).original_response
    assembly = stt(service, "assembly", inp).original_response
    text = "The train leaves at nine. Please do not be late."
    assert amazon["status"] == "COMPLETED"
    assert amazon["results"]["transcripts"][0]["transcript"] == text
    spoken = [i["alternatives"][0]["content"] for i in amazon["results"]["items"]]
    assert " ".join(spoken).replace(" .", ".") == text
    alt = deepgram["results"]["channels"][0]["alternatives"][0]
    assert [w["punctuated_word"] for w in alt["words"]] == words_of(text)
    assert google["results"][0]["alternatives"][0]["transcript"] == text
    assert re.fullmatch(
        r"\d+(\.\d+)?s", google["results"][0]["alternatives"][0]["words"][0]["startTime"]
    )
    assert [w["text"] for w in assembly["words"]] == words_of(text)
    assert all(w["speaker"] == "A" for w in assembly["words"])


def test_silence_gives_empty_text(service: InferenceService) -> None:
    out = stt(service, "amazon", clip("silence.wav"))
    assert out.fields["text"] == ""
    assert out.fields["diarization"]["entries"] == []
    assert out.fields["diarization"]["total_speakers"] == 0
    assert out.cost > 0  # two seconds were still processed


def test_without_a_sidecar_the_placeholder_is_marked_and_unsure(
    service: InferenceService,
) -> None:
    out = stt(service, "google", clip("sad.mp3", sidecar=False))
    assert out.fields["text"].startswith("[mock transcript")
    assert out.extra["placeholder"] is True
    assert all(e["confidence"] < 0.5 for e in out.fields["diarization"]["entries"])


def test_compressed_formats_and_video_audio_are_read(service: InferenceService) -> None:
    m4a = stt(service, "deepgram", clip("two_sentences.m4a"))
    assert m4a.fields["text"] == "The train leaves at nine. Please do not be late."
    video = Input((VIDEO / "face_audio.mp4").read_bytes(), "video/mp4", "face_audio.mp4")
    out = stt(service, "amazon", video)
    assert out.fields["text"] == ""  # a steady 440 Hz tone: no speech
    assert 2.0 < out.extra["duration"] < 3.0 and out.cost > 0


@pytest.mark.parametrize(
    ("data", "media_type", "needle"),
    [
        (b"this is not audio at all" * 40, None, "could not be decoded"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wav", "could not be decoded"),
        (b"", None, "empty"),
        ((VIDEO / "face_moving.mp4").read_bytes(), "video/mp4", "no audio track"),
        ((ROOT / "fixtures" / "media" / "video" / "truth.json").read_bytes(), None, "decoded"),
    ],
)
def test_unreadable_input_is_a_feature_error(
    service: InferenceService, data: bytes, media_type: str | None, needle: str
) -> None:
    with pytest.raises(FeatureError) as err:
        stt(service, "amazon", Input(data, media_type, "upload.bin"))
    assert needle in err.value.message


def test_profanity_is_masked_and_vocabulary_respelled(service: InferenceService) -> None:
    inp = Input(
        (AUDIO / "two_sentences.wav").read_bytes(), "audio/wav", "x.wav", None,
        "The damn train leaves at nine. Please do not be late.",
    )  # fmt: skip
    out = stt(service, "google", inp, profanity_filter=True, custom_vocabulary="TRAIN, Nine")
    assert out.fields["text"] == "The d*** TRAIN leaves at Nine. Please do not be late."
    segments = [e["segment"] for e in out.fields["diarization"]["entries"]]
    assert segments[:5] == ["The", "d***", "TRAIN", "leaves", "at"] and segments[5] == "Nine."
    plain = stt(service, "google", inp)
    assert "damn" in plain.fields["text"]


def test_amazon_refuses_a_vocabulary_without_language(service: InferenceService) -> None:
    with pytest.raises(FeatureError, match="auto-detect"):
        stt(service, "amazon", clip("happy.wav"), custom_vocabulary="wonderful")
    out = stt(service, "amazon", clip("happy.wav"), custom_vocabulary="Wonderful", language="en")
    assert "Wonderful" in out.fields["text"]


def test_speakers_one_merges_the_voices_except_on_amazon(service: InferenceService) -> None:
    one = stt(service, "deepgram", clip("two_voices.wav"), speakers=1)
    assert one.fields["diarization"]["total_speakers"] == 1
    amazon = stt(service, "amazon", clip("two_voices.wav"), speakers=1)
    assert amazon.fields["diarization"]["total_speakers"] == 2  # Transcribe's minimum is 2


def test_stt_is_deterministic_json_and_varies_by_provider_and_seed(
    service: InferenceService,
) -> None:
    a = stt(service, "gladia", clip("happy.wav"))
    b = stt(service, "gladia", clip("happy.wav"))
    assert a == b
    json.dumps([a.fields, a.original_response, a.extra])
    other = stt(service, "voci", clip("happy.wav"))
    reseeded = stt(service, "gladia", clip("happy.wav"), seed=8)
    conf = [e["confidence"] for e in a.fields["diarization"]["entries"]]
    assert conf != [e["confidence"] for e in other.fields["diarization"]["entries"]]
    assert conf != [e["confidence"] for e in reseeded.fields["diarization"]["entries"]]
    assert a.fields["text"] == other.fields["text"] == reseeded.fields["text"]


def test_cost_is_price_per_minute_times_duration(service: InferenceService) -> None:
    out = stt(service, "amazon", clip("two_voices.wav"))
    assert out.cost == round(out.extra["duration"] / 60 * 0.024, 6) > 0


# --- text to speech ------------------------------------------------------------------------------


def test_tts_fields_file_and_format(service: InferenceService) -> None:
    sink = Sink()
    out = tts(service, "amazon", sink, text="Hello there. How are you today?")
    assert set(out.fields) == {"audio", "voice_type", "audio_resource_url"}
    assert out.fields["voice_type"] == 1
    ((name, (data, content_type)),) = sink.files.items()
    assert out.fields["audio_resource_url"].endswith(name) and name.endswith(".mp3")
    assert content_type == "audio/mpeg" and base64.b64decode(out.fields["audio"]) == data
    codec, rate, samples = decode(data)
    assert codec.startswith("mp3") and rate == 22050 and samples > rate
    assert out.original_response["VoiceId"] == "Joanna"
    assert out.original_response["RequestCharacters"] == len("Hello there. How are you today?")
    assert out.cost == round(31 * 4e-6, 6) > 0


@pytest.mark.parametrize(
    ("fmt", "codec", "content_type"),
    [
        ("wav", "pcm_s16le", "audio/wav"),
        ("ogg", "vorbis", "audio/ogg"),
        ("mp3", "mp3", "audio/mpeg"),
    ],
)
def test_tts_formats_decode_back(
    service: InferenceService, fmt: str, codec: str, content_type: str
) -> None:
    sink = Sink()
    tts(
        service, "amazon", sink, text="One format at a time.", audio_format=fmt, sampling_rate=16000
    )
    ((name, (data, ctype)),) = sink.files.items()
    assert name.endswith("." + fmt) and ctype == content_type
    got, rate, samples = decode(data)
    assert got.startswith(codec) and rate == 16000 and samples > 16000


def test_tts_sampling_rate_snaps_and_lovo_is_always_24k_wav(service: InferenceService) -> None:
    snapped = tts(service, "amazon", text="Snap.", sampling_rate=44100, audio_format="wav")
    assert snapped.extra["sample_rate"] == 24000
    sink = Sink()
    lovo = tts(service, "lovoai", sink, text="Lovo speaks.", audio_format="mp3")
    ((name, (data, _)),) = sink.files.items()
    assert name.endswith(".wav") and decode(data)[:2] == ("pcm_s16le", 24000)
    assert lovo.original_response["status"] == "done"


def test_tts_length_grows_with_text(service: InferenceService) -> None:
    def seconds(text: str) -> float:
        sink = Sink()
        tts(service, "amazon", sink, text=text, audio_format="wav")
        _, rate, samples = decode(next(iter(sink.files.values()))[0])
        return samples / rate

    short = seconds("Hello.")
    medium = seconds("Hello. This sentence is a good deal longer than the first one.")
    long = seconds("Hello. This sentence is a good deal longer than the first one. " * 3)
    assert short < medium < long and long > 2.5 * medium - 2


def test_tts_rate_changes_the_length(service: InferenceService) -> None:
    text = "Speaking quickly or slowly changes how long this takes."
    fast = tts(service, "amazon", text=text, audio_format="wav", rate=100)
    slow = tts(service, "amazon", text=text, audio_format="wav", rate=-50)
    assert fast.extra["bytes"] * 2 < slow.extra["bytes"]


def _median_pitch(data: bytes) -> float:
    analysis = analyse_audio(data)
    voiced = analysis.frames.voicing > 0.6
    return float(analysis.frames.f0[voiced].median())


def test_male_is_lower_than_female_and_pitch_moves_it(service: InferenceService) -> None:
    def pitch(**kw: Any) -> float:
        sink = Sink()
        tts(service, "amazon", sink, text="Where is the station, please?", **kw)
        return _median_pitch(next(iter(sink.files.values()))[0])

    male, female = pitch(option="MALE"), pitch(option="FEMALE")
    assert 90 < male < 140 and 180 < female < 260
    assert pitch(option="MALE", pitch=50) > male * 1.3


def test_our_audio_model_hears_speech_in_the_synthesis(service: InferenceService) -> None:
    """The honesty check: the sentences come back as speech segments, one per sentence."""
    sink = Sink()
    text = "The train leaves at nine. Please do not be late."
    tts(service, "amazon", sink, text=text, audio_format="wav", option="MALE")
    data = next(iter(sink.files.values()))[0]
    kinds = [s.kind for s in analyse_audio(data).segments if s.kind != "silence"]
    assert kinds == ["speech", "speech"]
    heard = stt(service, "deepgram", Input(data, "audio/wav", "tts.wav", None, text))
    assert heard.fields["text"] == text


def test_show_base_64_false_blanks_audio_but_keeps_the_file(service: InferenceService) -> None:
    sink = Sink()
    out = tts(service, "amazon", sink, text="No inline audio.", show_base_64=False)
    assert out.fields["audio"] == "" and len(sink.files) == 1
    assert out.fields["audio_resource_url"].startswith("http://mock.test/")


def test_tts_is_deterministic(service: InferenceService) -> None:
    for fmt in ("mp3", "ogg", "wav"):
        a, b = Sink(), Sink()
        first = tts(service, "amazon", a, text="Same words, same bytes.", audio_format=fmt)
        second = tts(service, "amazon", b, text="Same words, same bytes.", audio_format=fmt)
        assert first == second and a.files == b.files
    other = Sink()
    tts(service, "amazon", other, text="Same words, same bytes.", audio_format="wav", seed=9)
    assert other.files != b.files


def test_tts_rejects_blank_text(service: InferenceService) -> None:
    with pytest.raises(FeatureError):
        tts(service, "amazon", text="   ")


def test_tts_decodes_to_finite_samples_with_headroom(service: InferenceService) -> None:
    sink = Sink()
    tts(service, "amazon", sink, text="Loud and clear!", audio_format="wav", volume=100)
    with av.open(io.BytesIO(next(iter(sink.files.values()))[0])) as container:
        samples = np.concatenate([f.to_ndarray().ravel() for f in container.decode(audio=0)])
    peak = np.abs(samples.astype(np.float64)).max() / 32768
    assert np.isfinite(peak) and 0.5 < peak < 1.0  # -6 dBFS peak raised by +6 dB


def test_a_launchs_providers_share_one_analysis_of_the_file(service: InferenceService) -> None:
    """``features.base.analysed``: one run per content and arguments; failures are not kept."""
    from mockserver.providers.edenai.features.base import analysed, forget_analyses

    runs: list[tuple[bytes, int]] = []

    def measure(data: bytes, n: int, *, device: object = None) -> int:
        runs.append((data, n))
        if n < 0:
            raise ValueError("bad")
        return len(data) * n

    forget_analyses()
    assert [analysed(service, measure, b"abc", 2) for _ in range(13)] == [6] * 13
    assert analysed(service, measure, b"abd", 2) == 6 and analysed(service, measure, b"abc", 3) == 9
    assert runs == [(b"abc", 2), (b"abd", 2), (b"abc", 3)]
    for _ in range(2):
        with pytest.raises(ValueError):
            analysed(service, measure, b"abc", -1)
    assert len(runs) == 5
    for n in range(10):  # the oldest of more than eight are dropped
        analysed(service, measure, b"x", 10 + n)
    analysed(service, measure, b"abc", 2)
    assert runs[-1] == (b"abc", 2)
