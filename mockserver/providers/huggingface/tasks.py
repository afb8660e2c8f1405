"""The task endpoint's work: parse a request for a model, run it on the shared model, shape it.

One parser and one runner serve all three faces: ``POST /models/{id}``, each frame of the bulk
stream (whose ``outputs`` are "exactly the body the HTTP endpoint would return") and each row of
a dataset bulk job. :func:`start` queues the work on the inference service and returns at once,
so a stream of 500 zero-shot items becomes a few model batches rather than 500 round trips.

Output shapes follow ``../shared/reference/huggingface-bulk.md`` §3: zero-shot as the legacy
``{sequence, labels, scores}`` (labels by descending score, as the transformers pipeline
sorts them) or the router's ``[{label, score}]``; text classification as ``[[{label, score}]]``
(every label, by descending score); token classification with ``entity_group`` (the API's
default ``aggregation_strategy=simple``) or per-word ``entity`` tags; feature extraction as the
pooled sentence vector of the model's size; ASR as ``{"text": ...}``.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from .errors import HfError, bad_request
from .registry import Model

if TYPE_CHECKING:
    from ...engine.sidecars import SidecarIndex
    from ...inference.service import InferenceService
    from ...inference.text import TextModel

__all__ = ["Pending", "Shape", "TaskCall", "parse_audio", "parse_item", "parse_json", "start"]

Shape = Literal["legacy", "list"]
_TEMPLATE = "This example is {}."
_STRATEGIES = ("none", "simple", "first", "average", "max")
_FUNCTIONS = ("sigmoid", "softmax", "none")
_STARS_BINS = (0, 0, 1, 1, 2, 3, 3, 4, 4)  # the nine sentiment levels pooled into five stars


@dataclass(frozen=True)
class TaskCall:
    """One validated request for one model: what to run, with which parameters."""

    model: Model
    inputs: Any
    parameters: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def batch(self) -> bool:
        """A list of texts answers with a list (one output per text)."""
        return isinstance(self.inputs, list)


# --------------------------------------------------------------------------- parsing


def _field(path: str, message: str) -> str:
    return f"Error in `{path}`: {message}"


def parse_json(model: Model, body: Any) -> TaskCall:
    """Validate a JSON task body (``{inputs, parameters?, options?}``) for ``model``'s task.

    Problems are collected, not stopped at, and answered as one 400 with a list of messages,
    the legacy API's shape for parameter validation; a body that is not an object at all, or
    has no ``inputs``, is a single message.
    """
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object with an `inputs` key")
    if "inputs" not in body:
        raise bad_request("Missing `inputs` key in the request body")
    problems: list[str] = []
    parameters = body.get("parameters")
    if parameters is None:
        parameters = {}
    elif not isinstance(parameters, dict):
        problems.append(_field("parameters", "value is not a valid dict"))
        parameters = {}
    options = body.get("options")
    if options is None:
        options = {}
    elif not isinstance(options, dict):
        problems.append(_field("options", "value is not a valid dict"))
        options = {}
    for key in ("use_cache", "wait_for_model"):
        if key in options and not isinstance(options[key], bool):
            problems.append(_field(f"options.{key}", "value is not a valid boolean"))
    inputs = body["inputs"]
    task = model.task
    if task == "automatic-speech-recognition":
        inputs = _audio_input(inputs, problems)
    elif task == "sentence-similarity":
        inputs = _similarity_input(inputs, problems)
    else:
        inputs = _text_input(inputs, problems)
    parameters = dict(parameters)
    check = _PARAMETER_CHECKS.get(task)
    if check is not None:
        check(parameters, problems)
    if problems:
        raise bad_request(problems)
    return TaskCall(model, inputs, parameters, dict(options))


def parse_item(model: Model, item: Mapping[str, Any]) -> TaskCall:
    """A stream frame's or stored item's ``{inputs, parameters?}`` (``id`` is not the task's)."""
    return parse_json(model, {"inputs": item["inputs"], "parameters": item.get("parameters")})


def parse_audio(model: Model, data: bytes) -> TaskCall:
    """A raw audio body (what ``InferenceClient.automatic_speech_recognition`` sends)."""
    if model.task != "automatic-speech-recognition":
        raise bad_request(
            f"Model {model.id} is a {model.task} model: send a JSON body with an `inputs` key"
        )
    if not data:
        raise bad_request("Malformed soundfile")
    return TaskCall(model, data)


def _text_input(inputs: Any, problems: list[str]) -> Any:
    if isinstance(inputs, str):
        return inputs
    if isinstance(inputs, list) and inputs and all(isinstance(x, str) for x in inputs):
        return list(inputs)
    problems.append(_field("inputs", "expected a string or a non-empty list of strings"))
    return ""


def _similarity_input(inputs: Any, problems: list[str]) -> Any:
    ok = (
        isinstance(inputs, dict)
        and isinstance(inputs.get("source_sentence"), str)
        and isinstance(inputs.get("sentences"), list)
        and inputs["sentences"]
        and all(isinstance(s, str) for s in inputs["sentences"])
    )
    if not ok:
        problems.append(
            _field("inputs", "expected {source_sentence: string, sentences: [string, ...]}")
        )
        return {"source_sentence": "", "sentences": [""]}
    return {"source_sentence": inputs["source_sentence"], "sentences": list(inputs["sentences"])}


def _audio_input(inputs: Any, problems: list[str]) -> Any:
    """JSON carries audio as base64 (a stream frame or a JSON POST); bytes reach us raw."""
    if isinstance(inputs, str):
        try:
            return base64.b64decode(inputs, validate=True) or b""
        except (binascii.Error, ValueError):
            problems.append(_field("inputs", "expected the audio file as a base64 string"))
            return b""
    problems.append(_field("inputs", "expected the audio file as a base64 string"))
    return b""


def _check_zero_shot(parameters: dict[str, Any], problems: list[str]) -> None:
    labels = parameters.get("candidate_labels")
    if isinstance(labels, str):
        labels = [x.strip() for x in labels.split(",") if x.strip()]
    if labels is None:
        problems.append(_field("parameters.candidate_labels", "field required"))
    elif not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        problems.append(
            _field("parameters.candidate_labels", "expected a list of strings or a string")
        )
    elif not [x for x in labels if x.strip()]:
        problems.append(_field("parameters.candidate_labels", "must name at least one label"))
    else:
        parameters["candidate_labels"] = [x for x in labels if x.strip()]
    if not isinstance(parameters.get("multi_label", False), bool):
        problems.append(_field("parameters.multi_label", "value is not a valid boolean"))
    template = parameters.get("hypothesis_template", _TEMPLATE)
    if not isinstance(template, str):
        problems.append(_field("parameters.hypothesis_template", "str type expected"))
    elif "{}" not in template:
        problems.append(
            f'The provided hypothesis_template "{template}" was not able to be formatted with '
            "the target labels. Make sure the passed template includes formatting syntax such "
            "as {} where the label should go."
        )


def _check_classification(parameters: dict[str, Any], problems: list[str]) -> None:
    top_k = parameters.get("top_k")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        problems.append(_field("parameters.top_k", "ensure this value is a positive integer"))
    function = parameters.get("function_to_apply")
    if function is not None and function not in _FUNCTIONS:
        problems.append(
            _field("parameters.function_to_apply", f"must be one of {', '.join(_FUNCTIONS)}")
        )


def _check_tokens(parameters: dict[str, Any], problems: list[str]) -> None:
    strategy = parameters.get("aggregation_strategy", "simple")
    if strategy not in _STRATEGIES:
        problems.append(
            _field("parameters.aggregation_strategy", f"must be one of {', '.join(_STRATEGIES)}")
        )
    ignore = parameters.get("ignore_labels", [])
    if not isinstance(ignore, list) or not all(isinstance(x, str) for x in ignore):
        problems.append(_field("parameters.ignore_labels", "expected a list of strings"))


def _check_features(parameters: dict[str, Any], problems: list[str]) -> None:
    for key in ("normalize", "truncate"):
        if key in parameters and not isinstance(parameters[key], bool):
            problems.append(_field(f"parameters.{key}", "value is not a valid boolean"))


_PARAMETER_CHECKS: dict[str, Callable[[dict[str, Any], list[str]], None]] = {
    "zero-shot-classification": _check_zero_shot,
    "text-classification": _check_classification,
    "token-classification": _check_tokens,
    "feature-extraction": _check_features,
}


# --------------------------------------------------------------------------- running


class Pending:
    """Work queued on the inference service; :meth:`result` waits and shapes the body."""

    def __init__(self, futures: Sequence[Future[Any]], assemble: Callable[[list[Any]], Any]):
        self._futures = list(futures)
        self._assemble = assemble

    def done(self) -> bool:
        return all(f.done() for f in self._futures)

    def result(self, timeout: float | None = None) -> Any:
        """The HTTP body; :class:`HfError` for a failure the API reports (bad audio)."""
        return self._assemble([f.result(timeout) for f in self._futures])


def start(
    call: TaskCall,
    service: InferenceService,
    *,
    seed: int = 0,
    shape: Shape = "legacy",
    transcripts: SidecarIndex | None = None,
) -> Pending:
    """Queue ``call`` on ``service`` and return at once."""
    task = call.model.task
    if task == "zero-shot-classification":
        return _zero_shot(call, service, seed, shape)
    if task == "text-classification":
        return _classification(call, service, seed)
    if task == "token-classification":
        return _tokens(call, service)
    if task in ("feature-extraction", "sentence-similarity"):
        return _features(call, service)
    if task == "automatic-speech-recognition":
        return _speech(call, service, seed, transcripts)
    raise HfError(400, f"Task {task} is not supported by this emulator")  # pragma: no cover


def _texts(call: TaskCall) -> list[str]:
    return list(call.inputs) if isinstance(call.inputs, list) else [call.inputs]


def _one_or_many(call: TaskCall, outputs: list[Any]) -> Any:
    return outputs if call.batch else outputs[0]


def _ranked(labels: Sequence[str], scores: Sequence[float]) -> list[tuple[str, float]]:
    """Labels by descending score; ties keep the caller's order (a stable sort)."""
    return sorted(zip(labels, (float(s) for s in scores), strict=True), key=lambda p: -p[1])


def _zero_shot(call: TaskCall, service: InferenceService, seed: int, shape: Shape) -> Pending:
    from ...inference.service import TextTask

    labels = tuple(call.parameters["candidate_labels"])
    multi = bool(call.parameters.get("multi_label", False))
    template = call.parameters.get("hypothesis_template", _TEMPLATE)
    texts = _texts(call)
    futures = [
        service.submit(TextTask("zero_shot", t, seed, labels, multi_label=multi, template=template))
        for t in texts
    ]

    def assemble(rows: list[Any]) -> Any:
        out: list[Any] = []
        for text, scores in zip(texts, rows, strict=True):
            ranked = _ranked(labels, scores)
            if shape == "list":
                out.append([{"label": label, "score": score} for label, score in ranked])
            else:
                out.append(
                    {
                        "sequence": text,
                        "labels": [label for label, _ in ranked],
                        "scores": [score for _, score in ranked],
                    }
                )
        return _one_or_many(call, out)

    return Pending(futures, assemble)


def _classification(call: TaskCall, service: InferenceService, seed: int) -> Pending:
    from ...inference.service import TextTask

    labels = call.model.labels
    texts = _texts(call)
    futures: list[Future[Any]]
    if labels == ("1 star", "2 stars", "3 stars", "4 stars", "5 stars"):
        futures = [service.submit(TextTask("sentiment", t, seed)) for t in texts]
    else:
        basis = _scoring_labels(labels)
        futures = [service.submit(TextTask("classify", t, seed, basis)) for t in texts]
    top_k = call.parameters.get("top_k")

    def assemble(rows: list[Any]) -> Any:
        out = []
        for scores in rows:
            if len(scores) != len(labels):  # nine sentiment levels -> five stars
                pooled = [0.0] * len(labels)
                for level, p in enumerate(scores):
                    pooled[_STARS_BINS[level]] += float(p)
                scores = pooled
            ranked = _ranked(labels, scores)[: top_k or None]
            out.append([{"label": label, "score": score} for label, score in ranked])
        return out

    return Pending(futures, assemble)


def _scoring_labels(labels: tuple[str, ...]) -> tuple[str, ...]:
    """What the text model scores for a label set: ``LABEL_0..2`` is cardiffnlp's old
    negative/neutral/positive head, whose config never named its labels."""
    if labels == ("LABEL_0", "LABEL_1", "LABEL_2"):
        return ("negative", "neutral", "positive")
    return labels


def _tokens(call: TaskCall, service: InferenceService) -> Pending:
    from ...inference.entities import find_entities

    texts = _texts(call)
    strategy = call.parameters.get("aggregation_strategy", "simple")
    ignore = set(call.parameters.get("ignore_labels", []))

    def run(text: str) -> Callable[[TextModel], Any]:
        return lambda model: find_entities(model, text)

    futures = [service.call(run(t)) for t in texts]

    def assemble(rows: list[Any]) -> Any:
        out = []
        for text, entities in zip(texts, rows, strict=True):
            found: list[dict[str, Any]] = []
            for entity in entities:
                if entity.label in ignore:
                    continue
                if strategy == "none":
                    found.extend(_word_tags(text, entity, len(found)))
                else:
                    found.append(
                        {
                            "entity_group": entity.label,
                            "score": float(entity.score),
                            "word": entity.text,
                            "start": entity.begin,
                            "end": entity.end,
                        }
                    )
            out.append(found)
        return _one_or_many(call, out)

    return Pending(futures, assemble)


def _word_tags(text: str, entity: Any, before: int) -> list[dict[str, Any]]:
    """``aggregation_strategy=none``: one ``B-``/``I-`` tag per word of the entity."""
    from ...inference.tokenizer import words

    tags = []
    for i, word in enumerate(words(text[entity.begin : entity.end])):
        tags.append(
            {
                "entity": ("B-" if i == 0 else "I-") + entity.label,
                "score": float(entity.score),
                "index": before + i + 1,
                "word": word.text,
                "start": entity.begin + word.begin,
                "end": entity.begin + word.end,
            }
        )
    return tags


def _features(call: TaskCall, service: InferenceService) -> Pending:
    model = call.model
    if model.task == "sentence-similarity":
        texts = [call.inputs["source_sentence"], *call.inputs["sentences"]]
    else:
        texts = _texts(call)
    normalize = call.parameters.get("normalize", True)

    def run(model_: TextModel) -> Any:
        return _vectors(model_, model.id, model.dims, texts, normalize)

    future = service.call(run)

    def assemble(rows: list[Any]) -> Any:
        vectors = rows[0]
        if model.task == "sentence-similarity":
            source = vectors[0]
            return [sum(a * b for a, b in zip(source, v, strict=True)) for v in vectors[1:]]
        return _one_or_many(call, vectors)

    return Pending([future], assemble)


def _vectors(
    model: TextModel, model_id: str, dims: int, texts: Sequence[str], normalize: bool
) -> list[list[float]]:
    """Sentence vectors of the model's size: the shared embedding through a fixed projection
    drawn from the model id, so two models give different (but each stable) vectors."""
    import torch

    projection = _projection(model_id, model.dims, dims, str(model.device))
    vecs = model.features(texts) @ projection
    if normalize:
        vecs = torch.nn.functional.normalize(vecs, dim=-1)
    rows: list[list[float]] = vecs.cpu().tolist()
    return rows


@lru_cache(maxsize=32)
def _projection(model_id: str, src: int, dims: int, device: str) -> Any:
    import torch

    generator = torch.Generator().manual_seed(zlib.crc32(model_id.encode()))
    matrix = torch.randn(src, dims, generator=generator) / dims**0.5
    return matrix.to(device)


def _speech(
    call: TaskCall, service: InferenceService, seed: int, transcripts: SidecarIndex | None
) -> Pending:
    data: bytes = call.inputs
    text = transcripts.lookup(data) if transcripts is not None else None
    future = service.media(_transcribe, data, text, seed)
    uppercase = call.model.uppercase

    def assemble(rows: list[Any]) -> Any:
        result = rows[0]
        if isinstance(result, HfError):
            raise result
        return {"text": _ctc_spelling(result) if uppercase else result}

    return Pending([future], assemble)


def _transcribe(data: bytes, text: str | None, seed: int, *, device: Any) -> str | HfError:
    """The transcript the audio model can honestly give (``inference.audio_transcript``):
    the sidecar text of a known clip, nothing for silence, a marked placeholder otherwise."""
    from ...inference.audio import AudioDecodeError, analyse_audio

    try:
        analysis = analyse_audio(data, transcript=text, seed=seed, device=device)
    except AudioDecodeError:
        return HfError(400, "Malformed soundfile")
    return analysis.transcript.text


def _ctc_spelling(text: str) -> str:
    """wav2vec2's CTC vocabulary: capital letters, apostrophes and spaces, nothing else."""
    kept = "".join(c if c.isalpha() or c == "'" else " " for c in text.upper())
    return " ".join(kept.split())
