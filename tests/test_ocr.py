"""The OCR engine: PDF text layers, tables, bitmap-font glyph reading, encryption, junk."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mockserver.inference.ocr import (
    PasswordProtected,
    UnreadableDocument,
    read_document,
)
from mockserver.inference.ocr_font import check_font, render_lines
from mockserver.inference.ocr_layout import answer, find_pii, find_tables
from mockserver.inference.pdf_write import PdfPage, TextRun, write_pdf

DOCS = Path(__file__).resolve().parents[1] / "fixtures" / "media" / "documents"
INVOICE_LINES = [
    "ACME Supplies Ltd",
    "Invoice number: INV-0042",
    "Date: 2024-03-15",
    "Bill to: Jane Doe",
    "Email: jane.doe@example.com",
    "Phone: +33 1 23 45 67 89",
    "Total: 1,234.50 EUR",
]


def _png(img: Image.Image, fmt: str = "PNG", quality: int = 90) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, quality=quality)
    return buf.getvalue()


def test_font_layout_rules_hold() -> None:
    check_font()


# --- PDF ---------------------------------------------------------------------------------------


def test_pdf_text_and_positions() -> None:
    doc = read_document((DOCS / "invoice.pdf").read_bytes())
    assert doc.kind == "pdf" and doc.source == "text-layer" and len(doc.pages) == 2
    first = doc.pages[0]
    assert [ln.text for ln in first.lines] == INVOICE_LINES
    inv = first.lines[1]
    # Drawn at x=72 pt, baseline y=680 pt, 12 pt, on a 612x792 page.
    assert inv.box.left == pytest.approx(72 / 612, abs=1e-6)
    assert inv.box.top == pytest.approx((792 - 680 - 0.75 * 12) / 792, abs=1e-6)
    assert [w.text for w in inv.words] == ["Invoice", "number:", "INV-0042"]
    # Word boxes follow Helvetica widths: "Invoice" is 3168/1000 em wide, a space 278.
    assert inv.words[1].box.left == pytest.approx((72 + 12 * (3168 + 278) / 1000) / 612, abs=1e-4)
    assert all(a.box.right < b.box.left for a, b in zip(inv.words, inv.words[1:], strict=False))


def test_pdf_kerned_tj_row_reads_as_words() -> None:
    page = read_document((DOCS / "invoice.pdf").read_bytes()).pages[1]
    texts = [ln.text for ln in page.lines]
    assert "Toner XL" in texts and "89.75" in texts  # that row is drawn with one TJ per cell


def test_pdf_tables_from_columns() -> None:
    doc = read_document((DOCS / "invoice.pdf").read_bytes())
    assert find_tables(doc.pages[0]) == []
    (table,) = find_tables(doc.pages[1])
    assert (table.num_rows, table.num_cols) == (4, 4)
    grid = {(c.row, c.col): c.text for c in table.cells}
    assert grid[(0, 2)] == "Unit price" and grid[(2, 0)] == "Toner XL"
    assert grid[(2, 3)] == "179.50" and grid[(3, 1)] == "1"
    assert all(c.is_header == (c.row == 0) for c in table.cells)


def test_encrypted_pdf_needs_its_password() -> None:
    data = (DOCS / "invoice_locked.pdf").read_bytes()
    with pytest.raises(PasswordProtected, match="password protected"):
        read_document(data)
    with pytest.raises(PasswordProtected, match="incorrect"):
        read_document(data, password="nope")
    doc = read_document(data, password="secret42")
    assert "INV-0042" in doc.text


def test_owner_only_encryption_opens_with_the_empty_password() -> None:
    data = write_pdf([PdfPage(runs=[TextRun(72, 700, "Open sesame")])], user_password="")
    assert read_document(data).text == "Open sesame"


@pytest.mark.parametrize("data", [b"", b"hello world", b"\x89PNG\r\n\x1a\nbroken", b"%PDF-1.4 x"])
def test_garbage_is_unreadable(data: bytes) -> None:
    with pytest.raises(UnreadableDocument):
        read_document(data)


# --- images ------------------------------------------------------------------------------------


def test_png_fixture_reads_exactly() -> None:
    doc = read_document((DOCS / "invoice.png").read_bytes())
    assert doc.source == "glyphs" and doc.scales == (2,)
    assert doc.text.splitlines()[:7] == INVOICE_LINES
    (table,) = find_tables(doc.pages[0])
    assert {(c.row, c.col): c.text for c in table.cells}[(1, 3)] == "45.00"


def test_noisy_jpeg_at_scale_three_reads_exactly() -> None:
    doc = read_document((DOCS / "invoice_noisy.jpg").read_bytes())
    assert doc.scales == (3,)
    assert doc.text.splitlines()[:7] == INVOICE_LINES
    assert min(w.confidence for ln in doc.pages[0].lines for w in ln.words) > 0.8


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_every_glyph_round_trips(scale: int) -> None:
    text = "The quick brown fox jumps over 13 lazy dogs!"
    extra = "ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 @#$%&*()+-=/:;,.?_' €"
    size = (16 + len(extra) * 6 * scale, 24 * scale)
    img = render_lines(size, [(8, 4, text), (8, 12 * scale + 4, extra)], scale=scale)
    got = read_document(_png(img)).text.splitlines()
    assert got == [text, extra]


def test_word_boxes_are_relative_to_the_image() -> None:
    img = render_lines((400, 100), [(40, 30, "Hello World")], scale=2)
    (line,) = read_document(_png(img)).pages[0].lines
    hello = line.words[0].box
    assert hello.left == pytest.approx(40 / 400) and hello.top == pytest.approx(30 / 100)
    assert hello.width == pytest.approx((5 * 12 - 2) / 400)


def test_light_text_on_dark_reads() -> None:
    img = render_lines((300, 60), [(10, 10, "Night mode 42")], scale=2, ink=(240, 240, 240),
                       paper=(10, 20, 60))  # fmt: skip
    assert read_document(_png(img, "JPEG", 85)).text == "Night mode 42"


def test_unknown_font_falls_back_to_sidecar_or_nothing() -> None:
    data = (DOCS / "unknown_font.png").read_bytes()
    assert read_document(data).text == ""
    doc = read_document(data, sidecar=(DOCS / "unknown_font.txt").read_text())
    assert doc.source == "sidecar" and doc.text == "Meeting at noon"


def test_noise_alone_yields_no_text() -> None:
    rng = np.random.default_rng(3)
    arr = rng.integers(0, 256, size=(120, 200), dtype=np.uint8)
    assert read_document(_png(Image.fromarray(arr))).text == ""


# --- layout ------------------------------------------------------------------------------------


def test_pii_and_answers() -> None:
    doc = read_document((DOCS / "invoice.pdf").read_bytes())
    kinds = {(p.kind, p.text) for p in find_pii(doc)}
    assert kinds == {
        ("email", "jane.doe@example.com"),
        ("phone", "+33 1 23 45 67 89"),
        ("person", "Jane Doe"),
    }
    got = answer(doc, "What is the invoice number?")
    assert got is not None and got.value == "INV-0042" and got.confidence == 1.0
    total = answer(doc, "Total amount due")
    assert total is not None and total.value == "1,234.50 EUR"
    assert answer(doc, "What is the invoice number?", "2") is None
    assert answer(doc, "favourite colour") is None
