"""The emulator's bitmap font: 5x9-cell glyphs the image OCR reads and the fixtures are drawn in.

Real OCR engines read any typeface; this emulator reads one, defined here, so that text in the
fixture images (and in any image a tester draws with :func:`render_lines`) is read back exactly,
with no model download. Every glyph is 5 units wide and 9 tall: rows 0-6 hold capitals, digits
and the x-height body (baseline under row 6), rows 7-8 the descenders. Text is set on a fixed
6-unit pitch (one blank unit between cells) at an integer ``scale`` (pixels per unit).

Two layout rules make segmentation by blank columns exact, and :func:`check_font` asserts them:
each glyph's ink columns are contiguous (no blank column inside a glyph), and a glyph has at
most two blank columns on either side, so the gap between letters of a word is at most 5 units
while a space leaves at least 7.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

__all__ = [
    "CELL_HEIGHT",
    "CELL_WIDTH",
    "GLYPHS",
    "PITCH",
    "Template",
    "check_font",
    "render_lines",
    "templates",
    "text_width",
]

CELL_WIDTH = 5
CELL_HEIGHT = 9
#: Advance per character, in units (the glyph plus one blank column).
PITCH = 6
#: Rows above the baseline (capitals and digits fill rows 0-6).
BODY_ROWS = 7

_RAW: dict[str, tuple[str, ...]] = {
    "A": (".XXX.", "X...X", "X...X", "XXXXX", "X...X", "X...X", "X...X"),
    "B": ("XXXX.", "X...X", "X...X", "XXXX.", "X...X", "X...X", "XXXX."),
    "C": (".XXX.", "X...X", "X....", "X....", "X....", "X...X", ".XXX."),
    "D": ("XXXX.", "X...X", "X...X", "X...X", "X...X", "X...X", "XXXX."),
    "E": ("XXXXX", "X....", "X....", "XXXX.", "X....", "X....", "XXXXX"),
    "F": ("XXXXX", "X....", "X....", "XXXX.", "X....", "X....", "X...."),
    "G": (".XXX.", "X...X", "X....", "X.XXX", "X...X", "X...X", ".XXXX"),
    "H": ("X...X", "X...X", "X...X", "XXXXX", "X...X", "X...X", "X...X"),
    "I": (".XXX.", "..X..", "..X..", "..X..", "..X..", "..X..", ".XXX."),
    "J": ("..XXX", "...X.", "...X.", "...X.", "...X.", "X..X.", ".XX.."),
    "K": ("X...X", "X..X.", "X.X..", "XX...", "X.X..", "X..X.", "X...X"),
    "L": ("X....", "X....", "X....", "X....", "X....", "X....", "XXXXX"),
    "M": ("X...X", "XX.XX", "X.X.X", "X.X.X", "X...X", "X...X", "X...X"),
    "N": ("X...X", "X...X", "XX..X", "X.X.X", "X..XX", "X...X", "X...X"),
    "O": (".XXX.", "X...X", "X...X", "X...X", "X...X", "X...X", ".XXX."),
    "P": ("XXXX.", "X...X", "X...X", "XXXX.", "X....", "X....", "X...."),
    "Q": (".XXX.", "X...X", "X...X", "X...X", "X.X.X", "X..X.", ".XX.X"),
    "R": ("XXXX.", "X...X", "X...X", "XXXX.", "X.X..", "X..X.", "X...X"),
    "S": (".XXXX", "X....", "X....", ".XXX.", "....X", "....X", "XXXX."),
    "T": ("XXXXX", "..X..", "..X..", "..X..", "..X..", "..X..", "..X.."),
    "U": ("X...X", "X...X", "X...X", "X...X", "X...X", "X...X", ".XXX."),
    "V": ("X...X", "X...X", "X...X", "X...X", "X...X", ".X.X.", "..X.."),
    "W": ("X...X", "X...X", "X...X", "X.X.X", "X.X.X", "X.X.X", ".X.X."),
    "X": ("X...X", "X...X", ".X.X.", "..X..", ".X.X.", "X...X", "X...X"),
    "Y": ("X...X", "X...X", ".X.X.", "..X..", "..X..", "..X..", "..X.."),
    "Z": ("XXXXX", "....X", "...X.", "..X..", ".X...", "X....", "XXXXX"),
    "0": (".XXX.", "X...X", "X..XX", "X.X.X", "XX..X", "X...X", ".XXX."),
    "1": ("..X..", ".XX..", "..X..", "..X..", "..X..", "..X..", ".XXX."),
    "2": (".XXX.", "X...X", "....X", "...X.", "..X..", ".X...", "XXXXX"),
    "3": ("XXXXX", "...X.", "..X..", "...X.", "....X", "X...X", ".XXX."),
    "4": ("...X.", "..XX.", ".X.X.", "X..X.", "XXXXX", "...X.", "...X."),
    "5": ("XXXXX", "X....", "XXXX.", "....X", "....X", "X...X", ".XXX."),
    "6": ("..XX.", ".X...", "X....", "XXXX.", "X...X", "X...X", ".XXX."),
    "7": ("XXXXX", "....X", "...X.", "..X..", ".X...", ".X...", ".X..."),
    "8": (".XXX.", "X...X", "X...X", ".XXX.", "X...X", "X...X", ".XXX."),
    "9": (".XXX.", "X...X", "X...X", ".XXXX", "....X", "...X.", ".XX.."),
    "a": (".....", ".....", ".XXX.", "....X", ".XXXX", "X...X", ".XXXX"),
    "b": ("X....", "X....", "XXXX.", "X...X", "X...X", "X...X", "XXXX."),
    "c": (".....", ".....", ".XXX.", "X....", "X....", "X...X", ".XXX."),
    "d": ("....X", "....X", ".XXXX", "X...X", "X...X", "X...X", ".XXXX"),
    "e": (".....", ".....", ".XXX.", "X...X", "XXXXX", "X....", ".XXX."),
    "f": ("..XX.", ".X..X", ".X...", "XXX..", ".X...", ".X...", ".X..."),
    "g": (".....", ".....", ".XXXX", "X...X", "X...X", "X...X", ".XXXX", "....X", ".XXX."),
    "h": ("X....", "X....", "XXXX.", "X...X", "X...X", "X...X", "X...X"),
    "i": ("..X..", ".....", ".XX..", "..X..", "..X..", "..X..", ".XXX."),
    "j": ("...X.", ".....", "..XX.", "...X.", "...X.", "...X.", "...X.", "X..X.", ".XX.."),
    "k": ("X....", "X....", "X..X.", "X.X..", "XX...", "X.X..", "X..X."),
    "l": ("..X..", "..X..", "..X..", "..X..", "..X..", "..X..", "..X.."),
    "m": (".....", ".....", "XX.X.", "X.X.X", "X.X.X", "X.X.X", "X.X.X"),
    "n": (".....", ".....", "XXXX.", "X...X", "X...X", "X...X", "X...X"),
    "o": (".....", ".....", ".XXX.", "X...X", "X...X", "X...X", ".XXX."),
    "p": (".....", ".....", "XXXX.", "X...X", "X...X", "X...X", "XXXX.", "X....", "X...."),
    "q": (".....", ".....", ".XXXX", "X...X", "X...X", "X...X", ".XXXX", "....X", "....X"),
    "r": (".....", ".....", "X.XX.", "XX..X", "X....", "X....", "X...."),
    "s": (".....", ".....", ".XXXX", "X....", ".XXX.", "....X", "XXXX."),
    "t": (".X...", ".X...", "XXX..", ".X...", ".X...", ".X..X", "..XX."),
    "u": (".....", ".....", "X...X", "X...X", "X...X", "X..XX", ".XX.X"),
    "v": (".....", ".....", "X...X", "X...X", "X...X", ".X.X.", "..X.."),
    "w": (".....", ".....", "X...X", "X...X", "X.X.X", "X.X.X", ".X.X."),
    "x": (".....", ".....", "X...X", ".X.X.", "..X..", ".X.X.", "X...X"),
    "y": (".....", ".....", "X...X", "X...X", "X...X", "X...X", ".XXXX", "....X", ".XXX."),
    "z": (".....", ".....", "XXXXX", "...X.", "..X..", ".X...", "XXXXX"),
    ".": (".....", ".....", ".....", ".....", ".....", ".XX..", ".XX.."),
    ",": (".....", ".....", ".....", ".....", ".....", ".XX..", ".XX..", "..X..", ".X..."),
    ":": (".....", ".XX..", ".XX..", ".....", ".XX..", ".XX..", "....."),
    ";": (".....", ".XX..", ".XX..", ".....", ".XX..", ".XX..", "..X..", ".X..."),
    "-": (".....", ".....", ".....", "XXXXX", ".....", ".....", "....."),
    "+": (".....", "..X..", "..X..", "XXXXX", "..X..", "..X..", "....."),
    "=": (".....", ".....", "XXXXX", ".....", "XXXXX", ".....", "....."),
    "@": (".XXX.", "X...X", "X.XXX", "X.X.X", "X.XXX", "X....", ".XXXX"),
    "(": ("...X.", "..X..", ".X...", ".X...", ".X...", "..X..", "...X."),
    ")": (".X...", "..X..", "...X.", "...X.", "...X.", "..X..", ".X..."),
    "/": ("....X", "....X", "...X.", "..X..", ".X...", "X....", "X...."),
    "'": ("..X..", "..X..", ".X...", ".....", ".....", ".....", "....."),
    "!": ("..X..", "..X..", "..X..", "..X..", "..X..", ".....", "..X.."),
    "?": (".XXX.", "X...X", "....X", "...X.", "..X..", ".....", "..X.."),
    "&": (".XX..", "X..X.", "X.X..", ".X...", "X.X.X", "X..X.", ".XX.X"),
    "#": (".X.X.", ".X.X.", "XXXXX", ".X.X.", "XXXXX", ".X.X.", ".X.X."),
    "%": ("XX...", "XX..X", "...X.", "..X..", ".X...", "X..XX", "...XX"),
    "_": (".....", ".....", ".....", ".....", ".....", ".....", ".....", ".....", "XXXXX"),
    "*": (".....", "X.X.X", ".XXX.", "XXXXX", ".XXX.", "X.X.X", "....."),
    "$": ("..X..", ".XXXX", "X.X..", ".XXX.", "..X.X", "XXXX.", "..X.."),
    "€": ("..XXX", ".X...", "XXXX.", ".X...", "XXXX.", ".X...", "..XXX"),
}


def _bitmap(rows: tuple[str, ...]) -> np.ndarray:
    full = rows + (".....",) * (CELL_HEIGHT - len(rows))
    return np.array([[c == "X" for c in row] for row in full], dtype=bool)


#: Every glyph as a ``[9, 5]`` boolean array (True = ink).
GLYPHS: dict[str, np.ndarray] = {ch: _bitmap(rows) for ch, rows in _RAW.items()}


@dataclass(frozen=True)
class Template:
    """A glyph cropped to its ink columns: what a segmented character is compared with."""

    char: str
    bitmap: np.ndarray  # [9, width] bool
    #: Blank columns left of the ink in the 5-unit cell (for placing boxes).
    offset: int

    @property
    def width(self) -> int:
        return int(self.bitmap.shape[1])


def _crop(ch: str, glyph: np.ndarray) -> Template:
    cols = np.flatnonzero(glyph.any(axis=0))
    return Template(ch, glyph[:, cols[0] : cols[-1] + 1], int(cols[0]))


_TEMPLATES: tuple[Template, ...] = tuple(_crop(ch, g) for ch, g in GLYPHS.items())


def templates() -> tuple[Template, ...]:
    """All glyph templates, in the font's order."""
    return _TEMPLATES


