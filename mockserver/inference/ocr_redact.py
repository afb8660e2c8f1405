"""Black out personal data: boxes painted over an image, or a PDF re-set without the words.

Eden AI's document anonymisation returns the redacted file (base64 and a URL; spec
``AnonymizationAsyncDataClass``: ``document``, ``document_url``). For an image the boxes of the
found words are painted black on the original pixels (a PNG comes back). For a PDF the text layer
is set again with the emulator's writer, each found word replaced by a black rectangle where it
stood [GUESS: vendors edit the original file; a re-set copy keeps the text and its places, which
is what a client checks]. Either way the data is gone from the bytes, not just hidden.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from .ocr_layout import Pii
from .ocr_types import Document
from .pdf_write import PdfPage, Rect, TextRun, write_pdf

__all__ = ["redact_image", "redact_pdf"]

_ASCENT = 0.75  # as pdf_read: the box top sits this far above the baseline, in font sizes
_BOX_SCALE = 0.96  # a word box is (ascent + descent) = 0.96 font sizes tall


def redact_image(data: bytes, found: list[Pii], *, pad: float = 0.004) -> bytes:
    """The image with every found word painted black (PNG)."""
    with Image.open(io.BytesIO(data)) as src:
        img = src.convert("RGB")
    w, h = img.size
    draw = ImageDraw.Draw(img)
    for pii in found:
        for word in pii.words:
            b = word.box
            draw.rectangle(
                (
                    max(0, round((b.left - pad) * w)),
                    max(0, round((b.top - pad) * h)),
                    min(w - 1, round((b.right + pad) * w)),
                    min(h - 1, round((b.bottom + pad) * h)),
                ),
                fill=(0, 0, 0),
            )
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def redact_pdf(doc: Document, found: list[Pii]) -> bytes:
    """The document's text re-set in Helvetica, found words replaced by black rectangles."""
    hidden = {(p.page, id(w)) for p in found for w in p.words}
    pages = []
    for page in doc.pages:
        out = PdfPage(width=page.width, height=page.height)
        for line in page.lines:
            for word in line.words:
                b = word.box
                size = b.height * page.height / _BOX_SCALE
                x = b.left * page.width
                baseline = page.height - (b.top * page.height + _ASCENT * size)
                if (page.number, id(word)) in hidden:
                    out.rects.append(
                        Rect(
                            x,
                            page.height - b.bottom * page.height,
                            b.width * page.width,
                            b.height * page.height,
                        )
                    )
                else:
                    out.runs.append(TextRun(x, baseline, word.text, round(size, 2)))
        pages.append(out)
    return write_pdf(pages)
