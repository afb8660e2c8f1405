"""Read a document's text: a PDF's text layer, or glyphs in an image, or the sidecar text.

The entry point of the emulator's OCR (Eden AI's ``ocr/*_async`` subfeatures and video text
detection use it). Everything is real reading, deterministic and local:

* a PDF (``%PDF-`` magic) is parsed and its text operators placed (:mod:`pdf_read`); an
  encrypted one needs its user password, as the vendors' APIs do (Eden's ``file_password``);
* an image is decoded with Pillow and read by glyph matching (:mod:`ocr_image`), which knows
  the emulator's bitmap font (:mod:`ocr_font`) at any integer scale;
* an image in another typeface yields no glyphs; then the sidecar text (the ``.txt`` beside a
  fixture) is returned if there is one, with boxes taken from the ink rows found. Text is never
  invented.

Anything else raises :class:`UnreadableDocument`.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .ocr_image import binarise, read_pixels
from .ocr_types import (
    Box,
    Document,
    Line,
    Page,
    PasswordProtected,
    UnreadableDocument,
    Word,
)
from .pdf_read import read_pdf

__all__ = [
    "Document",
    "PasswordProtected",
    "UnreadableDocument",
    "gray_pixels",
    "read_document",
    "read_image",
]

#: Pillow formats accepted (as :mod:`vision_decode`): untrusted uploads get the common ones.
_FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF")
_SIDECAR_CONFIDENCE = 0.5


def gray_pixels(data: bytes) -> np.ndarray:
    """Decode an image to ``[H, W]`` uint8 luma (EXIF orientation applied, alpha on white)."""
    try:
        img: Image.Image = Image.open(io.BytesIO(data), formats=_FORMATS)
        img.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise UnreadableDocument("not a PDF or a decodable image") from None
    img = ImageOps.exif_transpose(img) or img
    if img.mode in ("RGBA", "LA", "P"):
        rgba = img.convert("RGBA")
        base = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(base, rgba)
    return np.asarray(img.convert("L"), dtype=np.uint8)


def _sidecar_page(gray: np.ndarray, text: str) -> Page:
    """The sidecar's lines, boxed by the image's ink rows when their counts agree."""
    h, w = gray.shape
    texts = [t.strip() for t in text.splitlines() if t.strip()]
    ink = binarise(gray)
    rows = np.flatnonzero(ink.any(axis=1))
    bands: list[tuple[int, int]] = []
    if rows.size:
        start = prev = int(rows[0])
        for r in rows[1:]:
            if r > prev + 1:
                bands.append((start, prev))
                start = int(r)
            prev = int(r)
        bands.append((start, prev))
    lines = []
    for i, t in enumerate(texts):
        if len(bands) == len(texts):
            top, bottom = bands[i]
            cols = np.flatnonzero(ink[top : bottom + 1].any(axis=0))
            box = Box(cols[0] / w, top / h, (cols[-1] - cols[0] + 1) / w, (bottom - top + 1) / h)
        else:  # stack the lines evenly: the words are known, their places are not
            box = Box(0.0, i / len(texts), 1.0, 1.0 / len(texts))
        words = t.split()
        step = box.width / len(words)
        lines.append(
            Line(
                tuple(
                    Word(
                        word,
                        Box(box.left + j * step, box.top, step, box.height),
                        _SIDECAR_CONFIDENCE,
                    )
                    for j, word in enumerate(words)
                )
            )
        )
    return Page(1, float(w), float(h), tuple(lines))


def read_image(gray: np.ndarray, sidecar: str | None = None) -> Document:
    """Read a greyscale page; falls back to ``sidecar`` when no glyph of our font is found."""
    page, scale = read_pixels(gray)
    if page.lines:
        return Document("image", (page,), "glyphs", (scale,))
    if sidecar and sidecar.strip():
        return Document("image", (_sidecar_page(gray, sidecar),), "sidecar", (0,))
    return Document("image", (page,), "none", (0,))


def read_document(
    data: bytes,
    *,
    password: str | None = None,
    sidecar: str | None = None,
    device: Any = None,
) -> Document:
    """Read ``data`` (a PDF or an image). ``device`` is accepted for the media executor.

    Raises :class:`PasswordProtected` for an encrypted PDF without the right password and
    :class:`UnreadableDocument` for anything that is neither a PDF nor an image.
    """
    del device  # numpy only: small arrays, no accelerator needed
    if not data:
        raise UnreadableDocument("empty file")
    if data[:1024].lstrip().startswith(b"%PDF-") or b"%PDF-" in data[:1024]:
        pages = read_pdf(data, password)
        return Document("pdf", tuple(pages), "text-layer")
    return read_image(gray_pixels(data), sidecar)
