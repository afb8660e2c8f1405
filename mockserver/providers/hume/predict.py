"""One file's predictions: which models apply, what they measure, in Hume's wire shapes.

Routing by what the bytes are (sniffed, never by name): images run ``face`` and ``facemesh``;
videos run those on sampled frames and, when they have an audio track, ``burst``, ``prosody``,
``language`` and ``ner`` on it; audio runs the last four; text runs ``language`` and ``ner``.
A file that no requested model can read gets one per-file error naming what was asked and what
that kind of file supports (a mixed job, e.g. face + language over images and texts, is normal
and reports nothing). [GUESS: Hume's exact wording is unknown; reference §7 shows only the
transcript-threshold message, which is reproduced verbatim.]

Transcripts: ``prosody`` (at word/sentence granularity), ``language`` and ``ner`` on speech
need one whose confidence reaches ``transcription.confidence_threshold`` (default 0.5). Audio
with a sidecar ``clip.txt`` has a confident transcript; audio without one gets the inference
engine's placeholder (confidence 0.3), so those models report
``transcript confidence (0.3) below threshold value (0.5)``, as the real service did for audio
it could not transcribe, unless the client lowers the threshold. Prosody at utterance or turn
granularity, or over sliding windows, needs no transcript (``text`` is then null).

All model work runs on the inference service's threads (media on the media thread, text heads
on the batcher), so this module only arranges inputs and outputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...engine.media import Blob
from ...inference import InferenceService
from ...inference.audio import (
    AudioAnalysis,
    AudioDecodeError,
    analyse_audio,
    bursts,
    prosody,
    spans,
    speaker_at,
    windows,
)
from ...inference.language import (
    EntityItem,
    LanguageItem,
    TextSpan,
    analyse_entities,
    analyse_language,
    text_spans,
    timed_spans,
)
from ...inference.vision import (
    Face,
    MediaDecodeError,
    analyse_image,
    analyse_video,
    face_descriptions,
    face_facs,
)

__all__ = ["Crop", "FileResult", "Job", "predict_file", "predict_text"]

_APPLIES: dict[str, tuple[str, ...]] = {
    "image": ("face", "facemesh"),
    "video_no_audio": ("face", "facemesh"),
    "video_with_audio": ("face", "facemesh", "burst", "prosody", "language", "ner"),
    "audio": ("burst", "prosody", "language", "ner"),
    "text": ("language", "ner"),
}
_AUDIO_MODELS = ("burst", "prosody", "language", "ner")
_MAX_TEXT_BYTES = 16 << 20


@dataclass(frozen=True)
class Job:
    """What a file's predictions depend on: the request's model configs and the seed."""

    models: Mapping[str, Mapping[str, Any]]
    transcription: Mapping[str, Any] | None
    seed: int
    service: InferenceService


@dataclass(frozen=True)
class Crop:
    """A face crop for the artifacts ZIP (``save_faces``)."""

    frame: int
    group: str
    png: bytes


@dataclass
class FileResult:
    """A file's prediction entry (None if nothing ran), its errors and face crops."""

    prediction: dict[str, Any] | None = None
    errors: list[str] = field(default_factory=list)
    crops: list[Crop] = field(default_factory=list)


def _scores(values: Mapping[str, float]) -> list[dict[str, Any]]:
    return [{"name": name, "score": float(score)} for name, score in values.items()]


def _interval(begin: float, end: float) -> dict[str, float]:
    return {"begin": float(begin), "end": float(end)}


def _block(groups: Mapping[str, list[dict[str, Any]]], metadata: Any = None) -> dict[str, Any]:
    return {
        "metadata": metadata,
        "grouped_predictions": [{"id": gid, "predictions": items} for gid, items in groups.items()],
    }


def _not_applicable(file_type: str, requested: Sequence[str]) -> str:
    supported = ", ".join(_APPLIES.get(file_type, ())) or "no model"
    kind = file_type.replace("_", " ")
    return (
        f"No requested model applies to this {kind} file: requested {', '.join(requested)};"
        f" {kind} files support {supported}."
    )


def predict_file(job: Job, blob: Blob, transcript: str | None = None) -> FileResult:
    """Run every requested model that applies to ``blob``."""
    requested = list(job.models)
    if blob.category == "text":
        if blob.size > _MAX_TEXT_BYTES:
            return FileResult(errors=[f"Text file too large ({blob.size} bytes) for language."])
        text = blob.read_bytes().decode("utf-8-sig", errors="replace")
        return predict_text(job, text)
    if blob.category == "image":
        return _image(job, blob, requested)
    if blob.category == "video":
        return _video(job, blob, requested, transcript)
    if blob.category == "audio":
        return _audio_file(job, blob, requested, transcript, "audio")
    return FileResult(
        errors=[
            f"Unsupported file type {blob.media_type!r}: Hume measures images, video, audio"
            " and text (.txt) files, or archives of them (.zip, .tar.gz, .tar.bz2, .tar.xz)."
        ]
    )


