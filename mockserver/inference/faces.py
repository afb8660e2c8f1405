"""Find face-like skin-tone blobs in an RGB image and score how face-like each one is.

No learned weights are available to the emulator, so this is a classic colour-and-shape
heuristic, not a face detector:

1. Sample the image on a grid whose long side is about 160 cells (one pixel per cell).
2. Mark skin-tone cells in YCbCr (Chai & Ngan's chroma box 77 <= Cb <= 127, 133 <= Cr <= 173,
   plus luma >= 60 so dark lips, brows and hair are not skin), then close and open the mask
   (3x3) to fill eye and mouth holes and drop specks.
3. Label 8-connected blobs: horizontal runs come from the mask by tensor ops; a union-find
   over the runs (a few hundred, on the CPU) joins them.
4. Verify each plausible blob at full resolution: a tight box from the full-resolution skin
   mask in thin strips around the blob's edges, then a 96x96 resampled crop checked for an
   elliptical outline (row widths against an ellipse's), a face-like aspect, a majority of
   skin, dark non-skin features in the eye band on both halves, and a dark mouth in the lower
   third. The shortfalls are summed into a logit and ``prob = sigmoid(logit)``: a clear face
   scores above 0.999, a featureless skin-toned ellipse about 0.3, a skin-toned rectangle ~0.

Limits, honestly: it finds skin-coloured ellipses with dark features, nothing more. Faces in
profile, under coloured light, in greyscale images, touching other skin (a neck, a hand, a
second face) or cut by the frame edge score low or merge; skin-toned walls, sand or wood can
form blobs (rejected by the shape checks when they are not face-shaped). Faces narrower than
about 5 grid cells are not seen: 20 px in a 640x480 picture; a large picture gets a finer grid
so that a ``min_face_size`` face still spans 6 cells.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from .vision_blobs import (
    Blob,
    blobs,
    clean_mask,
    count_along,
    grid_planes,
    luma,
    planes,
    skin_mask,
    skin_of,
)
from .vision_decode import Image

__all__ = ["CROP", "Box", "Detection", "FaceCrop", "detect_faces", "face_logit", "grid_factor"]

GRID_LONG = 160  # target long side of the detection grid, in cells
MIN_GRID_CELLS = 6  # a min_face_size face must still span this many cells
MAX_GRID_CELLS = 250_000  # bounds the run count the CPU union-find sees
MAX_CANDIDATES = 16  # largest blobs verified per image
CROP = 96  # side of the canonical face crop
_SAMPLE = 144  # a face is sampled on at most this many points a side, then resized to CROP
_RESIZE: dict[str, Any] = {"mode": "bilinear", "antialias": True, "align_corners": False}


@dataclass(frozen=True)
class Box:
    """A face box in pixels, top-left origin (Hume's ``box {x, y, w, h}``, reference §7)."""

    x: float
    y: float
    w: float
    h: float

    @property
    def centre(self) -> tuple[float, float]:
        """Centre point (x, y)."""
        return (self.x + self.w / 2, self.y + self.h / 2)

    def iou(self, other: Box) -> float:
        """Intersection over union with ``other`` (0 when they do not overlap)."""
        ix = max(0.0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0.0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        inter = ix * iy
        union = self.w * self.h + other.w * other.h - inter
        return inter / union if union > 0 else 0.0


@dataclass(frozen=True)
class FaceCrop:
    """A face resampled to ``CROP x CROP``: luma, skin mask, row-filled outline, dark features."""

    luma: torch.Tensor
    skin: torch.Tensor
    hull: torch.Tensor
    dark: torch.Tensor


@dataclass(frozen=True)
class Detection:
    """A face-like blob: its full-resolution box, how face-like it looked, and its crop."""

    box: Box
    prob: float
    crop: FaceCrop


def grid_factor(height: int, width: int, min_face_size: int) -> int:
    """Integer grid step: long side near ``GRID_LONG`` cells, small faces still 6 cells wide.

    A grid plane of ~19,000 cells keeps every operation single-threaded and cheap; large
    images get a finer grid only as far as ``min_face_size`` needs.
    """
    want = max(1, round(max(height, width) / GRID_LONG))
    keep_small = max(1, max(min_face_size, 24) // MIN_GRID_CELLS)
    f = min(want, keep_small)
    while (height // f) * (width // f) > MAX_GRID_CELLS:
        f += 1
    return f


def _span(counts: list[int], need: float) -> tuple[int, int] | None:
    """First and one-past-last index whose count reaches ``need``."""
    hits = [i for i, c in enumerate(counts) if c >= need]
    return (hits[0], hits[-1] + 1) if hits else None


def _tight_box(pixels: torch.Tensor, blob: Blob, f: int) -> tuple[int, int, int, int] | None:
    """Full-resolution (top, bottom, left, right), exclusive ends, of a blob's skin.

    The grid box is within a few cells of the true edge (cells straddle it, the opening trims
    the tips of an ellipse), so the skin mask is taken 3 cells around it. A row or column
    counts when at least 8% of the blob's extent is skin: an ellipse's tip passes within a
    pixel, stray skin-toned pixels (hair or background blended by compression) do not.
    """
    y0, x0 = max(0, (blob.top - 3) * f), max(0, (blob.left - 3) * f)
    y1 = min(pixels.shape[0], (blob.bottom + 4) * f)
    x1 = min(pixels.shape[1], (blob.right + 4) * f)
    skin = skin_of(pixels[y0:y1, x0:x1])
    inner_x = slice((blob.left - 1) * f - x0 if blob.left else 0, (blob.right + 2) * f - x0)
    rows = _span(count_along(skin[:, inner_x], 1), max(2.0, 0.08 * (blob.right - blob.left) * f))
    if rows is None:
        return None
    cols = _span(count_along(skin[rows[0] : rows[1]], 0), max(2.0, 0.08 * (rows[1] - rows[0])))
    if cols is None:
        return None
    return y0 + rows[0], y0 + rows[1], x0 + cols[0], x0 + cols[1]


def face_crop(pixels: torch.Tensor, box: tuple[int, int, int, int]) -> FaceCrop | None:
    """Resample the box to ``CROP x CROP`` and find its skin, outline and dark features.

    The box is first sampled with an integer stride to at most ``_SAMPLE`` points a side
    (a strided view, cheap), then resized per channel with an antialiased bilinear filter.
    """
    top, bottom, left, right = box
    sy, sx = -(-(bottom - top) // _SAMPLE), -(-(right - left) // _SAMPLE)
    view = pixels[top:bottom:sy, left:right:sx]
    r, g, b = (
        F.interpolate(p[None, None], size=(CROP, CROP), **_RESIZE)[0, 0] for p in planes(view)
    )
    skin = skin_mask((r, g, b))
    if not bool(skin.any()):
        return None
    y = luma((r, g, b))
    index = torch.arange(CROP, device=pixels.device)
    first = torch.where(skin, index, CROP).amin(1, keepdim=True)
    last = torch.where(skin, index, -1).amax(1, keepdim=True)
    hull = (index >= first) & (index <= last)
    skin_luma = (y * skin).sum() / skin.sum()  # not y[skin]: boolean indexing is slow
    dark = hull & ~skin & (y < 0.6 * skin_luma)
    return FaceCrop(luma=y, skin=skin, hull=hull, dark=dark)


def _fraction(mask: torch.Tensor, rows: tuple[float, float], cols: tuple[float, float]) -> float:
    """Share of set cells in a band of the crop given as fractions of its side."""
    r0, r1 = (round(v * CROP) for v in rows)
    c0, c1 = (round(v * CROP) for v in cols)
    return float(mask[r0:r1, c0:c1].float().mean())


def face_logit(crop: FaceCrop, aspect: float) -> float:
    """Sum the shortfalls of outline, aspect, skin share, eyes and mouth into a logit.

    A crop meeting every check scores about 9 (prob 0.9999), a little more the closer its
    outline is to an ellipse; each missing cue costs enough that a featureless ellipse, or one
    with eyes but no mouth, stays below Hume's 0.99 default.
    """
    v = (torch.arange(CROP, device=crop.hull.device, dtype=torch.float32) + 0.5) / CROP * 2 - 1
    widths = crop.hull.float().sum(1) / CROP
    outline_err = float((widths - (1 - v * v).clamp(min=0).sqrt()).abs().mean())
    skin_share = float(crop.skin.sum()) / max(1.0, float(crop.hull.sum()))
    eyes = min(
        _fraction(crop.dark, (0.2, 0.55), (0.1, 0.5)),
        _fraction(crop.dark, (0.2, 0.55), (0.5, 0.9)),
    )
    mouth = _fraction(crop.dark, (0.58, 0.95), (0.2, 0.8))
    return (
        8.0
        + 30.0 * (0.05 - outline_err)  # a cleaner outline: a slightly surer face
        - 60.0 * max(0.0, outline_err - 0.05)
        - 10.0 * max(0.0, abs(math.log(aspect / 1.3)) - 0.37)
        - 20.0 * max(0.0, 0.7 - skin_share)
        - 6.0 * max(0.0, 1.0 - eyes / 0.02)
        - 5.0 * max(0.0, 1.0 - mouth / 0.015)
    )


@torch.inference_mode()
def detect_faces(
    image: Image, *, min_face_size: int = 60, device: torch.device | str = "cpu"
) -> list[Detection]:
    """Face-like skin blobs in ``image`` with both box sides >= ``min_face_size`` pixels.

    Boxes are full-resolution pixel floats; results are ordered left to right (then top to
    bottom) so the order, like everything else here, depends only on the pixels.
    """
    pixels = image.pixels.to(device)
    f = grid_factor(image.height, image.width, min_face_size)
    grid = clean_mask(skin_mask(grid_planes(pixels, f)))
    min_cells = max(4, min(MIN_GRID_CELLS, int(0.7 * min_face_size / f)))
    found = []
    for blob in blobs(grid)[:MAX_CANDIDATES]:
        if min(blob.bottom - blob.top, blob.right - blob.left) + 1 < min_cells:
            continue
        tight = _tight_box(pixels, blob, f)
        if tight is None:
            continue
        top, bottom, left, right = tight
        if min(bottom - top, right - left) < max(min_face_size, 1):
            continue
        crop = face_crop(pixels, tight)
        if crop is None:
            continue
        prob = 1.0 / (1.0 + math.exp(-face_logit(crop, (bottom - top) / (right - left))))
        box = Box(float(left), float(top), float(right - left), float(bottom - top))
        found.append(Detection(box, prob, crop))
    return sorted(found, key=lambda d: (d.box.x, d.box.y))
