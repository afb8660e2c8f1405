"""Analyse images and videos as Hume's face model does: boxes, probabilities, 48 expressions.

Entry points for the Hume provider (reference ``hume-batch.md`` §4 face config, §7 face
items). Everything is computed from the pixels, not drawn at random: moving a face moves its
box, a smile raises Joy and a frown Sadness. The pipeline:

- :mod:`vision_decode`: Pillow for still images (EXIF orientation, decompression-bomb guard),
  PyAV for video, sampled at ``fps_pred`` frames per second;
- :mod:`faces` (grid masks and blob labelling in :mod:`vision_blobs`): skin-tone blobs checked
  for a face's shape and features (a heuristic, not a learned detector; its docstring lists
  the limits), with ``prob`` from those checks;
- :mod:`vision_expr`: mouth curvature and openness, eye openness -> valence/arousal -> the 48
  labels through :func:`affect.affect_scores`;
- :mod:`vision_track`: stable ``face_N`` numbers across video frames;
- :mod:`face_codes`: FACS action units and descriptions from the same measures, for the
  ``facs`` and ``descriptions`` options (:func:`face_facs`, :func:`face_descriptions`), and
  ``keep_crops`` for ``save_faces``: the face box cut out as a PNG (reference §4, §7.1, §9).

Cost: about 14 ms for a 640x480 JPEG with one face on one busy 2 GHz core (decode 3 ms),
every tensor operation small enough to stay single-threaded. Same bytes, same options and
same seed give bit-identical results on one device. The seed and
a digest of the bytes only steer the small per-face jitter of :func:`affect.affect_scores`.
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass, replace

import torch
from PIL import Image as PILImage

from .affect import seed_key
from .face_codes import description_scores, facs_scores
from .faces import Box, detect_faces
from .vision_decode import (
    MAX_SAMPLED_FRAMES,
    MAX_VIDEO_SECONDS,
    Image,
    ImageDecodeError,
    MediaDecodeError,
    VideoDecodeError,
    decode_image,
    video_frames,
)
from .vision_expr import FaceMeasures, measure_face, measured_scores
from .vision_track import FaceTracker

__all__ = [
    "DEFAULT_FPS_PRED",
    "DEFAULT_MIN_FACE_SIZE",
    "DEFAULT_PROB_THRESHOLD",
    "MAX_CROP_SIDE",
    "Box",
    "Face",
    "FrameFaces",
    "ImageDecodeError",
    "MediaDecodeError",
    "VideoAnalysis",
    "VideoDecodeError",
    "analyse_frame",
    "analyse_image",
    "analyse_video",
    "decode_image",
    "face_crop_png",
    "face_descriptions",
    "face_facs",
    "video_frames",
]

#: Hume's face-config defaults (reference §4).
DEFAULT_FPS_PRED = 3.0
DEFAULT_PROB_THRESHOLD = 0.99
DEFAULT_MIN_FACE_SIZE = 60
#: A saved face crop's longest side, in pixels, at most (``save_faces``; our choice [GUESS]).
MAX_CROP_SIDE = 256


@dataclass(frozen=True)
class Face:
    """One face: pixel box, detection probability, 48 scores in label order, track number.

    ``track`` is the ``N`` of Hume's ``face_N``: stable across a video's frames, the face's
    index (left to right) in an image. Whether to show it or ``unknown`` is the caller's call
    (``identify_faces``). ``measures`` are what the scores were read from (they feed
    :func:`face_facs` and :func:`face_descriptions`); ``crop`` is the box as PNG bytes, only
    when the analysis was asked to ``keep_crops`` (``save_faces``).
    """

    box: Box
    prob: float
    emotions: dict[str, float]
    track: int | None = None
    measures: FaceMeasures | None = None
    crop: bytes | None = None


@dataclass(frozen=True)
class FrameFaces:
    """The faces of one sampled video frame (possibly none)."""

    frame: int
    time: float
    faces: list[Face]


@dataclass(frozen=True)
class VideoAnalysis:
    """Faces per sampled frame, plus what the container says about the video."""

    frames: list[FrameFaces]
    duration: float
    fps: float
    has_audio: bool
    width: int
    height: int
    truncated: bool = False

    @property
    def file_type(self) -> str:
        """Hume's ``file_type``: ``video_with_audio`` or ``video_no_audio`` (reference §7)."""
        return "video_with_audio" if self.has_audio else "video_no_audio"


def _check_options(min_face_size: int, prob_threshold: float) -> None:
    """Reject options Hume's config could not mean, with the value in the message."""
    if min_face_size < 0:
        raise ValueError(f"min_face_size must be >= 0 pixels, got {min_face_size!r}")
    if not (math.isfinite(prob_threshold) and 0.0 <= prob_threshold <= 1.0):
        raise ValueError(f"prob_threshold must be within [0, 1], got {prob_threshold!r}")


def face_facs(face: Face, seed: int = 0, content: object = "") -> dict[str, float] | None:
    """The face's FACS scores (:data:`labels.FACS` order, [GUESS] set), or None if unmeasured.

    The jitter key comes from the seed, ``content`` (e.g. a file digest and frame, as the
    expressions use) and the face's box and measures, so it is the same on every call.
    """
    if face.measures is None:
        return None
    return facs_scores(face.measures, _code_key(face, seed, "facs", content))


def face_descriptions(face: Face, seed: int = 0, content: object = "") -> dict[str, float] | None:
    """The face's description scores (:data:`labels.FACE_DESCRIPTIONS`), or None if unmeasured."""
    if face.measures is None:
        return None
    return description_scores(face.measures, _code_key(face, seed, "descriptions", content))


