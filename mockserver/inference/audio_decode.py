"""Decode uploaded media into mono 16 kHz float32 samples, with PyAV (FFmpeg).

One decoder for every container the vendors accept for audio (WAV, FLAC, MP3, MP4/M4A with AAC,
and the audio track of video files): Hume recommends ``.wav .mp3 .mp4`` for prosody and burst
(``../shared/reference/hume-batch.md`` §11.3). Anything FFmpeg cannot read, or media without an
audio track, raises :class:`AudioDecodeError`, which the providers turn into their own error
(Hugging Face answers ``{"error": "Malformed soundfile"}``; Hume reports a per-file error).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
import numpy as np
import torch

__all__ = ["SAMPLE_RATE", "Audio", "AudioDecodeError", "decode_audio"]

SAMPLE_RATE = 16_000


class AudioDecodeError(ValueError):
    """The bytes are not media FFmpeg can decode, or they hold no audio."""


@dataclass(frozen=True)
class Audio:
    """Mono float32 samples in [-1, 1] on the CPU, their rate and duration in seconds."""

    samples: torch.Tensor
    sample_rate: int
    duration: float


def decode_audio(data: bytes, *, name: str = "") -> Audio:
    """Decode the first audio stream of ``data`` to mono 16 kHz float32.

    ``name`` only makes the error messages point at the file.
    """
    label = f" {name!r}" if name else ""
    if not data:
        raise AudioDecodeError(f"cannot decode audio{label}: the file is empty")
    try:
        samples = _decode(data)
    except AudioDecodeError as exc:
        raise AudioDecodeError(f"cannot decode audio{label}: {exc}") from None
    except (av.FFmpegError, ValueError, OSError, EOFError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise AudioDecodeError(f"cannot decode audio{label}: {reason}") from exc
    tensor = torch.from_numpy(samples)
    return Audio(tensor, SAMPLE_RATE, len(samples) / SAMPLE_RATE)


def _decode(data: bytes) -> np.ndarray:
    """Demux and decode the first audio stream, then resample it in large batches."""
    with av.open(io.BytesIO(data), mode="r") as container:
        if not container.streams.audio:
            raise AudioDecodeError("the media has no audio stream")
        batcher = _Resampler()
        for frame in container.decode(container.streams.audio[0]):
            batcher.add(frame)
        parts = batcher.finish()
    if not parts or sum(len(p) for p in parts) == 0:
        raise AudioDecodeError("the audio stream holds no samples")
    # FFmpeg's downmix sums channels (5.1 -> mono can exceed full scale): clip to [-1, 1]
    samples: np.ndarray = np.clip(np.concatenate(parts), -1.0, 1.0).astype(np.float32)
    return samples


class _Resampler:
    """Convert decoded frames to mono 16 kHz float, many frames per resampler call.

    Resampling each decoded frame (a few hundred samples for MP3) costs more in per-call
    overhead than in arithmetic; joining runs of frames that share format, layout and rate
    into one frame gives the same samples two to three times faster. A format change mid-stream
    flushes the run and starts a fresh resampler.
    """

    BATCH = 1 << 20  # samples per channel held before a run is resampled

    def __init__(self) -> None:
        self.parts: list[np.ndarray] = []
        self.run: list[np.ndarray] = []
        self.held = 0
        self.key: tuple[str, str, int] | None = None
        self.resampler: av.AudioResampler | None = None

    def add(self, frame: av.AudioFrame) -> None:
        key = (frame.format.name, frame.layout.name, frame.sample_rate)
        if key != self.key:
            self._flush(end=True)
            self.key = key
            self.resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        self.run.append(frame.to_ndarray())
        self.held += frame.samples
        if self.held >= self.BATCH:
            self._flush(end=False)

    def finish(self) -> list[np.ndarray]:
        self._flush(end=True)
        return self.parts

    def _flush(self, *, end: bool) -> None:
        if self.resampler is None or self.key is None:
            return
        out: list[av.AudioFrame] = []
        if self.run:
            joined = av.AudioFrame.from_ndarray(
                np.concatenate(self.run, axis=1), format=self.key[0], layout=self.key[1]
            )
            joined.sample_rate = self.key[2]
            out += self.resampler.resample(joined)
            self.run, self.held = [], 0
        if end:
            out += self.resampler.resample(None)
        self.parts.extend(f.to_ndarray().reshape(-1) for f in out)
