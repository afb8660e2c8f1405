"""Find vocal bursts (laughs, sighs, gasps...) and score Hume's 67 burst types and 48 expressions.

A burst is a non-speech active segment that sounds vocal (not a steady tone or steady noise:
its level or pitch moves), 0.1-4 s long, or a short speech segment under 0.7 s standing alone
between pauses (an "oh!", a "hmm"). Each burst type has a small acoustic profile: typical
duration, pitch (0 = unvoiced), brightness, voiced share and pulsing (how strongly it repeats
a gesture, as laughter does), plus a (valence, arousal) point. A burst scores each type by a
Gaussian of its distance to the profile, so a short, high, bright, pulsed burst scores Laugh,
Giggle, Haha and Cackle high, and a long, low, dark, breathy one Sigh, Groan and Moan. Its 48
expression scores come from the description-weighted mean of the types' affect points. The
profiles are a design choice, not vendor data (``../shared/reference/hume-batch.md`` §8 lists
the names only).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .affect import affect_scores, jitter
from .audio_frames import HOP_S, Frames
from .audio_segments import VOICED, Segment, rhythm
from .labels import BURSTS, EXPRESSIONS

__all__ = ["Burst", "PROFILES", "find_bursts"]

MIN_S, MAX_S, SHORT_SPEECH_S = 0.1, 4.0, 0.7

# name: (duration s, pitch Hz or 0 if unvoiced, brightness -1..1, voiced share, pulsed 0..1,
#        valence, arousal)
PROFILES: dict[str, tuple[float, float, float, float, float, float, float]] = {
    "Ah": (0.5, 200, 0.0, 0.9, 0.0, 0.2, 0.3), "Aha": (0.6, 200, 0.2, 0.8, 0.3, 0.4, 0.5),
    "Ahh": (1.0, 180, -0.2, 0.8, 0.0, 0.4, -0.2), "Argh": (0.7, 160, 0.3, 0.7, 0.0, -0.7, 0.7),
    "Aww": (0.8, 250, -0.2, 0.9, 0.0, 0.6, 0.1), "Cackle": (1.2, 350, 0.6, 0.6, 0.9, 0.6, 0.65),
    "Cheer": (1.2, 320, 0.5, 0.9, 0.2, 0.8, 0.9), "Chuckle": (0.9, 130, -0.2, 0.5, 0.8, 0.6, 0.3),
    "Cry": (1.5, 350, 0.2, 0.7, 0.4, -0.8, 0.5), "Eek": (0.3, 450, 0.8, 0.9, 0.0, -0.5, 0.8),
    "Eww": (0.6, 200, 0.1, 0.7, 0.0, -0.8, 0.4), "Gasp": (0.3, 0, 0.4, 0.1, 0.0, -0.3, 0.7),
    "Giggle": (1.0, 380, 0.6, 0.6, 0.9, 0.7, 0.5), "Groan": (1.2, 100, -0.6, 0.8, 0.0, -0.6, -0.1),
    "Growl": (0.9, 90, -0.5, 0.6, 0.0, -0.7, 0.6), "Grr": (0.6, 110, -0.4, 0.6, 0.2, -0.7, 0.6),
    "Grunt": (0.3, 110, -0.5, 0.6, 0.0, -0.3, 0.3), "Ha": (0.3, 250, 0.4, 0.6, 0.0, 0.5, 0.5),
    "Hah": (0.4, 230, 0.3, 0.6, 0.0, 0.3, 0.5), "Haha": (0.8, 280, 0.5, 0.6, 0.8, 0.7, 0.5),
    "Hehe": (0.7, 320, 0.5, 0.6, 0.8, 0.6, 0.4), "Hiss": (0.6, 0, 0.9, 0.0, 0.0, -0.6, 0.5),
    "Hmm": (0.6, 130, -0.6, 0.9, 0.0, 0.0, -0.2), "Hoot": (0.6, 350, 0.0, 0.9, 0.2, 0.6, 0.8),
    "Howl": (1.5, 300, 0.0, 0.9, 0.0, -0.3, 0.8), "Huh": (0.3, 180, 0.0, 0.7, 0.0, -0.2, 0.3),
    "Hurray": (1.0, 300, 0.5, 0.9, 0.1, 0.9, 0.9), "Laugh": (1.2, 300, 0.5, 0.6, 0.9, 0.8, 0.55),
    "Mhm": (0.5, 140, -0.6, 0.9, 0.3, 0.3, -0.2), "Mmm": (0.8, 150, -0.7, 1.0, 0.0, 0.5, -0.1),
    "Moan": (1.3, 140, -0.5, 0.9, 0.0, -0.5, 0.0), "Oh": (0.3, 200, -0.2, 0.9, 0.0, 0.1, 0.4),
    "Ohh": (0.7, 200, -0.3, 0.9, 0.0, 0.2, 0.2), "Ooh": (0.6, 260, -0.4, 0.9, 0.0, 0.5, 0.5),
    "Ooph": (0.3, 140, -0.2, 0.4, 0.0, -0.3, 0.5), "Ouch": (0.3, 250, 0.2, 0.7, 0.0, -0.7, 0.7),
    "Oww": (0.7, 280, 0.0, 0.9, 0.0, -0.7, 0.6), "Pant": (1.2, 0, 0.4, 0.1, 0.9, -0.1, 0.6),
    "Pff": (0.4, 0, 0.3, 0.1, 0.0, -0.4, -0.1), "Phew": (0.7, 0, 0.1, 0.2, 0.0, 0.6, -0.4),
    "Roar": (1.0, 120, 0.2, 0.7, 0.0, -0.3, 0.9), "Scream": (1.0, 450, 0.8, 0.8, 0.0, -0.8, 0.95),
    "Screech": (0.8, 480, 0.9, 0.7, 0.0, -0.7, 0.9), "Shout": (0.6, 250, 0.5, 0.9, 0.0, -0.2, 0.8),
    "Shriek": (0.6, 480, 0.9, 0.8, 0.0, -0.6, 0.9), "Sigh": (1.2, 0, -0.4, 0.15, 0.0, -0.1, -0.6),
    "Snicker": (0.6, 250, 0.6, 0.3, 0.8, 0.4, 0.4), "Snort": (0.2, 0, 0.0, 0.1, 0.0, 0.3, 0.4),
    "Sob": (1.4, 300, -0.1, 0.6, 0.7, -0.9, 0.4), "Squeal": (0.6, 480, 0.8, 0.9, 0.0, 0.6, 0.9),
    "Tsk": (0.15, 0, 0.9, 0.0, 0.0, -0.4, 0.1), "Ugh": (0.4, 130, -0.4, 0.7, 0.0, -0.6, 0.2),
    "Uh": (0.3, 130, -0.2, 0.9, 0.0, -0.1, -0.1), "Uh-huh": (0.5, 150, -0.3, 0.8, 0.3, 0.3, 0.0),
    "Umm": (0.7, 130, -0.5, 1.0, 0.0, -0.1, -0.2), "Wail": (1.8, 350, 0.1, 0.9, 0.0, -0.8, 0.7),
    "Wheep": (0.5, 400, 0.5, 0.8, 0.3, 0.3, 0.6), "Whee": (0.8, 420, 0.6, 0.9, 0.0, 0.8, 0.9),
    "Whew": (0.8, 0, 0.0, 0.3, 0.0, 0.5, -0.3), "Whimper": (1.0, 350, -0.1, 0.7, 0.4, -0.7, 0.2),
    "Woah": (0.7, 200, 0.0, 0.9, 0.0, 0.3, 0.7), "Wow": (0.6, 250, 0.1, 0.9, 0.0, 0.7, 0.7),
    "Yawn": (1.8, 180, -0.5, 0.6, 0.0, -0.3, -0.9), "Yay": (0.6, 330, 0.5, 0.9, 0.0, 0.9, 0.8),
    "Yelp": (0.2, 400, 0.6, 0.8, 0.0, -0.4, 0.8), "Yippee": (0.8, 400, 0.6, 0.9, 0.3, 0.9, 0.9),
    "Yuck": (0.4, 180, 0.1, 0.6, 0.0, -0.8, 0.4),
}  # fmt: skip


@dataclass(frozen=True)
class Burst:
    """One vocal burst: seconds, 48 expression scores and 67 burst-type scores (label order)."""

    begin: float
    end: float
    emotions: dict[str, float]
    descriptions: dict[str, float]


@dataclass(frozen=True)
class _Shape:
    """What a burst sounds like: the profile's coordinates, measured, and its steadiness."""

    duration: float
    pitch: float  # Hz, 0 when too few voiced frames
    bright: float  # -1..1
    voiced: float
    pulsed: float
    steady: bool  # level and pitch (if any) hold still: a tone or a hiss, not a voice


