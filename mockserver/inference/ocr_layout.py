"""Structure found in read text: tables from column alignment, key: value pairs, personal data.

These are what Eden AI's OCR tables, custom document parsing and anonymisation subfeatures
report, derived here from the lines :mod:`ocr` reads:

* a table is a run of at least two consecutive rows that each hold two or more lines (cells);
  its columns are the union of the cells' horizontal extents (so left-, right- or centre-aligned
  columns all work), and a cell that covers several columns spans them;
* a key/value pair is a line ``Key: value`` (key of one to five words);
* personal data is an e-mail address, a phone number (seven digits or more) or a person's name,
  the latter found as the value of a name-like key (``Name:``, ``Contact:``, ``Bill to:``...) or
  after a title (``Mr``, ``Ms``, ``Dr``) [GUESS: a rule, not a trained recogniser].
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .ocr_types import Box, Document, Line, Page, Word

__all__ = [
    "Cell",
    "KeyValue",
    "Pii",
    "Table",
    "answer",
    "find_pii",
    "find_tables",
    "key_values",
    "rows_of",
]

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+?\(?\d[\d ()./-]{5,}\d")
_DATE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")
_NAME_KEYS = re.compile(
    r"\b(name|contact|customer|client|bill to|billed to|ship to|attention|attn|signed by|"
    r"prepared by|employee|patient|recipient)\b",
    re.IGNORECASE,
)
_TITLE = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Prof)\.?\s+((?:[A-Z][\w'-]+\s?){1,3})")
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "is",
        "are",
        "was",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "where",
        "when",
        "how",
        "of",
        "for",
        "to",
        "in",
        "on",
        "at",
        "by",
        "with",
        "this",
        "that",
        "these",
        "those",
        "do",
        "does",
        "did",
        "please",
        "give",
        "me",
        "tell",
        "find",
        "list",
        "document",
        "page",
        "value",
    ]
)


@dataclass(frozen=True)
class Cell:
    text: str
    row: int
    col: int
    row_span: int
    col_span: int
    box: Box
    confidence: float
    is_header: bool


@dataclass(frozen=True)
class Table:
    page: int
    cells: tuple[Cell, ...]
    num_rows: int
    num_cols: int


@dataclass(frozen=True)
class KeyValue:
    key: str
    value: str
    page: int
    #: The value's words (what a vendor boxes as the answer).
    box: Box
    confidence: float


@dataclass(frozen=True)
class Pii:
    #: ``email``, ``phone`` or ``person``.
    kind: str
    text: str
    page: int
    words: tuple[Word, ...]

    @property
    def box(self) -> Box:
        return Box.union([w.box for w in self.words])


def rows_of(page: Page) -> list[list[Line]]:
    """Lines grouped into visual rows (vertical centres within half a line height)."""
    rows: list[list[Line]] = []
    for line in sorted(page.lines, key=lambda ln: (ln.box.top + ln.box.height / 2, ln.box.left)):
        centre = line.box.top + line.box.height / 2
        if rows:
            ref = rows[-1][0].box
            if abs(ref.top + ref.height / 2 - centre) <= 0.5 * max(ref.height, line.box.height):
                rows[-1].append(line)
                continue
        rows.append([line])
    for row in rows:
        row.sort(key=lambda ln: ln.box.left)
    return rows


def _columns(lines: list[Line]) -> list[tuple[float, float]]:
    spans = sorted((ln.box.left, ln.box.right) for ln in lines)
    merged: list[list[float]] = []
    for left, right in spans:
        if merged and left <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], right)
        else:
            merged.append([left, right])
    return [(a, b) for a, b in merged]


def _table(page: Page, rows: list[list[Line]]) -> Table:
    columns = _columns([ln for row in rows for ln in row])
    numeric_below = any(any(ch.isdigit() for ln in row for ch in ln.text) for row in rows[1:])
    header_plain = not any(ch.isdigit() for ln in rows[0] for ch in ln.text)
    cells = []
    for r, row in enumerate(rows):
        for ln in row:
            covered = [
                i for i, (a, b) in enumerate(columns) if ln.box.left < b and ln.box.right > a
            ]
            col = covered[0] if covered else 0
            cells.append(
                Cell(
                    ln.text,
                    r,
                    col,
                    1,
                    max(1, len(covered)),
                    ln.box,
                    ln.confidence,
                    r == 0 and header_plain and numeric_below,
                )
            )
    return Table(page.number, tuple(cells), len(rows), len(columns))


def find_tables(page: Page) -> list[Table]:
    """Tables on a page: runs of two or more consecutive multi-cell rows."""
    tables: list[Table] = []
    run: list[list[Line]] = []
    for row in [*rows_of(page), []]:
        if len(row) >= 2:
            run.append(row)
            continue
        if len(run) >= 2:
            tables.append(_table(page, run))
        run = []
    return tables


def key_values(doc: Document) -> list[KeyValue]:
    """``Key: value`` lines; also a row whose first cell ends with a colon and has a neighbour."""
    out: list[KeyValue] = []
    for page in doc.pages:
        for row in rows_of(page):
            words = [w for ln in row for w in ln.words]
            for i, w in enumerate(words[:5]):
                if w.text.endswith(":") and i + 1 < len(words):
                    key = " ".join(x.text for x in words[: i + 1]).rstrip(":").strip()
                    value_words = words[i + 1 :]
                    out.append(
                        KeyValue(
                            key,
                            " ".join(x.text for x in value_words),
                            page.number,
                            Box.union([x.box for x in value_words]),
                            min(x.confidence for x in value_words),
                        )
                    )
                    break
    return out


def _span_words(line: Line, start: int, end: int) -> tuple[Word, ...]:
    """Words of ``line`` overlapping characters ``start..end`` of ``line.text``."""
    out, pos = [], 0
    for w in line.words:
        if pos < end and pos + len(w.text) > start:
            out.append(w)
        pos += len(w.text) + 1
    return tuple(out)


def find_pii(doc: Document) -> list[Pii]:
    """E-mail addresses, phone numbers and names, each with the words that show it."""
    found: list[Pii] = []
    for page in doc.pages:
        for line in page.lines:
            text = line.text
            for m in _EMAIL.finditer(text):
                found.append(Pii("email", m.group(), page.number, _span_words(line, *m.span())))
            for m in _PHONE.finditer(text):
                if sum(ch.isdigit() for ch in m.group()) >= 7 and not _DATE.fullmatch(
                    m.group().strip()
                ):
                    found.append(
                        Pii("phone", m.group().strip(), page.number, _span_words(line, *m.span()))
                    )
            for m in _TITLE.finditer(text):
                span = m.span(1)
                found.append(
                    Pii("person", m.group(1).strip(), page.number, _span_words(line, *span))
                )
    for kv in key_values(doc):
        if _NAME_KEYS.search(kv.key) and any(ch.isalpha() for ch in kv.value):
            page = doc.pages[kv.page - 1]
            words = tuple(
                w
                for ln in page.lines
                for w in ln.words
                if kv.box.left <= w.box.left + 1e-9
                and w.box.right <= kv.box.right + 1e-9
                and kv.box.top <= w.box.top + 1e-9
                and w.box.bottom <= kv.box.bottom + 1e-9
            )
            if words and not any(p.words == words for p in found):
                found.append(Pii("person", kv.value, kv.page, words))
    return found


def _terms(text: str) -> set[str]:
    out = set()
    for raw in re.findall(r"[a-z0-9]+", text.lower().replace("e-mail", "email")):
        if raw in _STOP:
            continue
        out.add(raw[:-1] if len(raw) > 3 and raw.endswith("s") else raw)
    return out


def _pages(spec: str, count: int) -> set[int]:
    """Eden's ``pages`` field: ``"1"``, ``"1-3"``, ``"2,4"``, ``"1-*"``; empty = all pages."""
    pages: set[int] = set()
    for part in (spec or "1-*").replace(" ", "").split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        try:
            start = int(lo) if lo not in ("", "*") else 1
            end = count if hi == "*" else int(hi) if hi else start
        except ValueError:
            continue
        pages.update(range(max(1, start), min(count, end) + 1))
    return pages


