"""Split a clip into silence, speech and non-speech regions from its frame tracks.

Voice activity: a frame is active when its level clears a threshold that follows the local
noise floor (the quietest frame within ±1 s, smoothed), never sits below -60 dBFS, and never
above 15 dB under the loud frames, so a clip that is loud all the way through (a tone) is still
active. Runs must reach 6 dB over the threshold somewhere (hysteresis); gaps under 0.3 s are
bridged (hangover, so stop closures and short commas stay inside an utterance) and blips under
80 ms dropped. Each active region is then called speech unless it is too short, mostly
unvoiced (breath, hiss), steady in pitch (a tone, a hum), or rhythmically regular the way
laughter, panting and sobbing are while speech is not (syllables come at uneven intervals).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from .audio_frames import GATE_DB, HOP_S, Frames

__all__ = ["Segment", "SegmentKind", "activity", "moving_mean", "rhythm", "segment"]

SegmentKind = Literal["speech", "nonspeech", "silence"]

ABS_FLOOR_DB = GATE_DB
MARGIN_DB = 12.0
HEADROOM_DB = 15.0
ONSET_DB = 6.0
BRIDGE = 30  # frames (0.3 s): shorter gaps do not split a region
MIN_RUN = 8  # frames (80 ms)
VOICED = 0.6  # autocorrelation peak for a voiced frame


@dataclass(frozen=True)
class Segment:
    """A stretch of the clip in seconds, ``begin`` inclusive, ``end`` exclusive."""

    begin: float
    end: float
    kind: SegmentKind

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.end - self.begin


def activity(frames: Frames) -> torch.Tensor:
    """The per-frame activity threshold in dBFS (adaptive floor, clamped as the module says)."""
    floor = moving_mean(-F.max_pool1d(-frames.db[None, None], 201, 1, 100)[0, 0], 101)
    loud = torch.quantile(frames.db, 0.95)
    return torch.clamp(torch.minimum(floor + MARGIN_DB, loud - HEADROOM_DB), min=ABS_FLOOR_DB)


def moving_mean(x: torch.Tensor, width: int) -> torch.Tensor:
    """Centred moving average over ``width`` (odd) samples, fewer at the ends; O(n)."""
    half = width // 2
    cum = F.pad(x.to(torch.float64).cumsum(0), (1, 0))
    n = x.shape[0]
    idx = torch.arange(n, device=x.device)
    hi, lo = (idx + half + 1).clamp(max=n), (idx - half).clamp(min=0)
    return ((cum[hi] - cum[lo]) / (hi - lo)).to(x.dtype)


def segment(frames: Frames, thr: torch.Tensor, duration: float) -> list[Segment]:
    """Partition ``[0, duration]`` into silence, speech and non-speech, given :func:`activity`."""
    duration = round(duration, 3)
    out: list[Segment] = []
    last = 0
    for a, b in _regions(frames.db, thr):
        if a > last:
            out.append(Segment(_t(last), _t(a), "silence"))
        out.append(Segment(_t(a), min(_t(b), duration), _kind(frames, thr, a, b)))
        last = b
    if _t(last) < duration:
        out.append(Segment(_t(last), duration, "silence"))
    return [s for s in out if s.end > s.begin]


def _t(frame: int) -> float:
    return round(frame * HOP_S, 3)


def _regions(db: torch.Tensor, thr: torch.Tensor) -> list[tuple[int, int]]:
    """Active runs ``[a, b)`` in frames: hysteresis, then bridging and a minimum length."""
    low = db > thr
    high = (db > thr + ONSET_DB).to(torch.int64)
    edges = torch.diff(low.to(torch.int8), prepend=low.new_zeros(1, dtype=torch.int8))
    starts = torch.nonzero(edges == 1).flatten()
    ends = torch.nonzero(edges == -1).flatten()
    if ends.numel() < starts.numel():
        ends = torch.cat([ends, ends.new_tensor([low.numel()])])
    cum = torch.cat([high.new_zeros(1), high.cumsum(0)])
    keep = (cum[ends] - cum[starts]) > 0
    runs: list[list[int]] = []
    for a, b in zip(starts[keep].tolist(), ends[keep].tolist(), strict=True):
        if runs and a - runs[-1][1] < BRIDGE:
            runs[-1][1] = b
        else:
            runs.append([a, b])
    return [(a, b) for a, b in runs if b - a >= MIN_RUN]


def _kind(frames: Frames, thr: torch.Tensor, a: int, b: int) -> SegmentKind:
    """Speech, unless the region is short, unvoiced, pitch-steady or rhythmic (see module)."""
    if b - a < 15:
        return "nonspeech"
    active = frames.db[a:b] > thr[a:b]
    voiced = active & (frames.voicing[a:b] > VOICED)
    n_voiced = int(voiced.sum())
    if n_voiced < 0.15 * max(int(active.sum()), 1) or n_voiced < 5:
        return "nonspeech"
    semitones = 12 * torch.log2(frames.f0[a:b][voiced])
    if float(semitones.std()) < 0.3:
        return "nonspeech"
    if b - a < 300 and rhythm(frames.db[a:b], thr[a:b]) > 0.55:
        return "nonspeech"
    return "speech"


def rhythm(db: torch.Tensor, thr: torch.Tensor) -> float:
    """How regular the loudness pulses are at 2.5-8 per second (autocorrelation peak, ≤ 1).

    The envelope is detrended (minus its 0.4 s moving average), so one slow swell such as a sigh
    does not count; only a peak of the autocorrelation (a repeat) does. "Ha-ha-ha", panting
    and sobbing repeat one gesture at a steady rate and score ~0.6-0.9; speech, whose syllables
    vary in length and stress, stays well under 0.5.
    """
    n = db.shape[0]
    if n < 80:
        return 0.0
    env = torch.maximum(db, thr - 10.0)
    env = env - moving_mean(env, 41)
    ac = torch.fft.irfft(torch.fft.rfft(env, 2 * n).abs() ** 2, 2 * n)[:n]
    ac = ac / ac[0].clamp(min=1e-6)
    mid = ac[12:40]
    peaks = (mid >= ac[11:39]) & (mid >= ac[13:41])
    return float(torch.where(peaks, mid, torch.zeros_like(mid)).max().clamp(min=0.0))
