"""Read the text layer of a PDF: objects, page tree, content streams, glyph positions.

A PDF with a text layer needs no OCR: its content streams say which string is drawn where, in
which font and size. This reader finds every ``n g obj`` by scanning (so a broken cross-
reference table does not matter; later definitions win, as incremental updates intend), opens
object streams, decrypts RC4-protected files given the user password, walks the page tree, and
interprets the text operators (``BT ET Tf Td TD Tm T* Tj TJ ' " Tc Tw Tz TL Ts`` with ``cm q Q``)
to place each character. Characters on one baseline are joined into words at spaces or small
gaps, and words into lines unless a wide gap separates them (table cells become lines of their
own, as vendors' OCR reports them).

Supported: simple fonts with single-byte codes read as WinAnsi/Latin-1 (widths from ``/Widths``
or the standard-font metrics). Not supported: composite (Type0) fonts and ``/ToUnicode`` maps,
AES encryption; their text comes out empty or the file is refused, never misread as other text.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from typing import Any

from .ocr_types import Box, Line, Page, PasswordProtected, UnreadableDocument, Word
from .pdf_crypt import SecurityHandler
from .pdf_fonts import standard_width
from .pdf_syntax import Lexer, Name, Op, PdfSyntaxError, Ref, parse_object

__all__ = ["read_pdf"]

_OBJ = re.compile(rb"(?<![0-9])(\d+)\s+(\d+)\s+obj\b")
_ASCENT, _DESCENT = 0.75, 0.21  # of the font size: Helvetica's ascender/descender, rounded
_MAX_PAGES = 2000

Matrix = tuple[float, float, float, float, float, float]
_IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def _mul(m: Matrix, n: Matrix) -> Matrix:
    """``m`` then ``n`` (PDF row-vector convention: m x n)."""
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (
        a * a2 + b * c2,
        a * b2 + b * d2,
        c * a2 + d * c2,
        c * b2 + d * d2,
        e * a2 + f * c2 + e2,
        e * b2 + f * d2 + f2,
    )


@dataclass
class _Stream:
    attrs: dict[str, Any]
    raw: bytes


class _File:
    """The objects of one PDF file, resolved lazily, decrypted when a handler is set."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.objects: dict[int, tuple[int, int]] = {}  # num -> (gen, offset of the body)
        self.cache: dict[int, Any] = {}
        self.handler: SecurityHandler | None = None
        for m in _OBJ.finditer(data):
            self.objects[int(m.group(1))] = (int(m.group(2)), m.end())

    def load_object_streams(self) -> None:
        for num in list(self.objects):
            value = self.get(num)
            if isinstance(value, _Stream) and value.attrs.get("Type") == "ObjStm":
                n = value.attrs.get("N")
                if isinstance(n, int):
                    self._index_object_stream(num, value)

    def _index_object_stream(self, num: int, stream: _Stream) -> None:
        body = self.stream_data(num, stream)
        first = stream.attrs.get("First", 0)
        lex = Lexer(body)
        header = []
        for _ in range(int(stream.attrs.get("N", 0))):
            header.append((lex.token(), lex.token()))
        for obj_num, offset in header:
            if isinstance(obj_num, int) and isinstance(offset, int) and obj_num not in self.objects:
                self.cache[obj_num] = parse_object(Lexer(body, int(first) + offset))

    def get(self, num: int) -> Any:
        if num in self.cache:
            return self.cache[num]
        entry = self.objects.get(num)
        if entry is None:
            return None
        gen, pos = entry
        lex = Lexer(self.data, pos)
        try:
            value = parse_object(lex)
            save = lex.pos
            nxt = lex.token()
        except (EOFError, PdfSyntaxError, IndexError):
            self.cache[num] = None
            return None
        if nxt == Op("stream") and isinstance(value, dict):
            value = _Stream(value, self._stream_bytes(value, save))
        self.cache[num] = value
        return value

    def _stream_bytes(self, attrs: dict[str, Any], pos: int) -> bytes:
        data = self.data
        start = data.find(b"stream", pos) + len(b"stream")
        if data[start : start + 2] == b"\r\n":
            start += 2
        elif data[start : start + 1] in (b"\n", b"\r"):
            start += 1
        length = self.resolve(attrs.get("Length"))
        if isinstance(length, int) and data[start + length : start + length + 40].lstrip(
            b"\r\n "
        ).startswith(b"endstream"):
            return data[start : start + length]
        end = data.find(b"endstream", start)
        return data[start : end if end >= 0 else len(data)].rstrip(b"\r\n")

    def resolve(self, value: Any) -> Any:
        seen = 0
        while isinstance(value, Ref) and seen < 32:
            value = self.get(value.num)
            seen += 1
        return value

    def stream_data(self, num: int, stream: _Stream) -> bytes:
        raw = stream.raw
        if self.handler is not None and stream.attrs.get("Type") != "XRef":
            gen = self.objects.get(num, (0, 0))[0]
            raw = self.handler.decrypt(num, gen, raw)
        filters = self.resolve(stream.attrs.get("Filter"))
        names = filters if isinstance(filters, list) else [filters] if filters else []
        for name in names:
            if name in ("FlateDecode", "Fl"):
                try:
                    raw = zlib.decompressobj().decompress(raw)
                except zlib.error:
                    return b""
            else:  # images and exotic filters carry no text we can read
                return b""
        return raw


