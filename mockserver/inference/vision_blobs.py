"""Skin-tone masks and their connected blobs, built from small tensor operations.

The detector of :mod:`faces` works on a coarse grid. Everything here keeps each tensor
operation small (a grid plane is ~19,000 cells), below the size at which PyTorch splits an
operation across threads: on a busy 2-core host an OpenMP team waiting for a descheduled
thread costs milliseconds per operation, while a small single-threaded one costs microseconds.
Connected components are found by a union-find over horizontal runs on the CPU (a few hundred
runs for a photo), which is exact, deterministic and far cheaper than iterative propagation.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = [
    "Blob",
    "Planes",
    "blobs",
    "clean_mask",
    "count_along",
    "grid_planes",
    "luma",
    "planes",
    "skin_mask",
    "skin_of",
]


@dataclass(frozen=True)
class Blob:
    """One 8-connected blob of a grid mask: cell count and inclusive bounding rows/columns."""

    area: int
    top: int
    bottom: int
    left: int
    right: int


Planes = tuple[torch.Tensor, torch.Tensor, torch.Tensor]
_GRAIN = 32_768  # PyTorch splits element-wise operations across threads above this size


def _mix(p: Planes, kr: float, kg: float, kb: float) -> torch.Tensor:
    """``kr*R + kg*G + kb*B`` in three operations."""
    return (p[0] * kr).add_(p[1], alpha=kg).add_(p[2], alpha=kb)


def luma(p: Planes) -> torch.Tensor:
    """ITU-R BT.601 luma of float R, G, B planes in 0..255."""
    return _mix(p, 0.299, 0.587, 0.114)


def skin_mask(p: Planes) -> torch.Tensor:
    """Skin-toned pixels of float R, G, B planes (0..255): Chai & Ngan's CbCr box.

    77 <= Cb <= 127 and 133 <= Cr <= 173 (written relative to 128 below), and luma at least
    60, so the dark lips, brows and hair that frame a face are not skin.
    """
    cb = _mix(p, -0.168736, -0.331264, 0.5)
    cr = _mix(p, 0.5, -0.418688, -0.081312)
    mask = luma(p) >= 60
    mask &= cb >= -51
    mask &= cb <= -1
    mask &= cr >= 5
    mask &= cr <= 45
    return mask


def planes(pixels: torch.Tensor) -> Planes:
    """Float R, G, B planes of an ``[H, W, 3]`` uint8 image or view (one op a channel)."""
    return pixels[..., 0].float(), pixels[..., 1].float(), pixels[..., 2].float()


def skin_of(pixels: torch.Tensor) -> torch.Tensor:
    """Skin mask of an ``[H, W, 3]`` uint8 view, in row chunks that stay single-threaded."""
    rows = max(1, _GRAIN // max(1, pixels.shape[1]))
    parts = [skin_mask(planes(pixels[r : r + rows])) for r in range(0, pixels.shape[0], rows)]
    return parts[0] if len(parts) == 1 else torch.cat(parts)


def count_along(mask: torch.Tensor, dim: int) -> list[int]:
    """Per-row (``dim=1``) or per-column (``dim=0``) counts of a mask, summed in row chunks."""
    rows = max(1, _GRAIN // max(1, mask.shape[1]))
    parts = [mask[r : r + rows].sum(dim) for r in range(0, mask.shape[0], rows)]
    if dim == 1:
        return torch.cat(parts).tolist()
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total.tolist()


def grid_planes(pixels: torch.Tensor, f: int) -> Planes:
    """Cell colours of an ``f``-times coarser grid: the pixel at each cell's centre.

    A strided view, one conversion per channel: averaging more samples per cell costs more
    than it gains, since the blob only has to be found here and its edges are measured at
    full resolution afterwards.
    """
    h, w = pixels.shape[0] // f, pixels.shape[1] // f
    return planes(pixels[f // 2 :: f, f // 2 :: f][:h, :w])


def _erode(mask: torch.Tensor) -> torch.Tensor:
    """3x3 erosion by shifted ANDs (rows, then columns): cheaper than a pooling kernel."""
    out = mask.clone()
    out[1:] &= mask[:-1]
    out[:-1] &= mask[1:]
    rows = out.clone()
    out[:, 1:] &= rows[:, :-1]
    out[:, :-1] &= rows[:, 1:]
    return out


def _dilate(mask: torch.Tensor) -> torch.Tensor:
    """3x3 dilation by shifted ORs (rows, then columns)."""
    out = mask.clone()
    out[1:] |= mask[:-1]
    out[:-1] |= mask[1:]
    rows = out.clone()
    out[:, 1:] |= rows[:, :-1]
    out[:, :-1] |= rows[:, 1:]
    return out


def clean_mask(mask: torch.Tensor) -> torch.Tensor:
    """3x3 closing, then opening: fills eye- and mouth-sized holes, then drops specks.

    Closing first keeps a small face in one piece (its eyes and mouth would otherwise cut it
    into bands); opening then removes isolated skin-toned cells and one-cell bridges.
    """
    closed = _erode(_dilate(mask))
    return _dilate(_erode(closed))


def _runs(mask: torch.Tensor) -> list[tuple[int, int, int]]:
    """Horizontal runs ``(row, first, last)`` of a boolean mask, in row-major order."""
    edges = F.pad(mask.to(torch.int8), (1, 1))
    step = edges[:, 1:] - edges[:, :-1]
    starts = torch.nonzero(step == 1).tolist()
    ends = torch.nonzero(step == -1).tolist()
    return [(r, c0, c1 - 1) for (r, c0), (_, c1) in zip(starts, ends, strict=True)]


def _find(parent: list[int], i: int) -> int:
    """Root of ``i``, halving the path on the way."""
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def _join_rows(runs: list[tuple[int, int, int]], parent: list[int]) -> None:
    """Union runs of consecutive rows that touch, diagonals included (8-connectivity)."""
    prev: list[int] = []
    cur: list[int] = []
    row = -2
    for i, (r, _, _) in enumerate([*runs, (-1, 0, 0)]):
        if r != row:
            if cur and prev and runs[prev[0]][0] == row - 1:
                _union_touching(runs, prev, cur, parent)
            prev, cur, row = cur, [], r
        cur.append(i)


def _union_touching(
    runs: list[tuple[int, int, int]], upper: list[int], lower: list[int], parent: list[int]
) -> None:
    """Merge-walk two rows' runs, joining each overlapping or diagonal pair (smaller root wins)."""
    a = b = 0
    while a < len(upper) and b < len(lower):
        _, s1, e1 = runs[upper[a]]
        _, s2, e2 = runs[lower[b]]
        if s1 <= e2 + 1 and s2 <= e1 + 1:
            ra, rb = _find(parent, upper[a]), _find(parent, lower[b])
            parent[max(ra, rb)] = min(ra, rb)
        if e1 < e2:
            a += 1
        else:
            b += 1


def blobs(mask: torch.Tensor) -> list[Blob]:
    """8-connected blobs of a boolean ``[H, W]`` mask, largest first (ties: top, then left)."""
    runs = _runs(mask)
    parent = list(range(len(runs)))
    _join_rows(runs, parent)
    stats: dict[int, list[int]] = {}
    for i, (r, c0, c1) in enumerate(runs):
        s = stats.setdefault(_find(parent, i), [0, r, r, c0, c1])
        s[0] += c1 - c0 + 1
        s[1], s[2] = min(s[1], r), max(s[2], r)
        s[3], s[4] = min(s[3], c0), max(s[4], c1)
    found = [Blob(*s) for s in stats.values()]
    return sorted(found, key=lambda b: (-b.area, b.top, b.left))