def answer(doc: Document, query: str, pages: str = "1-*") -> KeyValue | None:
    """The key/value pair answering ``query`` best by shared terms, or an e-mail/phone match.

    The confidence is the share of the key's terms the query names (so "What is the invoice
    number?" answers ``Invoice number: INV-0042`` with 1.0). None when nothing relates.
    """
    allowed = _pages(pages, len(doc.pages))
    asked = _terms(query)
    best: tuple[float, int, KeyValue] | None = None
    for i, kv in enumerate(key_values(doc)):
        if kv.page not in allowed:
            continue
        key_terms = _terms(kv.key)
        if not key_terms:
            continue
        overlap = len(asked & key_terms)
        if not overlap:
            continue
        score = overlap / len(key_terms | asked) + overlap / len(key_terms)
        if best is None or score > best[0]:
            best = (score, i, kv)
    if best is not None:
        kv = best[2]
        share = len(asked & _terms(kv.key)) / len(_terms(kv.key))
        return KeyValue(kv.key, kv.value, kv.page, kv.box, round(share * kv.confidence, 4))
    for kind in ("email", "phone"):
        if kind in asked:
            for pii in find_pii(doc):
                if pii.kind == kind and pii.page in allowed:
                    return KeyValue(kind, pii.text, pii.page, pii.box, 0.9)
    return None
