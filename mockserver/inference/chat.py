"""Chat-completion text for the xAI batch emulation: deterministic, prompt-dependent, bounded.

No language model is shipped, so the reply is composed, not generated: it names the prompt's
most informative words (the text model's rarest tokens), answers plain arithmetic exactly, and
fills the rest from a small phrase bank chosen by a hash of (seed, model, messages). Same prompt
and seed, same reply; a different prompt, a visibly different reply.

Token usage is counted with the one WordPiece tokenizer (:mod:`.tokenizer`), so
``prompt_tokens + completion_tokens == total_tokens`` always holds and ``completion_tokens`` never
exceeds ``max_tokens``; a reply cut short by ``max_tokens`` ends with ``finish_reason="length"``.
"""

from __future__ import annotations

import ast
import hashlib
import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .tokenizer import Tokenizer, load_tokenizer, words

__all__ = ["ChatError", "ChatResult", "complete", "message_text", "prompt_tokens"]

#: Tokens each message adds for its role and separators, and the reply's priming tokens,
#: as OpenAI-style APIs count them.
PER_MESSAGE_TOKENS = 3
REPLY_PRIMING_TOKENS = 3
DEFAULT_MAX_TOKENS = 256

_OPENERS = (
    "Here is a short answer about {topic}.",
    "Sure. On {topic}, the key points are these.",
    "Good question about {topic}.",
    "Let me summarise {topic} briefly.",
    "Thinking about {topic}, three things stand out.",
)
_BODY = (
    "The main idea is that {a} depends on the context you give it.",
    "In practice, {a} and {b} are usually considered together.",
    "A common mistake is to treat {a} as a fixed rule rather than a starting point.",
    "If you need more detail on {b}, ask a narrower question.",
    "Most sources agree that {a} matters more than it first appears.",
    "It helps to compare {a} with {b} before deciding.",
    "The simplest approach is to start with {a} and refine from there.",
    "Keep in mind that {b} can change the outcome.",
)
_CLOSERS = (
    "I hope this helps.",
    "Let me know if you want an example.",
    "That is the short version.",
    "Happy to go deeper on any part of this.",
)
_ARITH = re.compile(r"(-?\d+(?:\.\d+)?(?:\s*[-+*/x×]\s*-?\d+(?:\.\d+)?)+)")
_OPS: Mapping[type, Any] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_STOP = frozenset(
    {
        "a",
        "an",
        "the",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "what",
        "who",
        "how",
        "why",
        "when",
        "where",
        "which",
        "do",
        "does",
        "did",
        "i",
        "you",
        "me",
        "my",
        "your",
        "please",
        "tell",
        "explain",
        "about",
        "of",
        "to",
        "in",
        "on",
        "for",
        "and",
        "or",
        "with",
        "can",
        "could",
        "would",
        "should",
        "this",
        "that",
        "it",
        "its",
        "give",
        "write",
        "say",
        "some",
        "any",
        "also",
        "just",
        "like",
        "more",
        "very",
        "really",
        "much",
        "many",
        "into",
        "from",
        "them",
        "they",
        "there",
        "their",
        "have",
        "has",
        "had",
        "not",
        "but",
        "all",
        "one",
        "out",
        "get",
        "make",
        "use",
        "let",
        "know",
        "want",
        "need",
        "think",
        "words",
        "sentences",
        "briefly",
        "short",
    }
)


class ChatError(ValueError):
    """A request the service admits but fails at run time (the message is the vendor's)."""


@dataclass(frozen=True)
class ChatResult:
    """One completion: the text, why it stopped, and the token counts."""

    content: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def message_text(content: Any) -> str:
    """The text of a message's ``content``: a string, or the text parts of a content list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") for p in content if isinstance(p, dict)]
        return " ".join(p for p in parts if isinstance(p, str))
    return ""


def prompt_tokens(messages: Sequence[Mapping[str, Any]], tok: Tokenizer | None = None) -> int:
    """Tokens the prompt costs: each message's text plus a fixed per-message overhead."""
    tok = tok or load_tokenizer()
    body = sum(tok.count(message_text(m.get("content"))) for m in messages)
    return body + PER_MESSAGE_TOKENS * len(messages) + REPLY_PRIMING_TOKENS


