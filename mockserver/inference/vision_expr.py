"""Measure a face crop's mouth and eyes and place the face in the valence/arousal plane.

What is measured is visible in the crop (:class:`faces.FaceCrop`, 96x96, dark non-skin pixels
inside the face outline):

- **mouth curvature**: a parabola ``y = a*u**2 + b*u + c`` fitted to the dark pixels of the
  lower third, ``u`` running -1..1 across the mouth; corners above the middle (a smile) give a
  negative ``a``, so ``-a`` is the smile. It drives valence.
- **mouth openness**: dark rows per mouth column (a line is thin, a laughing mouth thick).
- **eye openness**: share of non-skin pixels in the eye band (whites and irises).

Openness drives arousal. :func:`affect.affect_scores` turns the point into the 48 scores, so
a smiling, open-mouthed face lands near Joy and Amusement and a downturned, closed mouth near
Sadness and Disappointment. The mapping constants are hand-set on the synthetic fixtures; a
real photo gets a plausible, content-driven answer, not a validated one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .affect import affect_scores
from .faces import CROP, FaceCrop
from .labels import EXPRESSIONS

__all__ = [
    "FaceMeasures",
    "expression_point",
    "expression_scores",
    "measure_face",
    "measured_scores",
]

_MOUTH_ROWS = (0.58, 0.95)
_MOUTH_COLS = (0.15, 0.85)
_EYE_ROWS = (0.33, 0.52)
_MIN_MOUTH_PIXELS = 12


@dataclass(frozen=True)
class FaceMeasures:
    """What was read off a face: smile (+) or frown (-), mouth and eye openness (0..1)."""

    curvature: float
    mouth_open: float
    eye_open: float


def _band(rows: tuple[float, float], cols: tuple[float, float]) -> tuple[slice, slice]:
    """Crop slices for a band given as fractions of the side."""
    return (
        slice(round(rows[0] * CROP), round(rows[1] * CROP)),
        slice(round(cols[0] * CROP), round(cols[1] * CROP)),
    )


def _parabola(xs: torch.Tensor, ys: torch.Tensor) -> float:
    """Leading coefficient ``a`` of the least-squares ``y = a*u**2 + b*u + c``, ``u`` in -1..1.

    The 3x3 normal equations are summed by torch and solved by Cramer's rule in Python floats:
    a LAPACK call would cost more than the whole face on a busy CPU.
    """
    xs, y = xs.cpu().double(), ys.cpu().double()  # a few hundred points; float64 everywhere
    centre = (xs.max() + xs.min()) / 2
    half = (xs.max() - xs.min()) / 2 + 0.5
    u = (xs - centre) / half
    u2 = u * u
    s4, s3, s2, s1 = (float(v) for v in ((u2 * u2).sum(), (u2 * u).sum(), u2.sum(), u.sum()))
    t2, t1, t0 = float((y * u2).sum()), float((y * u).sum()), float(y.sum())
    n = float(u.numel())
    normal = ((s4, s3, s2), (s3, s2, s1), (s2, s1, n))
    det = _det3(normal)
    if abs(det) < 1e-9:
        return 0.0
    return _det3(((t2, s3, s2), (t1, s2, s1), (t0, s1, n))) / det


def _det3(m: tuple[tuple[float, float, float], ...]) -> float:
    """Determinant of a 3x3 matrix given as rows."""
    (a, b, c), (d, e, f), (g, h, i) = m
    return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)


def measure_face(crop: FaceCrop) -> FaceMeasures:
    """Read mouth curvature and openness, and eye openness, off a face crop."""
    rows, cols = _band(_MOUTH_ROWS, _MOUTH_COLS)
    mouth = crop.dark[rows, cols]
    ys, xs = torch.nonzero(mouth, as_tuple=True)
    if ys.numel() < _MIN_MOUTH_PIXELS:
        curvature, mouth_open = 0.0, 0.0
    else:
        curvature = -_parabola(xs, ys) / CROP
        columns = int(mouth.any(0).sum())
        mouth_open = ys.numel() / max(columns, 1) / CROP
    eye_rows, eye_cols = _band(_EYE_ROWS, (0.1, 0.9))
    eye_band = crop.hull[eye_rows, eye_cols] & ~crop.skin[eye_rows, eye_cols]
    return FaceMeasures(curvature, mouth_open, float(eye_band.float().mean()))


def expression_point(m: FaceMeasures) -> tuple[float, float]:
    """Valence from the smile, arousal from how open the mouth and eyes are; both in -1..1."""
    valence = 0.9 * math.tanh(m.curvature / 0.03)
    arousal = -0.65 + 11.0 * m.mouth_open + 1.0 * (m.eye_open - 0.15)
    return valence, max(-1.0, min(1.0, arousal))


def expression_scores(
    crops: Sequence[FaceCrop], keys: Sequence[int], device: torch.device | str = "cpu"
) -> list[dict[str, float]]:
    """The 48 expression scores (label order of reference §8) for each crop."""
    return measured_scores([measure_face(c) for c in crops], keys, device)


def measured_scores(
    measures: Sequence[FaceMeasures], keys: Sequence[int], device: torch.device | str = "cpu"
) -> list[dict[str, float]]:
    """The 48 expression scores for faces already measured (callers that keep the measures)."""
    if not measures:
        return []
    points = [expression_point(m) for m in measures]
    tensor = torch.tensor(points, dtype=torch.float32, device=device)
    scores = affect_scores(tensor, EXPRESSIONS, keys).cpu().tolist()
    return [dict(zip(EXPRESSIONS, row, strict=True)) for row in scores]