def predict_text(job: Job, text: str) -> FileResult:
    """``language`` and ``ner`` over raw text (``position`` offsets, ``time`` null)."""
    wanted = [m for m in ("language", "ner") if m in job.models]
    if not wanted:
        return FileResult(errors=[_not_applicable("text", list(job.models))])
    models: dict[str, Any] = {}
    if "language" in job.models:
        config = job.models["language"]
        text_items = job.service.call(
            lambda model: analyse_language(
                model,
                text_spans(text, config["granularity"]),
                sentiment=config["sentiment"] is not None,
                toxicity=config["toxicity"] is not None,
                seed=job.seed,
            )
        ).result()
        models["language"] = _block({"unknown": [_language_item(i, None) for i in text_items]})
    if "ner" in job.models:
        entities = job.service.call(
            lambda model: analyse_entities(model, text, None, seed=job.seed)
        ).result()
        models["ner"] = _block({"unknown": [_ner_item(e, None) for e in entities]})
    return FileResult({"file_type": "text", "models": models})


# --- vision -----------------------------------------------------------------------------------


def _face_item(
    face: Face, frame: int, time: float, config: Mapping[str, Any], seed: int
) -> dict[str, Any]:
    content = (frame, round(time, 3))
    facs = face_facs(face, seed, content) if config["facs"] is not None else None
    descriptions = (
        face_descriptions(face, seed, content) if config["descriptions"] is not None else None
    )
    return {
        "frame": frame,
        "time": float(time),
        "prob": float(face.prob),
        "box": {
            "x": float(face.box.x),
            "y": float(face.box.y),
            "w": float(face.box.w),
            "h": float(face.box.h),
        },
        "emotions": _scores(face.emotions),
        "facs": _scores(facs) if facs is not None else None,
        "descriptions": _scores(descriptions) if descriptions is not None else None,
    }


def _face_group(face: Face, config: Mapping[str, Any]) -> str:
    if config["identify_faces"] and face.track is not None:
        return f"face_{face.track}"
    return "unknown"


def _vision_models(
    job: Job, frames: Sequence[tuple[int, float, Sequence[Face]]], out: FileResult
) -> dict[str, Any]:
    models: dict[str, Any] = {}
    if "face" in job.models:
        config = job.models["face"]
        groups: dict[str, list[dict[str, Any]]] = {}
        for frame, time, faces in frames:
            for face in faces:
                gid = _face_group(face, config)
                groups.setdefault(gid, []).append(_face_item(face, frame, time, config, job.seed))
                if config["save_faces"] and face.crop is not None:
                    out.crops.append(Crop(frame, gid, face.crop))
        models["face"] = _block(groups)
    if "facemesh" in job.models:
        mesh = [{"emotions": _scores(f.emotions)} for _, _, faces in frames for f in faces]
        models["facemesh"] = _block({"unknown": mesh} if mesh else {})
    return models


def _face_options(job: Job) -> dict[str, Any]:
    config = job.models.get("face") or {}
    return {
        "min_face_size": int(config.get("min_face_size", 60)),
        "prob_threshold": float(config.get("prob_threshold", 0.99)),
        "seed": job.seed,
        "keep_crops": bool(config.get("save_faces", False)),
    }


def _image(job: Job, blob: Blob, requested: list[str]) -> FileResult:
    if not any(m in _APPLIES["image"] for m in requested):
        return FileResult(errors=[_not_applicable("image", requested)])
    try:
        faces = job.service.media(analyse_image, blob.read_bytes(), **_face_options(job)).result()
    except MediaDecodeError as exc:
        return FileResult(errors=[f"Unable to decode image: {exc}"])
    out = FileResult()
    out.prediction = {"file_type": "image", "models": _vision_models(job, [(0, 0.0, faces)], out)}
    return out


