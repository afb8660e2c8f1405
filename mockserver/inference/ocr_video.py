"""Text in video: OCR on sampled frames, the same text across frames grouped into one track.

Vendors' video text detection (Eden AI ``video/text_detection_async``: ``texts[{text, frames[
{confidence, timestamp, bounding_box}]}]``, ``edenai/edenai-apis``
``text_detection_async_response.json``) reports each distinct line of text once, with every
sampled frame it was seen in. Frames are decoded with :mod:`vision_decode` at ``fps`` per second
(Rekognition-like sampling [GUESS]) and read with the image OCR at their pixel size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .ocr_image import read_pixels
from .ocr_types import Box
from .vision_decode import video_frames

__all__ = ["TextSighting", "VideoText", "read_video_text"]


@dataclass(frozen=True)
class TextSighting:
    timestamp: float
    box: Box
    confidence: float


@dataclass(frozen=True)
class VideoText:
    text: str
    sightings: tuple[TextSighting, ...]


@dataclass(frozen=True)
class VideoTextResult:
    texts: tuple[VideoText, ...]
    duration: float
    width: int
    height: int
    frames: int


def _luma(pixels: np.ndarray) -> np.ndarray:
    rgb = pixels.astype(np.float32)
    return np.clip(rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32), 0, 255).astype(np.uint8)


def read_video_text(data: bytes, *, fps: float = 2.0, device: Any = None) -> VideoTextResult:
    """Every distinct line of text in the video, in order of first sighting."""
    del device  # numpy on small frames
    tracks: dict[str, list[TextSighting]] = {}
    count = 0
    with video_frames(data, fps_pred=fps) as frames:
        info = frames.info
        for frame in frames:
            count += 1
            page, _ = read_pixels(_luma(frame.image.pixels.numpy()))
            for line in page.lines:
                sighting = TextSighting(round(frame.time, 3), line.box, line.confidence)
                tracks.setdefault(line.text, []).append(sighting)
    texts = tuple(VideoText(text, tuple(s)) for text, s in tracks.items())
    return VideoTextResult(texts, info.duration, info.width, info.height, count)