def find_bursts(
    frames: Frames, thr: torch.Tensor, segments: Sequence[Segment], keys: Sequence[int]
) -> list[Burst]:
    """The bursts among ``segments``; ``keys`` (one per segment) seed each burst's jitter."""
    found: list[tuple[Segment, _Shape, int]] = []
    for seg, key in zip(segments, keys, strict=True):
        if not _candidate(seg):
            continue
        shape = _measure(frames, thr, seg)
        if shape is not None and (seg.kind == "speech" or not shape.steady):
            found.append((seg, shape, key))
    if not found:
        return []
    desc = _describe([s for _, s, _ in found], [k for _, _, k in found])
    weights = desc**4 / (desc**4).sum(-1, keepdim=True)
    points = weights @ torch.tensor([p[5:] for p in PROFILES.values()], dtype=torch.float32)
    emo = affect_scores(points, EXPRESSIONS, [k + 1 for _, _, k in found])
    return [
        Burst(
            seg.begin,
            seg.end,
            dict(zip(EXPRESSIONS, e, strict=True)),
            dict(zip(BURSTS, d, strict=True)),
        )
        for (seg, _, _), e, d in zip(found, emo.tolist(), desc.tolist(), strict=True)
    ]


def _candidate(seg: Segment) -> bool:
    """Non-speech of burst length, or a short lone speech segment (module docstring)."""
    if seg.kind == "speech":
        return seg.duration < SHORT_SPEECH_S
    return seg.kind == "nonspeech" and MIN_S <= seg.duration <= MAX_S