def _video(job: Job, blob: Blob, requested: list[str], transcript: str | None) -> FileResult:
    data = blob.read_bytes()
    video = None
    if any(m in ("face", "facemesh") for m in requested):
        fps = float((job.models.get("face") or {}).get("fps_pred", 3.0))
        try:
            video = job.service.media(
                analyse_video, data, fps_pred=fps, **_face_options(job)
            ).result()
        except MediaDecodeError as exc:
            return FileResult(errors=[f"Unable to decode video: {exc}"])
    out, heard = FileResult(), False
    if any(m in _AUDIO_MODELS for m in requested) and (video is None or video.has_audio):
        out = _audio_file(job, blob, requested, transcript, "video_with_audio", data=data)
        heard = out.prediction is not None or bool(out.errors)
    has_audio = video.has_audio if video is not None else heard
    file_type = "video_with_audio" if has_audio else "video_no_audio"
    if not any(m in _APPLIES[file_type] for m in requested):
        return FileResult(errors=[_not_applicable(file_type, requested)])
    models: dict[str, Any] = {}
    if video is not None:
        frames = [(f.frame, f.time, f.faces) for f in video.frames]
        models.update(_vision_models(job, frames, out))
    if out.prediction is not None:
        models.update(out.prediction["models"])
    out.prediction = {"file_type": file_type, "models": models}
    return out


# --- audio ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Heard:
    """What the media thread measured for one audio track (plain data, no tensors)."""

    analysis: AudioAnalysis
    bursts: list[dict[str, Any]]
    prosody: list[dict[str, Any]]
    prosody_error: str | None
    language_spans: list[tuple[TextSpan, int | None]]
    usable: bool
    threshold_error: str | None


def _threshold_error(job: Job, analysis: AudioAnalysis) -> str | None:
    """Why the transcript cannot be used (None when it can)."""
    if job.transcription is None:
        return (
            "Transcription is turned off (transcription: null); prosody at word or sentence"
            " granularity, language and ner need a transcript."
        )
    threshold = float(job.transcription["confidence_threshold"])
    confidence = round(float(analysis.transcript.confidence), 2)
    if not analysis.transcript.text or confidence < threshold:
        return f"transcript confidence ({confidence}) below threshold value ({threshold})"
    return None


def _speakers_on(job: Job, model: str) -> bool:
    config = job.models.get(model) or {}
    shared = bool(job.transcription and job.transcription.get("identify_speakers"))
    return bool(config.get("identify_speakers")) or shared


def _hear(job: Job, data: bytes, name: str, transcript: str | None, *, device: Any) -> _Heard:
    language = (job.transcription or {}).get("language")
    analysis = analyse_audio(
        data, name=name, transcript=transcript, seed=job.seed, device=device, language=language
    )
    problem = _threshold_error(job, analysis)
    usable = problem is None
    burst_items: list[dict[str, Any]] = []
    if "burst" in job.models:
        burst_items = [
            {
                "time": _interval(b.begin, b.end),
                "emotions": _scores(b.emotions),
                "descriptions": _scores(b.descriptions),
            }
            for b in bursts(analysis)
        ]
    prosody_items: list[dict[str, Any]] = []
    prosody_error = None
    if "prosody" in job.models:
        config = job.models["prosody"]
        if config["window"] is not None:
            window = config["window"]
            stretches: list[tuple[float, float, str | None]] = [
                (b, e, None)
                for b, e in windows(analysis.duration, window["length"], window["step"])
            ]
        elif config["granularity"] in ("word", "sentence") and not usable:
            stretches, prosody_error = [], problem
        else:
            stretches = [
                (s.begin, s.end, s.text or None) for s in spans(analysis, config["granularity"])
            ]
        scores = prosody(analysis, [(b, e) for b, e, _ in stretches]) if stretches else []
        who = _speakers_on(job, "prosody")
        for (begin, end, text), emotions in zip(stretches, scores, strict=True):
            speaker = speaker_at(analysis, begin, end) if who else None
            prosody_items.append(
                {
                    "text": text if usable else None,
                    "time": _interval(begin, end),
                    "confidence": float(analysis.transcript.confidence)
                    if usable and text
                    else None,
                    "speaker_confidence": _speaker_confidence(speaker) if who else None,
                    "emotions": _scores(emotions),
                    "_speaker": speaker,
                }
            )
    language_spans: list[tuple[TextSpan, int | None]] = []
    if "language" in job.models and usable:
        granularity = job.models["language"]["granularity"]
        for span in timed_spans(spans(analysis, granularity)):
            assert span.time is not None
            language_spans.append((span, speaker_at(analysis, *span.time)))
    return _Heard(
        analysis, burst_items, prosody_items, prosody_error, language_spans, usable, problem
    )


def _speaker_confidence(speaker: int | None) -> float | None:
    """A diarisation confidence: high for a clear speaker, absent when nobody is speaking."""
    return None if speaker is None else 0.9


