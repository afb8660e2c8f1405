"""What the OCR engine reads out of a document: pages of lines of words, with boxes.

Boxes are relative to the page (0..1, top-left origin), as Eden AI's OCR results carry them
(``edenai/edenai-apis`` ``ocr_async_response.json``: ``left 0.141, top 0.028, width 0.114``);
the page's own size is kept so callers can turn them back into pixels or points.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Box", "Document", "Line", "Page", "UnreadableDocument", "PasswordProtected", "Word"]


class UnreadableDocument(ValueError):
    """The bytes are neither a PDF we can parse nor an image we can open."""


class PasswordProtected(UnreadableDocument):
    """An encrypted PDF and no (or a wrong) password."""


@dataclass(frozen=True)
class Box:
    """A rectangle relative to its page: every field in 0..1."""

    left: float
    top: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height

    @staticmethod
    def union(boxes: list[Box]) -> Box:
        """The smallest box holding all of ``boxes`` (which must not be empty)."""
        left = min(b.left for b in boxes)
        top = min(b.top for b in boxes)
        right = max(b.right for b in boxes)
        bottom = max(b.bottom for b in boxes)
        return Box(left, top, right - left, bottom - top)

    def as_dict(self, digits: int = 6) -> dict[str, float]:
        return {
            "left": round(self.left, digits),
            "top": round(self.top, digits),
            "width": round(self.width, digits),
            "height": round(self.height, digits),
        }


@dataclass(frozen=True)
class Word:
    text: str
    box: Box
    #: 0..1: 1 for a PDF's text layer, the glyph match quality for an image.
    confidence: float


@dataclass(frozen=True)
class Line:
    """Words on one baseline that belong together (a table row's cells are separate lines)."""

    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def box(self) -> Box:
        return Box.union([w.box for w in self.words])

    @property
    def confidence(self) -> float:
        return min(w.confidence for w in self.words)


@dataclass(frozen=True)
class Page:
    #: 1-based.
    number: int
    #: Points for a PDF page, pixels for an image.
    width: float
    height: float
    lines: tuple[Line, ...]

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


@dataclass(frozen=True)
class Document:
    kind: Literal["pdf", "image"]
    pages: tuple[Page, ...]
    #: How the text was obtained: the PDF text layer, glyph matching, or the sidecar file.
    source: Literal["text-layer", "glyphs", "sidecar", "none"] = "none"
    #: For images: the pixel scale the glyphs were read at (per page; 0 when unknown).
    scales: tuple[int, ...] = field(default=())

    @property
    def text(self) -> str:
        return "\n".join(p.text for p in self.pages if p.text)