def _measure(frames: Frames, thr: torch.Tensor, seg: Segment) -> _Shape | None:
    """The segment's burst coordinates; ``None`` with fewer than five active frames."""
    a, b = round(seg.begin / HOP_S), round(seg.end / HOP_S)
    active = frames.db[a:b] > thr[a:b]
    if int(active.sum()) < 5:
        return None
    voiced = active & (frames.voicing[a:b] > VOICED)
    nv = int(voiced.sum())
    f0 = frames.f0[a:b][voiced]
    db = frames.db[a:b][active]
    level_iqr = float(torch.quantile(db, 0.75) - torch.quantile(db, 0.25))
    pitch_moves = nv >= 3 and float((12 * torch.log2(f0)).std()) > 0.5
    centroid = float(frames.centroid[a:b][active].mean())
    return _Shape(
        duration=seg.duration,
        pitch=float(torch.median(f0)) if nv >= 3 else 0.0,
        bright=max(-1.0, min(1.0, (centroid - 1300.0) / 900.0)),
        voiced=nv / int(active.sum()),
        pulsed=rhythm(frames.db[a:b], thr[a:b]),
        steady=level_iqr <= 3.0 and not pitch_moves,
    )


def _describe(shapes: Sequence[_Shape], keys: Sequence[int]) -> torch.Tensor:
    """``[B, 67]`` burst-type scores in [0, 1] in :data:`labels.BURSTS` order."""
    rows = []
    for shape, key in zip(shapes, keys, strict=True):
        d2 = torch.tensor(
            [_distance2(shape, PROFILES[name]) for name in BURSTS], dtype=torch.float32
        )
        noise = (jitter(key, len(BURSTS)) + 1) / 2
        rows.append((0.02 + 0.9 * torch.exp(-0.5 * d2) + 0.04 * noise).clamp(0.0, 1.0))
    return torch.stack(rows)


def _distance2(shape: _Shape, profile: tuple[float, ...]) -> float:
    """Squared normalised distance between a measured burst and a type's profile."""
    duration, pitch, bright, voiced, pulsed = profile[:5]
    d2 = math.log2(shape.duration / duration) ** 2
    if pitch > 0 and shape.pitch > 0:
        d2 += (12 * math.log2(shape.pitch / pitch) / 7.0) ** 2
    d2 += ((shape.bright - bright) / 0.45) ** 2
    d2 += ((shape.voiced - voiced) / 0.3) ** 2
    return d2 + ((shape.pulsed - pulsed) / 0.35) ** 2