def _trailer(doc: _File) -> dict[str, Any]:
    """The last trailer dictionary, or the last cross-reference stream's attributes."""
    data = doc.data
    pos = data.rfind(b"trailer")
    if pos >= 0:
        try:
            value = parse_object(Lexer(data, pos + len(b"trailer")))
            if isinstance(value, dict):
                return value
        except (EOFError, PdfSyntaxError):
            pass
    best: dict[str, Any] = {}
    for num in sorted(doc.objects, key=lambda n: doc.objects[n][1]):
        value = doc.get(num)
        if isinstance(value, _Stream) and value.attrs.get("Type") == "XRef":
            best = value.attrs
    return best


def _open(data: bytes, password: str | None) -> tuple[_File, dict[str, Any]]:
    doc = _File(data)
    if not doc.objects:
        raise UnreadableDocument("not a readable PDF: no objects found")
    trailer = _trailer(doc)
    encrypt = doc.resolve(trailer.get("Encrypt"))
    if isinstance(encrypt, dict):
        ids = doc.resolve(trailer.get("ID"))
        doc_id = ids[0] if isinstance(ids, list) and ids and isinstance(ids[0], bytes) else b""
        try:
            handler = SecurityHandler.open(encrypt, doc_id, password or "")
        except ValueError as exc:
            raise UnreadableDocument(str(exc)) from None
        if handler is None:
            if not password:
                raise PasswordProtected("the document is password protected")
            raise PasswordProtected("the document password is incorrect")
        doc.handler = handler
        doc.cache.clear()
    doc.load_object_streams()
    return doc, trailer


def _pages(doc: _File, trailer: dict[str, Any]) -> list[dict[str, Any]]:
    """Page dictionaries in order, with inherited MediaBox/Resources filled in."""
    root = doc.resolve(trailer.get("Root"))
    if not isinstance(root, dict):  # no trailer: take any catalog
        for num in doc.objects:
            value = doc.get(num)
            if isinstance(value, dict) and value.get("Type") == "Catalog":
                root = value
                break
    if not isinstance(root, dict):
        raise UnreadableDocument("not a readable PDF: no document catalog")
    out: list[dict[str, Any]] = []
    stack: list[tuple[Any, dict[str, Any], int]] = [(root.get("Pages"), {}, 0)]
    while stack and len(out) < _MAX_PAGES:
        node_ref, inherited, depth = stack.pop()
        node = doc.resolve(node_ref)
        if not isinstance(node, dict) or depth > 64:
            continue
        merged = dict(inherited)
        for key in ("MediaBox", "CropBox", "Resources"):
            if key in node:
                merged[key] = node[key]
        kids = doc.resolve(node.get("Kids"))
        if node.get("Type") == "Pages" or isinstance(kids, list):
            for kid in reversed(kids if isinstance(kids, list) else []):
                stack.append((kid, merged, depth + 1))
        else:
            out.append({**node, **merged})
    return out


@dataclass
class _Char:
    text: str
    x0: float
    x1: float
    y: float
    size: float


