"""Write small PDFs: pages of Helvetica text runs and filled rectangles, optionally encrypted.

Two users: ``fixtures/make_documents.py`` draws the sample invoice and table documents with it,
and the anonymisation feature re-sets a document's text with the personal data blacked out. The
output is a classic PDF 1.4 file (one Flate-compressed content stream per page, a cross-
reference table, the standard Helvetica font, WinAnsi encoding) that any viewer opens. Bytes are
deterministic: no dates, a document ID derived from the content.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass, field

from .pdf_crypt import SecurityHandler, file_key, owner_entry, user_entry

__all__ = ["PdfPage", "Rect", "TextRun", "write_pdf"]


@dataclass(frozen=True)
class TextRun:
    """Text whose baseline starts at (x, y), in points from the page's bottom-left corner."""

    x: float
    y: float
    text: str
    size: float = 11.0
    #: Draw with one ``TJ`` of single characters (exercises readers' kerning arithmetic).
    kerned: bool = False


@dataclass(frozen=True)
class Rect:
    """A filled black rectangle: bottom-left (x, y), width, height, in points."""

    x: float
    y: float
    width: float
    height: float


@dataclass
class PdfPage:
    width: float = 612.0
    height: float = 792.0
    runs: list[TextRun] = field(default_factory=list)
    rects: list[Rect] = field(default_factory=list)


def _escape(text: str) -> bytes:
    raw = text.replace("€", "\x80").encode("latin-1", "replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _num(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _content(page: PdfPage) -> bytes:
    out = [b"0 g"]
    for r in page.rects:
        out.append(f"{_num(r.x)} {_num(r.y)} {_num(r.width)} {_num(r.height)} re f".encode())
    for run in page.runs:
        out.append(b"BT")
        out.append(f"/F1 {_num(run.size)} Tf {_num(run.x)} {_num(run.y)} Td".encode())
        if run.kerned:
            parts = b" ".join(b"(" + _escape(ch) + b")" for ch in run.text)
            out.append(b"[" + parts + b"] TJ")
        else:
            out.append(b"(" + _escape(run.text) + b") Tj")
        out.append(b"ET")
    return b"\n".join(out) + b"\n"


def write_pdf(pages: list[PdfPage], *, user_password: str | None = None) -> bytes:
    """The PDF file for ``pages``; with ``user_password``, RC4-128 encrypted (revision 3)."""
    contents = [zlib.compress(_content(p), 9) for p in pages]
    doc_id = hashlib.md5(b"".join(contents)).digest()
    n_pages = len(pages)
    # Objects: 1 catalog, 2 pages, 3 font, then (page, content) pairs, then the encrypt dict.
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(n_pages))
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    handler: SecurityHandler | None = None
    encrypt_ref = ""
    if user_password is not None:
        revision, length, perms = 3, 16, -3904
        o = owner_entry(b"owner-" + user_password.encode(), user_password.encode(), 3, length)
        key = file_key(user_password.encode(), o, perms, doc_id, revision, length)
        u = user_entry(key, doc_id, revision)
        handler = SecurityHandler(key)
        encrypt_num = 4 + 2 * n_pages
        encrypt_ref = f" /Encrypt {encrypt_num} 0 R"
    for i, (page, data) in enumerate(zip(pages, contents, strict=True)):
        num = 5 + 2 * i
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {_num(page.width)} "
            f"{_num(page.height)}] /Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {num} 0 R >>".encode()
        )
        body = handler.decrypt(num, 0, data) if handler else data
        objects.append(
            f"<< /Length {len(body)} /Filter /FlateDecode >>\nstream\n".encode()
            + body
            + b"\nendstream"
        )
    if handler is not None:
        objects.append(
            b"<< /Filter /Standard /V 2 /R 3 /Length 128 /P -3904 /O <"
            + o.hex().upper().encode()
            + b"> /U <"
            + u.hex().upper().encode()
            + b"> >>"
        )
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for num, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{num} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    hex_id = doc_id.hex().upper()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R{encrypt_ref} "
        f"/ID [<{hex_id}> <{hex_id}>] >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)