def check_font() -> None:
    """Assert the layout rules the segmenter relies on (see the module docstring)."""
    seen: dict[bytes, str] = {}
    for t in _TEMPLATES:
        ink = t.bitmap.any(axis=0)
        assert ink.all(), f"glyph {t.char!r} has a blank column inside"
        assert t.offset <= 2 and CELL_WIDTH - t.offset - t.width <= 2, t.char
        key = t.bitmap.tobytes() + bytes([t.width])
        assert key not in seen, f"glyphs {t.char!r} and {seen[key]!r} are identical"
        seen[key] = t.char


def text_width(text: str, scale: int) -> int:
    """Pixels a single line of ``text`` advances at ``scale``."""
    return len(text) * PITCH * scale


def render_lines(
    size: tuple[int, int],
    lines: list[tuple[int, int, str]],
    *,
    scale: int = 2,
    ink: tuple[int, int, int] = (0, 0, 0),
    paper: tuple[int, int, int] = (255, 255, 255),
    image: Image.Image | None = None,
) -> Image.Image:
    """Draw ``(x, y, text)`` lines (``y`` = cell top, pixels) in this font on an RGB image.

    Characters without a glyph are left blank (a space); pass ``image`` to draw over a scene.
    """
    img = image if image is not None else Image.new("RGB", size, paper)
    draw = ImageDraw.Draw(img)
    for x0, y0, text in lines:
        for i, ch in enumerate(text):
            glyph = GLYPHS.get(ch)
            if glyph is None:
                continue
            gx = x0 + i * PITCH * scale
            for r, c in zip(*np.nonzero(glyph), strict=True):
                x, y = gx + int(c) * scale, y0 + int(r) * scale
                draw.rectangle((x, y, x + scale - 1, y + scale - 1), fill=ink)
    return img