def _grouped(items: list[dict[str, Any]], speakers: bool) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        speaker = item.pop("_speaker", None)
        gid = f"spk_{speaker}" if speakers and speaker is not None else "unknown"
        groups.setdefault(gid, []).append(item)
    return groups


def _audio_file(
    job: Job,
    blob: Blob,
    requested: list[str],
    transcript: str | None,
    file_type: str,
    *,
    data: bytes | None = None,
) -> FileResult:
    wanted = [m for m in requested if m in _AUDIO_MODELS]
    if not wanted:
        return FileResult(errors=[_not_applicable(file_type, requested)])
    try:
        heard = job.service.media(
            _hear, job, data if data is not None else blob.read_bytes(), blob.name, transcript
        ).result()
    except (AudioDecodeError, MediaDecodeError) as exc:
        if file_type == "audio":
            return FileResult(errors=[f"Unable to decode audio: {exc}"])
        return FileResult()  # a video whose audio track cannot be read: vision models only
    out = FileResult()
    meta = {
        "confidence": float(heard.analysis.transcript.confidence),
        "detected_language": heard.analysis.transcript.language,
    }
    models: dict[str, Any] = {}
    if "burst" in job.models:
        models["burst"] = _block({"unknown": heard.bursts} if heard.bursts else {})
    if "prosody" in job.models:
        if heard.prosody_error:
            out.errors.append(heard.prosody_error)
        else:
            groups = _grouped(heard.prosody, _speakers_on(job, "prosody"))
            models["prosody"] = _block(groups, meta if heard.usable else None)
    transcript_models = [m for m in ("language", "ner") if m in job.models]
    if transcript_models and not heard.usable:
        assert heard.threshold_error is not None
        if heard.threshold_error not in out.errors:
            out.errors.append(heard.threshold_error)
    elif transcript_models:
        models.update(_spoken_language(job, heard, meta))
    if models:
        out.prediction = {"file_type": file_type, "models": models}
    return out


def _spoken_language(job: Job, heard: _Heard, meta: dict[str, Any]) -> dict[str, Any]:
    models: dict[str, Any] = {}
    tr = heard.analysis.transcript
    if "language" in job.models:
        config = job.models["language"]
        spans_only = [s for s, _ in heard.language_spans]
        items = job.service.call(
            lambda model: analyse_language(
                model,
                spans_only,
                sentiment=config["sentiment"] is not None,
                toxicity=config["toxicity"] is not None,
                seed=job.seed,
            )
        ).result()
        who = _speakers_on(job, "language")
        wire = []
        for item, (_, speaker) in zip(items, heard.language_spans, strict=True):
            entry = _language_item(item, float(tr.confidence))
            entry["speaker_confidence"] = _speaker_confidence(speaker) if who else None
            entry["_speaker"] = speaker
            wire.append(entry)
        models["language"] = _block(_grouped(wire, who), meta)
    if "ner" in job.models:
        entities = job.service.call(
            lambda model: analyse_entities(model, tr.text, tr.words, seed=job.seed)
        ).result()
        who = _speakers_on(job, "ner")
        wire = []
        for entity in entities:
            entry = _ner_item(entity, float(tr.confidence))
            speaker = speaker_at(heard.analysis, *entity.span.time) if entity.span.time else None
            entry["speaker_confidence"] = _speaker_confidence(speaker) if who else None
            entry["_speaker"] = speaker
            wire.append(entry)
        models["ner"] = _block(_grouped(wire, who), meta)
    return models


def _language_item(item: LanguageItem, confidence: float | None) -> dict[str, Any]:
    span = item.span
    return {
        "text": span.text,
        "position": {"begin": span.begin, "end": span.end},
        "time": _interval(*span.time) if span.time else None,
        "confidence": confidence,
        "speaker_confidence": None,
        "emotions": _scores(item.emotions),
        "sentiment": _scores(item.sentiment) if item.sentiment is not None else None,
        "toxicity": _scores(item.toxicity) if item.toxicity is not None else None,
    }


def _ner_item(entity: EntityItem, confidence: float | None) -> dict[str, Any]:
    span = entity.span
    return {
        "entity": span.text,
        "position": {"begin": span.begin, "end": span.end},
        "entity_confidence": float(entity.confidence),
        "support": float(entity.support),
        "uri": entity.uri,
        "link_word": entity.link_word,
        "time": _interval(*span.time) if span.time else None,
        "confidence": confidence,
        "speaker_confidence": None,
        "emotions": _scores(entity.emotions),
    }
