"""The text model: a static token-embedding bag distilled from all-MiniLM-L6-v2, and its heads.

A sentence is the normalised sum of its WordPiece rows (weights from
``scripts/distill_text_model.py`` already scale common words down), an ``EmbeddingBag`` that runs
millions of tokens a second on one core. Every head compares that vector with label
prototypes: the mean embedding of a label's name and a few cue words (:mod:`.lexicon`). Zero-shot
classification embeds arbitrary candidate labels the same way, which is why "dress shop" lands on
"fashion".

Batch invariance: the bag sums each item's rows on its own and every head is an elementwise
product and a reduction over the embedding axis (no matmul, whose blocking varies with batch
size), so an item's scores are bit-identical whether it ran alone or in a batch of 64.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import torch

from .affect import jitter, seed_key
from .labels import AFFECT, LANGUAGE_EMOTIONS, SENTIMENT_LEVELS, TOXICITY
from .lexicon import EMOTION_CUES, SENTIMENT_CUES, TOXICITY_CUES
from .tokenizer import Tokenizer, load_tokenizer

__all__ = ["CLASSES", "HEADS_PATH", "TABLE_PATH", "TextModel", "load_heads", "load_table"]

TABLE_PATH = Path(__file__).with_name("data") / "text_static.pt"
HEADS_PATH = Path(__file__).with_name("data") / "text_heads.pt"
#: The emotion head's classes: the 53 language emotions and "nothing felt".
CLASSES: tuple[str, ...] = (*LANGUAGE_EMOTIONS, "Neutral")
#: How much of the corpus mean direction every vector loses before comparison; removing the
#: common component ("all but the top") keeps every text from looking like every label.
CENTER_WEIGHT = 0.5
#: Emotion score = p / (p + this): a class at chance level scores about 0.16, a confident one 0.8.
_EMO_HALF = 0.1
_ZS_TEMPLATE = "{}"
_ZS_TEMP = 0.04
#: Multi-label: a candidate is "on" (score 0.5) at this similarity, midway between the mean
#: similarity of a text to labels that apply and to labels that do not.
_ML_CENTRE, _ML_TEMP = 0.06, 0.04
_TOX_CENTRE, _TOX_TEMP = 0.42, 0.04
_SENT_GAIN, _SENT_WIDTH = 4.0, 1.1
#: Two-way polarity: logits +-gain x valence; a three-way set adds "neutral" near zero valence.
_POLARITY_GAIN, _NEUTRAL_BIAS = 12.0, 0.6


def load_table(path: Path = TABLE_PATH) -> tuple[torch.Tensor, dict[str, object]]:
    """The dequantised embedding rows and the distillation metadata."""
    data = torch.load(path, weights_only=True, map_location="cpu")
    rows = data["rows"].to(torch.float32) * data["scale"][:, None]
    return rows, dict(data["meta"])


def load_heads(path: Path = HEADS_PATH) -> dict[str, torch.Tensor]:
    """The trained emotion head (``weight``, ``bias``) and the corpus mean (``center``)."""
    data = torch.load(path, weights_only=True, map_location="cpu")
    if tuple(data["classes"]) != CLASSES:
        raise ValueError(f"{path} was trained for other classes; rerun train_text_heads.py")
    return {k: data[k].to(torch.float32) for k in ("weight", "bias", "center")}


def _unit(vec: torch.Tensor) -> torch.Tensor:
    """``vec`` scaled to length 1 along its last axis (the zero vector stays zero)."""
    return vec / (vec * vec).sum(-1, keepdim=True).sqrt().clamp_min(1e-9)


class StaticEncoder(torch.nn.Module):
    """Sum of token rows, L2-normalised; an empty text maps to the zero vector."""

    def __init__(self, rows: torch.Tensor) -> None:
        super().__init__()
        self.bag = torch.nn.EmbeddingBag.from_pretrained(rows, freeze=True, mode="sum")

    def forward(self, ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        vec: torch.Tensor = self.bag(ids, offsets)
        return _unit(vec)


class TextModel:
    """Every text head the providers need, over one shared encoder."""

    def __init__(
        self,
        rows: torch.Tensor,
        heads: dict[str, torch.Tensor] | None = None,
        *,
        tokenizer: Tokenizer | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        self.device = torch.device(device)
        self.tokenizer = tokenizer or load_tokenizer()
        self.encoder = StaticEncoder(rows).to(self.device).eval()
        self.dims = rows.shape[1]
        heads = heads or {}
        self.center = heads.get("center", torch.zeros(self.dims)).to(self.device)
        self.head_weight = heads.get("weight")
        self.head_bias = heads.get("bias")
        if self.head_weight is not None and self.head_bias is not None:
            self.head_weight = self.head_weight.to(self.device)
            self.head_bias = self.head_bias.to(self.device)
        self._proto: Callable[[str, tuple[str, ...]], torch.Tensor] = lru_cache(maxsize=4096)(
            self._prototype
        )

    @classmethod
    def load(cls, device: torch.device | str = "cpu") -> TextModel:
        rows, _ = load_table()
        return cls(rows, load_heads(), device=device)

    # --- encoding ------------------------------------------------------------------------------

    def embed(self, texts: Sequence[str]) -> torch.Tensor:
        """Unit vectors ``[len(texts), dims]`` on the model's device."""
        ids: list[int] = []
        offsets: list[int] = []
        for text in texts:
            offsets.append(len(ids))
            ids.extend(self.tokenizer.encode(text))
        with torch.inference_mode():
            out: torch.Tensor = self.encoder(
                torch.tensor(ids, dtype=torch.long, device=self.device),
                torch.tensor(offsets, dtype=torch.long, device=self.device),
            )
        return out

    def features(self, texts: Sequence[str]) -> torch.Tensor:
        """Unit vectors after removing part of the corpus mean: what every head compares."""
        return _unit(self.embed(texts) - CENTER_WEIGHT * self.center)

    def _prototype(self, name: str, cues: tuple[str, ...]) -> torch.Tensor:
        return _unit(self.features((name, *cues)).sum(0))

    def prototypes(self, labels: Sequence[str], cues: dict[str, tuple[str, ...]]) -> torch.Tensor:
        """``[len(labels), dims]``: each label's name and cue words, pooled."""
        return torch.stack([self._proto(label, cues.get(label, ())) for label in labels])

    @staticmethod
    def similarity(vecs: torch.Tensor, protos: torch.Tensor) -> torch.Tensor:
        """Cosine similarity ``[batch, labels]`` by product and sum (batch-invariant)."""
        return (vecs[:, None, :] * protos[None, :, :]).sum(-1)

    def _noise(self, texts: Sequence[str], head: str, seed: int, n: int) -> torch.Tensor:
        rows = [jitter(seed_key(seed, head, t), n) for t in texts]
        return torch.stack(rows).to(self.device) if rows else torch.zeros(0, n)

    # --- heads ---------------------------------------------------------------------------------

    def emotions(
        self,
        texts: Sequence[str],
        labels: Sequence[str] = LANGUAGE_EMOTIONS,
        seed: int = 0,
    ) -> torch.Tensor:
        """Scores in [0, 1] over ``labels`` (any of :data:`CLASSES`), from the trained head."""
        probs = self.emotion_probabilities(texts)
        index = torch.tensor([CLASSES.index(label) for label in labels], device=self.device)
        picked = probs[:, index]
        noise = self._noise(texts, "emotions", seed, len(labels))
        return (picked / (picked + _EMO_HALF) + 0.005 * noise).clamp(0.0, 1.0)

    def emotion_probabilities(self, texts: Sequence[str]) -> torch.Tensor:
        """``[batch, 54]``: a distribution over :data:`CLASSES` (the last is Neutral)."""
        if self.head_weight is None or self.head_bias is None:
            raise RuntimeError("this TextModel was built without its trained emotion head")
        feats = self.features(texts)
        logits = (feats[:, None, :] * self.head_weight[None, :, :]).sum(-1) + self.head_bias
        return torch.softmax(logits, dim=-1)

    def valence(self, texts: Sequence[str]) -> torch.Tensor:
        """Polarity in [-1, 1] per text: the expected valence of its emotion distribution.

        Each emotion's valence comes from the circumplex coordinates (:data:`labels.AFFECT`);
        Neutral counts as 0, so a factual sentence lands in the middle.
        """
        probs = self.emotion_probabilities(texts)
        valence = torch.tensor([AFFECT.get(c, (0.0, 0.0))[0] for c in CLASSES])
        return (probs * valence.to(self.device)).sum(-1).clamp(-1.0, 1.0)

    def sentiment(self, texts: Sequence[str], seed: int = 0) -> torch.Tensor:
        """A distribution over the nine levels "1".."9" (each row sums to 1)."""
        centre = 5.0 + 4.0 * torch.tanh(_SENT_GAIN * self.valence(texts))
        centre = centre + 0.15 * self._noise(texts, "sentiment", seed, 1)[:, 0]
        levels = torch.arange(1, len(SENTIMENT_LEVELS) + 1, device=self.device)
        logits = -((levels[None, :] - centre[:, None]) ** 2) / (2 * _SENT_WIDTH**2)
        return torch.softmax(logits, dim=-1)

    def toxicity(self, texts: Sequence[str], seed: int = 0) -> torch.Tensor:
        """Independent probabilities for the six toxicity categories (low for civil text)."""
        sims = self.similarity(self.features(texts), self.prototypes(TOXICITY, TOXICITY_CUES))
        noise = self._noise(texts, "toxicity", seed, len(TOXICITY))
        return torch.sigmoid((sims - _TOX_CENTRE) / _TOX_TEMP + 0.2 * noise)

    def zero_shot(
        self,
        texts: Sequence[str],
        candidate_labels: Sequence[str],
        *,
        multi_label: bool = False,
        hypothesis_template: str = _ZS_TEMPLATE,
    ) -> torch.Tensor:
        """Scores ``[batch, labels]``: a softmax over labels, or independent sigmoids."""
        hypotheses = [self._hypothesis(hypothesis_template, label) for label in candidate_labels]
        cues = {
            h: _label_cues(label) for h, label in zip(hypotheses, candidate_labels, strict=True)
        }
        sims = self.similarity(self.features(texts), self.prototypes(hypotheses, cues))
        if multi_label:
            return torch.sigmoid((sims - _ML_CENTRE) / _ML_TEMP)
        return torch.softmax(sims / _ZS_TEMP, dim=-1)

    def classify(self, texts: Sequence[str], labels: Sequence[str]) -> torch.Tensor:
        """Text classification over a model's own label set: a distribution per text.

        Polarity label sets (``POSITIVE``/``NEGATIVE``[/``NEUTRAL``], any case, as sentiment
        models such as distilbert-sst-2 use) come from the valence; emotion label sets (names
        of :data:`CLASSES`, any case, as emotion models use) from the emotion head, renormalised
        over the labels asked for; anything else is zero-shot over the label names.
        """
        keys = [label.strip().lower() for label in labels]
        if keys and set(keys) <= {"positive", "negative", "neutral"}:
            return self._polarity(texts, keys)
        if keys and all(k in _EMOTION_WORDS for k in keys):
            return self._emotion_groups(texts, keys)
        return self.zero_shot(texts, labels)

    def _emotion_groups(self, texts: Sequence[str], keys: Sequence[str]) -> torch.Tensor:
        """Pool the 54-class distribution into ``keys``: each class joins its closest key.

        ``neutral`` takes only the Neutral class; without it, Neutral's mass is dropped.
        """
        emotive = [i for i, k in enumerate(keys) if k != "neutral"]
        probs = self.emotion_probabilities(texts)
        columns = torch.zeros(probs.shape[0], len(keys), device=self.device)
        if emotive:
            groups = [_EMOTION_WORDS[keys[i]] for i in emotive]
            protos = _unit(torch.stack([self.prototypes(g, EMOTION_CUES).sum(0) for g in groups]))
            classes = self.prototypes(CLASSES[:-1], EMOTION_CUES)
            owner = self.similarity(classes, protos).argmax(-1).tolist()
            for j, group in enumerate(groups):  # a named class always belongs to its key
                for name in group:
                    owner[CLASSES.index(name)] = j
            for cls, j in enumerate(owner):
                columns[:, emotive[j]] += probs[:, cls]
        if "neutral" in keys:
            columns[:, list(keys).index("neutral")] += probs[:, -1]
        return columns / columns.sum(-1, keepdim=True).clamp_min(1e-12)

    def _polarity(self, texts: Sequence[str], keys: Sequence[str]) -> torch.Tensor:
        valence = self.valence(texts)
        logits = {
            "positive": _POLARITY_GAIN * valence,
            "negative": -_POLARITY_GAIN * valence,
            "neutral": _NEUTRAL_BIAS - _POLARITY_GAIN * valence.abs(),
        }
        return torch.softmax(torch.stack([logits[k] for k in keys], dim=-1), dim=-1)

    @staticmethod
    def _hypothesis(template: str, label: str) -> str:
        return template.format(label) if "{}" in template else f"{template} {label}"


