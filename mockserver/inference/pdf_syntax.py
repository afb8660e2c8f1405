"""PDF object syntax (ISO 32000-1 §7.2-7.3): a lexer and a parser for objects and content.

Just enough of the format to find a document's pages and read their text: numbers, names,
literal and hex strings, arrays, dictionaries, indirect references, and operator keywords (which
is all a content stream is made of). Values map onto Python: ``int``/``float``, :class:`Name`,
``bytes`` for strings, ``list``, ``dict`` keyed by name text, :class:`Ref`, ``bool``, ``None``,
and :class:`Op` for a bare keyword.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["Lexer", "Name", "Op", "PdfSyntaxError", "Ref", "parse_object"]

_WHITESPACE = b"\x00\t\n\x0c\r "
_DELIMITERS = b"()<>[]{}/%"
_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("f"): 12}


class PdfSyntaxError(ValueError):
    """Malformed PDF syntax."""


class Name(str):
    """A PDF name (``/Type``), without the slash."""


@dataclass(frozen=True)
class Op:
    """A bare keyword: a content-stream operator, or ``obj``/``stream``/``R`` while parsing."""

    word: str


@dataclass(frozen=True)
class Ref:
    num: int
    gen: int


class Lexer:
    """Tokens of PDF syntax from ``data[pos:]``; ``pos`` is public so callers can skip data."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def _skip(self) -> None:
        data, n = self.data, len(self.data)
        while self.pos < n:
            c = data[self.pos]
            if c in _WHITESPACE:
                self.pos += 1
            elif c == 0x25:  # % comment to end of line
                while self.pos < n and data[self.pos] not in b"\r\n":
                    self.pos += 1
            else:
                return

    def token(self) -> Any:
        """The next token, or raise ``EOFError`` at the end."""
        self._skip()
        data, n = self.data, len(self.data)
        if self.pos >= n:
            raise EOFError
        c = data[self.pos]
        if c == 0x2F:  # /
            start = self.pos + 1
            self.pos = start
            while self.pos < n and data[self.pos] not in _WHITESPACE + _DELIMITERS:
                self.pos += 1
            return Name(_unhash(data[start : self.pos]))
        if c == 0x28:  # (
            return self._literal()
        if c == 0x3C:  # <
            if data[self.pos + 1 : self.pos + 2] == b"<":
                self.pos += 2
                return Op("<<")
            end = data.find(b">", self.pos)
            if end < 0:
                raise PdfSyntaxError("unterminated hex string")
            digits = bytes(b for b in data[self.pos + 1 : end] if b not in _WHITESPACE)
            self.pos = end + 1
            if len(digits) % 2:
                digits += b"0"
            try:
                return bytes.fromhex(digits.decode("ascii"))
            except ValueError:
                raise PdfSyntaxError("bad hex string") from None
        if c == 0x3E:  # >
            if data[self.pos + 1 : self.pos + 2] == b">":
                self.pos += 2
                return Op(">>")
            self.pos += 1
            return Op(">")
        if c in b"[]{}":
            self.pos += 1
            return Op(chr(c))
        start = self.pos
        while self.pos < n and data[self.pos] not in _WHITESPACE + _DELIMITERS:
            self.pos += 1
        if self.pos == start:  # a stray ')' and the like
            self.pos += 1
        word = data[start : self.pos].decode("latin-1")
        return _number(word)

    def _literal(self) -> bytes:
        data, n = self.data, len(self.data)
        self.pos += 1
        depth, out = 1, bytearray()
        while self.pos < n:
            c = data[self.pos]
            self.pos += 1
            if c == 0x5C:  # backslash
                if self.pos >= n:
                    break
                e = data[self.pos]
                self.pos += 1
                if e in _ESCAPES:
                    out.append(_ESCAPES[e])
                elif 0x30 <= e <= 0x37:
                    digits = bytes([e])
                    while len(digits) < 3 and self.pos < n and 0x30 <= data[self.pos] <= 0x37:
                        digits += bytes([data[self.pos]])
                        self.pos += 1
                    out.append(int(digits, 8) & 0xFF)
                elif e == 0x0D:  # line continuation
                    if data[self.pos : self.pos + 1] == b"\n":
                        self.pos += 1
                elif e != 0x0A:
                    out.append(e)
            elif c == 0x28:
                depth += 1
                out.append(c)
            elif c == 0x29:
                depth -= 1
                if depth == 0:
                    return bytes(out)
                out.append(c)
            else:
                out.append(c)
        raise PdfSyntaxError("unterminated string")

    def __iter__(self) -> Iterator[Any]:
        while True:
            try:
                yield self.token()
            except EOFError:
                return


def _unhash(raw: bytes) -> str:
    """Decode ``#xx`` escapes in a name."""
    if b"#" not in raw:
        return raw.decode("latin-1")
    out, i = bytearray(), 0
    while i < len(raw):
        if raw[i] == 0x23 and i + 2 < len(raw) + 1:
            try:
                out.append(int(raw[i + 1 : i + 3], 16))
                i += 3
                continue
            except ValueError:
                pass
        out.append(raw[i])
        i += 1
    return out.decode("latin-1")


def _number(word: str) -> Any:
    if word == "true":
        return True
    if word == "false":
        return False
    if word == "null":
        return None
    try:
        return int(word)
    except ValueError:
        pass
    try:
        return float(word)
    except ValueError:
        return Op(word)


def parse_object(lex: Lexer) -> Any:
    """One complete value from the lexer, resolving ``n g R`` into a :class:`Ref`."""
    tok = lex.token()
    if isinstance(tok, Op):
        if tok.word == "<<":
            out: dict[str, Any] = {}
            while True:
                key = lex.token()
                if key == Op(">>"):
                    return out
                if not isinstance(key, Name):
                    raise PdfSyntaxError(f"dictionary key is not a name: {key!r}")
                out[str(key)] = parse_object(lex)
        if tok.word == "[":
            items: list[Any] = []
            while True:
                save = lex.pos
                nxt = lex.token()
                if nxt == Op("]"):
                    return items
                lex.pos = save
                items.append(parse_object(lex))
        return tok
    if isinstance(tok, int) and not isinstance(tok, bool):
        save = lex.pos
        try:
            gen = lex.token()
            if isinstance(gen, int) and not isinstance(gen, bool) and lex.token() == Op("R"):
                return Ref(tok, gen)
        except EOFError:
            pass
        lex.pos = save
    return tok