def _code_key(face: Face, seed: int, kind: str, content: object) -> int:
    """A jitter key for one face's ``kind`` of codes (see :func:`face_facs`)."""
    b = face.box
    return seed_key(seed, kind, content, round(b.x), round(b.y), round(b.w), face.measures)


def face_crop_png(image: Image, box: Box, max_side: int = MAX_CROP_SIDE) -> bytes | None:
    """The box, clamped to the image, as PNG bytes with its longest side <= ``max_side``.

    Cut from the full-resolution pixels; None when nothing of the box lies inside the image.
    """
    x0, y0 = max(0, math.floor(box.x)), max(0, math.floor(box.y))
    x1 = min(image.width, math.ceil(box.x + box.w))
    y1 = min(image.height, math.ceil(box.y + box.h))
    if x1 <= x0 or y1 <= y0:
        return None
    region = image.pixels[y0:y1, x0:x1].cpu().contiguous().numpy()
    picture = PILImage.fromarray(region)  # HxWx3 uint8: RGB
    scale = max_side / max(picture.width, picture.height)
    if scale < 1:
        size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
        picture = picture.resize(size, PILImage.Resampling.LANCZOS)
    buf = io.BytesIO()
    picture.save(buf, "PNG")
    return buf.getvalue()


def _digest(data: bytes) -> str:
    """A short content digest: keys the jitter to the file, not to its name or upload."""
    return hashlib.blake2b(data, digest_size=8).hexdigest()


@torch.inference_mode()
def analyse_frame(
    image: Image,
    *,
    min_face_size: int = DEFAULT_MIN_FACE_SIZE,
    prob_threshold: float = DEFAULT_PROB_THRESHOLD,
    seed: int = 0,
    content: object = "",
    device: torch.device | str = "cpu",
    keep_crops: bool = False,
) -> list[Face]:
    """Faces of one decoded picture with ``prob >= prob_threshold``, left to right.

    ``content`` (a digest of the source and the frame number) keys the score jitter, so two
    identical faces in different files or frames do not get identical rows. ``keep_crops``
    adds each face's PNG crop (:func:`face_crop_png`).
    """
    _check_options(min_face_size, prob_threshold)
    found = detect_faces(image, min_face_size=min_face_size, device=device)
    kept = [d for d in found if d.prob >= prob_threshold]
    keys = [
        seed_key(seed, "face", content, round(d.box.x), round(d.box.y), round(d.box.w))
        for d in kept
    ]
    measures = [measure_face(d.crop) for d in kept]
    emotions = measured_scores(measures, keys, device)
    return [
        Face(d.box, d.prob, e, measures=m, crop=face_crop_png(image, d.box) if keep_crops else None)
        for d, e, m in zip(kept, emotions, measures, strict=True)
    ]


def analyse_image(
    data: bytes,
    *,
    min_face_size: int = DEFAULT_MIN_FACE_SIZE,
    prob_threshold: float = DEFAULT_PROB_THRESHOLD,
    seed: int = 0,
    device: torch.device | str = "cpu",
    keep_crops: bool = False,
) -> list[Face]:
    """Decode an image and return its faces (frame 0, time 0 in Hume's output).

    Raises :class:`ImageDecodeError` (a ``ValueError``) for bytes that are not an image.
    """
    faces = analyse_frame(
        decode_image(data),
        min_face_size=min_face_size,
        prob_threshold=prob_threshold,
        seed=seed,
        content=(_digest(data), 0),
        device=device,
        keep_crops=keep_crops,
    )
    return [replace(face, track=i) for i, face in enumerate(faces)]


def analyse_video(
    data: bytes,
    *,
    fps_pred: float = DEFAULT_FPS_PRED,
    min_face_size: int = DEFAULT_MIN_FACE_SIZE,
    prob_threshold: float = DEFAULT_PROB_THRESHOLD,
    seed: int = 0,
    device: torch.device | str = "cpu",
    max_seconds: float = MAX_VIDEO_SECONDS,
    max_frames: int = MAX_SAMPLED_FRAMES,
    keep_crops: bool = False,
) -> VideoAnalysis:
    """Sample a video at ``fps_pred`` (0 = every frame) and find and track faces in each frame.

    Work is capped at ``max_seconds`` of media and ``max_frames`` sampled frames (``truncated``
    says when a cap applied). Raises :class:`VideoDecodeError` for undecodable files.
    """
    _check_options(min_face_size, prob_threshold)
    digest, tracker, out = _digest(data), FaceTracker(), []
    with video_frames(
        data, fps_pred=fps_pred, max_seconds=max_seconds, max_frames=max_frames
    ) as vf:
        for frame in vf:
            faces = analyse_frame(
                frame.image,
                min_face_size=min_face_size,
                prob_threshold=prob_threshold,
                seed=seed,
                content=(digest, frame.index),
                device=device,
                keep_crops=keep_crops,
            )
            numbers = tracker.update(frame.time, [face.box for face in faces])
            tracked = [replace(f, track=n) for f, n in zip(faces, numbers, strict=True)]
            out.append(FrameFaces(frame.index, frame.time, tracked))
        info, truncated = vf.info, vf.truncated
    duration = info.duration or (out[-1].time if out else 0.0)
    return VideoAnalysis(
        out, duration, info.fps, info.has_audio, info.width, info.height, truncated
    )
