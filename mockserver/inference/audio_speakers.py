"""Tell speakers apart by clustering speech segments on pitch and timbre.

Each speech segment is described by its median pitch (semitones) and the average shape of its
log mel spectrum over voiced frames (timbre, level removed). Segments join the nearest speaker
when they are within one unit of distance (about 6 semitones of pitch or 9 dB RMS of spectral
shape: one espeak voice's sentences stay within ~3 st and ~4.5 dB of each other, two different
voices are apart by 20+ st and 11+ dB), otherwise they start a new speaker; speakers beyond
``max_speakers`` are merged pairwise, closest first, and every segment is then reassigned to
its nearest speaker. Speakers are numbered in order of first appearance. A pass over the
segments in time order with no randomness: the same clip always gets the same labels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from .audio_frames import HOP_S, Frames
from .audio_segments import VOICED, Segment

__all__ = ["identify_speakers"]

PITCH_UNIT = 6.0  # semitones
TIMBRE_UNIT = 9.0  # dB, RMS over mel bands
JOIN = 1.0

Voice = tuple[float, torch.Tensor, float]  # median pitch (st, nan if unvoiced), timbre, weight


def identify_speakers(
    frames: Frames, thr: torch.Tensor, segments: Sequence[Segment], max_speakers: int = 2
) -> list[int | None]:
    """A speaker index per segment (``None`` unless speech), at most ``max_speakers`` of them."""
    voices = {i: _voice(frames, thr, s) for i, s in enumerate(segments) if s.kind == "speech"}
    if not voices:
        return [None] * len(segments)
    centres: list[Voice] = []
    for v in voices.values():
        near = _nearest(v, centres)
        if near is not None and _distance(v, centres[near]) < JOIN:
            centres[near] = _merge(centres[near], v)
        else:
            centres.append(v)
    while len(centres) > max(1, max_speakers):
        pairs = [(i, j) for i in range(len(centres)) for j in range(i + 1, len(centres))]
        i, j = min(pairs, key=lambda p: _distance(centres[p[0]], centres[p[1]]))
        centres[i] = _merge(centres[i], centres.pop(j))
    raw = {i: _nearest(v, centres) for i, v in voices.items()}
    order = list(dict.fromkeys(raw.values()))
    return [order.index(raw[i]) if i in raw else None for i in range(len(segments))]


def _voice(frames: Frames, thr: torch.Tensor, seg: Segment) -> Voice:
    """Median pitch and mean spectral shape (dB) of a segment's voiced frames."""
    a, b = round(seg.begin / HOP_S), max(round(seg.end / HOP_S), round(seg.begin / HOP_S) + 1)
    active = frames.db[a:b] > thr[a:b]
    voiced = active & (frames.voicing[a:b] > VOICED)
    use = voiced if int(voiced.sum()) >= 3 else active
    mel = 10 * frames.mel[a:b][use] if bool(use.any()) else 10 * frames.mel[a:b]
    shape = (mel - mel.mean(-1, keepdim=True)).mean(0)
    pitch = float("nan")
    if int(voiced.sum()) >= 3:
        pitch = float(torch.median(12 * torch.log2(frames.f0[a:b][voiced] / 100.0)))
    return pitch, shape, float(max(int(use.sum()), 1))


def _distance(u: Voice, v: Voice) -> float:
    timbre = float(((u[1] - v[1]) ** 2).mean().sqrt()) / TIMBRE_UNIT
    if math.isnan(u[0]) or math.isnan(v[0]):
        return timbre
    return math.hypot((u[0] - v[0]) / PITCH_UNIT, timbre)


def _nearest(v: Voice, centres: Sequence[Voice]) -> int | None:
    if not centres:
        return None
    return min(range(len(centres)), key=lambda i: _distance(v, centres[i]))


def _merge(u: Voice, v: Voice) -> Voice:
    """The weighted mean of two voices (a missing pitch takes the other's)."""
    w = u[2] + v[2]
    if math.isnan(u[0]) or math.isnan(v[0]):
        pitch = v[0] if math.isnan(u[0]) else u[0]
    else:
        pitch = (u[0] * u[2] + v[0] * v[2]) / w
    return pitch, (u[1] * u[2] + v[1] * v[2]) / w, w
