"""Read text from pixels: binarise, cut lines and glyphs by projection, match the font.

The image reader knows one typeface, :mod:`ocr_font`, at any integer scale. A page is turned
into ink/paper with Otsu's threshold (the minority class is ink, so light-on-dark captions read
too), cut into text rows by the row profile, and each row into glyphs by blank columns (the
font guarantees a blank column between glyphs and none inside one). The scale is the most
common horizontal ink-run length (a one-unit stroke), the baseline the most common glyph
bottom; each glyph is sampled into a unit grid by majority vote, which also removes noise and
JPEG ringing, and compared with the font's templates of the same width. A glyph that matches
no template well is dropped rather than guessed, so an image in another typeface yields no
text (the caller may then fall back to a sidecar file).

All work is numpy on small arrays; nothing here touches torch's thread pool.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from .ocr_font import CELL_HEIGHT, Template, templates
from .ocr_types import Box, Line, Page, Word

__all__ = ["MAX_DISTANCE", "binarise", "read_pixels"]

#: A glyph whose grid differs from its best template in more than this share of cells is not
#: text in our font: it is dropped, never guessed.
MAX_DISTANCE = 0.2
#: ... and a row where fewer than this share of the pieces match is dropped whole.
MIN_READ_SHARE = 0.7
_BODY = 7


@dataclass(frozen=True)
class _Glyph:
    char: str
    left: int
    right: int  # inclusive
    top: int
    bottom: int  # inclusive
    confidence: float


def binarise(gray: np.ndarray) -> np.ndarray:
    """Ink mask of a ``[H, W]`` uint8 image: Otsu's threshold, ink = the minority side."""
    hist = np.bincount(gray.ravel(), minlength=256).astype(np.float64)
    total = hist.sum()
    if total == 0:
        return np.zeros_like(gray, dtype=bool)
    levels = np.arange(256, dtype=np.float64)
    w0 = np.cumsum(hist)
    m0 = np.cumsum(hist * levels)
    w1 = total - w0
    mean_all = m0[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mean_all * w0 / total - m0) ** 2 / (w0 * w1)
    between = np.nan_to_num(between)
    t = int(np.argmax(between))
    if between[t] <= 0:  # a flat image: no ink at all
        return np.zeros_like(gray, dtype=bool)
    dark = gray <= t
    return dark if dark.sum() * 2 <= dark.size else ~dark


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive (start, end) runs of True in a 1-D mask."""
    padded = np.concatenate(([False], mask, [False]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _stroke(band: np.ndarray) -> int:
    """Pixels per font unit: the most common horizontal ink-run length in a text row."""
    lengths: Counter[int] = Counter()
    for row in band:
        for a, b in _runs(row):
            lengths[b - a + 1] += 1
    if not lengths:
        return 1
    best = max(lengths.items(), key=lambda kv: (kv[1], -kv[0]))[0]
    return max(1, best)


def _grid(ink: np.ndarray, top: int, left: int, width: int, scale: int) -> np.ndarray:
    """Majority-vote ``[9, width]`` unit grid of the glyph whose cell starts at (top, left)."""
    h, w = ink.shape
    out = np.zeros((CELL_HEIGHT, width), dtype=bool)
    for r in range(CELL_HEIGHT):
        y0, y1 = top + r * scale, top + (r + 1) * scale
        if y1 <= 0 or y0 >= h:
            continue
        for c in range(width):
            x0, x1 = left + c * scale, left + (c + 1) * scale
            block = ink[max(0, y0) : min(h, y1), max(0, x0) : min(w, x1)]
            out[r, c] = block.size > 0 and block.sum() * 2 > scale * scale
    return out


def _match(grid: np.ndarray) -> tuple[str, float] | None:
    """Best template of the grid's width, and its distance; None when none is close."""
    width = grid.shape[1]
    best: tuple[float, int, Template] | None = None
    for order, tpl in enumerate(templates()):
        if tpl.width != width:
            continue
        distance = float(np.mean(tpl.bitmap != grid))
        if best is None or (distance, order) < best[:2]:
            best = (distance, order, tpl)
    if best is None or best[0] > MAX_DISTANCE:
        return None
    return best[2].char, best[0]


