"""Score the 48 expressions for any time span from what the voice does in it.

For each span: mean level of its active frames (dBFS), mean and spread of pitch over voiced
frames (semitones re 100 Hz), mean spectral centroid (brightness), and a speaking-rate proxy
(loudness peaks, i.e. syllable nuclei, per second of activity). These place the span in the
valence/arousal plane, and :func:`affect.affect_scores` turns the point into 48 scores:

- arousal rises with level, pitch spread, rate, brightness and (a little) pitch height: loud,
  fast, lively speech lands near Excitement and Anger; quiet, flat, slow speech near Calmness,
  Tiredness and Boredom;
- valence rises with pitch height, brightness, rate and pitch spread (a cheerful voice is
  higher, brighter, quicker and livelier, a sad one lower, darker, slower and flatter).
  Acoustic valence is weak evidence in real models too; these weights are a design choice,
  not measured from any vendor.

Every statistic comes from prefix sums over the frame tracks, so scoring thousands of spans
(sliding windows over an hour) costs one pass over the frames plus a gather per span.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from .affect import affect_scores
from .audio_frames import HOP_S, Frames
from .audio_segments import VOICED
from .labels import EXPRESSIONS

__all__ = ["CUES", "affect_point", "prosody_scores", "prosody_sums", "span_cues"]

CUES = ("level_db", "pitch_st", "pitch_sd", "centroid", "rate", "voiced")
#: Values a span without activity (or without voiced frames) falls back to: a quiet pause.
NEUTRAL = {"level_db": -60.0, "pitch_st": 9.0, "pitch_sd": 0.0, "centroid": 1300.0, "rate": 0.0}


def prosody_sums(frames: Frames, thr: torch.Tensor) -> torch.Tensor:
    """``[n + 1, 7]`` float64 prefix sums of what the span statistics need (once per clip)."""
    active = frames.db > thr
    voiced = active & (frames.voicing > VOICED)
    st = torch.where(voiced, 12 * torch.log2(frames.f0.clamp(min=1.0) / 100.0), 0.0)
    a, v = active.to(torch.float64), voiced.to(torch.float64)
    cols = [
        a,
        a * frames.db,
        v,
        v * st,
        v * st * st,
        a * frames.centroid,
        _nuclei(frames.db, active),
    ]
    return F.pad(torch.stack(cols, dim=1).cumsum(0), (0, 0, 1, 0))


def _nuclei(db: torch.Tensor, active: torch.Tensor) -> torch.Tensor:
    """1.0 at syllable nuclei: loudness maxima with a 4 dB dip within 150 ms on both sides.

    Requiring a dip on each side keeps the edges of a steady sound (a tone's fade-in) from
    counting as syllables; strictness against the previous frame counts a plateau once.
    """
    s = F.avg_pool1d(db[None, None], 5, 1, 2, count_include_pad=False)[0, 0]
    top = F.max_pool1d(s[None, None], 11, 1, 5)[0, 0]
    n = s.shape[0]
    lows = F.pad(s, (15, 15), value=float(s.max()) + 1.0).unfold(0, 16, 1).amin(-1)
    left, right = lows[:n], lows[15 : 15 + n]
    rising = s > F.pad(s, (1, 0), value=float(s.min()) - 1.0)[:n]
    peak = (s == top) & rising & (s - left > 4.0) & (s - right > 4.0)
    return (peak & active).to(torch.float64)


def span_cues(sums: torch.Tensor, spans: Sequence[tuple[float, float]]) -> torch.Tensor:
    """``[len(spans), 6]`` cues in :data:`CUES` order from :func:`prosody_sums` (float32)."""
    dev, n = sums.device, sums.shape[0] - 1
    if not spans:
        return torch.zeros(0, len(CUES), device=dev)
    bounds = torch.tensor(spans, dtype=torch.float64).reshape(-1, 2)
    i0 = torch.round(bounds[:, 0] / HOP_S).clamp(0, n - 1).to(torch.int64)
    i1 = torch.maximum(torch.round(bounds[:, 1] / HOP_S).clamp(max=n).to(torch.int64), i0 + 1)
    total = sums[i1.to(dev)] - sums[i0.to(dev)]
    act, lvl, nv, s1, s2, cen, peaks = total.unbind(1)
    has_a, has_v = act > 0, nv > 1
    mean = s1 / nv.clamp(min=1)
    sd = torch.sqrt((s2 / nv.clamp(min=1) - mean * mean).clamp(min=0))
    cues = [
        torch.where(has_a, lvl / act.clamp(min=1), NEUTRAL["level_db"]),
        torch.where(has_v, mean, NEUTRAL["pitch_st"]),
        torch.where(has_v, sd, NEUTRAL["pitch_sd"]),
        torch.where(has_a, cen / act.clamp(min=1), NEUTRAL["centroid"]),
        torch.where(has_a, peaks / (act * HOP_S).clamp(min=HOP_S), NEUTRAL["rate"]),
        nv / act.clamp(min=1),
    ]
    return torch.stack(cues, dim=1).to(torch.float32)


def affect_point(cues: torch.Tensor) -> torch.Tensor:
    """``[B, 2]`` (valence, arousal) in (-1, 1) from ``[B, 6]`` cues (weights: module docstring)."""
    level, pitch, spread, centroid, rate, _ = cues.unbind(1)
    z_level = (level + 28.0) / 8.0
    z_pitch = (pitch - 9.0) / 6.0  # 9 st over 100 Hz: ~170 Hz, between typical male and female
    z_spread = (spread - 2.5) / 1.5
    z_bright = (centroid - 1300.0) / 500.0
    z_rate = (rate - 3.5) / 1.5
    arousal = 0.9 * z_level + 0.5 * z_spread + 0.5 * z_rate + 0.3 * z_bright + 0.2 * z_pitch
    valence = 0.35 * (pitch - 4.0) / 8.0 + 0.35 * (centroid - 1150.0) / 500.0
    valence = valence + 0.35 * z_rate + 0.25 * z_spread
    return torch.tanh(torch.stack([0.6 * valence, 0.8 * arousal], dim=1))


def prosody_scores(
    sums: torch.Tensor, spans: Sequence[tuple[float, float]], keys: Sequence[int]
) -> torch.Tensor:
    """``[len(spans), 48]`` expression scores in [0, 1], in :data:`labels.EXPRESSIONS` order."""
    if not spans:
        return torch.zeros(0, len(EXPRESSIONS), device=sums.device)
    return affect_scores(affect_point(span_cues(sums, spans)), EXPRESSIONS, keys)
