"""BERT's uncased WordPiece tokenizer, written out in plain Python over the shipped vocabulary.

The text model's embedding table was distilled from all-MiniLM-L6-v2, whose rows are WordPiece
ids, so the same tokenisation must be applied at run time. Writing it here (about 100 lines)
avoids a dependency on ``tokenizers``/``transformers`` and keeps import time near zero; words are
cached, so a warm tokenizer costs a dict lookup per word. Token counts also feed xAI ``usage``,
so one tokenizer keeps prompt and completion counts consistent.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["Span", "Tokenizer", "load_tokenizer", "words"]

VOCAB_PATH = Path(__file__).with_name("data") / "vocab.txt"
_MAX_WORD_CHARS = 100


@dataclass(frozen=True)
class Span:
    """A word (or punctuation mark) of the original text and its character offsets."""

    text: str
    begin: int
    end: int


def _is_punct(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2FA1F
        or 0xF900 <= cp <= 0xFAFF
    )


#: For ASCII text the character classes below reduce to: runs of letters and digits are words,
#: each ASCII punctuation mark (33-47, 58-64, 91-96, 123-126) is a word of its own, and
#: whitespace and control characters separate.
_ASCII_WORDS = re.compile(r"[A-Za-z0-9]+|[!-/:-@\[-`{-~]")


def words(text: str) -> list[Span]:
    """Split ``text`` the way BERT's basic tokenizer does, keeping offsets into ``text``.

    ASCII text (prompts and the chat composer's replies, mostly) takes a regular expression
    that splits identically (a property test checks it) and is about ten times faster than the
    per-character loop; xAI batches count tokens for every request they answer.
    """
    if text.isascii():
        return [Span(m.group(), m.start(), m.end()) for m in _ASCII_WORDS.finditer(text)]
    return _words_general(text)


def _words_general(text: str) -> list[Span]:
    spans: list[Span] = []
    start = -1
    for i, ch in enumerate(text):
        cat = unicodedata.category(ch)
        if ch.isspace() or cat in ("Cc", "Cf") or ch == "\ufffd":
            if start >= 0:
                spans.append(Span(text[start:i], start, i))
                start = -1
        elif _is_punct(ch) or _is_cjk(ch):
            if start >= 0:
                spans.append(Span(text[start:i], start, i))
                start = -1
            spans.append(Span(ch, i, i + 1))
        elif start < 0:
            start = i
    if start >= 0:
        spans.append(Span(text[start:], start, len(text)))
    return spans


def _normalise(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word.lower())
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


class Tokenizer:
    """WordPiece over a fixed vocabulary; ids match the distilled embedding table's rows."""

    def __init__(self, vocab: Sequence[str]) -> None:
        self.vocab = tuple(vocab)
        self.ids = {tok: i for i, tok in enumerate(self.vocab)}
        self.unk = self.ids["[UNK]"]
        self.word_ids = lru_cache(maxsize=200_000)(self._word_ids)

    def _word_ids(self, word: str) -> tuple[int, ...]:
        word = _normalise(word)
        if not word:
            return ()
        if len(word) > _MAX_WORD_CHARS:
            return (self.unk,)
        out: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            found = -1
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                found = self.ids.get(piece, -1)
                if found >= 0:
                    break
                end -= 1
            if found < 0:
                return (self.unk,)
            out.append(found)
            start = end
        return tuple(out)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (no [CLS]/[SEP]: the static model pools tokens directly)."""
        ids: list[int] = []
        for span in words(text):
            ids.extend(self.word_ids(span.text))
        return ids

    def count(self, text: str) -> int:
        """How many tokens ``text`` costs (used for token usage accounting)."""
        return len(self.encode(text))


@lru_cache(maxsize=1)
def load_tokenizer(path: Path = VOCAB_PATH) -> Tokenizer:
    """The process-wide tokenizer (the vocabulary is read once)."""
    return Tokenizer(path.read_text(encoding="utf-8").splitlines())