#: Label names emotion classifiers use that are not Hume's (j-hartmann's seven, GoEmotions).
_EMOTION_ALIASES: dict[str, tuple[str, ...]] = {
    "neutral": (),
    "surprise": ("Surprise (positive)", "Surprise (negative)"),
    "happiness": ("Joy",),
    "happy": ("Joy",),
    "sad": ("Sadness",),
    "angry": ("Anger",),
    "gratitude": ("Gratitude",),
    "approval": ("Admiration", "Satisfaction"),
    "curiosity": ("Interest",),
    "optimism": ("Enthusiasm", "Determination"),
    "nervousness": ("Anxiety",),
    "remorse": ("Guilt",),
    "grief": ("Sadness", "Empathic Pain"),
    "caring": ("Sympathy",),
}


#: Every label name an emotion classifier may use, mapped to the Hume classes it names.
_EMOTION_WORDS: dict[str, tuple[str, ...]] = {
    c.lower(): (c,) for c in CLASSES[:-1]
} | _EMOTION_ALIASES


def _label_cues(label: str) -> tuple[str, ...]:
    """Cue words for well-known label names (emotions, polarity); none for arbitrary topics."""
    key = label.strip().lower()
    for name, cues in EMOTION_CUES.items():
        if name.lower() == key:
            return cues
    return SENTIMENT_CUES.get(key, ())