@dataclass
class _Font:
    base: str
    first: int
    widths: list[float]

    def width(self, code: int) -> float:
        i = code - self.first
        if 0 <= i < len(self.widths):
            return self.widths[i]
        return float(standard_width(self.base, code))


def _font(doc: _File, resources: dict[str, Any], name: str) -> _Font:
    fonts = doc.resolve(resources.get("Font"))
    font = doc.resolve(fonts.get(name)) if isinstance(fonts, dict) else None
    if not isinstance(font, dict):
        return _Font("Helvetica", 0, [])
    base = font.get("BaseFont")
    widths = doc.resolve(font.get("Widths"))
    first = doc.resolve(font.get("FirstChar"))
    values = [float(doc.resolve(w)) for w in widths] if isinstance(widths, list) else []
    return _Font(str(base or "Helvetica"), int(first) if isinstance(first, int) else 0, values)


_WIN_ANSI_EXTRA = {0x80: "€", 0x91: "'", 0x92: "'", 0x93: '"', 0x94: '"', 0x96: "-", 0x97: "-"}


def _decode(code: int) -> str:
    return _WIN_ANSI_EXTRA.get(code) or chr(code)


def _interpret(doc: _File, content: bytes, resources: dict[str, Any]) -> list[_Char]:
    """Run the text operators of one content stream; every shown character with its place."""
    chars: list[_Char] = []
    ctm = _IDENTITY
    stack: list[Matrix] = []
    tm = tlm = _IDENTITY
    font = _Font("Helvetica", 0, [])
    size = tc = tw = leading = rise = 0.0
    th = 1.0
    operands: list[Any] = []

    def show(raw: bytes) -> None:
        nonlocal tm
        for code in raw:
            w0 = font.width(code) / 1000.0
            trm = _mul((size * th, 0.0, 0.0, size, 0.0, rise), _mul(tm, ctm))
            x0, y0 = trm[4], trm[5]
            tx = (w0 * size + tc + (tw if code == 32 else 0.0)) * th
            tm = _mul((1.0, 0.0, 0.0, 1.0, tx, 0.0), tm)
            end = _mul((1.0, 0.0, 0.0, 1.0, 0.0, rise), _mul(tm, ctm))
            eff = abs(trm[3]) or abs(size)
            chars.append(_Char(_decode(code), x0, end[4] - (tc * th if code != 32 else 0), y0, eff))

    def nums(k: int) -> list[float] | None:
        vals = operands[-k:] if len(operands) >= k else None
        if vals is None or not all(isinstance(v, (int, float)) for v in vals):
            return None
        return [float(v) for v in vals]

    lex = Lexer(content)
    while True:
        try:
            tok = parse_object(lex)
        except EOFError:
            break
        except PdfSyntaxError:
            operands.clear()
            continue
        if not isinstance(tok, Op) or tok.word in ("<<", "[", "]", ">>"):
            operands.append(tok)
            continue
        op = tok.word
        if op == "BI":  # inline image: skip its data
            end = content.find(b"EI", lex.pos)
            lex.pos = len(content) if end < 0 else end + 2
        elif op == "q":
            stack.append(ctm)
        elif op == "Q":
            ctm = stack.pop() if stack else _IDENTITY
        elif op == "cm" and (v := nums(6)):
            ctm = _mul((v[0], v[1], v[2], v[3], v[4], v[5]), ctm)
        elif op == "BT":
            tm = tlm = _IDENTITY
        elif op == "Tf" and len(operands) >= 2 and isinstance(operands[-2], Name):
            font = _font(doc, resources, str(operands[-2]))
            size = float(operands[-1]) if isinstance(operands[-1], (int, float)) else size
        elif op in ("Td", "TD") and (v := nums(2)):
            if op == "TD":
                leading = -v[1]
            tlm = tm = _mul((1.0, 0.0, 0.0, 1.0, v[0], v[1]), tlm)
        elif op == "Tm" and (v := nums(6)):
            tlm = tm = (v[0], v[1], v[2], v[3], v[4], v[5])
        elif op == "T*":
            tlm = tm = _mul((1.0, 0.0, 0.0, 1.0, 0.0, -leading), tlm)
        elif op == "TL" and (v := nums(1)):
            leading = v[0]
        elif op == "Tc" and (v := nums(1)):
            tc = v[0]
        elif op == "Tw" and (v := nums(1)):
            tw = v[0]
        elif op == "Tz" and (v := nums(1)):
            th = v[0] / 100.0
        elif op == "Ts" and (v := nums(1)):
            rise = v[0]
        elif op == "Tj" and operands and isinstance(operands[-1], bytes):
            show(operands[-1])
        elif op in ("'", '"') and operands and isinstance(operands[-1], bytes):
            if op == '"' and (v := nums(3)) is not None:
                tw, tc = v[0], v[1]
            tlm = tm = _mul((1.0, 0.0, 0.0, 1.0, 0.0, -leading), tlm)
            show(operands[-1])
        elif op == "TJ" and operands and isinstance(operands[-1], list):
            for item in operands[-1]:
                if isinstance(item, bytes):
                    show(item)
                elif isinstance(item, (int, float)):
                    tm = _mul((1.0, 0.0, 0.0, 1.0, -float(item) / 1000.0 * size * th, 0.0), tm)
        operands.clear()
    return chars


