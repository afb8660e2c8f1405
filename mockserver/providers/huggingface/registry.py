"""Which task a model id serves, and what it answers with (label set, vector size, casing).

The legacy Inference API chose the pipeline from the model's Hub metadata; an offline emulator
cannot ask the Hub, so it carries a registry of the model ids the docs, the samples and common
tutorials use (``../shared/reference/huggingface-bulk.md`` §3). ``--hf-models ID=TASK`` adds or
replaces entries (a text-classification entry may name its labels, split by ``|``:
``ID=text-classification:neg|pos``; a feature-extraction one its size:
``ID=feature-extraction:384``). An id that is in neither is a 404 ``Model ID does not
exist``, as the real service answered for unknown repos.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["TASKS", "Model", "Registry", "parse_entry"]

TASKS: tuple[str, ...] = (
    "zero-shot-classification",
    "text-classification",
    "token-classification",
    "feature-extraction",
    "sentence-similarity",
    "automatic-speech-recognition",
)


@dataclass(frozen=True)
class Model:
    """One model id: its pipeline task and the details that shape its outputs."""

    id: str
    task: str
    #: text-classification: the model's own labels, in the order of its config's ``id2label``.
    labels: tuple[str, ...] = ()
    #: feature-extraction / sentence-similarity: the pooled embedding size.
    dims: int = 0
    #: automatic-speech-recognition: CTC models (wav2vec2) spell in capitals without punctuation.
    uppercase: bool = False
    #: token-classification: the label scheme (``conll`` PER/ORG/LOC/MISC is the only one here).
    scheme: str = "conll"

    @property
    def name(self) -> str:
        """The last path component (``bart-large-mnli``), as bulk names use it."""
        return self.id.rsplit("/", 1)[-1]


_SST2 = ("NEGATIVE", "POSITIVE")
_CARDIFF = ("negative", "neutral", "positive")
_HARTMANN = ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")
_GO_EMOTIONS = (
    "admiration", "amusement", "anger", "annoyance", "approval", "caring", "confusion",
    "curiosity", "desire", "disappointment", "disapproval", "disgust", "embarrassment",
    "excitement", "fear", "gratitude", "grief", "joy", "love", "nervousness", "optimism", "pride",
    "realization", "relief", "remorse", "sadness", "surprise", "neutral",
)  # fmt: skip
_STARS = ("1 star", "2 stars", "3 stars", "4 stars", "5 stars")
_FINBERT = ("positive", "negative", "neutral")

_BUILTIN: tuple[Model, ...] = (
    Model("facebook/bart-large-mnli", "zero-shot-classification"),
    Model("MoritzLaurer/DeBERTa-v3-base-mnli-fever-anli", "zero-shot-classification"),
    Model("MoritzLaurer/deberta-v3-large-zeroshot-v2.0", "zero-shot-classification"),
    Model("typeform/distilbert-base-uncased-mnli", "zero-shot-classification"),
    Model("joeddav/xlm-roberta-large-xnli", "zero-shot-classification"),
    Model("valhalla/distilbart-mnli-12-1", "zero-shot-classification"),
    Model("distilbert-base-uncased-finetuned-sst-2-english", "text-classification", _SST2),
    Model(
        "distilbert/distilbert-base-uncased-finetuned-sst-2-english", "text-classification", _SST2
    ),
    Model("cardiffnlp/twitter-roberta-base-sentiment-latest", "text-classification", _CARDIFF),
    Model("cardiffnlp/twitter-roberta-base-sentiment", "text-classification",
          ("LABEL_0", "LABEL_1", "LABEL_2")),
    Model("nlptown/bert-base-multilingual-uncased-sentiment", "text-classification", _STARS),
    Model("ProsusAI/finbert", "text-classification", _FINBERT),
    Model("j-hartmann/emotion-english-distilroberta-base", "text-classification", _HARTMANN),
    Model("SamLowe/roberta-base-go_emotions", "text-classification", _GO_EMOTIONS),
    Model("dslim/bert-base-NER", "token-classification"),
    Model("dslim/bert-large-NER", "token-classification"),
    Model("dbmdz/bert-large-cased-finetuned-conll03-english", "token-classification"),
    Model("Jean-Baptiste/roberta-large-ner-english", "token-classification"),
    Model("sentence-transformers/all-MiniLM-L6-v2", "feature-extraction", dims=384),
    Model("sentence-transformers/all-mpnet-base-v2", "feature-extraction", dims=768),
    Model("sentence-transformers/paraphrase-MiniLM-L6-v2", "sentence-similarity", dims=384),
    Model("BAAI/bge-small-en-v1.5", "feature-extraction", dims=384),
    Model("BAAI/bge-base-en-v1.5", "feature-extraction", dims=768),
    Model("intfloat/multilingual-e5-large", "feature-extraction", dims=1024),
    Model("facebook/wav2vec2-base-960h", "automatic-speech-recognition", uppercase=True),
    Model("facebook/wav2vec2-large-960h-lv60-self", "automatic-speech-recognition",
          uppercase=True),
    Model("jonatasgrosman/wav2vec2-large-xlsr-53-english", "automatic-speech-recognition",
          uppercase=True),
    Model("openai/whisper-large-v3", "automatic-speech-recognition"),
    Model("openai/whisper-large-v3-turbo", "automatic-speech-recognition"),
    Model("openai/whisper-tiny", "automatic-speech-recognition"),
)  # fmt: skip

#: Labels a text-classification entry added without labels gets (a binary sentiment head).
DEFAULT_LABELS = _SST2
DEFAULT_DIMS = 384


def parse_entry(entry: str) -> Model:
    """``ID=TASK[:DETAIL]`` -> :class:`Model`; ``ValueError`` with a usable message otherwise."""
    model_id, sep, rest = entry.partition("=")
    model_id = model_id.strip().strip("/")
    task, _, detail = rest.partition(":")
    task, detail = task.strip(), detail.strip()
    if not sep or not model_id or not task:
        raise ValueError(f"--hf-models wants ID=TASK[:DETAIL], got {entry!r}")
    if task not in TASKS:
        raise ValueError(f"--hf-models {entry!r}: unknown task {task!r}; one of {', '.join(TASKS)}")
    if task == "text-classification":
        labels = tuple(x.strip() for x in detail.split("|") if x.strip()) or DEFAULT_LABELS
        return Model(model_id, task, labels=labels)
    if task in ("feature-extraction", "sentence-similarity"):
        if detail and not (detail.isdigit() and 0 < int(detail) <= 8192):
            raise ValueError(f"--hf-models {entry!r}: the size must be 1..8192, got {detail!r}")
        return Model(model_id, task, dims=int(detail) if detail else DEFAULT_DIMS)
    if task == "automatic-speech-recognition":
        if detail and detail.lower() != "uppercase":
            raise ValueError(f"--hf-models {entry!r}: ASR takes only ':uppercase' (CTC spelling)")
        return Model(model_id, task, uppercase=bool(detail))
    if detail:
        raise ValueError(f"--hf-models {entry!r}: {task} takes no detail after ':'")
    return Model(model_id, task)


class Registry:
    """Built-in models plus the configured ones; lookups are exact on the id."""

    def __init__(self, extra: Iterable[str | Model] = ()) -> None:
        self._models: dict[str, Model] = {m.id: m for m in _BUILTIN}
        for entry in extra:
            model = entry if isinstance(entry, Model) else parse_entry(entry)
            self._models[model.id] = model

    def get(self, model_id: str) -> Model | None:
        return self._models.get(model_id.strip("/"))

    def all(self) -> Mapping[str, Model]:
        return dict(self._models)