def _read_row(ink: np.ndarray, top: int, bottom: int) -> tuple[list[_Glyph], int]:
    """The glyphs of one text row (rows ``top..bottom`` of the ink mask) and the scale."""
    band = ink[top : bottom + 1]
    scale = _stroke(band)
    cols = np.asarray(band.any(axis=0), dtype=bool)
    pieces = []
    for a, b in _runs(cols):
        rows = np.flatnonzero(band[:, a : b + 1].any(axis=1))
        pieces.append((a, b, top + int(rows[0]), top + int(rows[-1])))
    # Specks narrower and shorter than a stroke are noise, not glyphs.
    pieces = [p for p in pieces if (p[1] - p[0] + 1) * 2 >= scale or (p[3] - p[2] + 1) >= scale]
    if not pieces:
        return [], scale
    bottoms = Counter(p[3] for p in pieces)
    baseline = max(bottoms.items(), key=lambda kv: (kv[1], kv[0]))[0]
    cell_top = baseline - _BODY * scale + 1
    glyphs = []
    for a, b, t, btm in pieces:
        width = max(1, round((b - a + 1) / scale))
        found = _match(_grid(ink, cell_top, a, width, scale))
        if found is None:
            continue
        char, distance = found
        glyphs.append(_Glyph(char, a, b, t, btm, 1.0 - distance))
    # A row of another typeface matches a few stray pieces (a dot, a bar): unless most pieces
    # read as our glyphs and some are letters or digits, the row is not text we can read.
    if len(glyphs) < MIN_READ_SHARE * len(pieces) or not any(g.char.isalnum() for g in glyphs):
        return [], scale
    return glyphs, scale


def _words(glyphs: list[_Glyph], scale: int, size: tuple[int, int]) -> list[Line]:
    """Group a row's glyphs into words (gap >= 6 units) and lines (gap >= 18 units)."""
    w, h = size
    lines: list[Line] = []
    words: list[Word] = []
    current: list[_Glyph] = []

    def close_word() -> None:
        if current:
            left = min(g.left for g in current)
            right = max(g.right for g in current)
            top = min(g.top for g in current)
            bottom = max(g.bottom for g in current)
            box = Box(left / w, top / h, (right - left + 1) / w, (bottom - top + 1) / h)
            conf = min(g.confidence for g in current)
            words.append(Word("".join(g.char for g in current), box, conf))
            current.clear()

    def close_line() -> None:
        close_word()
        if words:
            lines.append(Line(tuple(words)))
            words.clear()

    for g in glyphs:
        if current:
            gap = g.left - current[-1].right - 1
            if gap >= 18 * scale:
                close_line()
            elif gap >= 6 * scale:
                close_word()
        current.append(g)
    close_line()
    return lines


def _text_rows(ink: np.ndarray) -> list[tuple[int, int]]:
    """Row runs with ink, a detached run (an ``i``'s dot) merged into its neighbour below.

    A run is detached when it is no taller than the gap under it and that gap is no taller
    than it: an ``i`` dot (one unit, one unit above the body) qualifies; two text lines (at
    least five units tall, three apart) do not.
    """
    runs = _runs(np.asarray(ink.any(axis=1), dtype=bool))
    merged: list[tuple[int, int]] = []
    for run in runs:
        if merged:
            top, bottom = merged[-1]
            gap = run[0] - bottom - 1
            height = bottom - top + 1
            if gap <= height * 1.5 and height <= gap * 1.5 and height * 2 <= run[1] - run[0] + 1:
                merged[-1] = (top, run[1])
                continue
        merged.append(run)
    return merged


def read_pixels(gray: np.ndarray, number: int = 1) -> tuple[Page, int]:
    """Read a ``[H, W]`` uint8 greyscale page; returns the page and the most common scale."""
    h, w = gray.shape
    ink = binarise(gray)
    lines: list[Line] = []
    scales: Counter[int] = Counter()
    for top, bottom in _text_rows(ink):
        glyphs, scale = _read_row(ink, top, bottom)
        if glyphs:
            scales[scale] += len(glyphs)
            lines.extend(_words(glyphs, scale, (w, h)))
    lines.sort(key=lambda ln: (round(ln.box.top, 3), ln.box.left))
    scale = scales.most_common(1)[0][0] if scales else 0
    return Page(number, float(w), float(h), tuple(lines)), scale
