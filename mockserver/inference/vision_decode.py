"""Decode still images with Pillow and sample video frames with PyAV, as RGB uint8 tensors.

The face model (reference ``hume-batch.md`` §4, §7) reports each face with the source ``frame``
number and its ``time`` in seconds, so video frames keep both; images are frame 0 at time 0.
Decoding always happens on the CPU; the analysis moves the pixels to its device.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType

import av
import numpy as np
import torch
from PIL import Image as PILImage
from PIL import ImageOps, UnidentifiedImageError

__all__ = [
    "IMAGE_FORMATS",
    "MAX_SAMPLED_FRAMES",
    "MAX_VIDEO_SECONDS",
    "Frame",
    "Image",
    "ImageDecodeError",
    "MediaDecodeError",
    "VideoDecodeError",
    "VideoFrames",
    "VideoInfo",
    "decode_image",
    "video_frames",
]

#: Pillow formats we open. Pillow can read many more (EPS even runs Ghostscript); uploads are
#: untrusted, so only the common photo formats are let through.
IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF")  # JPEG also opens MPO
#: A video is analysed over its first ten minutes of media time at most ...
MAX_VIDEO_SECONDS = 600.0
#: ... and at most this many sampled frames (10 minutes at the default ``fps_pred`` of 3).
MAX_SAMPLED_FRAMES = 1800
_ORIENTATION = 0x0112  # the EXIF orientation tag


class MediaDecodeError(ValueError):
    """The bytes are not media we can decode; the message says why, for the job's errors."""


class ImageDecodeError(MediaDecodeError):
    """Not a decodable image, a truncated one, or one over Pillow's decompression-bomb limit."""


class VideoDecodeError(MediaDecodeError):
    """Not a container FFmpeg can open, no video stream, or a stream that fails to decode."""


@dataclass(frozen=True)
class Image:
    """RGB pixels as a ``[height, width, 3]`` uint8 tensor (CPU), EXIF orientation applied."""

    pixels: torch.Tensor

    @property
    def height(self) -> int:
        """Rows, in pixels."""
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        """Columns, in pixels."""
        return int(self.pixels.shape[1])


@dataclass(frozen=True)
class Frame:
    """One sampled video frame: source frame number, its time in seconds, and its pixels."""

    index: int
    time: float
    image: Image


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video, read before any frame is decoded."""

    width: int
    height: int
    fps: float
    duration: float
    has_audio: bool

    @property
    def file_type(self) -> str:
        """Hume's ``file_type`` for this file (reference §7, §11.3)."""
        return "video_with_audio" if self.has_audio else "video_no_audio"


def _to_tensor(array: np.ndarray) -> torch.Tensor:
    """Wrap an HxWx3 uint8 array (copied when read-only: torch warns about those)."""
    if not array.flags.writeable or not array.flags.c_contiguous:
        array = np.array(array, dtype=np.uint8, order="C")
    return torch.from_numpy(array)