def _layout(chars: list[_Char], box: tuple[float, float, float, float], number: int) -> Page:
    """Join characters into words and lines; boxes relative to the page box."""
    x0, y0, x1, y1 = box
    width, height = max(x1 - x0, 1e-6), max(y1 - y0, 1e-6)
    rows: list[list[_Char]] = []
    for ch in sorted(chars, key=lambda c: (-c.y, c.x0)):
        if rows and abs(rows[-1][0].y - ch.y) <= 0.3 * max(ch.size, 1e-6):
            rows[-1].append(ch)
        else:
            rows.append([ch])
    lines: list[Line] = []
    for row in rows:
        row.sort(key=lambda c: c.x0)
        words: list[list[_Char]] = []
        current: list[_Char] = []
        for ch in row:
            if ch.text.isspace():
                if current:
                    words.append(current)
                    current = []
                continue
            if current and ch.x0 - current[-1].x1 > 0.15 * ch.size:
                words.append(current)
                current = []
            current.append(ch)
        if current:
            words.append(current)
        line: list[Word] = []
        prev_end: float | None = None
        for wchars in words:
            size = max(c.size for c in wchars)
            if line and prev_end is not None and wchars[0].x0 - prev_end > 1.5 * size:
                lines.append(Line(tuple(line)))
                line = []
            left, right = wchars[0].x0, max(c.x1 for c in wchars)
            base = wchars[0].y
            top = y1 - (base + _ASCENT * size)
            rel = Box(
                (left - x0) / width,
                top / height,
                (right - left) / width,
                (_ASCENT + _DESCENT) * size / height,
            )
            line.append(Word("".join(c.text for c in wchars), rel, 1.0))
            prev_end = right
        if line:
            lines.append(Line(tuple(line)))
    return Page(number, width, height, tuple(lines))


def read_pdf(data: bytes, password: str | None = None) -> list[Page]:
    """The text of every page, as lines of words with page-relative boxes."""
    doc, trailer = _open(data, password)
    pages = []
    for number, page in enumerate(_pages(doc, trailer), start=1):
        media = doc.resolve(page.get("CropBox") or page.get("MediaBox"))
        if isinstance(media, list) and len(media) == 4:
            vals = [doc.resolve(v) for v in media]
            box = tuple(float(v) if isinstance(v, (int, float)) else 0.0 for v in vals)
        else:
            box = (0.0, 0.0, 612.0, 792.0)
        resources = doc.resolve(page.get("Resources"))
        resources = resources if isinstance(resources, dict) else {}
        contents = doc.resolve(page.get("Contents"))
        parts = contents if isinstance(contents, list) else [page.get("Contents")]
        stream = b""
        for part in parts:
            ref = part if isinstance(part, Ref) else None
            value = doc.resolve(part)
            if isinstance(value, _Stream):
                stream += doc.stream_data(ref.num if ref else 0, value) + b"\n"
        bx = (min(box[0], box[2]), min(box[1], box[3]), max(box[0], box[2]), max(box[1], box[3]))
        pages.append(_layout(_interpret(doc, stream, resources), bx, number))
    if not pages:
        raise UnreadableDocument("not a readable PDF: no pages")
    return pages
