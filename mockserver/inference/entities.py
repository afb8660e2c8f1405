"""Named entities with character offsets: capitalised spans, typed by the embedding model.

A small rule finds candidate spans (runs of capitalised words, joined by "of", "de", "van" and
the like, skipping a sentence's first word when it is a common word); the text model then types
each span by its closeness to person, organisation, location and miscellaneous prototypes. It is
not a trained tagger: it finds the names a reader sees in plain prose, which is what clients
downstream of NER (highlighters, link renderers) need to be exercised.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import torch

from .lexicon import ENTITY_CUES
from .text import TextModel
from .tokenizer import Span, words

__all__ = ["ENTITY_TYPES", "Entity", "find_entities"]

ENTITY_TYPES: tuple[str, ...] = ("PER", "ORG", "LOC", "MISC")
_JOINERS = frozenset({"of", "de", "del", "la", "van", "von", "der", "da", "du", "&"})
_SENTENCE_END = frozenset(".!?\n\"'“”")
_NEVER = frozenset({"I", "I'm", "OK", "Ok"})
_LEADING = frozenset({"the", "a", "an", "this", "that", "my", "our", "mr", "mrs", "ms", "dr"})
#: Head words that settle a span's type whatever the embedding says.
_HEAD_WORDS: dict[str, str] = {
    **dict.fromkeys(
        ("university", "bank", "inc", "corp", "corporation", "company", "institute", "agency",
         "association", "council", "ministry", "foundation", "ltd", "llc", "group", "party",
         "college", "school", "club", "department", "committee", "airlines", "labs"),
        "ORG",
    ),
    **dict.fromkeys(
        ("street", "avenue", "river", "mountain", "lake", "city", "county", "island", "park",
         "bridge", "road", "valley", "ocean", "sea", "bay", "state"),
        "LOC",
    ),
}  # fmt: skip
#: A sentence's first word is an entity only when it is this close to an entity prototype.
_INITIAL_MIN_SIM = 0.45


@dataclass(frozen=True)
class Entity:
    """One entity: its text, offsets (end exclusive), type and confidences."""

    text: str
    begin: int
    end: int
    label: str
    score: float
    support: float
    uri: str


def _is_cap(span: Span) -> bool:
    return span.text[:1].isupper() and span.text not in _NEVER


def _sentence_start(text: str, begin: int) -> bool:
    i = begin - 1
    while i >= 0 and text[i].isspace():
        i -= 1
    return i < 0 or text[i] in _SENTENCE_END


def _candidates(text: str) -> list[list[Span]]:
    """Runs of capitalised words; punctuation (other than "&") and line breaks end a run."""
    runs: list[list[Span]] = []
    current: list[Span] = []
    previous_end = 0
    for span in words(text):
        broken = "\n" in text[previous_end : span.begin]
        previous_end = span.end
        word = span.text.isalnum() or span.text == "&"
        joins = bool(current) and (span.text[:1].isdigit() or span.text.lower() in _JOINERS)
        if word and not broken and (_is_cap(span) or joins):
            current.append(span)
            continue
        if current:
            runs.append(current)
        current = [span] if word and _is_cap(span) else []
    if current:
        runs.append(current)
    trimmed = []
    for run in runs:
        while run and run[0].text.lower() in _LEADING | _JOINERS:
            run = run[1:]
        while run and run[-1].text.lower() in _JOINERS:
            run = run[:-1]
        if run:
            trimmed.append(run)
    return trimmed


def _head_type(run: list[Span]) -> str | None:
    for span in run:
        label = _HEAD_WORDS.get(span.text.lower())
        if label:
            return label
    return None


def _drop_initial_common_word(model: TextModel, text: str, runs: list[list[Span]]) -> None:
    """A sentence's first word is capitalised anyway: keep it only if it looks like a name."""
    initial = [r for r in runs if _sentence_start(text, r[0].begin)]
    if not initial:
        return
    protos = model.prototypes(ENTITY_TYPES, ENTITY_CUES)
    sims = model.similarity(model.features([r[0].text for r in initial]), protos)
    for run, sim in zip(initial, sims, strict=True):
        if float(sim.max()) < _INITIAL_MIN_SIM:
            del run[0]
            while run and run[0].text.lower() in _JOINERS:
                del run[0]


def find_entities(model: TextModel, text: str) -> list[Entity]:
    """Every entity in ``text`` in order of appearance."""
    runs = _candidates(text)
    _drop_initial_common_word(model, text, runs)
    runs = [r for r in runs if r]
    if not runs:
        return []
    phrases = [text[r[0].begin : r[-1].end] for r in runs]
    protos = model.prototypes(ENTITY_TYPES, ENTITY_CUES)
    sims = model.similarity(model.features(phrases), protos)
    probs = torch.softmax(sims / 0.05, dim=-1)
    out = []
    for run, phrase, row, sim in zip(runs, phrases, probs, sims, strict=True):
        head = _head_type(run)
        best = ENTITY_TYPES.index(head) if head else int(row.argmax())
        out.append(
            Entity(
                text=phrase,
                begin=run[0].begin,
                end=run[-1].end,
                label=ENTITY_TYPES[best],
                score=float(0.6 + 0.4 * row[best]),
                support=float(sim.clamp(0.0, 1.0).max()),
                uri="https://en.wikipedia.org/wiki/" + quote(phrase.replace(" ", "_")),
            )
        )
    return out