def _arithmetic(text: str) -> str | None:
    match = _ARITH.search(text)
    if not match:
        return None
    expr = match.group(1).replace("x", "*").replace("×", "*")
    try:
        value = _eval(ast.parse(expr, mode="eval").body)
    except (ValueError, SyntaxError, ZeroDivisionError, OverflowError):
        return None
    shown = int(value) if float(value).is_integer() and abs(value) < 1e15 else round(value, 6)
    return f"{match.group(1).strip()} = {shown}."


def _eval(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_eval(node.operand)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return float(_OPS[type(node.op)](_eval(node.left), _eval(node.right)))
    raise ValueError("not arithmetic")


def _keywords(text: str, limit: int = 3) -> list[str]:
    """The prompt's longest content words (a cheap stand-in for rarity), in prompt order."""
    seen: dict[str, str] = {}
    for i, span in enumerate(words(text)):
        low = span.text.lower()
        if low.isalpha() and len(low) > 2 and low not in _STOP and low not in seen:
            seen[low] = low if i == 0 else span.text
    order = list(seen)
    ranked = sorted(order, key=lambda w: (-len(w), order.index(w)))[:limit]
    return [seen[w] for w in sorted(ranked, key=order.index)]


def _compose(prompt: str, key: bytes) -> str:
    pick = [b % 251 for b in key]
    keys = _keywords(prompt) or ["your question"]
    topic = " and ".join(keys[:2])
    a, b = keys[0], keys[-1]
    parts = []
    arith = _arithmetic(prompt)
    if arith:
        parts.append(arith)
    parts.append(_OPENERS[pick[0] % len(_OPENERS)].format(topic=topic))
    order = sorted(range(len(_BODY)), key=lambda i: key[(i + 7) % len(key)] * 31 + i)
    for i in order[: 2 + pick[1] % 3]:
        parts.append(_BODY[i].format(a=a, b=b))
    parts.append(_CLOSERS[pick[6] % len(_CLOSERS)])
    return " ".join(parts)


def _truncate(text: str, limit: int, tok: Tokenizer) -> tuple[str, int, bool]:
    """The longest prefix of whole words costing at most ``limit`` tokens."""
    total = tok.count(text)
    if total <= limit:
        return text, total, False
    used, end = 0, 0
    for span in words(text):
        cost = len(tok.word_ids(span.text))
        if used + cost > limit:
            break
        used += cost
        end = span.end
    return text[:end], used, True


def complete(
    messages: Sequence[Mapping[str, Any]],
    *,
    model: str = "grok",
    max_tokens: int | None = None,
    seed: int = 0,
) -> ChatResult:
    """A deterministic completion for ``messages``; raises :class:`ChatError` for bad limits."""
    if max_tokens is not None and max_tokens <= 0:
        raise ChatError(
            f"Maximum number of tokens max_tokens must be positive but max_tokens = {max_tokens}"
        )
    if not messages:
        raise ChatError("messages must contain at least one message")
    tok = load_tokenizer()
    last_user = next(
        (message_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"),
        message_text(messages[-1].get("content")),
    )
    transcript = "\x1e".join(
        f"{m.get('role')}\x1f{message_text(m.get('content'))}" for m in messages
    )
    key = hashlib.blake2b(f"{seed}\x00{model}\x00{transcript}".encode(), digest_size=16).digest()
    text = _compose(last_user, key)
    limit = DEFAULT_MAX_TOKENS if max_tokens is None else max_tokens
    content, used, cut = _truncate(text, limit, tok)
    return ChatResult(content, "length" if cut else "stop", prompt_tokens(messages, tok), used)