def _open_image(data: bytes) -> PILImage.Image:
    """Open (header only) and enforce Pillow's pixel limit with our error, not its warning."""
    try:
        img = PILImage.open(io.BytesIO(data), formats=IMAGE_FORMATS)
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:
        raise ImageDecodeError(f"image too large to decode: {exc}") from None
    except UnidentifiedImageError:
        names = ", ".join(IMAGE_FORMATS)
        raise ImageDecodeError(f"not a decodable image (supported: {names})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageDecodeError(f"unreadable image header: {exc}") from None
    limit = PILImage.MAX_IMAGE_PIXELS
    if limit is not None and img.width * img.height > limit:
        img.close()
        raise ImageDecodeError(
            f"image too large to decode: {img.width}x{img.height} pixels exceeds the limit of "
            f"{limit} pixels (decompression-bomb guard)"
        )
    return img


def _flatten(img: PILImage.Image) -> PILImage.Image:
    """RGB, with any transparency composited onto white (how a viewer shows it)."""
    if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        white = PILImage.new("RGBA", rgba.size, (255, 255, 255, 255))
        return PILImage.alpha_composite(white, rgba).convert("RGB")
    return img if img.mode == "RGB" else img.convert("RGB")


def decode_image(data: bytes) -> Image:
    """Decode PNG, JPEG, GIF (first frame), WebP, BMP or TIFF bytes to RGB pixels.

    EXIF orientation is applied, so the box a client gets matches the upright picture it sees.
    Every failure is an :class:`ImageDecodeError` with a message fit for a job's error list.
    """
    if not data:
        raise ImageDecodeError("empty file: no image data")
    with _open_image(data) as img:
        try:
            turned = img.getexif().get(_ORIENTATION, 1) not in (1, None)
            upright = ImageOps.exif_transpose(img) if turned else img  # else it copies
            array = np.array(_flatten(upright), dtype=np.uint8)  # decodes here
        except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:
            raise ImageDecodeError(f"image too large to decode: {exc}") from None
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise ImageDecodeError(f"corrupt or truncated {img.format} image: {exc}") from None
    return Image(_to_tensor(array))


class VideoFrames(Iterator[Frame]):
    """Frames of a video sampled at ``fps_pred`` per second; ``info`` is read at construction.

    Opening happens here, so an undecodable file fails at the call, not at the first frame.
    Sampling keeps the first frame whose time reaches each multiple of ``1 / fps_pred``
    (``fps_pred=0``: every frame). Work is capped (``max_seconds`` of media time and
    ``max_frames`` sampled frames); ``truncated`` tells whether a cap cut the video short.
    Every frame is still decoded (H.264 needs its references), but only sampled ones are
    converted to RGB.
    """

    def __init__(self, data: bytes, *, fps_pred: float, max_seconds: float, max_frames: int):
        if not math.isfinite(fps_pred) or fps_pred < 0:
            raise ValueError(f"fps_pred must be a finite number >= 0, got {fps_pred!r}")
        if not data:
            raise VideoDecodeError("empty file: no video data")
        try:
            self._container = av.open(io.BytesIO(data), mode="r")
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise VideoDecodeError(f"not a decodable video: {_reason(exc)}") from None
        if not self._container.streams.video:
            self._container.close()
            raise VideoDecodeError("no video stream in the file")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        self.info = self._read_info()
        self.truncated = False
        self._step = 1.0 / fps_pred if fps_pred > 0 else 0.0
        self._caps = (max_seconds, max_frames)
        self._frames = self._sample()

    def _read_info(self) -> VideoInfo:
        """Size, frame rate, duration and audio presence, from the container headers."""
        stream, container = self._stream, self._container
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if container.duration is not None:
            duration = container.duration / av.time_base
        elif stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        else:
            duration = 0.0
        return VideoInfo(
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            fps=float(rate) if rate else 0.0,
            duration=duration,
            has_audio=bool(container.streams.audio),
        )

    def _sample(self) -> Iterator[Frame]:
        """Decode in order, yield the sampled frames, stop at a cap; close when done."""
        max_seconds, max_frames = self._caps
        next_time, origin, emitted = 0.0, None, 0
        try:
            for index, frame in enumerate(self._container.decode(self._stream)):
                stamp = frame.time if frame.time is not None else index / (self.info.fps or 1.0)
                origin = stamp if origin is None else origin
                time = stamp - origin
                if time > max_seconds:  # checked before skipping: a slow fps_pred stops too
                    self.truncated = True
                    return
                if time + 1e-6 < next_time:
                    continue
                if emitted >= max_frames:
                    self.truncated = True
                    return
                if self._step:
                    next_time = (math.floor(time / self._step + 1e-6) + 1) * self._step
                emitted += 1
                yield Frame(index, time, _frame_image(frame))
        except av.FFmpegError as exc:
            raise VideoDecodeError(f"video stream failed to decode: {_reason(exc)}") from None
        finally:
            self.close()

    def __next__(self) -> Frame:
        return next(self._frames)

    def close(self) -> None:
        """Release the demuxer and decoder (also done when iteration ends)."""
        self._container.close()

    def __enter__(self) -> VideoFrames:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _reason(exc: Exception) -> str:
    """FFmpeg's own words (``Invalid data found when processing input``), without errno noise."""
    text = getattr(exc, "strerror", None)
    return text if isinstance(text, str) and text else str(exc)


def _frame_image(frame: av.VideoFrame) -> Image:
    """RGB pixels of a decoded frame, turned upright by its display-matrix rotation."""
    array = frame.to_ndarray(format="rgb24")
    turns = round(frame.rotation / 90) % 4 if frame.rotation else 0
    if turns:  # rotation is counter-clockwise degrees; np.rot90 turns counter-clockwise too
        array = np.rot90(array, turns)
    return Image(_to_tensor(array))


def video_frames(
    data: bytes,
    *,
    fps_pred: float = 3.0,
    max_seconds: float = MAX_VIDEO_SECONDS,
    max_frames: int = MAX_SAMPLED_FRAMES,
) -> VideoFrames:
    """Open a video and return an iterator of its frames sampled at ``fps_pred`` per second.

    ``fps_pred`` follows Hume's face config (reference §4): default 3, ``0`` means every frame.
    ``Frame.index`` is the source frame number and ``Frame.time`` its presentation time in
    seconds from the first frame. The returned object's ``info`` has width, height, ``fps``,
    ``duration`` and ``has_audio``; its ``truncated`` flag is set if a cap stopped the sampling.
    """
    return VideoFrames(data, fps_pred=fps_pred, max_seconds=max_seconds, max_frames=max_frames)
