"""Score a label set from a point in the valence/arousal plane, plus seeded jitter.

The audio and vision heads measure something physical (loudness, pitch movement, a mouth's
curve) and place it in the circumplex plane; this head turns that point into one score per label
by distance to each label's coordinates (:data:`labels.AFFECT`). Every operation is elementwise
or a reduction over the label axis, so an item's scores do not depend on the batch it ran in:
bit-identical results on one device, whatever the batching.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import torch

from .labels import AFFECT

__all__ = ["affect_scores", "jitter", "seed_key"]

_WIDTH = 0.18  # squared distance at which a label's score falls to 1/e of its peak
_PEAK = 0.82
_FLOOR = 0.02
_JITTER = 0.04


def seed_key(seed: int, *parts: object) -> int:
    """A 63-bit integer derived from the seed and anything identifying the content."""
    h = hashlib.blake2b(repr((seed, *parts)).encode(), digest_size=8)
    return int.from_bytes(h.digest(), "big") >> 1


def jitter(key: int, n: int) -> torch.Tensor:
    """``n`` deterministic uniform values in [-1, 1) from ``key`` (always drawn on the CPU)."""
    gen = torch.Generator().manual_seed(key)
    return torch.rand(n, generator=gen, dtype=torch.float32) * 2 - 1


def affect_scores(points: torch.Tensor, labels: Sequence[str], keys: Sequence[int]) -> torch.Tensor:
    """Scores in [0, 1], shape ``[batch, len(labels)]``, for ``points`` of shape ``[batch, 2]``.

    ``keys`` (one per row, from :func:`seed_key`) make the small per-item jitter that keeps two
    similar inputs from producing identical rows, as real model output never does.
    """
    coords = torch.tensor([AFFECT[name] for name in labels], dtype=points.dtype)
    coords = coords.to(points.device)
    d2 = ((points[:, None, :] - coords[None, :, :]) ** 2).sum(-1)
    noise = torch.stack([jitter(k, len(labels)) for k in keys]).to(points.device)
    scores = _PEAK * torch.exp(-d2 / _WIDTH) + _FLOOR + _JITTER * (noise + 1) / 2
    return scores.clamp(0.0, 1.0)
